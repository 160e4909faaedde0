/* file.c -- bounded whole-file reads and atomic file replacement. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

signet_err sg_file_read(const char *path, size_t max, sg_buf *out)
{
	if (path == NULL || out == NULL)
		return SIGNET_EINVAL;
	/* O_NONBLOCK: a FIFO put in a file's place must not hold the caller
	 * in open() until a writer comes; it is refused below like any other
	 * file that is not regular. Reads of a regular file ignore the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return signet_err_from_errno(errno);
	struct stat st;
	signet_err ret = SIGNET_OK;
	if (fstat(fd, &st) != 0) {
		ret = signet_err_from_errno(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = SIGNET_EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		ret = SIGNET_ERANGE;
		goto out;
	}
	size_t start = out->len;
	for (;;) {
		/* Read past st_size too: the file may grow while we read, and the
		 * bound must hold for what we actually take. */
		ret = sg_buf_reserve(out, 4096);
		if (ret != SIGNET_OK)
			break;
		ssize_t n = read(fd, out->data + out->len, 4096);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = signet_err_from_errno(errno);
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len - start > max) {
			ret = SIGNET_ERANGE;
			break;
		}
	}
	if (ret != SIGNET_OK)
		out->len = start;
	if (out->data != NULL)
		out->data[out->len] = 0;
out:
	close(fd);
	return ret;
}

static signet_err write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return signet_err_from_errno(errno);
		}
		p += n;
		len -= (size_t)n;
	}
	return SIGNET_OK;
}

signet_err sg_file_tmp_open(const char *path, mode_t mode, char *tmp, size_t tmplen, int *fd)
{
	if (path == NULL || tmp == NULL || fd == NULL)
		return SIGNET_EINVAL;
	*fd = -1;
	size_t plen = strlen(path);
	if (plen == 0 || plen > PATH_MAX - 16 || tmplen < plen + 10)
		return SIGNET_ERANGE;
	snprintf(tmp, tmplen, "%s.tmpXXXXXX", path);
	int f = mkostemp(tmp, O_CLOEXEC);
	if (f < 0)
		return signet_err_from_errno(errno);
	/* mkostemp makes 0600; a wider mode is the caller's choice. */
	if (fchmod(f, mode) != 0) {
		signet_err ret = signet_err_from_errno(errno);
		sg_file_tmp_discard(f, tmp);
		return ret;
	}
	*fd = f;
	return SIGNET_OK;
}

void sg_file_tmp_discard(int fd, const char *tmp)
{
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
}

signet_err sg_file_dir_sync(const char *path)
{
	if (path == NULL || strlen(path) >= PATH_MAX)
		return SIGNET_ERANGE;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return signet_err_from_errno(errno);
	signet_err ret = fsync(dfd) != 0 ? signet_err_from_errno(errno) : SIGNET_OK;
	close(dfd);
	return ret;
}

signet_err sg_file_commit(int fd, const char *tmp, const char *path)
{
	if (tmp == NULL || path == NULL) {
		sg_file_tmp_discard(fd, tmp);
		return SIGNET_EINVAL;
	}
	signet_err ret = fsync(fd) != 0 ? signet_err_from_errno(errno) : SIGNET_OK;
	if (close(fd) != 0 && ret == SIGNET_OK)
		ret = signet_err_from_errno(errno);
	if (ret == SIGNET_OK && rename(tmp, path) != 0)
		ret = signet_err_from_errno(errno);
	if (ret != SIGNET_OK) {
		unlink(tmp);
		return ret;
	}
	/* The rename is durable only once the directory entry is. A directory
	 * that may not be opened for reading (mode 0300) cannot be synced: the
	 * rename stands, as it always did. */
	ret = sg_file_dir_sync(path);
	return ret == SIGNET_EPERM ? SIGNET_OK : ret;
}

signet_err sg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	if (path == NULL || (data == NULL && len != 0))
		return SIGNET_EINVAL;
	char tmp[PATH_MAX];
	int fd = -1;
	signet_err ret = sg_file_tmp_open(path, mode, tmp, sizeof(tmp), &fd);
	if (ret != SIGNET_OK)
		return ret;
	ret = write_all(fd, data, len);
	if (ret != SIGNET_OK) {
		sg_file_tmp_discard(fd, tmp);
		return ret;
	}
	return sg_file_commit(fd, tmp, path);
}
