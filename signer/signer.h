/* signer.h -- signetd's parts, public so tests can drive them one by one:
 * configuration (config.h) and admission (limits.h), which it includes,
 * content checks, signing policy, the RRSIG cache, the state store, the
 * audit log, key-set requests and bundles, and the server.
 *
 * signetd's main (signetd_main.c) is a thin shell over signer_server_*.
 * Uses common/, dnssec/ and hsm/; gRPC, protobuf-c and SQLite stay inside
 * the .c files.
 */
#ifndef SIGNET_SIGNER_H
#define SIGNET_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "dnssec/dnssec.h"
#include "hsm/hsm.h"
#include "signer/config.h"
#include "signer/limits.h"

/* ---- content checks ------------------------------------------------------ */

/* Bounds on what a request may carry. */
typedef struct signer_limits {
	size_t max_rrsets;       /* RRsets per request */
	size_t max_rrs;          /* RRs per RRset */
	size_t max_rrset_octets; /* RDATA octets per RRset */
} signer_limits;

typedef enum signer_verdict {
	SIGNER_VERDICT_SIGN = 1,       /* sign it */
	SIGNER_VERDICT_DELEGATION = 2, /* NS below the apex: not signed */
	SIGNER_VERDICT_REFUSE = 3      /* field and errmsg say why */
} signer_verdict;

/* One RRset as it came off the wire, before any check. */
typedef struct signer_item {
	const uint8_t *owner; /* wire-form owner */
	size_t owner_len;
	uint32_t type;   /* unchecked: may exceed 16 bits */
	uint32_t rclass; /* 0 means IN */
	uint32_t ttl;
	size_t nrdata;
	const uint8_t *const *rdata; /* nrdata pointers */
	const size_t *rdata_len;     /* nrdata lengths */
} signer_item;

/* What signer_item_check finds of one item. */
typedef struct signer_item_result {
	signer_verdict verdict;
	dns_rrset set;    /* SIGN: the RRset to sign; the caller clears it whatever the verdict */
	char field[96];   /* REFUSE: the field at fault, "rrsets[3].type" */
	char errmsg[352]; /* REFUSE: why, starting with the field */
} signer_item_result;

/* Check item number index of a request for zone apex against lim and,
 * when it may be signed, build out->set from it (initialised here; the
 * caller clears it with dns_rrset_clear whatever the verdict). Refusals
 * (out->verdict REFUSE, with field and errmsg) are not errors: the return
 * value is SIGNET_OK. Only a missing argument or allocation failure returns
 * an error. */
signet_err signer_item_check(const dns_name *apex, const signer_limits *lim, size_t index,
			     const signer_item *item, signer_item_result *out);

/* ---- policy -------------------------------------------------------------- */

typedef enum signer_denial { SIGNER_DENIAL_NSEC = 1, SIGNER_DENIAL_NSEC3 = 2 } signer_denial;
typedef enum signer_ksk_roll {
	SIGNER_KSK_DOUBLE_KSK = 1, /* RFC 7583 3.3.1: new DNSKEY first, then DS */
	SIGNER_KSK_DOUBLE_DS = 2   /* RFC 7583 3.3.2: new DS first, then DNSKEY */
} signer_ksk_roll;
typedef enum signer_verify {
	SIGNER_VERIFY_DEFAULT = 0,
	SIGNER_VERIFY_ON = 1,
	SIGNER_VERIFY_OFF = 2
} signer_verify;

/* A zone's signing policy; every duration in seconds. */
typedef struct signer_policy {
	uint8_t algorithm;     /* DNSSEC algorithm of new ZSKs */
	unsigned rsa_bits;     /* RSA only */
	uint32_t validity;     /* RRSIG lifetime from inception + backdate */
	uint32_t backdate;     /* inception this far before the time bucket */
	uint32_t jitter;       /* expirations spread over [0, jitter) */
	uint32_t min_validity; /* bounds of an explicit window */
	uint32_t max_validity;
	signer_denial denial;
	uint16_t nsec3_iterations;
	uint8_t nsec3_salt_len;
	uint8_t nsec3_salt[255];
	bool nsec3_opt_out;
	uint32_t dnskey_ttl;
	uint32_t keyset_period; /* length of a key-set period */
	signer_verify verify;   /* verify-after-sign */
	/* Rollover timing (RFC 7583); see docs/ROLLOVER.md. */
	uint32_t zsk_lifetime;    /* a ZSK signs this long before its successor */
	uint32_t ksk_lifetime;    /* Health asks for a KSK rollover after this */
	uint32_t ds_ttl;          /* TTL of the DS RRset at the parent */
	uint32_t max_zone_ttl;    /* longest TTL of any RRset in the zone */
	uint32_t propagation;     /* until every secondary serves a change */
	uint32_t publish_margin;  /* added to every publication interval */
	uint32_t retire_margin;   /* added to every retirement interval */
	uint32_t refresh;         /* re-sign an RRSIG with less life than this */
	signer_ksk_roll ksk_roll; /* double-KSK or double-DS */
} signer_policy;

/* The defaults: ECDSA P-256, 14 days validity, 1 h backdate, jitter
 * validity/8, explicit windows 1..90 days, NSEC, DNSKEY TTL 3600, 7-day
 * key-set periods, verify by algorithm. */
void signer_policy_defaults(signer_policy *p);

/* Check p's values against each other and their bounds, and refuse
 * timings that cannot roll keys safely (a ZSK lifetime shorter than its
 * publication plus retirement intervals, key-set periods longer than the
 * signature validity, a zone TTL the validity cannot cover); SIGNET_EINVAL
 * with errmsg naming the field. */
signet_err signer_policy_check(const signer_policy *p, char *errmsg, size_t errlen);

/* The RFC 7583 intervals of p, in seconds.
 * Publication of a DNSKEY until caches hold it: DNSKEY TTL + propagation
 * + publish margin. Retirement of a ZSK until no cache holds an RRSIG it
 * made: validity + max zone TTL + propagation + retire margin. Of a DS
 * at the parent: DS TTL + propagation + retire margin. Of signatures of a
 * new algorithm before its DNSKEY appears: max zone TTL + propagation +
 * publish margin. */
uint32_t signer_policy_ipub(const signer_policy *p);
uint32_t signer_policy_iret(const signer_policy *p);
uint32_t signer_policy_ids(const signer_policy *p);
uint32_t signer_policy_isig(const signer_policy *p);

/* Whether RRSIGs of p are verified after signing. */
bool signer_policy_verifies(const signer_policy *p);

/* The re-signing quantum: RRSIGs made within one bucket of this many seconds
 * share their inception, so unchanged data signs to unchanged RRSIGs. */
uint32_t signer_policy_bucket(const signer_policy *p);

/* The window for an RRset whose canonical wire form hashes to digest (32
 * octets of SHA-256): inception = start of now's bucket - backdate,
 * expiration = inception + backdate + validity - (digest mod jitter). */
void signer_policy_window(const signer_policy *p, const uint8_t digest[32], int64_t now,
			  uint32_t *inception, uint32_t *expiration);

/* Check a window a client asked for: expiration after now, length within
 * [min_validity, max_validity], expiration at most now + max_validity,
 * inception not before now - max_validity. SIGNET_ERANGE with errmsg. */
signet_err signer_policy_check_window(const signer_policy *p, int64_t now, uint32_t inception,
				      uint32_t expiration, char *errmsg, size_t errlen);

/* SHA-256 of the canonical wire form of set (a canonical copy is made). */
signet_err signer_rrset_digest(const dns_rrset *set, uint8_t digest[32]);

/* ---- RRSIG cache --------------------------------------------------------- */

typedef struct signer_cache signer_cache;

/* A thread-safe LRU map from a 32-octet key (SHA-256 of key ID and signed
 * data) to RRSIG RDATA, holding at most capacity entries (0 disables it:
 * every lookup misses). Free with signer_cache_free. */
signet_err signer_cache_new(size_t capacity, signer_cache **out);
void signer_cache_free(signer_cache *c);

/* Append the cached RDATA for key to out and mark it recently used;
 * SIGNET_ENOTFOUND on a miss. */
signet_err signer_cache_get(signer_cache *c, const uint8_t key[32], sg_buf *out);

/* Store a copy of rdata under key, evicting the least recently used entry
 * when full; an existing entry is replaced. */
signet_err signer_cache_put(signer_cache *c, const uint8_t key[32], const uint8_t *rdata,
			    size_t len);

typedef struct signer_cache_stats {
	size_t entries;
	uint64_t hits, misses, evictions;
} signer_cache_stats;
void signer_cache_get_stats(signer_cache *c, signer_cache_stats *out);

/* ---- signing ------------------------------------------------------------- */

#define SIGNER_DNSKEY_MAX 1100 /* DNSKEY RDATA of RSA-4096 with room */

/* One ZSK ready to sign: its token ID, DNSKEY and, for verify-after-sign,
 * its public key. */
typedef struct signer_zsk {
	uint8_t id[HSM_ID_MAX];
	size_t id_len;
	uint8_t alg;
	uint16_t key_tag;
	EVP_PKEY *pub; /* borrowed; NULL when not verifying */
} signer_zsk;

/* Whether fresh signatures of a key of algorithm alg in a zone with policy
 * p are verified before they leave: always for RSA; otherwise as the zone's
 * policy says (on/off), and by default only when verify_all (the global
 * verify-after-sign = "all") is set. */
bool signer_verify_needed(const signer_policy *p, uint8_t alg, bool verify_all);

/* ---- refusals ------------------------------------------------------------ */

/* Why signetd turned a client, a connection or a stream away. */
typedef enum signer_refusal {
	SIGNER_REFUSAL_IDENTITY,    /* certificate names no configured client */
	SIGNER_REFUSAL_LIMIT,       /* a per-client admission limit (limits.c) */
	SIGNER_REFUSAL_MAX_CALLS,   /* max-calls in flight in all */
	SIGNER_REFUSAL_STREAMS,     /* max-streams-per-connection waiting streams */
	SIGNER_REFUSAL_MSG_TIMEOUT, /* no request message within message-timeout */
	SIGNER_REFUSAL_RESET,       /* stream abandoned by the client before its message */
	SIGNER_REFUSAL_RESET_FLOOD, /* connection closed: too many abandoned streams */
	SIGNER_REFUSAL_CONNECTIONS, /* TCP connection over max-connections(-per-address) */
	SIGNER_REFUSAL_TLS,         /* TLS or HTTP/2 handshake failed */
	SIGNER_REFUSAL_COUNT
} signer_refusal;

/* Its name in the audit log, the log and metrics ("unknown-identity"). */
const char *signer_refusal_name(signer_refusal why);

/* Refusals are written to the audit log aggregated, so that a flood can
 * neither fill the disk nor pass unseen: per interval, one line per (peer
 * address, identity, reason) with a count, at most SIGNER_REFUSAL_KEYS
 * distinct ones (more are counted under peer "*"), and the same line at
 * NOTICE in the log. Flushed by its own thread every interval_s seconds and
 * by signer_refusals_free. Thread safe. */
#define SIGNER_REFUSAL_KEYS 256
typedef struct signer_refusals signer_refusals;
typedef struct signer_audit signer_audit;

/* a (borrowed; outlives r) receives the lines. */
signet_err signer_refusals_new(signer_audit *a, unsigned interval_s, signer_refusals **out);
/* Flush what is counted, stop the thread, free. NULL is fine. */
void signer_refusals_free(signer_refusals *r);
/* Count one refusal of why for peer (gRPC's "ipv4:ADDR:PORT" form or a
 * bare address; the port is dropped) and identity (NULL or "": none). */
void signer_refusals_note(signer_refusals *r, signer_refusal why, const char *peer,
			  const char *identity);
/* Write out what is counted now (also done by the thread). */
signet_err signer_refusals_flush(signer_refusals *r);

/* ---- metrics ------------------------------------------------------------- */

typedef struct signer_metrics signer_metrics;
typedef struct signer_sig_series signer_sig_series;

/* Counters and histograms for the Prometheus endpoint; methods names the
 * nmethods (1..64) call kinds for labels (copied). Every update is a relaxed
 * atomic add: the hot path takes no lock. Free with signer_metrics_free. */
signet_err signer_metrics_new(const char *const *methods, size_t nmethods, signer_metrics **out);
void signer_metrics_free(signer_metrics *m);

/* One answered call of method (index into methods) with gRPC status code,
 * taking ns nanoseconds from arrival to answer. */
void signer_metrics_call(signer_metrics *m, size_t method, unsigned code, uint64_t ns);
/* One RRset of a batch that failed with gRPC status code. */
void signer_metrics_item_error(signer_metrics *m, unsigned code);
/* One refusal (signet_refusals_total{reason}). */
void signer_metrics_refusal(signer_metrics *m, signer_refusal why);
/* One HSM signature that took ns nanoseconds, or failed (ok false). */
void signer_metrics_hsm(signer_metrics *m, uint64_t ns, bool ok);

/* The signature counter of (zone, key tag, algorithm), found or added
 * without a lock; lives as long as m. Past 4096 series one overflow series
 * (zone "_other") takes the counts. Never NULL for a non-NULL m and zone. */
signer_sig_series *signer_metrics_sig_series(signer_metrics *m, const dns_name *zone,
					     uint16_t key_tag, uint8_t alg);
/* Count one signature returned, made by the HSM or answered by the cache. */
void signer_metrics_sig(signer_sig_series *s, bool cached);

/* Count one DS confirmed for a rollover of zone: by a parental agent
 * (ConfirmDs) or by hand (Rollover DS_SEEN). Counts of the first 256 zones
 * are kept (DS confirmations are rare); later zones are not counted. */
void signer_metrics_ds_confirmed(signer_metrics *m, const dns_name *zone, bool agent);

/* Key-set state of one zone, read at scrape time. */
typedef struct signer_metrics_zone {
	dns_name zone;
	bool has_keyset;        /* a bundle was imported */
	int64_t keyset_seconds; /* until its last period ends; negative: over */
	bool waiting_ds;        /* a rollover waits for the parent's DS */
	size_t zsk_unbacked;    /* ZSKs without a proven backup (backup.c) */
	size_t zsk_lacking;     /* ZSKs this replica's token lacks (replica_keys.c) */
} signer_metrics_zone;

/* What the server reads at scrape time rather than counting. */
typedef struct signer_metrics_snapshot {
	bool token_up;      /* the token answered a describe */
	bool backup_domain; /* the token holds a backup domain */
	signer_cache_stats cache;
	size_t inflight; /* calls arrived and not answered */
	unsigned workers;
	const signer_metrics_zone *zones; /* nzones entries, borrowed */
	size_t nzones;
	bool tls_key_in_token;        /* tls-key is a PKCS#11 URI */
	uint64_t tls_key_reloads;     /* its loads through a new engine instance */
	uint64_t tls_engine_failures; /* signatures the engine failed */
	uint64_t zsk_restored;        /* ZSKs restored from the state's backups */
	uint64_t zsk_restore_failed;  /* restores of them that failed */
	uint64_t lacking_refused;     /* signing calls refused: a ZSK lacking here */
} signer_metrics_snapshot;

/* Append the Prometheus text exposition (format 0.0.4) of m and snap to out. */
signet_err signer_metrics_render(signer_metrics *m, const signer_metrics_snapshot *snap,
				 sg_buf *out);

/* ---- metrics endpoint (HTTP) --------------------------------------------- */

#define SIGNER_HTTP_CONNECTIONS_MAX 256 /* open connections in all */
#define SIGNER_HTTP_PER_IP_MAX 32       /* open connections from one address */
#define SIGNER_HTTP_TIMEOUT_S 3         /* a connection idle this long is closed */
#define SIGNER_HTTP_MEMORY_MAX 16384    /* per connection: bounds the request head */

typedef struct signer_http signer_http;

/* Fills the body of a 200 answer; another return answers 500. */
typedef signet_err (*signer_http_body_fn)(void *arg, sg_buf *out);

/* Listen on addr ("IP:PORT", "[IPv6]:PORT"; the caller decided whether a
 * non-loopback address is allowed) and serve with libmicrohttpd from one
 * event-driven thread, which no connection can hold: GET /metrics answers
 * 200 with body()'s text (body runs on that thread); other paths or a query
 * 404, other methods 405, malformed requests libmicrohttpd's 4xx. Past
 * SIGNER_HTTP_CONNECTIONS_MAX connections, or SIGNER_HTTP_PER_IP_MAX from
 * one address, a new connection is closed at once; one idle for
 * SIGNER_HTTP_TIMEOUT_S is closed. One request per connection. SIGNET_EIO
 * (or the errno mapping) if the address cannot be bound. Free with
 * signer_http_stop. */
signet_err signer_http_start(const char *addr, signer_http_body_fn body, void *arg,
			     signer_http **out);
void signer_http_stop(signer_http *h);

/* ---- process ------------------------------------------------------------- */

/* Become user (by name) for good: supplementary groups of the user, its
 * group and uid (real, effective and saved), every capability dropped from
 * the bounding and ambient sets, and PR_SET_NO_NEW_PRIVS. Call after the
 * token and the listeners are open. Checks afterwards that uid 0 cannot be
 * regained. SIGNET_ENOTFOUND for an unknown user, SIGNET_EPERM if a step
 * fails (errmsg, errlen say which). */
signet_err signer_drop_privileges(const char *user, char *errmsg, size_t errlen);

/* ---- state --------------------------------------------------------------- */

typedef enum signer_key_state {
	SIGNER_KEY_GENERATED = 1,
	SIGNER_KEY_PUBLISHED = 2,
	SIGNER_KEY_ACTIVE = 3,
	SIGNER_KEY_RETIRED = 4,
	SIGNER_KEY_REMOVED = 5
} signer_key_state;

/* A key as the state store knows it. Keys with a schedule (committed by
 * an imported bundle) take their state from the clock: a ZSK signs during
 * [active, retire) and is in the DNSKEY RRset during [publish, remove); a
 * KSK is in the DNSKEY RRset during [publish, remove) (state PUBLISHED, or
 * RETIRED after retire) and wants its DS at the parent (CDS/CDNSKEY)
 * during [active, retire); it is never ACTIVE. 0 means "not set"
 * (for retire and remove: never). Keys without a schedule keep the state
 * stored. */
typedef struct signer_key {
	dns_name zone;
	char role[4];           /* "zsk" or "ksk" */
	uint8_t id[HSM_ID_MAX]; /* CKA_ID; empty for KSKs */
	size_t id_len;
	uint8_t alg;
	uint16_t key_tag;
	signer_key_state state;
	uint8_t dnskey[SIGNER_DNSKEY_MAX]; /* DNSKEY RDATA */
	size_t dnskey_len;
	int64_t created;
	int64_t t_publish; /* schedule in force, epoch s; 0 unset */
	int64_t t_active;
	int64_t t_retire;
	int64_t t_remove;
	int64_t p_publish; /* schedule of the last request, in */
	int64_t p_active;  /* force once its bundle is imported */
	int64_t p_retire;
	int64_t p_remove;
	int64_t ds_seen; /* KSK: the parent publishes its DS */
	bool committed;  /* the schedule is in an imported bundle */
	bool foreign;    /* another signer's ZSK (RFC 8901) */
} signer_key;

typedef struct signer_state signer_state;

/* Open (creating when absent) state.db in dir: SQLite in WAL mode, one
 * transaction per change, safe for use by several threads. Free with
 * signer_state_close. */
signet_err signer_state_open(const char *dir, signer_state **out);
/* Open the store o names (NULL: SQLite in dir), creating or upgrading its
 * schema in place; a schema newer than this build is refused
 * (SIGNET_ESTATE). PostgreSQL: the conninfo file is read once (it
 * must be owner-only: SIGNET_EPERM) and kept in locked memory for
 * reconnects; SIGNET_EIO when the database cannot be reached. */
signet_err signer_state_open_options(const char *dir, const signer_state_options *o,
				     signer_state **out);
void signer_state_close(signer_state *st);
/* "sqlite" or "postgresql". */
const char *signer_state_backend_name(const signer_state *st);
/* SIGNET_OK when the store answers now; SIGNET_EIO when it does not (a
 * PostgreSQL replica then keeps signing with the zones and keys it read
 * last, and refuses changes). */
signet_err signer_state_ping(signer_state *st);
/* A number that changes whenever what the store reads may have changed: on
 * PostgreSQL each new snapshot (another replica's change included), on
 * SQLite each change made through st. Cheap (no round trip): for threads
 * that poll for changes. */
uint64_t signer_state_version(signer_state *st);
/* Exclusive use of zone's multi-step changes (plan a rollover, then store
 * the request) among every signetd using the store; waits at most the
 * store's lock timeout, then SIGNET_ELIMIT. Release with
 * signer_state_zone_unlock (or signer_state_close, from the same thread);
 * on PostgreSQL a replica that dies releases it with its connection. */
signet_err signer_state_zone_lock(signer_state *st, const dns_name *zone);
void signer_state_zone_unlock(signer_state *st, const dns_name *zone);

/* Add a zone with its policy and KSK DNSKEYs (stored as keys of role "ksk",
 * state PUBLISHED). SIGNET_EEXIST if the zone is there already. */
signet_err signer_state_add_zone(signer_state *st, const dns_name *zone, const signer_policy *p,
				 const signer_key *ksks, size_t nksk);
/* The policy of zone; SIGNET_ENOTFOUND for an unknown zone. */
signet_err signer_state_zone_policy(signer_state *st, const dns_name *zone, signer_policy *out);
/* Every zone (malloc'd array; free()). */
signet_err signer_state_list_zones(signer_state *st, dns_name **out, size_t *n);

signet_err signer_state_add_key(signer_state *st, const signer_key *k);
/* Keys of zone (NULL: all zones), optionally only those in state (0: any),
 * states as of signer_clock_now() (see signer_key). *out is malloc'd
 * (free()). */
signet_err signer_state_list_keys(signer_state *st, const dns_name *zone, signer_key_state state,
				  signer_key **out, size_t *n);
signet_err signer_state_set_key_state(signer_state *st, const dns_name *zone, const uint8_t *dnskey,
				      size_t dnskey_len, signer_key_state state);

/* The next request serial of zone (last + 1, from 1). */
signet_err signer_state_next_serial(signer_state *st, const dns_name *zone, uint64_t *serial);
/* Record the key-signing request text of zone under serial. */
signet_err signer_state_save_request(signer_state *st, const dns_name *zone, uint64_t serial,
				     const uint8_t *text, size_t len);
/* The text of the last request of zone; SIGNET_ENOTFOUND if none. */
signet_err signer_state_last_request(signer_state *st, const dns_name *zone, uint64_t *serial,
				     sg_buf *text);
/* Store an imported bundle and move keys: in one transaction. Every key of
 * zone with a planned schedule gets it in force and becomes committed (its
 * state follows the clock from now on); every unscheduled ZSK whose DNSKEY appears in publish and is
 * GENERATED becomes PUBLISHED; then, if no ZSK is ACTIVE, the first
 * PUBLISHED unscheduled one becomes ACTIVE. */
signet_err signer_state_save_bundle(signer_state *st, const dns_name *zone, uint64_t serial,
				    const uint8_t *text, size_t len, const dns_rrset *publish);
/* The text of the last imported bundle of zone; SIGNET_ENOTFOUND if none. */
signet_err signer_state_bundle(signer_state *st, const dns_name *zone, uint64_t *serial,
			       sg_buf *text);

/* Store k's planned schedule (p_publish, p_active, p_retire, p_remove) and
 * ds_seen for the key of k->zone with k's DNSKEY; the schedule in force
 * changes only when a bundle is imported. SIGNET_ENOTFOUND if there is no
 * such key. */
signet_err signer_state_set_schedule(signer_state *st, const signer_key *k);

/* Forget the plans of requests whose bundle never came: every key's
 * planned schedule becomes the one in force. */
signet_err signer_state_reset_plan(signer_state *st, const dns_name *zone);

/* Set a zone's policy (after signer_policy_check). SIGNET_ENOTFOUND for an
 * unknown zone. */
signet_err signer_state_set_policy(signer_state *st, const dns_name *zone, const signer_policy *p);

/* Whether the zone publishes the RFC 8078 delete form (going insecure). */
signet_err signer_state_zone_insecure(signer_state *st, const dns_name *zone, bool *on);
signet_err signer_state_set_zone_insecure(signer_state *st, const dns_name *zone, bool on);

/* The state k is in at now (see signer_key). */
signer_key_state signer_key_state_at(const signer_key *k, int64_t now);

/* Key state names as the API and logs spell them ("active"). */
const char *signer_key_state_name(signer_key_state s);

/* ---- ZSK backups in the state (state.c, schema version 1) ------------------ */

#define SIGNER_BACKUP_TEXT_MAX 65536 /* one backup file (hsm_backup_encode) */

/* One stored backup: the file text of hsm_backup_encode for the ZSK with
 * this CKA_ID, wrapped to domain_id; proven is when its last proof passed
 * (0: never). text is malloc'd when listed. */
typedef struct signer_backup_row {
	dns_name zone;
	uint8_t id[HSM_ID_MAX];
	size_t id_len;
	uint8_t domain_id[HSM_ID_LEN];
	const uint8_t *text;
	size_t text_len;
	int64_t created;
	int64_t proven;
} signer_backup_row;

/* Store b (text copied). SIGNET_EEXIST if a backup of this ID is there. */
signet_err signer_state_put_backup(signer_state *st, const signer_backup_row *b);
/* Record that the backup of this ID proved at when. SIGNET_ENOTFOUND. */
signet_err signer_state_set_backup_proven(signer_state *st, const uint8_t *id, size_t id_len,
					  int64_t when);
/* The backup of this ID (id NULL: every backup). Free *out with
 * signer_backup_rows_free. */
signet_err signer_state_list_backups(signer_state *st, const uint8_t *id, size_t id_len,
				     signer_backup_row **out, size_t *n);
void signer_backup_rows_free(signer_backup_row *rows, size_t n);

/* ---- ZSK backups (backup.c) ----------------------------------------------- *
 *
 * When signetd's token holds the backup domain (signet-ceremony
 * install-domain), a ZSK is made extractable only to it, wrapped to it right
 * after generation, the backup stored in the state and proven: the text read
 * back from the state, parsed, checked to be this key's (ID, zone, key tag,
 * DNSKEY, domain), unwrapped into a session object of the token, a
 * signature of that copy checked with the key's public key, the copy
 * destroyed. With require-backup (on by default when the token holds a
 * domain) a key whose backup does not prove is destroyed again, and no
 * key-signing request is exported while a ZSK of the zone has no proven
 * backup (each is proven again then). */

typedef enum signer_backup_status {
	SIGNER_BACKUP_NONE = 0,     /* the token holds no domain: never extractable */
	SIGNER_BACKUP_MISSING = 1,  /* a domain, but no backup of this key stored */
	SIGNER_BACKUP_UNPROVEN = 2, /* stored, its proof has not passed */
	SIGNER_BACKUP_PROVEN = 3    /* stored and proven */
} signer_backup_status;

/* "none", "missing", "unproven", "proven". */
const char *signer_backup_status_name(signer_backup_status s);

typedef struct signer_backups signer_backups;

/* Look for the backup domain of tok. require: 1 on, 0 off, -1 as the token
 * says (on when it holds a domain). With a domain, tok generates keys
 * extractable only to it and signs with keys restored from it (both set
 * here: call before sessions open). SIGNET_ESTATE when require is 1 and the
 * token holds no domain; SIGNET_EHSM_KEY when the domain is unusable. tok
 * and st are borrowed. Free with signer_backups_free. */
signet_err signer_backups_new(hsm_token *tok, signer_state *st, int require, signer_backups **out);
void signer_backups_free(signer_backups *b);
/* Whether the token holds a domain (its ID into id, may be NULL). */
bool signer_backups_domain(const signer_backups *b, uint8_t id[HSM_ID_LEN]);
/* Whether a ZSK needs a proven backup before it is used. */
bool signer_backups_required(const signer_backups *b);

/* Back up the ZSK k just generated (k's zone, id, key_tag, DNSKEY): wrap,
 * store, read back, prove, record the proof, as described above. Without a
 * domain SIGNET_OK and nothing done. When it fails and backups are
 * required, the key is destroyed in the token and the error returned
 * (SIGNET_EUNSUPPORTED when the token cannot wrap the key's algorithm,
 * SIGNET_EVERIFY when the proof fails); when they are not, it is logged
 * and SIGNET_OK returned (the key's status stays missing or unproven). */
signet_err signer_backups_zsk(signer_backups *b, const signer_key *k);

/* What is known of k's backup (k a ZSK of the state). */
signer_backup_status signer_backups_status(signer_backups *b, const signer_key *k);

/* How many ZSKs of zone this signetd holds (not foreign, not removed) lack
 * a proven backup; 0 when the token holds no domain. */
size_t signer_backups_zone_missing(signer_backups *b, const dns_name *zone);

/* With require-backup, prove again the backup of every ZSK of zone that
 * this signetd holds (not foreign, not removed): SIGNET_ESTATE (errmsg says
 * which key and why) when one has none or it fails. SIGNET_OK when backups
 * are not required. */
signet_err signer_backups_check_zone(signer_backups *b, const dns_name *zone, char *errmsg,
				     size_t errlen);

/* Write every backup of st into dir as zsk-KEYID.backup (atomically, mode
 * 0600); *n gets the count. */
signet_err signer_backups_export(signer_state *st, const char *dir, size_t *n);

/* A backup file as read from a directory. */
typedef struct signer_backup_file {
	char name[256]; /* zsk-KEYID.backup */
	sg_buf text;
} signer_backup_file;

/* Read every zsk-*.backup of dir (other files ignored; at most 4096, each
 * at most SIGNER_BACKUP_TEXT_MAX octets). SIGNET_ENOTFOUND when dir cannot
 * be opened or holds none; errmsg says what failed. Free with
 * signer_backup_files_free. */
signet_err signer_backup_files_read(const char *dir, signer_backup_file **out, size_t *n,
				    char *errmsg, size_t errlen);
void signer_backup_files_free(signer_backup_file *files, size_t n);

/* Restore the n backup files into the token: every file is first parsed,
 * checked to be wrapped to the token's domain, to be a ZSK of the state
 * with the same zone, ID, key tag and DNSKEY, to have no key of its ID in
 * the token already, and proven; any refusal restores nothing
 * (SIGNET_ESTATE for a token without a domain, SIGNET_EPARSE,
 * SIGNET_EVERIFY, SIGNET_ENOTFOUND, SIGNET_EEXIST; errmsg names the file and
 * the reason). Then each key is unwrapped with its CKA_ID and label, its
 * public half made from the backup, and checked to give the state's
 * DNSKEY, and a signature of the restored token object over random octets
 * checked with that DNSKEY (a key failing either is destroyed again); an
 * audit line (client who, NULL: "local"; action "restore-zsk") per key when
 * audit is not NULL, and one for a refusal of the files. *restored gets the count. The one restore of signetd:
 * --restore-backups, the RestoreZskBackups RPC and the replicas' own
 * restore (replica_keys.c) all come here. */
signet_err signer_backups_restore(signer_backups *b, const signer_backup_file *files, size_t n,
				  signer_audit *audit, const char *who, size_t *restored,
				  char *errmsg, size_t errlen);

/* What `signetd -c CONFIG --export-backups DIR` and `--restore-backups DIR`
 * do, with signetd running or not: export reads cfg's state (the store
 * cfg names: SQLite in state-dir or the replicas' PostgreSQL) only; restore
 * opens that state and the audit log (lines naming cfg->replica_name),
 * reads the files, opens the token with pin, becomes cfg->user
 * (the token objects it makes must be signetd's), and runs
 * signer_backups_restore. Exactly one of export_dir, restore_dir. */
signet_err signer_backups_offline(const signer_config *cfg, const sg_secret *pin,
				  const char *export_dir, const char *restore_dir);

/* ---- keys on every replica (replica_keys.c) -------------------------------- *
 *
 * Replicas share their state, each with a token of its own holding the same
 * backup domain: a ZSK made on one reaches the others only as its backup in
 * the state. Each replica restores the ZSKs of the state (not foreign, not
 * removed) that its token lacks, through signer_backups_restore, at start
 * and whenever the state moves (signer_state_version); a key it cannot
 * restore (no domain in its token, no backup stored, the backup does not
 * unwrap or prove) is remembered with the reason. A key the token lacks is
 * never used here: signing refuses the zone with UNAVAILABLE (another
 * replica may have it), Health and the metrics name it. Thread safe. */

typedef struct signer_replica_keys signer_replica_keys;

/* For token tok (with backups b, state st; audit may be NULL; all borrowed,
 * outliving r) of the replica called name. Nothing runs yet. Free with
 * signer_replica_keys_free. */
signet_err signer_replica_keys_new(signer_backups *b, signer_state *st, hsm_token *tok,
				   signer_audit *audit, const char *name,
				   signer_replica_keys **out);
/* Stop the thread (if started) and free. NULL is fine. */
void signer_replica_keys_free(signer_replica_keys *r);

/* Restore now every ZSK of the state the token lacks, and renew what is
 * known absent and why. *restored, *absent (may be NULL) get the counts of
 * this round. A key whose restore failed is tried again only once the
 * state moved (or with retry_failed), so a broken backup does not fill
 * the audit log. SIGNET_OK even when keys stay absent; the state's or the
 * token's errors otherwise. */
signet_err signer_replica_keys_sync(signer_replica_keys *r, bool retry_failed, size_t *restored,
				    size_t *absent);

/* Start a thread that runs signer_replica_keys_sync whenever the state's
 * version moved, checked every interval_ms (at least 20), and soon after a
 * signing call met a key it did not know. */
signet_err signer_replica_keys_start(signer_replica_keys *r, unsigned interval_ms);

/* Restore backup files (the RestoreZskBackups RPC) as signer_backups_restore,
 * one restore at a time with the replica's own, audited as who; restored
 * keys count as present from then on. */
signet_err signer_replica_keys_restore_files(signer_replica_keys *r,
					     const signer_backup_file *files, size_t n,
					     const char *who, size_t *restored, char *errmsg,
					     size_t errlen);

/* SIGNET_OK when the token holds the key with this CKA_ID (known, or found
 * now). SIGNET_ENOTFOUND when it does not: why (whylen octets) says what is
 * known (the last restore's failure, or that the restore is pending, in
 * which case the thread is woken). */
signet_err signer_replica_keys_have(signer_replica_keys *r, const uint8_t *id, size_t id_len,
				    char *why, size_t whylen);

/* The keys of zone the token lacks, as of the last sync: *absent of them
 * (any state) and *active those that sign at now; why (may be NULL) gets
 * the first one's key tag, state and reason. */
void signer_replica_keys_zone(signer_replica_keys *r, const dns_name *zone, int64_t now,
			      size_t *absent, size_t *active, char *why, size_t whylen);

/* Totals since start: keys restored, restores that failed, signing calls
 * refused for a key the token lacks (counted by signer_replica_keys_refused). */
typedef struct signer_replica_keys_counts {
	uint64_t restored, failed, refused;
} signer_replica_keys_counts;
void signer_replica_keys_get_counts(signer_replica_keys *r, signer_replica_keys_counts *out);
void signer_replica_keys_refused(signer_replica_keys *r);

/* The replica's name, as given. */
const char *signer_replica_keys_name(const signer_replica_keys *r);

/* ---- audit log ----------------------------------------------------------- */

typedef struct signer_audit signer_audit;

/* The lower-case hex SHA-256 of n octets at p, NUL-terminated: how the
 * audit chain links lines, and how a line names a request. */
void signer_audit_hash_hex(const uint8_t *p, size_t n, char out[65]);

/* Open path for appending (created 0600 when absent). The hash of its last
 * line is read so the chain continues across restarts; SIGNET_EVERIFY if
 * the last line is torn (no final newline). The whole chain is checked by
 * signer_audit_verify. Free with signer_audit_close. */
signet_err signer_audit_open(const char *path, signer_audit **out);
void signer_audit_close(signer_audit *a);

/* Name the replica that writes a's lines (replica-name): every line after
 * this carries "replica":name right after "prev" (NULL or "": no such
 * field, as before replicas). Call before a is shared by threads. */
void signer_audit_set_replica(signer_audit *a, const char *name);

/* Append one JSON line {"time","prev",["replica",]"client","action","zone",
 * "detail","result"} where prev is the hex SHA-256 of the previous line (64 zeros for
 * the first), then fsync. Strings are JSON-escaped; zone and detail may be
 * NULL. Thread safe. */
signet_err signer_audit_append(signer_audit *a, const char *client, const char *action,
			       const char *zone, const char *detail, const char *result);

/* Signing lines may wait this long for their fsync. */
#define SIGNER_AUDIT_SYNC_MS 100

/* signer_audit_append for a line per signing call: written (one write(2))
 * before it returns, so a crash of signetd loses nothing, but fsync'ed by a
 * background thread together with the lines of up to SIGNER_AUDIT_SYNC_MS (a
 * power loss may lose those). A failed or short write leaves the log as it
 * was and gives the errno's error (SIGNET_EIO for a short write); a failed
 * fsync of the background thread is returned by the grouped appends after
 * it, until an fsync succeeds. */
signet_err signer_audit_append_grouped(signer_audit *a, const char *client, const char *action,
				       const char *zone, const char *detail, const char *result);

/* The replica name the log at path's lines carry (name, namelen octets;
 * "" when none does) and *other_line the first line naming another one (0:
 * none): a replica's log holds its own lines only. *lines (may be NULL)
 * gets the number of lines read. The file's read errors. */
signet_err signer_audit_replica(const char *path, char *name, size_t namelen, size_t *lines,
				size_t *other_line);

/* Check the hash chain of the log at path; *lines (may be NULL) gets the
 * number of lines checked, *bad_line the first broken one. */
signet_err signer_audit_verify(const char *path, size_t *lines, size_t *bad_line);

/* ---- clock --------------------------------------------------------------- */

/* The time every decision of signetd is made at (epoch seconds): the system
 * clock, unless a test clock was set. The test clock exists only in a build
 * with SIGNET_TEST_CLOCK (CMake option, on for the tests, off in the
 * package), and there only when the process was started with
 * SIGNETD_TEST_CLOCK=1 in its environment (signetd logs a warning) or a test
 * program called signer_clock_enable_test. */
int64_t signer_clock_now(void);

/* Whether the clock may be set (test clock enabled). */
bool signer_clock_settable(void);

/* Freeze the clock at t (> 0); 0 returns to the system clock.
 * SIGNET_EPERM when the test clock is not enabled, SIGNET_EUNSUPPORTED in a
 * build without it, SIGNET_EINVAL for t < 0. */
signet_err signer_clock_set(int64_t t);

/* Enable the test clock in this process (test programs only);
 * SIGNET_EUNSUPPORTED in a build without SIGNET_TEST_CLOCK. */
signet_err signer_clock_enable_test(void);

/* ---- rollover ------------------------------------------------------------ */

/* Whether d (len octets) is a DNSKEY a zone of signetd can use: well formed,
 * the zone flag, the SEP flag if and only if sep (a KSK), a supported
 * algorithm; *tag gets its key tag. SIGNET_EINVAL otherwise. */
signet_err signer_dnskey_check(const uint8_t *d, size_t len, bool sep, uint16_t *tag);

/* Makes a ZSK of algorithm alg for zone in the token and stores it (state
 * GENERATED, no schedule); fills *out. Used by the planner for successors. */
typedef signet_err (*signer_zsk_maker)(void *arg, const dns_name *zone, uint8_t alg,
				       signer_key *out);

/* Plan the zone's keys from now until horizon (epoch seconds): give the
 * first ZSK of the policy's algorithm a schedule, make (through make) and
 * schedule every ZSK successor whose publication falls before horizon
 * (pre-publication, RFC 6781 4.1.1.1, timed per RFC 7583 3.2), schedule
 * KSK rollovers started with signer_rollover_add_ksk and the algorithm
 * rollover (RFC 6781 4.1.4) when the policy's algorithm differs from the
 * active ZSKs'. Only keys not yet committed, and times still unset, are
 * changed: what an imported bundle promised stays. */
signet_err signer_rollover_plan(signer_state *st, const dns_name *zone, int64_t now,
				int64_t horizon, signer_zsk_maker make, void *arg);

/* Start a KSK rollover: add the new KSK's DNSKEY (made by the ceremony; SEP
 * flag, supported algorithm) to zone, to be published from now on (double-
 * KSK), or listed in CDS/CDNSKEY only until the parent shows its DS
 * (double-DS), as the policy says. A KSK of another algorithm than the
 * current ones starts an algorithm rollover: the policy's algorithm becomes
 * the new KSK's. SIGNET_EEXIST if the key is there, SIGNET_ESTATE if a KSK
 * rollover is in progress already, SIGNET_EINVAL for a bad DNSKEY. */
signet_err signer_rollover_add_ksk(signer_state *st, const dns_name *zone, const uint8_t *dnskey,
				   size_t len, int64_t now);

/* The parent publishes the DS of the KSK with this DNSKEY (the operator, or
 * a check at the parent, saw it) at now: the rollover proceeds, and the old
 * KSK leaves after the DS TTL and margins. SIGNET_ENOTFOUND for an unknown
 * KSK, SIGNET_ESTATE when no rollover waits for it. */
signet_err signer_rollover_ds_seen(signer_state *st, const dns_name *zone, const uint8_t *dnskey,
				   size_t len, int64_t now);

/* ---- what parental agents served (ds_reports.c) ---------------------------- */

#define SIGNER_DS_REPORT_ZONES 1024   /* zones with a report kept */
#define SIGNER_DS_REPORT_LINES 16     /* lines of one report (one per agent) */
#define SIGNER_DS_REPORT_LINE_MAX 300 /* octets of one line */

/* The last report of each zone (ReportDsObservation), in memory. Safe to
 * use from any thread. Free with signer_ds_reports_free. */
typedef struct signer_ds_reports signer_ds_reports;
signet_err signer_ds_reports_new(signer_ds_reports **out);
void signer_ds_reports_free(signer_ds_reports *d);
/* Replace zone's report: the KSK tag looked for, when (signetd's clock),
 * n lines (copied). SIGNET_EINVAL past the bounds above, SIGNET_ELIMIT
 * when SIGNER_DS_REPORT_ZONES other zones have one. */
signet_err signer_ds_reports_put(signer_ds_reports *d, const dns_name *zone, uint16_t tag,
				 int64_t when, const char *const *lines, size_t n);
/* zone's report if it is about KSK tag: its time and a malloc'd copy of its
 * lines (each malloc'd; the caller frees them and the array).
 * SIGNET_ENOTFOUND when there is none. */
signet_err signer_ds_reports_lines(signer_ds_reports *d, const dns_name *zone, uint16_t tag,
				   int64_t *when, char ***out, size_t *n);

/* What a zone's KSK or algorithm rollover waits for at the parent at now,
 * from its keys (signer_state_list_keys): *wanted is the index of the KSK
 * whose DS must appear (what signer_rollover_ds_seen accepts), *since the
 * time from which it may be there; gone (n entries, may be NULL) is set
 * true for each older KSK whose DS must no longer be served (its DS is no
 * longer wanted: retired). SIGNET_ENOTFOUND when nothing waits. */
signet_err signer_rollover_ds_wait(const signer_key *keys, size_t n, int64_t now, size_t *wanted,
				   int64_t *since, bool *gone);

/* Multi-signer (RFC 8901 model 2): add another provider's ZSK DNSKEY to the
 * DNSKEY RRset of every period from now on (never signs here), or with
 * remove, take it out from now on. SIGNET_EEXIST / SIGNET_ENOTFOUND. */
signet_err signer_rollover_foreign_zsk(signer_state *st, const dns_name *zone,
				       const uint8_t *dnskey, size_t len, bool remove, int64_t now);

/* What one key-set period of [start, end) publishes: the DNSKEY RRset
 * (every key of keys whose publication overlaps the period, or, for keys
 * without a schedule, that is not REMOVED) and the CDS and CDNSKEY RRsets
 * (the KSKs whose DS is wanted at start, or the RFC 8078 delete forms when
 * insecure). The RRsets must be initialised by the caller. */
signet_err signer_rollover_period(const signer_key *keys, size_t nkeys, int64_t start, int64_t end,
				  bool insecure, dns_rrset *dnskey, dns_rrset *cds,
				  dns_rrset *cdnskey);

/* ---- key-set request and bundle ------------------------------------------ */

/* Build the key-signing request of zone: periods of p->keyset_period
 * seconds covering [start, start + days days), each with what
 * signer_rollover_period publishes for it (keys as planned by
 * signer_rollover_plan), and one RRSIG over the DNSKEY RRset per ZSK of
 * the token in it, made on s as proof of possession.
 * Free *out with dns_keyset_free. */
signet_err signer_keyset_build_request(signer_state *st, hsm_session *s, const dns_name *zone,
				       uint32_t days, int64_t start, uint64_t serial,
				       dns_keyset *out);

/* Check a bundle against the request it answers: kind, zone and serial equal,
 * the same periods with the same DNSKEY/CDS/CDNSKEY RRsets, and in every
 * period, for every non-empty RRset, an RRSIG that verifies over that
 * period's window by every KSK of ksks (SEP flag set) that the period's
 * DNSKEY RRset holds: during a KSK or algorithm rollover a resolver may
 * trust either KSK. SIGNET_EVERIFY / SIGNET_ESTATE / SIGNET_EPARSE with errmsg. */
signet_err signer_keyset_check_bundle(const dns_keyset *request, const dns_keyset *bundle,
				      const signer_key *ksks, size_t nksk, char *errmsg,
				      size_t errlen);

/* The period of ks covering now, or NULL. */
const dns_keyset_period *signer_keyset_current(const dns_keyset *ks, uint32_t now);

/* ---- server -------------------------------------------------------------- */

typedef struct signer_server signer_server;

/* Start serving with cfg (copied) and pin (used for login; the caller wipes
 * it): opens the state, the token and one HSM session per worker, binds the
 * gRPC and metrics listeners, drops to cfg->user when it is set, and only
 * then starts serving calls. Free with signer_server_stop. */
signet_err signer_server_start(const signer_config *cfg, const sg_secret *pin, signer_server **out);

/* Swap in a new client list (the ACL) and the admission limits that can
 * change at run time (calls in flight, rate and burst, connections per
 * client and in all) from cfg, both or neither; calls in flight keep the
 * identity and place they were admitted with. Other keys need a restart:
 * those that differ are logged as such. SIGNET_EINVAL, SIGNET_ENOMEM
 * (nothing changed). */
signet_err signer_server_reload(signer_server *srv, const signer_config *cfg);

/* Stop accepting calls, let calls in flight finish, then free everything. */
void signer_server_stop(signer_server *srv);

#endif /* SIGNET_SIGNER_H */
