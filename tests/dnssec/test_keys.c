/* test_keys.c -- DNSKEY from and to OpenSSL keys, key tags, DS, CDS/CDNSKEY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "dnssec/dnssec.h"
#include "tests/lib/dnssec_testutil.h"
#include "tests/lib/tmpdir.h"

/* The DNSKEY of RFC 4034 §5.4 and RFC 4509 §2.3 (dskey.example.com.). */
static const char rfc4034_key[] =
	"AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZ"
	"DRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc"
	"nOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
static const char rfc5702_key[] =
	"AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8Pk"
	"xUdp6p/DlUmObdk=";
static const char rfc6605_p256[] =
	"GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9x"
	"MWyQLc8NAA==";
static const char rfc6605_p384[] =
	"xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRS"
	"EkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40";
static const char rfc8080_1[] = "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=";
static const char rfc8080_2[] = "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=";

/* DNSKEY RDATA with flags and alg around the base64 public key. */
static void dnskey(uint16_t flags, uint8_t alg, const char *b64, sg_buf *out)
{
	sg_buf pub = SG_BUF_INIT;
	sg_buf_reset(out);
	assert_int_equal(sg_base64_decode(b64, strlen(b64), &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(flags, alg, pub.data, pub.len, out), SIGNET_OK);
	sg_buf_free(&pub);
}

static dns_name name(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
}

static uint16_t tag_of(uint16_t flags, uint8_t alg, const char *b64)
{
	sg_buf k = SG_BUF_INIT;
	uint16_t tag = 0;
	dnskey(flags, alg, b64, &k);
	assert_int_equal(dns_key_tag(k.data, k.len, &tag), SIGNET_OK);
	sg_buf_free(&k);
	return tag;
}

static void test_key_tags(void **state)
{
	(void)state;
	assert_int_equal(tag_of(256, 5, rfc4034_key), 60485);
	assert_int_equal(tag_of(256, 8, rfc5702_key), 9033);
	assert_int_equal(tag_of(257, 13, rfc6605_p256), 55648);
	assert_int_equal(tag_of(257, 14, rfc6605_p384), 10771);
	/* RFC 8080 §6.1 as corrected by erratum 4935. */
	assert_int_equal(tag_of(257, 15, rfc8080_1), 3613);
	assert_int_equal(tag_of(257, 15, rfc8080_2), 35217);

	uint8_t short_rd[3] = {1, 1, 3};
	uint16_t tag;
	assert_int_equal(dns_key_tag(short_rd, 3, &tag), SIGNET_EPARSE);
	assert_int_equal(dns_key_tag(NULL, 4, &tag), SIGNET_EINVAL);
}

static void assert_ds(const char *owner, uint16_t flags, uint8_t alg, const char *b64,
		      uint8_t dt, const char *want_hex)
{
	sg_buf k = SG_BUF_INIT, ds = SG_BUF_INIT, want = SG_BUF_INIT;
	dns_name o = name(owner);
	dnskey(flags, alg, b64, &k);
	assert_int_equal(dns_ds_rdata(&o, k.data, k.len, dt, &ds), SIGNET_OK);
	assert_int_equal(sg_hex_decode(want_hex, strlen(want_hex), &want), SIGNET_OK);
	assert_int_equal(ds.len, want.len);
	assert_memory_equal(ds.data, want.data, want.len);
	assert_int_equal(dns_rdata_check(DNS_T_DS, ds.data, ds.len), SIGNET_OK);
	sg_buf_free(&k);
	sg_buf_free(&ds);
	sg_buf_free(&want);
}

static void test_ds_rfc(void **state)
{
	(void)state;
	/* RFC 4509 §2.3, byte for byte; the owner's case does not matter. */
	assert_ds("dskey.example.com.", 256, 5, rfc4034_key, 2,
		  "ec45 05 02 d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da50a");
	assert_ds("DSKEY.Example.COM", 256, 5, rfc4034_key, 2,
		  "ec45 05 02 d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da50a");
	/* RFC 6605 §6.1 and §6.2 (SHA-256 and SHA-384). */
	assert_ds("example.net.", 257, 13, rfc6605_p256, 2,
		  "d960 0d 02 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17");
	assert_ds("example.net.", 257, 14, rfc6605_p384, 4,
		  "2a13 0e 04 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0"
		  "563a9b5f4d288405c3008a946df983d6");
	/* RFC 8080 §6.1. */
	assert_ds("example.com.", 257, 15, rfc8080_1, 2,
		  "0e1d 0f 02 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b");
	assert_ds("example.com.", 257, 15, rfc8080_2, 2,
		  "8991 0f 02 401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c");
}

/* Run cmd and return its first line of output (without newline) in out. */
static bool run_line(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return false;
	bool ok = fgets(out, (int)outlen, p) != NULL;
	int rc = pclose(p);
	if (!ok || rc != 0)
		return false;
	out[strcspn(out, "\r\n")] = '\0';
	return true;
}

static void test_ds_against_tools(void **state)
{
	(void)state;
	/* RFC 4034 §5.4 prints a SHA-1 DS; we make SHA-256 and SHA-384 DS
	 * for the same key and compare them with BIND's and ldns's tools, run
	 * now on the same DNSKEY, so the expected value is not ours. */
	char dir[64];
	assert_int_equal(test_tmpdir_make("signet-ds", dir, sizeof(dir)), 0);
	char path[256], cmd[1024], line[1024];
	snprintf(path, sizeof(path), "%s/Kdskey.example.com.+005+60485.key", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "dskey.example.com. 86400 IN DNSKEY 256 3 5 %s\n", rfc4034_key);
	fclose(f);

	sg_buf k = SG_BUF_INIT, ds = SG_BUF_INIT, hx = SG_BUF_INIT;
	dns_name o = name("dskey.example.com.");
	dnskey(256, 5, rfc4034_key, &k);

	static const uint8_t dts[] = {2, 4, 2};
	for (size_t i = 0; i < sizeof(dts); i++) {
		if (i == 0)
			snprintf(cmd, sizeof(cmd), "dnssec-dsfromkey -2 %s 2>/dev/null", path);
		else if (i == 1)
			snprintf(cmd, sizeof(cmd), "dnssec-dsfromkey -a SHA-384 %s 2>/dev/null",
				 path);
		else
			snprintf(cmd, sizeof(cmd), "ldns-key2ds -f -n -2 %s 2>/dev/null", path);
		if (!run_line(cmd, line, sizeof(line)))
			fail_msg("could not run: %s", cmd);
		sg_buf_reset(&ds);
		sg_buf_reset(&hx);
		assert_int_equal(dns_ds_rdata(&o, k.data, k.len, dts[i], &ds), SIGNET_OK);
		/* Tools print "60485 5 2 HEX"; compare the digest case-blind. */
		assert_int_equal(sg_hex_encode(ds.data + 4, ds.len - 4, &hx), SIGNET_OK);
		char want[32];
		snprintf(want, sizeof(want), "60485 5 %u ", dts[i]);
		char *at = strstr(line, want);
		if (at == NULL)
			fail_msg("no DS in tool output: %s", line);
		at += strlen(want);
		if (strncasecmp(at, (char *)hx.data, hx.len) != 0 || strlen(at) != hx.len)
			fail_msg("DS digest %.*s, tool says %s", (int)hx.len, (char *)hx.data, at);
	}
	assert_int_equal(test_tmpdir_remove(dir), 0);
	sg_buf_free(&k);
	sg_buf_free(&ds);
	sg_buf_free(&hx);
}

static void test_ds_errors(void **state)
{
	(void)state;
	sg_buf k = SG_BUF_INIT, ds = SG_BUF_INIT;
	dns_name o = name("example.com.");
	dnskey(257, 15, rfc8080_1, &k);
	assert_int_equal(dns_ds_rdata(&o, k.data, k.len, 1, &ds), SIGNET_EUNSUPPORTED);
	assert_int_equal(dns_ds_rdata(&o, k.data, k.len, 3, &ds), SIGNET_EUNSUPPORTED);
	assert_int_equal(dns_ds_rdata(&o, k.data, k.len - 1, 2, &ds), SIGNET_EPARSE);
	assert_int_equal(dns_ds_rdata(NULL, k.data, k.len, 2, &ds), SIGNET_EINVAL);
	assert_int_equal(ds.len, 0);
	/* Not a zone key (RFC 4034 §5.2). */
	dnskey(0, 15, rfc8080_1, &k);
	assert_int_equal(dns_ds_rdata(&o, k.data, k.len, 2, &ds), SIGNET_EINVAL);
	sg_buf_free(&k);
	sg_buf_free(&ds);
}

static void test_delete_forms(void **state)
{
	(void)state;
	sg_buf b = SG_BUF_INIT;
	static const uint8_t cds[] = {0, 0, 0, 0, 0};
	static const uint8_t cdnskey[] = {0, 0, 3, 0, 0};
	assert_int_equal(dns_cds_delete_rdata(&b), SIGNET_OK);
	assert_int_equal(b.len, sizeof(cds));
	assert_memory_equal(b.data, cds, sizeof(cds));
	assert_int_equal(dns_rdata_check(DNS_T_CDS, b.data, b.len), SIGNET_OK);
	sg_buf_reset(&b);
	assert_int_equal(dns_cdnskey_delete_rdata(&b), SIGNET_OK);
	assert_int_equal(b.len, sizeof(cdnskey));
	assert_memory_equal(b.data, cdnskey, sizeof(cdnskey));
	assert_int_equal(dns_rdata_check(DNS_T_CDNSKEY, b.data, b.len), SIGNET_OK);
	assert_int_equal(dns_cds_delete_rdata(NULL), SIGNET_EINVAL);
	assert_int_equal(dns_cdnskey_delete_rdata(NULL), SIGNET_EINVAL);
	sg_buf_free(&b);
}

/* RDATA -> EVP_PKEY -> public key field gives back the same octets. */
static void roundtrip_rdata(uint16_t flags, uint8_t alg, const char *b64)
{
	sg_buf k = SG_BUF_INIT, pub = SG_BUF_INIT, want = SG_BUF_INIT;
	EVP_PKEY *pk = NULL;
	dnskey(flags, alg, b64, &k);
	assert_int_equal(dns_dnskey_to_evp(k.data, k.len, &pk), SIGNET_OK);
	assert_int_equal(dns_dnskey_pubkey_from_evp(alg, pk, &pub), SIGNET_OK);
	assert_int_equal(sg_base64_decode(b64, strlen(b64), &want), SIGNET_OK);
	assert_int_equal(pub.len, want.len);
	assert_memory_equal(pub.data, want.data, want.len);
	EVP_PKEY_free(pk);
	sg_buf_free(&k);
	sg_buf_free(&pub);
	sg_buf_free(&want);
}

static void test_evp_roundtrip(void **state)
{
	(void)state;
	roundtrip_rdata(256, 8, rfc5702_key);
	roundtrip_rdata(257, 13, rfc6605_p256);
	roundtrip_rdata(257, 14, rfc6605_p384);
	roundtrip_rdata(257, 15, rfc8080_1);

	static const uint8_t algs[] = {8, 13, 14, 15};
	static const size_t sizes[] = {0, 64, 96, 32};
	for (size_t i = 0; i < 4; i++) {
		EVP_PKEY *pk = dt_generate(algs[i]), *back = NULL;
		sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
		assert_non_null(pk);
		assert_int_equal(dns_dnskey_pubkey_from_evp(algs[i], pk, &pub), SIGNET_OK);
		if (sizes[i] != 0)
			assert_int_equal(pub.len, sizes[i]);
		else   /* e = 65537: 03 01 00 01, then 256 octets of modulus */
			assert_int_equal(pub.len, 4 + 256);
		assert_int_equal(dns_dnskey_rdata(257, algs[i], pub.data, pub.len, &rd), SIGNET_OK);
		assert_int_equal(dns_rdata_check(DNS_T_DNSKEY, rd.data, rd.len), SIGNET_OK);
		assert_int_equal(dns_dnskey_to_evp(rd.data, rd.len, &back), SIGNET_OK);
		assert_int_equal(EVP_PKEY_eq(pk, back), 1);

		/* ldns computes the same key tag and DS from the same RDATA. */
		uint16_t tag;
		assert_int_equal(dns_key_tag(rd.data, rd.len, &tag), SIGNET_OK);
		ldns_rr *rr = ldns_rr_new();
		ldns_rr_set_type(rr, LDNS_RR_TYPE_DNSKEY);
		ldns_rr_set_owner(rr, ldns_dname_new_frm_str("Zone.Example."));
		ldns_rr_set_ttl(rr, 3600);
		/* ldns_wire2rdf reads RDLENGTH first. */
		sg_buf wire = SG_BUF_INIT;
		assert_int_equal(sg_buf_put_u16(&wire, (uint16_t)rd.len), SIGNET_OK);
		assert_int_equal(sg_buf_append(&wire, rd.data, rd.len), SIGNET_OK);
		size_t pos = 0;
		assert_int_equal(ldns_wire2rdf(rr, wire.data, wire.len, &pos), LDNS_STATUS_OK);
		sg_buf_free(&wire);
		assert_int_equal(ldns_calc_keytag(rr), tag);
		ldns_rr *lds = ldns_key_rr2ds(rr, LDNS_SHA256);
		assert_non_null(lds);
		ldns_buffer *lb = ldns_buffer_new(128);
		assert_int_equal(ldns_rr_rdata2buffer_wire(lb, lds), LDNS_STATUS_OK);
		sg_buf ds = SG_BUF_INIT;
		dns_name zone = name("Zone.Example.");
		assert_int_equal(dns_ds_rdata(&zone, rd.data, rd.len, 2, &ds), SIGNET_OK);
		assert_int_equal(ds.len, ldns_buffer_position(lb));
		assert_memory_equal(ds.data, ldns_buffer_begin(lb), ds.len);
		ldns_buffer_free(lb);
		ldns_rr_free(lds);
		ldns_rr_free(rr);
		sg_buf_free(&ds);

		/* The key does not fit the other algorithms. */
		for (size_t j = 0; j < 4; j++) {
			sg_buf x = SG_BUF_INIT;
			if (j == i)
				continue;
			assert_int_equal(dns_dnskey_pubkey_from_evp(algs[j], pk, &x),
					 SIGNET_EUNSUPPORTED);
			assert_int_equal(x.len, 0);
		}
		sg_buf_reset(&pub);
		assert_int_equal(dns_dnskey_pubkey_from_evp(5, pk, &pub), SIGNET_EUNSUPPORTED);
		EVP_PKEY_free(pk);
		EVP_PKEY_free(back);
		sg_buf_free(&pub);
		sg_buf_free(&rd);
	}
}

/* An RSA public key from n and e (OpenSSL does not check e < n here). */
static EVP_PKEY *rsa_from(BIGNUM *n, BIGNUM *e)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static void test_rsa_long_exponent(void **state)
{
	(void)state;
	/* RFC 3110 §2: an exponent over 255 octets takes a zero octet and a
	 * two-octet length. A 2064-bit exponent is 258 octets. */
	BIGNUM *n = BN_new(), *e = BN_new(), *n2 = NULL, *e2 = NULL;
	assert_int_equal(BN_rand(n, 4096, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD), 1);
	assert_int_equal(BN_rand(e, 2064, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD), 1);
	EVP_PKEY *pk = rsa_from(n, e), *back = NULL;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(8, pk, &pub), SIGNET_OK);
	assert_int_equal(pub.len, 3 + 258 + 512);
	assert_int_equal(pub.data[0], 0);
	assert_int_equal(sg_get_u16(pub.data + 1), 258);
	uint8_t ebytes[258];
	assert_int_equal(BN_bn2bin(e, ebytes), 258);
	assert_memory_equal(pub.data + 3, ebytes, 258);
	assert_int_equal(dns_dnskey_rdata(256, 8, pub.data, pub.len, &rd), SIGNET_OK);
	assert_int_equal(dns_dnskey_to_evp(rd.data, rd.len, &back), SIGNET_OK);
	assert_int_equal(EVP_PKEY_get_bn_param(back, OSSL_PKEY_PARAM_RSA_N, &n2), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(back, OSSL_PKEY_PARAM_RSA_E, &e2), 1);
	assert_int_equal(BN_cmp(n, n2), 0);
	assert_int_equal(BN_cmp(e, e2), 0);

	/* A modulus over 4096 bits does not fit DNS_SIG_MAX. */
	assert_int_equal(BN_rand(n, 4104, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD), 1);
	BN_set_word(e, 65537);
	EVP_PKEY *huge = rsa_from(n, e);
	sg_buf_reset(&pub);
	assert_int_equal(dns_dnskey_pubkey_from_evp(8, huge, &pub), SIGNET_EUNSUPPORTED);

	EVP_PKEY_free(huge);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(back);
	BN_free(n);
	BN_free(e);
	BN_free(n2);
	BN_free(e2);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
}

static void assert_to_evp(const char *rdata_hex, signet_err want)
{
	sg_buf rd = SG_BUF_INIT;
	EVP_PKEY *pk = (EVP_PKEY *)1;
	assert_int_equal(sg_hex_decode(rdata_hex, strlen(rdata_hex), &rd), SIGNET_OK);
	signet_err got = dns_dnskey_to_evp(rd.data, rd.len, &pk);
	if (got != want)
		fail_msg("%s: %s, want %s", rdata_hex, signet_errname(got), signet_errname(want));
	if (want != SIGNET_OK)
		assert_null(pk);
	EVP_PKEY_free(pk);
	sg_buf_free(&rd);
}

static void test_to_evp_errors(void **state)
{
	(void)state;
	/* P-256 with a point that is not on the curve: x = 1, y = 1. */
	assert_to_evp("0101 03 0d "
		      "0000000000000000000000000000000000000000000000000000000000000001"
		      "0000000000000000000000000000000000000000000000000000000000000001",
		      SIGNET_EPARSE);
	assert_to_evp("0101 03 0d 0011", SIGNET_EPARSE);
	assert_to_evp("0101 03 0e 0011", SIGNET_EPARSE);
	assert_to_evp("0101 03 0f 0011", SIGNET_EPARSE);
	assert_to_evp("0101 02 0f "
		      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		      SIGNET_EPARSE);
	assert_to_evp("0101 03 05 03 010001 c1", SIGNET_EUNSUPPORTED);
	assert_to_evp("0101 03", SIGNET_EPARSE);
	/* RSA: leading zeros, lengths past the end, too small a modulus. */
	assert_to_evp("0101 03 08 03 000001 c15c1ac6", SIGNET_EPARSE);
	assert_to_evp("0101 03 08 03 010001 00c15c1a", SIGNET_EPARSE);
	assert_to_evp("0101 03 08 09 010001", SIGNET_EPARSE);
	assert_to_evp("0101 03 08 00 0003 0100", SIGNET_EPARSE);
	assert_to_evp("0101 03 08 00 00", SIGNET_EPARSE);
	assert_to_evp("0101 03 08 00 0000 c15c1ac6", SIGNET_EPARSE);
	assert_to_evp("0101 03 08 00", SIGNET_EPARSE);
	assert_to_evp("0101 03 08 03 010001 c15c1ac6b1c5d822", SIGNET_EUNSUPPORTED);

	EVP_PKEY *pk;
	assert_int_equal(dns_dnskey_to_evp(NULL, 4, &pk), SIGNET_EINVAL);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(8, NULL, &b), SIGNET_EINVAL);
	assert_int_equal(dns_dnskey_rdata(257, 8, NULL, 3, &b), SIGNET_EINVAL);
	uint8_t one = 1;
	assert_int_equal(dns_dnskey_rdata(257, 8, &one, DNS_RDATA_MAX, &b), SIGNET_ERANGE);
	assert_int_equal(b.len, 0);
}

static void test_alg_supported(void **state)
{
	(void)state;
	int n = 0;
	for (int a = 0; a < 256; a++)
		n += dns_alg_supported((uint8_t)a);
	assert_int_equal(n, 4);
	assert_true(dns_alg_supported(8));
	assert_true(dns_alg_supported(13));
	assert_true(dns_alg_supported(14));
	assert_true(dns_alg_supported(15));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_tags),
		cmocka_unit_test(test_ds_rfc),
		cmocka_unit_test(test_ds_against_tools),
		cmocka_unit_test(test_ds_errors),
		cmocka_unit_test(test_delete_forms),
		cmocka_unit_test(test_evp_roundtrip),
		cmocka_unit_test(test_rsa_long_exponent),
		cmocka_unit_test(test_to_evp_errors),
		cmocka_unit_test(test_alg_supported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
