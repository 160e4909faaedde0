/* xfr_in.c -- transfers in from a primary: the SOA serial, and AXFR over
 * TCP (RFC 5936) with TSIG checked on every message, bounded in octets,
 * RRs and time. A transfer either yields a whole zone or nothing. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/rand.h>

#include "zoned/zoned.h"

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline. */
static signet_err wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return SIGNET_ETIME;
		struct pollfd p = {fd, events, 0};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return SIGNET_OK;
		if (n < 0 && errno != EINTR)
			return SIGNET_EIO;
	}
}

static signet_err tcp_connect(const zoned_addr *a, int64_t deadline, int *out)
{
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SIGNET_EIO;
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) != 0 && errno != EINPROGRESS) {
		close(fd);
		return SIGNET_EIO;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	if (wait_fd(fd, POLLOUT, deadline) != SIGNET_OK ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
		close(fd);
		return SIGNET_EIO;
	}
	*out = fd;
	return SIGNET_OK;
}

static signet_err send_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return SIGNET_EIO;
		signet_err ret = wait_fd(fd, POLLOUT, deadline);
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

static signet_err recv_all(int fd, uint8_t *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return SIGNET_EPARSE; /* closed in the middle: truncated */
		if (errno != EAGAIN && errno != EINTR)
			return SIGNET_EIO;
		signet_err ret = wait_fd(fd, POLLIN, deadline);
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

/* One exchange over TCP: the query (signed if the peer has a key), then
 * messages read one by one into cb until it says done. With a key, every
 * message's TSIG is verified, up to 99 in a row may have none (RFC 8945
 * §5.3.1), and the last must have one; a TSIG failure is said in errmsg. */
typedef signet_err (*msg_cb)(void *arg, const uint8_t *msg, size_t len, bool *done);

/* Why message n (from 1) of an exchange failed its TSIG. */
static void tsig_why(const uint8_t *msg, size_t len, size_t n, char *errmsg, size_t errlen)
{
	zoned_tsig_rr rr;
	signet_err ret = zoned_tsig_rr_find(msg, len, &rr);
	int64_t off = ret == SIGNET_OK ? (int64_t)rr.time_signed - (int64_t)time(NULL) : 0;
	if (off < -300 || off > 300)
		snprintf(errmsg, errlen,
			 "TSIG does not verify (message %zu: its time is %lld s off)", n,
			 (long long)(off < 0 ? -off : off));
	else if (ret != SIGNET_ENOTFOUND)
		snprintf(errmsg, errlen, "TSIG does not verify (message %zu)", n);
	else if (n == 1)
		snprintf(errmsg, errlen, "TSIG does not verify (the first message has none)");
	else
		snprintf(errmsg, errlen,
			 "TSIG does not verify (message %zu: more than %u in a row without TSIG)",
			 n, ZONED_TSIG_UNSIGNED_MAX);
}

static signet_err exchange(const zoned_peer *p, const dns_name *apex, uint16_t qtype,
			   uint32_t ixfr_serial, int64_t deadline, size_t max_octets, msg_cb cb,
			   void *arg, char *errmsg, size_t errlen)
{
	uint8_t id[2];
	if (RAND_bytes(id, sizeof(id)) != 1)
		return SIGNET_ECRYPTO;
	zoned_msg m;
	signet_err ret = zoned_msg_start(&m, sg_get_u16(id), 0, apex, qtype);
	if (ret == SIGNET_OK && qtype == DNS_T_IXFR) {
		/* RFC 1995 §3: the version we have, as an SOA in authority; only
		 * its serial matters. */
		uint8_t rd[22] = {0};
		rd[2] = (uint8_t)(ixfr_serial >> 24);
		rd[3] = (uint8_t)(ixfr_serial >> 16);
		rd[4] = (uint8_t)(ixfr_serial >> 8);
		rd[5] = (uint8_t)ixfr_serial;
		ret = zoned_msg_rr(&m, apex, DNS_T_SOA, 0, rd, sizeof(rd));
		if (ret == SIGNET_OK) {
			m.b.data[7] = 0; /* the RR goes in authority, not answer */
			m.b.data[9] = 1;
		}
	}
	zoned_tsig t = {.key = p->key, .first = true, .sparse = true};
	uint8_t *q = NULL;
	size_t qlen = 0;
	if (ret == SIGNET_OK) {
		q = malloc(m.b.len + 2 + 1024);
		if (q == NULL)
			ret = SIGNET_ENOMEM;
	}
	if (ret == SIGNET_OK) {
		memcpy(q + 2, m.b.data, m.b.len);
		qlen = m.b.len;
		if (p->key)
			ret = zoned_tsig_sign(&t, q + 2, &qlen, 1024 + m.b.len);
		t.first = true;
	}
	zoned_msg_free(&m);
	int fd = -1;
	if (ret == SIGNET_OK)
		ret = tcp_connect(&p->addr, deadline, &fd);
	if (ret == SIGNET_OK) {
		q[0] = (uint8_t)(qlen >> 8);
		q[1] = (uint8_t)qlen;
		ret = send_all(fd, q, qlen + 2, deadline);
	}
	free(q);
	uint8_t *buf = ret == SIGNET_OK ? malloc(ZONED_MSG_MAX) : NULL;
	if (ret == SIGNET_OK && buf == NULL)
		ret = SIGNET_ENOMEM;
	size_t total = 0, nmsg = 0;
	bool done = false;
	uint16_t qid = sg_get_u16(id);
	while (ret == SIGNET_OK && !done) {
		uint8_t l[2];
		ret = recv_all(fd, l, 2, deadline);
		size_t len = sg_get_u16(l);
		if (ret == SIGNET_OK && len < 12)
			ret = SIGNET_EPARSE;
		if (ret == SIGNET_OK && (total += len + 2) > max_octets)
			ret = SIGNET_ERANGE;
		if (ret == SIGNET_OK)
			ret = recv_all(fd, buf, len, deadline);
		if (ret == SIGNET_OK && (sg_get_u16(buf) != qid || !(buf[2] & 0x80)))
			ret = SIGNET_EPARSE;
		nmsg++;
		if (ret == SIGNET_OK && p->key) {
			ret = zoned_tsig_verify(&t, buf, len);
			if (ret == SIGNET_EVERIFY)
				tsig_why(buf, len, nmsg, errmsg, errlen);
		}
		if (ret == SIGNET_OK)
			ret = cb(arg, buf, len, &done);
	}
	/* The last message must be signed: what follows the last MAC is
	 * otherwise anyone's. */
	signet_err tret = zoned_tsig_done(&t);
	if (ret == SIGNET_OK && p->key && tret != SIGNET_OK) {
		snprintf(errmsg, errlen, "TSIG does not verify (the last message, %zu, has none)",
			 nmsg);
		ret = tret;
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* What one AXFR collects. */
typedef struct axfr {
	const zoned_zone_conf *zc;
	zone_gather g; /* the zone, as its RRs come */
	uint32_t serial;
	size_t soas; /* SOAs seen: 2 ends the transfer */
	char *errmsg;
	size_t errlen;
} axfr;

/* One ldns RR into the collection. */
static signet_err take_rr(axfr *x, ldns_rr *rr, bool *done)
{
	ldns_rdf *o = ldns_rr_owner(rr);
	dns_name owner;
	if (dns_name_from_wire(&owner, ldns_rdf_data(o), ldns_rdf_size(o), NULL) != SIGNET_OK ||
	    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return SIGNET_EPARSE;
	ldns_buffer *b = ldns_buffer_new(512);
	if (b == NULL)
		return SIGNET_ENOMEM;
	signet_err ret = ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK &&
					 ldns_buffer_position(b) <= DNS_RDATA_MAX
				 ? SIGNET_OK
				 : SIGNET_EPARSE;
	const uint8_t *rd = ldns_buffer_begin(b);
	size_t rdlen = ldns_buffer_position(b);
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	if (ret == SIGNET_OK && type == DNS_T_SOA) {
		if (!dns_name_equal(&owner, &x->zc->apex) || rdlen < 22) {
			ret = SIGNET_EPARSE;
		} else if (x->soas++ == 0) {
			x->serial = sg_get_u32(rd + rdlen - 20);
		} else {
			/* The closing SOA: the same serial, or the transfer is torn. */
			if (sg_get_u32(rd + rdlen - 20) != x->serial)
				ret = SIGNET_EPARSE;
			*done = true;
			ldns_buffer_free(b);
			return ret;
		}
	} else if (ret == SIGNET_OK && x->soas == 0) {
		ret = SIGNET_EPARSE; /* must begin with the SOA */
	}
	/* The gatherer refuses the RR past max-rrs, and one outside the zone,
	 * as it comes. */
	if (ret == SIGNET_OK)
		ret = zone_gather_add(&x->g, &owner, type, ldns_rr_ttl(rr), rd, rdlen);
	ldns_buffer_free(b);
	return ret;
}

static signet_err axfr_msg(void *arg, const uint8_t *msg, size_t len, bool *done)
{
	axfr *x = arg;
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK) {
		snprintf(x->errmsg, x->errlen, "a message does not parse");
		return SIGNET_EPARSE;
	}
	signet_err ret = SIGNET_OK;
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
		snprintf(x->errmsg, x->errlen, "the primary answered rcode %d",
			 (int)ldns_pkt_get_rcode(pkt));
		ret = SIGNET_EDENIED;
	}
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t n = an ? ldns_rr_list_rr_count(an) : 0;
	for (size_t i = 0; i < n && ret == SIGNET_OK; i++) {
		if (*done) {
			ret = SIGNET_EPARSE; /* RRs after the closing SOA */
			break;
		}
		ret = take_rr(x, ldns_rr_list_rr(an, i), done);
	}
	if (ret == SIGNET_OK && n == 0)
		ret = SIGNET_EPARSE;
	if (ret != SIGNET_OK && !x->errmsg[0])
		snprintf(x->errmsg, x->errlen, "%s",
			 ret == SIGNET_ERANGE ? "more RRs than max-rrs" : "malformed transfer");
	ldns_pkt_free(pkt);
	return ret;
}

signet_err zoned_axfr_in(const zoned_peer *p, const zoned_zone_conf *zc, dns_zone *out,
			 char *errmsg, size_t errlen)
{
	axfr x = {.zc = zc, .errmsg = errmsg, .errlen = errlen};
	zone_gather_init(&x.g, &zc->apex, zc->max_rrs);
	errmsg[0] = 0;
	memset(out, 0, sizeof(*out));
	int64_t deadline = now_ms() + (int64_t)zc->xfr_timeout * 1000;
	signet_err ret = exchange(p, &zc->apex, DNS_T_AXFR, 0, deadline, zc->max_octets, axfr_msg,
				  &x, errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = zone_gather_finish(&x.g, out);
	if (ret != SIGNET_OK && !errmsg[0])
		snprintf(errmsg, errlen, "%s",
			 ret == SIGNET_ETIME     ? "took longer than the bound"
			 : ret == SIGNET_ERANGE  ? "larger than the bound"
			 : ret == SIGNET_EVERIFY ? "TSIG does not verify"
			 : ret == SIGNET_EIO     ? "connection failed"
			 : ret == SIGNET_EPARSE  ? "malformed or cut short"
						 : signet_strerror(ret));
	zone_gather_free(&x.g);
	return ret;
}

/* The SOA of a SOA query's answer. */
typedef struct soa_ans {
	const dns_name *apex;
	uint32_t serial;
	bool found;
} soa_ans;

static signet_err soa_msg(void *arg, const uint8_t *msg, size_t len, bool *done)
{
	soa_ans *s = arg;
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return SIGNET_EPARSE;
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rdf *o = ldns_rr_owner(rr);
		dns_name owner;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
		    dns_name_from_wire(&owner, ldns_rdf_data(o), ldns_rdf_size(o), NULL) ==
			    SIGNET_OK &&
		    dns_name_equal(&owner, s->apex)) {
			s->serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
			s->found = true;
		}
	}
	ldns_pkt_free(pkt);
	*done = true;
	return s->found ? SIGNET_OK : SIGNET_ENOTFOUND;
}

signet_err zoned_soa_query(const zoned_peer *p, const dns_name *apex, unsigned timeout,
			   uint32_t *serial)
{
	soa_ans s = {.apex = apex};
	char why[128];
	signet_err ret = exchange(p, apex, DNS_T_SOA, 0, now_ms() + (int64_t)timeout * 1000, 65535,
				  soa_msg, &s, why, sizeof(why));
	if (ret == SIGNET_OK)
		*serial = s.serial;
	return ret;
}

/* What one IXFR collects: an incremental answer's RRs in order (SOAs
 * included) or, once the answer shows itself a whole zone, that zone as
 * its RRs come; and where the stream stands (RFC 1995 §4). */
typedef struct ixfr {
	const zoned_zone_conf *zc;
	zone_diff rrs;      /* an incremental answer's RRs, in rrs.add */
	zone_gather g;      /* a whole zone's (state 4), the closing SOA left out */
	size_t n;           /* RRs taken into either */
	uint32_t have;      /* the serial asked from */
	uint32_t newest;    /* serial of the first SOA */
	uint32_t step_to;   /* serial of the last "new" SOA seen */
	int state;          /* 0 start, 1 after first SOA, 2 deletions, 3 additions, 4 AXFR */
	bool rcode_refused; /* the primary does not do IXFR */
	char *errmsg;
	size_t errlen;
} ixfr;

static signet_err ixfr_rr(ixfr *x, ldns_rr *rr, bool *done)
{
	ldns_rdf *o = ldns_rr_owner(rr);
	dns_name owner;
	if (dns_name_from_wire(&owner, ldns_rdf_data(o), ldns_rdf_size(o), NULL) != SIGNET_OK ||
	    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return SIGNET_EPARSE;
	ldns_buffer *b = ldns_buffer_new(512);
	if (b == NULL)
		return SIGNET_ENOMEM;
	signet_err ret = ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK &&
					 ldns_buffer_position(b) <= DNS_RDATA_MAX
				 ? SIGNET_OK
				 : SIGNET_EPARSE;
	const uint8_t *rd = ldns_buffer_begin(b);
	size_t rdlen = ldns_buffer_position(b);
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	bool soa = type == DNS_T_SOA && dns_name_equal(&owner, &x->zc->apex);
	if (ret == SIGNET_OK && soa && rdlen < 22)
		ret = SIGNET_EPARSE;
	uint32_t serial = soa && ret == SIGNET_OK ? sg_get_u32(rd + rdlen - 20) : 0;
	if (ret == SIGNET_OK) {
		switch (x->state) {
		case 0:
			if (!soa)
				ret = SIGNET_EPARSE;
			x->newest = serial;
			x->state = 1;
			break;
		case 1:
			x->state = soa ? 2 : 4;
			if (soa && serial == x->newest) {
				*done = true; /* SOA, SOA: nothing newer (an empty IXFR) */
				break;
			}
			break;
		case 2:
			if (soa) {
				x->step_to = serial;
				x->state = 3;
			}
			break;
		case 3:
			if (soa && serial == x->newest && x->step_to == x->newest)
				*done = true;
			else if (soa)
				x->state = 2;
			break;
		case 4:
			if (soa) {
				if (serial != x->newest)
					ret = SIGNET_EPARSE;
				*done = true;
			}
			break;
		}
	}
	if (ret == SIGNET_OK && x->n >= 2 * x->zc->max_rrs + 4)
		ret = SIGNET_ERANGE;
	if (ret == SIGNET_OK && x->state == 4 && x->rrs.nadd) {
		/* The second RR is not a SOA: a whole zone. It is gathered from
		 * here on, beginning with the first SOA, held until now. */
		const zone_rr *r = &x->rrs.add[0];
		ret = zone_gather_add(&x->g, &r->owner, r->type, r->ttl, r->rdata.data,
				      r->rdata.len);
		zone_diff_free(&x->rrs);
	}
	if (ret == SIGNET_OK && x->state == 4 && !*done)
		ret = zone_gather_add(&x->g, &owner, type, ldns_rr_ttl(rr), rd, rdlen);
	else if (ret == SIGNET_OK && x->state != 4)
		ret = zone_diff_push(&x->rrs, true, &owner, type, ldns_rr_ttl(rr), rd, rdlen);
	if (ret == SIGNET_OK)
		x->n++;
	ldns_buffer_free(b);
	return ret;
}

static signet_err ixfr_msg(void *arg, const uint8_t *msg, size_t len, bool *done)
{
	ixfr *x = arg;
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK) {
		snprintf(x->errmsg, x->errlen, "a message does not parse");
		return SIGNET_EPARSE;
	}
	signet_err ret = SIGNET_OK;
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
	if (rc != LDNS_RCODE_NOERROR) {
		x->rcode_refused = rc == LDNS_RCODE_NOTIMPL || rc == LDNS_RCODE_REFUSED ||
				   rc == LDNS_RCODE_FORMERR;
		snprintf(x->errmsg, x->errlen, "the primary answered rcode %d", (int)rc);
		ret = SIGNET_EDENIED;
	}
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t n = an ? ldns_rr_list_rr_count(an) : 0;
	for (size_t i = 0; i < n && ret == SIGNET_OK; i++) {
		if (*done) {
			ret = SIGNET_EPARSE;
			break;
		}
		ret = ixfr_rr(x, ldns_rr_list_rr(an, i), done);
	}
	/* One SOA alone: the primary has nothing newer than we asked for. */
	if (ret == SIGNET_OK && x->state == 1 && n == 1 && x->n == 1 &&
	    dns_serial_compare(x->newest, x->have) != 1)
		*done = true;
	if (ret == SIGNET_OK && n == 0)
		ret = SIGNET_EPARSE;
	if (ret != SIGNET_OK && !x->errmsg[0])
		snprintf(x->errmsg, x->errlen, "%s",
			 ret == SIGNET_ERANGE ? "more RRs than max-rrs" : "malformed transfer");
	ldns_pkt_free(pkt);
	return ret;
}

/* The incremental steps of x, split at their SOAs: each one RRs removed
 * (the old SOA first), then added (the new SOA first). */
static signet_err split_steps(const ixfr *x, const dns_name *apex, zone_diff **out, size_t *nout)
{
	const zone_diff *all = &x->rrs;
	signet_err ret = SIGNET_OK;
	zone_diff *v = NULL;
	size_t n = 0, cap = 0;
	size_t i = 1; /* past the first SOA */
	/* The last RR is the closing SOA. */
	while (ret == SIGNET_OK && i + 1 < all->nadd) {
		if (n == cap) {
			size_t c = cap ? 2 * cap : 4;
			zone_diff *p = realloc(v, c * sizeof(*p));
			if (p == NULL) {
				ret = SIGNET_ENOMEM;
				break;
			}
			v = p;
			cap = c;
		}
		zone_diff *step = &v[n++];
		memset(step, 0, sizeof(*step));
		bool adding = false;
		size_t soas = 0;
		for (; ret == SIGNET_OK && i + 1 < all->nadd; i++) {
			const zone_rr *r = &all->add[i];
			bool soa = r->type == DNS_T_SOA && dns_name_equal(&r->owner, apex);
			if (soa && ++soas == 3)
				break; /* the next step begins */
			if (soa && soas == 2)
				adding = true;
			ret = zone_diff_push(step, adding, &r->owner, r->type, r->ttl,
					     r->rdata.data, r->rdata.len);
		}
	}
	if (ret != SIGNET_OK) {
		zoned_steps_free(v, n);
		return ret;
	}
	*out = v;
	*nout = n;
	return SIGNET_OK;
}

void zoned_steps_free(zone_diff *steps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		zone_diff_free(&steps[i]);
	free(steps);
}

signet_err zoned_ixfr_in(const zoned_peer *p, const zoned_zone_conf *zc, uint32_t have,
			 dns_zone *out, zone_diff **steps, size_t *nsteps, char *errmsg,
			 size_t errlen)
{
	ixfr x = {.zc = zc, .have = have, .errmsg = errmsg, .errlen = errlen};
	zone_gather_init(&x.g, &zc->apex, zc->max_rrs);
	errmsg[0] = 0;
	*steps = NULL;
	*nsteps = 0;
	memset(out, 0, sizeof(*out));
	int64_t deadline = now_ms() + (int64_t)zc->xfr_timeout * 1000;
	signet_err ret = exchange(p, &zc->apex, DNS_T_IXFR, have, deadline, zc->max_octets,
				  ixfr_msg, &x, errmsg, errlen);
	if (ret != SIGNET_OK && x.rcode_refused) {
		zone_diff_free(&x.rrs);
		zone_gather_free(&x.g);
		sg_log(SG_LOG_INFO, "zoned: %s: IXFR refused by the primary; AXFR", zc->name);
		return zoned_axfr_in(p, zc, out, errmsg, errlen);
	}
	if (ret == SIGNET_OK && x.n == 1)
		ret = SIGNET_ENOTFOUND; /* nothing newer */
	else if (ret == SIGNET_OK && (x.state < 2 || (x.state == 2 && x.n > 2) ||
				      dns_serial_compare(x.newest, have) != 1))
		ret = SIGNET_EPARSE; /* torn, or not newer than what we have */
	if (ret == SIGNET_OK && x.state == 4) {
		/* A whole zone in AXFR form: every RR but the closing SOA. */
		ret = zone_gather_finish(&x.g, out);
	} else if (ret == SIGNET_OK) {
		ret = split_steps(&x, &zc->apex, steps, nsteps);
		if (ret == SIGNET_OK)
			sg_log(SG_LOG_INFO,
			       "zoned: %s: IXFR in from serial %u to %u: %zu steps, %zu RRs",
			       zc->name, have, x.newest, *nsteps, x.rrs.nadd);
	}
	zone_diff_free(&x.rrs);
	zone_gather_free(&x.g);
	if (ret != SIGNET_OK && ret != SIGNET_ENOTFOUND)
		dns_zone_free(out);
	if (ret != SIGNET_OK && !errmsg[0])
		snprintf(errmsg, errlen, "%s",
			 ret == SIGNET_ETIME     ? "took longer than the bound"
			 : ret == SIGNET_ERANGE  ? "larger than the bound"
			 : ret == SIGNET_EVERIFY ? "TSIG does not verify"
			 : ret == SIGNET_EIO     ? "connection failed"
			 : ret == SIGNET_EPARSE  ? "malformed or cut short"
						 : signet_strerror(ret));
	return ret;
}
