#include "av.h"

AVFrame *sy_frame_new(int w, int h, int *err) {
	AVFrame *f = av_frame_alloc();
	if (!f) { *err = AVERROR(ENOMEM); return NULL; }
	f->format = AV_PIX_FMT_YUV420P;
	f->width = w;
	f->height = h;
	*err = av_frame_get_buffer(f, 32);
	if (*err < 0) { av_frame_free(&f); return NULL; }
	return f;
}

AVFrame *sy_audio_frame_new(int nb_samples, int rate, int *err) {
	AVFrame *f = av_frame_alloc();
	if (!f) { *err = AVERROR(ENOMEM); return NULL; }
	f->format = AV_SAMPLE_FMT_FLTP;
	f->nb_samples = nb_samples;
	f->sample_rate = rate;
	av_channel_layout_default(&f->ch_layout, 2);
	*err = av_frame_get_buffer(f, 0);
	if (*err < 0) { av_frame_free(&f); return NULL; }
	return f;
}

sy_codec *sy_codec_new(AVCodecContext *ctx, int *err) {
	sy_codec *c = av_mallocz(sizeof(*c));
	if (!c) { *err = AVERROR(ENOMEM); return NULL; }
	c->ctx = ctx;
	c->pkt = av_packet_alloc();
	c->frame = av_frame_alloc();
	c->hwfmt = AV_PIX_FMT_NONE;
	if (!c->pkt || !c->frame) { *err = AVERROR(ENOMEM); sy_codec_close(c); return NULL; }
	return c;
}

void sy_codec_close(sy_codec *c) {
	if (!c) return;
	avcodec_free_context(&c->ctx);
	av_packet_free(&c->pkt);
	av_frame_free(&c->frame);
	av_frame_free(&c->sw);
	sws_freeContext(c->sws);
	av_free(c);
}

// sy_find_decoder finds the build's preferred decoder of a codec by the
// codec's name ("hevc", "av1", "mpeg2video": for AV1 libdav1d, not the
// native decoder that only drives hardware) or, failing that, a decoder by
// its own name ("libdav1d").
const AVCodec *sy_find_decoder(const char *name) {
	const AVCodecDescriptor *d = avcodec_descriptor_get_by_name(name);
	const AVCodec *codec = d ? avcodec_find_decoder(d->id) : NULL;
	return codec ? codec : avcodec_find_decoder_by_name(name);
}

static int sy_set_extradata(AVCodecContext *ctx, const uint8_t *extra, int extra_size) {
	if (extra_size <= 0) return 0;
	ctx->extradata = av_mallocz(extra_size + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!ctx->extradata) return AVERROR(ENOMEM);
	memcpy(ctx->extradata, extra, extra_size);
	ctx->extradata_size = extra_size;
	return 0;
}

// sy_video_dec_open opens a video decoder. low_delay (H.264, H.265) asks it
// for each picture as soon as the stream's reordering allows; extra is the
// codec's out-of-band configuration (none for H.264/H.265 in Annex-B).
sy_codec *sy_video_dec_open(const char *name, const uint8_t *extra, int extra_size, int threads, int low_delay, int *err) {
	const AVCodec *codec = sy_find_decoder(name);
	if (!codec || codec->type != AVMEDIA_TYPE_VIDEO) { *err = AVERROR_DECODER_NOT_FOUND; return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	ctx->thread_count = threads;
	ctx->thread_type = FF_THREAD_SLICE;
	if (low_delay) ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	if ((*err = sy_set_extradata(ctx, extra, extra_size)) < 0) { avcodec_free_context(&ctx); return NULL; }
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	return sy_codec_new(ctx, err);
}

sy_codec *sy_audio_dec_open(const char *name, const uint8_t *extra, int extra_size, int rate, int channels, int *err) {
	const AVCodec *codec = sy_find_decoder(name);
	if (!codec || codec->type != AVMEDIA_TYPE_AUDIO) { *err = AVERROR_DECODER_NOT_FOUND; return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	ctx->sample_rate = rate;
	if (channels > 0) av_channel_layout_default(&ctx->ch_layout, channels);
	if ((*err = sy_set_extradata(ctx, extra, extra_size)) < 0) { avcodec_free_context(&ctx); return NULL; }
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	return sy_codec_new(ctx, err);
}

int sy_dec_send(sy_codec *c, const uint8_t *data, int size, int64_t pts) {
	av_packet_unref(c->pkt);
	c->pkt->data = (uint8_t *)data;
	c->pkt->size = size;
	c->pkt->pts = pts;
	c->pkt->dts = AV_NOPTS_VALUE;
	return avcodec_send_packet(c->ctx, size > 0 ? c->pkt : NULL);
}

int sy_dec_receive(sy_codec *c) {
	av_frame_unref(c->frame);
	return avcodec_receive_frame(c->ctx, c->frame);
}

// sy_video_enc_ctx allocates a context for the named video encoder with an
// I420 picture of w×h.
static AVCodecContext *sy_video_enc_ctx(const char *name, int w, int h, const AVCodec **codec, int *err) {
	*codec = avcodec_find_encoder_by_name(name);
	if (!*codec) { *err = AVERROR_ENCODER_NOT_FOUND; return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(*codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	ctx->width = w;
	ctx->height = h;
	ctx->pix_fmt = AV_PIX_FMT_YUV420P;
	return ctx;
}

// sy_h264_rate sets the program's H.264 rate control on any encoder: its
// frame rate, a constant bitrate, a fixed closed GOP, no B-frames, the
// parameter sets out of band.
void sy_h264_rate(AVCodecContext *ctx, int fps_num, int fps_den, int bitrate, int gop) {
	ctx->time_base = (AVRational){fps_den, fps_num};
	ctx->framerate = (AVRational){fps_num, fps_den};
	ctx->bit_rate = bitrate;
	ctx->rc_max_rate = bitrate;
	ctx->rc_buffer_size = bitrate;
	ctx->gop_size = gop;
	ctx->keyint_min = gop;
	ctx->max_b_frames = 0;
	ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER | AV_CODEC_FLAG_CLOSED_GOP;
}

sy_codec *sy_h264_enc_open(int w, int h, int fps_num, int fps_den, int bitrate, int gop,
	const char *preset, const char *tune, int threads, int *err) {
	const AVCodec *codec;
	AVCodecContext *ctx = sy_video_enc_ctx("libx264", w, h, &codec, err);
	if (!ctx) return NULL;
	sy_h264_rate(ctx, fps_num, fps_den, bitrate, gop);
	ctx->thread_count = threads;
	av_opt_set(ctx->priv_data, "preset", preset, 0);
	if (tune && tune[0]) av_opt_set(ctx->priv_data, "tune", tune, 0);
	// A fixed GOP: no scene-cut keyframes, so segments and platforms see a steady cadence.
	av_opt_set(ctx->priv_data, "x264-params", "scenecut=0:open-gop=0", 0);
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	return sy_codec_new(ctx, err);
}

sy_codec *sy_aac_enc_open(int rate, int bitrate, int *err) {
	const AVCodec *codec = avcodec_find_encoder_by_name("aac");
	if (!codec) { *err = AVERROR_ENCODER_NOT_FOUND; return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	ctx->sample_rate = rate;
	ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
	av_channel_layout_default(&ctx->ch_layout, 2);
	ctx->bit_rate = bitrate;
	ctx->time_base = (AVRational){1, rate};
	ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	return sy_codec_new(ctx, err);
}

// A still-picture (MJPEG) encoder of full-range I420 at a fixed quantiser
// (qscale 1 best .. 31): one JPEG a picture.
sy_codec *sy_jpeg_enc_open(int w, int h, int qscale, int *err) {
	const AVCodec *codec;
	AVCodecContext *ctx = sy_video_enc_ctx("mjpeg", w, h, &codec, err);
	if (!ctx) return NULL;
	ctx->color_range = AVCOL_RANGE_JPEG; // full range, as JPEG decoders assume
	ctx->time_base = (AVRational){1, 25};
	ctx->thread_count = 1;
	ctx->flags |= AV_CODEC_FLAG_QSCALE;
	ctx->global_quality = qscale * FF_QP2LAMBDA;
	ctx->qmin = 1;
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	return sy_codec_new(ctx, err);
}

// sy_jpeg_send sends a picture at the encoder's quantiser (a fixed-qscale
// encoder takes it from each frame).
int sy_jpeg_send(sy_codec *c, AVFrame *f) {
	f->quality = c->ctx->global_quality;
	f->pict_type = AV_PICTURE_TYPE_NONE;
	f->pts = AV_NOPTS_VALUE;
	return avcodec_send_frame(c->ctx, f);
}

int sy_enc_send(sy_codec *c, AVFrame *f, int64_t pts, int force_key) {
	if (f) {
		f->pts = pts;
		if (f->width > 0) {
			f->pict_type = force_key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
		}
	}
	return avcodec_send_frame(c->ctx, f);
}

// sy_enc_send_watched is sy_enc_send for a video encoder on a thread whose
// returns from C may be watched (rtreturn.go): c->rw is its watch or NULL.
int sy_enc_send_watched(sy_codec *c, AVFrame *f, int64_t pts, int force_key) {
	int code = sy_enc_send(c, f, pts, force_key);
	c->rw = sy_rw_leaving();
	return code;
}

int sy_enc_receive(sy_codec *c) {
	av_packet_unref(c->pkt);
	return avcodec_receive_packet(c->ctx, c->pkt);
}

int sy_scale(struct SwsContext **cache, const AVFrame *src,
	uint8_t *d0, uint8_t *d1, uint8_t *d2, int s0, int s1, int s2, int dw, int dh) {
	*cache = sws_getCachedContext(*cache, src->width, src->height, src->format,
		dw, dh, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
	if (!*cache) return AVERROR(EINVAL);
	uint8_t *dst[4] = {d0, d1, d2, NULL};
	int stride[4] = {s0, s1, s2, 0};
	return sws_scale(*cache, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst, stride);
}

int sy_resample(SwrContext **swr, const AVFrame *in, float *out, int out_cap, int out_rate) {
	if (!*swr) {
		AVChannelLayout stereo;
		av_channel_layout_default(&stereo, 2);
		int err = swr_alloc_set_opts2(swr, &stereo, AV_SAMPLE_FMT_FLT, out_rate,
			(AVChannelLayout *)&in->ch_layout, in->format, in->sample_rate, 0, NULL);
		if (err < 0) return err;
		// A mono camera goes to both channels at its own level (dual mono),
		// not 3 dB down as swresample mixes a centre channel.
		if (in->ch_layout.nb_channels == 1) {
			const double dual_mono[2] = {1.0, 1.0};
			err = swr_set_matrix(*swr, dual_mono, 1);
			if (err < 0) { swr_free(swr); return err; }
		}
		err = swr_init(*swr);
		if (err < 0) { swr_free(swr); return err; }
	}
	uint8_t *o[1] = {(uint8_t *)out};
	return swr_convert(*swr, o, out_cap, (const uint8_t **)in->extended_data, in->nb_samples);
}

void sy_fill_fltp(AVFrame *f, const float *interleaved, int n) {
	float *l = (float *)f->data[0];
	float *r = (float *)f->data[1];
	for (int i = 0; i < n; i++) {
		l[i] = interleaved[2 * i];
		r[i] = interleaved[2 * i + 1];
	}
}
