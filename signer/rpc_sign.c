/* rpc_sign.c -- SignRRsets: admission of the batch, its RRsets spread
 * over the workers, each signing on its own HSM session, and the call's
 * audit line before the answer. rpc_sign_request is all of it from the
 * request's octets and the caller to the answer and its status; rpc_sign
 * only binds it to the gRPC call, so a test can drive the same path
 * without a transport. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/convert.h"
#include "signer/rpc.h"

#define ZSK_MAX 4                /* active ZSKs signing at once (rollovers) */
#define CHUNK_MIN 8              /* RRsets per job: smaller is not worth a hand-off */
#define RDATA_STACK 16           /* RRs per RRset whose pointers need no allocation */
#define ARENA_BLOCK (32u * 1024) /* under glibc's 64 KiB free that consolidates */

/* A batch's many small pieces -- the unpacked request (several per RRset)
 * and the RRSIGs each chunk makes -- are freed together when the answer
 * has gone, often by another thread than the one that made them, and a
 * free into another thread's malloc arena takes that arena's lock, which
 * the signing thread (and the HSM library's own allocations on it) wants
 * too. So they come from a few bump-allocated blocks that go at once. */
typedef struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
} arena_block;

static void *arena_alloc(void *ad, size_t n)
{
	arena_block **head = ad;
	const size_t align = _Alignof(max_align_t);
	if (n > SIZE_MAX - sizeof(arena_block) - align)
		return NULL;
	n = (n + align - 1) / align * align;
	arena_block *b = *head;
	if (!b || b->size - b->used < n) {
		bool own = n > ARENA_BLOCK / 4;
		size_t size = own ? n : ARENA_BLOCK;
		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = size;
		/* A piece too big to share a block goes behind the current one,
		 * which keeps taking the small pieces. */
		if (own && *head) {
			b->next = (*head)->next;
			(*head)->next = b;
		} else {
			b->next = *head;
			*head = b;
		}
	}
	void *p = (uint8_t *)b->data + b->used;
	b->used += n;
	return p;
}

static void arena_free_one(void *ad, void *p)
{
	(void)ad;
	(void)p; /* freed with the whole arena */
}

static void arena_destroy(arena_block *b)
{
	while (b) {
		arena_block *n = b->next;
		free(b);
		b = n;
	}
}

/* Why an item was not signed (the field at fault and the error detail, as
 * signer_item_check gives them); only such items have one, so the array of
 * results stays small for a batch that all signs. */
typedef struct item_error {
	char field[96];
	char errmsg[352];
} item_error;

typedef struct item_result {
	Signet__V1__ItemStatus status;
	uint32_t code;                     /* gRPC status code of a failed item */
	item_error *error;                 /* owned; NULL if signed, or if out of memory */
	ProtobufCBinaryData sigs[ZSK_MAX]; /* one RRSIG RDATA per ZSK, in its chunk's arena */
} item_result;

typedef struct batch batch;

/* The RRsets one worker signs, and the memory of their RRSIGs: made by
 * that worker in a few blocks, freed with the batch. */
typedef struct chunk {
	batch *b;
	size_t from, to;
	arena_block *arena;
} chunk;

struct batch {
	signer_server *srv;
	const char *identity; /* the caller's, borrowed until done */
	rpc_sign_done *done;  /* told the outcome once */
	void *done_arg;
	grpc_status_code status; /* the call's, with details */
	char details[512];
	Signet__V1__SignRequest *req; /* in arena */
	arena_block *arena;
	dns_name apex;
	signer_policy pol;
	bool explicit_window;
	uint32_t inception, expiration; /* explicit window */
	int64_t now;
	signer_zsk zsk[ZSK_MAX];
	signer_sig_series *series[ZSK_MAX]; /* signature counters of each ZSK */
	size_t nzsk;
	item_result *res;
	size_t n;
	chunk *chunks;
	size_t nchunks;
	atomic_size_t chunks_left;
	char zone[DNS_NAME_STR_MAX]; /* for the audit line; "" until known */
};

/* Fail the whole call: set b's status with details. */
static void batch_fail(batch *b, grpc_status_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void batch_fail(batch *b, grpc_status_code code, const char *fmt, ...)
{
	b->status = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->details, sizeof(b->details), fmt, ap);
	va_end(ap);
}

static void batch_free(batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; b->res && i < b->n; i++)
		free(b->res[i].error);
	free(b->res);
	for (size_t k = 0; b->chunks && k < b->nchunks; k++)
		arena_destroy(b->chunks[k].arena);
	free(b->chunks);
	for (size_t k = 0; k < b->nzsk; k++)
		EVP_PKEY_free(b->zsk[k].pub);
	arena_destroy(b->arena);
	free(b);
}

static void item_fail(item_result *r, uint32_t code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void item_fail(item_result *r, uint32_t code, const char *field, const char *fmt, ...)
{
	r->status = SIGNET__V1__ITEM_STATUS__ITEM_FAILED;
	r->code = code;
	/* Without memory for the text the item still fails, with its code. */
	if (!r->error && !(r->error = malloc(sizeof(*r->error))))
		return;
	snprintf(r->error->field, sizeof(r->error->field), "%s", field);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error->errmsg, sizeof(r->error->errmsg), fmt, ap);
	va_end(ap);
}

/* A signing thread's scratch lives as long as the thread, so that signing
 * an RRset allocates nothing for its canonical form and signed data. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_ok;

static void scratch_destroy(void *p)
{
	signer_scratch_free(p);
	free(p);
}

static void scratch_init(void)
{
	scratch_ok = pthread_key_create(&scratch_key, scratch_destroy) == 0;
}

/* The calling thread's scratch; NULL when out of memory. */
static signer_scratch *scratch_get(void)
{
	pthread_once(&scratch_once, scratch_init);
	if (!scratch_ok)
		return NULL;
	signer_scratch *sc = pthread_getspecific(scratch_key);
	if (sc)
		return sc;
	sc = calloc(1, sizeof(*sc));
	if (sc && pthread_setspecific(scratch_key, sc) != 0) {
		free(sc);
		sc = NULL;
	}
	return sc;
}

static void sign_one(srv_worker *w, chunk *ch, size_t i)
{
	batch *b = ch->b;
	item_result *r = &b->res[i];
	const Signet__V1__RRset *in = b->req->rrsets[i];
	const signer_limits *lim = &w->srv->limits;
	if (!in) {
		item_fail(r, GRPC_STATUS_INVALID_ARGUMENT, "rrsets", "rrsets[%zu]: missing", i);
		return;
	}
	signer_item item = {
		.owner = in->owner.data,
		.owner_len = in->owner.len,
		.type = in->type,
		.rclass = in->rclass,
		.ttl = in->ttl,
		.nrdata = in->n_rdata,
	};
	/* Past the bound the check refuses on the count alone, before it looks
	 * at any RDATA, so no arrays are built for a hostile count. */
	const uint8_t *ptrs_stack[RDATA_STACK];
	size_t lens_stack[RDATA_STACK];
	const uint8_t **ptrs = NULL;
	size_t *lens = NULL;
	if (in->n_rdata <= RDATA_STACK) {
		ptrs = ptrs_stack;
		lens = lens_stack;
	} else if (in->n_rdata <= lim->max_rrs) {
		ptrs = calloc(in->n_rdata, sizeof(*ptrs));
		lens = calloc(in->n_rdata, sizeof(*lens));
		if (!ptrs || !lens) {
			free(ptrs);
			free(lens);
			item_fail(r, GRPC_STATUS_RESOURCE_EXHAUSTED, "",
				  "rrsets[%zu]: out of memory", i);
			return;
		}
	}
	if (ptrs) {
		for (size_t k = 0; k < in->n_rdata; k++) {
			ptrs[k] = in->rdata[k].data;
			lens[k] = in->rdata[k].len;
		}
	}
	item.rdata = ptrs;
	item.rdata_len = lens;
	signer_item_result chk;
	signet_err ret = signer_item_check(&b->apex, lim, i, &item, &chk);
	if (ptrs != ptrs_stack) {
		free(ptrs);
		free(lens);
	}
	if (ret != SIGNET_OK) {
		item_fail(r, GRPC_STATUS_INTERNAL, "", "rrsets[%zu]: %s", i, signet_strerror(ret));
		dns_rrset_clear(&chk.set);
		return;
	}
	if (chk.verdict == SIGNER_VERDICT_REFUSE) {
		item_fail(r, GRPC_STATUS_INVALID_ARGUMENT, chk.field, "%s", chk.errmsg);
		dns_rrset_clear(&chk.set);
		return;
	}
	if (chk.verdict == SIGNER_VERDICT_DELEGATION) {
		r->status = SIGNET__V1__ITEM_STATUS__ITEM_NOT_SIGNED;
		if ((r->error = malloc(sizeof(*r->error)))) {
			r->error->field[0] = '\0';
			snprintf(r->error->errmsg, sizeof(r->error->errmsg),
				 "rrsets[%zu]: NS below the apex is a delegation: not signed", i);
		}
		dns_rrset_clear(&chk.set);
		return;
	}
	/* One canonical form serves the policy's digest and every ZSK's
	 * signed data. */
	signer_scratch *sc = scratch_get();
	uint32_t inc = b->inception, exp = b->expiration;
	uint8_t digest[32];
	ret = sc ? signer_canonical(&chk.set, sc, b->explicit_window ? NULL : digest)
		 : SIGNET_ENOMEM;
	if (ret == SIGNET_OK && !b->explicit_window)
		signer_policy_window(&b->pol, digest, b->now, &inc, &exp);
	signer_metrics *m = w->srv->metrics;
	signer_signing how = {.session = w->sess,
			      .cache = w->srv->cache,
			      .apex = &b->apex,
			      .inception = inc,
			      .expiration = exp};
	char hsmerr[HSM_ERRMSG_MAX];
	hsmerr[0] = '\0';
	bool from_cache[ZSK_MAX] = {false};
	for (size_t k = 0; ret == SIGNET_OK && k < b->nzsk; k++) {
		bool cached = false;
		uint64_t ns = 0;
		sg_buf_reset(&sc->rdata);
		how.zsk = &b->zsk[k];
		ret = signer_sign_canonical(sc, &how, &chk.set, &sc->rdata, &cached, &ns, hsmerr,
					    sizeof(hsmerr));
		/* A signature the HSM made but verify-after-sign refused is
		 * still an HSM operation that completed. */
		if (ns)
			signer_metrics_hsm(m, ns, ret == SIGNET_OK || ret == SIGNET_EVERIFY);
		if (ret == SIGNET_OK) {
			uint8_t *p = arena_alloc(&ch->arena, sc->rdata.len);
			if (p) {
				memcpy(p, sc->rdata.data, sc->rdata.len);
				r->sigs[k].data = p;
				r->sigs[k].len = sc->rdata.len;
			} else {
				ret = SIGNET_ENOMEM;
			}
		}
		from_cache[k] = cached;
	}
	dns_rrset_clear(&chk.set);
	/* An RRset's signatures count once all of them are made: one whose
	 * second ZSK failed returns none, and the first ZSK's counts nothing. */
	for (size_t k = 0; ret == SIGNET_OK && k < b->nzsk; k++)
		signer_metrics_sig(b->series[k], from_cache[k]);
	if (ret != SIGNET_OK) {
		/* A signature that failed verify-after-sign is a fault of the HSM
		 * like a device error: the client may try again later. */
		uint32_t code = ret == SIGNET_EHSM_DOWN || ret == SIGNET_EVERIFY
					? GRPC_STATUS_UNAVAILABLE
					: GRPC_STATUS_INTERNAL;
		sg_log(SG_LOG_ERROR, "sign rrsets[%zu] for %s: %s (%s)", i, b->identity,
		       signet_strerror(ret), hsmerr);
		item_fail(r, code, "", "rrsets[%zu]: signing failed: %s", i, signet_strerror(ret));
		return;
	}
	r->status = SIGNET__V1__ITEM_STATUS__ITEM_SIGNED;
}

/* The call's audit line: who, which zone, how many RRsets came out how,
 * with which keys, and the call's result. Written before the answer goes
 * out; false (and b's status UNAVAILABLE) when it could not be, so nothing
 * signed leaves signetd unaudited. */
static bool audit(batch *b)
{
	size_t signed_n = 0, failed = 0, not_signed = 0;
	for (size_t i = 0; b->res && i < b->n; i++) {
		if (b->res[i].status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED)
			signed_n++;
		else if (b->res[i].status == SIGNET__V1__ITEM_STATUS__ITEM_FAILED)
			failed++;
		else
			not_signed++;
	}
	char detail[200];
	int len = snprintf(detail, sizeof(detail),
			   "rrsets=%zu signed=%zu failed=%zu "
			   "not_signed=%zu keys=",
			   b->n, signed_n, failed, not_signed);
	for (size_t k = 0; k < b->nzsk && len > 0 && (size_t)len < sizeof(detail); k++)
		len += snprintf(detail + len, sizeof(detail) - (size_t)len, "%s%u", k ? "," : "",
				b->zsk[k].key_tag);
	char result[600];
	if (b->status == GRPC_STATUS_OK)
		snprintf(result, sizeof(result), "ok");
	else
		snprintf(result, sizeof(result), "status %d: %s", (int)b->status, b->details);
	signet_err ret = signer_audit_append_grouped(b->srv->audit, b->identity, "SignRRsets",
						     b->zone[0] ? b->zone : NULL, detail, result);
	if (ret == SIGNET_OK)
		return true;
	sg_log(SG_LOG_ERROR, "audit log write failed, signing refused: %s", signet_strerror(ret));
	batch_fail(b, GRPC_STATUS_UNAVAILABLE, "audit log unavailable: %s", signet_strerror(ret));
	return false;
}

/* Tell the caller b's outcome (resp: the answer, when OK) and free b. */
static void batch_done(batch *b, const ProtobufCMessage *resp)
{
	b->done(b->done_arg, b->status, b->details, resp);
	batch_free(b);
}

/* The last chunk to finish answers the call. */
static void answer(batch *b)
{
	b->status = GRPC_STATUS_OK;
	if (!audit(b)) {
		batch_done(b, NULL);
		return;
	}
	Signet__V1__SignResponse resp = SIGNET__V1__SIGN_RESPONSE__INIT;
	/* The results and the pointers to them in one block (n is bounded by
	 * max_rrsets); the RRSIGs are not copied: the results point at them. */
	Signet__V1__SignResult *all = malloc(b->n * (sizeof(*all) + sizeof(all)));
	static char empty[1];
	if (!all) {
		batch_fail(b, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		batch_done(b, NULL);
		return;
	}
	Signet__V1__SignResult **rp = (Signet__V1__SignResult **)(all + b->n);
	for (size_t i = 0; i < b->n; i++) {
		item_result *r = &b->res[i];
		Signet__V1__SignResult *rs = &all[i];
		signet__v1__sign_result__init(rs);
		rs->index = (uint32_t)i;
		rs->status = r->status;
		rs->code = r->code;
		rs->field = r->error ? r->error->field : empty;
		rs->message = r->error ? r->error->errmsg : empty;
		if (r->status == SIGNET__V1__ITEM_STATUS__ITEM_FAILED)
			signer_metrics_item_error(b->srv->metrics, r->code);
		if (r->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED) {
			rs->rrsig = r->sigs;
			rs->n_rrsig = b->nzsk;
		}
		rp[i] = rs;
	}
	resp.n_results = b->n;
	resp.results = rp;
	batch_done(b, &resp.base);
	free(all);
}

static void run_chunk(srv_worker *w, void *arg)
{
	chunk *ch = arg;
	batch *b = ch->b;
	for (size_t i = ch->from; i < ch->to; i++)
		sign_one(w, ch, i);
	if (atomic_fetch_sub(&b->chunks_left, 1) == 1)
		answer(b);
}

/* The client's name and type rules (acl.c) over every RRset before any is
 * signed: one RRset refused refuses the whole call, as a zone the client
 * may not sign does, so a batch is never half-signed by a client's rights.
 * An RRset whose owner or type is malformed is left to signer_item_check,
 * which refuses it (the same parse). Returns false after setting c's
 * status. */
static bool names_and_types_allowed(batch *b, const signer_client *who)
{
	if (signer_acl_empty(who->acl))
		return true;
	for (size_t i = 0; i < b->req->n_rrsets; i++) {
		const Signet__V1__RRset *in = b->req->rrsets[i];
		dns_name owner;
		size_t used = 0;
		if (!in || in->type == 0 || in->type > 0xffff || in->owner.len == 0 ||
		    dns_name_from_wire(&owner, in->owner.data, in->owner.len, &used) != SIGNET_OK ||
		    used != in->owner.len)
			continue;
		char why[400];
		if (signer_acl_allows(who->acl, &b->apex, &owner, (uint16_t)in->type, why,
				      sizeof(why)) != SIGNET_OK) {
			batch_fail(b, GRPC_STATUS_PERMISSION_DENIED,
				   "rrsets[%zu]: '%s' may not sign it: %s", i, b->identity, why);
			return false;
		}
	}
	return true;
}

/* Request-level admission: everything that fails the whole call. Returns
 * false after setting b's status. */
static bool admit(batch *b, const signer_client *who, const uint8_t *req, size_t len)
{
	signer_server *srv = b->srv;
	if (!req) {
		batch_fail(b, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
		return false;
	}
	ProtobufCAllocator alloc = {arena_alloc, arena_free_one, &b->arena};
	b->req = (Signet__V1__SignRequest *)srv_unpack_bytes(&signet__v1__sign_request__descriptor,
							     &alloc, req, len, b->details,
							     sizeof(b->details));
	if (!b->req) {
		b->status = GRPC_STATUS_INVALID_ARGUMENT;
		return false;
	}
	if (!srv_zone(&b->req->zone, &b->apex)) {
		batch_fail(b, GRPC_STATUS_INVALID_ARGUMENT, "zone: not a wire-form name");
		return false;
	}
	char *zs = b->zone;
	dns_name_to_str(&b->apex, zs, sizeof(b->zone));
	if (!signer_client_has_zone(who, &b->apex)) {
		batch_fail(b, GRPC_STATUS_PERMISSION_DENIED, "'%s' may not sign zone %s",
			   b->identity, zs);
		return false;
	}
	if (b->req->n_rrsets == 0) {
		batch_fail(b, GRPC_STATUS_INVALID_ARGUMENT, "rrsets: empty request");
		return false;
	}
	if (b->req->n_rrsets > srv->limits.max_rrsets) {
		batch_fail(b, GRPC_STATUS_INVALID_ARGUMENT, "rrsets: %zu RRsets, more than %zu",
			   b->req->n_rrsets, srv->limits.max_rrsets);
		return false;
	}
	if (!names_and_types_allowed(b, who))
		return false;
	signet_err ret = signer_state_zone_policy(srv->state, &b->apex, &b->pol);
	if (ret == SIGNET_ENOTFOUND) {
		batch_fail(b, GRPC_STATUS_NOT_FOUND, "zone %s is not configured", zs);
		return false;
	}
	if (ret != SIGNET_OK) {
		batch_fail(b, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		return false;
	}
	b->now = signer_clock_now();
	if (b->req->window) {
		char msg[200];
		b->inception = b->req->window->inception;
		b->expiration = b->req->window->expiration;
		if (signer_policy_check_window(&b->pol, b->now, b->inception, b->expiration, msg,
					       sizeof(msg)) != SIGNET_OK) {
			batch_fail(b, GRPC_STATUS_INVALID_ARGUMENT, "%s", msg);
			return false;
		}
		b->explicit_window = true;
	}
	signer_key *keys = NULL;
	size_t nkeys = 0;
	ret = signer_state_list_keys(srv->state, &b->apex, SIGNER_KEY_ACTIVE, &keys, &nkeys);
	for (size_t k = 0; ret == SIGNET_OK && k < nkeys && b->nzsk < ZSK_MAX; k++) {
		if (strcmp(keys[k].role, "zsk") != 0 || keys[k].id_len == 0)
			continue;
		signer_zsk *z = &b->zsk[b->nzsk];
		memcpy(z->id, keys[k].id, keys[k].id_len);
		z->id_len = keys[k].id_len;
		z->alg = keys[k].alg;
		z->key_tag = keys[k].key_tag;
		z->pub = NULL;
		/* By the key's own algorithm, not the policy's (which names the
		 * algorithm of new keys): an RSA key is always checked. */
		if (signer_verify_needed(&b->pol, z->alg, srv->cfg.verify_all))
			ret = dns_dnskey_to_evp(keys[k].dnskey, keys[k].dnskey_len, &z->pub);
		if (ret == SIGNET_OK) {
			b->series[b->nzsk] = signer_metrics_sig_series(srv->metrics, &b->apex,
								       z->key_tag, z->alg);
			b->nzsk++;
		}
	}
	free(keys);
	if (ret != SIGNET_OK) {
		batch_fail(b, GRPC_STATUS_INTERNAL, "keys: %s", signet_strerror(ret));
		return false;
	}
	if (b->nzsk == 0) {
		batch_fail(b, GRPC_STATUS_FAILED_PRECONDITION, "zone %s has no active ZSK", zs);
		return false;
	}
	if (!srv_keys_here(srv, zs, b->zsk, b->nzsk, b->details, sizeof(b->details))) {
		b->status = GRPC_STATUS_UNAVAILABLE;
		return false;
	}
	b->n = b->req->n_rrsets;
	b->res = calloc(b->n, sizeof(*b->res));
	/* As many chunks as workers, none smaller than CHUNK_MIN RRsets. */
	size_t workers = srv->nworkers ? srv->nworkers : 1;
	size_t per = (b->n + workers - 1) / workers;
	if (per < CHUNK_MIN)
		per = CHUNK_MIN;
	b->nchunks = (b->n + per - 1) / per;
	b->chunks = calloc(b->nchunks, sizeof(*b->chunks));
	for (size_t k = 0; b->chunks && k < b->nchunks; k++) {
		b->chunks[k].b = b;
		b->chunks[k].from = k * per;
		b->chunks[k].to = k * per + per > b->n ? b->n : k * per + per;
	}
	if (!b->res || !b->chunks) {
		batch_fail(b, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return false;
	}
	return true;
}

void rpc_sign_request(srv_worker *w, const rpc_sign_caller *caller, const uint8_t *req, size_t len,
		      rpc_sign_done *done, void *arg)
{
	batch *b = calloc(1, sizeof(*b));
	if (!b) {
		done(arg, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
		return;
	}
	b->srv = w->srv;
	b->identity = caller->identity;
	b->done = done;
	b->done_arg = arg;
	if (!admit(b, caller->client, req, len)) {
		/* Refused calls are recorded too; their status stands whatever
		 * the log says. */
		grpc_status_code st = b->status;
		char det[sizeof(b->details)];
		memcpy(det, b->details, sizeof(det));
		if (!audit(b)) {
			b->status = st;
			memcpy(b->details, det, sizeof(det));
		}
		batch_done(b, NULL);
		return;
	}
	size_t nchunks = b->nchunks;
	atomic_init(&b->chunks_left, nchunks);
	for (size_t k = 0; k < nchunks; k++) {
		chunk *ch = &b->chunks[k];
		/* The last chunk runs here, the others go to the other workers;
		 * a chunk that cannot be queued runs here too. */
		if (k + 1 == nchunks || srv_enqueue(w->srv, run_chunk, ch) != SIGNET_OK)
			run_chunk(w, ch);
	}
}

/* The gRPC side of rpc_sign_request's outcome: the call's answer. */
static void sign_done(void *arg, grpc_status_code status, const char *details,
		      const ProtobufCMessage *resp)
{
	srv_call *c = arg;
	if (resp) {
		if (srv_reply(c, resp) != SIGNET_OK)
			srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		srv_fail(c, status, "%s", details);
	}
	srv_finish(c);
}

void rpc_sign(srv_worker *w, srv_call *c)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	/* No message (or no memory to read it) is refused, and audited, by
	 * rpc_sign_request like any other bad request. */
	if (srv_request_bytes(c, &bytes, &len) != SIGNET_OK)
		bytes = NULL;
	rpc_sign_caller caller = {.identity = c->identity, .client = &c->who};
	/* c may be answered and freed before this returns: only bytes is ours. */
	rpc_sign_request(w, &caller, bytes, len, sign_done, c);
	free(bytes);
}
