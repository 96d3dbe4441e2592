// Package rtpav1 contains a RTP/AV1 decoder and encoder.
package rtpav1
