/* tls_key.c -- the client's TLS key in a token: one logged-in token per
 * process, shared by every connection that names the same key. One, because
 * a PKCS#11 module is initialised once per process (hsm_open) and libp11's
 * engine is set up for one module. It stays logged in until the process
 * ends: closing it would C_Finalize the module under libp11's engine, which
 * keeps its sessions and object handles and would use them stale on the
 * next connection. When the token's sessions die under it (a token reset),
 * client_tls_key_repair loads the key again through a fresh instance of
 * the engine (hsm_tls_key_check, as signetd's repair thread does) and the
 * connections make new channels with it (rpc.c). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "hsm/hsm.h"

static pthread_mutex_t tk_lock = PTHREAD_MUTEX_INITIALIZER;
static hsm_ctx *tk_ctx;
static hsm_tls_key *tk_key;
static char tk_module[CLIENT_PATH_MAX];
static char tk_uri[CLIENT_PATH_MAX];
static uint64_t tk_failures_seen; /* hsm_tls_engine_failures() at the last check */
static uint64_t tk_reloads;       /* the key loaded through a new engine instance */

static signet_err tk_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static signet_err tk_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
{
	if (errmsg && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errmsg, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

signet_err client_tls_key_acquire(const client_config *cfg, const uint8_t *cert, size_t certlen,
				  char *engine_key, size_t keylen, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (!cfg || !cert || !engine_key)
		return SIGNET_EINVAL;
	signet_err ret = SIGNET_OK;
	pthread_mutex_lock(&tk_lock);
	if (tk_key) {
		if (strcmp(tk_module, cfg->key_module) != 0 || strcmp(tk_uri, cfg->key) != 0)
			ret = tk_fail(errmsg, errlen, SIGNET_ESTATE,
				      "key: this process uses %s already; one key in a token per "
				      "process",
				      tk_uri);
		goto done;
	}
	sg_secret *pin = NULL;
	ret = sg_secret_from_file(cfg->key_pin, &pin);
	if (ret != SIGNET_OK) {
		ret = tk_fail(errmsg, errlen, ret, "key-pin %s: %s%s", cfg->key_pin,
			      signet_strerror(ret),
			      ret == SIGNET_EPERM ? " (the PIN file must be this user's and "
						    "not readable by group or others)"
						  : "");
		goto out;
	}
	ret = hsm_open_args(cfg->key_module, cfg->key_module_args[0] ? cfg->key_module_args : NULL,
			    &tk_ctx, hsmerr, sizeof(hsmerr));
	if (ret != SIGNET_OK) {
		ret = tk_fail(errmsg, errlen, ret, "key-module %s: %s (%s)", cfg->key_module,
			      signet_strerror(ret), hsmerr);
		goto out;
	}
	char sub[768];
	hsm_tls_key_params p = {
		.ctx = tk_ctx, .uri = cfg->key, .pin = pin, .cert_pem = cert, .cert_len = certlen};
	ret = hsm_tls_key_open(&p, &tk_key, sub, sizeof(sub));
	if (ret != SIGNET_OK) {
		ret = tk_fail(errmsg, errlen, ret, "key: %s", sub);
		hsm_close(tk_ctx);
		tk_ctx = NULL;
		goto out;
	}
	snprintf(tk_module, sizeof(tk_module), "%s", cfg->key_module);
	snprintf(tk_uri, sizeof(tk_uri), "%s", cfg->key);
	tk_failures_seen = hsm_tls_engine_failures();
out:
	sg_secret_free(pin);
done:
	if (ret == SIGNET_OK) {
		int n = snprintf(engine_key, keylen, "%s", hsm_tls_key_engine_key(tk_key));
		if (n < 0 || (size_t)n >= keylen)
			ret = SIGNET_ERANGE;
	}
	pthread_mutex_unlock(&tk_lock);
	return ret;
}

signet_err client_tls_key_repair(char *engine_key, size_t keylen, char *errmsg, size_t errlen)
{
	if (!engine_key)
		return SIGNET_EINVAL;
	signet_err ret = SIGNET_OK;
	pthread_mutex_lock(&tk_lock);
	if (!tk_key) {
		ret = tk_fail(errmsg, errlen, SIGNET_ESTATE, "key: no key in a token is open");
		goto out;
	}
	/* A check costs about 17 signatures in the token: only when a
	 * signature through the engine failed since the last one (a
	 * handshake, or that check's own probe). */
	uint64_t failures = hsm_tls_engine_failures();
	if (failures != tk_failures_seen) {
		bool renewed = false;
		char why[768] = "";
		ret = hsm_tls_key_check(tk_key, &renewed, why, sizeof(why));
		/* The check's own failed probes are not news for the next one. */
		tk_failures_seen = hsm_tls_engine_failures();
		if (ret != SIGNET_OK)
			ret = tk_fail(errmsg, errlen, ret, "key: %s", why);
		else if (renewed)
			tk_reloads++;
	}
out:
	if (ret == SIGNET_OK) {
		int n = snprintf(engine_key, keylen, "%s", hsm_tls_key_engine_key(tk_key));
		if (n < 0 || (size_t)n >= keylen)
			ret = SIGNET_ERANGE;
	}
	pthread_mutex_unlock(&tk_lock);
	return ret;
}

uint64_t client_tls_key_reloads(void)
{
	pthread_mutex_lock(&tk_lock);
	uint64_t n = tk_reloads;
	pthread_mutex_unlock(&tk_lock);
	return n;
}
