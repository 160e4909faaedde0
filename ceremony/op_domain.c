/* op_domain.c -- the backup domain: create-domain makes its key in locked memory, splits it
 * M-of-N into recovery shares sealed per operator, and installs it, trusted, in the KSK
 * token as the SO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ceremony/internal.h"

void cer_domain_serial(const uint8_t id[HSM_ID_LEN], char serial[17])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < 8; i++) {
		serial[2 * i] = hex[id[i] >> 4];
		serial[2 * i + 1] = hex[id[i] & 15];
	}
	serial[16] = '\0';
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

signet_err cer_domain_key_from_hex(const sg_secret *hex, sg_secret **key, uint8_t id[HSM_ID_LEN],
				   char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	*key = NULL;
	if (hex == NULL || hex->len != 2 * HSM_DOMAIN_KEY_LEN)
		return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				"the domain secret has the wrong length");
	sg_secret *k = NULL;
	signet_err err = sg_secret_new(HSM_DOMAIN_KEY_LEN, &k);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "out of locked memory");
	for (size_t i = 0; i < HSM_DOMAIN_KEY_LEN; i++) {
		int hi = hexval(hex->data[2 * i]), lo = hexval(hex->data[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			sg_secret_free(k);
			return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
					"the domain secret is not hex");
		}
		k->data[i] = (uint8_t)(hi << 4 | lo);
	}
	k->len = HSM_DOMAIN_KEY_LEN;
	err = hsm_domain_id(k, id, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK) {
		sg_secret_free(k);
		return cer_fail(errmsg, errlen, err, "%s", hsmerr);
	}
	*key = k;
	return SIGNET_OK;
}

signet_err cer_domain_generate(sg_secret **hex, sg_secret **key, uint8_t id[HSM_ID_LEN],
			       char *errmsg, size_t errlen)
{
	static const char digits[] = "0123456789abcdef";
	*hex = NULL;
	*key = NULL;
	uint8_t raw[HSM_DOMAIN_KEY_LEN];
	if (RAND_priv_bytes(raw, sizeof(raw)) != 1)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "no randomness for the domain key");
	sg_secret *h = NULL;
	signet_err err = sg_secret_new(2 * HSM_DOMAIN_KEY_LEN, &h);
	if (err == SIGNET_OK) {
		for (size_t i = 0; i < sizeof(raw); i++) {
			h->data[2 * i] = (uint8_t)digits[raw[i] >> 4];
			h->data[2 * i + 1] = (uint8_t)digits[raw[i] & 15];
		}
		h->len = 2 * HSM_DOMAIN_KEY_LEN;
		h->data[h->len] = '\0';
		err = cer_domain_key_from_hex(h, key, id, errmsg, errlen);
	}
	sg_wipe(raw, sizeof(raw));
	if (err != SIGNET_OK) {
		sg_secret_free(h);
		return err;
	}
	*hex = h;
	return SIGNET_OK;
}

static void domain_shares_remove(cer_run *run)
{
	for (size_t i = 0; i < run->p->count; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s.%s", run->x->shares_out, run->p->ops[i].name,
			 cer_share_suffix(CER_SECRET_DOMAIN));
		(void)remove(path);
	}
}

/* create-domain with recovery shares (--domain-share) recovers the domain
 * into a new KSK token -- the old one lost -- instead of making a new one:
 * the key is rebuilt from M shares and no new shares are written. */
static bool recovering(const cer_run *run)
{
	return run->x->ndomain_shares > 0;
}

static signet_err create_check(cer_run *run, char *errmsg, size_t errlen)
{
	if (run->x->nso_shares == 0)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"create-domain: shares of the SO PIN (--so-share) "
				"are needed: only the SO marks a key trusted");
	if (run->x->shares_out == NULL && !recovering(run))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"create-domain: a directory for the recovery "
				"shares is needed");
	if (run->x->out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"create-domain: an output file (--out) for the "
				"domain's ID is needed");
	/* Everyone seals her own recovery share: checked before the token. */
	for (size_t i = 0; !recovering(run) && i < run->p->count; i++)
		if (cer_pass_find(run->x->passes, run->x->npasses, run->p->ops[i].name) == NULL)
			return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
					"create-domain: every operator seals her "
					"own recovery share; no passphrase for %s",
					run->p->ops[i].name);
	return SIGNET_OK;
}

/* The SO split opens before the intent, and the token must hold no domain:
 * a refusal here spends nothing. */
static signet_err create_ready(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	char label[33] = "", serial[17] = "";
	hsm_token_desc d;
	signet_err err = hsm_token_describe(run->tok, &d, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "create-domain: %s", hsmerr);
	uint8_t have[HSM_ID_LEN];
	err = hsm_domain_find(run->tok, have, hsmerr, sizeof(hsmerr));
	if (err == SIGNET_OK || err == SIGNET_ESTATE || err == SIGNET_EHSM_KEY)
		return cer_fail(errmsg, errlen, SIGNET_EEXIST,
				"create-domain: the KSK token holds a backup "
				"domain already");
	if (err != SIGNET_ENOTFOUND)
		return cer_fail(errmsg, errlen, err, "create-domain: %s", hsmerr);
	err = cer_shares_open(run->p, x->so_shares, x->nso_shares, x->passes, x->npasses, false,
			      CER_SECRET_SO, &run->so_pin, label, serial, errmsg, errlen);
	if (err == SIGNET_OK && strcmp(serial, d.serial) != 0)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "create-domain: the SO shares are for token %s, "
			       "not %s",
			       serial, d.serial);
	uint8_t id[HSM_ID_LEN];
	if (err == SIGNET_OK && recovering(run))
		err = cer_domain_shares_combine(run->p, x->domain_shares, x->ndomain_shares,
						x->passes, x->npasses, &run->domain_key, id, errmsg,
						errlen);
	return err;
}

/* The key exists whole only here, in locked memory: split first (if the
 * shares cannot be written, the token is left without a domain), then
 * installed by the SO. The user's login must be dropped for the SO's and
 * taken again to record the outcome. */
static signet_err create_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	hsm_token_desc d;
	signet_err err = hsm_token_describe(run->tok, &d, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "create-domain: %s", hsmerr);
	if (run->user_pin == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ESTATE,
				"create-domain: the user PIN was not kept");
	sg_secret *hex = NULL, *key = NULL;
	uint8_t id[HSM_ID_LEN];
	char dserial[17];
	if (recovering(run)) {
		/* Rebuilt in create_ready; the shares the operators hold stay. */
		key = run->domain_key;
		run->domain_key = NULL;
		err = key != NULL ? hsm_domain_id(key, id, hsmerr, sizeof(hsmerr))
				  : cer_fail(errmsg, errlen, SIGNET_ESTATE,
					     "create-domain: no recovered key");
	} else {
		err = cer_domain_generate(&hex, &key, id, errmsg, errlen);
	}
	if (err == SIGNET_OK && !recovering(run)) {
		cer_domain_serial(id, dserial);
		err = cer_shares_split(run->p, hex, CER_DOMAIN_SPLIT_LABEL, dserial, x->passes,
				       x->npasses, x->shares_out, CER_SECRET_DOMAIN, errmsg,
				       errlen);
	}
	sg_secret_free(hex);
	if (err == SIGNET_OK) {
		hsm_token_close(run->tok);
		run->tok = NULL;
		err = hsm_domain_install(run->ctx, d.serial, run->so_pin, key, hsmerr,
					 sizeof(hsmerr));
		if (err != SIGNET_OK) {
			cer_fail(errmsg, errlen, err, "create-domain: installing the domain: %s",
				 hsmerr);
			if (!recovering(run))
				domain_shares_remove(run);
		}
		signet_err oerr = hsm_token_open(run->ctx, NULL, d.serial, run->user_pin, &run->tok,
						 hsmerr, sizeof(hsmerr));
		if (oerr != SIGNET_OK) {
			run->anchored = false;
			if (err == SIGNET_OK)
				err = cer_fail(errmsg, errlen, oerr,
					       "create-domain: the domain is installed but the "
					       "token does not open again: %s",
					       hsmerr);
		}
	}
	sg_secret_free(key);
	uint8_t found[HSM_ID_LEN];
	if (err == SIGNET_OK &&
	    (err = hsm_domain_find(run->tok, found, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err,
			 "create-domain: the installed domain is not usable: %s", hsmerr);
	if (err == SIGNET_OK && memcmp(found, id, HSM_ID_LEN) != 0)
		err = cer_fail(errmsg, errlen, SIGNET_EHSM_KEY,
			       "create-domain: the token holds another domain");
	/* The output names the domain (its ID), for the operators' records and
	 * for signetd's configuration; it holds nothing secret. */
	if (err == SIGNET_OK) {
		err = sg_buf_printf(&run->out, "signet-backup-domain 1\n");
		if (err == SIGNET_OK)
			err = cer_put_hex(&run->out, "domain-id", id, HSM_ID_LEN);
		if (err == SIGNET_OK)
			err = sg_buf_printf(&run->out, "threshold %u\ncount %zu\n",
					    run->p->threshold, run->p->count);
		if (err == SIGNET_OK && recovering(run))
			err = sg_buf_printf(&run->out, "recovered-from-shares %zu\n",
					    run->x->ndomain_shares);
	}
	return err;
}

const cer_op cer_op_create_domain = {CER_OP_CREATE_DOMAIN, true, create_check, create_perform,
				     create_ready};

/* install-domain: the domain, rebuilt from M recovery shares in locked
 * memory, installed trusted by the SO of another token of the same module
 * (a signetd's ZSK token, a standby's KSK token), named by the request's
 * "token-label" so that the approvals name it too. The KSK token must hold
 * the same domain: shares of another domain are refused. */
static signet_err install_check(cer_run *run, char *errmsg, size_t errlen)
{
	const char *label = cer_request_param(run->r, "token-label");
	if (label == NULL || strlen(label) == 0 || strlen(label) > 32)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"install-domain: parameter token-label (the "
				"receiving token) is missing");
	if (strcmp(label, run->p->label) == 0)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"install-domain: the KSK token holds its domain "
				"already");
	if (run->x->ndomain_shares == 0)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"install-domain: recovery shares of the domain "
				"(--domain-share) are needed");
	if (run->x->adopt_so_pin == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"install-domain: the receiving token's SO PIN "
				"(--so-pin) is needed");
	if (run->x->out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"install-domain: an output file (--out) is needed");
	return SIGNET_OK;
}

static signet_err install_ready(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const cer_exec *x = run->x;
	uint8_t have[HSM_ID_LEN], id[HSM_ID_LEN];
	signet_err err = hsm_domain_find(run->tok, have, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err,
				"install-domain: the KSK token holds no usable backup domain: "
				"%s",
				hsmerr);
	err = cer_domain_shares_combine(run->p, x->domain_shares, x->ndomain_shares, x->passes,
					x->npasses, &run->domain_key, id, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	if (memcmp(have, id, HSM_ID_LEN) != 0)
		return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				"install-domain: the shares rebuild another domain "
				"than the KSK token's");
	return SIGNET_OK;
}

static signet_err install_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	const char *label = cer_request_param(run->r, "token-label");
	hsm_token_desc *d = NULL;
	size_t n = 0, found = 0;
	char serial[17] = "";
	signet_err err = hsm_list_tokens(run->ctx, &d, &n, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "install-domain: %s", hsmerr);
	for (size_t i = 0; i < n; i++)
		if (d[i].initialized && strcmp(d[i].label, label) == 0) {
			memcpy(serial, d[i].serial, sizeof(serial));
			found++;
		}
	free(d);
	if (found != 1)
		return cer_fail(errmsg, errlen, SIGNET_ENOTFOUND,
				"install-domain: %zu tokens labelled \"%s\", one "
				"needed",
				found, label);
	err = hsm_domain_install(run->ctx, serial, run->x->adopt_so_pin, run->domain_key, hsmerr,
				 sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "install-domain: token \"%s\": %s", label,
				hsmerr);
	uint8_t id[HSM_ID_LEN];
	err = hsm_domain_id(run->domain_key, id, hsmerr, sizeof(hsmerr));
	if (err == SIGNET_OK)
		err = sg_buf_printf(&run->out, "signet-backup-domain 1\n");
	if (err == SIGNET_OK)
		err = cer_put_hex(&run->out, "domain-id", id, HSM_ID_LEN);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&run->out, "installed-in %s %s\n", label, serial);
	return err;
}

const cer_op cer_op_install_domain = {CER_OP_INSTALL_DOMAIN, true, install_check, install_perform,
				      install_ready};
