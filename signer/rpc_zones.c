/* rpc_zones.c -- AddZone: a zone, its policy and its KSKs' DNSKEYs taken
 * into the state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/convert.h"
#include "signer/rpc.h"

void rpc_add_zone(srv_worker *w, srv_call *c, const char **zone_out, char *detail, size_t dlen)
{
	(void)w;
	signer_server *srv = c->srv;
	static __thread char zs[DNS_NAME_STR_MAX];
	dns_name zone;
	Signet__V1__AddZoneRequest *req = (Signet__V1__AddZoneRequest *)srv_unpack_zone(
		c, &signet__v1__add_zone_request__descriptor, &zone, zs, sizeof(zs));
	if (!req)
		return;
	*zone_out = zs;
	signer_policy pol;
	char msg[256] = "";
	signer_key *ksks = NULL;
	signet_err ret;
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
		if (signer_dnskey_check(d->data, d->len, true, &k->key_tag) != SIGNET_OK) {
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
		srv_fail(c, srv_status_of(ret), "zone %s: %s", zs, signet_strerror(ret));
		goto out;
	}
	Signet__V1__AddZoneResponse resp = SIGNET__V1__ADD_ZONE_RESPONSE__INIT;
	srv_reply(c, &resp.base);
out:
	free(ksks);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}
