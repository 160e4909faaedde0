/* engine.c -- libp11's OpenSSL engine ("pkcs11", package
 * libengine-pkcs11-openssl), which gRPC's TLS layer uses for a private key
 * given as "engine:pkcs11:<PKCS#11 URI>": made ready for this process's
 * module, and used once at start-up to load the key exactly as gRPC will.
 *
 * The ENGINE API is deprecated in OpenSSL 3 and gRPC 1.51 offers no other
 * way to a key in a token (it has no provider or store support). Declaring
 * the 1.1.1 API level here removes the deprecation attribute from the
 * declarations OpenSSL 3.0 deprecated, in this file only, and leaves every
 * other warning on; a pragma would hide deprecations of any origin. It must
 * come before the first OpenSSL header. */
#define OPENSSL_API_COMPAT 10101

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include "hsm/internal.h"

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static ENGINE *engine;                          /* functional reference, kept for the process */
static char *engine_module;                     /* the module it was pointed at */
static ENGINE_PKEY_METHS_PTR libp11_pkey_meths; /* the engine's own */

/* gRPC calls ENGINE_set_default(e, ENGINE_METHOD_ALL) when it loads a key,
 * which makes the engine's EVP_PKEY methods those of every RSA and EC key of
 * the process; they are legacy methods that fail on OpenSSL 3's provider
 * keys (measured: signetd's next GenerateZsk failed, and a client's EC key
 * generation after it connected). Setting the defaults asks the engine for
 * the list of key types it serves: this answers with none, while a key the
 * engine loaded still gets libp11's method by its type (EVP_PKEY_set1_engine
 * and every operation on that key ask so). */
static int pkey_meths_unlisted(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid)
{
	if (!pmeth) {
		*nids = NULL;
		return 0;
	}
	return libp11_pkey_meths(e, pmeth, nids, nid);
}

/* The most recent OpenSSL error as text (the engine's own reasons). */
static void openssl_reason(char *out, size_t outlen)
{
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, out, outlen);
	else
		snprintf(out, outlen, "no reason given");
	ERR_clear_error();
}

signet_err hsm_engine_ready(const char *module_path)
{
	if (!module_path || !*module_path)
		return hsm_fail(SIGNET_EINVAL, "pkcs11 engine: no module path");
	signet_err ret = SIGNET_OK;
	pthread_mutex_lock(&engine_lock);
	if (engine) {
		if (strcmp(engine_module, module_path) != 0)
			ret = hsm_fail(SIGNET_ESTATE,
				       "pkcs11 engine: already set up for module %s, not %s",
				       engine_module, module_path);
		goto out;
	}
	/* With no PIN at hand the engine asks OpenSSL's default UI, which
	 * prompts on the controlling terminal (measured): a daemon started
	 * from one would block at start-up and an operator might type the PIN
	 * there. The token is logged in by hsm/ before the engine is used, so
	 * any prompt is a mistake: make it fail. */
	UI_set_default_method(UI_null());
	ENGINE *e = ENGINE_by_id("pkcs11");
	if (!e) {
		ERR_clear_error();
		ret = hsm_fail(SIGNET_ENOTFOUND,
			       "pkcs11 engine not found in OpenSSL's engines directory "
			       "(install libengine-pkcs11-openssl)");
		goto out;
	}
	/* MODULE_PATH before init: the engine loads the module lazily, on the
	 * first key, and would otherwise take PKCS11_MODULE_PATH or p11-kit's
	 * proxy. The same path makes dlopen hand it the module hsm/ has
	 * initialised already, so both share one login (PKCS#11 logins belong
	 * to the application, not to a session). */
	if (!ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module_path, 0) || !ENGINE_init(e)) {
		char why[256];
		openssl_reason(why, sizeof(why));
		ENGINE_free(e);
		ret = hsm_fail(SIGNET_EHSM, "pkcs11 engine: cannot initialise: %s", why);
		goto out;
	}
	ENGINE_free(e); /* the structural reference; ENGINE_init's stays */
	libp11_pkey_meths = ENGINE_get_pkey_meths(e);
	if (libp11_pkey_meths)
		ENGINE_set_pkey_meths(e, pkey_meths_unlisted);
	engine_module = strdup(module_path);
	if (!engine_module) {
		ENGINE_finish(e);
		ret = hsm_fail(SIGNET_ENOMEM, "pkcs11 engine: out of memory");
		goto out;
	}
	/* Never finished: ENGINE_finish would make libp11 C_Finalize the
	 * module under hsm/'s sessions (gRPC keeps a reference of its own
	 * anyway). */
	engine = e;
out:
	pthread_mutex_unlock(&engine_lock);
	return ret;
}

signet_err hsm_engine_load_public(const char *uri, EVP_PKEY **pub)
{
	if (!uri || !pub)
		return hsm_fail(SIGNET_EINVAL, "pkcs11 engine: missing argument");
	*pub = NULL;
	pthread_mutex_lock(&engine_lock);
	ENGINE *e = engine;
	pthread_mutex_unlock(&engine_lock);
	if (!e)
		return hsm_fail(SIGNET_ESTATE, "pkcs11 engine: not set up");
	ERR_clear_error();
	EVP_PKEY *key = ENGINE_load_private_key(e, uri, NULL, NULL);
	if (!key) {
		char why[256];
		openssl_reason(why, sizeof(why));
		return hsm_fail(SIGNET_EHSM_KEY, "pkcs11 engine could not load the key: %s", why);
	}
	/* The public half as an ordinary key, detached from the engine. */
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	EVP_PKEY_free(key);
	if (n <= 0) {
		ERR_clear_error();
		return hsm_fail(SIGNET_ECRYPTO, "pkcs11 engine: key has no public half");
	}
	const unsigned char *p = der;
	*pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	if (!*pub) {
		ERR_clear_error();
		return hsm_fail(SIGNET_ECRYPTO, "pkcs11 engine: public half does not decode");
	}
	return SIGNET_OK;
}
