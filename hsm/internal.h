/* internal.h -- what the files of the hsm layer share and nobody else sees.
 *
 * Locking, from outside in:
 *   ctx->rw           read side around every PKCS#11 call; the write side only
 *                     while the module is torn down and brought back
 *                     (reconnect) and while tokens join or leave ctx->tokens.
 *   tok->admin_lock   serialises the token's admin session (find, list,
 *                     generate, delete, set PIN, log in), and the key copies
 *                     and key lookups of worker sessions (session.c).
 *   ctx->fail_lock    the failed-login table; taken alone, innermost.
 * A worker's hsm_session takes only the read side of ctx->rw when it signs.
 */
#ifndef SIGNET_HSM_INTERNAL_H
#define SIGNET_HSM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"

/* Entries of the failed-login table: one per token serial seen failing. */
#define HSM_FAIL_SLOTS 32
/* Keys a session keeps handles for; the oldest is dropped past this. */
#define HSM_SESSION_KEYS 256
/* Objects one search may return before we call the token unreasonable. */
#define HSM_FIND_MAX 100000

struct hsm_login_fail {
	char serial[17]; /* token serial, "" for a free entry */
	unsigned count;  /* consecutive failed logins */
};

struct hsm_ctx {
	void *dl;                  /* dlopen handle */
	CK_FUNCTION_LIST *fn;      /* the module's function list */
	char *path;                /* module path, owned */
	char *init_args;           /* C_Initialize's library parameters, owned, or NULL */
	pthread_rwlock_t rw;       /* see the top of this file */
	bool live;                 /* C_Initialize succeeded, no finalize since */
	uint64_t gen;              /* bumped by every re-initialise */
	uint64_t last_reinit_ms;   /* monotonic time of the last re-initialise */
	struct hsm_token *tokens;  /* open tokens, linked by next */
	pthread_mutex_t fail_lock; /* guards fails */
	struct hsm_login_fail fails[HSM_FAIL_SLOTS];
};

struct hsm_token {
	hsm_ctx *ctx;                   /* the module this token belongs to */
	struct hsm_token *next;         /* next in ctx->tokens */
	char label[33];                 /* label as found, blanks trimmed */
	char serial[17];                /* serial: the identity used to find it again */
	CK_SLOT_ID slot;                /* valid while up */
	bool up;                        /* found and logged in at ctx->gen */
	CK_SESSION_HANDLE admin;        /* RW session that carries the login */
	pthread_mutex_t admin_lock;     /* serialises admin and login */
	sg_secret *pin;                 /* user PIN for re-logins, owned */
	bool session_copies;            /* copy keys into session objects */
	bool allow_imported;            /* accept keys not always sensitive */
	bool wrappable_keys;            /* generate keys with CKA_WRAP_WITH_TRUSTED */
	bool allow_restored;            /* accept keys unwrapped from the domain */
	atomic_uint nsessions;          /* open hsm_sessions */
	atomic_uint_fast64_t key_epoch; /* bumped when a key is deleted */
};

/* A key as one session uses it. */
struct hsm_cached_key {
	uint8_t id[HSM_ID_MAX]; /* CKA_ID */
	size_t id_len;
	hsm_alg alg;
	size_t sig_len;          /* signature octets */
	CK_OBJECT_HANDLE handle; /* what C_SignInit gets */
	bool is_copy;            /* handle is our session object */
};

struct hsm_session {
	hsm_token *tok;          /* owner */
	CK_SESSION_HANDLE h;     /* CK_INVALID_HANDLE when closed */
	uint64_t gen;            /* ctx->gen when h was opened */
	uint_fast64_t key_epoch; /* tok->key_epoch when keys[] was filled */
	bool copies;             /* tok->session_copies at open */
	size_t nkeys;
	size_t next_evict; /* round robin once keys[] is full */
	struct hsm_cached_key keys[HSM_SESSION_KEYS];
};

/* ---- keys.c ---- */

/* hsm_key_is_safe, relaxed to sensitive + non-extractable + sign when the
 * token allows imported keys, and to sensitive + wrap-with-trusted + sign
 * only when it allows restored keys. */
bool hsm_key_usable(const hsm_token *t, const hsm_key_info *info);

/* ---- errors.c ---- */

/* Where a failure inside the layer is written: the caller's errmsg buffer
 * (docs/CONTRIBUTING.md) and the CK_RV behind the failure, which the retry
 * of hsm_session_open, hsm_sign and hsm_admin_run reads. A public function
 * makes one of its errmsg, errlen (HSM_ERRBUF) and passes it down. */
typedef struct hsm_errbuf {
	char *errmsg; /* the caller's buffer; NULL when errlen is 0 */
	size_t errlen;
	CK_RV rv; /* of the last failure written; CKR_OK for none */
} hsm_errbuf;
#define HSM_ERRBUF(msg, len) ((hsm_errbuf){.errmsg = (msg), .errlen = (len), .rv = CKR_OK})

/* Write "fn: CKR_NAME (0x..)" plus an optional detail into eb, keep rv there
 * and return the mapped signet_err. */
signet_err hsm_fail_rv(hsm_errbuf *eb, const char *fn, CK_RV rv, const char *detail_fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Write a message that has no CK_RV behind it into eb and return err. */
signet_err hsm_fail(hsm_errbuf *eb, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The CK_RV map alone. */
signet_err hsm_err_from_rv(CK_RV rv);
/* True for the return values after which reopening the session (or the
 * whole module) and trying once more is the right reaction. */
bool hsm_rv_is_fault(CK_RV rv);
/* True for the return values that say the token or device itself is gone. */
bool hsm_rv_is_gone(CK_RV rv);

/* ---- module.c ---- */

/* C_Initialize with OS locking. */
CK_RV hsm_module_initialize(hsm_ctx *ctx);
/* Finalize and re-initialise the module, then find and log in every open
 * token again; the result is mine's (the others' failures are logged).
 * Skipped when another thread did it since the caller saw seen_gen (the
 * result is then whether mine is up); refused with SIGNET_EHSM_DOWN within
 * HSM_RECONNECT_BACKOFF_MS of the last attempt. */
signet_err hsm_module_reconnect(hsm_ctx *ctx, hsm_token *mine, uint64_t seen_gen, hsm_errbuf *eb);
/* Monotonic milliseconds. */
uint64_t hsm_now_ms(void);

/* ---- token.c ---- */

/* Find the slot of the initialised token with this serial and this label
 * (either may be NULL, not both). Called with ctx->rw held. */
signet_err hsm_find_slot(hsm_ctx *ctx, const char *label, const char *serial, CK_SLOT_ID *slot,
			 CK_TOKEN_INFO *info, hsm_errbuf *eb);
/* Open the admin session and log in with the stored PIN; caller holds the
 * write side of ctx->rw. */
signet_err hsm_token_attach(hsm_token *t, hsm_errbuf *eb);
/* Make sure the token is logged in and its admin session alive, repairing
 * either when it can. Caller holds the read side of ctx->rw and
 * t->admin_lock. */
signet_err hsm_token_ensure_login(hsm_token *t, hsm_errbuf *eb);
/* Copy a blank-padded PKCS#11 string field into a C string. */
void hsm_copy_padded(char *dst, size_t dstlen, const CK_UTF8CHAR *src, size_t srclen);

/* Run op on the token's admin session under the read lock and admin lock,
 * repairing the session or the module and retrying once after a fault. */
typedef signet_err (*hsm_admin_op)(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb);
signet_err hsm_admin_run(hsm_token *t, hsm_admin_op op, void *arg, hsm_errbuf *eb);

/* ---- session.c ---- */

/* Make s usable: reopen its session when it is closed or older than the
 * last re-initialise, and forget keys deleted since it last looked. Caller
 * holds the read side of ctx->rw. */
signet_err hsm_session_ready(hsm_session *s, hsm_errbuf *eb);
/* The cached key with this CKA_ID, looked up, checked and (when s->copies)
 * copied into a session object on first use. Caller holds the read side. */
signet_err hsm_session_key(hsm_session *s, const uint8_t *id, size_t id_len,
			   const struct hsm_cached_key **out, hsm_errbuf *eb);
/* Close s's PKCS#11 session (its key copies go with it) and forget its
 * keys; the next hsm_session_ready opens a new one. Caller holds the read side. */
void hsm_session_drop(hsm_session *s);

/* ---- keys.c ---- */

/* Handles of the token objects with this class and CKA_ID (class may be
 * (CK_OBJECT_CLASS)-1 for any). *out is allocated (free()). */
signet_err hsm_find_objects(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
			    const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE **out, size_t *n,
			    hsm_errbuf *eb);
/* Fill info from the private object obj (or from a public one, which then
 * sets only the public facts). */
signet_err hsm_describe_object(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			       hsm_key_info *info, hsm_errbuf *eb);
/* A boolean attribute of obj as the token reports it. */
typedef enum hsm_flag {
	HSM_FLAG_FALSE,
	HSM_FLAG_TRUE,
	HSM_FLAG_ABSENT, /* not reported: CKR_ATTRIBUTE_TYPE_INVALID or
			  * _SENSITIVE, or no one-octet CK_TRUE/CK_FALSE */
} hsm_flag;
/* A boolean attribute (an absent one is HSM_FLAG_ABSENT, never false: each
 * caller decides what it means for its check) and an unsigned long one
 * (absent is SIGNET_EHSM_KEY) of obj. */
signet_err hsm_attr_flag(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			 CK_ATTRIBUTE_TYPE type, hsm_flag *out, hsm_errbuf *eb);
signet_err hsm_attr_ulong(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			  CK_ATTRIBUTE_TYPE type, CK_ULONG *out, hsm_errbuf *eb);
/* Wrap a fixed key with a fixed KEK (session objects made on the SO's or
 * user's session h, destroyed again) with CKM_AES_KEY_WRAP_PAD and compare
 * with the known answer of the variant signet's backups use (wrap_kat.c).
 * SIGNET_EUNSUPPORTED for a module that computes another or cannot. */
signet_err hsm_wrap_pad_kat(hsm_ctx *ctx, CK_SESSION_HANDLE h, const char *serial, hsm_errbuf *eb);
/* The signature size of a key described by info. */
size_t hsm_sig_len(const hsm_key_info *info);

/* ---- sign.c ---- */

/* One signature with the private key object obj of algorithm alg on session
 * h, sig_len octets expected, into out (HSM_SIG_MAX octets). Caller holds the
 * read side of ctx->rw. */
signet_err hsm_sign_object(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, hsm_alg alg,
			   size_t sig_len, const uint8_t *data, size_t len, uint8_t *out,
			   size_t *outlen, hsm_errbuf *eb);

/* ---- domain.c ---- */

/* The handle of the domain key domain_id on session h, every attribute
 * checked (see hsm_domain_find). */
signet_err hsm_domain_handle(hsm_token *t, CK_SESSION_HANDLE h, const uint8_t domain_id[HSM_ID_LEN],
			     CK_OBJECT_HANDLE *out, hsm_errbuf *eb);

/* ---- engine.c ---- */

/* Instances of libp11's engine one process makes at most (each keeps the
 * sessions it had when it was replaced; hsm_engine_fresh). */
#define HSM_ENGINE_INSTANCES_MAX 64

/* Make libp11's OpenSSL engine ("pkcs11", the first instance) ready for
 * keys of ctx's module in this process (once; SIGNET_ESTATE for another
 * module later). Its signatures and key loads take ctx->rw's read side. */
signet_err hsm_engine_ready(hsm_ctx *ctx, hsm_errbuf *eb);
/* A new instance of the engine with a libp11 context of its own, added to
 * OpenSSL's engine list under a new id (into id, at least 32 octets), for
 * the same module; SIGNET_ELIMIT past HSM_ENGINE_INSTANCES_MAX. */
signet_err hsm_engine_fresh(hsm_ctx *ctx, char *id, size_t idlen, hsm_errbuf *eb);
/* The id of the newest instance (into id, at least 32 octets). */
signet_err hsm_engine_current(char *id, size_t idlen, hsm_errbuf *eb);
/* Whether the instance id was made before ctx's module was last
 * re-initialised (or is unknown): its handles are stale. */
bool hsm_engine_stale(hsm_ctx *ctx, const char *id);
/* Load the private key uri names through instance id, as gRPC's TLS layer
 * does (free with EVP_PKEY_free: the instance stays initialised). */
signet_err hsm_engine_load(const char *id, const char *uri, EVP_PKEY **key, hsm_errbuf *eb);
/* Forget ctx as the module the engine's calls lock (it is being closed). */
void hsm_engine_release(hsm_ctx *ctx);

#endif /* SIGNET_HSM_INTERNAL_H */
