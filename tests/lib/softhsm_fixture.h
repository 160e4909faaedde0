/* softhsm_fixture.h -- a real SoftHSM2 token in a temporary directory, for tests.
 *
 * softhsm_fixture_create() makes a fresh directory under $TMPDIR (or /tmp),
 * writes softhsm2.conf there (tokens in <dir>/tokens, file backend, log level
 * ERROR), points SOFTHSM2_CONF at it, loads the module named by
 * $SIGNET_SOFTHSM_MODULE (ctest sets it) with hsm_open, initialises a token
 * with a random label and random SO and user PINs through
 * hsm_token_initialize (never a command line), and optionally opens and logs
 * in to it. softhsm_fixture_destroy() closes everything and removes the
 * directory. The PINs exist only in sg_secret memory and in files the test
 * asks for.
 *
 * For cmocka: softhsm_setup / softhsm_teardown as per-test setup/teardown
 * (state becomes a softhsm_fixture * with the token open), or
 * softhsm_setup_closed for tests that open the token themselves.
 *
 * The same fixture runs on a second PKCS#11 implementation when
 * $SIGNET_TEST_PKCS11 is "softokn" (ctest's *_softokn entries set it and
 * $SIGNET_SOFTOKN_MODULE): NSS's softokn with its database in <dir>/nssdb,
 * handed to C_Initialize as library parameters (hsm_open_args), the token
 * labelled by dbTokenDescription and its user PIN set the NSS way (an SO
 * login with the empty PIN, then C_InitPIN: softokn has no SO PIN and
 * ignores C_InitToken's label). Tests read f->impl and assert what softokn
 * does differently (docs/HSM.md, "A second implementation").
 *
 * Not thread safe while creating or destroying (it sets SOFTHSM2_CONF); one
 * fixture per module and process, since a module is initialised once.
 */
#ifndef SIGNET_TEST_SOFTHSM_FIXTURE_H
#define SIGNET_TEST_SOFTHSM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"
#include "hsm/hsm.h"

/* The buffer the tests pass as errmsg to the hsm layer (HSM_ERR) from their
 * main thread, so that a failed assertion can print the reason; a test's
 * own threads pass buffers of their own. */
extern char shf_errmsg[HSM_ERRMSG_MAX];
#define HSM_ERR shf_errmsg, sizeof(shf_errmsg)

/* CK_FUNCTION_LIST of <p11-kit/pkcs11.h> (whose compat macros name the tag
 * so), for tests that inject faults; include that header to use it. */
struct _CK_FUNCTION_LIST;

/* The PKCS#11 implementation under the fixture. */
typedef enum softhsm_impl {
	SOFTHSM_IMPL_SOFTHSM2 = 0, /* SoftHSM2, $SIGNET_SOFTHSM_MODULE */
	SOFTHSM_IMPL_SOFTOKN       /* NSS's softokn, $SIGNET_SOFTOKN_MODULE */
} softhsm_impl;

typedef struct softhsm_fixture {
	softhsm_impl impl;            /* which module this is */
	char init_args[1024];         /* library parameters given to C_Initialize, or "" */
	char dir[256];                /* the temporary directory, removed at the end */
	char conf[300];               /* <dir>/softhsm2.conf */
	char tokendir[300];           /* <dir>/tokens (softokn: <dir>/nssdb): move it away
	                               * to fake a lost token */
	char module[4096];            /* module path from the environment */
	char label[33];               /* the token's random label */
	char serial[17];              /* the token's serial, as the module reports it */
	unsigned long slot;           /* the token's slot ID after initialisation */
	sg_secret *so_pin;            /* random security-officer PIN (softokn has none:
	                               * its SO logs in with the empty PIN, once) */
	sg_secret *user_pin;          /* random user PIN */
	hsm_ctx *ctx;                 /* the loaded module */
	hsm_token *tok;               /* the open, logged-in token, or NULL */
	struct _CK_FUNCTION_LIST *p11; /* the module's own function list, for raw calls */
	void *dl;                     /* our reference on the module, for p11 */
} softhsm_fixture;

/* Build a fixture as described above; open_token says whether to open and
 * log in (f->tok). Free with softhsm_fixture_destroy. On failure everything
 * made so far is removed and the reason printed to stderr. */
signet_err softhsm_fixture_create(bool open_token, softhsm_fixture **out);

/* The implementation $SIGNET_TEST_PKCS11 names: SoftHSM2 when it is unset or
 * "softhsm2", softokn for "softokn"; anything else fails the test (stderr
 * says why) by returning -1. */
int softhsm_fixture_impl(softhsm_impl *out);

/* softhsm_fixture_create on a given implementation, whatever the
 * environment says: for tests that use both at once. */
signet_err softhsm_fixture_create_impl(softhsm_impl impl, bool open_token,
				       softhsm_fixture **out);

/* Close the token (if open) and the module and remove the directory. NULL is
 * fine. Sessions must be closed first. */
void softhsm_fixture_destroy(softhsm_fixture *f);

/* Load f's module into a new context, with f's library parameters when it
 * has any (softokn), as a restart of the process would. */
signet_err softhsm_fixture_open_module(const softhsm_fixture *f, hsm_ctx **out);

/* Write the user PIN to <dir>/<name> with mode 0600 and put its path in
 * path (pathlen octets), for tests of PIN sources. */
signet_err softhsm_fixture_pin_file(softhsm_fixture *f, const char *name, char *path,
				    size_t pathlen);

/* cmocka setup/teardown: *state becomes the softhsm_fixture *. */
int softhsm_setup(void **state);          /* token open */
int softhsm_setup_closed(void **state);   /* token initialised but not opened */
int softhsm_teardown(void **state);

#endif /* SIGNET_TEST_SOFTHSM_FIXTURE_H */
