/* dnssec_testutil.c -- small helpers the dnssec tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "tests/lib/dnssec_testutil.h"

dns_name dt_name(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
}

const dns_name *dt_namep(const char *s)
{
	static dns_name ring[256];
	static size_t next;
	dns_name *n = &ring[next++ % 256];
	*n = dt_name(s);
	return n;
}

signet_err dt_each_fn(void *arg, dns_rrset *set)
{
	dt_each *e = arg;
	assert_true(e->seen < e->want->count);
	const dns_rrset *w = &e->want->sets[e->seen];
	assert_true(dns_name_equal(&set->owner, &w->owner));
	assert_int_equal(set->type, w->type);
	assert_int_equal(set->ttl, w->ttl);
	assert_int_equal(set->count, w->count);
	for (size_t i = 0; i < set->count; i++) {
		assert_int_equal(set->rr[i].len, w->rr[i].len);
		assert_memory_equal(set->rr[i].data, w->rr[i].data, w->rr[i].len);
	}
	if (e->seen % 2 == 0) {
		for (size_t i = 0; i < set->count; i++)
			free(set->rr[i].data);
		free(set->rr);
		set->rr = NULL;
		set->count = set->cap = 0;
	}
	e->seen++;
	return e->seen == e->stop_at ? SIGNET_EIO : SIGNET_OK;
}

void dt_load_file(const char *rel, sg_buf *out)
{
	const char *dir = getenv("SIGNET_TEST_DATA");
	assert_non_null(dir);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(sg_file_read(path, 1 << 20, out), SIGNET_OK);
}

void dt_zone_owners(const dns_zone *z, dns_owner **out, size_t *n)
{
	dns_owner *o = calloc(z->count, sizeof(*o));
	assert_non_null(o);
	size_t m = 0;
	for (size_t i = 0; i < z->count; i++) {
		size_t j = 0;
		while (j < m && !dns_name_equal(o[j].name, &z->sets[i].owner))
			j++;
		if (j == m) {
			o[m].name = &z->sets[i].owner;
			o[m].types = calloc(z->count, sizeof(uint16_t));
			assert_non_null(o[m].types);
			m++;
		}
		o[j].types[o[j].ntypes++] = z->sets[i].type;
	}
	*out = o;
	*n = m;
}

void dt_free_owners(dns_owner *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(o[i].types);
	free(o);
}

EVP_PKEY *dt_generate(uint8_t alg)
{
	switch (alg) {
	case DNS_ALG_RSASHA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case DNS_ALG_ECDSAP256SHA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case DNS_ALG_ECDSAP384SHA384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	default:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
}

char *dt_ldns_line(const dns_name *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
		   const uint8_t *rdata, size_t len)
{
	sg_buf w = SG_BUF_INIT;
	assert_int_equal(sg_buf_append(&w, owner->wire, owner->len), SIGNET_OK);
	assert_int_equal(sg_buf_put_u16(&w, type), SIGNET_OK);
	assert_int_equal(sg_buf_put_u16(&w, rclass), SIGNET_OK);
	assert_int_equal(sg_buf_put_u32(&w, ttl), SIGNET_OK);
	assert_int_equal(sg_buf_put_u16(&w, (uint16_t)len), SIGNET_OK);
	assert_int_equal(sg_buf_append(&w, rdata, len), SIGNET_OK);
	ldns_rr *rr = NULL;
	size_t pos = 0;
	ldns_status st = ldns_wire2rr(&rr, w.data, w.len, &pos, LDNS_SECTION_ANSWER);
	bool whole = pos == w.len;
	sg_buf_free(&w);
	if (st != LDNS_STATUS_OK || !whole) {
		ldns_rr_free(rr);
		return NULL;
	}
	char *s = ldns_rr2str_fmt(ldns_output_format_nocomments, rr);
	ldns_rr_free(rr);
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}
