/* state.c -- the state store's API: argument checks, names in lower case,
 * key states from the clock, the row forms every engine shares; the
 * engines (state_sqlite.c, state_pg.c) store and read. */
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"
#include "signer/state_backend.h"

struct signer_state {
	const state_ops *ops;
	void *b; /* the engine's own */
};

signet_err signer_state_open_options(const char *dir, const signer_state_options *o,
				     signer_state **out)
{
	if (!out || (!o && !dir) || (o && o->backend == SIGNER_STATE_SQLITE && !dir))
		return SIGNET_EINVAL;
	signer_state *st = calloc(1, sizeof(*st));
	if (!st)
		return SIGNET_ENOMEM;
	signet_err ret;
	if (!o || o->backend == SIGNER_STATE_SQLITE)
		ret = state_sqlite_open(dir, &st->ops, &st->b);
	else if (o->backend == SIGNER_STATE_POSTGRESQL)
		ret = state_pg_open(o, &st->ops, &st->b);
	else
		ret = SIGNET_EINVAL;
	if (ret != SIGNET_OK) {
		free(st);
		return ret;
	}
	*out = st;
	return SIGNET_OK;
}

signet_err signer_state_open(const char *dir, signer_state **out)
{
	if (!dir)
		return SIGNET_EINVAL;
	return signer_state_open_options(dir, NULL, out);
}

void signer_state_close(signer_state *st)
{
	if (!st)
		return;
	st->ops->close(st->b);
	free(st);
}

const char *signer_state_backend_name(const signer_state *st)
{
	return st ? st->ops->name : "none";
}

signet_err signer_state_ping(signer_state *st)
{
	if (!st)
		return SIGNET_EINVAL;
	return st->ops->ping(st->b);
}

uint64_t signer_state_version(signer_state *st)
{
	return st ? st->ops->version(st->b) : 0;
}

static dns_name lower(const dns_name *n)
{
	dns_name l = *n;
	dns_name_lower(&l);
	return l;
}

signet_err signer_state_zone_lock(signer_state *st, const dns_name *zone)
{
	if (!st || !zone)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->zone_lock(st->b, &z);
}

void signer_state_zone_unlock(signer_state *st, const dns_name *zone)
{
	if (!st || !zone)
		return;
	dns_name z = lower(zone);
	st->ops->zone_unlock(st->b, &z);
}

static bool key_ok(const signer_key *k)
{
	return k->dnskey_len > 0 && k->dnskey_len <= SIGNER_DNSKEY_MAX && k->id_len <= HSM_ID_MAX &&
	       k->role[0] && memchr(k->role, 0, sizeof(k->role));
}

signet_err signer_state_add_zone(signer_state *st, const dns_name *zone, const signer_policy *p,
				 const signer_key *ksks, size_t nksk)
{
	if (!st || !zone || !p || (nksk && !ksks))
		return SIGNET_EINVAL;
	signer_key *lk = NULL;
	if (nksk) {
		lk = calloc(nksk, sizeof(*lk));
		if (!lk)
			return SIGNET_ENOMEM;
	}
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < nksk && ret == SIGNET_OK; i++) {
		if (!key_ok(&ksks[i]))
			ret = SIGNET_EINVAL;
		lk[i] = ksks[i];
		lk[i].zone = lower(&ksks[i].zone);
	}
	dns_name z = lower(zone);
	if (ret == SIGNET_OK)
		ret = st->ops->add_zone(st->b, &z, p, lk, nksk);
	free(lk);
	return ret;
}

signet_err signer_state_zone_policy(signer_state *st, const dns_name *zone, signer_policy *out)
{
	if (!st || !zone || !out)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->zone_policy(st->b, &z, out);
}

signet_err signer_state_list_zones(signer_state *st, dns_name **out, size_t *n)
{
	if (!st || !out || !n)
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	return st->ops->list_zones(st->b, out, n);
}

signet_err signer_state_add_key(signer_state *st, const signer_key *k)
{
	if (!st || !k || !key_ok(k))
		return SIGNET_EINVAL;
	signer_key lk = *k;
	lk.zone = lower(&k->zone);
	return st->ops->add_key(st->b, &lk);
}

signet_err signer_state_list_keys(signer_state *st, const dns_name *zone, signer_key_state state,
				  signer_key **out, size_t *n)
{
	if (!st || !out || !n)
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	dns_name z;
	if (zone)
		z = lower(zone);
	signer_key *keys = NULL;
	size_t nk = 0;
	signet_err ret = st->ops->list_keys(st->b, zone ? &z : NULL, &keys, &nk);
	if (ret != SIGNET_OK)
		return ret;
	int64_t now = signer_clock_now();
	size_t kept = 0;
	for (size_t i = 0; i < nk; i++) {
		keys[i].state = signer_key_state_at(&keys[i], now);
		if (state == 0 || keys[i].state == state)
			keys[kept++] = keys[i];
	}
	if (kept == 0) {
		free(keys);
		keys = NULL;
	}
	*out = keys;
	*n = kept;
	return SIGNET_OK;
}

signet_err signer_state_set_key_state(signer_state *st, const dns_name *zone, const uint8_t *dnskey,
				      size_t dnskey_len, signer_key_state state)
{
	if (!st || !zone || !dnskey || dnskey_len == 0 || dnskey_len > SIGNER_DNSKEY_MAX ||
	    state < SIGNER_KEY_GENERATED || state > SIGNER_KEY_REMOVED)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->set_key_state(st->b, &z, dnskey, dnskey_len, state);
}

signer_key_state signer_key_state_at(const signer_key *k, int64_t now)
{
	if (!k->committed || (k->t_publish == 0 && k->t_active == 0))
		return k->state;
	bool acts = k->t_active && now >= k->t_active && (!k->t_retire || now < k->t_retire);
	bool shown = k->t_publish && now >= k->t_publish && (!k->t_remove || now < k->t_remove);
	if (strcmp(k->role, "ksk") == 0) {
		/* A KSK signs only in the ceremony: it is published while in the
		 * DNSKEY RRset, retired there once its DS is no longer wanted. */
		if (shown)
			return k->t_retire && now >= k->t_retire ? SIGNER_KEY_RETIRED
								 : SIGNER_KEY_PUBLISHED;
		if (k->t_remove && now >= k->t_remove)
			return SIGNER_KEY_REMOVED;
		return SIGNER_KEY_GENERATED;
	}
	if (acts)
		return SIGNER_KEY_ACTIVE;
	if (shown)
		return k->t_active && now >= k->t_active ? SIGNER_KEY_RETIRED
							 : SIGNER_KEY_PUBLISHED;
	if ((k->t_remove && now >= k->t_remove) || (k->t_retire && now >= k->t_retire))
		return SIGNER_KEY_REMOVED;
	return SIGNER_KEY_GENERATED;
}

signet_err signer_state_set_schedule(signer_state *st, const signer_key *k)
{
	if (!st || !k || k->dnskey_len == 0 || k->dnskey_len > SIGNER_DNSKEY_MAX)
		return SIGNET_EINVAL;
	signer_key lk = *k;
	lk.zone = lower(&k->zone);
	return st->ops->set_schedule(st->b, &lk);
}

signet_err signer_state_reset_plan(signer_state *st, const dns_name *zone)
{
	if (!st || !zone)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->reset_plan(st->b, &z);
}

signet_err signer_state_set_policy(signer_state *st, const dns_name *zone, const signer_policy *p)
{
	if (!st || !zone || !p)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->set_policy(st->b, &z, p);
}

signet_err signer_state_zone_insecure(signer_state *st, const dns_name *zone, bool *on)
{
	if (!st || !zone || !on)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->zone_insecure(st->b, &z, on);
}

signet_err signer_state_set_zone_insecure(signer_state *st, const dns_name *zone, bool on)
{
	if (!st || !zone)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->set_zone_insecure(st->b, &z, on);
}

signet_err signer_state_next_serial(signer_state *st, const dns_name *zone, uint64_t *serial)
{
	if (!st || !zone || !serial)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	uint64_t last = 0;
	signet_err ret = st->ops->last_text(st->b, false, &z, &last, NULL);
	if (ret == SIGNET_ENOTFOUND)
		ret = SIGNET_OK;
	*serial = last + 1;
	return ret;
}

signet_err signer_state_save_request(signer_state *st, const dns_name *zone, uint64_t serial,
				     const uint8_t *text, size_t len)
{
	if (!st || !zone || !text || len > INT32_MAX || serial > INT64_MAX)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->save_request(st->b, &z, serial, text, len);
}

signet_err signer_state_last_request(signer_state *st, const dns_name *zone, uint64_t *serial,
				     sg_buf *text)
{
	if (!st || !zone || !serial || !text)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->last_text(st->b, false, &z, serial, text);
}

signet_err signer_state_save_bundle(signer_state *st, const dns_name *zone, uint64_t serial,
				    const uint8_t *text, size_t len, const dns_rrset *publish)
{
	if (!st || !zone || !text || !publish || len > INT32_MAX || serial > INT64_MAX)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->save_bundle(st->b, &z, serial, text, len, publish);
}

signet_err signer_state_bundle(signer_state *st, const dns_name *zone, uint64_t *serial,
			       sg_buf *text)
{
	if (!st || !zone || !serial || !text)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	return st->ops->last_text(st->b, true, &z, serial, text);
}

/* ---- ZSK backups (schema version 1) -------------------------------------- */

signet_err signer_state_put_backup(signer_state *st, const signer_backup_row *b)
{
	if (!st || !b || b->id_len == 0 || b->id_len > HSM_ID_MAX || !b->text || b->text_len == 0 ||
	    b->text_len > SIGNER_BACKUP_TEXT_MAX)
		return SIGNET_EINVAL;
	signer_backup_row r = *b;
	r.zone = lower(&b->zone);
	return st->ops->put_backup(st->b, &r);
}

signet_err signer_state_set_backup_proven(signer_state *st, const uint8_t *id, size_t id_len,
					  int64_t when)
{
	if (!st || !id || id_len == 0 || id_len > HSM_ID_MAX)
		return SIGNET_EINVAL;
	return st->ops->set_backup_proven(st->b, id, id_len, when);
}

signet_err signer_state_list_backups(signer_state *st, const uint8_t *id, size_t id_len,
				     signer_backup_row **out, size_t *n)
{
	if (!st || !out || !n || id_len > HSM_ID_MAX || (id && id_len == 0))
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	return st->ops->list_backups(st->b, id, id_len, out, n);
}

void signer_backup_rows_free(signer_backup_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free((void *)rows[i].text);
	free(rows);
}

/* One row as an engine read it (octets as stored) into out, the text
 * copied. SIGNET_EPARSE for values that do not fit (a corrupt store). */
signet_err state_backup_decode(const uint8_t *id, size_t il, const uint8_t *zone, size_t zl,
			       const uint8_t *domain, size_t dl, const uint8_t *text, size_t tl,
			       int64_t created, int64_t proven, signer_backup_row *out)
{
	memset(out, 0, sizeof(*out));
	if (il == 0 || il > HSM_ID_MAX || dl != HSM_ID_LEN || tl == 0 ||
	    tl > SIGNER_BACKUP_TEXT_MAX ||
	    dns_name_from_wire(&out->zone, zone, zl, NULL) != SIGNET_OK)
		return SIGNET_EPARSE;
	uint8_t *t = malloc(tl);
	if (!t)
		return SIGNET_ENOMEM;
	memcpy(t, text, tl);
	memcpy(out->id, id, il);
	out->id_len = il;
	memcpy(out->domain_id, domain, HSM_ID_LEN);
	out->text = t;
	out->text_len = tl;
	out->created = created;
	out->proven = proven;
	return SIGNET_OK;
}

const char *signer_key_state_name(signer_key_state s)
{
	switch (s) {
	case SIGNER_KEY_GENERATED:
		return "generated";
	case SIGNER_KEY_PUBLISHED:
		return "published";
	case SIGNER_KEY_ACTIVE:
		return "active";
	case SIGNER_KEY_RETIRED:
		return "retired";
	case SIGNER_KEY_REMOVED:
		return "removed";
	}
	return "unknown";
}

/* ---- the row forms ------------------------------------------------------- */

void state_policy_encode(const signer_policy *p, int64_t v[STATE_POLICY_NCOL])
{
	const int64_t cols[STATE_POLICY_NCOL] = {p->algorithm,        p->rsa_bits,
						 p->validity,         p->backdate,
						 p->jitter,           p->min_validity,
						 p->max_validity,     p->denial,
						 p->nsec3_iterations, 0,
						 p->nsec3_opt_out,    p->dnskey_ttl,
						 p->keyset_period,    p->verify,
						 p->zsk_lifetime,     p->ksk_lifetime,
						 p->ds_ttl,           p->max_zone_ttl,
						 p->propagation,      p->publish_margin,
						 p->retire_margin,    p->refresh,
						 p->ksk_roll};
	memcpy(v, cols, sizeof(cols));
}

void state_policy_decode(const int64_t v[STATE_POLICY_NCOL], const uint8_t *salt, size_t salt_len,
			 signer_policy *out)
{
	memset(out, 0, sizeof(*out));
	out->algorithm = (uint8_t)v[0];
	out->rsa_bits = (unsigned)v[1];
	out->validity = (uint32_t)v[2];
	out->backdate = (uint32_t)v[3];
	out->jitter = (uint32_t)v[4];
	out->min_validity = (uint32_t)v[5];
	out->max_validity = (uint32_t)v[6];
	out->denial = (signer_denial)v[7];
	out->nsec3_iterations = (uint16_t)v[8];
	if (salt && salt_len > 0 && salt_len <= 255) {
		memcpy(out->nsec3_salt, salt, salt_len);
		out->nsec3_salt_len = (uint8_t)salt_len;
	}
	out->nsec3_opt_out = v[10] != 0;
	out->dnskey_ttl = (uint32_t)v[11];
	out->keyset_period = (uint32_t)v[12];
	out->verify = (signer_verify)v[13];
	/* Zones stored before these fields existed read 0: the default. */
	signer_policy d;
	signer_policy_defaults(&d);
	uint32_t *f[] = {&out->zsk_lifetime,  &out->ksk_lifetime, &out->ds_ttl,
			 &out->max_zone_ttl,  &out->propagation,  &out->publish_margin,
			 &out->retire_margin, &out->refresh};
	const uint32_t dv[] = {d.zsk_lifetime,  d.ksk_lifetime,   d.ds_ttl,
			       d.max_zone_ttl,  d.propagation,    d.publish_margin,
			       d.retire_margin, out->validity / 4};
	for (int i = 0; i < 8; i++) {
		int64_t x = v[14 + i];
		*f[i] = x > 0 && x <= UINT32_MAX ? (uint32_t)x : dv[i];
	}
	out->ksk_roll = v[22] == SIGNER_KSK_DOUBLE_DS ? SIGNER_KSK_DOUBLE_DS
						      : SIGNER_KSK_DOUBLE_KSK;
}

void state_key_encode(const signer_key *k, int64_t v[STATE_KEY_NCOL])
{
	const int64_t cols[STATE_KEY_NCOL] = {0,
					      0,
					      0,
					      k->alg,
					      k->key_tag,
					      k->state,
					      0,
					      k->created,
					      k->t_publish,
					      k->t_active,
					      k->t_retire,
					      k->t_remove,
					      k->ds_seen,
					      k->committed,
					      k->foreign,
					      k->p_publish,
					      k->p_active,
					      k->p_retire,
					      k->p_remove};
	memcpy(v, cols, sizeof(cols));
}

signet_err state_key_decode(const state_key_row *r, signer_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!r->zone || !r->role || !r->dnskey ||
	    dns_name_from_wire(&k->zone, r->zone, r->zone_len, NULL) != SIGNET_OK ||
	    r->id_len > HSM_ID_MAX || r->dnskey_len == 0 || r->dnskey_len > SIGNER_DNSKEY_MAX ||
	    strlen(r->role) >= sizeof(k->role))
		return SIGNET_EPARSE;
	memcpy(k->role, r->role, strlen(r->role) + 1);
	if (r->id_len)
		memcpy(k->id, r->id, r->id_len);
	k->id_len = r->id_len;
	memcpy(k->dnskey, r->dnskey, r->dnskey_len);
	k->dnskey_len = r->dnskey_len;
	const int64_t *v = r->v;
	k->alg = (uint8_t)v[3];
	k->key_tag = (uint16_t)v[4];
	k->state = (signer_key_state)v[5];
	k->created = v[7];
	k->t_publish = v[8];
	k->t_active = v[9];
	k->t_retire = v[10];
	k->t_remove = v[11];
	k->ds_seen = v[12];
	k->committed = v[13] != 0;
	k->foreign = v[14] != 0;
	k->p_publish = v[15];
	k->p_active = v[16];
	k->p_retire = v[17];
	k->p_remove = v[18];
	return SIGNET_OK;
}
