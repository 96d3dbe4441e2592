// The keyers (on air, a lower third's text, delete) and the macros'
// buttons with a running macro's progress.

import { $, show, api, can, allow, cell } from "./api.js";

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

export function renderKeyers() {
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
export function renderMacros() {
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
export function macroRun(r) {
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
