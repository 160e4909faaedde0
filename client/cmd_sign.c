/* cmd_sign.c -- `signet sign`: RRs in presentation form on standard input,
 * grouped into RRsets and signed by signetd; the RRSIGs go to standard
 * output in presentation form. The low-latency path: one call per batch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "dnssec/dnssec.h"

#define INPUT_MAX (16 * 1024 * 1024)
#define LINE_MAX_OCTETS 65536
#define BATCH_DEFAULT 500
#define BATCH_MAX 10000

enum { OPT_ZONE = CLIENT_OPT_FIRST_FREE, OPT_BATCH };

/* One RR read from the input; its RDATA lives in the shared buffer. */
typedef struct in_rr {
	dns_name owner;
	uint16_t type;
	uint32_t ttl;
	size_t off, len; /* RDATA in the buffer */
	size_t seq;      /* input order, to keep sorting stable */
	unsigned line;
} in_rr;

static void usage(FILE *f)
{
	fprintf(f, "usage: signet sign --zone ZONE [--batch N] < RRs\n" CLIENT_CONN_USAGE
		   "Reads RRs in presentation form, one per line (names relative to ZONE\n"
		   "unless they end with a dot; ';' starts a comment), groups them into\n"
		   "RRsets and prints one RRSIG line per signature on standard output.\n"
		   "Exit: 0 ok, 2 usage, 3 error, 4 connection, 5 refused, 6 invalid data.\n");
}

static int cmp_rr(const void *pa, const void *pb)
{
	const in_rr *a = pa, *b = pb;
	int c = dns_name_compare(&a->owner, &b->owner);
	if (c)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static signet_err read_stdin(sg_buf *in)
{
	in->limit = INPUT_MAX;
	uint8_t chunk[65536];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0)
			return SIGNET_EIO;
		signet_err ret = sg_buf_append(in, chunk, (size_t)n);
		if (ret != SIGNET_OK)
			return ret;
	}
	return sg_buf_put_u8(in, 0);
}

/* Parse every line into rrs (allocated) and rdata. */
static int parse_input(const sg_buf *in, const dns_name *origin, in_rr **out, size_t *n,
		       sg_buf *rdata)
{
	size_t cap = 0;
	in_rr *rrs = NULL;
	unsigned lineno = 0;
	char *text = (char *)in->data;
	size_t textlen = in->len - 1;
	if (memchr(text, 0, textlen)) {
		fprintf(stderr, "sign: input contains a NUL octet\n");
		return SIGNET_EXIT_DATA;
	}
	for (char *line = text; line && *line;) {
		lineno++;
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *next = nl ? nl + 1 : NULL;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > LINE_MAX_OCTETS) {
			fprintf(stderr, "sign: stdin:%u: line longer than %d octets\n", lineno,
				LINE_MAX_OCTETS);
			free(rrs);
			return SIGNET_EXIT_DATA;
		}
		size_t skip = strspn(line, " \t");
		if (line[skip] == '\0' || line[skip] == ';') {
			line = next;
			continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			in_rr *m = realloc(rrs, cap * sizeof(*m));
			if (!m) {
				free(rrs);
				return SIGNET_EXIT_ERROR;
			}
			rrs = m;
		}
		in_rr *rr = &rrs[*n];
		uint16_t rclass = 0;
		rr->off = rdata->len;
		signet_err ret = dns_rr_from_text(line, origin, &rr->owner, &rr->type, &rclass,
						  &rr->ttl, rdata);
		if (ret == SIGNET_OK && rclass != DNS_CLASS_IN)
			ret = SIGNET_EUNSUPPORTED;
		if (ret != SIGNET_OK) {
			fprintf(stderr, "sign: stdin:%u: %s%s\n", lineno, signet_strerror(ret),
				ret == SIGNET_EUNSUPPORTED ? " (class IN only)" : "");
			free(rrs);
			return SIGNET_EXIT_DATA;
		}
		rr->len = rdata->len - rr->off;
		rr->seq = *n;
		rr->line = lineno;
		(*n)++;
		line = next;
	}
	*out = rrs;
	return SIGNET_EXIT_OK;
}

/* Group sorted RRs into sets: sets[k] covers RRs [start[k], start[k+1]). */
static int make_sets(in_rr *rrs, size_t n, const sg_buf *rdata, dns_rrset **out, size_t *nsets)
{
	qsort(rrs, n, sizeof(*rrs), cmp_rr);
	dns_rrset *sets = calloc(n ? n : 1, sizeof(*sets));
	if (!sets)
		return SIGNET_EXIT_ERROR;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || rrs[i - 1].type != rrs[i].type ||
		    !dns_name_equal(&rrs[i - 1].owner, &rrs[i].owner))
			dns_rrset_init(&sets[k++], &rrs[i].owner, rrs[i].type, DNS_CLASS_IN,
				       rrs[i].ttl);
		dns_rrset *s = &sets[k - 1];
		/* RFC 2181 §5.2: one TTL per set; take the lowest as zone loaders do. */
		if (rrs[i].ttl < s->ttl)
			s->ttl = rrs[i].ttl;
		if (dns_rrset_add(s, rdata->data + rrs[i].off, rrs[i].len) != SIGNET_OK) {
			for (size_t j = 0; j < k; j++)
				dns_rrset_clear(&sets[j]);
			free(sets);
			return SIGNET_EXIT_ERROR;
		}
	}
	*out = sets;
	*nsets = k;
	return SIGNET_EXIT_OK;
}

/* Sign sets[0..n) in one call and print the RRSIGs. */
static int sign_batch(client_conn *c, const dns_name *zone, const dns_rrset *sets, size_t n,
		      size_t *failed)
{
	const dns_rrset **sp = calloc(n ? n : 1, sizeof(*sp));
	int rc = SIGNET_EXIT_ERROR;
	uint8_t *req = NULL;
	size_t len = 0;
	sg_buf text = SG_BUF_INIT, resp = SG_BUF_INIT;
	client_sign_answer a = {0};
	if (!sp)
		goto out;
	for (size_t i = 0; i < n; i++)
		sp[i] = &sets[i];
	if (client_sign_request_pack(zone, sp, n, &req, &len) != SIGNET_OK)
		goto out;
	client_status st;
	signet_err ret = client_call(c, CLIENT_SVC "SignRRsets", req, len, &st, &resp);
	if (ret == SIGNET_OK && st.code == 0)
		ret = client_sign_answer_unpack(resp.data, resp.len, &a);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign: SignRRsets: %s\n", signet_strerror(ret));
		goto out;
	}
	if (st.code != 0) {
		rc = client_report("sign", "SignRRsets", &st);
		goto out;
	}
	if (a.count != n) {
		fprintf(stderr, "sign: SignRRsets: %zu results for %zu RRsets\n", a.count, n);
		goto out;
	}
	rc = SIGNET_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		const client_sign_item *res = &a.items[i];
		char owner[DNS_NAME_STR_MAX];
		if (dns_name_to_str(&sets[i].owner, owner, sizeof(owner)) != SIGNET_OK)
			snprintf(owner, sizeof(owner), "?");
		if (res->status == CLIENT_ITEM_NOT_SIGNED) {
			fprintf(stderr, "sign: %s type %u: not signed (a delegation)\n", owner,
				sets[i].type);
			continue;
		}
		if (res->status != CLIENT_ITEM_SIGNED) {
			fprintf(stderr, "sign: %s type %u: %s: %s\n", owner, sets[i].type,
				client_status_name(res->code), res->message);
			if (rc == SIGNET_EXIT_OK)
				rc = client_exit_for_status(res->code);
			(*failed)++;
			continue;
		}
		for (size_t k = 0; k < res->nrrsig; k++) {
			sg_buf_reset(&text);
			if (dns_rr_to_text(&sets[i].owner, DNS_T_RRSIG, DNS_CLASS_IN, sets[i].ttl,
					   res->rrsig[k].data, res->rrsig[k].len,
					   &text) != SIGNET_OK) {
				fprintf(stderr, "sign: %s: malformed RRSIG in the answer\n", owner);
				rc = SIGNET_EXIT_ERROR;
				continue;
			}
			printf("%s\n", (const char *)text.data);
		}
	}
out:
	sg_buf_free(&text);
	sg_buf_free(&resp);
	client_sign_answer_free(&a);
	free(req);
	free(sp);
	return rc;
}

int signet_cmd_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"zone", 1, NULL, OPT_ZONE}, {"batch", 1, NULL, OPT_BATCH},
		{"help", 0, NULL, 'h'},      CLIENT_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	client_flags flags;
	memset(&flags, 0, sizeof(flags));
	const char *zone = NULL;
	size_t batch = BATCH_DEFAULT;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_ZONE) {
			zone = optarg;
		} else if (c == OPT_BATCH) {
			char *end = NULL;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || optarg[0] == '-' || v < 1 || v > BATCH_MAX) {
				fprintf(stderr, "sign: --batch: 1..%d\n", BATCH_MAX);
				return SIGNET_EXIT_USAGE;
			}
			batch = v;
		} else if (c == 'h') {
			usage(stdout);
			return SIGNET_EXIT_OK;
		} else if (!client_flags_take(&flags, c, optarg)) {
			usage(stderr);
			return SIGNET_EXIT_USAGE;
		}
	}
	dns_name origin;
	if (!zone || optind != argc || dns_name_from_str(&origin, zone) != SIGNET_OK) {
		fprintf(stderr, "sign: --zone ZONE (a domain name) is required, nothing else\n");
		return SIGNET_EXIT_USAGE;
	}
	sg_buf in = SG_BUF_INIT, rdata = SG_BUF_INIT;
	in_rr *rrs = NULL;
	size_t nrrs = 0, nsets = 0, failed = 0;
	int failed_rc = 0;
	dns_rrset *sets = NULL;
	client_conn *conn = NULL;
	signet_err ret = read_stdin(&in);
	int rc = SIGNET_EXIT_OK;
	if (ret != SIGNET_OK) {
		fprintf(stderr, "sign: standard input: %s%s\n", signet_strerror(ret),
			ret == SIGNET_ERANGE ? " (at most 16 MiB)" : "");
		rc = ret == SIGNET_ERANGE ? SIGNET_EXIT_DATA : SIGNET_EXIT_ERROR;
		goto out;
	}
	rc = parse_input(&in, &origin, &rrs, &nrrs, &rdata);
	if (rc == SIGNET_EXIT_OK && nrrs == 0) {
		fprintf(stderr, "sign: no RRs on standard input\n");
		rc = SIGNET_EXIT_DATA;
	}
	if (rc == SIGNET_EXIT_OK)
		rc = make_sets(rrs, nrrs, &rdata, &sets, &nsets);
	if (rc == SIGNET_EXIT_OK)
		rc = client_connect("sign", &flags, &conn);
	/* Items that fail do not stop the other batches; a failed call does. */
	for (size_t i = 0; rc == SIGNET_EXIT_OK && i < nsets; i += batch) {
		size_t n = nsets - i < batch ? nsets - i : batch, before = failed;
		int brc = sign_batch(conn, &origin, sets + i, n, &failed);
		if (brc != SIGNET_EXIT_OK && failed == before) {
			rc = brc;
			break;
		}
		if (brc != SIGNET_EXIT_OK && !failed_rc)
			failed_rc = brc;
	}
	if (rc == SIGNET_EXIT_OK && failed_rc)
		rc = failed_rc;
	fflush(stdout);
out:
	client_close(conn);
	for (size_t i = 0; i < nsets; i++)
		dns_rrset_clear(&sets[i]);
	free(sets);
	free(rrs);
	sg_buf_free(&in);
	sg_buf_free(&rdata);
	return rc;
}
