/* rpc_admin.c -- the admin RPCs: zones, ZSK generation, key-signing request
 * export, key bundle import and key listing; each one audited before the
 * answer leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/internal.h"

#define BUNDLE_MAX (4u * 1024 * 1024)

void srv_policy_to_proto(const signer_policy *p, Signet__V1__Policy *out,
			 Signet__V1__Nsec3Parameters *n3)
{
	signet__v1__policy__init(out);
	signet__v1__nsec3_parameters__init(n3);
	out->algorithm = p->algorithm;
	out->rsa_bits = p->rsa_bits;
	out->validity = p->validity;
	out->backdate = p->backdate;
	out->jitter = p->jitter;
	out->min_validity = p->min_validity;
	out->max_validity = p->max_validity;
	out->denial = p->denial == SIGNER_DENIAL_NSEC3 ? SIGNET__V1__DENIAL__DENIAL_NSEC3
		: SIGNET__V1__DENIAL__DENIAL_NSEC;
	n3->iterations = p->nsec3_iterations;
	n3->salt.data = (uint8_t *)p->nsec3_salt;
	n3->salt.len = p->nsec3_salt_len;
	n3->opt_out = p->nsec3_opt_out;
	out->nsec3 = n3;
	out->dnskey_ttl = p->dnskey_ttl;
	out->keyset_period = p->keyset_period;
	out->verify_after_sign = (Signet__V1__Policy__Verify)p->verify;
}

/* Policy from the API: 0 keeps the default; everything range-checked. */
static signet_err policy_from_proto(const Signet__V1__Policy *in, signer_policy *p,
				    char *msg, size_t msglen)
{
	signer_policy_defaults(p);
	if (!in)
		return SIGNET_OK;
	if (in->algorithm > 255) {
		snprintf(msg, msglen, "policy.algorithm: %u out of range", in->algorithm);
		return SIGNET_EINVAL;
	}
	if (in->algorithm)
		p->algorithm = (uint8_t)in->algorithm;
	if (in->rsa_bits)
		p->rsa_bits = in->rsa_bits;
	if (in->validity) {
		p->validity = in->validity;
		p->jitter = p->validity / 8;
	}
	if (in->backdate)
		p->backdate = in->backdate;
	if (in->jitter)
		p->jitter = in->jitter;
	if (in->min_validity)
		p->min_validity = in->min_validity;
	if (in->max_validity)
		p->max_validity = in->max_validity;
	if (in->denial == SIGNET__V1__DENIAL__DENIAL_NSEC3)
		p->denial = SIGNER_DENIAL_NSEC3;
	else if (in->denial != SIGNET__V1__DENIAL__DENIAL_NSEC &&
		 in->denial != SIGNET__V1__DENIAL__DENIAL_UNSPECIFIED) {
		snprintf(msg, msglen, "policy.denial: unknown value %d", (int)in->denial);
		return SIGNET_EINVAL;
	}
	if (in->nsec3) {
		if (in->nsec3->iterations > 65535 || in->nsec3->salt.len > 255) {
			snprintf(msg, msglen, "policy.nsec3: iterations or salt out of range");
			return SIGNET_EINVAL;
		}
		p->nsec3_iterations = (uint16_t)in->nsec3->iterations;
		p->nsec3_salt_len = (uint8_t)in->nsec3->salt.len;
		if (in->nsec3->salt.len)
			memcpy(p->nsec3_salt, in->nsec3->salt.data, in->nsec3->salt.len);
		p->nsec3_opt_out = in->nsec3->opt_out;
	}
	if (in->dnskey_ttl)
		p->dnskey_ttl = in->dnskey_ttl;
	if (in->keyset_period)
		p->keyset_period = in->keyset_period;
	if ((unsigned)in->verify_after_sign > 2) {
		snprintf(msg, msglen, "policy.verify_after_sign: unknown value");
		return SIGNET_EINVAL;
	}
	p->verify = (signer_verify)in->verify_after_sign;
	return signer_policy_check(p, msg, msglen);
}

static void key_to_proto(const signer_key *k, Signet__V1__KeyInfo *out)
{
	signet__v1__key_info__init(out);
	out->zone.data = (uint8_t *)k->zone.wire;
	out->zone.len = k->zone.len;
	out->id.data = (uint8_t *)k->id;
	out->id.len = k->id_len;
	out->role = (char *)k->role;
	out->algorithm = k->alg;
	out->key_tag = k->key_tag;
	out->state = (Signet__V1__KeyState)k->state;
	out->dnskey.data = (uint8_t *)k->dnskey;
	out->dnskey.len = k->dnskey_len;
	out->created = k->created;
}

/* Reply to ListKeys with keys. */
static void reply_keys(srv_call *c, const signer_key *keys, size_t n)
{
	Signet__V1__KeyInfo *ki = calloc(n ? n : 1, sizeof(*ki));
	Signet__V1__KeyInfo **kp = calloc(n ? n : 1, sizeof(*kp));
	if (!ki || !kp) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++) {
			key_to_proto(&keys[i], &ki[i]);
			kp[i] = &ki[i];
		}
		Signet__V1__ListKeysResponse r = SIGNET__V1__LIST_KEYS_RESPONSE__INIT;
		r.keys = kp;
		r.n_keys = n;
		srv_reply(c, &r.base);
	}
	free(ki);
	free(kp);
}

static ProtobufCMessage *unpack(srv_call *c, const ProtobufCMessageDescriptor *desc)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (srv_request_bytes(c, &bytes, &len) != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
		return NULL;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, bytes);
	free(bytes);
	if (!m)
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "malformed %s", desc->short_name);
	return m;
}

/* Zone of an admin request: well formed and granted to the caller. */
static bool admin_zone(srv_call *c, const ProtobufCBinaryData *b, dns_name *zone,
		       char *zs, size_t zslen)
{
	if (!srv_zone(b, zone)) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "zone: not a wire-form name");
		return false;
	}
	dns_name_to_str(zone, zs, zslen);
	if (!signer_client_has_zone(&c->who, zone)) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' may not administer zone %s",
			 c->identity, zs);
		return false;
	}
	return true;
}

static grpc_status_code status_of(signet_err e)
{
	switch (e) {
	case SIGNET_OK: return GRPC_STATUS_OK;
	case SIGNET_EINVAL: case SIGNET_EPARSE: case SIGNET_ERANGE:
	case SIGNET_EUNSUPPORTED: return GRPC_STATUS_INVALID_ARGUMENT;
	case SIGNET_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
	case SIGNET_EEXIST: return GRPC_STATUS_ALREADY_EXISTS;
	case SIGNET_EDENIED: case SIGNET_EPERM: return GRPC_STATUS_PERMISSION_DENIED;
	case SIGNET_ESTATE: case SIGNET_EVERIFY: return GRPC_STATUS_FAILED_PRECONDITION;
	case SIGNET_EHSM_DOWN: return GRPC_STATUS_UNAVAILABLE;
	case SIGNET_ELIMIT: return GRPC_STATUS_RESOURCE_EXHAUSTED;
	default: return GRPC_STATUS_INTERNAL;
	}
}

static void add_zone(srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	signer_server *srv = c->srv;
	Signet__V1__AddZoneRequest *req = (Signet__V1__AddZoneRequest *)unpack(
		c, &signet__v1__add_zone_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	signer_policy pol;
	char msg[256] = "";
	signer_key *ksks = NULL;
	signet_err ret;
	if (!admin_zone(c, &req->zone, &zone, zs, sizeof(zs)))
		goto out;
	*zone_out = zs;
	if (policy_from_proto(req->policy, &pol, msg, sizeof(msg)) != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s", msg);
		goto out;
	}
	if (req->n_ksk_dnskey == 0 || req->n_ksk_dnskey > 8) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "ksk_dnskey: give 1..8 KSK DNSKEYs");
		goto out;
	}
	ksks = calloc(req->n_ksk_dnskey, sizeof(*ksks));
	if (!ksks) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < req->n_ksk_dnskey; i++) {
		const ProtobufCBinaryData *d = &req->ksk_dnskey[i];
		signer_key *k = &ksks[i];
		if (d->len < 4 || d->len > SIGNER_DNSKEY_MAX ||
		    dns_rdata_check(DNS_T_DNSKEY, d->data, d->len) != SIGNET_OK ||
		    !(sg_get_u16(d->data) & DNS_DNSKEY_FLAG_SEP) ||
		    !(sg_get_u16(d->data) & DNS_DNSKEY_FLAG_ZONE) ||
		    !dns_alg_supported(d->data[3]) ||
		    dns_key_tag(d->data, d->len, &k->key_tag) != SIGNET_OK) {
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				 "ksk_dnskey[%zu]: not a supported DNSKEY with the SEP flag", i);
			goto out;
		}
		k->zone = zone;
		memcpy(k->role, "ksk", 4);
		k->alg = d->data[3];
		k->state = SIGNER_KEY_PUBLISHED;
		memcpy(k->dnskey, d->data, d->len);
		k->dnskey_len = d->len;
		k->created = (int64_t)time(NULL);
		snprintf(detail + strlen(detail), dlen - strlen(detail), "%sksk=%u/%u",
			 i ? " " : "", k->alg, k->key_tag);
	}
	ret = signer_state_add_zone(srv->state, &zone, &pol, ksks, req->n_ksk_dnskey);
	if (ret != SIGNET_OK) {
		srv_fail(c, status_of(ret), "zone %s: %s", zs, signet_strerror(ret));
		goto out;
	}
	Signet__V1__AddZoneResponse resp = SIGNET__V1__ADD_ZONE_RESPONSE__INIT;
	srv_reply(c, &resp.base);
out:
	free(ksks);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void generate_zsk(srv_worker *w, srv_call *c, const char **zone_out,
			 char *detail, size_t dlen)
{
	(void)w;
	signer_server *srv = c->srv;
	Signet__V1__GenerateZskRequest *req = (Signet__V1__GenerateZskRequest *)unpack(
		c, &signet__v1__generate_zsk_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	bool ok = admin_zone(c, &req->zone, &zone, zs, sizeof(zs));
	protobuf_c_message_free_unpacked(&req->base, NULL);
	if (!ok)
		return;
	*zone_out = zs;
	signer_policy pol;
	signet_err ret = signer_state_zone_policy(srv->state, &zone, &pol);
	if (ret != SIGNET_OK) {
		srv_fail(c, status_of(ret), "zone %s: %s", zs, signet_strerror(ret));
		return;
	}
	int64_t now = (int64_t)time(NULL);
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info info;
	EVP_PKEY *pk = NULL;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	signer_key k;
	memset(&k, 0, sizeof(k));
	ret = hsm_key_label("zsk", zs, (hsm_alg)pol.algorithm, now, label, sizeof(label));
	if (ret == SIGNET_OK)
		ret = hsm_key_generate(srv->token, (hsm_alg)pol.algorithm,
				       pol.algorithm == DNS_ALG_RSASHA256 ? pol.rsa_bits : 0,
				       label, &info);
	if (ret == SIGNET_OK)
		ret = hsm_key_public(srv->token, info.id, info.id_len, &pk);
	if (ret == SIGNET_OK)
		ret = dns_dnskey_pubkey_from_evp(pol.algorithm, pk, &pub);
	if (ret == SIGNET_OK)
		ret = dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, pol.algorithm, pub.data, pub.len, &rd);
	if (ret == SIGNET_OK && rd.len > SIGNER_DNSKEY_MAX)
		ret = SIGNET_ERANGE;
	if (ret == SIGNET_OK)
		ret = dns_key_tag(rd.data, rd.len, &k.key_tag);
	if (ret == SIGNET_OK) {
		k.zone = zone;
		memcpy(k.role, "zsk", 4);
		memcpy(k.id, info.id, info.id_len);
		k.id_len = info.id_len;
		k.alg = pol.algorithm;
		k.state = SIGNER_KEY_GENERATED;
		memcpy(k.dnskey, rd.data, rd.len);
		k.dnskey_len = rd.len;
		k.created = now;
		ret = signer_state_add_key(srv->state, &k);
	}
	EVP_PKEY_free(pk);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "generate ZSK for %s: %s (%s)", zs, signet_strerror(ret),
		       hsm_last_error());
		srv_fail(c, status_of(ret), "generate ZSK: %s", signet_strerror(ret));
		return;
	}
	snprintf(detail, dlen, "zsk=%u/%u", k.alg, k.key_tag);
	Signet__V1__KeyInfo ki;
	key_to_proto(&k, &ki);
	Signet__V1__GenerateZskResponse resp = SIGNET__V1__GENERATE_ZSK_RESPONSE__INIT;
	resp.key = &ki;
	srv_reply(c, &resp.base);
}

static void export_request(srv_worker *w, srv_call *c, const char **zone_out,
			   char *detail, size_t dlen)
{
	signer_server *srv = c->srv;
	Signet__V1__ExportKeySigningRequestRequest *req =
		(Signet__V1__ExportKeySigningRequestRequest *)unpack(
			c, &signet__v1__export_key_signing_request_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	uint32_t days = req->days;
	bool ok = admin_zone(c, &req->zone, &zone, zs, sizeof(zs));
	protobuf_c_message_free_unpacked(&req->base, NULL);
	if (!ok)
		return;
	*zone_out = zs;
	if (days < 1 || days > 366) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "days: %u is outside 1..366", days);
		return;
	}
	uint64_t serial = 0;
	dns_keyset ks;
	memset(&ks, 0, sizeof(ks));
	sg_buf text = SG_BUF_INIT;
	signet_err ret = signer_state_next_serial(srv->state, &zone, &serial);
	if (ret == SIGNET_OK)
		ret = signer_keyset_build_request(srv->state, w->sess, &zone, days,
						  (int64_t)time(NULL), serial, &ks);
	if (ret == SIGNET_OK)
		ret = dns_keyset_write(&ks, &text);
	if (ret == SIGNET_OK)
		ret = signer_state_save_request(srv->state, &zone, serial, text.data, text.len);
	size_t periods = ks.count;
	dns_keyset_free(&ks);
	if (ret != SIGNET_OK) {
		srv_fail(c, status_of(ret), "export request for %s: %s%s", zs,
			 signet_strerror(ret),
			 ret == SIGNET_ESTATE ? " (the zone needs a ZSK and a KSK)" : "");
		sg_buf_free(&text);
		return;
	}
	snprintf(detail, dlen, "serial=%llu periods=%zu", (unsigned long long)serial, periods);
	Signet__V1__ExportKeySigningRequestResponse resp =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_RESPONSE__INIT;
	resp.request.data = text.data;
	resp.request.len = text.len;
	resp.serial = serial;
	srv_reply(c, &resp.base);
	sg_buf_free(&text);
}

static void import_bundle(srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	signer_server *srv = c->srv;
	Signet__V1__ImportKeyBundleRequest *req = (Signet__V1__ImportKeyBundleRequest *)unpack(
		c, &signet__v1__import_key_bundle_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	memset(&zone, 0, sizeof(zone));
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
	if (!admin_zone(c, &req->zone, &zone, zs, sizeof(zs)))
		goto out;
	*zone_out = zs;
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
		srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION, "zone %s: no request was exported", zs);
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
		srv_fail(c, status_of(ret), "bundle: %s", signet_strerror(ret));
		goto out;
	}
	free(keys);
	keys = NULL;
	ret = signer_state_list_keys(srv->state, &zone, SIGNER_KEY_ACTIVE, &keys, &nkeys);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		goto out;
	}
	snprintf(detail, dlen, "serial=%llu periods=%zu active=%zu",
		 (unsigned long long)bundle.serial, bundle.count, nkeys);
	{
		Signet__V1__KeyInfo *ki = calloc(nkeys ? nkeys : 1, sizeof(*ki));
		Signet__V1__KeyInfo **kp = calloc(nkeys ? nkeys : 1, sizeof(*kp));
		if (ki && kp) {
			for (size_t i = 0; i < nkeys; i++) {
				key_to_proto(&keys[i], &ki[i]);
				kp[i] = &ki[i];
			}
			Signet__V1__ImportKeyBundleResponse r =
				SIGNET__V1__IMPORT_KEY_BUNDLE_RESPONSE__INIT;
			r.serial = bundle.serial;
			r.periods = (uint32_t)bundle.count;
			r.activated = kp;
			r.n_activated = nkeys;
			srv_reply(c, &r.base);
		}
		else
			srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		free(ki);
		free(kp);
	}
out:
	free(keys);
	dns_rrset_clear(&publish);
	sg_buf_free(&rtext);
	dns_keyset_free(&bundle);
	dns_keyset_free(&request);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void list_keys(srv_call *c, const char **zone_out)
{
	signer_server *srv = c->srv;
	Signet__V1__ListKeysRequest *req = (Signet__V1__ListKeysRequest *)unpack(
		c, &signet__v1__list_keys_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	bool all = req->zone.len == 0;
	bool ok = all || admin_zone(c, &req->zone, &zone, zs, sizeof(zs));
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

static const char *action_name(srv_method m)
{
	switch (m) {
	case M_ADDZONE: return "AddZone";
	case M_GENZSK: return "GenerateZsk";
	case M_EXPORT: return "ExportKeySigningRequest";
	case M_IMPORT: return "ImportKeyBundle";
	case M_LISTKEYS: return "ListKeys";
	default: return "unknown";
	}
}

void rpc_admin(srv_worker *w, srv_call *c)
{
	const char *zone = NULL;
	char detail[512] = "";
	if (c->who.role != SIGNER_ROLE_ADMIN) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' is not an admin", c->identity);
	} else {
		switch (c->method) {
		case M_ADDZONE: add_zone(c, &zone, detail, sizeof(detail)); break;
		case M_GENZSK: generate_zsk(w, c, &zone, detail, sizeof(detail)); break;
		case M_EXPORT: export_request(w, c, &zone, detail, sizeof(detail)); break;
		case M_IMPORT: import_bundle(c, &zone, detail, sizeof(detail)); break;
		case M_LISTKEYS: list_keys(c, &zone); break;
		default: srv_fail(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method"); break;
		}
	}
	/* Refusals are recorded too: an admin call from a signer identity is
	 * worth knowing about. The record exists before the client hears. */
	char result[600];
	if (c->status == GRPC_STATUS_OK)
		snprintf(result, sizeof(result), "ok");
	else
		snprintf(result, sizeof(result), "status %d: %s", (int)c->status, c->details);
	signet_err ret = signer_audit_append(c->srv->audit, c->identity, action_name(c->method),
					     zone, detail, result);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "audit log write failed: %s", signet_strerror(ret));
		srv_fail(c, GRPC_STATUS_INTERNAL, "audit log write failed");
	}
	srv_finish(c);
}
