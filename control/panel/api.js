// The panel's core: the show as the event stream last told it, who is
// logged in and what their role may use, and the one call to the REST API
// (JSON bodies, errors shown in the panel). The other modules draw parts of
// the panel from it; panel.js opens the event stream and wires the controls.

export const $ = (id) => document.getElementById(id);
export const show = { program: "", preview: "", transition: {}, ftb: false, recording: null, sources: new Map(), outputs: new Map(), files: [], keyers: [], macros: [],
  audio: { master: { gain_db: 0, mute: false }, sources: {} } };
// who is logged in: { name, role, open }; the controls follow the role
export const who = { name: "", role: "viewer" };

// can reports whether the role may use controls that need `need`: admin
// everything, director and audio their own, every role what a viewer may.
export function can(need) {
  return who.role === "admin" || need === "viewer" || who.role === need;
}

// allow hides a control the role may not use.
export function allow(el, need) {
  el.hidden = !can(need);
  return el;
}

export function showError(msg) {
  $("error").textContent = msg || "";
}

// loginNeeded is called when the API answers 401 (panel.js: the login form).
let loginNeeded = () => {};
export function onLoginNeeded(f) {
  loginNeeded = f;
}

export async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["Content-Type"] = "application/json"; // every change, body or not
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && !(method === "POST" && path === "/session")) {
    loginNeeded();
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

// cell is a table cell holding content.
export function cell(content, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.append(content ?? "");
  return td;
}

export function badge(state) {
  const s = document.createElement("span");
  s.className = `badge ${state}`;
  s.textContent = state;
  return s;
}
