package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/ingest"
	"switchyard/mixer/bus"
	"switchyard/output/push"
)

// Event is one message of the event stream.
type Event struct {
	ID   uint64
	Type string
	Data []byte
}

// hub keeps the recent events (so a client that reconnects with its last
// event id misses nothing) and fans new ones out to subscribers without
// blocking. A subscriber that falls behind is disconnected; it reconnects and
// resumes from its last id.
type hub struct {
	mu       sync.Mutex
	ring     []Event // the most recent events, oldest first
	size     int     // at most this many events kept
	maxBytes int     // and at most this many bytes of them
	bytes    int
	lastID   uint64
	subs     map[*subscriber]struct{}
}

// historyBytes bounds the events kept for clients that reconnect: a busy
// show's history stays a fixed cost (a client that was away longer gets the
// full state, as it does past size events).
const historyBytes = 256 << 10

type subscriber struct {
	ch chan Event
}

func newHub(size, maxBytes int) *hub {
	return &hub{size: size, maxBytes: maxBytes, subs: map[*subscriber]struct{}{}}
}

// publish records an event and hands it to every subscriber.
func (h *hub) publish(typ string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastID++
	ev := Event{ID: h.lastID, Type: typ, Data: data}
	h.ring = append(h.ring, ev)
	h.bytes += len(data)
	for len(h.ring) > h.size || (h.bytes > h.maxBytes && len(h.ring) > 1) {
		// forget the oldest (its data goes with it; append moves the
		// rest to a new array when this one is used up)
		h.bytes -= len(h.ring[0].Data)
		h.ring[0] = Event{}
		h.ring = h.ring[1:]
	}
	for s := range h.subs {
		select {
		case s.ch <- ev:
		default:
			close(s.ch)
			delete(h.subs, s)
		}
	}
}

// subscribe registers a subscriber. When resume is set and every event after
// lastID is still in the ring, they are returned as replay; otherwise full
// is true and the caller sends a full state first, which stands for the
// events up to snapshotID.
// broadcast sends an event that is not kept for replay and has no id (meter
// levels ten times a second): a client that reconnects gets fresh ones.
func (h *hub) broadcast(typ string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := Event{Type: typ, Data: data}
	for s := range h.subs {
		select {
		case s.ch <- ev:
		default:
			close(s.ch)
			delete(h.subs, s)
		}
	}
}

func (h *hub) subscribe(lastID uint64, resume bool) (replay []Event, full bool, snapshotID uint64, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s = &subscriber{ch: make(chan Event, 256)}
	h.subs[s] = struct{}{}
	oldest := h.lastID + 1
	if len(h.ring) > 0 {
		oldest = h.ring[0].ID
	}
	if resume && lastID <= h.lastID && lastID+1 >= oldest {
		for _, ev := range h.ring {
			if ev.ID > lastID {
				replay = append(replay, ev)
			}
		}
		return replay, false, 0, s
	}
	return nil, true, h.lastID, s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// watcher publishes the changes the API did not make itself (a camera
// going live, an output reconnecting, a recording stopping on its own): the
// registry, the outputs and the recorder tell it which of theirs changed
// (their OnChange), and it publishes that one's event at once, unless it
// says what the last one said. Bus changes made through the API are
// published by the API's call; the buses' own moves (an automatic
// transition's progress and end) when the mixer signals them (BusesMoved).
type watcher struct {
	s       *Server
	mu      sync.Mutex
	buses   bus.State
	sources map[string]sourceEvent
	outputs map[string]outputEvent
	rec     recordingEvent
}

// recordingEvent is the recording state for the event stream.
type recordingEvent struct {
	Active bool   `json:"active"`
	ID     string `json:"id,omitempty"`
	State  string `json:"state,omitempty"`
}

// sourceEvent is what a client needs to know of a source's change; bitrate
// and uptime move all the time and are left to polling the API or metrics.
type sourceEvent struct {
	Name     string              `json:"name"`
	State    ingest.State        `json:"state"`
	Protocol string              `json:"protocol,omitempty"`
	Video    *ingest.VideoStatus `json:"video,omitempty"`
	Audio    *ingest.AudioStatus `json:"audio,omitempty"`
	Warning  string              `json:"warning,omitempty"`
	// JitterBufferMS: the buffer in use (its own or the program's)
	JitterBufferMS int `json:"jitter_buffer_ms"`
	// Player: a clip source's transport, at each change of its state
	Player any `json:"player,omitempty"`
}

// playerSame says whether two players' states say the same (the position
// moves all the time: it is not a change).
func playerSame(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var ma, mb map[string]any
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	for _, m := range []map[string]any{ma, mb} {
		delete(m, "position_s")
		delete(m, "remaining_s")
	}
	return reflect.DeepEqual(ma, mb)
}

type outputEvent struct {
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	Enabled     bool       `json:"enabled"`
	State       push.State `json:"state"`
	Attempt     int        `json:"attempt,omitempty"`
	NextTryAt   *time.Time `json:"next_try_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Reconnects  uint64     `json:"reconnects"`
}

// same says whether two events of a source say the same.
func (e sourceEvent) same(o sourceEvent) bool {
	return e.Name == o.Name && e.State == o.State && e.Protocol == o.Protocol && e.Warning == o.Warning &&
		e.JitterBufferMS == o.JitterBufferMS && samePtr(e.Video, o.Video) && samePtr(e.Audio, o.Audio) && playerSame(e.Player, o.Player)
}

// same says whether two events of an output say the same.
func (e outputEvent) same(o outputEvent) bool {
	return e.Name == o.Name && e.URL == o.URL && e.Enabled == o.Enabled && e.State == o.State &&
		e.Attempt == o.Attempt && e.LastError == o.LastError && e.Reconnects == o.Reconnects &&
		sameTime(e.NextTryAt, o.NextTryAt) && sameTime(e.LastErrorAt, o.LastErrorAt)
}

func samePtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

func sourceEventOf(st ingest.Status) sourceEvent {
	if st.Video != nil && st.Video.KeyframeIntervalS != 0 { // measured, it moves: left to polling
		v := *st.Video
		v.KeyframeIntervalS = 0
		st.Video = &v
	}
	return sourceEvent{Name: st.Name, State: st.State, Protocol: st.Protocol, Video: st.Video, Audio: st.Audio,
		Warning: noBehindMs.ReplaceAllString(noSeconds.ReplaceAllString(st.Warning, ""), "behind"), JitterBufferMS: st.JitterBufferMS, Player: st.Player}
}

// noSeconds and noBehindMs take the running figures out of a warning (how
// long without a key frame, how far a decoder is behind off air), so it is
// one event while it lasts.
var (
	noSeconds  = regexp.MustCompile(` for [0-9]+ s`)
	noBehindMs = regexp.MustCompile(`[0-9]+ ms behind`)
)

func outputEventOf(o push.Status) outputEvent {
	return outputEvent{Name: o.Name, URL: o.URL, Enabled: o.Enabled, State: o.State, Attempt: o.Attempt,
		NextTryAt: o.NextTryAt, LastError: o.LastError, LastErrorAt: o.LastErrorAt, Reconnects: o.Reconnects}
}

// busesChanged publishes the buses if they differ from the last published.
//
// It publishes the buses as they are now, read under the watcher's lock:
// a state read before the lock could be older than one another caller
// published meanwhile (a scan's read, then a cut's event, then the scan's
// stale state after it would leave every client showing the bus before
// the cut).
func (w *watcher) busesChanged() {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.s.Mixer.State()
	if st.Program == w.buses.Program && st.Preview == w.buses.Preview && st.FTB == w.buses.FTB &&
		st.Transition == w.buses.Transition {
		return
	}
	w.buses = st
	w.s.events.publish("buses", st)
}

// listen subscribes to the owners' changes and publishes what they are
// now, as the events of a change would.
func (w *watcher) listen() {
	w.s.Registry.OnChange(w.sourceChanged)
	if w.s.Outputs != nil {
		w.s.Outputs.OnChange(w.outputChanged)
	}
	if w.s.Recorder != nil {
		w.s.Recorder.OnChange(w.recordingChanged)
	}
	w.busesChanged()
	for _, src := range w.s.Registry.List() {
		w.sourceChanged(src.Name())
	}
	if w.s.Outputs != nil {
		for _, o := range w.s.Outputs.List() {
			w.outputChanged(o.Name)
		}
	}
	w.recordingChanged()
}

// sourceChanged publishes a source's event, or "source_removed".
func (w *watcher) sourceChanged(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	src, ok := w.s.Registry.Get(name)
	if !ok {
		if _, known := w.sources[name]; known {
			delete(w.sources, name)
			w.s.events.publish("source_removed", map[string]string{"name": name})
		}
		return
	}
	last, known := w.sources[name]
	if !known && w.s.Mixer.SourceStats(name).JitterBuffer == 0 {
		// the registry tells of a new source before the mixer has its input
		// (internal/show adds it there next): its first event waits for
		// the mixer's view, which the add publishes (addSource, or the
		// source's next change), so no client sees it with no buffer
		return
	}
	ev := sourceEventOf(w.s.sourceStatus(src))
	if known && last.same(ev) {
		return
	}
	w.sources[name] = ev
	w.s.events.publish("source", ev)
}

// outputChanged publishes an output's event, or "output_removed".
func (w *watcher) outputChanged(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, err := w.s.Outputs.Get(name)
	if err != nil {
		if _, known := w.outputs[name]; known {
			delete(w.outputs, name)
			w.s.events.publish("output_removed", map[string]string{"name": name})
		}
		return
	}
	ev := outputEventOf(o)
	if last, known := w.outputs[name]; known && last.same(ev) {
		return
	}
	w.outputs[name] = ev
	w.s.events.publish("output", ev)
}

// recordingChanged publishes the recording's state: the session running,
// or how the last one stopped.
func (w *watcher) recordingChanged() {
	if w.s.Recorder == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var ev recordingEvent
	if in, ok := w.s.Recorder.Active(); ok {
		ev = recordingEvent{Active: true, ID: in.ID, State: in.State}
	} else if w.rec.Active { // it stopped: say how
		ev = recordingEvent{ID: w.rec.ID, State: "stopped"}
		if list, err := w.s.Recorder.List(); err == nil {
			for _, in := range list {
				if in.ID == w.rec.ID {
					ev.State = in.State
				}
			}
		}
	}
	if ev != w.rec && (ev.Active || w.rec.Active) {
		w.rec = ev
		w.s.events.publish("recording", ev)
	}
}

func (w *watcher) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	moved := w.s.Mixer.BusesMoved()
	ticks, linked := 0, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-moved: // the mixer's own moves; commands publish theirs
			w.busesChanged()
		case <-t.C:
			w.s.events.broadcast("levels", w.s.Mixer.TakeLevels())
			if ticks++; ticks%10 == 0 { // once a second, and once more when the last has gone
				if l := w.s.links(); l.any() || linked {
					w.s.events.broadcast("links", l)
					linked = l.any()
				}
				// what of a source's status is the mixer's (its jitter
				// buffer, a decoder behind off air) changes without the
				// registry's news: published when it does
				for _, src := range w.s.Registry.List() {
					w.sourceChanged(src.Name())
				}
			}
		}
	}
}

// getEvents streams Server-Sent Events: a full "state" first (or, for a
// client resuming with Last-Event-ID, the events it missed), then every change.
func (s *Server) getEvents(c *gin.Context) {
	if !s.limits.events.acquire() {
		refuseBusy(c, "event_clients", fmt.Sprintf("%d event-stream clients are connected, the most this server serves; close one (a panel tab) or retry later",
			MaxEventClients))
		return
	}
	defer s.limits.events.release()
	idText := c.GetHeader("Last-Event-ID")
	if idText == "" {
		idText = c.Query("last_event_id")
	}
	lastID, err := strconv.ParseUint(idText, 10, 64)
	replay, full, snapID, sub := s.events.subscribe(lastID, idText != "" && err == nil)
	defer s.events.unsubscribe(sub)

	sw := s.openEventStream(c)
	format := func(ev Event) []byte {
		if ev.ID == 0 { // not kept for replay: no id, so the client's last id stands
			return fmt.Appendf(nil, "event: %s\ndata: %s\n\n", ev.Type, ev.Data)
		}
		return fmt.Appendf(nil, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, ev.Data)
	}
	first := [][]byte{[]byte("retry: 1000\n\n")}
	if full {
		data, err := json.Marshal(s.state())
		if err != nil {
			return
		}
		first = append(first, format(Event{ID: snapID, Type: "state", Data: data}))
	}
	for _, ev := range replay {
		first = append(first, format(ev))
	}
	if sw.write(first...) != nil {
		return
	}
	s.pump(c, sw, sub, func(ev Event) error {
		if full && ev.ID != 0 && ev.ID <= snapID {
			return nil
		}
		return sw.write(format(ev))
	})
}

// pump hands sub's events to each, which writes what the stream tells of
// them (an error ends the stream), until the client leaves, the server
// closes (Server.Close cancels s.ctx: Shutdown does not wait for event
// streams), or the subscriber falls behind and is dropped (the client
// reconnects, with its last id where the stream gives ids). A comment line
// every 15 s keeps proxies from closing a quiet stream.
func (s *Server) pump(c *gin.Context, sw *streamWriter, sub *subscriber, each func(Event) error) {
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case ev, ok := <-sub.ch:
			if !ok || each(ev) != nil {
				return
			}
		case <-keepAlive.C:
			if sw.write([]byte(": keep-alive\n\n")) != nil {
				return
			}
		case <-c.Request.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// openEventStream answers c with an event stream (no caching, no proxy
// buffering) and returns its writer.
func (s *Server) openEventStream(c *gin.Context) *streamWriter {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Writer.WriteHeader(http.StatusOK)
	return newStreamWriter(c, s.WriteTimeout)
}
