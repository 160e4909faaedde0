/* fuzz_ceremony.c -- fuzz target for every file signet-ceremony reads:
 * policy, request, approval, share, operator public file, operator key and
 * transcript.
 *
 * Input: one selector octet (modulo 7, in the order above), then the file.
 * Policy and request are parsed from memory; the others only have a reader
 * by path, so the input goes to a temporary file first. No passphrase is
 * ever given: parsing finishes before any scrypt run, which a fuzzer must
 * not pay for (a key or share that parses stops at "empty passphrase" or
 * "no passphrase given"). Properties: a policy or request that parses
 * writes to text that parses again to the same hash; a transcript's entries
 * as the anchor check lists them agree with verify-log's count; an
 * approval that parses is never accepted by the quorum check against real
 * operator keys (the fuzzer cannot sign), even for the request it names;
 * no share ever yields a PIN, no key opens without its passphrase; and no
 * reader writes anything: after each, accepted or refused, the input file
 * is as it was and nothing else is in its directory. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ceremony/ceremony.h"
#include "tests/fuzz/fuzz.h"

/* The reason of a refusal; the fuzzer does not read it. */
static char fuzz_errmsg[CER_ERRMSG_MAX];
#define FUZZ_ERR fuzz_errmsg, sizeof(fuzz_errmsg)

enum { SEL_POLICY, SEL_REQUEST, SEL_APPROVAL, SEL_SHARE, SEL_OPERATOR, SEL_KEY,
       SEL_TRANSCRIPT, SEL_COUNT };

static char fuzz_dir[64];
static char fuzz_path[96];

static void fuzz_cleanup(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

/* Write the input to the target's own temporary file (made once); no
 * fsync: the file is read back at once by the same process. */
static const char *as_file(const uint8_t *p, size_t n)
{
	if (fuzz_dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzzcer.XXXXXX",
			 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
		FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL);
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/input", fuzz_dir);
		atexit(fuzz_cleanup);
	}
	int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
	return fuzz_path;
}

/* The property every reader shares: the input as written, alone in its
 * directory. */
static void unchanged(const uint8_t *p, size_t n)
{
	struct stat st;
	FUZZ_CHECK(stat(fuzz_path, &st) == 0 && (size_t)st.st_size == n);
	if (n > 0) {
		uint8_t *back = malloc(n);
		FUZZ_CHECK(back != NULL);
		int fd = open(fuzz_path, O_RDONLY | O_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
		FUZZ_CHECK(read(fd, back, n) == (ssize_t)n);
		close(fd);
		FUZZ_CHECK(memcmp(back, p, n) == 0);
		free(back);
	}
	DIR *d = opendir(fuzz_dir);
	FUZZ_CHECK(d != NULL);
	size_t entries = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			FUZZ_CHECK(strcmp(e->d_name, "input") == 0);
			entries++;
		}
	closedir(d);
	FUZZ_CHECK(entries == 1);
}

/* Three operators with real Ed25519 keys made once (their private halves
 * are dropped): what the fuzzer writes cannot be their signature. */
static const cer_policy *real_policy(void)
{
	static cer_policy pol;
	static bool made;
	static const char *const names[] = {"alice", "bob", "carol"};
	if (made)
		return &pol;
	memset(&pol, 0, sizeof(pol));
	pol.serial = 1;
	pol.threshold = 1;
	pol.count = 3;
	for (size_t i = 0; i < 3; i++) {
		snprintf(pol.ops[i].name, sizeof(pol.ops[i].name), "%s", names[i]);
		EVP_PKEY *k = NULL;
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
		FUZZ_CHECK(ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
			   EVP_PKEY_keygen(ctx, &k) == 1);
		size_t len = CER_PUB_LEN;
		FUZZ_CHECK(EVP_PKEY_get_raw_public_key(k, pol.ops[i].pub, &len) == 1 &&
			   len == CER_PUB_LEN);
		EVP_PKEY_free(k);
		EVP_PKEY_CTX_free(ctx);
	}
	made = true;
	return &pol;
}

static void fuzz_approval(const char *path)
{
	cer_approval a;
	if (cer_approval_read(path, &a, FUZZ_ERR) != SIGNET_OK)
		return;
	FUZZ_CHECK(cer_name_ok(a.operator));
	/* the request it names, so only the signature can refuse it */
	cer_request r;
	memset(&r, 0, sizeof(r));
	memcpy(r.hash, a.request, CER_HASH_LEN);
	FUZZ_CHECK(cer_approvals_check(real_policy(), &r, &a, 1, NULL, FUZZ_ERR) != SIGNET_OK);
}

static void fuzz_policy(const uint8_t *p, size_t n)
{
	static cer_policy pol, again;
	if (cer_policy_parse((const char *)p, n, &pol, FUZZ_ERR) != SIGNET_OK)
		return;
	sg_buf t = SG_BUF_INIT;
	FUZZ_CHECK(cer_policy_write(&pol, &t, FUZZ_ERR) == SIGNET_OK);
	FUZZ_CHECK(cer_policy_parse((const char *)t.data, t.len, &again, FUZZ_ERR) == SIGNET_OK);
	FUZZ_CHECK(memcmp(pol.hash, again.hash, CER_HASH_LEN) == 0);
	FUZZ_CHECK(again.count == pol.count && again.nsigs == pol.nsigs);
	(void)cer_policy_signers(&pol, &pol);
	sg_buf_free(&t);
}

static void fuzz_request(const uint8_t *p, size_t n)
{
	cer_request r, again;
	if (cer_request_parse((const char *)p, n, &r, FUZZ_ERR) != SIGNET_OK)
		return;
	sg_buf t = SG_BUF_INIT, words = SG_BUF_INIT;
	FUZZ_CHECK(cer_request_write(&r, &t, FUZZ_ERR) == SIGNET_OK);
	FUZZ_CHECK(cer_request_parse((const char *)t.data, t.len, &again, FUZZ_ERR) == SIGNET_OK);
	FUZZ_CHECK(memcmp(r.hash, again.hash, CER_HASH_LEN) == 0);
	FUZZ_CHECK(cer_words(r.hash, &words, FUZZ_ERR) == SIGNET_OK);
	for (size_t i = 0; i < r.nparams; i++)
		FUZZ_CHECK(cer_request_param(&r, r.params[i].key) != NULL);
	sg_buf_free(&t);
	sg_buf_free(&words);
}

/* A policy of three operators for the share reader, which checks who
 * presents a share before it reads the file. */
static void fuzz_share(const char *path)
{
	static cer_policy pol;
	static const char *const names[] = {"alice", "bob", "carol"};
	memset(&pol, 0, sizeof(pol));
	pol.serial = 1;
	pol.threshold = 2;
	pol.count = 3;
	for (size_t i = 0; i < 3; i++) {
		snprintf(pol.ops[i].name, sizeof(pol.ops[i].name), "%s", names[i]);
		pol.ops[i].pub[0] = (uint8_t)(i + 1);
	}
	cer_share_in in = {.operator = "bob", .path = path};
	sg_secret *pin = NULL;
	char label[33], serial[17];
	FUZZ_CHECK(cer_shares_combine(&pol, &in, 1, NULL, 0, &pin, label, serial, FUZZ_ERR) != SIGNET_OK);
	FUZZ_CHECK(pin == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0] % SEL_COUNT;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (sel) {
	case SEL_POLICY:
		fuzz_policy(p, n);
		break;
	case SEL_REQUEST:
		fuzz_request(p, n);
		break;
	case SEL_APPROVAL:
		fuzz_approval(as_file(p, n));
		break;
	case SEL_SHARE:
		fuzz_share(as_file(p, n));
		break;
	case SEL_OPERATOR: {
		cer_operator op;
		if (cer_operator_read(as_file(p, n), &op, FUZZ_ERR) == SIGNET_OK)
			FUZZ_CHECK(cer_name_ok(op.name));
		break;
	}
	case SEL_KEY: {
		/* An empty passphrase: the key file is parsed, then refused. */
		sg_secret *pass = NULL;
		FUZZ_CHECK(sg_secret_new(8, &pass) == SIGNET_OK);
		uint8_t sig[CER_SIG_LEN];
		static const uint8_t msg[] = "fuzz";
		FUZZ_CHECK(cer_operator_sign(as_file(p, n), pass, msg, sizeof(msg), sig, NULL, FUZZ_ERR) !=
			   SIGNET_OK);
		sg_secret_free(pass);
		break;
	}
	case SEL_TRANSCRIPT: {
		size_t entries = 0, bad = 0;
		const char *path = as_file(p, n);
		signet_err verr = cer_log_verify(path, &entries, &bad, FUZZ_ERR);
		if (verr == SIGNET_OK)
			FUZZ_CHECK(bad == 0);
		else
			FUZZ_CHECK(bad == entries + 1);
		/* what the token anchor is checked against agrees with verify */
		bool exists = false;
		cer_log_brief *b = NULL;
		size_t nb = 0;
		signet_err lerr = cer_log_load(path, &exists, &b, &nb, FUZZ_ERR);
		FUZZ_CHECK((lerr == SIGNET_OK) == (verr == SIGNET_OK));
		FUZZ_CHECK(lerr != SIGNET_OK || (exists && nb == entries));
		for (size_t i = 0; i < nb; i++)
			FUZZ_CHECK(b[i].op[0] != '\0' && b[i].result[0] != '\0');
		free(b);
		break;
	}
	default:
		break;
	}
	if (sel != SEL_POLICY && sel != SEL_REQUEST)
		unchanged(p, n);
	return 0;
}
