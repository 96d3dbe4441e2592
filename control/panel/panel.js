// Switchyard's panel: state arrives on the event stream (no polling), and
// every control is a call to the REST API. When the server has tokens, the
// panel logs in once (POST /api/v1/session) and the server keeps it in an
// HttpOnly cookie: no script can read it, and the event stream and the
// multiview <img>, which cannot send headers, carry it too. Every change is
// sent as JSON: the server refuses other body types, which is what keeps
// pages of other sites from driving the show.

const $ = (id) => document.getElementById(id);
const show = { program: "", preview: "", transition: {}, ftb: false, recording: null, sources: new Map(), outputs: new Map(), files: [], keyers: [], macros: [],
  audio: { master: { gain_db: 0, mute: false }, sources: {} } };
let events = null;
// who is logged in: { name, role, open }; the controls follow the role
let who = { name: "", role: "viewer" };

// can reports whether the role may use controls that need `need`: admin
// everything, director and audio their own, every role what a viewer may.
function can(need) {
  return who.role === "admin" || need === "viewer" || who.role === need;
}

// allow hides a control the role may not use.
function allow(el, need) {
  el.hidden = !can(need);
  return el;
}

function applyRole() {
  for (const el of document.querySelectorAll("[data-needs]")) allow(el, el.dataset.needs);
  $("strips").replaceChildren(); // drawn again for this role when the state comes
  $("who").textContent = who.open ? "open (no token)" : `${who.name} · ${who.role}`;
  $("logout").hidden = !!who.open;
}

function showError(msg) {
  $("error").textContent = msg || "";
}

async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["Content-Type"] = "application/json"; // every change, body or not
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && !(method === "POST" && path === "/session")) {
    askLogin();
    throw new Error("login needed");
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    showError((data && data.error) || res.statusText);
    throw new Error(res.statusText);
  }
  showError("");
  return data;
}

// askLogin shows the login form: the token goes to POST /api/v1/session,
// which answers with the session cookie.
function askLogin() {
  if (events) events.close();
  events = null;
  $("login").hidden = false;
  $("login-token").focus();
}

async function login(e) {
  e.preventDefault();
  try {
    await api("POST", "/session", { token: $("login-token").value });
  } catch {
    return; // the error shows
  }
  $("login").reset();
  $("login").hidden = true;
  start();
}

async function logout() {
  await api("DELETE", "/session").catch(() => {});
  window.switchyard.ready = false; // until the next login's state
  who = { name: "", role: "viewer" };
  $("multiview").removeAttribute("src");
  askLogin();
}

// --- rendering ---------------------------------------------------------

function sourceNames() {
  return [...show.sources.keys()].sort();
}

function busButtons(rowId, bus, onClick) {
  const row = $(rowId);
  const names = [...sourceNames(), "black"];
  row.replaceChildren(...names.map((name, i) => {
    const b = document.createElement("button");
    b.dataset.source = name;
    b.textContent = name;
    if (i < 9 && name !== "black") {
      const k = document.createElement("small");
      k.textContent = bus === "pgm" ? `⇧${i + 1}` : `${i + 1}`;
      b.append(k);
    }
    if (name === show.program && bus === "pgm") b.classList.add("pgm");
    if (name === show.preview && bus === "pvw") b.classList.add("pvw");
    b.onclick = () => onClick(name);
    return b;
  }));
}

function renderBuses() {
  busButtons("pgm-row", "pgm", (name) => api("POST", "/program", { source: name }).catch(() => {}));
  busButtons("pvw-row", "pvw", (name) => api("POST", "/preview", { source: name }).catch(() => {}));
  $("pgm-name").textContent = show.program;
  $("pvw-name").textContent = show.preview;
  const t = show.transition || {};
  $("auto").classList.toggle("active", !!t.active);
  if (!t.active) $("tbar").value = 0;
  else if (!t.manual) $("tbar").value = Math.round((t.position || 0) * 1000);
  $("ftb").classList.toggle("on", !!show.ftb);
}

function badge(state) {
  const s = document.createElement("span");
  s.className = `badge ${state}`;
  s.textContent = state;
  return s;
}

function cell(content, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.append(content ?? "");
  return td;
}

// a source's jitter buffer in use, to change in place: Enter or leaving the
// field sends it (0: the program's); the API's error shows if it refuses
function bufferField(name, s) {
  const input = Object.assign(document.createElement("input"), {
    type: "number", min: 0, max: 1000, step: 1, value: s.jitter_buffer_ms ?? "",
    ariaLabel: `${name} jitter buffer (ms)`, title: "jitter buffer in ms (0: the program's)",
  });
  input.onchange = () => api("PATCH", `/sources/${encodeURIComponent(name)}`, { jitter_buffer_ms: Number(input.value) })
    .catch(() => {});
  // after the focus has moved: to another source's field, the table still waits
  input.onblur = () => setTimeout(() => { if (sourcesStale) renderSources(); });
  input.disabled = !can("admin");
  const label = document.createElement("label");
  label.append("buffer ", input, " ms");
  return label;
}

// an SRT link in a few words ("SRT 41 ms · 0.2 % lost · 3 dropped"), the
// rest in its title; lost is the share of the data packets sent or
// received (retransmissions included), dropped those given up as too late
function srtLink(l) {
  const span = document.createElement("span");
  if (!l) return span;
  const packets = Math.max(l.packets_received, l.packets_sent);
  const lost = packets ? (100 * l.packets_lost) / packets : 0;
  span.className = l.packets_dropped > 0 ? "srt dropping" : "srt";
  const rtt = l.rtt_ms < 10 ? l.rtt_ms.toFixed(1) : Math.round(l.rtt_ms);
  span.textContent = `SRT ${rtt} ms · ${lost.toFixed(1)} % lost · ${l.packets_dropped} dropped`;
  span.title = `round trip ${l.rtt_ms.toFixed(1)} ms, latency ${l.latency_ms} ms, ` +
    `in ${l.recv_mbps.toFixed(2)} Mb/s, out ${l.send_mbps.toFixed(2)} Mb/s; packets: ${l.packets_received} received, ` +
    `${l.packets_sent} sent, ${l.packets_lost} lost, ${l.packets_retransmitted} retransmitted, ${l.packets_dropped} dropped (too late)`;
  return span;
}

// a source's name with a link to its web tally page (/tally/NAME), for
// the phone or tablet on that camera
function sourceName(name) {
  const span = document.createElement("span");
  const a = Object.assign(document.createElement("a"), {
    href: `/tally/${encodeURIComponent(name)}`, target: "_blank", rel: "noopener",
    className: "tally", textContent: "◉", title: `${name}'s tally page: open it on a phone or tablet on the camera`,
  });
  a.setAttribute("aria-label", `${name} tally page`);
  span.append(name, " ", a);
  return span;
}

// clip sources' players as last told (the source events carry them at
// each change of state), with when: the strip counts down between events
const players = new Map();

function notePlayer(s) {
  if (s.player) players.set(s.name, { ...s.player, at: performance.now() });
  else players.delete(s.name);
}

// a clip source's player strip: play/pause, the position bar, the time
// remaining, red over the last 10 s
function playerStrip(name) {
  const span = document.createElement("span");
  const p = players.get(name);
  if (!p) return span;
  span.className = "player";
  span.dataset.player = name;
  const b = document.createElement("button");
  b.onclick = () => api("POST", `/sources/${encodeURIComponent(name)}/player`, { action: b.textContent }).catch(() => {});
  allow(b, "director");
  const bar = Object.assign(document.createElement("progress"), { max: p.duration_s || 1, value: 0 });
  const left = Object.assign(document.createElement("span"), { className: "remaining" });
  span.append(b, bar, left);
  tickPlayer(span);
  return span;
}

function tickPlayer(span) {
  const p = players.get(span.dataset.player);
  if (!p) return;
  const run = p.state === "playing" ? (performance.now() - p.at) / 1000 : 0;
  const pos = Math.min(p.duration_s, p.position_s + run);
  const rem = Math.max(0, p.duration_s - pos);
  span.querySelector("progress").value = pos;
  const left = span.querySelector(".remaining");
  left.textContent = `-${Math.floor(rem / 60)}:${String(Math.floor(rem % 60)).padStart(2, "0")} ${p.file}`;
  left.classList.toggle("last", rem <= 10 && p.state === "playing");
  span.dataset.state = p.state;
  span.querySelector("button").textContent = p.state === "playing" ? "pause" : "play";
}

setInterval(() => document.querySelectorAll("#sources .player").forEach(tickPlayer), 250);

// set while an operator types in a source's field: the table is drawn
// again when they leave it, not under their hands
let sourcesStale = false;

function renderSources() {
  sourcesStale = document.activeElement?.closest?.("#sources") != null;
  if (sourcesStale) return;
  const rows = sourceNames().map((name) => {
    const s = show.sources.get(name);
    const v = s.video ? `${s.video.codec} ${s.video.width}×${s.video.height} ${s.video.fps}` : "";
    const tr = document.createElement("tr");
    tr.dataset.source = name;
    tr.append(cell(sourceName(name)), cell(badge(s.state)), cell(s.protocol || ""), cell(v), cell(srtLink(s.srt), "link"),
      cell(bufferField(name, s), "buf"), cell(playerStrip(name), "clip"), cell(s.warning || s.last_error || s.player?.error || "", "err"));
    return tr;
  });
  $("sources").tBodies[0].replaceChildren(...rows);
}

function renderOutputs() {
  const rows = [...show.outputs.keys()].sort().map((name) => {
    const o = show.outputs.get(name);
    const b = document.createElement("button");
    b.textContent = o.enabled ? "stop" : "start";
    b.onclick = () => api("POST", `/outputs/${encodeURIComponent(name)}/${o.enabled ? "stop" : "start"}`).catch(() => {});
    allow(b, "admin");
    const tr = document.createElement("tr");
    tr.dataset.output = name;
    tr.append(cell(name), cell(badge(o.state)), cell(b), cell(srtLink(o.srt), "link"), cell(o.last_error || "", "err"));
    return tr;
  });
  $("outputs").tBodies[0].replaceChildren(...rows);
}

// what a keyer shows, in a few words
function keyerLabel(k) {
  switch (k.type) {
    case "lowerthird": return "";
    case "text": return k.text;
    case "pip": return k.source;
    case "clock": return k.mode;
    case "image": return (k.path || "no image yet").split("/").pop();
  }
  return "";
}

function renderKeyers() {
  const rows = show.keyers.map((k) => {
    const tr = document.createElement("tr");
    const onOff = document.createElement("button");
    onOff.textContent = k.on ? "ON AIR" : "off";
    onOff.className = k.on ? "pgm" : "";
    onOff.dataset.keyer = k.id;
    onOff.onclick = () => api("POST", `/keyers/${k.id}/${k.on ? "off" : "on"}`).catch(() => {});
    const what = document.createElement("span");
    what.textContent = keyerLabel(k);
    if (k.type === "lowerthird") {
      const title = Object.assign(document.createElement("input"), { value: k.title || "", ariaLabel: `${k.id} title` });
      const sub = Object.assign(document.createElement("input"), { value: k.subtitle || "", ariaLabel: `${k.id} subtitle` });
      const set = Object.assign(document.createElement("button"), { textContent: "set" });
      set.onclick = () => api("PATCH", `/keyers/${k.id}`, { title: title.value, subtitle: sub.value }).catch(() => {});
      what.append(title, sub, set);
    }
    const del = Object.assign(document.createElement("button"), { textContent: "✕", title: "delete" });
    del.onclick = () => api("DELETE", `/keyers/${k.id}`).catch(() => {});
    onOff.disabled = !can("director");
    allow(del, "director");
    for (const el of what.querySelectorAll("input, button")) allow(el, "director");
    tr.append(cell(k.id), cell(k.type), cell(onOff), cell(what), cell(del), cell(k.warning || "", "err"));
    return tr;
  });
  $("keyer-list").tBodies[0].replaceChildren(...rows);
}

// renderMacros draws a button a macro; a running one is lit until its end.
function renderMacros() {
  $("macros").hidden = show.macros.length === 0; // a show without macros keeps its panel as it was
  const row = $("macro-row");
  row.replaceChildren(...show.macros.map((m) => {
    const b = document.createElement("button");
    b.textContent = m.name;
    b.dataset.macro = m.name;
    b.title = m.steps.map((s) => `${s.method} ${s.path}`).join("\n");
    if (m.running) b.classList.add("active");
    b.disabled = !can("director");
    b.onclick = () => api("POST", `/macros/${m.name}/run`).catch(() => {});
    return b;
  }));
}

// macroRun shows a run's progress and end (a "macro" event).
function macroRun(r) {
  const m = show.macros.find((x) => x.name === r.name);
  if (m) m.running = r.state === "running";
  renderMacros();
  const el = $("macro-status");
  el.className = r.state === "failed" ? "err" : "";
  el.dataset.state = r.state;
  if (r.state === "running") el.textContent = `${r.name}: step ${r.step} of ${r.steps} (${r.method} ${r.path})`;
  else if (r.state === "done") el.textContent = `${r.name}: done`;
  else el.textContent = `${r.name}: failed at step ${r.step} of ${r.steps} (${r.method || ""} ${r.path || ""}): ${r.error}`;
}

function renderRecording() {
  const r = show.recording;
  const on = !!(r && r.state === "recording");
  $("rec").classList.toggle("on", on);
  $("rec").textContent = on ? "■ STOP" : "● REC";
  $("mark").disabled = !on;
  $("mark").dataset.count = on ? (r.markers || []).length : 0;
  $("rec-files").replaceChildren(...show.files.map((f) => {
    const li = document.createElement("li");
    li.textContent = `${f.name} ${(f.bytes / 1e6).toFixed(1)} MB`;
    return li;
  }));
  tickRecording();
}

function tickRecording() {
  const r = show.recording;
  if (!r || r.state !== "recording") {
    $("rec-time").textContent = r ? r.state : "";
    return;
  }
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(r.started_at)) / 1000));
  const hh = String(Math.floor(s / 3600)).padStart(2, "0");
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  $("rec-time").textContent = `${hh}:${mm}:${ss}`;
}

// addMarker marks the program's current frame in the running recording
// (the edit lists, session.json, program.mp4's chapters).
function addMarker() {
  const r = show.recording;
  if (!r || r.state !== "recording") return;
  const n = (r.markers || []).length + 1;
  api("POST", "/recording/markers", { name: `Marker ${n}` }).then(refreshRecordings).catch(() => {});
}

// Instant replay (docs/replay.md): marks on the program's source, a speed,
// a take to program, and this run's replays. The section shows only when
// the show has replay enabled (GET /replays answers).
const replayMarks = { in: null, out: null };

function renderReplayMarks() {
  const f = (m) => (m ? `${m.source} ${m.pts_s.toFixed(2)} s` : "–");
  $("replay-marks").textContent = `in ${f(replayMarks.in)} · out ${f(replayMarks.out)}`;
}

function replayMark(out) {
  api("POST", out ? "/replay/mark-out" : "/replay/mark-in").then((m) => {
    if (out) replayMarks.out = m;
    else Object.assign(replayMarks, { in: m, out: null });
    renderReplayMarks();
  }).catch(() => {});
}

function replayPlay() {
  const body = { speed: Number($("replay-speed").value), take: $("replay-take").checked };
  api("POST", "/replay", body).then(refreshReplays).catch(() => {});
}

async function refreshReplays() {
  const res = await fetch("/api/v1/replays");
  if (!res.ok) return; // replay off (503), or not allowed
  $("replay").hidden = false;
  const list = await res.json();
  $("replay-list").replaceChildren(...list.map((r) => {
    const li = document.createElement("li");
    const speed = `${Math.round(r.speed * 100)} %`;
    li.textContent = `${r.source} ${speed} ${r.duration_s.toFixed(1)} s · ${r.file || r.save_error || ""}`;
    return li;
  }));
}

async function refreshRecordings() {
  const list = await api("GET", "/recordings").catch(() => null);
  if (!list) return;
  const cur = list.find((r) => r.state === "recording") || list[0] || null;
  show.recording = cur;
  show.files = cur ? cur.files : [];
  renderRecording();
}

// Audio strips: fader (dB), mute, mode, and a meter fed by "levels" events.
function strip(name, st, master) {
  const el = document.createElement("div");
  el.className = master ? "strip master" : "strip";
  el.dataset.strip = name;
  const title = document.createElement("b");
  title.textContent = master ? "MASTER" : name;
  const meter = document.createElement("div");
  meter.className = "meter";
  meter.append(document.createElement("i"), document.createElement("u"));
  const fader = document.createElement("input");
  Object.assign(fader, { type: "range", min: -60, max: 20, step: 0.5, value: st.gain_db });
  fader.setAttribute("aria-label", `${name} gain`);
  const db = document.createElement("span");
  db.className = "db";
  db.textContent = `${st.gain_db} dB`;
  const path = master ? "/audio/master" : `/audio/${encodeURIComponent(name)}`;
  fader.oninput = () => {
    db.textContent = `${fader.value} dB`;
    api("PATCH", path, { gain_db: Number(fader.value) }).catch(() => {});
  };
  const mute = document.createElement("button");
  mute.textContent = "MUTE";
  mute.classList.toggle("muted", !!st.mute);
  mute.onclick = () => {
    const cur = master ? show.audio.master : show.audio.sources[name];
    api("PATCH", path, { mute: !(cur && cur.mute) }).catch(() => {});
  };
  el.append(title, meter, fader, db, mute);
  if (!master) {
    const mode = document.createElement("select");
    for (const m of ["afv", "on", "off"]) mode.append(new Option(m.toUpperCase(), m, false, m === st.mode));
    mode.onchange = () => api("PATCH", path, { mode: mode.value }).catch(() => {});
    el.append(mode);
  }
  for (const c of el.querySelectorAll("input, button, select")) allow(c, "audio");
  return el;
}

function renderAudio() {
  const a = show.audio;
  const names = Object.keys(a.sources || {}).sort();
  const have = [...$("strips").children].map((el) => el.dataset.strip);
  if (have.join("/") !== [...names, "master"].join("/")) {
    $("strips").replaceChildren(...names.map((n) => strip(n, a.sources[n], false)), strip("master", a.master, true));
    return;
  }
  // update in place, leaving a fader the operator is dragging alone
  for (const el of $("strips").children) {
    const st = el.dataset.strip === "master" ? a.master : a.sources[el.dataset.strip];
    const fader = el.querySelector("input");
    if (document.activeElement !== fader) {
      fader.value = st.gain_db;
      el.querySelector(".db").textContent = `${st.gain_db} dB`;
    }
    el.querySelector("button").classList.toggle("muted", !!st.mute);
    const mode = el.querySelector("select");
    if (mode) mode.value = st.mode;
  }
}

function renderLevels(lv) {
  const put = (name, l) => {
    const el = document.querySelector(`[data-strip="${CSS.escape(name)}"] .meter`);
    if (!el || !l) return;
    const pct = (db) => `${Math.max(0, Math.min(100, ((db + 60) / 60) * 100))}%`;
    el.firstChild.style.width = pct(l.rms_db);
    el.lastChild.style.left = pct(l.peak_db);
  };
  for (const [name, l] of Object.entries(lv.sources || {})) put(name, l);
  put("master", lv.program);
}

// (Re)opens the monitor wall: after the token is known, and whenever the
// event stream comes back (the server may have restarted).
function openMultiview() {
  $("multiview").src = `/multiview.mjpeg?t=${Date.now()}`;
}

// --- events -------------------------------------------------------------

function applyState(st) {
  show.program = st.program;
  show.preview = st.preview;
  show.transition = st.transition;
  show.ftb = st.ftb;
  show.sources = new Map((st.sources || []).map((s) => [s.name, s]));
  players.clear();
  (st.sources || []).forEach(notePlayer);
  show.outputs = new Map((st.outputs || []).map((o) => [o.name, o]));
  if (st.audio) show.audio = st.audio;
  show.keyers = st.keyers || [];
  show.macros = st.macros || [];
  const f = st.format;
  if (f) $("format").textContent = `${f.width}×${f.height} @ ${Math.round(f.fps * 100) / 100}`;
  renderBuses();
  renderSources();
  renderOutputs();
  renderKeyers();
  renderMacros();
  renderAudio();
  refreshRecordings();
}

function connect() {
  if (events) events.close();
  events = new EventSource("/api/v1/events");
  events.onopen = () => {
    openMultiview();
    $("link").textContent = "live";
    $("link").className = "badge on";
  };
  events.onerror = () => {
    $("link").textContent = "disconnected — reconnecting";
    $("link").className = "badge off";
  };
  const on = (type, fn) => events.addEventListener(type, (e) => fn(JSON.parse(e.data)));
  on("state", (st) => {
    applyState(st);
    window.switchyard.ready = true;
  });
  on("buses", (b) => {
    show.program = b.program;
    show.preview = b.preview;
    show.transition = b.transition;
    show.ftb = b.ftb;
    renderBuses();
  });
  on("source", (s) => {
    const had = show.sources.has(s.name);
    show.sources.set(s.name, { ...show.sources.get(s.name), ...s });
    notePlayer(s);
    if (!had) {
      show.audio.sources[s.name] ??= { gain_db: 0, mute: false, mode: "afv" };
      renderBuses();
      renderAudio();
    }
    renderSources();
  });
  on("source_removed", (s) => {
    show.sources.delete(s.name);
    delete show.audio.sources[s.name];
    renderBuses();
    renderSources();
    renderAudio();
  });
  // every SRT link once a second: one missing has ended
  // (a table without any is left alone: it is not drawn again under the
  // operator's hands for nothing)
  const relink = (items, links) => {
    let any = false;
    for (const [name, it] of items) {
      any ||= !!(it.srt || links[name]);
      it.srt = links[name];
    }
    return any;
  };
  on("links", (l) => {
    if (relink(show.sources, l.sources || {})) renderSources();
    if (l.outputs && relink(show.outputs, l.outputs)) renderOutputs();
  });
  on("output", (o) => {
    show.outputs.set(o.name, { ...show.outputs.get(o.name), ...o });
    renderOutputs();
  });
  on("output_removed", (o) => {
    show.outputs.delete(o.name);
    renderOutputs();
  });
  on("keyers", (list) => {
    show.keyers = list;
    renderKeyers();
  });
  on("macros", (list) => {
    show.macros = list;
    renderMacros();
  });
  on("macro", macroRun);
  on("recording", () => refreshRecordings());
  on("replay", () => refreshReplays());
  on("replay_mark", (m) => {
    const mark = { source: m.source, pts_s: m.pts_s };
    if (m.mark === "out") replayMarks.out = mark;
    else Object.assign(replayMarks, { in: mark, out: null });
    renderReplayMarks();
  });
  on("audio", (a) => {
    show.audio = a;
    renderAudio();
  });
  on("levels", renderLevels);
}

async function start() {
  try {
    who = await api("GET", "/session"); // asks to log in first if the server has tokens
  } catch {
    return;
  }
  applyRole();
  connect();
  refreshReplays();
}

// --- controls -----------------------------------------------------------

function transitionBody() {
  const body = { type: $("ttype").value, duration_ms: Number($("tdur").value) || 0 };
  if (body.type === "wipe") body.direction = $("tdir").value;
  if (body.type === "stinger") { // it lasts its clip
    delete body.duration_ms;
    body.clip = $("tclip").value;
    body.cut_at_ms = Number($("tcut").value) || 0;
  }
  return body;
}

// The transition picker: a stinger picks its clip (those of the clips
// folder whose pictures carry alpha) and its cut. A change makes the pick
// the default transition, which the T-bar runs.
async function pickTransition() {
  const stinger = $("ttype").value === "stinger";
  $("tclip").hidden = $("tcut-label").hidden = !stinger;
  $("tdur").disabled = stinger;
  if (stinger) { // the folder's stingers as they are now
    const keep = $("tclip").value;
    const clips = (await api("GET", "/clips").catch(() => [])) || [];
    $("tclip").replaceChildren(...clips.filter((c) => c.alpha).map((c) => new Option(c.name, c.name, false, c.name === keep)));
    if (!$("tclip").options.length) {
      showError("no stinger in the clips folder: upload a clip with alpha (docs/clips.md)");
      return;
    }
  }
  api("PUT", "/transition", transitionBody()).catch(() => {});
}

function wire() {
  $("login").onsubmit = login;
  $("logout").onclick = logout;
  $("cut").onclick = () => api("POST", "/cut").catch(() => {});
  $("auto").onclick = () => api("POST", "/auto", transitionBody()).catch(() => {});
  $("ftb").onclick = () => api("POST", "/ftb").catch(() => {});
  $("tbar").oninput = (e) => api("POST", "/transition/position", { position: e.target.value / 1000 }).catch(() => {});
  for (const id of ["ttype", "tclip", "tcut", "tdir", "tdur"]) $(id).onchange = pickTransition;
  $("rec").onclick = () => {
    const on = show.recording && show.recording.state === "recording";
    api("POST", on ? "/recording/stop" : "/recording/start").then(refreshRecordings).catch(() => {});
  };
  $("mark").onclick = addMarker;
  $("replay-in").onclick = () => replayMark(false);
  $("replay-out").onclick = () => replayMark(true);
  $("replay-play").onclick = replayPlay;
  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey || !can("director")) return;
    const digit = /^Digit([1-9])$/.exec(e.code);
    if (digit) {
      const name = sourceNames()[Number(digit[1]) - 1];
      if (name) api("POST", e.shiftKey ? "/program" : "/preview", { source: name }).catch(() => {});
    } else if (e.code === "Space") {
      api("POST", "/cut").catch(() => {});
    } else if (e.code === "Enter") {
      api("POST", "/auto", transitionBody()).catch(() => {});
    } else if (e.code === "KeyF") {
      api("POST", "/ftb").catch(() => {});
    } else if (e.code === "KeyM") {
      addMarker();
    } else if (e.code === "KeyI" && !$("replay").hidden) {
      replayMark(false);
    } else if (e.code === "KeyO" && !$("replay").hidden) {
      replayMark(true);
    } else if (e.code === "KeyP" && !$("replay").hidden) {
      replayPlay();
    } else {
      return;
    }
    e.preventDefault();
  });
  $("lt-new").onsubmit = (e) => {
    e.preventDefault();
    const body = { type: "lowerthird", title: $("lt-title").value, subtitle: $("lt-sub").value, fade_ms: 300 };
    api("POST", "/keyers", body).then(() => $("lt-new").reset()).catch(() => {});
  };
  setInterval(tickRecording, 1000);
}

window.switchyard = { ready: false };
wire();
start();
