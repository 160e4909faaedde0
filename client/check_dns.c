/* check_dns.c -- the queries of `signet check`: one question to one server
 * through ldns (UDP with EDNS0 and DO, TCP after TC), and an answer that is
 * checked before anything reads it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <ldns/ldns.h>

#include "client/client.h"

signet_err check_server_parse(const char *text, check_server *out)
{
	if (!text || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	out->port = 53;
	out->timeout_ms = 2000;
	out->tries = 2;
	size_t len = strlen(text);
	if (len == 0 || len >= 80)
		return SIGNET_EINVAL;
	char host[80];
	const char *port = NULL;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end || (size_t)(end - text - 1) >= sizeof(out->addr))
			return SIGNET_EINVAL;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return SIGNET_EINVAL;
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		size_t hl = colon ? (size_t)(colon - text) : len;
		memcpy(host, text, hl);
		host[hl] = '\0';
		if (colon)
			port = colon + 1;
	}
	uint8_t bin[16];
	if (inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1)
		return SIGNET_EINVAL;
	size_t hostlen = strlen(host);
	if (hostlen >= sizeof(out->addr))
		return SIGNET_EINVAL;
	memcpy(out->addr, host, hostlen + 1);
	if (port) {
		char *end = NULL;
		unsigned long p = strtoul(port, &end, 10);
		if (!*port || *end || p < 1 || p > 65535)
			return SIGNET_EINVAL;
		out->port = (uint16_t)p;
	}
	return SIGNET_OK;
}

void check_answer_free(check_answer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->count; i++)
		free(a->rrs[i].rdata);
	free(a->rrs);
	memset(a, 0, sizeof(*a));
}

/* One exchange over UDP or TCP; *ans is NULL when nothing usable came, and
 * *st says why. */
static void exchange(const check_server *s, ldns_pkt *q, bool tcp, ldns_pkt **ans, ldns_status *st)
{
	*ans = NULL;
	*st = LDNS_STATUS_MEM_ERR;
	ldns_resolver *r = ldns_resolver_new();
	if (!r)
		return;
	bool v6 = strchr(s->addr, ':') != NULL;
	ldns_rdf *ns = ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, s->addr);
	if (!ns || ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		ldns_resolver_deep_free(r);
		return;
	}
	ldns_rdf_deep_free(ns);
	ldns_resolver_set_port(r, s->port);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_usevc(r, tcp);
	/* TC is handled here, so the caller learns the UDP size and the flag. */
	ldns_resolver_set_fallback(r, false);
	ldns_resolver_set_igntc(r, true);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_retry(r, 1);
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_fail(r, true);
	struct timeval tv = {(time_t)(s->timeout_ms / 1000),
			     (suseconds_t)(s->timeout_ms % 1000) * 1000};
	ldns_resolver_set_timeout(r, tv);
	for (unsigned t = 0; t < s->tries && !*ans; t++) {
		ldns_pkt *a = NULL;
		*st = ldns_resolver_send_pkt(&a, r, q);
		if (*st == LDNS_STATUS_OK && a)
			*ans = a;
		else
			ldns_pkt_free(a);
	}
	ldns_resolver_deep_free(r);
}

/* The answer must be for our question: same ID, QR set, a standard query,
 * and the one question echoed. */
static bool matches(const ldns_pkt *q, const ldns_pkt *a)
{
	if (ldns_pkt_id(a) != ldns_pkt_id(q) || !ldns_pkt_qr(a) ||
	    ldns_pkt_get_opcode(a) != LDNS_PACKET_QUERY)
		return false;
	const ldns_rr_list *qs = ldns_pkt_question(a);
	if (ldns_rr_list_rr_count(qs) != 1)
		return false;
	const ldns_rr *qa = ldns_rr_list_rr(qs, 0);
	const ldns_rr *qq = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	return ldns_rr_get_type(qa) == ldns_rr_get_type(qq) &&
	       ldns_dname_compare(ldns_rr_owner(qa), ldns_rr_owner(qq)) == 0;
}

/* Copy the RRs of one section into out, checking each. */
static signet_err take_section(const ldns_rr_list *list, uint8_t section, check_answer *out,
			       char *errmsg, size_t errlen)
{
	size_t n = ldns_rr_list_rr_count(list);
	if (n > CHECK_RRS_MAX - out->count) {
		snprintf(errmsg, errlen, "answer holds more than %d RRs", CHECK_RRS_MAX);
		return SIGNET_EPARSE;
	}
	ldns_buffer *b = ldns_buffer_new(512);
	if (!b)
		return SIGNET_ENOMEM;
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < n && ret == SIGNET_OK; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);
		check_rr *c = &out->rrs[out->count];
		memset(c, 0, sizeof(*c));
		const ldns_rdf *owner = ldns_rr_owner(rr);
		if (!owner || ldns_rdf_get_type(owner) != LDNS_RDF_TYPE_DNAME ||
		    dns_name_from_wire(&c->owner, ldns_rdf_data(owner), ldns_rdf_size(owner),
				       NULL) != SIGNET_OK) {
			snprintf(errmsg, errlen, "malformed owner name in section %u", section);
			ret = SIGNET_EPARSE;
			break;
		}
		c->type = (uint16_t)ldns_rr_get_type(rr);
		c->rclass = (uint16_t)ldns_rr_get_class(rr);
		c->ttl = ldns_rr_ttl(rr);
		c->section = section;
		ldns_buffer_clear(b);
		if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK ||
		    ldns_buffer_position(b) > DNS_RDATA_MAX) {
			snprintf(errmsg, errlen, "RDATA of type %u does not encode", c->type);
			ret = SIGNET_EPARSE;
			break;
		}
		size_t len = ldns_buffer_position(b);
		signet_err cr = dns_rdata_check(c->type, ldns_buffer_begin(b), len);
		if (cr != SIGNET_OK) {
			char owner_text[DNS_NAME_STR_MAX];
			if (dns_name_to_str(&c->owner, owner_text, sizeof(owner_text)) != SIGNET_OK)
				snprintf(owner_text, sizeof(owner_text), "?");
			snprintf(errmsg, errlen, "malformed RDATA of type %u at %s (%s)", c->type,
				 owner_text, signet_strerror(cr));
			ret = SIGNET_EPARSE;
			break;
		}
		if (len) {
			c->rdata = malloc(len);
			if (!c->rdata) {
				ret = SIGNET_ENOMEM;
				break;
			}
			memcpy(c->rdata, ldns_buffer_begin(b), len);
		}
		c->len = (uint16_t)len;
		out->count++;
	}
	ldns_buffer_free(b);
	return ret;
}

/* Why an exchange gave nothing: ldns reports a transport failure (timeout,
 * refused, reset) as a general or network error, and an answer that does not
 * parse with the parser's own status. */
static signet_err no_answer(ldns_status st, const char *how, const check_server *s, char *errmsg,
			    size_t errlen)
{
	/* A refused UDP port makes ldns mark its only server unusable: it
	 * then says "no (valid) nameservers", which is no answer too. */
	if (st == LDNS_STATUS_ERR || st == LDNS_STATUS_NETWORK_ERR ||
	    st == LDNS_STATUS_SOCKET_ERROR || st == LDNS_STATUS_MEM_ERR ||
	    st == LDNS_STATUS_RES_NO_NS) {
		snprintf(errmsg, errlen, "no answer over %s from %s port %u", how, s->addr,
			 s->port);
		return SIGNET_EIO;
	}
	snprintf(errmsg, errlen, "malformed answer over %s from %s port %u: %s", how, s->addr,
		 s->port, ldns_get_errorstr_by_id(st));
	return SIGNET_EPARSE;
}

signet_err check_query(const check_server *s, const dns_name *qname, uint16_t qtype,
		       check_answer *out, char *errmsg, size_t errlen)
{
	if (!s || !qname || !out || !errmsg || errlen == 0)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	errmsg[0] = '\0';
	ldns_rdf *name = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, qname->len, qname->wire);
	if (!name)
		return SIGNET_ENOMEM;
	ldns_pkt *q = ldns_pkt_query_new(name, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, 0);
	if (!q) {
		ldns_rdf_deep_free(name);
		return SIGNET_ENOMEM;
	}
	ldns_pkt_set_random_id(q);
	ldns_pkt_set_rd(q, s->recurse);
	ldns_pkt_set_edns_udp_size(q, CHECK_EDNS_SIZE);
	ldns_pkt_set_edns_do(q, true);

	ldns_pkt *a = NULL;
	ldns_status st;
	exchange(s, q, false, &a, &st);
	if (!a) {
		ldns_pkt_free(q);
		return no_answer(st, "UDP", s, errmsg, errlen);
	}
	if (!matches(q, a)) {
		snprintf(errmsg, errlen, "answer over UDP does not match the query");
		ldns_pkt_free(a);
		ldns_pkt_free(q);
		return SIGNET_EPARSE;
	}
	out->udp_size = ldns_pkt_size(a);
	out->size = out->udp_size;
	if (ldns_pkt_tc(a)) {
		out->udp_tc = true;
		ldns_pkt_free(a);
		exchange(s, q, true, &a, &st);
		if (!a) {
			ldns_pkt_free(q);
			return no_answer(st, "TCP after TC", s, errmsg, errlen);
		}
		if (!matches(q, a)) {
			snprintf(errmsg, errlen, "answer over TCP does not match the query");
			ldns_pkt_free(a);
			ldns_pkt_free(q);
			return SIGNET_EPARSE;
		}
		out->size = ldns_pkt_size(a);
	}
	ldns_pkt_free(q);
	out->rcode = (int)ldns_pkt_get_rcode(a);
	out->aa = ldns_pkt_aa(a);
	out->ad = ldns_pkt_ad(a);
	size_t total = ldns_rr_list_rr_count(ldns_pkt_answer(a)) +
		       ldns_rr_list_rr_count(ldns_pkt_authority(a));
	signet_err ret = SIGNET_OK;
	if (total > CHECK_RRS_MAX) {
		snprintf(errmsg, errlen, "answer holds more than %d RRs", CHECK_RRS_MAX);
		ret = SIGNET_EPARSE;
	} else if (total) {
		out->rrs = calloc(total, sizeof(*out->rrs));
		if (!out->rrs)
			ret = SIGNET_ENOMEM;
	}
	if (ret == SIGNET_OK)
		ret = take_section(ldns_pkt_answer(a), 1, out, errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = take_section(ldns_pkt_authority(a), 2, out, errmsg, errlen);
	ldns_pkt_free(a);
	if (ret != SIGNET_OK)
		check_answer_free(out);
	return ret;
}
