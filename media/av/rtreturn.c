// The watch on real-time threads coming back from C into Go: see rtreturn.go.
#ifdef __linux__
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

#include <time.h>

#include "rtreturn.h"

#ifdef __linux__

// A thread is lowered once it has been its watch's after (1 ms: rtreturn.go)
// out of its C call without coming back into Go, and raised again after
// RW_LOWERED_NS if it is still not back (so a thread that is not held by the
// runtime but only waits is never left in SCHED_IDLE behind ordinary threads
// for long).
#define RW_LOWERED_NS 1000000
#define RW_SLOTS 16
// The watcher's real-time priority: above the program's threads (10, 11),
// under the kernel's own (50 and up).
#define RW_PRIO 20

static sy_rw *rw_slots[RW_SLOTS]; // under rw_slots_mu
static pthread_mutex_t rw_slots_mu = PTHREAD_MUTEX_INITIALIZER; // the watcher holds it through each look
static int32_t rw_seq;  // futex word: moved by a leaving thread that finds the watcher idle
static int32_t rw_idle; // the watcher waits for a leaving, without a deadline
static int32_t rw_tid;
static pthread_mutex_t rw_start = PTHREAD_MUTEX_INITIALIZER;
static int rw_started; // 1 running, -1 could not start
static __thread sy_rw *rw_cur;

static int64_t rw_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int rw_set(int tid, int policy, int prio) {
	struct sched_param p = {.sched_priority = prio};
	return syscall(SYS_sched_setscheduler, tid, policy, &p) == 0 ? 0 : errno;
}

// rw_look looks at one watched thread at now; returns when to look again
// (INT64_MAX: not out of C).
static int64_t rw_look(sy_rw *w, int64_t now) {
	if (!__atomic_load_n(&w->left, __ATOMIC_SEQ_CST)) return INT64_MAX;
	__atomic_store_n(&w->busy, 1, __ATOMIC_SEQ_CST);
	int64_t next = INT64_MAX;
	// Read again with busy set: a thread that came back before this read
	// sees busy and waits for it (Dekker's order, both sides sequentially
	// consistent); one that comes back after it sees busy or lowered.
	int64_t left = __atomic_load_n(&w->left, __ATOMIC_SEQ_CST);
	if (left) {
		if (!__atomic_load_n(&w->lowered, __ATOMIC_SEQ_CST)) {
			if (now - left >= w->after) {
				if (rw_set(w->tid, SCHED_IDLE, 0) == 0) {
					w->lowered_at = now;
					__atomic_store_n(&w->lowered, 1, __ATOMIC_SEQ_CST);
					__atomic_store_n(&w->rescued, 1, __ATOMIC_SEQ_CST);
					next = now + RW_LOWERED_NS;
				}
			} else {
				next = left + w->after;
			}
		} else if (now - w->lowered_at >= RW_LOWERED_NS) {
			rw_set(w->tid, w->policy, w->prio);
			__atomic_store_n(&w->lowered, 0, __ATOMIC_SEQ_CST);
			next = now + w->after;
		} else {
			next = w->lowered_at + RW_LOWERED_NS;
		}
	}
	__atomic_store_n(&w->busy, 0, __ATOMIC_SEQ_CST);
	return next;
}

static void *rw_watch(void *arg) {
	(void)arg;
	__atomic_store_n(&rw_tid, (int32_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	for (;;) {
		int32_t seq = __atomic_load_n(&rw_seq, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rw_idle, 1, __ATOMIC_SEQ_CST);
		int64_t now = rw_now(), next = INT64_MAX;
		pthread_mutex_lock(&rw_slots_mu);
		for (int i = 0; i < RW_SLOTS; i++) {
			sy_rw *w = rw_slots[i];
			if (w) {
				int64_t t = rw_look(w, now);
				if (t < next) next = t;
			}
		}
		pthread_mutex_unlock(&rw_slots_mu);
		if (next == INT64_MAX) {
			syscall(SYS_futex, &rw_seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0);
			continue;
		}
		__atomic_store_n(&rw_idle, 0, __ATOMIC_SEQ_CST);
		struct timespec ts = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
		}
	}
	return NULL;
}

static int rw_create(int prio) {
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&a, SCHED_FIFO);
	struct sched_param p = {.sched_priority = prio};
	pthread_attr_setschedparam(&a, &p);
	pthread_t t;
	int err = pthread_create(&t, &a, rw_watch, NULL);
	pthread_attr_destroy(&a);
	if (err == 0) pthread_detach(t);
	return err;
}

// rw_run starts the watcher once, in real time above the watched thread
// (prio): at RW_PRIO, or where the process may only go lower (RLIMIT_RTPRIO)
// one above prio; 0 when it runs.
static int rw_run(int prio) {
	pthread_mutex_lock(&rw_start);
	if (!rw_started) {
		int err = rw_create(RW_PRIO);
		if (err == EPERM && prio + 1 < RW_PRIO) err = rw_create(prio + 1);
		if (err == 0) {
			// Its id is known before any watch is: whoever looks at the
			// process's threads can tell the watcher from the others.
			while (!__atomic_load_n(&rw_tid, __ATOMIC_SEQ_CST)) sched_yield();
			rw_started = 1;
		} else {
			rw_started = -1;
		}
	}
	int ok = rw_started == 1 ? 0 : -1;
	pthread_mutex_unlock(&rw_start);
	return ok;
}

int sy_rw_attach(sy_rw *w, int64_t after_ns) {
	w->tid = (int32_t)syscall(SYS_gettid);
	struct sched_param p;
	w->policy = sched_getscheduler(0);
	if (w->policy < 0 || sched_getparam(0, &p) != 0) return -1;
	w->prio = p.sched_priority;
	w->slot = -1;
	w->after = after_ns;
	if (w->policy != SCHED_RR && w->policy != SCHED_FIFO) return -1; // not in real time: nothing to cure
	if (rw_run(w->prio) != 0) return -1;
	pthread_mutex_lock(&rw_slots_mu);
	for (int i = 0; i < RW_SLOTS && w->slot < 0; i++) {
		if (!rw_slots[i]) {
			rw_slots[i] = w;
			w->slot = i;
		}
	}
	pthread_mutex_unlock(&rw_slots_mu);
	if (w->slot < 0) return -2;
	rw_cur = w;
	return 0;
}

// sy_rw_detach ends w's watch; once it returns the watcher no longer looks
// at w (it looks only under rw_slots_mu), so w may be freed.
void sy_rw_detach(sy_rw *w) {
	rw_cur = NULL;
	if (w->slot >= 0) {
		pthread_mutex_lock(&rw_slots_mu);
		rw_slots[w->slot] = NULL;
		pthread_mutex_unlock(&rw_slots_mu);
		w->slot = -1;
	}
}

sy_rw *sy_rw_leaving(void) {
	sy_rw *w = rw_cur;
	if (!w) return NULL;
	__atomic_store_n(&w->left, rw_now(), __ATOMIC_SEQ_CST);
	if (w->slot >= 0 && __atomic_load_n(&rw_idle, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&rw_seq, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &rw_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	return w;
}

sy_rw *sy_rw_sleep(int64_t ns) {
	struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
	}
	return sy_rw_leaving();
}

int sy_rw_watcher_tid(void) { return __atomic_load_n(&rw_tid, __ATOMIC_SEQ_CST); }

#else

int sy_rw_attach(sy_rw *w, int64_t after_ns) { (void)w; (void)disabled; return -1; }
void sy_rw_detach(sy_rw *w) { (void)w; }
sy_rw *sy_rw_leaving(void) { return NULL; }
sy_rw *sy_rw_sleep(int64_t ns) {
	struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
	nanosleep(&ts, NULL);
	return NULL;
}
int sy_rw_watcher_tid(void) { return 0; }

#endif
