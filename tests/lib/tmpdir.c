/* tmpdir.c -- a test's own temporary directory, made and removed. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include "tests/lib/tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int test_tmpdir_make(const char *stem, char *out, size_t cap)
{
	if (!stem || !out || cap == 0) {
		errno = EINVAL;
		return -1;
	}
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(out, cap, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", stem);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!mkdtemp(out)) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	if (r != 0 && errno != ENOENT) {
		fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int test_tmpdir_remove(const char *dir)
{
	if (!dir || !dir[0])
		return 0;
	if (getenv("SIGNET_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", dir);
		return 0;
	}
	struct stat st;
	if (lstat(dir, &st) != 0 && errno == ENOENT)
		return 0;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
