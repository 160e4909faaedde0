/* op_token.c -- the KSK token's PINs: init-token, reshare, reset-user-pin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony/internal.h"

/* The outputs of a split for the log: the hash over every new share file. */
static signet_err shares_hash(cer_run *run, bool with_so, char *errmsg, size_t errlen)
{
	sg_buf all = SG_BUF_INIT;
	signet_err err = SIGNET_OK;
	for (int so = 0; so <= (with_so ? 1 : 0); so++)
		for (size_t i = 0; i < run->p->count && err == SIGNET_OK; i++) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/%s.%s", run->x->shares_out,
				 run->p->ops[i].name, so ? "so-share" : "share");
			err = sg_file_read(path, CER_FILE_MAX, &all);
		}
	if (err == SIGNET_OK)
		err = cer_sha256(all.data, all.len, run->outputs, errmsg, errlen);
	sg_buf_free(&all);
	return err;
}

static void shares_remove(cer_run *run, bool so)
{
	for (size_t i = 0; i < run->p->count; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s.%s", run->x->shares_out, run->p->ops[i].name,
			 so ? "so-share" : "share");
		(void)remove(path);
	}
}

static signet_err split_check(cer_run *run, char *errmsg, size_t errlen)
{
	if (run->x->shares_out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"%s: a directory for the new shares is needed", run->r->op);
	/* Everyone must be here to seal her share: checked before the token. */
	for (size_t i = 0; i < run->p->count; i++)
		if (cer_pass_find(run->x->passes, run->x->npasses, run->p->ops[i].name) == NULL)
			return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
					"%s: every operator seals her own share; "
					"no passphrase for %s",
					run->r->op, run->p->ops[i].name);
	return SIGNET_OK;
}

static signet_err find_serial(hsm_ctx *ctx, const char *label, char serial[17], size_t *n,
			      char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	hsm_token_desc *d = NULL;
	size_t count = 0;
	signet_err err = hsm_list_tokens(ctx, &d, &count, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "cannot list tokens: %s", hsmerr);
	*n = 0;
	for (size_t i = 0; i < count; i++)
		if (d[i].initialized && strcmp(d[i].label, label) == 0) {
			memcpy(serial, d[i].serial, sizeof(d[i].serial));
			(*n)++;
		}
	free(d);
	return SIGNET_OK;
}

/* The token's first anchor: the policy, the transcript up to the intent,
 * the request's nonce. */
static signet_err first_anchor(cer_run *run, char *errmsg, size_t errlen)
{
	cer_anchor *a = run->anchor;
	memset(a, 0, sizeof(*a));
	cer_anchor_set_policy(a, run->p);
	a->entries = run->intent_seq;
	memcpy(a->head, run->intent_hash, CER_HASH_LEN);
	signet_err err = cer_anchor_add_executed(a, run->r->nonce, run->r->not_after, run->now,
						 errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_anchor_store(run->tok, a, errmsg, errlen);
	if (err == SIGNET_OK)
		run->anchored = true;
	return err;
}

/* A token initialised elsewhere (a vendor's tool made it, someone knows its
 * SO PIN): both PINs are replaced by random ones at once, split like a fresh
 * token's, and the given SO PIN opens nothing any more. It must hold no
 * object: keys planted before the ceremony owned it would pass for its own. */
static signet_err adopt_perform(cer_run *run, const char *serial, size_t found, char *errmsg,
				size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	if (found != 1)
		return cer_fail(errmsg, errlen, SIGNET_ENOTFOUND,
				"init-token: %zu tokens labelled \"%s\", one "
				"needed to take over",
				found, run->p->label);
	cer_anchor *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	char ser[17];
	signet_err err = cer_anchor_load_public(run->ctx, run->p->label, a, ser, errmsg, errlen);
	free(a);
	if (err != SIGNET_ENOTFOUND)
		return cer_fail(errmsg, errlen, SIGNET_EEXIST,
				"init-token: token \"%s\" has a ceremony anchor "
				"already",
				run->p->label);
	sg_secret *pin = NULL, *so = NULL;
	err = cer_run_intent(run, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_pin_generate(&pin, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_pin_generate(&so, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_shares_split(run->p, pin, run->p->label, serial, x->passes, x->npasses,
				       x->shares_out, false, errmsg, errlen);
	if (err == SIGNET_OK &&
	    (err = cer_shares_split(run->p, so, run->p->label, serial, x->passes, x->npasses,
				    x->shares_out, true, errmsg, errlen)) != SIGNET_OK)
		shares_remove(run, false);
	unsigned changed = 0;
	if (err == SIGNET_OK &&
	    (err = hsm_so_init_pin(run->ctx, serial, x->adopt_so_pin, so, pin, &changed, hsmerr,
				   sizeof(hsmerr))) != SIGNET_OK) {
		cer_fail(errmsg, errlen, err, "init-token: taking over the token: %s", hsmerr);
		/* The shares of a PIN the token took are the only way to it. */
		if ((changed & HSM_PIN_USER) == 0)
			shares_remove(run, false);
		if ((changed & HSM_PIN_SO) == 0)
			shares_remove(run, true);
	}
	if (err == SIGNET_OK && (err = hsm_token_open(run->ctx, NULL, serial, pin, &run->tok,
						      hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "init-token: cannot log in with the new PIN: %s",
			 hsmerr);
	sg_secret_free(pin);
	sg_secret_free(so);
	size_t objects = 0;
	if (err == SIGNET_OK &&
	    (err = hsm_object_count(run->tok, &objects, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "init-token: %s", hsmerr);
	if (err == SIGNET_OK && objects != 0)
		err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
			       "init-token: the token holds %zu objects: not an "
			       "empty token (its PINs were replaced and the new shares hold, but "
			       "it is not anchored: delete it at the HSM)",
			       objects);
	if (err == SIGNET_OK)
		err = first_anchor(run, errmsg, errlen);
	if (err == SIGNET_OK)
		err = shares_hash(run, true, errmsg, errlen);
	return err;
}

static signet_err init_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	sg_secret *pin = NULL, *so = NULL;
	char serial[17] = "";
	size_t found = 0;
	signet_err err = find_serial(run->ctx, run->p->label, serial, &found, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	if (x->adopt_so_pin != NULL)
		return adopt_perform(run, serial, found, errmsg, errlen);
	if (found != 0)
		return cer_fail(errmsg, errlen, SIGNET_EEXIST,
				"init-token: a token labelled \"%s\" exists already",
				run->p->label);
	err = cer_run_intent(run, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_pin_generate(&pin, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_pin_generate(&so, errmsg, errlen);
	/* Both PINs are random and exist whole only here: nobody ever holds
	 * the SO PIN, M operators can rebuild it. A fresh token gets its
	 * serial only now; if the shares cannot be written after this, the
	 * token holds nothing and must be deleted at the HSM (docs). */
	if (err == SIGNET_OK && (err = hsm_token_initialize(run->ctx, run->p->label, so, pin,
							    hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "init-token: %s", hsmerr);
	if (err == SIGNET_OK)
		err = find_serial(run->ctx, run->p->label, serial, &found, errmsg, errlen);
	if (err == SIGNET_OK && found != 1)
		err = cer_fail(errmsg, errlen, SIGNET_EHSM,
			       "init-token: the new token is not found by its label");
	if (err == SIGNET_OK)
		err = cer_shares_split(run->p, pin, run->p->label, serial, x->passes, x->npasses,
				       x->shares_out, false, errmsg, errlen);
	if (err == SIGNET_OK) {
		err = cer_shares_split(run->p, so, run->p->label, serial, x->passes, x->npasses,
				       x->shares_out, true, errmsg, errlen);
		if (err != SIGNET_OK)
			shares_remove(run, false);
	}
	if (err == SIGNET_OK && (err = hsm_token_open(run->ctx, NULL, serial, pin, &run->tok,
						      hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "init-token: cannot log in to the new token: %s",
			 hsmerr);
	sg_secret_free(pin);
	sg_secret_free(so);
	if (err == SIGNET_OK)
		err = first_anchor(run, errmsg, errlen);
	if (err == SIGNET_OK)
		err = shares_hash(run, true, errmsg, errlen);
	return err;
}

const cer_op cer_op_init_token = {CER_OP_INIT_TOKEN, false, split_check, init_perform, NULL};

/* Both PINs anew: the user PIN under the old split's shares, the SO PIN
 * under the old SO split's, so that operators who leave keep nothing that
 * opens the token either way. The SO session cannot share the process with
 * the user's login: the token is closed for it and opened again with the
 * new PIN to record the outcome. */
static signet_err reshare_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	hsm_token_desc d;
	signet_err err = hsm_token_describe(run->tok, &d, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "reshare: %s", hsmerr);
	sg_secret *pin = NULL, *so = NULL;
	err = cer_pin_generate(&pin, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_pin_generate(&so, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_shares_split(run->p, pin, run->p->label, d.serial, x->passes, x->npasses,
				       x->shares_out, false, errmsg, errlen);
	if (err == SIGNET_OK &&
	    (err = cer_shares_split(run->p, so, run->p->label, d.serial, x->passes, x->npasses,
				    x->shares_out, true, errmsg, errlen)) != SIGNET_OK)
		shares_remove(run, false);
	if (err == SIGNET_OK) {
		hsm_token_close(run->tok);
		run->tok = NULL;
		unsigned changed = 0;
		err = hsm_so_init_pin(run->ctx, d.serial, run->so_pin, so, pin, &changed, hsmerr,
				      sizeof(hsmerr));
		if (err != SIGNET_OK) {
			bool user_set = (changed & HSM_PIN_USER) != 0;
			cer_fail(errmsg, errlen, err, "reshare: %s (%s)", hsmerr,
				 user_set ? "the new user shares hold, the old SO shares still hold"
					  : "the old shares still hold");
			/* The shares of a PIN the token took are the only way to it. */
			if ((changed & HSM_PIN_SO) == 0)
				shares_remove(run, true);
			if (!user_set)
				shares_remove(run, false);
		}
		/* Open again with the new PIN to record the outcome in the
		 * anchor; after a failure the outcome goes on record only
		 * (the next execution anchors it). */
		if (err == SIGNET_OK &&
		    (err = hsm_token_open(run->ctx, NULL, d.serial, pin, &run->tok, hsmerr,
					  sizeof(hsmerr))) != SIGNET_OK)
			cer_fail(errmsg, errlen, err,
				 "reshare: both PINs were replaced (the new shares hold) but "
				 "the token does not open with the new one: %s",
				 hsmerr);
		if (err != SIGNET_OK)
			run->anchored = false;
	}
	sg_secret_free(pin);
	sg_secret_free(so);
	if (err == SIGNET_OK)
		err = shares_hash(run, true, errmsg, errlen);
	return err;
}

static signet_err reshare_check(cer_run *run, char *errmsg, size_t errlen)
{
	if (run->x->nso_shares == 0)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"reshare: shares of the SO PIN (--so-share) are "
				"needed too: both PINs are replaced");
	return split_check(run, errmsg, errlen);
}

/* The old SO split opens before the intent: a wrong passphrase spends
 * nothing. Like the user shares of a reshare, it needs what that split
 * itself was made with. */
static signet_err reshare_ready(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	char label[33] = "", serial[17] = "";
	hsm_token_desc d;
	signet_err err = hsm_token_describe(run->tok, &d, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "reshare: %s", hsmerr);
	err = cer_shares_open(run->p, x->so_shares, x->nso_shares, x->passes, x->npasses, true,
			      true, &run->so_pin, label, serial, errmsg, errlen);
	if (err == SIGNET_OK && strcmp(serial, d.serial) != 0)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "reshare: the SO shares are for token %s, not %s", serial, d.serial);
	return err;
}

const cer_op cer_op_reshare = {CER_OP_RESHARE, true, reshare_check, reshare_perform, reshare_ready};

static signet_err reset_check(cer_run *run, char *errmsg, size_t errlen)
{
	if (run->x->nso_shares == 0)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"reset-user-pin: shares of the SO PIN are needed");
	return split_check(run, errmsg, errlen);
}

/* The security officer sets a new user PIN: for a lost user split. The SO
 * sees no private object, so the anchor is read with the new PIN right
 * after; the public copy was checked before anything was asked. */
static signet_err reset_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	sg_secret *so = NULL, *pin = NULL;
	char label[33] = "", serial[17] = "";
	signet_err err = cer_shares_open(run->p, x->so_shares, x->nso_shares, x->passes, x->npasses,
					 false, true, &so, label, serial, errmsg, errlen);
	if (err == SIGNET_OK && strcmp(label, run->p->label) != 0)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "the SO shares are for token \"%s\", the policy "
			       "names \"%s\"",
			       label, run->p->label);
	if (err == SIGNET_OK)
		err = cer_run_intent(run, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_pin_generate(&pin, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_shares_split(run->p, pin, run->p->label, serial, x->passes, x->npasses,
				       x->shares_out, false, errmsg, errlen);
	unsigned pins = 0;
	if (err == SIGNET_OK && (err = hsm_so_init_pin(run->ctx, serial, so, NULL, pin, &pins,
						       hsmerr, sizeof(hsmerr))) != SIGNET_OK) {
		cer_fail(errmsg, errlen, err, "reset-user-pin: %s", hsmerr);
		if ((pins & HSM_PIN_USER) == 0)
			shares_remove(run, false);
	}
	sg_secret_free(so);
	if (err == SIGNET_OK && (err = hsm_token_open(run->ctx, NULL, serial, pin, &run->tok,
						      hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "reset-user-pin: cannot log in with the new PIN: %s",
			 hsmerr);
	sg_secret_free(pin);
	bool changed = false;
	if (err == SIGNET_OK)
		err = cer_anchor_load(run->tok, run->anchor, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_anchor_check_policy(run->anchor, run->p, &changed, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_anchor_check_log(run->anchor, run->log, run->p, NULL, NULL, errmsg,
					   errlen);
	if (err == SIGNET_OK && cer_anchor_executed(run->anchor, run->r->nonce))
		err = cer_fail(errmsg, errlen, SIGNET_ESTATE,
			       "replay: this request was executed already");
	if (err == SIGNET_OK) {
		if (changed)
			cer_anchor_set_policy(run->anchor, run->p);
		run->anchor->entries = run->intent_seq;
		memcpy(run->anchor->head, run->intent_hash, CER_HASH_LEN);
		err = cer_anchor_add_executed(run->anchor, run->r->nonce, run->r->not_after,
					      run->now, errmsg, errlen);
	}
	if (err == SIGNET_OK)
		err = cer_anchor_store(run->tok, run->anchor, errmsg, errlen);
	if (err == SIGNET_OK) {
		run->anchored = true;
		err = shares_hash(run, false, errmsg, errlen);
	}
	return err;
}

const cer_op cer_op_reset_pin = {CER_OP_RESET_PIN, false, reset_check, reset_perform, NULL};
