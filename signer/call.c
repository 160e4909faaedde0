/* call.c -- one gRPC call answered: its status and reply set, its request
 * read and unpacked, its answer sent, and everything it held given back.
 * The transport (server.c) and the handlers (rpc_*.c) both use these; they
 * call neither. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>

#include "signer/call.h"
#include "signer/convert.h"
#include "signer/internal.h"

static const char *const method_paths[M_COUNT + 1] = {
	"/signet.v1.Signet/SignRRsets",
	"/signet.v1.Signet/GetKeySet",
	"/signet.v1.Signet/Health",
	"/signet.v1.Signet/AddZone",
	"/signet.v1.Signet/GenerateZsk",
	"/signet.v1.Signet/ExportKeySigningRequest",
	"/signet.v1.Signet/ImportKeyBundle",
	"/signet.v1.Signet/ListKeys",
	"/signet.v1.Signet/Rollover",
	"/signet.v1.Signet/ConfirmDs",
	"/signet.v1.Signet/ReportDsObservation",
	"/signet.v1.Signet/RestoreZskBackups",
	"(unknown method)",
};

const char *srv_method_path(srv_method m)
{
	return method_paths[(unsigned)m <= M_UNKNOWN ? m : M_UNKNOWN];
}

const char *srv_method_name(srv_method m)
{
	if ((unsigned)m >= M_UNKNOWN)
		return "unknown";
	const char *slash = strrchr(method_paths[m], '/');
	return slash ? slash + 1 : method_paths[m];
}

void srv_call_free(srv_call *c)
{
	if (!c)
		return;
	if (c->admitted)
		signer_admission_leave(c->srv->admission, c->identity, c->peer, sg_mono_ns());
	if (c->conn_counted)
		srv_conns_wait_leave(c->srv->conns, c->peer);
	if (c->held)
		atomic_fetch_sub(&c->srv->held_calls, 1);
	if (c->counted) {
		signer_server *srv = c->srv;
		pthread_mutex_lock(&srv->lock);
		srv->inflight--;
		pthread_cond_broadcast(&srv->done_cond);
		pthread_mutex_unlock(&srv->lock);
	}
	if (c->call)
		grpc_call_unref(c->call);
	grpc_metadata_array_destroy(&c->md);
	if (c->method == M_UNKNOWN)
		grpc_call_details_destroy(&c->call_details);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->reply)
		grpc_byte_buffer_destroy(c->reply);
	grpc_slice_unref(c->details_slice);
	free(c->who.zones);
	signer_acl_unref(c->who.acl);
	free(c);
}

void srv_fail(srv_call *c, grpc_status_code code, const char *fmt, ...)
{
	c->status = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->details, sizeof(c->details), fmt, ap);
	va_end(ap);
	if (c->reply) {
		grpc_byte_buffer_destroy(c->reply);
		c->reply = NULL;
	}
}

signet_err srv_reply(srv_call *c, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(n);
	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	if (c->reply)
		grpc_byte_buffer_destroy(c->reply);
	c->reply = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	c->status = GRPC_STATUS_OK;
	c->details[0] = '\0';
	return c->reply ? SIGNET_OK : SIGNET_ENOMEM;
}

signet_err srv_request_bytes(srv_call *c, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!c->payload)
		return SIGNET_EPARSE;
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, c->payload))
		return SIGNET_EPARSE;
	grpc_slice s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	size_t n = GRPC_SLICE_LENGTH(s);
	uint8_t *p = malloc(n ? n : 1);
	if (!p) {
		grpc_slice_unref(s);
		return SIGNET_ENOMEM;
	}
	memcpy(p, GRPC_SLICE_START_PTR(s), n);
	grpc_slice_unref(s);
	*out = p;
	*len = n;
	return SIGNET_OK;
}

ProtobufCMessage *srv_unpack_bytes(const ProtobufCMessageDescriptor *desc,
				   ProtobufCAllocator *alloc, const uint8_t *p, size_t len,
				   char *errmsg, size_t errlen)
{
	char field[160];
	uint64_t v = 0;
	if (srv_wire_check(desc, p, len, field, sizeof(field), &v) == SIGNET_ERANGE) {
		snprintf(errmsg, errlen, "%s: %" PRIu64 " is out of range", field, v);
		return NULL;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, alloc, len, p);
	if (!m)
		snprintf(errmsg, errlen, "malformed %s", desc->short_name);
	return m;
}

ProtobufCMessage *srv_unpack_with(srv_call *c, const ProtobufCMessageDescriptor *desc,
				  ProtobufCAllocator *alloc)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	if (srv_request_bytes(c, &bytes, &len) != SIGNET_OK) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
		return NULL;
	}
	char why[sizeof(c->details)];
	ProtobufCMessage *m = srv_unpack_bytes(desc, alloc, bytes, len, why, sizeof(why));
	free(bytes);
	if (!m)
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s", why);
	return m;
}

ProtobufCMessage *srv_unpack(srv_call *c, const ProtobufCMessageDescriptor *desc)
{
	return srv_unpack_with(c, desc, NULL);
}

void srv_finish(srv_call *c)
{
	grpc_op ops[4];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
	n++;
	if (c->status == GRPC_STATUS_OK && c->reply) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = c->reply;
		n++;
	}
	grpc_slice_unref(c->details_slice);
	c->details_slice = grpc_slice_from_copied_string(c->details);
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = c->status;
	ops[n].data.send_status_from_server.status_details = &c->details_slice;
	n++;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
	n++;
	if (c->status != GRPC_STATUS_OK && !c->quiet)
		sg_log(SG_LOG_INFO, "%s %s from %s: status %d: %s", srv_method_path(c->method),
		       c->identity, c->peer, (int)c->status, c->details);
	signer_metrics_call(c->srv->metrics, (size_t)c->method, (unsigned)c->status,
			    sg_mono_ns() - c->arrived_ns);
	/* Once the batch starts the queue thread may free c: read it first. */
	grpc_call *call = c->call;
	SG_TSAN_RELEASE(&c->tag_sent);
	grpc_call_error e = grpc_call_start_batch(call, ops, n, &c->tag_sent, NULL);
	if (e != GRPC_CALL_OK) {
		sg_log(SG_LOG_ERROR, "answer to %s failed to start: %d", c->peer, (int)e);
		srv_call_free(c);
	}
}

grpc_status_code srv_status_of(signet_err e)
{
	switch (e) {
	case SIGNET_OK:
		return GRPC_STATUS_OK;
	case SIGNET_EINVAL:
	case SIGNET_EPARSE:
	case SIGNET_ERANGE:
	case SIGNET_EUNSUPPORTED:
		return GRPC_STATUS_INVALID_ARGUMENT;
	case SIGNET_ENOTFOUND:
		return GRPC_STATUS_NOT_FOUND;
	case SIGNET_EEXIST:
		return GRPC_STATUS_ALREADY_EXISTS;
	case SIGNET_EDENIED:
	case SIGNET_EPERM:
		return GRPC_STATUS_PERMISSION_DENIED;
	case SIGNET_ESTATE:
	case SIGNET_EVERIFY:
		return GRPC_STATUS_FAILED_PRECONDITION;
	case SIGNET_EHSM_DOWN:
		return GRPC_STATUS_UNAVAILABLE;
	case SIGNET_ELIMIT:
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	default:
		return GRPC_STATUS_INTERNAL;
	}
}

/* Zone of an admin request: well formed and granted to the caller. */
bool srv_admin_zone(srv_call *c, const ProtobufCBinaryData *b, dns_name *zone, char *zs,
		    size_t zslen)
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

ProtobufCMessage *srv_unpack_zone(srv_call *c, const ProtobufCMessageDescriptor *desc,
				  dns_name *zone, char *zs, size_t zslen)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc,
											    "zone");
	if (!f || f->type != PROTOBUF_C_TYPE_BYTES || f->label == PROTOBUF_C_LABEL_REPEATED) {
		srv_fail(c, GRPC_STATUS_INTERNAL, "%s has no zone field", desc->name);
		return NULL;
	}
	ProtobufCMessage *m = srv_unpack(c, desc);
	if (!m)
		return NULL;
	const ProtobufCBinaryData *b = (const ProtobufCBinaryData *)((const char *)m + f->offset);
	if (!srv_admin_zone(c, b, zone, zs, zslen)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

bool srv_zone_policy(srv_call *c, const dns_name *zone, const char *zs, signer_policy *pol)
{
	signet_err ret = signer_state_zone_policy(c->srv->state, zone, pol);
	if (ret != SIGNET_OK) {
		srv_fail(c, srv_status_of(ret), "zone %s: %s", zs, signet_strerror(ret));
		return false;
	}
	return true;
}
