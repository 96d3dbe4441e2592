// The panel's real-time monitor: the program (or the preview) over WHEP
// (POST /whep/NAME; docs/webrtc.md), with its sound, muted until the
// operator unmutes it. The MJPEG multiview stays the wall of every
// source; this is for judging a cut and lip sync. The read key, when the
// show has one, goes in the field the monitor shows (then "real time"
// again).
//
// window.monitor tells a test where it is: {state, pc}.

import { offer } from "./signal.js";

const $ = (id) => document.getElementById(id);
window.monitor = { state: "off", pc: null };
let pc = null;
let resource = null;

function setState(state) {
  window.monitor.state = state;
  $("rtc-state").textContent = state === "off" ? "" : state;
  $("rtc-watch").textContent = state === "off" || state.startsWith("error") ? "real time" : "stop";
  $("rtc-mute").hidden = state !== "playing";
  $("rtc-monitor").hidden = state === "off";
  $("rtc-video").hidden = state.startsWith("error");
}

async function stop() {
  const r = resource;
  resource = null;
  if (pc) pc.close();
  pc = window.monitor.pc = null;
  $("rtc-video").srcObject = null;
  if (r) await fetch(r, { method: "DELETE" }).catch(() => {});
}

async function watch() {
  await stop();
  setState("connecting");
  try {
    pc = window.monitor.pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      $("rtc-video").srcObject = stream;
      $("rtc-video").play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (pc?.connectionState === "connected") setState("playing");
      if (pc?.connectionState === "failed") { stop(); setState("error: the connection failed"); }
    };
    const r = await offer(`/whep/${encodeURIComponent($("rtc-stream").value)}`, $("rtc-key").value, pc);
    resource = r.resource;
    await pc.setRemoteDescription(r.answer);
  } catch (e) {
    await stop();
    setState(`error: ${e.message || e}`);
  }
}

$("rtc-watch").addEventListener("click", () => {
  if (window.monitor.state === "off" || window.monitor.state.startsWith("error")) watch();
  else stop().then(() => setState("off"));
});
$("rtc-mute").addEventListener("click", () => {
  const v = $("rtc-video");
  v.muted = !v.muted;
  $("rtc-mute").textContent = v.muted ? "unmute" : "mute";
});
window.addEventListener("pagehide", () => { if (resource) fetch(resource, { method: "DELETE", keepalive: true }); });
