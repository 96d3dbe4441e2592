// Package rtph264 contains a RTP/H264 decoder and encoder.
package rtph264
