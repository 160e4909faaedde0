/* journal.c -- the journal of signed differences IXFR out answers from:
 * the difference the engine reports for each new signed version, kept as a
 * step between two serials, oldest dropped first past the bounds; and its
 * file, a record appended per step (length and checksum, so a torn tail
 * is found), rewritten whole only past twice the bounds. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "zoned/zoned.h"

void zoned_journal_init(zoned_journal *j, size_t max_steps, size_t max_rrs)
{
	memset(j, 0, sizeof(*j));
	j->max_steps = max_steps;
	j->max_rrs = max_rrs;
}

static void step_free(zoned_step *s)
{
	dns_rrset_clear(&s->soa_from);
	dns_rrset_clear(&s->soa_to);
	zone_diff_free(&s->d);
}

void zoned_journal_free(zoned_journal *j)
{
	for (size_t i = 0; i < j->count; i++)
		step_free(&j->steps[i]);
	free(j->steps);
	memset(j, 0, sizeof(*j));
}

/* The apex SOA of one side of a difference into out. */
static signet_err take_soa(const zone_rr *v, size_t n, const dns_name *apex, dns_rrset *out,
			   uint32_t *serial)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].type == DNS_T_SOA && dns_name_equal(&v[i].owner, apex) &&
		    v[i].rdata.len >= 22) {
			dns_rrset_init(out, &v[i].owner, DNS_T_SOA, DNS_CLASS_IN, v[i].ttl);
			*serial = sg_get_u32(v[i].rdata.data + v[i].rdata.len - 20);
			return dns_rrset_add(out, v[i].rdata.data, v[i].rdata.len);
		}
	return SIGNET_ENOTFOUND;
}

/* The bounds: the oldest steps go first. */
static void trim(zoned_journal *j)
{
	size_t drop = 0;
	while (drop < j->count && (j->count - drop > j->max_steps || j->rrs > j->max_rrs)) {
		j->rrs -= j->steps[drop].rrs;
		step_free(&j->steps[drop++]);
	}
	if (drop) {
		memmove(j->steps, j->steps + drop, (j->count - drop) * sizeof(*j->steps));
		j->count -= drop;
	}
}

signet_err zoned_journal_add(zoned_journal *j, const dns_name *apex, const zone_diff *changes,
			     uint32_t serial_in)
{
	if (changes->ndel == 0 && changes->nadd == 0)
		return SIGNET_OK; /* a first version: nothing to step from */
	zoned_step s;
	memset(&s, 0, sizeof(s));
	s.in = serial_in;
	s.has_in = true;
	signet_err ret = take_soa(changes->del, changes->ndel, apex, &s.soa_from, &s.from);
	if (ret == SIGNET_OK)
		ret = take_soa(changes->add, changes->nadd, apex, &s.soa_to, &s.to);
	if (ret == SIGNET_OK && dns_serial_compare(s.to, s.from) != 1)
		ret = SIGNET_EINVAL; /* not forward: no step a secondary could ask for */
	for (int add = 0; ret == SIGNET_OK && add < 2; add++) {
		const zone_rr *v = add ? changes->add : changes->del;
		size_t n = add ? changes->nadd : changes->ndel;
		for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
			if (v[i].type == DNS_T_SOA && dns_name_equal(&v[i].owner, apex))
				continue;
			ret = zone_diff_push(&s.d, add, &v[i].owner, v[i].type, v[i].ttl,
					     v[i].rdata.data, v[i].rdata.len);
			s.rrs++;
		}
	}
	if (ret == SIGNET_OK && j->count == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 8;
		zoned_step *p = realloc(j->steps, cap * sizeof(*p));
		if (p == NULL) {
			ret = SIGNET_ENOMEM;
		} else {
			j->steps = p;
			j->cap = cap;
		}
	}
	if (ret != SIGNET_OK) {
		step_free(&s);
		return ret;
	}
	j->steps[j->count++] = s;
	j->rrs += s.rrs;
	trim(j);
	return SIGNET_OK;
}

void zoned_journal_bound(zoned_journal *j, size_t max_rrs)
{
	j->max_rrs = max_rrs;
	trim(j);
}

signet_err zoned_journal_find(const zoned_journal *j, uint32_t from, size_t *first)
{
	for (size_t i = 0; i < j->count; i++)
		if (j->steps[i].from == from) {
			/* Every later step must follow on. */
			for (size_t k = i + 1; k < j->count; k++)
				if (j->steps[k].from != j->steps[k - 1].to)
					return SIGNET_ENOTFOUND;
			*first = i;
			return SIGNET_OK;
		}
	return SIGNET_ENOTFOUND;
}

static signet_err write_rr(sg_buf *out, char sign, const dns_name *owner, uint16_t type,
			   uint32_t ttl, const dns_rdata *rd)
{
	signet_err ret = sg_buf_put_u8(out, (uint8_t)sign);
	if (ret == SIGNET_OK)
		ret = dns_rr_to_text(owner, type, DNS_CLASS_IN, ttl, rd->data, rd->len, out);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(out, '\n');
	return ret;
}

/* One step in text form, "$STEP FROM TO IN" to "$END", onto out. */
static signet_err write_step(const zoned_step *s, sg_buf *out)
{
	signet_err ret = s->has_in ? sg_buf_printf(out, "$STEP %u %u %u\n", s->from, s->to, s->in)
				   : sg_buf_printf(out, "$STEP %u %u\n", s->from, s->to);
	if (ret == SIGNET_OK)
		ret = write_rr(out, '<', &s->soa_from.owner, DNS_T_SOA, s->soa_from.ttl,
			       &s->soa_from.rr[0]);
	if (ret == SIGNET_OK)
		ret = write_rr(out, '>', &s->soa_to.owner, DNS_T_SOA, s->soa_to.ttl,
			       &s->soa_to.rr[0]);
	for (size_t k = 0; ret == SIGNET_OK && k < s->d.ndel; k++)
		ret = write_rr(out, '-', &s->d.del[k].owner, s->d.del[k].type, s->d.del[k].ttl,
			       &s->d.del[k].rdata);
	for (size_t k = 0; ret == SIGNET_OK && k < s->d.nadd; k++)
		ret = write_rr(out, '+', &s->d.add[k].owner, s->d.add[k].type, s->d.add[k].ttl,
			       &s->d.add[k].rdata);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(out, "$END\n");
	return ret;
}

signet_err zoned_journal_write(const zoned_journal *j, sg_buf *out)
{
	signet_err ret = sg_buf_printf(out, "; signet-zoned journal\n");
	for (size_t i = 0; ret == SIGNET_OK && i < j->count; i++)
		ret = write_step(&j->steps[i], out);
	return ret;
}

/* The oldest step of j out. */
static void drop_oldest(zoned_journal *j)
{
	j->rrs -= j->steps[0].rrs;
	step_free(&j->steps[0]);
	memmove(j->steps, j->steps + 1, (j->count - 1) * sizeof(*j->steps));
	j->count--;
}

/* One RR line of a step into s. */
static signet_err read_rr(zoned_step *s, const dns_name *apex, const char *line)
{
	char sign = line[0];
	if (sign == '\0' || line[1] == '\0')
		return SIGNET_EPARSE;
	dns_name owner;
	uint16_t type = 0, rclass = 0;
	uint32_t ttl = 0;
	sg_buf rd = SG_BUF_INIT;
	signet_err ret = dns_rr_from_text(line + 1, NULL, &owner, &type, &rclass, &ttl, &rd);
	if (ret == SIGNET_OK && (rclass != DNS_CLASS_IN || !dns_name_is_at_or_below(&owner, apex)))
		ret = SIGNET_EPARSE;
	if (ret == SIGNET_OK && (sign == '<' || sign == '>')) {
		dns_rrset *soa = sign == '<' ? &s->soa_from : &s->soa_to;
		if (type != DNS_T_SOA || soa->count || rd.len < 22 || !dns_name_equal(&owner, apex))
			ret = SIGNET_EPARSE;
		else {
			dns_rrset_init(soa, &owner, DNS_T_SOA, DNS_CLASS_IN, ttl);
			ret = dns_rrset_add(soa, rd.data, rd.len);
		}
	} else if (ret == SIGNET_OK && (sign == '-' || sign == '+')) {
		ret = zone_diff_push(&s->d, sign == '+', &owner, type, ttl, rd.data, rd.len);
		s->rrs++;
	} else if (ret == SIGNET_OK) {
		ret = SIGNET_EPARSE;
	}
	sg_buf_free(&rd);
	return ret;
}

signet_err zoned_journal_read(zoned_journal *j, const dns_name *apex, const char *text, size_t len,
			      uint32_t newest)
{
	signet_err ret = SIGNET_OK;
	zoned_step s;
	bool open = false;
	size_t pos = 0;
	char *line = NULL;
	memset(&s, 0, sizeof(s));
	while (ret == SIGNET_OK && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (memchr(text + pos, '\0', n) != NULL) {
			ret = SIGNET_EPARSE; /* a NUL would end the line early */
			break;
		}
		free(line);
		line = strndup(text + pos, n);
		pos += n + (nl ? 1 : 0);
		if (line == NULL) {
			ret = SIGNET_ENOMEM;
			break;
		}
		if (n == 0 || line[0] == ';')
			continue;
		unsigned long from = 0, to = 0, in = 0;
		char tail = 0;
		/* "$STEP FROM TO IN", or "$STEP FROM TO" as older files have it;
		 * nothing after either. */
		int got = 0;
		if (!open && sscanf(line, "$STEP %lu %lu %lu%c", &from, &to, &in, &tail) == 3)
			got = 3;
		else if (!open && sscanf(line, "$STEP %lu %lu%c", &from, &to, &tail) == 2)
			got = 2;
		if (got && from <= 0xffffffffUL && to <= 0xffffffffUL && in <= 0xffffffffUL) {
			memset(&s, 0, sizeof(s));
			s.from = (uint32_t)from;
			s.to = (uint32_t)to;
			s.in = (uint32_t)in;
			s.has_in = got == 3;
			open = true;
		} else if (open && strcmp(line, "$END") == 0) {
			open = false;
			uint32_t sf = 0, st = 0;
			if (s.soa_from.count != 1 || s.soa_to.count != 1 ||
			    (sf = sg_get_u32(s.soa_from.rr[0].data + s.soa_from.rr[0].len - 20)) !=
				    s.from ||
			    (st = sg_get_u32(s.soa_to.rr[0].data + s.soa_to.rr[0].len - 20)) !=
				    s.to ||
			    (j->count && j->steps[j->count - 1].to != s.from) ||
			    s.rrs > j->max_rrs) {
				ret = SIGNET_EPARSE;
				break;
			}
			/* Past the bounds the oldest go, as zoned_journal_add
			 * drops them (a file holds up to twice the bounds). */
			while (j->count &&
			       (j->count >= j->max_steps || j->rrs + s.rrs > j->max_rrs))
				drop_oldest(j);
			if (j->count == j->cap) {
				size_t cap = j->cap ? 2 * j->cap : 8;
				zoned_step *p = realloc(j->steps, cap * sizeof(*p));
				if (p == NULL) {
					ret = SIGNET_ENOMEM;
					break;
				}
				j->steps = p;
				j->cap = cap;
			}
			j->steps[j->count++] = s;
			j->rrs += s.rrs;
			memset(&s, 0, sizeof(s));
		} else if (open) {
			ret = read_rr(&s, apex, line);
		} else {
			ret = SIGNET_EPARSE;
		}
	}
	free(line);
	size_t first = 0;
	if (open || (ret == SIGNET_OK && j->count && j->steps[j->count - 1].to != newest &&
		     zoned_journal_find(j, newest, &first) != SIGNET_OK))
		ret = SIGNET_EPARSE;
	step_free(&s);
	if (ret != SIGNET_OK) {
		for (size_t i = 0; i < j->count; i++)
			step_free(&j->steps[i]);
		j->count = 0;
		j->rrs = 0;
	}
	return ret;
}

signet_err zoned_journal_replay(const zoned_journal *j, size_t first, dns_zone *z, size_t max_rrs)
{
	signet_err ret = SIGNET_OK;
	for (size_t i = first; ret == SIGNET_OK && i < j->count; i++) {
		const zoned_step *s = &j->steps[i];
		/* The step as an IXFR sends it: the SOAs with the rest. */
		zone_diff d = {0};
		ret = zone_diff_push(&d, false, &s->soa_from.owner, DNS_T_SOA, s->soa_from.ttl,
				     s->soa_from.rr[0].data, s->soa_from.rr[0].len);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.ndel; k++)
			ret = zone_diff_push(&d, false, &s->d.del[k].owner, s->d.del[k].type,
					     s->d.del[k].ttl, s->d.del[k].rdata.data,
					     s->d.del[k].rdata.len);
		if (ret == SIGNET_OK)
			ret = zone_diff_push(&d, true, &s->soa_to.owner, DNS_T_SOA, s->soa_to.ttl,
					     s->soa_to.rr[0].data, s->soa_to.rr[0].len);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.nadd; k++)
			ret = zone_diff_push(&d, true, &s->d.add[k].owner, s->d.add[k].type,
					     s->d.add[k].ttl, s->d.add[k].rdata.data,
					     s->d.add[k].rdata.len);
		if (ret == SIGNET_OK)
			ret = zone_diff_apply(z, &d, max_rrs);
		zone_diff_free(&d);
	}
	return ret;
}

#define FILE_HEAD "; signet-zoned journal 2\n"
#define REC_HEAD_MAX 64

/* The checksum of a record's payload: the first 8 octets of its SHA-256. */
static signet_err payload_sum(const uint8_t *p, size_t n, uint64_t *sum)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
		return SIGNET_ECRYPTO;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | md[i];
	*sum = v;
	return SIGNET_OK;
}

/* Step s as one record onto out. */
static signet_err write_record(const zoned_step *s, sg_buf *out)
{
	sg_buf p = SG_BUF_INIT;
	uint64_t sum = 0;
	signet_err ret = write_step(s, &p);
	if (ret == SIGNET_OK)
		ret = payload_sum(p.data, p.len, &sum);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(out, "$REC %zu %016" PRIx64 "\n", p.len, sum);
	if (ret == SIGNET_OK)
		ret = sg_buf_append(out, p.data, p.len);
	sg_buf_free(&p);
	return ret;
}

static signet_err write_fd(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return signet_err_from_errno(w < 0 ? errno : EIO);
		p += w;
		len -= (size_t)w;
	}
	return SIGNET_OK;
}

/* The whole file again, atomically: the head and a record per step. */
static signet_err compact(zoned_journal *j, const char *path, size_t *octets)
{
	sg_buf b = SG_BUF_INIT;
	signet_err ret = sg_buf_append(&b, FILE_HEAD, strlen(FILE_HEAD));
	for (size_t i = 0; ret == SIGNET_OK && i < j->count; i++)
		ret = write_record(&j->steps[i], &b);
	char tmp[PATH_MAX];
	int fd = -1;
	if (ret == SIGNET_OK)
		ret = sg_file_tmp_open(path, 0600, tmp, sizeof(tmp), &fd);
	if (ret == SIGNET_OK) {
		ret = write_fd(fd, b.data, b.len);
		if (ret == SIGNET_OK)
			ret = sg_file_commit(fd, tmp, path);
		else
			sg_file_tmp_discard(fd, tmp);
	}
	if (ret == SIGNET_OK) {
		*octets = b.len;
		j->file_ok = true;
		j->file_to = j->count ? j->steps[j->count - 1].to : 0;
		j->file_steps = j->count;
		j->file_rrs = j->rrs;
	}
	sg_buf_free(&b);
	return ret;
}

signet_err zoned_journal_store(zoned_journal *j, const char *path, bool rewrite, size_t *octets)
{
	if (j == NULL || path == NULL || octets == NULL)
		return SIGNET_EINVAL;
	*octets = 0;
	/* The steps after the file's last: they must follow on from it. */
	size_t first = j->count;
	if (j->file_ok && j->count && j->steps[j->count - 1].to != j->file_to &&
	    zoned_journal_find(j, j->file_to, &first) != SIGNET_OK)
		rewrite = true;
	size_t steps = j->file_steps, rrs = j->file_rrs;
	for (size_t i = first; i < j->count; i++) {
		steps++;
		rrs += j->steps[i].rrs;
	}
	if (rewrite || !j->file_ok || steps > 2 * j->max_steps || rrs > 2 * j->max_rrs) {
		signet_err ret = compact(j, path, octets);
		if (ret != SIGNET_OK)
			j->file_ok = false;
		return ret;
	}
	if (first == j->count)
		return SIGNET_OK; /* nothing new */
	sg_buf b = SG_BUF_INIT;
	signet_err ret = SIGNET_OK;
	for (size_t i = first; ret == SIGNET_OK && i < j->count; i++)
		ret = write_record(&j->steps[i], &b);
	/* One write and one fsync per change: a kill -9 in between leaves a
	 * torn last record, which zoned_journal_load drops. */
	int fd = ret == SIGNET_OK ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
	if (ret == SIGNET_OK && fd < 0)
		ret = signet_err_from_errno(errno);
	if (ret == SIGNET_OK)
		ret = write_fd(fd, b.data, b.len);
	if (ret == SIGNET_OK && fsync(fd) != 0)
		ret = signet_err_from_errno(errno);
	if (fd >= 0 && close(fd) != 0 && ret == SIGNET_OK)
		ret = signet_err_from_errno(errno);
	if (ret == SIGNET_OK) {
		*octets = b.len;
		j->file_to = j->steps[j->count - 1].to;
		j->file_steps = steps;
		j->file_rrs = rrs;
	} else {
		j->file_ok = false; /* whatever is in it, it is written whole next time */
	}
	sg_buf_free(&b);
	return ret;
}

/* The records of a journal file: their payloads, checked, onto out;
 * *end where the first bad one begins (len if none). */
static signet_err read_records(const char *text, size_t len, sg_buf *out, size_t *nrec, size_t *end)
{
	size_t pos = strlen(FILE_HEAD);
	*nrec = 0;
	while (pos < len) {
		*end = pos;
		size_t hl = len - pos < REC_HEAD_MAX ? len - pos : REC_HEAD_MAX;
		const char *nl = memchr(text + pos, '\n', hl);
		if (nl == NULL)
			return SIGNET_OK; /* torn in its head */
		char head[REC_HEAD_MAX + 1];
		size_t n = (size_t)(nl - (text + pos));
		memcpy(head, text + pos, n);
		head[n] = 0;
		size_t octets = 0;
		uint64_t sum = 0, got = 0;
		int used = 0;
		if (sscanf(head, "$REC %zu %16" SCNx64 "%n", &octets, &sum, &used) != 2 ||
		    (size_t)used != n)
			return SIGNET_OK; /* damaged */
		size_t body = pos + n + 1;
		if (octets > len - body)
			return SIGNET_OK; /* torn in its payload */
		signet_err ret = payload_sum((const uint8_t *)text + body, octets, &got);
		if (ret != SIGNET_OK)
			return ret;
		if (got != sum)
			return SIGNET_OK; /* damaged */
		ret = sg_buf_append(out, text + body, octets);
		if (ret != SIGNET_OK)
			return ret;
		(*nrec)++;
		pos = body + octets;
	}
	*end = len;
	return SIGNET_OK;
}

signet_err zoned_journal_load(zoned_journal *j, const dns_name *apex, const char *text, size_t len,
			      uint32_t newest, char *note, size_t notelen)
{
	if (j == NULL || text == NULL || note == NULL || notelen == 0)
		return SIGNET_EINVAL;
	note[0] = 0;
	if (len < strlen(FILE_HEAD) || memcmp(text, FILE_HEAD, strlen(FILE_HEAD)) != 0)
		return zoned_journal_read(j, apex, text, len, newest); /* the older form */
	sg_buf steps = SG_BUF_INIT;
	size_t nrec = 0, end = len;
	signet_err ret = read_records(text, len, &steps, &nrec, &end);
	if (ret == SIGNET_OK && end < len)
		snprintf(note, notelen,
			 "a torn or damaged record at octet %zu: it and the %zu octets after"
			 " it dropped, %zu records kept",
			 end, len - end, nrec);
	if (ret == SIGNET_OK)
		ret = zoned_journal_read(j, apex, steps.data ? (const char *)steps.data : "",
					 steps.len, newest);
	sg_buf_free(&steps);
	if (ret == SIGNET_OK) {
		/* The file holds nrec steps; with a bad tail it is rewritten at
		 * the next store, so new records do not follow the damage. */
		j->file_ok = end == len;
		j->file_to = j->count ? j->steps[j->count - 1].to : 0;
		j->file_steps = nrec;
		j->file_rrs = j->rrs;
	}
	return ret;
}
