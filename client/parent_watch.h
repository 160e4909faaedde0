/* parent_watch.h -- what `signet parent-watch` is made of: the parental
 * agents of each zone (its --agents file), the first-seen times it keeps
 * between passes (its --state file), and asking one agent whether it serves
 * the DS a rollover waits for. Not part of the client layer's API
 * (client/client.h); tests include it. */
#ifndef SIGNET_CLIENT_PARENT_WATCH_H
#define SIGNET_CLIENT_PARENT_WATCH_H

#include "client/client.h"

#define PW_AGENTS_MAX 16           /* agents of one zone (ConfirmDs takes 16) */
#define PW_ZONES_MAX 1024          /* zones of one agents file */
#define PW_FILE_MAX (256 * 1024)   /* octets of an agents file */
#define PW_STATE_MAX (1024 * 1024) /* octets of a state file */
#define PW_LINE_MAX 1024           /* octets of one line of either */
#define PW_AGENT_ID_MAX 80         /* "ADDR:PORT(kind)", for state and audit */

/* How an agent is asked and what makes its answer count. */
typedef enum pw_kind {
	PW_AUTH = 1,    /* a server of the parent: no recursion, AA, the DS RRset's
			   * RRSIG verified with the parent's DNSKEY RRset */
	PW_RESOLVER = 2 /* a validating resolver: recursion, AD */
} pw_kind;

typedef struct pw_agent {
	check_server server;
	pw_kind kind;
	char id[PW_AGENT_ID_MAX]; /* "192.0.2.1:53(auth)", "[2001:db8::1]:53(resolver)" */
} pw_agent;

typedef struct pw_zone {
	dns_name zone;               /* lower-cased apex */
	char name[DNS_NAME_STR_MAX]; /* as text */
	pw_agent agents[PW_AGENTS_MAX];
	size_t nagents;
} pw_zone;

typedef struct pw_config {
	pw_zone *zones; /* owned */
	size_t nzones;
} pw_config;

/* Read an agents file: `parental-agent ZONE ADDR[:PORT] [auth|resolver]`
 * lines (auth when not said), `#` comments and blank lines. SIGNET_EPARSE
 * with the line in errmsg for anything else: unknown keys, a host name, a
 * zone repeated agent, more than PW_AGENTS_MAX agents of a zone, control
 * octets, an overlong line or file. Free with pw_config_free. */
signet_err pw_config_load(const char *path, pw_config *cfg, char *errmsg, size_t errlen);
void pw_config_free(pw_config *cfg);

/* Since when an agent has served the wanted DS without a break. */
typedef struct pw_seen {
	dns_name zone;
	uint16_t tag; /* the KSK waited for */
	uint8_t alg;
	char agent[PW_AGENT_ID_MAX]; /* pw_agent.id */
	int64_t first;               /* signetd's clock */
} pw_seen;

typedef struct pw_state {
	pw_seen *e; /* owned */
	size_t n;
} pw_state;

/* Read the state file; a missing file is an empty state. SIGNET_EPARSE with
 * the line in errmsg for a file not written by pw_state_save. */
signet_err pw_state_load(const char *path, pw_state *st, char *errmsg, size_t errlen);
/* Write st to path atomically (0600). */
signet_err pw_state_save(const char *path, const pw_state *st);
void pw_state_free(pw_state *st);
/* The entry of (zone, tag, alg, agent), or NULL. */
pw_seen *pw_state_find(pw_state *st, const dns_name *zone, uint16_t tag, uint8_t alg,
		       const char *agent);
/* Add an entry (first seen at first); SIGNET_ENOMEM. */
signet_err pw_state_add(pw_state *st, const dns_name *zone, uint16_t tag, uint8_t alg,
			const char *agent, int64_t first);
/* Drop the entries of zone (all of them, or those not of (tag, alg) when
 * keep is true). */
void pw_state_drop(pw_state *st, const dns_name *zone, bool keep, uint16_t tag, uint8_t alg);
/* Drop one entry. */
void pw_state_forget(pw_state *st, pw_seen *e);

/* What a rollover waits for: the DS of dnskey at the parent, and none of
 * the keys in gone (ngone DNSKEY RDATAs). */
typedef struct pw_want {
	const dns_name *zone;
	const uint8_t *dnskey;
	size_t dnskey_len;
	uint16_t tag;
	uint8_t alg;
	const client_dnskey *gone;
	size_t ngone;
} pw_want;

/* Ask agent a for zone's DS and judge the answer at time now (epoch seconds,
 * for the parent's RRSIG windows): true when it serves the wanted DS and
 * none of gone, as its kind requires it (see pw_kind). Otherwise why says
 * what is wrong ("unreachable: ...", "serves DS 1234 with a wrong digest",
 * "still serves the DS of the old KSK 99", ...). */
bool pw_observe(const pw_agent *a, const pw_want *w, uint32_t now, char *why, size_t whylen);

#endif
