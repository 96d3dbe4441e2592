package rtmp

import (
	"fmt"
	"io"

	rtmpmsg "github.com/yutopp/go-rtmp/message"
)

// GStreamer's rtmp2sink ends a publish with FCUnpublish and deleteStream,
// and puts the stream's name where deleteStream has the stream id (RTMP
// 7.2.2.3: a number). go-rtmp's decoder fails on it and ends the
// connection under the publisher, which then reports "connection closed
// remotely" and exits 1; nginx-rtmp does not look at the argument, and the
// publisher closes its connection itself once its last bytes are out.
// deleteStream is decoded leniently here: a number is the stream id, as
// go-rtmp would have it; anything else makes the command one go-rtmp
// ignores (its UnknownCommandBodyDecodeError) and the connection lives on
// until the publisher closes it. The publisher's end is taken from
// FCUnpublish or deleteStream either way (handler.endPublish).
func init() {
	rtmpmsg.CmdBodyDecoders["deleteStream"] = decodeDeleteStream
}

func decodeDeleteStream(_ io.Reader, d rtmpmsg.AMFDecoder, v *rtmpmsg.AMFConvertible) error {
	var cmdObj, id any
	if err := d.Decode(&cmdObj); err != nil {
		return fmt.Errorf("deleteStream: command object: %w", err)
	}
	if err := d.Decode(&id); err != nil {
		return fmt.Errorf("deleteStream: stream id: %w", err)
	}
	n, ok := id.(float64)
	if !ok || n < 0 || n > 1<<32-1 {
		return &rtmpmsg.UnknownCommandBodyDecodeError{Name: "deleteStream", Objs: []any{cmdObj, id}}
	}
	*v = &rtmpmsg.NetStreamDeleteStream{StreamID: uint32(n)}
	return nil
}
