/* test_store.c -- the state (zones, policies, keys and their states,
 * requests, bundles; surviving a reopen), the same cases on both engines:
 * SQLite and a real PostgreSQL (one cluster for the program, TLS with
 * verify-full); and the hash-chained audit log. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/signer.h"
#include "tests/lib/signetd_pg.h"
#include "tests/lib/tmpdir.h"

static char dir[64];
static pg_cluster pg;
/* The engine the state cases run on: SQLite in dir, or PostgreSQL. */
static signer_state_options opts;

static signer_state *open_store(void)
{
	signer_state *st = NULL;
	assert_int_equal(signer_state_open_options(dir, &opts, &st), SIGNET_OK);
	return st;
}

static int setup(void **state)
{
	(void)state;
	return test_tmpdir_make("signet-store", dir, sizeof(dir));
}

static int teardown(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

static signer_key key(const char *zone, const char *role, uint8_t seed, signer_key_state s)
{
	signer_key k;
	memset(&k, 0, sizeof(k));
	assert_int_equal(dns_name_from_str(&k.zone, zone), SIGNET_OK);
	snprintf(k.role, sizeof(k.role), "%s", role);
	if (strcmp(role, "zsk") == 0) {
		memset(k.id, seed, 16);
		k.id_len = 16;
	}
	k.alg = 13;
	k.key_tag = (uint16_t)(1000 + seed);
	k.state = s;
	k.dnskey[0] = 1;
	k.dnskey[1] = strcmp(role, "ksk") == 0 ? 1 : 0;
	k.dnskey[2] = 3;
	k.dnskey[3] = 13;
	memset(k.dnskey + 4, seed, 64);
	k.dnskey_len = 68;
	k.created = 1000 + seed;
	return k;
}

static void state_cases(void)
{
	signer_state *st = open_store();
	dns_name z, other;
	assert_int_equal(dns_name_from_str(&z, "Example.COM."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&other, "example.org."), SIGNET_OK);
	signer_policy p, q;
	signer_policy_defaults(&p);
	p.denial = SIGNER_DENIAL_NSEC3;
	p.nsec3_salt_len = 2;
	p.nsec3_salt[0] = 0xab;
	p.nsec3_salt[1] = 0xcd;
	p.validity = 5 * 86400;
	signer_key ksk = key("example.com.", "ksk", 1, SIGNER_KEY_PUBLISHED);
	assert_int_equal(signer_state_add_zone(st, &z, &p, &ksk, 1), SIGNET_OK);
	assert_int_equal(signer_state_add_zone(st, &z, &p, NULL, 0), SIGNET_EEXIST);
	assert_int_equal(signer_state_zone_policy(st, &other, &q), SIGNET_ENOTFOUND);
	assert_int_equal(signer_state_zone_policy(st, &z, &q), SIGNET_OK);
	assert_int_equal(q.denial, SIGNER_DENIAL_NSEC3);
	assert_int_equal(q.validity, 5 * 86400);
	assert_int_equal(q.nsec3_salt_len, 2);
	assert_int_equal(q.nsec3_salt[1], 0xcd);
	assert_int_equal(q.keyset_period, p.keyset_period);

	signer_key z1 = key("example.com.", "zsk", 2, SIGNER_KEY_GENERATED);
	signer_key z2 = key("example.com.", "zsk", 3, SIGNER_KEY_GENERATED);
	assert_int_equal(signer_state_add_key(st, &z1), SIGNET_OK);
	assert_int_equal(signer_state_add_key(st, &z2), SIGNET_OK);
	assert_int_equal(signer_state_add_key(st, &z2), SIGNET_EEXIST);

	signer_key *keys = NULL;
	size_t n = 0;
	assert_int_equal(signer_state_list_keys(st, &z, 0, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 3);
	free(keys);
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_ACTIVE, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 0);
	free(keys);

	/* serials and requests */
	uint64_t serial = 0;
	assert_int_equal(signer_state_next_serial(st, &z, &serial), SIGNET_OK);
	assert_int_equal(serial, 1);
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(signer_state_last_request(st, &z, &serial, &text), SIGNET_ENOTFOUND);
	assert_int_equal(signer_state_save_request(st, &z, 1, (const uint8_t *)"req1", 4),
			 SIGNET_OK);
	assert_int_equal(signer_state_save_request(st, &z, 1, (const uint8_t *)"again", 5),
			 SIGNET_EEXIST);
	assert_int_equal(signer_state_next_serial(st, &z, &serial), SIGNET_OK);
	assert_int_equal(serial, 2);
	assert_int_equal(signer_state_save_request(st, &z, 2, (const uint8_t *)"req2", 4),
			 SIGNET_OK);
	assert_int_equal(signer_state_last_request(st, &z, &serial, &text), SIGNET_OK);
	assert_int_equal(serial, 2);
	assert_int_equal(text.len, 4);
	assert_memory_equal(text.data, "req2", 4);

	/* a bundle publishing z2 only: z2 becomes the active ZSK */
	dns_rrset pub;
	dns_rrset_init(&pub, &z, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	assert_int_equal(dns_rrset_add(&pub, ksk.dnskey, ksk.dnskey_len), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&pub, z2.dnskey, z2.dnskey_len), SIGNET_OK);
	assert_int_equal(signer_state_save_bundle(st, &z, 2, (const uint8_t *)"bundle2", 7, &pub),
			 SIGNET_OK);
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_ACTIVE, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	assert_int_equal(keys[0].key_tag, z2.key_tag);
	assert_memory_equal(keys[0].id, z2.id, 16);
	free(keys);
	/* a second bundle publishing z1 too: z2 stays the only active one */
	assert_int_equal(dns_rrset_add(&pub, z1.dnskey, z1.dnskey_len), SIGNET_OK);
	assert_int_equal(signer_state_save_bundle(st, &z, 3, (const uint8_t *)"bundle3", 7, &pub),
			 SIGNET_OK);
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_PUBLISHED, &keys, &n),
			 SIGNET_OK);
	assert_int_equal(n, 2);  /* the KSK and z1 */
	free(keys);
	/* the same serial twice is refused and changes nothing */
	assert_int_equal(signer_state_save_bundle(st, &z, 3, (const uint8_t *)"x", 1, &pub),
			 SIGNET_EEXIST);
	dns_rrset_clear(&pub);

	assert_int_equal(signer_state_set_key_state(st, &z, z2.dnskey, z2.dnskey_len,
						    SIGNER_KEY_RETIRED), SIGNET_OK);
	assert_int_equal(signer_state_set_key_state(st, &other, z2.dnskey, z2.dnskey_len,
						    SIGNER_KEY_RETIRED), SIGNET_ENOTFOUND);
	assert_int_equal(signer_state_set_key_state(st, &z, z2.dnskey, z2.dnskey_len, 9),
			 SIGNET_EINVAL);
	signer_state_close(st);

	/* everything survives a reopen */
	st = open_store();
	sg_buf_reset(&text);
	assert_int_equal(signer_state_bundle(st, &z, &serial, &text), SIGNET_OK);
	assert_int_equal(serial, 3);
	assert_memory_equal(text.data, "bundle3", 7);
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_RETIRED, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	free(keys);
	dns_name *zones = NULL;
	assert_int_equal(signer_state_list_zones(st, &zones, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	assert_true(dns_name_equal(&zones[0], &z));
	free(zones);
	assert_int_equal(signer_state_bundle(st, &other, &serial, &text), SIGNET_ENOTFOUND);
	sg_buf_free(&text);
	/* ZSK backups (schema version 1) */
	signer_backup_row b;
	memset(&b, 0, sizeof(b));
	b.zone = z;
	memcpy(b.id, z2.id, 16);
	b.id_len = 16;
	memset(b.domain_id, 7, HSM_ID_LEN);
	b.text = (const uint8_t *)"backup text";
	b.text_len = 11;
	b.created = 5;
	assert_int_equal(signer_state_put_backup(st, &b), SIGNET_OK);
	assert_int_equal(signer_state_put_backup(st, &b), SIGNET_EEXIST);
	assert_int_equal(signer_state_set_backup_proven(st, z2.id, 16, 99), SIGNET_OK);
	assert_int_equal(signer_state_set_backup_proven(st, z1.id, 16, 99), SIGNET_ENOTFOUND);
	signer_backup_row *rows = NULL;
	assert_int_equal(signer_state_list_backups(st, z2.id, 16, &rows, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].proven, 99);
	assert_int_equal(rows[0].text_len, 11);
	assert_memory_equal(rows[0].text, "backup text", 11);
	assert_true(dns_name_equal(&rows[0].zone, &z));
	signer_backup_rows_free(rows, n);
	assert_int_equal(signer_state_list_backups(st, z1.id, 16, &rows, &n), SIGNET_OK);
	assert_int_equal(n, 0);
	signer_backup_rows_free(rows, n);
	assert_int_equal(signer_state_list_backups(st, NULL, 0, &rows, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	signer_backup_rows_free(rows, n);
	signer_state_close(st);
	assert_string_equal(signer_key_state_name(SIGNER_KEY_ACTIVE), "active");
}

static void test_state_sqlite(void **state)
{
	(void)state;
	memset(&opts, 0, sizeof(opts));
	opts.backend = SIGNER_STATE_SQLITE;
	state_cases();
	signer_state *st = NULL;
	assert_int_equal(signer_state_open("/nonexistent/dir", &st), SIGNET_EIO);
}

static void test_state_pg(void **state)
{
	(void)state;
	static int n;
	char db[32];
	snprintf(db, sizeof(db), "store%d", n++);
	pg_cluster_createdb(&pg, db);
	memset(&opts, 0, sizeof(opts));
	opts.backend = SIGNER_STATE_POSTGRESQL;
	snprintf(opts.conninfo_file, sizeof(opts.conninfo_file), "%s/pg.conninfo", dir);
	pg_cluster_conninfo(&pg, db, opts.conninfo_file, NULL);
	state_cases();
	char out[64];
	assert_true(pg_cluster_sql(&pg, db, "SELECT value FROM meta WHERE name = "
				   "'schema_version'", out, sizeof(out)));
	assert_string_equal(out, "1");
}

static int group_setup(void **state)
{
	(void)state;
	return pg_cluster_start(&pg);
}

static int group_teardown(void **state)
{
	(void)state;
	pg_cluster_destroy(&pg);
	return 0;
}

static void test_audit(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	signer_audit *a = NULL;
	assert_int_equal(signer_audit_open(path, &a), SIGNET_OK);
	assert_int_equal(signer_audit_append(a, "admin@x", "AddZone", "example.com.",
					     "ksk=15/123", "ok"), SIGNET_OK);
	assert_int_equal(signer_audit_append(a, "evil\"\n\\", "ListKeys", NULL, NULL,
					     "status 7: no"), SIGNET_OK);
	signer_audit_close(a);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* the chain continues across a reopen */
	assert_int_equal(signer_audit_open(path, &a), SIGNET_OK);
	assert_int_equal(signer_audit_append(a, "admin@x", "GenerateZsk", "example.com.",
					     "zsk=13/4", "ok"), SIGNET_OK);
	signer_audit_close(a);
	size_t lines = 0, bad = 0;
	assert_int_equal(signer_audit_verify(path, &lines, &bad), SIGNET_OK);
	assert_int_equal(lines, 3);

	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	const char *s = (const char *)b.data;
	/* escaped, one object per line, the first chained to zeros */
	assert_non_null(strstr(s, "\"client\":\"evil\\\"\\u000a\\\\\""));
	assert_non_null(strstr(s, "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
	assert_non_null(strstr(s, "\"zone\":\"\""));

	/* change one octet of line 2: verification names line 3 */
	char *second = strchr(s, '\n') + 1;
	char *victim = strstr(second, "ListKeys");
	assert_non_null(victim);
	victim[0] = 'l';
	assert_int_equal(sg_file_write_atomic(path, b.data, b.len - 1, 0600), SIGNET_OK);
	assert_int_equal(signer_audit_verify(path, &lines, &bad), SIGNET_EVERIFY);
	assert_int_equal(bad, 3);
	assert_int_equal(lines, 2);

	/* a torn last line is refused at open */
	assert_int_equal(sg_file_write_atomic(path, b.data, b.len - 2, 0600), SIGNET_OK);
	assert_int_equal(signer_audit_open(path, &a), SIGNET_EVERIFY);
	assert_int_equal(signer_audit_verify(path, &lines, &bad), SIGNET_EVERIFY);
	sg_buf_free(&b);
	assert_int_equal(signer_audit_append(NULL, "a", "b", NULL, NULL, "c"), SIGNET_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_sqlite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_pg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
