/* cli_run.c -- a command-line program run as a child process, its output captured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

#include "tests/lib/cli_run.h"

extern char **environ;

static void take(const char *path, sg_buf *into)
{
	sg_buf_reset(into);
	assert_int_equal(sg_file_read(path, 1 << 24, into), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(into, 0), SIGNET_OK);
}

int cli_run(const cli_run_io *io, const char *prog, const char *const *args)
{
	char opath[512], epath[512];
	snprintf(opath, sizeof(opath), "%s/cli.out", io->dir);
	snprintf(epath, sizeof(epath), "%s/cli.err", io->dir);
	const char *argv[CLI_RUN_ARGS_MAX + 2];
	size_t n = 0;
	argv[n++] = prog;
	for (; args[n - 1] != NULL; n++) {
		if (n > CLI_RUN_ARGS_MAX)
			fail_msg("cli_run: more than %d arguments", CLI_RUN_ARGS_MAX);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	bool merged = io->err != NULL && io->err == io->out;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, io->in ? io->in : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (merged)
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, prog, &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	if (io->pid)
		*io->pid = pid;
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	sg_buf e = SG_BUF_INIT;
	take(merged ? opath : epath, &e);
	if (!WIFEXITED(st))
		fail_msg("%s died: %s", prog, (char *)e.data);
	if (io->out)
		take(opath, io->out);
	if (io->err && !merged) {
		sg_buf_free(io->err);
		*io->err = e;
	} else {
		sg_buf_free(&e);
	}
	return WEXITSTATUS(st);
}
