package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchyard/ingest"
	"switchyard/output/tally"
)

// quiet fails if rx receives a packet within d (the tally repeats every
// second: a destination still sent to shows within one).
func (rx *tslRx) quiet(t *testing.T, d time.Duration, what string) {
	t.Helper()
	select {
	case p := <-rx.packets: // one already here
		t.Fatalf("%s: receiver %s still gets packets: %+v", what, rx.addr, p.displays)
	default:
	}
	select {
	case p := <-rx.packets:
		t.Fatalf("%s: receiver %s still gets packets: %+v", what, rx.addr, p.displays)
	case <-time.After(d):
	}
}

// settle waits for the datagrams already on their way, then forgets them.
func (rx *tslRx) settle() {
	time.Sleep(200 * time.Millisecond) // loopback: anything sent before arrives within this
	rx.drain()
}

func destNames(st tally.Status) []string {
	out := []string{}
	for _, d := range st.Destinations {
		out = append(out, d.Name+"→"+d.Address)
	}
	return out
}

// TestTallyDestinationsAPI: tally destinations through the API, with real
// TSL receivers. A POSTed destination starts receiving the show's state at
// once; a PATCH to another port moves the packets there (the old port gets
// no more); a DELETE stops them. The changes are kept in show.json: after a
// restart the API's destinations are back, one removed through the API
// stays removed, and an edit of the show file since brings it back. Names
// are unique (409), there are at most 64 (409 beyond).
func TestTallyDestinationsAPI(t *testing.T) {
	rxFile := newUDPRx(t, "tsl5", false)
	rxA := newUDPRx(t, "tsl5", false)
	rxB := newUDPRx(t, "tsl5", false)
	rxC := newUDPRx(t, "tsl31", false)
	cfg := testConfig(t,
		ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue", TallyIndex: 7})
	cfg.Tally = []tally.Config{{Protocol: "tsl5", Address: rxFile.addr}} // unnamed: tally1
	require.NoError(t, cfg.Validate())
	a, aLogs := startApp(t, cfg)
	mustAPI(t, "POST", a.apiURL("/program"), `{"source":"cam1"}`, nil)
	mustAPI(t, "POST", a.apiURL("/preview"), `{"source":"cam2"}`, nil)
	rxFile.waitColors(t, map[int]string{1: "red", 7: "green"}, 15*time.Second)
	var st tally.Status
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	require.Equal(t, []string{"tally1→" + rxFile.addr}, destNames(st), "the show file's entry, named by its position")

	// POST: sent to at once
	var ds tally.DestinationStatus
	require.Equal(t, http.StatusCreated, api(t, "POST", a.apiURL("/tally/destinations"),
		fmt.Sprintf(`{"name":"desk","protocol":"tsl5","address":%q,"screen":2}`, rxA.addr), &ds))
	require.Equal(t, "desk", ds.Name)
	require.Equal(t, "udp", ds.Transport, "defaults filled in")
	require.Equal(t, 3, *ds.Brightness)
	rxA.waitColors(t, map[int]string{1: "red", 7: "green"}, 15*time.Second)
	require.Equal(t, 2, rxA.next(t, 5*time.Second).screen)
	mustAPI(t, "POST", a.apiURL("/cut"), "", nil)
	rxA.waitColors(t, map[int]string{1: "green", 7: "red"}, 15*time.Second)

	var e struct{ Error, Field string }
	require.Equal(t, http.StatusConflict, api(t, "POST", a.apiURL("/tally/destinations"),
		fmt.Sprintf(`{"name":"desk","protocol":"tsl5","address":%q}`, rxB.addr), &e), "a name taken")
	require.Contains(t, e.Error, "already exists")
	require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/tally/destinations"),
		fmt.Sprintf(`{"protocol":"tsl5","address":%q}`, rxB.addr), &e), "the API needs a name")
	require.Equal(t, "name", e.Field)

	// PATCH to another port: the packets move
	require.Equal(t, http.StatusOK, api(t, "PATCH", a.apiURL("/tally/destinations/desk"), fmt.Sprintf(`{"address":%q}`, rxB.addr), &ds))
	require.Equal(t, rxB.addr, ds.Address)
	require.Equal(t, 2, ds.Screen, "what the patch leaves out stays")
	rxB.waitColors(t, map[int]string{1: "green", 7: "red"}, 15*time.Second)
	rxA.settle()
	rxA.quiet(t, 2500*time.Millisecond, "after the PATCH, the old port")
	require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL("/tally/destinations/desk"), `{"transport":"sctp"}`, &e))
	require.Equal(t, "transport", e.Field)
	require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL("/tally/destinations/desk"), `{"name":"other"}`, &e))
	require.Equal(t, "name", e.Field)
	require.Equal(t, http.StatusNotFound, api(t, "PATCH", a.apiURL("/tally/destinations/nope"), `{"screen":1}`, &e))

	// a second one that stays, TSL 3.1
	mustAPI(t, "POST", a.apiURL("/tally/destinations"), fmt.Sprintf(`{"name":"booth","protocol":"tsl31","address":%q,"brightness":1}`, rxC.addr), nil)
	rxC.waitColors(t, map[int]string{1: "green", 7: "red"}, 15*time.Second)

	// DELETE: no more packets; the show file's one too
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/tally/destinations/desk"), "", nil))
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/tally/destinations/tally1"), "", nil))
	require.Equal(t, http.StatusNotFound, api(t, "DELETE", a.apiURL("/tally/destinations/desk"), "", &e))
	rxB.settle()
	rxFile.settle()
	rxB.quiet(t, 2500*time.Millisecond, "after the DELETE")
	rxFile.quiet(t, 0, "after the DELETE of the show file's destination")
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	require.Equal(t, []string{"booth→" + rxC.addr}, destNames(st))
	closeApp(t, a, aLogs)

	// a restart: booth is back and sending, tally1 stays removed
	b, bLogs := startApp(t, cfg)
	mustAPI(t, "GET", b.apiURL("/tally"), "", &st)
	require.Equal(t, []string{"booth→" + rxC.addr}, destNames(st), "show.json's list")
	require.Equal(t, 1, *st.Destinations[0].Brightness)
	rxC.settle()
	rxC.next(t, 10*time.Second)
	rxFile.settle()
	rxFile.quiet(t, 2500*time.Millisecond, "a destination removed through the API, after a restart")
	closeApp(t, b, bLogs)

	// the show file changes tally1 since: its edit brings it back
	cfg.Tally[0].Screen = 4
	c, logs := startApp(t, cfg)
	mustAPI(t, "GET", c.apiURL("/tally"), "", &st)
	require.Equal(t, []string{"booth→" + rxC.addr, "tally1→" + rxFile.addr}, destNames(st))
	require.Equal(t, 4, rxFile.next(t, 10*time.Second).screen)
	require.Contains(t, logs.String(), "tally destination tally1 removed through the API, then changed in the show file")

	// at most 64
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer sink.Close()
	for i := 3; i <= tally.MaxDestinations; i++ {
		mustAPI(t, "POST", c.apiURL("/tally/destinations"), fmt.Sprintf(`{"name":"t%d","protocol":"tsl5","address":%q}`, i, sink.LocalAddr()), nil)
	}
	require.Equal(t, http.StatusConflict, api(t, "POST", c.apiURL("/tally/destinations"),
		fmt.Sprintf(`{"name":"t65","protocol":"tsl5","address":%q}`, sink.LocalAddr()), &e))
	require.Contains(t, e.Error, "at most 64")
}

// TestTallyDestinationDoorsAgree: a bad destination gets the same error,
// naming the same field, through the show file and through the API (POST
// and PATCH): one check, tally.Config.Validate, behind both doors.
func TestTallyDestinationDoorsAgree(t *testing.T) {
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"}))
	mustAPI(t, "POST", a.apiURL("/tally/destinations"), `{"name":"ok","protocol":"tsl5","address":"127.0.0.1:9"}`, nil)
	for _, c := range []struct {
		name, yaml, json, patch, field string
	}{
		{"protocol", `{ name: x, protocol: tsl4, address: "10.0.0.20:8900" }`, `{"name":"x","protocol":"tsl4","address":"10.0.0.20:8900"}`, `{"protocol":"tsl4"}`, "protocol"},
		{"address", `{ name: x, protocol: tsl5, address: "10.0.0.20" }`, `{"name":"x","protocol":"tsl5","address":"10.0.0.20"}`, `{"address":"10.0.0.20"}`, "address"},
		{"port", `{ name: x, protocol: tsl5, address: "10.0.0.20:0" }`, `{"name":"x","protocol":"tsl5","address":"10.0.0.20:0"}`, `{"address":"10.0.0.20:0"}`, "address"},
		{"tsl31 over tcp", `{ name: x, protocol: tsl31, address: "127.0.0.1:9", transport: tcp }`, `{"name":"x","protocol":"tsl31","address":"127.0.0.1:9","transport":"tcp"}`, `{"protocol":"tsl31","transport":"tcp"}`, "transport"},
		{"screen", `{ name: x, protocol: tsl5, address: "127.0.0.1:9", screen: 70000 }`, `{"name":"x","protocol":"tsl5","address":"127.0.0.1:9","screen":70000}`, `{"screen":70000}`, "screen"},
		{"brightness", `{ name: x, protocol: tsl5, address: "127.0.0.1:9", brightness: 9 }`, `{"name":"x","protocol":"tsl5","address":"127.0.0.1:9","brightness":9}`, `{"brightness":9}`, "brightness"},
		{"name", `{ name: "Desk 1", protocol: tsl5, address: "127.0.0.1:9" }`, `{"name":"Desk 1","protocol":"tsl5","address":"127.0.0.1:9"}`, ``, "name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte("tally: [" + c.yaml + "]\n"))
			require.NoError(t, err)
			err = cfg.Validate()
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Equal(t, "tally[0]."+c.field, ce.Key)

			var e struct{ Error, Field string }
			require.Equal(t, http.StatusBadRequest, api(t, "POST", a.apiURL("/tally/destinations"), c.json, &e))
			require.Equal(t, c.field, e.Field)
			require.Equal(t, ce.Msg, e.Error, "the same words through both doors")
			if c.patch != "" {
				require.Equal(t, http.StatusBadRequest, api(t, "PATCH", a.apiURL("/tally/destinations/ok"), c.patch, &e))
				require.Equal(t, c.field, e.Field)
			}
		})
	}
	var st tally.Status
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	b, _ := json.Marshal(st.Destinations)
	require.Len(t, st.Destinations, 1, "nothing refused was added: %s", b)
	require.Equal(t, "127.0.0.1:9", st.Destinations[0].Address, "nor changed")
}

// TestTallyIndexShared: two sources on one display index (by tally_index
// or by position) do not stop the show from starting, nor a change through
// the API; each such pair is named in GET /api/v1/tally's warnings and in
// the log, and the warning goes when the indexes are set apart.
func TestTallyIndexShared(t *testing.T) {
	cfg := testConfig(t,
		ingest.SourceConfig{Name: "cam1", URL: "gen://color?c=red"},
		ingest.SourceConfig{Name: "cam2", URL: "gen://color?c=blue", TallyIndex: 1},
		ingest.SourceConfig{Name: "cam3", URL: "gen://color?c=green"})
	a, logs := startApp(t, cfg)
	const shared = "display 1 is shared by cam1 (its position, no tally_index) and cam2 (tally_index 1): a receiver shows only one of them; give each a tally_index of its own"
	var st tally.Status
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	require.Equal(t, []string{shared}, st.Warnings)
	waitFor(t, 10*time.Second, "the warning in the log", func() bool { return strings.Contains(logs.String(), "cam2 (tally_index 1)") })
	require.Contains(t, logs.String(), "two sources share a display index")

	mustAPI(t, "PATCH", a.apiURL("/sources/cam2"), `{"tally_index":5}`, nil)
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	require.Empty(t, st.Warnings)
	require.NotNil(t, st.Warnings, "[] not null")

	mustAPI(t, "POST", a.apiURL("/sources"), `{"name":"cam4","url":"gen://color?c=white","tally_index":3}`, nil)
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	require.Equal(t, []string{"display 3 is shared by cam3 (its position, no tally_index) and cam4 (tally_index 3): a receiver shows only one of them; give each a tally_index of its own"}, st.Warnings)
	// positions move when a source goes: cam3 is second now
	require.Equal(t, http.StatusNoContent, api(t, "DELETE", a.apiURL("/sources/cam1"), "", nil))
	mustAPI(t, "GET", a.apiURL("/tally"), "", &st)
	require.Empty(t, st.Warnings)
}
