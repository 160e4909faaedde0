/* test_cli_faults.c -- the signet CLI against a real signetd whose PKCS#11
 * module is tests/p11fault (SoftHSM2 behind a fault injector), for what
 * docs/CLIENT.md and docs/ROLLOVER.md promise when things go wrong:
 * sign-zone writes nothing when some RRsets fail mid-run (UNAVAILABLE
 * while the HSM fails), the old output file stays as it was and no
 * temporary file is left; a call past its deadline (held inside C_Sign)
 * ends with exit 4 and DEADLINE_EXCEEDED; and the test clock is refused
 * over RPC to a signetd started without SIGNETD_TEST_CLOCK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/lib/cli_run.h"
#include "tests/lib/p11fault_ctl.h"
#include "tests/lib/signetd_fixture.h"

extern char **environ;

#define OWNERS 60  /* A RRsets in the zone: several batches' worth */

static signetd_env D;
static signetd_zone Z;
static char conf_ns1[300];     /* client config, 20 s deadline */
static char conf_short[300];   /* client config, 0.3 s deadline */
static char zonefile[300];

/* Run the CLI with args (NULL-terminated); its stderr into err. The exit
 * status. */
static int cli_pid(sg_buf *err, const char *const *args, pid_t *child);

static int cli(sg_buf *err, const char *const *args)
{
	pid_t pid;
	return cli_pid(err, args, &pid);
}

/* cli, and the child's pid in *child. */
static int cli_pid(sg_buf *err, const char *const *args, pid_t *child)
{
	cli_run_io io = {.dir = D.dir, .err = err, .pid = child};
	return cli_run(&io, SIGNET_CLI, args);
}

static void client_conf(const char *path, const char *timeout)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "server 127.0.0.1:%d\nserver-name localhost\nca %s/ca.pem\n"
		 "cert %s/ns1.pem\nkey %s/ns1.key\ntimeout %s\n",
		 D.port, D.dir, D.dir, D.dir, timeout);
	assert_int_equal(sg_file_write_atomic(path, text, strlen(text), 0600), SIGNET_OK);
}

/* Names in D.dir that start with prefix, other than prefix itself. */
static int leftovers(const char *prefix)
{
	DIR *d = opendir(D.dir);
	assert_non_null(d);
	int n = 0;
	size_t len = strlen(prefix);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strncmp(e->d_name, prefix, len) == 0 && e->d_name[len] != '\0')
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	/* the test clock stays off: SET_CLOCK must be refused */
	unsetenv("SIGNETD_TEST_CLOCK");
	if (signetd_start(&D, NULL) != 0)
		return -1;
	signetd_add_zone(&D, "example.com.", 13, &Z);
	snprintf(conf_ns1, sizeof(conf_ns1), "%s/ns1.conf", D.dir);
	snprintf(conf_short, sizeof(conf_short), "%s/short.conf", D.dir);
	client_conf(conf_ns1, "20");
	client_conf(conf_short, "0.3");
	snprintf(zonefile, sizeof(zonefile), "%s/example.com.zone", D.dir);
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&z, "$ORIGIN example.com.\n$TTL 3600\n"
				       "@ SOA ns1 hostmaster 1 7200 3600 1209600 3600\n"
				       "@ NS ns1\nns1 A 192.0.2.1\n"), SIGNET_OK);
	for (int i = 0; i < OWNERS; i++)
		assert_int_equal(sg_buf_printf(&z, "h%d A 192.0.2.%d\n", i, 10 + i), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(zonefile, z.data, z.len, 0600), SIGNET_OK);
	sg_buf_free(&z);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

static int no_fault(void **state)
{
	(void)state;
	p11fault_set("");
	return 0;
}

/* The HSM fails after the first few signatures: sign-zone fails, names
 * the failures, and writes nothing: an old output stays byte for byte, a
 * new one is not made, no temporary file is left. Without the fault the
 * same command writes the zone (the check above is not vacuous). */
static void test_sign_zone_fault_writes_nothing(void **state)
{
	(void)state;
	char out[300], fresh[300];
	snprintf(out, sizeof(out), "%s/out.zone", D.dir);
	snprintf(fresh, sizeof(fresh), "%s/fresh.zone", D.dir);
	const char *old = "; the previous signed zone\n";
	assert_int_equal(sg_file_write_atomic(out, old, strlen(old), 0600), SIGNET_OK);
	unlink(fresh);

	sg_buf err = SG_BUF_INIT;
	p11fault_set("error=device skip=10");
	const char *a1[] = {"sign-zone", "--zone", "example.com.", "--in", zonefile, "--out", out,
			    "--config", conf_ns1, NULL};
	int rc = cli(&err, a1);
	long hits = p11fault_count(".hits");
	if (rc == SIGNET_EXIT_OK)
		fail_msg("sign-zone succeeded with the HSM failing (%ld faults)", hits);
	assert_true(hits >= 1);
	assert_non_null(strstr((char *)err.data, "UNAVAILABLE"));
	sg_buf o = SG_BUF_INIT;
	assert_int_equal(sg_file_read(out, 1 << 20, &o), SIGNET_OK);
	if (o.len != strlen(old) || memcmp(o.data, old, o.len) != 0)
		fail_msg("sign-zone changed %s although RRsets failed", out);
	sg_buf_free(&o);
	assert_int_equal(leftovers("out.zone"), 0);

	p11fault_set("error=device skip=10");
	const char *a2[] = {"sign-zone", "--zone", "example.com.", "--in", zonefile, "--out", fresh,
			    "--config", conf_ns1, NULL};
	assert_int_not_equal(cli(&err, a2), SIGNET_EXIT_OK);
	assert_true(p11fault_count(".hits") >= 1);
	assert_int_equal(access(fresh, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(leftovers("fresh.zone"), 0);

	p11fault_set("");
	rc = cli(&err, a1);
	if (rc != SIGNET_EXIT_OK)
		fail_msg("sign-zone without a fault: exit %d: %s", rc, (char *)err.data);
	assert_int_equal(sg_file_read(out, 1 << 24, &o), SIGNET_OK);
	assert_true(o.len > strlen(old));
	assert_non_null(memmem(o.data, o.len, "RRSIG", 5));
	sg_buf_free(&o);
	sg_buf_free(&err);
}

/* A call that cannot complete before the client's deadline (every C_Sign
 * is held until the test releases it, after the CLI has exited): exit 4
 * and DEADLINE_EXCEEDED. Whether the call got as far as C_Sign before its
 * deadline depends on the build's speed (a sanitized signetd may not);
 * either way only the deadline could end it. */
static void test_deadline_exit_4(void **state)
{
	(void)state;
	char out[300], in[300];
	snprintf(out, sizeof(out), "%s/deadline.zone", D.dir);
	snprintf(in, sizeof(in), "%s/deadline.in", D.dir);
	unlink(out);
	/* RRsets signetd has not signed before: its cache cannot answer */
	const char *text = "$ORIGIN example.com.\n$TTL 3600\n"
			   "@ SOA ns1 hostmaster 2 7200 3600 1209600 3600\n"
			   "@ NS ns1\nns1 A 192.0.2.1\nlate A 198.51.100.1\n";
	assert_int_equal(sg_file_write_atomic(in, text, strlen(text), 0600), SIGNET_OK);
	p11fault_set("hold");
	sg_buf err = SG_BUF_INIT;
	const char *args[] = {"sign-zone", "--zone", "example.com.", "--in", in, "--out",
			      out, "--config", conf_short, NULL};
	int rc = cli(&err, args);
	p11fault_release();
	if (rc != SIGNET_EXIT_CONNECT)
		fail_msg("sign-zone past its deadline: exit %d, not 4: %s", rc, (char *)err.data);
	assert_non_null(strstr((char *)err.data, "DEADLINE_EXCEEDED"));
	assert_int_equal(access(out, F_OK), -1);
	sg_buf_free(&err);
}

/* SET_CLOCK to a signetd started without SIGNETD_TEST_CLOCK=1:
 * FAILED_PRECONDITION, and the clock stays the system's (an RRSIG made
 * afterwards is dated around now, not at the time asked for). */
static void test_set_clock_refused(void **state)
{
	(void)state;
	Signet__V1__RolloverRequest rr = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	rr.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK;
	int64_t asked = (int64_t)time(NULL) + 400 * 86400;
	rr.time = asked;
	char det[256];
	grpc_status_code st = rpc_call_msg(D.admin, "Rollover", &rr.base, det, sizeof(det), NULL);
	if (st != GRPC_STATUS_FAILED_PRECONDITION)
		fail_msg("SET_CLOCK without the test switch: status %d (%s)", (int)st, det);
	assert_non_null(strstr(det, "SIGNETD_TEST_CLOCK"));
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com.", 7, 1, &st);
	assert_non_null(r);
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_from_rdata(&sig, r->results[0]->rrsig[0].data,
					      r->results[0]->rrsig[0].len), SIGNET_OK);
	int64_t now = (int64_t)time(NULL);
	assert_true((int64_t)sig.inception <= now && now < (int64_t)sig.expiration);
	assert_true((int64_t)sig.expiration < asked);
	signet__v1__sign_response__free_unpacked(r, NULL);
}

/* What p11fault counted for process pid: it opened sessions, and at its
 * last C_Finalize (the one at exit) had closed every one it opened since
 * the module was initialised: C_Finalize closing them for it counts as a
 * leak, and so does a token's C_CloseAllSessions closing more than that
 * token's login session. Earlier finalizes are reconnects after a fault, which tear the
 * module down with its sessions on purpose (their handles are dead). */
static void check_sessions(pid_t pid, const char *what)
{
	char path[160];
	p11fault_path(path, sizeof(path), ".sessions");
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	char want[32];
	snprintf(want, sizeof(want), "pid=%ld ", (long)pid);
	unsigned long opened = 0;
	int finalized = 0;
	char last[256] = "";
	unsigned long last_open = 0, last_opened = 0, last_closed = 0;
	for (char *line = strtok((char *)b.data, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		unsigned long o = 0, c = 0, left = 0, swept = 0, sweeps = 0;
		char at[16] = "";
		const char *p = strstr(line, " at=");
		assert_non_null(p);
		assert_int_equal(sscanf(p, " at=%15s opened=%lu closed=%lu open=%lu swept=%lu "
					"sweeps=%lu", at, &o, &c, &left, &swept, &sweeps), 6);
		/* A token's close sweeps its slot after the logout: its own
		 * login session may go that way, a forgotten one may not. */
		if (swept > sweeps)
			fail_msg("%s left %lu PKCS#11 sessions for the token's close to sweep: %s",
				 what, swept - sweeps, line);
		print_message("%s: %s\n", what, line);
		snprintf(last, sizeof(last), "%s", line);
		last_open = left;
		last_opened = o;
		last_closed = c;
		opened += o;
		finalized += strcmp(at, "finalize") == 0;
	}
	sg_buf_free(&b);
	if (!finalized)
		fail_msg("%s never finalized the PKCS#11 module", what);
	assert_true(opened > 0);
	if (!strstr(last, " at=finalize ") || last_open != 0 || last_closed != last_opened)
		fail_msg("%s left PKCS#11 sessions open: %s", what, last);
}

/* Every PKCS#11 session signet opens, it closes: signetd through start,
 * zone set-up, signing, faults and the reconnects they caused, and stop;
 * and `signet hsm test`. */
static void test_sessions_closed(void **state)
{
	(void)state;
	pid_t daemon = D.pid;
	signetd_stop_ok(&D);
	check_sessions(daemon, "signetd");

	char spec[420];
	snprintf(spec, sizeof(spec), "file:%s", D.pin_path);
	setenv("SIGNET_PKCS11_MODULE", getenv("SIGNET_SOFTHSM_MODULE"), 1);
	const char *args[] = {"hsm", "test", "--token", D.f->label, "--pin", spec, "--seconds",
			      "0.1", "--sessions", "2", NULL};
	sg_buf err = SG_BUF_INIT;
	pid_t pid = 0;
	int rc = cli_pid(&err, args, &pid);
	if (rc != SIGNET_EXIT_OK)
		fail_msg("signet hsm test: exit %d: %s", rc, (char *)err.data);
	sg_buf_free(&err);
	check_sessions(pid, "signet hsm test");
}

int main(void)
{
	if (p11fault_setup("signet-clifault") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sign_zone_fault_writes_nothing, no_fault),
		cmocka_unit_test_setup(test_deadline_exit_4, no_fault),
		cmocka_unit_test_setup(test_set_clock_refused, no_fault),
		cmocka_unit_test(test_sessions_closed),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	p11fault_cleanup();
	return rc;
}
