/* test_rrsig.c -- RRSIG fields, signed data, serial arithmetic, RFC vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <openssl/pem.h>

#include "dnssec/dnssec.h"

static dns_name name(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
}

static void b64(const char *s, sg_buf *out)
{
	sg_buf_reset(out);
	assert_int_equal(sg_base64_decode(s, strlen(s), out), SIGNET_OK);
}

/* One RFC example: the key, one RR, the RRSIG fields and signature. */
struct vector {
	const char *file;       /* stem under tests/data/dnssec */
	const char *owner;
	uint16_t type;
	const char *rdata_hex;
	uint16_t flags;
	uint8_t alg;
	const char *key;        /* base64 public key */
	uint8_t labels;
	uint32_t inception, expiration;
	uint16_t tag;
	const char *signer;
	const char *sig;        /* base64 */
};

static const struct vector vectors[] = {
	/* RFC 5702 §6.1: 2000-01-01 to 2030-01-01. */
	{"rfc5702_rsa", "www.example.net.", DNS_T_A, "c000025b", 256, 8,
	 "AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8Pk"
	 "xUdp6p/DlUmObdk=", 3, 946684800, 1893456000, 9033, "example.net.",
	 "kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/lPt"
	 "PiVYP4bwg=="},
	/* RFC 6605 §6.1: 20100812100439 to 20100909100439. */
	{"rfc6605_p256", "www.example.net.", DNS_T_A, "c0000201", 257, 13,
	 "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9x"
	 "MWyQLc8NAA==", 3, 1281607479, 1284026679, 55648, "example.net.",
	 "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7Zwm"
	 "wWep666VCw=="},
	/* RFC 6605 §6.2: 20100812102025 to 20100909102025. */
	{"rfc6605_p384", "www.example.net.", DNS_T_A, "c0000201", 257, 14,
	 "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRS"
	 "EkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40", 3, 1281608425,
	 1284027625, 10771, "example.net.",
	 "/L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbav"
	 "RKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm"},
	/* RFC 8080 §6.1 with erratum 4935: MX 10 mail.example.com. */
	{"rfc8080_ed25519_1", "example.com.", DNS_T_MX,
	 "000a 046d61696c 076578616d706c65 03636f6d 00", 257, 15,
	 "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=", 2, 1438207200, 1440021600,
	 3613, "example.com.",
	 "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9Vrbp"
	 "MngwcrqNAg=="},
	{"rfc8080_ed25519_2", "example.com.", DNS_T_MX,
	 "000a 046d61696c 076578616d706c65 03636f6d 00", 257, 15,
	 "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=", 2, 1438207200, 1440021600,
	 35217, "example.com.",
	 "zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7"
	 "KuI5k2pcBg=="},
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static void vector_parts(const struct vector *v, dns_rrset *set, sg_buf *key,
			 dns_rrsig *sig)
{
	sg_buf rd = SG_BUF_INIT, pub = SG_BUF_INIT;
	dns_name owner = name(v->owner), signer = name(v->signer);
	dns_rrset_init(set, &owner, v->type, DNS_CLASS_IN, 3600);
	assert_int_equal(sg_hex_decode(v->rdata_hex, strlen(v->rdata_hex), &rd), SIGNET_OK);
	assert_int_equal(dns_rrset_add(set, rd.data, rd.len), SIGNET_OK);
	b64(v->key, &pub);
	sg_buf_reset(key);
	assert_int_equal(dns_dnskey_rdata(v->flags, v->alg, pub.data, pub.len, key), SIGNET_OK);
	assert_int_equal(dns_rrsig_prepare(sig, set, v->alg, v->tag, &signer, v->inception,
					   v->expiration), SIGNET_OK);
	assert_int_equal(sig->labels, v->labels);
	b64(v->sig, &pub);
	assert_true(pub.len <= DNS_SIG_MAX);
	memcpy(sig->sig, pub.data, pub.len);
	sig->sig_len = (uint16_t)pub.len;
	sg_buf_free(&rd);
	sg_buf_free(&pub);
}

static void test_rfc_vectors_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];
		dns_rrset set;
		dns_rrsig sig;
		sg_buf key = SG_BUF_INIT;
		vector_parts(v, &set, &key, &sig);
		uint16_t tag;
		assert_int_equal(dns_key_tag(key.data, key.len, &tag), SIGNET_OK);
		assert_int_equal(tag, v->tag);
		dns_name zone = name(v->signer);
		signet_err err = dns_rrsig_verify(&sig, &set, key.data, key.len, &zone, 0);
		if (err != SIGNET_OK)
			fail_msg("%s: %s", v->file, signet_errname(err));
		/* Inside the window and just outside it. */
		assert_int_equal(dns_rrsig_verify(&sig, &set, key.data, key.len, &zone,
						  v->inception + 1), SIGNET_OK);
		assert_int_equal(dns_rrsig_verify(&sig, &set, key.data, key.len, &zone,
						  v->expiration + 1), SIGNET_ETIME);
		/* One bit of the signature changed. */
		sig.sig[sig.sig_len / 2] ^= 0x01;
		assert_int_equal(dns_rrsig_verify(&sig, &set, key.data, key.len, &zone, 0),
				 SIGNET_EVERIFY);
		dns_rrset_clear(&set);
		sg_buf_free(&key);
	}
}

/* The signed data ldns builds for the same RRSIG and RRset. */
static void ldns_signed_data(const dns_rrsig *sig, const dns_rrset *set, sg_buf *out)
{
	sg_buf rd = SG_BUF_INIT, wire = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_to_rdata(sig, &rd), SIGNET_OK);
	/* An RRSIG RR: owner, type, class, TTL, RDLENGTH, RDATA. */
	assert_int_equal(sg_buf_append(&wire, set->owner.wire, set->owner.len), SIGNET_OK);
	assert_int_equal(sg_buf_put_u16(&wire, DNS_T_RRSIG), SIGNET_OK);
	assert_int_equal(sg_buf_put_u16(&wire, DNS_CLASS_IN), SIGNET_OK);
	assert_int_equal(sg_buf_put_u32(&wire, set->ttl), SIGNET_OK);
	assert_int_equal(sg_buf_put_u16(&wire, (uint16_t)rd.len), SIGNET_OK);
	assert_int_equal(sg_buf_append(&wire, rd.data, rd.len), SIGNET_OK);
	ldns_rr *rrsig = NULL;
	size_t pos = 0;
	assert_int_equal(ldns_wire2rr(&rrsig, wire.data, wire.len, &pos, LDNS_SECTION_ANSWER),
			 LDNS_STATUS_OK);

	ldns_rr_list *list = ldns_rr_list_new();
	for (size_t i = 0; i < set->count; i++) {
		sg_buf_reset(&wire);
		assert_int_equal(sg_buf_append(&wire, set->owner.wire, set->owner.len), SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(&wire, set->type), SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(&wire, set->rclass), SIGNET_OK);
		assert_int_equal(sg_buf_put_u32(&wire, 1), SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(&wire, set->rr[i].len), SIGNET_OK);
		assert_int_equal(sg_buf_append(&wire, set->rr[i].data, set->rr[i].len), SIGNET_OK);
		ldns_rr *rr = NULL;
		pos = 0;
		assert_int_equal(ldns_wire2rr(&rr, wire.data, wire.len, &pos, LDNS_SECTION_ANSWER),
				 LDNS_STATUS_OK);
		/* What ldns's verifier does before hashing (ldns_prepare_for_verify). */
		ldns_rr_set_ttl(rr, sig->original_ttl);
		ldns_rr2canonical(rr);
		/* ldns leaves duplicate removal (RFC 4034 §6.3) to the caller. */
		if (ldns_rr_list_contains_rr(list, rr))
			ldns_rr_free(rr);
		else
			ldns_rr_list_push_rr(list, rr);
	}
	ldns_rr_list_sort(list);
	ldns_buffer *lb = ldns_buffer_new(4096);
	assert_int_equal(ldns_rrsig2buffer_wire(lb, rrsig), LDNS_STATUS_OK);
	assert_int_equal(ldns_rr_list2buffer_wire(lb, list), LDNS_STATUS_OK);
	sg_buf_reset(out);
	assert_int_equal(sg_buf_append(out, ldns_buffer_begin(lb), ldns_buffer_position(lb)),
			 SIGNET_OK);
	ldns_buffer_free(lb);
	ldns_rr_list_deep_free(list);
	ldns_rr_free(rrsig);
	sg_buf_free(&rd);
	sg_buf_free(&wire);
}

static void test_signed_data(void **state)
{
	(void)state;
	/* RFC 6605 §6.1 signed data, written out field by field. */
	dns_rrset set;
	dns_rrsig sig;
	sg_buf key = SG_BUF_INIT, data = SG_BUF_INIT, want = SG_BUF_INIT;
	vector_parts(&vectors[1], &set, &key, &sig);
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &data), SIGNET_OK);
	static const char h[] =
		"0001 0d 03 00000e10 4c88b137 4c63c737 d960 076578616d706c65 036e6574 00"
		"03777777 076578616d706c65 036e6574 00 0001 0001 00000e10 0004 c0000201";
	assert_int_equal(sg_hex_decode(h, strlen(h), &want), SIGNET_OK);
	assert_int_equal(data.len, want.len);
	assert_memory_equal(data.data, want.data, want.len);
	dns_rrset_clear(&set);

	/* An upper-case owner and RDATA names, duplicates, another TTL and
	 * order: the same as ldns computes for it. */
	dns_name owner = name("Mail.EXAMPLE.org.");
	dns_rrset_init(&set, &owner, DNS_T_MX, DNS_CLASS_IN, 7200);
	static const char *mx[] = {"0014 03 4d5832 07 4578616d706c65 03 4f5247 00",
				   "000a 03 6d7831 07 6578616d706c65 03 6f7267 00",
				   "000a 03 4d5831 07 6578616d706c65 03 6f7267 00",
				   "0005 01 61 07 6578616d706c65 03 6f7267 00"};
	for (size_t i = 0; i < 4; i++) {
		sg_buf_reset(&want);
		assert_int_equal(sg_hex_decode(mx[i], strlen(mx[i]), &want), SIGNET_OK);
		assert_int_equal(dns_rrset_add(&set, want.data, want.len), SIGNET_OK);
	}
	dns_name signer = name("EXAMPLE.org.");
	assert_int_equal(dns_rrsig_prepare(&sig, &set, 13, 4242, &signer, 1000, 2000),
			 SIGNET_OK);
	/* The signer is lower-cased in what we emit. */
	assert_int_equal(sig.signer.wire[1], 'e');
	sig.sig_len = 64;
	memset(sig.sig, 0xAB, 64);
	sg_buf_reset(&data);
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &data), SIGNET_OK);
	ldns_signed_data(&sig, &set, &want);
	assert_int_equal(data.len, want.len);
	assert_memory_equal(data.data, want.data, want.len);
	/* The caller's set is not changed. */
	assert_int_equal(set.count, 4);
	assert_int_equal(set.owner.wire[1], 'M');
	dns_rrset_clear(&set);

	/* A type that does not match and labels above the owner's count. */
	dns_rrset_init(&set, &owner, DNS_T_A, DNS_CLASS_IN, 7200);
	assert_int_equal(dns_rrset_add(&set, (const uint8_t *)"\x01\x02\x03\x04", 4), SIGNET_OK);
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &data), SIGNET_EINVAL);
	sig.type_covered = DNS_T_A;
	sig.labels = 4;
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &data), SIGNET_EINVAL);
	/* A malformed RR is refused with nothing appended. */
	sig.labels = 3;
	set.rr[0].len = 3;
	size_t before = data.len;
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &data), SIGNET_EPARSE);
	assert_int_equal(data.len, before);
	set.rr[0].len = 4;

	dns_rrset_clear(&set);
	sg_buf_free(&key);
	sg_buf_free(&data);
	sg_buf_free(&want);
}

static void test_wildcard(void **state)
{
	(void)state;
	dns_rrset set;
	dns_rrsig sig;
	sg_buf d1 = SG_BUF_INIT, d2 = SG_BUF_INIT, want = SG_BUF_INIT;
	dns_name zone = name("example.");
	uint8_t a[4] = {192, 0, 2, 1};

	/* The RRset at the wildcard itself: Labels does not count "*". */
	dns_name wild = name("*.W.Example.");
	dns_rrset_init(&set, &wild, DNS_T_A, DNS_CLASS_IN, 60);
	assert_int_equal(dns_rrset_add(&set, a, 4), SIGNET_OK);
	assert_int_equal(dns_rrsig_prepare(&sig, &set, 15, 1, &zone, 10, 20), SIGNET_OK);
	assert_int_equal(sig.labels, 2);
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &d1), SIGNET_OK);
	dns_rrset_clear(&set);

	/* An answer expanded from it has more labels: its signed data uses
	 * "*.w.example." again (RFC 4035 §5.3.2), so the two are equal. */
	dns_name expanded = name("a.b.w.example.");
	dns_rrset_init(&set, &expanded, DNS_T_A, DNS_CLASS_IN, 60);
	assert_int_equal(dns_rrset_add(&set, a, 4), SIGNET_OK);
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &d2), SIGNET_OK);
	assert_int_equal(d1.len, d2.len);
	assert_memory_equal(d1.data, d2.data, d1.len);
	static const char h[] = "0001 0f 02 0000003c 00000014 0000000a 0001 076578616d706c65 00"
				"012a 0177 076578616d706c65 00 0001 0001 0000003c 0004 c0000201";
	assert_int_equal(sg_hex_decode(h, strlen(h), &want), SIGNET_OK);
	assert_int_equal(d1.len, want.len);
	assert_memory_equal(d1.data, want.data, want.len);

	dns_rrset_clear(&set);
	sg_buf_free(&d1);
	sg_buf_free(&d2);
	sg_buf_free(&want);
}

static void test_prepare_errors(void **state)
{
	(void)state;
	dns_rrset set;
	dns_rrsig sig;
	dns_name owner = name("www.example.");
	dns_name zone = name("example."), other = name("example.net.");
	dns_rrset_init(&set, &owner, DNS_T_A, DNS_CLASS_IN, 60);
	assert_int_equal(dns_rrsig_prepare(&sig, &set, 13, 1, &zone, 20, 20), SIGNET_ETIME);
	assert_int_equal(dns_rrsig_prepare(&sig, &set, 13, 1, &zone, 20, 10), SIGNET_ETIME);
	/* Half the serial circle apart is undefined. */
	assert_int_equal(dns_rrsig_prepare(&sig, &set, 13, 1, &zone, 0, 0x80000000u),
			 SIGNET_ETIME);
	/* A window across the 2^32 wrap is fine (RFC 4034 §3.1.5). */
	assert_int_equal(dns_rrsig_prepare(&sig, &set, 13, 1, &zone, 0xFFFFFF00u, 0x100),
			 SIGNET_OK);
	assert_int_equal(dns_rrsig_prepare(&sig, &set, 13, 1, &other, 10, 20), SIGNET_EINVAL);
	assert_int_equal(dns_rrsig_prepare(NULL, &set, 13, 1, &zone, 10, 20), SIGNET_EINVAL);
}

static void test_rdata_roundtrip(void **state)
{
	(void)state;
	dns_rrset set;
	dns_rrsig sig, back;
	sg_buf key = SG_BUF_INIT, rd = SG_BUF_INIT, rd2 = SG_BUF_INIT;
	vector_parts(&vectors[2], &set, &key, &sig);
	assert_int_equal(dns_rrsig_to_rdata(&sig, &rd), SIGNET_OK);
	assert_int_equal(dns_rdata_check(DNS_T_RRSIG, rd.data, rd.len), SIGNET_OK);
	assert_int_equal(dns_rrsig_from_rdata(&back, rd.data, rd.len), SIGNET_OK);
	assert_int_equal(back.type_covered, DNS_T_A);
	assert_int_equal(back.algorithm, 14);
	assert_int_equal(back.labels, 3);
	assert_int_equal(back.original_ttl, 3600);
	assert_int_equal(back.inception, 1281608425);
	assert_int_equal(back.expiration, 1284027625);
	assert_int_equal(back.key_tag, 10771);
	assert_int_equal(back.sig_len, 96);
	assert_memory_equal(back.sig, sig.sig, 96);
	assert_int_equal(dns_rrsig_to_rdata(&back, &rd2), SIGNET_OK);
	assert_int_equal(rd.len, rd2.len);
	assert_memory_equal(rd.data, rd2.data, rd.len);

	/* Truncated, compressed signer, oversize signature, no signature. */
	assert_int_equal(dns_rrsig_from_rdata(&back, rd.data, 17), SIGNET_EPARSE);
	assert_int_equal(dns_rrsig_from_rdata(&back, rd.data, 18 + 13), SIGNET_EPARSE);
	rd.data[18] = 0xC0;
	assert_int_equal(dns_rrsig_from_rdata(&back, rd.data, rd.len), SIGNET_EPARSE);
	sg_buf_reset(&rd2);
	assert_int_equal(sg_buf_append(&rd2, rd.data, 18), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&rd2, 0), SIGNET_OK);
	for (int i = 0; i < DNS_SIG_MAX + 1; i++)
		assert_int_equal(sg_buf_put_u8(&rd2, 0x5A), SIGNET_OK);
	assert_int_equal(dns_rrsig_from_rdata(&back, rd2.data, rd2.len), SIGNET_ERANGE);
	sig.sig_len = 0;
	assert_int_equal(dns_rrsig_to_rdata(&sig, &rd2), SIGNET_EINVAL);

	dns_rrset_clear(&set);
	sg_buf_free(&key);
	sg_buf_free(&rd);
	sg_buf_free(&rd2);
}

static void test_serial(void **state)
{
	(void)state;
	assert_int_equal(dns_serial_compare(1, 1), 0);
	assert_int_equal(dns_serial_compare(1, 2), -1);
	assert_int_equal(dns_serial_compare(2, 1), 1);
	assert_int_equal(dns_serial_compare(0xFFFFFFFFu, 0), -1);
	assert_int_equal(dns_serial_compare(0, 0xFFFFFFFFu), 1);
	assert_int_equal(dns_serial_compare(0, 0x7FFFFFFFu), -1);
	assert_int_equal(dns_serial_compare(0, 0x80000000u), 2);
	assert_int_equal(dns_serial_compare(0x80000000u, 0), 2);
	assert_int_equal(dns_serial_compare(0, 0x80000001u), 1);
	assert_int_equal(dns_serial_compare(0xF0000000u, 0x10000000u), -1);
}

/* Read a whole data file into a NUL-terminated buffer. */
static char *read_data(const char *file)
{
	const char *dir = getenv("SIGNET_TEST_DATA");
	char path[512];
	sg_buf b = SG_BUF_INIT;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/dnssec/%s", dir, file);
	if (sg_file_read(path, 1 << 16, &b) != SIGNET_OK)
		fail_msg("cannot read %s", path);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	return (char *)b.data;
}

static void test_data_files(void **state)
{
	(void)state;
	char file[128];
	for (size_t i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];
		snprintf(file, sizeof(file), "%s.key", v->file);
		char *t = read_data(file);
		assert_non_null(strstr(t, v->key));
		free(t);
		snprintf(file, sizeof(file), "%s.rrsig", v->file);
		t = read_data(file);
		assert_non_null(strstr(t, v->sig));
		free(t);

		/* RSA PKCS#1 v1.5 and Ed25519 are deterministic: the private
		 * key of the .pem file re-signs to the RFC's signature. */
		if (v->alg != 8 && v->alg != 15)
			continue;
		snprintf(file, sizeof(file), "%s.pem", v->file);
		t = read_data(file);
		BIO *bio = BIO_new_mem_buf(t, -1);
		EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		assert_non_null(pk);
		dns_rrset set;
		dns_rrsig sig;
		sg_buf key = SG_BUF_INIT, data = SG_BUF_INIT, want = SG_BUF_INIT;
		vector_parts(v, &set, &key, &sig);
		assert_int_equal(dns_rrsig_signed_data(&sig, &set, &data), SIGNET_OK);
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		uint8_t out[DNS_SIG_MAX];
		size_t olen = sizeof(out);
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, v->alg == 8 ? EVP_sha256() : NULL,
						    NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(ctx, out, &olen, data.data, data.len), 1);
		b64(v->sig, &want);
		assert_int_equal(olen, want.len);
		assert_memory_equal(out, want.data, olen);
		EVP_MD_CTX_free(ctx);
		EVP_PKEY_free(pk);
		BIO_free(bio);
		free(t);
		dns_rrset_clear(&set);
		sg_buf_free(&key);
		sg_buf_free(&data);
		sg_buf_free(&want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_vectors_verify),
		cmocka_unit_test(test_signed_data),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_prepare_errors),
		cmocka_unit_test(test_rdata_roundtrip),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_data_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
