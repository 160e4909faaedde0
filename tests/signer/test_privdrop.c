/* test_privdrop.c -- signetd started as root with `user = "nobody"`: after
 * start it runs as nobody with no capabilities and no way back, still signs
 * and serves metrics, and neither its command line, its environment nor its
 * log holds the PIN; an unknown user stops it from starting. */
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

static signetd_env D;

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_privdrop needs root (to start signetd as root)\n");
		return -1;
	}
	signetd_opts o = {.metrics = true, .user = "nobody"};
	return signetd_start(&D, &o);
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

/* The value of "Key:" in /proc/PID/status, e.g. "65534\t65534\t65534\t65534". */
static void status_field(pid_t pid, const char *key, char *out, size_t outlen)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			const char *v = line + kl + 1;
			while (*v == '\t' || *v == ' ')
				v++;
			snprintf(out, outlen, "%s", v);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	fclose(f);
	if (!out[0])
		fail_msg("no %s in %s", key, path);
}

static bool file_has(const char *path, const uint8_t *needle, size_t n)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 24, &b), SIGNET_OK);
	bool found = false;
	for (size_t i = 0; n && i + n <= b.len && !found; i++)
		found = memcmp(b.data + i, needle, n) == 0;
	sg_buf_free(&b);
	return found;
}

static void test_runs_unprivileged(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam("nobody");
	assert_non_null(pw);
	char want[128], got[256];
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
	status_field(D.pid, "Uid", got, sizeof(got));
	assert_string_equal(got, want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)pw->pw_gid,
		 (unsigned)pw->pw_gid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
	status_field(D.pid, "Gid", got, sizeof(got));
	assert_string_equal(got, want);
	/* no supplementary group of root's survives */
	status_field(D.pid, "Groups", got, sizeof(got));
	char *end = NULL;
	for (const char *p = got; *p; p = end) {
		unsigned long g = strtoul(p, &end, 10);
		if (end == p)
			break;
		assert_int_not_equal(g, 0);
		while (*end == ' ')
			end++;
	}
	static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		status_field(D.pid, caps[i], got, sizeof(got));
		if (strcmp(got, "0000000000000000") != 0)
			fail_msg("%s is %s", caps[i], got);
	}
	status_field(D.pid, "NoNewPrivs", got, sizeof(got));
	assert_string_equal(got, "1");
	assert_true(signetd_log_has(D.log, "running as nobody"));

	/* Every thread, not only the main one: gRPC's and the workers'. */
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)D.pid);
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "for t in %s/*; do grep -q '^Uid:\t%u\t%u\t%u\t%u$' $t/status || exit 1;"
		 " grep -q '^CapEff:\t0000000000000000$' $t/status || exit 1; done", dir,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_uid);
	signetd_sh("%s", cmd);
}

static void test_still_works(void **state)
{
	(void)state;
	/* Writes to the state and audit log go through descriptors opened
	 * before the drop; signing goes through the open token. */
	signetd_zone z;
	signetd_add_zone(&D, "example.com.", 13, &z);
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com.", 0, 20, &st);
	assert_int_equal(st, GRPC_STATUS_OK);
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(r->results[i]->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
		signetd_check_rrsig(&z, i, r->results[i]->rrsig[0].data, r->results[i]->rrsig[0].len);
	}
	signet__v1__sign_response__free_unpacked(r, NULL);
	char buf[1 << 16];
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	assert_true(signetd_http(D.metrics_port, req, sizeof(req) - 1, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
	assert_non_null(strstr(buf, "\nsignet_token_up 1\n"));
}

static void test_no_pin_anywhere(void **state)
{
	(void)state;
	sg_buf pin = SG_BUF_INIT;
	assert_int_equal(sg_file_read(D.pin_path, 4096, &pin), SIGNET_OK);
	while (pin.len && (pin.data[pin.len - 1] == '\n'))
		pin.len--;
	assert_true(pin.len >= 4);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)D.pid);
	assert_false(file_has(path, pin.data, pin.len));
	assert_true(file_has(path, (const uint8_t *)"signetd", 7));  /* the file was read */
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)D.pid);
	assert_false(file_has(path, pin.data, pin.len));
	assert_false(file_has(D.log, pin.data, pin.len));
	assert_true(file_has(D.log, (const uint8_t *)"listening", 9));
	sg_buf_free_secure(&pin);
}

static void test_stops_cleanly_and_unknown_user(void **state)
{
	(void)state;
	signetd_stop_ok(&D);
	int status = 0;

	/* A user that does not exist: signetd refuses to go on as root. */
	char conf[400], log[400], bin[512];
	snprintf(conf, sizeof(conf), "%s/bad-user.conf", D.dir);
	snprintf(log, sizeof(log), "%s/bad-user.log", D.dir);
	signetd_opts o = {.user = "no-such-user-signet"};
	signetd_write_config(&D, conf, D.port, 0, &o);
	pid_t pid = signetd_spawn(conf, log);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(log, 1 << 20, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	if (!strstr((char *)b.data, "no such user: no-such-user-signet"))
		fail_msg("log: %s", (char *)b.data);
	sg_buf_free(&b);

	/* `signetd -t` refuses a bad user name before anything starts. */
	o.user = "bad user";
	signetd_write_config(&D, conf, D.port, 0, &o);
	snprintf(bin, sizeof(bin), "%s/signer/signetd", getenv("SIGNET_BUILD_DIR"));
	char cmd[1600];
	snprintf(cmd, sizeof(cmd), "'%s' -c '%s' -t 2>'%s'", bin, conf, log);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(sg_file_read(log, 1 << 20, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	assert_non_null(strstr((char *)b.data, "not a user name"));
	sg_buf_free(&b);

	/* Root without a user: refused, saying why, unless allow-root. */
	o.user = "";
	signetd_write_config(&D, conf, D.port, 0, &o);
	pid = signetd_spawn(conf, log);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(signetd_log_has(log, "refusing to run as root"));
	assert_true(signetd_log_has(log, "allow-root = true"));
	snprintf(cmd, sizeof(cmd), "'%s' -c '%s' -t 2>'%s'", bin, conf, log);
	assert_int_not_equal(system(cmd), 0);
	o.allow_root = true;
	signetd_write_config(&D, conf, D.port, 0, &o);
	pid = signetd_spawn(conf, log);
	long end = signetd_now_ms() + 20000;
	while (!signetd_log_has(log, "listening on") && signetd_now_ms() < end &&
	       waitpid(pid, &status, WNOHANG) == 0)
		signetd_sleep_ms(50);
	assert_true(signetd_log_has(log, "allow-root is set"));
	assert_true(signetd_log_has(log, "listening on"));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_unprivileged),
		cmocka_unit_test(test_still_works),
		cmocka_unit_test(test_no_pin_anywhere),
		cmocka_unit_test(test_stops_cleanly_and_unknown_user),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
