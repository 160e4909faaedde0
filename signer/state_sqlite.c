/* state_sqlite.c -- the state in one SQLite file (state.db): the embedded
 * engine for a single signetd. Over 800 lines for one job: every query of
 * the state API (signer.h) for this engine, in one transaction model. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "signer/signer.h"
#include "signer/state_backend.h"

typedef struct sqlite_state {
	sqlite3 *db;
	pthread_mutex_t lock; /* one change (transaction) at a time */
	/* The two reads every SignRRsets call makes, prepared once: parsing
	 * the SQL each time cost more than the rest of the call (bar C_Sign).
	 * A statement is used by one thread at a time, under hot_lock. */
	pthread_mutex_t hot_lock;
	sqlite3_stmt *policy_stmt;
	sqlite3_stmt *keys_stmt;
	pthread_mutex_t zone_mu; /* signer_state_zone_lock: one process uses the file */
	bool zone_held;          /* zone_mu is held (by the closing thread, if at all) */
} sqlite_state;

/* The cached statement *slot for sql, prepared on first use; call with
 * hot_lock held, and sqlite3_reset it (under the lock) when done. */
static int hot_stmt(sqlite_state *st, sqlite3_stmt **slot, const char *sql)
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

/* Columns added after the first schema: added to older files on open. */
static const struct {
	const char *table, *column;
} added[] = {
	{"zones", "zsk_lifetime"},  {"zones", "ksk_lifetime"}, {"zones", "ds_ttl"},
	{"zones", "max_zone_ttl"},  {"zones", "propagation"},  {"zones", "publish_margin"},
	{"zones", "retire_margin"}, {"zones", "refresh"},      {"zones", "ksk_roll"},
	{"zones", "insecure"},      {"keys", "t_publish"},     {"keys", "t_active"},
	{"keys", "t_retire"},       {"keys", "t_remove"},      {"keys", "ds_seen"},
	{"keys", "committed"},      {"keys", "is_foreign"},    {"keys", "p_publish"},
	{"keys", "p_active"},       {"keys", "p_retire"},      {"keys", "p_remove"},
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
	snprintf(sql, sizeof(sql), "SELECT 1 FROM pragma_table_info('%s') WHERE name = '%s'", table,
		 column);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(db, "table info");
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return SIGNET_OK;
	if (rc != SQLITE_DONE)
		return db_err(db, "table info");
	snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s INTEGER NOT NULL DEFAULT 0", table,
		 column);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, sql);
	return SIGNET_OK;
}

/* Bring the file to STATE_SCHEMA_VERSION (PRAGMA user_version; a file
 * from before the version was kept reads 0 and has every other table once
 * add_column ran); refuse a newer one, untouched (the caller rolls back). */
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
		sg_log(SG_LOG_ERROR, "state: schema version %d is newer than this signetd's %d", v,
		       STATE_SCHEMA_VERSION);
		return SIGNET_ESTATE;
	}
	/* Version 1: key_backups (ZSK backups, backup.c). */
	if (sqlite3_exec(db,
			 "CREATE TABLE IF NOT EXISTS key_backups("
			 " id BLOB PRIMARY KEY, zone BLOB NOT NULL, domain BLOB NOT NULL,"
			 " text BLOB NOT NULL, created INTEGER NOT NULL, proven INTEGER NOT NULL);",
			 NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, "key_backups");
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STATE_SCHEMA_VERSION);
	if (v != STATE_SCHEMA_VERSION && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(db, "user_version");
	return SIGNET_OK;
}

static void sqlite_close(void *b);
static const state_ops sqlite_ops;

signet_err state_sqlite_open(const char *dir, const state_ops **ops, void **b)
{
	if (!dir || !ops || !b)
		return SIGNET_EINVAL;
	char path[SIGNER_PATH_MAX + 16];
	if ((size_t)snprintf(path, sizeof(path), "%s/state.db", dir) >= sizeof(path))
		return SIGNET_ERANGE;
	sqlite_state *st = calloc(1, sizeof(*st));
	if (!st)
		return SIGNET_ENOMEM;
	int rc = sqlite3_open_v2(path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	signet_err ret = SIGNET_OK;
	if (rc != SQLITE_OK)
		ret = db_err(st->db, path);
	/* SQLite opens a file it cannot write read-only without a word; every
	 * administrative change would then fail later. Refuse now. */
	if (ret == SIGNET_OK && sqlite3_db_readonly(st->db, "main") == 1) {
		sg_log(SG_LOG_ERROR,
		       "state: %s is read-only (read-only file system or file "
		       "mode); signetd must be able to write it",
		       path);
		ret = SIGNET_EPERM;
	}
	/* WAL with synchronous FULL: a change the client saw acknowledged
	 * survives a crash or power loss. */
	if (ret == SIGNET_OK && sqlite3_exec(st->db,
					     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
					     "PRAGMA foreign_keys=ON;",
					     NULL, NULL, NULL) != SQLITE_OK)
		ret = db_err(st->db, "pragmas");
	if (ret == SIGNET_OK)
		sqlite3_busy_timeout(st->db, 5000);
	/* Create or upgrade in one transaction: a crash half-way leaves the
	 * file as it was. */
	if (ret == SIGNET_OK &&
	    sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		ret = db_err(st->db, "begin");
	else if (ret == SIGNET_OK) {
		if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)
			ret = db_err(st->db, "schema");
		for (size_t i = 0; ret == SIGNET_OK && i < sizeof(added) / sizeof(added[0]); i++)
			ret = add_column(st->db, added[i].table, added[i].column);
		if (ret == SIGNET_OK)
			ret = schema_version(st->db);
		if (ret == SIGNET_OK &&
		    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			ret = db_err(st->db, "commit");
		if (ret != SIGNET_OK)
			(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	if (ret != SIGNET_OK) {
		sqlite3_close(st->db);
		free(st);
		return ret;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->hot_lock, NULL);
	pthread_mutex_init(&st->zone_mu, NULL);
	*ops = &sqlite_ops;
	*b = st;
	return SIGNET_OK;
}

static void sqlite_close(void *b)
{
	sqlite_state *st = b;
	if (!st)
		return;
	if (st->zone_held)
		pthread_mutex_unlock(&st->zone_mu);
	sqlite3_finalize(st->policy_stmt);
	sqlite3_finalize(st->keys_stmt);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->hot_lock);
	pthread_mutex_destroy(&st->zone_mu);
	free(st);
}

static signet_err exec(sqlite_state *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(st->db, sql);
	return SIGNET_OK;
}

/* One change at a time: the lock, then an immediate (writing) transaction.
 * On failure nothing is held. */
static signet_err txn_begin(sqlite_state *st)
{
	pthread_mutex_lock(&st->lock);
	signet_err ret = exec(st, "BEGIN IMMEDIATE");
	if (ret != SIGNET_OK)
		pthread_mutex_unlock(&st->lock);
	return ret;
}

/* Commit when ret is SIGNET_OK, else (or if the commit fails) roll back;
 * releases what txn_begin took and returns the outcome. */
static signet_err txn_end(sqlite_state *st, signet_err ret)
{
	if (ret == SIGNET_OK)
		ret = exec(st, "COMMIT");
	if (ret != SIGNET_OK)
		(void)exec(st, "ROLLBACK");
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err insert_key(sqlite_state *st, const signer_key *k)
{
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db,
				 "INSERT INTO keys(" STATE_KEY_COLUMNS
				 ")"
				 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				 "key insert", &s);
	if (ret != SIGNET_OK)
		return ret;
	int64_t v[STATE_KEY_NCOL];
	state_key_encode(k, v);
	for (int i = 0; i < STATE_KEY_NCOL; i++)
		sqlite3_bind_int64(s, i + 1, v[i]);
	sqlite3_bind_blob(s, 1, k->zone.wire, k->zone.len, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, k->role, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 3, k->id, (int)k->id_len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 7, k->dnskey, (int)k->dnskey_len, SQLITE_TRANSIENT);
	return change(st->db, s, "key insert", NULL);
}

/* Bind the 23 policy columns in STATE_POLICY_COLUMNS' order, starting at
 * parameter first. */
static void bind_policy(sqlite3_stmt *s, int first, const signer_policy *p)
{
	int64_t v[STATE_POLICY_NCOL];
	state_policy_encode(p, v);
	for (int i = 0; i < STATE_POLICY_NCOL; i++)
		if (i == STATE_POL_SALT)
			sqlite3_bind_blob(s, first + i, p->nsec3_salt, p->nsec3_salt_len,
					  SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(s, first + i, v[i]);
}

static signet_err sq_add_zone(void *b, const dns_name *z, const signer_policy *p,
			      const signer_key *ksks, size_t nksk)
{
	sqlite_state *st = b;
	signet_err ret = txn_begin(st);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_stmt *s = NULL;
	ret = prepare(st->db,
		      "INSERT INTO zones(name, " STATE_POLICY_COLUMNS
		      ", created)"
		      " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		      "zone insert", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
		bind_policy(s, 2, p);
		sqlite3_bind_int64(s, 2 + STATE_POLICY_NCOL, signer_clock_now());
		ret = change(st->db, s, "zone insert", NULL);
	}
	for (size_t i = 0; ret == SIGNET_OK && i < nksk; i++)
		ret = insert_key(st, &ksks[i]);
	return txn_end(st, ret);
}

static signet_err sq_zone_policy(void *b, const dns_name *z, signer_policy *out)
{
	sqlite_state *st = b;
	pthread_mutex_lock(&st->hot_lock);
	if (hot_stmt(st, &st->policy_stmt,
		     "SELECT " STATE_POLICY_COLUMNS " FROM zones WHERE name = ?") != SQLITE_OK) {
		signet_err e = db_err(st->db, "prepare zone select");
		pthread_mutex_unlock(&st->hot_lock);
		return e;
	}
	sqlite3_stmt *s = st->policy_stmt;
	sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	signet_err ret = SIGNET_OK;
	if (rc == SQLITE_ROW) {
		int64_t v[STATE_POLICY_NCOL];
		for (int i = 0; i < STATE_POLICY_NCOL; i++)
			v[i] = sqlite3_column_int64(s, i);
		int sl = sqlite3_column_bytes(s, STATE_POL_SALT);
		state_policy_decode(v, sqlite3_column_blob(s, STATE_POL_SALT),
				    sl > 0 && sl <= 255 ? (size_t)sl : 0, out);
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

static signet_err sq_list_zones(void *b, dns_name **out, size_t *n)
{
	sqlite_state *st = b;
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
		if (dns_name_from_wire(&g[*n], sqlite3_column_blob(s, 0), (size_t)len, NULL) !=
		    SIGNET_OK) {
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

static signet_err sq_add_key(void *b, const signer_key *k)
{
	sqlite_state *st = b;
	pthread_mutex_lock(&st->lock);
	signet_err ret = insert_key(st, k);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err sq_list_keys(void *b, const dns_name *z, signer_key **out, size_t *n)
{
	sqlite_state *st = b;
	pthread_mutex_lock(&st->hot_lock);
	if (hot_stmt(st, &st->keys_stmt,
		     "SELECT " STATE_KEY_COLUMNS " FROM keys WHERE (?1 IS NULL OR zone = ?1)"
		     " ORDER BY zone, created, rowid") != SQLITE_OK) {
		signet_err e = db_err(st->db, "prepare keys");
		pthread_mutex_unlock(&st->hot_lock);
		return e;
	}
	sqlite3_stmt *s = st->keys_stmt;
	if (z)
		sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 1);
	signet_err ret = SIGNET_OK;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		signer_key *g = realloc(*out, (*n + 1) * sizeof(*g));
		if (!g) {
			ret = SIGNET_ENOMEM;
			break;
		}
		*out = g;
		state_key_row r = {
			.zone = sqlite3_column_blob(s, 0),
			.zone_len = (size_t)sqlite3_column_bytes(s, 0),
			.role = (const char *)sqlite3_column_text(s, 1),
			.id = sqlite3_column_blob(s, 2),
			.id_len = (size_t)sqlite3_column_bytes(s, 2),
			.dnskey = sqlite3_column_blob(s, 6),
			.dnskey_len = (size_t)sqlite3_column_bytes(s, 6),
		};
		for (int i = 0; i < STATE_KEY_NCOL; i++)
			r.v[i] = sqlite3_column_int64(s, i);
		ret = state_key_decode(&r, &g[*n]);
		if (ret != SIGNET_OK)
			break;
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

static signet_err sq_set_key_state(void *b, const dns_name *z, const uint8_t *dnskey, size_t len,
				   signer_key_state state)
{
	sqlite_state *st = b;
	sqlite3_stmt *s = NULL;
	int changed = 0;
	pthread_mutex_lock(&st->lock);
	signet_err ret = prepare(st->db, "UPDATE keys SET state = ? WHERE zone = ? AND dnskey = ?",
				 "key update", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_int(s, 1, (int)state);
		sqlite3_bind_blob(s, 2, z->wire, z->len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 3, dnskey, (int)len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "key update", &changed);
	}
	pthread_mutex_unlock(&st->lock);
	return ret == SIGNET_OK && changed == 0 ? SIGNET_ENOTFOUND : ret;
}

static signet_err sq_set_schedule(void *b, const signer_key *k)
{
	sqlite_state *st = b;
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
		sqlite3_bind_blob(s, 6, k->zone.wire, k->zone.len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 7, k->dnskey, (int)k->dnskey_len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "schedule", &changed);
	}
	if (ret == SIGNET_OK && changed == 0)
		ret = SIGNET_ENOTFOUND;
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err sq_reset_plan(void *b, const dns_name *z)
{
	sqlite_state *st = b;
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
		sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "reset plan", NULL);
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err sq_set_policy(void *b, const dns_name *z, const signer_policy *p)
{
	sqlite_state *st = b;
	signet_err ret = txn_begin(st);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_stmt *s = NULL;
	int changed = 0;
	ret = prepare(st->db,
		      "UPDATE zones SET (" STATE_POLICY_COLUMNS
		      ") ="
		      " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) WHERE name = ?",
		      "policy", &s);
	if (ret == SIGNET_OK) {
		bind_policy(s, 1, p);
		sqlite3_bind_blob(s, 1 + STATE_POLICY_NCOL, z->wire, z->len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "policy", &changed);
	}
	if (ret == SIGNET_OK && changed == 0)
		ret = SIGNET_ENOTFOUND;
	return txn_end(st, ret);
}

static signet_err sq_zone_insecure(void *b, const dns_name *z, bool *on)
{
	sqlite_state *st = b;
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, "SELECT insecure FROM zones WHERE name = ?", "insecure",
				 &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
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

static signet_err sq_set_zone_insecure(void *b, const dns_name *z, bool on)
{
	sqlite_state *st = b;
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->lock);
	int changed = 0;
	signet_err ret = prepare(st->db, "UPDATE zones SET insecure = ? WHERE name = ?", "insecure",
				 &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_int(s, 1, on);
		sqlite3_bind_blob(s, 2, z->wire, z->len, SQLITE_TRANSIENT);
		ret = change(st->db, s, "insecure", &changed);
	}
	if (ret == SIGNET_OK && changed == 0)
		ret = SIGNET_ENOTFOUND;
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err sq_last_text(void *b, bool bundles, const dns_name *z, uint64_t *serial,
			       sg_buf *text)
{
	sqlite_state *st = b;
	const char *sql =
		bundles ? "SELECT serial, text FROM bundles WHERE zone = ? ORDER BY serial DESC LIMIT 1"
			: "SELECT serial, text FROM requests WHERE zone = ? ORDER BY serial DESC LIMIT 1";
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, sql, "last row", &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
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

static signet_err insert_text(sqlite_state *st, const char *sql, const dns_name *z, uint64_t serial,
			      const uint8_t *text, size_t len)
{
	sqlite3_stmt *s = NULL;
	signet_err ret = prepare(st->db, sql, "text insert", &s);
	if (ret != SIGNET_OK)
		return ret;
	sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)serial);
	sqlite3_bind_blob(s, 3, text, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, signer_clock_now());
	return change(st->db, s, "text insert", NULL);
}

static signet_err sq_save_request(void *b, const dns_name *z, uint64_t serial, const uint8_t *text,
				  size_t len)
{
	sqlite_state *st = b;
	pthread_mutex_lock(&st->lock);
	signet_err ret = insert_text(st, "INSERT INTO requests VALUES(?,?,?,?)", z, serial, text,
				     len);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err sq_save_bundle(void *b, const dns_name *z, uint64_t serial, const uint8_t *text,
				 size_t len, const dns_rrset *publish)
{
	sqlite_state *st = b;
	signet_err ret = txn_begin(st);
	if (ret != SIGNET_OK)
		return ret;
	ret = insert_text(st, "INSERT INTO bundles VALUES(?,?,?,?)", z, serial, text, len);
	if (ret == SIGNET_OK) {
		/* The ceremony signed the request these schedules were planned
		 * for: from now on the clock moves these keys. */
		sqlite3_stmt *s = NULL;
		ret = prepare(st->db,
			      "UPDATE keys SET committed = 1, t_publish = p_publish,"
			      " t_active = p_active, t_retire = p_retire, t_remove = p_remove"
			      " WHERE zone = ? AND (p_publish != 0 OR p_active != 0)",
			      "commit", &s);
		if (ret == SIGNET_OK) {
			sqlite3_bind_blob(s, 1, z->wire, z->len, SQLITE_TRANSIENT);
			ret = change(st->db, s, "commit", NULL);
		}
	}
	for (size_t i = 0; ret == SIGNET_OK && i < publish->count; i++) {
		sqlite3_stmt *s = NULL;
		ret = prepare(st->db,
			      "UPDATE keys SET state = ? WHERE zone = ? AND dnskey = ?"
			      " AND role = 'zsk' AND state = ? AND committed = 0",
			      "publish", &s);
		if (ret != SIGNET_OK)
			break;
		sqlite3_bind_int(s, 1, SIGNER_KEY_PUBLISHED);
		sqlite3_bind_blob(s, 2, z->wire, z->len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 3, publish->rr[i].data, publish->rr[i].len, SQLITE_TRANSIENT);
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
			      " (state = ?1 OR committed = 1) AND is_foreign = 0)",
			      "activate", &s);
		if (ret == SIGNET_OK) {
			sqlite3_bind_int(s, 1, SIGNER_KEY_ACTIVE);
			sqlite3_bind_blob(s, 2, z->wire, z->len, SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 3, SIGNER_KEY_PUBLISHED);
			ret = change(st->db, s, "activate", NULL);
		}
	}
	return txn_end(st, ret);
}

/* One signetd uses a file (SQLite's locks do not reach other machines):
 * a mutex of this process is enough. */
static signet_err sq_zone_lock(void *b, const dns_name *z)
{
	(void)z;
	sqlite_state *st = b;
	pthread_mutex_lock(&st->zone_mu);
	st->zone_held = true;
	return SIGNET_OK;
}

static void sq_zone_unlock(void *b, const dns_name *z)
{
	(void)z;
	sqlite_state *st = b;
	st->zone_held = false;
	pthread_mutex_unlock(&st->zone_mu);
}

static signet_err sq_ping(void *b)
{
	(void)b;
	return SIGNET_OK;
}

static uint64_t sq_version(void *b)
{
	sqlite_state *st = b;
	return (uint64_t)sqlite3_total_changes64(st->db);
}

static signet_err sq_put_backup(void *b, const signer_backup_row *r)
{
	sqlite_state *st = b;
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->lock);
	signet_err ret = prepare(st->db, "INSERT INTO key_backups VALUES(?,?,?,?,?,?)",
				 "backup insert", &s);
	if (ret == SIGNET_OK) {
		sqlite3_bind_blob(s, 1, r->id, (int)r->id_len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 2, r->zone.wire, r->zone.len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 3, r->domain_id, HSM_ID_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 4, r->text, (int)r->text_len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, r->created);
		sqlite3_bind_int64(s, 6, r->proven);
		ret = change(st->db, s, "backup insert", NULL);
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static signet_err sq_set_backup_proven(void *b, const uint8_t *id, size_t id_len, int64_t when)
{
	sqlite_state *st = b;
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
	return ret == SIGNET_OK && changed == 0 ? SIGNET_ENOTFOUND : ret;
}

static signet_err sq_list_backups(void *b, const uint8_t *id, size_t id_len,
				  signer_backup_row **out, size_t *n)
{
	sqlite_state *st = b;
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
		signer_backup_row *g = realloc(*out, (*n + 1) * sizeof(*g));
		if (!g) {
			ret = SIGNET_ENOMEM;
			break;
		}
		*out = g;
		ret = state_backup_decode(
			sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0),
			sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1),
			sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
			sqlite3_column_blob(s, 3), (size_t)sqlite3_column_bytes(s, 3),
			sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5), &g[*n]);
		if (ret != SIGNET_OK)
			break;
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

static const state_ops sqlite_ops = {
	.name = "sqlite",
	.close = sqlite_close,
	.add_zone = sq_add_zone,
	.zone_policy = sq_zone_policy,
	.list_zones = sq_list_zones,
	.add_key = sq_add_key,
	.list_keys = sq_list_keys,
	.set_key_state = sq_set_key_state,
	.set_schedule = sq_set_schedule,
	.reset_plan = sq_reset_plan,
	.set_policy = sq_set_policy,
	.zone_insecure = sq_zone_insecure,
	.set_zone_insecure = sq_set_zone_insecure,
	.last_text = sq_last_text,
	.save_request = sq_save_request,
	.save_bundle = sq_save_bundle,
	.zone_lock = sq_zone_lock,
	.zone_unlock = sq_zone_unlock,
	.put_backup = sq_put_backup,
	.set_backup_proven = sq_set_backup_proven,
	.list_backups = sq_list_backups,
	.ping = sq_ping,
	.version = sq_version,
};
