/* tsig.c -- TSIG (RFC 8945) on wire messages: signing answers and queries
 * through ldns, and verifying every message of an exchange here, with
 * OpenSSL's HMAC. The verifying is ours because a transfer in may carry
 * up to 99 messages without TSIG between signed ones (§5.3.1), whose
 * octets the next MAC covers, and ldns verifies one message alone. */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ldns/ldns.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "zoned/zoned.h"

#define FUDGE 300

/* The MAC of the exchange so far as an rdf ldns takes (NULL: none yet). */
static ldns_rdf *prior_mac(const zoned_tsig *t)
{
	if (t->maclen == 0)
		return NULL;
	/* ldns expects the MAC with its 2-octet length in front. */
	uint8_t buf[2 + sizeof(t->mac)];
	buf[0] = (uint8_t)(t->maclen >> 8);
	buf[1] = (uint8_t)t->maclen;
	memcpy(buf + 2, t->mac, t->maclen);
	return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, t->maclen + 2, buf);
}

/* Remember the MAC of pkt's TSIG for the next message. */
static signet_err keep_mac(zoned_tsig *t, ldns_pkt *pkt)
{
	ldns_rr *rr = ldns_pkt_tsig(pkt);
	ldns_rdf *mac = rr && ldns_rr_rd_count(rr) > 3 ? ldns_rr_rdf(rr, 3) : NULL;
	if (mac == NULL || ldns_rdf_size(mac) < 2 || ldns_rdf_size(mac) - 2 > sizeof(t->mac))
		return SIGNET_EVERIFY;
	t->maclen = ldns_rdf_size(mac) - 2;
	memcpy(t->mac, ldns_rdf_data(mac) + 2, t->maclen);
	return SIGNET_OK;
}

signet_err zoned_tsig_sign(zoned_tsig *t, uint8_t *msg, size_t *len, size_t cap)
{
	if (t == NULL || t->key == NULL || msg == NULL || len == NULL)
		return SIGNET_EINVAL;
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, msg, *len) != LDNS_STATUS_OK)
		return SIGNET_EPARSE;
	ldns_rdf *mac = prior_mac(t);
	signet_err ret = SIGNET_ECRYPTO;
	ldns_status s = ldns_pkt_tsig_sign_next(pkt, t->key->name, t->key->secret, FUDGE,
						t->key->algorithm, mac, t->first ? 0 : 1);
	uint8_t *wire = NULL;
	size_t wlen = 0;
	if (s == LDNS_STATUS_OK && ldns_pkt2wire(&wire, pkt, &wlen) == LDNS_STATUS_OK) {
		if (wlen > cap || wlen > ZONED_MSG_MAX) {
			ret = SIGNET_ERANGE;
		} else {
			memcpy(msg, wire, wlen);
			*len = wlen;
			ret = keep_mac(t, pkt);
			t->first = false;
		}
	}
	LDNS_FREE(wire);
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(pkt);
	return ret;
}

/* The digest of key's algorithm and its MAC size (0: not one we know). */
static const char *key_digest(const zoned_key *key, size_t *maclen)
{
	if (strcasecmp(key->algorithm, "hmac-sha256.") == 0) {
		*maclen = 32;
		return "SHA256";
	}
	if (strcasecmp(key->algorithm, "hmac-sha512.") == 0) {
		*maclen = 64;
		return "SHA512";
	}
	*maclen = 0;
	return NULL;
}

static signet_err mac_update(EVP_MAC_CTX *ctx, const void *p, size_t n)
{
	return EVP_MAC_update(ctx, p, n) == 1 ? SIGNET_OK : SIGNET_ECRYPTO;
}

/* An HMAC of t's key, begun with the prior MAC (the request's, or the last
 * signed message's) and its length, as every MAC of an exchange after the
 * query begins (RFC 8945 §4.3.1, §5.3.1). */
static signet_err mac_start(const zoned_tsig *t, EVP_MAC_CTX **out)
{
	size_t maclen = 0;
	const char *digest = key_digest(t->key, &maclen);
	if (digest == NULL)
		return SIGNET_EINVAL;
	sg_buf secret = SG_BUF_INIT;
	signet_err ret = sg_base64_decode(t->key->secret, strlen(t->key->secret), &secret);
	EVP_MAC *mac = ret == SIGNET_OK ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
		OSSL_PARAM_construct_end()};
	if (ret == SIGNET_OK &&
	    (ctx == NULL || EVP_MAC_init(ctx, secret.data, secret.len, params) != 1))
		ret = SIGNET_ECRYPTO;
	if (secret.data)
		OPENSSL_cleanse(secret.data, secret.len);
	sg_buf_free(&secret);
	if (ret == SIGNET_OK && t->maclen) {
		uint8_t l[2] = {(uint8_t)(t->maclen >> 8), (uint8_t)t->maclen};
		ret = mac_update(ctx, l, 2);
		if (ret == SIGNET_OK)
			ret = mac_update(ctx, t->mac, t->maclen);
	}
	if (ret != SIGNET_OK) {
		EVP_MAC_CTX_free(ctx);
		return ret;
	}
	*out = ctx;
	return SIGNET_OK;
}

/* The TSIG RR names the key's name and algorithm, carries no error and a
 * whole MAC, and its time is near now. */
static bool tsig_fits(const zoned_key *key, const zoned_tsig_rr *rr)
{
	dns_name kname, alg;
	size_t maclen = 0;
	if (key_digest(key, &maclen) == NULL || dns_name_from_str(&kname, key->name) != SIGNET_OK ||
	    dns_name_from_str(&alg, key->algorithm) != SIGNET_OK ||
	    !dns_name_equal(&rr->key, &kname) || !dns_name_equal(&rr->algorithm, &alg) ||
	    rr->error != 0 || rr->mac_len != maclen)
		return false;
	uint64_t now = (uint64_t)time(NULL);
	uint64_t f = rr->fudge > FUDGE ? FUDGE : rr->fudge;
	return rr->time_signed + f >= now && rr->time_signed <= now + f;
}

/* Into ctx: the message as it was before its TSIG was added (the
 * original ID, ARCOUNT one less, the RRs before the TSIG RR), then the
 * TSIG variables (the first message of an exchange) or the timers only
 * (later ones), RFC 8945 §4.3.2, §4.3.3. */
static signet_err mac_message(EVP_MAC_CTX *ctx, const uint8_t *msg, const zoned_tsig_rr *rr,
			      bool first)
{
	uint8_t h[12];
	memcpy(h, msg, sizeof(h));
	h[0] = (uint8_t)(rr->orig_id >> 8);
	h[1] = (uint8_t)rr->orig_id;
	uint16_t ar = (uint16_t)(sg_get_u16(msg + 10) - 1);
	h[10] = (uint8_t)(ar >> 8);
	h[11] = (uint8_t)ar;
	signet_err ret = mac_update(ctx, h, sizeof(h));
	if (ret == SIGNET_OK)
		ret = mac_update(ctx, msg + 12, rr->pos - 12);
	if (ret == SIGNET_OK && first) {
		/* Names in canonical form: lower case, uncompressed. */
		dns_name k = rr->key, a = rr->algorithm;
		dns_name_lower(&k);
		dns_name_lower(&a);
		static const uint8_t class_ttl[6] = {0, 255, 0, 0, 0, 0};
		ret = mac_update(ctx, k.wire, k.len);
		if (ret == SIGNET_OK)
			ret = mac_update(ctx, class_ttl, sizeof(class_ttl));
		if (ret == SIGNET_OK)
			ret = mac_update(ctx, a.wire, a.len);
	}
	uint8_t v[14];
	uint64_t ts = rr->time_signed;
	for (int i = 0; i < 6; i++)
		v[i] = (uint8_t)(ts >> (8 * (5 - i)));
	v[6] = (uint8_t)(rr->fudge >> 8);
	v[7] = (uint8_t)rr->fudge;
	v[8] = (uint8_t)(rr->error >> 8);
	v[9] = (uint8_t)rr->error;
	v[10] = (uint8_t)(rr->other_len >> 8);
	v[11] = (uint8_t)rr->other_len;
	if (ret == SIGNET_OK)
		ret = mac_update(ctx, v, first ? 12 : 8);
	if (ret == SIGNET_OK && first && rr->other_len)
		ret = mac_update(ctx, rr->other, rr->other_len);
	return ret;
}

signet_err zoned_tsig_verify(zoned_tsig *t, const uint8_t *msg, size_t len)
{
	if (t == NULL || t->key == NULL || msg == NULL)
		return SIGNET_EINVAL;
	zoned_tsig_rr rr;
	signet_err ret = zoned_tsig_rr_find(msg, len, &rr);
	if (ret == SIGNET_EPARSE)
		return ret; /* a message that does not parse has no TSIG to check */
	EVP_MAC_CTX *ctx = t->running;
	if (ret == SIGNET_ENOTFOUND) {
		/* Unsigned: only between signed messages of a transfer in, and
		 * at most 99 in a row; the next MAC covers it whole. */
		if (!t->sparse || t->first || t->gap >= ZONED_TSIG_UNSIGNED_MAX)
			return SIGNET_EVERIFY;
		if (ctx == NULL && (ret = mac_start(t, &ctx)) != SIGNET_OK)
			return ret;
		t->running = ctx;
		ret = mac_update(ctx, msg, len);
		if (ret == SIGNET_OK)
			t->gap++;
		return ret;
	}
	if (!tsig_fits(t->key, &rr))
		return SIGNET_EVERIFY;
	t->running = NULL;
	if (ctx == NULL && (ret = mac_start(t, &ctx)) != SIGNET_OK)
		return ret;
	uint8_t got[EVP_MAX_MD_SIZE];
	size_t glen = 0;
	ret = mac_message(ctx, msg, &rr, t->first);
	if (ret == SIGNET_OK && EVP_MAC_final(ctx, got, &glen, sizeof(got)) != 1)
		ret = SIGNET_ECRYPTO;
	EVP_MAC_CTX_free(ctx);
	if (ret != SIGNET_OK)
		return ret;
	if (glen != rr.mac_len || glen > sizeof(t->mac) || CRYPTO_memcmp(got, rr.mac, glen) != 0)
		return SIGNET_EVERIFY;
	memcpy(t->mac, rr.mac, glen);
	t->maclen = glen;
	t->first = false;
	t->gap = 0;
	return SIGNET_OK;
}

signet_err zoned_tsig_done(zoned_tsig *t)
{
	if (t == NULL)
		return SIGNET_EINVAL;
	EVP_MAC_CTX_free(t->running);
	t->running = NULL;
	signet_err ret = t->gap || t->first ? SIGNET_EVERIFY : SIGNET_OK;
	t->gap = 0;
	return ret;
}
