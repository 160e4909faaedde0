/* rpc_keyset.c -- the admin RPCs of a zone's key set: GenerateZsk, the
 * key-signing request out to the ceremony (ExportKeySigningRequest), the
 * signed bundle back in (ImportKeyBundle), and ListKeys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/convert.h"
#include "signer/rpc.h"

#define BUNDLE_MAX (4u * 1024 * 1024)

/* What the planner and GenerateZsk need to make a ZSK. */
typedef struct zsk_maker {
	signer_server *srv;
	unsigned rsa_bits;
	unsigned made; /* keys made */
} zsk_maker;

/* A signer_zsk_maker: a key pair in the token, its DNSKEY, stored GENERATED. */
static signet_err make_zsk(void *arg, const dns_name *zone, uint8_t alg, signer_key *k)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	zsk_maker *m = arg;
	char zs[DNS_NAME_STR_MAX];
	dns_name_to_str(zone, zs, sizeof(zs));
	int64_t now = signer_clock_now();
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info info;
	EVP_PKEY *pk = NULL;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	memset(k, 0, sizeof(*k));
	signet_err ret = hsm_key_label("zsk", zs, (hsm_alg)alg, now, label, sizeof(label), hsmerr,
				       sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = hsm_key_generate(m->srv->token, (hsm_alg)alg,
				       alg == DNS_ALG_RSASHA256 ? m->rsa_bits : 0, label, &info,
				       hsmerr, sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = hsm_key_public(m->srv->token, info.id, info.id_len, &pk, hsmerr,
				     sizeof(hsmerr));
	if (ret == SIGNET_OK)
		ret = dns_dnskey_pubkey_from_evp(alg, pk, &pub);
	if (ret == SIGNET_OK)
		ret = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, alg, pub.data, pub.len, &rd);
	if (ret == SIGNET_OK && rd.len > SIGNER_DNSKEY_MAX)
		ret = SIGNET_ERANGE;
	if (ret == SIGNET_OK)
		ret = dns_key_tag(rd.data, rd.len, &k->key_tag);
	if (ret == SIGNET_OK) {
		k->zone = *zone;
		memcpy(k->role, "zsk", 4);
		memcpy(k->id, info.id, info.id_len);
		k->id_len = info.id_len;
		k->alg = alg;
		k->state = SIGNER_KEY_GENERATED;
		memcpy(k->dnskey, rd.data, rd.len);
		k->dnskey_len = rd.len;
		k->created = now;
		ret = signer_backups_zsk(m->srv->backups, k);
	}
	if (ret == SIGNET_OK)
		ret = signer_state_add_key(m->srv->state, k);
	EVP_PKEY_free(pk);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "generate ZSK for %s: %s (%s)", zs, signet_strerror(ret),
		       hsmerr);
	else
		m->made++;
	return ret;
}

void rpc_generate_zsk(srv_worker *w, srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	(void)w;
	signer_server *srv = c->srv;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	ProtobufCMessage *req = srv_unpack_zone(c, &signet__v1__generate_zsk_request__descriptor,
						&zone, zs, sizeof(zs));
	if (!req)
		return;
	protobuf_c_message_free_unpacked(req, NULL);
	*zone_out = zs;
	signer_policy pol;
	if (!srv_zone_policy(c, &zone, zs, &pol))
		return;
	zsk_maker m = {.srv = srv, .rsa_bits = pol.rsa_bits};
	signer_key k;
	signet_err ret = make_zsk(&m, &zone, pol.algorithm, &k);
	if (ret != SIGNET_OK) {
		srv_fail(c, srv_status_of(ret), "generate ZSK: %s", signet_strerror(ret));
		return;
	}
	snprintf(detail, dlen, "zsk=%u/%u", k.alg, k.key_tag);
	Signet__V1__KeyInfo ki;
	srv_key_to_proto(&k, &ki);
	Signet__V1__GenerateZskResponse resp = SIGNET__V1__GENERATE_ZSK_RESPONSE__INIT;
	resp.key = &ki;
	srv_reply(c, &resp.base);
}

void rpc_export_request(srv_worker *w, srv_call *c, const char **zone_out, char *detail,
			size_t dlen)
{
	signer_server *srv = c->srv;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	Signet__V1__ExportKeySigningRequestRequest *req =
		(Signet__V1__ExportKeySigningRequestRequest *)srv_unpack_zone(
			c, &signet__v1__export_key_signing_request_request__descriptor, &zone, zs,
			sizeof(zs));
	if (!req)
		return;
	uint32_t days = req->days;
	protobuf_c_message_free_unpacked(&req->base, NULL);
	*zone_out = zs;
	if (days < 1 || days > 366) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "days: %u is outside 1..366", days);
		return;
	}
	uint64_t serial = 0;
	dns_keyset ks;
	memset(&ks, 0, sizeof(ks));
	sg_buf text = SG_BUF_INIT;
	/* The request covers the schedule up to the next ceremony: ZSK
	 * successors due before its end are made and planned now. */
	int64_t now = signer_clock_now();
	signer_policy pol;
	zsk_maker m = {.srv = srv};
	signet_err ret = signer_state_zone_policy(srv->state, &zone, &pol);
	m.rsa_bits = pol.rsa_bits;
	if (ret == SIGNET_OK)
		ret = signer_state_next_serial(srv->state, &zone, &serial);
	if (ret == SIGNET_OK)
		ret = signer_rollover_plan(srv->state, &zone, now,
					   now / 3600 * 3600 + (int64_t)days * 86400, make_zsk, &m);
	char why[400] = "";
	if (ret == SIGNET_OK &&
	    signer_backups_check_zone(srv->backups, &zone, why, sizeof(why)) != SIGNET_OK) {
		(void)signer_state_reset_plan(srv->state, &zone);
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "export request for %s: %s", zs,
			 why[0] ? why : "the backups cannot be checked");
		return;
	}
	/* Every ZSK in the request is proven by a signature of this token:
	 * keys made on other replicas are restored first, and a key that
	 * cannot be sends the export to a replica that holds it. */
	size_t lacking = 0;
	if (ret == SIGNET_OK &&
	    (ret = signer_replica_keys_sync(srv->replica_keys, false, NULL, NULL)) == SIGNET_OK)
		signer_replica_keys_zone(srv->replica_keys, &zone, now, &lacking, NULL, why,
					 sizeof(why));
	if (ret == SIGNET_OK && lacking) {
		(void)signer_state_reset_plan(srv->state, &zone);
		srv_fail(c, GRPC_STATUS_UNAVAILABLE,
			 "export request for %s: replica %s lacks %s; export on a replica "
			 "that holds it",
			 zs, signer_replica_keys_name(srv->replica_keys), why);
		return;
	}
	if (ret == SIGNET_OK)
		ret = signer_keyset_build_request(srv->state, w->sess, &zone, days, now, serial,
						  &ks);
	if (ret == SIGNET_OK)
		ret = dns_keyset_write(&ks, &text);
	if (ret == SIGNET_OK)
		ret = signer_state_save_request(srv->state, &zone, serial, text.data, text.len);
	size_t periods = ks.count;
	dns_keyset_free(&ks);
	if (ret != SIGNET_OK)
		(void)signer_state_reset_plan(srv->state, &zone); /* no request: no plan */
	if (ret != SIGNET_OK) {
		srv_fail(c, srv_status_of(ret), "export request for %s: %s%s", zs,
			 signet_strerror(ret),
			 ret == SIGNET_ESTATE ? " (the zone needs a ZSK and a KSK)" : "");
		sg_buf_free(&text);
		return;
	}
	snprintf(detail, dlen, "serial=%llu periods=%zu new_zsks=%u", (unsigned long long)serial,
		 periods, m.made);
	Signet__V1__ExportKeySigningRequestResponse resp =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_RESPONSE__INIT;
	resp.request.data = text.data;
	resp.request.len = text.len;
	resp.serial = serial;
	srv_reply(c, &resp.base);
	sg_buf_free(&text);
}

void rpc_import_bundle(srv_worker *w, srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	(void)w;
	signer_server *srv = c->srv;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	Signet__V1__ImportKeyBundleRequest *req = (Signet__V1__ImportKeyBundleRequest *)
		srv_unpack_zone(c, &signet__v1__import_key_bundle_request__descriptor, &zone, zs,
				sizeof(zs));
	if (!req)
		return;
	*zone_out = zs;
	dns_keyset bundle, request;
	memset(&bundle, 0, sizeof(bundle));
	memset(&request, 0, sizeof(request));
	sg_buf rtext = SG_BUF_INIT;
	signer_key *keys = NULL;
	size_t nkeys = 0;
	dns_rrset publish;
	dns_rrset_init(&publish, &zone, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	char msg[256] = "";
	unsigned line = 0;
	uint64_t rserial = 0;
	signet_err ret;
	if (req->bundle.len == 0 || req->bundle.len > BUNDLE_MAX) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "bundle: empty or larger than %u octets",
			 BUNDLE_MAX);
		goto out;
	}
	ret = dns_keyset_parse((const char *)req->bundle.data, req->bundle.len, &bundle, &line);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "bundle: line %u: %s", line,
			 signet_strerror(ret));
		goto out;
	}
	if (!dns_name_equal(&bundle.zone, &zone)) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "bundle: $ZONE is not %s", zs);
		goto out;
	}
	ret = signer_state_last_request(srv->state, &zone, &rserial, &rtext);
	if (ret == SIGNET_ENOTFOUND) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "zone %s: no request was exported",
			 zs);
		goto out;
	}
	if (ret == SIGNET_OK)
		ret = dns_keyset_parse((const char *)rtext.data, rtext.len, &request, NULL);
	if (ret == SIGNET_OK)
		ret = signer_state_list_keys(srv->state, &zone, 0, &keys, &nkeys);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		goto out;
	}
	/* Only the zone's own KSKs count; ZSKs in the list are never SEP-matched
	 * because their DNSKEY lacks the flag. */
	size_t nksk = 0;
	for (size_t i = 0; i < nkeys; i++)
		if (strcmp(keys[i].role, "ksk") == 0 && keys[i].state != SIGNER_KEY_REMOVED)
			keys[nksk++] = keys[i];
	ret = signer_keyset_check_bundle(&request, &bundle, keys, nksk, msg, sizeof(msg));
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "bundle refused: %s", msg);
		goto out;
	}
	for (size_t i = 0; ret == SIGNET_OK && i < bundle.count; i++)
		for (size_t k = 0; ret == SIGNET_OK && k < bundle.periods[i].dnskey.count; k++)
			ret = dns_rrset_add(&publish, bundle.periods[i].dnskey.rr[k].data,
					    bundle.periods[i].dnskey.rr[k].len);
	if (ret == SIGNET_OK)
		ret = signer_state_save_bundle(srv->state, &zone, bundle.serial, req->bundle.data,
					       req->bundle.len, &publish);
	if (ret != SIGNET_OK) {
		srv_fail(c, srv_status_of(ret), "bundle: %s", signet_strerror(ret));
		goto out;
	}
	free(keys);
	keys = NULL;
	ret = signer_state_list_keys(srv->state, &zone, SIGNER_KEY_ACTIVE, &keys, &nkeys);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		goto out;
	}
	{
		/* The ZSKs that sign: KSKs are "active" while their DS is due. */
		size_t m = 0;
		for (size_t i = 0; i < nkeys; i++)
			if (strcmp(keys[i].role, "zsk") == 0)
				keys[m++] = keys[i];
		nkeys = m;
	}
	snprintf(detail, dlen, "serial=%llu periods=%zu active=%zu",
		 (unsigned long long)bundle.serial, bundle.count, nkeys);
	Signet__V1__KeyInfo *ki, **kp;
	if (srv_keys_to_proto(keys, nkeys, &ki, &kp) == SIGNET_OK) {
		Signet__V1__ImportKeyBundleResponse r =
			SIGNET__V1__IMPORT_KEY_BUNDLE_RESPONSE__INIT;
		r.serial = bundle.serial;
		r.periods = (uint32_t)bundle.count;
		r.activated = kp;
		r.n_activated = nkeys;
		srv_reply(c, &r.base);
	} else {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	}
	free(ki);
	free(kp);
out:
	free(keys);
	dns_rrset_clear(&publish);
	sg_buf_free(&rtext);
	dns_keyset_free(&bundle);
	dns_keyset_free(&request);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* Reply to ListKeys with keys. */
static void reply_keys(srv_call *c, const signer_key *keys, size_t n)
{
	Signet__V1__KeyInfo *ki, **kp;
	if (srv_keys_to_proto(keys, n, &ki, &kp) != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].role, "zsk") == 0 && !keys[i].foreign)
			ki[i].backup = (Signet__V1__BackupState)(signer_backups_status(
									 c->srv->backups,
									 &keys[i]) +
								 1);
	Signet__V1__ListKeysResponse r = SIGNET__V1__LIST_KEYS_RESPONSE__INIT;
	r.keys = kp;
	r.n_keys = n;
	srv_reply(c, &r.base);
	free(ki);
	free(kp);
}

void rpc_list_keys(srv_worker *w, srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	(void)w;
	(void)detail;
	(void)dlen;
	signer_server *srv = c->srv;
	Signet__V1__ListKeysRequest *req = (Signet__V1__ListKeysRequest *)srv_unpack(
		c, &signet__v1__list_keys_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	bool all = req->zone.len == 0;
	bool ok = all || srv_admin_zone(c, &req->zone, &zone, zs, sizeof(zs));
	protobuf_c_message_free_unpacked(&req->base, NULL);
	if (!ok)
		return;
	if (!all)
		*zone_out = zs;
	signer_key *keys = NULL;
	size_t n = 0;
	signet_err ret = signer_state_list_keys(srv->state, all ? NULL : &zone, 0, &keys, &n);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		return;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (signer_client_has_zone(&c->who, &keys[i].zone))
			keys[m++] = keys[i];
	reply_keys(c, keys, m);
	free(keys);
}
