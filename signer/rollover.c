/* rollover.c -- keys over time: the schedule of every key of a zone (ZSK
 * pre-publication, double-KSK and double-DS KSK rollovers, algorithm
 * rollover, foreign ZSKs) and what each key-set period publishes. Times
 * follow RFC 7583; the order of an algorithm rollover RFC 6781 4.1.4. */
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

#define HOUR 3600
#define MAX_SUCCESSORS 64 /* keys one plan may make: bounds a runaway loop */

static bool is_zsk(const signer_key *k)
{
	return strcmp(k->role, "zsk") == 0 && !k->foreign;
}

static bool is_ksk(const signer_key *k)
{
	return strcmp(k->role, "ksk") == 0;
}

static bool planned(const signer_key *k)
{
	return k->p_publish != 0 || k->p_active != 0;
}

static void set_if_unset(int64_t *field, int64_t v)
{
	if (*field == 0)
		*field = v;
}

static void set_min(int64_t *field, int64_t v)
{
	if (*field == 0 || v < *field)
		*field = v;
}

/* A KSK that was there before any rollover (AddZone): in the DNSKEY RRset
 * and wanted at the parent from the hour it was added. */
static void plan_initial_ksk(signer_key *k)
{
	int64_t t = k->created > 0 ? k->created / HOUR * HOUR : HOUR;
	k->p_publish = t;
	k->p_active = t;
}

/* Does a key in keys, other than skip, with a DS wanted, have algorithm alg? */
static bool ds_alg(const signer_key *keys, size_t n, const signer_key *skip, uint8_t alg)
{
	for (size_t i = 0; i < n; i++)
		if (&keys[i] != skip && is_ksk(&keys[i]) && keys[i].p_active && keys[i].alg == alg)
			return true;
	return false;
}

/* The ZSK chain of algorithm alg: the first key and every successor due
 * before horizon. */
static signet_err plan_chain(signer_key **keysp, size_t *np, const signer_policy *p,
			     const dns_name *zone, uint8_t alg, bool alg_roll, int64_t now,
			     int64_t horizon, signer_zsk_maker make, void *arg)
{
	uint32_t ipub = signer_policy_ipub(p), iret = signer_policy_iret(p);
	for (int made = 0;;) {
		signer_key *keys = *keysp;
		size_t n = *np;
		/* The last key of the chain that has a start, and the first after
		 * it that has none (a spare, or a key GenerateZsk made). */
		signer_key *last = NULL, *spare = NULL;
		for (size_t i = 0; i < n; i++) {
			signer_key *k = &keys[i];
			if (!is_zsk(k) || k->alg != alg || k->state == SIGNER_KEY_REMOVED ||
			    k->id_len == 0)
				continue;
			if (k->p_active)
				last = k;
			else if (!spare)
				spare = k;
		}
		bool need;
		if (!last)
			need = true;
		else
			need = last->p_retire == 0 &&
			       last->p_active + (int64_t)p->zsk_lifetime - ipub < horizon;
		if (!need)
			return SIGNET_OK;
		if (!spare) {
			if (made++ >= MAX_SUCCESSORS || !make)
				return make ? SIGNET_ELIMIT : SIGNET_ESTATE;
			signer_key nk;
			memset(&nk, 0, sizeof(nk));
			signet_err ret = make(arg, zone, alg, &nk);
			if (ret != SIGNET_OK)
				return ret;
			signer_key *g = realloc(keys, (n + 1) * sizeof(*g));
			if (!g)
				return SIGNET_ENOMEM;
			g[n] = nk;
			*keysp = g;
			*np = n + 1;
			continue; /* pointers moved: look again */
		}
		if (!last) {
			/* The first key of its algorithm. In a new zone it signs at
			 * once (nothing was trusted before); in an algorithm
			 * rollover its signatures come first and its DNSKEY only
			 * once they are in every cache. */
			spare->p_active = now;
			spare->p_publish = alg_roll ? now + signer_policy_isig(p)
						    : now / HOUR * HOUR;
			continue;
		}
		int64_t act = last->p_active + (int64_t)p->zsk_lifetime;
		if (act < now + (int64_t)ipub)
			act = now + ipub; /* late: keep the old key until the new is known */
		spare->p_publish = act - ipub;
		spare->p_active = act;
		last->p_retire = act;
		last->p_remove = act + iret;
	}
}

signet_err signer_rollover_plan(signer_state *st, const dns_name *zone, int64_t now,
				int64_t horizon, signer_zsk_maker make, void *arg)
{
	if (!st || !zone || now <= 0 || horizon < now)
		return SIGNET_EINVAL;
	signer_policy p;
	signet_err ret = signer_state_zone_policy(st, zone, &p);
	if (ret != SIGNET_OK)
		return ret;
	/* Start from the schedule in force: plans of requests never answered
	 * are dropped. */
	ret = signer_state_reset_plan(st, zone);
	signer_key *keys = NULL;
	size_t n = 0;
	if (ret == SIGNET_OK)
		ret = signer_state_list_keys(st, zone, 0, &keys, &n);
	if (ret != SIGNET_OK)
		return ret;
	uint32_t ipub = signer_policy_ipub(&p), ids = signer_policy_ids(&p);

	/* KSKs and ZSKs from before schedules existed keep doing what they do. */
	bool old_alg_signing = false;
	for (size_t i = 0; i < n; i++) {
		signer_key *k = &keys[i];
		if (is_ksk(k) && !planned(k) && k->state != SIGNER_KEY_GENERATED &&
		    k->state != SIGNER_KEY_REMOVED)
			plan_initial_ksk(k);
		if (is_zsk(k) && !planned(k) && k->state == SIGNER_KEY_ACTIVE)
			k->p_publish = k->p_active = k->created > 0 ? k->created : now;
		if (is_zsk(k) && k->p_active && k->alg != p.algorithm &&
		    (!k->p_retire || k->p_retire > now))
			old_alg_signing = true;
	}
	ret = plan_chain(&keys, &n, &p, zone, p.algorithm, old_alg_signing, now, horizon, make,
			 arg);

	/* When the first ZSK of the policy's algorithm is published: the new
	 * KSK of an algorithm rollover appears with it. */
	int64_t alg_pub = 0;
	for (size_t i = 0; ret == SIGNET_OK && i < n; i++)
		if (is_zsk(&keys[i]) && keys[i].alg == p.algorithm && keys[i].p_publish &&
		    (!alg_pub || keys[i].p_publish < alg_pub))
			alg_pub = keys[i].p_publish;

	for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
		signer_key *nk = &keys[i];
		if (!is_ksk(nk) || nk->state == SIGNER_KEY_REMOVED)
			continue;
		bool alg_roll = !ds_alg(keys, n, nk, nk->alg);
		if (!planned(nk)) {
			/* A rollover starts: the new KSK from signer_rollover_add_ksk. */
			if (alg_roll) {
				nk->p_publish = alg_pub ? alg_pub : now;
				nk->p_active = nk->p_publish + ipub;
			} else if (p.ksk_roll == SIGNER_KSK_DOUBLE_DS) {
				nk->p_active = now; /* CDS first; DNSKEY after ds-seen */
			} else {
				nk->p_publish = now;
				nk->p_active = now + ipub;
			}
			/* Double-KSK and algorithm: the CDS names only the new key
			 * from the moment its DNSKEY is in every cache. */
			for (size_t j = 0; nk->p_publish && j < n; j++)
				if (j != i && is_ksk(&keys[j]) && keys[j].p_active &&
				    keys[j].p_active < nk->p_active)
					set_if_unset(&keys[j].p_retire, nk->p_active);
		}
		if (!nk->ds_seen)
			continue;
		/* The parent serves the new DS since ds_seen: the old DS leaves
		 * caches after the DS TTL, and only then the old keys. */
		int64_t gone = nk->ds_seen + ids;
		if (!nk->p_publish) {
			/* Double-DS: swap the DNSKEYs now that both DS are cached. */
			nk->p_publish = gone;
		}
		for (size_t j = 0; j < n; j++) {
			signer_key *o = &keys[j];
			if (j == i || o->state == SIGNER_KEY_REMOVED)
				continue;
			if (is_ksk(o) && o->p_active && o->p_active < nk->p_active) {
				set_if_unset(&o->p_remove,
					     gone > nk->p_publish ? gone : nk->p_publish);
				set_if_unset(&o->p_retire, o->p_remove + ipub);
			}
			/* Algorithm rollover: the old algorithm's ZSKs leave the
			 * DNSKEY RRset with its KSK, and sign until that RRset has
			 * left every cache (signatures last, RFC 6781 4.1.4). */
			if (alg_roll && is_zsk(o) && o->alg != nk->alg && o->p_active) {
				/* Sooner than a same-algorithm successor would have
				 * taken over, if one was planned. */
				set_min(&o->p_remove, gone > nk->p_publish ? gone : nk->p_publish);
				/* The DNSKEY leaves at the end of the period holding
				 * p_remove: sign a period longer. */
				set_min(&o->p_retire,
					o->p_remove + (int64_t)p.keyset_period + ipub);
			}
		}
	}
	for (size_t i = 0; ret == SIGNET_OK && i < n; i++)
		if (planned(&keys[i]))
			ret = signer_state_set_schedule(st, &keys[i]);
	free(keys);
	return ret;
}

/* The DNSKEY RDATA of zone's key with this DNSKEY, or SIGNET_ENOTFOUND. */
static signet_err find_key(signer_state *st, const dns_name *zone, const uint8_t *dnskey,
			   size_t len, signer_key **keys, size_t *n, signer_key **found)
{
	signet_err ret = signer_state_list_keys(st, zone, 0, keys, n);
	if (ret != SIGNET_OK)
		return ret;
	*found = NULL;
	for (size_t i = 0; i < *n; i++)
		if ((*keys)[i].dnskey_len == len && memcmp((*keys)[i].dnskey, dnskey, len) == 0)
			*found = &(*keys)[i];
	return *found ? SIGNET_OK : SIGNET_ENOTFOUND;
}

signet_err signer_dnskey_check(const uint8_t *d, size_t len, bool sep, uint16_t *tag)
{
	if (!d || len < 4 || len > SIGNER_DNSKEY_MAX ||
	    dns_rdata_check(DNS_T_DNSKEY, d, len) != SIGNET_OK ||
	    !(sg_get_u16(d) & DNS_DNSKEY_FLAG_ZONE) ||
	    ((sg_get_u16(d) & DNS_DNSKEY_FLAG_SEP) != 0) != sep || !dns_alg_supported(d[3]) ||
	    dns_key_tag(d, len, tag) != SIGNET_OK)
		return SIGNET_EINVAL;
	return SIGNET_OK;
}

signet_err signer_rollover_add_ksk(signer_state *st, const dns_name *zone, const uint8_t *dnskey,
				   size_t len, int64_t now)
{
	if (!st || !zone || now <= 0)
		return SIGNET_EINVAL;
	signer_key k;
	memset(&k, 0, sizeof(k));
	signet_err ret = signer_dnskey_check(dnskey, len, true, &k.key_tag);
	if (ret != SIGNET_OK)
		return ret;
	signer_policy p;
	ret = signer_state_zone_policy(st, zone, &p);
	if (ret != SIGNET_OK)
		return ret;
	signer_key *keys = NULL;
	size_t n = 0;
	ret = signer_state_list_keys(st, zone, 0, &keys, &n);
	if (ret != SIGNET_OK)
		return ret;
	/* One rollover at a time: one KSK not on its way out, none waiting
	 * for its first plan. */
	bool same_alg = false;
	size_t staying = 0;
	for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
		const signer_key *o = &keys[i];
		if (o->dnskey_len == len && memcmp(o->dnskey, dnskey, len) == 0)
			ret = SIGNET_EEXIST;
		if (!is_ksk(o) || o->state == SIGNER_KEY_REMOVED)
			continue;
		if (o->state == SIGNER_KEY_GENERATED && !planned(o))
			staying += 2;
		else if (!o->p_remove)
			staying++;
		if (o->alg == dnskey[3])
			same_alg = true;
	}
	free(keys);
	if (ret == SIGNET_OK && staying > 1)
		ret = SIGNET_ESTATE;
	if (ret != SIGNET_OK)
		return ret;
	k.zone = *zone;
	dns_name_lower(&k.zone);
	memcpy(k.role, "ksk", 4);
	k.alg = dnskey[3];
	k.state = SIGNER_KEY_GENERATED;
	memcpy(k.dnskey, dnskey, len);
	k.dnskey_len = len;
	k.created = now;
	ret = signer_state_add_key(st, &k);
	if (ret == SIGNET_OK && !same_alg && p.algorithm != k.alg) {
		/* A KSK of a new algorithm: new ZSKs follow it. */
		p.algorithm = k.alg;
		ret = signer_state_set_policy(st, zone, &p);
	}
	return ret;
}

signet_err signer_rollover_ds_wait(const signer_key *keys, size_t n, int64_t now, size_t *wanted,
				   int64_t *since, bool *gone)
{
	if ((n && !keys) || !wanted || !since)
		return SIGNET_EINVAL;
	for (size_t i = 0; i < n; i++) {
		const signer_key *k = &keys[i];
		/* The parent may show the new DS only once resolvers can match
		 * it: the new KSK committed, and (double-KSK) its DNSKEY in
		 * every cache; and only while an older KSK is still there. */
		if (!is_ksk(k) || k->ds_seen || !k->committed || !k->t_active || now < k->t_active)
			continue;
		bool older = false;
		for (size_t j = 0; j < n; j++) {
			const signer_key *o = &keys[j];
			bool old = j != i && is_ksk(o) && o->t_active &&
				   o->t_active < k->t_active && !o->t_remove;
			older = older || old;
			if (gone)
				gone[j] = old && o->t_retire && o->t_retire <= now;
		}
		if (!older)
			continue;
		*wanted = i;
		*since = k->t_active;
		return SIGNET_OK;
	}
	if (gone)
		for (size_t j = 0; j < n; j++)
			gone[j] = false;
	return SIGNET_ENOTFOUND;
}

signet_err signer_rollover_ds_seen(signer_state *st, const dns_name *zone, const uint8_t *dnskey,
				   size_t len, int64_t now)
{
	if (!st || !zone || !dnskey || now <= 0)
		return SIGNET_EINVAL;
	signer_key *keys = NULL, *k = NULL;
	size_t n = 0, w = 0;
	int64_t since = 0;
	signet_err ret = find_key(st, zone, dnskey, len, &keys, &n, &k);
	if (ret == SIGNET_OK && !is_ksk(k))
		ret = SIGNET_ENOTFOUND;
	/* Only the KSK the rollover waits for (what Health and ConfirmDs
	 * name, too). */
	if (ret == SIGNET_OK &&
	    (signer_rollover_ds_wait(keys, n, now, &w, &since, NULL) != SIGNET_OK || &keys[w] != k))
		ret = SIGNET_ESTATE;
	if (ret == SIGNET_OK) {
		k->ds_seen = now;
		ret = signer_state_set_schedule(st, k);
	}
	free(keys);
	return ret;
}

signet_err signer_rollover_foreign_zsk(signer_state *st, const dns_name *zone,
				       const uint8_t *dnskey, size_t len, bool remove, int64_t now)
{
	if (!st || !zone || now <= 0)
		return SIGNET_EINVAL;
	signer_key k;
	memset(&k, 0, sizeof(k));
	signet_err ret = signer_dnskey_check(dnskey, len, false, &k.key_tag);
	if (ret != SIGNET_OK)
		return ret;
	signer_policy p;
	ret = signer_state_zone_policy(st, zone, &p);
	if (ret != SIGNET_OK)
		return ret;
	if (remove) {
		signer_key *keys = NULL, *f = NULL;
		size_t n = 0;
		ret = find_key(st, zone, dnskey, len, &keys, &n, &f);
		if (ret == SIGNET_OK && (!f->foreign || f->p_remove))
			ret = SIGNET_ENOTFOUND;
		if (ret == SIGNET_OK) {
			f->p_remove = now;
			ret = signer_state_set_schedule(st, f);
		}
		free(keys);
		return ret;
	}
	k.zone = *zone;
	dns_name_lower(&k.zone);
	memcpy(k.role, "zsk", 4);
	k.alg = dnskey[3];
	k.state = SIGNER_KEY_PUBLISHED;
	k.foreign = true;
	memcpy(k.dnskey, dnskey, len);
	k.dnskey_len = len;
	k.created = now;
	k.p_publish = now; /* never active: the other signer signs with it */
	return signer_state_add_key(st, &k);
}

/* Is k the first key of its role and algorithm to be published (an
 * algorithm rollover's new key, or a zone's first)? */
static bool first_of_alg(const signer_key *keys, size_t n, const signer_key *k)
{
	for (size_t i = 0; i < n; i++) {
		const signer_key *o = &keys[i];
		if (o != k && strcmp(o->role, k->role) == 0 && !o->foreign && o->alg == k->alg &&
		    o->p_publish && o->p_publish < k->p_publish)
			return false;
	}
	return true;
}

/* Is [from, until) (until 0: open) overlapping [start, end)? */
static bool overlaps(int64_t from, int64_t until, int64_t start, int64_t end)
{
	return from && from < end && (!until || until > start);
}

signet_err signer_rollover_period(const signer_key *keys, size_t nkeys, int64_t start, int64_t end,
				  bool insecure, dns_rrset *dnskey, dns_rrset *cds,
				  dns_rrset *cdnskey)
{
	if ((nkeys && !keys) || !dnskey || !cds || !cdnskey || end <= start)
		return SIGNET_EINVAL;
	/* CDS/CDNSKEY appear with the first KSK rollover and follow the KSKs
	 * whose DS is wanted from then on; before it the DS went to the parent
	 * through the ceremony's export-ds (RFC 7344 makes them optional). */
	size_t ever = 0;
	for (size_t i = 0; i < nkeys; i++)
		if (is_ksk(&keys[i]))
			ever++;
	signet_err ret = SIGNET_OK;
	sg_buf rd = SG_BUF_INIT;
	for (size_t i = 0; ret == SIGNET_OK && i < nkeys; i++) {
		const signer_key *k = &keys[i];
		bool shown = planned(k) ? overlaps(k->p_publish, k->p_remove, start, end)
					: k->state != SIGNER_KEY_REMOVED;
		/* Publishing early is safe for a successor of the same algorithm;
		 * a key of a new algorithm appears only once its signatures are
		 * in every cache (RFC 6781 4.1.4), so from the first period that
		 * starts after its publication time. */
		if (shown && planned(k) && k->p_publish > start && first_of_alg(keys, nkeys, k))
			shown = false;
		if (shown)
			ret = dns_rrset_add(dnskey, k->dnskey, k->dnskey_len);
		/* The DS wanted at the period's start: a new one only once it
		 * is due for the whole period, an old one as long as it is
		 * due at all. */
		if (ret != SIGNET_OK || insecure || ever < 2 || !is_ksk(k) || !k->p_active ||
		    k->p_active > start || (k->p_retire && k->p_retire <= start))
			continue;
		sg_buf_reset(&rd);
		ret = dns_ds_rdata(&dnskey->owner, k->dnskey, k->dnskey_len, 2, &rd);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(cds, rd.data, rd.len);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(cdnskey, k->dnskey, k->dnskey_len);
	}
	if (ret == SIGNET_OK && insecure) {
		sg_buf_reset(&rd);
		ret = dns_cds_delete_rdata(&rd);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(cds, rd.data, rd.len);
		sg_buf_reset(&rd);
		if (ret == SIGNET_OK)
			ret = dns_cdnskey_delete_rdata(&rd);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(cdnskey, rd.data, rd.len);
	}
	sg_buf_free(&rd);
	if (ret == SIGNET_OK)
		ret = dns_rrset_canonicalize(dnskey);
	if (ret == SIGNET_OK)
		ret = dns_rrset_canonicalize(cds);
	if (ret == SIGNET_OK)
		ret = dns_rrset_canonicalize(cdnskey);
	return ret;
}
