/* config.c -- signet-zoned's configuration file: read with libconfig (as
 * signetd's), every value checked against its bounds; addresses and ranges. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "zoned/zoned.h"

#define CONFIG_FILE_MAX (1024 * 1024)

static signet_err fail(char *errmsg, size_t errlen, const config_setting_t *s, signet_err err,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static signet_err fail(char *errmsg, size_t errlen, const config_setting_t *s, signet_err err,
		       const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (s)
		snprintf(errmsg, errlen, "line %u: %s", config_setting_source_line(s), what);
	else
		snprintf(errmsg, errlen, "%s", what);
	return err;
}

signet_err zoned_addr_parse(const char *text, uint16_t def, bool allow_prefix, zoned_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL || strlen(text) >= 64)
		return SIGNET_EPARSE;
	char host[64];
	snprintf(host, sizeof(host), "%s", text);
	long port = def, prefix = -1;
	char *h = host;
	char *slash = allow_prefix ? strchr(host, '/') : NULL;
	if (slash) {
		char *end = NULL;
		*slash = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || prefix < 0)
			return SIGNET_EPARSE;
	}
	if (h[0] == '[') {
		char *close = strchr(h, ']');
		if (!close)
			return SIGNET_EPARSE;
		*close = 0;
		if (close[1] == ':') {
			char *end = NULL;
			port = strtol(close + 2, &end, 10);
			if (!close[2] || *end)
				return SIGNET_EPARSE;
		} else if (close[1]) {
			return SIGNET_EPARSE;
		}
		h++;
	} else {
		char *colon = strchr(h, ':');
		if (colon && !strchr(colon + 1, ':')) {
			char *end = NULL;
			*colon = 0;
			port = strtol(colon + 1, &end, 10);
			if (!colon[1] || *end)
				return SIGNET_EPARSE;
		}
	}
	if (port < 1 || port > 65535)
		return SIGNET_EPARSE;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->sa;
	if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*v4);
		out->prefix = prefix < 0 ? 32 : (unsigned)prefix;
		return out->prefix <= 32 ? SIGNET_OK : SIGNET_EPARSE;
	}
	if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*v6);
		out->prefix = prefix < 0 ? 128 : (unsigned)prefix;
		return out->prefix <= 128 ? SIGNET_OK : SIGNET_EPARSE;
	}
	return SIGNET_EPARSE;
}

static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	size_t full = bits / 8;
	if (memcmp(a, b, full) != 0)
		return false;
	unsigned rest = bits % 8;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool zoned_addr_match(const zoned_addr *r, const struct sockaddr *sa)
{
	if (r->sa.ss_family != sa->sa_family)
		return false;
	if (sa->sa_family == AF_INET)
		return bits_match((const uint8_t *)&((const struct sockaddr_in *)&r->sa)->sin_addr,
				  (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr,
				  r->prefix);
	if (sa->sa_family == AF_INET6)
		return bits_match(
			(const uint8_t *)&((const struct sockaddr_in6 *)&r->sa)->sin6_addr,
			(const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr, r->prefix);
	return false;
}

bool zoned_addr_same_host(const zoned_addr *a, const struct sockaddr *sa)
{
	zoned_addr whole = *a;
	whole.prefix = a->sa.ss_family == AF_INET ? 32 : 128;
	return zoned_addr_match(&whole, sa);
}

/* A string setting: 1..cap-1 octets, no control characters. */
static signet_err get_str(const config_setting_t *parent, const char *key, bool required, char *dst,
			  size_t cap, char *errmsg, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(parent, key);
	if (s == NULL) {
		if (required)
			return fail(errmsg, errlen, parent, SIGNET_EPARSE, "%s is required", key);
		dst[0] = 0;
		return SIGNET_OK;
	}
	const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s)
								     : NULL;
	size_t n = v ? strlen(v) : 0;
	if (v == NULL || n == 0 || n >= cap)
		return fail(errmsg, errlen, s, SIGNET_EPARSE, "%s: a string of 1..%zu octets", key,
			    cap - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return fail(errmsg, errlen, s, SIGNET_EPARSE, "%s: control character", key);
	memcpy(dst, v, n + 1);
	return SIGNET_OK;
}

static signet_err get_uint(const config_setting_t *parent, const char *key, long long lo,
			   long long hi, long long def, long long *out, char *errmsg, size_t errlen)
{
	const config_setting_t *s = config_setting_get_member(parent, key);
	*out = def;
	if (s == NULL)
		return SIGNET_OK;
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return fail(errmsg, errlen, s, SIGNET_EPARSE, "%s: an integer", key);
	long long v = config_setting_get_int64(s);
	if (t == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	if (v < lo || v > hi)
		return fail(errmsg, errlen, s, SIGNET_ERANGE, "%s: %lld..%lld", key, lo, hi);
	*out = v;
	return SIGNET_OK;
}

static signet_err load_key(zoned_config *c, const config_setting_t *s, char *errmsg, size_t errlen)
{
	if (c->nkeys == ZONED_KEYS_MAX)
		return fail(errmsg, errlen, s, SIGNET_ERANGE, "more than %d keys", ZONED_KEYS_MAX);
	zoned_key *k = &c->keys[c->nkeys];
	char name[256], alg[32], file[ZONED_PATH_MAX];
	signet_err ret = get_str(s, "name", true, name, sizeof(name), errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = get_str(s, "algorithm", true, alg, sizeof(alg), errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = get_str(s, "secret-file", true, file, sizeof(file), errmsg, errlen);
	if (ret != SIGNET_OK)
		return ret;
	dns_name n;
	if (dns_name_from_str(&n, name) != SIGNET_OK ||
	    dns_name_to_str(&n, k->name, sizeof(k->name)) != SIGNET_OK)
		return fail(errmsg, errlen, s, SIGNET_EPARSE, "name: not a domain name");
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, k->name) == 0)
			return fail(errmsg, errlen, s, SIGNET_EEXIST, "key %s twice", name);
	if (strcmp(alg, "hmac-sha256") == 0)
		snprintf(k->algorithm, sizeof(k->algorithm), "hmac-sha256.");
	else if (strcmp(alg, "hmac-sha512") == 0)
		snprintf(k->algorithm, sizeof(k->algorithm), "hmac-sha512.");
	else
		return fail(errmsg, errlen, s, SIGNET_EPARSE,
			    "algorithm: hmac-sha256 or hmac-sha512");
	/* The secret: base64 in a file of its own, never in this file. */
	sg_secret *sec = NULL;
	ret = sg_secret_from_file(file, &sec);
	if (ret != SIGNET_OK)
		return fail(errmsg, errlen, s, ret, "secret-file %s: %s", file,
			    signet_strerror(ret));
	sg_buf raw = SG_BUF_INIT;
	ret = sec->len < sizeof(k->secret)
		      ? sg_base64_decode((const char *)sec->data, sec->len, &raw)
		      : SIGNET_ERANGE;
	if (ret == SIGNET_OK && (raw.len < 16 || raw.len > 64))
		ret = SIGNET_ERANGE;
	if (ret == SIGNET_OK) {
		memcpy(k->secret, sec->data, sec->len);
		k->secret[sec->len] = 0;
	}
	sg_buf_free_secure(&raw);
	sg_secret_free(sec);
	if (ret != SIGNET_OK)
		return fail(errmsg, errlen, s, SIGNET_EPARSE,
			    "secret-file %s: base64 of 16..64 octets", file);
	c->nkeys++;
	return SIGNET_OK;
}

static signet_err find_key(const zoned_config *c, const config_setting_t *s, const zoned_key **out,
			   char *errmsg, size_t errlen)
{
	char name[256];
	*out = NULL;
	signet_err ret = get_str(s, "key", false, name, sizeof(name), errmsg, errlen);
	if (ret != SIGNET_OK || !name[0])
		return ret;
	dns_name n;
	char canon[256];
	if (dns_name_from_str(&n, name) != SIGNET_OK ||
	    dns_name_to_str(&n, canon, sizeof(canon)) != SIGNET_OK)
		return fail(errmsg, errlen, s, SIGNET_EPARSE, "key: not a key name");
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, canon) == 0) {
			*out = &c->keys[i];
			return SIGNET_OK;
		}
	return fail(errmsg, errlen, s, SIGNET_ENOTFOUND, "key %s is not among keys", name);
}

static signet_err load_peers(const zoned_config *c, const config_setting_t *zs, bool primary,
			     zoned_peer *out, size_t *n, char *errmsg, size_t errlen)
{
	const char *key = primary ? "primaries" : "secondaries";
	const config_setting_t *l = config_setting_get_member(zs, key);
	if (l == NULL || config_setting_type(l) != CONFIG_TYPE_LIST || config_setting_length(l) < 1)
		return fail(errmsg, errlen, zs, SIGNET_EPARSE, "%s: a list of at least one", key);
	if (config_setting_length(l) > ZONED_PEERS_MAX)
		return fail(errmsg, errlen, l, SIGNET_ERANGE, "%s: at most %d", key,
			    ZONED_PEERS_MAX);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *s = config_setting_get_elem(l, (unsigned)i);
		zoned_peer *p = &out[(*n)++];
		memset(p, 0, sizeof(*p));
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			return fail(errmsg, errlen, s, SIGNET_EPARSE, "%s: groups { ... }", key);
		char a[64];
		signet_err ret = get_str(s, primary ? "address" : "range", true, a, sizeof(a),
					 errmsg, errlen);
		if (ret == SIGNET_OK && zoned_addr_parse(a, 53, !primary, &p->addr) != SIGNET_OK)
			ret = fail(errmsg, errlen, s, SIGNET_EPARSE, "%s: not an address", a);
		if (ret == SIGNET_OK)
			ret = find_key(c, s, &p->key, errmsg, errlen);
		if (ret == SIGNET_OK && p->key == NULL)
			ret = fail(errmsg, errlen, s, SIGNET_EPARSE,
				   "key: transfers without TSIG are not offered");
		if (ret == SIGNET_OK && !primary) {
			char nt[64];
			zoned_addr na;
			ret = get_str(s, "notify", false, nt, sizeof(nt), errmsg, errlen);
			if (ret == SIGNET_OK && nt[0]) {
				if (zoned_addr_parse(nt, 53, false, &na) != SIGNET_OK ||
				    !zoned_addr_match(&p->addr, (struct sockaddr *)&na.sa))
					ret = fail(errmsg, errlen, s, SIGNET_EPARSE,
						   "notify: an address inside the range");
				/* The NOTIFY address replaces the range's base address:
				 * it is inside the range, so the prefix still matches
				 * the same addresses. */
				p->notify = true;
				p->notify_port = ntohs(
					na.sa.ss_family == AF_INET
						? ((struct sockaddr_in *)&na.sa)->sin_port
						: ((struct sockaddr_in6 *)&na.sa)->sin6_port);
				memcpy(&p->addr.sa, &na.sa, sizeof(na.sa));
			}
		}
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

static signet_err load_zone(zoned_config *c, const config_setting_t *s, char *errmsg, size_t errlen)
{
	zoned_zone_conf *z = &c->zones[c->nzones];
	memset(z, 0, sizeof(*z));
	char name[DNS_NAME_STR_MAX], serial[32];
	signet_err ret = get_str(s, "name", true, name, sizeof(name), errmsg, errlen);
	if (ret == SIGNET_OK && (dns_name_from_str(&z->apex, name) != SIGNET_OK ||
				 dns_name_to_str(&z->apex, z->name, sizeof(z->name)) != SIGNET_OK))
		ret = fail(errmsg, errlen, s, SIGNET_EPARSE, "name: not a domain name");
	for (size_t i = 0; ret == SIGNET_OK && i < c->nzones; i++)
		if (dns_name_equal(&c->zones[i].apex, &z->apex))
			ret = fail(errmsg, errlen, s, SIGNET_EEXIST, "zone %s twice", name);
	if (ret == SIGNET_OK)
		ret = get_str(s, "serial", false, serial, sizeof(serial), errmsg, errlen);
	if (ret == SIGNET_OK) {
		if (!serial[0] || strcmp(serial, "increment") == 0)
			z->serial = ZONE_SERIAL_INCREMENT;
		else if (strcmp(serial, "keep") == 0)
			z->serial = ZONE_SERIAL_KEEP;
		else if (strcmp(serial, "unixtime") == 0)
			z->serial = ZONE_SERIAL_UNIXTIME;
		else if (strcmp(serial, "datecounter") == 0)
			z->serial = ZONE_SERIAL_DATECOUNTER;
		else
			ret = fail(errmsg, errlen, s, SIGNET_EPARSE,
				   "serial: keep, increment, unixtime or datecounter");
	}
	long long v = 0;
	if (ret == SIGNET_OK &&
	    (ret = get_uint(s, "max-rrs", 1, 100000000, 10000000, &v, errmsg, errlen)) == SIGNET_OK)
		z->max_rrs = (size_t)v;
	if (ret == SIGNET_OK && (ret = get_uint(s, "max-size", 1024, 1LL << 32, 1LL << 30, &v,
						errmsg, errlen)) == SIGNET_OK)
		z->max_octets = (size_t)v;
	if (ret == SIGNET_OK &&
	    (ret = get_uint(s, "transfer-timeout", 1, 3600, 120, &v, errmsg, errlen)) == SIGNET_OK)
		z->xfr_timeout = (unsigned)v;
	if (ret == SIGNET_OK)
		ret = load_peers(c, s, true, z->primaries, &z->nprimaries, errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = load_peers(c, s, false, z->secondaries, &z->nsecondaries, errmsg, errlen);
	if (ret == SIGNET_OK)
		c->nzones++;
	return ret;
}

static signet_err check(zoned_config *c, config_t *cf, char *errmsg, size_t errlen)
{
	const config_setting_t *root = config_root_setting(cf);
	static const char *const known[] = {"listen",      "metrics",     "state-dir", "signetd",
					    "keyset-poll", "tcp-clients", "workers",   "keys",
					    "zones",       NULL};
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		bool ok = false;
		for (size_t k = 0; known[k] && !ok; k++)
			ok = strcmp(config_setting_name(s), known[k]) == 0;
		if (!ok)
			return fail(errmsg, errlen, s, SIGNET_EPARSE, "unknown setting %s",
				    config_setting_name(s));
	}
	signet_err ret = get_str(root, "listen", true, c->listen, sizeof(c->listen), errmsg,
				 errlen);
	zoned_addr a;
	if (ret == SIGNET_OK && zoned_addr_parse(c->listen, 53, false, &a) != SIGNET_OK)
		ret = fail(errmsg, errlen, NULL, SIGNET_EPARSE, "listen: ADDR:PORT");
	if (ret == SIGNET_OK)
		ret = get_str(root, "metrics", false, c->metrics, sizeof(c->metrics), errmsg,
			      errlen);
	if (ret == SIGNET_OK && c->metrics[0] &&
	    zoned_addr_parse(c->metrics, 9154, false, &a) != SIGNET_OK)
		ret = fail(errmsg, errlen, NULL, SIGNET_EPARSE, "metrics: ADDR:PORT");
	if (ret == SIGNET_OK)
		ret = get_str(root, "state-dir", true, c->state_dir, sizeof(c->state_dir), errmsg,
			      errlen);
	if (ret == SIGNET_OK && c->state_dir[0] != '/')
		ret = fail(errmsg, errlen, NULL, SIGNET_EPARSE, "state-dir: an absolute path");
	if (ret == SIGNET_OK)
		ret = get_str(root, "signetd", true, c->client_config, sizeof(c->client_config),
			      errmsg, errlen);
	long long v = 0;
	if (ret == SIGNET_OK &&
	    (ret = get_uint(root, "keyset-poll", 1, 86400, 300, &v, errmsg, errlen)) == SIGNET_OK)
		c->keyset_poll = (unsigned)v;
	if (ret == SIGNET_OK &&
	    (ret = get_uint(root, "tcp-clients", 1, 10000, 64, &v, errmsg, errlen)) == SIGNET_OK)
		c->tcp_clients = (unsigned)v;
	/* Each worker signs one zone at a time over a connection of its own:
	 * a few let a small zone's change pass a large zone's whole sign. */
	if (ret == SIGNET_OK && (ret = get_uint(root, "workers", 1, ZONED_WORKERS_MAX, 2, &v,
						errmsg, errlen)) == SIGNET_OK)
		c->workers = (unsigned)v;
	const config_setting_t *keys = config_setting_get_member(root, "keys");
	if (ret == SIGNET_OK && keys && config_setting_type(keys) != CONFIG_TYPE_LIST)
		ret = fail(errmsg, errlen, keys, SIGNET_EPARSE, "keys: a list ( { ... }, ... )");
	for (int i = 0; ret == SIGNET_OK && keys && i < config_setting_length(keys); i++)
		ret = load_key(c, config_setting_get_elem(keys, (unsigned)i), errmsg, errlen);
	const config_setting_t *zones = config_setting_get_member(root, "zones");
	if (ret == SIGNET_OK && (zones == NULL || config_setting_type(zones) != CONFIG_TYPE_LIST))
		ret = fail(errmsg, errlen, zones, SIGNET_EPARSE, "zones: a list ( { ... }, ... )");
	if (ret == SIGNET_OK && config_setting_length(zones) > ZONED_ZONES_MAX)
		ret = fail(errmsg, errlen, zones, SIGNET_ERANGE, "more than %d zones",
			   ZONED_ZONES_MAX);
	if (ret == SIGNET_OK) {
		c->zones = calloc((size_t)config_setting_length(zones) + 1, sizeof(*c->zones));
		if (c->zones == NULL)
			ret = SIGNET_ENOMEM;
	}
	for (int i = 0; ret == SIGNET_OK && i < config_setting_length(zones); i++) {
		const config_setting_t *z = config_setting_get_elem(zones, (unsigned)i);
		if (config_setting_type(z) != CONFIG_TYPE_GROUP)
			ret = fail(errmsg, errlen, z, SIGNET_EPARSE, "zones: groups { ... }");
		else
			ret = load_zone(c, z, errmsg, errlen);
	}
	return ret;
}

signet_err zoned_config_load(const char *path, zoned_config *out, char *errmsg, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, CONFIG_FILE_MAX, &text);
	if (ret != SIGNET_OK)
		return fail(errmsg, errlen, NULL, ret, "%s: %s", path, signet_strerror(ret));
	/* libconfig follows @include to other files: none here. */
	for (size_t i = 0; ret == SIGNET_OK && i < text.len; i++)
		if (text.data[i] == 0 || text.data[i] == '@')
			ret = fail(errmsg, errlen, NULL, SIGNET_EPARSE,
				   "NUL or a directive (@include) in the file");
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(&text, 0);
	config_t cf;
	config_init(&cf);
	if (ret == SIGNET_OK && config_read_string(&cf, (const char *)text.data) != CONFIG_TRUE)
		ret = fail(errmsg, errlen, NULL, SIGNET_EPARSE, "line %d: %s",
			   config_error_line(&cf), config_error_text(&cf));
	if (ret == SIGNET_OK)
		ret = check(out, &cf, errmsg, errlen);
	config_destroy(&cf);
	sg_buf_free(&text);
	if (ret != SIGNET_OK)
		zoned_config_free(out);
	return ret;
}

void zoned_config_free(zoned_config *c)
{
	if (c == NULL)
		return;
	free(c->zones);
	sg_wipe(c->keys, sizeof(c->keys));
	memset(c, 0, sizeof(*c));
}

signet_err zoned_zone_conf_own(zoned_zone_conf *c, zoned_key **keys, size_t *nkeys)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nprimaries; i++)
		n += c->primaries[i].key != NULL;
	for (size_t i = 0; i < c->nsecondaries; i++)
		n += c->secondaries[i].key != NULL;
	zoned_key *k = calloc(n ? n : 1, sizeof(*k));
	if (k == NULL)
		return SIGNET_ENOMEM;
	/* One copy per peer: at most 2 * ZONED_PEERS_MAX, and no peer's key
	 * is shared with anything that may change. */
	size_t at = 0;
	for (size_t i = 0; i < c->nprimaries; i++)
		if (c->primaries[i].key) {
			k[at] = *c->primaries[i].key;
			c->primaries[i].key = &k[at++];
		}
	for (size_t i = 0; i < c->nsecondaries; i++)
		if (c->secondaries[i].key) {
			k[at] = *c->secondaries[i].key;
			c->secondaries[i].key = &k[at++];
		}
	*keys = k;
	*nkeys = n;
	return SIGNET_OK;
}

void zoned_keys_free(zoned_key *keys, size_t nkeys)
{
	if (keys == NULL)
		return;
	sg_wipe(keys, (nkeys ? nkeys : 1) * sizeof(*keys));
	free(keys);
}
