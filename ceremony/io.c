/* io.c -- bounded file reading, exclusive file creation, hashing, passphrase lookup. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ceremony/internal.h"

signet_err cer_sha256(const void *p, size_t n, uint8_t out[CER_HASH_LEN], char *errmsg,
		      size_t errlen)
{
	unsigned int len = 0;
	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != CER_HASH_LEN)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "SHA-256 failed");
	return SIGNET_OK;
}

signet_err cer_read_text(const char *path, size_t max, const char *what, sg_buf *out, char *errmsg,
			 size_t errlen)
{
	if (path == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "%s: no file given", what);
	signet_err err = sg_file_read(path, max, out);
	if (err == SIGNET_ERANGE)
		return cer_fail(errmsg, errlen, err, "%s %s: larger than %zu octets", what, path,
				max);
	if (err != SIGNET_OK)
		return cer_fail(errmsg, errlen, err, "%s %s: cannot read (%s)", what, path,
				signet_strerror(err));
	return SIGNET_OK;
}

signet_err cer_write_new(const char *path, const void *data, size_t len, mode_t mode, char *errmsg,
			 size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno;
		return cer_fail(errmsg, errlen,
				e == EEXIST ? SIGNET_EEXIST : signet_err_from_errno(e),
				"%s: cannot create (%s)", path, strerror(e));
	}
	const uint8_t *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			unlink(path);
			return cer_fail(errmsg, errlen, SIGNET_EIO, "%s: write failed (%s)", path,
					strerror(e));
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		unlink(path);
		return cer_fail(errmsg, errlen, SIGNET_EIO, "%s: fsync failed", path);
	}
	return SIGNET_OK;
}

const sg_secret *cer_pass_find(const cer_pass *passes, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (passes[i].operator!= NULL && strcmp(passes[i].operator, name) == 0)
			return passes[i].pass;
	return NULL;
}
