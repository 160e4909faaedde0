/* shares.c -- M-of-N splits (KSK token PINs, backup-domain key), sealed per operator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgfshare.h>
#include <openssl/rand.h>

#include "ceremony/internal.h"

#define SHARE_MAGIC "signet-ceremony-share 1"
#define CHECK_TAG "signet-ceremony pin check v1"
#define SO_CHECK_TAG "signet-ceremony so pin check v1"
#define DOMAIN_CHECK_TAG "signet-ceremony backup domain check v1"
#define DOMAIN_LEN (2 * HSM_DOMAIN_KEY_LEN) /* the domain key as hex text */
#define PIN_LEN (2 * CER_PIN_OCTETS)        /* the PIN is hex text; shares are as long */
#define SPLIT_ID_LEN 16
#define WHAT "share"

/* libgfshare draws its polynomial coefficients through this hook; a failure
 * is remembered and checked after the split, since the hook cannot return one. */
static _Thread_local bool rand_failed;

static void fill_rand(unsigned char *p, unsigned int n)
{
	if (RAND_priv_bytes(p, (int)n) != 1) {
		rand_failed = true;
		memset(p, 0, n);
	}
}

signet_err cer_pin_generate(sg_secret **out, char *errmsg, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[CER_PIN_OCTETS];
	if (out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_pin_generate: bad argument");
	if (RAND_priv_bytes(raw, sizeof(raw)) != 1)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "no randomness for the PIN");
	signet_err err = sg_secret_new(PIN_LEN, out);
	if (err == SIGNET_OK) {
		for (size_t i = 0; i < sizeof(raw); i++) {
			(*out)->data[2 * i] = (uint8_t)hex[raw[i] >> 4];
			(*out)->data[2 * i + 1] = (uint8_t)hex[raw[i] & 15];
		}
		(*out)->len = PIN_LEN;
		(*out)->data[PIN_LEN] = '\0';
	}
	sg_wipe(raw, sizeof(raw));
	return err;
}

/* The share header: what a share claims to be, authenticated by its seal. */
typedef struct share_head {
	char operator[CER_NAME_MAX + 1];
	unsigned number; /* libgfshare share number, 1..255 */
	unsigned threshold;
	unsigned count;
	char label[33];
	char serial[17];
	uint8_t split[SPLIT_ID_LEN]; /* random per split: shares of two splits never mix */
	uint8_t check[CER_HASH_LEN]; /* SHA-256(tag || split || PIN) */
} share_head;

static signet_err head_text(const share_head *h, sg_buf *out)
{
	signet_err err = sg_buf_printf(out,
				       "%s\noperator %s\nnumber %u\nthreshold %u\n"
				       "count %u\ntoken-label %s\ntoken-serial %s\n",
				       SHARE_MAGIC, h->operator, h->number, h->threshold, h->count,
				       h->label, h->serial);
	if (err == SIGNET_OK)
		err = cer_put_hex(out, "split", h->split, SPLIT_ID_LEN);
	if (err == SIGNET_OK)
		err = cer_put_hex(out, "check", h->check, CER_HASH_LEN);
	return err;
}

/* Octets of the secret of a kind of split, and its share files' suffix. */
static size_t kind_len(int kind)
{
	return kind == CER_SECRET_DOMAIN ? DOMAIN_LEN : PIN_LEN;
}

const char *cer_share_suffix(int kind)
{
	return kind == CER_SECRET_DOMAIN ? "domain-share"
	       : kind == CER_SECRET_SO   ? "so-share"
					 : "share";
}

/* The tags differ so that shares of one kind (user PIN, SO PIN, backup
 * domain) never pass for shares of another. */
static signet_err pin_check(const uint8_t split[SPLIT_ID_LEN], const sg_secret *pin, int kind,
			    uint8_t out[CER_HASH_LEN], char *errmsg, size_t errlen)
{
	sg_buf b = SG_BUF_INIT;
	signet_err err = kind == CER_SECRET_DOMAIN
				 ? sg_buf_append(&b, DOMAIN_CHECK_TAG, sizeof(DOMAIN_CHECK_TAG))
			 : kind == CER_SECRET_SO
				 ? sg_buf_append(&b, SO_CHECK_TAG, sizeof(SO_CHECK_TAG))
				 : sg_buf_append(&b, CHECK_TAG, sizeof(CHECK_TAG));
	if (err == SIGNET_OK)
		err = sg_buf_append(&b, split, SPLIT_ID_LEN);
	if (err == SIGNET_OK)
		err = sg_buf_append(&b, pin->data, pin->len);
	if (err == SIGNET_OK)
		err = cer_sha256(b.data, b.len, out, errmsg, errlen);
	sg_buf_free_secure(&b);
	return err;
}

static bool token_field_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

signet_err cer_shares_split(const cer_policy *p, const sg_secret *pin, const char *label,
			    const char *serial, const cer_pass *passes, size_t npasses,
			    const char *dir, int kind, char *errmsg, size_t errlen)
{
	const size_t slen = kind_len(kind);
	if (p == NULL || pin == NULL || pin->len != slen || label == NULL || serial == NULL ||
	    dir == NULL || !token_field_ok(label, 32) || !token_field_ok(serial, 16))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "split: bad argument");
	for (size_t i = 0; i < p->count; i++)
		if (cer_pass_find(passes, npasses, p->ops[i].name) == NULL)
			return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
					"split: every operator must be present to "
					"seal her share; no passphrase for %s",
					p->ops[i].name);
	share_head h;
	memset(&h, 0, sizeof(h));
	h.threshold = p->threshold;
	h.count = (unsigned)p->count;
	memcpy(h.label, label, strlen(label) + 1);
	memcpy(h.serial, serial, strlen(serial) + 1);
	if (RAND_bytes(h.split, SPLIT_ID_LEN) != 1)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "no randomness");
	signet_err err = pin_check(h.split, pin, kind, h.check, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;

	unsigned char nrs[CER_OPERATORS_MAX];
	for (size_t i = 0; i < p->count; i++)
		nrs[i] = (unsigned char)(i + 1);
	rand_failed = false;
	gfshare_fill_rand = fill_rand;
	gfshare_ctx *g = gfshare_ctx_init_enc(nrs, (unsigned)p->count, (unsigned char)p->threshold,
					      (unsigned)slen);
	if (g == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM,
				"libgfshare: cannot make a split context");
	gfshare_ctx_enc_setsecret(g, pin->data);
	if (rand_failed) {
		gfshare_ctx_free(g);
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "no randomness for the split");
	}
	sg_secret *share = NULL;
	err = sg_secret_new(slen, &share);
	char(*paths)[4200] = calloc(p->count, sizeof(*paths));
	if (err == SIGNET_OK && paths == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
	size_t written = 0;
	for (size_t i = 0; i < p->count && err == SIGNET_OK; i++) {
		gfshare_ctx_enc_getshare(g, (unsigned char)i, share->data); /* an index */
		share->len = slen;
		memcpy(h.operator, p->ops[i].name, sizeof(h.operator));
		h.number = nrs[i];
		sg_buf text = SG_BUF_INIT, ct = SG_BUF_INIT;
		uint8_t salt[CER_SALT_LEN], nonce[CER_NONCE_LEN];
		cer_kdf kdf = CER_KDF_DEFAULT;
		err = head_text(&h, &text);
		if (err == SIGNET_OK)
			err = cer_seal(cer_pass_find(passes, npasses, h.operator), &kdf, text.data,
				       text.len, share->data, share->len, salt, nonce, &ct, errmsg,
				       errlen);
		if (err == SIGNET_OK)
			err = sg_buf_printf(&text, "kdf scrypt %llu %u %u\n",
					    (unsigned long long)kdf.n, kdf.r, kdf.p);
		if (err == SIGNET_OK)
			err = cer_put_hex(&text, "salt", salt, CER_SALT_LEN);
		if (err == SIGNET_OK)
			err = cer_put_hex(&text, "nonce", nonce, CER_NONCE_LEN);
		if (err == SIGNET_OK)
			err = cer_put_b64(&text, "sealed", ct.data, ct.len);
		if (err == SIGNET_OK &&
		    (size_t)snprintf(paths[i], sizeof(paths[i]), "%s/%s.%s", dir, h.operator,
				     cer_share_suffix(kind)) >= sizeof(paths[i]))
			err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
				       "share directory path too long");
		if (err == SIGNET_OK)
			err = cer_write_new(paths[i], text.data, text.len, 0600, errmsg, errlen);
		if (err == SIGNET_OK)
			written++;
		sg_buf_free(&text);
		sg_buf_free(&ct);
	}
	gfshare_ctx_free(g);
	sg_secret_free(share);
	/* All or nothing: a partial set of new shares is only confusing. */
	if (err != SIGNET_OK)
		for (size_t i = 0; i < written; i++)
			(void)remove(paths[i]);
	free(paths);
	return err;
}

/* Read and parse a share file; the sealed part goes to ct, its text before
 * the seal to aad. */
static signet_err share_read(const char *path, size_t slen, share_head *h, cer_kdf *kdf,
			     uint8_t salt[CER_SALT_LEN], uint8_t nonce[CER_NONCE_LEN], sg_buf *aad,
			     sg_buf *ct, char *errmsg, size_t errlen)
{
	sg_buf b = SG_BUF_INIT;
	signet_err err = cer_read_text(path, CER_FILE_MAX, WHAT, &b, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	cer_doc d;
	err = cer_doc_parse((const char *)b.data, b.len, SHARE_MAGIC, WHAT, &d, errmsg, errlen);
	sg_buf_free(&b);
	if (err != SIGNET_OK)
		return err;
	static const char *const keys[] = {"operator",    "number",       "threshold", "count",
					   "token-label", "token-serial", "split",     "check",
					   "kdf",         "salt",         "nonce",     "sealed"};
	const char *v[12];
	size_t i = 0;
	for (size_t k = 0; k < 12 && err == SIGNET_OK; k++)
		err = cer_doc_take(&d, &i, keys[k], WHAT, &v[k], errmsg, errlen);
	if (err == SIGNET_OK && i != d.n)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "share %s: trailing lines", path);
	uint64_t num = 0, thr = 0, cnt = 0;
	if (err == SIGNET_OK &&
	    (!cer_name_ok(v[0]) || cer_uint(v[1], 1, 255, &num) != SIGNET_OK ||
	     cer_uint(v[2], 1, 255, &thr) != SIGNET_OK ||
	     cer_uint(v[3], 1, 255, &cnt) != SIGNET_OK || thr > cnt || num > cnt ||
	     !token_field_ok(v[4], 32) || !token_field_ok(v[5], 16) ||
	     cer_hex_exact(v[6], h->split, SPLIT_ID_LEN) != SIGNET_OK ||
	     cer_hex_exact(v[7], h->check, CER_HASH_LEN) != SIGNET_OK ||
	     cer_hex_exact(v[9], salt, CER_SALT_LEN) != SIGNET_OK ||
	     cer_hex_exact(v[10], nonce, CER_NONCE_LEN) != SIGNET_OK ||
	     sg_base64_decode(v[11], strlen(v[11]), ct) != SIGNET_OK ||
	     ct->len != slen + CER_TAG_LEN))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "share %s: malformed header or sealed part", path);
	if (err == SIGNET_OK)
		err = cer_kdf_parse(v[8], kdf, errmsg, errlen);
	if (err == SIGNET_OK) {
		memcpy(h->operator, v[0], strlen(v[0]) + 1);
		h->number = (unsigned)num;
		h->threshold = (unsigned)thr;
		h->count = (unsigned)cnt;
		memcpy(h->label, v[4], strlen(v[4]) + 1);
		memcpy(h->serial, v[5], strlen(v[5]) + 1);
		err = head_text(h, aad);
	}
	cer_doc_free(&d);
	return err;
}

static bool same_split(const share_head *a, const share_head *b)
{
	return a->threshold == b->threshold && a->count == b->count &&
	       strcmp(a->label, b->label) == 0 && strcmp(a->serial, b->serial) == 0 &&
	       memcmp(a->split, b->split, SPLIT_ID_LEN) == 0 &&
	       memcmp(a->check, b->check, CER_HASH_LEN) == 0;
}

signet_err cer_shares_combine(const cer_policy *p, const cer_share_in *shares, size_t n,
			      const cer_pass *passes, size_t npasses, sg_secret **pin, char *label,
			      char *serial, char *errmsg, size_t errlen)
{
	return cer_shares_open(p, shares, n, passes, npasses, false, CER_SECRET_USER, pin, label,
			       serial, errmsg, errlen);
}

signet_err cer_so_shares_combine(const cer_policy *p, const cer_share_in *shares, size_t n,
				 const cer_pass *passes, size_t npasses, sg_secret **pin,
				 char *label, char *serial, char *errmsg, size_t errlen)
{
	return cer_shares_open(p, shares, n, passes, npasses, false, CER_SECRET_SO, pin, label,
			       serial, errmsg, errlen);
}

signet_err cer_domain_shares_combine(const cer_policy *p, const cer_share_in *shares, size_t n,
				     const cer_pass *passes, size_t npasses, sg_secret **key,
				     uint8_t id[HSM_ID_LEN], char *errmsg, size_t errlen)
{
	if (key == NULL || id == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "combine: bad argument");
	*key = NULL;
	sg_secret *hex = NULL;
	char label[33] = "", serial[17] = "";
	signet_err err = cer_shares_open(p, shares, n, passes, npasses, false, CER_SECRET_DOMAIN,
					 &hex, label, serial, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_domain_key_from_hex(hex, key, id, errmsg, errlen);
	sg_secret_free(hex);
	if (err == SIGNET_OK) {
		char want[17];
		cer_domain_serial(id, want);
		if (strcmp(label, CER_DOMAIN_SPLIT_LABEL) != 0 || strcmp(serial, want) != 0) {
			sg_secret_free(*key);
			*key = NULL;
			err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				       "the domain shares name domain %s, but combine "
				       "to domain %s",
				       serial, want);
		}
	}
	return err;
}

signet_err cer_shares_open(const cer_policy *p, const cer_share_in *shares, size_t n,
			   const cer_pass *passes, size_t npasses, bool split_quorum, int kind,
			   sg_secret **pin, char *label, char *serial, char *errmsg, size_t errlen)
{
	const size_t slen = kind_len(kind);
	if (p == NULL || (shares == NULL && n) || pin == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "combine: bad argument");
	*pin = NULL;
	if (n > CER_OPERATORS_MAX)
		return cer_fail(errmsg, errlen, SIGNET_ERANGE, "more than %d shares",
				CER_OPERATORS_MAX);
	share_head *h = calloc(n ? n : 1, sizeof(*h));
	unsigned char *nrs = calloc(n ? n : 1, 1);
	sg_secret *all = NULL;
	signet_err err = (h == NULL || nrs == NULL)
				 ? cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory")
				 : sg_secret_new(slen * (n ? n : 1), &all);
	size_t used = 0;
	/* Every check that needs no HSM happens here, share by share. */
	for (size_t i = 0; i < n && err == SIGNET_OK; i++) {
		const cer_share_in *in = &shares[i];
		if (in->operator== NULL || cer_policy_find(p, in->operator) == NULL) {
			err = cer_fail(errmsg, errlen, SIGNET_EDENIED, "share presented by \"%s\": not an operator "
				       "of the policy", in->operator ? in->operator : "(nobody)");
			break;
		}
		share_head cur;
		memset(&cur, 0, sizeof(cur));
		cer_kdf kdf;
		uint8_t salt[CER_SALT_LEN], nonce[CER_NONCE_LEN];
		sg_buf aad = SG_BUF_INIT, ct = SG_BUF_INIT;
		err = share_read(in->path, slen, &cur, &kdf, salt, nonce, &aad, &ct, errmsg,
				 errlen);
		if (err == SIGNET_OK && strcmp(cur.operator, in->operator) != 0)
			err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				       "share %s belongs to %s, not to %s who "
				       "presents it",
				       in->path, cur.operator, in->operator);
		bool dup = false;
		for (size_t j = 0; err == SIGNET_OK && j < used; j++) {
			if (strcmp(h[j].operator, cur.operator) == 0 || h[j].number == cur.number)
				dup = true;
			else if (!same_split(&h[j], &cur))
				err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
					       "share %s is from another split or "
					       "token than the others",
					       in->path);
		}
		const sg_secret *pass = NULL;
		if (err == SIGNET_OK && !dup) {
			pass = cer_pass_find(passes, npasses, cur.operator);
			if (pass == NULL)
				err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
					       "no passphrase given for %s's share", cur.operator);
		}
		sg_secret *piece = NULL;
		if (err == SIGNET_OK && !dup) {
			err = cer_open(pass, &kdf, salt, nonce, aad.data, aad.len, ct.data, ct.len,
				       &piece, errmsg, errlen);
			if (err == SIGNET_EVERIFY)
				cer_fail(errmsg, errlen, err,
					 "share %s of %s: wrong passphrase, or the share was "
					 "altered or moved to another operator",
					 in->path, cur.operator);
		}
		if (err == SIGNET_OK && !dup) {
			if (piece->len != slen) {
				err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
					       "share %s: wrong length", in->path);
			} else {
				memcpy(all->data + used * slen, piece->data, slen);
				nrs[used] = (unsigned char)cur.number;
				h[used++] = cur;
			}
		}
		sg_secret_free(piece);
		sg_buf_free(&aad);
		sg_buf_free(&ct);
	}
	/* Normally the stricter of the split's and the policy's threshold. A
	 * reshare after a policy change that raised M (or let a holder go) may
	 * have fewer holders of the old split than the new M: it needs what the
	 * old split needs, while its approvals already meet the new quorum. */
	unsigned need = used ? h[0].threshold : p->threshold;
	if (need < p->threshold && !(split_quorum && used))
		need = p->threshold;
	if (err == SIGNET_OK && used < need)
		err = cer_fail(errmsg, errlen, SIGNET_EQUORUM,
			       "%zu valid share%s from distinct operators, %u "
			       "needed",
			       used, used == 1 ? "" : "s", need);
	sg_secret *out = NULL;
	if (err == SIGNET_OK)
		err = sg_secret_new(slen, &out);
	if (err == SIGNET_OK) {
		/* libgfshare calls the hook when it frees a context too, to
		 * overwrite it; left NULL in a process that never split, that
		 * call jumps to address 0. */
		gfshare_fill_rand = fill_rand;
		gfshare_ctx *g = gfshare_ctx_init_dec(nrs, (unsigned)used, (unsigned)slen);
		if (g == NULL) {
			err = cer_fail(errmsg, errlen, SIGNET_ENOMEM,
				       "libgfshare: cannot make a context");
		} else {
			for (size_t i = 0; i < used; i++)
				gfshare_ctx_dec_giveshare(g, (unsigned char)i,
							  all->data + i * slen);
			gfshare_ctx_dec_extract(g, out->data);
			gfshare_ctx_free(g);
			out->len = slen;
			out->data[slen] = '\0';
		}
	}
	uint8_t check[CER_HASH_LEN];
	if (err == SIGNET_OK &&
	    (err = pin_check(h[0].split, out, kind, check, errmsg, errlen)) == SIGNET_OK &&
	    memcmp(check, h[0].check, CER_HASH_LEN) != 0)
		err = cer_fail(errmsg, errlen, SIGNET_EVERIFY,
			       "the shares do not combine to the %s of the "
			       "split (%s): refusing to use it",
			       kind == CER_SECRET_DOMAIN ? "backup domain"
			       : kind == CER_SECRET_SO   ? "SO PIN"
							 : "user PIN",
			       kind == CER_SECRET_DOMAIN ? "shares of a PIN?"
							 : "shares of the other PIN?");
	if (err == SIGNET_OK) {
		if (label != NULL)
			memcpy(label, h[0].label, strlen(h[0].label) + 1);
		if (serial != NULL)
			memcpy(serial, h[0].serial, strlen(h[0].serial) + 1);
		*pin = out;
		out = NULL;
	}
	sg_secret_free(out);
	sg_secret_free(all);
	free(h);
	free(nrs);
	return err;
}
