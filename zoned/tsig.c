/* tsig.c -- TSIG (RFC 8945) on wire messages through ldns: signing answers
 * and queries, verifying every message of an exchange. ldns computes the
 * MAC; the key's name and algorithm and the time window are checked here,
 * which ldns leaves to its caller. */
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

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

/* The TSIG RR's key name and algorithm are the key's, its time near now. */
static bool tsig_fits(const zoned_key *key, ldns_rr *rr)
{
	if (rr == NULL || ldns_rr_rd_count(rr) < 7)
		return false;
	ldns_rdf *kname = ldns_dname_new_frm_str(key->name);
	ldns_rdf *alg = ldns_dname_new_frm_str(key->algorithm);
	bool ok = kname && alg && ldns_dname_compare(ldns_rr_owner(rr), kname) == 0 &&
		  ldns_dname_compare(ldns_rr_rdf(rr, 0), alg) == 0;
	ldns_rdf_deep_free(kname);
	ldns_rdf_deep_free(alg);
	ldns_rdf *ts = ldns_rr_rdf(rr, 1), *fudge = ldns_rr_rdf(rr, 2);
	if (!ok || ldns_rdf_size(ts) != 6 || ldns_rdf_size(fudge) != 2)
		return false;
	const uint8_t *p = ldns_rdf_data(ts);
	uint64_t when = ((uint64_t)sg_get_u16(p) << 32) | sg_get_u32(p + 2);
	uint64_t now = (uint64_t)time(NULL);
	uint64_t f = sg_get_u16(ldns_rdf_data(fudge));
	if (f > FUDGE)
		f = FUDGE;
	return when + f >= now && when <= now + f;
}

signet_err zoned_tsig_verify(zoned_tsig *t, const uint8_t *msg, size_t len)
{
	if (t == NULL || t->key == NULL || msg == NULL)
		return SIGNET_EINVAL;
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return SIGNET_EPARSE; /* a message that does not parse has no TSIG to check */
	ldns_rdf *mac = prior_mac(t);
	signet_err ret = SIGNET_EVERIFY;
	if (tsig_fits(t->key, ldns_pkt_tsig(pkt)) &&
	    ldns_pkt_tsig_verify_next(pkt, msg, len, t->key->name, t->key->secret, mac,
				      t->first ? 0 : 1) &&
	    keep_mac(t, pkt) == SIGNET_OK) {
		t->first = false;
		ret = SIGNET_OK;
	}
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(pkt);
	return ret;
}
