#include <stdint.h>

void sy_blend_plane(uint8_t *d, int dstride, const uint8_t *fg, const uint8_t *a, int sstride,
	int w, int h, int op);
