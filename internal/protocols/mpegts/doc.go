// Package mpegts turns MPEG-TS (ISO/IEC 13818-1) into media units and units
// back into MPEG-TS, for the protocols that carry it (SRT): the Receiver
// reads a publisher's transport stream (H.264, H.265, AAC, Opus) into a
// media.Publisher, the Sender writes a media.Stream as a transport stream.
// The transport stream itself is mediacommon's (pkg/formats/mpegts); this
// package maps it onto Switchyard's units: parameter sets followed in band,
// key units carrying them, one clock for every track.
package mpegts
