/* convert.c -- signetd's side of the API's shapes: the generated protobuf
 * types to and from signer_policy, signer_key, dns_rrset and dns_name. The
 * handlers build and read no such field by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/convert.h"

bool srv_zone(const ProtobufCBinaryData *b, dns_name *out)
{
	size_t used = 0;
	if (!b->data || b->len == 0 ||
	    dns_name_from_wire(out, b->data, b->len, &used) != SIGNET_OK || used != b->len)
		return false;
	dns_name_lower(out);
	return true;
}

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
	out->zsk_lifetime = p->zsk_lifetime;
	out->ksk_lifetime = p->ksk_lifetime;
	out->ds_ttl = p->ds_ttl;
	out->max_zone_ttl = p->max_zone_ttl;
	out->propagation = p->propagation;
	out->publish_margin = p->publish_margin;
	out->retire_margin = p->retire_margin;
	out->refresh = p->refresh;
	out->ksk_rollover = p->ksk_roll == SIGNER_KSK_DOUBLE_DS
				    ? SIGNET__V1__POLICY__KSK_ROLLOVER__DOUBLE_DS
				    : SIGNET__V1__POLICY__KSK_ROLLOVER__DOUBLE_KSK;
}

signet_err srv_policy_from_proto(const Signet__V1__Policy *in, signer_policy *p, char *msg,
				 size_t msglen)
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
	/* Timing not given follows what was: defaults that fit the validity. */
	if (!in->refresh)
		p->refresh = p->validity / 4;
	if (!in->keyset_period && p->keyset_period > p->validity)
		p->keyset_period = p->validity < 86400 ? 86400 : p->validity;
	if (!in->max_zone_ttl && p->max_zone_ttl >= p->validity)
		p->max_zone_ttl = p->validity / 2;
	if (in->ds_ttl)
		p->ds_ttl = in->ds_ttl;
	if (in->max_zone_ttl)
		p->max_zone_ttl = in->max_zone_ttl;
	if (in->propagation)
		p->propagation = in->propagation;
	if (in->publish_margin)
		p->publish_margin = in->publish_margin;
	if (in->retire_margin)
		p->retire_margin = in->retire_margin;
	if (in->refresh)
		p->refresh = in->refresh;
	if (in->ksk_lifetime)
		p->ksk_lifetime = in->ksk_lifetime;
	if (in->zsk_lifetime) {
		p->zsk_lifetime = in->zsk_lifetime;
	} else {
		uint64_t need = (uint64_t)signer_policy_ipub(p) + signer_policy_iret(p);
		if (need > p->zsk_lifetime && need <= 3650ull * 86400)
			p->zsk_lifetime = (uint32_t)need;
	}
	if (in->ksk_rollover == SIGNET__V1__POLICY__KSK_ROLLOVER__DOUBLE_DS)
		p->ksk_roll = SIGNER_KSK_DOUBLE_DS;
	else if (in->ksk_rollover != SIGNET__V1__POLICY__KSK_ROLLOVER__DOUBLE_KSK &&
		 in->ksk_rollover != SIGNET__V1__POLICY__KSK_ROLLOVER__KSK_ROLLOVER_UNSPECIFIED) {
		snprintf(msg, msglen, "policy.ksk_rollover: unknown value %d",
			 (int)in->ksk_rollover);
		return SIGNET_EINVAL;
	}
	return signer_policy_check(p, msg, msglen);
}

void srv_key_to_proto(const signer_key *k, Signet__V1__KeyInfo *out)
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
	out->publish = k->t_publish;
	out->active = k->t_active;
	out->retire = k->t_retire;
	out->remove = k->t_remove;
	out->ds_seen = k->ds_seen;
	out->foreign = k->foreign;
	out->planned_publish = k->p_publish;
	out->planned_active = k->p_active;
	out->planned_retire = k->p_retire;
	out->planned_remove = k->p_remove;
}

signet_err srv_keys_to_proto(const signer_key *keys, size_t n, Signet__V1__KeyInfo **infos,
			     Signet__V1__KeyInfo ***list)
{
	Signet__V1__KeyInfo *ki = calloc(n ? n : 1, sizeof(*ki));
	Signet__V1__KeyInfo **kp = calloc(n ? n : 1, sizeof(*kp));
	if (!ki || !kp) {
		free(ki);
		free(kp);
		*infos = NULL;
		*list = NULL;
		return SIGNET_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		srv_key_to_proto(&keys[i], &ki[i]);
		kp[i] = &ki[i];
	}
	*infos = ki;
	*list = kp;
	return SIGNET_OK;
}

void srv_rrset_to_proto(const dns_rrset *s, Signet__V1__RRset *out, ProtobufCBinaryData *rd)
{
	signet__v1__rrset__init(out);
	out->owner.data = (uint8_t *)s->owner.wire;
	out->owner.len = s->owner.len;
	out->type = s->type;
	out->rclass = s->rclass;
	out->ttl = s->ttl;
	for (size_t i = 0; i < s->count; i++) {
		rd[i].data = s->rr[i].data;
		rd[i].len = s->rr[i].len;
	}
	out->n_rdata = s->count;
	out->rdata = s->count ? rd : NULL;
}
