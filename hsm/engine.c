/* engine.c -- libp11's OpenSSL engine ("pkcs11", package
 * libengine-pkcs11-openssl), which gRPC's TLS layer uses for a private key
 * given as "engine:<engine id>:<PKCS#11 URI>": made ready for this
 * process's module, used to load the key exactly as gRPC will, and made
 * anew when the one in use can no longer sign (its sessions died).
 *
 * libp11 0.4.12 never recovers a session or object handle that the token
 * invalidated: it puts a dead session back into its pool and takes it out
 * again for ever, and one engine holds one libp11 context for the process
 * (docs/HSM.md). A fresh context is a fresh engine: another instance of
 * the same shared object, loaded through OpenSSL's "dynamic" engine and
 * added to OpenSSL's engine list under an id of its own, which gRPC then
 * finds by that id. Instances are never finished, as the first never was:
 * libp11's finish closes every session of every slot and finalizes the
 * module under hsm/.
 *
 * Every signature and key load through any instance is wrapped here: it
 * takes the read side of the hsm_ctx's lock, as hsm/'s own calls do, so a
 * module re-initialise by hsm/ never runs under libp11's calls; it refuses
 * to let an instance made before the last re-initialise touch its stale
 * handles (they may name hsm/'s new sessions and other objects); and every
 * failed signature is counted and reported to a hook, which is how a
 * handshake that failed in the token is noticed.
 *
 * The ENGINE API is deprecated in OpenSSL 3 and gRPC 1.51 offers no other
 * way to a key in a token (it has no provider or store support). Declaring
 * the 1.1.1 API level here removes the deprecation attribute from the
 * declarations OpenSSL 3.0 deprecated, in this file only, and leaves every
 * other warning on; a pragma would hide deprecations of any origin. It must
 * come before the first OpenSSL header. */
#define OPENSSL_API_COMPAT 10101

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include "hsm/internal.h"

#define ENGINE_ID "pkcs11"
#define ENGINE_ID_MAX 32

/* One instance of libp11's engine: its own libp11 context, slot list,
 * session pool and key handles. Never freed. */
typedef struct engine_inst {
	ENGINE *e;                /* functional reference, kept for the process */
	char id[ENGINE_ID_MAX];   /* OpenSSL keeps the pointer: lives as long */
	uint64_t gen;             /* the hsm_ctx's gen when it was made */
	struct engine_inst *next; /* older */
} engine_inst;

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static engine_inst *instances; /* newest first */
static unsigned ninstances;
static char *engine_module;                     /* the module they were pointed at */
static hsm_ctx *_Atomic engine_ctx;             /* whose lock and gen guard their calls */
static ENGINE_PKEY_METHS_PTR libp11_pkey_meths; /* the engine's own */
static ENGINE_LOAD_KEY_PTR libp11_load_privkey;
typedef int (*sign_fn)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
static sign_fn libp11_ec_sign, libp11_rsa_sign;
static EVP_PKEY_METHOD *wrapped_ec, *wrapped_rsa;

static atomic_uint_fast64_t sign_failures;
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*failure_hook)(void *);
static void *failure_arg;

/* Which instance loaded which key. A signature cannot ask its key:
 * EVP_PKEY_get0_engine gives NULL for a key libp11 loaded (measured; it
 * names the engine of the key's encoding methods, and libp11's
 * EVP_PKEY_set1_engine sets only that of its operations), so the loads
 * are recorded here
 * instead, by the key's legacy object (what EVP_PKEY_get0 gives: libp11's
 * EC_KEY or RSA), newest first; a slot is reused after KEYS_SEEN loads. */
#define KEYS_SEEN 256
static struct {
	const void *key;
	engine_inst *in;
} keys_seen[KEYS_SEEN];
static unsigned keys_next;

/* The instance an engine pointer is, or NULL. Caller holds engine_lock. */
static engine_inst *inst_of_locked(const ENGINE *e)
{
	engine_inst *in = instances;
	while (in && in->e != e)
		in = in->next;
	return in;
}

static void key_loaded(const EVP_PKEY *k, const ENGINE *e)
{
	const void *obj = EVP_PKEY_get0((EVP_PKEY *)k);
	pthread_mutex_lock(&engine_lock);
	keys_seen[keys_next % KEYS_SEEN].key = obj;
	keys_seen[keys_next % KEYS_SEEN].in = inst_of_locked(e);
	keys_next++;
	pthread_mutex_unlock(&engine_lock);
}

/* The instance that loaded k; one not recorded (never, or too long ago) is
 * taken for the oldest instance, so that a module re-initialised since
 * the newest was made refuses it too. */
static engine_inst *inst_of_key(const EVP_PKEY *k)
{
	const void *obj = k ? EVP_PKEY_get0((EVP_PKEY *)k) : NULL;
	pthread_mutex_lock(&engine_lock);
	engine_inst *in = NULL;
	for (unsigned i = 0; obj && i < KEYS_SEEN && i < keys_next && !in; i++) {
		unsigned at = (keys_next - 1 - i) % KEYS_SEEN;
		if (keys_seen[at].key == obj)
			in = keys_seen[at].in;
	}
	for (engine_inst *old = instances; !in && old; old = old->next)
		if (!old->next)
			in = old;
	pthread_mutex_unlock(&engine_lock);
	return in;
}

/* Take the read side of ctx's lock; true when the instance may use its
 * handles (made at the module's current initialisation). */
static bool guard_enter(hsm_ctx *ctx, const engine_inst *in)
{
	if (!ctx)
		return true;
	pthread_rwlock_rdlock(&ctx->rw);
	return ctx->live && (!in || in->gen == ctx->gen);
}

static void guard_leave(hsm_ctx *ctx)
{
	if (ctx)
		pthread_rwlock_unlock(&ctx->rw);
}

static void count_failure(void)
{
	atomic_fetch_add(&sign_failures, 1);
	pthread_mutex_lock(&hook_lock);
	if (failure_hook)
		failure_hook(failure_arg);
	pthread_mutex_unlock(&hook_lock);
}

static int guarded_sign(EVP_PKEY_CTX *pctx, unsigned char *sig, size_t *siglen,
			const unsigned char *tbs, size_t tbslen)
{
	EVP_PKEY *pk = EVP_PKEY_CTX_get0_pkey(pctx);
	sign_fn orig = pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ? libp11_rsa_sign
								      : libp11_ec_sign;
	if (!sig) /* the size only: no token call */
		return orig(pctx, sig, siglen, tbs, tbslen);
	hsm_ctx *ctx = atomic_load(&engine_ctx);
	engine_inst *in = inst_of_key(pk);
	int ret = 0;
	if (guard_enter(ctx, in))
		ret = orig(pctx, sig, siglen, tbs, tbslen);
	guard_leave(ctx);
	if (ret <= 0)
		count_failure();
	return ret;
}

static EVP_PKEY *guarded_load(ENGINE *e, const char *id, UI_METHOD *ui, void *cb)
{
	hsm_ctx *ctx = atomic_load(&engine_ctx);
	pthread_mutex_lock(&engine_lock);
	engine_inst *in = inst_of_locked(e);
	pthread_mutex_unlock(&engine_lock);
	EVP_PKEY *k = NULL;
	if (guard_enter(ctx, in))
		k = libp11_load_privkey(e, id, ui, cb);
	guard_leave(ctx);
	if (k)
		key_loaded(k, e);
	return k;
}

/* libp11's method for one key type with its sign wrapped; made once. */
static EVP_PKEY_METHOD *wrap_method(ENGINE *e, int nid, sign_fn *orig)
{
	EVP_PKEY_METHOD *lib = NULL;
	if (libp11_pkey_meths(e, &lib, NULL, nid) != 1 || !lib)
		return NULL;
	EVP_PKEY_METHOD *m = EVP_PKEY_meth_new(nid, 0);
	if (!m)
		return NULL;
	EVP_PKEY_meth_copy(m, lib);
	int (*init)(EVP_PKEY_CTX *) = NULL;
	EVP_PKEY_meth_get_sign(lib, &init, orig);
	EVP_PKEY_meth_set_sign(m, init, guarded_sign);
	return m;
}

/* gRPC calls ENGINE_set_default(e, ENGINE_METHOD_ALL) when it loads a key,
 * which makes the engine's EVP_PKEY methods those of every RSA and EC key of
 * the process; they are legacy methods that fail on OpenSSL 3's provider
 * keys (measured: signetd's next GenerateZsk failed, and a client's EC key
 * generation after it connected). Setting the defaults asks the engine for
 * the list of key types it serves: this answers with none, while a key the
 * engine loaded still gets the method by its type (EVP_PKEY_set1_engine
 * and every operation on that key ask so): libp11's, its signature
 * wrapped (guarded_sign). Called with engine_lock held the first time. */
static int pkey_meths_unlisted(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid)
{
	if (!pmeth) {
		*nids = NULL;
		return 0;
	}
	*pmeth = nid == EVP_PKEY_EC ? wrapped_ec : nid == EVP_PKEY_RSA ? wrapped_rsa : NULL;
	if (*pmeth)
		return 1;
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

/* Point a structural reference e at the module, initialise it (the
 * functional reference kept for the process), wrap its methods and record
 * it as the newest instance under id. Caller holds engine_lock. */
static signet_err adopt(ENGINE *e, hsm_ctx *ctx, const char *id, hsm_errbuf *eb)
{
	engine_inst *in = calloc(1, sizeof(*in));
	if (!in)
		return hsm_fail(eb, SIGNET_ENOMEM, "pkcs11 engine: out of memory");
	snprintf(in->id, sizeof(in->id), "%s", id);
	/* MODULE_PATH before init: the engine loads the module lazily, on the
	 * first key, and would otherwise take PKCS11_MODULE_PATH or p11-kit's
	 * proxy. The same path makes dlopen hand it the module hsm/ has
	 * initialised already, so both share one login (PKCS#11 logins belong
	 * to the application, not to a session). */
	if (!ENGINE_ctrl_cmd_string(e, "MODULE_PATH", ctx->path, 0) || !ENGINE_init(e)) {
		char why[256];
		openssl_reason(why, sizeof(why));
		free(in);
		return hsm_fail(eb, SIGNET_EHSM, "pkcs11 engine: cannot initialise: %s", why);
	}
	ENGINE_PKEY_METHS_PTR meths = ENGINE_get_pkey_meths(e);
	ENGINE_LOAD_KEY_PTR load = ENGINE_get_load_privkey_function(e);
	if (!libp11_pkey_meths && meths != pkey_meths_unlisted) {
		libp11_pkey_meths = meths;
		wrapped_ec = wrap_method(e, EVP_PKEY_EC, &libp11_ec_sign);
		wrapped_rsa = wrap_method(e, EVP_PKEY_RSA, &libp11_rsa_sign);
	}
	if (!libp11_load_privkey && load != guarded_load)
		libp11_load_privkey = load;
	if (!libp11_pkey_meths || !wrapped_ec || !wrapped_rsa || !libp11_load_privkey) {
		/* Not finished: that would finalize the module under hsm/. */
		free(in);
		return hsm_fail(eb, SIGNET_EHSM, "pkcs11 engine: its key methods are not libp11's");
	}
	ENGINE_set_pkey_meths(e, pkey_meths_unlisted);
	ENGINE_set_load_privkey_function(e, guarded_load);
	pthread_rwlock_rdlock(&ctx->rw);
	in->gen = ctx->gen;
	pthread_rwlock_unlock(&ctx->rw);
	in->e = e;
	in->next = instances;
	instances = in;
	ninstances++;
	atomic_store(&engine_ctx, ctx);
	return SIGNET_OK;
}

signet_err hsm_engine_ready(hsm_ctx *ctx, hsm_errbuf *eb)
{
	if (!ctx || !ctx->path)
		return hsm_fail(eb, SIGNET_EINVAL, "pkcs11 engine: no module");
	signet_err ret = SIGNET_OK;
	pthread_mutex_lock(&engine_lock);
	if (instances) {
		if (strcmp(engine_module, ctx->path) != 0)
			ret = hsm_fail(eb, SIGNET_ESTATE,
				       "pkcs11 engine: already set up for module %s, not %s",
				       engine_module, ctx->path);
		else
			atomic_store(&engine_ctx, ctx);
		goto out;
	}
	/* With no PIN at hand the engine asks OpenSSL's default UI, which
	 * prompts on the controlling terminal (measured): a daemon started
	 * from one would block at start-up and an operator might type the PIN
	 * there. The token is logged in by hsm/ before the engine is used, so
	 * any prompt is a mistake: make it fail. */
	UI_set_default_method(UI_null());
	engine_module = strdup(ctx->path);
	if (!engine_module) {
		ret = hsm_fail(eb, SIGNET_ENOMEM, "pkcs11 engine: out of memory");
		goto out;
	}
	ENGINE *e = ENGINE_by_id(ENGINE_ID);
	if (!e) {
		ERR_clear_error();
		ret = hsm_fail(eb, SIGNET_ENOTFOUND,
			       "pkcs11 engine not found in OpenSSL's engines directory "
			       "(install libengine-pkcs11-openssl)");
	} else {
		ret = adopt(e, ctx, ENGINE_ID, eb);
		ENGINE_free(e); /* the structural reference; ENGINE_init's stays */
	}
	if (ret != SIGNET_OK) {
		free(engine_module);
		engine_module = NULL;
	}
out:
	pthread_mutex_unlock(&engine_lock);
	return ret;
}

signet_err hsm_engine_fresh(hsm_ctx *ctx, char *id, size_t idlen, hsm_errbuf *eb)
{
	if (!ctx || !id || idlen < ENGINE_ID_MAX)
		return hsm_fail(eb, SIGNET_EINVAL, "pkcs11 engine: missing argument");
	pthread_mutex_lock(&engine_lock);
	signet_err ret = SIGNET_OK;
	if (!instances || strcmp(engine_module, ctx->path) != 0) {
		ret = hsm_fail(eb, SIGNET_ESTATE, "pkcs11 engine: not set up for module %s",
			       ctx->path);
		goto out;
	}
	if (ninstances >= HSM_ENGINE_INSTANCES_MAX) {
		ret = hsm_fail(eb, SIGNET_ELIMIT,
			       "pkcs11 engine: %u instances made already, the most this process "
			       "makes (each keeps its dead sessions): restart it",
			       ninstances);
		goto out;
	}
	/* OpenSSL's "dynamic" engine refuses to load a shared object whose
	 * engine is loaded already (measured: "init failed"; OpenSSL 3 keeps
	 * one ENGINE per bind function), so bind a new ENGINE the way it
	 * would: libp11's exported bind_engine on the already loaded shared
	 * object, with this libcrypto's static state (so it sets no memory
	 * functions). */
	const char *dir = getenv("OPENSSL_ENGINES");
	if (!dir || !*dir)
		dir = OPENSSL_info(OPENSSL_INFO_ENGINES_DIR);
	char so_path[512];
	int n = snprintf(so_path, sizeof(so_path), "%s/%s.so", dir ? dir : "", ENGINE_ID);
	void *so = n > 0 && (size_t)n < sizeof(so_path) ? dlopen(so_path, RTLD_NOW | RTLD_LOCAL)
							: NULL;
	dynamic_bind_engine bind = NULL;
	if (so)
		*(void **)&bind = dlsym(so, "bind_engine");
	ENGINE *e = bind ? ENGINE_new() : NULL;
	dynamic_fns fns;
	memset(&fns, 0, sizeof(fns));
	fns.static_state = ENGINE_get_static_state();
	if (!e || !bind(e, ENGINE_ID, &fns)) {
		char why[256];
		openssl_reason(why, sizeof(why));
		ENGINE_free(e);
		/* so stays open: the first instance holds it loaded anyway */
		ret = hsm_fail(eb, SIGNET_EHSM,
			       "pkcs11 engine: cannot bind another instance from %s: %s", so_path,
			       so ? why : dlerror());
		goto out;
	}
	char name[ENGINE_ID_MAX];
	snprintf(name, sizeof(name), "%s-signet-%u", ENGINE_ID, ninstances);
	ret = adopt(e, ctx, name, eb);
	if (ret == SIGNET_OK) {
		/* The id OpenSSL keeps must live as long as the engine. */
		if (!ENGINE_set_id(e, instances->id) || !ENGINE_add(e)) {
			char why[256];
			openssl_reason(why, sizeof(why));
			ret = hsm_fail(eb, SIGNET_EHSM,
				       "pkcs11 engine: cannot list instance %s: %s", name, why);
			/* Kept as an instance (initialised, never finished) but
			 * not handed out. */
		} else {
			snprintf(id, idlen, "%s", instances->id);
		}
	}
	ENGINE_free(e);
out:
	pthread_mutex_unlock(&engine_lock);
	return ret;
}

signet_err hsm_engine_current(char *id, size_t idlen, hsm_errbuf *eb)
{
	pthread_mutex_lock(&engine_lock);
	signet_err ret = instances ? SIGNET_OK : SIGNET_ESTATE;
	if (instances)
		snprintf(id, idlen, "%s", instances->id);
	pthread_mutex_unlock(&engine_lock);
	return ret == SIGNET_OK ? ret : hsm_fail(eb, ret, "pkcs11 engine: not set up");
}

bool hsm_engine_stale(hsm_ctx *ctx, const char *id)
{
	uint64_t gen = 0;
	bool found = false;
	pthread_mutex_lock(&engine_lock);
	for (engine_inst *in = instances; in; in = in->next)
		if (strcmp(in->id, id) == 0) {
			gen = in->gen;
			found = true;
			break;
		}
	pthread_mutex_unlock(&engine_lock);
	pthread_rwlock_rdlock(&ctx->rw);
	bool stale = !found || !ctx->live || gen != ctx->gen;
	pthread_rwlock_unlock(&ctx->rw);
	return stale;
}

signet_err hsm_engine_load(const char *id, const char *uri, EVP_PKEY **key, hsm_errbuf *eb)
{
	if (!id || !uri || !key)
		return hsm_fail(eb, SIGNET_EINVAL, "pkcs11 engine: missing argument");
	*key = NULL;
	ENGINE *e = NULL;
	pthread_mutex_lock(&engine_lock);
	for (engine_inst *in = instances; in; in = in->next)
		if (strcmp(in->id, id) == 0)
			e = in->e;
	pthread_mutex_unlock(&engine_lock);
	if (!e)
		return hsm_fail(eb, SIGNET_ESTATE, "pkcs11 engine: no instance %s", id);
	ERR_clear_error();
	*key = ENGINE_load_private_key(e, uri, NULL, NULL);
	if (!*key) {
		char why[256];
		openssl_reason(why, sizeof(why));
		return hsm_fail(eb, SIGNET_EHSM_KEY, "pkcs11 engine could not load the key: %s",
				why);
	}
	return SIGNET_OK;
}

void hsm_engine_release(hsm_ctx *ctx)
{
	hsm_ctx *want = ctx;
	atomic_compare_exchange_strong(&engine_ctx, &want, NULL);
}

uint64_t hsm_tls_engine_failures(void)
{
	return atomic_load(&sign_failures);
}

void hsm_tls_engine_on_failure(void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&hook_lock);
	failure_hook = fn;
	failure_arg = arg;
	pthread_mutex_unlock(&hook_lock);
}
