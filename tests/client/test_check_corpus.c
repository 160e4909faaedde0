/* test_check_corpus.c -- `signet check` on a corpus of zone shapes: every
 * tests/data/check/shapes/<shape>.zone is signed by `signet sign-zone` through a
 * real signetd (SoftHSM2 token, the software KSK in the ceremony's place)
 * with NSEC, NSEC3 and NSEC3 opt-out, served by one NSD and one knotd on
 * loopback, and must be OK from both. Then every tests/data/check/defects/
 * <name>.defect names a shape, a denial mode and edits to a signed copy (or to
 * its DS file) that a validator rejects; each, served by both, must give
 * its finding.
 *
 * A shape is an unsigned zone with relative names; it is signed as
 * <shape>.<mode>.corpus.test. with mode nsec, nse3 or opt3 (four letters, so
 * every apex of a shape is as long: maxlen.zone fills names to 255 octets).
 * A line "; check-name: NAME" in it adds --name NAME.<apex> to the check
 * (NSEC3 zones cannot be walked: their delegations are visited that way).
 * A line "; not-on: SERVER MODE... -- WHY" keeps the shape in those modes
 * off nsd or knotd: for a limit of that server, said in the shape.
 *
 * A defect file holds lines "key: value":
 *   shape: delegations       the shape to sign (as <defect>.defects.test.)
 *   mode: nsec|nse3|opt3
 *   edit: OP ARGS            applied in order to the signed zone, names
 *                            relative to the apex ("@" the apex):
 *     drop OWNER TYPE        the RRset and its RRSIGs go
 *     drop-rrsig OWNER TYPE  the RRSIGs over the RRset go
 *     flip OWNER TYPE        one octet of each RRSIG's signature changes
 *     resign OWNER TYPE [expire SECONDS] [labels N] [ttl N]
 *                            the RRSIGs are replaced by one of the KSK's,
 *                            valid over the fields as changed (expiration
 *                            SECONDS from now, Labels, Original TTL)
 *     next OWNER NAME        the NSEC's next name becomes NAME, re-signed
 *     unset OWNER TYPE       the NSEC at OWNER loses TYPE's bit, re-signed
 *     drop-nsec3 NAME        the NSEC3 of NAME's hash and its RRSIG go
 *     drop-nsec3-covering NAME   the NSEC3 whose span holds NAME's hash goes
 *     ds other-key|flip-digest   the --ds file names another key, or the
 *                            right key with a wrong digest
 *   args: ...                more check arguments ({zone} is the apex)
 *   exit: N                  the exit status wanted
 *   expect: TEXT             a text the output must hold ({zone} as above)
 *   expect-nsd: TEXT, expect-knotd: TEXT   the same from that server only
 *                            (where the two send different proofs)
 *
 * SIGNET_CHECK_CLI runs another signet binary (an older build, to show
 * what it got wrong); SIGNET_CHECK_SHAPES limits the shapes (a
 * comma-separated list) for the sanitizer build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "client/client.h"
#include "tests/lib/signetd_fixture.h"

extern char **environ;

#define ZONES_MAX 96
#define NAMES_MAX 16

static const char *const modes[] = {"nsec", "nse3", "opt3"};

/* One zone served: a corpus shape in a mode, or a defect. */
struct zone {
	char apex[300];            /* with the final dot */
	char file[400];            /* the signed zone */
	char ds[400];              /* its DS file */
	char names[NAMES_MAX][1100]; /* --name arguments (escapes make them long) */
	size_t nnames;
	bool defect;               /* a defect, not a corpus zone */
	bool off[2];               /* not served by NSD [0] / knotd [1] */
	char defect_path[600];     /* the .defect file */
};

static signetd_env D;
static struct {
	char ns1[300];             /* client config for sign-zone */
	struct zone z[ZONES_MAX];
	size_t nz;
	unsigned nsd_port, knot_port;
	pid_t nsd, knot;
	EVP_PKEY *other;           /* a key no zone publishes */
} T;

static const char *data_dir(void)
{
	const char *d = getenv("SIGNET_TEST_DATA");
	return d ? d : "tests/data";
}

static const char *cli_path(void)
{
	const char *p = getenv("SIGNET_CHECK_CLI");
	return p && *p ? p : SIGNET_CLI;
}

/* Run argv with stdout and stderr into out_path; the exit status (128 and
 * up for a signal). */
static int run(const char *const *argv, const char *out_path)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fail_msg("cannot run %s", argv[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void read_text(const char *path, sg_buf *out)
{
	sg_buf_reset(out);
	assert_int_equal(sg_file_read(path, 1 << 24, out), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(out, 0), SIGNET_OK);
	out->len--;
}

static void write_text(const char *path, const char *text, size_t len)
{
	assert_int_equal(sg_file_write_atomic(path, text, len, 0600), SIGNET_OK);
}

/* NAME relative to apex ("@" the apex, a final dot absolute). */
static dns_name rel_name(const char *name, const char *apex)
{
	char full[1100];
	dns_name n;
	size_t l = strlen(name);
	if (strcmp(name, "@") == 0)
		snprintf(full, sizeof(full), "%s", apex);
	else if (l && name[l - 1] == '.')
		snprintf(full, sizeof(full), "%s", name);
	else
		snprintf(full, sizeof(full), "%s.%s", name, apex);
	if (dns_name_from_str(&n, full) != SIGNET_OK)
		fail_msg("not a name: %s", full);
	return n;
}

/* Replace every "{zone}" in in by apex. */
static void subst(const char *in, const char *apex, char *out, size_t len)
{
	size_t o = 0;
	while (*in && o + 1 < len) {
		if (strncmp(in, "{zone}", 6) == 0) {
			o += (size_t)snprintf(out + o, len - o, "%s", apex);
			in += 6;
			if (o >= len)
				break;
		} else {
			out[o++] = *in++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

/* ---- a signed zone as RRs, to edit ------------------------------------- */

struct rr {
	dns_name owner;
	uint16_t type;
	uint32_t ttl;
	sg_buf rdata;
	bool gone;
};

struct zonefile {
	struct rr *rr;
	size_t n;
};

static void zf_read(const char *path, struct zonefile *zf)
{
	sg_buf text = SG_BUF_INIT;
	read_text(path, &text);
	memset(zf, 0, sizeof(*zf));
	size_t cap = 0;
	char *save = NULL;
	for (char *line = strtok_r((char *)text.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == ';' || line[0] == '\0')
			continue;
		if (zf->n == cap) {
			cap = cap ? cap * 2 : 256;
			zf->rr = realloc(zf->rr, cap * sizeof(*zf->rr));
			assert_non_null(zf->rr);
		}
		struct rr *r = &zf->rr[zf->n];
		memset(r, 0, sizeof(*r));
		uint16_t rclass;
		if (dns_rr_from_text(line, NULL, &r->owner, &r->type, &rclass, &r->ttl,
				     &r->rdata) != SIGNET_OK)
			fail_msg("%s: cannot read back: %s", path, line);
		zf->n++;
	}
	sg_buf_free(&text);
}

static void zf_write(const char *path, struct zonefile *zf)
{
	sg_buf out = SG_BUF_INIT;
	for (size_t i = 0; i < zf->n; i++) {
		if (zf->rr[i].gone)
			continue;
		assert_int_equal(dns_rr_to_text(&zf->rr[i].owner, zf->rr[i].type, DNS_CLASS_IN,
						zf->rr[i].ttl, zf->rr[i].rdata.data,
						zf->rr[i].rdata.len, &out), SIGNET_OK);
		assert_int_equal(sg_buf_printf(&out, "\n"), SIGNET_OK);
	}
	write_text(path, (const char *)out.data, out.len);
	sg_buf_free(&out);
	for (size_t i = 0; i < zf->n; i++)
		sg_buf_free(&zf->rr[i].rdata);
	free(zf->rr);
	memset(zf, 0, sizeof(*zf));
}

static bool covers(const struct rr *r, uint16_t type)
{
	return r->type == DNS_T_RRSIG && r->rdata.len >= 2 && sg_get_u16(r->rdata.data) == type;
}

/* The RRset (owner, type) of zf, for re-signing. */
static void zf_set(const struct zonefile *zf, const dns_name *owner, uint16_t type,
		   dns_rrset *out)
{
	dns_rrset_init(out, owner, type, DNS_CLASS_IN, 0);
	for (size_t i = 0; i < zf->n; i++)
		if (!zf->rr[i].gone && zf->rr[i].type == type &&
		    dns_name_equal(&zf->rr[i].owner, owner)) {
			out->ttl = zf->rr[i].ttl;
			assert_int_equal(dns_rrset_add(out, zf->rr[i].rdata.data,
						       zf->rr[i].rdata.len), SIGNET_OK);
		}
	if (out->count == 0)
		fail_msg("no such RRset to edit (type %u)", type);
}

/* Replace the RRSIGs over (owner, type) by one of the software KSK's,
 * whose fields may be changed first: it verifies over what it says. */
static void resign(struct zonefile *zf, const dns_name *apex, const dns_name *owner,
		   uint16_t type, int64_t expire, int labels, int64_t ttl)
{
	dns_rrset set;
	zf_set(zf, owner, type, &set);
	uint32_t now = (uint32_t)time(NULL);
	uint32_t inc = now - 3600, exp = now + 14 * 86400;
	if (expire != 0) {
		exp = (uint32_t)((int64_t)now + expire);
		inc = exp - 30 * 86400;
	}
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_prepare(&sig, &set, DNS_ALG_ED25519, D.ksk.tag, apex, inc,
					   exp), SIGNET_OK);
	if (labels >= 0)
		sig.labels = (uint8_t)labels;
	if (ttl >= 0)
		sig.original_ttl = (uint32_t)ttl;
	sg_buf data = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_signed_data(&sig, &set, &data), SIGNET_OK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_non_null(md);
	size_t siglen = sizeof(sig.sig);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, D.ksk.key), 1);
	assert_int_equal(EVP_DigestSign(md, sig.sig, &siglen, data.data, data.len), 1);
	EVP_MD_CTX_free(md);
	sig.sig_len = (uint16_t)siglen;
	assert_int_equal(dns_rrsig_to_rdata(&sig, &rd), SIGNET_OK);
	bool placed = false;
	for (size_t i = 0; i < zf->n; i++) {
		struct rr *r = &zf->rr[i];
		if (r->gone || !covers(r, type) || !dns_name_equal(&r->owner, owner))
			continue;
		if (placed) {
			r->gone = true;
			continue;
		}
		sg_buf_reset(&r->rdata);
		assert_int_equal(sg_buf_append(&r->rdata, rd.data, rd.len), SIGNET_OK);
		placed = true;
	}
	assert_true(placed);
	sg_buf_free(&data);
	sg_buf_free(&rd);
	dns_rrset_clear(&set);
}

static uint16_t type_of(const char *s)
{
	static const struct {
		const char *name;
		uint16_t type;
	} t[] = {{"A", DNS_T_A}, {"AAAA", DNS_T_AAAA}, {"NS", DNS_T_NS}, {"SOA", DNS_T_SOA},
		 {"NSEC", DNS_T_NSEC}, {"NSEC3", DNS_T_NSEC3}, {"DS", DNS_T_DS},
		 {"DNSKEY", DNS_T_DNSKEY}, {"TXT", DNS_T_TXT}, {"MX", DNS_T_MX}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].type;
	fail_msg("type %s not known to the defect editor", s);
	return 0;
}

/* The NSEC3 parameters of the zone (from its NSEC3PARAM). */
static dns_nsec3_params zf_params(const struct zonefile *zf)
{
	for (size_t i = 0; i < zf->n; i++) {
		const struct rr *r = &zf->rr[i];
		if (r->type != DNS_T_NSEC3PARAM || r->rdata.len < 5)
			continue;
		dns_nsec3_params p = {.algorithm = r->rdata.data[0],
				      .iterations = sg_get_u16(r->rdata.data + 2),
				      .salt_len = r->rdata.data[4]};
		memcpy(p.salt, r->rdata.data + 5, p.salt_len);
		return p;
	}
	fail_msg("no NSEC3PARAM in the zone");
	dns_nsec3_params none = {0};
	return none;
}

/* Write the zone's DS file: the KSK's SHA-256 DS, or a defect's. */
static void write_ds(const struct zone *z, const char *how)
{
	dns_name apex = rel_name("@", z->apex);
	sg_buf rd = SG_BUF_INIT, text = SG_BUF_INIT;
	if (how && strcmp(how, "other-key") == 0) {
		sg_buf key = SG_BUF_INIT;
		assert_int_equal(dns_dnskey_pubkey_from_evp(DNS_ALG_ED25519, T.other, &key),
				 SIGNET_OK);
		sg_buf dnskey = SG_BUF_INIT;
		assert_int_equal(dns_dnskey_rdata(257, DNS_ALG_ED25519, key.data, key.len,
						  &dnskey), SIGNET_OK);
		assert_int_equal(dns_ds_rdata(&apex, dnskey.data, dnskey.len, 2, &rd), SIGNET_OK);
		sg_buf_free(&key);
		sg_buf_free(&dnskey);
	} else {
		assert_int_equal(dns_ds_rdata(&apex, D.ksk.dnskey, D.ksk.dnskey_len, 2, &rd),
				 SIGNET_OK);
		if (how && strcmp(how, "flip-digest") == 0)
			rd.data[rd.len - 1] ^= 0x01;
		else if (how)
			fail_msg("ds %s: other-key or flip-digest", how);
	}
	assert_int_equal(dns_rr_to_text(&apex, DNS_T_DS, DNS_CLASS_IN, 3600, rd.data, rd.len,
					&text), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&text, "\n"), SIGNET_OK);
	write_text(z->ds, (const char *)text.data, text.len);
	sg_buf_free(&rd);
	sg_buf_free(&text);
}

/* One edit line of a defect on zf. */
static void apply_edit(struct zone *z, struct zonefile *zf, char *line)
{
	char *argv[12];
	int argc = 0;
	char *save = NULL;
	for (char *w = strtok_r(line, " \t", &save); w && argc < 12; w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	assert_true(argc >= 2);
	dns_name apex = rel_name("@", z->apex);
	if (strcmp(argv[0], "ds") == 0) {
		write_ds(z, argv[1]);
		return;
	}
	if (strcmp(argv[0], "drop-nsec3-covering") == 0) {
		dns_name n = rel_name(argv[1], z->apex);
		dns_nsec3_params p = zf_params(zf);
		uint8_t h[DNS_NSEC3_HASH_MAX];
		size_t hl;
		assert_int_equal(dns_nsec3_hash(&n, &p, h, &hl), SIGNET_OK);
		dns_name owner;
		bool found = false;
		for (size_t i = 0; i < zf->n && !found; i++) {
			dns_nsec3_rec r;
			if (zf->rr[i].type == DNS_T_NSEC3 &&
			    dns_nsec3_read(&zf->rr[i].owner, zf->rr[i].rdata.data,
					   zf->rr[i].rdata.len, &r) == SIGNET_OK &&
			    dns_nsec3_covers(&r, h, hl)) {
				owner = zf->rr[i].owner;
				found = true;
			}
		}
		if (!found)
			fail_msg("drop-nsec3-covering %s: no NSEC3 covers it", argv[1]);
		for (size_t i = 0; i < zf->n; i++)
			if (dns_name_equal(&zf->rr[i].owner, &owner) &&
			    (zf->rr[i].type == DNS_T_NSEC3 || covers(&zf->rr[i], DNS_T_NSEC3)))
				zf->rr[i].gone = true;
		return;
	}
	if (strcmp(argv[0], "drop-nsec3") == 0) {
		dns_name n = rel_name(argv[1], z->apex);
		dns_nsec3_params p = zf_params(zf);
		uint8_t h[DNS_NSEC3_HASH_MAX];
		size_t hl;
		char label[80];
		assert_int_equal(dns_nsec3_hash(&n, &p, h, &hl), SIGNET_OK);
		assert_int_equal(dns_base32hex_encode(h, hl, label, sizeof(label)), SIGNET_OK);
		dns_name owner = rel_name(label, z->apex);
		size_t dropped = 0;
		for (size_t i = 0; i < zf->n; i++)
			if (dns_name_equal(&zf->rr[i].owner, &owner) &&
			    (zf->rr[i].type == DNS_T_NSEC3 || covers(&zf->rr[i], DNS_T_NSEC3))) {
				zf->rr[i].gone = true;
				dropped++;
			}
		if (dropped == 0)
			fail_msg("drop-nsec3 %s: no NSEC3 of that name", argv[1]);
		return;
	}
	assert_true(argc >= 3);
	dns_name owner = rel_name(argv[1], z->apex);
	if (strcmp(argv[0], "next") == 0) {
		dns_name next = rel_name(argv[2], z->apex);
		bool done = false;
		for (size_t i = 0; i < zf->n; i++) {
			struct rr *r = &zf->rr[i];
			if (r->type != DNS_T_NSEC || !dns_name_equal(&r->owner, &owner))
				continue;
			dns_nsec_rec nr;
			assert_int_equal(dns_nsec_read(&r->owner, r->rdata.data, r->rdata.len, &nr),
					 SIGNET_OK);
			sg_buf rd = SG_BUF_INIT;
			assert_int_equal(sg_buf_append(&rd, next.wire, next.len), SIGNET_OK);
			assert_int_equal(sg_buf_append(&rd, nr.bitmap, nr.bitmap_len), SIGNET_OK);
			sg_buf_free(&r->rdata);
			r->rdata = rd;
			done = true;
		}
		assert_true(done);
		resign(zf, &apex, &owner, DNS_T_NSEC, 0, -1, -1);
		return;
	}
	uint16_t type = type_of(argv[2]);
	size_t hits = 0;
	if (strcmp(argv[0], "unset") == 0) {
		for (size_t i = 0; i < zf->n; i++) {
			struct rr *r = &zf->rr[i];
			if (r->type != DNS_T_NSEC || !dns_name_equal(&r->owner, &owner))
				continue;
			dns_nsec_rec nr;
			assert_int_equal(dns_nsec_read(&r->owner, r->rdata.data, r->rdata.len, &nr),
					 SIGNET_OK);
			uint16_t *types = calloc(65536, sizeof(*types));
			assert_non_null(types);
			size_t nt = 0;
			for (unsigned t = 0; t < 65536; t++)
				if (t != type && dns_bitmap_has(nr.bitmap, nr.bitmap_len, (uint16_t)t))
					types[nt++] = (uint16_t)t;
			sg_buf rd = SG_BUF_INIT;
			assert_int_equal(dns_nsec_rdata(&nr.next, types, nt, &rd), SIGNET_OK);
			free(types);
			sg_buf_free(&r->rdata);
			r->rdata = rd;
			hits++;
		}
		assert_int_equal(hits, 1);
		resign(zf, &apex, &owner, DNS_T_NSEC, 0, -1, -1);
		return;
	}
	if (strcmp(argv[0], "drop") == 0 || strcmp(argv[0], "drop-rrsig") == 0 ||
	    strcmp(argv[0], "flip") == 0) {
		for (size_t i = 0; i < zf->n; i++) {
			struct rr *r = &zf->rr[i];
			if (r->gone || !dns_name_equal(&r->owner, &owner))
				continue;
			bool set = r->type == type, sig = covers(r, type);
			if (strcmp(argv[0], "drop") == 0 && (set || sig)) {
				r->gone = true;
				hits++;
			} else if (strcmp(argv[0], "drop-rrsig") == 0 && sig) {
				r->gone = true;
				hits++;
			} else if (strcmp(argv[0], "flip") == 0 && sig) {
				r->rdata.data[r->rdata.len - 10] ^= 0x40;
				hits++;
			}
		}
		if (hits == 0)
			fail_msg("%s %s %s: nothing to edit", argv[0], argv[1], argv[2]);
		return;
	}
	if (strcmp(argv[0], "resign") == 0) {
		int64_t expire = 0, labels = -1, ttl = -1;
		for (int i = 3; i + 1 < argc; i += 2) {
			long long v = strtoll(argv[i + 1], NULL, 10);
			if (strcmp(argv[i], "expire") == 0)
				expire = v;
			else if (strcmp(argv[i], "labels") == 0)
				labels = v;
			else if (strcmp(argv[i], "ttl") == 0)
				ttl = v;
			else
				fail_msg("resign: %s?", argv[i]);
		}
		resign(zf, &apex, &owner, type, expire, (int)labels, ttl);
		return;
	}
	fail_msg("edit %s not known", argv[0]);
}

/* ---- setting up -------------------------------------------------------- */

/* Name z after apex: its signed file and DS file in the daemon's directory. */
static void zone_paths(struct zone *z, const char *apex)
{
	char a[300];
	snprintf(a, sizeof(a), "%s", apex);
	snprintf(z->apex, sizeof(z->apex), "%s", a);
	snprintf(z->file, sizeof(z->file), "%.128s/%.250ssigned", D.dir, a);
	snprintf(z->ds, sizeof(z->ds), "%.128s/%.250sds", D.dir, a);
}

static void sign(struct zone *z, const char *shape_path, const char *mode)
{
	signetd_zone sz;
	signetd_add_zone(&D, z->apex, DNS_ALG_ED25519, &sz);
	char log[400];
	snprintf(log, sizeof(log), "%s/sign.log", D.dir);
	const char *argv[16] = {SIGNET_CLI, "sign-zone", "--zone", z->apex, "--in", shape_path,
				"--out", z->file, "--config", T.ns1, "--quiet"};
	size_t n = 11;
	if (strcmp(mode, "nsec") == 0) {
		argv[n++] = "--nsec";
	} else {
		argv[n++] = "--nsec3";
		if (strcmp(mode, "opt3") == 0)
			argv[n++] = "--opt-out";
	}
	argv[n] = NULL;
	if (run(argv, log) != 0) {
		sg_buf b = SG_BUF_INIT;
		read_text(log, &b);
		fail_msg("sign-zone %s: %s", z->apex, (char *)b.data);
	}
}

/* "; check-name: NAME" and "; not-on: SERVER MODE..." lines of a shape. */
static void shape_names(const char *path, struct zone *z, const char *mode)
{
	sg_buf b = SG_BUF_INIT;
	read_text(path, &b);
	const char *p = (const char *)b.data;
	while ((p = strstr(p, "; not-on: ")) != NULL) {
		p += 10;
		char line[200];
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
		char *why = strstr(line, " -- ");
		if (!why)
			fail_msg("%s: not-on needs ' -- ' and a reason", path);
		*why = '\0';
		int server = strncmp(line, "nsd ", 4) == 0 ? 0 : strncmp(line, "knotd ", 6) == 0 ? 1 : -1;
		if (server < 0)
			fail_msg("%s: not-on nsd or knotd", path);
		char *save = NULL;
		for (char *w = strtok_r(line + (server ? 6 : 4), " ", &save); w;
		     w = strtok_r(NULL, " ", &save))
			if (mode && strcmp(w, mode) == 0) {
				z->off[server] = true;
				print_message("%s not served by %s: %s\n", z->apex,
					      server ? "knotd" : "nsd", why + 4);
			}
	}
	p = (const char *)b.data;
	while ((p = strstr(p, "; check-name: ")) != NULL) {
		p += 14;
		size_t l = strcspn(p, " \t\n");
		assert_true(z->nnames < NAMES_MAX && l < 1000);
		char apex[300];
		snprintf(apex, sizeof(apex), "%s", z->apex);
		snprintf(z->names[z->nnames++], sizeof(z->names[0]), "%.*s.%.90s", (int)l, p,
			 apex);
	}
	sg_buf_free(&b);
}

static bool shape_wanted(const char *name)
{
	const char *only = getenv("SIGNET_CHECK_SHAPES");
	if (!only || !*only)
		return true;
	size_t l = strlen(name);
	for (const char *p = only; *p;) {
		size_t w = strcspn(p, ",");
		if (w == l && strncmp(p, name, l) == 0)
			return true;
		p += w + (p[w] == ',');
	}
	return false;
}

/* The files of dir ending in ext, sorted, into names (at most max). */
static size_t list_dir(const char *dir, const char *ext, char names[][128], size_t max)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("no directory %s", dir);
	size_t n = 0, el = strlen(ext);
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		size_t l = strlen(e->d_name);
		if (l > el && l < 128 && strcmp(e->d_name + l - el, ext) == 0)
			snprintf(names[n++], 128, "%.127s", e->d_name);
	}
	closedir(d);
	qsort(names, n, 128, (int (*)(const void *, const void *))strcmp);
	return n;
}

/* The value of "key: " in a defect file (the first, or the k-th). */
static bool defect_value(const char *text, const char *key, unsigned k, char *out, size_t len)
{
	char pat[32];
	snprintf(pat, sizeof(pat), "\n%s: ", key);
	const char *p = text;
	for (unsigned i = 0; (p = strstr(p, pat)) != NULL; i++) {
		p += strlen(pat);
		if (i == k) {
			size_t l = strcspn(p, "\n");
			snprintf(out, len, "%.*s", (int)l, p);
			return true;
		}
	}
	return false;
}

static void make_defect(const char *name)
{
	assert_true(T.nz < ZONES_MAX);
	struct zone *z = &T.z[T.nz++];
	memset(z, 0, sizeof(*z));
	z->defect = true;
	snprintf(z->defect_path, sizeof(z->defect_path), "%s/check/defects/%s", data_dir(),
		 name);
	sg_buf b = SG_BUF_INIT, t = SG_BUF_INIT;
	read_text(z->defect_path, &b);
	assert_int_equal(sg_buf_printf(&t, "\n%s", (char *)b.data), SIGNET_OK);
	char shape[128], mode[16], shape_path[600], line[600];
	if (!defect_value((char *)t.data, "shape", 0, shape, sizeof(shape)) ||
	    !defect_value((char *)t.data, "mode", 0, mode, sizeof(mode)))
		fail_msg("%s: shape and mode are needed", name);
	char apex[300];
	snprintf(apex, sizeof(apex), "%.*s.defects.test.", (int)(strlen(name) - 7), name);
	zone_paths(z, apex);
	snprintf(shape_path, sizeof(shape_path), "%s/check/shapes/%s.zone", data_dir(), shape);
	sign(z, shape_path, mode);
	shape_names(shape_path, z, NULL);
	write_ds(z, NULL);
	struct zonefile zf;
	zf_read(z->file, &zf);
	for (unsigned k = 0; defect_value((char *)t.data, "edit", k, line, sizeof(line)); k++)
		apply_edit(z, &zf, line);
	zf_write(z->file, &zf);
	sg_buf_free(&b);
	sg_buf_free(&t);
}

static void write_servers_conf(void)
{
	sg_buf nsd = SG_BUF_INIT, knot = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&nsd,
		"server:\n  ip-address: 127.0.0.1\n  port: %u\n  username: \"\"\n"
		"  chroot: \"\"\n  zonesdir: \"%s\"\n  database: \"\"\n"
		"  pidfile: \"%s/nsd.pid\"\n  xfrdfile: \"%s/xfrd.state\"\n"
		"  zonelistfile: \"%s/zone.list\"\n  xfrdir: \"%s\"\n"
		"  logfile: \"%s/nsd.log\"\n  server-count: 1\n  do-ip6: no\n"
		"  verbosity: 1\nremote-control:\n  control-enable: no\n",
		T.nsd_port, D.dir, D.dir, D.dir, D.dir, D.dir, D.dir), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&knot,
		"server:\n  rundir: \"%s/knot\"\n  listen: 127.0.0.1@%u\n"
		"  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
		"database:\n  storage: \"%s/knot\"\n"
		"log:\n  - target: \"%s/knot.log\"\n    any: info\n"
		"template:\n  - id: default\n    storage: \"%s\"\n    zonefile-sync: -1\n"
		"    zonefile-load: whole\n    journal-content: none\n"
		"    semantic-checks: off\nzone:\n",
		D.dir, T.knot_port, D.dir, D.dir, D.dir), SIGNET_OK);
	for (size_t i = 0; i < T.nz; i++) {
		if (!T.z[i].off[0])
			assert_int_equal(sg_buf_printf(&nsd,
						       "zone:\n  name: \"%s\"\n  zonefile: \"%s\"\n",
						       T.z[i].apex, T.z[i].file), SIGNET_OK);
		if (!T.z[i].off[1])
			assert_int_equal(sg_buf_printf(&knot, "  - domain: \"%s\"\n    file: \"%s\"\n",
						       T.z[i].apex, T.z[i].file), SIGNET_OK);
	}
	char path[400];
	snprintf(path, sizeof(path), "%s/nsd.conf", D.dir);
	write_text(path, (char *)nsd.data, nsd.len);
	snprintf(path, sizeof(path), "%s/knot.conf", D.dir);
	write_text(path, (char *)knot.data, knot.len);
	snprintf(path, sizeof(path), "%s/knot", D.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	sg_buf_free(&nsd);
	sg_buf_free(&knot);
}

static pid_t start(const char *const *argv, const char *log)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fail_msg("cannot start %s (is it installed? scripts/deps)", argv[0]);
	return pid;
}

/* True once port answers every zone's SOA that it serves (bounded). */
static void wait_serving(unsigned port, pid_t pid, bool knot, const char *log)
{
	check_server s;
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	assert_int_equal(check_server_parse(addr, &s), SIGNET_OK);
	s.timeout_ms = 300;
	s.tries = 1;
	for (size_t i = 0; i < T.nz; i++) {
		if (T.z[i].off[knot])
			continue;
		dns_name apex = rel_name("@", T.z[i].apex);
		bool ok = false;
		for (int k = 0; k < 150 && !ok; k++) {
			check_answer a;
			char err[256];
			if (check_query(&s, &apex, DNS_T_SOA, &a, err, sizeof(err)) == SIGNET_OK) {
				ok = a.rcode == 0 && a.count > 0;
				check_answer_free(&a);
			}
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid)
				fail_msg("%s exited; see %s", knot ? "knotd" : "nsd", log);
			if (!ok)
				signetd_sleep_ms(100);
		}
		if (!ok)
			fail_msg("%s does not serve %s; see %s", knot ? "knotd" : "nsd", T.z[i].apex,
				 log);
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	if (signetd_start(&D, NULL) != 0)
		return -1;
	snprintf(T.ns1, sizeof(T.ns1), "%s/ns1.conf", D.dir);
	char conf[2048];
	snprintf(conf, sizeof(conf),
		 "server 127.0.0.1:%d\nserver-name localhost\nca %s/ca.pem\ncert %s/ns1.pem\n"
		 "key %s/ns1.key\ntimeout 120\n", D.port, D.dir, D.dir, D.dir);
	write_text(T.ns1, conf, strlen(conf));
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	assert_non_null(kc);
	assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
	assert_int_equal(EVP_PKEY_keygen(kc, &T.other), 1);
	EVP_PKEY_CTX_free(kc);

	char dir[600], names[64][128];
	const char *only = getenv("SIGNET_CHECK_SHAPES");
	if (only && *only)
		print_message("corpus limited to the shapes %s (SIGNET_CHECK_SHAPES)\n", only);
	snprintf(dir, sizeof(dir), "%s/check/shapes", data_dir());
	size_t n = list_dir(dir, ".zone", names, 64);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		names[i][strlen(names[i]) - 5] = '\0';
		if (!shape_wanted(names[i]))
			continue;
		for (size_t m = 0; m < 3; m++) {
			assert_true(T.nz < ZONES_MAX);
			struct zone *z = &T.z[T.nz++];
			char path[800];
			snprintf(path, sizeof(path), "%.599s/%.127s.zone", dir, names[i]);
			char apex[300];
			snprintf(apex, sizeof(apex), "%.100s.%s.corpus.test.", names[i], modes[m]);
			zone_paths(z, apex);
			sign(z, path, modes[m]);
			shape_names(path, z, modes[m]);
			write_ds(z, NULL);
		}
	}
	snprintf(dir, sizeof(dir), "%s/check/defects", data_dir());
	n = list_dir(dir, ".defect", names, 64);
	for (size_t i = 0; i < n; i++)
		make_defect(names[i]);

	T.nsd_port = (unsigned)signetd_free_port();
	T.knot_port = (unsigned)signetd_free_port();
	write_servers_conf();
	char nsd_conf[400], knot_conf[400], nsd_log[400], knot_log[400];
	snprintf(nsd_conf, sizeof(nsd_conf), "%s/nsd.conf", D.dir);
	snprintf(knot_conf, sizeof(knot_conf), "%s/knot.conf", D.dir);
	snprintf(nsd_log, sizeof(nsd_log), "%s/nsd.out", D.dir);
	snprintf(knot_log, sizeof(knot_log), "%s/knot.log", D.dir);
	const char *nsd[] = {NSD_BIN, "-d", "-c", nsd_conf, NULL};
	const char *knot[] = {KNOTD_BIN, "-c", knot_conf, NULL};
	T.nsd = start(nsd, nsd_log);
	T.knot = start(knot, knot_log);
	wait_serving(T.nsd_port, T.nsd, false, nsd_log);
	wait_serving(T.knot_port, T.knot, true, knot_log);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pid_t p[2] = {T.nsd, T.knot};
	for (int i = 0; i < 2; i++)
		if (p[i] > 0) {
			kill(p[i], SIGTERM);
			waitpid(p[i], NULL, 0);
		}
	EVP_PKEY_free(T.other);
	signetd_stop(&D);
	return signetd_teardown(&D);
}

/* ---- the checks -------------------------------------------------------- */

/* signet check of z on port with its names and extra (NULL-terminated);
 * the output in out, the exit status returned. */
static int check(const struct zone *z, unsigned port, const char *const *extra, sg_buf *out)
{
	char server[40], log[400];
	snprintf(server, sizeof(server), "127.0.0.1:%u", port);
	snprintf(log, sizeof(log), "%s/check.out", D.dir);
	const char *argv[64] = {cli_path(), "check", z->apex, "--server", server, "--ds", z->ds,
				"--probes", "3"};
	size_t n = 9;
	for (size_t i = 0; i < z->nnames; i++) {
		argv[n++] = "--name";
		argv[n++] = z->names[i];
	}
	for (size_t i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	int rc = run(argv, log);
	read_text(log, out);
	if (rc >= 128)
		fail_msg("signet check %s died (signal %d):\n%s", z->apex, rc - 128,
			 (char *)out->data);
	return rc;
}

static void corpus_on(unsigned port, const char *server, int which)
{
	sg_buf out = SG_BUF_INIT;
	size_t bad = 0, checked = 0;
	for (size_t i = 0; i < T.nz; i++) {
		if (T.z[i].defect || T.z[i].off[which])
			continue;
		checked++;
		int rc = check(&T.z[i], port, NULL, &out);
		/* Kept for reading (SIGNET_TEST_KEEP keeps the directory). */
		char keep[700];
		snprintf(keep, sizeof(keep), "%.128s/%.250scheck-%s", D.dir, T.z[i].apex, server);
		write_text(keep, (const char *)out.data, out.len);
		if (rc != 0) {
			bad++;
			print_error("%s from %s: exit %d\n%s\n", T.z[i].apex, server, rc,
				    (char *)out.data);
		}
	}
	print_message("%zu corpus zones checked on %s, %zu not OK\n", checked, server, bad);
	assert_int_equal(bad, 0);
	sg_buf_free(&out);
}

static void test_corpus_nsd(void **state)
{
	(void)state;
	corpus_on(T.nsd_port, "NSD", 0);
}

static void test_corpus_knot(void **state)
{
	(void)state;
	corpus_on(T.knot_port, "knotd", 1);
}

static void defects_on(unsigned port, const char *server, const char *key)
{
	sg_buf out = SG_BUF_INIT, b = SG_BUF_INIT, t = SG_BUF_INIT;
	size_t bad = 0, seen = 0;
	for (size_t i = 0; i < T.nz; i++) {
		const struct zone *z = &T.z[i];
		if (!z->defect)
			continue;
		seen++;
		read_text(z->defect_path, &b);
		sg_buf_reset(&t);
		assert_int_equal(sg_buf_printf(&t, "\n%s", (char *)b.data), SIGNET_OK);
		char args[600], argsub[700], want[600], wantsub[700], exitv[16] = "2";
		const char *extra[24] = {NULL};
		char *save = NULL;
		if (defect_value((char *)t.data, "args", 0, args, sizeof(args))) {
			subst(args, z->apex, argsub, sizeof(argsub));
			size_t k = 0;
			for (char *w = strtok_r(argsub, " ", &save); w && k < 23;
			     w = strtok_r(NULL, " ", &save))
				extra[k++] = w;
		}
		(void)defect_value((char *)t.data, "exit", 0, exitv, sizeof(exitv));
		int rc = check(z, port, extra, &out);
		bool ok = rc == atoi(exitv);
		const char *keys[] = {"expect", key};
		for (size_t j = 0; j < 2; j++)
			for (unsigned k = 0; ok && defect_value((char *)t.data, keys[j], k, want,
								sizeof(want)); k++) {
				subst(want, z->apex, wantsub, sizeof(wantsub));
				if (!strstr((char *)out.data, wantsub)) {
					print_error("%s on %s: no \"%s\"\n", z->defect_path,
						    server, wantsub);
					ok = false;
				}
			}
		if (!ok) {
			bad++;
			print_error("%s on %s: exit %d (wanted %s)\n%s\n", z->defect_path, server,
				    rc, exitv, (char *)out.data);
		}
	}
	print_message("%zu defects checked on %s, %zu not found as they should be\n", seen,
		      server, bad);
	assert_true(seen > 0);
	assert_int_equal(bad, 0);
	sg_buf_free(&out);
	sg_buf_free(&b);
	sg_buf_free(&t);
}

static void test_defects_nsd(void **state)
{
	(void)state;
	defects_on(T.nsd_port, "NSD", "expect-nsd");
}

static void test_defects_knot(void **state)
{
	(void)state;
	defects_on(T.knot_port, "knotd", "expect-knotd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_nsd),
		cmocka_unit_test(test_corpus_knot),
		cmocka_unit_test(test_defects_nsd),
		cmocka_unit_test(test_defects_knot),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
