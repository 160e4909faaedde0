/* rpc_keys.c -- GetKeySet and Health: what clients read about keys. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/convert.h"
#include "signer/internal.h"

#define VERSION "signetd 0.1.0"

static void get_keyset(srv_call *c)
{
	signer_server *srv = c->srv;
	Signet__V1__GetKeySetRequest *req = (Signet__V1__GetKeySetRequest *)srv_unpack(
		c, &signet__v1__get_key_set_request__descriptor);
	if (!req)
		return;
	dns_name zone;
	bool ok = srv_zone(&req->zone, &zone);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	if (!ok) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "zone: not a wire-form name");
		return;
	}
	char zs[DNS_NAME_STR_MAX];
	dns_name_to_str(&zone, zs, sizeof(zs));
	if (!signer_client_has_zone(&c->who, &zone)) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' may not read zone %s",
			 c->identity, zs);
		return;
	}
	signer_policy pol;
	signet_err ret = signer_state_zone_policy(srv->state, &zone, &pol);
	if (ret == SIGNET_ENOTFOUND) {
		srv_fail(c, GRPC_STATUS_NOT_FOUND, "zone %s is not configured", zs);
		return;
	}
	uint64_t serial = 0;
	sg_buf text = SG_BUF_INIT;
	if (ret == SIGNET_OK)
		ret = signer_state_bundle(srv->state, &zone, &serial, &text);
	if (ret == SIGNET_ENOTFOUND) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "zone %s has no imported key bundle", zs);
		sg_buf_free(&text);
		return;
	}
	dns_keyset ks;
	memset(&ks, 0, sizeof(ks));
	if (ret == SIGNET_OK)
		ret = dns_keyset_parse((const char *)text.data, text.len, &ks, NULL);
	sg_buf_free(&text);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "key set: %s", signet_strerror(ret));
		return;
	}
	const dns_keyset_period *per = signer_keyset_current(&ks, (uint32_t)signer_clock_now());
	if (!per) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION,
			 "zone %s: no imported period covers now", zs);
		dns_keyset_free(&ks);
		return;
	}
	Signet__V1__GetKeySetResponse resp = SIGNET__V1__GET_KEY_SET_RESPONSE__INIT;
	Signet__V1__RRset sets[4];
	Signet__V1__Policy pp;
	Signet__V1__Nsec3Parameters n3;
	size_t nrd = per->dnskey.count + per->cds.count + per->cdnskey.count + per->sigs.count;
	ProtobufCBinaryData *rd = calloc(nrd ? nrd : 1, sizeof(*rd));
	if (!rd) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		dns_keyset_free(&ks);
		return;
	}
	size_t at = 0;
	srv_rrset_to_proto(&per->dnskey, &sets[0], rd + at);
	at += per->dnskey.count;
	srv_rrset_to_proto(&per->cds, &sets[1], rd + at);
	at += per->cds.count;
	srv_rrset_to_proto(&per->cdnskey, &sets[2], rd + at);
	at += per->cdnskey.count;
	srv_rrset_to_proto(&per->sigs, &sets[3], rd + at);
	resp.dnskey = &sets[0];
	resp.cds = per->cds.count ? &sets[1] : NULL;
	resp.cdnskey = per->cdnskey.count ? &sets[2] : NULL;
	resp.rrsig = &sets[3];
	resp.period_inception = per->inception;
	resp.period_expiration = per->expiration;
	srv_policy_to_proto(&pol, &pp, &n3);
	resp.policy = &pp;
	if (srv_reply(c, &resp.base) != SIGNET_OK)
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	free(rd);
	dns_keyset_free(&ks);
}

void rpc_get_keyset(srv_worker *w, srv_call *c)
{
	(void)w;
	get_keyset(c);
	srv_finish(c);
}

int64_t srv_keyset_left(signer_server *srv, const dns_name *zone, int64_t now, bool *has)
{
	if (has)
		*has = false;
	uint64_t serial = 0;
	sg_buf text = SG_BUF_INIT;
	int64_t left = -1;
	dns_keyset ks;
	memset(&ks, 0, sizeof(ks));
	if (signer_state_bundle(srv->state, zone, &serial, &text) == SIGNET_OK &&
	    dns_keyset_parse((const char *)text.data, text.len, &ks, NULL) == SIGNET_OK &&
	    ks.count > 0) {
		left = (int64_t)ks.periods[ks.count - 1].expiration - now;
		if (has)
			*has = true;
	}
	dns_keyset_free(&ks);
	sg_buf_free(&text);
	return left;
}

signet_err srv_ds_wait(signer_server *srv, const dns_name *zone, int64_t now,
		       Signet__V1__DsWait *out)
{
	signer_policy p;
	signer_key *keys = NULL;
	size_t n = 0, w = 0;
	int64_t since = 0;
	bool *gone = NULL;
	if (out)
		signet__v1__ds_wait__init(out);
	signet_err ret = signer_state_zone_policy(srv->state, zone, &p);
	if (ret == SIGNET_OK)
		ret = signer_state_list_keys(srv->state, zone, 0, &keys, &n);
	if (ret == SIGNET_OK && !(gone = calloc(n ? n : 1, sizeof(*gone))))
		ret = SIGNET_ENOMEM;
	if (ret == SIGNET_OK)
		ret = signer_rollover_ds_wait(keys, n, now, &w, &since, gone);
	if (ret == SIGNET_OK && out) {
		const signer_key *k = &keys[w];
		out->key_tag = k->key_tag;
		out->algorithm = k->alg;
		out->since = since;
		out->ds_ttl = p.ds_ttl;
		size_t ng = 0;
		for (size_t i = 0; i < n; i++)
			ng += gone[i];
		out->dnskey.data = malloc(k->dnskey_len);
		out->gone_dnskey = calloc(ng ? ng : 1, sizeof(*out->gone_dnskey));
		if (!out->dnskey.data || !out->gone_dnskey)
			ret = SIGNET_ENOMEM;
		for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
			if (!gone[i])
				continue;
			ProtobufCBinaryData *g = &out->gone_dnskey[out->n_gone_dnskey];
			if (!(g->data = malloc(keys[i].dnskey_len))) {
				ret = SIGNET_ENOMEM;
				break;
			}
			memcpy(g->data, keys[i].dnskey, keys[i].dnskey_len);
			g->len = keys[i].dnskey_len;
			out->n_gone_dnskey++;
		}
		if (out->dnskey.data) {
			memcpy(out->dnskey.data, k->dnskey, k->dnskey_len);
			out->dnskey.len = k->dnskey_len;
		}
		if (ret != SIGNET_OK)
			srv_ds_wait_free(out);
	}
	free(gone);
	free(keys);
	return ret;
}

void srv_ds_wait_free(Signet__V1__DsWait *w)
{
	if (!w)
		return;
	free(w->dnskey.data);
	for (size_t i = 0; i < w->n_gone_dnskey; i++)
		free(w->gone_dnskey[i].data);
	free(w->gone_dnskey);
	signet__v1__ds_wait__init(w);
}

static void health(srv_call *c)
{
	signer_server *srv = c->srv;
	Signet__V1__HealthResponse resp = SIGNET__V1__HEALTH_RESPONSE__INIT;
	hsm_token_desc d;
	bool present = hsm_token_describe(srv->token, &d) == SIGNET_OK;
	resp.token_present = present;
	/* A present token we opened is logged in: the layer logs in again
	 * after a fault before it reports success. */
	resp.logged_in = present;
	resp.version = (char *)VERSION;
	dns_name *zones = NULL;
	size_t nz = 0;
	signet_err ret = signer_state_list_zones(srv->state, &zones, &nz);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		return;
	}
	Signet__V1__ZoneHealth *zh = calloc(nz ? nz : 1, sizeof(*zh));
	Signet__V1__ZoneHealth **zp = calloc(nz ? nz : 1, sizeof(*zp));
	Signet__V1__DsWait *dw = calloc(nz ? nz : 1, sizeof(*dw));
	if (!zh || !zp || !dw) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		free(dw);
		free(zh);
		free(zp);
		free(zones);
		return;
	}
	int64_t now = signer_clock_now();
	size_t n = 0;
	char **warn = NULL;
	size_t nwarn = 0;
	for (size_t i = 0; i < nz; i++) {
		if (!signer_client_has_zone(&c->who, &zones[i]))
			continue;
		signet__v1__zone_health__init(&zh[n]);
		zh[n].zone.data = zones[i].wire;
		zh[n].zone.len = zones[i].len;
		signer_key *keys = NULL;
		size_t nk = 0;
		if (signer_state_list_keys(srv->state, &zones[i], SIGNER_KEY_ACTIVE, &keys, &nk) ==
		    SIGNET_OK)
			zh[n].active_zsk = nk > 0 && present;
		free(keys);
		zh[n].keyset_seconds_left = srv_keyset_left(srv, &zones[i], now, NULL);
		size_t first = nwarn;
		if (srv_zone_rollover_health(srv, &zones[i], now, &warn, &nwarn,
					     &zh[n].next_change) == SIGNET_OK) {
			zh[n].warnings = warn + first;
			zh[n].n_warnings = nwarn - first;
		}
		if (srv_ds_wait(srv, &zones[i], now, &dw[n]) == SIGNET_OK)
			zh[n].ds_wait = &dw[n];
		zp[n] = &zh[n];
		n++;
	}
	/* warn may have moved while growing: point the zones again. */
	for (size_t i = 0, at = 0; i < n; i++) {
		zh[i].warnings = zh[i].n_warnings ? warn + at : NULL;
		at += zh[i].n_warnings;
	}
	resp.zones = zp;
	resp.n_zones = n;
	resp.now = now;
	if (srv_reply(c, &resp.base) != SIGNET_OK)
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < n; i++)
		srv_ds_wait_free(&dw[i]);
	free(dw);
	for (size_t i = 0; i < nwarn; i++)
		free(warn[i]);
	free(warn);
	free(zh);
	free(zp);
	free(zones);
}

/* Append one warning to *w. */
static signet_err warn(char ***w, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static signet_err warn(char ***w, size_t *n, const char *fmt, ...)
{
	char buf[400]; /* a parental agent's line (300) and its prefix */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char **g = realloc(*w, (*n + 1) * sizeof(*g));
	if (!g)
		return SIGNET_ENOMEM;
	*w = g;
	if (!(g[*n] = strdup(buf)))
		return SIGNET_ENOMEM;
	(*n)++;
	return SIGNET_OK;
}

static void next_after(int64_t *next, int64_t t, int64_t now)
{
	if (t > now && (*next == 0 || t < *next))
		*next = t;
}

/* A rollover waits for the DS of KSK tag: say so, and what parent-watch
 * saw at each parental agent in its last pass, if it spoke. */
static signet_err ds_wait_warnings(signer_server *srv, const dns_name *zone, uint16_t tag,
				   char ***warnings, size_t *nwarnings)
{
	signet_err ret = warn(warnings, nwarnings,
			      "KSK rollover waits for the parent: publish"
			      " the DS of KSK %u, then confirm with ds-seen (or let signet"
			      " parent-watch confirm it)",
			      tag);
	char **lines = NULL;
	size_t nl = 0;
	int64_t when = 0;
	if (ret != SIGNET_OK ||
	    signer_ds_reports_lines(srv->ds_reports, zone, tag, &when, &lines, &nl) != SIGNET_OK)
		return ret;
	char ts[32];
	time_t tt = (time_t)when;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(ts, sizeof(ts), "%lld", (long long)when);
	for (size_t l = 0; l < nl; l++) {
		if (ret == SIGNET_OK)
			ret = warn(warnings, nwarnings, "parental agent at %s: %s", ts, lines[l]);
		free(lines[l]);
	}
	free(lines);
	return ret;
}

signet_err srv_zone_rollover_health(signer_server *srv, const dns_name *zone, int64_t now,
				    char ***warnings, size_t *nwarnings, int64_t *next_change)
{
	*next_change = 0;
	signer_policy p;
	signet_err ret = signer_state_zone_policy(srv->state, zone, &p);
	signer_key *keys = NULL;
	size_t nk = 0;
	if (ret == SIGNET_OK)
		ret = signer_state_list_keys(srv->state, zone, 0, &keys, &nk);
	if (ret != SIGNET_OK)
		return ret;
	bool has = false;
	int64_t left = srv_keyset_left(srv, zone, now, &has);
	/* A ceremony takes days to gather a quorum: warn a key-set period
	 * ahead, as the metric alert (signet_keyset_expiry_seconds) does. */
	if (!has)
		ret = warn(warnings, nwarnings, "no key bundle imported: export a request for"
			   " the ceremony");
	else if (left < (int64_t)p.keyset_period)
		ret = warn(warnings, nwarnings, "key bundle runs out in %lld s: export a request"
			   " and hold a ceremony", (long long)left);
	for (size_t i = 0; ret == SIGNET_OK && i < nk; i++) {
		const signer_key *k = &keys[i];
		if (k->committed) {
			next_after(next_change, k->t_publish, now);
			next_after(next_change, k->t_active, now);
			next_after(next_change, k->t_retire, now);
			next_after(next_change, k->t_remove, now);
		}
		if (strcmp(k->role, "ksk") != 0 || k->state == SIGNER_KEY_REMOVED)
			continue;
		bool newer = false, older = false;
		for (size_t j = 0; j < nk; j++) {
			if (j == i || strcmp(keys[j].role, "ksk") != 0 ||
			    keys[j].state == SIGNER_KEY_REMOVED)
				continue;
			if (keys[j].created > k->created)
				newer = true;
			else if (!keys[j].t_remove)
				older = true;
		}
		if (k->state == SIGNER_KEY_PUBLISHED && !newer && p.ksk_lifetime &&
		    k->t_active && now - k->t_active > (int64_t)p.ksk_lifetime)
			ret = warn(warnings, nwarnings, "KSK %u is older than ksk_lifetime: start a"
				   " KSK rollover (create-ksk, add-ksk)", k->key_tag);
		else if (older && !k->ds_seen && k->committed && k->t_active && now >= k->t_active)
			ret = ds_wait_warnings(srv, zone, k->key_tag, warnings, nwarnings);
		else if (older && k->ds_seen)
			ret = warn(warnings, nwarnings, "KSK %u: DS seen; export a request and hold"
				   " a ceremony to retire the old KSK", k->key_tag);
	}
	free(keys);
	return ret;
}

void rpc_health(srv_worker *w, srv_call *c)
{
	(void)w;
	health(c);
	srv_finish(c);
}
