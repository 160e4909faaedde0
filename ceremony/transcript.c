/* transcript.c -- the append-only, hash-chained ceremony log and its verification. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ceremony/internal.h"

#define FIELDS 10
#define LOG_LINE_MAX (sizeof(((cer_log_entry *)0)->approvers) + DNS_NAME_STR_MAX + 512)

/* The chained part of an entry: every field but its own hash. */
static signet_err entry_text(const cer_log_entry *e, const uint8_t prev[CER_HASH_LEN], sg_buf *out)
{
	signet_err err = sg_buf_printf(out, "%llu %lld %s %s ", (unsigned long long)e->seq,
				       (long long)e->time, e->op, e->zone);
	if (err == SIGNET_OK)
		err = sg_hex_encode(e->request, CER_HASH_LEN, out);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, " %s %s ", e->approvers, e->result);
	if (err == SIGNET_OK)
		err = sg_hex_encode(e->outputs, CER_HASH_LEN, out);
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(out, ' ');
	if (err == SIGNET_OK)
		err = sg_hex_encode(prev, CER_HASH_LEN, out);
	return err;
}

static bool field_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

/* Check one line against the chain so far; on success prev becomes its hash. */
static bool line_ok(char *line, uint64_t seq, uint8_t prev[CER_HASH_LEN], cer_log_brief *brief,
		    char *errmsg, size_t errlen)
{
	char *f[FIELDS];
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (n == FIELDS)
			return false;
		f[n++] = t;
	}
	if (n != FIELDS)
		return false;
	cer_log_entry e;
	memset(&e, 0, sizeof(e));
	uint64_t u;
	uint8_t p[CER_HASH_LEN], h[CER_HASH_LEN], mine[CER_HASH_LEN];
	if (cer_uint(f[0], 1, UINT64_MAX, &u) != SIGNET_OK || u != seq)
		return false;
	e.seq = u;
	if (cer_uint(f[1], 0, INT64_MAX >> 1, &u) != SIGNET_OK)
		return false;
	e.time = (int64_t)u;
	if (!field_ok(f[2]) || strlen(f[2]) >= sizeof(e.op) || !field_ok(f[3]) ||
	    strlen(f[3]) >= sizeof(e.zone) || !field_ok(f[5]) ||
	    strlen(f[5]) >= sizeof(e.approvers) || !field_ok(f[6]) ||
	    strlen(f[6]) >= sizeof(e.result))
		return false;
	memcpy(e.op, f[2], strlen(f[2]) + 1);
	memcpy(e.zone, f[3], strlen(f[3]) + 1);
	memcpy(e.approvers, f[5], strlen(f[5]) + 1);
	memcpy(e.result, f[6], strlen(f[6]) + 1);
	if (cer_hex_exact(f[4], e.request, CER_HASH_LEN) != SIGNET_OK ||
	    cer_hex_exact(f[7], e.outputs, CER_HASH_LEN) != SIGNET_OK ||
	    cer_hex_exact(f[8], p, CER_HASH_LEN) != SIGNET_OK ||
	    cer_hex_exact(f[9], h, CER_HASH_LEN) != SIGNET_OK)
		return false;
	if (memcmp(p, prev, CER_HASH_LEN) != 0)
		return false;
	sg_buf t = SG_BUF_INIT;
	bool ok = entry_text(&e, p, &t) == SIGNET_OK &&
		  cer_sha256(t.data, t.len, mine, errmsg, errlen) == SIGNET_OK &&
		  memcmp(mine, h, CER_HASH_LEN) == 0;
	sg_buf_free(&t);
	if (ok)
		memcpy(prev, h, CER_HASH_LEN);
	if (ok && brief != NULL) {
		memset(brief, 0, sizeof(*brief));
		memcpy(brief->op, e.op, sizeof(brief->op));
		memcpy(brief->result, e.result, sizeof(brief->result));
		memcpy(brief->request, e.request, CER_HASH_LEN);
		memcpy(brief->hash, h, CER_HASH_LEN);
	}
	return ok;
}

/* Walk the log text: entries good, the first bad one (0 if none), the last hash. */
static signet_err chain_check(const sg_buf *text, size_t *entries, size_t *bad,
			      uint8_t last[CER_HASH_LEN], sg_buf *briefs, char *errmsg,
			      size_t errlen)
{
	memset(last, 0, CER_HASH_LEN);
	*entries = 0;
	*bad = 0;
	size_t pos = 0;
	while (pos < text->len) {
		const uint8_t *nl = memchr(text->data + pos, '\n', text->len - pos);
		size_t ll = nl == NULL ? text->len - pos : (size_t)(nl - (text->data + pos));
		*bad = *entries + 1;
		if (nl == NULL || ll == 0 || ll > LOG_LINE_MAX ||
		    memchr(text->data + pos, '\0', ll) != NULL)
			return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
					"transcript entry %zu is malformed or "
					"truncated",
					*bad);
		char *line = malloc(ll + 1);
		if (line == NULL)
			return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
		memcpy(line, text->data + pos, ll);
		line[ll] = '\0';
		cer_log_brief b;
		bool ok = line_ok(line, *entries + 1, last, briefs != NULL ? &b : NULL, errmsg,
				  errlen);
		free(line);
		if (ok && briefs != NULL && sg_buf_append(briefs, &b, sizeof(b)) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "out of memory");
		if (!ok)
			return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
					"transcript entry %zu is broken: its "
					"hash, its link to the entry before or its fields do not "
					"check",
					*bad);
		(*entries)++;
		pos += ll + 1;
	}
	*bad = 0;
	return SIGNET_OK;
}

signet_err cer_log_verify(const char *path, size_t *entries, size_t *bad, char *errmsg,
			  size_t errlen)
{
	if (path == NULL || entries == NULL || bad == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_log_verify: bad argument");
	*entries = 0;
	*bad = 0;
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return SIGNET_OK;
	sg_buf text = SG_BUF_INIT;
	signet_err err = cer_read_text(path, CER_LOG_MAX, "transcript", &text, errmsg, errlen);
	uint8_t last[CER_HASH_LEN];
	if (err == SIGNET_OK)
		err = chain_check(&text, entries, bad, last, NULL, errmsg, errlen);
	sg_buf_free(&text);
	return err;
}

signet_err cer_log_load(const char *path, bool *exists, cer_log_brief **out, size_t *n,
			char *errmsg, size_t errlen)
{
	if (path == NULL || exists == NULL || out == NULL || n == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_log_load: bad argument");
	*out = NULL;
	*n = 0;
	struct stat st;
	*exists = !(lstat(path, &st) != 0 && errno == ENOENT);
	if (!*exists)
		return SIGNET_OK;
	sg_buf text = SG_BUF_INIT, briefs = SG_BUF_INIT;
	size_t bad = 0;
	uint8_t last[CER_HASH_LEN];
	signet_err err = cer_read_text(path, CER_LOG_MAX, "transcript", &text, errmsg, errlen);
	if (err == SIGNET_OK)
		err = chain_check(&text, n, &bad, last, &briefs, errmsg, errlen);
	sg_buf_free(&text);
	if (err != SIGNET_OK) {
		sg_buf_free(&briefs);
		*n = 0;
		return err;
	}
	*out = (cer_log_brief *)briefs.data; /* sg_buf storage is malloc'ed */
	return SIGNET_OK;
}

signet_err cer_log_append(const char *path, cer_log_entry *e, char *errmsg, size_t errlen)
{
	if (path == NULL || e == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_log_append: bad argument");
	if (!field_ok(e->op) || !field_ok(e->zone) || !field_ok(e->approvers) ||
	    !field_ok(e->result))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"transcript: entry fields must be non-empty "
				"and without blanks");
	/* The directory is shared: a link there must not make us append
	 * elsewhere on the ceremony machine. */
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return cer_fail(errmsg, errlen, signet_err_from_errno(errno),
				"transcript %s: cannot open (%s)", path, strerror(errno));
	/* One writer at a time: the chain must not fork. */
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return cer_fail(errmsg, errlen, SIGNET_EIO, "transcript %s: cannot lock", path);
	}
	sg_buf text = SG_BUF_INIT, line = SG_BUF_INIT;
	signet_err err = SIGNET_OK;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		err = cer_fail(errmsg, errlen, SIGNET_EIO, "transcript %s: not a regular file",
			       path);
	else if ((uint64_t)st.st_size > CER_LOG_MAX)
		err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
			       "transcript %s: larger than %u octets", path, CER_LOG_MAX);
	if (err == SIGNET_OK)
		err = sg_buf_reserve(&text, (size_t)st.st_size + 1);
	while (err == SIGNET_OK && text.len < (size_t)st.st_size) {
		ssize_t r = pread(fd, text.data + text.len, (size_t)st.st_size - text.len,
				  (off_t)text.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			err = cer_fail(errmsg, errlen, SIGNET_EIO, "transcript %s: read failed",
				       path);
		else
			text.len += (size_t)r;
	}
	size_t entries = 0, bad = 0;
	uint8_t prev[CER_HASH_LEN], h[CER_HASH_LEN];
	if (err == SIGNET_OK) {
		err = chain_check(&text, &entries, &bad, prev, NULL, errmsg, errlen);
		if (err == SIGNET_EVERIFY)
			cer_fail(errmsg, errlen, err,
				 "transcript %s is broken at entry %zu: refusing to append", path,
				 bad);
	}
	if (err == SIGNET_OK) {
		e->seq = entries + 1;
		err = entry_text(e, prev, &line);
	}
	if (err == SIGNET_OK)
		err = cer_sha256(line.data, line.len, h, errmsg, errlen);
	if (err == SIGNET_OK) {
		memcpy(e->prev, prev, CER_HASH_LEN);
		memcpy(e->hash, h, CER_HASH_LEN);
	}
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(&line, ' ');
	if (err == SIGNET_OK)
		err = sg_hex_encode(h, CER_HASH_LEN, &line);
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(&line, '\n');
	if (err == SIGNET_OK) {
		ssize_t w = write(fd, line.data, line.len);
		if (w != (ssize_t)line.len || fsync(fd) != 0) {
			/* A partial line would break the chain for every later entry. */
			if (ftruncate(fd, st.st_size) != 0)
				sg_log(SG_LOG_ERROR,
				       "transcript %s: could not undo a partial write", path);
			err = cer_fail(errmsg, errlen, SIGNET_EIO,
				       "transcript %s: write or fsync failed", path);
		}
	}
	sg_buf_free(&text);
	sg_buf_free(&line);
	close(fd);
	return err;
}
