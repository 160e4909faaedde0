/* signetd_rpc.h -- gRPC calls to signetd for tests, with raw request bytes or
 * a protobuf-c message, on top of the client library (client/client.h), so
 * the gRPC client code exists once. */
#ifndef SIGNET_TEST_SIGNETD_RPC_H
#define SIGNET_TEST_SIGNETD_RPC_H

#include <grpc/grpc.h>

#include "client/client.h"
#include "proto/signet.pb-c.h"

/* The service's path prefix: RPC_SVC "SignRRsets" is a method. */
#define RPC_SVC "/signet.v1.Signet/"

typedef struct rpc_conn rpc_conn;

/* A channel to target trusting the CA in ca_path, checking the server's
 * certificate for "localhost"; cert_path/key_path give the client
 * certificate (both NULL: none). Free with rpc_close. SIGNET_EINVAL for
 * bad arguments, or the client library's error (printed to stderr). */
signet_err rpc_open(const char *target, const char *ca_path, const char *cert_path,
		    const char *key_path, rpc_conn **out);
void rpc_close(rpc_conn *c);
/* The client library's connection under c (for its pipelined calls),
 * c's to close. */
client_conn *rpc_client(rpc_conn *c);

/* Call method (a full path) with req (len octets, sent as is); the status,
 * its details (detailslen octets) and the answer of an OK call (appended to
 * resp, may be NULL) come back. SIGNET_OK means the call completed, whatever
 * its status. */
signet_err rpc_call(rpc_conn *c, const char *method, const uint8_t *req, size_t len,
		    grpc_status_code *status, char *details, size_t detailslen,
		    sg_buf *resp);

/* Pack m (a fresh buffer per call), call RPC_SVC method, and return the
 * status; details and resp as for rpc_call. Fails the test if the call could
 * not be made at all. */
grpc_status_code rpc_call_msg(rpc_conn *c, const char *method, const ProtobufCMessage *m,
			      char *details, size_t dlen, sg_buf *resp);

#endif /* SIGNET_TEST_SIGNETD_RPC_H */
