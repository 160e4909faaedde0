/* ceremony.h -- signet-ceremony: operators, the quorum policy, the M-of-N split
 * of the KSK token PIN, signed requests and approvals, the hash-chained
 * transcript and the operations that need a quorum (init-token, create-ksk,
 * sign-keyset, export-ds, retire-ksk, delete-ksk, reshare).
 *
 * Every operation is a request (canonical text, hashed with SHA-256), signed
 * approvals of that hash by at least M distinct operators of the policy, and,
 * for every operation but init-token, at least M sealed shares of the KSK
 * token PIN. All of it is checked before the HSM is touched; with less it
 * refuses and changes nothing. The PIN exists whole only in an sg_secret while
 * an operation runs.
 *
 * What the ceremony directory must not change without the quorum -- the
 * adopted policy, the transcript's head and length, retired keys, executed
 * requests -- is anchored in the KSK token (a private data object, and a
 * public copy for checks without the PIN); the PKCS#11 module comes from the
 * ceremony machine's own configuration. An operation's intent is on record
 * (transcript and anchor) before the HSM acts, its outcome after.
 *
 * Files (formats in docs/CEREMONY.md): operator key (private, sealed),
 * operator public file, policy (body plus signatures), request, approval,
 * share (sealed; user and SO PIN), transcript, machine configuration. Every
 * file read is bounded by CER_FILE_MAX (keysets by CER_KEYSET_MAX) and parsed
 * strictly.
 *
 * Errors are signet_err. A function that can fail with a detail takes
 * `char *errmsg, size_t errlen` last and writes there, on failure, one line
 * phrased for operators that never holds a secret (docs/CONTRIBUTING.md).
 */
#ifndef SIGNET_CEREMONY_H
#define SIGNET_CEREMONY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "dnssec/dnssec.h"
#include "hsm/hsm.h"

#define CER_NAME_MAX 32       /* operator name: [a-z0-9_-], 1..32 */
#define CER_OPERATORS_MAX 255 /* N; libgfshare numbers shares 1..255 */
#define CER_ALGS_MAX 4
#define CER_PARAMS_MAX 8
#define CER_PARAM_KEY_MAX 32
#define CER_PARAM_VALUE_MAX 1024         /* room for lists: key-id and foreign-zsk */
#define CER_KEYSET_KSKS_MAX 4            /* KSKs one sign-keyset may sign with */
#define CER_FOREIGN_ZSKS_MAX 8           /* foreign ZSKs one sign-keyset may admit */
#define CER_FILE_MAX (64u * 1024)        /* policy, request, approval, share, key */
#define CER_KEYSET_MAX (16u << 20)       /* a key-signing request */
#define CER_LOG_MAX (64u << 20)          /* a transcript */
#define CER_REQUEST_LIFE_MAX (7 * 86400) /* longest validity window of a request */
#define CER_PIN_OCTETS 16                /* random octets of the KSK PIN (hex: 32 chars) */
#define CER_PUB_LEN 32                   /* Ed25519 public key */
#define CER_SIG_LEN 64                   /* Ed25519 signature */
#define CER_HASH_LEN 32                  /* SHA-256 */
#define CER_ERRMSG_MAX 512               /* room for any errmsg the layer writes */

/* ---- passphrase sealing (scrypt + AES-256-GCM) -------------------------- */

/* scrypt cost. Files record it; opening refuses N below 2^14 or above 2^20,
 * r above 32 and p above 16, so a hostile file cannot make us spin. */
typedef struct cer_kdf {
	uint64_t n; /* CPU/memory cost, a power of two */
	uint32_t r; /* block size */
	uint32_t p; /* parallelism */
} cer_kdf;

#define CER_KDF_DEFAULT ((cer_kdf){32768, 8, 1})
#define CER_SALT_LEN 16
#define CER_NONCE_LEN 12
#define CER_TAG_LEN 16

/* Derive a key from pass with kdf and salt, encrypt pt with AES-256-GCM under
 * a random nonce, authenticating aad too. Appends ciphertext||tag to ct and
 * fills salt (random) and nonce. SIGNET_EINVAL for an empty passphrase. */
signet_err cer_seal(const sg_secret *pass, const cer_kdf *kdf, const uint8_t *aad, size_t aadlen,
		    const uint8_t *pt, size_t ptlen, uint8_t salt[CER_SALT_LEN],
		    uint8_t nonce[CER_NONCE_LEN], sg_buf *ct, char *errmsg, size_t errlen);

/* The reverse: *pt (caller frees with sg_secret_free) gets the plaintext.
 * SIGNET_EVERIFY for a wrong passphrase or anything altered (one cannot tell
 * them apart), SIGNET_ERANGE for kdf costs out of bounds. */
signet_err cer_open(const sg_secret *pass, const cer_kdf *kdf, const uint8_t salt[CER_SALT_LEN],
		    const uint8_t nonce[CER_NONCE_LEN], const uint8_t *aad, size_t aadlen,
		    const uint8_t *ct, size_t ctlen, sg_secret **pt, char *errmsg, size_t errlen);

/* ---- operators ---------------------------------------------------------- */

/* True for a well-formed operator name. */
bool cer_name_ok(const char *name);

/* Create an operator: a fresh Ed25519 approval key, its private half sealed
 * with pass into key_path (mode 0600, refused with SIGNET_EEXIST if the file
 * exists) and the public file at pub_path (name and key, for the policy). */
signet_err cer_enroll(const char *name, const sg_secret *pass, const char *key_path,
		      const char *pub_path, char *errmsg, size_t errlen);

/* An operator's public identity. */
typedef struct cer_operator {
	char name[CER_NAME_MAX + 1];
	uint8_t pub[CER_PUB_LEN];
} cer_operator;

/* Read an operator public file. */
signet_err cer_operator_read(const char *pub_path, cer_operator *out, char *errmsg, size_t errlen);

/* Sign msg with the key in key_path, opened with pass. who (may be NULL) gets
 * the key's operator. SIGNET_EVERIFY for a wrong passphrase or a damaged file. */
signet_err cer_operator_sign(const char *key_path, const sg_secret *pass, const uint8_t *msg,
			     size_t len, uint8_t sig[CER_SIG_LEN], cer_operator *who, char *errmsg,
			     size_t errlen);

/* Verify an Ed25519 signature; SIGNET_EVERIFY if wrong. */
signet_err cer_signature_verify(const uint8_t pub[CER_PUB_LEN], const uint8_t *msg, size_t len,
				const uint8_t sig[CER_SIG_LEN]);

/* ---- policy ------------------------------------------------------------- */

/* One signature over a policy body, by public key. */
typedef struct cer_policy_sig {
	uint8_t pub[CER_PUB_LEN];
	uint8_t sig[CER_SIG_LEN];
} cer_policy_sig;

typedef struct cer_policy {
	uint64_t serial;    /* grows with every change */
	unsigned threshold; /* M */
	size_t count;       /* N */
	cer_operator ops[CER_OPERATORS_MAX];
	char module[1024];                   /* PKCS#11 module the policy was written for: must be
					  * the one the machine's configuration names */
	bool has_module_sha256;              /* the policy records the module's digest */
	uint8_t module_sha256[CER_HASH_LEN]; /* SHA-256 of the module file */
	char label[33];                      /* the KSK token's label */
	uint8_t algs[CER_ALGS_MAX];          /* DNSSEC algorithms a KSK may use */
	size_t nalgs;
	uint32_t max_period;                    /* longest keyset period, seconds */
	uint32_t max_span;                      /* latest keyset expiration, seconds from now */
	bool require_zsk_backup;                /* sign-keyset wants each ZSK's proven backup */
	uint8_t hash[CER_HASH_LEN];             /* SHA-256 of the body text (set by parse/write) */
	cer_policy_sig sigs[CER_OPERATORS_MAX]; /* signatures over hash */
	size_t nsigs;
} cer_policy;

/* Append the canonical text (body, "end", then signatures) and set p->hash.
 * SIGNET_EINVAL for a policy parse would refuse (M out of 1..N, duplicate
 * names or keys, bad algorithm, empty label or module). */
signet_err cer_policy_write(cer_policy *p, sg_buf *out, char *errmsg, size_t errlen);

/* Parse the text form strictly; sets out->hash. SIGNET_EPARSE with the line
 * in errmsg. */
signet_err cer_policy_parse(const char *text, size_t len, cer_policy *out, char *errmsg,
			    size_t errlen);

/* Read and parse a policy file. */
signet_err cer_policy_read(const char *path, cer_policy *out, char *errmsg, size_t errlen);

/* Add the signature of the operator whose key is key_path to the policy file
 * at path (rewritten atomically). A second signature by the same key replaces
 * the first. */
signet_err cer_policy_sign_file(const char *path, const char *key_path, const sg_secret *pass,
				char *errmsg, size_t errlen);

/* Distinct operators of by whose valid signatures p carries. */
unsigned cer_policy_signers(const cer_policy *p, const cer_policy *by);

/* Install the policy at new_path as <dir>/policy. The first policy needs a
 * quorum of its own operators; a later one also a quorum of the installed
 * policy's operators and a higher serial (SIGNET_EQUORUM, SIGNET_ESTATE). */
signet_err cer_policy_adopt(const char *dir, const char *new_path, char *errmsg, size_t errlen);

/* Load <dir>/policy and check it carries its own quorum. */
signet_err cer_policy_load(const char *dir, cer_policy *out, char *errmsg, size_t errlen);

/* The operator named name, or NULL. */
const cer_operator *cer_policy_find(const cer_policy *p, const char *name);

/* ---- the ceremony machine's configuration ------------------------------- */

#define CER_CONFIG_DEFAULT "/etc/signet/ceremony.conf"
#define CER_CONFIG_ENV "SIGNET_CEREMONY_CONF"

/* What the ceremony machine itself says, never the ceremony directory. */
typedef struct cer_config {
	char path[1024];                         /* the file it came from */
	char module[1024];                       /* the PKCS#11 module of the KSK token */
	uint8_t module_sha256[CER_HASH_LEN];     /* SHA-256 of that module file */
	char module_args[HSM_INIT_ARGS_MAX + 1]; /* its library parameters
					      * (hsm_open_args), "" for none */
} cer_config;

/* Read the configuration at path (NULL: $SIGNET_CEREMONY_CONF, else
 * CER_CONFIG_DEFAULT): "signet-ceremony-config 1", then "module PATH" and
 * optionally "module-args PARAMETERS" (hsm_init_args_check's rules). The
 * file (not a symbolic link), its directory and the module must belong to
 * root or to the effective user and not be writable by group or others
 * (SIGNET_EPERM otherwise); the module is hashed. SIGNET_ENOTFOUND when the
 * file is missing. */
signet_err cer_config_load(const char *path, cer_config *out, char *errmsg, size_t errlen);

/* SHA-256 of the module file at path, with the same ownership rules. */
signet_err cer_module_sha256(const char *path, uint8_t out[CER_HASH_LEN], char *errmsg,
			     size_t errlen);

/* ---- requests and approvals --------------------------------------------- */

typedef struct cer_param {
	char key[CER_PARAM_KEY_MAX + 1];     /* [a-z0-9-] */
	char value[CER_PARAM_VALUE_MAX + 1]; /* printable, no blanks */
} cer_param;

/* Operations, as named in requests. */
#define CER_OP_INIT_TOKEN "init-token"
#define CER_OP_RESHARE "reshare"
#define CER_OP_CREATE_KSK "create-ksk"
#define CER_OP_SIGN_KEYSET "sign-keyset"
#define CER_OP_EXPORT_DS "export-ds"
#define CER_OP_RETIRE_KSK "retire-ksk"
#define CER_OP_DELETE_KSK "delete-ksk"
#define CER_OP_RESET_PIN "reset-user-pin"
#define CER_OP_CREATE_DOMAIN "create-domain"
#define CER_OP_RESTORE_KSK "restore-ksk"
#define CER_OP_INSTALL_DOMAIN "install-domain"

typedef struct cer_request {
	char op[32];                      /* one of CER_OP_* */
	bool has_zone;                    /* token operations name no zone */
	dns_name zone;                    /* lower case */
	cer_param params[CER_PARAMS_MAX]; /* sorted by key, keys unique */
	size_t nparams;
	int64_t not_before;           /* validity window, epoch seconds */
	int64_t not_after;            /* the request expires here */
	uint8_t nonce[16];            /* random, makes every request unique */
	uint8_t policy[CER_HASH_LEN]; /* hash of the policy it was made under */
	uint8_t hash[CER_HASH_LEN];   /* SHA-256 of the canonical text */
} cer_request;

/* What a request is made of (cer_request_create). */
typedef struct cer_request_params {
	const char *op;            /* CER_OP_* */
	const char *zone;          /* the zone it is for; NULL for an operation without one */
	const char *const *params; /* nparams "key=value" strings */
	size_t nparams;
	const char *keyset; /* sign-keyset: the key-signing request file; else NULL */
	int64_t not_before; /* the window it may be executed in */
	int64_t not_after;
} cer_request_params;

/* Build the request rp describes: params sorted, a fresh nonce, the window
 * [not_before, not_after]. The list parameters (key-id and foreign-zsk) may
 * be given repeatedly or comma-separated: they become one value, items
 * lower-cased, sorted and unique, so the hash does not depend on the order
 * the operator typed them. For sign-keyset, keyset is the key-signing
 * request file whose dns_keyset_digest becomes the "keyset-sha256"
 * parameter. Writes the file at out_path and fills *out (may be NULL). */
signet_err cer_request_create(const cer_request_params *rp, const cer_policy *policy,
			      const char *out_path, cer_request *out, char *errmsg, size_t errlen);

/* Append the canonical text of r and set r->hash. */
signet_err cer_request_write(cer_request *r, sg_buf *out, char *errmsg, size_t errlen);
/* Parse strictly (fields in canonical order, params sorted and unique, list
 * parameters with items sorted and unique, window no longer than
 * CER_REQUEST_LIFE_MAX); sets out->hash. */
signet_err cer_request_parse(const char *text, size_t len, cer_request *out, char *errmsg,
			     size_t errlen);
signet_err cer_request_read(const char *path, cer_request *out, char *errmsg, size_t errlen);

/* The value of parameter key, or NULL. */
const char *cer_request_param(const cer_request *r, const char *key);

/* The hash as 32 words to read aloud (one word per octet, from a fixed list
 * of 256), separated by blanks, appended to out. */
signet_err cer_words(const uint8_t hash[CER_HASH_LEN], sg_buf *out, char *errmsg, size_t errlen);
/* The word for one octet. */
const char *cer_word(uint8_t octet);

/* Approve the request at request_path with the operator key: writes the
 * approval file (operator, request hash, signature) to out_path. */
signet_err cer_approve(const char *request_path, const char *key_path, const sg_secret *pass,
		       const char *out_path, char *errmsg, size_t errlen);

typedef struct cer_approval {
	char operator[CER_NAME_MAX + 1];
	uint8_t request[CER_HASH_LEN];
	uint8_t sig[CER_SIG_LEN];
} cer_approval;

signet_err cer_approval_read(const char *path, cer_approval *out, char *errmsg, size_t errlen);

/* Check approvals against request r under policy p: every one must name an
 * operator of p (SIGNET_EDENIED), be for r (SIGNET_EVERIFY) and verify
 * (SIGNET_EVERIFY); repeats by one operator count once; fewer than M distinct
 * operators give SIGNET_EQUORUM. names (may be NULL) gets the approvers,
 * blank-separated, in policy order. */
signet_err cer_approvals_check(const cer_policy *p, const cer_request *r, const cer_approval *a,
			       size_t n, sg_buf *names, char *errmsg, size_t errlen);

/* ---- transcript --------------------------------------------------------- */

/* One entry of the hash-chained log. */
typedef struct cer_log_entry {
	uint64_t seq; /* 1, 2, ... */
	int64_t time; /* epoch seconds */
	char op[32];
	char zone[DNS_NAME_STR_MAX]; /* "-" for none */
	uint8_t request[CER_HASH_LEN];
	char approvers[CER_OPERATORS_MAX * (CER_NAME_MAX + 1) + 2]; /* comma-separated, "-" */
	char result[64];                                            /* "ok" or the error name */
	uint8_t outputs[CER_HASH_LEN]; /* SHA-256 of the outputs released */
	uint8_t prev[CER_HASH_LEN];    /* set by cer_log_append: the entry before's hash */
	uint8_t hash[CER_HASH_LEN];    /* set by cer_log_append: this entry's hash */
} cer_log_entry;

/* What the anchor needs of each entry. */
typedef struct cer_log_brief {
	char op[32];
	char result[64]; /* "ok", "started" or an error name */
	uint8_t request[CER_HASH_LEN];
	uint8_t hash[CER_HASH_LEN];
} cer_log_brief;

/* Verify the chain at path and list its entries: *out (free()) gets n
 * briefs; *exists says whether the file is there at all (a missing file is
 * no entries). SIGNET_EVERIFY or SIGNET_EPARSE for a broken chain. */
signet_err cer_log_load(const char *path, bool *exists, cer_log_brief **out, size_t *n,
			char *errmsg, size_t errlen);

/* Verify the chain at path, then append e (seq, previous hash filled in here)
 * and fsync. SIGNET_EVERIFY if the existing log is broken: nothing appended. */
signet_err cer_log_append(const char *path, cer_log_entry *e, char *errmsg, size_t errlen);

/* Verify the chain: *entries gets the count of good entries; on
 * SIGNET_EVERIFY (or SIGNET_EPARSE), *bad gets the number (1-based) of the
 * first broken entry. A missing file is an empty log. */
signet_err cer_log_verify(const char *path, size_t *entries, size_t *bad, char *errmsg,
			  size_t errlen);

/* ---- operations --------------------------------------------------------- */

/* A passphrase of one operator, for opening her share or sealing a new one. */
typedef struct cer_pass {
	const char *operator;
	const sg_secret *pass;
} cer_pass;

/* A share file presented for one operator. */
typedef struct cer_share_in {
	const char *operator; /* who presents it */
	const char *path;
} cer_share_in;

/* Everything an execution takes. Outputs are written only after the
 * transcript entry is on disk. */
typedef struct cer_exec {
	const char *dir;              /* ceremony directory: policy, transcript.log, retired */
	const char *request;          /* request file */
	const char *const *approvals; /* approval files */
	size_t napprovals;
	const cer_share_in *shares; /* share files of the current split */
	size_t nshares;
	const cer_pass *passes; /* operators' passphrases */
	size_t npasses;
	hsm_ctx *hsm;                  /* a loaded module to use (tests), or NULL: load the
					 * one the machine's configuration names */
	const char *config;            /* the machine's configuration, NULL for the default */
	int64_t now;                   /* 0 for the clock */
	const char *keyset;            /* sign-keyset: signetd's request */
	const char *out;               /* create-ksk, sign-keyset, export-ds: output file */
	const char *shares_out;        /* init-token, reshare, reset-user-pin: new shares */
	const cer_share_in *so_shares; /* reshare, reset-user-pin: shares of the SO PIN */
	size_t nso_shares;
	const sg_secret *adopt_so_pin;     /* install-domain: the SO PIN of the receiving token;
					 * init-token on a token initialised elsewhere: its
					 * current SO PIN, replaced at once (NULL: a fresh
					 * token, initialised by the ceremony) */
	const cer_share_in *domain_shares; /* install-domain: recovery shares of the domain */
	size_t ndomain_shares;
	const char *backup_dir; /* create-ksk when the KSK token holds a backup
					 * domain: where the new key's backup goes */
} cer_exec;

/* Run the request: checks the policy, the request (policy hash, window), the
 * approvals, the operation's parameters and inputs and the shares (sealed to
 * the presenting operator, same split, PIN check value) before any HSM call;
 * then performs it, appends the transcript entry (refusals are logged too,
 * when the policy and request could be read) and writes the outputs.
 * Errors: SIGNET_EQUORUM, SIGNET_EDENIED, SIGNET_EVERIFY, SIGNET_ETIME,
 * SIGNET_EPARSE, SIGNET_ESTATE, SIGNET_EHSM*; the reason in errmsg. */
signet_err cer_execute(const cer_exec *x, char *errmsg, size_t errlen);

/* What cer_execute checks before it asks for any share, without the PIN:
 * the machine's configuration and module, the policy, the request (window,
 * policy), the public copy of the token anchor (the request not executed
 * yet, the policy and transcript as anchored). Changes nothing. For the tool,
 * so that a replay is refused before anyone types a passphrase. */
signet_err cer_execute_precheck(const cer_exec *x, char *errmsg, size_t errlen);

/* Verify the transcript of dir against the public copy of the anchor in the
 * KSK token that the directory's policy names, through hsm (a loaded module,
 * or NULL: the one the machine's configuration at config names, NULL for
 * the default). entries gets the count. */
signet_err cer_log_verify_token(const char *dir, const char *config, hsm_ctx *hsm, size_t *entries,
				char *errmsg, size_t errlen);

/* Combine shares into the PIN without touching any HSM (what cer_execute does
 * first): for tests and for a dry run. *pin is freed by the caller; token
 * label and serial of the split are written to label/serial (33 and 17
 * octets, may be NULL). */
signet_err cer_shares_combine(const cer_policy *p, const cer_share_in *shares, size_t n,
			      const cer_pass *passes, size_t npasses, sg_secret **pin, char *label,
			      char *serial, char *errmsg, size_t errlen);

/* The same for shares of the SO PIN (files NAME.so-share, whose check value
 * is tagged for the SO PIN, so the two kinds never mix). */
signet_err cer_so_shares_combine(const cer_policy *p, const cer_share_in *shares, size_t n,
				 const cer_pass *passes, size_t npasses, sg_secret **pin,
				 char *label, char *serial, char *errmsg, size_t errlen);

/* The same for shares of the backup-domain key (files NAME.domain-share, made
 * by create-domain): *key gets the HSM_DOMAIN_KEY_LEN key octets in locked
 * memory (freed by the caller), id its hsm_domain_id. SIGNET_EQUORUM for too
 * few shares, SIGNET_EVERIFY for shares of another kind or domain. */
signet_err cer_domain_shares_combine(const cer_policy *p, const cer_share_in *shares, size_t n,
				     const cer_pass *passes, size_t npasses, sg_secret **key,
				     uint8_t id[HSM_ID_LEN], char *errmsg, size_t errlen);

/* Read a passphrase from the terminal without echo (prompt on /dev/tty).
 * SIGNET_EIO when there is no terminal. */
signet_err cer_read_passphrase_tty(const char *prompt, sg_secret **out, char *errmsg,
				   size_t errlen);

#endif /* SIGNET_CEREMONY_H */
