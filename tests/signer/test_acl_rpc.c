/* test_acl_rpc.c -- per-client rules on owner names and RR types on a real
 * signetd with mutual TLS: an ACME DNS-01 client (TXT at _acme-challenge
 * names only), an ALIAS-flattening front end (A and AAAA at the apex only),
 * a batch with one refused RRset, a SIGHUP that narrows a connected client
 * to a subtree, a broken reload and a broken start. Every refusal is
 * PERMISSION_DENIED naming the rule list, is in the audit log, and signs
 * nothing: the signature counters and the HSM's stay where they were. */
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

#include "tests/lib/signetd_fixture.h"

static signetd_env D;
static signetd_zone ZCOM, ZNET;
static rpc_conn *alias;  /* stranger.test: the ALIAS front end */

#define BODY_MAX (1 << 20)

#define ADMIN "  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; },\n"
#define ALIAS \
	"  { identity = \"stranger.test\"; role = \"signer\";\n" \
	"    zones = [ \"example.com\", \"example.net\" ];\n" \
	"    names = [ \"@\" ]; types = [ \"A\", \"AAAA\" ]; }\n"

static const char acme_clients[] = ADMIN
	"  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"example.com\" ];\n"
	"    names = [ \"_acme-challenge.example.com\", \"_acme-challenge.*.example.com\" ];\n"
	"    types = [ \"TXT\" ]; },\n" ALIAS;

static const char subtree_clients[] = ADMIN
	"  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"example.com\" ];\n"
	"    names = [ \"*.hosts.example.com\" ]; types = [ \"A\" ]; },\n" ALIAS;

static int setup(void **state)
{
	(void)state;
	signetd_opts o = {.clients = acme_clients, .metrics = true};
	if (signetd_start(&D, &o) != 0)
		return -1;
	signetd_add_zone(&D, "example.com.", 13, &ZCOM);
	signetd_add_zone(&D, "example.net.", 13, &ZNET);
	alias = signetd_connect(&D, "stranger");
	return alias ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rpc_close(alias);
	alias = NULL;
	return signetd_teardown(&D);
}

/* ---- signing ------------------------------------------------------------- */

typedef struct rr {
	const char *owner;  /* presentation form */
	uint16_t type;      /* A, AAAA or TXT */
} rr;

typedef struct outcome {
	grpc_status_code st;
	char details[600];
	size_t nsigned;     /* results with an RRSIG */
} outcome;

/* SignRRsets of n RRsets (one RR each) in zone over c. */
static outcome sign(rpc_conn *c, const char *zone, const rr *rrs, size_t n)
{
	static const uint8_t a[4] = {192, 0, 2, 1};
	static const uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	static const uint8_t txt[] = "\x0btoken-value";
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	Signet__V1__RRset rs[8];
	Signet__V1__RRset *rp[8];
	ProtobufCBinaryData rd[8];
	dns_name owners[8], apex;
	assert_true(n <= 8);
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	for (size_t i = 0; i < n; i++) {
		signet__v1__rrset__init(&rs[i]);
		assert_int_equal(dns_name_from_str(&owners[i], rrs[i].owner), SIGNET_OK);
		rs[i].owner = (ProtobufCBinaryData){owners[i].len, owners[i].wire};
		rs[i].type = rrs[i].type;
		rs[i].rclass = 1;
		rs[i].ttl = 300;
		if (rrs[i].type == DNS_T_A)
			rd[i] = (ProtobufCBinaryData){sizeof(a), (uint8_t *)a};
		else if (rrs[i].type == DNS_T_AAAA)
			rd[i] = (ProtobufCBinaryData){sizeof(aaaa), (uint8_t *)aaaa};
		else
			rd[i] = (ProtobufCBinaryData){sizeof(txt) - 1, (uint8_t *)txt};
		rs[i].n_rdata = 1;
		rs[i].rdata = &rd[i];
		rp[i] = &rs[i];
	}
	sr.zone = (ProtobufCBinaryData){apex.len, apex.wire};
	sr.n_rrsets = n;
	sr.rrsets = rp;
	outcome o = {0};
	sg_buf resp = SG_BUF_INIT;
	o.st = rpc_call_msg(c, "SignRRsets", &sr.base, o.details, sizeof(o.details), &resp);
	if (o.st == GRPC_STATUS_OK) {
		Signet__V1__SignResponse *r =
			signet__v1__sign_response__unpack(NULL, resp.len, resp.data);
		assert_non_null(r);
		assert_int_equal(r->n_results, n);
		for (size_t i = 0; i < r->n_results; i++)
			if (r->results[i]->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED &&
			    r->results[i]->n_rrsig == 1)
				o.nsigned++;
		signet__v1__sign_response__free_unpacked(r, NULL);
	}
	sg_buf_free(&resp);
	return o;
}

/* ---- what was signed ----------------------------------------------------- */

/* Signatures made so far: the HSM's count and both zones' series. */
typedef struct tally {
	double hsm, com, net;
} tally;

static double series(const char *body, const signetd_zone *z, const char *source)
{
	char zs[DNS_NAME_STR_MAX], name[1200];
	assert_int_equal(dns_name_to_str(&z->apex, zs, sizeof(zs)), SIGNET_OK);
	snprintf(name, sizeof(name),
		 "signet_signatures_total{zone=\"%s\",key_tag=\"%u\",algorithm=\"%u\",source=\"%s\"}",
		 zs, z->key_tag, z->alg, source);
	double v = signetd_metric(body, name);
	return v < 0 ? 0 : v;
}

static tally count(void)
{
	static char buf[BODY_MAX];
	const char *body = signetd_scrape(&D, buf, sizeof(buf));
	tally t;
	t.hsm = signetd_metric(body, "signet_hsm_sign_duration_seconds_count");
	t.com = series(body, &ZCOM, "hsm") + series(body, &ZCOM, "cache");
	t.net = series(body, &ZNET, "hsm") + series(body, &ZNET, "cache");
	return t;
}

/* The audit log's last line. */
static void last_audit_line(char *out, size_t cap)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/state/audit.log", D.dir);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 64 * 1024 * 1024, &b), SIGNET_OK);
	assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
	size_t start = b.len - 1;
	while (start > 0 && b.data[start - 1] != '\n')
		start--;
	size_t n = b.len - 1 - start;
	assert_true(n < cap);
	memcpy(out, b.data + start, n);
	out[n] = '\0';
	sg_buf_free(&b);
}

/* A call refused as a whole by a rule: PERMISSION_DENIED naming the RRset
 * and the rule list (want), audited as a refusal of who with that reason,
 * and nothing signed. */
static void expect_refused(rpc_conn *c, const char *who, const char *zone, const rr *rrs,
			   size_t n, const char *want)
{
	tally before = count();
	outcome o = sign(c, zone, rrs, n);
	if (o.st != GRPC_STATUS_PERMISSION_DENIED || !strstr(o.details, want))
		fail_msg("%s: status %d '%s', wanted PERMISSION_DENIED with '%s'", rrs[0].owner,
			 (int)o.st, o.details, want);
	tally after = count();
	assert_true(after.hsm == before.hsm);
	assert_true(after.com == before.com);
	assert_true(after.net == before.net);
	char line[4096], client[128];
	last_audit_line(line, sizeof(line));
	snprintf(client, sizeof(client), "\"client\":\"%s\"", who);
	if (!strstr(line, client) || !strstr(line, "\"action\":\"SignRRsets\"") ||
	    !strstr(line, "signed=0 ") || !strstr(line, "\"result\":\"status 7: ") ||
	    !strstr(line, want))
		fail_msg("audit line: %s", line);
}

static void expect_signed(rpc_conn *c, const char *zone, const rr *rrs, size_t n)
{
	tally before = count();
	outcome o = sign(c, zone, rrs, n);
	if (o.st != GRPC_STATUS_OK || o.nsigned != n)
		fail_msg("%s: status %d '%s', %zu of %zu signed", rrs[0].owner, (int)o.st, o.details,
			 o.nsigned, n);
	tally after = count();
	double zone_delta = strcmp(zone, "example.com.") == 0 ? after.com - before.com
							    : after.net - before.net;
	assert_true(zone_delta == (double)n);
	char line[4096];
	last_audit_line(line, sizeof(line));
	assert_non_null(strstr(line, "\"result\":\"ok\""));
}

/* ---- the cases ----------------------------------------------------------- */

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char names_rule[] = "the client's names [_acme-challenge.example.com. "
				 "_acme-challenge.*.example.com.]";

static void test_acme_client(void **state)
{
	(void)state;
	static const rr ok[] = {
		{"_acme-challenge.example.com.", DNS_T_TXT},
		{"_acme-challenge.www.example.com.", DNS_T_TXT},
		{"_ACME-Challenge.A.b.Example.COM.", DNS_T_TXT},
		{"\\095acme-challenge.mail.example.com.", DNS_T_TXT},
	};
	expect_signed(D.signer, "example.com.", ok, N(ok));

	static const rr wrong_type[] = {{"_acme-challenge.www.example.com.", DNS_T_A}};
	expect_refused(D.signer, "ns1.test", "example.com.", wrong_type, 1,
		       "rrsets[0]: 'ns1.test' may not sign it: type A is not in the client's "
		       "types [TXT]");
	static const rr wrong_name[] = {{"www.example.com.", DNS_T_TXT}};
	expect_refused(D.signer, "ns1.test", "example.com.", wrong_name, 1,
		       "owner www.example.com. matches none of");
	expect_refused(D.signer, "ns1.test", "example.com.", wrong_name, 1, names_rule);
	/* one label with a dot in it is not _acme-challenge.www */
	static const rr escaped[] = {{"_acme-challenge\\.www.example.com.", DNS_T_TXT}};
	expect_refused(D.signer, "ns1.test", "example.com.", escaped, 1,
		       "\\.www.example.com. matches none of");
	static const rr deeper[] = {{"x._acme-challenge.www.example.com.", DNS_T_TXT}};
	expect_refused(D.signer, "ns1.test", "example.com.", deeper, 1, names_rule);
	static const rr apex[] = {{"example.com.", DNS_T_TXT}};
	expect_refused(D.signer, "ns1.test", "example.com.", apex, 1, names_rule);
}

static void test_alias_front_end(void **state)
{
	(void)state;
	static const rr com[] = {{"example.com.", DNS_T_A}, {"EXAMPLE.COM.", DNS_T_AAAA}};
	expect_signed(alias, "example.com.", com, N(com));
	static const rr net[] = {{"example.net.", DNS_T_AAAA}};
	expect_signed(alias, "example.net.", net, N(net));
	static const rr below[] = {{"www.example.com.", DNS_T_A}};
	expect_refused(alias, "stranger.test", "example.com.", below, 1,
		       "owner www.example.com. matches none of the client's names [@]");
	static const rr txt[] = {{"example.net.", DNS_T_TXT}};
	expect_refused(alias, "stranger.test", "example.net.", txt, 1,
		       "type TXT is not in the client's types [A AAAA]");
}

/* A batch is refused as a whole for one RRset, as for a zone the client
 * may not sign: the RRsets before and after it are not signed either. */
static void test_batch_with_one_refused(void **state)
{
	(void)state;
	static const rr batch[] = {
		{"_acme-challenge.b1.example.com.", DNS_T_TXT},
		{"_acme-challenge.b2.example.com.", DNS_T_TXT},
		{"b3.example.com.", DNS_T_TXT},
		{"_acme-challenge.b4.example.com.", DNS_T_TXT},
	};
	expect_refused(D.signer, "ns1.test", "example.com.", batch, N(batch),
		       "rrsets[2]: 'ns1.test' may not sign it: owner b3.example.com. matches none");
	/* the same zone refusal, for comparison: also the whole call */
	static const rr other_zone[] = {{"_acme-challenge.example.net.", DNS_T_TXT}};
	outcome o = sign(D.signer, "example.net.", other_zone, 1);
	assert_int_equal(o.st, GRPC_STATUS_PERMISSION_DENIED);
	assert_non_null(strstr(o.details, "may not sign zone example.net."));
	/* without the refused one, the rest signs */
	static const rr good[] = {batch[0], batch[1], batch[3]};
	expect_signed(D.signer, "example.com.", good, N(good));
}

static unsigned log_count(const char *needle)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(D.log, 64 * 1024 * 1024, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	unsigned n = 0;
	for (const char *p = (const char *)b.data; (p = strstr(p, needle)); p++)
		n++;
	sg_buf_free(&b);
	return n;
}

/* Rewrite the configuration with clients, SIGHUP, and wait for needle to
 * appear once more in the log. */
static void reload(const char *clients, const char *needle)
{
	unsigned before = log_count(needle);
	signetd_opts o = {.clients = clients};
	signetd_write_config(&D, D.conf, D.port, D.metrics_port, &o);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	for (long end = signetd_now_ms() + 10000; log_count(needle) == before;
	     signetd_sleep_ms(20))
		if (signetd_now_ms() > end)
			fail_msg("no new '%s' in the log after SIGHUP", needle);
}

/* ns1.test, connected all along on the same channel, is narrowed from the
 * ACME rules to A records strictly below hosts.example.com: its next call
 * already runs under the new rules. A broken file then changes nothing. */
static void test_reload_narrows_connected_client(void **state)
{
	(void)state;
	static const rr acme[] = {{"_acme-challenge.r.example.com.", DNS_T_TXT}};
	expect_signed(D.signer, "example.com.", acme, 1);

	reload(subtree_clients, "SIGHUP: clients and limits reloaded");
	expect_refused(D.signer, "ns1.test", "example.com.", acme, 1,
		       "type TXT is not in the client's types [A]");
	static const rr acme_a[] = {{"_acme-challenge.r.example.com.", DNS_T_A}};
	expect_refused(D.signer, "ns1.test", "example.com.", acme_a, 1,
		       "matches none of the client's names [*.hosts.example.com.]");
	static const rr hosts[] = {
		{"a.hosts.example.com.", DNS_T_A},
		{"B.C.Hosts.Example.Com.", DNS_T_A},
		{"\\000\\255.hosts.example.com.", DNS_T_A},
	};
	expect_signed(D.signer, "example.com.", hosts, N(hosts));
	static const rr top[] = {{"hosts.example.com.", DNS_T_A}};
	expect_refused(D.signer, "ns1.test", "example.com.", top, 1,
		       "owner hosts.example.com. matches none");
	/* the ALIAS front end's rules came through the reload unchanged */
	static const rr com[] = {{"example.com.", DNS_T_A}};
	expect_signed(alias, "example.com.", com, 1);

	/* a rule with two '*' breaks the file: the running rules stay */
	static const char broken[] = ADMIN
		"  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"example.com\" ];\n"
		"    names = [ \"*.*.example.com\" ]; },\n" ALIAS;
	reload(broken, "SIGHUP: reload of");
	assert_true(log_count("clients[1].names[0]: more than one '*' label") >= 1);
	static const rr still[] = {{"d.hosts.example.com.", DNS_T_A}};
	expect_signed(D.signer, "example.com.", still, 1);
	expect_refused(D.signer, "ns1.test", "example.com.", acme, 1,
		       "type TXT is not in the client's types [A]");
}

/* signetd -t on a file with too many rules fails naming the line. */
static void test_config_check(void **state)
{
	(void)state;
	sg_buf clients = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&clients, ADMIN "  { identity = \"ns1.test\"; "
				       "role = \"signer\"; zones = [ \"example.com\" ];\n"
				       "    names = [\n"), SIGNET_OK);
	for (int i = 0; i <= SIGNER_ACL_NAMES_MAX; i++)
		assert_int_equal(sg_buf_printf(&clients, "      \"h%d.example.com\",\n", i),
				 SIGNET_OK);
	assert_int_equal(sg_buf_printf(&clients, "      \"z.example.com\" ]; }\n"), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&clients, 0), SIGNET_OK);
	char path[400], out[400];
	snprintf(path, sizeof(path), "%s/many.conf", D.dir);
	snprintf(out, sizeof(out), "%s/many.out", D.dir);
	signetd_opts o = {.clients = (const char *)clients.data};
	signetd_write_config(&D, path, D.port, 0, &o);
	sg_buf_free(&clients);
	const char *build = getenv("SIGNET_BUILD_DIR");
	assert_non_null(build);
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "'%s/signer/signetd' -t -c '%s' >'%s' 2>&1", build, path, out);
	int st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	/* the header is 12 lines (13 with the user line the fixture writes
	 * under root), the admin 1, ns1's 2, then one rule a line */
	char want[200];
	snprintf(want, sizeof(want), "many.conf:%d: clients[1].names[64]: more than 64 name rules",
		 (geteuid() == 0 ? 13 : 12) + 1 + 2 + 1 + SIGNER_ACL_NAMES_MAX);
	if (!signetd_log_has(out, want)) {
		signetd_sh("cat '%s' >&2", out);
		fail_msg("no '%s'", want);
	}
}

static void test_clean_stop(void **state)
{
	(void)state;
	rpc_close(alias);
	alias = NULL;
	signetd_stop_ok(&D);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acme_client),
		cmocka_unit_test(test_alias_front_end),
		cmocka_unit_test(test_batch_with_one_refused),
		cmocka_unit_test(test_reload_narrows_connected_client),
		cmocka_unit_test(test_config_check),
		cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
