// Package rtpmpeg1audio contains a RTP/MPEG-1/2 Audio decoder and encoder.
package rtpmpeg1audio
