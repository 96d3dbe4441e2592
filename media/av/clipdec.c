#include "clipdec.h"

void sy_clipdec_close(sy_clipdec *c) {
	if (!c) return;
	sws_freeContext(c->sws);
	swr_free(&c->swr);
	av_frame_free(&c->frame);
	av_packet_free(&c->pkt);
	avcodec_free_context(&c->vdec);
	avcodec_free_context(&c->adec);
	avformat_close_input(&c->fmt);
	av_free(c);
}

static int open_dec(AVStream *st, const AVCodec *codec, AVCodecContext **out) {
	if (!codec) return AVERROR_DECODER_NOT_FOUND;
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) return AVERROR(ENOMEM);
	int err = avcodec_parameters_to_context(ctx, st->codecpar);
	if (err >= 0) {
		ctx->pkt_timebase = st->time_base;
		ctx->thread_count = 1; // decoded beside the program: one core at most
		err = avcodec_open2(ctx, codec, NULL);
	}
	if (err < 0) { avcodec_free_context(&ctx); return err; }
	*out = ctx;
	return 0;
}

// sy_clipdec_open opens path and decoders for its best video stream
// (required) and best audio stream (when the build decodes it). VP9 prefers
// libvpx-vp9 when prefer_libvpx is set: FFmpeg's native vp9 decoder drops the
// alpha that WebM carries beside the picture (BlockAdditional); libvpx's
// decodes it.
int sy_clipdec_open(const char *path, int prefer_libvpx, sy_clipdec **out) {
	*out = NULL;
	sy_clipdec *c = av_mallocz(sizeof(*c));
	if (!c) return AVERROR(ENOMEM);
	c->vidx = c->aidx = -1;
	int err = avformat_open_input(&c->fmt, path, NULL, NULL);
	if (err < 0) { av_free(c); return err; }
	if ((err = avformat_find_stream_info(c->fmt, NULL)) < 0) goto fail;
	c->vidx = av_find_best_stream(c->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (c->vidx < 0) { err = AVERROR_STREAM_NOT_FOUND; c->vidx = -1; goto fail; }
	c->aidx = av_find_best_stream(c->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (c->aidx < 0) c->aidx = -1;
	for (unsigned i = 0; i < c->fmt->nb_streams; i++)
		if ((int)i != c->vidx && (int)i != c->aidx) c->fmt->streams[i]->discard = AVDISCARD_ALL;
	AVStream *vs = c->fmt->streams[c->vidx];
	const AVCodec *vc = NULL;
	if (prefer_libvpx && vs->codecpar->codec_id == AV_CODEC_ID_VP9) vc = avcodec_find_decoder_by_name("libvpx-vp9");
	if (!vc) vc = avcodec_find_decoder(vs->codecpar->codec_id);
	if ((err = open_dec(vs, vc, &c->vdec)) < 0) goto fail;
	if (c->aidx >= 0) {
		AVStream *as = c->fmt->streams[c->aidx];
		if (open_dec(as, avcodec_find_decoder(as->codecpar->codec_id), &c->adec) < 0) {
			as->discard = AVDISCARD_ALL; // a sound the build cannot decode: the pictures alone
			c->aidx = -1;
		}
	}
	c->pkt = av_packet_alloc();
	c->frame = av_frame_alloc();
	if (!c->pkt || !c->frame) { err = AVERROR(ENOMEM); goto fail; }
	*out = c;
	return 0;
fail:
	sy_clipdec_close(c);
	return err;
}

// sy_clipdec_next leaves the next decoded picture or block of sound in
// c->frame and returns SY_CLIP_VIDEO or SY_CLIP_AUDIO; AVERROR_EOF when both
// decoders are drained; another negative code on an error.
int sy_clipdec_next(sy_clipdec *c) {
	for (;;) {
		av_frame_unref(c->frame);
		if (!c->vdone) {
			int err = avcodec_receive_frame(c->vdec, c->frame);
			if (err == 0) return SY_CLIP_VIDEO;
			if (err == AVERROR_EOF) c->vdone = 1;
			else if (err != AVERROR(EAGAIN)) return err;
		}
		if (c->adec && !c->adone) {
			int err = avcodec_receive_frame(c->adec, c->frame);
			if (err == 0) return SY_CLIP_AUDIO;
			if (err == AVERROR_EOF) c->adone = 1;
			else if (err != AVERROR(EAGAIN)) return err;
		}
		if (c->vdone && (!c->adec || c->adone)) return AVERROR_EOF;
		if (c->eof) return AVERROR_EOF; // flushed decoders with nothing more
		av_packet_unref(c->pkt);
		int err = av_read_frame(c->fmt, c->pkt);
		if (err == AVERROR_EOF) {
			c->eof = 1;
			avcodec_send_packet(c->vdec, NULL);
			if (c->adec) avcodec_send_packet(c->adec, NULL);
			continue;
		}
		if (err < 0) return err;
		AVCodecContext *dec = NULL;
		if (c->pkt->stream_index == c->vidx) dec = c->vdec;
		else if (c->pkt->stream_index == c->aidx) dec = c->adec;
		if (!dec) continue;
		err = avcodec_send_packet(dec, c->pkt);
		if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) return err;
	}
}

// sy_clipdec_alpha tells whether the picture in c->frame carries alpha.
int sy_clipdec_alpha(const sy_clipdec *c) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(c->frame->format);
	return d && (d->flags & AV_PIX_FMT_FLAG_ALPHA);
}

// sy_clipdec_yuva converts the picture in c->frame to YUVA 4:2:0 of w×h
// (BT.601 limited range, as the program) into tightly packed planes: y and
// a w×h, u and v (w/2)×(h/2).
int sy_clipdec_yuva(sy_clipdec *c, uint8_t *y, uint8_t *u, uint8_t *v, uint8_t *a, int w, int h) {
	AVFrame *f = c->frame;
	c->sws = sws_getCachedContext(c->sws, f->width, f->height, f->format, w, h, AV_PIX_FMT_YUVA420P,
		SWS_BILINEAR, NULL, NULL, NULL);
	if (!c->sws) return AVERROR(EINVAL);
	uint8_t *dst[4] = {y, u, v, a};
	int stride[4] = {w, w / 2, w / 2, w};
	int n = sws_scale(c->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
	return n < 0 ? n : 0;
}

// sy_clipdec_samples resamples the sound in c->frame to interleaved stereo
// float at out_rate; it returns the samples (per channel) written.
int sy_clipdec_samples(sy_clipdec *c, float *out, int out_cap, int out_rate) {
	AVFrame *in = c->frame;
	if (!c->swr) {
		AVChannelLayout stereo;
		av_channel_layout_default(&stereo, 2);
		int err = swr_alloc_set_opts2(&c->swr, &stereo, AV_SAMPLE_FMT_FLT, out_rate,
			&in->ch_layout, in->format, in->sample_rate, 0, NULL);
		if (err < 0) return err;
		if (in->ch_layout.nb_channels == 1) { // mono to both sides at its level, as sy_resample does
			const double dual_mono[2] = {1.0, 1.0};
			if ((err = swr_set_matrix(c->swr, dual_mono, 1)) < 0) { swr_free(&c->swr); return err; }
		}
		if ((err = swr_init(c->swr)) < 0) { swr_free(&c->swr); return err; }
	}
	uint8_t *o[1] = {(uint8_t *)out};
	return swr_convert(c->swr, o, out_cap, (const uint8_t **)in->extended_data, in->nb_samples);
}

AVRational sy_clipdec_vtb(const sy_clipdec *c) { return c->fmt->streams[c->vidx]->time_base; }
AVRational sy_clipdec_vrate(const sy_clipdec *c) { return c->fmt->streams[c->vidx]->avg_frame_rate; }
