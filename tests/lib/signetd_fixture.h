/* signetd_fixture.h -- a real signetd on 127.0.0.1 for tests: a test PKI
 * made with the openssl command, a SoftHSM2 token, a configuration in
 * libconfig syntax, the daemon as a child process, gRPC channels to it,
 * zones set up through the admin API with a software KSK, and a raw HTTP
 * client for the metrics endpoint. One daemon environment per test program
 * (the token fixture is one per process); a test may start further signetd
 * processes on the same files with signetd_write_config and signetd_spawn.
 *
 * The PKI in dir: ca.pem/ca.key and ca2.pem/ca2.key (two CAs, P-256), a
 * server certificate for localhost and 127.0.0.1 (server.pem/.key), and
 * client certificates (clientAuth) ns1 (SAN DNS:ns1.test), admin
 * (DNS:admin.test), cnonly (CN cnonly.test, no SAN), stranger
 * (DNS:stranger.test), evil (SAN DNS:evil.test, CN admin.test), all from
 * ca, and foreign (DNS:ns1.test) from ca2.
 *
 * The state is SQLite in dir/state, or with SIGNET_TEST_STATE=postgresql
 * a fresh database (TLS, verify-full) in one real PostgreSQL that the
 * fixture starts for the whole test program (tests/lib/signetd_pg.h) and
 * removes when the program exits; the audit log stays in dir/state.
 *
 * Failures fail the cmocka test (fail_msg/assert_*), except in
 * signetd_start, which returns -1 so that a group setup can fail cleanly.
 * Needs SIGNET_BUILD_DIR (ctest sets it) to find signetd.
 */
#ifndef SIGNET_TEST_SIGNETD_FIXTURE_H
#define SIGNET_TEST_SIGNETD_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/signet.pb-c.h"
#include "signer/signer.h"
#include "tests/lib/signetd_rpc.h"
#include "tests/lib/softhsm_fixture.h"
#include "tests/lib/software_ksk.h"

/* What a test's signetd is configured with beyond what every one shares
 * (listen address, TLS files from the PKI, the token and its PIN file,
 * state-dir, 2 workers). All zero is a daemon with the default clients. */
typedef struct signetd_opts {
	const char *clients;  /* the inside of `clients = ( ... );` in libconfig
			       * syntax; NULL: admin.test (admin, "*") and
			       * ns1.test (signer, "*") */
	bool metrics;         /* serve metrics on a second loopback port */
	bool tls12;           /* tls12 = true */
	const char *user;     /* user = "..."; signetd_start hands the state and
			       * token directories to it (the PIN file stays
			       * root's). NULL under root: "nobody", since
			       * signetd refuses to run as root; "": none */
	bool allow_root;      /* instead: stay root (allow-root = true;) */
	const char *extra;    /* more libconfig lines (limits), or NULL */
} signetd_opts;

typedef struct signetd_env {
	softhsm_fixture *f;          /* the token (not opened in this process) */
	char dir[128];               /* PKI, config, state, log; removed at the end */
	char conf[300];              /* dir/signetd.conf */
	char log[300];               /* dir/signetd.log: the daemon's stderr */
	char pin_path[400];          /* the PIN file (0600) */
	char target[64];             /* 127.0.0.1:PORT of the gRPC API */
	int port;
	int metrics_port;            /* 0: no metrics endpoint */
	pid_t pid;                   /* 0 once it has been reaped */
	bool grpc_up;                /* grpc_init was called */
	signetd_opts opts;           /* as started (the strings are the caller's) */
	test_ksk ksk;                /* the software KSK in the ceremony's place */
	rpc_conn *admin, *signer;    /* channels as admin.test and ns1.test */
	char state_conninfo[300];    /* SIGNET_TEST_STATE=postgresql: the
				      * conninfo file of d's own database
				      * (written into every config); "" for
				      * SQLite in dir/state */
} signetd_env;

/* A zone as signetd_add_zone sets it up: its active ZSK. */
typedef struct signetd_zone {
	dns_name apex;
	uint8_t alg;
	uint8_t dnskey[SIGNER_DNSKEY_MAX];
	size_t dnskey_len;
	uint16_t key_tag;
} signetd_zone;

/* Sleep ms milliseconds; milliseconds on the monotonic clock, for deadlines
 * in tests. */
void signetd_sleep_ms(long ms);
long signetd_now_ms(void);

/* Make the PKI, the token, the state directory and the KSK, write the
 * configuration for o (NULL: all defaults) on free loopback ports, start
 * signetd and open d->admin and d->signer. Waits (bounded) until the daemon
 * answers Health (and, with a user, has dropped privileges: it logs "running
 * as"); a daemon that lost its port to another process between
 * choosing and binding is started again on new ports. 0 when it answers, -1
 * otherwise (its log is printed). Call signetd_teardown in either case. */
int signetd_start(signetd_env *d, const signetd_opts *o);

/* SIGTERM, then wait (at most 60 s, past signetd's own drain bound). The
 * exit status as waitpid gives it, or -1 if it had to be killed or was not
 * running. */
int signetd_stop(signetd_env *d);

/* signetd_stop, and fail the test (with the log) unless signetd exited 0;
 * under ASan that exit is also the leak check. */
void signetd_stop_ok(signetd_env *d);

/* Kill the daemon if still running, close d's channels (close any others
 * first), shut gRPC down, remove everything (kept when SIGNET_TEST_KEEP is
 * set). 0, or -1 if the directory could not be removed. */
int signetd_teardown(signetd_env *d);

/* Write a signetd configuration for o (NULL: defaults) to path: listen on
 * 127.0.0.1:port, metrics on metrics_port (0: none), everything else from
 * d. For reloads (SIGHUP) and extra daemons on d's files. */
void signetd_write_config(const signetd_env *d, const char *path, int port, int metrics_port,
			  const signetd_opts *o);

/* Start signetd -c conf -v with its stderr going to log; the pid. */
pid_t signetd_spawn(const char *conf, const char *log);

/* signetd_spawn with env ("NAME=VALUE" strings, NULL-terminated) added to
 * (or replacing in) this process's environment for signetd alone: a test
 * preloads a fault library this way without its own commands getting it. */
pid_t signetd_spawn_env(const char *conf, const char *log, const char *const *env);

/* A channel to d as the client certificate who ("ns1", "foreign", ...), or
 * without one (NULL). Free with rpc_close; NULL when it cannot be made. */
rpc_conn *signetd_connect(const signetd_env *d, const char *who);

/* A port on 127.0.0.1 free for TCP and UDP at the time of asking, or -1. */
int signetd_free_port(void);

/* True once a TCP connect to 127.0.0.1:port succeeds within timeout_ms;
 * false earlier if pid (when > 0) has exited (it is reaped, status in
 * *status when not NULL). */
bool signetd_wait_port(int port, pid_t pid, int timeout_ms, int *status);

/* After the test started signetd again on d's files (d->pid): wait until
 * it listens, replace d->admin and d->signer by fresh channels (the old
 * ones back off for longer after every stop, and a slow machine may hit
 * the longer waits), and wait until it answers Health. Each wait is
 * bounded by 30 s, which only ends a broken run; the test fails then. */
void signetd_wait_restarted(signetd_env *d);

/* True if the file at path (a log) contains needle. */
bool signetd_log_has(const char *path, const char *needle);

/* AddZone with d's KSK and policy algorithm alg, GenerateZsk,
 * ExportKeySigningRequest, the KSK's bundle, ImportKeyBundle: the zone's
 * ZSK is active afterwards. Asserts every step. */
void signetd_add_zone(signetd_env *d, const char *zone, uint8_t alg, signetd_zone *out);
/* ExportKeySigningRequest of days for apex, the KSK's bundle,
 * ImportKeyBundle (a new bundle: what the ceremony does); asserts every
 * step. */
void signetd_renew_bundle(signetd_env *d, const dns_name *apex, uint32_t days);

/* The same with policy pol (its algorithm: the KSK's and the ZSK's). */
void signetd_add_zone_policy(signetd_env *d, const char *zone, const Signet__V1__Policy *pol,
			     signetd_zone *out);

/* SignRRsets of n (1..100) A RRsets under zone, owners "h<first+i>.<zone>"
 * (so every call with new numbers misses the cache); the answer (free with
 * signet__v1__sign_response__free_unpacked; it has n results) or NULL when
 * the call failed, its status in *st. */
Signet__V1__SignResponse *signetd_sign_a(rpc_conn *c, const char *zone, unsigned first,
					 unsigned n, grpc_status_code *st);

/* Check an RRSIG RDATA from signetd against the A RRset signetd_sign_a made
 * for owner number i under z: algorithm, key tag and signature. */
void signetd_check_rrsig(const signetd_zone *z, unsigned i, const uint8_t *rdata, size_t len);

/* Send raw octets to 127.0.0.1:port, read the answer (at most cap-1 octets,
 * NUL-terminated) until the server closes (10 s receive timeout). Its
 * length, or -1 if the connection failed. */
long signetd_http(int port, const char *req, size_t len, char *resp, size_t cap);

/* GET /metrics from d's endpoint into buf; asserts a 200 answer and returns
 * its body (inside buf). */
const char *signetd_scrape(const signetd_env *d, char *buf, size_t cap);

/* The value of the sample whose name and labels are exactly series
 * ("signet_token_up", "signet_requests_total{method=\"Health\",code=\"OK\"}")
 * in a text exposition; -1 when absent. */
double signetd_metric(const char *body, const char *series);

/* Make the PKI of the header comment in directory d (openssl); 0, or -1
 * if a command failed. */
int signetd_make_pki(const char *d);

/* Run a shell command built from fmt; fail the test if it exits non-zero. */
void signetd_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SIGNET_TEST_SIGNETD_FIXTURE_H */
