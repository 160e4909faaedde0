/* test_zoned_token.c -- signet-zoned whose TLS client key is in a SoftHSM2
 * token (issue 19): its client configuration names the key by PKCS#11 URI
 * with key-module and key-pin, it signs a zone through a real signetd over
 * mutual TLS, and the token's PIN is in neither its command line, its log
 * nor its configuration. The primary is fake_primary.py in its good mode.
 *
 * zoned's module is tests/p11fault in front of SoftHSM2 (signetd's is
 * SoftHSM2 itself): every session of zoned's token closed, as a token
 * reset does, inside the first handshake after signetd restarted. libp11's
 * engine keeps dead sessions for good (docs/HSM.md), so without a repair
 * no new connection to signetd would ever succeed again; zoned must load
 * its key anew (client_tls_key_repair) and sign the next change. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "tests/lib/p11fault_ctl.h"
#include "tests/lib/signetd_fixture.h"

#define KEY_IN "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LWluLTAxMjM0NTY3"   /* 32 octets */
#define KEY_OUT "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LW91dC0wMTIzNDU2"  /* 32 octets */
#define CLI_TOKEN "zoned-tls"

static signetd_env D;
static char dir[300], signet_bin[512], pin_path[400], uri[HSM_URI_MAX + 1];
static char zoned_module[600]; /* tests/p11fault, in front of SoftHSM2 */
static int zport, fport;
static pid_t fake, zoned;

static pid_t spawn(const char *log, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen(log, "a", stderr) || !freopen(log, "a", stdout))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	assert_true(pid > 0);
	return pid;
}

static void stop(pid_t *pid, int sig)
{
	if (*pid > 0) {
		kill(*pid, sig);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* A random PIN written owner-only to dir/name; its path in path. */
static void pin_file(const char *name, char *path, size_t len)
{
	uint8_t raw[12];
	char pin[32];
	assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(pin + 2 * i, 3, "%02x", raw[i]);
	snprintf(path, len, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pin, strlen(pin)), (ssize_t)strlen(pin));
	close(fd);
}

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
	FILE *f = fopen(path, "r"); /* /proc reports size 0: read by hand */
	assert_non_null(f);
	uint8_t buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(n > 0);
	return memmem(buf, n, pin->data, pin->len) != NULL;
}

/* The client token, its key made by `signet hsm tls-key`, the request signed
 * by the test CA as ns1.test (which may sign every zone). */
static void client_key_in_token(void)
{
	char so[400];
	pin_file("zoned-tls.so", so, sizeof(so));
	pin_file("zoned-tls.pin", pin_path, sizeof(pin_path));
	signetd_sh("'%s' hsm init --module '%s' --token %s --so-pin file:%s --pin file:%s >/dev/null",
		   signet_bin, D.f->module, CLI_TOKEN, so, pin_path);
	char cmd[8192];
	snprintf(cmd, sizeof(cmd),
		 "'%s' hsm tls-key --module '%s' --token %s --pin file:%s --name zoned --cn ns1.test"
		 " --san DNS:ns1.test --csr '%s/zoned.csr'",
		 signet_bin, D.f->module, CLI_TOKEN, pin_path, dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(uri, sizeof(uri), p))
		uri[0] = '\0';
	assert_int_equal(pclose(p), 0);
	uri[strcspn(uri, "\n")] = '\0';
	assert_true(hsm_uri_is(uri));
	signetd_sh("cd '%s' && printf 'extendedKeyUsage=clientAuth\\nsubjectAltName=DNS:ns1.test\\n'"
		   " > zoned.ext && openssl x509 -req -in zoned.csr -CA '%s/ca.pem' -CAkey '%s/ca.key'"
		   " -CAcreateserial -days 2 -extfile zoned.ext -out zoned.pem 2>/dev/null",
		   dir, D.dir, D.dir);
	/* signetd (as its unprivileged user) shares the token directory. */
	if (D.opts.user && D.opts.user[0])
		signetd_sh("chown -R '%s:' '%s'", D.opts.user, D.f->tokendir);
}

static void write_configs(void)
{
	char p[400];
	signetd_sh("printf '%%s' '%s' > %s/in.key && printf '%%s' '%s' > %s/out.key &&"
		   " chmod 600 %s/*.key", KEY_IN, dir, KEY_OUT, dir, dir);
	snprintf(p, sizeof(p), "%s/client.conf", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "server %s\nserver-name localhost\nca %s/ca.pem\ncert %s/zoned.pem\nkey %s\n"
		   "key-module %s\nkey-pin %s\n",
		D.target, D.dir, dir, uri, zoned_module, pin_path);
	fclose(f);
	snprintf(p, sizeof(p), "%s/zoned.conf", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"listen = \"127.0.0.1:%d\";\nstate-dir = \"%s/state\";\nsignetd = \"%s/client.conf\";\n"
		"keys = ( { name = \"xfr-in\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/in.key\"; },\n"
		"         { name = \"xfr-out\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/out.key\"; } );\n"
		"zones = ( { name = \"fake.example\";\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); } );\n",
		zport, dir, dir, dir, dir, fport);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	const char *b = getenv("SIGNET_BUILD_DIR");
	const char *t = getenv("SIGNET_ZONED_TESTS");
	if (!b || !t) {
		fprintf(stderr, "SIGNET_BUILD_DIR or SIGNET_ZONED_TESTS is not set\n");
		return -1;
	}
	snprintf(signet_bin, sizeof(signet_bin), "%s/client/signet", b);
	if (signetd_start(&D, NULL) != 0)
		return -1;
	signetd_zone z;
	signetd_add_zone(&D, "fake.example", DNS_ALG_ECDSAP256SHA256, &z);
	snprintf(dir, sizeof(dir), "%s/zoned", D.dir);
	signetd_sh("mkdir -p %s/state", dir);
	zport = signetd_free_port();
	fport = signetd_free_port();
	client_key_in_token();
	/* From here on this process and its children (zoned) would load
	 * the fault module as SIGNET_SOFTHSM_MODULE; signetd's configuration
	 * already names SoftHSM2. */
	if (p11fault_setup("signet-zoned-token") != 0)
		return -1;
	snprintf(zoned_module, sizeof(zoned_module), "%s", getenv("SIGNET_SOFTHSM_MODULE"));
	write_configs();
	char log[400], mode[400], script[400], port[16];
	snprintf(mode, sizeof(mode), "%s/fake.mode", dir);
	signetd_sh("echo good > '%s'", mode);
	snprintf(port, sizeof(port), "%d", fport);
	snprintf(script, sizeof(script), "%s/fake_primary.py", t);
	snprintf(log, sizeof(log), "%s/fake.log", dir);
	char *fargv[] = {"/usr/bin/python3", script, port, "xfr-in", KEY_IN, mode, NULL};
	fake = spawn(log, fargv);
	return signetd_wait_port(fport, fake, 10000, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	stop(&zoned, SIGKILL);
	stop(&fake, SIGTERM);
	int ret = signetd_teardown(&D) == 0 ? 0 : -1;
	p11fault_cleanup();
	return ret;
}

static void test_zone_signed_with_key_in_token(void **state)
{
	(void)state;
	char conf[400], log[400], bin[400];
	snprintf(conf, sizeof(conf), "%s/zoned.conf", dir);
	snprintf(log, sizeof(log), "%s/zoned.log", dir);
	snprintf(bin, sizeof(bin), "%s/zoned/signet-zoned", getenv("SIGNET_BUILD_DIR"));
	char *argv[] = {bin, "-c", conf, "-v", NULL};
	zoned = spawn(log, argv);
	if (!signetd_wait_port(zport, zoned, 20000, NULL))
		fail_msg("signet-zoned with its key in a token did not start; see %s", log);
	/* The zone signed through signetd: generous bound for a loaded machine. */
	bool signed_ok = false;
	for (long end = signetd_now_ms() + 60000; !signed_ok && signetd_now_ms() < end;) {
		signed_ok = signetd_log_has(log, "signed (AXFR)");
		if (!signed_ok)
			signetd_sleep_ms(100);
	}
	if (!signed_ok)
		fail_msg("signet-zoned signed nothing with its key in a token; see %s", log);
	/* What it serves carries signetd's signatures and validates. */
	signetd_sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s fake.example AXFR +nocomments"
		   " +nostats +noquestion 2>&1 | grep -v -E '^;|\\sTSIG\\s' > %s/axfr.zone &&"
		   " grep -q RRSIG %s/axfr.zone && ldns-verify-zone %s/axfr.zone >/dev/null",
		   zport, KEY_OUT, dir, dir, dir);
	/* The PIN nowhere but its file. */
	sg_secret *pin = NULL;
	assert_int_equal(sg_secret_from_file(pin_path, &pin), SIGNET_OK);
	assert_false(cmdline_holds(zoned, pin));
	assert_false(file_holds(log, pin));
	assert_false(file_holds(conf, pin));
	char cc[400];
	snprintf(cc, sizeof(cc), "%s/client.conf", dir);
	assert_false(file_holds(cc, pin));
	assert_true(file_holds(pin_path, pin)); /* the check can see it */
	sg_secret_free(pin);
}

/* Lines of zoned's log holding needle. */
static int log_lines(const char *needle)
{
	char cmd[800], buf[32] = "";
	snprintf(cmd, sizeof(cmd), "grep -c -F '%s' '%s/zoned.log'", needle, dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(buf, sizeof(buf), p))
		buf[0] = '\0';
	pclose(p);
	return atoi(buf);
}

/* The token's sessions closed inside zoned's first handshake to a
 * restarted signetd (tests/p11fault's close_sessions: the token also logs
 * the application out). zoned signs the next change anyway, within a
 * bound: its key is loaded again through a fresh engine instance and a
 * new channel is made with it. */
static void test_key_repaired_after_token_reset(void **state)
{
	(void)state;
	assert_true(zoned > 0); /* left running by the test before */
	int signed_before = log_lines("signed (");
	p11fault_set("close_sessions count=1");
	/* zoned's connection goes with signetd: the next call needs a new
	 * handshake, the first since the fault. */
	assert_int_equal(signetd_stop(&D), 0);
	D.pid = signetd_spawn(D.conf, D.log);
	signetd_wait_restarted(&D);
	long t0 = signetd_now_ms();
	/* A change at the primary: its SOA serial is always newer. */
	signetd_sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-in:%s fake.example NOTIFY +timeout=2"
		   " >/dev/null", zport, KEY_IN);
	/* The first attempt fails in the token; the retry (the SOA's retry
	 * interval, 5 s) repairs and signs. 60 s only ends a broken run. */
	bool signed_ok = false;
	while (!(signed_ok = log_lines("signed (") > signed_before) &&
	       signetd_now_ms() - t0 < 60000)
		signetd_sleep_ms(100);
	long took = signetd_now_ms() - t0;
	char log[400];
	snprintf(log, sizeof(log), "%s/zoned.log", dir);
	if (p11fault_count(".hits") < 1)
		fail_msg("the fault was never reached: no handshake signed in zoned's token");
	if (!signed_ok)
		fail_msg("zoned signed nothing in 60 s after its token lost its sessions; see %s",
			 log);
	if (!signetd_log_has(log, "TLS client key loaded again through a new libp11 engine"))
		fail_msg("zoned signed, but its log does not say the key was loaded again");
	fprintf(stderr, "signed again %ld ms after the restart of signetd\n", took);
	/* What it serves still validates. */
	signetd_sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s fake.example AXFR +nocomments"
		   " +nostats +noquestion 2>&1 | grep -v -E '^;|\\sTSIG\\s' > %s/axfr.zone &&"
		   " ldns-verify-zone %s/axfr.zone >/dev/null", zport, KEY_OUT, dir, dir);
	p11fault_set("");
	stop(&zoned, SIGTERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zone_signed_with_key_in_token),
		cmocka_unit_test(test_key_repaired_after_token_reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
