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

/* What a worker does for a zone (worker.c); bits of zoned_zone.again. */
#define ZONED_JOB_REFRESH 1u
#define ZONED_JOB_KEYSET 2u
#define ZONED_JOB_LOAD 4u /* read the state directory: the zone's first job */

typedef struct zoned_zone {
	struct zoned *d;
	zoned_zone_conf conf; /* its peers' keys are the zone's own (keys) */
	zoned_key *keys_own;
	size_t nkeys_own;
	/* Settings a SIGHUP gave while a job ran, taken when it is back (the
	 * worker reads conf meanwhile); NULL: none. */
	zoned_zone_conf *next_conf;
	zoned_key *next_keys;
	size_t next_nkeys;
	bool gone;                /* removed by a SIGHUP while busy: freed when the job is back */
	struct zoned_zone *lnext; /* in d->adding or d->retired */
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
	/* The version served (SOA, AXFR, IXFR): the last one stored, so that a
	 * kill -9 loses nothing a secondary may have. Swapped by the worker
	 * under jmu once the store is done; NULL before one. */
	zone_snap *pub;
	bool unstored;          /* the engine's version failed to store: not served,
	                         * stored again at the next refresh */
	bool stored;            /* a zone file is in the state directory */
	uint32_t stored_serial; /* its serial: the journal leads on from it */
	zone_counters n;
	/* The workers (worker.c). The loop owns busy, job and again; the
	 * worker running the zone's job writes next_s and notify_due, which
	 * the loop reads once the job is back. */
	bool busy;                /* a job is queued or running */
	unsigned job;             /* its kind */
	unsigned again;           /* jobs asked for while busy */
	uint32_t next_s;          /* refresh: seconds to the next one */
	bool notify_due;          /* a new serial: NOTIFY the secondaries */
	struct zoned_zone *qnext; /* in the workers' queue or done list */
	zoned_signetd *sd;        /* the connection of the worker running its job */
} zoned_zone;

/* One thread of the pool and its connection to signetd. */
typedef struct zoned_worker {
	struct zoned *d;
	pthread_t thread;
	bool on;          /* the thread runs (joined at stop) */
	zoned_signetd sd; /* its own: a pipeline of calls is one thread's */
} zoned_worker;

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
	zoned_reach reach;       /* whether signetd answers, told by every worker */
	struct evhttp *http;     /* metrics, NULL when not configured */
	zoned_zone **zones;      /* the zones served; each allocated alone:
	                          * timers point at them */
	size_t nzones;
	zoned_zone *adding;  /* zones whose state directory is being read:
	                      * served once it is (a list by lnext) */
	zoned_zone *retired; /* zones a SIGHUP removed while busy, not served:
	                      * freed when their job is back */
	bool ready;          /* every zone of the start was read: the
	                      * listeners answer */
	const char *config_path;
	/* The worker pool: jobs queued by the loop, taken by the first idle
	 * worker, done ones handed back through done_pipe (all under wmu). */
	zoned_worker workers[ZONED_WORKERS_MAX];
	unsigned nworkers;
	bool workers_on; /* the threads run: jobs may be queued */
	bool wsync;      /* wmu and wcv are made */
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	zoned_zone *queue, *queue_last, *done;
	bool stopping;
	int done_pipe[2];
	struct event *done_ev;
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

/* Refresh z now: SOA, AXFR if newer, sign, store; on a worker (the
 * state directory read first, once), signing over z->sd. Sets z->next_s
 * and z->notify_due. */
void zoned_refresh_now(zoned_zone *z);

/* The worker pool (worker.c): cfg.workers threads, each with a
 * connection to signetd opened with cc (its error in errmsg). */
signet_err zoned_workers_start(zoned *d, const client_config *cc, char *errmsg, size_t errlen);
/* Ask the running jobs to end early, wait for them, end the threads and
 * close their connections. */
void zoned_workers_stop(zoned *d);
/* Queue job (ZONED_JOB_*) for z, on the loop; while z has one queued or
 * running it is remembered and queued after. */
void zoned_job(zoned_zone *z, unsigned job);
/* Whether the listeners answer: off at start until every zone's stored
 * version is read (queries wait in the sockets meanwhile), so that none
 * gets SERVFAIL for a zone that has one (main.c). */
void zoned_listen(zoned *d, bool on);
/* Write e's current version to path atomically (mode 0600), after the
 * line(s) head, as zone_engine_text gives it, without holding the whole
 * text in memory. SIGNET_ENOTFOUND before a version; file errors. */
signet_err zoned_store_zone(zone_engine *e, const char *path, const char *head);
typedef struct zoned_replay zoned_replay;
/* The stored version at path: its first line (head, then the serial of
 * the unsigned version: *in) and the serial of its SOA, the first RR
 * (*stored), from its first MiB. SIGNET_ENOTFOUND without a file,
 * SIGNET_EPARSE for another head or no SOA first (restore.c). */
signet_err zoned_restore_head(const char *path, const char *head, const dns_name *apex,
			      uint32_t *in, uint32_t *stored);
/* The stored version at path made eng's current version (zone_loader), a
 * MiB of the file at a time, with replay's steps (NULL: none) applied to
 * its sets as they come: at most max_octets octets and max_rrs RRs
 * (SIGNET_ERANGE); *line is the line an error is on. zone_loader_finish's
 * and the replay's errors; file errors. */
signet_err zoned_restore_stream(const char *path, zone_engine *eng, size_t max_octets,
				size_t max_rrs, uint32_t in, zoned_replay *replay, unsigned *line);
/* Steps [first, count) of a journal as one net difference to replay onto
 * the stored version as it is read back (replay.c): the journal must
 * outlive it. SIGNET_ENOTFOUND or SIGNET_EEXIST when the steps do not
 * follow one another (an RR removed twice, added twice). */
signet_err zoned_replay_new(const zoned_journal *j, size_t first, zoned_replay **out);
void zoned_replay_free(zoned_replay *r);
/* A zone_loader_filter: the steps' removals taken out of the set, their
 * additions put in. SIGNET_EEXIST for an addition of an RR the set has,
 * SIGNET_EPARSE for an RR a step removes that the set holds twice. */
signet_err zoned_replay_filter(void *arg, dns_rrset *set);
/* After the stored version's text: SIGNET_ENOTFOUND when an RR a step
 * removes was not there; the sets the steps add that were not there go to
 * l (unfiltered from now on). */
signet_err zoned_replay_rest(zoned_replay *r, zone_loader *l);
/* The current version of z written whole to the state directory, the
 * journal after it, if the stored one is older (a clean stop: the next
 * start reads it back set by set, with nothing to replay). */
void zoned_store_final(zoned_zone *z);
/* Streams out of z are ended (z is being stopped). */
void zoned_serve_forget(zoned *d, zoned_zone *z);
/* Re-read the configuration (SIGHUP), at once: zones added are read
 * from the state directory and then served, zones gone are no longer
 * served, zones kept take their new primaries, secondaries, keys and
 * serial policy; a zone whose job is running takes its part when the job
 * is back. Transfers out of zones kept go on. A file that does not load
 * changes nothing (reload.c). */
void zoned_reload(zoned *d);
/* A zone of settings c (copied, with keys of its own) on d->adding, its
 * state directory read by a worker first (reload.c). NULL on failure
 * (logged). */
zoned_zone *zoned_zone_add(zoned *d, const zoned_zone_conf *c);
/* z's job is back on the loop (worker.c calls it): a zone removed
 * meanwhile is freed, settings a SIGHUP gave are taken, a zone read from
 * the state directory is served (reload.c). False when z was freed. */
bool zoned_zone_back(zoned_zone *z);
/* Free z (stopped first), wherever it is listed. */
void zoned_zone_free(zoned_zone *z);

/* z's engine, journal and refresh timer (not armed: the refresh follows
 * the state directory's read). */
signet_err zoned_zone_start(zoned_zone *z);
void zoned_zone_stop(zoned_zone *z);
/* Read z's stored version and journal (STATE-DIR), on a worker: served
 * at once without signing. */
void zoned_load_now(zoned_zone *z);
/* Sign z again if the key set changed or RRSIGs near their refresh time. */
void zoned_keyset_check(zoned_zone *z);

#endif /* SIGNET_ZONED_DAEMON_H */
