/* sign_zone.c -- `signet sign-zone`: read a zone file, apply the SOA serial
 * policy, add the key set from signetd, build the NSEC or NSEC3 chain, have
 * signetd sign every authoritative RRset (batches, several calls in flight,
 * reusing unchanged RRSIGs of an old signed zone) and write the signed zone
 * atomically. */
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

#define ZONE_FILE_MAX ((size_t)1 << 30)
#define MAX_RRS_DEFAULT 10000000
#define BATCH_DEFAULT 200
#define BATCH_MIN 16
#define BATCH_MAX 10000
#define INFLIGHT_DEFAULT 6
#define INFLIGHT_MAX 64
#define VALIDITY_DEFAULT (14 * 86400)
#define NSEC3_ITERATIONS_MAX 100
#define ERRORS_SHOWN 20
#define ZSK_TAGS_MAX 16
#define NO_ITEM ((size_t)-1)

enum denial_choice { DENIAL_POLICY = 0, DENIAL_USE_NSEC, DENIAL_USE_NSEC3 };

enum {
	OPT_ZONE = CLIENT_OPT_FIRST_FREE, OPT_IN, OPT_OUT, OPT_NSEC, OPT_NSEC3, OPT_OPT_OUT,
	OPT_SALT, OPT_ITERATIONS, OPT_SERIAL, OPT_BATCH, OPT_INFLIGHT, OPT_INCREMENTAL,
	OPT_REFRESH, OPT_MAX_RRS, OPT_QUIET
};

struct opts {
	const char *zone, *in, *out, *incremental;
	enum denial_choice denial;
	bool opt_out;
	const char *salt;          /* hex, "-" for empty; NULL: the policy's */
	long iterations;           /* -1: the policy's */
	client_serial serial;
	size_t batch;
	unsigned inflight;
	long refresh;              /* seconds; -1: a quarter of the validity */
	size_t max_rrs;
	bool quiet;
	client_flags conn;
};

/* One RRset that gets RRSIGs from signetd (or from the old zone). */
typedef struct item {
	const dns_rrset *set;      /* zone or chain set, not owned */
	dns_rdata *sig;            /* RDATA of its RRSIGs (owner, TTL: set's), owned */
	size_t nsig, capsig;
	bool reused;               /* sig came from the old signed zone */
} item;

/* One batch: items todo[first .. first+count). */
typedef struct job {
	size_t first, count;
} job;

typedef struct run {
	struct opts o;
	dns_zone zone;             /* input, plus the key set and NSEC3PARAM */
	dns_zone old;              /* --incremental, canonical sets */
	bool have_old;
	dns_set_role *roles;       /* per zone set */
	dns_chain chain;
	item *items;
	size_t nitems;
	size_t *item_of;           /* zone set index -> item index, NO_ITEM */
	size_t *todo;              /* items to send */
	size_t ntodo;
	dns_rrset ks_sigs;         /* KSK RRSIGs of the key set */
	size_t ks_dnskey;          /* zone index of the DNSKEY set */
	uint8_t alg;
	uint16_t zsk_tags[ZSK_TAGS_MAX];
	size_t nzsk;
	dns_nsec3_params nsec3;
	bool use_nsec3;
	uint32_t validity;
	uint32_t serial;
	size_t calls, signed_sets, failed;
	int fail_rc;               /* exit status of the first failed item */
	struct timespec t0;
	struct timespec last_progress;
	bool progress;
} run;

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
		{"zone", 1, NULL, OPT_ZONE}, {"in", 1, NULL, OPT_IN}, {"out", 1, NULL, OPT_OUT},
		{"nsec", 0, NULL, OPT_NSEC}, {"nsec3", 0, NULL, OPT_NSEC3},
		{"opt-out", 0, NULL, OPT_OPT_OUT}, {"salt", 1, NULL, OPT_SALT},
		{"iterations", 1, NULL, OPT_ITERATIONS}, {"serial", 1, NULL, OPT_SERIAL},
		{"batch", 1, NULL, OPT_BATCH}, {"inflight", 1, NULL, OPT_INFLIGHT},
		{"incremental", 1, NULL, OPT_INCREMENTAL}, {"refresh", 1, NULL, OPT_REFRESH},
		{"max-rrs", 1, NULL, OPT_MAX_RRS}, {"quiet", 0, NULL, OPT_QUIET},
		{"help", 0, NULL, 'h'}, CLIENT_CONN_LONGOPTS, {NULL, 0, NULL, 0},
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
		case OPT_ZONE: o->zone = optarg; break;
		case OPT_IN: o->in = optarg; break;
		case OPT_OUT: o->out = optarg; break;
		case OPT_NSEC: o->denial = DENIAL_USE_NSEC; break;
		case OPT_NSEC3: o->denial = DENIAL_USE_NSEC3; break;
		case OPT_OPT_OUT: o->opt_out = true; nsec3_detail = true; break;
		case OPT_SALT: o->salt = optarg; nsec3_detail = true; break;
		case OPT_ITERATIONS:
			if (!parse_size(optarg, 0, NSEC3_ITERATIONS_MAX, &v)) {
				fprintf(stderr, "sign-zone: --iterations: 0..%d\n", NSEC3_ITERATIONS_MAX);
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
				fprintf(stderr, "sign-zone: --serial: keep, increment, unixtime"
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
		case OPT_INCREMENTAL: o->incremental = optarg; break;
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
		case OPT_QUIET: o->quiet = true; break;
		case 'h': usage(stdout); return 1;
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
		fprintf(stderr, "sign-zone: --opt-out, --salt and --iterations are NSEC3 options"
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

/* dns_name_equal, trying the exact octets first: the old and the new zone
 * spell their names alike, and this runs for every set of both. */
static bool name_eq(const dns_name *a, const dns_name *b)
{
	return a->len == b->len && a->len != 0 &&
	       (memcmp(a->wire, b->wire, a->len) == 0 || dns_name_equal(a, b));
}

static dns_rrset *find_set(dns_zone *z, const dns_name *owner, uint16_t type)
{
	/* Sets from dns_zone_parse are sorted by owner (canonical) and type. */
	size_t lo = 0, hi = z->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dns_name_compare(&z->sets[mid].owner, owner);
		if (c == 0)
			c = z->sets[mid].type < type ? -1 : z->sets[mid].type > type ? 1 : 0;
		if (c == 0)
			return &z->sets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* find_set, first looking at the few sets from *hint on, where the set
 * after the one found last usually is (items and old zone both come in
 * canonical order); *hint moves past the set found. */
static dns_rrset *find_set_near(dns_zone *z, const dns_name *owner, uint16_t type,
				size_t *hint)
{
	for (size_t i = *hint; i < z->count && i < *hint + 4; i++)
		if (z->sets[i].type == type && name_eq(&z->sets[i].owner, owner)) {
			*hint = i + 1;
			return &z->sets[i];
		}
	dns_rrset *s = find_set(z, owner, type);
	if (s)
		*hint = (size_t)(s - z->sets) + 1;
	return s;
}

/* The RRSIG set at the owner of set, a set of z: sets of one owner are
 * neighbours, ordered by type. */
static dns_rrset *owner_rrsigs(dns_zone *z, dns_rrset *set)
{
	size_t i = (size_t)(set - z->sets);
	if (set->type == DNS_T_RRSIG)
		return set;
	if (set->type < DNS_T_RRSIG) {
		for (size_t k = i + 1; k < z->count && z->sets[k].type <= DNS_T_RRSIG &&
				       name_eq(&z->sets[k].owner, &set->owner); k++)
			if (z->sets[k].type == DNS_T_RRSIG)
				return &z->sets[k];
		return NULL;
	}
	for (size_t k = i; k-- > 0 && z->sets[k].type >= DNS_T_RRSIG &&
			   name_eq(&z->sets[k].owner, &set->owner);)
		if (z->sets[k].type == DNS_T_RRSIG)
			return &z->sets[k];
	return NULL;
}

static signet_err zone_append(dns_zone *z, const dns_rrset *set)
{
	if (z->count == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 16;
		dns_rrset *s = realloc(z->sets, cap * sizeof(*s));
		if (!s)
			return SIGNET_ENOMEM;
		z->sets = s;
		z->cap = cap;
	}
	z->sets[z->count++] = *set;
	return SIGNET_OK;
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
		fprintf(stderr, "sign-zone: note: %zu DNSKEY/CDS/CDNSKEY/RRSIG/NSEC/NSEC3/"
			"NSEC3PARAM RRsets of the input replaced\n", dropped);
}

/* Ask for the key set and fold it and the policy into the run. */
static int get_keyset(run *r, client_conn *c)
{
	client_keyset ks;
	client_status st;
	char why[256];
	signet_err ret = client_get_keyset(c, &r->zone.apex, &st, &ks, why, sizeof(why));
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign-zone: GetKeySet: %s\n", why[0] ? why : signet_strerror(ret));
		client_keyset_free(&ks);
		return why[0] ? SIGNET_EXIT_DATA : SIGNET_EXIT_ERROR;
	}
	if (st.code != 0) {
		client_keyset_free(&ks);
		return client_report("sign-zone", "GetKeySet", &st);
	}
	int rc = SIGNET_EXIT_DATA;
	dns_rrset *sets[3] = {&ks.dnskey, &ks.cds, &ks.cdnskey};
	/* The KSK RRSIGs are the run's from here on. */
	dns_rrset_clear(&r->ks_sigs);
	r->ks_sigs = ks.rrsig;
	dns_rrset_init(&ks.rrsig, &r->zone.apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	if (ks.dnskey.count == 0 || r->ks_sigs.count == 0) {
		fprintf(stderr, "sign-zone: GetKeySet: no DNSKEY RRset or no KSK RRSIG\n");
		goto out;
	}
	const client_policy *p = &ks.policy;
	r->alg = p->algorithm ? (uint8_t)p->algorithm : DNS_ALG_ECDSAP256SHA256;
	r->validity = p->validity ? p->validity : VALIDITY_DEFAULT;
	/* The ZSKs: zone keys of the zone's algorithm without the SEP flag. */
	for (size_t i = 0; i < ks.dnskey.count; i++) {
		const dns_rdata *k = &ks.dnskey.rr[i];
		uint16_t tag;
		if (k->len < 4 || dns_key_tag(k->data, k->len, &tag) != SIGNET_OK)
			continue;
		uint16_t flags = sg_get_u16(k->data);
		if ((flags & DNS_DNSKEY_FLAG_ZONE) && !(flags & DNS_DNSKEY_FLAG_SEP) &&
		    k->data[3] == r->alg && r->nzsk < ZSK_TAGS_MAX)
			r->zsk_tags[r->nzsk++] = tag;
	}
	/* Denial: the command line wins over the policy. */
	r->use_nsec3 = r->o.denial == DENIAL_USE_NSEC3 ||
		       (r->o.denial == DENIAL_POLICY && p->nsec3);
	memset(&r->nsec3, 0, sizeof(r->nsec3));
	r->nsec3.algorithm = 1;
	if (p->nsec3) {
		r->nsec3.iterations = (uint16_t)p->iterations;
		r->nsec3.salt_len = p->salt_len;
		if (p->salt_len)
			memcpy(r->nsec3.salt, p->salt, p->salt_len);
		if (p->opt_out)
			r->nsec3.flags = DNS_NSEC3_FLAG_OPTOUT;
	}
	if (r->o.opt_out)
		r->nsec3.flags = DNS_NSEC3_FLAG_OPTOUT;
	if (r->o.iterations >= 0)
		r->nsec3.iterations = (uint16_t)r->o.iterations;
	if (r->o.salt) {
		sg_buf salt = SG_BUF_INIT;
		if (strcmp(r->o.salt, "-") != 0 &&
		    (sg_hex_decode(r->o.salt, strlen(r->o.salt), &salt) != SIGNET_OK ||
		     salt.len > 255)) {
			sg_buf_free(&salt);
			fprintf(stderr, "sign-zone: --salt: hex, at most 255 octets, or '-'\n");
			rc = SIGNET_EXIT_USAGE;
			goto out;
		}
		r->nsec3.salt_len = (uint8_t)salt.len;
		if (salt.len)
			memcpy(r->nsec3.salt, salt.data, salt.len);
		sg_buf_free(&salt);
	}
	/* The key set joins the zone; the zone owns the sets from here on. */
	for (size_t i = 0; i < 3; i++) {
		if (sets[i]->count == 0)
			continue;
		if (i == 0)
			r->ks_dnskey = r->zone.count;
		if (zone_append(&r->zone, sets[i]) != SIGNET_OK) {
			rc = SIGNET_EXIT_ERROR;
			goto out;
		}
		dns_rrset_init(sets[i], &r->zone.apex, sets[i]->type, DNS_CLASS_IN, 0);
	}
	rc = SIGNET_EXIT_OK;
out:
	client_keyset_free(&ks);
	return rc;
}

/* Apply the serial policy to the SOA's RDATA in place; returns the
 * negative-answer TTL of RFC 9077 through neg_ttl. */
static int apply_serial(run *r, uint32_t *neg_ttl)
{
	dns_rrset *soa = find_set(&r->zone, &r->zone.apex, DNS_T_SOA);
	if (!soa || soa->count != 1 || soa->rr[0].len < 22) {
		fprintf(stderr, "sign-zone: %s: no usable SOA at the apex\n", r->o.in);
		return SIGNET_EXIT_DATA;
	}
	uint8_t *rd = soa->rr[0].data;
	size_t len = soa->rr[0].len;
	uint32_t in = sg_get_u32(rd + len - 20), prev = in;
	if (r->have_old) {
		dns_rrset *old = find_set(&r->old, &r->old.apex, DNS_T_SOA);
		if (old && old->count == 1 && old->rr[0].len >= 22)
			prev = sg_get_u32(old->rr[0].data + old->rr[0].len - 20);
	}
	r->serial = client_serial_next(r->o.serial, in, prev, (int64_t)time(NULL));
	rd[len - 20] = (uint8_t)(r->serial >> 24);
	rd[len - 19] = (uint8_t)(r->serial >> 16);
	rd[len - 18] = (uint8_t)(r->serial >> 8);
	rd[len - 17] = (uint8_t)r->serial;
	uint32_t minimum = sg_get_u32(rd + len - 4);
	*neg_ttl = minimum < soa->ttl ? minimum : soa->ttl;
	return SIGNET_EXIT_OK;
}

/* Roles, the chain and the list of sets that need RRSIGs. */
static int build(run *r, uint32_t neg_ttl)
{
	if (r->use_nsec3) {
		dns_nsec3_params param = r->nsec3;
		param.flags = 0;  /* NSEC3PARAM never carries opt-out (RFC 5155 §4.1.2) */
		sg_buf rd = SG_BUF_INIT;
		dns_rrset s;
		dns_rrset_init(&s, &r->zone.apex, DNS_T_NSEC3PARAM, DNS_CLASS_IN, 0);
		signet_err ret = dns_nsec3param_rdata(&param, &rd);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(&s, rd.data, rd.len);
		if (ret == SIGNET_OK)
			ret = zone_append(&r->zone, &s);
		sg_buf_free(&rd);
		if (ret != SIGNET_OK) {
			dns_rrset_clear(&s);
			return SIGNET_EXIT_ERROR;
		}
	}
	dns_zone *z = &r->zone;
	r->roles = calloc(z->count ? z->count : 1, sizeof(*r->roles));
	r->item_of = malloc((z->count ? z->count : 1) * sizeof(*r->item_of));
	if (!r->roles || !r->item_of)
		return SIGNET_EXIT_ERROR;
	signet_err ret = dns_zone_roles(z, r->roles);
	dns_owner *owners = NULL;
	size_t nowners = 0;
	if (ret == SIGNET_OK)
		ret = dns_zone_owners(z, r->roles, &owners, &nowners);
	if (ret == SIGNET_OK)
		ret = r->use_nsec3
			      ? dns_nsec3_chain(&z->apex, owners, nowners, neg_ttl, &r->nsec3, &r->chain)
			      : dns_nsec_chain(&z->apex, owners, nowners, neg_ttl, &r->chain);
	dns_owners_free(owners, nowners);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign-zone: building the %s chain: %s\n",
			r->use_nsec3 ? "NSEC3" : "NSEC", signet_strerror(ret));
		return ret == SIGNET_EEXIST ? SIGNET_EXIT_DATA : SIGNET_EXIT_ERROR;
	}
	size_t n = r->chain.count;
	for (size_t i = 0; i < z->count; i++)
		n++;
	r->items = calloc(n ? n : 1, sizeof(*r->items));
	r->todo = malloc((n ? n : 1) * sizeof(*r->todo));
	if (!r->items || !r->todo)
		return SIGNET_EXIT_ERROR;
	for (size_t i = 0; i < z->count; i++) {
		const dns_rrset *s = &z->sets[i];
		r->item_of[i] = NO_ITEM;
		/* DNSKEY, CDS and CDNSKEY come signed in the key set. */
		if (r->roles[i] != DNS_SET_SIGN || s->type == DNS_T_DNSKEY ||
		    s->type == DNS_T_CDS || s->type == DNS_T_CDNSKEY)
			continue;
		r->item_of[i] = r->nitems;
		r->items[r->nitems++].set = s;
	}
	for (size_t i = 0; i < r->chain.count; i++)
		r->items[r->nitems++].set = &r->chain.sets[i];
	return SIGNET_EXIT_OK;
}

/* Append d to it's RRSIGs; it owns d.data from here on, unless this fails
 * (SIGNET_ENOMEM). */
static signet_err item_add_sig(item *it, dns_rdata d)
{
	if (it->nsig == it->capsig) {
		size_t cap = it->capsig ? 2 * it->capsig : 2;
		dns_rdata *n = realloc(it->sig, cap * sizeof(*n));
		if (n == NULL)
			return SIGNET_ENOMEM;
		it->sig = n;
		it->capsig = cap;
	}
	it->sig[it->nsig++] = d;
	return SIGNET_OK;
}

static void item_clear(item *it)
{
	for (size_t k = 0; k < it->nsig; k++)
		free(it->sig[k].data);
	free(it->sig);
	it->sig = NULL;
	it->nsig = it->capsig = 0;
}

static bool is_zsk_tag(const run *r, uint16_t tag)
{
	for (size_t i = 0; i < r->nzsk; i++)
		if (r->zsk_tags[i] == tag)
			return true;
	return false;
}

/* True if old holds exactly the RRs of s. old is put into canonical form
 * (in place) only when the two differ octet for octet. */
static bool same_rrset(dns_rrset *old, const dns_rrset *s)
{
	if (old->ttl != s->ttl || old->count > s->count)
		return false;
	/* Octet for octet equal: then both have one canonical form, and
	 * neither needs to be made canonical (the common case of a re-sign,
	 * whose old and new zone come from the same reader). */
	bool equal = old->count == s->count;
	for (size_t i = 0; equal && i < s->count; i++)
		equal = s->rr[i].len == old->rr[i].len &&
			(s->rr[i].len == 0 || memcmp(s->rr[i].data, old->rr[i].data, s->rr[i].len) == 0);
	if (equal)
		return true;
	/* A set that does not canonicalize is just not reused: it gets signed. */
	dns_rrset c;
	if (dns_rrset_canonicalize(old) != SIGNET_OK || dns_rrset_copy(&c, s) != SIGNET_OK)
		return false;
	bool same = dns_rrset_canonicalize(&c) == SIGNET_OK && c.count == old->count;
	for (size_t i = 0; same && i < c.count; i++)
		same = c.rr[i].len == old->rr[i].len &&
		       (c.rr[i].len == 0 || memcmp(c.rr[i].data, old->rr[i].data, c.rr[i].len) == 0);
	dns_rrset_clear(&c);
	return same;
}

/* True if the old RRSIG RDATA d still serves set s: covers it, made by one
 * of the ZSKs with the zone as signer, and valid from now to past now +
 * margin. Read in place (the old zone's RDATA was checked when read):
 * dns_rrsig_from_rdata would copy the signature for each of them. */
static bool old_sig_fits(const run *r, const dns_rrset *s, unsigned labels, const uint8_t *d,
			 size_t len, uint32_t now, uint32_t margin)
{
	const dns_name *apex = &r->zone.apex;
	if (d == NULL || len < 18 + (size_t)apex->len + 1 ||
	    len - 18 - apex->len > DNS_SIG_MAX)
		return false;
	/* The signer is the apex exactly when its octets are the apex's (the
	 * length octets included), letters compared without case. */
	for (size_t i = 0; i < apex->len; i++) {
		uint8_t a = d[18 + i], b = apex->wire[i];
		if (a != b && ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' || (a | 0x20) > 'z'))
			return false;
	}
	return sg_get_u16(d) == s->type && d[2] == r->alg && d[3] == labels &&
	       sg_get_u32(d + 4) == s->ttl && is_zsk_tag(r, sg_get_u16(d + 16)) &&
	       dns_serial_compare(sg_get_u32(d + 12), now) != 1 &&
	       dns_serial_compare(sg_get_u32(d + 8), now + margin) == 1;
}

/* Keep the old RRSIGs of unchanged sets; the rest go into todo. The RDATA
 * of a kept RRSIG moves from the old zone to the item, not copied. */
static void plan(run *r)
{
	uint32_t now = (uint32_t)time(NULL);
	uint32_t margin = r->o.refresh >= 0 ? (uint32_t)r->o.refresh : r->validity / 4;
	size_t hint = 0;
	for (size_t i = 0; i < r->nitems; i++) {
		item *it = &r->items[i];
		const dns_rrset *s = it->set;
		dns_rrset *old = r->have_old ? find_set_near(&r->old, &s->owner, s->type, &hint)
					     : NULL;
		dns_rrset *osig = old ? owner_rrsigs(&r->old, old) : NULL;
		if (osig && same_rrset(old, s)) {
			unsigned labels = dns_name_rrsig_labels(&s->owner);
			for (size_t k = 0; k < osig->count; k++) {
				dns_rdata *od = &osig->rr[k];
				if (!old_sig_fits(r, s, labels, od->data, od->len, now, margin))
					continue;
				if (item_add_sig(it, *od) != SIGNET_OK) {
					item_clear(it);
					break;
				}
				*od = (dns_rdata){0, NULL};
			}
			it->reused = it->nsig > 0;
		}
		if (!it->reused)
			r->todo[r->ntodo++] = i;
	}
}

/* Pack the items of job into a SignRequest; the RDATA and owners are
 * referenced, not copied, until the one copy that packing makes. */
static signet_err pack_job(const run *r, const job *j, uint8_t **out, size_t *outlen)
{
	const dns_rrset **sets = calloc(j->count ? j->count : 1, sizeof(*sets));
	if (!sets)
		return SIGNET_ENOMEM;
	for (size_t k = 0; k < j->count; k++)
		sets[k] = r->items[r->todo[j->first + k]].set;
	signet_err ret = client_sign_request_pack(&r->zone.apex, sets, j->count, out, outlen);
	free(sets);
	return ret;
}

static void item_failed(run *r, const item *it, int rc, const char *why)
{
	if (r->failed++ < ERRORS_SHOWN) {
		char what[DNS_NAME_STR_MAX + 32];
		describe(it->set, what, sizeof(what));
		fprintf(stderr, "%ssign-zone: %s: %s\n", r->progress ? "\n" : "", what, why);
	}
	if (!r->fail_rc)
		r->fail_rc = rc;
}

/* Take the RRSIGs of one answered batch. */
static int take_answer(run *r, const job *j, const sg_buf *resp)
{
	client_sign_answer a;
	signet_err ret = client_sign_answer_unpack(resp->data, resp->len, &a);
	if (ret != SIGNET_OK || a.count != j->count) {
		fprintf(stderr, "sign-zone: SignRRsets: answer %s\n",
			ret == SIGNET_OK ? "with the wrong number of results" : "does not unpack");
		client_sign_answer_free(&a);
		return SIGNET_EXIT_ERROR;
	}
	for (size_t k = 0; k < a.count; k++) {
		const client_sign_item *res = &a.items[k];
		item *it = &r->items[r->todo[j->first + k]];
		if (res->index != k) {
			item_failed(r, it, SIGNET_EXIT_ERROR, "answer out of order");
			continue;
		}
		if (res->status == CLIENT_ITEM_FAILED) {
			char why[600];
			snprintf(why, sizeof(why), "%s: %s", client_status_name(res->code),
				 res->message);
			item_failed(r, it, client_exit_for_status(res->code), why);
			continue;
		}
		if (res->status != CLIENT_ITEM_SIGNED || res->nrrsig == 0) {
			item_failed(r, it, SIGNET_EXIT_ERROR, "signetd did not sign it");
			continue;
		}
		for (size_t i = 0; i < res->nrrsig; i++) {
			dns_rrsig sig;
			if (dns_rrsig_from_rdata(&sig, res->rrsig[i].data, res->rrsig[i].len) !=
				    SIGNET_OK ||
			    sig.type_covered != it->set->type) {
				item_failed(r, it, SIGNET_EXIT_ERROR, "malformed RRSIG in the answer");
				break;
			}
			dns_rdata d = {res->rrsig[i].len, malloc(res->rrsig[i].len)};
			if (d.data != NULL)
				memcpy(d.data, res->rrsig[i].data, d.len);
			if (d.data == NULL || item_add_sig(it, d) != SIGNET_OK) {
				free(d.data);
				client_sign_answer_free(&a);
				return SIGNET_EXIT_ERROR;
			}
		}
		r->signed_sets++;
	}
	client_sign_answer_free(&a);
	return SIGNET_EXIT_OK;
}

static void show_progress(run *r, bool last)
{
	if (!r->progress)
		return;
	if (!last && elapsed(&r->last_progress) < 0.2)
		return;
	clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
	fprintf(stderr, "\rsign-zone: %zu/%zu RRsets signed%s", r->signed_sets, r->ntodo,
		last ? "\n" : "");
}

/* Send todo in batches, keeping up to inflight calls open. */
static int sign_all(run *r, client_conn *c)
{
	if (!r->ntodo)
		return SIGNET_EXIT_OK;
	/* Small zones: smaller batches, so every call in flight has work. */
	size_t batch = (r->ntodo + r->o.inflight - 1) / r->o.inflight;
	if (batch < BATCH_MIN)
		batch = BATCH_MIN;
	if (batch > r->o.batch)
		batch = r->o.batch;
	size_t njobs = (r->ntodo + batch - 1) / batch;
	job *jobs = calloc(njobs, sizeof(*jobs));
	if (!jobs)
		return SIGNET_EXIT_ERROR;
	int rc = SIGNET_EXIT_OK;
	size_t next = 0;
	sg_buf resp = SG_BUF_INIT;
	while (rc == SIGNET_EXIT_OK && (next < njobs || client_inflight(c))) {
		while (rc == SIGNET_EXIT_OK && next < njobs && client_inflight(c) < r->o.inflight) {
			job *j = &jobs[next];
			j->first = next * batch;
			j->count = r->ntodo - j->first < batch ? r->ntodo - j->first : batch;
			uint8_t *buf = NULL;
			size_t len = 0;
			if (pack_job(r, j, &buf, &len) != SIGNET_OK ||
			    client_start(c, CLIENT_SVC "SignRRsets", buf, len, j) != SIGNET_OK) {
				fprintf(stderr, "sign-zone: cannot start a SignRRsets call\n");
				rc = SIGNET_EXIT_ERROR;
				break;
			}
			r->calls++;
			next++;
		}
		if (rc != SIGNET_EXIT_OK)
			break;
		void *tag = NULL;
		client_status st;
		sg_buf_reset(&resp);
		signet_err ret = client_next(c, &tag, &st, &resp);
		if (ret != SIGNET_OK) {
			fprintf(stderr, "sign-zone: SignRRsets: %s\n", signet_strerror(ret));
			rc = SIGNET_EXIT_ERROR;
		} else if (st.code != 0) {
			if (r->progress)
				fputc('\n', stderr);
			rc = client_report("sign-zone", "SignRRsets", &st);
		} else {
			rc = take_answer(r, tag, &resp);
			show_progress(r, false);
		}
	}
	show_progress(r, true);
	sg_buf_free(&resp);
	free(jobs);
	return rc;
}

static signet_err write_set(sg_buf *out, const dns_rrset *s)
{
	return s->count ? dns_rrset_to_text(s, out) : SIGNET_OK;
}

/* The RRSIGs of it as an RRset (a view: it still owns the RDATA). */
static signet_err write_sigs(sg_buf *out, const item *it)
{
	if (it->nsig == 0)
		return SIGNET_OK;
	dns_rrset v;
	dns_rrset_init(&v, &it->set->owner, DNS_T_RRSIG, DNS_CLASS_IN, it->set->ttl);
	v.rr = it->sig;
	v.count = v.cap = it->nsig;
	return dns_rrset_to_text(&v, out);
}

/* Octets of a set's text, an upper bound but for rare RDATA (NSEC type
 * lists with many unnamed types): owner, TTL, class and type in 48, RDATA
 * at most 4 characters an octet. */
static size_t set_estimate(const dns_rrset *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->count; i++)
		n += s->owner.len + 48 + 4u * s->rr[i].len;
	return n;
}

/* The size write_zone reserves; a miss only costs a realloc. */
static size_t text_estimate(const run *r)
{
	size_t n = set_estimate(&r->ks_sigs);
	for (size_t i = 0; i < r->zone.count; i++)
		n += set_estimate(&r->zone.sets[i]);
	for (size_t i = 0; i < r->nitems; i++) {
		for (size_t k = 0; k < r->items[i].nsig; k++)
			n += r->items[i].set->owner.len + 48 + 4u * r->items[i].sig[k].len;
		if (r->items[i].set >= r->chain.sets &&
		    r->items[i].set < r->chain.sets + r->chain.count)
			n += set_estimate(r->items[i].set);
	}
	return n;
}

/* The signed zone in presentation form: the SOA first, every set followed
 * by its RRSIGs, the key set's after DNSKEY, then the chain. */
static int write_zone(run *r)
{
	sg_buf out = SG_BUF_INIT;
	dns_zone *z = &r->zone;
	/* One buffer, sized once: growing it by doubling copied it again and
	 * again and touched twice the memory. */
	signet_err ret = sg_buf_reserve(&out, text_estimate(r));
	size_t soa = z->count;
	for (size_t i = 0; i < z->count; i++)
		if (z->sets[i].type == DNS_T_SOA && dns_name_equal(&z->sets[i].owner, &z->apex))
			soa = i;
	for (size_t pass = 0; pass < 2 && ret == SIGNET_OK; pass++)
		for (size_t i = 0; i < z->count && ret == SIGNET_OK; i++) {
			if ((pass == 0) != (i == soa) || r->roles[i] == DNS_SET_OUTSIDE)
				continue;
			ret = write_set(&out, &z->sets[i]);
			if (ret == SIGNET_OK && r->item_of[i] != NO_ITEM)
				ret = write_sigs(&out, &r->items[r->item_of[i]]);
			if (ret == SIGNET_OK && i == r->ks_dnskey)
				ret = write_set(&out, &r->ks_sigs);
		}
	for (size_t i = 0; i < r->nitems && ret == SIGNET_OK; i++) {
		if (r->items[i].set < r->chain.sets ||
		    r->items[i].set >= r->chain.sets + r->chain.count)
			continue;
		ret = write_set(&out, r->items[i].set);
		if (ret == SIGNET_OK)
			ret = write_sigs(&out, &r->items[i]);
	}
	if (ret == SIGNET_OK)
		ret = sg_file_write_atomic(r->o.out, out.data, out.len, 0644);
	sg_buf_free(&out);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign-zone: %s: %s\n", r->o.out, signet_strerror(ret));
		return SIGNET_EXIT_ERROR;
	}
	return SIGNET_EXIT_OK;
}

static void run_free(run *r)
{
	for (size_t i = 0; i < r->nitems; i++)
		item_clear(&r->items[i]);
	free(r->items);
	free(r->todo);
	free(r->item_of);
	free(r->roles);
	dns_chain_free(&r->chain);
	dns_rrset_clear(&r->ks_sigs);
	dns_zone_free(&r->zone);
	dns_zone_free(&r->old);
}

int signet_cmd_sign_zone(int argc, char **argv)
{
	run r;
	memset(&r, 0, sizeof(r));
	int rc = parse_opts(argc, argv, &r.o);
	if (rc != 0)
		return rc > 0 ? SIGNET_EXIT_OK : SIGNET_EXIT_USAGE;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	/* A zone is hundreds of MB of short-lived blocks: by default glibc maps
	 * every large one afresh and gives freed memory back to the kernel, so
	 * the old zone's memory, freed after planning, is faulted in again for
	 * the output. Keeping it in the heap cut the 1% re-sign of a
	 * 100,000-name zone by about 0.3 s of system time (docs/BENCHMARKS.md),
	 * for a higher peak RSS. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_TOP_PAD, 64 * 1024 * 1024);
	r.progress = !r.o.quiet && isatty(STDERR_FILENO);
	r.ks_dnskey = NO_ITEM;
	dns_rrset_init(&r.ks_sigs, &r.zone.apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	dns_name origin;
	if (dns_name_from_str(&origin, r.o.zone) != SIGNET_OK) {
		fprintf(stderr, "sign-zone: --zone: '%s' is not a domain name\n", r.o.zone);
		return SIGNET_EXIT_USAGE;
	}
	client_conn *c = NULL;
	uint32_t neg_ttl = 0;
	/* The old signed zone, the larger, is read first: what reading takes
	 * on the way is then not on top of the new zone (a lower peak of
	 * memory, fewer page faults). */
	if (r.o.incremental) {
		rc = load_zone(r.o.incremental, &origin, r.o.max_rrs, &r.old);
		if (rc != SIGNET_EXIT_OK)
			goto out;
		r.have_old = true;
	}
	rc = load_zone(r.o.in, &origin, r.o.max_rrs, &r.zone);
	if (rc != SIGNET_EXIT_OK)
		goto out;
	strip_dnssec(&r.zone, r.o.quiet);
	rc = client_connect("sign-zone", &r.o.conn, &c);
	if (rc == SIGNET_EXIT_OK)
		rc = get_keyset(&r, c);
	if (rc == SIGNET_EXIT_OK)
		rc = apply_serial(&r, &neg_ttl);
	if (rc == SIGNET_EXIT_OK)
		rc = build(&r, neg_ttl);
	if (rc != SIGNET_EXIT_OK)
		goto out;
	plan(&r);
	/* What plan kept has moved out of the old zone; the rest is not needed. */
	dns_zone_free(&r.old);
	r.have_old = false;
	rc = sign_all(&r, c);
	if (rc == SIGNET_EXIT_OK && r.failed) {
		fprintf(stderr, "sign-zone: %zu RRsets not signed; %s not written\n", r.failed,
			r.o.out);
		rc = r.fail_rc ? r.fail_rc : SIGNET_EXIT_ERROR;
	}
	if (rc == SIGNET_EXIT_OK)
		rc = write_zone(&r);
	if (rc == SIGNET_EXIT_OK && !r.o.quiet) {
		char apex[DNS_NAME_STR_MAX];
		if (dns_name_to_str(&r.zone.apex, apex, sizeof(apex)) != SIGNET_OK)
			snprintf(apex, sizeof(apex), "?");
		fprintf(stderr, "sign-zone: %s: %zu RRsets with RRSIGs: %zu reused, %zu sent in"
			" %zu calls; %s; serial %u; %.2f s; wrote %s\n", apex, r.nitems,
			r.nitems - r.ntodo, r.ntodo, r.calls,
			r.use_nsec3 ? (r.nsec3.flags & DNS_NSEC3_FLAG_OPTOUT ? "NSEC3 opt-out"
									     : "NSEC3")
				    : "NSEC",
			r.serial, elapsed(&r.t0), r.o.out);
	}
out:
	client_close(c);
	run_free(&r);
	return rc;
}
