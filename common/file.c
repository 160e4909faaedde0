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

signet_err sg_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	if (path == NULL || (data == NULL && len != 0))
		return SIGNET_EINVAL;
	size_t plen = strlen(path);
	if (plen == 0 || plen > PATH_MAX - 16)
		return SIGNET_ERANGE;
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return signet_err_from_errno(errno);
	signet_err ret = SIGNET_OK;
	if (fchmod(fd, mode) != 0)
		ret = signet_err_from_errno(errno);
	if (ret == SIGNET_OK)
		ret = write_all(fd, data, len);
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
	/* The rename is durable only once the directory entry is. */
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
