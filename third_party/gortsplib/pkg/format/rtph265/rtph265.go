// Package rtph265 contains a RTP/H265 decoder and encoder.
package rtph265
