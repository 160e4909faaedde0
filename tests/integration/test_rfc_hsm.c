/* test_rfc_hsm.c -- the RFC 5702 §6.1 (RSA/SHA-256) and RFC 8080 §6 (Ed25519)
 * example keys imported into a real SoftHSM2 token reproduce the RFCs'
 * signatures byte for byte through dnssec/ (signed data) and hsm/ (mechanism,
 * encoding); both schemes are deterministic, so any difference is a bug. Also:
 * imported keys are refused until the operator allows them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <p11-kit/pkcs11.h>

#include "dnssec/dnssec.h"
#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

static void data_path(char *out, size_t len, const char *stem, const char *ext)
{
	const char *d = getenv("SIGNET_TEST_DATA");
	snprintf(out, len, "%s/dnssec/%s.%s", d ? d : "tests/data", stem, ext);
}

/* The first RR of a one-line file. */
static void read_rr(const char *stem, const char *ext, dns_name *owner, uint16_t *type,
		    uint32_t *ttl, sg_buf *rdata)
{
	char path[512];
	data_path(path, sizeof(path), stem, ext);
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 16, &text), SIGNET_OK);
	char *nl = strchr((char *)text.data, '\n');
	if (nl)
		*nl = 0;
	uint16_t rclass;
	assert_int_equal(dns_rr_from_text((char *)text.data, NULL, owner, type, &rclass, ttl,
					  rdata), SIGNET_OK);
	sg_buf_free(&text);
}

static EVP_PKEY *read_pem(const char *stem)
{
	char path[512];
	data_path(path, sizeof(path), stem, "pem");
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	EVP_PKEY *pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(pk);
	return pk;
}

/* A big-number parameter of pk as big-endian octets in out. */
static void bn_param(EVP_PKEY *pk, const char *name, sg_buf *out)
{
	BIGNUM *bn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	int n = BN_num_bytes(bn);
	assert_int_equal(sg_buf_reserve(out, (size_t)n), SIGNET_OK);
	BN_bn2bin(bn, out->data);
	out->len = (size_t)n;
	BN_free(bn);
}

/* Import pk as a sensitive, non-extractable token key with this CKA_ID. The
 * public object is made too, so hsm_key_find sees a whole pair. */
static void import_key(softhsm_fixture *f, EVP_PKEY *pk, const uint8_t *id, size_t id_len)
{
	CK_FUNCTION_LIST *p = (CK_FUNCTION_LIST *)f->p11;
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	CK_SESSION_HANDLE h;
	assert_int_equal(p->C_OpenSession(d.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
					  NULL, &h), CKR_OK);
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
	CK_OBJECT_HANDLE obj;
	if (EVP_PKEY_is_a(pk, "RSA")) {
		CK_KEY_TYPE kt = CKK_RSA;
		static const char *names[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
					      OSSL_PKEY_PARAM_RSA_D,
					      OSSL_PKEY_PARAM_RSA_FACTOR1,
					      OSSL_PKEY_PARAM_RSA_FACTOR2,
					      OSSL_PKEY_PARAM_RSA_EXPONENT1,
					      OSSL_PKEY_PARAM_RSA_EXPONENT2,
					      OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
		static const CK_ATTRIBUTE_TYPE types[] = {CKA_MODULUS, CKA_PUBLIC_EXPONENT,
							  CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
							  CKA_PRIME_2, CKA_EXPONENT_1,
							  CKA_EXPONENT_2, CKA_COEFFICIENT};
		sg_buf parts[8];
		CK_ATTRIBUTE priv[16];
		CK_ULONG k = 0;
		priv[k++] = (CK_ATTRIBUTE){CKA_CLASS, &priv_class, sizeof(priv_class)};
		priv[k++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt, sizeof(kt)};
		priv[k++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
		priv[k++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
		priv[k++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
		priv[k++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof(no)};
		priv[k++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
		priv[k++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, id_len};
		for (size_t i = 0; i < 8; i++) {
			parts[i] = (sg_buf)SG_BUF_INIT;
			bn_param(pk, names[i], &parts[i]);
			priv[k++] = (CK_ATTRIBUTE){types[i], parts[i].data, parts[i].len};
		}
		assert_int_equal(p->C_CreateObject(h, priv, k, &obj), CKR_OK);
		CK_ATTRIBUTE pub[] = {
			{CKA_CLASS, &pub_class, sizeof(pub_class)},
			{CKA_KEY_TYPE, &kt, sizeof(kt)},
			{CKA_TOKEN, &yes, sizeof(yes)},
			{CKA_VERIFY, &yes, sizeof(yes)},
			{CKA_ID, (void *)id, id_len},
			{CKA_MODULUS, parts[0].data, parts[0].len},
			{CKA_PUBLIC_EXPONENT, parts[1].data, parts[1].len},
		};
		assert_int_equal(p->C_CreateObject(h, pub, 7, &obj), CKR_OK);
		for (size_t i = 0; i < 8; i++)
			sg_buf_free_secure(&parts[i]);
	} else {
		CK_KEY_TYPE kt = CKK_EC_EDWARDS;
		static const CK_BYTE oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
		uint8_t seed[32], point[34];
		size_t len = sizeof(seed);
		assert_int_equal(EVP_PKEY_get_raw_private_key(pk, seed, &len), 1);
		assert_int_equal(len, 32);
		len = 32;
		assert_int_equal(EVP_PKEY_get_raw_public_key(pk, point + 2, &len), 1);
		point[0] = 0x04; /* DER OCTET STRING of the 32-octet public key */
		point[1] = 32;
		CK_ATTRIBUTE priv[] = {
			{CKA_CLASS, &priv_class, sizeof(priv_class)},
			{CKA_KEY_TYPE, &kt, sizeof(kt)},
			{CKA_TOKEN, &yes, sizeof(yes)},
			{CKA_PRIVATE, &yes, sizeof(yes)},
			{CKA_SENSITIVE, &yes, sizeof(yes)},
			{CKA_EXTRACTABLE, &no, sizeof(no)},
			{CKA_SIGN, &yes, sizeof(yes)},
			{CKA_ID, (void *)id, id_len},
			{CKA_EC_PARAMS, (void *)oid, sizeof(oid)},
			{CKA_VALUE, seed, sizeof(seed)},
		};
		assert_int_equal(p->C_CreateObject(h, priv, 10, &obj), CKR_OK);
		CK_ATTRIBUTE pub[] = {
			{CKA_CLASS, &pub_class, sizeof(pub_class)},
			{CKA_KEY_TYPE, &kt, sizeof(kt)},
			{CKA_TOKEN, &yes, sizeof(yes)},
			{CKA_VERIFY, &yes, sizeof(yes)},
			{CKA_ID, (void *)id, id_len},
			{CKA_EC_PARAMS, (void *)oid, sizeof(oid)},
			{CKA_EC_POINT, point, sizeof(point)},
		};
		assert_int_equal(p->C_CreateObject(h, pub, 7, &obj), CKR_OK);
		sg_wipe(seed, sizeof(seed));
	}
	p->C_CloseSession(h);
}

static void reproduce(softhsm_fixture *f, const char *stem)
{
	static const uint8_t id[] = "rfc-example";
	EVP_PKEY *pk = read_pem(stem);
	import_key(f, pk, id, sizeof(id));
	EVP_PKEY_free(pk);

	dns_name owner, sig_owner, key_owner;
	uint16_t type, sig_type, key_type;
	uint32_t ttl, sig_ttl, key_ttl;
	sg_buf rdata = SG_BUF_INIT, sig_rdata = SG_BUF_INIT, key_rdata = SG_BUF_INIT;
	read_rr(stem, "rrset", &owner, &type, &ttl, &rdata);
	read_rr(stem, "rrsig", &sig_owner, &sig_type, &sig_ttl, &sig_rdata);
	read_rr(stem, "key", &key_owner, &key_type, &key_ttl, &key_rdata);
	assert_int_equal(sig_type, DNS_T_RRSIG);
	dns_rrset set;
	dns_rrset_init(&set, &owner, type, DNS_CLASS_IN, ttl);
	assert_int_equal(dns_rrset_add(&set, rdata.data, rdata.len), SIGNET_OK);
	dns_rrsig want;
	assert_int_equal(dns_rrsig_from_rdata(&want, sig_rdata.data, sig_rdata.len), SIGNET_OK);

	/* The key in the token is the RFC's key: its public half gives the
	 * RFC's DNSKEY and key tag. */
	EVP_PKEY *pub = NULL;
	assert_int_equal(hsm_key_public(f->tok, id, sizeof(id), &pub, HSM_ERR), SIGNET_OK);
	sg_buf pubfield = SG_BUF_INIT, dnskey = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(want.algorithm, pub, &pubfield), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(sg_get_u16(key_rdata.data), want.algorithm,
					  pubfield.data, pubfield.len, &dnskey), SIGNET_OK);
	assert_int_equal(dnskey.len, key_rdata.len);
	assert_memory_equal(dnskey.data, key_rdata.data, dnskey.len);
	uint16_t tag = 0;
	assert_int_equal(dns_key_tag(dnskey.data, dnskey.len, &tag), SIGNET_OK);
	assert_int_equal(tag, want.key_tag);

	/* Build the RRSIG from our own fields, not the RFC's, and sign. */
	dns_rrsig got;
	assert_int_equal(dns_rrsig_prepare(&got, &set, want.algorithm, tag, &want.signer,
					   want.inception, want.expiration), SIGNET_OK);
	sg_buf data = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_signed_data(&got, &set, &data), SIGNET_OK);

	hsm_session *s = NULL;
	size_t siglen = 0;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	/* Imported keys were once outside an HSM: refused by default. */
	assert_int_equal(hsm_sign(s, id, sizeof(id), data.data, data.len, got.sig,
				  sizeof(got.sig), &siglen, HSM_ERR), SIGNET_EHSM_KEY);
	hsm_session_close(s);
	hsm_token_set_allow_imported(f->tok, true);
	for (int copies = 0; copies < 2; copies++) {
		hsm_token_set_session_copies(f->tok, copies);
		assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
		assert_int_equal(hsm_sign(s, id, sizeof(id), data.data, data.len, got.sig,
					  sizeof(got.sig), &siglen, HSM_ERR), SIGNET_OK);
		hsm_session_close(s);
		got.sig_len = (uint16_t)siglen;
		sg_buf out = SG_BUF_INIT;
		assert_int_equal(dns_rrsig_to_rdata(&got, &out), SIGNET_OK);
		/* The whole RRSIG RDATA, header and signature, byte for byte. */
		assert_int_equal(out.len, sig_rdata.len);
		assert_memory_equal(out.data, sig_rdata.data, out.len);
		sg_buf_free(&out);
	}
	hsm_token_set_allow_imported(f->tok, false);

	EVP_PKEY_free(pub);
	dns_rrset_clear(&set);
	sg_buf_free(&data);
	sg_buf_free(&pubfield);
	sg_buf_free(&dnskey);
	sg_buf_free(&rdata);
	sg_buf_free(&sig_rdata);
	sg_buf_free(&key_rdata);
}

static void test_rfc5702_rsasha256(void **state) { reproduce(*state, "rfc5702_rsa"); }
static void test_rfc8080_ed25519_1(void **state) { reproduce(*state, "rfc8080_ed25519_1"); }
static void test_rfc8080_ed25519_2(void **state) { reproduce(*state, "rfc8080_ed25519_2"); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfc5702_rsasha256, softhsm_setup,
						softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_rfc8080_ed25519_1, softhsm_setup,
						softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_rfc8080_ed25519_2, softhsm_setup,
						softhsm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
