/* server.c -- signetd's transport and life cycle: the gRPC C core server
 * and its completion-queue threads, each call from arrival through
 * admission to its message and the one dispatch on its method, gRPC's log,
 * the metrics endpoint's body, and start, reload and stop. Over 900 lines
 * because start and stop must be read together: each step of one undoes a
 * step of the other. The call itself is call.c, TLS tls.c, identity
 * identity.c, the reaper reaper.c, the workers workers.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "signer/call.h"
#include "signer/internal.h"
#include "signer/rpc.h"
#include "signer/tls.h"

enum { TAG_NEW = 1, TAG_SENT, TAG_SHUTDOWN, TAG_MSG };

#define DRAIN_SECONDS 30
/* How long a stopping server still waits for a call's request message. */
#define STOP_MESSAGE_GRACE_MS 2000
/* After the drain, how long the cancelled calls get to be freed. */
#define CALLS_GONE_SECONDS 10
#define REQUESTED_PER_METHOD 16 /* calls asked of gRPC ahead, per method */
#define READ_CHUNK (16 * 1024)  /* most octets gRPC reads from a socket at once */

/* ---- calls --------------------------------------------------------------- */


static signet_err request_call(signer_server *srv, srv_method m)
{
	srv_call *c = calloc(1, sizeof(*c));
	if (!c)
		return SIGNET_ENOMEM;
	c->srv = srv;
	c->method = m;
	c->tag_new.what = TAG_NEW;
	c->tag_new.obj = c;
	c->tag_sent.what = TAG_SENT;
	c->tag_sent.obj = c;
	c->tag_msg.what = TAG_MSG;
	c->tag_msg.obj = c;
	c->details_slice = grpc_empty_slice();
	grpc_metadata_array_init(&c->md);
	grpc_call_error e;
	/* Counted before gRPC has it: another queue thread may take its
	 * TAG_NEW before this one returns. */
	pthread_mutex_lock(&srv->lock);
	srv->requested++;
	pthread_mutex_unlock(&srv->lock);
	SG_TSAN_RELEASE(&c->tag_new);
	if (m == M_UNKNOWN) {
		/* Calls to unregistered paths wait for a generic request; without
		 * one they would hang until their deadline. */
		grpc_call_details_init(&c->call_details);
		e = grpc_server_request_call(srv->server, &c->call, &c->call_details, &c->md,
					     srv->cq, srv->cq, &c->tag_new);
	} else {
		/* No payload: the call comes at its HEADERS, so identity, limits
		 * and a deadline for its message apply before gRPC holds a
		 * message for it. */
		e = grpc_server_request_registered_call(srv->server, srv->methods[m], &c->call,
							&c->deadline, &c->md, NULL, srv->cq,
							srv->cq, &c->tag_new);
	}
	if (e != GRPC_CALL_OK) {
		pthread_mutex_lock(&srv->lock);
		srv->requested--;
		pthread_cond_broadcast(&srv->done_cond);
		pthread_mutex_unlock(&srv->lock);
		srv_call_free(c);
		return SIGNET_EIO;
	}
	return SIGNET_OK;
}


static void run_call(srv_worker *w, void *arg)
{
	srv_call *c = arg;
	/* A parental agent reads what a rollover waits for and says what the
	 * parent serves; it neither signs nor reads key sets (the admin calls
	 * refuse it themselves, and audit the refusal). */
	if (c->who.role == SIGNER_ROLE_PARENT_AGENT &&
	    (c->method == M_SIGN || c->method == M_KEYSET)) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' is a parent-agent", c->identity);
		srv_finish(c);
		return;
	}
	switch (c->method) {
	case M_SIGN:
		rpc_sign(w, c);
		return;
	case M_CONFIRMDS:
		rpc_confirm_ds(w, c);
		return;
	case M_REPORTDS:
		rpc_report_ds(w, c);
		return;
	case M_KEYSET:
		rpc_get_keyset(w, c);
		return;
	case M_HEALTH:
		rpc_health(w, c);
		return;
	case M_ADDZONE:
		rpc_admin(w, c, rpc_add_zone, true);
		return;
	case M_GENZSK:
		rpc_admin(w, c, rpc_generate_zsk, true);
		return;
	case M_EXPORT:
		rpc_admin(w, c, rpc_export_request, true);
		return;
	case M_IMPORT:
		rpc_admin(w, c, rpc_import_bundle, true);
		return;
	case M_LISTKEYS:
		rpc_admin(w, c, rpc_list_keys, false);
		return;
	case M_ROLLOVER:
		rpc_admin(w, c, rpc_rollover, true);
		return;
	case M_RESTORE:
		rpc_admin(w, c, rpc_restore_backups, true);
		return;
	case M_UNKNOWN:
		break; /* answered on arrival */
	}
	srv_fail(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method");
	srv_finish(c);
}


/* Turn c away for why: counted for the aggregated audit line and the
 * metrics, answered with code, and no log line of its own. */
static void refuse(signer_server *srv, srv_call *c, signer_refusal why, grpc_status_code code,
		   const char *msg)
{
	signer_refusals_note(srv->refusals, why, c->peer, c->identity);
	signer_metrics_refusal(srv->metrics, why);
	if (c->conn_counted) {
		/* It waits no longer. */
		srv_conns_wait_leave(srv->conns, c->peer);
		c->conn_counted = false;
	}
	/* A refused stream costs the client one frame and us a call: a
	 * connection that makes them faster than max-resets-per-second,
	 * abandoned or refused alike, is closed. */
	if (srv_conns_reset(srv->conns, c->peer, sg_mono_ns())) {
		signer_refusals_note(srv->refusals, SIGNER_REFUSAL_RESET_FLOOD, c->peer,
				     c->identity);
		signer_metrics_refusal(srv->metrics, SIGNER_REFUSAL_RESET_FLOOD);
	}
	c->quiet = true;
	srv_fail(c, code, "%s", msg);
	srv_finish(c);
}

/* Ask gRPC for c's request message, to come within message-timeout. */
static void await_message(signer_server *srv, srv_call *c)
{
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->payload;
	pthread_mutex_lock(&srv->lock);
	uint64_t now = sg_mono_ns(), grace = STOP_MESSAGE_GRACE_MS * 1000000ull;
	c->msg_deadline_ns = now + atomic_load(&srv->msg_timeout_ns);
	/* A call gRPC matched before the stop and a queue thread takes only
	 * now is drained too: it gets the stop's grace for its message, not
	 * its whole message-timeout (see signer_server_stop). The list stays
	 * ordered: the deadlines capped there are no later than this one. */
	if (atomic_load(&srv->stopping) && c->msg_deadline_ns > now + grace)
		c->msg_deadline_ns = now + grace;
	c->waiting = true;
	c->wprev = srv->wait_tail;
	c->wnext = NULL;
	if (srv->wait_tail)
		srv->wait_tail->wnext = c;
	else
		srv->wait_head = c;
	srv->wait_tail = c;
	if (c == srv->wait_head)
		pthread_cond_signal(&srv->reaper_cond);
	pthread_mutex_unlock(&srv->lock);
	/* Once the batch starts the other queue thread may finish and free c:
	 * read it first. */
	grpc_call *call = c->call;
	SG_TSAN_RELEASE(&c->tag_msg);
	grpc_call_error e = grpc_call_start_batch(call, &op, 1, &c->tag_msg, NULL);
	if (e != GRPC_CALL_OK) {
		pthread_mutex_lock(&srv->lock);
		if (c->waiting)
			srv_wait_unlink(srv, c);
		pthread_mutex_unlock(&srv->lock);
		sg_log(SG_LOG_ERROR, "call from %s: cannot read its message: %d", c->peer, (int)e);
		srv_fail(c, GRPC_STATUS_INTERNAL, "cannot read the request");
		srv_finish(c);
	}
}

static void on_new_call(signer_server *srv, srv_call *c, bool ok)
{
	/* One step under the lock: the drain never sees the slot gone and
	 * its call not yet in flight. */
	pthread_mutex_lock(&srv->lock);
	srv->requested--;
	if (ok) {
		srv->inflight++;
		c->counted = true;
	}
	pthread_cond_broadcast(&srv->done_cond);
	pthread_mutex_unlock(&srv->lock);
	if (!ok) {
		/* The server is shutting down: the requested call never came. */
		srv_call_free(c);
		return;
	}
	c->arrived_ns = sg_mono_ns();
	if (!atomic_load(&srv->stopping) && request_call(srv, c->method) != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "cannot request more %s calls", srv_method_path(c->method));
	srv_identify(srv, c);
	if (c->method == M_UNKNOWN) {
		srv_fail(c, GRPC_STATUS_UNIMPLEMENTED, "no such method");
		srv_finish(c);
		return;
	}
	char why[320];
	if (!c->known) {
		snprintf(why, sizeof(why), "identity '%s' is not a configured client", c->identity);
		refuse(srv, c, SIGNER_REFUSAL_IDENTITY, GRPC_STATUS_PERMISSION_DENIED, why);
		return;
	}
	/* gRPC enforces its stream limit only once the client has
	 * acknowledged the setting; this one holds from the first stream. */
	if (!srv_conns_wait_enter(srv->conns, c->peer, srv->cfg.admission.streams_per_connection)) {
		snprintf(why, sizeof(why),
			 "connection has %u streams waiting for their message "
			 "(max-streams-per-connection)",
			 srv->cfg.admission.streams_per_connection);
		refuse(srv, c, SIGNER_REFUSAL_STREAMS, GRPC_STATUS_RESOURCE_EXHAUSTED, why);
		return;
	}
	c->conn_counted = true;
	if (signer_admission_enter(srv->admission, c->identity, c->peer, c->arrived_ns, why,
				   sizeof(why)) != SIGNET_OK) {
		refuse(srv, c, SIGNER_REFUSAL_LIMIT, GRPC_STATUS_RESOURCE_EXHAUSTED, why);
		return;
	}
	c->admitted = true;
	/* Calls refused on arrival are answered at once and do not count:
	 * a flood of them must not crowd out the clients' calls. */
	size_t max_calls = atomic_load(&srv->max_calls);
	if (atomic_fetch_add(&srv->held_calls, 1) >= max_calls) {
		atomic_fetch_sub(&srv->held_calls, 1);
		snprintf(why, sizeof(why), "%zu calls in flight (max-calls)", max_calls);
		refuse(srv, c, SIGNER_REFUSAL_MAX_CALLS, GRPC_STATUS_RESOURCE_EXHAUSTED, why);
		return;
	}
	c->held = true;
	await_message(srv, c);
}

/* The message came, or the stream ended without one, or the reaper
 * cancelled it. */
static void on_message(signer_server *srv, srv_call *c)
{
	pthread_mutex_lock(&srv->lock);
	if (c->waiting)
		srv_wait_unlink(srv, c);
	bool timed_out = c->timed_out;
	pthread_mutex_unlock(&srv->lock);
	if (c->conn_counted) {
		srv_conns_wait_leave(srv->conns, c->peer);
		c->conn_counted = false;
	}
	char why[160];
	if (timed_out && atomic_load(&srv->stopping)) {
		/* Turned away by the stop, not by the client's fault. */
		c->quiet = true;
		srv_fail(c, GRPC_STATUS_UNAVAILABLE, "server is stopping");
		srv_finish(c);
		return;
	}
	if (timed_out) {
		snprintf(why, sizeof(why), "no request message within %llu s (message-timeout)",
			 (unsigned long long)(atomic_load(&srv->msg_timeout_ns) / 1000000000u));
		refuse(srv, c, SIGNER_REFUSAL_MSG_TIMEOUT, GRPC_STATUS_DEADLINE_EXCEEDED, why);
		return;
	}
	if (!c->payload) {
		/* Reset or half-closed before its message: cheap for the client,
		 * not for us; refuse() counts it against the connection. */
		refuse(srv, c, SIGNER_REFUSAL_RESET, GRPC_STATUS_CANCELLED,
		       "stream ended before its request message");
		return;
	}
	if (srv_enqueue(srv, run_call, c) != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		srv_finish(c);
	}
}

static void *cq_main(void *arg)
{
	signer_server *srv = arg;
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		atomic_store(&srv->cq_return_ns, sg_mono_ns());
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		/* Whatever thread handed the tag over wrote the call first. */
		SG_TSAN_ACQUIRE(ev.tag);
		srv_tag *t = ev.tag;
		switch (t->what) {
		case TAG_NEW:
			on_new_call(srv, t->obj, ev.success != 0);
			break;
		case TAG_SENT:
			srv_call_free(t->obj);
			break;
		case TAG_MSG:
			on_message(srv, t->obj);
			break;
		case TAG_SHUTDOWN:
			/* The queue is shut down by signer_server_stop once no call
			 * is left: another queue thread may still be finishing one
			 * (a call the reaper cancelled sends its status after this
			 * tag), and a batch started on a shut queue aborts in gRPC. */
			pthread_mutex_lock(&srv->lock);
			srv->shutdown_done = true;
			pthread_cond_broadcast(&srv->done_cond);
			pthread_mutex_unlock(&srv->lock);
			break;
		}
	}
	return NULL;
}

/* ---- gRPC's own log ------------------------------------------------------- */

/* gRPC writes one ERROR line per failed TLS handshake, so an anonymous
 * client could fill the log: those are counted as refusals (aggregated,
 * under peer "?": gRPC does not name it) and the lines dropped unless
 * debugging; the rest go to signetd's log. One server per process. */
static _Atomic(signer_refusals *) log_refusals;
static _Atomic(signer_metrics *) log_metrics;

static void grpc_log(gpr_log_func_args *a)
{
	const char *file = a->file ? a->file : "";
	const char *msg = a->message ? a->message : "";
	bool tls = strstr(file, "ssl_transport_security") || strstr(file, "security_handshaker") ||
		   strstr(file, "secure_endpoint") || strstr(file, "handshaker.cc");
	if (tls) {
		if (strstr(msg, "andshake failed")) {
			signer_refusals_note(atomic_load(&log_refusals), SIGNER_REFUSAL_TLS, "?",
					     NULL);
			signer_metrics_refusal(atomic_load(&log_metrics), SIGNER_REFUSAL_TLS);
		}
		sg_log(SG_LOG_DEBUG, "grpc %s:%d: %s", file, a->line, msg);
		return;
	}
	sg_log_level lvl = a->severity == GPR_LOG_SEVERITY_ERROR  ? SG_LOG_ERROR
			   : a->severity == GPR_LOG_SEVERITY_INFO ? SG_LOG_INFO
								  : SG_LOG_DEBUG;
	sg_log(lvl, "grpc %s:%d: %s", file, a->line, msg);
}

/* ---- life cycle ---------------------------------------------------------- */

static signet_err copy_clients(const signer_config *src, signer_client **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (src->nclients == 0)
		return SIGNET_OK;
	signer_client *cl = calloc(src->nclients, sizeof(*cl));
	if (!cl)
		return SIGNET_ENOMEM;
	for (size_t i = 0; i < src->nclients; i++) {
		cl[i] = src->clients[i];
		cl[i].zones = NULL;
		if (src->clients[i].nzones) {
			cl[i].zones = malloc(src->clients[i].nzones * sizeof(dns_name));
			if (!cl[i].zones) {
				for (size_t j = 0; j < i; j++)
					free(cl[j].zones);
				free(cl);
				return SIGNET_ENOMEM;
			}
			memcpy(cl[i].zones, src->clients[i].zones,
			       src->clients[i].nzones * sizeof(dns_name));
		}
	}
	for (size_t i = 0; i < src->nclients; i++)
		signer_acl_ref(cl[i].acl);
	*out = cl;
	*n = src->nclients;
	return SIGNET_OK;
}

/* Open the token, retrying briefly: several processes logging in to one
 * SoftHSM2 token at the same instant fail now and then (HSM-NOTES.md). */
static signet_err open_token(signer_server *srv, const sg_secret *pin)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	signet_err ret = SIGNET_EHSM;
	for (int attempt = 0; attempt < 5; attempt++) {
		ret = hsm_token_open(srv->hsm, srv->cfg.token_label, NULL, pin, &srv->token, hsmerr,
				     sizeof(hsmerr));
		if (ret == SIGNET_OK || ret == SIGNET_EHSM_PIN || ret == SIGNET_EHSM_LOCKED)
			break;
		struct timespec ts = {0, 50000000L * (attempt + 1)};
		nanosleep(&ts, NULL);
	}
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "token '%s': %s (%s)", srv->cfg.token_label,
		       signet_strerror(ret), hsmerr);
	return ret;
}

static signet_err start_grpc(signer_server *srv)
{
	grpc_server_credentials *creds = NULL;
	signet_err ret = srv_tls_credentials(&srv->cfg, srv->hsm, srv->token, &srv->tls, &creds);
	if (ret != SIGNET_OK)
		return ret;
	const signer_admission_limits *lim = &srv->cfg.admission;
	grpc_arg args[10];
	memset(args, 0, sizeof(args));
	/* Without this a second signetd on the same port starts silently and
	 * takes half the connections. */
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
	args[0].value.integer = 0;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[1].value.integer = (int)srv->cfg.max_message;
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
	args[2].value.integer = (int)lim->streams_per_connection;
	/* A client that never finishes TLS and HTTP/2 set-up (slow-loris)
	 * loses its connection after this; an idle one after the next. */
	args[3].type = GRPC_ARG_INTEGER;
	args[3].key = (char *)GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
	args[3].value.integer = (int)lim->handshake_timeout_s * 1000;
	args[4].type = GRPC_ARG_INTEGER;
	args[4].key = (char *)GRPC_ARG_MAX_CONNECTION_IDLE_MS;
	args[4].value.integer = (int)lim->idle_timeout_s * 1000;
	/* Every socket gRPC accepts is reported to conns.c, which may refuse
	 * it before the TLS handshake. */
	args[5] = srv_conns_arg(srv->conns);
	/* gRPC's own memory, read buffers and calls included: under pressure
	 * it shrinks buffers and closes connections rather than grow. */
	srv->quota = grpc_resource_quota_create("signetd");
	grpc_resource_quota_resize(srv->quota, srv->cfg.grpc_memory_mib * 1024 * 1024);
	args[6].type = GRPC_ARG_POINTER;
	args[6].key = (char *)GRPC_ARG_RESOURCE_QUOTA;
	args[6].value.pointer.p = srv->quota;
	args[6].value.pointer.vtable = grpc_resource_quota_arg_vtable();
	/* Headers are small in this API; a client cannot make gRPC hold
	 * more than this per stream in metadata. */
	args[7].type = GRPC_ARG_INTEGER;
	args[7].key = (char *)GRPC_ARG_MAX_METADATA_SIZE;
	args[7].value.integer = 16 * 1024;
	/* gRPC parses every frame of one read before a call created by them
	 * reaches us; small reads let signetd see a flood of streams (and
	 * close its connection) after a few hundred streams, not after
	 * megabytes of them. A signing request still arrives in a few reads. */
	args[8].type = GRPC_ARG_INTEGER;
	args[8].key = (char *)GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE;
	args[8].value.integer = READ_CHUNK;
	args[9].type = GRPC_ARG_INTEGER;
	args[9].key = (char *)GRPC_ARG_TCP_READ_CHUNK_SIZE;
	args[9].value.integer = READ_CHUNK;
	grpc_channel_args ca = {10, args};
	srv->server = grpc_server_create(&ca, NULL);
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
	for (int m = 0; m < M_COUNT; m++) {
		srv->methods[m] = grpc_server_register_method(srv->server,
							      srv_method_path((srv_method)m), NULL,
							      GRPC_SRM_PAYLOAD_NONE, 0);
		if (!srv->methods[m])
			ret = SIGNET_EIO;
	}
	if (ret == SIGNET_OK &&
	    grpc_server_add_http2_port(srv->server, srv->cfg.listen, creds) == 0) {
		sg_log(SG_LOG_ERROR, "cannot listen on %s", srv->cfg.listen);
		ret = SIGNET_EIO;
	}
	if (ret == SIGNET_OK && !srv_conns_active(srv->conns))
		sg_log(SG_LOG_WARNING,
		       "this gRPC did not report its listening socket: "
		       "max-connections, max-connections-per-address and "
		       "max-resets-per-second cannot be enforced (docs/SIGNETD.md)");
	grpc_server_credentials_release(creds);
	return ret;
}

/* Start answering on the bound listener: the last step of start-up, after
 * privileges are dropped, so no call is ever served as root. */
static signet_err serve_grpc(signer_server *srv)
{
	signet_err ret = SIGNET_OK;
	grpc_server_start(srv->server);
	srv->grpc_started = true;
	/* The queue's thread first, so every requested call has a reader. */
	/* More than one: while gRPC has one parsing a connection's frames,
	 * another hands out the calls already made. */
	for (unsigned i = 0; i < SRV_CQ_THREADS; i++) {
		if (pthread_create(&srv->cq_threads[i], NULL, cq_main, srv) != 0)
			break;
		srv->ncq_threads++;
	}
	if (!srv->ncq_threads)
		return SIGNET_ENOMEM;
	srv->cq_started = true;
	/* A few calls of each method may wait to be picked up at once. */
	for (int m = 0; m <= M_UNKNOWN && ret == SIGNET_OK; m++)
		for (int k = 0; k < REQUESTED_PER_METHOD && ret == SIGNET_OK; k++)
			ret = request_call(srv, (srv_method)m);
	return ret;
}

/* ---- metrics endpoint ---------------------------------------------------- */

/* What a scrape reads rather than counts: the token (a describe, which also
 * brings a returned token back), the cache, the calls in flight and each
 * zone's key-set expiry from the state. */
static signet_err metrics_body(void *arg, sg_buf *out)
{
	signer_server *srv = arg;
	signer_metrics_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	hsm_token_desc d;
	snap.token_up = hsm_token_describe(srv->token, &d, NULL, 0) == SIGNET_OK;
	signer_cache_get_stats(srv->cache, &snap.cache);
	pthread_mutex_lock(&srv->lock);
	snap.inflight = srv->inflight;
	pthread_mutex_unlock(&srv->lock);
	snap.workers = srv->nworkers;
	dns_name *zones = NULL;
	size_t nz = 0;
	signet_err ret = signer_state_list_zones(srv->state, &zones, &nz);
	if (ret != SIGNET_OK)
		return ret;
	signer_metrics_zone *mz = calloc(nz ? nz : 1, sizeof(*mz));
	if (!mz) {
		free(zones);
		return SIGNET_ENOMEM;
	}
	int64_t now = signer_clock_now();
	for (size_t i = 0; i < nz; i++) {
		mz[i].zone = zones[i];
		mz[i].keyset_seconds = srv_keyset_left(srv, &zones[i], now, &mz[i].has_keyset);
		mz[i].waiting_ds = srv_ds_wait(srv, &zones[i], now, NULL) == SIGNET_OK;
		mz[i].zsk_unbacked = signer_backups_zone_missing(srv->backups, &zones[i]);
		signer_replica_keys_zone(srv->replica_keys, &zones[i], now, &mz[i].zsk_lacking,
					 NULL, NULL, 0);
	}
	signer_replica_keys_counts rc;
	signer_replica_keys_get_counts(srv->replica_keys, &rc);
	snap.zsk_restored = rc.restored;
	snap.zsk_restore_failed = rc.failed;
	snap.lacking_refused = rc.refused;
	snap.backup_domain = signer_backups_domain(srv->backups, NULL);
	snap.tls_key_in_token = hsm_uri_is(srv->cfg.tls_key);
	snap.tls_key_reloads = srv_tls_reloads(srv->tls);
	snap.tls_engine_failures = snap.tls_key_in_token ? hsm_tls_engine_failures() : 0;
	snap.zones = mz;
	snap.nzones = nz;
	ret = signer_metrics_render(srv->metrics, &snap, out);
	free(mz);
	free(zones);
	return ret;
}

static signet_err make_metrics(signer_server *srv)
{
	/* Label values are the methods' short names ("SignRRsets"). */
	const char *names[M_COUNT + 1];
	for (int m = 0; m <= M_COUNT; m++)
		names[m] = srv_method_name((srv_method)m);
	return signer_metrics_new(names, M_COUNT + 1, &srv->metrics);
}

static signet_err start_metrics_http(signer_server *srv)
{
	if (!srv->cfg.metrics[0])
		return SIGNET_OK;
	signet_err ret = signer_http_start(srv->cfg.metrics, metrics_body, srv, &srv->http);
	if (ret == SIGNET_OK)
		sg_log(SG_LOG_NOTICE, "metrics on http://%s/metrics", srv->cfg.metrics);
	return ret;
}

/* ---- start and stop ------------------------------------------------------ */

signet_err signer_server_start(const signer_config *cfg, const sg_secret *pin, signer_server **out)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (!cfg || !pin || !out)
		return SIGNET_EINVAL;
	*out = NULL;
	signer_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return SIGNET_ENOMEM;
	srv->cfg = *cfg;
	srv->cfg.clients = NULL;
	srv->cfg.nclients = 0;
	pthread_rwlock_init(&srv->acl_lock, NULL);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	pthread_cond_init(&srv->done_cond, NULL);
	atomic_init(&srv->stopping, false);
	atomic_init(&srv->msg_timeout_ns,
		    (uint_fast64_t)cfg->admission.message_timeout_s * 1000000000u);
	atomic_init(&srv->max_calls, cfg->admission.max_calls);
	atomic_init(&srv->held_calls, 0);
	pthread_condattr_t rca;
	pthread_condattr_init(&rca);
	pthread_condattr_setclock(&rca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->reaper_cond, &rca);
	pthread_condattr_destroy(&rca);
	srv->tag_shutdown.what = TAG_SHUTDOWN;
	srv->tag_shutdown.obj = srv;
	srv->limits.max_rrsets = cfg->max_rrsets;
	srv->limits.max_rrs = cfg->max_rrs;
	srv->limits.max_rrset_octets = cfg->max_rrset_octets;

	signet_err ret = copy_clients(cfg, &srv->cfg.clients, &srv->cfg.nclients);
	char path[SIGNER_PATH_MAX + 32];
	if (ret == SIGNET_OK && !cfg->tls12)
		ret = srv_tls13_only();
	if (ret == SIGNET_OK)
		ret = signer_state_open_options(cfg->state_dir, &cfg->state, &srv->state);
	if (ret == SIGNET_OK) {
		snprintf(path, sizeof(path), "%s/audit.log", cfg->state_dir);
		ret = signer_audit_open(path, &srv->audit);
		if (ret != SIGNET_OK)
			sg_log(SG_LOG_ERROR, "audit log %s: %s", path, signet_strerror(ret));
		else
			signer_audit_set_replica(srv->audit, cfg->replica_name);
	}
	if (ret == SIGNET_OK)
		ret = signer_cache_new(cfg->cache_size, &srv->cache);
	if (ret == SIGNET_OK)
		ret = signer_admission_new(&cfg->admission, &srv->admission);
	/* Counters exist before any call can arrive; the endpoint starts last,
	 * once the token and the state it reads are there. */
	if (ret == SIGNET_OK)
		ret = make_metrics(srv);
	if (ret == SIGNET_OK)
		ret = signer_ds_reports_new(&srv->ds_reports);
	if (ret == SIGNET_OK)
		ret = signer_refusals_new(srv->audit, cfg->refusal_interval_s, &srv->refusals);
	if (ret == SIGNET_OK)
		ret = srv_conns_new(&cfg->admission, srv->refusals, srv->metrics, &srv->conns);
	if (ret == SIGNET_OK) {
		ret = hsm_open_args(cfg->pkcs11_module,
				    cfg->pkcs11_module_args[0] ? cfg->pkcs11_module_args : NULL,
				    &srv->hsm, hsmerr, sizeof(hsmerr));
		if (ret != SIGNET_OK)
			sg_log(SG_LOG_ERROR, "PKCS#11 module %s: %s (%s)", cfg->pkcs11_module,
			       signet_strerror(ret), hsmerr);
	}
	if (ret == SIGNET_OK)
		ret = open_token(srv, pin);
	/* Before the sessions: it sets how the token treats keys. */
	if (ret == SIGNET_OK)
		ret = signer_backups_new(srv->token, srv->state, cfg->require_backup,
					 &srv->backups);
	if (ret == SIGNET_OK)
		ret = signer_replica_keys_new(srv->backups, srv->state, srv->token, srv->audit,
					      cfg->replica_name, &srv->replica_keys);
	if (ret == SIGNET_OK) {
		srv->workers = calloc(cfg->workers, sizeof(*srv->workers));
		if (!srv->workers)
			ret = SIGNET_ENOMEM;
	}
	for (unsigned i = 0; ret == SIGNET_OK && i < cfg->workers; i++) {
		srv_worker *w = &srv->workers[i];
		w->srv = srv;
		w->index = i;
		ret = hsm_session_open(srv->token, &w->sess, hsmerr, sizeof(hsmerr));
		if (ret != SIGNET_OK) {
			sg_log(SG_LOG_ERROR, "HSM session %u: %s (%s)", i, signet_strerror(ret),
			       hsmerr);
			break;
		}
		if (pthread_create(&w->thread, NULL, srv_worker_main, w) != 0) {
			hsm_session_close(w->sess);
			w->sess = NULL;
			ret = SIGNET_ENOMEM;
			break;
		}
		srv->nworkers++;
	}
	if (ret == SIGNET_OK) {
		atomic_store(&log_refusals, srv->refusals);
		atomic_store(&log_metrics, srv->metrics);
		gpr_set_log_function(grpc_log);
		grpc_init();
		srv->grpc_inited = true;
		ret = start_grpc(srv);
	}
	if (ret == SIGNET_OK)
		ret = start_metrics_http(srv);
	/* The token, the state, the audit log and both listeners are open:
	 * nothing later needs root, and no gRPC call has been served yet. */
	if (ret == SIGNET_OK && cfg->user[0]) {
		char msg[SIGNER_ERRMSG_MAX];
		ret = signer_drop_privileges(cfg->user, msg, sizeof(msg));
		if (ret != SIGNET_OK) {
			sg_log(SG_LOG_ERROR, "cannot run as %s: %s", cfg->user, msg);
			/* gRPC tears a server with a bound port down only once it
			 * is started; with no call ever requested, none is served. */
			grpc_server_start(srv->server);
			srv->grpc_started = true;
		} else
			sg_log(SG_LOG_NOTICE, "running as %s (uid %u), no capabilities", cfg->user,
			       (unsigned)getuid());
	}
	/* Keys made on other replicas, restored before the first call and as
	 * signetd's user (the token objects it makes must be readable by it). */
	if (ret == SIGNET_OK) {
		size_t restored = 0, absent = 0;
		ret = signer_replica_keys_sync(srv->replica_keys, true, &restored, &absent);
		if (ret == SIGNET_OK && (restored || absent))
			sg_log(absent ? SG_LOG_WARNING : SG_LOG_NOTICE,
			       "replica %s: %zu ZSK%s restored from the state's backups, %zu "
			       "lacking",
			       cfg->replica_name, restored, restored == 1 ? "" : "s", absent);
		if (ret == SIGNET_OK)
			ret = signer_replica_keys_start(
				srv->replica_keys, cfg->state.cache_ms ? cfg->state.cache_ms : 500);
	}
	if (ret == SIGNET_OK)
		ret = serve_grpc(srv);
	if (ret == SIGNET_OK) {
		if (pthread_create(&srv->reaper, NULL, srv_reaper_main, srv) == 0)
			srv->reaper_started = true;
		else
			ret = SIGNET_ENOMEM;
	}
	if (ret != SIGNET_OK) {
		signer_server_stop(srv);
		return ret;
	}
	sg_log(SG_LOG_NOTICE, "signetd listening on %s with %u workers (TLS 1.2 %s)", cfg->listen,
	       srv->nworkers, cfg->tls12 ? "allowed" : "refused");
	*out = srv;
	return SIGNET_OK;
}

signet_err signer_server_reload(signer_server *srv, const signer_config *cfg)
{
	if (!srv || !cfg)
		return SIGNET_EINVAL;
	signer_client *cl = NULL;
	size_t n = 0;
	signet_err ret = copy_clients(cfg, &cl, &n);
	if (ret != SIGNET_OK)
		return ret;
	/* The ACL and the limits change in one critical section, both or
	 * neither: a client added with a new limit never runs under the old
	 * one, and a failed reload leaves the running set whole. */
	pthread_rwlock_wrlock(&srv->acl_lock);
	ret = signer_admission_set_limits(srv->admission, &cfg->admission, sg_mono_ns());
	signer_config drop; /* whichever client list lost */
	memset(&drop, 0, sizeof(drop));
	drop.clients = cl;
	drop.nclients = n;
	if (ret == SIGNET_OK) {
		drop.clients = srv->cfg.clients;
		drop.nclients = srv->cfg.nclients;
		srv->cfg.clients = cl;
		srv->cfg.nclients = n;
		signer_admission_limits *now = &srv->cfg.admission;
		now->max_connections = cfg->admission.max_connections;
		now->max_connections_client = cfg->admission.max_connections_client;
		now->max_calls_client = cfg->admission.max_calls_client;
		now->rate = cfg->admission.rate;
		now->burst = cfg->admission.burst;
		now->max_connections_address = cfg->admission.max_connections_address;
		now->max_open_connections = cfg->admission.max_open_connections;
		now->connection_rate = cfg->admission.connection_rate;
		now->resets_per_second = cfg->admission.resets_per_second;
		now->message_timeout_s = cfg->admission.message_timeout_s;
		now->max_calls = cfg->admission.max_calls;
		srv_conns_set_limits(srv->conns, now);
		atomic_store(&srv->msg_timeout_ns,
			     (uint_fast64_t)now->message_timeout_s * 1000000000u);
		atomic_store(&srv->max_calls, now->max_calls);
	}
	pthread_rwlock_unlock(&srv->acl_lock);
	signer_config_free(&drop);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR,
		       "reload: limits not applied (%s), keeping the old clients "
		       "and limits",
		       signet_strerror(ret));
		return ret;
	}
	/* What gRPC, the token, the listeners and the workers were started
	 * with stays until a restart: say so instead of pretending. Only the
	 * fields above changed in srv->cfg, so these keep warning until then. */
	/* tls-cert, tls-ca and a PEM tls-key: new connections get them (a
	 * failure is logged and keeps the old ones). */
	srv_tls_reload(srv->tls, cfg);
	const signer_config *was = &srv->cfg;
	const signer_admission_limits *wl = &was->admission, *nl = &cfg->admission;
	const struct {
		bool differs;
		const char *key;
	} fixed[] = {
		{strcmp(was->listen, cfg->listen) != 0, "listen"},
		{was->tls12 != cfg->tls12, "tls12"},
		{strcmp(was->pkcs11_module, cfg->pkcs11_module) != 0 ||
			 strcmp(was->pkcs11_module_args, cfg->pkcs11_module_args) != 0 ||
			 strcmp(was->token_label, cfg->token_label) != 0 ||
			 strcmp(was->pin_spec, cfg->pin_spec) != 0,
		 "pkcs11-module/pkcs11-module-args/token-label/pin"},
		{strcmp(was->state_dir, cfg->state_dir) != 0, "state-dir"},
		{was->workers != cfg->workers, "workers"},
		{was->cache_size != cfg->cache_size, "cache-size"},
		{was->max_rrsets != cfg->max_rrsets || was->max_rrs != cfg->max_rrs ||
			 was->max_rrset_octets != cfg->max_rrset_octets,
		 "max-rrsets/rrs/octets"},
		{was->max_message != cfg->max_message, "max-message"},
		{strcmp(was->metrics, cfg->metrics) != 0 ||
			 was->metrics_allow_remote != cfg->metrics_allow_remote,
		 "metrics"},
		{strcmp(was->user, cfg->user) != 0 || was->allow_root != cfg->allow_root,
		 "user/allow-root"},
		{was->refusal_interval_s != cfg->refusal_interval_s, "refusal-interval"},
		{was->grpc_memory_mib != cfg->grpc_memory_mib, "grpc-memory"},
		{was->verify_all != cfg->verify_all, "verify-after-sign"},
		{wl->idle_timeout_s != nl->idle_timeout_s, "idle-timeout"},
		{wl->handshake_timeout_s != nl->handshake_timeout_s, "handshake-timeout"},
		{wl->streams_per_connection != nl->streams_per_connection,
		 "max-streams-per-connection"},
	};
	char keys[400] = "";
	size_t used = 0;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!fixed[i].differs || used >= sizeof(keys))
			continue;
		int w = snprintf(keys + used, sizeof(keys) - used, "%s%s", used ? ", " : "",
				 fixed[i].key);
		used += w > 0 ? (size_t)w : 0;
	}
	if (keys[0])
		sg_log(SG_LOG_WARNING,
		       "reload: changed keys keep their old values until a "
		       "restart: %s",
		       keys);
	sg_log(SG_LOG_NOTICE,
	       "reloaded: %zu clients; per client %zu calls, %u calls/s "
	       "(burst %u), %zu connections; %zu connections in all",
	       n, cfg->admission.max_calls_client, cfg->admission.rate, cfg->admission.burst,
	       cfg->admission.max_connections_client, cfg->admission.max_connections);
	return SIGNET_OK;
}

void signer_server_stop(signer_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stopping, true);
	/* The endpoint reads the token and state: it goes before they do. */
	signer_http_stop(srv->http);
	srv->http = NULL;
	if (srv->server && !srv->grpc_started) {
		/* Start failed before serving: nothing is in flight. */
		grpc_completion_queue_shutdown(srv->cq);
		while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
			       .type != GRPC_QUEUE_SHUTDOWN) {
		}
	} else if (srv->server) {
		SG_TSAN_RELEASE(&srv->tag_shutdown);
		grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->tag_shutdown);
		/* From here gRPC matches no new call (the slots it still held are
		 * failed back to us, and a new stream is refused by gRPC itself):
		 * a call that arrives now is turned away, so a client that reads
		 * this line and calls again is not served behind the drain. Every
		 * call matched before it is drained, even one whose arrival a
		 * queue thread has not handled yet. */
		sg_log(SG_LOG_NOTICE, "draining calls in flight");
		/* A call still waiting for its message may have it on the wire
		 * (a slow machine takes a while to hand it over): it gets a short
		 * grace, not its whole message-timeout, so silent streams cannot
		 * hold the drain. The list stays ordered: a capped deadline is
		 * never later than the ones behind it. */
		pthread_mutex_lock(&srv->lock);
		uint64_t cap = sg_mono_ns() + STOP_MESSAGE_GRACE_MS * 1000000ull;
		for (srv_call *c = srv->wait_head; c; c = c->wnext)
			if (c->msg_deadline_ns > cap)
				c->msg_deadline_ns = cap;
		pthread_cond_signal(&srv->reaper_cond);
		pthread_mutex_unlock(&srv->lock);
		if (srv->cq_started) {
			/* Let calls in flight finish, but not for ever; then drop the
			 * idle connections, which would otherwise hold the shutdown
			 * until their clients go away. */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += DRAIN_SECONDS;
			pthread_mutex_lock(&srv->lock);
			while (srv->inflight > 0 || srv->requested > 0)
				if (pthread_cond_timedwait(&srv->done_cond, &srv->lock, &until) !=
				    0)
					break;
			size_t left = srv->inflight;
			pthread_mutex_unlock(&srv->lock);
			if (left)
				sg_log(SG_LOG_WARNING, "drain timed out: cancelling %zu calls",
				       left);
			grpc_server_cancel_all_calls(srv->server);
			pthread_mutex_lock(&srv->lock);
			while (!srv->shutdown_done)
				pthread_cond_wait(&srv->done_cond, &srv->lock);
			/* Every call cancelled above sends its status and is freed
			 * on a queue thread: the queue stays open until then (a
			 * bound for a call gRPC never hands back). */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += CALLS_GONE_SECONDS;
			while (srv->inflight > 0 || srv->requested > 0)
				if (pthread_cond_timedwait(&srv->done_cond, &srv->lock, &until) !=
				    0)
					break;
			pthread_mutex_unlock(&srv->lock);
			grpc_completion_queue_shutdown(srv->cq);
			for (unsigned i = 0; i < srv->ncq_threads; i++)
				pthread_join(srv->cq_threads[i], NULL);
		} else {
			/* No call was ever requested: only the shutdown tag comes. */
			grpc_server_cancel_all_calls(srv->server);
			grpc_completion_queue_shutdown(srv->cq);
			while (grpc_completion_queue_next(srv->cq,
							  gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
				       .type != GRPC_QUEUE_SHUTDOWN) {
			}
		}
	}
	pthread_mutex_lock(&srv->lock);
	srv->workers_quit = true;
	srv->reaper_quit = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_cond_signal(&srv->reaper_cond);
	pthread_mutex_unlock(&srv->lock);
	if (srv->reaper_started)
		pthread_join(srv->reaper, NULL);
	for (unsigned i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i].thread, NULL);
	for (unsigned i = 0; i < srv->nworkers; i++)
		hsm_session_close(srv->workers[i].sess);
	if (srv->server)
		grpc_server_destroy(srv->server);
	if (srv->cq)
		grpc_completion_queue_destroy(srv->cq);
	if (srv->quota)
		grpc_resource_quota_unref(srv->quota);
	if (srv->grpc_inited)
		grpc_shutdown();
	atomic_store(&log_refusals, NULL);
	atomic_store(&log_metrics, NULL);
	free(srv->workers);
	/* After the server: its handshakes sign through this login. */
	srv_tls_free(srv->tls);
	signer_replica_keys_free(srv->replica_keys);
	signer_backups_free(srv->backups);
	if (srv->token)
		hsm_token_close(srv->token);
	if (srv->hsm)
		hsm_close(srv->hsm);
	signer_cache_free(srv->cache);
	signer_admission_free(srv->admission);
	srv_conns_free(srv->conns);
	/* The last counts go to the audit log before it closes. */
	signer_refusals_free(srv->refusals);
	signer_metrics_free(srv->metrics);
	signer_ds_reports_free(srv->ds_reports);
	signer_audit_close(srv->audit);
	signer_state_close(srv->state);
	signer_config_free(&srv->cfg);
	pthread_rwlock_destroy(&srv->acl_lock);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	pthread_cond_destroy(&srv->done_cond);
	pthread_cond_destroy(&srv->reaper_cond);
	free(srv);
}
