/* daemon.h -- the state of the running signet-zoned shared by main.c,
 * refresh.c and serve.c (private to zoned/, not a layer's header). */
#ifndef SIGNET_ZONED_DAEMON_H
#define SIGNET_ZONED_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "zoned/zoned.h"

/* NOTIFY to one secondary, retried with back-off until it answers. */
typedef struct notify_out {
	struct zoned_zone *zone;
	const zoned_peer *peer;
	struct event *timer;
	uint16_t id;
	unsigned tries;
	bool pending;
} notify_out;

/* Counters of one zone (the metrics): written by the worker (transfers
 * in, signing) and the loop (the rest), read by the metrics. */
typedef struct zone_counters {
	_Atomic uint64_t xfr_in_ok, xfr_in_failed, xfr_out, refused, notify_in, notify_out_failed;
	_Atomic uint64_t rrsigs_made, rrsigs_reused, sign_failed;
	_Atomic int64_t last_xfr_in, last_xfr_out; /* epoch seconds, 0: never */
	_Atomic bool last_xfr_in_ok;
} zone_counters;

/* What the worker does for a zone (worker.c); bits of zoned_zone.again. */
#define ZONED_JOB_REFRESH 1u
#define ZONED_JOB_KEYSET 2u

typedef struct zoned_zone {
	struct zoned *d;
	zoned_zone_conf conf;
	zone_engine *eng;
	zone_keys keys; /* the key set the current version has */
	bool have_keys;
	struct event *refresh;                 /* SOA poll and transfer */
	uint32_t refresh_s, retry_s, expire_s; /* from the primary's SOA */
	int64_t last_ok;                       /* time of the last good refresh, 0: never */
	_Atomic bool expired;                  /* past expire without a refresh: not served */
	notify_out notify[ZONED_PEERS_MAX];
	zoned_journal journal; /* signed differences for IXFR out; written by
	                        * the worker under jmu, read by the loop under it */
	pthread_mutex_t jmu;
	bool stored;            /* a zone file is in the state directory */
	uint32_t stored_serial; /* its serial: the journal leads on from it */
	zone_counters n;
	/* The worker (worker.c). The loop owns busy, job and again; the worker
	 * writes loaded, next_s and notify_due during a job, which the loop
	 * reads once the job is back. */
	bool busy;                /* a job is queued or running */
	unsigned job;             /* its kind */
	unsigned again;           /* jobs asked for while busy */
	bool loaded;              /* the state directory was read */
	uint32_t next_s;          /* refresh: seconds to the next one */
	bool notify_due;          /* a new serial: NOTIFY the secondaries */
	struct zoned_zone *qnext; /* in the worker's queue or done list */
} zoned_zone;

typedef struct zoned {
	zoned_config cfg;
	struct event_base *base;
	int udp; /* the listening UDP socket */
	struct event *udp_ev;
	struct evconnlistener *tcp;
	unsigned tcp_open;
	int notify_fd; /* UDP socket for NOTIFY out */
	struct event *notify_ev;
	struct event *keyset_ev; /* GetKeySet poll */
	struct event *sig_ev[3]; /* SIGHUP, SIGTERM, SIGINT */
	zoned_signetd sd;
	struct evhttp *http; /* metrics, NULL when not configured */
	zoned_zone **zones;  /* each allocated alone: timers point at them */
	size_t nzones;
	const char *config_path;
	/* The worker thread: jobs queued by the loop, done ones handed back
	 * through done_pipe (all under wmu). */
	pthread_t worker;
	bool worker_on;
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	zoned_zone *queue, *queue_last, *done;
	bool stopping;
	int done_pipe[2];
	struct event *done_ev;
	bool reload_pending;    /* SIGHUP waits for the worker to be idle */
	unsigned xfr_out;       /* transfers out streaming (serve.c) */
	struct tcp_conn *conns; /* TCP connections open (serve.c) */
} zoned;

/* The zone of apex, or NULL. */
zoned_zone *zoned_find(zoned *d, const dns_name *apex);

/* The metrics endpoint on cfg.metrics (nothing when empty). */
signet_err zoned_metrics_start(zoned *d);
void zoned_metrics_stop(zoned *d);

/* Start serving: UDP and TCP on cfg.listen, NOTIFY out. */
signet_err zoned_serve_start(zoned *d);
void zoned_serve_stop(zoned *d);

/* NOTIFY every secondary of z that wants one. */
void zoned_notify_all(zoned_zone *z);

/* Refresh z now: SOA, AXFR if newer, sign, store; on the worker (the
 * state directory read first, once). Sets z->next_s and z->notify_due. */
void zoned_refresh_now(zoned_zone *z);

/* The worker thread (worker.c). */
signet_err zoned_worker_start(zoned *d);
/* Ask the running job to end early, wait for it, end the thread. */
void zoned_worker_stop(zoned *d);
/* Queue job (ZONED_JOB_*) for z, on the loop; while z has one queued or
 * running, or a SIGHUP waits, it is remembered and run after. */
void zoned_job(zoned_zone *z, unsigned job);
/* SIGHUP: zoned_reload now if the worker is idle, else once it is. */
void zoned_reload_when_idle(zoned *d);
/* Write e's current version to path atomically (mode 0600), after the
 * line(s) head, as zone_engine_text gives it, without holding the whole
 * text in memory. SIGNET_ENOTFOUND before a version; file errors. */
signet_err zoned_store_zone(zone_engine *e, const char *path, const char *head);
/* Streams out of z are ended (z is being stopped). */
void zoned_serve_forget(zoned *d, zoned_zone *z);
/* Re-read the configuration (SIGHUP): zones added are started, zones gone
 * are stopped, zones kept take their new primaries, secondaries, keys and
 * serial policy. A file that does not load changes nothing. */
void zoned_reload(zoned *d);

/* Arm z's timers (refresh now). */
signet_err zoned_zone_start(zoned_zone *z);
void zoned_zone_stop(zoned_zone *z);
/* Sign z again if the key set changed or RRSIGs near their refresh time. */
void zoned_keyset_check(zoned_zone *z);

#endif /* SIGNET_ZONED_DAEMON_H */
