#include "av.h"
#include "sy_opus.h"
#include <string.h>

// libopus at 48 kHz stereo, interleaved float input, 20 ms frames, for
// WebRTC (WHEP): the program's sound as browsers play it.
sy_codec *sy_opus_enc_open(int bitrate, int *err) {
	const AVCodec *codec = avcodec_find_encoder_by_name("libopus");
	if (!codec) { *err = AVERROR_ENCODER_NOT_FOUND; return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	ctx->sample_rate = 48000;
	ctx->sample_fmt = AV_SAMPLE_FMT_FLT;
	av_channel_layout_default(&ctx->ch_layout, 2);
	ctx->bit_rate = bitrate;
	ctx->time_base = (AVRational){1, 48000};
	AVDictionary *opts = NULL;
	av_dict_set(&opts, "application", "audio", 0);
	av_dict_set(&opts, "frame_duration", "20", 0);
	*err = avcodec_open2(ctx, codec, &opts);
	av_dict_free(&opts);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	return sy_codec_new(ctx, err);
}

AVFrame *sy_flt_frame_new(int nb_samples, int *err) {
	AVFrame *f = av_frame_alloc();
	if (!f) { *err = AVERROR(ENOMEM); return NULL; }
	f->format = AV_SAMPLE_FMT_FLT;
	f->nb_samples = nb_samples;
	f->sample_rate = 48000;
	av_channel_layout_default(&f->ch_layout, 2);
	*err = av_frame_get_buffer(f, 0);
	if (*err < 0) { av_frame_free(&f); return NULL; }
	return f;
}

void sy_fill_flt(AVFrame *f, const float *interleaved, int n) {
	memcpy(f->data[0], interleaved, sizeof(float) * 2 * n);
}
