package av

/*
#include <malloc.h>

static long long sy_c_heap_in_use(void) {
	struct mallinfo2 mi = mallinfo2();
	return (long long)(mi.uordblks + mi.hblkhd);
}
*/
import "C"

// CHeapInUse is the bytes the C allocator holds for the process's C code
// (FFmpeg's frames, codecs and scalers among it): what a leak of C memory
// grows, unlike the resident size, which the allocator's arenas and the
// runtime's own mappings move as they please.
func CHeapInUse() int64 { return int64(C.sy_c_heap_in_use()) }
