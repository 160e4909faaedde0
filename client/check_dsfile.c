/* check_dsfile.c -- the DS RRs of `signet check --ds FILE`, from any of the
 * files operators have: signet-ceremony's export-ds (DNSKEY, DS, CDS and
 * CDNSKEY lines with the approvals as comments), BIND's dsset- files and
 * dnssec-dsfromkey output, ldns's K*.ds, and `dig DS` output with its
 * comments, RRSIGs and parenthesised multi-line records. Only DS RRs of the
 * zone count; every other record is ignored and said once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/check_internal.h"

#define DSFILE_MAX (1024 * 1024) /* octets read from the file */
#define RECORD_MAX 8192          /* octets of one record, lines joined */
#define BAD_LINES_MAX 5          /* unreadable records listed */

/* What was ignored, by kind, for the one summary line. */
struct ignored {
	unsigned dnskey, cds, cdnskey, rrsig, other_owner, other;
};

/* Reading state: the record being joined across parentheses. */
struct reader {
	check_ctx *c;
	char rec[RECORD_MAX];
	size_t len;
	int depth;                    /* open parentheses */
	unsigned first_line;          /* where the record began */
	dns_name origin;              /* $ORIGIN, the zone until changed */
	char owner[DNS_NAME_STR_MAX]; /* the last owner, for lines that start blank */
	unsigned bad;
	struct ignored ign;
	dns_rrset *out;
};

static void bad(struct reader *rd, unsigned line, const char *why)
{
	if (rd->bad++ < BAD_LINES_MAX)
		check_report_add(rd->c->r, CHECK_UNKNOWN, "ds", "%s line %u: %s", rd->c->o->ds_file,
				 line, why);
}

/* Append one physical line to the record, comments (outside quotes) and
 * parentheses removed; false when the record grows too long. */
static bool take_line(struct reader *rd, const char *p, size_t n)
{
	bool quoted = false;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (ch == '\\' && i + 1 < n) {
			if (rd->len + 2 >= RECORD_MAX)
				return false;
			rd->rec[rd->len++] = ch;
			rd->rec[rd->len++] = p[++i];
			continue;
		}
		if (ch == '"')
			quoted = !quoted;
		if (!quoted && ch == ';')
			break;
		if (!quoted && (ch == '(' || ch == ')')) {
			rd->depth += ch == '(' ? 1 : -1;
			ch = ' ';
		}
		if (ch == '\r' || ch == '\t')
			ch = ' ';
		if (rd->len + 1 >= RECORD_MAX)
			return false;
		rd->rec[rd->len++] = ch;
	}
	if (rd->len + 1 >= RECORD_MAX)
		return false;
	rd->rec[rd->len++] = ' ';
	rd->rec[rd->len] = '\0';
	return true;
}

/* One whole record: a directive, a DS of the zone, or something ignored. */
static void take_record(struct reader *rd)
{
	check_ctx *c = rd->c;
	char *p = rd->rec;
	size_t n = rd->len;
	while (n && p[n - 1] == ' ')
		p[--n] = '\0';
	bool blank_owner = n && p[0] == ' ';
	p += strspn(p, " ");
	if (!*p)
		return;
	if (*p == '$') {
		char word[16] = "", arg[DNS_NAME_STR_MAX] = "";
		if (sscanf(p, "%15s %1009s", word, arg) < 1)
			return;
		if (strcmp(word, "$ORIGIN") == 0) {
			if (dns_name_from_str(&rd->origin, arg) != SIGNET_OK)
				bad(rd, rd->first_line, "$ORIGIN with no domain name");
		} else if (strcmp(word, "$TTL") != 0) {
			bad(rd, rd->first_line, "directive not understood here");
		}
		return;
	}
	char line[RECORD_MAX + DNS_NAME_STR_MAX + 2];
	if (blank_owner) {
		if (!rd->owner[0]) {
			bad(rd, rd->first_line, "a record without an owner");
			return;
		}
		snprintf(line, sizeof(line), "%s %s", rd->owner, p);
	} else {
		snprintf(line, sizeof(line), "%s", p);
	}
	dns_name owner;
	uint16_t type, rclass;
	uint32_t ttl;
	sg_buf rdata = SG_BUF_INIT;
	if (dns_rr_from_text(line, &rd->origin, &owner, &type, &rclass, &ttl, &rdata) !=
	    SIGNET_OK) {
		sg_buf_free(&rdata);
		bad(rd, rd->first_line, "not a resource record in presentation form");
		return;
	}
	chk_name_text(&owner, rd->owner, sizeof(rd->owner));
	if (rclass != DNS_CLASS_IN)
		rd->ign.other++;
	else if (type == DNS_T_DS && !dns_name_equal(&owner, &c->o->zone))
		rd->ign.other_owner++;
	else if (type == DNS_T_DS && rd->out->count >= CHK_KEYS_MAX)
		check_report_add(c->r, CHECK_WARNING, "ds", "%s line %u: more than %d DS, ignored",
				 c->o->ds_file, rd->first_line, CHK_KEYS_MAX);
	else if (type == DNS_T_DS && dns_rrset_add(rd->out, rdata.data, rdata.len) != SIGNET_OK)
		c->nomem = true;
	else if (type == DNS_T_DNSKEY)
		rd->ign.dnskey++;
	else if (type == DNS_T_CDS)
		rd->ign.cds++; /* the child's wish, not the parent's DS */
	else if (type == DNS_T_CDNSKEY)
		rd->ign.cdnskey++;
	else if (type == DNS_T_RRSIG)
		rd->ign.rrsig++;
	else if (type != DNS_T_DS)
		rd->ign.other++;
	sg_buf_free(&rdata);
}

/* "3 DNSKEY, 1 CDS" for what was ignored; empty when nothing. */
static void ignored_text(const struct ignored *g, sg_buf *out)
{
	const struct {
		unsigned n;
		const char *what;
	} parts[] = {{g->dnskey, "DNSKEY"},
		     {g->cds, "CDS"},
		     {g->cdnskey, "CDNSKEY"},
		     {g->rrsig, "RRSIG"},
		     {g->other_owner, "DS of another owner"},
		     {g->other, "other"}};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i].n)
			(void)sg_buf_printf(out, "%s%u %s", out->len ? ", " : "", parts[i].n,
					    parts[i].what);
}

void chk_ds_file(check_ctx *c, dns_rrset *out)
{
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(c->o->ds_file, DSFILE_MAX, &text);
	if (ret != SIGNET_OK) {
		check_report_add(c->r, CHECK_UNKNOWN, "ds", "cannot read %s: %s%s", c->o->ds_file,
				 signet_strerror(ret), ret == SIGNET_ERANGE ? " (over 1 MiB)" : "");
		sg_buf_free(&text);
		return;
	}
	struct reader *rd = calloc(1, sizeof(*rd));
	if (!rd) {
		c->nomem = true;
		sg_buf_free(&text);
		return;
	}
	rd->c = c;
	rd->origin = c->o->zone;
	rd->out = out;
	size_t pos = 0;
	unsigned line = 0;
	/* Files saved by Windows editors may start with a UTF-8 byte order
	 * mark and end lines with CR LF (take_line blanks the CR). */
	if (text.len >= 3 && memcmp(text.data, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < text.len) {
		size_t end = pos;
		while (end < text.len && text.data[end] != '\n')
			end++;
		line++;
		if (memchr(text.data + pos, '\0', end - pos)) {
			bad(rd, line, "a NUL octet: not a text file");
			break;
		}
		if (rd->depth == 0) {
			rd->len = 0;
			rd->first_line = line;
		}
		if (!take_line(rd, (const char *)text.data + pos, end - pos)) {
			bad(rd, rd->first_line, "record too long");
			rd->len = 0;
			rd->depth = 0;
		} else if (rd->depth < 0) {
			bad(rd, line, "')' without '('");
			rd->len = 0;
			rd->depth = 0;
		} else if (rd->depth == 0) {
			take_record(rd);
		} else if (line - rd->first_line > 64) {
			bad(rd, rd->first_line, "'(' not closed within 64 lines");
			rd->len = 0;
			rd->depth = 0;
		}
		pos = end + 1;
	}
	if (rd->depth > 0)
		bad(rd, rd->first_line, "'(' not closed before the end of the file");
	if (rd->bad > BAD_LINES_MAX)
		check_report_add(c->r, CHECK_UNKNOWN, "ds", "%s: %u more unreadable records",
				 c->o->ds_file, rd->bad - BAD_LINES_MAX);
	sg_buf ign = SG_BUF_INIT;
	ignored_text(&rd->ign, &ign);
	if (ign.len)
		check_report_add(c->r, CHECK_OK, "ds", "%s: only DS RRs of %s count; ignored %s",
				 c->o->ds_file, c->zone, (const char *)ign.data);
	sg_buf_free(&ign);
	free(rd);
	sg_buf_free(&text);
}
