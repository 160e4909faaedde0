/* store.c -- the signed zone written to the state directory as it is
 * turned into text, a mebibyte at a time, rather than whole in memory
 * first (the 100k-name zone is 65 MB of text); atomically, through
 * common/'s sg_file_tmp_open and sg_file_commit (a temporary file, fsync,
 * rename, the directory synced). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zoned/daemon.h"

#define STORE_CHUNK (1u << 20)

static signet_err write_all(int fd, const uint8_t *p, size_t len)
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

/* head, then the held version's sets in text form, into fd. */
static signet_err write_text(int fd, const char *head, const zone_snap *snap)
{
	sg_buf b = SG_BUF_INIT;
	signet_err ret = sg_buf_append(&b, head, strlen(head));
	zone_cursor c;
	memset(&c, 0, sizeof(c));
	for (const dns_rrset *s = zone_snap_next(snap, &c); s && ret == SIGNET_OK;
	     s = zone_snap_next(snap, &c)) {
		ret = dns_rrset_to_text(s, &b);
		if (ret == SIGNET_OK && b.len >= STORE_CHUNK) {
			ret = write_all(fd, b.data, b.len);
			sg_buf_reset(&b);
		}
	}
	if (ret == SIGNET_OK && b.len)
		ret = write_all(fd, b.data, b.len);
	sg_buf_free(&b);
	return ret;
}

signet_err zoned_store_zone(zone_engine *e, const char *path, const char *head)
{
	char tmp[PATH_MAX];
	int fd = -1;
	signet_err ret = sg_file_tmp_open(path, 0600, tmp, sizeof(tmp), &fd);
	if (ret != SIGNET_OK)
		return ret;
	zone_snap *snap = NULL;
	ret = zone_engine_snap(e, &snap);
	if (ret == SIGNET_OK) {
		ret = write_text(fd, head, snap);
		zone_snap_release(snap);
	}
	if (ret != SIGNET_OK) {
		sg_file_tmp_discard(fd, tmp);
		return ret;
	}
	return sg_file_commit(fd, tmp, path);
}
