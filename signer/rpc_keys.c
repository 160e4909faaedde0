/* rpc_keys.c -- GetKeySet and Health: what clients read about keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/convert.h"
#include "signer/rpc.h"

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
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' may not read zone %s", c->identity,
			 zs);
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
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "zone %s has no imported key bundle",
			 zs);
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

static void health(srv_call *c)
{
	signer_server *srv = c->srv;
	Signet__V1__HealthResponse resp = SIGNET__V1__HEALTH_RESPONSE__INIT;
	hsm_token_desc d;
	bool present = hsm_token_describe(srv->token, &d, NULL, 0) == SIGNET_OK;
	resp.token_present = present;
	/* A present token we opened is logged in: the layer logs in again
	 * after a fault before it reports success. */
	resp.logged_in = present;
	resp.version = (char *)VERSION;
	resp.state_backend = (char *)signer_state_backend_name(srv->state);
	resp.state_unavailable = signer_state_ping(srv->state) != SIGNET_OK;
	resp.replica = (char *)signer_replica_keys_name(srv->replica_keys);
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
		bool lacking_active = false;
		if (srv_zone_replica_health(srv, &zones[i], now, &warn, &nwarn, &zh[n].missing_zsks,
					    &lacking_active) == SIGNET_OK &&
		    lacking_active) {
			zh[n].missing_active_zsk = true;
			zh[n].active_zsk = false;
		}
		zh[n].n_warnings = nwarn - first;
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

void rpc_health(srv_worker *w, srv_call *c)
{
	(void)w;
	health(c);
	srv_finish(c);
}
