/* fsfault.c -- a preloaded library for tests that makes a file system look
 * full or read-only under one path, without mounting anything: the test
 * controls the fault the way tests/p11fault controls an HSM's, so the
 * full-disk and read-only tests run as root and not, in containers that
 * refuse mount(2) too.
 *
 * LD_PRELOAD it into the process under test with FSFAULT_CONTROL naming a
 * control file, read again on every call it wraps, so a test changes the
 * fault of a running process by rewriting the file (write a new file and
 * rename it over the old one). One rule per line:
 *   enospc PREFIX [room=N]  writes to files under PREFIX fail with ENOSPC
 *                           once N more octets (default 0) have been
 *                           written since the rule appeared; the write
 *                           that crosses N is cut short, as on a real
 *                           file system filling up
 *   erofs PREFIX            opening a file under PREFIX for writing,
 *                           creating, renaming, removing or making a
 *                           directory there, and writing or syncing a
 *                           file already open there fail with EROFS
 * PREFIX is an absolute path as the process names it (or as
 * /proc/self/fd shows an open file); it covers itself and everything
 * below it. An absent or empty file means no fault. Every failed call
 * appends one octet to FSFAULT_CONTROL.hits, so a test can tell that its
 * fault was reached.
 *
 * Only calls that go through the dynamic linker are seen: the program's
 * and its libraries' own write(2), open(2), ... (SQLite's and signet's),
 * not those glibc makes inside stdio. That is the point: the process's
 * stderr log keeps working while its state directory is "full". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define CONTROL_MAX 2048
#define PATH_MAX_F 4096

typedef enum kind { K_NONE, K_ENOSPC, K_EROFS } kind;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char room_text[CONTROL_MAX]; /* the control text room_used belongs to */
static long long room_used;         /* octets written under an enospc rule */

/* The next definition of each wrapped function, looked up on first use
 * (which may come before this library's constructors run); any thread
 * may be first, so the pointer is published atomically. */
#define REAL(ret, name, ...)                                                      \
	static ret (*real_##name)(__VA_ARGS__);                                   \
	static ret (*get_##name(void))(__VA_ARGS__)                               \
	{                                                                         \
		ret (*f)(__VA_ARGS__) = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE); \
		if (!f) {                                                         \
			*(void **)&f = dlsym(RTLD_NEXT, #name);                   \
			__atomic_store_n(&real_##name, f, __ATOMIC_RELEASE);      \
		}                                                                 \
		return f;                                                         \
	}

REAL(int, open, const char *, int, ...)
REAL(int, open64, const char *, int, ...)
REAL(int, openat, int, const char *, int, ...)
REAL(int, openat64, int, const char *, int, ...)
REAL(ssize_t, write, int, const void *, size_t)
REAL(ssize_t, pwrite, int, const void *, size_t, off_t)
REAL(ssize_t, pwrite64, int, const void *, size_t, off_t)
REAL(ssize_t, writev, int, const struct iovec *, int)
REAL(int, fsync, int)
REAL(int, fdatasync, int)
REAL(int, rename, const char *, const char *)
REAL(int, renameat, int, const char *, int, const char *)
REAL(int, unlink, const char *)
REAL(int, unlinkat, int, const char *, int)
REAL(int, mkdir, const char *, mode_t)
REAL(int, ftruncate, int, off_t)
REAL(int, ftruncate64, int, off_t)

/* The control file's text ("" when absent). */
static void control_text(char *text, size_t cap)
{
	text[0] = '\0';
	const char *ctl = getenv("FSFAULT_CONTROL");
	if (!ctl)
		return;
	int fd = get_open()(ctl, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, text, cap - 1);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
}

static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The rule of the control text that covers path: its kind and room. */
static kind rule_for(const char *text, const char *path, long long *room)
{
	char buf[CONTROL_MAX];
	snprintf(buf, sizeof(buf), "%s", text);
	char *save = NULL;
	*room = 0;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mode[16], prefix[PATH_MAX_F];
		long long r = 0;
		int got = sscanf(line, "%15s %4095s room=%lld", mode, prefix, &r);
		if (got < 2 || !under(path, prefix))
			continue;
		if (strcmp(mode, "enospc") == 0) {
			*room = got == 3 && r > 0 ? r : 0;
			return K_ENOSPC;
		}
		if (strcmp(mode, "erofs") == 0)
			return K_EROFS;
	}
	return K_NONE;
}

static void note_hit(void)
{
	const char *ctl = getenv("FSFAULT_CONTROL");
	if (!ctl)
		return;
	char path[PATH_MAX_F];
	snprintf(path, sizeof(path), "%s.hits", ctl);
	int fd = get_open()(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (get_write()(fd, "x", 1) != 1) {
			/* a lost count only makes a test's check stricter */
		}
		close(fd);
	}
}

/* The absolute path of a name relative to dirfd (AT_FDCWD: the working
 * directory); false when it cannot be told. */
static bool resolve_at(int dirfd, const char *name, char *out, size_t cap)
{
	if (!name)
		return false;
	if (name[0] == '/') {
		snprintf(out, cap, "%s", name);
		return true;
	}
	char dir[PATH_MAX_F];
	if (dirfd == AT_FDCWD) {
		if (!getcwd(dir, sizeof(dir)))
			return false;
	} else {
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		ssize_t n = readlink(link, dir, sizeof(dir) - 1);
		if (n <= 0)
			return false;
		dir[n] = '\0';
	}
	return (size_t)snprintf(out, cap, "%s/%s", dir, name) < cap;
}

static kind fault_at(int dirfd, const char *name)
{
	char text[CONTROL_MAX], path[PATH_MAX_F];
	long long room;
	control_text(text, sizeof(text));
	if (!text[0] || !resolve_at(dirfd, name, path, sizeof(path)))
		return K_NONE;
	return rule_for(text, path, &room);
}

/* A write of len octets to fd: how many may go through (len: all of them),
 * or -1 with errno set when none may. */
static ssize_t allowed_write(int fd, size_t len)
{
	char text[CONTROL_MAX], path[PATH_MAX_F], link[64];
	control_text(text, sizeof(text));
	if (!text[0])
		return (ssize_t)len;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return (ssize_t)len;
	path[n] = '\0';
	long long room;
	kind k = rule_for(text, path, &room);
	if (k == K_NONE)
		return (ssize_t)len;
	if (k == K_EROFS) {
		note_hit();
		errno = EROFS;
		return -1;
	}
	pthread_mutex_lock(&lock);
	if (strcmp(text, room_text) != 0) {
		snprintf(room_text, sizeof(room_text), "%s", text);
		room_used = 0;
	}
	long long left = room - room_used;
	ssize_t ok = left <= 0 ? 0 : (left < (long long)len ? (ssize_t)left : (ssize_t)len);
	room_used += ok;
	pthread_mutex_unlock(&lock);
	if (ok == 0 && len > 0) {
		note_hit();
		errno = ENOSPC;
		return -1;
	}
	return ok;
}

/* Whether a sync of fd must fail (only on a read-only prefix: a full
 * file system syncs what it already holds). */
static bool sync_fails(int fd)
{
	char text[CONTROL_MAX], path[PATH_MAX_F], link[64];
	control_text(text, sizeof(text));
	if (!text[0])
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	long long room;
	if (rule_for(text, path, &room) != K_EROFS)
		return false;
	note_hit();
	errno = EROFS;
	return true;
}

static bool open_fails(int dirfd, const char *name, int flags)
{
	if ((flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) == 0)
		return false;
	if (fault_at(dirfd, name) != K_EROFS)
		return false;
	note_hit();
	errno = EROFS;
	return true;
}

static bool change_fails(int dirfd, const char *name)
{
	if (fault_at(dirfd, name) != K_EROFS)
		return false;
	note_hit();
	errno = EROFS;
	return true;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	if (open_fails(AT_FDCWD, path, flags))
		return -1;
	return get_open()(path, flags, m);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	if (open_fails(AT_FDCWD, path, flags))
		return -1;
	return get_open64()(path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	if (open_fails(dirfd, path, flags))
		return -1;
	return get_openat()(dirfd, path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	if (open_fails(dirfd, path, flags))
		return -1;
	return get_openat64()(dirfd, path, flags, m);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	ssize_t ok = allowed_write(fd, len);
	if (ok < 0)
		return -1;
	return get_write()(fd, buf, (size_t)ok);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t ok = allowed_write(fd, len);
	if (ok < 0)
		return -1;
	return get_pwrite()(fd, buf, (size_t)ok, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t ok = allowed_write(fd, len);
	if (ok < 0)
		return -1;
	return get_pwrite64()(fd, buf, (size_t)ok, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	ssize_t ok = allowed_write(fd, len);
	if (ok < 0)
		return -1;
	if ((size_t)ok == len)
		return get_writev()(fd, iov, n);
	/* cut short: write the first ok octets only */
	ssize_t done = 0;
	for (int i = 0; i < n && done < ok; i++) {
		size_t part = iov[i].iov_len;
		if ((ssize_t)part > ok - done)
			part = (size_t)(ok - done);
		ssize_t w = get_write()(fd, iov[i].iov_base, part);
		if (w < 0)
			return done ? done : -1;
		done += w;
		if ((size_t)w < part)
			break;
	}
	return done;
}

int fsync(int fd)
{
	return sync_fails(fd) ? -1 : get_fsync()(fd);
}

int fdatasync(int fd)
{
	return sync_fails(fd) ? -1 : get_fdatasync()(fd);
}

int rename(const char *from, const char *to)
{
	if (change_fails(AT_FDCWD, from) || change_fails(AT_FDCWD, to))
		return -1;
	return get_rename()(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	if (change_fails(fromfd, from) || change_fails(tofd, to))
		return -1;
	return get_renameat()(fromfd, from, tofd, to);
}

int unlink(const char *path)
{
	return change_fails(AT_FDCWD, path) ? -1 : get_unlink()(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	return change_fails(dirfd, path) ? -1 : get_unlinkat()(dirfd, path, flags);
}

int mkdir(const char *path, mode_t mode)
{
	return change_fails(AT_FDCWD, path) ? -1 : get_mkdir()(path, mode);
}

/* Growing a file on a full file system fails as a write would. */
static bool truncate_fails(int fd, off_t len)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0 || len <= sb.st_size)
		return sync_fails(fd);
	return allowed_write(fd, (size_t)(len - sb.st_size)) < 0;
}

int ftruncate(int fd, off_t len)
{
	return truncate_fails(fd, len) ? -1 : get_ftruncate()(fd, len);
}

int ftruncate64(int fd, off_t len)
{
	return truncate_fails(fd, len) ? -1 : get_ftruncate64()(fd, len);
}
