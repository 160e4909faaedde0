/* request.c -- operation requests: canonical text, hash, creation and reading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ceremony/internal.h"

#define REQUEST_MAGIC "signet-ceremony-request 1"
#define WHAT "request"

static const char *const OPS[] = {
	CER_OP_INIT_TOKEN,    CER_OP_RESHARE,     CER_OP_CREATE_KSK,     CER_OP_SIGN_KEYSET,
	CER_OP_EXPORT_DS,     CER_OP_RETIRE_KSK,  CER_OP_DELETE_KSK,     CER_OP_RESET_PIN,
	CER_OP_CREATE_DOMAIN, CER_OP_RESTORE_KSK, CER_OP_INSTALL_DOMAIN,
};

static bool op_known(const char *op)
{
	for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
		if (strcmp(op, OPS[i]) == 0)
			return true;
	return false;
}

/* Token operations act on the KSK token as a whole and name no zone. */
static bool op_has_zone(const char *op)
{
	return strcmp(op, CER_OP_INIT_TOKEN) != 0 && strcmp(op, CER_OP_RESHARE) != 0 &&
	       strcmp(op, CER_OP_RESET_PIN) != 0 && strcmp(op, CER_OP_CREATE_DOMAIN) != 0 &&
	       strcmp(op, CER_OP_INSTALL_DOMAIN) != 0;
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > CER_PARAM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '-'))
			return false;
	return true;
}

static bool value_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > CER_PARAM_VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return false;
	return true;
}

static signet_err request_check(const cer_request *r, char *errmsg, size_t errlen)
{
	if (!op_known(r->op))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"request: unknown operation \"%.32s\"", r->op);
	if (r->has_zone != op_has_zone(r->op))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "request: %s %s a zone", r->op,
				r->has_zone ? "takes no" : "needs");
	if (r->nparams > CER_PARAMS_MAX)
		return cer_fail(errmsg, errlen, SIGNET_ERANGE, "request: more than %d parameters",
				CER_PARAMS_MAX);
	for (size_t i = 0; i < r->nparams; i++) {
		if (!key_ok(r->params[i].key) || !value_ok(r->params[i].value))
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"request: malformed parameter %zu", i + 1);
		if (i > 0 && strcmp(r->params[i - 1].key, r->params[i].key) >= 0)
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"request: parameters not sorted or "
					"repeated (\"%s\")",
					r->params[i].key);
		if (cer_param_is_list(r->params[i].key) &&
		    !cer_list_is_canonical(r->params[i].value))
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"request: the items of %s are not sorted "
					"or repeat",
					r->params[i].key);
	}
	if (r->not_before <= 0 || r->not_after <= r->not_before ||
	    r->not_after - r->not_before > CER_REQUEST_LIFE_MAX)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"request: validity window must end after it "
				"starts and last at most %d seconds",
				CER_REQUEST_LIFE_MAX);
	return SIGNET_OK;
}

signet_err cer_request_write(cer_request *r, sg_buf *out, char *errmsg, size_t errlen)
{
	if (r == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_request_write: bad argument");
	signet_err err = request_check(r, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	char zone[DNS_NAME_STR_MAX] = "-";
	if (r->has_zone) {
		dns_name z = r->zone;
		dns_name_lower(&z);
		if (dns_name_to_str(&z, zone, sizeof(zone)) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EINVAL, "request: bad zone");
	}
	size_t mark = out->len;
	err = sg_buf_printf(out, "%s\noperation %s\nzone %s\n", REQUEST_MAGIC, r->op, zone);
	for (size_t i = 0; i < r->nparams && err == SIGNET_OK; i++)
		err = sg_buf_printf(out, "param %s %s\n", r->params[i].key, r->params[i].value);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "not-before %lld\nnot-after %lld\n",
				    (long long)r->not_before, (long long)r->not_after);
	if (err == SIGNET_OK)
		err = cer_put_hex(out, "nonce", r->nonce, sizeof(r->nonce));
	if (err == SIGNET_OK)
		err = cer_put_hex(out, "policy", r->policy, sizeof(r->policy));
	if (err == SIGNET_OK)
		err = cer_sha256(out->data + mark, out->len - mark, r->hash, errmsg, errlen);
	if (err != SIGNET_OK) {
		out->len = mark;
		return cer_fail(errmsg, errlen, err, "request: cannot encode (%s)",
				signet_strerror(err));
	}
	return SIGNET_OK;
}

static signet_err parse_doc(const cer_doc *d, cer_request *r, char *errmsg, size_t errlen)
{
	size_t i = 0;
	const char *v;
	uint64_t u;
	signet_err err = cer_doc_take(d, &i, "operation", WHAT, &v, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	if (strlen(v) >= sizeof(r->op) || !op_known(v))
		return cer_fail(errmsg, errlen, SIGNET_EPARSE,
				"request: unknown operation \"%.32s\"", v);
	memcpy(r->op, v, strlen(v) + 1);
	if ((err = cer_doc_take(d, &i, "zone", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (strcmp(v, "-") != 0) {
		if (dns_name_from_str(&r->zone, v) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EPARSE, "request: bad zone name");
		dns_name_lower(&r->zone);
		r->has_zone = true;
	}
	while (i < d->n && strcmp(d->lines[i].key, "param") == 0) {
		if (r->nparams == CER_PARAMS_MAX)
			return cer_fail(errmsg, errlen, SIGNET_ERANGE,
					"request: more than %d parameters", CER_PARAMS_MAX);
		cer_param *p = &r->params[r->nparams];
		const char *val = d->lines[i].value;
		const char *sp = strchr(val, ' ');
		if (sp == NULL || (size_t)(sp - val) > CER_PARAM_KEY_MAX ||
		    strlen(sp + 1) > CER_PARAM_VALUE_MAX)
			return cer_fail(errmsg, errlen, SIGNET_EPARSE,
					"request line %u: expected \"param KEY "
					"VALUE\"",
					d->lines[i].lineno);
		memcpy(p->key, val, (size_t)(sp - val));
		p->key[sp - val] = '\0';
		memcpy(p->value, sp + 1, strlen(sp + 1) + 1);
		r->nparams++;
		i++;
	}
	if ((err = cer_doc_take(d, &i, "not-before", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (cer_uint(v, 1, INT64_MAX >> 1, &u) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "request: bad not-before");
	r->not_before = (int64_t)u;
	if ((err = cer_doc_take(d, &i, "not-after", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (cer_uint(v, 1, INT64_MAX >> 1, &u) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "request: bad not-after");
	r->not_after = (int64_t)u;
	if ((err = cer_doc_take(d, &i, "nonce", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (cer_hex_exact(v, r->nonce, sizeof(r->nonce)) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE,
				"request: nonce is not 32 hex digits");
	if ((err = cer_doc_take(d, &i, "policy", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (cer_hex_exact(v, r->policy, sizeof(r->policy)) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE,
				"request: policy is not 64 hex digits");
	if (i != d->n)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE,
				"request line %u: unexpected \"%.32s\"", d->lines[i].lineno,
				d->lines[i].key);
	return SIGNET_OK;
}

signet_err cer_request_parse(const char *text, size_t len, cer_request *out, char *errmsg,
			     size_t errlen)
{
	if (text == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_request_parse: bad argument");
	memset(out, 0, sizeof(*out));
	cer_doc d;
	signet_err err = cer_doc_parse(text, len, REQUEST_MAGIC, WHAT, &d, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	err = parse_doc(&d, out, errmsg, errlen);
	cer_doc_free(&d);
	if (err == SIGNET_OK) {
		err = request_check(out, errmsg, errlen);
		if (err == SIGNET_EINVAL)
			err = SIGNET_EPARSE;
	}
	sg_buf canon = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = cer_request_write(out, &canon, errmsg, errlen);
	sg_buf_free(&canon);
	if (err != SIGNET_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

signet_err cer_request_read(const char *path, cer_request *out, char *errmsg, size_t errlen)
{
	sg_buf b = SG_BUF_INIT;
	signet_err err = cer_read_text(path, CER_FILE_MAX, "request", &b, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_request_parse((const char *)b.data, b.len, out, errmsg, errlen);
	sg_buf_free(&b);
	return err;
}

const char *cer_request_param(const cer_request *r, const char *key)
{
	for (size_t i = 0; r != NULL && key != NULL && i < r->nparams; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return r->params[i].value;
	return NULL;
}

static int param_cmp(const void *a, const void *b)
{
	return strcmp(((const cer_param *)a)->key, ((const cer_param *)b)->key);
}

/* The digest parameter of a sign-keyset request: what the approvers sign. */
static signet_err keyset_param(const char *path, cer_param *p, char *errmsg, size_t errlen)
{
	sg_buf b = SG_BUF_INIT;
	signet_err err = cer_read_text(path, CER_KEYSET_MAX, "key-signing request", &b, errmsg,
				       errlen);
	if (err != SIGNET_OK)
		return err;
	dns_keyset ks;
	unsigned line = 0;
	err = dns_keyset_parse((const char *)b.data, b.len, &ks, &line);
	sg_buf_free(&b);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "key-signing request %s: %s at line %u", path,
				signet_strerror(err), line);
	uint8_t dig[CER_HASH_LEN];
	err = ks.kind == DNS_KEYSET_REQUEST ? dns_keyset_digest(&ks, dig) : SIGNET_EPARSE;
	dns_keyset_free(&ks);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err,
				"key-signing request %s: not a request or not digestible", path);
	snprintf(p->key, sizeof(p->key), "keyset-sha256");
	sg_buf hex = SG_BUF_INIT;
	err = sg_hex_encode(dig, sizeof(dig), &hex);
	if (err == SIGNET_OK)
		snprintf(p->value, sizeof(p->value), "%s", (const char *)hex.data);
	sg_buf_free(&hex);
	return err;
}

/* Add "key=value" to r; a list parameter given again grows its list. */
static signet_err param_add(cer_request *r, const char *kv, char *errmsg, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq != NULL ? (size_t)(eq - kv) : 0;
	if (eq == NULL || kl == 0 || kl > CER_PARAM_KEY_MAX || strlen(eq + 1) > CER_PARAM_VALUE_MAX)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"request: parameter \"%.40s\" is not KEY=VALUE", kv);
	char key[CER_PARAM_KEY_MAX + 1];
	memcpy(key, kv, kl);
	key[kl] = '\0';
	for (size_t i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].key, key) != 0 || !cer_param_is_list(key))
			continue;
		size_t have = strlen(r->params[i].value);
		if (have + 1 + strlen(eq + 1) > CER_PARAM_VALUE_MAX)
			return cer_fail(errmsg, errlen, SIGNET_ERANGE,
					"request: parameter %s is longer than %d "
					"characters",
					key, CER_PARAM_VALUE_MAX);
		r->params[i].value[have] = ',';
		memcpy(r->params[i].value + have + 1, eq + 1, strlen(eq + 1) + 1);
		return SIGNET_OK;
	}
	if (r->nparams == CER_PARAMS_MAX)
		return cer_fail(errmsg, errlen, SIGNET_ERANGE, "request: more than %d parameters",
				CER_PARAMS_MAX);
	cer_param *p = &r->params[r->nparams++];
	memcpy(p->key, key, kl + 1);
	memcpy(p->value, eq + 1, strlen(eq + 1) + 1);
	return SIGNET_OK;
}

signet_err cer_request_create(const cer_request_params *rp, const cer_policy *policy,
			      const char *out_path, cer_request *out, char *errmsg, size_t errlen)
{
	if (rp == NULL || rp->op == NULL || policy == NULL || out_path == NULL ||
	    (rp->params == NULL && rp->nparams))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"request: operation, policy and output needed");
	const char *op = rp->op, *zone = rp->zone, *keyset = rp->keyset;
	const char *const *params = rp->params;
	size_t nparams = rp->nparams;
	int64_t not_before = rp->not_before, not_after = rp->not_after;
	cer_request *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	signet_err err = SIGNET_OK;
	if (strlen(op) >= sizeof(r->op))
		err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
			       "request: unknown operation \"%.32s\"", op);
	else
		memcpy(r->op, op, strlen(op) + 1);
	if (err == SIGNET_OK && zone != NULL) {
		if (dns_name_from_str(&r->zone, zone) != SIGNET_OK)
			err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
				       "request: bad zone name \"%.64s\"", zone);
		dns_name_lower(&r->zone);
		r->has_zone = true;
	}
	for (size_t i = 0; i < nparams && err == SIGNET_OK; i++)
		err = param_add(r, params[i], errmsg, errlen);
	for (size_t i = 0; i < r->nparams && err == SIGNET_OK; i++)
		if (cer_param_is_list(r->params[i].key))
			err = cer_list_canonical(r->params[i].value, sizeof(r->params[i].value),
						 errmsg, errlen);
	if (err == SIGNET_OK && keyset != NULL) {
		if (strcmp(op, CER_OP_SIGN_KEYSET) != 0)
			err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
				       "request: a keyset goes with sign-keyset only");
		else if (r->nparams == CER_PARAMS_MAX)
			err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
				       "request: more than %d parameters", CER_PARAMS_MAX);
		else
			err = keyset_param(keyset, &r->params[r->nparams++], errmsg, errlen);
	}
	if (err == SIGNET_OK)
		qsort(r->params, r->nparams, sizeof(r->params[0]), param_cmp);
	r->not_before = not_before;
	r->not_after = not_after;
	memcpy(r->policy, policy->hash, CER_HASH_LEN);
	if (err == SIGNET_OK && RAND_bytes(r->nonce, sizeof(r->nonce)) != 1)
		err = cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "no randomness");
	sg_buf text = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = cer_request_write(r, &text, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_write_new(out_path, text.data, text.len, 0644, errmsg, errlen);
	sg_buf_free(&text);
	if (err == SIGNET_OK && out != NULL)
		*out = *r;
	free(r);
	return err;
}
