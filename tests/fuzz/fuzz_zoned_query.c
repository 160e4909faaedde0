/* fuzz_zoned_query.c -- fuzz target for signet-zoned's own DNS parsing: the
 * queries, NOTIFYs and transfer requests it reads from the network
 * (zoned_query_parse, with compression pointers followed).
 *
 * Properties: an accepted message has one question whose name is a valid
 * wire-form name; an IXFR always carries the serial of its SOA; a message
 * with QR set is never accepted; parsing the same octets twice gives the
 * same result; a prefix of an accepted message shorter than it is refused
 * unless it is the same message (trailing octets are refused). */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "zoned/zoned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zoned_query q, again;
	signet_err ret = zoned_query_parse(data, size, &q);
	FUZZ_CHECK(zoned_query_parse(data, size, &again) == ret);
	if (ret != SIGNET_OK) {
		FUZZ_CHECK(ret == SIGNET_EPARSE);
		return 0;
	}
	FUZZ_CHECK(memcmp(&q, &again, sizeof(q)) == 0);
	FUZZ_CHECK(!(q.flags & 0x8000));
	FUZZ_CHECK(q.qname.len >= 1 && q.qname.wire[q.qname.len - 1] == 0);
	dns_name copy;
	FUZZ_CHECK(dns_name_from_wire(&copy, q.qname.wire, q.qname.len, NULL) == SIGNET_OK);
	FUZZ_CHECK(q.qtype != DNS_T_IXFR || q.has_ixfr_serial);
	if (size > 12) {
		zoned_query p;
		FUZZ_CHECK(zoned_query_parse(data, size - 1, &p) == SIGNET_EPARSE);
	}
	return 0;
}
