// /watch: plays /hls/STREAM/index.m3u8 (STREAM: ?stream=, default program),
// passing ?key= (the read key) on. hls.js where Media Source Extensions
// exist, the browser's own HLS (Safari, iOS) otherwise.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const stream = params.get("stream") || "program";
  const key = params.get("key");
  let src = "/hls/" + stream.split("/").map(encodeURIComponent).join("/") + "/index.m3u8";
  if (key) src += "?key=" + encodeURIComponent(key);
  const video = document.getElementById("video");
  const status = document.getElementById("status");
  const say = (s) => { status.textContent = stream + ": " + s; };
  video.addEventListener("playing", () => say("playing"));
  video.addEventListener("waiting", () => say("buffering"));
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ lowLatencyMode: true });
    hls.on(window.Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      say("error: " + data.details + (data.response && data.response.code ? " (" + data.response.code + ")" : ""));
      if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) setTimeout(() => hls.loadSource(src), 2000);
      else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = src;
  } else {
    say("this browser plays neither HLS nor Media Source Extensions");
    return;
  }
  video.play().catch(() => say("press play"));
})();
