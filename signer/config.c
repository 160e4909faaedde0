/* config.c -- signetd's configuration file: read with libconfig, then every
 * value checked against its bounds; lookups. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "hsm/hsm.h"
#include "signer/signer.h"

#define LINE_MAX_OCTETS 4096
#define LINES_MAX 65535  /* libconfig keeps source lines in an unsigned short */

/* One run of the checks: where errors go and the text, for number literals. */
typedef struct checker {
	signer_config *cfg;
	const char *text;  /* NUL-terminated copy of the file */
	unsigned line;     /* line of the setting being checked; 0: whole file */
	char *errmsg;
	size_t errlen;
} checker;

static signet_err fail(checker *k, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static signet_err fail(checker *k, signet_err err, const char *fmt, ...)
{
	if (k->errmsg && k->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(k->errmsg, k->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void at(checker *k, const config_setting_t *s)
{
	k->line = config_setting_source_line(s);
}

/* ---- the text before libconfig sees it ---------------------------------- */

/* libconfig reads a C string and follows @include to other files, which
 * would escape the size bound, so the raw text is bounded and screened
 * first: no NUL, no control characters but tab/CR/LF, short lines, no
 * directives. */
static signet_err screen(checker *k, const char *text, size_t len)
{
	size_t pos = 0;
	unsigned line = 0;
	while (pos < len) {
		line++;
		k->line = line;
		if (line > LINES_MAX)
			return fail(k, SIGNET_ERANGE, "more than %d lines", LINES_MAX);
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		size_t body = n;
		if (body > 0 && text[pos + body - 1] == '\r')
			body--;
		if (body > LINE_MAX_OCTETS)
			return fail(k, SIGNET_ERANGE, "line longer than %d octets", LINE_MAX_OCTETS);
		size_t first = 0;
		while (first < body && (text[pos + first] == ' ' || text[pos + first] == '\t'))
			first++;
		if (first < body && text[pos + first] == '@')
			return fail(k, SIGNET_EPARSE, "directives (@include) are not allowed");
		for (size_t i = 0; i < body; i++) {
			unsigned char c = (unsigned char)text[pos + i];
			if (c == 0)
				return fail(k, SIGNET_EPARSE, "NUL octet");
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(k, SIGNET_EPARSE, "control character 0x%02x", c);
		}
		pos += nl ? n + 1 : n;
	}
	k->line = 0;
	return SIGNET_OK;
}

/* ---- values -------------------------------------------------------------- */

/* A string value without control characters, 1..dstlen-1 octets. */
static signet_err get_string(checker *k, const config_setting_t *s, const char *key,
			     char *dst, size_t dstlen, bool absolute_path)
{
	at(k, s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(k, SIGNET_EPARSE, "%s: expected a string in quotes", key);
	const char *val = config_setting_get_string(s);
	size_t n = val ? strlen(val) : 0;
	if (n == 0 || n >= dstlen)
		return fail(k, SIGNET_ERANGE, "%s: value must be 1..%zu octets", key, dstlen - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)val[i] < 0x20 || (unsigned char)val[i] == 0x7f)
			return fail(k, SIGNET_EPARSE, "%s: control character 0x%02x", key,
				    (unsigned char)val[i]);
	if (absolute_path && val[0] != '/')
		return fail(k, SIGNET_EPARSE, "%s: path must be absolute", key);
	memcpy(dst, val, n + 1);
	return SIGNET_OK;
}

/* libconfig 1.5 wraps integer literals that do not fit silently
 * (3000000000 reads as -1294967296), so the literal on the setting's line
 * is read again and must agree with what libconfig made of it. */
static bool literal_agrees(checker *k, const char *key, long long v)
{
	const char *p = k->text;
	for (unsigned l = 1; l < k->line && p; l++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return false;
	const char *end = strchr(p, '\n');
	size_t keylen = strlen(key);
	for (const char *q = p; (q = strstr(q, key)) && (!end || q < end); q++) {
		bool start_ok = q == p || strchr(" \t;{,", q[-1]);
		const char *r = q + keylen;
		while (*r == ' ' || *r == '\t')
			r++;
		if (!start_ok || (*r != '=' && *r != ':'))
			continue;
		r++;
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '-' || *r == '+')
			return false;
		errno = 0;
		char *stop = NULL;
		unsigned long long lit = strtoull(r, &stop, 0);
		if (stop == r || errno == ERANGE || lit > (unsigned long long)INT64_MAX)
			return false;
		return v >= 0 && (unsigned long long)v == lit;
	}
	return false;
}

/* An integer in [lo, hi]. */
static signet_err get_number(checker *k, const config_setting_t *s, const char *key,
			     long long lo, long long hi, long long *out)
{
	at(k, s);
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return fail(k, SIGNET_EPARSE, "%s: not a number", key);
	long long v = config_setting_get_int64(s);
	if (v < lo || v > hi || !literal_agrees(k, key, v))
		return fail(k, SIGNET_ERANGE, "%s: value is outside %lld..%lld", key, lo, hi);
	*out = v;
	return SIGNET_OK;
}

static signet_err get_bool(checker *k, const config_setting_t *s, const char *key, bool *out)
{
	at(k, s);
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(k, SIGNET_EPARSE, "%s: expected true or false", key);
	*out = config_setting_get_bool(s) != 0;
	return SIGNET_OK;
}

/* ---- keys with structure ------------------------------------------------- */

/* HOST:PORT with a numeric port in range; IPv6 as [ADDR]:PORT. */
static signet_err address_ok(checker *k, const char *key, const char *v)
{
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v)
		return fail(k, SIGNET_EPARSE, "%s: expected HOST:PORT", key);
	if (v[0] == '[' && colon[-1] != ']')
		return fail(k, SIGNET_EPARSE, "%s: IPv6 must be [ADDR]:PORT", key);
	const char *port = colon + 1;
	if (!isdigit((unsigned char)port[0]))
		return fail(k, SIGNET_EPARSE, "%s: port is not a number", key);
	errno = 0;
	char *end = NULL;
	unsigned long p = strtoul(port, &end, 10);
	if (*end != '\0')
		return fail(k, SIGNET_EPARSE, "%s: port is not a number", key);
	if (errno == ERANGE || p < 1 || p > 65535)
		return fail(k, SIGNET_ERANGE, "%s: port is outside 1..65535", key);
	return SIGNET_OK;
}

signet_err signer_address_split(const char *addr, char *host, size_t hostlen,
				uint16_t *port, bool *loopback)
{
	if (!addr || !host || hostlen == 0 || !port || !loopback)
		return SIGNET_EINVAL;
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr)
		return SIGNET_EPARSE;
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (hl < 2 || colon[-1] != ']')
			return SIGNET_EPARSE;
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return SIGNET_ERANGE;
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end = NULL;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || errno || p < 1 || p > 65535)
		return SIGNET_ERANGE;
	*port = (uint16_t)p;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		*loopback = (ntohl(a4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	else
		return SIGNET_EPARSE;
	return SIGNET_OK;
}

static signet_err pin_ok(checker *k, const char *v)
{
	if (strncmp(v, "file:/", 6) != 0 && strncmp(v, "fd:", 3) != 0 &&
	    strncmp(v, "env:", 4) != 0)
		return fail(k, SIGNET_EPARSE, "pin: expected file:/ABSOLUTE/PATH, fd:N or env:NAME");
	if (strncmp(v, "fd:", 3) == 0) {
		if (!isdigit((unsigned char)v[3]))
			return fail(k, SIGNET_EPARSE, "pin: fd: not a number");
		char *end = NULL;
		errno = 0;
		unsigned long fd = strtoul(v + 3, &end, 10);
		if (*end != '\0')
			return fail(k, SIGNET_EPARSE, "pin: fd: not a number");
		if (errno == ERANGE || fd > 1023)
			return fail(k, SIGNET_ERANGE, "pin: fd is outside 0..1023");
	}
	if (strncmp(v, "env:", 4) == 0 && v[4] == '\0')
		return fail(k, SIGNET_EPARSE, "pin: env: needs a variable name");
	return SIGNET_OK;
}

/* Identities are what certificates carry in a SAN or CN: printable ASCII
 * without blanks, so a log line or an ACL cannot be ambiguous. */
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

/* Unix user names as useradd accepts them, bounded. */
static bool user_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static signet_err add_zones(checker *k, signer_client *c, const config_setting_t *zs,
			    size_t idx)
{
	at(k, zs);
	if (!config_setting_is_array(zs) && !config_setting_is_list(zs))
		return fail(k, SIGNET_EPARSE, "clients[%zu].zones: expected [ \"zone\", ... ]", idx);
	int nz = config_setting_length(zs);
	if (nz < 1)
		return fail(k, SIGNET_EPARSE, "clients[%zu].zones: empty", idx);
	if (nz > SIGNER_CLIENT_ZONES_MAX)
		return fail(k, SIGNET_ERANGE, "clients[%zu].zones: more than %d zones", idx,
			    SIGNER_CLIENT_ZONES_MAX);
	c->zones = calloc((size_t)nz, sizeof(*c->zones));
	if (!c->zones)
		return SIGNET_ENOMEM;
	for (int i = 0; i < nz; i++) {
		const config_setting_t *e = config_setting_get_elem(zs, (unsigned)i);
		at(k, e);
		const char *z = config_setting_type(e) == CONFIG_TYPE_STRING
			? config_setting_get_string(e) : NULL;
		if (!z)
			return fail(k, SIGNET_EPARSE, "clients[%zu].zones[%d]: expected a string",
				    idx, i);
		if (strcmp(z, "*") == 0) {
			if (nz != 1)
				return fail(k, SIGNET_EPARSE, "clients[%zu].zones: '*' must stand alone",
					    idx);
			c->all_zones = true;
			free(c->zones);
			c->zones = NULL;
			return SIGNET_OK;
		}
		if (dns_name_from_str(&c->zones[i], z) != SIGNET_OK)
			return fail(k, SIGNET_EPARSE, "clients[%zu].zones[%d]: bad zone name %.80s",
				    idx, i, z);
		dns_name_lower(&c->zones[i]);
		c->nzones++;
	}
	return SIGNET_OK;
}

/* names = [ "rule", ... ] or types = [ "TYPE", ... ] of client idx, into
 * its acl (made on the first). */
static signet_err add_rules(checker *k, signer_client *c, const config_setting_t *list,
			    const char *key, size_t idx)
{
	at(k, list);
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return fail(k, SIGNET_EPARSE, "clients[%zu].%s: expected [ \"...\", ... ]", idx, key);
	int n = config_setting_length(list);
	if (n < 1)
		return fail(k, SIGNET_EPARSE, "clients[%zu].%s: empty (leave it out to allow all)",
			    idx, key);
	if (!c->acl && signer_acl_new(&c->acl) != SIGNET_OK)
		return SIGNET_ENOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		at(k, e);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING
			? config_setting_get_string(e) : NULL;
		if (!v)
			return fail(k, SIGNET_EPARSE, "clients[%zu].%s[%d]: expected a string", idx,
				    key, i);
		char why[160];
		signet_err ret = key[0] == 'n'
			? signer_acl_add_name(c->acl, v, c->zones, c->nzones, why, sizeof(why))
			: signer_acl_add_type(c->acl, v, why, sizeof(why));
		if (ret == SIGNET_ENOMEM)
			return ret;
		if (ret != SIGNET_OK)
			return fail(k, ret, "clients[%zu].%s[%d]: %s", idx, key, i, why);
	}
	return SIGNET_OK;
}

static signet_err add_client(checker *k, const config_setting_t *g, size_t idx)
{
	signer_config *cfg = k->cfg;
	at(k, g);
	if (!config_setting_is_group(g))
		return fail(k, SIGNET_EPARSE,
			    "clients[%zu]: expected { identity = ...; role = ...; zones = [...]; }",
			    idx);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		if (strcmp(name, "identity") && strcmp(name, "role") && strcmp(name, "zones") &&
		    strcmp(name, "names") && strcmp(name, "types") && strcmp(name, "allow-cn")) {
			at(k, m);
			return fail(k, SIGNET_EPARSE, "clients[%zu]: unknown key %.60s", idx, name);
		}
	}
	const config_setting_t *id = config_setting_get_member(g, "identity");
	const config_setting_t *role = config_setting_get_member(g, "role");
	const config_setting_t *zones = config_setting_get_member(g, "zones");
	if (!id || !role || !zones)
		return fail(k, SIGNET_EPARSE, "clients[%zu]: needs identity, role and zones", idx);

	signer_client *c = &cfg->clients[cfg->nclients];
	memset(c, 0, sizeof(*c));
	cfg->nclients++;  /* from here c is owned by cfg, freed with it */
	char field[32];
	snprintf(field, sizeof(field), "clients[%zu].identity", idx);
	signet_err ret = get_string(k, id, field, c->identity, sizeof(c->identity), false);
	if (ret != SIGNET_OK)
		return ret;
	if (!identity_ok(c->identity))
		return fail(k, SIGNET_EPARSE, "%s: must be 1..%d printable octets without blanks",
			    field, SIGNER_IDENTITY_MAX);
	for (size_t i = 0; i + 1 < cfg->nclients; i++)
		if (strcmp(cfg->clients[i].identity, c->identity) == 0)
			return fail(k, SIGNET_EPARSE, "%s: %s is listed twice", field, c->identity);
	char rs[16];
	snprintf(field, sizeof(field), "clients[%zu].role", idx);
	at(k, role);
	if (config_setting_type(role) != CONFIG_TYPE_STRING)
		return fail(k, SIGNET_EPARSE, "%s: must be \"signer\", \"admin\" or"
			    " \"parent-agent\"", field);
	snprintf(rs, sizeof(rs), "%s", config_setting_get_string(role));
	if (strcmp(rs, "signer") == 0)
		c->role = SIGNER_ROLE_SIGNER;
	else if (strcmp(rs, "admin") == 0)
		c->role = SIGNER_ROLE_ADMIN;
	else if (strcmp(rs, "parent-agent") == 0)
		c->role = SIGNER_ROLE_PARENT_AGENT;
	else
		return fail(k, SIGNET_EPARSE, "%s: must be \"signer\", \"admin\" or"
			    " \"parent-agent\", not %.40s",
			    field, config_setting_get_string(role));
	const config_setting_t *cn = config_setting_get_member(g, "allow-cn");
	if (cn) {
		snprintf(field, sizeof(field), "clients[%zu].allow-cn", idx);
		ret = get_bool(k, cn, field, &c->allow_cn);
		if (ret != SIGNET_OK)
			return ret;
	}
	ret = add_zones(k, c, zones, idx);
	for (int r = 0; r < 2 && ret == SIGNET_OK; r++) {
		const char *key = r ? "types" : "names";
		const config_setting_t *list = config_setting_get_member(g, key);
		if (list)
			ret = add_rules(k, c, list, key, idx);
	}
	return ret;
}

static signet_err read_clients(checker *k, const config_setting_t *list)
{
	at(k, list);
	if (!config_setting_is_list(list))
		return fail(k, SIGNET_EPARSE, "clients: expected ( { ... }, { ... } )");
	int n = config_setting_length(list);
	if (n > SIGNER_CLIENTS_MAX)
		return fail(k, SIGNET_ERANGE, "clients: more than %d clients", SIGNER_CLIENTS_MAX);
	if (n == 0)
		return SIGNET_OK;
	k->cfg->clients = calloc((size_t)n, sizeof(*k->cfg->clients));
	if (!k->cfg->clients)
		return SIGNET_ENOMEM;
	for (int i = 0; i < n; i++) {
		signet_err ret = add_client(k, config_setting_get_elem(list, (unsigned)i),
					    (size_t)i);
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

/* ---- the top level ------------------------------------------------------- */

enum {
	K_LISTEN,
	K_CERT,
	K_KEY,
	K_CA,
	K_TLS12,
	K_MODULE,
	K_LABEL,
	K_PIN,
	K_STATE,
	K_WORKERS,
	K_CACHE,
	K_RRSETS,
	K_RRS,
	K_OCTETS,
	K_MESSAGE,
	K_METRICS,
	K_METRICS_REMOTE,
	K_USER,
	K_VERIFY,
	K_CONNS,
	K_CONNS_CLIENT,
	K_CALLS_CLIENT,
	K_RATE,
	K_BURST,
	K_IDLE,
	K_HANDSHAKE,
	K_STREAMS,
	K_CLIENTS,
	K_ALLOW_ROOT,
	K_MSG_TIMEOUT,
	K_CALLS,
	K_RESETS,
	K_CONNS_PEER,
	K_OPEN_CONNS,
	K_CONN_RATE,
	K_REFUSAL_IVL,
	K_GRPC_MEM,
	K_KEY_PIN,
	K_REQUIRE_BACKUP,
	K_STATE_SECTION,
	K_REPLICA_NAME,
	K_COUNT
};
/* A replica's name goes into every audit line and Health: short, plain. */
static bool replica_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > SIGNER_REPLICA_NAME_MAX)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static const char *const key_names[K_COUNT] = {"listen",
					       "tls-cert",
					       "tls-key",
					       "tls-ca",
					       "tls12",
					       "pkcs11-module",
					       "token-label",
					       "pin",
					       "state-dir",
					       "workers",
					       "cache-size",
					       "max-rrsets",
					       "max-rrs",
					       "max-rrset-octets",
					       "max-message",
					       "metrics",
					       "metrics-allow-remote",
					       "user",
					       "verify-after-sign",
					       "max-connections",
					       "max-connections-per-client",
					       "max-calls-per-client",
					       "rate-per-client",
					       "rate-burst",
					       "idle-timeout",
					       "handshake-timeout",
					       "max-streams-per-connection",
					       "clients",
					       "allow-root",
					       "message-timeout",
					       "max-calls",
					       "max-resets-per-second",
					       "max-open-connections-per-address",
					       "max-open-connections",
					       "connection-rate-per-address",
					       "refusal-interval",
					       "grpc-memory",
					       "tls-key-pin",
					       "require-backup",
					       "state",
					       "replica-name"};
_Static_assert(K_COUNT <= 64, "check_all keeps the keys seen in a 64-bit mask");

/* The numeric settings: their bounds and the field each fills, a size_t
 * or an unsigned one. */
static const struct number_key {
	int key;
	long long lo, hi;
	size_t off;
	bool wide;
} number_keys[] = {
	{K_WORKERS, 1, SIGNER_WORKERS_MAX, offsetof(signer_config, workers), false},
	{K_CACHE, 0, 10000000, offsetof(signer_config, cache_size), true},
	{K_RRSETS, 1, 100000, offsetof(signer_config, max_rrsets), true},
	{K_RRS, 1, 65535, offsetof(signer_config, max_rrs), true},
	{K_OCTETS, 1, 1024 * 1024, offsetof(signer_config, max_rrset_octets), true},
	{K_MESSAGE, 4096, 64 * 1024 * 1024, offsetof(signer_config, max_message), true},
	{K_CONNS, 1, 100000, offsetof(signer_config, admission.max_connections), true},
	{K_CONNS_CLIENT, 1, 100000, offsetof(signer_config, admission.max_connections_client),
	 true},
	{K_CALLS_CLIENT, 1, 100000, offsetof(signer_config, admission.max_calls_client), true},
	{K_RATE, 0, 10000000, offsetof(signer_config, admission.rate), false},
	{K_BURST, 1, 10000000, offsetof(signer_config, admission.burst), false},
	{K_IDLE, 1, 86400, offsetof(signer_config, admission.idle_timeout_s), false},
	{K_HANDSHAKE, 1, 300, offsetof(signer_config, admission.handshake_timeout_s), false},
	{K_STREAMS, 1, 10000, offsetof(signer_config, admission.streams_per_connection), false},
	{K_MSG_TIMEOUT, 1, 300, offsetof(signer_config, admission.message_timeout_s), false},
	{K_CALLS, 1, 1000000, offsetof(signer_config, admission.max_calls), true},
	{K_RESETS, 1, 1000000, offsetof(signer_config, admission.resets_per_second), false},
	{K_CONNS_PEER, 1, 100000, offsetof(signer_config, admission.max_connections_address), true},
	{K_OPEN_CONNS, 1, 100000, offsetof(signer_config, admission.max_open_connections), true},
	{K_CONN_RATE, 1, 100000, offsetof(signer_config, admission.connection_rate), false},
	{K_REFUSAL_IVL, 1, 3600, offsetof(signer_config, refusal_interval_s), false},
	{K_GRPC_MEM, 16, 1024 * 1024, offsetof(signer_config, grpc_memory_mib), true},
};

static signet_err number_setting(checker *k, const struct number_key *nk,
				 const config_setting_t *s)
{
	long long n = 0;
	signet_err ret = get_number(k, s, key_names[nk->key], nk->lo, nk->hi, &n);
	if (ret != SIGNET_OK)
		return ret;
	char *field = (char *)k->cfg + nk->off;
	if (nk->wide)
		*(size_t *)(void *)field = (size_t)n;
	else
		*(unsigned *)(void *)field = (unsigned)n;
	return SIGNET_OK;
}

/* state = { backend = "sqlite" | "postgresql"; conninfo-file = "/PATH";
 * cache-ms = N; lock-timeout-ms = N; }: the connection itself is never in
 * this text (it may hold a password), only the file that has it. */
static signet_err read_state(checker *k, const config_setting_t *s)
{
	at(k, s);
	if (!config_setting_is_group(s))
		return fail(k, SIGNET_EPARSE, "state: expected a group { backend = ...; }");
	signer_state_options *o = &k->cfg->state;
	bool backend = false;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(e);
		signet_err ret = SIGNET_OK;
		long long n = 0;
		at(k, e);
		if (strcmp(name, "backend") == 0) {
			char v[16];
			ret = get_string(k, e, "state.backend", v, sizeof(v), false);
			if (ret == SIGNET_OK && strcmp(v, "sqlite") == 0)
				o->backend = SIGNER_STATE_SQLITE;
			else if (ret == SIGNET_OK && strcmp(v, "postgresql") == 0)
				o->backend = SIGNER_STATE_POSTGRESQL;
			else if (ret == SIGNET_OK)
				return fail(k, SIGNET_EPARSE, "state.backend: expected \"sqlite\" or "
					    "\"postgresql\", not %.15s", v);
			backend = true;
		} else if (strcmp(name, "conninfo-file") == 0) {
			ret = get_string(k, e, "state.conninfo-file", o->conninfo_file,
					 sizeof(o->conninfo_file), true);
		} else if (strcmp(name, "cache-ms") == 0) {
			ret = get_number(k, e, "cache-ms", 10, 60000, &n);
			o->cache_ms = (unsigned)n;
		} else if (strcmp(name, "lock-timeout-ms") == 0) {
			ret = get_number(k, e, "lock-timeout-ms", 10, 600000, &n);
			o->lock_timeout_ms = (unsigned)n;
		} else {
			return fail(k, SIGNET_EPARSE, "state: unknown key %.60s (the connection "
				    "goes in conninfo-file)", name);
		}
		if (ret != SIGNET_OK)
			return ret;
	}
	at(k, s);
	if (!backend)
		return fail(k, SIGNET_EPARSE, "state: missing backend");
	if (o->backend == SIGNER_STATE_POSTGRESQL && !o->conninfo_file[0])
		return fail(k, SIGNET_EPARSE, "state: postgresql needs conninfo-file");
	if (o->backend == SIGNER_STATE_SQLITE && o->conninfo_file[0])
		return fail(k, SIGNET_EPARSE, "state: conninfo-file is for postgresql");
	return SIGNET_OK;
}

static signet_err setting(checker *k, int key, const config_setting_t *s)
{
	for (size_t i = 0; i < sizeof(number_keys) / sizeof(number_keys[0]); i++)
		if (number_keys[i].key == key)
			return number_setting(k, &number_keys[i], s);
	signer_config *cfg = k->cfg;
	const char *name = key_names[key];
	signet_err ret = SIGNET_OK;
	switch (key) {
	case K_LISTEN:
		ret = get_string(k, s, name, cfg->listen, sizeof(cfg->listen), false);
		return ret == SIGNET_OK ? address_ok(k, name, cfg->listen) : ret;
	case K_CERT: return get_string(k, s, name, cfg->tls_cert, sizeof(cfg->tls_cert), true);
	case K_KEY: {
		/* A key in a token: its URI is checked here, with the line. */
		const char *v = config_setting_type(s) == CONFIG_TYPE_STRING
					? config_setting_get_string(s)
					: NULL;
		bool uri = hsm_uri_is(v);
		ret = get_string(k, s, name, cfg->tls_key, sizeof(cfg->tls_key), !uri);
		if (ret == SIGNET_OK && uri) {
			hsm_uri u;
			char why[256];
			if (hsm_uri_parse(cfg->tls_key, &u, why, sizeof(why)) != SIGNET_OK)
				return fail(k, SIGNET_EPARSE, "%s: %s", name, why);
		}
		return ret;
	}
	case K_KEY_PIN:
		ret = get_string(k, s, name, cfg->tls_key_pin_spec, sizeof(cfg->tls_key_pin_spec),
				 false);
		return ret == SIGNET_OK ? pin_ok(k, cfg->tls_key_pin_spec) : ret;
	case K_CA: return get_string(k, s, name, cfg->tls_ca, sizeof(cfg->tls_ca), true);
	case K_TLS12: return get_bool(k, s, name, &cfg->tls12);
	case K_MODULE:
		return get_string(k, s, name, cfg->pkcs11_module, sizeof(cfg->pkcs11_module), true);
	case K_LABEL:
		return get_string(k, s, name, cfg->token_label, sizeof(cfg->token_label), false);
	case K_PIN:
		ret = get_string(k, s, name, cfg->pin_spec, sizeof(cfg->pin_spec), false);
		return ret == SIGNET_OK ? pin_ok(k, cfg->pin_spec) : ret;
	case K_STATE:
		return get_string(k, s, name, cfg->state_dir, sizeof(cfg->state_dir), true);
	case K_METRICS:
		ret = get_string(k, s, name, cfg->metrics, sizeof(cfg->metrics), false);
		return ret == SIGNET_OK ? address_ok(k, name, cfg->metrics) : ret;
	case K_METRICS_REMOTE: return get_bool(k, s, name, &cfg->metrics_allow_remote);
	case K_ALLOW_ROOT:
		return get_bool(k, s, name, &cfg->allow_root);
	case K_REQUIRE_BACKUP: {
		bool on = false;
		ret = get_bool(k, s, name, &on);
		cfg->require_backup = on ? 1 : 0;
		return ret;
	}
	case K_USER:
		ret = get_string(k, s, name, cfg->user, sizeof(cfg->user), false);
		if (ret == SIGNET_OK && !user_ok(cfg->user))
			return fail(k, SIGNET_EPARSE, "user: not a user name: %.40s", cfg->user);
		return ret;
	case K_VERIFY: {
		char v[16];
		ret = get_string(k, s, name, v, sizeof(v), false);
		if (ret != SIGNET_OK)
			return ret;
		if (strcmp(v, "rsa") == 0)
			cfg->verify_all = false;
		else if (strcmp(v, "all") == 0)
			cfg->verify_all = true;
		else
			return fail(k, SIGNET_EPARSE, "%s: expected \"rsa\" or \"all\", not %.15s",
				    name, v);
		return SIGNET_OK;
	}
	case K_CLIENTS: return read_clients(k, s);
	case K_STATE_SECTION: return read_state(k, s);
	case K_REPLICA_NAME:
		ret = get_string(k, s, name, cfg->replica_name, sizeof(cfg->replica_name),
				 false);
		if (ret == SIGNET_OK && !replica_name_ok(cfg->replica_name))
			return fail(k, SIGNET_EPARSE,
				    "replica-name: 1..%d of [A-Za-z0-9._-], not %.70s",
				    SIGNER_REPLICA_NAME_MAX, cfg->replica_name);
		return ret;
	}
	return fail(k, SIGNET_EPARSE, "unknown key %.60s", name);
}

static void set_defaults(signer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* The host name, cut to what a replica name may hold. */
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	size_t j = 0;
	for (size_t i = 0; host[i] && j < SIGNER_REPLICA_NAME_MAX; i++)
		if (replica_name_ok((char[]){host[i], '\0'}))
			cfg->replica_name[j++] = host[i];
	if (j == 0)
		snprintf(cfg->replica_name, sizeof(cfg->replica_name), "signetd");
	cfg->workers = 2;
	cfg->cache_size = 100000;
	cfg->max_rrsets = 1000;
	cfg->max_rrs = 512;
	cfg->max_rrset_octets = 65535;
	cfg->max_message = 1024 * 1024;
	/* Generous for one name server's signing traffic (loopback mTLS peaks
	 * near 15k small calls/s on 2 cores, under the rate), small
	 * enough that one client cannot hold every worker's queue or every
	 * file descriptor. With several clients, set the rate lower. */
	cfg->admission.max_connections = 4096;
	cfg->admission.max_connections_client = 1024;
	cfg->admission.max_calls_client = 64;
	cfg->admission.rate = 20000;
	cfg->admission.burst = 40000;
	cfg->admission.idle_timeout_s = 300;
	cfg->admission.handshake_timeout_s = 10;
	cfg->admission.streams_per_connection = 64;
	/* A request is one small message: a stream that has not sent it
	 * within seconds is holding memory, not working. */
	cfg->admission.message_timeout_s = 5;
	cfg->admission.max_calls = 4096;
	cfg->admission.resets_per_second = 200;
	cfg->admission.max_open_connections = 8192;
	cfg->admission.max_connections_address = 512;
	cfg->admission.connection_rate = 50;
	cfg->refusal_interval_s = 60;
	cfg->grpc_memory_mib = 256;
	cfg->require_backup = -1; /* on when the token holds a backup domain */
}

/* A TLS key in the token signetd logs in to needs no PIN of its own; one in
 * another token does (its own PIN source, read like pin). */
static signet_err tls_key_pin_check(checker *k)
{
	const signer_config *cfg = k->cfg;
	bool uri = hsm_uri_is(cfg->tls_key);
	if (!uri)
		return cfg->tls_key_pin_spec[0] ? fail(k, SIGNET_EPARSE,
						       "tls-key-pin is only for a tls-key in a "
						       "token (a pkcs11: URI)")
						: SIGNET_OK;
	hsm_uri u;
	if (hsm_uri_parse(cfg->tls_key, &u, NULL, 0) != SIGNET_OK)
		return fail(k, SIGNET_EPARSE, "tls-key: not a valid PKCS#11 URI");
	bool same = !u.serial[0] && strcmp(u.token, cfg->token_label) == 0;
	if (same && cfg->tls_key_pin_spec[0])
		return fail(k, SIGNET_EPARSE,
			    "tls-key-pin: the key is in token-label's token "
			    "'%s', which pin logs in to; remove tls-key-pin",
			    cfg->token_label);
	if (!same && !cfg->tls_key_pin_spec[0])
		return fail(k, SIGNET_EPARSE,
			    "tls-key names token '%s', not token-label '%s': "
			    "give that token's PIN source in tls-key-pin",
			    u.token[0] ? u.token : u.serial, cfg->token_label);
	return SIGNET_OK;
}

/* Everything after libconfig has read the text. */
static signet_err check_all(checker *k, config_t *lc)
{
	const config_setting_t *root = config_root_setting(lc);
	int n = config_setting_length(root);
	uint64_t seen = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		int key = -1;
		for (int j = 0; j < K_COUNT; j++)
			if (strcmp(name, key_names[j]) == 0)
				key = j;
		at(k, s);
		if (key < 0)
			return fail(k, SIGNET_EPARSE, "unknown key %.60s", name);
		/* libconfig refuses repeated names itself; this is belt and braces. */
		if (seen & (1ull << key))
			return fail(k, SIGNET_EPARSE, "%s: given twice", name);
		seen |= 1ull << key;
		signet_err ret = setting(k, key, s);
		if (ret != SIGNET_OK)
			return ret;
	}
	k->line = 0;
	static const int required[] = {K_LISTEN, K_CERT, K_KEY, K_CA, K_MODULE,
				       K_LABEL, K_PIN, K_STATE};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(seen & (1ull << required[i])))
			return fail(k, SIGNET_EPARSE, "missing required key %s",
				    key_names[required[i]]);
	if (k->cfg->nclients == 0)
		return fail(k, SIGNET_EPARSE, "no clients: nobody could use the service");
	signet_err kret = tls_key_pin_check(k);
	if (kret != SIGNET_OK)
		return kret;
	if (k->cfg->metrics[0]) {
		char host[64];
		uint16_t port;
		bool loopback = false;
		const config_setting_t *m = config_setting_get_member(root, "metrics");
		at(k, m);
		if (signer_address_split(k->cfg->metrics, host, sizeof(host), &port,
					 &loopback) != SIGNET_OK)
			return fail(k, SIGNET_EPARSE,
				    "metrics: expected a numeric IP address and port");
		if (!loopback && !k->cfg->metrics_allow_remote)
			return fail(k, SIGNET_EPERM,
				    "metrics: %s is not a loopback address (set "
				    "metrics-allow-remote = true to allow it)", host);
	}
	k->line = 0;
	return SIGNET_OK;
}

signet_err signer_config_parse(const char *text, size_t len, signer_config *out,
			       unsigned *errline, char *errmsg, size_t errlen)
{
	if (!out)
		return SIGNET_EINVAL;
	set_defaults(out);
	checker k = {out, NULL, 0, errmsg, errlen};
	if (errline)
		*errline = 0;
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!text)
		return fail(&k, SIGNET_EINVAL, "no text");
	if (len > SIGNER_CONFIG_MAX)
		return fail(&k, SIGNET_ERANGE, "config larger than %d octets", SIGNER_CONFIG_MAX);
	signet_err ret = screen(&k, text, len);
	if (ret != SIGNET_OK) {
		if (errline)
			*errline = k.line;
		return ret;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return SIGNET_ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	k.text = copy;

	config_t lc;
	config_init(&lc);
	if (config_read_string(&lc, copy) != CONFIG_TRUE) {
		k.line = (unsigned)config_error_line(&lc);
		ret = fail(&k, SIGNET_EPARSE, "%s", config_error_text(&lc));
	} else {
		ret = check_all(&k, &lc);
	}
	config_destroy(&lc);
	free(copy);
	if (ret != SIGNET_OK && errline)
		*errline = k.line;
	return ret;
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
	for (size_t i = 0; i < cfg->nclients; i++) {
		free(cfg->clients[i].zones);
		signer_acl_unref(cfg->clients[i].acl);
	}
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
