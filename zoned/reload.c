/* reload.c -- SIGHUP: the configuration read again and applied to the
 * running zones. Transfers run to completion inside one event, so none is
 * in progress when this runs; answers already queued on TCP connections
 * are sent as they are. */
#include <stdlib.h>
#include <string.h>

#include "zoned/daemon.h"

/* The zone's new settings. Its peers point into the new keys; the NOTIFYs
 * pending for the old secondaries are dropped. */
static void update(zoned_zone *z, const zoned_zone_conf *c)
{
	for (size_t i = 0; i < ZONED_PEERS_MAX; i++) {
		if (z->notify[i].timer)
			evtimer_del(z->notify[i].timer);
		z->notify[i].pending = false;
	}
	z->conf = *c;
	zone_options o;
	zone_options_init(&o);
	o.serial = c->serial;
	zone_engine_set_options(z->eng, &o);
}

/* Peers point at keys inside a zoned_config: when the config is copied
 * into place they must point into the copy. */
static void rebase(zoned_zone_conf *c, const zoned_key *from, const zoned_key *to)
{
	for (size_t i = 0; i < c->nprimaries; i++)
		if (c->primaries[i].key)
			c->primaries[i].key = to + (c->primaries[i].key - from);
	for (size_t i = 0; i < c->nsecondaries; i++)
		if (c->secondaries[i].key)
			c->secondaries[i].key = to + (c->secondaries[i].key - from);
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
	    nc.tcp_clients != d->cfg.tcp_clients)
		sg_log(SG_LOG_WARNING,
		       "zoned: SIGHUP: listen, state-dir, signetd and tcp-clients"
		       " keep their old values until a restart");
	/* Gone: stopped. */
	size_t kept = 0;
	for (size_t i = 0; i < d->nzones; i++) {
		zoned_zone *z = d->zones[i];
		bool found = false;
		for (size_t k = 0; k < nc.nzones && !found; k++)
			found = dns_name_equal(&nc.zones[k].apex, &z->conf.apex);
		if (!found) {
			sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %s removed", z->conf.name);
			zoned_zone_stop(z);
			free(z);
			continue;
		}
		d->zones[kept++] = z;
	}
	d->nzones = kept;
	/* Kept: updated; new: started. */
	for (size_t k = 0; k < nc.nzones; k++) {
		zoned_zone *z = zoned_find(d, &nc.zones[k].apex);
		if (z) {
			update(z, &nc.zones[k]);
			continue;
		}
		z = calloc(1, sizeof(*z));
		if (z == NULL)
			break;
		z->d = d;
		z->conf = nc.zones[k];
		d->zones[d->nzones++] = z;
		if (zoned_zone_start(z) != SIGNET_OK) {
			sg_log(SG_LOG_ERROR, "zoned: SIGHUP: %s cannot start", z->conf.name);
			zoned_zone_stop(z);
			free(z);
			d->nzones--;
			continue;
		}
		sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %s added", z->conf.name);
	}
	/* The keys move to the new configuration, which every zone points into. */
	char listen[sizeof(nc.listen)], state[sizeof(nc.state_dir)],
		client[sizeof(nc.client_config)];
	memcpy(listen, d->cfg.listen, sizeof(listen));
	memcpy(state, d->cfg.state_dir, sizeof(state));
	memcpy(client, d->cfg.client_config, sizeof(client));
	unsigned tcp = d->cfg.tcp_clients;
	zoned_config_free(&d->cfg);
	d->cfg = nc;
	for (size_t i = 0; i < d->cfg.nzones; i++)
		rebase(&d->cfg.zones[i], nc.keys, d->cfg.keys);
	for (size_t i = 0; i < d->nzones; i++)
		rebase(&d->zones[i]->conf, nc.keys, d->cfg.keys);
	sg_wipe(nc.keys, sizeof(nc.keys));
	memcpy(d->cfg.listen, listen, sizeof(listen));
	memcpy(d->cfg.state_dir, state, sizeof(state));
	memcpy(d->cfg.client_config, client, sizeof(client));
	d->cfg.tcp_clients = tcp;
	sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: %zu zones", d->nzones);
}
