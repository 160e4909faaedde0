/* tls.c -- signetd's TLS set-up: the protocol versions the process allows
 * and the mutual-TLS server credentials made from tls-cert, tls-key and
 * tls-ca, the key a PEM file or kept in a token (docs/HSM.md).
 *
 * gRPC gets its certificate, key and CA through a fetcher it asks at every
 * new handshake, so they can change under a running server: a key in a
 * token whose sessions died is loaded again through a fresh libp11 engine
 * (a repair thread, woken when a signature through the engine fails), and
 * SIGHUP brings in a renewed certificate (and a changed PEM key). Calls on
 * connections already made never notice: their keys are in memory. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "signer/tls.h"

#define PEM_MAX (1024 * 1024)

/* gRPC's C API has no TLS version knob, and it sets the minimum version of
 * its OpenSSL contexts itself (TLS 1.2), overriding MinProtocol. Protocol
 * options (SSL_OP_NO_TLSv1_2) survive that, and every context picks up the
 * process's "system_default" SSL configuration when it is made, so set the
 * option there. The default configuration is loaded first so ours replaces
 * it instead of being replaced by it later. */
signet_err srv_tls13_only(void)
{
	static const char conf[] =
		"openssl_conf = signet_init\n"
		"[signet_init]\nssl_conf = signet_ssl\n"
		"[signet_ssl]\nsystem_default = signet_sys\n"
		"[signet_sys]\nMinProtocol = TLSv1.3\n"
		"Protocol = -SSLv3, -TLSv1, -TLSv1.1, -TLSv1.2\n";
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		return SIGNET_ECRYPTO;
	BIO *b = BIO_new_mem_buf(conf, -1);
	CONF *cnf = NCONF_new(NULL);
	long eline = 0;
	signet_err ret = SIGNET_OK;
	if (!b || !cnf || NCONF_load_bio(cnf, b, &eline) <= 0 ||
	    CONF_modules_load(cnf, NULL, 0) <= 0)
		ret = SIGNET_ECRYPTO;
	NCONF_free(cnf);
	BIO_free(b);
	return ret;
}

/* Least time between two checks of the token key, and the longest wait
 * after a failed repair before the next failure is acted on. */
#define CHECK_GAP_MS 100
#define REPAIR_BACKOFF_MAX_MS 5000

struct srv_tls {
	pthread_mutex_t lock;               /* guards everything below but tkey */
	sg_buf cert, ca;                    /* PEM, NUL-terminated */
	sg_buf key;                         /* PEM key (wiped when dropped), or the engine key */
	uint64_t gen;                       /* version of cert, ca and key */
	uint64_t served;                    /* the version gRPC was last handed */
	char key_spec[SIGNER_PATH_MAX];     /* tls-key as started: file or URI */
	char key_pin_spec[SIGNER_PATH_MAX]; /* tls-key-pin as started */
	hsm_tls_key *tkey;                  /* a key in a token, else NULL; the repair thread's */
	pthread_t repairer;                 /* runs hsm_tls_key_check when poked */
	bool repairer_started;
	pthread_cond_t cond; /* poke or quit (monotonic clock) */
	bool poke, quit;
	atomic_uint_fast64_t reloads; /* the key loaded through a new engine */
};

static signet_err read_pem(const char *path, sg_buf *out)
{
	signet_err ret = sg_file_read(path, PEM_MAX, out);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(out, 0);
	if (ret == SIGNET_OK && (out->len < 2 || !strstr((char *)out->data, "-----BEGIN ")))
		ret = SIGNET_EPARSE;
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "TLS: cannot read PEM %s: %s", path, signet_strerror(ret));
	return ret;
}

/* A tls-key kept in a token: log in (or use token), check the key against
 * the certificate and make libp11's engine ready; key_out gets gRPC's key
 * string "engine:<id>:<URI>". The PIN of another token is read here, from
 * tls-key-pin, and wiped before this returns. */
static signet_err token_key(const signer_config *cfg, hsm_ctx *hsm, hsm_token *token,
			    const sg_buf *cert, hsm_tls_key **key, sg_buf *key_out)
{
	sg_secret *pin = NULL;
	signet_err ret = SIGNET_OK;
	if (cfg->tls_key_pin_spec[0]) {
		ret = sg_secret_from_spec(cfg->tls_key_pin_spec, &pin);
		if (ret != SIGNET_OK) {
			sg_log(SG_LOG_ERROR, "tls-key-pin from %s: %s", cfg->tls_key_pin_spec,
			       signet_strerror(ret));
			return ret;
		}
	}
	char msg[1024];
	hsm_tls_key_params p = {.ctx = hsm,
				.have = token,
				.uri = cfg->tls_key,
				.pin = pin,
				.cert_pem = cert->data,
				.cert_len = cert->len};
	ret = hsm_tls_key_open(&p, key, msg, sizeof(msg));
	sg_secret_free(pin);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "tls-key: %s", msg);
		return ret;
	}
	const char *k = hsm_tls_key_engine_key(*key);
	ret = sg_buf_append(key_out, (const uint8_t *)k, strlen(k) + 1);
	if (ret == SIGNET_OK)
		sg_log(SG_LOG_NOTICE, "TLS key in the token: %s", hsm_tls_key_engine_uri(*key));
	return ret;
}

/* gRPC asks this at every new handshake (and once when the port is
 * added), under its own lock: hand it a new configuration only when ours
 * changed. It copies what it is given. */
static grpc_ssl_certificate_config_reload_status
fetch_config(void *arg, grpc_ssl_server_certificate_config **config)
{
	srv_tls *t = arg;
	grpc_ssl_certificate_config_reload_status st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
	pthread_mutex_lock(&t->lock);
	if (t->served != t->gen) {
		grpc_ssl_pem_key_cert_pair pair = {(const char *)t->key.data,
						   (const char *)t->cert.data};
		*config = grpc_ssl_server_certificate_config_create((const char *)t->ca.data, &pair,
								    1);
		st = *config ? GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW
			     : GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
		if (*config)
			t->served = t->gen;
	}
	pthread_mutex_unlock(&t->lock);
	return st;
}

/* On the thread whose signature through the engine failed (gRPC's). */
static void engine_failed(void *arg)
{
	srv_tls *t = arg;
	pthread_mutex_lock(&t->lock);
	t->poke = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait until quit, or ms have passed. Called with t->lock held. */
static void pause_ms(srv_tls *t, unsigned ms)
{
	struct timespec until;
	deadline_in(&until, ms);
	while (!t->quit && pthread_cond_timedwait(&t->cond, &t->lock, &until) == 0) {
	}
}

/* The repair thread: when a signature through the engine failed, check
 * the key (hsm_tls_key_check) and, when it was loaded anew, hand gRPC the
 * new engine key for the handshakes that follow. */
static void *repair_main(void *arg)
{
	srv_tls *t = arg;
	unsigned backoff = 0;
	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (!t->quit && !t->poke)
			pthread_cond_wait(&t->cond, &t->lock);
		if (t->quit)
			break;
		t->poke = false;
		pthread_mutex_unlock(&t->lock);
		bool renewed = false;
		char msg[768] = "";
		signet_err ret = hsm_tls_key_check(t->tkey, &renewed, msg, sizeof(msg));
		const char *k = hsm_tls_key_engine_key(t->tkey);
		sg_buf key = SG_BUF_INIT;
		if (ret == SIGNET_OK && renewed)
			ret = sg_buf_append(&key, (const uint8_t *)k, strlen(k) + 1);
		pthread_mutex_lock(&t->lock);
		if (ret == SIGNET_OK && renewed) {
			sg_buf swap = t->key;
			t->key = key;
			key = swap;
			t->gen++;
		}
		pthread_mutex_unlock(&t->lock);
		sg_buf_free(&key);
		if (ret == SIGNET_OK && renewed) {
			uint64_t n = atomic_fetch_add(&t->reloads, 1) + 1;
			sg_log(SG_LOG_NOTICE,
			       "TLS key reloaded through a new libp11 engine instance (reload %llu, "
			       "%llu failed signatures so far): %s",
			       (unsigned long long)n, (unsigned long long)hsm_tls_engine_failures(),
			       k);
			backoff = 0;
		} else if (ret != SIGNET_OK) {
			backoff = backoff ? backoff * 2 : CHECK_GAP_MS;
			if (backoff > REPAIR_BACKOFF_MAX_MS)
				backoff = REPAIR_BACKOFF_MAX_MS;
			sg_log(SG_LOG_ERROR,
			       "TLS key unusable, new handshakes fail until it signs again "
			       "(next try on the next failure, %u ms from now at the earliest): %s",
			       backoff, msg[0] ? msg : signet_strerror(ret));
		}
		pthread_mutex_lock(&t->lock);
		/* Failures of handshakes that started before the repair poke
		 * again; acting on them at most this often bounds the checks. */
		pause_ms(t, backoff ? backoff : CHECK_GAP_MS);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

void srv_tls_free(srv_tls *t)
{
	if (!t)
		return;
	if (t->repairer_started) {
		hsm_tls_engine_on_failure(NULL, NULL);
		pthread_mutex_lock(&t->lock);
		t->quit = true;
		pthread_cond_broadcast(&t->cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->repairer, NULL);
	}
	hsm_tls_key_close(t->tkey);
	sg_buf_free(&t->cert);
	sg_buf_free(&t->ca);
	sg_buf_free_secure(&t->key);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static signet_err tls_new(srv_tls **out)
{
	srv_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return SIGNET_ENOMEM;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&t->reloads, 0);
	*out = t;
	return SIGNET_OK;
}

signet_err srv_tls_credentials(const signer_config *cfg, hsm_ctx *hsm, hsm_token *token,
			       srv_tls **tls, grpc_server_credentials **out)
{
	*tls = NULL;
	*out = NULL;
	srv_tls *t = NULL;
	signet_err ret = tls_new(&t);
	if (ret != SIGNET_OK)
		return ret;
	snprintf(t->key_spec, sizeof(t->key_spec), "%s", cfg->tls_key);
	snprintf(t->key_pin_spec, sizeof(t->key_pin_spec), "%s", cfg->tls_key_pin_spec);
	ret = read_pem(cfg->tls_cert, &t->cert);
	if (ret == SIGNET_OK && hsm_uri_is(cfg->tls_key))
		ret = token_key(cfg, hsm, token, &t->cert, &t->tkey, &t->key);
	else if (ret == SIGNET_OK)
		ret = read_pem(cfg->tls_key, &t->key);
	if (ret == SIGNET_OK)
		ret = read_pem(cfg->tls_ca, &t->ca);
	t->gen = 1;
	if (ret == SIGNET_OK && t->tkey) {
		if (pthread_create(&t->repairer, NULL, repair_main, t) != 0)
			ret = SIGNET_ENOMEM;
		else
			t->repairer_started = true;
		if (ret == SIGNET_OK)
			hsm_tls_engine_on_failure(engine_failed, t);
	}
	if (ret == SIGNET_OK) {
		grpc_ssl_server_credentials_options *o =
			grpc_ssl_server_credentials_create_options_using_config_fetcher(
				GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY,
				fetch_config, t);
		*out = o ? grpc_ssl_server_credentials_create_with_options(o) : NULL;
		if (!*out)
			ret = SIGNET_ECRYPTO;
	}
	if (ret != SIGNET_OK) {
		srv_tls_free(t);
		return ret;
	}
	*tls = t;
	return SIGNET_OK;
}

uint64_t srv_tls_reloads(const srv_tls *t)
{
	return t ? atomic_load(&((srv_tls *)t)->reloads) : 0;
}

/* Whether the PEM key in key (NUL-terminated) is the private key of the
 * first certificate in cert. */
static bool pem_pair_matches(const sg_buf *key, const sg_buf *cert)
{
	BIO *kb = BIO_new_mem_buf(key->data, (int)key->len - 1);
	BIO *cb = BIO_new_mem_buf(cert->data, (int)cert->len - 1);
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	bool ok = k && x && X509_check_private_key(x, k) == 1;
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	ERR_clear_error();
	return ok;
}

static bool same(const sg_buf *a, const sg_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

signet_err srv_tls_reload(srv_tls *t, const signer_config *cfg)
{
	if (!t || !cfg)
		return SIGNET_EINVAL;
	bool uri = hsm_uri_is(cfg->tls_key);
	/* Another PEM file is read like the same one; a key in a token stays
	 * the one logged in at start. */
	if (uri != hsm_uri_is(t->key_spec) || (uri && strcmp(cfg->tls_key, t->key_spec) != 0) ||
	    strcmp(cfg->tls_key_pin_spec, t->key_pin_spec) != 0) {
		sg_log(SG_LOG_WARNING,
		       "reload: tls-key or tls-key-pin changed: the TLS "
		       "certificate, key and CA keep their old values until a restart");
		return SIGNET_OK;
	}
	sg_buf cert = SG_BUF_INIT, ca = SG_BUF_INIT, key = SG_BUF_INIT;
	signet_err ret = read_pem(cfg->tls_cert, &cert);
	if (ret == SIGNET_OK)
		ret = read_pem(cfg->tls_ca, &ca);
	if (ret == SIGNET_OK && !uri)
		ret = read_pem(cfg->tls_key, &key);
	if (ret == SIGNET_OK && uri) {
		char msg[768];
		ret = hsm_tls_key_matches(t->tkey, cert.data, cert.len, msg, sizeof(msg));
		if (ret != SIGNET_OK)
			sg_log(SG_LOG_ERROR, "reload: tls-cert %s: %s", cfg->tls_cert, msg);
	} else if (ret == SIGNET_OK && !pem_pair_matches(&key, &cert)) {
		ret = SIGNET_EVERIFY;
		sg_log(SG_LOG_ERROR, "reload: tls-key %s is not the key of tls-cert %s",
		       cfg->tls_key, cfg->tls_cert);
	}
	bool changed = false;
	if (ret == SIGNET_OK) {
		pthread_mutex_lock(&t->lock);
		changed = !same(&cert, &t->cert) || !same(&ca, &t->ca) ||
			  (!uri && !same(&key, &t->key));
		if (changed) {
			sg_buf swap = t->cert;
			t->cert = cert;
			cert = swap;
			swap = t->ca;
			t->ca = ca;
			ca = swap;
			if (!uri) {
				swap = t->key;
				t->key = key;
				key = swap;
				snprintf(t->key_spec, sizeof(t->key_spec), "%s", cfg->tls_key);
			}
			t->gen++;
		}
		pthread_mutex_unlock(&t->lock);
	}
	sg_buf_free(&cert);
	sg_buf_free(&ca);
	sg_buf_free_secure(&key);
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "reload: TLS certificate, key and CA not changed");
	else if (changed)
		sg_log(SG_LOG_NOTICE,
		       "reload: TLS certificate, key and CA from %s, %s, %s for "
		       "new connections",
		       cfg->tls_cert, cfg->tls_key, cfg->tls_ca);
	return ret;
}
