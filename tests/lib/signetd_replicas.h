/* signetd_replicas.h -- several signetd replicas for tests: one real
 * PostgreSQL (signetd_pg.h) holding their shared state, replica 0 the
 * signetd fixture's daemon, every other replica on its PKI and PIN with a
 * SoftHSM2 token of its own (in the fixture's token directory, made in
 * this process), its own state-dir (audit log), ports and metrics port, and
 * replica-name "rN". The first ndomain tokens hold one backup domain (a
 * random key installed by their SO), the others none. Every daemon runs
 * with SIGNETD_TEST_CLOCK=1.
 *
 * replicas_setup (from a cmocka group setup) starts PostgreSQL and replica
 * 0; replicas_start_all (from the first test) makes the tokens, restarts
 * replica 0 to see its domain and starts the others. Failures fail the
 * test, except in replicas_setup (-1). */
#ifndef SIGNET_TEST_SIGNETD_REPLICAS_H
#define SIGNET_TEST_SIGNETD_REPLICAS_H

#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_pg.h"

#define REPLICAS_MAX 6

typedef struct replica_set {
	pg_cluster pg;
	int n;                                /* replicas started */
	signetd_env r[REPLICAS_MAX];          /* r[0]: the fixture's daemon */
	softhsm_fixture tok[REPLICAS_MAX];    /* r[1..]'s tokens (label) */
	char extra[REPLICAS_MAX][700];
	signetd_opts opts[REPLICAS_MAX];
} replica_set;

/* PostgreSQL, its database, replica 0; 0 or -1. extra (may be NULL) is
 * added to every replica's configuration. */
int replicas_setup(replica_set *s, const char *extra);
/* Tokens for n replicas (the first ndomain with the backup domain), replica
 * 0 restarted, replicas 1..n-1 started. */
void replicas_start_all(replica_set *s, int n, int ndomain);
/* Start replica i again on its files (after a kill or stop) and wait until
 * it answers; fresh channels. */
void replica_respawn(replica_set *s, int i);
/* Kill every replica, remove their directories, stop PostgreSQL. */
void replicas_teardown(replica_set *s);

#endif /* SIGNET_TEST_SIGNETD_REPLICAS_H */
