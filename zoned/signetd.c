/* signetd.c -- signetd as the zone engine's signing backend (SignRRsets,
 * pipelined) and the source of the key set (GetKeySet): the one file of
 * zoned that converts between dns_* and the generated protobuf types. */
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/signet.pb-c.h"
#include "zoned/zoned.h"

/* A batch in flight. */
typedef struct job {
	dns_rrset *const *sigs;
	const dns_rrset *const *sets;
	size_t n;
	void *tag;                 /* the engine's */
} job;

static signet_err be_start(void *ctx, const dns_name *apex, const dns_rrset *const *sets,
			   dns_rrset *const *sigs, size_t n, void *tag)
{
	zoned_signetd *s = ctx;
	size_t nrr = 0;
	for (size_t k = 0; k < n; k++)
		nrr += sets[k]->count;
	Signet__V1__RRset *rs = calloc(n ? n : 1, sizeof(*rs));
	Signet__V1__RRset **rp = calloc(n ? n : 1, sizeof(*rp));
	ProtobufCBinaryData *rd = calloc(nrr ? nrr : 1, sizeof(*rd));
	job *j = calloc(1, sizeof(*j));
	signet_err ret = SIGNET_ENOMEM;
	if (!rs || !rp || !rd || !j)
		goto out;
	size_t used = 0;
	for (size_t k = 0; k < n; k++) {
		const dns_rrset *set = sets[k];
		signet__v1__rrset__init(&rs[k]);
		rs[k].owner.data = (uint8_t *)set->owner.wire;
		rs[k].owner.len = set->owner.len;
		rs[k].type = set->type;
		rs[k].rclass = DNS_CLASS_IN;
		rs[k].ttl = set->ttl;
		rs[k].n_rdata = set->count;
		rs[k].rdata = rd + used;
		for (size_t i = 0; i < set->count; i++) {
			rd[used].data = set->rr[i].data;
			rd[used++].len = set->rr[i].len;
		}
		rp[k] = &rs[k];
	}
	Signet__V1__SignRequest req = SIGNET__V1__SIGN_REQUEST__INIT;
	req.zone.data = (uint8_t *)apex->wire;
	req.zone.len = apex->len;
	req.n_rrsets = n;
	req.rrsets = rp;
	size_t len = protobuf_c_message_get_packed_size(&req.base);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	protobuf_c_message_pack(&req.base, buf);
	*j = (job){sigs, sets, n, tag};
	ret = client_start(s->conn, CLIENT_SVC "SignRRsets", buf, len, j);
	if (ret == SIGNET_OK)
		j = NULL;
out:
	free(rs);
	free(rp);
	free(rd);
	free(j);
	return ret;
}

/* The RRSIGs of one answer into the job's sets; items not signed stay
 * empty, and the engine counts them. */
static void take(job *j, const sg_buf *resp)
{
	Signet__V1__SignResponse *a =
		signet__v1__sign_response__unpack(NULL, resp->len, resp->data);
	if (!a || a->n_results != j->n) {
		sg_log(SG_LOG_WARNING, "zoned: SignRRsets: answer %s",
		       a ? "with the wrong number of results" : "does not unpack");
		if (a)
			signet__v1__sign_response__free_unpacked(a, NULL);
		return;
	}
	for (size_t k = 0; k < a->n_results; k++) {
		const Signet__V1__SignResult *res = a->results[k];
		if (res->index != k || res->status != SIGNET__V1__ITEM_STATUS__ITEM_SIGNED) {
			if (res->message)
				sg_log(SG_LOG_WARNING, "zoned: SignRRsets: %s", res->message);
			continue;
		}
		for (size_t i = 0; i < res->n_rrsig; i++) {
			dns_rrsig sig;
			if (res->rrsig[i].len > DNS_RDATA_MAX ||
			    dns_rrsig_from_rdata(&sig, res->rrsig[i].data, res->rrsig[i].len) !=
				    SIGNET_OK ||
			    sig.type_covered != j->sets[k]->type ||
			    dns_rrset_add(j->sigs[k], res->rrsig[i].data, res->rrsig[i].len) !=
				    SIGNET_OK) {
				dns_rrset_clear(j->sigs[k]);
				break;
			}
		}
	}
	signet__v1__sign_response__free_unpacked(a, NULL);
}

static signet_err be_wait(void *ctx, void **tag)
{
	zoned_signetd *s = ctx;
	void *t = NULL;
	client_status st;
	sg_buf resp = SG_BUF_INIT;
	signet_err ret = client_next(s->conn, &t, &st, &resp);
	if (ret == SIGNET_OK) {
		job *j = t;
		*tag = j->tag;
		if (st.code != 0) {
			sg_log(SG_LOG_WARNING, "zoned: SignRRsets: %s: %s", client_status_name(st.code),
			       st.details);
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

void zoned_signetd_backend(zoned_signetd *s, zone_backend *out)
{
	*out = (zone_backend){s, be_start, be_wait};
}

/* A key-set RRset from GetKeySet: owner the apex, the expected type, RDATA
 * that checks. */
static signet_err keyset_rrset(const Signet__V1__RRset *r, const dns_name *apex, uint16_t type,
			       dns_rrset *out)
{
	dns_rrset_init(out, apex, type, DNS_CLASS_IN, 0);
	if (!r || r->n_rdata == 0)
		return SIGNET_OK;
	dns_name owner;
	if (dns_name_from_wire(&owner, r->owner.data, r->owner.len, NULL) != SIGNET_OK ||
	    !dns_name_equal(&owner, apex) || r->type != type || r->ttl > 0x7fffffffu ||
	    r->n_rdata > 1024)
		return SIGNET_EPARSE;
	out->ttl = r->ttl;
	for (size_t i = 0; i < r->n_rdata; i++) {
		signet_err ret = r->rdata[i].len > DNS_RDATA_MAX
					 ? SIGNET_ERANGE
					 : dns_rdata_check(type, r->rdata[i].data, r->rdata[i].len);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(out, r->rdata[i].data, r->rdata[i].len);
		if (ret != SIGNET_OK) {
			dns_rrset_clear(out);
			return SIGNET_EPARSE;
		}
	}
	return SIGNET_OK;
}

signet_err zoned_signetd_keyset(zoned_signetd *s, const dns_name *apex, zone_keys *keys,
				char *errmsg, size_t errlen)
{
	Signet__V1__GetKeySetRequest req = SIGNET__V1__GET_KEY_SET_REQUEST__INIT;
	req.zone.data = (uint8_t *)apex->wire;
	req.zone.len = apex->len;
	ProtobufCMessage *m = NULL;
	client_status st;
	signet_err ret = client_call_msg(s->conn, CLIENT_SVC "GetKeySet", &req.base,
					 &signet__v1__get_key_set_response__descriptor, &m, &st);
	if (ret != SIGNET_OK || st.code != 0) {
		snprintf(errmsg, errlen, "GetKeySet: %s",
			 ret != SIGNET_OK ? signet_strerror(ret) : client_status_name(st.code));
		protobuf_c_message_free_unpacked(m, NULL);
		return SIGNET_EIO;
	}
	Signet__V1__GetKeySetResponse *ks = (Signet__V1__GetKeySetResponse *)m;
	zone_keys k;
	zone_keys_init(&k, apex);
	ret = keyset_rrset(ks->dnskey, apex, DNS_T_DNSKEY, &k.dnskey);
	if (ret == SIGNET_OK)
		ret = keyset_rrset(ks->cds, apex, DNS_T_CDS, &k.cds);
	if (ret == SIGNET_OK)
		ret = keyset_rrset(ks->cdnskey, apex, DNS_T_CDNSKEY, &k.cdnskey);
	if (ret == SIGNET_OK)
		ret = keyset_rrset(ks->rrsig, apex, DNS_T_RRSIG, &k.ksk_sigs);
	const Signet__V1__Policy *p = ks->policy;
	if (ret == SIGNET_OK && (k.dnskey.count == 0 || k.ksk_sigs.count == 0))
		ret = SIGNET_EPARSE;
	if (ret == SIGNET_OK && p && p->nsec3 &&
	    (p->nsec3->iterations > 100 || p->nsec3->salt.len > 255))
		ret = SIGNET_EPARSE;
	if (ret == SIGNET_OK) {
		k.alg = p && p->algorithm ? (uint8_t)p->algorithm : DNS_ALG_ECDSAP256SHA256;
		k.validity = p && p->validity ? p->validity : 14 * 86400;
		k.nsec3 = p && p->denial == SIGNET__V1__DENIAL__DENIAL_NSEC3;
		if (k.nsec3 && p->nsec3) {
			k.nsec3p.iterations = (uint16_t)p->nsec3->iterations;
			k.nsec3p.salt_len = (uint8_t)p->nsec3->salt.len;
			if (p->nsec3->salt.len)
				memcpy(k.nsec3p.salt, p->nsec3->salt.data, p->nsec3->salt.len);
			if (p->nsec3->opt_out)
				k.nsec3p.flags = DNS_NSEC3_FLAG_OPTOUT;
		}
		zone_keys_clear(keys);
		*keys = k;
	} else {
		snprintf(errmsg, errlen, "GetKeySet: the key set does not check");
		zone_keys_clear(&k);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}
