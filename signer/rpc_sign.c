/* rpc_sign.c -- SignRRsets: admission of the batch, its RRsets spread
 * over the workers, each signing on its own HSM session, and the call's
 * audit line before the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/internal.h"

#define ZSK_MAX 4          /* active ZSKs signing at once (rollovers) */
#define CHUNK_MIN 8        /* RRsets per job: smaller is not worth a hand-off */

typedef struct item_result {
	Signet__V1__ItemStatus status;
	uint32_t code;             /* gRPC status code of a failed item */
	char field[96];
	char msg[352];
	sg_buf sigs[ZSK_MAX];      /* one RRSIG RDATA per ZSK */
} item_result;

typedef struct batch {
	srv_call *c;
	Signet__V1__SignRequest *req;
	dns_name apex;
	signer_policy pol;
	bool explicit_window;
	uint32_t inception, expiration;   /* explicit window */
	int64_t now;
	signer_zsk zsk[ZSK_MAX];
	signer_sig_series *series[ZSK_MAX]; /* signature counters of each ZSK */
	size_t nzsk;
	item_result *res;
	size_t n;
	atomic_size_t chunks_left;
	char zone[DNS_NAME_STR_MAX];      /* for the audit line; "" until known */
} batch;

typedef struct chunk {
	batch *b;
	size_t from, to;
} chunk;

static void batch_free(batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; b->res && i < b->n; i++)
		for (size_t k = 0; k < ZSK_MAX; k++)
			sg_buf_free(&b->res[i].sigs[k]);
	free(b->res);
	for (size_t k = 0; k < b->nzsk; k++)
		EVP_PKEY_free(b->zsk[k].pub);
	if (b->req)
		signet__v1__sign_request__free_unpacked(b->req, NULL);
	free(b);
}

static void item_fail(item_result *r, uint32_t code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void item_fail(item_result *r, uint32_t code, const char *field, const char *fmt, ...)
{
	r->status = SIGNET__V1__ITEM_STATUS__ITEM_FAILED;
	r->code = code;
	snprintf(r->field, sizeof(r->field), "%s", field);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static void sign_one(srv_worker *w, batch *b, size_t i)
{
	item_result *r = &b->res[i];
	const Signet__V1__RRset *in = b->req->rrsets[i];
	const signer_limits *lim = &w->srv->limits;
	if (!in) {
		item_fail(r, GRPC_STATUS_INVALID_ARGUMENT, "rrsets", "rrsets[%zu]: missing", i);
		return;
	}
	signer_item item = {
		.owner = in->owner.data, .owner_len = in->owner.len, .type = in->type,
		.rclass = in->rclass, .ttl = in->ttl, .nrdata = in->n_rdata,
	};
	/* Past the bound the check refuses on the count alone, before it looks
	 * at any RDATA, so no arrays are built for a hostile count. */
	const uint8_t **ptrs = NULL;
	size_t *lens = NULL;
	if (in->n_rdata <= lim->max_rrs && in->n_rdata > 0) {
		ptrs = calloc(in->n_rdata, sizeof(*ptrs));
		lens = calloc(in->n_rdata, sizeof(*lens));
		if (!ptrs || !lens) {
			free(ptrs);
			free(lens);
			item_fail(r, GRPC_STATUS_RESOURCE_EXHAUSTED, "", "rrsets[%zu]: out of memory", i);
			return;
		}
		for (size_t k = 0; k < in->n_rdata; k++) {
			ptrs[k] = in->rdata[k].data;
			lens[k] = in->rdata[k].len;
		}
	}
	item.rdata = ptrs;
	item.rdata_len = lens;
	dns_rrset set;
	signer_verdict v;
	signet_err ret = signer_item_check(&b->apex, i, &item, lim, &set, &v, r->field,
					   sizeof(r->field), r->msg, sizeof(r->msg));
	free(ptrs);
	free(lens);
	if (ret != SIGNET_OK) {
		item_fail(r, GRPC_STATUS_INTERNAL, "", "rrsets[%zu]: %s", i, signet_strerror(ret));
		dns_rrset_clear(&set);
		return;
	}
	if (v == SIGNER_VERDICT_REFUSE) {
		r->status = SIGNET__V1__ITEM_STATUS__ITEM_FAILED;
		r->code = GRPC_STATUS_INVALID_ARGUMENT;
		dns_rrset_clear(&set);
		return;
	}
	if (v == SIGNER_VERDICT_DELEGATION) {
		r->status = SIGNET__V1__ITEM_STATUS__ITEM_NOT_SIGNED;
		snprintf(r->msg, sizeof(r->msg),
			 "rrsets[%zu]: NS below the apex is a delegation: not signed", i);
		dns_rrset_clear(&set);
		return;
	}
	uint32_t inc = b->inception, exp = b->expiration;
	if (!b->explicit_window) {
		uint8_t digest[32];
		ret = signer_rrset_digest(&set, digest);
		if (ret == SIGNET_OK)
			signer_policy_window(&b->pol, digest, b->now, &inc, &exp);
	}
	signer_metrics *m = w->srv->metrics;
	for (size_t k = 0; ret == SIGNET_OK && k < b->nzsk; k++) {
		bool cached = false;
		uint64_t ns = 0;
		ret = signer_sign_rrset_timed(w->sess, w->srv->cache, &b->zsk[k], &b->apex, &set,
					      inc, exp, &r->sigs[k], &cached, &ns);
		/* A signature the HSM made but verify-after-sign refused is
		 * still an HSM operation that completed. */
		if (ns)
			signer_metrics_hsm(m, ns, ret == SIGNET_OK || ret == SIGNET_EVERIFY);
		if (ret == SIGNET_OK)
			signer_metrics_sig(b->series[k], cached);
	}
	dns_rrset_clear(&set);
	if (ret != SIGNET_OK) {
		/* A signature that failed verify-after-sign is a fault of the HSM
		 * like a device error: the client may try again later. */
		uint32_t code = ret == SIGNET_EHSM_DOWN || ret == SIGNET_EVERIFY
			? GRPC_STATUS_UNAVAILABLE : GRPC_STATUS_INTERNAL;
		sg_log(SG_LOG_ERROR, "sign rrsets[%zu] for %s: %s (%s)", i, b->c->identity,
		       signet_strerror(ret), hsm_last_error());
		item_fail(r, code, "", "rrsets[%zu]: signing failed: %s", i, signet_strerror(ret));
		return;
	}
	r->status = SIGNET__V1__ITEM_STATUS__ITEM_SIGNED;
}

/* The call's audit line: who, which zone, how many RRsets came out how,
 * with which keys, and the call's result. Written before the answer goes
 * out; false (and c's status UNAVAILABLE) when it could not be, so nothing
 * signed leaves signetd unaudited. */
static bool audit(srv_call *c, const batch *b)
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
	int len = snprintf(detail, sizeof(detail), "rrsets=%zu signed=%zu failed=%zu "
			   "not_signed=%zu keys=", b->n, signed_n, failed, not_signed);
	for (size_t k = 0; k < b->nzsk && len > 0 && (size_t)len < sizeof(detail); k++)
		len += snprintf(detail + len, sizeof(detail) - (size_t)len, "%s%u",
				k ? "," : "", b->zsk[k].key_tag);
	char result[600];
	if (c->status == GRPC_STATUS_OK)
		snprintf(result, sizeof(result), "ok");
	else
		snprintf(result, sizeof(result), "status %d: %s", (int)c->status, c->details);
	signet_err ret = signer_audit_append_grouped(c->srv->audit, c->identity, "SignRRsets",
						     b->zone[0] ? b->zone : NULL, detail, result);
	if (ret == SIGNET_OK)
		return true;
	sg_log(SG_LOG_ERROR, "audit log write failed, signing refused: %s",
	       signet_strerror(ret));
	srv_fail(c, GRPC_STATUS_UNAVAILABLE, "audit log unavailable: %s", signet_strerror(ret));
	return false;
}

/* The last chunk to finish answers the call. */
static void answer(batch *b)
{
	srv_call *c = b->c;
	c->status = GRPC_STATUS_OK;
	if (!audit(c, b)) {
		batch_free(b);
		srv_finish(c);
		return;
	}
	Signet__V1__SignResponse resp = SIGNET__V1__SIGN_RESPONSE__INIT;
	Signet__V1__SignResult *rs = calloc(b->n, sizeof(*rs));
	Signet__V1__SignResult **rp = calloc(b->n, sizeof(*rp));
	ProtobufCBinaryData *sigs = calloc(b->n * ZSK_MAX, sizeof(*sigs));
	if (!rs || !rp || !sigs) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < b->n; i++) {
			item_result *r = &b->res[i];
			signet__v1__sign_result__init(&rs[i]);
			rs[i].index = (uint32_t)i;
			rs[i].status = r->status;
			rs[i].code = r->code;
			rs[i].field = r->field;
			rs[i].message = r->msg;
			if (r->status == SIGNET__V1__ITEM_STATUS__ITEM_FAILED)
				signer_metrics_item_error(c->srv->metrics, r->code);
			if (r->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED) {
				rs[i].rrsig = &sigs[i * ZSK_MAX];
				rs[i].n_rrsig = b->nzsk;
				for (size_t k = 0; k < b->nzsk; k++) {
					sigs[i * ZSK_MAX + k].data = r->sigs[k].data;
					sigs[i * ZSK_MAX + k].len = r->sigs[k].len;
				}
			}
			rp[i] = &rs[i];
		}
		resp.n_results = b->n;
		resp.results = rp;
		if (srv_reply(c, &resp.base) != SIGNET_OK)
			srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	}
	free(rs);
	free(rp);
	free(sigs);
	batch_free(b);
	srv_finish(c);
}

static void run_chunk(srv_worker *w, void *arg)
{
	chunk *ch = arg;
	batch *b = ch->b;
	for (size_t i = ch->from; i < ch->to; i++)
		sign_one(w, b, i);
	free(ch);
	if (atomic_fetch_sub(&b->chunks_left, 1) == 1)
		answer(b);
}

/* Request-level admission: everything that fails the whole call. Returns
 * false after setting c's status. */
static bool admit(srv_call *c, batch *b)
{
	signer_server *srv = c->srv;
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (srv_request_bytes(c, &bytes, &len) != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
		return false;
	}
	b->req = signet__v1__sign_request__unpack(NULL, len, bytes);
	free(bytes);
	if (!b->req) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "malformed SignRequest");
		return false;
	}
	if (!srv_zone(&b->req->zone, &b->apex)) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "zone: not a wire-form name");
		return false;
	}
	char *zs = b->zone;
	dns_name_to_str(&b->apex, zs, sizeof(b->zone));
	if (!signer_client_has_zone(&c->who, &b->apex)) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' may not sign zone %s",
			 c->identity, zs);
		return false;
	}
	if (b->req->n_rrsets == 0) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "rrsets: empty request");
		return false;
	}
	if (b->req->n_rrsets > srv->limits.max_rrsets) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "rrsets: %zu RRsets, more than %zu",
			 b->req->n_rrsets, srv->limits.max_rrsets);
		return false;
	}
	signet_err ret = signer_state_zone_policy(srv->state, &b->apex, &b->pol);
	if (ret == SIGNET_ENOTFOUND) {
		srv_fail(c, GRPC_STATUS_NOT_FOUND, "zone %s is not configured", zs);
		return false;
	}
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		return false;
	}
	b->now = signer_clock_now();
	if (b->req->window) {
		char msg[200];
		b->inception = b->req->window->inception;
		b->expiration = b->req->window->expiration;
		if (signer_policy_check_window(&b->pol, b->now, b->inception, b->expiration,
					       msg, sizeof(msg)) != SIGNET_OK) {
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s", msg);
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
		srv_fail(c, GRPC_STATUS_INTERNAL, "keys: %s", signet_strerror(ret));
		return false;
	}
	if (b->nzsk == 0) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "zone %s has no active ZSK", zs);
		return false;
	}
	b->n = b->req->n_rrsets;
	b->res = calloc(b->n, sizeof(*b->res));
	if (!b->res) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return false;
	}
	return true;
}

void rpc_sign(srv_worker *w, srv_call *c)
{
	batch *b = calloc(1, sizeof(*b));
	if (!b) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		srv_finish(c);
		return;
	}
	b->c = c;
	if (!admit(c, b)) {
		/* Refused calls are recorded too; their status stands whatever
		 * the log says. */
		grpc_status_code st = c->status;
		char det[sizeof(c->details)];
		memcpy(det, c->details, sizeof(det));
		if (!audit(c, b)) {
			c->status = st;
			memcpy(c->details, det, sizeof(det));
		}
		batch_free(b);
		srv_finish(c);
		return;
	}
	size_t workers = w->srv->nworkers ? w->srv->nworkers : 1;
	size_t per = (b->n + workers - 1) / workers;
	if (per < CHUNK_MIN)
		per = CHUNK_MIN;
	size_t nchunks = (b->n + per - 1) / per;
	atomic_init(&b->chunks_left, nchunks);
	for (size_t k = 0; k < nchunks; k++) {
		chunk *ch = malloc(sizeof(*ch));
		size_t from = k * per, to = from + per > b->n ? b->n : from + per;
		if (!ch) {
			/* No memory for a hand-off: sign this part here. */
			for (size_t i = from; i < to; i++)
				sign_one(w, b, i);
			if (atomic_fetch_sub(&b->chunks_left, 1) == 1)
				answer(b);
			continue;
		}
		ch->b = b;
		ch->from = from;
		ch->to = to;
		/* The last chunk runs here, the others go to the other workers;
		 * a chunk that cannot be queued runs here too. */
		if (k + 1 == nchunks || srv_enqueue(w->srv, run_chunk, ch) != SIGNET_OK)
			run_chunk(w, ch);
	}
}
