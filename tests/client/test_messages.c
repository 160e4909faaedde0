/* test_messages.c -- the client's typed layer over signet.proto
 * (client/messages.c) and how commands show keys and times (client/show.c):
 * what a packed SignRequest carries, what an answer from the server is
 * turned into, and the answers refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client.h"
#include "dnssec/dnssec.h"
#include "proto/signet.pb-c.h"

static void make_set(dns_rrset *s, const char *owner, uint16_t type, uint32_t ttl,
		     const char *const *rdata, size_t n)
{
	dns_name name;
	assert_int_equal(dns_name_from_str(&name, owner), SIGNET_OK);
	dns_rrset_init(s, &name, type, DNS_CLASS_IN, ttl);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dns_rrset_add(s, (const uint8_t *)rdata[i], strlen(rdata[i])),
				 SIGNET_OK);
}

static void test_request_carries_every_set(void **state)
{
	(void)state;
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, "example.test."), SIGNET_OK);
	dns_rrset a, b;
	make_set(&a, "www.example.test.", DNS_T_A, 300, (const char *const[]){"\x01\x02\x03\x04",
									      "\x05\x06\x07\x08"}, 2);
	make_set(&b, "example.test.", DNS_T_TXT, 60, (const char *const[]){"\x02hi"}, 1);
	const dns_rrset *sets[2] = {&a, &b};
	uint8_t *req = NULL;
	size_t len = 0;
	assert_int_equal(client_sign_request_pack(&zone, sets, 2, &req, &len), SIGNET_OK);
	Signet__V1__SignRequest *m = signet__v1__sign_request__unpack(NULL, len, req);
	assert_non_null(m);
	assert_memory_equal(m->zone.data, zone.wire, zone.len);
	assert_int_equal(m->n_rrsets, 2);
	assert_null(m->window);
	for (size_t i = 0; i < 2; i++) {
		const Signet__V1__RRset *r = m->rrsets[i];
		assert_int_equal(r->owner.len, sets[i]->owner.len);
		assert_memory_equal(r->owner.data, sets[i]->owner.wire, r->owner.len);
		assert_int_equal(r->type, sets[i]->type);
		assert_int_equal(r->rclass, DNS_CLASS_IN);
		assert_int_equal(r->ttl, sets[i]->ttl);
		assert_int_equal(r->n_rdata, sets[i]->count);
		for (size_t k = 0; k < r->n_rdata; k++) {
			assert_int_equal(r->rdata[k].len, sets[i]->rr[k].len);
			assert_memory_equal(r->rdata[k].data, sets[i]->rr[k].data, r->rdata[k].len);
		}
	}
	signet__v1__sign_request__free_unpacked(m, NULL);
	free(req);
	/* No sets is an empty request, not an error. */
	assert_int_equal(client_sign_request_pack(&zone, NULL, 0, &req, &len), SIGNET_OK);
	free(req);
	assert_int_equal(client_sign_request_pack(NULL, sets, 2, &req, &len), SIGNET_EINVAL);
	dns_rrset_clear(&a);
	dns_rrset_clear(&b);
}

/* Pack a SignResponse of n results built by the caller. */
static uint8_t *pack_answer(Signet__V1__SignResult **res, size_t n, size_t *len)
{
	Signet__V1__SignResponse r = SIGNET__V1__SIGN_RESPONSE__INIT;
	r.results = res;
	r.n_results = n;
	*len = signet__v1__sign_response__get_packed_size(&r);
	uint8_t *buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	signet__v1__sign_response__pack(&r, buf);
	return buf;
}

static void test_answer_items(void **state)
{
	(void)state;
	uint8_t sig1[] = {1, 2, 3}, sig2[] = {4, 5};
	ProtobufCBinaryData sigs[2] = {{sizeof(sig1), sig1}, {sizeof(sig2), sig2}};
	Signet__V1__SignResult r0 = SIGNET__V1__SIGN_RESULT__INIT, r1 = SIGNET__V1__SIGN_RESULT__INIT,
			       r2 = SIGNET__V1__SIGN_RESULT__INIT, r3 = SIGNET__V1__SIGN_RESULT__INIT;
	r0.index = 0;
	r0.status = SIGNET__V1__ITEM_STATUS__ITEM_SIGNED;
	r0.rrsig = sigs;
	r0.n_rrsig = 2;
	r1.index = 1;
	r1.status = SIGNET__V1__ITEM_STATUS__ITEM_FAILED;
	r1.code = 3;
	r1.message = "rrsets[1].rdata[0]: malformed";
	r2.index = 2;
	r2.status = SIGNET__V1__ITEM_STATUS__ITEM_NOT_SIGNED;
	r3.index = 3;
	r3.status = 7;   /* a status this client does not know */
	Signet__V1__SignResult *res[4] = {&r0, &r1, &r2, &r3};
	size_t len;
	uint8_t *buf = pack_answer(res, 4, &len);
	client_sign_answer a;
	assert_int_equal(client_sign_answer_unpack(buf, len, &a), SIGNET_OK);
	assert_int_equal(a.count, 4);
	assert_int_equal(a.items[0].status, CLIENT_ITEM_SIGNED);
	assert_int_equal(a.items[0].nrrsig, 2);
	assert_int_equal(a.items[0].rrsig[0].len, sizeof(sig1));
	assert_memory_equal(a.items[0].rrsig[0].data, sig1, sizeof(sig1));
	assert_int_equal(a.items[0].rrsig[1].len, sizeof(sig2));
	assert_memory_equal(a.items[0].rrsig[1].data, sig2, sizeof(sig2));
	assert_string_equal(a.items[0].message, "");
	assert_int_equal(a.items[1].status, CLIENT_ITEM_FAILED);
	assert_int_equal(a.items[1].code, 3);
	assert_string_equal(a.items[1].message, "rrsets[1].rdata[0]: malformed");
	assert_int_equal(a.items[1].nrrsig, 0);
	assert_int_equal(a.items[2].status, CLIENT_ITEM_NOT_SIGNED);
	assert_int_equal(a.items[3].status, CLIENT_ITEM_UNSPECIFIED);
	assert_int_equal(a.items[3].index, 3);
	client_sign_answer_free(&a);
	client_sign_answer_free(&a);   /* freeing twice is harmless */
	free(buf);
}

static void test_answers_refused(void **state)
{
	(void)state;
	client_sign_answer a;
	/* Not a SignResponse: field 1 says 200 octets follow, 2 do. */
	static const uint8_t junk[] = {0x0a, 0xc8, 0x01, 0x08, 0x01};
	assert_int_equal(client_sign_answer_unpack(junk, sizeof(junk), &a), SIGNET_EPARSE);
	assert_null(a.items);
	client_sign_answer_free(&a);
	/* An RRSIG no RDATA can hold. */
	size_t big = DNS_RDATA_MAX + 1;
	uint8_t *huge = calloc(1, big);
	assert_non_null(huge);
	ProtobufCBinaryData sig = {big, huge};
	Signet__V1__SignResult r = SIGNET__V1__SIGN_RESULT__INIT;
	r.status = SIGNET__V1__ITEM_STATUS__ITEM_SIGNED;
	r.rrsig = &sig;
	r.n_rrsig = 1;
	Signet__V1__SignResult *res[1] = {&r};
	size_t len;
	uint8_t *buf = pack_answer(res, 1, &len);
	assert_int_equal(client_sign_answer_unpack(buf, len, &a), SIGNET_EPARSE);
	client_sign_answer_free(&a);
	free(buf);
	free(huge);
	/* An empty answer is an answer with no results. */
	assert_int_equal(client_sign_answer_unpack(NULL, 0, &a), SIGNET_OK);
	assert_int_equal(a.count, 0);
	client_sign_answer_free(&a);
	assert_int_equal(client_sign_answer_unpack(NULL, 5, &a), SIGNET_EINVAL);
}

static void test_span_text(void **state)
{
	(void)state;
	static const struct {
		int64_t s;
		const char *text;
	} cases[] = {
		{0, "0s"},        {45, "45s"},          {-45, "45s"},       {59, "59s"},
		{60, "1m 0s"},    {2710, "45m 10s"},    {3599, "59m 59s"},  {3600, "1h 0m"},
		{86399, "23h 59m"}, {86400, "1d 0h"},   {183600, "2d 3h"},  {-183600, "2d 3h"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[32];
		client_span_text(cases[i].s, out, sizeof(out));
		assert_string_equal(out, cases[i].text);
	}
	char small[4];
	client_span_text(183600, small, sizeof(small));
	assert_string_equal(small, "2d ");   /* cut, still terminated */
}

static void test_time_and_states(void **state)
{
	(void)state;
	char out[32];
	client_time_text(0, out, sizeof(out));
	assert_string_equal(out, "-");
	client_time_text(-5, out, sizeof(out));
	assert_string_equal(out, "-");
	client_time_text(1777636800, out, sizeof(out));
	assert_string_equal(out, "2026-05-01T12:00:00Z");
	assert_string_equal(client_key_state_name(CLIENT_KEY_GENERATED), "generated");
	assert_string_equal(client_key_state_name(CLIENT_KEY_PUBLISHED), "published");
	assert_string_equal(client_key_state_name(CLIENT_KEY_ACTIVE), "active");
	assert_string_equal(client_key_state_name(CLIENT_KEY_RETIRED), "retired");
	assert_string_equal(client_key_state_name(CLIENT_KEY_REMOVED), "removed");
	assert_string_equal(client_key_state_name(CLIENT_KEY_UNKNOWN), "unknown");
	assert_string_equal(client_key_state_name((client_key_state)99), "unknown");
}

/* The three ways a key is printed, read back through a temporary file. */
static void test_print_key(void **state)
{
	(void)state;
	client_key k;
	memset(&k, 0, sizeof(k));
	assert_int_equal(dns_name_from_str(&k.zone, "example.test."), SIGNET_OK);
	k.zone_ok = true;
	snprintf(k.role, sizeof(k.role), "zsk");
	k.id[0] = 0xab;
	k.id[1] = 0x01;
	k.id_len = 2;
	k.algorithm = 13;
	k.key_tag = 4711;
	k.state = CLIENT_KEY_ACTIVE;
	k.created = 1777636800;
	/* DNSKEY RDATA: flags 256, protocol 3, algorithm 13, a 64-octet key. */
	uint8_t dk[68] = {0x01, 0x00, 3, 13};
	for (size_t i = 4; i < sizeof(dk); i++)
		dk[i] = (uint8_t)i;
	k.dnskey = dk;
	k.dnskey_len = sizeof(dk);
	FILE *f = tmpfile();
	assert_non_null(f);
	client_print_key(f, &k, CLIENT_KEY_AS_LINE, "generated");
	client_print_key(f, &k, CLIENT_KEY_AS_ROW, NULL);
	client_print_key(f, &k, CLIENT_KEY_AS_DNSKEY, NULL);
	k.zone_ok = false;
	k.id_len = 0;
	k.backup = 4; /* BACKUP_PROVEN */
	client_print_key(f, &k, CLIENT_KEY_AS_ROW, NULL);
	client_print_key(f, &k, CLIENT_KEY_AS_DNSKEY, NULL);   /* prints nothing */
	rewind(f);
	char line[512];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "generated: zsk algorithm 13 tag 4711 state active id ab01\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "example.test.            zsk   13  4711 active    "
				  "2026-05-01T12:00:00Z ab01                             -\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "example.test."));
	assert_non_null(strstr(line, "\tDNSKEY\t256 3 13 "));
	assert_non_null(strstr(line, " ; zsk active tag 4711\n"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "?                        zsk   13  4711 active    "
				  "2026-05-01T12:00:00Z -                                proven\n");
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_carries_every_set),
		cmocka_unit_test(test_answer_items),
		cmocka_unit_test(test_answers_refused),
		cmocka_unit_test(test_span_text),
		cmocka_unit_test(test_time_and_states),
		cmocka_unit_test(test_print_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
