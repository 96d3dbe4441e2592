// Package rtsp is RTP ⇄ media.Unit for RTSP (RFC 2326, RFC 7826), both
// directions, on gortsplib:
//
//   - a Receiver depacketizes what a publisher or a pulled camera sends
//     (H.264 RFC 6184, H.265 RFC 7798, AAC as MPEG4-GENERIC RFC 3640 or
//     MP4A-LATM RFC 6416, Opus RFC 7587, G.711 RFC 3551) into units, with
//     their decode times (receiver.go);
//   - a Sender describes a stream's tracks and packetizes its units, with
//     RTP and NTP times that keep video and audio in sync (sender.go);
//   - Pull plays a camera once, through gortsplib's client (pull.go).
//
// It knows nothing of the registry or the outputs: units go to a media.Publisher, and
// packets to the caller's gortsplib stream.
package rtsp
