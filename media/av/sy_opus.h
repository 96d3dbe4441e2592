#include "av.h"

sy_codec *sy_opus_enc_open(int bitrate, int *err);
AVFrame *sy_flt_frame_new(int nb_samples, int *err);
void sy_fill_flt(AVFrame *f, const float *interleaved, int n);
