/* signetd_main.c -- signetd's command line, signals and start-up order. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signer/signer.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: signetd -c CONFIG [-v] [-t] [--export-backups DIR | --restore-backups DIR]\n"
		"       signetd --verify-audit LOG [--verify-audit LOG ...]\n"
		"  -c CONFIG  configuration file (see docs/SIGNETD.md)\n"
		"  -t         check the configuration and exit\n"
		"  -v         verbose logging (repeat for debug)\n"
		"  --export-backups DIR   write the stored ZSK backups to DIR and exit\n"
		"  --restore-backups DIR  restore the ZSK backups of DIR into the token "
		"and exit\n"
		"  --verify-audit LOG     check an audit log's hash chain and that its\n"
		"                         lines name one replica; exit 1 if not\n"
		"The token PIN comes from the config's 'pin' source, never argv.\n");
}

#define VERIFY_LOGS_MAX 64

/* --verify-audit: each log's chain, and one replica per log
 * (docs/REPLICAS.md, "Audit logs of several replicas"). */
static int verify_audit(const char *const *logs, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		size_t lines = 0, bad = 0, other = 0;
		char name[SIGNER_REPLICA_NAME_MAX + 1];
		signet_err ret = signer_audit_verify(logs[i], &lines, &bad);
		if (ret == SIGNET_EVERIFY) {
			printf("%s: chain broken at line %zu\n", logs[i], bad);
			rc = 1;
			continue;
		}
		if (ret == SIGNET_OK)
			ret = signer_audit_replica(logs[i], name, sizeof(name), NULL, &other);
		if (ret != SIGNET_OK) {
			printf("%s: %s\n", logs[i], signet_strerror(ret));
			rc = 1;
		} else if (other) {
			printf("%s: line %zu names another replica than '%s'\n", logs[i], other,
			       name);
			rc = 1;
		} else {
			printf("%s: %zu lines, chain intact, replica %s\n", logs[i], lines,
			       name[0] ? name : "(not named)");
		}
	}
	return rc;
}

static signet_err load(const char *path, signer_config *cfg)
{
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX];
	signet_err ret = signer_config_load(path, cfg, &line, msg, sizeof(msg));
	if (ret != SIGNET_OK) {
		if (line)
			sg_log(SG_LOG_ERROR, "%s:%u: %s", path, line, msg);
		else
			sg_log(SG_LOG_ERROR, "%s: %s", path, msg);
	}
	return ret;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	const char *export_dir = NULL, *restore_dir = NULL;
	const char *logs[VERIFY_LOGS_MAX];
	size_t nlogs = 0;
	bool check_only = false;
	int verbose = 0, opt;
	static const struct option longopts[] = {
		{"export-backups", required_argument, NULL, 'E'},
		{"restore-backups", required_argument, NULL, 'R'},
		{"verify-audit", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	while ((opt = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'E':
			export_dir = optarg;
			break;
		case 'R':
			restore_dir = optarg;
			break;
		case 'A':
			if (nlogs == VERIFY_LOGS_MAX) {
				fprintf(stderr, "signetd: at most %d logs\n", VERIFY_LOGS_MAX);
				return 2;
			}
			logs[nlogs++] = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (nlogs && !path && optind == argc && !export_dir && !restore_dir)
		return verify_audit(logs, nlogs);
	if (!path || optind != argc || (export_dir && restore_dir) || nlogs) {
		usage(stderr);
		return 2;
	}
	sg_log_set_level(verbose >= 2 ? SG_LOG_DEBUG : verbose ? SG_LOG_INFO : SG_LOG_NOTICE);
	if (sg_harden_process() != SIGNET_OK)
		sg_log(SG_LOG_WARNING, "could not disable core dumps");

	signer_config cfg;
	if (load(path, &cfg) != SIGNET_OK) {
		signer_config_free(&cfg);
		return 1;
	}
	/* Everything signetd does after start-up -- TLS, HTTP/2, protobuf from
	 * any holder of a certificate of the CA -- is exposed to the network;
	 * as root, a flaw there is the machine's. */
	if (geteuid() == 0 && !cfg.user[0]) {
		if (!cfg.allow_root) {
			sg_log(SG_LOG_ERROR,
			       "%s: refusing to run as root: set 'user' to the account "
			       "signetd should become once the token and listeners are open, or "
			       "'allow-root = true;' to run as root anyway",
			       path);
			signer_config_free(&cfg);
			return 1;
		}
		sg_log(SG_LOG_WARNING, "running as root with all privileges (allow-root is set)");
	}
	if (check_only) {
		signer_config_free(&cfg);
		printf("%s: ok\n", path);
		return 0;
	}

	/* Signals are taken synchronously by this thread; every thread started
	 * later inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	sg_secret *pin = NULL;
	signet_err ret = export_dir ? SIGNET_OK : sg_secret_from_spec(cfg.pin_spec, &pin);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "PIN from %s: %s", cfg.pin_spec, signet_strerror(ret));
		signer_config_free(&cfg);
		return 1;
	}
	if (export_dir || restore_dir) {
		ret = signer_backups_offline(&cfg, pin, export_dir, restore_dir);
		sg_secret_free(pin);
		signer_config_free(&cfg);
		return ret == SIGNET_OK ? 0 : 1;
	}
	signer_server *srv = NULL;
	ret = signer_server_start(&cfg, pin, &srv);
	/* The token keeps its own locked copy for re-logins; ours goes now. */
	sg_secret_free(pin);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "start failed: %s", signet_strerror(ret));
		signer_config_free(&cfg);
		return 1;
	}
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			signer_config next;
			if (load(path, &next) == SIGNET_OK &&
			    signer_server_reload(srv, &next) == SIGNET_OK)
				sg_log(SG_LOG_NOTICE, "SIGHUP: clients and limits reloaded from %s",
				       path);
			else
				sg_log(SG_LOG_ERROR,
				       "SIGHUP: reload of %s failed, keeping the old "
				       "clients and limits",
				       path);
			signer_config_free(&next);
			continue;
		}
		sg_log(SG_LOG_NOTICE, "signal %d: stopping", sig);
		break;
	}
	signer_server_stop(srv);
	signer_config_free(&cfg);
	return 0;
}
