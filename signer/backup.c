/* backup.c -- ZSK backups: wrapped to the backup domain right after generation, stored
 * in the state and proven; the check before a key-signing request; export to files and
 * restore into a fresh token. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "signer/signer.h"

struct signer_backups {
	hsm_token *tok;                /* borrowed */
	signer_state *st;              /* borrowed */
	bool has_domain;               /* the token holds a usable domain */
	uint8_t domain_id[HSM_ID_LEN]; /* its ID */
	bool require;                  /* require-backup */
};

#define RESTORE_FILES_MAX 4096 /* backup files one restore reads */

const char *signer_backup_status_name(signer_backup_status s)
{
	switch (s) {
	case SIGNER_BACKUP_NONE:
		return "none";
	case SIGNER_BACKUP_MISSING:
		return "missing";
	case SIGNER_BACKUP_UNPROVEN:
		return "unproven";
	case SIGNER_BACKUP_PROVEN:
		return "proven";
	}
	return "unknown";
}

signet_err signer_backups_new(hsm_token *tok, signer_state *st, int require, signer_backups **out)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (!tok || !st || !out || require < -1 || require > 1)
		return SIGNET_EINVAL;
	signer_backups *b = calloc(1, sizeof(*b));
	if (!b)
		return SIGNET_ENOMEM;
	b->tok = tok;
	b->st = st;
	signet_err ret = hsm_domain_find(tok, b->domain_id, hsmerr, sizeof(hsmerr));
	if (ret == SIGNET_OK) {
		b->has_domain = true;
	} else if (ret == SIGNET_ENOTFOUND) {
		ret = SIGNET_OK;
	} else {
		sg_log(SG_LOG_ERROR, "backup domain of the token: %s (%s)", signet_strerror(ret),
		       hsmerr);
	}
	if (ret == SIGNET_OK && require == 1 && !b->has_domain) {
		sg_log(SG_LOG_ERROR,
		       "require-backup is on but the token holds no backup domain "
		       "(signet-ceremony install-domain puts it there)");
		ret = SIGNET_ESTATE;
	}
	if (ret != SIGNET_OK) {
		free(b);
		return ret;
	}
	b->require = require == 1 || (require == -1 && b->has_domain);
	if (b->has_domain) {
		/* New ZSKs leave the token only wrapped to the domain; keys
		 * restored from it are signet's own (their DNSKEY is in the
		 * state, which signs with no other key). */
		hsm_token_set_wrappable_keys(tok, true);
		hsm_token_set_allow_restored(tok, true);
	}
	*out = b;
	return SIGNET_OK;
}

void signer_backups_free(signer_backups *b)
{
	free(b);
}

bool signer_backups_domain(const signer_backups *b, uint8_t id[HSM_ID_LEN])
{
	if (!b || !b->has_domain)
		return false;
	if (id)
		memcpy(id, b->domain_id, HSM_ID_LEN);
	return true;
}

bool signer_backups_required(const signer_backups *b)
{
	return b && b->require;
}

/* The ZSK DNSKEY RDATA (flags ZONE) of a backup's public key. */
static signet_err backup_dnskey(const hsm_backup *hb, sg_buf *out)
{
	const unsigned char *p = hb->pub.data;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)hb->pub.len);
	if (!pk)
		return SIGNET_EPARSE;
	sg_buf pub = SG_BUF_INIT;
	signet_err ret = dns_dnskey_pubkey_from_evp((uint8_t)hb->alg, pk, &pub);
	if (ret == SIGNET_OK)
		ret = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, (uint8_t)hb->alg, pub.data, pub.len,
				       out);
	EVP_PKEY_free(pk);
	sg_buf_free(&pub);
	return ret;
}

/* Whether hb is the backup of ZSK k: same CKA_ID, a "zsk" label of k's zone,
 * algorithm, key tag and DNSKEY. why gets the first difference. */
static bool backup_is_of(const hsm_backup *hb, const signer_key *k, const char **why)
{
	char zs[DNS_NAME_STR_MAX], owner[DNS_NAME_STR_MAX + 16];
	(void)dns_name_to_str(&k->zone, zs, sizeof(zs));
	snprintf(owner, sizeof(owner), "signet:zsk:%s:", zs);
	sg_buf rd = SG_BUF_INIT;
	bool ok = false;
	if (hb->id_len != k->id_len || memcmp(hb->id, k->id, k->id_len) != 0)
		*why = "its key ID is another";
	else if (strncasecmp(hb->label, owner, strlen(owner)) != 0)
		*why = "its label is not of a ZSK of this zone";
	else if ((uint8_t)hb->alg != k->alg || hb->key_tag != k->key_tag)
		*why = "its algorithm or key tag differs";
	else if (backup_dnskey(hb, &rd) != SIGNET_OK || rd.len != k->dnskey_len ||
		 memcmp(rd.data, k->dnskey, rd.len) != 0)
		*why = "its public key is not the key's DNSKEY";
	else
		ok = true;
	sg_buf_free(&rd);
	return ok;
}

/* Parse text, check it is k's backup in this domain, and prove it. */
static signet_err prove_text(signer_backups *b, const signer_key *k, const uint8_t *text,
			     size_t len, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	hsm_backup hb;
	const char *why = NULL;
	signet_err ret = hsm_backup_decode(text, len, &hb, hsmerr, sizeof(hsmerr));
	if (ret != SIGNET_OK) {
		snprintf(errmsg, errlen, "the stored backup does not parse: %s", hsmerr);
		return ret;
	}
	if (memcmp(hb.domain_id, b->domain_id, HSM_ID_LEN) != 0) {
		snprintf(errmsg, errlen, "the stored backup is wrapped to another backup domain");
		ret = SIGNET_EVERIFY;
	} else if (!backup_is_of(&hb, k, &why)) {
		snprintf(errmsg, errlen, "the stored backup is not this key's: %s", why);
		ret = SIGNET_EVERIFY;
	} else if ((ret = hsm_backup_prove(b->tok, &hb, hsmerr, sizeof(hsmerr))) != SIGNET_OK) {
		snprintf(errmsg, errlen, "the backup does not prove: %s", hsmerr);
	}
	hsm_backup_free(&hb);
	return ret;
}

signet_err signer_backups_zsk(signer_backups *b, const signer_key *k)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (!b || !k || k->id_len == 0)
		return SIGNET_EINVAL;
	if (!b->has_domain)
		return SIGNET_OK;
	char zs[DNS_NAME_STR_MAX], msg[300] = "";
	(void)dns_name_to_str(&k->zone, zs, sizeof(zs));
	hsm_backup hb;
	sg_buf text = SG_BUF_INIT;
	signet_err ret = hsm_backup_make(b->tok, b->domain_id, k->id, k->id_len, k->key_tag, &hb,
					 hsmerr, sizeof(hsmerr));
	if (ret != SIGNET_OK) {
		snprintf(msg, sizeof(msg), "cannot wrap it to the backup domain: %.262s", hsmerr);
	} else {
		ret = hsm_backup_encode(&hb, &text, hsmerr, sizeof(hsmerr));
		hsm_backup_free(&hb);
	}
	signer_backup_row row;
	memset(&row, 0, sizeof(row));
	if (ret == SIGNET_OK) {
		row.zone = k->zone;
		memcpy(row.id, k->id, k->id_len);
		row.id_len = k->id_len;
		memcpy(row.domain_id, b->domain_id, HSM_ID_LEN);
		row.text = text.data;
		row.text_len = text.len;
		row.created = signer_clock_now();
		ret = signer_state_put_backup(b->st, &row);
		if (ret != SIGNET_OK)
			snprintf(msg, sizeof(msg), "cannot store it: %s", signet_strerror(ret));
	}
	sg_buf_free(&text);
	/* What is proven is what the state holds, read back. */
	signer_backup_row *rows = NULL;
	size_t n = 0;
	if (ret == SIGNET_OK &&
	    (ret = signer_state_list_backups(b->st, k->id, k->id_len, &rows, &n)) == SIGNET_OK) {
		ret = n == 1 ? prove_text(b, k, rows[0].text, rows[0].text_len, msg, sizeof(msg))
			     : SIGNET_ENOTFOUND;
		if (n != 1)
			snprintf(msg, sizeof(msg), "the state does not give it back");
	}
	signer_backup_rows_free(rows, n);
	if (ret == SIGNET_OK)
		ret = signer_state_set_backup_proven(b->st, k->id, k->id_len, signer_clock_now());
	if (ret == SIGNET_OK) {
		sg_log(SG_LOG_NOTICE, "ZSK %u of %s: backup stored and proven", k->key_tag, zs);
	} else if (b->require) {
		sg_log(SG_LOG_ERROR,
		       "ZSK %u of %s: backup failed: %s (%s); the key is destroyed "
		       "(require-backup)",
		       k->key_tag, zs, msg, signet_strerror(ret));
		(void)hsm_key_delete(b->tok, k->id, k->id_len, hsmerr, sizeof(hsmerr));
	} else {
		sg_log(SG_LOG_WARNING,
		       "ZSK %u of %s: backup failed: %s (%s); kept without one "
		       "(require-backup is off)",
		       k->key_tag, zs, msg, signet_strerror(ret));
		ret = SIGNET_OK;
	}
	return ret;
}

signer_backup_status signer_backups_status(signer_backups *b, const signer_key *k)
{
	if (!b || !k || !b->has_domain)
		return SIGNER_BACKUP_NONE;
	if (k->id_len == 0)
		return SIGNER_BACKUP_MISSING;
	signer_backup_row *rows = NULL;
	size_t n = 0;
	signer_backup_status s = SIGNER_BACKUP_MISSING;
	if (signer_state_list_backups(b->st, k->id, k->id_len, &rows, &n) == SIGNET_OK && n == 1)
		s = rows[0].proven > 0 && memcmp(rows[0].domain_id, b->domain_id, HSM_ID_LEN) == 0
			    ? SIGNER_BACKUP_PROVEN
			    : SIGNER_BACKUP_UNPROVEN;
	signer_backup_rows_free(rows, n);
	return s;
}

size_t signer_backups_zone_missing(signer_backups *b, const dns_name *zone)
{
	if (!b || !zone || !b->has_domain)
		return 0;
	signer_key *keys = NULL;
	size_t nk = 0, missing = 0;
	if (signer_state_list_keys(b->st, zone, 0, &keys, &nk) != SIGNET_OK)
		return 0;
	for (size_t i = 0; i < nk; i++)
		if (strcmp(keys[i].role, "zsk") == 0 && !keys[i].foreign &&
		    keys[i].state != SIGNER_KEY_REMOVED &&
		    signer_backups_status(b, &keys[i]) != SIGNER_BACKUP_PROVEN)
			missing++;
	free(keys);
	return missing;
}

signet_err signer_backups_check_zone(signer_backups *b, const dns_name *zone, char *errmsg,
				     size_t errlen)
{
	if (!b || !zone || !errmsg)
		return SIGNET_EINVAL;
	if (!b->require)
		return SIGNET_OK;
	signer_key *keys = NULL;
	size_t nk = 0;
	signet_err ret = signer_state_list_keys(b->st, zone, 0, &keys, &nk);
	for (size_t i = 0; ret == SIGNET_OK && i < nk; i++) {
		const signer_key *k = &keys[i];
		if (strcmp(k->role, "zsk") != 0 || k->foreign || k->state == SIGNER_KEY_REMOVED)
			continue;
		signer_backup_row *rows = NULL;
		size_t n = 0;
		char why[300] = "";
		ret = signer_state_list_backups(b->st, k->id, k->id_len, &rows, &n);
		if (ret == SIGNET_OK && n == 0) {
			snprintf(why, sizeof(why), "no backup is stored");
			ret = SIGNET_ESTATE;
		} else if (ret == SIGNET_OK) {
			ret = prove_text(b, k, rows[0].text, rows[0].text_len, why, sizeof(why));
			if (ret == SIGNET_OK)
				ret = signer_state_set_backup_proven(b->st, k->id, k->id_len,
								     signer_clock_now());
			else
				ret = SIGNET_ESTATE;
		}
		signer_backup_rows_free(rows, n);
		if (ret != SIGNET_OK && why[0])
			snprintf(errmsg, errlen,
				 "ZSK %u has no proven backup (%s); require-backup keeps it out "
				 "of key-signing requests",
				 k->key_tag, why);
	}
	free(keys);
	return ret;
}

/* dir/zsk-HEXID.backup into path. */
static signet_err backup_path(const char *dir, const uint8_t *id, size_t id_len, sg_buf *path)
{
	signet_err ret = sg_buf_printf(path, "%s/zsk-", dir);
	if (ret == SIGNET_OK)
		ret = sg_hex_encode(id, id_len, path);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(path, ".backup");
	return ret;
}

signet_err signer_backups_export(signer_state *st, const char *dir, size_t *n)
{
	if (!st || !dir || !n)
		return SIGNET_EINVAL;
	*n = 0;
	signer_backup_row *rows = NULL;
	size_t nr = 0;
	signet_err ret = signer_state_list_backups(st, NULL, 0, &rows, &nr);
	for (size_t i = 0; ret == SIGNET_OK && i < nr; i++) {
		sg_buf path = SG_BUF_INIT;
		ret = backup_path(dir, rows[i].id, rows[i].id_len, &path);
		if (ret == SIGNET_OK)
			ret = sg_file_write_atomic((const char *)path.data, rows[i].text,
						   rows[i].text_len, 0600);
		if (ret != SIGNET_OK)
			sg_log(SG_LOG_ERROR, "export %s: %s", (const char *)path.data,
			       signet_strerror(ret));
		else
			(*n)++;
		sg_buf_free(&path);
	}
	signer_backup_rows_free(rows, nr);
	return ret;
}

/* One file to restore: its backup and the state's key it is of. */
typedef struct restore_item {
	char name[300];
	hsm_backup hb;
	signer_key key;
} restore_item;

void signer_backup_files_free(signer_backup_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		sg_buf_free(&files[i].text);
	free(files);
}

signet_err signer_backup_files_read(const char *dir, signer_backup_file **out, size_t *n,
				    char *errmsg, size_t errlen)
{
	if (!dir || !out || !n || !errmsg || errlen == 0)
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(errmsg, errlen, "cannot open %s", dir);
		return SIGNET_ENOTFOUND;
	}
	signet_err ret = SIGNET_OK;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (nl < 11 || strncmp(e->d_name, "zsk-", 4) != 0 ||
		    strcmp(e->d_name + nl - 7, ".backup") != 0)
			continue;
		if (*n >= RESTORE_FILES_MAX || nl >= sizeof((*out)->name)) {
			snprintf(errmsg, errlen, "%s: too many backup files or too long a name",
				 dir);
			ret = SIGNET_ERANGE;
			break;
		}
		signer_backup_file *g = realloc(*out, (*n + 1) * sizeof(*g));
		if (!g) {
			ret = SIGNET_ENOMEM;
			break;
		}
		*out = g;
		signer_backup_file *f = &g[*n];
		memset(f, 0, sizeof(*f));
		memcpy(f->name, e->d_name, nl + 1);
		(*n)++;
		sg_buf path = SG_BUF_INIT;
		ret = sg_buf_printf(&path, "%s/%s", dir, f->name);
		if (ret == SIGNET_OK &&
		    (ret = sg_file_read((const char *)path.data, SIGNER_BACKUP_TEXT_MAX,
					&f->text)) != SIGNET_OK)
			snprintf(errmsg, errlen, "%s: cannot read it (%s)", f->name,
				 signet_strerror(ret));
		sg_buf_free(&path);
		if (ret != SIGNET_OK)
			break;
	}
	closedir(d);
	if (ret == SIGNET_OK && *n == 0) {
		snprintf(errmsg, errlen, "%s holds no zsk-*.backup file", dir);
		ret = SIGNET_ENOTFOUND;
	}
	if (ret != SIGNET_OK) {
		signer_backup_files_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

/* Parse and check every file into items (n of them). */
static signet_err restore_collect(signer_backups *b, const signer_backup_file *files, size_t n,
				  restore_item *items, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	signer_key *keys = NULL;
	size_t nk = 0;
	signet_err ret = signer_state_list_keys(b->st, NULL, 0, &keys, &nk);
	if (ret != SIGNET_OK)
		snprintf(errmsg, errlen, "cannot read the state's keys");
	for (size_t j = 0; ret == SIGNET_OK && j < n; j++) {
		restore_item *it = &items[j];
		snprintf(it->name, sizeof(it->name), "%s", files[j].name);
		if ((ret = hsm_backup_decode(files[j].text.data, files[j].text.len, &it->hb, hsmerr,
					     sizeof(hsmerr))) != SIGNET_OK) {
			snprintf(errmsg, errlen, "%s: %s", it->name, hsmerr);
			break;
		}
		if (memcmp(it->hb.domain_id, b->domain_id, HSM_ID_LEN) != 0) {
			snprintf(errmsg, errlen,
				 "%s: wrapped to another backup domain than the token's", it->name);
			ret = SIGNET_EVERIFY;
			break;
		}
		const signer_key *k = NULL;
		for (size_t i = 0; i < nk && !k; i++)
			if (strcmp(keys[i].role, "zsk") == 0 && !keys[i].foreign &&
			    keys[i].id_len == it->hb.id_len &&
			    memcmp(keys[i].id, it->hb.id, it->hb.id_len) == 0)
				k = &keys[i];
		const char *why = NULL;
		if (!k) {
			snprintf(errmsg, errlen,
				 "%s: no ZSK of this signetd's state has its key ID", it->name);
			ret = SIGNET_ENOTFOUND;
			break;
		}
		if (!backup_is_of(&it->hb, k, &why)) {
			snprintf(errmsg, errlen, "%s: not the backup of the state's key: %s",
				 it->name, why);
			ret = SIGNET_EVERIFY;
			break;
		}
		it->key = *k;
		hsm_key_info have;
		signet_err f = hsm_key_find(b->tok, it->hb.id, it->hb.id_len, &have, hsmerr,
					    sizeof(hsmerr));
		if (f != SIGNET_ENOTFOUND) {
			snprintf(errmsg, errlen,
				 "%s: the token holds a key with this ID already; nothing is "
				 "overwritten",
				 it->name);
			ret = f == SIGNET_OK ? SIGNET_EEXIST : f;
			break;
		}
		if ((ret = hsm_backup_prove(b->tok, &it->hb, hsmerr, sizeof(hsmerr))) !=
		    SIGNET_OK) {
			snprintf(errmsg, errlen, "%s: does not prove: %s", it->name, hsmerr);
			break;
		}
	}
	free(keys);
	return ret;
}

/* A signature of the token's key k over random octets, made on a session
 * of its own, verified with k's DNSKEY; the token's reason in errmsg. */
static signet_err restored_signs(signer_backups *b, const signer_key *k, char *errmsg,
				 size_t errlen)
{
	uint8_t msg[48], sig[HSM_SIG_MAX];
	size_t siglen = 0;
	if (RAND_bytes(msg, sizeof(msg)) != 1)
		return SIGNET_ECRYPTO;
	hsm_session *s = NULL;
	EVP_PKEY *pk = NULL;
	signet_err ret = hsm_session_open(b->tok, &s, errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = hsm_sign(s, k->id, k->id_len, msg, sizeof(msg), sig, sizeof(sig), &siglen,
			       errmsg, errlen);
	hsm_session_close(s);
	if (ret == SIGNET_OK)
		ret = dns_dnskey_to_evp(k->dnskey, k->dnskey_len, &pk);
	if (ret == SIGNET_OK)
		ret = dns_signature_verify(k->alg, pk, msg, sizeof(msg), sig, siglen);
	EVP_PKEY_free(pk);
	return ret;
}

/* Unwrap it into the token with its public half; check the DNSKEY. */
static signet_err restore_one(signer_backups *b, restore_item *it, char *errmsg, size_t errlen)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	hsm_unwrap_spec spec = {it->hb.alg, it->hb.id, it->hb.id_len, it->hb.label};
	hsm_key_info info;
	const unsigned char *p = it->hb.pub.data;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)it->hb.pub.len);
	signet_err ret = pk ? SIGNET_OK : SIGNET_EPARSE;
	if (ret == SIGNET_OK &&
	    (ret = hsm_key_unwrap(b->tok, b->domain_id, it->hb.wrapped.data, it->hb.wrapped.len,
				  &spec, &info, hsmerr, sizeof(hsmerr))) != SIGNET_OK) {
		snprintf(errmsg, errlen, "%s: unwrap: %s", it->name, hsmerr);
	} else if (ret == SIGNET_OK &&
		   (ret = hsm_key_import_public(b->tok, it->hb.id, it->hb.id_len, it->hb.label, pk,
						hsmerr, sizeof(hsmerr))) != SIGNET_OK) {
		snprintf(errmsg, errlen, "%s: public key: %s", it->name, hsmerr);
		(void)hsm_key_delete(b->tok, it->hb.id, it->hb.id_len, hsmerr, sizeof(hsmerr));
	}
	EVP_PKEY_free(pk);
	/* What the token now says the key is must be the state's DNSKEY. */
	EVP_PKEY *back = NULL;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	if (ret == SIGNET_OK)
		ret = hsm_key_public(b->tok, it->hb.id, it->hb.id_len, &back, hsmerr,
				     sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = dns_dnskey_pubkey_from_evp(it->key.alg, back, &pub);
	if (ret == SIGNET_OK)
		ret = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, it->key.alg, pub.data, pub.len, &rd);
	if (ret == SIGNET_OK &&
	    (rd.len != it->key.dnskey_len || memcmp(rd.data, it->key.dnskey, rd.len) != 0)) {
		snprintf(errmsg, errlen, "%s: the restored key is not the state's DNSKEY",
			 it->name);
		(void)hsm_key_delete(b->tok, it->hb.id, it->hb.id_len, hsmerr, sizeof(hsmerr));
		ret = SIGNET_EVERIFY;
	}
	EVP_PKEY_free(back);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
	/* The token object itself must sign, and verify with the DNSKEY:
	 * what signing will use is proven, not only the backup's copy. */
	hsmerr[0] = '\0';
	if (ret == SIGNET_OK &&
	    (ret = restored_signs(b, &it->key, hsmerr, sizeof(hsmerr))) != SIGNET_OK) {
		snprintf(errmsg, errlen,
			 "%s: the restored key's signature does not verify "
			 "with the state's DNSKEY (%s%s%s)",
			 it->name, signet_strerror(ret), hsmerr[0] ? ": " : "", hsmerr);
		(void)hsm_key_delete(b->tok, it->hb.id, it->hb.id_len, NULL, 0);
	}
	return ret;
}

signet_err signer_backups_restore(signer_backups *b, const signer_backup_file *files, size_t n,
				  signer_audit *audit, const char *who, size_t *restored,
				  char *errmsg, size_t errlen)
{
	if (!b || (!files && n) || !restored || !errmsg || errlen == 0)
		return SIGNET_EINVAL;
	*restored = 0;
	errmsg[0] = '\0';
	if (!b->has_domain) {
		snprintf(errmsg, errlen,
			 "the token holds no backup domain: install it first "
			 "(signet-ceremony install-domain)");
		return SIGNET_ESTATE;
	}
	if (n == 0) {
		snprintf(errmsg, errlen, "no backup file to restore");
		return SIGNET_ENOTFOUND;
	}
	restore_item *items = calloc(n, sizeof(*items));
	if (!items)
		return SIGNET_ENOMEM;
	signet_err ret = restore_collect(b, files, n, items, errmsg, errlen);
	if (ret != SIGNET_OK && audit) {
		/* A refused restore is on record too: nothing was restored. */
		char detail[360];
		snprintf(detail, sizeof(detail), "files=%zu refused: %.300s", n, errmsg);
		(void)signer_audit_append(audit, who ? who : "local", "restore-zsk", NULL, detail,
					  signet_errname(ret));
	}
	for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
		restore_item *it = &items[i];
		ret = restore_one(b, it, errmsg, errlen);
		char zs[DNS_NAME_STR_MAX], detail[128];
		(void)dns_name_to_str(&it->key.zone, zs, sizeof(zs));
		snprintf(detail, sizeof(detail), "zsk=%u/%u file=%.60s", it->key.alg,
			 it->key.key_tag, it->name);
		if (audit)
			(void)signer_audit_append(audit, who ? who : "local", "restore-zsk", zs,
						  detail,
						  ret == SIGNET_OK ? "ok" : signet_errname(ret));
		if (ret == SIGNET_OK) {
			(*restored)++;
			sg_log(SG_LOG_NOTICE, "restored ZSK %u of %s from %s", it->key.key_tag, zs,
			       it->name);
		}
	}
	for (size_t i = 0; i < n; i++)
		hsm_backup_free(&items[i].hb);
	free(items);
	return ret;
}

/* The token of cfg opened with pin, retrying briefly as signetd does. */
static signet_err open_token(hsm_ctx *ctx, const signer_config *cfg, const sg_secret *pin,
			     hsm_token **tok)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	signet_err ret = SIGNET_EHSM;
	for (int attempt = 0; attempt < 5; attempt++) {
		ret = hsm_token_open(ctx, cfg->token_label, NULL, pin, tok, hsmerr, sizeof(hsmerr));
		if (ret == SIGNET_OK || ret == SIGNET_EHSM_PIN || ret == SIGNET_EHSM_LOCKED)
			break;
		struct timespec ts = {0, 50000000L * (attempt + 1)};
		nanosleep(&ts, NULL);
	}
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "token '%s': %s (%s)", cfg->token_label, signet_strerror(ret),
		       hsmerr);
	return ret;
}

signet_err signer_backups_offline(const signer_config *cfg, const sg_secret *pin,
				  const char *export_dir, const char *restore_dir)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	if (!cfg || (!export_dir) == (!restore_dir) || (restore_dir && !pin))
		return SIGNET_EINVAL;
	signer_state *st = NULL;
	signet_err ret;
	if (export_dir) {
		size_t n = 0;
		ret = signer_state_open_options(cfg->state_dir, &cfg->state, &st);
		if (ret == SIGNET_OK)
			ret = signer_backups_export(st, export_dir, &n);
		if (ret == SIGNET_OK)
			printf("exported %zu ZSK backup%s to %s\n", n, n == 1 ? "" : "s",
			       export_dir);
		signer_state_close(st);
		return ret;
	}
	/* In signetd's order: state, audit log, module and token opened, then
	 * the account signetd runs as, whose the restored token objects must be. */
	hsm_ctx *ctx = NULL;
	hsm_token *tok = NULL;
	signer_audit *audit = NULL;
	signer_backups *b = NULL;
	char path[SIGNER_PATH_MAX + 32];
	/* The configured store: with PostgreSQL, the replicas' shared state. */
	ret = signer_state_open_options(cfg->state_dir, &cfg->state, &st);
	if (ret == SIGNET_OK) {
		snprintf(path, sizeof(path), "%s/audit.log", cfg->state_dir);
		ret = signer_audit_open(path, &audit);
		if (ret != SIGNET_OK)
			sg_log(SG_LOG_ERROR, "audit log %s: %s", path, signet_strerror(ret));
		else
			signer_audit_set_replica(audit, cfg->replica_name);
	}
	/* Read as the operator who runs this: the files may be hers only. */
	signer_backup_file *files = NULL;
	size_t nfiles = 0;
	char msg[400] = "";
	if (ret == SIGNET_OK && (ret = signer_backup_files_read(restore_dir, &files, &nfiles, msg,
								sizeof(msg))) != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "restore refused: %s (%s)", msg, signet_strerror(ret));
	if (ret == SIGNET_OK &&
	    (ret = hsm_open_args(cfg->pkcs11_module,
				 cfg->pkcs11_module_args[0] ? cfg->pkcs11_module_args : NULL, &ctx,
				 hsmerr, sizeof(hsmerr))) != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "PKCS#11 module %s: %s (%s)", cfg->pkcs11_module,
		       signet_strerror(ret), hsmerr);
	if (ret == SIGNET_OK)
		ret = open_token(ctx, cfg, pin, &tok);
	if (ret == SIGNET_OK && cfg->user[0]) {
		char why[SIGNER_ERRMSG_MAX];
		ret = signer_drop_privileges(cfg->user, why, sizeof(why));
		if (ret != SIGNET_OK)
			sg_log(SG_LOG_ERROR, "cannot run as %s: %s", cfg->user, why);
	}
	if (ret == SIGNET_OK)
		ret = signer_backups_new(tok, st, cfg->require_backup, &b);
	if (ret == SIGNET_OK) {
		size_t n = 0;
		ret = signer_backups_restore(b, files, nfiles, audit, "local", &n, msg,
					     sizeof(msg));
		if (ret == SIGNET_OK)
			printf("restored %zu ZSK%s into token '%s'\n", n, n == 1 ? "" : "s",
			       cfg->token_label);
		else
			sg_log(SG_LOG_ERROR, "restore refused: %s (%s)", msg, signet_strerror(ret));
	}
	signer_backup_files_free(files, nfiles);
	signer_backups_free(b);
	hsm_token_close(tok);
	hsm_close(ctx);
	signer_audit_close(audit);
	signer_state_close(st);
	return ret;
}
