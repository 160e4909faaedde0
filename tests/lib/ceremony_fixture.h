/* ceremony_fixture.h -- operators, policy, token and files of an M-of-N
 * ceremony on a real SoftHSM2 token, for the ceremony tests.
 *
 * cfx_create() builds a softhsm_fixture (token initialised, not opened),
 * makes <fx->dir>/files (operators' files, requests, approvals, outputs) and
 * <fx->dir>/ceremony (the ceremony directory), optionally <files>/shares,
 * gives each operator a passphrase in sg_secret memory and, if asked, enrolls
 * them. The helpers below build policies, requests, approvals, key-signing
 * requests and runs of cer_execute the way every ceremony test needs them.
 *
 * Helpers returning void check with cmocka assertions: a failure fails the
 * running test (or the group setup that called them). One fixture per
 * process (the SoftHSM2 fixture's own rule).
 */
#ifndef SIGNET_TEST_CEREMONY_FIXTURE_H
#define SIGNET_TEST_CEREMONY_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "ceremony/ceremony.h"
#include "common/common.h"
#include "dnssec/dnssec.h"
#include "tests/lib/softhsm_fixture.h"

#define CFX_OPS_MAX 4     /* operators a fixture can hold */
#define CFX_PATH 700      /* size of every path buffer below */

typedef struct cer_fixture {
	softhsm_fixture *fx;                        /* the token and its temporary directory */
	char dir[512];                              /* <fx->dir>/files */
	char cdir[600];                             /* <fx->dir>/ceremony */
	char shares[600];                           /* <dir>/shares, the default share directory */
	char conf[600];                             /* <fx->dir>/ceremony.conf, the machine's */
	size_t nops;                                /* operators below */
	const char *names[CFX_OPS_MAX];             /* operator names, not owned */
	sg_secret *pass[CFX_OPS_MAX];               /* passphrases, owned */
	cer_pass passes[CFX_OPS_MAX];               /* names and pass, for cer_exec */
	char keyfile[CFX_OPS_MAX][CFX_PATH];        /* <dir>/<name>.key */
	char pubfile[CFX_OPS_MAX][CFX_PATH];        /* <dir>/<name>.pub */
	char sharefile[CFX_OPS_MAX][CFX_PATH];      /* <shares>/<name>.share */
	char sosharefile[CFX_OPS_MAX][CFX_PATH];    /* <shares>/<name>.so-share */
	int seq;                                    /* counter of cfx_fresh */
	const char *backup_dir;                     /* cfx_run's cer_exec.backup_dir, or NULL */
	const cer_share_in *domain_shares;          /* cfx_run's cer_exec.domain_shares */
	size_t ndomain_shares;
	const sg_secret *so_pin;                    /* cfx_run's cer_exec.adopt_so_pin */
} cer_fixture;

/* What cfx_create makes. names and pws (nops each) must outlive the fixture. */
typedef struct cfx_opts {
	size_t nops;                 /* 1..CFX_OPS_MAX */
	const char *const *names;
	const char *const *pws;      /* passphrases */
	bool shares_dir;             /* create <dir>/shares */
	bool enroll;                 /* enroll every operator (key and pub files) */
} cfx_opts;

/* Build c as described at the top, with the ceremony machine's
 * configuration naming the fixture's module (c->conf, mode 0600, put in
 * $SIGNET_CEREMONY_CONF for the library and the tool). On failure the reason goes to stderr,
 * what was made is removed and an error is returned (SIGNET_EINVAL for bad
 * options, SIGNET_EIO for a directory, or what the failing call returned).
 * Free with cfx_destroy. */
signet_err cfx_create(cer_fixture *c, const cfx_opts *o);

/* cfx_create (o must ask for enrollment and the shares directory), then a
 * 2-of-3 ceremony ready for operations: a policy of the first three
 * operators with algorithms algs, signed by operators 0 and 1 and adopted,
 * and a fresh token initialised by init-token, its shares (user and SO PIN)
 * in c->shares. Returns what cfx_create returned; later failures fail the
 * test. */
signet_err cfx_create_ready(cer_fixture *c, const cfx_opts *o, const uint8_t *algs,
			    size_t nalgs);

/* Free the passphrases and remove the token and every file. */
void cfx_destroy(cer_fixture *c);

/* <dir>/<name>. */
void cfx_path(const cer_fixture *c, char *out, size_t len, const char *name);

/* A fresh <dir>/<stem>-<n> per call, since ceremony files are never
 * overwritten. */
void cfx_fresh(cer_fixture *c, char *out, size_t len, const char *stem);

/* The buffer the tests pass as errmsg to the ceremony layer (CFX_ERR), so
 * that cfx_expect and the tests read the reason of the last failure. */
extern char cfx_errmsg[CER_ERRMSG_MAX];
#define CFX_ERR cfx_errmsg, sizeof(cfx_errmsg)

/* Fail unless got is want and, if needle is given, cfx_errmsg holds it. */
void cfx_expect(signet_err got, signet_err want, const char *needle);

/* A new sg_secret holding s; the caller frees it. */
sg_secret *cfx_secret(const char *s);

/* Write a policy of the first count operators with threshold m, the
 * fixture's module (and its SHA-256), label "signet-ksk", algorithms algs
 * (nalgs), 30-day periods and a 400-day span, to out (not signed). */
void cfx_write_policy(const cer_fixture *c, const char *out, uint64_t serial, size_t count,
		      unsigned m, const uint8_t *algs, size_t nalgs);

/* Sign the policy file by the operators in signers (all must succeed). */
void cfx_sign_policy(const cer_fixture *c, const char *file, const int *signers, size_t n);

/* cfx_write_policy, cfx_sign_policy by signers, then adopt it into the
 * ceremony directory (which must succeed). */
void cfx_adopt_policy(const cer_fixture *c, const char *file, uint64_t serial, size_t count,
		      unsigned m, const uint8_t *algs, size_t nalgs, const int *signers,
		      size_t nsigners);

/* A fresh request file (out) for op under the adopted policy. */
void cfx_request(cer_fixture *c, const char *op, const char *zone, const char *const *params,
		 size_t n, const char *keyset, int64_t nb, int64_t na, char *out, size_t outlen);

/* A fresh approval of req by operator who (out). */
void cfx_approve(cer_fixture *c, const char *req, int who, char *out, size_t outlen);

/* Execute req with approvals by the operators in who (made here) and the
 * shares of those in sh, read from share_dir (NULL: c->shares), with their
 * SO shares there too when they exist; every passphrase is given. keyset,
 * shares_out and out as in cer_exec (may be NULL). Returns what cer_execute
 * returned. */
signet_err cfx_run(cer_fixture *c, const char *req, const int *who, size_t nwho, const int *sh,
		   size_t nsh, const char *share_dir, const char *keyset, const char *shares_out,
		   const char *out);

/* Initialise a fresh token: an init-token request approved by operators 0
 * and 1, executed with the first npasses passphrases; the shares of both
 * PINs go to shares_out. Fails the test unless it succeeds. */
void cfx_init_token(cer_fixture *c, size_t npasses, const char *shares_out);

/* Combine the shares of sh (from share_dir, NULL: c->shares) into the PIN
 * -- with the split's own quorum if any_threshold, else the policy's --,
 * log in with it and count the key objects into *keys. Returns what
 * hsm_token_open returned; every other failure fails the test. */
signet_err cfx_token_keys(cer_fixture *c, const char *share_dir, const int *sh, size_t nsh,
			  bool any_threshold, size_t *keys);

/* As cfx_token_keys, but every object the user sees (keys and the anchor's
 * data objects) and the anchor's public copy as text (anchor may be NULL):
 * what must not change when an execution is refused. */
signet_err cfx_token_state(cer_fixture *c, const char *share_dir, const int *sh, size_t nsh,
			   size_t *objects, sg_buf *anchor);

/* The "; key-id HEX" of a create-ksk output file into id (2*HSM_ID_MAX+1). */
void cfx_key_id(const char *file, char *id);

/* The DNSKEY RDATA of the first record of zone in a file the ceremony wrote
 * (create-ksk or export-ds output); that record must be a DNSKEY. */
void cfx_dnskey(const char *file, const char *zone, sg_buf *rdata);

/* DNSKEY RDATA (algorithm 15) of the Ed25519 key k with flags. */
void cfx_ed25519_dnskey(EVP_PKEY *k, uint16_t flags, sg_buf *out);

/* Empty DNSKEY, CDS, CDNSKEY and RRSIG sets at zone (TTL 3600) and the
 * window [inception, inception + len] for one period of a keyset. */
void cfx_period_init(dns_keyset_period *p, const dns_name *zone, uint32_t inception,
		     uint32_t len);

/* The CDS (SHA-256) and CDNSKEY of the KSK (DNSKEY RDATA) in p. */
void cfx_period_add_cds(dns_keyset_period *p, const dns_name *zone, const sg_buf *ksk);

/* Add the ZSK's proof of possession to p: an RRSIG over p's DNSKEY set
 * (canonicalised first by the caller) by zk (algorithm 15, key tag ztag)
 * with p's window. With corrupt, one octet of the signature is changed. */
void cfx_period_prove(dns_keyset_period *p, const dns_name *zone, EVP_PKEY *zk, uint16_t ztag,
		      bool corrupt);

/* Write ks as keyset text to out and free it. */
void cfx_keyset_write(dns_keyset *ks, const char *out);

/* Read the bundle file path into *bundle (free with dns_keyset_free): it
 * must parse as a bundle of count periods. */
void cfx_read_bundle(const char *path, size_t count, dns_keyset *bundle);

/* The set of p (DNSKEY, CDS or CDNSKEY) an RRSIG covering type signs. */
dns_rrset *cfx_covered_set(dns_keyset_period *p, uint16_t type);

/* An export-ds output (out) of zone: holds the DS records of digests 2 and
 * 4 of its DNSKEY and the approvals of alice and bob. The DNSKEY RDATA goes
 * to ksk. */
void cfx_check_ds_export(const char *out, const char *zone, sg_buf *ksk);

/* A key-signing request as signetd writes one for zone_name (presentation
 * form) to out: two 10-day periods from an hour ago, a fresh Ed25519 ZSK
 * (made with OpenSSL) proving possession, the KSK (DNSKEY RDATA), CDS and
 * CDNSKEY in the first period. */
void cfx_build_ksr(const sg_buf *ksk, const char *zone_name, const char *out);

/* argv for the tool: tool, then args up to their NULL, at most max - 1 in
 * all, then NULL. */
void cfx_tool_argv(const char *tool, const char *const *args, const char **argv, size_t max);

#endif /* SIGNET_TEST_CEREMONY_FIXTURE_H */
