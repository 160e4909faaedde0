/* reload.c -- zones coming and going: started at start and by SIGHUP
 * (their state directory read on a worker before they are served), the
 * configuration read again and applied at once to the zones not busy, and
 * to a busy zone when its job is back, since its worker reads its
 * settings meanwhile. Transfers out stream on the loop from a version or
 * journal of their own, with a copy of their TSIG key: a SIGHUP drops
 * none of a zone it keeps. */
#include <stdlib.h>
#include <string.h>

#include "zoned/daemon.h"

/* Take settings c with their own keys (owned from now on). The NOTIFYs
 * pending for the old secondaries are dropped. */
static void take(zoned_zone *z, const zoned_zone_conf *c, zoned_key *keys, size_t nkeys)
{
	for (size_t i = 0; i < ZONED_PEERS_MAX; i++) {
		if (z->notify[i].timer)
			evtimer_del(z->notify[i].timer);
		z->notify[i].pending = false;
	}
	zoned_keys_free(z->keys_own, z->nkeys_own);
	/* A journal as deep as the zone is large (zoned_zone_start). */
	if (c->max_rrs != z->conf.max_rrs) {
		pthread_mutex_lock(&z->jmu);
		zoned_journal_bound(&z->journal, c->max_rrs);
		pthread_mutex_unlock(&z->jmu);
	}
	z->conf = *c;
	z->keys_own = keys;
	z->nkeys_own = nkeys;
	zone_options o;
	zone_options_init(&o);
	o.serial = c->serial;
	zone_engine_set_options(z->eng, &o);
}

/* Remove z from list *head (linked by lnext); false if it is not there. */
static bool unlink_from(zoned_zone **head, zoned_zone *z)
{
	for (zoned_zone **p = head; *p; p = &(*p)->lnext)
		if (*p == z) {
			*p = z->lnext;
			z->lnext = NULL;
			return true;
		}
	return false;
}

static bool unlist(zoned *d, zoned_zone *z)
{
	for (size_t i = 0; i < d->nzones; i++)
		if (d->zones[i] == z) {
			d->zones[i] = d->zones[--d->nzones];
			return true;
		}
	return false;
}

void zoned_zone_free(zoned_zone *z)
{
	zoned *d = z->d;
	if (d && !unlist(d, z) && !unlink_from(&d->adding, z))
		unlink_from(&d->retired, z);
	zoned_zone_stop(z);
	free(z);
}

zoned_zone *zoned_zone_add(zoned *d, const zoned_zone_conf *c)
{
	zoned_zone *z = calloc(1, sizeof(*z));
	if (z == NULL) {
		sg_log(SG_LOG_ERROR, "zoned: %s: out of memory", c->name);
		return NULL;
	}
	z->d = d;
	z->conf = *c;
	signet_err ret = zoned_zone_conf_own(&z->conf, &z->keys_own, &z->nkeys_own);
	if (ret == SIGNET_OK)
		ret = zoned_zone_start(z);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "zoned: %s: cannot start: %s", c->name, signet_strerror(ret));
		zoned_zone_stop(z);
		free(z);
		return NULL;
	}
	z->lnext = d->adding;
	d->adding = z;
	zoned_job(z, ZONED_JOB_LOAD);
	return z;
}

/* Every zone of the start read (or removed meanwhile): the listeners
 * answer from now on. */
static void check_ready(zoned *d)
{
	if (d->ready || d->adding != NULL)
		return;
	d->ready = true;
	zoned_listen(d, true);
	sg_log(SG_LOG_NOTICE, "zoned: ready: serving %zu zones on %s", d->nzones, d->cfg.listen);
}

bool zoned_zone_back(zoned_zone *z)
{
	zoned *d = z->d;
	if (z->gone) {
		zoned_zone_free(z);
		check_ready(d);
		return false;
	}
	if (z->next_conf) {
		take(z, z->next_conf, z->next_keys, z->next_nkeys);
		free(z->next_conf);
		z->next_conf = NULL;
		z->next_keys = NULL;
		z->next_nkeys = 0;
	}
	if (z->job == ZONED_JOB_LOAD && unlink_from(&d->adding, z)) {
		/* Served from now on (its stored version, if any); the first
		 * refresh at once. */
		d->zones[d->nzones++] = z;
		struct timeval now = {0, 0};
		evtimer_add(z->refresh, &now);
		check_ready(d);
	}
	return true;
}

/* Peers point at keys inside a zoned_config: when its keys are copied
 * into another they must point into the copy. */
static void rebase(zoned_zone_conf *c, const zoned_key *from, const zoned_key *to)
{
	for (size_t i = 0; i < c->nprimaries; i++)
		if (c->primaries[i].key)
			c->primaries[i].key = to + (c->primaries[i].key - from);
	for (size_t i = 0; i < c->nsecondaries; i++)
		if (c->secondaries[i].key)
			c->secondaries[i].key = to + (c->secondaries[i].key - from);
}

/* Where a zone of apex is: served, being read, or NULL. */
static zoned_zone *find_any(zoned *d, const dns_name *apex)
{
	for (size_t i = 0; i < d->nzones; i++)
		if (dns_name_equal(&d->zones[i]->conf.apex, apex))
			return d->zones[i];
	for (zoned_zone *z = d->adding; z; z = z->lnext)
		if (!z->gone && dns_name_equal(&z->conf.apex, apex))
			return z;
	return NULL;
}

/* A zone of apex a SIGHUP removed while its job ran, or NULL. */
static zoned_zone *find_gone(zoned *d, const dns_name *apex)
{
	for (zoned_zone *z = d->retired; z; z = z->lnext)
		if (z->gone && dns_name_equal(&z->conf.apex, apex))
			return z;
	for (zoned_zone *z = d->adding; z; z = z->lnext)
		if (z->gone && dns_name_equal(&z->conf.apex, apex))
			return z;
	return NULL;
}

/* z, removed while its job ran, is in the configuration again: taken
 * back rather than started anew beside it (the two would write the same
 * state files). Its timers were stopped: a refresh follows its job. */
static void revive(zoned *d, zoned_zone *z)
{
	z->gone = false;
	if (unlink_from(&d->retired, z))
		d->zones[d->nzones++] = z;
	z->again |= ZONED_JOB_REFRESH;
	sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %s back (its running job ends first)", z->conf.name);
}

static bool in_config(const zoned_config *c, const dns_name *apex)
{
	for (size_t k = 0; k < c->nzones; k++)
		if (dns_name_equal(&c->zones[k].apex, apex))
			return true;
	return false;
}

/* z is no longer in the configuration: not served from now on, its
 * timers and transfers out ended; freed now, or when its job is back. */
static void drop(zoned *d, zoned_zone *z)
{
	sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %s removed", z->conf.name);
	if (!z->busy) {
		zoned_zone_free(z);
		return;
	}
	if (unlist(d, z)) {
		z->lnext = d->retired;
		d->retired = z;
	}
	z->gone = true;
	z->again = 0;
	zoned_serve_forget(d, z);
	evtimer_del(z->refresh);
	for (size_t i = 0; i < ZONED_PEERS_MAX; i++)
		if (z->notify[i].timer)
			evtimer_del(z->notify[i].timer);
}

/* New settings c for z: now, or when its job is back. */
static void change(zoned_zone *z, const zoned_zone_conf *c)
{
	zoned_zone_conf own = *c;
	zoned_key *keys = NULL;
	size_t nkeys = 0;
	if (zoned_zone_conf_own(&own, &keys, &nkeys) != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "zoned: SIGHUP: %s: out of memory; its settings stay",
		       c->name);
		return;
	}
	if (!z->busy) {
		take(z, &own, keys, nkeys);
		return;
	}
	zoned_zone_conf *next = z->next_conf ? z->next_conf : malloc(sizeof(*next));
	if (next == NULL) {
		zoned_keys_free(keys, nkeys);
		sg_log(SG_LOG_ERROR, "zoned: SIGHUP: %s: out of memory; its settings stay",
		       c->name);
		return;
	}
	*next = own;
	zoned_keys_free(z->next_keys, z->next_nkeys);
	z->next_conf = next;
	z->next_keys = keys;
	z->next_nkeys = nkeys;
	sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %s: its new settings apply when its running job ends",
	       c->name);
}

void zoned_reload(zoned *d)
{
	zoned_config nc;
	char err[512] = "";
	if (zoned_config_load(d->config_path, &nc, err, sizeof(err)) != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "zoned: SIGHUP: %s: %s; keeping the running configuration",
		       d->config_path, err);
		return;
	}
	if (strcmp(nc.listen, d->cfg.listen) != 0 || strcmp(nc.state_dir, d->cfg.state_dir) != 0 ||
	    strcmp(nc.client_config, d->cfg.client_config) != 0 ||
	    strcmp(nc.metrics, d->cfg.metrics) != 0 || nc.tcp_clients != d->cfg.tcp_clients ||
	    nc.workers != d->cfg.workers)
		sg_log(SG_LOG_WARNING,
		       "zoned: SIGHUP: listen, metrics, state-dir, signetd, tcp-clients and"
		       " workers keep their old values until a restart");
	/* Gone: no longer served. */
	for (size_t i = d->nzones; i-- > 0;)
		if (!in_config(&nc, &d->zones[i]->conf.apex))
			drop(d, d->zones[i]);
	for (zoned_zone *z = d->adding, *next; z; z = next) {
		next = z->lnext;
		if (!z->gone && !in_config(&nc, &z->conf.apex)) {
			sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %s removed", z->conf.name);
			z->gone = true; /* its read runs: freed when it is back */
		}
	}
	/* Kept: changed; new: read, then served. */
	size_t added = 0;
	for (size_t k = 0; k < nc.nzones; k++) {
		zoned_zone *z = find_any(d, &nc.zones[k].apex);
		if (z == NULL && (z = find_gone(d, &nc.zones[k].apex)) != NULL)
			revive(d, z);
		if (z) {
			change(z, &nc.zones[k]);
			continue;
		}
		if (zoned_zone_add(d, &nc.zones[k]) != NULL) {
			added++;
			sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %s added", nc.zones[k].name);
		}
	}
	if (nc.keyset_poll != d->cfg.keyset_poll && d->keyset_ev) {
		struct timeval poll = {(time_t)nc.keyset_poll, 0};
		event_add(d->keyset_ev, &poll);
		d->cfg.keyset_poll = nc.keyset_poll;
	}
	/* The zones and keys read now replace the old ones in d->cfg (no zone
	 * points into either: each has keys of its own); the values that
	 * wait for a restart stay. */
	zoned_zone_conf *old = d->cfg.zones;
	d->cfg.zones = nc.zones;
	d->cfg.nzones = nc.nzones;
	nc.zones = old;
	sg_wipe(d->cfg.keys, sizeof(d->cfg.keys));
	memcpy(d->cfg.keys, nc.keys, sizeof(nc.keys));
	d->cfg.nkeys = nc.nkeys;
	for (size_t i = 0; i < d->cfg.nzones; i++)
		rebase(&d->cfg.zones[i], nc.keys, d->cfg.keys);
	zoned_config_free(&nc);
	sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %zu zones served, %zu being added", d->nzones, added);
}
