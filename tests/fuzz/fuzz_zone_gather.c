/* fuzz_zone_gather.c -- a transfer's RRs in any order, spelling and number
 * gathered into a zone (zone_gather_*, what zoned_axfr_in and an IXFR
 * answered in full do with each RR): owners from a small pool (case
 * variants, a wildcard, one outside the zone), RDATA made of pool names or
 * raw octets. Never crashes or leaks; a failed add sticks; a finished
 * zone is in canonical order, holds every RR taken once (RDATA compared in
 * canonical form), under the first spelling of its owner and type, with
 * the lowest TTL, and is what zone_from_rrs makes of the same RRs. */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "zone/zone.h"

static const char *const OWNERS[] = {
	"example.com.",   "a.example.com.", "A.example.com.", "b.a.example.com.",
	"*.example.com.", "z.EXAMPLE.com.", "ns.example.com.", "example.net.",
};
static const uint16_t TYPES[] = {DNS_T_A, DNS_T_NS, DNS_T_MX, DNS_T_TXT, DNS_T_AAAA, 65280};

static bool canon_equal(uint16_t type, const dns_rdata *a, const uint8_t *b, size_t blen)
{
	sg_buf x = SG_BUF_INIT, y = SG_BUF_INIT;
	bool eq = dns_rdata_canonical(type, a->data, a->len, &x) == SIGNET_OK &&
		  dns_rdata_canonical(type, b, blen, &y) == SIGNET_OK && x.len == y.len &&
		  (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
	sg_buf_free(&x);
	sg_buf_free(&y);
	return eq;
}

static void check_zone(const dns_zone *z, const zone_diff *taken)
{
	size_t rrs = 0;
	for (size_t i = 0; i < z->count; i++) {
		const dns_rrset *s = &z->sets[i];
		if (i) {
			int c = dns_name_compare(&z->sets[i - 1].owner, &s->owner);
			FUZZ_CHECK(c < 0 || (c == 0 && z->sets[i - 1].type < s->type));
		}
		for (size_t a = 0; a < s->count; a++)
			for (size_t b = a + 1; b < s->count; b++)
				FUZZ_CHECK(!canon_equal(s->type, &s->rr[a], s->rr[b].data,
							s->rr[b].len));
		rrs += s->count;
		/* The first RR taken of this owner and type spells the owner. */
		const zone_rr *first = NULL;
		uint32_t ttl = UINT32_MAX;
		for (size_t k = 0; k < taken->nadd; k++) {
			const zone_rr *r = &taken->add[k];
			if (r->type != s->type || !dns_name_equal(&r->owner, &s->owner))
				continue;
			if (first == NULL)
				first = r;
			if (r->ttl < ttl)
				ttl = r->ttl;
		}
		FUZZ_CHECK(first != NULL);
		FUZZ_CHECK(first->owner.len == s->owner.len &&
			   memcmp(first->owner.wire, s->owner.wire, s->owner.len) == 0);
		FUZZ_CHECK(s->ttl == ttl);
	}
	FUZZ_CHECK(rrs <= taken->nadd);
	/* Every RR taken is in its set. */
	for (size_t k = 0; k < taken->nadd; k++) {
		const zone_rr *r = &taken->add[k];
		bool found = false;
		for (size_t i = 0; i < z->count && !found; i++) {
			const dns_rrset *s = &z->sets[i];
			if (s->type != r->type || !dns_name_equal(&s->owner, &r->owner))
				continue;
			for (size_t a = 0; a < s->count && !found; a++)
				found = canon_equal(s->type, &s->rr[a], r->rdata.data, r->rdata.len);
		}
		FUZZ_CHECK(found);
	}
}

static bool zone_same(const dns_zone *a, const dns_zone *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const dns_rrset *x = &a->sets[i], *y = &b->sets[i];
		if (x->owner.len != y->owner.len ||
		    memcmp(x->owner.wire, y->owner.wire, x->owner.len) != 0 || x->type != y->type ||
		    x->ttl != y->ttl || x->count != y->count)
			return false;
		for (size_t k = 0; k < x->count; k++)
			if (x->rr[k].len != y->rr[k].len ||
			    (x->rr[k].len && memcmp(x->rr[k].data, y->rr[k].data, x->rr[k].len)))
				return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	dns_name owners[8], apex;
	for (size_t i = 0; i < 8; i++)
		if (dns_name_from_str(&owners[i], OWNERS[i]) != SIGNET_OK)
			abort();
	apex = owners[0];
	size_t max_rrs = data[0] ? data[0] : 64;
	zone_gather g;
	zone_gather_init(&g, &apex, max_rrs);
	zone_diff taken = {0};
	signet_err stuck = SIGNET_OK;
	size_t p = 1;
	/* Each RR: owner, type, TTL, then the RDATA's choice and octets. */
	while (p + 4 <= size) {
		const dns_name *owner = &owners[data[p] % 8];
		uint16_t type = TYPES[data[p + 1] % 6];
		uint32_t ttl = data[p + 2] == 255 ? 0x80000000u : (uint32_t)data[p + 2] * 60;
		uint8_t sel = data[p + 3];
		p += 4;
		uint8_t rd[300];
		size_t len = 0;
		if ((type == DNS_T_NS || type == DNS_T_MX) && sel < 128) {
			/* A pool name, in MX after a preference. */
			if (type == DNS_T_MX) {
				rd[len++] = 0;
				rd[len++] = sel >> 3;
			}
			const dns_name *n = &owners[sel % 8];
			memcpy(rd + len, n->wire, n->len);
			len += n->len;
		} else {
			len = sel % 24;
			if (len > size - p)
				len = size - p;
			memcpy(rd, data + p, len);
			p += len;
		}
		signet_err ret = zone_gather_add(&g, owner, type, ttl, rd, len);
		if (stuck != SIGNET_OK)
			FUZZ_CHECK(ret == stuck);
		else if (ret != SIGNET_OK)
			stuck = ret;
		else if (zone_diff_push(&taken, true, owner, type, ttl, rd, len) != SIGNET_OK)
			abort();
		if (ret == SIGNET_ERANGE)
			FUZZ_CHECK(taken.nadd == max_rrs);
	}
	dns_zone z;
	signet_err ret = zone_gather_finish(&g, &z);
	dns_zone again;
	FUZZ_CHECK(zone_gather_finish(&g, &again) == SIGNET_EINVAL && again.count == 0);
	zone_gather_free(&g);
	if (stuck != SIGNET_OK) {
		FUZZ_CHECK(ret == stuck && z.count == 0 && z.sets == NULL);
	} else if (ret == SIGNET_OK) {
		check_zone(&z, &taken);
		dns_zone from;
		FUZZ_CHECK(zone_from_rrs(&apex, &taken, max_rrs, &from) == SIGNET_OK);
		FUZZ_CHECK(zone_same(&z, &from));
		dns_zone_free(&from);
	}
	dns_zone_free(&z);
	zone_diff_free(&taken);
	return 0;
}
