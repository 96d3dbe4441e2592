// Package rtpmpegts contains RTP decoder and encoder for MPEG-TS streams.
package rtpmpegts
