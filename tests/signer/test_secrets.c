/* test_secrets.c -- where signetd's token PIN must never be: its log (at
 * the most verbose level), the audit log, the state database, the metrics,
 * /proc/PID/cmdline and /proc/PID/environ (also when the PIN came from an
 * environment variable); core dumps off; PIN files that others may read,
 * that someone else owns or that are symlinks refused at start-up.
 * Privilege dropping is test_privdrop.c's. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

static signetd_env D;
static signetd_zone Z;
static sg_buf Pin;           /* the user PIN as the PIN file holds it */

static bool file_has(const char *path, const uint8_t *needle, size_t n)
{
	sg_buf b = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, 1 << 26, &b);
	if (ret == SIGNET_ENOTFOUND)
		return false;
	if (ret != SIGNET_OK)
		fail_msg("cannot read %s: %s", path, signet_strerror(ret));
	bool found = n && b.len >= n && memmem(b.data, b.len, needle, n) != NULL;
	sg_buf_free(&b);
	return found;
}

/* /proc files read as root: sg_file_read wants a regular file, which they
 * are, but their size is 0, so read them by hand. */
static bool proc_has(pid_t pid, const char *what, const uint8_t *needle, size_t n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(len > 0);
	return len >= n && memmem(buf, len, needle, n) != NULL;
}

static int setup(void **state)
{
	(void)state;
	signetd_opts o = {.metrics = true};
	if (signetd_start(&D, &o) != 0)
		return -1;
	signetd_add_zone(&D, "example.com.", 13, &Z);
	if (sg_file_read(D.pin_path, 4096, &Pin) != SIGNET_OK)
		return -1;
	while (Pin.len && Pin.data[Pin.len - 1] == '\n')
		Pin.len--;
	return Pin.len >= 4 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sg_buf_free_secure(&Pin);
	return signetd_teardown(&D);
}

/* Exercise everything that writes somewhere, then look everywhere. */
static void test_no_pin_in_outputs(void **state)
{
	(void)state;
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com.", 1, 10, &st);
	assert_non_null(r);
	signet__v1__sign_response__free_unpacked(r, NULL);
	/* a refused admin call and a failed sign are logged and audited */
	r = signetd_sign_a(D.signer, "nosuch.test.", 1, 1, &st);
	assert_null(r);
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	char det[256];
	assert_int_not_equal(rpc_call_msg(D.signer, "AddZone", &az.base, det, sizeof(det), NULL),
			     GRPC_STATUS_OK);
	/* SIGHUP logs the reload */
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	for (long end = signetd_now_ms() + 30000; !signetd_log_has(D.log, "SIGHUP: "); signetd_sleep_ms(20))
		if (signetd_now_ms() > end)
			fail_msg("signetd did not log the SIGHUP");
	static char buf[1 << 18];
	const char *body = signetd_scrape(&D, buf, sizeof(buf));
	assert_non_null(strstr(body, "signet_token_up 1"));

	const sg_secret *so = D.f->so_pin;
	const struct {
		const uint8_t *p;
		size_t n;
		const char *name;
	} secrets[] = {{Pin.data, Pin.len, "user PIN"}, {so->data, so->len, "SO PIN"}};
	for (size_t i = 0; i < 2; i++) {
		const uint8_t *p = secrets[i].p;
		size_t n = secrets[i].n;
		assert_false(memmem(buf, strlen(buf), p, n));
		assert_false(file_has(D.log, p, n));
		char path[400];
		const char *files[] = {"audit.log", "state.db", "state.db-wal"};
		for (size_t k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "%s/state/%s", D.dir, files[k]);
			if (file_has(path, p, n))
				fail_msg("the %s is in %s", secrets[i].name, path);
		}
		assert_false(proc_has(D.pid, "cmdline", p, n));
		assert_false(proc_has(D.pid, "environ", p, n));
	}
	/* the audit log did get the calls */
	char audit[400];
	snprintf(audit, sizeof(audit), "%s/state/audit.log", D.dir);
	assert_true(signetd_log_has(audit, "SignRRsets"));
	assert_true(signetd_log_has(audit, "AddZone"));
}

/* No core file can hold the PIN: the limit is 0 in the running daemon,
 * and the hardening it calls at start also makes a process non-dumpable
 * (checked in a child of ours, since another process's flag is not
 * visible to root). */
static void test_core_dumps_off(void **state)
{
	(void)state;
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)D.pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	bool seen = false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Max core file size", 18) != 0)
			continue;
		unsigned long soft = 1, hard = 1;
		assert_int_equal(sscanf(line + 18, " %lu %lu", &soft, &hard), 2);
		assert_int_equal(soft, 0);
		assert_int_equal(hard, 0);
		seen = true;
	}
	fclose(f);
	assert_true(seen);
	assert_false(signetd_log_has(D.log, "could not disable core dumps"));

	pid_t child = fork();
	if (child == 0) {
		struct rlimit rl;
		int ok = sg_harden_process() == SIGNET_OK && prctl(PR_GET_DUMPABLE) == 0 &&
			 getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Start a second signetd on D's files with pin = spec; its exit status
 * within 10 s, or -1 if it kept running (then it is stopped). */
static int start_with_pin(const char *spec, const char *log)
{
	char conf[400];
	snprintf(conf, sizeof(conf), "%s/pin-test.conf", D.dir);
	signetd_write_config(&D, conf, signetd_free_port(), 0, NULL);
	/* the same configuration, with another PIN source */
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "sed -i 's|^pin = .*|pin = \"%s\";|' '%s'", spec, conf);
	assert_int_equal(system(cmd), 0);
	pid_t pid = signetd_spawn(conf, log);
	for (int i = 0; i < 100; i++) {
		int status = 0;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		signetd_sleep_ms(100);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static void test_loose_pin_files_refused(void **state)
{
	(void)state;
	char loose[400], spec[420], log[400];
	snprintf(loose, sizeof(loose), "%s/loose-pin", D.dir);
	snprintf(log, sizeof(log), "%s/pin-test.log", D.dir);
	snprintf(spec, sizeof(spec), "file:%s", loose);
	static const mode_t modes[] = {0640, 0604, 0660, 0644, 0602, 0610};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		signetd_sh("cp '%s' '%s' && chmod %o '%s'", D.pin_path, loose,
			   (unsigned)modes[i], loose);
		assert_int_equal(start_with_pin(spec, log), 1);
		assert_true(signetd_log_has(log, "PIN from file:"));
		assert_true(signetd_log_has(log, "permission denied"));
		assert_false(file_has(log, Pin.data, Pin.len));
		unlink(loose);
	}
	/* owned by someone else, mode 0600 */
	signetd_sh("cp '%s' '%s' && chmod 600 '%s' && chown nobody '%s'", D.pin_path, loose, loose,
		   loose);
	assert_int_equal(start_with_pin(spec, log), 1);
	assert_true(signetd_log_has(log, "permission denied"));
	unlink(loose);
	/* a symlink to the right file */
	signetd_sh("ln -s '%s' '%s'", D.pin_path, loose);
	assert_int_equal(start_with_pin(spec, log), 1);
	assert_true(signetd_log_has(log, "PIN from file:"));
	unlink(loose);
}

/* pin = "env:NAME": signetd wipes the variable's bytes, so even the
 * initial environment block /proc/PID/environ shows no longer holds it. */
static void test_env_pin_wiped(void **state)
{
	(void)state;
	char *pin = calloc(1, Pin.len + 1);
	assert_non_null(pin);
	memcpy(pin, Pin.data, Pin.len);
	assert_int_equal(setenv("SIGNET_TEST_PIN_ENV", pin, 1), 0);
	char conf[400], log[400];
	snprintf(conf, sizeof(conf), "%s/env-pin.conf", D.dir);
	snprintf(log, sizeof(log), "%s/env-pin.log", D.dir);
	int port = signetd_free_port();
	signetd_write_config(&D, conf, port, 0, NULL);
	signetd_sh("sed -i 's|^pin = .*|pin = \"env:SIGNET_TEST_PIN_ENV\";|' '%s'", conf);
	pid_t pid = signetd_spawn(conf, log);
	unsetenv("SIGNET_TEST_PIN_ENV");
	sg_wipe(pin, Pin.len);
	free(pin);
	int status = 0;
	assert_true(signetd_wait_port(port, pid, 30000, &status));
	assert_false(proc_has(pid, "environ", Pin.data, Pin.len));
	assert_false(proc_has(pid, "cmdline", Pin.data, Pin.len));
	/* and the variable's name is still there: the check looked */
	assert_true(proc_has(pid, "environ", (const uint8_t *)"SIGNET_TEST_PIN_ENV", 19));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(file_has(log, Pin.data, Pin.len));
}

static void test_clean_stop(void **state)
{
	(void)state;
	signetd_stop_ok(&D);
	assert_false(file_has(D.log, Pin.data, Pin.len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_pin_in_outputs),
		cmocka_unit_test(test_core_dumps_off),
		cmocka_unit_test(test_loose_pin_files_refused),
		cmocka_unit_test(test_env_pin_wiped),
		cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
