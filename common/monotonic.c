/* monotonic.c -- the monotonic clock, for latencies, deadlines and rates. */
#include <time.h>

#include "common/common.h"

uint64_t sg_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
