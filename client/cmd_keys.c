/* cmd_keys.c -- `signet keys [ZONE]` (ListKeys) and `signet health`
 * (Health): what an operator or a monitoring check reads. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "dnssec/dnssec.h"

enum { OPT_DNSKEY = CLIENT_OPT_FIRST_FREE, OPT_WARN };

#define WARN_DEFAULT 86400

/* A name from the server as text, "?" when it was malformed. */
static void name_text(const dns_name *n, bool ok, char *out, size_t len)
{
	if (!ok || dns_name_to_str(n, out, len) != SIGNET_OK)
		snprintf(out, len, "?");
}

int signet_cmd_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dnskey", 0, NULL, OPT_DNSKEY},
		{"help", 0, NULL, 'h'},
		CLIENT_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	client_flags flags;
	memset(&flags, 0, sizeof(flags));
	bool as_dnskey = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_DNSKEY) {
			as_dnskey = true;
		} else if (c == 'h') {
			printf("usage: signet keys [ZONE] [--dnskey]\n" CLIENT_CONN_USAGE
			       "Lists the keys of ZONE (or of every zone the admin may see):\n"
			       "zone, role, algorithm, key tag, state, creation time, token ID;\n"
			       "with --dnskey as DNSKEY RRs. Needs the admin role.\n");
			return SIGNET_EXIT_OK;
		} else if (!client_flags_take(&flags, c, optarg)) {
			fprintf(stderr, "usage: signet keys [ZONE] [--dnskey]\n");
			return SIGNET_EXIT_USAGE;
		}
	}
	dns_name zone;
	bool one_zone = false;
	if (argc - optind > 1) {
		fprintf(stderr, "keys: at most one zone\n");
		return SIGNET_EXIT_USAGE;
	}
	if (argc - optind == 1) {
		if (dns_name_from_str(&zone, argv[optind]) != SIGNET_OK) {
			fprintf(stderr, "keys: '%s' is not a domain name\n", argv[optind]);
			return SIGNET_EXIT_USAGE;
		}
		one_zone = true;
	}
	client_conn *conn = NULL;
	int rc = client_connect("keys", &flags, &conn);
	if (rc != SIGNET_EXIT_OK)
		return rc;
	client_key_list keys;
	client_status st;
	signet_err ret = client_list_keys(conn, one_zone ? &zone : NULL, &st, &keys);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "keys: ListKeys: %s\n", signet_strerror(ret));
		rc = SIGNET_EXIT_ERROR;
	} else if (st.code != 0) {
		rc = client_report("keys", "ListKeys", &st);
	} else {
		if (!as_dnskey)
			printf("%-24s %-4s %3s %5s %-9s %-20s %-32s %s\n", "ZONE", "ROLE", "ALG",
			       "TAG", "STATE", "CREATED", "ID", "BACKUP");
		for (size_t i = 0; i < keys.count; i++)
			client_print_key(stdout, &keys.keys[i],
					 as_dnskey ? CLIENT_KEY_AS_DNSKEY : CLIENT_KEY_AS_ROW,
					 NULL);
	}
	client_key_list_free(&keys);
	client_close(conn);
	return rc;
}

int signet_cmd_health(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"warn", 1, NULL, OPT_WARN},
		{"help", 0, NULL, 'h'},
		CLIENT_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	client_flags flags;
	memset(&flags, 0, sizeof(flags));
	long warn = WARN_DEFAULT;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_WARN) {
			char *end = NULL;
			warn = strtol(optarg, &end, 10);
			if (*end || warn < 0 || warn > 366L * 86400) {
				fprintf(stderr, "health: --warn: seconds, 0..31622400\n");
				return SIGNET_EXIT_USAGE;
			}
		} else if (c == 'h') {
			printf("usage: signet health [--warn SECONDS]\n" CLIENT_CONN_USAGE
			       "Token and key state of the zones this client may see. Exit 1\n"
			       "when the token is absent or logged out, a zone has no active ZSK\n"
			       "or its key set runs out within --warn seconds (default 86400).\n");
			return SIGNET_EXIT_OK;
		} else if (!client_flags_take(&flags, c, optarg)) {
			fprintf(stderr, "usage: signet health [--warn SECONDS]\n");
			return SIGNET_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "health: unexpected argument '%s'\n", argv[optind]);
		return SIGNET_EXIT_USAGE;
	}
	client_conn *conn = NULL;
	int rc = client_connect("health", &flags, &conn);
	if (rc != SIGNET_EXIT_OK)
		return rc;
	client_health_info h;
	client_status st;
	signet_err ret = client_health(conn, &st, &h);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "health: Health: %s\n", signet_strerror(ret));
		rc = SIGNET_EXIT_ERROR;
	} else if (st.code != 0) {
		rc = client_report("health", "Health", &st);
	} else {
		bool ok = h.token_present && h.logged_in && !h.state_unavailable;
		printf("signetd %s\ntoken: %s, %s\n", h.version,
		       h.token_present ? "present" : "ABSENT",
		       h.logged_in ? "logged in" : "NOT LOGGED IN");
		/* Printable names only: the server's text goes to a terminal. */
		bool plain = h.replica[0] != '\0';
		for (const char *p = h.replica; *p; p++)
			plain = plain && *p > 0x20 && *p < 0x7f;
		if (plain)
			printf("replica: %s\n", h.replica);
		if (h.state_backend[0] || h.state_unavailable)
			printf("state: %s, %s\n", h.state_backend[0] ? h.state_backend : "?",
			       h.state_unavailable ? "UNAVAILABLE (changes refused; signing with "
						     "the keys read last)"
						   : "available");
		for (size_t i = 0; i < h.nzones; i++) {
			const client_zone_health *z = &h.zones[i];
			char name[DNS_NAME_STR_MAX];
			name_text(&z->zone, z->zone_ok, name, sizeof(name));
			bool zok = z->active_zsk && z->keyset_seconds_left > warn;
			ok = ok && zok;
			if (z->keyset_seconds_left > 0)
				printf("zone %s: active ZSK %s, key set valid for %lldd %02lldh%s\n",
				       name, z->active_zsk ? "yes" : "NO",
				       (long long)(z->keyset_seconds_left / 86400),
				       (long long)(z->keyset_seconds_left % 86400 / 3600),
				       zok ? "" : " (TOO SHORT)");
			else
				printf("zone %s: active ZSK %s, NO VALID KEY SET\n", name,
				       z->active_zsk ? "yes" : "NO");
			for (size_t w = 0; w < z->nwarnings; w++)
				printf("  warning: %s\n", z->warnings[w]);
		}
		printf("status: %s\n", ok ? "ok" : "UNHEALTHY");
		rc = ok ? SIGNET_EXIT_OK : SIGNET_EXIT_FAIL;
	}
	client_health_free(&h);
	client_close(conn);
	return rc;
}
