/* approval.c -- approvals: an operator's signature over a request hash, and the quorum check. */
#include <stdio.h>
#include <string.h>

#include "ceremony/internal.h"

#define APPROVAL_MAGIC "signet-ceremony-approval 1"
#define APPROVAL_SIG_TAG "signet-ceremony approval v1"
#define WHAT "approval"

signet_err cer_approval_message(const uint8_t hash[CER_HASH_LEN], sg_buf *out)
{
	signet_err err = sg_buf_append(out, APPROVAL_SIG_TAG, sizeof(APPROVAL_SIG_TAG));
	if (err == SIGNET_OK)
		err = sg_buf_append(out, hash, CER_HASH_LEN);
	return err;
}

signet_err cer_approve(const char *request_path, const char *key_path, const sg_secret *pass,
		       const char *out_path, char *errmsg, size_t errlen)
{
	if (out_path == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "approve: no output file");
	cer_request r;
	signet_err err = cer_request_read(request_path, &r, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	sg_buf msg = SG_BUF_INIT, text = SG_BUF_INIT;
	uint8_t sig[CER_SIG_LEN];
	cer_operator who;
	err = cer_approval_message(r.hash, &msg);
	if (err == SIGNET_OK)
		err = cer_operator_sign(key_path, pass, msg.data, msg.len, sig, &who, errmsg,
					errlen);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&text, "%s\noperator %s\n", APPROVAL_MAGIC, who.name);
	if (err == SIGNET_OK)
		err = cer_put_hex(&text, "request", r.hash, CER_HASH_LEN);
	if (err == SIGNET_OK)
		err = cer_put_b64(&text, "signature", sig, CER_SIG_LEN);
	if (err == SIGNET_OK)
		err = cer_write_new(out_path, text.data, text.len, 0644, errmsg, errlen);
	sg_buf_free(&msg);
	sg_buf_free(&text);
	return err;
}

signet_err cer_approval_read(const char *path, cer_approval *out, char *errmsg, size_t errlen)
{
	if (out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_approval_read: bad argument");
	memset(out, 0, sizeof(*out));
	sg_buf b = SG_BUF_INIT;
	signet_err err = cer_read_text(path, CER_FILE_MAX, WHAT, &b, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	cer_doc d;
	err = cer_doc_parse((const char *)b.data, b.len, APPROVAL_MAGIC, WHAT, &d, errmsg, errlen);
	sg_buf_free(&b);
	if (err != SIGNET_OK)
		return err;
	size_t i = 0;
	const char *name = NULL, *req = NULL, *sig = NULL;
	err = cer_doc_take(&d, &i, "operator", WHAT, &name, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "request", WHAT, &req, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "signature", WHAT, &sig, errmsg, errlen);
	if (err == SIGNET_OK && i != d.n)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "approval %s: trailing lines", path);
	if (err == SIGNET_OK && !cer_name_ok(name))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "approval %s: bad operator name",
			       path);
	if (err == SIGNET_OK && (cer_hex_exact(req, out->request, CER_HASH_LEN) != SIGNET_OK ||
				 cer_b64_exact(sig, out->sig, CER_SIG_LEN) != SIGNET_OK))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "approval %s: malformed hash or signature", path);
	if (err == SIGNET_OK)
		memcpy(out->operator, name, strlen(name) + 1);
	cer_doc_free(&d);
	return err;
}

signet_err cer_approvals_check(const cer_policy *p, const cer_request *r, const cer_approval *a,
			       size_t n, sg_buf *names, char *errmsg, size_t errlen)
{
	if (p == NULL || r == NULL || (a == NULL && n))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_approvals_check: bad argument");
	bool seen[CER_OPERATORS_MAX] = {false};
	sg_buf msg = SG_BUF_INIT;
	signet_err err = cer_approval_message(r->hash, &msg);
	for (size_t i = 0; i < n && err == SIGNET_OK; i++) {
		const cer_operator *op = cer_policy_find(p, a[i].operator);
		if (op == NULL) {
			err = cer_fail(errmsg, errlen, SIGNET_EDENIED,
				       "approval by \"%s\": not an operator of "
				       "the policy",
				       a[i].operator);
			break;
		}
		if (memcmp(a[i].request, r->hash, CER_HASH_LEN) != 0) {
			err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				       "approval by %s is for another request", a[i].operator);
			break;
		}
		if (cer_signature_verify(op->pub, msg.data, msg.len, a[i].sig) != SIGNET_OK) {
			err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				       "approval by %s: the signature does not "
				       "verify with her enrolled key",
				       a[i].operator);
			break;
		}
		seen[op - p->ops] = true;
	}
	sg_buf_free(&msg);
	if (err != SIGNET_OK)
		return err;
	unsigned distinct = 0;
	for (size_t i = 0; i < p->count; i++) {
		if (!seen[i])
			continue;
		if (names != NULL &&
		    sg_buf_printf(names, "%s%s", distinct ? "," : "", p->ops[i].name) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
		distinct++;
	}
	if (distinct < p->threshold)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"%u distinct valid approval%s, %u needed (repeats "
				"by one operator count once)",
				distinct, distinct == 1 ? "" : "s", p->threshold);
	return SIGNET_OK;
}
