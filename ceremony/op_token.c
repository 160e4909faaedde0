/* op_token.c -- the KSK token PIN: init-token (first split) and reshare (new PIN, new split). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony/internal.h"

/* The outputs of a split for the log: the hash over every share file. */
static signet_err shares_hash(cer_run *run)
{
	sg_buf all = SG_BUF_INIT;
	signet_err err = SIGNET_OK;
	for (size_t i = 0; i < run->p->count && err == SIGNET_OK; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s.share", run->x->shares_out,
			 run->p->ops[i].name);
		err = sg_file_read(path, CER_FILE_MAX, &all);
	}
	if (err == SIGNET_OK)
		err = cer_sha256(all.data, all.len, run->outputs);
	sg_buf_free(&all);
	return err;
}

static void shares_remove(cer_run *run)
{
	for (size_t i = 0; i < run->p->count; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s.share", run->x->shares_out,
			 run->p->ops[i].name);
		(void)remove(path);
	}
}

static signet_err split_check(cer_run *run)
{
	if (run->x->shares_out == NULL)
		return cer_fail(SIGNET_EINVAL, "%s: a directory for the new shares is needed",
				run->r->op);
	/* Everyone must be here to seal her share: checked before the token. */
	for (size_t i = 0; i < run->p->count; i++)
		if (cer_pass_find(run->x->passes, run->x->npasses, run->p->ops[i].name) == NULL)
			return cer_fail(SIGNET_EQUORUM, "%s: every operator seals her own share; "
					"no passphrase for %s", run->r->op, run->p->ops[i].name);
	return SIGNET_OK;
}

static signet_err init_check(cer_run *run)
{
	if ((run->x->so_pin == NULL) == (run->x->current_pin == NULL))
		return cer_fail(SIGNET_EINVAL, "init-token: give either the SO PIN (a fresh "
				"token) or the current user PIN (a token set up already)");
	return split_check(run);
}

static signet_err find_serial(hsm_ctx *ctx, const char *label, char serial[17], size_t *n)
{
	hsm_token_desc *d = NULL;
	size_t count = 0;
	signet_err err = hsm_list_tokens(ctx, &d, &count);
	if (err != SIGNET_OK)
		return cer_fail(err, "cannot list tokens: %s", hsm_last_error());
	*n = 0;
	for (size_t i = 0; i < count; i++)
		if (d[i].initialized && strcmp(d[i].label, label) == 0) {
			memcpy(serial, d[i].serial, sizeof(d[i].serial));
			(*n)++;
		}
	free(d);
	return SIGNET_OK;
}

static signet_err init_perform(cer_run *run)
{
	const cer_exec *x = run->x;
	sg_secret *pin = NULL;
	char serial[17] = "";
	size_t found = 0;
	signet_err err = find_serial(run->ctx, run->p->label, serial, &found);
	if (err != SIGNET_OK)
		return err;
	if (x->so_pin != NULL && found != 0)
		return cer_fail(SIGNET_EEXIST, "init-token: a token labelled \"%s\" exists already",
				run->p->label);
	if (x->current_pin != NULL && found != 1)
		return cer_fail(SIGNET_ENOTFOUND, "init-token: %zu tokens labelled \"%s\", one "
				"needed", found, run->p->label);
	err = cer_pin_generate(&pin);
	if (err != SIGNET_OK)
		return err;
	if (x->so_pin != NULL) {
		/* A fresh token gets its serial only now; if the shares cannot
		 * be written after this, the token holds nothing and can be
		 * initialised again. */
		err = hsm_token_initialize(run->ctx, run->p->label, x->so_pin, pin);
		if (err != SIGNET_OK)
			cer_fail(err, "init-token: %s", hsm_last_error());
		if (err == SIGNET_OK)
			err = find_serial(run->ctx, run->p->label, serial, &found);
		if (err == SIGNET_OK)
			err = cer_shares_split(run->p, pin, run->p->label, serial, x->passes,
					       x->npasses, x->shares_out);
	} else {
		/* The shares exist before the PIN changes, so no moment leaves
		 * the token with a PIN nobody holds. */
		hsm_token *t = NULL;
		err = hsm_token_open(run->ctx, NULL, serial, x->current_pin, &t);
		if (err != SIGNET_OK)
			cer_fail(err, "init-token: cannot log in with the current PIN: %s",
				 hsm_last_error());
		if (err == SIGNET_OK)
			err = cer_shares_split(run->p, pin, run->p->label, serial, x->passes,
					       x->npasses, x->shares_out);
		if (err == SIGNET_OK && (err = hsm_token_set_pin(t, pin)) != SIGNET_OK) {
			cer_fail(err, "init-token: setting the PIN failed: %s", hsm_last_error());
			shares_remove(run);
		}
		hsm_token_close(t);
	}
	sg_secret_free(pin);
	if (err == SIGNET_OK)
		err = shares_hash(run);
	return err;
}

const cer_op cer_op_init_token = {CER_OP_INIT_TOKEN, false, init_check, init_perform};

static signet_err reshare_perform(cer_run *run)
{
	hsm_token_desc d;
	signet_err err = hsm_token_describe(run->tok, &d);
	if (err != SIGNET_OK)
		return cer_fail(err, "reshare: %s", hsm_last_error());
	sg_secret *pin = NULL;
	err = cer_pin_generate(&pin);
	if (err == SIGNET_OK)
		err = cer_shares_split(run->p, pin, run->p->label, d.serial, run->x->passes,
				       run->x->npasses, run->x->shares_out);
	if (err == SIGNET_OK && (err = hsm_token_set_pin(run->tok, pin)) != SIGNET_OK) {
		cer_fail(err, "reshare: setting the new PIN failed (the old shares still "
			 "hold): %s", hsm_last_error());
		shares_remove(run);
	}
	sg_secret_free(pin);
	if (err == SIGNET_OK)
		err = shares_hash(run);
	return err;
}

const cer_op cer_op_reshare = {CER_OP_RESHARE, true, split_check, reshare_perform};
