/* state.c -- zones, policies, keys, requests and bundles in SQLite. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "signer/signer.h"

struct signer_state {
	sqlite3 *db;
	pthread_mutex_t lock;  /* one change (transaction) at a time */
	/* The two reads every SignRRsets call makes, prepared once: parsing
	 * the SQL each time cost more than the rest of the call (bar C_Sign).
	 * A statement is used by one thread at a time, under hot_lock. */
	pthread_mutex_t hot_lock;
	sqlite3_stmt *policy_stmt;
	sqlite3_stmt *keys_stmt;
};

/* The cached statement *slot for sql, prepared on first use; call with
 * hot_lock held, and sqlite3_reset it (under the lock) when done. */
static int hot_stmt(signer_state *st, sqlite3_stmt **slot, const char *sql)
{
	if (*slot)
		return SQLITE_OK;
	return sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS zones("
	" name BLOB PRIMARY KEY, algorithm INTEGER, rsa_bits INTEGER,"
	" validity INTEGER, backdate INTEGER, jitter INTEGER, min_validity INTEGER,"
	" max_validity INTEGER, denial INTEGER, nsec3_iterations INTEGER,"
	" nsec3_salt BLOB, nsec3_opt_out INTEGER, dnskey_ttl INTEGER,"
	" keyset_period INTEGER, verify INTEGER, created INTEGER);"
	"CREATE TABLE IF NOT EXISTS keys("
	" zone BLOB NOT NULL, role TEXT NOT NULL, id BLOB, alg INTEGER, tag INTEGER,"
	" state INTEGER, dnskey BLOB NOT NULL, created INTEGER,"
	" PRIMARY KEY(zone, dnskey));"
	"CREATE TABLE IF NOT EXISTS requests("
	" zone BLOB NOT NULL, serial INTEGER NOT NULL, text BLOB NOT NULL,"
	" created INTEGER, PRIMARY KEY(zone, serial));"
	"CREATE TABLE IF NOT EXISTS bundles("
	" zone BLOB NOT NULL, serial INTEGER NOT NULL, text BLOB NOT NULL,"
	" imported INTEGER, PRIMARY KEY(zone, serial));";

/* Version 1 added key_backups (ZSK backups, backup.c). A file of a later
 * version is refused: an older signetd would not know what it holds. */
#define STATE_SCHEMA_VERSION 1
static const char backup_schema[] =
	"CREATE TABLE IF NOT EXISTS key_backups("
	" id BLOB PRIMARY KEY, zone BLOB NOT NULL, domain BLOB NOT NULL,"
	" text BLOB NOT NULL, created INTEGER NOT NULL, proven INTEGER NOT NULL);";

/* Columns added after the first schema: added to older files on open. */
static const struct {
	const char *table, *column;
} added[] = {
	{"zones", "zsk_lifetime"}, {"zones", "ksk_lifetime"}, {"zones", "ds_ttl"},
	{"zones", "max_zone_ttl"}, {"zones", "propagation"}, {"zones", "publish_margin"},
	{"zones", "retire_margin"}, {"zones", "refresh"}, {"zones", "ksk_roll"},
	{"zones", "insecure"},
	{"keys", "t_publish"}, {"keys", "t_active"}, {"keys", "t_retire"},
	{"keys", "t_remove"}, {"keys", "ds_seen"}, {"keys", "committed"},
	{"keys", "is_foreign"}, {"keys", "p_publish"}, {"keys", "p_active"},
	{"keys", "p_retire"}, {"keys", "p_remove"},
};

static signet_err db_err(sqlite3 *db, const char *what)
{
	sg_log(SG_LOG_ERROR, "state: %s: %s", what, sqlite3_errmsg(db));
	return SIGNET_EIO;
}

/* A statement prepared for one use; what names it in the log. */
static signet_err prepare(sqlite3 *db, const char *sql, const char *what, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(db, sql, -1, s, NULL) == SQLITE_OK)
		return SIGNET_OK;
	sg_log(SG_LOG_ERROR, "state: prepare %s: %s", what, sqlite3_errmsg(db));
	return SIGNET_EIO;
}

/* Run an INSERT or UPDATE prepared by prepare() and finalize it: SIGNET_EEXIST
 * when it breaks a constraint, SIGNET_EIO when it fails otherwise; *changed,
 * if given, gets the number of rows it changed. */
static signet_err change(sqlite3 *db, sqlite3_stmt *s, const char *what, int *changed)
{
	int rc = sqlite3_step(s);
	signet_err ret = SIGNET_OK;
	if (rc == SQLITE_CONSTRAINT)
		ret = SIGNET_EEXIST;
	else if (rc != SQLITE_DONE)
		ret = db_err(db, what);
	else if (changed)
		*changed = sqlite3_changes(db);
	sqlite3_finalize(s);
	return ret;
}

/* Add an INTEGER column (default 0) unless the table has it. */
static signet_err add_column(sqlite3 *db, const char *table, const char *column)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT 1 FROM pragma_table_info('%s') WHERE name = '%s'",
		 table, column);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(db, "table info");
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return SIGNET_OK;
	if (rc != SQLITE_DONE)
		return db_err(db, "table info");
	snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s INTEGER NOT NULL DEFAULT 0",
		 table, column);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, sql);
	return SIGNET_OK;
}

/* Bring the file to STATE_SCHEMA_VERSION; refuse a newer one. */
static signet_err schema_version(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return db_err(db, "user_version");
	int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (v < 0)
		return db_err(db, "user_version");
	if (v > STATE_SCHEMA_VERSION) {
		sg_log(SG_LOG_ERROR, "state: schema version %d is newer than this signetd's %d",
		       v, STATE_SCHEMA_VERSION);
		return SIGNET_ESTATE;
	}
	if (sqlite3_exec(db, backup_schema, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, "key_backups");
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STATE_SCHEMA_VERSION);
	if (v != STATE_SCHEMA_VERSION && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, "user_version");
	return SIGNET_OK;
}

signet_err signer_state_open(const char *dir, signer_state **out)
{
	if (!dir || !out)
		return SIGNET_EINVAL;
	char path[SIGNER_PATH_MAX + 16];
	if ((size_t)snprintf(path, sizeof(path), "%s/state.db", dir) >= sizeof(path))
		return SIGNET_ERANGE;
	signer_state *st = calloc(1, sizeof(*st));
	if (!st)
		return SIGNET_ENOMEM;
	int rc = sqlite3_open_v2(path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_FULLMUTEX, NULL);
	signet_err ret = SIGNET_OK;
	if (rc != SQLITE_OK)
		ret = db_err(st->db, path);
	/* SQLite opens a file it cannot write read-only without a word; every
	 * administrative change would then fail later. Refuse now. */
	if (ret == SIGNET_OK && sqlite3_db_readonly(st->db, "main") == 1) {
		sg_log(SG_LOG_ERROR, "state: %s is read-only (read-only file system or file "
		       "mode); signetd must be able to write it", path);
		ret = SIGNET_EPERM;
	}
	/* WAL with synchronous FULL: a change the client saw acknowledged
	 * survives a crash or power loss. */
	if (ret == SIGNET_OK &&
	    sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK)
		ret = db_err(st->db, "pragmas");
	if (ret == SIGNET_OK && sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		ret = db_err(st->db, "schema");
	for (size_t i = 0; ret == SIGNET_OK && i < sizeof(added) / sizeof(added[0]); i++)
		ret = add_column(st->db, added[i].table, added[i].column);
	if (ret == SIGNET_OK)
		ret = schema_version(st->db);
	if (ret != SIGNET_OK) {
		sqlite3_close(st->db);
		free(st);
		return ret;
	}
	sqlite3_busy_timeout(st->db, 5000);
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->hot_lock, NULL);
	*out = st;
	return SIGNET_OK;
}

void signer_state_close(signer_state *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->policy_stmt);
	sqlite3_finalize(st->keys_stmt);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->hot_lock);
	free(st);
}

static dns_name lower(const dns_name *n)
{
	dns_name l = *n;
	dns_name_lower(&l);
	return l;
}

static signet_err exec(signer_state *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(st->db, sql);
	return SIGNET_OK;
}

/* One change at a time: the lock, then an immediate (writing) transaction.
 * On failure nothing is held. */
static signet_err txn_begin(signer_state *st)
{
	pthread_mutex_lock(&st->lock);
	signet_err ret = exec(st, "BEGIN IMMEDIATE");
	if (ret != SIGNET_OK)
		pthread_mutex_unlock(&st->lock);
	return ret;
}

/* Commit when ret is SIGNET_OK, else (or if the commit fails) roll back;
 * releases what txn_begin took and returns the outcome. */
static signet_err txn_end(signer_state *st, signet_err ret)
{
	if (ret == SIGNET_OK)
		ret = exec(st, "COMMIT");
	if (ret != SIGNET_OK)
		(void)exec(st, "ROLLBACK");
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err insert_key(signer_state *st, const signer_key *k)
{
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db,
				 "INSERT INTO keys(zone, role, id, alg, tag, state, dnskey, created,"
				 " t_publish, t_active, t_retire, t_remove, ds_seen, committed,"
				 " is_foreign, p_publish, p_active, p_retire, p_remove)"
				 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", "key insert", &s);
	if (ret != SIGNET_OK)
		return ret;
	dns_name z = lower(&k->zone);
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, k->role, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 3, k->id, (int)k->id_len, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 4, k->alg);
	sqlite3_bind_int(s, 5, k->key_tag);
	sqlite3_bind_int(s, 6, (int)k->state);
	sqlite3_bind_blob(s, 7, k->dnskey, (int)k->dnskey_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 8, k->created);
	sqlite3_bind_int64(s, 9, k->t_publish);
	sqlite3_bind_int64(s, 10, k->t_active);
	sqlite3_bind_int64(s, 11, k->t_retire);
	sqlite3_bind_int64(s, 12, k->t_remove);
	sqlite3_bind_int64(s, 13, k->ds_seen);
	sqlite3_bind_int(s, 14, k->committed);
	sqlite3_bind_int(s, 15, k->foreign);
	sqlite3_bind_int64(s, 16, k->p_publish);
	sqlite3_bind_int64(s, 17, k->p_active);
	sqlite3_bind_int64(s, 18, k->p_retire);
	sqlite3_bind_int64(s, 19, k->p_remove);
	return change(st->db, s, "key insert", NULL);
}

/* The rollover fields of the policy (columns added after the first schema). */
static signet_err update_timing(signer_state *st, const dns_name *z, const signer_policy *p)
{
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db,
				 "UPDATE zones SET zsk_lifetime = ?, ksk_lifetime = ?, ds_ttl = ?,"
				 " max_zone_ttl = ?, propagation = ?, publish_margin = ?,"
				 " retire_margin = ?, refresh = ?, ksk_roll = ? WHERE name = ?",
				 "timing", &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_int64(s, 1, p->zsk_lifetime);
	sqlite3_bind_int64(s, 2, p->ksk_lifetime);
	sqlite3_bind_int64(s, 3, p->ds_ttl);
	sqlite3_bind_int64(s, 4, p->max_zone_ttl);
	sqlite3_bind_int64(s, 5, p->propagation);
	sqlite3_bind_int64(s, 6, p->publish_margin);
	sqlite3_bind_int64(s, 7, p->retire_margin);
	sqlite3_bind_int64(s, 8, p->refresh);
	sqlite3_bind_int(s, 9, (int)p->ksk_roll);
	sqlite3_bind_blob(s, 10, z->wire, z->len, SQLITE_TRANSIENT);
	int changed = 0;
	ret = change(st->db, s, "timing", &changed);
	return ret == SIGNET_OK && changed != 1 ? SIGNET_ENOTFOUND : ret;
}

/* Bind the 14 policy columns, in the order zones' INSERT and UPDATE name
 * them, starting at parameter first. */
static void bind_policy(sqlite3_stmt *s, int first, const signer_policy *p)
{
	int i = first;
	sqlite3_bind_int(s, i++, p->algorithm);
	sqlite3_bind_int(s, i++, (int)p->rsa_bits);
	sqlite3_bind_int64(s, i++, p->validity);
	sqlite3_bind_int64(s, i++, p->backdate);
	sqlite3_bind_int64(s, i++, p->jitter);
	sqlite3_bind_int64(s, i++, p->min_validity);
	sqlite3_bind_int64(s, i++, p->max_validity);
	sqlite3_bind_int(s, i++, (int)p->denial);
	sqlite3_bind_int(s, i++, p->nsec3_iterations);
	sqlite3_bind_blob(s, i++, p->nsec3_salt, p->nsec3_salt_len, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, i++, p->nsec3_opt_out);
	sqlite3_bind_int64(s, i++, p->dnskey_ttl);
	sqlite3_bind_int64(s, i++, p->keyset_period);
	sqlite3_bind_int(s, i, (int)p->verify);
}

signet_err signer_state_add_zone(signer_state *st, const dns_name *zone,
				 const signer_policy *p, const signer_key *ksks,
				 size_t nksk)
{
	if (!st || !zone || !p || (nksk && !ksks))
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	signet_err ret = txn_begin(st);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_stmt *s = NULL;
	ret = prepare(st->db,
		      "INSERT INTO zones(name, algorithm, rsa_bits, validity, backdate,"
		      " jitter, min_validity, max_validity, denial, nsec3_iterations,"
		      " nsec3_salt, nsec3_opt_out, dnskey_ttl, keyset_period, verify,"
		      " created) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", "zone insert", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
		bind_policy(s, 2, p);
		sqlite3_bind_int64(s, 16, signer_clock_now());
		ret = change(st->db, s, "zone insert", NULL);
	}
	if (ret == SIGNET_OK)
		ret = update_timing(st, &z, p);
	for (size_t i = 0; ret == SIGNET_OK && i < nksk; i++)
		ret = insert_key(st, &ksks[i]);
	return txn_end(st, ret);
}

signet_err signer_state_zone_policy(signer_state *st, const dns_name *zone,
				    signer_policy *out)
{
	if (!st || !zone || !out)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	pthread_mutex_lock(&st->hot_lock);
	if (hot_stmt(st, &st->policy_stmt,
			       "SELECT algorithm, rsa_bits, validity, backdate, jitter,"
			       " min_validity, max_validity, denial, nsec3_iterations,"
			       " nsec3_salt, nsec3_opt_out, dnskey_ttl, keyset_period, verify,"
			       " zsk_lifetime, ksk_lifetime, ds_ttl, max_zone_ttl, propagation,"
			       " publish_margin, retire_margin, refresh, ksk_roll"
			       " FROM zones WHERE name = ?") != SQLITE_OK) {
		signet_err e = db_err(st->db, "prepare zone select");
		pthread_mutex_unlock(&st->hot_lock);
		return e;
	}
	sqlite3_stmt *s = st->policy_stmt;
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	signet_err ret = SIGNET_OK;
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->algorithm = (uint8_t)sqlite3_column_int(s, 0);
		out->rsa_bits = (unsigned)sqlite3_column_int(s, 1);
		out->validity = (uint32_t)sqlite3_column_int64(s, 2);
		out->backdate = (uint32_t)sqlite3_column_int64(s, 3);
		out->jitter = (uint32_t)sqlite3_column_int64(s, 4);
		out->min_validity = (uint32_t)sqlite3_column_int64(s, 5);
		out->max_validity = (uint32_t)sqlite3_column_int64(s, 6);
		out->denial = (signer_denial)sqlite3_column_int(s, 7);
		out->nsec3_iterations = (uint16_t)sqlite3_column_int(s, 8);
		int sl = sqlite3_column_bytes(s, 9);
		if (sl > 0 && sl <= 255) {
			memcpy(out->nsec3_salt, sqlite3_column_blob(s, 9), (size_t)sl);
			out->nsec3_salt_len = (uint8_t)sl;
		}
		out->nsec3_opt_out = sqlite3_column_int(s, 10) != 0;
		out->dnskey_ttl = (uint32_t)sqlite3_column_int64(s, 11);
		out->keyset_period = (uint32_t)sqlite3_column_int64(s, 12);
		out->verify = (signer_verify)sqlite3_column_int(s, 13);
		/* Zones stored before these fields existed read 0: the default. */
		signer_policy d;
		signer_policy_defaults(&d);
		uint32_t *f[] = {&out->zsk_lifetime, &out->ksk_lifetime, &out->ds_ttl,
				 &out->max_zone_ttl, &out->propagation, &out->publish_margin,
				 &out->retire_margin, &out->refresh};
		const uint32_t dv[] = {d.zsk_lifetime, d.ksk_lifetime, d.ds_ttl, d.max_zone_ttl,
				       d.propagation, d.publish_margin, d.retire_margin,
				       out->validity / 4};
		for (int i = 0; i < 8; i++) {
			int64_t v = sqlite3_column_int64(s, 14 + i);
			*f[i] = v > 0 && v <= UINT32_MAX ? (uint32_t)v : dv[i];
		}
		int kr = sqlite3_column_int(s, 22);
		out->ksk_roll = kr == SIGNER_KSK_DOUBLE_DS ? SIGNER_KSK_DOUBLE_DS
			: SIGNER_KSK_DOUBLE_KSK;
	} else if (rc == SQLITE_DONE) {
		ret = SIGNET_ENOTFOUND;
	} else {
		ret = db_err(st->db, "zone select");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	pthread_mutex_unlock(&st->hot_lock);
	return ret;
}

signet_err signer_state_list_zones(signer_state *st, dns_name **out, size_t *n)
{
	if (!st || !out || !n)
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, "SELECT name FROM zones ORDER BY name", "zones", &s);
	if (ret != SIGNET_OK)
		return ret;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		dns_name *g = realloc(*out, (*n + 1) * sizeof(*g));
		if (!g) {
			ret = SIGNET_ENOMEM;
			break;
		}
		*out = g;
		int len = sqlite3_column_bytes(s, 0);
		if (dns_name_from_wire(&g[*n], sqlite3_column_blob(s, 0), (size_t)len,
				       NULL) != SIGNET_OK) {
			ret = SIGNET_EPARSE;
			break;
		}
		(*n)++;
	}
	if (ret == SIGNET_OK && rc != SQLITE_DONE)
		ret = db_err(st->db, "zones");
	sqlite3_finalize(s);
	if (ret != SIGNET_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

signet_err signer_state_add_key(signer_state *st, const signer_key *k)
{
	if (!st || !k || k->dnskey_len == 0 || k->dnskey_len > SIGNER_DNSKEY_MAX ||
	    k->id_len > HSM_ID_MAX)
		return SIGNET_EINVAL;
	pthread_mutex_lock(&st->lock);
	signet_err ret = insert_key(st, k);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

signet_err signer_state_list_keys(signer_state *st, const dns_name *zone,
				  signer_key_state state, signer_key **out,
				  size_t *n)
{
	if (!st || !out || !n)
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->hot_lock);
	if (hot_stmt(st, &st->keys_stmt,
			       "SELECT zone, role, id, alg, tag, state, dnskey, created, t_publish,"
			       " t_active, t_retire, t_remove, ds_seen, committed, is_foreign,"
			       " p_publish, p_active, p_retire, p_remove FROM keys"
			       " WHERE (?1 IS NULL OR zone = ?1)"
			       " ORDER BY zone, created, rowid") != SQLITE_OK) {
		signet_err e = db_err(st->db, "prepare keys");
		pthread_mutex_unlock(&st->hot_lock);
		return e;
	}
	sqlite3_stmt *s = st->keys_stmt;
	dns_name z;
	if (zone) {
		z = lower(zone);
		sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(s, 1);
	}
	int64_t now = signer_clock_now();
	signet_err ret = SIGNET_OK;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		signer_key *g = realloc(*out, (*n + 1) * sizeof(*g));
		if (!g) {
			ret = SIGNET_ENOMEM;
			break;
		}
		*out = g;
		signer_key *k = &g[*n];
		memset(k, 0, sizeof(*k));
		int zl = sqlite3_column_bytes(s, 0);
		int il = sqlite3_column_bytes(s, 2);
		int dl = sqlite3_column_bytes(s, 6);
		const unsigned char *role = sqlite3_column_text(s, 1);
		if (dns_name_from_wire(&k->zone, sqlite3_column_blob(s, 0), (size_t)zl,
				       NULL) != SIGNET_OK ||
		    il > HSM_ID_MAX || dl <= 0 || dl > SIGNER_DNSKEY_MAX || !role ||
		    strlen((const char *)role) >= sizeof(k->role)) {
			ret = SIGNET_EPARSE;
			break;
		}
		memcpy(k->role, role, strlen((const char *)role) + 1);
		if (il > 0)
			memcpy(k->id, sqlite3_column_blob(s, 2), (size_t)il);
		k->id_len = (size_t)il;
		k->alg = (uint8_t)sqlite3_column_int(s, 3);
		k->key_tag = (uint16_t)sqlite3_column_int(s, 4);
		k->state = (signer_key_state)sqlite3_column_int(s, 5);
		memcpy(k->dnskey, sqlite3_column_blob(s, 6), (size_t)dl);
		k->dnskey_len = (size_t)dl;
		k->created = sqlite3_column_int64(s, 7);
		k->t_publish = sqlite3_column_int64(s, 8);
		k->t_active = sqlite3_column_int64(s, 9);
		k->t_retire = sqlite3_column_int64(s, 10);
		k->t_remove = sqlite3_column_int64(s, 11);
		k->ds_seen = sqlite3_column_int64(s, 12);
		k->committed = sqlite3_column_int(s, 13) != 0;
		k->foreign = sqlite3_column_int(s, 14) != 0;
		k->p_publish = sqlite3_column_int64(s, 15);
		k->p_active = sqlite3_column_int64(s, 16);
		k->p_retire = sqlite3_column_int64(s, 17);
		k->p_remove = sqlite3_column_int64(s, 18);
		k->state = signer_key_state_at(k, now);
		if (state == 0 || k->state == state)
			(*n)++;
	}
	if (ret == SIGNET_OK && rc != SQLITE_DONE)
		ret = db_err(st->db, "keys");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	pthread_mutex_unlock(&st->hot_lock);
	if (ret != SIGNET_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

static signet_err update_state(signer_state *st, const dns_name *z,
			       const uint8_t *dnskey, size_t len, signer_key_state state,
			       int *changed)
{
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, "UPDATE keys SET state = ? WHERE zone = ? AND dnskey = ?",
				 "key update", &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_int(s, 1, (int)state);
	sqlite3_bind_blob(s, 2, z->wire, z->len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 3, dnskey, (int)len, SQLITE_TRANSIENT);
	return change(st->db, s, "key update", changed);
}

signet_err signer_state_set_key_state(signer_state *st, const dns_name *zone,
				      const uint8_t *dnskey, size_t dnskey_len,
				      signer_key_state state)
{
	if (!st || !zone || !dnskey || state < SIGNER_KEY_GENERATED ||
	    state > SIGNER_KEY_REMOVED)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	int changed = 0;
	pthread_mutex_lock(&st->lock);
	signet_err ret = update_state(st, &z, dnskey, dnskey_len, state, &changed);
	pthread_mutex_unlock(&st->lock);
	if (ret == SIGNET_OK && changed == 0)
		return SIGNET_ENOTFOUND;
	return ret;
}

signer_key_state signer_key_state_at(const signer_key *k, int64_t now)
{
	if (!k->committed || (k->t_publish == 0 && k->t_active == 0))
		return k->state;
	bool acts = k->t_active && now >= k->t_active && (!k->t_retire || now < k->t_retire);
	bool shown = k->t_publish && now >= k->t_publish && (!k->t_remove || now < k->t_remove);
	if (strcmp(k->role, "ksk") == 0) {
		/* A KSK signs only in the ceremony: it is published while in the
		 * DNSKEY RRset, retired there once its DS is no longer wanted. */
		if (shown)
			return k->t_retire && now >= k->t_retire ? SIGNER_KEY_RETIRED
				: SIGNER_KEY_PUBLISHED;
		if (k->t_remove && now >= k->t_remove)
			return SIGNER_KEY_REMOVED;
		return SIGNER_KEY_GENERATED;
	}
	if (acts)
		return SIGNER_KEY_ACTIVE;
	if (shown)
		return k->t_active && now >= k->t_active ? SIGNER_KEY_RETIRED : SIGNER_KEY_PUBLISHED;
	if ((k->t_remove && now >= k->t_remove) || (k->t_retire && now >= k->t_retire))
		return SIGNER_KEY_REMOVED;
	return SIGNER_KEY_GENERATED;
}

signet_err signer_state_set_schedule(signer_state *st, const signer_key *k)
{
	if (!st || !k || k->dnskey_len == 0 || k->dnskey_len > SIGNER_DNSKEY_MAX)
		return SIGNET_EINVAL;
	dns_name z = lower(&k->zone);
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->lock);
	int changed = 0;
	signet_err ret = prepare(st->db,
				 "UPDATE keys SET p_publish = ?, p_active = ?, p_retire = ?,"
				 " p_remove = ?, ds_seen = ? WHERE zone = ? AND dnskey = ?",
				 "schedule", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_int64(s, 1, k->p_publish);
		sqlite3_bind_int64(s, 2, k->p_active);
		sqlite3_bind_int64(s, 3, k->p_retire);
		sqlite3_bind_int64(s, 4, k->p_remove);
		sqlite3_bind_int64(s, 5, k->ds_seen);
		sqlite3_bind_blob(s, 6, z.wire, z.len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 7, k->dnskey, (int)k->dnskey_len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "schedule", &changed);
	}
	if (ret == SIGNET_OK && changed == 0)
		ret = SIGNET_ENOTFOUND;
	pthread_mutex_unlock(&st->lock);
	return ret;
}

signet_err signer_state_reset_plan(signer_state *st, const dns_name *zone)
{
	if (!st || !zone)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->lock);
	/* A foreign ZSK's publication and removal are the operator's decisions
	 * (add/remove-foreign-zsk), not plans of an unanswered request: they
	 * survive. */
	signet_err ret = prepare(st->db,
				 "UPDATE keys SET"
				 " p_publish = CASE WHEN is_foreign = 1 AND t_publish = 0"
				 "   THEN p_publish ELSE t_publish END,"
				 " p_active = t_active, p_retire = t_retire,"
				 " p_remove = CASE WHEN is_foreign = 1 AND t_remove = 0"
				 "   THEN p_remove ELSE t_remove END WHERE zone = ?",
				 "reset plan", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "reset plan", NULL);
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

signet_err signer_state_set_policy(signer_state *st, const dns_name *zone,
				   const signer_policy *p)
{
	if (!st || !zone || !p)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	signet_err ret = txn_begin(st);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_stmt *s = NULL;
	int changed = 0;
	ret = prepare(st->db,
		      "UPDATE zones SET algorithm = ?, rsa_bits = ?, validity = ?,"
		      " backdate = ?, jitter = ?, min_validity = ?, max_validity = ?,"
		      " denial = ?, nsec3_iterations = ?, nsec3_salt = ?, nsec3_opt_out = ?,"
		      " dnskey_ttl = ?, keyset_period = ?, verify = ? WHERE name = ?",
		      "policy", &s);
	if (ret == SIGNET_OK) {
		bind_policy(s, 1, p);
		sqlite3_bind_blob(s, 15, z.wire, z.len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "policy", &changed);
	}
	if (ret == SIGNET_OK && changed == 0)
		ret = SIGNET_ENOTFOUND;
	if (ret == SIGNET_OK)
		ret = update_timing(st, &z, p);
	return txn_end(st, ret);
}

signet_err signer_state_zone_insecure(signer_state *st, const dns_name *zone, bool *on)
{
	if (!st || !zone || !on)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, "SELECT insecure FROM zones WHERE name = ?", "insecure",
				 &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*on = sqlite3_column_int(s, 0) != 0;
	else if (rc == SQLITE_DONE)
		ret = SIGNET_ENOTFOUND;
	else
		ret = db_err(st->db, "insecure");
	sqlite3_finalize(s);
	return ret;
}

signet_err signer_state_set_zone_insecure(signer_state *st, const dns_name *zone, bool on)
{
	if (!st || !zone)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->lock);
	int changed = 0;
	signet_err ret = prepare(st->db, "UPDATE zones SET insecure = ? WHERE name = ?",
				 "insecure", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_int(s, 1, on);
		sqlite3_bind_blob(s, 2, z.wire, z.len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "insecure", &changed);
	}
	if (ret == SIGNET_OK && changed == 0)
		ret = SIGNET_ENOTFOUND;
	pthread_mutex_unlock(&st->lock);
	return ret;
}

/* Run a one-row query on (zone) giving an integer and optionally a blob. */
static signet_err last_row(signer_state *st, const char *sql, const dns_name *zone,
			   uint64_t *serial, sg_buf *text)
{
	dns_name z = lower(zone);
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, sql, "last row", &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*serial = (uint64_t)sqlite3_column_int64(s, 0);
		if (text) {
			int n = sqlite3_column_bytes(s, 1);
			ret = sg_buf_append(text, sqlite3_column_blob(s, 1), (size_t)n);
		}
	} else if (rc == SQLITE_DONE) {
		ret = SIGNET_ENOTFOUND;
	} else {
		ret = db_err(st->db, "last row");
	}
	sqlite3_finalize(s);
	return ret;
}

signet_err signer_state_next_serial(signer_state *st, const dns_name *zone,
				    uint64_t *serial)
{
	if (!st || !zone || !serial)
		return SIGNET_EINVAL;
	uint64_t last = 0;
	signet_err ret = last_row(st, "SELECT serial FROM requests WHERE zone = ?"
				  " ORDER BY serial DESC LIMIT 1", zone, &last, NULL);
	if (ret == SIGNET_ENOTFOUND)
		ret = SIGNET_OK;
	*serial = last + 1;
	return ret;
}

static signet_err insert_text(signer_state *st, const char *sql, const dns_name *zone,
			      uint64_t serial, const uint8_t *text, size_t len)
{
	dns_name z = lower(zone);
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, sql, "text insert", &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)serial);
	sqlite3_bind_blob(s, 3, text, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, signer_clock_now());
	return change(st->db, s, "text insert", NULL);
}

signet_err signer_state_save_request(signer_state *st, const dns_name *zone,
				     uint64_t serial, const uint8_t *text, size_t len)
{
	if (!st || !zone || !text || len > INT32_MAX)
		return SIGNET_EINVAL;
	pthread_mutex_lock(&st->lock);
	signet_err ret = insert_text(st, "INSERT INTO requests VALUES(?,?,?,?)", zone,
				     serial, text, len);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

signet_err signer_state_last_request(signer_state *st, const dns_name *zone,
				     uint64_t *serial, sg_buf *text)
{
	if (!st || !zone || !serial || !text)
		return SIGNET_EINVAL;
	return last_row(st, "SELECT serial, text FROM requests WHERE zone = ?"
			" ORDER BY serial DESC LIMIT 1", zone, serial, text);
}

signet_err signer_state_save_bundle(signer_state *st, const dns_name *zone,
				    uint64_t serial, const uint8_t *text, size_t len,
				    const dns_rrset *publish)
{
	if (!st || !zone || !text || !publish || len > INT32_MAX)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	signet_err ret = txn_begin(st);
	if (ret != SIGNET_OK)
		return ret;
	ret = insert_text(st, "INSERT INTO bundles VALUES(?,?,?,?)", zone, serial, text, len);
	if (ret == SIGNET_OK) {
		/* The ceremony signed the request these schedules were planned
		 * for: from now on the clock moves these keys. */
		sqlite3_stmt *s = NULL;
		ret = prepare(st->db,
			      "UPDATE keys SET committed = 1, t_publish = p_publish,"
			      " t_active = p_active, t_retire = p_retire, t_remove = p_remove"
			      " WHERE zone = ? AND (p_publish != 0 OR p_active != 0)", "commit", &s);
		if (ret == SIGNET_OK) {
			sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
			ret = change(st->db, s, "commit", NULL);
		}
	}
	for (size_t i = 0; ret == SIGNET_OK && i < publish->count; i++) {
		sqlite3_stmt *s = NULL;
		ret = prepare(st->db,
			      "UPDATE keys SET state = ? WHERE zone = ? AND dnskey = ?"
			      " AND role = 'zsk' AND state = ? AND committed = 0", "publish", &s);
		if (ret != SIGNET_OK)
			break;
		sqlite3_bind_int(s, 1, SIGNER_KEY_PUBLISHED);
		sqlite3_bind_blob(s, 2, z.wire, z.len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 3, publish->rr[i].data, publish->rr[i].len,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 4, SIGNER_KEY_GENERATED);
		ret = change(st->db, s, "publish", NULL);
	}
	if (ret == SIGNET_OK) {
		/* The first published ZSK takes over when none signs yet. */
		sqlite3_stmt *s = NULL;
		ret = prepare(st->db,
			      "UPDATE keys SET state = ?1 WHERE rowid = (SELECT rowid FROM keys"
			      " WHERE zone = ?2 AND role = 'zsk' AND state = ?3 AND committed = 0"
			      " AND is_foreign = 0 ORDER BY created LIMIT 1) AND NOT EXISTS"
			      " (SELECT 1 FROM keys WHERE zone = ?2 AND role = 'zsk' AND"
			      " (state = ?1 OR committed = 1) AND is_foreign = 0)", "activate", &s);
		if (ret == SIGNET_OK) {
			sqlite3_bind_int(s, 1, SIGNER_KEY_ACTIVE);
			sqlite3_bind_blob(s, 2, z.wire, z.len, SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 3, SIGNER_KEY_PUBLISHED);
			ret = change(st->db, s, "activate", NULL);
		}
	}
	return txn_end(st, ret);
}

signet_err signer_state_bundle(signer_state *st, const dns_name *zone,
			       uint64_t *serial, sg_buf *text)
{
	if (!st || !zone || !serial || !text)
		return SIGNET_EINVAL;
	return last_row(st, "SELECT serial, text FROM bundles WHERE zone = ?"
			" ORDER BY serial DESC LIMIT 1", zone, serial, text);
}

const char *signer_key_state_name(signer_key_state s)
{
	switch (s) {
	case SIGNER_KEY_GENERATED: return "generated";
	case SIGNER_KEY_PUBLISHED: return "published";
	case SIGNER_KEY_ACTIVE: return "active";
	case SIGNER_KEY_RETIRED: return "retired";
	case SIGNER_KEY_REMOVED: return "removed";
	}
	return "unknown";
}

/* ---- ZSK backups (schema version 1) -------------------------------------- */

signet_err signer_state_put_backup(signer_state *st, const signer_backup_row *b)
{
	if (!st || !b || b->id_len == 0 || b->id_len > HSM_ID_MAX || !b->text ||
	    b->text_len == 0 || b->text_len > SIGNER_BACKUP_TEXT_MAX)
		return SIGNET_EINVAL;
	dns_name z = lower(&b->zone);
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->lock);
	signet_err ret = prepare(st->db, "INSERT INTO key_backups VALUES(?,?,?,?,?,?)",
				 "backup insert", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_blob(s, 1, b->id, (int)b->id_len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 2, z.wire, z.len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 3, b->domain_id, HSM_ID_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 4, b->text, (int)b->text_len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, b->created);
		sqlite3_bind_int64(s, 6, b->proven);
		ret = change(st->db, s, "backup insert", NULL);
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

signet_err signer_state_set_backup_proven(signer_state *st, const uint8_t *id, size_t id_len,
					  int64_t when)
{
	if (!st || !id || id_len == 0 || id_len > HSM_ID_MAX)
		return SIGNET_EINVAL;
	sqlite3_stmt *s = NULL;
	int changed = 0;
	pthread_mutex_lock(&st->lock);
	signet_err ret = prepare(st->db, "UPDATE key_backups SET proven = ? WHERE id = ?",
				 "backup proven", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_int64(s, 1, when);
		sqlite3_bind_blob(s, 2, id, (int)id_len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "backup proven", &changed);
	}
	pthread_mutex_unlock(&st->lock);
	if (ret == SIGNET_OK && changed == 0)
		ret = SIGNET_ENOTFOUND;
	return ret;
}

signet_err signer_state_list_backups(signer_state *st, const uint8_t *id, size_t id_len,
				     signer_backup_row **out, size_t *n)
{
	if (!st || !out || !n || id_len > HSM_ID_MAX || (id && id_len == 0))
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db,
				 "SELECT id, zone, domain, text, created, proven FROM key_backups"
				 " WHERE (?1 IS NULL OR id = ?1) ORDER BY zone, created, id",
				 "backups", &s);
	if (ret != SIGNET_OK)
		return ret;
	if (id)
		sqlite3_bind_blob(s, 1, id, (int)id_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 1);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int il = sqlite3_column_bytes(s, 0), zl = sqlite3_column_bytes(s, 1);
		int dl = sqlite3_column_bytes(s, 2), tl = sqlite3_column_bytes(s, 3);
		if (il <= 0 || il > HSM_ID_MAX || dl != HSM_ID_LEN || tl <= 0 ||
		    tl > SIGNER_BACKUP_TEXT_MAX) {
			ret = SIGNET_EPARSE;
			break;
		}
		signer_backup_row *g = realloc(*out, (*n + 1) * sizeof(*g));
		uint8_t *text = malloc((size_t)tl);
		if (!g || !text) {
			if (g)
				*out = g;
			free(text);
			ret = SIGNET_ENOMEM;
			break;
		}
		*out = g;
		signer_backup_row *b = &g[*n];
		memset(b, 0, sizeof(*b));
		if (dns_name_from_wire(&b->zone, sqlite3_column_blob(s, 1), (size_t)zl, NULL) !=
		    SIGNET_OK) {
			free(text);
			ret = SIGNET_EPARSE;
			break;
		}
		memcpy(b->id, sqlite3_column_blob(s, 0), (size_t)il);
		b->id_len = (size_t)il;
		memcpy(b->domain_id, sqlite3_column_blob(s, 2), HSM_ID_LEN);
		memcpy(text, sqlite3_column_blob(s, 3), (size_t)tl);
		b->text = text;
		b->text_len = (size_t)tl;
		b->created = sqlite3_column_int64(s, 4);
		b->proven = sqlite3_column_int64(s, 5);
		(*n)++;
	}
	if (ret == SIGNET_OK && rc != SQLITE_DONE)
		ret = db_err(st->db, "backups");
	sqlite3_finalize(s);
	if (ret != SIGNET_OK) {
		signer_backup_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

void signer_backup_rows_free(signer_backup_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free((void *)rows[i].text);
	free(rows);
}
