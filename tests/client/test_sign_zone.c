/* test_sign_zone.c -- the signet CLI against a real signetd on 127.0.0.1
 * (test PKI, SoftHSM2 token, a software KSK in the ceremony's place): the
 * admin commands set the zones up, sign-zone's output with NSEC, NSEC3 and
 * NSEC3 opt-out is accepted by dnssec-verify, ldns-verify-zone and
 * kzonecheck, each of which rejects a copy with one flipped signature; an
 * incremental re-sign sends only what changed; every failure ends with its
 * documented exit code; sign, keys and health round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/lib/cli_run.h"
#include "tests/lib/signetd_fixture.h"

extern char **environ;

static signetd_env D;                /* the daemon, its PKI, token and KSK */
static struct {
	char ns1[300], admin[300];   /* client config files */
} T;

static const char *data_dir(void)
{
	const char *d = getenv("SIGNET_TEST_DATA");
	return d ? d : "tests/data";
}

/* Run the CLI with args (NULL-terminated), stdin from in (may be NULL);
 * stdout into out, stderr into err (either may be NULL). Returns the exit
 * status. */
static int cli(const char *in, sg_buf *out, sg_buf *err, const char *const *args)
{
	cli_run_io io = {.dir = D.dir, .in = in, .out = out, .err = err};
	return cli_run(&io, SIGNET_CLI, args);
}

/* cli() that must succeed; prints stderr when it does not. */
static void cli_ok(const char *in, sg_buf *out, const char *const *args)
{
	sg_buf err = SG_BUF_INIT;
	int rc = cli(in, out, &err, args);
	if (rc != 0)
		fail_msg("signet %s: exit %d: %s", args[0], rc, (char *)err.data);
	sg_buf_free(&err);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(sg_file_write_atomic(path, text, strlen(text), 0600), SIGNET_OK);
}

/* The deadline of one call, in seconds. A sanitized signetd signs about
 * 20 times slower, and pipelined batches queue behind each other: on two
 * shared cores busy with other sanitized tests, a batch of test_large_zone
 * took over 20 s. */
#ifdef SIGNET_SANITIZE
#define CALL_TIMEOUT_S 120
#else
#define CALL_TIMEOUT_S 20
#endif

static void client_conf(const char *path, const char *who, const char *ca)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "# client config for %s\nserver 127.0.0.1:%d\nserver-name localhost\n"
		 "ca %s/%s.pem\ncert %s/%s.pem\nkey %s/%s.key\ntimeout %d\n",
		 who, D.port, D.dir, ca, D.dir, who, D.dir, who, CALL_TIMEOUT_S);
	write_file(path, text);
}

/* add-zone with policy algorithm alg and ksk, generate-zsk, export-ksr,
 * the software ceremony, import-bundle. */
static void setup_zone_ksk(const char *zone, const char *denial_flag, uint8_t alg,
			   const test_ksk *ksk)
{
	char kskfile[300], req[300], bundle[300];
	snprintf(kskfile, sizeof(kskfile), "%s/%sksk", D.dir, zone);
	snprintf(req, sizeof(req), "%s/%sksr", D.dir, zone);
	snprintf(bundle, sizeof(bundle), "%s/%sbundle", D.dir, zone);
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(dns_rr_to_text(&apex, DNS_T_DNSKEY, DNS_CLASS_IN, 3600, ksk->dnskey,
					ksk->dnskey_len, &text), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&text, "\n"), SIGNET_OK);
	write_file(kskfile, (char *)text.data);
	sg_buf_free(&text);

	/* a signer may not administer */
	const char *refused[] = {"add-zone", zone, "--ksk", kskfile, "--config", T.ns1, NULL};
	sg_buf err = SG_BUF_INIT;
	assert_int_equal(cli(NULL, NULL, &err, refused), SIGNET_EXIT_REFUSED);
	assert_non_null(strstr((char *)err.data, "PERMISSION_DENIED"));
	sg_buf_free(&err);

	char algtext[8];
	snprintf(algtext, sizeof(algtext), "%u", alg);
	const char *add[] = {"add-zone", zone, "--ksk", kskfile, "--algorithm", algtext,
			     "--config", T.admin, denial_flag, NULL};
	cli_ok(NULL, NULL, add);
	sg_buf out = SG_BUF_INIT;
	const char *gen[] = {"generate-zsk", zone, "--config", T.admin, NULL};
	cli_ok(NULL, &out, gen);
	assert_non_null(strstr((char *)out.data, "state generated"));
	const char *exp[] = {"export-ksr", zone, req, "--days", "14", "--config", T.admin, NULL};
	cli_ok(NULL, NULL, exp);
	sg_buf r = SG_BUF_INIT, b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(req, 1 << 20, &r), SIGNET_OK);
	test_ksk_make_bundle(ksk, r.data, r.len, &b);
	assert_int_equal(sg_file_write_atomic(bundle, b.data, b.len, 0600), SIGNET_OK);
	/* a request is not a bundle */
	const char *imp_req[] = {"import-bundle", zone, req, "--config", T.admin, NULL};
	assert_int_equal(cli(NULL, NULL, NULL, imp_req), SIGNET_EXIT_DATA);
	const char *imp[] = {"import-bundle", zone, bundle, "--config", T.admin, NULL};
	cli_ok(NULL, &out, imp);
	assert_non_null(strstr((char *)out.data, "state active"));
	sg_buf_free(&out);
	sg_buf_free(&r);
	sg_buf_free(&b);
}

/* setup_zone_ksk with algorithm 15 and the fixture's KSK. */
static void setup_zone(const char *zone, const char *denial_flag)
{
	setup_zone_ksk(zone, denial_flag, DNS_ALG_ED25519, &D.ksk);
}

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	signetd_opts o = {
		.clients = "  { identity = \"ns1.test\"; role = \"signer\";"
			   " zones = [ \"example.test\", \"example.com\", \"alg8.test\","
			   " \"alg13.test\", \"alg14.test\", \"alg15.test\" ]; },\n"
			   "  { identity = \"stranger.test\"; role = \"signer\";"
			   " zones = [ \"example.org\" ]; },\n"
			   "  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; }\n",
		.extra = "max-rrsets = 1000;\n",
	};
	if (signetd_start(&D, &o) != 0)
		return -1;
	snprintf(T.ns1, sizeof(T.ns1), "%s/ns1.conf", D.dir);
	snprintf(T.admin, sizeof(T.admin), "%s/admin.conf", D.dir);
	client_conf(T.ns1, "ns1", "ca");
	client_conf(T.admin, "admin", "ca");
	/* signetd answers already (signetd_start waited for Health), so the
	 * CLI must reach it at once. */
	const char *health[] = {"health", "--config", T.admin, NULL};
	sg_buf err = SG_BUF_INIT;
	int rc = cli(NULL, NULL, &err, health);
	if (rc != SIGNET_EXIT_OK) {
		fprintf(stderr, "signet health: exit %d: %s\n", rc, (char *)err.data);
		sg_buf_free(&err);
		return -1;
	}
	sg_buf_free(&err);
	setup_zone("example.test.", "--validity=1209600");
	setup_zone("example.com.", "--nsec3");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	signetd_stop(&D);
	return signetd_teardown(&D);
}

/* ---- validators -------------------------------------------------------- */

static int tool_run(const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof(full), "%s > '%s/validator.log' 2>&1", cmd, D.dir);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static void show_log(void)
{
	signetd_sh("cat '%s/validator.log' >&2", D.dir);
}

/* Judge file with the three validators (ldns-verify-zone not for opt-out:
 * it refuses opted-out delegations by design); all must say expect_ok. */
static void judge(const char *zone, const char *file, bool optout, bool expect_ok)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s -o %s '%s'", DNSSEC_VERIFY, zone, file);
	if ((tool_run(cmd) == 0) != expect_ok) {
		show_log();
		fail_msg("dnssec-verify %s %s", file, expect_ok ? "refused it" : "accepted it");
	}
	if (!optout) {
		snprintf(cmd, sizeof(cmd), "%s '%s'", LDNS_VERIFY_ZONE, file);
		if ((tool_run(cmd) == 0) != expect_ok) {
			show_log();
			fail_msg("ldns-verify-zone %s %s", file,
				 expect_ok ? "refused it" : "accepted it");
		}
	}
	snprintf(cmd, sizeof(cmd), "%s -o %s -d on '%s'", KZONECHECK, zone, file);
	if ((tool_run(cmd) == 0) != expect_ok) {
		show_log();
		fail_msg("kzonecheck %s %s", file, expect_ok ? "refused it" : "accepted it");
	}
}

/* Copy file with one signature octet changed: the RRSIG over the A RRset
 * of owner (a ZSK signature), its base64 altered mid-signature. */
static void flip_signature(const char *file, const char *owner, const char *copy)
{
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	char needle[300];
	snprintf(needle, sizeof(needle), "\n%s\t", owner);
	char *line = (char *)z.data;
	bool done = false;
	while ((line = strstr(line, needle)) && !done) {
		line++;
		char *end = strchr(line, '\n');
		assert_non_null(end);
		*end = '\0';
		if (strstr(line, "RRSIG\tA ")) {
			char *sig = strrchr(line, ' ');
			assert_non_null(sig);
			size_t len = strlen(sig);
			assert_true(len > 40);
			char *c = sig + len / 2;
			*c = *c == 'A' ? 'B' : 'A';
			done = true;
		}
		*end = '\n';
		line = end;
	}
	assert_true(done);
	assert_int_equal(sg_file_write_atomic(copy, z.data, z.len - 1, 0600), SIGNET_OK);
	sg_buf_free(&z);
}

/* Sign in/zone through signetd with extra flags; the summary line's counts. */
static void sign_zone(const char *zone, const char *in, const char *out,
		      const char *const *extra, size_t *reused, size_t *sent)
{
	const char *args[40] = {"sign-zone", "--zone", zone, "--in", in, "--out", out,
				"--config", T.ns1};
	size_t n = 9;
	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	sg_buf err = SG_BUF_INIT;
	int rc = cli(NULL, NULL, &err, args);
	if (rc != 0)
		fail_msg("sign-zone exit %d: %s", rc, (char *)err.data);
	const char *s = strstr((char *)err.data, "RRsets with RRSIGs: ");
	assert_non_null(s);
	size_t total = 0, r = 0, snt = 0;
	assert_int_equal(sscanf(s, "RRsets with RRSIGs: %zu reused, %zu sent", &r, &snt), 2);
	assert_int_equal(sscanf(strstr((char *)err.data, ": ") + 2, "%*s %zu", &total), 1);
	assert_int_equal(r + snt, total);
	if (reused)
		*reused = r;
	if (sent)
		*sent = snt;
	sg_buf_free(&err);
}

static void data_zone(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/zones/%s", data_dir(), name);
}

/* ---- tests ------------------------------------------------------------- */

static void test_nsec(void **state)
{
	(void)state;
	char in[512], out[300], bad[300];
	data_zone("integration.zone", in, sizeof(in));
	snprintf(out, sizeof(out), "%s/nsec.zone", D.dir);
	snprintf(bad, sizeof(bad), "%s/nsec-flipped.zone", D.dir);
	size_t reused = 1, sent = 0;
	sign_zone("example.test.", in, out, NULL, &reused, &sent);
	assert_int_equal(reused, 0);
	assert_true(sent > 20);
	judge("example.test.", out, false, true);
	flip_signature(out, "mail.example.test.", bad);
	judge("example.test.", bad, false, false);
	/* the signed zone has the key set and an NSEC chain, no NSEC3 */
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_file_read(out, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	assert_non_null(strstr((char *)z.data, "\tDNSKEY\t257 3 15 "));
	assert_non_null(strstr((char *)z.data, "\tNSEC\t"));
	assert_null(strstr((char *)z.data, "NSEC3"));
	sg_buf_free(&z);
}

static void test_nsec3_policy(void **state)
{
	(void)state;
	char in[512], out[300], bad[300];
	data_zone("example.com.zone", in, sizeof(in));
	snprintf(out, sizeof(out), "%s/nsec3.zone", D.dir);
	snprintf(bad, sizeof(bad), "%s/nsec3-flipped.zone", D.dir);
	/* no denial flag: the zone's policy (NSEC3) decides */
	const char *extra[] = {"--batch", "5", "--inflight", "3", NULL};
	size_t sent = 0;
	sign_zone("example.com.", in, out, extra, NULL, &sent);
	judge("example.com.", out, false, true);
	flip_signature(out, "mail.example.com.", bad);
	judge("example.com.", bad, false, false);
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_file_read(out, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	assert_non_null(strstr((char *)z.data, "\tNSEC3PARAM\t1 0 0 -"));
	assert_null(strstr((char *)z.data, "\tNSEC\t"));
	sg_buf_free(&z);
}

static void test_nsec3_optout(void **state)
{
	(void)state;
	char in[512], out[300], bad[300];
	data_zone("integration.zone", in, sizeof(in));
	snprintf(out, sizeof(out), "%s/optout.zone", D.dir);
	snprintf(bad, sizeof(bad), "%s/optout-flipped.zone", D.dir);
	const char *extra[] = {"--nsec3", "--opt-out", "--salt", "aabbccdd", NULL};
	sign_zone("example.test.", in, out, extra, NULL, NULL);
	judge("example.test.", out, true, true);
	flip_signature(out, "mail.example.test.", bad);
	judge("example.test.", bad, true, false);
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_file_read(out, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	assert_non_null(strstr((char *)z.data, "\tNSEC3\t1 1 0 aabbccdd "));
	sg_buf_free(&z);
}

/* Replace the first occurrence of from by to in the file src, into dst. */
static void edit_zone(const char *src, const char *dst, const char *from, const char *to)
{
	sg_buf z = SG_BUF_INIT, o = SG_BUF_INIT;
	assert_int_equal(sg_file_read(src, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	char *at = strstr((char *)z.data, from);
	assert_non_null(at);
	assert_int_equal(sg_buf_append(&o, z.data, (size_t)(at - (char *)z.data)), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&o, "%s%s", to, at + strlen(from)), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(dst, o.data, o.len, 0600), SIGNET_OK);
	sg_buf_free(&z);
	sg_buf_free(&o);
}

static void test_incremental(void **state)
{
	(void)state;
	char in[512], in2[300], in3[300], out1[300], out2[300], out3[300], out4[300];
	data_zone("integration.zone", in, sizeof(in));
	snprintf(in2, sizeof(in2), "%s/changed.zone", D.dir);
	snprintf(in3, sizeof(in3), "%s/added.zone", D.dir);
	snprintf(out1, sizeof(out1), "%s/inc1.zone", D.dir);
	snprintf(out2, sizeof(out2), "%s/inc2.zone", D.dir);
	snprintf(out3, sizeof(out3), "%s/inc3.zone", D.dir);
	snprintf(out4, sizeof(out4), "%s/inc4.zone", D.dir);
	size_t reused = 0, sent = 0, first = 0;
	sign_zone("example.test.", in, out1, NULL, &reused, &first);

	/* one A RRset changed; the serial goes up: SOA and that A are sent */
	edit_zone(in, in2, "192.0.2.25", "192.0.2.26");
	const char *inc1[] = {"--incremental", out1, "--serial", "increment", NULL};
	sign_zone("example.test.", in2, out2, inc1, &reused, &sent);
	assert_int_equal(sent, 2);
	assert_int_equal(reused, first - 2);
	judge("example.test.", out2, false, true);
	/* the serial is the old one plus one */
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_file_read(out2, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	assert_non_null(strstr((char *)z.data, " 2026112702 "));
	sg_buf_free(&z);

	/* a new type at an existing name: SOA, the new set and that name's NSEC */
	edit_zone(in2, in3, "mail         IN A     192.0.2.26",
		  "mail         IN A     192.0.2.26\nmail IN TXT \"new\"");
	const char *inc2[] = {"--incremental", out2, "--serial", "increment", NULL};
	sign_zone("example.test.", in3, out3, inc2, &reused, &sent);
	assert_int_equal(sent, 3);
	assert_int_equal(reused, first - 2);
	judge("example.test.", out3, false, true);

	/* the input's serial kept: only the SOA differs from out3; then nothing
	 * changed and nothing is sent; a refresh margin larger than the validity
	 * left sends everything again */
	const char *inc3[] = {"--incremental", out3, "--serial", "keep", NULL};
	sign_zone("example.test.", in3, out4, inc3, &reused, &sent);
	assert_int_equal(sent, 1);
	const char *inc3b[] = {"--incremental", out4, "--serial", "keep", NULL};
	sign_zone("example.test.", in3, out3, inc3b, &reused, &sent);
	assert_int_equal(sent, 0);
	assert_int_equal(reused, first + 1);
	judge("example.test.", out3, false, true);
	const char *inc4[] = {"--incremental", out3, "--refresh", "31000000", NULL};
	sign_zone("example.test.", in3, out4, inc4, &reused, &sent);
	assert_int_equal(reused, 0);
	assert_int_equal(sent, first + 1);
}

/* Every algorithm signet offers, signed through signetd (a ZSK of that
 * algorithm made in SoftHSM2, a KSK of the same algorithm in software),
 * judged by dnssec-verify, ldns-verify-zone and kzonecheck, each of which
 * also refuses a copy with one signature changed. */
static void test_algorithms(void **state)
{
	(void)state;
	const uint8_t algs[] = {DNS_ALG_RSASHA256, DNS_ALG_ECDSAP256SHA256,
				DNS_ALG_ECDSAP384SHA384, DNS_ALG_ED25519};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		unsigned alg = algs[i];
		char zone[32], in[300], out[300], bad[300], www[64], want[64];
		snprintf(zone, sizeof(zone), "alg%u.test.", alg);
		snprintf(in, sizeof(in), "%s/alg%u.zone", D.dir, alg);
		snprintf(out, sizeof(out), "%s/alg%u.signed", D.dir, alg);
		snprintf(bad, sizeof(bad), "%s/alg%u.flipped", D.dir, alg);
		snprintf(www, sizeof(www), "www.%s", zone);
		test_ksk ksk;
		test_ksk_new_alg(&ksk, (uint8_t)alg);
		setup_zone_ksk(zone, NULL, (uint8_t)alg, &ksk);
		test_ksk_free(&ksk);
		char text[600];
		snprintf(text, sizeof(text),
			 "$ORIGIN %s\n$TTL 3600\n"
			 "@ SOA ns1 hostmaster 1 7200 3600 1209600 3600\n@ NS ns1\n@ MX 10 mail\n"
			 "ns1 A 192.0.2.1\nwww A 192.0.2.2\nwww AAAA 2001:db8::2\n"
			 "mail A 192.0.2.3\n_x._tcp SRV 0 0 80 www\n", zone);
		write_file(in, text);
		sign_zone(zone, in, out, NULL, NULL, NULL);
		sg_buf z = SG_BUF_INIT;
		assert_int_equal(sg_file_read(out, 1 << 24, &z), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
		snprintf(want, sizeof(want), "\tDNSKEY\t256 3 %u ", alg);
		if (!strstr((char *)z.data, want))
			fail_msg("%s: no ZSK of algorithm %u", zone, alg);
		snprintf(want, sizeof(want), "\tDNSKEY\t257 3 %u ", alg);
		assert_non_null(strstr((char *)z.data, want));
		snprintf(want, sizeof(want), "\tRRSIG\tA %u ", alg);
		assert_non_null(strstr((char *)z.data, want));
		sg_buf_free(&z);
		judge(zone, out, false, true);
		flip_signature(out, www, bad);
		judge(zone, bad, false, false);
	}
}

/* An ldnsutils program next to ldns-verify-zone. */
static void ldns_tool(const char *name, char *path, size_t len)
{
	const char *slash = strrchr(LDNS_VERIFY_ZONE, '/');
	int dir = slash ? (int)(slash - LDNS_VERIFY_ZONE + 1) : 0;
	snprintf(path, len, "%.*s%s", dir, LDNS_VERIFY_ZONE, name);
}

/* dst: src edited by hand, as an operator might: a comment, blanks instead
 * of tabs, the NSEC lines with a trailing comment and the first RRSIG over
 * an A set spread over lines in parentheses (so ldns reads those). */
static void hand_edit(const char *src, const char *dst)
{
	sg_buf z = SG_BUF_INIT, o = SG_BUF_INIT;
	assert_int_equal(sg_file_read(src, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&o, "; edited by hand\n\n"), SIGNET_OK);
	bool split = false;
	char *save = NULL;
	for (char *l = strtok_r((char *)z.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		for (char *c = l; *c; c++)
			if (*c == '\t')
				*c = ' ';
		if (strstr(l, " NSEC ")) {
			assert_int_equal(sg_buf_printf(&o, "%s ; next name\n", l), SIGNET_OK);
		} else if (!split && strstr(l, " RRSIG A ")) {
			char *sig = strrchr(l, ' ');
			*sig = '\0';
			assert_int_equal(sg_buf_printf(&o, "%s (\n\t%s )\n", l, sig + 1), SIGNET_OK);
			split = true;
		} else {
			assert_int_equal(sg_buf_printf(&o, "%s\n", l), SIGNET_OK);
		}
	}
	assert_true(split);
	assert_int_equal(sg_file_write_atomic(dst, o.data, o.len, 0600), SIGNET_OK);
	sg_buf_free(&z);
	sg_buf_free(&o);
}

static void assert_same_file(const char *a, const char *b)
{
	sg_buf x = SG_BUF_INIT, y = SG_BUF_INIT;
	assert_int_equal(sg_file_read(a, 1 << 24, &x), SIGNET_OK);
	assert_int_equal(sg_file_read(b, 1 << 24, &y), SIGNET_OK);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	sg_buf_free(&x);
	sg_buf_free(&y);
}

/* The line number of the first line of file holding needle (1-based). */
static unsigned line_of(const char *file, const char *needle)
{
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	char *at = strstr((char *)z.data, needle);
	assert_non_null(at);
	unsigned n = 1;
	for (char *c = (char *)z.data; c < at; c++)
		n += *c == '\n';
	sg_buf_free(&z);
	return n;
}

/* --incremental reads an OLD that signet did not write as it wrote it:
 * edited by hand, reprinted by ldns-read-zone, signed by ldns-signzone;
 * and refuses a malformed one naming its line. */
static void test_incremental_old_forms(void **state)
{
	(void)state;
	char in[512], out1[300], old[300], out2[300], tool[300], cmd[2048];
	data_zone("integration.zone", in, sizeof(in));
	snprintf(out1, sizeof(out1), "%s/forms1.zone", D.dir);
	snprintf(old, sizeof(old), "%s/forms-old.zone", D.dir);
	snprintf(out2, sizeof(out2), "%s/forms2.zone", D.dir);
	const char *keep[] = {"--serial", "keep", NULL};
	size_t reused = 0, sent = 0, first = 0;
	sign_zone("example.test.", in, out1, keep, NULL, &first);
	const char *inc[] = {"--incremental", old, "--serial", "keep", NULL};

	/* edited by hand: every RRSIG is kept, the output is the same zone */
	hand_edit(out1, old);
	sign_zone("example.test.", in, out2, inc, &reused, &sent);
	assert_int_equal(sent, 0);
	assert_int_equal(reused, first);
	assert_same_file(out1, out2);

	/* reprinted by ldns */
	ldns_tool("ldns-read-zone", tool, sizeof(tool));
	snprintf(cmd, sizeof(cmd), "(%s '%s' > '%s')", tool, out1, old);
	assert_int_equal(tool_run(cmd), 0);
	sign_zone("example.test.", in, out2, inc, &reused, &sent);
	assert_int_equal(sent, 0);
	assert_same_file(out1, out2);

	/* signed by ldns-signzone with keys of its own: nothing to reuse, all
	 * signed again, and the result validates */
	ldns_tool("ldns-keygen", tool, sizeof(tool));
	char kname[400];
	snprintf(cmd, sizeof(cmd), "(cd '%s' && %s -a ECDSAP256SHA256 example.test > ldnskey.name)",
		 D.dir, tool);
	assert_int_equal(tool_run(cmd), 0);
	snprintf(kname, sizeof(kname), "%s/ldnskey.name", D.dir);
	sg_buf kn = SG_BUF_INIT;
	assert_int_equal(sg_file_read(kname, 4096, &kn), SIGNET_OK);
	while (kn.len && (kn.data[kn.len - 1] == '\n' || kn.data[kn.len - 1] == ' '))
		kn.len--;
	ldns_tool("ldns-signzone", tool, sizeof(tool));
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s -o example.test. -f '%s' '%s' '%.*s'", D.dir,
		 tool, old, in, (int)kn.len, (char *)kn.data);
	sg_buf_free(&kn);
	assert_int_equal(tool_run(cmd), 0);
	sign_zone("example.test.", in, out2, inc, &reused, &sent);
	assert_int_equal(reused, 0);
	assert_int_equal(sent, first);
	judge("example.test.", out2, false, true);

	/* malformed: a broken RRSIG, a cut line, a bad address; each a data
	 * error naming the file and line, nothing written */
	static const struct {
		const char *from, *to;
	} bad[] = {
		{"\tRRSIG\tSOA ", "\tRRSIG\tSOA 13 2 x"},
		{"\tIN\tNSEC\t", "\tIN\tNSEC"},
		{"\tIN\tA\t", "\tIN\tA\t300."},
	};
	const char *args[] = {"sign-zone", "--zone", "example.test.", "--in", in, "--out", out2,
			      "--config", T.ns1, "--incremental", old, NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		edit_zone(out1, old, bad[i].from, bad[i].to);
		unsigned line = line_of(old, bad[i].to);
		(void)unlink(out2);   /* written by the runs above */
		sg_buf err = SG_BUF_INIT;
		assert_int_equal(cli(NULL, NULL, &err, args), SIGNET_EXIT_DATA);
		char want[400];
		snprintf(want, sizeof(want), "%s:%u:", old, line);
		if (!strstr((char *)err.data, want))
			fail_msg("no '%s' in: %s", want, (char *)err.data);
		assert_int_equal(access(out2, F_OK), -1);
		sg_buf_free(&err);
	}
}

/* Copy src to dst (which may be src), replacing in lines holding needle the
 * first from by to; at most max lines, 0 for all; asserts one was changed. */
static void edit_lines(const char *src, const char *dst, const char *needle, const char *from,
		       const char *to, size_t max)
{
	sg_buf z = SG_BUF_INIT, o = SG_BUF_INIT;
	assert_int_equal(sg_file_read(src, 1 << 24, &z), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	size_t done = 0;
	char *save = NULL;
	for (char *l = strtok_r((char *)z.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *at = strstr(l, needle) && (max == 0 || done < max) ? strstr(l, from) : NULL;
		if (at == NULL) {
			assert_int_equal(sg_buf_printf(&o, "%s\n", l), SIGNET_OK);
			continue;
		}
		assert_int_equal(sg_buf_printf(&o, "%.*s%s%s\n", (int)(at - l), l, to,
					       at + strlen(from)),
				 SIGNET_OK);
		done++;
	}
	if (done == 0)
		fail_msg("no line of %s with '%s' holds '%s'", src, needle, from);
	assert_int_equal(sg_file_write_atomic(dst, o.data, o.len, 0600), SIGNET_OK);
	sg_buf_free(&z);
	sg_buf_free(&o);
}

/* --incremental reads each old RRSIG's fields in place and makes an old
 * RRset canonical only when it differs from the new one octet for octet:
 * a signer in upper case is still the zone, a set spelled differently but
 * equal in canonical form keeps its RRSIGs, while an RRSIG of another
 * signer or original TTL is made again. */
static void test_incremental_old_checks(void **state)
{
	(void)state;
	char in[512], out1[300], old[300], out2[300];
	data_zone("integration.zone", in, sizeof(in));
	snprintf(out1, sizeof(out1), "%s/checks1.zone", D.dir);
	snprintf(old, sizeof(old), "%s/checks-old.zone", D.dir);
	snprintf(out2, sizeof(out2), "%s/checks2.zone", D.dir);
	const char *keep[] = {"--serial", "keep", NULL};
	const char *inc[] = {"--incremental", old, "--serial", "keep", NULL};
	size_t reused = 0, sent = 0, first = 0;
	sign_zone("example.test.", in, out1, keep, NULL, &first);

	edit_lines(out1, old, "\tRRSIG\t", " example.test. ", " EXAMPLE.TEST. ", 0);
	edit_lines(old, old, "\tMX\t", "Mail.Example.Test.", "mail.example.test.", 0);
	sign_zone("example.test.", in, out2, inc, &reused, &sent);
	assert_int_equal(sent, 0);
	assert_int_equal(reused, first);
	judge("example.test.", out2, false, true);

	edit_lines(out1, old, "\tRRSIG\tA ", " example.test. ", " other.test. ", 1);
	/* the apex AAAA: two labels; another original TTL */
	edit_lines(old, old, "\tRRSIG\tAAAA ", " 2 3600 ", " 2 7200 ", 1);
	sign_zone("example.test.", in, out2, inc, &reused, &sent);
	assert_int_equal(sent, 2);
	assert_int_equal(reused, first - 2);
	judge("example.test.", out2, false, true);
}

static void test_errors(void **state)
{
	(void)state;
	char in[512], bad[300], out[300], other[300], port[32], ca2[300];
	data_zone("integration.zone", in, sizeof(in));
	snprintf(bad, sizeof(bad), "%s/bad.zone", D.dir);
	snprintf(out, sizeof(out), "%s/never.zone", D.dir);
	snprintf(other, sizeof(other), "%s/other.zone", D.dir);
	snprintf(port, sizeof(port), "127.0.0.1:%d", signetd_free_port());
	snprintf(ca2, sizeof(ca2), "%s/ca2.pem", D.dir);
	sg_buf err = SG_BUF_INIT;

	/* a bad line: data error naming file and line (line 15: ns1's A) */
	edit_zone(in, bad, "192.0.2.53", "192.0.2.300");
	const char *a1[] = {"sign-zone", "--zone", "example.test.", "--in", bad, "--out", out,
			    "--config", T.ns1, NULL};
	assert_int_equal(cli(NULL, NULL, &err, a1), SIGNET_EXIT_DATA);
	char want[400];
	snprintf(want, sizeof(want), "%s:15:", bad);
	if (!strstr((char *)err.data, want))
		fail_msg("no '%s' in: %s", want, (char *)err.data);
	assert_int_equal(access(out, F_OK), -1);

	/* usage */
	const char *a2[] = {"sign-zone", "--zone", "example.test.", "--in", in, NULL};
	assert_int_equal(cli(NULL, NULL, NULL, a2), SIGNET_EXIT_USAGE);
	const char *a3[] = {"sign-zone", "--zone", "example.test.", "--in", in, "--out", out,
			    "--batch", "0", "--config", T.ns1, NULL};
	assert_int_equal(cli(NULL, NULL, NULL, a3), SIGNET_EXIT_USAGE);

	/* nobody listening; a server certificate from a CA we do not trust */
	const char *a4[] = {"sign-zone", "--zone", "example.test.", "--in", in, "--out", out,
			    "--config", T.ns1, "--server", port, "--timeout", "5", NULL};
	assert_int_equal(cli(NULL, NULL, &err, a4), SIGNET_EXIT_CONNECT);
	assert_non_null(strstr((char *)err.data, "UNAVAILABLE"));
	const char *a5[] = {"sign-zone", "--zone", "example.test.", "--in", in, "--out", out,
			    "--config", T.ns1, "--ca", ca2, NULL};
	assert_int_equal(cli(NULL, NULL, &err, a5), SIGNET_EXIT_CONNECT);
	const char *h[] = {"health", "--config", T.ns1, "--ca", ca2, NULL};
	assert_int_equal(cli(NULL, NULL, NULL, h), SIGNET_EXIT_CONNECT);

	/* a zone this client may not sign */
	write_file(other, "$ORIGIN example.org.\n@ 3600 IN SOA ns hm 1 2 3 4 5\n"
			  "@ 3600 IN NS ns\nns 3600 IN A 192.0.2.1\n");
	const char *a6[] = {"sign-zone", "--zone", "example.org.", "--in", other, "--out", out,
			    "--config", T.ns1, NULL};
	assert_int_equal(cli(NULL, NULL, &err, a6), SIGNET_EXIT_REFUSED);
	assert_non_null(strstr((char *)err.data, "PERMISSION_DENIED"));
	/* allowed, but the zone does not exist in signetd */
	char sconf[300];
	snprintf(sconf, sizeof(sconf), "%s/stranger.conf", D.dir);
	client_conf(sconf, "stranger", "ca");
	const char *a7[] = {"sign-zone", "--zone", "example.org.", "--in", other, "--out", out,
			    "--config", sconf, NULL};
	assert_int_equal(cli(NULL, NULL, &err, a7), SIGNET_EXIT_REFUSED);
	assert_int_equal(access(out, F_OK), -1);

	/* a broken client config names its line */
	char cfg[300];
	snprintf(cfg, sizeof(cfg), "%s/broken.conf", D.dir);
	write_file(cfg, "server 127.0.0.1:1\nca relative.pem\n");
	const char *a8[] = {"health", "--config", cfg, NULL};
	assert_int_equal(cli(NULL, NULL, &err, a8), SIGNET_EXIT_USAGE);
	assert_non_null(strstr((char *)err.data, "broken.conf:2:"));
	sg_buf_free(&err);
}

/* Parse RR lines of text of the given type into parallel arrays. */
static size_t parse_rrs(const char *text, uint16_t want, sg_buf *rdata, size_t *offs,
			size_t *lens, size_t max)
{
	size_t n = 0;
	char *copy = strdup(text), *save = NULL;
	assert_non_null(copy);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *semi = strchr(l, ';');
		if (semi)
			*semi = '\0';
		dns_name owner;
		uint16_t type, rclass;
		uint32_t ttl;
		size_t before = rdata->len;
		if (dns_rr_from_text(l, NULL, &owner, &type, &rclass, &ttl, rdata) != SIGNET_OK)
			continue;
		if (type != want || n == max) {
			rdata->len = before;
			continue;
		}
		offs[n] = before;
		lens[n++] = rdata->len - before;
	}
	free(copy);
	return n;
}

static void test_sign_keys_health(void **state)
{
	(void)state;
	char in[300];
	snprintf(in, sizeof(in), "%s/rrs.txt", D.dir);
	write_file(in, "; two RRsets, one with two RRs out of order\n"
		       "www 300 IN A 192.0.2.2\n"
		       "txt.example.test. 600 IN TXT \"hello\"\n"
		       "www 300 IN A 192.0.2.1\n");
	sg_buf out = SG_BUF_INIT, keys = SG_BUF_INIT, err = SG_BUF_INIT;
	const char *s[] = {"sign", "--zone", "example.test", "--config", T.ns1, NULL};
	cli_ok(in, &out, s);
	const char *k[] = {"keys", "example.test.", "--dnskey", "--config", T.admin, NULL};
	cli_ok(NULL, &keys, k);

	sg_buf rd = SG_BUF_INIT;
	size_t koff[8], klen[8], soff[8], slen[8];
	size_t nk = parse_rrs((char *)keys.data, DNS_T_DNSKEY, &rd, koff, klen, 8);
	size_t ns = parse_rrs((char *)out.data, DNS_T_RRSIG, &rd, soff, slen, 8);
	assert_int_equal(ns, 2);
	assert_true(nk >= 2);
	dns_name apex, www, txt;
	assert_int_equal(dns_name_from_str(&apex, "example.test."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&www, "www.example.test."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&txt, "txt.example.test."), SIGNET_OK);
	dns_rrset a, t;
	dns_rrset_init(&a, &www, DNS_T_A, DNS_CLASS_IN, 300);
	assert_int_equal(dns_rrset_add(&a, (const uint8_t[]){192, 0, 2, 1}, 4), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&a, (const uint8_t[]){192, 0, 2, 2}, 4), SIGNET_OK);
	dns_rrset_init(&t, &txt, DNS_T_TXT, DNS_CLASS_IN, 600);
	assert_int_equal(dns_rrset_add(&t, (const uint8_t *)"\x05hello", 6), SIGNET_OK);
	/* each RRSIG verifies with one of the listed keys (the ZSK) */
	uint32_t now = (uint32_t)time(NULL);
	for (size_t i = 0; i < ns; i++) {
		dns_rrsig sig;
		assert_int_equal(dns_rrsig_from_rdata(&sig, rd.data + soff[i], slen[i]), SIGNET_OK);
		const dns_rrset *set = sig.type_covered == DNS_T_A ? &a : &t;
		bool ok = false;
		for (size_t j = 0; j < nk && !ok; j++)
			ok = dns_rrsig_verify(&sig, set, rd.data + koff[j], klen[j], &apex, now) ==
			     SIGNET_OK;
		assert_true(ok);
		/* and not over other data */
		rd.data[soff[i] + slen[i] - 3] ^= 1;
		assert_int_equal(dns_rrsig_from_rdata(&sig, rd.data + soff[i], slen[i]), SIGNET_OK);
		for (size_t j = 0; j < nk; j++)
			assert_int_not_equal(dns_rrsig_verify(&sig, set, rd.data + koff[j], klen[j],
							      &apex, now), SIGNET_OK);
	}
	dns_rrset_clear(&a);
	dns_rrset_clear(&t);
	sg_buf_free(&rd);

	/* keys as a table */
	const char *k2[] = {"keys", "--config", T.admin, NULL};
	cli_ok(NULL, &keys, k2);
	assert_non_null(strstr((char *)keys.data, "example.com."));
	assert_non_null(strstr((char *)keys.data, "active"));
	const char *k3[] = {"keys", "--config", T.ns1, NULL};
	assert_int_equal(cli(NULL, NULL, NULL, k3), SIGNET_EXIT_REFUSED);

	/* an RRset the server refuses (DS at the apex) fails alone */
	write_file(in, "www 300 IN A 192.0.2.1\n@ 300 IN DS 1 15 2 "
		       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	assert_int_equal(cli(in, &out, &err, s), SIGNET_EXIT_DATA);
	assert_non_null(strstr((char *)err.data, "INVALID_ARGUMENT"));
	assert_non_null(strstr((char *)out.data, "RRSIG\tA "));
	/* a malformed line names the line */
	write_file(in, "www 300 IN A 192.0.2.1\nwww 300 IN AAAA nonsense\n");
	assert_int_equal(cli(in, NULL, &err, s), SIGNET_EXIT_DATA);
	assert_non_null(strstr((char *)err.data, "stdin:2:"));

	/* health: both zones healthy */
	const char *h[] = {"health", "--config", T.ns1, NULL};
	cli_ok(NULL, &out, h);
	assert_non_null(strstr((char *)out.data, "token: present, logged in"));
	assert_non_null(strstr((char *)out.data, "zone example.test.: active ZSK yes"));
	assert_non_null(strstr((char *)out.data, "status: ok"));
	/* a warning threshold beyond the key set's end makes it unhealthy */
	const char *h2[] = {"health", "--config", T.ns1, "--warn", "30000000", NULL};
	assert_int_equal(cli(NULL, &out, NULL, h2), SIGNET_EXIT_FAIL);
	assert_non_null(strstr((char *)out.data, "UNHEALTHY"));
	sg_buf_free(&out);
	sg_buf_free(&keys);
	sg_buf_free(&err);
}

/* A zone of many names (3000, 300 when sanitized, or $SIGNET_BENCH_NAMES)
 * through the default batching and pipelining: accepted by dnssec-verify,
 * and the rate printed. */
static void test_large_zone(void **state)
{
	(void)state;
	long names = 3000;
#ifdef SIGNET_SANITIZE
	names = 300;  /* a sanitized signetd signs about 20 times slower */
#endif
	const char *env = getenv("SIGNET_BENCH_NAMES");
	if (env && atol(env) > 0)
		names = atol(env);
	char in[300], out[300];
	snprintf(in, sizeof(in), "%s/large.zone", D.dir);
	snprintf(out, sizeof(out), "%s/large.signed", D.dir);
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&z, "$ORIGIN example.test.\n$TTL 3600\n"
				       "@ IN SOA ns1 hm 1 7200 3600 1209600 300\n@ IN NS ns1\n"
				       "ns1 IN A 192.0.2.53\n"), SIGNET_OK);
	for (long i = 0; i < names; i++)
		assert_int_equal(sg_buf_printf(&z, "h%ld IN A 198.51.%ld.%ld\n", i,
					       (i >> 8) & 255, i & 255), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(in, z.data, z.len, 0600), SIGNET_OK);
	sg_buf_free(&z);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t sent = 0;
	const char *extra[] = {"--nsec", NULL};
	sign_zone("example.test.", in, out, extra, NULL, &sent);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* SOA, NS, ns1 A, every name's A, and one NSEC per owner */
	assert_int_equal(sent, 3 + 2 * (size_t)names + 2);
	fprintf(stderr, "sign-zone: %zu RRsets signed through signetd in %.2f s (%.0f/s),"
		" whole command\n", sent, secs, (double)sent / secs);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "%s -o example.test. '%s'", DNSSEC_VERIFY, out);
	if (tool_run(cmd) != 0) {
		show_log();
		fail_msg("dnssec-verify refused the large zone");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nsec),
		cmocka_unit_test(test_nsec3_policy),
		cmocka_unit_test(test_nsec3_optout),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_incremental_old_forms),
		cmocka_unit_test(test_incremental_old_checks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_sign_keys_health),
		cmocka_unit_test(test_large_zone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
