// Package rtplpcm contains a RTP/LPCM decoder and encoder.
package rtplpcm
