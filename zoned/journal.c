/* journal.c -- the journal of signed differences IXFR out answers from:
 * the difference the engine reports for each new signed version, kept as a
 * step between two serials, oldest dropped first past the bounds. */
#include <stdio.h>
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

signet_err zoned_journal_add(zoned_journal *j, const dns_name *apex, const zone_diff *changes,
			     uint32_t serial_in)
{
	if (changes->ndel == 0 && changes->nadd == 0)
		return SIGNET_OK; /* a first version: nothing to step from */
	zoned_step s;
	memset(&s, 0, sizeof(s));
	s.in = serial_in;
	s.has_in = true;
	signet_err ret = take_soa(changes->del, changes->ndel, apex, &s.soa_from, &s.from);
	if (ret == SIGNET_OK)
		ret = take_soa(changes->add, changes->nadd, apex, &s.soa_to, &s.to);
	if (ret == SIGNET_OK && dns_serial_compare(s.to, s.from) != 1)
		ret = SIGNET_EINVAL; /* not forward: no step a secondary could ask for */
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

static signet_err write_rr(sg_buf *out, char sign, const dns_name *owner, uint16_t type,
			   uint32_t ttl, const dns_rdata *rd)
{
	signet_err ret = sg_buf_put_u8(out, (uint8_t)sign);
	if (ret == SIGNET_OK)
		ret = dns_rr_to_text(owner, type, DNS_CLASS_IN, ttl, rd->data, rd->len, out);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(out, '\n');
	return ret;
}

signet_err zoned_journal_write(const zoned_journal *j, sg_buf *out)
{
	signet_err ret = sg_buf_printf(out, "; signet-zoned journal\n");
	for (size_t i = 0; ret == SIGNET_OK && i < j->count; i++) {
		const zoned_step *s = &j->steps[i];
		ret = s->has_in ? sg_buf_printf(out, "$STEP %u %u %u\n", s->from, s->to, s->in)
				: sg_buf_printf(out, "$STEP %u %u\n", s->from, s->to);
		if (ret == SIGNET_OK)
			ret = write_rr(out, '<', &s->soa_from.owner, DNS_T_SOA, s->soa_from.ttl,
				       &s->soa_from.rr[0]);
		if (ret == SIGNET_OK)
			ret = write_rr(out, '>', &s->soa_to.owner, DNS_T_SOA, s->soa_to.ttl,
				       &s->soa_to.rr[0]);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.ndel; k++)
			ret = write_rr(out, '-', &s->d.del[k].owner, s->d.del[k].type,
				       s->d.del[k].ttl, &s->d.del[k].rdata);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.nadd; k++)
			ret = write_rr(out, '+', &s->d.add[k].owner, s->d.add[k].type,
				       s->d.add[k].ttl, &s->d.add[k].rdata);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(out, "$END\n");
	}
	return ret;
}

/* One RR line of a step into s. */
static signet_err read_rr(zoned_step *s, const dns_name *apex, const char *line)
{
	char sign = line[0];
	if (sign == '\0' || line[1] == '\0')
		return SIGNET_EPARSE;
	dns_name owner;
	uint16_t type = 0, rclass = 0;
	uint32_t ttl = 0;
	sg_buf rd = SG_BUF_INIT;
	signet_err ret = dns_rr_from_text(line + 1, NULL, &owner, &type, &rclass, &ttl, &rd);
	if (ret == SIGNET_OK && (rclass != DNS_CLASS_IN || !dns_name_is_at_or_below(&owner, apex)))
		ret = SIGNET_EPARSE;
	if (ret == SIGNET_OK && (sign == '<' || sign == '>')) {
		dns_rrset *soa = sign == '<' ? &s->soa_from : &s->soa_to;
		if (type != DNS_T_SOA || soa->count || rd.len < 22 || !dns_name_equal(&owner, apex))
			ret = SIGNET_EPARSE;
		else {
			dns_rrset_init(soa, &owner, DNS_T_SOA, DNS_CLASS_IN, ttl);
			ret = dns_rrset_add(soa, rd.data, rd.len);
		}
	} else if (ret == SIGNET_OK && (sign == '-' || sign == '+')) {
		ret = zone_diff_push(&s->d, sign == '+', &owner, type, ttl, rd.data, rd.len);
		s->rrs++;
	} else if (ret == SIGNET_OK) {
		ret = SIGNET_EPARSE;
	}
	sg_buf_free(&rd);
	return ret;
}

signet_err zoned_journal_read(zoned_journal *j, const dns_name *apex, const char *text, size_t len,
			      uint32_t newest)
{
	signet_err ret = SIGNET_OK;
	zoned_step s;
	bool open = false;
	size_t pos = 0;
	char *line = NULL;
	memset(&s, 0, sizeof(s));
	while (ret == SIGNET_OK && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (memchr(text + pos, '\0', n) != NULL) {
			ret = SIGNET_EPARSE; /* a NUL would end the line early */
			break;
		}
		free(line);
		line = strndup(text + pos, n);
		pos += n + (nl ? 1 : 0);
		if (line == NULL) {
			ret = SIGNET_ENOMEM;
			break;
		}
		if (n == 0 || line[0] == ';')
			continue;
		unsigned long from = 0, to = 0, in = 0;
		char tail = 0;
		/* "$STEP FROM TO IN", or "$STEP FROM TO" as older files have it;
		 * nothing after either. */
		int got = 0;
		if (!open && sscanf(line, "$STEP %lu %lu %lu%c", &from, &to, &in, &tail) == 3)
			got = 3;
		else if (!open && sscanf(line, "$STEP %lu %lu%c", &from, &to, &tail) == 2)
			got = 2;
		if (got && from <= 0xffffffffUL && to <= 0xffffffffUL && in <= 0xffffffffUL) {
			memset(&s, 0, sizeof(s));
			s.from = (uint32_t)from;
			s.to = (uint32_t)to;
			s.in = (uint32_t)in;
			s.has_in = got == 3;
			open = true;
		} else if (open && strcmp(line, "$END") == 0) {
			open = false;
			uint32_t sf = 0, st = 0;
			if (s.soa_from.count != 1 || s.soa_to.count != 1 ||
			    (sf = sg_get_u32(s.soa_from.rr[0].data + s.soa_from.rr[0].len - 20)) !=
				    s.from ||
			    (st = sg_get_u32(s.soa_to.rr[0].data + s.soa_to.rr[0].len - 20)) !=
				    s.to ||
			    (j->count && j->steps[j->count - 1].to != s.from) ||
			    j->rrs + s.rrs > j->max_rrs || j->count >= j->max_steps) {
				ret = SIGNET_EPARSE;
				break;
			}
			if (j->count == j->cap) {
				size_t cap = j->cap ? 2 * j->cap : 8;
				zoned_step *p = realloc(j->steps, cap * sizeof(*p));
				if (p == NULL) {
					ret = SIGNET_ENOMEM;
					break;
				}
				j->steps = p;
				j->cap = cap;
			}
			j->steps[j->count++] = s;
			j->rrs += s.rrs;
			memset(&s, 0, sizeof(s));
		} else if (open) {
			ret = read_rr(&s, apex, line);
		} else {
			ret = SIGNET_EPARSE;
		}
	}
	free(line);
	size_t first = 0;
	if (open || (ret == SIGNET_OK && j->count && j->steps[j->count - 1].to != newest &&
		     zoned_journal_find(j, newest, &first) != SIGNET_OK))
		ret = SIGNET_EPARSE;
	step_free(&s);
	if (ret != SIGNET_OK) {
		for (size_t i = 0; i < j->count; i++)
			step_free(&j->steps[i]);
		j->count = 0;
		j->rrs = 0;
	}
	return ret;
}

signet_err zoned_journal_replay(const zoned_journal *j, size_t first, dns_zone *z, size_t max_rrs)
{
	signet_err ret = SIGNET_OK;
	for (size_t i = first; ret == SIGNET_OK && i < j->count; i++) {
		const zoned_step *s = &j->steps[i];
		/* The step as an IXFR sends it: the SOAs with the rest. */
		zone_diff d = {0};
		ret = zone_diff_push(&d, false, &s->soa_from.owner, DNS_T_SOA, s->soa_from.ttl,
				     s->soa_from.rr[0].data, s->soa_from.rr[0].len);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.ndel; k++)
			ret = zone_diff_push(&d, false, &s->d.del[k].owner, s->d.del[k].type,
					     s->d.del[k].ttl, s->d.del[k].rdata.data,
					     s->d.del[k].rdata.len);
		if (ret == SIGNET_OK)
			ret = zone_diff_push(&d, true, &s->soa_to.owner, DNS_T_SOA, s->soa_to.ttl,
					     s->soa_to.rr[0].data, s->soa_to.rr[0].len);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.nadd; k++)
			ret = zone_diff_push(&d, true, &s->d.add[k].owner, s->d.add[k].type,
					     s->d.add[k].ttl, s->d.add[k].rdata.data,
					     s->d.add[k].rdata.len);
		if (ret == SIGNET_OK)
			ret = zone_diff_apply(z, &d, max_rrs);
		zone_diff_free(&d);
	}
	return ret;
}
