/* p11fault_ctl.c -- the test's side of tests/p11fault. */
#include "tests/lib/p11fault_ctl.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/tmpdir.h"

static char ctl_dir[128];
static char ctl[160];  /* P11FAULT_CONTROL */

int p11fault_setup(const char *stem)
{
	const char *real = getenv("SIGNET_SOFTHSM_MODULE");
	const char *build = getenv("SIGNET_BUILD_DIR");
	if (!real || !build) {
		fprintf(stderr, "SIGNET_SOFTHSM_MODULE and SIGNET_BUILD_DIR must be set\n");
		return -1;
	}
	char wrapper[600];
	snprintf(wrapper, sizeof(wrapper), "%s/tests/p11fault/libp11fault.so", build);
	if (access(wrapper, R_OK) != 0) {
		fprintf(stderr, "%s: %s\n", wrapper, strerror(errno));
		return -1;
	}
	if (test_tmpdir_make(stem, ctl_dir, sizeof(ctl_dir)) != 0) {
		fprintf(stderr, "p11fault control directory: %s\n", strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && chmod(ctl_dir, 01777) != 0) {
		fprintf(stderr, "chmod %s: %s\n", ctl_dir, strerror(errno));
		return -1;
	}
	snprintf(ctl, sizeof(ctl), "%s/control", ctl_dir);
	setenv("P11FAULT_MODULE", real, 1);
	setenv("P11FAULT_CONTROL", ctl, 1);
	setenv("SIGNET_SOFTHSM_MODULE", wrapper, 1);
	return 0;
}

void p11fault_cleanup(void)
{
	if (test_tmpdir_remove(ctl_dir) != 0)
		fprintf(stderr, "could not remove %s\n", ctl_dir);
	ctl_dir[0] = '\0';
}

void p11fault_path(char *out, size_t cap, const char *suffix)
{
	int n = snprintf(out, cap, "%s%s", ctl, suffix);
	assert_true(n > 0 && (size_t)n < cap);
}

void p11fault_set(const char *text)
{
	char tmp[200], p[200];
	p11fault_path(tmp, sizeof(tmp), ".tmp");
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	static const char *const cleared[] = {".hits", ".held", ".release"};
	for (size_t i = 0; i < sizeof(cleared) / sizeof(cleared[0]); i++) {
		p11fault_path(p, sizeof(p), cleared[i]);
		assert_true(unlink(p) == 0 || errno == ENOENT);
	}
	assert_int_equal(rename(tmp, ctl), 0);
}

long p11fault_count(const char *suffix)
{
	char p[200];
	p11fault_path(p, sizeof(p), suffix);
	struct stat sb;
	return stat(p, &sb) == 0 ? (long)sb.st_size : 0;
}

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool p11fault_wait_held(long n, long wait_ms)
{
	for (long end = mono_ms() + wait_ms; p11fault_count(".held") < n;) {
		if (mono_ms() > end)
			return false;
		struct timespec ts = {0, 5000000L};
		nanosleep(&ts, NULL);
	}
	return true;
}

void p11fault_release(void)
{
	char p[200];
	p11fault_path(p, sizeof(p), ".release");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
}
