package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchyard/internal/testpeer"
)

// benchAppEnv makes the test binary run a show (the file it names) instead
// of the tests, until its stdin closes: the HLS benchmark measures the
// origin's CPU in a process of its own, apart from its clients'.
const benchAppEnv = "SWITCHYARD_BENCH_APP_SHOW"

func runBenchApp() bool {
	path, ok := os.LookupEnv(benchAppEnv)
	if !ok {
		return false
	}
	os.Unsetenv(benchAppEnv) // not a SWITCHYARD_* key of the show
	cfg, err := LoadConfig(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench app:", err)
		os.Exit(1)
	}
	a, err := start(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench app:", err)
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	a.Close()
	return true
}

// procCPU is the CPU time process pid used so far (/proc/PID/stat: utime
// and stime, in clock ticks of 1/100 s).
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of the line
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// BenchmarkHLSCache: issue 28's figure. A show (720p30, the defaults: 2 s
// segments, 200 ms parts) runs in a process of its own; 200 lightweight
// HLS clients (half LL-HLS parts, half plain segments, video and audio)
// watch its program for 60 s through nginx as a caching proxy
// (proxy_cache, proxy_cache_lock), then 200 watch it directly. Printed:
// origin requests per part and per segment, the clients' stalls, and the
// show's CPU (cores) above what it uses with no viewer.
func BenchmarkHLSCache(b *testing.B) {
	const clients, window = 200, 60 * time.Second
	dir := b.TempDir()
	port := testpeer.FreePort(b)
	origin := fmt.Sprintf("127.0.0.1:%d", port)
	show := fmt.Sprintf(`http: { listen: %q }
rtmp: { listen: "127.0.0.1:0" }
rtsp: { listen: "127.0.0.1:0", udp_rtp: "", udp_rtcp: "" }
srt: { listen: "127.0.0.1:0" }
data_dir: %q
read_key: bench-key
sources:
  - { name: bars, url: "gen://bars" }
  - { name: tone, url: "gen://tone" }
buses: { program: bars }
`, origin, filepath.Join(dir, "data"))
	showPath := filepath.Join(dir, "show.yaml")
	if err := os.WriteFile(showPath, []byte(show), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchAppEnv+"="+showPath)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + origin + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the show did not answer on %s: %v", origin, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	time.Sleep(5 * time.Second) // its sources live, the program running
	c0 := procCPU(b, pid)
	t0 := time.Now()
	time.Sleep(10 * time.Second)
	idle := float64(procCPU(b, pid)-c0) / float64(time.Since(t0))

	cache := testpeer.StartNginxCache(b, origin)
	measure := func(view string) (hlsLoad, float64) {
		c0, t0 := procCPU(b, pid), time.Now()
		l := runHLSLoad(b, view, "http://"+origin+"/metrics", "bench-key", clients, window)
		return l, float64(procCPU(b, pid)-c0)/float64(time.Since(t0)) - idle
	}
	cached, cpuCached := measure("http://" + cache.Addr())
	direct, cpuDirect := measure("http://" + origin)

	fmt.Printf("\nHLS origin, %d clients for %s (BenchmarkHLSCache); the show alone uses %.3f cores\n", clients, window, idle)
	for _, r := range []struct {
		name string
		l    hlsLoad
		cpu  float64
	}{{"behind nginx (proxy_cache_lock)", cached, cpuCached}, {"direct", direct, cpuDirect}} {
		fmt.Printf("  %-32s %.2f origin requests per part, %.2f per segment, %.0f playlist requests; %d stalls (%s), %d missed; origin CPU %.3f cores above idle; %d client errors\n",
			r.name, r.l.perPart(), r.l.perSegment(), r.l.originByKind["playlist"], r.l.stalls, r.l.stallTime.Round(time.Millisecond), r.l.missed, r.cpu, len(r.l.errs))
		for i, e := range r.l.errs {
			if i == 3 {
				break
			}
			fmt.Println("    ", e)
		}
	}
	b.ReportMetric(cached.perPart(), "origin-req/part")
	b.ReportMetric(cached.perSegment(), "origin-req/segment")
	b.ReportMetric(float64(cached.stalls), "stalls")
	b.ReportMetric(cpuCached, "origin-cores-cached")
	b.ReportMetric(cpuDirect, "origin-cores-direct")
}
