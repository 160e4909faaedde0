/* keyset_digest.c -- SHA-256 over the canonical wire encoding of a keyset. */
#include <string.h>

#include <openssl/evp.h>

#include "dnssec/dnssec.h"

/* Names the encoding, so a digest of another structure never collides. */
static const char DIGEST_TAG[] = "signet-keyset-digest-1";

static signet_err feed(EVP_MD_CTX *md, const void *p, size_t n)
{
	return EVP_DigestUpdate(md, p, n) == 1 ? SIGNET_OK : SIGNET_ECRYPTO;
}

/* A set as its RR count (u16) followed by its canonical wire form. The count
 * keeps an empty set distinct from a missing one and ends each set
 * unambiguously. */
static signet_err feed_set(EVP_MD_CTX *md, const dns_rrset *s, sg_buf *scratch)
{
	if (s->count > DNS_KEYSET_RRS_MAX)
		return SIGNET_ERANGE;
	if (s->count != 0 && s->rr == NULL)
		return SIGNET_EINVAL;
	sg_buf_reset(scratch);
	signet_err err = sg_buf_put_u16(scratch, (uint16_t)s->count);
	if (err != SIGNET_OK || s->count == 0)
		return err == SIGNET_OK ? feed(md, scratch->data, scratch->len) : err;
	dns_rrset c;
	err = dns_rrset_copy(&c, s);
	if (err != SIGNET_OK)
		return err;
	err = dns_rrset_canonicalize(&c);
	if (err == SIGNET_OK) {
		/* canonicalize dropped duplicates: count what is hashed */
		scratch->data[0] = (uint8_t)(c.count >> 8);
		scratch->data[1] = (uint8_t)c.count;
		err = dns_rrset_to_wire(&c, c.ttl, scratch);
	}
	dns_rrset_clear(&c);
	if (err == SIGNET_OK)
		err = feed(md, scratch->data, scratch->len);
	return err;
}

signet_err dns_keyset_digest(const dns_keyset *ks, uint8_t out[32])
{
	if (ks == NULL || out == NULL)
		return SIGNET_EINVAL;
	if ((ks->kind != DNS_KEYSET_REQUEST && ks->kind != DNS_KEYSET_BUNDLE) ||
	    ks->zone.len == 0 || (ks->count != 0 && ks->periods == NULL))
		return SIGNET_EINVAL;
	if (ks->count > DNS_KEYSET_PERIODS_MAX)
		return SIGNET_ERANGE;

	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL)
		return SIGNET_ENOMEM;
	sg_buf b = SG_BUF_INIT;
	signet_err err = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? SIGNET_OK
									: SIGNET_ECRYPTO;
	dns_name zone = ks->zone;
	dns_name_lower(&zone);
	if (err == SIGNET_OK)
		err = sg_buf_append(&b, DIGEST_TAG, sizeof(DIGEST_TAG));
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(&b, (uint8_t)ks->kind);
	if (err == SIGNET_OK)
		err = sg_buf_append(&b, zone.wire, zone.len);
	if (err == SIGNET_OK)
		err = sg_buf_put_u32(&b, (uint32_t)(ks->serial >> 32));
	if (err == SIGNET_OK)
		err = sg_buf_put_u32(&b, (uint32_t)ks->serial);
	if (err == SIGNET_OK)
		err = sg_buf_put_u32(&b, (uint32_t)ks->count);
	if (err == SIGNET_OK)
		err = feed(md, b.data, b.len);
	for (size_t i = 0; i < ks->count && err == SIGNET_OK; i++) {
		const dns_keyset_period *p = &ks->periods[i];
		sg_buf_reset(&b);
		err = sg_buf_put_u32(&b, p->inception);
		if (err == SIGNET_OK)
			err = sg_buf_put_u32(&b, p->expiration);
		if (err == SIGNET_OK)
			err = feed(md, b.data, b.len);
		if (err == SIGNET_OK)
			err = feed_set(md, &p->dnskey, &b);
		if (err == SIGNET_OK)
			err = feed_set(md, &p->cds, &b);
		if (err == SIGNET_OK)
			err = feed_set(md, &p->cdnskey, &b);
		if (err == SIGNET_OK)
			err = feed_set(md, &p->sigs, &b);
	}
	unsigned int len = 0;
	if (err == SIGNET_OK && EVP_DigestFinal_ex(md, out, &len) != 1)
		err = SIGNET_ECRYPTO;
	EVP_MD_CTX_free(md);
	sg_buf_free(&b);
	return err;
}
