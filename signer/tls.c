/* tls.c -- signetd's TLS set-up: the protocol versions the process allows
 * and the mutual-TLS server credentials made from tls-cert, tls-key and
 * tls-ca, the key a PEM file or kept in a token (docs/HSM.md). */
#include <string.h>

#include <grpc/grpc_security.h>
#include <openssl/conf.h>
#include <openssl/ssl.h>

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
 * string "engine:pkcs11:<URI>". The PIN of another token is read here, from
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
	static const char prefix[] = "engine:pkcs11:";
	const char *uri = hsm_tls_key_engine_uri(*key);
	ret = sg_buf_append(key_out, (const uint8_t *)prefix, strlen(prefix));
	if (ret == SIGNET_OK)
		ret = sg_buf_append(key_out, (const uint8_t *)uri, strlen(uri) + 1);
	if (ret == SIGNET_OK)
		sg_log(SG_LOG_NOTICE, "TLS key in the token: %s", uri);
	return ret;
}

/* The one place that turns tls-cert, tls-key and tls-ca into gRPC's
 * server credentials: mutual TLS, a verified client certificate required.
 * The key's PEM is wiped once gRPC has its copy. */
signet_err srv_tls_credentials(const signer_config *cfg, hsm_ctx *hsm, hsm_token *token,
			       hsm_tls_key **tkey, grpc_server_credentials **out)
{
	*tkey = NULL;
	sg_buf cert = SG_BUF_INIT, key = SG_BUF_INIT, ca = SG_BUF_INIT;
	signet_err ret = read_pem(cfg->tls_cert, &cert);
	if (ret == SIGNET_OK && hsm_uri_is(cfg->tls_key))
		ret = token_key(cfg, hsm, token, &cert, tkey, &key);
	else if (ret == SIGNET_OK)
		ret = read_pem(cfg->tls_key, &key);
	if (ret == SIGNET_OK)
		ret = read_pem(cfg->tls_ca, &ca);
	if (ret == SIGNET_OK) {
		grpc_ssl_pem_key_cert_pair pair = {(const char *)key.data,
						   (const char *)cert.data};
		*out = grpc_ssl_server_credentials_create_ex(
			(const char *)ca.data, &pair, 1,
			GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
		if (!*out)
			ret = SIGNET_ECRYPTO;
	}
	if (ret != SIGNET_OK) {
		hsm_tls_key_close(*tkey);
		*tkey = NULL;
	}
	sg_buf_free(&cert);
	sg_buf_free_secure(&key);
	sg_buf_free(&ca);
	return ret;
}
