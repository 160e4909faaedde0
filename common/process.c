/* process.c -- keeping a process's memory out of core dumps and debuggers. */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "common/common.h"

signet_err sg_harden_process(void)
{
	struct rlimit rl = {0, 0};
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return signet_err_from_errno(errno);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return signet_err_from_errno(errno);
	return SIGNET_OK;
}
