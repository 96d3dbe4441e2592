// The buses (program and preview rows, the transition's state), the sources
// table (state, format, SRT link, jitter buffer, a clip's player strip) and
// the outputs table.

import { $, show, api, can, allow, cell, badge } from "./api.js";

export function sourceNames() {
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

export function renderBuses() {
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

// a WebRTC (WHIP) session in a few words ("WebRTC 12 ms · 0.4 % lost ·
// 2 PLI"), the rest in its title: lost is the share of the packets
// expected that never came, recovered or not
function webrtcLink(w) {
  const span = document.createElement("span");
  if (!w) return span;
  const expected = w.packets_received + Math.max(w.packets_lost, 0);
  const lost = expected ? (100 * Math.max(w.packets_lost, 0)) / expected : 0;
  span.className = w.packets_skipped > 0 ? "srt dropping" : "srt";
  const rtt = w.rtt_ms < 10 ? w.rtt_ms.toFixed(1) : Math.round(w.rtt_ms);
  span.textContent = `WebRTC ${rtt} ms · ${lost.toFixed(1)} % lost · ${w.plis} PLI`;
  span.title = `round trip ${w.rtt_ms.toFixed(1)} ms, jitter ${w.jitter_ms.toFixed(1)} ms, ` +
    `${w.bitrate_kbps.toFixed(0)} kb/s in; packets: ${w.packets_received} received, ${w.packets_lost} lost, ` +
    `${w.packets_recovered} recovered, ${w.packets_skipped} given up; ${w.nacks} NACKs asking for ${w.nacked_packets}, ${w.plis} PLIs`;
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
export const players = new Map();

export function notePlayer(s) {
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

export function renderSources() {
  sourcesStale = document.activeElement?.closest?.("#sources") != null;
  if (sourcesStale) return;
  const rows = sourceNames().map((name) => {
    const s = show.sources.get(name);
    const v = s.video ? `${s.video.codec} ${s.video.width}×${s.video.height} ${s.video.fps}` : "";
    const tr = document.createElement("tr");
    tr.dataset.source = name;
    tr.append(cell(sourceName(name)), cell(badge(s.state)), cell(s.protocol || ""), cell(v), cell(s.webrtc ? webrtcLink(s.webrtc) : srtLink(s.srt), "link"),
      cell(bufferField(name, s), "buf"), cell(playerStrip(name), "clip"), cell(s.warning || s.last_error || s.player?.error || "", "err"));
    return tr;
  });
  $("sources").tBodies[0].replaceChildren(...rows);
}

export function renderOutputs() {
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
