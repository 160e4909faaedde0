/* bench_sign.c -- signatures per second per algorithm at 1 and 2 threads:
 * OpenSSL in process (the machine's limit), raw C_Sign on a SoftHSM2 token
 * with a token object and with a session-object copy (the HSM's limit), and
 * signet's hsm/ layer with and without session copies. Prints a table with
 * the ratios that docs/BENCHMARKS.md records.
 *
 * usage: bench_sign [seconds-per-cell] [alg,...]     (defaults 2, 13,15,8,14)
 *        bench_sign raw SECONDS [THREADS]
 * The second form prints two numbers: raw C_Sign/s with ECDSA P-256 on a
 * session-object copy over THREADS sessions (default 2), and the process's
 * CPU microseconds per signature; the reference that scripts/bench
 * interleaves with signetd's best cell.
 * Needs SIGNET_SOFTHSM_MODULE (the path of libsofthsm2.so).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "common/common.h"
#include "hsm/hsm.h"
#include "bench/bench_token.h"

#define DATA_LEN 128 /* about the size of a small RRset's signed data */

/* ---- OpenSSL in process -------------------------------------------------- */

struct ossl_bench {
	EVP_PKEY *key;
	const EVP_MD *md; /* NULL for Ed25519 */
};

struct ossl_thread {
	const struct ossl_bench *b;
	uint8_t data[DATA_LEN];
};

static signet_err ossl_init(unsigned index, void *arg, void **state)
{
	struct ossl_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return SIGNET_ENOMEM;
	t->b = arg;
	memset(t->data, (int)index, sizeof(t->data));
	*state = t;
	return SIGNET_OK;
}

static signet_err ossl_op(void *state)
{
	struct ossl_thread *t = state;
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	if (mctx == NULL)
		return SIGNET_ENOMEM;
	t->data[0]++;
	int ok = EVP_DigestSignInit(mctx, NULL, t->b->md, NULL, t->b->key) == 1 &&
		 EVP_DigestSign(mctx, sig, &siglen, t->data, sizeof(t->data)) == 1;
	EVP_MD_CTX_free(mctx);
	return ok ? SIGNET_OK : SIGNET_ECRYPTO;
}

static const sg_bench_ops ossl_ops = {ossl_init, ossl_op, free};

static EVP_PKEY *ossl_keygen(hsm_alg alg)
{
	switch (alg) {
	case HSM_ALG_RSASHA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case HSM_ALG_ECDSAP256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case HSM_ALG_ECDSAP384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case HSM_ALG_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

/* ---- raw PKCS#11 --------------------------------------------------------- */

struct raw_bench {
	CK_FUNCTION_LIST *p11;
	CK_SLOT_ID slot;
	hsm_alg alg;
	const uint8_t *id;
	size_t id_len;
	bool session_copy; /* sign with a C_CopyObject session-object copy */
};

struct raw_thread {
	const struct raw_bench *b;
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE key;
	uint8_t data[DATA_LEN];
};

static void raw_fini(void *state)
{
	struct raw_thread *t = state;
	if (t == NULL)
		return;
	if (t->session != CK_INVALID_HANDLE)
		t->b->p11->C_CloseSession(t->session);
	free(t);
}

static signet_err raw_init(unsigned index, void *arg, void **state)
{
	const struct raw_bench *b = arg;
	struct raw_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return SIGNET_ENOMEM;
	t->b = b;
	t->session = CK_INVALID_HANDLE;
	memset(t->data, (int)index, sizeof(t->data));
	CK_FUNCTION_LIST *p = b->p11;
	/* The process is logged in already (through hsm/): login state is per
	 * application, so a new session sees private objects. */
	if (p->C_OpenSession(b->slot, CKF_SERIAL_SESSION, NULL, NULL, &t->session) != CKR_OK)
		goto fail;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_ID, (void *)b->id, b->id_len},
	};
	CK_ULONG n = 0;
	if (p->C_FindObjectsInit(t->session, tmpl, 2) != CKR_OK)
		goto fail;
	CK_RV rv = p->C_FindObjects(t->session, &t->key, 1, &n);
	p->C_FindObjectsFinal(t->session);
	if (rv != CKR_OK || n != 1)
		goto fail;
	if (b->session_copy) {
		CK_BBOOL no = CK_FALSE;
		CK_ATTRIBUTE copy[] = {{CKA_TOKEN, &no, sizeof(no)}};
		CK_OBJECT_HANDLE obj;
		if (p->C_CopyObject(t->session, t->key, copy, 1, &obj) != CKR_OK)
			goto fail;
		t->key = obj;
	}
	*state = t;
	return SIGNET_OK;
fail:
	raw_fini(t);
	return SIGNET_EHSM;
}

static signet_err raw_op(void *state)
{
	struct raw_thread *t = state;
	CK_FUNCTION_LIST *p = t->b->p11;
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	const uint8_t *in = t->data;
	CK_ULONG inlen = sizeof(t->data);
	t->data[0]++;
	/* The same work hsm_sign does: digest in software for ECDSA. */
	switch (t->b->alg) {
	case HSM_ALG_RSASHA256:
		mech.mechanism = CKM_SHA256_RSA_PKCS;
		break;
	case HSM_ALG_ED25519:
		mech.mechanism = CKM_EDDSA;
		break;
	case HSM_ALG_ECDSAP256:
	case HSM_ALG_ECDSAP384:
		if (EVP_Digest(t->data, sizeof(t->data), digest, &dlen,
			       t->b->alg == HSM_ALG_ECDSAP256 ? EVP_sha256() : EVP_sha384(),
			       NULL) != 1)
			return SIGNET_ECRYPTO;
		in = digest;
		inlen = dlen;
		break;
	}
	uint8_t sig[1024];
	CK_ULONG siglen = sizeof(sig);
	if (p->C_SignInit(t->session, &mech, t->key) != CKR_OK)
		return SIGNET_EHSM;
	if (p->C_Sign(t->session, (CK_BYTE_PTR)in, inlen, sig, &siglen) != CKR_OK)
		return SIGNET_EHSM;
	return SIGNET_OK;
}

static const sg_bench_ops raw_ops = {raw_init, raw_op, raw_fini};

/* ---- signet hsm/ ---------------------------------------------------------- */

struct layer_bench {
	hsm_token *token;
	const hsm_key_info *key;
};

struct layer_thread {
	const struct layer_bench *b;
	hsm_session *session;
	uint8_t data[DATA_LEN];
};

static signet_err layer_init(unsigned index, void *arg, void **state)
{
	struct layer_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return SIGNET_ENOMEM;
	t->b = arg;
	memset(t->data, (int)index, sizeof(t->data));
	signet_err ret = hsm_session_open(t->b->token, &t->session, NULL, 0);
	if (ret != SIGNET_OK) {
		free(t);
		return ret;
	}
	*state = t;
	return SIGNET_OK;
}

static signet_err layer_op(void *state)
{
	struct layer_thread *t = state;
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen;
	t->data[0]++;
	return hsm_sign(t->session, t->b->key->id, t->b->key->id_len, t->data, sizeof(t->data), sig,
			sizeof(sig), &siglen, NULL, 0);
}

static void layer_fini(void *state)
{
	struct layer_thread *t = state;
	if (t == NULL)
		return;
	hsm_session_close(t->session);
	free(t);
}

static const sg_bench_ops layer_ops = {layer_init, layer_op, layer_fini};

/* ---- table ---------------------------------------------------------------- */

static double run(const sg_bench_ops *ops, void *arg, unsigned threads, double seconds)
{
	sg_bench_result r;
	signet_err ret = sg_bench_run(ops, arg, threads, seconds, &r);
	if (ret != SIGNET_OK) {
		/* The detail stayed with the bench thread that failed. */
		fprintf(stderr, "bench_sign: run failed: %s\n", signet_strerror(ret));
		return -1;
	}
	return r.per_second;
}

#define ROUNDS 3

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double v[ROUNDS])
{
	double c[ROUNDS];
	memcpy(c, v, sizeof(c));
	qsort(c, ROUNDS, sizeof(c[0]), cmp_double);
	return c[ROUNDS / 2];
}

static int bench_alg(bench_token *f, hsm_alg alg, double seconds)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info key;
	if (hsm_key_label("bench", "bench.example.", alg, time(NULL), label, sizeof(label), hsmerr,
			  sizeof(hsmerr)) != SIGNET_OK ||
	    hsm_key_generate(f->tok, alg, 0, label, &key, hsmerr, sizeof(hsmerr)) != SIGNET_OK) {
		fprintf(stderr, "bench_sign: keygen alg %d: %s\n", (int)alg, hsmerr);
		return -1;
	}
	struct ossl_bench ob = {ossl_keygen(alg), NULL};
	if (alg == HSM_ALG_RSASHA256 || alg == HSM_ALG_ECDSAP256)
		ob.md = EVP_sha256();
	else if (alg == HSM_ALG_ECDSAP384)
		ob.md = EVP_sha384();
	struct raw_bench rt = {(CK_FUNCTION_LIST *)f->p11, f->slot, alg, key.id, key.id_len, false};
	struct raw_bench rs = rt;
	rs.session_copy = true;
	struct layer_bench lb = {f->tok, &key};

	for (unsigned threads = 1; threads <= 2; threads++) {
		/* Rounds interleave the five ways, and each cell reports its
		 * median round, so a burst of other load hits every way alike
		 * instead of skewing one column. */
		double r[5][ROUNDS];
		for (int k = 0; k < ROUNDS; k++) {
			r[0][k] = run(&ossl_ops, &ob, threads, seconds);
			r[1][k] = run(&raw_ops, &rt, threads, seconds);
			r[2][k] = run(&raw_ops, &rs, threads, seconds);
			hsm_token_set_session_copies(f->tok, false);
			r[3][k] = run(&layer_ops, &lb, threads, seconds);
			hsm_token_set_session_copies(f->tok, true);
			r[4][k] = run(&layer_ops, &lb, threads, seconds);
		}
		double ossl = median(r[0]), raw_tok = median(r[1]), raw_ses = median(r[2]);
		double hsm_tok = median(r[3]), hsm_ses = median(r[4]);
		printf("| %2d | %u | %9.0f | %9.0f | %9.0f | %9.0f | %9.0f | %5.1f%% | %5.1f%% | %5.1f%% |\n",
		       (int)alg, threads, ossl, raw_tok, raw_ses, hsm_tok, hsm_ses,
		       raw_tok > 0 ? 100 * hsm_tok / raw_tok : 0,
		       raw_ses > 0 ? 100 * hsm_ses / raw_ses : 0,
		       ossl > 0 ? 100 * hsm_ses / ossl : 0);
		fflush(stdout);
	}
	EVP_PKEY_free(ob.key);
	hsm_key_delete(f->tok, key.id, key.id_len, hsmerr, sizeof(hsmerr));
	return 0;
}

static double tv_s(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

/* One raw cell: P-256, session object, the given threads. */
static int raw_only(double seconds, unsigned threads)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	bench_token *f = NULL;
	if (bench_token_create(&f) != SIGNET_OK)
		return 1;
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info key;
	int rc = 1;
	if (hsm_key_label("bench", "bench.example.", HSM_ALG_ECDSAP256, time(NULL), label,
			  sizeof(label), hsmerr, sizeof(hsmerr)) != SIGNET_OK ||
	    hsm_key_generate(f->tok, HSM_ALG_ECDSAP256, 0, label, &key, hsmerr, sizeof(hsmerr)) !=
		    SIGNET_OK) {
		fprintf(stderr, "bench_sign: keygen: %s\n", hsmerr);
	} else {
		struct raw_bench rs = {(CK_FUNCTION_LIST *)f->p11,
				       f->slot,
				       HSM_ALG_ECDSAP256,
				       key.id,
				       key.id_len,
				       true};
		struct rusage u0, u1;
		sg_bench_result r;
		getrusage(RUSAGE_SELF, &u0);
		signet_err ret = sg_bench_run(&raw_ops, &rs, threads, seconds, &r);
		getrusage(RUSAGE_SELF, &u1);
		if (ret != SIGNET_OK || r.ops == 0 || !(r.seconds > 0)) {
			fprintf(stderr, "bench_sign: run failed: %s\n", signet_strerror(ret));
		} else {
			double cpu = tv_s(&u1.ru_utime) + tv_s(&u1.ru_stime) - tv_s(&u0.ru_utime) -
				     tv_s(&u0.ru_stime);
			/* The CPU covers sg_bench_run's warm-up too (a tenth of the
			 * time, at most 0.2 s), at about the same rate. */
			double warm = seconds / 10 < 0.2 ? seconds / 10 : 0.2;
			double ops = (double)r.ops * (r.seconds + warm) / r.seconds;
			printf("%.0f %.1f\n", r.per_second, cpu * 1e6 / ops);
			rc = 0;
		}
		hsm_key_delete(f->tok, key.id, key.id_len, hsmerr, sizeof(hsmerr));
	}
	bench_token_destroy(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "raw") == 0) {
		double secs = argc > 2 ? strtod(argv[2], NULL) : 0;
		long threads = argc > 3 ? strtol(argv[3], NULL, 10) : 2;
		if (argc > 4 || !(secs >= 0.1 && secs <= 600) || threads < 1 || threads > 64) {
			fprintf(stderr, "usage: bench_sign raw SECONDS [THREADS 1..64]\n");
			return 2;
		}
		return raw_only(secs, (unsigned)threads);
	}
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
	const char *algs = argc > 2 ? argv[2] : "13,15,8,14";
	if (!(seconds >= 0.1 && seconds <= 600)) {
		fprintf(stderr, "usage: bench_sign [seconds 0.1..600] [alg,...]\n");
		return 2;
	}
	bench_token *f = NULL;
	if (bench_token_create(&f) != SIGNET_OK)
		return 1;
	printf("signatures/s, median of %d interleaved rounds of %.1f s, %d-octet messages; raw = C_SignInit+C_Sign "
	       "(plus the SHA digest for ECDSA, as hsm/ does)\n\n",
	       ROUNDS, seconds, DATA_LEN);
	printf("| alg | threads | OpenSSL | raw C_Sign token obj | raw C_Sign session obj "
	       "| hsm/ token obj | hsm/ session copy | hsm/raw (token) | hsm/raw (session) "
	       "| hsm/OpenSSL |\n");
	printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
	int rc = 0;
	char list[64];
	snprintf(list, sizeof(list), "%s", algs);
	char *save = NULL;
	for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save))
		if (bench_alg(f, (hsm_alg)atoi(a), seconds) != 0)
			rc = 1;
	bench_token_destroy(f);
	return rc;
}
