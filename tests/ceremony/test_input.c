/* test_input.c -- every ceremony file kind, truncated, overlong, binary or tampered, is refused with a clear error and nothing is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ceremony/ceremony.h"
#include "tests/lib/ceremony_fixture.h"
#include "tests/lib/tmpdir.h"

/* The files in tests/data/ceremony were written by signet-ceremony in a
 * 2-of-3 ceremony (alice, bob, carol); these are alice's and bob's
 * passphrases there. */
#define ALICE_PASS "alice passphrase 1"
#define BOB_PASS "bob passphrase 1"

static char data[1024];     /* tests/data/ceremony */
static char work[256];      /* scratch: variants and whatever a consumer might write */
static sg_secret *alice, *bob;
static cer_policy *policy;  /* the fixed policy, parsed */
static cer_request request; /* the fixed request */
static cer_approval approval;

static void data_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", data, name);
}

/* ---- consumers: what the tool does with a file of each kind ------------- */

/* An operator key signs only with its passphrase. */
static signet_err use_key(const char *path)
{
	uint8_t sig[CER_SIG_LEN];
	return cer_operator_sign(path, alice, (const uint8_t *)"m", 1, sig, NULL, CFX_ERR);
}

static signet_err use_pub(const char *path)
{
	cer_operator o;
	return cer_operator_read(path, &o, CFX_ERR);
}

/* A policy is adopted into an empty ceremony directory. */
static signet_err use_policy(const char *path)
{
	char d[300];
	snprintf(d, sizeof(d), "%s/cdir", work);
	return cer_policy_adopt(d, path, CFX_ERR);
}

/* A request is executed only with approvals for it: alice's approval of the
 * fixed request, under a policy asking for one. */
static signet_err use_request(const char *path)
{
	cer_request r;
	signet_err err = cer_request_read(path, &r, CFX_ERR);
	if (err != SIGNET_OK)
		return err;
	return cer_approvals_check(policy, &r, &approval, 1, NULL, CFX_ERR);
}

static signet_err use_approval(const char *path)
{
	cer_approval a;
	signet_err err = cer_approval_read(path, &a, CFX_ERR);
	if (err != SIGNET_OK)
		return err;
	return cer_approvals_check(policy, &request, &a, 1, NULL, CFX_ERR);
}

/* A share is combined with bob's. */
static signet_err use_share(const char *path)
{
	char b[1200];
	data_path(b, sizeof(b), "bob.share");
	cer_share_in in[2] = {{"alice", path}, {"bob", b}};
	cer_pass pw[2] = {{"alice", alice}, {"bob", bob}};
	sg_secret *pin = NULL;
	signet_err err = cer_shares_combine(policy, in, 2, pw, 2, &pin, NULL, NULL, CFX_ERR);
	sg_secret_free(pin);
	return err;
}

static signet_err use_log(const char *path)
{
	size_t n = 0, bad = 0;
	return cer_log_verify(path, &n, &bad, CFX_ERR);
}

/* A key-signing request becomes a sign-keyset request. */
static signet_err use_keyset(const char *path)
{
	char out[300];
	snprintf(out, sizeof(out), "%s/sign-request", work);
	const char *params[] = {"key-id=0102"};
	cer_request_params rp = {CER_OP_SIGN_KEYSET, "example.com.", params, 1, path, 1, 2};
	signet_err err = cer_request_create(&rp, policy, out, NULL, CFX_ERR);
	if (err == SIGNET_OK)
		unlink(out);
	return err;
}

/* Which mutations a kind can detect: a file without integrity protection
 * (operator public file, key-signing request) cannot notice a changed value
 * that is still well-formed; a transcript cut at an entry's end is a valid
 * shorter chain (the last hash, published, anchors it). The ceremony's own
 * formats are strict text (every line ends in LF alone); a keyset is zone
 * text, which ends at $END and may have CRLF lines (its digest is over the
 * wire form, so neither changes what is signed). */
enum { SEMANTIC = 1, CUT_AT_LINE = 2, EDIT_LINES = 4, STRICT = 8 };

typedef struct kind {
	const char *what;       /* as it is called in error messages */
	const char *file;       /* the good file in tests/data/ceremony */
	signet_err (*use)(const char *path);
	unsigned detects;
	size_t max;             /* the size bound of the kind */
} kind;

static const kind KINDS[] = {
	{"operator key", "alice.key", use_key, SEMANTIC | CUT_AT_LINE | EDIT_LINES | STRICT,
	 CER_FILE_MAX},
	{"operator file", "alice.pub", use_pub, CUT_AT_LINE | EDIT_LINES | STRICT, CER_FILE_MAX},
	{"policy", "policy", use_policy, SEMANTIC | CUT_AT_LINE | EDIT_LINES | STRICT,
	 CER_FILE_MAX},
	{"request", "request", use_request, SEMANTIC | CUT_AT_LINE | EDIT_LINES | STRICT,
	 CER_FILE_MAX},
	{"approval", "approval", use_approval, SEMANTIC | CUT_AT_LINE | EDIT_LINES | STRICT,
	 CER_FILE_MAX},
	{"share", "alice.share", use_share, SEMANTIC | CUT_AT_LINE | EDIT_LINES | STRICT,
	 CER_FILE_MAX},
	{"transcript", "transcript.log", use_log, SEMANTIC | STRICT, 0},
	{"key-signing request", "ksr.txt", use_keyset, CUT_AT_LINE, 0},
};

/* ---- the run ------------------------------------------------------------ */

static size_t entries(const char *d)
{
	DIR *dh = opendir(d);
	if (dh == NULL)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dh)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dh);
	return n;
}

static size_t variants;

/* Feed one variant to the kind's consumer: refused, with a reason, and
 * nothing new in the scratch directory or the ceremony directory. */
static void refused(const kind *k, const char *label, const uint8_t *p, size_t n)
{
	char f[300], cd[300];
	snprintf(f, sizeof(f), "%s/variant", work);
	snprintf(cd, sizeof(cd), "%s/cdir", work);
	unlink(f);
	assert_int_equal(sg_file_write_atomic(f, p, n, 0600), SIGNET_OK);
	size_t before = entries(work), cbefore = entries(cd);
	signet_err err = k->use(f);
	if (err == SIGNET_OK)
		fail_msg("%s, %s: accepted", k->what, label);
	const char *why = cfx_errmsg;
	if (strlen(why) < 10)
		fail_msg("%s, %s: %s with no clear reason (\"%s\")", k->what, label,
			 signet_errname(err), why);
	assert_int_equal(entries(work), before);
	assert_int_equal(entries(cd), cbefore);
	variants++;
}

/* Line starts of text (len octets): starts[i] for line i, count returned. */
static size_t lines_of(const uint8_t *t, size_t len, size_t *starts, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n < max; i++)
		if (i == 0 || t[i - 1] == '\n')
			starts[n++] = i;
	return n;
}

/* A different character of the same sort, so the file stays well-formed. */
static uint8_t other(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c == '9' ? '0' : (uint8_t)(c + 1);
	if (c >= 'a' && c <= 'y')
		return (uint8_t)(c + 1);
	if (c >= 'A' && c <= 'Y')
		return (uint8_t)(c + 1);
	return c == 'z' ? 'a' : c == 'Z' ? 'A' : 'x';
}

static void mutate(const kind *k)
{
	char path[1200];
	data_path(path, sizeof(path), k->file);
	sg_buf good = SG_BUF_INIT, v = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &good), SIGNET_OK);
	/* the good file itself is accepted: the refusals below are the
	 * mutations' doing */
	char f[300];
	snprintf(f, sizeof(f), "%s/good", work);
	assert_int_equal(sg_file_write_atomic(f, good.data, good.len, 0600), SIGNET_OK);
	if (k->use(f) != SIGNET_OK)
		fail_msg("%s: the good file is refused: %s", k->what, cfx_errmsg);
	unlink(f);
	if (k->use == use_policy) {
		char cd[300];
		snprintf(cd, sizeof(cd), "%s/cdir/policy", work);
		unlink(cd);
		snprintf(cd, sizeof(cd), "%s/cdir/transcript.log", work);
		unlink(cd);
	}

	const uint8_t *t = good.data;
	size_t starts[256];
	size_t nl = lines_of(t, good.len, starts, 256);
	char label[96];

	/* truncated: empty, mid-line everywhere, and at line ends */
	if (k->detects & CUT_AT_LINE)
		refused(k, "empty", t, 0);
	for (size_t i = 0; i < nl; i++) {
		size_t end = i + 1 < nl ? starts[i + 1] : good.len;
		snprintf(label, sizeof(label), "cut in line %zu", i + 1);
		refused(k, label, t, starts[i] + (end - starts[i]) / 2);
		if ((k->detects & CUT_AT_LINE) && end < good.len) {
			snprintf(label, sizeof(label), "cut after line %zu", i + 1);
			refused(k, label, t, end);
		}
	}
	if (k->detects & STRICT)
		refused(k, "no final newline", t, good.len - 1);

	/* overlong: one line over the line bound, and the file over its bound */
	sg_buf_reset(&v);
	assert_int_equal(sg_buf_append(&v, t, starts[1]), SIGNET_OK);
	for (size_t i = 0; i < 9000; i++)
		assert_int_equal(sg_buf_put_u8(&v, 'a'), SIGNET_OK);
	assert_int_equal(sg_buf_append(&v, t + starts[1], good.len - starts[1]), SIGNET_OK);
	refused(k, "a 9000-octet line", v.data, v.len);
	if (k->max != 0) {
		sg_buf_reset(&v);
		assert_int_equal(sg_buf_append(&v, t, good.len), SIGNET_OK);
		while (v.len <= k->max)
			assert_int_equal(sg_buf_printf(&v, "x %0100d\n", 0), SIGNET_OK);
		refused(k, "over the size bound", v.data, v.len);
	}

	/* binary: noise, a NUL, a high byte, CRLF line ends */
	uint32_t x = 2463534242u;
	sg_buf_reset(&v);
	for (size_t i = 0; i < 4096; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		assert_int_equal(sg_buf_put_u8(&v, (uint8_t)x), SIGNET_OK);
	}
	refused(k, "4 KiB of noise", v.data, v.len);
	static const uint8_t odd[] = {0x00, 0xff, 0x7f, 0x1b};
	for (size_t o = 0; o < sizeof(odd); o++) {
		sg_buf_reset(&v);
		assert_int_equal(sg_buf_append(&v, t, good.len), SIGNET_OK);
		v.data[starts[nl / 2] + 3] = odd[o];
		snprintf(label, sizeof(label), "byte 0x%02x inside", odd[o]);
		refused(k, label, v.data, v.len);
	}
	sg_buf_reset(&v);
	for (size_t i = 0; i < good.len; i++) {
		if (t[i] == '\n')
			assert_int_equal(sg_buf_put_u8(&v, '\r'), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(&v, t[i]), SIGNET_OK);
	}
	if (k->detects & STRICT)
		refused(k, "CRLF", v.data, v.len);

	/* tampered: per line, a value character changed, the key renamed, the
	 * line removed or doubled */
	for (size_t i = 0; i < nl; i++) {
		size_t end = i + 1 < nl ? starts[i + 1] : good.len;
		if (k->detects & SEMANTIC) {
			sg_buf_reset(&v);
			assert_int_equal(sg_buf_append(&v, t, good.len), SIGNET_OK);
			size_t at = end - 2;  /* the last character of the line */
			v.data[at] = other(v.data[at]);
			snprintf(label, sizeof(label), "line %zu changed", i + 1);
			refused(k, label, v.data, v.len);
		}
		if (!(k->detects & EDIT_LINES))
			continue;
		sg_buf_reset(&v);
		assert_int_equal(sg_buf_append(&v, t, good.len), SIGNET_OK);
		v.data[starts[i]] = v.data[starts[i]] == 'q' ? 'r' : 'q';
		snprintf(label, sizeof(label), "line %zu renamed", i + 1);
		refused(k, label, v.data, v.len);
		sg_buf_reset(&v);
		assert_int_equal(sg_buf_append(&v, t, starts[i]), SIGNET_OK);
		assert_int_equal(sg_buf_append(&v, t + end, good.len - end), SIGNET_OK);
		snprintf(label, sizeof(label), "line %zu removed", i + 1);
		refused(k, label, v.data, v.len);
		sg_buf_reset(&v);
		assert_int_equal(sg_buf_append(&v, t, end), SIGNET_OK);
		assert_int_equal(sg_buf_append(&v, t + starts[i], good.len - starts[i]), SIGNET_OK);
		snprintf(label, sizeof(label), "line %zu doubled", i + 1);
		refused(k, label, v.data, v.len);
	}
	sg_buf_free(&good);
	sg_buf_free(&v);
}

static void test_every_kind(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
		size_t before = variants;
		mutate(&KINDS[i]);
		print_message("%s: %zu variants refused\n", KINDS[i].what, variants - before);
	}
	assert_true(variants > 200);
}

/* The key-signing request has its own structure: its directives. */
static void test_keyset_directives(void **state)
{
	(void)state;
	static const char *const from[] = {"$SIGNET-KEYSET 1 request", "$ZONE example.com.",
					   "$SERIAL 1", "$PERIOD ", "\tDNSKEY\t257", "$END"};
	static const char *const to[] = {"$SIGNET-KEYSET 9 request", "$ZONE example.net.",
					 "$SERIAL x", "$PERIOD x", "\tTXT\t257", "$FIN"};
	char path[1200];
	data_path(path, sizeof(path), "ksr.txt");
	sg_buf good = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &good), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&good, 0), SIGNET_OK);
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		const char *t = (const char *)good.data, *hit = strstr(t, from[i]);
		assert_non_null(hit);
		sg_buf v = SG_BUF_INIT;
		assert_int_equal(sg_buf_append(&v, t, (size_t)(hit - t)), SIGNET_OK);
		assert_int_equal(sg_buf_append(&v, to[i], strlen(to[i])), SIGNET_OK);
		const char *rest = hit + strlen(from[i]);
		assert_int_equal(sg_buf_append(&v, rest, strlen(rest)), SIGNET_OK);
		refused(&KINDS[7], to[i], v.data, v.len);
		sg_buf_free(&v);
	}
	sg_buf_free(&good);
}

static int setup(void **state)
{
	(void)state;
	const char *d = getenv("SIGNET_TEST_DATA");
	if (d == NULL)
		return -1;
	snprintf(data, sizeof(data), "%s/ceremony", d);
	if (test_tmpdir_make("signet-input", work, sizeof(work)) != 0)
		return -1;
	char cd[300];
	snprintf(cd, sizeof(cd), "%s/cdir", work);
	if (mkdir(cd, 0700) != 0)
		return -1;
	alice = cfx_secret(ALICE_PASS);
	bob = cfx_secret(BOB_PASS);
	policy = calloc(1, sizeof(*policy));
	char f[1200];
	data_path(f, sizeof(f), "policy");
	if (policy == NULL || cer_policy_read(f, policy, CFX_ERR) != SIGNET_OK)
		return -1;
	policy->threshold = 1;  /* one approval is enough for what is tested here */
	data_path(f, sizeof(f), "request");
	if (cer_request_read(f, &request, CFX_ERR) != SIGNET_OK)
		return -1;
	data_path(f, sizeof(f), "approval");
	return cer_approval_read(f, &approval, CFX_ERR) == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sg_secret_free(alice);
	sg_secret_free(bob);
	free(policy);
	return test_tmpdir_remove(work);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_keyset_directives),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
