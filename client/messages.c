/* messages.c -- the client's one translation between its typed values
 * (dns_name, dns_rrset, client_key, client_policy, ...) and the message types
 * protoc-c generates from proto/signet.proto, and the typed calls built on
 * it. No other client file builds or reads a protobuf message: what the
 * server sends is bounded and copied here, so commands see only checked
 * values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "dnssec/dnssec.h"
#include "proto/signet.pb-c.h"

#define KEYSET_RRS_MAX 1024
#define NSEC3_ITERATIONS_MAX 100

/* ---- SignRRsets ---------------------------------------------------------- */

signet_err client_sign_request_pack(const dns_name *zone, const dns_rrset *const *sets, size_t n,
				    uint8_t **out, size_t *len)
{
	if (!zone || (n && !sets) || !out || !len)
		return SIGNET_EINVAL;
	*out = NULL;
	*len = 0;
	size_t nrr = 0;
	for (size_t i = 0; i < n; i++)
		nrr += sets[i]->count;
	Signet__V1__RRset *rs = calloc(n ? n : 1, sizeof(*rs));
	Signet__V1__RRset **rp = calloc(n ? n : 1, sizeof(*rp));
	ProtobufCBinaryData *rd = calloc(nrr ? nrr : 1, sizeof(*rd));
	signet_err ret = SIGNET_ENOMEM;
	if (!rs || !rp || !rd)
		goto out;
	/* The message references the sets' owners and RDATA: packing makes
	 * the one copy. */
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		const dns_rrset *s = sets[i];
		signet__v1__rrset__init(&rs[i]);
		rs[i].owner.data = (uint8_t *)s->owner.wire;
		rs[i].owner.len = s->owner.len;
		rs[i].type = s->type;
		rs[i].rclass = DNS_CLASS_IN;
		rs[i].ttl = s->ttl;
		rs[i].n_rdata = s->count;
		rs[i].rdata = rd + used;
		for (size_t k = 0; k < s->count; k++) {
			rd[used].data = s->rr[k].data;
			rd[used++].len = s->rr[k].len;
		}
		rp[i] = &rs[i];
	}
	Signet__V1__SignRequest req = SIGNET__V1__SIGN_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	req.n_rrsets = n;
	req.rrsets = rp;
	size_t size = signet__v1__sign_request__get_packed_size(&req);
	*out = malloc(size ? size : 1);
	if (!*out)
		goto out;
	signet__v1__sign_request__pack(&req, *out);
	*len = size;
	ret = SIGNET_OK;
out:
	free(rs);
	free(rp);
	free(rd);
	return ret;
}

static client_item_status item_status(Signet__V1__ItemStatus s)
{
	switch (s) {
	case SIGNET__V1__ITEM_STATUS__ITEM_SIGNED:
		return CLIENT_ITEM_SIGNED;
	case SIGNET__V1__ITEM_STATUS__ITEM_NOT_SIGNED:
		return CLIENT_ITEM_NOT_SIGNED;
	case SIGNET__V1__ITEM_STATUS__ITEM_FAILED:
		return CLIENT_ITEM_FAILED;
	default:
		return CLIENT_ITEM_UNSPECIFIED;
	}
}

signet_err client_sign_answer_unpack(const uint8_t *data, size_t len, client_sign_answer *out)
{
	if (!out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	if (len && !data)
		return SIGNET_EINVAL;
	Signet__V1__SignResponse *m = signet__v1__sign_response__unpack(NULL, len, data);
	if (!m)
		return SIGNET_EPARSE;
	size_t nsig = 0;
	for (size_t i = 0; i < m->n_results; i++) {
		for (size_t k = 0; k < m->results[i]->n_rrsig; k++)
			if (m->results[i]->rrsig[k].len > DNS_RDATA_MAX) {
				signet__v1__sign_response__free_unpacked(m, NULL);
				return SIGNET_EPARSE;
			}
		nsig += m->results[i]->n_rrsig;
	}
	out->items = calloc(m->n_results ? m->n_results : 1, sizeof(*out->items));
	out->rdata = calloc(nsig ? nsig : 1, sizeof(*out->rdata));
	if (!out->items || !out->rdata) {
		free(out->items);
		free(out->rdata);
		out->items = NULL;
		out->rdata = NULL;
		signet__v1__sign_response__free_unpacked(m, NULL);
		return SIGNET_ENOMEM;
	}
	size_t used = 0;
	for (size_t i = 0; i < m->n_results; i++) {
		const Signet__V1__SignResult *r = m->results[i];
		client_sign_item *it = &out->items[i];
		it->index = r->index;
		it->status = item_status(r->status);
		it->code = (int)r->code;
		it->message = r->message ? r->message : "";
		it->rrsig = out->rdata + used;
		it->nrrsig = r->n_rrsig;
		for (size_t k = 0; k < r->n_rrsig; k++) {
			out->rdata[used].len = (uint16_t)r->rrsig[k].len;
			out->rdata[used++].data = r->rrsig[k].data;
		}
	}
	out->count = m->n_results;
	out->msg = m;
	return SIGNET_OK;
}

void client_sign_answer_free(client_sign_answer *a)
{
	if (!a)
		return;
	if (a->msg)
		signet__v1__sign_response__free_unpacked(a->msg, NULL);
	free(a->items);
	free(a->rdata);
	memset(a, 0, sizeof(*a));
}

/* ---- keys ------------------------------------------------------------------ */

static client_key_state key_state(Signet__V1__KeyState s)
{
	switch (s) {
	case SIGNET__V1__KEY_STATE__KEY_GENERATED:
		return CLIENT_KEY_GENERATED;
	case SIGNET__V1__KEY_STATE__KEY_PUBLISHED:
		return CLIENT_KEY_PUBLISHED;
	case SIGNET__V1__KEY_STATE__KEY_ACTIVE:
		return CLIENT_KEY_ACTIVE;
	case SIGNET__V1__KEY_STATE__KEY_RETIRED:
		return CLIENT_KEY_RETIRED;
	case SIGNET__V1__KEY_STATE__KEY_REMOVED:
		return CLIENT_KEY_REMOVED;
	default:
		return CLIENT_KEY_UNKNOWN;
	}
}

/* A wire-form name from the server; *ok false (and the root) when malformed. */
static void name_from(const ProtobufCBinaryData *b, dns_name *n, bool *ok)
{
	*ok = dns_name_from_wire(n, b->data, b->len, NULL) == SIGNET_OK;
	if (!*ok)
		(void)dns_name_from_str(n, ".");
}

static signet_err key_from(const Signet__V1__KeyInfo *k, client_key *out)
{
	memset(out, 0, sizeof(*out));
	name_from(&k->zone, &out->zone, &out->zone_ok);
	snprintf(out->role, sizeof(out->role), "%s",
		 k->role && strlen(k->role) < sizeof(out->role) ? k->role : "?");
	if (k->id.len && k->id.len <= sizeof(out->id)) {
		memcpy(out->id, k->id.data, k->id.len);
		out->id_len = k->id.len;
	}
	out->algorithm = k->algorithm;
	out->key_tag = k->key_tag;
	out->state = key_state(k->state);
	if (k->dnskey.len) {
		out->dnskey = malloc(k->dnskey.len);
		if (!out->dnskey)
			return SIGNET_ENOMEM;
		memcpy(out->dnskey, k->dnskey.data, k->dnskey.len);
		out->dnskey_len = k->dnskey.len;
	}
	out->created = k->created;
	out->publish = k->publish;
	out->active = k->active;
	out->retire = k->retire;
	out->remove = k->remove;
	out->ds_seen = k->ds_seen;
	out->foreign = k->foreign;
	out->planned_publish = k->planned_publish;
	out->planned_active = k->planned_active;
	out->planned_retire = k->planned_retire;
	out->planned_remove = k->planned_remove;
	out->backup = k->backup <= SIGNET__V1__BACKUP_STATE__BACKUP_PROVEN ? (unsigned)k->backup
									   : 0;
	return SIGNET_OK;
}

static signet_err keys_from(Signet__V1__KeyInfo *const *keys, size_t n, client_key_list *out)
{
	out->keys = calloc(n ? n : 1, sizeof(*out->keys));
	out->count = 0;
	if (!out->keys)
		return SIGNET_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		out->count++;
		signet_err ret = key_from(keys[i], &out->keys[i]);
		if (ret != SIGNET_OK) {
			client_key_list_free(out);
			return ret;
		}
	}
	return SIGNET_OK;
}

void client_key_list_free(client_key_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		free(l->keys[i].dnskey);
	free(l->keys);
	l->keys = NULL;
	l->count = 0;
}

/* client_call_msg on method with req; on an OK status *resp is the answer. */
static signet_err call(client_conn *c, const char *method, const ProtobufCMessage *req,
		       const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
		       client_status *st)
{
	char path[128];
	snprintf(path, sizeof(path), CLIENT_SVC "%s", method);
	return client_call_msg(c, path, req, desc, resp, st);
}

signet_err client_list_keys(client_conn *c, const dns_name *zone, client_status *st,
			    client_key_list *out)
{
	if (!c || !st || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	Signet__V1__ListKeysRequest req = SIGNET__V1__LIST_KEYS_REQUEST__INIT;
	if (zone) {
		req.zone.data = (uint8_t *)zone->wire;
		req.zone.len = zone->len;
	}
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "ListKeys", &req.base, &signet__v1__list_keys_response__descriptor,
			      &m, st);
	if (ret == SIGNET_OK && m) {
		Signet__V1__ListKeysResponse *r = (Signet__V1__ListKeysResponse *)m;
		ret = keys_from(r->keys, r->n_keys, out);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

signet_err client_generate_zsk(client_conn *c, const dns_name *zone, client_status *st,
			       client_key_list *out)
{
	if (!c || !zone || !st || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	Signet__V1__GenerateZskRequest req = SIGNET__V1__GENERATE_ZSK_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "GenerateZsk", &req.base,
			      &signet__v1__generate_zsk_response__descriptor, &m, st);
	if (ret == SIGNET_OK && m) {
		Signet__V1__GenerateZskResponse *r = (Signet__V1__GenerateZskResponse *)m;
		ret = keys_from(&r->key, r->key ? 1 : 0, out);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

signet_err client_restore_zsk(client_conn *c, const client_backup_file *files, size_t n,
			      client_status *st, client_restore_result *out)
{
	if (!c || (!files && n) || !st || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	Signet__V1__RestoreZskBackupsRequest req = SIGNET__V1__RESTORE_ZSK_BACKUPS_REQUEST__INIT;
	Signet__V1__BackupFile *bf = n ? calloc(n, sizeof(*bf)) : NULL;
	Signet__V1__BackupFile **bp = n ? calloc(n, sizeof(*bp)) : NULL;
	if (n && (!bf || !bp)) {
		free(bf);
		free(bp);
		return SIGNET_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		signet__v1__backup_file__init(&bf[i]);
		bf[i].name = (char *)files[i].name;
		bf[i].text.data = (uint8_t *)files[i].text;
		bf[i].text.len = files[i].len;
		bp[i] = &bf[i];
	}
	req.n_backups = n;
	req.backups = bp;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "RestoreZskBackups", &req.base,
			      &signet__v1__restore_zsk_backups_response__descriptor, &m, st);
	free(bf);
	free(bp);
	if (ret == SIGNET_OK && m) {
		Signet__V1__RestoreZskBackupsResponse *r = (Signet__V1__RestoreZskBackupsResponse *)
			m;
		out->restored = r->restored;
		out->missing = r->missing;
		if (r->n_messages && !(out->messages = calloc(r->n_messages, sizeof(char *))))
			ret = SIGNET_ENOMEM;
		for (size_t i = 0; ret == SIGNET_OK && i < r->n_messages; i++) {
			if (!(out->messages[i] = strdup(r->messages[i] ? r->messages[i] : "")))
				ret = SIGNET_ENOMEM;
			else
				out->nmessages++;
		}
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (ret != SIGNET_OK)
		client_restore_result_free(out);
	return ret;
}

void client_restore_result_free(client_restore_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nmessages; i++)
		free(r->messages[i]);
	free(r->messages);
	memset(r, 0, sizeof(*r));
}

signet_err client_export_ksr(client_conn *c, const dns_name *zone, uint32_t days, client_status *st,
			     sg_buf *request, uint64_t *serial)
{
	if (!c || !zone || !st || !request || !serial)
		return SIGNET_EINVAL;
	Signet__V1__ExportKeySigningRequestRequest req =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	req.days = days;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "ExportKeySigningRequest", &req.base,
			      &signet__v1__export_key_signing_request_response__descriptor, &m, st);
	if (ret == SIGNET_OK && m) {
		Signet__V1__ExportKeySigningRequestResponse *r =
			(Signet__V1__ExportKeySigningRequestResponse *)m;
		*serial = r->serial;
		ret = sg_buf_append(request, r->request.data, r->request.len);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

signet_err client_import_bundle(client_conn *c, const dns_name *zone, const uint8_t *bundle,
				size_t len, client_status *st, client_import_result *out)
{
	if (!c || !zone || (len && !bundle) || !st || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	Signet__V1__ImportKeyBundleRequest req = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	req.bundle.data = (uint8_t *)bundle;
	req.bundle.len = len;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "ImportKeyBundle", &req.base,
			      &signet__v1__import_key_bundle_response__descriptor, &m, st);
	if (ret == SIGNET_OK && m) {
		Signet__V1__ImportKeyBundleResponse *r = (Signet__V1__ImportKeyBundleResponse *)m;
		out->serial = r->serial;
		out->periods = r->periods;
		ret = keys_from(r->activated, r->n_activated, &out->activated);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

static Signet__V1__RolloverRequest__Action rollover_action(client_rollover_action a)
{
	switch (a) {
	case CLIENT_ROLLOVER_SHOW:
		return SIGNET__V1__ROLLOVER_REQUEST__ACTION__SHOW;
	case CLIENT_ROLLOVER_ADD_KSK:
		return SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK;
	case CLIENT_ROLLOVER_DS_SEEN:
		return SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN;
	case CLIENT_ROLLOVER_ADD_FOREIGN_ZSK:
		return SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_FOREIGN_ZSK;
	case CLIENT_ROLLOVER_REMOVE_FOREIGN_ZSK:
		return SIGNET__V1__ROLLOVER_REQUEST__ACTION__REMOVE_FOREIGN_ZSK;
	case CLIENT_ROLLOVER_GO_INSECURE:
		return SIGNET__V1__ROLLOVER_REQUEST__ACTION__GO_INSECURE;
	case CLIENT_ROLLOVER_STAY_SECURE:
		return SIGNET__V1__ROLLOVER_REQUEST__ACTION__STAY_SECURE;
	}
	return SIGNET__V1__ROLLOVER_REQUEST__ACTION__ACTION_UNSPECIFIED;
}

signet_err client_rollover(client_conn *c, const dns_name *zone, client_rollover_action action,
			   const uint8_t *dnskey, size_t len, client_status *st,
			   client_key_list *keys, int64_t *now)
{
	if (!c || !zone || (len && !dnskey) || !st || !keys || !now)
		return SIGNET_EINVAL;
	memset(keys, 0, sizeof(*keys));
	Signet__V1__RolloverRequest req = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	req.action = rollover_action(action);
	req.dnskey.data = (uint8_t *)dnskey;
	req.dnskey.len = len;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "Rollover", &req.base, &signet__v1__rollover_response__descriptor,
			      &m, st);
	if (ret == SIGNET_OK && m) {
		Signet__V1__RolloverResponse *r = (Signet__V1__RolloverResponse *)m;
		*now = r->now;
		ret = keys_from(r->keys, r->n_keys, keys);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

/* ---- Health ---------------------------------------------------------------- */

#define DNSKEY_MAX 4096 /* octets of a DNSKEY RDATA taken from a DsWait */

static signet_err dnskey_from(const ProtobufCBinaryData *b, client_dnskey *out)
{
	if (b->len == 0 || b->len > DNSKEY_MAX)
		return SIGNET_EPARSE;
	out->data = malloc(b->len);
	if (!out->data)
		return SIGNET_ENOMEM;
	memcpy(out->data, b->data, b->len);
	out->len = b->len;
	return SIGNET_OK;
}

static void ds_wait_free(client_ds_wait *w)
{
	if (!w)
		return;
	free(w->dnskey.data);
	for (size_t i = 0; i < w->ngone; i++)
		free(w->gone[i].data);
	free(w->gone);
	free(w);
}

/* A DsWait, checked and copied into *out (malloc'd). */
static signet_err ds_wait_from(const Signet__V1__DsWait *d, client_ds_wait **out)
{
	if (d->n_gone_dnskey > CLIENT_DS_GONE_MAX)
		return SIGNET_EPARSE;
	client_ds_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return SIGNET_ENOMEM;
	w->key_tag = d->key_tag;
	w->algorithm = d->algorithm;
	w->since = d->since;
	w->ds_ttl = d->ds_ttl;
	signet_err ret = dnskey_from(&d->dnskey, &w->dnskey);
	if (ret == SIGNET_OK && d->n_gone_dnskey &&
	    !(w->gone = calloc(d->n_gone_dnskey, sizeof(*w->gone))))
		ret = SIGNET_ENOMEM;
	for (size_t i = 0; ret == SIGNET_OK && i < d->n_gone_dnskey; i++) {
		ret = dnskey_from(&d->gone_dnskey[i], &w->gone[i]);
		if (ret == SIGNET_OK)
			w->ngone++;
	}
	if (ret != SIGNET_OK) {
		ds_wait_free(w);
		return ret;
	}
	*out = w;
	return SIGNET_OK;
}

signet_err client_confirm_ds(client_conn *c, const dns_name *zone, const uint8_t *dnskey,
			     size_t len, int64_t since, const char *const *agents, size_t nagents,
			     client_status *st, int64_t *ds_seen)
{
	if (!c || !zone || !dnskey || !st || !ds_seen || (nagents && !agents))
		return SIGNET_EINVAL;
	*ds_seen = 0;
	Signet__V1__ConfirmDsRequest req = SIGNET__V1__CONFIRM_DS_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	req.dnskey.data = (uint8_t *)dnskey;
	req.dnskey.len = len;
	req.since = since;
	req.agents = (char **)agents;
	req.n_agents = nagents;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "ConfirmDs", &req.base,
			      &signet__v1__confirm_ds_response__descriptor, &m, st);
	if (ret == SIGNET_OK && m)
		*ds_seen = ((Signet__V1__ConfirmDsResponse *)m)->ds_seen;
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

signet_err client_report_ds(client_conn *c, const dns_name *zone, uint32_t key_tag,
			    const char *const *lines, size_t n, client_status *st)
{
	if (!c || !zone || !st || (n && !lines))
		return SIGNET_EINVAL;
	Signet__V1__DsObservation req = SIGNET__V1__DS_OBSERVATION__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	req.key_tag = key_tag;
	req.lines = (char **)lines;
	req.n_lines = n;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "ReportDsObservation", &req.base,
			      &signet__v1__ds_observation_response__descriptor, &m, st);
	protobuf_c_message_free_unpacked(m, NULL);
	return ret;
}

signet_err client_health(client_conn *c, client_status *st, client_health_info *out)
{
	if (!c || !st || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	Signet__V1__HealthRequest req = SIGNET__V1__HEALTH_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "Health", &req.base, &signet__v1__health_response__descriptor, &m,
			      st);
	if (ret != SIGNET_OK || !m)
		return ret;
	Signet__V1__HealthResponse *h = (Signet__V1__HealthResponse *)m;
	out->now = h->now;
	out->token_present = h->token_present;
	out->logged_in = h->logged_in;
	out->state_unavailable = h->state_unavailable;
	snprintf(out->replica, sizeof(out->replica), "%s",
		 h->replica && strlen(h->replica) < sizeof(out->replica) ? h->replica : "");
	snprintf(out->state_backend, sizeof(out->state_backend), "%s",
		 h->state_backend && strlen(h->state_backend) < sizeof(out->state_backend)
			 ? h->state_backend
			 : "");
	snprintf(out->version, sizeof(out->version), "%s",
		 h->version && strlen(h->version) < sizeof(out->version) ? h->version : "?");
	out->zones = calloc(h->n_zones ? h->n_zones : 1, sizeof(*out->zones));
	ret = out->zones ? SIGNET_OK : SIGNET_ENOMEM;
	for (size_t i = 0; ret == SIGNET_OK && i < h->n_zones; i++) {
		const Signet__V1__ZoneHealth *z = h->zones[i];
		client_zone_health *o = &out->zones[out->nzones++];
		name_from(&z->zone, &o->zone, &o->zone_ok);
		o->active_zsk = z->active_zsk;
		o->keyset_seconds_left = z->keyset_seconds_left;
		o->next_change = z->next_change;
		if (z->ds_wait)
			ret = ds_wait_from(z->ds_wait, &o->ds_wait);
		if (ret != SIGNET_OK)
			break;
		o->warnings = calloc(z->n_warnings ? z->n_warnings : 1, sizeof(*o->warnings));
		if (!o->warnings) {
			ret = SIGNET_ENOMEM;
			break;
		}
		for (size_t k = 0; k < z->n_warnings; k++) {
			o->warnings[k] = strdup(z->warnings[k] ? z->warnings[k] : "");
			if (!o->warnings[k]) {
				ret = SIGNET_ENOMEM;
				break;
			}
			o->nwarnings++;
		}
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (ret != SIGNET_OK)
		client_health_free(out);
	return ret;
}

void client_health_free(client_health_info *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nzones; i++) {
		for (size_t k = 0; k < h->zones[i].nwarnings; k++)
			free(h->zones[i].warnings[k]);
		free(h->zones[i].warnings);
		ds_wait_free(h->zones[i].ds_wait);
	}
	free(h->zones);
	h->zones = NULL;
	h->nzones = 0;
}

/* ---- AddZone and GetKeySet: policy and key set -------------------------- */

signet_err client_add_zone(client_conn *c, const dns_name *zone, const client_policy *p,
			   const dns_rdata *ksks, size_t nksks, client_status *st)
{
	if (!c || !zone || !p || (nksks && !ksks) || !st)
		return SIGNET_EINVAL;
	ProtobufCBinaryData *keys = calloc(nksks ? nksks : 1, sizeof(*keys));
	if (!keys)
		return SIGNET_ENOMEM;
	for (size_t i = 0; i < nksks; i++) {
		keys[i].data = ksks[i].data;
		keys[i].len = ksks[i].len;
	}
	Signet__V1__Policy policy = SIGNET__V1__POLICY__INIT;
	Signet__V1__Nsec3Parameters nsec3 = SIGNET__V1__NSEC3_PARAMETERS__INIT;
	policy.algorithm = p->algorithm;
	policy.rsa_bits = p->rsa_bits;
	policy.validity = p->validity;
	policy.dnskey_ttl = p->dnskey_ttl;
	policy.keyset_period = p->keyset_period;
	if (p->nsec3) {
		policy.denial = SIGNET__V1__DENIAL__DENIAL_NSEC3;
		nsec3.iterations = p->iterations;
		nsec3.salt.data = (uint8_t *)p->salt;
		nsec3.salt.len = p->salt_len;
		nsec3.opt_out = p->opt_out;
		policy.nsec3 = &nsec3;
	}
	Signet__V1__AddZoneRequest req = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	req.policy = &policy;
	req.ksk_dnskey = keys;
	req.n_ksk_dnskey = nksks;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "AddZone", &req.base, &signet__v1__add_zone_response__descriptor,
			      &m, st);
	protobuf_c_message_free_unpacked(m, NULL);
	free(keys);
	return ret;
}

/* A key-set RRset from GetKeySet into out, checked as outside input: owner
 * the apex, the expected type, well-formed RDATA. */
static signet_err keyset_rrset(const Signet__V1__RRset *r, const dns_name *apex, uint16_t type,
			       dns_rrset *out, const char *field, char *errmsg, size_t errlen)
{
	dns_rrset_init(out, apex, type, DNS_CLASS_IN, 0);
	if (!r || r->n_rdata == 0)
		return SIGNET_OK;
	dns_name owner;
	if (dns_name_from_wire(&owner, r->owner.data, r->owner.len, NULL) != SIGNET_OK ||
	    !dns_name_equal(&owner, apex) || r->type != type || r->ttl > 0x7fffffffu ||
	    r->n_rdata > KEYSET_RRS_MAX) {
		snprintf(errmsg, errlen, "%s: not a %u RRset at the apex", field, type);
		return SIGNET_EPARSE;
	}
	out->ttl = r->ttl;
	for (size_t i = 0; i < r->n_rdata; i++) {
		signet_err ret = r->rdata[i].len > DNS_RDATA_MAX
					 ? SIGNET_ERANGE
					 : dns_rdata_check(type, r->rdata[i].data, r->rdata[i].len);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(out, r->rdata[i].data, r->rdata[i].len);
		if (ret != SIGNET_OK) {
			snprintf(errmsg, errlen, "%s.rdata[%zu]: %s", field, i,
				 signet_strerror(ret));
			dns_rrset_clear(out);
			return ret;
		}
	}
	return SIGNET_OK;
}

static signet_err policy_from(const Signet__V1__Policy *p, client_policy *out, char *errmsg,
			      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!p)
		return SIGNET_OK;
	out->algorithm = p->algorithm;
	out->rsa_bits = p->rsa_bits;
	out->validity = p->validity;
	out->dnskey_ttl = p->dnskey_ttl;
	out->keyset_period = p->keyset_period;
	out->nsec3 = p->denial == SIGNET__V1__DENIAL__DENIAL_NSEC3;
	if (out->nsec3 && p->nsec3) {
		if (p->nsec3->iterations > NSEC3_ITERATIONS_MAX ||
		    p->nsec3->salt.len > sizeof(out->salt)) {
			snprintf(errmsg, errlen, "policy.nsec3 out of bounds");
			return SIGNET_ERANGE;
		}
		out->iterations = p->nsec3->iterations;
		out->salt_len = (uint8_t)p->nsec3->salt.len;
		if (p->nsec3->salt.len)
			memcpy(out->salt, p->nsec3->salt.data, p->nsec3->salt.len);
		out->opt_out = p->nsec3->opt_out;
	}
	return SIGNET_OK;
}

signet_err client_get_keyset(client_conn *c, const dns_name *zone, client_status *st,
			     client_keyset *out, char *errmsg, size_t errlen)
{
	if (!c || !zone || !st || !out || !errmsg || !errlen)
		return SIGNET_EINVAL;
	errmsg[0] = '\0';
	dns_rrset_init(&out->dnskey, zone, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	dns_rrset_init(&out->cds, zone, DNS_T_CDS, DNS_CLASS_IN, 0);
	dns_rrset_init(&out->cdnskey, zone, DNS_T_CDNSKEY, DNS_CLASS_IN, 0);
	dns_rrset_init(&out->rrsig, zone, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	memset(&out->policy, 0, sizeof(out->policy));
	Signet__V1__GetKeySetRequest req = SIGNET__V1__GET_KEY_SET_REQUEST__INIT;
	req.zone.data = (uint8_t *)zone->wire;
	req.zone.len = zone->len;
	ProtobufCMessage *m = NULL;
	signet_err ret = call(c, "GetKeySet", &req.base,
			      &signet__v1__get_key_set_response__descriptor, &m, st);
	if (ret != SIGNET_OK || !m)
		return ret;
	Signet__V1__GetKeySetResponse *ks = (Signet__V1__GetKeySetResponse *)m;
	ret = keyset_rrset(ks->dnskey, zone, DNS_T_DNSKEY, &out->dnskey, "dnskey", errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = keyset_rrset(ks->cds, zone, DNS_T_CDS, &out->cds, "cds", errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = keyset_rrset(ks->cdnskey, zone, DNS_T_CDNSKEY, &out->cdnskey, "cdnskey",
				   errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = keyset_rrset(ks->rrsig, zone, DNS_T_RRSIG, &out->rrsig, "rrsig", errmsg,
				   errlen);
	if (ret == SIGNET_OK)
		ret = policy_from(ks->policy, &out->policy, errmsg, errlen);
	protobuf_c_message_free_unpacked(m, NULL);
	if (ret != SIGNET_OK)
		client_keyset_free(out);
	return ret;
}

void client_keyset_free(client_keyset *ks)
{
	if (!ks)
		return;
	dns_rrset_clear(&ks->dnskey);
	dns_rrset_clear(&ks->cds);
	dns_rrset_clear(&ks->cdnskey);
	dns_rrset_clear(&ks->rrsig);
}
