/* grpc_status.c -- the names of gRPC's status codes, for the client's
 * messages and signetd's metrics labels. */
#include "common/common.h"

/* By their numbers in gRPC's protocol (doc/statuscodes.md), which never
 * change: common needs no gRPC header for them. */
static const char *const status_names[SG_GRPC_STATUS_COUNT] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *sg_grpc_status_name(int code)
{
	if (code < 0 || code >= SG_GRPC_STATUS_COUNT)
		return "UNKNOWN_STATUS";
	return status_names[code];
}
