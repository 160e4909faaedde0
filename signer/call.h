/* call.h -- one gRPC call of signetd as its handlers see it, and the helpers
 * that answer it (call.c). Below both the transport (server.c) and the
 * handlers (rpc_*.c): it calls neither. */
#ifndef SIGNET_SIGNER_CALL_H
#define SIGNET_SIGNER_CALL_H

#include <grpc/grpc.h>

#include "proto/signet.pb-c.h"
#include "signer/signer.h"

typedef enum srv_method {
	M_SIGN,
	M_KEYSET,
	M_HEALTH,
	M_ADDZONE,
	M_GENZSK,
	M_EXPORT,
	M_IMPORT,
	M_LISTKEYS,
	M_ROLLOVER,
	M_CONFIRMDS,
	M_REPORTDS,
	M_RESTORE,
	M_COUNT,
	M_UNKNOWN = M_COUNT /* any other path: answered UNIMPLEMENTED */
} srv_method;

typedef struct signer_server signer_server;

#define SRV_PEER_MAX 128 /* a peer as gRPC names it, "ipv6:[...]:PORT" */

/* A completion-queue tag: what finished, and for which object. */
typedef struct srv_tag {
	int what; /* TAG_* in server.c */
	void *obj;
} srv_tag;

/* One gRPC call from its arrival to its last completion. */
typedef struct srv_call {
	srv_tag tag_new;                /* the requested call arrived */
	srv_tag tag_sent;               /* the answer was sent */
	srv_tag tag_msg;                /* the request message arrived, or never will */
	struct srv_call *wprev, *wnext; /* in signer_server's waiting list */
	uint64_t msg_deadline_ns;       /* the message must have come by then */
	bool waiting;                   /* in the waiting list (signer_server.lock) */
	bool timed_out;                 /* cancelled for want of a message (lock) */
	bool conn_counted;              /* counted in its connection's waiting streams */
	bool quiet;                     /* a refusal counted in aggregate: no log line */
	bool held;                      /* counted in signer_server.held_calls */
	signer_server *srv;
	srv_method method;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details call_details;         /* M_UNKNOWN only */
	grpc_byte_buffer *payload;              /* the request message, may be NULL */
	char peer[SRV_PEER_MAX];                /* peer address, for logs */
	char identity[SIGNER_IDENTITY_MAX + 1]; /* matched identity, or the first seen */
	bool known;                             /* identity matched a client line */
	signer_client who;                      /* deep copy of that line (zones owned) */
	/* the answer */
	grpc_status_code status;
	char details[512];
	grpc_slice details_slice;
	grpc_byte_buffer *reply;
	int cancelled;
	bool counted;        /* in signer_server.inflight */
	bool admitted;       /* holds a place in signer_server.admission */
	uint64_t arrived_ns; /* monotonic time of arrival, for metrics */
	void *batch;         /* SignRRsets state, owned by rpc_sign.c */
} srv_call;

/* The gRPC path of m ("/signet.v1.Signet/SignRRsets"); M_UNKNOWN has a
 * placeholder. */
const char *srv_method_path(srv_method m);

/* The short name of m ("SignRRsets"; "unknown" for M_UNKNOWN), as metrics
 * and the audit log name it. */
const char *srv_method_name(srv_method m);

/* Give back everything c holds (its places in the server's counts, the
 * gRPC call, buffers) and free it. NULL is ignored. */
void srv_call_free(srv_call *c);

/* Send c's answer (status, details, reply) and let the server free it. */
void srv_finish(srv_call *c);

/* Set a failing status with details. */
void srv_fail(srv_call *c, grpc_status_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Pack m as c's reply (status OK). */
signet_err srv_reply(srv_call *c, const ProtobufCMessage *m);

/* The request message as one contiguous buffer; *out is malloc'd. */
signet_err srv_request_bytes(srv_call *c, uint8_t **out, size_t *len);

/* c's request unpacked with desc (free with
 * protobuf_c_message_free_unpacked); NULL after failing the call with
 * INVALID_ARGUMENT when there is no message or it does not parse. */
ProtobufCMessage *srv_unpack(srv_call *c, const ProtobufCMessageDescriptor *desc);

/* srv_unpack with alloc (NULL: malloc) for the message's memory. */
ProtobufCMessage *srv_unpack_with(srv_call *c, const ProtobufCMessageDescriptor *desc,
				  ProtobufCAllocator *alloc);

/* The desc message of len octets at p, checked by srv_wire_check and
 * unpacked with alloc (NULL: malloc); NULL with errmsg (errlen octets)
 * saying why (INVALID_ARGUMENT's details) when it does not parse. The
 * transport-free half of srv_unpack_with. */
ProtobufCMessage *srv_unpack_bytes(const ProtobufCMessageDescriptor *desc,
				   ProtobufCAllocator *alloc, const uint8_t *p, size_t len,
				   char *errmsg, size_t errlen);

/* The gRPC status for a failure e of the layers below. */
grpc_status_code srv_status_of(signet_err e);

/* The zone b of an admin request (wire form) into *zone and, as text, zs
 * (zslen octets): true when it is well formed and granted to c's caller;
 * otherwise false with c failed (INVALID_ARGUMENT, PERMISSION_DENIED). */
bool srv_admin_zone(srv_call *c, const ProtobufCBinaryData *b, dns_name *zone, char *zs,
		    size_t zslen);

/* c's admin request unpacked with desc (free with
 * protobuf_c_message_free_unpacked), its bytes field "zone" checked by
 * srv_admin_zone into *zone and zs: NULL after failing c. */
ProtobufCMessage *srv_unpack_zone(srv_call *c, const ProtobufCMessageDescriptor *desc,
				  dns_name *zone, char *zs, size_t zslen);

/* The signing policy of zone (zs: its text, for the message) into *pol:
 * true when the state has it; otherwise false with c failed with the
 * status of the state's error ("zone ZS: why"). */
bool srv_zone_policy(srv_call *c, const dns_name *zone, const char *zs, signer_policy *pol);

/* Check the wire form of a desc message (len octets at p) before protobuf-c
 * narrows it: SIGNET_ERANGE when a varint does not fit its 32-bit field
 * (field gets its path, "rrsets[0].type", *value the value), SIGNET_EPARSE
 * for a malformed wire form, SIGNET_OK otherwise (wire_check.c). */
signet_err srv_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
			  char *field, size_t fieldlen, uint64_t *value);

#endif /* SIGNET_SIGNER_CALL_H */
