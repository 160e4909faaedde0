/* dnssec_testutil.c -- small helpers the dnssec tests share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "tests/lib/dnssec_testutil.h"

dns_name dt_name(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
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
		while (j < m && !dns_name_equal(&o[j].name, &z->sets[i].owner))
			j++;
		if (j == m) {
			o[m].name = z->sets[i].owner;
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
