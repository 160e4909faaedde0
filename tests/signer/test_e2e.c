/* test_e2e.c -- a real signetd on 127.0.0.1: a test PKI made with the
 * openssl command, a SoftHSM2 token, a software KSK in the ceremony's place,
 * and a gRPC client that signs, reads the key set, is refused where it
 * should be, reloads the ACL with SIGHUP and stops the daemon with SIGTERM. */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

/* The daemon, and what the tests learn on the way. */
static signetd_env D;
static struct {
	rpc_conn *cnonly, *stranger;  /* more clients than D's admin and signer */
	uint8_t zsk_dnskey[SIGNER_DNSKEY_MAX];
	size_t zsk_dnskey_len;
} E;

/* The configuration of every signetd here: ns1.test may sign the zones in
 * ns1_zones (the inside of a libconfig list), cnonly.test example.com;
 * small limits, so the tests can reach them. */
static signetd_opts opts_for(const char *ns1_zones, bool tls12)
{
	static char clients[512];
	snprintf(clients, sizeof(clients),
		 "  { identity = \"ns1.test\"; role = \"signer\"; zones = [ %s ]; },\n"
		 "  { identity = \"cnonly.test\"; role = \"signer\"; zones = [ \"example.com\" ];\n"
		 "    allow-cn = true; },\n"
		 "  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; }\n",
		 ns1_zones);
	signetd_opts o = {.clients = clients, .tls12 = tls12,
			  .extra = "max-rrsets = 50;\nmax-message = 65536;\n"};
	return o;
}

static rpc_conn *conn(const char *who)
{
	rpc_conn *c = signetd_connect(&D, who);
	assert_non_null(c);
	return c;
}

static ProtobufCBinaryData wire(const char *name, dns_name *store)
{
	assert_int_equal(dns_name_from_str(store, name), SIGNET_OK);
	ProtobufCBinaryData b = {store->len, store->wire};
	return b;
}

static int setup(void **state)
{
	(void)state;
	memset(&E, 0, sizeof(E));
	signetd_opts o = opts_for("\"example.com\"", false);
	if (signetd_start(&D, &o) != 0)
		return -1;
	E.cnonly = signetd_connect(&D, "cnonly");
	E.stranger = signetd_connect(&D, "stranger");
	return E.cnonly && E.stranger ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rpc_close(E.cnonly);
	rpc_close(E.stranger);
	return signetd_teardown(&D);
}

/* ---- administration ---------------------------------------------------- */

static void admin_setup_zone(void)
{
	char det[512];
	dns_name z, z2;
	/* example.com with the software KSK */
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	az.zone = wire("example.com.", &z);
	ProtobufCBinaryData kd = {D.ksk.dnskey_len, D.ksk.dnskey};
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	assert_int_equal(rpc_call_msg(D.signer, "AddZone", &az.base, det, sizeof(det), NULL),
			 GRPC_STATUS_PERMISSION_DENIED);
	assert_non_null(strstr(det, "not an admin"));
	assert_int_equal(rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL),
			 GRPC_STATUS_OK);
	assert_int_equal(rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL),
			 GRPC_STATUS_ALREADY_EXISTS);
	/* a bad policy names its field */
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.validity = 60;
	az.zone = wire("example.org.", &z2);
	az.policy = &pol;
	assert_int_equal(rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL),
			 GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(det, "policy.validity"));
	/* a ZSK-flagged key is no KSK */
	uint8_t notksk[64];
	memcpy(notksk, D.ksk.dnskey, D.ksk.dnskey_len);
	notksk[1] &= (uint8_t)~DNS_DNSKEY_FLAG_SEP;
	ProtobufCBinaryData bad = {D.ksk.dnskey_len, notksk};
	az.policy = NULL;
	az.ksk_dnskey = &bad;
	assert_int_equal(rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL),
			 GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(det, "ksk_dnskey[0]"));
	az.ksk_dnskey = &kd;
	assert_int_equal(rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL),
			 GRPC_STATUS_OK);

	/* no ZSK yet: nothing signs */
	Signet__V1__GenerateZskRequest gz = SIGNET__V1__GENERATE_ZSK_REQUEST__INIT;
	gz.zone = wire("example.com.", &z);
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(D.admin, "GenerateZsk", &gz.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__GenerateZskResponse *gr =
		signet__v1__generate_zsk_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(gr);
	assert_non_null(gr->key);
	assert_int_equal(gr->key->state, SIGNET__V1__KEY_STATE__KEY_GENERATED);
	assert_int_equal(gr->key->algorithm, 13);
	assert_int_equal(gr->key->id.len, HSM_ID_LEN);
	assert_true(gr->key->dnskey.len <= sizeof(E.zsk_dnskey));
	memcpy(E.zsk_dnskey, gr->key->dnskey.data, gr->key->dnskey.len);
	E.zsk_dnskey_len = gr->key->dnskey.len;
	signet__v1__generate_zsk_response__free_unpacked(gr, NULL);

	/* the ZSK is not active before a bundle publishes it */
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	Signet__V1__RRset rs = SIGNET__V1__RRSET__INIT;
	Signet__V1__RRset *rsp = &rs;
	dns_name own;
	uint8_t a[4] = {192, 0, 2, 1};
	ProtobufCBinaryData ard = {4, a};
	rs.owner = wire("www.example.com.", &own);
	rs.type = DNS_T_A;
	rs.rclass = 1;
	rs.ttl = 300;
	rs.n_rdata = 1;
	rs.rdata = &ard;
	sr.zone = wire("example.com.", &z);
	sr.n_rrsets = 1;
	sr.rrsets = &rsp;
	assert_int_equal(rpc_call_msg(D.signer, "SignRRsets", &sr.base, det, sizeof(det), NULL),
			 GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(det, "no active ZSK"));

	/* request -> software ceremony -> bundle */
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = wire("example.com.", &z);
	er.days = 0;
	assert_int_equal(rpc_call_msg(D.admin, "ExportKeySigningRequest", &er.base, det, sizeof(det), NULL),
			 GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(det, "days"));
	er.days = 14;
	sg_buf_reset(&resp);
	assert_int_equal(rpc_call_msg(D.admin, "ExportKeySigningRequest", &er.base, det, sizeof(det),
			      &resp), GRPC_STATUS_OK);
	Signet__V1__ExportKeySigningRequestResponse *ex =
		signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ex);
	assert_int_equal(ex->serial, 1);
	sg_buf bundle = SG_BUF_INIT;
	test_ksk_make_bundle(&D.ksk, ex->request.data, ex->request.len, &bundle);
	signet__v1__export_key_signing_request_response__free_unpacked(ex, NULL);

	Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	ib.zone = wire("example.com.", &z);
	/* a bundle by another KSK is refused */
	test_ksk rogue;
	test_ksk_new(&rogue);
	sg_buf rb = SG_BUF_INIT;
	sg_buf_reset(&resp);
	er.days = 14;
	assert_int_equal(rpc_call_msg(D.admin, "ExportKeySigningRequest", &er.base, det, sizeof(det),
			      &resp), GRPC_STATUS_OK);
	ex = signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ex);
	assert_int_equal(ex->serial, 2);
	test_ksk_make_bundle(&rogue, ex->request.data, ex->request.len, &rb);
	sg_buf_reset(&bundle);
	test_ksk_make_bundle(&D.ksk, ex->request.data, ex->request.len, &bundle);
	signet__v1__export_key_signing_request_response__free_unpacked(ex, NULL);
	ib.bundle.data = rb.data;
	ib.bundle.len = rb.len;
	assert_int_equal(rpc_call_msg(D.admin, "ImportKeyBundle", &ib.base, det, sizeof(det), NULL),
			 GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(det, "does not verify"));
	test_ksk_free(&rogue);
	sg_buf_free(&rb);
	/* garbage is refused with the line */
	ib.bundle.data = (uint8_t *)"$SIGNET-KEYSET 9 what\n";
	ib.bundle.len = strlen("$SIGNET-KEYSET 9 what\n");
	assert_int_equal(rpc_call_msg(D.admin, "ImportKeyBundle", &ib.base, det, sizeof(det), NULL),
			 GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(det, "line"));
	/* the good one */
	ib.bundle.data = bundle.data;
	ib.bundle.len = bundle.len;
	sg_buf_reset(&resp);
	assert_int_equal(rpc_call_msg(D.admin, "ImportKeyBundle", &ib.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__ImportKeyBundleResponse *ir =
		signet__v1__import_key_bundle_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ir);
	assert_int_equal(ir->serial, 2);
	assert_int_equal(ir->periods, 2);
	assert_int_equal(ir->n_activated, 1);
	assert_int_equal(ir->activated[0]->state, SIGNET__V1__KEY_STATE__KEY_ACTIVE);
	signet__v1__import_key_bundle_response__free_unpacked(ir, NULL);
	/* importing it twice is refused by the store */
	assert_int_equal(rpc_call_msg(D.admin, "ImportKeyBundle", &ib.base, det, sizeof(det), NULL),
			 GRPC_STATUS_ALREADY_EXISTS);
	sg_buf_free(&bundle);

	/* ListKeys */
	Signet__V1__ListKeysRequest lk = SIGNET__V1__LIST_KEYS_REQUEST__INIT;
	sg_buf_reset(&resp);
	assert_int_equal(rpc_call_msg(D.admin, "ListKeys", &lk.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__ListKeysResponse *lr =
		signet__v1__list_keys_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(lr);
	assert_int_equal(lr->n_keys, 3);  /* KSK of each zone and the ZSK */
	size_t active = 0;
	for (size_t i = 0; i < lr->n_keys; i++)
		if (lr->keys[i]->state == SIGNET__V1__KEY_STATE__KEY_ACTIVE) {
			active++;
			assert_string_equal(lr->keys[i]->role, "zsk");
		}
	assert_int_equal(active, 1);
	signet__v1__list_keys_response__free_unpacked(lr, NULL);
	assert_int_equal(rpc_call_msg(D.signer, "ListKeys", &lk.base, det, sizeof(det), NULL),
			 GRPC_STATUS_PERMISSION_DENIED);
	sg_buf_free(&resp);
}

/* ---- signing ----------------------------------------------------------- */

typedef struct batch_items {
	Signet__V1__RRset rs[9];
	Signet__V1__RRset *rp[9];
	dns_name owners[9];
	ProtobufCBinaryData rd[9][2];
	uint8_t a1[4], a2[4], txt[6], short_aaaa[3], ns[11];
} batch_items;

static void set_item(batch_items *b, int i, const char *owner, uint32_t type, uint32_t cls,
		     const uint8_t *rd, size_t len)
{
	signet__v1__rrset__init(&b->rs[i]);
	b->rs[i].owner = wire(owner, &b->owners[i]);
	b->rs[i].type = type;
	b->rs[i].rclass = cls;
	b->rs[i].ttl = 300;
	b->rd[i][0].data = (uint8_t *)rd;
	b->rd[i][0].len = len;
	b->rs[i].rdata = b->rd[i];
	b->rs[i].n_rdata = 1;
	b->rp[i] = &b->rs[i];
}

static void build_batch(batch_items *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->a1, (uint8_t[]){192, 0, 2, 1}, 4);
	memcpy(b->a2, (uint8_t[]){192, 0, 2, 2}, 4);
	memcpy(b->txt, (uint8_t[]){5, 'h', 'e', 'l', 'l', 'o'}, 6);
	memcpy(b->ns, (uint8_t[]){3, 'n', 's', '1', 5, 'o', 't', 'h', 'e', 'r', 0}, 11);
	set_item(b, 0, "www.example.com.", DNS_T_A, 1, b->a1, 4);
	b->rd[0][1].data = b->a2;
	b->rd[0][1].len = 4;
	b->rs[0].n_rdata = 2;
	set_item(b, 1, "example.com.", DNS_T_TXT, 0, b->txt, 6);
	set_item(b, 2, "example.com.", DNS_T_DNSKEY, 1, E.zsk_dnskey, E.zsk_dnskey_len);
	set_item(b, 3, "www.example.net.", DNS_T_A, 1, b->a1, 4);
	set_item(b, 4, "child.example.com.", DNS_T_NS, 1, b->ns, 11);
	set_item(b, 5, "www.example.com.", DNS_T_AAAA, 1, b->short_aaaa, 3);
	set_item(b, 6, "www.example.com.", DNS_T_A, 3, b->a1, 4);
	set_item(b, 7, "www.example.com.", 70000, 1, b->a1, 4);
	set_item(b, 8, "example.com.", DNS_T_DS, 1, b->a1, 4);
}

static dns_rrset item_set(const Signet__V1__RRset *r)
{
	dns_rrset s;
	dns_name own;
	assert_int_equal(dns_name_from_wire(&own, r->owner.data, r->owner.len, NULL), SIGNET_OK);
	dns_rrset_init(&s, &own, (uint16_t)r->type, DNS_CLASS_IN, r->ttl);
	for (size_t i = 0; i < r->n_rdata; i++)
		assert_int_equal(dns_rrset_add(&s, r->rdata[i].data, r->rdata[i].len), SIGNET_OK);
	return s;
}

static Signet__V1__SignResponse *sign(rpc_conn *c, const Signet__V1__SignRequest *sr,
				      grpc_status_code want, char *det, size_t dlen)
{
	sg_buf resp = SG_BUF_INIT;
	grpc_status_code st = rpc_call_msg(c, "SignRRsets", &sr->base, det, dlen, &resp);
	if (st != want)
		fail_msg("SignRRsets: status %d (%s), wanted %d", (int)st, det, (int)want);
	Signet__V1__SignResponse *r = NULL;
	if (st == GRPC_STATUS_OK) {
		r = signet__v1__sign_response__unpack(NULL, resp.len, resp.data);
		assert_non_null(r);
	}
	sg_buf_free(&resp);
	return r;
}

static void check_failed(const Signet__V1__SignResult *r, const char *field)
{
	assert_int_equal(r->status, SIGNET__V1__ITEM_STATUS__ITEM_FAILED);
	assert_int_equal(r->code, GRPC_STATUS_INVALID_ARGUMENT);
	if (strcmp(r->field, field) != 0 || strncmp(r->message, field, strlen(field)) != 0)
		fail_msg("item %u: field '%s' message '%s', wanted %s", r->index, r->field,
			 r->message, field);
	assert_int_equal(r->n_rrsig, 0);
}

static void test_sign(void **state)
{
	(void)state;
	admin_setup_zone();
	char det[512];
	batch_items b;
	build_batch(&b);
	dns_name z;
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	sr.zone = wire("example.com.", &z);
	sr.n_rrsets = 9;
	sr.rrsets = b.rp;
	uint32_t now = (uint32_t)time(NULL);
	Signet__V1__SignResponse *r = sign(D.signer, &sr, GRPC_STATUS_OK, det, sizeof(det));
	assert_int_equal(r->n_results, 9);
	for (int i = 0; i < 2; i++) {
		const Signet__V1__SignResult *res = r->results[i];
		assert_int_equal(res->index, i);
		assert_int_equal(res->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
		assert_int_equal(res->n_rrsig, 1);
		dns_rrsig sig;
		assert_int_equal(dns_rrsig_from_rdata(&sig, res->rrsig[0].data, res->rrsig[0].len),
				 SIGNET_OK);
		dns_rrset s = item_set(b.rp[i]);
		assert_int_equal(dns_rrsig_verify(&sig, &s, E.zsk_dnskey, E.zsk_dnskey_len, &z, now),
				 SIGNET_OK);
		/* policy window: back-dated, about 14 days */
		assert_true(sig.inception <= now - 3600);
		assert_true(sig.expiration > now + 10 * 86400);
		dns_rrset_clear(&s);
	}
	check_failed(r->results[2], "rrsets[2].type");
	check_failed(r->results[3], "rrsets[3].owner");
	assert_int_equal(r->results[4]->status, SIGNET__V1__ITEM_STATUS__ITEM_NOT_SIGNED);
	assert_int_equal(r->results[4]->n_rrsig, 0);
	check_failed(r->results[5], "rrsets[5].rdata[0]");
	check_failed(r->results[6], "rrsets[6].rclass");
	check_failed(r->results[7], "rrsets[7].type");
	check_failed(r->results[8], "rrsets[8].type");

	/* the same batch again: identical RRSIGs (cache and deterministic window) */
	Signet__V1__SignResponse *r2 = sign(D.signer, &sr, GRPC_STATUS_OK, det, sizeof(det));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r2->results[i]->rrsig[0].len, r->results[i]->rrsig[0].len);
		assert_memory_equal(r2->results[i]->rrsig[0].data, r->results[i]->rrsig[0].data,
				    r->results[i]->rrsig[0].len);
	}
	signet__v1__sign_response__free_unpacked(r2, NULL);
	signet__v1__sign_response__free_unpacked(r, NULL);

	/* a CN-only certificate is identified by its CN */
	sr.n_rrsets = 1;
	r = sign(E.cnonly, &sr, GRPC_STATUS_OK, det, sizeof(det));
	assert_int_equal(r->results[0]->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
	signet__v1__sign_response__free_unpacked(r, NULL);

	/* an explicit window within bounds is used as given */
	Signet__V1__Window win = SIGNET__V1__WINDOW__INIT;
	win.inception = now - 600;
	win.expiration = now + 3 * 86400;
	sr.window = &win;
	r = sign(D.signer, &sr, GRPC_STATUS_OK, det, sizeof(det));
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_from_rdata(&sig, r->results[0]->rrsig[0].data,
					      r->results[0]->rrsig[0].len), SIGNET_OK);
	assert_int_equal(sig.inception, win.inception);
	assert_int_equal(sig.expiration, win.expiration);
	signet__v1__sign_response__free_unpacked(r, NULL);
	win.expiration = now + 200 * 86400;
	sign(D.signer, &sr, GRPC_STATUS_INVALID_ARGUMENT, det, sizeof(det));
	assert_non_null(strstr(det, "window:"));
	sr.window = NULL;

	/* zone the client may not sign; unknown identity; bad zone */
	dns_name other;
	sr.zone = wire("example.org.", &other);
	sign(D.signer, &sr, GRPC_STATUS_PERMISSION_DENIED, det, sizeof(det));
	assert_non_null(strstr(det, "may not sign zone example.org."));
	sr.zone = wire("example.com.", &z);
	sign(E.stranger, &sr, GRPC_STATUS_PERMISSION_DENIED, det, sizeof(det));
	assert_non_null(strstr(det, "stranger.test"));
	uint8_t badzone[3] = {5, 'a', 'b'};
	sr.zone.data = badzone;
	sr.zone.len = 3;
	sign(D.signer, &sr, GRPC_STATUS_INVALID_ARGUMENT, det, sizeof(det));
	assert_non_null(strstr(det, "zone"));
	sr.zone = wire("example.com.", &z);

	/* more RRsets than max-rrsets (50) */
	Signet__V1__RRset *many[51];
	for (int i = 0; i < 51; i++)
		many[i] = b.rp[0];
	sr.rrsets = many;
	sr.n_rrsets = 51;
	sign(D.signer, &sr, GRPC_STATUS_INVALID_ARGUMENT, det, sizeof(det));
	assert_non_null(strstr(det, "rrsets: 51 RRsets, more than 50"));
	sr.n_rrsets = 0;
	sign(D.signer, &sr, GRPC_STATUS_INVALID_ARGUMENT, det, sizeof(det));
	assert_non_null(strstr(det, "empty"));

	/* a message over max-message (64 KiB) never reaches the handler */
	static uint8_t big[65000];
	ProtobufCBinaryData bigrd[2] = {{sizeof(big), big}, {sizeof(big), big}};
	Signet__V1__RRset bigset = *b.rp[1];
	bigset.rdata = bigrd;
	bigset.n_rdata = 2;
	Signet__V1__RRset *bp = &bigset;
	sr.rrsets = &bp;
	sr.n_rrsets = 1;
	sign(D.signer, &sr, GRPC_STATUS_RESOURCE_EXHAUSTED, det, sizeof(det));

	/* malformed protobuf and a call with no message */
	grpc_status_code st;
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
	assert_int_equal(rpc_call(D.signer, RPC_SVC "SignRRsets", junk, sizeof(junk), &st, det,
				  sizeof(det), NULL), SIGNET_OK);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	assert_non_null(strstr(det, "malformed"));
	assert_int_equal(rpc_call(D.signer, RPC_SVC "SignRRsets", junk, 0, &st, det, sizeof(det),
				  NULL), SIGNET_OK);
	assert_int_equal(st, GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(rpc_call(D.signer, RPC_SVC "NoSuchMethod", junk, 0, &st, det, sizeof(det),
				  NULL), SIGNET_OK);
	assert_int_equal(st, GRPC_STATUS_UNIMPLEMENTED);
}

/* ---- key set and health ------------------------------------------------ */

/* The client library's pipeline with a bounded wait (client_next_wait, what
 * a paced caller uses): nothing in flight, a wait that ends before the
 * answer, then the answer. */
static void test_pipeline_wait(void **state)
{
	(void)state;
	rpc_conn *r = signetd_connect(&D, "ns1");
	assert_non_null(r);
	client_conn *c = rpc_client(r);

	void *tag = NULL;
	client_status st;
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(client_next_wait(c, 0, &tag, &st, &resp), SIGNET_ENOTFOUND);
	assert_int_equal(client_next_wait(c, -1, &tag, &st, &resp), SIGNET_EINVAL);
	/* No answer crosses TLS to signetd and back in no time at all. */
	for (int i = 0; i < 3; i++) {
		uint8_t *req = malloc(1);
		assert_non_null(req);
		assert_int_equal(client_start(c, CLIENT_SVC "Health", req, 0,
					      (void *)(uintptr_t)(i + 1)),
				 SIGNET_OK);
	}
	assert_int_equal(client_next_wait(c, 0, &tag, &st, &resp), SIGNET_ETIME);
	assert_int_equal(client_inflight(c), 3);
	unsigned seen = 0;
	while (client_inflight(c) > 0) {
		sg_buf_reset(&resp);
		signet_err err = client_next_wait(c, 10000, &tag, &st, &resp);
		assert_int_equal(err, SIGNET_OK);
		assert_int_equal(st.code, 0);
		assert_true(resp.len > 0);
		seen |= 1u << (uintptr_t)tag;
	}
	assert_int_equal(seen, 0xeu);
	sg_buf_free(&resp);
	rpc_close(r);
}

static void test_keyset_health(void **state)
{
	(void)state;
	char det[512];
	dns_name z, other;
	Signet__V1__GetKeySetRequest kr = SIGNET__V1__GET_KEY_SET_REQUEST__INIT;
	kr.zone = wire("example.com.", &z);
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(D.signer, "GetKeySet", &kr.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__GetKeySetResponse *ks =
		signet__v1__get_key_set_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ks);
	assert_non_null(ks->dnskey);
	assert_int_equal(ks->dnskey->n_rdata, 2);
	assert_non_null(ks->rrsig);
	assert_int_equal(ks->rrsig->n_rdata, 1);
	assert_non_null(ks->policy);
	assert_int_equal(ks->policy->algorithm, 13);
	assert_int_equal(ks->policy->denial, SIGNET__V1__DENIAL__DENIAL_NSEC);
	uint32_t now = (uint32_t)time(NULL);
	assert_true(ks->period_inception <= now && now < ks->period_expiration);
	dns_rrset set = item_set(ks->dnskey);
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_from_rdata(&sig, ks->rrsig->rdata[0].data,
					      ks->rrsig->rdata[0].len), SIGNET_OK);
	assert_int_equal(dns_rrsig_verify(&sig, &set, D.ksk.dnskey, D.ksk.dnskey_len, &z, now),
			 SIGNET_OK);
	dns_rrset_clear(&set);
	signet__v1__get_key_set_response__free_unpacked(ks, NULL);
	kr.zone = wire("example.org.", &other);
	assert_int_equal(rpc_call_msg(D.signer, "GetKeySet", &kr.base, det, sizeof(det), NULL),
			 GRPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(rpc_call_msg(D.admin, "GetKeySet", &kr.base, det, sizeof(det), NULL),
			 GRPC_STATUS_FAILED_PRECONDITION);

	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	sg_buf_reset(&resp);
	assert_int_equal(rpc_call_msg(D.admin, "Health", &h.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__HealthResponse *hr =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(hr);
	assert_true(hr->token_present);
	assert_int_equal(hr->n_zones, 2);
	size_t seen = 0;
	for (size_t i = 0; i < hr->n_zones; i++) {
		dns_name n;
		assert_int_equal(dns_name_from_wire(&n, hr->zones[i]->zone.data,
						    hr->zones[i]->zone.len, NULL), SIGNET_OK);
		if (dns_name_equal(&n, &z)) {
			seen++;
			assert_true(hr->zones[i]->active_zsk);
			assert_true(hr->zones[i]->keyset_seconds_left > 86400);
		} else {
			assert_false(hr->zones[i]->active_zsk);
			assert_true(hr->zones[i]->keyset_seconds_left < 0);
		}
	}
	assert_int_equal(seen, 1);
	signet__v1__health_response__free_unpacked(hr, NULL);
	/* a signer sees only its zones */
	sg_buf_reset(&resp);
	assert_int_equal(rpc_call_msg(D.signer, "Health", &h.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	hr = signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(hr);
	assert_int_equal(hr->n_zones, 1);
	signet__v1__health_response__free_unpacked(hr, NULL);
	sg_buf_free(&resp);
}

/* ---- TLS refusals ------------------------------------------------------ */

static void test_tls(void **state)
{
	(void)state;
	char det[512];
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	/* no client certificate: the handshake fails */
	rpc_conn *anon = conn(NULL);
	assert_int_equal(rpc_call_msg(anon, "Health", &h.base, det, sizeof(det), NULL),
			 GRPC_STATUS_UNAVAILABLE);
	rpc_close(anon);
	/* a certificate from another CA, with an identity that is configured */
	rpc_conn *foreign = conn("foreign");
	assert_int_equal(rpc_call_msg(foreign, "Health", &h.base, det, sizeof(det), NULL),
			 GRPC_STATUS_UNAVAILABLE);
	rpc_close(foreign);
	/* TLS 1.2 is refused unless configured; 1.3 works */
	char c12[1100], c13[1100];
	snprintf(c12, sizeof(c12), "cd '%s' && openssl s_client -connect %s -servername localhost"
		 " -CAfile ca.pem -cert ns1.pem -key ns1.key -alpn h2 %s < /dev/null > /dev/null 2>&1",
		 D.dir, D.target, "-tls1_2");
	snprintf(c13, sizeof(c13), "cd '%s' && openssl s_client -connect %s -servername localhost"
		 " -CAfile ca.pem -cert ns1.pem -key ns1.key -alpn h2 %s < /dev/null > /dev/null 2>&1",
		 D.dir, D.target, "-tls1_3");
	assert_int_not_equal(system(c12), 0);
	assert_int_equal(system(c13), 0);

	/* A second signetd on the same port must not start (SO_REUSEPORT off) */
	char log2[300], conf2[300];
	snprintf(log2, sizeof(log2), "%s/second.log", D.dir);
	pid_t p2 = signetd_spawn(D.conf, log2);
	int status = 0;
	assert_int_equal(waitpid(p2, &status, 0), p2);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(signetd_log_has(log2, "cannot listen"));

	/* ... and one configured with tls12 yes accepts TLS 1.2 */
	int port2 = signetd_free_port();
	snprintf(conf2, sizeof(conf2), "%s/tls12.conf", D.dir);
	signetd_opts o = opts_for("\"example.com\"", true);
	signetd_write_config(&D, conf2, port2, 0, &o);
	p2 = signetd_spawn(conf2, log2);
	if (!signetd_wait_port(port2, p2, 30000, NULL)) {
		signetd_sh("cat '%s' >&2", log2);
		fail_msg("the TLS 1.2 signetd did not listen");
	}
	snprintf(c12, sizeof(c12), "cd '%s' && openssl s_client -connect 127.0.0.1:%d"
		 " -servername localhost -CAfile ca.pem -cert ns1.pem -key ns1.key -alpn h2"
		 " -tls1_2 < /dev/null > /dev/null 2>&1", D.dir, port2);
	assert_int_equal(system(c12), 0);
	assert_int_equal(kill(p2, SIGTERM), 0);
	assert_int_equal(waitpid(p2, &status, 0), p2);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(signetd_log_has(log2, "TLS 1.2 allowed"));
}

/* ---- reload, audit, stop ----------------------------------------------- */

#define LOAD_BATCH 50

/* Set just before the test sends SIGTERM: a call begun while it is still
 * false was begun before the signal. */
static atomic_bool signal_sent;

/* A client signing fresh batches until told to stop: it goes on after
 * the server is gone, so a call the server drops shows as what it is.
 * Every answer is whole, or a refusal: UNAVAILABLE, or CANCELLED when the
 * call's stream raced the server's shutdown (gRPC core cancels a stream
 * that reaches a server shutting down; a call begun just before the signal
 * may still reach it after). Anything else fails. Calls begun before the
 * signal and refused are counted and printed, not failed: "begun" is when
 * the client decided to call, and its stream may reach the server after
 * the shutdown began (seen in about half the runs on a loaded machine),
 * where gRPC core cancels it; every call signetd's gRPC matched before the
 * stop is drained, counted or not yet picked up by a queue thread.
 * test_drain.c proves, call by call, that calls inside the HSM at the
 * signal are answered. */
typedef struct load_thread {
	rpc_conn *c;
	uint8_t seed;
	atomic_bool stop;
	atomic_size_t ok;   /* complete answers */
	size_t broken;      /* OK answers that were not whole */
	atomic_size_t refused; /* UNAVAILABLE or CANCELLED: the server gone or going */
	size_t cancelled_before; /* of them, CANCELLED and begun before the signal */
	size_t unavailable_before; /* of them, UNAVAILABLE and begun before the signal */
	size_t other;       /* any other status: a call dropped mid-way */
	grpc_status_code other_st;
	char other_det[256];
} load_thread;

static void *load_main(void *arg)
{
	load_thread *lt = arg;
	uint8_t addr[LOAD_BATCH][4];
	ProtobufCBinaryData rd[LOAD_BATCH];
	Signet__V1__RRset rs[LOAD_BATCH];
	Signet__V1__RRset *rp[LOAD_BATCH];
	dns_name own, z;
	if (dns_name_from_str(&own, "load.example.com.") != SIGNET_OK ||
	    dns_name_from_str(&z, "example.com.") != SIGNET_OK)
		return NULL;
	for (uint32_t round = 0; !atomic_load(&lt->stop); round++) {
		for (int i = 0; i < LOAD_BATCH; i++) {
			/* fresh data each round, so the HSM does the work */
			uint32_t v = round * LOAD_BATCH + (uint32_t)i;
			addr[i][0] = lt->seed;
			addr[i][1] = (uint8_t)(v >> 16);
			addr[i][2] = (uint8_t)(v >> 8);
			addr[i][3] = (uint8_t)v;
			rd[i].data = addr[i];
			rd[i].len = 4;
			signet__v1__rrset__init(&rs[i]);
			rs[i].owner.data = own.wire;
			rs[i].owner.len = own.len;
			rs[i].type = DNS_T_A;
			rs[i].n_rdata = 1;
			rs[i].rdata = &rd[i];
			rp[i] = &rs[i];
		}
		Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
		sr.zone.data = z.wire;
		sr.zone.len = z.len;
		sr.n_rrsets = LOAD_BATCH;
		sr.rrsets = rp;
		size_t n = protobuf_c_message_get_packed_size(&sr.base);
		uint8_t *buf = malloc(n);
		if (!buf)
			return NULL;
		protobuf_c_message_pack(&sr.base, buf);
		grpc_status_code st = GRPC_STATUS_UNKNOWN;
		char det[256];
		sg_buf resp = SG_BUF_INIT;
		bool after = atomic_load(&signal_sent);
		signet_err ret = rpc_call(lt->c, RPC_SVC "SignRRsets", buf, n, &st, det, sizeof(det),
					  &resp);
		free(buf);
		if (ret == SIGNET_OK && !after && st == GRPC_STATUS_CANCELLED)
			lt->cancelled_before++;
		if (ret == SIGNET_OK && !after && st == GRPC_STATUS_UNAVAILABLE)
			lt->unavailable_before++;
		if (ret == SIGNET_OK &&
		    (st == GRPC_STATUS_UNAVAILABLE || st == GRPC_STATUS_CANCELLED)) {
			lt->refused++;
			sg_buf_free(&resp);
			continue;
		}
		if (ret != SIGNET_OK || st != GRPC_STATUS_OK) {
			if (!lt->other++) {
				lt->other_st = st;
				snprintf(lt->other_det, sizeof(lt->other_det), "%s", det);
			}
			sg_buf_free(&resp);
			continue;
		}
		Signet__V1__SignResponse *r =
			signet__v1__sign_response__unpack(NULL, resp.len, resp.data);
		sg_buf_free(&resp);
		bool whole = r && r->n_results == LOAD_BATCH;
		for (size_t i = 0; whole && i < r->n_results; i++)
			whole = r->results[i]->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED &&
				r->results[i]->n_rrsig == 1;
		if (r)
			signet__v1__sign_response__free_unpacked(r, NULL);
		if (whole)
			atomic_fetch_add(&lt->ok, 1);
		else
			lt->broken++;
	}
	return NULL;
}

static void test_reload_audit_stop(void **state)
{
	(void)state;
	char det[512];
	dns_name other;
	uint8_t a[4] = {192, 0, 2, 1};
	ProtobufCBinaryData rd = {4, a};
	Signet__V1__RRset rs = SIGNET__V1__RRSET__INIT;
	Signet__V1__RRset *rp = &rs;
	dns_name own;
	rs.owner = wire("www.example.org.", &own);
	rs.type = DNS_T_A;
	rs.n_rdata = 1;
	rs.rdata = &rd;
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	sr.zone = wire("example.org.", &other);
	sr.n_rrsets = 1;
	sr.rrsets = &rp;
	assert_int_equal(rpc_call_msg(D.signer, "SignRRsets", &sr.base, det, sizeof(det), NULL),
			 GRPC_STATUS_PERMISSION_DENIED);
	/* grant example.org and reload: now the zone is reached (and has no ZSK) */
	signetd_opts o = opts_for("\"example.com\", \"example.org\"", false);
	signetd_write_config(&D, D.conf, D.port, 0, &o);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	/* the reload is an event signetd logs; the call after it is reached */
	for (long end = signetd_now_ms() + 30000; !signetd_log_has(D.log, "SIGHUP: clients and limits reloaded");
	     signetd_sleep_ms(20))
		if (signetd_now_ms() > end)
			fail_msg("signetd did not log the reload within 30 s");
	grpc_status_code st = rpc_call_msg(D.signer, "SignRRsets", &sr.base, det, sizeof(det),
					   NULL);
	assert_int_equal(st, GRPC_STATUS_FAILED_PRECONDITION);
	assert_non_null(strstr(det, "no active ZSK"));

	/* every admin call, refused ones included, is in the chained log */
	char path[300];
	snprintf(path, sizeof(path), "%s/state/audit.log", D.dir);
	size_t lines = 0, bad = 0;
	assert_int_equal(signer_audit_verify(path, &lines, &bad), SIGNET_OK);
	assert_true(lines >= 15);
	sg_buf log = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &log), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&log, 0), SIGNET_OK);
	assert_non_null(strstr((char *)log.data, "\"action\":\"ImportKeyBundle\""));
	assert_non_null(strstr((char *)log.data, "\"client\":\"admin.test\""));
	assert_non_null(strstr((char *)log.data, "does not verify"));
	/* a change is recorded before it is made, then with its result */
	assert_non_null(strstr((char *)log.data, "\"action\":\"ImportKeyBundle\",\"zone\":\"\",\"detail\":"
						 "\"request sha256="));
	assert_non_null(strstr((char *)log.data, "\"result\":\"begun\""));
	/* the signer's refused AddZone is there too */
	assert_non_null(strstr((char *)log.data, "\"client\":\"ns1.test\",\"action\":\"AddZone\""));
	sg_buf_free(&log);

	/* SIGTERM while clients keep signing: every answer is whole or a clean
	 * UNAVAILABLE (never a call cut off), and the daemon drains and exits
	 * 0. tests/signer/test_drain.c proves it call by call, with the calls
	 * held inside the HSM when the signal comes. */
	load_thread lt[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		memset(&lt[i], 0, sizeof(lt[i]));
		atomic_init(&lt[i].ok, 0);
		atomic_init(&lt[i].stop, false);
		atomic_store(&signal_sent, false);
		lt[i].seed = (uint8_t)i;
		lt[i].c = conn("ns1");
		assert_int_equal(pthread_create(&th[i], NULL, load_main, &lt[i]), 0);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* both clients are signing (a slow sanitizer build takes a while to
	 * handshake), then stop the daemon under them */
	for (long end = signetd_now_ms() + 60000;
	     atomic_load(&lt[0].ok) < 2 || atomic_load(&lt[1].ok) < 2; signetd_sleep_ms(20))
		if (signetd_now_ms() > end) {
			for (int i = 0; i < 2; i++)
				atomic_store(&lt[i].stop, true);
			for (int i = 0; i < 2; i++) {
				pthread_join(th[i], NULL);
				rpc_close(lt[i].c);
			}
			fail_msg("the load clients signed %zu and %zu batches in 60 s, not 2 each",
				 atomic_load(&lt[0].ok), atomic_load(&lt[1].ok));
		}
	atomic_store(&signal_sent, true);
	assert_int_equal(kill(D.pid, SIGTERM), 0);
	int status = 0;
	assert_int_equal(waitpid(D.pid, &status, 0), D.pid);
	D.pid = 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	size_t signed_total = 0;
	/* the server is gone: one more call each, refused; both threads are
	 * joined before any check, so a failed one cannot leave the other
	 * running into teardown */
	size_t refused_at_stop[2];
	for (int i = 0; i < 2; i++) {
		refused_at_stop[i] = lt[i].refused;
		for (long end = signetd_now_ms() + 30000;
		     lt[i].refused == refused_at_stop[i] && signetd_now_ms() < end;)
			signetd_sleep_ms(5);
		atomic_store(&lt[i].stop, true);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		rpc_close(lt[i].c);
	}
	for (int i = 0; i < 2; i++) {
		size_t refused = refused_at_stop[i];
		assert_int_equal(lt[i].broken, 0);
		if (lt[i].other)
			fail_msg("client %d: %zu calls ended %d (%s), neither answered nor refused",
				 i, lt[i].other, (int)lt[i].other_st, lt[i].other_det);
		assert_true(lt[i].refused > refused);
		if (lt[i].cancelled_before || lt[i].unavailable_before)
			print_message("client %d: of the calls begun before the signal, %zu were "
				      "cancelled and %zu refused (UNAVAILABLE) by the stop\n", i,
				      lt[i].cancelled_before, lt[i].unavailable_before);
		assert_true(atomic_load(&lt[i].ok) > 0);
		signed_total += atomic_load(&lt[i].ok) * LOAD_BATCH;
	}
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "load (rough, includes connection set-up): %zu RRsets signed"
		" in %.2f s by 2 clients (%.0f/s)\n",
		signed_total, secs, signed_total / secs);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the server logged the refused handshakes */
	assert_int_equal(sg_file_read(D.log, 1 << 22, &log), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&log, 0), SIGNET_OK);
	assert_non_null(strstr((char *)log.data, "draining"));
	sg_buf_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_pipeline_wait),
		cmocka_unit_test(test_keyset_health),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_reload_audit_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
