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

#include "tests/zoned/zoned_env.h"

#define NAMES 3000 /* of big.example: its chain's requests are far past the relay's limit */
#define TXT_NAMES 400
#define TXT_RRS 100
/* kdig's output as a zone file: comments and the TSIG RR out, by the type
 * field: an RRSIG's base64 holds "TSIG" now and then (in about one AXFR of
 * big.example in 30), and that line dropped made a whole transfer look
 * unsigned (ldns-verify-zone: no signatures). */
#define KDIG_CLEAN "grep -v -E '^;|\\sTSIG\\s'"
/* How soon a zone not held must be served when another one's sign is
 * held: a refresh takes well under a second on an idle machine; the bound
 * is for a loaded one, and a held sign never ends before it. */
#define PROMPT_S 45

/* The SOA serial zoned gives over UDP within `timeout` seconds, 0: none. */
static unsigned zsoa(const char *zone, int timeout)
{
	char buf[512];
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 %s SOA +short +timeout=%d +retry=0 2>/dev/null"
	     " | awk '{print $3}'",
	     E.zport, zone, timeout);
	return (unsigned)strtoul(buf, NULL, 10);
}

typedef struct zwant {
	const char *zone;
	unsigned serial;
} zwant;

static bool zserial_is(void *arg)
{
	zwant *w = arg;
	return zsoa(w->zone, 2) == w->serial;
}

/* zone's serial is `serial` within `seconds`. */
static bool served_within(const char *zone, unsigned serial, int seconds)
{
	long end = signetd_now_ms() + seconds * 1000L;
	zwant w = {zone, serial};
	while (!zserial_is(&w))
		if (signetd_now_ms() > end)
			return false;
	return true;
}

static bool exists(void *arg)
{
	struct stat st;
	return stat(arg, &st) == 0;
}

/* A file in the relay's control directory made (content text) or gone. */
static void relay_ctl(const char *name, const char *text)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/relay/%s", E.dir, name);
	if (text == NULL) {
		unlink(p);
		return;
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Wait until the relay holds a connection (a worker's). */
static void relay_wait_paused(void)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/relay/paused", E.dir);
	assert_true(wait_for(exists, p, 30));
}

/* The relay goes on, and is ready to be armed again. */
static void relay_resume(void)
{
	relay_ctl("resume", "");
	char p[400];
	snprintf(p, sizeof(p), "%s/relay/arm", E.dir);
	for (long end = signetd_now_ms() + 30000; exists(p); signetd_sleep_ms(50))
		assert_true(signetd_now_ms() < end);
	relay_ctl("resume", NULL);
	relay_ctl("paused", NULL);
}

static void knot_reload(const char *zone)
{
	sh("knotc -s %s/knot.sock zone-reload %s >/dev/null", E.dir, zone);
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

/* A small zone at the primary (small.example, other.example): serial s,
 * extra lines. */
static void write_little(const char *zone, unsigned s, const char *extra)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/%s.zone", E.dir, zone);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 h %u 3600 5 1209600 300\n"
		   "@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n%s", zone, s, extra);
	fclose(f);
}

/* zoned's configuration: big.example (unless big is false) and, as the
 * second zone, small or other.example. With other (the SIGHUP's), the keys
 * come in the other order: a key moving in the file moves nothing of a
 * transfer in progress. The workers: SIGNET_TEST_ZONED_WORKERS, else 2
 * (zoned's default; SIGNET_TEST_ZONED_WORKERS=1 shows the tests of the pool
 * fail). */
static void write_zoned_with(bool big, const char *second)
{
	const char *workers = getenv("SIGNET_TEST_ZONED_WORKERS");
	char wline[64];
	snprintf(wline, sizeof(wline), "workers = %d;\n",
		 workers && workers[0] ? atoi(workers) : 2);
	char kin[400], kout[400];
	snprintf(kin, sizeof(kin),
		 "{ name = \"xfr-in\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/in.key\"; }",
		 E.dir);
	snprintf(kout, sizeof(kout),
		 "{ name = \"xfr-out\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/out.key\"; }",
		 E.dir);
	bool swap = strcmp(second, "small.example") != 0;
	char bigzone[300];
	snprintf(bigzone, sizeof(bigzone),
		 "  { name = \"big.example\"; serial = \"keep\";\n"
		 "    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		 "    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); },\n",
		 E.pport);
	char p[400];
	snprintf(p, sizeof(p), "%s/zoned.conf.tmp", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"listen = \"127.0.0.1:%d\";\nmetrics = \"127.0.0.1:%d\";\nstate-dir = \"%s/state\";\n"
		"signetd = \"%s/client.conf\";\nkeyset-poll = 3600;\n%s"
		"keys = ( %s,\n %s );\n"
		"zones = (\n%s"
		"  { name = \"%s\"; serial = \"keep\";\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); } );\n",
		E.zport, E.mport, E.dir, E.dir, wline, swap ? kout : kin, swap ? kin : kout,
		big ? bigzone : "", second, E.pport);
	fclose(f);
	sh("mv %s/zoned.conf.tmp %s/zoned.conf", E.dir, E.dir);
}

static void write_zoned(const char *second)
{
	write_zoned_with(true, second);
}

static void write_configs(void)
{
	char p[400];
	sh("printf '%%s' '%s' > %s/in.key && printf '%%s' '%s' > %s/out.key && chmod 600 %s/*.key",
	   KEY_IN, E.dir, KEY_OUT, E.dir, E.dir);
	write_big(1, 300);
	write_little("small.example", 7, "");
	write_little("other.example", 1, "");
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
		"  - domain: small.example\n    notify: zoned\n    acl: xfr\n"
		"  - domain: other.example\n    notify: zoned\n    acl: xfr\n",
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
	write_zoned("small.example");
}

static void start_loop_zoned(void)
{
	char conf[400], log[400], bin[400];
	snprintf(conf, sizeof(conf), "%s/zoned.conf", E.dir);
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	snprintf(bin, sizeof(bin), "%s/zoned/signet-zoned", getenv("SIGNET_BUILD_DIR"));
	char *zargv[] = {bin, "-c", conf, "-v", NULL};
	E.zoned = spawn(log, zargv);
}

static int setup(void **state)
{
	(void)state;
	if (signetd_start(&E.sd, NULL) != 0)
		return -1;
	signetd_zone z;
	signetd_add_zone(&E.sd, "big.example", DNS_ALG_ECDSAP256SHA256, &z);
	signetd_add_zone(&E.sd, "small.example", DNS_ALG_ECDSAP256SHA256, &z);
	signetd_add_zone(&E.sd, "other.example", DNS_ALG_ECDSAP256SHA256, &z);
	snprintf(E.dir, sizeof(E.dir), "%s/zoned", E.sd.dir);
	sh("mkdir -p %s/state %s/knotdb %s/relay", E.dir, E.dir, E.dir);
	E.pport = signetd_free_port();
	E.zport = signetd_free_port();
	E.rport = signetd_free_port();
	E.mport = signetd_free_port();
	write_configs();
	char conf[400], log[400], arg1[32], arg2[32], ctl[400], script[400];
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
	start_loop_zoned();
	if (!signetd_wait_port(E.zport, E.zoned, 10000, NULL))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* A stalled relay would hold zoned's stop: let it go first. */
	relay_ctl("resume", "");
	/* zoned stops cleanly: its workers joined, nothing left (a sanitizer's
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
	snprintf(cmd, sizeof(cmd), "tail -n 30 %s/%s >&2", E.dir, file);
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
	zwant b = {"big.example", 1}, s = {"small.example", 7};
	if (!wait_for(zserial_is, &b, 60) || !wait_for(zserial_is, &s, 60)) {
		/* What the servers said, for a failed run's log. */
		system_tail("knot.log");
		system_tail("zoned.log");
		fail_msg("the zones were not served");
	}
	/* The relay stalls the connection signing big.example after 64 KiB
	 * more from it: inside the requests of the sign (every chain record
	 * of big.example, a new TTL). */
	char p[400];
	FILE *f;
	relay_ctl("arm", "65536\n");
	/* A new SOA minimum: every NSEC record's TTL moves, signed the whole
	 * way. */
	write_big(2, 600);
	sh("knotc -s %s/knot.sock zone-reload big.example >/dev/null", E.dir);
	snprintf(p, sizeof(p), "%s/relay/paused", E.dir);
	assert_true(wait_for(exists, p, 30));
	/* The worker is inside the sign, waiting for signetd: the loop
	 * answers. Each within its kdig timeout (5 s for a SOA, 10 s for an
	 * AXFR); the sign does not end while the relay is stalled. */
	long t0 = signetd_now_ms();
	assert_int_equal(zsoa("big.example", 5), 1);
	assert_int_equal(zsoa("small.example", 5), 7);
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
	zwant b2 = {"big.example", 2};
	assert_true(wait_for(zserial_is, &b2, 60));
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
	assert_true(wait_for(exists, ctl, 30));
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
	zwant b3 = {"big.example", 3};
	assert_true(wait_for(zserial_is, &b3, 60));
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
	relay_ctl("arm", "0\n");
	write_little("small.example", 8, "new A 192.0.2.3\n");
	sh("knotc -s %s/knot.sock zone-reload small.example >/dev/null", E.dir);
	snprintf(ctl, sizeof(ctl), "%s/relay/paused", E.dir);
	assert_true(wait_for(exists, ctl, 30));
	assert_int_equal(zsoa("small.example", 5), 7);
	assert_int_equal(axfr_serial("small.example", "small1.zone"), 7);
	snprintf(ctl, sizeof(ctl), "%s/relay/resume", E.dir);
	f = fopen(ctl, "w");
	assert_non_null(f);
	fclose(f);
	zwant s2 = {"small.example", 8};
	assert_true(wait_for(zserial_is, &s2, 60));
	assert_true(signetd_log_has(log, "small.example.: serial 8 signed (IXFR)"));
	assert_int_equal(axfr_serial("small.example", "small2.zone"), 8);
	sh("ldns-verify-zone %s/small2.zone >/dev/null", E.dir);
}

/* The pool: with big.example's whole sign held on one worker (its
 * connection to signetd stalled), a change to small.example is NOTIFYed,
 * transferred, signed on another worker and served, and the held sign then
 * ends too. With one worker (SIGNET_TEST_ZONED_WORKERS=1) the change waits
 * behind the held sign and this fails. */
static void test_small_passes_big(void **state)
{
	(void)state;
	char log[400];
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	relay_resume();
	relay_ctl("arm", "65536\n");
	/* The SOA minimum back to 300: every NSEC record's TTL moves, signed
	 * the whole way. */
	write_big(4, 300);
	knot_reload("big.example");
	relay_wait_paused();
	assert_false(signetd_log_has(log, "big.example.: serial 4 signed"));
	write_little("small.example", 9, "new A 192.0.2.3\nnewer A 192.0.2.4\n");
	knot_reload("small.example");
	long t0 = signetd_now_ms();
	if (!served_within("small.example", 9, PROMPT_S)) {
		system_tail("zoned.log");
		fail_msg("small.example's change waited for big.example's sign");
	}
	print_message("small.example's change served in %ld ms while big.example's sign was held\n",
		      signetd_now_ms() - t0);
	assert_true(signetd_log_has(log, "small.example.: serial 9 signed (IXFR)"));
	/* Still held: big.example is served at its last version meanwhile. */
	assert_false(signetd_log_has(log, "big.example.: serial 4 signed"));
	assert_int_equal(zsoa("big.example", 5), 3);
	assert_int_equal(axfr_serial("small.example", "small9.zone"), 9);
	sh("ldns-verify-zone %s/small9.zone >/dev/null", E.dir);
	relay_resume();
	zwant b4 = {"big.example", 4};
	assert_true(wait_for(zserial_is, &b4, 60));
}

/* SIGHUP while big.example's sign is held and a slow secondary's AXFR of
 * it is in progress: small.example goes (REFUSED at once), other.example
 * comes (transferred, signed and served on another worker), the keys move
 * in the file; the AXFR goes on and ends whole, and the held sign ends
 * after. Before, SIGHUP waited for every job to end. */
static void test_sighup_while_busy(void **state)
{
	(void)state;
	char log[400], buf[256], p[400];
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	/* The version the slow secondary will get, for its count. */
	assert_int_equal(axfr_serial("big.example", "big4.zone"), 4);
	relay_ctl("axfr-started", NULL);
	relay_ctl("axfr-go", NULL);
	snprintf(p, sizeof(p), "%s/slow4.out", E.dir);
	{
		char port[16], script[400], zdir[400];
		snprintf(port, sizeof(port), "%d", E.zport);
		snprintf(script, sizeof(script), "%s/slow_axfr.py", getenv("SIGNET_ZONED_TESTS"));
		snprintf(zdir, sizeof(zdir), "%s/relay", E.dir);
		char *sargv[] = {"/usr/bin/python3", script, port, "xfr-out", KEY_OUT,
				 "big.example", zdir, NULL};
		E.slow = spawn(p, sargv);
	}
	snprintf(p, sizeof(p), "%s/relay/axfr-started", E.dir);
	assert_true(wait_for(exists, p, 30));
	relay_ctl("arm", "65536\n");
	write_big(5, 600);
	knot_reload("big.example");
	relay_wait_paused();
	write_zoned("other.example");
	kill(E.zoned, SIGHUP);
	assert_true(wait_for(zoned_logged, "SIGHUP: small.example. removed", 30));
	out1(buf, sizeof(buf), "kdig -p %d @127.0.0.1 small.example SOA 2>&1 | grep -o REFUSED",
	     E.zport);
	assert_string_equal(buf, "REFUSED");
	if (!served_within("other.example", 1, PROMPT_S)) {
		system_tail("zoned.log");
		fail_msg("other.example, added by SIGHUP, waited for big.example's sign");
	}
	assert_int_equal(axfr_serial("other.example", "other1.zone"), 1);
	sh("ldns-verify-zone %s/other1.zone >/dev/null", E.dir);
	/* big.example is still held; the transfer out of it still runs. */
	assert_false(signetd_log_has(log, "big.example.: serial 5 signed"));
	assert_int_equal(zsoa("big.example", 5), 4);
	int st = 0;
	assert_int_equal(waitpid(E.slow, &st, WNOHANG), 0); /* still reading */
	relay_resume();
	zwant b5 = {"big.example", 5};
	assert_true(wait_for(zserial_is, &b5, 60));
	relay_ctl("axfr-go", "");
	assert_true(waitpid(E.slow, &st, 0) == E.slow);
	E.slow = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	out1(buf, sizeof(buf), "cat %s/slow4.out", E.dir);
	char want_line[64];
	out1(want_line, sizeof(want_line), "echo \"4 4 $(grep -c . %s/big4.zone)\"", E.dir);
	assert_string_equal(buf, want_line);
}

/* big.example removed by a SIGHUP while its sign is held, and put back by
 * the next before the sign ends: the same zone goes on (its sign ends and
 * is served, a refresh follows), where a second zone was started beside
 * it, both writing big.example's state files. */
static void test_sighup_back_while_busy(void **state)
{
	(void)state;
	more gone = {"SIGHUP: big.example. removed", log_count("SIGHUP: big.example. removed")};
	relay_ctl("arm", "65536\n");
	write_big(6, 300); /* the SOA minimum moves: a whole sign */
	knot_reload("big.example");
	relay_wait_paused();
	write_zoned_with(false, "other.example");
	kill(E.zoned, SIGHUP);
	assert_true(wait_for(log_grew, &gone, 30));
	assert_int_equal(zsoa("big.example", 5), 0); /* REFUSED */
	write_zoned("other.example");
	kill(E.zoned, SIGHUP);
	assert_true(wait_for(zoned_logged, "SIGHUP: big.example. back", 30));
	assert_int_equal(log_count("SIGHUP: big.example. added"), 0);
	relay_resume();
	zwant b6 = {"big.example", 6};
	if (!wait_for(zserial_is, &b6, 60)) {
		system_tail("zoned.log");
		fail_msg("big.example, put back, did not serve serial 6");
	}
	assert_int_equal(log_count("big.example.: serial 6 signed"), 1);
	assert_int_equal(zsoa("other.example", 5), 1);
}

/* A restart serves the stored versions at once: the first SOA query and
 * AXFR after the port opens are answered with the stored serials, never
 * SERVFAIL (before, the zone answered SERVFAIL until a worker had read
 * its file). */
static void test_restart_serves_stored(void **state)
{
	(void)state;
	char log[400];
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	unsigned big = zsoa("big.example", 5);
	assert_true(big > 0);
	/* A small change of other.example: a journal step only. */
	write_little("other.example", 2, "added A 192.0.2.9\n");
	knot_reload("other.example");
	zwant o2 = {"other.example", 2};
	assert_true(wait_for(zserial_is, &o2, 30));
	int st = stop(&E.zoned, SIGTERM);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	start_loop_zoned();
	assert_true(signetd_wait_port(E.zport, E.zoned, 30000, NULL));
	/* One query each, with time to wait for the answer (reading
	 * big.example back takes a while): not a poll until it works. */
	char buf[256];
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 big.example SOA +timeout=60 +retry=0 2>&1"
	     " | grep -o -E 'status: [A-Z]+' | head -1",
	     E.zport);
	if (strcmp(buf, "status: NOERROR") != 0) {
		system_tail("zoned.log");
		fail_msg("the first SOA query after the restart: %s", buf);
	}
	assert_int_equal(zsoa("big.example", 60), big);
	assert_int_equal(axfr_serial("big.example", "big-restart.zone"), big);
	assert_int_equal(zsoa("other.example", 60), 2);
	assert_true(signetd_log_has(log, "zoned: ready: serving 2 zones"));
	/* The stop wrote other.example's version whole (its last change was a
	 * journal step only): the start read both back a block at a time,
	 * with nothing to replay, and kept the journal for IXFR out. */
	assert_true(zoned_logged("other.example.: serial 2 stored whole at the stop"));
	char line[600];
	snprintf(line, sizeof(line),
		 "big.example.: serving serial %u from %s/state/big.example.zone.signed and 0"
		 " journal steps after it, read a block at a time",
		 big, E.dir);
	assert_true(zoned_logged(line));
	assert_true(zoned_logged("other.example.: serving serial 2 from"));
	assert_int_equal(log_count("journal steps after it, read a block at a time"), 2);
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s other.example IXFR=1 +nocomments"
	     " 2>&1 | grep -c 'IN.SOA'",
	     E.zport, KEY_OUT);
	assert_int_equal(atoi(buf), 4); /* 2, 1, 2, 2: the step, not the zone */
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
		cmocka_unit_test(test_small_passes_big),
		cmocka_unit_test(test_sighup_while_busy),
		cmocka_unit_test(test_sighup_back_while_busy),
		cmocka_unit_test(test_restart_serves_stored),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
