/* module.c -- loading a PKCS#11 module, initialising it, and bringing it back after a fault. */

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hsm/internal.h"

uint64_t hsm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

CK_RV hsm_module_initialize(hsm_ctx *ctx)
{
	/* The module does its own locking with OS primitives: our threads call
	 * it concurrently on their own sessions. NSS declares one more pointer
	 * after the reserved field (its LibraryParameters sit where PKCS#11 has
	 * pReserved, and a pReserved of its own follows, "must be NULL"): the
	 * trailing NULL keeps a module that reads it inside our memory. */
	struct {
		CK_C_INITIALIZE_ARGS args;
		void *nss_reserved;
	} a;
	memset(&a, 0, sizeof(a));
	a.args.flags = CKF_OS_LOCKING_OK;
	a.args.pReserved = ctx->init_args;
	return ctx->fn->C_Initialize(&a.args);
}

static void ctx_free(hsm_ctx *ctx)
{
	if (ctx->dl != NULL)
		dlclose(ctx->dl);
	pthread_rwlock_destroy(&ctx->rw);
	pthread_mutex_destroy(&ctx->fail_lock);
	free(ctx->path);
	free(ctx->init_args);
	free(ctx);
}

signet_err hsm_open(const char *module_path, hsm_ctx **out, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	return hsm_open_args(module_path, NULL, out, eb->errmsg, eb->errlen);
}

/* Whether the text at p, case aside, is word followed by blanks and then
 * '=' or ':' (a setting named word). */
static bool names_setting(const char *p, const char *word)
{
	size_t n = strlen(word);
	if (strncasecmp(p, word, n) != 0)
		return false;
	p += n;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '=' || *p == ':';
}

/* What a module is handed as its library parameters is text we pass on
 * uninterpreted, so it is held to what such parameters are: one line of
 * printable ASCII, bounded. */
signet_err hsm_init_args_check(const char *init_args, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (init_args == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "module parameters: none given");
	size_t len = strnlen(init_args, HSM_INIT_ARGS_MAX + 1);
	if (len == 0)
		return hsm_fail(eb, SIGNET_EINVAL,
				"module parameters are empty (give none instead)");
	if (len > HSM_INIT_ARGS_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "module parameters longer than %u octets",
				HSM_INIT_ARGS_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)init_args[i];
		if (c < 0x20 || c > 0x7e)
			return hsm_fail(eb, SIGNET_EINVAL,
					"module parameters hold a non-printable octet (0x%02x) "
					"at offset %zu",
					c, i);
	}
	/* They are configuration and go into logs: a module that would take
	 * its PIN here must get it from signet's PIN source instead. The value
	 * itself is never repeated in the message. */
	static const char *const secret_words[] = {"pin", "password", "passwd", "passphrase",
						   "secret"};
	for (size_t i = 0; i < len; i++)
		for (size_t w = 0; w < sizeof(secret_words) / sizeof(secret_words[0]); w++)
			if (names_setting(init_args + i, secret_words[w]))
				return hsm_fail(eb, SIGNET_EINVAL,
						"module parameters set a '%s' at offset %zu: "
						"never a PIN or password here (they are "
						"logged); give the PIN through the PIN source",
						secret_words[w], i);
	return SIGNET_OK;
}

signet_err hsm_open_args(const char *module_path, const char *init_args, hsm_ctx **out,
			 char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_open: no output");
	*out = NULL;
	if (module_path == NULL || module_path[0] == '\0')
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_open: no module path");
	if (strlen(module_path) > 4096)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_open: module path too long");
	if (init_args != NULL) {
		signet_err aerr = hsm_init_args_check(init_args, eb->errmsg, eb->errlen);
		if (aerr != SIGNET_OK)
			return aerr;
	}

	hsm_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return hsm_fail(eb, SIGNET_ENOMEM, "hsm_open: out of memory");
	/* Writers first: a re-initialise must not starve behind a stream of
	 * signing readers. Read locks are never taken recursively. */
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ctx->rw, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&ctx->fail_lock, NULL);
	ctx->path = strdup(module_path);
	if (init_args != NULL)
		ctx->init_args = strdup(init_args);
	if (ctx->path == NULL || (init_args != NULL && ctx->init_args == NULL)) {
		ctx_free(ctx);
		return hsm_fail(eb, SIGNET_ENOMEM, "hsm_open: out of memory");
	}

	int flags = RTLD_NOW | RTLD_LOCAL;
#ifdef SIGNET_SANITIZE
	/* Keep the module mapped after dlclose so LeakSanitizer can name it in
	 * its reports and the suppressions in common/sanitizer.c apply. */
	flags |= RTLD_NODELETE;
#endif
	ctx->dl = dlopen(module_path, flags);
	if (ctx->dl == NULL) {
		const char *why = dlerror();
		signet_err err = hsm_fail(eb, SIGNET_ENOTFOUND, "hsm_open: cannot load %s: %s",
					  module_path, why != NULL ? why : "unknown");
		ctx_free(ctx);
		return err;
	}
	CK_C_GetFunctionList get = NULL;
	/* POSIX guarantees the object-to-function pointer conversion for dlsym. */
	*(void **)&get = dlsym(ctx->dl, "C_GetFunctionList");
	if (get == NULL) {
		signet_err err = hsm_fail(eb, SIGNET_EHSM,
					  "hsm_open: %s is not a PKCS#11 module "
					  "(no C_GetFunctionList)",
					  module_path);
		ctx_free(ctx);
		return err;
	}
	CK_RV rv = get(&ctx->fn);
	if (rv != CKR_OK || ctx->fn == NULL) {
		signet_err err = rv != CKR_OK ? hsm_fail_rv(eb, "C_GetFunctionList", rv, "%s",
							    module_path)
					      : hsm_fail(eb, SIGNET_EHSM,
							 "C_GetFunctionList: %s gave no list",
							 module_path);
		ctx_free(ctx);
		return err == SIGNET_OK ? SIGNET_EHSM : err;
	}
	if (ctx->fn->version.major != 2) {
		signet_err err = hsm_fail(eb, SIGNET_EUNSUPPORTED,
					  "hsm_open: %s speaks PKCS#11 %u.%u, "
					  "not 2.x",
					  module_path, ctx->fn->version.major,
					  ctx->fn->version.minor);
		ctx_free(ctx);
		return err;
	}
	rv = hsm_module_initialize(ctx);
	if (rv != CKR_OK) {
		/* ALREADY_INITIALIZED means another hsm_ctx of this process owns the
		 * module; finalizing it from here would pull it from under them. */
		signet_err err = hsm_fail_rv(eb, "C_Initialize", rv, "%s", module_path);
		if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
			err = SIGNET_EHSM;
		ctx_free(ctx);
		return err;
	}
	ctx->live = true;
	*out = ctx;
	return SIGNET_OK;
}

void hsm_close(hsm_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->tokens != NULL)
		sg_log(SG_LOG_ERROR, "hsm_close: tokens still open on %s", ctx->path);
	if (ctx->live)
		ctx->fn->C_Finalize(NULL);
	ctx_free(ctx);
}

signet_err hsm_module_reconnect(hsm_ctx *ctx, hsm_token *mine, uint64_t seen_gen, hsm_errbuf *eb)
{
	pthread_rwlock_wrlock(&ctx->rw);
	if (ctx->gen != seen_gen) {
		bool up = ctx->live && (mine == NULL || mine->up);
		pthread_rwlock_unlock(&ctx->rw);
		if (up)
			return SIGNET_OK;
		return hsm_fail(eb, SIGNET_EHSM_DOWN, "reconnect: token '%s' is still not present",
				mine != NULL ? mine->label : "");
	}
	uint64_t now = hsm_now_ms();
	if (ctx->last_reinit_ms != 0 && now - ctx->last_reinit_ms < HSM_RECONNECT_BACKOFF_MS) {
		/* read under the lock: another thread may re-initialise next */
		unsigned long long ago = (unsigned long long)(now - ctx->last_reinit_ms);
		pthread_rwlock_unlock(&ctx->rw);
		return hsm_fail(eb, SIGNET_EHSM_DOWN,
				"reconnect: %s was re-initialised %llu ms ago "
				"and the token '%s' is still not usable; next attempt after %u ms",
				ctx->path, ago, mine != NULL ? mine->label : "",
				HSM_RECONNECT_BACKOFF_MS);
	}
	ctx->last_reinit_ms = now;
	ctx->gen++;
	for (hsm_token *t = ctx->tokens; t != NULL; t = t->next) {
		t->up = false;
		t->admin = CK_INVALID_HANDLE;
	}
	/* SoftHSM2 rereads its token directory only at C_Initialize; finalize
	 * closes every session and drops every session object as well. */
	if (ctx->live)
		(void)ctx->fn->C_Finalize(NULL);
	ctx->live = false;
	CK_RV rv = hsm_module_initialize(ctx);
	if (rv != CKR_OK) {
		signet_err err = hsm_fail_rv(eb, "C_Initialize", rv,
					     "re-initialising %s for token '%s'", ctx->path,
					     mine != NULL ? mine->label : "");
		pthread_rwlock_unlock(&ctx->rw);
		return err == SIGNET_EHSM ? SIGNET_EHSM_DOWN : err;
	}
	ctx->live = true;
	signet_err result = SIGNET_OK;
	for (hsm_token *t = ctx->tokens; t != NULL; t = t->next) {
		char why[HSM_ERRMSG_MAX] = "";
		hsm_errbuf teb = HSM_ERRBUF(why, sizeof(why));
		signet_err err = hsm_token_attach(t, &teb);
		if (err == SIGNET_OK) {
			sg_log(SG_LOG_NOTICE, "hsm: token '%s' reconnected", t->label);
			continue;
		}
		sg_log(SG_LOG_WARNING, "hsm: token '%s' not back after re-initialise: %s", t->label,
		       why);
		if (t == mine) {
			result = err;
			eb->rv = teb.rv;
			if (eb->errlen > 0)
				snprintf(eb->errmsg, eb->errlen, "%s", why);
		}
	}
	pthread_rwlock_unlock(&ctx->rw);
	return result;
}
