/* internal.h -- signetd's running state (signer_server, its workers and
 * job queue), what the transport and the handlers read of it, the
 * connection table and the signing path; not part of the layer's API
 * (tests use signer.h). The call is in call.h, the handlers in rpc.h. */
#ifndef SIGNET_SIGNER_INTERNAL_H
#define SIGNET_SIGNER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "proto/signet.pb-c.h"
#include "signer/call.h"
#include "signer/signer.h"
#include "signer/tls.h"

#define SRV_CQ_THREADS 2 /* threads taking calls from gRPC (and doing its reads) */

/* ---- conns.c: TCP connections as gRPC accepts them ------------------------ */

typedef struct srv_conns srv_conns;

/* A table for lim's max-connections, max-connections-per-address and
 * max-resets-per-second; refusals and metrics (borrowed, may be NULL)
 * count what it refuses. Free with srv_conns_free after the gRPC server. */
signet_err srv_conns_new(const signer_admission_limits *lim, signer_refusals *refusals,
			 signer_metrics *metrics, srv_conns **out);
void srv_conns_free(srv_conns *t);
/* The channel argument that makes gRPC report its sockets to t. */
grpc_arg srv_conns_arg(srv_conns *t);
/* Whether gRPC reported its listener: the mutator works in this build. */
bool srv_conns_active(srv_conns *t);
/* New limits (a reload); max-connections is capped at the start's. */
void srv_conns_set_limits(srv_conns *t, const signer_admission_limits *lim);
/* Forget closed connections; the number still open. */
size_t srv_conns_sweep(srv_conns *t);
/* A stream of peer waits for its message: false (not counted) when its
 * connection has max waiting already or was shut down. */
bool srv_conns_wait_enter(srv_conns *t, const char *peer, size_t max);
void srv_conns_wait_leave(srv_conns *t, const char *peer);
/* Note the octets each connection has received so far (TCP_INFO). */
void srv_conns_mark(srv_conns *t);
/* Shut down the connection that received the most octets since the mark,
 * if at least min: true, its peer in peer (plen octets). */
bool srv_conns_shed(srv_conns *t, uint64_t min, char *peer, size_t plen);
/* A stream of peer ended before its message at now_ns; true when this one
 * took the connection over max-resets-per-second and it was shut down. */
bool srv_conns_reset(srv_conns *t, const char *peer, uint64_t now_ns);

/* A worker: one thread with its own HSM session. */
typedef struct srv_worker {
	signer_server *srv;
	unsigned index;
	hsm_session *sess;
	pthread_t thread;
} srv_worker;

typedef struct srv_job {
	struct srv_job *next;
	void (*run)(srv_worker *w, void *arg);
	void *arg;
} srv_job;

struct signer_server {
	signer_config cfg;         /* copy; clients swapped on reload */
	pthread_rwlock_t acl_lock; /* guards cfg.clients/nclients */
	hsm_ctx *hsm;
	hsm_token *token;
	srv_tls *tls;                      /* TLS material gRPC fetches (tls.c) */
	signer_backups *backups;           /* ZSK backups to the token's domain (backup.c) */
	signer_replica_keys *replica_keys; /* keys made on other replicas (replica_keys.c) */
	signer_state *state;
	signer_audit *audit;
	signer_cache *cache;
	signer_limits limits;
	signer_admission *admission; /* per-client limits (limits.c) */
	grpc_server *server;
	grpc_completion_queue *cq;
	void *methods[M_COUNT];
	pthread_t cq_threads[SRV_CQ_THREADS]; /* read the completion queue */
	unsigned ncq_threads;                 /* started */
	bool cq_started;
	bool grpc_inited;  /* grpc_init was called */
	bool grpc_started; /* grpc_server_start was called */
	srv_tag tag_shutdown;
	atomic_bool stopping;
	pthread_mutex_t lock;     /* job queue and shutdown flags */
	pthread_cond_t cond;      /* a job was queued, or quit */
	pthread_cond_t done_cond; /* shutdown_done or inflight changed */
	srv_job *head, *tail;
	bool workers_quit;
	bool shutdown_done;
	size_t inflight;                 /* calls arrived and not yet answered */
	size_t requested;                /* call slots asked of gRPC whose TAG_NEW is
					 * not handled yet: a call gRPC matched to
					 * one is in flight before it is counted */
	signer_metrics *metrics;         /* counters for the metrics endpoint */
	signer_http *http;               /* the metrics endpoint, or NULL */
	signer_ds_reports *ds_reports;   /* parent-watch's last reports */
	signer_refusals *refusals;       /* refusals, audited in aggregate */
	srv_conns *conns;                /* TCP connections (conns.c) */
	grpc_resource_quota *quota;      /* gRPC's memory, grpc-memory */
	srv_call *wait_head, *wait_tail; /* calls waiting for their message (lock) */
	pthread_t reaper;                /* expires them, sweeps conns */
	pthread_cond_t reaper_cond;      /* reaper_quit (monotonic clock) */
	bool reaper_started, reaper_quit;
	atomic_uint_fast64_t msg_timeout_ns;   /* message-timeout, reloadable */
	atomic_size_t max_calls;               /* max-calls, reloadable */
	atomic_size_t held_calls;              /* calls past identity, held for max-calls */
	atomic_uint_fast64_t cq_return_ns;     /* the queue thread last came back from gRPC */
	uint64_t watch_cpu_ns[SRV_CQ_THREADS]; /* reaper only: queue threads' CPU */
	unsigned watch_stalled;                /* reaper only: ticks busy without returning */
	srv_worker *workers;
	unsigned nworkers;
};

/* ---- workers.c: the job queue ------------------------------------------------ */

/* Queue fn(w, arg) for the next free worker. */
signet_err srv_enqueue(signer_server *srv, void (*fn)(srv_worker *, void *), void *arg);

/* A worker thread's body (arg: its srv_worker): runs jobs until
 * workers_quit and the queue is empty. */
void *srv_worker_main(void *arg);

/* ---- identity.c ----------------------------------------------------------- */

/* Name c's peer and find its identity in the client certificate: a SAN (DNS
 * or URI) that names a client line, or the CN for a certificate without any
 * SAN when that line has allow-cn (RFC 6125 6.4.4). Known: c->known set and
 * the line deep-copied into c->who; c->identity names what was seen, for
 * logs, either way. */
void srv_identify(signer_server *srv, srv_call *c);

/* ---- reaper.c: calls waiting for their message ------------------------------ */

/* Take c out of srv's waiting list; call with srv->lock held. */
void srv_wait_unlink(signer_server *srv, srv_call *c);

/* The reaper thread's body (arg: the signer_server): until reaper_quit,
 * cancels calls whose message is overdue (UNAVAILABLE once stopping),
 * watches the queue threads and sweeps closed connections. */
void *srv_reaper_main(void *arg);

/* ---- zone_status.c: what Health, ConfirmDs and the metrics read ---------- */

/* Seconds until the last imported key-set period of zone ends (negative
 * once over); *has (may be NULL) says whether a bundle was imported at all. */
int64_t srv_keyset_left(signer_server *srv, const dns_name *zone, int64_t now, bool *has);

/* What Health says about zone at now besides its key set: warnings
 * (appended, each malloc'd; the caller frees them and the array) and the
 * next key state change in force (0: none). */
signet_err srv_zone_rollover_health(signer_server *srv, const dns_name *zone, int64_t now,
				    char ***warnings, size_t *nwarnings, int64_t *next_change);

/* What zone's rollover waits for at the parent at now (out may be NULL;
 * filled with malloc'd DNSKEYs that free_unpacked must not free: release
 * with srv_ds_wait_free). SIGNET_ENOTFOUND when nothing waits. */
signet_err srv_ds_wait(signer_server *srv, const dns_name *zone, int64_t now,
		       Signet__V1__DsWait *out);
void srv_ds_wait_free(Signet__V1__DsWait *w);

/* ---- sign.c: the signing path of SignRRsets --------------------------------- */

/* How RRsets are signed: on which session, with which key, for which zone,
 * over which validity window. Everything is borrowed. */
typedef struct signer_signing {
	hsm_session *session;  /* the calling thread's own session */
	signer_cache *cache;   /* consulted first, then filled; may be NULL */
	const signer_zsk *zsk; /* the key */
	const dns_name *apex;  /* the zone: the RRSIG's signer name */
	uint32_t inception;    /* the RRSIG's validity window */
	uint32_t expiration;
} signer_signing;

/* Sign set (checked, any order) as how says and append the RRSIG RDATA to
 * out. The cache is consulted first; *cached (may be NULL) says whether it
 * answered. With zsk->pub the fresh signature is verified before it is
 * returned (SIGNET_EVERIFY if wrong, and nothing is cached); an RSA key
 * without zsk->pub is refused (SIGNET_EINVAL). HSM errors are passed
 * through, their detail in errmsg (may be NULL when errlen is 0). */
signet_err signer_sign_rrset(const signer_signing *how, const dns_rrset *set, sg_buf *out,
			     bool *cached, char *errmsg, size_t errlen);

/* What a signing thread keeps between RRsets so that the canonical form,
 * the signed data and the digests cost no allocation once warm. Start it
 * zeroed ({.md = NULL}); free with signer_scratch_free. */
typedef struct signer_scratch {
	sg_buf wire;    /* the canonical RRset in wire form (signer_canonical) */
	sg_buf data;    /* key identity, then the signed data */
	EVP_MD_CTX *md; /* reused for SHA-256 */
	sg_buf rdata;   /* the caller's: an RRSIG on its way out (rpc_sign.c) */
} signer_scratch;
void signer_scratch_free(signer_scratch *sc);

/* Put set (checked) into canonical form in place, once for everything
 * after it: its wire form goes to sc->wire and, when policy_digest is not
 * NULL, the SHA-256 of that wire form (what signer_rrset_digest gives for
 * the set) to policy_digest. dns_rrset_canonicalize's errors. */
signet_err signer_canonical(dns_rrset *set, signer_scratch *sc, uint8_t policy_digest[32]);

/* signer_sign_rrset for a set that signer_canonical has just put into sc:
 * no copy, no second canonical form. Same contract otherwise, and *hsm_ns
 * (may be NULL) gets the nanoseconds spent in hsm_sign (0 when the cache
 * answered or nothing reached the HSM). */
signet_err signer_sign_canonical(signer_scratch *sc, const signer_signing *how,
				 const dns_rrset *set, sg_buf *out, bool *cached, uint64_t *hsm_ns,
				 char *errmsg, size_t errlen);

#endif /* SIGNET_SIGNER_INTERNAL_H */
