/* bench_token.h -- a throwaway SoftHSM2 token for the benchmarks: its own
 * configuration in a temporary directory, random PINs that live only in
 * locked memory, logged in, and the module's raw function list for the
 * cells that measure C_Sign without signet's hsm/ layer.
 *
 * Needs $SIGNET_SOFTHSM_MODULE (the path of libsofthsm2.so; scripts/bench
 * sets it). Sets SOFTHSM2_CONF for the process: one at a time.
 */
#ifndef SIGNET_BENCH_TOKEN_H
#define SIGNET_BENCH_TOKEN_H

#include <p11-kit/pkcs11.h>

#include "common/common.h"
#include "hsm/hsm.h"

typedef struct bench_token {
	char dir[256];         /* the temporary directory, removed at the end */
	hsm_ctx *ctx;          /* the loaded module */
	hsm_token *tok;        /* the token, logged in */
	CK_FUNCTION_LIST *p11; /* the module's own function list */
	CK_SLOT_ID slot;       /* the token's slot */
	void *dl;              /* our reference on the module, for p11 */
} bench_token;

/* Make, initialise and log in to a fresh token. On failure everything made
 * so far is removed and the reason printed to stderr. Free with
 * bench_token_destroy. */
signet_err bench_token_create(bench_token **out);

/* Log out, unload and remove the directory. NULL is fine. */
void bench_token_destroy(bench_token *t);

#endif /* SIGNET_BENCH_TOKEN_H */
