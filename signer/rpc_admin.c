/* rpc_admin.c -- what every admin RPC (and ConfirmDs) goes through: the
 * caller must be an admin, and each change is audited before it is made and
 * again, with its result, before the answer leaves. The actions themselves
 * are in rpc_zones.c, rpc_keyset.c, rpc_rollover.c and rpc_confirm.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/rpc.h"

/* Record that a change is about to be made, before anything is touched:
 * an administrative change the audit log cannot hold is not made at all.
 * The line names the request by its SHA-256; the line after the action
 * names the zone and the result. A change whose result line then fails to
 * write still has this one. */
static signet_err audit_begin(srv_call *c)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (srv_request_bytes(c, &bytes, &len) != SIGNET_OK)
		return SIGNET_OK; /* nothing to do: the action refuses it */
	char detail[16 + 65] = "request sha256=";
	signer_audit_hash_hex(bytes, len, detail + strlen(detail));
	free(bytes);
	return signer_audit_append(c->srv->audit, c->identity, srv_method_name(c->method), NULL,
				   detail, "begun");
}

/* One administrative change at a time among every signetd sharing the
 * state (the lock of the root name): a change is several steps (plan a
 * schedule, store the request; check a bundle against the last request,
 * commit it), and two replicas interleaving them would store one replica's
 * request with the other's plan. Changes are rare; signing never waits for
 * this. take: lock, else unlock. False (the call failed with its reason)
 * when the lock was not had within the store's lock timeout. */
static bool admin_lock(srv_call *c, bool take)
{
	dns_name root;
	dns_name_from_str(&root, ".");
	if (!take) {
		signer_state_zone_unlock(c->srv->state, &root);
		return true;
	}
	signet_err ret = signer_state_zone_lock(c->srv->state, &root);
	if (ret == SIGNET_ELIMIT)
		srv_fail(c, GRPC_STATUS_ABORTED,
			 "another signetd is making an administrative "
			 "change: %s not done, try again",
			 srv_method_name(c->method));
	else if (ret != SIGNET_OK)
		srv_fail(c, GRPC_STATUS_UNAVAILABLE, "state database (%s): %s: %s not done",
			 signer_state_backend_name(c->srv->state), signet_strerror(ret),
			 srv_method_name(c->method));
	return ret == SIGNET_OK;
}

void rpc_audited(srv_worker *w, srv_call *c, rpc_admin_action *action, bool changes)
{
	const char *zone = NULL;
	char detail[1800] = "";
	if (changes) {
		signet_err ret = audit_begin(c);
		if (ret != SIGNET_OK) {
			sg_log(SG_LOG_ERROR, "audit log write failed: %s", signet_strerror(ret));
			srv_fail(c, GRPC_STATUS_UNAVAILABLE, "audit log unavailable: %s not done",
				 srv_method_name(c->method));
			srv_finish(c);
			return;
		}
	}
	if (changes && signer_state_ping(c->srv->state) != SIGNET_OK)
		/* Replicas: another may reach the database; the client retries
		 * UNAVAILABLE elsewhere. Nothing was changed. */
		srv_fail(c, GRPC_STATUS_UNAVAILABLE, "state database (%s) unavailable: %s not done",
			 signer_state_backend_name(c->srv->state), srv_method_name(c->method));
	else if (changes && !admin_lock(c, true))
		; /* refused with its reason */
	else {
		action(w, c, &zone, detail, sizeof(detail));
		if (changes)
			(void)admin_lock(c, false);
	}
	/* Refusals are recorded too: an admin call from a signer identity is
	 * worth knowing about. The record exists before the client hears. */
	char result[600];
	if (c->status == GRPC_STATUS_OK)
		snprintf(result, sizeof(result), "ok");
	else
		snprintf(result, sizeof(result), "status %d: %s", (int)c->status, c->details);
	signet_err ret = signer_audit_append(c->srv->audit, c->identity, srv_method_name(c->method),
					     zone, detail, result);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "audit log write failed: %s", signet_strerror(ret));
		srv_fail(c, GRPC_STATUS_INTERNAL, "audit log write failed");
	}
	srv_finish(c);
}

/* The action of an admin call from a caller who is not an admin. */
static void not_admin(srv_worker *w, srv_call *c, const char **zone, char *detail, size_t dlen)
{
	(void)w;
	(void)zone;
	(void)detail;
	(void)dlen;
	srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' is not an admin", c->identity);
}

void rpc_admin(srv_worker *w, srv_call *c, rpc_admin_action *action, bool changes)
{
	bool admin = c->who.role == SIGNER_ROLE_ADMIN;
	rpc_audited(w, c, admin ? action : not_admin, admin && changes);
}
