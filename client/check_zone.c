/* check_zone.c -- what `signet check` looks at in a served zone: RRSIGs on
 * every answer and their lifetimes, the DNSKEY RRset, DS and CDS/CDNSKEY
 * against the KSKs, the NSEC walk or NSEC3 proofs, and answer sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "client/client.h"

#define SAMPLE_MAX 5        /* names from the NSEC walk whose data is asked */
#define REPEAT_MAX 8        /* findings of one kind before they are summed up */
#define KEYS_MAX 64         /* DNSKEYs looked at */

enum kind { K_NOSIG, K_BADSIG, K_EXPIRED, K_FUTURE, K_EXPIRING, K_ALGS, K_COUNT };

/* State of one run. */
struct ctx {
	const check_options *o;
	check_report *r;
	char zone[DNS_NAME_STR_MAX];     /* the apex as text */
	dns_rrset dnskey;                /* the zone's DNSKEY RRset as served */
	uint16_t ksk_tags[KEYS_MAX];     /* keys with a valid RRSIG over DNSKEY */
	uint8_t ksk_algs[KEYS_MAX];
	size_t nksk;
	size_t sigs_ok;                  /* RRSIGs that verify */
	size_t sets_ok;                  /* RRsets with a valid RRSIG */
	int64_t min_left;                /* least remaining lifetime seen, -1 none */
	char min_what[96];               /* whose */
	size_t repeats[K_COUNT];         /* findings per kind, to cap them */
	bool nomem;
};

static void name_text(const dns_name *n, char *out, size_t len)
{
	if (dns_name_to_str(n, out, len) != SIGNET_OK)
		snprintf(out, len, "?");
}

static void type_text(uint16_t type, char *out, size_t len)
{
	char *s = ldns_rr_type2str((ldns_rr_type)type);
	snprintf(out, len, "%s", s ? s : "?");
	free(s);
}

static void when_text(uint32_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%u", t);
}

static void span_text(int64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%lldd %lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, len, "%lldh %lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else
		snprintf(out, len, "%llds", (long long)s);
}

/* Report a finding of a kind that can repeat once per RRSIG; past REPEAT_MAX
 * they are only counted (and summed up at the end). */
static bool repeat_ok(struct ctx *c, enum kind k)
{
	return c->repeats[k]++ < REPEAT_MAX;
}

/* ---- answers ------------------------------------------------------------- */

/* The RRset (owner, type) of one section of a as a dns_rrset (empty if none). */
static signet_err collect(const check_answer *a, uint8_t section, const dns_name *owner,
			  uint16_t type, dns_rrset *out)
{
	dns_rrset_init(out, owner, type, DNS_CLASS_IN, 0);
	bool first = true;
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section != section || rr->type != type || rr->rclass != DNS_CLASS_IN ||
		    !dns_name_equal(&rr->owner, owner))
			continue;
		if (first || rr->ttl < out->ttl)
			out->ttl = rr->ttl;
		first = false;
		signet_err ret = dns_rrset_add(out, rr->rdata, rr->len);
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

/* The DNSKEY RDATA in keys matching (tag, alg) with the zone flag, from
 * *from on; *from moves past it. NULL when no more. */
static const dns_rdata *key_for(const dns_rrset *keys, uint16_t tag, uint8_t alg,
				size_t *from)
{
	for (; *from < keys->count; (*from)++) {
		const dns_rdata *k = &keys->rr[*from];
		uint16_t t;
		if (k->len < 4 || k->data[3] != alg || !(sg_get_u16(k->data) & DNS_DNSKEY_FLAG_ZONE))
			continue;
		if (dns_key_tag(k->data, k->len, &t) == SIGNET_OK && t == tag)
			return &keys->rr[(*from)++];
	}
	return NULL;
}

/* Judge one RRSIG's window at now: CRITICAL when outside, WARNING when it
 * ends within the refresh time. */
static void judge_window(struct ctx *c, const dns_rrsig *sig, const char *what)
{
	uint32_t now = c->o->now;
	char when[40];
	if (dns_serial_compare(sig->expiration, now) < 0) {
		when_text(sig->expiration, when, sizeof(when));
		if (repeat_ok(c, K_EXPIRED))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: RRSIG by key %u expired at %s", what, sig->key_tag,
					 when);
		return;
	}
	if (dns_serial_compare(sig->inception, now) > 0) {
		when_text(sig->inception, when, sizeof(when));
		if (repeat_ok(c, K_FUTURE))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: RRSIG by key %u not valid before %s", what,
					 sig->key_tag, when);
		return;
	}
	int64_t left = (int64_t)(uint32_t)(sig->expiration - now);
	if (c->min_left < 0 || left < c->min_left) {
		c->min_left = left;
		snprintf(c->min_what, sizeof(c->min_what), "%.80s", what);
	}
	if (left < (int64_t)c->o->refresh && repeat_ok(c, K_EXPIRING)) {
		char span[40], refresh[40];
		when_text(sig->expiration, when, sizeof(when));
		span_text(left, span, sizeof(span));
		span_text(c->o->refresh, refresh, sizeof(refresh));
		check_report_add(c->r, CHECK_WARNING, "rrsig",
				 "%s: RRSIG by key %u expires in %s (%s), within the refresh "
				 "time of %s: the signer is not re-signing",
				 what, sig->key_tag, span, when, refresh);
	}
}

/* Verify the RRSIGs over (owner, type) in one section of a with keys, made
 * by signer. Missing or failing signatures are findings; returns true when
 * at least one RRSIG verifies. tags_out and algs_out (may be NULL, with room
 * for KEYS_MAX) get the key tag and algorithm of each RRSIG that verifies,
 * *ntags their count. */
static bool verify_set(struct ctx *c, const check_answer *a, uint8_t section,
		       const dns_name *owner, uint16_t type, const dns_rrset *keys,
		       const dns_name *signer, uint16_t *tags_out, uint8_t *algs_out,
		       size_t *ntags)
{
	char on[DNS_NAME_STR_MAX], tn[16], what[DNS_NAME_STR_MAX + 32];
	name_text(owner, on, sizeof(on));
	type_text(type, tn, sizeof(tn));
	snprintf(what, sizeof(what), "%s %s", tn, on);
	dns_rrset set;
	if (collect(a, section, owner, type, &set) != SIGNET_OK) {
		c->nomem = true;
		dns_rrset_clear(&set);
		return false;
	}
	if (set.count == 0)
		return false;
	uint8_t algs[32] = {0};
	size_t nsig = 0, nok = 0;
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section != section || rr->type != DNS_T_RRSIG ||
		    !dns_name_equal(&rr->owner, owner) || rr->len < 2 ||
		    sg_get_u16(rr->rdata) != type)
			continue;
		dns_rrsig sig;
		if (dns_rrsig_from_rdata(&sig, rr->rdata, rr->len) != SIGNET_OK) {
			check_report_add(c->r, CHECK_CRITICAL, "rrsig", "%s: malformed RRSIG", what);
			continue;
		}
		nsig++;
		signet_err vr = SIGNET_ENOTFOUND;
		size_t from = 0;
		const dns_rdata *k;
		while (vr != SIGNET_OK &&
		       (k = key_for(keys, sig.key_tag, sig.algorithm, &from)) != NULL)
			vr = dns_rrsig_verify(&sig, &set, k->data, k->len, signer, 0);
		if (vr == SIGNET_OK) {
			nok++;
			algs[sig.algorithm / 8] |= (uint8_t)(1u << (sig.algorithm % 8));
			if (tags_out && algs_out && ntags && *ntags < KEYS_MAX) {
				tags_out[*ntags] = sig.key_tag;
				algs_out[(*ntags)++] = sig.algorithm;
			}
			judge_window(c, &sig, what);
		} else if (vr == SIGNET_ENOTFOUND) {
			if (repeat_ok(c, K_BADSIG))
				check_report_add(c->r, CHECK_WARNING, "rrsig",
						 "%s: RRSIG by key %u (algorithm %u) names no key "
						 "of the DNSKEY RRset", what, sig.key_tag,
						 sig.algorithm);
		} else if (vr == SIGNET_EUNSUPPORTED) {
			if (repeat_ok(c, K_BADSIG))
				check_report_add(c->r, CHECK_WARNING, "rrsig",
						 "%s: RRSIG algorithm %u cannot be verified here",
						 what, sig.algorithm);
		} else if (repeat_ok(c, K_BADSIG)) {
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: RRSIG by key %u does not verify (%s)", what,
					 sig.key_tag, signet_strerror(vr));
		}
	}
	dns_rrset_clear(&set);
	if (nsig == 0) {
		if (repeat_ok(c, K_NOSIG))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: no RRSIG in the answer although DO was set", what);
		return false;
	}
	if (nok == 0) {
		if (repeat_ok(c, K_NOSIG))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: no RRSIG verifies: validators answer SERVFAIL", what);
		return false;
	}
	c->sigs_ok += nok;
	c->sets_ok++;
	/* RFC 4035 §2.2: the zone is signed with every algorithm of its DNSKEY
	 * RRset; a set missing one is bogus to a strict validator. */
	if (keys == &c->dnskey) {
		for (size_t i = 0; i < keys->count; i++) {
			const dns_rdata *k = &keys->rr[i];
			if (k->len < 4 || !(sg_get_u16(k->data) & DNS_DNSKEY_FLAG_ZONE) ||
			    !dns_alg_supported(k->data[3]))
				continue;
			uint8_t alg = k->data[3];
			if (!(algs[alg / 8] & (1u << (alg % 8)))) {
				if (repeat_ok(c, K_ALGS))
					check_report_add(c->r, CHECK_WARNING, "algorithm",
							 "%s: not signed with algorithm %u of the "
							 "DNSKEY RRset (RFC 4035 2.2)", what, alg);
				algs[alg / 8] |= (uint8_t)(1u << (alg % 8));
			}
		}
	}
	return true;
}

/* Verify every RRset of an answer's answer section and the SOA, NSEC, NSEC3
 * and DS sets of its authority section. */
static void verify_answer(struct ctx *c, const check_answer *a)
{
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->type == DNS_T_RRSIG || rr->rclass != DNS_CLASS_IN)
			continue;
		if (rr->section == 2 && rr->type != DNS_T_SOA && rr->type != DNS_T_NSEC &&
		    rr->type != DNS_T_NSEC3 && rr->type != DNS_T_DS)
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = a->rrs[j].section == rr->section && a->rrs[j].type == rr->type &&
			       dns_name_equal(&a->rrs[j].owner, &rr->owner);
		if (!seen)
			(void)verify_set(c, a, rr->section, &rr->owner, rr->type, &c->dnskey,
					 &c->o->zone, NULL, NULL, NULL);
	}
}

/* Ask the zone's server; a failure is a finding and returns false. */
static bool ask(struct ctx *c, const dns_name *qname, uint16_t qtype, check_answer *a)
{
	char err[256], qn[DNS_NAME_STR_MAX], tn[16];
	signet_err ret = check_query(&c->o->server, qname, qtype, a, err, sizeof(err));
	if (ret == SIGNET_OK)
		return true;
	name_text(qname, qn, sizeof(qn));
	type_text(qtype, tn, sizeof(tn));
	if (ret == SIGNET_ENOMEM)
		c->nomem = true;
	else
		check_report_add(c->r, ret == SIGNET_EIO ? CHECK_UNKNOWN : CHECK_CRITICAL,
				 "server", "%s %s: %s", qn, tn, err);
	return false;
}

/* Warn when an answer does not fit the EDNS buffer a validator announces. */
static void judge_size(struct ctx *c, const check_answer *a, const char *what)
{
	if (a->udp_tc)
		check_report_add(c->r, CHECK_WARNING, "size",
				 "%s: answer of %zu octets does not fit the %d-octet EDNS "
				 "buffer: truncated (TC) over UDP, needs TCP", what, a->size,
				 CHECK_EDNS_SIZE);
	else if (a->udp_size > CHECK_EDNS_SIZE)
		check_report_add(c->r, CHECK_WARNING, "size",
				 "%s: %zu-octet answer over UDP exceeds the %d-octet EDNS "
				 "buffer (fragments get dropped)", what, a->udp_size,
				 CHECK_EDNS_SIZE);
	else
		check_report_add(c->r, CHECK_OK, "size", "%s: %zu octets over UDP", what,
				 a->udp_size);
}

/* ---- DNSKEY -------------------------------------------------------------- */

static bool is_ksk(const struct ctx *c, uint16_t tag, uint8_t alg)
{
	for (size_t i = 0; i < c->nksk; i++)
		if (c->ksk_tags[i] == tag && c->ksk_algs[i] == alg)
			return true;
	return false;
}

static bool check_dnskey(struct ctx *c)
{
	check_answer a;
	if (!ask(c, &c->o->zone, DNS_T_DNSKEY, &a))
		return false;
	judge_size(c, &a, "DNSKEY");
	if (collect(&a, 1, &c->o->zone, DNS_T_DNSKEY, &c->dnskey) != SIGNET_OK) {
		c->nomem = true;
		check_answer_free(&a);
		return false;
	}
	if (c->dnskey.count == 0) {
		check_report_add(c->r, CHECK_CRITICAL, "dnskey",
				 "no DNSKEY RRset at %s: the zone is not signed", c->zone);
		check_answer_free(&a);
		return false;
	}
	unsigned ksk[256] = {0}, zsk[256] = {0};
	size_t zone_keys = 0;
	sg_buf list = SG_BUF_INIT;
	for (size_t i = 0; i < c->dnskey.count && i < KEYS_MAX; i++) {
		const dns_rdata *k = &c->dnskey.rr[i];
		uint16_t flags = sg_get_u16(k->data), tag = 0;
		uint8_t alg = k->data[3];
		(void)dns_key_tag(k->data, k->len, &tag);
		if (k->data[2] != DNS_DNSKEY_PROTOCOL || !(flags & DNS_DNSKEY_FLAG_ZONE)) {
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "key %u is not a zone key (flags %u, protocol %u)", tag,
					 flags, k->data[2]);
			continue;
		}
		zone_keys++;
		if (!dns_alg_supported(alg))
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "key %u has algorithm %u, which signet does not support "
					 "(8, 13, 14, 15)", tag, alg);
		if (flags & DNS_DNSKEY_FLAG_REVOKE)
			continue;
		if (flags & DNS_DNSKEY_FLAG_SEP)
			ksk[alg]++;
		else
			zsk[alg]++;
		(void)sg_buf_printf(&list, "%s%u %s alg %u", list.len ? ", " : "", tag,
				    flags & DNS_DNSKEY_FLAG_SEP ? "KSK" : "ZSK", alg);
	}
	if (c->dnskey.count > KEYS_MAX)
		check_report_add(c->r, CHECK_WARNING, "dnskey",
				 "%zu DNSKEYs: only the first %d were looked at",
				 c->dnskey.count, KEYS_MAX);
	check_report_add(c->r, CHECK_OK, "dnskey", "%zu keys: %s", c->dnskey.count,
			 list.len ? (const char *)list.data : "none usable");
	sg_buf_free(&list);

	/* The keys whose RRSIG over DNSKEY verifies are the KSKs in use. */
	if (verify_set(c, &a, 1, &c->o->zone, DNS_T_DNSKEY, &c->dnskey, &c->o->zone,
		       c->ksk_tags, c->ksk_algs, &c->nksk)) {
		sg_buf ksks = SG_BUF_INIT;
		for (size_t i = 0; i < c->nksk; i++)
			(void)sg_buf_printf(&ksks, "%s%u", i ? ", " : "", c->ksk_tags[i]);
		check_report_add(c->r, CHECK_OK, "dnskey", "DNSKEY RRset signed by key%s %s",
				 c->nksk > 1 ? "s" : "", ksks.len ? (const char *)ksks.data : "");
		sg_buf_free(&ksks);
	}
	for (unsigned alg = 0; alg < 256; alg++) {
		if (!ksk[alg] && !zsk[alg])
			continue;
		if (!ksk[alg])
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "algorithm %u has no KSK (SEP flag)", alg);
		if (!zsk[alg])
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "algorithm %u has no ZSK (only SEP keys: a CSK?)", alg);
	}
	check_answer_free(&a);
	return zone_keys > 0;
}

/* ---- DS, CDS, CDNSKEY ----------------------------------------------------- */

/* True if DS (or CDS) RDATA ds is the digest of DNSKEY key at the apex. */
static bool ds_matches(const struct ctx *c, const uint8_t *ds, size_t dslen,
		       const dns_rdata *key)
{
	uint16_t tag;
	if (dslen < 5 || key->len < 4 || dns_key_tag(key->data, key->len, &tag) != SIGNET_OK ||
	    tag != sg_get_u16(ds) || ds[2] != key->data[3])
		return false;
	if (ds[3] == 1) {
		/* SHA-1 DS are still published by parents; dnssec/ only makes the
		 * digests signet emits, so this one is computed here. */
		dns_name owner = c->o->zone;
		dns_name_lower(&owner);
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		bool ok = m && EVP_DigestInit_ex(m, EVP_sha1(), NULL) == 1 &&
			  EVP_DigestUpdate(m, owner.wire, owner.len) == 1 &&
			  EVP_DigestUpdate(m, key->data, key->len) == 1 &&
			  EVP_DigestFinal_ex(m, md, &mdlen) == 1;
		EVP_MD_CTX_free(m);
		return ok && dslen == 4 + mdlen && memcmp(ds + 4, md, mdlen) == 0;
	}
	sg_buf mine = SG_BUF_INIT;
	bool ok = dns_ds_rdata(&c->o->zone, key->data, key->len, ds[3], &mine) == SIGNET_OK &&
		  mine.len == dslen && memcmp(mine.data, ds, dslen) == 0;
	sg_buf_free(&mine);
	return ok;
}

/* The key of the DNSKEY RRset a DS names, or NULL. */
static const dns_rdata *ds_key(const struct ctx *c, const uint8_t *ds, size_t len)
{
	for (size_t i = 0; i < c->dnskey.count; i++)
		if (ds_matches(c, ds, len, &c->dnskey.rr[i]))
			return &c->dnskey.rr[i];
	return NULL;
}

/* Match a DS RRset (from the parent or a file) with the KSKs. */
static void judge_ds(struct ctx *c, const dns_rrset *ds, const char *source)
{
	if (ds->count == 0) {
		check_report_add(c->r, CHECK_WARNING, "ds",
				 "no DS for %s %s: validators treat the zone as insecure",
				 c->zone, source);
		return;
	}
	size_t good = 0;
	for (size_t i = 0; i < ds->count; i++) {
		const dns_rdata *d = &ds->rr[i];
		if (d->len < 5) {
			check_report_add(c->r, CHECK_CRITICAL, "ds", "malformed DS %s", source);
			continue;
		}
		uint16_t tag = sg_get_u16(d->data);
		uint8_t alg = d->data[2], dt = d->data[3];
		if (dt != 1 && dt != DNS_DIGEST_SHA256 && dt != DNS_DIGEST_SHA384) {
			check_report_add(c->r, CHECK_WARNING, "ds",
					 "DS %u alg %u digest type %u %s: digest type not "
					 "checked", tag, alg, dt, source);
			continue;
		}
		const dns_rdata *k = ds_key(c, d->data, d->len);
		if (!k) {
			check_report_add(c->r, CHECK_WARNING, "ds",
					 "DS %u alg %u digest type %u %s matches no DNSKEY", tag,
					 alg, dt, source);
			continue;
		}
		if (!is_ksk(c, tag, alg)) {
			check_report_add(c->r, CHECK_WARNING, "ds",
					 "DS %u alg %u %s matches a DNSKEY that does not sign the "
					 "DNSKEY RRset", tag, alg, source);
			continue;
		}
		good++;
		check_report_add(c->r, CHECK_OK, "ds",
				 "DS %u alg %u digest type %u %s matches KSK %u, which signs "
				 "the DNSKEY RRset", tag, alg, dt, source, tag);
	}
	if (good == 0)
		check_report_add(c->r, CHECK_CRITICAL, "ds",
				 "no DS %s matches a KSK that signs the DNSKEY RRset: the chain "
				 "of trust is broken, validators answer SERVFAIL", source);
}

/* DS RRs in presentation form from a file (K*.ds, dnssec-dsfromkey output). */
static void ds_from_file(struct ctx *c, dns_rrset *out)
{
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(c->o->ds_file, 64 * 1024, &text);
	if (ret != SIGNET_OK) {
		check_report_add(c->r, CHECK_UNKNOWN, "ds", "cannot read %s: %s",
				 c->o->ds_file, signet_strerror(ret));
		sg_buf_free(&text);
		return;
	}
	size_t pos = 0;
	unsigned line = 0;
	while (pos < text.len) {
		size_t end = pos;
		while (end < text.len && text.data[end] != '\n')
			end++;
		line++;
		char buf[4096];
		size_t n = end - pos;
		if (n >= sizeof(buf)) {
			check_report_add(c->r, CHECK_UNKNOWN, "ds", "%s line %u: too long",
					 c->o->ds_file, line);
			break;
		}
		memcpy(buf, text.data + pos, n);
		buf[n] = '\0';
		pos = end + 1;
		const char *p = buf + strspn(buf, " \t\r");
		if (!*p || *p == ';' || *p == '#')
			continue;
		dns_name owner;
		uint16_t type, rclass;
		uint32_t ttl;
		sg_buf rd = SG_BUF_INIT;
		if (dns_rr_from_text(p, &c->o->zone, &owner, &type, &rclass, &ttl, &rd) !=
			    SIGNET_OK ||
		    type != DNS_T_DS || !dns_name_equal(&owner, &c->o->zone)) {
			check_report_add(c->r, CHECK_UNKNOWN, "ds",
					 "%s line %u: not a DS RR of %s", c->o->ds_file, line,
					 c->zone);
			sg_buf_free(&rd);
			continue;
		}
		if (out->count >= KEYS_MAX)
			check_report_add(c->r, CHECK_WARNING, "ds", "%s line %u: more than %d DS, "
					 "ignored", c->o->ds_file, line, KEYS_MAX);
		else if (dns_rrset_add(out, rd.data, rd.len) != SIGNET_OK)
			c->nomem = true;
		sg_buf_free(&rd);
	}
	sg_buf_free(&text);
}

static void check_ds(struct ctx *c)
{
	dns_rrset ds;
	dns_rrset_init(&ds, &c->o->zone, DNS_T_DS, DNS_CLASS_IN, 0);
	if (c->o->ds_file) {
		ds_from_file(c, &ds);
		char source[CLIENT_PATH_MAX + 8];
		snprintf(source, sizeof(source), "in %.1000s", c->o->ds_file);
		judge_ds(c, &ds, source);
	} else if (c->o->have_parent) {
		char err[256];
		check_answer a;
		signet_err ret = check_query(&c->o->parent, &c->o->zone, DNS_T_DS, &a, err,
					     sizeof(err));
		if (ret != SIGNET_OK) {
			check_report_add(c->r, ret == SIGNET_EIO ? CHECK_UNKNOWN : CHECK_CRITICAL,
					 "ds", "parent %s: %s", c->o->parent.addr, err);
		} else if (a.rcode != LDNS_RCODE_NOERROR) {
			check_report_add(c->r, CHECK_CRITICAL, "ds",
					 "parent %s answers the DS query with rcode %d",
					 c->o->parent.addr, a.rcode);
		} else if (collect(&a, 1, &c->o->zone, DNS_T_DS, &ds) == SIGNET_OK) {
			char source[96];
			snprintf(source, sizeof(source), "at the parent %s", c->o->parent.addr);
			judge_ds(c, &ds, source);
			dns_name signer;
			/* The DS is the parent's data, signed with the parent's keys:
			 * fetch them from the same server to check the signature. */
			for (size_t i = 0; i < a.count; i++) {
				dns_rrsig sig;
				if (a.rrs[i].type != DNS_T_RRSIG || a.rrs[i].section != 1 ||
				    dns_rrsig_from_rdata(&sig, a.rrs[i].rdata, a.rrs[i].len) !=
					    SIGNET_OK || sig.type_covered != DNS_T_DS)
					continue;
				signer = sig.signer;
				check_answer pk;
				if (check_query(&c->o->parent, &signer, DNS_T_DNSKEY, &pk, err,
						sizeof(err)) != SIGNET_OK)
					break;
				dns_rrset keys;
				if (collect(&pk, 1, &signer, DNS_T_DNSKEY, &keys) == SIGNET_OK &&
				    verify_set(c, &a, 1, &c->o->zone, DNS_T_DS, &keys, &signer,
					       NULL, NULL, NULL))
					check_report_add(c->r, CHECK_OK, "ds",
							 "the DS RRset verifies with the parent's "
							 "DNSKEY");
				dns_rrset_clear(&keys);
				check_answer_free(&pk);
				break;
			}
		}
		if (ret == SIGNET_OK)
			check_answer_free(&a);
	} else {
		check_report_add(c->r, CHECK_OK, "ds",
				 "DS not checked: give --parent or --ds to compare it with the "
				 "KSKs");
	}
	dns_rrset_clear(&ds);
}

static void check_cds(struct ctx *c)
{
	check_answer a, b;
	if (!ask(c, &c->o->zone, DNS_T_CDS, &a))
		return;
	if (!ask(c, &c->o->zone, DNS_T_CDNSKEY, &b)) {
		check_answer_free(&a);
		return;
	}
	verify_answer(c, &a);
	verify_answer(c, &b);
	dns_rrset cds, cdnskey;
	if (collect(&a, 1, &c->o->zone, DNS_T_CDS, &cds) != SIGNET_OK ||
	    collect(&b, 1, &c->o->zone, DNS_T_CDNSKEY, &cdnskey) != SIGNET_OK)
		c->nomem = true;
	sg_buf del_cds = SG_BUF_INIT, del_cdnskey = SG_BUF_INIT;
	if (dns_cds_delete_rdata(&del_cds) != SIGNET_OK ||
	    dns_cdnskey_delete_rdata(&del_cdnskey) != SIGNET_OK)
		c->nomem = true;
	size_t ndel = 0;
	for (size_t i = 0; i < cds.count; i++)
		ndel += cds.rr[i].len == del_cds.len &&
			memcmp(cds.rr[i].data, del_cds.data, del_cds.len) == 0;
	for (size_t i = 0; i < cdnskey.count; i++)
		ndel += cdnskey.rr[i].len == del_cdnskey.len &&
			memcmp(cdnskey.rr[i].data, del_cdnskey.data, del_cdnskey.len) == 0;
	uint16_t cds_tags[KEYS_MAX], key_tags[KEYS_MAX];
	size_t ncds = 0, nkey = 0;
	bool bad = false;
	if (cds.count == 0 && cdnskey.count == 0) {
		check_report_add(c->r, CHECK_OK, "cds", "no CDS/CDNSKEY published");
	} else if (ndel) {
		if (ndel != cds.count + cdnskey.count)
			check_report_add(c->r, CHECK_CRITICAL, "cds",
					 "CDS/CDNSKEY mix the RFC 8078 delete form with keys");
		else
			check_report_add(c->r, CHECK_WARNING, "cds",
					 "CDS/CDNSKEY ask the parent to delete the DS (RFC 8078): "
					 "the zone goes insecure");
	} else {
		for (size_t i = 0; i < cds.count; i++) {
			const dns_rdata *k = ds_key(c, cds.rr[i].data, cds.rr[i].len);
			uint16_t tag = cds.rr[i].len >= 2 ? sg_get_u16(cds.rr[i].data) : 0;
			if (!k || !is_ksk(c, tag, k->data[3])) {
				check_report_add(c->r, CHECK_CRITICAL, "cds",
						 "CDS %u names no KSK that signs the DNSKEY RRset: a "
						 "parent that follows it breaks the zone", tag);
				bad = true;
			} else if (ncds < KEYS_MAX) {
				cds_tags[ncds++] = tag;
			}
		}
		for (size_t i = 0; i < cdnskey.count; i++) {
			const dns_rdata *ck = &cdnskey.rr[i];
			uint16_t tag = 0;
			bool found = false;
			for (size_t j = 0; j < c->dnskey.count && !found; j++)
				found = c->dnskey.rr[j].len == ck->len &&
					memcmp(c->dnskey.rr[j].data, ck->data, ck->len) == 0;
			if (ck->len < 4 || dns_key_tag(ck->data, ck->len, &tag) != SIGNET_OK ||
			    !found || !is_ksk(c, tag, ck->data[3])) {
				check_report_add(c->r, CHECK_CRITICAL, "cds",
						 "CDNSKEY %u is no KSK that signs the DNSKEY RRset",
						 tag);
				bad = true;
			} else if (nkey < KEYS_MAX) {
				key_tags[nkey++] = tag;
			}
		}
		bool agree = true;
		if (cds.count && cdnskey.count) {
			for (size_t i = 0; i < ncds; i++) {
				bool f = false;
				for (size_t j = 0; j < nkey && !f; j++)
					f = key_tags[j] == cds_tags[i];
				agree = agree && f;
			}
			for (size_t j = 0; j < nkey; j++) {
				bool f = false;
				for (size_t i = 0; i < ncds && !f; i++)
					f = key_tags[j] == cds_tags[i];
				agree = agree && f;
			}
		}
		if (!agree)
			check_report_add(c->r, CHECK_WARNING, "cds",
					 "CDS and CDNSKEY name different keys: parents will not "
					 "act on them (RFC 7344 4.1)");
		else if (!bad)
			check_report_add(c->r, CHECK_OK, "cds",
					 "%zu CDS and %zu CDNSKEY agree with the KSKs", cds.count,
					 cdnskey.count);
	}
	sg_buf_free(&del_cds);
	sg_buf_free(&del_cdnskey);
	dns_rrset_clear(&cds);
	dns_rrset_clear(&cdnskey);
	check_answer_free(&a);
	check_answer_free(&b);
}

/* ---- denial of existence ------------------------------------------------ */

/* Labels the two names share from the right. */
static unsigned common_labels(const dns_name *a, const dns_name *b)
{
	unsigned la = dns_name_labels(a), lb = dns_name_labels(b);
	unsigned n = la < lb ? la : lb, k = 0;
	for (unsigned i = 1; i <= n; i++) {
		dns_name sa, sb;
		if (dns_name_suffix(a, i, &sa) != SIGNET_OK ||
		    dns_name_suffix(b, i, &sb) != SIGNET_OK || !dns_name_equal(&sa, &sb))
			break;
		k = i;
	}
	return k;
}

/* "*." + n; false when too long. */
static bool wildcard_of(const dns_name *n, dns_name *out)
{
	if (n->len + 2 > DNS_NAME_MAX)
		return false;
	out->wire[0] = 1;
	out->wire[1] = '*';
	memcpy(out->wire + 2, n->wire, n->len);
	out->len = (uint8_t)(n->len + 2);
	return true;
}

/* True if the NSEC (owner, next) covers name: owner < name < next, the last
 * NSEC of the chain (next at or before owner) covering everything after it. */
static bool nsec_covers(const dns_name *owner, const dns_name *next, const dns_name *name)
{
	if (dns_name_compare(owner, next) < 0)
		return dns_name_compare(owner, name) < 0 && dns_name_compare(name, next) < 0;
	return dns_name_compare(owner, name) < 0 || dns_name_compare(name, next) < 0;
}

/* The next-name field of an NSEC RDATA. */
static bool nsec_next(const check_rr *rr, dns_name *next)
{
	return dns_name_from_wire(next, rr->rdata, rr->len, NULL) == SIGNET_OK;
}

/* RFC 4035 §5.4: an NSEC covers qname and one covers the wildcard at the
 * closest encloser. */
static void judge_nsec_proof(struct ctx *c, const check_answer *a, const dns_name *qname,
			     const char *qn)
{
	const check_rr *cover = NULL;
	dns_name next, ce;
	for (size_t i = 0; i < a->count && !cover; i++)
		if (a->rrs[i].section == 2 && a->rrs[i].type == DNS_T_NSEC &&
		    nsec_next(&a->rrs[i], &next) &&
		    nsec_covers(&a->rrs[i].owner, &next, qname))
			cover = &a->rrs[i];
	if (!cover) {
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "NXDOMAIN for %s: no NSEC covers the name (broken chain?): "
				 "validators reject the proof", qn);
		return;
	}
	unsigned k1 = common_labels(qname, &cover->owner), k2 = common_labels(qname, &next);
	unsigned zl = dns_name_labels(&c->o->zone);
	unsigned k = k1 > k2 ? k1 : k2;
	if (k < zl)
		k = zl;
	dns_name wild;
	if (dns_name_suffix(qname, k, &ce) != SIGNET_OK || !wildcard_of(&ce, &wild))
		return;
	bool wcover = false;
	for (size_t i = 0; i < a->count && !wcover; i++)
		wcover = a->rrs[i].section == 2 && a->rrs[i].type == DNS_T_NSEC &&
			 nsec_next(&a->rrs[i], &next) &&
			 nsec_covers(&a->rrs[i].owner, &next, &wild);
	char wn[DNS_NAME_STR_MAX];
	name_text(&wild, wn, sizeof(wn));
	if (!wcover)
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "NXDOMAIN for %s: no NSEC denies the wildcard %s", qn, wn);
	else
		check_report_add(c->r, CHECK_OK, "nsec",
				 "NXDOMAIN for %s proven: NSEC covers the name and %s", qn, wn);
}

/* One NSEC3 of an answer, parsed. */
struct n3 {
	uint8_t hash[DNS_NSEC3_HASH_MAX];   /* from the owner's first label */
	size_t hlen;
	uint8_t next[DNS_NSEC3_HASH_MAX];
	size_t nlen;
	dns_nsec3_params p;
};

static bool n3_parse(const check_rr *rr, struct n3 *out)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *d = rr->rdata;
	if (rr->len < 5 || rr->owner.wire[0] == 0)
		return false;
	out->p.algorithm = d[0];
	out->p.flags = d[1];
	out->p.iterations = sg_get_u16(d + 2);
	out->p.salt_len = d[4];
	size_t pos = 5 + (size_t)d[4];
	if (pos + 1 > rr->len)
		return false;
	memcpy(out->p.salt, d + 5, d[4]);
	size_t hl = d[pos++];
	if (hl == 0 || hl > DNS_NSEC3_HASH_MAX || pos + hl > rr->len)
		return false;
	memcpy(out->next, d + pos, hl);
	out->nlen = hl;
	return dns_base32hex_decode((const char *)rr->owner.wire + 1, rr->owner.wire[0],
				    out->hash, sizeof(out->hash), &out->hlen) == SIGNET_OK &&
	       out->hlen == hl;
}

static bool n3_covers(const struct n3 *n, const uint8_t *h, size_t hl)
{
	if (hl != n->hlen)
		return false;
	int on = memcmp(n->hash, n->next, hl), oh = memcmp(n->hash, h, hl),
	    hn = memcmp(h, n->next, hl);
	if (on < 0)
		return oh < 0 && hn < 0;
	return oh < 0 || hn < 0;   /* the last NSEC3 wraps around */
}

/* RFC 5155 §8.4: closest encloser matched, next closer and wildcard covered. */
static void judge_nsec3_proof(struct ctx *c, const check_answer *a, const dns_name *qname,
			      const char *qn)
{
	struct n3 set[32];
	size_t n = 0;
	for (size_t i = 0; i < a->count && n < 32; i++)
		if (a->rrs[i].section == 2 && a->rrs[i].type == DNS_T_NSEC3 &&
		    n3_parse(&a->rrs[i], &set[n]))
			n++;
	if (n == 0) {
		check_report_add(c->r, CHECK_CRITICAL, "nsec3",
				 "NXDOMAIN for %s without a usable NSEC3", qn);
		return;
	}
	const dns_nsec3_params *p = &set[0].p;
	if (p->iterations > 0)
		check_report_add(c->r, CHECK_WARNING, "nsec3",
				 "NSEC3 with %u extra iterations: RFC 9276 asks for 0, and "
				 "resolvers treat high counts as insecure or SERVFAIL",
				 p->iterations);
	unsigned zl = dns_name_labels(&c->o->zone), ql = dns_name_labels(qname);
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl;
	dns_name ce, nc, wild;
	bool found = false;
	for (unsigned l = ql - 1; l >= zl && l < ql && !found; l--) {
		if (dns_name_suffix(qname, l, &ce) != SIGNET_OK ||
		    dns_nsec3_hash(&ce, p, h, &hl) != SIGNET_OK)
			return;
		for (size_t i = 0; i < n && !found; i++)
			found = set[i].hlen == hl && memcmp(set[i].hash, h, hl) == 0;
		if (found && dns_name_suffix(qname, l + 1, &nc) != SIGNET_OK)
			return;
	}
	if (!found) {
		check_report_add(c->r, CHECK_CRITICAL, "nsec3",
				 "NXDOMAIN for %s: no NSEC3 matches a closest encloser", qn);
		return;
	}
	const char *missing = NULL;
	bool cov = false;
	if (dns_nsec3_hash(&nc, p, h, &hl) != SIGNET_OK)
		return;
	for (size_t i = 0; i < n && !cov; i++)
		cov = n3_covers(&set[i], h, hl);
	if (!cov)
		missing = "the next closer name";
	cov = false;
	if (!wildcard_of(&ce, &wild) || dns_nsec3_hash(&wild, p, h, &hl) != SIGNET_OK)
		return;
	for (size_t i = 0; i < n && !cov; i++)
		cov = n3_covers(&set[i], h, hl);
	if (!cov && !missing)
		missing = "the wildcard at the closest encloser";
	char cn[DNS_NAME_STR_MAX];
	name_text(&ce, cn, sizeof(cn));
	if (missing)
		check_report_add(c->r, CHECK_CRITICAL, "nsec3",
				 "NXDOMAIN for %s: no NSEC3 covers %s (closest encloser %s): "
				 "validators reject the proof", qn, missing, cn);
	else
		check_report_add(c->r, CHECK_OK, "nsec3",
				 "NXDOMAIN for %s proven: closest encloser %s, next closer and "
				 "wildcard covered", qn, cn);
}

/* Ask for a name that cannot exist and judge the denial. Returns the kind of
 * chain seen: DNS_T_NSEC, DNS_T_NSEC3 or 0. */
static uint16_t probe(struct ctx *c, unsigned i)
{
	uint8_t rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, (int)i, sizeof(rnd));
	char label[40];
	snprintf(label, sizeof(label), "signet-check-%02x%02x%02x%02x%02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	dns_name q;
	size_t ll = strlen(label);
	if (c->o->zone.len + ll + 1 > DNS_NAME_MAX)
		return 0;
	q.wire[0] = (uint8_t)ll;
	memcpy(q.wire + 1, label, ll);
	memcpy(q.wire + 1 + ll, c->o->zone.wire, c->o->zone.len);
	q.len = (uint8_t)(c->o->zone.len + ll + 1);
	char qn[DNS_NAME_STR_MAX];
	name_text(&q, qn, sizeof(qn));
	check_answer a;
	if (!ask(c, &q, DNS_T_A, &a))
		return 0;
	uint16_t kind = 0;
	char what[DNS_NAME_STR_MAX + 16];
	snprintf(what, sizeof(what), "NXDOMAIN %s", qn);
	judge_size(c, &a, what);
	verify_answer(c, &a);
	for (size_t j = 0; j < a.count && !kind; j++)
		if (a.rrs[j].section == 2 &&
		    (a.rrs[j].type == DNS_T_NSEC || a.rrs[j].type == DNS_T_NSEC3))
			kind = a.rrs[j].type;
	if (a.rcode == LDNS_RCODE_NOERROR) {
		check_report_add(c->r, CHECK_OK, "nsec",
				 "%s exists (a wildcard?): no NXDOMAIN proof to check", qn);
	} else if (a.rcode != LDNS_RCODE_NXDOMAIN) {
		check_report_add(c->r, CHECK_CRITICAL, "server",
				 "%s A: rcode %d instead of NXDOMAIN", qn, a.rcode);
	} else if (kind == DNS_T_NSEC) {
		judge_nsec_proof(c, &a, &q, qn);
	} else if (kind == DNS_T_NSEC3) {
		judge_nsec3_proof(c, &a, &q, qn);
	} else {
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "NXDOMAIN for %s without NSEC or NSEC3: validators cannot "
				 "accept it", qn);
	}
	check_answer_free(&a);
	return kind;
}

/* The first type of an NSEC bitmap worth asking for (not NSEC/RRSIG), 0 if
 * none. */
static uint16_t bitmap_pick(const check_rr *rr, bool *delegation)
{
	dns_name next;
	size_t pos = 0;
	*delegation = false;
	if (dns_name_from_wire(&next, rr->rdata, rr->len, &pos) != SIGNET_OK)
		return 0;
	uint16_t pick = 0;
	bool ns = false, soa = false;
	while (pos + 2 <= rr->len) {
		unsigned win = rr->rdata[pos], blen = rr->rdata[pos + 1];
		pos += 2;
		if (blen == 0 || blen > 32 || pos + blen > rr->len)
			return 0;
		for (unsigned b = 0; b < blen * 8; b++) {
			if (!(rr->rdata[pos + b / 8] & (0x80 >> (b % 8))))
				continue;
			uint16_t t = (uint16_t)(win * 256 + b);
			ns = ns || t == DNS_T_NS;
			soa = soa || t == DNS_T_SOA;
			if (!pick && t != DNS_T_NSEC && t != DNS_T_RRSIG)
				pick = t;
		}
		pos += blen;
	}
	*delegation = ns && !soa;
	return pick;
}

/* Ask for data at name and check it is signed (answer or denial). */
static void sample(struct ctx *c, const dns_name *name, uint16_t type)
{
	check_answer a;
	if (!ask(c, name, type, &a))
		return;
	size_t before = c->sets_ok;
	verify_answer(c, &a);
	char qn[DNS_NAME_STR_MAX], tn[16];
	name_text(name, qn, sizeof(qn));
	type_text(type, tn, sizeof(tn));
	if (a.rcode != LDNS_RCODE_NOERROR && a.rcode != LDNS_RCODE_NXDOMAIN)
		check_report_add(c->r, CHECK_CRITICAL, "server", "%s %s: rcode %d", qn, tn,
				 a.rcode);
	else if (c->sets_ok > before)
		check_report_add(c->r, CHECK_OK, "rrsig", "%s %s: signed answer", qn, tn);
	else if (a.count == 0)
		check_report_add(c->r, CHECK_CRITICAL, "rrsig",
				 "%s %s: empty answer with no signed denial", qn, tn);
	check_answer_free(&a);
}

/* Follow the NSEC chain from the apex round to the apex. */
static void walk_nsec(struct ctx *c)
{
	dns_name cur = c->o->zone, prev = c->o->zone;
	dns_name samples[SAMPLE_MAX];
	uint16_t sample_types[SAMPLE_MAX];
	size_t nsamples = 0;
	unsigned steps = 0;
	char cn[DNS_NAME_STR_MAX], pn[DNS_NAME_STR_MAX], nn[DNS_NAME_STR_MAX];
	for (;;) {
		check_answer a;
		if (!ask(c, &cur, DNS_T_NSEC, &a))
			return;
		const check_rr *rr = NULL;
		for (size_t i = 0; i < a.count && !rr; i++)
			if (a.rrs[i].section == 1 && a.rrs[i].type == DNS_T_NSEC &&
			    dns_name_equal(&a.rrs[i].owner, &cur))
				rr = &a.rrs[i];
		name_text(&cur, cn, sizeof(cn));
		name_text(&prev, pn, sizeof(pn));
		if (!rr) {
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "broken NSEC chain: no NSEC at %s (the next name of the "
					 "NSEC at %s): denials around it fail to validate", cn, pn);
			check_answer_free(&a);
			break;
		}
		(void)verify_set(c, &a, 1, &cur, DNS_T_NSEC, &c->dnskey, &c->o->zone, NULL,
				 NULL, NULL);
		dns_name next;
		bool delegation = false;
		uint16_t pick = bitmap_pick(rr, &delegation);
		if (!nsec_next(rr, &next)) {
			check_answer_free(&a);
			break;
		}
		if (!dns_name_equal(&cur, &c->o->zone) && !delegation && pick &&
		    nsamples < SAMPLE_MAX) {
			samples[nsamples] = cur;
			sample_types[nsamples++] = pick;
		}
		check_answer_free(&a);
		steps++;
		name_text(&next, nn, sizeof(nn));
		if (dns_name_equal(&next, &c->o->zone)) {
			check_report_add(c->r, CHECK_OK, "nsec",
					 "NSEC chain complete: %u names from the apex round to "
					 "the apex", steps);
			break;
		}
		if (!dns_name_is_at_or_below(&next, &c->o->zone) ||
		    dns_name_compare(&next, &cur) <= 0) {
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "broken NSEC chain: the NSEC at %s points to %s, which is "
					 "%s", cn, nn,
					 dns_name_is_at_or_below(&next, &c->o->zone)
						 ? "not after it in canonical order"
						 : "outside the zone");
			break;
		}
		if (steps >= c->o->walk_limit) {
			check_report_add(c->r, CHECK_OK, "nsec",
					 "NSEC chain followed for %u names (--walk-limit), all "
					 "linked", steps);
			break;
		}
		prev = cur;
		cur = next;
	}
	for (size_t i = 0; i < nsamples; i++)
		sample(c, &samples[i], sample_types[i]);
}

/* ---- the run ------------------------------------------------------------ */

signet_err check_zone(const check_options *o, check_report *r)
{
	if (!o || !r || o->nnames > CHECK_NAMES_MAX || o->walk_limit == 0)
		return SIGNET_EINVAL;
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return SIGNET_ENOMEM;
	c->o = o;
	c->r = r;
	c->min_left = -1;
	dns_rrset_init(&c->dnskey, &o->zone, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	name_text(&o->zone, c->zone, sizeof(c->zone));

	/* The SOA first: if the server cannot answer it, nothing else will. */
	check_answer soa;
	if (!ask(c, &o->zone, DNS_T_SOA, &soa))
		goto out;
	dns_rrset s;
	bool have_soa = collect(&soa, 1, &o->zone, DNS_T_SOA, &s) == SIGNET_OK && s.count == 1;
	dns_rrset_clear(&s);
	if (soa.rcode != LDNS_RCODE_NOERROR || !have_soa) {
		check_report_add(r, CHECK_CRITICAL, "server",
				 "%s SOA: rcode %d, %s: the server does not serve the zone",
				 c->zone, soa.rcode, have_soa ? "SOA present" : "no SOA");
		check_answer_free(&soa);
		goto out;
	}
	if (!soa.aa)
		check_report_add(r, CHECK_WARNING, "server",
				 "%s SOA: answer is not authoritative (AA clear)", c->zone);
	if (!check_dnskey(c)) {
		check_answer_free(&soa);
		goto out;
	}
	verify_answer(c, &soa);
	check_answer_free(&soa);

	check_answer ns;
	if (ask(c, &o->zone, DNS_T_NS, &ns)) {
		verify_answer(c, &ns);
		check_answer_free(&ns);
	}
	check_cds(c);
	check_ds(c);

	uint16_t kind = 0;
	unsigned probes = o->probes ? o->probes : 1;
	for (unsigned i = 0; i < probes; i++) {
		uint16_t k = probe(c, i);
		kind = kind ? kind : k;
	}
	if (kind == DNS_T_NSEC)
		walk_nsec(c);
	for (size_t i = 0; i < o->nnames; i++)
		sample(c, &o->names[i], DNS_T_A);

	static const char *const kind_names[K_COUNT] = {
		"RRsets without a valid RRSIG", "RRSIGs that do not verify",
		"expired RRSIGs", "RRSIGs not yet valid", "RRSIGs within the refresh time",
		"RRsets missing an algorithm"};
	for (int k = 0; k < K_COUNT; k++)
		if (c->repeats[k] > REPEAT_MAX)
			check_report_add(r, k == K_EXPIRING || k == K_ALGS ? CHECK_WARNING
									 : CHECK_CRITICAL,
					 "rrsig", "%zu more %s not listed",
					 c->repeats[k] - REPEAT_MAX, kind_names[k]);
	if (c->min_left >= 0) {
		char span[40];
		span_text(c->min_left, span, sizeof(span));
		check_report_add(r, CHECK_OK, "rrsig",
				 "%zu RRSIGs verify over %zu RRsets; the first to expire is "
				 "on %s in %s", c->sigs_ok, c->sets_ok, c->min_what, span);
	}
out:;
	signet_err ret = c->nomem ? SIGNET_ENOMEM : SIGNET_OK;
	dns_rrset_clear(&c->dnskey);
	free(c);
	return ret;
}
