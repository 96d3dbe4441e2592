// Command switchyard is a headless live production switcher and streaming server.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/ingest/gen"
	"switchyard/ingest/rtmp"
	"switchyard/ingest/rtsp"
	"switchyard/internal/sysmon"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer"
	"switchyard/output/push"
	"switchyard/output/record"
	"switchyard/output/serve"
)

func main() {
	configPath := flag.String("config", "", "show file (YAML); the embedded demo show when empty")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "switchyard: -log-level %q: use debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	cfg, err := LoadConfig(*configPath, os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "switchyard: %v\n", err)
		os.Exit(2)
	}
	// Signals are caught before anything starts and before the log says it
	// runs: a SIGINT during start-up (or just after the line, before a
	// late Notify) would otherwise kill the process unclosed.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	a, err := start(cfg, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "switchyard: %v\n", err)
		os.Exit(1)
	}
	log.Info("switchyard running", "panel", "http://"+a.http.Addr().String(),
		"rtmp", "rtmp://"+a.rtmp.Addr().String()+"/live/NAME",
		"program", "rtsp://"+a.rtsp.Addr().String()+"/program", "libavcodec", av.Version())

	s := <-sig
	log.Info("shutting down", "signal", s.String())
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "switchyard: second signal, exiting at once")
		os.Exit(1)
	}()
	a.Close()
	log.Info("stopped")
}

// app is the running show: every part, wired together.
type app struct {
	log      *slog.Logger
	registry *ingest.Registry
	mixer    *mixer.Engine
	rtsp     *rtsp.Server
	serve    *serve.RTSP
	rtmp     *rtmp.Server
	sources  *sourceSet

	closeOnce sync.Once
	outputs   *push.Manager
	recorder  *record.Recorder
	http      *control.Server
	hold      *sysmon.Hold
}

// start builds and starts every part; on error it closes what it started.
func start(cfg *Config, log *slog.Logger) (a *app, err error) {
	a = &app{log: log, registry: ingest.NewRegistry(log)}
	// Keeps the Go runtime's monitor thread out of its 20 µs polling, which
	// this bursty, cgo-heavy work otherwise keeps it in (internal/sysmon);
	// SWITCHYARD_SYSMON_HOLD=0 turns it off.
	if os.Getenv("SWITCHYARD_SYSMON_HOLD") != "0" {
		a.hold = sysmon.Start()
	}
	defer func() {
		if err != nil {
			a.Close()
			a = nil
		}
	}()
	fpsNum, fpsDen := cfg.Program.FPSRational()
	a.mixer, err = mixer.New(mixer.Config{
		Width: cfg.Program.Width, Height: cfg.Program.Height, FPSNum: fpsNum, FPSDen: fpsDen,
		VideoBitrateBPS: int(cfg.Program.VideoBitrate), AudioBitrateBPS: int(cfg.Program.AudioBitrate),
		Keyint: timeDuration(cfg.Program.Keyint), PreviewBitrateBPS: int(cfg.Program.PreviewBitrate),
		JitterBuffer: timeDuration(cfg.Program.JitterBuffer),
		Multiview: mixer.MultiviewConfig{Width: cfg.Multiview.Width, Height: cfg.Multiview.Height, FPS: cfg.Multiview.FPS,
			Quality: cfg.Multiview.Quality},
	}, log)
	if err != nil {
		return nil, fmt.Errorf("mixer: %w", err)
	}

	a.recorder = record.New(record.Options{
		Dir: filepath.Join(cfg.DataDir, "recordings"), Fragment: time.Duration(cfg.Record.Fragment),
		MinFreeBytes: uint64(cfg.Record.MinFreeMB) << 20, FPSNum: fpsNum, FPSDen: fpsDen,
		ProgramEpoch: a.mixer.Started, Program: a.mixer.Program(),
		KeyFrame: a.mixer.KeyFrameNext, SourceOffset: a.mixer.SourceOffset, Timecode: cfg.Record.Timecode,
		Sources: func() map[string]*media.Stream {
			out := map[string]*media.Stream{}
			for _, s := range a.registry.List() {
				out[s.Name()] = s.Stream()
			}
			return out
		},
	}, log)
	rec := a.recorder
	a.mixer.OnSwitch = func(ev mixer.SwitchEvent) {
		sw := record.Switch{PTS: ev.PTS, Kind: ev.Kind, From: ev.From, To: ev.To, Duration: ev.Duration}
		for _, st := range ev.Sources {
			sw.Sources = append(sw.Sources, record.SourceTime{Name: st.Name, PTS: st.PTS, Shown: st.Shown, Audio: st.Audio})
		}
		rec.Switch(sw)
	}

	a.rtsp = &rtsp.Server{Address: cfg.RTSP.Listen, Registry: a.registry, Log: log}
	if err = a.rtsp.Start(); err != nil {
		return nil, err
	}
	a.serve = serve.NewRTSP(a.rtsp.GortServer(), log)
	a.rtsp.SetPlayer(a.serve)
	if err = a.serve.Add("program", a.mixer.Program()); err != nil {
		return nil, err
	}
	if pv := a.mixer.PreviewStream(); pv != nil {
		if err = a.serve.Add("preview", pv); err != nil {
			return nil, err
		}
	}

	store := control.NewStore(cfg.DataDir, log)
	show, err := store.Load()
	if err != nil {
		return nil, err
	}
	a.sources = newSourceSet(a.registry, a.mixer, a.serve,
		gen.Config{Width: cfg.Program.Width, Height: cfg.Program.Height, FPSNum: fpsNum, FPSDen: fpsDen}, log)
	srcs, from := show.SourceConfigs(), store.Path()
	if srcs == nil { // show.json holds no sources yet: the config's
		srcs, from = cfg.Sources, "the config"
	}
	for _, sc := range srcs {
		if _, err := a.sources.Add(sc); err != nil {
			return nil, fmt.Errorf("source %s (from %s): %w", sc.Name, from, err)
		}
	}
	if tr := show.Transition; tr != nil {
		if _, err := a.mixer.SetTransition(*tr); err != nil {
			return nil, fmt.Errorf("transition (from %s): %w", store.Path(), err)
		}
	}
	if au := show.Audio; au != nil { // the audio settings the API left
		m := au.Master
		if _, err := a.mixer.SetMaster(mixer.AudioPatch{GainDB: &m.GainDB, Mute: &m.Mute}); err != nil {
			return nil, fmt.Errorf("audio master (from %s): %w", store.Path(), err)
		}
		for name, st := range au.Sources {
			_, _ = a.mixer.SetAudio(name, mixer.AudioPatch{GainDB: &st.GainDB, Mute: &st.Mute, Mode: &st.Mode}) // a source since removed is skipped
		}
	}
	for _, k := range show.Keyers {
		if _, err := a.mixer.AddKeyer(k); err != nil { // e.g. its image file was removed: the show goes on without it
			log.Warn("keyer from show.json not restored", "keyer", k.ID, "from", store.Path(), "err", err)
		}
	}
	a.mixer.Start()

	tlsConf, err := cfg.TLS.clientConfig()
	if err != nil {
		return nil, err
	}
	a.outputs = push.NewManager(a.mixer.Program(), push.Options{TLSConfig: tlsConf, Renditions: a.mixer,
		VideoBPS: int(cfg.Program.VideoBitrate), AudioBPS: int(cfg.Program.AudioBitrate)}, log)
	outs := show.Outputs
	if outs == nil { // show.json holds no outputs yet: the config's
		for _, o := range cfg.Outputs {
			outs = append(outs, o.Push())
		}
	}
	for _, o := range outs {
		if _, err := a.outputs.Add(o); err != nil {
			return nil, fmt.Errorf("output %s (from %s): %w", o.Name, store.Path(), err)
		}
	}

	a.rtmp = &rtmp.Server{Address: cfg.RTMP.Listen, Registry: a.registry, Player: a.serve, Log: log}
	if err = a.rtmp.Start(); err != nil {
		return nil, err
	}
	a.http = &control.Server{Address: cfg.HTTP.Listen, Registry: a.registry, Sources: a.sources, Mixer: a.mixer, Outputs: a.outputs,
		Recorder: a.recorder, RecordDefaults: control.RecordDefaults{Program: cfg.Record.Program, ISO: cfg.Record.ISO},
		Store: store, Token: cfg.HTTP.Token, Log: log}
	if err = a.http.Start(); err != nil {
		return nil, err
	}
	if cfg.HTTP.Token == "" {
		addr := a.http.Addr().(*net.TCPAddr)
		if addr.IP.IsLoopback() {
			log.Info("no http.token: the control API is open to anyone on this machine; set http.token to serve it on other addresses",
				"addr", addr.String())
		} else {
			log.Warn("no http.token and http.listen is not loopback: anyone who can reach this address controls the show; set http.token",
				"addr", addr.String())
		}
	}
	return a, nil
}

// Close stops everything in order: control, then the inputs, then the mixer,
// then what serves its output. Each part waits for its goroutines.
func (a *app) Close() { a.closeOnce.Do(a.close) }

func (a *app) close() {
	if a.http != nil {
		a.http.Close()
	}
	if a.recorder != nil {
		a.recorder.Close() // files end while their sources are still there
	}
	if a.rtmp != nil {
		a.rtmp.Close()
	}
	if a.sources != nil {
		a.sources.Close()
	}
	if a.outputs != nil {
		a.outputs.Close()
	}
	if a.mixer != nil {
		a.mixer.Close()
	}
	if a.serve != nil {
		a.serve.Close()
	}
	if a.rtsp != nil {
		a.rtsp.Close()
	}
	a.hold.Close()
}

// clientConfig returns the TLS configuration for rtmps:// destinations: the
// system roots plus ca_file's certificates; nil when nothing is added.
func (t TLSConfig) clientConfig() (*tls.Config, error) {
	if t.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("tls.ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", t.CAFile)
	}
	return &tls.Config{RootCAs: pool}, nil
}
