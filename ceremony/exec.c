/* exec.c -- running an approved request: shared checks, anchor, PIN, transcript. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ceremony/internal.h"

static const cer_op *const OPS[] = {
	&cer_op_init_token,    &cer_op_reshare,     &cer_op_create_ksk,     &cer_op_sign_keyset,
	&cer_op_export_ds,     &cer_op_retire_ksk,  &cer_op_delete_ksk,     &cer_op_reset_pin,
	&cer_op_create_domain, &cer_op_restore_ksk, &cer_op_install_domain,
};

static const cer_op *op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
		if (strcmp(OPS[i]->name, name) == 0)
			return OPS[i];
	return NULL;
}

signet_err cer_param_key_id(const cer_request *r, uint8_t *id, size_t *id_len, char *errmsg,
			    size_t errlen)
{
	const char *v = cer_request_param(r, "key-id");
	size_t n = v == NULL ? 0 : strlen(v);
	if (n == 0 || n % 2 != 0 || n / 2 > HSM_ID_MAX || cer_hex_exact(v, id, n / 2) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"request: parameter key-id (the KSK's ID in hex) "
				"is missing or malformed");
	*id_len = n / 2;
	return SIGNET_OK;
}

/* Append an entry for run with this result; e (may be NULL) gets it with
 * its hash. The reason of a refusal survives a failing write. */
static signet_err log_entry(cer_run *run, const char *result, cer_log_entry *out, char *errmsg,
			    size_t errlen)
{
	cer_log_entry e;
	memset(&e, 0, sizeof(e));
	e.time = run->now;
	snprintf(e.op, sizeof(e.op), "%s", run->r->op);
	snprintf(e.zone, sizeof(e.zone), "%s", run->zone);
	memcpy(e.request, run->r->hash, CER_HASH_LEN);
	snprintf(e.approvers, sizeof(e.approvers), "%s",
		 run->approvers != NULL && run->approvers[0] != '\0' ? run->approvers : "-");
	snprintf(e.result, sizeof(e.result), "%s", result);
	memcpy(e.outputs, run->outputs, CER_HASH_LEN);
	char why[CER_ERRMSG_MAX] = "";
	signet_err err = cer_log_append(run->log, &e, why, sizeof(why));
	if (err != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "transcript: %s", why);
		cer_fail(errmsg, errlen, err, "%s", why);
	}
	if (out != NULL)
		*out = e;
	return err;
}

/* A refusal before anything was done: on record, not anchored (the next
 * execution that opens the token anchors it). */
static void log_refusal(cer_run *run, signet_err result)
{
	char why[CER_ERRMSG_MAX];
	(void)log_entry(run, signet_errname(result), NULL, why, sizeof(why));
}

/* The anchor follows an entry just appended (number expect): entries and
 * head. */
static signet_err anchor_follow(cer_run *run, const cer_log_entry *e, uint64_t expect, char *errmsg,
				size_t errlen)
{
	if (e->seq != expect)
		return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				"transcript mismatch: the entry was appended as "
				"number %llu, %llu was expected (someone else wrote the "
				"transcript meanwhile)",
				(unsigned long long)e->seq, (unsigned long long)expect);
	run->anchor->entries = e->seq;
	memcpy(run->anchor->head, e->hash, CER_HASH_LEN);
	return cer_anchor_store(run->tok, run->anchor, errmsg, errlen);
}

signet_err cer_run_intent(cer_run *run, char *errmsg, size_t errlen)
{
	cer_log_entry e;
	uint8_t none[CER_HASH_LEN] = {0};
	memcpy(run->outputs, none, CER_HASH_LEN);
	char why[CER_ERRMSG_MAX] = "";
	signet_err err = log_entry(run, "started", &e, why, sizeof(why));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err,
				"the transcript could not be written: nothing done (%s)", why);
	run->started = true;
	run->intent_seq = e.seq;
	memcpy(run->intent_hash, e.hash, CER_HASH_LEN);
	if (run->tok == NULL)
		return SIGNET_OK; /* init-token anchors once the token exists */
	err = cer_anchor_add_executed(run->anchor, run->r->nonce, run->r->not_after, run->now,
				      errmsg, errlen);
	if (err == SIGNET_OK)
		err = anchor_follow(run, &e, run->log_entries + 1, errmsg, errlen);
	/* Not anchored (someone wrote the transcript meanwhile, or the token
	 * write failed): the outcome goes on record only, so the anchor never
	 * vouches for entries it did not check. */
	if (err != SIGNET_OK)
		run->anchored = false;
	return err;
}

static signet_err load_approvals(const cer_exec *x, cer_approval **out, char *errmsg, size_t errlen)
{
	*out = calloc(x->napprovals ? x->napprovals : 1, sizeof(**out));
	if (*out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	if (x->napprovals > 4 * CER_OPERATORS_MAX)
		return cer_fail(errmsg, errlen, SIGNET_ERANGE, "too many approval files");
	for (size_t i = 0; i < x->napprovals; i++) {
		signet_err err = cer_approval_read(x->approvals[i], &(*out)[i], errmsg, errlen);
		if (err != SIGNET_OK)
			return err;
	}
	return SIGNET_OK;
}

/* The module comes from the machine; the policy only says which it expects. */
static signet_err module_check(const cer_policy *p, const cer_config *c, char *errmsg,
			       size_t errlen)
{
	if (strcmp(p->module, c->module) != 0)
		return cer_fail(errmsg, errlen, SIGNET_EDENIED,
				"module mismatch: the policy names the PKCS#11 "
				"module %s, this machine's configuration (%s) names %s",
				p->module, c->path, c->module);
	if (p->has_module_sha256 && memcmp(p->module_sha256, c->module_sha256, CER_HASH_LEN) != 0)
		return cer_fail(errmsg, errlen, SIGNET_EDENIED,
				"module mismatch: the PKCS#11 module %s is not the "
				"file whose SHA-256 the policy records (changed or replaced)",
				c->module);
	return SIGNET_OK;
}

/* Open the module and the KSK token with the PIN the shares give. */
static signet_err open_token(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	sg_secret *pin = NULL;
	char label[33] = "", serial[17] = "";
	bool reshare = strcmp(run->r->op, CER_OP_RESHARE) == 0;
	signet_err err = cer_shares_open(run->p, x->shares, x->nshares, x->passes, x->npasses,
					 reshare, false, &pin, label, serial, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	if (strcmp(label, run->p->label) != 0) {
		sg_secret_free(pin);
		return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				"the shares are for token \"%s\", the policy "
				"names \"%s\"",
				label, run->p->label);
	}
	err = hsm_token_open(run->ctx, NULL, serial, pin, &run->tok, hsmerr, sizeof(hsmerr));
	/* create-domain logs out for the SO and must log in again. */
	if (err == SIGNET_OK && strcmp(run->r->op, CER_OP_CREATE_DOMAIN) == 0)
		run->user_pin = pin;
	else
		sg_secret_free(pin);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "cannot open the KSK token (serial %s): %s",
				serial, hsmerr);
	hsm_token_desc d;
	err = hsm_token_describe(run->tok, &d, hsmerr, sizeof(hsmerr));
	if (err == SIGNET_OK && strcmp(d.label, run->p->label) != 0)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "token serial %s has label \"%s\", the policy "
			       "names \"%s\"",
			       serial, d.label, run->p->label);
	return err;
}

/* The directory against an anchor: the policy (or an adopted change of it)
 * and the transcript. */
static signet_err state_check(cer_run *run, const cer_anchor *a, bool *changed, char *errmsg,
			      size_t errlen)
{
	signet_err err = cer_anchor_check_policy(a, run->p, changed, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_anchor_check_log(a, run->log, run->p, &run->log_entries, NULL, errmsg,
					   errlen);
	return err;
}

static signet_err replay_check(cer_run *run, const cer_anchor *a, char *errmsg, size_t errlen)
{
	if (cer_anchor_executed(a, run->r->nonce))
		return cer_fail(errmsg, errlen, SIGNET_ESTATE,
				"replay: this request (nonce recorded in the token "
				"anchor) was executed already; a request runs once");
	return SIGNET_OK;
}

/* Everything that needs neither share nor PIN, against the public copy of
 * the anchor. *mismatch says the directory disagrees with the token. */
static signet_err precheck(cer_run *run, bool *mismatch, char *errmsg, size_t errlen)
{
	*mismatch = false;
	cer_anchor *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	char serial[17];
	/* init-token makes the token: it refuses a label in use itself. */
	if (strcmp(run->r->op, CER_OP_INIT_TOKEN) == 0) {
		free(a);
		return SIGNET_OK;
	}
	signet_err err = cer_anchor_load_public(run->ctx, run->p->label, a, serial, errmsg, errlen);
	if (err == SIGNET_ENOTFOUND) {
		/* No public copy (or no such token): the private anchor, read
		 * after the login, decides; the copy is written again then. */
		sg_log(SG_LOG_WARNING,
		       "no public copy of the ceremony anchor in token \"%s\" "
		       "(%s): the token is checked after the login",
		       run->p->label, errmsg);
		free(a);
		return SIGNET_OK;
	}
	bool changed = false;
	if (err == SIGNET_OK) {
		err = state_check(run, a, &changed, errmsg, errlen);
		*mismatch = err != SIGNET_OK;
	}
	if (err == SIGNET_OK)
		err = replay_check(run, a, errmsg, errlen);
	free(a);
	return err;
}

/* Load config, policy and request; check the request, the approvals and
 * the module. Sets run and, after the request is known, *logged (from then
 * on a refusal goes on record). */
static signet_err prepare(cer_run *run, const cer_exec *x, cer_config *cfg, cer_policy *p,
			  cer_request *r, sg_buf *approvers, const cer_op **op, bool *logged,
			  char *errmsg, size_t errlen)
{
	cer_approval *appr = NULL;
	signet_err err = cer_config_load(x->config, cfg, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_policy_load(x->dir, p, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_request_read(x->request, r, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	run->x = x;
	run->p = p;
	run->r = r;
	run->now = x->now != 0 ? x->now : (int64_t)time(NULL);
	snprintf(run->zone, sizeof(run->zone), "-");
	if (r->has_zone && dns_name_to_str(&r->zone, run->zone, sizeof(run->zone)) != SIGNET_OK)
		snprintf(run->zone, sizeof(run->zone), "-");
	if ((size_t)snprintf(run->log, sizeof(run->log), "%s/transcript.log", x->dir) >=
	    sizeof(run->log))
		return cer_fail(errmsg, errlen, SIGNET_ERANGE, "ceremony directory path too long");
	*logged = true;
	*op = op_find(r->op);
	if (*op == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "unknown operation %s", r->op);
	if (memcmp(r->policy, p->hash, CER_HASH_LEN) != 0)
		return cer_fail(errmsg, errlen, SIGNET_ESTATE,
				"the request was made under another policy than "
				"the installed one");
	if (run->now < r->not_before || run->now > r->not_after)
		return cer_fail(errmsg, errlen, SIGNET_ETIME,
				"the request is valid from %lld to %lld; now is %lld "
				"(%s)",
				(long long)r->not_before, (long long)r->not_after,
				(long long)run->now,
				run->now > r->not_after ? "expired" : "not yet valid");
	err = load_approvals(x, &appr, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_approvals_check(p, r, appr, x->napprovals, approvers, errmsg, errlen);
	free(appr);
	run->approvers = (const char *)approvers->data;
	if (err == SIGNET_OK)
		err = module_check(p, cfg, errmsg, errlen);
	return err;
}

static signet_err open_module(cer_run *run, const cer_config *cfg, bool *own, char *errmsg,
			      size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	run->ctx = run->x->hsm;
	if (run->ctx != NULL)
		return SIGNET_OK;
	signet_err err = hsm_open_args(cfg->module, cfg->module_args[0] ? cfg->module_args : NULL,
				       &run->ctx, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "cannot load the PKCS#11 module %s: %s",
				cfg->module, hsmerr);
	*own = true;
	return SIGNET_OK;
}

signet_err cer_execute_precheck(const cer_exec *x, char *errmsg, size_t errlen)
{
	if (x == NULL || x->dir == NULL || x->request == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"execute: ceremony directory and request needed");
	cer_config *cfg = calloc(1, sizeof(*cfg));
	cer_policy *p = calloc(1, sizeof(*p));
	cer_request *r = calloc(1, sizeof(*r));
	cer_run run;
	memset(&run, 0, sizeof(run));
	bool own = false, mismatch = false;
	signet_err err = SIGNET_OK;
	if (cfg == NULL || p == NULL || r == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	run.x = x;
	if (err == SIGNET_OK)
		err = cer_config_load(x->config, cfg, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_policy_load(x->dir, p, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_request_read(x->request, r, errmsg, errlen);
	if (err == SIGNET_OK) {
		run.p = p;
		run.r = r;
		run.now = x->now != 0 ? x->now : (int64_t)time(NULL);
		snprintf(run.log, sizeof(run.log), "%s/transcript.log", x->dir);
		if (memcmp(r->policy, p->hash, CER_HASH_LEN) != 0)
			err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
				       "the request was made under another policy "
				       "than the installed one");
		else if (run.now < r->not_before || run.now > r->not_after)
			err = cer_fail(errmsg, errlen, SIGNET_ETIME,
				       "the request is not valid now (%s)",
				       run.now > r->not_after ? "expired" : "not yet valid");
	}
	if (err == SIGNET_OK)
		err = module_check(p, cfg, errmsg, errlen);
	if (err == SIGNET_OK)
		err = open_module(&run, cfg, &own, errmsg, errlen);
	if (err == SIGNET_OK)
		err = precheck(&run, &mismatch, errmsg, errlen);
	if (own)
		hsm_close(run.ctx);
	free(cfg);
	free(p);
	free(r);
	return err;
}

/* After the operation: its outcome on record, then in the anchor. */
static signet_err outcome(cer_run *run, signet_err result, char *errmsg, size_t errlen)
{
	/* The reason of a failed operation survives the transcript's. */
	char saved[CER_ERRMSG_MAX];
	snprintf(saved, sizeof(saved), "%s", result != SIGNET_OK ? errmsg : "");
	char why[CER_ERRMSG_MAX];
	cer_log_entry e;
	signet_err err = log_entry(run, result == SIGNET_OK ? "ok" : signet_errname(result), &e,
				   why, sizeof(why));
	if (err != SIGNET_OK) {
		cer_fail(errmsg, errlen, err,
			 "the transcript could not be written: %s (its intent is on record)",
			 result == SIGNET_OK ? "output withheld" : saved);
		return result != SIGNET_OK ? result : err;
	}
	if (run->tok != NULL && run->anchored) {
		signet_err aerr = anchor_follow(run, &e, run->intent_seq + 1, why, sizeof(why));
		if (aerr != SIGNET_OK) {
			cer_fail(errmsg, errlen, aerr,
				 "the outcome is on record but the token anchor could not "
				 "be updated (the next execution anchors it): %s",
				 result == SIGNET_OK ? "output withheld" : saved);
			return result != SIGNET_OK ? result : aerr;
		}
	}
	return result;
}

signet_err cer_execute(const cer_exec *x, char *errmsg, size_t errlen)
{
	if (x == NULL || x->dir == NULL || x->request == NULL ||
	    (x->approvals == NULL && x->napprovals) || (x->shares == NULL && x->nshares) ||
	    (x->passes == NULL && x->npasses) || (x->so_shares == NULL && x->nso_shares))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"execute: ceremony directory and request needed");
	cer_config *cfg = calloc(1, sizeof(*cfg));
	cer_policy *p = calloc(1, sizeof(*p));
	cer_request *r = calloc(1, sizeof(*r));
	cer_anchor *anchor = calloc(1, sizeof(*anchor));
	sg_buf approvers = SG_BUF_INIT;
	cer_run run;
	memset(&run, 0, sizeof(run));
	run.anchor = anchor;
	bool own_ctx = false, logged = false, mismatch = false;
	const cer_op *op = NULL;
	signet_err err = (cfg == NULL || p == NULL || r == NULL || anchor == NULL)
				 ? cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory")
				 : prepare(&run, x, cfg, p, r, &approvers, &op, &logged, errmsg,
					   errlen);
	if (err == SIGNET_OK)
		err = open_module(&run, cfg, &own_ctx, errmsg, errlen);
	/* A replay, a copied-in policy or a damaged transcript is refused here,
	 * before any share is opened. */
	if (err == SIGNET_OK)
		err = precheck(&run, &mismatch, errmsg, errlen);
	if (err == SIGNET_OK && op->check != NULL)
		err = op->check(&run, errmsg, errlen);
	if (err == SIGNET_OK && op->needs_shares) {
		bool changed = false;
		err = open_token(&run, errmsg, errlen);
		if (err == SIGNET_OK)
			err = cer_anchor_load(run.tok, anchor, errmsg, errlen);
		if (err == SIGNET_OK) {
			err = state_check(&run, anchor, &changed, errmsg, errlen);
			mismatch = err != SIGNET_OK;
		}
		if (err == SIGNET_OK)
			err = replay_check(&run, anchor, errmsg, errlen);
		if (err == SIGNET_OK && op->ready != NULL)
			err = op->ready(&run, errmsg, errlen);
		if (err == SIGNET_OK) {
			run.anchored = true;
			if (changed)
				cer_anchor_set_policy(anchor, p);
			err = cer_run_intent(&run, errmsg, errlen);
		}
	} else if (err == SIGNET_OK) {
		/* init-token records its intent itself, before the token exists. */
		run.anchored = false;
	}
	if (err == SIGNET_OK) {
		err = op->perform(&run, errmsg, errlen);
		if (err == SIGNET_OK && run.out.len > 0)
			err = cer_sha256(run.out.data, run.out.len, run.outputs, errmsg, errlen);
		err = outcome(&run, err, errmsg, errlen);
		if (err == SIGNET_OK && run.out.len > 0) {
			if (x->out == NULL)
				err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
					       "no output file given");
			else if ((err = sg_file_write_atomic(x->out, run.out.data, run.out.len,
							     0644)) != SIGNET_OK)
				cer_fail(errmsg, errlen, err, "%s: cannot write the output",
					 x->out);
		}
	} else if (run.started) {
		err = outcome(&run, err, errmsg, errlen);
	} else if (logged && !mismatch) {
		log_refusal(&run, err);
	}
	hsm_token_close(run.tok);
	sg_secret_free(run.so_pin);
	sg_secret_free(run.user_pin);
	sg_secret_free(run.domain_key);
	if (own_ctx)
		hsm_close(run.ctx);
	dns_keyset_free(&run.keyset);
	sg_buf_free(&run.keyset_text);
	sg_buf_free(&run.out);
	sg_buf_free(&approvers);
	free(cfg);
	free(p);
	free(r);
	free(anchor);
	return err;
}
