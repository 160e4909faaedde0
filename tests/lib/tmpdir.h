/* tmpdir.h -- a test's own temporary directory: made fresh under $TMPDIR
 * (or /tmp), removed with everything below it at the end. Plain libc, no
 * cmocka: a group setup or main() may use it before any test runs. */
#ifndef SIGNET_TEST_TMPDIR_H
#define SIGNET_TEST_TMPDIR_H

#include <stddef.h>

/* Make a new directory "<TMPDIR or /tmp>/<stem>-XXXXXX" (mode 0700) and
 * write its path to out (cap octets). 0, or -1 when the path does not fit
 * or mkdtemp fails (errno set; out is then ""). */
int test_tmpdir_make(const char *stem, char *out, size_t cap);

/* Remove dir and everything below it, without following symbolic links;
 * a missing dir is not an error. When SIGNET_TEST_KEEP is set, keep it and
 * say so on stderr. An empty dir is ignored. 0, or -1 when something could
 * not be removed (said on stderr). */
int test_tmpdir_remove(const char *dir);

#endif /* SIGNET_TEST_TMPDIR_H */
