/* client.h -- the signet client: a small library over signetd's gRPC API
 * (mutual TLS channel, unary and pipelined calls, the client config file) and
 * the `signet` command-line subcommands built on it.
 *
 * Each subcommand is a function taking its own argv (argv[0] is the
 * subcommand's name) and returning a process exit status (enum signet_exit).
 * Errors are printed to stderr with the field, line or option they concern.
 *
 * The library uses the gRPC C core and protobuf-c; this header names neither
 * (statuses are gRPC's numeric codes, messages are ProtobufCMessage
 * pointers), so CLI tests need only the exit codes.
 */
#ifndef SIGNET_CLIENT_H
#define SIGNET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"
#include "dnssec/dnssec.h"

/* Exit statuses shared by every subcommand (docs/CLIENT.md lists them). */
enum signet_exit {
	SIGNET_EXIT_OK = 0,
	SIGNET_EXIT_FAIL = 1,    /* a check failed (self-test, health) */
	SIGNET_EXIT_USAGE = 2,   /* bad command line (hsm: also bad input) */
	SIGNET_EXIT_ERROR = 3,   /* an operational failure (HSM, files, internal) */
	SIGNET_EXIT_CONNECT = 4, /* signetd unreachable: connection refused, TLS
	                            * handshake failed, deadline exceeded */
	SIGNET_EXIT_REFUSED = 5, /* signetd refused: permission denied, unknown
	                            * zone, no active key, state conflict */
	SIGNET_EXIT_DATA = 6     /* invalid input data: a zone file or RRset
	                            * line, or RRsets signetd found invalid */
};

/* ---- client configuration ---------------------------------------------- */

#define CLIENT_PATH_MAX 1024
#define CLIENT_MODULE_ARGS_MAX 1024 /* longest key-module-args (hsm: HSM_INIT_ARGS_MAX) */
#define CLIENT_SERVER_MAX 256
#define CLIENT_TIMEOUT_DEFAULT_MS 30000
/* What the client accepts in one answer: a SignRRsets answer of a few
 * thousand RRsets is well under this. */
#define CLIENT_RECV_MAX (32 * 1024 * 1024)
/* Longest wait between two attempts to reach signetd (gRPC's own is 120 s). */
#define CLIENT_RECONNECT_BACKOFF_MAX_MS 5000
/* How often gRPC's backup poller drives connections no call is waiting on
 * (gRPC's own is 5000), set by the first client_open of a process unless
 * GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS is already in the
 * environment. */
#define CLIENT_BACKUP_POLL_MS "100"

/* Where and how to reach signetd. Strings are NUL-terminated; empty means
 * not set. */
typedef struct client_config {
	char server[CLIENT_SERVER_MAX];                   /* HOST:PORT (gRPC target) */
	char server_name[CLIENT_SERVER_MAX];              /* name to check in the server's
	                                       * certificate; empty: the host */
	char ca[CLIENT_PATH_MAX];                         /* CA certificate(s) of the server, PEM */
	char cert[CLIENT_PATH_MAX];                       /* client certificate chain, PEM */
	char key[CLIENT_PATH_MAX];                        /* its private key: a PEM file, or a
	                                       * PKCS#11 URI (pkcs11:...) of a key
	                                       * in a token */
	char key_module[CLIENT_PATH_MAX];                 /* PKCS#11 module of that token */
	char key_module_args[CLIENT_MODULE_ARGS_MAX + 1]; /* its library parameters
	                                       * (hsm_open_args), "" for none */
	char key_pin[CLIENT_PATH_MAX];                    /* file holding the token's PIN */
	unsigned timeout_ms;                              /* deadline of one call */
} client_config;

/* Empty configuration with the default timeout. */
void client_config_init(client_config *cfg);

/* Read a client config file (format in docs/CLIENT.md: `KEY VALUE` lines,
 * keys server, server-name, ca, cert, key, key-module, key-pin, timeout)
 * over cfg; keys absent
 * from the file keep their value. Files over 64 KiB, lines over 4096 octets,
 * unknown or repeated keys, NUL or control octets and relative paths are
 * refused with SIGNET_EPARSE (or the error reading the file) and a message
 * naming the line in errmsg. */
signet_err client_config_load(const char *path, client_config *cfg, char *errmsg, size_t errlen);

/* Set one key (as in the file) from a command-line flag; the same checks.
 * SIGNET_EINVAL for an unknown key. */
signet_err client_config_set(client_config *cfg, const char *key, const char *value, char *errmsg,
			     size_t errlen);

/* SIGNET_EINVAL with a message when server, ca, cert or key is missing, or
 * key is a PKCS#11 URI without key-module and key-pin. */
signet_err client_config_check(const client_config *cfg, char *errmsg, size_t errlen);

/* ---- connection and calls ---------------------------------------------- */

/* Method paths of the service signet.v1.Signet. */
#define CLIENT_SVC "/signet.v1.Signet/"

/* The outcome of one call: gRPC's status code (0 OK, 14 UNAVAILABLE, ...)
 * and the details text the server (or gRPC) gave. */
typedef struct client_status {
	int code;
	char details[512];
} client_status;

typedef struct client_conn client_conn;

/* The gRPC target for a server setting (client/target.c). */
typedef struct client_target_info {
	char target[CLIENT_SERVER_MAX + 8]; /* as gRPC takes it */
	char host[64];                      /* a list: its first address, the name TLS checks
			    * unless server-name is given; else empty */
	bool several;                       /* a list, or a dns: name: balance and retry */
} client_target_info;

/* server as HOST:PORT, a gRPC target (dns:///NAME:PORT), or a list of
 * replicas "ADDR:PORT,ADDR:PORT" (numeric, one family, at most 16),
 * which becomes one ipv4:/ipv6: target. SIGNET_EPARSE (errmsg says why)
 * for a list that is not that, SIGNET_EINVAL for an empty one. */
signet_err client_target(const char *server, client_target_info *out, char *errmsg, size_t errlen);

/* Open a channel to cfg->server with mutual TLS: the CA, certificate and key
 * files are read (bounded) before any credentials are made; the key's buffer
 * is wiped after use. A key given as a PKCS#11 URI stays in its token: the
 * token (module key-module) is logged in with the PIN read from the file
 * key-pin, the key checked against the certificate and used through libp11's
 * engine (hsm_tls_key_open; one such key per process, shared by its
 * connections and kept logged in until the process ends: see
 * client_tls_key_acquire). cert and key both empty make a channel without a
 * client certificate, which signetd refuses (for tests of that refusal). Nothing is sent yet: an unreachable server shows up as
 * UNAVAILABLE on the first call. Initialises gRPC (reference counted).
 * SIGNET_EINVAL for a configuration missing a part, the read error of a file
 * (errmsg names it), SIGNET_ECRYPTO if gRPC refuses the credentials. Free
 * with client_close. */
signet_err client_open(const client_config *cfg, client_conn **out, char *errmsg, size_t errlen);

/* grpc_init, with what a process that reaches signetd needs set before
 * gRPC's first initialisation (CLIENT_BACKUP_POLL_MS); client_open calls
 * it, and so should a process's own grpc_init that may come first. Pair
 * each call with grpc_shutdown. */
void client_grpc_init(void);

/* Cancel calls in flight, destroy the channel, release gRPC. NULL is fine. */
void client_close(client_conn *c);

/* The key of cfg (a PKCS#11 URI) made ready in its token, written as gRPC's
 * key string "engine:<engine id>:<URI>" into engine_key (keylen octets): the
 * first call reads the PIN file key-pin (owner-only, wiped after), opens
 * key-module and runs hsm_tls_key_open against the certificate cert; later
 * calls with the same key reuse it (another key: SIGNET_ESTATE). The token
 * stays logged in until the process ends, since closing the module would
 * leave libp11's engine with stale handles. errmsg names the part at fault. */
signet_err client_tls_key_acquire(const client_config *cfg, const uint8_t *cert, size_t certlen,
				  char *engine_key, size_t keylen, char *errmsg, size_t errlen);

/* After a handshake may have failed in the token: when a signature through
 * libp11's engine failed since the last look (hsm_tls_engine_failures),
 * check the process's key in its token with hsm_tls_key_check (logged in
 * again through hsm/ with the PIN it keeps, loaded through a fresh engine
 * instance when the one in use can no longer sign; about 17 token
 * signatures); then write the key's current engine key, which names a new
 * instance after a repair, into engine_key (keylen octets). Nothing failed
 * since the last look: the current key at no cost. SIGNET_ESTATE when no
 * key was acquired, the check's error (errmsg names token and key) when the
 * key still does not sign. Thread safe. */
signet_err client_tls_key_repair(char *engine_key, size_t keylen, char *errmsg, size_t errlen);

/* How often client_tls_key_repair loaded the key through a new engine
 * instance in this process. */
uint64_t client_tls_key_reloads(void);

/* One unary call of method (a full path, CLIENT_SVC "Health") with the
 * packed request req (len octets; copied). The answer's octets are appended
 * to resp (may be NULL). SIGNET_OK means the call completed, whatever its
 * status: read st. SIGNET_EIO if gRPC would not start it, SIGNET_ERANGE for
 * an answer over CLIENT_RECV_MAX. Thread safe: several threads may call on
 * one connection. */
signet_err client_call(client_conn *c, const char *method, const uint8_t *req, size_t len,
		       client_status *st, sg_buf *resp);

struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;

/* client_call with a message: req is packed, the answer is unpacked with
 * rdesc into *resp (the caller frees it with protobuf_c_message_free_unpacked;
 * NULL unless the status is OK). SIGNET_EPARSE for an OK answer that does not
 * unpack. */
signet_err client_call_msg(client_conn *c, const char *method, const struct ProtobufCMessage *req,
			   const struct ProtobufCMessageDescriptor *rdesc,
			   struct ProtobufCMessage **resp, client_status *st);

/* Pipelined calls: start several, then collect them in completion order.
 * Not thread safe: one thread drives the pipeline of a connection.
 *
 * client_start takes ownership of req (malloc'ed, len octets), which is sent
 * without a copy and freed by gRPC; tag comes back from client_next. On
 * failure req is freed too. */
signet_err client_start(client_conn *c, const char *method, uint8_t *req, size_t len, void *tag);

/* Wait for the next started call to complete: its tag, status and answer
 * (appended to resp). SIGNET_ENOTFOUND when no call is in flight, SIGNET_EIO
 * if the queue fails. */
signet_err client_next(client_conn *c, void **tag, client_status *st, sg_buf *resp);

/* client_next waiting at most wait_ms milliseconds (0: only what has
 * completed already): SIGNET_ETIME when no call completed by then, which
 * leaves every call in flight. For a caller that must also act on time,
 * such as a paced load generator. */
signet_err client_next_wait(client_conn *c, long wait_ms, void **tag, client_status *st,
			    sg_buf *resp);

/* Calls started and not yet collected. */
size_t client_inflight(const client_conn *c);

/* The exit status (enum signet_exit) for a gRPC status code: 0 for OK,
 * CONNECT for UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED, REFUSED for
 * PERMISSION_DENIED, UNAUTHENTICATED, NOT_FOUND, ALREADY_EXISTS and
 * FAILED_PRECONDITION, DATA for INVALID_ARGUMENT, OUT_OF_RANGE and
 * RESOURCE_EXHAUSTED, ERROR otherwise. */
int client_exit_for_status(int code);

/* The name of a gRPC status code ("PERMISSION_DENIED"); never NULL. */
const char *client_status_name(int code);

/* ---- typed messages (client/messages.c) -------------------------------
 *
 * The one translation between the client's values and signet.proto's
 * messages: commands build no protobuf themselves. What the server sends is
 * bounded and copied (or, for signatures, referenced) into the types below.
 * A typed call returns what client_call_msg returns: SIGNET_OK means the
 * call completed and st says how; its out-parameters are filled only when
 * st->code is 0 (and are empty otherwise, so freeing them is always safe). */

/* Pack a SignRequest of n RRsets (class IN, each set's owner, type, TTL and
 * RDATA) for zone into *out (malloc'ed, the caller frees it or hands it to
 * client_start), its length in *len. The sets are only read. SIGNET_ENOMEM. */
signet_err client_sign_request_pack(const dns_name *zone, const dns_rrset *const *sets, size_t n,
				    uint8_t **out, size_t *len);

/* What signetd did with one RRset of a SignRequest. */
typedef enum client_item_status {
	CLIENT_ITEM_UNSPECIFIED = 0, /* missing or a status this client does not know */
	CLIENT_ITEM_SIGNED = 1,      /* rrsig holds one RRSIG per active ZSK */
	CLIENT_ITEM_NOT_SIGNED = 2,  /* by design: NS at a delegation point */
	CLIENT_ITEM_FAILED = 3       /* code and message say why */
} client_item_status;

typedef struct client_sign_item {
	uint32_t index; /* position of the RRset in the request, as sent */
	client_item_status status;
	int code;               /* gRPC status code of a failed item */
	const char *message;    /* the server's reason; "" when none; owned by the answer */
	const dns_rdata *rrsig; /* RRSIG RDATA (owner, class, TTL: the RRset's),
	                         * owned by the answer */
	size_t nrrsig;
} client_sign_item;

/* A SignResponse. Free with client_sign_answer_free. */
typedef struct client_sign_answer {
	client_sign_item *items; /* one per result, in the server's order */
	size_t count;
	dns_rdata *rdata; /* every item's rrsig, one array */
	void *msg;        /* the unpacked message they point into */
} client_sign_answer;

/* Unpack the len octets of a SignResponse into *out. SIGNET_EPARSE when it
 * does not unpack or an RRSIG is over DNS_RDATA_MAX octets; the caller checks
 * the count and each item against its request. */
signet_err client_sign_answer_unpack(const uint8_t *data, size_t len, client_sign_answer *out);
void client_sign_answer_free(client_sign_answer *a);

/* A key's state in signetd. */
typedef enum client_key_state {
	CLIENT_KEY_UNKNOWN = 0,
	CLIENT_KEY_GENERATED, /* in the token, not yet in an imported bundle */
	CLIENT_KEY_PUBLISHED, /* in the DNSKEY RRset of an imported bundle */
	CLIENT_KEY_ACTIVE,    /* signs */
	CLIENT_KEY_RETIRED,   /* published, no longer signs */
	CLIENT_KEY_REMOVED
} client_key_state;

/* One key as signetd describes it (KeyInfo). Times are epoch seconds, 0 for
 * unset. */
typedef struct client_key {
	dns_name zone;  /* the root when zone_ok is false */
	bool zone_ok;   /* the server's name was well formed */
	char role[8];   /* "zsk", "ksk"; "?" when absent or longer */
	uint8_t id[64]; /* CKA_ID in the token */
	size_t id_len;  /* 0: none, or longer than id */
	uint32_t algorithm;
	uint32_t key_tag;
	client_key_state state;
	uint8_t *dnskey; /* DNSKEY RDATA, owned; NULL when none */
	size_t dnskey_len;
	int64_t created, publish, active, retire, remove;
	int64_t ds_seen; /* KSK: when the parent's DS was confirmed */
	bool foreign;    /* another signer's ZSK (RFC 8901) */
	int64_t planned_publish, planned_active, planned_retire, planned_remove;
	unsigned backup; /* BackupState: 0 unreported, 1 none, 2 missing, 3 unproven, 4 proven */
} client_key;

/* Keys of an answer, owned. Free with client_key_list_free. */
typedef struct client_key_list {
	client_key *keys;
	size_t count;
} client_key_list;

void client_key_list_free(client_key_list *l);

/* ListKeys: the keys of zone, or of every zone the caller may see (zone
 * NULL). */
signet_err client_list_keys(client_conn *c, const dns_name *zone, client_status *st,
			    client_key_list *out);

/* GenerateZsk: out holds the new key (none if the server named none). */
signet_err client_generate_zsk(client_conn *c, const dns_name *zone, client_status *st,
			       client_key_list *out);

/* One ZSK backup file as `signetd --export-backups` wrote it. */
typedef struct client_backup_file {
	const char *name; /* its name, for messages */
	const uint8_t *text;
	size_t len;
} client_backup_file;

/* What RestoreZskBackups did. Free messages with client_restore_result_free. */
typedef struct client_restore_result {
	uint32_t restored; /* keys put into the token */
	uint32_t missing;  /* ZSKs of the state the token still lacks */
	char **messages;   /* why, one per zone */
	size_t nmessages;
} client_restore_result;

/* RestoreZskBackups with n files (0: from the state's own backups). */
signet_err client_restore_zsk(client_conn *c, const client_backup_file *files, size_t n,
			      client_status *st, client_restore_result *out);
void client_restore_result_free(client_restore_result *r);

/* ExportKeySigningRequest for the next days days: the request's text is
 * appended to request, its serial put in *serial. SIGNET_ERANGE when the
 * text exceeds request's limit. */
signet_err client_export_ksr(client_conn *c, const dns_name *zone, uint32_t days, client_status *st,
			     sg_buf *request, uint64_t *serial);

/* What ImportKeyBundle did. Free activated with client_key_list_free. */
typedef struct client_import_result {
	uint64_t serial;
	uint32_t periods;
	client_key_list activated; /* keys whose state changed */
} client_import_result;

/* ImportKeyBundle with the bundle's text (len octets). */
signet_err client_import_bundle(client_conn *c, const dns_name *zone, const uint8_t *bundle,
				size_t len, client_status *st, client_import_result *out);

/* The Rollover actions the CLI offers (docs/ROLLOVER.md). */
typedef enum client_rollover_action {
	CLIENT_ROLLOVER_SHOW = 1,
	CLIENT_ROLLOVER_ADD_KSK,
	CLIENT_ROLLOVER_DS_SEEN,
	CLIENT_ROLLOVER_ADD_FOREIGN_ZSK,
	CLIENT_ROLLOVER_REMOVE_FOREIGN_ZSK,
	CLIENT_ROLLOVER_GO_INSECURE,
	CLIENT_ROLLOVER_STAY_SECURE
} client_rollover_action;

/* Rollover with action on zone; dnskey (len octets, may be empty) is the
 * DNSKEY RDATA the key actions name. keys gets the zone's keys after it,
 * *now signetd's clock. */
signet_err client_rollover(client_conn *c, const dns_name *zone, client_rollover_action action,
			   const uint8_t *dnskey, size_t len, client_status *st,
			   client_key_list *keys, int64_t *now);

/* A DNSKEY RDATA, owned. */
typedef struct client_dnskey {
	uint8_t *data;
	size_t len;
} client_dnskey;

#define CLIENT_DS_GONE_MAX 16 /* old KSKs of one DsWait taken */

/* What a KSK or algorithm rollover waits for at the parent (DsWait). */
typedef struct client_ds_wait {
	client_dnskey dnskey; /* the KSK whose DS the parent must serve */
	uint32_t key_tag;
	uint32_t algorithm;
	int64_t since;       /* the DS may be at the parent from then on */
	uint32_t ds_ttl;     /* seen this long (seconds) before it counts */
	client_dnskey *gone; /* KSKs whose DS must no longer be served, owned */
	size_t ngone;
} client_ds_wait;

/* One zone of a Health answer. */
typedef struct client_zone_health {
	dns_name zone; /* the root when zone_ok is false */
	bool zone_ok;
	bool active_zsk;             /* a ZSK is active and usable */
	int64_t keyset_seconds_left; /* until the last imported period ends */
	int64_t next_change;         /* epoch seconds of the next key state */
	char **warnings;             /* what needs the operator, owned */
	size_t nwarnings;
	client_ds_wait *ds_wait; /* NULL: no rollover waits for a DS; owned */
} client_zone_health;

/* A Health answer. Free with client_health_free. */
typedef struct client_health_info {
	bool token_present;
	bool logged_in;
	char version[64]; /* "?" when absent or longer */
	client_zone_health *zones;
	size_t nzones;
	int64_t now;            /* signetd's clock; 0 from a signetd that does not say */
	bool state_unavailable; /* its state database does not answer */
	char state_backend[16]; /* "sqlite", "postgresql"; "" when not said */
	char replica[64];       /* the answering replica's name; "" when not said */
} client_health_info;

/* Health. A DsWait whose DNSKEYs are empty or longer than 4096 octets, or
 * that names more than CLIENT_DS_GONE_MAX old KSKs, is refused
 * (SIGNET_EPARSE). */
signet_err client_health(client_conn *c, client_status *st, client_health_info *out);
void client_health_free(client_health_info *h);

/* ConfirmDs: every one of the nagents agents (their "ADDR:PORT(kind)" ids)
 * has served the DS of the KSK dnskey for zone since since (signetd's
 * clock); *ds_seen gets the time signetd recorded. */
signet_err client_confirm_ds(client_conn *c, const dns_name *zone, const uint8_t *dnskey,
			     size_t len, int64_t since, const char *const *agents, size_t nagents,
			     client_status *st, int64_t *ds_seen);

/* ReportDsObservation: what each agent served (n lines) while the rollover
 * of zone waits for the DS of KSK key_tag. */
signet_err client_report_ds(client_conn *c, const dns_name *zone, uint32_t key_tag,
			    const char *const *lines, size_t n, client_status *st);

/* A zone's signing policy, as far as the CLI sets or reads it; 0 means the
 * server's default (docs/SIGNETD.md). */
typedef struct client_policy {
	uint32_t algorithm;
	uint32_t rsa_bits;
	uint32_t validity;
	uint32_t dnskey_ttl;
	uint32_t keyset_period;
	bool nsec3; /* denial by NSEC3 with the parameters below */
	uint32_t iterations;
	uint8_t salt[255];
	uint8_t salt_len;
	bool opt_out;
} client_policy;

/* AddZone with policy p and the KSK DNSKEY RDATA ksks[0..nksks). */
signet_err client_add_zone(client_conn *c, const dns_name *zone, const client_policy *p,
			   const dns_rdata *ksks, size_t nksks, client_status *st);

/* The key set of a zone (GetKeySet), checked as outside input. Free with
 * client_keyset_free. */
typedef struct client_keyset {
	dns_rrset dnskey, cds, cdnskey; /* at the apex; cds, cdnskey may be empty */
	dns_rrset rrsig;                /* the KSK RRSIGs over them */
	client_policy policy;           /* NSEC3 iterations at most 100 */
} client_keyset;

/* GetKeySet for zone. An answer whose sets are not at the apex, of the
 * wrong type or with malformed RDATA, or whose NSEC3 parameters are out of
 * bounds, gives that error with what is wrong in errmsg (empty for every
 * other error). out is initialised in every case. */
signet_err client_get_keyset(client_conn *c, const dns_name *zone, client_status *st,
			     client_keyset *out, char *errmsg, size_t errlen);
void client_keyset_free(client_keyset *ks);

/* ---- how commands show things (client/show.c) --------------------------- */

/* "generated", "published", "active", "retired", "removed" or "unknown". */
const char *client_key_state_name(client_key_state s);

/* A key's backup state as `signet keys` prints it ("proven", "-" when the
 * server reported none). */
const char *client_backup_name(unsigned backup);

/* Epoch seconds as "2026-05-01T12:00:00Z"; "-" for 0 or less. */
void client_time_text(int64_t t, char *out, size_t len);

/* A distance in time (its sign dropped) as "2d 3h", "3h 5m", "45m 10s" or
 * "45s". */
void client_span_text(int64_t s, char *out, size_t len);

typedef enum client_key_style {
	CLIENT_KEY_AS_ROW,    /* `signet keys`: zone role alg tag state created id */
	CLIENT_KEY_AS_DNSKEY, /* a DNSKEY RR, role, state and tag in a comment;
	                       * nothing for a key without a usable DNSKEY */
	CLIENT_KEY_AS_LINE    /* "WHAT: role algorithm A tag T state S id ID" */
} client_key_style;

/* Print k on f in style; what names the key in CLIENT_KEY_AS_LINE. */
void client_print_key(FILE *f, const client_key *k, client_key_style style, const char *what);

/* ---- command-line plumbing shared by the subcommands ------------------- */

/* The connection flags every networked subcommand accepts, as getopt_long
 * entries (values CLIENT_OPT_*), and what they collected. */
enum {
	CLIENT_OPT_CONFIG = 0x1000,
	CLIENT_OPT_SERVER,
	CLIENT_OPT_SERVER_NAME,
	CLIENT_OPT_CA,
	CLIENT_OPT_CERT,
	CLIENT_OPT_KEY,
	CLIENT_OPT_TIMEOUT,
	CLIENT_OPT_FIRST_FREE /* subcommands number their own options from here */
};

#define CLIENT_CONN_LONGOPTS                                                                      \
	{"config", 1, NULL, CLIENT_OPT_CONFIG}, {"server", 1, NULL, CLIENT_OPT_SERVER},           \
		{"server-name", 1, NULL, CLIENT_OPT_SERVER_NAME}, {"ca", 1, NULL, CLIENT_OPT_CA}, \
		{"cert", 1, NULL, CLIENT_OPT_CERT}, {"key", 1, NULL, CLIENT_OPT_KEY},             \
	{                                                                                         \
		"timeout", 1, NULL, CLIENT_OPT_TIMEOUT                                            \
	}

/* The usage text of those flags, for subcommands' --help. */
#define CLIENT_CONN_USAGE                                                         \
	"connection: [--config FILE] [--server HOST:PORT] [--server-name NAME]\n" \
	"            [--ca FILE] [--cert FILE] [--key FILE] [--timeout SECONDS]\n"

typedef struct client_flags {
	const char *config;    /* --config, else $SIGNET_CLIENT_CONFIG, else none */
	const char *values[6]; /* server, server-name, ca, cert, key, timeout */
} client_flags;

/* If opt is one of the connection flags, remember arg and return true. */
bool client_flags_take(client_flags *f, int opt, const char *arg);

/* Build the configuration (file, then flags over it), check it and connect.
 * Returns an exit status; on SIGNET_EXIT_OK *out is open. Messages go to
 * stderr prefixed with cmd. */
int client_connect(const char *cmd, const client_flags *f, client_conn **out);

/* Report a failed call on stderr ("cmd: METHOD: STATUS: details") and
 * return its exit status. */
int client_report(const char *cmd, const char *method, const client_status *st);

/* ---- signing a zone ---------------------------------------------------- */

/* How to derive the SOA serial of the signed zone. */
typedef enum client_serial {
	CLIENT_SERIAL_KEEP = 0,   /* as in the input */
	CLIENT_SERIAL_INCREMENT,  /* previous + 1 */
	CLIENT_SERIAL_UNIXTIME,   /* now, or previous + 1 if that is not newer */
	CLIENT_SERIAL_DATECOUNTER /* YYYYMMDDnn, or previous + 1 */
} client_serial;

/* Compute the new serial from the input's (in), the last published one
 * (prev: the old signed zone's, or in when there is none) and now (epoch
 * seconds). Whatever the policy, the result is never older than prev in
 * serial arithmetic unless the policy is KEEP. */
uint32_t client_serial_next(client_serial policy, uint32_t in, uint32_t prev, int64_t now);

/* ---- signet check: synthetic DNSSEC checks of a served zone ------------ */

/* The outcome of one check, with Nagios/Icinga's exit codes as values. */
typedef enum check_status {
	CHECK_OK = 0,
	CHECK_WARNING = 1,
	CHECK_CRITICAL = 2,
	CHECK_UNKNOWN = 3
} check_status;

/* "OK", "WARNING", "CRITICAL" or "UNKNOWN"; never NULL. */
const char *check_status_name(check_status st);

#define CHECK_TEXT_MAX 480
#define CHECK_FINDINGS_MAX 400

/* One line of a report. */
typedef struct check_finding {
	check_status status;       /* how bad */
	char check[16];            /* which check: "rrsig", "dnskey", "ds", ... */
	char text[CHECK_TEXT_MAX]; /* what was found, printable ASCII */
} check_finding;

/* Every finding of a run. Zero-initialise; free with check_report_free. */
typedef struct check_report {
	check_finding *items; /* owned, in the order found */
	size_t count;
	size_t cap;
	size_t dropped;     /* findings past CHECK_FINDINGS_MAX: counted in
	                        * worst, not kept */
	check_status worst; /* the worst status added (UNKNOWN only when
	                        * nothing is CRITICAL) */
} check_report;

/* Add a finding; the text is cut at CHECK_TEXT_MAX and non-printable octets
 * become '?'. Never fails: when memory runs out the finding is counted as
 * dropped. */
void check_report_add(check_report *r, check_status st, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void check_report_free(check_report *r);

/* The exit status of a report: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
int check_report_exit(const check_report *r);

/* Append the human form (a Nagios summary line, then one line per finding,
 * worst first) or the JSON form of r to out. */
signet_err check_report_text(const check_report *r, const char *zone, const char *server,
			     sg_buf *out);
signet_err check_report_json(const check_report *r, const char *zone, const char *server,
			     int64_t now, sg_buf *out);

/* A name server to ask: an IPv4 or IPv6 address and a port. */
typedef struct check_server {
	char addr[64];       /* numeric address, no brackets */
	uint16_t port;       /* 53 unless given */
	unsigned timeout_ms; /* per try, 100..30000 */
	unsigned tries;      /* 1..5 */
	bool recurse;        /* ask for recursion (RD): a resolver */
} check_server;

/* Parse "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT" (a bare IPv6 address has
 * no port). Timeout and tries get defaults (2000 ms, 2). SIGNET_EINVAL for
 * host names, malformed addresses and ports outside 1..65535. */
signet_err check_server_parse(const char *text, check_server *out);

/* One RR of an answer, RDATA in uncompressed wire form and checked
 * (dns_rdata_check). */
typedef struct check_rr {
	dns_name owner;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint8_t section; /* 1 answer, 2 authority */
	uint16_t len;
	uint8_t *rdata; /* owned by the answer */
} check_rr;

#define CHECK_EDNS_SIZE 1232 /* the buffer we announce (DNS flag day 2020) */
#define CHECK_RRS_MAX 4096   /* RRs kept from one answer */

/* What one query got. */
typedef struct check_answer {
	int rcode;       /* RCODE */
	bool aa;         /* authoritative answer */
	bool ad;         /* authentic data: a validating resolver's word */
	bool udp_tc;     /* the UDP answer had TC set (then over TCP) */
	size_t udp_size; /* octets of the UDP answer */
	size_t size;     /* octets of the answer used (TCP after TC) */
	check_rr *rrs;   /* answer and authority RRs, owned */
	size_t count;
} check_answer;

/* Ask s for (qname, qtype, IN) without recursion (with it when s->recurse),
 * EDNS0 buffer 1232 and DO over UDP; on TC ask again over TCP. The answer must match the query (ID,
 * QR, opcode, question) and every RR must parse and be well formed, with at
 * most CHECK_RRS_MAX RRs. SIGNET_EIO when no answer came (timeout, refused),
 * SIGNET_EPARSE for an answer that is malformed or does not match, with the
 * reason in errmsg. Free out with check_answer_free. */
signet_err check_query(const check_server *s, const dns_name *qname, uint16_t qtype,
		       check_answer *out, char *errmsg, size_t errlen);
void check_answer_free(check_answer *a);

#define CHECK_NAMES_MAX 16

/* What to check and how. */
typedef struct check_options {
	dns_name zone;       /* the apex */
	check_server server; /* an authoritative server of zone */
	bool have_parent;    /* ask parent for the DS */
	check_server parent;
	const char *ds_file;             /* or read DS RRs from here; NULL: none */
	uint32_t refresh;                /* warn for RRSIGs expiring sooner */
	uint32_t now;                    /* epoch seconds the windows are judged at */
	dns_name names[CHECK_NAMES_MAX]; /* extra names to sample (--name) */
	size_t nnames;
	unsigned walk_limit; /* NSEC names to follow at most */
	unsigned probes;     /* random non-existent names to ask */
} check_options;

/* Run every check of docs/CLIENT.md against o->server and add the findings to
 * r. Problems of the zone are findings, not errors: the return value is
 * SIGNET_ENOMEM or SIGNET_EINVAL (bad options) only. */
signet_err check_zone(const check_options *o, check_report *r);

/* ---- subcommands -------------------------------------------------------- */

/* `signet hsm test|bench ...`: qualify a PKCS#11 token (self-test) and measure
 * its signing rate per algorithm at 1 and N sessions. */
int signet_cmd_hsm(int argc, char **argv);
/* `signet hsm tls-key|tls-csr` (hsm_tls.c); argv[0] is the action. */
int signet_hsm_tls(int argc, char **argv);
/* For `signet hsm ...`: the PIN read from pin_spec (file:, fd:, env:),
 * module loaded and the token with this label or serial opened into *ctx
 * and *tok (close with hsm_token_close, then hsm_close). 0, or after the
 * reason went to stderr: SIGNET_EXIT_USAGE for a bad PIN source,
 * SIGNET_EXIT_ERROR when the module or token fails (*ctx, *tok NULL). */
struct hsm_ctx;
struct hsm_token;
int client_hsm_token_open(const char *module, const char *label, const char *serial,
			  const char *pin_spec, struct hsm_ctx **ctx, struct hsm_token **tok);

/* `signet sign-zone`: sign a zone file through signetd. */
int signet_cmd_sign_zone(int argc, char **argv);
/* `signet sign`: RRsets in presentation form from stdin, RRSIGs to stdout. */
int signet_cmd_sign(int argc, char **argv);
/* `signet keys [ZONE]`: keys and their states (admin). */
int signet_cmd_keys(int argc, char **argv);
/* `signet health`: token and key state; exit 1 when anything is unhealthy. */
int signet_cmd_health(int argc, char **argv);
/* Administration: add-zone, generate-zsk, export-ksr, import-bundle. */
int signet_cmd_add_zone(int argc, char **argv);
int signet_cmd_generate_zsk(int argc, char **argv);
int signet_cmd_export_ksr(int argc, char **argv);
int signet_cmd_import_bundle(int argc, char **argv);
/* `signet restore-zsk [DIR]`: RestoreZskBackups of DIR's zsk-*.backup, or
 * without DIR of the state's own backups (admin). */
int signet_cmd_restore_zsk(int argc, char **argv);
/* `signet rollover ZONE show|add-ksk FILE|ds-seen [FILE]|add-foreign-zsk FILE|
 * remove-foreign-zsk TAG|FILE|go-insecure|stay-secure` (admin): the Rollover
 * RPC; exit codes as docs/CLIENT.md (5 also when no key fits a TAG or no
 * rollover waits for a DS). */
int signet_cmd_rollover(int argc, char **argv);
/* `signet check ZONE --server ADDR`: DNSSEC health of a served zone, exit
 * codes per Nagios (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). */
int signet_cmd_check(int argc, char **argv);
/* `signet parent-watch --agents FILE --state FILE [--interval S]`: ask each
 * zone's parental agents for the DS a rollover waits for (Health's DsWait)
 * and confirm it to signetd (ConfirmDs) once every agent has served it for
 * the DS TTL. docs/ROLLOVER.md. */
int signet_cmd_parent_watch(int argc, char **argv);

#endif /* SIGNET_CLIENT_H */
