/* cmd_admin.c -- the administration subcommands (admin role): add-zone,
 * generate-zsk, export-ksr and import-bundle, so operators need no other
 * tool between signetd and the ceremony. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "dnssec/dnssec.h"
#include "proto/signet.pb-c.h"

#define KSK_FILE_MAX (1 << 20)
#define KSKS_MAX 8
#define KEYSET_FILE_MAX (16 * 1024 * 1024)

enum {
	OPT_KSK = CLIENT_OPT_FIRST_FREE, OPT_ALGORITHM, OPT_RSA_BITS, OPT_VALIDITY,
	OPT_NSEC3, OPT_OPT_OUT, OPT_SALT, OPT_ITERATIONS, OPT_DNSKEY_TTL, OPT_KEYSET_PERIOD,
	OPT_DAYS
};

/* What the four commands share: connection flags, positional arguments. */
typedef struct admin_args {
	const char *cmd;
	client_flags flags;
	const char *pos[2];
	int npos;
} admin_args;

/* Parse argv with the connection flags plus extra (handled by take, which
 * returns false for an option it does not know). Returns an exit status or
 * -1 to go on. */
static int parse(int argc, char **argv, const struct option *extra, size_t nextra,
		 int want_pos, const char *usage, admin_args *a,
		 bool (*take)(void *ctx, int opt, const char *arg), void *ctx)
{
	struct option longopts[32] = {
		{"help", 0, NULL, 'h'}, CLIENT_CONN_LONGOPTS,
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
	if (argc - optind != want_pos) {
		fprintf(stderr, "%s", usage);
		return SIGNET_EXIT_USAGE;
	}
	for (int i = 0; i < want_pos; i++)
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

/* Connect, call, report; on success *resp is the answer to free. */
static int admin_call(const admin_args *a, const char *method, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
	client_conn *conn = NULL;
	int rc = client_connect(a->cmd, &a->flags, &conn);
	if (rc != SIGNET_EXIT_OK)
		return rc;
	char path[128];
	snprintf(path, sizeof(path), CLIENT_SVC "%s", method);
	client_status st;
	signet_err ret = client_call_msg(conn, path, req, desc, resp, &st);
	client_close(conn);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "%s: %s: %s\n", a->cmd, method, signet_strerror(ret));
		return SIGNET_EXIT_ERROR;
	}
	if (st.code != 0)
		return client_report(a->cmd, method, &st);
	return SIGNET_EXIT_OK;
}

static void print_key(const char *what, const Signet__V1__KeyInfo *k)
{
	static const char *const states[] = {"unknown", "generated", "published", "active",
					     "retired", "removed"};
	unsigned s = (unsigned)k->state < 6 ? (unsigned)k->state : 0;
	sg_buf id = SG_BUF_INIT;
	if (k->id.len && k->id.len <= 64)
		(void)sg_hex_encode(k->id.data, k->id.len, &id);
	printf("%s: %s algorithm %u tag %u state %s id %s\n", what,
	       k->role && strlen(k->role) < 8 ? k->role : "?", k->algorithm, k->key_tag,
	       states[s], id.len ? (const char *)id.data : "-");
	sg_buf_free(&id);
}

/* ---- add-zone ----------------------------------------------------------- */

struct add_zone_opts {
	const char *ksk_file;
	Signet__V1__Policy policy;
	Signet__V1__Nsec3Parameters nsec3;
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
	Signet__V1__Policy *p = &o->policy;
	uint32_t v = 0;
	bool ok = true;
	switch (opt) {
	case OPT_KSK: o->ksk_file = arg; break;
	case OPT_ALGORITHM: ok = number(arg, 1, 255, &p->algorithm); break;
	case OPT_RSA_BITS: ok = number(arg, 1, 16384, &p->rsa_bits); break;
	case OPT_VALIDITY: ok = number(arg, 1, 0xffffffffUL, &p->validity); break;
	case OPT_DNSKEY_TTL: ok = number(arg, 1, 0x7fffffffUL, &p->dnskey_ttl); break;
	case OPT_KEYSET_PERIOD: ok = number(arg, 1, 0xffffffffUL, &p->keyset_period); break;
	case OPT_NSEC3: o->nsec3_given = true; break;
	case OPT_OPT_OUT: o->nsec3.opt_out = true; o->nsec3_given = true; break;
	case OPT_SALT: o->salt = arg; o->nsec3_given = true; break;
	case OPT_ITERATIONS:
		ok = number(arg, 0, 65535, &v);
		o->nsec3.iterations = v;
		o->nsec3_given = true;
		break;
	default: return false;
	}
	if (!ok)
		fprintf(stderr, "add-zone: bad number '%s'\n", arg);
	return ok;
}

/* The DNSKEY RDATA of the KSK file: DNSKEY RRs in presentation form, one per
 * line, owned by the zone. */
static int read_ksks(const char *path, const dns_name *zone, sg_buf *rdata,
		     ProtobufCBinaryData *keys, size_t *nkeys)
{
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, KSK_FILE_MAX, &text);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(&text, 0);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "add-zone: %s: %s\n", path, signet_strerror(ret));
		sg_buf_free(&text);
		return SIGNET_EXIT_USAGE;
	}
	int rc = SIGNET_EXIT_OK;
	size_t offs[KSKS_MAX];
	unsigned lineno = 0;
	if (memchr(text.data, 0, text.len - 1)) {
		fprintf(stderr, "add-zone: %s: contains a NUL octet\n", path);
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
			if (ret != SIGNET_OK || type != DNS_T_DNSKEY || !dns_name_equal(&owner, zone)) {
				fprintf(stderr, "add-zone: %s:%u: %s\n", path, lineno,
					ret != SIGNET_OK ? signet_strerror(ret)
							 : "not a DNSKEY RR of the zone");
				rc = SIGNET_EXIT_DATA;
			} else if (*nkeys == KSKS_MAX) {
				fprintf(stderr, "add-zone: %s: more than %d keys\n", path, KSKS_MAX);
				rc = SIGNET_EXIT_DATA;
			} else {
				offs[*nkeys] = before;
				keys[*nkeys].len = rdata->len - before;
				(*nkeys)++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	sg_buf_free(&text);
	if (rc == SIGNET_EXIT_OK && *nkeys == 0) {
		fprintf(stderr, "add-zone: %s: no DNSKEY RR\n", path);
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
		{"ksk", 1, NULL, OPT_KSK}, {"algorithm", 1, NULL, OPT_ALGORITHM},
		{"rsa-bits", 1, NULL, OPT_RSA_BITS}, {"validity", 1, NULL, OPT_VALIDITY},
		{"dnskey-ttl", 1, NULL, OPT_DNSKEY_TTL},
		{"keyset-period", 1, NULL, OPT_KEYSET_PERIOD}, {"nsec3", 0, NULL, OPT_NSEC3},
		{"opt-out", 0, NULL, OPT_OPT_OUT}, {"salt", 1, NULL, OPT_SALT},
		{"iterations", 1, NULL, OPT_ITERATIONS},
	};
	admin_args a = {.cmd = "add-zone"};
	struct add_zone_opts o;
	memset(&o, 0, sizeof(o));
	signet__v1__policy__init(&o.policy);
	signet__v1__nsec3_parameters__init(&o.nsec3);
	int rc = parse(argc, argv, extra, sizeof(extra) / sizeof(extra[0]), 1, usage, &a,
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
	ProtobufCBinaryData keys[KSKS_MAX];
	size_t nkeys = 0;
	rc = read_ksks(o.ksk_file, &zone, &rdata, keys, &nkeys);
	if (rc == SIGNET_EXIT_OK) {
		if (o.nsec3_given) {
			o.policy.denial = SIGNET__V1__DENIAL__DENIAL_NSEC3;
			o.nsec3.salt.data = salt.data;
			o.nsec3.salt.len = salt.len;
			o.policy.nsec3 = &o.nsec3;
		}
		Signet__V1__AddZoneRequest req = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
		req.zone.data = zone.wire;
		req.zone.len = zone.len;
		req.policy = &o.policy;
		req.ksk_dnskey = keys;
		req.n_ksk_dnskey = nkeys;
		ProtobufCMessage *m = NULL;
		rc = admin_call(&a, "AddZone", &req.base, &signet__v1__add_zone_response__descriptor,
				&m);
		protobuf_c_message_free_unpacked(m, NULL);
		if (rc == SIGNET_EXIT_OK)
			printf("zone %s added with %zu KSK(s)\n", a.pos[0], nkeys);
	}
	sg_buf_free(&salt);
	sg_buf_free(&rdata);
	return rc;
}

/* ---- generate-zsk ------------------------------------------------------- */

int signet_cmd_generate_zsk(int argc, char **argv)
{
	static const char usage[] = "usage: signet generate-zsk ZONE\n"
				    "Generates a ZSK in signetd's token (state generated).\n";
	admin_args a = {.cmd = "generate-zsk"};
	int rc = parse(argc, argv, NULL, 0, 1, usage, &a, NULL, NULL);
	if (rc >= 0)
		return rc;
	dns_name zone;
	if ((rc = zone_arg(&a, &zone)) != SIGNET_EXIT_OK)
		return rc;
	Signet__V1__GenerateZskRequest req = SIGNET__V1__GENERATE_ZSK_REQUEST__INIT;
	req.zone.data = zone.wire;
	req.zone.len = zone.len;
	ProtobufCMessage *m = NULL;
	rc = admin_call(&a, "GenerateZsk", &req.base,
			&signet__v1__generate_zsk_response__descriptor, &m);
	if (rc == SIGNET_EXIT_OK) {
		Signet__V1__GenerateZskResponse *r = (Signet__V1__GenerateZskResponse *)m;
		if (r->key)
			print_key("generated", r->key);
	}
	protobuf_c_message_free_unpacked(m, NULL);
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
	int rc = parse(argc, argv, extra, 1, 2, usage, &a, take_days, &days);
	if (rc >= 0)
		return rc;
	dns_name zone;
	if ((rc = zone_arg(&a, &zone)) != SIGNET_EXIT_OK)
		return rc;
	Signet__V1__ExportKeySigningRequestRequest req =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	req.zone.data = zone.wire;
	req.zone.len = zone.len;
	req.days = days;
	ProtobufCMessage *m = NULL;
	rc = admin_call(&a, "ExportKeySigningRequest", &req.base,
			&signet__v1__export_key_signing_request_response__descriptor, &m);
	if (rc == SIGNET_EXIT_OK) {
		Signet__V1__ExportKeySigningRequestResponse *r =
			(Signet__V1__ExportKeySigningRequestResponse *)m;
		/* Check it is a request before anyone carries it to a ceremony. */
		dns_keyset ks;
		unsigned line = 0;
		signet_err ret = r->request.len > KEYSET_FILE_MAX
					 ? SIGNET_ERANGE
					 : dns_keyset_parse((const char *)r->request.data,
							    r->request.len, &ks, &line);
		if (ret == SIGNET_OK && ks.kind != DNS_KEYSET_REQUEST)
			ret = SIGNET_EPARSE;
		if (ret == SIGNET_OK)
			dns_keyset_free(&ks);
		if (ret != SIGNET_OK) {
			fprintf(stderr, "export-ksr: the answer is not a key-signing request"
				" (line %u: %s)\n", line, signet_strerror(ret));
			rc = SIGNET_EXIT_ERROR;
		} else if ((ret = sg_file_write_atomic(a.pos[1], r->request.data, r->request.len,
						       0644)) != SIGNET_OK) {
			fprintf(stderr, "export-ksr: %s: %s\n", a.pos[1], signet_strerror(ret));
			rc = SIGNET_EXIT_ERROR;
		} else {
			printf("key-signing request serial %llu written to %s\n",
			       (unsigned long long)r->serial, a.pos[1]);
		}
	}
	protobuf_c_message_free_unpacked(m, NULL);
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
	int rc = parse(argc, argv, NULL, 0, 2, usage, &a, NULL, NULL);
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
	Signet__V1__ImportKeyBundleRequest req = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	req.zone.data = zone.wire;
	req.zone.len = zone.len;
	req.bundle.data = text.data;
	req.bundle.len = text.len;
	ProtobufCMessage *m = NULL;
	rc = admin_call(&a, "ImportKeyBundle", &req.base,
			&signet__v1__import_key_bundle_response__descriptor, &m);
	if (rc == SIGNET_EXIT_OK) {
		Signet__V1__ImportKeyBundleResponse *r = (Signet__V1__ImportKeyBundleResponse *)m;
		printf("bundle serial %llu imported: %u periods\n", (unsigned long long)r->serial,
		       r->periods);
		for (size_t i = 0; i < r->n_activated; i++)
			print_key("changed", r->activated[i]);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	sg_buf_free(&text);
	return rc;
}
