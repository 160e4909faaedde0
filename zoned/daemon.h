/* daemon.h -- the state of the running signet-zoned shared by main.c,
 * refresh.c and serve.c (private to zoned/, not a layer's header). */
#ifndef SIGNET_ZONED_DAEMON_H
#define SIGNET_ZONED_DAEMON_H

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

/* Counters of one zone (the metrics). */
typedef struct zone_counters {
	uint64_t xfr_in_ok, xfr_in_failed, xfr_out, refused, notify_in, notify_out_failed;
	uint64_t rrsigs_made, rrsigs_reused, sign_failed;
	int64_t last_xfr_in, last_xfr_out; /* epoch seconds, 0: never */
	bool last_xfr_in_ok;
} zone_counters;

typedef struct zoned_zone {
	struct zoned *d;
	zoned_zone_conf conf;
	zone_engine *eng;
	zone_keys keys; /* the key set the current version has */
	bool have_keys;
	struct event *refresh;                 /* SOA poll and transfer */
	uint32_t refresh_s, retry_s, expire_s; /* from the primary's SOA */
	int64_t last_ok;                       /* time of the last good refresh, 0: never */
	bool expired;                          /* past expire without a refresh: not served */
	notify_out notify[ZONED_PEERS_MAX];
	zoned_journal journal; /* signed differences for IXFR out */
	bool stored;           /* a zone file is in the state directory */
	uint32_t stored_serial; /* its serial: the journal leads on from it */
	zone_counters n;
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

/* Refresh z now: SOA, AXFR if newer, sign, store, NOTIFY. */
void zoned_refresh_now(zoned_zone *z);
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
