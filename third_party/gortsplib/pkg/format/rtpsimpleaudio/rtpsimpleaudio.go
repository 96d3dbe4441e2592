// Package rtpsimpleaudio contains a RTP decoder and encoder for audio codecs that fit in a single packet.
package rtpsimpleaudio
