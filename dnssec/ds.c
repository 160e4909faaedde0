/* ds.c -- DS and CDS RDATA from a DNSKEY, and the RFC 8078 delete forms. */
#include "dnssec/dnssec.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

/* DS RDATA for digest md; SHA-1 is taken only to check a DS that exists. */
static signet_err ds_build(const dns_name *owner, const uint8_t *dnskey, size_t len,
			   uint8_t digest_type, bool sha1, sg_buf *out)
{
	const EVP_MD *md;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	uint16_t tag;
	signet_err err;

	if (owner == NULL || dnskey == NULL || out == NULL)
		return SIGNET_EINVAL;
	if (digest_type == DNS_DIGEST_SHA256)
		md = EVP_sha256();
	else if (digest_type == DNS_DIGEST_SHA384)
		md = EVP_sha384();
	else if (digest_type == 1 && sha1)
		md = EVP_sha1();
	else
		return SIGNET_EUNSUPPORTED;
	err = dns_rdata_check(DNS_T_DNSKEY, dnskey, len);
	if (err != SIGNET_OK)
		return err;
	/* RFC 4034 §5.2: a DS refers to a zone key. */
	if ((sg_get_u16(dnskey) & DNS_DNSKEY_FLAG_ZONE) == 0)
		return SIGNET_EINVAL;
	dns_name lower = *owner;
	if (dns_name_labels(&lower) == 0 && (lower.len != 1 || lower.wire[0] != 0))
		return SIGNET_EINVAL;
	dns_name_lower(&lower);
	err = dns_key_tag(dnskey, len, &tag);
	if (err != SIGNET_OK)
		return err;

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return SIGNET_ENOMEM;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, lower.wire, lower.len) != 1 ||
	    EVP_DigestUpdate(ctx, dnskey, len) != 1 || EVP_DigestFinal_ex(ctx, digest, &dlen) != 1)
		err = SIGNET_ECRYPTO;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (err != SIGNET_OK)
		return err;

	size_t mark = out->len;
	if ((err = sg_buf_put_u16(out, tag)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, dnskey[3])) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, digest_type)) != SIGNET_OK ||
	    (err = sg_buf_append(out, digest, dlen)) != SIGNET_OK)
		out->len = mark;
	return err;
}

signet_err dns_ds_rdata(const dns_name *owner, const uint8_t *dnskey, size_t len,
			uint8_t digest_type, sg_buf *out)
{
	return ds_build(owner, dnskey, len, digest_type, false, out);
}

signet_err dns_ds_match(const dns_name *owner, const uint8_t *ds, size_t dslen,
			const uint8_t *dnskey, size_t keylen)
{
	if (owner == NULL || ds == NULL || dnskey == NULL)
		return SIGNET_EINVAL;
	if (dslen < 5)
		return SIGNET_EPARSE;
	sg_buf mine = SG_BUF_INIT;
	signet_err err = ds_build(owner, dnskey, keylen, ds[3], true, &mine);
	if (err == SIGNET_OK && (mine.len != dslen || memcmp(mine.data, ds, dslen) != 0))
		err = SIGNET_EVERIFY;
	sg_buf_free(&mine);
	return err;
}

signet_err dns_cds_delete_rdata(sg_buf *out)
{
	/* RFC 8078 §4: "0 0 0 00": key tag 0, algorithm 0, digest type 0 and a
	 * single zero octet of digest. */
	static const uint8_t del[] = {0, 0, 0, 0, 0};

	if (out == NULL)
		return SIGNET_EINVAL;
	return sg_buf_append(out, del, sizeof(del));
}

signet_err dns_cdnskey_delete_rdata(sg_buf *out)
{
	/* RFC 8078 §4: "0 3 0 AA==": flags 0, protocol 3, algorithm 0 and a
	 * public key of one zero octet. */
	static const uint8_t del[] = {0, 0, DNS_DNSKEY_PROTOCOL, 0, 0};

	if (out == NULL)
		return SIGNET_EINVAL;
	return sg_buf_append(out, del, sizeof(del));
}
