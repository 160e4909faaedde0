/* wire.c -- DNS messages in wire form: answers written uncompressed,
 * queries read (header, the question, an IXFR's SOA, whether a TSIG is
 * there), and the TSIG RR of any message found and read. Every read is
 * bounded by the message; fuzzed by fuzz_zoned_query and fuzz_zoned_tsig. */
#include <string.h>

#include "zoned/zoned.h"

#define HDR 12

signet_err zoned_msg_start(zoned_msg *m, uint16_t id, uint16_t flags, const dns_name *qname,
			   uint16_t qtype)
{
	memset(m, 0, sizeof(*m));
	m->b.limit = ZONED_MSG_MAX;
	signet_err ret = sg_buf_put_u16(&m->b, id);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u16(&m->b, flags);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u16(&m->b, qname ? 1 : 0);
	for (int i = 0; i < 3 && ret == SIGNET_OK; i++)
		ret = sg_buf_put_u16(&m->b, 0);
	if (ret == SIGNET_OK && qname) {
		ret = sg_buf_append(&m->b, qname->wire, qname->len);
		if (ret == SIGNET_OK)
			ret = sg_buf_put_u16(&m->b, qtype);
		if (ret == SIGNET_OK)
			ret = sg_buf_put_u16(&m->b, DNS_CLASS_IN);
	}
	return ret;
}

signet_err zoned_msg_rr(zoned_msg *m, const dns_name *owner, uint16_t type, uint32_t ttl,
			const uint8_t *rdata, size_t len)
{
	if (m->ancount == 0xffff || len > DNS_RDATA_MAX)
		return SIGNET_ERANGE;
	size_t mark = m->b.len;
	signet_err ret = sg_buf_append(&m->b, owner->wire, owner->len);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u16(&m->b, type);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u16(&m->b, DNS_CLASS_IN);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u32(&m->b, ttl);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u16(&m->b, (uint16_t)len);
	if (ret == SIGNET_OK && len)
		ret = sg_buf_append(&m->b, rdata, len);
	if (ret != SIGNET_OK) {
		m->b.len = mark; /* the message stays whole without this RR */
		return ret;
	}
	m->ancount++;
	m->b.data[6] = (uint8_t)(m->ancount >> 8);
	m->b.data[7] = (uint8_t)m->ancount;
	return SIGNET_OK;
}

void zoned_msg_free(zoned_msg *m)
{
	sg_buf_free(&m->b);
}

/* A possibly compressed name at *pos into out; *pos moves past it. Pointers
 * must point backwards, so every jump shortens the walk. */
static signet_err read_name(const uint8_t *msg, size_t len, size_t *pos, dns_name *out)
{
	size_t p = *pos, end = 0, n = 0;
	bool jumped = false;
	uint8_t w[DNS_NAME_MAX];
	for (;;) {
		if (p >= len)
			return SIGNET_EPARSE;
		uint8_t l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return SIGNET_EPARSE;
			size_t to = ((size_t)(l & 0x3f) << 8) | msg[p + 1];
			if (to >= p)
				return SIGNET_EPARSE;
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = to;
			continue;
		}
		if (l & 0xc0)
			return SIGNET_EPARSE;
		if (p + 1 + l > len || n + 1 + l > DNS_NAME_MAX)
			return SIGNET_EPARSE;
		memcpy(w + n, msg + p, 1u + l);
		n += 1u + l;
		p += 1u + l;
		if (l == 0)
			break;
	}
	*pos = jumped ? end : p;
	return dns_name_from_wire(out, w, n, NULL);
}

signet_err zoned_query_parse(const uint8_t *msg, size_t len, zoned_query *out)
{
	if (msg == NULL || out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	if (len < HDR || len > ZONED_MSG_MAX)
		return SIGNET_EPARSE;
	out->id = sg_get_u16(msg);
	out->flags = sg_get_u16(msg + 2);
	out->opcode = (out->flags >> 11) & 0xf;
	uint16_t qd = sg_get_u16(msg + 4), an = sg_get_u16(msg + 6);
	uint16_t ns = sg_get_u16(msg + 8), ar = sg_get_u16(msg + 10);
	if ((out->flags & 0x8000) || qd != 1 || ns > 1 || ar > 2)
		return SIGNET_EPARSE;
	/* A NOTIFY may carry the new SOA in answer; anything else none. */
	if (an > (out->opcode == 4 ? 1 : 0))
		return SIGNET_EPARSE;
	size_t pos = HDR;
	if (read_name(msg, len, &pos, &out->qname) != SIGNET_OK || pos + 4 > len)
		return SIGNET_EPARSE;
	out->qtype = sg_get_u16(msg + pos);
	out->qclass = sg_get_u16(msg + pos + 2);
	pos += 4;
	unsigned total = (unsigned)an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		dns_name owner;
		if (read_name(msg, len, &pos, &owner) != SIGNET_OK || pos + 10 > len)
			return SIGNET_EPARSE;
		uint16_t type = sg_get_u16(msg + pos);
		uint16_t rdlen = sg_get_u16(msg + pos + 8);
		pos += 10;
		if (pos + rdlen > len)
			return SIGNET_EPARSE;
		bool authority = i >= an && i < (unsigned)an + ns;
		if (authority) {
			/* IXFR (RFC 1995 §3): the SOA of the version the client has. */
			if (type != DNS_T_SOA || out->qtype != DNS_T_IXFR || rdlen < 22)
				return SIGNET_EPARSE;
			out->ixfr_serial = sg_get_u32(msg + pos + rdlen - 20);
			out->has_ixfr_serial = true;
		}
		if (type == DNS_T_TSIG) {
			/* Only as the very last RR (RFC 8945 §5.1). */
			if (i != total - 1 || pos + rdlen != len)
				return SIGNET_EPARSE;
			out->has_tsig = true;
		}
		pos += rdlen;
	}
	if (pos != len)
		return SIGNET_EPARSE;
	if (out->qtype == DNS_T_IXFR && !out->has_ixfr_serial)
		return SIGNET_EPARSE;
	return SIGNET_OK;
}

/* The RRs of a section: *pos moves past n of them; *last is where the last
 * one began, *type its type. */
static signet_err skip_rrs(const uint8_t *msg, size_t len, size_t *pos, unsigned n, size_t *last,
			   uint16_t *type)
{
	for (unsigned i = 0; i < n; i++) {
		dns_name owner;
		*last = *pos;
		if (read_name(msg, len, pos, &owner) != SIGNET_OK || *pos + 10 > len)
			return SIGNET_EPARSE;
		*type = sg_get_u16(msg + *pos);
		size_t rdlen = sg_get_u16(msg + *pos + 8);
		*pos += 10;
		if (rdlen > len - *pos)
			return SIGNET_EPARSE;
		*pos += rdlen;
	}
	return SIGNET_OK;
}

signet_err zoned_tsig_rr_find(const uint8_t *msg, size_t len, zoned_tsig_rr *out)
{
	if (msg == NULL || out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	if (len < HDR || len > ZONED_MSG_MAX)
		return SIGNET_EPARSE;
	unsigned qd = sg_get_u16(msg + 4), an = sg_get_u16(msg + 6);
	unsigned ns = sg_get_u16(msg + 8), ar = sg_get_u16(msg + 10);
	size_t pos = HDR, last = 0;
	for (unsigned i = 0; i < qd; i++) {
		dns_name q;
		if (read_name(msg, len, &pos, &q) != SIGNET_OK || pos + 4 > len)
			return SIGNET_EPARSE;
		pos += 4;
	}
	uint16_t type = 0;
	if (skip_rrs(msg, len, &pos, an + ns, &last, &type) != SIGNET_OK)
		return SIGNET_EPARSE;
	/* A TSIG may only be the last RR of the additional section, and
	 * nothing may follow the RRs the header counts. */
	type = 0;
	if (skip_rrs(msg, len, &pos, ar, &last, &type) != SIGNET_OK || pos != len)
		return SIGNET_EPARSE;
	if (ar == 0 || type != DNS_T_TSIG)
		return SIGNET_ENOTFOUND;
	/* The TSIG RR (RFC 8945 §4.2): owner the key's name, class ANY, TTL 0;
	 * RDATA the algorithm's name, time signed (48 bits), fudge, MAC
	 * size and MAC, original ID, error, other length and other data. */
	out->pos = last;
	size_t p = last;
	if (read_name(msg, len, &p, &out->key) != SIGNET_OK)
		return SIGNET_EPARSE;
	if (sg_get_u16(msg + p + 2) != 255 || sg_get_u32(msg + p + 4) != 0)
		return SIGNET_EPARSE;
	size_t end = p + 10 + sg_get_u16(msg + p + 8);
	p += 10;
	if (read_name(msg, end, &p, &out->algorithm) != SIGNET_OK || p + 10 > end)
		return SIGNET_EPARSE;
	out->time_signed = ((uint64_t)sg_get_u16(msg + p) << 32) | sg_get_u32(msg + p + 2);
	out->fudge = sg_get_u16(msg + p + 6);
	out->mac_len = sg_get_u16(msg + p + 8);
	p += 10;
	if (out->mac_len > end - p)
		return SIGNET_EPARSE;
	out->mac = msg + p;
	p += out->mac_len;
	if (p + 6 > end)
		return SIGNET_EPARSE;
	out->orig_id = sg_get_u16(msg + p);
	out->error = sg_get_u16(msg + p + 2);
	out->other_len = sg_get_u16(msg + p + 4);
	p += 6;
	if (out->other_len != end - p)
		return SIGNET_EPARSE;
	out->other = msg + p;
	return SIGNET_OK;
}
