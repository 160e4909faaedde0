/* dnskey.c -- DNSKEY RDATA from and to OpenSSL public keys, and the key tag. */
#include "dnssec/dnssec.h"
#include "dnssec/internal.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

/* RSA/SHA-256 moduli RFC 5702 §2 allows; 4096 bits is also DNS_SIG_MAX. */
#define RSA_BITS_MIN 512
#define RSA_BITS_MAX 4096

/* Curve parameters of the two ECDSA algorithms (RFC 6605). */
static const char *ec_group_of(uint8_t alg, size_t *coord)
{
	if (alg == DNS_ALG_ECDSAP256SHA256) {
		*coord = 32;
		return "prime256v1";
	}
	if (alg == DNS_ALG_ECDSAP384SHA384) {
		*coord = 48;
		return "secp384r1";
	}
	return NULL;
}

/* Append BN as exactly width big-endian octets. */
static signet_err put_bn(const BIGNUM *bn, size_t width, sg_buf *out)
{
	signet_err err = sg_buf_reserve(out, width);

	if (err != SIGNET_OK)
		return err;
	if (BN_bn2binpad(bn, out->data + out->len, (int)width) != (int)width)
		return SIGNET_ECRYPTO;
	out->len += width;
	return SIGNET_OK;
}

static signet_err rsa_pub(const EVP_PKEY *pk, sg_buf *out)
{
	BIGNUM *n = NULL, *e = NULL;
	signet_err err = SIGNET_EUNSUPPORTED;

	if (!EVP_PKEY_is_a(pk, "RSA"))
		return SIGNET_EUNSUPPORTED;
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		err = SIGNET_ECRYPTO;
		goto out;
	}
	int bits = BN_num_bits(n);
	size_t elen = (size_t)BN_num_bytes(e);
	size_t nlen = (size_t)BN_num_bytes(n);
	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX || elen == 0 || elen > 0xFFFF)
		goto out;
	/* RFC 3110 §2: one length octet, or a zero octet and two. */
	if (elen <= 255) {
		err = sg_buf_put_u8(out, (uint8_t)elen);
	} else {
		err = sg_buf_put_u8(out, 0);
		if (err == SIGNET_OK)
			err = sg_buf_put_u16(out, (uint16_t)elen);
	}
	if (err == SIGNET_OK)
		err = put_bn(e, elen, out);
	if (err == SIGNET_OK)
		err = put_bn(n, nlen, out);
out:
	BN_free(n);
	BN_free(e);
	return err;
}

static signet_err ec_pub(uint8_t alg, const EVP_PKEY *pk, sg_buf *out)
{
	char group[64];
	size_t glen = 0, coord = 0;
	BIGNUM *x = NULL, *y = NULL;
	signet_err err;
	const char *want = ec_group_of(alg, &coord);

	if (!EVP_PKEY_is_a(pk, "EC"))
		return SIGNET_EUNSUPPORTED;
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   &glen) != 1)
		return SIGNET_EUNSUPPORTED;
	if (strcmp(group, want) != 0)
		return SIGNET_EUNSUPPORTED;
	/* The coordinates, not "encoded-pub-key": that follows the key's point
	 * format, which may be compressed. */
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
		err = SIGNET_ECRYPTO;
		goto out;
	}
	err = put_bn(x, coord, out);
	if (err == SIGNET_OK)
		err = put_bn(y, coord, out);
out:
	BN_free(x);
	BN_free(y);
	return err;
}

static signet_err ed25519_pub(const EVP_PKEY *pk, sg_buf *out)
{
	uint8_t raw[32];
	size_t rlen = sizeof(raw);

	if (!EVP_PKEY_is_a(pk, "ED25519"))
		return SIGNET_EUNSUPPORTED;
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof(raw), &rlen) !=
		    1 ||
	    rlen != 32)
		return SIGNET_ECRYPTO;
	return sg_buf_append(out, raw, rlen);
}

signet_err dns_dnskey_pubkey_from_evp(uint8_t alg, const EVP_PKEY *pk, sg_buf *out)
{
	signet_err err;

	if (pk == NULL || out == NULL)
		return SIGNET_EINVAL;
	size_t mark = out->len;
	switch (alg) {
	case DNS_ALG_RSASHA256:
		err = rsa_pub(pk, out);
		break;
	case DNS_ALG_ECDSAP256SHA256:
	case DNS_ALG_ECDSAP384SHA384:
		err = ec_pub(alg, pk, out);
		break;
	case DNS_ALG_ED25519:
		err = ed25519_pub(pk, out);
		break;
	default:
		err = SIGNET_EUNSUPPORTED;
		break;
	}
	if (err != SIGNET_OK)
		out->len = mark;
	ERR_clear_error();
	return err;
}

signet_err dns_dnskey_rdata(uint16_t flags, uint8_t alg, const uint8_t *pub, size_t publen,
			    sg_buf *out)
{
	signet_err err;

	if (out == NULL || pub == NULL || publen == 0)
		return SIGNET_EINVAL;
	if (publen > DNS_RDATA_MAX - 4)
		return SIGNET_ERANGE;
	size_t mark = out->len;
	if ((err = sg_buf_put_u16(out, flags)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, DNS_DNSKEY_PROTOCOL)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, alg)) != SIGNET_OK ||
	    (err = sg_buf_append(out, pub, publen)) != SIGNET_OK)
		out->len = mark;
	return err;
}

/* Build a key of type name from params; the OSSL_PARAM list owns nothing. */
static signet_err evp_fromdata(const char *name, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	signet_err err = SIGNET_OK;

	if (ctx == NULL)
		return SIGNET_ECRYPTO;
	if (EVP_PKEY_fromdata_init(ctx) != 1) {
		err = SIGNET_ECRYPTO;
	} else if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		/* The data came from outside: a point off the curve or a
		 * nonsense modulus is a malformed key, not a library fault. */
		err = SIGNET_EPARSE;
	}
	EVP_PKEY_CTX_free(ctx);
	return err;
}

static signet_err rsa_from_dnskey(const uint8_t *k, size_t len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	const uint8_t *ep, *np;
	size_t elen, nlen;
	signet_err err = dns_rsa_key_split(k, len, &ep, &elen, &np, &nlen);
	if (err != SIGNET_OK)
		return err;
	/* RFC 3110 §2: leading zero octets are prohibited. */
	if (ep[0] == 0 || np[0] == 0)
		return SIGNET_EPARSE;
	if (nlen * 8 > RSA_BITS_MAX + 7)
		return SIGNET_EUNSUPPORTED;

	e = BN_bin2bn(ep, (int)elen, NULL);
	n = BN_bin2bn(np, (int)nlen, NULL);
	if (e == NULL || n == NULL) {
		err = SIGNET_ENOMEM;
		goto out;
	}
	if (BN_num_bits(n) < RSA_BITS_MIN || BN_num_bits(n) > RSA_BITS_MAX) {
		err = SIGNET_EUNSUPPORTED;
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		err = SIGNET_ECRYPTO;
		goto out;
	}
	err = evp_fromdata("RSA", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return err;
}

static signet_err ec_from_dnskey(uint8_t alg, const uint8_t *k, size_t len, EVP_PKEY **out)
{
	uint8_t point[1 + 2 * 48];
	size_t coord = 0;
	const char *group = ec_group_of(alg, &coord);
	OSSL_PARAM params[3];

	if (len != 2 * coord)
		return SIGNET_EPARSE;
	/* The uncompressed SEC1 point: 0x04, then x||y as DNSSEC has it. */
	point[0] = 0x04;
	memcpy(point + 1, k, len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + len);
	params[2] = OSSL_PARAM_construct_end();
	return evp_fromdata("EC", params, out);
}

signet_err dns_dnskey_to_evp(const uint8_t *rdata, size_t len, EVP_PKEY **out)
{
	signet_err err;

	if (rdata == NULL || out == NULL)
		return SIGNET_EINVAL;
	*out = NULL;
	if (len < 5 || len > DNS_RDATA_MAX)
		return SIGNET_EPARSE;
	if (rdata[2] != DNS_DNSKEY_PROTOCOL)
		return SIGNET_EPARSE;
	const uint8_t *k = rdata + 4;
	size_t klen = len - 4;
	switch (rdata[3]) {
	case DNS_ALG_RSASHA256:
		err = rsa_from_dnskey(k, klen, out);
		break;
	case DNS_ALG_ECDSAP256SHA256:
	case DNS_ALG_ECDSAP384SHA384:
		err = ec_from_dnskey(rdata[3], k, klen, out);
		break;
	case DNS_ALG_ED25519:
		if (klen != 32) {
			err = SIGNET_EPARSE;
			break;
		}
		*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k, klen);
		err = *out != NULL ? SIGNET_OK : SIGNET_ECRYPTO;
		break;
	default:
		err = SIGNET_EUNSUPPORTED;
		break;
	}
	if (err != SIGNET_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	ERR_clear_error();
	return err;
}

signet_err dns_key_tag(const uint8_t *rdata, size_t len, uint16_t *tag)
{
	uint32_t ac = 0;

	if (rdata == NULL || tag == NULL)
		return SIGNET_EINVAL;
	if (len < 4 || len > DNS_RDATA_MAX)
		return SIGNET_EPARSE;
	/* RFC 4034 Appendix B: a ones'-complement-like sum of the RDATA as
	 * 16-bit words, the carry folded back in once at the end. */
	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	ac += (ac >> 16) & 0xFFFF;
	*tag = (uint16_t)(ac & 0xFFFF);
	return SIGNET_OK;
}
