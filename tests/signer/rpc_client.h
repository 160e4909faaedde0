/* rpc_client.h -- signetd's tests' gRPC calls with raw request bytes, on top
 * of the client library (client/client.h), so the gRPC client code exists
 * once. */
#ifndef SIGNET_TEST_RPC_CLIENT_H
#define SIGNET_TEST_RPC_CLIENT_H

#include <grpc/grpc.h>

#include "client/client.h"

typedef struct rpc_conn rpc_conn;

/* A channel to target trusting the CA in ca_path, checking the server's
 * certificate for "localhost"; cert_path/key_path give the client
 * certificate (both NULL: none). */
signet_err rpc_open(const char *target, const char *ca_path, const char *cert_path,
		    const char *key_path, rpc_conn **out);
void rpc_close(rpc_conn *c);

/* Call method with req (len octets, sent as is); the status, its details
 * (detailslen octets) and the answer of an OK call (appended to resp, may be
 * NULL) come back. SIGNET_OK means the call completed, whatever its status. */
signet_err rpc_call(rpc_conn *c, const char *method, const uint8_t *req, size_t len,
		    grpc_status_code *status, char *details, size_t detailslen,
		    sg_buf *resp);

#endif
