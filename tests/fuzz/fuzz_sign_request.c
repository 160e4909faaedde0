/* fuzz_sign_request.c -- fuzz target for signetd's SignRRsets handler itself:
 * rpc_sign_request (rpc_sign.c), which the gRPC-bound rpc_sign calls with
 * the call's octets and identity. Everything after the transport is the
 * product's: the wire check and unpacking, the zone and name/type ACLs,
 * the limits, the per-RRset checks, the policy's window, signing on the
 * workers' own sessions of a real SoftHSM2 token (two worker threads, so a
 * big batch is split as in signetd), the metrics and the audit line.
 *
 * Once per process the target makes a token, a SQLite state with zones and
 * active ZSKs, the audit log, the cache and the metrics, and parses a
 * configuration whose clients have different rights; the clock is frozen
 * at FUZZ_NOW so a saved input behaves the same on any day.
 *
 * Input: one octet choosing the caller (modulo the clients below), then a
 * serialized signet.v1.SignRequest as it would come off the wire.
 *
 * Properties, judged apart from the handler's own code where it matters:
 * - a request protobuf-c cannot parse, or whose zone is no name, is
 *   INVALID_ARGUMENT; a zone the caller has no grant for is
 *   PERMISSION_DENIED; a caller with name/type rules asking for another
 *   type is PERMISSION_DENIED; a granted zone that is not configured is
 *   NOT_FOUND, one without an active ZSK FAILED_PRECONDITION;
 * - an OK answer has one result per RRset, in order; a signed RRset has one
 *   RRSIG per active ZSK of the zone, each by a different key, with the
 *   zone as signer, the RRset's type and TTL, the request's window when it
 *   gave one, and each verifies (dnssec/verify.c) against the zone's DNSKEY
 *   over the RRset rebuilt from the request; a signed RRset is one the
 *   rules allow (type, class, owner at or below the zone, RDATA well
 *   formed); a refused or unsigned RRset has no RRSIG, a failed one a code
 *   and, when refused as invalid, a field "rrsets[i]..." its message starts
 *   with; a delegation's NS is the only RRset left unsigned by design;
 * - a failed call has no answer and says why;
 * - the signature counters grow by exactly the RRSIGs returned (none for a
 *   failed call), the item-error counter by the failed RRsets;
 * - each call writes exactly one audit line, naming the caller and the
 *   action, with signed=N matching the answer, "ok" or the failing status. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signer/rpc.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/softhsm_fixture.h"
#include "tests/lib/tmpdir.h"

/* The reason of a set-up step that failed, for die(). */
static char setup_errmsg[HSM_ERRMSG_MAX];
#define SETUP_ERR setup_errmsg, sizeof(setup_errmsg)

#define FUZZ_NOW 1700000000
#define FUZZ_WORKERS 2
#define AUDIT_ROTATE (64u * 1024 * 1024) /* start a fresh log past this size */

/* The callers: what the configuration below grants each. */
typedef struct fz_client {
	const char *identity;
	const char *zones[5]; /* NULL-terminated; "*": every zone */
	bool txt_acme_only;   /* names = _acme-challenge..., types = [ TXT ] */
} fz_client;

static const fz_client clients[] = {
	{"full.test", {"example.com.", "roll.example.", "nokeys.example.", "absent.example."},
	 false},
	{"other.test", {"example.org."}, false},
	{"acme.test", {"example.com."}, true},
	{"star.test", {"*"}, false},
};
#define NCLIENTS (sizeof(clients) / sizeof(clients[0]))

static const char config_text[] =
	"listen = \"127.0.0.1:1\";\n"
	"tls-cert = \"/c.pem\"; tls-key = \"/k.pem\"; tls-ca = \"/ca.pem\";\n"
	"pkcs11-module = \"/m.so\"; token-label = \"fuzz\"; pin = \"env:PIN\";\n"
	"state-dir = \"/nonexistent\";\n"
	"clients = (\n"
	"  { identity = \"full.test\"; role = \"signer\";\n"
	"    zones = [ \"example.com\", \"roll.example\", \"nokeys.example\", \"absent.example\" ]; },\n"
	"  { identity = \"other.test\"; role = \"signer\"; zones = [ \"example.org\" ]; },\n"
	"  { identity = \"acme.test\"; role = \"signer\"; zones = [ \"example.com\" ];\n"
	"    names = [ \"_acme-challenge.example.com\", \"_acme-challenge.*.example.com\" ];\n"
	"    types = [ \"TXT\" ]; },\n"
	"  { identity = \"star.test\"; role = \"signer\"; zones = [ \"*\" ]; } );\n";

/* The zones in the state; absent.example. is granted but not configured. */
typedef struct fz_zone {
	const char *name;
	uint8_t algs[2];    /* one active ZSK per entry */
	size_t nkeys;
	signer_verify verify;
	dns_name apex;
	uint8_t dnskey[2][SIGNER_DNSKEY_MAX];
	size_t dnskey_len[2];
	uint16_t tag[2];
} fz_zone;

static fz_zone zones[] = {
	{.name = "example.com.", .algs = {13}, .nkeys = 1, .verify = SIGNER_VERIFY_DEFAULT},
	/* an algorithm rollover: two ZSKs sign every RRset, verified after signing */
	{.name = "roll.example.", .algs = {13, 15}, .nkeys = 2, .verify = SIGNER_VERIFY_ON},
	{.name = "example.org.", .algs = {15}, .nkeys = 1, .verify = SIGNER_VERIFY_DEFAULT},
	{.name = "nokeys.example.", .nkeys = 0, .verify = SIGNER_VERIFY_DEFAULT},
};
#define NZONES (sizeof(zones) / sizeof(zones[0]))

static struct {
	softhsm_fixture *f;
	char dir[256];
	char audit_path[300];
	signer_config cfg;
	signer_server srv;
	srv_worker workers[FUZZ_WORKERS];
} E;

static void die(const char *what, signet_err e)
{
	fprintf(stderr, "fuzz_sign_request: set-up failed: %s: %s (%s)\n", what,
		signet_strerror(e), setup_errmsg);
	abort();
}

static void cleanup(void)
{
	/* The workers still hold their sessions: only the files go. */
	test_tmpdir_remove(E.dir);
	if (E.f)
		test_tmpdir_remove(E.f->dir);
}

static void add_zone(signer_state *st, fz_zone *z)
{
	signet_err e = dns_name_from_str(&z->apex, z->name);
	if (e != SIGNET_OK)
		die(z->name, e);
	signer_policy pol;
	signer_policy_defaults(&pol);
	if (z->nkeys)
		pol.algorithm = z->algs[0];
	pol.verify = z->verify;
	if ((e = signer_state_add_zone(st, &z->apex, &pol, NULL, 0)) != SIGNET_OK)
		die("add zone", e);
	for (size_t k = 0; k < z->nkeys; k++) {
		char label[HSM_LABEL_MAX + 1];
		hsm_key_info info;
		EVP_PKEY *pub = NULL;
		sg_buf pk = SG_BUF_INIT, rd = SG_BUF_INIT;
		signer_key key;
		memset(&key, 0, sizeof(key));
		if ((e = hsm_key_label("zsk", z->name, (hsm_alg)z->algs[k], FUZZ_NOW, label,
				       sizeof(label), SETUP_ERR)) != SIGNET_OK ||
		    (e = hsm_key_generate(E.f->tok, (hsm_alg)z->algs[k], 0, label, &info, SETUP_ERR)) !=
			    SIGNET_OK ||
		    (e = hsm_key_public(E.f->tok, info.id, info.id_len, &pub, SETUP_ERR)) != SIGNET_OK ||
		    (e = dns_dnskey_pubkey_from_evp(z->algs[k], pub, &pk)) != SIGNET_OK ||
		    (e = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, z->algs[k], pk.data, pk.len,
					  &rd)) != SIGNET_OK ||
		    (e = dns_key_tag(rd.data, rd.len, &z->tag[k])) != SIGNET_OK)
			die("ZSK", e);
		memcpy(z->dnskey[k], rd.data, rd.len);
		z->dnskey_len[k] = rd.len;
		key.zone = z->apex;
		memcpy(key.role, "zsk", 4);
		memcpy(key.id, info.id, info.id_len);
		key.id_len = info.id_len;
		key.alg = z->algs[k];
		key.key_tag = z->tag[k];
		key.state = SIGNER_KEY_ACTIVE;
		memcpy(key.dnskey, rd.data, rd.len);
		key.dnskey_len = rd.len;
		key.created = FUZZ_NOW - 86400;
		if ((e = signer_state_add_key(st, &key)) != SIGNET_OK)
			die("add key", e);
		EVP_PKEY_free(pub);
		sg_buf_free(&pk);
		sg_buf_free(&rd);
	}
}

/* Once per process: the token, the state, the server's parts and its
 * worker threads. */
static void setup(void)
{
#ifdef FUZZ_SOFTHSM_MODULE
	setenv("SIGNET_SOFTHSM_MODULE", FUZZ_SOFTHSM_MODULE, 0);
#endif
	signet_err e;
	if ((e = signer_clock_enable_test()) != SIGNET_OK ||
	    (e = signer_clock_set(FUZZ_NOW)) != SIGNET_OK)
		die("the test clock (build with SIGNET_TEST_CLOCK)", e);
	if ((e = softhsm_fixture_create(true, &E.f)) != SIGNET_OK)
		die("SoftHSM2 token", e);
	if (test_tmpdir_make("signet-fuzz-sign", E.dir, sizeof(E.dir)) != 0)
		die("temporary directory", SIGNET_EIO);
	atexit(cleanup);
	char msg[SIGNER_ERRMSG_MAX] = "";
	if ((e = signer_config_parse(config_text, sizeof(config_text) - 1, &E.cfg, NULL, msg,
				     sizeof(msg))) != SIGNET_OK) {
		fprintf(stderr, "fuzz_sign_request: config: %s\n", msg);
		die("config", e);
	}
	signer_server *srv = &E.srv;
	srv->cfg = E.cfg;
	srv->limits.max_rrsets = E.cfg.max_rrsets;
	srv->limits.max_rrs = E.cfg.max_rrs;
	srv->limits.max_rrset_octets = E.cfg.max_rrset_octets;
	srv->token = E.f->tok;
	if ((e = signer_state_open(E.dir, &srv->state)) != SIGNET_OK)
		die("state", e);
	/* As signetd starts: the token's backup domain looked for (none
	 * here), then the keys of every replica, all in this token. */
	if ((e = signer_backups_new(E.f->tok, srv->state, 0, &srv->backups)) != SIGNET_OK)
		die("backups", e);
	for (size_t i = 0; i < NZONES; i++)
		add_zone(srv->state, &zones[i]);
	if ((e = signer_replica_keys_new(srv->backups, srv->state, E.f->tok, NULL, "fuzz",
					 &srv->replica_keys)) != SIGNET_OK)
		die("replica keys", e);
	size_t restored = 0, absent = 0;
	if ((e = signer_replica_keys_sync(srv->replica_keys, true, &restored, &absent)) !=
	    SIGNET_OK)
		die("replica keys", e);
	if (absent != 0)
		die("replica keys: the token lacks a zone's ZSK", SIGNET_ESTATE);
	snprintf(E.audit_path, sizeof(E.audit_path), "%s/audit.log", E.dir);
	if ((e = signer_audit_open(E.audit_path, &srv->audit)) != SIGNET_OK)
		die("audit log", e);
	if ((e = signer_cache_new(E.cfg.cache_size, &srv->cache)) != SIGNET_OK)
		die("cache", e);
	const char *names[M_COUNT + 1];
	for (int m = 0; m <= M_COUNT; m++)
		names[m] = srv_method_name((srv_method)m);
	if ((e = signer_metrics_new(names, M_COUNT + 1, &srv->metrics)) != SIGNET_OK)
		die("metrics", e);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	srv->workers = E.workers;
	for (unsigned i = 0; i < FUZZ_WORKERS; i++) {
		srv_worker *w = &E.workers[i];
		w->srv = srv;
		w->index = i;
		if ((e = hsm_session_open(E.f->tok, &w->sess, SETUP_ERR)) != SIGNET_OK)
			die("HSM session", e);
		if (pthread_create(&w->thread, NULL, srv_worker_main, w) != 0)
			die("worker thread", SIGNET_ENOMEM);
		srv->nworkers++;
	}
}

/* One call's outcome as a client would see it. */
typedef struct outcome {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int calls;                     /* how often done was told: must be 1 */
	grpc_status_code status;
	char details[512];
	uint8_t *resp;                 /* the packed answer, malloc'd */
	size_t resp_len;
	/* the call itself */
	const fz_client *client;
	const signer_client *line;
	const uint8_t *req;
	size_t len;
} outcome;

static void on_done(void *arg, grpc_status_code status, const char *details,
		    const ProtobufCMessage *resp)
{
	outcome *o = arg;
	uint8_t *packed = NULL;
	size_t n = 0;
	if (resp) {
		n = protobuf_c_message_get_packed_size(resp);
		packed = malloc(n ? n : 1);
		FUZZ_CHECK(packed != NULL);
		FUZZ_CHECK(protobuf_c_message_pack(resp, packed) == n);
	}
	pthread_mutex_lock(&o->lock);
	o->calls++;
	o->status = status;
	snprintf(o->details, sizeof(o->details), "%s", details ? details : "");
	o->resp = packed;
	o->resp_len = n;
	o->done = true;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

/* As signetd's transport does: the call runs on a worker. */
static void run_call(srv_worker *w, void *arg)
{
	outcome *o = arg;
	rpc_sign_caller caller = {.identity = o->client->identity, .client = o->line};
	rpc_sign_request(w, &caller, o->req, o->len, on_done, o);
}

/* The sum of every series of a metric family in the metrics text. */
static uint64_t metric_sum(const char *family)
{
	signer_metrics_snapshot snap;
	memset(&snap, 0, sizeof(snap));
	sg_buf text = SG_BUF_INIT;
	FUZZ_CHECK(signer_metrics_render(E.srv.metrics, &snap, &text) == SIGNET_OK);
	FUZZ_CHECK(sg_buf_put_u8(&text, '\0') == SIGNET_OK);
	uint64_t sum = 0;
	size_t flen = strlen(family);
	for (const char *p = (const char *)text.data; p && *p;) {
		if (strncmp(p, family, flen) == 0 && (p[flen] == '{' || p[flen] == ' ')) {
			const char *eol = strchr(p, '\n');
			const char *sp = eol ? eol : p + strlen(p);
			while (sp > p && sp[-1] != ' ')
				sp--;
			sum += strtoull(sp, NULL, 10);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	sg_buf_free(&text);
	return sum;
}

static off_t audit_size(void)
{
	struct stat st;
	FUZZ_CHECK(stat(E.audit_path, &st) == 0);
	return st.st_size;
}

/* A fresh log once the old one is big: long runs must not fill the disk. */
static void audit_rotate(void)
{
	if (audit_size() < (off_t)AUDIT_ROTATE)
		return;
	signer_audit_close(E.srv.audit);
	E.srv.audit = NULL;
	FUZZ_CHECK(unlink(E.audit_path) == 0);
	FUZZ_CHECK(signer_audit_open(E.audit_path, &E.srv.audit) == SIGNET_OK);
}

/* Exactly one line was appended since offset from, about this call. */
static void check_audit(off_t from, const outcome *o, size_t nsigned)
{
	off_t to = audit_size();
	FUZZ_CHECK(to > from);
	size_t n = (size_t)(to - from);
	char *line = malloc(n + 1);
	FUZZ_CHECK(line != NULL);
	FILE *fp = fopen(E.audit_path, "r");
	FUZZ_CHECK(fp != NULL);
	FUZZ_CHECK(fseeko(fp, from, SEEK_SET) == 0);
	FUZZ_CHECK(fread(line, 1, n, fp) == n);
	fclose(fp);
	line[n] = '\0';
	FUZZ_CHECK(line[n - 1] == '\n' && strchr(line, '\n') == line + n - 1);
	char want[160];
	snprintf(want, sizeof(want), "\"client\":\"%s\",\"action\":\"SignRRsets\"",
		 o->client->identity);
	FUZZ_CHECK(strstr(line, want) != NULL);
	if (o->status == GRPC_STATUS_OK) {
		snprintf(want, sizeof(want), " signed=%zu ", nsigned);
		FUZZ_CHECK(strstr(line, want) != NULL);
		FUZZ_CHECK(strstr(line, "\"result\":\"ok\"}") != NULL);
	} else {
		snprintf(want, sizeof(want), "\"result\":\"status %d: ", (int)o->status);
		FUZZ_CHECK(strstr(line, want) != NULL);
	}
	free(line);
}

static bool name_of(const ProtobufCBinaryData *b, dns_name *out)
{
	size_t used = 0;
	if (!b->data || b->len == 0 || dns_name_from_wire(out, b->data, b->len, &used) !=
	    SIGNET_OK || used != b->len)
		return false;
	dns_name_lower(out);
	return true;
}

static bool granted(const fz_client *c, const dns_name *apex)
{
	for (size_t i = 0; i < 5 && c->zones[i]; i++) {
		dns_name z;
		if (strcmp(c->zones[i], "*") == 0)
			return true;
		FUZZ_CHECK(dns_name_from_str(&z, c->zones[i]) == SIGNET_OK);
		if (dns_name_equal(&z, apex))
			return true;
	}
	return false;
}

static const fz_zone *zone_of(const dns_name *apex)
{
	for (size_t i = 0; i < NZONES; i++)
		if (dns_name_equal(&zones[i].apex, apex))
			return &zones[i];
	return NULL;
}

/* Types no client gets signed (checks.c refuses them; judged here from
 * the RFCs' list). */
static bool never_signed(uint32_t t)
{
	return t == 0 || t > 0xffff || t == DNS_T_DNSKEY || t == DNS_T_CDS ||
	       t == DNS_T_CDNSKEY || t == DNS_T_RRSIG || t == 24 /* SIG */ || t == 41 ||
	       t == 249 || t == 250 || (t >= 251 && t <= 255);
}

/* The ACME caller's names, judged apart from acl.c: "_acme-challenge.*."
 * below example.com or "_acme-challenge.example.com." itself, that is
 * _acme-challenge above any name at or below example.com. */
static bool acme_name(const dns_name *owner)
{
	static const uint8_t acme[] = "\x0f_acme-challenge";
	const size_t n = sizeof(acme) - 1;
	if (owner->len <= n || memcmp(owner->wire, acme, n) != 0)
		return false;
	dns_name parent, zone;
	parent.len = (uint8_t)(owner->len - n);
	memcpy(parent.wire, owner->wire + n, parent.len);
	FUZZ_CHECK(dns_name_from_str(&zone, "example.com.") == SIGNET_OK);
	return dns_name_is_at_or_below(&parent, &zone);
}

/* Whether the ACME caller's rules refuse an RRset of r (only TXT, only its
 * names). Items whose owner or type cannot be read are left to the checks. */
static bool acme_refuses(const Signet__V1__SignRequest *r)
{
	for (size_t i = 0; i < r->n_rrsets; i++) {
		const Signet__V1__RRset *in = r->rrsets[i];
		dns_name owner;
		if (!in || in->type == 0 || in->type > 0xffff || !name_of(&in->owner, &owner))
			continue;
		if (in->type != DNS_T_TXT || !acme_name(&owner))
			return true;
	}
	return false;
}

/* One RRset's result in an OK answer. */
static void check_result(const Signet__V1__SignRequest *r, const fz_zone *z, size_t i,
			 const Signet__V1__SignResult *res, const outcome *o)
{
	FUZZ_CHECK(res != NULL && res->index == i);
	const Signet__V1__RRset *in = r->rrsets[i];
	if (res->status != SIGNET__V1__ITEM_STATUS__ITEM_SIGNED) {
		FUZZ_CHECK(res->n_rrsig == 0);
		FUZZ_CHECK(res->message != NULL && res->message[0] != '\0');
		if (res->status == SIGNET__V1__ITEM_STATUS__ITEM_NOT_SIGNED) {
			dns_name owner;
			FUZZ_CHECK(in && in->type == DNS_T_NS && name_of(&in->owner, &owner) &&
				   !dns_name_equal(&owner, &z->apex));
			return;
		}
		FUZZ_CHECK(res->status == SIGNET__V1__ITEM_STATUS__ITEM_FAILED && res->code != 0);
		if (res->code == GRPC_STATUS_INVALID_ARGUMENT) {
			char want[32];
			snprintf(want, sizeof(want), "rrsets[%zu]", i);
			FUZZ_CHECK(strncmp(res->message, want, strlen(want)) == 0);
			if (res->field[0])
				FUZZ_CHECK(strncmp(res->field, want, strlen(want)) == 0 &&
					   strncmp(res->message, res->field,
						   strlen(res->field)) == 0);
		}
		return;
	}
	/* Signed: the RRset is one the rules allow ... */
	FUZZ_CHECK(in != NULL && !never_signed(in->type));
	FUZZ_CHECK(in->rclass == 0 || in->rclass == DNS_CLASS_IN);
	FUZZ_CHECK(in->ttl <= 0x7fffffffu && in->n_rdata > 0);
	dns_name owner;
	FUZZ_CHECK(name_of(&in->owner, &owner) && dns_name_is_at_or_below(&owner, &z->apex));
	if (o->client->txt_acme_only)
		FUZZ_CHECK(in->type == DNS_T_TXT && acme_name(&owner));
	dns_rrset set;
	dns_rrset_init(&set, &owner, (uint16_t)in->type, DNS_CLASS_IN, in->ttl);
	for (size_t k = 0; k < in->n_rdata; k++) {
		FUZZ_CHECK(dns_rdata_check((uint16_t)in->type, in->rdata[k].data,
					   in->rdata[k].len) == SIGNET_OK);
		FUZZ_CHECK(dns_rrset_add(&set, in->rdata[k].data, in->rdata[k].len) == SIGNET_OK);
	}
	/* ... and has one RRSIG per active ZSK, each verifying. */
	FUZZ_CHECK(res->n_rrsig == z->nkeys);
	bool used[2] = {false, false};
	for (size_t s = 0; s < res->n_rrsig; s++) {
		dns_rrsig sig;
		FUZZ_CHECK(dns_rrsig_from_rdata(&sig, res->rrsig[s].data, res->rrsig[s].len) ==
			   SIGNET_OK);
		FUZZ_CHECK(dns_name_equal(&sig.signer, &z->apex));
		FUZZ_CHECK(sig.type_covered == in->type && sig.original_ttl == in->ttl);
		size_t k = 0;
		while (k < z->nkeys && (z->tag[k] != sig.key_tag || z->algs[k] != sig.algorithm))
			k++;
		FUZZ_CHECK(k < z->nkeys && !used[k]);
		used[k] = true;
		if (r->window) {
			FUZZ_CHECK(sig.inception == r->window->inception &&
				   sig.expiration == r->window->expiration);
		}
		FUZZ_CHECK(dns_rrsig_verify(&sig, &set, z->dnskey[k], z->dnskey_len[k], &z->apex,
					    r->window ? 0 : FUZZ_NOW) == SIGNET_OK);
	}
	dns_rrset_clear(&set);
}

/* What the call must have answered, judged from the request. */
static void check_outcome(const outcome *o, uint64_t sigs, uint64_t item_errors)
{
	Signet__V1__SignRequest *r = signet__v1__sign_request__unpack(NULL, o->len, o->req);
	dns_name apex;
	if (o->status != GRPC_STATUS_OK) {
		FUZZ_CHECK(o->resp == NULL && o->details[0] != '\0');
		FUZZ_CHECK(sigs == 0 && item_errors == 0);
	}
	if (!r) {
		FUZZ_CHECK(o->status == GRPC_STATUS_INVALID_ARGUMENT);
		return;
	}
	char field[160];
	uint64_t v;
	if (srv_wire_check(&signet__v1__sign_request__descriptor, o->req, o->len, field,
			   sizeof(field), &v) == SIGNET_ERANGE || !name_of(&r->zone, &apex)) {
		FUZZ_CHECK(o->status == GRPC_STATUS_INVALID_ARGUMENT);
		signet__v1__sign_request__free_unpacked(r, NULL);
		return;
	}
	if (!granted(o->client, &apex)) {
		FUZZ_CHECK(o->status == GRPC_STATUS_PERMISSION_DENIED);
		signet__v1__sign_request__free_unpacked(r, NULL);
		return;
	}
	if (r->n_rrsets == 0 || r->n_rrsets > E.cfg.max_rrsets) {
		FUZZ_CHECK(o->status == GRPC_STATUS_INVALID_ARGUMENT);
		signet__v1__sign_request__free_unpacked(r, NULL);
		return;
	}
	if (o->client->txt_acme_only && acme_refuses(r)) {
		FUZZ_CHECK(o->status == GRPC_STATUS_PERMISSION_DENIED);
		signet__v1__sign_request__free_unpacked(r, NULL);
		return;
	}
	const fz_zone *z = zone_of(&apex);
	if (!z) {
		FUZZ_CHECK(o->status == GRPC_STATUS_NOT_FOUND);
	} else if (o->status == GRPC_STATUS_OK) {
		FUZZ_CHECK(z->nkeys > 0);
		Signet__V1__SignResponse *resp =
			signet__v1__sign_response__unpack(NULL, o->resp_len, o->resp);
		FUZZ_CHECK(resp != NULL && resp->n_results == r->n_rrsets);
		size_t nsigs = 0, nfailed = 0;
		for (size_t i = 0; i < resp->n_results; i++) {
			check_result(r, z, i, resp->results[i], o);
			nsigs += resp->results[i]->n_rrsig;
			nfailed += resp->results[i]->status == SIGNET__V1__ITEM_STATUS__ITEM_FAILED;
		}
		FUZZ_CHECK(sigs == nsigs && item_errors == nfailed);
		signet__v1__sign_response__free_unpacked(resp, NULL);
	} else if (z->nkeys == 0) {
		/* unless the window was refused first */
		FUZZ_CHECK(o->status == GRPC_STATUS_FAILED_PRECONDITION ||
			   (r->window && o->status == GRPC_STATUS_INVALID_ARGUMENT));
	} else {
		/* A configured zone with keys refuses a whole call only for its window. */
		FUZZ_CHECK(r->window && o->status == GRPC_STATUS_INVALID_ARGUMENT &&
			   strncmp(o->details, "window: ", 8) == 0);
	}
	signet__v1__sign_request__free_unpacked(r, NULL);
}

/* How many RRsets of an OK answer were signed (for the audit line). */
static size_t count_signed(const outcome *o)
{
	if (o->status != GRPC_STATUS_OK)
		return 0;
	Signet__V1__SignResponse *resp = signet__v1__sign_response__unpack(NULL, o->resp_len,
									   o->resp);
	FUZZ_CHECK(resp != NULL);
	size_t n = 0;
	for (size_t i = 0; i < resp->n_results; i++)
		n += resp->results[i]->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED;
	signet__v1__sign_response__free_unpacked(resp, NULL);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, setup);
	if (size < 1)
		return 0;
	outcome o;
	memset(&o, 0, sizeof(o));
	pthread_mutex_init(&o.lock, NULL);
	pthread_cond_init(&o.cond, NULL);
	o.client = &clients[data[0] % NCLIENTS];
	o.line = signer_config_client(&E.cfg, o.client->identity);
	FUZZ_CHECK(o.line != NULL);
	o.req = data + 1;
	o.len = size - 1;

	audit_rotate();
	uint64_t sigs0 = metric_sum("signet_signatures_total");
	uint64_t errs0 = metric_sum("signet_item_errors_total");
	off_t audit0 = audit_size();
	FUZZ_CHECK(srv_enqueue(&E.srv, run_call, &o) == SIGNET_OK);
	pthread_mutex_lock(&o.lock);
	while (!o.done)
		pthread_cond_wait(&o.cond, &o.lock);
	pthread_mutex_unlock(&o.lock);

	check_outcome(&o, metric_sum("signet_signatures_total") - sigs0,
		      metric_sum("signet_item_errors_total") - errs0);
	check_audit(audit0, &o, count_signed(&o));
	free(o.resp);
	/* Told once: a second answer would have come by now. */
	pthread_mutex_lock(&o.lock);
	FUZZ_CHECK(o.calls == 1);
	pthread_mutex_unlock(&o.lock);
	pthread_mutex_destroy(&o.lock);
	pthread_cond_destroy(&o.cond);
	return 0;
}
