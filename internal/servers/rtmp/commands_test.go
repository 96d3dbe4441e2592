package rtmp

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	amf0 "github.com/yutopp/go-amf0"
	rtmpmsg "github.com/yutopp/go-rtmp/message"
)

// TestDeleteStreamLenient: deleteStream with a stream id decodes as go-rtmp
// has it; with GStreamer's stream name in its place it is a command go-rtmp
// ignores, not an error that ends the connection.
func TestDeleteStreamLenient(t *testing.T) {
	decode := func(args ...any) (rtmpmsg.AMFConvertible, error) {
		var b bytes.Buffer
		enc := amf0.NewEncoder(&b)
		for _, a := range args {
			require.NoError(t, enc.Encode(a))
		}
		var v rtmpmsg.AMFConvertible
		err := rtmpmsg.CmdBodyDecoderFor("deleteStream", 0)(&b, rtmpmsg.NewAMFDecoder(&b, rtmpmsg.EncodingTypeAMF0), &v)
		return v, err
	}
	v, err := decode(nil, 1.0)
	require.NoError(t, err)
	require.Equal(t, &rtmpmsg.NetStreamDeleteStream{StreamID: 1}, v)

	_, err = decode(nil, "cam1")
	var unknown *rtmpmsg.UnknownCommandBodyDecodeError
	require.ErrorAs(t, err, &unknown)

	_, err = decode(nil)
	require.Error(t, err)
	require.NotErrorAs(t, err, &unknown, "a cut-short body is still an error")
}
