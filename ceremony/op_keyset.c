/* op_keyset.c -- sign-keyset: check signetd's key-signing request and sign it with the named KSKs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>

#include <openssl/x509.h>

#include "ceremony/internal.h"

#define ZSK_BACKUPS_MAX 4096 /* backup files sign-keyset reads */

static bool alg_allowed(const cer_policy *p, uint8_t alg)
{
	for (size_t i = 0; i < p->nalgs; i++)
		if (p->algs[i] == alg)
			return true;
	return false;
}

/* Every ZSK of the period proves possession by an RRSIG over the DNSKEY set,
 * unless foreign[k] says the operators admitted it by name (another
 * provider's ZSK, whose private key signetd never holds); every RRSIG there
 * must be such a proof. */
static signet_err check_proofs(const dns_keyset *ks, size_t i, const bool *foreign, char *errmsg,
			       size_t errlen)
{
	const dns_keyset_period *per = &ks->periods[i];
	bool *proved = calloc(per->dnskey.count ? per->dnskey.count : 1, sizeof(bool));
	if (proved == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	signet_err err = SIGNET_OK;
	for (size_t s = 0; s < per->sigs.count && err == SIGNET_OK; s++) {
		dns_rrsig sig;
		if (dns_rrsig_from_rdata(&sig, per->sigs.rr[s].data, per->sigs.rr[s].len) !=
		    SIGNET_OK) {
			err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
				       "period %zu: RRSIG %zu is malformed", i + 1, s + 1);
			break;
		}
		bool ok = false;
		for (size_t k = 0; k < per->dnskey.count && !ok; k++) {
			const dns_rdata *rd = &per->dnskey.rr[k];
			uint16_t flags = sg_get_u16(rd->data);
			if (flags & DNS_DNSKEY_FLAG_SEP)
				continue; /* a proof is by a ZSK */
			if (dns_rrsig_verify(&sig, &per->dnskey, rd->data, rd->len, &ks->zone, 0) ==
			    SIGNET_OK) {
				ok = true;
				proved[k] = true;
			}
		}
		if (!ok)
			err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				       "period %zu: proof RRSIG with key tag %u "
				       "does not verify with a ZSK of the set",
				       i + 1, sig.key_tag);
	}
	for (size_t k = 0; k < per->dnskey.count && err == SIGNET_OK; k++) {
		uint16_t flags = sg_get_u16(per->dnskey.rr[k].data);
		if (flags & DNS_DNSKEY_FLAG_SEP)
			continue;
		if (!proved[k] && !foreign[k]) {
			uint16_t tag = 0;
			(void)dns_key_tag(per->dnskey.rr[k].data, per->dnskey.rr[k].len, &tag);
			err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				       "period %zu: ZSK with key tag %u has no valid "
				       "proof of possession and no foreign-zsk parameter names it",
				       i + 1, tag);
		}
	}
	free(proved);
	return err;
}

/* Whether the DNSKEY rd is one of the foreign ZSKs the request names: by the
 * SHA-256 of its RDATA. A named key must be a ZSK (no SEP: it would ask for a
 * DS of a key the ceremony does not hold) whose tag and algorithm are the
 * ones the operators read. */
static signet_err foreign_match(const dns_rdata *rd, size_t i, const cer_foreign_zsk *f, size_t nf,
				bool *seen, bool *is_foreign, char *errmsg, size_t errlen)
{
	uint8_t h[CER_HASH_LEN];
	signet_err err = cer_sha256(rd->data, rd->len, h, errmsg, errlen);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "cannot hash a DNSKEY");
	*is_foreign = false;
	for (size_t j = 0; j < nf; j++) {
		if (memcmp(h, f[j].sha256, CER_HASH_LEN) != 0)
			continue;
		uint16_t tag = 0;
		(void)dns_key_tag(rd->data, rd->len, &tag);
		if (sg_get_u16(rd->data) & DNS_DNSKEY_FLAG_SEP)
			return cer_fail(errmsg, errlen, SIGNET_EDENIED,
					"period %zu: foreign key %u/%u has the SEP "
					"flag: only a ZSK may be foreign",
					i + 1, tag, rd->data[3]);
		if (tag != f[j].tag || rd->data[3] != f[j].alg)
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"foreign-zsk %u/%u: the key with that hash "
					"has key tag %u and algorithm %u",
					f[j].tag, f[j].alg, tag, rd->data[3]);
		seen[j] = true;
		*is_foreign = true;
	}
	return SIGNET_OK;
}

/* Everything that needs no HSM: the keyset is the approved one, for this
 * zone, within the policy's limits, with allowed algorithms and valid proofs
 * or a foreign-zsk parameter for every ZSK, and every named foreign key in it. */
static signet_err keyset_check(cer_run *run, char *errmsg, size_t errlen)
{
	const cer_exec *x = run->x;
	cer_key_ids ids;
	cer_foreign_zsk foreign[CER_FOREIGN_ZSKS_MAX];
	bool foreign_seen[CER_FOREIGN_ZSKS_MAX] = {false};
	size_t nforeign = 0;
	signet_err err = cer_param_key_ids(run->r, &ids, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_param_foreign_zsks(run->r, foreign, &nforeign, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	if (x->keyset == NULL || x->out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"sign-keyset: the key-signing request and an "
				"output file are needed");
	const char *want = cer_request_param(run->r, "keyset-sha256");
	uint8_t wanted[CER_HASH_LEN], got[CER_HASH_LEN];
	if (want == NULL || cer_hex_exact(want, wanted, sizeof(wanted)) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"sign-keyset: parameter keyset-sha256 is missing");
	err = cer_read_text(x->keyset, CER_KEYSET_MAX, "key-signing request", &run->keyset_text,
			    errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	unsigned line = 0;
	err = dns_keyset_parse((const char *)run->keyset_text.data, run->keyset_text.len,
			       &run->keyset, &line);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "key-signing request %s: %s at line %u",
				x->keyset, signet_strerror(err), line);
	const dns_keyset *ks = &run->keyset;
	if (ks->kind != DNS_KEYSET_REQUEST)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "%s is a bundle, not a request",
				x->keyset);
	if ((err = dns_keyset_digest(ks, got)) != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "key-signing request: cannot digest");
	if (memcmp(got, wanted, CER_HASH_LEN) != 0)
		return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				"the key-signing request is not the one the "
				"operators approved (keyset-sha256 differs)");
	if (!dns_name_equal(&ks->zone, &run->r->zone))
		return cer_fail(errmsg, errlen, SIGNET_EDENIED,
				"the key-signing request is for another zone");
	for (size_t i = 0; i < ks->count; i++) {
		const dns_keyset_period *per = &ks->periods[i];
		if (per->expiration - per->inception > run->p->max_period)
			return cer_fail(errmsg, errlen, SIGNET_EDENIED,
					"period %zu lasts %lu s, the policy allows "
					"%lu",
					i + 1, (unsigned long)(per->expiration - per->inception),
					(unsigned long)run->p->max_period);
		if ((int64_t)per->expiration <= run->now)
			return cer_fail(errmsg, errlen, SIGNET_ETIME,
					"period %zu has ended already", i + 1);
		if ((int64_t)per->expiration > run->now + (int64_t)run->p->max_span)
			return cer_fail(errmsg, errlen, SIGNET_EDENIED,
					"period %zu ends more than %lu s from now, "
					"beyond the policy",
					i + 1, (unsigned long)run->p->max_span);
		bool is_foreign[DNS_KEYSET_RRS_MAX] = {false};
		if (per->dnskey.count > DNS_KEYSET_RRS_MAX)
			return cer_fail(errmsg, errlen, SIGNET_ERANGE,
					"period %zu: too many DNSKEYs", i + 1);
		for (size_t k = 0; k < per->dnskey.count; k++) {
			const dns_rdata *rd = &per->dnskey.rr[k];
			if (rd->len < 4)
				return cer_fail(errmsg, errlen, SIGNET_EPARSE,
						"period %zu: short DNSKEY", i + 1);
			uint16_t flags = sg_get_u16(rd->data);
			if (flags != DNS_DNSKEY_FLAG_ZONE &&
			    flags != (DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP))
				return cer_fail(errmsg, errlen, SIGNET_EDENIED,
						"period %zu: DNSKEY flags %u are "
						"neither 256 nor 257",
						i + 1, flags);
			if (!alg_allowed(run->p, rd->data[3]))
				return cer_fail(errmsg, errlen, SIGNET_EDENIED,
						"period %zu: algorithm %u is not "
						"allowed by the policy",
						i + 1, rd->data[3]);
			if (nforeign > 0 &&
			    (err = foreign_match(rd, i, foreign, nforeign, foreign_seen,
						 &is_foreign[k], errmsg, errlen)) != SIGNET_OK)
				return err;
		}
		if ((err = check_proofs(ks, i, is_foreign, errmsg, errlen)) != SIGNET_OK)
			return err;
	}
	for (size_t f = 0; f < nforeign; f++)
		if (!foreign_seen[f])
			return cer_fail(errmsg, errlen, SIGNET_EDENIED,
					"foreign-zsk %u/%u names a key that is in "
					"no DNSKEY set of the request",
					foreign[f].tag, foreign[f].alg);
	return SIGNET_OK;
}

/* One KSK of the token: its DNSKEY and owner. */
typedef struct token_ksk {
	sg_buf dnskey;
	char owner[DNS_NAME_STR_MAX];
} token_ksk;

static signet_err list_ksks(cer_run *run, token_ksk **out, size_t *n, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	hsm_key_info *keys = NULL;
	size_t nk = 0;
	*out = NULL;
	*n = 0;
	signet_err err = hsm_key_list(run->tok, &keys, &nk, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "cannot list the token's keys: %s", hsmerr);
	token_ksk *t = calloc(nk ? nk : 1, sizeof(*t));
	if (t == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	for (size_t i = 0; i < nk && err == SIGNET_OK; i++) {
		char role[16];
		if (!keys[i].has_public || !cer_label_parts(keys[i].label, role, sizeof(role),
							    t[*n].owner, sizeof(t[*n].owner)))
			continue;
		EVP_PKEY *pk = NULL;
		sg_buf pub = SG_BUF_INIT;
		err = hsm_key_public(run->tok, keys[i].id, keys[i].id_len, &pk, hsmerr,
				     sizeof(hsmerr));
		if (err == SIGNET_OK)
			err = dns_dnskey_pubkey_from_evp((uint8_t)keys[i].alg, pk, &pub);
		if (err == SIGNET_OK)
			err = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP,
					       (uint8_t)keys[i].alg, pub.data, pub.len,
					       &t[*n].dnskey);
		EVP_PKEY_free(pk);
		sg_buf_free(&pub);
		if (err == SIGNET_OK)
			(*n)++;
		else
			cer_fail(errmsg, errlen, err, "cannot read key %s", keys[i].label);
	}
	free(keys);
	*out = t;
	return err;
}

static void free_ksks(token_ksk *t, size_t n)
{
	for (size_t i = 0; t != NULL && i < n; i++)
		sg_buf_free(&t[i].dnskey);
	free(t);
}

/* Compare DNSKEY RDATA ignoring the flags (a key is the same key whatever
 * flags a request gives it). */
static bool same_key(const uint8_t *a, size_t alen, const sg_buf *b)
{
	return alen == b->len && alen >= 4 && memcmp(a + 2, b->data + 2, alen - 2) == 0;
}

/* The KSKs a request names, as the token holds them. */
typedef struct named_ksks {
	hsm_key_info info[CER_KEYSET_KSKS_MAX];
	sg_buf dnskey[CER_KEYSET_KSKS_MAX]; /* RDATA with flags 257 */
	uint16_t tag[CER_KEYSET_KSKS_MAX];
	size_t n;
} named_ksks;

/* Index of the named KSK whose DNSKEY is exactly rd, or -1. */
static int named_index(const named_ksks *nk, const dns_rdata *rd)
{
	for (size_t j = 0; j < nk->n; j++)
		if (rd->len == nk->dnskey[j].len &&
		    memcmp(rd->data, nk->dnskey[j].data, rd->len) == 0)
			return (int)j;
	return -1;
}

/* The token's view: every key of the request that the token knows is this
 * zone's KSK, every SEP key is one and is named to sign (signetd wants an
 * RRSIG by each KSK of a DNSKEY set), each period holds a named KSK, each
 * named KSK is in some period, and CDS and CDNSKEY name only this zone's
 * KSKs (or the delete forms). */
static signet_err check_keys(cer_run *run, const named_ksks *nk, char *errmsg, size_t errlen)
{
	token_ksk *t = NULL;
	size_t nt = 0;
	signet_err err = list_ksks(run, &t, &nt, errmsg, errlen);
	const dns_keyset *ks = &run->keyset;
	bool present[CER_KEYSET_KSKS_MAX] = {false};
	sg_buf cds0 = SG_BUF_INIT, cdnskey0 = SG_BUF_INIT, ds = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = dns_cds_delete_rdata(&cds0);
	if (err == SIGNET_OK)
		err = dns_cdnskey_delete_rdata(&cdnskey0);
	for (size_t i = 0; i < ks->count && err == SIGNET_OK; i++) {
		const dns_keyset_period *per = &ks->periods[i];
		size_t signers = 0;
		for (size_t k = 0; k < per->dnskey.count && err == SIGNET_OK; k++) {
			const dns_rdata *rd = &per->dnskey.rr[k];
			bool sep = sg_get_u16(rd->data) & DNS_DNSKEY_FLAG_SEP;
			bool known_here = false;
			for (size_t j = 0; j < nt; j++) {
				if (!same_key(rd->data, rd->len, &t[j].dnskey))
					continue;
				if (strcasecmp(t[j].owner, run->zone) != 0)
					err = cer_fail(errmsg, errlen, SIGNET_EDENIED,
						       "period %zu: the request holds "
						       "a key of %s, a foreign zone",
						       i + 1, t[j].owner);
				known_here = true;
			}
			if (err == SIGNET_OK && sep && !known_here)
				err = cer_fail(errmsg, errlen, SIGNET_EDENIED,
					       "period %zu: a SEP key that is not a "
					       "KSK of %s in the KSK token",
					       i + 1, run->zone);
			int j = named_index(nk, rd);
			if (j >= 0) {
				present[j] = true;
				signers++;
			} else if (err == SIGNET_OK && sep) {
				uint16_t tag = 0;
				(void)dns_key_tag(rd->data, rd->len, &tag);
				err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
					       "period %zu: KSK with key tag %u is in "
					       "the DNSKEY set but key-id does not name it (every "
					       "KSK of a set must sign it)",
					       i + 1, tag);
			}
		}
		if (err == SIGNET_OK && signers == 0)
			err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
				       "period %zu: the DNSKEY set holds none of the "
				       "KSKs that are to sign it",
				       i + 1);
		for (size_t c = 0; c < per->cds.count && err == SIGNET_OK; c++) {
			const dns_rdata *rd = &per->cds.rr[c];
			bool ok = rd->len == cds0.len && memcmp(rd->data, cds0.data, rd->len) == 0;
			for (size_t j = 0; j < nt && !ok && err == SIGNET_OK; j++) {
				if (strcasecmp(t[j].owner, run->zone) != 0)
					continue;
				for (int d = 0; d < 2 && !ok; d++) {
					sg_buf_reset(&ds);
					err = dns_ds_rdata(
						&ks->zone, t[j].dnskey.data, t[j].dnskey.len,
						d ? DNS_DIGEST_SHA384 : DNS_DIGEST_SHA256, &ds);
					ok = err == SIGNET_OK && ds.len == rd->len &&
					     memcmp(ds.data, rd->data, rd->len) == 0;
				}
			}
			if (err == SIGNET_OK && !ok)
				err = cer_fail(errmsg, errlen, SIGNET_EDENIED,
					       "period %zu: a CDS that names no KSK "
					       "of the zone",
					       i + 1);
		}
		for (size_t c = 0; c < per->cdnskey.count && err == SIGNET_OK; c++) {
			const dns_rdata *rd = &per->cdnskey.rr[c];
			bool ok = rd->len == cdnskey0.len &&
				  memcmp(rd->data, cdnskey0.data, rd->len) == 0;
			for (size_t j = 0; j < nt && !ok; j++)
				ok = strcasecmp(t[j].owner, run->zone) == 0 &&
				     rd->len == t[j].dnskey.len &&
				     memcmp(rd->data, t[j].dnskey.data, rd->len) == 0;
			if (!ok)
				err = cer_fail(errmsg, errlen, SIGNET_EDENIED,
					       "period %zu: a CDNSKEY that is no KSK "
					       "of the zone",
					       i + 1);
		}
	}
	for (size_t j = 0; j < nk->n && err == SIGNET_OK; j++)
		if (!present[j])
			err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
				       "KSK %s (key tag %u) is in no period's DNSKEY "
				       "set: nothing for it to sign",
				       nk->info[j].label, nk->tag[j]);
	free_ksks(t, nt);
	sg_buf_free(&cds0);
	sg_buf_free(&cdnskey0);
	sg_buf_free(&ds);
	return err;
}

static signet_err sign_set(cer_run *run, hsm_session *s, const hsm_key_info *info, uint16_t tag,
			   const dns_rrset *set, const dns_keyset_period *per, dns_rrset *sigs,
			   char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (set->count == 0)
		return SIGNET_OK;
	dns_rrsig sig;
	sg_buf data = SG_BUF_INIT, rdata = SG_BUF_INIT;
	signet_err err = dns_rrsig_prepare(&sig, set, (uint8_t)info->alg, tag, &run->keyset.zone,
					   per->inception, per->expiration);
	if (err == SIGNET_OK)
		err = dns_rrsig_signed_data(&sig, set, &data);
	size_t len = 0;
	if (err == SIGNET_OK) {
		err = hsm_sign(s, info->id, info->id_len, data.data, data.len, sig.sig,
			       sizeof(sig.sig), &len, hsmerr, sizeof(hsmerr));
		if (err != SIGNET_OK)
			cer_fail(errmsg, errlen, err, "signing failed: %s", hsmerr);
	}
	if (err == SIGNET_OK) {
		sig.sig_len = (uint16_t)len;
		err = dns_rrsig_to_rdata(&sig, &rdata);
	}
	if (err == SIGNET_OK)
		err = dns_rrset_add(sigs, rdata.data, rdata.len);
	sg_buf_free(&data);
	sg_buf_free(&rdata);
	return err;
}

/* Find every named KSK in the token (this zone's, safe, not retired, of an
 * allowed algorithm) with its DNSKEY and tag. */
static signet_err find_named(cer_run *run, named_ksks *nk, char *errmsg, size_t errlen)
{
	cer_key_ids ids;
	signet_err err = cer_param_key_ids(run->r, &ids, errmsg, errlen);
	for (size_t i = 0; i < ids.n && err == SIGNET_OK; i++) {
		err = cer_ksk_find(run, ids.id[i], ids.len[i], false, &nk->info[i], &nk->dnskey[i],
				   errmsg, errlen);
		nk->n = i + 1; /* dnskey[i] may hold memory even on failure */
		if (err == SIGNET_OK && !alg_allowed(run->p, (uint8_t)nk->info[i].alg))
			err = cer_fail(errmsg, errlen, SIGNET_EDENIED,
				       "KSK %s: algorithm %u is not allowed by the "
				       "policy",
				       nk->info[i].label, (unsigned)nk->info[i].alg);
		if (err == SIGNET_OK)
			err = dns_key_tag(nk->dnskey[i].data, nk->dnskey[i].len, &nk->tag[i]);
	}
	return err;
}

static signet_err keyset_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	named_ksks nk;
	memset(&nk, 0, sizeof(nk)); /* zeroed sg_bufs are empty ones */
	signet_err err = find_named(run, &nk, errmsg, errlen);
	if (err == SIGNET_OK)
		err = check_keys(run, &nk, errmsg, errlen);
	hsm_session *s = NULL;
	if (err == SIGNET_OK &&
	    (err = hsm_session_open(run->tok, &s, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "cannot open a session: %s", hsmerr);

	dns_keyset *ks = &run->keyset;
	dns_keyset bundle;
	memset(&bundle, 0, sizeof(bundle));
	bundle.kind = DNS_KEYSET_BUNDLE;
	bundle.zone = ks->zone;
	bundle.serial = ks->serial;
	bundle.periods = calloc(ks->count ? ks->count : 1, sizeof(*bundle.periods));
	if (err == SIGNET_OK && bundle.periods == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	for (size_t i = 0; i < ks->count && err == SIGNET_OK; i++) {
		const dns_keyset_period *per = &ks->periods[i];
		dns_keyset_period *bp = &bundle.periods[i];
		bundle.count++;
		bp->inception = per->inception;
		bp->expiration = per->expiration;
		err = dns_rrset_copy(&bp->dnskey, &per->dnskey);
		if (err == SIGNET_OK)
			err = dns_rrset_copy(&bp->cds, &per->cds);
		if (err == SIGNET_OK)
			err = dns_rrset_copy(&bp->cdnskey, &per->cdnskey);
		dns_rrset_init(&bp->sigs, &ks->zone, DNS_T_RRSIG, DNS_CLASS_IN, per->dnskey.ttl);
		/* each named KSK signs the periods whose DNSKEY set holds it, once */
		bool done[CER_KEYSET_KSKS_MAX] = {false};
		for (size_t k = 0; k < per->dnskey.count && err == SIGNET_OK; k++) {
			int j = named_index(&nk, &per->dnskey.rr[k]);
			if (j < 0 || done[j])
				continue;
			done[j] = true;
			err = sign_set(run, s, &nk.info[j], nk.tag[j], &per->dnskey, per, &bp->sigs,
				       errmsg, errlen);
			if (err == SIGNET_OK)
				err = sign_set(run, s, &nk.info[j], nk.tag[j], &per->cds, per,
					       &bp->sigs, errmsg, errlen);
			if (err == SIGNET_OK)
				err = sign_set(run, s, &nk.info[j], nk.tag[j], &per->cdnskey, per,
					       &bp->sigs, errmsg, errlen);
		}
	}
	hsm_session_close(s);
	if (err == SIGNET_OK && (err = dns_keyset_write(&bundle, &run->out)) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "cannot write the bundle");
	dns_keyset_free(&bundle);
	for (size_t j = 0; j < CER_KEYSET_KSKS_MAX; j++)
		sg_buf_free(&nk.dnskey[j]);
	return err;
}

/* Whether the period's RRSIGs hold a proof of possession by ZSK rd: the key
 * is signetd's own (a foreign ZSK has none). */
static bool proven_own(const dns_keyset *ks, const dns_keyset_period *per, const dns_rdata *rd)
{
	for (size_t s = 0; s < per->sigs.count; s++) {
		dns_rrsig sig;
		if (dns_rrsig_from_rdata(&sig, per->sigs.rr[s].data, per->sigs.rr[s].len) ==
			    SIGNET_OK &&
		    dns_rrsig_verify(&sig, &per->dnskey, rd->data, rd->len, &ks->zone, 0) ==
			    SIGNET_OK)
			return true;
	}
	return false;
}

/* The ZSK DNSKEY RDATA of a backup's public key. */
static signet_err backup_dnskey(const hsm_backup *b, sg_buf *out)
{
	const unsigned char *p = b->pub.data;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)b->pub.len);
	if (pk == NULL)
		return SIGNET_EPARSE;
	sg_buf pub = SG_BUF_INIT;
	signet_err err = dns_dnskey_pubkey_from_evp((uint8_t)b->alg, pk, &pub);
	if (err == SIGNET_OK)
		err = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, (uint8_t)b->alg, pub.data, pub.len,
				       out);
	EVP_PKEY_free(pk);
	sg_buf_free(&pub);
	return err;
}

/* Every zsk-*.backup of dir that parses and is a ZSK backup of zone. */
static signet_err read_zsk_backups(const char *dir, const char *zone, hsm_backup **out,
				   sg_buf **dnskeys, size_t *n, char *errmsg, size_t errlen)
{
	*out = NULL;
	*dnskeys = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOTFOUND,
				"sign-keyset: cannot open the backup directory %s", dir);
	char owner[DNS_NAME_STR_MAX + 16];
	snprintf(owner, sizeof(owner), "signet:zsk:%s:", zone);
	signet_err err = SIGNET_OK;
	struct dirent *e;
	size_t seen = 0;
	while (err == SIGNET_OK && (e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (nl < 11 || strncmp(e->d_name, "zsk-", 4) != 0 ||
		    strcmp(e->d_name + nl - 7, ".backup") != 0)
			continue;
		if (++seen > ZSK_BACKUPS_MAX) {
			err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
				       "sign-keyset: over %d backup files in %s", ZSK_BACKUPS_MAX,
				       dir);
			break;
		}
		sg_buf path = SG_BUF_INIT, text = SG_BUF_INIT, rd = SG_BUF_INIT;
		hsm_backup b;
		memset(&b, 0, sizeof(b));
		/* A file that cannot be read or parsed proves nothing: skipped,
		 * so that the key it should have been stays without a backup. */
		bool ok = sg_buf_printf(&path, "%s/%s", dir, e->d_name) == SIGNET_OK &&
			  sg_file_read((const char *)path.data, 65536, &text) == SIGNET_OK &&
			  hsm_backup_decode(text.data, text.len, &b, NULL, 0) == SIGNET_OK &&
			  strncasecmp(b.label, owner, strlen(owner)) == 0 &&
			  backup_dnskey(&b, &rd) == SIGNET_OK;
		sg_buf_free(&path);
		sg_buf_free(&text);
		hsm_backup *g = ok ? realloc(*out, (*n + 1) * sizeof(*g)) : NULL;
		sg_buf *gd = ok && g ? realloc(*dnskeys, (*n + 1) * sizeof(*gd)) : NULL;
		if (g)
			*out = g;
		if (gd)
			*dnskeys = gd;
		if (ok && (g == NULL || gd == NULL))
			err = cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
		if (!ok || err != SIGNET_OK) {
			hsm_backup_free(&b);
			sg_buf_free(&rd);
			continue;
		}
		g[*n] = b;
		gd[*n] = rd;
		(*n)++;
	}
	closedir(d);
	return err;
}

/* With the policy's require-zsk-backup: every ZSK of the request that
 * signetd holds (with a proof of possession, not a foreign key) needs a
 * backup in --backup-dir: of this zone, of that DNSKEY, wrapped to the KSK
 * token's domain, and proven here, in the KSK token -- the ceremony's own
 * proof, not signetd's word. */
static signet_err check_zsk_backups(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (!run->p->require_zsk_backup)
		return SIGNET_OK;
	uint8_t domain[HSM_ID_LEN];
	signet_err err = hsm_domain_find(run->tok, domain, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err,
				"sign-keyset: the policy requires ZSK backups, but the KSK "
				"token holds no usable backup domain: %s",
				hsmerr);
	if (run->x->backup_dir == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"sign-keyset: the policy requires ZSK backups: "
				"--backup-dir must hold signetd's exported ZSK backups");
	hsm_backup *bs = NULL;
	sg_buf *rds = NULL;
	size_t nb = 0;
	err = read_zsk_backups(run->x->backup_dir, run->zone, &bs, &rds, &nb, errmsg, errlen);
	bool *proven = calloc(nb ? nb : 1, sizeof(bool));
	if (err == SIGNET_OK && proven == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	const dns_keyset *ks = &run->keyset;
	for (size_t i = 0; err == SIGNET_OK && i < ks->count; i++) {
		const dns_keyset_period *per = &ks->periods[i];
		for (size_t k = 0; err == SIGNET_OK && k < per->dnskey.count; k++) {
			const dns_rdata *rd = &per->dnskey.rr[k];
			if ((sg_get_u16(rd->data) & DNS_DNSKEY_FLAG_SEP) ||
			    !proven_own(ks, per, rd))
				continue;
			size_t j = 0;
			while (j < nb && (rds[j].len != rd->len ||
					  memcmp(rds[j].data, rd->data, rd->len) != 0 ||
					  memcmp(bs[j].domain_id, domain, HSM_ID_LEN) != 0))
				j++;
			uint16_t tag = 0;
			(void)dns_key_tag(rd->data, rd->len, &tag);
			if (j == nb) {
				err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
					       "sign-keyset: ZSK %u of period %zu has no backup "
					       "in %s wrapped to this domain; the policy requires "
					       "a proven backup (signetd --export-backups)",
					       tag, i + 1, run->x->backup_dir);
			} else if (!proven[j]) {
				if ((err = hsm_backup_prove(run->tok, &bs[j], hsmerr,
							    sizeof(hsmerr))) != SIGNET_OK)
					cer_fail(errmsg, errlen, err,
						 "sign-keyset: the backup of ZSK %u does not "
						 "prove: %s",
						 tag, hsmerr);
				proven[j] = err == SIGNET_OK;
			}
		}
	}
	for (size_t j = 0; j < nb; j++) {
		hsm_backup_free(&bs[j]);
		sg_buf_free(&rds[j]);
	}
	free(bs);
	free(rds);
	free(proven);
	return err;
}

/* The token's view of the keys, before the intent: a refusal here spends
 * nothing (perform checks again: it runs on the same token a moment later). */
static signet_err keyset_ready(cer_run *run, char *errmsg, size_t errlen)
{
	named_ksks nk;
	memset(&nk, 0, sizeof(nk));
	signet_err err = find_named(run, &nk, errmsg, errlen);
	if (err == SIGNET_OK)
		err = check_keys(run, &nk, errmsg, errlen);
	if (err == SIGNET_OK)
		err = check_zsk_backups(run, errmsg, errlen);
	for (size_t j = 0; j < CER_KEYSET_KSKS_MAX; j++)
		sg_buf_free(&nk.dnskey[j]);
	return err;
}

const cer_op cer_op_sign_keyset = {CER_OP_SIGN_KEYSET, true, keyset_check, keyset_perform,
				   keyset_ready};
