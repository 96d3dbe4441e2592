// Switchyard's panel: state arrives on the event stream (no polling), and
// every control is a call to the REST API. When the server has tokens, the
// panel logs in once (POST /api/v1/session) and the server keeps it in an
// HttpOnly cookie: no script can read it, and the event stream and the
// multiview <img>, which cannot send headers, carry it too. Every change is
// sent as JSON: the server refuses other body types, which is what keeps
// pages of other sites from driving the show.
//
// This module opens the event stream and wires the controls; api.js holds
// the show's state and the API call, and sources.js, keyers.js,
// recording.js and audio.js draw their parts of the panel.

import { $, show, who, can, allow, api, onLoginNeeded } from "./api.js";
import { sourceNames, renderBuses, renderSources, renderOutputs, notePlayer, players } from "./sources.js";
import { renderKeyers, renderMacros, macroRun } from "./keyers.js";
import { tickRecording, addMarker, replayMarks, renderReplayMarks, replayMark, replayPlay, refreshReplays, refreshRecordings } from "./recording.js";
import { renderAudio, renderLevels } from "./audio.js";

let events = null;

function applyRole() {
  for (const el of document.querySelectorAll("[data-needs]")) allow(el, el.dataset.needs);
  $("strips").replaceChildren(); // drawn again for this role when the state comes
  $("who").textContent = who.open ? "open (no token)" : `${who.name} · ${who.role}`;
  $("logout").hidden = !!who.open;
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
  Object.assign(who, { name: "", role: "viewer", open: false });
  $("multiview").removeAttribute("src");
  askLogin();
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
  // every SRT link and WebRTC session once a second: one missing has ended
  // (a table without any is left alone: it is not drawn again under the
  // operator's hands for nothing)
  const relink = (items, links, key = "srt") => {
    let any = false;
    for (const [name, it] of items) {
      any ||= !!(it[key] || links[name]);
      it[key] = links[name];
    }
    return any;
  };
  on("links", (l) => {
    const srt = relink(show.sources, l.sources || {});
    const webrtc = relink(show.sources, l.webrtc || {}, "webrtc"); // WHIP sessions
    if (srt || webrtc) renderSources();
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
    const w = await api("GET", "/session"); // asks to log in first if the server has tokens
    Object.assign(who, { name: "", role: "viewer", open: false }, w);
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
onLoginNeeded(askLogin);
wire();
start();
