/* check_dsfile.c -- the DS RRs of `signet check --ds FILE`. */
#include <stdio.h>
#include <string.h>

#include "client/check_internal.h"

/* DS RRs in presentation form from a file (K*.ds, dnssec-dsfromkey output). */
void chk_ds_file(check_ctx *c, dns_rrset *out)
{
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(c->o->ds_file, 64 * 1024, &text);
	if (ret != SIGNET_OK) {
		check_report_add(c->r, CHECK_UNKNOWN, "ds", "cannot read %s: %s",
				 c->o->ds_file, signet_strerror(ret));
		sg_buf_free(&text);
		return;
	}
	size_t pos = 0;
	unsigned line = 0;
	while (pos < text.len) {
		size_t end = pos;
		while (end < text.len && text.data[end] != '\n')
			end++;
		line++;
		char buf[4096];
		size_t n = end - pos;
		if (n >= sizeof(buf)) {
			check_report_add(c->r, CHECK_UNKNOWN, "ds", "%s line %u: too long",
					 c->o->ds_file, line);
			break;
		}
		memcpy(buf, text.data + pos, n);
		buf[n] = '\0';
		pos = end + 1;
		const char *p = buf + strspn(buf, " \t\r");
		if (!*p || *p == ';' || *p == '#')
			continue;
		dns_name owner;
		uint16_t type, rclass;
		uint32_t ttl;
		sg_buf rd = SG_BUF_INIT;
		if (dns_rr_from_text(p, &c->o->zone, &owner, &type, &rclass, &ttl, &rd) !=
			    SIGNET_OK ||
		    type != DNS_T_DS || !dns_name_equal(&owner, &c->o->zone)) {
			check_report_add(c->r, CHECK_UNKNOWN, "ds",
					 "%s line %u: not a DS RR of %s", c->o->ds_file, line,
					 c->zone);
			sg_buf_free(&rd);
			continue;
		}
		if (out->count >= CHK_KEYS_MAX)
			check_report_add(c->r, CHECK_WARNING, "ds", "%s line %u: more than %d DS, "
					 "ignored", c->o->ds_file, line, CHK_KEYS_MAX);
		else if (dns_rrset_add(out, rd.data, rd.len) != SIGNET_OK)
			c->nomem = true;
		sg_buf_free(&rd);
	}
	sg_buf_free(&text);
}

