/* test_journal_file.c -- the journal file (zoned_journal_store and
 * zoned_journal_load): a change is one record appended, whose cost does not
 * grow with the journal; a torn tail (a kill -9 during an append) and a
 * flipped octet are dropped with the records after them, the rest read;
 * the file is rewritten past twice the bounds, and read back it holds the
 * oldest serial kept, from which an IXFR is answered. And the steps replayed
 * as one net difference onto a stored version's sets as they stream past
 * (zoned_replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/tmpdir.h"
#include "zoned/daemon.h"
#include "zoned/zoned.h"

static char dir[64];
static dns_name apex;

static int setup(void **state)
{
	(void)state;
	if (dns_name_from_str(&apex, "example.com.") != SIGNET_OK)
		return -1;
	return test_tmpdir_make("signet-journal", dir, sizeof(dir));
}

static int teardown(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

static void soa_rdata(uint32_t serial, uint8_t *rd, size_t *len)
{
	dns_name m, r;
	assert_int_equal(dns_name_from_str(&m, "ns1.example.com."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&r, "h.example.com."), SIGNET_OK);
	size_t n = 0;
	memcpy(rd + n, m.wire, m.len);
	n += m.len;
	memcpy(rd + n, r.wire, r.len);
	n += r.len;
	uint32_t v[5] = {serial, 3600, 600, 1209600, 300};
	for (int i = 0; i < 5; i++, n += 4) {
		rd[n] = (uint8_t)(v[i] >> 24);
		rd[n + 1] = (uint8_t)(v[i] >> 16);
		rd[n + 2] = (uint8_t)(v[i] >> 8);
		rd[n + 3] = (uint8_t)v[i];
	}
	*len = n;
}

/* The step from serial s to s + 1 as the engine reports a one-name
 * change of a signed zone: the SOA, and eight RRs of about an RRSIG's size
 * (the set, its RRSIG, the NSEC records and theirs) out and in. */
static void change(zoned_journal *j, uint32_t s)
{
	zone_diff d = {0};
	uint8_t rd[512];
	size_t len = 0;
	soa_rdata(s, rd, &len);
	assert_int_equal(zone_diff_push(&d, false, &apex, DNS_T_SOA, 3600, rd, len), SIGNET_OK);
	soa_rdata(s + 1, rd, &len);
	assert_int_equal(zone_diff_push(&d, true, &apex, DNS_T_SOA, 3600, rd, len), SIGNET_OK);
	for (int add = 0; add < 2; add++)
		for (int k = 0; k < 8; k++) {
			char owner[64];
			snprintf(owner, sizeof(owner), "h%u-%d.example.com.", s + (unsigned)add, k);
			dns_name o;
			assert_int_equal(dns_name_from_str(&o, owner), SIGNET_OK);
			memset(rd, 'a' + k, 100);
			rd[0] = 99;
			assert_int_equal(zone_diff_push(&d, add, &o, DNS_T_TXT, 3600, rd, 100),
					 SIGNET_OK);
		}
	assert_int_equal(zoned_journal_add(j, &apex, &d, s + 1), SIGNET_OK);
	zone_diff_free(&d);
}

static void read_file(const char *path, sg_buf *b)
{
	sg_buf_reset(b);
	assert_int_equal(sg_file_read(path, 1 << 26, b), SIGNET_OK);
}

static void same_steps(const zoned_journal *a, const zoned_journal *b)
{
	sg_buf x = SG_BUF_INIT, y = SG_BUF_INIT;
	assert_int_equal(zoned_journal_write(a, &x), SIGNET_OK);
	assert_int_equal(zoned_journal_write(b, &y), SIGNET_OK);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	sg_buf_free(&x);
	sg_buf_free(&y);
}

/* 50 changes: each appends one record, of the same size whatever the
 * journal holds; the whole rewrite it replaces grew with every step. */
static void test_append_cost(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/cost.journal", dir);
	zoned_journal j;
	zoned_journal_init(&j, 64, 100000);
	size_t first = 0, last = 0, total = 0, before_total = 0, before_last = 0;
	for (uint32_t s = 100; s < 150; s++) {
		change(&j, s);
		size_t octets = 0;
		assert_int_equal(zoned_journal_store(&j, path, false, &octets), SIGNET_OK);
		/* What the whole rewrite of the journal would have written. */
		sg_buf w = SG_BUF_INIT;
		assert_int_equal(zoned_journal_write(&j, &w), SIGNET_OK);
		before_total += w.len;
		before_last = w.len;
		sg_buf_free(&w);
		if (s == 101)
			first = octets;
		last = octets;
		total += octets;
	}
	print_message("journal octets per change: appended %zu (change 2) .. %zu (change 50), "
		      "%zu in all; whole rewrite %zu at change 50, %zu in all\n",
		      first, last, total, before_last, before_total);
	/* The first store writes the file whole (the head and one record);
	 * from then on a change costs its own record only. */
	assert_true(last <= first + 16);
	assert_true(before_last > 40 * last);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true((size_t)st.st_size == total);

	zoned_journal r;
	zoned_journal_init(&r, 64, 100000);
	sg_buf b = SG_BUF_INIT;
	read_file(path, &b);
	char note[160];
	assert_int_equal(zoned_journal_load(&r, &apex, (char *)b.data, b.len, 150, note,
					    sizeof(note)),
			 SIGNET_OK);
	assert_string_equal(note, "");
	same_steps(&j, &r);
	sg_buf_free(&b);
	zoned_journal_free(&r);
	zoned_journal_free(&j);
}

/* A record cut short and an octet flipped: the records before it are read,
 * it and the rest dropped and said, and the next store writes the file
 * whole again. */
static void test_torn_and_flipped(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/torn.journal", dir);
	zoned_journal j;
	zoned_journal_init(&j, 64, 100000);
	size_t octets = 0, size9 = 0;
	for (uint32_t s = 200; s < 210; s++) {
		change(&j, s);
		assert_int_equal(zoned_journal_store(&j, path, false, &octets), SIGNET_OK);
		if (s == 208) {
			struct stat st;
			assert_int_equal(stat(path, &st), 0);
			size9 = (size_t)st.st_size;
		}
	}
	/* A kill -9 in the middle of the tenth append. */
	assert_int_equal(truncate(path, (off_t)(size9 + octets / 2)), 0);
	sg_buf b = SG_BUF_INIT;
	read_file(path, &b);
	zoned_journal r;
	zoned_journal_init(&r, 64, 100000);
	char note[160];
	assert_int_equal(zoned_journal_load(&r, &apex, (char *)b.data, b.len, 209, note,
					    sizeof(note)),
			 SIGNET_OK);
	assert_non_null(strstr(note, "torn or damaged record"));
	assert_int_equal(r.count, 9);
	assert_int_equal(r.steps[8].to, 209);
	assert_false(r.file_ok);
	/* The next change rewrites the file whole: no record after the tear. */
	change(&r, 209);
	assert_int_equal(zoned_journal_store(&r, path, false, &octets), SIGNET_OK);
	read_file(path, &b);
	assert_int_equal(octets, b.len);
	zoned_journal_free(&r);
	zoned_journal_init(&r, 64, 100000);
	assert_int_equal(zoned_journal_load(&r, &apex, (char *)b.data, b.len, 210, note,
					    sizeof(note)),
			 SIGNET_OK);
	assert_string_equal(note, "");
	assert_int_equal(r.count, 10);

	/* One octet flipped in the payload of the fourth record. */
	const char *rec = (const char *)b.data;
	for (int k = 0; k < 4; k++)
		rec = strstr(rec + 1, "$REC ");
	assert_non_null(rec);
	size_t at = (size_t)(rec - (const char *)b.data) + 40;
	b.data[at] ^= 0x20;
	zoned_journal_free(&r);
	zoned_journal_init(&r, 64, 100000);
	assert_int_equal(zoned_journal_load(&r, &apex, (char *)b.data, b.len, 203, note,
					    sizeof(note)),
			 SIGNET_OK);
	assert_non_null(strstr(note, "torn or damaged record"));
	assert_int_equal(r.count, 3);
	assert_int_equal(r.steps[2].to, 203);
	sg_buf_free(&b);
	zoned_journal_free(&r);
	zoned_journal_free(&j);
}

/* 200 changes with a journal of 64 steps: the file is rewritten only when
 * it would hold more than 128; read back after a restart it has the 64
 * newest, and an IXFR from the oldest of them is answered from it. */
static void test_bounded_and_restart(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/bound.journal", dir);
	zoned_journal j;
	zoned_journal_init(&j, 64, 100000);
	size_t rewrites = 0, max_size = 0;
	for (uint32_t s = 1000; s < 1200; s++) {
		change(&j, s);
		size_t octets = 0;
		assert_int_equal(zoned_journal_store(&j, path, false, &octets), SIGNET_OK);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		if ((size_t)st.st_size == octets)
			rewrites++;
		if ((size_t)st.st_size > max_size)
			max_size = (size_t)st.st_size;
		assert_true(j.file_steps <= 128);
	}
	print_message("200 changes: %zu rewrites, the file at most %zu octets\n", rewrites,
		      max_size);
	assert_true(rewrites >= 2 && rewrites <= 4);
	sg_buf b = SG_BUF_INIT;
	read_file(path, &b);
	zoned_journal r;
	zoned_journal_init(&r, 64, 100000);
	char note[160];
	assert_int_equal(zoned_journal_load(&r, &apex, (char *)b.data, b.len, 1200, note,
					    sizeof(note)),
			 SIGNET_OK);
	assert_int_equal(r.count, 64);
	same_steps(&j, &r);
	size_t first = 99;
	assert_int_equal(zoned_journal_find(&r, 1136, &first), SIGNET_OK);
	assert_int_equal(first, 0);
	assert_int_equal(zoned_journal_find(&r, 1135, &first), SIGNET_ENOTFOUND);
	sg_buf_free(&b);
	zoned_journal_free(&r);
	zoned_journal_free(&j);
}

/* A SIGHUP's smaller max-rrs drops the oldest steps at once; the newest
 * stay findable, and a larger bound keeps what is left. */
static void test_new_bound(void **state)
{
	(void)state;
	zoned_journal j;
	zoned_journal_init(&j, 64, 100000);
	for (uint32_t s = 1000; s < 1010; s++)
		change(&j, s); /* 16 RRs a step besides the SOA */
	assert_int_equal(j.count, 10);
	assert_int_equal(j.rrs, 160);
	zoned_journal_bound(&j, 50);
	assert_int_equal(j.count, 3);
	assert_int_equal(j.rrs, 48);
	size_t first = 99;
	assert_int_equal(zoned_journal_find(&j, 1007, &first), SIGNET_OK);
	assert_int_equal(first, 0);
	assert_int_equal(zoned_journal_find(&j, 1006, &first), SIGNET_ENOTFOUND);
	zoned_journal_bound(&j, 100000);
	assert_int_equal(j.count, 3);
	change(&j, 1010);
	assert_int_equal(j.count, 4);
	zoned_journal_bound(&j, 0);
	assert_int_equal(j.count, 0);
	assert_int_equal(j.rrs, 0);
	zoned_journal_free(&j);
}

/* The set of owner (relative to apex) and type, one RR of rdata. */
static void one_rr(dns_rrset *s, const char *owner, uint16_t type, const uint8_t *rd, size_t len)
{
	dns_name o;
	assert_int_equal(dns_name_from_str(&o, owner), SIGNET_OK);
	dns_rrset_init(s, &o, type, DNS_CLASS_IN, 3600);
	assert_int_equal(dns_rrset_add(s, rd, len), SIGNET_OK);
}

/* change()'s TXT RR k of serial s. */
static void txt_rr(dns_rrset *s, uint32_t serial, int k)
{
	char owner[64];
	snprintf(owner, sizeof(owner), "h%u-%d.example.com.", serial, k);
	uint8_t rd[100];
	memset(rd, 'a' + k, 100);
	rd[0] = 99;
	one_rr(s, owner, DNS_T_TXT, rd, 100);
}

/* Two steps, 1000 -> 1001 -> 1002, as one difference: the stored SOA and
 * h1000-* go, SOA 1002 and h1002-* come, h1001-* came and went. A set the
 * stored version holds twice, an addition of what is there, a removal of
 * what is not: refused (the start then reads the zone whole). */
static void test_replay_net(void **state)
{
	(void)state;
	zoned_journal j;
	zoned_journal_init(&j, 64, 100000);
	change(&j, 1000);
	change(&j, 1001);
	zoned_replay *r = NULL;
	assert_int_equal(zoned_replay_new(&j, 0, &r), SIGNET_OK);
	uint8_t rd[512];
	size_t len = 0;
	dns_rrset s;
	/* The SOA of 1000 becomes 1002's. */
	soa_rdata(1000, rd, &len);
	one_rr(&s, "example.com.", DNS_T_SOA, rd, len);
	assert_int_equal(zoned_replay_filter(r, &s), SIGNET_OK);
	assert_int_equal(s.count, 1);
	soa_rdata(1002, rd, &len);
	assert_int_equal(s.rr[0].len, len);
	assert_memory_equal(s.rr[0].data, rd, len);
	dns_rrset_clear(&s);
	/* h1000-0 goes; an untouched set passes as it is. */
	txt_rr(&s, 1000, 0);
	assert_int_equal(zoned_replay_filter(r, &s), SIGNET_OK);
	assert_int_equal(s.count, 0);
	dns_rrset_clear(&s);
	txt_rr(&s, 7, 0);
	assert_int_equal(zoned_replay_filter(r, &s), SIGNET_OK);
	assert_int_equal(s.count, 1);
	dns_rrset_clear(&s);
	/* h1000-0 again: the stored version held it twice. */
	txt_rr(&s, 1000, 0);
	assert_int_equal(zoned_replay_filter(r, &s), SIGNET_EPARSE);
	dns_rrset_clear(&s);
	/* h1002-0 is added: a stored version that has it already is refused. */
	txt_rr(&s, 1002, 0);
	assert_int_equal(zoned_replay_filter(r, &s), SIGNET_EEXIST);
	dns_rrset_clear(&s);
	/* h1000-1..7 never came: their removal does not fit. */
	zone_engine *e = NULL;
	zone_options o;
	zone_options_init(&o);
	assert_int_equal(zone_engine_new(&apex, &o, &e), SIGNET_OK);
	zone_loader *l = NULL;
	assert_int_equal(zone_loader_new(e, 1000, &l), SIGNET_OK);
	assert_int_equal(zoned_replay_rest(r, l), SIGNET_ENOTFOUND);
	zone_loader_free(l);
	zoned_replay_free(r);
	/* Every removal there: the sets the steps add go to the loader. */
	assert_int_equal(zoned_replay_new(&j, 0, &r), SIGNET_OK);
	soa_rdata(1000, rd, &len);
	one_rr(&s, "example.com.", DNS_T_SOA, rd, len);
	assert_int_equal(zoned_replay_filter(r, &s), SIGNET_OK);
	dns_rrset_clear(&s);
	for (int k = 0; k < 8; k++) {
		txt_rr(&s, 1000, k);
		assert_int_equal(zoned_replay_filter(r, &s), SIGNET_OK);
		assert_int_equal(s.count, 0);
		dns_rrset_clear(&s);
	}
	assert_int_equal(zone_loader_new(e, 1000, &l), SIGNET_OK);
	assert_int_equal(zoned_replay_rest(r, l), SIGNET_OK);
	zone_loader_free(l);
	zoned_replay_free(r);
	/* From the second step only: the stored version is 1001's. */
	assert_int_equal(zoned_replay_new(&j, 1, &r), SIGNET_OK);
	soa_rdata(1000, rd, &len);
	one_rr(&s, "example.com.", DNS_T_SOA, rd, len);
	assert_int_equal(zoned_replay_filter(r, &s), SIGNET_OK);
	assert_int_equal(s.count, 2); /* 1000 is not 1001's: kept, 1002 added */
	dns_rrset_clear(&s);
	zoned_replay_free(r);
	zone_engine_free(e);
	zoned_journal_free(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_cost),
		cmocka_unit_test(test_torn_and_flipped),
		cmocka_unit_test(test_bounded_and_restart),
		cmocka_unit_test(test_new_bound),
		cmocka_unit_test(test_replay_net),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
