/* fuzz_zoned_tsig.c -- fuzz target for the TSIG side of signet-zoned's
 * transfers in: finding and reading a message's TSIG RR
 * (zoned_tsig_rr_find), and verifying a stream of messages of which only
 * some are signed (zoned_tsig_verify, RFC 8945 §5.3.1).
 *
 * The input is messages, each with a 2-octet length in front (as over
 * TCP). Properties: a TSIG RR read lies inside its message and ends it; the
 * same octets read twice give the same result; the first message signed by
 * zoned_tsig_sign (ldns) verifies with zoned_tsig_verify (ours): the two
 * agree on what the MAC covers; after it, a message without TSIG is taken
 * (up to 99 in a row) and one more is refused; the stream ends verified
 * only if its last message was signed. Under ASan, no leak of the running
 * MAC whatever the stream. */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "zoned/zoned.h"

static const zoned_key key = {
	.name = "xfr-in.",
	.algorithm = "hmac-sha256.",
	.secret = "c2lnbmV0IHpvbmVkIGZ1enogdHNpZyBrZXkgMzIgb2N0ZXRzIQ==",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The raw stream, as a primary would send it. */
	zoned_tsig raw = {.key = &key, .first = true, .sparse = true};
	/* The stream with its first message signed by us. */
	zoned_tsig mine = {.key = &key, .first = true, .sparse = true};
	bool mine_ok = true;
	size_t n = 0;
	for (size_t pos = 0; pos + 2 <= size; n++) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		const uint8_t *msg = data + pos;
		pos += len;

		zoned_tsig_rr rr, again;
		signet_err ret = zoned_tsig_rr_find(msg, len, &rr);
		FUZZ_CHECK(zoned_tsig_rr_find(msg, len, &again) == ret);
		FUZZ_CHECK(ret == SIGNET_OK || ret == SIGNET_ENOTFOUND || ret == SIGNET_EPARSE);
		if (ret == SIGNET_OK) {
			FUZZ_CHECK(memcmp(&rr, &again, sizeof(rr)) == 0);
			FUZZ_CHECK(rr.pos >= 12 && rr.pos < len);
			FUZZ_CHECK(rr.mac >= msg + rr.pos && rr.mac + rr.mac_len <= msg + len);
			FUZZ_CHECK(rr.other + rr.other_len == msg + len);
		}
		(void)zoned_tsig_verify(&raw, msg, len);

		if (n == 0) {
			uint8_t buf[ZONED_MSG_MAX];
			size_t blen = len;
			memcpy(buf, msg, len);
			zoned_tsig s = {.key = &key, .first = true};
			if (ret == SIGNET_ENOTFOUND &&
			    zoned_tsig_sign(&s, buf, &blen, sizeof(buf)) == SIGNET_OK)
				FUZZ_CHECK(zoned_tsig_verify(&mine, buf, blen) == SIGNET_OK);
			else
				mine_ok = false;
		} else if (mine_ok) {
			signet_err v = zoned_tsig_verify(&mine, msg, len);
			if (ret == SIGNET_ENOTFOUND)
				FUZZ_CHECK((v == SIGNET_OK) == (n <= ZONED_TSIG_UNSIGNED_MAX));
			else if (ret == SIGNET_EPARSE)
				FUZZ_CHECK(v == SIGNET_EPARSE);
			else
				FUZZ_CHECK(v == SIGNET_EVERIFY); /* a MAC we did not make */
			mine_ok = v == SIGNET_OK;
		}
	}
	signet_err done = zoned_tsig_done(&mine);
	if (mine_ok && n > 0)
		FUZZ_CHECK((done == SIGNET_OK) == (n == 1));
	(void)zoned_tsig_done(&raw);
	return 0;
}
