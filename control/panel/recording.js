// Recording (REC, its clock, markers, the session's files) and instant
// replay (marks, a speed, a take, this run's replays).

import { $, show, api } from "./api.js";

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

export function tickRecording() {
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
export function addMarker() {
  const r = show.recording;
  if (!r || r.state !== "recording") return;
  const n = (r.markers || []).length + 1;
  api("POST", "/recording/markers", { name: `Marker ${n}` }).then(refreshRecordings).catch(() => {});
}

// Instant replay (docs/replay.md): marks on the program's source, a speed,
// a take to program, and this run's replays. The section shows only when
// the show has replay enabled (GET /replays answers).
export const replayMarks = { in: null, out: null };

export function renderReplayMarks() {
  const f = (m) => (m ? `${m.source} ${m.pts_s.toFixed(2)} s` : "–");
  $("replay-marks").textContent = `in ${f(replayMarks.in)} · out ${f(replayMarks.out)}`;
}

export function replayMark(out) {
  api("POST", out ? "/replay/mark-out" : "/replay/mark-in").then((m) => {
    if (out) replayMarks.out = m;
    else Object.assign(replayMarks, { in: m, out: null });
    renderReplayMarks();
  }).catch(() => {});
}

export function replayPlay() {
  const body = { speed: Number($("replay-speed").value), take: $("replay-take").checked };
  api("POST", "/replay", body).then(refreshReplays).catch(() => {});
}

export async function refreshReplays() {
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

export async function refreshRecordings() {
  const list = await api("GET", "/recordings").catch(() => null);
  if (!list) return;
  const cur = list.find((r) => r.state === "recording") || list[0] || null;
  show.recording = cur;
  show.files = cur ? cur.files : [];
  renderRecording();
}
