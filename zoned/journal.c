/* journal.c -- the journal of signed differences IXFR out answers from:
 * each new signed version is compared with the last one recorded, and the
 * step between them kept, oldest dropped first past the bounds. */
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
	dns_zone_free(&j->last);
	memset(j, 0, sizeof(*j));
}

static signet_err collect(void *arg, const dns_rrset *s)
{
	zone_diff *d = arg;
	for (size_t i = 0; i < s->count; i++) {
		signet_err ret = zone_diff_push(d, true, &s->owner, s->type, s->ttl, s->rr[i].data,
						s->rr[i].len);
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

signet_err zoned_signed_zone(const zone_engine *e, dns_zone *out)
{
	zone_diff all = {0};
	dns_name apex;
	memset(out, 0, sizeof(*out));
	signet_err ret = zone_engine_walk(e, collect, &all);
	if (ret == SIGNET_OK && all.nadd == 0)
		ret = SIGNET_ENOTFOUND;
	if (ret == SIGNET_OK) {
		apex = all.add[0].owner;  /* the SOA comes first */
		ret = zone_from_rrs(&apex, &all, all.nadd, out);
	}
	zone_diff_free(&all);
	return ret;
}

static const dns_rrset *apex_soa(const dns_zone *z)
{
	for (size_t i = 0; i < z->count; i++)
		if (z->sets[i].type == DNS_T_SOA && dns_name_equal(&z->sets[i].owner, &z->apex) &&
		    z->sets[i].count == 1 && z->sets[i].rr[0].len >= 22)
			return &z->sets[i];
	return NULL;
}

static uint32_t soa_serial(const dns_rrset *soa)
{
	return sg_get_u32(soa->rr[0].data + soa->rr[0].len - 20);
}

/* The step a -> b with the SOAs taken out of the difference. */
static signet_err make_step(const dns_zone *a, const dns_zone *b, zoned_step *s)
{
	memset(s, 0, sizeof(*s));
	const dns_rrset *sa = apex_soa(a), *sb = apex_soa(b);
	if (sa == NULL || sb == NULL)
		return SIGNET_EPARSE;
	s->from = soa_serial(sa);
	s->to = soa_serial(sb);
	zone_diff d;
	signet_err ret = zone_diff_between(a, b, &d);
	if (ret == SIGNET_OK)
		ret = dns_rrset_copy(&s->soa_from, sa);
	if (ret == SIGNET_OK)
		ret = dns_rrset_copy(&s->soa_to, sb);
	for (int add = 0; ret == SIGNET_OK && add < 2; add++) {
		zone_rr *v = add ? d.add : d.del;
		size_t n = add ? d.nadd : d.ndel;
		for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
			if (v[i].type == DNS_T_SOA && dns_name_equal(&v[i].owner, &a->apex))
				continue;
			ret = zone_diff_push(&s->d, add, &v[i].owner, v[i].type, v[i].ttl,
					     v[i].rdata.data, v[i].rdata.len);
			s->rrs++;
		}
	}
	zone_diff_free(&d);
	if (ret != SIGNET_OK)
		step_free(s);
	return ret;
}

signet_err zoned_journal_add(zoned_journal *j, const zone_engine *e)
{
	dns_zone now;
	signet_err ret = zoned_signed_zone(e, &now);
	if (ret != SIGNET_OK)
		return ret;
	if (j->have_last) {
		zoned_step s;
		ret = make_step(&j->last, &now, &s);
		if (ret == SIGNET_OK && dns_serial_compare(s.to, s.from) != 1) {
			/* Not forward (a restart's first version): no step. */
			step_free(&s);
		} else if (ret == SIGNET_OK) {
			if (j->count == j->cap) {
				size_t cap = j->cap ? 2 * j->cap : 8;
				zoned_step *p = realloc(j->steps, cap * sizeof(*p));
				if (p == NULL) {
					step_free(&s);
					ret = SIGNET_ENOMEM;
				} else {
					j->steps = p;
					j->cap = cap;
				}
			}
			if (ret == SIGNET_OK) {
				j->steps[j->count++] = s;
				j->rrs += s.rrs;
			}
		}
	}
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
	dns_zone_free(&j->last);
	j->last = now;
	j->have_last = true;
	return ret;
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
