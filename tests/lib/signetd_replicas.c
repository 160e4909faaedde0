/* signetd_replicas.c -- several signetd replicas on one PostgreSQL, each
 * with its own SoftHSM2 token (signetd_replicas.h). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "client/client.h"
#include "tests/lib/signetd_replicas.h"

int replicas_setup(replica_set *s, const char *extra)
{
	memset(s, 0, sizeof(*s));
	/* Every daemon this process starts takes its clock from Rollover
	 * SET_CLOCK. */
	setenv("SIGNETD_TEST_CLOCK", "1", 1);
	if (pg_cluster_start(&s->pg) != 0)
		return -1;
	if (!pg_cluster_sql(&s->pg, "postgres", "CREATE DATABASE signet;", NULL, 0))
		return -1;
	char conninfo[300];
	snprintf(conninfo, sizeof(conninfo), "%s/signetd.conninfo", s->pg.dir);
	pg_cluster_conninfo(&s->pg, "signet", conninfo, NULL);
	for (int i = 0; i < REPLICAS_MAX; i++) {
		snprintf(s->extra[i], sizeof(s->extra[i]),
			 "state = { backend = \"postgresql\"; conninfo-file = \"%s\"; cache-ms = 100;"
			 " lock-timeout-ms = 20000; };\nreplica-name = \"r%d\";\n%s", conninfo, i,
			 extra ? extra : "");
		s->opts[i].extra = s->extra[i];
	}
	s->n = 1;
	return signetd_start(&s->r[0], &s->opts[0]);
}

/* A token of the fixture's module labelled label: its serial. */
static void new_token(softhsm_fixture *f, const char *label, char serial[17])
{
	assert_int_equal(hsm_token_initialize(f->ctx, label, f->so_pin, f->user_pin, HSM_ERR), SIGNET_OK);
	hsm_token_desc *d = NULL;
	size_t n = 0;
	serial[0] = '\0';
	assert_int_equal(hsm_list_tokens(f->ctx, &d, &n, HSM_ERR), SIGNET_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, label) == 0)
			memcpy(serial, d[i].serial, 17);
	free(d);
	assert_true(serial[0] != '\0');
}

static void wait_running(signetd_env *e)
{
	if (!signetd_wait_port(e->port, e->pid, 60000, NULL)) {
		signetd_sh("cat '%s' >&2", e->log);
		fail_msg("replica on port %d did not start", e->port);
	}
	long until = signetd_now_ms() + 60000;
	while (!signetd_log_has(e->log, "running as")) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
}

/* Replica i on r[0]'s PKI and PIN, its own token, state-dir and ports. */
static void replica_start(replica_set *s, int i)
{
	signetd_env *e = &s->r[i];
	*e = s->r[0];
	e->pid = 0;
	e->admin = e->signer = NULL;
	e->grpc_up = false;
	char dir[sizeof(e->dir)];
	snprintf(dir, sizeof(dir), "/tmp/signet-replica%d-XXXXXX", i);
	assert_non_null(mkdtemp(dir));
	memcpy(e->dir, dir, sizeof(dir));
	s->tok[i] = *s->r[0].f;
	snprintf(s->tok[i].label, sizeof(s->tok[i].label), "signet-r%d", i);
	e->f = &s->tok[i];
	snprintf(e->conf, sizeof(e->conf), "%s/signetd.conf", dir);
	snprintf(e->log, sizeof(e->log), "%s/signetd.log", dir);
	signetd_sh("cd '%s' && cp '%s'/*.pem '%s'/*.key . && mkdir -m 700 state &&"
		   " chown nobody: state && chmod o+x .", e->dir, s->r[0].dir, s->r[0].dir);
	e->port = signetd_free_port();
	do
		e->metrics_port = signetd_free_port();
	while (e->metrics_port == e->port);
	snprintf(e->target, sizeof(e->target), "127.0.0.1:%d", e->port);
	signetd_write_config(e, e->conf, e->port, e->metrics_port, &s->opts[i]);
	e->pid = signetd_spawn(e->conf, e->log);
	wait_running(e);
	e->admin = signetd_connect(e, "admin");
	e->signer = signetd_connect(e, "ns1");
	assert_non_null(e->admin);
	assert_non_null(e->signer);
}

void replicas_start_all(replica_set *s, int n, int ndomain)
{
	assert_true(n >= 1 && n <= REPLICAS_MAX && ndomain <= n);
	softhsm_fixture *f = s->r[0].f;
	sg_secret *key = NULL;
	assert_int_equal(sg_secret_new(HSM_DOMAIN_KEY_LEN, &key), SIGNET_OK);
	assert_int_equal(RAND_priv_bytes(key->data, HSM_DOMAIN_KEY_LEN), 1);
	key->len = HSM_DOMAIN_KEY_LEN;
	char serial[REPLICAS_MAX][17];
	memcpy(serial[0], f->serial, 17);
	for (int i = 1; i < n; i++) {
		char label[33];
		snprintf(label, sizeof(label), "signet-r%d", i);
		new_token(f, label, serial[i]);
	}
	for (int i = 0; i < ndomain; i++)
		assert_int_equal(hsm_domain_install(f->ctx, serial[i], f->so_pin, key, HSM_ERR), SIGNET_OK);
	sg_secret_free(key);
	signetd_sh("chown -R nobody: '%s'", f->tokendir);
	signetd_stop_ok(&s->r[0]);
	s->r[0].pid = signetd_spawn(s->r[0].conf, s->r[0].log);
	signetd_wait_restarted(&s->r[0]);
	for (int i = 1; i < n; i++)
		replica_start(s, i);
	s->n = n;
}

void replica_respawn(replica_set *s, int i)
{
	signetd_env *e = &s->r[i];
	e->pid = signetd_spawn(e->conf, e->log);
	signetd_wait_restarted(e);
}

void replicas_teardown(replica_set *s)
{
	for (int i = 1; i < s->n; i++) {
		signetd_env *e = &s->r[i];
		if (e->pid > 0) {
			kill(e->pid, SIGKILL);
			waitpid(e->pid, NULL, 0);
		}
		rpc_close(e->admin);
		rpc_close(e->signer);
		e->admin = e->signer = NULL;
		if (e->dir[0] && !getenv("SIGNET_TEST_KEEP"))
			signetd_sh("rm -rf '%s'", e->dir);
	}
	/* Round-robin subchannels to a killed replica may still be in
	 * reconnect backoff: hold a reference over the teardown and end
	 * with the blocking shutdown (test_replicas.c says why). */
	client_grpc_init();
	signetd_teardown(&s->r[0]);
	grpc_shutdown_blocking();
	pg_cluster_destroy(&s->pg);
}
