/* keylist.c -- list parameters of requests: key-id lists and foreign-zsk entries. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony/internal.h"

/* More items than any list parameter may hold; bounds the sorting work. */
#define LIST_ITEMS_MAX 16

bool cer_param_is_list(const char *key)
{
	return key != NULL && (strcmp(key, "key-id") == 0 || strcmp(key, "foreign-zsk") == 0);
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

signet_err cer_list_canonical(char *value, size_t cap, char *errmsg, size_t errlen)
{
	if (value == NULL || cap == 0)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_list_canonical: bad argument");
	size_t len = strlen(value);
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	for (size_t i = 0; i <= len; i++)
		copy[i] = (char)tolower((unsigned char)value[i]);
	char *items[LIST_ITEMS_MAX];
	size_t n = 0;
	signet_err err = SIGNET_OK;
	for (char *p = copy;;) {
		char *comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		if (*p == '\0') {
			err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
				       "request: a list parameter has an empty item");
			break;
		}
		if (n == LIST_ITEMS_MAX) {
			err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
				       "request: a list parameter has more than %d "
				       "items",
				       LIST_ITEMS_MAX);
			break;
		}
		items[n++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (err == SIGNET_OK) {
		qsort(items, n, sizeof(items[0]), item_cmp);
		/* The result is never longer than the input: duplicates only shrink it. */
		size_t out = 0;
		for (size_t i = 0; i < n; i++) {
			if (i > 0 && strcmp(items[i - 1], items[i]) == 0)
				continue;
			if (out > 0)
				value[out++] = ',';
			size_t il = strlen(items[i]);
			memcpy(value + out, items[i], il);
			out += il;
		}
		value[out] = '\0';
	}
	free(copy);
	return err;
}

bool cer_list_is_canonical(const char *value)
{
	const char *prev = NULL;
	size_t prevlen = 0;
	for (const char *p = value;;) {
		const char *comma = strchr(p, ',');
		size_t il = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (il == 0)
			return false;
		if (prev != NULL) {
			/* strictly ascending in strcmp order, as cer_list_canonical sorts */
			size_t m = il < prevlen ? il : prevlen;
			int c = memcmp(prev, p, m);
			if (c > 0 || (c == 0 && prevlen >= il))
				return false;
		}
		prev = p;
		prevlen = il;
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

signet_err cer_param_key_ids(const cer_request *r, cer_key_ids *out, char *errmsg, size_t errlen)
{
	if (r == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_param_key_ids: bad argument");
	memset(out, 0, sizeof(*out));
	const char *v = cer_request_param(r, "key-id");
	if (v == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"request: parameter key-id (the KSKs' IDs in hex, "
				"comma-separated) is missing");
	for (const char *p = v;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (out->n == CER_KEYSET_KSKS_MAX)
			return cer_fail(errmsg, errlen, SIGNET_ERANGE,
					"request: more than %d KSKs in key-id",
					CER_KEYSET_KSKS_MAX);
		char hex[2 * HSM_ID_MAX + 1];
		if (n == 0 || n % 2 != 0 || n / 2 > HSM_ID_MAX)
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"request: key-id item %zu is not 1..%d "
					"octets of hex",
					out->n + 1, HSM_ID_MAX);
		memcpy(hex, p, n);
		hex[n] = '\0';
		if (cer_hex_exact(hex, out->id[out->n], n / 2) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"request: key-id item %zu is not hex", out->n + 1);
		out->len[out->n] = n / 2;
		for (size_t j = 0; j < out->n; j++)
			if (out->len[j] == n / 2 && memcmp(out->id[j], out->id[out->n], n / 2) == 0)
				return cer_fail(errmsg, errlen, SIGNET_EINVAL,
						"request: key-id names one KSK twice");
		out->n++;
		if (comma == NULL)
			return SIGNET_OK;
		p = comma + 1;
	}
}

/* "KEYTAG/ALG/SHA256": decimal tag, decimal algorithm, 64 hex digits. */
static signet_err foreign_item(const char *p, size_t n, cer_foreign_zsk *out)
{
	char item[128];
	if (n >= sizeof(item))
		return SIGNET_EINVAL;
	memcpy(item, p, n);
	item[n] = '\0';
	char *s1 = strchr(item, '/');
	char *s2 = s1 != NULL ? strchr(s1 + 1, '/') : NULL;
	if (s2 == NULL)
		return SIGNET_EINVAL;
	*s1 = '\0';
	*s2 = '\0';
	uint64_t tag, alg;
	if (cer_uint(item, 0, 65535, &tag) != SIGNET_OK ||
	    cer_uint(s1 + 1, 1, 255, &alg) != SIGNET_OK || strlen(s2 + 1) != 2 * CER_HASH_LEN ||
	    cer_hex_exact(s2 + 1, out->sha256, CER_HASH_LEN) != SIGNET_OK)
		return SIGNET_EINVAL;
	out->tag = (uint16_t)tag;
	out->alg = (uint8_t)alg;
	return SIGNET_OK;
}

signet_err cer_param_foreign_zsks(const cer_request *r, cer_foreign_zsk *out, size_t *n,
				  char *errmsg, size_t errlen)
{
	if (r == NULL || out == NULL || n == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"cer_param_foreign_zsks: bad argument");
	*n = 0;
	const char *v = cer_request_param(r, "foreign-zsk");
	if (v == NULL)
		return SIGNET_OK;
	for (const char *p = v;;) {
		const char *comma = strchr(p, ',');
		size_t il = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (*n == CER_FOREIGN_ZSKS_MAX)
			return cer_fail(errmsg, errlen, SIGNET_ERANGE,
					"request: more than %d foreign ZSKs", CER_FOREIGN_ZSKS_MAX);
		if (foreign_item(p, il, &out[*n]) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"request: foreign-zsk item %zu is not "
					"KEYTAG/ALGORITHM/SHA256-OF-DNSKEY-RDATA",
					*n + 1);
		for (size_t j = 0; j < *n; j++)
			if (memcmp(out[j].sha256, out[*n].sha256, CER_HASH_LEN) == 0)
				return cer_fail(errmsg, errlen, SIGNET_EINVAL,
						"request: foreign-zsk names one key "
						"twice");
		(*n)++;
		if (comma == NULL)
			return SIGNET_OK;
		p = comma + 1;
	}
}
