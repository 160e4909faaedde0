/* test_zoned_loop.c -- signet-zoned keeps serving while it signs: with its
 * worker held in the middle of a whole sign of a zone (the network to
 * signetd stalled by a relay the test controls, after the sign's first
 * calls went out), SOA queries over UDP and AXFRs of that zone (its last
 * signed version) and of another zone are answered at once; once the relay
 * goes on, the new version is served. Knot is the hidden primary, signetd
 * real on a SoftHSM2 token, kdig and ldns-verify-zone judge.
 *
 * Before the worker thread, zoned signed on its one event loop: the SOA
 * query here timed out. */
#include <setjmp.h>
#include <signal.h>
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

#include "tests/lib/signetd_fixture.h"

#define KEY_IN "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LWluLTAxMjM0NTY3"
#define KEY_OUT "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LW91dC0wMTIzNDU2"
#define NAMES 3000 /* of big.example: its chain's requests are far past the relay's limit */
#define TXT_NAMES 400
#define TXT_RRS 100
/* kdig's output as a zone file: comments and the TSIG RR out, by the type
 * field: an RRSIG's base64 holds "TSIG" now and then (in about one AXFR of
 * big.example in 30), and that line dropped made a whole transfer look
 * unsigned (ldns-verify-zone: no signatures). */
#define KDIG_CLEAN "grep -v -E '^;|\\sTSIG\\s'"

typedef struct env {
	signetd_env sd;
	char dir[300];
	int pport, zport, rport;
	pid_t knot, zoned, relay, slow;
} env;

static env E;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static const char *out1(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *out1(char *buf, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	buf[0] = 0;
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(buf, (int)cap, p))
		buf[0] = 0;
	while (fgetc(p) != EOF) {
	}
	pclose(p);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

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

/* Signal and reap; the wait status, -1 when it was not running. */
static int stop(pid_t *pid, int sig)
{
	int status = -1;
	if (*pid > 0) {
		kill(*pid, sig);
		waitpid(*pid, &status, 0);
	}
	*pid = 0;
	return status;
}

/* Wait for an event the test caused, at most 120 s (a broken run only). */
static bool wait_for(bool (*cond)(void *), void *arg)
{
	long end = signetd_now_ms() + 120000L;
	for (;;) {
		if (cond(arg))
			return true;
		if (signetd_now_ms() > end)
			return false;
		signetd_sleep_ms(100);
	}
}

/* The SOA serial zoned gives over UDP within `timeout` seconds, 0: none. */
static unsigned soa_serial(const char *zone, int timeout)
{
	char buf[512];
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 %s SOA +short +timeout=%d +retry=0 2>/dev/null"
	     " | awk '{print $3}'",
	     E.zport, zone, timeout);
	return (unsigned)strtoul(buf, NULL, 10);
}

typedef struct want {
	const char *zone;
	unsigned serial;
} want;

static bool serial_is(void *arg)
{
	want *w = arg;
	return soa_serial(w->zone, 2) == w->serial;
}

static bool exists(void *arg)
{
	struct stat st;
	return stat(arg, &st) == 0;
}

/* big.example at the primary: serial s, SOA minimum min, NAMES names. */
static void write_big(unsigned s, unsigned min)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/big.example.zone", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN big.example.\n$TTL 3600\n@ SOA ns1 h %u 3600 5 1209600 %u\n"
		   "@ NS ns1\nns1 A 192.0.2.1\n", s, min);
	for (int i = 0; i < NAMES; i++)
		fprintf(f, "h%d A 192.0.2.%d\n", i, i % 250 + 1);
	/* Large TXT sets, cheap to sign (a set is one RRSIG): an AXFR of
	 * about 10 MB, more than a socket's buffers hold, so a slow reader's
	 * transfer is still being made while the next version is signed. */
	char pad[241];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	for (int i = 0; i < TXT_NAMES; i++)
		for (int k = 0; k < TXT_RRS; k++)
			fprintf(f, "t%d TXT \"%03d%s\"\n", i, k, pad);
	fclose(f);
}

/* small.example at the primary: serial s, extra lines. */
static void write_small(unsigned s, const char *extra)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/small.example.zone", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN small.example.\n$TTL 3600\n@ SOA ns1 h %u 3600 5 1209600 300\n"
		   "@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n%s", s, extra);
	fclose(f);
}

static void write_configs(void)
{
	char p[400];
	sh("printf '%%s' '%s' > %s/in.key && printf '%%s' '%s' > %s/out.key && chmod 600 %s/*.key",
	   KEY_IN, E.dir, KEY_OUT, E.dir, E.dir);
	write_big(1, 300);
	write_small(7, "");
	FILE *f;
	snprintf(p, sizeof(p), "%s/knot.conf", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"server:\n  listen: 127.0.0.1@%d\n  rundir: %s\n"
		"control:\n  listen: %s/knot.sock\n"
		"database:\n  storage: %s/knotdb\n"
		"log:\n  - target: stderr\n    any: info\n"
		"key:\n  - id: xfr-in\n    algorithm: hmac-sha256\n    secret: %s\n"
		"remote:\n  - id: zoned\n    address: 127.0.0.1@%d\n    key: xfr-in\n"
		"acl:\n  - id: xfr\n    address: 127.0.0.1\n    key: xfr-in\n    action: transfer\n"
		"template:\n  - id: default\n    storage: %s\n    file: \"%%s.zone\"\n"
		"    zonefile-sync: -1\n    zonefile-load: difference\n    journal-content: changes\n"
		"zone:\n  - domain: big.example\n    notify: zoned\n    acl: xfr\n"
		"  - domain: small.example\n    notify: zoned\n    acl: xfr\n",
		E.pport, E.dir, E.dir, E.dir, KEY_IN, E.zport, E.dir);
	fclose(f);
	/* zoned reaches signetd through the relay. */
	snprintf(p, sizeof(p), "%s/client.conf", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"server 127.0.0.1:%d\nserver-name localhost\nca %s/ca.pem\ncert %s/ns1.pem\n"
		"key %s/ns1.key\n",
		E.rport, E.sd.dir, E.sd.dir, E.sd.dir);
	fclose(f);
	snprintf(p, sizeof(p), "%s/zoned.conf", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"listen = \"127.0.0.1:%d\";\nstate-dir = \"%s/state\";\n"
		"signetd = \"%s/client.conf\";\nkeyset-poll = 3600;\n"
		"keys = ( { name = \"xfr-in\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/in.key\"; },\n"
		"         { name = \"xfr-out\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/out.key\"; } );\n"
		"zones = (\n"
		"  { name = \"big.example\"; serial = \"keep\";\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); },\n"
		"  { name = \"small.example\"; serial = \"keep\";\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); } );\n",
		E.zport, E.dir, E.dir, E.dir, E.dir, E.pport, E.pport);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	if (signetd_start(&E.sd, NULL) != 0)
		return -1;
	signetd_zone z;
	signetd_add_zone(&E.sd, "big.example", DNS_ALG_ECDSAP256SHA256, &z);
	signetd_add_zone(&E.sd, "small.example", DNS_ALG_ECDSAP256SHA256, &z);
	snprintf(E.dir, sizeof(E.dir), "%s/zoned", E.sd.dir);
	sh("mkdir -p %s/state %s/knotdb %s/relay", E.dir, E.dir, E.dir);
	E.pport = signetd_free_port();
	E.zport = signetd_free_port();
	E.rport = signetd_free_port();
	write_configs();
	char conf[400], log[400], arg1[32], arg2[32], ctl[400], script[400], bin[400];
	snprintf(ctl, sizeof(ctl), "%s/relay", E.dir);
	snprintf(arg1, sizeof(arg1), "%d", E.rport);
	const char *colon = strrchr(E.sd.target, ':');
	snprintf(arg2, sizeof(arg2), "%s", colon ? colon + 1 : "0");
	snprintf(script, sizeof(script), "%s/relay.py", getenv("SIGNET_ZONED_TESTS"));
	snprintf(log, sizeof(log), "%s/relay.log", E.dir);
	char *rargv[] = {"/usr/bin/python3", script, arg1, arg2, ctl, NULL};
	E.relay = spawn(log, rargv);
	if (!signetd_wait_port(E.rport, E.relay, 10000, NULL))
		return -1;
	snprintf(conf, sizeof(conf), "%s/knot.conf", E.dir);
	snprintf(log, sizeof(log), "%s/knot.log", E.dir);
	char *kargv[] = {"/usr/sbin/knotd", "-c", conf, NULL};
	E.knot = spawn(log, kargv);
	if (!signetd_wait_port(E.pport, E.knot, 10000, NULL))
		return -1;
	snprintf(conf, sizeof(conf), "%s/zoned.conf", E.dir);
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	snprintf(bin, sizeof(bin), "%s/zoned/signet-zoned", getenv("SIGNET_BUILD_DIR"));
	char *zargv[] = {bin, "-c", conf, "-v", NULL};
	E.zoned = spawn(log, zargv);
	if (!signetd_wait_port(E.zport, E.zoned, 10000, NULL))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[400];
	/* A stalled relay would hold zoned's stop: let it go first. */
	snprintf(p, sizeof(p), "%s/relay/resume", E.dir);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
	/* zoned stops cleanly: its worker joined, nothing left (a sanitizer's
	 * report would make the exit status non-zero). */
	int st = stop(&E.zoned, SIGTERM);
	stop(&E.relay, SIGTERM);
	stop(&E.slow, SIGTERM);
	stop(&E.knot, SIGTERM);
	int ret = signetd_teardown(&E.sd) == 0 ? 0 : -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "signet-zoned ended with status %d\n", st);
		ret = -1;
	}
	return ret;
}

/* An AXFR of zone from zoned within 10 s: the serial of its first SOA,
 * 0 when it did not complete (the closing SOA) or has no RRSIG. */
static unsigned axfr_serial(const char *zone, const char *file)
{
	char buf[256];
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s %s AXFR +nocomments +nostats"
	     " +noquestion +timeout=10 +retry=0 2>&1 | " KDIG_CLEAN " > %s/%s;"
	     " grep -q RRSIG %s/%s && [ $(awk '$4 == \"SOA\"' %s/%s | wc -l) = 2 ] &&"
	     " awk '$4 == \"SOA\" {print $7; exit}' %s/%s",
	     E.zport, KEY_OUT, zone, E.dir, file, E.dir, file, E.dir, file, E.dir, file);
	return (unsigned)strtoul(buf, NULL, 10);
}

static void system_tail(const char *file)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "tail -n 8 %s/%s >&2", E.dir, file);
	if (system(cmd) != 0)
		fprintf(stderr, "(no %s)\n", file);
}

/* 1 if, after the first line of log holding `after`, a line holds both
 * a and b; 0 if not; -1 without such a first line. */
static int log_has_after(const char *log, const char *after, const char *a, const char *b)
{
	FILE *f = fopen(log, "r");
	if (f == NULL)
		return -1;
	char line[1024];
	int state = -1;
	while (fgets(line, sizeof(line), f)) {
		if (state < 0 && strstr(line, after))
			state = 0;
		else if (state == 0 && strstr(line, a) && strstr(line, b))
			state = 1;
	}
	fclose(f);
	return state;
}

static void test_serves_while_signing(void **state)
{
	(void)state;
	want b = {"big.example", 1}, s = {"small.example", 7};
	if (!wait_for(serial_is, &b) || !wait_for(serial_is, &s)) {
		/* What the servers said, for a failed run's log. */
		system_tail("knot.log");
		system_tail("zoned.log");
		fail_msg("the zones were not served");
	}
	/* The relay stalls after 64 KiB more from zoned: inside the requests
	 * of the sign (every chain record of big.example, a new TTL). */
	char p[400];
	snprintf(p, sizeof(p), "%s/relay/arm", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "65536\n");
	fclose(f);
	/* A new SOA minimum: every NSEC record's TTL moves, signed the whole
	 * way. */
	write_big(2, 600);
	sh("knotc -s %s/knot.sock zone-reload big.example >/dev/null", E.dir);
	snprintf(p, sizeof(p), "%s/relay/paused", E.dir);
	assert_true(wait_for(exists, p));
	/* The worker is inside the sign, waiting for signetd: the loop
	 * answers. Each within its kdig timeout (5 s for a SOA, 10 s for an
	 * AXFR); the sign does not end while the relay is stalled. */
	long t0 = signetd_now_ms();
	assert_int_equal(soa_serial("big.example", 5), 1);
	assert_int_equal(soa_serial("small.example", 5), 7);
	assert_int_equal(axfr_serial("big.example", "big1.zone"), 1);
	assert_int_equal(axfr_serial("small.example", "small.zone"), 7);
	long took = signetd_now_ms() - t0;
	print_message("answered in %ld ms while the sign was held\n", took);
	/* Still held: what was answered came from the last signed version. */
	char log[400];
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	assert_false(signetd_log_has(log, "big.example.: serial 2 signed"));
	sh("ldns-verify-zone %s/big1.zone >/dev/null", E.dir);
	/* Every RR of the transfer is one of the version zoned stored after
	 * signing it (written from a snapshot of its own, without a socket):
	 * none lost, doubled or changed on the way out in pieces. */
	sh("sed '$d' %s/big1.zone > %s/big1.body && ldns-read-zone -c %s/big1.body | sort >"
	   " %s/big1.sorted && ldns-read-zone -c %s/state/big.example.zone.signed | sort >"
	   " %s/stored1.sorted && cmp %s/big1.sorted %s/stored1.sorted >&2",
	   E.dir, E.dir, E.dir, E.dir, E.dir, E.dir, E.dir, E.dir);
	/* The relay goes on: the new version is served and validates. */
	snprintf(p, sizeof(p), "%s/relay/resume", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	want b2 = {"big.example", 2};
	assert_true(wait_for(serial_is, &b2));
	assert_int_equal(axfr_serial("big.example", "big2.zone"), 2);
	sh("ldns-verify-zone %s/big2.zone >/dev/null", E.dir);
	char buf[64];
	out1(buf, sizeof(buf), "awk '$4 == \"NSEC\" {print $2; exit}' %s/big2.zone", E.dir);
	assert_string_equal(buf, "600");
	/* A slow secondary's AXFR spread over a change: it gets the version
	 * it asked for whole (serial 2 at both ends, every RR of it), while
	 * serial 3 is signed and served meanwhile. */
	char ctl[400];
	snprintf(p, sizeof(p), "%s/slow.out", E.dir);
	{
		char port[16], script[400], zdir[400];
		snprintf(port, sizeof(port), "%d", E.zport);
		snprintf(script, sizeof(script), "%s/slow_axfr.py", getenv("SIGNET_ZONED_TESTS"));
		snprintf(zdir, sizeof(zdir), "%s/relay", E.dir);
		char *sargv[] = {"/usr/bin/python3", script, port, "xfr-out", KEY_OUT,
				 "big.example", zdir, NULL};
		E.slow = spawn(p, sargv);
	}
	snprintf(ctl, sizeof(ctl), "%s/relay/axfr-started", E.dir);
	assert_true(wait_for(exists, ctl));
	write_big(3, 600);
	{
		char extra[400];
		snprintf(extra, sizeof(extra), "%s/big.example.zone", E.dir);
		f = fopen(extra, "a");
		assert_non_null(f);
		fprintf(f, "late A 192.0.2.99\n");
		fclose(f);
	}
	sh("knotc -s %s/knot.sock zone-reload big.example >/dev/null", E.dir);
	want b3 = {"big.example", 3};
	assert_true(wait_for(serial_is, &b3));
	assert_true(signetd_log_has(log, "big.example.: serial 3 signed (IXFR)"));
	snprintf(ctl, sizeof(ctl), "%s/relay/axfr-go", E.dir);
	f = fopen(ctl, "w");
	assert_non_null(f);
	fclose(f);
	int st = 0;
	assert_true(waitpid(E.slow, &st, 0) == E.slow);
	E.slow = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	out1(buf, sizeof(buf), "cat %s/slow.out", E.dir);
	char want_line[64];
	out1(want_line, sizeof(want_line), "echo \"2 2 $(grep -c . %s/big2.zone)\"", E.dir);
	assert_string_equal(buf, want_line);
	/* zoned finished sending it after serial 3 was signed. */
	assert_int_equal(log_has_after(log, "serial 3 signed (IXFR)",
				       "big.example.: AXFR to 127.0.0.1", "sent whole"),
			 1);

	/* A change signed at its cost (IXFR, the version's entries shared
	 * with the one before), the worker held again (at its first call to
	 * signetd) while the loop answers queries of that zone: under
	 * ThreadSanitizer, what the two threads share is checked. */
	snprintf(ctl, sizeof(ctl), "%s/relay/resume", E.dir);
	assert_int_equal(unlink(ctl), 0);
	snprintf(ctl, sizeof(ctl), "%s/relay/paused", E.dir);
	assert_int_equal(unlink(ctl), 0);
	snprintf(ctl, sizeof(ctl), "%s/relay/arm", E.dir);
	f = fopen(ctl, "w");
	assert_non_null(f);
	fprintf(f, "0\n");
	fclose(f);
	write_small(8, "new A 192.0.2.3\n");
	sh("knotc -s %s/knot.sock zone-reload small.example >/dev/null", E.dir);
	snprintf(ctl, sizeof(ctl), "%s/relay/paused", E.dir);
	assert_true(wait_for(exists, ctl));
	assert_int_equal(soa_serial("small.example", 5), 7);
	assert_int_equal(axfr_serial("small.example", "small1.zone"), 7);
	snprintf(ctl, sizeof(ctl), "%s/relay/resume", E.dir);
	f = fopen(ctl, "w");
	assert_non_null(f);
	fclose(f);
	want s2 = {"small.example", 8};
	assert_true(wait_for(serial_is, &s2));
	assert_true(signetd_log_has(log, "small.example.: serial 8 signed (IXFR)"));
	assert_int_equal(axfr_serial("small.example", "small2.zone"), 8);
	sh("ldns-verify-zone %s/small2.zone >/dev/null", E.dir);
}

/* The filter of kdig's output keeps an RRSIG whose signature spells TSIG
 * and drops the TSIG RR (the last of each signed message). */
static void test_kdig_clean(void **state)
{
	(void)state;
	char buf[64];
	out1(buf, sizeof(buf),
	     "printf ';; x\\nxfr-out.\\t0\\tANY\\tTSIG\\thmac-sha256. 1 300 32 aTSIGb= 7 NOERROR 0\\n"
	     "h1.big.example.\\t3600\\tIN\\tRRSIG\\tA 13 3 3600 2 1 1 big.example. aTSIGb==\\n'"
	     " | " KDIG_CLEAN " | awk '{print $4}' | paste -sd, -");
	assert_string_equal(buf, "RRSIG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdig_clean),
		cmocka_unit_test(test_serves_while_signing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
