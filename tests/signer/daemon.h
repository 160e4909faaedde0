/* daemon.h -- a real signetd for operational tests: a test PKI made with the
 * openssl command, a SoftHSM2 token, a configuration in libconfig syntax,
 * the daemon started as a child process, zones set up through the admin
 * API, and a raw HTTP client for the metrics endpoint. One daemon per test
 * program (the token fixture is one per process). */
#ifndef SIGNET_TEST_SIGNER_DAEMON_H
#define SIGNET_TEST_SIGNER_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "helpers.h"
#include "proto/signet.pb-c.h"
#include "rpc_client.h"
#include "tests/lib/softhsm_fixture.h"

typedef struct daemon_env {
	softhsm_fixture *f;          /* the token (not opened in this process) */
	char dir[128];               /* PKI, config, state, log; removed at the end */
	char conf[300];
	char log[300];
	char pin_path[400];          /* the PIN file (root-owned, 0600) */
	char target[64];             /* 127.0.0.1:PORT of the gRPC API */
	int port;
	int metrics_port;            /* 0: no metrics endpoint */
	pid_t pid;
	bool grpc_up;
	test_ksk ksk;                /* the software KSK in the ceremony's place */
	rpc_conn *admin, *signer;    /* admin.test (admin, *), ns1.test (signer, *) */
} daemon_env;

/* A zone as the tests set it up: its ZSK. */
typedef struct daemon_zone {
	dns_name apex;
	uint8_t alg;
	uint8_t dnskey[SIGNER_DNSKEY_MAX];
	size_t dnskey_len;
	uint16_t key_tag;
} daemon_zone;

/* Make everything and start signetd; extra is appended to the config
 * (libconfig lines, may be NULL); with metrics a loopback port is chosen
 * and configured; with for_user the directories are handed to that user
 * (the PIN file stays root's) and "user" is set. 0 when the daemon answers
 * Health, -1 otherwise (its log is printed). */
int daemon_start(daemon_env *d, const char *extra, bool metrics, const char *for_user);

/* SIGTERM, wait; the exit status as waitpid gives it, -1 if it had to be
 * killed. */
int daemon_stop(daemon_env *d);

/* Kill the daemon if still running, close channels, remove everything
 * (kept when SIGNET_TEST_KEEP is set). */
int daemon_teardown(daemon_env *d);

/* Write a signetd config in libconfig syntax to path: listen on port,
 * metrics on metrics_port (0: none), clients admin.test (admin, *) and
 * ns1.test (signer, *), then extra. */
void daemon_write_config(const daemon_env *d, const char *path, int port, int metrics_port,
			 const char *extra);

/* AddZone with the software KSK and policy algorithm alg, GenerateZsk,
 * ExportKeySigningRequest, the KSK's bundle, ImportKeyBundle: the zone's
 * ZSK is active afterwards. Asserts every step. */
void daemon_add_zone(daemon_env *d, const char *zone, uint8_t alg, daemon_zone *out);

/* Pack m, call SVC/method, return the status; the answer goes to resp
 * (may be NULL). */
grpc_status_code daemon_call(rpc_conn *c, const char *method, const ProtobufCMessage *m,
			     char *details, size_t dlen, sg_buf *resp);

/* SignRRsets of n A RRsets under zone, owners "h<first+i>.<zone>" (so every
 * call with new numbers misses the cache); returns the answer (free with
 * signet__v1__sign_response__free_unpacked) or NULL when the call failed,
 * its status in *st. */
Signet__V1__SignResponse *daemon_sign_a(rpc_conn *c, const char *zone, unsigned first,
					unsigned n, grpc_status_code *st);

/* Check an RRSIG RDATA from signetd against the A RRset daemon_sign_a made
 * for owner number i under z. */
void daemon_check_rrsig(const daemon_zone *z, unsigned i, const uint8_t *rdata, size_t len);

/* Send raw octets to 127.0.0.1:port, read the answer (at most
 * cap-1 octets, NUL-terminated) until the server closes. Returns its length,
 * or -1 if the connection failed. */
long daemon_http(int port, const char *req, size_t len, char *resp, size_t cap);

/* The value of the sample whose name and labels are exactly series
 * ("signet_token_up", "signet_requests_total{method=\"Health\",code=\"OK\"}")
 * in a text exposition; -1 when absent. */
double metric_value(const char *body, const char *series);

/* Whether the daemon's log contains needle. */
bool daemon_log_has(const daemon_env *d, const char *needle);

/* Run a shell command; fail the test if it fails. */
void daemon_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
