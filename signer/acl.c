/* acl.c -- a client's rules on owner names and RR types: parsed once from
 * the configuration, then shared read-only (reference-counted) by the calls
 * that started under it, so a reload never pulls rules from under a call. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

#define LABELS_MAX 128 /* a 255-octet name has at most 127 labels and the root */

/* One owner-name rule. */
typedef struct acl_rule {
	bool apex;        /* "@": the apex of the zone of the request */
	int star;         /* index (from the left) of the "*" label; -1: none */
	unsigned nlabels; /* labels, the root not counted */
	dns_name name;    /* lower-cased; its "*" label stands for the pattern */
} acl_rule;

struct signer_acl {
	atomic_uint refs;
	size_t nnames;
	acl_rule *names; /* nnames rules; none: every owner */
	size_t ntypes;
	uint16_t types[SIGNER_ACL_TYPES_MAX]; /* none: every type */
};

signet_err signer_acl_new(signer_acl **out)
{
	if (!out)
		return SIGNET_EINVAL;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return SIGNET_ENOMEM;
	atomic_init(&(*out)->refs, 1);
	return SIGNET_OK;
}

signer_acl *signer_acl_ref(signer_acl *a)
{
	if (a)
		atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	return a;
}

void signer_acl_unref(signer_acl *a)
{
	if (!a || atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(a->names);
	free(a);
}

bool signer_acl_empty(const signer_acl *a)
{
	return !a || (a->nnames == 0 && a->ntypes == 0);
}

/* Offsets of n's labels from the left (the root not counted); their count. */
static unsigned label_offsets(const dns_name *n, uint8_t off[LABELS_MAX])
{
	unsigned k = 0;
	for (size_t p = 0; p < n->len && n->wire[p] != 0 && k < LABELS_MAX;
	     p += (size_t)n->wire[p] + 1)
		off[k++] = (uint8_t)p;
	return k;
}

/* Which label of the rule's text is a bare "*" (the pattern, as opposed to
 * "\*" or "\042", a literal asterisk): its index from the left, -1 if none,
 * -2 if more than one. The text has parsed as a name already, so escapes
 * are well formed. */
static int star_label(const char *text)
{
	int star = -1, label = 0;
	const char *start = text;
	for (const char *p = text;; p++) {
		if (*p == '\\') {
			p += (p[1] >= '0' && p[1] <= '9') ? 3 : 1;
			continue;
		}
		if (*p == '.' || *p == '\0') {
			if (p - start == 1 && *start == '*') {
				if (star != -1)
					return -2;
				star = label;
			}
			if (*p == '\0')
				break;
			label++;
			start = p + 1;
		}
	}
	return star;
}

static void msg_put(char *errmsg, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void msg_put(char *errmsg, size_t errlen, const char *fmt, ...)
{
	if (!errmsg || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, errlen, fmt, ap);
	va_end(ap);
}

signet_err signer_acl_add_name(signer_acl *a, const char *rule, const dns_name *zones,
			       size_t nzones, char *errmsg, size_t errlen)
{
	if (!a || !rule)
		return SIGNET_EINVAL;
	if (a->nnames >= SIGNER_ACL_NAMES_MAX) {
		msg_put(errmsg, errlen, "more than %d name rules", SIGNER_ACL_NAMES_MAX);
		return SIGNET_ERANGE;
	}
	size_t len = strlen(rule);
	if (len == 0 || len > SIGNER_ACL_RULE_MAX) {
		msg_put(errmsg, errlen, "a rule is 1..%d octets", SIGNER_ACL_RULE_MAX);
		return SIGNET_ERANGE;
	}
	acl_rule r;
	memset(&r, 0, sizeof(r));
	r.star = -1;
	if (strcmp(rule, "@") == 0) {
		r.apex = true;
	} else {
		if (rule[0] == '@' || dns_name_from_str(&r.name, rule) != SIGNET_OK) {
			msg_put(errmsg, errlen, "not a name, a pattern or @: %.80s", rule);
			return SIGNET_EPARSE;
		}
		dns_name_lower(&r.name);
		uint8_t off[LABELS_MAX];
		r.nlabels = label_offsets(&r.name, off);
		r.star = star_label(rule);
		if (r.star == -2) {
			msg_put(errmsg, errlen, "more than one '*' label in %.80s", rule);
			return SIGNET_EPARSE;
		}
		if (r.nlabels == 0) {
			msg_put(errmsg, errlen, "the root is no owner a client signs: %.80s", rule);
			return SIGNET_EPARSE;
		}
		/* A rule that cannot match inside any of the client's zones is a
		 * mistake: what is left of it beside the pattern must be at, below
		 * or above one of them. */
		dns_name fixed = r.name;
		if (r.star >= 0 &&
		    dns_name_suffix(&r.name, r.nlabels - 1 - (unsigned)r.star, &fixed) != SIGNET_OK)
			return SIGNET_EINVAL;
		bool inside = nzones == 0;
		for (size_t i = 0; i < nzones && !inside; i++)
			inside = dns_name_is_at_or_below(&fixed, &zones[i]) ||
				 (r.star >= 0 && dns_name_is_at_or_below(&zones[i], &fixed));
		if (!inside) {
			msg_put(errmsg, errlen, "%.80s is in none of the client's zones", rule);
			return SIGNET_EPARSE;
		}
	}
	acl_rule *grown = realloc(a->names, (a->nnames + 1) * sizeof(*grown));
	if (!grown)
		return SIGNET_ENOMEM;
	a->names = grown;
	a->names[a->nnames++] = r;
	return SIGNET_OK;
}

signet_err signer_acl_add_type(signer_acl *a, const char *type, char *errmsg, size_t errlen)
{
	if (!a || !type)
		return SIGNET_EINVAL;
	if (a->ntypes >= SIGNER_ACL_TYPES_MAX) {
		msg_put(errmsg, errlen, "more than %d types", SIGNER_ACL_TYPES_MAX);
		return SIGNET_ERANGE;
	}
	uint16_t t;
	if (dns_type_from_str(type, &t) != SIGNET_OK) {
		msg_put(errmsg, errlen, "not an RR type: %.40s", type);
		return SIGNET_EPARSE;
	}
	a->types[a->ntypes++] = t;
	return SIGNET_OK;
}

static bool labels_equal(const dns_name *a, const uint8_t *aoff, const dns_name *b,
			 const uint8_t *boff, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *la = a->wire + aoff[i], *lb = b->wire + boff[i];
		if (la[0] != lb[0] || memcmp(la + 1, lb + 1, la[0]) != 0)
			return false;
	}
	return true;
}

/* owner is lower-cased, with its label offsets. A "*" stands for one or
 * more whole labels: the rule's labels left of it must be the owner's
 * leftmost, those right of it the owner's rightmost. */
static bool rule_matches(const acl_rule *r, const dns_name *apex, const dns_name *owner,
			 const uint8_t *ooff, unsigned on)
{
	if (r->apex)
		return dns_name_equal(owner, apex);
	if (r->star < 0)
		return owner->len == r->name.len &&
		       memcmp(owner->wire, r->name.wire, owner->len) == 0;
	if (on < r->nlabels)
		return false;
	uint8_t roff[LABELS_MAX];
	label_offsets(&r->name, roff);
	unsigned left = (unsigned)r->star, right = r->nlabels - 1 - left;
	return labels_equal(owner, ooff, &r->name, roff, left) &&
	       labels_equal(owner, ooff + (on - right), &r->name, roff + left + 1, right);
}

/* A rule as it reads in the configuration, for messages. */
static void rule_text(const acl_rule *r, char *out, size_t outlen)
{
	if (r->apex)
		snprintf(out, outlen, "@");
	else if (dns_name_to_str(&r->name, out, outlen) != SIGNET_OK)
		snprintf(out, outlen, "?");
}

signet_err signer_acl_allows(const signer_acl *a, const dns_name *apex, const dns_name *owner,
			     uint16_t type, char *errmsg, size_t errlen)
{
	if (!apex || !owner)
		return SIGNET_EINVAL;
	if (!a)
		return SIGNET_OK;
	if (a->ntypes) {
		bool ok = false;
		for (size_t i = 0; i < a->ntypes && !ok; i++)
			ok = a->types[i] == type;
		if (!ok) {
			char ts[DNS_TYPE_STR_MAX], list[200];
			size_t used = 0;
			list[0] = '\0';
			for (size_t i = 0;
			     i < a->ntypes && used + DNS_TYPE_STR_MAX + 2 < sizeof(list); i++) {
				dns_type_to_str(a->types[i], ts, sizeof(ts));
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
							 i ? " " : "", ts);
			}
			dns_type_to_str(type, ts, sizeof(ts));
			msg_put(errmsg, errlen, "type %s is not in the client's types [%s]", ts,
				list);
			return SIGNET_EPERM;
		}
	}
	if (a->nnames) {
		dns_name low = *owner;
		dns_name_lower(&low);
		uint8_t ooff[LABELS_MAX];
		unsigned on = label_offsets(&low, ooff);
		for (size_t i = 0; i < a->nnames; i++)
			if (rule_matches(&a->names[i], apex, &low, ooff, on))
				return SIGNET_OK;
		char os[DNS_NAME_STR_MAX], rs[DNS_NAME_STR_MAX], list[240];
		size_t used = 0;
		list[0] = '\0';
		for (size_t i = 0; i < a->nnames && used < sizeof(list); i++) {
			rule_text(&a->names[i], rs, sizeof(rs));
			int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? " " : "",
					 rs);
			if (n < 0 || (size_t)n >= sizeof(list) - used) {
				/* cut at a rule's end, and say more follow */
				snprintf(list + used, sizeof(list) - used, " ...");
				break;
			}
			used += (size_t)n;
		}
		if (dns_name_to_str(owner, os, sizeof(os)) != SIGNET_OK)
			snprintf(os, sizeof(os), "?");
		msg_put(errmsg, errlen, "owner %.300s matches none of the client's names [%s]", os,
			list);
		return SIGNET_EPERM;
	}
	return SIGNET_OK;
}
