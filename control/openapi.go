package control

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"switchyard/ingest/replay"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"switchyard/ingest"
	"switchyard/internal/macro"
	"switchyard/internal/protocols/srt"
	"switchyard/media"
	"switchyard/mixer/audio"
	"switchyard/mixer/bus"
	"switchyard/mixer/keyer"
	"switchyard/output/push"
	"switchyard/output/record"
	"switchyard/output/tally"
)

// The OpenAPI 3.1 description of the API, served at /api/v1/openapi.json.
// Request and response schemas are made from the Go types the handlers
// really decode and encode, so they cannot drift from the code; a test
// compares the documented operations with Gin's routes.

// operation documents one route.
type operation struct {
	method, path, summary string
	body                  any      // request body type, or nil
	status                int      // success status
	resp                  any      // response body type, nil for none
	binary                string   // the response's media type when it is not JSON
	bodyBinary            []string // the request body's media types, when it is not JSON
	role                  Role     // what a token needs to use it (x-switchyard-role)
}

type busBody struct {
	Source string `json:"source"`
}

type positionBody struct {
	Position float64 `json:"position"`
}

type recordingBody struct {
	Program bool `json:"program"`
	// ISO is true, false or a list of source names.
	ISO any `json:"iso"`
}

type healthBody struct {
	OK bool `json:"ok"`
}

var operations = []operation{
	{method: "GET", path: "/healthz", summary: "Liveness: the process answers", status: 200, resp: healthBody{}, role: RolePublic},
	{method: "GET", path: "/readyz", summary: "Readiness: listeners bound, the program clock running, not draining; 503 with the reason otherwise", status: 200, resp: Readiness{}, role: RolePublic},
	{method: "GET", path: "/metrics", summary: "Prometheus metrics (text exposition format)", status: 200, binary: "text/plain", role: RolePublic},
	{method: "GET", path: "/", summary: "The control panel", status: 200, binary: "text/html", role: RolePublic},
	{method: "GET", path: "/panel/{file}", summary: "The panel's script and style", status: 200, binary: "text/javascript", role: RolePublic},
	{method: "GET", path: "/hls/{path}", summary: "The LL-HLS origin (not the API): /hls/program/index.m3u8, /hls/preview/index.m3u8, /hls/live/{source}/index.m3u8 (hls.sources), their playlists, parts and segments; the read key as ?key=; CORS for any origin (docs/hls.md)", status: 200, binary: "application/vnd.apple.mpegurl", role: RolePublic},
	{method: "HEAD", path: "/hls/{path}", summary: "The LL-HLS origin's headers", status: 200, binary: "application/vnd.apple.mpegurl", role: RolePublic},
	{method: "OPTIONS", path: "/hls/{path}", summary: "CORS preflight of the LL-HLS origin", status: 204, role: RolePublic},
	{method: "GET", path: "/watch", summary: "A page that plays the program's LL-HLS with hls.js (the read key as ?key=)", status: 200, binary: "text/html", role: RolePublic},
	{method: "GET", path: "/multiview.mjpeg", summary: "The monitor wall as Motion JPEG: preview, program, every source with tally and meters", status: 200, binary: "multipart/x-mixed-replace", role: RoleViewer},
	{method: "POST", path: "/api/v1/session", summary: "Log in: a token in, an HttpOnly session cookie out (the panel's login)", body: sessionBody{}, status: 200, resp: Who{}, role: RolePublic},
	{method: "GET", path: "/api/v1/session", summary: "Who the caller is: the token's name and role", status: 200, resp: Who{}, role: RoleViewer},
	{method: "DELETE", path: "/api/v1/session", summary: "Log out: the session ends and its cookie is cleared", status: 204, role: RolePublic},
	{method: "GET", path: "/api/v1/openapi.json", summary: "This description", status: 200, binary: "application/json", role: RoleViewer},
	{method: "GET", path: "/api/v1/state", summary: "The whole show: buses, sources, outputs, mixer counters, format", status: 200, resp: State{}, role: RoleViewer},
	{method: "GET", path: "/api/v1/events", summary: "Server-Sent Events: state first, then every change; resumes from Last-Event-ID", status: 200, binary: "text/event-stream", role: RoleViewer},
	{method: "GET", path: "/api/v1/sources", summary: "Every source with its status", status: 200, resp: []ingest.Status{}, role: RoleViewer},
	{method: "POST", path: "/api/v1/sources", summary: "Add a source (pushed, pulled rtsp://, rtmp:// or srt://, or gen://); a pulled SRT source's status has its link (srt)", body: sourceRequest{}, status: 201, resp: ingest.Status{}, role: RoleAdmin},
	{method: "GET", path: "/api/v1/sources/{name}", summary: "One source's status", status: 200, resp: ingest.Status{}, role: RoleViewer},
	{method: "PATCH", path: "/api/v1/sources/{name}", summary: "Change a source's URL, key, takeover, transport or jitter buffer", body: sourceRequest{}, status: 200, resp: ingest.Status{}, role: RoleAdmin},
	{method: "DELETE", path: "/api/v1/sources/{name}", summary: "Remove a source; a bus showing it goes to black", status: 204, role: RoleAdmin},
	{method: "GET", path: "/api/v1/sources/{name}/snapshot.jpg", summary: "The latest decoded picture (?width= up to 1920)", status: 200, binary: "image/jpeg", role: RoleViewer},
	{method: "POST", path: "/api/v1/sources/{name}/player", summary: "A clip source's transport: play, pause, stop (back to the top) or seek (position_s); the status's player shows state, file, position, duration, remaining", body: playerBody{}, status: 200, resp: ingest.Status{}, role: RoleDirector},
	{method: "GET", path: "/api/v1/clips", summary: "The clips in data_dir/clips: size, duration, codecs, or why the show cannot play one", status: 200, resp: []ingest.ClipInfo{}, role: RoleViewer},
	{method: "PUT", path: "/api/v1/clips/{file}", summary: "Upload a clip (the raw body, up to clips.max_upload_mb): probed (its first picture decoded: any codec the FFmpeg build decodes), refused with 400 when FFmpeg cannot read or decode it", bodyBinary: []string{"video/mp4", "video/quicktime", "video/x-matroska", "video/webm", "application/octet-stream"}, status: 201, resp: ingest.ClipInfo{}, role: RoleAdmin},
	{method: "DELETE", path: "/api/v1/clips/{file}", summary: "Remove a clip; a player playing it goes on to its end and holds its last picture", status: 204, role: RoleAdmin},
	{method: "POST", path: "/api/v1/program", summary: "Hot cut a source (or black) to program on the next frame", body: busBody{}, status: 200, resp: bus.State{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/preview", summary: "Select the next source", body: busBody{}, status: 200, resp: bus.State{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/cut", summary: "Swap preview and program on the next frame", status: 200, resp: bus.State{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/auto", summary: "Transition preview to program (body optional: the default transition)", body: bus.Transition{}, status: 200, resp: bus.State{}, role: RoleDirector},
	{method: "PUT", path: "/api/v1/transition", summary: "Set the default transition", body: bus.Transition{}, status: 200, resp: bus.State{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/transition/position", summary: "T-bar position 0..1; 1 finishes the transition", body: positionBody{}, status: 200, resp: bus.State{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/ftb", summary: "Fade program video and audio to black, or back", status: 200, resp: bus.State{}, role: RoleDirector},
	{method: "GET", path: "/api/v1/audio", summary: "Every audio control: master and per-source gain, mute, mode", status: 200, resp: audio.State{}, role: RoleViewer},
	{method: "PATCH", path: "/api/v1/audio/master", summary: "Master gain (dB) and mute", body: audio.Patch{}, status: 200, resp: audio.Settings{}, role: RoleAudio},
	{method: "PATCH", path: "/api/v1/audio/{source}", summary: "A source's gain (dB), mute and mode (afv, on, off)", body: audio.Patch{}, status: 200, resp: audio.Settings{}, role: RoleAudio},
	{method: "GET", path: "/api/v1/keyers", summary: "Every keyer in drawing order (z, then id)", status: 200, resp: []keyer.Status{}, role: RoleViewer},
	{method: "POST", path: "/api/v1/keyers", summary: "Add a keyer: image, text, lowerthird, clock or pip, with rect, z, opacity, fade_ms", body: keyer.Spec{}, status: 201, resp: keyer.Status{}, role: RoleDirector},
	{method: "GET", path: "/api/v1/keyers/{id}", summary: "One keyer", status: 200, resp: keyer.Status{}, role: RoleViewer},
	{method: "PATCH", path: "/api/v1/keyers/{id}", summary: "Change a keyer (any field but id and type)", body: keyer.Spec{}, status: 200, resp: keyer.Status{}, role: RoleDirector},
	{method: "DELETE", path: "/api/v1/keyers/{id}", summary: "Remove a keyer at once", status: 204, role: RoleDirector},
	{method: "POST", path: "/api/v1/keyers/{id}/on", summary: "Fade a keyer on over its fade_ms (restarts a timer clock)", status: 200, resp: keyer.Status{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/keyers/{id}/off", summary: "Fade a keyer off over its fade_ms", status: 200, resp: keyer.Status{}, role: RoleDirector},
	{method: "PUT", path: "/api/v1/keyers/{id}/image", summary: "Upload a PNG or JPEG (the raw body, up to 32 MiB) for an image keyer", bodyBinary: []string{"image/png", "image/jpeg"}, status: 200, resp: keyer.Status{}, role: RoleDirector},
	{method: "GET", path: "/api/v1/outputs", summary: "Every destination with its state", status: 200, resp: []push.Status{}, role: RoleViewer},
	{method: "POST", path: "/api/v1/outputs", summary: "Add an RTMP/RTMPS or SRT (srt://, MPEG-TS, caller) destination; an SRT one's status has its link (srt) while live", body: outputRequest{}, status: 201, resp: push.Status{}, role: RoleAdmin},
	{method: "GET", path: "/api/v1/outputs/{name}", summary: "One destination's state", status: 200, resp: push.Status{}, role: RoleViewer},
	{method: "PATCH", path: "/api/v1/outputs/{name}", summary: "Change a destination", body: outputRequest{}, status: 200, resp: push.Status{}, role: RoleAdmin},
	{method: "DELETE", path: "/api/v1/outputs/{name}", summary: "Remove a destination", status: 204, role: RoleAdmin},
	{method: "POST", path: "/api/v1/outputs/{name}/start", summary: "Enable a destination", status: 200, resp: push.Status{}, role: RoleAdmin},
	{method: "POST", path: "/api/v1/outputs/{name}/stop", summary: "Disable a destination", status: 200, resp: push.Status{}, role: RoleAdmin},
	{method: "GET", path: "/api/v1/srt/connections", summary: "The SRT listener's publishers and readers: remote address, stream id (key masked), direction, path, since, and the link (RTT, rates, packets lost, retransmitted, dropped); 404 when SRT is off", status: 200, resp: []srt.Connection{}, role: RoleViewer},
	{method: "POST", path: "/api/v1/recording/start", summary: "Start recording the program and/or ISO sources (body optional)", body: recordingBody{}, status: 201, resp: record.Info{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/recording/stop", summary: "Stop the recording", status: 200, resp: record.Info{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/recording/markers", summary: "A marker at the current program frame (EDL, OTIO, FCP XML, session.json, program.mp4 chapters)", body: markerRequest{}, status: 201, resp: record.Marker{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/replay/mark-in", summary: "Mark in on a source (body optional: {source}; none: the program's source now) at its newest frame; clears the mark-out", body: markRequest{}, status: 200, resp: replay.Mark{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/replay/mark-out", summary: "Mark out on the mark-in's source at its newest frame", body: markRequest{}, status: 200, resp: replay.Mark{}, role: RoleDirector},
	{method: "POST", path: "/api/v1/replay", summary: "Play a replay on the replay source: from_s/to_s seconds before now (or the marks), speed 0.25, 0.5, 0.75 or 1 (muted below 1), slow repeat or blend (default replay.slow); replaces one playing; saved as clips/replay-<time>-<source>.mp4. 400: a range older than the buffer, a speed not in the set; 404: unknown source; 409: offline source; 503: replay off", body: replay.Request{}, status: 201, resp: replay.Info{}, role: RoleDirector},
	{method: "GET", path: "/api/v1/replays", summary: "The replays of this run, newest first, with their saved files", status: 200, resp: []replay.Info{}, role: RoleViewer},
	{method: "GET", path: "/api/v1/recordings", summary: "Recording sessions with their files", status: 200, resp: []record.Info{}, role: RoleViewer},
	{method: "GET", path: "/api/v1/recordings/{session}/{file}", summary: "Download a file (Range supported)", status: 200, binary: "application/octet-stream", role: RoleViewer},
	{method: "DELETE", path: "/api/v1/recordings/{session}", summary: "Delete a stopped session", status: 204, role: RoleAdmin},
	{method: "GET", path: "/api/v1/tally", summary: "The tally: each source's lamp (program red, preview green) and the TSL UMD destinations with their state", status: 200, resp: tally.Status{}, role: RoleViewer},
	{method: "POST", path: "/api/v1/tally/destinations", summary: "Add a TSL UMD tally destination (name, protocol, address, transport, screen, brightness, wrap); it is sent the tally at once. 409: the name is taken, or 64 destinations already", body: tally.Config{}, status: 201, resp: tally.DestinationStatus{}, role: RoleAdmin},
	{method: "PATCH", path: "/api/v1/tally/destinations/{name}", summary: "Change a tally destination (any field but its name); it reconnects with the change", body: tallyPatchRequest{}, status: 200, resp: tally.DestinationStatus{}, role: RoleAdmin},
	{method: "DELETE", path: "/api/v1/tally/destinations/{name}", summary: "Remove a tally destination: nothing more is sent to it", status: 204, role: RoleAdmin},
	{method: "GET", path: "/tally/{source}", summary: "The web tally page: full screen red, green or dark for a phone on a camera (404 page for an unknown source)", status: 200, binary: "text/html", role: RolePublic},
	{method: "OPTIONS", path: "/whip/{source}", summary: "CORS preflight of WHIP (any origin may publish: the credential is the publish key)", status: 204, role: RolePublic},
	{method: "POST", path: "/whip/{source}", summary: "WHIP (RFC 9725, not the API): an SDP offer with H.264 and Opus in, Authorization: Bearer PUBLISH_KEY; 201 with the SDP answer (every server candidate) and Location /whip/{source}/{id}; 400 bad SDP or VP8-only video, 403 wrong key, 404 unknown source, 409 busy (docs/webrtc.md)", bodyBinary: []string{"application/sdp"}, status: 201, binary: "application/sdp", role: RolePublic},
	{method: "OPTIONS", path: "/whip/{source}/{id}", summary: "CORS preflight of a WHIP session", status: 204, role: RolePublic},
	{method: "PATCH", path: "/whip/{source}/{id}", summary: "Trickle ICE and ICE restarts are not taken: always 405 (gather every candidate before the offer)", status: 405, role: RolePublic},
	{method: "DELETE", path: "/whip/{source}/{id}", summary: "End a WHIP session: the source goes offline", status: 200, role: RolePublic},
	{method: "OPTIONS", path: "/whep/{source}", summary: "CORS preflight of WHEP", status: 204, role: RolePublic},
	{method: "POST", path: "/whep/{source}", summary: "WHEP (not the API): watch program, preview or a source in real time; an SDP offer (recvonly H.264 and Opus), Authorization: Bearer READ_KEY where one is set; 201 with the answer and Location /whep/{source}/{id}. H.264 as encoded (an H.265 source in H.265, to a viewer that offers it; 400 to one that does not), the sound as Opus (transcoded once per stream for every viewer)", bodyBinary: []string{"application/sdp"}, status: 201, binary: "application/sdp", role: RolePublic},
	{method: "OPTIONS", path: "/whep/{source}/{id}", summary: "CORS preflight of a WHEP session", status: 204, role: RolePublic},
	{method: "PATCH", path: "/whep/{source}/{id}", summary: "Trickle ICE and ICE restarts are not taken: always 405", status: 405, role: RolePublic},
	{method: "DELETE", path: "/whep/{source}/{id}", summary: "End a WHEP session", status: 200, role: RolePublic},
	{method: "GET", path: "/guest/{source}/tally", summary: "The guest page's tally light: an event stream of the source's own lamp (\"tally\" events), opened with the source's publish key (?key= or a bearer) on a show with tokens; a wrong key is throttled like a wrong token", status: 200, binary: "text/event-stream", role: RolePublic},
	{method: "GET", path: "/guest/{source}", summary: "The guest page: pick camera and microphone, self-view, tally light, join over WHIP (?key=PUBLISH_KEY, &autostart=1 joins at once)", status: 200, binary: "text/html", role: RolePublic},
	{method: "GET", path: "/api/v1/macros", summary: "Every macro with its steps, and whether it is running", status: 200, resp: []MacroStatus{}, role: RoleViewer},
	{method: "POST", path: "/api/v1/macros", summary: "Create a macro (201) or replace the one of its name (200): API steps under /api/v1 with waits, checked against these routes", body: macro.Macro{}, status: 201, resp: MacroStatus{}, role: RoleDirector},
	{method: "DELETE", path: "/api/v1/macros/{name}", summary: "Remove a macro (a run under way goes on)", status: 204, role: RoleDirector},
	{method: "POST", path: "/api/v1/macros/{name}/run", summary: "Start a run (202); its progress and end are \"macro\" events. Each step needs the caller's role; one run of a macro at a time (409)", status: 202, resp: MacroRun{}, role: RoleDirector},
}

var (
	specOnce sync.Once
	specJSON []byte
)

// routeRoles is the role each route needs, and bodyTypes the request body
// types a route takes when not JSON, by "METHOD /path/{param}": one table,
// the operations, feeds the checks and the description.
var routeRoles, bodyTypes = func() (map[string]Role, map[string][]string) {
	roles, types := map[string]Role{}, map[string][]string{}
	for _, op := range operations {
		roles[op.method+" "+op.path] = op.role
		if op.bodyBinary != nil {
			types[op.method+" "+op.path] = op.bodyBinary
		}
	}
	return roles, types
}()

var ginParam = regexp.MustCompile(`[:*]([a-z]+)`)

// routeKey is a request's route as the operations name it: "GET /api/v1/sources/{name}".
func routeKey(c *gin.Context) string {
	return c.Request.Method + " " + ginParam.ReplaceAllString(c.FullPath(), "{$1}")
}

func (s *Server) openAPI(c *gin.Context) {
	specOnce.Do(func() { specJSON, _ = json.MarshalIndent(openAPISpec(), "", "  ") })
	c.Data(http.StatusOK, "application/json", specJSON)
}

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

func openAPISpec() map[string]any {
	schemas := map[string]any{"Error": map[string]any{"type": "object", "required": []string{"error"},
		"properties": map[string]any{"error": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"}}}}
	paths := map[string]any{}
	for _, op := range operations {
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		o := map[string]any{"summary": op.summary, "operationId": operationID(op)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.bodyBinary != nil {
			content := map[string]any{}
			for _, t := range op.bodyBinary {
				content[t] = map[string]any{}
			}
			o["requestBody"] = map[string]any{"content": content}
		}
		if op.body != nil {
			o["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(op.body), schemas)}}}
		}
		ok := map[string]any{"description": http.StatusText(op.status)}
		switch {
		case op.binary != "":
			ok["content"] = map[string]any{op.binary: map[string]any{}}
		case op.resp != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(op.resp), schemas)}}
		}
		errRef := map[string]any{"description": "an error with a sentence saying what to do",
			"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		o["responses"] = map[string]any{itoa(op.status): ok, "4XX": errRef, "5XX": errRef}
		o["x-switchyard-role"] = op.role
		if op.role != RolePublic { // with no token set, the API is open: {} says so
			sec := []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}}
			if queryTokenRoutes[op.method+" "+op.path] {
				sec = append(sec, map[string]any{"query": []any{}})
			}
			o["security"] = append(sec, map[string]any{})
		}
		item[strings.ToLower(op.method)] = o
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Switchyard", "version": "1",
			"description": "Headless live production switcher: sources, buses, transitions, recording and distribution."},
		"paths": paths,
		"components": map[string]any{"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "a token of http.tokens (or http.token, an admin one); each route states the role it needs as x-switchyard-role"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie,
					"description": "the panel's session, set by POST /api/v1/session"},
				"query": map[string]any{"type": "apiKey", "in": "query", "name": "token",
					"description": "only on /multiview.mjpeg and snapshots, which an <img> loads"}}},
	}
}

func operationID(op operation) string {
	p := pathParam.ReplaceAllString(strings.TrimPrefix(op.path, "/api/v1"), "by-$1")
	p = strings.NewReplacer("/", "-", ".", "-").Replace(strings.Trim(p, "/"))
	return strings.ToLower(op.method) + "-" + p
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

var (
	timeType    = reflect.TypeOf(time.Time{})
	bitrateType = reflect.TypeFor[media.Bitrate]()
	jitterType  = reflect.TypeFor[ingest.JitterMS]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

// schemaOf makes a JSON Schema from a Go type as encoding/json sees it;
// named structs go to components and are referenced.
func schemaOf(t reflect.Type, schemas map[string]any) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == bitrateType:
		return map[string]any{"description": `bits per second: a number (2500000) or a string with k or M ("2500k", "2.5M")`,
			"oneOf": []any{map[string]any{"type": "integer", "minimum": 0},
				map[string]any{"type": "string", "pattern": `^[0-9]+(\.[0-9]+)?[kKmM]?$`}}}
	case t == jitterType:
		return map[string]any{"description": `milliseconds (0: the program's), or "auto": an adaptive buffer following the source's measured lateness`,
			"oneOf": []any{map[string]any{"type": "integer", "minimum": 0, "maximum": ingest.MaxJitterBufferMS},
				map[string]any{"type": "string", "enum": []any{"auto"}}}}
	case t == rawJSONType:
		return map[string]any{"description": "any JSON value"}
	case t.Kind() == reflect.Pointer:
		return schemaOf(t.Elem(), schemas)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), schemas)}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), schemas)}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		if t == reflect.TypeOf(time.Duration(0)) {
			return map[string]any{"type": "integer", "description": "nanoseconds"}
		}
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Interface:
		return map[string]any{}
	case t.Kind() != reflect.Struct:
		return map[string]any{}
	}
	name := t.Name()
	if name != "" {
		// ingest.Status → IngestStatus: unique across packages
		pkg := t.PkgPath()
		pkg = pkg[strings.LastIndex(pkg, "/")+1:]
		name = capitalize(pkg) + capitalize(name)
		if _, ok := schemas[name]; ok {
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		schemas[name] = map[string]any{} // a placeholder stops recursion
	}
	props := map[string]any{}
	addFields(t, props, schemas)
	// the server decodes bodies strictly: a field it does not know is refused
	obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if name == "" {
		return obj
	}
	schemas[name] = obj
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func addFields(t reflect.Type, props map[string]any, schemas map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, props, schemas)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type, schemas)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
