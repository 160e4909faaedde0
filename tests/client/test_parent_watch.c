/* test_parent_watch.c -- `signet parent-watch` drives a KSK rollover to its
 * ds-seen step: a real signetd on the test clock with a parent-agent
 * client, and a parent zone (test.) signed with its own key and served by
 * two NSD processes on loopback (auth agents) and through a validating
 * Unbound (a resolver agent), whose DS sets the test rewrites (each change
 * restarts that NSD, and Unbound with the first). The rollover waits, saying why, while an agent
 * is unreachable, serves a DS with a wrong digest or a bogus RRSIG, serves
 * only the old DS or still the old one next to the new, or while both have
 * served the new one for less than the DS TTL; then it completes with the
 * audit entry and the metrics. ConfirmDs from a signer, from a parent-agent
 * of another zone, or with a claim signetd's state contradicts is refused;
 * a parent-agent neither signs nor reads key sets. The agents and state
 * files' parsers refuse what they do not know. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/parent_watch.h"
#include "tests/lib/cli_run.h"
#include "tests/lib/signetd_fixture.h"

#define HOUR 3600
#define DS_TTL 86400   /* the policy's default */

extern char **environ;

static signetd_env D;
static test_ksk parent_key, new_ksk;
static dns_name parent, child;
static signetd_zone Z;
static char agent_conf[300], other_conf[300], agents_file[300], state_file[300];
static unsigned nsd_port[2], unbound_port;
static pid_t nsd_pid[2], unbound_pid;
static unsigned serial = 1;
static sg_buf out;

static void write_text(const char *path, const char *text)
{
	assert_int_equal(sg_file_write_atomic(path, text, strlen(text), 0600), SIGNET_OK);
}

/* ---- the parent, served by two NSD ------------------------------------- */

static void rr_line(sg_buf *z, const dns_name *owner, uint16_t type, const uint8_t *rd,
		    size_t len)
{
	size_t at = z->len;
	assert_int_equal(dns_rr_to_text(owner, type, DNS_CLASS_IN, HOUR, rd, len, z), SIGNET_OK);
	z->len = at + strlen((const char *)z->data + at);
	assert_int_equal(sg_buf_append(z, "\n", 1), SIGNET_OK);
}

/* The set's RRs and the parent key's RRSIG over them (one octet of the
 * signature flipped when bogus). */
static void signed_set(sg_buf *z, const dns_rrset *set, bool bogus)
{
	for (size_t i = 0; i < set->count; i++)
		rr_line(z, &set->owner, set->type, set->rr[i].data, set->rr[i].len);
	dns_rrset sigs;
	dns_rrset_init(&sigs, &set->owner, DNS_T_RRSIG, DNS_CLASS_IN, HOUR);
	uint32_t now = (uint32_t)time(NULL);
	test_ksk_sign(&parent_key, &parent, set, now - HOUR, now + 30 * 86400, &sigs);
	if (bogus)
		sigs.rr[0].data[sigs.rr[0].len - 1] ^= 1;
	rr_line(z, &set->owner, DNS_T_RRSIG, sigs.rr[0].data, sigs.rr[0].len);
	dns_rrset_clear(&sigs);
}

static void zone_path(int which, char *path, size_t len)
{
	snprintf(path, len, "%s/nsd%d/test.zone", D.dir, which);
}

/* Write agent which's copy of test. with the DS RDATAs ds (n of them),
 * their RRSIG bogus or not. */
static void parent_zone(int which, const sg_buf *const *ds, size_t n, bool bogus)
{
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&z, "$ORIGIN test.\n$TTL 3600\n"
				       "@ SOA ns.example. h.example. %u 3600 600 86400 300\n"
				       "@ NS ns.example.\nroll NS ns.example.\n", serial++),
			 SIGNET_OK);
	dns_rrset keys, dset;
	dns_rrset_init(&keys, &parent, DNS_T_DNSKEY, DNS_CLASS_IN, HOUR);
	assert_int_equal(dns_rrset_add(&keys, parent_key.dnskey, parent_key.dnskey_len),
			 SIGNET_OK);
	signed_set(&z, &keys, false);
	if (n) {
		dns_rrset_init(&dset, &child, DNS_T_DS, DNS_CLASS_IN, HOUR);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(dns_rrset_add(&dset, ds[i]->data, ds[i]->len), SIGNET_OK);
		signed_set(&z, &dset, bogus);
		dns_rrset_clear(&dset);
	}
	dns_rrset_clear(&keys);
	char path[400];
	zone_path(which, path, sizeof(path));
	assert_int_equal(sg_file_write_atomic(path, z.data, z.len, 0600), SIGNET_OK);
	sg_buf_free(&z);
}

static void nsd_stop(int which)
{
	if (nsd_pid[which] > 0) {
		kill(nsd_pid[which], SIGTERM);
		waitpid(nsd_pid[which], NULL, 0);
		nsd_pid[which] = 0;
	}
}

/* (Re)start NSD number which on its port and wait until it serves test. */
static void nsd_start(int which)
{
	nsd_stop(which);
	char conf[400], log[400];
	snprintf(conf, sizeof(conf), "%s/nsd%d/nsd.conf", D.dir, which);
	snprintf(log, sizeof(log), "%s/nsd%d/nsd.out", D.dir, which);
	const char *argv[] = {NSD_BIN, "-d", "-c", conf, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawn(&nsd_pid[which], NSD_BIN, &fa, NULL, (char *const *)argv, environ) != 0)
		fail_msg("cannot start %s (scripts/deps: nsd)", NSD_BIN);
	posix_spawn_file_actions_destroy(&fa);
	check_server s;
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", nsd_port[which]);
	assert_int_equal(check_server_parse(addr, &s), SIGNET_OK);
	s.timeout_ms = 200;
	s.tries = 1;
	for (long end = signetd_now_ms() + 60000; signetd_now_ms() < end;) {
		check_answer a;
		char err[256];
		if (check_query(&s, &parent, DNS_T_SOA, &a, err, sizeof(err)) == SIGNET_OK) {
			bool ok = a.rcode == 0 && a.count > 0;
			check_answer_free(&a);
			if (ok)
				return;
		}
		int st;
		if (waitpid(nsd_pid[which], &st, WNOHANG) == nsd_pid[which]) {
			nsd_pid[which] = 0;
			fail_msg("nsd exited; see %s", log);
		}
		signetd_sleep_ms(50);
	}
	fail_msg("nsd does not serve test. within 60 s; see %s", log);
}

static void unbound_stop(void)
{
	if (unbound_pid > 0) {
		kill(unbound_pid, SIGTERM);
		waitpid(unbound_pid, NULL, 0);
		unbound_pid = 0;
	}
}

/* (Re)start the validating Unbound (test.'s key as its trust anchor, NSD 0
 * as the stub for test.): a new one forgets what it cached. */
static void unbound_start(void)
{
	unbound_stop();
	char conf[400], log[400];
	snprintf(conf, sizeof(conf), "%s/unbound/unbound.conf", D.dir);
	snprintf(log, sizeof(log), "%s/unbound/unbound.log", D.dir);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	const char *argv[] = {UNBOUND_BIN, "-d", "-c", conf, NULL};
	if (posix_spawn(&unbound_pid, UNBOUND_BIN, &fa, NULL, (char *const *)argv, environ) != 0)
		fail_msg("cannot start %s (scripts/deps: unbound)", UNBOUND_BIN);
	posix_spawn_file_actions_destroy(&fa);
	for (long end = signetd_now_ms() + 30000; signetd_now_ms() < end;) {
		if (signetd_log_has(log, "start of service"))
			return;
		if (waitpid(unbound_pid, NULL, WNOHANG) == unbound_pid) {
			unbound_pid = 0;
			fail_msg("unbound exited at start; see %s", log);
		}
		signetd_sleep_ms(10);
	}
	fail_msg("unbound did not start within 30 s; see %s", log);
}

/* Agent which serves these DS RDATAs; the resolver follows agent 0. */
static void serve(int which, const sg_buf *const *ds, size_t n, bool bogus)
{
	parent_zone(which, ds, n, bogus);
	nsd_start(which);
	if (which == 0)
		unbound_start();
}

/* ---- signetd --------------------------------------------------------- */

static ProtobufCBinaryData bin(const void *p, size_t len)
{
	ProtobufCBinaryData b = {len, (uint8_t *)p};
	return b;
}

static void set_clock(int64_t t)
{
	Signet__V1__RolloverRequest r = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	r.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK;
	r.time = t;
	char det[512] = "";
	if (rpc_call_msg(D.admin, "Rollover", &r.base, det, sizeof(det), NULL) != GRPC_STATUS_OK)
		fail_msg("set-clock: %s", det);
}

/* The key with DNSKEY dk as Rollover SHOW has it (the copy keeps numbers). */
static Signet__V1__KeyInfo key_info(const uint8_t *dk, size_t len)
{
	Signet__V1__RolloverRequest r = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	r.zone = bin(Z.apex.wire, Z.apex.len);
	r.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SHOW;
	char det[512] = "";
	sg_buf resp = SG_BUF_INIT;
	if (rpc_call_msg(D.admin, "Rollover", &r.base, det, sizeof(det), &resp) != GRPC_STATUS_OK)
		fail_msg("show: %s", det);
	Signet__V1__RolloverResponse *a =
		signet__v1__rollover_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(a);
	Signet__V1__KeyInfo k = SIGNET__V1__KEY_INFO__INIT;
	bool found = false;
	for (size_t i = 0; i < a->n_keys; i++)
		if (a->keys[i]->dnskey.len == len && memcmp(a->keys[i]->dnskey.data, dk, len) == 0) {
			k = *a->keys[i];
			found = true;
		}
	k.role = NULL;
	k.dnskey.data = k.id.data = k.zone.data = NULL;
	signet__v1__rollover_response__free_unpacked(a, NULL);
	sg_buf_free(&resp);
	assert_true(found);
	return k;
}

static void admin_ok(const char *method, const ProtobufCMessage *m, sg_buf *resp)
{
	char det[512] = "";
	if (rpc_call_msg(D.admin, method, m, det, sizeof(det), resp) != GRPC_STATUS_OK)
		fail_msg("%s: %s", method, det);
}

/* Export a request, sign each period's sets with each KSK in its DNSKEY
 * set (the old and the new), import the bundle. */
static void ceremony(void)
{
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = bin(Z.apex.wire, Z.apex.len);
	er.days = 8;
	sg_buf resp = SG_BUF_INIT;
	admin_ok("ExportKeySigningRequest", &er.base, &resp);
	Signet__V1__ExportKeySigningRequestResponse *ex =
		signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ex);
	dns_keyset ks;
	assert_int_equal(dns_keyset_parse((const char *)ex->request.data, ex->request.len, &ks,
					  NULL), SIGNET_OK);
	signet__v1__export_key_signing_request_response__free_unpacked(ex, NULL);
	ks.kind = DNS_KEYSET_BUNDLE;
	const test_ksk *ksks[2] = {&D.ksk, &new_ksk};
	for (size_t i = 0; i < ks.count; i++) {
		dns_keyset_period *p = &ks.periods[i];
		dns_rrset_clear(&p->sigs);
		dns_rrset_init(&p->sigs, &Z.apex, DNS_T_RRSIG, DNS_CLASS_IN, p->dnskey.ttl);
		const dns_rrset *sets[3] = {&p->dnskey, &p->cds, &p->cdnskey};
		for (size_t k = 0; k < 2; k++) {
			bool in = false;
			for (size_t j = 0; j < p->dnskey.count; j++)
				in = in || (p->dnskey.rr[j].len == ksks[k]->dnskey_len &&
					    memcmp(p->dnskey.rr[j].data, ksks[k]->dnskey,
						   ksks[k]->dnskey_len) == 0);
			for (int t = 0; in && t < 3; t++)
				if (sets[t]->count)
					test_ksk_sign(ksks[k], &Z.apex, sets[t], p->inception,
						      p->expiration, &p->sigs);
		}
	}
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(dns_keyset_write(&ks, &text), SIGNET_OK);
	dns_keyset_free(&ks);
	Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	ib.zone = bin(Z.apex.wire, Z.apex.len);
	ib.bundle = bin(text.data, text.len);
	admin_ok("ImportKeyBundle", &ib.base, NULL);
	sg_buf_free(&text);
	sg_buf_free(&resp);
}

/* ---- the watcher ------------------------------------------------------- */

/* Run the CLI with argv; exit status, output in out. */
static int run(const char *const *argv)
{
	cli_run_io io = {.dir = D.dir, .out = &out, .err = &out};
	return cli_run(&io, argv[0], argv + 1);
}

/* Run `signet parent-watch` with conf. */
static int watch(const char *conf)
{
	const char *argv[] = {SIGNET_CLI, "parent-watch", "--agents", agents_file, "--state",
			      state_file, "--config", conf, NULL};
	return run(argv);
}

/* A pass that exits want and says each of the needles (NULL-terminated). */
static void expect_watch(const char *conf, int want, ...)
{
	int rc = watch(conf);
	va_list ap;
	va_start(ap, want);
	const char *needle;
	while ((needle = va_arg(ap, const char *)) != NULL)
		if (!strstr((const char *)out.data, needle))
			fail_msg("parent-watch: no '%s' in:\n%s", needle, (const char *)out.data);
	va_end(ap);
	if (rc != want)
		fail_msg("parent-watch: exit %d, wanted %d:\n%s", rc, want, (const char *)out.data);
}

static int64_t ds_seen(void)
{
	return key_info(new_ksk.dnskey, new_ksk.dnskey_len).ds_seen;
}

static sg_buf ds_old, ds_new, ds_wrong;

/* Does Health (as admin) carry a warning of roll.test. with needle? */
static bool health_has(const char *needle)
{
	Signet__V1__HealthRequest r = SIGNET__V1__HEALTH_REQUEST__INIT;
	char det[512] = "";
	sg_buf resp = SG_BUF_INIT;
	if (rpc_call_msg(D.admin, "Health", &r.base, det, sizeof(det), &resp) != GRPC_STATUS_OK)
		fail_msg("Health: %s", det);
	Signet__V1__HealthResponse *h =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(h);
	bool found = false;
	for (size_t i = 0; i < h->n_zones; i++)
		for (size_t w = 0; w < h->zones[i]->n_warnings; w++)
			found = found || strstr(h->zones[i]->warnings[w], needle) != NULL;
	signet__v1__health_response__free_unpacked(h, NULL);
	sg_buf_free(&resp);
	return found;
}

static grpc_status_code report_as(rpc_conn *c, uint32_t tag, size_t nlines, const char *line,
				  char *det, size_t dlen)
{
	Signet__V1__DsObservation r = SIGNET__V1__DS_OBSERVATION__INIT;
	r.zone = bin(Z.apex.wire, Z.apex.len);
	r.key_tag = tag;
	char *lines[20];
	for (size_t i = 0; i < nlines && i < 20; i++)
		lines[i] = (char *)line;
	r.lines = lines;
	r.n_lines = nlines;
	return rpc_call_msg(c, "ReportDsObservation", &r.base, det, dlen, NULL);
}

static grpc_status_code confirm_as(rpc_conn *c, const dns_name *zone, int64_t since,
				   char *det, size_t dlen)
{
	Signet__V1__ConfirmDsRequest r = SIGNET__V1__CONFIRM_DS_REQUEST__INIT;
	r.zone = bin(zone->wire, zone->len);
	r.dnskey = bin(new_ksk.dnskey, new_ksk.dnskey_len);
	r.since = since;
	char *agents[1] = {(char *)"192.0.2.1:53(auth)"};
	r.agents = agents;
	r.n_agents = 1;
	return rpc_call_msg(c, "ConfirmDs", &r.base, det, dlen, NULL);
}

static void test_rollover_waits_then_confirms(void **state)
{
	(void)state;
	char det[512], agent0[64], agent1[64], agent2[64], metrics[65536];
	snprintf(agent0, sizeof(agent0), "127.0.0.1:%u(auth)", nsd_port[0]);
	snprintf(agent1, sizeof(agent1), "127.0.0.1:%u(auth)", nsd_port[1]);
	snprintf(agent2, sizeof(agent2), "127.0.0.1:%u(resolver)", unbound_port);
	const sg_buf *old1[] = {&ds_old}, *new1[] = {&ds_new}, *both[] = {&ds_old, &ds_new},
		     *wrong[] = {&ds_wrong};

	/* before the rollover: nothing to wait for */
	expect_watch(agent_conf, 0, "roll.test.: no rollover waits for a DS", NULL);
	const char *body = signetd_scrape(&D, metrics, sizeof(metrics));
	assert_true(signetd_metric(body, "signet_rollover_waiting_ds{zone=\"roll.test.\"}") == 0);

	/* the rollover starts; the new KSK in force and in every cache */
	Signet__V1__RolloverRequest ak = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	ak.zone = bin(Z.apex.wire, Z.apex.len);
	ak.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK;
	ak.dnskey = bin(new_ksk.dnskey, new_ksk.dnskey_len);
	admin_ok("Rollover", &ak.base, NULL);
	ceremony();
	/* in force, not yet in every cache: a claim is refused */
	Signet__V1__KeyInfo k = key_info(new_ksk.dnskey, new_ksk.dnskey_len);
	assert_true(k.active > 0);
	rpc_conn *agent = signetd_connect(&D, "stranger");
	assert_non_null(agent);
	assert_int_equal(confirm_as(agent, &Z.apex, k.active, det, sizeof(det)),
			 GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(det, "no rollover waits"));
	rpc_close(agent);
	int64_t t = k.active + HOUR;
	set_clock(t);
	body = signetd_scrape(&D, metrics, sizeof(metrics));
	assert_true(signetd_metric(body, "signet_rollover_waiting_ds{zone=\"roll.test.\"}") == 1);

	/* the parent still serves only the old DS */
	char tag[16];
	snprintf(tag, sizeof(tag), "KSK %u", new_ksk.tag);
	expect_watch(agent_conf, 0, "waits for the DS of", tag, "does not serve the DS of",
		     "waits: 0 of 3 agents", NULL);
	/* a server of the parent is no validating resolver */
	pw_agent nv;
	memset(&nv, 0, sizeof(nv));
	char addr[32], why[400];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", nsd_port[0]);
	assert_int_equal(check_server_parse(addr, &nv.server), SIGNET_OK);
	nv.kind = PW_RESOLVER;
	nv.server.recurse = true;
	pw_want want = {&child, new_ksk.dnskey, new_ksk.dnskey_len, new_ksk.tag, 15, NULL, 0};
	assert_false(pw_observe(&nv, &want, (uint32_t)time(NULL), why, sizeof(why)));
	assert_non_null(strstr(why, "without AD"));
	/* one agent unreachable, the other with a wrong digest */
	nsd_stop(1);
	serve(0, wrong, 1, false);
	expect_watch(agent_conf, 0, "unreachable", "with a wrong digest", "0 of 3", NULL);
	/* Health (and so `rollover show`) says what each agent served */
	assert_true(health_has("KSK rollover waits for the parent"));
	assert_true(health_has("parental agent at "));
	char seen[128];
	snprintf(seen, sizeof(seen), "%s unreachable", agent1);
	assert_true(health_has(seen));
	snprintf(seen, sizeof(seen), "%s serves DS %u with a wrong digest", agent0, new_ksk.tag);
	assert_true(health_has(seen));
	/* reports about another KSK, too many lines, or not printable: refused */
	agent = signetd_connect(&D, "stranger");
	assert_non_null(agent);
	assert_int_equal(report_as(agent, (new_ksk.tag + 1) % 65536, 1, "x", det, sizeof(det)),
			 GRPC_STATUS_FAILED_PRECONDITION);
	assert_int_equal(report_as(agent, new_ksk.tag, 17, "x", det, sizeof(det)),
			 GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(report_as(agent, new_ksk.tag, 1, "a\x1b[2Jb", det, sizeof(det)),
			 GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(report_as(D.signer, new_ksk.tag, 1, "x", det, sizeof(det)),
			 GRPC_STATUS_PERMISSION_DENIED);
	rpc_close(agent);
	/* a bogus RRSIG over the new DS */
	serve(0, new1, 1, true);
	serve(1, new1, 1, false);
	/* (the validating resolver says SERVFAIL) */
	expect_watch(agent_conf, 0, "does not verify with the parent's DNSKEY (bogus)",
		     "(resolver) answers the DS query with rcode 2", "1 of 3", NULL);
	/* the old DS still next to the new one: its removal is pending */
	serve(0, both, 2, false);
	expect_watch(agent_conf, 0, "still serves the DS of the old KSK", "1 of 3", NULL);
	assert_int_equal(ds_seen(), 0);

	/* both serve the new DS alone: for too short a time */
	serve(0, new1, 1, false);
	expect_watch(agent_conf, 0, "waits: every agent serves the DS, for 0 s", NULL);
	set_clock(t + 100);
	/* a break at one agent starts its time again */
	serve(1, old1, 1, false);
	expect_watch(agent_conf, 0, "2 of 3", NULL);
	set_clock(t + 200);
	serve(1, new1, 1, false);
	expect_watch(agent_conf, 0, "for 0 s of the DS TTL", NULL);
	set_clock(t + DS_TTL + 100);
	expect_watch(agent_conf, 0, "for 86300 s of the DS TTL", NULL);
	/* a claim that the state contradicts: seen from before it was wanted,
	 * or for less than the DS TTL */
	agent = signetd_connect(&D, "stranger");
	assert_non_null(agent);
	assert_int_equal(confirm_as(agent, &Z.apex, k.active - 1, det, sizeof(det)),
			 GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(det, "for the DS TTL"));
	assert_int_equal(confirm_as(agent, &Z.apex, t + 200, det, sizeof(det)),
			 GRPC_STATUS_FAILED_PRECONDITION);
	assert_int_equal(ds_seen(), 0);
	rpc_close(agent);

	/* the DS TTL is over: confirmed, audited, counted */
	set_clock(t + DS_TTL + 200);
	expect_watch(agent_conf, 0, "confirmed to signetd", NULL);
	assert_int_equal(ds_seen(), t + DS_TTL + 200);
	char audit[400], line[600];
	snprintf(audit, sizeof(audit), "%s/state/audit.log", D.dir);
	snprintf(line, sizeof(line), "ds-seen by agent stranger.test: agents %s, %s, %s since %lld",
		 agent0, agent1, agent2, (long long)(t + 200));
	assert_true(signetd_log_has(audit, line));
	body = signetd_scrape(&D, metrics, sizeof(metrics));
	assert_true(signetd_metric(body, "signet_rollover_waiting_ds{zone=\"roll.test.\"}") == 0);
	assert_false(health_has("parental agent at "));
	assert_true(signetd_metric(body, "signet_rollover_ds_confirmed_total{zone=\"roll.test.\","
					 "source=\"agent\"}") == 1);
	/* and then nothing more to wait for; the state file is emptied */
	expect_watch(agent_conf, 0, "no rollover waits for a DS", NULL);
	sg_buf st = SG_BUF_INIT;
	assert_int_equal(sg_file_read(state_file, 1 << 20, &st), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&st, 0), SIGNET_OK);
	assert_null(strstr((const char *)st.data, "roll.test."));
	sg_buf_free(&st);
}

static void test_refusals(void **state)
{
	(void)state;
	char det[512];
	/* a signer may not confirm */
	assert_int_equal(confirm_as(D.signer, &Z.apex, 1, det, sizeof(det)),
			 GRPC_STATUS_PERMISSION_DENIED);
	assert_non_null(strstr(det, "not a parent-agent"));
	/* a parent-agent of another zone may not either, nor see this one */
	rpc_conn *other = signetd_connect(&D, "cnonly");
	assert_non_null(other);
	assert_int_equal(confirm_as(other, &Z.apex, 1, det, sizeof(det)),
			 GRPC_STATUS_PERMISSION_DENIED);
	assert_non_null(strstr(det, "may not confirm the DS of roll.test."));
	expect_watch(other_conf, 1, "not in signetd's Health", NULL);
	rpc_close(other);
	/* a parent-agent neither signs nor reads key sets */
	rpc_conn *agent = signetd_connect(&D, "stranger");
	assert_non_null(agent);
	grpc_status_code st;
	Signet__V1__SignResponse *sr = signetd_sign_a(agent, "roll.test.", 1, 1, &st);
	assert_null(sr);
	assert_int_equal(st, GRPC_STATUS_PERMISSION_DENIED);
	Signet__V1__GetKeySetRequest gk = SIGNET__V1__GET_KEY_SET_REQUEST__INIT;
	gk.zone = bin(Z.apex.wire, Z.apex.len);
	assert_int_equal(rpc_call_msg(agent, "GetKeySet", &gk.base, det, sizeof(det), NULL),
			 GRPC_STATUS_PERMISSION_DENIED);
	/* nor administers: refused, and the refusal audited */
	Signet__V1__RolloverRequest rr = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	rr.zone = bin(Z.apex.wire, Z.apex.len);
	rr.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN;
	rr.dnskey = bin(new_ksk.dnskey, new_ksk.dnskey_len);
	assert_int_equal(rpc_call_msg(agent, "Rollover", &rr.base, det, sizeof(det), NULL),
			 GRPC_STATUS_PERMISSION_DENIED);
	char audit[400];
	snprintf(audit, sizeof(audit), "%s/state/audit.log", D.dir);
	assert_true(signetd_log_has(audit, "\"client\":\"stranger.test\",\"action\":\"Rollover\""));
	/* malformed claims */
	Signet__V1__ConfirmDsRequest r = SIGNET__V1__CONFIRM_DS_REQUEST__INIT;
	r.zone = bin(Z.apex.wire, Z.apex.len);
	r.dnskey = bin(new_ksk.dnskey, new_ksk.dnskey_len);
	assert_int_equal(rpc_call_msg(agent, "ConfirmDs", &r.base, det, sizeof(det), NULL),
			 GRPC_STATUS_INVALID_ARGUMENT);
	char *bad[1] = {(char *)"evil\nline"};
	r.agents = bad;
	r.n_agents = 1;
	assert_int_equal(rpc_call_msg(agent, "ConfirmDs", &r.base, det, sizeof(det), NULL),
			 GRPC_STATUS_INVALID_ARGUMENT);
	rpc_close(agent);
}

static void test_files(void **state)
{
	(void)state;
	char path[400], err[1200];
	snprintf(path, sizeof(path), "%s/bad-agents", D.dir);
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{"", "no parental-agent line"},
		{"parental-agent example.com. ns1.example.com\n", "not an IP address"},
		{"parent-agent example.com. 192.0.2.1\n", "unknown key"},
		{"parental-agent example.com. 192.0.2.1 both\n", "auth or resolver"},
		{"parental-agent example.com.\n", "expected parental-agent"},
		{"parental-agent a..b 192.0.2.1\n", "not a zone name"},
		{"parental-agent example.com. 192.0.2.1:70000\n", "not an IP address"},
		{"parental-agent x. 192.0.2.1\nparental-agent X. 192.0.2.1:53\n", "given twice"},
		{"parental-agent x. 192.0.2.1\x01\n", "control character"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(path, bad[i].text);
		pw_config cfg;
		err[0] = '\0';
		assert_int_equal(pw_config_load(path, &cfg, err, sizeof(err)), SIGNET_EPARSE);
		if (!strstr(err, bad[i].needle))
			fail_msg("case %zu: '%s' not in '%s'", i, bad[i].needle, err);
	}
	sg_buf many = SG_BUF_INIT;
	for (unsigned i = 0; i <= PW_AGENTS_MAX; i++)
		assert_int_equal(sg_buf_printf(&many, "parental-agent x. 192.0.2.%u\n", i + 1),
				 SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&many, 0), SIGNET_OK);
	write_text(path, (const char *)many.data);
	pw_config cfg;
	assert_int_equal(pw_config_load(path, &cfg, err, sizeof(err)), SIGNET_EPARSE);
	assert_non_null(strstr(err, "more than 16 agents"));
	sg_buf_free(&many);
	write_text(path, "# parents\nparental-agent Example.COM. [2001:db8::1]:5353 resolver\n"
		   "parental-agent example.com. 192.0.2.1 # auth\n");
	assert_int_equal(pw_config_load(path, &cfg, err, sizeof(err)), SIGNET_OK);
	assert_int_equal(cfg.nzones, 1);
	assert_int_equal(cfg.zones[0].nagents, 2);
	assert_string_equal(cfg.zones[0].agents[0].id, "[2001:db8::1]:5353(resolver)");
	assert_true(cfg.zones[0].agents[0].server.recurse);
	assert_string_equal(cfg.zones[0].agents[1].id, "192.0.2.1:53(auth)");
	assert_false(cfg.zones[0].agents[1].server.recurse);
	pw_config_free(&cfg);

	/* the state: round trip; anything else refused (the watcher starts
	 * afresh, which only delays a confirmation) */
	pw_state st;
	memset(&st, 0, sizeof(st));
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, "example.com."), SIGNET_OK);
	assert_int_equal(pw_state_add(&st, &z, 4711, 13, "192.0.2.1:53(auth)", 1700000000),
			 SIGNET_OK);
	snprintf(path, sizeof(path), "%s/pw.state", D.dir);
	assert_int_equal(pw_state_save(path, &st), SIGNET_OK);
	pw_state_free(&st);
	assert_int_equal(pw_state_load(path, &st, err, sizeof(err)), SIGNET_OK);
	assert_int_equal(st.n, 1);
	assert_non_null(pw_state_find(&st, &z, 4711, 13, "192.0.2.1:53(auth)"));
	pw_state_free(&st);
	static const char *const bad_state[] = {
		"example.com. 70000 13 a 1\n", "example.com. 1 13 a 0\n", "example.com. 1 13\n",
		"a..b 1 13 a 1\n", "example.com. 1 256 a 1\n", "example.com. 1 13 a 1 extra\n",
	};
	for (size_t i = 0; i < sizeof(bad_state) / sizeof(bad_state[0]); i++) {
		write_text(path, bad_state[i]);
		assert_int_equal(pw_state_load(path, &st, err, sizeof(err)), SIGNET_EPARSE);
	}
	snprintf(path, sizeof(path), "%s/no-such-state", D.dir);
	assert_int_equal(pw_state_load(path, &st, err, sizeof(err)), SIGNET_OK);
	assert_int_equal(st.n, 0);
	/* the command line */
	assert_int_equal(run((const char *[]){SIGNET_CLI, "parent-watch", "--help", NULL}), 0);
	assert_non_null(strstr((const char *)out.data, "parental-agent ZONE"));
	assert_int_equal(run((const char *[]){SIGNET_CLI, "parent-watch", "--state", "y", NULL}),
			 2);
	assert_int_equal(run((const char *[]){SIGNET_CLI, "parent-watch", "--interval", "0",
					      "--agents", agents_file, "--state", "y", NULL}), 2);
	assert_non_null(strstr((const char *)out.data, "--interval"));
	snprintf(path, sizeof(path), "%s/bad-agents", D.dir);
	write_text(path, "parental-agent x.\n");
	assert_int_equal(run((const char *[]){SIGNET_CLI, "parent-watch", "--agents", path,
					      "--state", "y", NULL}), 2);
	assert_non_null(strstr((const char *)out.data, "agents:"));
}

static void client_conf(const char *path, const char *who)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "server 127.0.0.1:%d\nserver-name localhost\nca %s/ca.pem\ncert %s/%s.pem\n"
		 "key %s/%s.key\ntimeout 20\n", D.port, D.dir, D.dir, who, D.dir, who);
	write_text(path, text);
}

static int setup(void **state)
{
	(void)state;
	setenv("SIGNETD_TEST_CLOCK", "1", 1);
	static const signetd_opts o = {
		.metrics = true,
		.clients = "  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; },\n"
			   "  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"*\" ]; },\n"
			   "  { identity = \"stranger.test\"; role = \"parent-agent\";"
			   " zones = [ \"roll.test.\" ]; },\n"
			   "  { identity = \"cnonly.test\"; role = \"parent-agent\";"
			   " zones = [ \"other.test.\" ]; allow-cn = true; }\n",
		.extra = "max-connections = 10000;\nmax-connections-per-client = 10000;\n",
	};
	if (signetd_start(&D, &o) != 0)
		return -1;
	set_clock((int64_t)time(NULL));
	signetd_add_zone(&D, "roll.test.", DNS_ALG_ED25519, &Z);
	test_ksk_new(&parent_key);
	test_ksk_new(&new_ksk);
	assert_int_equal(dns_name_from_str(&parent, "test."), SIGNET_OK);
	child = Z.apex;
	assert_int_equal(dns_ds_rdata(&child, D.ksk.dnskey, D.ksk.dnskey_len, 2, &ds_old),
			 SIGNET_OK);
	assert_int_equal(dns_ds_rdata(&child, new_ksk.dnskey, new_ksk.dnskey_len, 2, &ds_new),
			 SIGNET_OK);
	assert_int_equal(sg_buf_append(&ds_wrong, ds_new.data, ds_new.len), SIGNET_OK);
	ds_wrong.data[ds_wrong.len - 1] ^= 0x55;

	snprintf(agent_conf, sizeof(agent_conf), "%s/agent.conf", D.dir);
	snprintf(other_conf, sizeof(other_conf), "%s/other.conf", D.dir);
	client_conf(agent_conf, "stranger");
	client_conf(other_conf, "cnonly");
	sg_buf agents = SG_BUF_INIT;
	for (int i = 0; i < 2; i++) {
		nsd_port[i] = (unsigned)signetd_free_port();
		char dir[200], text[4096], path[400];
		snprintf(dir, sizeof(dir), "%.150s/nsd%d", D.dir, i);
		assert_int_equal(mkdir(dir, 0700), 0);
		snprintf(text, sizeof(text),
			 "server:\n  ip-address: 127.0.0.1\n  port: %u\n  username: \"\"\n"
			 "  chroot: \"\"\n  zonesdir: \"%s\"\n  database: \"\"\n"
			 "  pidfile: \"%s/nsd.pid\"\n  xfrdfile: \"%s/xfrd.state\"\n"
			 "  zonelistfile: \"%s/zone.list\"\n  xfrdir: \"%s\"\n"
			 "  logfile: \"%s/nsd.log\"\n  server-count: 1\n  do-ip6: no\n"
			 "  verbosity: 1\nremote-control:\n  control-enable: no\n"
			 "zone:\n  name: \"test.\"\n  zonefile: \"%s/test.zone\"\n",
			 nsd_port[i], dir, dir, dir, dir, dir, dir, dir);
		snprintf(path, sizeof(path), "%s/nsd.conf", dir);
		write_text(path, text);
		const sg_buf *old1[] = {&ds_old};
		parent_zone(i, old1, 1, false);
		nsd_start(i);
		assert_int_equal(sg_buf_printf(&agents, "parental-agent roll.test. 127.0.0.1:%u%s\n",
					       nsd_port[i], i ? " auth" : ""), SIGNET_OK);
	}
	/* the resolver: Unbound validating from test.'s key */
	unbound_port = (unsigned)signetd_free_port();
	{
		char dir[200], text[4096], path[400];
		snprintf(dir, sizeof(dir), "%.150s/unbound", D.dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		sg_buf ta = SG_BUF_INIT;
		rr_line(&ta, &parent, DNS_T_DNSKEY, parent_key.dnskey, parent_key.dnskey_len);
		snprintf(path, sizeof(path), "%s/test.key", dir);
		assert_int_equal(sg_file_write_atomic(path, ta.data, ta.len, 0600), SIGNET_OK);
		sg_buf_free(&ta);
		snprintf(text, sizeof(text),
			 "server:\n  interface: 127.0.0.1\n  port: %u\n  do-ip6: no\n"
			 "  username: \"\"\n  chroot: \"\"\n  directory: \"%s\"\n  pidfile: \"\"\n"
			 "  do-daemonize: no\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n"
			 "  module-config: \"validator iterator\"\n"
			 /* test. is one of Unbound's default local zones (RFC 6761) */
			 "  local-zone: \"test.\" nodefault\n  trust-anchor-file: \"%s\"\n"
			 "  trust-anchor-signaling: no\n  num-threads: 1\n"
			 "  do-not-query-localhost: no\n"
			 "stub-zone:\n  name: \"test.\"\n  stub-addr: 127.0.0.1@%u\n",
			 unbound_port, dir, path, nsd_port[0]);
		snprintf(path, sizeof(path), "%s/unbound.conf", dir);
		write_text(path, text);
		unbound_start();
		assert_int_equal(sg_buf_printf(&agents,
					       "parental-agent roll.test. 127.0.0.1:%u resolver\n",
					       unbound_port), SIGNET_OK);
	}
	assert_int_equal(sg_buf_put_u8(&agents, 0), SIGNET_OK);
	snprintf(agents_file, sizeof(agents_file), "%s/agents", D.dir);
	snprintf(state_file, sizeof(state_file), "%s/parent-watch.state", D.dir);
	write_text(agents_file, (const char *)agents.data);
	sg_buf_free(&agents);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unbound_stop();
	nsd_stop(0);
	nsd_stop(1);
	test_ksk_free(&parent_key);
	test_ksk_free(&new_ksk);
	sg_buf_free(&ds_old);
	sg_buf_free(&ds_new);
	sg_buf_free(&ds_wrong);
	sg_buf_free(&out);
	signetd_stop_ok(&D);
	return signetd_teardown(&D);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_rollover_waits_then_confirms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
