// Hardware codecs through FFmpeg: a device (CUDA, VAAPI, QSV), decoders
// that decode on it and hand the picture over in system memory (the
// compose is the CPU's: one download a picture), and H.264 encoders on it
// (NVENC takes I420 from system memory; QSV takes NV12; VAAPI takes
// surfaces: NV12 uploaded once a frame).
#include "av.h"

int sy_hw_device_open(const char *type, const char *device, AVBufferRef **out) {
	enum AVHWDeviceType t = av_hwdevice_find_type_by_name(type);
	if (t == AV_HWDEVICE_TYPE_NONE) return AVERROR(ENOSYS);
	return av_hwdevice_ctx_create(out, t, device && device[0] ? device : NULL, NULL, 0);
}

void sy_hw_device_free(AVBufferRef **ref) { av_buffer_unref(ref); }

int sy_hw_device_type(AVBufferRef *ref) { return ((AVHWDeviceContext *)ref->data)->type; }

// sy_hw_format picks the device's format where the decoder offers it (set
// in ctx->opaque), else what software decoding takes (a profile the device
// does not decode: the decoder goes on in software).
static enum AVPixelFormat sy_hw_format(AVCodecContext *ctx, const enum AVPixelFormat *fmts) {
	enum AVPixelFormat want = (enum AVPixelFormat)(intptr_t)ctx->opaque;
	for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++) {
		if (*p == want) return want;
	}
	return avcodec_default_get_format(ctx, fmts);
}

sy_codec *sy_video_dec_open_hw(const char *name, int threads, AVBufferRef *dev, int *err) {
	const AVCodec *codec = avcodec_find_decoder_by_name(name);
	if (!codec) { *err = AVERROR_DECODER_NOT_FOUND; return NULL; }
	enum AVHWDeviceType type = sy_hw_device_type(dev);
	enum AVPixelFormat hwfmt = AV_PIX_FMT_NONE;
	for (int i = 0;; i++) {
		const AVCodecHWConfig *cfg = avcodec_get_hw_config(codec, i);
		if (!cfg) break;
		if ((cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) && cfg->device_type == type) {
			hwfmt = cfg->pix_fmt;
			break;
		}
	}
	if (hwfmt == AV_PIX_FMT_NONE) { *err = AVERROR(ENOSYS); return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	ctx->thread_count = threads;
	ctx->thread_type = FF_THREAD_SLICE;
	ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	ctx->hw_device_ctx = av_buffer_ref(dev);
	if (!ctx->hw_device_ctx) { avcodec_free_context(&ctx); *err = AVERROR(ENOMEM); return NULL; }
	ctx->opaque = (void *)(intptr_t)hwfmt;
	ctx->get_format = sy_hw_format;
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	sy_codec *c = sy_codec_new(ctx, err);
	if (!c) return NULL;
	c->hwfmt = hwfmt;
	c->sw = av_frame_alloc();
	if (!c->sw) { *err = AVERROR(ENOMEM); sy_codec_close(c); return NULL; }
	return c;
}

// sy_dec_receive_hw is sy_dec_receive for a decoder on a device: a picture
// on the device is downloaded into system memory (NV12, most often) and
// takes its place in c->frame.
int sy_dec_receive_hw(sy_codec *c) {
	int err = sy_dec_receive(c);
	if (err < 0 || c->frame->format != c->hwfmt) return err;
	av_frame_unref(c->sw);
	err = av_hwframe_transfer_data(c->sw, c->frame, 0);
	if (err < 0) return err;
	err = av_frame_copy_props(c->sw, c->frame);
	if (err < 0) return err;
	av_frame_unref(c->frame);
	av_frame_move_ref(c->frame, c->sw);
	return 0;
}

sy_codec *sy_h264_enc_open_hw(const char *name, int w, int h, int fps_num, int fps_den, int bitrate, int gop,
	AVBufferRef *dev, int *err) {
	const AVCodec *codec = avcodec_find_encoder_by_name(name);
	if (!codec) { *err = AVERROR_ENCODER_NOT_FOUND; return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	ctx->width = w;
	ctx->height = h;
	sy_h264_rate(ctx, fps_num, fps_den, bitrate, gop);
	if (!strcmp(name, "h264_nvenc")) {
		ctx->pix_fmt = AV_PIX_FMT_YUV420P;
		av_opt_set(ctx->priv_data, "preset", "p2", 0);
		av_opt_set(ctx->priv_data, "tune", "ull", 0);
		av_opt_set(ctx->priv_data, "rc", "cbr", 0);
		av_opt_set_int(ctx->priv_data, "zerolatency", 1, 0);
		av_opt_set_int(ctx->priv_data, "delay", 0, 0);
		av_opt_set_int(ctx->priv_data, "no-scenecut", 1, 0);
		if (dev) ctx->hw_device_ctx = av_buffer_ref(dev);
	} else if (!strcmp(name, "h264_qsv")) {
		ctx->pix_fmt = AV_PIX_FMT_NV12;
		av_opt_set(ctx->priv_data, "preset", "veryfast", 0);
		av_opt_set_int(ctx->priv_data, "async_depth", 1, 0);
		av_opt_set_int(ctx->priv_data, "look_ahead", 0, 0);
		if (dev) ctx->hw_device_ctx = av_buffer_ref(dev);
	} else if (!strcmp(name, "h264_vaapi")) {
		if (!dev) { avcodec_free_context(&ctx); *err = AVERROR(EINVAL); return NULL; }
		ctx->pix_fmt = AV_PIX_FMT_VAAPI;
		av_opt_set(ctx->priv_data, "rc_mode", "CBR", 0);
		AVBufferRef *frames = av_hwframe_ctx_alloc(dev);
		if (!frames) { avcodec_free_context(&ctx); *err = AVERROR(ENOMEM); return NULL; }
		AVHWFramesContext *fc = (AVHWFramesContext *)frames->data;
		fc->format = AV_PIX_FMT_VAAPI;
		fc->sw_format = AV_PIX_FMT_NV12;
		fc->width = w;
		fc->height = h;
		fc->initial_pool_size = 8;
		*err = av_hwframe_ctx_init(frames);
		if (*err < 0) { av_buffer_unref(&frames); avcodec_free_context(&ctx); return NULL; }
		ctx->hw_frames_ctx = frames; // the context owns it now
	} else {
		avcodec_free_context(&ctx);
		*err = AVERROR(EINVAL);
		return NULL;
	}
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	sy_codec *c = sy_codec_new(ctx, err);
	if (!c) return NULL;
	if (ctx->pix_fmt != AV_PIX_FMT_YUV420P) {
		c->sw = av_frame_alloc();
		if (!c->sw) { *err = AVERROR(ENOMEM); sy_codec_close(c); return NULL; }
		c->sw->format = AV_PIX_FMT_NV12;
		c->sw->width = w;
		c->sw->height = h;
		*err = av_frame_get_buffer(c->sw, 32);
		if (*err < 0) { sy_codec_close(c); return NULL; }
	}
	return c;
}

// sy_enc_send_hw sends an I420 frame to an encoder opened by
// sy_h264_enc_open_hw: as it is (NVENC), as NV12 (QSV), or as NV12 uploaded
// to a surface of the device (VAAPI). c->rw: as sy_enc_send_watched.
static int sy_enc_send_hw1(sy_codec *c, AVFrame *f, int64_t pts, int force_key);

int sy_enc_send_hw(sy_codec *c, AVFrame *f, int64_t pts, int force_key) {
	int code = sy_enc_send_hw1(c, f, pts, force_key);
	c->rw = sy_rw_leaving();
	return code;
}

static int sy_enc_send_hw1(sy_codec *c, AVFrame *f, int64_t pts, int force_key) {
	if (!f || c->ctx->pix_fmt == AV_PIX_FMT_YUV420P) return sy_enc_send(c, f, pts, force_key);
	int err = av_frame_make_writable(c->sw);
	if (err < 0) return err;
	c->sws = sws_getCachedContext(c->sws, f->width, f->height, f->format,
		c->sw->width, c->sw->height, AV_PIX_FMT_NV12, SWS_POINT, NULL, NULL, NULL);
	if (!c->sws) return AVERROR(EINVAL);
	err = sws_scale(c->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, c->sw->data, c->sw->linesize);
	if (err < 0) return err;
	if (!c->ctx->hw_frames_ctx) return sy_enc_send(c, c->sw, pts, force_key);
	AVFrame *hw = av_frame_alloc();
	if (!hw) return AVERROR(ENOMEM);
	err = av_hwframe_get_buffer(c->ctx->hw_frames_ctx, hw, 0);
	if (err >= 0) err = av_hwframe_transfer_data(hw, c->sw, 0);
	if (err >= 0) err = sy_enc_send(c, hw, pts, force_key);
	av_frame_free(&hw);
	return err;
}
