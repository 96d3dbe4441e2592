// The WebRTC signalling the guest's page (WHIP, RFC 9725) and the panel's
// monitor (WHEP) share: one offer, its ICE candidates gathered into it (the
// server takes no trickle), POSTed as application/sdp with the key as a
// bearer token; a 201 answers with the SDP answer and the session's
// resource (Location), which a DELETE ends.

// gathered resolves when pc's ICE gathering is complete, or after ms.
export function gathered(pc, ms) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const t = setTimeout(resolve, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

// offer sends pc's offer to url (/whip/NAME or /whep/NAME) and returns the
// session's resource and the answer; a refusal throws the server's error.
// The caller keeps the resource before it applies the answer, so that a
// failure from there on can still end the session.
export async function offer(url, key, pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 3000);
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) {
    let msg = `${res.status}`;
    try { msg = (await res.json()).error || msg; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  return {
    resource: new URL(res.headers.get("Location"), location.href).href,
    answer: { type: "answer", sdp: await res.text() },
  };
}
