/* state_pg.c -- the state in PostgreSQL (libpq), shared by signetd replicas:
 * each change one transaction under the zone's row lock, multi-step
 * changes under an advisory lock, reads of zones and keys from a snapshot
 * refreshed when the shared generation moves. Over 1,000 lines for one
 * job: every query of the state API (signer.h) for this engine, under one
 * locking and snapshot model that must be read together. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "signer/signer.h"
#include "signer/state_backend.h"

/* The advisory-lock space of signet ("Sign" in ASCII): a zone's lock is
 * this in the high half and a hash of its name in the low half. */
#define PG_LOCK_CLASS 0x5369676eull
#define PG_SCHEMA_LOCK ((int64_t)(PG_LOCK_CLASS << 32))
#define PG_RETRIES 4           /* serialization failures and deadlocks */
#define PG_CONNECT_TIMEOUT "5" /* seconds, unless the conninfo says */

/* A zone as the snapshot holds it. */
typedef struct pg_zone {
	dns_name name; /* lower case */
	signer_policy policy;
	bool insecure;
	bool has_bundle;
	uint64_t bundle_serial; /* the last imported bundle */
	uint8_t *bundle;        /* its text, owned */
	size_t bundle_len;
} pg_zone;

/* Zones and keys as one read-only transaction saw them. */
typedef struct pg_snap {
	pg_zone *zones;
	size_t nzones;
	signer_key *keys; /* ordered by zone, created, insertion */
	size_t nkeys;
	int64_t generation; /* meta's generation when read */
} pg_snap;

typedef struct pg_state {
	pthread_mutex_t mu; /* conn: one statement sequence at a time */
	PGconn *conn;
	sg_secret *conninfo; /* kept for reconnects, in locked memory */
	unsigned cache_ms, lock_timeout_ms;
	bool up;                 /* the last round trip worked (logged on change) */
	pthread_mutex_t snap_mu; /* snap, snap_writes, writes */
	pg_snap *snap;
	uint64_t snap_writes;       /* writes when snap was read */
	uint64_t writes;            /* changes this process committed */
	uint64_t installs;          /* snapshots installed (signer_state_version) */
	pthread_mutex_t refresh_mu; /* one thread reads a new snapshot */
	pthread_mutex_t zone_mu;    /* zone_lock within this process */
	int64_t zone_key;           /* the advisory lock held under zone_mu */
	bool zone_held;             /* zone_mu is held (by the closing thread, if at all) */
	char sqlstate[6];           /* of the last failed statement, under mu */
	pthread_mutex_t stop_mu;    /* stop, for the refresher */
	pthread_cond_t stop_cond;
	bool stop;
	bool refreshing; /* the refresher thread runs */
	pthread_t refresh_thread;
} pg_state;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void snap_free(pg_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nzones; i++)
		free(s->zones[i].bundle);
	free(s->zones);
	free(s->keys);
	free(s);
}

/* Note whether the database answered; a change is logged once. */
static void mark(pg_state *st, bool up, const char *why)
{
	if (up && !st->up)
		sg_log(SG_LOG_NOTICE, "state: PostgreSQL reachable");
	else if (!up && st->up)
		sg_log(SG_LOG_ERROR, "state: PostgreSQL unavailable: %s", why);
	st->up = up;
}

/* ---- statements ---------------------------------------------------------- */

#define PG_MAXP 32

/* Parameters of one statement, all in binary form. */
typedef struct pgp {
	int n;
	const char *val[PG_MAXP];
	int len[PG_MAXP];
	int fmt[PG_MAXP];
	Oid type[PG_MAXP];
	uint8_t ibuf[PG_MAXP][8];
} pgp;

static void p_i64(pgp *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		p->ibuf[p->n][i] = (uint8_t)(u >> (56 - 8 * i));
	p->val[p->n] = (const char *)p->ibuf[p->n];
	p->len[p->n] = 8;
	p->fmt[p->n] = 1;
	p->type[p->n] = 20; /* int8 */
	p->n++;
}

static void p_blob(pgp *p, const void *d, size_t len)
{
	p->val[p->n] = len ? (const char *)d : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->type[p->n] = 17; /* bytea */
	p->n++;
}

static void p_text(pgp *p, const char *s)
{
	p->val[p->n] = s;
	p->len[p->n] = (int)strlen(s);
	p->fmt[p->n] = 1;
	p->type[p->n] = 25; /* text */
	p->n++;
}

static void p_name(pgp *p, const dns_name *z)
{
	p_blob(p, z->wire, z->len);
}

static int64_t g_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
		return 0;
	const uint8_t *b = (const uint8_t *)PQgetvalue(r, row, col);
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | b[i];
	return (int64_t)u;
}

/* The signet_err of a failed result (or of the connection when r is NULL). */
static signet_err pg_err(pg_state *st, const PGresult *r, const char *what)
{
	const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(st->sqlstate, sizeof(st->sqlstate), "%s", code ? code : "");
	if (code && strcmp(code, "23505") == 0)
		return SIGNET_EEXIST;
	if (code && strcmp(code, "55P03") == 0) {
		sg_log(SG_LOG_WARNING, "state: %s: waited %u ms for another replica's change", what,
		       st->lock_timeout_ms);
		return SIGNET_ELIMIT;
	}
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(st->conn);
	if (!st->conn || PQstatus(st->conn) != CONNECTION_OK) {
		mark(st, false, msg && *msg ? msg : "connection lost");
		return SIGNET_EIO;
	}
	sg_log(SG_LOG_ERROR, "state: %s: %s", what, msg && *msg ? msg : "failed");
	return SIGNET_EIO;
}

/* Every statement but a transaction's end and the schema: its name
 * in the log, its SQL and how many parameters it takes. A statement
 * marked need_row that returns or changes no row fails with
 * SIGNET_ENOTFOUND (the zone, key or backup it names is not there). */
typedef enum pg_stmt_id {
	Q_BEGIN_CHANGE,
	Q_BEGIN_SCHEMA,
	Q_BEGIN_READ,
	Q_ZONE_ROW_LOCK,
	Q_GENERATION_BUMP,
	Q_SCHEMA_LOCK,
	Q_HAS_META,
	Q_SCHEMA_VERSION,
	Q_SET_SCHEMA_VERSION,
	Q_GENERATION,
	Q_ZONES,
	Q_KEYS,
	Q_BUNDLES,
	Q_LAST_REQUEST,
	Q_KEY_INSERT,
	Q_ZONE_INSERT,
	Q_KEY_STATE,
	Q_SCHEDULE,
	Q_RESET_PLAN,
	Q_POLICY,
	Q_INSECURE,
	Q_REQUEST_INSERT,
	Q_BUNDLE_INSERT,
	Q_COMMIT_KEYS,
	Q_PUBLISH,
	Q_ACTIVATE,
	Q_BACKUP_INSERT,
	Q_BACKUP_PROVEN,
	Q_BACKUPS,
	Q_BACKUP,
	Q_TRY_LOCK,
	Q_UNLOCK,
	Q_PING,
	Q_COUNT
} pg_stmt_id;

typedef struct pg_stmt {
	const char *what; /* for the log */
	const char *sql;
	int nparams;   /* the $n it uses */
	bool need_row; /* no row returned or changed: SIGNET_ENOTFOUND */
} pg_stmt;

static const pg_stmt pg_stmts[Q_COUNT] = {
	[Q_BEGIN_CHANGE] = {"begin", "BEGIN ISOLATION LEVEL READ COMMITTED", 0, false},
	[Q_BEGIN_SCHEMA] = {"begin", "BEGIN", 0, false},
	[Q_BEGIN_READ] = {"begin", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, false},
	[Q_ZONE_ROW_LOCK] = {"zone lock", "SELECT 1 FROM zones WHERE name = $1 FOR UPDATE", 1,
			     true},
	[Q_GENERATION_BUMP] = {"generation",
			       "UPDATE meta SET value = value + 1 WHERE name = 'generation'", 0,
			       false},
	[Q_SCHEMA_LOCK] = {"schema lock", "SELECT pg_advisory_xact_lock($1)", 1, false},
	[Q_HAS_META] = {"schema", "SELECT to_regclass('meta') IS NOT NULL", 0, false},
	[Q_SCHEMA_VERSION] = {"schema version",
			      "SELECT value FROM meta WHERE name = 'schema_version'", 0, false},
	[Q_SET_SCHEMA_VERSION] = {"schema version",
				  "INSERT INTO meta(name, value) VALUES('schema_version', $1)"
				  " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
				  1, false},
	[Q_GENERATION] = {"generation", "SELECT value FROM meta WHERE name = 'generation'", 0,
			  false},
	[Q_ZONES] = {"zones",
		     "SELECT name, insecure, " STATE_POLICY_COLUMNS " FROM zones ORDER BY name", 0,
		     false},
	[Q_KEYS] = {"keys", "SELECT " STATE_KEY_COLUMNS " FROM keys ORDER BY zone, created, seq", 0,
		    false},
	[Q_BUNDLES] = {"bundles",
		       "SELECT DISTINCT ON (zone) zone, serial, text FROM bundles"
		       " ORDER BY zone, serial DESC",
		       0, false},
	[Q_LAST_REQUEST] = {"last request",
			    "SELECT serial, text FROM requests WHERE zone = $1"
			    " ORDER BY serial DESC LIMIT 1",
			    1, true},
	[Q_KEY_INSERT] = {"key insert",
			  "INSERT INTO keys(" STATE_KEY_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6,$7,"
			  "$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)",
			  STATE_KEY_NCOL, false},
	[Q_ZONE_INSERT] = {"zone insert",
			   "INSERT INTO zones(name, " STATE_POLICY_COLUMNS ", created)"
			   " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,"
			   "$17,$18,$19,$20,$21,$22,$23,$24,$25)",
			   STATE_POLICY_NCOL + 2, false},
	[Q_KEY_STATE] = {"key update", "UPDATE keys SET state = $1 WHERE zone = $2 AND dnskey = $3",
			 3, true},
	[Q_SCHEDULE] = {"schedule",
			"UPDATE keys SET p_publish = $1, p_active = $2,"
			" p_retire = $3, p_remove = $4, ds_seen = $5"
			" WHERE zone = $6 AND dnskey = $7",
			7, true},
	/* As in state_sqlite.c: a foreign ZSK's publication and removal are
	 * the operator's decisions and survive. */
	[Q_RESET_PLAN] = {"reset plan",
			  "UPDATE keys SET"
			  " p_publish = CASE WHEN is_foreign = 1 AND t_publish = 0"
			  "   THEN p_publish ELSE t_publish END,"
			  " p_active = t_active, p_retire = t_retire,"
			  " p_remove = CASE WHEN is_foreign = 1 AND t_remove = 0"
			  "   THEN p_remove ELSE t_remove END WHERE zone = $1",
			  1, false},
	[Q_POLICY] = {"policy",
		      "UPDATE zones SET (" STATE_POLICY_COLUMNS ") = ($1,$2,$3,$4,$5,$6,$7,"
		      "$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)"
		      " WHERE name = $24",
		      STATE_POLICY_NCOL + 1, false},
	[Q_INSECURE] = {"insecure", "UPDATE zones SET insecure = $1 WHERE name = $2", 2, false},
	[Q_REQUEST_INSERT] = {"text insert",
			      "INSERT INTO requests(zone, serial, text, created)"
			      " VALUES($1,$2,$3,$4)",
			      4, false},
	[Q_BUNDLE_INSERT] = {"text insert",
			     "INSERT INTO bundles(zone, serial, text, imported)"
			     " VALUES($1,$2,$3,$4)",
			     4, false},
	/* The same steps as state_sqlite.c's at a bundle's import: schedules
	 * in force, published ZSKs, the first signing one. */
	[Q_COMMIT_KEYS] = {"commit",
			   "UPDATE keys SET committed = 1, t_publish = p_publish,"
			   " t_active = p_active, t_retire = p_retire, t_remove = p_remove"
			   " WHERE zone = $1 AND (p_publish != 0 OR p_active != 0)",
			   1, false},
	[Q_PUBLISH] = {"publish",
		       "UPDATE keys SET state = $1 WHERE zone = $2 AND dnskey = $3"
		       " AND role = 'zsk' AND state = $4 AND committed = 0",
		       4, false},
	[Q_ACTIVATE] = {"activate",
			"UPDATE keys SET state = $1 WHERE seq = (SELECT seq FROM keys"
			" WHERE zone = $2 AND role = 'zsk' AND state = $3 AND committed = 0"
			" AND is_foreign = 0 ORDER BY created, seq LIMIT 1) AND NOT EXISTS"
			" (SELECT 1 FROM keys WHERE zone = $2 AND role = 'zsk' AND"
			" (state = $1 OR committed = 1) AND is_foreign = 0)",
			3, false},
	[Q_BACKUP_INSERT] = {"backup insert",
			     "INSERT INTO key_backups(id, zone, domain, text, created, proven)"
			     " VALUES($1,$2,$3,$4,$5,$6)",
			     6, false},
	[Q_BACKUP_PROVEN] = {"backup proven", "UPDATE key_backups SET proven = $1 WHERE id = $2", 2,
			     true},
	[Q_BACKUPS] = {"backups",
		       "SELECT id, zone, domain, text, created, proven FROM key_backups"
		       " ORDER BY zone, created, id",
		       0, false},
	[Q_BACKUP] = {"backups",
		      "SELECT id, zone, domain, text, created, proven FROM key_backups"
		      " WHERE id = $1 ORDER BY zone, created, id",
		      1, false},
	[Q_TRY_LOCK] = {"zone lock", "SELECT pg_try_advisory_lock($1)", 1, false},
	[Q_UNLOCK] = {"zone unlock", "SELECT pg_advisory_unlock($1)", 1, false},
	[Q_PING] = {"ping", "SELECT 1", 0, false},
};

/* Run statement id with p (NULL: no parameters); *res (may be NULL:
 * discarded) gets the result of a successful one. Call with mu held. */
static signet_err stmt(pg_state *st, pg_stmt_id id, const pgp *p, PGresult **res)
{
	const pg_stmt *q = &pg_stmts[id];
	if (res)
		*res = NULL;
	if ((p ? p->n : 0) != q->nparams) {
		/* A mistake of this file, caught before the server sees it. */
		sg_log(SG_LOG_ERROR, "state: %s: %d parameters for %d", q->what, p ? p->n : 0,
		       q->nparams);
		return SIGNET_EINVAL;
	}
	PGresult *r = PQexecParams(st->conn, q->sql, q->nparams, p ? p->type : NULL,
				   p ? p->val : NULL, p ? p->len : NULL, p ? p->fmt : NULL, 1);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		signet_err ret = pg_err(st, r, q->what);
		PQclear(r);
		return ret;
	}
	mark(st, true, NULL);
	signet_err ret = SIGNET_OK;
	if (q->need_row && (s == PGRES_TUPLES_OK ? PQntuples(r) == 0 : atoi(PQcmdTuples(r)) == 0))
		ret = SIGNET_ENOTFOUND;
	if (ret == SIGNET_OK && res)
		*res = r;
	else
		PQclear(r);
	return ret;
}

/* Run statement id, whose one row's first column is a boolean, into *yes
 * (false when no row). */
static signet_err stmt_bool(pg_state *st, pg_stmt_id id, const pgp *p, bool *yes)
{
	PGresult *r = NULL;
	signet_err ret = stmt(st, id, p, &r);
	*yes = ret == SIGNET_OK && PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 &&
	       PQgetvalue(r, 0, 0)[0] == 1;
	PQclear(r);
	return ret;
}

/* Run statement id, whose first column is an int8, into *v (left as it
 * is when no row). */
static signet_err stmt_i64(pg_state *st, pg_stmt_id id, const pgp *p, int64_t *v)
{
	PGresult *r = NULL;
	signet_err ret = stmt(st, id, p, &r);
	if (ret == SIGNET_OK && PQntuples(r) == 1)
		*v = g_i64(r, 0, 0);
	PQclear(r);
	return ret;
}

/* A working connection, made or remade; call with mu held. */
static signet_err connect_db(pg_state *st)
{
	if (st->conn && PQstatus(st->conn) == CONNECTION_OK)
		return SIGNET_OK;
	if (st->conn)
		PQfinish(st->conn);
	/* The conninfo's own settings win over these (expand_dbname applies
	 * it after). Without sslcert libpq would look for a client
	 * certificate in $HOME/.postgresql: for a signetd started as root and
	 * running as its user that is root's home, which it may not read, and
	 * libpq then gives up. No sslcert given: no client certificate. */
	/* A server that stops answering (host gone, process stalled) must
	 * not hold a connection for ever: TCP keepalives and a user timeout
	 * end it within about 15 s. */
	const char *const keys[] = {"connect_timeout",  "application_name",
				    "sslcert",          "keepalives",
				    "keepalives_idle",  "keepalives_interval",
				    "keepalives_count", "tcp_user_timeout",
				    "dbname",           NULL};
	const char *const vals[] = {PG_CONNECT_TIMEOUT,
				    "signetd",
				    "/dev/null/no-client-certificate",
				    "1",
				    "5",
				    "2",
				    "3",
				    "15000",
				    (const char *)st->conninfo->data,
				    NULL};
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (!st->conn) {
		mark(st, false, "out of memory");
		return SIGNET_ENOMEM;
	}
	if (PQstatus(st->conn) != CONNECTION_OK) {
		mark(st, false, PQerrorMessage(st->conn));
		return SIGNET_EIO;
	}
	/* Waits for a row another replica holds are bounded; so is any
	 * statement, so that a stalled server cannot hold every caller. */
	char sql[160];
	unsigned stmt_ms = st->lock_timeout_ms * 2 > 10000 ? st->lock_timeout_ms * 2 : 10000;
	snprintf(sql, sizeof(sql), "SET lock_timeout = %u; SET statement_timeout = %u",
		 st->lock_timeout_ms, stmt_ms);
	PGresult *r = PQexec(st->conn, sql);
	signet_err ret = PQresultStatus(r) == PGRES_COMMAND_OK ? SIGNET_OK
							       : pg_err(st, r, "session settings");
	PQclear(r);
	if (ret == SIGNET_OK)
		mark(st, true, NULL);
	return ret;
}

/* ---- transactions -------------------------------------------------------- */

static signet_err snap_read(pg_state *st, pg_snap **out);
static void snap_install(pg_state *st, pg_snap *s, uint64_t writes);

/* One change: its statements, given the connection in a transaction. */
typedef signet_err (*pg_change_fn)(pg_state *st, void *arg);

/* The last failure was a serialization failure or a deadlock: the
 * transaction may be run again. */
static bool retryable(pg_state *st)
{
	return strcmp(st->sqlstate, "40001") == 0 || strcmp(st->sqlstate, "40P01") == 0;
}

/* Run fn in one transaction that locks zone z's row first (z may be NULL:
 * no zone row yet) and moves the shared generation, so that every replica
 * reads again. Serialization failures and deadlocks are retried. */
static signet_err in_txn(pg_state *st, const dns_name *z, pg_change_fn fn, void *arg)
{
	pthread_mutex_lock(&st->mu);
	signet_err ret = connect_db(st);
	for (int attempt = 0; ret == SIGNET_OK && attempt < PG_RETRIES; attempt++) {
		st->sqlstate[0] = '\0';
		ret = stmt(st, Q_BEGIN_CHANGE, NULL, NULL);
		if (ret != SIGNET_OK)
			break;
		if (z) {
			pgp p = {0};
			p_name(&p, z);
			ret = stmt(st, Q_ZONE_ROW_LOCK, &p, NULL);
		}
		if (ret == SIGNET_OK)
			ret = fn(st, arg);
		if (ret == SIGNET_OK)
			ret = stmt(st, Q_GENERATION_BUMP, NULL, NULL);
		PGresult *cr = NULL;
		if (ret == SIGNET_OK) {
			cr = PQexec(st->conn, "COMMIT");
			if (PQresultStatus(cr) != PGRES_COMMAND_OK)
				ret = pg_err(st, cr, "commit");
		} else if (PQstatus(st->conn) == CONNECTION_OK) {
			cr = PQexec(st->conn, "ROLLBACK");
		}
		PQclear(cr);
		if (ret == SIGNET_OK || !retryable(st) || attempt + 1 == PG_RETRIES)
			break;
		ret = SIGNET_OK;
		sleep_ms(5u << attempt);
	}
	if (ret == SIGNET_OK) {
		/* Read the state back at once: this replica's next call sees
		 * its change, and so does its snapshot should the database go
		 * away now. Changes are rare; reads are many. */
		pthread_mutex_lock(&st->snap_mu);
		uint64_t writes = ++st->writes;
		pthread_mutex_unlock(&st->snap_mu);
		pg_snap *s = NULL;
		if (snap_read(st, &s) == SIGNET_OK)
			snap_install(st, s, writes);
	}
	pthread_mutex_unlock(&st->mu);
	return ret;
}

/* A change of one statement: id with p, in_txn's fn for it. */
typedef struct one_stmt {
	pg_stmt_id id;
	const pgp *p;
} one_stmt;

static signet_err do_one_stmt(pg_state *st, void *arg)
{
	const one_stmt *o = arg;
	return stmt(st, o->id, o->p, NULL);
}

/* Statement id with p as one change, under zone z's row lock (z may be
 * NULL: no zone row to lock). */
static signet_err change(pg_state *st, const dns_name *z, pg_stmt_id id, const pgp *p)
{
	one_stmt o = {id, p};
	return in_txn(st, z, do_one_stmt, &o);
}

/* ---- schema -------------------------------------------------------------- */

static const char pg_schema[] =
	"CREATE TABLE IF NOT EXISTS meta(name text PRIMARY KEY, value bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS zones("
	" name bytea PRIMARY KEY, algorithm bigint NOT NULL DEFAULT 0,"
	" rsa_bits bigint NOT NULL DEFAULT 0, validity bigint NOT NULL DEFAULT 0,"
	" backdate bigint NOT NULL DEFAULT 0, jitter bigint NOT NULL DEFAULT 0,"
	" min_validity bigint NOT NULL DEFAULT 0, max_validity bigint NOT NULL DEFAULT 0,"
	" denial bigint NOT NULL DEFAULT 0, nsec3_iterations bigint NOT NULL DEFAULT 0,"
	" nsec3_salt bytea, nsec3_opt_out bigint NOT NULL DEFAULT 0,"
	" dnskey_ttl bigint NOT NULL DEFAULT 0, keyset_period bigint NOT NULL DEFAULT 0,"
	" verify bigint NOT NULL DEFAULT 0, created bigint NOT NULL DEFAULT 0,"
	" zsk_lifetime bigint NOT NULL DEFAULT 0, ksk_lifetime bigint NOT NULL DEFAULT 0,"
	" ds_ttl bigint NOT NULL DEFAULT 0, max_zone_ttl bigint NOT NULL DEFAULT 0,"
	" propagation bigint NOT NULL DEFAULT 0, publish_margin bigint NOT NULL DEFAULT 0,"
	" retire_margin bigint NOT NULL DEFAULT 0, refresh bigint NOT NULL DEFAULT 0,"
	" ksk_roll bigint NOT NULL DEFAULT 0, insecure bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS keys("
	" seq bigserial, zone bytea NOT NULL, role text NOT NULL, id bytea,"
	" alg bigint NOT NULL DEFAULT 0, tag bigint NOT NULL DEFAULT 0,"
	" state bigint NOT NULL DEFAULT 0, dnskey bytea NOT NULL,"
	" created bigint NOT NULL DEFAULT 0, t_publish bigint NOT NULL DEFAULT 0,"
	" t_active bigint NOT NULL DEFAULT 0, t_retire bigint NOT NULL DEFAULT 0,"
	" t_remove bigint NOT NULL DEFAULT 0, ds_seen bigint NOT NULL DEFAULT 0,"
	" committed bigint NOT NULL DEFAULT 0, is_foreign bigint NOT NULL DEFAULT 0,"
	" p_publish bigint NOT NULL DEFAULT 0, p_active bigint NOT NULL DEFAULT 0,"
	" p_retire bigint NOT NULL DEFAULT 0, p_remove bigint NOT NULL DEFAULT 0,"
	" PRIMARY KEY(zone, dnskey));"
	"CREATE TABLE IF NOT EXISTS requests("
	" zone bytea NOT NULL, serial bigint NOT NULL, text bytea NOT NULL,"
	" created bigint, PRIMARY KEY(zone, serial));"
	"CREATE TABLE IF NOT EXISTS bundles("
	" zone bytea NOT NULL, serial bigint NOT NULL, text bytea NOT NULL,"
	" imported bigint, PRIMARY KEY(zone, serial));"
	"CREATE TABLE IF NOT EXISTS key_backups("
	" id bytea PRIMARY KEY, zone bytea NOT NULL, domain bytea NOT NULL,"
	" text bytea NOT NULL, created bigint NOT NULL, proven bigint NOT NULL);"
	"INSERT INTO meta(name, value) VALUES('generation', 0) ON CONFLICT DO NOTHING;";

/* Create or upgrade the schema in one transaction, under a lock so that
 * replicas starting together do it once. Call with mu held. */
static signet_err pg_schema_up(pg_state *st)
{
	pgp p = {0};
	p_i64(&p, PG_SCHEMA_LOCK);
	signet_err ret = stmt(st, Q_BEGIN_SCHEMA, NULL, NULL);
	if (ret != SIGNET_OK)
		return ret;
	ret = stmt(st, Q_SCHEMA_LOCK, &p, NULL);
	int64_t v = 0;
	bool has_meta = false;
	if (ret == SIGNET_OK)
		ret = stmt_bool(st, Q_HAS_META, NULL, &has_meta);
	if (ret == SIGNET_OK && has_meta)
		ret = stmt_i64(st, Q_SCHEMA_VERSION, NULL, &v);
	if (ret == SIGNET_OK && v > STATE_SCHEMA_VERSION) {
		sg_log(SG_LOG_ERROR,
		       "state: schema version %lld is newer than this signetd's "
		       "(%d): refusing to use it",
		       (long long)v, STATE_SCHEMA_VERSION);
		ret = SIGNET_ESTATE;
	}
	/* Version 1 is the first PostgreSQL schema: later versions add their
	 * steps here, each from the version before. */
	if (ret == SIGNET_OK && v < STATE_SCHEMA_VERSION) {
		PGresult *sr = PQexec(st->conn, pg_schema);
		if (PQresultStatus(sr) != PGRES_COMMAND_OK)
			ret = pg_err(st, sr, "schema");
		PQclear(sr);
		pgp q = {0};
		p_i64(&q, STATE_SCHEMA_VERSION);
		if (ret == SIGNET_OK)
			ret = stmt(st, Q_SET_SCHEMA_VERSION, &q, NULL);
		if (ret == SIGNET_OK)
			sg_log(SG_LOG_NOTICE, "state: PostgreSQL schema at version %d (was %lld)",
			       STATE_SCHEMA_VERSION, (long long)v);
	}
	PGresult *cr = PQexec(st->conn, ret == SIGNET_OK ? "COMMIT" : "ROLLBACK");
	if (ret == SIGNET_OK && PQresultStatus(cr) != PGRES_COMMAND_OK)
		ret = pg_err(st, cr, "commit");
	PQclear(cr);
	return ret;
}

/* ---- the snapshot -------------------------------------------------------- */

/* Read every zone, key and last bundle in one read-only transaction. Call
 * with mu held. */
static signet_err snap_read(pg_state *st, pg_snap **out)
{
	pg_snap *s = calloc(1, sizeof(*s));
	if (!s)
		return SIGNET_ENOMEM;
	PGresult *r = NULL;
	signet_err ret = stmt(st, Q_BEGIN_READ, NULL, NULL);
	if (ret == SIGNET_OK)
		ret = stmt_i64(st, Q_GENERATION, NULL, &s->generation);
	if (ret == SIGNET_OK)
		ret = stmt(st, Q_ZONES, NULL, &r);
	if (ret == SIGNET_OK && PQntuples(r) > 0) {
		s->nzones = (size_t)PQntuples(r);
		s->zones = calloc(s->nzones, sizeof(*s->zones));
		if (!s->zones)
			ret = SIGNET_ENOMEM;
	}
	for (size_t i = 0; ret == SIGNET_OK && i < s->nzones; i++) {
		pg_zone *z = &s->zones[i];
		int row = (int)i;
		if (dns_name_from_wire(&z->name, (const uint8_t *)PQgetvalue(r, row, 0),
				       (size_t)PQgetlength(r, row, 0), NULL) != SIGNET_OK) {
			ret = SIGNET_EPARSE;
			break;
		}
		z->insecure = g_i64(r, row, 1) != 0;
		int64_t v[STATE_POLICY_NCOL];
		for (int c = 0; c < STATE_POLICY_NCOL; c++)
			v[c] = c == STATE_POL_SALT ? 0 : g_i64(r, row, 2 + c);
		int sl = PQgetlength(r, row, 2 + STATE_POL_SALT);
		state_policy_decode(v, (const uint8_t *)PQgetvalue(r, row, 2 + STATE_POL_SALT),
				    sl > 0 && sl <= 255 ? (size_t)sl : 0, &z->policy);
	}
	PQclear(r);
	r = NULL;
	if (ret == SIGNET_OK)
		ret = stmt(st, Q_KEYS, NULL, &r);
	if (ret == SIGNET_OK && PQntuples(r) > 0) {
		s->nkeys = (size_t)PQntuples(r);
		s->keys = calloc(s->nkeys, sizeof(*s->keys));
		if (!s->keys)
			ret = SIGNET_ENOMEM;
	}
	for (size_t i = 0; ret == SIGNET_OK && i < s->nkeys; i++) {
		int row = (int)i;
		state_key_row kr = {
			.zone = (const uint8_t *)PQgetvalue(r, row, 0),
			.zone_len = (size_t)PQgetlength(r, row, 0),
			.role = PQgetvalue(r, row, 1),
			.id = (const uint8_t *)PQgetvalue(r, row, 2),
			.id_len = (size_t)PQgetlength(r, row, 2),
			.dnskey = (const uint8_t *)PQgetvalue(r, row, 6),
			.dnskey_len = (size_t)PQgetlength(r, row, 6),
		};
		for (int c = 0; c < STATE_KEY_NCOL; c++)
			kr.v[c] = (c == 0 || c == 1 || c == 2 || c == 6) ? 0 : g_i64(r, row, c);
		ret = state_key_decode(&kr, &s->keys[i]);
	}
	PQclear(r);
	r = NULL;
	if (ret == SIGNET_OK)
		ret = stmt(st, Q_BUNDLES, NULL, &r);
	for (int row = 0; ret == SIGNET_OK && row < PQntuples(r); row++) {
		dns_name n;
		if (dns_name_from_wire(&n, (const uint8_t *)PQgetvalue(r, row, 0),
				       (size_t)PQgetlength(r, row, 0), NULL) != SIGNET_OK) {
			ret = SIGNET_EPARSE;
			break;
		}
		for (size_t i = 0; i < s->nzones; i++) {
			pg_zone *z = &s->zones[i];
			if (z->name.len != n.len || memcmp(z->name.wire, n.wire, n.len) != 0)
				continue;
			size_t len = (size_t)PQgetlength(r, row, 2);
			z->bundle = malloc(len ? len : 1);
			if (!z->bundle) {
				ret = SIGNET_ENOMEM;
				break;
			}
			memcpy(z->bundle, PQgetvalue(r, row, 2), len);
			z->bundle_len = len;
			z->bundle_serial = (uint64_t)g_i64(r, row, 1);
			z->has_bundle = true;
		}
	}
	PQclear(r);
	if (PQstatus(st->conn) == CONNECTION_OK) {
		PGresult *er = PQexec(st->conn, "COMMIT");
		PQclear(er);
	}
	if (ret != SIGNET_OK) {
		snap_free(s);
		return ret;
	}
	*out = s;
	return SIGNET_OK;
}

/* Make s the snapshot unless a newer one is in place (a reader that was
 * slower to install); it holds the changes up to writes. */
static void snap_install(pg_state *st, pg_snap *s, uint64_t writes)
{
	pthread_mutex_lock(&st->snap_mu);
	if (!st->snap || s->generation >= st->snap->generation) {
		snap_free(st->snap);
		st->snap = s;
		st->installs++;
		if (writes > st->snap_writes)
			st->snap_writes = writes;
	} else {
		snap_free(s);
	}
	pthread_mutex_unlock(&st->snap_mu);
}

/* Read the snapshot again if the shared generation moved since it was
 * read (or it misses a change of this process): one reader at a time.
 * When the database does not answer the last snapshot stands. */
static signet_err snap_refresh(pg_state *st)
{
	pthread_mutex_lock(&st->refresh_mu);
	pthread_mutex_lock(&st->snap_mu);
	uint64_t writes = st->writes;
	int64_t have = st->snap && st->snap_writes == writes ? st->snap->generation : -1;
	pthread_mutex_unlock(&st->snap_mu);
	pthread_mutex_lock(&st->mu);
	signet_err ret = connect_db(st);
	int64_t gen = -1;
	if (ret == SIGNET_OK && have >= 0)
		ret = stmt_i64(st, Q_GENERATION, NULL, &gen);
	pg_snap *fresh = NULL;
	if (ret == SIGNET_OK && (have < 0 || gen != have))
		ret = snap_read(st, &fresh);
	pthread_mutex_unlock(&st->mu);
	if (fresh)
		snap_install(st, fresh, writes);
	pthread_mutex_lock(&st->snap_mu);
	if (ret == SIGNET_OK && writes > st->snap_writes)
		st->snap_writes = writes;
	pthread_mutex_unlock(&st->snap_mu);
	pthread_mutex_unlock(&st->refresh_mu);
	return ret;
}

/* Every cache_ms, the snapshot is checked against the shared generation:
 * on a thread of its own, so that no signing call ever waits for the
 * database (a connect to an unreachable one takes connect_timeout). */
static void *refresher(void *arg)
{
	pg_state *st = arg;
	pthread_mutex_lock(&st->stop_mu);
	while (!st->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += st->cache_ms / 1000;
		until.tv_nsec += (long)(st->cache_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&st->stop_cond, &st->stop_mu, &until);
		if (st->stop)
			break;
		pthread_mutex_unlock(&st->stop_mu);
		(void)snap_refresh(st);
		pthread_mutex_lock(&st->stop_mu);
	}
	pthread_mutex_unlock(&st->stop_mu);
	return NULL;
}

/* The current snapshot, under snap_mu, which the caller holds on SIGNET_OK
 * and must release. It is at most about cache_ms old while the database
 * answers, and holds this process's own changes once they returned; while
 * the database is away the last one stands (signing goes on with the keys
 * it names). */
static signet_err snap_get(pg_state *st, pg_snap **out)
{
	pthread_mutex_lock(&st->snap_mu);
	if (!st->snap) {
		pthread_mutex_unlock(&st->snap_mu);
		return SIGNET_EIO;
	}
	*out = st->snap;
	return SIGNET_OK;
}

static const pg_zone *snap_zone(const pg_snap *s, const dns_name *z)
{
	for (size_t i = 0; i < s->nzones; i++)
		if (s->zones[i].name.len == z->len &&
		    memcmp(s->zones[i].name.wire, z->wire, z->len) == 0)
			return &s->zones[i];
	return NULL;
}

/* ---- reads --------------------------------------------------------------- */

/* Zone z's policy and insecure flag (either may be NULL) from the
 * snapshot. */
static signet_err snap_zone_read(pg_state *st, const dns_name *z, signer_policy *policy,
				 bool *insecure)
{
	pg_snap *s = NULL;
	signet_err ret = snap_get(st, &s);
	if (ret != SIGNET_OK)
		return ret;
	const pg_zone *pz = snap_zone(s, z);
	if (pz && policy)
		*policy = pz->policy;
	if (pz && insecure)
		*insecure = pz->insecure;
	pthread_mutex_unlock(&st->snap_mu);
	return pz ? SIGNET_OK : SIGNET_ENOTFOUND;
}

static signet_err pg_zone_policy(void *b, const dns_name *z, signer_policy *out)
{
	return snap_zone_read(b, z, out, NULL);
}

static signet_err pg_zone_insecure(void *b, const dns_name *z, bool *on)
{
	return snap_zone_read(b, z, NULL, on);
}

static signet_err pg_list_zones(void *b, dns_name **out, size_t *n)
{
	pg_state *st = b;
	pg_snap *s = NULL;
	signet_err ret = snap_get(st, &s);
	if (ret != SIGNET_OK)
		return ret;
	if (s->nzones) {
		*out = calloc(s->nzones, sizeof(**out));
		if (!*out)
			ret = SIGNET_ENOMEM;
		for (size_t i = 0; ret == SIGNET_OK && i < s->nzones; i++)
			(*out)[i] = s->zones[i].name;
		if (ret == SIGNET_OK)
			*n = s->nzones;
	}
	pthread_mutex_unlock(&st->snap_mu);
	return ret;
}

static signet_err pg_list_keys(void *b, const dns_name *z, signer_key **out, size_t *n)
{
	pg_state *st = b;
	pg_snap *s = NULL;
	signet_err ret = snap_get(st, &s);
	if (ret != SIGNET_OK)
		return ret;
	size_t count = 0;
	for (size_t i = 0; i < s->nkeys; i++)
		if (!z || (s->keys[i].zone.len == z->len &&
			   memcmp(s->keys[i].zone.wire, z->wire, z->len) == 0))
			count++;
	if (count) {
		*out = malloc(count * sizeof(**out));
		if (!*out)
			ret = SIGNET_ENOMEM;
		size_t j = 0;
		for (size_t i = 0; ret == SIGNET_OK && i < s->nkeys; i++)
			if (!z || (s->keys[i].zone.len == z->len &&
				   memcmp(s->keys[i].zone.wire, z->wire, z->len) == 0))
				(*out)[j++] = s->keys[i];
		if (ret == SIGNET_OK)
			*n = count;
	}
	pthread_mutex_unlock(&st->snap_mu);
	return ret;
}

static signet_err pg_last_text(void *b, bool bundles, const dns_name *z, uint64_t *serial,
			       sg_buf *text)
{
	pg_state *st = b;
	if (bundles) {
		/* GetKeySet reads it: from the snapshot, so that it answers while
		 * the database does not. */
		pg_snap *s = NULL;
		signet_err ret = snap_get(st, &s);
		if (ret != SIGNET_OK)
			return ret;
		const pg_zone *pz = snap_zone(s, z);
		if (!pz || !pz->has_bundle) {
			ret = SIGNET_ENOTFOUND;
		} else {
			*serial = pz->bundle_serial;
			if (text)
				ret = sg_buf_append(text, pz->bundle, pz->bundle_len);
		}
		pthread_mutex_unlock(&st->snap_mu);
		return ret;
	}
	pgp p = {0};
	p_name(&p, z);
	PGresult *r = NULL;
	pthread_mutex_lock(&st->mu);
	signet_err ret = connect_db(st);
	if (ret == SIGNET_OK)
		ret = stmt(st, Q_LAST_REQUEST, &p, &r);
	if (ret == SIGNET_OK) {
		*serial = (uint64_t)g_i64(r, 0, 0);
		if (text)
			ret = sg_buf_append(text, PQgetvalue(r, 0, 1),
					    (size_t)PQgetlength(r, 0, 1));
	}
	PQclear(r);
	pthread_mutex_unlock(&st->mu);
	return ret;
}

/* ---- changes ------------------------------------------------------------- */

static void p_policy(pgp *p, const signer_policy *pol)
{
	int64_t v[STATE_POLICY_NCOL];
	state_policy_encode(pol, v);
	for (int i = 0; i < STATE_POLICY_NCOL; i++)
		if (i == STATE_POL_SALT)
			p_blob(p, pol->nsec3_salt, pol->nsec3_salt_len);
		else
			p_i64(p, v[i]);
}

static signet_err insert_key(pg_state *st, const signer_key *k)
{
	pgp p = {0};
	int64_t v[STATE_KEY_NCOL];
	state_key_encode(k, v);
	for (int i = 0; i < STATE_KEY_NCOL; i++) {
		if (i == 0)
			p_name(&p, &k->zone);
		else if (i == 1)
			p_text(&p, k->role);
		else if (i == 2)
			p_blob(&p, k->id, k->id_len);
		else if (i == 6)
			p_blob(&p, k->dnskey, k->dnskey_len);
		else
			p_i64(&p, v[i]);
	}
	return stmt(st, Q_KEY_INSERT, &p, NULL);
}

typedef struct add_zone_arg {
	const dns_name *z;
	const signer_policy *p;
	const signer_key *ksks;
	size_t nksk;
} add_zone_arg;

static signet_err do_add_zone(pg_state *st, void *arg)
{
	add_zone_arg *a = arg;
	pgp p = {0};
	p_name(&p, a->z);
	p_policy(&p, a->p);
	p_i64(&p, signer_clock_now());
	signet_err ret = stmt(st, Q_ZONE_INSERT, &p, NULL);
	for (size_t i = 0; ret == SIGNET_OK && i < a->nksk; i++)
		ret = insert_key(st, &a->ksks[i]);
	return ret;
}

static signet_err pg_add_zone(void *b, const dns_name *z, const signer_policy *p,
			      const signer_key *ksks, size_t nksk)
{
	add_zone_arg a = {z, p, ksks, nksk};
	return in_txn(b, NULL, do_add_zone, &a);
}

static signet_err do_add_key(pg_state *st, void *arg)
{
	return insert_key(st, arg);
}

static signet_err pg_add_key(void *b, const signer_key *k)
{
	return in_txn(b, &k->zone, do_add_key, (void *)k);
}

static signet_err pg_set_key_state(void *b, const dns_name *z, const uint8_t *dnskey, size_t len,
				   signer_key_state state)
{
	pgp p = {0};
	p_i64(&p, state);
	p_name(&p, z);
	p_blob(&p, dnskey, len);
	return change(b, z, Q_KEY_STATE, &p);
}

static signet_err pg_set_schedule(void *b, const signer_key *k)
{
	pgp p = {0};
	p_i64(&p, k->p_publish);
	p_i64(&p, k->p_active);
	p_i64(&p, k->p_retire);
	p_i64(&p, k->p_remove);
	p_i64(&p, k->ds_seen);
	p_name(&p, &k->zone);
	p_blob(&p, k->dnskey, k->dnskey_len);
	return change(b, &k->zone, Q_SCHEDULE, &p);
}

static signet_err pg_reset_plan(void *b, const dns_name *z)
{
	pgp p = {0};
	p_name(&p, z);
	signet_err ret = change(b, z, Q_RESET_PLAN, &p);
	/* A zone without a row has no keys to reset, as with SQLite. */
	return ret == SIGNET_ENOTFOUND ? SIGNET_OK : ret;
}

static signet_err pg_set_policy(void *b, const dns_name *z, const signer_policy *pol)
{
	pgp p = {0};
	p_policy(&p, pol);
	p_name(&p, z);
	return change(b, z, Q_POLICY, &p);
}

static signet_err pg_set_zone_insecure(void *b, const dns_name *z, bool on)
{
	pgp p = {0};
	p_i64(&p, on);
	p_name(&p, z);
	return change(b, z, Q_INSECURE, &p);
}

/* The parameters of a request's or a bundle's row. */
static void p_text_row(pgp *p, const dns_name *z, uint64_t serial, const uint8_t *text, size_t len)
{
	p_name(p, z);
	p_i64(p, (int64_t)serial);
	p_blob(p, text, len);
	p_i64(p, signer_clock_now());
}

static signet_err pg_save_request(void *b, const dns_name *z, uint64_t serial, const uint8_t *text,
				  size_t len)
{
	pgp p = {0};
	p_text_row(&p, z, serial, text, len);
	return change(b, z, Q_REQUEST_INSERT, &p);
}

typedef struct bundle_arg {
	const dns_name *z;
	const pgp *row; /* of Q_BUNDLE_INSERT */
	const dns_rrset *publish;
} bundle_arg;

static signet_err do_save_bundle(pg_state *st, void *arg)
{
	bundle_arg *a = arg;
	signet_err ret = stmt(st, Q_BUNDLE_INSERT, a->row, NULL);
	pgp p = {0};
	p_name(&p, a->z);
	if (ret == SIGNET_OK)
		ret = stmt(st, Q_COMMIT_KEYS, &p, NULL);
	for (size_t i = 0; ret == SIGNET_OK && i < a->publish->count; i++) {
		pgp q = {0};
		p_i64(&q, SIGNER_KEY_PUBLISHED);
		p_name(&q, a->z);
		p_blob(&q, a->publish->rr[i].data, a->publish->rr[i].len);
		p_i64(&q, SIGNER_KEY_GENERATED);
		ret = stmt(st, Q_PUBLISH, &q, NULL);
	}
	if (ret == SIGNET_OK) {
		pgp q = {0};
		p_i64(&q, SIGNER_KEY_ACTIVE);
		p_name(&q, a->z);
		p_i64(&q, SIGNER_KEY_PUBLISHED);
		ret = stmt(st, Q_ACTIVATE, &q, NULL);
	}
	return ret;
}

static signet_err pg_save_bundle(void *b, const dns_name *z, uint64_t serial, const uint8_t *text,
				 size_t len, const dns_rrset *publish)
{
	pgp row = {0};
	p_text_row(&row, z, serial, text, len);
	bundle_arg a = {z, &row, publish};
	return in_txn(b, z, do_save_bundle, &a);
}

/* ---- ZSK backups ---------------------------------------------------------- */

static signet_err pg_put_backup(void *b, const signer_backup_row *r)
{
	pgp p = {0};
	p_blob(&p, r->id, r->id_len);
	p_name(&p, &r->zone);
	p_blob(&p, r->domain_id, HSM_ID_LEN);
	p_blob(&p, r->text, r->text_len);
	p_i64(&p, r->created);
	p_i64(&p, r->proven);
	return change(b, NULL, Q_BACKUP_INSERT, &p);
}

static signet_err pg_set_backup_proven(void *b, const uint8_t *id, size_t id_len, int64_t when)
{
	pgp p = {0};
	p_i64(&p, when);
	p_blob(&p, id, id_len);
	return change(b, NULL, Q_BACKUP_PROVEN, &p);
}

/* Backups are read from the database itself, not the snapshot: their
 * proofs run when a key is made or a request exported, both changes. */
static signet_err pg_list_backups(void *b, const uint8_t *id, size_t id_len,
				  signer_backup_row **out, size_t *n)
{
	pg_state *st = b;
	pgp p = {0};
	if (id)
		p_blob(&p, id, id_len);
	PGresult *r = NULL;
	pthread_mutex_lock(&st->mu);
	signet_err ret = connect_db(st);
	if (ret == SIGNET_OK)
		ret = stmt(st, id ? Q_BACKUP : Q_BACKUPS, id ? &p : NULL, &r);
	int rows = ret == SIGNET_OK ? PQntuples(r) : 0;
	if (rows > 0) {
		*out = calloc((size_t)rows, sizeof(**out));
		if (!*out)
			ret = SIGNET_ENOMEM;
	}
	for (int i = 0; ret == SIGNET_OK && i < rows; i++) {
		ret = state_backup_decode(
			(const uint8_t *)PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0),
			(const uint8_t *)PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1),
			(const uint8_t *)PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2),
			(const uint8_t *)PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3),
			g_i64(r, i, 4), g_i64(r, i, 5), &(*out)[i]);
		if (ret == SIGNET_OK)
			(*n)++;
	}
	PQclear(r);
	pthread_mutex_unlock(&st->mu);
	if (ret != SIGNET_OK) {
		signer_backup_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

/* ---- zone locks, health, open and close ---------------------------------- */

static int64_t zone_lock_key(const dns_name *z)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < z->len; i++)
		h = (h ^ z->wire[i]) * 16777619u;
	return (int64_t)(PG_LOCK_CLASS << 32 | h);
}

/* A session lock, tried rather than waited for, so that the connection
 * (shared by this process's threads) is never held while another replica
 * finishes. */
static signet_err pg_zone_lock(void *b, const dns_name *z)
{
	pg_state *st = b;
	pthread_mutex_lock(&st->zone_mu);
	int64_t key = zone_lock_key(z);
	uint64_t until = sg_mono_ns() + (uint64_t)st->lock_timeout_ms * 1000000u;
	signet_err ret;
	for (;;) {
		pgp p = {0};
		p_i64(&p, key);
		bool got = false;
		pthread_mutex_lock(&st->mu);
		ret = connect_db(st);
		if (ret == SIGNET_OK)
			ret = stmt_bool(st, Q_TRY_LOCK, &p, &got);
		pthread_mutex_unlock(&st->mu);
		if (ret != SIGNET_OK)
			break;
		if (got) {
			st->zone_key = key;
			st->zone_held = true;
			return SIGNET_OK;
		}
		if (sg_mono_ns() >= until) {
			char zs[DNS_NAME_STR_MAX];
			dns_name_to_str(z, zs, sizeof(zs));
			sg_log(SG_LOG_WARNING,
			       "state: zone %s: another replica kept its change "
			       "lock for %u ms",
			       zs, st->lock_timeout_ms);
			ret = SIGNET_ELIMIT;
			break;
		}
		sleep_ms(20);
	}
	pthread_mutex_unlock(&st->zone_mu);
	return ret;
}

static void pg_zone_unlock(void *b, const dns_name *z)
{
	(void)z;
	pg_state *st = b;
	pgp p = {0};
	p_i64(&p, st->zone_key);
	pthread_mutex_lock(&st->mu);
	/* A connection lost meanwhile took the lock with it. */
	if (st->conn && PQstatus(st->conn) == CONNECTION_OK)
		(void)stmt(st, Q_UNLOCK, &p, NULL);
	pthread_mutex_unlock(&st->mu);
	st->zone_held = false;
	pthread_mutex_unlock(&st->zone_mu);
}

static signet_err pg_ping(void *b)
{
	pg_state *st = b;
	pthread_mutex_lock(&st->mu);
	signet_err ret = connect_db(st);
	if (ret == SIGNET_OK)
		ret = stmt(st, Q_PING, NULL, NULL);
	pthread_mutex_unlock(&st->mu);
	return ret;
}

static void pg_close(void *b)
{
	pg_state *st = b;
	if (!st)
		return;
	if (st->refreshing) {
		pthread_mutex_lock(&st->stop_mu);
		st->stop = true;
		pthread_cond_signal(&st->stop_cond);
		pthread_mutex_unlock(&st->stop_mu);
		pthread_join(st->refresh_thread, NULL);
	}
	/* Closed while holding a zone's lock: the connection's end releases
	 * the advisory lock, and ours goes with it. */
	if (st->zone_held)
		pthread_mutex_unlock(&st->zone_mu);
	if (st->conn)
		PQfinish(st->conn);
	sg_secret_free(st->conninfo);
	snap_free(st->snap);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->snap_mu);
	pthread_mutex_destroy(&st->refresh_mu);
	pthread_mutex_destroy(&st->zone_mu);
	pthread_mutex_destroy(&st->stop_mu);
	pthread_cond_destroy(&st->stop_cond);
	free(st);
}

static uint64_t pg_version(void *b)
{
	pg_state *st = b;
	pthread_mutex_lock(&st->snap_mu);
	uint64_t v = st->installs;
	pthread_mutex_unlock(&st->snap_mu);
	return v;
}

static const state_ops pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.add_zone = pg_add_zone,
	.zone_policy = pg_zone_policy,
	.list_zones = pg_list_zones,
	.add_key = pg_add_key,
	.list_keys = pg_list_keys,
	.set_key_state = pg_set_key_state,
	.set_schedule = pg_set_schedule,
	.reset_plan = pg_reset_plan,
	.set_policy = pg_set_policy,
	.zone_insecure = pg_zone_insecure,
	.set_zone_insecure = pg_set_zone_insecure,
	.last_text = pg_last_text,
	.save_request = pg_save_request,
	.save_bundle = pg_save_bundle,
	.zone_lock = pg_zone_lock,
	.zone_unlock = pg_zone_unlock,
	.put_backup = pg_put_backup,
	.set_backup_proven = pg_set_backup_proven,
	.list_backups = pg_list_backups,
	.ping = pg_ping,
	.version = pg_version,
};

signet_err state_pg_open(const signer_state_options *o, const state_ops **ops, void **b)
{
	if (!o || !ops || !b || !o->conninfo_file[0])
		return SIGNET_EINVAL;
	pg_state *st = calloc(1, sizeof(*st));
	if (!st)
		return SIGNET_ENOMEM;
	pthread_mutex_init(&st->mu, NULL);
	pthread_mutex_init(&st->snap_mu, NULL);
	pthread_mutex_init(&st->refresh_mu, NULL);
	pthread_mutex_init(&st->zone_mu, NULL);
	pthread_mutex_init(&st->stop_mu, NULL);
	pthread_cond_init(&st->stop_cond, NULL);
	st->cache_ms = o->cache_ms ? o->cache_ms : 500;
	st->lock_timeout_ms = o->lock_timeout_ms ? o->lock_timeout_ms : 5000;
	st->up = true;
	/* The conninfo may hold a password: an owner-only file, read into
	 * locked memory, never logged. */
	signet_err ret = sg_secret_from_file(o->conninfo_file, &st->conninfo);
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "state: conninfo-file %s: %s", o->conninfo_file,
		       signet_strerror(ret));
	if (ret == SIGNET_OK &&
	    (st->conninfo->len == 0 || memchr(st->conninfo->data, '\0', st->conninfo->len))) {
		sg_log(SG_LOG_ERROR, "state: conninfo-file %s: empty or not text",
		       o->conninfo_file);
		ret = SIGNET_EPARSE;
	}
	if (ret == SIGNET_OK) {
		pthread_mutex_lock(&st->mu);
		ret = connect_db(st);
		if (ret == SIGNET_OK)
			ret = pg_schema_up(st);
		pthread_mutex_unlock(&st->mu);
	}
	/* The first snapshot now: a replica starts only with the state read. */
	if (ret == SIGNET_OK)
		ret = snap_refresh(st);
	if (ret == SIGNET_OK) {
		if (pthread_create(&st->refresh_thread, NULL, refresher, st) != 0)
			ret = SIGNET_ENOMEM;
		else
			st->refreshing = true;
	}
	if (ret != SIGNET_OK) {
		pg_close(st);
		return ret;
	}
	*ops = &pg_ops;
	*b = st;
	return SIGNET_OK;
}
