/* checks.c -- what a client may ask signetd to sign: bounds, class, owner
 * and type rules for one RRset. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "signer/signer.h"

static signet_err refuse(signer_item_result *out, const char *suffix, size_t index, const char *fmt,
			 ...) __attribute__((format(printf, 4, 5)));

/* Fill out's field with "rrsets[i]<suffix>" and errmsg with "field: reason". */
static signet_err refuse(signer_item_result *out, const char *suffix, size_t index, const char *fmt,
			 ...)
{
	snprintf(out->field, sizeof(out->field), "rrsets[%zu]%s", index, suffix);
	char why[sizeof(out->errmsg) - sizeof(out->field) - 2]; /* "field: why" fits */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(out->errmsg, sizeof(out->errmsg), "%s: %s", out->field, why);
	out->verdict = SIGNER_VERDICT_REFUSE;
	return SIGNET_OK;
}

/* Types that only the key set provides, or that are never signed. */
static const char *forbidden_type(uint16_t t)
{
	switch (t) {
	case DNS_T_DNSKEY:
		return "DNSKEY comes only from the key set";
	case DNS_T_CDS:
		return "CDS comes only from the key set";
	case DNS_T_CDNSKEY:
		return "CDNSKEY comes only from the key set";
	case DNS_T_RRSIG:
		return "RRSIG is never signed";
	case DNS_T_SIG:
		return "SIG is not signed with DNSSEC keys";
	case DNS_T_OPT:
	case DNS_T_TKEY:
	case DNS_T_TSIG:
		return "meta type, not zone data";
	case DNS_T_IXFR:
	case DNS_T_AXFR:
	case 253:
	case 254:
	case DNS_T_ANY:
		return "query type, not zone data";
	default:
		return NULL;
	}
}

signet_err signer_item_check(const dns_name *apex, const signer_limits *lim, size_t index,
			     const signer_item *item, signer_item_result *out)
{
	if (!apex || !item || !lim || !out)
		return SIGNET_EINVAL;
	dns_rrset *set = &out->set;
	dns_rrset_init(set, apex, 0, DNS_CLASS_IN, 0);
	out->verdict = SIGNER_VERDICT_REFUSE;
	out->field[0] = out->errmsg[0] = '\0';
#define REFUSE(suffix, ...) refuse(out, suffix, index, __VA_ARGS__)

	dns_name owner;
	size_t used = 0;
	if (item->owner_len == 0 || !item->owner)
		return REFUSE(".owner", "missing");
	if (dns_name_from_wire(&owner, item->owner, item->owner_len, &used) != SIGNET_OK ||
	    used != item->owner_len)
		return REFUSE(".owner", "not an uncompressed wire-form name");
	if (!dns_name_is_at_or_below(&owner, apex))
		return REFUSE(".owner", "not at or below the zone apex");
	if (item->type == 0 || item->type > 0xffff)
		return REFUSE(".type", "%u is not a type (1..65535)", item->type);
	uint16_t type = (uint16_t)item->type;
	const char *why = forbidden_type(type);
	if (why)
		return REFUSE(".type", "%u refused: %s", item->type, why);
	if (item->rclass != 0 && item->rclass != DNS_CLASS_IN)
		return REFUSE(".rclass", "%u refused: only IN (1) is signed", item->rclass);
	if (item->ttl > 0x7fffffffu)
		return REFUSE(".ttl", "%u exceeds 2^31-1 (RFC 2181 section 8)", item->ttl);
	bool at_apex = dns_name_equal(&owner, apex);
	if (type == DNS_T_DS && at_apex)
		return REFUSE(".type", "DS at the apex belongs to the parent zone");
	if (type == DNS_T_SOA && !at_apex)
		return REFUSE(".type", "SOA below the apex");
	if (item->nrdata == 0)
		return REFUSE(".rdata", "empty RRset");
	if (item->nrdata > lim->max_rrs)
		return REFUSE(".rdata", "%zu RRs, more than %zu", item->nrdata, lim->max_rrs);
	if ((type == DNS_T_CNAME || type == DNS_T_SOA || type == DNS_T_DNAME) && item->nrdata > 1)
		return REFUSE(".rdata", "type %u allows one RR per RRset", type);

	size_t total = 0;
	/* The field's name is formatted only for a refusal: an RRset that
	 * passes costs no printf. */
	char sub[48];
	for (size_t i = 0; i < item->nrdata; i++) {
		size_t n = item->rdata_len[i];
		if (n > DNS_RDATA_MAX) {
			snprintf(sub, sizeof(sub), ".rdata[%zu]", i);
			return REFUSE(sub, "%zu octets, more than 65535", n);
		}
		total += n;
		if (total > lim->max_rrset_octets)
			return REFUSE(".rdata", "more than %zu RDATA octets in the RRset",
				      lim->max_rrset_octets);
		if (dns_rdata_check(type, item->rdata[i], n) != SIGNET_OK) {
			snprintf(sub, sizeof(sub), ".rdata[%zu]", i);
			return REFUSE(sub, "malformed RDATA for type %u", type);
		}
	}

	/* A delegation's NS is the child's data: the parent does not sign it
	 * (RFC 4035 section 2.2). */
	if (type == DNS_T_NS && !at_apex) {
		out->verdict = SIGNER_VERDICT_DELEGATION;
		return SIGNET_OK;
	}

	dns_rrset_init(set, &owner, type, DNS_CLASS_IN, item->ttl);
	for (size_t i = 0; i < item->nrdata; i++) {
		signet_err ret = dns_rrset_add(set, item->rdata[i], item->rdata_len[i]);
		if (ret != SIGNET_OK) {
			dns_rrset_clear(set);
			return ret;
		}
	}
	out->verdict = SIGNER_VERDICT_SIGN;
	return SIGNET_OK;
#undef REFUSE
}
