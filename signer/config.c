/* config.c -- signetd's configuration file: read with libconfig, every key
 * checked against its bounds (values: config_values.c, clients:
 * config_clients.c), defaults, the whole checked together. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsm/hsm.h"
#include "signer/config_check.h"

/* ---- keys with structure ------------------------------------------------- */

/* HOST:PORT with a numeric port in range; IPv6 as [ADDR]:PORT. */
static signet_err address_ok(cfg_checker *k, const char *key, const char *v)
{
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v)
		return cfg_fail(k, SIGNET_EPARSE, "%s: expected HOST:PORT", key);
	if (v[0] == '[' && colon[-1] != ']')
		return cfg_fail(k, SIGNET_EPARSE, "%s: IPv6 must be [ADDR]:PORT", key);
	const char *port = colon + 1;
	if (!isdigit((unsigned char)port[0]))
		return cfg_fail(k, SIGNET_EPARSE, "%s: port is not a number", key);
	errno = 0;
	char *end = NULL;
	unsigned long p = strtoul(port, &end, 10);
	if (*end != '\0')
		return cfg_fail(k, SIGNET_EPARSE, "%s: port is not a number", key);
	if (errno == ERANGE || p < 1 || p > 65535)
		return cfg_fail(k, SIGNET_ERANGE, "%s: port is outside 1..65535", key);
	return SIGNET_OK;
}

signet_err signer_address_split(const char *addr, char *host, size_t hostlen, uint16_t *port,
				bool *loopback)
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

static signet_err pin_ok(cfg_checker *k, const char *v)
{
	if (strncmp(v, "file:/", 6) != 0 && strncmp(v, "fd:", 3) != 0 && strncmp(v, "env:", 4) != 0)
		return cfg_fail(k, SIGNET_EPARSE,
				"pin: expected file:/ABSOLUTE/PATH, fd:N or env:NAME");
	if (strncmp(v, "fd:", 3) == 0) {
		if (!isdigit((unsigned char)v[3]))
			return cfg_fail(k, SIGNET_EPARSE, "pin: fd: not a number");
		char *end = NULL;
		errno = 0;
		unsigned long fd = strtoul(v + 3, &end, 10);
		if (*end != '\0')
			return cfg_fail(k, SIGNET_EPARSE, "pin: fd: not a number");
		if (errno == ERANGE || fd > 1023)
			return cfg_fail(k, SIGNET_ERANGE, "pin: fd is outside 0..1023");
	}
	if (strncmp(v, "env:", 4) == 0 && v[4] == '\0')
		return cfg_fail(k, SIGNET_EPARSE, "pin: env: needs a variable name");
	return SIGNET_OK;
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
	K_MODULE_ARGS,
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
					       "replica-name",
					       "pkcs11-module-args"};
_Static_assert(K_COUNT <= 64, "check_all keeps the keys seen in a 64-bit mask");
_Static_assert(SIGNER_MODULE_ARGS_MAX == HSM_INIT_ARGS_MAX,
	       "pkcs11-module-args holds what hsm_open_args takes");

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

static signet_err number_setting(cfg_checker *k, const struct number_key *nk,
				 const config_setting_t *s)
{
	long long n = 0;
	signet_err ret = cfg_number(k, s, key_names[nk->key], nk->lo, nk->hi, &n);
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
static signet_err read_state(cfg_checker *k, const config_setting_t *s)
{
	cfg_at(k, s);
	if (!config_setting_is_group(s))
		return cfg_fail(k, SIGNET_EPARSE, "state: expected a group { backend = ...; }");
	signer_state_options *o = &k->cfg->state;
	bool backend = false;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(e);
		signet_err ret = SIGNET_OK;
		long long n = 0;
		cfg_at(k, e);
		if (strcmp(name, "backend") == 0) {
			char v[16];
			ret = cfg_string(k, e, "state.backend", v, sizeof(v), false);
			if (ret == SIGNET_OK && strcmp(v, "sqlite") == 0)
				o->backend = SIGNER_STATE_SQLITE;
			else if (ret == SIGNET_OK && strcmp(v, "postgresql") == 0)
				o->backend = SIGNER_STATE_POSTGRESQL;
			else if (ret == SIGNET_OK)
				return cfg_fail(k, SIGNET_EPARSE,
						"state.backend: expected \"sqlite\" or "
						"\"postgresql\", not %.15s",
						v);
			backend = true;
		} else if (strcmp(name, "conninfo-file") == 0) {
			ret = cfg_string(k, e, "state.conninfo-file", o->conninfo_file,
					 sizeof(o->conninfo_file), true);
		} else if (strcmp(name, "cache-ms") == 0) {
			ret = cfg_number(k, e, "cache-ms", 10, 60000, &n);
			o->cache_ms = (unsigned)n;
		} else if (strcmp(name, "lock-timeout-ms") == 0) {
			ret = cfg_number(k, e, "lock-timeout-ms", 10, 600000, &n);
			o->lock_timeout_ms = (unsigned)n;
		} else {
			return cfg_fail(k, SIGNET_EPARSE,
					"state: unknown key %.60s (the connection "
					"goes in conninfo-file)",
					name);
		}
		if (ret != SIGNET_OK)
			return ret;
	}
	cfg_at(k, s);
	if (!backend)
		return cfg_fail(k, SIGNET_EPARSE, "state: missing backend");
	if (o->backend == SIGNER_STATE_POSTGRESQL && !o->conninfo_file[0])
		return cfg_fail(k, SIGNET_EPARSE, "state: postgresql needs conninfo-file");
	if (o->backend == SIGNER_STATE_SQLITE && o->conninfo_file[0])
		return cfg_fail(k, SIGNET_EPARSE, "state: conninfo-file is for postgresql");
	return SIGNET_OK;
}

static signet_err setting(cfg_checker *k, int key, const config_setting_t *s)
{
	for (size_t i = 0; i < sizeof(number_keys) / sizeof(number_keys[0]); i++)
		if (number_keys[i].key == key)
			return number_setting(k, &number_keys[i], s);
	signer_config *cfg = k->cfg;
	const char *name = key_names[key];
	signet_err ret = SIGNET_OK;
	switch (key) {
	case K_LISTEN:
		ret = cfg_string(k, s, name, cfg->listen, sizeof(cfg->listen), false);
		return ret == SIGNET_OK ? address_ok(k, name, cfg->listen) : ret;
	case K_CERT:
		return cfg_string(k, s, name, cfg->tls_cert, sizeof(cfg->tls_cert), true);
	case K_KEY: {
		/* A key in a token: its URI is checked here, with the line. */
		const char *v = config_setting_type(s) == CONFIG_TYPE_STRING
					? config_setting_get_string(s)
					: NULL;
		bool uri = hsm_uri_is(v);
		ret = cfg_string(k, s, name, cfg->tls_key, sizeof(cfg->tls_key), !uri);
		if (ret == SIGNET_OK && uri) {
			hsm_uri u;
			char why[256];
			if (hsm_uri_parse(cfg->tls_key, &u, why, sizeof(why)) != SIGNET_OK)
				return cfg_fail(k, SIGNET_EPARSE, "%s: %s", name, why);
		}
		return ret;
	}
	case K_KEY_PIN:
		ret = cfg_string(k, s, name, cfg->tls_key_pin_spec, sizeof(cfg->tls_key_pin_spec),
				 false);
		return ret == SIGNET_OK ? pin_ok(k, cfg->tls_key_pin_spec) : ret;
	case K_CA:
		return cfg_string(k, s, name, cfg->tls_ca, sizeof(cfg->tls_ca), true);
	case K_TLS12:
		return cfg_bool(k, s, name, &cfg->tls12);
	case K_MODULE:
		return cfg_string(k, s, name, cfg->pkcs11_module, sizeof(cfg->pkcs11_module), true);
	case K_MODULE_ARGS: {
		ret = cfg_string(k, s, name, cfg->pkcs11_module_args,
				 sizeof(cfg->pkcs11_module_args), false);
		char why[HSM_ERRMSG_MAX];
		if (ret == SIGNET_OK && (ret = hsm_init_args_check(cfg->pkcs11_module_args, why,
								   sizeof(why))) != SIGNET_OK)
			return cfg_fail(k, ret == SIGNET_ERANGE ? SIGNET_ERANGE : SIGNET_EPARSE,
					"%s: %s", name, why);
		return ret;
	}
	case K_LABEL:
		return cfg_string(k, s, name, cfg->token_label, sizeof(cfg->token_label), false);
	case K_PIN:
		ret = cfg_string(k, s, name, cfg->pin_spec, sizeof(cfg->pin_spec), false);
		return ret == SIGNET_OK ? pin_ok(k, cfg->pin_spec) : ret;
	case K_STATE:
		return cfg_string(k, s, name, cfg->state_dir, sizeof(cfg->state_dir), true);
	case K_METRICS:
		ret = cfg_string(k, s, name, cfg->metrics, sizeof(cfg->metrics), false);
		return ret == SIGNET_OK ? address_ok(k, name, cfg->metrics) : ret;
	case K_METRICS_REMOTE:
		return cfg_bool(k, s, name, &cfg->metrics_allow_remote);
	case K_ALLOW_ROOT:
		return cfg_bool(k, s, name, &cfg->allow_root);
	case K_REQUIRE_BACKUP: {
		bool on = false;
		ret = cfg_bool(k, s, name, &on);
		cfg->require_backup = on ? 1 : 0;
		return ret;
	}
	case K_USER:
		ret = cfg_string(k, s, name, cfg->user, sizeof(cfg->user), false);
		if (ret == SIGNET_OK && !user_ok(cfg->user))
			return cfg_fail(k, SIGNET_EPARSE, "user: not a user name: %.40s",
					cfg->user);
		return ret;
	case K_VERIFY: {
		char v[16];
		ret = cfg_string(k, s, name, v, sizeof(v), false);
		if (ret != SIGNET_OK)
			return ret;
		if (strcmp(v, "rsa") == 0)
			cfg->verify_all = false;
		else if (strcmp(v, "all") == 0)
			cfg->verify_all = true;
		else
			return cfg_fail(k, SIGNET_EPARSE,
					"%s: expected \"rsa\" or \"all\", not %.15s", name, v);
		return SIGNET_OK;
	}
	case K_CLIENTS:
		return cfg_read_clients(k, s);
	case K_STATE_SECTION:
		return read_state(k, s);
	case K_REPLICA_NAME:
		ret = cfg_string(k, s, name, cfg->replica_name, sizeof(cfg->replica_name), false);
		if (ret == SIGNET_OK && !replica_name_ok(cfg->replica_name))
			return cfg_fail(k, SIGNET_EPARSE,
					"replica-name: 1..%d of [A-Za-z0-9._-], not %.70s",
					SIGNER_REPLICA_NAME_MAX, cfg->replica_name);
		return ret;
	}
	return cfg_fail(k, SIGNET_EPARSE, "unknown key %.60s", name);
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
static signet_err tls_key_pin_check(cfg_checker *k)
{
	const signer_config *cfg = k->cfg;
	bool uri = hsm_uri_is(cfg->tls_key);
	if (!uri)
		return cfg->tls_key_pin_spec[0] ? cfg_fail(k, SIGNET_EPARSE,
							   "tls-key-pin is only for a tls-key in a "
							   "token (a pkcs11: URI)")
						: SIGNET_OK;
	hsm_uri u;
	if (hsm_uri_parse(cfg->tls_key, &u, NULL, 0) != SIGNET_OK)
		return cfg_fail(k, SIGNET_EPARSE, "tls-key: not a valid PKCS#11 URI");
	bool same = !u.serial[0] && strcmp(u.token, cfg->token_label) == 0;
	if (same && cfg->tls_key_pin_spec[0])
		return cfg_fail(k, SIGNET_EPARSE,
				"tls-key-pin: the key is in token-label's token "
				"'%s', which pin logs in to; remove tls-key-pin",
				cfg->token_label);
	if (!same && !cfg->tls_key_pin_spec[0])
		return cfg_fail(k, SIGNET_EPARSE,
				"tls-key names token '%s', not token-label '%s': "
				"give that token's PIN source in tls-key-pin",
				u.token[0] ? u.token : u.serial, cfg->token_label);
	return SIGNET_OK;
}

/* Everything after libconfig has read the text. */
static signet_err check_all(cfg_checker *k, config_t *lc)
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
		cfg_at(k, s);
		if (key < 0)
			return cfg_fail(k, SIGNET_EPARSE, "unknown key %.60s", name);
		/* libconfig refuses repeated names itself; this is belt and braces. */
		if (seen & (1ull << key))
			return cfg_fail(k, SIGNET_EPARSE, "%s: given twice", name);
		seen |= 1ull << key;
		signet_err ret = setting(k, key, s);
		if (ret != SIGNET_OK)
			return ret;
	}
	k->line = 0;
	static const int required[] = {K_LISTEN, K_CERT,  K_KEY, K_CA,
				       K_MODULE, K_LABEL, K_PIN, K_STATE};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(seen & (1ull << required[i])))
			return cfg_fail(k, SIGNET_EPARSE, "missing required key %s",
					key_names[required[i]]);
	if (k->cfg->nclients == 0)
		return cfg_fail(k, SIGNET_EPARSE, "no clients: nobody could use the service");
	signet_err kret = tls_key_pin_check(k);
	if (kret != SIGNET_OK)
		return kret;
	if (k->cfg->metrics[0]) {
		char host[64];
		uint16_t port;
		bool loopback = false;
		const config_setting_t *m = config_setting_get_member(root, "metrics");
		cfg_at(k, m);
		if (signer_address_split(k->cfg->metrics, host, sizeof(host), &port, &loopback) !=
		    SIGNET_OK)
			return cfg_fail(k, SIGNET_EPARSE,
					"metrics: expected a numeric IP address and port");
		if (!loopback && !k->cfg->metrics_allow_remote)
			return cfg_fail(k, SIGNET_EPERM,
					"metrics: %s is not a loopback address (set "
					"metrics-allow-remote = true to allow it)",
					host);
	}
	k->line = 0;
	return SIGNET_OK;
}

signet_err signer_config_parse(const char *text, size_t len, signer_config *out, unsigned *errline,
			       char *errmsg, size_t errlen)
{
	if (!out)
		return SIGNET_EINVAL;
	set_defaults(out);
	cfg_checker k = {out, NULL, 0, errmsg, errlen};
	if (errline)
		*errline = 0;
	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!text)
		return cfg_fail(&k, SIGNET_EINVAL, "no text");
	if (len > SIGNER_CONFIG_MAX)
		return cfg_fail(&k, SIGNET_ERANGE, "config larger than %d octets",
				SIGNER_CONFIG_MAX);
	signet_err ret = cfg_screen(&k, text, len);
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
		ret = cfg_fail(&k, SIGNET_EPARSE, "%s", config_error_text(&lc));
	} else {
		ret = check_all(&k, &lc);
	}
	config_destroy(&lc);
	free(copy);
	if (ret != SIGNET_OK && errline)
		*errline = k.line;
	return ret;
}

signet_err signer_config_load(const char *path, signer_config *out, unsigned *errline, char *errmsg,
			      size_t errlen)
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
