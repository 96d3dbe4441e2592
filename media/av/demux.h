// Demuxing over libavformat (FFmpeg 5.1 through 7.x): open a media file, read
// its first video and first audio stream's packets with their timestamps,
// seek. H.264 and H.265 from MP4/MOV/MKV come out in Annex-B through the
// mp4toannexb bitstream filters, with their parameter sets in front of key
// frames, as media.Unit wants them.
#ifndef SWITCHYARD_DEMUX_H
#define SWITCHYARD_DEMUX_H

#include <libavformat/avformat.h>
#include <libavcodec/bsf.h>

typedef struct {
	AVFormatContext *fmt;
	AVPacket *pkt;
	AVBSFContext *bsf; // video to Annex-B; NULL when the codec needs none
	int vidx, aidx;    // stream indexes, -1 when absent
	int bsf_eof;
} sy_demux;

int sy_demux_open(const char *path, sy_demux **out);
int sy_demux_read(sy_demux *d);
int sy_demux_seek(sy_demux *d, int64_t us);
void sy_demux_close(sy_demux *d);
const AVCodecParameters *sy_demux_vpar(sy_demux *d); // after the bitstream filter
const AVCodecParameters *sy_demux_apar(sy_demux *d);
AVRational sy_demux_vtb(sy_demux *d);
AVRational sy_demux_atb(sy_demux *d);
AVRational sy_demux_vrate(sy_demux *d);

#endif
