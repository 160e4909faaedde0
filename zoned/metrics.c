/* metrics.c -- Prometheus metrics over HTTP (GET /metrics), per zone:
 * serials in and out, transfers in and out and their results, RRSIGs made
 * and reused, the earliest RRSIG expiry, NOTIFY failures, refusals; and
 * whether signetd answers (signet_zoned_signetd_up). One
 * evhttp server on the loop, bounded in header and body size and time. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "zoned/daemon.h"

static void line(struct evbuffer *b, const char *name, const zoned_zone *z, double v)
{
	/* Zone names are printed with dns_name_to_str's escapes: no quote or
	 * backslash can end the label value early. */
	evbuffer_add_printf(b, "%s{zone=\"%s\"} %.0f\n", name, z->conf.name, v);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	zoned *d = arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, HTTP_BADMETHOD, NULL);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	static const char *const help[] = {
		"# TYPE signet_zoned_serial_in gauge\n",
		"# TYPE signet_zoned_serial_out gauge\n",
		"# TYPE signet_zoned_transfers_in_total counter\n",
		"# TYPE signet_zoned_transfers_in_failed_total counter\n",
		"# TYPE signet_zoned_last_transfer_in_seconds gauge\n",
		"# TYPE signet_zoned_last_transfer_in_ok gauge\n",
		"# TYPE signet_zoned_transfers_out_total counter\n",
		"# TYPE signet_zoned_last_transfer_out_seconds gauge\n",
		"# TYPE signet_zoned_rrsigs_made_total counter\n",
		"# TYPE signet_zoned_rrsigs_reused_total counter\n",
		"# TYPE signet_zoned_sign_failed_total counter\n",
		"# TYPE signet_zoned_earliest_rrsig_expiry_seconds gauge\n",
		"# TYPE signet_zoned_notify_out_failed_total counter\n",
		"# TYPE signet_zoned_refused_total counter\n",
		"# TYPE signet_zoned_served gauge\n",
	};
	static const char *const names[] = {
		"signet_zoned_serial_in",
		"signet_zoned_serial_out",
		"signet_zoned_transfers_in_total",
		"signet_zoned_transfers_in_failed_total",
		"signet_zoned_last_transfer_in_seconds",
		"signet_zoned_last_transfer_in_ok",
		"signet_zoned_transfers_out_total",
		"signet_zoned_last_transfer_out_seconds",
		"signet_zoned_rrsigs_made_total",
		"signet_zoned_rrsigs_reused_total",
		"signet_zoned_sign_failed_total",
		"signet_zoned_earliest_rrsig_expiry_seconds",
		"signet_zoned_notify_out_failed_total",
		"signet_zoned_refused_total",
		"signet_zoned_served",
	};
	for (size_t m = 0; m < sizeof(names) / sizeof(names[0]); m++) {
		evbuffer_add(b, help[m], strlen(help[m]));
		for (size_t i = 0; i < d->nzones; i++) {
			const zoned_zone *z = d->zones[i];
			uint32_t out = 0, in = 0;
			bool have = zone_engine_serials(z->eng, &out, &in) == SIGNET_OK;
			double v[] = {
				have ? in : 0,
				have ? out : 0,
				(double)z->n.xfr_in_ok,
				(double)z->n.xfr_in_failed,
				(double)z->n.last_xfr_in,
				z->n.last_xfr_in_ok ? 1 : 0,
				(double)z->n.xfr_out,
				(double)z->n.last_xfr_out,
				(double)z->n.rrsigs_made,
				(double)z->n.rrsigs_reused,
				(double)z->n.sign_failed,
				(double)zone_engine_earliest_expiry(z->eng),
				(double)z->n.notify_out_failed,
				(double)z->n.refused,
				have && !z->expired ? 1 : 0,
			};
			line(b, names[m], z, v[m]);
		}
	}
	/* Not per zone: whether signetd answered the last call any worker
	 * made (before the first call: 1 if none failed yet), and when it
	 * last answered one. */
	int up = atomic_load(&d->reach.up);
	evbuffer_add_printf(b,
			    "# TYPE signet_zoned_signetd_up gauge\n"
			    "signet_zoned_signetd_up %d\n"
			    "# TYPE signet_zoned_signetd_last_ok_seconds gauge\n"
			    "signet_zoned_signetd_last_ok_seconds %lld\n",
			    up != 0 ? 1 : 0, (long long)atomic_load(&d->reach.last_ok));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

signet_err zoned_metrics_start(zoned *d)
{
	if (!d->cfg.metrics[0])
		return SIGNET_OK;
	zoned_addr a;
	if (zoned_addr_parse(d->cfg.metrics, 9154, false, &a) != SIGNET_OK)
		return SIGNET_EINVAL;
	char host[64];
	uint16_t port = 0;
	if (a.sa.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&a.sa)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&a.sa)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a.sa)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&a.sa)->sin6_port);
	}
	d->http = evhttp_new(d->base);
	if (d->http == NULL)
		return SIGNET_ENOMEM;
	/* A scrape is a short GET: small headers, no body, a few seconds. */
	evhttp_set_max_headers_size(d->http, 8192);
	evhttp_set_max_body_size(d->http, 0);
	evhttp_set_timeout(d->http, 5);
	evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET);
	evhttp_set_cb(d->http, "/metrics", on_metrics, d);
	if (evhttp_bind_socket(d->http, host, port) != 0) {
		sg_log(SG_LOG_ERROR, "zoned: metrics %s: cannot listen", d->cfg.metrics);
		return SIGNET_EIO;
	}
	return SIGNET_OK;
}

void zoned_metrics_stop(zoned *d)
{
	if (d->http)
		evhttp_free(d->http);
	d->http = NULL;
}
