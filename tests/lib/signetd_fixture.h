/* signetd_fixture.h -- a real signetd on 127.0.0.1 for tests: a test PKI
 * made with the openssl command, a config file, the daemon as a child
 * process, and waiting for its port.
 *
 * The PKI in dir: ca.pem/ca.key and ca2.pem/ca2.key (two CAs, P-256), a
 * server certificate for localhost and 127.0.0.1 (server.pem/.key), and
 * client certificates (clientAuth) ns1 (SAN DNS:ns1.test), admin
 * (DNS:admin.test), cnonly (CN cnonly.test, no SAN), stranger
 * (DNS:stranger.test), all from ca, and foreign (DNS:ns1.test) from ca2.
 *
 * Uses cmocka's fail_msg for failures; needs SIGNET_BUILD_DIR (ctest sets
 * it) to find signetd.
 */
#ifndef SIGNET_TEST_SIGNETD_FIXTURE_H
#define SIGNET_TEST_SIGNETD_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>

#include "tests/lib/softhsm_fixture.h"

/* Run a shell command built from fmt; fail the test if it exits non-zero. */
void signetd_fixture_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Make the PKI described above in dir. */
void signetd_fixture_make_pki(const char *dir);

/* A TCP port on 127.0.0.1 free at the time of asking. */
int signetd_fixture_free_port(void);

/* Write a signetd config (libconfig syntax, see deploy/signetd.conf.example)
 * to path: listen on 127.0.0.1:port, TLS files from dir, the token of f with
 * its PIN in a file, state in dir/state (which must exist), 2 workers, then
 * the settings in extra (clients, limits), in the same syntax. */
void signetd_fixture_write_config(const char *path, softhsm_fixture *f, const char *dir,
				  int port, const char *extra);

/* Start signetd -c conf -v with its stderr going to log. */
pid_t signetd_fixture_spawn(const char *conf, const char *log);

/* True once a TCP connect to 127.0.0.1:port succeeds (waits up to 10 s). */
bool signetd_fixture_wait_port(int port);

/* True if the file log contains needle. */
bool signetd_fixture_log_has(const char *log, const char *needle);

#endif /* SIGNET_TEST_SIGNETD_FIXTURE_H */
