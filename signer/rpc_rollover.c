/* rpc_rollover.c -- Rollover: a zone's key rollovers driven by hand (a new
 * KSK, the DS seen at the parent, foreign ZSKs, going insecure) and the
 * test clock set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/convert.h"
#include "signer/rpc.h"

static const char *rollover_action(Signet__V1__RolloverRequest__Action a)
{
	switch (a) {
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__SHOW:
		return "show";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK:
		return "add-ksk";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN:
		return "ds-seen";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_FOREIGN_ZSK:
		return "add-foreign-zsk";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK:
		return "remove-foreign-zsk";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__GO_INSECURE:
		return "go-insecure";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__STAY_SECURE:
		return "stay-secure";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK:
		return "set-clock";
	default:
		return NULL;
	}
}

void rpc_rollover(srv_worker *w, srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	(void)w;
	signer_server *srv = c->srv;
	Signet__V1__RolloverRequest *req = (Signet__V1__RolloverRequest *)srv_unpack(
		c, &signet__v1__rollover_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	signer_key *keys = NULL;
	size_t n = 0;
	signet_err ret = SIGNET_OK;
	const char *what = rollover_action(req->action);
	if (!what) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "action: unknown value %d",
			 (int)req->action);
		goto out;
	}
	snprintf(detail, dlen, "%s", what);
	if (req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK) {
		/* One clock for every zone: only an admin of every zone moves it. */
		if (!c->who.all_zones) {
			srv_fail(c, GRPC_STATUS_PERMISSION_DENIED,
				 "set-clock needs an admin of \"*\"");
			goto out;
		}
		ret = signer_clock_set(req->time);
		if (ret == SIGNET_EPERM || ret == SIGNET_EUNSUPPORTED)
			srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION,
				 "the clock is the system's (%s)",
#ifdef SIGNET_TEST_CLOCK
				 "signetd was not started with SIGNETD_TEST_CLOCK=1"
#else
				 "this signetd is built without the test clock"
#endif
			);
		else if (ret != SIGNET_OK)
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "time: %lld is not a time",
				 (long long)req->time);
		else {
			snprintf(detail, dlen, "set-clock %lld", (long long)req->time);
			Signet__V1__RolloverResponse r = SIGNET__V1__ROLLOVER_RESPONSE__INIT;
			r.now = signer_clock_now();
			srv_reply(c, &r.base);
		}
		goto out;
	}
	if (!srv_admin_zone(c, &req->zone, &zone, zs, sizeof(zs)))
		goto out;
	*zone_out = zs;
	signer_policy pol;
	if (!srv_zone_policy(c, &zone, zs, &pol))
		goto out;
	int64_t now = signer_clock_now();
	const uint8_t *dk = req->dnskey.data;
	size_t dkl = req->dnskey.len;
	bool needs_key = req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK ||
			 req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN ||
			 req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_FOREIGN_ZSK ||
			 req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK;
	if (needs_key && (dkl < 4 || dkl > SIGNER_DNSKEY_MAX)) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
			 "dnskey: missing or longer than %d octets", SIGNER_DNSKEY_MAX);
		goto out;
	}
	uint16_t tag = 0;
	if (needs_key && dns_key_tag(dk, dkl, &tag) == SIGNET_OK)
		snprintf(detail, dlen, "%s%s %u/%u", what,
			 req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN ? " by hand"
										      : "",
			 dk[3], tag);
	switch (req->action) {
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK:
		ret = signer_rollover_add_ksk(srv->state, &zone, dk, dkl, now);
		break;
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN:
		ret = signer_rollover_ds_seen(srv->state, &zone, dk, dkl, now);
		if (ret == SIGNET_OK)
			signer_metrics_ds_confirmed(srv->metrics, &zone, false);
		break;
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_FOREIGN_ZSK:
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK:
		ret = signer_rollover_foreign_zsk(
			srv->state, &zone, dk, dkl,
			req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK,
			now);
		break;
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__GO_INSECURE:
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__STAY_SECURE:
		ret = signer_state_set_zone_insecure(
			srv->state, &zone,
			req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__GO_INSECURE);
		break;
	default:
		break;
	}
	if (ret != SIGNET_OK) {
		const char *why =
			ret == SIGNET_EINVAL
				? " (not a DNSKEY of the right kind:"
				  " SEP flag for a KSK, none for a ZSK, zone flag, a supported algorithm)"
			: ret == SIGNET_ESTATE &&
					req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK
				? " (a KSK rollover is in progress: finish it, and export a request"
				  " after ds-seen)"
			: ret == SIGNET_ESTATE
				? " (no rollover waits for this DS, or the new KSK is not yet in force"
				  " and in every cache: import its bundle and wait)"
				: "";
		srv_fail(c, srv_status_of(ret), "%s for %s: %s%s", what, zs, signet_strerror(ret),
			 why);
		goto out;
	}
	ret = signer_state_list_keys(srv->state, &zone, 0, &keys, &n);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		goto out;
	}
	Signet__V1__KeyInfo *ki, **kp;
	if (srv_keys_to_proto(keys, n, &ki, &kp) == SIGNET_OK) {
		Signet__V1__RolloverResponse r = SIGNET__V1__ROLLOVER_RESPONSE__INIT;
		r.keys = kp;
		r.n_keys = n;
		r.now = now;
		srv_reply(c, &r.base);
	} else {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	}
	free(ki);
	free(kp);
out:
	free(keys);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}
