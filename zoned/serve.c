/* serve.c -- serving the signed zones: SOA over UDP and TCP, AXFR and IXFR
 * over TCP (IXFR from the journal, else the whole zone, RFC 1995 §4),
 * NOTIFY in from the primaries, NOTIFY out with retries and back-off;
 * REFUSED for every other question and every unknown peer. A transfer out
 * is streamed: messages are made as the socket drains, from a snapshot of
 * the version (AXFR) or the journal (IXFR), so memory per transfer is
 * bounded and a sign running meanwhile changes nothing of it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/rand.h>

#include "zoned/daemon.h"

#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NOTAUTH 9
#define RCODE_REFUSED 5
#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define OPCODE_NOTIFY 4
#define AXFR_CHUNK 16000       /* octets of RRs per AXFR message */
#define TCP_IDLE 10            /* seconds a TCP client may be silent */
#define TCP_OUT_MAX (1u << 30) /* queued answer octets per connection */
#define NOTIFY_TRIES 6
#define XFR_OUT_MAX 32         /* transfers out streaming at once */
#define XFR_HIGH (256u * 1024) /* octets queued on a socket before waiting */
#define XFR_OUT_TIME 900       /* seconds a transfer out may take at most */

zoned_zone *zoned_find(zoned *d, const dns_name *apex)
{
	for (size_t i = 0; i < d->nzones; i++)
		if (dns_name_equal(&d->zones[i]->conf.apex, apex))
			return d->zones[i];
	return NULL;
}

struct xfr_stream;

/* An answer being built: messages appended to out (with 2-octet lengths
 * over TCP), each TSIG-signed when the query was; or a transfer to stream
 * (stream set, out empty). */
typedef struct answer {
	sg_buf out;
	bool tcp;
	zoned_tsig tsig;
	bool sign;
	struct xfr_stream *stream;
} answer;

static signet_err finish(answer *a, zoned_msg *m)
{
	size_t len = m->b.len, cap = len + 1024;
	signet_err ret = sg_buf_reserve(&m->b, 1024);
	if (ret == SIGNET_OK && a->sign)
		ret = zoned_tsig_sign(&a->tsig, m->b.data, &len, cap);
	if (ret == SIGNET_OK && a->tcp)
		ret = sg_buf_put_u16(&a->out, (uint16_t)len);
	if (ret == SIGNET_OK)
		ret = sg_buf_append(&a->out, m->b.data, len);
	return ret;
}

static signet_err reply_rcode(answer *a, const zoned_query *q, int rcode)
{
	zoned_msg m;
	uint16_t flags = (uint16_t)(FLAG_QR | (q->flags & 0x7900) | rcode);
	signet_err ret = zoned_msg_start(&m, q->id, flags, &q->qname, q->qtype);
	if (ret == SIGNET_OK)
		ret = finish(a, &m);
	zoned_msg_free(&m);
	return ret;
}

/* The apex SOA of the served version, as its first set in walk order. */
typedef struct soa_find {
	dns_rrset soa;
	bool found;
} soa_find;

static signet_err take_soa(void *arg, const dns_rrset *s)
{
	soa_find *f = arg;
	if (s->type == DNS_T_SOA && !f->found) {
		f->found = true;
		return dns_rrset_copy(&f->soa, s);
	}
	return SIGNET_ENOTFOUND; /* stop: the SOA comes first */
}

/* A hold on the version z serves, the last one stored; NULL before one. */
static zone_snap *served(zoned_zone *z)
{
	zone_snap *s = NULL;
	pthread_mutex_lock(&z->jmu);
	if (z->pub && zone_snap_hold(z->pub, &s) != SIGNET_OK)
		s = NULL;
	pthread_mutex_unlock(&z->jmu);
	return s;
}

static signet_err reply_soa(answer *a, const zoned_query *q, zoned_zone *z)
{
	soa_find f = {0};
	zone_snap *s = served(z);
	if (s) {
		/* The SOA comes first in a version's order. */
		zone_cursor c;
		memset(&c, 0, sizeof(c));
		const dns_rrset *first = zone_snap_next(s, &c);
		if (first)
			(void)take_soa(&f, first); /* f.found says */
		zone_snap_release(s);
	}
	if (!f.found)
		return reply_rcode(a, q, RCODE_SERVFAIL);
	zoned_msg m;
	signet_err ret = zoned_msg_start(&m, q->id, FLAG_QR | FLAG_AA, &q->qname, q->qtype);
	if (ret == SIGNET_OK)
		ret = zoned_msg_rr(&m, &f.soa.owner, DNS_T_SOA, f.soa.ttl, f.soa.rr[0].data,
				   f.soa.rr[0].len);
	if (ret == SIGNET_OK)
		ret = finish(a, &m);
	zoned_msg_free(&m);
	dns_rrset_clear(&f.soa);
	return ret;
}

/* AXFR out: RRs packed into messages of about AXFR_CHUNK octets. */
typedef struct axfr_out {
	answer *a;
	const zoned_query *q;
	zoned_msg m;
	bool open;
	dns_rrset soa; /* to close the transfer with */
} axfr_out;

static signet_err axfr_flush(axfr_out *x)
{
	if (!x->open)
		return SIGNET_OK;
	signet_err ret = finish(x->a, &x->m);
	zoned_msg_free(&x->m);
	x->open = false;
	return ret;
}

static signet_err axfr_rr(axfr_out *x, const dns_name *owner, uint16_t type, uint32_t ttl,
			  const dns_rdata *rd)
{
	signet_err ret = SIGNET_OK;
	if (x->open && x->m.b.len + owner->len + 10 + rd->len > AXFR_CHUNK)
		ret = axfr_flush(x);
	if (ret == SIGNET_OK && !x->open) {
		ret = zoned_msg_start(&x->m, x->q->id, FLAG_QR | FLAG_AA, &x->q->qname,
				      x->q->qtype);
		x->open = ret == SIGNET_OK;
	}
	if (ret == SIGNET_OK)
		ret = zoned_msg_rr(&x->m, owner, type, ttl, rd->data, rd->len);
	return ret;
}

/* A transfer out in progress on a TCP connection. */
typedef struct xfr_stream {
	zoned_zone *z;
	zoned_query q;
	answer a;   /* TSIG state; out holds what is made, drained to the socket */
	axfr_out x; /* the message being filled */
	bool ixfr;
	int stage; /* 0 the opening SOA, 1 the body, 2 the closing SOA, 3 done */
	/* AXFR: the version sent, where in it. */
	zone_snap *snap;
	zone_cursor cur;
	const dns_rrset *set;
	size_t rr;
	/* IXFR: the step being sent (by its first serial), the serial the
	 * transfer ends at, the part of the step (old SOA, removed, new SOA,
	 * added) and the RR in it. */
	uint32_t from, target;
	int part;
	size_t k;
	dns_rrset soa; /* AXFR: the closing SOA; IXFR: the newest SOA */
	zoned_key key; /* the TSIG key a.tsig signs with: a copy, since a
	                * SIGHUP may change the zone's keys meanwhile */
} xfr_stream;

static void stream_free(xfr_stream *s)
{
	if (s == NULL)
		return;
	zone_snap_release(s->snap);
	if (s->x.open)
		zoned_msg_free(&s->x.m);
	dns_rrset_clear(&s->soa);
	sg_buf_free(&s->a.out);
	sg_wipe(&s->key, sizeof(s->key));
	free(s);
}

/* The next RRs of an AXFR into s->a.out, up to about XFR_HIGH octets. */
static signet_err axfr_more(xfr_stream *s)
{
	signet_err ret = SIGNET_OK;
	while (ret == SIGNET_OK && s->stage < 3 && s->a.out.len < XFR_HIGH) {
		if (s->stage == 2) {
			ret = axfr_rr(&s->x, &s->soa.owner, DNS_T_SOA, s->soa.ttl, &s->soa.rr[0]);
			if (ret == SIGNET_OK)
				ret = axfr_flush(&s->x);
			s->stage = 3;
			break;
		}
		if (s->set == NULL || s->rr == s->set->count) {
			s->set = zone_snap_next(s->snap, &s->cur);
			s->rr = 0;
			if (s->set == NULL) {
				s->stage = s->soa.count == 1 ? 2 : 3;
				if (s->stage == 3)
					ret = SIGNET_EPARSE; /* no SOA: cannot close */
				continue;
			}
			if (s->set->type == DNS_T_SOA && s->soa.count == 0)
				ret = dns_rrset_copy(&s->soa, s->set);
			continue;
		}
		const dns_rrset *set = s->set;
		ret = axfr_rr(&s->x, &set->owner, set->type, set->ttl, &set->rr[s->rr++]);
	}
	return ret;
}

static signet_err ixfr_set(axfr_out *x, const dns_rrset *s)
{
	return axfr_rr(x, &s->owner, DNS_T_SOA, s->ttl, &s->rr[0]);
}

/* The next RRs of an IXFR (RFC 1995 §4: the newest SOA, each step as the
 * old SOA, what went, the new SOA, what came; the newest SOA again) into
 * s->a.out. The journal is read under its lock; a step dropped from it
 * meanwhile (the journal is bounded) ends the transfer with an error. */
static signet_err ixfr_more(xfr_stream *s)
{
	signet_err ret = SIGNET_OK;
	if (s->stage == 0) {
		ret = ixfr_set(&s->x, &s->soa);
		s->stage = 1;
	}
	if (ret == SIGNET_OK && s->stage == 1) {
		zoned_zone *z = s->z;
		pthread_mutex_lock(&z->jmu);
		const zoned_journal *j = &z->journal;
		size_t idx = 0;
		ret = zoned_journal_find(j, s->from, &idx);
		while (ret == SIGNET_OK && s->stage == 1 && s->a.out.len < XFR_HIGH) {
			const zoned_step *st = &j->steps[idx];
			const zone_rr *r = NULL;
			switch (s->part) {
			case 0:
				ret = ixfr_set(&s->x, &st->soa_from);
				s->part = 1;
				s->k = 0;
				break;
			case 1:
				if (s->k < st->d.ndel)
					r = &st->d.del[s->k++];
				else
					s->part = 2;
				break;
			case 2:
				ret = ixfr_set(&s->x, &st->soa_to);
				s->part = 3;
				s->k = 0;
				break;
			default:
				if (s->k < st->d.nadd) {
					r = &st->d.add[s->k++];
				} else if (st->to == s->target) {
					s->stage = 2;
				} else if (idx + 1 < j->count) {
					s->from = st->to;
					s->part = 0;
					idx++;
				} else {
					ret = SIGNET_ENOTFOUND;
				}
				break;
			}
			if (r && ret == SIGNET_OK)
				ret = axfr_rr(&s->x, &r->owner, r->type, r->ttl, &r->rdata);
		}
		pthread_mutex_unlock(&z->jmu);
	}
	if (ret == SIGNET_OK && s->stage == 2) {
		ret = ixfr_set(&s->x, &s->soa);
		if (ret == SIGNET_OK)
			ret = axfr_flush(&s->x);
		s->stage = 3;
	}
	return ret;
}

/* A stream for the transfer q asks of z (ixfr: from the journal, from
 * serial `from` to `target`, whose SOA is newest), in a->stream. */
static signet_err stream_start(zoned *d, answer *a, const zoned_query *q, zoned_zone *z, bool ixfr,
			       uint32_t from, uint32_t target, zone_snap *snap,
			       const dns_rrset *newest)
{
	xfr_stream *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SIGNET_ENOMEM;
	s->z = z;
	s->q = *q;
	s->a = (answer){.out = SG_BUF_INIT, .tcp = true, .tsig = a->tsig, .sign = a->sign};
	if (s->a.tsig.key) {
		s->key = *s->a.tsig.key;
		s->a.tsig.key = &s->key;
	}
	s->x = (axfr_out){.a = &s->a, .q = &s->q};
	s->ixfr = ixfr;
	s->snap = snap;
	s->from = from;
	s->target = target;
	dns_rrset_init(&s->soa, NULL, 0, 0, 0);
	s->stage = ixfr ? 0 : 1;
	if (newest && dns_rrset_copy(&s->soa, newest) != SIGNET_OK) {
		s->snap = NULL;
		stream_free(s);
		return SIGNET_ENOMEM;
	}
	d->xfr_out++;
	a->stream = s;
	return SIGNET_OK;
}

/* The secondary entry of z that sa falls in, or NULL. */
static const zoned_peer *secondary_of(zoned_zone *z, const struct sockaddr *sa)
{
	for (size_t i = 0; i < z->conf.nsecondaries; i++)
		if (zoned_addr_match(&z->conf.secondaries[i].addr, sa))
			return &z->conf.secondaries[i];
	return NULL;
}

static const zoned_peer *primary_of(zoned_zone *z, const struct sockaddr *sa)
{
	for (size_t i = 0; i < z->conf.nprimaries; i++)
		if (zoned_addr_same_host(&z->conf.primaries[i].addr, sa))
			return &z->conf.primaries[i];
	return NULL;
}

static char *addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char h[64] = "?";
	uint16_t port = 0;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, h, sizeof(h));
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, h, sizeof(h));
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	snprintf(buf, len, "%s#%u", h, port);
	return buf;
}

/* Answer one message from sa into a->out; nothing for garbage. */
static void handle(zoned *d, const uint8_t *msg, size_t len, const struct sockaddr *sa, answer *a)
{
	char who[96];
	zoned_query q;
	if (zoned_query_parse(msg, len, &q) != SIGNET_OK) {
		sg_log(SG_LOG_INFO, "zoned: %s: malformed query dropped",
		       addr_str(sa, who, sizeof(who)));
		return;
	}
	zoned_zone *z = q.qclass == DNS_CLASS_IN ? zoned_find(d, &q.qname) : NULL;
	bool notify = q.opcode == OPCODE_NOTIFY && q.qtype == DNS_T_SOA;
	const zoned_peer *peer = z == NULL ? NULL
				 : notify  ? primary_of(z, sa)
					   : secondary_of(z, sa);
	bool xfr = q.qtype == DNS_T_AXFR || q.qtype == DNS_T_IXFR;
	const char *why = NULL;
	if (z == NULL)
		why = "not a zone of ours";
	else if (peer == NULL)
		why = notify ? "NOTIFY from an address that is not a primary"
			     : "an address that is not a secondary";
	else if (q.opcode != 0 && !notify)
		why = "opcode";
	else if (!notify && q.qtype != DNS_T_SOA && !xfr)
		why = "only SOA, AXFR and IXFR are answered";
	else if (xfr && !a->tcp)
		why = "transfers over TCP only";
	else if ((xfr || notify) && !q.has_tsig)
		why = "no TSIG";
	if (why == NULL && q.has_tsig) {
		a->tsig = (zoned_tsig){.key = peer->key, .first = true};
		if (peer->key == NULL || zoned_tsig_verify(&a->tsig, msg, len) != SIGNET_OK)
			why = "TSIG does not verify";
		a->tsig.first = true;
		a->sign = why == NULL;
	}
	if (why != NULL) {
		if (z)
			z->n.refused++;
		sg_log(SG_LOG_NOTICE, "zoned: %s: refused %s: %s", addr_str(sa, who, sizeof(who)),
		       z ? z->conf.name : "query", why);
		/* A failed TSIG gets NOTAUTH, unsigned (RFC 8945 §5.2). */
		reply_rcode(a, &q,
			    strcmp(why, "TSIG does not verify") == 0 ? RCODE_NOTAUTH
								     : RCODE_REFUSED);
		return;
	}
	if (notify) {
		z->n.notify_in++;
		zoned_msg m;
		if (zoned_msg_start(&m, q.id, FLAG_QR | FLAG_AA | (OPCODE_NOTIFY << 11), &q.qname,
				    DNS_T_SOA) == SIGNET_OK)
			finish(a, &m);
		zoned_msg_free(&m);
		sg_log(SG_LOG_INFO, "zoned: %s: NOTIFY from %s", z->conf.name,
		       addr_str(sa, who, sizeof(who)));
		/* A flood of them re-arms one timer: one refresh runs. */
		struct timeval now = {0, 0};
		evtimer_add(z->refresh, &now);
		return;
	}
	zone_snap *snap = served(z);
	if (z->expired || snap == NULL) {
		zone_snap_release(snap);
		reply_rcode(a, &q, RCODE_SERVFAIL);
		return;
	}
	if (xfr) {
		if (d->xfr_out >= XFR_OUT_MAX) {
			z->n.refused++;
			sg_log(SG_LOG_NOTICE, "zoned: %s: refused %s: %u transfers out already",
			       addr_str(sa, who, sizeof(who)), z->conf.name, d->xfr_out);
			reply_rcode(a, &q, RCODE_REFUSED);
			zone_snap_release(snap);
			return;
		}
		z->n.xfr_out++;
		z->n.last_xfr_out = (int64_t)time(NULL);
		/* The version served now, held for the whole transfer. */
		uint32_t cur = 0;
		zone_snap_serials(snap, &cur, NULL);
		if (q.qtype == DNS_T_IXFR && q.ixfr_serial == cur) {
			zone_snap_release(snap);
			sg_log(SG_LOG_INFO, "zoned: %s: IXFR to %s: serial %u is current",
			       z->conf.name, addr_str(sa, who, sizeof(who)), cur);
			reply_soa(a, &q, z);
			return;
		}
		size_t first = 0;
		bool from_journal = false;
		dns_rrset newest;
		dns_rrset_init(&newest, NULL, 0, 0, 0);
		if (q.qtype == DNS_T_IXFR) {
			pthread_mutex_lock(&z->jmu);
			const zoned_journal *j = &z->journal;
			from_journal = zoned_journal_find(j, q.ixfr_serial, &first) == SIGNET_OK &&
				       j->steps[j->count - 1].to == cur &&
				       dns_rrset_copy(&newest, &j->steps[j->count - 1].soa_to) ==
					       SIGNET_OK;
			pthread_mutex_unlock(&z->jmu);
		}
		signet_err ret;
		if (from_journal) {
			zone_snap_release(snap);
			sg_log(SG_LOG_NOTICE, "zoned: %s: IXFR to %s from serial %u to %u",
			       z->conf.name, addr_str(sa, who, sizeof(who)), q.ixfr_serial, cur);
			ret = stream_start(d, a, &q, z, true, q.ixfr_serial, cur, NULL, &newest);
		} else {
			sg_log(SG_LOG_NOTICE, "zoned: %s: AXFR to %s%s", z->conf.name,
			       addr_str(sa, who, sizeof(who)),
			       q.qtype == DNS_T_IXFR ? " (IXFR asked)" : "");
			ret = stream_start(d, a, &q, z, false, 0, cur, snap, NULL);
			if (ret != SIGNET_OK)
				zone_snap_release(snap);
		}
		dns_rrset_clear(&newest);
		if (ret != SIGNET_OK)
			reply_rcode(a, &q, RCODE_SERVFAIL);
		return;
	}
	zone_snap_release(snap);
	reply_soa(a, &q, z);
}

/* ---- UDP ------------------------------------------------------------------ */

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	zoned *d = arg;
	for (int n = 0; n < 64; n++) {
		uint8_t buf[4096];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
		if (r < 0)
			return;
		answer a = {.out = SG_BUF_INIT};
		handle(d, buf, (size_t)r, (struct sockaddr *)&ss, &a);
		/* Answers that do not fit a UDP message are not sent: an SOA
		 * always fits in 512. */
		if (a.out.len && a.out.len <= 512)
			sendto(fd, a.out.data, a.out.len, 0, (struct sockaddr *)&ss, sl);
		sg_buf_free(&a.out);
	}
}

/* ---- TCP ------------------------------------------------------------------ */

typedef struct tcp_conn {
	zoned *d;
	struct sockaddr_storage peer;
	struct bufferevent *bev;
	xfr_stream *xs;               /* a transfer out being streamed: no query read meanwhile */
	struct event *xfr_timer;      /* cuts a transfer that takes too long */
	struct tcp_conn *prev, *next; /* d->conns */
} tcp_conn;

static void tcp_close(tcp_conn *c)
{
	zoned *d = c->d;
	if (c->xs) {
		stream_free(c->xs);
		d->xfr_out--;
	}
	if (c->xfr_timer)
		event_free(c->xfr_timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->tcp_open--;
	bufferevent_free(c->bev);
	free(c);
}

static void on_tcp_read(struct bufferevent *bev, void *arg);

/* A secondary that keeps reading, slowly, would hold the version its
 * transfer sends for ever: the transfer is cut after XFR_OUT_TIME. */
static void on_xfr_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tcp_conn *c = arg;
	if (c->xs == NULL)
		return;
	char who[96];
	sg_log(SG_LOG_WARNING, "zoned: %s: transfer to %s cut after %d s", c->xs->z->conf.name,
	       addr_str((struct sockaddr *)&c->peer, who, sizeof(who)), XFR_OUT_TIME);
	tcp_close(c);
}

/* More of c's transfer, while the socket takes it; at its end the queries
 * that came meanwhile are read. False when c was closed. */
static bool pump(tcp_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	while (c->xs && evbuffer_get_length(out) < XFR_HIGH) {
		xfr_stream *s = c->xs;
		signet_err ret = s->ixfr ? ixfr_more(s) : axfr_more(s);
		if (ret == SIGNET_OK && s->a.out.len &&
		    bufferevent_write(c->bev, s->a.out.data, s->a.out.len) != 0)
			ret = SIGNET_ENOMEM;
		sg_buf_reset(&s->a.out);
		if (ret != SIGNET_OK) {
			char who[96];
			sg_log(SG_LOG_WARNING, "zoned: %s: %s to %s cut: %s", s->z->conf.name,
			       s->ixfr ? "IXFR" : "AXFR",
			       addr_str((struct sockaddr *)&c->peer, who, sizeof(who)),
			       ret == SIGNET_ENOTFOUND ? "the journal moved past it"
						       : signet_strerror(ret));
			tcp_close(c);
			return false;
		}
		if (s->stage == 3) {
			char who[96];
			sg_log(SG_LOG_INFO, "zoned: %s: %s to %s sent whole", s->z->conf.name,
			       s->ixfr ? "IXFR" : "AXFR",
			       addr_str((struct sockaddr *)&c->peer, who, sizeof(who)));
			stream_free(s);
			c->xs = NULL;
			c->d->xfr_out--;
			evtimer_del(c->xfr_timer);
			bufferevent_enable(c->bev, EV_READ);
			on_tcp_read(c->bev, c);
			return false; /* on_tcp_read went on with c (or closed it) */
		}
	}
	return true;
}

static void on_tcp_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tcp_conn *c = arg;
	if (c->xs)
		pump(c);
}

static void on_tcp_read(struct bufferevent *bev, void *arg)
{
	tcp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (c->xs == NULL && evbuffer_get_length(in) >= 2) {
		uint8_t l[2];
		evbuffer_copyout(in, l, 2);
		size_t len = sg_get_u16(l);
		if (evbuffer_get_length(in) < len + 2)
			return;
		if (evbuffer_get_length(bufferevent_get_output(bev)) > TCP_OUT_MAX) {
			tcp_close(c);
			return;
		}
		uint8_t *msg = malloc(len ? len : 1);
		if (msg == NULL) {
			tcp_close(c);
			return;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, msg, len);
		answer a = {.out = SG_BUF_INIT, .tcp = true};
		handle(c->d, msg, len, (struct sockaddr *)&c->peer, &a);
		free(msg);
		if (a.out.len)
			bufferevent_write(bev, a.out.data, a.out.len);
		sg_buf_free(&a.out);
		if (a.stream) {
			/* The next query waits for the end of the transfer. */
			c->xs = a.stream;
			struct timeval most = {XFR_OUT_TIME, 0};
			if (c->xfr_timer == NULL)
				c->xfr_timer = evtimer_new(c->d->base, on_xfr_timer, c);
			if (c->xfr_timer == NULL || evtimer_add(c->xfr_timer, &most) != 0) {
				tcp_close(c);
				return;
			}
			bufferevent_disable(bev, EV_READ);
			pump(c);
			return;
		}
	}
}

void zoned_serve_forget(zoned *d, zoned_zone *z)
{
	tcp_conn *c = d->conns;
	while (c) {
		tcp_conn *next = c->next;
		if (c->xs && c->xs->z == z)
			tcp_close(c);
		c = next;
	}
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	tcp_close(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	(void)l;
	zoned *d = arg;
	if (d->tcp_open >= d->cfg.tcp_clients || (size_t)salen > sizeof(struct sockaddr_storage)) {
		close(fd);
		return;
	}
	tcp_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = c ? bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE)
				    : NULL;
	if (bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->d = d;
	c->bev = bev;
	memcpy(&c->peer, sa, (size_t)salen);
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->tcp_open++;
	/* A secondary that reads nothing of a transfer for this long is cut. */
	struct timeval idle = {TCP_IDLE, 0};
	bufferevent_set_timeouts(bev, &idle, &idle);
	/* The transfer goes on when the queue drains to half. */
	bufferevent_setwatermark(bev, EV_WRITE, XFR_HIGH / 2, 0);
	bufferevent_setcb(bev, on_tcp_read, on_tcp_write, on_tcp_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ---- NOTIFY out ------------------------------------------------------------ */

static void notify_send(notify_out *n)
{
	zoned_zone *z = n->zone;
	uint8_t id[2];
	if (RAND_bytes(id, 2) != 1)
		return;
	n->id = sg_get_u16(id);
	zoned_msg m;
	answer a = {.out = SG_BUF_INIT, .sign = n->peer->key != NULL};
	a.tsig = (zoned_tsig){.key = n->peer->key, .first = true};
	if (zoned_msg_start(&m, n->id, FLAG_AA | (OPCODE_NOTIFY << 11), &z->conf.apex, DNS_T_SOA) ==
		    SIGNET_OK &&
	    finish(&a, &m) == SIGNET_OK)
		sendto(z->d->notify_fd, a.out.data, a.out.len, 0,
		       (const struct sockaddr *)&n->peer->addr.sa, n->peer->addr.len);
	zoned_msg_free(&m);
	sg_buf_free(&a.out);
	/* Back-off: 1, 2, 4, 8, 16 s, then give up until the next serial. */
	struct timeval tv = {(time_t)1 << n->tries, 0};
	n->tries++;
	evtimer_add(n->timer, &tv);
}

static void on_notify_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	notify_out *n = arg;
	if (!n->pending)
		return;
	if (n->tries >= NOTIFY_TRIES) {
		char who[96];
		n->pending = false;
		n->zone->n.notify_out_failed++;
		sg_log(SG_LOG_WARNING, "zoned: %s: NOTIFY to %s unanswered after %u tries",
		       n->zone->conf.name,
		       addr_str((const struct sockaddr *)&n->peer->addr.sa, who, sizeof(who)),
		       n->tries);
		return;
	}
	notify_send(n);
}

void zoned_notify_all(zoned_zone *z)
{
	for (size_t i = 0; i < z->conf.nsecondaries; i++) {
		notify_out *n = &z->notify[i];
		if (!z->conf.secondaries[i].notify)
			continue;
		if (n->timer == NULL) {
			n->zone = z;
			n->peer = &z->conf.secondaries[i];
			n->timer = evtimer_new(z->d->base, on_notify_timer, n);
			if (n->timer == NULL)
				continue;
		}
		n->tries = 0;
		n->pending = true;
		notify_send(n);
	}
}

static void on_notify_answer(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	zoned *d = arg;
	for (int k = 0; k < 64; k++) {
		uint8_t buf[1024];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
		if (r < 12)
			return;
		uint16_t id = sg_get_u16(buf);
		if (!(buf[2] & 0x80))
			continue;
		for (size_t i = 0; i < d->nzones; i++)
			for (size_t s = 0; s < ZONED_PEERS_MAX; s++) {
				notify_out *n = &d->zones[i]->notify[s];
				if (n->pending && n->id == id &&
				    zoned_addr_same_host(&n->peer->addr, (struct sockaddr *)&ss))
					n->pending = false;
			}
	}
}

/* ---- start and stop -------------------------------------------------------- */

signet_err zoned_serve_start(zoned *d)
{
	zoned_addr a;
	if (zoned_addr_parse(d->cfg.listen, 53, false, &a) != SIGNET_OK)
		return SIGNET_EINVAL;
	d->udp = socket(a.sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (d->udp < 0 || setsockopt(d->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(d->udp, (struct sockaddr *)&a.sa, a.len) != 0) {
		sg_log(SG_LOG_ERROR, "zoned: UDP %s: %s", d->cfg.listen, strerror(errno));
		return SIGNET_EIO;
	}
	d->udp_ev = event_new(d->base, d->udp, EV_READ | EV_PERSIST, on_udp, d);
	d->tcp = evconnlistener_new_bind(d->base, on_accept, d,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 128, (struct sockaddr *)&a.sa, (int)a.len);
	if (d->udp_ev == NULL || d->tcp == NULL) {
		sg_log(SG_LOG_ERROR, "zoned: TCP %s: %s", d->cfg.listen, strerror(errno));
		return SIGNET_EIO;
	}
	event_add(d->udp_ev, NULL);
	d->notify_fd = socket(a.sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->notify_fd < 0)
		return SIGNET_EIO;
	d->notify_ev = event_new(d->base, d->notify_fd, EV_READ | EV_PERSIST, on_notify_answer, d);
	if (d->notify_ev == NULL)
		return SIGNET_ENOMEM;
	event_add(d->notify_ev, NULL);
	return SIGNET_OK;
}

void zoned_serve_stop(zoned *d)
{
	while (d->conns)
		tcp_close(d->conns);
	if (d->udp_ev)
		event_free(d->udp_ev);
	if (d->udp >= 0)
		close(d->udp);
	if (d->tcp)
		evconnlistener_free(d->tcp);
	if (d->notify_ev)
		event_free(d->notify_ev);
	if (d->notify_fd >= 0)
		close(d->notify_fd);
}
