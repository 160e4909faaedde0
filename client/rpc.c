/* rpc.c -- the gRPC channel to signetd: mutual TLS from files (or a key in a
 * token, tls_key.c), unary calls
 * with deadlines, pipelined calls on one completion queue, statuses. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <protobuf-c/protobuf-c.h>

#include "client/client.h"
#include "hsm/hsm.h"

#define PEM_MAX (1 << 20)

/* Round robin over the replicas; UNAVAILABLE is retried on another, at
 * most 4 attempts in all, 0.1 s backoff doubling to 1 s. */
#define CLIENT_REPLICAS_SERVICE_CONFIG                                      \
	"{\"loadBalancingConfig\":[{\"round_robin\":{}}],"                  \
	"\"methodConfig\":[{\"name\":[{\"service\":\"signet.v1.Signet\"}]," \
	"\"retryPolicy\":{\"maxAttempts\":4,\"initialBackoff\":\"0.1s\","   \
	"\"maxBackoff\":\"1s\",\"backoffMultiplier\":2,"                    \
	"\"retryableStatusCodes\":[\"UNAVAILABLE\"]}}]}"

/* One call in flight: everything its batch of operations writes into. */
typedef struct pending {
	grpc_call *call;
	grpc_metadata_array md_init;  /* initial metadata received */
	grpc_metadata_array md_trail; /* trailing metadata received */
	grpc_byte_buffer *send;       /* request, consumed by the send */
	grpc_byte_buffer *recv;       /* answer, NULL when none came */
	grpc_status_code status;
	grpc_slice details;
	void *tag;            /* the caller's */
	struct pending *next; /* list of calls in flight */
} pending;

/* The engine key string "engine:<id>:<URI>" (URI at most CLIENT_PATH_MAX). */
#define ENGINE_KEY_MAX (CLIENT_PATH_MAX * 3 + 32)

struct client_conn {
	pthread_mutex_t lock; /* guards ch: a renewal swaps it */
	grpc_channel *ch;
	grpc_completion_queue *cq; /* the pipeline's queue (next-type) */
	pending *inflight;         /* started, not yet collected */
	size_t ninflight;
	unsigned timeout_ms;
	/* What another channel is made from when the key in the token is
	 * loaded anew (renew). */
	client_target_info ti;
	char name[CLIENT_SERVER_MAX]; /* the TLS name, empty when none */
	sg_buf ca, cert;              /* PEM, NUL-terminated */
	bool anonymous;
	bool token_key;                  /* the key is in a token (tls_key.c) */
	char engine_key[ENGINE_KEY_MAX]; /* the engine key ch was made with */
	uint64_t failures_seen;          /* hsm_tls_engine_failures() then */
};

static void set_msg(char *errmsg, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *errmsg, size_t errlen, const char *fmt, ...)
{
	if (!errmsg || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, errlen, fmt, ap);
	va_end(ap);
}

/* Read a PEM file into a NUL-terminated buffer; a file with no PEM block is
 * refused here, because gRPC aborts the process on some unusable inputs. */
static signet_err read_pem(const char *what, const char *path, sg_buf *out, char *errmsg,
			   size_t errlen)
{
	signet_err ret = sg_file_read(path, PEM_MAX, out);
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(out, 0);
	if (ret != SIGNET_OK) {
		set_msg(errmsg, errlen, "%s %s: %s", what, path, signet_strerror(ret));
		return ret;
	}
	if (!strstr((const char *)out->data, "-----BEGIN ")) {
		set_msg(errmsg, errlen, "%s %s: no PEM block", what, path);
		return SIGNET_EPARSE;
	}
	return SIGNET_OK;
}

/* A channel to c's target with key (PEM, or an engine key string) and
 * c's certificate and CA. NULL when gRPC refuses the credentials. */
static grpc_channel *channel_make(const client_conn *c, const char *key)
{
	/* Both PEMs were read and checked: a NULL key would abort. */
	grpc_ssl_pem_key_cert_pair pair = {key, (const char *)c->cert.data};
	grpc_channel_credentials *creds = grpc_ssl_credentials_create(
		(const char *)c->ca.data, c->anonymous ? NULL : &pair, NULL, NULL);
	if (!creds)
		return NULL;
	grpc_arg args[7];
	size_t nargs = 0;
	memset(args, 0, sizeof(args));
	args[nargs].type = GRPC_ARG_INTEGER;
	args[nargs].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[nargs++].value.integer = CLIENT_RECV_MAX;
	/* gRPC's reconnect back-off grows to 120 s by default: a long-lived
	 * client (signet-zoned) would then wait up to two minutes after signetd
	 * is back before its next sign could go through. */
	args[nargs].type = GRPC_ARG_INTEGER;
	args[nargs].key = (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
	args[nargs++].value.integer = CLIENT_RECONNECT_BACKOFF_MAX_MS;
	if (c->name[0]) {
		args[nargs].type = GRPC_ARG_STRING;
		args[nargs].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
		args[nargs++].value.string = (char *)c->name;
	}
	if (c->ti.host[0]) {
		args[nargs].type = GRPC_ARG_STRING;
		args[nargs].key = (char *)GRPC_ARG_DEFAULT_AUTHORITY;
		args[nargs++].value.string = (char *)c->name;
	}
	if (c->ti.several) {
		/* Replicas: calls spread over those that answer, and a call a
		 * replica could not take (it died, or refused it UNAVAILABLE) is
		 * made again on another. Signing twice is harmless; a change
		 * made twice is refused the second time (ALREADY_EXISTS). */
		args[nargs].type = GRPC_ARG_STRING;
		args[nargs].key = (char *)GRPC_ARG_SERVICE_CONFIG;
		args[nargs++].value.string = (char *)CLIENT_REPLICAS_SERVICE_CONFIG;
		/* Batches up to the server's receive limit stay retryable. */
		args[nargs].type = GRPC_ARG_INTEGER;
		args[nargs].key = (char *)GRPC_ARG_PER_RPC_RETRY_BUFFER_SIZE;
		args[nargs++].value.integer = 8 * 1024 * 1024;
	}
	grpc_channel_args chargs = {nargs, args};
	grpc_channel *ch = grpc_channel_create(c->ti.target, creds, &chargs);
	grpc_channel_credentials_release(creds);
	return ch;
}

/* gRPC advances a connection only while some thread polls it. A call
 * made while the channel is in TRANSIENT_FAILURE fails at once and polls
 * nothing, so a long-lived client that calls now and then (signet-zoned)
 * left the reconnect after signetd came back to gRPC's backup poller
 * alone: with its 5 s, a refused connect was seen up to 5 s late and each
 * round trip of the TLS handshake took one more tick, so the attempt
 * often ran past gRPC's 20 s connect deadline and the client stayed
 * UNAVAILABLE for minutes (docs/CLIENT.md, Reconnecting). gRPC reads the
 * interval at its first initialisation, hence before grpc_init; an
 * operator's own value is kept. */
static void backup_poll_set(void)
{
	setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", CLIENT_BACKUP_POLL_MS, 0);
}

void client_grpc_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, backup_poll_set);
	grpc_init();
}

static void conn_free(client_conn *c)
{
	sg_buf_free(&c->ca);
	sg_buf_free(&c->cert);
	explicit_bzero(c->engine_key, sizeof(c->engine_key));
	pthread_mutex_destroy(&c->lock);
	free(c);
}

signet_err client_open(const client_config *cfg, client_conn **out, char *errmsg, size_t errlen)
{
	if (!cfg || !out)
		return SIGNET_EINVAL;
	*out = NULL;
	/* Without a certificate signetd refuses the handshake; only tests of
	 * that refusal leave both out. */
	bool anonymous = !cfg->cert[0] && !cfg->key[0];
	if (!cfg->server[0] || !cfg->ca[0] || (!anonymous && (!cfg->cert[0] || !cfg->key[0])))
		return client_config_check(cfg, errmsg, errlen);
	client_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return SIGNET_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	/* calloc: ca and cert are empty buffers (SG_BUF_INIT is all zero). */
	c->anonymous = anonymous;
	/* The target first: a bad server list is refused before any file or
	 * token is touched. */
	signet_err ret = client_target(cfg->server, &c->ti, errmsg, errlen);
	if (ret != SIGNET_OK) {
		conn_free(c);
		return ret;
	}
	/* A list's TLS name is its first address unless server-name says. */
	snprintf(c->name, sizeof(c->name), "%s",
		 cfg->server_name[0] ? cfg->server_name : c->ti.host);
	sg_buf key = SG_BUF_INIT;
	ret = read_pem("CA", cfg->ca, &c->ca, errmsg, errlen);
	if (ret == SIGNET_OK && !anonymous)
		ret = read_pem("certificate", cfg->cert, &c->cert, errmsg, errlen);
	if (ret == SIGNET_OK && !anonymous && hsm_uri_is(cfg->key)) {
		ret = client_config_check(cfg, errmsg, errlen);
		if (ret == SIGNET_OK)
			ret = client_tls_key_acquire(cfg, c->cert.data, c->cert.len, c->engine_key,
						     sizeof(c->engine_key), errmsg, errlen);
		if (ret == SIGNET_OK) {
			c->token_key = true;
			c->failures_seen = hsm_tls_engine_failures();
			ret = sg_buf_append(&key, (const uint8_t *)c->engine_key,
					    strlen(c->engine_key) + 1);
		}
	} else if (ret == SIGNET_OK && !anonymous) {
		ret = read_pem("key", cfg->key, &key, errmsg, errlen);
	}
	if (ret != SIGNET_OK) {
		sg_buf_free_secure(&key);
		conn_free(c);
		return ret;
	}
	client_grpc_init();
	c->ch = channel_make(c, anonymous ? NULL : (const char *)key.data);
	sg_buf_free_secure(&key);
	if (!c->ch) {
		set_msg(errmsg, errlen, "gRPC refused the TLS credentials");
		conn_free(c);
		grpc_shutdown();
		return SIGNET_ECRYPTO;
	}
	c->cq = grpc_completion_queue_create_for_next(NULL);
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : CLIENT_TIMEOUT_DEFAULT_MS;
	*out = c;
	return SIGNET_OK;
}

/* A connection whose key is in a token, after a signature through libp11's
 * engine failed (a handshake to signetd, probably this connection's): the
 * key is checked and, when its token lost its sessions, loaded anew
 * through a fresh engine instance (client_tls_key_repair); a channel made
 * with the engine instance no longer in use is replaced by one made with
 * the new. Handshakes through the old instance fail for good (libp11 keeps
 * dead sessions, docs/HSM.md), so the old channel could never connect
 * again; calls still on it (another thread's) end as gRPC ends them when
 * it is destroyed. The pipeline's own calls are never in flight here (the
 * callers check). True when the channel was replaced. */
static bool renew(client_conn *c)
{
	if (!c->token_key)
		return false;
	uint64_t failures = hsm_tls_engine_failures();
	pthread_mutex_lock(&c->lock);
	bool news = failures != c->failures_seen;
	c->failures_seen = failures;
	pthread_mutex_unlock(&c->lock);
	if (!news)
		return false;
	char key[ENGINE_KEY_MAX];
	if (client_tls_key_repair(key, sizeof(key), NULL, 0) != SIGNET_OK)
		return false; /* still broken: the next failure tries again */
	pthread_mutex_lock(&c->lock);
	/* The repair's own probes are no news either. */
	c->failures_seen = hsm_tls_engine_failures();
	grpc_channel *old = NULL;
	if (strcmp(key, c->engine_key) != 0) {
		grpc_channel *ch = channel_make(c, key);
		if (ch) {
			old = c->ch;
			c->ch = ch;
			snprintf(c->engine_key, sizeof(c->engine_key), "%s", key);
		}
	}
	pthread_mutex_unlock(&c->lock);
	explicit_bzero(key, sizeof(key));
	if (old)
		grpc_channel_destroy(old);
	return old != NULL;
}

static void pending_free(pending *p)
{
	if (!p)
		return;
	if (p->send)
		grpc_byte_buffer_destroy(p->send);
	if (p->recv)
		grpc_byte_buffer_destroy(p->recv);
	grpc_slice_unref(p->details);
	grpc_metadata_array_destroy(&p->md_init);
	grpc_metadata_array_destroy(&p->md_trail);
	if (p->call)
		grpc_call_unref(p->call);
	free(p);
}

void client_close(client_conn *c)
{
	if (!c)
		return;
	for (pending *p = c->inflight; p; p = p->next)
		grpc_call_cancel(p->call, NULL);
	while (c->ninflight) {
		void *tag;
		client_status st;
		if (client_next(c, &tag, &st, NULL) != SIGNET_OK)
			break;
	}
	grpc_completion_queue_shutdown(c->cq);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			c->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
	}
	grpc_completion_queue_destroy(c->cq);
	grpc_channel_destroy(c->ch);
	conn_free(c);
	grpc_shutdown();
}

/* Make a call of method on cq carrying slice (consumed) and start its one
 * batch: send everything, receive everything. */
static signet_err pending_start(client_conn *c, grpc_completion_queue *cq, const char *method,
				grpc_slice body, void *tag, pending **out)
{
	pending *p = calloc(1, sizeof(*p));
	if (!p) {
		grpc_slice_unref(body);
		return SIGNET_ENOMEM;
	}
	grpc_metadata_array_init(&p->md_init);
	grpc_metadata_array_init(&p->md_trail);
	p->details = grpc_empty_slice();
	p->send = grpc_raw_byte_buffer_create(&body, 1);
	grpc_slice_unref(body);
	p->tag = tag;
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
					     gpr_time_from_millis(c->timeout_ms, GPR_TIMESPAN));
	grpc_slice m = grpc_slice_from_copied_string(method);
	/* The call holds its channel: a renewal may swap c->ch after this. */
	pthread_mutex_lock(&c->lock);
	p->call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
					   deadline, NULL);
	pthread_mutex_unlock(&c->lock);
	grpc_slice_unref(m);
	if (!p->call) {
		pending_free(p);
		return SIGNET_EIO;
	}
	grpc_op ops[6];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = p->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &p->md_init;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &p->recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &p->md_trail;
	ops[5].data.recv_status_on_client.status = &p->status;
	ops[5].data.recv_status_on_client.status_details = &p->details;
	/* The queue may hand p back on another thread (client_next): p is
	 * not read between the release and the hand-off. */
	grpc_call *call = p->call;
	SG_TSAN_RELEASE(p);
	if (grpc_call_start_batch(call, ops, 6, p, NULL) != GRPC_CALL_OK) {
		pending_free(p);
		return SIGNET_EIO;
	}
	*out = p;
	return SIGNET_OK;
}

/* Copy the status out of a completed call (details made printable, since
 * they come from the network and end up on a terminal) and append its
 * answer to resp. */
static signet_err pending_finish(pending *p, client_status *st, sg_buf *resp)
{
	st->code = (int)p->status;
	size_t n = GRPC_SLICE_LENGTH(p->details);
	if (n >= sizeof(st->details))
		n = sizeof(st->details) - 1;
	const uint8_t *d = GRPC_SLICE_START_PTR(p->details);
	for (size_t i = 0; i < n; i++)
		st->details[i] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : '?';
	st->details[n] = '\0';
	if (!p->recv || !resp || p->status != GRPC_STATUS_OK)
		return SIGNET_OK;
	if (grpc_byte_buffer_length(p->recv) > CLIENT_RECV_MAX)
		return SIGNET_ERANGE;
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, p->recv))
		return SIGNET_EIO;
	grpc_slice all = grpc_byte_buffer_reader_readall(&r);
	signet_err ret = sg_buf_append(resp, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
	grpc_slice_unref(all);
	grpc_byte_buffer_reader_destroy(&r);
	return ret;
}

/* One unary call on c's channel as it is now. */
static signet_err call_once(client_conn *c, const char *method, const uint8_t *req, size_t len,
			    client_status *st, sg_buf *resp)
{
	memset(st, 0, sizeof(*st));
	/* A queue per call keeps concurrent callers apart. */
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	/* A fresh buffer per call: a sent buffer is consumed. */
	grpc_slice body = grpc_slice_from_copied_buffer((const char *)req, len);
	pending *p = NULL;
	signet_err ret = pending_start(c, cq, method, body, NULL, &p);
	if (ret == SIGNET_OK) {
		grpc_event ev = grpc_completion_queue_pluck(
			cq, p, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		SG_TSAN_ACQUIRE(p);
		/* success is 1 for failed RPCs too: the status says how it went. */
		ret = ev.type == GRPC_OP_COMPLETE ? pending_finish(p, st, resp) : SIGNET_EIO;
		pending_free(p);
	}
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return ret;
}

signet_err client_call(client_conn *c, const char *method, const uint8_t *req, size_t len,
		       client_status *st, sg_buf *resp)
{
	if (!c || !method || !st || (!req && len))
		return SIGNET_EINVAL;
	/* A handshake that failed in the token since the last call (a
	 * pipelined one's): a new channel first. */
	renew(c);
	signet_err ret = call_once(c, method, req, len, st, resp);
	/* This call's own handshake failed in the token: once more on a
	 * channel with the key loaded anew (nothing was appended: an answer
	 * comes only with OK). */
	if (ret == SIGNET_OK && st->code == GRPC_STATUS_UNAVAILABLE && renew(c))
		ret = call_once(c, method, req, len, st, resp);
	return ret;
}

signet_err client_call_msg(client_conn *c, const char *method, const struct ProtobufCMessage *req,
			   const struct ProtobufCMessageDescriptor *rdesc,
			   struct ProtobufCMessage **resp, client_status *st)
{
	if (!c || !req || !rdesc || !resp || !st)
		return SIGNET_EINVAL;
	*resp = NULL;
	size_t n = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return SIGNET_ENOMEM;
	protobuf_c_message_pack(req, buf);
	sg_buf ans = SG_BUF_INIT;
	signet_err ret = client_call(c, method, buf, n, st, &ans);
	free(buf);
	if (ret == SIGNET_OK && st->code == GRPC_STATUS_OK) {
		*resp = protobuf_c_message_unpack(rdesc, NULL, ans.len, ans.data);
		if (!*resp)
			ret = SIGNET_EPARSE;
	}
	sg_buf_free(&ans);
	return ret;
}

signet_err client_start(client_conn *c, const char *method, uint8_t *req, size_t len, void *tag)
{
	if (!c || !method || !req) {
		free(req);
		return SIGNET_EINVAL;
	}
	/* With the pipeline empty, a channel whose handshakes failed in the
	 * token is replaced before the next batch goes out. */
	if (c->ninflight == 0)
		renew(c);
	/* The slice takes req over: no copy of a batch on its way out. */
	grpc_slice body = grpc_slice_new(req, len, free);
	pending *p = NULL;
	signet_err ret = pending_start(c, c->cq, method, body, tag, &p);
	if (ret != SIGNET_OK)
		return ret;
	p->next = c->inflight;
	c->inflight = p;
	c->ninflight++;
	return SIGNET_OK;
}

/* client_next until deadline. */
static signet_err next_until(client_conn *c, gpr_timespec deadline, void **tag, client_status *st,
			     sg_buf *resp)
{
	if (!c || !tag || !st)
		return SIGNET_EINVAL;
	if (!c->ninflight)
		return SIGNET_ENOTFOUND;
	memset(st, 0, sizeof(*st));
	grpc_event ev = grpc_completion_queue_next(c->cq, deadline, NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT)
		return SIGNET_ETIME;
	if (ev.type != GRPC_OP_COMPLETE)
		return SIGNET_EIO;
	SG_TSAN_ACQUIRE(ev.tag);
	pending *p = ev.tag, **pp = &c->inflight;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (!*pp)
		return SIGNET_EIO;
	*pp = p->next;
	c->ninflight--;
	*tag = p->tag;
	signet_err ret = pending_finish(p, st, resp);
	pending_free(p);
	return ret;
}

signet_err client_next(client_conn *c, void **tag, client_status *st, sg_buf *resp)
{
	return next_until(c, gpr_inf_future(GPR_CLOCK_REALTIME), tag, st, resp);
}

signet_err client_next_wait(client_conn *c, long wait_ms, void **tag, client_status *st,
			    sg_buf *resp)
{
	if (wait_ms < 0)
		return SIGNET_EINVAL;
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					     gpr_time_from_millis(wait_ms, GPR_TIMESPAN));
	return next_until(c, deadline, tag, st, resp);
}

size_t client_inflight(const client_conn *c)
{
	return c ? c->ninflight : 0;
}

int client_exit_for_status(int code)
{
	switch ((grpc_status_code)code) {
	case GRPC_STATUS_OK:
		return SIGNET_EXIT_OK;
	case GRPC_STATUS_UNAVAILABLE:
	case GRPC_STATUS_DEADLINE_EXCEEDED:
	case GRPC_STATUS_CANCELLED:
		return SIGNET_EXIT_CONNECT;
	case GRPC_STATUS_PERMISSION_DENIED:
	case GRPC_STATUS_UNAUTHENTICATED:
	case GRPC_STATUS_NOT_FOUND:
	case GRPC_STATUS_ALREADY_EXISTS:
	case GRPC_STATUS_FAILED_PRECONDITION:
		return SIGNET_EXIT_REFUSED;
	case GRPC_STATUS_INVALID_ARGUMENT:
	case GRPC_STATUS_OUT_OF_RANGE:
	case GRPC_STATUS_RESOURCE_EXHAUSTED:
		return SIGNET_EXIT_DATA;
	default:
		return SIGNET_EXIT_ERROR;
	}
}

const char *client_status_name(int code)
{
	return sg_grpc_status_name(code);
}
