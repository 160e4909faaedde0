/* internal.h -- what signetd's server and RPC handlers share; not part of
 * the layer's API (tests use signer.h). */
#ifndef SIGNET_SIGNER_INTERNAL_H
#define SIGNET_SIGNER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "proto/signet.pb-c.h"
#include "signer/signer.h"

typedef enum srv_method {
	M_SIGN, M_KEYSET, M_HEALTH, M_ADDZONE, M_GENZSK, M_EXPORT, M_IMPORT,
	M_LISTKEYS, M_ROLLOVER, M_CONFIRMDS, M_REPORTDS, M_COUNT,
	M_UNKNOWN = M_COUNT   /* any other path: answered UNIMPLEMENTED */
} srv_method;

typedef struct signer_server signer_server;

#define SRV_PEER_MAX 128
#define SRV_CQ_THREADS \
	2 /* threads taking calls from gRPC (and doing its reads) */ /* a peer as gRPC names it, "ipv6:[...]:PORT" */

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

/* A completion-queue tag: what finished, and for which object. */
typedef struct srv_tag {
	int what;    /* TAG_* in server.c */
	void *obj;
} srv_tag;

/* One gRPC call from its arrival to its last completion. */
typedef struct srv_call {
	srv_tag tag_new;                /* the requested call arrived */
	srv_tag tag_sent;               /* the answer was sent */
	srv_tag tag_msg;                /* the request message arrived, or never will */
	struct srv_call *wprev, *wnext; /* in signer_server's waiting list */
	uint64_t msg_deadline_ns;       /* the message must have come by then */
	bool waiting;                   /* in the waiting list (signer_server.lock) */
	bool timed_out;                 /* cancelled for want of a message (lock) */
	bool conn_counted;              /* counted in its connection's waiting streams */
	bool quiet;                     /* a refusal counted in aggregate: no log line */
	bool held;                      /* counted in signer_server.held_calls */
	signer_server *srv;
	srv_method method;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details call_details; /* M_UNKNOWN only */
	grpc_byte_buffer *payload;      /* the request message, may be NULL */
	char peer[SRV_PEER_MAX];        /* peer address, for logs */
	char identity[SIGNER_IDENTITY_MAX + 1]; /* matched identity, or the first seen */
	bool known;                     /* identity matched a client line */
	signer_client who;              /* deep copy of that line (zones owned) */
	/* the answer */
	grpc_status_code status;
	char details[512];
	grpc_slice details_slice;
	grpc_byte_buffer *reply;
	int cancelled;
	bool counted;                   /* in signer_server.inflight */
	bool admitted;                  /* holds a place in signer_server.admission */
	uint64_t arrived_ns;            /* monotonic time of arrival, for metrics */
	void *batch;                    /* SignRRsets state, owned by rpc_sign.c */
} srv_call;

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
	signer_config cfg;              /* copy; clients swapped on reload */
	pthread_rwlock_t acl_lock;      /* guards cfg.clients/nclients */
	hsm_ctx *hsm;
	hsm_token *token;
	signer_state *state;
	signer_audit *audit;
	signer_cache *cache;
	signer_limits limits;
	signer_admission *admission;    /* per-client limits (limits.c) */
	grpc_server *server;
	grpc_completion_queue *cq;
	void *methods[M_COUNT];
	pthread_t cq_threads[SRV_CQ_THREADS]; /* read the completion queue */
	unsigned ncq_threads;                 /* started */
	bool cq_started;
	bool grpc_inited;               /* grpc_init was called */
	bool grpc_started;              /* grpc_server_start was called */
	srv_tag tag_shutdown;
	atomic_bool stopping;
	pthread_mutex_t lock;           /* job queue and shutdown flags */
	pthread_cond_t cond;            /* a job was queued, or quit */
	pthread_cond_t done_cond;       /* shutdown_done or inflight changed */
	srv_job *head, *tail;
	bool workers_quit;
	bool shutdown_done;
	size_t inflight;                /* calls arrived and not yet answered */
	signer_metrics *metrics;        /* counters for the metrics endpoint */
	signer_http *http;              /* the metrics endpoint, or NULL */
	signer_ds_reports *ds_reports;  /* parent-watch's last reports */
	signer_refusals *refusals;      /* refusals, audited in aggregate */
	srv_conns *conns;               /* TCP connections (conns.c) */
	grpc_resource_quota *quota;     /* gRPC's memory, grpc-memory */
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

/* Queue fn(w, arg) for the next free worker. */
signet_err srv_enqueue(signer_server *srv, void (*fn)(srv_worker *, void *), void *arg);

/* Send c's answer (status, details, reply) and let the server free it. */
void srv_finish(srv_call *c);

/* Set a failing status with details. */
void srv_fail(srv_call *c, grpc_status_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Pack m as c's reply (status OK). */
signet_err srv_reply(srv_call *c, const ProtobufCMessage *m);

/* The request message as one contiguous buffer; *out is malloc'd. */
signet_err srv_request_bytes(srv_call *c, uint8_t **out, size_t *len);

/* c's request unpacked with desc (free with
 * protobuf_c_message_free_unpacked); NULL after failing the call with
 * INVALID_ARGUMENT when there is no message or it does not parse. */
ProtobufCMessage *srv_unpack(srv_call *c, const ProtobufCMessageDescriptor *desc);

/* Check the wire form of a desc message (len octets at p) before protobuf-c
 * narrows it: SIGNET_ERANGE when a varint does not fit its 32-bit field
 * (field gets its path, "rrsets[0].type", *value the value), SIGNET_EPARSE
 * for a malformed wire form, SIGNET_OK otherwise (rpc_wire.c). */
signet_err srv_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
			  char *field, size_t fieldlen, uint64_t *value);

/* A wire-form zone name from the API; false if malformed. Lower-cased. */
bool srv_zone(const ProtobufCBinaryData *b, dns_name *out);

/* Fill out (and n3, hung under it) from p; out points into p. */
void srv_policy_to_proto(const signer_policy *p, Signet__V1__Policy *out,
			 Signet__V1__Nsec3Parameters *n3);

/* Point out at s (owner, type, class, TTL) with rd (s->count slots) as its
 * RDATA; nothing is copied. */
void srv_rrset_to_proto(const dns_rrset *s, Signet__V1__RRset *out, ProtobufCBinaryData *rd);

/* Monotonic nanoseconds, for latencies. */
uint64_t srv_now_ns(void);

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

/* Handlers: each ends by calling srv_finish(c), now or later. */
void rpc_sign(srv_worker *w, srv_call *c);
void rpc_get_keyset(srv_worker *w, srv_call *c);
void rpc_health(srv_worker *w, srv_call *c);
void rpc_admin(srv_worker *w, srv_call *c);
void rpc_confirm_ds(srv_worker *w, srv_call *c);
void rpc_report_ds(srv_worker *w, srv_call *c);

/* ---- sign.c: the signing path of SignRRsets --------------------------------- */

/* What a signing thread keeps between RRsets so that the canonical form,
 * the signed data and the digests cost no allocation once warm. Start it
 * zeroed ({.md = NULL}); free with signer_scratch_free. */
typedef struct signer_scratch {
	sg_buf wire;        /* the canonical RRset in wire form (signer_canonical) */
	sg_buf data;        /* key identity, then the signed data */
	EVP_MD_CTX *md;     /* reused for SHA-256 */
	sg_buf rdata;       /* the caller's: an RRSIG on its way out (rpc_sign.c) */
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
signet_err signer_sign_canonical(signer_scratch *sc, hsm_session *s, signer_cache *cache,
				 const signer_zsk *zsk, const dns_name *apex,
				 const dns_rrset *set, uint32_t inception,
				 uint32_t expiration, sg_buf *out, bool *cached,
				 uint64_t *hsm_ns);

#endif /* SIGNET_SIGNER_INTERNAL_H */
