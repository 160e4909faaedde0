/* hsm_tls.c -- `signet hsm tls-key` and `signet hsm tls-csr`: a TLS key pair
 * made inside a token (P-256, sensitive, never extractable, sign only) and a
 * certificate request signed by the token, so that signetd's or a client's
 * TLS identity never exists outside the HSM. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client/client.h"
#include "hsm/hsm.h"

#define CSR_SUBJECT_MAX 64 /* a CN's upper bound (RFC 5280 ub-common-name) */
#define CSR_SAN_MAX 1024

struct tls_opts {
	const char *module;
	const char *label;  /* token label (tls-key) */
	const char *serial; /* or serial */
	const char *pin_spec;
	const char *name;    /* tls-key: the owner part of the key's label */
	const char *key_uri; /* tls-csr: the key */
	const char *subject; /* CN */
	const char *san;     /* subjectAltName, OpenSSL's "DNS:a,IP:b" form */
	const char *csr;     /* output file */
};

static void tls_usage(FILE *f)
{
	fprintf(f,
		"usage: signet hsm tls-key --module PATH (--token LABEL | --serial S)\n"
		"                  --pin file:PATH|fd:N|env:NAME --name NAME --cn CN\n"
		"                  [--san DNS:host,IP:addr] --csr FILE\n"
		"       signet hsm tls-csr --module PATH --key PKCS11-URI\n"
		"                  --pin file:PATH|fd:N|env:NAME --cn CN [--san ...] --csr FILE\n"
		"  tls-key  generate an EC P-256 key pair inside the token (never\n"
		"           extractable), write a certificate request signed by the token\n"
		"           and print the key's PKCS#11 URI (for tls-key in signetd.conf or\n"
		"           key in a client config)\n"
		"  tls-csr  a new certificate request for a key already in the token\n"
		"The PIN is never taken from the command line.\n");
}

static int parse_tls_opts(int argc, char **argv, bool generate, struct tls_opts *o)
{
	static const struct option longopts[] = {
		{"module", required_argument, NULL, 'm'},
		{"token", required_argument, NULL, 't'},
		{"serial", required_argument, NULL, 's'},
		{"pin", required_argument, NULL, 'p'},
		{"name", required_argument, NULL, 'n'},
		{"key", required_argument, NULL, 'k'},
		{"cn", required_argument, NULL, 'c'},
		{"san", required_argument, NULL, 'a'},
		{"csr", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->module = getenv("SIGNET_PKCS11_MODULE");
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
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
		case 'n':
			o->name = optarg;
			break;
		case 'k':
			o->key_uri = optarg;
			break;
		case 'c':
			o->subject = optarg;
			break;
		case 'a':
			o->san = optarg;
			break;
		case 'o':
			o->csr = optarg;
			break;
		case 'h':
			tls_usage(stdout);
			exit(SIGNET_EXIT_OK);
		default:
			return -1;
		}
	}
	const char *cmd = generate ? "signet hsm tls-key" : "signet hsm tls-csr";
	const char *missing = !o->module                 ? "--module (or SIGNET_PKCS11_MODULE)"
			      : !o->pin_spec             ? "--pin"
			      : !o->subject              ? "--cn"
			      : !o->csr                  ? "--csr"
			      : generate && !o->name     ? "--name"
			      : !generate && !o->key_uri ? "--key"
			      : generate && !o->label && !o->serial ? "--token or --serial"
								    : NULL;
	if (missing) {
		fprintf(stderr, "%s: %s is required\n", cmd, missing);
		return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, argv[optind]);
		return -1;
	}
	size_t cn = strlen(o->subject);
	if (cn == 0 || cn > CSR_SUBJECT_MAX) {
		fprintf(stderr, "%s: --cn: 1 to %d characters\n", cmd, CSR_SUBJECT_MAX);
		return -1;
	}
	for (size_t i = 0; i < cn; i++)
		if ((unsigned char)o->subject[i] < 0x20 || o->subject[i] == 0x7f) {
			fprintf(stderr, "%s: --cn: control character\n", cmd);
			return -1;
		}
	if (o->san && (!*o->san || strlen(o->san) > CSR_SAN_MAX)) {
		fprintf(stderr, "%s: --san: 1 to %d characters\n", cmd, CSR_SAN_MAX);
		return -1;
	}
	return 0;
}

/* The CSR's signature: SHA-256 and CKM_ECDSA in the token (hsm_sign gives
 * r||s), DER-encoded as X.509 wants it. */
static signet_err sign_request(X509_REQ *req, hsm_token *t, const hsm_key_info *key, char *errmsg,
			       size_t errlen)
{
	X509_ALGOR *alg = X509_ALGOR_new();
	if (!alg)
		return SIGNET_ENOMEM;
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL);
	int ok = X509_REQ_set1_signature_algo(req, alg);
	X509_ALGOR_free(alg);
	if (!ok)
		return SIGNET_ECRYPTO;
	unsigned char *tbs = NULL;
	int tbslen = i2d_re_X509_REQ_tbs(req, &tbs);
	if (tbslen <= 0)
		return SIGNET_ECRYPTO;
	hsm_session *s = NULL;
	uint8_t raw[HSM_SIG_MAX];
	size_t rawlen = 0;
	signet_err ret = hsm_session_open(t, &s, errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = hsm_sign(s, key->id, key->id_len, tbs, (size_t)tbslen, raw, sizeof(raw),
			       &rawlen, errmsg, errlen);
	hsm_session_close(s);
	OPENSSL_free(tbs);
	if (ret != SIGNET_OK)
		return ret;
	if (rawlen != 64)
		return SIGNET_ECRYPTO;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *sv = BN_bin2bn(raw + 32, 32, NULL);
	if (!es || !r || !sv || !ECDSA_SIG_set0(es, r, sv)) {
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(sv);
		return SIGNET_ENOMEM;
	}
	unsigned char *der = NULL;
	int derlen = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	ASN1_BIT_STRING *bits = derlen > 0 ? ASN1_BIT_STRING_new() : NULL;
	if (!bits || !ASN1_BIT_STRING_set(bits, der, derlen)) {
		ASN1_BIT_STRING_free(bits);
		OPENSSL_free(der);
		return SIGNET_ENOMEM;
	}
	OPENSSL_free(der);
	/* No unused bits: a whole number of octets. */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	return SIGNET_OK;
}

/* Build, sign (in the token), check and write the request. */
static signet_err write_csr(hsm_token *t, const hsm_key_info *key, const struct tls_opts *o)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	EVP_PKEY *pub = NULL;
	signet_err ret = hsm_key_public(t, key->id, key->id_len, &pub, hsmerr, sizeof(hsmerr));
	if (ret != SIGNET_OK) {
		fprintf(stderr, "signet hsm: public key: %s\n", hsmerr);
		return ret;
	}
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	ret = SIGNET_ECRYPTO;
	if (!req || !name || !X509_REQ_set_version(req, 0) || !X509_REQ_set_pubkey(req, pub) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)o->subject, -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, name)) {
		fprintf(stderr, "signet hsm: --cn: not accepted as a name\n");
		goto out;
	}
	if (o->san) {
		X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name,
							   o->san);
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		bool ok = ext && exts && sk_X509_EXTENSION_push(exts, ext);
		if (ok)
			ext = NULL;
		ok = ok && X509_REQ_add_extensions(req, exts);
		X509_EXTENSION_free(ext);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		if (!ok) {
			fprintf(stderr, "signet hsm: --san: expected DNS:name,IP:address,...\n");
			goto out;
		}
	}
	ret = sign_request(req, t, key, hsmerr, sizeof(hsmerr));
	if (ret != SIGNET_OK) {
		fprintf(stderr, "signet hsm: signing the request in the token: %s (%s)\n",
			signet_strerror(ret), hsmerr);
		goto out;
	}
	/* The token's signature must verify with the key it names. */
	if (X509_REQ_verify(req, pub) != 1) {
		fprintf(stderr, "signet hsm: the signed request does not verify\n");
		ret = SIGNET_EVERIFY;
		goto out;
	}
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long len = 0;
	if (b && PEM_write_bio_X509_REQ(b, req))
		len = BIO_get_mem_data(b, &pem);
	ret = len > 0 ? sg_file_write_atomic(o->csr, pem, (size_t)len, 0644) : SIGNET_ECRYPTO;
	BIO_free(b);
	if (ret != SIGNET_OK)
		fprintf(stderr, "signet hsm: --csr %s: %s\n", o->csr, signet_strerror(ret));
out:
	ERR_clear_error();
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	return ret;
}

/* Open the module and log in; the PIN is wiped before this returns. */
static void print_uri(hsm_token *t, const hsm_key_info *key)
{
	hsm_token_desc d;
	hsm_uri u;
	memset(&u, 0, sizeof(u));
	if (hsm_token_describe(t, &d, NULL, 0) == SIGNET_OK)
		snprintf(u.token, sizeof(u.token), "%s", d.label);
	memcpy(u.id, key->id, key->id_len);
	u.id_len = key->id_len;
	snprintf(u.object, sizeof(u.object), "%s", key->label);
	char text[HSM_URI_MAX + 1];
	if (hsm_uri_format(&u, text, sizeof(text)) == SIGNET_OK)
		printf("%s\n", text);
}

int signet_hsm_tls(int argc, char **argv)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	bool generate = strcmp(argv[0], "tls-key") == 0;
	struct tls_opts o;
	if (parse_tls_opts(argc, argv, generate, &o) != 0) {
		tls_usage(stderr);
		return SIGNET_EXIT_USAGE;
	}
	sg_harden_process();
	hsm_uri u;
	if (!generate) {
		char why[256];
		if (hsm_uri_parse(o.key_uri, &u, why, sizeof(why)) != SIGNET_OK) {
			fprintf(stderr, "signet hsm tls-csr: --key: %s\n", why);
			return SIGNET_EXIT_USAGE;
		}
	}
	hsm_ctx *ctx = NULL;
	hsm_token *t = NULL;
	/* A bad PIN source is an error here, as it always was for tls-key. */
	if (generate ? client_hsm_token_open(o.module, o.label, o.serial, o.pin_spec, &ctx, &t)
		     : client_hsm_token_open(o.module, u.token[0] ? u.token : NULL,
					     u.serial[0] ? u.serial : NULL, o.pin_spec, &ctx, &t))
		return SIGNET_EXIT_ERROR;
	signet_err ret;
	hsm_key_info key;
	if (generate) {
		char label[HSM_LABEL_MAX + 1];
		ret = hsm_key_label("tls", o.name, HSM_ALG_ECDSAP256, time(NULL), label,
				    sizeof(label), hsmerr, sizeof(hsmerr));
		if (ret != SIGNET_OK) {
			fprintf(stderr,
				"signet hsm tls-key: --name: no ':' and at most %d "
				"characters\n",
				HSM_LABEL_MAX - 40);
			hsm_token_close(t);
			hsm_close(ctx);
			return SIGNET_EXIT_USAGE;
		}
		ret = hsm_key_generate(t, HSM_ALG_ECDSAP256, 0, label, &key, hsmerr,
				       sizeof(hsmerr));
		if (ret != SIGNET_OK)
			fprintf(stderr, "signet hsm tls-key: generate: %s (%s)\n",
				signet_strerror(ret), hsmerr);
	} else {
		/* The same rules signetd and the client apply when they use it. */
		hsm_key_info *keys = NULL;
		size_t n = 0, found = 0;
		ret = hsm_key_list(t, &keys, &n, hsmerr, sizeof(hsmerr));
		for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
			if (!keys[i].has_private ||
			    (u.id_len && (keys[i].id_len != u.id_len ||
					  memcmp(keys[i].id, u.id, u.id_len) != 0)) ||
			    (u.object[0] && strcmp(keys[i].label, u.object) != 0))
				continue;
			key = keys[i];
			found++;
		}
		free(keys);
		if (ret == SIGNET_OK && found != 1)
			ret = found ? SIGNET_EINVAL : SIGNET_ENOTFOUND;
		if (ret == SIGNET_OK && (key.alg != HSM_ALG_ECDSAP256 || !hsm_key_is_safe(&key)))
			ret = SIGNET_EHSM_KEY;
		if (ret != SIGNET_OK)
			fprintf(stderr, "signet hsm tls-csr: --key: %s\n",
				ret == SIGNET_ENOTFOUND  ? "no private key in the token matches"
				: ret == SIGNET_EINVAL   ? "several private keys match; add id="
				: ret == SIGNET_EHSM_KEY ? "not a protected P-256 key"
							 : signet_strerror(ret));
	}
	if (ret == SIGNET_OK) {
		ret = write_csr(t, &key, &o);
		/* A key whose request could not be written is no use: remove it. */
		if (ret != SIGNET_OK && generate)
			hsm_key_delete(t, key.id, key.id_len, hsmerr, sizeof(hsmerr));
	}
	if (ret == SIGNET_OK)
		print_uri(t, &key);
	hsm_token_close(t);
	hsm_close(ctx);
	return ret == SIGNET_OK ? SIGNET_EXIT_OK : SIGNET_EXIT_ERROR;
}
