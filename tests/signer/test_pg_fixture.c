/* test_pg_fixture.c -- the PostgreSQL test fixture (tests/lib/signetd_pg.c)
 * leaves nothing behind: a test process killed with SIGKILL together with
 * every process below it (as ctest's timeout does; atexit does not run)
 * takes its cluster with it, and one
 * that calls pg_cluster_destroy leaves no watcher running. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_pg.h"

/* What the child reports of its cluster. */
typedef struct started {
	int ok;
	int postmaster;
	int watcher;
	char dir[128];
} started;

/* The postmaster's pid, from the first line of data/postmaster.pid. */
static int postmaster_pid(const char *dir)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

#define alive pg_pid_running

/* The pids whose parent is pid, into out (at most cap); how many. */
static size_t children_of(int pid, int *out, size_t cap)
{
	size_t n = 0;
	DIR *d = opendir("/proc");
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL && n < cap;) {
		int p = atoi(e->d_name);
		if (p <= 0)
			continue;
		char path[64], stat[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", p);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[len] = '\0';
		const char *paren = strrchr(stat, ')');
		int ppid = 0;
		if (paren && sscanf(paren + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			out[n++] = p;
	}
	closedir(d);
	return n;
}

/* SIGKILL to pid and every process below it, as ctest's timeout does (it
 * follows parent pids, not process groups or sessions). */
static void kill_tree(int pid)
{
	int kids[64];
	size_t n = children_of(pid, kids, 64);
	kill(pid, SIGSTOP); /* no new children meanwhile */
	for (size_t i = 0; i < n; i++)
		kill_tree(kids[i]);
	kill(pid, SIGKILL);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* A cluster started in a child, which reports it on fd and waits to be
 * killed. */
static void child_start(int fd)
{
	pg_cluster c;
	started s = {0};
	s.ok = pg_cluster_start(&c) == 0;
	s.postmaster = postmaster_pid(c.dir);
	s.watcher = c.watcher;
	snprintf(s.dir, sizeof(s.dir), "%s", c.dir);
	if (write(fd, &s, sizeof(s)) != (ssize_t)sizeof(s))
		_exit(1);
	for (;;)
		pause();
}

static void test_killed_test_takes_its_cluster(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[0]);
		child_start(p[1]);
	}
	close(p[1]);
	started s = {0};
	ssize_t got = read(p[0], &s, sizeof(s));
	close(p[0]);
	if (got != (ssize_t)sizeof(s) || !s.ok)
		kill(child, SIGKILL);
	assert_int_equal(got, sizeof(s));
	assert_true(s.ok);
	assert_true(s.postmaster > 0);
	assert_true(alive(s.postmaster));
	assert_true(exists(s.dir));

	kill_tree(child);
	assert_int_equal(waitpid(child, NULL, 0), child);
	/* A generous bound: pg_ctl stop -m immediate on a loaded machine. */
	time_t until = time(NULL) + 90;
	while ((alive(s.postmaster) || exists(s.dir) || alive(s.watcher)) && time(NULL) < until)
		usleep(100 * 1000);
	bool left = alive(s.postmaster) || exists(s.dir);
	if (left) {
		/* Clean up what the fixture did not, then fail. */
		fprintf(stderr, "postmaster %d %s, %s %s\n", s.postmaster,
			alive(s.postmaster) ? "still runs" : "gone", s.dir,
			exists(s.dir) ? "still there" : "removed");
		if (alive(s.postmaster))
			kill(s.postmaster, SIGQUIT);
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "%s failed\n", cmd);
	}
	assert_false(left);
	assert_false(alive(s.watcher));
}

static void test_destroy_ends_watcher(void **state)
{
	(void)state;
	pg_cluster c;
	int rc = pg_cluster_start(&c);
	int watcher = c.watcher;
	char dir[128];
	snprintf(dir, sizeof(dir), "%s", c.dir);
	bool watched = watcher > 0 && alive(watcher);
	/* The cluster works with its watcher beside it. */
	char out[64] = "";
	bool answered = rc == 0 &&
			pg_cluster_sql(&c, "postgres", "SELECT 6 * 7;", out, sizeof(out));
	/* Destroyed before any assertion, which would leave it running. */
	pg_cluster_destroy(&c);
	assert_int_equal(rc, 0);
	assert_true(watched);
	assert_true(answered);
	assert_string_equal(out, "42");
	/* destroy reaped it: no such child any more. */
	assert_int_equal(waitpid(watcher, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_false(exists(dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_test_takes_its_cluster),
		cmocka_unit_test(test_destroy_ends_watcher),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
