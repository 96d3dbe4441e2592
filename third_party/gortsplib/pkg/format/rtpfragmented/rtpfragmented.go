// Package rtpfragmented contains a RTP decoder and encoder for codecs with access units that can be fragmented.
package rtpfragmented
