// Package rtmp is Switchyard's one RTMP stack (Adobe RTMP Specification
// 1.0, https://rtmp.veriskope.com/docs/spec/), for both directions:
//
//   - the chunk stream as go-rtmp's server reads it, with the extended
//     timestamps of type-3 chunks repaired (chunkfilter.go) and the socket
//     woken per message, not per segment (lowwater.go): go-rtmp stays the
//     server's connection layer (internal/servers/rtmp);
//   - our client, for publishing (output/push) and playing (a pulled feed):
//     handshake, chunk reader and writer, AMF commands (client.go);
//   - FLV tag bodies ⇄ media.Unit: a Receiver turns the tags a publisher or a
//     feed sends into units (unit.go); the tag builders make the tags a
//     player or a destination is sent from units (flv.go).
//
// It knows nothing of the registry, the mixer or the outputs: units go to
// the media.Publisher the caller gives.
package rtmp
