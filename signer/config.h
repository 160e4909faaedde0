/* config.h -- signetd's configuration (config.c) and what it is made of:
 * the client lines with their rules on owner names and RR types (acl.c),
 * the admission limits and the state store's options. Included by
 * signer.h; uses common/ and dnssec/ only.
 */
#ifndef SIGNET_SIGNER_CONFIG_H
#define SIGNET_SIGNER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "dnssec/dnssec.h"

/* ---- configuration ------------------------------------------------------- */

#define SIGNER_PATH_MAX 1024            /* longest path value */
#define SIGNER_MODULE_ARGS_MAX 1024     /* longest pkcs11-module-args (hsm: HSM_INIT_ARGS_MAX) */
#define SIGNER_IDENTITY_MAX 255         /* longest client identity (SAN or CN) */
#define SIGNER_CLIENTS_MAX 1024         /* client lines in a config */
#define SIGNER_CLIENT_ZONES_MAX 256     /* zones on one client line */
#define SIGNER_CONFIG_MAX (1024 * 1024) /* bytes of a config file */
#define SIGNER_WORKERS_MAX 64
#define SIGNER_ERRMSG_MAX 256
#define SIGNER_REPLICA_NAME_MAX 63 /* replica-name: [A-Za-z0-9._-], 1..63 octets */

typedef enum signer_role {
	SIGNER_ROLE_SIGNER = 1,      /* may sign and read key sets of its zones */
	SIGNER_ROLE_ADMIN = 2,       /* may also administer; every zone */
	SIGNER_ROLE_PARENT_AGENT = 3 /* may only read Health and confirm the
				      * parent's DS (ConfirmDs) of its zones */
} signer_role;

/* ---- a client's rules on owner names and RR types (acl.c) ---------------- */

#define SIGNER_ACL_NAMES_MAX 64  /* owner-name rules of one client */
#define SIGNER_ACL_TYPES_MAX 64  /* RR types of one client */
#define SIGNER_ACL_RULE_MAX 1009 /* octets of one rule's text */

/* What a client may sign within its zones, beyond the zones themselves: a
 * list of owner-name rules and a list of RR types, each optional (an empty
 * list allows everything). A name rule is "@" (the apex of the zone of the
 * request), a name ("www.example.com": that name only), or a name with one
 * bare "*" label standing for one or more whole labels ("*.hosts.example.com":
 * strictly below hosts.example.com; "_acme-challenge.*.example.com"); "\*"
 * is a literal asterisk. Names compare case-insensitively (ASCII letters
 * only), label by label on the wire form, so escaped dots and binary octets
 * are what they are. Built once, then read-only and shared by reference:
 * safe to read from any thread. */
typedef struct signer_acl signer_acl;

/* An empty rule set with one reference; free with signer_acl_unref. */
signet_err signer_acl_new(signer_acl **out);

/* Add the name rule rule (text as in the configuration). With nzones > 0
 * a rule must be able to match inside one of zones. SIGNET_EPARSE for a
 * bad rule, a second "*", the root or a rule outside zones, SIGNET_ERANGE
 * past SIGNER_ACL_NAMES_MAX rules or SIGNER_ACL_RULE_MAX octets; errmsg
 * (msglen octets, may be NULL) says which. Only before sharing. */
signet_err signer_acl_add_name(signer_acl *a, const char *rule, const dns_name *zones,
			       size_t nzones, char *errmsg, size_t errlen);

/* Add an RR type ("TXT", "aaaa", "TYPE65280"). SIGNET_EPARSE for a bad
 * type, SIGNET_ERANGE past SIGNER_ACL_TYPES_MAX. Only before sharing. */
signet_err signer_acl_add_type(signer_acl *a, const char *type, char *errmsg, size_t errlen);

/* Take a reference (a may be NULL); returns a. */
signer_acl *signer_acl_ref(signer_acl *a);
/* Drop a reference (a may be NULL); the last one frees. */
void signer_acl_unref(signer_acl *a);

/* True when a (may be NULL) allows every owner and type. */
bool signer_acl_empty(const signer_acl *a);

/* Whether a (NULL: no rules) lets a client sign type at owner in the zone
 * whose apex is apex: SIGNET_OK, or SIGNET_EPERM with errmsg naming the list
 * that refused and its rules ("type MX is not in the client's types [TXT]").
 * SIGNET_EINVAL for a missing name. */
signet_err signer_acl_allows(const signer_acl *a, const dns_name *apex, const dns_name *owner,
			     uint16_t type, char *errmsg, size_t errlen);

/* One "client" line: who may do what. */
typedef struct signer_client {
	char identity[SIGNER_IDENTITY_MAX + 1]; /* SAN (or CN) to match exactly */
	signer_role role;
	bool all_zones;  /* "*" was given: every zone */
	size_t nzones;   /* zones in zones */
	dns_name *zones; /* owned, lower-cased apexes */
	signer_acl *acl; /* one reference; NULL: every name and type */
	bool allow_cn;   /* may be known by its CN, if its certificate has no SAN */
} signer_client;

/* What one client may take of the service, and what connections may hold;
 * docs/SIGNETD.md gives the keys and their defaults. */
typedef struct signer_admission_limits {
	size_t max_connections;          /* recently used connections, in all */
	size_t max_connections_client;   /* the same, per client identity */
	size_t max_calls_client;         /* calls in flight per client identity */
	unsigned rate;                   /* calls per second per identity; 0: no limit */
	unsigned burst;                  /* token bucket depth (calls) */
	unsigned idle_timeout_s;         /* connection idle this long is closed */
	unsigned handshake_timeout_s;    /* TLS and HTTP/2 set-up must finish in it */
	unsigned streams_per_connection; /* concurrent HTTP/2 streams per connection */
	unsigned message_timeout_s;      /* a call's request message must come in it */
	size_t max_calls;                /* calls in flight in all (waiting included) */
	unsigned resets_per_second;      /* streams a connection may abandon per second */
	size_t max_open_connections;     /* open TCP connections in all */
	size_t max_connections_address;  /* open TCP connections per client address */
	unsigned connection_rate;        /* new TCP connections per address per second */
} signer_admission_limits;

/* Where the state lives: SQLite in state-dir (one machine), or PostgreSQL
 * shared by several signetd replicas (docs/REPLICAS.md). */
typedef enum signer_state_backend {
	SIGNER_STATE_SQLITE = 0,
	SIGNER_STATE_POSTGRESQL = 1
} signer_state_backend;

typedef struct signer_state_options {
	signer_state_backend backend;
	char conninfo_file[SIGNER_PATH_MAX]; /* PostgreSQL: an owner-only file holding
					      * a libpq conninfo string */
	unsigned cache_ms;                   /* PostgreSQL: reads of zones and keys are at most
				   * this old (default 500) */
	unsigned lock_timeout_ms;            /* PostgreSQL: how long a change waits for
				   * another replica's change of the same zone */
} signer_state_options;

typedef struct signer_config {
	char listen[256];                       /* host:port */
	char tls_cert[SIGNER_PATH_MAX];         /* server certificate chain, PEM */
	char tls_key[SIGNER_PATH_MAX];          /* its private key: a PEM file or a
	                                      * PKCS#11 URI of a key in a token */
	char tls_key_pin_spec[SIGNER_PATH_MAX]; /* PIN source of that token when it
	                                      * is not token-label's, else empty */
	char tls_ca[SIGNER_PATH_MAX];           /* CA that issues client certificates */
	bool tls12;                             /* also allow TLS 1.2 (default no) */
	char pkcs11_module[SIGNER_PATH_MAX];    /* PKCS#11 module path */
	char pkcs11_module_args[SIGNER_MODULE_ARGS_MAX + 1]; /* its library parameters
	                                      * (C_Initialize's pReserved), or
	                                      * empty for none; never a secret */
	char token_label[33];                                /* token label (PKCS#11: 32 octets) */
	char pin_spec[SIGNER_PATH_MAX];                      /* file:PATH, fd:N or env:NAME */
	char state_dir[SIGNER_PATH_MAX];                     /* SQLite state and audit log */
	signer_state_options state;                          /* the state section: which store */
	unsigned workers;                                    /* signing threads, 1..64, default 2 */
	size_t cache_size;         /* RRSIGs kept, 0..10^7, default 100000 */
	size_t max_rrsets;         /* RRsets per request, default 1000 */
	size_t max_rrs;            /* RRs per RRset, default 512 */
	size_t max_rrset_octets;   /* RDATA octets per RRset, default 65535 */
	size_t max_message;        /* gRPC receive limit, default 1 MiB */
	char metrics[64];          /* Prometheus endpoint IP:PORT; "" = off */
	bool metrics_allow_remote; /* allow a non-loopback metrics address */
	char user[33];             /* run as this user after start; "" = stay */
	bool allow_root;           /* run as root without user (refused otherwise) */
	int require_backup; /* 1, 0, or -1 (default): on iff the token holds a backup domain */
	char replica_name[SIGNER_REPLICA_NAME_MAX + 1]; /* replica-name: in every audit line
					      * and Health; default the host name */
	unsigned refusal_interval_s;                    /* refusals are audited per this interval */
	size_t grpc_memory_mib;                         /* gRPC's resource quota, MiB */
	bool verify_all;                                /* verify-after-sign for every algorithm */
	signer_admission_limits admission;              /* per-client limits (limits.c) */
	size_t nclients;
	signer_client *clients; /* owned */
} signer_config;

/* Parse config text (need not be NUL-terminated) in libconfig syntax
 * ("key = value;", clients as a list of groups); see docs/SIGNETD.md for
 * every key. Required: listen, tls-cert, tls-key, tls-ca, pkcs11-module,
 * token-label, pin, state-dir and at least one client. On failure *errline
 * (may be NULL) names the line (0: the file as a whole) and errmsg (may be
 * NULL, errlen octets) says why; SIGNET_EPARSE for bad syntax or values,
 * SIGNET_ERANGE for values out of bounds, SIGNET_EPERM for a non-loopback
 * metrics address without metrics-allow-remote. Free *out with
 * signer_config_free even on failure. */
signet_err signer_config_parse(const char *text, size_t len, signer_config *out, unsigned *errline,
			       char *errmsg, size_t errlen);

/* Read path (at most SIGNER_CONFIG_MAX octets) and parse it. */
signet_err signer_config_load(const char *path, signer_config *out, unsigned *errline, char *errmsg,
			      size_t errlen);

void signer_config_free(signer_config *cfg);

/* The client whose identity equals id, or NULL. */
const signer_client *signer_config_client(const signer_config *cfg, const char *id);

/* True if c may sign in (and read the key set of) zone. */
bool signer_client_has_zone(const signer_client *c, const dns_name *zone);

/* Split "IP:PORT" or "[IPv6]:PORT" into host (hostlen octets) and port and
 * say whether the address is loopback (127/8 or ::1). Host names are not
 * accepted: SIGNET_EPARSE; a bad port or overlong host: SIGNET_ERANGE. */
signet_err signer_address_split(const char *addr, char *host, size_t hostlen, uint16_t *port,
				bool *loopback);

#endif /* SIGNET_SIGNER_CONFIG_H */
