/* test_disk.c -- signetd and its disk: every SignRRsets call leaves one
 * audit line before its answer; with the state directory on a full file
 * system signetd refuses to sign (UNAVAILABLE, "audit log unavailable")
 * rather than sign unaudited, and resumes once there is space again, with
 * the audit chain intact; and a daemon killed with SIGKILL again and again
 * while it signs and administers reopens its state with every change it
 * acknowledged; and its clock stepped backwards and forwards (with the
 * signer's test clock); and the state on a read-only file system. The
 * full disk and the read-only file system are made by tests/fsfault, a
 * library preloaded into signetd that fails its writes under a path the
 * test names (ENOSPC, EROFS), so these tests mount nothing and run the
 * same as root and not, in containers that refuse mount(2) too. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <errno.h>
#include <limits.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

static signetd_env D;
static signetd_zone Z;
static char state_dir[400];
static char audit_path[420];
static char fs_ctl[420];      /* tests/fsfault's control file */
static char fs_preload[1100]; /* LD_PRELOAD=[sanitizer runtime:].../libfsfault.so */
static char fs_control_env[440];
static char fs_tsan_env[1200]; /* TSAN_OPTIONS without log_path, or "" */
static unsigned next_owner = 1;

/* Replace the file-system fault in force (fsfault reads the file on every
 * call; a rename swaps it whole) and reset its hit counter. */
static void set_fs_fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_fs_fault(const char *fmt, ...)
{
	char tmp[440], hits[440];
	snprintf(tmp, sizeof(tmp), "%s.tmp", fs_ctl);
	snprintf(hits, sizeof(hits), "%s.hits", fs_ctl);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
	unlink(hits);
	assert_int_equal(rename(tmp, fs_ctl), 0);
}

/* Calls fsfault failed since the fault was set. */
static long fs_hits(void)
{
	char path[440];
	snprintf(path, sizeof(path), "%s.hits", fs_ctl);
	struct stat sb;
	return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* The path of the ASan or TSan runtime this process has loaded, if any. */
static bool sanitizer_runtime(char *out, size_t cap)
{
	FILE *m = fopen("/proc/self/maps", "r");
	if (!m)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), m)) {
		char *path = strchr(line, '/');
		if (path && (strstr(path, "/libasan.so") || strstr(path, "/libtsan.so"))) {
			path[strcspn(path, "\n")] = '\0';
			found = (size_t)snprintf(out, cap, "%s", path) < cap;
		}
	}
	fclose(m);
	return found;
}

/* signetd with tests/fsfault preloaded, on D's files. */
static pid_t spawn_faultable(void)
{
	const char *env[] = {fs_preload, fs_control_env, fs_tsan_env[0] ? fs_tsan_env : NULL,
			     NULL};
	return signetd_spawn_env(D.conf, D.log, env);
}

/* Start signetd again on the same files, with fresh channels: the old
 * ones back off for longer after every kill. */
static void respawn(void)
{
	D.pid = spawn_faultable();
	signetd_wait_restarted(&D);
}

static size_t audit_lines(void)
{
	size_t lines = 0, bad = 0;
	signet_err ret = signer_audit_verify(audit_path, &lines, &bad);
	if (ret != SIGNET_OK)
		fail_msg("audit chain broken at line %zu: %s", bad, signet_strerror(ret));
	return lines;
}

/* Sign 5 fresh RRsets: the call's status (and the RRSIGs checked if OK). */
static grpc_status_code sign5(rpc_conn *c)
{
	grpc_status_code st;
	unsigned first = next_owner;
	next_owner += 5;
	Signet__V1__SignResponse *r = signetd_sign_a(c, "example.com.", first, 5, &st);
	if (!r)
		return st;
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(r->results[i]->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
		signetd_check_rrsig(&Z, first + i, r->results[i]->rrsig[0].data,
				    r->results[i]->rrsig[0].len);
	}
	signet__v1__sign_response__free_unpacked(r, NULL);
	return st;
}

static int setup(void **state)
{
	(void)state;
	if (signetd_start(&D, NULL) != 0)
		return -1;
	signetd_add_zone(&D, "example.com.", 13, &Z);
	/* fsfault matches the paths /proc/self/fd shows: no symlinks */
	char real[PATH_MAX];
	if (!realpath(D.dir, real) ||
	    snprintf(state_dir, sizeof(state_dir), "%s/state", real) >= (int)sizeof(state_dir) ||
	    snprintf(fs_ctl, sizeof(fs_ctl), "%s/fsfault/control", real) >= (int)sizeof(fs_ctl))
		return -1;
	/* signetd runs as nobody under root (the fixture): the library in it
	 * writes its hit counter next to the control file */
	char ctl_dir[PATH_MAX + 16];
	snprintf(ctl_dir, sizeof(ctl_dir), "%s/fsfault", real);
	if (mkdir(ctl_dir, 0700) != 0 || chmod(ctl_dir, 01777) != 0)
		return -1;
	snprintf(audit_path, sizeof(audit_path), "%s/audit.log", state_dir);
	snprintf(fs_control_env, sizeof(fs_control_env), "FSFAULT_CONTROL=%s", fs_ctl);
	const char *build = getenv("SIGNET_BUILD_DIR");
	char lib[560];
	snprintf(lib, sizeof(lib), "%s/tests/fsfault/libfsfault.so", build ? build : "");
	if (!build || access(lib, R_OK) != 0) {
		fprintf(stderr, "tests/fsfault is missing: %s\n", lib);
		return -1;
	}
	/* In a sanitizer build the sanitizer's runtime must come first (ASan
	 * refuses to start otherwise, and TSan crashes when fsfault's wrappers
	 * run before it is set up): preload the one this process runs with. */
	/* TSan with log_path set dies at start (DEADLYSIGNAL, in a loop) with
	 * the library preloaded; its reports then go to signetd's log instead,
	 * and one still fails the test through signetd's exit status (66). */
	const char *tsan = getenv("TSAN_OPTIONS");
	if (tsan && strstr(tsan, "log_path=")) {
		size_t at = (size_t)snprintf(fs_tsan_env, sizeof(fs_tsan_env), "TSAN_OPTIONS=");
		char opts[1024];
		snprintf(opts, sizeof(opts), "%s", tsan);
		char *save = NULL;
		for (char *o = strtok_r(opts, ":", &save); o; o = strtok_r(NULL, ":", &save))
			if (strncmp(o, "log_path=", 9) != 0 && at < sizeof(fs_tsan_env))
				at += (size_t)snprintf(fs_tsan_env + at, sizeof(fs_tsan_env) - at,
						       "%s%s", at > 13 ? ":" : "", o);
	}
	char runtime[400];
	if (sanitizer_runtime(runtime, sizeof(runtime)))
		snprintf(fs_preload, sizeof(fs_preload), "LD_PRELOAD=%s:%s", runtime, lib);
	else
		snprintf(fs_preload, sizeof(fs_preload), "LD_PRELOAD=%s", lib);
	/* from here on every signetd of this test carries the seam */
	signetd_stop(&D);
	respawn();
	return 0;
}

/* Each test starts with no file-system fault. */
static int no_fault(void **state)
{
	(void)state;
	if (fs_ctl[0])
		set_fs_fault("%s", "");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (D.pid > 0) {
		kill(D.pid, SIGKILL);
		waitpid(D.pid, NULL, 0);
		D.pid = 0;
	}
	return signetd_teardown(&D);
}

/* One line per call, refused calls included, with the client, the zone,
 * the counts, the key tag and the result. */
static void test_signing_is_audited(void **state)
{
	(void)state;
	size_t before = audit_lines();
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "nosuch.test.", 1, 1, &st);
	assert_null(r);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
	assert_int_equal(audit_lines(), before + 2);
	char tag[32];
	snprintf(tag, sizeof(tag), "keys=%u\"", Z.key_tag);
	assert_true(signetd_log_has(audit_path, "\"client\":\"ns1.test\",\"action\":\"SignRRsets\","
				    "\"zone\":\"example.com.\""));
	assert_true(signetd_log_has(audit_path, "rrsets=5 signed=5 failed=0 not_signed=0"));
	assert_true(signetd_log_has(audit_path, tag));
	assert_true(signetd_log_has(audit_path, "\"zone\":\"nosuch.test.\""));
	assert_true(signetd_log_has(audit_path, "is not configured"));
}

static bool add_zone(const char *zone);
static bool zone_present(const char *zone);

/* The state directory's file system full: the audit log takes what fits
 * (a line cut short is cut off again), then signing is refused with
 * UNAVAILABLE, Health still answers, no administrative change is made, and
 * signing resumes when the space is back, the chain intact throughout. */
static void test_disk_full(void **state)
{
	(void)state;
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	size_t before = audit_lines();

	/* room for a few lines, then full */
	set_fs_fault("enospc %s room=1500\n", state_dir);
	int ok = 0, refused = 0;
	for (int i = 0; i < 200 && refused < 5; i++) {
		grpc_status_code st = sign5(D.signer);
		if (st == GRPC_STATUS_OK) {
			assert_int_equal(refused, 0);  /* once refused, refused until space */
			ok++;
		} else {
			assert_int_equal(st, GRPC_STATUS_UNAVAILABLE);
			refused++;
		}
	}
	print_message("disk full: %d calls still fit, then %d refused\n", ok, refused);
	assert_int_equal(refused, 5);
	assert_true(ok >= 1);
	/* the first refusal may be a line cut short, which is no failed call */
	assert_true(fs_hits() >= refused - 1);
	assert_true(signetd_log_has(D.log, "audit log unavailable"));
	/* An administrative change that cannot be audited is not made. */
	assert_false(add_zone("full.test."));
	char det[256];
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	assert_int_equal(rpc_call_msg(D.admin, "Health", &h.base, det, sizeof(det), NULL),
			 GRPC_STATUS_OK);
	/* refused calls left no line, and no torn one */
	assert_int_equal(audit_lines(), before + (size_t)ok);

	set_fs_fault("%s", "");
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_int_equal(audit_lines(), before + (size_t)ok + 1);
	assert_false(zone_present("full.test."));

	/* A restart reads the chain's end and continues it. */
	signetd_stop_ok(&D);
	respawn();
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_int_equal(audit_lines(), before + (size_t)ok + 2);
}

/* The length of the last line of the audit log, its newline included. */
static size_t last_line_len(void)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(audit_path, 1 << 24, &b), SIGNET_OK);
	assert_true(b.len > 1 && b.data[b.len - 1] == '\n');
	size_t i = b.len - 1;
	while (i > 0 && b.data[i - 1] != '\n')
		i--;
	size_t n = b.len - i;
	sg_buf_free(&b);
	return n;
}

/* An administrative change whose "begun" line is written but whose result
 * line cannot be: the call answers INTERNAL, and the change it made stands
 * behind its "begun" line (docs/SIGNETD.md, the audit log). */
static void test_admin_result_unwritable(void **state)
{
	(void)state;
	/* every "begun" line of AddZone from admin.test is as long as this one */
	assert_true(add_zone("len.test."));
	size_t result_len = last_line_len();
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(audit_path, 1 << 24, &b), SIGNET_OK);
	size_t lines = audit_lines();
	assert_true(b.len > result_len);
	size_t i = b.len - result_len - 1;
	while (i > 0 && b.data[i - 1] != '\n')
		i--;
	size_t begun_len = b.len - result_len - i;
	assert_non_null(memmem(b.data + i, begun_len, "\"result\":\"begun\"", 16));
	sg_buf_free(&b);

	/* room for exactly the "begun" line on the audit log's file */
	set_fs_fault("enospc %s room=%zu\n", audit_path, begun_len);
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "internal.test."), SIGNET_OK);
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = 13;
	az.zone.data = apex.wire;
	az.zone.len = apex.len;
	az.policy = &pol;
	ProtobufCBinaryData kd = {D.ksk.dnskey_len, D.ksk.dnskey};
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	char det[256];
	grpc_status_code st = rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL);
	assert_int_equal(fs_hits(), 1);
	set_fs_fault("%s", "");
	if (st != GRPC_STATUS_INTERNAL)
		fail_msg("AddZone with its result line unwritable: status %d (%s), not INTERNAL",
			 (int)st, det);
	assert_non_null(strstr(det, "audit log write failed"));
	/* the change stands, recorded by its "begun" line alone */
	assert_true(zone_present("internal.test."));
	assert_int_equal(audit_lines(), lines + 1);
	assert_int_equal(last_line_len(), begun_len);
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
}

/* ---- SIGKILL in a loop -------------------------------------------------- */

typedef struct load {
	atomic_bool stop;
	unsigned calls;
} load;

static void *signing_load(void *arg)
{
	load *l = arg;
	while (!atomic_load(&l->stop)) {
		grpc_status_code st;
		unsigned first = 100000 + l->calls * 10;
		Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com.", first, 10, &st);
		if (r)
			signet__v1__sign_response__free_unpacked(r, NULL);
		l->calls++;
	}
	return NULL;
}

static bool add_zone(const char *zone)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = 13;
	az.zone.data = apex.wire;
	az.zone.len = apex.len;
	az.policy = &pol;
	ProtobufCBinaryData kd = {D.ksk.dnskey_len, D.ksk.dnskey};
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	char det[256];
	return rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL) ==
	       GRPC_STATUS_OK;
}

/* The zones signetd's Health lists. */
static bool zone_listed(const Signet__V1__HealthResponse *r, const char *zone)
{
	dns_name want;
	assert_int_equal(dns_name_from_str(&want, zone), SIGNET_OK);
	for (size_t i = 0; i < r->n_zones; i++)
		if (r->zones[i]->zone.len == want.len &&
		    memcmp(r->zones[i]->zone.data, want.wire, want.len) == 0)
			return true;
	return false;
}

static void test_kill9_loop(void **state)
{
	(void)state;
	enum { ROUNDS = 5, ZONES_MAX = 400 };
	static bool acked[ZONES_MAX];
	unsigned nz = 0;
	for (int round = 0; round < ROUNDS; round++) {
		load l;
		memset(&l, 0, sizeof(l));
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, signing_load, &l), 0);
		/* administer until a kill lands at a time the test does not choose
		 * exactly: 150..400 ms in */
		long kill_at = signetd_now_ms() + 150 + (rand() % 250);
		while (signetd_now_ms() < kill_at && nz < ZONES_MAX) {
			char zone[64];
			snprintf(zone, sizeof(zone), "k%u.test.", nz);
			acked[nz] = add_zone(zone);
			nz++;
		}
		assert_int_equal(kill(D.pid, SIGKILL), 0);
		assert_int_equal(waitpid(D.pid, NULL, 0), D.pid);
		D.pid = 0;
		atomic_store(&l.stop, true);
		pthread_join(th, NULL);
		/* the call in flight at the kill may or may not have landed */
		respawn();
		/* the signer's channel may still be backing off from the kill */
		grpc_status_code st = GRPC_STATUS_UNAVAILABLE;
		for (long end = signetd_now_ms() + 15000; st == GRPC_STATUS_UNAVAILABLE && signetd_now_ms() < end;)
			if ((st = sign5(D.signer)) == GRPC_STATUS_UNAVAILABLE)
				signetd_sleep_ms(100);
		assert_int_equal(st, GRPC_STATUS_OK);
	}
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(D.admin, "Health", &h.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__HealthResponse *r =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(r);
	unsigned nacked = 0;
	for (unsigned i = 0; i < nz; i++) {
		char zone[64];
		snprintf(zone, sizeof(zone), "k%u.test.", i);
		if (acked[i]) {
			nacked++;
			if (!zone_listed(r, zone))
				fail_msg("acknowledged zone %s lost after SIGKILL", zone);
		}
	}
	signet__v1__health_response__free_unpacked(r, NULL);
	sg_buf_free(&resp);
	print_message("%u AddZone calls acknowledged over %d kills; all there\n", nacked, ROUNDS);
	assert_true(nacked >= ROUNDS);
	/* every line written survived the kills whole */
	audit_lines();
}

/* ---- the clock stepped ------------------------------------------------- */

static void set_clock(int64_t t)
{
	Signet__V1__RolloverRequest rr = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	rr.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK;
	rr.time = t;
	char det[256];
	if (rpc_call_msg(D.admin, "Rollover", &rr.base, det, sizeof(det), NULL) != GRPC_STATUS_OK)
		fail_msg("set-clock: %s", det);
}

/* Sign one fresh RRset with signetd's clock at t; the call's status, and
 * for a signed RRset its inception and expiration. */
static grpc_status_code sign_at(int64_t t, uint32_t *inc, uint32_t *exp, char *msg, size_t mlen)
{
	set_clock(t);
	grpc_status_code st;
	unsigned i = next_owner++;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com.", i, 1, &st);
	*inc = *exp = 0;
	msg[0] = '\0';
	if (!r)
		return st;
	const Signet__V1__SignResult *res = r->results[0];
	snprintf(msg, mlen, "%s", res->message);
	if (res->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED) {
		dns_rrsig sig;
		assert_int_equal(dns_rrsig_from_rdata(&sig, res->rrsig[0].data, res->rrsig[0].len),
				 SIGNET_OK);
		*inc = sig.inception;
		*exp = sig.expiration;
	} else {
		st = (grpc_status_code)res->code;
	}
	signet__v1__sign_response__free_unpacked(r, NULL);
	return st;
}

/* Seconds left on the zone's key set, as Health reports it. */
static int64_t keyset_left(void)
{
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(D.admin, "Health", &h.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__HealthResponse *r =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(r);
	int64_t left = INT64_MIN;
	dns_name want;
	assert_int_equal(dns_name_from_str(&want, "example.com."), SIGNET_OK);
	for (size_t i = 0; i < r->n_zones; i++)
		if (r->zones[i]->zone.len == want.len &&
		    memcmp(r->zones[i]->zone.data, want.wire, want.len) == 0)
			left = r->zones[i]->keyset_seconds_left;
	signet__v1__health_response__free_unpacked(r, NULL);
	sg_buf_free(&resp);
	assert_true(left != INT64_MIN);
	return left;
}

/* signetd's clock stepped (through the signer's test clock): forwards,
 * every RRSIG window is built around the new time; backwards to before
 * the ZSK became active, nothing is signed (FAILED_PRECONDITION), never a
 * signature dated before its key; forwards past the imported key set's
 * last period, signing goes on and Health reports the key set expired
 * (the operator's alarm: the DNSKEY RRset's RRSIGs from the KSK lapse). */
static void test_clock_steps(void **state)
{
	(void)state;
	int64_t now = (int64_t)time(NULL);
	uint32_t inc, exp;
	char msg[400];
	assert_true(keyset_left() > 0);
	const int64_t forward[] = {0, 3600, 86400, 10 * 86400, 30 * 86400};
	for (size_t k = 0; k < sizeof(forward) / sizeof(forward[0]); k++) {
		int64_t t = now + forward[k];
		assert_int_equal(sign_at(t, &inc, &exp, msg, sizeof(msg)), GRPC_STATUS_OK);
		assert_true((int64_t)inc < t && t < (int64_t)exp);
		/* the window starts no more than a few days before the clock */
		assert_true(t - (int64_t)inc < 7 * 86400);
	}
	/* now + 30 days is past the 14-day key set */
	assert_true(keyset_left() < 0);
	const int64_t backward[] = {-3600, -86400, -30 * 86400};
	for (size_t k = 0; k < sizeof(backward) / sizeof(backward[0]); k++)
		assert_int_equal(sign_at(now + backward[k], &inc, &exp, msg, sizeof(msg)),
				 GRPC_STATUS_FAILED_PRECONDITION);
	/* back to the system clock: signing as before */
	set_clock(0);
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_true(keyset_left() > 0);
}

/* ---- a read-only file system -------------------------------------------- */

static bool zone_present(const char *zone)
{
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(D.admin, "Health", &h.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__HealthResponse *r =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(r);
	bool there = zone_listed(r, zone);
	signet__v1__health_response__free_unpacked(r, NULL);
	sg_buf_free(&resp);
	return there;
}

/* signetd on the files as they are must not start: it exits 1 (no crash,
 * no serving) and its log says needle. */
static void start_refused(const char *needle)
{
	pid_t pid = spawn_faultable();
	int status = 0;
	if (signetd_wait_port(D.port, pid, 30000, &status)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("signetd serves with its state read-only (%s)", needle);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	if (!signetd_log_has(D.log, needle))
		fail_msg("no '%s' in signetd's log", needle);
}

/* The state read-only, as a whole and file by file (the audit log, the
 * database). While signetd runs: signing and administering are refused,
 * and resume when the file system is writable again. At start: signetd
 * refuses to start (no serving unaudited, no administering into a database
 * it cannot write) with a clear log line, and once writable it starts with
 * every acknowledged change and an intact audit chain. */
static void test_read_only(void **state)
{
	(void)state;
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_true(add_zone("ro0.test."));
	size_t lines = audit_lines();

	/* under a running signetd */
	set_fs_fault("erofs %s\n", state_dir);
	assert_int_equal(sign5(D.signer), GRPC_STATUS_UNAVAILABLE);
	assert_false(add_zone("ro-never.test."));
	assert_true(fs_hits() >= 2);
	set_fs_fault("%s", "");
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_false(zone_present("ro-never.test."));
	assert_int_equal(audit_lines(), lines + 1);
	lines++;

	/* the whole directory */
	signetd_stop_ok(&D);
	set_fs_fault("erofs %s\n", state_dir);
	start_refused("is read-only");
	set_fs_fault("%s", "");
	respawn();
	assert_true(zone_present("ro0.test."));
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_true(add_zone("ro1.test."));
	/* a signing line, and two per change: "begun", then the result */
	assert_int_equal(audit_lines(), lines + 3);

	/* the audit log alone */
	signetd_stop_ok(&D);
	set_fs_fault("erofs %s\n", audit_path);
	start_refused("audit log ");
	set_fs_fault("%s", "");
	respawn();
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_true(add_zone("ro2.test."));
	assert_int_equal(audit_lines(), lines + 6);

	/* the database alone (a clean stop leaves no WAL beside it) */
	signetd_stop_ok(&D);
	set_fs_fault("erofs %s/state.db\n", state_dir);
	start_refused("is read-only");
	set_fs_fault("%s", "");
	respawn();
	assert_int_equal(sign5(D.signer), GRPC_STATUS_OK);
	assert_true(add_zone("ro3.test."));
	signetd_stop_ok(&D);
	respawn();
	for (int i = 0; i <= 3; i++) {
		char zone[32];
		snprintf(zone, sizeof(zone), "ro%d.test.", i);
		if (!zone_present(zone))
			fail_msg("acknowledged zone %s lost", zone);
	}
	assert_int_equal(audit_lines(), lines + 9);
}

static void test_clean_stop(void **state)
{
	(void)state;
	signetd_stop_ok(&D);
}

int main(void)
{
	srand((unsigned)time(NULL));
	/* signetd's clock may be set through the admin API (it logs a warning) */
	setenv("SIGNETD_TEST_CLOCK", "1", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_signing_is_audited, no_fault),
		cmocka_unit_test_setup(test_disk_full, no_fault),
		cmocka_unit_test_setup(test_admin_result_unwritable, no_fault),
		cmocka_unit_test_setup(test_read_only, no_fault),
		cmocka_unit_test_setup(test_kill9_loop, no_fault),
		cmocka_unit_test_setup(test_clock_steps, no_fault),
		cmocka_unit_test_setup(test_clean_stop, no_fault),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
