/* hsm_cmd.c -- `signet hsm test` and `signet hsm bench`: what an operator runs
 * to qualify a new PKCS#11 token before trusting it with zone keys. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "client/client.h"
#include "dnssec/dnssec.h"
#include "hsm/hsm.h"

#define HSM_CMD_ALGS_MAX 4

struct hsm_opts {
	const char *module;      /* PKCS#11 module path */
	const char *label;       /* token label, or NULL with serial */
	const char *serial;      /* token serial, or NULL */
	const char *pin_spec;    /* file:PATH, fd:N or env:NAME */
	const char *so_pin_spec; /* the same, for init */
	hsm_alg algs[HSM_CMD_ALGS_MAX];
	size_t nalgs;
	unsigned sessions; /* the N of "1 and N sessions" */
	double seconds;    /* per measurement */
};

static const char *alg_name(hsm_alg alg)
{
	switch (alg) {
	case HSM_ALG_RSASHA256:
		return "RSASHA256";
	case HSM_ALG_ECDSAP256:
		return "ECDSAP256SHA256";
	case HSM_ALG_ECDSAP384:
		return "ECDSAP384SHA384";
	case HSM_ALG_ED25519:
		return "ED25519";
	}
	return "?";
}

static void hsm_usage(FILE *f)
{
	fprintf(f,
		"usage: signet hsm init --module PATH --token LABEL --so-pin SPEC --pin SPEC\n"
		"       signet hsm test|bench --module PATH (--token LABEL | --serial S)\n"
		"                  --pin file:PATH|fd:N|env:NAME [--alg 13,15,8,14]\n"
		"                  [--sessions N] [--seconds S]\n"
		"  test   generate a key per algorithm, check it cannot leave the token,\n"
		"         sign and verify, detect a tampered signature, delete the key,\n"
		"         then measure signatures/s at 1 and N sessions\n"
		"  bench  only the measurement\n"
		"  init   initialise the first uninitialised token with a label, an SO PIN\n"
		"         and a user PIN (SPEC is file:PATH, fd:N or env:NAME)\n"
		"  tls-key, tls-csr  a TLS key pair in the token and its certificate\n"
		"         request (signet hsm tls-key --help)\n"
		"The PIN is never taken from the command line.\n");
}

static int parse_algs(const char *text, struct hsm_opts *o)
{
	char buf[64];
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	o->nalgs = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end = NULL;
		long v = strtol(tok, &end, 10);
		if (*end != 0 || o->nalgs == HSM_CMD_ALGS_MAX)
			return -1;
		if (v != HSM_ALG_RSASHA256 && v != HSM_ALG_ECDSAP256 && v != HSM_ALG_ECDSAP384 &&
		    v != HSM_ALG_ED25519)
			return -1;
		o->algs[o->nalgs++] = (hsm_alg)v;
	}
	return o->nalgs ? 0 : -1;
}

static int parse_opts(int argc, char **argv, struct hsm_opts *o)
{
	static const struct option longopts[] = {
		{"module", required_argument, NULL, 'm'},
		{"token", required_argument, NULL, 't'},
		{"serial", required_argument, NULL, 's'},
		{"pin", required_argument, NULL, 'p'},
		{"so-pin", required_argument, NULL, 'P'},
		{"alg", required_argument, NULL, 'a'},
		{"sessions", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->module = getenv("SIGNET_PKCS11_MODULE");
	o->algs[0] = HSM_ALG_ECDSAP256;
	o->algs[1] = HSM_ALG_ED25519;
	o->algs[2] = HSM_ALG_RSASHA256;
	o->algs[3] = HSM_ALG_ECDSAP384;
	o->nalgs = 4;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o->sessions = ncpu > 0 && ncpu <= HSM_SESSIONS_MAX ? (unsigned)ncpu : 2;
	o->seconds = 2.0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'm':
			o->module = optarg;
			break;
		case 't':
			o->label = optarg;
			break;
		case 's':
			o->serial = optarg;
			break;
		case 'p':
			o->pin_spec = optarg;
			break;
		case 'P':
			o->so_pin_spec = optarg;
			break;
		case 'a':
			if (parse_algs(optarg, o) != 0) {
				fprintf(stderr,
					"signet hsm: --alg: expected a list of 8, 13, 14, 15\n");
				return -1;
			}
			break;
		case 'n': {
			long v = strtol(optarg, &end, 10);
			if (*end != 0 || v < 1 || v > HSM_SESSIONS_MAX) {
				fprintf(stderr, "signet hsm: --sessions: expected 1..%d\n",
					HSM_SESSIONS_MAX);
				return -1;
			}
			o->sessions = (unsigned)v;
			break;
		}
		case 'S':
			o->seconds = strtod(optarg, &end);
			if (*end != 0 || !(o->seconds >= 0.1 && o->seconds <= 600)) {
				fprintf(stderr, "signet hsm: --seconds: expected 0.1..600\n");
				return -1;
			}
			break;
		case 'h':
			hsm_usage(stdout);
			exit(SIGNET_EXIT_OK);
		default:
			return -1;
		}
	}
	if (o->module == NULL) {
		fprintf(stderr,
			"signet hsm: --module: no PKCS#11 module given "
			"(or set SIGNET_PKCS11_MODULE)\n");
		return -1;
	}
	if (o->label == NULL && o->serial == NULL) {
		fprintf(stderr, "signet hsm: --token or --serial is required\n");
		return -1;
	}
	if (o->pin_spec == NULL) {
		fprintf(stderr, "signet hsm: --pin is required (file:PATH, fd:N or env:NAME)\n");
		return -1;
	}
	return 0;
}

/* Say why a PIN source was refused, in the terms an operator can act on. */
static void pin_source_error(const char *what, signet_err err)
{
	const char *why = signet_strerror(err);
	if (err == SIGNET_EPARSE)
		why = "expected file:PATH, fd:N or env:NAME holding a non-empty PIN "
		      "(a PIN is never taken from the command line)";
	else if (err == SIGNET_EPERM)
		why = "the PIN file must belong to this user and not be readable or "
		      "writable by group or others (chmod 600)";
	else if (err == SIGNET_ENOTFOUND)
		why = "no such file or environment variable";
	fprintf(stderr, "%s: %s\n", what, why);
}

/* One session and key per bench thread. */
struct sign_bench {
	hsm_token *token;
	hsm_key_info key;
};

struct sign_thread {
	hsm_session *session;
	const hsm_key_info *key;
	uint8_t data[128];
};

static signet_err bench_init(unsigned index, void *arg, void **state)
{
	struct sign_bench *b = arg;
	struct sign_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return SIGNET_ENOMEM;
	t->key = &b->key;
	memset(t->data, (int)index, sizeof(t->data));
	signet_err ret = hsm_session_open(b->token, &t->session, NULL, 0);
	if (ret != SIGNET_OK) {
		free(t);
		return ret;
	}
	*state = t;
	return SIGNET_OK;
}

static signet_err bench_op(void *state)
{
	struct sign_thread *t = state;
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen = 0;
	t->data[0]++;
	return hsm_sign(t->session, t->key->id, t->key->id_len, t->data, sizeof(t->data), sig,
			sizeof(sig), &siglen, NULL, 0);
}

static void bench_fini(void *state)
{
	struct sign_thread *t = state;
	if (t == NULL)
		return;
	hsm_session_close(t->session);
	free(t);
}

static const sg_bench_ops sign_bench_ops = {bench_init, bench_op, bench_fini};

static signet_err measure(hsm_token *token, const hsm_key_info *key, const struct hsm_opts *o)
{
	struct sign_bench b = {.token = token, .key = *key};
	sg_bench_result one, many;
	signet_err ret = sg_bench_run(&sign_bench_ops, &b, 1, o->seconds, &one);
	if (ret == SIGNET_OK)
		ret = sg_bench_run(&sign_bench_ops, &b, o->sessions, o->seconds, &many);
	if (ret != SIGNET_OK) {
		/* The detail stayed with the bench thread that failed. */
		printf("  bench              FAILED: %s\n", signet_strerror(ret));
		return ret;
	}
	printf("  sign/s             %10.0f at 1 session, %10.0f at %u sessions (x%.2f)\n",
	       one.per_second, many.per_second, o->sessions,
	       one.per_second > 0 ? many.per_second / one.per_second : 0);
	return SIGNET_OK;
}

static bool check(bool ok, const char *what, const char *detail)
{
	printf("  %-18s %s%s%s\n", what, ok ? "ok" : "FAILED", detail ? ": " : "",
	       detail ? detail : "");
	return ok;
}

/* The self-test of one algorithm; returns false when any check failed. */
static bool selftest_alg(hsm_token *token, hsm_alg alg, const struct hsm_opts *o, bool bench)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	bool ok = true;
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info key;
	printf("algorithm %d %s\n", (int)alg, alg_name(alg));
	signet_err ret = hsm_key_label("selftest", "signet-hsm-test", alg, time(NULL), label,
				       sizeof(label), hsmerr, sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = hsm_key_generate(token, alg, 0, label, &key, hsmerr, sizeof(hsmerr));
	if (!check(ret == SIGNET_OK, "generate", ret ? hsmerr : label))
		return false;

	hsm_key_info found;
	ret = hsm_key_find(token, key.id, key.id_len, &found, hsmerr, sizeof(hsmerr));
	ok &= check(ret == SIGNET_OK && found.alg == alg, "find by CKA_ID", NULL);
	if (ret == SIGNET_OK) {
		ok &= check(found.sensitive && found.always_sensitive, "sensitive", NULL);
		ok &= check(!found.extractable && found.never_extractable, "never extractable",
			    NULL);
		ok &= check(found.can_sign && !found.can_decrypt, "sign only", NULL);
		ok &= check(hsm_key_is_safe(&found), "safe to use", NULL);
	}
	ret = hsm_key_value_hidden(token, key.id, key.id_len, hsmerr, sizeof(hsmerr));
	ok &= check(ret == SIGNET_OK, "value unreadable",
		    ret == SIGNET_OK ? NULL : "the private key value can be read");

	EVP_PKEY *pub = NULL;
	hsm_session *session = NULL;
	uint8_t data[200], sig[HSM_SIG_MAX];
	size_t siglen = 0;
	RAND_bytes(data, sizeof(data));
	ret = hsm_key_public(token, key.id, key.id_len, &pub, hsmerr, sizeof(hsmerr));
	ok &= check(ret == SIGNET_OK, "export public", ret ? hsmerr : NULL);
	if (ret == SIGNET_OK)
		ret = hsm_session_open(token, &session, hsmerr, sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = hsm_sign(session, key.id, key.id_len, data, sizeof(data), sig, sizeof(sig),
			       &siglen, hsmerr, sizeof(hsmerr));
	ok &= check(ret == SIGNET_OK, "sign", ret ? hsmerr : NULL);
	if (ret == SIGNET_OK) {
		ret = dns_signature_verify((uint8_t)alg, pub, data, sizeof(data), sig, siglen);
		ok &= check(ret == SIGNET_OK, "verify", ret ? signet_strerror(ret) : NULL);
		sig[siglen / 2] ^= 0x01;
		ret = dns_signature_verify((uint8_t)alg, pub, data, sizeof(data), sig, siglen);
		ok &= check(ret == SIGNET_EVERIFY, "tamper detected", NULL);
	}
	if (ok && bench)
		ok &= measure(token, &key, o) == SIGNET_OK;
	hsm_session_close(session);
	EVP_PKEY_free(pub);

	ret = hsm_key_delete(token, key.id, key.id_len, hsmerr, sizeof(hsmerr));
	signet_err gone = hsm_key_find(token, key.id, key.id_len, &found, hsmerr, sizeof(hsmerr));
	ok &= check(ret == SIGNET_OK && gone == SIGNET_ENOTFOUND, "delete", NULL);
	return ok;
}

static bool bench_alg(hsm_token *token, hsm_alg alg, const struct hsm_opts *o)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info key;
	printf("algorithm %d %s\n", (int)alg, alg_name(alg));
	signet_err ret = hsm_key_label("bench", "signet-hsm-bench", alg, time(NULL), label,
				       sizeof(label), hsmerr, sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = hsm_key_generate(token, alg, 0, label, &key, hsmerr, sizeof(hsmerr));
	if (ret != SIGNET_OK) {
		printf("  generate           FAILED: %s\n", hsmerr);
		return false;
	}
	bool ok = measure(token, &key, o) == SIGNET_OK;
	if (hsm_key_delete(token, key.id, key.id_len, hsmerr, sizeof(hsmerr)) != SIGNET_OK) {
		printf("  delete             FAILED: %s\n", hsmerr);
		ok = false;
	}
	return ok;
}

/* `signet hsm init`: a fresh token for signetd or a ceremony, without any PIN
 * on a command line (softhsm2-util and pkcs11-tool take them from argv). */
static int hsm_init(int argc, char **argv)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	struct hsm_opts o;
	if (parse_opts(argc, argv, &o) != 0)
		return SIGNET_EXIT_USAGE;
	if (o.label == NULL || o.so_pin_spec == NULL) {
		fprintf(stderr, "signet hsm init: --token and --so-pin are required\n");
		return SIGNET_EXIT_USAGE;
	}
	sg_secret *so = NULL, *user = NULL;
	signet_err ret = sg_secret_from_spec(o.so_pin_spec, &so);
	if (ret != SIGNET_OK) {
		pin_source_error("signet hsm init: --so-pin", ret);
		return SIGNET_EXIT_USAGE;
	}
	ret = sg_secret_from_spec(o.pin_spec, &user);
	if (ret != SIGNET_OK) {
		pin_source_error("signet hsm init: --pin", ret);
		sg_secret_free(so);
		return SIGNET_EXIT_USAGE;
	}
	hsm_ctx *ctx = NULL;
	ret = hsm_open(o.module, &ctx, hsmerr, sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = hsm_token_initialize(ctx, o.label, so, user, hsmerr, sizeof(hsmerr));
	sg_secret_free(so);
	sg_secret_free(user);
	if (ret != SIGNET_OK)
		fprintf(stderr, "signet hsm init: %s (%s)\n", signet_strerror(ret), hsmerr);
	else
		printf("token '%s' initialised\n", o.label);
	hsm_close(ctx);
	return ret == SIGNET_OK ? SIGNET_EXIT_OK : SIGNET_EXIT_ERROR;
}

int client_hsm_token_open(const char *module, const char *label, const char *serial,
			  const char *pin_spec, hsm_ctx **ctx, hsm_token **tok)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	*ctx = NULL;
	*tok = NULL;
	sg_secret *pin = NULL;
	signet_err ret = sg_secret_from_spec(pin_spec, &pin);
	if (ret != SIGNET_OK) {
		pin_source_error("signet hsm: --pin", ret);
		return SIGNET_EXIT_USAGE;
	}
	ret = hsm_open(module, ctx, hsmerr, sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = hsm_token_open(*ctx, label, serial, pin, tok, hsmerr, sizeof(hsmerr));
	sg_secret_free(pin);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "signet hsm: %s: %s (%s)\n", *ctx ? "token" : "--module",
			signet_strerror(ret), hsmerr);
		hsm_close(*ctx);
		*ctx = NULL;
		*tok = NULL;
		return SIGNET_EXIT_ERROR;
	}
	return 0;
}

int signet_cmd_hsm(int argc, char **argv)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		hsm_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SIGNET_EXIT_USAGE : SIGNET_EXIT_OK;
	}
	if (strcmp(argv[1], "init") == 0)
		return hsm_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "tls-key") == 0 || strcmp(argv[1], "tls-csr") == 0)
		return signet_hsm_tls(argc - 1, argv + 1);
	bool is_test = strcmp(argv[1], "test") == 0;
	if (!is_test && strcmp(argv[1], "bench") != 0) {
		fprintf(stderr, "signet hsm: unknown action '%s'\n", argv[1]);
		hsm_usage(stderr);
		return SIGNET_EXIT_USAGE;
	}
	struct hsm_opts o;
	if (parse_opts(argc - 1, argv + 1, &o) != 0)
		return SIGNET_EXIT_USAGE;
	sg_harden_process();

	hsm_ctx *ctx = NULL;
	hsm_token *token = NULL;
	int rc = client_hsm_token_open(o.module, o.label, o.serial, o.pin_spec, &ctx, &token);
	if (rc != 0)
		return rc;
	hsm_token_desc desc;
	if (hsm_token_describe(token, &desc, hsmerr, sizeof(hsmerr)) == SIGNET_OK)
		printf("token '%s' serial %s, %s %s, module %s\n", desc.label, desc.serial,
		       desc.manufacturer, desc.model, o.module);

	bool ok = true;
	for (size_t i = 0; i < o.nalgs; i++)
		ok &= is_test ? selftest_alg(token, o.algs[i], &o, true)
			      : bench_alg(token, o.algs[i], &o);
	printf("%s\n", ok ? "result: PASS" : "result: FAIL");
	hsm_token_close(token);
	hsm_close(ctx);
	return ok ? SIGNET_EXIT_OK : SIGNET_EXIT_FAIL;
}
