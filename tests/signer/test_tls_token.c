/* test_tls_token.c -- TLS identities kept in SoftHSM2 tokens made by the
 * test: `signet hsm tls-key` generates the key pair in a token and a request
 * the test's CA signs; a real signetd on loopback serves with its key in its
 * ZSK token or in a token of its own (tls-key-pin), a `signet` client whose
 * key is in another token signs an RRset over mutual TLS, the served
 * certificate's key is the token's, the key cannot leave the token, and the
 * PIN is in no command line, log or configuration. Wrong PINs, missing
 * objects, public-key URIs, malformed URIs, a key that is not the
 * certificate's and a token libp11 cannot enumerate each stop signetd at start
 * with a message that names the problem.
 *
 * The module is tests/p11fault in front of SoftHSM2 (no fault unless a test
 * sets one): with clients signing over a connection made before, every
 * session of the tokens is closed as a token reset would (the login goes
 * with them); the next new handshake fails cleanly, signetd loads its key
 * through a fresh libp11 engine, new handshakes succeed again within a
 * bound, and the open connection's calls never fail. A renewed certificate
 * for the same key comes in by SIGHUP, and one for another key is refused
 * while the old one stays served. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "tests/lib/p11fault_ctl.h"
#include "tests/lib/signetd_fixture.h"

static signetd_env D;
static char signet_bin[512];
static signetd_zone Z;
static bool zone_added;

/* The tokens the test adds next to signetd's (label, PIN file). */
#define CLI_TOKEN "tls-client"
#define SRV_TOKEN "tls-server"
static char cli_pin[400], srv_pin[400], wrong_pin[400];
static char srv_uri[HSM_URI_MAX + 1];
static char cli_uri[HSM_URI_MAX + 1];
static char cli_conf[400];

static int setup(void **state)
{
	(void)state;
	const char *b = getenv("SIGNET_BUILD_DIR");
	if (!b) {
		fprintf(stderr, "SIGNET_BUILD_DIR is not set\n");
		return -1;
	}
	snprintf(signet_bin, sizeof(signet_bin), "%s/client/signet", b);
	return signetd_start(&D, NULL);
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

/* Run a shell command, its stdout into out (cap octets, NUL-terminated, may
 * be NULL); the exit status, or -1 if it did not exit. */
static int run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int run(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = 0;
	char sink[512];
	for (;;) {
		size_t got = out ? fread(out + n, 1, cap - 1 - n, p) : fread(sink, 1, sizeof(sink), p);
		if (got == 0)
			break;
		if (out)
			n += got;
		if (out && n == cap - 1)
			break;
	}
	if (out)
		out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A random PIN written owner-only to D.dir/name; its path in path. */
static void pin_file(const char *name, char *path, size_t len)
{
	uint8_t raw[12];
	char pin[32];
	assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(pin + 2 * i, 3, "%02x", raw[i]);
	snprintf(path, len, "%s/%s", D.dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pin, strlen(pin)), (ssize_t)strlen(pin));
	close(fd);
}

/* What signetd (as nobody) needs after root made keys in the tokens. */
static void token_files_to_daemon(void)
{
	if (D.opts.user && D.opts.user[0])
		signetd_sh("chown -R '%s:' '%s'", D.opts.user, D.f->tokendir);
}

/* A new token with a random SO PIN and user PIN (file pin_path). */
static void new_token(const char *label, char *pin_path, size_t len)
{
	char so[400], name[64];
	snprintf(name, sizeof(name), "%s.so", label);
	pin_file(name, so, sizeof(so));
	snprintf(name, sizeof(name), "%s.pin", label);
	pin_file(name, pin_path, len);
	signetd_sh("'%s' hsm init --module '%s' --token %s --so-pin file:%s --pin file:%s >/dev/null",
		   signet_bin, D.f->module, label, so, pin_path);
}

/* The same, made in this process: a token made by another process after
 * this one initialised the module is not in its slot list (SoftHSM2 reads
 * the token directory at C_Initialize), and the test opens this one. */
static void new_token_here(const char *label, char *pin_path, size_t len)
{
	char so_path[400], name[64];
	snprintf(name, sizeof(name), "%s.so", label);
	pin_file(name, so_path, sizeof(so_path));
	snprintf(name, sizeof(name), "%s.pin", label);
	pin_file(name, pin_path, len);
	sg_secret *so = NULL, *user = NULL;
	assert_int_equal(sg_secret_from_file(so_path, &so), SIGNET_OK);
	assert_int_equal(sg_secret_from_file(pin_path, &user), SIGNET_OK);
	assert_int_equal(hsm_token_initialize(D.f->ctx, label, so, user, HSM_ERR), SIGNET_OK);
	sg_secret_free(so);
	sg_secret_free(user);
	token_files_to_daemon();
}

/* `signet hsm tls-key` in token label: the key's URI into uri, the request
 * signed by the test CA into D.dir/<name>.pem with san and eku. */
static void tls_key(const char *label, const char *pin_path, const char *name, const char *cn,
		    const char *san, const char *eku, char *uri, size_t urilen)
{
	char out[HSM_URI_MAX + 64];
	int rc = run(out, sizeof(out),
		     "'%s' hsm tls-key --module '%s' --token '%s' --pin file:%s --name %s --cn %s"
		     " --san %s --csr '%s/%s.csr'",
		     signet_bin, D.f->module, label, pin_path, name, cn, san, D.dir, name);
	assert_int_equal(rc, 0);
	out[strcspn(out, "\n")] = '\0';
	assert_true(hsm_uri_is(out));
	assert_true(strlen(out) < urilen);
	memcpy(uri, out, strlen(out) + 1);
	signetd_sh("cd '%s' && printf 'extendedKeyUsage=%s\\nsubjectAltName=%s\\n' > %s.ext &&"
		   " openssl req -in %s.csr -noout -verify 2>/dev/null &&"
		   " openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
		   " -extfile %s.ext -out %s.pem 2>/dev/null",
		   D.dir, eku, san, name, name, name, name, name);
	token_files_to_daemon();
}

static bool file_holds(const char *path, const sg_secret *pin);

static void ensure_zone(void)
{
	if (zone_added)
		return;
	signetd_add_zone(&D, "example.com", 13, &Z);
	zone_added = true;
}

/* `signet sign` through cli_conf (against target): exit status, stdout in out. */
static int sign_with_token_client(const char *target, char *out, size_t cap)
{
	char conf[500];
	snprintf(conf, sizeof(conf), "%s.%d", cli_conf, (int)getpid());
	signetd_sh("sed 's/^server .*/server %s/' '%s' > '%s'", target, cli_conf, conf);
	return run(out, cap, "printf 'www 300 IN A 192.0.2.1\\n' | '%s' sign --zone example.com"
			     " --config '%s' 2>&1",
		   signet_bin, conf);
}

/* ---- the command ---------------------------------------------------------- */

static void test_tls_key_command_refuses(void **state)
{
	(void)state;
	/* No PIN source, no name, a public-key URI, a URI with a PIN: usage. */
	assert_int_equal(run(NULL, 0, "'%s' hsm tls-key --module '%s' --token x --name n --cn c"
				      " --csr /tmp/x.csr 2>/dev/null",
			     signet_bin, D.f->module),
			 2);
	assert_int_equal(run(NULL, 0, "'%s' hsm tls-key --module '%s' --token x --pin file:/x"
				      " --cn c --csr /tmp/x.csr 2>/dev/null",
			     signet_bin, D.f->module),
			 2);
	char out[1024];
	assert_int_equal(run(out, sizeof(out),
			     "'%s' hsm tls-csr --module '%s' --pin file:/x --cn c --csr /tmp/x.csr"
			     " --key 'pkcs11:token=t;object=k;type=public' 2>&1",
			     signet_bin, D.f->module),
			 2);
	assert_non_null(strstr(out, "type=private"));
	assert_int_equal(run(out, sizeof(out),
			     "'%s' hsm tls-csr --module '%s' --pin file:/x --cn c --csr /tmp/x.csr"
			     " --key 'pkcs11:token=t;object=k;pin-value=1234' 2>&1",
			     signet_bin, D.f->module),
			 2);
	assert_non_null(strstr(out, "never sits"));
}

/* ---- the client's key in a token -------------------------------------------- */

static void test_client_key_in_token(void **state)
{
	(void)state;
	ensure_zone();
	new_token(CLI_TOKEN, cli_pin, sizeof(cli_pin));
	/* ns1.test may sign every zone (the fixture's default clients). */
	tls_key(CLI_TOKEN, cli_pin, "clitok", "ns1.test", "DNS:ns1.test", "clientAuth", cli_uri,
		sizeof(cli_uri));
	snprintf(cli_conf, sizeof(cli_conf), "%s/client.conf", D.dir);
	FILE *f = fopen(cli_conf, "w");
	assert_non_null(f);
	fprintf(f, "server %s\nca %s/ca.pem\ncert %s/clitok.pem\nkey %s\nkey-module %s\n"
		   "key-pin %s\n",
		D.target, D.dir, D.dir, cli_uri, D.f->module, cli_pin);
	fclose(f);

	char out[4096];
	int rc = sign_with_token_client(D.target, out, sizeof(out));
	if (rc != 0 || !strstr(out, "RRSIG\tA 13"))
		fail_msg("signet sign with its key in a token: exit %d: %s", rc, out);
	/* Its PIN is in neither what it printed nor its configuration. */
	sg_secret *pin = NULL;
	assert_int_equal(sg_secret_from_file(cli_pin, &pin), SIGNET_OK);
	assert_null(memmem(out, strlen(out), pin->data, pin->len));
	assert_false(file_holds(cli_conf, pin));
	sg_secret_free(pin);

	/* The same key with a certificate of another key: refused before any
	 * connection, naming the mismatch. */
	char conf[500];
	snprintf(conf, sizeof(conf), "%s/client-mismatch.conf", D.dir);
	signetd_sh("sed 's|^cert .*|cert %s/ns1.pem|' '%s' > '%s'", D.dir, cli_conf, conf);
	rc = run(out, sizeof(out), "'%s' health --config '%s' 2>&1", signet_bin, conf);
	assert_int_not_equal(rc, 0);
	if (!strstr(out, "does not match the certificate"))
		fail_msg("mismatch: %s", out);

	/* A wrong PIN in key-pin: the login's error. */
	pin_file("wrong.pin", wrong_pin, sizeof(wrong_pin));
	snprintf(conf, sizeof(conf), "%s/client-wrongpin.conf", D.dir);
	signetd_sh("sed 's|^key-pin .*|key-pin %s|' '%s' > '%s'", wrong_pin, cli_conf, conf);
	rc = run(out, sizeof(out), "'%s' health --config '%s' 2>&1", signet_bin, conf);
	assert_int_not_equal(rc, 0);
	if (!strstr(out, "PIN"))
		fail_msg("wrong PIN: %s", out);

	/* A URI without key-module/key-pin: a usage error naming them. */
	snprintf(conf, sizeof(conf), "%s/client-nopin.conf", D.dir);
	signetd_sh("grep -v '^key-pin' '%s' > '%s'", cli_conf, conf);
	rc = run(out, sizeof(out), "'%s' health --config '%s' 2>&1", signet_bin, conf);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, "key-pin"));
}

/* ---- signetd's key in a token ------------------------------------------------- */

/* signetd's configuration as the fixture writes it, with tls-cert and
 * tls-key replaced (and tls-key-pin added when key_pin is not NULL). */
static int conf_metrics_port; /* a metrics endpoint for the next write_conf */

static void write_conf(const char *path, const char *cert, const char *key, const char *key_pin)
{
	signetd_write_config(&D, path, D.port, conf_metrics_port, &D.opts);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	char *save = NULL;
	for (char *line = strtok_r((char *)b.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "tls-cert = ", 11) == 0)
			fprintf(f, "tls-cert = \"%s\";\n", cert);
		else if (strncmp(line, "tls-key = ", 10) == 0)
			fprintf(f, "tls-key = \"%s\";\n", key);
		else
			fprintf(f, "%s\n", line);
	}
	if (key_pin)
		fprintf(f, "tls-key-pin = \"file:%s\";\n", key_pin);
	fclose(f);
	sg_buf_free(&b);
}

/* Stop the running signetd (the state and the zone stay) and start one on
 * conf, logging to log; wait (bounded) until it answers on its port. */
static void restart_with(const char *conf, const char *log)
{
	if (D.pid > 0)
		signetd_stop_ok(&D);
	D.pid = signetd_spawn(conf, log);
	int status = -1;
	if (!signetd_wait_port(D.port, D.pid, 30000, &status)) {
		if (status != -1)
			D.pid = 0; /* reaped */
		signetd_sh("cat '%s' >&2", log);
		fail_msg("signetd with its key in a token did not start (status %d)", status);
	}
	/* The port opens before the daemon drops privileges and serves. */
	for (int i = 0; i < 300; i++) {
		grpc_status_code st = GRPC_STATUS_UNKNOWN;
		Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com", 1, 1, &st);
		if (r) {
			assert_int_equal(r->n_results, 1);
			signet__v1__sign_response__free_unpacked(r, NULL);
			return;
		}
		signetd_sleep_ms(100);
	}
	signetd_sh("cat '%s' >&2", log);
	fail_msg("signetd with its key in a token signs nothing");
}

/* A secret's octets anywhere in the file at path. */
static bool file_holds(const char *path, const sg_secret *pin)
{
	sg_buf b = SG_BUF_INIT;
	bool found = sg_file_read(path, 1 << 24, &b) == SIGNET_OK &&
		     memmem(b.data, b.len, pin->data, pin->len) != NULL;
	sg_buf_free(&b);
	return found;
}

static bool cmdline_holds(pid_t pid, const sg_secret *pin)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	/* /proc files report size 0: read it by hand. */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	uint8_t buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(n > 0);
	return memmem(buf, n, pin->data, pin->len) != NULL;
}

/* The PIN in none of signetd's command line, log and configuration. */
static void pin_nowhere(const char *pin_path, const char *conf, const char *log)
{
	sg_secret *pin = NULL;
	assert_int_equal(sg_secret_from_file(pin_path, &pin), SIGNET_OK);
	assert_false(cmdline_holds(D.pid, pin));
	assert_false(file_holds(log, pin));
	assert_false(file_holds(conf, pin));
	assert_true(file_holds(pin_path, pin)); /* the check can see it */
	sg_secret_free(pin);
}

/* The public key signetd serves in its handshake, as PEM, into out. */
static void served_key(char *out, size_t cap)
{
	int rc = run(out, cap,
		     "cd '%s' && openssl s_client -connect 127.0.0.1:%d -CAfile ca.pem"
		     " -cert ns1.pem -key ns1.key -servername localhost -alpn h2 </dev/null"
		     " 2>/dev/null | openssl x509 -pubkey -noout",
		     D.dir, D.port);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "-----BEGIN PUBLIC KEY-----"));
}

/* The token's public key of the private key uri names, as PEM, and that
 * its private value cannot be read. */
static void token_key(const char *label, const char *pin_path, const char *uri, char *out,
		      size_t cap)
{
	hsm_uri u;
	char why[256];
	assert_int_equal(hsm_uri_parse(uri, &u, why, sizeof(why)), SIGNET_OK);
	sg_secret *pin = NULL;
	assert_int_equal(sg_secret_from_file(pin_path, &pin), SIGNET_OK);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(D.f->ctx, label, NULL, pin, &t, HSM_ERR), SIGNET_OK);
	sg_secret_free(pin);
	EVP_PKEY *pub = NULL;
	assert_int_equal(hsm_key_public(t, u.id, u.id_len, &pub, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_value_hidden(t, u.id, u.id_len, HSM_ERR), SIGNET_OK);
	hsm_key_info info;
	assert_int_equal(hsm_key_find(t, u.id, u.id_len, &info, HSM_ERR), SIGNET_OK);
	assert_true(info.sensitive && info.never_extractable && !info.extractable);
	BIO *b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(b, pub), 1);
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);
	assert_true(n > 0 && (size_t)n < cap);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	EVP_PKEY_free(pub);
	hsm_token_close(t);
	token_files_to_daemon();
}

static char zsk_uri[HSM_URI_MAX + 1];

static void test_server_key_in_zsk_token(void **state)
{
	(void)state;
	ensure_zone();
	char uri[HSM_URI_MAX + 1], cert[400], conf[400], log[400];
	tls_key(D.f->label, D.pin_path, "srvzsk", "localhost", "DNS:localhost,IP:127.0.0.1",
		"serverAuth", uri, sizeof(uri));
	snprintf(cert, sizeof(cert), "%s/srvzsk.pem", D.dir);
	snprintf(conf, sizeof(conf), "%s/zsk-token.conf", D.dir);
	snprintf(log, sizeof(log), "%s/zsk-token.log", D.dir);
	write_conf(conf, cert, uri, NULL);
	restart_with(conf, log);

	/* A PEM client and a client whose key is in its own token. */
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com", 10, 3, &st);
	assert_non_null(r);
	assert_int_equal(r->n_results, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(r->results[i]->n_rrsig, 1);
		signetd_check_rrsig(&Z, 10 + (unsigned)i, r->results[i]->rrsig[0].data,
				    r->results[i]->rrsig[0].len);
	}
	signet__v1__sign_response__free_unpacked(r, NULL);
	char out[4096];
	int rc = sign_with_token_client(D.target, out, sizeof(out));
	if (rc != 0 || !strstr(out, "RRSIG\tA 13"))
		fail_msg("both keys in tokens: exit %d: %s", rc, out);

	/* OpenSSL still works for everything else in the daemon once gRPC has
	 * loaded the key through the engine (it makes the engine the default
	 * for every RSA and EC operation): a new zone's ZSK, its key set. */
	signetd_zone z2;
	signetd_add_zone(&D, "example.org", 13, &z2);

	char served[1024], held[1024];
	served_key(served, sizeof(served));
	pin_nowhere(D.pin_path, conf, log);
	/* No private key in PEM anywhere signetd keeps its files. */
	assert_int_not_equal(run(NULL, 0, "grep -rl 'PRIVATE KEY' '%s/state'", D.dir), 0);
	token_key(D.f->label, D.pin_path, uri, held, sizeof(held));
	assert_string_equal(served, held);
	memcpy(zsk_uri, uri, sizeof(zsk_uri));
}

static void test_server_key_in_own_token(void **state)
{
	(void)state;
	ensure_zone();
	new_token_here(SRV_TOKEN, srv_pin, sizeof(srv_pin));
	char cert[400], conf[400], log[400];
	tls_key(SRV_TOKEN, srv_pin, "srvsep", "localhost", "DNS:localhost,IP:127.0.0.1",
		"serverAuth", srv_uri, sizeof(srv_uri));
	snprintf(cert, sizeof(cert), "%s/srvsep.pem", D.dir);
	snprintf(conf, sizeof(conf), "%s/own-token.conf", D.dir);
	snprintf(log, sizeof(log), "%s/own-token.log", D.dir);
	write_conf(conf, cert, srv_uri, srv_pin);
	restart_with(conf, log);
	char out[4096];
	int rc = sign_with_token_client(D.target, out, sizeof(out));
	if (rc != 0 || !strstr(out, "RRSIG\tA 13"))
		fail_msg("server key in its own token: exit %d: %s", rc, out);
	/* Handshakes at once, on gRPC's threads, all signed in the token. */
	char ok[64];
	assert_int_equal(run(ok, sizeof(ok),
			     "cd '%s' && rm -f hs.*; for i in 1 2 3 4 5 6; do openssl s_client"
			     " -connect 127.0.0.1:%d -CAfile ca.pem -cert ns1.pem -key ns1.key"
			     " -servername localhost -alpn h2 </dev/null >hs.$i 2>/dev/null & done;"
			     " wait; grep -l '^Verification: OK' hs.* | wc -l",
			     D.dir, D.port),
			 0);
	assert_int_equal(atoi(ok), 6);

	char served[1024], held[1024];
	served_key(served, sizeof(served));
	pin_nowhere(srv_pin, conf, log);
	pin_nowhere(D.pin_path, conf, log);
	token_key(SRV_TOKEN, srv_pin, srv_uri, held, sizeof(held));
	assert_string_equal(served, held);
}

/* signetd on conf must stop at start, exit status 1 (no crash, no hang),
 * with needle in its log. */
static void refused_at_start(const char *name, const char *conf, const char *needle)
{
	char log[400];
	snprintf(log, sizeof(log), "%s/refused-%s.log", D.dir, name);
	pid_t pid = signetd_spawn(conf, log);
	int status = -1;
	bool up = signetd_wait_port(D.port, pid, 30000, &status);
	if (up) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("%s: signetd started", name);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || !signetd_log_has(log, needle)) {
		signetd_sh("cat '%s' >&2", log);
		fail_msg("%s: status %d, wanted exit 1 and '%s' in the log", name, status, needle);
	}
}

static void test_start_refusals(void **state)
{
	(void)state;
	assert_true(srv_uri[0]); /* test_server_key_in_own_token made it */
	if (D.pid > 0)
		signetd_stop_ok(&D);
	char conf[400], cert[400], uri[HSM_URI_MAX + 64];
	snprintf(conf, sizeof(conf), "%s/refused.conf", D.dir);
	snprintf(cert, sizeof(cert), "%s/srvsep.pem", D.dir);

	write_conf(conf, cert, srv_uri, wrong_pin);
	refused_at_start("wrong-pin", conf, "wrong PIN");

	snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=no-such-key;type=private", SRV_TOKEN);
	write_conf(conf, cert, uri, srv_pin);
	refused_at_start("missing-object", conf, "holds no private key object=no-such-key");

	snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=nothing-here;type=private", "no-token");
	write_conf(conf, cert, uri, srv_pin);
	refused_at_start("missing-token", conf, "token 'no-token'");

	/* The public half of the very key signetd would use. */
	snprintf(uri, sizeof(uri), "%s", srv_uri);
	char *type = strstr(uri, "type=private");
	assert_non_null(type);
	strcpy(type, "type=public");
	write_conf(conf, cert, uri, srv_pin);
	refused_at_start("public-key", conf, "must name the private key");

	write_conf(conf, cert, "pkcs11:token=tls-server;object", srv_pin);
	refused_at_start("malformed", conf, "NAME=VALUE");
	write_conf(conf, cert, "pkcs11:token=tls-server;object=k;pin-value=1234", srv_pin);
	refused_at_start("pin-in-uri", conf, "never sits");

	/* Another key's certificate. */
	snprintf(cert, sizeof(cert), "%s/server.pem", D.dir);
	write_conf(conf, cert, srv_uri, srv_pin);
	refused_at_start("mismatch", conf, "does not match the certificate");

	/* A key in the ZSK token without its own PIN source is fine; one in
	 * another token without one is a configuration error. */
	snprintf(cert, sizeof(cert), "%s/srvsep.pem", D.dir);
	write_conf(conf, cert, srv_uri, NULL);
	refused_at_start("no-key-pin", conf, "tls-key-pin");

	/* An Ed25519 key beside the TLS key: libp11's engine would load none. */
	sg_secret *pin = NULL;
	assert_int_equal(sg_secret_from_file(srv_pin, &pin), SIGNET_OK);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(D.f->ctx, SRV_TOKEN, NULL, pin, &t, HSM_ERR), SIGNET_OK);
	sg_secret_free(pin);
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info ed;
	assert_int_equal(hsm_key_label("zsk", "example.com.", HSM_ALG_ED25519, 1, label,
				       sizeof(label), HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_key_generate(t, HSM_ALG_ED25519, 0, label, &ed, HSM_ERR), SIGNET_OK);
	token_files_to_daemon();
	write_conf(conf, cert, srv_uri, srv_pin);
	refused_at_start("ed25519", conf, "Ed25519");
	assert_int_equal(hsm_key_delete(t, ed.id, ed.id_len, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	token_files_to_daemon();

	/* And with the token as it was, it starts again. */
	snprintf(conf, sizeof(conf), "%s/own-token.conf", D.dir);
	char log[400];
	snprintf(log, sizeof(log), "%s/own-token-again.log", D.dir);
	restart_with(conf, log);
}

/* ---- the token's sessions invalidated under load --------------------------- */

/* One new TLS handshake with signetd (openssl s_client, a fresh process and
 * connection, as ns1.test): 1 when it completed and verified, 0 when it
 * failed; a hang past 20 s fails the test. The served certificate's
 * subject line into subject (may be NULL). */
static int handshake(char *subject, size_t cap)
{
	char out[1024];
	int rc = run(out, sizeof(out),
		     "cd '%s' && timeout 20 openssl s_client -connect 127.0.0.1:%d -CAfile ca.pem"
		     " -cert ns1.pem -key ns1.key -servername localhost -alpn h2"
		     " -verify_return_error </dev/null >hs.out 2>&1; echo \"exit=$?\";"
		     " grep -a -c '^Verification: OK' hs.out;"
		     " openssl x509 -in hs.out -noout -subject 2>/dev/null; true",
		     D.dir, D.port);
	assert_int_equal(rc, 0);
	if (strstr(out, "exit=124"))
		fail_msg("a TLS handshake with signetd hung: %s", out);
	if (subject) {
		const char *sub = strstr(out, "subject=");
		snprintf(subject, cap, "%s", sub ? sub : "");
		subject[strcspn(subject, "\n")] = '\0';
	}
	return strncmp(out, "exit=0\n1\n", 9) == 0;
}

/* A client on a connection made before the fault, signing all along. */
typedef struct loader {
	rpc_conn *conn;
	atomic_bool stop;
	atomic_uint ok, failed;
	atomic_uint ok_after; /* successes since after is set */
	atomic_bool after;
	char why[256]; /* the first failure */
} loader;

static void *load_main(void *arg)
{
	loader *l = arg;
	for (unsigned i = 0; !atomic_load(&l->stop); i++) {
		grpc_status_code st = GRPC_STATUS_UNKNOWN;
		Signet__V1__SignResponse *r = signetd_sign_a(l->conn, "example.com",
							     50000 + i % 10000, 1, &st);
		bool good = r && r->n_results == 1 && r->results[0]->n_rrsig == 1;
		if (good) {
			atomic_fetch_add(&l->ok, 1);
			if (atomic_load(&l->after))
				atomic_fetch_add(&l->ok_after, 1);
		} else if (atomic_fetch_add(&l->failed, 1) == 0) {
			snprintf(l->why, sizeof(l->why), "status %d, %s", (int)st,
				 r ? "no RRSIG in the answer" : "no answer");
		}
		if (r)
			signet__v1__sign_response__free_unpacked(r, NULL);
	}
	return NULL;
}

/* Wait (bounded) until at least n lines of signetd's log hold needle. */
static bool wait_log_count(const char *log, const char *needle, int n, long ms)
{
	for (long end = signetd_now_ms() + ms;;) {
		sg_buf b = SG_BUF_INIT;
		int c = 0;
		if (sg_file_read(log, 1 << 24, &b) == SIGNET_OK &&
		    sg_buf_put_u8(&b, 0) == SIGNET_OK)
			for (const char *p = (char *)b.data; (p = strstr(p, needle)) != NULL; p++)
				c++;
		sg_buf_free(&b);
		if (c >= n)
			return true;
		if (signetd_now_ms() > end)
			return false;
		signetd_sleep_ms(20);
	}
}

static char reload_conf[400], reload_log[400], reload_cert[400];


/* signetd on conf (logging to log) with clients signing on a connection
 * made before; then fault in the module inside signetd, reached by that
 * client's next signature, and the wait until that call has come back, so
 * that what the fault set off is over (the module counts the hit before it
 * acts). The next new handshake
 * must fail cleanly, handshakes must succeed again within 60 s without a
 * restart, signetd must log its n-th reload of the key, and the open
 * connection's calls must never fail. */
static void invalidate_under_load(const char *conf, const char *log, const char *fault, int n)
{
	restart_with(conf, log);
	/* Handshakes before the fault fill libp11's session pool. */
	assert_int_equal(handshake(NULL, 0), 1);
	assert_int_equal(handshake(NULL, 0), 1);

	char ca[400], cert[400], key[400];
	snprintf(ca, sizeof(ca), "%s/ca.pem", D.dir);
	snprintf(cert, sizeof(cert), "%s/ns1.pem", D.dir);
	snprintf(key, sizeof(key), "%s/ns1.key", D.dir);
	loader l;
	memset(&l, 0, sizeof(l));
	assert_int_equal(rpc_open(D.target, ca, cert, key, &l.conn), SIGNET_OK);
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	Signet__V1__SignResponse *r = signetd_sign_a(l.conn, "example.com", 1, 1, &st);
	assert_non_null(r); /* connected: the connection exists before the fault */
	signet__v1__sign_response__free_unpacked(r, NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, load_main, &l), 0);
	bool loading = true, reached = true;
	for (long end = signetd_now_ms() + 30000; loading && atomic_load(&l.ok) < 20;)
		if (signetd_now_ms() > end)
			loading = false;
		else
			signetd_sleep_ms(5);
	if (loading) {
		p11fault_set(fault);
		for (long end = signetd_now_ms() + 30000; reached && p11fault_count(".hits") < 1;)
			if (signetd_now_ms() > end)
				reached = false;
			else
				signetd_sleep_ms(5);
	}
	/* The loading client has one call in flight: two more answers mean
	 * the one the fault hit has come back. */
	unsigned seen = atomic_load(&l.ok) + atomic_load(&l.failed);
	for (long end = signetd_now_ms() + 30000;
	     reached && atomic_load(&l.ok) + atomic_load(&l.failed) < seen + 2 &&
	     signetd_now_ms() < end;)
		signetd_sleep_ms(5);
	long fault_ms = signetd_now_ms();
	/* The next handshake signs through libp11's dead or stale handles: it
	 * fails, cleanly (handshake() fails the test on a hang). Then they
	 * succeed again, within a bound, without a restart. Checked once the
	 * loading client has stopped. */
	int first = reached ? handshake(NULL, 0) : 1;
	int attempts = 1, ok = first;
	while (!ok && signetd_now_ms() - fault_ms < 60000) {
		ok = handshake(NULL, 0);
		attempts++;
	}
	long recovered_ms = signetd_now_ms() - fault_ms;
	/* Calls on the connection made before went on throughout, and after. */
	atomic_store(&l.after, true);
	for (long end = signetd_now_ms() + 30000;
	     atomic_load(&l.ok_after) < 20 && signetd_now_ms() < end;)
		signetd_sleep_ms(5);
	atomic_store(&l.stop, true);
	pthread_join(th, NULL);
	rpc_close(l.conn);
	p11fault_set("");
	if (!loading)
		fail_msg("the loading client signs nothing");
	if (!reached)
		fail_msg("the fault '%s' was never reached", fault);
	fprintf(stderr,
		"tls reload (%s): first handshake after the fault %s; %s after %d "
		"attempts, %ld ms; %u calls on the open connection, %u failed\n",
		fault, first ? "succeeded" : "failed", ok ? "recovered" : "NOT recovered", attempts,
		recovered_ms, atomic_load(&l.ok), atomic_load(&l.failed));
	if (!ok || first) {
		signetd_sh("tail -n 30 '%s' >&2", log);
		if (first)
			fail_msg("the handshake after the fault did not fail");
		fail_msg("handshakes did not recover within 60 s");
	}
	char needle[80];
	snprintf(needle, sizeof(needle),
		 "TLS key reloaded through a new libp11 engine instance "
		 "(reload %d,",
		 n);
	assert_true(signetd_log_has(log, needle));
	/* The metrics say so too. */
	assert_true(conf_metrics_port > 0);
	D.metrics_port = conf_metrics_port;
	char scrape[1 << 16];
	const char *body = signetd_scrape(&D, scrape, sizeof(scrape));
	assert_true(signetd_metric(body, "signet_tls_key_reloads_total") == (double)n);
	assert_true(signetd_metric(body, "signet_tls_engine_sign_failures_total") >= 1);
	D.metrics_port = 0;
	if (atomic_load(&l.ok_after) < 20)
		fail_msg("the loading client stopped signing");
	if (atomic_load(&l.failed) != 0)
		fail_msg("%u calls on the open connection failed (first: %s), %u succeeded",
			 atomic_load(&l.failed), l.why, atomic_load(&l.ok));
	/* A client with its key in a token signs over a new connection, and
	 * more handshakes at once all succeed. */
	char out[4096];
	int rc = sign_with_token_client(D.target, out, sizeof(out));
	if (rc != 0 || !strstr(out, "RRSIG\tA 13"))
		fail_msg("after the reload: exit %d: %s", rc, out);
	char hs[64];
	assert_int_equal(
		run(hs, sizeof(hs),
		    "cd '%s' && rm -f hs.*; for i in 1 2 3 4 5 6; do timeout 20 openssl"
		    " s_client -connect 127.0.0.1:%d -CAfile ca.pem -cert ns1.pem -key"
		    " ns1.key -servername localhost -alpn h2 </dev/null >hs.$i 2>/dev/null &"
		    " done; wait; grep -l '^Verification: OK' hs.* | wc -l",
		    D.dir, D.port),
		0);
	assert_int_equal(atoi(hs), 6);
}

/* Every session of both tokens closed, as a token reset would (the
 * application logged out with them); signetd's TLS key in its own token. */
static void test_sessions_invalidated_under_load(void **state)
{
	(void)state;
	assert_true(srv_uri[0] && cli_conf[0]);
	ensure_zone();
	snprintf(reload_cert, sizeof(reload_cert), "%s/srvsep.pem", D.dir);
	snprintf(reload_conf, sizeof(reload_conf), "%s/reload.conf", D.dir);
	snprintf(reload_log, sizeof(reload_log), "%s/reload.log", D.dir);
	conf_metrics_port = signetd_free_port();
	write_conf(reload_conf, reload_cert, srv_uri, srv_pin);
	invalidate_under_load(reload_conf, reload_log, "close_sessions count=1", 1);
	conf_metrics_port = 0;
	/* The PIN went nowhere in the repair either. */
	pin_nowhere(srv_pin, reload_conf, reload_log);
}

/* The device gone for one call: hsm/ finalizes and re-initialises the
 * module (every handle of libp11's engine is stale then); signetd's TLS key
 * in its ZSK token. */
static void test_module_reinitialised_under_load(void **state)
{
	(void)state;
	assert_true(zsk_uri[0]);
	char conf[400], log[400], cert[400];
	snprintf(cert, sizeof(cert), "%s/srvzsk.pem", D.dir);
	snprintf(conf, sizeof(conf), "%s/reinit.conf", D.dir);
	snprintf(log, sizeof(log), "%s/reinit.log", D.dir);
	conf_metrics_port = signetd_free_port();
	write_conf(conf, cert, zsk_uri, NULL);
	invalidate_under_load(conf, log, "error=removed count=1", 1);
	conf_metrics_port = 0;
	pin_nowhere(D.pin_path, conf, log);
}

/* A renewed certificate for the token's key by SIGHUP; one of another key
 * is refused and the served one stays. */
static void test_sighup_certificate(void **state)
{
	(void)state;
	assert_true(reload_conf[0]);
	restart_with(reload_conf, reload_log);
	char before[512], after[512];
	assert_int_equal(handshake(before, sizeof(before)), 1);
	/* A new request from the same key in the token, signed by the CA with
	 * another subject, written aside and renamed over the served file. */
	assert_int_equal(
		run(NULL, 0,
		    "'%s' hsm tls-csr --module '%s' --pin file:%s --key '%s' --cn"
		    " renewed.localhost --san DNS:localhost,IP:127.0.0.1 --csr '%s/renew.csr'"
		    " >/dev/null",
		    signet_bin, D.f->module, srv_pin, srv_uri, D.dir),
		0);
	token_files_to_daemon();
	signetd_sh(
		"cd '%s' && printf 'extendedKeyUsage=serverAuth\\nsubjectAltName=DNS:localhost,"
		"IP:127.0.0.1\\n' > renew.ext && openssl x509 -req -in renew.csr -CA ca.pem"
		" -CAkey ca.key -CAcreateserial -days 2 -extfile renew.ext -out srvsep.new"
		" 2>/dev/null && chmod 644 srvsep.new && mv srvsep.new srvsep.pem",
		D.dir);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	if (!wait_log_count(reload_log, "reload: TLS certificate, key and CA from", 1, 30000))
		fail_msg("no TLS reload in the log after SIGHUP");
	assert_int_equal(handshake(after, sizeof(after)), 1);
	if (!strstr(after, "renewed.localhost") || strstr(before, "renewed.localhost"))
		fail_msg("served before: '%s', after: '%s'", before, after);

	/* Another key's certificate: refused, naming the mismatch. */
	signetd_sh(
		"cd '%s' && cp srvsep.pem srvsep.keep && cp server.pem srvsep.new &&"
		" mv srvsep.new srvsep.pem",
		D.dir);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	if (!wait_log_count(reload_log, "reload: TLS certificate, key and CA not changed", 1,
			    30000))
		fail_msg("no refusal in the log after SIGHUP");
	assert_true(signetd_log_has(reload_log, "does not match the certificate"));
	assert_int_equal(handshake(after, sizeof(after)), 1);
	assert_non_null(strstr(after, "renewed.localhost"));
	signetd_sh("cd '%s' && mv srvsep.keep srvsep.pem", D.dir);
}

/* A PEM key and certificate at new paths by SIGHUP (what a certificate
 * manager's renewal does), served to new connections; a key that is not
 * the certificate's is refused and the served pair stays. */
static void test_sighup_pem(void **state)
{
	(void)state;
	char conf[400], log[400], cert[400], key[400];
	snprintf(conf, sizeof(conf), "%s/pem.conf", D.dir);
	snprintf(log, sizeof(log), "%s/pem.log", D.dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", D.dir);
	snprintf(key, sizeof(key), "%s/server.key", D.dir);
	write_conf(conf, cert, key, NULL);
	restart_with(conf, log);
	char before[512], after[512];
	assert_int_equal(handshake(before, sizeof(before)), 1);
	/* signetd reads them as nobody: readable by it, as the docs say. */
	signetd_sh(
		"cd '%s' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
		" -keyout pemnew.key -out pemnew.csr -subj /CN=pem-renewed.localhost 2>/dev/null"
		" && printf 'extendedKeyUsage=serverAuth\\nsubjectAltName=DNS:localhost,"
		"IP:127.0.0.1\\n' > pemnew.ext && openssl x509 -req -in pemnew.csr -CA ca.pem"
		" -CAkey ca.key -CAcreateserial -days 2 -extfile pemnew.ext -out pemnew.pem"
		" 2>/dev/null && chmod 644 pemnew.key pemnew.pem",
		D.dir);
	/* First the new key with the old certificate: refused. */
	snprintf(key, sizeof(key), "%s/pemnew.key", D.dir);
	write_conf(conf, cert, key, NULL);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	if (!wait_log_count(log, "reload: TLS certificate, key and CA not changed", 1, 30000))
		fail_msg("a key that is not the certificate's was not refused");
	assert_true(signetd_log_has(log, "is not the key of tls-cert"));
	assert_int_equal(handshake(after, sizeof(after)), 1);
	assert_string_equal(before, after);
	/* Then the pair. */
	snprintf(cert, sizeof(cert), "%s/pemnew.pem", D.dir);
	write_conf(conf, cert, key, NULL);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	if (!wait_log_count(log, "reload: TLS certificate, key and CA from", 1, 30000))
		fail_msg("no TLS reload in the log after SIGHUP");
	assert_int_equal(handshake(after, sizeof(after)), 1);
	if (!strstr(after, "pem-renewed.localhost"))
		fail_msg("served before: '%s', after: '%s'", before, after);
	/* The token-key change of setting is a restart's. */
	write_conf(conf, cert, srv_uri, srv_pin);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	if (!wait_log_count(log, "tls-key or tls-key-pin changed", 1, 30000))
		fail_msg("a switch to a key in a token was not left for a restart");
	assert_int_equal(handshake(after, sizeof(after)), 1);
	assert_non_null(strstr(after, "pem-renewed.localhost"));
}

int main(void)
{
	/* signetd, its clients and this process load p11fault, which forwards
	 * to the real SoftHSM2 module. */
	if (p11fault_setup("signet-tlstoken") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_key_command_refuses),
		cmocka_unit_test(test_client_key_in_token),
		cmocka_unit_test(test_server_key_in_zsk_token),
		cmocka_unit_test(test_server_key_in_own_token),
		cmocka_unit_test(test_start_refusals),
		cmocka_unit_test(test_sessions_invalidated_under_load),
		cmocka_unit_test(test_module_reinitialised_under_load),
		cmocka_unit_test(test_sighup_certificate),
		cmocka_unit_test(test_sighup_pem),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	p11fault_cleanup();
	return rc;
}
