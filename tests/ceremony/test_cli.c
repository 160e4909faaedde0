/* test_cli.c -- a scripted 2-of-3 ceremony through the signet-ceremony binary, every exit code, and no secret in anything it wrote or said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ceremony/ceremony.h"
#include "tests/lib/ceremony_fixture.h"

#define ZONE "example.com."
#define LABEL "signet-ksk"

extern char **environ;

static cer_fixture cf;         /* operators' files, the ceremony directory, shares */
static const char *const names[3] = {"alice", "bob", "carol"};
static const char *const pws[3] = {"alice passphrase 1", "bob passphrase 22",
				   "carol passphrase 333"};
static char ksk_id[2 * HSM_ID_MAX + 1];
static sg_buf said;            /* everything the tool printed, for the scan */

static void in_dir(char *out, size_t len, const char *name)
{
	cfx_path(&cf, out, len, name);
}

static void fresh(char *out, size_t len, const char *stem)
{
	cfx_fresh(&cf, out, len, stem);
}

/* Run signet-ceremony with args (NULL-terminated); stdout and stderr go to
 * out (and to said). Returns the exit status; a crash fails the test. */
static int run_tool(sg_buf *out, const char *const *args)
{
	char log[700];
	snprintf(log, sizeof(log), "%s/tool.out", cf.fx->dir);
	const char *argv[48];
	cfx_tool_argv(SIGNET_CEREMONY, args, argv, 48);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* A session of its own: no controlling terminal, as in a script. */
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, SIGNET_CEREMONY, &fa, &at, (char *const *)argv,
				     environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	sg_buf_reset(out);
	assert_int_equal(sg_file_read(log, 1 << 20, out), SIGNET_OK);
	assert_int_equal(sg_buf_append(&said, out->data, out->len), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(out, 0), SIGNET_OK);
	out->len--;
	unlink(log);
	if (!WIFEXITED(st))
		fail_msg("signet-ceremony %s died with signal %d", args[0], WTERMSIG(st));
	return WEXITSTATUS(st);
}

/* Run and check the exit status and, if needle is given, the output. */
static void tool(int want, const char *needle, const char *const *args)
{
	sg_buf out = SG_BUF_INIT;
	int rc = run_tool(&out, args);
	if (rc != want || (needle != NULL && strstr((const char *)out.data, needle) == NULL))
		fail_msg("signet-ceremony %s: exit %d, wanted %d with \"%s\"; said:\n%s", args[0],
			 rc, want, needle ? needle : "", out.len ? (const char *)out.data : "");
	sg_buf_free(&out);
}

static void spec_of(int who, char *out, size_t len)
{
	snprintf(out, len, "file:%s/%s.pw", cf.dir, names[who]);
}

static void keyfile(int who, char *out, size_t len)
{
	snprintf(out, len, "%s", cf.keyfile[who]);
}

static void approve(const char *req, int who, char *out, size_t len)
{
	char key[700], spec[700];
	keyfile(who, key, sizeof(key));
	spec_of(who, spec, sizeof(spec));
	fresh(out, len, "approval");
	const char *args[] = {"approve", "--request", req, "--key", key, "--passphrase", spec,
			      "--out", out, NULL};
	tool(0, NULL, args);
}

static int setup(void **state)
{
	(void)state;
	cfx_opts o = {.nops = 3, .names = names, .pws = pws, .shares_dir = true};
	if (cfx_create(&cf, &o) != SIGNET_OK)
		return -1;
	for (int i = 0; i < 3; i++) {
		char f[700];
		snprintf(f, sizeof(f), "%s/%s.pw", cf.dir, names[i]);
		if (sg_file_write_atomic(f, pws[i], strlen(pws[i]), 0600) != SIGNET_OK)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sg_buf_free(&said);
	cfx_destroy(&cf);
	return 0;
}

static void test_usage_and_enroll(void **state)
{
	(void)state;
	const char *none[] = {NULL};
	tool(2, "usage", none);
	/* --help is asked for: usage on stdout, status 0 */
	const char *help[] = {"--help", NULL};
	tool(0, "usage: signet-ceremony", help);
	const char *cmdhelp[] = {"execute", "--help", NULL};
	tool(0, "verify-log", cmdhelp);
	const char *unknown_opt[] = {"--frobnicate", NULL};
	tool(2, "usage", unknown_opt);
	const char *unknown[] = {"frobnicate", NULL};
	tool(2, "usage", unknown);
	const char *badopt[] = {"show", "--bogus", "x", NULL};
	tool(2, "bad option --bogus", badopt);
	const char *missing[] = {"show", "--request", "/nonexistent/request", NULL};
	tool(1, "cannot read", missing);

	char key[700], pub[700], spec[700];
	for (int i = 0; i < 3; i++) {
		keyfile(i, key, sizeof(key));
		snprintf(pub, sizeof(pub), "%s", cf.pubfile[i]);
		spec_of(i, spec, sizeof(spec));
		const char *args[] = {"enroll", "--name", names[i], "--key", key, "--pub", pub,
				      "--passphrase", spec, NULL};
		tool(0, NULL, args);
		struct stat st;
		assert_int_equal(stat(key, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* never overwritten */
	keyfile(0, key, sizeof(key));
	spec_of(0, spec, sizeof(spec));
	const char *again[] = {"enroll", "--name", "alice", "--key", key, "--pub", pub,
			       "--passphrase", spec, NULL};
	tool(1, "cannot create", again);

	/* the passphrase itself where its source belongs: refused, not repeated */
	char dk[700], dp[700];
	in_dir(dk, sizeof(dk), "dave.key");
	in_dir(dp, sizeof(dp), "dave.pub");
	const char *literal[] = {"enroll", "--name", "dave", "--key", dk, "--pub", dp,
				 "--passphrase", "dave passphrase 4444", NULL};
	sg_buf out = SG_BUF_INIT;
	assert_int_equal(run_tool(&out, literal), 2);
	assert_non_null(strstr((const char *)out.data, "never taken from the command line"));
	assert_null(strstr((const char *)out.data, "dave passphrase"));
	assert_int_not_equal(access(dk, F_OK), 0);
	/* a passphrase file others may read */
	char loose[700], lspec[720];
	in_dir(loose, sizeof(loose), "dave.pw");
	assert_int_equal(sg_file_write_atomic(loose, "dave passphrase 4444", 20, 0644), SIGNET_OK);
	snprintf(lspec, sizeof(lspec), "file:%s", loose);
	const char *lax[] = {"enroll", "--name", "dave", "--key", dk, "--pub", dp,
			     "--passphrase", lspec, NULL};
	assert_int_equal(run_tool(&out, lax), 3);
	assert_non_null(strstr((const char *)out.data, "chmod 600"));
	assert_int_not_equal(access(dk, F_OK), 0);
	assert_int_not_equal(access(dp, F_OK), 0);
	assert_int_equal(unlink(loose), 0);
	/* tty without a terminal: a clear message */
	const char *tty[] = {"enroll", "--name", "dave", "--key", dk, "--pub", dp,
			     "--passphrase", "tty", NULL};
	assert_int_equal(run_tool(&out, tty), 1);
	assert_non_null(strstr((const char *)out.data, "no terminal"));
	assert_int_not_equal(access(dk, F_OK), 0);
	sg_buf_free(&out);
}

static void test_policy(void **state)
{
	(void)state;
	char pol[700], pubs[3][700], key[700], spec[700];
	in_dir(pol, sizeof(pol), "policy");
	for (int i = 0; i < 3; i++)
		snprintf(pubs[i], sizeof(pubs[i]), "%s", cf.pubfile[i]);
	const char *bad[] = {"policy-new", "--out", pol, "--threshold", "4", "--operator",
			     pubs[0], "--operator", pubs[1], "--operator", pubs[2], "--module",
			     cf.fx->module, "--label", LABEL, "--alg", "13", NULL};
	tool(1, "threshold 4", bad);
	assert_int_not_equal(access(pol, F_OK), 0);
	const char *mk[] = {"policy-new", "--out", pol, "--threshold", "2", "--operator",
			    pubs[0], "--operator", pubs[1], "--operator", pubs[2], "--module",
			    cf.fx->module, "--label", LABEL, "--alg", "13", "--alg", "15", NULL};
	tool(0, NULL, mk);
	const char *adopt[] = {"policy-adopt", "--dir", cf.cdir, "--policy", pol, NULL};
	tool(3, "0 valid signatures", adopt);
	for (int i = 0; i < 2; i++) {
		keyfile(i, key, sizeof(key));
		spec_of(i, spec, sizeof(spec));
		const char *sign[] = {"policy-sign", "--policy", pol, "--key", key,
				      "--passphrase", spec, NULL};
		tool(0, NULL, sign);
		if (i == 0)
			tool(3, "1 valid signatures", adopt);
	}
	tool(0, NULL, adopt);
}

/* Make a request through the tool; it shows the request and its words. */
static void request(const char *const *extra, char *out, size_t len)
{
	fresh(out, len, "request");
	const char *args[24] = {"request", "--dir", cf.cdir, "--out", out};
	size_t n = 5;
	for (; *extra != NULL && n < 23; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	tool(0, "read aloud:", args);
}

static void test_init_token(void **state)
{
	(void)state;
	const char *init[] = {"--op", "init-token", NULL};
	char req[700], a0[700], a1[700], p[3][720], pass[3][2200];
	request(init, req, sizeof(req));
	approve(req, 0, a0, sizeof(a0));
	approve(req, 1, a1, sizeof(a1));
	for (int i = 0; i < 3; i++) {
		spec_of(i, p[i], sizeof(p[i]));
		snprintf(pass[i], sizeof(pass[i]), "%s=%s", names[i], p[i]);
	}
	/* one approval is not a quorum; nothing is written */
	const char *one[] = {"execute", "--dir", cf.cdir, "--request", req, "--approval", a0,
			     "--pass", pass[0], "--pass", pass[1], "--pass",
			     pass[2], "--shares-out", cf.shares, NULL};
	tool(3, "1 distinct valid approval", one);
	char sf[700];
	snprintf(sf, sizeof(sf), "%s/alice.share", cf.shares);
	assert_int_not_equal(access(sf, F_OK), 0);
	/* carol absent: nobody seals her share for her */
	const char *absent[] = {"execute", "--dir", cf.cdir, "--request", req, "--approval", a0,
				"--approval", a1, "--pass", pass[0],
				"--pass", pass[1], "--shares-out", cf.shares, NULL};
	tool(3, "no passphrase for carol", absent);
	const char *all[] = {"execute", "--dir", cf.cdir, "--request", req, "--approval", a0,
			     "--approval", a1, "--pass", pass[0], "--pass",
			     pass[1], "--pass", pass[2], "--shares-out", cf.shares, NULL};
	tool(0, "done", all);
	for (int i = 0; i < 3; i++) {
		struct stat st;
		snprintf(sf, sizeof(sf), "%s/%s.share", cf.shares, names[i]);
		assert_int_equal(stat(sf, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

/* "--approval FILE" pairs and "--share NAME=FILE --pass NAME=SPEC" triples of
 * the operators in who, appended to args from *n. */
static void add_quorum(const char **args, size_t *n, const int *who, size_t nwho,
		       char (*appr)[700], const char *req, const int *sh, size_t nsh,
		       char (*share)[760], char (*pass)[760])
{
	for (size_t i = 0; i < nwho; i++) {
		approve(req, who[i], appr[i], sizeof(appr[i]));
		args[(*n)++] = "--approval";
		args[(*n)++] = appr[i];
	}
	for (size_t i = 0; i < nsh; i++) {
		char spec[700];
		spec_of(sh[i], spec, sizeof(spec));
		snprintf(share[i], sizeof(share[i]), "%s=%s/%s.share", names[sh[i]], cf.shares,
			 names[sh[i]]);
		snprintf(pass[i], sizeof(pass[i]), "%s=%s", names[sh[i]], spec);
		args[(*n)++] = "--share";
		args[(*n)++] = share[i];
		args[(*n)++] = "--pass";
		args[(*n)++] = pass[i];
	}
}

static void execute(const char *req, const int *who, size_t nwho, const int *sh, size_t nsh,
		    const char *keyset, const char *out, int want, const char *needle)
{
	const char *args[48] = {"execute", "--dir", cf.cdir, "--request", req};
	size_t n = 5;
	char appr[4][700], share[4][760], pass[4][760];
	add_quorum(args, &n, who, nwho, appr, req, sh, nsh, share, pass);
	if (keyset != NULL) {
		args[n++] = "--keyset";
		args[n++] = keyset;
	}
	args[n++] = "--out";
	args[n++] = out;
	args[n] = NULL;
	tool(want, needle, args);
}

static void test_create_ksk(void **state)
{
	(void)state;
	const char *op[] = {"--op", "create-ksk", "--zone", ZONE, "--param", "algorithm=13",
			    NULL};
	char req[700], out[700];
	request(op, req, sizeof(req));
	in_dir(out, sizeof(out), "ksk.txt");
	int ac[] = {0, 2}, a[] = {0};
	execute(req, ac, 2, a, 1, NULL, out, 3, "1 valid share");
	assert_int_not_equal(access(out, F_OK), 0);
	execute(req, a, 1, ac, 2, NULL, out, 3, "1 distinct valid approval");
	assert_int_not_equal(access(out, F_OK), 0);
	execute(req, ac, 2, ac, 2, NULL, out, 0, "done");
	cfx_key_id(out, ksk_id);
}

static void test_sign_keyset(void **state)
{
	(void)state;
	char kf[700], ksr[700], req[700], out[700], param[200];
	in_dir(kf, sizeof(kf), "ksk.txt");
	in_dir(ksr, sizeof(ksr), "ksr.txt");
	in_dir(out, sizeof(out), "bundle.txt");
	sg_buf ksk = SG_BUF_INIT;
	cfx_dnskey(kf, ZONE, &ksk);
	cfx_build_ksr(&ksk, ZONE, ksr);
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *op[] = {"--op", "sign-keyset", "--zone", ZONE, "--param", param,
			    "--keyset", ksr, NULL};
	request(op, req, sizeof(req));
	int bc[] = {1, 2}, b[] = {1};
	execute(req, bc, 2, b, 1, ksr, out, 3, "1 valid share");
	assert_int_not_equal(access(out, F_OK), 0);
	execute(req, bc, 2, bc, 2, ksr, out, 0, "done");

	/* the bundle: every KSK RRSIG verifies with the KSK */
	dns_keyset bundle;
	cfx_read_bundle(out, 2, &bundle);
	size_t verified = 0;
	for (size_t i = 0; i < bundle.count; i++) {
		dns_keyset_period *p = &bundle.periods[i];
		for (size_t j = 0; j < p->sigs.count; j++) {
			dns_rrsig sig;
			assert_int_equal(dns_rrsig_from_rdata(&sig, p->sigs.rr[j].data,
							      p->sigs.rr[j].len), SIGNET_OK);
			dns_rrset *set = cfx_covered_set(p, sig.type_covered);
			assert_int_equal(dns_rrsig_verify(&sig, set, ksk.data, ksk.len, &bundle.zone,
							  p->inception + 60), SIGNET_OK);
			verified++;
		}
	}
	assert_int_equal(verified, 4);  /* DNSKEY twice, CDS and CDNSKEY once */
	dns_keyset_free(&bundle);
	sg_buf_free(&ksk);
}

static void test_export_ds(void **state)
{
	(void)state;
	char req[700], out[700], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *op[] = {"--op", "export-ds", "--zone", ZONE, "--param", param, "--param",
			    "digests=2,4", NULL};
	request(op, req, sizeof(req));
	in_dir(out, sizeof(out), "ds.txt");
	int ab[] = {0, 1};
	execute(req, ab, 2, ab, 2, NULL, out, 0, "done");
	sg_buf ksk = SG_BUF_INIT;
	cfx_check_ds_export(out, ZONE, &ksk);
	sg_buf_free(&ksk);
	/* run again: refused as a replay before any passphrase is asked for
	 * (tty without a terminal would fail with "no terminal" otherwise) */
	char again[700], a0[700], a1[700], sh0[760];
	in_dir(again, sizeof(again), "ds-again.txt");
	approve(req, 0, a0, sizeof(a0));
	approve(req, 1, a1, sizeof(a1));
	snprintf(sh0, sizeof(sh0), "alice=%s/alice.share", cf.shares);
	const char *replay[] = {"execute", "--dir", cf.cdir, "--request", req, "--approval", a0,
				"--approval", a1, "--share", sh0, "--pass", "alice=tty",
				"--out", again, NULL};
	tool(1, "replay", replay);
	assert_int_not_equal(access(again, F_OK), 0);
}

/* Issue 11: carol alone copies in a threshold-1 policy naming a module of
 * her own. The next honest execution refuses it before it loads any module
 * or asks for a passphrase; the policy put back, it works again. */
static void test_copied_policy(void **state)
{
	(void)state;
	char evil[700], pol[700], cur[700], key[700], spec[700], pubs[3][700];
	in_dir(evil, sizeof(evil), "evil-pkcs11.so");
	assert_int_equal(sg_file_write_atomic(evil, "not a module", 12, 0755), SIGNET_OK);
	in_dir(pol, sizeof(pol), "policy-evil");
	for (int i = 0; i < 3; i++)
		snprintf(pubs[i], sizeof(pubs[i]), "%s", cf.pubfile[i]);
	const char *mk[] = {"policy-new", "--out", pol, "--serial", "9", "--threshold", "1",
			    "--operator", pubs[0], "--operator", pubs[1], "--operator", pubs[2],
			    "--module", evil, "--label", LABEL, "--alg", "13", NULL};
	tool(0, NULL, mk);
	keyfile(2, key, sizeof(key));
	spec_of(2, spec, sizeof(spec));
	const char *sign[] = {"policy-sign", "--policy", pol, "--key", key, "--passphrase", spec,
			      NULL};
	tool(0, NULL, sign);
	const char *adopt[] = {"policy-adopt", "--dir", cf.cdir, "--policy", pol, NULL};
	tool(3, "current quorum", adopt);
	snprintf(cur, sizeof(cur), "%s/policy", cf.cdir);
	sg_buf keep = SG_BUF_INIT, evilpol = SG_BUF_INIT;
	assert_int_equal(sg_file_read(cur, CER_FILE_MAX, &keep), SIGNET_OK);
	assert_int_equal(sg_file_read(pol, CER_FILE_MAX, &evilpol), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(cur, evilpol.data, evilpol.len, 0644), SIGNET_OK);
	char req[700], out[700], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *op[] = {"--op", "export-ds", "--zone", ZONE, "--param", param, NULL};
	request(op, req, sizeof(req));
	in_dir(out, sizeof(out), "ds-evil.txt");
	int ab[] = {0, 1};
	execute(req, ab, 2, ab, 2, NULL, out, 3, "module mismatch");
	assert_int_not_equal(access(out, F_OK), 0);
	/* the module named the machine's way, the policy is still not the anchored one */
	const char *mk2[] = {"policy-new", "--out", pol, "--serial", "9", "--threshold", "1",
			     "--operator", pubs[0], "--operator", pubs[1], "--operator", pubs[2],
			     "--module", cf.fx->module, "--label", LABEL, "--alg", "13", NULL};
	assert_int_equal(unlink(pol), 0);
	tool(0, NULL, mk2);
	tool(0, NULL, sign);
	sg_buf_reset(&evilpol);
	assert_int_equal(sg_file_read(pol, CER_FILE_MAX, &evilpol), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(cur, evilpol.data, evilpol.len, 0644), SIGNET_OK);
	request(op, req, sizeof(req));
	execute(req, ab, 2, ab, 2, NULL, out, 3, "policy mismatch");
	assert_int_not_equal(access(out, F_OK), 0);
	assert_int_equal(sg_file_write_atomic(cur, keep.data, keep.len, 0644), SIGNET_OK);
	request(op, req, sizeof(req));
	execute(req, ab, 2, ab, 2, NULL, out, 0, "done");
	sg_buf_free(&keep);
	sg_buf_free(&evilpol);
}

static void test_verify_log(void **state)
{
	(void)state;
	const char *ok[] = {"verify-log", "--dir", cf.cdir, NULL};
	tool(0, "chain intact", ok);
	/* against the token's anchor (its public copy: no PIN needed) */
	const char *tok[] = {"verify-log", "--dir", cf.cdir, "--token", NULL};
	tool(0, "matches the KSK token's anchor", tok);
	/* the last entry cut: the chain alone is intact, the token says no */
	char log0[700], saved[700];
	snprintf(log0, sizeof(log0), "%s/transcript.log", cf.cdir);
	fresh(saved, sizeof(saved), "log-saved");
	sg_buf whole = SG_BUF_INIT;
	assert_int_equal(sg_file_read(log0, CER_LOG_MAX, &whole), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(saved, whole.data, whole.len, 0644), SIGNET_OK);
	size_t cut = whole.len - 1;
	while (cut > 0 && whole.data[cut - 1] != '\n')
		cut--;
	assert_int_equal(sg_file_write_atomic(log0, whole.data, cut, 0644), SIGNET_OK);
	tool(0, "chain intact", ok);
	tool(3, "entries were cut", tok);
	assert_int_equal(sg_file_write_atomic(log0, whole.data, whole.len, 0644), SIGNET_OK);
	sg_buf_free(&whole);
	tool(0, "matches", tok);
	const char *nothing[] = {"verify-log", NULL};
	tool(2, "usage", nothing);
	/* one changed character in entry 2 of a copy: named, exit 3 */
	char log[700], copy[700];
	snprintf(log, sizeof(log), "%s/transcript.log", cf.cdir);
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_file_read(log, CER_LOG_MAX, &t), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	char *second = strchr((char *)t.data, '\n') + 1;
	char *field = strchr(second, ' ') + 1;  /* the time */
	field[0] = field[0] == '1' ? '2' : '1';
	fresh(copy, sizeof(copy), "log");
	assert_int_equal(sg_file_write_atomic(copy, t.data, t.len - 1, 0644), SIGNET_OK);
	sg_buf_free(&t);
	const char *bad[] = {"verify-log", "--log", copy, NULL};
	tool(3, "first broken entry 2", bad);
}

/* Whether needle (n octets) occurs in the file or buffer. */
static bool holds(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; n > 0 && i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

/* The secrets to look for: the PIN, the raw shares (binary, hex and
 * base64) and the passphrases. */
typedef struct secrets {
	sg_buf items[16];
	size_t n;
} secrets;

static void add_secret(secrets *s, const void *p, size_t n)
{
	assert_true(s->n < 16);
	s->items[s->n] = (sg_buf)SG_BUF_INIT;
	assert_int_equal(sg_buf_append(&s->items[s->n++], p, n), SIGNET_OK);
}

/* Open a share file as the tool does, to know what its sealed part holds. */
static void add_share(secrets *s, int who)
{
	char f[700];
	snprintf(f, sizeof(f), "%s/%s.share", cf.shares, names[who]);
	sg_buf t = SG_BUF_INIT, salt = SG_BUF_INIT, nonce = SG_BUF_INIT, ct = SG_BUF_INIT;
	assert_int_equal(sg_file_read(f, CER_FILE_MAX, &t), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	char *text = (char *)t.data, *kdf = strstr(text, "\nkdf scrypt ") + 1;
	size_t aadlen = (size_t)(kdf - text);
	cer_kdf k;
	char sa[64], no[64], se[200];
	assert_int_equal(sscanf(kdf, "kdf scrypt %lu %u %u\nsalt %63s\nnonce %63s\nsealed %199s",
				&k.n, &k.r, &k.p, sa, no, se), 6);
	assert_int_equal(sg_hex_decode(sa, strlen(sa), &salt), SIGNET_OK);
	assert_int_equal(sg_hex_decode(no, strlen(no), &nonce), SIGNET_OK);
	assert_int_equal(sg_base64_decode(se, strlen(se), &ct), SIGNET_OK);
	sg_secret *piece = NULL;
	assert_int_equal(cer_open(cf.pass[who], &k, salt.data, nonce.data, t.data, aadlen, ct.data,
				  ct.len, &piece, CFX_ERR), SIGNET_OK);
	add_secret(s, piece->data, piece->len);
	sg_buf enc = SG_BUF_INIT;
	assert_int_equal(sg_hex_encode(piece->data, piece->len, &enc), SIGNET_OK);
	add_secret(s, enc.data, enc.len);
	sg_buf_reset(&enc);
	assert_int_equal(sg_base64_encode(piece->data, piece->len, &enc), SIGNET_OK);
	add_secret(s, enc.data, enc.len);
	sg_buf_free(&enc);
	sg_secret_free(piece);
	sg_buf_free(&t);
	sg_buf_free(&salt);
	sg_buf_free(&nonce);
	sg_buf_free(&ct);
}

static size_t scan(const char *d, const secrets *s)
{
	DIR *dh = opendir(d);
	assert_non_null(dh);
	size_t files = 0;
	struct dirent *e;
	while ((e = readdir(dh)) != NULL) {
		size_t nl = strlen(e->d_name);
		/* the passphrase files are the test's, not the tool's */
		if (e->d_name[0] == '.' || (nl > 3 && strcmp(e->d_name + nl - 3, ".pw") == 0))
			continue;
		char f[1200];
		snprintf(f, sizeof(f), "%s/%s", d, e->d_name);
		struct stat st;
		assert_int_equal(stat(f, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			files += scan(f, s);
			continue;
		}
		sg_buf b = SG_BUF_INIT;
		assert_int_equal(sg_file_read(f, CER_LOG_MAX, &b), SIGNET_OK);
		for (size_t i = 0; i < s->n; i++)
			if (holds(b.data, b.len, s->items[i].data, s->items[i].len))
				fail_msg("secret %zu appears in %s", i, f);
		sg_buf_free(&b);
		files++;
	}
	closedir(dh);
	return files;
}

static void test_no_secret_anywhere(void **state)
{
	(void)state;
	secrets s = {.n = 0};
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	for (int i = 0; i < 3; i++)
		add_secret(&s, pws[i], strlen(pws[i]));
	cer_share_in in[2] = {{"alice", cf.sharefile[0]}, {"bob", cf.sharefile[1]}};
	sg_secret *pin = NULL;
	assert_int_equal(cer_shares_combine(p, in, 2, cf.passes, 3, &pin, NULL, NULL, CFX_ERR), SIGNET_OK);
	assert_int_equal(pin->len, 2 * CER_PIN_OCTETS);
	add_secret(&s, pin->data, pin->len);
	sg_secret_free(pin);
	/* the SO PIN, which nobody was ever given */
	cer_share_in so_in[2] = {{"alice", cf.sosharefile[0]}, {"carol", cf.sosharefile[2]}};
	assert_int_equal(cer_so_shares_combine(p, so_in, 2, cf.passes, 3, &pin, NULL, NULL, CFX_ERR),
			 SIGNET_OK);
	add_secret(&s, pin->data, pin->len);
	sg_secret_free(pin);
	for (int i = 0; i < 3; i++)
		add_share(&s, i);
	free(p);
	assert_true(scan(cf.dir, &s) >= 20);
	assert_true(scan(cf.cdir, &s) >= 2);
	assert_true(said.len > 1000);
	for (size_t i = 0; i < s.n; i++) {
		if (holds(said.data, said.len, s.items[i].data, s.items[i].len))
			fail_msg("secret %zu appears in what the tool printed", i);
		sg_buf_free(&s.items[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_and_enroll),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_init_token),
		cmocka_unit_test(test_create_ksk),
		cmocka_unit_test(test_sign_keyset),
		cmocka_unit_test(test_export_ds),
		cmocka_unit_test(test_copied_policy),
		cmocka_unit_test(test_verify_log),
		cmocka_unit_test(test_no_secret_anywhere),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
