/* gen_zone.c -- a deterministic synthetic zone for signing benchmarks: N names
 * with a realistic mix (A, AAAA, MX, TXT, SRV, CNAME, delegations with glue,
 * some secure, a wildcard and empty non-terminals), the same bytes for the
 * same arguments on every machine.
 *
 * usage: gen_zone ORIGIN NAMES [SEED] > zone
 *        gen_zone --change PERCENT ORIGIN NAMES [SEED] > zone
 * --change rewrites the A record of PERCENT% of the names (every k-th), for
 * incremental re-signing benchmarks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64*: deterministic and independent of the libc's rand(). */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

int main(int argc, char **argv)
{
	int argi = 1;
	double change = 0;
	if (argc > 2 && strcmp(argv[1], "--change") == 0) {
		change = strtod(argv[2], NULL);
		argi = 3;
	}
	if (argc - argi < 2 || argc - argi > 3 || change < 0 || change > 100) {
		fprintf(stderr, "usage: gen_zone [--change PERCENT] ORIGIN NAMES [SEED]\n");
		return 2;
	}
	const char *origin = argv[argi];
	long names = strtol(argv[argi + 1], NULL, 10);
	rng_state = argc - argi == 3 ? strtoull(argv[argi + 2], NULL, 10) : 88172645463325252ULL;
	if (rng_state == 0)
		rng_state = 1;
	if (names < 10 || names > 10000000) {
		fprintf(stderr, "gen_zone: NAMES must be 10..10000000\n");
		return 2;
	}
	long every = change > 0 ? (long)(100.0 / change) : 0;

	printf("$ORIGIN %s\n$TTL 3600\n", origin);
	printf("@ IN SOA ns1 hostmaster 2026112701 7200 3600 1209600 300\n");
	printf("@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mail\n@ IN A 192.0.2.1\n");
	printf("@ IN AAAA 2001:db8::1\n@ IN TXT \"v=spf1 mx -all\"\n");
	printf("ns1 IN A 192.0.2.53\nns2 IN A 192.0.2.54\nmail IN A 192.0.2.25\n");
	printf("* IN TXT \"wildcard\"\n");
	for (long i = 0; i < names; i++) {
		uint64_t r = rng();
		unsigned kind = (unsigned)(r % 100);
		unsigned a = (unsigned)((r >> 8) & 0xffff);
		int changed = every > 0 && i % every == 0;
		unsigned host = changed ? (a ^ 0x5555u) : a;
		if (kind < 5) {
			/* A delegation with glue; every third one is secure. */
			printf("d%ld IN NS ns.d%ld\nns.d%ld IN A 198.51.%u.%u\n", i, i, i,
			       (host >> 8) & 255, host & 255);
			if (i % 3 == 0)
				printf("d%ld IN DS %u 13 2 %016llx%016llx%016llx%016llx\n", i, a,
				       (unsigned long long)rng(), (unsigned long long)rng(),
				       (unsigned long long)rng(), (unsigned long long)rng());
			continue;
		}
		if (kind < 8) {
			/* An owner two labels down leaves an empty non-terminal. */
			printf("h%ld.ent%ld IN A 203.0.%u.%u\n", i, i / 16, (host >> 8) & 255,
			       host & 255);
			continue;
		}
		printf("h%ld IN A 192.0.%u.%u\n", i, (host >> 8) & 255, host & 255);
		if (kind < 40)
			printf("h%ld IN AAAA 2001:db8:%x::%x\n", i, a,
			       (unsigned)(r >> 24) & 0xffff);
		if (kind >= 40 && kind < 50)
			printf("h%ld IN MX 10 mail\n", i);
		if (kind >= 50 && kind < 60)
			printf("h%ld IN TXT \"token=%016llx\"\n", i, (unsigned long long)rng());
		if (kind >= 60 && kind < 63)
			printf("_sip._tcp.h%ld IN SRV 10 60 5060 h%ld\n", i, i);
		if (kind >= 63 && kind < 66)
			printf("www.h%ld IN CNAME h%ld\n", i, i);
	}
	return 0;
}
