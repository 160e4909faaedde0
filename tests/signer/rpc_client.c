/* rpc_client.c -- a minimal gRPC C-core client for signetd's tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "rpc_client.h"

struct rpc_conn {
	grpc_channel *ch;
};

static signet_err read_pem(const char *path, sg_buf *out)
{
	signet_err ret = sg_file_read(path, 1 << 20, out);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(out, 0);
	return ret;
}

signet_err rpc_open(const char *target, const char *ca_path, const char *cert_path,
		    const char *key_path, rpc_conn **out)
{
	sg_buf ca = SG_BUF_INIT, cert = SG_BUF_INIT, key = SG_BUF_INIT;
	signet_err ret = read_pem(ca_path, &ca);
	if (ret == SIGNET_OK && cert_path)
		ret = read_pem(cert_path, &cert);
	if (ret == SIGNET_OK && key_path)
		ret = read_pem(key_path, &key);
	if (ret != SIGNET_OK)
		goto out;
	/* grpc_ssl_credentials_create aborts on a pair with a NULL key, so the
	 * pair is passed only when both files were read. */
	grpc_ssl_pem_key_cert_pair pair = {(const char *)key.data, (const char *)cert.data};
	grpc_channel_credentials *creds = grpc_ssl_credentials_create(
		(const char *)ca.data, (cert_path && key_path) ? &pair : NULL, NULL, NULL);
	if (!creds) {
		ret = SIGNET_ECRYPTO;
		goto out;
	}
	grpc_arg args[2];
	memset(args, 0, sizeof(args));
	args[0].type = GRPC_ARG_STRING;
	args[0].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
	args[0].value.string = (char *)"localhost";
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[1].value.integer = 64 * 1024 * 1024;
	grpc_channel_args ca_args = {2, args};
	rpc_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		grpc_channel_credentials_release(creds);
		ret = SIGNET_ENOMEM;
		goto out;
	}
	c->ch = grpc_channel_create(target, creds, &ca_args);
	grpc_channel_credentials_release(creds);
	*out = c;
out:
	sg_buf_free(&ca);
	sg_buf_free(&cert);
	sg_buf_free_secure(&key);
	return ret;
}

void rpc_close(rpc_conn *c)
{
	if (!c)
		return;
	grpc_channel_destroy(c->ch);
	free(c);
}

signet_err rpc_call(rpc_conn *c, const char *method, const uint8_t *req, size_t len,
		    grpc_status_code *status, char *details, size_t detailslen,
		    sg_buf *resp)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
					     gpr_time_from_seconds(20, GPR_TIMESPAN));
	grpc_slice m = grpc_slice_from_copied_string(method);
	grpc_call *call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m,
						   NULL, deadline, NULL);
	grpc_slice_unref(m);
	/* A fresh buffer per call: a sent buffer is consumed. */
	grpc_slice s = grpc_slice_from_copied_buffer((const char *)req, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	grpc_metadata_array md_init, md_trail;
	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);
	grpc_byte_buffer *rbb = NULL;
	grpc_slice det = grpc_empty_slice();
	grpc_op ops[6];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = bb;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &rbb;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
	ops[5].data.recv_status_on_client.status = status;
	ops[5].data.recv_status_on_client.status_details = &det;
	signet_err ret = SIGNET_OK;
	if (grpc_call_start_batch(call, ops, 6, (void *)1, NULL) != GRPC_CALL_OK) {
		ret = SIGNET_EIO;
	} else {
		grpc_event ev = grpc_completion_queue_pluck(
			cq, (void *)1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		/* success is 1 for failed RPCs too: the status tells. */
		if (ev.type != GRPC_OP_COMPLETE)
			ret = SIGNET_EIO;
	}
	if (ret == SIGNET_OK && details && detailslen) {
		size_t n = GRPC_SLICE_LENGTH(det);
		if (n >= detailslen)
			n = detailslen - 1;
		memcpy(details, GRPC_SLICE_START_PTR(det), n);
		details[n] = '\0';
	}
	if (ret == SIGNET_OK && rbb && resp) {
		grpc_byte_buffer_reader r;
		if (grpc_byte_buffer_reader_init(&r, rbb)) {
			grpc_slice all = grpc_byte_buffer_reader_readall(&r);
			ret = sg_buf_append(resp, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
			grpc_slice_unref(all);
			grpc_byte_buffer_reader_destroy(&r);
		}
	}
	if (rbb)
		grpc_byte_buffer_destroy(rbb);
	grpc_byte_buffer_destroy(bb);
	grpc_slice_unref(det);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return ret;
}
