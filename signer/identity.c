/* identity.c -- who a call comes from: the client certificate's SAN (or,
 * for a certificate without any SAN and a client line with allow-cn, its
 * CN) matched against the configured clients, and that client's line
 * copied into the call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "signer/internal.h"

#define PEM_MAX (1024 * 1024)

/* Copy the client line for id under the ACL lock, so a reload during the
 * call cannot pull it away. A CN finds only a line that allows it. */
static bool admit_identity(signer_server *srv, srv_call *c, const char *id, bool by_cn)
{
	bool found = false;
	pthread_rwlock_rdlock(&srv->acl_lock);
	const signer_client *cl = signer_config_client(&srv->cfg, id);
	if (cl && (!by_cn || cl->allow_cn)) {
		c->who = *cl;
		c->who.acl = signer_acl_ref(cl->acl);
		c->who.zones = NULL;
		if (cl->nzones) {
			c->who.zones = malloc(cl->nzones * sizeof(*cl->zones));
			if (c->who.zones)
				memcpy(c->who.zones, cl->zones, cl->nzones * sizeof(*cl->zones));
			else
				c->who.nzones = 0;
		}
		found = true;
	}
	pthread_rwlock_unlock(&srv->acl_lock);
	return found;
}

/* One property value as a C string; false for an empty, overlong or
 * NUL-carrying value, which never names a client. */
static bool prop_value(const grpc_auth_property *prop, char id[SIGNER_IDENTITY_MAX + 1])
{
	if (prop->value_length == 0 || prop->value_length > SIGNER_IDENTITY_MAX ||
	    memchr(prop->value, '\0', prop->value_length))
		return false;
	memcpy(id, prop->value, prop->value_length);
	id[prop->value_length] = '\0';
	return true;
}

/* Whether the leaf certificate in ctx carries a subjectAltName extension of
 * any kind: gRPC lists only DNS, URI, e-mail and IP names, and RFC 6125
 * 6.4.4 lets a CN count only when there is no SAN at all. Unreadable: true,
 * so a certificate we cannot read never falls back to its CN. */
static bool cert_has_san(grpc_auth_context *ctx)
{
	grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(
		ctx, GRPC_X509_PEM_CERT_PROPERTY_NAME);
	const grpc_auth_property *prop = grpc_auth_property_iterator_next(&it);
	if (!prop || prop->value_length == 0 || prop->value_length > PEM_MAX)
		return true;
	BIO *b = BIO_new_mem_buf(prop->value, (int)prop->value_length);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!x)
		return true;
	bool has = X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0;
	X509_free(x);
	return has;
}

/* The identity is a DNS name (or URI) of the certificate's SAN matching a
 * client line; the CN only for a certificate without any SAN and only for
 * a line with allow-cn. RFC 6125 6.4.4: a certificate from our CA with SAN
 * evil.example and CN admin.example is evil.example, nothing else. */
void srv_identify(signer_server *srv, srv_call *c)
{
	char *peer = grpc_call_get_peer(c->call);
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "?");
	gpr_free(peer);
	grpc_auth_context *ctx = grpc_call_auth_context(c->call);
	if (!ctx)
		return;
	static const char *const sans[2] = {GRPC_PEER_DNS_PROPERTY_NAME,
					    GRPC_PEER_URI_PROPERTY_NAME};
	bool any_san = false;
	char id[SIGNER_IDENTITY_MAX + 1];
	for (int p = 0; p < 2 && !c->known; p++) {
		grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx,
											   sans[p]);
		const grpc_auth_property *prop;
		while (!c->known && (prop = grpc_auth_property_iterator_next(&it))) {
			any_san = true;
			if (!prop_value(prop, id))
				continue;
			if (!c->identity[0])
				snprintf(c->identity, sizeof(c->identity), "%s", id);
			if (admit_identity(srv, c, id, false)) {
				snprintf(c->identity, sizeof(c->identity), "%s", id);
				c->known = true;
			}
		}
	}
	if (!c->known && !any_san) {
		grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(
			ctx, GRPC_X509_SAN_PROPERTY_NAME);
		any_san = grpc_auth_property_iterator_next(&it) != NULL || cert_has_san(ctx);
	}
	if (!c->known && !any_san) {
		grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(
			ctx, GRPC_X509_CN_PROPERTY_NAME);
		const grpc_auth_property *prop = grpc_auth_property_iterator_next(&it);
		if (prop && prop_value(prop, id)) {
			/* Named as a CN in logs, cut to fit. */
			memcpy(c->identity, "CN=", 3);
			snprintf(c->identity + 3, sizeof(c->identity) - 3, "%.*s",
				 (int)(sizeof(c->identity) - 4), id);
			if (admit_identity(srv, c, id, true)) {
				snprintf(c->identity, sizeof(c->identity), "%s", id);
				c->known = true;
			}
		}
	}
	grpc_auth_context_release(ctx);
}
