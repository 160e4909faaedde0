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
};

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

static signet_err db_err(sqlite3 *db, const char *what)
{
	sg_log(SG_LOG_ERROR, "state: %s: %s", what, sqlite3_errmsg(db));
	return SIGNET_EIO;
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
	/* WAL with synchronous FULL: a change the client saw acknowledged
	 * survives a crash or power loss. */
	if (ret == SIGNET_OK &&
	    sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK)
		ret = db_err(st->db, "pragmas");
	if (ret == SIGNET_OK && sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		ret = db_err(st->db, "schema");
	if (ret != SIGNET_OK) {
		sqlite3_close(st->db);
		free(st);
		return ret;
	}
	sqlite3_busy_timeout(st->db, 5000);
	pthread_mutex_init(&st->lock, NULL);
	*out = st;
	return SIGNET_OK;
}

void signer_state_close(signer_state *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
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

static signet_err insert_key(signer_state *st, const signer_key *k)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO keys(zone, role, id, alg, tag, state, dnskey, created)"
			       " VALUES(?,?,?,?,?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
		return db_err(st->db, "prepare key insert");
	dns_name z = lower(&k->zone);
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, k->role, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 3, k->id, (int)k->id_len, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 4, k->alg);
	sqlite3_bind_int(s, 5, k->key_tag);
	sqlite3_bind_int(s, 6, (int)k->state);
	sqlite3_bind_blob(s, 7, k->dnskey, (int)k->dnskey_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 8, k->created);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return SIGNET_EEXIST;
	if (rc != SQLITE_DONE)
		return db_err(st->db, "key insert");
	return SIGNET_OK;
}

signet_err signer_state_add_zone(signer_state *st, const dns_name *zone,
				 const signer_policy *p, const signer_key *ksks,
				 size_t nksk)
{
	if (!st || !zone || !p || (nksk && !ksks))
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	pthread_mutex_lock(&st->lock);
	signet_err ret = exec(st, "BEGIN IMMEDIATE");
	if (ret != SIGNET_OK) {
		pthread_mutex_unlock(&st->lock);
		return ret;
	}
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO zones VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &s, NULL) != SQLITE_OK) {
		ret = db_err(st->db, "prepare zone insert");
	} else {
		sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 2, p->algorithm);
		sqlite3_bind_int(s, 3, (int)p->rsa_bits);
		sqlite3_bind_int64(s, 4, p->validity);
		sqlite3_bind_int64(s, 5, p->backdate);
		sqlite3_bind_int64(s, 6, p->jitter);
		sqlite3_bind_int64(s, 7, p->min_validity);
		sqlite3_bind_int64(s, 8, p->max_validity);
		sqlite3_bind_int(s, 9, (int)p->denial);
		sqlite3_bind_int(s, 10, p->nsec3_iterations);
		sqlite3_bind_blob(s, 11, p->nsec3_salt, p->nsec3_salt_len, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 12, p->nsec3_opt_out);
		sqlite3_bind_int64(s, 13, p->dnskey_ttl);
		sqlite3_bind_int64(s, 14, p->keyset_period);
		sqlite3_bind_int(s, 15, (int)p->verify);
		sqlite3_bind_int64(s, 16, (int64_t)time(NULL));
		int rc = sqlite3_step(s);
		if (rc == SQLITE_CONSTRAINT)
			ret = SIGNET_EEXIST;
		else if (rc != SQLITE_DONE)
			ret = db_err(st->db, "zone insert");
		sqlite3_finalize(s);
	}
	for (size_t i = 0; ret == SIGNET_OK && i < nksk; i++)
		ret = insert_key(st, &ksks[i]);
	if (ret == SIGNET_OK)
		ret = exec(st, "COMMIT");
	if (ret != SIGNET_OK)
		(void)exec(st, "ROLLBACK");
	pthread_mutex_unlock(&st->lock);
	return ret;
}

signet_err signer_state_zone_policy(signer_state *st, const dns_name *zone,
				    signer_policy *out)
{
	if (!st || !zone || !out)
		return SIGNET_EINVAL;
	dns_name z = lower(zone);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT algorithm, rsa_bits, validity, backdate, jitter,"
			       " min_validity, max_validity, denial, nsec3_iterations,"
			       " nsec3_salt, nsec3_opt_out, dnskey_ttl, keyset_period, verify"
			       " FROM zones WHERE name = ?", -1, &s, NULL) != SQLITE_OK)
		return db_err(st->db, "prepare zone select");
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
	} else if (rc == SQLITE_DONE) {
		ret = SIGNET_ENOTFOUND;
	} else {
		ret = db_err(st->db, "zone select");
	}
	sqlite3_finalize(s);
	return ret;
}

signet_err signer_state_list_zones(signer_state *st, dns_name **out, size_t *n)
{
	if (!st || !out || !n)
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT name FROM zones ORDER BY name", -1, &s,
			       NULL) != SQLITE_OK)
		return db_err(st->db, "prepare zones");
	signet_err ret = SIGNET_OK;
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
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT zone, role, id, alg, tag, state, dnskey, created FROM keys"
			       " WHERE (?1 IS NULL OR zone = ?1) AND (?2 = 0 OR state = ?2)"
			       " ORDER BY zone, created, tag", -1, &s, NULL) != SQLITE_OK)
		return db_err(st->db, "prepare keys");
	dns_name z;
	if (zone) {
		z = lower(zone);
		sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(s, 1);
	}
	sqlite3_bind_int(s, 2, (int)state);
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
		(*n)++;
	}
	if (ret == SIGNET_OK && rc != SQLITE_DONE)
		ret = db_err(st->db, "keys");
	sqlite3_finalize(s);
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
	if (sqlite3_prepare_v2(st->db, "UPDATE keys SET state = ? WHERE zone = ? AND dnskey = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return db_err(st->db, "prepare key update");
	sqlite3_bind_int(s, 1, (int)state);
	sqlite3_bind_blob(s, 2, z->wire, z->len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 3, dnskey, (int)len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_err(st->db, "key update");
	if (changed)
		*changed = sqlite3_changes(st->db);
	return SIGNET_OK;
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

/* Run a one-row query on (zone) giving an integer and optionally a blob. */
static signet_err last_row(signer_state *st, const char *sql, const dns_name *zone,
			   uint64_t *serial, sg_buf *text)
{
	dns_name z = lower(zone);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st->db, "prepare last row");
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	signet_err ret = SIGNET_OK;
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
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st->db, "prepare text insert");
	sqlite3_bind_blob(s, 1, z.wire, z.len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)serial);
	sqlite3_bind_blob(s, 3, text, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_CONSTRAINT)
		return SIGNET_EEXIST;
	if (rc != SQLITE_DONE)
		return db_err(st->db, "text insert");
	return SIGNET_OK;
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
	pthread_mutex_lock(&st->lock);
	signet_err ret = exec(st, "BEGIN IMMEDIATE");
	if (ret != SIGNET_OK) {
		pthread_mutex_unlock(&st->lock);
		return ret;
	}
	ret = insert_text(st, "INSERT INTO bundles VALUES(?,?,?,?)", zone, serial, text, len);
	for (size_t i = 0; ret == SIGNET_OK && i < publish->count; i++) {
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(st->db,
				       "UPDATE keys SET state = ? WHERE zone = ? AND dnskey = ?"
				       " AND role = 'zsk' AND state = ?", -1, &s, NULL) != SQLITE_OK) {
			ret = db_err(st->db, "prepare publish");
			break;
		}
		sqlite3_bind_int(s, 1, SIGNER_KEY_PUBLISHED);
		sqlite3_bind_blob(s, 2, z.wire, z.len, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 3, publish->rr[i].data, publish->rr[i].len,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 4, SIGNER_KEY_GENERATED);
		if (sqlite3_step(s) != SQLITE_DONE)
			ret = db_err(st->db, "publish");
		sqlite3_finalize(s);
	}
	if (ret == SIGNET_OK) {
		/* The first published ZSK takes over when none signs yet. */
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(st->db,
				       "UPDATE keys SET state = ?1 WHERE rowid = (SELECT rowid FROM keys"
				       " WHERE zone = ?2 AND role = 'zsk' AND state = ?3"
				       " ORDER BY created LIMIT 1) AND NOT EXISTS (SELECT 1 FROM keys"
				       " WHERE zone = ?2 AND role = 'zsk' AND state = ?1)",
				       -1, &s, NULL) != SQLITE_OK) {
			ret = db_err(st->db, "prepare activate");
		} else {
			sqlite3_bind_int(s, 1, SIGNER_KEY_ACTIVE);
			sqlite3_bind_blob(s, 2, z.wire, z.len, SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 3, SIGNER_KEY_PUBLISHED);
			if (sqlite3_step(s) != SQLITE_DONE)
				ret = db_err(st->db, "activate");
			sqlite3_finalize(s);
		}
	}
	if (ret == SIGNET_OK)
		ret = exec(st, "COMMIT");
	if (ret != SIGNET_OK)
		(void)exec(st, "ROLLBACK");
	pthread_mutex_unlock(&st->lock);
	return ret;
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
