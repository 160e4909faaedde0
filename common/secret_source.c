/* secret_source.c -- reading PINs and passphrases from files, descriptors and
 * the environment; never from the command line. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

/* Read fd to EOF or the first newline into a new secret. */
static signet_err read_secret_fd(int fd, sg_secret **out)
{
	sg_secret *s = NULL;
	signet_err ret = sg_secret_new(SG_SECRET_MAX, &s);
	if (ret != SIGNET_OK)
		return ret;
	size_t len = 0;
	for (;;) {
		if (len == SG_SECRET_MAX) {
			/* Anything longer is not a PIN; say so instead of truncating. */
			uint8_t extra;
			ssize_t n = read(fd, &extra, 1);
			if (n > 0 && extra != '\n' && extra != '\r') {
				sg_wipe(&extra, 1);
				ret = SIGNET_ERANGE;
			}
			break;
		}
		ssize_t n = read(fd, s->data + len, SG_SECRET_MAX - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = signet_err_from_errno(errno);
			break;
		}
		if (n == 0)
			break;
		uint8_t *nl = memchr(s->data + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			len = (size_t)(nl - s->data);
			break;
		}
	}
	if (ret == SIGNET_OK && len > 0 && s->data[len - 1] == '\r')
		len--;
	if (ret == SIGNET_OK && len == 0)
		ret = SIGNET_EPARSE;
	if (ret != SIGNET_OK) {
		sg_secret_free(s);
		return ret;
	}
	sg_wipe(s->data + len, s->cap - len);
	s->len = len;
	*out = s;
	return SIGNET_OK;
}

signet_err sg_secret_from_file(const char *path, sg_secret **out)
{
	if (path == NULL || out == NULL)
		return SIGNET_EINVAL;
	*out = NULL;
	/* O_NONBLOCK: a FIFO in the file's place is refused, not waited on. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return signet_err_from_errno(errno);
	struct stat st;
	signet_err ret = SIGNET_OK;
	if (fstat(fd, &st) != 0)
		ret = signet_err_from_errno(errno);
	else if (!S_ISREG(st.st_mode))
		ret = SIGNET_EINVAL;
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		ret = SIGNET_EPERM;
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		ret = SIGNET_EPERM;
	if (ret == SIGNET_OK)
		ret = read_secret_fd(fd, out);
	close(fd);
	return ret;
}

signet_err sg_secret_from_fd(int fd, sg_secret **out)
{
	if (fd < 0 || out == NULL)
		return SIGNET_EINVAL;
	*out = NULL;
	signet_err ret = read_secret_fd(fd, out);
	close(fd);
	return ret;
}

signet_err sg_secret_from_env(const char *name, sg_secret **out)
{
	if (name == NULL || out == NULL || name[0] == 0 || strchr(name, '=') != NULL)
		return SIGNET_EINVAL;
	*out = NULL;
	char *v = getenv(name);
	if (v == NULL)
		return SIGNET_ENOTFOUND;
	size_t len = strlen(v);
	if (len == 0)
		return SIGNET_EPARSE;
	if (len > SG_SECRET_MAX)
		return SIGNET_ERANGE;
	sg_secret *s = NULL;
	signet_err ret = sg_secret_new(len, &s);
	if (ret != SIGNET_OK)
		return ret;
	memcpy(s->data, v, len);
	s->data[len] = 0;
	s->len = len;
	/* Wipe the environment's copy in place before unsetting: unsetenv only
	 * drops the pointer, the bytes would stay on the initial stack. */
	sg_wipe(v, len);
	unsetenv(name);
	*out = s;
	return SIGNET_OK;
}

signet_err sg_secret_from_spec(const char *spec, sg_secret **out)
{
	if (spec == NULL || out == NULL)
		return SIGNET_EINVAL;
	*out = NULL;
	if (strncmp(spec, "file:", 5) == 0)
		return sg_secret_from_file(spec + 5, out);
	if (strncmp(spec, "env:", 4) == 0)
		return sg_secret_from_env(spec + 4, out);
	if (strncmp(spec, "fd:", 3) == 0) {
		const char *p = spec + 3;
		if (*p < '0' || *p > '9')
			return SIGNET_EPARSE;
		char *end = NULL;
		errno = 0;
		long fd = strtol(p, &end, 10);
		if (errno != 0 || *end != 0 || fd < 0 || fd > INT_MAX)
			return SIGNET_EPARSE;
		return sg_secret_from_fd((int)fd, out);
	}
	return SIGNET_EPARSE;
}
