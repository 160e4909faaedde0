/* signetd_fixture.c -- a real signetd on 127.0.0.1 for tests: PKI, config,
 * process, channels, zone set-up through the admin API, and raw HTTP. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_pg.h"
#include "tests/lib/tmpdir.h"

/* A sanitizer build under a loaded machine takes seconds to start. */
#define START_TIMEOUT_MS 30000
/* New ports after losing one to another process: how many tries. */
#define START_ATTEMPTS 3

void signetd_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

void signetd_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

long signetd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The PKI of the header comment; -1 if a command failed. */
int signetd_make_pki(const char *d)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && for ca in ca ca2; do openssl req -x509 -newkey ec"
		 " -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem -days 2"
		 " -subj /CN=signet-test-$ca -addext basicConstraints=critical,CA:TRUE"
		 " -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || exit 1; done", d);
	if (system(cmd) != 0)
		return -1;
	static const struct {
		const char *name, *ca, *cn, *san, *eku;
	} certs[] = {
		{"server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1", "serverAuth"},
		{"ns1", "ca", "ignored-cn.test", "DNS:ns1.test", "clientAuth"},
		{"admin", "ca", "admin", "DNS:admin.test", "clientAuth"},
		{"cnonly", "ca", "cnonly.test", NULL, "clientAuth"},
		{"stranger", "ca", "stranger.test", "DNS:stranger.test", "clientAuth"},
		{"evil", "ca", "admin.test", "DNS:evil.test", "clientAuth"},
		{"foreign", "ca2", "ns1.test", "DNS:ns1.test", "clientAuth"},
	};
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		const char *n = certs[i].name, *ca = certs[i].ca;
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && printf 'extendedKeyUsage=%s\\n%s%s\\n' > %s.ext &&"
			 " openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
			 " -keyout %s.key -out %s.csr -subj /CN=%s 2>/dev/null &&"
			 " openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial"
			 " -days 2 -extfile %s.ext -out %s.pem 2>/dev/null",
			 d, certs[i].eku, certs[i].san ? "subjectAltName=" : "",
			 certs[i].san ? certs[i].san : "", n, n, n, certs[i].cn, n, ca, ca, n, n);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

/* A loopback socket bound to a port the kernel chose; -1 on failure. */
static int bound_socket(int *port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0) {
		close(s);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return s;
}

/* A port this process was handed lately: a test takes several in a row
 * before anything binds them, and the kernel may hand out a port just
 * freed again (zoned's DNS and metrics ports once came out the same). */
static bool handed_lately(int port)
{
	static int ring[64];
	static size_t next;
	for (size_t i = 0; i < 64; i++)
		if (ring[i] == port)
			return true;
	ring[next++ % 64] = port;
	return false;
}

int signetd_free_port(void)
{
	/* Free for UDP as well: NSD and Unbound bind both, and resolvers'
	 * queries take random UDP ports from the same range. */
	for (int attempt = 0; attempt < 100; attempt++) {
		int port = -1;
		int s = bound_socket(&port);
		if (s < 0)
			return -1;
		if (handed_lately(port)) {
			close(s);
			continue;
		}
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		bool both = u >= 0 && bind(u, (struct sockaddr *)&a, sizeof(a)) == 0;
		if (u >= 0)
			close(u);
		close(s);
		if (both)
			return port;
	}
	return -1;
}

/* Two different free ports: the first stays bound while the second is
 * chosen, so the kernel cannot hand out the same one twice. */
static int two_free_ports(int *a, int *b)
{
	int s = bound_socket(a);
	if (s < 0)
		return -1;
	int t = bound_socket(b);
	close(s);
	if (t < 0)
		return -1;
	close(t);
	return 0;
}

static bool port_open(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool up = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return up;
}

/* Whether pid has exited; reaps it and stores its status. */
static bool exited(pid_t pid, int *status)
{
	int st = 0;
	if (pid <= 0 || waitpid(pid, &st, WNOHANG) != pid)
		return false;
	if (status)
		*status = st;
	return true;
}

bool signetd_wait_port(int port, pid_t pid, int timeout_ms, int *status)
{
	long end = signetd_now_ms() + timeout_ms;
	for (;;) {
		if (port_open(port))
			return true;
		if (exited(pid, status) || signetd_now_ms() >= end)
			return false;
		signetd_sleep_ms(20);
	}
}

void signetd_wait_restarted(signetd_env *d)
{
	if (!signetd_wait_port(d->port, d->pid, 30000, NULL)) {
		signetd_sh("tail -20 '%s' >&2", d->log);
		fail_msg("signetd (pid %ld) did not listen on port %d within 30 s", (long)d->pid,
			 d->port);
	}
	rpc_close(d->admin);
	rpc_close(d->signer);
	d->admin = signetd_connect(d, "admin");
	d->signer = signetd_connect(d, "ns1");
	assert_non_null(d->admin);
	assert_non_null(d->signer);
	char det[256];
	for (long end = signetd_now_ms() + 30000;; signetd_sleep_ms(20)) {
		Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
		if (rpc_call_msg(d->admin, "Health", &h.base, det, sizeof(det), NULL) ==
		    GRPC_STATUS_OK)
			return;
		if (signetd_now_ms() > end)
			fail_msg("signetd did not answer Health within 30 s: %s", det);
	}
}

bool signetd_log_has(const char *path, const char *needle)
{
	sg_buf b = SG_BUF_INIT;
	bool found = sg_file_read(path, 1 << 24, &b) == SIGNET_OK &&
		     sg_buf_put_u8(&b, 0) == SIGNET_OK && strstr((char *)b.data, needle);
	sg_buf_free(&b);
	return found;
}

void signetd_write_config(const signetd_env *d, const char *path, int port, int metrics_port,
			  const signetd_opts *o)
{
	static const signetd_opts defaults;
	if (!o)
		o = &defaults;
	FILE *c = fopen(path, "w");
	assert_non_null(c);
	fprintf(c, "# written by tests/lib/signetd_fixture.c\n"
		   "listen = \"127.0.0.1:%d\";\n"
		   "tls-cert = \"%s/server.pem\";\ntls-key = \"%s/server.key\";\n"
		   "tls-ca = \"%s/ca.pem\";\ntls12 = %s;\n"
		   "pkcs11-module = \"%s\";\ntoken-label = \"%s\";\npin = \"file:%s\";\n"
		   "state-dir = \"%s/state\";\nworkers = 2;\n",
		port, d->dir, d->dir, d->dir, o->tls12 ? "true" : "false", d->f->module,
		d->f->label, d->pin_path, d->dir);
	/* softokn (SIGNET_TEST_PKCS11=softokn) finds its database only
	 * through its library parameters. */
	if (d->f->init_args[0])
		fprintf(c, "pkcs11-module-args = \"%s\";\n", d->f->init_args);
	if (metrics_port)
		fprintf(c, "metrics = \"127.0.0.1:%d\";\n", metrics_port);
	/* signetd refuses to stay root unless told to. */
	const char *user = o->user ? o->user : !o->allow_root && geteuid() == 0 ? "nobody" : NULL;
	if (user && user[0])
		fprintf(c, "user = \"%s\";\n", user);
	if (o->allow_root)
		fprintf(c, "allow-root = true;\n");
	fprintf(c, "clients = (\n%s);\n",
		o->clients ? o->clients
			   : "  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; },\n"
			     "  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"*\" ]; }\n");
	/* A test that configures its own state (test_replicas) keeps it. */
	if (d->state_conninfo[0] && !(o->extra && strstr(o->extra, "state =")))
		fprintf(c, "state = { backend = \"postgresql\"; conninfo-file = \"%s\"; };\n",
			d->state_conninfo);
	if (o->extra)
		fputs(o->extra, c);
	assert_int_equal(fclose(c), 0);
}

pid_t signetd_spawn(const char *conf, const char *log)
{
	return signetd_spawn_env(conf, log, NULL);
}

extern char **environ;

pid_t signetd_spawn_env(const char *conf, const char *log, const char *const *env)
{
	const char *build = getenv("SIGNET_BUILD_DIR");
	if (!build)
		fail_msg("SIGNET_BUILD_DIR is not set");
	char bin[512];
	snprintf(bin, sizeof(bin), "%s/signer/signetd", build);
	/* The child's environment, made before the fork. */
	size_t n = 0, extra = 0;
	while (environ[n])
		n++;
	while (env && env[extra])
		extra++;
	char **envp = calloc(n + extra + 1, sizeof(*envp));
	assert_non_null(envp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t name = strcspn(environ[i], "=");
		bool replaced = false;
		for (size_t j = 0; j < extra && !replaced; j++)
			replaced = strncmp(env[j], environ[i], name + 1) == 0;
		if (!replaced)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < extra; j++)
		envp[k++] = (char *)env[j];
	envp[k] = NULL;
	char *argv[] = {bin, "-c", (char *)conf, "-v", NULL};
	/* A test that fails or is killed must not leave its signetd running:
	 * the child dies with the test. The signal follows the thread that
	 * forks, so it is asked for only when that is the main thread. */
	bool main_thread = (pid_t)syscall(SYS_gettid) == getpid();
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (main_thread && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
			_exit(125);
		if (!freopen(log, "w", stderr))
			_exit(126);
		execve(bin, argv, envp);
		_exit(127);
	}
	free(envp);
	assert_true(pid > 0);
	return pid;
}

rpc_conn *signetd_connect(const signetd_env *d, const char *who)
{
	char cert[256], key[256], ca[256];
	snprintf(ca, sizeof(ca), "%s/ca.pem", d->dir);
	snprintf(cert, sizeof(cert), "%s/%s.pem", d->dir, who ? who : "");
	snprintf(key, sizeof(key), "%s/%s.key", d->dir, who ? who : "");
	rpc_conn *c = NULL;
	return rpc_open(d->target, ca, who ? cert : NULL, who ? key : NULL, &c) == SIGNET_OK ? c
											   : NULL;
}

static void show_log(const signetd_env *d)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "cat '%s' >&2", d->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

static void kill_daemon(signetd_env *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
	}
	d->pid = 0;
}

/* Whether pid is gone: exited now, or reaped already. */
static bool gone(pid_t pid)
{
	pid_t r = waitpid(pid, NULL, WNOHANG);
	return r == pid || (r < 0 && errno == ECHILD);
}

/* SIGNET_TEST_STATE=postgresql: one cluster for the test program, started
 * by the first signetd_start (seconds) and removed at exit, so that a
 * failed test does not leave it running either. */
static pg_cluster state_pg;
static unsigned state_pg_dbs;
static bool state_pg_atexit;

static void state_pg_destroy(void)
{
	pg_cluster_destroy(&state_pg);
}

/* d's own fresh database and its conninfo file in d->dir, when the
 * environment asks for PostgreSQL; 0, or -1 with the reason on stderr. */
static int state_pg_prepare(signetd_env *d)
{
	const char *mode = getenv("SIGNET_TEST_STATE");
	if (!mode || !mode[0] || strcmp(mode, "sqlite") == 0)
		return 0;
	if (strcmp(mode, "postgresql") != 0) {
		fprintf(stderr, "SIGNET_TEST_STATE=%s: \"sqlite\" or \"postgresql\"\n", mode);
		return -1;
	}
	if (!state_pg.running) {
		if (!state_pg_atexit && atexit(state_pg_destroy) != 0)
			return -1;
		state_pg_atexit = true;
		pg_cluster_destroy(&state_pg);
		if (pg_cluster_start(&state_pg) != 0) {
			fprintf(stderr, "SIGNET_TEST_STATE=postgresql: the cluster did not start\n");
			return -1;
		}
	}
	char db[64], sql[128];
	snprintf(db, sizeof(db), "signetd_%u", ++state_pg_dbs);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s;", db);
	if (!pg_cluster_sql(&state_pg, "postgres", sql, NULL, 0))
		return -1;
	/* Read by signetd before it drops privileges: root's, 0600. */
	snprintf(d->state_conninfo, sizeof(d->state_conninfo), "%s/state.conninfo", d->dir);
	pg_cluster_conninfo(&state_pg, db, d->state_conninfo, NULL);
	return 0;
}

/* Whether a Health answer names PostgreSQL when the fixture put d's state
 * there (so a PostgreSQL run cannot pass on SQLite unnoticed); a test's own
 * state section (test_replicas) is the test's to check. */
static bool state_backend_is(const signetd_env *d, const sg_buf *resp)
{
	if (!d->state_conninfo[0])
		return true;
	Signet__V1__HealthResponse *h =
		signet__v1__health_response__unpack(NULL, resp->len, resp->data);
	if (!h)
		return false;
	bool ok = h->state_backend && strcmp(h->state_backend, "postgresql") == 0;
	signet__v1__health_response__free_unpacked(h, NULL);
	return ok;
}

/* One start on fresh ports: 0 when Health answers OK, 1 when the daemon
 * lost a port to another process (try again), -1 otherwise. */
static int start_once(signetd_env *d)
{
	if (two_free_ports(&d->port, &d->metrics_port) != 0)
		return -1;
	if (!d->opts.metrics)
		d->metrics_port = 0;
	snprintf(d->target, sizeof(d->target), "127.0.0.1:%d", d->port);
	signetd_write_config(d, d->conf, d->port, d->metrics_port, &d->opts);
	d->pid = signetd_spawn(d->conf, d->log);
	long end = signetd_now_ms() + START_TIMEOUT_MS;
	/* A channel made before the port is open backs off for seconds, so
	 * wait for a plain TCP connect first. */
	if (signetd_wait_port(d->port, d->pid, START_TIMEOUT_MS, NULL)) {
		d->admin = signetd_connect(d, "admin");
		d->signer = signetd_connect(d, "ns1");
	}
	char det[256] = "";
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	while (d->admin && d->signer) {
		Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
		sg_buf resp = SG_BUF_INIT;
		st = rpc_call_msg(d->admin, "Health", &h.base, det, sizeof(det), &resp);
		bool backend_ok = st == GRPC_STATUS_OK && state_backend_is(d, &resp);
		sg_buf_free(&resp);
		if (st == GRPC_STATUS_OK && !backend_ok) {
			snprintf(det, sizeof(det), "Health names another state backend than "
						   "postgresql");
			break;
		}
		/* signetd serves calls before it drops privileges (the drop
		 * comes after the listeners), so with a user it is ready once
		 * it says it runs as that user. */
		if (st == GRPC_STATUS_OK && (!d->opts.user || signetd_log_has(d->log, "running as ")))
			return 0;
		if (gone(d->pid) || signetd_now_ms() >= end)
			break;
		signetd_sleep_ms(50);
	}
	rpc_close(d->admin);
	rpc_close(d->signer);
	d->admin = d->signer = NULL;
	if (gone(d->pid)) {
		d->pid = 0;
		if (signetd_log_has(d->log, "cannot listen")) {
			fprintf(stderr, "signetd lost its port to another process; again\n");
			return 1;
		}
	}
	kill_daemon(d);
	fprintf(stderr, "signetd did not answer Health (%d: %s); log:\n", (int)st, det);
	show_log(d);
	return -1;
}

int signetd_start(signetd_env *d, const signetd_opts *o)
{
	memset(d, 0, sizeof(*d));
	if (o)
		d->opts = *o;
	if (!d->opts.user && !d->opts.allow_root && geteuid() == 0)
		d->opts.user = "nobody";
	if (!getenv("SIGNET_BUILD_DIR")) {
		fprintf(stderr, "SIGNET_BUILD_DIR is not set\n");
		return -1;
	}
	if (test_tmpdir_make("signet-daemon", d->dir, sizeof(d->dir)) != 0)
		return -1;
	if (signetd_make_pki(d->dir) != 0)
		return -1;
	snprintf(d->conf, sizeof(d->conf), "%s/signetd.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/signetd.log", d->dir);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "mkdir -m 700 '%s/state'", d->dir);
	if (system(cmd) != 0 || softhsm_fixture_create(false, &d->f) != SIGNET_OK)
		return -1;
	if (softhsm_fixture_pin_file(d->f, "pin", d->pin_path, sizeof(d->pin_path)) != SIGNET_OK)
		return -1;
	if (state_pg_prepare(d) != 0)
		return -1;
	if (d->opts.user) {
		/* What an operator does: the state and the token's files belong
		 * to the service user; the PIN file and the TLS key stay root's,
		 * read before the drop; the configuration (read again at SIGHUP)
		 * is readable, on a path it may search. Other programs a test
		 * runs in dir keep it as theirs. */
		snprintf(cmd, sizeof(cmd),
			 "chown -R '%s:' '%s/state' '%s' && chown root: '%s' && chmod o+x '%s'",
			 d->opts.user, d->dir, d->f->dir, d->pin_path, d->dir);
		if (system(cmd) != 0)
			return -1;
	}
	test_ksk_new(&d->ksk);
	client_grpc_init();
	d->grpc_up = true;
	/* Ports are chosen free, but another process may bind one before
	 * signetd does: then signetd says "cannot listen" and exits. */
	int ret = 1;
	for (int i = 0; i < START_ATTEMPTS && ret == 1; i++)
		ret = start_once(d);
	return ret == 0 ? 0 : -1;
}

int signetd_stop(signetd_env *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	int status = 0;
	/* Past signetd's own bounds (the drain's 30 s, the stop's grace) and
	 * its exit under a sanitizer (a leak check of a large heap takes
	 * seconds on a loaded machine): only a hung daemon is killed. */
	long end = signetd_now_ms() + 60000;
	while (signetd_now_ms() < end) {
		if (exited(d->pid, &status)) {
			d->pid = 0;
			return status;
		}
		signetd_sleep_ms(20);
	}
	kill_daemon(d);
	return -1;
}

void signetd_stop_ok(signetd_env *d)
{
	int status = signetd_stop(d);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		show_log(d);
		fail_msg("signetd exit status %d", status);
	}
}

int signetd_teardown(signetd_env *d)
{
	kill_daemon(d);
	rpc_close(d->admin);
	rpc_close(d->signer);
	d->admin = d->signer = NULL;
	if (d->grpc_up)
		grpc_shutdown();
	d->grpc_up = false;
	test_ksk_free(&d->ksk);
	softhsm_fixture_destroy(d->f);
	d->f = NULL;
	if (!d->dir[0])
		return 0;
	return test_tmpdir_remove(d->dir);
}

/* ---- zones and signing -------------------------------------------------- */

static ProtobufCBinaryData wire(dns_name *n)
{
	ProtobufCBinaryData b = {n->len, n->wire};
	return b;
}

/* rpc_call_msg that must answer OK; failures name the call and the zone. */
static void call_ok(rpc_conn *c, const char *method, const ProtobufCMessage *m,
		    const char *zone, sg_buf *resp)
{
	char det[512] = "";
	if (rpc_call_msg(c, method, m, det, sizeof(det), resp) != GRPC_STATUS_OK)
		fail_msg("%s %s: %s", method, zone, det);
}

void signetd_add_zone(signetd_env *d, const char *zone, uint8_t alg, signetd_zone *out)
{
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = alg;
	signetd_add_zone_policy(d, zone, &pol, out);
}

void signetd_add_zone_policy(signetd_env *d, const char *zone, const Signet__V1__Policy *pol,
			     signetd_zone *out)
{
	uint8_t alg = (uint8_t)pol->algorithm;
	memset(out, 0, sizeof(*out));
	assert_int_equal(dns_name_from_str(&out->apex, zone), SIGNET_OK);
	out->alg = alg;
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	az.zone = wire(&out->apex);
	az.policy = (Signet__V1__Policy *)pol;
	ProtobufCBinaryData kd = {d->ksk.dnskey_len, d->ksk.dnskey};
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	call_ok(d->admin, "AddZone", &az.base, zone, NULL);

	Signet__V1__GenerateZskRequest gz = SIGNET__V1__GENERATE_ZSK_REQUEST__INIT;
	gz.zone = wire(&out->apex);
	sg_buf resp = SG_BUF_INIT;
	call_ok(d->admin, "GenerateZsk", &gz.base, zone, &resp);
	Signet__V1__GenerateZskResponse *gr =
		signet__v1__generate_zsk_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(gr);
	assert_non_null(gr->key);
	assert_int_equal(gr->key->algorithm, alg);
	assert_true(gr->key->dnskey.len <= sizeof(out->dnskey));
	memcpy(out->dnskey, gr->key->dnskey.data, gr->key->dnskey.len);
	out->dnskey_len = gr->key->dnskey.len;
	signet__v1__generate_zsk_response__free_unpacked(gr, NULL);
	assert_int_equal(dns_key_tag(out->dnskey, out->dnskey_len, &out->key_tag), SIGNET_OK);

	sg_buf_free(&resp);
	signetd_renew_bundle(d, &out->apex, 14);
}

void signetd_renew_bundle(signetd_env *d, const dns_name *apex, uint32_t days)
{
	char zone[DNS_NAME_STR_MAX];
	dns_name_to_str(apex, zone, sizeof(zone));
	dns_name a = *apex;
	sg_buf resp = SG_BUF_INIT;
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = wire(&a);
	er.days = days;
	call_ok(d->admin, "ExportKeySigningRequest", &er.base, zone, &resp);
	Signet__V1__ExportKeySigningRequestResponse *ex =
		signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ex);
	sg_buf bundle = SG_BUF_INIT;
	test_ksk_make_bundle(&d->ksk, ex->request.data, ex->request.len, &bundle);
	signet__v1__export_key_signing_request_response__free_unpacked(ex, NULL);

	Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	ib.zone = wire(&a);
	ib.bundle.data = bundle.data;
	ib.bundle.len = bundle.len;
	call_ok(d->admin, "ImportKeyBundle", &ib.base, zone, NULL);
	sg_buf_free(&bundle);
	sg_buf_free(&resp);
}

static void a_rdata(unsigned i, uint8_t rd[4])
{
	rd[0] = 192;
	rd[1] = 0;
	rd[2] = (uint8_t)(i >> 8);
	rd[3] = (uint8_t)i;
}

static void owner_of(const char *zone, unsigned i, dns_name *out)
{
	/* Room for any zone text (DNS_NAME_STR_MAX) and the label, so -O2's
	 * format-truncation check has nothing to say. */
	char owner[DNS_NAME_STR_MAX + 16];
	snprintf(owner, sizeof(owner), "h%u.%s", i, zone);
	assert_int_equal(dns_name_from_str(out, owner), SIGNET_OK);
}

#define SIGN_A_MAX 100

Signet__V1__SignResponse *signetd_sign_a(rpc_conn *c, const char *zone, unsigned first,
					 unsigned n, grpc_status_code *st)
{
	assert_true(n > 0 && n <= SIGN_A_MAX);
	Signet__V1__RRset rs[SIGN_A_MAX];
	Signet__V1__RRset *rp[SIGN_A_MAX];
	dns_name owners[SIGN_A_MAX], apex;
	uint8_t a[SIGN_A_MAX][4];
	ProtobufCBinaryData rd[SIGN_A_MAX];
	for (unsigned i = 0; i < n; i++) {
		signet__v1__rrset__init(&rs[i]);
		owner_of(zone, first + i, &owners[i]);
		a_rdata(first + i, a[i]);
		rs[i].owner = wire(&owners[i]);
		rs[i].type = DNS_T_A;
		rs[i].rclass = 1;
		rs[i].ttl = 300;
		rd[i].data = a[i];
		rd[i].len = 4;
		rs[i].n_rdata = 1;
		rs[i].rdata = &rd[i];
		rp[i] = &rs[i];
	}
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	sr.zone = wire(&apex);
	sr.n_rrsets = n;
	sr.rrsets = rp;
	char det[512];
	sg_buf resp = SG_BUF_INIT;
	*st = rpc_call_msg(c, "SignRRsets", &sr.base, det, sizeof(det), &resp);
	Signet__V1__SignResponse *r = NULL;
	if (*st == GRPC_STATUS_OK) {
		r = signet__v1__sign_response__unpack(NULL, resp.len, resp.data);
		assert_non_null(r);
		assert_int_equal(r->n_results, n);
	}
	sg_buf_free(&resp);
	return r;
}

void signetd_check_rrsig(const signetd_zone *z, unsigned i, const uint8_t *rdata, size_t len)
{
	char zs[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_to_str(&z->apex, zs, sizeof(zs)), SIGNET_OK);
	dns_name own;
	owner_of(zs, i, &own);
	dns_rrset s;
	dns_rrset_init(&s, &own, DNS_T_A, DNS_CLASS_IN, 300);
	uint8_t a[4];
	a_rdata(i, a);
	assert_int_equal(dns_rrset_add(&s, a, 4), SIGNET_OK);
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_from_rdata(&sig, rdata, len), SIGNET_OK);
	assert_int_equal(sig.algorithm, z->alg);
	assert_int_equal(sig.key_tag, z->key_tag);
	assert_int_equal(dns_rrsig_verify(&sig, &s, z->dnskey, z->dnskey_len, &z->apex,
					  (uint32_t)time(NULL)), SIGNET_OK);
	dns_rrset_clear(&s);
}

/* ---- the metrics endpoint ----------------------------------------------- */

long signetd_http(int port, const char *req, size_t len, char *resp, size_t cap)
{
	assert_true(cap > 0);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {10, 0};
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(s, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;  /* the server may answer (and close) before all is sent */
		off += (size_t)n;
	}
	size_t got = 0;
	while (got + 1 < cap) {
		ssize_t n = recv(s, resp + got, cap - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	close(s);
	return (long)got;
}

const char *signetd_scrape(const signetd_env *d, char *buf, size_t cap)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	assert_true(d->metrics_port > 0);
	long n = signetd_http(d->metrics_port, req, sizeof(req) - 1, buf, cap);
	assert_true(n > 0);
	if (strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) != 0)
		fail_msg("scrape: %.200s", buf);
	const char *body = strstr(buf, "\r\n\r\n");
	assert_non_null(body);
	return body + 4;
}

double signetd_metric(const char *body, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}
