/* sanitizer.c -- defaults for AddressSanitizer and LeakSanitizer in every
 * signet program built with SIGNET_SANITIZE (tests, signetd, the CLIs). */
#include "common/common.h"

#ifdef SIGNET_SANITIZE
/* SoftHSM2 2.6.1 leaks two allocations (37 octets) in every C_SignInit with
 * an Ed25519 key, token or session object alike (measured: 2000 leaks for
 * 1000 signatures, none for P-256): an ASN1_STRING its key decoding makes
 * (ASN1_item_d2i_ex called from inside the module, under C_SignInit). Not
 * ours to fix. Only that entry point is left out: SoftHSM2 is stripped, so
 * its exported C_SignInit is the deepest frame a report can name, and a
 * leak under any other PKCS#11 call (a session, a login, a key signet
 * forgets) is still reported. The hsm layer keeps the module mapped
 * (RTLD_NODELETE) in these builds so the reports can name it. */
/* OpenSSL's per-thread error state (904 octets, allocated the first time a
 * thread touches the error queue, e.g. in ERR_clear_error) is freed when
 * that thread exits. gRPC 1.51's own threads may still be running when a
 * process exits after grpc_shutdown, so the state of one that did TLS work
 * is reported now and then (seen twice in the signet CLI under ASan, with
 * only libgrpc and libcrypto frames). Only allocations made inside
 * ERR_clear_error are left out, not gRPC's in general: a call or channel
 * signet forgets to release is still reported. OpenSSL's per-thread random
 * generators (RAND_get0_public/_private make them the first time a thread
 * needs random octets, e.g. in a TLS handshake, and free them when it exits)
 * are the same case: seen in signer_test_replicas under ASan, whose
 * failover channel reconnects to killed replicas on gRPC's threads (about
 * one run in five; libcrypto, libssl and libgrpc frames only). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:C_SignInit\n"
	       "leak:ERR_clear_error\n"
	       "leak:RAND_get0_public\n"
	       "leak:RAND_get0_private\n";
}

/* SoftHSM2 and libcrypto have no frame pointers: without the slow unwinder
 * a leak's stack stops inside libcrypto and never names the module. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0:malloc_context_size=16";
}
#endif
