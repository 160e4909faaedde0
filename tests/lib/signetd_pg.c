/* signetd_pg.c -- a real PostgreSQL cluster for tests (see signetd_pg.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_pg.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "pg fixture: failed (%d): %s\n", rc, cmd);
	return rc == 0 ? 0 : -1;
}

static int start_server(pg_cluster *c)
{
	/* -w: returns once the server accepts connections; a loaded machine
	 * under a sanitizer gets a minute. */
	if (sh("runuser -u nobody -- " PG_BIN "/pg_ctl -D '%s/data' -l '%s/pg.log' -w -t 120"
	       " start >/dev/null", c->dir, c->dir) != 0) {
		sh("cat '%s/pg.log' >&2", c->dir);
		return -1;
	}
	c->running = true;
	return 0;
}

/* The watcher: sh with one end of a socket pair as its input. A line from
 * pg_cluster_destroy (which cleaned up itself) ends it quietly; the end of
 * the input without one means the test process died, and it cleans up. It
 * is forked and exec'd at once (the test may have threads), in a session
 * of its own so that a kill of the test's process group spares it, with
 * no descriptor of the test but stderr. */
static const char watch_script[] =
	"read -r done && exit 0;"
	" runuser -u nobody -- " PG_BIN "/pg_ctl -D \"$1/data\" -m immediate -w -t 60 stop"
	" >/dev/null 2>&1;"
	" [ -n \"$SIGNET_TEST_KEEP\" ] || rm -rf \"$1\"";

bool pg_pid_running(int pid)
{
	char path[64], stat[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int start_watcher(pg_cluster *c)
{
	/* A socket pair rather than a pipe: the farewell is sent with
	 * MSG_NOSIGNAL, so a watcher gone already cannot kill the test with
	 * SIGPIPE. */
	int p[2], q[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
		return -1;
	if (pipe2(q, O_CLOEXEC) != 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		close(q[0]);
		close(q[1]);
		return -1;
	}
	if (pid == 0) {
		/* Forked twice: ctest's timeout kills the test's whole tree of
		 * children (it follows parent pids), and the watcher must outlive
		 * exactly that. The middle process tells the watcher's pid and
		 * leaves it to init. */
		if (setsid() < 0)
			_exit(127);
		pid_t w = fork();
		if (w != 0) {
			(void)!write(q[1], &w, sizeof(w));
			_exit(w > 0 ? 0 : 127);
		}
		/* dup2 onto itself would keep close-on-exec. */
		if (p[0] == 0 ? fcntl(0, F_SETFD, 0) != 0 : dup2(p[0], 0) != 0)
			_exit(127);
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 1) != 1 || close_range(3, ~0u, 0) != 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", watch_script, "sh", c->dir, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(q[1]);
	pid_t w = -1;
	ssize_t got = read(q[0], &w, sizeof(w));
	close(q[0]);
	int status = 0;
	(void)waitpid(pid, &status, 0);
	if (got != (ssize_t)sizeof(w) || w <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		close(p[1]);
		return -1;
	}
	c->watch_fd = p[1];
	c->watcher = (int)w;
	return 0;
}

int pg_cluster_start(pg_cluster *c)
{
	memset(c, 0, sizeof(*c));
	c->watch_fd = -1;
	const char *need[] = {PG_BIN "/initdb", PG_BIN "/pg_ctl", PG_BIN "/psql",
			      "/usr/sbin/runuser"};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (access(need[i], X_OK) != 0) {
			fprintf(stderr, "pg fixture: %s is missing (scripts/deps installs "
				"postgresql-15)\n", need[i]);
			return -1;
		}
	snprintf(c->dir, sizeof(c->dir), "/tmp/signet-pg-XXXXXX");
	if (!mkdtemp(c->dir) || chmod(c->dir, 0755) != 0 || start_watcher(c) != 0)
		return -1;
	snprintf(c->pki, sizeof(c->pki), "%s/pki", c->dir);
	snprintf(c->sock, sizeof(c->sock), "%s/sock", c->dir);
	if (mkdir(c->pki, 0755) != 0 || signetd_make_pki(c->pki) != 0 ||
	    chmod(c->pki, 0755) != 0)
		return -1;
	/* The CA is read by signetd after it dropped to nobody (reconnects). */
	char ca[300];
	snprintf(ca, sizeof(ca), "%s/ca.pem", c->pki);
	if (chmod(ca, 0644) != 0)
		return -1;
	uint8_t rnd[16];
	FILE *u = fopen("/dev/urandom", "rb");
	if (!u || fread(rnd, 1, sizeof(rnd), u) != sizeof(rnd)) {
		if (u)
			fclose(u);
		return -1;
	}
	fclose(u);
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(c->password + 2 * i, 3, "%02x", rnd[i]);
	c->port = signetd_free_port();
	if (c->port <= 0)
		return -1;
	char pw[300];
	snprintf(pw, sizeof(pw), "%s/pw", c->dir);
	int fd = open(pw, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, c->password, strlen(c->password)) != (ssize_t)strlen(c->password) ||
	    close(fd) != 0)
		return -1;
	if (sh("mkdir -m 0700 '%s' && chown nobody '%s' '%s' && chown -R nobody '%s' &&"
	       " runuser -u nobody -- " PG_BIN "/initdb -D '%s/data' -U signet --pwfile='%s'"
	       " -A scram-sha-256 -E UTF8 --locale=C --no-sync >'%s/initdb.log' 2>&1",
	       c->sock, c->sock, pw, c->dir, c->dir, pw, c->dir) != 0) {
		sh("cat '%s/initdb.log' >&2", c->dir);
		return -1;
	}
	unlink(pw);
	/* TLS with the test CA's server certificate (localhost, 127.0.0.1);
	 * on TCP only TLS with the password; the socket is for the test. */
	if (sh("cd '%s' && install -o nobody -m 0600 pki/server.pem data/server.pem &&"
	       " install -o nobody -m 0600 pki/server.key data/server.key &&"
	       " printf 'local all all trust\\nhostssl all signet 127.0.0.1/32 scram-sha-256\\n'"
	       " > data/pg_hba.conf && chown nobody data/pg_hba.conf &&"
	       " printf \"listen_addresses = '127.0.0.1'\\nport = %d\\n"
	       "unix_socket_directories = '%s'\\nssl = on\\nssl_cert_file = 'server.pem'\\n"
	       "ssl_key_file = 'server.key'\\nmax_connections = 40\\nshared_buffers = 16MB\\n"
	       "log_min_messages = warning\\n\" >> data/postgresql.conf",
	       c->dir, c->port, c->sock) != 0)
		return -1;
	return start_server(c);
}

void pg_cluster_stop(pg_cluster *c)
{
	if (!c->running)
		return;
	assert_int_equal(sh("runuser -u nobody -- " PG_BIN "/pg_ctl -D '%s/data' -m fast -w"
			    " -t 120 stop >/dev/null", c->dir), 0);
	c->running = false;
}

void pg_cluster_restart(pg_cluster *c)
{
	assert_false(c->running);
	assert_int_equal(start_server(c), 0);
}

void pg_cluster_destroy(pg_cluster *c)
{
	if (!c->dir[0])
		return;
	if (c->running)
		(void)sh("runuser -u nobody -- " PG_BIN "/pg_ctl -D '%s/data' -m immediate -w"
			 " -t 60 stop >/dev/null 2>&1", c->dir);
	c->running = false;
	if (!getenv("SIGNET_TEST_KEEP"))
		(void)sh("rm -rf '%s'", c->dir);
	c->dir[0] = '\0';
	if (c->watcher > 0) {
		/* Done: the watcher leaves without touching anything. */
		(void)send(c->watch_fd, "done\n", 5, MSG_NOSIGNAL);
		close(c->watch_fd);
		/* Not a child of this process (init reaps it): seen gone. */
		for (int i = 0; i < 1000 && pg_pid_running(c->watcher); i++)
			usleep(10000);
	}
	c->watch_fd = -1;
	c->watcher = 0;
}

bool pg_cluster_sql(const pg_cluster *c, const char *db, const char *sql, char *out,
		    size_t cap)
{
	char q[300], o[300];
	snprintf(q, sizeof(q), "%s/q.sql", c->dir);
	snprintf(o, sizeof(o), "%s/q.out", c->dir);
	FILE *f = fopen(q, "w");
	if (!f)
		return false;
	fputs(sql, f);
	if (fclose(f) != 0)
		return false;
	int rc = sh(PG_BIN "/psql -X -q -At -v ON_ERROR_STOP=1 -h '%s' -p %d -U signet -d '%s'"
		    " -f '%s' > '%s' 2>&1", c->sock, c->port, db, q, o);
	if (out && cap) {
		out[0] = '\0';
		f = fopen(o, "r");
		if (f) {
			size_t n = fread(out, 1, cap - 1, f);
			out[n] = '\0';
			while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
				out[--n] = '\0';
			fclose(f);
		}
	}
	if (rc != 0)
		sh("cat '%s' >&2", o);
	return rc == 0;
}

void pg_cluster_createdb(const pg_cluster *c, const char *name)
{
	char sql[200];
	snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\";", name);
	assert_true(pg_cluster_sql(c, "postgres", sql, NULL, 0));
}

void pg_cluster_conninfo(const pg_cluster *c, const char *db, const char *path,
			 const char *extra)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	char ci[1024];
	int n = snprintf(ci, sizeof(ci),
			 "host=localhost port=%d dbname=%s user=signet password=%s"
			 " sslmode=verify-full sslrootcert=%s/ca.pem%s%s\n",
			 c->port, db, c->password, c->pki, extra ? " " : "", extra ? extra : "");
	assert_true(n > 0 && (size_t)n < sizeof(ci));
	assert_int_equal(write(fd, ci, (size_t)n), n);
	assert_int_equal(close(fd), 0);
}
