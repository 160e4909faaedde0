/* check_keys.c -- the zone's keys in `signet check`: the DNSKEY RRset and
 * its KSKs, CDS/CDNSKEY against them, and the DS at the parent or in a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "client/check_internal.h"

bool chk_is_ksk(const check_ctx *c, uint16_t tag, uint8_t alg)
{
	for (size_t i = 0; i < c->nksk; i++)
		if (c->ksk_tags[i] == tag && c->ksk_algs[i] == alg)
			return true;
	return false;
}

bool chk_dnskey(check_ctx *c)
{
	check_answer a;
	if (!chk_ask(c, &c->o->zone, DNS_T_DNSKEY, &a))
		return false;
	chk_judge_size(c, &a, "DNSKEY");
	if (chk_collect(&a, 1, &c->o->zone, DNS_T_DNSKEY, &c->dnskey) != SIGNET_OK) {
		c->nomem = true;
		check_answer_free(&a);
		return false;
	}
	if (c->dnskey.count == 0) {
		check_report_add(c->r, CHECK_CRITICAL, "dnskey",
				 "no DNSKEY RRset at %s: the zone is not signed", c->zone);
		check_answer_free(&a);
		return false;
	}
	unsigned ksk[256] = {0}, zsk[256] = {0};
	size_t zone_keys = 0;
	sg_buf list = SG_BUF_INIT;
	for (size_t i = 0; i < c->dnskey.count && i < CHK_KEYS_MAX; i++) {
		const dns_rdata *k = &c->dnskey.rr[i];
		uint16_t flags = sg_get_u16(k->data), tag = 0;
		uint8_t alg = k->data[3];
		(void)dns_key_tag(k->data, k->len, &tag);
		if (k->data[2] != DNS_DNSKEY_PROTOCOL || !(flags & DNS_DNSKEY_FLAG_ZONE)) {
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "key %u is not a zone key (flags %u, protocol %u)", tag,
					 flags, k->data[2]);
			continue;
		}
		zone_keys++;
		if (!dns_alg_supported(alg))
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "key %u has algorithm %u, which signet does not support "
					 "(8, 13, 14, 15)",
					 tag, alg);
		if (flags & DNS_DNSKEY_FLAG_REVOKE)
			continue;
		if (flags & DNS_DNSKEY_FLAG_SEP)
			ksk[alg]++;
		else
			zsk[alg]++;
		(void)sg_buf_printf(&list, "%s%u %s alg %u", list.len ? ", " : "", tag,
				    flags & DNS_DNSKEY_FLAG_SEP ? "KSK" : "ZSK", alg);
	}
	if (c->dnskey.count > CHK_KEYS_MAX)
		check_report_add(c->r, CHECK_WARNING, "dnskey",
				 "%zu DNSKEYs: only the first %d were looked at", c->dnskey.count,
				 CHK_KEYS_MAX);
	check_report_add(c->r, CHECK_OK, "dnskey", "%zu keys: %s", c->dnskey.count,
			 list.len ? (const char *)list.data : "none usable");
	sg_buf_free(&list);

	/* The keys whose RRSIG over DNSKEY verifies are the KSKs in use. */
	if (chk_verify_set(c, &a, 1, &c->o->zone, DNS_T_DNSKEY, &c->dnskey, &c->o->zone,
			   c->ksk_tags, c->ksk_algs, &c->nksk)) {
		sg_buf ksks = SG_BUF_INIT;
		for (size_t i = 0; i < c->nksk; i++)
			(void)sg_buf_printf(&ksks, "%s%u", i ? ", " : "", c->ksk_tags[i]);
		check_report_add(c->r, CHECK_OK, "dnskey", "DNSKEY RRset signed by key%s %s",
				 c->nksk > 1 ? "s" : "", ksks.len ? (const char *)ksks.data : "");
		sg_buf_free(&ksks);
	}
	for (unsigned alg = 0; alg < 256; alg++) {
		if (!ksk[alg] && !zsk[alg])
			continue;
		if (!ksk[alg])
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "algorithm %u has no KSK (SEP flag)", alg);
		if (!zsk[alg])
			check_report_add(c->r, CHECK_WARNING, "dnskey",
					 "algorithm %u has no ZSK (only SEP keys: a CSK?)", alg);
	}
	check_answer_free(&a);
	return zone_keys > 0;
}

/* ---- DS, CDS, CDNSKEY ----------------------------------------------------- */

/* The key of the DNSKEY RRset a DS names, or NULL. */
const dns_rdata *chk_ds_key(const check_ctx *c, const uint8_t *ds, size_t len)
{
	for (size_t i = 0; i < c->dnskey.count; i++)
		if (dns_ds_match(&c->o->zone, ds, len, c->dnskey.rr[i].data, c->dnskey.rr[i].len) ==
		    SIGNET_OK)
			return &c->dnskey.rr[i];
	return NULL;
}

/* Match a DS RRset (from the parent or a file) with the KSKs. */
static void judge_ds(check_ctx *c, const dns_rrset *ds, const char *source)
{
	if (ds->count == 0) {
		check_report_add(c->r, CHECK_WARNING, "ds",
				 "no DS for %s %s: validators treat the zone as insecure", c->zone,
				 source);
		return;
	}
	size_t good = 0;
	for (size_t i = 0; i < ds->count; i++) {
		const dns_rdata *d = &ds->rr[i];
		if (d->len < 5) {
			check_report_add(c->r, CHECK_CRITICAL, "ds", "malformed DS %s", source);
			continue;
		}
		uint16_t tag = sg_get_u16(d->data);
		uint8_t alg = d->data[2], dt = d->data[3];
		if (dt != 1 && dt != DNS_DIGEST_SHA256 && dt != DNS_DIGEST_SHA384) {
			check_report_add(c->r, CHECK_WARNING, "ds",
					 "DS %u alg %u digest type %u %s: digest type not "
					 "checked",
					 tag, alg, dt, source);
			continue;
		}
		const dns_rdata *k = chk_ds_key(c, d->data, d->len);
		if (!k) {
			/* A key with the DS's tag and algorithm whose digest
			 * differs is a wrong digest, not another key. */
			bool named = false;
			for (size_t j = 0; j < c->dnskey.count && !named; j++) {
				uint16_t kt;
				const dns_rdata *kk = &c->dnskey.rr[j];
				named = kk->len >= 4 && kk->data[3] == alg &&
					dns_key_tag(kk->data, kk->len, &kt) == SIGNET_OK &&
					kt == tag;
			}
			check_report_add(c->r, CHECK_WARNING, "ds",
					 named ? "DS %u alg %u digest type %u %s names a DNSKEY "
						 "but its digest is wrong"
					       : "DS %u alg %u digest type %u %s matches no DNSKEY",
					 tag, alg, dt, source);
			continue;
		}
		if (!chk_is_ksk(c, tag, alg)) {
			check_report_add(c->r, CHECK_WARNING, "ds",
					 "DS %u alg %u %s matches a DNSKEY that does not sign the "
					 "DNSKEY RRset",
					 tag, alg, source);
			continue;
		}
		good++;
		check_report_add(c->r, CHECK_OK, "ds",
				 "DS %u alg %u digest type %u %s matches KSK %u, which signs "
				 "the DNSKEY RRset",
				 tag, alg, dt, source, tag);
	}
	if (good == 0)
		check_report_add(c->r, CHECK_CRITICAL, "ds",
				 "no DS %s matches a KSK that signs the DNSKEY RRset: the chain "
				 "of trust is broken, validators answer SERVFAIL",
				 source);
}

void chk_ds(check_ctx *c)
{
	dns_rrset ds;
	dns_rrset_init(&ds, &c->o->zone, DNS_T_DS, DNS_CLASS_IN, 0);
	if (c->o->ds_file) {
		chk_ds_file(c, &ds);
		char source[CLIENT_PATH_MAX + 8];
		snprintf(source, sizeof(source), "in %.1000s", c->o->ds_file);
		/* A file without one DS of the zone is the wrong file, not an
		 * insecure zone: the caller's mistake. */
		if (ds.count == 0)
			check_report_add(c->r, CHECK_UNKNOWN, "ds",
					 "%s holds no DS RR of %s (CDS and other records are "
					 "not taken for DS)",
					 c->o->ds_file, c->zone);
		else
			judge_ds(c, &ds, source);
	} else if (c->o->have_parent) {
		char err[256];
		check_answer a;
		signet_err ret = check_query(&c->o->parent, &c->o->zone, DNS_T_DS, &a, err,
					     sizeof(err));
		if (ret != SIGNET_OK) {
			check_report_add(c->r, ret == SIGNET_EIO ? CHECK_UNKNOWN : CHECK_CRITICAL,
					 "ds", "parent %s: %s", c->o->parent.addr, err);
		} else if (a.rcode != LDNS_RCODE_NOERROR) {
			check_report_add(c->r, CHECK_CRITICAL, "ds",
					 "parent %s answers the DS query with rcode %d",
					 c->o->parent.addr, a.rcode);
		} else if (chk_collect(&a, 1, &c->o->zone, DNS_T_DS, &ds) == SIGNET_OK) {
			char source[96];
			snprintf(source, sizeof(source), "at the parent %s", c->o->parent.addr);
			judge_ds(c, &ds, source);
			dns_name signer;
			/* The DS is the parent's data, signed with the parent's keys:
			 * fetch them from the same server to check the signature. */
			for (size_t i = 0; i < a.count; i++) {
				dns_rrsig sig;
				if (a.rrs[i].type != DNS_T_RRSIG || a.rrs[i].section != 1 ||
				    dns_rrsig_from_rdata(&sig, a.rrs[i].rdata, a.rrs[i].len) !=
					    SIGNET_OK ||
				    sig.type_covered != DNS_T_DS)
					continue;
				signer = sig.signer;
				check_answer pk;
				if (check_query(&c->o->parent, &signer, DNS_T_DNSKEY, &pk, err,
						sizeof(err)) != SIGNET_OK)
					break;
				dns_rrset keys;
				if (chk_collect(&pk, 1, &signer, DNS_T_DNSKEY, &keys) ==
					    SIGNET_OK &&
				    chk_verify_set(c, &a, 1, &c->o->zone, DNS_T_DS, &keys, &signer,
						   NULL, NULL, NULL))
					check_report_add(c->r, CHECK_OK, "ds",
							 "the DS RRset verifies with the parent's "
							 "DNSKEY");
				dns_rrset_clear(&keys);
				check_answer_free(&pk);
				break;
			}
		}
		if (ret == SIGNET_OK)
			check_answer_free(&a);
	} else {
		check_report_add(c->r, CHECK_OK, "ds",
				 "DS not checked: give --parent or --ds to compare it with the "
				 "KSKs");
	}
	dns_rrset_clear(&ds);
}

void chk_cds(check_ctx *c)
{
	check_answer a, b;
	if (!chk_ask(c, &c->o->zone, DNS_T_CDS, &a))
		return;
	if (!chk_ask(c, &c->o->zone, DNS_T_CDNSKEY, &b)) {
		check_answer_free(&a);
		return;
	}
	chk_verify_answer(c, &a);
	chk_verify_answer(c, &b);
	dns_rrset cds, cdnskey;
	if (chk_collect(&a, 1, &c->o->zone, DNS_T_CDS, &cds) != SIGNET_OK ||
	    chk_collect(&b, 1, &c->o->zone, DNS_T_CDNSKEY, &cdnskey) != SIGNET_OK)
		c->nomem = true;
	sg_buf del_cds = SG_BUF_INIT, del_cdnskey = SG_BUF_INIT;
	if (dns_cds_delete_rdata(&del_cds) != SIGNET_OK ||
	    dns_cdnskey_delete_rdata(&del_cdnskey) != SIGNET_OK)
		c->nomem = true;
	size_t ndel = 0;
	for (size_t i = 0; i < cds.count; i++)
		ndel += cds.rr[i].len == del_cds.len &&
			memcmp(cds.rr[i].data, del_cds.data, del_cds.len) == 0;
	for (size_t i = 0; i < cdnskey.count; i++)
		ndel += cdnskey.rr[i].len == del_cdnskey.len &&
			memcmp(cdnskey.rr[i].data, del_cdnskey.data, del_cdnskey.len) == 0;
	uint16_t cds_tags[CHK_KEYS_MAX], key_tags[CHK_KEYS_MAX];
	size_t ncds = 0, nkey = 0;
	bool bad = false;
	if (cds.count == 0 && cdnskey.count == 0) {
		check_report_add(c->r, CHECK_OK, "cds", "no CDS/CDNSKEY published");
	} else if (ndel) {
		if (ndel != cds.count + cdnskey.count)
			check_report_add(c->r, CHECK_CRITICAL, "cds",
					 "CDS/CDNSKEY mix the RFC 8078 delete form with keys");
		else
			check_report_add(c->r, CHECK_WARNING, "cds",
					 "CDS/CDNSKEY ask the parent to delete the DS (RFC 8078): "
					 "the zone goes insecure");
	} else {
		for (size_t i = 0; i < cds.count; i++) {
			const dns_rdata *k = chk_ds_key(c, cds.rr[i].data, cds.rr[i].len);
			uint16_t tag = cds.rr[i].len >= 2 ? sg_get_u16(cds.rr[i].data) : 0;
			if (!k || !chk_is_ksk(c, tag, k->data[3])) {
				check_report_add(
					c->r, CHECK_CRITICAL, "cds",
					"CDS %u names no KSK that signs the DNSKEY RRset: a "
					"parent that follows it breaks the zone",
					tag);
				bad = true;
			} else if (ncds < CHK_KEYS_MAX) {
				cds_tags[ncds++] = tag;
			}
		}
		for (size_t i = 0; i < cdnskey.count; i++) {
			const dns_rdata *ck = &cdnskey.rr[i];
			uint16_t tag = 0;
			bool found = false;
			for (size_t j = 0; j < c->dnskey.count && !found; j++)
				found = c->dnskey.rr[j].len == ck->len &&
					memcmp(c->dnskey.rr[j].data, ck->data, ck->len) == 0;
			if (ck->len < 4 || dns_key_tag(ck->data, ck->len, &tag) != SIGNET_OK ||
			    !found || !chk_is_ksk(c, tag, ck->data[3])) {
				check_report_add(c->r, CHECK_CRITICAL, "cds",
						 "CDNSKEY %u is no KSK that signs the DNSKEY RRset",
						 tag);
				bad = true;
			} else if (nkey < CHK_KEYS_MAX) {
				key_tags[nkey++] = tag;
			}
		}
		bool agree = true;
		if (cds.count && cdnskey.count) {
			for (size_t i = 0; i < ncds; i++) {
				bool f = false;
				for (size_t j = 0; j < nkey && !f; j++)
					f = key_tags[j] == cds_tags[i];
				agree = agree && f;
			}
			for (size_t j = 0; j < nkey; j++) {
				bool f = false;
				for (size_t i = 0; i < ncds && !f; i++)
					f = key_tags[j] == cds_tags[i];
				agree = agree && f;
			}
		}
		if (!agree)
			check_report_add(c->r, CHECK_WARNING, "cds",
					 "CDS and CDNSKEY name different keys: parents will not "
					 "act on them (RFC 7344 4.1)");
		else if (!bad)
			check_report_add(c->r, CHECK_OK, "cds",
					 "%zu CDS and %zu CDNSKEY agree with the KSKs", cds.count,
					 cdnskey.count);
	}
	sg_buf_free(&del_cds);
	sg_buf_free(&del_cdnskey);
	dns_rrset_clear(&cds);
	dns_rrset_clear(&cdnskey);
	check_answer_free(&a);
	check_answer_free(&b);
}
