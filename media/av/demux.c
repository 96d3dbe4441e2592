#include "demux.h"

void sy_demux_close(sy_demux *d) {
	if (!d) return;
	av_bsf_free(&d->bsf);
	av_packet_free(&d->pkt);
	avformat_close_input(&d->fmt);
	av_free(d);
}

int sy_demux_open(const char *path, sy_demux **out) {
	*out = NULL;
	sy_demux *d = av_mallocz(sizeof(*d));
	if (!d) return AVERROR(ENOMEM);
	d->vidx = d->aidx = -1;
	int err = avformat_open_input(&d->fmt, path, NULL, NULL);
	if (err < 0) { av_free(d); return err; }
	if ((err = avformat_find_stream_info(d->fmt, NULL)) < 0) { sy_demux_close(d); return err; }
	d->vidx = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	d->aidx = av_find_best_stream(d->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (d->vidx < 0) d->vidx = -1;
	if (d->aidx < 0) d->aidx = -1;
	for (unsigned i = 0; i < d->fmt->nb_streams; i++)
		if ((int)i != d->vidx && (int)i != d->aidx) d->fmt->streams[i]->discard = AVDISCARD_ALL;
	d->pkt = av_packet_alloc();
	if (!d->pkt) { sy_demux_close(d); return AVERROR(ENOMEM); }
	if (d->vidx >= 0) {
		AVStream *st = d->fmt->streams[d->vidx];
		const char *name = NULL;
		if (st->codecpar->codec_id == AV_CODEC_ID_H264) name = "h264_mp4toannexb";
		if (st->codecpar->codec_id == AV_CODEC_ID_HEVC) name = "hevc_mp4toannexb";
		if (name) {
			const AVBitStreamFilter *f = av_bsf_get_by_name(name);
			if (!f) { sy_demux_close(d); return AVERROR_BSF_NOT_FOUND; }
			if ((err = av_bsf_alloc(f, &d->bsf)) < 0) { sy_demux_close(d); return err; }
			avcodec_parameters_copy(d->bsf->par_in, st->codecpar);
			d->bsf->time_base_in = st->time_base;
			if ((err = av_bsf_init(d->bsf)) < 0) { sy_demux_close(d); return err; }
		}
	}
	*out = d;
	return 0;
}

// sy_demux_read leaves the next packet of the video or audio stream in d->pkt
// (video filtered to Annex-B); AVERROR_EOF at the end.
int sy_demux_read(sy_demux *d) {
	for (;;) {
		av_packet_unref(d->pkt);
		if (d->bsf) {
			int err = av_bsf_receive_packet(d->bsf, d->pkt);
			if (err == 0) { d->pkt->stream_index = d->vidx; return 0; }
			if (err != AVERROR(EAGAIN)) return err;
		}
		int err = av_read_frame(d->fmt, d->pkt);
		if (err == AVERROR_EOF && d->bsf && !d->bsf_eof) {
			d->bsf_eof = 1;
			av_bsf_send_packet(d->bsf, NULL);
			continue;
		}
		if (err < 0) return err;
		if (d->pkt->stream_index == d->vidx && d->bsf) {
			if ((err = av_bsf_send_packet(d->bsf, d->pkt)) < 0) return err;
			continue;
		}
		if (d->pkt->stream_index == d->vidx || d->pkt->stream_index == d->aidx) return 0;
	}
}

int sy_demux_seek(sy_demux *d, int64_t us) {
	int err = av_seek_frame(d->fmt, -1, us, AVSEEK_FLAG_BACKWARD);
	if (err < 0) return err;
	if (d->bsf) av_bsf_flush(d->bsf);
	d->bsf_eof = 0;
	return 0;
}

const AVCodecParameters *sy_demux_vpar(sy_demux *d) {
	if (d->vidx < 0) return NULL;
	return d->bsf ? d->bsf->par_out : d->fmt->streams[d->vidx]->codecpar;
}
const AVCodecParameters *sy_demux_apar(sy_demux *d) {
	return d->aidx < 0 ? NULL : d->fmt->streams[d->aidx]->codecpar;
}
AVRational sy_demux_vtb(sy_demux *d) { return d->fmt->streams[d->vidx]->time_base; }
AVRational sy_demux_atb(sy_demux *d) { return d->fmt->streams[d->aidx]->time_base; }
AVRational sy_demux_vrate(sy_demux *d) { return d->fmt->streams[d->vidx]->avg_frame_rate; }
