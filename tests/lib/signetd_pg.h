/* signetd_pg.h -- a real PostgreSQL 15 cluster for tests: initdb into a
 * temporary directory as the unprivileged user nobody (tests run as root,
 * and postgres refuses root), TLS on with a server certificate from a
 * test CA, only TLS connections with a password accepted on 127.0.0.1,
 * and a Unix socket (trust, directory owned by nobody) for the test's own
 * SQL. One cluster per test program: starting one costs seconds.
 *
 * A watcher process reads one end of a socket pair whose other end only
 * the test process holds: when the test dies without pg_cluster_destroy (a
 * crash, ctest's timeout killing it with SIGKILL, where atexit does not
 * run), the end of its input makes the watcher stop the server (pg_ctl
 * stop -m immediate) and remove the directory (kept with SIGNET_TEST_KEEP).
 * It is forked twice, in a session of its own, so that neither a kill of
 * the test's process group nor ctest's kill of the test's process tree
 * reaches it.
 *
 * Needs /usr/lib/postgresql/15/bin (postgresql-15) and runuser; a missing
 * one fails the test naming it. Failures fail the cmocka test, except in
 * pg_cluster_start, which returns -1 so that a group setup fails cleanly.
 */
#ifndef SIGNET_TEST_SIGNETD_PG_H
#define SIGNET_TEST_SIGNETD_PG_H

#include <stdbool.h>

typedef struct pg_cluster {
	char dir[128];       /* everything; removed by pg_cluster_destroy */
	char pki[200];       /* dir/pki: ca.pem, server.pem/.key (signetd_make_pki) */
	char sock[200];      /* dir/sock: the Unix socket directory */
	char password[40];   /* the role signet's password (random) */
	int port;            /* 127.0.0.1:port, TLS only */
	bool running;
	int watch_fd;        /* the test's end of the watcher's socket pair, or -1 */
	int watcher;         /* the watcher's pid (not a child: forked twice), or 0 */
} pg_cluster;

/* initdb, configure and start; 0 when it accepts connections, -1 (with
 * the reason on stderr) otherwise. Call pg_cluster_destroy in either case
 * (or die: the watcher does it then). */
int pg_cluster_start(pg_cluster *c);
/* pid names a process that has not ended; a zombie has (an orphan may
 * stay one where PID 1 reaps nothing). */
bool pg_pid_running(int pid);
/* pg_ctl stop -m fast (clients are cut off at once); start again on the
 * same data and port. Both wait until done. */
void pg_cluster_stop(pg_cluster *c);
void pg_cluster_restart(pg_cluster *c);
/* Stop if running and remove the directory (kept with SIGNET_TEST_KEEP). */
void pg_cluster_destroy(pg_cluster *c);
/* Run SQL as the superuser over the socket (psql); false if it failed.
 * With out (cap octets), the unaligned tuples-only output (trimmed). */
bool pg_cluster_sql(const pg_cluster *c, const char *db, const char *sql, char *out,
		    size_t cap);
/* CREATE DATABASE name (asserted). */
void pg_cluster_createdb(const pg_cluster *c, const char *name);
/* Write an owner-only (0600) conninfo file at path for database db over
 * TCP with TLS (sslmode=verify-full, the test CA) and the password;
 * extra (may be NULL) is appended to the conninfo. */
void pg_cluster_conninfo(const pg_cluster *c, const char *db, const char *path,
			 const char *extra);

#endif /* SIGNET_TEST_SIGNETD_PG_H */
