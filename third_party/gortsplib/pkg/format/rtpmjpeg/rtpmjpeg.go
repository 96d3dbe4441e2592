// Package rtpmjpeg contains a RTP/M-JPEG decoder and encoder.
package rtpmjpeg
