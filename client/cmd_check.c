/* cmd_check.c -- `signet check ZONE --server ADDR`: the command line of the
 * synthetic DNSSEC checks, their output and a hard deadline. */
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"

enum {
	OPT_SERVER = CLIENT_OPT_FIRST_FREE,
	OPT_PARENT,
	OPT_DS,
	OPT_REFRESH,
	OPT_JSON,
	OPT_TIME,
	OPT_NAME,
	OPT_TIMEOUT,
	OPT_TRIES,
	OPT_WALK,
	OPT_PROBES,
	OPT_DEADLINE
};

#define REFRESH_DEFAULT (3 * 86400)
#define DEADLINE_DEFAULT 60

static const char usage_text[] =
	"usage: signet check ZONE --server ADDR[:PORT] [--parent ADDR[:PORT] | --ds FILE]\n"
	"       [--refresh SECONDS] [--json] [--time EPOCH] [--name NAME]...\n"
	"       [--timeout SECONDS] [--tries N] [--walk-limit N] [--probes N]\n"
	"       [--deadline SECONDS]\n";

/* A monitoring system must get an answer even from a server that drips one
 * octet per timeout: past the deadline the process ends as UNKNOWN. */
static void on_deadline(int sig)
{
	(void)sig;
	static const char msg[] =
		"SIGNET CHECK UNKNOWN - the check did not finish before "
		"its --deadline\n";
	ssize_t w = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	(void)w;
	_exit(CHECK_UNKNOWN);
}

/* An unsigned number in [lo, hi] or false. */
static bool number(const char *s, unsigned long long lo, unsigned long long hi,
		   unsigned long long *out)
{
	if (!s || !*s || *s == '-')
		return false;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "check: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n%s", usage_text);
	va_end(ap);
	return CHECK_UNKNOWN;
}

int signet_cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"server", 1, NULL, OPT_SERVER}, {"parent", 1, NULL, OPT_PARENT},
		{"ds", 1, NULL, OPT_DS},         {"refresh", 1, NULL, OPT_REFRESH},
		{"json", 0, NULL, OPT_JSON},     {"time", 1, NULL, OPT_TIME},
		{"name", 1, NULL, OPT_NAME},     {"timeout", 1, NULL, OPT_TIMEOUT},
		{"tries", 1, NULL, OPT_TRIES},   {"walk-limit", 1, NULL, OPT_WALK},
		{"probes", 1, NULL, OPT_PROBES}, {"deadline", 1, NULL, OPT_DEADLINE},
		{"help", 0, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	check_options *o = calloc(1, sizeof(*o));
	if (!o) {
		fprintf(stderr, "check: out of memory\n");
		return CHECK_UNKNOWN;
	}
	o->refresh = REFRESH_DEFAULT;
	o->now = (uint32_t)time(NULL);
	o->walk_limit = 10000;
	o->probes = 2;
	const char *server = NULL, *parent = NULL;
	bool json = false;
	unsigned long long timeout_ms = 2000, tries = 2, deadline = DEADLINE_DEFAULT, v;
	int rc = -1;
	optind = 1;
	int ch;
	while (rc < 0 && (ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER:
			server = optarg;
			break;
		case OPT_PARENT:
			parent = optarg;
			break;
		case OPT_DS:
			o->ds_file = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_REFRESH:
			if (!number(optarg, 0, 365 * 86400ULL, &v))
				rc = bad_usage("--refresh wants seconds, 0..31536000: '%s'",
					       optarg);
			else
				o->refresh = (uint32_t)v;
			break;
		case OPT_TIME:
			if (!number(optarg, 1, UINT32_MAX, &v))
				rc = bad_usage("--time wants epoch seconds: '%s'", optarg);
			else
				o->now = (uint32_t)v;
			break;
		case OPT_NAME:
			if (o->nnames >= CHECK_NAMES_MAX)
				rc = bad_usage("at most 16 --name");
			else if (dns_name_from_str(&o->names[o->nnames], optarg) != SIGNET_OK)
				rc = bad_usage("--name: '%s' is not a domain name", optarg);
			else
				o->nnames++;
			break;
		case OPT_TIMEOUT:
			if (!number(optarg, 1, 30, &v))
				rc = bad_usage("--timeout wants seconds, 1..30: '%s'", optarg);
			else
				timeout_ms = v * 1000;
			break;
		case OPT_TRIES:
			if (!number(optarg, 1, 5, &tries))
				rc = bad_usage("--tries wants 1..5: '%s'", optarg);
			break;
		case OPT_WALK:
			if (!number(optarg, 1, 1000000, &v))
				rc = bad_usage("--walk-limit wants 1..1000000: '%s'", optarg);
			else
				o->walk_limit = (unsigned)v;
			break;
		case OPT_PROBES:
			if (!number(optarg, 1, 16, &v))
				rc = bad_usage("--probes wants 1..16: '%s'", optarg);
			else
				o->probes = (unsigned)v;
			break;
		case OPT_DEADLINE:
			if (!number(optarg, 1, 3600, &deadline))
				rc = bad_usage("--deadline wants seconds, 1..3600: '%s'", optarg);
			break;
		case 'h':
			printf("%s"
			       "Checks the DNSSEC of ZONE as served by the authoritative server\n"
			       "ADDR: RRSIGs and their lifetimes, the DNSKEY RRset, the DS at the\n"
			       "parent (or in FILE: export-ds, dsset-, .ds or dig output; only its\n"
			       "DS RRs of ZONE count) and CDS/CDNSKEY against the KSKs, the NSEC\n"
			       "chain across zone cuts or NSEC3 proofs, referrals, and answer\n"
			       "sizes against a 1232-octet EDNS buffer. Exit 0 OK, 1 WARNING,\n"
			       "2 CRITICAL, 3 UNKNOWN (also for a bad command line).\n",
			       usage_text);
			rc = CHECK_OK;
			break;
		default:
			rc = bad_usage("unknown option");
			break;
		}
	}
	if (rc < 0) {
		if (argc - optind != 1)
			rc = bad_usage("one ZONE is needed");
		else if (dns_name_from_str(&o->zone, argv[optind]) != SIGNET_OK)
			rc = bad_usage("'%s' is not a domain name", argv[optind]);
		else if (!server)
			rc = bad_usage("--server is needed");
		else if (check_server_parse(server, &o->server) != SIGNET_OK)
			rc = bad_usage("--server wants an IP address and an optional port: '%s'",
				       server);
		else if (parent && o->ds_file)
			rc = bad_usage("--parent and --ds exclude each other");
		else if (parent && check_server_parse(parent, &o->parent) != SIGNET_OK)
			rc = bad_usage("--parent wants an IP address and an optional port: '%s'",
				       parent);
	}
	if (rc >= 0) {
		free(o);
		return rc;
	}
	o->have_parent = parent != NULL;
	o->server.timeout_ms = o->parent.timeout_ms = (unsigned)timeout_ms;
	o->server.tries = o->parent.tries = (unsigned)tries;
	for (size_t i = 0; i < o->nnames; i++)
		if (!dns_name_is_at_or_below(&o->names[i], &o->zone)) {
			char n[DNS_NAME_STR_MAX];
			if (dns_name_to_str(&o->names[i], n, sizeof(n)) != SIGNET_OK)
				snprintf(n, sizeof(n), "?");
			free(o);
			return bad_usage("--name %s is not in the zone", n);
		}

	signal(SIGALRM, on_deadline);
	alarm((unsigned)deadline);
	check_report r;
	memset(&r, 0, sizeof(r));
	signet_err ret = check_zone(o, &r);
	alarm(0);
	if (ret != SIGNET_OK)
		check_report_add(&r, CHECK_UNKNOWN, "internal", "the check stopped: %s",
				 signet_strerror(ret));
	char zone[DNS_NAME_STR_MAX], where[96];
	if (dns_name_to_str(&o->zone, zone, sizeof(zone)) != SIGNET_OK)
		snprintf(zone, sizeof(zone), "?");
	if (strchr(o->server.addr, ':'))
		snprintf(where, sizeof(where), "[%s]:%u", o->server.addr, o->server.port);
	else
		snprintf(where, sizeof(where), "%s:%u", o->server.addr, o->server.port);
	sg_buf out = SG_BUF_INIT;
	ret = json ? check_report_json(&r, zone, where, o->now, &out)
		   : check_report_text(&r, zone, where, &out);
	rc = check_report_exit(&r);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "check: %s\n", signet_strerror(ret));
		rc = CHECK_UNKNOWN;
	} else {
		fwrite(out.data, 1, out.len, stdout);
		fflush(stdout);
	}
	sg_buf_free(&out);
	check_report_free(&r);
	free(o);
	return rc;
}
