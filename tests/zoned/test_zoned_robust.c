/* test_zoned_robust.c -- signet-zoned under faults, in the environment of
 * test_zoned.c (zoned_env.c: Knot as the hidden primary, a real signetd,
 * NSD and Knot as secondaries, the fake primary of fake.example):
 *
 * - TSIG on the n-th message of a transfer in: a bad MAC on the second
 *   message, no TSIG on the last: refused, nothing changes, logged and
 *   counted; sparse TSIG (every 100th message signed) taken, and its
 *   faults (100 unsigned in a row, the last unsigned, a MAC that leaves out
 *   the unsigned messages, a stale time) refused; a transfer over max-size
 *   (octets) likewise; a transfer trickled past transfer-timeout is cut,
 *   and the next one taken; a journal file torn in its last record is
 *   reported at the restart, the records before it read;
 * - kill -9 of zoned during a transfer in (the fake primary holds the
 *   transfer open after its first message), during a re-sign (signetd's
 *   token is tests/p11fault, which holds C_Sign until released), and
 *   during a transfer out (a secondary that stops reading after the first
 *   message): each waits for the event that puts the kill inside the
 *   window, never a sleep; after the restart the serial continues, the
 *   secondaries catch up by IXFR and the zone validates;
 * - signetd stopped: zoned keeps serving, says so (log, metric) and catches
 *   up when it is back;
 * - time moves forward (signetd's SET_CLOCK and zoned's test clock): the
 *   RRSIGs are signed again with no change at the primary, the
 *   secondaries get the new serial by IXFR, and the zone validates at the
 *   moved time (ldns-verify-zone, and Unbound with val-override-date).
 *
 * The tests run in order; each leaves example.com served. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/p11fault_ctl.h"
#include "tests/zoned/zoned_env.h"

/* zoned's metric name{zone="zone"}, -1 when absent. */
static double zmetric(const char *zone, const char *name)
{
	static char resp[65536];
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	assert_true(signetd_http(E.mport, req, sizeof(req) - 1, resp, sizeof(resp)) > 0);
	const char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	char key[200];
	snprintf(key, sizeof(key), "%s{zone=\"%s\"}", name, zone);
	return signetd_metric(body, key);
}

static unsigned fake_serial(void)
{
	return soa_serial(E.zport, "fake.example");
}

/* Lines of the log file E.dir/name that contain needle. */
static int file_count(const char *name, const char *needle)
{
	char buf[64];
	out1(buf, sizeof(buf), "grep -c -F '%s' %s/%s 2>/dev/null", needle, E.dir, name);
	return atoi(buf);
}

typedef struct in_file {
	const char *name, *needle;
	int than;
} in_file;

static bool file_grew(void *arg)
{
	in_file *f = arg;
	return file_count(f->name, f->needle) > f->than;
}

static void notify_fake(void)
{
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-in:%s fake.example NOTIFY +timeout=2"
	   " >/dev/null", E.zport, KEY_IN);
}

/* Both secondaries serve example.com at serial s. */
static void secondaries_at(unsigned s)
{
	want n = {E.sport, s}, k = {E.kport, s};
	if (!wait_for(serial_is, &n, 30))
		fail_msg("NSD did not get serial %u (it has %u)", s, soa_serial(E.sport, "example.com"));
	if (!wait_for(serial_is, &k, 30))
		fail_msg("Knot did not get serial %u (it has %u)", s,
			 soa_serial(E.kport, "example.com"));
}

/* Both secondaries took from..to by IXFR: zoned answered two IXFRs for
 * it (one each: both ask from the same serial), and Knot says so in its
 * own log. */
static void secondaries_by_ixfr(unsigned from, unsigned to, int knot_ixfrs_before)
{
	char line[64];
	snprintf(line, sizeof(line), "from serial %u to %u", from, to);
	more m = {line, 1};
	if (!wait_for(log_grew, &m, 10))
		fail_msg("zoned did not answer both secondaries by IXFR %s (%d)", line,
			 log_count(line));
	assert_true(file_count("knot2.log", "IXFR, incoming") > knot_ixfrs_before);
}

static void restart_zoned(void)
{
	start_zoned();
	if (!signetd_wait_port(E.zport, E.zoned, 30000, NULL))
		fail_msg("signet-zoned did not start again");
}

static void test_first_transfer(void **state)
{
	(void)state;
	want w = {E.zport, 101};
	assert_true(wait_for(serial_is, &w, 20));
	check_axfr_validates();
	secondaries_at(101);
	assert_true(wait_for(zoned_logged, "fake.example.: serial", 20));
}

/* A transfer in whose second message has a MAC of another key, or whose
 * last message has no TSIG (RFC 8945 §5.3.1: the last must be signed):
 * refused, the version served stays, the reason is logged and counted. */
static void test_tsig_nth_message(void **state)
{
	(void)state;
	static const char *const modes[] = {"badsig2", "nosiglast"};
	for (size_t i = 0; i < 2; i++) {
		unsigned served = fake_serial();
		assert_true(served > 0);
		double failed = zmetric("fake.example.", "signet_zoned_transfers_in_failed_total");
		set_fake_mode(modes[i]);
		more m = {"fake.example.: AXFR from primary 1 refused: TSIG does not verify", 0};
		m.than = log_count(m.needle);
		notify_fake();
		if (!wait_for(log_grew, &m, 20))
			fail_msg("%s: no refusal logged", modes[i]);
		assert_int_equal(fake_serial(), served);
		/* The IXFR tried first and the AXFR after it: both counted. */
		assert_true(zmetric("fake.example.", "signet_zoned_transfers_in_failed_total") >=
			    failed + 2);
		assert_true(zmetric("fake.example.", "signet_zoned_last_transfer_in_ok") == 0);
	}
	set_fake_mode("good");
}

/* Sparse TSIG (RFC 8945 §5.3.1): a primary may leave up to 99 messages in
 * a row unsigned, the next MAC covering them. The fake primary sends the
 * zone in about 300 messages. Every 100th signed (99 unsigned between):
 * taken. Each fault refused with its reason logged and counted, the
 * version served unchanged: 100 unsigned in a row, the last message
 * unsigned, MACs that do not cover the unsigned messages before them, and
 * a signed message whose time is outside the fudge. */
static void test_tsig_sparse(void **state)
{
	(void)state;
	set_fake_mode("good");
	unsigned served = fake_serial();
	assert_true(served > 0);
	set_fake_mode("sparse 100");
	notify_fake();
	for (long end = signetd_now_ms() + 60000; dns_serial_compare(fake_serial(), served) != 1;
	     signetd_sleep_ms(100))
		if (signetd_now_ms() > end)
			fail_msg("a transfer signed every 100th message was not taken (serial %u)",
				 fake_serial());
	assert_true(zmetric("fake.example.", "signet_zoned_last_transfer_in_ok") == 1);

	static const struct {
		const char *mode, *why;
	} bad[] = {
	    {"sparse 101", "more than 99 in a row without TSIG"},
	    {"sparse 100 last", "the last message, 302, has none"},
	    {"sparse 100 mac", "TSIG does not verify (message 101)"},
	    {"sparse 100 time", "TSIG does not verify (message 101: its time is 100"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		served = fake_serial();
		double failed = zmetric("fake.example.", "signet_zoned_transfers_in_failed_total");
		set_fake_mode(bad[i].mode);
		more m = {bad[i].why, log_count(bad[i].why)};
		more refused = {"fake.example.: AXFR from primary 1 refused: TSIG does not verify",
				0};
		refused.than = log_count(refused.needle);
		notify_fake();
		if (!wait_for(log_grew, &refused, 30) || !wait_for(log_grew, &m, 5))
			fail_msg("%s: not refused with \"%s\"", bad[i].mode, bad[i].why);
		assert_int_equal(fake_serial(), served);
		assert_true(zmetric("fake.example.", "signet_zoned_transfers_in_failed_total") >=
			    failed + 2);
		assert_true(zmetric("fake.example.", "signet_zoned_last_transfer_in_ok") == 0);
	}
	set_fake_mode("good");
}

/* A primary that trickles a transfer (the fake primary sends one octet
 * every 0.5 s after its first message) past the zone's transfer-timeout
 * (4 s here): each attempt is cut at the bound ("took longer than the
 * bound"), counted, the version served unchanged; the next transfer, at a
 * normal pace, is taken. */
static void test_transfer_timeout(void **state)
{
	(void)state;
	set_fake_mode("good");
	unsigned served = fake_serial();
	assert_true(served > 0);
	E.fake_limits = "transfer-timeout = 4;";
	write_zoned_conf("big.example", "max-rrs = 10;");
	more hup = {"zoned: SIGHUP:", log_count("zoned: SIGHUP:")};
	kill(E.zoned, SIGHUP);
	assert_true(wait_for(log_grew, &hup, 20));
	double failed = zmetric("fake.example.", "signet_zoned_transfers_in_failed_total");
	set_fake_mode("trickle");
	more m = {"fake.example.: AXFR from primary 1 refused: took longer than the bound", 0};
	m.than = log_count(m.needle);
	long began = signetd_now_ms();
	notify_fake();
	if (!wait_for(log_grew, &m, 60))
		fail_msg("a trickled transfer was not cut at transfer-timeout");
	/* Cut at the bound, not at the end of the trickle (minutes). */
	assert_true(signetd_now_ms() - began >= 4000);
	assert_int_equal(fake_serial(), served);
	assert_true(zmetric("fake.example.", "signet_zoned_transfers_in_failed_total") >=
		    failed + 2);
	assert_true(zmetric("fake.example.", "signet_zoned_last_transfer_in_ok") == 0);
	set_fake_mode("good");
	notify_fake();
	for (long end = signetd_now_ms() + 60000; dns_serial_compare(fake_serial(), served) != 1;
	     signetd_sleep_ms(100))
		if (signetd_now_ms() > end)
			fail_msg("after a cut transfer the next one was not taken (serial %u)",
				 fake_serial());
	assert_true(zmetric("fake.example.", "signet_zoned_last_transfer_in_ok") == 1);
	E.fake_limits = NULL;
	write_zoned_conf("big.example", "max-rrs = 10;");
	hup.than = log_count(hup.needle);
	kill(E.zoned, SIGHUP);
	assert_true(wait_for(log_grew, &hup, 20));
}

/* The journal file torn in its last record (a kill -9 during an append):
 * the restart says so, reads the records before it, serves, and the next
 * transfer is taken (and the file written whole again). */
static void test_journal_torn_tail(void **state)
{
	(void)state;
	set_fake_mode("good");
	unsigned served = fake_serial();
	assert_true(served > 0);
	char jpath[400];
	snprintf(jpath, sizeof(jpath), "%s/state/fake.example.journal", E.dir);
	for (int i = 0; i < 2; i++) {
		unsigned was = fake_serial();
		notify_fake();
		for (long end = signetd_now_ms() + 60000; dns_serial_compare(fake_serial(), was) != 1;
		     signetd_sleep_ms(100))
			if (signetd_now_ms() > end)
				fail_msg("fake.example stayed at serial %u", fake_serial());
	}
	stop(&E.zoned, SIGKILL);
	sh("truncate -s -10 %s", jpath);
	more torn = {"fake.example.journal: a torn or damaged record at octet", 0};
	torn.than = log_count(torn.needle);
	more serving = {"fake.example.: serving serial", 0};
	serving.than = log_count(serving.needle);
	restart_zoned();
	if (!wait_for(log_grew, &torn, 20))
		fail_msg("the torn journal was not reported at start");
	if (!wait_for(log_grew, &serving, 20))
		fail_msg("fake.example was not served after the torn journal");
	unsigned now = fake_serial();
	assert_true(dns_serial_compare(now, served) == 1);
	notify_fake();
	for (long end = signetd_now_ms() + 60000; dns_serial_compare(fake_serial(), now) != 1;
	     signetd_sleep_ms(100))
		if (signetd_now_ms() > end)
			fail_msg("after the torn journal fake.example stayed at serial %u",
				 fake_serial());
	/* Written whole again: a start reads it without a word. */
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(jpath, 1 << 24, &b), SIGNET_OK);
	assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
	sg_buf_free(&b);
}

/* A transfer in larger than the zone's max-size (octets, the messages
 * as received) is refused: the zone is not served, the reason is logged
 * and counted. (test_zoned.c has the RR bound, max-rrs.) */
static void test_octet_bound(void **state)
{
	(void)state;
	double failed = zmetric("big.example.", "signet_zoned_transfers_in_failed_total");
	more m = {"big.example.: AXFR from primary 1 refused: larger than the bound", 0};
	m.than = log_count(m.needle);
	write_zoned_conf("big.example", "max-size = 1024;");
	kill(E.zoned, SIGHUP);
	if (!wait_for(log_grew, &m, 20))
		fail_msg("a transfer over max-size was not refused");
	assert_true(zmetric("big.example.", "signet_zoned_transfers_in_failed_total") > failed);
	assert_true(zmetric("big.example.", "signet_zoned_served") == 0);
	char buf[64];
	out1(buf, sizeof(buf), "kdig -p %d @127.0.0.1 big.example SOA 2>&1 | grep -o SERVFAIL",
	     E.zport);
	assert_string_equal(buf, "SERVFAIL");
}

/* kill -9 while the fake primary holds a transfer open after its first
 * message: the restart serves the stored version (the serial does not go
 * back), and the next transfer is taken. */
static void test_kill_during_transfer_in(void **state)
{
	(void)state;
	set_fake_mode("good");
	unsigned served = fake_serial();
	assert_true(served > 0);
	set_fake_mode("slow");
	in_file f = {"fake.log", "slow: first message sent", 0};
	f.than = file_count(f.name, f.needle);
	notify_fake();
	if (!wait_for(file_grew, &f, 20))
		fail_msg("the fake primary never began the slow transfer");
	stop(&E.zoned, SIGKILL);
	set_fake_mode("good");
	char line[128];
	snprintf(line, sizeof(line), "fake.example.: serving serial %u from", served);
	more m = {line, log_count(line)};
	restart_zoned();
	if (!wait_for(log_grew, &m, 10))
		fail_msg("the restart did not serve serial %u of fake.example", served);
	/* Then the fake primary's newer serial comes in whole. */
	for (long end = signetd_now_ms() + 90000; dns_serial_compare(fake_serial(), served) != 1;
	     signetd_sleep_ms(100))
		if (signetd_now_ms() > end)
			fail_msg("fake.example stayed at serial %u", fake_serial());
	/* example.com was not touched. */
	assert_int_equal(soa_serial(E.zport, "example.com"), 101);
}

/* kill -9 while a re-sign waits on signetd (its C_Sign held): the restart
 * serves the version before, the change is signed again after it with
 * the next serial, and both secondaries take it by IXFR. */
static void test_kill_during_resign(void **state)
{
	(void)state;
	assert_int_equal(soa_serial(E.zport, "example.com"), 101);
	int knot_ixfrs = file_count("knot2.log", "IXFR, incoming");
	p11fault_set("hold");
	write_primary(101, "held A 192.0.2.20\n");
	reload_primary();
	if (!p11fault_wait_held(1, 90000))
		fail_msg("zoned's re-sign never reached the HSM");
	stop(&E.zoned, SIGKILL);
	p11fault_set(""); /* the held call goes on; nobody waits for it */
	more m = {"example.com.: serving serial 101 from", 0};
	m.than = log_count(m.needle);
	restart_zoned();
	if (!wait_for(log_grew, &m, 10))
		fail_msg("the restart did not serve serial 101");
	want w = {E.zport, 102};
	assert_true(wait_for(serial_is, &w, 30));
	check_axfr_validates();
	sh("awk '$1 == \"held.example.com.\" && $4 == \"A\"' %s/axfr.zone | grep -q 192.0.2.20",
	   E.dir);
	secondaries_at(102);
	secondaries_by_ixfr(101, 102, knot_ixfrs);
}

/* kill -9 while a secondary is in the middle of an AXFR (it read the
 * first message and stopped reading): the restart serves the same serial,
 * a secondary behind gets it by IXFR, and the next change reaches both
 * secondaries by IXFR. */
static void test_kill_during_transfer_out(void **state)
{
	(void)state;
	/* A zone large enough for an AXFR of many messages. */
	size_t cap = 40 * 1600;
	char *names = malloc(cap);
	assert_non_null(names);
	size_t n = 0;
	for (int i = 0; i < 1500; i++)
		n += (size_t)snprintf(names + n, cap - n, "n%d A 192.0.2.%d\n", i, i % 250 + 1);
	int knot_ixfrs = file_count("knot2.log", "IXFR, incoming");
	write_primary(102, names);
	free(names);
	reload_primary();
	want w = {E.zport, 103};
	assert_true(wait_for(serial_is, &w, 60));
	secondaries_at(103);
	secondaries_by_ixfr(102, 103, knot_ixfrs);
	char script[400], log[400], port[16];
	snprintf(script, sizeof(script), "%s/slow_secondary.py", getenv("SIGNET_ZONED_TESTS"));
	snprintf(log, sizeof(log), "%s/slow.log", E.dir);
	snprintf(port, sizeof(port), "%d", E.zport);
	char *argv[] = {"/usr/bin/python3", script, port, "xfr-out", KEY_OUT, "example.com", NULL};
	in_file f = {"slow.log", "slow: first message read", 0};
	f.than = file_count(f.name, f.needle);
	pid_t slow = spawn(log, argv);
	if (!wait_for(file_grew, &f, 20)) {
		stop(&slow, SIGKILL);
		fail_msg("the slow secondary never read a first message");
	}
	stop(&E.zoned, SIGKILL);
	stop(&slow, SIGKILL);
	more m = {"example.com.: serving serial 103 from", 0};
	m.than = log_count(m.needle);
	restart_zoned();
	if (!wait_for(log_grew, &m, 10))
		fail_msg("the restart did not serve serial 103");
	assert_int_equal(soa_serial(E.zport, "example.com"), 103);
	check_axfr_validates();
	/* A secondary behind asks from 102: the journal kept that step. */
	more x = {"from serial 102 to 103", 0};
	x.than = log_count(x.needle);
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com IXFR=102 >/dev/null 2>&1",
	   E.zport, KEY_OUT);
	assert_true(wait_for(log_grew, &x, 5));
	knot_ixfrs = file_count("knot2.log", "IXFR, incoming");
	write_primary(103, "after-kill A 192.0.2.21\n");
	reload_primary();
	w.serial = 104;
	assert_true(wait_for(serial_is, &w, 60));
	secondaries_at(104);
	secondaries_by_ixfr(103, 104, knot_ixfrs);
	check_axfr_validates();
}

/* signetd stopped: the change cannot be signed; zoned keeps serving the
 * last version, says why in its log and metrics, retries, and signs the
 * change once signetd is back. */
static void test_signetd_down(void **state)
{
	(void)state;
	double failed = zmetric("example.com.", "signet_zoned_sign_failed_total");
	assert_int_equal(signetd_stop(&E.sd), 0);
	write_primary(104, "while-down A 192.0.2.22\n");
	reload_primary();
	more m = {"example.com.: GetKeySet: UNAVAILABLE; the last signed version stays served", 0};
	m.than = log_count(m.needle);
	assert_true(wait_for(log_grew, &m, 20));
	/* Retried at the SOA's retry interval (5 s): a second failure. */
	for (long end = signetd_now_ms() + 90000;
	     zmetric("example.com.", "signet_zoned_sign_failed_total") < failed + 2;
	     signetd_sleep_ms(200))
		if (signetd_now_ms() > end)
			fail_msg("zoned did not retry the signing");
	assert_int_equal(soa_serial(E.zport, "example.com"), 104);
	assert_true(zmetric("example.com.", "signet_zoned_served") == 1);
	check_axfr_validates();
	int knot_ixfrs = file_count("knot2.log", "IXFR, incoming");
	E.sd.pid = signetd_spawn(E.sd.conf, E.sd.log);
	signetd_wait_restarted(&E.sd);
	want w = {E.zport, 105};
	if (!wait_for(serial_is, &w, 60)) {
		sh("tail -40 %s/zoned.log >&2; tail -20 %s >&2", E.dir, E.sd.log);
		fail_msg("serial 105 not served 60 s after signetd came back");
	}
	secondaries_at(105);
	secondaries_by_ixfr(104, 105, knot_ixfrs);
	check_axfr_validates();
}

static void set_signetd_clock(int64_t t)
{
	Signet__V1__RolloverRequest r = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	r.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK;
	r.time = t;
	char det[512] = "";
	sg_buf resp = SG_BUF_INIT;
	grpc_status_code st = rpc_call_msg(E.sd.admin, "Rollover", &r.base, det, sizeof(det), &resp);
	sg_buf_free(&resp);
	if (st != GRPC_STATUS_OK)
		fail_msg("SET_CLOCK: status %d (%s)", st, det);
}

/* Both clocks, zoned's and signetd's, at the system's time + ahead. zoned
 * is stopped meanwhile, so that no key-set poll sees one clock moved and
 * not the other (signetd's first: a poll caught in the middle of its
 * GetKeySet then sees the key set of before and zoned's new time, and
 * sign() asks for the key set again before it signs). */
static void move_clocks(long ahead)
{
	int64_t t = (int64_t)time(NULL) + ahead;
	assert_int_equal(kill(E.zoned, SIGSTOP), 0);
	set_signetd_clock(t);
	sh("echo %lld > %s/clock.new && mv %s/clock.new %s/clock", (long long)t, E.dir,
	   E.dir, E.dir);
	E.ahead = ahead;
	assert_int_equal(kill(E.zoned, SIGCONT), 0);
}

/* The status and whether AD is set, as Unbound answers name/type. */
static void resolve(const char *qname, const char *type, char *buf, size_t len)
{
	out1(buf, len,
	     "kdig -p %d @127.0.0.1 %s %s +dnssec +timeout=3 2>&1 | awk '/status:/ {s=$6; gsub(/[;,]/, \"\", s)}"
	     " /^;; Flags:/ {f=$0} END {ad = (f ~ / ad/) ? \"AD\" : \"noAD\"; print s ad}'",
	     E.uport, qname, type);
}

/* Unbound through NSD, trusting the DS of the zone's KSK alone, checking
 * signatures at the test clocks' time. */
static void start_unbound(void)
{
	sh("awk '$4 == \"DNSKEY\" && $5 == 257' %s/axfr.zone > %s/ksk.key && test -s %s/ksk.key"
	   " && ldns-key2ds -n -2 %s/ksk.key > %s/trust.ds", E.dir, E.dir, E.dir, E.dir, E.dir);
	char when[32];
	time_t t = time(NULL) + E.ahead;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
	char p[400], log[400];
	snprintf(p, sizeof(p), "%s/unbound.conf", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"server:\n  interface: 127.0.0.1@%d\n  port: %d\n  do-daemonize: no\n"
		"  username: \"\"\n  chroot: \"\"\n  directory: \"%s\"\n  pidfile: \"%s/unbound.pid\"\n"
		"  use-syslog: no\n  verbosity: 1\n  val-log-level: 2\n  do-not-query-localhost: no\n"
		"  module-config: \"validator iterator\"\n  trust-anchor-file: \"%s/trust.ds\"\n"
		"  val-override-date: \"%s\"\n  access-control: 127.0.0.0/8 allow\n"
		"remote-control:\n  control-enable: no\n"
		"stub-zone:\n  name: \"example.com\"\n  stub-addr: 127.0.0.1@%d\n",
		E.uport, E.uport, E.dir, E.dir, E.dir, when, E.sport);
	fclose(f);
	snprintf(log, sizeof(log), "%s/unbound.log", E.dir);
	char *argv[] = {"/usr/sbin/unbound", "-d", "-c", p, NULL};
	E.unbound = spawn(log, argv);
	assert_true(signetd_wait_port(E.uport, E.unbound, 10000, NULL));
}

static void check_resolver(void)
{
	char buf[128];
	resolve("www.example.com", "A", buf, sizeof(buf));
	assert_string_equal(buf, "NOERRORAD");
	resolve("nothere.example.com", "A", buf, sizeof(buf));
	assert_string_equal(buf, "NXDOMAINAD");
}

/* The earliest expiration of the RRSIGs by the ZSK in zone file f (of
 * E.dir), as "YYYYMMDDhhmmss". */
static void earliest_zsk_rrsig(const char *f, char *buf, size_t len)
{
	out1(buf, len, "awk '$4 == \"RRSIG\" && $5 != \"DNSKEY\" {print $9}' %s/%s | sort | head -1",
	     E.dir, f);
	assert_int_equal(strlen(buf), 14);
}

/* example.com's RRSIGs are valid for 4 days (its policy here), and so are
 * its key-set periods (the KSK's RRSIGs). Three days and an hour on, every
 * RRSIG by the ZSK expires within a quarter of the validity, in the same
 * key-set period: without a change at the primary, zoned signs again (the
 * key set is the same), with a new serial; both secondaries take it by
 * IXFR, and it validates at the moved time, RRSIGs renewed. */
static void test_time_moves_forward(void **state)
{
	(void)state;
	E.ahead = 0;
	start_unbound();
	check_resolver();
	stop(&E.unbound, SIGTERM);
	sh("cp %s/axfr.zone %s/before.zone", E.dir, E.dir);
	unsigned before = soa_serial(E.zport, "example.com");
	int knot_ixfrs = file_count("knot2.log", "IXFR, incoming");
	more m = {"example.com.: serial", 0};
	m.than = log_count(m.needle);
	move_clocks(3L * 86400 + 3600);
	char refresh_at[32], old[32], now[32];
	time_t t = time(NULL) + E.ahead + 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(refresh_at, sizeof(refresh_at), "%Y%m%d%H%M%S", &tm);
	earliest_zsk_rrsig("before.zone", old, sizeof(old));
	assert_true(strcmp(old, refresh_at) < 0); /* stale at the moved time */
	char line[128];
	snprintf(line, sizeof(line), "example.com.: serial %u signed (RRSIGs near refresh)",
		 before + 1);
	if (!wait_for(log_grew, &m, 60) || !zoned_logged(line))
		fail_msg("zoned did not sign again when its RRSIGs neared their refresh");
	want w = {E.zport, before + 1};
	assert_true(wait_for(serial_is, &w, 60));
	assert_int_equal(E.serial, 104); /* the primary did not change */
	secondaries_at(before + 1);
	secondaries_by_ixfr(before, before + 1, knot_ixfrs);
	check_axfr_validates();
	earliest_zsk_rrsig("axfr.zone", now, sizeof(now));
	if (strcmp(now, refresh_at) <= 0)
		fail_msg("an RRSIG expiring at %s was not renewed", now);
	/* What the secondaries serve validates at the moved time. */
	start_unbound();
	check_resolver();
	stop(&E.unbound, SIGTERM);
}

/* Knot's copy of example.com (the secondary's, by AXFR) in E.dir/sec.zone,
 * accepted by ldns-verify-zone at the test clocks' time. */
static void secondary_copy_validates(void)
{
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com AXFR +nocomments +nostats"
	   " +noquestion 2>&1 | grep -v -E '^;|\\sTSIG\\s' > %s/sec.zone && ldns-verify-zone -t +%ld"
	   " %s/sec.zone >/dev/null", E.kport, KEY_OUT, E.dir, E.ahead, E.dir);
}

/* The key tags of the ZSK DNSKEYs of sec.zone, and of the RRSIGs over
 * everything but the key set, each sorted, blank-separated. */
static void zsk_tags(char *dnskeys, char *sigs, size_t len)
{
	out1(dnskeys, len, "awk '$4 == \"DNSKEY\" && $5 == 256' %s/sec.zone > %s/zsk.zone &&"
	     " ldns-read-zone %s/zsk.zone | grep -o 'id = [0-9]*' | awk '{print $3}' | sort -u"
	     " | xargs echo", E.dir, E.dir, E.dir);
	out1(sigs, len, "awk '$4 == \"RRSIG\" && $5 != \"DNSKEY\" {print $11}' %s/sec.zone"
	     " | sort -u | xargs echo", E.dir);
}

/* Move the clocks to ahead, wait for zoned to sign again, and for both
 * secondaries to take the new serial by IXFR; their copy validates then.
 * (Whether zoned's log says "key set changed" or "RRSIGs near refresh"
 * depends on where the move caught its poll; the content does not.) */
static void step_to(int64_t when)
{
	long ahead = (long)(when - (int64_t)time(NULL));
	unsigned before = soa_serial(E.zport, "example.com");
	int knot_ixfrs = file_count("knot2.log", "IXFR, incoming");
	move_clocks(ahead);
	char line[128];
	snprintf(line, sizeof(line), "example.com.: serial %u signed (", before + 1);
	if (!wait_for(zoned_logged, line, 60)) {
		sh("grep example.com %s/zoned.log | tail -12 >&2; tail -5 %s >&2", E.dir, E.sd.log);
		fail_msg("%ld s on: no \"%s\" in zoned's log", ahead, line);
	}
	secondaries_at(before + 1);
	secondaries_by_ixfr(before, before + 1, knot_ixfrs);
	secondary_copy_validates();
}

/* A ZSK rollover by pre-publication, as signetd plans it, reaches the
 * secondaries in its order: the successor's DNSKEY first while the old
 * key signs, then the successor signs while the old key stays published,
 * then the old key leaves with no RRSIG of it left. On the way a new
 * bundle (new KSK RRSIGs over the key set, GetKeySet polled) is taken up
 * at once. */
static void test_zsk_rollover(void **state)
{
	(void)state;
	char keys[256], sigs[256], old[256];
	secondary_copy_validates();
	zsk_tags(keys, sigs, sizeof(keys));
	if (strchr(keys, ' ') || strcmp(keys, sigs) != 0)
		fail_msg("before: ZSKs \"%s\", RRSIGs by \"%s\"", keys, sigs);
	snprintf(old, sizeof(old), "%s", keys);
	/* The second key-set period: the successor is published. (Times
	 * are from the RRSIGs and the key-set periods, not the time of day:
	 * signetd's validity windows start at whole quarters of the
	 * validity.) */
	int64_t t0 = (int64_t)time(NULL);
	step_to(t0 + 4L * 86400 + 3600);
	zsk_tags(keys, sigs, sizeof(keys));
	if (!strchr(keys, ' ') || strcmp(sigs, old) != 0)
		fail_msg("published: ZSKs \"%s\", RRSIGs by \"%s\" (old %s)", keys, sigs, old);
	/* Past the successor's activation, RRSIGs near their refresh are
	 * made by the successor; the old key is still published. */
	char exp[32];
	earliest_zsk_rrsig("sec.zone", exp, sizeof(exp));
	struct tm tm = {0};
	assert_int_equal(sscanf(exp, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec), 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t stale = (int64_t)timegm(&tm) - E.validity / 4 + 3600;
	int64_t t2 = t0 + 5L * 86400 + 6 * 3600; /* past the successor's activation */
	if (t2 < stale)
		t2 = stale;
	step_to(t2);
	zsk_tags(keys, sigs, sizeof(keys));
	if (!strchr(keys, ' ') || strcmp(sigs, old) == 0)
		fail_msg("active: ZSKs \"%s\", RRSIGs by \"%s\" (old %s)", keys, sigs, old);
	/* The ceremony's new bundle: the key set's RRSIGs change, and zoned
	 * takes them at its next poll into the version it has, signing only
	 * the SOA (its serial moves on) and walking no other set. */
	char before_ksk[64], after_ksk[64];
	out1(before_ksk, sizeof(before_ksk), "awk '$4 == \"RRSIG\" && $5 == \"DNSKEY\" {print $10}'"
	     " %s/sec.zone | sort -u | xargs echo", E.dir);
	unsigned serial = soa_serial(E.zport, "example.com");
	int knot_ixfrs = file_count("knot2.log", "IXFR, incoming");
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "example.com."), SIGNET_OK);
	signetd_renew_bundle(&E.sd, &apex, 14);
	char line[128];
	snprintf(line, sizeof(line), "example.com.: serial %u signed (new KSK RRSIGs): ", serial + 1);
	assert_true(wait_for(zoned_logged, line, 20));
	char sent[300];
	out1(sent, sizeof(sent), "grep -o 'serial %u signed (new KSK RRSIGs): .*' %s/zoned.log",
	     serial + 1, E.dir);
	if (strstr(sent, ", 1 sent in 1 calls") == NULL)
		fail_msg("new KSK RRSIGs: more than the SOA signed (%s)", sent);
	secondaries_at(serial + 1);
	secondaries_by_ixfr(serial, serial + 1, knot_ixfrs);
	secondary_copy_validates();
	out1(after_ksk, sizeof(after_ksk), "awk '$4 == \"RRSIG\" && $5 == \"DNSKEY\" {print $10}'"
	     " %s/sec.zone | sort -u | xargs echo", E.dir);
	if (strcmp(before_ksk, after_ksk) == 0)
		fail_msg("the key set's RRSIGs did not change with the new bundle (%s)", after_ksk);
	/* The new bundle (exported at t2) in its third period: the old key is
	 * gone, and so is every RRSIG of it. */
	step_to(t2 + 8L * 86400 + 3600);
	zsk_tags(keys, sigs, sizeof(keys));
	/* (With so short a lifetime the next successors are published by now.) */
	bool sigs_published = true;
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", sigs);
	for (char *save = NULL, *tag = strtok_r(copy, " ", &save); tag;
	     tag = strtok_r(NULL, " ", &save)) {
		char padded[300], tagp[64];
		snprintf(padded, sizeof(padded), " %s ", keys);
		snprintf(tagp, sizeof(tagp), " %s ", tag);
		sigs_published = sigs_published && strstr(padded, tagp) != NULL;
	}
	char oldp[300], keysp[300], sigsp[300];
	snprintf(oldp, sizeof(oldp), " %s ", old);
	snprintf(keysp, sizeof(keysp), " %s ", keys);
	snprintf(sigsp, sizeof(sigsp), " %s ", sigs);
	if (strstr(keysp, oldp) || strstr(sigsp, oldp) || !sigs_published || !sigs[0])
		fail_msg("removed: ZSKs \"%s\", RRSIGs by \"%s\" (old %s)", keys, sigs, old);
	start_unbound();
	check_resolver();
	stop(&E.unbound, SIGTERM);
}

/* zoned stops cleanly on SIGTERM: exit 0, which under ASan is also the
 * leak check of everything it did. */
static void test_clean_exit(void **state)
{
	(void)state;
	int st = stop(&E.zoned, SIGTERM);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "tail -40 %s/zoned.log >&2", E.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log)\n");
		fail_msg("signet-zoned did not exit 0 on SIGTERM (wait status %d)", st);
	}
}

static int teardown(void **state)
{
	int ret = zoned_env_teardown(state);
	p11fault_cleanup();
	return ret;
}

int main(void)
{
	/* signetd's token behind the fault module (held C_Sign calls), and
	 * its clock settable (Rollover SET_CLOCK). */
	if (p11fault_setup("signet-zoned-robust") != 0)
		return 1;
	setenv("SIGNETD_TEST_CLOCK", "1", 1);
	/* Four days of validity: key-set periods of four days, a quarter of
	 * them a day. The shortest ZSK lifetime that policy allows
	 * (Ipub 3 h + Iret 5 d 2 h): the successor is published and active
	 * inside the first bundle's 14 days. */
	E.validity = 4 * 86400;
	E.zsk_lifetime = 450000;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_transfer),
		cmocka_unit_test(test_tsig_nth_message),
		cmocka_unit_test(test_tsig_sparse),
		cmocka_unit_test(test_transfer_timeout),
		cmocka_unit_test(test_journal_torn_tail),
		cmocka_unit_test(test_octet_bound),
		cmocka_unit_test(test_kill_during_transfer_in),
		cmocka_unit_test(test_kill_during_resign),
		cmocka_unit_test(test_kill_during_transfer_out),
		cmocka_unit_test(test_signetd_down),
		cmocka_unit_test(test_time_moves_forward),
		cmocka_unit_test(test_zsk_rollover),
		cmocka_unit_test(test_clean_exit),
	};
	return cmocka_run_group_tests(tests, zoned_env_setup, teardown);
}
