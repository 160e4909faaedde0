/* test_replica_zone.c -- three signetd replicas, each with its own SoftHSM2
 * token holding the same backup domain, one real PostgreSQL: `signet
 * sign-zone --server a,b,c` of a 20,000-name zone while one replica is
 * killed with SIGKILL and another is stopped and started again (the client
 * held across each event, so that each falls in the middle of the run). The run
 * succeeds, its output validates (ldns-verify-zone and dnssec-verify), and
 * every RRset in it carries exactly one RRSIG (one ZSK, the key set's one
 * KSK signature over the DNSKEY RRset). Slow (label "slow"): tens of
 * seconds, run once in CI. */
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_replicas.h"

#define NAMES 20000

extern char **environ;

static replica_set S;
static signetd_env *const r = S.r;

static int group_setup(void **state)
{
	(void)state;
	return replicas_setup(&S, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	replicas_teardown(&S);
	return 0;
}

/* SignRRsets lines of zone in replica e's audit log. */
static size_t signed_calls(const signetd_env *e, const char *zone)
{
	char path[400], needle[200];
	snprintf(path, sizeof(path), "%s/state/audit.log", e->dir);
	snprintf(needle, sizeof(needle), "\"action\":\"SignRRsets\",\"zone\":\"%s\"", zone);
	sg_buf b = SG_BUF_INIT;
	size_t n = 0;
	if (sg_file_read(path, 1u << 28, &b) == SIGNET_OK)
		for (const uint8_t *p = b.data;
		     p && (p = memmem(p, b.len - (size_t)(p - b.data), needle, strlen(needle)));
		     p++)
			n++;
	sg_buf_free(&b);
	return n;
}

static bool running(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == 0;
}

/* Wait (bounded) until e's audit log has at least want signing lines of
 * zone while the run pid goes on; fails if the run ended first. */
static void wait_calls(const signetd_env *e, const char *zone, size_t want, pid_t pid,
		       int *status, bool *ended)
{
	long until = signetd_now_ms() + 120000;
	while (signed_calls(e, zone) < want) {
		if (!running(pid, status)) {
			*ended = true;
			fail_msg("sign-zone ended before replica on port %d made %zu calls", e->port,
				 want);
		}
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
}

static void test_sign_zone_kill_restart(void **state)
{
	(void)state;
	replicas_start_all(&S, 3, 3);
	const char *zone = "big.example.";
	/* a KSK of the ZSK's algorithm: dnssec-verify wants every RRset
	 * signed by each algorithm of the DNSKEY RRset */
	test_ksk_free(&r[0].ksk);
	test_ksk_new_alg(&r[0].ksk, DNS_ALG_ECDSAP256SHA256);
	signetd_zone z;
	signetd_add_zone(&r[0], zone, 13, &z);
	/* replicas 1 and 2 hold the key (restored from the state) before the run */
	for (int i = 1; i < 3; i++) {
		long until = signetd_now_ms() + 30000;
		for (;;) {
			grpc_status_code st;
			Signet__V1__SignResponse *resp = signetd_sign_a(r[i].signer, zone, i, 1, &st);
			bool ok = resp && resp->results[0]->status ==
						  SIGNET__V1__ITEM_STATUS__ITEM_SIGNED;
			if (resp)
				signet__v1__sign_response__free_unpacked(resp, NULL);
			if (ok)
				break;
			assert_true(signetd_now_ms() < until);
			signetd_sleep_ms(50);
		}
	}
	char in[400], out[400], conf[400], log[400];
	snprintf(in, sizeof(in), "%s/big.zone", r[0].dir);
	snprintf(out, sizeof(out), "%s/big.signed", r[0].dir);
	snprintf(conf, sizeof(conf), "%s/list.conf", r[0].dir);
	snprintf(log, sizeof(log), "%s/sign-zone.log", r[0].dir);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN %s\n$TTL 3600\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1\n"
		   "ns1 A 192.0.2.1\n", zone);
	for (unsigned i = 0; i < NAMES; i++)
		fprintf(f, "n%u A 198.51.%u.%u\n", i, (i >> 8) & 255, i & 255);
	assert_int_equal(fclose(f), 0);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "server 127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d\nserver-name localhost\n"
		   "ca %s/ca.pem\ncert %s/ns1.pem\nkey %s/ns1.key\ntimeout 30\n",
		r[0].port, r[1].port, r[2].port, r[0].dir, r[0].dir, r[0].dir);
	assert_int_equal(fclose(f), 0);
	/* Small batches, two in flight: long enough a run to be cut into. */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "exec '%s/client/signet' sign-zone --zone %s --in '%s' --out '%s' --config '%s'"
		 " --batch 50 --inflight 2 --quiet >'%s' 2>&1",
		 getenv("SIGNET_BUILD_DIR"), zone, in, out, conf, log);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t pid = 0;
	long t0 = signetd_now_ms();
	assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
	int status = 0;
	bool ended = false;
	/* Each event happens while the run is in the middle: the client is
	 * held (SIGSTOP) across it and let go after, and between events it
	 * must make progress. A fast machine cannot finish the run first; a
	 * slow one only takes longer. */
	wait_calls(&r[1], zone, signed_calls(&r[1], zone) + 20, pid, &status, &ended);
	kill(pid, SIGSTOP);
	kill(r[1].pid, SIGKILL);
	waitpid(r[1].pid, NULL, 0);
	r[1].pid = 0;
	kill(pid, SIGCONT);
	wait_calls(&r[2], zone, signed_calls(&r[2], zone) + 20, pid, &status, &ended);
	kill(pid, SIGSTOP);
	signetd_stop_ok(&r[2]);
	kill(pid, SIGCONT);
	/* replica 0 alone for a while */
	wait_calls(&r[0], zone, signed_calls(&r[0], zone) + 20, pid, &status, &ended);
	kill(pid, SIGSTOP);
	replica_respawn(&S, 2);
	kill(pid, SIGCONT);
	size_t after = signed_calls(&r[2], zone);
	long until = signetd_now_ms() + 180000;
	while (running(pid, &status)) {
		if (signetd_now_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("sign-zone did not finish within 180 s");
		}
		signetd_sleep_ms(50);
	}
	long took = signetd_now_ms() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		signetd_sh("cat '%s' >&2", log);
		fail_msg("sign-zone exit status %d", status);
	}
	/* the restarted replica answered some of the rest */
	print_message("sign-zone of %d names: %ld ms; replica 2 after its restart: %zu calls\n",
		      NAMES, took, signed_calls(&r[2], zone) - after);
	/* validators we did not write */
	signetd_sh("ldns-verify-zone -V1 '%s' >'%s' 2>&1 || { cat '%s' >&2; false; }", out, log,
		   log);
	signetd_sh("dnssec-verify -q -o %s '%s' >'%s' 2>&1 || { cat '%s' >&2; false; }", zone, out,
		   log, log);
	/* every RRset exactly once signed: RRSIGs per (owner, type covered),
	 * the RRsets from the same normalised text */
	signetd_sh("ldns-read-zone '%s' | awk '"
		   "$4 == \"RRSIG\" { s[tolower($1) \" \" $5]++; next }"
		   "$4 != \"\" && substr($1,1,1) != \";\" { t[tolower($1) \" \" $4] = 1 }"
		   "END { n = 0; for (k in t) { n++; if (s[k] != 1) { print \"RRset \" k \": \" s[k]+0 \" RRSIGs\"; bad++ } }"
		   "  for (k in s) if (!(k in t)) { print \"RRSIG of no RRset: \" k; bad++ }"
		   "  if (n < %d) { print n \" RRsets only\"; bad++ } exit bad > 0 }' >&2",
		   out, 2 * NAMES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_zone_kill_restart),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
