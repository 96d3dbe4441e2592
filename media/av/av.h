// Small C helpers over FFmpeg (libavcodec, libswscale, libswresample, libavutil).
// Only APIs present from FFmpeg 5.1 through 7.x are used (AVChannelLayout,
// swr_alloc_set_opts2, send/receive codec API).
#ifndef SWITCHYARD_AV_H
#define SWITCHYARD_AV_H

#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "rtreturn.h"

enum { SY_EAGAIN = AVERROR(EAGAIN), SY_EOF = AVERROR_EOF };

typedef struct {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame;
	// hardware codecs (hw.c): a picture moved between memories, and the
	// I420 → NV12 conversion an NV12-only encoder needs
	AVFrame *sw;
	struct SwsContext *sws;
	enum AVPixelFormat hwfmt; // a decoder's device format; AV_PIX_FMT_NONE: none
	// the calling thread's return watch after an encoder's send (rtreturn.h;
	// NULL: not watched), read by Go on return: no Go pointer handed to C
	sy_rw *rw;
} sy_codec;

AVFrame *sy_frame_new(int w, int h, int *err);
AVFrame *sy_audio_frame_new(int nb_samples, int rate, int *err);

sy_codec *sy_codec_new(AVCodecContext *ctx, int *err);
const AVCodec *sy_find_decoder(const char *name);
sy_codec *sy_video_dec_open(const char *name, const uint8_t *extra, int extra_size, int threads, int low_delay, int *err);
sy_codec *sy_audio_dec_open(const char *name, const uint8_t *extra, int extra_size, int rate, int channels, int *err);
int sy_dec_send(sy_codec *c, const uint8_t *data, int size, int64_t pts);
int sy_dec_receive(sy_codec *c);

void sy_h264_rate(AVCodecContext *ctx, int fps_num, int fps_den, int bitrate, int gop);
sy_codec *sy_h264_enc_open(int w, int h, int fps_num, int fps_den, int bitrate, int gop,
	const char *preset, const char *tune, int threads, int *err);
sy_codec *sy_aac_enc_open(int rate, int bitrate, int *err);
sy_codec *sy_jpeg_enc_open(int w, int h, int qscale, int *err);
int sy_jpeg_send(sy_codec *c, AVFrame *f);
int sy_enc_send(sy_codec *c, AVFrame *f, int64_t pts, int force_key);
int sy_enc_send_watched(sy_codec *c, AVFrame *f, int64_t pts, int force_key);
int sy_enc_receive(sy_codec *c);
void sy_codec_close(sy_codec *c);

int sy_hw_device_open(const char *type, const char *device, AVBufferRef **out);
void sy_hw_device_free(AVBufferRef **ref);
int sy_hw_device_type(AVBufferRef *ref);
sy_codec *sy_video_dec_open_hw(const char *name, int threads, AVBufferRef *dev, int *err);
int sy_dec_receive_hw(sy_codec *c);
sy_codec *sy_h264_enc_open_hw(const char *name, int w, int h, int fps_num, int fps_den, int bitrate, int gop,
	AVBufferRef *dev, int *err);
int sy_enc_send_hw(sy_codec *c, AVFrame *f, int64_t pts, int force_key);

int sy_scale(struct SwsContext **cache, const AVFrame *src,
	uint8_t *d0, uint8_t *d1, uint8_t *d2, int s0, int s1, int s2, int dw, int dh);
int sy_resample(SwrContext **swr, const AVFrame *in, float *out, int out_cap, int out_rate);
void sy_fill_fltp(AVFrame *f, const float *interleaved, int n);
void sy_blend_plane(uint8_t *d, int dstride, const uint8_t *fg, const uint8_t *a, int sstride,
	int w, int h, int op);

#endif
