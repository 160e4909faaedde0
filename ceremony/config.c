/* config.c -- the ceremony machine's own configuration: the KSK token's module. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ceremony/internal.h"

#define CONFIG_MAGIC "signet-ceremony-config 1"
#define MODULE_MAX (256u << 20) /* a module larger than this is not hashed */

/* Owned by root or by us, and no one else may change it. */
static bool owner_ok(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && (st->st_mode & 022) == 0;
}

static signet_err hash_module(const char *path, uint8_t out[CER_HASH_LEN], char *errmsg,
			      size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cer_fail(errmsg, errlen, SIGNET_ENOTFOUND,
				"PKCS#11 module %s: cannot open (%s)", path, strerror(errno));
	struct stat st;
	signet_err err = SIGNET_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
			       "PKCS#11 module %s is not a regular file", path);
	else if (!owner_ok(&st))
		err = cer_fail(errmsg, errlen, SIGNET_EPERM,
			       "PKCS#11 module %s may be changed by someone other "
			       "than root or this user: refused",
			       path);
	else if ((uint64_t)st.st_size > MODULE_MAX)
		err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
			       "PKCS#11 module %s is larger than %u octets", path, MODULE_MAX);
	EVP_MD_CTX *md = err == SIGNET_OK ? EVP_MD_CTX_new() : NULL;
	if (err == SIGNET_OK && (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1))
		err = cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "SHA-256 unavailable");
	uint8_t buf[65536];
	while (err == SIGNET_OK) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = cer_fail(errmsg, errlen, SIGNET_EIO, "PKCS#11 module %s: read failed",
				       path);
		if (r <= 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t)r) != 1)
			err = cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "SHA-256 failed");
	}
	unsigned int len = 0;
	if (err == SIGNET_OK && (EVP_DigestFinal_ex(md, out, &len) != 1 || len != CER_HASH_LEN))
		err = cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "SHA-256 failed");
	EVP_MD_CTX_free(md);
	close(fd);
	return err;
}

signet_err cer_module_sha256(const char *path, uint8_t out[CER_HASH_LEN], char *errmsg,
			     size_t errlen)
{
	if (path == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_module_sha256: bad argument");
	return hash_module(path, out, errmsg, errlen);
}

signet_err cer_config_load(const char *path, cer_config *out, char *errmsg, size_t errlen)
{
	if (out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_config_load: bad argument");
	memset(out, 0, sizeof(*out));
	if (path == NULL)
		path = getenv(CER_CONFIG_ENV);
	if (path == NULL || path[0] == '\0')
		path = CER_CONFIG_DEFAULT;
	if (strlen(path) >= sizeof(out->path))
		return cer_fail(errmsg, errlen, SIGNET_ERANGE, "configuration path too long");
	memcpy(out->path, path, strlen(path) + 1);
	/* The file, not a link someone else may point elsewhere. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cer_fail(errmsg, errlen, errno == ENOENT ? SIGNET_ENOTFOUND : SIGNET_EPERM,
				"ceremony machine configuration %s: cannot open (%s); it names the "
				"PKCS#11 module (docs/CEREMONY.md)",
				path, strerror(errno));
	struct stat st;
	signet_err err = SIGNET_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
			       "ceremony machine configuration %s is not a regular "
			       "file",
			       path);
	else if (!owner_ok(&st))
		err = cer_fail(errmsg, errlen, SIGNET_EPERM,
			       "ceremony machine configuration %s must belong to "
			       "root (or to this user) and not be writable by group or others",
			       path);
	close(fd);
	char dir[sizeof(out->path)];
	memcpy(dir, path, strlen(path) + 1);
	struct stat dst;
	if (err == SIGNET_OK && (stat(dirname(dir), &dst) != 0 || !owner_ok(&dst)))
		err = cer_fail(errmsg, errlen, SIGNET_EPERM,
			       "the directory of the ceremony machine configuration "
			       "%s must belong to root (or to this user) and not be writable by "
			       "group or others",
			       path);
	sg_buf text = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = cer_read_text(path, CER_FILE_MAX, "ceremony machine configuration", &text,
				    errmsg, errlen);
	cer_doc d = {0};
	if (err == SIGNET_OK)
		err = cer_doc_parse((const char *)text.data, text.len, CONFIG_MAGIC,
				    "ceremony machine configuration", &d, errmsg, errlen);
	sg_buf_free(&text);
	if (err != SIGNET_OK)
		return err;
	size_t i = 0;
	const char *v = NULL;
	err = cer_doc_take(&d, &i, "module", "ceremony machine configuration", &v, errmsg, errlen);
	const char *args = NULL;
	/* Optional: the module's library parameters (NSS's softokn needs its
	 * database's place), never a secret; checked as hsm_open_args will. */
	if (err == SIGNET_OK && i < d.n && strcmp(d.lines[i].key, "module-args") == 0) {
		char why[HSM_ERRMSG_MAX];
		args = d.lines[i].value;
		signet_err aerr = hsm_init_args_check(args, why, sizeof(why));
		if (aerr != SIGNET_OK)
			err = cer_fail(errmsg, errlen, aerr,
				       "ceremony machine configuration line %u: module-args: %s",
				       d.lines[i].lineno, why);
		i++;
	}
	if (err == SIGNET_OK && i != d.n)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "ceremony machine configuration line %u: unexpected "
			       "\"%.32s\"",
			       d.lines[i].lineno, d.lines[i].key);
	if (err == SIGNET_OK &&
	    (v[0] != '/' || strlen(v) >= sizeof(out->module) || strchr(v, ' ') != NULL))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "ceremony machine configuration: module must be an "
			       "absolute path without blanks");
	if (err == SIGNET_OK)
		memcpy(out->module, v, strlen(v) + 1);
	if (err == SIGNET_OK && args != NULL)
		memcpy(out->module_args, args, strlen(args) + 1);
	cer_doc_free(&d);
	if (err == SIGNET_OK)
		err = hash_module(out->module, out->module_sha256, errmsg, errlen);
	return err;
}
