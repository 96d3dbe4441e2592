#!/usr/bin/python3
"""A camera made of GStreamer whose sound leaves it later than its pictures.

    gst_camera.py publish RTSP_URL CLIP AUDIO_LATE_MS MIC_AFTER_S
    gst_camera.py serve PORT CLIP AUDIO_LATE_MS MIC_AFTER_S

publish: plays CLIP (FLV: H.264 and AAC) in real time (clocksync) and
publishes it with rtspclientsink over TCP. serve: an IP camera — GStreamer's
RTSP server on 127.0.0.1:PORT/cam (prints "ready" once listening) plays
CLIP to each client from its PLAY. Its sound is switched on MIC_AFTER_S
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


def launch(clip, late_ms, sink_video, sink_audio, pace):
    """The camera's branches: its pictures, and its sound behind a valve."""
    unlimited = "max-size-time=0 max-size-buffers=0 max-size-bytes=0"
    sync = "clocksync ! " if pace else ""
    return (
        f"filesrc location={clip} ! flvdemux name=d "
        f"d.video ! queue ! h264parse ! {sync}{sink_video} "
        f"d.audio ! queue {unlimited} ! aacparse ! valve name=mic drop=true drop-mode=transform-to-gap "
        f"! clocksync ts-offset={late_ms * 1000000} ! {sink_audio}"
    )


def capture_times(rtpbin):
    rtpbin.set_property("rtcp-sync-send-time", False)


def main():
    usage = "usage: gst_camera.py publish RTSP_URL|serve PORT CLIP AUDIO_LATE_MS MIC_AFTER_S"
    if len(sys.argv) != 6 or sys.argv[1] not in ("publish", "serve"):
        sys.exit(usage)
    mode, where, clip, late_ms, mic_after = sys.argv[1:2] + sys.argv[2:4] + [int(sys.argv[4]), float(sys.argv[5])]
    Gst.init(None)
    loop = GLib.MainLoop()
    code = [0]

    def mic_on(pipeline):
        pipeline.get_by_name("mic").set_property("drop", False)
        return False

    if mode == "serve":
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GstRtspServer

        server = GstRtspServer.RTSPServer()
        server.set_address("127.0.0.1")
        server.set_service(where)
        factory = GstRtspServer.RTSPMediaFactory()
        # a camera's pictures and sound, paced by the server's sinks
        factory.set_launch(
            "( "
            + launch(
                clip, late_ms,
                "rtph264pay name=pay0 pt=96 config-interval=1",
                "rtpmp4gpay name=pay1 pt=97",
                pace=False,
            )
            + " )"
        )

        def prepared(media):
            bin_ = media.get_element()
            pipeline = bin_.get_parent()
            it = pipeline.iterate_recurse()
            while True:
                ok, el = it.next()
                if ok != Gst.IteratorResult.OK:
                    break
                if el.get_factory() is not None and el.get_factory().get_name() == "rtpbin":
                    capture_times(el)
            GLib.timeout_add(int(mic_after * 1000), mic_on, bin_)

        factory.connect("media-configure", lambda _f, media: media.connect("prepared", prepared))
        server.get_mount_points().add_factory("/cam", factory)
        server.attach(None)
        print("ready", flush=True)
        loop.run()
        return

    pipeline = Gst.parse_launch(f"rtspclientsink name=s protocols=tcp location={where} " + launch(clip, late_ms, "s.", "s.", pace=True))
    pipeline.get_by_name("s").connect("new-manager", lambda _sink, rtpbin: capture_times(rtpbin))

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            print(f"error: {err.message} ({debug})", file=sys.stderr)
            code[0] = 1
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(mic_after * 1000), mic_on, pipeline)
    try:
        loop.run()
    finally:
        pipeline.set_state(Gst.State.NULL)
    sys.exit(code[0])


if __name__ == "__main__":
    main()
