/* state_backend.h -- what state.c asks of a storage engine (state_sqlite.c,
 * state_pg.c); private to signer/ (the layer's API is signer.h). */
#ifndef SIGNET_SIGNER_STATE_BACKEND_H
#define SIGNET_SIGNER_STATE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signer/signer.h"

/* The schema version this build writes. Both engines hold the same
 * tables and columns (zones, keys, requests, bundles, key_backups) with the
 * types each spells its own way, and the version (SQLite: PRAGMA
 * user_version; PostgreSQL: the meta table); an older store is upgraded in
 * place when it is opened, a newer one is refused (SIGNET_ESTATE).
 * Version 1 added key_backups. */
#define STATE_SCHEMA_VERSION 1

/* The policy columns in the order every engine reads and writes them;
 * nsec3_salt (index STATE_POL_SALT) is a blob, the others integers. */
#define STATE_POLICY_COLUMNS                                                      \
	"algorithm, rsa_bits, validity, backdate, jitter, min_validity,"          \
	" max_validity, denial, nsec3_iterations, nsec3_salt, nsec3_opt_out,"     \
	" dnskey_ttl, keyset_period, verify, zsk_lifetime, ksk_lifetime, ds_ttl," \
	" max_zone_ttl, propagation, publish_margin, retire_margin, refresh, ksk_roll"
#define STATE_POLICY_NCOL 23
#define STATE_POL_SALT 9

/* The key columns in the order every engine reads and writes them; zone,
 * id and dnskey are blobs, role text, the others integers. */
#define STATE_KEY_COLUMNS                                                           \
	"zone, role, id, alg, tag, state, dnskey, created, t_publish, t_active,"    \
	" t_retire, t_remove, ds_seen, committed, is_foreign, p_publish, p_active," \
	" p_retire, p_remove"
#define STATE_KEY_NCOL 19

/* p as the integer columns of STATE_POLICY_COLUMNS (v[STATE_POL_SALT] is
 * unused: the salt is p's own). */
void state_policy_encode(const signer_policy *p, int64_t v[STATE_POLICY_NCOL]);
/* The policy the columns v and salt (salt_len octets, at most 255) hold;
 * fields a store written before they existed holds as 0 read as their
 * defaults. */
void state_policy_decode(const int64_t v[STATE_POLICY_NCOL], const uint8_t *salt, size_t salt_len,
			 signer_policy *out);

/* A key read back from a store: k with the columns of STATE_KEY_COLUMNS
 * (blobs and their lengths as stored). SIGNET_EPARSE when a stored value
 * does not fit (a corrupt store); k is then undefined. */
typedef struct state_key_row {
	const uint8_t *zone, *id, *dnskey;
	size_t zone_len, id_len, dnskey_len;
	const char *role;
	int64_t v[STATE_KEY_NCOL]; /* the integer columns by their index */
} state_key_row;
signet_err state_key_decode(const state_key_row *r, signer_key *k);
/* The integer columns of k by their index in STATE_KEY_COLUMNS. */
void state_key_encode(const signer_key *k, int64_t v[STATE_KEY_NCOL]);

/* A key_backups row as stored into out (text malloc'd); SIGNET_EPARSE when
 * a value does not fit. */
signet_err state_backup_decode(const uint8_t *id, size_t il, const uint8_t *zone, size_t zl,
			       const uint8_t *domain, size_t dl, const uint8_t *text, size_t tl,
			       int64_t created, int64_t proven, signer_backup_row *out);

/* One storage engine. Arguments are checked and names lower-cased by
 * state.c before they get here. Every change is one transaction. */
typedef struct state_ops {
	const char *name; /* "sqlite", "postgresql" */
	void (*close)(void *b);
	signet_err (*add_zone)(void *b, const dns_name *z, const signer_policy *p,
			       const signer_key *ksks, size_t nksk);
	signet_err (*zone_policy)(void *b, const dns_name *z, signer_policy *out);
	signet_err (*list_zones)(void *b, dns_name **out, size_t *n);
	signet_err (*add_key)(void *b, const signer_key *k);
	/* Every key of z (NULL: all), their stored state, in the order zone,
	 * created, insertion. */
	signet_err (*list_keys)(void *b, const dns_name *z, signer_key **out, size_t *n);
	signet_err (*set_key_state)(void *b, const dns_name *z, const uint8_t *dnskey, size_t len,
				    signer_key_state state);
	signet_err (*set_schedule)(void *b, const signer_key *k);
	signet_err (*reset_plan)(void *b, const dns_name *z);
	signet_err (*set_policy)(void *b, const dns_name *z, const signer_policy *p);
	signet_err (*zone_insecure)(void *b, const dns_name *z, bool *on);
	signet_err (*set_zone_insecure)(void *b, const dns_name *z, bool on);
	/* The last row of requests (bundles: false) or bundles (true) of z;
	 * text may be NULL (the serial alone). */
	signet_err (*last_text)(void *b, bool bundles, const dns_name *z, uint64_t *serial,
				sg_buf *text);
	signet_err (*save_request)(void *b, const dns_name *z, uint64_t serial, const uint8_t *text,
				   size_t len);
	signet_err (*save_bundle)(void *b, const dns_name *z, uint64_t serial, const uint8_t *text,
				  size_t len, const dns_rrset *publish);
	/* Exclusive use of z's multi-step changes among every user of the
	 * store (replicas); SIGNET_ELIMIT when another holds it past the
	 * engine's bound. */
	signet_err (*zone_lock)(void *b, const dns_name *z);
	void (*zone_unlock)(void *b, const dns_name *z);
	/* ZSK backups (backup.c): arguments checked by state.c. */
	signet_err (*put_backup)(void *b, const signer_backup_row *r);
	signet_err (*set_backup_proven)(void *b, const uint8_t *id, size_t id_len, int64_t when);
	signet_err (*list_backups)(void *b, const uint8_t *id, size_t id_len,
				   signer_backup_row **out, size_t *n);
	/* Whether the store answers now (a cheap round trip, or nothing). */
	signet_err (*ping)(void *b);
	/* signer_state_version: no round trip. */
	uint64_t (*version)(void *b);
} state_ops;

/* The engines. Each fills *ops and *b on success. */
signet_err state_sqlite_open(const char *dir, const state_ops **ops, void **b);
signet_err state_pg_open(const signer_state_options *o, const state_ops **ops, void **b);

#endif /* SIGNET_SIGNER_STATE_BACKEND_H */
