/* anchor.c -- the ceremony's state anchored in the KSK token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony/internal.h"

#define ANCHOR_MAGIC "signet-ceremony-anchor 1"
#define WHAT "token anchor"

signet_err cer_anchor_write(const cer_anchor *a, sg_buf *out, char *errmsg, size_t errlen)
{
	signet_err err = sg_buf_printf(out, "%s\npolicy-serial %llu\n", ANCHOR_MAGIC,
				       (unsigned long long)a->policy_serial);
	if (err == SIGNET_OK)
		err = cer_put_hex(out, "policy", a->policy, CER_HASH_LEN);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "threshold %u\n", a->threshold);
	for (size_t i = 0; i < a->nops && err == SIGNET_OK; i++)
		err = cer_put_b64(out, "operator", a->ops[i], CER_PUB_LEN);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "entries %llu\n", (unsigned long long)a->entries);
	if (err == SIGNET_OK)
		err = cer_put_hex(out, "head", a->head, CER_HASH_LEN);
	for (size_t i = 0; i < a->nretired && err == SIGNET_OK; i++)
		err = cer_put_hex(out, "retired", a->retired[i], a->retired_len[i]);
	for (size_t i = 0; i < a->nexecuted && err == SIGNET_OK; i++) {
		err = sg_buf_printf(out, "executed ");
		if (err == SIGNET_OK)
			err = sg_hex_encode(a->executed[i], sizeof(a->executed[i]), out);
		if (err == SIGNET_OK)
			err = sg_buf_printf(out, " %lld\n", (long long)a->executed_until[i]);
	}
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "token anchor: cannot encode");
	return SIGNET_OK;
}

static signet_err parse_doc(const cer_doc *d, cer_anchor *a, char *errmsg, size_t errlen)
{
	size_t i = 0;
	const char *v;
	uint64_t u;
	signet_err err = cer_doc_take(d, &i, "policy-serial", WHAT, &v, errmsg, errlen);
	if (err == SIGNET_OK && cer_uint(v, 1, UINT64_MAX >> 1, &a->policy_serial) != SIGNET_OK)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "token anchor: bad policy-serial");
	if (err == SIGNET_OK &&
	    (err = cer_doc_take(d, &i, "policy", WHAT, &v, errmsg, errlen)) == SIGNET_OK &&
	    cer_hex_exact(v, a->policy, CER_HASH_LEN) != SIGNET_OK)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "token anchor: bad policy hash");
	if (err == SIGNET_OK &&
	    (err = cer_doc_take(d, &i, "threshold", WHAT, &v, errmsg, errlen)) == SIGNET_OK) {
		if (cer_uint(v, 1, CER_OPERATORS_MAX, &u) != SIGNET_OK)
			err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
				       "token anchor: bad threshold");
		a->threshold = (unsigned)u;
	}
	while (err == SIGNET_OK && i < d->n && strcmp(d->lines[i].key, "operator") == 0) {
		if (a->nops == CER_OPERATORS_MAX ||
		    cer_b64_exact(d->lines[i].value, a->ops[a->nops], CER_PUB_LEN) != SIGNET_OK)
			err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
				       "token anchor line %u: bad operator", d->lines[i].lineno);
		a->nops++;
		i++;
	}
	if (err == SIGNET_OK &&
	    (err = cer_doc_take(d, &i, "entries", WHAT, &v, errmsg, errlen)) == SIGNET_OK &&
	    cer_uint(v, 0, UINT64_MAX >> 1, &a->entries) != SIGNET_OK)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "token anchor: bad entries");
	if (err == SIGNET_OK &&
	    (err = cer_doc_take(d, &i, "head", WHAT, &v, errmsg, errlen)) == SIGNET_OK &&
	    cer_hex_exact(v, a->head, CER_HASH_LEN) != SIGNET_OK)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "token anchor: bad head");
	while (err == SIGNET_OK && i < d->n && strcmp(d->lines[i].key, "retired") == 0) {
		size_t n = strlen(d->lines[i].value) / 2;
		if (a->nretired == CER_RETIRED_MAX || n == 0 || n > HSM_ID_MAX ||
		    cer_hex_exact(d->lines[i].value, a->retired[a->nretired], n) != SIGNET_OK)
			err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
				       "token anchor line %u: bad retired key", d->lines[i].lineno);
		a->retired_len[a->nretired++] = n;
		i++;
	}
	while (err == SIGNET_OK && i < d->n && strcmp(d->lines[i].key, "executed") == 0) {
		char hex[40];
		long long until = 0;
		int used = 0;
		if (a->nexecuted == CER_EXECUTED_MAX ||
		    sscanf(d->lines[i].value, "%32s %lld%n", hex, &until, &used) != 2 ||
		    d->lines[i].value[used] != '\0' ||
		    cer_hex_exact(hex, a->executed[a->nexecuted], 16) != SIGNET_OK)
			err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
				       "token anchor line %u: bad executed request",
				       d->lines[i].lineno);
		a->executed_until[a->nexecuted++] = until;
		i++;
	}
	if (err == SIGNET_OK && i != d->n)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "token anchor line %u: unexpected \"%.32s\"", d->lines[i].lineno,
			       d->lines[i].key);
	if (err == SIGNET_OK && (a->nops == 0 || a->threshold > a->nops))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "token anchor: threshold above its operators");
	return err;
}

signet_err cer_anchor_parse(const char *text, size_t len, cer_anchor *a, char *errmsg,
			    size_t errlen)
{
	memset(a, 0, sizeof(*a));
	cer_doc d;
	signet_err err = cer_doc_parse(text, len, ANCHOR_MAGIC, WHAT, &d, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	err = parse_doc(&d, a, errmsg, errlen);
	cer_doc_free(&d);
	return err;
}

signet_err cer_anchor_load(hsm_token *t, cer_anchor *a, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	sg_buf b = SG_BUF_INIT;
	signet_err err = hsm_data_read(t, CER_ANCHOR_LABEL, true, CER_FILE_MAX, &b, hsmerr,
				       sizeof(hsmerr));
	if (err == SIGNET_ENOTFOUND)
		err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
			       "the KSK token holds no ceremony anchor: it was not "
			       "initialised by this ceremony (init-token)");
	else if (err != SIGNET_OK)
		err = cer_fail(errmsg, errlen, err, "cannot read the token anchor: %s", hsmerr);
	else
		err = cer_anchor_parse((const char *)b.data, b.len, a, errmsg, errlen);
	sg_buf_free(&b);
	return err;
}

signet_err cer_anchor_load_public(hsm_ctx *ctx, const char *label, cer_anchor *a, char serial[17],
				  char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	sg_buf b = SG_BUF_INIT;
	signet_err err = hsm_data_read_public(ctx, label, CER_ANCHOR_LABEL, CER_FILE_MAX, &b,
					      serial, hsmerr, sizeof(hsmerr));
	if (err == SIGNET_OK)
		err = cer_anchor_parse((const char *)b.data, b.len, a, errmsg, errlen);
	else
		cer_fail(errmsg, errlen, err, "%s", hsmerr);
	sg_buf_free(&b);
	return err;
}

signet_err cer_anchor_store(hsm_token *t, const cer_anchor *a, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	sg_buf b = SG_BUF_INIT;
	signet_err err = cer_anchor_write(a, &b, errmsg, errlen);
	/* The private object is the truth; the public copy follows it. */
	if (err == SIGNET_OK && (err = hsm_data_write(t, CER_ANCHOR_LABEL, true, b.data, b.len,
						      hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "cannot write the token anchor: %s", hsmerr);
	if (err == SIGNET_OK && (err = hsm_data_write(t, CER_ANCHOR_LABEL, false, b.data, b.len,
						      hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "cannot write the token anchor's public copy: %s",
			 hsmerr);
	sg_buf_free(&b);
	return err;
}

void cer_anchor_set_policy(cer_anchor *a, const cer_policy *p)
{
	a->policy_serial = p->serial;
	memcpy(a->policy, p->hash, CER_HASH_LEN);
	a->threshold = p->threshold;
	a->nops = p->count;
	for (size_t i = 0; i < p->count; i++)
		memcpy(a->ops[i], p->ops[i].pub, CER_PUB_LEN);
}

bool cer_anchor_executed(const cer_anchor *a, const uint8_t nonce[16])
{
	for (size_t i = 0; i < a->nexecuted; i++)
		if (memcmp(a->executed[i], nonce, 16) == 0)
			return true;
	return false;
}

signet_err cer_anchor_add_executed(cer_anchor *a, const uint8_t nonce[16], int64_t until,
				   int64_t now, char *errmsg, size_t errlen)
{
	if (a->nexecuted == CER_EXECUTED_MAX) {
		/* An expired request cannot execute again whatever the list says. */
		size_t k = 0;
		for (size_t i = 0; i < a->nexecuted; i++) {
			if (a->executed_until[i] < now)
				continue;
			memmove(a->executed[k], a->executed[i], 16);
			a->executed_until[k++] = a->executed_until[i];
		}
		a->nexecuted = k;
	}
	if (a->nexecuted == CER_EXECUTED_MAX)
		return cer_fail(errmsg, errlen, SIGNET_ERANGE,
				"the token anchor holds %d requests executed and "
				"not yet expired: wait until the oldest expires",
				CER_EXECUTED_MAX);
	memcpy(a->executed[a->nexecuted], nonce, 16);
	a->executed_until[a->nexecuted++] = until;
	return SIGNET_OK;
}

bool cer_anchor_retired(const cer_anchor *a, const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < a->nretired; i++)
		if (a->retired_len[i] == len && memcmp(a->retired[i], id, len) == 0)
			return true;
	return false;
}

signet_err cer_anchor_retire(cer_anchor *a, const uint8_t *id, size_t len, bool add, char *errmsg,
			     size_t errlen)
{
	if (len == 0 || len > HSM_ID_MAX)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "bad key ID");
	if (!add) {
		for (size_t i = 0; i < a->nretired; i++) {
			if (a->retired_len[i] != len || memcmp(a->retired[i], id, len) != 0)
				continue;
			a->nretired--;
			memmove(a->retired[i], a->retired[a->nretired], HSM_ID_MAX);
			a->retired_len[i] = a->retired_len[a->nretired];
			break;
		}
		return SIGNET_OK;
	}
	if (cer_anchor_retired(a, id, len))
		return SIGNET_OK;
	if (a->nretired == CER_RETIRED_MAX)
		return cer_fail(errmsg, errlen, SIGNET_ERANGE,
				"%d keys are retired and not deleted: delete one "
				"first",
				CER_RETIRED_MAX);
	memcpy(a->retired[a->nretired], id, len);
	a->retired_len[a->nretired++] = len;
	return SIGNET_OK;
}

/* A short hex prefix of a hash, for messages. */
static void short_hex(const uint8_t *h, char out[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

signet_err cer_anchor_check_policy(const cer_anchor *a, const cer_policy *p, bool *changed,
				   char *errmsg, size_t errlen)
{
	*changed = false;
	if (memcmp(a->policy, p->hash, CER_HASH_LEN) == 0)
		return SIGNET_OK;
	char have[17], want[17];
	short_hex(p->hash, have);
	short_hex(a->policy, want);
	if (p->serial <= a->policy_serial)
		return cer_fail(
			errmsg, errlen, SIGNET_ESTATE,
			"policy mismatch: the directory's policy (serial "
			"%llu, %s...) is not the one the token anchors (serial %llu, "
			"%s...), and its serial is not higher: an older or copied-in policy",
			(unsigned long long)p->serial, have, (unsigned long long)a->policy_serial,
			want);
	static cer_policy by; /* large; the tool is single-threaded */
	memset(&by, 0, sizeof(by));
	by.count = a->nops;
	for (size_t i = 0; i < a->nops; i++)
		memcpy(by.ops[i].pub, a->ops[i], CER_PUB_LEN);
	unsigned n = cer_policy_signers(p, &by);
	if (n < a->threshold)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"policy mismatch: the directory's policy (serial "
				"%llu, %s...) carries %u valid signatures of the anchored policy's "
				"operators (serial %llu), %u needed: not an adopted change",
				(unsigned long long)p->serial, have, n,
				(unsigned long long)a->policy_serial, a->threshold);
	*changed = true;
	return SIGNET_OK;
}

/* Entries beyond the anchor that may stay: refusals (they changed nothing
 * and were written before the token was open), policy adoptions (checked
 * against the anchored policy by cer_anchor_check_policy), intents whose
 * anchoring failed (a crash between the two writes: nothing was done), and
 * the outcome of the operation whose intent the anchor holds as its head
 * (a crash or a failed token write after the operation). */
static bool extra_ok(const cer_log_brief *e, const cer_log_brief *head, bool first)
{
	bool refusal = strcmp(e->result, "ok") != 0 && strcmp(e->result, "started") != 0;
	bool adoption = strcmp(e->op, "adopt-policy") == 0 && strcmp(e->result, "ok") == 0;
	bool intent = strcmp(e->result, "started") == 0;
	bool outcome = first && head != NULL && strcmp(head->result, "started") == 0 &&
		       strcmp(head->op, e->op) == 0 &&
		       memcmp(head->request, e->request, CER_HASH_LEN) == 0;
	return refusal || adoption || intent || outcome;
}

signet_err cer_anchor_check_log(const cer_anchor *a, const char *path, const cer_policy *p,
				uint64_t *entries, uint8_t head[CER_HASH_LEN], char *errmsg,
				size_t errlen)
{
	bool exists = false;
	cer_log_brief *b = NULL;
	size_t n = 0;
	char why[CER_ERRMSG_MAX] = "";
	signet_err err = cer_log_load(path, &exists, &b, &n, why, sizeof(why));
	if (err != SIGNET_OK) {
		free(b);
		return cer_fail(errmsg, errlen, err, "transcript mismatch: %s", why);
	}
	char want[17], got[17];
	short_hex(a->head, want);
	if (a->entries > 0 && !exists)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "transcript mismatch: %s is missing; the token "
			       "anchors %llu entries ending in %s...",
			       path, (unsigned long long)a->entries, want);
	else if (a->entries > 0 && n == 0)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "transcript mismatch: %s is empty; the token "
			       "anchors %llu entries ending in %s...",
			       path, (unsigned long long)a->entries, want);
	else if (n < a->entries)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "transcript mismatch: %s has %zu entries; the token "
			       "anchors %llu: entries were cut",
			       path, n, (unsigned long long)a->entries);
	else if (a->entries > 0 && memcmp(b[a->entries - 1].hash, a->head, CER_HASH_LEN) != 0) {
		short_hex(b[a->entries - 1].hash, got);
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "transcript mismatch: entry %llu of %s has hash "
			       "%s..., the token anchors %s...: the transcript was replaced",
			       (unsigned long long)a->entries, path, got, want);
	}
	const cer_log_brief *last_adopt = NULL;
	for (size_t k = (size_t)a->entries; err == SIGNET_OK && k < n; k++) {
		const cer_log_brief *hd = a->entries > 0 ? &b[a->entries - 1] : NULL;
		if (!extra_ok(&b[k], hd, k == a->entries))
			err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				       "transcript mismatch: entry %zu (%s, %s) lies "
				       "beyond the %llu entries the token anchors and records a "
				       "change the token never anchored",
				       k + 1, b[k].op, b[k].result, (unsigned long long)a->entries);
		if (strcmp(b[k].op, "adopt-policy") == 0 && strcmp(b[k].result, "ok") == 0)
			last_adopt = &b[k];
	}
	/* A policy change needs its adoption on record after the anchor. */
	if (err == SIGNET_OK && p != NULL && memcmp(p->hash, a->policy, CER_HASH_LEN) != 0 &&
	    (last_adopt == NULL || memcmp(last_adopt->request, p->hash, CER_HASH_LEN) != 0))
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "policy mismatch: the directory's policy (serial "
			       "%llu) differs from the anchored one (serial %llu) and the "
			       "transcript does not record its adoption",
			       (unsigned long long)p->serial, (unsigned long long)a->policy_serial);
	if (err == SIGNET_OK) {
		if (entries != NULL)
			*entries = n;
		if (head != NULL) {
			if (n > 0)
				memcpy(head, b[n - 1].hash, CER_HASH_LEN);
			else
				memset(head, 0, CER_HASH_LEN);
		}
	}
	free(b);
	return err;
}

signet_err cer_log_verify_token(const char *dir, const char *config, hsm_ctx *hsm, size_t *entries,
				char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (dir == NULL || entries == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"cer_log_verify_token: bad argument");
	*entries = 0;
	cer_config *cfg = calloc(1, sizeof(*cfg));
	cer_policy *p = calloc(1, sizeof(*p));
	cer_anchor *a = calloc(1, sizeof(*a));
	hsm_ctx *ctx = hsm;
	char log[4200], serial[17];
	signet_err err = (cfg == NULL || p == NULL || a == NULL)
				 ? cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory")
				 : cer_config_load(config, cfg, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_policy_load(dir, p, errmsg, errlen);
	if (err == SIGNET_OK && hsm == NULL &&
	    (err = hsm_open_args(cfg->module, cfg->module_args[0] ? cfg->module_args : NULL, &ctx,
				 hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "cannot load the PKCS#11 module %s: %s", cfg->module,
			 hsmerr);
	char why[CER_ERRMSG_MAX] = "";
	if (err == SIGNET_OK &&
	    (err = cer_anchor_load_public(ctx, p->label, a, serial, why, sizeof(why))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "token \"%s\": %s", p->label, why);
	bool changed = false;
	uint64_t n = 0;
	snprintf(log, sizeof(log), "%s/transcript.log", dir);
	if (err == SIGNET_OK)
		err = cer_anchor_check_policy(a, p, &changed, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_anchor_check_log(a, log, p, &n, NULL, errmsg, errlen);
	if (err == SIGNET_OK)
		*entries = (size_t)n;
	if (ctx != NULL && hsm == NULL)
		hsm_close(ctx);
	free(cfg);
	free(p);
	free(a);
	return err;
}
