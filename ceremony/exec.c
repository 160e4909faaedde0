/* exec.c -- running an approved request: the checks every operation shares, the PIN, the transcript. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ceremony/internal.h"

static const cer_op *const OPS[] = {
	&cer_op_init_token, &cer_op_reshare, &cer_op_create_ksk, &cer_op_sign_keyset,
	&cer_op_export_ds, &cer_op_retire_ksk, &cer_op_delete_ksk,
};

static const cer_op *op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
		if (strcmp(OPS[i]->name, name) == 0)
			return OPS[i];
	return NULL;
}

signet_err cer_param_key_id(const cer_request *r, uint8_t *id, size_t *id_len)
{
	const char *v = cer_request_param(r, "key-id");
	size_t n = v == NULL ? 0 : strlen(v);
	if (n == 0 || n % 2 != 0 || n / 2 > HSM_ID_MAX || cer_hex_exact(v, id, n / 2) != SIGNET_OK)
		return cer_fail(SIGNET_EINVAL, "request: parameter key-id (the KSK's ID in hex) "
				"is missing or malformed");
	*id_len = n / 2;
	return SIGNET_OK;
}

static signet_err log_result(cer_run *run, const char *approvers, signet_err result)
{
	char path[4200];
	cer_log_entry e;
	memset(&e, 0, sizeof(e));
	e.time = run->now;
	snprintf(e.op, sizeof(e.op), "%s", run->r->op);
	snprintf(e.zone, sizeof(e.zone), "%s", run->zone);
	memcpy(e.request, run->r->hash, CER_HASH_LEN);
	snprintf(e.approvers, sizeof(e.approvers), "%s",
		 approvers != NULL && approvers[0] != '\0' ? approvers : "-");
	snprintf(e.result, sizeof(e.result), "%s",
		 result == SIGNET_OK ? "ok" : signet_errname(result));
	memcpy(e.outputs, run->outputs, CER_HASH_LEN);
	snprintf(path, sizeof(path), "%s/transcript.log", run->x->dir);
	/* A refusal's own message must survive a failing log write. */
	char saved[512];
	snprintf(saved, sizeof(saved), "%s", cer_last_error());
	signet_err err = cer_log_append(path, &e);
	if (err != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "transcript: %s", cer_last_error());
	if (result != SIGNET_OK)
		cer_fail(result, "%s", saved);
	return err;
}

static signet_err load_approvals(const cer_exec *x, cer_approval **out)
{
	*out = calloc(x->napprovals ? x->napprovals : 1, sizeof(**out));
	if (*out == NULL)
		return cer_fail(SIGNET_ENOMEM, "out of memory");
	if (x->napprovals > 4 * CER_OPERATORS_MAX)
		return cer_fail(SIGNET_ERANGE, "too many approval files");
	for (size_t i = 0; i < x->napprovals; i++) {
		signet_err err = cer_approval_read(x->approvals[i], &(*out)[i]);
		if (err != SIGNET_OK)
			return err;
	}
	return SIGNET_OK;
}

/* Open the module and the KSK token with the PIN the shares give. */
static signet_err open_token(cer_run *run, bool *own_ctx)
{
	const cer_exec *x = run->x;
	sg_secret *pin = NULL;
	char label[33] = "", serial[17] = "";
	bool reshare = strcmp(run->r->op, CER_OP_RESHARE) == 0;
	signet_err err = cer_shares_open(run->p, x->shares, x->nshares, x->passes, x->npasses,
					 reshare, &pin, label, serial);
	if (err != SIGNET_OK)
		return err;
	if (strcmp(label, run->p->label) != 0) {
		sg_secret_free(pin);
		return cer_fail(SIGNET_EVERIFY, "the shares are for token \"%s\", the policy "
				"names \"%s\"", label, run->p->label);
	}
	run->ctx = x->hsm;
	if (run->ctx == NULL) {
		err = hsm_open(run->p->module, &run->ctx);
		if (err != SIGNET_OK) {
			sg_secret_free(pin);
			return cer_fail(err, "cannot load the PKCS#11 module %s: %s",
					run->p->module, hsm_last_error());
		}
		*own_ctx = true;
	}
	err = hsm_token_open(run->ctx, NULL, serial, pin, &run->tok);
	sg_secret_free(pin);
	if (err != SIGNET_OK)
		return cer_fail(err, "cannot open the KSK token (serial %s): %s", serial,
				hsm_last_error());
	hsm_token_desc d;
	err = hsm_token_describe(run->tok, &d);
	if (err == SIGNET_OK && strcmp(d.label, run->p->label) != 0)
		err = cer_fail(SIGNET_EVERIFY, "token serial %s has label \"%s\", the policy "
			       "names \"%s\"", serial, d.label, run->p->label);
	return err;
}

signet_err cer_execute(const cer_exec *x)
{
	if (x == NULL || x->dir == NULL || x->request == NULL || (x->approvals == NULL &&
	    x->napprovals) || (x->shares == NULL && x->nshares) || (x->passes == NULL &&
	    x->npasses))
		return cer_fail(SIGNET_EINVAL, "execute: ceremony directory and request needed");
	cer_policy *p = calloc(1, sizeof(*p));
	cer_request *r = calloc(1, sizeof(*r));
	cer_approval *appr = NULL;
	sg_buf approvers = SG_BUF_INIT;
	cer_run run;
	memset(&run, 0, sizeof(run));
	bool own_ctx = false, logged = false;
	signet_err err = (p == NULL || r == NULL) ? cer_fail(SIGNET_ENOMEM, "out of memory")
						  : cer_policy_load(x->dir, p);
	if (err == SIGNET_OK)
		err = cer_request_read(x->request, r);
	if (err != SIGNET_OK)
		goto out;
	run.x = x;
	run.p = p;
	run.r = r;
	run.now = x->now != 0 ? x->now : (int64_t)time(NULL);
	snprintf(run.zone, sizeof(run.zone), "-");
	if (r->has_zone && dns_name_to_str(&r->zone, run.zone, sizeof(run.zone)) != SIGNET_OK)
		snprintf(run.zone, sizeof(run.zone), "-");
	logged = true;  /* from here on every outcome is in the transcript */

	const cer_op *op = op_find(r->op);
	if (op == NULL) {
		err = cer_fail(SIGNET_EPARSE, "unknown operation %s", r->op);
		goto out;
	}
	if (memcmp(r->policy, p->hash, CER_HASH_LEN) != 0) {
		err = cer_fail(SIGNET_ESTATE, "the request was made under another policy than "
			       "the installed one");
		goto out;
	}
	if (run.now < r->not_before || run.now > r->not_after) {
		err = cer_fail(SIGNET_ETIME, "the request is valid from %lld to %lld; now is %lld "
			       "(%s)", (long long)r->not_before, (long long)r->not_after,
			       (long long)run.now, run.now > r->not_after ? "expired" :
			       "not yet valid");
		goto out;
	}
	err = load_approvals(x, &appr);
	if (err == SIGNET_OK)
		err = cer_approvals_check(p, r, appr, x->napprovals, &approvers);
	if (err == SIGNET_OK && op->check != NULL)
		err = op->check(&run);
	if (err != SIGNET_OK)
		goto out;
	if (op->needs_shares) {
		err = open_token(&run, &own_ctx);
	} else {
		run.ctx = x->hsm;
		if (run.ctx == NULL) {
			err = hsm_open(p->module, &run.ctx);
			if (err != SIGNET_OK)
				cer_fail(err, "cannot load the PKCS#11 module %s: %s", p->module,
					 hsm_last_error());
			else
				own_ctx = true;
		}
	}
	if (err == SIGNET_OK)
		err = op->perform(&run);
	if (err == SIGNET_OK && run.out.len > 0 &&
	    (err = cer_sha256(run.out.data, run.out.len, run.outputs)) == SIGNET_OK) {
		/* The transcript is on disk before the output is released. */
		logged = false;
		err = log_result(&run, (const char *)approvers.data, SIGNET_OK);
		if (err != SIGNET_OK)
			cer_fail(err, "the transcript could not be written: output withheld");
		else if (x->out == NULL)
			err = cer_fail(SIGNET_EINVAL, "no output file given");
		else if ((err = sg_file_write_atomic(x->out, run.out.data, run.out.len, 0644)) !=
			 SIGNET_OK)
			cer_fail(err, "%s: cannot write the output", x->out);
	}
out:
	if (logged) {
		signet_err lerr = log_result(&run, (const char *)approvers.data, err);
		if (err == SIGNET_OK && lerr != SIGNET_OK)
			err = cer_fail(lerr, "the operation was done but its transcript entry "
				       "could not be written");
	}
	hsm_token_close(run.tok);
	if (own_ctx)
		hsm_close(run.ctx);
	dns_keyset_free(&run.keyset);
	sg_buf_free(&run.keyset_text);
	sg_buf_free(&run.out);
	sg_buf_free(&approvers);
	free(appr);
	free(p);
	free(r);
	return err;
}
