/* rpc.h -- signetd's RPC handlers (rpc_*.c), as the transport's one
 * dispatch on the method (server.c) calls them. Each ends by calling
 * srv_finish(c), now or later. */
#ifndef SIGNET_SIGNER_RPC_H
#define SIGNET_SIGNER_RPC_H

#include "signer/call.h"
#include "signer/internal.h"

void rpc_sign(srv_worker *w, srv_call *c);       /* rpc_sign.c */
void rpc_get_keyset(srv_worker *w, srv_call *c); /* rpc_keys.c */
void rpc_health(srv_worker *w, srv_call *c);     /* rpc_keys.c */
void rpc_confirm_ds(srv_worker *w, srv_call *c); /* rpc_confirm.c */
void rpc_report_ds(srv_worker *w, srv_call *c);  /* rpc_confirm.c */

/* SignRRsets without its transport (rpc_sign.c; rpc_sign is this bound to
 * a gRPC call). */
typedef struct rpc_sign_caller {
	const char *identity;        /* for the log and the audit line */
	const signer_client *client; /* its client line: zones, name and type rules */
} rpc_sign_caller;

/* The outcome of a SignRRsets call, told once, on whichever worker
 * finishes it: resp (borrowed for the call) is the answer when status is
 * OK, NULL otherwise, and details say why a call failed. */
typedef void rpc_sign_done(void *arg, grpc_status_code status, const char *details,
			   const ProtobufCMessage *resp);

/* Admit, check and sign the SignRequest of len octets at req (NULL: no
 * message came) for caller, on w and srv's other workers, write the call's
 * audit line, then done(arg, ...). req is read before this returns;
 * caller->identity must live until done is called, caller->client only
 * until this returns. */
void rpc_sign_request(srv_worker *w, const rpc_sign_caller *caller, const uint8_t *req, size_t len,
		      rpc_sign_done *done, void *arg);

/* An admin action: answers c with srv_reply or srv_fail (never
 * srv_finish), points *zone at the zone it acted on (thread-local storage;
 * left NULL when none) and writes what the audit line should say it did
 * into detail (dlen octets, starts empty). */
typedef void rpc_admin_action(srv_worker *w, srv_call *c, const char **zone, char *detail,
			      size_t dlen);

/* Run action for c if its caller is an admin, audited: before it when it
 * changes anything (no audit line: not done, UNAVAILABLE), after it in
 * every case, refusals included. Finishes c. */
void rpc_admin(srv_worker *w, srv_call *c, rpc_admin_action *action, bool changes);

/* Run action audited, whoever calls: a "begun" line naming the request's
 * SHA-256 before it when it changes anything (no line written: not done,
 * UNAVAILABLE), the result line after it in every case. Finishes c. */
void rpc_audited(srv_worker *w, srv_call *c, rpc_admin_action *action, bool changes);

rpc_admin_action rpc_add_zone;        /* AddZone (rpc_zones.c) */
rpc_admin_action rpc_generate_zsk;    /* GenerateZsk (rpc_keyset.c) */
rpc_admin_action rpc_export_request;  /* ExportKeySigningRequest (rpc_keyset.c) */
rpc_admin_action rpc_import_bundle;   /* ImportKeyBundle (rpc_keyset.c) */
rpc_admin_action rpc_list_keys;       /* ListKeys (rpc_keyset.c) */
rpc_admin_action rpc_rollover;        /* Rollover (rpc_rollover.c) */
rpc_admin_action rpc_restore_backups; /* RestoreZskBackups (rpc_backup.c) */

/* ---- keys on every replica (rpc_backup.c) ---------------------------------- */

/* Whether this replica's token holds every one of the n ZSKs of zone zs
 * that a call would sign with: false, counted for the metrics, with errmsg
 * naming the replica, the key and why; the caller answers UNAVAILABLE so
 * that the client goes to another replica. */
bool srv_keys_here(signer_server *srv, const char *zs, const signer_zsk *zsk, size_t n,
		   char *errmsg, size_t errlen);

/* What Health says of zone's keys on this replica at now: *missing ZSKs
 * the token lacks, *active whether one of them signs now, and a warning
 * appended to *warnings (each malloc'd) when any is missing. */
signet_err srv_zone_replica_health(signer_server *srv, const dns_name *zone, int64_t now,
				   char ***warnings, size_t *nwarnings, uint32_t *missing,
				   bool *active);

#endif /* SIGNET_SIGNER_RPC_H */
