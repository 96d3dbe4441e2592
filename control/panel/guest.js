// The guest page, /guest/SOURCE?key=PUBLISH_KEY[&autostart=1]: a remote
// guest picks a camera and a microphone, sees themself, and joins the show
// over WHIP (POST /whip/SOURCE with the publish key as the bearer token;
// docs/webrtc.md). The tally light follows the source's own lamp
// (GET /guest/SOURCE/tally, opened with the same key): red while the guest
// is on program, green on preview. With autostart=1 the page
// joins at once with the default devices (kiosks, tests).
//
// window.guest tells a test where the page is: {state, tally, error}.

import { offer } from "./signal.js";

const $ = (id) => document.getElementById(id);
const source = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
const params = new URLSearchParams(location.search);
const key = params.get("key") || "";
window.guest = { source, state: "idle", tally: "", error: "" };

let stream = null; // the camera and microphone
let pc = null;
let resource = null; // the WHIP session's URL
let meterTimer = null;

function setState(state, error) {
  window.guest.state = state;
  window.guest.error = error || "";
  $("state").textContent = state;
  $("error").textContent = error || "";
  const joined = state === "connected" || state === "joining";
  $("join").hidden = joined;
  $("leave").hidden = !joined;
}

// ---- devices

async function openDevices() {
  const cam = $("camera").value;
  const mic = $("mic").value;
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = await navigator.mediaDevices.getUserMedia({
    video: { deviceId: cam ? { exact: cam } : undefined, width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
    audio: { deviceId: mic ? { exact: mic } : undefined, echoCancellation: true, noiseSuppression: true },
  });
  $("self").srcObject = stream;
  if (pc) { // joined: the new devices go on in the same session
    for (const sender of pc.getSenders()) {
      const track = stream.getTracks().find((t) => t.kind === sender.track?.kind);
      if (track) await sender.replaceTrack(track);
    }
  }
  await listDevices();
  watchLevel();
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, id] of [["videoinput", "camera"], ["audioinput", "mic"]]) {
    const sel = $(id);
    const current = stream?.getTracks().find((t) => t.kind === (kind === "videoinput" ? "video" : "audio"))?.getSettings().deviceId;
    sel.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
      const o = document.createElement("option");
      o.value = d.deviceId;
      o.textContent = d.label || `${id} ${i + 1}`;
      o.selected = d.deviceId === current;
      return o;
    }));
  }
}

function watchLevel() {
  clearInterval(meterTimer);
  const track = stream.getAudioTracks()[0];
  if (!track) return;
  const ctx = new AudioContext();
  const an = ctx.createAnalyser();
  ctx.createMediaStreamSource(new MediaStream([track])).connect(an);
  const buf = new Float32Array(an.fftSize);
  meterTimer = setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let peak = 0;
    for (const v of buf) peak = Math.max(peak, Math.abs(v));
    $("level").value = peak;
  }, 100);
}

// ---- WHIP

// preferH264 puts H.264 (packetization-mode 1) first in the video
// transceiver's codecs: the server takes H.264 only.
function preferH264(tr) {
  const caps = RTCRtpReceiver.getCapabilities("video");
  if (!caps || !tr.setCodecPreferences) return;
  const h264 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === "video/h264" && /packetization-mode=1/.test(c.sdpFmtpLine || ""));
  if (!h264.length) throw new Error("this browser cannot send H.264 video, which the switcher takes");
  const rest = caps.codecs.filter((c) => /rtx|red|ulpfec/i.test(c.mimeType));
  tr.setCodecPreferences([...h264, ...rest]);
}

async function join() {
  setState("joining");
  try {
    if (!stream) await openDevices();
    pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) {
      const tr = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      if (track.kind === "video") preferH264(tr);
    }
    pc.onconnectionstatechange = () => {
      const s = pc?.connectionState;
      if (s === "connected") setState("connected");
      if (s === "failed") leave("the connection to the switcher failed");
    };
    const r = await offer(`/whip/${encodeURIComponent(source)}`, key, pc);
    resource = r.resource;
    await pc.setRemoteDescription(r.answer);
  } catch (e) {
    await leave(e.message || String(e));
  }
}

async function leave(error) {
  const r = resource;
  resource = null;
  if (pc) pc.close();
  pc = null;
  if (r) await fetch(r, { method: "DELETE" }).catch(() => {});
  setState(error ? "not joined" : "left", error);
}

// ---- tally (as the web tally page)

function paint(lamps) {
  const lamp = (lamps || []).find((l) => l.name === source);
  const tally = lamp?.tally || "off";
  $("tally").className = `lamp ${tally}`;
  document.body.className = tally;
  window.guest.tally = tally;
}

// followTally follows this source's lamp alone (GET /guest/SOURCE/tally:
// an event stream opened with the publish key, so a guest needs no API
// token even on a show with tokens); EventSource reconnects by itself.
function followTally() {
  const q = key ? `?key=${encodeURIComponent(key)}` : "";
  const events = new EventSource(`/guest/${encodeURIComponent(source)}/tally${q}`);
  events.addEventListener("tally", (e) => paint(JSON.parse(e.data)));
}

$("source").textContent = source;
$("devices").addEventListener("submit", (e) => {
  e.preventDefault();
  join();
});
$("leave").addEventListener("click", () => leave());
for (const id of ["camera", "mic"]) {
  $(id).addEventListener("change", () => openDevices().catch((e) => setState("not joined", e.message)));
}
window.addEventListener("pagehide", () => { if (resource) navigator.sendBeacon && fetch(resource, { method: "DELETE", keepalive: true }); });
followTally();
openDevices().then(() => {
  if (params.get("autostart") === "1") join();
}).catch((e) => setState("not joined", `camera or microphone: ${e.message}`));
