/* convert.h -- the API's protobuf types to and from signetd's own
 * (convert.c). Nothing here copies: a *_to_proto result points into its
 * source, which must outlive it. */
#ifndef SIGNET_SIGNER_CONVERT_H
#define SIGNET_SIGNER_CONVERT_H

#include "proto/signet.pb-c.h"
#include "signer/signer.h"

/* A wire-form zone name from the API; false if malformed. Lower-cased. */
bool srv_zone(const ProtobufCBinaryData *b, dns_name *out);

/* Fill out (and n3, hung under it) from p; out points into p. */
void srv_policy_to_proto(const signer_policy *p, Signet__V1__Policy *out,
			 Signet__V1__Nsec3Parameters *n3);

/* *p from the API's in (NULL: all defaults): 0 keeps the default, timing
 * not given follows the validity, everything range-checked.
 * SIGNET_EINVAL with the offending field in msg (msglen octets), or
 * signer_policy_check's error. */
signet_err srv_policy_from_proto(const Signet__V1__Policy *in, signer_policy *p, char *msg,
				 size_t msglen);

/* Fill out from k; out points into k. */
void srv_key_to_proto(const signer_key *k, Signet__V1__KeyInfo *out);

/* The n keys as a repeated KeyInfo field: *list (n pointers into *infos),
 * both malloc'd for the caller to free, pointing into keys. SIGNET_ENOMEM
 * (both NULL). */
signet_err srv_keys_to_proto(const signer_key *keys, size_t n, Signet__V1__KeyInfo **infos,
			     Signet__V1__KeyInfo ***list);

/* Point out at s (owner, type, class, TTL) with rd (s->count slots) as its
 * RDATA; nothing is copied. */
void srv_rrset_to_proto(const dns_rrset *s, Signet__V1__RRset *out, ProtobufCBinaryData *rd);

#endif /* SIGNET_SIGNER_CONVERT_H */
