/* main.c -- the signet command: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "client/client.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{"sign-zone", signet_cmd_sign_zone, "sign a zone file through signetd"},
	{"sign", signet_cmd_sign, "sign RRsets from standard input, RRSIGs to standard output"},
	{"keys", signet_cmd_keys, "list keys and their states (admin)"},
	{"health", signet_cmd_health, "token and key-set state; exit 1 when unhealthy"},
	{"add-zone", signet_cmd_add_zone, "add a zone with its policy and KSK(s) (admin)"},
	{"generate-zsk", signet_cmd_generate_zsk, "generate a ZSK in signetd's token (admin)"},
	{"export-ksr", signet_cmd_export_ksr, "write the key-signing request (admin)"},
	{"import-bundle", signet_cmd_import_bundle, "import the signed key bundle (admin)"},
	{"restore-zsk", signet_cmd_restore_zsk, "restore ZSK backups into signetd's token (admin)"},
	{"rollover", signet_cmd_rollover, "key schedule; KSK, foreign ZSK and DS steps (admin)"},
	{"check", signet_cmd_check, "DNSSEC health of a served zone (Nagios exit codes)"},
	{"parent-watch", signet_cmd_parent_watch,
	 "confirm the parent's DS of a rollover from its parental agents"},
	{"hsm", signet_cmd_hsm, "hsm test|bench: qualify a PKCS#11 token and measure it"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: signet <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-14s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\n'signet <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return SIGNET_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return SIGNET_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "signet: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return SIGNET_EXIT_USAGE;
}
