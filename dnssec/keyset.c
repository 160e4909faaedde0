/* keyset.c -- the text form of key-signing requests and signed key bundles: parse and canonical write. */
#include <stdlib.h>
#include <string.h>

#include "dnssec/dnssec.h"

/* Longest line accepted: an RSA-4096 DNSKEY or RRSIG in base64 is under 1 KiB. */
#define KEYSET_LINE_MAX 8192
#define KEYSET_VERSION "1"
#define KEYSET_TOKENS_MAX 4

void dns_keyset_free(dns_keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->count; i++) {
		dns_rrset_clear(&ks->periods[i].dnskey);
		dns_rrset_clear(&ks->periods[i].cds);
		dns_rrset_clear(&ks->periods[i].cdnskey);
		dns_rrset_clear(&ks->periods[i].sigs);
	}
	free(ks->periods);
	memset(ks, 0, sizeof(*ks));
}

/* Where the parser is in the document. */
enum ks_state {
	KS_START,  /* before $SIGNET-KEYSET */
	KS_HEADER, /* $ZONE and $SERIAL, before the first $PERIOD */
	KS_PERIOD, /* inside a period: RR lines */
	KS_DONE    /* after $END: only comments */
};

struct ks_parser {
	dns_keyset *ks;
	enum ks_state state;
	bool have_zone;
	bool have_serial;
	size_t cap; /* periods allocated */
};

/* Strict unsigned decimal: digits only, no sign, no overflow past max. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	if (*s == '\0')
		return false;
	uint64_t v = 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Split a directive line in place at blanks, dropping a trailing comment. */
static size_t tokenize(char *line, char **tok, size_t max)
{
	char *semi = strchr(line, ';');
	if (semi != NULL)
		*semi = '\0';
	size_t n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		tok[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* A period is complete when it has a DNSKEY RRset to publish. */
static signet_err finish_period(struct ks_parser *ps)
{
	if (ps->state != KS_PERIOD)
		return SIGNET_OK;
	if (ps->ks->periods[ps->ks->count - 1].dnskey.count == 0)
		return SIGNET_EPARSE;
	return SIGNET_OK;
}

static signet_err start_period(struct ks_parser *ps, uint32_t inc, uint32_t exp)
{
	dns_keyset *ks = ps->ks;
	if (exp <= inc)
		return SIGNET_EPARSE;
	if (ks->count > 0 && inc < ks->periods[ks->count - 1].expiration)
		return SIGNET_EPARSE; /* overlapping or out of order */
	if (ks->count == DNS_KEYSET_PERIODS_MAX)
		return SIGNET_ERANGE;
	if (ks->count == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 4;
		if (ncap > DNS_KEYSET_PERIODS_MAX)
			ncap = DNS_KEYSET_PERIODS_MAX;
		dns_keyset_period *np = realloc(ks->periods, ncap * sizeof(*np));
		if (np == NULL)
			return SIGNET_ENOMEM;
		ks->periods = np;
		ps->cap = ncap;
	}
	dns_keyset_period *p = &ks->periods[ks->count++];
	memset(p, 0, sizeof(*p));
	p->inception = inc;
	p->expiration = exp;
	dns_rrset_init(&p->dnskey, &ks->zone, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	dns_rrset_init(&p->cds, &ks->zone, DNS_T_CDS, DNS_CLASS_IN, 0);
	dns_rrset_init(&p->cdnskey, &ks->zone, DNS_T_CDNSKEY, DNS_CLASS_IN, 0);
	dns_rrset_init(&p->sigs, &ks->zone, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	return SIGNET_OK;
}

static signet_err parse_directive(struct ks_parser *ps, char *line)
{
	char *tok[KEYSET_TOKENS_MAX];
	size_t n = tokenize(line, tok, KEYSET_TOKENS_MAX);
	dns_keyset *ks = ps->ks;
	uint64_t v1 = 0, v2 = 0;

	if (n == 0 || n > KEYSET_TOKENS_MAX)
		return SIGNET_EPARSE;
	if (strcmp(tok[0], "$SIGNET-KEYSET") == 0) {
		if (ps->state != KS_START || n != 3 || strcmp(tok[1], KEYSET_VERSION) != 0)
			return SIGNET_EPARSE;
		if (strcmp(tok[2], "request") == 0)
			ks->kind = DNS_KEYSET_REQUEST;
		else if (strcmp(tok[2], "bundle") == 0)
			ks->kind = DNS_KEYSET_BUNDLE;
		else
			return SIGNET_EPARSE;
		ps->state = KS_HEADER;
		return SIGNET_OK;
	}
	if (strcmp(tok[0], "$ZONE") == 0) {
		if (ps->state != KS_HEADER || ps->have_zone || n != 2)
			return SIGNET_EPARSE;
		if (dns_name_from_str(&ks->zone, tok[1]) != SIGNET_OK)
			return SIGNET_EPARSE;
		ps->have_zone = true;
		return SIGNET_OK;
	}
	if (strcmp(tok[0], "$SERIAL") == 0) {
		if (ps->state != KS_HEADER || ps->have_serial || n != 2 ||
		    !parse_uint(tok[1], UINT64_MAX, &v1))
			return SIGNET_EPARSE;
		ks->serial = v1;
		ps->have_serial = true;
		return SIGNET_OK;
	}
	if (strcmp(tok[0], "$PERIOD") == 0) {
		if ((ps->state != KS_HEADER && ps->state != KS_PERIOD) || !ps->have_zone ||
		    !ps->have_serial || n != 3 || !parse_uint(tok[1], UINT32_MAX, &v1) ||
		    !parse_uint(tok[2], UINT32_MAX, &v2))
			return SIGNET_EPARSE;
		signet_err err = finish_period(ps);
		if (err != SIGNET_OK)
			return err;
		err = start_period(ps, (uint32_t)v1, (uint32_t)v2);
		if (err != SIGNET_OK)
			return err;
		ps->state = KS_PERIOD;
		return SIGNET_OK;
	}
	if (strcmp(tok[0], "$END") == 0) {
		if (ps->state != KS_PERIOD || n != 1)
			return SIGNET_EPARSE;
		signet_err err = finish_period(ps);
		if (err != SIGNET_OK)
			return err;
		ps->state = KS_DONE;
		return SIGNET_OK;
	}
	return SIGNET_EPARSE;
}

/* An RRSIG here is by the zone over one of the period's RRsets; a request
 * carries only proofs over DNSKEY. */
static signet_err check_sig(const dns_keyset *ks, const uint8_t *rdata, size_t len)
{
	dns_rrsig sig;
	if (dns_rrsig_from_rdata(&sig, rdata, len) != SIGNET_OK)
		return SIGNET_EPARSE;
	if (!dns_name_equal(&sig.signer, &ks->zone))
		return SIGNET_EPARSE;
	uint16_t t = sig.type_covered;
	if (t == DNS_T_DNSKEY)
		return SIGNET_OK;
	if (ks->kind == DNS_KEYSET_BUNDLE && (t == DNS_T_CDS || t == DNS_T_CDNSKEY))
		return SIGNET_OK;
	return SIGNET_EPARSE;
}

static signet_err parse_rr(struct ks_parser *ps, const char *line)
{
	dns_keyset *ks = ps->ks;
	if (ps->state != KS_PERIOD)
		return SIGNET_EPARSE;
	dns_keyset_period *p = &ks->periods[ks->count - 1];
	dns_name owner;
	uint16_t type = 0, rclass = 0;
	uint32_t ttl = 0;
	sg_buf rd = SG_BUF_INIT;
	signet_err err = dns_rr_from_text(line, &ks->zone, &owner, &type, &rclass, &ttl, &rd);
	if (err != SIGNET_OK) {
		sg_buf_free(&rd);
		return err == SIGNET_ENOMEM ? err : SIGNET_EPARSE;
	}
	dns_rrset *set = NULL;
	if (!dns_name_equal(&owner, &ks->zone) || rclass != DNS_CLASS_IN)
		err = SIGNET_EPARSE;
	else if (type == DNS_T_DNSKEY)
		set = &p->dnskey;
	else if (type == DNS_T_CDS)
		set = &p->cds;
	else if (type == DNS_T_CDNSKEY)
		set = &p->cdnskey;
	else if (type == DNS_T_RRSIG)
		set = &p->sigs;
	else
		err = SIGNET_EPARSE;
	if (err == SIGNET_OK && set == &p->sigs)
		err = check_sig(ks, rd.data, rd.len);
	if (err == SIGNET_OK && set->count == DNS_KEYSET_RRS_MAX)
		err = SIGNET_ERANGE;
	if (err == SIGNET_OK && set->count > 0 && ttl != set->ttl) {
		/* RRSIGs over sets of different TTLs may differ: the set keeps
		 * the lowest (RFC 2181 §5.2); any other set has one TTL. */
		if (set != &p->sigs)
			err = SIGNET_EPARSE;
		else if (ttl < set->ttl)
			set->ttl = ttl;
	}
	if (err == SIGNET_OK) {
		if (set->count == 0)
			set->ttl = ttl;
		err = dns_rrset_add(set, rd.data, rd.len);
	}
	sg_buf_free(&rd);
	return err;
}

signet_err dns_keyset_parse(const char *text, size_t len, dns_keyset *out, unsigned *errline)
{
	if (errline != NULL)
		*errline = 0;
	if ((text == NULL && len > 0) || out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));

	struct ks_parser ps = {out, KS_START, false, false, 0};
	char *buf = malloc(KEYSET_LINE_MAX + 1);
	if (buf == NULL)
		return SIGNET_ENOMEM;
	signet_err err = SIGNET_OK;
	unsigned line = 0;
	size_t pos = 0;
	while (pos < len) {
		line++;
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - start) : len - pos;
		pos += ll + (nl != NULL ? 1 : 0);
		if (ll > 0 && start[ll - 1] == '\r')
			ll--;
		if (ll > KEYSET_LINE_MAX) {
			err = SIGNET_ERANGE;
			break;
		}
		if (memchr(start, '\0', ll) != NULL) {
			err = SIGNET_EPARSE;
			break;
		}
		memcpy(buf, start, ll);
		buf[ll] = '\0';

		char *p = buf;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == ';')
			continue;
		if (ps.state == KS_DONE)
			err = SIGNET_EPARSE; /* content after $END */
		else if (*p == '$')
			err = parse_directive(&ps, p);
		else
			err = parse_rr(&ps, buf);
		if (err != SIGNET_OK)
			break;
	}
	free(buf);
	/* Without $END a truncated document would pass as a shorter one. */
	if (err == SIGNET_OK && ps.state != KS_DONE)
		err = SIGNET_EPARSE;
	if (err != SIGNET_OK) {
		if (errline != NULL)
			*errline = line;
		dns_keyset_free(out);
	}
	return err;
}

/* The checks parse makes, so that whatever write emits parses again. */
static bool set_ok(const dns_rrset *s, const dns_name *zone, uint16_t type)
{
	return s->type == type && s->rclass == DNS_CLASS_IN && s->count <= DNS_KEYSET_RRS_MAX &&
	       (s->count == 0 || s->rr != NULL) &&
	       (s->count == 0 || dns_name_equal(&s->owner, zone));
}

static signet_err keyset_check(const dns_keyset *ks)
{
	if (ks->kind != DNS_KEYSET_REQUEST && ks->kind != DNS_KEYSET_BUNDLE)
		return SIGNET_EINVAL;
	if (ks->count == 0 || ks->periods == NULL || ks->zone.len == 0)
		return SIGNET_EINVAL;
	if (ks->count > DNS_KEYSET_PERIODS_MAX)
		return SIGNET_ERANGE;
	for (size_t i = 0; i < ks->count; i++) {
		const dns_keyset_period *p = &ks->periods[i];
		if (p->expiration <= p->inception)
			return SIGNET_EINVAL;
		if (i > 0 && p->inception < ks->periods[i - 1].expiration)
			return SIGNET_EINVAL;
		if (p->dnskey.count == 0 || !set_ok(&p->dnskey, &ks->zone, DNS_T_DNSKEY) ||
		    !set_ok(&p->cds, &ks->zone, DNS_T_CDS) ||
		    !set_ok(&p->cdnskey, &ks->zone, DNS_T_CDNSKEY) ||
		    !set_ok(&p->sigs, &ks->zone, DNS_T_RRSIG))
			return SIGNET_EINVAL;
		for (size_t j = 0; j < p->sigs.count; j++)
			if (check_sig(ks, p->sigs.rr[j].data, p->sigs.rr[j].len) != SIGNET_OK)
				return SIGNET_EINVAL;
	}
	return SIGNET_OK;
}

/* One RRset in canonical form and order, one RR per line. */
static signet_err write_set(const dns_rrset *s, sg_buf *out)
{
	if (s->count == 0)
		return SIGNET_OK;
	dns_rrset c;
	signet_err err = dns_rrset_copy(&c, s);
	if (err != SIGNET_OK)
		return err;
	err = dns_rrset_canonicalize(&c);
	if (err == SIGNET_OK)
		err = dns_rrset_to_text(&c, out);
	dns_rrset_clear(&c);
	return err;
}

signet_err dns_keyset_write(const dns_keyset *ks, sg_buf *out)
{
	if (ks == NULL || out == NULL)
		return SIGNET_EINVAL;
	signet_err err = keyset_check(ks);
	if (err != SIGNET_OK)
		return err;

	dns_name zone = ks->zone;
	dns_name_lower(&zone);
	char zs[DNS_NAME_STR_MAX];
	err = dns_name_to_str(&zone, zs, sizeof(zs));
	if (err != SIGNET_OK)
		return err;
	size_t mark = out->len;
	err = sg_buf_printf(out, "$SIGNET-KEYSET %s %s\n$ZONE %s\n$SERIAL %llu\n", KEYSET_VERSION,
			    ks->kind == DNS_KEYSET_REQUEST ? "request" : "bundle", zs,
			    (unsigned long long)ks->serial);
	for (size_t i = 0; i < ks->count && err == SIGNET_OK; i++) {
		const dns_keyset_period *p = &ks->periods[i];
		err = sg_buf_printf(out, "$PERIOD %lu %lu\n", (unsigned long)p->inception,
				    (unsigned long)p->expiration);
		if (err == SIGNET_OK)
			err = write_set(&p->dnskey, out);
		if (err == SIGNET_OK)
			err = write_set(&p->cds, out);
		if (err == SIGNET_OK)
			err = write_set(&p->cdnskey, out);
		if (err == SIGNET_OK)
			err = write_set(&p->sigs, out);
	}
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "$END\n");
	if (err != SIGNET_OK)
		out->len = mark;
	return err;
}
