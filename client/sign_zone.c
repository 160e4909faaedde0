/* sign_zone.c -- `signet sign-zone`, a front end of the zone engine
 * (zone/zone.h): read a zone file (and an old signed zone to reuse RRSIGs
 * from), get the key set from signetd, have the engine sign it with
 * signetd as its backend (batches, several calls in flight) and write the
 * signed zone atomically. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "client/client.h"
#include "dnssec/dnssec.h"
#include "zone/zone.h"

#define ZONE_FILE_MAX ((size_t)1 << 30)
#define MAX_RRS_DEFAULT 10000000
#define BATCH_DEFAULT 200
#define BATCH_MAX 10000
#define INFLIGHT_DEFAULT 6
#define INFLIGHT_MAX 64
#define NSEC3_ITERATIONS_MAX 100
#define ERRORS_SHOWN 20

enum denial_choice { DENIAL_POLICY = 0, DENIAL_USE_NSEC, DENIAL_USE_NSEC3 };

enum {
	OPT_ZONE = CLIENT_OPT_FIRST_FREE,
	OPT_IN,
	OPT_OUT,
	OPT_NSEC,
	OPT_NSEC3,
	OPT_OPT_OUT,
	OPT_SALT,
	OPT_ITERATIONS,
	OPT_SERIAL,
	OPT_BATCH,
	OPT_INFLIGHT,
	OPT_INCREMENTAL,
	OPT_REFRESH,
	OPT_MAX_RRS,
	OPT_QUIET
};

struct opts {
	const char *zone, *in, *out, *incremental;
	enum denial_choice denial;
	bool opt_out;
	const char *salt; /* hex, "-" for empty; NULL: the policy's */
	long iterations;  /* -1: the policy's */
	client_serial serial;
	size_t batch;
	unsigned inflight;
	long refresh; /* seconds; -1: a quarter of the validity */
	size_t max_rrs;
	bool quiet;
	client_flags conn;
};

/* The engine's signing backend over a client connection: SignRRsets calls
 * in flight, every refusal reported on stderr with the RRset it concerns. */
typedef struct backend {
	client_conn *c;
	int fail_rc;   /* exit status of the first failure */
	size_t failed; /* RRsets reported as not signed */
	size_t signed_sets;
	bool progress; /* show a counter on a terminal */
	struct timespec last_progress;
} backend;

/* A batch in flight. */
typedef struct job {
	const dns_rrset *const *sets;
	dns_rrset *const *sigs;
	size_t n;
	void *tag; /* the engine's */
} job;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: signet sign-zone --zone ZONE --in FILE --out FILE\n"
		"         [--nsec | --nsec3 [--opt-out] [--salt HEX|-] [--iterations N]]\n"
		"         [--serial keep|increment|unixtime|datecounter]\n"
		"         [--batch N] [--inflight N] [--incremental OLD [--refresh SECONDS]]\n"
		"         [--max-rrs N] [--quiet]\n" CLIENT_CONN_USAGE
		"Signs every authoritative RRset of the zone through signetd, adds the\n"
		"DNSKEY/CDS/CDNSKEY RRsets with their KSK RRSIGs from the key set, builds\n"
		"NSEC or NSEC3 (default: the zone's policy) and writes OUT atomically.\n"
		"With --incremental, RRSIGs of OLD whose RRset is unchanged, made by a\n"
		"ZSK of the key set and valid for more than --refresh seconds are kept.\n"
		"Exit: 0 ok, 2 usage, 3 error, 4 connection, 5 refused, 6 invalid data.\n");
}

static bool parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-' || v < lo || v > hi)
		return false;
	*out = (size_t)v;
	return true;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"zone", 1, NULL, OPT_ZONE},
		{"in", 1, NULL, OPT_IN},
		{"out", 1, NULL, OPT_OUT},
		{"nsec", 0, NULL, OPT_NSEC},
		{"nsec3", 0, NULL, OPT_NSEC3},
		{"opt-out", 0, NULL, OPT_OPT_OUT},
		{"salt", 1, NULL, OPT_SALT},
		{"iterations", 1, NULL, OPT_ITERATIONS},
		{"serial", 1, NULL, OPT_SERIAL},
		{"batch", 1, NULL, OPT_BATCH},
		{"inflight", 1, NULL, OPT_INFLIGHT},
		{"incremental", 1, NULL, OPT_INCREMENTAL},
		{"refresh", 1, NULL, OPT_REFRESH},
		{"max-rrs", 1, NULL, OPT_MAX_RRS},
		{"quiet", 0, NULL, OPT_QUIET},
		{"help", 0, NULL, 'h'},
		CLIENT_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->iterations = -1;
	o->refresh = -1;
	o->batch = BATCH_DEFAULT;
	o->inflight = INFLIGHT_DEFAULT;
	o->max_rrs = MAX_RRS_DEFAULT;
	bool nsec3_detail = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		size_t v = 0;
		switch (c) {
		case OPT_ZONE:
			o->zone = optarg;
			break;
		case OPT_IN:
			o->in = optarg;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case OPT_NSEC:
			o->denial = DENIAL_USE_NSEC;
			break;
		case OPT_NSEC3:
			o->denial = DENIAL_USE_NSEC3;
			break;
		case OPT_OPT_OUT:
			o->opt_out = true;
			nsec3_detail = true;
			break;
		case OPT_SALT:
			o->salt = optarg;
			nsec3_detail = true;
			break;
		case OPT_ITERATIONS:
			if (!parse_size(optarg, 0, NSEC3_ITERATIONS_MAX, &v)) {
				fprintf(stderr, "sign-zone: --iterations: 0..%d\n",
					NSEC3_ITERATIONS_MAX);
				return -1;
			}
			o->iterations = (long)v;
			nsec3_detail = true;
			break;
		case OPT_SERIAL:
			if (strcmp(optarg, "keep") == 0)
				o->serial = CLIENT_SERIAL_KEEP;
			else if (strcmp(optarg, "increment") == 0)
				o->serial = CLIENT_SERIAL_INCREMENT;
			else if (strcmp(optarg, "unixtime") == 0)
				o->serial = CLIENT_SERIAL_UNIXTIME;
			else if (strcmp(optarg, "datecounter") == 0)
				o->serial = CLIENT_SERIAL_DATECOUNTER;
			else {
				fprintf(stderr,
					"sign-zone: --serial: keep, increment, unixtime"
					" or datecounter\n");
				return -1;
			}
			break;
		case OPT_BATCH:
			if (!parse_size(optarg, 1, BATCH_MAX, &o->batch)) {
				fprintf(stderr, "sign-zone: --batch: 1..%d\n", BATCH_MAX);
				return -1;
			}
			break;
		case OPT_INFLIGHT:
			if (!parse_size(optarg, 1, INFLIGHT_MAX, &v)) {
				fprintf(stderr, "sign-zone: --inflight: 1..%d\n", INFLIGHT_MAX);
				return -1;
			}
			o->inflight = (unsigned)v;
			break;
		case OPT_INCREMENTAL:
			o->incremental = optarg;
			break;
		case OPT_REFRESH:
			if (!parse_size(optarg, 0, 365u * 86400, &v)) {
				fprintf(stderr, "sign-zone: --refresh: seconds, 0..31536000\n");
				return -1;
			}
			o->refresh = (long)v;
			break;
		case OPT_MAX_RRS:
			if (!parse_size(optarg, 1, 1000000000, &o->max_rrs)) {
				fprintf(stderr, "sign-zone: --max-rrs: 1..1000000000\n");
				return -1;
			}
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			if (client_flags_take(&o->conn, c, optarg))
				break;
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sign-zone: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->zone || !o->in || !o->out) {
		fprintf(stderr, "sign-zone: --zone, --in and --out are required\n");
		usage(stderr);
		return -1;
	}
	if (nsec3_detail && o->denial == DENIAL_USE_NSEC) {
		fprintf(stderr,
			"sign-zone: --opt-out, --salt and --iterations are NSEC3 options"
			" and conflict with --nsec\n");
		return -1;
	}
	if (nsec3_detail)
		o->denial = DENIAL_USE_NSEC3;
	if (o->refresh >= 0 && !o->incremental) {
		fprintf(stderr, "sign-zone: --refresh needs --incremental\n");
		return -1;
	}
	return 0;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Name and type of a set for messages. */
static void describe(const dns_rrset *s, char *buf, size_t len)
{
	char name[DNS_NAME_STR_MAX];
	if (dns_name_to_str(&s->owner, name, sizeof(name)) != SIGNET_OK)
		snprintf(name, sizeof(name), "?");
	char *type = ldns_rr_type2str((ldns_rr_type)s->type);
	snprintf(buf, len, "%s %s", name, type ? type : "?");
	free(type);
}

/* Read and parse a zone file; errors name the file and line. */
static int load_zone(const char *path, const dns_name *origin, size_t max_rrs, dns_zone *z)
{
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, ZONE_FILE_MAX, &text);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign-zone: %s: %s\n", path, signet_strerror(ret));
		return ret == SIGNET_ERANGE ? SIGNET_EXIT_DATA : SIGNET_EXIT_ERROR;
	}
	unsigned line = 0;
	ret = dns_zone_parse((const char *)text.data, text.len, origin, 3600, max_rrs, z, &line);
	sg_buf_free(&text);
	if (ret != SIGNET_OK) {
		if (line)
			fprintf(stderr, "sign-zone: %s:%u: %s\n", path, line, signet_strerror(ret));
		else
			fprintf(stderr, "sign-zone: %s: %s\n", path, signet_strerror(ret));
		if (ret == SIGNET_ERANGE)
			fprintf(stderr, "sign-zone: more than %zu RRs (see --max-rrs)\n", max_rrs);
		return SIGNET_EXIT_DATA;
	}
	return SIGNET_EXIT_OK;
}

static bool dnssec_type(uint16_t t)
{
	return t == DNS_T_DNSKEY || t == DNS_T_CDS || t == DNS_T_CDNSKEY || t == DNS_T_RRSIG ||
	       t == DNS_T_NSEC || t == DNS_T_NSEC3 || t == DNS_T_NSEC3PARAM;
}

/* The signer makes these afresh: drop them from the input with a note. */
static void strip_dnssec(dns_zone *z, bool quiet)
{
	size_t kept = 0, dropped = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (dnssec_type(z->sets[i].type)) {
			dns_rrset_clear(&z->sets[i]);
			dropped++;
			continue;
		}
		z->sets[kept++] = z->sets[i];
	}
	z->count = kept;
	if (dropped && !quiet)
		fprintf(stderr,
			"sign-zone: note: %zu DNSKEY/CDS/CDNSKEY/RRSIG/NSEC/NSEC3/"
			"NSEC3PARAM RRsets of the input replaced\n",
			dropped);
}

/* The key set and the policy from signetd, with the command line's denial
 * options over the policy's. */
static int get_keys(const struct opts *o, client_conn *c, const dns_name *apex, zone_keys *k)
{
	client_keyset ks;
	client_status st;
	char why[256];
	signet_err ret = client_get_keyset(c, apex, &st, &ks, why, sizeof(why));
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign-zone: GetKeySet: %s\n", why[0] ? why : signet_strerror(ret));
		client_keyset_free(&ks);
		return why[0] ? SIGNET_EXIT_DATA : SIGNET_EXIT_ERROR;
	}
	if (st.code != 0) {
		client_keyset_free(&ks);
		return client_report("sign-zone", "GetKeySet", &st);
	}
	if (ks.dnskey.count == 0 || ks.rrsig.count == 0) {
		fprintf(stderr, "sign-zone: GetKeySet: no DNSKEY RRset or no KSK RRSIG\n");
		client_keyset_free(&ks);
		return SIGNET_EXIT_DATA;
	}
	/* The sets move into the engine's key set. */
	k->dnskey = ks.dnskey;
	k->cds = ks.cds;
	k->cdnskey = ks.cdnskey;
	k->ksk_sigs = ks.rrsig;
	const client_policy *p = &ks.policy;
	k->alg = p->algorithm ? (uint8_t)p->algorithm : DNS_ALG_ECDSAP256SHA256;
	k->validity = p->validity ? p->validity : 14 * 86400;
	/* Denial: the command line wins over the policy. */
	k->nsec3 = o->denial == DENIAL_USE_NSEC3 || (o->denial == DENIAL_POLICY && p->nsec3);
	memset(&k->nsec3p, 0, sizeof(k->nsec3p));
	k->nsec3p.algorithm = 1;
	if (p->nsec3) {
		k->nsec3p.iterations = (uint16_t)p->iterations;
		k->nsec3p.salt_len = p->salt_len;
		if (p->salt_len)
			memcpy(k->nsec3p.salt, p->salt, p->salt_len);
		if (p->opt_out)
			k->nsec3p.flags = DNS_NSEC3_FLAG_OPTOUT;
	}
	if (o->opt_out)
		k->nsec3p.flags = DNS_NSEC3_FLAG_OPTOUT;
	if (o->iterations >= 0)
		k->nsec3p.iterations = (uint16_t)o->iterations;
	if (o->salt) {
		sg_buf salt = SG_BUF_INIT;
		if (strcmp(o->salt, "-") != 0 &&
		    (sg_hex_decode(o->salt, strlen(o->salt), &salt) != SIGNET_OK ||
		     salt.len > 255)) {
			sg_buf_free(&salt);
			fprintf(stderr, "sign-zone: --salt: hex, at most 255 octets, or '-'\n");
			return SIGNET_EXIT_USAGE;
		}
		k->nsec3p.salt_len = (uint8_t)salt.len;
		if (salt.len)
			memcpy(k->nsec3p.salt, salt.data, salt.len);
		sg_buf_free(&salt);
	}
	return SIGNET_EXIT_OK;
}

static void item_failed(backend *b, const dns_rrset *set, int rc, const char *why)
{
	if (b->failed++ < ERRORS_SHOWN) {
		char what[DNS_NAME_STR_MAX + 32];
		describe(set, what, sizeof(what));
		fprintf(stderr, "%ssign-zone: %s: %s\n", b->progress ? "\n" : "", what, why);
	}
	if (!b->fail_rc)
		b->fail_rc = rc;
}

static void show_progress(backend *b, bool last)
{
	if (!b->progress)
		return;
	if (!last && elapsed(&b->last_progress) < 0.2)
		return;
	clock_gettime(CLOCK_MONOTONIC, &b->last_progress);
	fprintf(stderr, "\rsign-zone: %zu RRsets signed%s", b->signed_sets, last ? "\n" : "");
}

static signet_err be_start(void *ctx, const dns_name *apex, const dns_rrset *const *sets,
			   dns_rrset *const *sigs, size_t n, void *tag)
{
	backend *b = ctx;
	job *j = calloc(1, sizeof(*j));
	uint8_t *buf = NULL;
	size_t len = 0;
	signet_err ret = j ? client_sign_request_pack(apex, sets, n, &buf, &len) : SIGNET_ENOMEM;
	if (ret == SIGNET_OK) {
		*j = (job){sets, sigs, n, tag};
		ret = client_start(b->c, CLIENT_SVC "SignRRsets", buf, len, j);
		if (ret == SIGNET_OK)
			return SIGNET_OK;
	}
	free(j);
	fprintf(stderr, "sign-zone: cannot start a SignRRsets call\n");
	b->fail_rc = SIGNET_EXIT_ERROR;
	return ret;
}

/* The RRSIGs of one answered batch into the job's sets. */
static signet_err take_answer(backend *b, const job *j, const sg_buf *resp)
{
	client_sign_answer a;
	signet_err ret = client_sign_answer_unpack(resp->data, resp->len, &a);
	if (ret != SIGNET_OK || a.count != j->n) {
		fprintf(stderr, "sign-zone: SignRRsets: answer %s\n",
			ret == SIGNET_OK ? "with the wrong number of results" : "does not unpack");
		client_sign_answer_free(&a);
		b->fail_rc = SIGNET_EXIT_ERROR;
		return SIGNET_EPARSE;
	}
	for (size_t k = 0; k < a.count; k++) {
		const client_sign_item *res = &a.items[k];
		const dns_rrset *set = j->sets[k];
		if (res->index != k) {
			item_failed(b, set, SIGNET_EXIT_ERROR, "answer out of order");
			continue;
		}
		if (res->status == CLIENT_ITEM_FAILED) {
			char why[600];
			snprintf(why, sizeof(why), "%s: %s", client_status_name(res->code),
				 res->message);
			item_failed(b, set, client_exit_for_status(res->code), why);
			continue;
		}
		if (res->status != CLIENT_ITEM_SIGNED || res->nrrsig == 0) {
			item_failed(b, set, SIGNET_EXIT_ERROR, "signetd did not sign it");
			continue;
		}
		for (size_t i = 0; i < res->nrrsig; i++) {
			dns_rrsig sig;
			if (dns_rrsig_from_rdata(&sig, res->rrsig[i].data, res->rrsig[i].len) !=
				    SIGNET_OK ||
			    sig.type_covered != set->type) {
				dns_rrset_clear(j->sigs[k]);
				item_failed(b, set, SIGNET_EXIT_ERROR,
					    "malformed RRSIG in the answer");
				break;
			}
			if (dns_rrset_add(j->sigs[k], res->rrsig[i].data, res->rrsig[i].len) !=
			    SIGNET_OK) {
				client_sign_answer_free(&a);
				b->fail_rc = SIGNET_EXIT_ERROR;
				return SIGNET_ENOMEM;
			}
		}
		b->signed_sets++;
	}
	client_sign_answer_free(&a);
	return SIGNET_OK;
}

static signet_err be_wait(void *ctx, void **tag)
{
	backend *b = ctx;
	void *t = NULL;
	client_status st;
	sg_buf resp = SG_BUF_INIT;
	signet_err ret = client_next(b->c, &t, &st, &resp);
	if (ret == SIGNET_ENOTFOUND) {
		sg_buf_free(&resp);
		return ret;
	}
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign-zone: SignRRsets: %s\n", signet_strerror(ret));
		b->fail_rc = SIGNET_EXIT_ERROR;
	} else {
		job *j = t;
		*tag = j->tag;
		if (st.code != 0) {
			if (b->progress)
				fputc('\n', stderr);
			b->fail_rc = client_report("sign-zone", "SignRRsets", &st);
			ret = SIGNET_EIO;
		} else {
			ret = take_answer(b, j, &resp);
			show_progress(b, false);
		}
		free(j);
	}
	/* The engine stops at the first failed call: the others are collected
	 * here, so every job is freed. */
	if (ret != SIGNET_OK)
		while (client_inflight(b->c) > 0) {
			sg_buf_reset(&resp);
			if (client_next(b->c, &t, &st, &resp) != SIGNET_OK)
				break;
			free(t);
		}
	sg_buf_free(&resp);
	return ret;
}

int signet_cmd_sign_zone(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc != 0)
		return rc > 0 ? SIGNET_EXIT_OK : SIGNET_EXIT_USAGE;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A zone is hundreds of MB of short-lived blocks: by default glibc maps
	 * every large one afresh and gives freed memory back to the kernel, so
	 * the old zone's memory, freed after planning, is faulted in again for
	 * the output. Keeping it in the heap cut the 1% re-sign of a
	 * 100,000-name zone by about 0.3 s of system time (docs/BENCHMARKS.md),
	 * for a higher peak RSS. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_TOP_PAD, 64 * 1024 * 1024);
	dns_name origin;
	if (dns_name_from_str(&origin, o.zone) != SIGNET_OK) {
		fprintf(stderr, "sign-zone: --zone: '%s' is not a domain name\n", o.zone);
		return SIGNET_EXIT_USAGE;
	}
	_Static_assert((int)CLIENT_SERIAL_KEEP == (int)ZONE_SERIAL_KEEP &&
			       (int)CLIENT_SERIAL_INCREMENT == (int)ZONE_SERIAL_INCREMENT &&
			       (int)CLIENT_SERIAL_UNIXTIME == (int)ZONE_SERIAL_UNIXTIME &&
			       (int)CLIENT_SERIAL_DATECOUNTER == (int)ZONE_SERIAL_DATECOUNTER,
		       "the CLI's serial policies are the engine's");
	zone_options zo;
	zone_options_init(&zo);
	zo.serial = (zone_serial)o.serial;
	zo.refresh = o.refresh;
	zo.batch = o.batch;
	zo.inflight = o.inflight;
	zone_engine *e = NULL;
	if (zone_engine_new(&origin, &zo, &e) != SIGNET_OK)
		return SIGNET_EXIT_ERROR;
	client_conn *c = NULL;
	dns_zone in = {0};
	zone_keys k;
	zone_keys_init(&k, &origin);
	/* The old signed zone, the larger, is read first: what reading takes
	 * on the way is then not on top of the new zone. Its RRSIGs that fit
	 * the new zone are kept; the rest of it is dropped. */
	if (o.incremental) {
		dns_zone old;
		rc = load_zone(o.incremental, &origin, o.max_rrs, &old);
		if (rc != SIGNET_EXIT_OK)
			goto out;
		if (zone_engine_adopt(e, &old) != SIGNET_OK) {
			fprintf(stderr, "sign-zone: %s: no usable SOA at the apex\n",
				o.incremental);
			rc = SIGNET_EXIT_DATA;
			goto out;
		}
	}
	rc = load_zone(o.in, &origin, o.max_rrs, &in);
	if (rc != SIGNET_EXIT_OK)
		goto out;
	strip_dnssec(&in, o.quiet);
	rc = client_connect("sign-zone", &o.conn, &c);
	if (rc == SIGNET_EXIT_OK)
		rc = get_keys(&o, c, &origin, &k);
	if (rc != SIGNET_EXIT_OK)
		goto out;
	backend b = {.c = c, .progress = !o.quiet && isatty(STDERR_FILENO)};
	zone_backend zb = {&b, be_start, be_wait};
	zone_sign_stats st;
	signet_err ret = zone_engine_sign(e, &in, &k, &zb, (uint32_t)time(NULL), &st);
	show_progress(&b, true);
	if (ret == SIGNET_EVERIFY && st.failed) {
		fprintf(stderr, "sign-zone: %zu RRsets not signed; %s not written\n", st.failed,
			o.out);
		rc = b.fail_rc ? b.fail_rc : SIGNET_EXIT_ERROR;
		goto out;
	}
	if (ret != SIGNET_OK) {
		if (b.fail_rc) {
			rc = b.fail_rc;
		} else if (ret == SIGNET_EPARSE) {
			fprintf(stderr, "sign-zone: %s: no usable SOA at the apex\n", o.in);
			rc = SIGNET_EXIT_DATA;
		} else {
			fprintf(stderr, "sign-zone: building the %s chain: %s\n",
				k.nsec3 ? "NSEC3" : "NSEC", signet_strerror(ret));
			rc = ret == SIGNET_EEXIST ? SIGNET_EXIT_DATA : SIGNET_EXIT_ERROR;
		}
		goto out;
	}
	sg_buf text = SG_BUF_INIT;
	ret = zone_engine_text(e, &text);
	if (ret == SIGNET_OK)
		ret = sg_file_write_atomic(o.out, text.data, text.len, 0644);
	sg_buf_free(&text);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign-zone: %s: %s\n", o.out, signet_strerror(ret));
		rc = SIGNET_EXIT_ERROR;
		goto out;
	}
	if (!o.quiet) {
		char apex[DNS_NAME_STR_MAX];
		if (dns_name_to_str(&origin, apex, sizeof(apex)) != SIGNET_OK)
			snprintf(apex, sizeof(apex), "?");
		fprintf(stderr,
			"sign-zone: %s: %zu RRsets with RRSIGs: %zu reused, %zu sent in"
			" %zu calls; %s; serial %u; %.2f s; wrote %s\n",
			apex, st.sets, st.reused, st.sent, st.calls,
			k.nsec3 ? (k.nsec3p.flags & DNS_NSEC3_FLAG_OPTOUT ? "NSEC3 opt-out"
									  : "NSEC3")
				: "NSEC",
			st.serial, elapsed(&t0), o.out);
	}
out:
	client_close(c);
	dns_zone_free(&in);
	zone_keys_clear(&k);
	zone_engine_free(e);
	return rc;
}
