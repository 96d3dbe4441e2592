package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The deployment files in deploy/ checked without a cluster and without
// systemd running: every Kubernetes manifest decodes strictly into the
// official Go types (a misspelt or misplaced field is an error), and its
// show file, ports, probes and grace period agree with what the binary
// does; the systemd units pass systemd-analyze verify.

const deployDir = "../../deploy"

// k8sObjects reads every manifest of deploy/kubernetes, strictly decoded.
func k8sObjects(t *testing.T) (cms []corev1.ConfigMap, sets []appsv1.StatefulSet, svcs []corev1.Service) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			where := fmt.Sprintf("%s document %d", filepath.Base(f), i+1)
			var tm metav1.TypeMeta
			require.NoError(t, yaml.Unmarshal([]byte(doc), &tm), where)
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 ConfigMap":
				var o corev1.ConfigMap
				require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &o), where)
				cms = append(cms, o)
			case "apps/v1 StatefulSet":
				var o appsv1.StatefulSet
				require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &o), where)
				sets = append(sets, o)
			case "v1 Service":
				var o corev1.Service
				require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &o), where)
				svcs = append(svcs, o)
			default:
				t.Fatalf("%s: %s %s: no check for this kind; add one", where, tm.APIVersion, tm.Kind)
			}
		}
	}
	return cms, sets, svcs
}

// TestKubernetesStrictDecodeRefusesTypos: the decode the manifests go
// through refuses a field the type does not have.
func TestKubernetesStrictDecodeRefusesTypos(t *testing.T) {
	var ss appsv1.StatefulSet
	err := yaml.UnmarshalStrict([]byte("apiVersion: apps/v1\nkind: StatefulSet\nspec:\n  template:\n    spec:\n      terminationGracePeriod: 30\n"), &ss)
	require.ErrorContains(t, err, `unknown field "terminationGracePeriod"`)
}

func TestKubernetesManifests(t *testing.T) {
	cms, sets, svcs := k8sObjects(t)
	require.Len(t, sets, 1)
	require.Len(t, cms, 1)
	ss := sets[0]
	pod := ss.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Equal(t, ss.Spec.Selector.MatchLabels, ss.Spec.Template.Labels, "the StatefulSet selects its own pods")

	// The show file: from the ConfigMap, mounted where -config reads it,
	// loaded as the binary loads it with the container's environment.
	i := slices.Index(c.Args, "-config")
	require.GreaterOrEqual(t, i, 0, "the container names its show file")
	configPath := c.Args[i+1]
	var showVolume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cms[0].Name {
			showVolume = v.Name
		}
	}
	require.NotEmpty(t, showVolume, "the ConfigMap is a volume")
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	require.Equal(t, filepath.Dir(configPath), mounts[showVolume], "the show file is read from the ConfigMap's mount")
	show, ok := cms[0].Data[filepath.Base(configPath)]
	require.True(t, ok, "the ConfigMap holds %s", filepath.Base(configPath))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "show.yaml"), []byte(show), 0o644))
	env := []string{}
	var fromSecret []string
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			fromSecret = append(fromSecret, e.Name)
			env = append(env, e.Name+"=a-token-from-the-secret")
		case e.ValueFrom.FieldRef != nil:
			env = append(env, e.Name+"=switchyard-0")
		}
	}
	require.Contains(t, fromSecret, "SWITCHYARD_HTTP_TOKEN", "the API token comes from a Secret")
	cfg, err := LoadConfig(filepath.Join(dir, "show.yaml"), env)
	require.NoError(t, err, "the ConfigMap's show file loads with the container's environment")
	require.Equal(t, "switchyard-0", cfg.showName(), "each pod's show is named after the pod")

	// data_dir is on the pod's volume claim.
	require.Len(t, ss.Spec.VolumeClaimTemplates, 1)
	require.Equal(t, filepath.Clean(cfg.DataDir), mounts[ss.Spec.VolumeClaimTemplates[0].Name], "data_dir is the volume claim's mount")

	// The container's ports are the show's listeners.
	ports := map[string]corev1.ContainerPort{}
	for _, p := range c.Ports {
		ports[p.Name] = p
	}
	for _, l := range []struct {
		name, addr string
		proto      corev1.Protocol
	}{
		{"http", cfg.HTTP.Listen, corev1.ProtocolTCP}, {"rtmp", cfg.RTMP.Listen, corev1.ProtocolTCP},
		{"rtsp", cfg.RTSP.Listen, corev1.ProtocolTCP}, {"srt", cfg.SRT.Listen, corev1.ProtocolUDP},
		{"webrtc", cfg.WebRTC.UDP, corev1.ProtocolUDP},
	} {
		p, ok := ports[l.name]
		require.True(t, ok, "container port %s", l.name)
		require.Equal(t, listenPort(t, l.addr), p.ContainerPort, "%s is the show's %s", l.name, l.addr)
		require.Equal(t, l.proto, p.Protocol, l.name)
	}
	require.Empty(t, cfg.RTSP.UDPRTP, "RTSP's UDP ports are off: no port range to expose")
	host, _, err := net.SplitHostPort(cfg.HTTP.Listen)
	require.NoError(t, err)
	require.False(t, host == "" || net.ParseIP(host).IsLoopback() || host == "localhost", "the kubelet reaches the probes on the pod's address")

	// The probes: /healthz and /readyz on the HTTP port.
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.StartupProbe, "/healthz"}, {c.LivenessProbe, "/healthz"}, {c.ReadinessProbe, "/readyz"}} {
		require.NotNil(t, p.probe)
		require.NotNil(t, p.probe.HTTPGet)
		require.Equal(t, p.path, p.probe.HTTPGet.Path)
		require.Equal(t, "http", p.probe.HTTPGet.Port.String())
	}

	// The grace period covers preStop and the whole drain.
	require.NotNil(t, c.Lifecycle.PreStop.Sleep, "preStop waits for load balancers to let the pod go")
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	require.NotNil(t, pod.TerminationGracePeriodSeconds)
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	require.GreaterOrEqual(t, grace, preStop+timeDuration(cfg.ShutdownTimeout)+5*time.Second,
		"terminationGracePeriodSeconds ≥ preStop %s + shutdown_timeout %s + 5s", preStop, timeDuration(cfg.ShutdownTimeout))

	require.Contains(t, c.SecurityContext.Capabilities.Add, corev1.Capability("SYS_NICE"))
	require.Contains(t, c.SecurityContext.Capabilities.Drop, corev1.Capability("ALL"))

	// Every Service selects the show's pods and targets ports the container has, by protocol.
	require.NotEmpty(t, svcs)
	var headless bool
	protos := map[corev1.Protocol]bool{}
	for _, s := range svcs {
		headless = headless || (s.Name == ss.Spec.ServiceName && s.Spec.ClusterIP == corev1.ClusterIPNone)
		for k, v := range s.Spec.Selector {
			if k == "statefulset.kubernetes.io/pod-name" {
				require.Regexp(t, "^"+ss.Name+`-\d+$`, v, s.Name)
				continue
			}
			require.Equal(t, ss.Spec.Template.Labels[k], v, "%s selects the show's pods", s.Name)
		}
		for _, sp := range s.Spec.Ports {
			cp, ok := ports[sp.TargetPort.String()]
			require.True(t, ok, "service %s port %s targets the container's port %s", s.Name, sp.Name, sp.TargetPort.String())
			require.Equal(t, cp.Protocol, sp.Protocol, "service %s port %s", s.Name, sp.Name)
			protos[sp.Protocol] = true
		}
	}
	require.True(t, headless, "the StatefulSet's serviceName is a headless Service")
	require.True(t, protos[corev1.ProtocolUDP], "SRT is served over UDP")
}

// listenPort is the port of a listen address.
func listenPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return int32(n)
}

// TestSystemdUnits: systemd-analyze verify accepts the units (with no
// warning: an unknown key is only a warning to systemd), and their stop
// timeout covers the drain.
func TestSystemdUnits(t *testing.T) {
	units, err := filepath.Glob(filepath.Join(deployDir, "systemd", "*.service"))
	require.NoError(t, err)
	require.Len(t, units, 2)
	for _, u := range units {
		b, err := os.ReadFile(u)
		require.NoError(t, err)
		text := string(b)
		for _, want := range []string{"User=switchyard", "AmbientCapabilities=CAP_SYS_NICE", "ProtectSystem=strict",
			"ReadWritePaths=/var/lib/switchyard", "Restart=on-failure", "NoNewPrivileges=yes"} {
			require.Contains(t, text, want, u)
		}
		m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\S+)$`).FindStringSubmatch(text)
		require.NotNil(t, m, "%s sets TimeoutStopSec", u)
		stop, err := time.ParseDuration(m[1])
		require.NoError(t, err)
		require.GreaterOrEqual(t, stop, defaultShutdownTimeout+5*time.Second, "%s: systemd waits out the drain", u)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: the systemd package, in make deps): the units are not verified")
	}
	// An alternate root holding the units, systemd's own units (sysinit.target
	// and the rest they hang from) and an executable where ExecStart looks.
	root := t.TempDir()
	sysUnits := "/usr/lib/systemd/system"
	if _, err := os.Stat(sysUnits); err != nil {
		sysUnits = "/lib/systemd/system"
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755))
	out, err := exec.Command("cp", "-r", sysUnits, filepath.Join(root, "usr/lib/systemd/system")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "usr/local/bin/switchyard"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc/systemd/system"), 0o755))
	for _, u := range units {
		b, err := os.ReadFile(u)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(root, "etc/systemd/system", filepath.Base(u)), b, 0o644))
	}
	for _, name := range []string{"switchyard.service", "switchyard@stage-a.service"} {
		cmd := exec.Command(analyze, "verify", "--root="+root, name)
		var outb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &outb, &outb
		err := cmd.Run()
		require.NoError(t, err, "systemd-analyze verify %s: %s", name, outb.String())
		require.Empty(t, strings.TrimSpace(outb.String()), "systemd-analyze verify %s warns", name)
	}
}
