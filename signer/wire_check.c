/* wire_check.c -- a request's protobuf wire form checked against its message
 * descriptor before protobuf-c reads it: protobuf-c keeps the low 32 bits
 * of a varint for a uint32 field, so a `type` of 2^32+1 would arrive as 1
 * (A). Here such a value is refused, naming the field. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "signer/call.h"

#define WIRE_DEPTH_MAX 8   /* the API nests messages three deep */
#define WIRE_FIELDS_MAX 64 /* repeated-field counters kept per message */

typedef struct wire_err {
	char *field; /* the caller's buffer */
	size_t fieldlen;
	uint64_t value; /* the value refused */
} wire_err;

/* A varint at *pos (at most 10 octets); false if cut short or overlong. */
static bool varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70 && *pos < len; shift += 7) {
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* Whether v fits the field's C type without being narrowed. */
static bool fits(ProtobufCType t, uint64_t v)
{
	switch (t) {
	case PROTOBUF_C_TYPE_UINT32:
		return v <= UINT32_MAX;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_ENUM:
		/* A negative int32 is sent sign-extended to 64 bits. */
		return v <= INT32_MAX || v >= (uint64_t)INT32_MIN;
	case PROTOBUF_C_TYPE_SINT32:
		return v <= UINT32_MAX;
	default:
		return true;
	}
}

static void name_field(wire_err *e, const char *prefix, const ProtobufCFieldDescriptor *f,
		       long index)
{
	if (index >= 0)
		snprintf(e->field, e->fieldlen, "%s%s%s[%ld]", prefix, prefix[0] ? "." : "",
			 f->name, index);
	else
		snprintf(e->field, e->fieldlen, "%s%s%s", prefix, prefix[0] ? "." : "", f->name);
}

/* Walk one message. SIGNET_ERANGE with e filled for a value that does not
 * fit; SIGNET_EPARSE for a wire form protobuf-c would refuse anyway. */
static signet_err walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
		       const char *prefix, unsigned depth, wire_err *e)
{
	if (depth > WIRE_DEPTH_MAX)
		return SIGNET_EPARSE;
	unsigned counts[WIRE_FIELDS_MAX];
	memset(counts, 0, sizeof(counts));
	size_t pos = 0;
	while (pos < len) {
		uint64_t tag = 0;
		if (!varint(p, len, &pos, &tag) || tag >> 3 == 0 || tag >> 3 > UINT32_MAX)
			return SIGNET_EPARSE;
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
			d, (unsigned)(tag >> 3));
		size_t fi = f ? (size_t)(f - d->fields) : 0;
		long index = -1;
		if (f && f->label == PROTOBUF_C_LABEL_REPEATED && fi < WIRE_FIELDS_MAX)
			index = (long)counts[fi]++;
		uint64_t v = 0, n = 0;
		switch (tag & 7) {
		case 0:
			if (!varint(p, len, &pos, &v))
				return SIGNET_EPARSE;
			if (f && !fits(f->type, v)) {
				name_field(e, prefix, f, index);
				e->value = v;
				return SIGNET_ERANGE;
			}
			break;
		case 1:
		case 5:
			n = (tag & 7) == 1 ? 8 : 4;
			if (len - pos < n)
				return SIGNET_EPARSE;
			pos += n;
			break;
		case 2:
			if (!varint(p, len, &pos, &n) || n > len - pos)
				return SIGNET_EPARSE;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				char sub[160];
				wire_err tmp = {sub, sizeof(sub), 0};
				name_field(&tmp, prefix, f, index);
				signet_err ret = walk(f->descriptor, p + pos, (size_t)n, sub,
						      depth + 1, e);
				if (ret != SIGNET_OK)
					return ret;
			} else if (f && f->label == PROTOBUF_C_LABEL_REPEATED &&
				   f->type != PROTOBUF_C_TYPE_BYTES &&
				   f->type != PROTOBUF_C_TYPE_STRING) {
				/* Packed scalars: each element is checked like a
				 * lone one. */
				size_t q = pos, end = pos + (size_t)n;
				long k = 0;
				while (q < end) {
					if (f->type == PROTOBUF_C_TYPE_FIXED32 ||
					    f->type == PROTOBUF_C_TYPE_FIXED64 ||
					    f->type == PROTOBUF_C_TYPE_SFIXED32 ||
					    f->type == PROTOBUF_C_TYPE_SFIXED64 ||
					    f->type == PROTOBUF_C_TYPE_FLOAT ||
					    f->type == PROTOBUF_C_TYPE_DOUBLE)
						break;
					if (!varint(p, end, &q, &v))
						return SIGNET_EPARSE;
					if (!fits(f->type, v)) {
						name_field(e, prefix, f, k);
						e->value = v;
						return SIGNET_ERANGE;
					}
					k++;
				}
			}
			pos += (size_t)n;
			break;
		default:
			return SIGNET_EPARSE; /* groups: not in proto3 */
		}
	}
	return SIGNET_OK;
}

signet_err srv_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
			  char *field, size_t fieldlen, uint64_t *value)
{
	if (!desc || (!p && len) || !field || fieldlen == 0 || !value)
		return SIGNET_EINVAL;
	field[0] = '\0';
	*value = 0;
	wire_err e = {field, fieldlen, 0};
	signet_err ret = walk(desc, p, len, "", 0, &e);
	*value = e.value;
	return ret;
}
