/* audit.c -- the append-only, hash-chained audit log of administrative
 * actions and signing calls: one JSON object per line, each naming the
 * SHA-256 of the line before it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "signer/signer.h"

#define AUDIT_LINE_MAX 8192
#define AUDIT_VERIFY_MAX (256u * 1024 * 1024)

struct signer_audit {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the syncer: a line is dirty, or quit */
	pthread_t syncer;
	bool quit;
	int fd;
	char prev[65];                             /* hex SHA-256 of the last line */
	bool dirty;                                /* lines written since the last fsync */
	uint64_t synced_ns;                        /* monotonic time of the last fsync */
	signet_err sync_err;                       /* the syncer's last fsync failed with this */
	char replica[SIGNER_REPLICA_NAME_MAX + 1]; /* "" : lines without "replica" */
};

void signer_audit_hash_hex(const uint8_t *p, size_t n, char out[65])
{
	uint8_t d[32];
	unsigned int dl = 0;
	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

/* Find the last complete line of an open log and hash it into prev. */
static signet_err last_line_hash(int fd, char prev[65])
{
	memset(prev, '0', 64);
	prev[64] = '\0';
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return signet_err_from_errno(errno);
	if (sb.st_size == 0)
		return SIGNET_OK;
	size_t want = sb.st_size > AUDIT_LINE_MAX + 1 ? AUDIT_LINE_MAX + 1 : (size_t)sb.st_size;
	uint8_t *buf = malloc(want);
	if (!buf)
		return SIGNET_ENOMEM;
	ssize_t got = pread(fd, buf, want, sb.st_size - (off_t)want);
	signet_err ret = SIGNET_OK;
	if (got != (ssize_t)want) {
		ret = SIGNET_EIO;
	} else if (buf[want - 1] != '\n') {
		/* A torn last line: someone cut the log or a write failed. */
		ret = SIGNET_EVERIFY;
	} else {
		size_t end = want - 1, start = end;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		if (start == 0 && (size_t)sb.st_size > want)
			ret = SIGNET_ERANGE;
		else
			signer_audit_hash_hex(buf + start, end - start, prev);
	}
	free(buf);
	return ret;
}

/* The grouped fsync, off the signing path: a call's answer never waits for
 * the disk, and no writer waits on the lock while the disk syncs. Lines
 * written at most SIGNER_AUDIT_SYNC_MS after the last fsync share the next
 * one. A failure stays in sync_err (and the lines stay dirty, to be tried
 * again) until an fsync succeeds; grouped appends report it meanwhile. */
static void *syncer_main(void *arg)
{
	signer_audit *a = arg;
	pthread_mutex_lock(&a->lock);
	while (!a->quit) {
		if (!a->dirty) {
			pthread_cond_wait(&a->wake, &a->lock);
			continue;
		}
		uint64_t due = a->synced_ns + (uint64_t)SIGNER_AUDIT_SYNC_MS * 1000000u;
		uint64_t t = sg_mono_ns();
		if (t < due) {
			struct timespec until = {(time_t)(due / 1000000000u),
						 (long)(due % 1000000000u)};
			pthread_cond_timedwait(&a->wake, &a->lock, &until);
			continue;
		}
		a->dirty = false;
		pthread_mutex_unlock(&a->lock);
		/* fsync covers every line written before it starts; lines
		 * written meanwhile set dirty again for the next round. */
		int rc = fsync(a->fd);
		signet_err err = rc == 0 ? SIGNET_OK : signet_err_from_errno(errno);
		pthread_mutex_lock(&a->lock);
		a->synced_ns = sg_mono_ns();
		a->sync_err = err;
		if (err != SIGNET_OK) {
			a->dirty = true;
			sg_log(SG_LOG_ERROR, "audit log: fsync failed: %s", signet_strerror(err));
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

signet_err signer_audit_open(const char *path, signer_audit **out)
{
	if (!path || !out)
		return SIGNET_EINVAL;
	/* Not a symbolic link in the log's place, which would send the chain
	 * elsewhere. (O_RDWR does not block on a FIFO; a test uses one.) */
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return signet_err_from_errno(errno);
	signer_audit *a = calloc(1, sizeof(*a));
	if (!a) {
		close(fd);
		return SIGNET_ENOMEM;
	}
	signet_err ret = last_line_hash(fd, a->prev);
	if (ret != SIGNET_OK) {
		close(fd);
		free(a);
		return ret;
	}
	a->fd = fd;
	a->sync_err = SIGNET_OK;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	bool cond_ok = pthread_condattr_init(&ca) == 0;
	if (cond_ok) {
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		cond_ok = pthread_cond_init(&a->wake, &ca) == 0;
		pthread_condattr_destroy(&ca);
	}
	if (!cond_ok || pthread_create(&a->syncer, NULL, syncer_main, a) != 0) {
		if (cond_ok)
			pthread_cond_destroy(&a->wake);
		pthread_mutex_destroy(&a->lock);
		close(fd);
		free(a);
		return SIGNET_ENOMEM;
	}
	*out = a;
	return SIGNET_OK;
}

void signer_audit_close(signer_audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->quit = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->syncer, NULL);
	pthread_cond_destroy(&a->wake);
	if (a->dirty && fsync(a->fd) != 0)
		sg_log(SG_LOG_ERROR, "audit log: final fsync failed: %s", strerror(errno));
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void signer_audit_set_replica(signer_audit *a, const char *name)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	snprintf(a->replica, sizeof(a->replica), "%s", name ? name : "");
	pthread_mutex_unlock(&a->lock);
}

/* Append s as a JSON string (quotes included). */
static signet_err json_str(sg_buf *b, const char *s)
{
	signet_err ret = sg_buf_put_u8(b, '"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); ret == SIGNET_OK && *p;
	     p++) {
		if (*p == '"' || *p == '\\')
			ret = sg_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			ret = sg_buf_printf(b, "\\u%04x", *p);
		else
			ret = sg_buf_put_u8(b, *p);
	}
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(b, '"');
	return ret;
}

/* One line; sync says whether it must be on disk before this returns, or
 * may wait for the next fsync (at most SIGNER_AUDIT_SYNC_MS later). */
static signet_err append(signer_audit *a, const char *client, const char *action, const char *zone,
			 const char *detail, const char *result, bool sync)
{
	if (!a || !client || !action || !result)
		return SIGNET_EINVAL;
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	sg_buf b = SG_BUF_INIT;
	b.limit = AUDIT_LINE_MAX;
	pthread_mutex_lock(&a->lock);
	signet_err ret = sg_buf_printf(&b, "{\"time\":\"%s\",\"prev\":\"%s\",\"%s\":", ts, a->prev,
				       a->replica[0] ? "replica" : "client");
	/* After prev, which must stay where signer_audit_verify looks: each
	 * replica's chain names its writer, so merged logs keep their origin. */
	if (ret == SIGNET_OK && a->replica[0]) {
		ret = json_str(&b, a->replica);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(&b, ",\"client\":");
	}
	if (ret == SIGNET_OK)
		ret = json_str(&b, client);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(&b, ",\"action\":");
	if (ret == SIGNET_OK)
		ret = json_str(&b, action);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(&b, ",\"zone\":");
	if (ret == SIGNET_OK)
		ret = json_str(&b, zone);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(&b, ",\"detail\":");
	if (ret == SIGNET_OK)
		ret = json_str(&b, detail);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(&b, ",\"result\":");
	if (ret == SIGNET_OK)
		ret = json_str(&b, result);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(&b, '}');
	char next[65];
	if (ret == SIGNET_OK) {
		signer_audit_hash_hex(b.data, b.len, next);
		ret = sg_buf_put_u8(&b, '\n');
	}
	/* One write of the whole line: O_APPEND keeps lines whole. A short
	 * write (a full disk) is cut off again, so the next line continues an
	 * intact chain. An administrative line is fsync'ed before the
	 * caller answers; signing lines are left to the syncer. */
	if (ret == SIGNET_OK) {
		struct stat sb;
		off_t before = fstat(a->fd, &sb) == 0 ? sb.st_size : -1;
		ssize_t w = write(a->fd, b.data, b.len);
		if (w != (ssize_t)b.len) {
			ret = w < 0 ? signet_err_from_errno(errno) : SIGNET_EIO;
			if (w > 0 && (before < 0 || ftruncate(a->fd, before) != 0))
				sg_log(SG_LOG_ERROR, "audit log: cannot cut a torn line off: %s",
				       strerror(errno));
		}
	}
	/* Once the whole line is in the file it is the chain's last link,
	 * even if its fsync fails. */
	if (ret == SIGNET_OK)
		memcpy(a->prev, next, sizeof(next));
	if (ret == SIGNET_OK && sync) {
		/* An administrative line is on disk before its caller goes on,
		 * and takes the grouped lines before it along. */
		if (fsync(a->fd) != 0) {
			ret = signet_err_from_errno(errno);
			a->dirty = true;
			pthread_cond_signal(&a->wake);
		} else {
			a->dirty = false;
			a->synced_ns = sg_mono_ns();
			a->sync_err = SIGNET_OK;
		}
	} else if (ret == SIGNET_OK) {
		/* The syncer makes it durable; while its fsync fails, signing
		 * calls are refused as if this write had failed. Only a clean
		 * log's first line wakes it: later ones ride on that round. */
		ret = a->sync_err;
		if (!a->dirty) {
			a->dirty = true;
			pthread_cond_signal(&a->wake);
		}
	}
	pthread_mutex_unlock(&a->lock);
	sg_buf_free(&b);
	return ret;
}

signet_err signer_audit_append(signer_audit *a, const char *client, const char *action,
			       const char *zone, const char *detail, const char *result)
{
	return append(a, client, action, zone, detail, result, true);
}

signet_err signer_audit_append_grouped(signer_audit *a, const char *client, const char *action,
				       const char *zone, const char *detail, const char *result)
{
	return append(a, client, action, zone, detail, result, false);
}

signet_err signer_audit_replica(const char *path, char *name, size_t namelen, size_t *lines,
				size_t *other_line)
{
	if (!path || !name || namelen == 0 || !other_line)
		return SIGNET_EINVAL;
	name[0] = '\0';
	*other_line = 0;
	if (lines)
		*lines = 0;
	sg_buf b = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, AUDIT_VERIFY_MAX, &b);
	if (ret != SIGNET_OK)
		return ret;
	static const char key[] = "\"replica\":\"";
	size_t pos = 0, n = 0;
	while (pos < b.len && *other_line == 0) {
		const uint8_t *nl = memchr(b.data + pos, '\n', b.len - pos);
		size_t len = nl ? (size_t)(nl - (b.data + pos)) : b.len - pos;
		const char *line = (const char *)b.data + pos;
		n++;
		/* Where the writer puts it: right after prev's 64 hex digits. */
		const char *at = memmem(line, len, "\"prev\":\"", 8);
		const char *r = NULL;
		if (at && (size_t)(at - line) + 8 + 64 + 2 + strlen(key) < len &&
		    memcmp(at + 8 + 64 + 2, key, strlen(key)) == 0)
			r = at + 8 + 64 + 2 + strlen(key);
		char here[SIGNER_REPLICA_NAME_MAX + 1] = "";
		if (r) {
			const char *end = memchr(r, '"', len - (size_t)(r - line));
			size_t l = end ? (size_t)(end - r) : 0;
			if (l > 0 && l <= SIGNER_REPLICA_NAME_MAX) {
				memcpy(here, r, l);
				here[l] = '\0';
			}
		}
		if (here[0] && !name[0])
			snprintf(name, namelen, "%s", here);
		else if (here[0] && strcmp(here, name) != 0)
			*other_line = n;
		pos += len + 1;
	}
	if (lines)
		*lines = n;
	sg_buf_free(&b);
	return SIGNET_OK;
}

signet_err signer_audit_verify(const char *path, size_t *lines, size_t *bad_line)
{
	if (!path)
		return SIGNET_EINVAL;
	if (lines)
		*lines = 0;
	if (bad_line)
		*bad_line = 0;
	sg_buf b = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, AUDIT_VERIFY_MAX, &b);
	if (ret != SIGNET_OK)
		return ret;
	char prev[65];
	memset(prev, '0', 64);
	prev[64] = '\0';
	size_t pos = 0, n = 0;
	while (pos < b.len) {
		const uint8_t *nl = memchr(b.data + pos, '\n', b.len - pos);
		n++;
		if (!nl) {
			ret = SIGNET_EVERIFY;
			break;
		}
		size_t len = (size_t)(nl - (b.data + pos));
		char want[80];
		snprintf(want, sizeof(want), "\"prev\":\"%s\"", prev);
		/* The prev field sits at a fixed place after the time stamp. */
		const char *line = (const char *)b.data + pos;
		const char *at = memmem(line, len, "\"prev\":\"", 8);
		if (!at || (size_t)(at - line) + strlen(want) > len ||
		    memcmp(at, want, strlen(want)) != 0) {
			ret = SIGNET_EVERIFY;
			break;
		}
		signer_audit_hash_hex(b.data + pos, len, prev);
		pos += len + 1;
	}
	if (ret != SIGNET_OK && bad_line)
		*bad_line = n;
	if (lines)
		*lines = ret == SIGNET_OK ? n : n - 1;
	sg_buf_free(&b);
	return ret;
}
