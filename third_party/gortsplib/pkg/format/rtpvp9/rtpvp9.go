// Package rtpvp9 contains a RTP/VP9 decoder and encoder.
package rtpvp9
