/* hsm.h -- the only place in signet that speaks PKCS#11.
 *
 * Loads any PKCS#11 module by path, finds a token by label or serial, logs in
 * with a PIN held in locked memory, generates key pairs that never leave the
 * token except wrapped to the trusted backup-domain key, finds, lists,
 * exports (public part only) and deletes keys, and signs on per-worker
 * sessions. It also keeps small data objects (CKO_DATA, private or public) by
 * label, runs the SO operations signet needs (C_InitPIN, C_SetPIN of the SO,
 * installing the backup domain), and wraps and unwraps keys to that domain.
 * CK_RV codes are mapped to signet_err here and
 * never leak upward. A function that can fail with a detail takes
 * `char *errmsg, size_t errlen` last (docs/CONTRIBUTING.md) and writes there,
 * on failure, the PKCS#11 detail for logs, e.g. "C_Login: CKR_PIN_INCORRECT
 * (0xa0)"; it never holds a secret. errmsg may be NULL when errlen is 0.
 *
 * Knows nothing of DNS: algorithms are named by the DNSSEC numbers only because
 * they are convenient integers; what is signed is opaque bytes.
 *
 * Why the PKCS#11 function list and not libp11: libp11 0.4.12 cannot generate
 * EC or EdDSA keys, cannot set CKA_SENSITIVE/CKA_EXTRACTABLE, and its key
 * enumeration fails outright when the token holds an Ed25519 key. The whole
 * layer therefore uses the function list from C_GetFunctionList of the
 * dlopen()ed module. What this layer relies on in PKCS#11 and SoftHSM2
 * (attributes, mechanisms, sessions, login, faults, wrapping) and what another
 * module must do is in docs/HSM.md.
 *
 * Key naming convention (written by hsm_key_generate, relied on by callers):
 *   CKA_ID     16 random octets, unique in the token; the key's identity.
 *              Public and private objects of a pair share it.
 *   CKA_LABEL  "signet:<role>:<owner>:<alg>:<created>", e.g.
 *              "signet:zsk:example.com.:13:20261127T234500Z" -- role is "zsk"
 *              or "ksk" (any [a-z]+), owner is an opaque string without ':'
 *              (the zone name for DNS keys), alg the number below, created
 *              the UTC creation time. At most HSM_LABEL_MAX octets.
 *
 * Threads: hsm_ctx and hsm_token may be shared by threads; an hsm_session
 * belongs to one thread at a time (a worker's own). Signing never takes a lock
 * shared with other sessions, except a read lock that a module re-initialise
 * after a device fault takes for writing.
 */
#ifndef SIGNET_HSM_H
#define SIGNET_HSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/common.h"

#define HSM_ID_LEN 16           /* octets of the CKA_ID we generate */
#define HSM_ID_MAX 64           /* longest CKA_ID accepted from a token */
#define HSM_LABEL_MAX 200       /* longest CKA_LABEL we write or read */
#define HSM_SIG_MAX 512         /* largest signature (RSA-4096) */
#define HSM_SESSIONS_MAX 256    /* bound on a token's session pool */
#define HSM_DATA_MAX (4u << 20) /* largest input hsm_sign accepts */
/* Failed logins to one token (by serial) after which this process refuses to
 * try again (SIGNET_EHSM_LOCKED) until a new hsm_ctx: real HSMs lock the PIN
 * after a few failures and a PIN is never guessed in a loop. */
#define HSM_LOGIN_FAILURES_MAX 3
/* Least time between two module re-initialisations after a device fault;
 * calls in between fail fast with SIGNET_EHSM_DOWN. */
#define HSM_RECONNECT_BACKOFF_MS 500

/* Key algorithms, numbered as DNSSEC numbers them. */
typedef enum hsm_alg {
	HSM_ALG_RSASHA256 = 8,  /* RSA, CKM_SHA256_RSA_PKCS */
	HSM_ALG_ECDSAP256 = 13, /* P-256, SHA-256 digest then CKM_ECDSA */
	HSM_ALG_ECDSAP384 = 14, /* P-384, SHA-384 digest then CKM_ECDSA */
	HSM_ALG_ED25519 = 15    /* Ed25519, CKM_EDDSA (pure) */
} hsm_alg;

typedef struct hsm_ctx hsm_ctx;         /* a loaded, initialised module */
typedef struct hsm_token hsm_token;     /* a logged-in token */
typedef struct hsm_session hsm_session; /* one worker's session on a token */

/* Room for any errmsg the layer writes. */
#define HSM_ERRMSG_MAX 512

/* Name of a CK_RV value ("CKR_PIN_INCORRECT"), for logs and tests. */
const char *hsm_rv_name(unsigned long rv);

/* ---- module ------------------------------------------------------------- */

/* dlopen the module at path and C_Initialize it with CKF_OS_LOCKING_OK.
 * The caller frees *out with hsm_close. SIGNET_ENOTFOUND if the file cannot be
 * loaded, SIGNET_EHSM if it is not a PKCS#11 module or initialisation fails,
 * SIGNET_ESTATE if another hsm_ctx of this process has it initialised (one
 * context per module and process: finalizing is process-wide). */
signet_err hsm_open(const char *module_path, hsm_ctx **out, char *errmsg, size_t errlen);

/* Longest parameter string hsm_open_args hands a module. */
#define HSM_INIT_ARGS_MAX 1024

/* hsm_open, giving the module init_args (NULL for none) in the reserved
 * field of C_Initialize's CK_C_INITIALIZE_ARGS, at every initialisation:
 * the library parameters some modules need, such as NSS's softokn
 * ("configdir='sql:<dir>' certPrefix='' keyPrefix='' secmod='secmod.db'
 * flags=noModDB", docs/HSM.md). 1 to HSM_INIT_ARGS_MAX octets of printable
 * ASCII (SIGNET_EINVAL, SIGNET_ERANGE otherwise). Configuration, never a
 * secret: it may appear in logs. A module that expects no parameters
 * answers CKR_ARGUMENTS_BAD (SIGNET_EHSM). */
signet_err hsm_open_args(const char *module_path, const char *init_args, hsm_ctx **out,
			 char *errmsg, size_t errlen);

/* Whether init_args may be given to hsm_open_args: 1 to HSM_INIT_ARGS_MAX
 * octets of printable ASCII (SIGNET_EINVAL, SIGNET_ERANGE) that set no
 * "pin", "password", "passwd", "passphrase" or "secret" (a word followed by
 * '=' or ':', case aside: SIGNET_EINVAL), since the parameters are logged.
 * For the configuration readers, which check before any module loads. */
signet_err hsm_init_args_check(const char *init_args, char *errmsg, size_t errlen);

/* C_Finalize and dlclose. Every token and session must be closed first. */
void hsm_close(hsm_ctx *ctx);

/* A token as the module reports it. */
typedef struct hsm_token_desc {
	unsigned long slot; /* slot ID */
	char label[33];     /* CKA label, trailing blanks removed */
	char serial[17];
	char manufacturer[33];
	char model[17];
	bool initialized;          /* CKF_TOKEN_INITIALIZED */
	bool user_pin_initialized; /* CKF_USER_PIN_INITIALIZED */
	bool pin_count_low;        /* a failed login was seen (CKF_USER_PIN_COUNT_LOW) */
	bool pin_locked;           /* CKF_USER_PIN_LOCKED */
} hsm_token_desc;

/* List the tokens present. *out is allocated (free with free()). */
signet_err hsm_list_tokens(hsm_ctx *ctx, hsm_token_desc **out, size_t *n, char *errmsg,
			   size_t errlen);

/* Initialise the first uninitialised token (C_InitToken with so_pin and label,
 * then C_InitPIN with user_pin). For tests and ceremonies that own a whole
 * token; SIGNET_ENOTFOUND if no uninitialised token is present. */
signet_err hsm_token_initialize(hsm_ctx *ctx, const char *label, const sg_secret *so_pin,
				const sg_secret *user_pin, char *errmsg, size_t errlen);

/* ---- token -------------------------------------------------------------- */

/* Find the token by label (or by serial when serial is not NULL; the label is
 * then ignored and may be NULL) and log in as the user with pin. The token
 * keeps a copy of the PIN in locked memory to log in again after a fault; the
 * caller still owns and frees pin. SIGNET_ENOTFOUND for no such token,
 * SIGNET_EINVAL if the label names several tokens, SIGNET_EHSM_PIN for a
 * wrong PIN, SIGNET_EHSM_LOCKED for a locked PIN or after
 * HSM_LOGIN_FAILURES_MAX failed logins, SIGNET_ESTATE if the token is open in
 * this context already (a second login would go unchecked). A serial that
 * several tokens share (NSS's softokn gives both of its tokens one) is
 * SIGNET_EINVAL too: name such a token by its label. Free with
 * hsm_token_close. */
signet_err hsm_token_open(hsm_ctx *ctx, const char *label, const char *serial, const sg_secret *pin,
			  hsm_token **out, char *errmsg, size_t errlen);

/* Log out, close every session and wipe the PIN. Every hsm_session of the
 * token must be closed first. NULL is fine. */
void hsm_token_close(hsm_token *t);

/* Describe the open token, refreshing its flags (for health checks): a token
 * that is gone gives SIGNET_EHSM_DOWN. Recovers like hsm_sign: a token that
 * has come back is reconnected here. */
signet_err hsm_token_describe(hsm_token *t, hsm_token_desc *out, char *errmsg, size_t errlen);

/* Change the user PIN (C_SetPIN) from the current to new_pin; the token keeps
 * new_pin for later re-logins. */
signet_err hsm_token_set_pin(hsm_token *t, const sg_secret *new_pin, char *errmsg, size_t errlen);

/* Tear the module down and bring it back (C_Finalize, C_Initialize, find the
 * token again, log in), invalidating every session's cached handles; sessions
 * reopen by themselves on their next use. Called by the layer itself after a
 * device fault; public for health checks and tests. */
signet_err hsm_token_reconnect(hsm_token *t, char *errmsg, size_t errlen);

/* ---- keys --------------------------------------------------------------- */

/* What the token says about a key pair (attributes of the private object). */
typedef struct hsm_key_info {
	uint8_t id[HSM_ID_MAX]; /* CKA_ID */
	size_t id_len;
	char label[HSM_LABEL_MAX + 1]; /* CKA_LABEL */
	hsm_alg alg;                   /* derived from key type, curve and size */
	unsigned bits;                 /* modulus or curve size */
	bool has_private;              /* a private object with this ID exists */
	bool has_public;               /* a public object with this ID exists */
	bool sensitive;                /* CKA_SENSITIVE */
	bool extractable;              /* CKA_EXTRACTABLE */
	bool always_sensitive;         /* CKA_ALWAYS_SENSITIVE */
	bool never_extractable;        /* CKA_NEVER_EXTRACTABLE */
	bool can_sign;                 /* CKA_SIGN */
	bool can_decrypt;              /* CKA_DECRYPT or CKA_UNWRAP */
	bool wrap_with_trusted;        /* CKA_WRAP_WITH_TRUSTED */
	uint32_t absent;               /* HSM_KEY_ABSENT_* of the flags above the
					* token did not report: each reads as the
					* value that fails the checks below */
} hsm_key_info;

/* The bits of hsm_key_info.absent. */
enum {
	HSM_KEY_ABSENT_SENSITIVE = 1u << 0,         /* read as false */
	HSM_KEY_ABSENT_EXTRACTABLE = 1u << 1,       /* read as true */
	HSM_KEY_ABSENT_ALWAYS_SENSITIVE = 1u << 2,  /* read as false */
	HSM_KEY_ABSENT_NEVER_EXTRACTABLE = 1u << 3, /* read as false */
	HSM_KEY_ABSENT_SIGN = 1u << 4,              /* read as false */
	HSM_KEY_ABSENT_DECRYPT = 1u << 5,           /* can_decrypt reads true */
	HSM_KEY_ABSENT_UNWRAP = 1u << 6,            /* can_decrypt reads true */
	HSM_KEY_ABSENT_WRAP_WITH_TRUSTED = 1u << 7, /* read as false */
};

/* True when info describes a private key signet may sign with: sensitive and
 * always sensitive, able to sign, and either not extractable and never
 * extractable, or extractable only wrapped by a trusted key
 * (CKA_WRAP_WITH_TRUSTED: the backup domain, see hsm_key_wrap). */
bool hsm_key_is_safe(const hsm_key_info *info);

/* True when info describes a key restored from the backup domain (see
 * hsm_token_set_allow_restored): sensitive, CKA_WRAP_WITH_TRUSTED, able to
 * sign and nothing else. */
bool hsm_key_is_restored(const hsm_key_info *info);

/* Build the conventional label into out (HSM_LABEL_MAX + 1 octets).
 * SIGNET_EINVAL if role or owner holds ':' or the result is too long. */
signet_err hsm_key_label(const char *role, const char *owner, hsm_alg alg, int64_t created,
			 char *out, size_t outlen, char *errmsg, size_t errlen);

/* Generate a key pair inside the token with C_GenerateKeyPair: private object
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE false (or, when
 * hsm_token_set_wrappable_keys is on, CKA_EXTRACTABLE and
 * CKA_WRAP_WITH_TRUSTED true), CKA_SIGN
 * true, CKA_DECRYPT/CKA_UNWRAP/CKA_DERIVE false; public object CKA_VERIFY
 * only. rsa_bits is used for RSA only (2048, 3072 or 4096; 0 for 2048). A
 * random CKA_ID is assigned. SIGNET_EINVAL if label does not follow the
 * convention for alg; SIGNET_EHSM_KEY (and the pair destroyed again) if the
 * token did not honour the template; SIGNET_EUNSUPPORTED (destroyed too) if a
 * wrappable key could be wrapped to an untrusted session key, tried once
 * (the module ignores CKA_WRAP_WITH_TRUSTED, as NSS's softokn does). *out
 * describes the key. */
signet_err hsm_key_generate(hsm_token *t, hsm_alg alg, unsigned rsa_bits, const char *label,
			    hsm_key_info *out, char *errmsg, size_t errlen);

/* List every key pair of the token (grouped by CKA_ID; keys of other types
 * are skipped, not fatal). *out is allocated (free with free()). */
signet_err hsm_key_list(hsm_token *t, hsm_key_info **out, size_t *n, char *errmsg, size_t errlen);

/* Describe the key with this CKA_ID. SIGNET_ENOTFOUND if there is none. */
signet_err hsm_key_find(hsm_token *t, const uint8_t *id, size_t id_len, hsm_key_info *out,
			char *errmsg, size_t errlen);

/* The public key of the pair with this CKA_ID as an OpenSSL key (from the
 * public object's CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_POINT).
 * Free *out with EVP_PKEY_free. */
signet_err hsm_key_public(hsm_token *t, const uint8_t *id, size_t id_len, EVP_PKEY **out,
			  char *errmsg, size_t errlen);

/* Destroy both objects of the pair. */
signet_err hsm_key_delete(hsm_token *t, const uint8_t *id, size_t id_len, char *errmsg,
			  size_t errlen);

/* ---- sessions and signing ----------------------------------------------- */

/* Open a session of the token for one worker's exclusive use (at most
 * HSM_SESSIONS_MAX per token). Free with hsm_session_close. */
signet_err hsm_session_open(hsm_token *t, hsm_session **out, char *errmsg, size_t errlen);
void hsm_session_close(hsm_session *s);

/* The PKCS#11 session handle s uses now (0 while it has none), for logs and
 * fault-injection tests; it changes whenever the session is reopened. */
unsigned long hsm_session_handle(const hsm_session *s);

/* Sign data (len <= HSM_DATA_MAX) with the private key with this CKA_ID,
 * writing the signature in the algorithm's raw encoding (RSA PKCS#1 v1.5 over
 * SHA-256; ECDSA r||s of the SHA-256/384 digest, each half padded to the
 * curve size; Ed25519's 64 octets) into sig (sigmax octets, SIGNET_ERANGE if
 * too small) and its length into *siglen. The key is looked up once per
 * session and its safety checked (SIGNET_EHSM_KEY if it fails
 * hsm_key_is_safe); later calls reuse the handle until a key of the token is
 * deleted. SIGNET_ENOTFOUND for no such private key. On
 * CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN,
 * CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_OBJECT_HANDLE_INVALID,
 * CKR_KEY_HANDLE_INVALID, CKR_DEVICE_ERROR or CKR_GENERAL_ERROR the session
 * is reopened, the token logged in again and the signature retried once;
 * when the token itself is gone (its C_GetTokenInfo fails) the module is
 * finalized and initialised again first (at most once per
 * HSM_RECONNECT_BACKOFF_MS). Still failing gives SIGNET_EHSM_DOWN, and a
 * later call tries again by itself. A PIN the token stopped accepting gives
 * SIGNET_EHSM_PIN once and SIGNET_EHSM_LOCKED after. */
signet_err hsm_sign(hsm_session *s, const uint8_t *id, size_t id_len, const uint8_t *data,
		    size_t len, uint8_t *sig, size_t sigmax, size_t *siglen, char *errmsg,
		    size_t errlen);

/* Whether hsm_sign copies a token key into a session object (C_CopyObject,
 * still sensitive and non-extractable, never leaving the token) on first use
 * and signs with the copy: SoftHSM2 signs markedly faster with session
 * objects. Default on; the choice and its measurement are in
 * docs/BENCHMARKS.md. Set before sessions are opened. */
void hsm_token_set_session_copies(hsm_token *t, bool on);

/* Whether hsm_sign accepts keys that are sensitive and non-extractable now but
 * were not always so (CKA_ALWAYS_SENSITIVE or CKA_NEVER_EXTRACTABLE false):
 * keys imported into the token, as in a migration from another signer. Such a
 * key once existed outside an HSM, so the default is off and turning it on is
 * the operator's explicit choice. Set before sessions are opened. */
void hsm_token_set_allow_imported(hsm_token *t, bool on);

/* Whether hsm_key_generate makes keys that the token lets out wrapped by a
 * trusted key only (CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED true), so that
 * they can be backed up to the backup domain; default off (never
 * extractable). Turn it on only for a token whose module enforces
 * CKA_WRAP_WITH_TRUSTED and lets only its SO set CKA_TRUSTED (docs/HSM.md). */
void hsm_token_set_wrappable_keys(hsm_token *t, bool on);

/* Whether hsm_sign and hsm_key_wrap accept keys restored from the backup
 * domain (hsm_key_unwrap): sensitive, CKA_WRAP_WITH_TRUSTED, sign only, but
 * CKA_ALWAYS_SENSITIVE false as for every unwrapped key. The token cannot
 * tell such a key from one a holder of the user PIN created in the clear
 * with the same attributes, so the default is off; turn it on for a token
 * whose keys were restored or cloned by signet. Set before sessions open. */
void hsm_token_set_allow_restored(hsm_token *t, bool on);

/* SIGNET_OK when the token refuses to reveal the private key with this CKA_ID
 * (reading CKA_VALUE, CKA_PRIVATE_EXPONENT, CKA_PRIME_1 gives
 * CKR_ATTRIBUTE_SENSITIVE or no value); SIGNET_EHSM_KEY when any of them came
 * out; SIGNET_ENOTFOUND when there is no such private key. For self-tests. */
signet_err hsm_key_value_hidden(hsm_token *t, const uint8_t *id, size_t id_len, char *errmsg,
				size_t errlen);

/* ---- data objects and the security officer (objects.c) ------------------ */

/* The CKA_VALUE of the one token data object (CKO_DATA) with this CKA_LABEL
 * and CKA_PRIVATE, appended to out (at most max octets, else SIGNET_ERANGE).
 * SIGNET_ENOTFOUND if there is none, SIGNET_ESTATE if there are several. A
 * private object needs the user's login, which t carries. */
signet_err hsm_data_read(hsm_token *t, const char *label, bool private_obj, size_t max, sg_buf *out,
			 char *errmsg, size_t errlen);

/* Set the value of the data object with this label and privacy: a new
 * object (CKA_TOKEN, CKA_APPLICATION "signet") is created, then the old one
 * destroyed (modules need not let CKA_VALUE change), so the token never holds
 * none; an interruption in between leaves two, which hsm_data_read refuses
 * (SIGNET_ESTATE). SIGNET_ESTATE too if several exist already.
 * SIGNET_EUNSUPPORTED for a module that keeps no token data objects (it
 * refuses the object's template: NSS's softokn), nothing written. */
signet_err hsm_data_write(hsm_token *t, const char *label, bool private_obj, const uint8_t *value,
			  size_t len, char *errmsg, size_t errlen);

/* Read the public data object with this label from the token labelled
 * token_label without logging in (a read-only public session), as
 * hsm_data_read; serial (may be NULL, 17 octets) gets the token's serial.
 * SIGNET_ENOTFOUND for no such token or object. */
signet_err hsm_data_read_public(hsm_ctx *ctx, const char *token_label, const char *label,
				size_t max, sg_buf *out, char serial[17], char *errmsg,
				size_t errlen);

/* Count every token object the logged-in user sees (keys, data, public and
 * private), for tests and audits that must show a token unchanged. */
signet_err hsm_object_count(hsm_token *t, size_t *n, char *errmsg, size_t errlen);

/* The PINs hsm_so_init_pin changed: bits of its *changed. */
enum { HSM_PIN_USER = 1u, HSM_PIN_SO = 2u };

/* Log in to the token with this serial as the security officer with so_pin,
 * set the user PIN to user_pin (C_InitPIN), then, if new_so_pin is not NULL,
 * the SO PIN to new_so_pin (C_SetPIN), and log out. SIGNET_EHSM_PIN for a
 * wrong SO PIN, SIGNET_ESTATE if the token is open for its user in ctx
 * (PKCS#11 allows one login type per application). changed (may be NULL)
 * gets the HSM_PIN_* bits of the PINs that were set, on success and on
 * failure alike: a failing C_SetPIN leaves the new user PIN set, and a
 * caller keeping the secrets of each PIN decides on these bits which to
 * keep. No object is touched. */
signet_err hsm_so_init_pin(hsm_ctx *ctx, const char *serial, const sg_secret *so_pin,
			   const sg_secret *new_so_pin, const sg_secret *user_pin,
			   unsigned *changed, char *errmsg, size_t errlen);

/* ---- the backup domain (domain.c, backup.c) ---------------------------- *
 *
 * The backup domain is one AES-256 key, the same in every token that holds
 * signet keys, marked CKA_TRUSTED by each token's SO: the only key that keys
 * made with CKA_WRAP_WITH_TRUSTED can be wrapped to. In the token it is a
 * public object (an SO session can make no other) labelled
 * HSM_DOMAIN_LABEL, sensitive, never extractable, neither modifiable nor
 * copyable, allowed CKM_AES_KEY_WRAP_PAD only, able to wrap and unwrap and
 * nothing else, with a CKA_WRAP_TEMPLATE that admits only keys with
 * CKA_WRAP_WITH_TRUSTED and a CKA_UNWRAP_TEMPLATE that forces every key it
 * unwraps to be a private, sensitive, sign-only key with
 * CKA_WRAP_WITH_TRUSTED: what a backup holds can never come back out of a
 * token readable. Its CKA_ID is hsm_domain_id of its value. */

#define HSM_DOMAIN_KEY_LEN 32 /* AES-256 */
#define HSM_DOMAIN_LABEL "signet:domain"
#define HSM_WRAPPED_MAX 8192 /* largest wrapped key we make or accept */

/* The domain's identity: the first HSM_ID_LEN octets of
 * SHA-256("signet backup domain v1" || key). Reveals nothing usable about
 * the key; lets a recovered key be matched to tokens and backup files. */
signet_err hsm_domain_id(const sg_secret *key, uint8_t id[HSM_ID_LEN], char *errmsg, size_t errlen);

/* Log in as the SO of the token with this serial and create the domain key
 * (key: HSM_DOMAIN_KEY_LEN octets from locked memory) as described above,
 * marked CKA_TRUSTED; log out. SIGNET_EEXIST if the token holds this domain
 * already (nothing changed), SIGNET_ESTATE if it holds another domain or the
 * token is open for its user in ctx, SIGNET_EHSM_PIN for a wrong SO PIN,
 * SIGNET_EHSM_KEY if the token did not honour the template (the object is
 * destroyed again). */
signet_err hsm_domain_install(hsm_ctx *ctx, const char *serial, const sg_secret *so_pin,
			      const sg_secret *key, char *errmsg, size_t errlen);

/* The ID of the one domain key of the open token, after checking every
 * attribute above. SIGNET_ENOTFOUND if there is none, SIGNET_ESTATE if there
 * are several, SIGNET_EHSM_KEY if it is not trusted or not protected as
 * described, or if the token's user may mark keys CKA_TRUSTED (tried with a
 * session key, destroyed again: NSS's softokn lets it, and trust means
 * nothing there). */
signet_err hsm_domain_find(hsm_token *t, uint8_t id[HSM_ID_LEN], char *errmsg, size_t errlen);

/* Wrap the private key with this CKA_ID to the domain key domain_id of the
 * same token with CKM_AES_KEY_WRAP_PAD (RFC 5649 in SoftHSM2, of the key
 * zero-padded to a multiple of 8; modules differ: docs/HSM.md), appending the result to
 * out (at most HSM_WRAPPED_MAX octets). Both keys are checked first: the
 * private key must pass hsm_key_is_safe (or be a restored key the token
 * allows, hsm_token_set_allow_restored) and have CKA_WRAP_WITH_TRUSTED
 * (SIGNET_EHSM_KEY otherwise, as for a never-extractable key), the domain key
 * as in hsm_domain_find. Nothing else can be wrapped to; nothing signet does
 * wraps to any other key. */
signet_err hsm_key_wrap(hsm_token *t, const uint8_t *id, size_t id_len,
			const uint8_t domain_id[HSM_ID_LEN], sg_buf *out, char *errmsg,
			size_t errlen);

/* What an unwrapped key becomes. */
typedef struct hsm_unwrap_spec {
	hsm_alg alg;       /* the algorithm the backup says it is */
	const uint8_t *id; /* CKA_ID to give it (the original's) */
	size_t id_len;
	const char *label; /* CKA_LABEL (the convention of hsm_key_label) */
} hsm_unwrap_spec;

/* Unwrap a key wrapped by hsm_key_wrap with the domain key domain_id into a
 * private token object (CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE and
 * CKA_WRAP_WITH_TRUSTED true, CKA_SIGN only) with spec's ID and label; *out
 * describes it. SIGNET_EEXIST if the token holds a key of this ID already,
 * SIGNET_EVERIFY if the wrapped octets do not unwrap with this domain key
 * (tampered, or another domain's), SIGNET_EHSM_KEY (and the object destroyed)
 * if it is not a key of spec->alg or not protected as asked. The public half
 * is not made here: a restore must bring it from the backup. */
signet_err hsm_key_unwrap(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN], const uint8_t *wrapped,
			  size_t len, const hsm_unwrap_spec *spec, hsm_key_info *out, char *errmsg,
			  size_t errlen);

/* Create the public object of a restored pair: CKA_TOKEN, not private,
 * CKA_VERIFY only, with this ID and label, from pub (P-256, P-384, Ed25519
 * or RSA). Read back and compared with pub. SIGNET_EEXIST if the token has a
 * public key with this ID already. */
signet_err hsm_key_import_public(hsm_token *t, const uint8_t *id, size_t id_len, const char *label,
				 EVP_PKEY *pub, char *errmsg, size_t errlen);

/* The proof of a backup: unwrap it as hsm_key_unwrap does but into a session
 * object, sign data with it as hsm_sign would, and destroy it. The caller
 * checks the signature with the original public key. Errors as
 * hsm_key_unwrap and hsm_sign. */
signet_err hsm_backup_sign(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN],
			   const uint8_t *wrapped, size_t len, hsm_alg alg, const uint8_t *data,
			   size_t dlen, uint8_t *sig, size_t sigmax, size_t *siglen, char *errmsg,
			   size_t errlen);

/* ---- backup files (backup_file.c) --------------------------------------- */

/* One key's backup: the wrapped private key and what identifies it. */
typedef struct hsm_backup {
	uint8_t domain_id[HSM_ID_LEN]; /* the domain it is wrapped to */
	uint8_t id[HSM_ID_MAX];        /* the key's CKA_ID */
	size_t id_len;
	char label[HSM_LABEL_MAX + 1]; /* its CKA_LABEL: role, owner, algorithm, time */
	hsm_alg alg;
	uint16_t key_tag; /* the caller's tag for the key (opaque here) */
	sg_buf pub;       /* public key, DER SubjectPublicKeyInfo */
	sg_buf wrapped;   /* hsm_key_wrap's output */
} hsm_backup;

/* Fill out for the key with this CKA_ID: public key, label, algorithm, and
 * the key wrapped to domain_id (errors as hsm_key_wrap). Free with
 * hsm_backup_free. */
signet_err hsm_backup_make(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN], const uint8_t *id,
			   size_t id_len, uint16_t key_tag, hsm_backup *out, char *errmsg,
			   size_t errlen);

/* Append b as text ("signet-key-backup 1", one "key value" line per field,
 * binary fields in hex or base64, a last "sha256" line over everything
 * before it) to out. */
signet_err hsm_backup_encode(const hsm_backup *b, sg_buf *out, char *errmsg, size_t errlen);

/* Parse a file made by hsm_backup_encode, strictly: every line in order,
 * sizes bounded, printable text only. SIGNET_EPARSE for a malformed file,
 * SIGNET_EVERIFY when the digest does not match. The digest catches damage,
 * not an adversary: what stops a forged or swapped file is that the wrapped
 * key must unwrap with the domain and sign for the public key
 * (hsm_backup_prove), and that the caller compares ID, label, public key
 * and key tag with what it expects. Free out with hsm_backup_free. */
signet_err hsm_backup_decode(const uint8_t *text, size_t len, hsm_backup *out, char *errmsg,
			     size_t errlen);

/* Prove b: unwrap it into a session object of t (which must hold b's
 * domain), sign random data, verify with b's public key, destroy the copy.
 * SIGNET_EVERIFY when it does not unwrap or the signature does not verify. */
signet_err hsm_backup_prove(hsm_token *t, const hsm_backup *b, char *errmsg, size_t errlen);

/* Free b's buffers; NULL is fine. */
void hsm_backup_free(hsm_backup *b);

/* ---- TLS keys in a token (uri.c, tls_key.c, engine.c) ------------------ *
 *
 * A TLS private key (signetd's or a client's) may live in a token, named by
 * a PKCS#11 URI (RFC 7512); gRPC's TLS layer uses it through libp11's OpenSSL
 * engine (package libengine-pkcs11-openssl) as "engine:pkcs11:<URI>". The
 * engine never sees a PIN: hsm/ logs the token in first, and since a PKCS#11
 * login belongs to the application, the engine (sharing the module) finds it
 * logged in. What was measured is in docs/HSM.md. */

#define HSM_URI_MAX 1024 /* longest PKCS#11 URI accepted */

/* What a URI names: a token (label or serial) and a private key in it
 * (CKA_LABEL, CKA_ID or both). Strings NUL-terminated, empty when absent. */
typedef struct hsm_uri {
	char token[33];                 /* token= */
	char serial[17];                /* serial= */
	char object[HSM_LABEL_MAX + 1]; /* object= (CKA_LABEL) */
	uint8_t id[HSM_ID_MAX];         /* id= (CKA_ID) */
	size_t id_len;
} hsm_uri;

/* True when text begins with "pkcs11:" (any case). */
bool hsm_uri_is(const char *text);

/* Parse a URI naming a private key, strictly: at most HSM_URI_MAX octets,
 * path attributes token, serial, object, id and type (which must be
 * "private"), each once, values percent-encoded where RFC 7512 says so
 * (a literal '&' too, which libp11 would split at), text values printable;
 * a token and a key must be named. Query attributes (module-path,
 * pin-source, pin-value) and pin-value in the path are refused: the module
 * is the configured one and a PIN never sits in a configuration.
 * SIGNET_EPARSE or SIGNET_ERANGE with the reason in errmsg. */
signet_err hsm_uri_parse(const char *text, hsm_uri *out, char *errmsg, size_t errlen);

/* Write u canonically (every octet but [A-Za-z0-9-._~:] percent-encoded,
 * type=private last) into out. SIGNET_ERANGE if outlen is too small. */
signet_err hsm_uri_format(const hsm_uri *u, char *out, size_t outlen);

typedef struct hsm_tls_key hsm_tls_key;

/* What hsm_tls_key_open works from. */
typedef struct hsm_tls_key_params {
	hsm_ctx *ctx;            /* the module; the engine is set up for it */
	hsm_token *have;         /* an open token of ctx the URI may name, or NULL */
	const char *uri;         /* the key's PKCS#11 URI */
	const sg_secret *pin;    /* PIN of the token the URI names when it is not
	                          * have; NULL when it is */
	const uint8_t *cert_pem; /* the certificate (chain) the key must match, PEM */
	size_t cert_len;
} hsm_tls_key_params;

/* Make the key p->uri names usable by gRPC's TLS layer in this process: parse
 * the URI; use the open token have when the URI names it, else
 * log in to the named token of ctx's module with pin; find exactly one
 * private key matching the URI, safe as hsm_key_is_safe says and not
 * Ed25519, in a token without Ed25519 keys (libp11's engine fails on a token
 * holding any); check its public key equals the certificate's (first PEM
 * certificate of cert_pem); set up libp11's engine for ctx's module and load
 * the key through it once, as gRPC will. The token stays logged in until
 * hsm_tls_key_close: TLS handshakes sign through that login. Errors: the
 * parse error, SIGNET_EINVAL (no PIN for another token, several keys match),
 * the login's errors, SIGNET_ENOTFOUND (no such private key, or no engine
 * installed), SIGNET_EUNSUPPORTED, SIGNET_EHSM_KEY, SIGNET_EVERIFY (key and
 * certificate differ); errmsg says which token and key. Free with
 * hsm_tls_key_close, before have and ctx are closed. */
signet_err hsm_tls_key_open(const hsm_tls_key_params *p, hsm_tls_key **out, char *errmsg,
			    size_t errlen);

/* The canonical URI to hand the engine. */
const char *hsm_tls_key_engine_uri(const hsm_tls_key *k);

/* The private key as gRPC's TLS layer takes it, "engine:<engine id>:<URI>",
 * naming the engine instance the key was last loaded through (changed by
 * hsm_tls_key_check). Valid until the next check or close. */
const char *hsm_tls_key_engine_key(const hsm_tls_key *k);

/* Whether the key still signs through the engine as a handshake does, and
 * a repair when not. libp11 0.4.12 keeps a session or object handle the
 * token invalidated for ever (docs/HSM.md), so: 17 signatures through the
 * current engine instance, each verified with the certificate's key (every
 * session of libp11's pool), unless the module was re-initialised since
 * the instance was made. When one fails: a signature through hsm/'s own
 * session on the key's token (which logs the token in again with the PIN
 * hsm/ keeps, or reconnects the module), then a fresh instance of the
 * engine, the key loaded and checked through it; *renewed is then true and
 * hsm_tls_key_engine_key names the new instance, which the caller hands to
 * gRPC (the old instance stays loaded, never finished, its dead sessions
 * with it: HSM_ENGINE_INSTANCES_MAX bounds them). Errors: the token's
 * (SIGNET_EHSM_DOWN, SIGNET_EHSM_PIN, ...), SIGNET_ELIMIT past that bound,
 * SIGNET_EHSM_KEY when the new instance does not sign with the key; errmsg
 * names token and key. Costs about 17 token signatures when healthy. Not to
 * be called by two threads at once (the caller's repair thread). */
signet_err hsm_tls_key_check(hsm_tls_key *k, bool *renewed, char *errmsg, size_t errlen);

/* SIGNET_OK when the first certificate of cert_pem holds k's public key;
 * SIGNET_EVERIFY (errmsg names token and key) or SIGNET_EPARSE when not. */
signet_err hsm_tls_key_matches(const hsm_tls_key *k, const uint8_t *cert_pem, size_t cert_len,
			       char *errmsg, size_t errlen);

/* Signatures libp11's engine failed in this process, any key and instance
 * (TLS handshakes that could not sign in the token, checks included). */
uint64_t hsm_tls_engine_failures(void);

/* Have fn(arg) called (on the failing thread, which may be gRPC's) after
 * each such failure, e.g. to wake a thread that runs hsm_tls_key_check;
 * fn must not block. NULL stops it; once that returns, fn is not running. */
void hsm_tls_engine_on_failure(void (*fn)(void *arg), void *arg);

/* Close hsm/'s repair session, log out of and close the token
 * hsm_tls_key_open opened (not the caller's). NULL is fine. */
void hsm_tls_key_close(hsm_tls_key *k);

#endif /* SIGNET_HSM_H */
