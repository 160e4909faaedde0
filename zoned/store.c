/* store.c -- the signed zone written to the state directory as it is
 * turned into text, a mebibyte at a time, rather than whole in memory
 * first (the 100k-name zone is 65 MB of text); atomically, as
 * sg_file_write_atomic does: a temporary file, fsync, rename, the
 * directory synced. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
	if (strlen(path) > PATH_MAX - 16)
		return SIGNET_ERANGE;
	zone_snap *snap = NULL;
	signet_err ret = zone_engine_snap(e, &snap);
	if (ret != SIGNET_OK)
		return ret;
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		zone_snap_release(snap);
		return signet_err_from_errno(errno);
	}
	if (fchmod(fd, 0600) != 0)
		ret = signet_err_from_errno(errno);
	if (ret == SIGNET_OK)
		ret = write_text(fd, head, snap);
	zone_snap_release(snap);
	if (ret == SIGNET_OK && fsync(fd) != 0)
		ret = signet_err_from_errno(errno);
	if (close(fd) != 0 && ret == SIGNET_OK)
		ret = signet_err_from_errno(errno);
	if (ret == SIGNET_OK && rename(tmp, path) != 0)
		ret = signet_err_from_errno(errno);
	if (ret != SIGNET_OK) {
		unlink(tmp);
		return ret;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0)
			ret = signet_err_from_errno(errno);
		close(dfd);
	}
	return ret;
}
