/* signetd_rpc.c -- tests' gRPC calls to signetd over the client library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/signetd_rpc.h"

struct rpc_conn {
	client_conn *c;
};

signet_err rpc_open(const char *target, const char *ca_path, const char *cert_path,
		    const char *key_path, rpc_conn **out)
{
	if (!target || !ca_path || !out || (!cert_path) != (!key_path))
		return SIGNET_EINVAL;
	client_config cfg;
	client_config_init(&cfg);
	cfg.timeout_ms = 20000;
	char msg[512] = "out of memory";
	signet_err ret = client_config_set(&cfg, "server", target, msg, sizeof(msg));
	if (ret == SIGNET_OK)
		ret = client_config_set(&cfg, "server-name", "localhost", msg, sizeof(msg));
	if (ret == SIGNET_OK)
		ret = client_config_set(&cfg, "ca", ca_path, msg, sizeof(msg));
	if (ret == SIGNET_OK && cert_path)
		ret = client_config_set(&cfg, "cert", cert_path, msg, sizeof(msg));
	if (ret == SIGNET_OK && key_path)
		ret = client_config_set(&cfg, "key", key_path, msg, sizeof(msg));
	rpc_conn *c = calloc(1, sizeof(*c));
	if (ret == SIGNET_OK && !c)
		ret = SIGNET_ENOMEM;
	if (ret == SIGNET_OK)
		ret = client_open(&cfg, &c->c, msg, sizeof(msg));
	if (ret != SIGNET_OK) {
		fprintf(stderr, "rpc_open: %s\n", msg);
		free(c);
		return ret;
	}
	*out = c;
	return SIGNET_OK;
}

client_conn *rpc_client(rpc_conn *c)
{
	return c ? c->c : NULL;
}

void rpc_close(rpc_conn *c)
{
	if (!c)
		return;
	client_close(c->c);
	free(c);
}

signet_err rpc_call(rpc_conn *c, const char *method, const uint8_t *req, size_t len,
		    grpc_status_code *status, char *details, size_t detailslen,
		    sg_buf *resp)
{
	if (!c || !status)
		return SIGNET_EINVAL;
	client_status st;
	signet_err ret = client_call(c->c, method, req, len, &st, resp);
	if (ret != SIGNET_OK)
		return ret;
	*status = (grpc_status_code)st.code;
	if (details && detailslen)
		snprintf(details, detailslen, "%s", st.details);
	return SIGNET_OK;
}

grpc_status_code rpc_call_msg(rpc_conn *c, const char *method, const ProtobufCMessage *m,
			      char *details, size_t dlen, sg_buf *resp)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	protobuf_c_message_pack(m, buf);
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	char path[128];
	snprintf(path, sizeof(path), RPC_SVC "%s", method);
	signet_err ret = rpc_call(c, path, buf, n, &st, details, dlen, resp);
	free(buf);
	assert_int_equal(ret, SIGNET_OK);
	return st;
}
