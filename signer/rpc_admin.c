/* rpc_admin.c -- the admin RPCs: zones, ZSK generation, key-signing request
 * export, key bundle import and key listing; each change audited before it
 * is made and again before the answer leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/convert.h"
#include "signer/internal.h"

#define BUNDLE_MAX (4u * 1024 * 1024)

/* Reply to ListKeys with keys. */
static void reply_keys(srv_call *c, const signer_key *keys, size_t n)
{
	Signet__V1__KeyInfo *ki = calloc(n ? n : 1, sizeof(*ki));
	Signet__V1__KeyInfo **kp = calloc(n ? n : 1, sizeof(*kp));
	if (!ki || !kp) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++) {
			srv_key_to_proto(&keys[i], &ki[i]);
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
	Signet__V1__AddZoneRequest *req = (Signet__V1__AddZoneRequest *)srv_unpack(
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
	if (srv_policy_from_proto(req->policy, &pol, msg, sizeof(msg)) != SIGNET_OK) {
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
		k->created = signer_clock_now();
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

/* What the planner and GenerateZsk need to make a ZSK. */
typedef struct zsk_maker {
	signer_server *srv;
	unsigned rsa_bits;
	unsigned made;        /* keys made */
} zsk_maker;

/* A signer_zsk_maker: a key pair in the token, its DNSKEY, stored GENERATED. */
static signet_err make_zsk(void *arg, const dns_name *zone, uint8_t alg, signer_key *k)
{
	zsk_maker *m = arg;
	char zs[DNS_NAME_STR_MAX];
	dns_name_to_str(zone, zs, sizeof(zs));
	int64_t now = signer_clock_now();
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info info;
	EVP_PKEY *pk = NULL;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	memset(k, 0, sizeof(*k));
	signet_err ret = hsm_key_label("zsk", zs, (hsm_alg)alg, now, label, sizeof(label));
	if (ret == SIGNET_OK)
		ret = hsm_key_generate(m->srv->token, (hsm_alg)alg,
				       alg == DNS_ALG_RSASHA256 ? m->rsa_bits : 0, label, &info);
	if (ret == SIGNET_OK)
		ret = hsm_key_public(m->srv->token, info.id, info.id_len, &pk);
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
		ret = signer_state_add_key(m->srv->state, k);
	}
	EVP_PKEY_free(pk);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "generate ZSK for %s: %s (%s)", zs, signet_strerror(ret),
		       hsm_last_error());
	else
		m->made++;
	return ret;
}

static void generate_zsk(srv_worker *w, srv_call *c, const char **zone_out,
			 char *detail, size_t dlen)
{
	(void)w;
	signer_server *srv = c->srv;
	Signet__V1__GenerateZskRequest *req = (Signet__V1__GenerateZskRequest *)srv_unpack(
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
	zsk_maker m = {.srv = srv, .rsa_bits = pol.rsa_bits};
	signer_key k;
	ret = make_zsk(&m, &zone, pol.algorithm, &k);
	if (ret != SIGNET_OK) {
		srv_fail(c, status_of(ret), "generate ZSK: %s", signet_strerror(ret));
		return;
	}
	snprintf(detail, dlen, "zsk=%u/%u", k.alg, k.key_tag);
	Signet__V1__KeyInfo ki;
	srv_key_to_proto(&k, &ki);
	Signet__V1__GenerateZskResponse resp = SIGNET__V1__GENERATE_ZSK_RESPONSE__INIT;
	resp.key = &ki;
	srv_reply(c, &resp.base);
}

static void export_request(srv_worker *w, srv_call *c, const char **zone_out,
			   char *detail, size_t dlen)
{
	signer_server *srv = c->srv;
	Signet__V1__ExportKeySigningRequestRequest *req =
		(Signet__V1__ExportKeySigningRequestRequest *)srv_unpack(
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
		(void)signer_state_reset_plan(srv->state, &zone);  /* no request: no plan */
	if (ret != SIGNET_OK) {
		srv_fail(c, status_of(ret), "export request for %s: %s%s", zs,
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

static void import_bundle(srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	signer_server *srv = c->srv;
	Signet__V1__ImportKeyBundleRequest *req = (Signet__V1__ImportKeyBundleRequest *)srv_unpack(
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
	{
		Signet__V1__KeyInfo *ki = calloc(nkeys ? nkeys : 1, sizeof(*ki));
		Signet__V1__KeyInfo **kp = calloc(nkeys ? nkeys : 1, sizeof(*kp));
		if (ki && kp) {
			for (size_t i = 0; i < nkeys; i++) {
				srv_key_to_proto(&keys[i], &ki[i]);
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
	Signet__V1__ListKeysRequest *req = (Signet__V1__ListKeysRequest *)srv_unpack(
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

static const char *rollover_action(Signet__V1__RolloverRequest__Action a)
{
	switch (a) {
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__SHOW: return "show";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK: return "add-ksk";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN: return "ds-seen";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_FOREIGN_ZSK: return "add-foreign-zsk";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK: return "remove-foreign-zsk";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__GO_INSECURE: return "go-insecure";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__STAY_SECURE: return "stay-secure";
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK: return "set-clock";
	default: return NULL;
	}
}

static void rollover(srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	signer_server *srv = c->srv;
	Signet__V1__RolloverRequest *req = (Signet__V1__RolloverRequest *)srv_unpack(
		c, &signet__v1__rollover_request__descriptor);
	if (!req)
		return;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	signer_key *keys = NULL;
	size_t n = 0;
	signet_err ret = SIGNET_OK;
	const char *what = rollover_action(req->action);
	if (!what) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "action: unknown value %d",
			 (int)req->action);
		goto out;
	}
	snprintf(detail, dlen, "%s", what);
	if (req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK) {
		/* One clock for every zone: only an admin of every zone moves it. */
		if (!c->who.all_zones) {
			srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "set-clock needs an admin of \"*\"");
			goto out;
		}
		ret = signer_clock_set(req->time);
		if (ret == SIGNET_EPERM)
			srv_fail(c, GRPC_STATUS_FAILED_PRECONDITION,
				 "the clock is the system's (signetd was not started with"
				 " SIGNETD_TEST_CLOCK=1)");
		else if (ret != SIGNET_OK)
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "time: %lld is not a time",
				 (long long)req->time);
		else {
			snprintf(detail, dlen, "set-clock %lld", (long long)req->time);
			Signet__V1__RolloverResponse r = SIGNET__V1__ROLLOVER_RESPONSE__INIT;
			r.now = signer_clock_now();
			srv_reply(c, &r.base);
		}
		goto out;
	}
	if (!admin_zone(c, &req->zone, &zone, zs, sizeof(zs)))
		goto out;
	*zone_out = zs;
	signer_policy pol;
	ret = signer_state_zone_policy(srv->state, &zone, &pol);
	if (ret != SIGNET_OK) {
		srv_fail(c, status_of(ret), "zone %s: %s", zs, signet_strerror(ret));
		goto out;
	}
	int64_t now = signer_clock_now();
	const uint8_t *dk = req->dnskey.data;
	size_t dkl = req->dnskey.len;
	bool needs_key = req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK ||
		req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN ||
		req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_FOREIGN_ZSK ||
		req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK;
	if (needs_key && (dkl < 4 || dkl > SIGNER_DNSKEY_MAX)) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "dnskey: missing or longer than %d octets",
			 SIGNER_DNSKEY_MAX);
		goto out;
	}
	uint16_t tag = 0;
	if (needs_key && dns_key_tag(dk, dkl, &tag) == SIGNET_OK)
		snprintf(detail, dlen, "%s%s %u/%u", what,
			 req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN ? " by hand"
										      : "",
			 dk[3], tag);
	switch (req->action) {
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK:
		ret = signer_rollover_add_ksk(srv->state, &zone, dk, dkl, now);
		break;
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN:
		ret = signer_rollover_ds_seen(srv->state, &zone, dk, dkl, now);
		if (ret == SIGNET_OK)
			signer_metrics_ds_confirmed(srv->metrics, &zone, false);
		break;
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_FOREIGN_ZSK:
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK:
		ret = signer_rollover_foreign_zsk(
			srv->state, &zone, dk, dkl,
			req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK, now);
		break;
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__GO_INSECURE:
	case SIGNET__V1__ROLLOVER_REQUEST__ACTION__STAY_SECURE:
		ret = signer_state_set_zone_insecure(
			srv->state, &zone,
			req->action == SIGNET__V1__ROLLOVER_REQUEST__ACTION__GO_INSECURE);
		break;
	default:
		break;
	}
	if (ret != SIGNET_OK) {
		const char *why = ret == SIGNET_EINVAL ? " (not a DNSKEY of the right kind:"
			" SEP flag for a KSK, none for a ZSK, zone flag, a supported algorithm)"
			: ret == SIGNET_ESTATE && req->action ==
			  SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK
			? " (a KSK rollover is in progress: finish it, and export a request"
			  " after ds-seen)"
			: ret == SIGNET_ESTATE
			? " (no rollover waits for this DS, or the new KSK is not yet in force"
			  " and in every cache: import its bundle and wait)" : "";
		srv_fail(c, status_of(ret), "%s for %s: %s%s", what, zs, signet_strerror(ret), why);
		goto out;
	}
	ret = signer_state_list_keys(srv->state, &zone, 0, &keys, &n);
	if (ret != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "state: %s", signet_strerror(ret));
		goto out;
	}
	{
		Signet__V1__KeyInfo *ki = calloc(n ? n : 1, sizeof(*ki));
		Signet__V1__KeyInfo **kp = calloc(n ? n : 1, sizeof(*kp));
		if (ki && kp) {
			for (size_t i = 0; i < n; i++) {
				srv_key_to_proto(&keys[i], &ki[i]);
				kp[i] = &ki[i];
			}
			Signet__V1__RolloverResponse r = SIGNET__V1__ROLLOVER_RESPONSE__INIT;
			r.keys = kp;
			r.n_keys = n;
			r.now = now;
			srv_reply(c, &r.base);
		} else {
			srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		}
		free(ki);
		free(kp);
	}
out:
	free(keys);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static const char *action_name(srv_method m)
{
	switch (m) {
	case M_ADDZONE: return "AddZone";
	case M_GENZSK: return "GenerateZsk";
	case M_EXPORT: return "ExportKeySigningRequest";
	case M_IMPORT: return "ImportKeyBundle";
	case M_LISTKEYS: return "ListKeys";
	case M_ROLLOVER: return "Rollover";
	default: return "unknown";
	}
}

/* Record that a change is about to be made, before anything is touched:
 * an administrative change the audit log cannot hold is not made at all.
 * The line names the request by its SHA-256; the line after the action
 * names the zone and the result. A change whose result line then fails to
 * write still has this one. */
static signet_err audit_begin(srv_call *c)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (srv_request_bytes(c, &bytes, &len) != SIGNET_OK)
		return SIGNET_OK;  /* nothing to do: the action refuses it */
	char detail[16 + 65] = "request sha256=";
	signer_audit_hash_hex(bytes, len, detail + strlen(detail));
	free(bytes);
	return signer_audit_append(c->srv->audit, c->identity, action_name(c->method), NULL,
				   detail, "begun");
}

void rpc_admin(srv_worker *w, srv_call *c)
{
	const char *zone = NULL;
	char detail[512] = "";
	if (c->who.role == SIGNER_ROLE_ADMIN && c->method != M_LISTKEYS) {
		signet_err ret = audit_begin(c);
		if (ret != SIGNET_OK) {
			sg_log(SG_LOG_ERROR, "audit log write failed: %s", signet_strerror(ret));
			srv_fail(c, GRPC_STATUS_UNAVAILABLE,
				 "audit log unavailable: %s not done", action_name(c->method));
			srv_finish(c);
			return;
		}
	}
	if (c->who.role != SIGNER_ROLE_ADMIN) {
		srv_fail(c, GRPC_STATUS_PERMISSION_DENIED, "'%s' is not an admin", c->identity);
	} else {
		switch (c->method) {
		case M_ADDZONE: add_zone(c, &zone, detail, sizeof(detail)); break;
		case M_GENZSK: generate_zsk(w, c, &zone, detail, sizeof(detail)); break;
		case M_EXPORT: export_request(w, c, &zone, detail, sizeof(detail)); break;
		case M_IMPORT: import_bundle(c, &zone, detail, sizeof(detail)); break;
		case M_LISTKEYS: list_keys(c, &zone); break;
		case M_ROLLOVER: rollover(c, &zone, detail, sizeof(detail)); break;
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
