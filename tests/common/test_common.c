/* test_common.c -- the common layer: buffers, encodings, files, secrets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "tests/lib/tmpdir.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return test_tmpdir_make("signet-common", tmpdir, sizeof(tmpdir));
}

static int teardown(void **state)
{
	(void)state;
	return test_tmpdir_remove(tmpdir);
}

static void path_in_tmp(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_errors_named(void **state)
{
	(void)state;
	for (int e = 0; e < SIGNET_ERR_COUNT; e++) {
		assert_non_null(signet_strerror((signet_err)e));
		assert_true(strncmp(signet_errname((signet_err)e), "SIGNET_", 7) == 0);
	}
	assert_string_equal(signet_errname(SIGNET_EPARSE), "SIGNET_EPARSE");
	assert_string_equal(signet_strerror((signet_err)999), "unknown error");
}

/* sg_array_room: room for element n, doubled from first; nothing moves
 * while there is room; an overflowing size is refused and the array kept. */
static void test_array_room(void **state)
{
	(void)state;
	uint32_t *a = NULL;
	size_t cap = 0;
	assert_int_equal(sg_array_room(&a, &cap, 0, sizeof(*a), 4), SIGNET_OK);
	assert_non_null(a);
	assert_int_equal(cap, 4);
	for (uint32_t i = 0; i < 4; i++)
		a[i] = i;
	uint32_t *before = a;
	assert_int_equal(sg_array_room(&a, &cap, 3, sizeof(*a), 4), SIGNET_OK);
	assert_ptr_equal(a, before);
	assert_int_equal(sg_array_room(&a, &cap, 9, sizeof(*a), 4), SIGNET_OK);
	assert_int_equal(cap, 16);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(a[i], i);
	a[9] = 9;
	size_t big = cap;
	assert_int_equal(sg_array_room(&a, &big, SIZE_MAX / 2, sizeof(*a), 4), SIGNET_ERANGE);
	assert_int_equal(sg_array_room(&a, &big, 16, SIZE_MAX / 8, 4), SIGNET_ERANGE);
	assert_int_equal(big, 16);
	assert_int_equal(a[9], 9);
	assert_int_equal(sg_array_room(NULL, &cap, 0, 4, 4), SIGNET_EINVAL);
	assert_int_equal(sg_array_room(&a, &cap, 0, 0, 4), SIGNET_EINVAL);
	assert_int_equal(sg_array_room(&a, &cap, 0, 4, 0), SIGNET_EINVAL);
	free(a);
}

static void test_buf_limit(void **state)
{
	(void)state;
	sg_buf b = SG_BUF_INIT;
	b.limit = 10;
	assert_int_equal(sg_buf_append(&b, "0123456789", 10), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 1), SIGNET_ERANGE);
	assert_int_equal(b.len, 10);
	sg_buf_reset(&b);
	assert_int_equal(sg_buf_put_u16(&b, 0x1234), SIGNET_OK);
	assert_int_equal(sg_buf_put_u32(&b, 0xdeadbeef), SIGNET_OK);
	assert_memory_equal(b.data, "\x12\x34\xde\xad\xbe\xef", 6);
	assert_int_equal(sg_get_u16(b.data), 0x1234);
	assert_int_equal(sg_get_u32(b.data + 2), 0xdeadbeef);
	sg_buf_reset(&b);
	assert_int_equal(sg_buf_printf(&b, "%s-%d", "ab", 7), SIGNET_OK);
	assert_string_equal((char *)b.data, "ab-7");
	assert_int_equal(sg_buf_printf(&b, "%s", "0123456789"), SIGNET_ERANGE);
	sg_buf_free_secure(&b);
	assert_null(b.data);
}

/* RFC 4648 §10 test vectors. */
static void test_base64_vectors(void **state)
{
	(void)state;
	static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
				    "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		sg_buf b = SG_BUF_INIT;
		assert_int_equal(sg_base64_encode((const uint8_t *)plain[i],
						  strlen(plain[i]), &b), SIGNET_OK);
		assert_int_equal(b.len, strlen(enc[i]));
		if (b.len)
			assert_memory_equal(b.data, enc[i], b.len);
		sg_buf d = SG_BUF_INIT;
		assert_int_equal(sg_base64_decode(enc[i], strlen(enc[i]), &d), SIGNET_OK);
		assert_int_equal(d.len, strlen(plain[i]));
		if (d.len)
			assert_memory_equal(d.data, plain[i], d.len);
		sg_buf_free(&b);
		sg_buf_free(&d);
	}
	sg_buf d = SG_BUF_INIT;
	assert_int_equal(sg_base64_decode("Zm9", 3, &d), SIGNET_EPARSE);
	assert_int_equal(sg_base64_decode("Zm=v", 4, &d), SIGNET_EPARSE);
	assert_int_equal(sg_base64_decode("Zh==", 4, &d), SIGNET_EPARSE); /* stray bits */
	assert_int_equal(sg_base64_decode("Zm9*", 4, &d), SIGNET_EPARSE);
	assert_int_equal(d.len, 0);
	assert_int_equal(sg_base64_decode("Zm9v\n YmFy", 10, &d), SIGNET_OK);
	assert_memory_equal(d.data, "foobar", 6);
	sg_buf_free(&d);
}

static void test_hex(void **state)
{
	(void)state;
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_hex_encode((const uint8_t *)"\x00\xff\x1a", 3, &b), SIGNET_OK);
	assert_string_equal((char *)b.data, "00ff1a");
	sg_buf d = SG_BUF_INIT;
	assert_int_equal(sg_hex_decode("00 FF 1a", 8, &d), SIGNET_OK);
	assert_memory_equal(d.data, "\x00\xff\x1a", 3);
	sg_buf_reset(&d);
	assert_int_equal(sg_hex_decode("0", 1, &d), SIGNET_EPARSE);
	assert_int_equal(sg_hex_decode("0g", 2, &d), SIGNET_EPARSE);
	assert_int_equal(d.len, 0);
	sg_buf_free(&b);
	sg_buf_free(&d);
}

static void test_file_read_bounds(void **state)
{
	(void)state;
	char p[256];
	path_in_tmp(p, sizeof(p), "small");
	write_file(p, "hello", 0600);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(p, 5, &b), SIGNET_OK);
	assert_string_equal((char *)b.data, "hello");
	sg_buf_reset(&b);
	assert_int_equal(sg_file_read(p, 4, &b), SIGNET_ERANGE);
	assert_int_equal(b.len, 0);
	assert_int_equal(sg_file_read(tmpdir, 100, &b), SIGNET_EINVAL);
	path_in_tmp(p, sizeof(p), "missing");
	assert_int_equal(sg_file_read(p, 100, &b), SIGNET_ENOTFOUND);
	sg_buf_free(&b);
}

static void test_atomic_write(void **state)
{
	(void)state;
	char p[256];
	path_in_tmp(p, sizeof(p), "state");
	assert_int_equal(sg_file_write_atomic(p, "one", 3, 0600), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(p, "two!", 4, 0640), SIGNET_OK);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(p, 100, &b), SIGNET_OK);
	assert_string_equal((char *)b.data, "two!");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	/* A failing write leaves the old content and no temporary file behind. */
	char sub[256];
	path_in_tmp(sub, sizeof(sub), "ro");
	assert_int_equal(mkdir(sub, 0700), 0);
	char q[300];
	snprintf(q, sizeof(q), "%s/file", sub);
	assert_int_equal(sg_file_write_atomic(q, "keep", 4, 0600), SIGNET_OK);
	assert_int_equal(chmod(sub, 0500), 0);
	/* Root ignores file modes (CAP_DAC_OVERRIDE): the write is tried in a
	 * child that has dropped every capability, so it meets the mode as
	 * any user would, root or not. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct none[2];
		memset(none, 0, sizeof(none));
		if (syscall(SYS_capset, &hdr, none) != 0)
			_exit(10);
		if (sg_file_write_atomic(q, "lost", 4, 0600) != SIGNET_EPERM)
			_exit(11);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("write into a read-only directory: %s",
			 WEXITSTATUS(status) == 10 ? "capset failed" : "not refused with EPERM");
	sg_buf_reset(&b);
	assert_int_equal(sg_file_read(q, 100, &b), SIGNET_OK);
	assert_string_equal((char *)b.data, "keep");
	chmod(sub, 0700);
	/* Writing where the directory does not exist fails cleanly. */
	char r[300];
	snprintf(r, sizeof(r), "%s/nodir/file", tmpdir);
	assert_int_equal(sg_file_write_atomic(r, "x", 1, 0600), SIGNET_ENOTFOUND);
	/* A target that is a directory cannot be replaced: the temporary goes. */
	assert_int_not_equal(sg_file_write_atomic(sub, "x", 1, 0600), SIGNET_OK);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c tmp", tmpdir);
	FILE *f = popen(cmd, "r");
	int count = -1;
	assert_int_equal(fscanf(f, "%d", &count), 1);
	pclose(f);
	assert_int_equal(count, 0);
	sg_buf_free(&b);
}

/* Temporary files named PATH.tmp* left in tmpdir. */
static int tmp_files_left(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c tmp", tmpdir);
	FILE *f = popen(cmd, "r");
	int count = -1;
	assert_int_equal(fscanf(f, "%d", &count), 1);
	pclose(f);
	return count;
}

/* The streaming writer's steps: open a temporary, write, commit or discard. */
static void test_file_commit(void **state)
{
	(void)state;
	char p[256], tmp[PATH_MAX];
	path_in_tmp(p, sizeof(p), "streamed");
	write_file(p, "old", 0600);
	int fd = -1;
	assert_int_equal(sg_file_tmp_open(p, 0640, tmp, sizeof(tmp), &fd), SIGNET_OK);
	assert_int_equal(write(fd, "new one", 7), 7);
	assert_int_equal(sg_file_commit(fd, tmp, p), SIGNET_OK);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(p, 100, &b), SIGNET_OK);
	assert_string_equal((char *)b.data, "new one");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(access(tmp, F_OK), -1);

	/* A writer's own failure: discard removes the temporary. */
	assert_int_equal(sg_file_tmp_open(p, 0600, tmp, sizeof(tmp), &fd), SIGNET_OK);
	assert_int_equal(access(tmp, F_OK), 0);
	sg_file_tmp_discard(fd, tmp);
	assert_int_equal(access(tmp, F_OK), -1);

	/* fsync fails (a descriptor already closed): nothing renamed, the
	 * temporary gone, the old content kept. */
	assert_int_equal(sg_file_tmp_open(p, 0600, tmp, sizeof(tmp), &fd), SIGNET_OK);
	assert_int_equal(write(fd, "lost", 4), 4);
	close(fd);
	assert_int_not_equal(sg_file_commit(fd, tmp, p), SIGNET_OK);
	assert_int_equal(access(tmp, F_OK), -1);
	sg_buf_reset(&b);
	assert_int_equal(sg_file_read(p, 100, &b), SIGNET_OK);
	assert_string_equal((char *)b.data, "new one");

	/* The rename fails (the target is a directory that is not empty). */
	char d[256], inside[300];
	path_in_tmp(d, sizeof(d), "adir");
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(inside, sizeof(inside), "%s/x", d);
	write_file(inside, "x", 0600);
	assert_int_equal(sg_file_tmp_open(d, 0600, tmp, sizeof(tmp), &fd), SIGNET_OK);
	assert_int_not_equal(sg_file_commit(fd, tmp, d), SIGNET_OK);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(inside, F_OK), 0);

	/* A name buffer too small, a directory that does not exist, no name. */
	char small[8];
	assert_int_equal(sg_file_tmp_open(p, 0600, small, sizeof(small), &fd), SIGNET_ERANGE);
	assert_int_equal(fd, -1);
	char nodir[300];
	snprintf(nodir, sizeof(nodir), "%s/nodir/file", tmpdir);
	assert_int_equal(sg_file_tmp_open(nodir, 0600, tmp, sizeof(tmp), &fd), SIGNET_ENOTFOUND);
	assert_int_equal(sg_file_commit(-1, NULL, p), SIGNET_EINVAL);
	assert_int_equal(tmp_files_left(), 0);
	sg_buf_free(&b);
}

static void test_secret_file(void **state)
{
	(void)state;
	char p[256];
	path_in_tmp(p, sizeof(p), "pin");
	write_file(p, "1234\n", 0600);
	sg_secret *s = NULL;
	assert_int_equal(sg_secret_from_file(p, &s), SIGNET_OK);
	assert_int_equal(s->len, 4);
	assert_string_equal((char *)s->data, "1234");
	sg_secret_free(s);

	write_file(p, "1234\n", 0640);
	s = NULL;
	assert_int_equal(sg_secret_from_file(p, &s), SIGNET_EPERM);
	assert_null(s);
	write_file(p, "1234\n", 0604);
	assert_int_equal(sg_secret_from_file(p, &s), SIGNET_EPERM);
	write_file(p, "\n", 0600);
	assert_int_equal(sg_secret_from_file(p, &s), SIGNET_EPARSE);

	/* A symlink is not followed: its target's mode is not what was checked. */
	char l[256];
	path_in_tmp(l, sizeof(l), "pinlink");
	write_file(p, "1234\n", 0600);
	assert_int_equal(symlink(p, l), 0);
	assert_int_not_equal(sg_secret_from_file(l, &s), SIGNET_OK);

	/* Longer than any PIN: refused, not truncated. */
	char *big = malloc(SG_SECRET_MAX + 10);
	memset(big, 'a', SG_SECRET_MAX + 9);
	big[SG_SECRET_MAX + 9] = 0;
	write_file(p, big, 0600);
	free(big);
	assert_int_equal(sg_secret_from_file(p, &s), SIGNET_ERANGE);

	char spec[300];
	write_file(p, "abcd", 0600);
	snprintf(spec, sizeof(spec), "file:%s", p);
	assert_int_equal(sg_secret_from_spec(spec, &s), SIGNET_OK);
	assert_string_equal((char *)s->data, "abcd");
	sg_secret_free(s);
}

static void test_secret_fd_env(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "s3cret\r\nrest", 12), 12);
	close(fds[1]);
	char spec[32];
	snprintf(spec, sizeof(spec), "fd:%d", fds[0]);
	sg_secret *s = NULL;
	assert_int_equal(sg_secret_from_spec(spec, &s), SIGNET_OK);
	assert_string_equal((char *)s->data, "s3cret");
	sg_secret_free(s);
	/* The descriptor was consumed and closed. */
	assert_int_equal(fcntl(fds[0], F_GETFD), -1);

	setenv("SIGNET_TEST_PIN", "9876", 1);
	assert_int_equal(sg_secret_from_spec("env:SIGNET_TEST_PIN", &s), SIGNET_OK);
	assert_string_equal((char *)s->data, "9876");
	assert_null(getenv("SIGNET_TEST_PIN"));
	sg_secret_free(s);
	assert_int_equal(sg_secret_from_spec("env:SIGNET_TEST_PIN", &s), SIGNET_ENOTFOUND);

	assert_int_equal(sg_secret_from_spec("1234", &s), SIGNET_EPARSE);
	assert_int_equal(sg_secret_from_spec("fd:", &s), SIGNET_EPARSE);
	assert_int_equal(sg_secret_from_spec("fd:3x", &s), SIGNET_EPARSE);
	assert_int_equal(sg_secret_from_spec("fd:-1", &s), SIGNET_EPARSE);
	assert_int_equal(sg_secret_from_spec("env:", &s), SIGNET_EINVAL);
}

static void test_secret_wiped(void **state)
{
	(void)state;
	sg_secret *s = NULL;
	assert_int_equal(sg_secret_new(0, &s), SIGNET_EINVAL);
	assert_int_equal(sg_secret_new(SG_SECRET_MAX + 1, &s), SIGNET_EINVAL);
	assert_int_equal(sg_secret_new(16, &s), SIGNET_OK);
	assert_true(s->cap >= 17);
	memcpy(s->data, "topsecret", 9);
	s->len = 9;
	sg_secret_free(s);
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	sg_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

static void test_harden(void **state)
{
	(void)state;
	/* In a child, so the test runner itself stays dumpable. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (sg_harden_process() != SIGNET_OK)
			_exit(1);
		struct rlimit rl;
		getrlimit(RLIMIT_CORE, &rl);
		_exit(prctl(PR_GET_DUMPABLE) == 0 && rl.rlim_cur == 0 ? 0 : 2);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}


struct bench_counter {
	atomic_uint calls;     /* op calls across threads */
	unsigned fail_after;   /* op fails once calls exceed this; 0 never */
	atomic_uint inits, finis;
};

static signet_err counter_init(unsigned index, void *arg, void **state)
{
	(void)index;
	struct bench_counter *c = arg;
	atomic_fetch_add(&c->inits, 1);
	*state = c;
	return SIGNET_OK;
}

static signet_err counter_op(void *state)
{
	struct bench_counter *c = state;
	unsigned n = atomic_fetch_add(&c->calls, 1) + 1;
	if (c->fail_after != 0 && n > c->fail_after)
		return SIGNET_EHSM_DOWN;
	return SIGNET_OK;
}

static void counter_fini(void *state)
{
	struct bench_counter *c = state;
	atomic_fetch_add(&c->finis, 1);
}

static void test_bench_run(void **state)
{
	(void)state;
	const sg_bench_ops ops = {counter_init, counter_op, counter_fini};
	struct bench_counter c = {0};
	sg_bench_result r;
	assert_int_equal(sg_bench_run(&ops, &c, 2, 0.2, &r), SIGNET_OK);
	assert_int_equal(atomic_load(&c.inits), 2);
	assert_int_equal(atomic_load(&c.finis), 2);
	assert_true(r.ops > 0);
	assert_true(r.ops <= atomic_load(&c.calls));
	assert_true(r.seconds >= 0.19 && r.seconds < 5);
	assert_true(r.per_second > 0);

	struct bench_counter f = {0};
	f.fail_after = 1000;
	assert_int_equal(sg_bench_run(&ops, &f, 2, 0.2, &r), SIGNET_EHSM_DOWN);
	assert_int_equal(atomic_load(&f.finis), 2);

	assert_int_equal(sg_bench_run(&ops, &c, 0, 0.2, &r), SIGNET_EINVAL);
	assert_int_equal(sg_bench_run(&ops, &c, 257, 0.2, &r), SIGNET_EINVAL);
	assert_int_equal(sg_bench_run(&ops, &c, 1, 0, &r), SIGNET_EINVAL);
	assert_int_equal(sg_bench_run(NULL, &c, 1, 1, &r), SIGNET_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_named),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_array_room),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_file_read_bounds),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_file_commit),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_secret_fd_env),
		cmocka_unit_test(test_secret_wiped),
		cmocka_unit_test(test_harden),
		cmocka_unit_test(test_bench_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
