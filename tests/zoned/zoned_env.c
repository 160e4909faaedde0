/* zoned_env.c -- the loopback environment of the signet-zoned tests
 * (zoned_env.h). */
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

env E;

void sh(const char *fmt, ...)
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

/* The first line a command prints, in buf. */
const char *out1(char *buf, size_t cap, const char *fmt, ...)
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

pid_t spawn(const char *log, char *const argv[])
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
int stop(pid_t *pid, int sig)
{
	int status = -1;
	if (*pid > 0) {
		kill(*pid, sig);
		waitpid(*pid, &status, 0);
	}
	*pid = 0;
	return status;
}

/* The SOA serial a server gives (kdig over UDP, from 127.0.0.1 with the
 * outbound key), 0 when none. */
unsigned soa_serial(int port, const char *zone)
{
	char buf[512];
	out1(buf, sizeof(buf),
	     "kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s %s SOA +short +timeout=2 +retry=0"
	     " 2>/dev/null | awk '{print $3}'", port, KEY_OUT, zone);
	return (unsigned)strtoul(buf, NULL, 10);
}

/* Wait for an event the test caused. seconds says how soon it comes on an
 * idle machine; the bound is at least 90 s, since it only ends a broken
 * run, and under a sanitizer on a loaded machine a re-sign after signetd
 * came back (a gRPC reconnect back-off) took more than 30 s. */
bool wait_for(bool (*cond)(void *), void *arg, int seconds)
{
	long end = signetd_now_ms() + (seconds < 90 ? 90 : seconds) * 1000L;
	for (;;) {
		if (cond(arg))
			return true;
		if (signetd_now_ms() > end)
			return false;
		signetd_sleep_ms(100);
	}
}

bool serial_is(void *arg)
{
	want *w = arg;
	return soa_serial(w->port, "example.com") == w->serial;
}

bool zoned_logged(void *arg)
{
	char log[400];
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	return signetd_log_has(log, arg);
}

/* The primary's zone, serial s, with extra lines. */
void write_primary(unsigned s, const char *extra)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/example.com.zone", E.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN example.com.\n$TTL 3600\n"
		   "@ SOA ns1 hostmaster %u 3600 5 1209600 300\n"
		   "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n"
		   "www A 192.0.2.4\nmail A 192.0.2.5\n%s", s, extra);
	fclose(f);
	E.serial = s;
}

/* back.example: a zone whose primary keeps no journal, so its serial can
 * be made to go backwards. */
void write_small(const char *zone, unsigned serial)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/%s.zone", E.dir, zone);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 h %u 3600 5 1209600 300\n"
		   "@ NS ns1\nns1 A 192.0.2.1\n", zone, serial);
	fclose(f);
}

void write_back(unsigned serial)
{
	write_small("back.example", serial);
}

void set_fake_mode(const char *mode)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/fake.mode", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", mode);
	fclose(f);
}

/* How many lines of zoned's log contain needle. */
int log_count(const char *needle)
{
	char buf[64];
	out1(buf, sizeof(buf), "grep -c -F '%s' %s/zoned.log", needle, E.dir);
	return atoi(buf);
}

bool log_grew(void *arg)
{
	more *m = arg;
	return log_count(m->needle) > m->than;
}

void reload_primary(void)
{
	sh("knotc -s %s/knot.sock zone-reload example.com >/dev/null", E.dir);
}

/* zoned's configuration; the third zone changes on SIGHUP. */
void write_zoned_conf(const char *third, const char *limits)
{
	char p[400];
	FILE *f;
	snprintf(p, sizeof(p), "%s/zoned.conf", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"listen = \"127.0.0.1:%d\";\nmetrics = \"127.0.0.1:%d\";\nstate-dir = \"%s/state\";\n"
		"signetd = \"%s/client.conf\";\nkeyset-poll = 2;\n"
		"keys = ( { name = \"xfr-in\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/in.key\"; },\n"
		"         { name = \"xfr-out\"; algorithm = \"hmac-sha256\"; secret-file = \"%s/out.key\"; } );\n"
		"zones = (\n"
		"  { name = \"example.com\"; serial = \"increment\";\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; notify = \"127.0.0.1:%d\"; },\n"
		"                    { range = \"127.0.0.1/32\"; key = \"xfr-out\"; notify = \"127.0.0.1:%d\"; } ); },\n"
		"  { name = \"back.example\";\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); },\n"
		"  { name = \"fake.example\"; %s\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); },\n"
		"  { name = \"%s\"; %s\n"
		"    primaries = ( { address = \"127.0.0.1:%d\"; key = \"xfr-in\"; } );\n"
		"    secondaries = ( { range = \"127.0.0.1/32\"; key = \"xfr-out\"; } ); } );\n",
		E.zport, E.mport, E.dir, E.dir, E.dir, E.dir, E.pport, E.sport, E.kport, E.pport,
		E.fake_limits ? E.fake_limits : "", E.fport, third, limits, E.pport);
	fclose(f);
}

static void write_configs(void)
{
	char p[400];
	sh("printf '%%s' '%s' > %s/in.key && printf '%%s' '%s' > %s/out.key && chmod 600 %s/*.key",
	   KEY_IN, E.dir, KEY_OUT, E.dir, E.dir);
	/* big.example: more RRs (and octets) than zoned takes. */
	snprintf(p, sizeof(p), "%s/big.example.zone", E.dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN big.example.\n$TTL 3600\n@ SOA ns1 h 1 3600 5 1209600 300\n@ NS ns1\n");
	for (int i = 0; i < 60; i++)
		fprintf(f, "h%d A 192.0.2.%d\n", i, i + 1);
	fclose(f);
	write_back(10);
	write_small("late.example", 7);
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
		"zone:\n  - domain: example.com\n    notify: zoned\n    acl: xfr\n"
		"  - domain: big.example\n    acl: xfr\n"
		"  - domain: late.example\n    acl: xfr\n"
		"    journal-content: none\n"
		"  - domain: back.example\n    acl: xfr\n    notify: zoned\n"
		"    journal-content: none\n    zonefile-load: whole\n",
		E.pport, E.dir, E.dir, E.dir, KEY_IN, E.zport, E.dir);
	fclose(f);
	snprintf(p, sizeof(p), "%s/client.conf", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "server %s\nserver-name localhost\nca %s/ca.pem\ncert %s/ns1.pem\nkey %s/ns1.key\n",
		E.sd.target, E.sd.dir, E.sd.dir, E.sd.dir);
	fclose(f);
	write_zoned_conf("big.example", "max-rrs = 10;");
	snprintf(p, sizeof(p), "%s/knot2.conf", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"server:\n  listen: 127.0.0.1@%d\n  rundir: %s/k2\n"
		"database:\n  storage: %s/k2/db\n"
		"log:\n  - target: stderr\n    any: info\n"
		"key:\n  - id: xfr-out\n    algorithm: hmac-sha256\n    secret: %s\n"
		"remote:\n  - id: zoned\n    address: 127.0.0.1@%d\n    key: xfr-out\n"
		"acl:\n  - id: notify\n    address: 127.0.0.1\n    key: xfr-out\n    action: [notify, transfer]\n"
		"zone:\n  - domain: example.com\n    storage: %s/k2\n    master: zoned\n"
		"    acl: notify\n    zonefile-sync: -1\n",
		E.kport, E.dir, E.dir, KEY_OUT, E.zport, E.dir);
	fclose(f);
	snprintf(p, sizeof(p), "%s/nsd.conf", E.dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"server:\n  ip-address: 127.0.0.1@%d\n  zonesdir: \"%s\"\n  pidfile: \"%s/nsd.pid\"\n"
		"  username: \"\"\n  chroot: \"\"\n  database: \"\"\n  xfrdfile: \"%s/xfrd.state\"\n"
		"  xfrdir: \"%s\"\n  zonelistfile: \"%s/zone.list\"\n  verbosity: 2\n"
		"remote-control:\n  control-enable: no\n"
		"key:\n  name: xfr-out\n  algorithm: hmac-sha256\n  secret: \"%s\"\n"
		"zone:\n  name: example.com\n  zonefile: \"%s/secondary.example.com.zone\"\n"
		"  request-xfr: 127.0.0.1@%d xfr-out\n  allow-notify: 127.0.0.1 xfr-out\n",
		E.sport, E.dir, E.dir, E.dir, E.dir, E.dir, KEY_OUT, E.dir, E.zport);
	fclose(f);
}

void start_zoned(void)
{
	char conf[400], log[400], bin[400];
	snprintf(conf, sizeof(conf), "%s/zoned.conf", E.dir);
	snprintf(log, sizeof(log), "%s/zoned.log", E.dir);
	snprintf(bin, sizeof(bin), "%s/zoned/signet-zoned", getenv("SIGNET_BUILD_DIR"));
	char *argv[] = {bin, "-c", conf, "-v", NULL};
	char clock[400];
	snprintf(clock, sizeof(clock), "%s/clock", E.dir);
	setenv("SIGNET_ZONED_TEST_CLOCK", clock, 1);
	E.zoned = spawn(log, argv);
}

int zoned_env_setup(void **state)
{
	(void)state;
	if (signetd_start(&E.sd, NULL) != 0)
		return -1;
	signetd_zone z;
	/* The KSK's algorithm: dnssec-verify wants every algorithm of the
	 * DNSKEY set to sign everything. */
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = DNS_ALG_ED25519;
	pol.validity = E.validity;
	pol.zsk_lifetime = E.zsk_lifetime;
	signetd_add_zone_policy(&E.sd, "example.com", &pol, &z);
	signetd_add_zone(&E.sd, "big.example", DNS_ALG_ECDSAP256SHA256, &z);
	signetd_add_zone(&E.sd, "back.example", DNS_ALG_ED25519, &z);
	signetd_add_zone(&E.sd, "late.example", DNS_ALG_ECDSAP256SHA256, &z);
	signetd_add_zone(&E.sd, "fake.example", DNS_ALG_ECDSAP256SHA256, &z);
	snprintf(E.dir, sizeof(E.dir), "%s/zoned", E.sd.dir);
	sh("mkdir -p %s/state %s/knotdb %s/k2/db", E.dir, E.dir, E.dir);
	E.pport = signetd_free_port();
	E.zport = signetd_free_port();
	E.sport = signetd_free_port();
	E.kport = signetd_free_port();
	E.mport = signetd_free_port();
	E.fport = signetd_free_port();
	E.uport = signetd_free_port();
	write_primary(100, "");
	write_configs();
	char conf[400], log[400];
	snprintf(conf, sizeof(conf), "%s/knot.conf", E.dir);
	snprintf(log, sizeof(log), "%s/knot.log", E.dir);
	char *kargv[] = {"/usr/sbin/knotd", "-c", conf, NULL};
	E.knot = spawn(log, kargv);
	if (!signetd_wait_port(E.pport, E.knot, 10000, NULL))
		return -1;
	set_fake_mode("good");
	char fport[16], fmode[400], script[400];
	snprintf(fport, sizeof(fport), "%d", E.fport);
	snprintf(fmode, sizeof(fmode), "%s/fake.mode", E.dir);
	snprintf(script, sizeof(script), "%s/fake_primary.py", getenv("SIGNET_ZONED_TESTS"));
	snprintf(log, sizeof(log), "%s/fake.log", E.dir);
	char *fargv[] = {"/usr/bin/python3", script, fport, "xfr-in", KEY_IN, fmode, NULL};
	E.fake = spawn(log, fargv);
	if (!signetd_wait_port(E.fport, E.fake, 10000, NULL))
		return -1;
	start_zoned();
	if (!signetd_wait_port(E.zport, E.zoned, 10000, NULL))
		return -1;
	snprintf(conf, sizeof(conf), "%s/nsd.conf", E.dir);
	snprintf(log, sizeof(log), "%s/nsd.log", E.dir);
	char *nargv[] = {"/usr/sbin/nsd", "-d", "-c", conf, NULL};
	E.nsd = spawn(log, nargv);
	snprintf(conf, sizeof(conf), "%s/knot2.conf", E.dir);
	snprintf(log, sizeof(log), "%s/knot2.log", E.dir);
	char *k2argv[] = {"/usr/sbin/knotd", "-c", conf, NULL};
	E.knot2 = spawn(log, k2argv);
	return 0;
}

int zoned_env_teardown(void **state)
{
	(void)state;
	stop(&E.nsd, SIGTERM);
	stop(&E.knot2, SIGTERM);
	stop(&E.zoned, SIGKILL);
	stop(&E.fake, SIGTERM);
	stop(&E.unbound, SIGTERM);
	stop(&E.knot, SIGTERM);
	return signetd_teardown(&E.sd) == 0 ? 0 : -1;
}

/* The zone as zoned serves it, by AXFR with the outbound key, accepted by
 * ldns-verify-zone. */
void check_axfr_validates(void)
{
	sh("kdig -p %d @127.0.0.1 -y hmac-sha256:xfr-out:%s example.com AXFR +nocomments"
	   " +nostats +noquestion 2>&1 | grep -v -E '^;|\\sTSIG\\s' > %s/axfr.zone && grep -q RRSIG %s/axfr.zone"
	   " && ldns-verify-zone -t +%ld %s/axfr.zone >/dev/null",
	   E.zport, KEY_OUT, E.dir, E.dir, E.ahead, E.dir);
}
