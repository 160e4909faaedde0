/* cmd_admin.c -- the administration subcommands (admin role): add-zone,
 * generate-zsk, export-ksr, import-bundle and rollover, so operators need
 * no other tool between signetd and the ceremony. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "dnssec/dnssec.h"

#define KSK_FILE_MAX (1 << 20)
#define KSKS_MAX 8
#define KEYSET_FILE_MAX (16 * 1024 * 1024)

enum {
	OPT_KSK = CLIENT_OPT_FIRST_FREE,
	OPT_ALGORITHM,
	OPT_RSA_BITS,
	OPT_VALIDITY,
	OPT_NSEC3,
	OPT_OPT_OUT,
	OPT_SALT,
	OPT_ITERATIONS,
	OPT_DNSKEY_TTL,
	OPT_KEYSET_PERIOD,
	OPT_DAYS
};

/* What the four commands share: connection flags, positional arguments. */
typedef struct admin_args {
	const char *cmd;
	client_flags flags;
	const char *pos[3];
	int npos;
} admin_args;

/* Parse argv with the connection flags plus extra (handled by take, which
 * returns false for an option it does not know) and want_pos..max_pos
 * positional arguments (at most 3). Returns an exit status or -1 to go on. */
static int parse(int argc, char **argv, const struct option *extra, size_t nextra, int want_pos,
		 int max_pos, const char *usage, admin_args *a,
		 bool (*take)(void *ctx, int opt, const char *arg), void *ctx)
{
	struct option longopts[32] = {
		{"help", 0, NULL, 'h'},
		CLIENT_CONN_LONGOPTS,
	};
	size_t n = 8;
	for (size_t i = 0; i < nextra && n < 31; i++)
		longopts[n++] = extra[i];
	memset(&longopts[n], 0, sizeof(longopts[n]));
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("%s" CLIENT_CONN_USAGE, usage);
			return SIGNET_EXIT_OK;
		}
		if (client_flags_take(&a->flags, c, optarg))
			continue;
		if (!take || !take(ctx, c, optarg)) {
			fprintf(stderr, "%s", usage);
			return SIGNET_EXIT_USAGE;
		}
	}
	int npos = argc - optind;
	if (npos < want_pos || npos > max_pos || npos > 3) {
		fprintf(stderr, "%s", usage);
		return SIGNET_EXIT_USAGE;
	}
	for (int i = 0; i < npos; i++)
		a->pos[a->npos++] = argv[optind + i];
	return -1;
}

static int zone_arg(const admin_args *a, dns_name *zone)
{
	if (dns_name_from_str(zone, a->pos[0]) != SIGNET_OK) {
		fprintf(stderr, "%s: '%s' is not a domain name\n", a->cmd, a->pos[0]);
		return SIGNET_EXIT_USAGE;
	}
	return SIGNET_EXIT_OK;
}

/* The exit status of a typed call, reported on stderr when it failed. */
static int admin_result(const admin_args *a, const char *method, signet_err ret,
			const client_status *st)
{
	if (ret != SIGNET_OK) {
		fprintf(stderr, "%s: %s: %s\n", a->cmd, method, signet_strerror(ret));
		return SIGNET_EXIT_ERROR;
	}
	if (st->code != 0)
		return client_report(a->cmd, method, st);
	return SIGNET_EXIT_OK;
}

/* ---- add-zone ----------------------------------------------------------- */

struct add_zone_opts {
	const char *ksk_file;
	client_policy policy;
	struct {
		bool opt_out;
		uint32_t iterations;
	} nsec3;
	bool nsec3_given;
	const char *salt;
	bool bad;
};

static bool number(const char *s, unsigned long lo, unsigned long hi, uint32_t *out)
{
	char *end = NULL;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || s[0] == '-' || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool take_add_zone(void *ctx, int opt, const char *arg)
{
	struct add_zone_opts *o = ctx;
	client_policy *p = &o->policy;
	uint32_t v = 0;
	bool ok = true;
	switch (opt) {
	case OPT_KSK:
		o->ksk_file = arg;
		break;
	case OPT_ALGORITHM:
		ok = number(arg, 1, 255, &p->algorithm);
		break;
	case OPT_RSA_BITS:
		ok = number(arg, 1, 16384, &p->rsa_bits);
		break;
	case OPT_VALIDITY:
		ok = number(arg, 1, 0xffffffffUL, &p->validity);
		break;
	case OPT_DNSKEY_TTL:
		ok = number(arg, 1, 0x7fffffffUL, &p->dnskey_ttl);
		break;
	case OPT_KEYSET_PERIOD:
		ok = number(arg, 1, 0xffffffffUL, &p->keyset_period);
		break;
	case OPT_NSEC3:
		o->nsec3_given = true;
		break;
	case OPT_OPT_OUT:
		o->nsec3.opt_out = true;
		o->nsec3_given = true;
		break;
	case OPT_SALT:
		o->salt = arg;
		o->nsec3_given = true;
		break;
	case OPT_ITERATIONS:
		ok = number(arg, 0, 65535, &v);
		o->nsec3.iterations = v;
		o->nsec3_given = true;
		break;
	default:
		return false;
	}
	if (!ok)
		fprintf(stderr, "add-zone: bad number '%s'\n", arg);
	return ok;
}

/* The DNSKEY RDATA of the KSK file: DNSKEY RRs in presentation form, one per
 * line, owned by the zone. */
static int read_ksks(const char *cmd, const char *path, const dns_name *zone, sg_buf *rdata,
		     dns_rdata *keys, size_t *nkeys)
{
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, KSK_FILE_MAX, &text);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(&text, 0);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, signet_strerror(ret));
		sg_buf_free(&text);
		return SIGNET_EXIT_USAGE;
	}
	int rc = SIGNET_EXIT_OK;
	size_t offs[KSKS_MAX];
	unsigned lineno = 0;
	if (memchr(text.data, 0, text.len - 1)) {
		fprintf(stderr, "%s: %s: contains a NUL octet\n", cmd, path);
		sg_buf_free(&text);
		return SIGNET_EXIT_DATA;
	}
	for (char *line = (char *)text.data; line && rc == SIGNET_EXIT_OK;) {
		lineno++;
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t skip = strspn(line, " \t\r");
		if (line[skip] && line[skip] != ';') {
			dns_name owner;
			uint16_t type = 0, rclass = 0;
			uint32_t ttl = 0;
			size_t before = rdata->len;
			ret = dns_rr_from_text(line, zone, &owner, &type, &rclass, &ttl, rdata);
			if (ret != SIGNET_OK || type != DNS_T_DNSKEY ||
			    !dns_name_equal(&owner, zone)) {
				fprintf(stderr, "%s: %s:%u: %s\n", cmd, path, lineno,
					ret != SIGNET_OK ? signet_strerror(ret)
							 : "not a DNSKEY RR of the zone");
				rc = SIGNET_EXIT_DATA;
			} else if (*nkeys == KSKS_MAX) {
				fprintf(stderr, "%s: %s: more than %d keys\n", cmd, path, KSKS_MAX);
				rc = SIGNET_EXIT_DATA;
			} else {
				offs[*nkeys] = before;
				keys[*nkeys].len = (uint16_t)(rdata->len - before);
				(*nkeys)++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	sg_buf_free(&text);
	if (rc == SIGNET_EXIT_OK && *nkeys == 0) {
		fprintf(stderr, "%s: %s: no DNSKEY RR\n", cmd, path);
		rc = SIGNET_EXIT_DATA;
	}
	/* rdata may have moved while growing: point at it only now. */
	for (size_t i = 0; rc == SIGNET_EXIT_OK && i < *nkeys; i++)
		keys[i].data = rdata->data + offs[i];
	return rc;
}

int signet_cmd_add_zone(int argc, char **argv)
{
	static const char usage[] =
		"usage: signet add-zone ZONE --ksk FILE [--algorithm 8|13|14|15] [--rsa-bits N]\n"
		"         [--validity SECONDS] [--dnskey-ttl SECONDS] [--keyset-period SECONDS]\n"
		"         [--nsec3 [--opt-out] [--salt HEX] [--iterations N]]\n"
		"FILE holds the KSK DNSKEY RR(s) from the ceremony, one per line.\n"
		"0 or absent means the policy default (see docs/SIGNETD.md).\n";
	static const struct option extra[] = {
		{"ksk", 1, NULL, OPT_KSK},
		{"algorithm", 1, NULL, OPT_ALGORITHM},
		{"rsa-bits", 1, NULL, OPT_RSA_BITS},
		{"validity", 1, NULL, OPT_VALIDITY},
		{"dnskey-ttl", 1, NULL, OPT_DNSKEY_TTL},
		{"keyset-period", 1, NULL, OPT_KEYSET_PERIOD},
		{"nsec3", 0, NULL, OPT_NSEC3},
		{"opt-out", 0, NULL, OPT_OPT_OUT},
		{"salt", 1, NULL, OPT_SALT},
		{"iterations", 1, NULL, OPT_ITERATIONS},
	};
	admin_args a = {.cmd = "add-zone"};
	struct add_zone_opts o;
	memset(&o, 0, sizeof(o));
	int rc = parse(argc, argv, extra, sizeof(extra) / sizeof(extra[0]), 1, 1, usage, &a,
		       take_add_zone, &o);
	if (rc >= 0)
		return rc;
	dns_name zone;
	if ((rc = zone_arg(&a, &zone)) != SIGNET_EXIT_OK)
		return rc;
	if (!o.ksk_file) {
		fprintf(stderr, "add-zone: --ksk FILE is required\n");
		return SIGNET_EXIT_USAGE;
	}
	sg_buf salt = SG_BUF_INIT, rdata = SG_BUF_INIT;
	if (o.salt && strcmp(o.salt, "-") != 0 &&
	    (sg_hex_decode(o.salt, strlen(o.salt), &salt) != SIGNET_OK || salt.len > 255)) {
		fprintf(stderr, "add-zone: --salt: hex, at most 255 octets, or '-'\n");
		sg_buf_free(&salt);
		return SIGNET_EXIT_USAGE;
	}
	o.policy.nsec3 = o.nsec3_given;
	o.policy.opt_out = o.nsec3.opt_out;
	o.policy.iterations = o.nsec3.iterations;
	if (salt.len)
		memcpy(o.policy.salt, salt.data, salt.len);
	o.policy.salt_len = (uint8_t)salt.len;
	dns_rdata keys[KSKS_MAX];
	size_t nkeys = 0;
	rc = read_ksks("add-zone", o.ksk_file, &zone, &rdata, keys, &nkeys);
	client_conn *conn = NULL;
	if (rc == SIGNET_EXIT_OK)
		rc = client_connect(a.cmd, &a.flags, &conn);
	if (rc == SIGNET_EXIT_OK) {
		client_status st;
		signet_err ret = client_add_zone(conn, &zone, &o.policy, keys, nkeys, &st);
		rc = admin_result(&a, "AddZone", ret, &st);
		if (rc == SIGNET_EXIT_OK)
			printf("zone %s added with %zu KSK(s)\n", a.pos[0], nkeys);
	}
	client_close(conn);
	sg_buf_free(&salt);
	sg_buf_free(&rdata);
	return rc;
}

/* ---- generate-zsk ------------------------------------------------------- */

int signet_cmd_generate_zsk(int argc, char **argv)
{
	static const char usage[] =
		"usage: signet generate-zsk ZONE\n"
		"Generates a ZSK in signetd's token (state generated).\n";
	admin_args a = {.cmd = "generate-zsk"};
	int rc = parse(argc, argv, NULL, 0, 1, 1, usage, &a, NULL, NULL);
	if (rc >= 0)
		return rc;
	dns_name zone;
	if ((rc = zone_arg(&a, &zone)) != SIGNET_EXIT_OK)
		return rc;
	client_conn *conn = NULL;
	if ((rc = client_connect(a.cmd, &a.flags, &conn)) != SIGNET_EXIT_OK)
		return rc;
	client_key_list keys;
	client_status st;
	signet_err ret = client_generate_zsk(conn, &zone, &st, &keys);
	client_close(conn);
	rc = admin_result(&a, "GenerateZsk", ret, &st);
	for (size_t i = 0; rc == SIGNET_EXIT_OK && i < keys.count; i++)
		client_print_key(stdout, &keys.keys[i], CLIENT_KEY_AS_LINE, "generated");
	client_key_list_free(&keys);
	return rc;
}

/* ---- restore-zsk -------------------------------------------------------- */

#define RESTORE_FILES_MAX 4096         /* as signetd accepts in one call */
#define RESTORE_FILE_MAX 65536         /* one backup file */
#define RESTORE_TOTAL_MAX (900 * 1024) /* under signetd's default max-message */

/* DIR's zsk-*.backup files, read whole; names and texts owned by the caller. */
static int read_backups(const char *cmd, const char *dir, client_backup_file **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: cannot open %s\n", cmd, dir);
		return SIGNET_EXIT_USAGE;
	}
	int rc = SIGNET_EXIT_OK;
	size_t total = 0;
	struct dirent *e;
	while (rc == SIGNET_EXIT_OK && (e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (nl < 11 || nl > 255 || strncmp(e->d_name, "zsk-", 4) != 0 ||
		    strcmp(e->d_name + nl - 7, ".backup") != 0)
			continue;
		client_backup_file *g = *n < RESTORE_FILES_MAX
						? realloc(*out, (*n + 1) * sizeof(*g))
						: NULL;
		if (!g) {
			fprintf(stderr, "%s: %s: more than %d backup files\n", cmd, dir,
				RESTORE_FILES_MAX);
			rc = SIGNET_EXIT_DATA;
			break;
		}
		*out = g;
		sg_buf path = SG_BUF_INIT, text = SG_BUF_INIT;
		signet_err ret = sg_buf_printf(&path, "%s/%s", dir, e->d_name);
		if (ret == SIGNET_OK)
			ret = sg_file_read((const char *)path.data, RESTORE_FILE_MAX, &text);
		if (ret == SIGNET_OK && (total += text.len) > RESTORE_TOTAL_MAX)
			ret = SIGNET_ERANGE;
		char *name = ret == SIGNET_OK ? strdup(e->d_name) : NULL;
		if (ret == SIGNET_OK && !name)
			ret = SIGNET_ENOMEM;
		if (ret != SIGNET_OK) {
			fprintf(stderr, "%s: %s: %s%s\n", cmd, (const char *)path.data,
				signet_strerror(ret),
				ret == SIGNET_ERANGE ? " (more than one call carries: restore the "
						       "directory in parts)"
						     : "");
			sg_buf_free(&text);
			rc = SIGNET_EXIT_DATA;
		} else {
			g[*n].name = name;
			g[*n].text = text.data; /* owned now */
			g[*n].len = text.len;
			(*n)++;
		}
		sg_buf_free(&path);
	}
	closedir(d);
	if (rc == SIGNET_EXIT_OK && *n == 0) {
		fprintf(stderr, "%s: %s holds no zsk-*.backup file\n", cmd, dir);
		rc = SIGNET_EXIT_DATA;
	}
	return rc;
}

int signet_cmd_restore_zsk(int argc, char **argv)
{
	static const char usage[] =
		"usage: signet restore-zsk [DIR]\n"
		"Restores ZSK backups into signetd's token: DIR's zsk-*.backup files (as\n"
		"signetd --export-backups writes them; every file is checked before any\n"
		"is restored), or without DIR the backups in signetd's state of every ZSK\n"
		"its token lacks. Prints what was restored and what is still lacking.\n";
	admin_args a = {.cmd = "restore-zsk"};
	int rc = parse(argc, argv, NULL, 0, 0, 1, usage, &a, NULL, NULL);
	if (rc >= 0)
		return rc;
	client_backup_file *files = NULL;
	size_t n = 0;
	if (a.npos == 1)
		rc = read_backups(a.cmd, a.pos[0], &files, &n);
	else
		rc = SIGNET_EXIT_OK;
	client_conn *conn = NULL;
	if (rc == SIGNET_EXIT_OK)
		rc = client_connect(a.cmd, &a.flags, &conn);
	if (rc == SIGNET_EXIT_OK) {
		client_restore_result res;
		client_status st;
		signet_err ret = client_restore_zsk(conn, files, n, &st, &res);
		client_close(conn);
		rc = admin_result(&a, "RestoreZskBackups", ret, &st);
		if (rc == SIGNET_EXIT_OK) {
			printf("restored %u ZSK%s; %u still lacking\n", res.restored,
			       res.restored == 1 ? "" : "s", res.missing);
			for (size_t i = 0; i < res.nmessages; i++)
				printf("  %s\n", res.messages[i]);
			if (res.missing)
				rc = SIGNET_EXIT_FAIL;
		}
		client_restore_result_free(&res);
	}
	for (size_t i = 0; i < n; i++) {
		free((char *)files[i].name);
		free((uint8_t *)files[i].text);
	}
	free(files);
	return rc;
}

/* ---- export-ksr --------------------------------------------------------- */

static bool take_days(void *ctx, int opt, const char *arg)
{
	if (opt != OPT_DAYS)
		return false;
	if (!number(arg, 1, 366, ctx)) {
		fprintf(stderr, "export-ksr: --days: 1..366\n");
		return false;
	}
	return true;
}

int signet_cmd_export_ksr(int argc, char **argv)
{
	static const char usage[] =
		"usage: signet export-ksr ZONE FILE [--days N]\n"
		"Writes the key-signing request for the ceremony to FILE (atomically),\n"
		"covering the next N days (default 14).\n";
	static const struct option extra[] = {{"days", 1, NULL, OPT_DAYS}};
	admin_args a = {.cmd = "export-ksr"};
	uint32_t days = 14;
	int rc = parse(argc, argv, extra, 1, 2, 2, usage, &a, take_days, &days);
	if (rc >= 0)
		return rc;
	dns_name zone;
	if ((rc = zone_arg(&a, &zone)) != SIGNET_EXIT_OK)
		return rc;
	client_conn *conn = NULL;
	if ((rc = client_connect(a.cmd, &a.flags, &conn)) != SIGNET_EXIT_OK)
		return rc;
	sg_buf request = SG_BUF_INIT;
	uint64_t serial = 0;
	client_status st;
	signet_err ret = client_export_ksr(conn, &zone, days, &st, &request, &serial);
	client_close(conn);
	rc = admin_result(&a, "ExportKeySigningRequest", ret, &st);
	if (rc == SIGNET_EXIT_OK) {
		/* Check it is a request before anyone carries it to a ceremony. */
		dns_keyset ks;
		unsigned line = 0;
		ret = request.len > KEYSET_FILE_MAX ? SIGNET_ERANGE
						    : dns_keyset_parse((const char *)request.data,
								       request.len, &ks, &line);
		if (ret == SIGNET_OK && ks.kind != DNS_KEYSET_REQUEST)
			ret = SIGNET_EPARSE;
		if (ret == SIGNET_OK)
			dns_keyset_free(&ks);
		if (ret != SIGNET_OK) {
			fprintf(stderr,
				"export-ksr: the answer is not a key-signing request"
				" (line %u: %s)\n",
				line, signet_strerror(ret));
			rc = SIGNET_EXIT_ERROR;
		} else if ((ret = sg_file_write_atomic(a.pos[1], request.data, request.len,
						       0644)) != SIGNET_OK) {
			fprintf(stderr, "export-ksr: %s: %s\n", a.pos[1], signet_strerror(ret));
			rc = SIGNET_EXIT_ERROR;
		} else {
			printf("key-signing request serial %llu written to %s\n",
			       (unsigned long long)serial, a.pos[1]);
		}
	}
	sg_buf_free(&request);
	return rc;
}

/* ---- import-bundle ------------------------------------------------------ */

int signet_cmd_import_bundle(int argc, char **argv)
{
	static const char usage[] =
		"usage: signet import-bundle ZONE FILE\n"
		"Imports the ceremony's signed key bundle; signetd publishes and\n"
		"activates the ZSKs it names.\n";
	admin_args a = {.cmd = "import-bundle"};
	int rc = parse(argc, argv, NULL, 0, 2, 2, usage, &a, NULL, NULL);
	if (rc >= 0)
		return rc;
	dns_name zone;
	if ((rc = zone_arg(&a, &zone)) != SIGNET_EXIT_OK)
		return rc;
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(a.pos[1], KEYSET_FILE_MAX, &text);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "import-bundle: %s: %s\n", a.pos[1], signet_strerror(ret));
		sg_buf_free(&text);
		return ret == SIGNET_ERANGE ? SIGNET_EXIT_DATA : SIGNET_EXIT_USAGE;
	}
	/* The server checks everything; parsing here names the line early. */
	dns_keyset ks;
	unsigned line = 0;
	ret = dns_keyset_parse((const char *)text.data, text.len, &ks, &line);
	if (ret == SIGNET_OK) {
		bool bundle = ks.kind == DNS_KEYSET_BUNDLE;
		dns_keyset_free(&ks);
		if (!bundle) {
			fprintf(stderr, "import-bundle: %s: a request, not a signed bundle\n",
				a.pos[1]);
			sg_buf_free(&text);
			return SIGNET_EXIT_DATA;
		}
	} else {
		fprintf(stderr, "import-bundle: %s:%u: %s\n", a.pos[1], line, signet_strerror(ret));
		sg_buf_free(&text);
		return SIGNET_EXIT_DATA;
	}
	client_conn *conn = NULL;
	if ((rc = client_connect(a.cmd, &a.flags, &conn)) != SIGNET_EXIT_OK) {
		sg_buf_free(&text);
		return rc;
	}
	client_import_result r;
	client_status st;
	ret = client_import_bundle(conn, &zone, text.data, text.len, &st, &r);
	client_close(conn);
	rc = admin_result(&a, "ImportKeyBundle", ret, &st);
	if (rc == SIGNET_EXIT_OK) {
		printf("bundle serial %llu imported: %u periods\n", (unsigned long long)r.serial,
		       r.periods);
		for (size_t i = 0; i < r.activated.count; i++)
			client_print_key(stdout, &r.activated.keys[i], CLIENT_KEY_AS_LINE,
					 "changed");
	}
	client_key_list_free(&r.activated);
	sg_buf_free(&text);
	return rc;
}

/* ---- rollover ----------------------------------------------------------- */

static bool is_role(const client_key *k, const char *role)
{
	return strcmp(k->role, role) == 0;
}

/* The next change of k in force after now: what and when (0: none). */
static int64_t key_next(const client_key *k, int64_t now, const char **what)
{
	bool ksk = is_role(k, "ksk");
	const struct {
		int64_t t;
		const char *what;
	} ev[4] = {
		{k->publish, "published"},
		{k->active, ksk ? "DS wanted" : "active"},
		{k->retire, ksk ? "DS no longer wanted" : "retired"},
		{k->remove, "removed"},
	};
	int64_t best = 0;
	for (int i = 0; i < 4; i++)
		if (ev[i].t > now && (!best || ev[i].t < best)) {
			best = ev[i].t;
			*what = ev[i].what;
		}
	return best;
}

static bool plan_pending(const client_key *k)
{
	return k->planned_publish != k->publish || k->planned_active != k->active ||
	       k->planned_retire != k->retire || k->planned_remove != k->remove;
}

/* A KSK still in the DNSKEY RRset's future (not removed, no removal planned). */
static bool ksk_staying(const client_key *k)
{
	return is_role(k, "ksk") && k->state != CLIENT_KEY_REMOVED && !k->remove &&
	       !k->planned_remove;
}

/* The KSK a double-KSK, double-DS or algorithm rollover waits on: of two or
 * more staying KSKs the one whose DS is wanted last. NULL when no rollover
 * runs. */
static const client_key *rollover_ksk(const client_key_list *r)
{
	const client_key *newest = NULL;
	size_t staying = 0;
	for (size_t i = 0; i < r->count; i++) {
		const client_key *k = &r->keys[i];
		if (!ksk_staying(k))
			continue;
		staying++;
		/* The newest wants its DS last; one not yet planned is newest. */
		int64_t ka = k->active ? k->active : k->planned_active;
		int64_t na = newest ? (newest->active ? newest->active : newest->planned_active)
				    : 0;
		if (!newest || (ka == 0 && na != 0) || (ka && na && ka > na) ||
		    ((ka == 0) == (na == 0) && ka == na && k->created > newest->created))
			newest = k;
	}
	return staying >= 2 ? newest : NULL;
}

/* The schedule table and what needs the operator. */
static void print_schedule(const char *zone, const client_key_list *r, int64_t now,
			   const client_zone_health *h)
{
	char when[32], a[32], b[32], c[32], d[32], span[32];
	client_time_text(now, when, sizeof(when));
	printf("zone %s at %s (signetd's clock)\n", zone, when);
	printf("%-4s %3s %5s %-9s  %-20s %-20s %-20s %-20s %s\n", "ROLE", "ALG", "TAG", "STATE",
	       "PUBLISH", "ACTIVE/DS", "RETIRE", "REMOVE", "NEXT CHANGE");
	bool pending = false, active_zsk = false;
	int64_t next = 0;
	for (size_t i = 0; i < r->count; i++) {
		const client_key *k = &r->keys[i];
		client_time_text(k->publish, a, sizeof(a));
		client_time_text(k->active, b, sizeof(b));
		client_time_text(k->retire, c, sizeof(c));
		client_time_text(k->remove, d, sizeof(d));
		const char *what = NULL;
		int64_t t = key_next(k, now, &what);
		char nc[96] = "-";
		if (t) {
			client_time_text(t, when, sizeof(when));
			client_span_text(t - now, span, sizeof(span));
			snprintf(nc, sizeof(nc), "%s at %s (in %s)", what, when, span);
			if (!next || t < next)
				next = t;
		}
		printf("%-4s %3u %5u %-9s  %-20s %-20s %-20s %-20s %s\n", k->role, k->algorithm,
		       k->key_tag, client_key_state_name(k->state), a, b, c, d, nc);
		if (k->foreign)
			printf("%25s another signer's ZSK (RFC 8901): published, never signs here\n",
			       "");
		if (k->ds_seen) {
			client_time_text(k->ds_seen, when, sizeof(when));
			printf("%25s DS seen at the parent %s\n", "", when);
		}
		if (plan_pending(k)) {
			pending = true;
			client_time_text(k->planned_publish, a, sizeof(a));
			client_time_text(k->planned_active, b, sizeof(b));
			client_time_text(k->planned_retire, c, sizeof(c));
			client_time_text(k->planned_remove, d, sizeof(d));
			printf("%25s planned: %-20s %-20s %-20s %s\n", "", a, b, c, d);
		}
		if (is_role(k, "zsk") && k->state == CLIENT_KEY_ACTIVE)
			active_zsk = true;
	}
	if (next) {
		client_time_text(next, when, sizeof(when));
		client_span_text(next - now, span, sizeof(span));
		printf("next change: %s (in %s)\n", when, span);
	} else {
		printf("next change: none planned\n");
	}
	size_t nwarn = 0;
	if (!active_zsk) {
		printf("warning: no active ZSK: the zone cannot be signed (export-ksr, ceremony,"
		       " import-bundle)\n");
		nwarn++;
	}
	if (pending) {
		printf("warning: the last exported request plans changes not yet in force:"
		       " run the ceremony and import its bundle\n");
		nwarn++;
	}
	const client_key *nk = rollover_ksk(r);
	if (nk && !nk->ds_seen) {
		if (nk->active && nk->active <= now)
			printf("warning: KSK %u waits for its DS at the parent: publish it, then"
			       " `signet rollover %s ds-seen`\n",
			       nk->key_tag, zone);
		else if (nk->active) {
			client_time_text(nk->active, when, sizeof(when));
			printf("warning: KSK rollover running: the DS of KSK %u may go to the parent"
			       " from %s, not before\n",
			       nk->key_tag, when);
		} else {
			printf("warning: KSK %u is not in force yet: export-ksr, the ceremony (with"
			       " every KSK), import-bundle\n",
			       nk->key_tag);
		}
		nwarn++;
	}
	for (size_t i = 0; h && i < h->nwarnings; i++) {
		printf("warning: %s\n", h->warnings[i]);
		nwarn++;
	}
	if (!nwarn)
		printf("no warnings\n");
}

/* Rollover on an open connection; on success keys and *now are the answer. */
static int rollover_call(client_conn *conn, const dns_name *zone, client_rollover_action action,
			 const sg_buf *dnskey, client_key_list *keys, int64_t *now)
{
	client_status st;
	signet_err ret = client_rollover(conn, zone, action, dnskey->data, dnskey->len, &st, keys,
					 now);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "rollover: Rollover: %s\n", signet_strerror(ret));
		return SIGNET_EXIT_ERROR;
	}
	if (st.code != 0)
		return client_report("rollover", "Rollover", &st);
	return SIGNET_EXIT_OK;
}

/* The key of the answer whose DNSKEY is dk, or NULL. */
static const client_key *find_dnskey(const client_key_list *r, const uint8_t *dk, size_t len)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->keys[i].dnskey_len == len && len && memcmp(r->keys[i].dnskey, dk, len) == 0)
			return &r->keys[i];
	return NULL;
}

/* ds-seen without FILE, remove-foreign-zsk TAG: pick the key from the
 * schedule. Returns an exit status; on success dk holds its DNSKEY. */
static int pick_key(const char *zone, const client_key_list *r, bool foreign, uint32_t tag,
		    sg_buf *dk)
{
	const client_key *k = NULL;
	if (!foreign) {
		k = rollover_ksk(r);
		if (!k) {
			fprintf(stderr, "rollover: ds-seen: no KSK rollover of %s waits for a DS\n",
				zone);
			return SIGNET_EXIT_REFUSED;
		}
	} else {
		size_t n = 0;
		for (size_t i = 0; i < r->count; i++)
			if (r->keys[i].foreign && r->keys[i].key_tag == tag &&
			    !r->keys[i].planned_remove && !r->keys[i].remove) {
				k = &r->keys[i];
				n++;
			}
		if (n != 1) {
			fprintf(stderr, "rollover: remove-foreign-zsk: %s\n",
				n ? "several foreign ZSKs have this tag: give the DNSKEY FILE"
				  : "no foreign ZSK of the zone has this tag (or its removal is"
				    " already planned)");
			return SIGNET_EXIT_REFUSED;
		}
	}
	sg_buf_reset(dk);
	if (sg_buf_append(dk, k->dnskey, k->dnskey_len) != SIGNET_OK) {
		fprintf(stderr, "rollover: out of memory\n");
		return SIGNET_EXIT_ERROR;
	}
	return SIGNET_EXIT_OK;
}

struct rollover_action {
	const char *name;
	client_rollover_action action;
	int args;         /* 0: none, 1: FILE, 2: FILE optional, 3: TAG or FILE */
	const char *done; /* what to tell the operator afterwards */
};

static const struct rollover_action actions[] = {
	{"show", CLIENT_ROLLOVER_SHOW, 0, NULL},
	{"add-ksk", CLIENT_ROLLOVER_ADD_KSK, 1,
	 "KSK added; next: export-ksr, the ceremony with every KSK, import-bundle"},
	{"ds-seen", CLIENT_ROLLOVER_DS_SEEN, 2,
	 "DS confirmed; next: export-ksr, the ceremony, import-bundle (the old KSK leaves)"},
	{"add-foreign-zsk", CLIENT_ROLLOVER_ADD_FOREIGN_ZSK, 1,
	 "foreign ZSK added; it is published from the next request on"},
	{"remove-foreign-zsk", CLIENT_ROLLOVER_REMOVE_FOREIGN_ZSK, 3,
	 "foreign ZSK removed from the next request on"},
	{"go-insecure", CLIENT_ROLLOVER_GO_INSECURE, 0,
	 "the next request publishes the RFC 8078 delete CDS/CDNSKEY"},
	{"stay-secure", CLIENT_ROLLOVER_STAY_SECURE, 0,
	 "the delete CDS/CDNSKEY are withdrawn from the next request on"},
};

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

int signet_cmd_rollover(int argc, char **argv)
{
	static const char usage[] =
		"usage: signet rollover ZONE show\n"
		"       signet rollover ZONE add-ksk FILE\n"
		"       signet rollover ZONE ds-seen [FILE]\n"
		"       signet rollover ZONE add-foreign-zsk FILE\n"
		"       signet rollover ZONE remove-foreign-zsk TAG|FILE\n"
		"       signet rollover ZONE go-insecure|stay-secure\n"
		"FILE holds one DNSKEY RR of the zone (as create-ksk writes it). ds-seen\n"
		"without FILE confirms the DS of the KSK the running rollover waits on.\n"
		"See docs/ROLLOVER.md.\n";
	admin_args a = {.cmd = "rollover"};
	int rc = parse(argc, argv, NULL, 0, 2, 3, usage, &a, NULL, NULL);
	if (rc >= 0)
		return rc;
	dns_name zone;
	if ((rc = zone_arg(&a, &zone)) != SIGNET_EXIT_OK)
		return rc;
	const struct rollover_action *act = NULL;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(a.pos[1], actions[i].name) == 0)
			act = &actions[i];
	bool has_arg = a.npos == 3;
	if (!act || (act->args == 0 && has_arg) ||
	    ((act->args == 1 || act->args == 3) && !has_arg)) {
		if (!act)
			fprintf(stderr, "rollover: unknown action '%s'\n", a.pos[1]);
		fprintf(stderr, "%s", usage);
		return SIGNET_EXIT_USAGE;
	}
	uint32_t tag = 0;
	bool by_tag = act->args == 3 && all_digits(a.pos[2]);
	if (by_tag && !number(a.pos[2], 0, 65535, &tag)) {
		fprintf(stderr, "rollover: remove-foreign-zsk: TAG is a key tag, 0..65535\n");
		return SIGNET_EXIT_USAGE;
	}
	sg_buf rdata = SG_BUF_INIT;
	if (has_arg && !by_tag) {
		dns_rdata keys[KSKS_MAX];
		size_t nkeys = 0;
		rc = read_ksks("rollover", a.pos[2], &zone, &rdata, keys, &nkeys);
		if (rc == SIGNET_EXIT_OK && nkeys != 1) {
			fprintf(stderr, "rollover: %s: %zu DNSKEY RRs; give one\n", a.pos[2],
				nkeys);
			rc = SIGNET_EXIT_DATA;
		}
		if (rc != SIGNET_EXIT_OK) {
			sg_buf_free(&rdata);
			return rc;
		}
	}
	client_conn *conn = NULL;
	rc = client_connect(a.cmd, &a.flags, &conn);
	if (rc != SIGNET_EXIT_OK) {
		sg_buf_free(&rdata);
		return rc;
	}
	client_key_list before = {0}, after = {0};
	int64_t now = 0;
	bool pick = act->args != 0 && (by_tag || !has_arg);
	if (act->action == CLIENT_ROLLOVER_SHOW || pick) {
		sg_buf none = SG_BUF_INIT;
		rc = rollover_call(conn, &zone, CLIENT_ROLLOVER_SHOW, &none, &before, &now);
		if (rc == SIGNET_EXIT_OK && pick)
			rc = pick_key(a.pos[0], &before, by_tag, tag, &rdata);
	}
	if (rc == SIGNET_EXIT_OK && act->action == CLIENT_ROLLOVER_SHOW) {
		/* The zone's health warnings: if Health fails, the schedule is
		 * still worth printing. */
		client_health_info h;
		client_status st;
		const client_zone_health *zh = NULL;
		if (client_health(conn, &st, &h) == SIGNET_OK && st.code == 0)
			for (size_t i = 0; i < h.nzones; i++)
				if (h.zones[i].zone_ok && dns_name_equal(&h.zones[i].zone, &zone))
					zh = &h.zones[i];
		print_schedule(a.pos[0], &before, now, zh);
		client_health_free(&h);
	} else if (rc == SIGNET_EXIT_OK) {
		rc = rollover_call(conn, &zone, act->action, &rdata, &after, &now);
		if (rc == SIGNET_EXIT_OK) {
			printf("%s %s: %s\n", a.pos[1], a.pos[0], act->done);
			const client_key *k = find_dnskey(&after, rdata.data, rdata.len);
			if (k && rdata.len)
				client_print_key(stdout, k, CLIENT_KEY_AS_LINE, "key");
		}
	}
	client_close(conn);
	client_key_list_free(&before);
	client_key_list_free(&after);
	sg_buf_free(&rdata);
	return rc;
}
