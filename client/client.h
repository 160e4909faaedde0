/* client.h -- the signet command-line client: subcommands and what they share.
 *
 * Each subcommand is a function taking its own argv (argv[0] is the
 * subcommand's name) and returning a process exit status: 0 success, 1 a check
 * failed, 2 usage or input error, 3 an operational failure (HSM, network).
 * Errors are printed to stderr with the field or option they concern.
 */
#ifndef SIGNET_CLIENT_H
#define SIGNET_CLIENT_H

#include "common/common.h"

/* Exit statuses shared by every subcommand. */
enum signet_exit {
	SIGNET_EXIT_OK = 0,
	SIGNET_EXIT_FAIL = 1,
	SIGNET_EXIT_USAGE = 2,
	SIGNET_EXIT_ERROR = 3
};

/* `signet hsm test|bench ...`: qualify a PKCS#11 token (self-test) and measure
 * its signing rate per algorithm at 1 and N sessions. */
int signet_cmd_hsm(int argc, char **argv);

#endif /* SIGNET_CLIENT_H */
