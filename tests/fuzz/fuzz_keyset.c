/* fuzz_keyset.c -- fuzz target for the key-signing request and bundle text
 * (dns_keyset_parse), where signetd and the ceremony meet.
 *
 * Properties: a keyset that parses writes without error; the written text
 * parses again, writes to the same octets and has the same digest (the
 * canonical form is a fixed point, so a request's hash is stable). */
#include <string.h>

#include "dnssec/dnssec.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dns_keyset ks = {0}, again = {0};
	unsigned line = 0;
	if (dns_keyset_parse((const char *)data, size, &ks, &line) != SIGNET_OK) {
		FUZZ_CHECK(ks.count == 0 && ks.periods == NULL);
		return 0;
	}
	sg_buf t1 = SG_BUF_INIT, t2 = SG_BUF_INIT;
	signet_err err = dns_keyset_write(&ks, &t1);
	if (err != SIGNET_OK)
		fprintf(stderr, "write of a parsed keyset: %s\n", signet_errname(err));
	FUZZ_CHECK(err == SIGNET_OK);
	err = dns_keyset_parse((const char *)t1.data, t1.len, &again, &line);
	if (err != SIGNET_OK)
		fprintf(stderr, "re-parse of written keyset: %s at line %u\n",
			signet_errname(err), line);
	FUZZ_CHECK(err == SIGNET_OK);
	FUZZ_CHECK(dns_keyset_write(&again, &t2) == SIGNET_OK);
	FUZZ_CHECK(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0);
	uint8_t d1[32], d2[32];
	FUZZ_CHECK(dns_keyset_digest(&ks, d1) == SIGNET_OK);
	FUZZ_CHECK(dns_keyset_digest(&again, d2) == SIGNET_OK);
	FUZZ_CHECK(memcmp(d1, d2, sizeof(d1)) == 0);
	sg_buf_free(&t1);
	sg_buf_free(&t2);
	dns_keyset_free(&ks);
	dns_keyset_free(&again);
	return 0;
}
