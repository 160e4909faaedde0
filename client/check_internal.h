/* check_internal.h -- what the files of `signet check` share: the state of
 * one run, asking the server, and verifying the RRSIGs of an answer. Not
 * part of the client layer's API (client/client.h). */
#ifndef SIGNET_CLIENT_CHECK_INTERNAL_H
#define SIGNET_CLIENT_CHECK_INTERNAL_H

#include "client/client.h"

#define CHK_KEYS_MAX 64  /* DNSKEYs looked at */
#define CHK_REPEAT_MAX 8 /* findings of one kind before they are summed up */

/* Findings that can repeat once per RRSIG, capped per kind. */
enum chk_kind {
	CHK_NOSIG,
	CHK_BADSIG,
	CHK_EXPIRED,
	CHK_FUTURE,
	CHK_EXPIRING,
	CHK_ALGS,
	CHK_TTL,
	CHK_COUNT
};

/* State of one run. */
typedef struct check_ctx {
	const check_options *o;
	check_report *r;
	char zone[DNS_NAME_STR_MAX];     /* the apex as text */
	dns_rrset dnskey;                /* the zone's DNSKEY RRset as served */
	uint16_t ksk_tags[CHK_KEYS_MAX]; /* keys with a valid RRSIG over DNSKEY */
	uint8_t ksk_algs[CHK_KEYS_MAX];
	size_t nksk;
	size_t sigs_ok;            /* RRSIGs that verify */
	size_t sets_ok;            /* RRsets with a valid RRSIG */
	int64_t min_left;          /* least remaining lifetime seen, -1 none */
	char min_what[96];         /* whose */
	size_t repeats[CHK_COUNT]; /* findings per kind, to cap them */
	bool nomem;                /* memory ran out: the run is ENOMEM */
} check_ctx;

/* Presentation forms for findings; "?" when they cannot be made. */
void chk_name_text(const dns_name *n, char *out, size_t len);
void chk_type_text(uint16_t type, char *out, size_t len);
void chk_when_text(uint32_t t, char *out, size_t len);

/* True while findings of kind k are below CHK_REPEAT_MAX (counts them). */
bool chk_repeat_ok(check_ctx *c, enum chk_kind k);

/* The RRset (owner, type) of one section (1 answer, 2 authority) of a into
 * out (initialised here, empty if none; the lowest TTL). Clear out in every
 * case. */
signet_err chk_collect(const check_answer *a, uint8_t section, const dns_name *owner, uint16_t type,
		       dns_rrset *out);

/* Verify the RRSIGs over (owner, type) in one section of a with keys, made
 * by signer. Missing or failing signatures are findings; true when at least
 * one RRSIG verifies. tags_out and algs_out (may be NULL, with room for
 * CHK_KEYS_MAX) get the key tag and algorithm of each RRSIG that verifies,
 * *ntags their count. */
bool chk_verify_set(check_ctx *c, const check_answer *a, uint8_t section, const dns_name *owner,
		    uint16_t type, const dns_rrset *keys, const dns_name *signer,
		    uint16_t *tags_out, uint8_t *algs_out, size_t *ntags);

/* Verify every RRset of the answer section and the SOA, NSEC, NSEC3 and DS
 * sets of the authority section with the zone's keys. */
void chk_verify_answer(check_ctx *c, const check_answer *a);

/* Ask the zone's server; a failure is a finding and returns false (a is
 * then empty). Free a with check_answer_free on true. */
bool chk_ask(check_ctx *c, const dns_name *qname, uint16_t qtype, check_answer *a);

/* Warn when an answer does not fit the EDNS buffer a validator announces. */
void chk_judge_size(check_ctx *c, const check_answer *a, const char *what);

/* True if (tag, alg) signs the DNSKEY RRset. */
bool chk_is_ksk(const check_ctx *c, uint16_t tag, uint8_t alg);

/* The key of the DNSKEY RRset a DS (or CDS) names and digests, or NULL. */
const dns_rdata *chk_ds_key(const check_ctx *c, const uint8_t *ds, size_t len);

/* The checks, in the order check_zone runs them. */
bool chk_dnskey(check_ctx *c); /* false: no usable DNSKEY RRset, stop */
void chk_cds(check_ctx *c);
void chk_ds(check_ctx *c);
/* The DS RRs of the --ds file into out (a DS RRset of the apex). */
void chk_ds_file(check_ctx *c, dns_rrset *out);
void chk_denial(check_ctx *c);

#endif
