/* cli.c -- what every networked subcommand shares: connection flags over the
 * config file, connecting, and reporting a failed call with its exit status. */
#include <stdio.h>
#include <stdlib.h>

#include "client/client.h"

static const char *const flag_keys[6] = {"server", "server-name", "ca", "cert", "key", "timeout"};

bool client_flags_take(client_flags *f, int opt, const char *arg)
{
	if (opt == CLIENT_OPT_CONFIG) {
		f->config = arg;
		return true;
	}
	if (opt < CLIENT_OPT_SERVER || opt > CLIENT_OPT_TIMEOUT)
		return false;
	f->values[opt - CLIENT_OPT_SERVER] = arg;
	return true;
}

int client_connect(const char *cmd, const client_flags *f, client_conn **out)
{
	client_config cfg;
	client_config_init(&cfg);
	char msg[1400];
	const char *file = f->config ? f->config : getenv("SIGNET_CLIENT_CONFIG");
	if (file && *file && client_config_load(file, &cfg, msg, sizeof(msg)) != SIGNET_OK) {
		fprintf(stderr, "%s: config: %s\n", cmd, msg);
		return SIGNET_EXIT_USAGE;
	}
	for (size_t i = 0; i < 6; i++) {
		if (!f->values[i])
			continue;
		if (client_config_set(&cfg, flag_keys[i], f->values[i], msg, sizeof(msg)) !=
		    SIGNET_OK) {
			fprintf(stderr, "%s: --%s\n", cmd, msg);
			return SIGNET_EXIT_USAGE;
		}
	}
	if (client_config_check(&cfg, msg, sizeof(msg)) != SIGNET_OK) {
		fprintf(stderr, "%s: %s\n", cmd, msg);
		return SIGNET_EXIT_USAGE;
	}
	signet_err ret = client_open(&cfg, out, msg, sizeof(msg));
	if (ret != SIGNET_OK) {
		fprintf(stderr, "%s: %s\n", cmd, msg);
		return ret == SIGNET_ENOMEM ? SIGNET_EXIT_ERROR : SIGNET_EXIT_USAGE;
	}
	return SIGNET_EXIT_OK;
}

int client_report(const char *cmd, const char *method, const client_status *st)
{
	fprintf(stderr, "%s: %s: %s: %s\n", cmd, method, client_status_name(st->code),
		st->details[0] ? st->details : "(no details)");
	int rc = client_exit_for_status(st->code);
	if (rc == SIGNET_EXIT_CONNECT)
		fprintf(stderr,
			"%s: cannot reach signetd (refused connection, TLS handshake"
			" failed or no answer in time)\n",
			cmd);
	return rc;
}
