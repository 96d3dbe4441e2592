// Package rtpmpeg1video contains a RTP/MPEG-1/2 Video decoder and encoder.
package rtpmpeg1video
