/* test_zoned.c -- signet-zoned in the transfer path, on loopback with real
 * servers: Knot as the hidden primary (unsigned zone, TSIG, NOTIFY to
 * zoned), a real signetd on a SoftHSM2 token signing, NSD as a secondary
 * transferring from zoned with TSIG, kdig and ldns-verify-zone judging.
 *
 * One environment for the whole program; the tests run in order and each
 * leaves the zone served. The environment is zoned_env.c's. */
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

#include "tests/zoned/zoned_env.h"

static void test_first_transfer(void **state)
{
	(void)state;
	want w = {E.zport, 101};
	assert_true(wait_for(serial_is, &w, 20));
	check_axfr_validates();
	/* NSD, a secondary of another make, got it by transfer from zoned. */
	want s = {E.sport, 101};
	assert_true(wait_for(serial_is, &s, 20));
	want k = {E.kport, 101};
	assert_true(wait_for(serial_is, &k, 20));
}

static void test_change_travels(void **state)
{
	(void)state;
	write_primary(101, "new A 192.0.2.9\n*.wild TXT \"w\"\nsub NS ns.sub\nns.sub A 192.0.2.10\n");
	reload_primary();
	want w = {E.zport, 102};
	assert_true(wait_for(serial_is, &w, 20));
	assert_true(zoned_logged("zoned: example.com.: NOTIFY from 127.0.0.1"));
	check_axfr_validates();
	/* Only what changed was signed again. */
	assert_true(zoned_logged("serial 101 signed (AXFR)"));
	assert_true(zoned_logged("serial 102 signed (IXFR)"));
	want s = {E.sport, 102};
	assert_true(wait_for(serial_is, &s, 20));
	want k = {E.kport, 102};
	assert_true(wait_for(serial_is, &k, 20));
	/* Both came by IXFR, from the journal. */
	assert_true(zoned_logged("IXFR to 127.0.0.1"));
	assert_true(zoned_logged("from serial 101 to 102"));
	char log[400];
	snprintf(log, sizeof(log), "%s/knot2.log", E.dir);
	assert_true(signetd_log_has(log, "IXFR, incoming"));
	/* What an IXFR from 101 gives, applied by kdig's reader, validates:
	 * checked by the secondary's copy, which Knot verified as it went. */
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com AXFR +nocomments +nostats"
	   " +noquestion 2>&1 | grep -v -E '^;|\\sTSIG\\s' > %s/k2axfr.zone && ldns-verify-zone"
	   " %s/k2axfr.zone >/dev/null", E.kport, KEY_OUT, E.dir, E.dir);
}

/* The status and whether AD is set, as Unbound answers name/type. */
static void resolve(const char *qname, const char *type, char *buf, size_t len)
{
	out1(buf, len,
	     "kdig -p %d @127.0.0.1 %s %s +dnssec +timeout=3 2>&1 | awk '/status:/ {s=$6; gsub(/[;,]/, \"\", s)}"
	     " /^;; Flags:/ {f=$0} END {ad = (f ~ / ad/) ? \"AD\" : \"noAD\"; print s ad}'",
	     E.uport, qname, type);
}

/* Unbound, whose only trust anchor is the DS of the zone's KSK, validates
 * what NSD got from zoned: answers, the wildcard, the delegation, and
 * NXDOMAIN all carry AD. */
static void test_unbound_validates(void **state)
{
	(void)state;
	check_axfr_validates();
	sh("awk '$4 == \"DNSKEY\" && $5 == 257' %s/axfr.zone > %s/ksk.key && test -s %s/ksk.key"
	   " && ldns-key2ds -n -2 %s/ksk.key > %s/trust.ds", E.dir, E.dir, E.dir, E.dir, E.dir);
	char p[400], log[400];
	snprintf(p, sizeof(p), "%s/unbound.conf", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"server:\n  interface: 127.0.0.1@%d\n  port: %d\n  do-daemonize: no\n"
		"  username: \"\"\n  chroot: \"\"\n  directory: \"%s\"\n  pidfile: \"%s/unbound.pid\"\n"
		"  use-syslog: no\n  verbosity: 1\n  val-log-level: 2\n  do-not-query-localhost: no\n"
		"  module-config: \"validator iterator\"\n  trust-anchor-file: \"%s/trust.ds\"\n"
		"  access-control: 127.0.0.0/8 allow\n"
		"remote-control:\n  control-enable: no\n"
		"stub-zone:\n  name: \"example.com\"\n  stub-addr: 127.0.0.1@%d\n",
		E.uport, E.uport, E.dir, E.dir, E.dir, E.sport);
	fclose(f);
	snprintf(log, sizeof(log), "%s/unbound.log", E.dir);
	char *argv[] = {"/usr/sbin/unbound", "-d", "-c", p, NULL};
	E.unbound = spawn(log, argv);
	assert_true(signetd_wait_port(E.uport, E.unbound, 10000, NULL));
	char buf[128];
	resolve("new.example.com", "A", buf, sizeof(buf));
	assert_string_equal(buf, "NOERRORAD");
	resolve("x.wild.example.com", "TXT", buf, sizeof(buf));
	assert_string_equal(buf, "NOERRORAD");
	resolve("nothere.example.com", "A", buf, sizeof(buf));
	assert_string_equal(buf, "NXDOMAINAD");
	resolve("www.example.com", "AAAA", buf, sizeof(buf));
	assert_string_equal(buf, "NOERRORAD");  /* NODATA, proven */
	/* The delegation is proven unsigned: no DS, with AD. */
	resolve("sub.example.com", "DS", buf, sizeof(buf));
	assert_string_equal(buf, "NOERRORAD");
}

static void test_refused(void **state)
{
	(void)state;
	char buf[512];
	/* No TSIG, the wrong key, an address outside the range. */
	out1(buf, sizeof(buf), "kdig -p %d @127.0.0.1 example.com AXFR 2>&1 | grep -o REFUSED",
	     E.zport);
	assert_string_equal(buf, "REFUSED");
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com AXFR 2>&1"
	     " | grep -o -E 'NOTAUTH|BADSIG|failed'", E.zport, KEY_BAD);
	assert_true(buf[0] != 0);
	out1(buf, sizeof(buf),
	     "kdig -b 127.0.0.2 -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com AXFR 2>&1"
	     " | grep -o REFUSED", E.zport, KEY_OUT);
	assert_string_equal(buf, "REFUSED");
	/* Another zone, another type. */
	out1(buf, sizeof(buf), "kdig -p %d @127.0.0.1 example.org SOA 2>&1 | grep -o REFUSED",
	     E.zport);
	assert_string_equal(buf, "REFUSED");
	out1(buf, sizeof(buf), "kdig -p %d @127.0.0.1 www.example.com A 2>&1 | grep -o REFUSED",
	     E.zport);
	assert_string_equal(buf, "REFUSED");
	/* A NOTIFY flood from an address that is not a primary, and unsigned
	 * ones from the primary's: refused, and zoned still answers. */
	sh("for i in $(seq 1 200); do kdig -b 127.0.0.3 -p %d @127.0.0.1 example.com NOTIFY"
	   " +timeout=1 +retry=0 >/dev/null 2>&1 & done; wait", E.zport);
	assert_true(zoned_logged("NOTIFY from an address that is not a primary"));
	assert_int_equal(soa_serial(E.zport, "example.com"), 102);
	check_axfr_validates();
}

/* Transfers that are cut short, carry a malformed RR, end with another
 * serial, or whose TSIG is wrong or missing change nothing: the version
 * served stays, and each reason is logged. */
static void test_bad_transfers(void **state)
{
	(void)state;
	assert_true(wait_for(zoned_logged, "fake.example.: serial", 20));
	unsigned served = soa_serial(E.zport, "fake.example");
	assert_true(served > 0);
	static const struct {
		const char *mode, *says;
	} bad[] = {
		{"truncated", "malformed or cut short"}, {"malformed", "does not parse"},
		{"mismatch", "malformed transfer"}, {"badsig", "TSIG does not verify"},
		{"nosig", "TSIG does not verify"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_fake_mode(bad[i].mode);
		more m = {"fake.example.: AXFR from primary 1 refused", 0};
		m.than = log_count(m.needle);
		int says = log_count(bad[i].says);
		sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-in:%s fake.example NOTIFY +timeout=2"
		   " >/dev/null", E.zport, KEY_IN);
		if (!wait_for(log_grew, &m, 20))
			fail_msg("%s: no refusal logged", bad[i].mode);
		if (log_count(bad[i].says) <= says) {
			char line[512];
			out1(line, sizeof(line), "grep -F '%s' %s/zoned.log | tail -1", m.needle,
			     E.dir);
			fail_msg("%s: refused, but not for '%s': %s", bad[i].mode, bad[i].says, line);
		}
		assert_int_equal(soa_serial(E.zport, "fake.example"), served);
	}
	/* A good transfer after all that is taken. */
	set_fake_mode("good");
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-in:%s fake.example NOTIFY +timeout=2"
	   " >/dev/null", E.zport, KEY_IN);
	want w = {E.zport, 0};
	for (int i = 0; i < 100 && soa_serial(E.zport, "fake.example") == served; i++)
		signetd_sleep_ms(100);
	w.serial = soa_serial(E.zport, "fake.example");
	assert_true(dns_serial_compare(w.serial, served) == 1);
}

/* The metrics say what happened so far, per zone. */
static void test_metrics(void **state)
{
	(void)state;
	static char resp[65536];
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	assert_true(signetd_http(E.mport, req, sizeof(req) - 1, resp, sizeof(resp)) > 0);
	assert_non_null(strstr(resp, "200 OK"));
	const char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	assert_true(signetd_metric(body, "signet_zoned_serial_out{zone=\"example.com.\"}") == 102);
	assert_true(signetd_metric(body, "signet_zoned_serial_in{zone=\"example.com.\"}") == 101);
	assert_true(signetd_metric(body, "signet_zoned_served{zone=\"example.com.\"}") == 1);
	assert_true(signetd_metric(body, "signet_zoned_served{zone=\"big.example.\"}") == 0);
	assert_true(signetd_metric(body, "signet_zoned_transfers_in_failed_total{zone=\"big.example.\"}")
		    >= 1);
	assert_true(signetd_metric(body, "signet_zoned_refused_total{zone=\"example.com.\"}") >= 3);
	assert_true(signetd_metric(body, "signet_zoned_rrsigs_reused_total{zone=\"example.com.\"}") > 0);
	assert_true(signetd_metric(body, "signet_zoned_earliest_rrsig_expiry_seconds{zone=\"example.com.\"}")
		    > (double)time(NULL));
	/* Anything but GET /metrics is refused. */
	const char post[] = "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
	assert_true(signetd_http(E.mport, post, sizeof(post) - 1, resp, sizeof(resp)) > 0);
	assert_null(strstr(resp, "200 OK"));
}

static void test_oversized_transfer(void **state)
{
	(void)state;
	assert_true(wait_for(zoned_logged, "big.example.: AXFR from primary 1 refused: more RRs"
					   " than max-rrs", 20));
	char buf[512];
	out1(buf, sizeof(buf), "kdig -p %d @127.0.0.1 big.example SOA 2>&1 | grep -o SERVFAIL",
	     E.zport);
	assert_string_equal(buf, "SERVFAIL");
}

static void test_serial_backwards(void **state)
{
	(void)state;
	char buf[512];
	assert_true(wait_for(zoned_logged, "back.example.: serial 11 signed (AXFR)", 20));
	write_back(5);
	sh("knotc -s %s/knot.sock zone-reload back.example >/dev/null", E.dir);
	assert_true(wait_for(zoned_logged, "back.example.: the primary's serial 5 is behind 10", 20));
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s back.example SOA +short"
	     " | awk '{print $3}'", E.zport, KEY_OUT);
	assert_string_equal(buf, "11");
}

/* kill -9, then a restart serves the stored version at once, and the
 * serial continues from it. */
static void test_kill9_restart(void **state)
{
	(void)state;
	assert_int_equal(soa_serial(E.zport, "example.com"), 102);
	static const char axfr[] =
		"kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com AXFR +nocomments"
		" +nostats +noquestion 2>&1 | grep -v -E '^;|\\sTSIG\\s' | sort > %s/%s";
	sh(axfr, E.zport, KEY_OUT, E.dir, "kill9-before.zone");
	stop(&E.zoned, SIGKILL);
	start_zoned();
	assert_true(signetd_wait_port(E.zport, E.zoned, 10000, NULL));
	want w = {E.zport, 102};
	assert_true(wait_for(serial_is, &w, 2));
	/* The step replayed as the stored zone streamed past: the version
	 * served is the one served before, RR for RR. */
	sh(axfr, E.zport, KEY_OUT, E.dir, "kill9-after.zone");
	sh("grep -q RRSIG %s/kill9-after.zone && cmp -s %s/kill9-before.zone %s/kill9-after.zone",
	   E.dir, E.dir, E.dir);
	assert_true(zoned_logged("and 1 journal steps after it, read a block at a time"));
	assert_true(zoned_logged("example.com.: serving serial 102 from"));
	/* The change to 102 was stored as a journal step only (its cost is
	 * the change's): the restart replays it onto the zone file of 101. */
	assert_true(zoned_logged("and 1 journal steps after it"));
	assert_true(zoned_logged("example.com.: journal of 1 steps read"));
	check_axfr_validates();
	/* The stored journal still answers a secondary behind by IXFR. */
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com IXFR=101 >/dev/null 2>&1",
	   E.zport, KEY_OUT);
	assert_true(wait_for(zoned_logged, "from serial 101 to 102", 5));
	assert_int_equal(log_count("from serial 101 to 102"), 3);  /* NSD, Knot, now kdig */
	write_primary(102, "after-restart A 192.0.2.12\n");
	reload_primary();
	w.serial = 103;
	assert_true(wait_for(serial_is, &w, 20));
	check_axfr_validates();
}

/* zoned's metric without a label, -1 when it is not there. */
static double global_metric(const char *name)
{
	static char resp[65536];
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	assert_true(signetd_http(E.mport, req, sizeof(req) - 1, resp, sizeof(resp)) > 0);
	const char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	return signetd_metric(body, name);
}

static bool signetd_up_is(void *arg)
{
	return global_metric("signet_zoned_signetd_up") == *(double *)arg;
}

/* signetd stopped: the last versions stay served, the metrics say signetd
 * is down, and the log says so once, not once per zone and key-set poll
 * (every 2 s here); back, once more, and the change is signed. */
static void test_signetd_down(void **state)
{
	(void)state;
	double up = 1, down = 0;
	assert_true(signetd_up_is(&up));
	assert_true(global_metric("signet_zoned_signetd_last_ok_seconds") > 0);
	int warned = log_count("warning: zoned: example.com.: GetKeySet");
	int st = signetd_stop(&E.sd);
	assert_int_equal(st, 0);
	write_primary(103, "while-down A 192.0.2.11\n");
	reload_primary();
	assert_true(wait_for(zoned_logged, "the last signed version stays served", 20));
	assert_int_equal(soa_serial(E.zport, "example.com"), 103);
	check_axfr_validates();
	assert_true(wait_for(signetd_up_is, &down, 10));
	/* Key-set polls of the three zones served fail meanwhile (logged at
	 * info): two rounds of them at least. */
	more m = {"GetKeySet: UNAVAILABLE; retrying at the next poll",
		  log_count("GetKeySet: UNAVAILABLE; retrying at the next poll") + 6};
	assert_true(wait_for(log_grew, &m, 20));
	assert_int_equal(log_count("zoned: signetd unreachable"), 1);
	assert_int_equal(log_count("warning: zoned: example.com.: GetKeySet"), warned);
	long back = (long)time(NULL);
	E.sd.pid = signetd_spawn(E.sd.conf, E.sd.log);
	assert_true(signetd_wait_port(E.sd.port, E.sd.pid, 10000, NULL));
	/* The retry (the SOA's 5 s) transfers and signs again. */
	want w = {E.zport, 104};
	if (!wait_for(serial_is, &w, 30)) {
		sh("tail -40 %s/zoned.log >&2; tail -20 %s >&2", E.dir, E.sd.log);
		fail_msg("serial 104 not served after signetd came back");
	}
	check_axfr_validates();
	assert_true(signetd_up_is(&up));
	assert_true(global_metric("signet_zoned_signetd_last_ok_seconds") >= (double)back);
	assert_int_equal(log_count("zoned: signetd answers again"), 1);
	assert_int_equal(log_count("zoned: signetd unreachable"), 1);
}

/* SIGHUP: a zone removed is no longer answered, one added is transferred
 * and signed, the others go on; a broken file changes nothing. */
static void test_sighup(void **state)
{
	(void)state;
	char buf[512];
	write_zoned_conf("late.example", "");
	kill(E.zoned, SIGHUP);
	assert_true(wait_for(zoned_logged, "SIGHUP: big.example. removed", 10));
	assert_true(wait_for(zoned_logged, "late.example.: serial", 20));
	out1(buf, sizeof(buf), "kdig -p %d @127.0.0.1 big.example SOA 2>&1 | grep -o REFUSED",
	     E.zport);
	assert_string_equal(buf, "REFUSED");
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s late.example AXFR +nocomments"
	     " 2>&1 | grep -c RRSIG", E.zport, KEY_OUT);
	assert_true(atoi(buf) > 0);
	assert_int_equal(soa_serial(E.zport, "example.com"), 104);
	char p[400];
	snprintf(p, sizeof(p), "%s/zoned.conf", E.dir);
	FILE *f = fopen(p, "a");
	assert_non_null(f);
	fputs("colour = \"blue\";\n", f);
	fclose(f);
	kill(E.zoned, SIGHUP);
	assert_true(wait_for(zoned_logged, "keeping the running configuration", 10));
	assert_int_equal(soa_serial(E.zport, "late.example"), 8);
	/* The new keys are the ones in use (the key names are the same). */
	check_axfr_validates();
}

/* zoned's metric name{zone="example.com."}. */
static double zone_metric(const char *name)
{
	static char resp[65536];
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	assert_true(signetd_http(E.mport, req, sizeof(req) - 1, resp, sizeof(resp)) > 0);
	const char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	char key[200];
	snprintf(key, sizeof(key), "%s{zone=\"example.com.\"}", name);
	return signetd_metric(body, key);
}

/* The zone served, by AXFR, without RRSIGs and the SOA: what two signs of
 * one version must share. */
static void axfr_content(const char *file)
{
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com AXFR +nocomments"
	   " +nostats +noquestion 2>&1 | grep -v -E '^;|\\sTSIG\\s' > %s/%s.zone && awk '$4 != \"RRSIG\""
	   " && $4 != \"SOA\"' %s/%s.zone | sort > %s/%s.content",
	   E.zport, KEY_OUT, E.dir, file, E.dir, file, E.dir, file);
}

/* An IXFR of k changes into a zone of a thousand names costs O(k) RRsets
 * sent to signetd (the metric), and the result is what a whole sign of
 * the same version gives, accepted by three validators. */
static void test_change_cost(void **state)
{
	(void)state;
	size_t cap = 40 * 1100;
	char *names = malloc(cap), *changed = malloc(cap);
	assert_non_null(names);
	assert_non_null(changed);
	size_t n = 0, m = 0;
	for (int i = 0; i < 1000; i++) {
		n += (size_t)snprintf(names + n, cap - n, "h%d A 192.0.2.%d\n", i, i % 250 + 1);
		/* k = 5: three addresses change, one name goes, one comes. */
		if (i == 999)
			continue;
		bool moved = i == 10 || i == 500 || i == 990;
		m += (size_t)snprintf(changed + m, cap - m, "h%d A 192.0.2.%d\n", i,
				      moved ? 251 : i % 250 + 1);
	}
	snprintf(changed + m, cap - m, "added A 192.0.2.252\n");
	unsigned out = soa_serial(E.zport, "example.com");
	write_primary(E.serial + 1, names);
	reload_primary();
	want w = {E.zport, out + 1};
	assert_true(wait_for(serial_is, &w, 30));
	double before = zone_metric("signet_zoned_rrsigs_made_total");
	write_primary(E.serial + 1, changed);
	reload_primary();
	w.serial = out + 2;
	assert_true(wait_for(serial_is, &w, 30));
	double sent = zone_metric("signet_zoned_rrsigs_made_total") - before;
	/* 3 A sets, 1 new, the SOA, and NSECs: the new name's, the goner's
	 * predecessor's, and neighbours; nothing like the 2000 sets there. */
	if (sent < 5 || sent > 12)
		fail_msg("an IXFR of 5 changes sent %.0f RRsets to signetd", sent);
	char line[64];
	snprintf(line, sizeof(line), "serial %u signed (IXFR)", out + 2);
	assert_true(zoned_logged(line));
	axfr_content("inc");
	sh("ldns-verify-zone %s/inc.zone >/dev/null", E.dir);
	sh("dnssec-verify -q -o example.com %s/inc.zone >/dev/null 2>&1 || dnssec-verify -o"
	   " example.com %s/inc.zone", E.dir, E.dir);
	sh("kzonecheck -d on -o example.com %s/inc.zone", E.dir);
	/* The same version signed whole: zoned from an empty state directory
	 * transfers it by AXFR and signs everything. */
	stop(&E.zoned, SIGTERM);
	sh("mv %s/state %s/state.inc && mkdir -m 700 %s/state", E.dir, E.dir, E.dir);
	write_zoned_conf("late.example", ""); /* test_sighup left it broken */
	start_zoned();
	assert_true(signetd_wait_port(E.zport, E.zoned, 10000, NULL));
	w.serial = E.serial + 1; /* increment from the primary's serial */
	assert_true(wait_for(serial_is, &w, 30));
	axfr_content("whole");
	sh("diff %s/inc.content %s/whole.content", E.dir, E.dir);
	free(names);
	free(changed);
}

/* A version that cannot be stored is not served: a secondary must never
 * get what a kill -9 could lose. With the journal's and the zone's files
 * turned into directories the change is signed and its store fails: the
 * SOA served and the AXFR stay the last stored version, and no NOTIFY goes
 * out. Once the
 * files are back, the next key-set poll stores it (the journal written
 * whole) and it is served. */
static void test_unstored_not_served(void **state)
{
	(void)state;
	char jp[400], zp[400];
	snprintf(jp, sizeof(jp), "%s/state/example.com.journal", E.dir);
	snprintf(zp, sizeof(zp), "%s/state/example.com.zone.signed", E.dir);
	unsigned before = soa_serial(E.zport, "example.com");
	assert_true(before > 0);
	/* Neither the journal nor the zone file can be written. */
	sh("mv %s %s.keep && mkdir -p %s/x && rm -f %s && mkdir -p %s/x", zp, zp, zp, jp, jp);
	more m = {"example.com.: the new version is not served until it is stored", 0};
	m.than = log_count(m.needle);
	write_primary(E.serial + 1, "unstored A 192.0.2.33\n");
	reload_primary();
	if (!wait_for(log_grew, &m, 20)) {
		sh("tail -20 %s/zoned.log >&2", E.dir);
		fail_msg("the failed store was not reported");
	}
	char line[200];
	snprintf(line, sizeof(line), "example.com.: serial %u signed", before + 1);
	assert_true(zoned_logged(line));
	signetd_sleep_ms(2500); /* a key-set poll or more, still failing */
	assert_int_equal(soa_serial(E.zport, "example.com"), before);
	check_axfr_validates();
	sh("grep -q 'unstored' %s/axfr.zone && exit 1 || exit 0", E.dir);
	sh("rm -rf %s %s && mv %s.keep %s", jp, zp, zp, zp);
	want w = {E.zport, before + 1};
	assert_true(wait_for(serial_is, &w, 20));
	check_axfr_validates();
	sh("grep -q 'unstored' %s/axfr.zone", E.dir);
}

/* zoned stops cleanly on SIGTERM: exit 0, which under ASan is also the
 * leak check of everything it did (a group teardown's failure does not
 * fail the program, so this is a test). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_transfer),
		cmocka_unit_test(test_change_travels),
		cmocka_unit_test(test_unbound_validates),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_oversized_transfer),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_bad_transfers),
		cmocka_unit_test(test_serial_backwards),
		cmocka_unit_test(test_kill9_restart),
		cmocka_unit_test(test_signetd_down),
		cmocka_unit_test(test_sighup),
		cmocka_unit_test(test_change_cost),
		cmocka_unit_test(test_unstored_not_served),
		cmocka_unit_test(test_clean_exit),
	};
	return cmocka_run_group_tests(tests, zoned_env_setup, zoned_env_teardown);
}
