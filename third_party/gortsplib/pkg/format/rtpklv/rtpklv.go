// Package rtpklv contains a RTP decoder and encoder for KLV data.
package rtpklv
