/* bench.c -- a fixed-time, multi-threaded throughput loop for benchmarks and
 * the HSM self-test. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "common/common.h"

struct bench_thread {
	const sg_bench_ops *ops;
	void *state;
	atomic_int *phase;  /* 0 warm-up, 1 timed, 2 stop */
	uint64_t ops_timed; /* operations completed while phase was 1 */
	signet_err err;
	atomic_int *failed;
	pthread_t tid;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *bench_thread_main(void *p)
{
	struct bench_thread *t = p;
	for (;;) {
		int phase = atomic_load_explicit(t->phase, memory_order_relaxed);
		if (phase == 2 || atomic_load_explicit(t->failed, memory_order_relaxed))
			break;
		signet_err ret = t->ops->op(t->state);
		if (ret != SIGNET_OK) {
			t->err = ret;
			atomic_store(t->failed, 1);
			break;
		}
		/* An operation counts if it ended inside the timed phase. */
		if (atomic_load_explicit(t->phase, memory_order_relaxed) == 1)
			t->ops_timed++;
	}
	return NULL;
}

static void sleep_seconds(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0)
		;
}

signet_err sg_bench_run(const sg_bench_ops *ops, void *arg, unsigned threads, double seconds,
			sg_bench_result *out)
{
	if (ops == NULL || ops->op == NULL || out == NULL || threads == 0 || threads > 256 ||
	    !(seconds > 0.0) || seconds > 3600.0)
		return SIGNET_EINVAL;
	struct bench_thread *t = calloc(threads, sizeof(*t));
	if (t == NULL)
		return SIGNET_ENOMEM;
	atomic_int phase = 0, failed = 0;
	signet_err ret = SIGNET_OK;
	unsigned made = 0, started = 0;
	for (; made < threads; made++) {
		t[made].ops = ops;
		t[made].phase = &phase;
		t[made].failed = &failed;
		if (ops->init != NULL) {
			ret = ops->init(made, arg, &t[made].state);
			if (ret != SIGNET_OK)
				break;
		}
	}
	if (ret == SIGNET_OK) {
		for (; started < threads; started++)
			if (pthread_create(&t[started].tid, NULL, bench_thread_main, &t[started]) !=
			    0) {
				ret = SIGNET_ELIMIT;
				atomic_store(&phase, 2);
				break;
			}
	}
	double begin = 0, end = 0;
	if (ret == SIGNET_OK) {
		/* Warm-up lets caches, key handles and session objects settle. */
		double warm = seconds / 10 < 0.2 ? seconds / 10 : 0.2;
		sleep_seconds(warm);
		begin = now_seconds();
		atomic_store(&phase, 1);
		sleep_seconds(seconds);
		atomic_store(&phase, 2);
		end = now_seconds();
	}
	uint64_t total = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(t[i].tid, NULL);
		total += t[i].ops_timed;
		if (ret == SIGNET_OK && t[i].err != SIGNET_OK)
			ret = t[i].err;
	}
	for (unsigned i = 0; i < made; i++)
		if (ops->fini != NULL)
			ops->fini(t[i].state);
	free(t);
	if (ret != SIGNET_OK)
		return ret;
	out->ops = total;
	out->seconds = end - begin;
	out->per_second = out->seconds > 0 ? (double)total / out->seconds : 0;
	return SIGNET_OK;
}
