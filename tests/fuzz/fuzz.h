/* fuzz.h -- what every fuzz target shares: the libFuzzer entry point and the
 * check that turns a broken invariant into a crash libFuzzer records. */
#ifndef SIGNET_FUZZ_H
#define SIGNET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Called once per input, by libFuzzer or by replay.c; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test promises (a round trip, an idempotent
 * canonical form) that does not hold is a bug like a crash: abort so that
 * libFuzzer saves the input and the replay test fails. */
#define FUZZ_CHECK(cond)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, \
				__LINE__, #cond);                               \
			abort();                                                \
		}                                                               \
	} while (0)

#endif /* SIGNET_FUZZ_H */
