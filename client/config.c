/* config.c -- the client config file and the keys flags may override. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "hsm/hsm.h"

#define CONFIG_FILE_MAX (64 * 1024)
#define CONFIG_LINE_MAX 4096
#define TIMEOUT_MAX_S 3600

static signet_err fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static signet_err fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
{
	if (errmsg && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errmsg, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

void client_config_init(client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = CLIENT_TIMEOUT_DEFAULT_MS;
}

_Static_assert(CLIENT_MODULE_ARGS_MAX == HSM_INIT_ARGS_MAX,
	       "key-module-args holds what hsm_open_args takes");

static signet_err set_str(char *dst, size_t dstlen, const char *key, const char *value, bool path,
			  char *errmsg, size_t errlen)
{
	size_t n = strlen(value);
	if (n == 0 || n >= dstlen)
		return fail(errmsg, errlen, SIGNET_EPARSE, "%s: empty or longer than %zu octets",
			    key, dstlen - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x21 || value[i] == 0x7f)
			return fail(errmsg, errlen, SIGNET_EPARSE,
				    "%s: blank or control character in value", key);
	/* Relative paths would depend on where the command runs from. */
	if (path && value[0] != '/')
		return fail(errmsg, errlen, SIGNET_EPARSE, "%s: path must be absolute", key);
	memcpy(dst, value, n + 1);
	return SIGNET_OK;
}

signet_err client_config_set(client_config *cfg, const char *key, const char *value, char *errmsg,
			     size_t errlen)
{
	if (!cfg || !key || !value)
		return SIGNET_EINVAL;
	if (strcmp(key, "server") == 0)
		return set_str(cfg->server, sizeof(cfg->server), key, value, false, errmsg, errlen);
	if (strcmp(key, "server-name") == 0)
		return set_str(cfg->server_name, sizeof(cfg->server_name), key, value, false,
			       errmsg, errlen);
	if (strcmp(key, "ca") == 0)
		return set_str(cfg->ca, sizeof(cfg->ca), key, value, true, errmsg, errlen);
	if (strcmp(key, "cert") == 0)
		return set_str(cfg->cert, sizeof(cfg->cert), key, value, true, errmsg, errlen);
	if (strcmp(key, "key") == 0) {
		/* A key in a token: checked here so that a bad URI is named with
		 * its line, not at connect time. */
		if (hsm_uri_is(value)) {
			hsm_uri u;
			char why[256];
			if (hsm_uri_parse(value, &u, why, sizeof(why)) != SIGNET_OK)
				return fail(errmsg, errlen, SIGNET_EPARSE, "key: %s", why);
			return set_str(cfg->key, sizeof(cfg->key), key, value, false, errmsg,
				       errlen);
		}
		return set_str(cfg->key, sizeof(cfg->key), key, value, true, errmsg, errlen);
	}
	if (strcmp(key, "key-module") == 0)
		return set_str(cfg->key_module, sizeof(cfg->key_module), key, value, true, errmsg,
			       errlen);
	if (strcmp(key, "key-module-args") == 0) {
		/* Blanks allowed (library parameters are words); bounded,
		 * printable and no PIN, as hsm_open_args will check. */
		char why[HSM_ERRMSG_MAX];
		signet_err ret = hsm_init_args_check(value, why, sizeof(why));
		if (ret != SIGNET_OK)
			return fail(errmsg, errlen,
				    ret == SIGNET_ERANGE ? SIGNET_ERANGE : SIGNET_EPARSE,
				    "key-module-args: %s", why);
		if (strlen(value) >= sizeof(cfg->key_module_args))
			return fail(errmsg, errlen, SIGNET_ERANGE, "key-module-args: too long");
		memcpy(cfg->key_module_args, value, strlen(value) + 1);
		return SIGNET_OK;
	}
	if (strcmp(key, "key-pin") == 0)
		return set_str(cfg->key_pin, sizeof(cfg->key_pin), key, value, true, errmsg,
			       errlen);
	if (strcmp(key, "timeout") == 0) {
		char *end = NULL;
		double s = strtod(value, &end);
		if (end == value || *end || !(s >= 0.001 && s <= TIMEOUT_MAX_S))
			return fail(errmsg, errlen, SIGNET_EPARSE,
				    "timeout: '%s' is not a number of seconds in 0.001..%d", value,
				    TIMEOUT_MAX_S);
		/* Rounded, not truncated: 1.005 is 1.00499... as a double, and
		 * truncating would turn it into 1004 ms. */
		cfg->timeout_ms = (unsigned)(s * 1000.0 + 0.5);
		return SIGNET_OK;
	}
	return fail(errmsg, errlen, SIGNET_EINVAL, "unknown key '%s'", key);
}

/* Split line (NUL-terminated, modified) into key and value around blanks. */
static bool split(char *line, char **key, char **value)
{
	char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	*key = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (!*p)
		return false;
	*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*value = p;
	char *end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return **value != '\0';
}

signet_err client_config_load(const char *path, client_config *cfg, char *errmsg, size_t errlen)
{
	if (!path || !cfg)
		return SIGNET_EINVAL;
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, CONFIG_FILE_MAX, &text);
	if (ret != SIGNET_OK)
		return fail(errmsg, errlen, ret, "%s: %s", path, signet_strerror(ret));
	static const char *const keys[] = {"server", "server-name", "ca",      "cert",
					   "key",    "key-module",  "key-pin", "key-module-args",
					   "timeout"};
	bool seen[sizeof(keys) / sizeof(keys[0])] = {false};
	char line[CONFIG_LINE_MAX + 1];
	unsigned lineno = 0;
	size_t pos = 0;
	while (pos < text.len && ret == SIGNET_OK) {
		lineno++;
		const uint8_t *start = text.data + pos;
		const uint8_t *nl = memchr(start, '\n', text.len - pos);
		size_t n = nl ? (size_t)(nl - start) : text.len - pos;
		pos += n + (nl ? 1 : 0);
		if (n && start[n - 1] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX) {
			ret = fail(errmsg, errlen, SIGNET_EPARSE,
				   "%s:%u: line longer than %d octets", path, lineno,
				   CONFIG_LINE_MAX);
			break;
		}
		for (size_t i = 0; i < n; i++)
			if ((start[i] < 0x20 && start[i] != '\t') || start[i] == 0x7f) {
				ret = fail(errmsg, errlen, SIGNET_EPARSE,
					   "%s:%u: control character or NUL", path, lineno);
				break;
			}
		if (ret != SIGNET_OK)
			break;
		memcpy(line, start, n);
		line[n] = '\0';
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *key = NULL, *value = NULL;
		if (strspn(line, " \t") == strlen(line))
			continue;
		if (!split(line, &key, &value)) {
			ret = fail(errmsg, errlen, SIGNET_EPARSE, "%s:%u: expected KEY VALUE", path,
				   lineno);
			break;
		}
		size_t k = 0;
		while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k], key) != 0)
			k++;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			ret = fail(errmsg, errlen, SIGNET_EPARSE, "%s:%u: unknown key '%s'", path,
				   lineno, key);
			break;
		}
		if (seen[k]) {
			ret = fail(errmsg, errlen, SIGNET_EPARSE, "%s:%u: '%s' given twice", path,
				   lineno, key);
			break;
		}
		seen[k] = true;
		char sub[256];
		ret = client_config_set(cfg, key, value, sub, sizeof(sub));
		if (ret != SIGNET_OK)
			ret = fail(errmsg, errlen, SIGNET_EPARSE, "%s:%u: %s", path, lineno, sub);
	}
	sg_buf_free(&text);
	return ret;
}

signet_err client_config_check(const client_config *cfg, char *errmsg, size_t errlen)
{
	if (!cfg)
		return SIGNET_EINVAL;
	const char *missing = !cfg->server[0] ? "server"
			      : !cfg->ca[0]   ? "ca"
			      : !cfg->cert[0] ? "cert"
			      : !cfg->key[0]  ? "key"
					      : NULL;
	if (missing)
		return fail(errmsg, errlen, SIGNET_EINVAL,
			    "no %s given (flag --%s or the client config file)", missing, missing);
	if (hsm_uri_is(cfg->key) && (!cfg->key_module[0] || !cfg->key_pin[0]))
		return fail(errmsg, errlen, SIGNET_EINVAL,
			    "key is a PKCS#11 URI: the client config file must give key-module"
			    " (the PKCS#11 module) and key-pin (the file holding the token's PIN)");
	return SIGNET_OK;
}
