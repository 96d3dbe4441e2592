package av

/*
#include "av.h"
*/
import "C"

import "unsafe"

// BlendPlane blends h rows of w samples of a premultiplied plane fg (its
// alpha a; both with stride sstride) over d (stride dstride), scaled by
// opacity op (0..256): d = fg·o + d·(1 − α·o) with o = op/256, in integers
// scaled by 255·256 and rounded to nearest; where α is 0, d stays. It runs
// in C, which the compiler vectorises. The slices must hold all h rows.
func BlendPlane(d []byte, dstride int, fg, a []byte, sstride, w, h, op int) {
	if w <= 0 || h <= 0 || op <= 0 {
		return
	}
	// the last row's end must lie inside every slice: C does not check
	_ = d[(h-1)*dstride+w-1]
	_ = fg[(h-1)*sstride+w-1]
	_ = a[(h-1)*sstride+w-1]
	C.sy_blend_plane((*C.uint8_t)(unsafe.Pointer(&d[0])), C.int(dstride), (*C.uint8_t)(unsafe.Pointer(&fg[0])),
		(*C.uint8_t)(unsafe.Pointer(&a[0])), C.int(sstride), C.int(w), C.int(h), C.int(op))
}
