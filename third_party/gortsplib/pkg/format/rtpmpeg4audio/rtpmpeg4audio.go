// Package rtpmpeg4audio contains a RTP/MPEG-4 Audio decoder and encoder.
package rtpmpeg4audio
