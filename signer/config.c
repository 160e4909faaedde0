/* config.c -- signetd's configuration file: parsing, bounds and lookups. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

#define LINE_MAX_OCTETS 4096
#define WORDS_MAX (SIGNER_CLIENT_ZONES_MAX + 3)

/* Parser state for one run; keeps which keys were seen to refuse repeats. */
typedef struct parser {
	signer_config *cfg;
	unsigned line;
	char *errmsg;
	size_t errlen;
	unsigned seen;  /* bit per key of the table below */
} parser;

static signet_err fail(parser *p, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static signet_err fail(parser *p, signet_err err, const char *fmt, ...)
{
	if (p->errmsg && p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->errmsg, p->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static signet_err set_string(parser *p, const char *key, const char *val,
			     char *dst, size_t dstlen, bool absolute_path)
{
	size_t n = strlen(val);
	if (n == 0 || n >= dstlen)
		return fail(p, SIGNET_ERANGE, "%s: value must be 1..%zu octets", key,
			    dstlen - 1);
	if (absolute_path && val[0] != '/')
		return fail(p, SIGNET_EPARSE, "%s: path must be absolute", key);
	memcpy(dst, val, n + 1);
	return SIGNET_OK;
}

/* A decimal in [lo, hi]; no sign, no suffix, no leading junk. */
static signet_err set_number(parser *p, const char *key, const char *val,
			     unsigned long long lo, unsigned long long hi,
			     unsigned long long *out)
{
	if (!isdigit((unsigned char)val[0]))
		return fail(p, SIGNET_EPARSE, "%s: not a number: %.40s", key, val);
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(val, &end, 10);
	if (*end != '\0')
		return fail(p, SIGNET_EPARSE, "%s: not a number: %.40s", key, val);
	if (errno == ERANGE || v < lo || v > hi)
		return fail(p, SIGNET_ERANGE, "%s: %.40s is outside %llu..%llu", key,
			    val, lo, hi);
	*out = v;
	return SIGNET_OK;
}

static signet_err set_bool(parser *p, const char *key, const char *val, bool *out)
{
	if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0) {
		*out = true;
		return SIGNET_OK;
	}
	if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0) {
		*out = false;
		return SIGNET_OK;
	}
	return fail(p, SIGNET_EPARSE, "%s: expected yes or no, not %.40s", key, val);
}

/* Identities are what certificates carry in a SAN or CN: printable ASCII
 * without blanks, so a config line cannot be ambiguous. */
static bool identity_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SIGNER_IDENTITY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static signet_err add_client(parser *p, char **w, size_t nw)
{
	signer_config *cfg = p->cfg;
	if (nw < 4)
		return fail(p, SIGNET_EPARSE,
			    "client: expected IDENTITY ROLE ZONE... (or *)");
	if (cfg->nclients >= SIGNER_CLIENTS_MAX)
		return fail(p, SIGNET_ERANGE, "client: more than %d clients",
			    SIGNER_CLIENTS_MAX);
	if (!identity_ok(w[1]))
		return fail(p, SIGNET_EPARSE,
			    "client: identity must be 1..%d printable octets",
			    SIGNER_IDENTITY_MAX);
	if (signer_config_client(cfg, w[1]))
		return fail(p, SIGNET_EPARSE, "client: %s is listed twice", w[1]);
	signer_role role;
	if (strcmp(w[2], "signer") == 0)
		role = SIGNER_ROLE_SIGNER;
	else if (strcmp(w[2], "admin") == 0)
		role = SIGNER_ROLE_ADMIN;
	else
		return fail(p, SIGNET_EPARSE, "client: role must be signer or admin, not %.40s",
			    w[2]);
	size_t nz = nw - 3;
	if (nz > SIGNER_CLIENT_ZONES_MAX)
		return fail(p, SIGNET_ERANGE, "client: more than %d zones",
			    SIGNER_CLIENT_ZONES_MAX);

	signer_client *grown = realloc(cfg->clients, (cfg->nclients + 1) * sizeof(*grown));
	if (!grown)
		return SIGNET_ENOMEM;
	cfg->clients = grown;
	signer_client *c = &cfg->clients[cfg->nclients];
	memset(c, 0, sizeof(*c));
	memcpy(c->identity, w[1], strlen(w[1]) + 1);
	c->role = role;
	if (nz == 1 && strcmp(w[3], "*") == 0) {
		c->all_zones = true;
		cfg->nclients++;
		return SIGNET_OK;
	}
	c->zones = calloc(nz, sizeof(*c->zones));
	if (!c->zones)
		return SIGNET_ENOMEM;
	cfg->nclients++;  /* from here c is owned by cfg, freed with it */
	for (size_t i = 0; i < nz; i++) {
		if (strcmp(w[3 + i], "*") == 0)
			return fail(p, SIGNET_EPARSE, "client: '*' must stand alone");
		if (dns_name_from_str(&c->zones[i], w[3 + i]) != SIGNET_OK)
			return fail(p, SIGNET_EPARSE, "client: bad zone name %.80s", w[3 + i]);
		dns_name_lower(&c->zones[i]);
		c->nzones++;
	}
	return SIGNET_OK;
}

enum {
	K_LISTEN, K_CERT, K_KEY, K_CA, K_TLS12, K_MODULE, K_LABEL, K_PIN, K_STATE,
	K_WORKERS, K_CACHE, K_RRSETS, K_RRS, K_OCTETS, K_MESSAGE, K_COUNT
};
static const char *const key_names[K_COUNT] = {
	"listen", "tls-cert", "tls-key", "tls-ca", "tls12", "pkcs11-module",
	"token-label", "pin", "state-dir", "workers", "cache-size", "max-rrsets",
	"max-rrs", "max-rrset-octets", "max-message"
};

static signet_err listen_ok(parser *p, const char *v)
{
	/* host:port with a port in range; IPv6 as [addr]:port. */
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v)
		return fail(p, SIGNET_EPARSE, "listen: expected HOST:PORT");
	if (v[0] == '[' && colon[-1] != ']')
		return fail(p, SIGNET_EPARSE, "listen: IPv6 must be [ADDR]:PORT");
	unsigned long long port;
	signet_err ret = set_number(p, "listen port", colon + 1, 1, 65535, &port);
	if (ret != SIGNET_OK)
		return ret;
	return set_string(p, "listen", v, p->cfg->listen, sizeof(p->cfg->listen), false);
}

static signet_err pin_ok(parser *p, const char *v)
{
	if (strncmp(v, "file:/", 6) != 0 && strncmp(v, "fd:", 3) != 0 &&
	    strncmp(v, "env:", 4) != 0)
		return fail(p, SIGNET_EPARSE,
			    "pin: expected file:/ABSOLUTE/PATH, fd:N or env:NAME");
	if (strncmp(v, "fd:", 3) == 0) {
		unsigned long long fd;
		signet_err ret = set_number(p, "pin fd", v + 3, 0, 1023, &fd);
		if (ret != SIGNET_OK)
			return ret;
	}
	if (strncmp(v, "env:", 4) == 0 && v[4] == '\0')
		return fail(p, SIGNET_EPARSE, "pin: env: needs a variable name");
	return set_string(p, "pin", v, p->cfg->pin_spec, sizeof(p->cfg->pin_spec), false);
}

static signet_err directive(parser *p, char **w, size_t nw)
{
	signer_config *cfg = p->cfg;
	if (strcmp(w[0], "client") == 0)
		return add_client(p, w, nw);
	int k = -1;
	for (int i = 0; i < K_COUNT; i++)
		if (strcmp(w[0], key_names[i]) == 0)
			k = i;
	if (k < 0)
		return fail(p, SIGNET_EPARSE, "unknown key %.60s", w[0]);
	if (nw != 2)
		return fail(p, SIGNET_EPARSE, "%s: expected exactly one value", w[0]);
	if (p->seen & (1u << k))
		return fail(p, SIGNET_EPARSE, "%s: given twice", w[0]);
	p->seen |= 1u << k;
	const char *v = w[1];
	unsigned long long n = 0;
	signet_err ret = SIGNET_OK;
	switch (k) {
	case K_LISTEN: return listen_ok(p, v);
	case K_CERT: return set_string(p, w[0], v, cfg->tls_cert, sizeof(cfg->tls_cert), true);
	case K_KEY: return set_string(p, w[0], v, cfg->tls_key, sizeof(cfg->tls_key), true);
	case K_CA: return set_string(p, w[0], v, cfg->tls_ca, sizeof(cfg->tls_ca), true);
	case K_TLS12: return set_bool(p, w[0], v, &cfg->tls12);
	case K_MODULE:
		return set_string(p, w[0], v, cfg->pkcs11_module, sizeof(cfg->pkcs11_module), true);
	case K_LABEL:
		return set_string(p, w[0], v, cfg->token_label, sizeof(cfg->token_label), false);
	case K_PIN: return pin_ok(p, v);
	case K_STATE:
		return set_string(p, w[0], v, cfg->state_dir, sizeof(cfg->state_dir), true);
	case K_WORKERS:
		ret = set_number(p, w[0], v, 1, SIGNER_WORKERS_MAX, &n);
		cfg->workers = (unsigned)n;
		return ret;
	case K_CACHE:
		ret = set_number(p, w[0], v, 0, 10000000, &n);
		cfg->cache_size = (size_t)n;
		return ret;
	case K_RRSETS:
		ret = set_number(p, w[0], v, 1, 100000, &n);
		cfg->max_rrsets = (size_t)n;
		return ret;
	case K_RRS:
		ret = set_number(p, w[0], v, 1, 65535, &n);
		cfg->max_rrs = (size_t)n;
		return ret;
	case K_OCTETS:
		ret = set_number(p, w[0], v, 1, 1024 * 1024, &n);
		cfg->max_rrset_octets = (size_t)n;
		return ret;
	case K_MESSAGE:
		ret = set_number(p, w[0], v, 4096, 64 * 1024 * 1024, &n);
		cfg->max_message = (size_t)n;
		return ret;
	}
	return fail(p, SIGNET_EPARSE, "unknown key %.60s", w[0]);
}

/* Split line in place into blank-separated words; comments end the line. */
static signet_err split(parser *p, char *line, char **w, size_t *nw)
{
	*nw = 0;
	for (char *c = line; *c; c++) {
		if (*c == '#') {
			*c = '\0';
			break;
		}
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return fail(p, SIGNET_EPARSE, "control character 0x%02x",
				    (unsigned char)*c);
		if ((unsigned char)*c == 0x7f)
			return fail(p, SIGNET_EPARSE, "control character 0x7f");
	}
	char *save = NULL;
	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (*nw == WORDS_MAX)
			return fail(p, SIGNET_ERANGE, "more than %d words", WORDS_MAX);
		w[(*nw)++] = t;
	}
	return SIGNET_OK;
}

static void set_defaults(signer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 2;
	cfg->cache_size = 100000;
	cfg->max_rrsets = 1000;
	cfg->max_rrs = 512;
	cfg->max_rrset_octets = 65535;
	cfg->max_message = 1024 * 1024;
}

signet_err signer_config_parse(const char *text, size_t len, signer_config *out,
			       unsigned *errline, char *errmsg, size_t errlen)
{
	if (!out)
		return SIGNET_EINVAL;
	set_defaults(out);
	parser p = {out, 0, errmsg, errlen, 0};
	if (errline)
		*errline = 0;
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!text)
		return fail(&p, SIGNET_EINVAL, "no text");
	if (len > SIGNER_CONFIG_MAX)
		return fail(&p, SIGNET_ERANGE, "config larger than %d octets",
			    SIGNER_CONFIG_MAX);

	char *line = malloc(LINE_MAX_OCTETS + 1);
	char **words = malloc(WORDS_MAX * sizeof(*words));
	if (!line || !words) {
		free(line);
		free(words);
		return SIGNET_ENOMEM;
	}
	signet_err ret = SIGNET_OK;
	size_t pos = 0;
	while (pos < len && ret == SIGNET_OK) {
		p.line++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (n > LINE_MAX_OCTETS) {
			ret = fail(&p, SIGNET_ERANGE, "line longer than %d octets",
				   LINE_MAX_OCTETS);
			break;
		}
		if (memchr(text + pos, '\0', n)) {
			ret = fail(&p, SIGNET_EPARSE, "NUL octet");
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += (nl ? (size_t)(nl - (text + pos)) + 1 : len - pos);
		size_t nw = 0;
		ret = split(&p, line, words, &nw);
		if (ret == SIGNET_OK && nw > 0)
			ret = directive(&p, words, nw);
	}
	free(line);
	free(words);
	if (ret != SIGNET_OK) {
		if (errline)
			*errline = p.line;
		return ret;
	}

	/* Whole-file checks: no line to blame. */
	static const int required[] = {K_LISTEN, K_CERT, K_KEY, K_CA, K_MODULE,
				       K_LABEL, K_PIN, K_STATE};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(p.seen & (1u << required[i])))
			return fail(&p, SIGNET_EPARSE, "missing required key %s",
				    key_names[required[i]]);
	if (out->nclients == 0)
		return fail(&p, SIGNET_EPARSE, "no client line: nobody could use the service");
	return SIGNET_OK;
}

signet_err signer_config_load(const char *path, signer_config *out,
			      unsigned *errline, char *errmsg, size_t errlen)
{
	if (!path || !out)
		return SIGNET_EINVAL;
	set_defaults(out);
	if (errline)
		*errline = 0;
	sg_buf b = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, SIGNER_CONFIG_MAX, &b);
	if (ret != SIGNET_OK) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "%s: %s", path, signet_strerror(ret));
		return ret;
	}
	ret = signer_config_parse((const char *)b.data, b.len, out, errline, errmsg, errlen);
	sg_buf_free(&b);
	return ret;
}

void signer_config_free(signer_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nclients; i++)
		free(cfg->clients[i].zones);
	free(cfg->clients);
	cfg->clients = NULL;
	cfg->nclients = 0;
}

const signer_client *signer_config_client(const signer_config *cfg, const char *id)
{
	if (!cfg || !id)
		return NULL;
	for (size_t i = 0; i < cfg->nclients; i++)
		if (strcmp(cfg->clients[i].identity, id) == 0)
			return &cfg->clients[i];
	return NULL;
}

bool signer_client_has_zone(const signer_client *c, const dns_name *zone)
{
	if (!c || !zone)
		return false;
	if (c->all_zones)
		return true;
	for (size_t i = 0; i < c->nzones; i++)
		if (dns_name_equal(&c->zones[i], zone))
			return true;
	return false;
}
