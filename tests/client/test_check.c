/* test_check.c -- `signet check` against a real authoritative server: NSD on
 * 127.0.0.1 serves zones signed by ldns-signzone with keys from ldns-keygen
 * (a healthy one, one near expiry, an expired one, one whose parent DS names
 * another key, one with an NSEC removed, one with an oversize DNSKEY RRset,
 * an NSEC3 one), and the CLI runs as a child process as a monitoring system
 * would run it; --ds is fed every DS source an operator has and broken
 * ones. A fake server that answers garbage and a port nobody serves cover
 * the failures. The zone shapes and defects are test_check_corpus.c's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/lib/tmpdir.h"

/* Everything the group shares. */
struct fixture {
	char dir[256];        /* temporary directory with zones, keys and nsd.conf */
	unsigned port;        /* NSD's port */
	pid_t nsd;            /* NSD, in the foreground */
	char healthy_ds[600]; /* the healthy zone's KSK DS file */
	char other_ds[600]; /* a DS of a key no zone publishes */
	char stray_ds[600]; /* the same for the healthy zone */
};

static struct fixture fx;

/* Run argv (searched in PATH, /usr/sbin added) in dir, stdout to out_path
 * (NULL: /dev/null), stderr to dir/tool.err. Returns the exit status. */
static int run_in(const char *dir, const char *out_path, const char *const *argv)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[400];
		snprintf(err, sizeof(err), "%s/tool.err", dir);
		int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (o < 0 || e < 0 || chdir(dir) != 0)
			_exit(127);
		dup2(o, 1);
		dup2(e, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(sg_file_write_atomic(path, text, strlen(text), 0600), SIGNET_OK);
}

static void read_file(const char *path, sg_buf *out)
{
	sg_buf_reset(out);
	assert_int_equal(sg_file_read(path, 1 << 22, out), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(out, 0), SIGNET_OK);
	out->len--;
}

/* ldns-keygen for zone in the fixture's directory; base gets the key's base
 * name (K<zone>+013+<tag>). */
static void keygen(const char *zone, bool ksk, char *base, size_t len)
{
	char out[400];
	snprintf(out, sizeof(out), "%s/keygen.out", fx.dir);
	const char *argv[] = {"ldns-keygen", "-a", "ECDSAP256SHA256", zone, NULL, NULL};
	if (ksk) {
		argv[3] = "-k";
		argv[4] = zone;
	}
	assert_int_equal(run_in(fx.dir, out, argv), 0);
	sg_buf b = SG_BUF_INIT;
	read_file(out, &b);
	char *nl = strchr((char *)b.data, '\n');
	if (nl)
		*nl = '\0';
	assert_true(b.len > 1 && b.len < len);
	snprintf(base, len, "%s", (char *)b.data);
	sg_buf_free(&b);
}

/* The unsigned zone text of name with a few names, plus extra. */
static void base_zone(const char *name, const char *extra, sg_buf *out)
{
	sg_buf_reset(out);
	assert_int_equal(sg_buf_printf(out,
		"$ORIGIN %s.\n$TTL 300\n"
		"@ IN SOA ns1 hostmaster 1 3600 900 604800 300\n"
		"@ IN NS ns1\nns1 IN A 127.0.0.1\nwww IN A 192.0.2.1\n"
		"mail IN A 192.0.2.2\n@ IN MX 10 mail\nftp IN AAAA 2001:db8::1\n%s",
		name, extra ? extra : ""), SIGNET_OK);
}

/* Sign zone name (file <name>.zone) with a fresh KSK and ZSK into
 * <name>.signed; extra ldns-signzone flags in flags (NULL-terminated). The
 * KSK's base name goes to ksk (may be NULL). */
static void sign_zone(const char *name, const char *extra, const char *const *flags,
		      char *ksk, size_t ksklen)
{
	char k[300], z[300], path[400], out[400], origin[300];
	keygen(name, true, k, sizeof(k));
	keygen(name, false, z, sizeof(z));
	sg_buf text = SG_BUF_INIT;
	base_zone(name, extra, &text);
	snprintf(path, sizeof(path), "%s/%s.zone", fx.dir, name);
	write_file(path, (char *)text.data);
	sg_buf_free(&text);
	snprintf(out, sizeof(out), "%s.signed", name);
	snprintf(origin, sizeof(origin), "%s.", name);
	snprintf(path, sizeof(path), "%s.zone", name);
	const char *argv[32];
	size_t n = 0;
	argv[n++] = "ldns-signzone";
	argv[n++] = "-f";
	argv[n++] = out;
	argv[n++] = "-o";
	argv[n++] = origin;
	for (size_t i = 0; flags && flags[i] && n < 24; i++)
		argv[n++] = flags[i];
	argv[n++] = path;
	argv[n++] = k;
	argv[n++] = z;
	argv[n] = NULL;
	assert_int_equal(run_in(fx.dir, NULL, argv), 0);
	if (ksk)
		snprintf(ksk, ksklen, "%s", k);
}

/* Remove from a signed zone file every line whose owner is owner and whose
 * type is NSEC or an RRSIG over NSEC: an NSEC lost from the chain. */
static void drop_nsec(const char *file, const char *owner)
{
	sg_buf in = SG_BUF_INIT, out = SG_BUF_INIT;
	read_file(file, &in);
	char *save = NULL;
	size_t dropped = 0;
	for (char *line = strtok_r((char *)in.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		bool mine = strncmp(line, owner, strlen(owner)) == 0 &&
			    (line[strlen(owner)] == '\t' || line[strlen(owner)] == ' ');
		if (mine && (strstr(line, "\tNSEC\t") || strstr(line, "RRSIG\tNSEC "))) {
			dropped++;
			continue;
		}
		assert_int_equal(sg_buf_printf(&out, "%s\n", line), SIGNET_OK);
	}
	assert_int_equal(dropped, 2);
	write_file(file, (char *)out.data);
	sg_buf_free(&in);
	sg_buf_free(&out);
}

/* A UDP and a TCP socket (listening, SO_REUSEADDR) bound to the same
 * port on 127.0.0.1, which the TCP socket's bind to port 0 chose: a port
 * free for UDP alone may be another test's TCP listener. Returns it. */
static unsigned bind_pair(int *u_out, int *t_out)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(t >= 0 && u >= 0);
		int one = 1;
		assert_int_equal(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t l = sizeof(a);
		assert_int_equal(bind(t, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(t, (struct sockaddr *)&a, &l), 0);
		if (bind(u, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(t, 8) == 0) {
			*u_out = u;
			*t_out = t;
			return ntohs(a.sin_port);
		}
		close(t);
		close(u);
	}
	fail_msg("no port free for both UDP and TCP on 127.0.0.1");
	return 0;
}

/* A port free for UDP and TCP at the time of asking. */
static unsigned free_port(void)
{
	int u, t;
	unsigned port = bind_pair(&u, &t);
	close(u);
	close(t);
	return port;
}

/* Run the CLI with args (NULL-terminated); stdout into out, stderr appended
 * to it. Returns the exit status; a crash fails the test. */
static int run_check(sg_buf *out, const char *const *args)
{
	char log[400];
	snprintf(log, sizeof(log), "%s/cli.log", fx.dir);
	const char *argv[40];
	size_t n = 0;
	argv[n++] = SIGNET_CLI;
	argv[n++] = "check";
	for (size_t i = 0; args[i] && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0)
			_exit(127);
		dup2(o, 1);
		dup2(o, 2);
		execv(SIGNET_CLI, (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	read_file(log, out);
	if (!WIFEXITED(st))
		fail_msg("signet check died with signal %d:\n%s", WTERMSIG(st),
			 (char *)out->data);
	return WEXITSTATUS(st);
}

static int group_teardown(void **state)
{
	(void)state;
	if (fx.nsd > 0) {
		kill(fx.nsd, SIGTERM);
		waitpid(fx.nsd, NULL, 0);
	}
	return test_tmpdir_remove(fx.dir);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const children[] = {"healthy", "mismatch", "refresh", "expired",
				       "broken", "big", "nsec3"};

/* NSD on a new free port serving check.test and its children; true once it
 * answers the parent's SOA, false if it exited at start (its port taken). */
static bool start_nsd(void)
{
	char f[1024];
	fx.port = free_port();
	sg_buf conf = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&conf,
		"server:\n  ip-address: 127.0.0.1\n  port: %u\n  username: \"\"\n"
		"  chroot: \"\"\n  zonesdir: \"%s\"\n  database: \"\"\n"
		"  pidfile: \"%s/nsd.pid\"\n  xfrdfile: \"%s/xfrd.state\"\n"
		"  zonelistfile: \"%s/zone.list\"\n  xfrdir: \"%s\"\n"
		"  logfile: \"%s/nsd.log\"\n  server-count: 1\n  do-ip6: no\n"
		"  verbosity: 1\nremote-control:\n  control-enable: no\n"
		"zone:\n  name: check.test\n  zonefile: check.test.signed\n",
		fx.port, fx.dir, fx.dir, fx.dir, fx.dir, fx.dir, fx.dir), SIGNET_OK);
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		assert_int_equal(sg_buf_printf(&conf,
			"zone:\n  name: %s.check.test\n  zonefile: %s.check.test.signed\n",
			children[i], children[i]), SIGNET_OK);
	snprintf(f, sizeof(f), "%s/nsd.conf", fx.dir);
	write_file(f, (char *)conf.data);
	sg_buf_free(&conf);

	fx.nsd = fork();
	assert_true(fx.nsd >= 0);
	if (fx.nsd == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execlp("nsd", "nsd", "-d", "-c", f, (char *)NULL);
		_exit(127);
	}
	/* Ready when it answers the parent's SOA. */
	check_server s;
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", fx.port);
	assert_int_equal(check_server_parse(addr, &s), SIGNET_OK);
	s.timeout_ms = 200;
	s.tries = 1;
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "check.test."), SIGNET_OK);
	for (long end = now_ms() + 60000; now_ms() < end;) {
		check_answer a;
		char err[256];
		if (check_query(&s, &apex, DNS_T_SOA, &a, err, sizeof(err)) == SIGNET_OK) {
			bool ok = a.rcode == 0 && a.count > 0;
			check_answer_free(&a);
			if (ok)
				return true;
		}
		int st;
		if (waitpid(fx.nsd, &st, WNOHANG) == fx.nsd) {
			fx.nsd = 0;
			return false;
		}
		struct timespec ts = {0, 50000000L};
		nanosleep(&ts, NULL);
	}
	fail_msg("nsd did not answer on port %u within 60 s", fx.port);
	return false;
}

static int group_setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	assert_int_equal(test_tmpdir_make("signet-check", fx.dir, sizeof(fx.dir)), 0);
	const char *path = getenv("PATH");
	char newpath[4096];
	snprintf(newpath, sizeof(newpath), "%s:/usr/sbin:/usr/bin", path ? path : "");
	setenv("PATH", newpath, 1);
	uint32_t now = (uint32_t)time(NULL);
	char ksk[300], inc[16], exp[16], f[1024];

	sign_zone("healthy.check.test", NULL, NULL, ksk, sizeof(ksk));
	snprintf(fx.healthy_ds, sizeof(fx.healthy_ds), "%s/%s.ds", fx.dir, ksk);
	sign_zone("mismatch.check.test", NULL, NULL, NULL, 0);
	/* A key of the right zone that is never published: its DS is a DS/KSK
	 * mismatch, as after a KSK roll that forgot the parent. */
	keygen("mismatch.check.test", true, ksk, sizeof(ksk));
	snprintf(fx.other_ds, sizeof(fx.other_ds), "%s/%s.ds", fx.dir, ksk);
	keygen("healthy.check.test", true, ksk, sizeof(ksk));
	snprintf(fx.stray_ds, sizeof(fx.stray_ds), "%s/%s.ds", fx.dir, ksk);

	/* Two days of validity left: inside a week's refresh time. */
	snprintf(inc, sizeof(inc), "%u", now - 86400);
	snprintf(exp, sizeof(exp), "%u", now + 2 * 86400);
	const char *near[] = {"-i", inc, "-e", exp, NULL};
	sign_zone("refresh.check.test", NULL, near, NULL, 0);

	snprintf(inc, sizeof(inc), "%u", now - 20 * 86400);
	snprintf(exp, sizeof(exp), "%u", now - 86400);
	const char *old[] = {"-i", inc, "-e", exp, NULL};
	sign_zone("expired.check.test", NULL, old, NULL, 0);

	sign_zone("broken.check.test", NULL, NULL, NULL, 0);
	snprintf(f, sizeof(f), "%s/broken.check.test.signed", fx.dir);
	drop_nsec(f, "mail.broken.check.test.");

	/* Sixteen published keys: the DNSKEY answer outgrows 1232 octets. */
	sg_buf extra = SG_BUF_INIT, key = SG_BUF_INIT;
	for (int i = 0; i < 14; i++) {
		keygen("big.check.test", false, ksk, sizeof(ksk));
		snprintf(f, sizeof(f), "%s/%s.key", fx.dir, ksk);
		read_file(f, &key);
		assert_int_equal(sg_buf_printf(&extra, "%s", (char *)key.data), SIGNET_OK);
	}
	sign_zone("big.check.test", (char *)extra.data, NULL, NULL, 0);
	sg_buf_free(&extra);
	sg_buf_free(&key);

	const char *n3[] = {"-n", "-t", "0", NULL};
	sign_zone("nsec3.check.test", NULL, n3, NULL, 0);

	/* The parent: delegations with the healthy zone's DS and, for the
	 * mismatch zone, the DS of the unpublished key. */
	sg_buf parent = SG_BUF_INIT, ds = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&parent,
		"$ORIGIN check.test.\n$TTL 300\n"
		"@ IN SOA ns1 hostmaster 1 3600 900 604800 300\n@ IN NS ns1\n"
		"ns1 IN A 127.0.0.1\n"), SIGNET_OK);
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		assert_int_equal(sg_buf_printf(&parent, "%s IN NS ns1\n", children[i]),
				 SIGNET_OK);
	read_file(fx.healthy_ds, &ds);
	assert_int_equal(sg_buf_printf(&parent, "%s", (char *)ds.data), SIGNET_OK);
	read_file(fx.other_ds, &ds);
	assert_int_equal(sg_buf_printf(&parent, "%s", (char *)ds.data), SIGNET_OK);
	char pk[300], pz[300];
	keygen("check.test", true, pk, sizeof(pk));
	keygen("check.test", false, pz, sizeof(pz));
	snprintf(f, sizeof(f), "%s/check.test.zone", fx.dir);
	write_file(f, (char *)parent.data);
	sg_buf_free(&parent);
	sg_buf_free(&ds);
	const char *sp[] = {"ldns-signzone", "-f", "check.test.signed", "-o", "check.test.",
			    "check.test.zone", pk, pz, NULL};
	assert_int_equal(run_in(fx.dir, NULL, sp), 0);

	/* Another process may take the port between free_port and NSD's
	 * bind: NSD then exits at start, and starts again on a new port. */
	for (int attempt = 0; attempt < 5; attempt++)
		if (start_nsd())
			return 0;
	fail_msg("nsd did not start on a free port in 5 attempts; see %s/nsd.log", fx.dir);
	return -1;
}

static const char *server_arg(void)
{
	static char s[32];
	snprintf(s, sizeof(s), "127.0.0.1:%u", fx.port);
	return s;
}

static const char *text(const sg_buf *b)
{
	return (const char *)b->data;
}

static void test_healthy(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *args[] = {"healthy.check.test", "--server", server_arg(), "--ds",
			      fx.healthy_ds, NULL};
	int rc = run_check(&out, args);
	if (rc != 0)
		print_message("%s", text(&out));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text(&out), "SIGNET CHECK OK - healthy.check.test."));
	assert_non_null(strstr(text(&out), "NSEC chain complete: 5 names"));
	assert_non_null(strstr(text(&out), "which signs the DNSKEY RRset"));
	assert_non_null(strstr(text(&out), "www.healthy.check.test. A: signed answer"));
	assert_null(strstr(text(&out), "WARNING "));

	/* --name: a NODATA answer (ftp has only AAAA) is judged by its NSEC. */
	const char *named[] = {"healthy.check.test", "--server", server_arg(), "--name",
			       "ftp.healthy.check.test", NULL};
	assert_int_equal(run_check(&out, named), 0);
	assert_non_null(strstr(text(&out), "ftp.healthy.check.test. A: no data, proven by NSEC"));

	const char *json[] = {"healthy.check.test", "--server", server_arg(), "--parent",
			      server_arg(), "--json", NULL};
	assert_int_equal(run_check(&out, json), 0);
	assert_true(out.len > 2 && out.data[0] == '{');
	assert_non_null(strstr(text(&out), "\"status\":\"OK\",\"exit\":0"));
	assert_non_null(strstr(text(&out), "\"critical\":0"));
	assert_non_null(strstr(text(&out), "at the parent 127.0.0.1 matches KSK"));
	assert_non_null(strstr(text(&out), "verifies with the parent's DNSKEY"));
	sg_buf_free(&out);
}

static void test_nsec3(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *args[] = {"nsec3.check.test", "--server", server_arg(), "--probes", "4",
			      NULL};
	int rc = run_check(&out, args);
	if (rc != 0)
		print_message("%s", text(&out));
	assert_int_equal(rc, 0);
	const char *p = text(&out);
	int proofs = 0;
	while ((p = strstr(p, "closest encloser nsec3.check.test., next closer and "
			      "wildcard covered")) != NULL) {
		proofs++;
		p++;
	}
	assert_int_equal(proofs, 4);
	sg_buf_free(&out);
}

static void test_refresh_warning(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *args[] = {"refresh.check.test", "--server", server_arg(), "--refresh",
			      "604800", NULL};
	assert_int_equal(run_check(&out, args), 1);
	assert_non_null(strstr(text(&out), "SIGNET CHECK WARNING"));
	assert_non_null(strstr(text(&out), "SOA refresh.check.test.: RRSIG by key"));
	assert_non_null(strstr(text(&out), "within the refresh time of 7d 0h"));
	/* With a refresh time shorter than what is left, the same zone is fine. */
	const char *shorter[] = {"refresh.check.test", "--server", server_arg(), "--refresh",
				 "86400", NULL};
	assert_int_equal(run_check(&out, shorter), 0);
	const char *json[] = {"refresh.check.test", "--server", server_arg(), "--refresh",
			      "604800", "--json", NULL};
	assert_int_equal(run_check(&out, json), 1);
	assert_non_null(strstr(text(&out), "\"status\":\"WARNING\",\"exit\":1"));
	assert_non_null(strstr(text(&out), "{\"status\":\"WARNING\",\"check\":\"rrsig\""));
	sg_buf_free(&out);
}

static void test_expired(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *args[] = {"expired.check.test", "--server", server_arg(), NULL};
	assert_int_equal(run_check(&out, args), 2);
	assert_non_null(strstr(text(&out), "SIGNET CHECK CRITICAL"));
	assert_non_null(strstr(text(&out), "DNSKEY expired.check.test.: RRSIG by key"));
	assert_non_null(strstr(text(&out), "expired at"));
	/* Judged at a time inside the window (--time), it verifies. */
	char t[16];
	snprintf(t, sizeof(t), "%u", (unsigned)time(NULL) - 10 * 86400);
	const char *then[] = {"expired.check.test", "--server", server_arg(), "--time", t,
			      "--refresh", "3600", NULL};
	int rc = run_check(&out, then);
	if (rc != 0)
		print_message("%s", text(&out));
	assert_int_equal(rc, 0);
	const char *json[] = {"expired.check.test", "--server", server_arg(), "--json", NULL};
	assert_int_equal(run_check(&out, json), 2);
	assert_non_null(strstr(text(&out), "\"status\":\"CRITICAL\",\"exit\":2"));
	sg_buf_free(&out);
}

static void test_ds_mismatch(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *parent[] = {"mismatch.check.test", "--server", server_arg(), "--parent",
				server_arg(), NULL};
	assert_int_equal(run_check(&out, parent), 2);
	assert_non_null(strstr(text(&out), "CRITICAL ds: no DS at the parent 127.0.0.1 "
					   "matches a KSK"));
	assert_non_null(strstr(text(&out), "matches no DNSKEY"));
	const char *file[] = {"healthy.check.test", "--server", server_arg(), "--ds",
			      fx.stray_ds, "--json", NULL};
	assert_int_equal(run_check(&out, file), 2);
	assert_non_null(strstr(text(&out), "{\"status\":\"CRITICAL\",\"check\":\"ds\","
					   "\"message\":\"no DS in "));
	/* A DS file of another zone is a mistake of the caller: UNKNOWN. */
	const char *other[] = {"healthy.check.test", "--server", server_arg(), "--ds",
			       fx.other_ds, NULL};
	assert_int_equal(run_check(&out, other), 3);
	assert_non_null(strstr(text(&out), "holds no DS RR of healthy.check.test."));
	assert_non_null(strstr(text(&out), "ignored 1 DS of another owner"));
	sg_buf_free(&out);
}

/* The one DS RR of the healthy zone's KSK file, its presentation parts:
 * owner, and the RDATA text after "DS". */
static void healthy_ds_parts(char *rdata, size_t len)
{
	sg_buf ds = SG_BUF_INIT;
	read_file(fx.healthy_ds, &ds);
	const char *p = strstr(text(&ds), "DS\t");
	assert_non_null(p);
	snprintf(rdata, len, "%s", p + 3);
	char *nl = strchr(rdata, '\n');
	if (nl)
		*nl = '\0';
	sg_buf_free(&ds);
}

/* Write text to dir/name and return the path (static storage, one at a
 * time). */
static const char *ds_file(const char *name, const char *body)
{
	static char path[400];
	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	write_file(path, body);
	return path;
}

/* --ds takes every DS source an operator has: the ceremony's export-ds
 * file (DNSKEY, CDS, CDNSKEY and approvals around the DS), BIND's dsset-
 * and dnssec-dsfromkey output, ldns's .ds, and dig output with comments,
 * RRSIGs and a record split over lines; what is not a DS of the zone is
 * ignored and said once, CDS is never taken for DS, and broken files are
 * UNKNOWN with the line. */
static void test_ds_sources(void **state)
{
	(void)state;
	char rd[400], key[1200], body[6000];
	healthy_ds_parts(rd, sizeof(rd));
	char keyfile[700];
	snprintf(keyfile, sizeof(keyfile), "%.*skey", (int)(strlen(fx.healthy_ds) - 2),
		 fx.healthy_ds);
	sg_buf k = SG_BUF_INIT, out = SG_BUF_INIT;
	read_file(keyfile, &k);
	const char *kr = strstr(text(&k), "DNSKEY\t");
	assert_non_null(kr);
	snprintf(key, sizeof(key), "%s", kr + 7);
	char *nl = strchr(key, '\n');
	if (nl)
		*nl = '\0';

	snprintf(body, sizeof(body),
		 "; signet-ceremony export-ds healthy.check.test.\n; key-tag 1 algorithm 13 "
		 "label x\n; request 00\n; words a b c\n"
		 "healthy.check.test.\t3600\tIN\tDNSKEY\t%s\n"
		 "healthy.check.test.\t3600\tIN\tDS\t%s\n"
		 "healthy.check.test.\t3600\tIN\tCDS\t%s\n"
		 "healthy.check.test.\t3600\tIN\tCDNSKEY\t%s\n"
		 "; approvals:\n;; approval 1 (\n;; \"quoted\" ; text\n",
		 key, rd, rd, key);
	const char *cer[] = {"healthy.check.test", "--server", server_arg(), "--ds",
			     ds_file("ceremony.ds", body), NULL};
	int rc = run_check(&out, cer);
	if (rc != 0)
		print_message("%s", text(&out));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text(&out), "only DS RRs of healthy.check.test. count; "
					   "ignored 1 DNSKEY, 1 CDS, 1 CDNSKEY"));
	assert_non_null(strstr(text(&out), "which signs the DNSKEY RRset"));

	/* BIND: dnssec-dsfromkey on the key, SHA-1 and SHA-256, no TTL. */
	char bind_out[500], keyzone[500];
	snprintf(bind_out, sizeof(bind_out), "%s/dsset-healthy.check.test.", fx.dir);
	snprintf(body, sizeof(body), "$TTL 300\n%s", text(&k));
	snprintf(keyzone, sizeof(keyzone), "%s", ds_file("key.zone", body));
	const char *dsfromkey[] = {"dnssec-dsfromkey", "-1", "-2", "-f", keyzone,
				   "healthy.check.test.", NULL};
	assert_int_equal(run_in(fx.dir, bind_out, dsfromkey), 0);
	const char *bind[] = {"healthy.check.test", "--server", server_arg(), "--ds", bind_out,
			      NULL};
	assert_int_equal(run_check(&out, bind), 0);
	assert_non_null(strstr(text(&out), "digest type 1 in "));
	assert_non_null(strstr(text(&out), "digest type 2 in "));
	assert_null(strstr(text(&out), "ignored"));

	/* dig, +multi: comments, the question, an RRSIG, a DS split over
	 * lines with a comment inside, another owner's DS. */
	char hex[200];
	unsigned tag, alg, dt;
	assert_int_equal(sscanf(rd, "%u %u %u %199s", &tag, &alg, &dt, hex), 4);
	snprintf(body, sizeof(body),
		 "\n; <<>> DiG 9.18 <<>> +dnssec +multi DS healthy.check.test\n"
		 ";; QUESTION SECTION:\n;healthy.check.test.\t\tIN DS\n\n"
		 ";; ANSWER SECTION:\nhealthy.check.test. 300 IN DS %u %u %u (\n"
		 "\t\t\t\t%.20s ; first part\n\t\t\t\t%s )\n"
		 "healthy.check.test. 300 IN RRSIG DS 13 3 300 (\n\t\t\t\t20300101000000 "
		 "20200101000000 1 check.test.\n\t\t\t\tAAAA )\n"
		 "other.check.test. 300 IN DS %s\n\n;; Query time: 1 msec\n",
		 tag, alg, dt, hex, hex + 20, rd);
	const char *dig[] = {"healthy.check.test", "--server", server_arg(), "--ds",
			     ds_file("dig.out", body), NULL};
	rc = run_check(&out, dig);
	if (rc != 0)
		print_message("%s", text(&out));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text(&out), "ignored 1 RRSIG, 1 DS of another owner"));

	/* Saved by a Windows editor: a byte order mark and CR LF. */
	snprintf(body, sizeof(body), "\xef\xbb\xbf; from the registrar\r\n"
		 "healthy.check.test. 300 IN DS %s\r\n", rd);
	const char *crlf[] = {"healthy.check.test", "--server", server_arg(), "--ds",
			      ds_file("windows.ds", body), NULL};
	rc = run_check(&out, crlf);
	if (rc != 0)
		print_message("%s", text(&out));
	assert_int_equal(rc, 0);

	/* CDS alone is not a DS. */
	snprintf(body, sizeof(body), "healthy.check.test. 300 IN CDS %s\n", rd);
	const char *cds[] = {"healthy.check.test", "--server", server_arg(), "--ds",
			     ds_file("cds.only", body), NULL};
	assert_int_equal(run_check(&out, cds), 3);
	assert_non_null(strstr(text(&out), "holds no DS RR of healthy.check.test. (CDS"));

	/* Broken files: the line and the reason, UNKNOWN. */
	static const struct {
		const char *body, *why;
	} broken[] = {
		{"healthy.check.test. 300 IN DS 1 13 2 (\n 00\n", "line 1: '(' not closed"},
		{"healthy.check.test. 300 IN DS 1 13 2 00 )\n", "line 1: ')' without '('"},
		{"\n\nhealthy.check.test. 300 IN DS x y z\n", "line 3: not a resource record"},
		{"$INCLUDE /etc/passwd\n", "line 1: directive not understood"},
		{"   300 IN DS 1 13 2 00\n", "line 1: a record without an owner"},
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		const char *args[] = {"healthy.check.test", "--server", server_arg(), "--ds",
				      ds_file("broken.ds", broken[i].body), NULL};
		assert_int_equal(run_check(&out, args), 3);
		if (!strstr(text(&out), broken[i].why))
			fail_msg("case %zu: no '%s' in\n%s", i, broken[i].why, text(&out));
	}
	/* A NUL octet, and a file over 1 MiB. */
	char path[400];
	snprintf(path, sizeof(path), "%s/nul.ds", fx.dir);
	assert_int_equal(sg_file_write_atomic(path, "a\0b\n", 4, 0600), SIGNET_OK);
	const char *nul[] = {"healthy.check.test", "--server", server_arg(), "--ds", path, NULL};
	assert_int_equal(run_check(&out, nul), 3);
	assert_non_null(strstr(text(&out), "line 1: a NUL octet"));
	sg_buf big = SG_BUF_INIT;
	for (int i = 0; i < 50000; i++)
		assert_int_equal(sg_buf_printf(&big, "; padding padding padding\n"), SIGNET_OK);
	snprintf(path, sizeof(path), "%s/big.ds", fx.dir);
	assert_int_equal(sg_file_write_atomic(path, big.data, big.len, 0600), SIGNET_OK);
	const char *large[] = {"healthy.check.test", "--server", server_arg(), "--ds", path,
			       NULL};
	assert_int_equal(run_check(&out, large), 3);
	assert_non_null(strstr(text(&out), "(over 1 MiB)"));
	sg_buf_free(&big);
	sg_buf_free(&k);
	sg_buf_free(&out);
}

static void test_broken_nsec_chain(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *args[] = {"broken.check.test", "--server", server_arg(), NULL};
	assert_int_equal(run_check(&out, args), 2);
	assert_non_null(strstr(text(&out), "CRITICAL nsec: broken NSEC chain: no NSEC at "
					   "mail.broken.check.test. (the next name of the "
					   "NSEC at ftp.broken.check.test.)"));
	const char *json[] = {"broken.check.test", "--server", server_arg(), "--json", NULL};
	assert_int_equal(run_check(&out, json), 2);
	assert_non_null(strstr(text(&out), "{\"status\":\"CRITICAL\",\"check\":\"nsec\","
					   "\"message\":\"broken NSEC chain"));
	sg_buf_free(&out);
}

static void test_oversize_dnskey(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *args[] = {"big.check.test", "--server", server_arg(), NULL};
	assert_int_equal(run_check(&out, args), 1);
	const char *p = strstr(text(&out), "WARNING  size: DNSKEY: answer of ");
	assert_non_null(p);
	unsigned size = (unsigned)strtoul(p + strlen("WARNING  size: DNSKEY: answer of "),
					  NULL, 10);
	assert_true(size > CHECK_EDNS_SIZE);
	assert_non_null(strstr(p, "truncated (TC) over UDP, needs TCP"));
	assert_non_null(strstr(text(&out), "16 keys"));
	const char *json[] = {"big.check.test", "--server", server_arg(), "--json", NULL};
	assert_int_equal(run_check(&out, json), 1);
	assert_non_null(strstr(text(&out), "{\"status\":\"WARNING\",\"check\":\"size\","
					   "\"message\":\"DNSKEY: answer of"));
	sg_buf_free(&out);
}

static void test_server_down(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", free_port());
	const char *args[] = {"healthy.check.test", "--server", addr, "--timeout", "1",
			      "--tries", "1", NULL};
	time_t t0 = time(NULL);
	assert_int_equal(run_check(&out, args), 3);
	assert_true(time(NULL) - t0 < 10);
	assert_non_null(strstr(text(&out), "SIGNET CHECK UNKNOWN"));
	assert_non_null(strstr(text(&out), "no answer over UDP"));
	const char *json[] = {"healthy.check.test", "--server", addr, "--timeout", "1",
			      "--tries", "1", "--json", NULL};
	assert_int_equal(run_check(&out, json), 3);
	assert_non_null(strstr(text(&out), "\"status\":\"UNKNOWN\",\"exit\":3"));
	sg_buf_free(&out);
}

/* A fake server on UDP and TCP that answers every query with mode's kind of
 * garbage; it runs until killed. */
enum garbage { G_RANDOM, G_COUNTS, G_LOOP, G_TC_SHORT, G_WRONG_ID, G_BADRDATA, G_COUNT };

static size_t garbage(enum garbage mode, const uint8_t *q, size_t qlen, uint8_t *out,
		      size_t outmax)
{
	size_t n = 0;
	switch (mode) {
	case G_RANDOM:
		n = 200;
		for (size_t i = 0; i < n; i++)
			out[i] = (uint8_t)(rand() & 0xff);
		if (qlen >= 2)
			memcpy(out, q, 2);   /* the right ID, the rest noise */
		out[2] |= 0x80;
		break;
	case G_COUNTS:
		/* The question echoed, then counts promising 65535 RRs each. */
		memcpy(out, q, qlen);
		out[2] = 0x84;
		out[3] = 0;
		out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0xff;
		n = qlen;
		memset(out + n, 0xc0, 64);
		n += 64;
		break;
	case G_LOOP:
		/* One answer whose owner is a compression pointer to itself. */
		memcpy(out, q, qlen);
		out[2] = 0x84;
		out[3] = 0;
		out[6] = 0;
		out[7] = 1;
		out[8] = out[9] = out[10] = out[11] = 0;
		n = qlen;
		out[n] = 0xc0 | (uint8_t)(n >> 8);
		out[n + 1] = (uint8_t)n;
		memcpy(out + n + 2, "\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01",
		       14);
		n += 16;
		break;
	case G_TC_SHORT:
		/* TC over UDP; the TCP answer (prefixed by the caller) is cut. */
		memcpy(out, q, qlen);
		out[2] = 0x86;
		n = qlen;
		break;
	case G_WRONG_ID:
		memcpy(out, q, qlen);
		out[0] ^= 0x5a;
		out[2] = 0x84;
		n = qlen;
		break;
	case G_BADRDATA:
		/* An A RR with 3 octets of RDATA. */
		memcpy(out, q, qlen);
		out[2] = 0x84;
		out[3] = 0;
		out[6] = 0;
		out[7] = 1;
		out[8] = out[9] = out[10] = out[11] = 0;
		n = qlen;
		memcpy(out + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x03\x7f\x00\x00", 15);
		n += 15;
		break;
	default:
		break;
	}
	(void)outmax;
	return n;
}

/* Its port in *port: bound here, before the fork, so nothing can take it
 * between choosing and serving. */
static pid_t start_garbage(enum garbage mode, unsigned *port)
{
	int u, t;
	*port = bind_pair(&u, &t);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		close(u);
		close(t);
		return pid;
	}
	srand((unsigned)mode + 1);
	for (;;) {
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(u, &rd);
		FD_SET(t, &rd);
		if (select((u > t ? u : t) + 1, &rd, NULL, NULL, NULL) < 0)
			_exit(0);
		uint8_t q[512], r[1024];
		if (FD_ISSET(u, &rd)) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(u, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
			if (n >= 12) {
				size_t rl = garbage(mode, q, (size_t)n, r, sizeof(r));
				(void)sendto(u, r, rl, 0, (struct sockaddr *)&from, fl);
			}
		}
		if (FD_ISSET(t, &rd)) {
			int c = accept(t, NULL, NULL);
			if (c < 0)
				continue;
			uint8_t len[2];
			ssize_t n = recv(c, len, 2, MSG_WAITALL);
			size_t ql = n == 2 ? (size_t)((len[0] << 8) | len[1]) : 0;
			if (ql >= 12 && ql <= sizeof(q) &&
			    recv(c, q, ql, MSG_WAITALL) == (ssize_t)ql) {
				size_t rl = garbage(mode == G_TC_SHORT ? G_COUNTS : mode, q, ql,
						    r + 2, sizeof(r) - 2);
				/* The length promises more than is sent. */
				size_t claim = mode == G_TC_SHORT ? rl + 500 : rl;
				r[0] = (uint8_t)(claim >> 8);
				r[1] = (uint8_t)claim;
				(void)send(c, r, rl + 2, MSG_NOSIGNAL);
			}
			close(c);
		}
	}
}

static void test_garbage_answers(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	for (int mode = 0; mode < G_COUNT; mode++) {
		unsigned port = 0;
		pid_t g = start_garbage((enum garbage)mode, &port);
		char addr[32];
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		const char *args[] = {"healthy.check.test", "--server", addr, "--timeout", "1",
				      "--tries", "1", "--deadline", "20", NULL};
		int rc = run_check(&out, args);
		kill(g, SIGTERM);
		waitpid(g, NULL, 0);
		if (rc != 2 && rc != 3)
			fail_msg("garbage mode %d: exit %d:\n%s", mode, rc, text(&out));
		assert_non_null(strstr(text(&out), "SIGNET CHECK "));
		assert_null(strstr(text(&out), "SIGNET CHECK OK"));
		assert_null(strstr(text(&out), "AddressSanitizer"));
		assert_null(strstr(text(&out), "runtime error"));
	}
	sg_buf_free(&out);
}

static void test_usage(void **state)
{
	(void)state;
	sg_buf out = SG_BUF_INIT;
	const char *noserver[] = {"healthy.check.test", NULL};
	assert_int_equal(run_check(&out, noserver), 3);
	assert_non_null(strstr(text(&out), "--server is needed"));
	const char *host[] = {"healthy.check.test", "--server", "ns1.example.net", NULL};
	assert_int_equal(run_check(&out, host), 3);
	assert_non_null(strstr(text(&out), "IP address"));
	const char *both[] = {"healthy.check.test", "--server", "127.0.0.1", "--parent",
			      "127.0.0.1", "--ds", "/nonexistent", NULL};
	assert_int_equal(run_check(&out, both), 3);
	assert_non_null(strstr(text(&out), "exclude each other"));
	const char *refresh[] = {"healthy.check.test", "--server", "127.0.0.1", "--refresh",
				 "-5", NULL};
	assert_int_equal(run_check(&out, refresh), 3);
	const char *name[] = {"healthy.check.test", "--server", "127.0.0.1", "--name",
			      "www.example.org", NULL};
	assert_int_equal(run_check(&out, name), 3);
	assert_non_null(strstr(text(&out), "not in the zone"));
	const char *port[] = {"healthy.check.test", "--server", "127.0.0.1:99999", NULL};
	assert_int_equal(run_check(&out, port), 3);
	/* An unreadable DS file is UNKNOWN, not a verdict on the zone. */
	const char *dsfile[] = {"healthy.check.test", "--server", server_arg(), "--ds",
				"/nonexistent/ds", NULL};
	assert_int_equal(run_check(&out, dsfile), 3);
	assert_non_null(strstr(text(&out), "cannot read /nonexistent/ds"));
	sg_buf_free(&out);
}

static void test_server_parse(void **state)
{
	(void)state;
	check_server s;
	assert_int_equal(check_server_parse("192.0.2.1", &s), SIGNET_OK);
	assert_string_equal(s.addr, "192.0.2.1");
	assert_int_equal(s.port, 53);
	assert_int_equal(check_server_parse("192.0.2.1:5353", &s), SIGNET_OK);
	assert_int_equal(s.port, 5353);
	assert_int_equal(check_server_parse("2001:db8::1", &s), SIGNET_OK);
	assert_int_equal(s.port, 53);
	assert_int_equal(check_server_parse("[2001:db8::1]:853", &s), SIGNET_OK);
	assert_string_equal(s.addr, "2001:db8::1");
	assert_int_equal(s.port, 853);
	assert_int_equal(check_server_parse("[2001:db8::1]x", &s), SIGNET_EINVAL);
	assert_int_equal(check_server_parse("192.0.2.1:0", &s), SIGNET_EINVAL);
	assert_int_equal(check_server_parse("192.0.2.1:", &s), SIGNET_EINVAL);
	assert_int_equal(check_server_parse("example.net:53", &s), SIGNET_EINVAL);
	assert_int_equal(check_server_parse("", &s), SIGNET_EINVAL);
}

static void test_report_json_escapes(void **state)
{
	(void)state;
	check_report r;
	memset(&r, 0, sizeof(r));
	check_report_add(&r, CHECK_OK, "x", "quote \" backslash \\ tab\tend");
	check_report_add(&r, CHECK_UNKNOWN, "y", "unknown");
	assert_int_equal(check_report_exit(&r), 3);
	check_report_add(&r, CHECK_CRITICAL, "z", "critical");
	check_report_add(&r, CHECK_UNKNOWN, "y", "unknown again");
	assert_int_equal(check_report_exit(&r), 2);
	sg_buf out = SG_BUF_INIT;
	assert_int_equal(check_report_json(&r, "a\"b.", "127.0.0.1:53", 7, &out), SIGNET_OK);
	assert_non_null(strstr(text(&out), "\"zone\":\"a\\\"b.\""));
	/* The tab became '?' when added; quotes and backslashes are escaped. */
	assert_non_null(strstr(text(&out), "quote \\\" backslash \\\\ tab?end"));
	for (size_t i = 0; i < CHECK_FINDINGS_MAX + 5; i++)
		check_report_add(&r, CHECK_WARNING, "w", "%zu", i);
	assert_int_equal(r.count, CHECK_FINDINGS_MAX);
	assert_int_equal(r.dropped, 9);
	sg_buf_reset(&out);
	assert_int_equal(check_report_text(&r, "z.", "s", &out), SIGNET_OK);
	assert_non_null(strstr(text(&out), "SIGNET CHECK CRITICAL - z. at s:"));
	assert_non_null(strstr(text(&out), "(9 more findings not shown)"));
	/* Worst first: the CRITICAL line comes right after the summary. */
	assert_non_null(strstr(text(&out), "\nCRITICAL z: critical\n"));
	assert_true(strstr(text(&out), "CRITICAL z:") < strstr(text(&out), "OK       x:"));
	sg_buf_free(&out);
	check_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_parse),
		cmocka_unit_test(test_report_json_escapes),
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_nsec3),
		cmocka_unit_test(test_refresh_warning),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_ds_mismatch),
		cmocka_unit_test(test_ds_sources),
		cmocka_unit_test(test_broken_nsec_chain),
		cmocka_unit_test(test_oversize_dnskey),
		cmocka_unit_test(test_server_down),
		cmocka_unit_test(test_garbage_answers),
		cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
