/* op_ksk.c -- the KSK's life: create-ksk, retire-ksk, delete-ksk, and finding a zone's KSK in the token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "ceremony/internal.h"

bool cer_label_parts(const char *label, char *role, size_t rolelen, char *owner, size_t ownerlen)
{
	if (strncmp(label, "signet:", 7) != 0)
		return false;
	const char *r = label + 7;
	const char *c1 = strchr(r, ':');
	if (c1 == NULL)
		return false;
	const char *c2 = strchr(c1 + 1, ':');
	if (c2 == NULL || (size_t)(c1 - r) >= rolelen || (size_t)(c2 - c1 - 1) >= ownerlen)
		return false;
	memcpy(role, r, (size_t)(c1 - r));
	role[c1 - r] = '\0';
	memcpy(owner, c1 + 1, (size_t)(c2 - c1 - 1));
	owner[c2 - c1 - 1] = '\0';
	return true;
}

signet_err cer_ksk_find(cer_run *run, const uint8_t *id, size_t id_len, bool retired_ok,
			hsm_key_info *info, sg_buf *dnskey, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	signet_err err = hsm_key_find(run->tok, id, id_len, info, hsmerr, sizeof(hsmerr));
	if (err == SIGNET_ENOTFOUND)
		return cer_fail(errmsg, errlen, err, "no key with that key-id in the KSK token");
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "key lookup failed: %s", hsmerr);
	char role[16], owner[DNS_NAME_STR_MAX];
	if (!cer_label_parts(info->label, role, sizeof(role), owner, sizeof(owner)) ||
	    strcmp(role, "ksk") != 0 || strcasecmp(owner, run->zone) != 0)
		return cer_fail(errmsg, errlen, SIGNET_EDENIED, "key %s is not a KSK of %s",
				info->label, run->zone);
	/* The KSK token's user PIN exists only under quorum: a restored KSK
	 * (restore-ksk) is as trustworthy there as one made in it. */
	if (!hsm_key_is_safe(info) && !hsm_key_is_restored(info))
		return cer_fail(errmsg, errlen, SIGNET_EHSM_KEY,
				"key %s is extractable or not sensitive", info->label);
	/* The anchor, not any file of the directory, says what is retired. */
	bool retired = cer_anchor_retired(run->anchor, id, id_len);
	if (retired && !retired_ok)
		return cer_fail(errmsg, errlen, SIGNET_ESTATE, "key %s is retired", info->label);
	if (!retired && retired_ok)
		return cer_fail(errmsg, errlen, SIGNET_ESTATE, "key %s must be retired first",
				info->label);
	if (dnskey == NULL)
		return SIGNET_OK;
	EVP_PKEY *pk = NULL;
	err = hsm_key_public(run->tok, id, id_len, &pk, hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "cannot read the public key: %s", hsmerr);
	sg_buf pub = SG_BUF_INIT;
	err = dns_dnskey_pubkey_from_evp((uint8_t)info->alg, pk, &pub);
	if (err == SIGNET_OK)
		err = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP,
				       (uint8_t)info->alg, pub.data, pub.len, dnskey);
	EVP_PKEY_free(pk);
	sg_buf_free(&pub);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "cannot build the DNSKEY of %s", info->label);
	return SIGNET_OK;
}

/* The "ttl" parameter, 3600 by default. */
static signet_err param_ttl(const cer_request *r, uint32_t *ttl, char *errmsg, size_t errlen)
{
	const char *v = cer_request_param(r, "ttl");
	uint64_t u = 3600;
	if (v != NULL && cer_uint(v, 0, 604800, &u) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "request: ttl must be 0..604800");
	*ttl = (uint32_t)u;
	return SIGNET_OK;
}

/* The key's DNSKEY as a zone-file line with a comment naming it. */
static signet_err key_text(cer_run *run, const hsm_key_info *info, const sg_buf *dnskey,
			   uint32_t ttl, sg_buf *out)
{
	uint16_t tag = 0;
	signet_err err = dns_key_tag(dnskey->data, dnskey->len, &tag);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "; key-id ");
	if (err == SIGNET_OK)
		err = sg_hex_encode(info->id, info->id_len, out);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "\n; label %s\n; key-tag %u algorithm %u\n", info->label,
				    tag, (unsigned)info->alg);
	if (err == SIGNET_OK)
		err = dns_rr_to_text(&run->r->zone, DNS_T_DNSKEY, DNS_CLASS_IN, ttl, dnskey->data,
				     dnskey->len, out);
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(out, '\n');
	return err;
}

static signet_err create_check(cer_run *run, char *errmsg, size_t errlen)
{
	const char *v = cer_request_param(run->r, "algorithm");
	uint64_t alg = 0;
	if (v == NULL || cer_uint(v, 1, 255, &alg) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"create-ksk: parameter algorithm is missing");
	bool allowed = false;
	for (size_t i = 0; i < run->p->nalgs; i++)
		allowed |= run->p->algs[i] == alg;
	if (!allowed)
		return cer_fail(errmsg, errlen, SIGNET_EDENIED,
				"create-ksk: algorithm %llu is not allowed by "
				"the policy",
				(unsigned long long)alg);
	uint32_t ttl;
	signet_err err = param_ttl(run->r, &ttl, errmsg, errlen);
	if (err == SIGNET_OK && run->x->out == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
			       "create-ksk: an output file is needed");
	return err;
}

/* When the KSK token holds a backup domain, a KSK is made extractable only
 * to it, backed up into x->backup_dir and the backup proven (unwrapped into a
 * session object, a signature checked against the public key) before the
 * key is reported at all; a key whose backup fails is destroyed again. */
static signet_err backup_ksk(cer_run *run, const uint8_t domain[HSM_ID_LEN],
			     const hsm_key_info *info, const sg_buf *dnskey, sg_buf *path,
			     char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	uint16_t tag = 0;
	signet_err err = dns_key_tag(dnskey->data, dnskey->len, &tag);
	hsm_backup b;
	memset(&b, 0, sizeof(b));
	if (err == SIGNET_OK &&
	    (err = hsm_backup_make(run->tok, domain, info->id, info->id_len, tag, &b, hsmerr,
				   sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "create-ksk: backing up the key: %s", hsmerr);
	sg_buf text = SG_BUF_INIT, disk = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = hsm_backup_encode(&b, &text, hsmerr, sizeof(hsmerr));
	hsm_backup_free(&b);
	if (err == SIGNET_OK)
		err = sg_buf_printf(path, "%s/ksk-", run->x->backup_dir);
	if (err == SIGNET_OK)
		err = sg_hex_encode(info->id, info->id_len, path);
	if (err == SIGNET_OK)
		err = sg_buf_printf(path, ".backup");
	if (err == SIGNET_OK && (err = sg_file_write_atomic((const char *)path->data, text.data,
							    text.len, 0600)) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "create-ksk: cannot write the backup %s",
			 (const char *)path->data);
	/* What is proven is what the file holds, read back. */
	if (err == SIGNET_OK)
		err = sg_file_read((const char *)path->data, 65536, &disk);
	if (err == SIGNET_OK && (err = hsm_backup_decode(disk.data, disk.len, &b, hsmerr,
							 sizeof(hsmerr))) == SIGNET_OK) {
		if ((err = hsm_backup_prove(run->tok, &b, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
			cer_fail(errmsg, errlen, err, "create-ksk: the backup does not prove: %s",
				 hsmerr);
		hsm_backup_free(&b);
	}
	if (err != SIGNET_OK && path->len > 0)
		(void)remove((const char *)path->data);
	sg_buf_free(&text);
	sg_buf_free(&disk);
	return err;
}

signet_err cer_ksk_backup_proven(cer_run *run, const uint8_t *id, size_t id_len, char *errmsg,
				 size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	uint8_t domain[HSM_ID_LEN];
	signet_err err = hsm_domain_find(run->tok, domain, hsmerr, sizeof(hsmerr));
	if (err == SIGNET_ENOTFOUND)
		return SIGNET_OK;
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err,
				"the KSK token's backup domain is unusable: %s", hsmerr);
	if (run->x->backup_dir == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"the KSK token holds a backup domain: the key's "
				"backup must be proven first (--backup-dir)");
	hsm_key_info info;
	sg_buf dnskey = SG_BUF_INIT, path = SG_BUF_INIT, text = SG_BUF_INIT;
	hsm_backup b;
	memset(&b, 0, sizeof(b));
	uint16_t tag = 0;
	err = cer_ksk_find(run, id, id_len, false, &info, &dnskey, errmsg, errlen);
	if (err == SIGNET_OK)
		err = dns_key_tag(dnskey.data, dnskey.len, &tag);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&path, "%s/ksk-", run->x->backup_dir);
	if (err == SIGNET_OK)
		err = sg_hex_encode(id, id_len, &path);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&path, ".backup");
	if (err == SIGNET_OK &&
	    (err = sg_file_read((const char *)path.data, 65536, &text)) != SIGNET_OK)
		cer_fail(errmsg, errlen, err,
			 "no backup of key %s at %s: a key without a proven backup is not "
			 "used",
			 info.label, (const char *)path.data);
	if (err == SIGNET_OK &&
	    (err = hsm_backup_decode(text.data, text.len, &b, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "backup %s: %s", (const char *)path.data, hsmerr);
	/* The file must be this key's: ID, label, key tag, domain and public key. */
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;
	int dlen = 0;
	if (err == SIGNET_OK &&
	    (err = hsm_key_public(run->tok, id, id_len, &pk, hsmerr, sizeof(hsmerr))) == SIGNET_OK)
		dlen = i2d_PUBKEY(pk, &der);
	EVP_PKEY_free(pk);
	if (err == SIGNET_OK &&
	    (b.id_len != id_len || memcmp(b.id, id, id_len) != 0 ||
	     strcmp(b.label, info.label) != 0 || b.key_tag != tag ||
	     memcmp(b.domain_id, domain, HSM_ID_LEN) != 0 || dlen <= 0 ||
	     (size_t)dlen != b.pub.len || memcmp(der, b.pub.data, b.pub.len) != 0))
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "backup %s is not a backup of key %s in this "
			       "domain",
			       (const char *)path.data, info.label);
	OPENSSL_free(der);
	if (err == SIGNET_OK &&
	    (err = hsm_backup_prove(run->tok, &b, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "backup %s does not prove: %s",
			 (const char *)path.data, hsmerr);
	hsm_backup_free(&b);
	sg_buf_free(&dnskey);
	sg_buf_free(&path);
	sg_buf_free(&text);
	return err;
}

static signet_err create_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	uint64_t alg = 0;
	uint32_t ttl = 0;
	(void)cer_uint(cer_request_param(run->r, "algorithm"), 1, 255, &alg);
	(void)param_ttl(run->r, &ttl, errmsg, errlen);
	char label[HSM_LABEL_MAX + 1];
	signet_err err = hsm_key_label("ksk", run->zone, (hsm_alg)alg, run->now, label,
				       sizeof(label), hsmerr, sizeof(hsmerr));
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "create-ksk: cannot label the key: %s",
				hsmerr);
	uint8_t domain[HSM_ID_LEN];
	signet_err derr = hsm_domain_find(run->tok, domain, hsmerr, sizeof(hsmerr));
	if (derr != SIGNET_OK && derr != SIGNET_ENOTFOUND)
		return cer_fail(errmsg, errlen, derr,
				"create-ksk: the token's backup domain is unusable: %s", hsmerr);
	bool backup = derr == SIGNET_OK;
	if (backup && run->x->backup_dir == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"create-ksk: the KSK token holds a backup domain: "
				"a backup directory (--backup-dir) is needed");
	hsm_token_set_wrappable_keys(run->tok, backup);
	hsm_key_info info;
	err = hsm_key_generate(run->tok, (hsm_alg)alg, 0, label, &info, hsmerr, sizeof(hsmerr));
	hsm_token_set_wrappable_keys(run->tok, false);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "create-ksk: key generation failed: %s",
				hsmerr);
	sg_buf dnskey = SG_BUF_INIT, path = SG_BUF_INIT;
	err = cer_ksk_find(run, info.id, info.id_len, false, &info, &dnskey, errmsg, errlen);
	if (err == SIGNET_OK && backup &&
	    (err = backup_ksk(run, domain, &info, &dnskey, &path, errmsg, errlen)) != SIGNET_OK)
		(void)hsm_key_delete(run->tok, info.id, info.id_len, hsmerr, sizeof(hsmerr));
	if (err == SIGNET_OK)
		err = sg_buf_printf(&run->out, "; signet-ceremony create-ksk %s\n", run->zone);
	if (err == SIGNET_OK)
		err = key_text(run, &info, &dnskey, ttl, &run->out);
	if (err == SIGNET_OK)
		err = backup ? sg_buf_printf(&run->out, "; backup %s (proven)\n",
					     (const char *)path.data)
			     : sg_buf_printf(&run->out,
					     "; backup none: the KSK token holds no "
					     "backup domain, the key is never extractable\n");
	sg_buf_free(&dnskey);
	sg_buf_free(&path);
	return err;
}

/* restore-ksk: the KSK of backup-dir/ksk-KEYID.backup into a token that
 * holds the backup's domain, with its ID, label and public key; the backup
 * is proven first and must be a KSK of the request's zone. */
static signet_err restore_check(cer_run *run, char *errmsg, size_t errlen)
{
	uint8_t id[HSM_ID_MAX];
	size_t n;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK && run->x->backup_dir == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
			       "restore-ksk: the backup directory (--backup-dir) "
			       "is needed");
	return err;
}

static signet_err restore_read(cer_run *run, hsm_backup *b, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	uint8_t id[HSM_ID_MAX];
	size_t n;
	sg_buf path = SG_BUF_INIT, text = SG_BUF_INIT;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&path, "%s/ksk-", run->x->backup_dir);
	if (err == SIGNET_OK)
		err = sg_hex_encode(id, n, &path);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&path, ".backup");
	if (err == SIGNET_OK &&
	    (err = sg_file_read((const char *)path.data, 65536, &text)) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "restore-ksk: cannot read %s",
			 (const char *)path.data);
	if (err == SIGNET_OK &&
	    (err = hsm_backup_decode(text.data, text.len, b, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "restore-ksk: %s: %s", (const char *)path.data,
			 hsmerr);
	char role[16], owner[DNS_NAME_STR_MAX];
	if (err == SIGNET_OK &&
	    (b->id_len != n || memcmp(b->id, id, n) != 0 ||
	     !cer_label_parts(b->label, role, sizeof(role), owner, sizeof(owner)) ||
	     strcmp(role, "ksk") != 0 || strcasecmp(owner, run->zone) != 0)) {
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "restore-ksk: %s is not a backup of a KSK of %s "
			       "with this key-id",
			       (const char *)path.data, run->zone);
		hsm_backup_free(b);
	}
	sg_buf_free(&path);
	sg_buf_free(&text);
	return err;
}

/* Everything but the unwrap, before the intent: a refusal spends nothing. */
static signet_err restore_ready(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	hsm_backup b;
	signet_err err = restore_read(run, &b, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	hsm_key_info have;
	uint8_t domain[HSM_ID_LEN];
	if ((err = hsm_domain_find(run->tok, domain, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err,
			 "restore-ksk: the KSK token holds no usable backup domain: %s", hsmerr);
	else if (memcmp(domain, b.domain_id, HSM_ID_LEN) != 0)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "restore-ksk: the backup is of another domain");
	else if (hsm_key_find(run->tok, b.id, b.id_len, &have, hsmerr, sizeof(hsmerr)) !=
		 SIGNET_ENOTFOUND)
		err = cer_fail(errmsg, errlen, SIGNET_EEXIST,
			       "restore-ksk: the token holds a key of this ID");
	else if ((err = hsm_backup_prove(run->tok, &b, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "restore-ksk: the backup does not prove: %s", hsmerr);
	hsm_backup_free(&b);
	return err;
}

static signet_err restore_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	hsm_backup b;
	signet_err err = restore_read(run, &b, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	hsm_unwrap_spec spec = {b.alg, b.id, b.id_len, b.label};
	hsm_key_info info;
	const unsigned char *dp = b.pub.data;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &dp, (long)b.pub.len);
	if (pk == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "restore-ksk: the backup's public key");
	if (err == SIGNET_OK &&
	    (err = hsm_key_unwrap(run->tok, b.domain_id, b.wrapped.data, b.wrapped.len, &spec,
				  &info, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "restore-ksk: %s", hsmerr);
	else if (err == SIGNET_OK &&
		 (err = hsm_key_import_public(run->tok, b.id, b.id_len, b.label, pk, hsmerr,
					      sizeof(hsmerr))) != SIGNET_OK) {
		cer_fail(errmsg, errlen, err, "restore-ksk: the public key: %s", hsmerr);
		(void)hsm_key_delete(run->tok, b.id, b.id_len, hsmerr, sizeof(hsmerr));
	}
	EVP_PKEY_free(pk);
	sg_buf dnskey = SG_BUF_INIT;
	uint16_t tag = 0;
	if (err == SIGNET_OK)
		err = cer_ksk_find(run, b.id, b.id_len, false, &info, &dnskey, errmsg, errlen);
	if (err == SIGNET_OK)
		err = dns_key_tag(dnskey.data, dnskey.len, &tag);
	if (err == SIGNET_OK && tag != b.key_tag)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "restore-ksk: the restored key's tag %u is not the "
			       "backup's %u",
			       tag, b.key_tag);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&run->out, "; signet-ceremony restore-ksk %s\n", run->zone);
	if (err == SIGNET_OK)
		err = key_text(run, &info, &dnskey, 3600, &run->out);
	sg_buf_free(&dnskey);
	hsm_backup_free(&b);
	return err;
}

const cer_op cer_op_restore_ksk = {CER_OP_RESTORE_KSK, true, restore_check, restore_perform,
				   restore_ready};

const cer_op cer_op_create_ksk = {CER_OP_CREATE_KSK, true, create_check, create_perform, NULL};

static signet_err id_check(cer_run *run, char *errmsg, size_t errlen)
{
	uint8_t id[HSM_ID_MAX];
	size_t n;
	return cer_param_key_id(run->r, id, &n, errmsg, errlen);
}

static signet_err retire_perform(cer_run *run, char *errmsg, size_t errlen)
{
	uint8_t id[HSM_ID_MAX];
	size_t n;
	hsm_key_info info;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_ksk_find(run, id, n, false, &info, NULL, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	/* Done by the anchor update that records the outcome. */
	err = cer_anchor_retire(run->anchor, id, n, true, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_sha256(id, n, run->outputs, errmsg, errlen);
	return err;
}

/* The key is this zone's KSK and (retiring) not retired or (deleting) retired. */
static signet_err id_ready(cer_run *run, bool retired, char *errmsg, size_t errlen)
{
	uint8_t id[HSM_ID_MAX];
	size_t n;
	hsm_key_info info;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_ksk_find(run, id, n, retired, &info, NULL, errmsg, errlen);
	return err;
}

static signet_err retire_ready(cer_run *run, char *errmsg, size_t errlen)
{
	return id_ready(run, false, errmsg, errlen);
}

static signet_err delete_ready(cer_run *run, char *errmsg, size_t errlen)
{
	return id_ready(run, true, errmsg, errlen);
}

const cer_op cer_op_retire_ksk = {CER_OP_RETIRE_KSK, true, id_check, retire_perform, retire_ready};

static signet_err delete_perform(cer_run *run, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	uint8_t id[HSM_ID_MAX];
	size_t n;
	hsm_key_info info;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_ksk_find(run, id, n, true, &info, NULL, errmsg, errlen);
	if (err == SIGNET_OK &&
	    (err = hsm_key_delete(run->tok, id, n, hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "delete-ksk: %s", hsmerr);
	if (err == SIGNET_OK)
		err = cer_anchor_retire(run->anchor, id, n, false, errmsg, errlen);
	return err;
}

const cer_op cer_op_delete_ksk = {CER_OP_DELETE_KSK, true, id_check, delete_perform, delete_ready};
