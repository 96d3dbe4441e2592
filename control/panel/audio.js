// The audio strips: fader (dB), mute, mode, and a meter fed by "levels"
// events.

import { $, show, api, allow } from "./api.js";

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

export function renderAudio() {
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

export function renderLevels(lv) {
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
