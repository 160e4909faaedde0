/* internal.h -- helpers shared by the files of the ceremony layer; not an API. */
#ifndef SIGNET_CEREMONY_INTERNAL_H
#define SIGNET_CEREMONY_INTERNAL_H

#include "ceremony/ceremony.h"

/* Write why err happened into errmsg (errlen octets, may be 0) and return err. */
signet_err cer_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A strict line document: a magic first line, then "key value" lines (one
 * blank between, value may hold blanks), printable ASCII only, no blank or
 * comment lines. Lines point into mem, which the document owns. */
typedef struct cer_line {
	const char *key;
	const char *value; /* "" when the line is a key alone */
	unsigned lineno;   /* 1-based line in the file */
} cer_line;

typedef struct cer_doc {
	char *mem;       /* a copy of the text, split in place */
	cer_line *lines; /* lines after the magic */
	size_t n;
} cer_doc;

#define CER_DOC_LINES_MAX 1024
#define CER_LINE_MAX 4096

/* Parse text whose first line must be exactly magic. what names the file
 * kind in errors. Free with cer_doc_free. */
signet_err cer_doc_parse(const char *text, size_t len, const char *magic, const char *what,
			 cer_doc *out, char *errmsg, size_t errlen);
void cer_doc_free(cer_doc *d);

/* Take line *i, which must have key key; advance *i. */
signet_err cer_doc_take(const cer_doc *d, size_t *i, const char *key, const char *what,
			const char **value, char *errmsg, size_t errlen);

/* Decode exactly n octets of hex or base64 (whole string), or fail EPARSE. */
signet_err cer_hex_exact(const char *s, uint8_t *out, size_t n);
signet_err cer_b64_exact(const char *s, uint8_t *out, size_t n);
/* Strict decimal within [min, max]. */
signet_err cer_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Append "key value\n" with value as hex or base64. */
signet_err cer_put_hex(sg_buf *b, const char *key, const uint8_t *p, size_t n);
signet_err cer_put_b64(sg_buf *b, const char *key, const uint8_t *p, size_t n);

/* SHA-256 of p. */
signet_err cer_sha256(const void *p, size_t n, uint8_t out[CER_HASH_LEN], char *errmsg,
		      size_t errlen);

/* Read a small file (bounded by max) as text. */
signet_err cer_read_text(const char *path, size_t max, const char *what, sg_buf *out, char *errmsg,
			 size_t errlen);

/* Write a new file that must not exist yet (O_EXCL), fsync'ed. */
signet_err cer_write_new(const char *path, const void *data, size_t len, mode_t mode, char *errmsg,
			 size_t errlen);

/* Parse "scrypt N r p". */
signet_err cer_kdf_parse(const char *s, cer_kdf *out, char *errmsg, size_t errlen);

/* The passphrase of operator name among passes, or NULL. */
const sg_secret *cer_pass_find(const cer_pass *passes, size_t n, const char *name);

/* ---- shares (shares.c) ---- */

/* What a split holds: the user PIN, the SO PIN, or the backup-domain key
 * (HSM_DOMAIN_KEY_LEN octets as hex). Each kind has its own check tag and
 * share file suffix, so shares of one kind never pass for another's. */
#define CER_SECRET_USER 0
#define CER_SECRET_SO 1
#define CER_SECRET_DOMAIN 2
/* "share", "so-share" or "domain-share". */
const char *cer_share_suffix(int kind);

/* A domain split names no token: its label is this and its serial the
 * first 8 octets of the domain's ID in hex, so that the shares say which
 * domain they rebuild. */
#define CER_DOMAIN_SPLIT_LABEL "signet-backup-domain"
void cer_domain_serial(const uint8_t id[HSM_ID_LEN], char serial[17]);
/* A new random domain key: *hex (its shares' secret, 2 * HSM_DOMAIN_KEY_LEN
 * hex characters) and *key (the octets for the token); both locked memory,
 * freed by the caller. */
signet_err cer_domain_generate(sg_secret **hex, sg_secret **key, uint8_t id[HSM_ID_LEN],
			       char *errmsg, size_t errlen);
/* The key octets and ID of a domain secret in hex. */
signet_err cer_domain_key_from_hex(const sg_secret *hex, sg_secret **key, uint8_t id[HSM_ID_LEN],
				   char *errmsg, size_t errlen);

/* Make a random PIN of CER_PIN_OCTETS octets as lower-case hex. */
signet_err cer_pin_generate(sg_secret **out, char *errmsg, size_t errlen);

/* Split pin among every operator of p (threshold p->threshold), seal each
 * share with her passphrase (all N needed: SIGNET_EQUORUM if one is missing)
 * and write <dir>/<name>.share (so: <name>.so-share, for the SO PIN) for
 * each (refused if one exists). The files bind token label and serial. */
signet_err cer_shares_split(const cer_policy *p, const sg_secret *pin, const char *label,
			    const char *serial, const cer_pass *passes, size_t npasses,
			    const char *dir, int kind, char *errmsg, size_t errlen);

/* cer_shares_combine with a choice of quorum: split_quorum false needs as
 * many shares as the stricter of the policy and the split; true (reshare
 * only) as many as the split itself was made with. */
signet_err cer_shares_open(const cer_policy *p, const cer_share_in *shares, size_t n,
			   const cer_pass *passes, size_t npasses, bool split_quorum, int kind,
			   sg_secret **pin, char *label, char *serial, char *errmsg, size_t errlen);

/* Encoding of the signed message of an approval and of a policy signature. */
signet_err cer_approval_message(const uint8_t hash[CER_HASH_LEN], sg_buf *out);
signet_err cer_policy_message(const uint8_t hash[CER_HASH_LEN], sg_buf *out);

/* ---- the token anchor (anchor.c) ---- */

#define CER_ANCHOR_LABEL "signet-ceremony-anchor"
#define CER_RETIRED_MAX 64   /* retired, not yet deleted KSKs */
#define CER_EXECUTED_MAX 512 /* executed requests not yet expired */

/* The ceremony state the KSK token holds: a private data object (the
 * truth, readable only with the quorum's PIN) and a public copy of it
 * (for verify-log and early refusals; anyone at the token could write it). */
typedef struct cer_anchor {
	uint64_t policy_serial; /* the adopted policy */
	uint8_t policy[CER_HASH_LEN];
	unsigned threshold; /* its M and operators' keys, */
	size_t nops;        /* to check a policy change */
	uint8_t ops[CER_OPERATORS_MAX][CER_PUB_LEN];
	uint64_t entries;           /* transcript entries anchored */
	uint8_t head[CER_HASH_LEN]; /* hash of the last of them */
	size_t nretired;            /* retired KSKs by CKA_ID */
	uint8_t retired[CER_RETIRED_MAX][HSM_ID_MAX];
	size_t retired_len[CER_RETIRED_MAX];
	size_t nexecuted; /* nonces of executed requests */
	uint8_t executed[CER_EXECUTED_MAX][16];
	int64_t executed_until[CER_EXECUTED_MAX]; /* and when each expires */
} cer_anchor;

signet_err cer_anchor_write(const cer_anchor *a, sg_buf *out, char *errmsg, size_t errlen);
signet_err cer_anchor_parse(const char *text, size_t len, cer_anchor *a, char *errmsg,
			    size_t errlen);
/* The private anchor of the logged-in token (SIGNET_ESTATE if none). */
signet_err cer_anchor_load(hsm_token *t, cer_anchor *a, char *errmsg, size_t errlen);
/* The public copy, without a login, from the token labelled label. */
signet_err cer_anchor_load_public(hsm_ctx *ctx, const char *label, cer_anchor *a, char serial[17],
				  char *errmsg, size_t errlen);
/* Write the private anchor, then its public copy. */
signet_err cer_anchor_store(hsm_token *t, const cer_anchor *a, char *errmsg, size_t errlen);
void cer_anchor_set_policy(cer_anchor *a, const cer_policy *p);
bool cer_anchor_executed(const cer_anchor *a, const uint8_t nonce[16]);
/* Record a nonce; when the list is full, nonces of expired requests go. */
signet_err cer_anchor_add_executed(cer_anchor *a, const uint8_t nonce[16], int64_t until,
				   int64_t now, char *errmsg, size_t errlen);
bool cer_anchor_retired(const cer_anchor *a, const uint8_t *id, size_t len);
/* Add (add true) or remove a retired key. */
signet_err cer_anchor_retire(cer_anchor *a, const uint8_t *id, size_t len, bool add, char *errmsg,
			     size_t errlen);
/* The directory's policy p against the anchored one: equal, or a change
 * (*changed) with a higher serial signed by the anchored quorum. */
signet_err cer_anchor_check_policy(const cer_anchor *a, const cer_policy *p, bool *changed,
				   char *errmsg, size_t errlen);
/* The transcript at path against the anchor: every anchored entry there,
 * unchanged, and beyond them only entries that changed nothing (refusals,
 * intents without outcome), policy adoptions, or the outcome of the
 * anchored intent; when p differs from the anchored policy, its adoption
 * must be recorded. entries and head (may be NULL) get the transcript's. */
signet_err cer_anchor_check_log(const cer_anchor *a, const char *path, const cer_policy *p,
				uint64_t *entries, uint8_t head[CER_HASH_LEN], char *errmsg,
				size_t errlen);

/* ---- one execution (exec.c and the op_*.c files) ---- */

/* What an operation works with while it runs. */
typedef struct cer_run {
	const cer_exec *x;           /* the caller's inputs */
	const cer_policy *p;         /* the installed policy */
	const cer_request *r;        /* the approved request */
	int64_t now;                 /* the time the checks use */
	char zone[DNS_NAME_STR_MAX]; /* r->zone in presentation form, or "-" */
	hsm_ctx *ctx;                /* the module */
	hsm_token *tok;              /* the KSK token, logged in (not for init-token) */
	cer_anchor *anchor;          /* the token's anchor, as it will be written next */
	bool anchored;               /* anchor holds what the token holds */
	char log[4200];              /* <dir>/transcript.log */
	const char *approvers;       /* for the transcript */
	bool started;                /* the intent is on record: an outcome must follow */
	uint64_t log_entries;        /* transcript entries when the anchor was checked */
	sg_secret *so_pin;           /* reshare: the current SO PIN, from its shares */
	sg_secret *user_pin;         /* create-domain: the user PIN, to log in again */
	sg_secret *domain_key;       /* install-domain: the key from its recovery shares */
	uint64_t intent_seq;         /* its entry number and hash */
	uint8_t intent_hash[CER_HASH_LEN];
	sg_buf out;                    /* the output file's content, if any */
	uint8_t outputs[CER_HASH_LEN]; /* hash of everything released, for the log */
	sg_buf keyset_text;            /* sign-keyset: the request text */
	dns_keyset keyset;             /* sign-keyset: the parsed request */
} cer_run;

/* An operation: check runs before shares are opened and any HSM call,
 * perform with the token logged in, the anchor checked and the intent on
 * record; an operation without user shares (init-token, reset-user-pin)
 * gets the module only and records its intent (cer_run_intent) itself. */
typedef struct cer_op {
	const char *name;
	bool needs_shares; /* the user PIN's shares open the token */
	signet_err (*check)(cer_run *run, char *errmsg, size_t errlen);
	signet_err (*perform)(cer_run *run, char *errmsg, size_t errlen);
	/* Checks that need the token, after its anchor matched and before the
	 * intent is recorded: a refusal here leaves the token as it was and the
	 * request unspent (NULL: none). */
	signet_err (*ready)(cer_run *run, char *errmsg, size_t errlen);
} cer_op;

extern const cer_op cer_op_init_token, cer_op_reshare, cer_op_create_ksk, cer_op_sign_keyset,
	cer_op_export_ds, cer_op_retire_ksk, cer_op_delete_ksk, cer_op_reset_pin,
	cer_op_create_domain, cer_op_restore_ksk, cer_op_install_domain;

/* The "key-id" parameter: 1..HSM_ID_MAX octets in hex. */
signet_err cer_param_key_id(const cer_request *r, uint8_t *id, size_t *id_len, char *errmsg,
			    size_t errlen);

/* ---- list parameters (keylist.c) ---- */

/* Whether key is a list parameter (key-id, foreign-zsk): comma-separated
 * items, sorted and unique in a request. */
bool cer_param_is_list(const char *key);

/* Rewrite value in place as its canonical list: items lower-cased, sorted,
 * duplicates dropped (never longer than before). SIGNET_EINVAL for an empty
 * item, SIGNET_ERANGE for too many. */
signet_err cer_list_canonical(char *value, size_t cap, char *errmsg, size_t errlen);

/* Whether value's items are non-empty and strictly ascending. */
bool cer_list_is_canonical(const char *value);

/* The KSKs a sign-keyset names: the "key-id" list. */
typedef struct cer_key_ids {
	uint8_t id[CER_KEYSET_KSKS_MAX][HSM_ID_MAX];
	size_t len[CER_KEYSET_KSKS_MAX];
	size_t n; /* 1..CER_KEYSET_KSKS_MAX */
} cer_key_ids;

/* Parse the key-id list: 1..CER_KEYSET_KSKS_MAX distinct IDs of hex.
 * SIGNET_EINVAL (missing, malformed, repeated), SIGNET_ERANGE (too many). */
signet_err cer_param_key_ids(const cer_request *r, cer_key_ids *out, char *errmsg, size_t errlen);

/* A foreign ZSK the operators admit into the DNSKEY RRset (RFC 8901 model 2):
 * "KEYTAG/ALG/SHA256-OF-DNSKEY-RDATA". The hash binds the key; tag and
 * algorithm are for the eye and must agree with it. */
typedef struct cer_foreign_zsk {
	uint16_t tag;
	uint8_t alg;
	uint8_t sha256[CER_HASH_LEN];
} cer_foreign_zsk;

/* Parse the foreign-zsk list into out (CER_FOREIGN_ZSKS_MAX entries); none
 * is *n = 0. SIGNET_EINVAL (malformed, repeated), SIGNET_ERANGE. */
signet_err cer_param_foreign_zsks(const cer_request *r, cer_foreign_zsk *out, size_t *n,
				  char *errmsg, size_t errlen);

/* Find the zone's KSK with this ID in the token: it must exist, be a "ksk"
 * of run->zone by its label, be safe to sign with and not be retired (unless
 * retired_ok). info and its DNSKEY RDATA (flags 257) are filled. */
signet_err cer_ksk_find(cer_run *run, const uint8_t *id, size_t id_len, bool retired_ok,
			hsm_key_info *info, sg_buf *dnskey, char *errmsg, size_t errlen);

/* When the KSK token holds a backup domain: the key's backup file in
 * x->backup_dir must be this key's (ID, label, key tag, domain, public key)
 * and prove (hsm_backup_prove). SIGNET_OK at once when there is no domain. */
signet_err cer_ksk_backup_proven(cer_run *run, const uint8_t *id, size_t id_len, char *errmsg,
				 size_t errlen);

/* Record the intent of run (a "started" entry, then the anchor with the
 * request's nonce) before its HSM operation. init-token calls it itself. */
signet_err cer_run_intent(cer_run *run, char *errmsg, size_t errlen);

/* The owner part of a conventional label "signet:ROLE:OWNER:ALG:TIME" into
 * owner (DNS_NAME_STR_MAX), and whether the role is ksk. */
bool cer_label_parts(const char *label, char *role, size_t rolelen, char *owner, size_t ownerlen);

#endif /* SIGNET_CEREMONY_INTERNAL_H */
