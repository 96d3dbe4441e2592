// The web tally page, /tally/SOURCE: the whole screen red while the source
// is on program (or in a transition, or in a PiP keyer on air), green while
// on preview, dark otherwise, with the source's label large — for a phone
// or tablet clipped to a camera. The lamps come from the event stream's
// "tally" events (the same the TSL UMD receivers get); after every
// (re)connection the page reads GET /api/v1/tally to catch up. When the
// server has tokens, the page logs in as the panel does (POST
// /api/v1/session; the server keeps the session in an HttpOnly cookie,
// which the event stream carries). A token may also come in the address's
// fragment, /tally/cam1#token=…, which never reaches the server's logs:
// the page logs in with it and drops it from the address.

const $ = (id) => document.getElementById(id);
const source = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
let events = null;
let retry = null;
window.tally = { source, tally: "", ready: false };

function paint(lamp) {
  const tally = lamp.tally || "off";
  document.body.className = tally;
  $("label").textContent = lamp.label || source;
  $("state").textContent = tally === "program" ? "ON AIR" : tally === "preview" ? "PREVIEW" : "";
  document.title = `${tally === "program" ? "● " : ""}${lamp.label || source} · tally`;
  window.tally = { source, tally, ready: true };
}

function unknown() {
  document.body.className = "unknown";
  $("label").textContent = `No source named “${source}”`;
  $("state").textContent = "This show has no such source: check the name in the address (/tally/SOURCE).";
  window.tally = { source, tally: "unknown", ready: true };
}

function link(up, text) {
  $("link").className = up ? "up" : "down";
  $("link").textContent = text || "";
}

function apply(lamps) {
  const lamp = lamps.find((l) => l.name === source);
  if (lamp) paint(lamp);
  else unknown();
}

// catchUp reads the whole tally; false when the page must log in first.
async function catchUp() {
  const res = await fetch("/api/v1/tally", { cache: "no-store" });
  if (res.status === 401) return false;
  if (!res.ok) throw new Error(`GET /api/v1/tally: ${res.status}`);
  apply((await res.json()).sources);
  return true;
}

function later() {
  clearTimeout(retry);
  retry = setTimeout(start, 2000);
}

function connect() {
  if (events) events.close();
  events = new EventSource("/api/v1/events");
  events.onopen = () => {
    link(true);
    catchUp().catch(() => {});
  };
  events.onerror = () => {
    link(false, "no link to the switcher — reconnecting…");
    // EventSource retries by itself after a dropped stream, but gives up
    // after an answer that is not the stream (a restart's 503, a 401):
    // then start over, which asks to log in when it must.
    if (events.readyState === EventSource.CLOSED) later();
  };
  events.addEventListener("tally", (e) => apply(JSON.parse(e.data)));
}

async function login(token) {
  const res = await fetch("/api/v1/session", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }) });
  return res.ok;
}

function askLogin() {
  if (events) events.close();
  link(false, "log in to show the tally");
  $("login").hidden = false;
  $("login-token").focus();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (await login($("login-token").value).catch(() => false)) {
    $("login").hidden = true;
    $("login-error").textContent = "";
    $("login-token").value = "";
    start();
  } else {
    $("login-error").textContent = "wrong token";
  }
});

async function start() {
  clearTimeout(retry);
  try {
    const m = location.hash.match(/^#token=(.+)$/);
    if (m) {
      history.replaceState(null, "", location.pathname); // not left in the address or history
      await login(decodeURIComponent(m[1]));
    }
    if (!(await catchUp())) {
      askLogin();
      return;
    }
    connect();
  } catch {
    link(false, "no link to the switcher — reconnecting…");
    later();
  }
}

$("label").textContent = source;
start();
