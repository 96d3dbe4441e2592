// Package rtpac3 contains a RTP/AC-3 decoder and encoder.
package rtpac3
