#!/usr/bin/python3
"""A camera made of GStreamer whose sound leaves it later than its pictures.

    gst_camera.py publish RTSP_URL CLIP AUDIO_LATE_MS MIC_AFTER_S

plays CLIP (FLV: H.264 and AAC) in real time (clocksync) and publishes
it with rtspclientsink over TCP. Its sound is switched on MIC_AFTER_S
seconds in (a valve; until then only the pictures go, so that its first
packet is as late as the rest) and leaves the camera AUDIO_LATE_MS after
the pictures taken with it (clocksync ts-offset, which unlike a queue
does not make the pipeline delay its pictures as much): an audio path
behind the video, as in many IP cameras and encoders. The timestamps stay the
capture's, and the RTP session reports, as hardware cameras' do, when each
packet was captured, not when it was sent (rtpbin rtcp-sync-send-time
false; with GStreamer's default, the send time, the reports would place
the sound as late as it is sent). Exits 0 at the clip's end, 1 on an
error (printed).
"""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    if len(sys.argv) != 6 or sys.argv[1] != "publish":
        sys.exit("usage: gst_camera.py publish RTSP_URL CLIP AUDIO_LATE_MS MIC_AFTER_S")
    url, clip, late_ms, mic_after = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    Gst.init(None)
    unlimited = "max-size-time=0 max-size-buffers=0 max-size-bytes=0"
    pipeline = Gst.parse_launch(
        f"rtspclientsink name=s protocols=tcp location={url} "
        f"filesrc location={clip} ! flvdemux name=d "
        "d.video ! queue ! h264parse ! clocksync ! s. "
        f"d.audio ! queue {unlimited} ! aacparse ! valve name=mic drop=true drop-mode=transform-to-gap "
        f"! clocksync ts-offset={late_ms * 1000000} ! s."
    )
    pipeline.get_by_name("s").connect(
        "new-manager", lambda _sink, rtpbin: rtpbin.set_property("rtcp-sync-send-time", False)
    )
    loop = GLib.MainLoop()
    code = [0]

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            print(f"error: {err.message} ({debug})", file=sys.stderr)
            code[0] = 1
            loop.quit()

    def mic_on():
        pipeline.get_by_name("mic").set_property("drop", False)
        return False

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(mic_after * 1000), mic_on)
    try:
        loop.run()
    finally:
        pipeline.set_state(Gst.State.NULL)
    sys.exit(code[0])


if __name__ == "__main__":
    main()
