/* test_backup.c -- signetd's ZSK backups on real SoftHSM2 tokens: backed up and proven
 * at generation, require-backup, export, and the restore with its refusals (a bit
 * flipped, a forged digest, another domain, a truncated file, a key not in the state,
 * a token without the domain, a key of that ID present), each leaving the token as
 * it was. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "signer/signer.h"
#include "tests/lib/softhsm_fixture.h"

typedef struct fx {
	softhsm_fixture *f;
	char dir[300];        /* state and export directory */
	signer_state *st;
	uint8_t domain[HSM_ID_LEN];
	sg_secret *key;       /* the domain key */
	dns_name zone;
} fx;

static sg_secret *domain_key(void)
{
	sg_secret *k = NULL;
	assert_int_equal(sg_secret_new(HSM_DOMAIN_KEY_LEN, &k), SIGNET_OK);
	assert_int_equal(RAND_priv_bytes(k->data, HSM_DOMAIN_KEY_LEN), 1);
	k->len = HSM_DOMAIN_KEY_LEN;
	return k;
}

/* Another token of the module, with the domain key (NULL: none). */
static hsm_token *token(fx *x, const char *label, const sg_secret *key)
{
	softhsm_fixture *f = x->f;
	assert_int_equal(hsm_token_initialize(f->ctx, label, f->so_pin, f->user_pin, HSM_ERR), SIGNET_OK);
	hsm_token_desc *d = NULL;
	size_t n = 0;
	char serial[17] = "";
	assert_int_equal(hsm_list_tokens(f->ctx, &d, &n, HSM_ERR), SIGNET_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, label) == 0)
			memcpy(serial, d[i].serial, sizeof(serial));
	free(d);
	assert_true(serial[0] != '\0');
	if (key)
		assert_int_equal(hsm_domain_install(f->ctx, serial, f->so_pin, key, HSM_ERR), SIGNET_OK);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(f->ctx, NULL, serial, f->user_pin, &t, HSM_ERR), SIGNET_OK);
	return t;
}

static int setup(void **state)
{
	fx *x = calloc(1, sizeof(*x));
	if (!x || softhsm_fixture_create(false, &x->f) != SIGNET_OK)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "%s/state", x->f->dir);
	if (mkdir(x->dir, 0700) != 0 || signer_state_open(x->dir, &x->st) != SIGNET_OK)
		return -1;
	x->key = domain_key();
	if (hsm_domain_id(x->key, x->domain, HSM_ERR) != SIGNET_OK ||
	    hsm_domain_install(x->f->ctx, x->f->serial, x->f->so_pin, x->key, HSM_ERR) != SIGNET_OK ||
	    hsm_token_open(x->f->ctx, NULL, x->f->serial, x->f->user_pin, &x->f->tok, HSM_ERR) !=
		    SIGNET_OK ||
	    dns_name_from_str(&x->zone, "example.com.") != SIGNET_OK)
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	fx *x = *state;
	signer_state_close(x->st);
	sg_secret_free(x->key);
	softhsm_fixture_destroy(x->f);
	free(x);
	return 0;
}

/* A P-256 ZSK of the zone in t, in the state as GENERATED (as signetd's
 * make_zsk does, short of the backup). */
static void make_zsk(fx *x, hsm_token *t, signer_key *k)
{
	char zs[DNS_NAME_STR_MAX], label[HSM_LABEL_MAX + 1];
	assert_int_equal(dns_name_to_str(&x->zone, zs, sizeof(zs)), SIGNET_OK);
	static int64_t created = 1700000000;
	assert_int_equal(hsm_key_label("zsk", zs, HSM_ALG_ECDSAP256, created++, label,
				       sizeof(label), HSM_ERR),
			 SIGNET_OK);
	hsm_key_info info;
	assert_int_equal(hsm_key_generate(t, HSM_ALG_ECDSAP256, 0, label, &info, HSM_ERR), SIGNET_OK);
	EVP_PKEY *pk = NULL;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(hsm_key_public(t, info.id, info.id_len, &pk, HSM_ERR), SIGNET_OK);
	assert_int_equal(dns_dnskey_pubkey_from_evp(13, pk, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, 13, pub.data, pub.len, &rd),
			 SIGNET_OK);
	memset(k, 0, sizeof(*k));
	k->zone = x->zone;
	memcpy(k->role, "zsk", 4);
	memcpy(k->id, info.id, info.id_len);
	k->id_len = info.id_len;
	k->alg = 13;
	k->state = SIGNER_KEY_GENERATED;
	memcpy(k->dnskey, rd.data, rd.len);
	k->dnskey_len = rd.len;
	assert_int_equal(dns_key_tag(rd.data, rd.len, &k->key_tag), SIGNET_OK);
	k->created = created;
	assert_int_equal(signer_state_add_key(x->st, k), SIGNET_OK);
	EVP_PKEY_free(pk);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
}

/* The one stored backup text of k, as a file for signer_backups_restore. */
static void file_of(fx *x, const signer_key *k, signer_backup_file *out)
{
	signer_backup_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(signer_state_list_backups(x->st, k->id, k->id_len, &rows, &n),
			 SIGNET_OK);
	assert_int_equal(n, 1);
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "zsk-test.backup");
	assert_int_equal(sg_buf_append(&out->text, rows[0].text, rows[0].text_len), SIGNET_OK);
	signer_backup_rows_free(rows, n);
}

/* The "sha256" line of a backup text made to match its content again. */
static void redigest(signer_backup_file *file)
{
	char *t = (char *)file->text.data;
	size_t len = file->text.len;
	char *last = NULL;
	for (size_t i = 0; i + 7 < len; i++)
		if ((i == 0 || t[i - 1] == '\n') && memcmp(t + i, "sha256 ", 7) == 0)
			last = t + i;
	assert_non_null(last);
	size_t covered = (size_t)(last - t);
	uint8_t md[32];
	assert_int_equal(EVP_Digest(t, covered, md, NULL, EVP_sha256(), NULL), 1);
	file->text.len = covered;
	assert_int_equal(sg_buf_printf(&file->text, "sha256 "), SIGNET_OK);
	assert_int_equal(sg_hex_encode(md, sizeof(md), &file->text), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&file->text, "\n"), SIGNET_OK);
}

/* Replace the value of line "key ..." by value. */
static void set_line(signer_backup_file *file, const char *key, const char *value)
{
	sg_buf out = SG_BUF_INIT;
	const char *p = (const char *)file->text.data, *end = p + file->text.len;
	size_t kl = strlen(key);
	bool done = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		if (!done && (size_t)(nl - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == ' ') {
			assert_int_equal(sg_buf_printf(&out, "%s %s\n", key, value), SIGNET_OK);
			done = true;
		} else {
			assert_int_equal(sg_buf_append(&out, p, (size_t)(nl - p + 1)), SIGNET_OK);
		}
		p = nl + 1;
	}
	assert_true(done);
	sg_buf_free(&file->text);
	file->text = out;
}

/* The lowest bit of the value of one base64 digit of the wrapped key. */
static void flip_wrapped_bit(signer_backup_file *file)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *t = (char *)file->text.data;
	char *w = memmem(t, file->text.len, "\nwrapped-key ", 13);
	assert_non_null(w);
	char *c = w + 13 + 20;
	const char *at = strchr(b64, *c);
	assert_non_null(at);
	*c = b64[(at - b64) ^ 1];
}

/* A new ZSK is backed up, its backup is proven from the state, and a
 * key-signing request may include it; the export writes the file. */
static void test_backup_proven(void **state)
{
	fx *x = *state;
	signer_backups *b = NULL;
	assert_int_equal(signer_backups_new(x->f->tok, x->st, -1, &b), SIGNET_OK);
	uint8_t id[HSM_ID_LEN];
	assert_true(signer_backups_domain(b, id));
	assert_memory_equal(id, x->domain, HSM_ID_LEN);
	assert_true(signer_backups_required(b));
	signer_key k;
	make_zsk(x, x->f->tok, &k);
	assert_int_equal(signer_backups_status(b, &k), SIGNER_BACKUP_MISSING);
	char msg[400] = "";
	assert_int_equal(signer_backups_check_zone(b, &x->zone, msg, sizeof(msg)), SIGNET_ESTATE);
	assert_non_null(strstr(msg, "no backup is stored"));
	assert_int_equal(signer_backups_zsk(b, &k), SIGNET_OK);
	assert_int_equal(signer_backups_status(b, &k), SIGNER_BACKUP_PROVEN);
	assert_int_equal(signer_backups_check_zone(b, &x->zone, msg, sizeof(msg)), SIGNET_OK);
	/* The key leaves the token only wrapped: its value stays hidden. */
	assert_int_equal(hsm_key_value_hidden(x->f->tok, k.id, k.id_len, HSM_ERR), SIGNET_OK);
	size_t n = 0;
	assert_int_equal(signer_backups_export(x->st, x->dir, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	signer_backup_file *files = NULL;
	size_t nf = 0;
	assert_int_equal(signer_backup_files_read(x->dir, &files, &nf, msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(nf, 1);
	hsm_backup hb;
	assert_int_equal(hsm_backup_decode(files[0].text.data, files[0].text.len, &hb, HSM_ERR), SIGNET_OK);
	assert_memory_equal(hb.id, k.id, k.id_len);
	assert_int_equal(hb.key_tag, k.key_tag);
	hsm_backup_free(&hb);
	signer_backup_files_free(files, nf);
	signer_backups_free(b);
}

/* require-backup: a key that cannot be backed up is destroyed again, and a
 * ZSK without a backup, or with another key's, keeps the zone's requests
 * out; with require-backup off both pass. */
static void test_require(void **state)
{
	fx *x = *state;
	signer_backups *b = NULL, *off = NULL;
	/* A never-extractable key, as made before the domain was installed. */
	signer_key old;
	make_zsk(x, x->f->tok, &old);
	assert_int_equal(signer_backups_new(x->f->tok, x->st, 1, &b), SIGNET_OK);
	char msg[400] = "";
	assert_int_equal(signer_backups_check_zone(b, &x->zone, msg, sizeof(msg)), SIGNET_ESTATE);
	assert_non_null(strstr(msg, "no backup is stored"));
	assert_int_equal(signer_backups_new(x->f->tok, x->st, 0, &off), SIGNET_OK);
	assert_false(signer_backups_required(off));
	assert_int_equal(signer_backups_check_zone(off, &x->zone, msg, sizeof(msg)), SIGNET_OK);
	/* Kept, without a backup, when backups are not required. */
	assert_int_equal(signer_backups_zsk(off, &old), SIGNET_OK);
	hsm_key_info info;
	assert_int_equal(hsm_key_find(x->f->tok, old.id, old.id_len, &info, HSM_ERR), SIGNET_OK);
	assert_int_equal(signer_backups_status(off, &old), SIGNER_BACKUP_MISSING);
	/* Destroyed when they are: it cannot be wrapped. */
	signer_key k2;
	hsm_token_set_wrappable_keys(x->f->tok, false);
	make_zsk(x, x->f->tok, &k2);
	hsm_token_set_wrappable_keys(x->f->tok, true);
	assert_int_not_equal(signer_backups_zsk(b, &k2), SIGNET_OK);
	assert_int_equal(hsm_key_find(x->f->tok, k2.id, k2.id_len, &info, HSM_ERR), SIGNET_ENOTFOUND);
	/* A stored backup that is another key's does not count. */
	signer_key good;
	make_zsk(x, x->f->tok, &good);
	assert_int_equal(signer_backups_zsk(b, &good), SIGNET_OK);
	signer_backup_file f;
	file_of(x, &good, &f);
	signer_backup_row row;
	memset(&row, 0, sizeof(row));
	row.zone = x->zone;
	memcpy(row.id, old.id, old.id_len);
	row.id_len = old.id_len;
	memcpy(row.domain_id, x->domain, HSM_ID_LEN);
	row.text = f.text.data;
	row.text_len = f.text.len;
	row.created = 1;
	row.proven = 1;
	assert_int_equal(signer_state_put_backup(x->st, &row), SIGNET_OK);
	msg[0] = '\0';
	assert_int_equal(signer_backups_check_zone(b, &x->zone, msg, sizeof(msg)), SIGNET_ESTATE);
	assert_non_null(strstr(msg, "not this key's"));
	assert_int_equal(signer_state_put_backup(x->st, &row), SIGNET_EEXIST);
	sg_buf_free(&f.text);
	signer_backups_free(off);
	signer_backups_free(b);
}

/* Restore into a token without the domain is refused; require-backup on a
 * token without a domain refuses to start. */
static void test_no_domain(void **state)
{
	fx *x = *state;
	signer_backups *b = NULL, *nd = NULL;
	assert_int_equal(signer_backups_new(x->f->tok, x->st, -1, &b), SIGNET_OK);
	signer_key k;
	make_zsk(x, x->f->tok, &k);
	assert_int_equal(signer_backups_zsk(b, &k), SIGNET_OK);
	signer_backup_file f;
	file_of(x, &k, &f);
	hsm_token *bare = token(x, "bare", NULL);
	assert_int_equal(signer_backups_new(bare, x->st, 1, &nd), SIGNET_ESTATE);
	assert_int_equal(signer_backups_new(bare, x->st, -1, &nd), SIGNET_OK);
	assert_false(signer_backups_required(nd));
	assert_int_equal(signer_backups_status(nd, &k), SIGNER_BACKUP_NONE);
	size_t before = 0, after = 0, restored = 9;
	char msg[400] = "";
	assert_int_equal(hsm_object_count(bare, &before, HSM_ERR), SIGNET_OK);
	assert_int_equal(signer_backups_restore(nd, &f, 1, NULL, NULL, &restored, msg, sizeof(msg)),
			 SIGNET_ESTATE);
	assert_non_null(strstr(msg, "no backup domain"));
	assert_int_equal(restored, 0);
	assert_int_equal(hsm_object_count(bare, &after, HSM_ERR), SIGNET_OK);
	assert_int_equal(after, before);
	sg_buf_free(&f.text);
	signer_backups_free(nd);
	signer_backups_free(b);
	hsm_token_close(bare);
}

/* One refused restore: the error, the words of the message, nothing made. */
static void refused(signer_backups *b, hsm_token *t, signer_backup_file *f, signet_err want,
		    const char *words)
{
	size_t before = 0, after = 0, restored = 9;
	char msg[400] = "";
	assert_int_equal(hsm_object_count(t, &before, HSM_ERR), SIGNET_OK);
	signet_err got = signer_backups_restore(b, f, 1, NULL, NULL, &restored, msg, sizeof(msg));
	if (got != want || strstr(msg, words) == NULL)
		fail_msg("restore gave %s \"%s\", wanted %s with \"%s\"", signet_errname(got), msg,
			 signet_errname(want), words);
	assert_int_equal(restored, 0);
	assert_int_equal(hsm_object_count(t, &after, HSM_ERR), SIGNET_OK);
	assert_int_equal(after, before);
}

static void test_restore_attacks(void **state)
{
	fx *x = *state;
	signer_backups *b1 = NULL, *b2 = NULL, *b3 = NULL;
	assert_int_equal(signer_backups_new(x->f->tok, x->st, -1, &b1), SIGNET_OK);
	signer_key k;
	make_zsk(x, x->f->tok, &k);
	assert_int_equal(signer_backups_zsk(b1, &k), SIGNET_OK);
	/* A clone token of the same domain receives it; a token of another
	 * domain makes a key of its own. */
	hsm_token *clone = token(x, "clone", x->key);
	sg_secret *other_key = domain_key();
	hsm_token *other = token(x, "other", other_key);
	assert_int_equal(signer_backups_new(clone, x->st, -1, &b2), SIGNET_OK);
	assert_int_equal(signer_backups_new(other, x->st, -1, &b3), SIGNET_OK);
	signer_key ko;
	make_zsk(x, other, &ko);
	assert_int_equal(signer_backups_zsk(b3, &ko), SIGNET_OK);

	signer_backup_file f;
	file_of(x, &k, &f);
	/* one bit of the wrapped key */
	flip_wrapped_bit(&f);
	refused(b2, clone, &f, SIGNET_EVERIFY, "digest does not match");
	/* the same with the digest made to match: the wrapped key must unwrap */
	redigest(&f);
	refused(b2, clone, &f, SIGNET_EVERIFY, "does not prove");
	sg_buf_free(&f.text);
	/* wrapped to another domain than the token's */
	file_of(x, &ko, &f);
	refused(b2, clone, &f, SIGNET_EVERIFY, "another backup domain");
	/* ... and claiming this domain: it does not unwrap with it */
	char hex[2 * HSM_ID_LEN + 1];
	for (size_t i = 0; i < HSM_ID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", x->domain[i]);
	set_line(&f, "domain-id", hex);
	redigest(&f);
	refused(b2, clone, &f, SIGNET_EVERIFY, "does not prove");
	sg_buf_free(&f.text);
	/* truncated */
	file_of(x, &k, &f);
	f.text.len /= 2;
	refused(b2, clone, &f, SIGNET_EPARSE, "malformed");
	f.text.len = 0;
	refused(b2, clone, &f, SIGNET_EPARSE, "not a");
	sg_buf_free(&f.text);
	/* another zone's key: the label names another zone */
	file_of(x, &k, &f);
	set_line(&f, "label", "signet:zsk:example.net.:13:20261206T000000Z");
	redigest(&f);
	refused(b2, clone, &f, SIGNET_EVERIFY, "not of a ZSK of this zone");
	sg_buf_free(&f.text);
	/* a key the state does not know */
	file_of(x, &k, &f);
	set_line(&f, "key-id", "00112233445566778899aabbccddeeff");
	redigest(&f);
	refused(b2, clone, &f, SIGNET_ENOTFOUND, "no ZSK of this signetd's state");
	sg_buf_free(&f.text);
	/* a key of that ID present: never overwritten */
	file_of(x, &k, &f);
	refused(b1, x->f->tok, &f, SIGNET_EEXIST, "holds a key with this ID already");

	/* The good file restores into the clone, which then signs for the
	 * key's DNSKEY; a second restore is refused. */
	size_t restored = 0;
	char msg[400] = "";
	assert_int_equal(signer_backups_restore(b2, &f, 1, NULL, NULL, &restored, msg, sizeof(msg)),
			 SIGNET_OK);
	assert_int_equal(restored, 1);
	hsm_key_info info;
	assert_int_equal(hsm_key_find(clone, k.id, k.id_len, &info, HSM_ERR), SIGNET_OK);
	assert_true(info.sensitive && info.wrap_with_trusted && !info.can_decrypt);
	assert_int_equal(hsm_key_value_hidden(clone, k.id, k.id_len, HSM_ERR), SIGNET_OK);
	hsm_session *s = NULL;
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen = 0;
	assert_int_equal(hsm_session_open(clone, &s, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_sign(s, k.id, k.id_len, (const uint8_t *)"data", 4, sig, sizeof(sig),
				  &siglen, HSM_ERR),
			 SIGNET_OK);
	hsm_session_close(s);
	assert_int_equal(siglen, 64);
	EVP_PKEY *a = NULL, *c = NULL;
	assert_int_equal(hsm_key_public(x->f->tok, k.id, k.id_len, &a, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_public(clone, k.id, k.id_len, &c, HSM_ERR), SIGNET_OK);
	assert_int_equal(EVP_PKEY_eq(a, c), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(c);
	refused(b2, clone, &f, SIGNET_EEXIST, "holds a key with this ID already");
	sg_buf_free(&f.text);

	signer_backups_free(b1);
	signer_backups_free(b2);
	signer_backups_free(b3);
	hsm_token_close(clone);
	hsm_token_close(other);
	sg_secret_free(other_key);
}

/* A state file of a later schema is refused, not misread. */
static void test_schema_version(void **state)
{
	fx *x = *state;
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/newer", x->f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	signer_state *st = NULL;
	assert_int_equal(signer_state_open(dir, &st), SIGNET_OK);
	signer_state_close(st);
	char path[320];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(signer_state_open(dir, &st), SIGNET_ESTATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_proven, setup, teardown),
		cmocka_unit_test_setup_teardown(test_require, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_attacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
