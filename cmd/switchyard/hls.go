package main

import (
	"switchyard/control"
	"switchyard/media"
	"switchyard/output/hls"
	"switchyard/output/push"
)

// startHLS starts the LL-HLS origin (hls.enabled) on the path table, with
// the program's ladder from the outputs (the show file's and show.json's)
// and hls.renditions; nil when it is off.
func (a *app) startHLS(cfg *Config, outs []push.Config) (control.HLS, error) {
	if !cfg.HLS.Enabled {
		return nil, nil
	}
	oc := cfg.HLS.origin()
	oc.Ladder = hlsLadder(cfg.HLS, outs, cfg.Program.Height, int(cfg.Program.VideoBitrate))
	a.hls = &hls.Origin{Config: oc, Streams: pathStreams{a}, Renditions: a.mixer.Targets(), Log: a.log,
		ReadKey: func(stream string) string { return a.registry.ReadKey(stream, cfg.ReadKey) }}
	if err := a.hls.Start(); err != nil {
		return nil, err
	}
	return a.hls, nil
}

// pathStreams serves the origin from the path table: "program",
// "preview", "live/NAME", each counted as watched while a muxer reads it.
type pathStreams struct{ a *app }

func (p pathStreams) Stream(name string) (*media.Stream, func(), error) {
	path, err := p.a.paths.Get(name)
	if err != nil {
		return nil, nil, err
	}
	return path.Stream(), path.Watch(), nil
}
