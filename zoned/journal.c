/* journal.c -- the journal of signed differences IXFR out answers from:
 * the difference the engine reports for each new signed version, kept as a
 * step between two serials, oldest dropped first past the bounds. */
#include <stdlib.h>
#include <string.h>

#include "zoned/zoned.h"

void zoned_journal_init(zoned_journal *j, size_t max_steps, size_t max_rrs)
{
	memset(j, 0, sizeof(*j));
	j->max_steps = max_steps;
	j->max_rrs = max_rrs;
}

static void step_free(zoned_step *s)
{
	dns_rrset_clear(&s->soa_from);
	dns_rrset_clear(&s->soa_to);
	zone_diff_free(&s->d);
}

void zoned_journal_free(zoned_journal *j)
{
	for (size_t i = 0; i < j->count; i++)
		step_free(&j->steps[i]);
	free(j->steps);
	memset(j, 0, sizeof(*j));
}

/* The apex SOA of one side of a difference into out. */
static signet_err take_soa(const zone_rr *v, size_t n, const dns_name *apex, dns_rrset *out,
			   uint32_t *serial)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].type == DNS_T_SOA && dns_name_equal(&v[i].owner, apex) &&
		    v[i].rdata.len >= 22) {
			dns_rrset_init(out, &v[i].owner, DNS_T_SOA, DNS_CLASS_IN, v[i].ttl);
			*serial = sg_get_u32(v[i].rdata.data + v[i].rdata.len - 20);
			return dns_rrset_add(out, v[i].rdata.data, v[i].rdata.len);
		}
	return SIGNET_ENOTFOUND;
}

signet_err zoned_journal_add(zoned_journal *j, const dns_name *apex, const zone_diff *changes)
{
	if (changes->ndel == 0 && changes->nadd == 0)
		return SIGNET_OK;  /* a first version: nothing to step from */
	zoned_step s;
	memset(&s, 0, sizeof(s));
	signet_err ret = take_soa(changes->del, changes->ndel, apex, &s.soa_from, &s.from);
	if (ret == SIGNET_OK)
		ret = take_soa(changes->add, changes->nadd, apex, &s.soa_to, &s.to);
	if (ret == SIGNET_OK && dns_serial_compare(s.to, s.from) != 1)
		ret = SIGNET_EINVAL;  /* not forward: no step a secondary could ask for */
	for (int add = 0; ret == SIGNET_OK && add < 2; add++) {
		const zone_rr *v = add ? changes->add : changes->del;
		size_t n = add ? changes->nadd : changes->ndel;
		for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
			if (v[i].type == DNS_T_SOA && dns_name_equal(&v[i].owner, apex))
				continue;
			ret = zone_diff_push(&s.d, add, &v[i].owner, v[i].type, v[i].ttl,
					     v[i].rdata.data, v[i].rdata.len);
			s.rrs++;
		}
	}
	if (ret == SIGNET_OK && j->count == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 8;
		zoned_step *p = realloc(j->steps, cap * sizeof(*p));
		if (p == NULL) {
			ret = SIGNET_ENOMEM;
		} else {
			j->steps = p;
			j->cap = cap;
		}
	}
	if (ret != SIGNET_OK) {
		step_free(&s);
		return ret;
	}
	j->steps[j->count++] = s;
	j->rrs += s.rrs;
	/* The bounds: the oldest steps go first. */
	size_t drop = 0;
	while (drop < j->count && (j->count - drop > j->max_steps || j->rrs > j->max_rrs)) {
		j->rrs -= j->steps[drop].rrs;
		step_free(&j->steps[drop++]);
	}
	if (drop) {
		memmove(j->steps, j->steps + drop, (j->count - drop) * sizeof(*j->steps));
		j->count -= drop;
	}
	return SIGNET_OK;
}

signet_err zoned_journal_find(const zoned_journal *j, uint32_t from, size_t *first)
{
	for (size_t i = 0; i < j->count; i++)
		if (j->steps[i].from == from) {
			/* Every later step must follow on. */
			for (size_t k = i + 1; k < j->count; k++)
				if (j->steps[k].from != j->steps[k - 1].to)
					return SIGNET_ENOTFOUND;
			*first = i;
			return SIGNET_OK;
		}
	return SIGNET_ENOTFOUND;
}
