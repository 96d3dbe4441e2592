// Decoding a whole media file for the mixer's own use (a stinger's
// pictures with their alpha and its sound), over libavformat and
// libavcodec (FFmpeg 5.1 through 7.x): any video codec the build decodes,
// its pictures converted by libswscale to YUVA 4:2:0 at the size asked for.
#ifndef SWITCHYARD_CLIPDEC_H
#define SWITCHYARD_CLIPDEC_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

typedef struct {
	AVFormatContext *fmt;
	AVCodecContext *vdec, *adec; // adec NULL without sound (or one the build cannot decode)
	AVPacket *pkt;
	AVFrame *frame;
	struct SwsContext *sws;
	SwrContext *swr;
	int vidx, aidx;
	int eof;              // the file is read to its end; the decoders are flushed
	int vdone, adone;     // a decoder gave AVERROR_EOF
} sy_clipdec;

enum { SY_CLIP_VIDEO = 1, SY_CLIP_AUDIO = 2 };

int sy_clipdec_open(const char *path, int prefer_libvpx, sy_clipdec **out);
int sy_clipdec_next(sy_clipdec *c);
int sy_clipdec_alpha(const sy_clipdec *c);
int sy_clipdec_yuva(sy_clipdec *c, uint8_t *y, uint8_t *u, uint8_t *v, uint8_t *a, int w, int h);
int sy_clipdec_samples(sy_clipdec *c, float *out, int out_cap, int out_rate);
AVRational sy_clipdec_vtb(const sy_clipdec *c);
AVRational sy_clipdec_vrate(const sy_clipdec *c);
void sy_clipdec_close(sy_clipdec *c);

#endif
