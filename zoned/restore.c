/* restore.c -- a zone's stored signed version read back at a start a
 * block at a time (zone_loader): the version is made as the file is read,
 * never held whole as text and as a parsed zone beside it (for the
 * 100,000-name bench zone that was 282 MiB against a version of 63). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zoned/daemon.h"

/* Octets read at a time; a line longer than this (an RR's text is far
 * shorter) is refused. */
#define BLOCK (1u << 20)

/* Read up to BLOCK more octets of fd onto b; *eof at the end of the file. */
static signet_err fill(int fd, sg_buf *b, size_t *total, size_t max, bool *eof)
{
	signet_err ret = sg_buf_reserve(b, BLOCK);
	if (ret != SIGNET_OK)
		return ret;
	ssize_t n;
	do
		n = read(fd, b->data + b->len, BLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return signet_err_from_errno(errno);
	*eof = n == 0;
	b->len += (size_t)n;
	*total += (size_t)n;
	return *total > max ? SIGNET_ERANGE : SIGNET_OK;
}

signet_err zoned_restore_head(const char *path, const char *head, const dns_name *apex,
			      uint32_t *in, uint32_t *stored)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? SIGNET_ENOTFOUND : signet_err_from_errno(errno);
	sg_buf b = SG_BUF_INIT;
	size_t total = 0;
	bool eof = false;
	signet_err ret = fill(fd, &b, &total, BLOCK, &eof);
	close(fd);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(&b, 0);
	const char *t = (const char *)b.data;
	size_t hl = strlen(head);
	char *end = NULL;
	unsigned long v = 0;
	if (ret == SIGNET_OK && (b.len < hl + 2 || memcmp(t, head, hl) != 0))
		ret = SIGNET_EPARSE;
	if (ret == SIGNET_OK) {
		v = strtoul(t + hl, &end, 10);
		if (end == t + hl || *end != '\n' || v > 0xffffffffUL)
			ret = SIGNET_EPARSE;
	}
	/* The SOA is the first RR the engine writes. */
	if (ret == SIGNET_OK) {
		*in = (uint32_t)v;
		const char *line = end + 1;
		const char *nl = strchr(line, '\n');
		if (nl == NULL)
			ret = SIGNET_EPARSE;
		else
			*(char *)nl = '\0';
		dns_name owner;
		uint16_t type = 0, rclass = 0;
		uint32_t ttl = 0;
		sg_buf rd = SG_BUF_INIT;
		if (ret == SIGNET_OK)
			ret = dns_rr_from_text(line, apex, &owner, &type, &rclass, &ttl, &rd);
		if (ret == SIGNET_OK &&
		    (type != DNS_T_SOA || rd.len < 22 || !dns_name_equal(&owner, apex)))
			ret = SIGNET_EPARSE;
		if (ret == SIGNET_OK)
			*stored = sg_get_u32(rd.data + rd.len - 20);
		sg_buf_free(&rd);
	}
	sg_buf_free(&b);
	return ret;
}

signet_err zoned_restore_stream(const char *path, zone_engine *eng, size_t max_octets,
				size_t max_rrs, uint32_t in, zoned_replay *replay, unsigned *line)
{
	*line = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return signet_err_from_errno(errno);
	zone_loader *l = NULL;
	signet_err ret = zone_loader_new(eng, max_rrs, &l);
	if (ret == SIGNET_OK && replay)
		zone_loader_filter(l, zoned_replay_filter, replay);
	sg_buf b = SG_BUF_INIT;
	size_t total = 0;
	bool eof = false;
	while (ret == SIGNET_OK && !eof) {
		ret = fill(fd, &b, &total, max_octets, &eof);
		/* Whole lines to the loader; the part of a line stays. */
		const uint8_t *nl = NULL;
		for (size_t i = b.len; ret == SIGNET_OK && i-- > 0;)
			if (b.data[i] == '\n') {
				nl = b.data + i;
				break;
			}
		size_t whole = eof ? b.len : nl ? (size_t)(nl - b.data) + 1 : 0;
		if (ret == SIGNET_OK && whole == 0 && b.len >= BLOCK)
			ret = SIGNET_EPARSE; /* a line of a MiB */
		if (ret == SIGNET_OK && whole)
			ret = zone_loader_text(l, (const char *)b.data, whole, line);
		if (ret == SIGNET_OK && whole) {
			memmove(b.data, b.data + whole, b.len - whole);
			b.len -= whole;
		}
	}
	close(fd);
	sg_buf_free(&b);
	if (ret == SIGNET_OK && replay)
		ret = zoned_replay_rest(replay, l);
	if (ret != SIGNET_OK) {
		zone_loader_free(l);
		return ret;
	}
	return zone_loader_finish(l, in);
}
