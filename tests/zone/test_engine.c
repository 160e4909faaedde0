/* test_engine.c -- the zone engine: a full sign verified by ldns-verify-zone,
 * a difference re-signing only what changed and giving the same zone as a
 * full sign of the new version, failures that keep the last version, RRSIG
 * refresh, and differences applied and computed.
 *
 * The backend signs with a software Ed25519 ZSK (deterministic signatures:
 * equal windows give equal zones); signetd's own path is tested in the
 * zoned integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/dnssec_testutil.h"
#include "tests/lib/software_ksk.h"
#include "zone/zone.h"

#define NOW 1767225600u
#define VALIDITY (14 * 86400)

static const char *const ZONE_V1 =
	"$ORIGIN example.com.\n$TTL 3600\n"
	"@ IN SOA ns1 hostmaster 100 7200 3600 1209600 300\n"
	"@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mail\n"
	"ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\nmail IN A 192.0.2.3\n"
	"www IN A 192.0.2.4\nwww IN AAAA 2001:db8::4\n*.wild IN TXT \"wildcard\"\n"
	"sub IN NS ns.sub\nns.sub IN A 192.0.2.5\nsecure IN NS ns.secure\n"
	"secure IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"ns.secure IN A 192.0.2.6\na.b.c IN A 192.0.2.7\n";

typedef struct backend {
	test_ksk zsk;
	uint32_t inception, expiration;
	void *done[128];         /* tags of completed batches */
	size_t ndone;
	size_t signed_sets;
	size_t max_octets;       /* the largest batch started, in octets of sets */
	const char *fail_owner;  /* leave sets of this owner unsigned */
	bool fail_wait;          /* wait fails */
} backend;

static signet_err be_start(void *ctx, const dns_name *apex, const dns_rrset *const *sets,
			   dns_rrset *const *sigs, size_t n, void *tag)
{
	backend *b = ctx;
	dns_name fail;
	if (b->fail_owner)
		fail = dt_name(b->fail_owner);
	size_t octets = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sets[i]->count; k++)
			octets += sets[i]->rr[k].len;
	if (octets > b->max_octets)
		b->max_octets = octets;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sigs[i]->count, 0);
		if (b->fail_owner && dns_name_equal(&sets[i]->owner, &fail))
			continue;
		test_ksk_sign(&b->zsk, apex, sets[i], b->inception, b->expiration, sigs[i]);
		b->signed_sets++;
	}
	assert_true(b->ndone < 128);
	b->done[b->ndone++] = tag;
	return SIGNET_OK;
}

static signet_err be_wait(void *ctx, void **tag)
{
	backend *b = ctx;
	if (b->fail_wait) {
		b->ndone = 0;
		return SIGNET_EIO;
	}
	if (b->ndone == 0)
		return SIGNET_ENOTFOUND;
	/* Completion out of order: the last started first. */
	*tag = b->done[--b->ndone];
	return SIGNET_OK;
}

typedef struct fixture {
	backend be;
	zone_backend zb;
	test_ksk ksk;
	zone_keys keys;
	dns_name apex;
} fixture;

static void keys_make(fixture *f, bool nsec3, bool optout)
{
	zone_keys_init(&f->keys, &f->apex);
	f->keys.dnskey.ttl = 3600;
	assert_int_equal(dns_rrset_add(&f->keys.dnskey, f->be.zsk.dnskey, f->be.zsk.dnskey_len),
			 SIGNET_OK);
	assert_int_equal(dns_rrset_add(&f->keys.dnskey, f->ksk.dnskey, f->ksk.dnskey_len),
			 SIGNET_OK);
	f->keys.ksk_sigs.ttl = 3600;
	test_ksk_sign(&f->ksk, &f->apex, &f->keys.dnskey, NOW - 3600, NOW + 30 * 86400,
		      &f->keys.ksk_sigs);
	f->keys.alg = DNS_ALG_ED25519;
	f->keys.validity = VALIDITY;
	f->keys.nsec3 = nsec3;
	f->keys.nsec3p.algorithm = 1;
	f->keys.nsec3p.flags = optout ? DNS_NSEC3_FLAG_OPTOUT : 0;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	test_ksk_new(&f->ksk);
	test_ksk_new(&f->be.zsk);
	/* The second key is the ZSK: flags 256, so its tag changes too. */
	f->be.zsk.dnskey[1] = 0;
	assert_int_equal(dns_key_tag(f->be.zsk.dnskey, f->be.zsk.dnskey_len, &f->be.zsk.tag),
			 SIGNET_OK);
	f->be.inception = NOW - 3600;
	f->be.expiration = NOW + VALIDITY;
	f->zb = (zone_backend){&f->be, be_start, be_wait};
	f->apex = dt_name("example.com.");
	keys_make(f, false, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	test_ksk_free(&f->ksk);
	test_ksk_free(&f->be.zsk);
	free(f);
	return 0;
}

static void parse(const char *text, dns_zone *z)
{
	dns_name origin = dt_name("example.com.");
	unsigned line = 0;
	assert_int_equal(dns_zone_parse(text, strlen(text), &origin, 3600, 100000, z, &line),
			 SIGNET_OK);
}

static zone_engine *engine(zone_serial policy)
{
	zone_options o;
	zone_options_init(&o);
	o.serial = policy;
	o.inflight = 3;
	zone_engine *e = NULL;
	dns_name apex = dt_name("example.com.");
	assert_int_equal(zone_engine_new(&apex, &o, &e), SIGNET_OK);
	return e;
}

static void sign_text(fixture *f, zone_engine *e, const char *text, zone_sign_stats *st)
{
	dns_zone z;
	parse(text, &z);
	assert_int_equal(zone_engine_sign(e, &z, &f->keys, &f->zb, NOW, st), SIGNET_OK);
	assert_int_equal(z.count, 0);
}

static char *engine_text(zone_engine *e)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(zone_engine_text(e, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	return (char *)b.data;
}

/* ldns-verify-zone, a validator of its own, accepts the text at the time of
 * the test's windows. */
static void verify_with_ldns(const char *text)
{
	char path[] = "/tmp/signet-test-engine-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "ldns-verify-zone -t 20260101000100 %s >/dev/null 2>&1 || ldns-verify-zone -t 20260101000100 %s", path, path);
	int rc = system(cmd);
	unlink(path);
	if (rc != 0)
		fail_msg("ldns-verify-zone refused the signed zone (its output above; exit 127: ldnsutils missing)");
}

static void test_full_sign(void **state)
{
	fixture *f = *state;
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	assert_false(zone_engine_has_version(e));
	sign_text(f, e, ZONE_V1, &st);
	assert_int_equal(st.reused, 0);
	assert_int_equal(st.sent, st.sets);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.serial, 101);
	assert_true(st.calls >= 1);
	assert_int_equal(st.earliest_expiry, NOW + VALIDITY);
	assert_int_equal(zone_engine_earliest_zsk_expiry(e), NOW + VALIDITY);
	uint32_t out = 0, in = 0;
	assert_int_equal(zone_engine_serials(e, &out, &in), SIGNET_OK);
	assert_int_equal(out, 101);
	assert_int_equal(in, 100);
	char *text = engine_text(e);
	verify_with_ldns(text);
	/* Glue and occluded data are served unsigned; the DS is signed. */
	assert_null(strstr(text, "ns.sub.example.com.\t3600\tIN\tRRSIG"));
	assert_non_null(strstr(text, "secure.example.com.\t3600\tIN\tRRSIG\tDS"));
	free(text);
	zone_engine_free(e);
}

/* A change re-signs the changed sets, the SOA and the NSECs whose content
 * changed, and gives the zone a full sign of the new version gives. */
static void check_change(fixture *f, bool nsec3, bool optout)
{
	keys_make(f, nsec3, optout);
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	sign_text(f, e, ZONE_V1, &st);
	size_t full = st.sets;
	/* v2: www's AAAA removed, a new name, a changed apex MX, a new delegation. */
	zone_diff d = {0};
	dns_zone cur, v2;
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	char v2text[2048];
	snprintf(v2text, sizeof(v2text), "%s",
		 "$ORIGIN example.com.\n$TTL 3600\n"
		 "@ IN SOA ns1 hostmaster 101 7200 3600 1209600 300\n"
		 "@ IN NS ns1\n@ IN NS ns2\n@ IN MX 20 mail\n"
		 "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\nmail IN A 192.0.2.3\n"
		 "www IN A 192.0.2.4\n*.wild IN TXT \"wildcard\"\n"
		 "sub IN NS ns.sub\nns.sub IN A 192.0.2.5\nsecure IN NS ns.secure\n"
		 "secure IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
		 "ns.secure IN A 192.0.2.6\na.b.c IN A 192.0.2.7\nnew IN A 192.0.2.8\n"
		 "dlg IN NS ns.other.net.\n");
	parse(v2text, &v2);
	assert_int_equal(zone_diff_between(&cur, &v2, &d), SIGNET_OK);
	assert_int_equal(zone_diff_apply(&cur, &d, 100000), SIGNET_OK);
	zone_diff_free(&d);
	size_t before = f->be.signed_sets;
	char *old_text = engine_text(e);
	zone_diff changes = {0};
	assert_int_equal(zone_engine_sign_diff(e, &cur, &f->keys, &f->zb, NOW, &st, &changes),
			 SIGNET_OK);
	assert_int_equal(st.serial, 102);
	/* A handful, not the zone: SOA, MX, new A, www's NSEC(3)s and neighbours. */
	assert_true(st.sent > 0);
	assert_true(st.sent <= 8);
	assert_int_equal(f->be.signed_sets - before, st.sent);
	assert_int_equal(st.reused + st.sent, st.sets);
	assert_true(st.sets > full - 3);
	char *inc = engine_text(e);
	verify_with_ldns(inc);
	/* The reported difference turns the old signed zone into the new one,
	 * as an IXFR would on a secondary. */
	dns_zone old_signed, new_signed;
	zone_diff rest;
	parse(old_text, &old_signed);
	parse(inc, &new_signed);
	assert_true(changes.ndel > 0 && changes.nadd > 0);
	assert_true(changes.nadd < 60);
	assert_int_equal(zone_diff_apply(&old_signed, &changes, 100000), SIGNET_OK);
	/* A parsed zone keeps one TTL per owner's RRSIGs (the lowest): not
	 * what is compared here. */
	for (size_t i = 0; i < old_signed.count; i++)
		if (old_signed.sets[i].type == DNS_T_RRSIG)
			old_signed.sets[i].ttl = 0;
	for (size_t i = 0; i < new_signed.count; i++)
		if (new_signed.sets[i].type == DNS_T_RRSIG)
			new_signed.sets[i].ttl = 0;
	assert_int_equal(zone_diff_between(&old_signed, &new_signed, &rest), SIGNET_OK);
	assert_int_equal(rest.ndel + rest.nadd, 0);
	zone_diff_free(&rest);
	zone_diff_free(&changes);
	dns_zone_free(&old_signed);
	dns_zone_free(&new_signed);
	free(old_text);
	/* The same version signed from nothing, serial made equal. */
	zone_engine *e2 = engine(ZONE_SERIAL_KEEP);
	v2text[strlen("$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1 hostmaster 10")] = '2';
	sign_text(f, e2, v2text, &st);
	char *fresh = engine_text(e2);
	assert_string_equal(inc, fresh);
	free(inc);
	free(fresh);
	dns_zone_free(&v2);
	zone_engine_free(e2);
	zone_engine_free(e);
	zone_keys_clear(&f->keys);
	keys_make(f, false, false);
}

static void test_change_nsec(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_change(f, false, false);
}

static void test_change_nsec3_optout(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_change(f, true, true);
}

/* Nothing changed: only the SOA (new serial) and the apex's NSEC are
 * signed again; under KEEP nothing at all. */
static char *snap_text(const zone_snap *sn);

/* A whole sign that changes nothing shares every entry with the version
 * before; snapshots of both stay whole while later signs replace and free
 * what they no longer share (ASan watches). */
static void test_no_change(void **state)
{
	fixture *f = *state;
	zone_engine *e = engine(ZONE_SERIAL_KEEP);
	zone_sign_stats st;
	sign_text(f, e, ZONE_V1, &st);
	char *first = engine_text(e);
	zone_snap *s1 = NULL, *s2 = NULL;
	assert_int_equal(zone_engine_snap(e, &s1), SIGNET_OK);
	dns_zone cur;
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	assert_int_equal(zone_engine_sign(e, &cur, &f->keys, &f->zb, NOW, &st), SIGNET_OK);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.calls, 0);
	assert_int_equal(st.reused, st.sets);
	assert_int_equal(zone_engine_snap(e, &s2), SIGNET_OK);
	/* A change, then one past the refresh margin: nothing shared. */
	const char *more = "new 3600 IN A 192.0.2.77\n";
	char *v2 = malloc(strlen(ZONE_V1) + strlen(more) + 1);
	assert_non_null(v2);
	sprintf(v2, "%s%s", ZONE_V1, more);
	sign_text(f, e, v2, &st);
	assert_true(st.sent >= 3 && st.sent < st.sets);
	char *second = engine_text(e);
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	uint32_t later = NOW + VALIDITY - VALIDITY / 4 + 1;
	assert_int_equal(zone_engine_sign(e, &cur, &f->keys, &f->zb, later, &st), SIGNET_OK);
	assert_int_equal(st.sent, st.sets);
	char *t1 = snap_text(s1), *t2 = snap_text(s2);
	assert_string_equal(t1, first);
	assert_string_equal(t2, first);
	zone_snap_release(s1);
	free(t1);
	t1 = snap_text(s2);
	assert_string_equal(t1, first);
	zone_engine_free(e); /* the last release frees it */
	zone_snap_release(s2);
	free(t1);
	free(t2);
	free(v2);
	free(second);
	free(first);
}

/* The backend leaves a set unsigned, or fails: the last version stays. */
static void test_failure_keeps_version(void **state)
{
	fixture *f = *state;
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	sign_text(f, e, ZONE_V1, &st);
	char *before = engine_text(e);
	dns_zone cur;
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	f->be.fail_owner = "example.com.";
	assert_int_equal(zone_engine_sign(e, &cur, &f->keys, &f->zb, NOW, &st), SIGNET_EVERIFY);
	assert_true(st.failed >= 1);
	f->be.fail_owner = NULL;
	char *after = engine_text(e);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	f->be.fail_wait = true;
	assert_int_equal(zone_engine_sign(e, &cur, &f->keys, &f->zb, NOW, &st), SIGNET_EIO);
	f->be.fail_wait = false;
	after = engine_text(e);
	assert_string_equal(before, after);
	uint32_t out = 0;
	assert_int_equal(zone_engine_serials(e, &out, NULL), SIGNET_OK);
	assert_int_equal(out, 101);
	/* A zone of another apex, or without SOA, is refused the same way. */
	dns_zone other;
	dns_name o = dt_name("example.net.");
	const char *t = "@ 3600 IN SOA a b 1 2 3 4 5\n";
	assert_int_equal(dns_zone_parse(t, strlen(t), &o, 3600, 10, &other, NULL), SIGNET_OK);
	assert_int_equal(zone_engine_sign(e, &other, &f->keys, &f->zb, NOW, &st), SIGNET_EPARSE);
	free(after);
	after = engine_text(e);
	assert_string_equal(before, after);
	free(after);
	free(before);
	zone_engine_free(e);
}

/* Past the refresh margin every RRSIG is made again; a new ZSK alone
 * (another tag) has nothing reused either. */
static void test_refresh_and_new_zsk(void **state)
{
	fixture *f = *state;
	zone_engine *e = engine(ZONE_SERIAL_KEEP);
	zone_sign_stats st;
	sign_text(f, e, ZONE_V1, &st);
	size_t all = st.sets;
	dns_zone cur;
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	uint32_t later = NOW + VALIDITY - VALIDITY / 4 + 1;
	f->be.inception = later - 3600;
	f->be.expiration = later + VALIDITY;
	assert_int_equal(zone_engine_sign(e, &cur, &f->keys, &f->zb, later, &st), SIGNET_OK);
	assert_int_equal(st.sent, all);
	assert_int_equal(st.earliest_expiry, later + VALIDITY);
	assert_int_equal(zone_engine_earliest_zsk_expiry(e), later + VALIDITY);
	/* Before: the KSK's RRSIG (NOW + 30 days) was later than every ZSK's. */
	/* Just inside the margin: all kept. */
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	assert_int_equal(zone_engine_sign(e, &cur, &f->keys, &f->zb, later + 60, &st), SIGNET_OK);
	assert_int_equal(st.sent, 0);
	/* Another ZSK in the key set instead: everything is signed again. */
	test_ksk_free(&f->be.zsk);
	test_ksk_new(&f->be.zsk);
	f->be.zsk.dnskey[1] = 0;
	assert_int_equal(dns_key_tag(f->be.zsk.dnskey, f->be.zsk.dnskey_len, &f->be.zsk.tag),
			 SIGNET_OK);
	zone_keys_clear(&f->keys);
	keys_make(f, false, false);
	assert_int_equal(zone_engine_unsigned(e, &cur), SIGNET_OK);
	assert_int_equal(zone_engine_sign(e, &cur, &f->keys, &f->zb, later + 60, &st), SIGNET_OK);
	assert_int_equal(st.sent, all);
	f->be.inception = NOW - 3600;
	f->be.expiration = NOW + VALIDITY;
	zone_engine_free(e);
}

/* What a restart reads back is the same version: the same text, the same
 * serials, every RRSIG kept by the next sign; broken state is refused. */
static void check_load(fixture *f, bool nsec3)
{
	keys_make(f, nsec3, nsec3);
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	sign_text(f, e, ZONE_V1, &st);
	char *text = engine_text(e);
	dns_zone z;
	parse(text, &z);
	zone_engine *back = engine(ZONE_SERIAL_INCREMENT);
	assert_int_equal(zone_engine_load(back, &z, 100), SIGNET_OK);
	char *again = engine_text(back);
	assert_string_equal(text, again);
	uint32_t out = 0, in = 0;
	assert_int_equal(zone_engine_serials(back, &out, &in), SIGNET_OK);
	assert_int_equal(out, 101);
	assert_int_equal(in, 100);
	assert_int_equal(zone_engine_earliest_expiry(back), zone_engine_earliest_expiry(e));
	zone_keys k;
	assert_int_equal(zone_engine_keys(back, &k), SIGNET_OK);
	assert_int_equal(k.dnskey.count, 2);
	assert_int_equal(k.ksk_sigs.count, 1);
	assert_int_equal(k.nsec3, nsec3);
	zone_keys_clear(&k);
	/* The next sign of the same input: only the SOA, its serial moved on. */
	dns_zone u;
	assert_int_equal(zone_engine_unsigned(back, &u), SIGNET_OK);
	assert_int_equal(zone_engine_sign(back, &u, &f->keys, &f->zb, NOW, &st), SIGNET_OK);
	assert_int_equal(st.serial, 102);
	assert_int_equal(st.sent, 1);
	/* An RRSIG whose set is not there, a zone without its key set. */
	char *bad = malloc(strlen(text) + 200);
	assert_non_null(bad);
	sprintf(bad, "%sghost.example.com. 3600 IN RRSIG A 15 3 3600 20260115000000 "
		"20251231230000 1 example.com. AAAA\n", text);
	parse(bad, &z);
	assert_int_equal(zone_engine_load(back, &z, 100), SIGNET_EPARSE);
	parse(ZONE_V1, &z);
	assert_int_equal(zone_engine_load(back, &z, 100), SIGNET_EPARSE);
	free(bad);
	free(again);
	free(text);
	zone_engine_free(back);
	zone_engine_free(e);
	zone_keys_clear(&f->keys);
	keys_make(f, false, false);
}

/* text loaded with a zone_loader into a new engine, in pieces of whole
 * lines (at most piece octets each); the finish's result. */
static signet_err stream_load(const char *text, size_t piece, size_t max_rrs, zone_engine **out)
{
	*out = engine(ZONE_SERIAL_INCREMENT);
	zone_loader *l = NULL;
	assert_int_equal(zone_loader_new(*out, max_rrs, &l), SIGNET_OK);
	unsigned line = 0;
	size_t len = strlen(text);
	signet_err ret = SIGNET_OK;
	for (size_t at = 0; at < len && ret == SIGNET_OK;) {
		size_t n = len - at < piece ? len - at : piece;
		while (at + n < len && n > 0 && text[at + n - 1] != '\n')
			n--;
		if (n == 0)
			n = len - at; /* a line longer than a piece: whole */
		ret = zone_loader_text(l, text + at, n, &line);
		at += n;
	}
	if (ret != SIGNET_OK) {
		zone_loader_free(l);
		return ret;
	}
	return zone_loader_finish(l, 100);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text in reverse order: each RRSIG before its set, the
 * apex last. */
static char *reversed(const char *text)
{
	char *copy = strdup(text), *out = malloc(strlen(text) + 2);
	assert_non_null(copy);
	assert_non_null(out);
	char *lines[4096];
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		lines[n++] = t;
	out[0] = 0;
	while (n-- > 0) {
		strcat(out, lines[n]);
		strcat(out, "\n");
	}
	free(copy);
	return out;
}

/* The same lines, whatever their order. */
static void same_lines(const char *a, const char *b)
{
	char *x = strdup(a), *y = strdup(b);
	char *la[4096], *lb[4096];
	size_t na = 0, nb = 0;
	for (char *save = NULL, *t = strtok_r(x, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		la[na++] = t;
	for (char *save = NULL, *t = strtok_r(y, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		lb[nb++] = t;
	assert_int_equal(na, nb);
	qsort(la, na, sizeof(*la), line_cmp);
	qsort(lb, nb, sizeof(*lb), line_cmp);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(la[i], lb[i]);
	free(x);
	free(y);
}

/* The stored text read back set by set (zone_loader) is the version
 * zone_engine_load makes of it, whatever the pieces; out of order it is
 * put in order; what zone_engine_load refuses it refuses. */
static void check_stream_load(fixture *f, bool nsec3)
{
	keys_make(f, nsec3, nsec3);
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	sign_text(f, e, ZONE_V1, &st);
	char *text = engine_text(e);
	char *head = malloc(strlen(text) + 64);
	assert_non_null(head);
	sprintf(head, "; signet-zoned 100\n\n%s", text);
	const size_t pieces[] = {1, 100, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		zone_engine *back = NULL;
		assert_int_equal(stream_load(head, pieces[i], 100000, &back), SIGNET_OK);
		char *again = engine_text(back);
		assert_string_equal(text, again);
		uint32_t out = 0, in = 0;
		assert_int_equal(zone_engine_serials(back, &out, &in), SIGNET_OK);
		assert_int_equal(out, 101);
		assert_int_equal(in, 100);
		assert_int_equal(zone_engine_earliest_expiry(back), zone_engine_earliest_expiry(e));
		/* The next sign of the same input: only the SOA. */
		dns_zone u;
		assert_int_equal(zone_engine_unsigned(back, &u), SIGNET_OK);
		assert_int_equal(zone_engine_sign(back, &u, &f->keys, &f->zb, NOW, &st), SIGNET_OK);
		assert_int_equal(st.sent, 1);
		free(again);
		zone_engine_free(back);
	}
	/* Every line in reverse: RRSIGs before their sets, the order made. */
	char *rev = reversed(text);
	zone_engine *back = NULL;
	assert_int_equal(stream_load(rev, 4096, 100000, &back), SIGNET_OK);
	char *again = engine_text(back);
	same_lines(text, again);
	free(again);
	zone_engine_free(back);
	free(rev);
	/* Refused: an RRSIG covering nothing there, a zone without its key
	 * set, a set twice, a directive, an indented line, past max_rrs, an
	 * RRSIG too short to say what it covers. */
	char *bad = malloc(strlen(text) + 400);
	assert_non_null(bad);
	sprintf(bad, "%sghost.example.com. 3600 IN RRSIG A 15 3 3600 20260115000000 "
		"20251231230000 1 example.com. AAAA\n", text);
	assert_int_equal(stream_load(bad, 4096, 100000, &back), SIGNET_EPARSE);
	zone_engine_free(back);
	assert_int_equal(stream_load(ZONE_V1, 4096, 100000, &back), SIGNET_EPARSE);
	zone_engine_free(back);
	const char *soa = strstr(text, " SOA ");
	assert_non_null(soa);
	const char *bol = soa;
	while (bol > text && bol[-1] != '\n')
		bol--;
	const char *eol = strchr(soa, '\n');
	sprintf(bad, "%s%.*s\n", text, (int)(eol - bol), bol);
	assert_int_equal(stream_load(bad, 4096, 100000, &back), SIGNET_EPARSE);
	zone_engine_free(back);
	sprintf(bad, "$TTL 300\n%s", text);
	assert_int_equal(stream_load(bad, 4096, 100000, &back), SIGNET_EPARSE);
	zone_engine_free(back);
	sprintf(bad, "%s  www.example.com. 3600 IN A 192.0.2.1\n", text);
	assert_int_equal(stream_load(bad, 4096, 100000, &back), SIGNET_EPARSE);
	zone_engine_free(back);
	assert_int_equal(stream_load(text, 4096, 5, &back), SIGNET_ERANGE);
	zone_engine_free(back);
	sprintf(bad, "%sexample.com. 3600 IN TYPE46 \\# 4 00010203\n", text);
	assert_int_equal(stream_load(bad, 4096, 100000, &back), SIGNET_EPARSE);
	zone_engine_free(back);
	assert_int_equal(zone_loader_new(NULL, 1, NULL), SIGNET_EINVAL);
	assert_int_equal(zone_loader_add(NULL, NULL), SIGNET_EINVAL);
	assert_int_equal(zone_loader_finish(NULL, 0), SIGNET_EINVAL);
	zone_loader_free(NULL);
	free(bad);
	free(head);
	free(text);
	zone_engine_free(e);
	zone_keys_clear(&f->keys);
	keys_make(f, false, false);
}

/* A zone of mostly delegations, more NS sets than one slice of roles:
 * read back set by set it is the same version, and the next sign of the
 * same input sends only the SOA (a glue set taken for a signed one would
 * be signed then). */
static void test_stream_load_delegations(void **state)
{
	fixture *f = *state;
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&z, "%s", ZONE_V1), SIGNET_OK);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(sg_buf_printf(&z, "d%d IN NS ns.d%d\nns.d%d IN A 192.0.2.9\n", i,
					       i, i),
				 SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	sign_text(f, e, (const char *)z.data, &st);
	char *text = engine_text(e);
	zone_engine *back = NULL;
	assert_int_equal(stream_load(text, 1 << 20, 1000000, &back), SIGNET_OK);
	char *again = engine_text(back);
	assert_string_equal(text, again);
	dns_zone u;
	assert_int_equal(zone_engine_unsigned(back, &u), SIGNET_OK);
	assert_int_equal(zone_engine_sign(back, &u, &f->keys, &f->zb, NOW, &st), SIGNET_OK);
	assert_int_equal(st.sent, 1);
	free(again);
	free(text);
	zone_engine_free(back);
	zone_engine_free(e);
	sg_buf_free(&z);
}

static void test_stream_load_nsec(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_stream_load(f, false);
}

static void test_stream_load_nsec3(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_stream_load(f, true);
}

static void test_load_nsec(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_load(f, false);
}

static void test_load_nsec3(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_load(f, true);
}

static void test_diff_apply_errors(void **state)
{
	(void)state;
	dns_zone z;
	parse(ZONE_V1, &z);
	dns_name www = dt_name("www.example.com."), out = dt_name("www.example.net.");
	uint8_t a[4] = {192, 0, 2, 4}, b[4] = {192, 0, 2, 99};
	zone_diff d = {0};
	/* Removing what is not there. */
	assert_int_equal(zone_diff_push(&d, false, &www, DNS_T_A, 3600, b, 4), SIGNET_OK);
	assert_int_equal(zone_diff_apply(&z, &d, 1000), SIGNET_ENOTFOUND);
	zone_diff_free(&d);
	/* Adding what is there. */
	assert_int_equal(zone_diff_push(&d, true, &www, DNS_T_A, 3600, a, 4), SIGNET_OK);
	assert_int_equal(zone_diff_apply(&z, &d, 1000), SIGNET_EEXIST);
	zone_diff_free(&d);
	/* Outside the zone, malformed RDATA, too many RRs. */
	assert_int_equal(zone_diff_push(&d, true, &out, DNS_T_A, 3600, b, 4), SIGNET_OK);
	assert_int_equal(zone_diff_apply(&z, &d, 1000), SIGNET_EPARSE);
	zone_diff_free(&d);
	assert_int_equal(zone_diff_push(&d, true, &www, DNS_T_A, 3600, b, 3), SIGNET_OK);
	assert_int_equal(zone_diff_apply(&z, &d, 1000), SIGNET_EPARSE);
	zone_diff_free(&d);
	assert_int_equal(zone_diff_push(&d, true, &www, DNS_T_A, 3600, b, 4), SIGNET_OK);
	assert_int_equal(zone_diff_apply(&z, &d, 16), SIGNET_ERANGE);
	zone_diff_free(&d);
	dns_zone_free(&z);
	/* Removal of a whole set and a new owner keep the order. */
	parse(ZONE_V1, &z);
	dns_name n = dt_name("aaa.example.com.");
	assert_int_equal(zone_diff_push(&d, false, &www, DNS_T_A, 3600, a, 4), SIGNET_OK);
	assert_int_equal(zone_diff_push(&d, true, &n, DNS_T_A, 3600, a, 4), SIGNET_OK);
	assert_int_equal(zone_diff_apply(&z, &d, 1000), SIGNET_OK);
	for (size_t i = 1; i < z.count; i++) {
		int c = dns_name_compare(&z.sets[i - 1].owner, &z.sets[i].owner);
		assert_true(c < 0 || (c == 0 && z.sets[i - 1].type < z.sets[i].type));
	}
	zone_diff_free(&d);
	dns_zone_free(&z);
}

/* ---- zone_engine_apply: the change's cost, a full sign's result --------- */

/* Owners the random steps use: ENTs come and go (d.x.y, m.n.o.p), names
 * fall under delegations that appear (ns.sub, in.dlg, z.in.dlg), the
 * wildcard and the apex change. */
static const char *const POOL[] = {
	"@",  "a", "b", "c", "x.y", "d.x.y", "e.d.x.y", "sub", "ns.sub", "deep.ns.sub",
	"m.n.o.p", "*.w", "dlg", "in.dlg", "z.in.dlg", "h1", "h2", "secure", "www", "a.b.c",
};

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 8) & 0xffffff;
}

static void push_line(zone_diff *d, bool add, const char *line)
{
	dns_name origin = dt_name("example.com."), owner;
	uint16_t type = 0, cls = 0;
	uint32_t ttl = 0;
	sg_buf rd = SG_BUF_INIT;
	assert_int_equal(dns_rr_from_text(line, &origin, &owner, &type, &cls, &ttl, &rd),
			 SIGNET_OK);
	assert_int_equal(zone_diff_push(d, add, &owner, type, ttl, rd.data, rd.len), SIGNET_OK);
	sg_buf_free(&rd);
}

/* A random IXFR step against the unsigned zone u (serial to serial + 1):
 * RRs removed that are there, RRs added that are not. */
static void random_step(uint32_t *seed, const dns_zone *u, uint32_t serial, zone_diff *d)
{
	char line[512];
	snprintf(line, sizeof(line), "@ 3600 IN SOA ns1 hostmaster %u 7200 3600 1209600 300",
		 serial);
	push_line(d, false, line);
	snprintf(line, sizeof(line), "@ 3600 IN SOA ns1 hostmaster %u 7200 3600 1209600 300",
		 serial + 1);
	push_line(d, true, line);
	unsigned n = 1 + rnd(seed) % 4;
	for (unsigned i = 0; i < n; i++) {
		if (rnd(seed) % 3 == 0 && u->count > 1) {
			/* Remove one RR of a set that is not the apex SOA or NS. */
			const dns_rrset *s = &u->sets[rnd(seed) % u->count];
			if (s->type == DNS_T_SOA || (s->type == DNS_T_NS && s->owner.len == 13))
				continue;
			bool dup = false;
			for (size_t k = 0; k < d->ndel && !dup; k++)
				dup = d->del[k].type == s->type &&
				      dns_name_equal(&d->del[k].owner, &s->owner);
			if (dup)
				continue;
			const dns_rdata *r = &s->rr[rnd(seed) % s->count];
			assert_int_equal(zone_diff_push(d, false, &s->owner, s->type, s->ttl,
							r->data, r->len),
					 SIGNET_OK);
			continue;
		}
		const char *owner = POOL[rnd(seed) % (sizeof(POOL) / sizeof(POOL[0]))];
		unsigned v = rnd(seed) % 3;
		switch (rnd(seed) % 6) {
		case 0:
		case 1:
			snprintf(line, sizeof(line), "%s 3600 IN A 192.0.2.%u", owner, 10 + v);
			break;
		case 2:
			snprintf(line, sizeof(line), "%s 3600 IN TXT \"t%u\"", owner, v);
			break;
		case 3:
			if (strcmp(owner, "@") == 0)
				continue;
			snprintf(line, sizeof(line), "%s 3600 IN NS ns%u.other.net.", owner, v);
			break;
		case 4:
			if (strcmp(owner, "@") == 0)
				continue;
			snprintf(line, sizeof(line),
				 "%s 3600 IN DS %u 13 2 0123456789abcdef0123456789abcdef"
				 "0123456789abcdef0123456789abcdef",
				 owner, 1000 + v);
			break;
		default:
			snprintf(line, sizeof(line), "%s 3600 IN AAAA 2001:db8::%u", owner, v + 1);
			break;
		}
		/* Only what is not there yet, once. */
		zone_diff probe = {0};
		push_line(&probe, true, line);
		const zone_rr *r = &probe.add[0];
		bool there = false;
		for (size_t k = 0; k < u->count && !there; k++) {
			const dns_rrset *s = &u->sets[k];
			if (s->type != r->type || !dns_name_equal(&s->owner, &r->owner))
				continue;
			for (size_t j = 0; j < s->count && !there; j++)
				there = s->rr[j].len == r->rdata.len &&
					memcmp(s->rr[j].data, r->rdata.data, r->rdata.len) == 0;
			/* One TTL per set: an added RR would move the set's TTL. */
			there |= s->ttl != r->ttl;
		}
		for (size_t k = 0; k < d->nadd && !there; k++)
			there = d->add[k].type == r->type &&
				dns_name_equal(&d->add[k].owner, &r->owner) &&
				d->add[k].rdata.len == r->rdata.len &&
				memcmp(d->add[k].rdata.data, r->rdata.data, r->rdata.len) == 0;
		if (!there)
			assert_int_equal(zone_diff_push(d, true, &r->owner, r->type, r->ttl,
							r->rdata.data, r->rdata.len),
					 SIGNET_OK);
		zone_diff_free(&probe);
	}
}

static char *diff_text(const zone_diff *d)
{
	sg_buf b = SG_BUF_INIT;
	for (int add = 0; add < 2; add++) {
		const zone_rr *v = add ? d->add : d->del;
		size_t n = add ? d->nadd : d->ndel;
		for (size_t i = 0; i < n; i++) {
			dns_rrset s;
			dns_rrset_init(&s, &v[i].owner, v[i].type, DNS_CLASS_IN, v[i].ttl);
			assert_int_equal(dns_rrset_add(&s, v[i].rdata.data, v[i].rdata.len),
					 SIGNET_OK);
			assert_int_equal(sg_buf_printf(&b, "%c", add ? '+' : '-'), SIGNET_OK);
			assert_int_equal(dns_rrset_to_text(&s, &b), SIGNET_OK);
			dns_rrset_clear(&s);
		}
	}
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	return (char *)b.data;
}

/* A held version in text form, read through zone_snap_next. */
static char *snap_text(const zone_snap *sn)
{
	sg_buf b = SG_BUF_INIT;
	zone_cursor c;
	memset(&c, 0, sizeof(c));
	for (const dns_rrset *s = zone_snap_next(sn, &c); s; s = zone_snap_next(sn, &c))
		assert_int_equal(dns_rrset_to_text(s, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	return (char *)b.data;
}

/* Random steps, applied by zone_engine_apply to one engine and by the
 * whole way (unsigned copy, zone_diff_apply, zone_engine_sign_diff) to
 * another: the same signed zone and the same reported difference every
 * time, and only a few sets sent for each step. */
static void check_apply(fixture *f, bool nsec3, bool optout, uint32_t seed)
{
	keys_make(f, nsec3, optout);
	zone_engine *inc = engine(ZONE_SERIAL_INCREMENT), *whole = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	sign_text(f, inc, ZONE_V1, &st);
	sign_text(f, whole, ZONE_V1, &st);
	uint32_t serial = 100;
	/* Snapshots held across the changes read the version they took,
	 * unchanged, and are released out of order. */
	zone_snap *held[3] = {NULL, NULL, NULL};
	char *held_text[3] = {NULL, NULL, NULL};
	for (int round = 0; round < 60; round++) {
		size_t slot = (size_t)(round * 7) % 3;
		if (held[slot]) {
			char *again = snap_text(held[slot]);
			assert_string_equal(again, held_text[slot]);
			free(again);
			free(held_text[slot]);
			zone_snap_release(held[slot]);
		}
		assert_int_equal(zone_engine_snap(inc, &held[slot]), SIGNET_OK);
		held_text[slot] = snap_text(held[slot]);
		{
			char *now_text = engine_text(inc);
			assert_string_equal(now_text, held_text[slot]);
			free(now_text);
		}
		if (round % 10 == 5) {
			/* A whole sign between the changes, on both: the version a
			 * snapshot holds is then replaced whole. */
			zone_engine *both[2] = {inc, whole};
			for (size_t k = 0; k < 2; k++) {
				dns_zone w;
				assert_int_equal(zone_engine_unsigned(both[k], &w), SIGNET_OK);
				assert_int_equal(zone_engine_sign(both[k], &w, &f->keys, &f->zb,
								  NOW, &st),
						 SIGNET_OK);
			}
		}
		dns_zone u;
		assert_int_equal(zone_engine_unsigned(inc, &u), SIGNET_OK);
		zone_diff step = {0};
		random_step(&seed, &u, serial, &step);
		size_t named = step.ndel + step.nadd;
		zone_diff ci = {0}, cw = {0};
		zone_sign_stats si, sw;
		size_t before = f->be.signed_sets;
		assert_int_equal(zone_engine_apply(inc, &step, 1, 100000, &f->keys, &f->zb, NOW,
						   &si, &ci),
				 SIGNET_OK);
		assert_int_equal(f->be.signed_sets - before, si.sent);
		assert_int_equal(zone_diff_apply(&u, &step, 100000), SIGNET_OK);
		assert_int_equal(zone_engine_sign_diff(whole, &u, &f->keys, &f->zb, NOW, &sw, &cw),
				 SIGNET_OK);
		char *ti = engine_text(inc), *tw = engine_text(whole);
		if (strcmp(ti, tw) != 0)
			fail_msg("round %d (seed %u): apply gave\n%s\nthe whole sign\n%s", round,
				 seed, ti, tw);
		char *di = diff_text(&ci), *dw = diff_text(&cw);
		assert_string_equal(di, dw);
		assert_int_equal(si.serial, sw.serial);
		assert_int_equal(si.sets, sw.sets);
		assert_int_equal(si.sent, sw.sent);
		/* A lower bound after an apply (exact after a whole sign). */
		assert_true(dns_serial_compare(zone_engine_earliest_expiry(inc),
					       zone_engine_earliest_expiry(whole)) != 1);
		/* The cost of the change: each RR named touches its set, its
		 * chain record and a neighbour's (and under a delegation's change
		 * the few names below it). */
		assert_true(si.sent <= 4 * named + 8);
		if (round % 20 == 19)
			verify_with_ldns(ti);
		free(ti);
		free(tw);
		free(di);
		free(dw);
		zone_diff_free(&ci);
		zone_diff_free(&cw);
		zone_diff_free(&step);
		serial++;
	}
	/* The engine freed while one snapshot is still held: the last release
	 * frees it. */
	zone_engine_free(inc);
	for (size_t k = 0; k < 3; k++) {
		char *again = snap_text(held[k]);
		assert_string_equal(again, held_text[k]);
		free(again);
		free(held_text[k]);
		zone_snap_release(held[k]);
	}
	zone_engine_free(whole);
	zone_keys_clear(&f->keys);
	keys_make(f, false, false);
}

/* Large sets go in smaller batches: signetd takes messages of at most
 * 1 MiB, and 19 TXT sets of 50 KB each (the batch by count here) made
 * 0.95 MB. */
static void test_batches_bounded_in_octets(void **state)
{
	fixture *f = *state;
	sg_buf z = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&z, "%s", ZONE_V1), SIGNET_OK);
	for (int i = 0; i < 40; i++)
		for (int k = 0; k < 250; k++)
			assert_int_equal(sg_buf_printf(&z, "t%d TXT \"%03d%0196d\"\n", i, k, 0),
					 SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&z, 0), SIGNET_OK);
	zone_engine *e = engine(ZONE_SERIAL_KEEP);
	zone_sign_stats st;
	f->be.max_octets = 0;
	sign_text(f, e, (const char *)z.data, &st);
	assert_true(st.sent > 40);
	assert_true(f->be.max_octets > 0 && f->be.max_octets <= 512 * 1024);
	zone_engine_free(e);
	sg_buf_free(&z);
}

static void test_apply_nsec(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_apply(f, false, false, 1);
	zone_keys_clear(&f->keys);
	check_apply(f, false, false, 77);
}

static void test_apply_nsec3(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_apply(f, true, false, 5);
}

static void test_apply_nsec3_optout(void **state)
{
	fixture *f = *state;
	zone_keys_clear(&f->keys);
	check_apply(f, true, true, 9);
	zone_keys_clear(&f->keys);
	check_apply(f, true, true, 1234);
}

/* A new period of the key set: the same DNSKEY, CDS and CDNSKEY with new
 * KSK RRSIGs. zone_engine_apply of no steps takes them at the cost of the
 * SOA's RRSIG (none when the serial stays), and gives what a whole sign
 * with the new key set gives. */
static void check_new_ksk_sigs(fixture *f, bool nsec3)
{
	zone_keys_clear(&f->keys);
	keys_make(f, nsec3, false);
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT), *whole = engine(ZONE_SERIAL_INCREMENT);
	zone_engine *keep = engine(ZONE_SERIAL_KEEP);
	zone_sign_stats st;
	sign_text(f, e, ZONE_V1, &st);
	sign_text(f, whole, ZONE_V1, &st);
	sign_text(f, keep, ZONE_V1, &st);
	size_t sets = st.sets;
	char *before = engine_text(e);
	dns_rrset_clear(&f->keys.ksk_sigs);
	test_ksk_sign(&f->ksk, &f->apex, &f->keys.dnskey, NOW - 1800, NOW + 40 * 86400,
		      &f->keys.ksk_sigs);
	size_t signed_before = f->be.signed_sets;
	zone_diff changes = {0};
	assert_int_equal(zone_engine_apply(e, NULL, 0, 1000, &f->keys, &f->zb, NOW, &st, &changes),
			 SIGNET_OK);
	assert_int_equal(st.sent, 1); /* the SOA: its serial moved on */
	assert_true(st.looked <= 2);  /* the SOA and the apex's chain record */
	assert_int_equal(f->be.signed_sets - signed_before, 1);
	assert_int_equal(st.sets, sets);
	assert_int_equal(st.serial, 102);
	/* Out: the SOA, its RRSIG and the key set's RRSIG, each replaced. */
	assert_int_equal(changes.ndel, 3);
	assert_int_equal(changes.nadd, 3);
	assert_int_equal(changes.del[2].type, DNS_T_RRSIG);
	assert_int_equal(sg_get_u16(changes.add[2].rdata.data), DNS_T_DNSKEY);
	assert_int_equal(sg_get_u32(changes.add[2].rdata.data + 8), NOW + 40 * 86400);
	zone_diff_free(&changes);
	assert_int_equal(zone_engine_earliest_expiry(e), NOW + VALIDITY);
	dns_zone u;
	assert_int_equal(zone_engine_unsigned(whole, &u), SIGNET_OK);
	assert_int_equal(zone_engine_sign(whole, &u, &f->keys, &f->zb, NOW, &st), SIGNET_OK);
	char *a = engine_text(e), *b = engine_text(whole);
	assert_string_equal(a, b);
	assert_string_not_equal(a, before);
	verify_with_ldns(a);
	zone_keys got;
	assert_int_equal(zone_engine_keys(e, &got), SIGNET_OK);
	assert_int_equal(got.ksk_sigs.count, 1);
	assert_int_equal(sg_get_u32(got.ksk_sigs.rr[0].data + 8), NOW + 40 * 86400);
	zone_keys_clear(&got);
	/* The serial kept: nothing at all is signed. */
	signed_before = f->be.signed_sets;
	assert_int_equal(
		zone_engine_apply(keep, NULL, 0, 1000, &f->keys, &f->zb, NOW, &st, &changes),
		SIGNET_OK);
	assert_int_equal(st.sent, 0);
	assert_int_equal(f->be.signed_sets, signed_before);
	assert_int_equal(changes.ndel, 1);
	assert_int_equal(changes.nadd, 1);
	zone_diff_free(&changes);
	free(a);
	free(b);
	free(before);
	zone_engine_free(e);
	zone_engine_free(whole);
	zone_engine_free(keep);
}

static void test_new_ksk_sigs(void **state)
{
	fixture *f = *state;
	check_new_ksk_sigs(f, false);
	check_new_ksk_sigs(f, true);
	zone_keys_clear(&f->keys);
	keys_make(f, false, false);
}

/* A step that does not apply changes nothing; one under other keys, or on
 * a version read back, is signed the whole way with the same result. */
static void test_apply_errors_and_whole(void **state)
{
	fixture *f = *state;
	zone_engine *e = engine(ZONE_SERIAL_INCREMENT);
	zone_sign_stats st;
	zone_diff d = {0};
	assert_int_equal(zone_engine_apply(e, &d, 1, 1000, &f->keys, &f->zb, NOW, &st, NULL),
			 SIGNET_ENOTFOUND);
	sign_text(f, e, ZONE_V1, &st);
	char *before = engine_text(e);
	push_line(&d, false, "www 3600 IN A 192.0.2.99");
	assert_int_equal(zone_engine_apply(e, &d, 1, 1000, &f->keys, &f->zb, NOW, &st, NULL),
			 SIGNET_ENOTFOUND);
	zone_diff_free(&d);
	push_line(&d, true, "www 3600 IN A 192.0.2.4");
	assert_int_equal(zone_engine_apply(e, &d, 1, 1000, &f->keys, &f->zb, NOW, &st, NULL),
			 SIGNET_EEXIST);
	zone_diff_free(&d);
	push_line(&d, true, "www 3600 IN A 192.0.2.77");
	assert_int_equal(zone_engine_apply(e, &d, 1, 16, &f->keys, &f->zb, NOW, &st, NULL),
			 SIGNET_ERANGE);
	f->be.fail_owner = "www.example.com.";
	assert_int_equal(zone_engine_apply(e, &d, 1, 1000, &f->keys, &f->zb, NOW, &st, NULL),
			 SIGNET_EVERIFY);
	f->be.fail_owner = NULL;
	char *after = engine_text(e);
	assert_string_equal(before, after);
	free(after);
	/* Read back after a restart: the first change goes the whole way. */
	dns_zone z;
	parse(before, &z);
	zone_engine *back = engine(ZONE_SERIAL_INCREMENT);
	assert_int_equal(zone_engine_load(back, &z, 100), SIGNET_OK);
	assert_int_equal(zone_engine_apply(back, &d, 1, 1000, &f->keys, &f->zb, NOW, &st, NULL),
			 SIGNET_OK);
	assert_int_equal(zone_engine_apply(e, &d, 1, 1000, &f->keys, &f->zb, NOW, &st, NULL),
			 SIGNET_OK);
	char *a = engine_text(e), *b = engine_text(back);
	assert_string_equal(a, b);
	free(a);
	free(b);
	zone_diff_free(&d);
	free(before);
	zone_engine_free(back);
	zone_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_nsec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_nsec3_optout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_keeps_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_and_new_zsk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_nsec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_nsec3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_load_nsec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_load_nsec3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_load_delegations, setup, teardown),
		cmocka_unit_test(test_diff_apply_errors),
		cmocka_unit_test_setup_teardown(test_batches_bounded_in_octets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_nsec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_nsec3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_nsec3_optout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_errors_and_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_ksk_sigs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
