/* clock.c -- the time signetd decides by: the system clock, or, in a build
 * with SIGNET_TEST_CLOCK (the test builds; never the package), a clock a
 * test may freeze and move, so months of rollovers pass in seconds. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/signer.h"

#ifdef SIGNET_TEST_CLOCK

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_bool settable;
static _Atomic int64_t frozen; /* 0: follow the system clock */

/* The environment is read once: a production start never has the variable,
 * and a process that has it says so in its log. */
static void init(void)
{
	const char *e = getenv("SIGNETD_TEST_CLOCK");
	if (e && strcmp(e, "1") == 0) {
		atomic_store(&settable, true);
		sg_log(SG_LOG_WARNING,
		       "SIGNETD_TEST_CLOCK=1: the clock may be set by an admin;"
		       " never run a production signetd like this");
	}
}

int64_t signer_clock_now(void)
{
	pthread_once(&once, init);
	int64_t f = atomic_load_explicit(&frozen, memory_order_relaxed);
	return f > 0 ? f : (int64_t)time(NULL);
}

bool signer_clock_settable(void)
{
	pthread_once(&once, init);
	return atomic_load(&settable);
}

signet_err signer_clock_set(int64_t t)
{
	if (t < 0)
		return SIGNET_EINVAL;
	if (!signer_clock_settable())
		return SIGNET_EPERM;
	atomic_store(&frozen, t);
	return SIGNET_OK;
}

signet_err signer_clock_enable_test(void)
{
	pthread_once(&once, init);
	atomic_store(&settable, true);
	return SIGNET_OK;
}

#else /* the product: the system clock, and nothing can change that */

int64_t signer_clock_now(void)
{
	return (int64_t)time(NULL);
}

bool signer_clock_settable(void)
{
	return false;
}

signet_err signer_clock_set(int64_t t)
{
	return t < 0 ? SIGNET_EINVAL : SIGNET_EUNSUPPORTED;
}

signet_err signer_clock_enable_test(void)
{
	return SIGNET_EUNSUPPORTED;
}

#endif
