/* bench_zone_engine.c -- what the zone engine itself costs, signatures
 * aside: a full sign of a zone and a sign of a changed version against it,
 * with a backend that answers at once with RRSIGs of the right shape (a
 * signature of zeros), and zoned's journal step between the two signed
 * versions. Shows whether a change costs in proportion to the change or
 * to the zone; signetd's time per RRSIG is measured by bench_rpc. Then the
 * same change as zoned takes an IXFR (zone_engine_apply on the version in
 * memory), one RR changed, and one name added. Not run by scripts/bench
 * yet; docs/BENCHMARKS.md quotes runs.
 *
 * usage: bench_zone_engine ORIGIN OLD-ZONE NEW-ZONE [nsec|nsec3]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

#include "zone/zone.h"
#include "zoned/zoned.h"

#define NOW 1767225600u

typedef struct fake {
	uint16_t tag;
	void *done[64];
	size_t ndone;
} fake;

static signet_err be_start(void *ctx, const dns_name *apex, const dns_rrset *const *sets,
			   dns_rrset *const *sigs, size_t n, void *tag)
{
	fake *f = ctx;
	sg_buf rd = SG_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		dns_rrsig sig;
		signet_err ret = dns_rrsig_prepare(&sig, sets[i], DNS_ALG_ECDSAP256SHA256, f->tag,
						   apex, NOW - 3600, NOW + 14 * 86400);
		sig.sig_len = 64;
		memset(sig.sig, 0, 64);
		sg_buf_reset(&rd);
		if (ret == SIGNET_OK)
			ret = dns_rrsig_to_rdata(&sig, &rd);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(sigs[i], rd.data, rd.len);
		if (ret != SIGNET_OK) {
			sg_buf_free(&rd);
			return ret;
		}
	}
	sg_buf_free(&rd);
	f->done[f->ndone++] = tag;
	return SIGNET_OK;
}

static signet_err be_wait(void *ctx, void **tag)
{
	fake *f = ctx;
	if (f->ndone == 0)
		return SIGNET_ENOTFOUND;
	*tag = f->done[--f->ndone];
	return SIGNET_OK;
}

/* Octets the heap holds now (glibc): what a version costs, without the
 * allocator's caching that RSS includes. */
static double heap_mib(void)
{
	struct mallinfo2 m = mallinfo2();
	return (double)(m.uordblks + m.hblkhd) / (1024.0 * 1024.0);
}

/* The peak RSS since the last call (MiB): VmHWM, then reset (Linux's
 * clear_refs 5), so each step's own peak shows. */
static double hwm_mib(void)
{
	double kib = 0;
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtod(line + 6, NULL);
	if (f)
		fclose(f);
	f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	return kib / 1024.0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void load(const char *path, const dns_name *origin, dns_zone *z)
{
	sg_buf text = SG_BUF_INIT;
	unsigned line = 0;
	if (sg_file_read(path, (size_t)1 << 30, &text) != SIGNET_OK ||
	    dns_zone_parse((const char *)text.data, text.len, origin, 3600, 50000000, z, &line) !=
		    SIGNET_OK) {
		fprintf(stderr, "bench_zone_engine: %s:%u: cannot read\n", path, line);
		exit(1);
	}
	sg_buf_free(&text);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_zone_engine ORIGIN OLD-ZONE NEW-ZONE [nsec|nsec3]\n");
		return 2;
	}
	dns_name origin;
	if (dns_name_from_str(&origin, argv[1]) != SIGNET_OK)
		return 2;
	bool nsec3 = argc > 4 && strcmp(argv[4], "nsec3") == 0;
	dns_zone v1, v2;
	double h0 = heap_mib();
	load(argv[2], &origin, &v1);
	double h1 = heap_mib();
	load(argv[3], &origin, &v2);
	/* A key set of the right shape: one ZSK, one KSK, one KSK RRSIG. */
	zone_keys k;
	zone_keys_init(&k, &origin);
	uint8_t key[4 + 64] = {0x01, 0x00, 3, DNS_ALG_ECDSAP256SHA256};
	k.dnskey.ttl = 3600;
	dns_rrset_add(&k.dnskey, key, sizeof(key));
	fake f = {0};
	dns_key_tag(key, sizeof(key), &f.tag);
	key[1] = 0x01;
	dns_rrset_add(&k.dnskey, key, sizeof(key));
	zone_backend b = {&f, be_start, be_wait};
	dns_rrset *kp = &k.dnskey;
	dns_rrset *sp = &k.ksk_sigs;
	if (be_start(&f, &origin, (const dns_rrset *const *)&kp, &sp, 1, NULL) != SIGNET_OK)
		return 3;
	f.ndone = 0;
	k.alg = DNS_ALG_ECDSAP256SHA256;
	k.validity = 14 * 86400;
	k.nsec3 = nsec3;
	k.nsec3p.algorithm = 1;
	zone_options o;
	zone_options_init(&o);
	o.serial = ZONE_SERIAL_INCREMENT;
	zone_engine *e = NULL;
	if (zone_engine_new(&origin, &o, &e) != SIGNET_OK)
		return 3;
	zone_sign_stats st;
	double hwm_load = hwm_mib();
	double t0 = now_s();
	if (zone_engine_sign(e, &v1, &k, &b, NOW, &st) != SIGNET_OK)
		return 3;
	double full = now_s() - t0;
	double hwm_full = hwm_mib();
	printf("full sign      %8.3f s  %zu RRsets signed\n", full, st.sent);
	/* v2 is loaded and the same size as v1 was. */
	double hv = heap_mib() - (h1 - h0);
	printf("heap: unsigned zone %.1f MiB, signed version %.1f MiB (%zu sets)\n", h1 - h0,
	       hv - h0, st.sets);
	zoned_journal j;
	zoned_journal_init(&j, 64, 100000000);
	/* The change as an IXFR brings it: a difference applied to the current
	 * unsigned version, then signed. */
	dns_zone cur;
	zone_diff d;
	t0 = now_s();
	if (zone_engine_unsigned(e, &cur) != SIGNET_OK)
		return 3;
	double copy = now_s() - t0;
	/* The SOA of v2 differs only in serial; set it one up so the diff
	 * carries the SOA change as an IXFR would. */
	if (zone_diff_between(&cur, &v2, &d) != SIGNET_OK)
		return 3;
	size_t nd = d.ndel + d.nadd;
	t0 = now_s();
	if (zone_diff_apply(&cur, &d, 50000000) != SIGNET_OK)
		return 3;
	double apply = now_s() - t0;
	zone_diff changes = {0};
	t0 = now_s();
	if (zone_engine_sign_diff(e, &cur, &k, &b, NOW, &st, &changes) != SIGNET_OK)
		return 3;
	double inc = now_s() - t0;
	double hwm_inc = hwm_mib();
	t0 = now_s();
	zoned_journal_add(&j, &origin, &changes, 0);
	double jstep = now_s() - t0;
	zone_diff_free(&changes);
	/* The same difference the way zoned takes an IXFR now: applied to the
	 * version in memory (zone_engine_apply), back and forth so each run
	 * changes something. */
	zone_diff back = {0};
	for (size_t i = 0; i < d.nadd; i++)
		zone_diff_push(&back, false, &d.add[i].owner, d.add[i].type, d.add[i].ttl,
			       d.add[i].rdata.data, d.add[i].rdata.len);
	for (size_t i = 0; i < d.ndel; i++)
		zone_diff_push(&back, true, &d.del[i].owner, d.del[i].type, d.del[i].ttl,
			       d.del[i].rdata.data, d.del[i].rdata.len);
	zone_sign_stats sa;
	t0 = now_s();
	signet_err r = zone_engine_apply(e, &back, 1, 50000000, &k, &b, NOW, &sa, &changes);
	if (r != SIGNET_OK) {
		fprintf(stderr, "apply: %s\n", signet_strerror(r));
		return 3;
	}
	double app = now_s() - t0;
	double hwm_app = hwm_mib();
	zone_diff_free(&changes);
	/* One RR changed. */
	zone_diff one = {0};
	/* A name of its own (hN), not glue under a delegation. */
	size_t x = 0;
	while (x < d.ndel && x < d.nadd && d.del[x].owner.wire[1] != 'h')
		x++;
	if (x == d.ndel || x == d.nadd)
		return 3;
	zone_diff_push(&one, false, &d.del[x].owner, d.del[x].type, d.del[x].ttl,
		       d.del[x].rdata.data, d.del[x].rdata.len);
	zone_diff_push(&one, true, &d.add[x].owner, d.add[x].type, d.add[x].ttl,
		       d.add[x].rdata.data, d.add[x].rdata.len);
	zone_sign_stats s1;
	t0 = now_s();
	if (zone_engine_apply(e, &one, 1, 50000000, &k, &b, NOW, &s1, &changes) != SIGNET_OK)
		return 3;
	double app1 = now_s() - t0;
	zone_diff_free(&changes);
	/* One name added: the version's entries move to make room. */
	zone_diff name = {0};
	dns_name fresh;
	uint8_t addr[4] = {192, 0, 2, 99};
	if (dns_name_from_str(&fresh, "h5000x.bench.example.") != SIGNET_OK ||
	    zone_diff_push(&name, true, &fresh, DNS_T_A, 3600, addr, 4) != SIGNET_OK)
		return 3;
	zone_sign_stats s2;
	t0 = now_s();
	if (zone_engine_apply(e, &name, 1, 50000000, &k, &b, NOW, &s2, &changes) != SIGNET_OK)
		return 3;
	double app2 = now_s() - t0;
	zone_diff_free(&changes);
	zone_diff_free(&name);
	zone_diff_free(&back);
	zone_diff_free(&one);
	printf("peak RSS MiB: loading %.1f, full sign %.1f, change sign (unsigned copy"
	       " and diff included) %.1f, apply %.1f\n",
	       hwm_load, hwm_full, hwm_inc, hwm_app);
	printf("unsigned copy  %8.3f s\n", copy);
	printf("diff apply     %8.3f s  %zu RRs\n", apply, nd);
	printf("change sign    %8.3f s  %zu RRsets signed, %zu reused (%.3f of full; with the"
	       " signed difference)\n",
	       inc, st.sent, st.reused, inc / full);
	printf("journal step   %8.3f s  %zu RRs\n", jstep, j.count ? j.steps[0].rrs : 0);
	printf("apply (IXFR)   %8.3f s  %zu RRsets signed, %zu sets (%.3f of full)\n", app, sa.sent,
	       sa.sets, app / full);
	printf("apply 1 RR     %8.3f s  %zu RRsets signed (%.4f of full)\n", app1, s1.sent,
	       app1 / full);
	printf("apply 1 name   %8.3f s  %zu RRsets signed (%.4f of full)\n", app2, s2.sent,
	       app2 / full);
	/* What zoned stores after every sign: the whole signed zone as text. */
	sg_buf text = SG_BUF_INIT;
	t0 = now_s();
	if (zone_engine_text(e, &text) != SIGNET_OK ||
	    sg_file_write_atomic("bench_zone_engine.out", text.data, text.len, 0600) != SIGNET_OK)
		return 3;
	double store = now_s() - t0;
	printf("store as text  %8.3f s  %zu octets (written and synced)\n", store, text.len);
	sg_buf_free(&text);
	unlink("bench_zone_engine.out");
	zone_diff_free(&d);
	zoned_journal_free(&j);
	zone_engine_free(e);
	zone_keys_clear(&k);
	dns_zone_free(&v2);
	return 0;
}
