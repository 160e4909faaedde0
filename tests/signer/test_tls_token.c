/* test_tls_token.c -- TLS identities kept in SoftHSM2 tokens made by the
 * test: `signet hsm tls-key` generates the key pair in a token and a request
 * the test's CA signs; a real signetd on loopback serves with its key in its
 * ZSK token or in a token of its own (tls-key-pin), a `signet` client whose
 * key is in another token signs an RRset over mutual TLS, the served
 * certificate's key is the token's, the key cannot leave the token, and the
 * PIN is in no command line, log or configuration. Wrong PINs, missing
 * objects, public-key URIs, malformed URIs, a key that is not the
 * certificate's and a token libp11 cannot enumerate each stop signetd at start
 * with a message that names the problem. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include "tests/lib/signetd_fixture.h"

static signetd_env D;
static char signet_bin[512];
static signetd_zone Z;
static bool zone_added;

/* The tokens the test adds next to signetd's (label, PIN file). */
#define CLI_TOKEN "tls-client"
#define SRV_TOKEN "tls-server"
static char cli_pin[400], wrong_pin[400];
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
		signetd_sh("chown -R '%s:' '%s'", D.opts.user, D.f->dir);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_key_command_refuses),
		cmocka_unit_test(test_client_key_in_token),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
