/* rrset.c -- RRsets: ownership, canonical order and duplicates, wire form. */
#include "dnssec/dnssec.h"

#include <stdlib.h>
#include <string.h>

void dns_rrset_init(dns_rrset *s, const dns_name *owner, uint16_t type, uint16_t rclass,
		    uint32_t ttl)
{
	if (s == NULL)
		return;
	memset(s, 0, sizeof(*s));
	if (owner != NULL)
		s->owner = *owner;
	else
		s->owner.len = 1; /* the root: never leave an invalid name */
	s->type = type;
	s->rclass = rclass;
	s->ttl = ttl;
}

signet_err dns_rrset_add(dns_rrset *s, const uint8_t *rdata, size_t len)
{
	if (s == NULL || (rdata == NULL && len != 0))
		return SIGNET_EINVAL;
	if (len > DNS_RDATA_MAX)
		return SIGNET_ERANGE;
	if (s->count == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4;
		if (ncap > SIZE_MAX / sizeof(dns_rdata))
			return SIGNET_ERANGE;
		dns_rdata *n = realloc(s->rr, ncap * sizeof(dns_rdata));
		if (n == NULL)
			return SIGNET_ENOMEM;
		s->rr = n;
		s->cap = ncap;
	}
	dns_rdata *r = &s->rr[s->count];
	r->len = (uint16_t)len;
	r->data = NULL;
	if (len > 0) {
		r->data = malloc(len);
		if (r->data == NULL)
			return SIGNET_ENOMEM;
		memcpy(r->data, rdata, len);
	}
	s->count++;
	return SIGNET_OK;
}

void dns_rrset_clear(dns_rrset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++)
		free(s->rr[i].data);
	free(s->rr);
	s->rr = NULL;
	s->count = 0;
	s->cap = 0;
}

signet_err dns_rrset_copy(dns_rrset *dst, const dns_rrset *src)
{
	if (dst == NULL || src == NULL || dst == src)
		return SIGNET_EINVAL;
	dns_rrset_init(dst, &src->owner, src->type, src->rclass, src->ttl);
	for (size_t i = 0; i < src->count; i++) {
		signet_err err = dns_rrset_add(dst, src->rr[i].data, src->rr[i].len);
		if (err != SIGNET_OK) {
			dns_rrset_clear(dst);
			return err;
		}
	}
	return SIGNET_OK;
}

/* RDATA as left-justified octet strings: the shorter of two sorts first
 * when it is a prefix of the other (RFC 4034 §6.3). */
static int rdata_cmp(const void *pa, const void *pb)
{
	const dns_rdata *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int r = n > 0 ? memcmp(a->data, b->data, n) : 0;

	if (r != 0)
		return r;
	return (a->len > b->len) - (a->len < b->len);
}

signet_err dns_rrset_canonicalize(dns_rrset *s)
{
	if (s == NULL || (s->rr == NULL && s->count != 0))
		return SIGNET_EINVAL;
	/* Canonical form only lower-cases names inside the RDATA, so it has
	 * the RDATA's length and replaces it in place, without an allocation
	 * per RR. All of it is formed first, in one buffer, so a malformed RR
	 * leaves the set exactly as it was. */
	sg_buf tmp = SG_BUF_INIT;
	for (size_t i = 0; i < s->count; i++) {
		size_t mark = tmp.len;
		signet_err err = dns_rdata_canonical(s->type, s->rr[i].data, s->rr[i].len, &tmp);
		if (err == SIGNET_OK && tmp.len - mark != s->rr[i].len)
			err = SIGNET_EPARSE;
		if (err != SIGNET_OK) {
			sg_buf_free(&tmp);
			return err;
		}
	}
	size_t off = 0;
	for (size_t i = 0; i < s->count; i++) {
		if (s->rr[i].len > 0)
			memcpy(s->rr[i].data, tmp.data + off, s->rr[i].len);
		off += s->rr[i].len;
	}
	sg_buf_free(&tmp);
	dns_name_lower(&s->owner);
	if (s->count > 1) {
		qsort(s->rr, s->count, sizeof(s->rr[0]), rdata_cmp);
		size_t w = 1;
		for (size_t i = 1; i < s->count; i++) {
			if (rdata_cmp(&s->rr[w - 1], &s->rr[i]) == 0) {
				free(s->rr[i].data);
				continue;
			}
			s->rr[w++] = s->rr[i];
		}
		s->count = w;
	}
	return SIGNET_OK;
}

signet_err dns_rrset_to_wire(const dns_rrset *s, uint32_t ttl, sg_buf *out)
{
	signet_err err = SIGNET_OK;

	if (s == NULL || out == NULL || (s->rr == NULL && s->count != 0) || s->owner.len == 0)
		return SIGNET_EINVAL;
	size_t mark = out->len;
	for (size_t i = 0; i < s->count && err == SIGNET_OK; i++) {
		err = sg_buf_append(out, s->owner.wire, s->owner.len);
		if (err == SIGNET_OK)
			err = sg_buf_put_u16(out, s->type);
		if (err == SIGNET_OK)
			err = sg_buf_put_u16(out, s->rclass);
		if (err == SIGNET_OK)
			err = sg_buf_put_u32(out, ttl);
		if (err == SIGNET_OK)
			err = sg_buf_put_u16(out, s->rr[i].len);
		if (err == SIGNET_OK && s->rr[i].len > 0)
			err = sg_buf_append(out, s->rr[i].data, s->rr[i].len);
	}
	if (err != SIGNET_OK)
		out->len = mark;
	return err;
}
