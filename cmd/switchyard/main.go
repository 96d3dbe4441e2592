// Command switchyard is a headless live production switcher and streaming server.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"switchyard/ingest/replay"
	"sync"
	"syscall"
	"time"

	"switchyard/control"
	"switchyard/ingest"
	"switchyard/ingest/gen"
	"switchyard/internal/assets"
	"switchyard/internal/fault"
	"switchyard/internal/servers/rtmp"
	"switchyard/internal/servers/rtsp"
	"switchyard/internal/servers/srt"
	"switchyard/internal/servers/webrtc"
	"switchyard/internal/show"
	"switchyard/internal/sysmon"
	"switchyard/media"
	"switchyard/media/av"
	"switchyard/mixer"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/output/hls"
	"switchyard/output/push"
	"switchyard/output/record"
	"switchyard/output/serve"
	"switchyard/output/tally"
)

func main() {
	configPath := flag.String("config", "", "show file (YAML); the embedded demo show when empty")
	logLevel := flag.String("log-level", "", "debug, info, warn or error (default: the show file's log.level, info)")
	flag.Parse()

	cfg, err := LoadConfig(*configPath, os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, oneLine("switchyard: "+err.Error()))
		os.Exit(1)
	}
	log, err := newLogger(os.Stderr, cfg.Log, *logLevel, cfg.showName())
	if err != nil {
		fmt.Fprintf(os.Stderr, "switchyard: -log-level: %v\n", err)
		os.Exit(2)
	}
	// Signals are caught before anything starts and before the log says it
	// runs: a SIGINT during start-up (or just after the line, before a
	// late Notify) would otherwise kill the process unclosed.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	a, err := start(cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, oneLine("switchyard: "+err.Error()))
		os.Exit(1)
	}
	log.Info("switchyard running", "panel", "http://"+a.http.Addr().String(),
		"rtmp", "rtmp://"+a.rtmp.Addr().String()+"/live/NAME",
		"program", "rtsp://"+a.rtsp.Addr().String()+"/program", "libavcodec", av.Version())

	s := <-sig
	timeout := timeDuration(cfg.ShutdownTimeout)
	log.Info("shutting down: draining", "signal", s.String(), "shutdown_timeout", timeout.String())
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "switchyard: second signal, exiting at once")
		os.Exit(1)
	}()
	if !a.shutdown(timeout) {
		log.Error("shutdown took longer than shutdown_timeout; exiting with parts unclosed (raise shutdown_timeout if the disk is slow)",
			"shutdown_timeout", timeout.String())
		os.Exit(1)
	}
	log.Info("stopped")
}

// oneLine keeps a start-up error on one line of stderr.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// listenError says which setting's address could not be listened on, and
// what to do about it.
func listenError(key, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%s %s: the address is in use (another Switchyard or another program listens there); choose another with %s or %s",
			key, addr, key, envName(key))
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s %s: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); choose a port above 1023 with %s",
			key, addr, key)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("%s %s: this machine has no such address; use one of its own, or :PORT for all", key, addr)
	}
	return fmt.Errorf("%s %s: %w", key, addr, err)
}

// rtspListenError names the RTSP key whose address could not be listened
// on: the TCP listener's, or one of the UDP ports'.
func rtspListenError(c RTSPConfig, err error) error {
	key, addr := "rtsp.listen", c.Listen
	var op *net.OpError
	if errors.As(err, &op) && strings.HasPrefix(op.Net, "udp") {
		key, addr = "rtsp.udp_rtp", c.UDPRTP
		if op.Addr != nil && addrPort(op.Addr.String()) == addrPort(c.UDPRTCP) {
			key, addr = "rtsp.udp_rtcp", c.UDPRTCP
		}
	}
	return listenError(key, addr, err)
}

func addrPort(a string) string {
	_, p, _ := net.SplitHostPort(a)
	return p
}

// envName is the environment variable that sets a config key.
func envName(key string) string {
	return "SWITCHYARD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// app is the running show: every part, wired together.
type app struct {
	log      *slog.Logger
	registry *ingest.Registry
	mixer    *mixer.Engine
	rtsp     *rtsp.Server
	paths    *serve.Table
	rtmp     *rtmp.Server
	srt      *srt.Server    // nil when srt.listen is empty
	webrtc   *webrtc.Server // nil when webrtc.udp is empty
	sources  *show.Sources

	closeOnce sync.Once
	outputs   *push.Manager
	recorder  *record.Recorder
	http      *control.Server
	hold      *sysmon.Hold
	assets    *assets.Dir
	tally     *tally.Sender
	hls       *hls.Origin      // nil when hls.enabled is false
	hw        *hwDevices       // the GPUs the program encodes and the sources decode on
	replay    *replay.Replayer // nil when replay.enabled is false
}

// start builds and starts every part; on error it closes what it started
// and returns an error that names what failed.
func start(cfg *Config, log *slog.Logger) (*app, error) {
	a := &app{log: log, registry: ingest.NewRegistry(log)}
	if err := a.start(cfg); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) start(cfg *Config) error {
	log := a.log
	if cfg.SysmonHold {
		a.hold = sysmon.Start()
	}
	fpsNum, fpsDen := cfg.Program.FPSRational()
	var err error
	if a.assets, err = assets.Open(cfg.assetsPath()); err != nil {
		return err
	}
	if a.hw, err = openHW(cfg.Program, log); err != nil {
		return err
	}
	a.mixer, err = mixer.New(mixer.Config{
		Width: cfg.Program.Width, Height: cfg.Program.Height, FPSNum: fpsNum, FPSDen: fpsDen,
		VideoBitrateBPS: int(cfg.Program.VideoBitrate), AudioBitrateBPS: int(cfg.Program.AudioBitrate),
		Keyint: timeDuration(cfg.Program.Keyint), PreviewBitrateBPS: int(cfg.Program.PreviewBitrate),
		JitterBuffer: timeDuration(cfg.Program.JitterBuffer), Assets: a.assets,
		Encoder: cfg.Program.Encoder, Preset: cfg.Program.Preset, EncodeDevice: a.hw.encode, DecodeDevice: a.hw.decode,
		Multiview: mixer.MultiviewConfig{Width: cfg.Multiview.Width, Height: cfg.Multiview.Height, FPS: cfg.Multiview.FPS,
			Quality: cfg.Multiview.Quality},
		Stingers:        cfg.clipDirs().ResolveStinger, // stinger transitions: clips as clip sources find theirs, or a PNG folder
		StingerMaxBytes: int64(cfg.Clips.StingerMaxMB) << 20,
	}, log)
	if err != nil {
		return fmt.Errorf("mixer: %w", err)
	}

	a.recorder = record.New(record.Options{
		Dir: filepath.Join(cfg.DataDir, "recordings"), Fragment: time.Duration(cfg.Record.Fragment),
		MinFreeBytes: uint64(cfg.Record.MinFreeMB) << 20, FPSNum: fpsNum, FPSDen: fpsDen,
		ProgramEpoch: a.mixer.Started, Program: a.mixer.Targets().Program(),
		KeyFrame: a.mixer.Switcher().KeyFrameNext, SourceOffset: a.mixer.Switcher().SourceOffset, Timecode: cfg.Record.Timecode,
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
		if ev.Kind != mixer.KindKey && ev.Kind != mixer.KindAudio && a.sources != nil {
			a.sources.ProgramChanged(ev.From, ev.To) // clips: autoplay on-program, on_end next
		}
	}

	a.paths = serve.NewTable()
	if err := a.paths.Add("program", a.mixer.Targets().Program()); err != nil {
		return err
	}
	if pv := a.mixer.Targets().PreviewStream(); pv != nil {
		if err := a.paths.Add("preview", pv); err != nil {
			return err
		}
	}
	a.rtsp = &rtsp.Server{Address: cfg.RTSP.Listen, UDPRTPAddress: cfg.RTSP.UDPRTP, UDPRTCPAddress: cfg.RTSP.UDPRTCP,
		MaxConnections: cfg.RTSP.MaxConnections, Registry: a.registry, Paths: a.paths, ReadKey: cfg.ReadKey, Log: log}
	if err := a.rtsp.Start(); err != nil {
		return rtspListenError(cfg.RTSP, err)
	}

	// The show file's sources and outputs, with the API's changes kept in
	// show.json on top (show.Show.Resolve).
	store := show.NewStore(cfg.DataDir, log)
	saved, err := store.Load()
	if err != nil {
		return err
	}
	fileOutputs := make([]push.Config, 0, len(cfg.Outputs))
	for _, o := range cfg.Outputs {
		fileOutputs = append(fileOutputs, o.Push())
	}
	srcs, outs, changes := saved.Resolve(cfg.Sources, fileOutputs)
	store.SetFile(cfg.Sources, fileOutputs)
	if saved.Sources != nil || saved.Outputs != nil {
		log.Info("sources and outputs: the show file's, with the changes made through the API on top", "from", store.Path())
	}
	for _, c := range changes {
		log.Info("show file changed since show.json was saved: the show file's edit applies", "change", c)
	}
	genCfg := gen.Config{Width: cfg.Program.Width, Height: cfg.Program.Height, FPSNum: fpsNum, FPSDen: fpsDen, Assets: a.assets}
	a.sources = show.NewSources(a.registry, a.mixer.Switcher(), a.paths, a.recorder, show.Generators{Check: gen.Check,
		New: func(source, url string) (show.Generator, error) {
			gc := genCfg
			gc.Source, gc.URL = source, url
			g, err := gen.New(gc, a.registry, log)
			if err != nil {
				return nil, err
			}
			return g, nil
		}}, log)
	a.wireClips(cfg)
	for i, sc := range srcs {
		if cfg.Replay.Enabled && sc.Name == replay.Source {
			continue // show.json kept the replay source: it is made below
		}
		if _, err := a.sources.Add(sc); err != nil {
			return fmt.Errorf("%s: %w", sourceKey(store.Path(), saved.Sources != nil, i, err), err)
		}
	}
	if err := a.startReplay(cfg); err != nil {
		return err
	}
	if tr := saved.Transition; tr != nil {
		if _, err := a.mixer.Switcher().SetTransition(*tr); err != nil && tr.Type == bus.TransStinger {
			// its clip gone or changed since: the show starts with the mix
			log.Warn("the saved stinger transition cannot be loaded; the default transition is a mix", "clip", tr.Clip, "err", err)
		} else if err != nil {
			return fmt.Errorf("%s: transition: %w", store.Path(), err)
		}
	}
	if au := saved.Audio; au != nil { // the audio settings the API left
		m := au.Master
		if _, err := a.mixer.Sound().SetMaster(audio.Patch{GainDB: &m.GainDB, Mute: &m.Mute}); err != nil {
			return fmt.Errorf("%s: audio.master: %w", store.Path(), err)
		}
		for name, st := range au.Sources {
			_, _ = a.mixer.Switcher().SetAudio(name, audio.Patch{GainDB: &st.GainDB, Mute: &st.Mute, Mode: &st.Mode}) // a source since removed is skipped
		}
	}
	saved.MigrateKeyerFiles(cfg.DataDir, a.assets, log)
	for _, k := range saved.Keyers {
		if _, err := a.mixer.KeyerSet().AddKeyer(k); err != nil { // e.g. its image file was removed: the show goes on without it
			spec, _ := json.Marshal(k)
			log.Warn("keyer from show.json not restored; the next change of the show drops it from show.json: fix its file and add it again",
				"keyer", k.ID, "from", store.Path(), "err", err, "keyer_spec", string(spec))
		}
	}
	macros, mchanges := saved.ResolveMacros(cfg.macros())
	store.SetFileMacros(cfg.macros())
	for _, c := range mchanges {
		log.Info("show file changed since show.json was saved: the show file's edit applies", "change", c)
	}
	a.setBuses(cfg.Buses)
	if err := a.startTally(cfg, saved, store); err != nil {
		return err
	}
	a.mixer.Start()

	tlsConf, err := cfg.TLS.clientConfig()
	if err != nil {
		return err
	}
	a.outputs = push.NewManager(a.mixer.Targets().Program(), push.Options{TLSConfig: tlsConf, Renditions: a.mixer.Targets(),
		VideoBPS: int(cfg.Program.VideoBitrate), AudioBPS: int(cfg.Program.AudioBitrate)}, log)
	for _, o := range outs {
		if _, err := a.outputs.Add(o); err != nil {
			return fmt.Errorf("output %s (from %s): %w", o.Name, store.Path(), err)
		}
	}

	a.rtmp = &rtmp.Server{Address: cfg.RTMP.Listen, MaxConnections: cfg.RTMP.MaxConnections, Registry: a.registry, Paths: a.paths,
		ReadKey: cfg.ReadKey, Log: log}
	if err := a.rtmp.Start(); err != nil {
		return listenError("rtmp.listen", cfg.RTMP.Listen, err)
	}
	if err := a.startSRT(cfg.SRT, cfg.ReadKey); err != nil {
		return err
	}
	if err := a.startWebRTC(cfg.WebRTC, cfg.ReadKey); err != nil {
		return err
	}
	warnOpenReading(cfg, log, a.rtsp.Addr(), a.rtmp.Addr(), a.srtAddr())
	hlsOrigin, err := a.startHLS(cfg, outs)
	if err != nil {
		return err
	}
	var replays control.Replay
	if a.replay != nil {
		replays = a.replay
	}
	a.http = &control.Server{Replay: replays, Address: cfg.HTTP.Listen, Registry: a.registry, Sources: a.apiSources(), Mixer: newMixerAPI(a.mixer), Outputs: a.outputs,
		Players: a.sources, Clips: cfg.clipLibrary(),
		Recorder: a.recorder, Tally: a.tally, RecordDefaults: control.RecordDefaults{Program: cfg.Record.Program, ISO: cfg.Record.ISO},
		Format: control.Format{Width: cfg.Program.Width, Height: cfg.Program.Height, FPS: float64(fpsNum) / float64(fpsDen)},
		Store:  store, Assets: a.assets, Token: cfg.HTTP.Token, Tokens: cfg.HTTP.controlTokens(), Hosts: cfg.HTTP.Hosts,
		AllowedOrigins: cfg.HTTP.AllowedOrigins, Log: log,
		MediaRefused: a.mediaRefused, SRT: a.srtListener(), Macros: macros, HLS: hlsOrigin, ShowName: cfg.showName(),
		WebRTC: a.webrtcServer()}
	if err := a.http.Start(); err != nil {
		a.http = nil // nothing to close
		return listenError("http.listen", cfg.HTTP.Listen, err)
	}
	if cfg.HTTP.Token == "" && len(cfg.HTTP.Tokens) == 0 {
		addr := a.http.Addr().(*net.TCPAddr)
		if addr.IP.IsLoopback() {
			log.Info("no http.token: the control API is open to anyone on this machine; set http.token to serve it on other addresses",
				"addr", addr.String())
		} else { // Validate let it through: http.insecure
			log.Warn("http.insecure: the control API is open to anyone who can reach this address; set http.token",
				"addr", addr.String())
		}
	}
	return nil
}

// sourceKey names where a source that could not be added came from: the
// show file's key, or show.json's.
func sourceKey(showJSON string, fromShowJSON bool, i int, err error) string {
	key := fmt.Sprintf("sources[%d]", i)
	var fe *fault.Invalid
	if errors.As(err, &fe) {
		key += "." + fe.Field
	}
	if fromShowJSON {
		return showJSON + ": " + key
	}
	return "config: " + key
}

// setBuses puts the configured sources on program and preview as the show
// starts (the demo show opens on bars, with the clock on preview). A source
// that is no longer in the show (removed through the API) leaves its bus
// black, with a warning.
func (a *app) setBuses(b BusesConfig) {
	for _, side := range []struct {
		key, name string
		set       func(string) (bus.State, error)
	}{{"buses.program", b.Program, a.mixer.Switcher().SetProgram}, {"buses.preview", b.Preview, a.mixer.Switcher().SetPreview}} {
		if side.name == "" {
			continue
		}
		if _, err := side.set(side.name); err != nil {
			a.log.Warn("the bus starts black: its source is not in the show", "key", side.key, "source", side.name)
		}
	}
}

// warnOpenReading says once, at start, that anyone who reaches a media
// port on another address than loopback can watch the program: no
// read_key is set.
func warnOpenReading(cfg *Config, log *slog.Logger, addrs ...net.Addr) {
	if cfg.ReadKey != "" {
		return
	}
	var open []string
	for _, a := range addrs {
		var ip net.IP
		switch ta := a.(type) {
		case *net.TCPAddr:
			ip = ta.IP
		case *net.UDPAddr: // SRT
			ip = ta.IP
		}
		if ip != nil && !ip.IsLoopback() {
			open = append(open, a.String())
		}
	}
	if len(open) > 0 {
		log.Warn("no read_key: anyone who can reach these media ports can watch the program and every source without its own read_key; set read_key",
			"addrs", strings.Join(open, " "))
	}
}

// Close stops everything in order: control, then the inputs, then the mixer,
// then what serves its output. Each part waits for its goroutines.
func (a *app) Close() { a.closeOnce.Do(a.close) }

func (a *app) close() {
	if a.hls != nil {
		a.hls.Close() // answers the playlist requests that wait, so http's shutdown need not
	}
	if a.http != nil {
		a.http.Close()
	}
	if a.recorder != nil {
		a.recorder.Close() // files end while their sources are still there
	}
	if a.rtmp != nil {
		a.rtmp.Close()
	}
	if a.srt != nil {
		a.srt.Close()
	}
	if a.replay != nil {
		a.replay.Close() // before its source and the cameras go
	}
	if a.webrtc != nil {
		a.webrtc.Close()
	}
	if a.sources != nil {
		a.sources.Close()
	}
	a.registry.Close() // its clock's goroutine and the news to control
	if a.outputs != nil {
		a.outputs.Close()
	}
	if a.tally != nil {
		a.tally.Close()
	}
	if a.mixer != nil {
		a.mixer.Close()
	}
	a.hw.Close() // after the mixer's codecs
	if a.rtsp != nil {
		a.rtsp.Close() // the re-served paths' readers, then the server
	}
	a.hold.Close()
	_ = a.assets.Close()
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
