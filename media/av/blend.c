#include "av.h"

// One plane of a premultiplied layer over a picture: d = fg·o + d·(1 − α·o)
// with o = op/256, rounded to nearest. At full opacity the arithmetic fits
// 16 bits, which the compiler turns into 8 or 16 pixels an instruction:
// fg + d·(255 − α)/255, the division by 255 done exactly as
// (t + t/256)/256 with t = x + 128 (x ≤ 255·255).
void sy_blend_plane(uint8_t *d, int dstride, const uint8_t *fg, const uint8_t *a, int sstride,
	int w, int h, int op) {
	for (int y = 0; y < h; y++) {
		uint8_t *restrict dr = d + (long)y * dstride;
		const uint8_t *restrict fr = fg + (long)y * sstride;
		const uint8_t *restrict ar = a + (long)y * sstride;
		if (op >= 256) {
			for (int i = 0; i < w; i++) {
				uint16_t t = (uint16_t)(dr[i] * (255 - ar[i]) + 128);
				uint16_t v = (uint16_t)(fr[i] + ((t + (t >> 8)) >> 8));
				dr[i] = ar[i] ? (uint8_t)v : dr[i];
			}
			continue;
		}
		for (int i = 0; i < w; i++) {
			if (!ar[i]) continue;
			uint32_t x = (uint32_t)fr[i] * op * 255 + (uint32_t)dr[i] * (65280 - ar[i] * op) + 32640;
			dr[i] = (uint8_t)(x / 65280);
		}
	}
}
