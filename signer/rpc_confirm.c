/* rpc_confirm.c -- what a parental agent (`signet parent-watch`) tells
 * signetd. ConfirmDs: the parent serves the DS a KSK or algorithm rollover
 * waits for; the claim is checked against the zone's own rollover state,
 * then the rollover takes the step of Rollover DS_SEEN
 * (signer_rollover_ds_seen), audited before and after like an admin call.
 * ReportDsObservation: what each agent served in the last pass, kept for
 * Health. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/convert.h"
#include "signer/rpc.h"

#define AGENTS_MAX 16     /* agents named in one claim */
#define AGENT_TEXT_MAX 80 /* octets of one agent's description */

/* A description of an agent fit for the audit log: printable, no blanks at
 * the ends, bounded. */
static bool agent_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* The zone of a parental agent's call, checked: role, name, the caller's
 * zones. False after failing the call. */
static bool agent_zone(srv_call *c, const ProtobufCBinaryData *b, dns_name *zone, char *zs,
		       size_t zslen)
{
	if (!srv_zone(b, zone)) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "zone: not a wire-form name");
		return false;
	}
	dns_name_to_str(zone, zs, zslen);
	if (c->who.role != SIGNER_ROLE_PARENT_AGENT && c->who.role != SIGNER_ROLE_ADMIN) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' is not a parent-agent",
			 c->identity);
		return false;
	}
	if (!signer_client_has_zone(&c->who, zone)) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' may not confirm the DS of %s",
			 c->identity, zs);
		return false;
	}
	return true;
}

static void confirm(srv_worker *worker, srv_call *c, const char **zone_out, char *detail,
		    size_t dlen)
{
	(void)worker;
	signer_server *srv = c->srv;
	Signet__V1__ConfirmDsRequest *req = (Signet__V1__ConfirmDsRequest *)srv_unpack(
		c, &signet__v1__confirm_ds_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	signer_key *keys = NULL;
	size_t n = 0, w = 0;
	int64_t since = 0;
	snprintf(detail, dlen, "ds-seen by agent %s", c->identity);
	if (!agent_zone(c, &req->zone, &zone, zs, sizeof(zs)))
		goto out;
	*zone_out = zs;
	if (req->n_agents == 0 || req->n_agents > AGENTS_MAX) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "agents: 1..%d wanted", AGENTS_MAX);
		goto out;
	}
	for (size_t i = 0; i < req->n_agents; i++)
		if (!agent_ok(req->agents[i], AGENT_TEXT_MAX)) {
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				 "agents[%zu]: 1..%d printable octets", i, AGENT_TEXT_MAX);
			goto out;
		}
	if (req->dnskey.len < 4 || req->dnskey.len > SIGNER_DNSKEY_MAX) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
			 "dnskey: missing or longer than %d octets", SIGNER_DNSKEY_MAX);
		goto out;
	}
	{
		size_t used = strlen(detail);
		for (size_t i = 0; i < req->n_agents && used < dlen; i++)
			used += (size_t)snprintf(detail + used, dlen - used, "%s%s",
						 i ? ", " : ": agents ", req->agents[i]);
		if (used < dlen)
			snprintf(detail + used, dlen - used, " since %lld", (long long)req->since);
	}
	signer_policy pol;
	signet_err ret = signer_state_zone_policy(srv->state, &zone, &pol);
	if (ret == SIGNET_OK)
		ret = signer_state_list_keys(srv->state, &zone, 0, &keys, &n);
	if (ret != SIGNET_OK) {
		srv_fail(c, ret == SIGNET_ENOTFOUND ? GRPC_STATUS_NOT_FOUND : GRPC_STATUS_INTERNAL,
			 "zone %s: %s", zs, signet_strerror(ret));
		goto out;
	}
	int64_t now = signer_clock_now();
	if (signer_rollover_ds_wait(keys, n, now, &w, &since, NULL) != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION,
			 "zone %s: no rollover waits for a DS at the parent", zs);
		goto out;
	}
	const signer_key *k = &keys[w];
	uint16_t tag = 0;
	(void)dns_key_tag(req->dnskey.data, req->dnskey.len, &tag);
	if (k->dnskey_len != req->dnskey.len ||
	    memcmp(k->dnskey, req->dnskey.data, k->dnskey_len) != 0) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION,
			 "zone %s: the rollover waits for the DS of KSK %u, not of key %u", zs,
			 k->key_tag, tag);
		goto out;
	}
	/* The agent's word is checked against what only signetd knows: the DS
	 * was not wanted before since, and it has been served for the DS TTL
	 * (caches holding the old DS set have let it go). */
	if (req->since < since || req->since > now || now - req->since < (int64_t)pol.ds_ttl) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION,
			 "zone %s: DS of KSK %u seen since %lld: it must be seen from %lld on"
			 " for the DS TTL (%u s) before now (%lld)",
			 zs, k->key_tag, (long long)req->since, (long long)since, pol.ds_ttl,
			 (long long)now);
		goto out;
	}
	ret = signer_rollover_ds_seen(srv->state, &zone, k->dnskey, k->dnskey_len, now);
	if (ret != SIGNET_OK) {
		srv_fail(c,
			 ret == SIGNET_ESTATE ? GRPC_STATUS_FAILED_PRECONDITION
					      : GRPC_STATUS_INTERNAL,
			 "ds-seen for %s: %s", zs, signet_strerror(ret));
		goto out;
	}
	signer_metrics_ds_confirmed(srv->metrics, &zone, true);
	Signet__V1__ConfirmDsResponse r = SIGNET__V1__CONFIRM_DS_RESPONSE__INIT;
	r.ds_seen = now;
	if (srv_reply(c, &r.base) != SIGNET_OK)
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
out:
	free(keys);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

void rpc_confirm_ds(srv_worker *w, srv_call *c)
{
	/* As for admin calls: no change without its audit line first. */
	rpc_audited(w, c, confirm, true);
}

static void report(srv_call *c)
{
	signer_server *srv = c->srv;
	Signet__V1__DsObservation *req = (Signet__V1__DsObservation *)srv_unpack(
		c, &signet__v1__ds_observation__descriptor);
	if (!req)
		return;
	char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	signer_key *keys = NULL;
	size_t n = 0, w = 0;
	int64_t since = 0, now = signer_clock_now();
	if (!agent_zone(c, &req->zone, &zone, zs, sizeof(zs)))
		goto out;
	if (req->n_lines > SIGNER_DS_REPORT_LINES) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "lines: at most %d",
			 SIGNER_DS_REPORT_LINES);
		goto out;
	}
	for (size_t i = 0; i < req->n_lines; i++)
		if (!agent_ok(req->lines[i], SIGNER_DS_REPORT_LINE_MAX)) {
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				 "lines[%zu]: 1..%d printable octets", i,
				 SIGNER_DS_REPORT_LINE_MAX);
			goto out;
		}
	signet_err ret = signer_state_list_keys(srv->state, &zone, 0, &keys, &n);
	if (ret == SIGNET_OK && n == 0)
		ret = SIGNET_ENOTFOUND;
	if (ret != SIGNET_OK) {
		srv_fail(c, ret == SIGNET_ENOTFOUND ? GRPC_STATUS_NOT_FOUND : GRPC_STATUS_INTERNAL,
			 "zone %s: %s", zs, signet_strerror(ret));
		goto out;
	}
	/* A report about another KSK than the one waited for would mislead. */
	if (signer_rollover_ds_wait(keys, n, now, &w, &since, NULL) != SIGNET_OK ||
	    keys[w].key_tag != req->key_tag) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION,
			 "zone %s: no rollover waits for the DS of KSK %u", zs, req->key_tag);
		goto out;
	}
	ret = signer_ds_reports_put(srv->ds_reports, &zone, keys[w].key_tag, now,
				    (const char *const *)req->lines, req->n_lines);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "report for %s: %s", zs,
			 signet_strerror(ret));
		goto out;
	}
	Signet__V1__DsObservationResponse r = SIGNET__V1__DS_OBSERVATION_RESPONSE__INIT;
	if (srv_reply(c, &r.base) != SIGNET_OK)
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
out:
	free(keys);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

void rpc_report_ds(srv_worker *w, srv_call *c)
{
	(void)w;
	report(c);
	srv_finish(c);
}
