/* cli_run.h -- a command-line program run as a child process, as an
 * operator would, with its output captured: the one runner of the tests
 * that drive signet (and its siblings) from outside. */
#ifndef SIGNET_TEST_CLI_RUN_H
#define SIGNET_TEST_CLI_RUN_H

#include <sys/types.h>

#include "common/common.h"

#define CLI_RUN_ARGS_MAX 46 /* arguments after the program's path */

/* Where a run's input comes from and its output goes. */
typedef struct cli_run_io {
	const char *dir; /* where the output is kept: DIR/cli.out, DIR/cli.err */
	const char *in;  /* stdin: this file; NULL: /dev/null */
	sg_buf *out;     /* stdout, NUL-terminated; NULL: discarded */
	sg_buf *err;     /* stderr, NUL-terminated; NULL: discarded; the same
			  * buffer as out: merged with stdout in order */
	pid_t *pid;      /* the child's pid, for tests that look after it (may be NULL) */
} cli_run_io;

/* Run prog with args (NULL-terminated, at most CLI_RUN_ARGS_MAX) as io
 * says and wait for it. The buffers are emptied first. Fails the test
 * (with its stderr) when the child could not start or did not exit
 * normally. Its exit status. */
int cli_run(const cli_run_io *io, const char *prog, const char *const *args);

#endif /* SIGNET_TEST_CLI_RUN_H */
