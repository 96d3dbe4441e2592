// Package rtpvp8 contains a RTP/VP8 decoder and encoder.
package rtpvp8
