/* sanitizer.c -- defaults for AddressSanitizer and LeakSanitizer in every
 * signet program built with SIGNET_SANITIZE (tests, signetd, the CLIs). */
#include "common/common.h"

#ifdef SIGNET_SANITIZE
/* SoftHSM2 2.6.1 leaks two allocations (37 octets) in every C_SignInit with
 * an Ed25519 key, token or session object alike (measured: 2000 leaks for
 * 1000 signatures, none for P-256). Not ours to fix: keep LeakSanitizer to
 * our own code. The hsm layer keeps the module mapped (RTLD_NODELETE) in
 * these builds so the reports can name it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsofthsm2.so\n";
}

/* SoftHSM2 and libcrypto have no frame pointers: without the slow unwinder
 * a leak's stack stops inside libcrypto and never names the module. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0:malloc_context_size=12";
}
#endif
