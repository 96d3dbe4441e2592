// The watch on real-time threads coming back from C into Go (rtreturn.go).
#ifndef SWITCHYARD_RTRETURN_H
#define SWITCHYARD_RTRETURN_H

#include <stdint.h>

// sy_rw is one watched thread. left, busy, lowered and rescued are read and
// written with atomic operations by the thread's Go code, its C calls and
// the watcher.
typedef struct {
	int64_t left;      // CLOCK_MONOTONIC ns a watched C call ended; 0: in C or in Go
	int32_t busy;      // the watcher is looking at (and may be changing) the thread
	int32_t lowered;   // the watcher lowered the thread to SCHED_IDLE
	int32_t rescued;   // the watcher lowered it since the thread last came back
	int32_t tid, policy, prio;
	int32_t slot;
	int64_t after;      // ns out of C before the watcher lowers the thread
	int64_t lowered_at; // the watcher's own
} sy_rw;

int sy_rw_attach(sy_rw *w, int64_t after_ns);
void sy_rw_detach(sy_rw *w);
sy_rw *sy_rw_leaving(void);
sy_rw *sy_rw_sleep(int64_t ns);
int sy_rw_watcher_tid(void);

#endif
