/* signetd.c -- signetd as the zone engine's signing backend (SignRRsets,
 * pipelined) and the source of the key set (GetKeySet), through the client
 * library's typed calls: zoned builds no protobuf. */
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zoned/zoned.h"

/* A call that does not reach signetd while another reached it this
 * recently does not count: each worker's connection reconnects on its
 * own (gRPC's back-off), so one may still fail for a while after another
 * found signetd back. */
#define REACH_GRACE 10

/* What a call found of signetd, told to the shared reach: a change is
 * logged once, whichever worker or zone sees it first, so that a signetd
 * gone away is one warning and its return one line, not one per zone and
 * call. answered: the call reached signetd, whatever its status. */
static void tell(zoned_signetd *s, bool answered, const char *why)
{
	if (s->reach == NULL)
		return;
	int64_t now = (int64_t)time(NULL);
	if (answered) {
		atomic_store(&s->reach->last_ok, now);
	} else {
		int64_t ok = atomic_load(&s->reach->last_ok);
		if (ok && now - ok < REACH_GRACE)
			return;
	}
	int was = atomic_exchange(&s->reach->up, answered ? 1 : 0);
	if (answered && was == 0)
		sg_log(SG_LOG_NOTICE, "zoned: signetd answers again");
	else if (!answered && was != 0)
		sg_log(SG_LOG_WARNING,
		       "zoned: signetd unreachable (%s); the last signed versions stay"
		       " served, and each zone tries again at its retry or key-set poll",
		       why);
}

/* A status that says the call did not reach signetd (UNAVAILABLE, a
 * deadline, cancelled), as opposed to an answer, even a refusal. */
static bool unreached(int code)
{
	return client_exit_for_status(code) == SIGNET_EXIT_CONNECT;
}

/* A batch in flight. */
typedef struct job {
	dns_rrset *const *sigs;
	const dns_rrset *const *sets;
	size_t n;
	void *tag; /* the engine's */
} job;

static signet_err be_start(void *ctx, const dns_name *apex, const dns_rrset *const *sets,
			   dns_rrset *const *sigs, size_t n, void *tag)
{
	zoned_signetd *s = ctx;
	if (atomic_load(&s->stop))
		return SIGNET_EIO; /* zoned is stopping: the sign ends here */
	job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return SIGNET_ENOMEM;
	uint8_t *buf = NULL;
	size_t len = 0;
	signet_err ret = client_sign_request_pack(apex, sets, n, &buf, &len);
	if (ret != SIGNET_OK) {
		free(j);
		return ret;
	}
	*j = (job){sigs, sets, n, tag};
	ret = client_start(s->conn, CLIENT_SVC "SignRRsets", buf, len, j);
	if (ret != SIGNET_OK)
		free(j);
	return ret;
}

/* The RRSIGs of one answer into the job's sets; items not signed stay
 * empty, and the engine counts them. */
static void take(job *j, const sg_buf *resp)
{
	client_sign_answer a;
	if (client_sign_answer_unpack(resp->data, resp->len, &a) != SIGNET_OK) {
		sg_log(SG_LOG_WARNING, "zoned: SignRRsets: the answer does not unpack");
		return;
	}
	if (a.count != j->n) {
		sg_log(SG_LOG_WARNING, "zoned: SignRRsets: %zu results for %zu RRsets", a.count,
		       j->n);
		client_sign_answer_free(&a);
		return;
	}
	for (size_t k = 0; k < a.count; k++) {
		const client_sign_item *it = &a.items[k];
		if (it->index != k || it->status != CLIENT_ITEM_SIGNED) {
			if (it->message && it->message[0])
				sg_log(SG_LOG_WARNING, "zoned: SignRRsets: %s", it->message);
			continue;
		}
		for (size_t i = 0; i < it->nrrsig; i++) {
			dns_rrsig sig;
			const dns_rdata *d = &it->rrsig[i];
			if (dns_rrsig_from_rdata(&sig, d->data, d->len) != SIGNET_OK ||
			    sig.type_covered != j->sets[k]->type ||
			    dns_rrset_add(j->sigs[k], d->data, d->len) != SIGNET_OK) {
				dns_rrset_clear(j->sigs[k]);
				break;
			}
		}
	}
	client_sign_answer_free(&a);
}

static signet_err be_wait(void *ctx, void **tag)
{
	zoned_signetd *s = ctx;
	void *t = NULL;
	client_status st;
	sg_buf resp = SG_BUF_INIT;
	signet_err ret = client_next(s->conn, &t, &st, &resp);
	if (ret == SIGNET_OK)
		tell(s, !unreached(st.code), client_status_name(st.code));
	else
		tell(s, false, "SignRRsets: no completion");
	if (ret == SIGNET_OK) {
		job *j = t;
		*tag = j->tag;
		if (st.code != 0) {
			sg_log(SG_LOG_WARNING, "zoned: SignRRsets: %s: %s",
			       client_status_name(st.code), st.details);
			ret = SIGNET_EIO;
		} else {
			take(j, &resp);
		}
		free(j);
	}
	/* After a failed call the engine stops waiting: collect the rest here,
	 * so their jobs are freed and the connection is clean for the next
	 * sign. */
	if (ret != SIGNET_OK)
		while (client_inflight(s->conn) > 0) {
			sg_buf_reset(&resp);
			if (client_next(s->conn, &t, &st, &resp) != SIGNET_OK)
				break;
			free(t);
		}
	sg_buf_free(&resp);
	return ret;
}

/* A client key in a token whose sessions died is loaded again by the
 * client library when a handshake failed in it (client_tls_key_repair):
 * said once per reload, by whichever worker sees it first. */
static void note_key_reload(void)
{
	static _Atomic uint64_t seen;
	uint64_t n = client_tls_key_reloads();
	if (atomic_exchange(&seen, n) != n)
		sg_log(SG_LOG_NOTICE,
		       "zoned: TLS client key loaded again through a new libp11 engine instance "
		       "(its token lost its sessions; reload %llu)",
		       (unsigned long long)n);
}

void zoned_signetd_backend(zoned_signetd *s, zone_backend *out)
{
	*out = (zone_backend){s, be_start, be_wait};
}

signet_err zoned_signetd_keyset(zoned_signetd *s, const dns_name *apex, zone_keys *keys,
				char *errmsg, size_t errlen)
{
	client_keyset ks;
	client_status st;
	char why[256] = "";
	signet_err ret = client_get_keyset(s->conn, apex, &st, &ks, why, sizeof(why));
	note_key_reload();
	if (ret == SIGNET_OK)
		tell(s, !unreached(st.code), client_status_name(st.code));
	else
		tell(s, ret == SIGNET_EPARSE, why[0] ? why : signet_strerror(ret));
	if (ret == SIGNET_OK && st.code != 0) {
		snprintf(errmsg, errlen, "GetKeySet: %s", client_status_name(st.code));
		client_keyset_free(&ks);
		return unreached(st.code) ? SIGNET_EIO : SIGNET_EDENIED;
	}
	if (ret != SIGNET_OK) {
		snprintf(errmsg, errlen, "GetKeySet: %s", why[0] ? why : signet_strerror(ret));
		client_keyset_free(&ks);
		return ret == SIGNET_EPARSE ? SIGNET_EPARSE : SIGNET_EIO;
	}
	if (ks.dnskey.count == 0 || ks.rrsig.count == 0) {
		snprintf(errmsg, errlen, "GetKeySet: no DNSKEY RRset or no KSK RRSIG");
		client_keyset_free(&ks);
		return SIGNET_EPARSE;
	}
	/* The sets move into the engine's key set; the policy is copied. */
	zone_keys_clear(keys);
	zone_keys_init(keys, apex);
	keys->dnskey = ks.dnskey;
	keys->cds = ks.cds;
	keys->cdnskey = ks.cdnskey;
	keys->ksk_sigs = ks.rrsig;
	const client_policy *p = &ks.policy;
	keys->alg = p->algorithm ? (uint8_t)p->algorithm : DNS_ALG_ECDSAP256SHA256;
	keys->validity = p->validity ? p->validity : 14 * 86400;
	keys->nsec3 = p->nsec3;
	if (p->nsec3) {
		keys->nsec3p.iterations = (uint16_t)p->iterations;
		keys->nsec3p.salt_len = p->salt_len;
		memcpy(keys->nsec3p.salt, p->salt, p->salt_len);
		keys->nsec3p.flags = p->opt_out ? DNS_NSEC3_FLAG_OPTOUT : 0;
	}
	return SIGNET_OK;
}
