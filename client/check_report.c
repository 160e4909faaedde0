/* check_report.c -- the findings of `signet check` and their two outputs:
 * lines for people and JSON for monitoring systems. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

const char *check_status_name(check_status st)
{
	switch (st) {
	case CHECK_OK:
		return "OK";
	case CHECK_WARNING:
		return "WARNING";
	case CHECK_CRITICAL:
		return "CRITICAL";
	default:
		return "UNKNOWN";
	}
}

/* CRITICAL outranks UNKNOWN: a zone known to be broken is worse news than a
 * check that could not finish. */
static int severity(check_status st)
{
	switch (st) {
	case CHECK_OK:
		return 0;
	case CHECK_WARNING:
		return 1;
	case CHECK_UNKNOWN:
		return 2;
	default:
		return 3;
	}
}

void check_report_add(check_report *r, check_status st, const char *check, const char *fmt, ...)
{
	if (!r || !check || !fmt)
		return;
	if (severity(st) > severity(r->worst))
		r->worst = st;
	if (r->count >= CHECK_FINDINGS_MAX) {
		r->dropped++;
		return;
	}
	if (r->count == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 32;
		check_finding *n = realloc(r->items, ncap * sizeof(*n));
		if (!n) {
			r->dropped++;
			return;
		}
		r->items = n;
		r->cap = ncap;
	}
	check_finding *f = &r->items[r->count++];
	memset(f, 0, sizeof(*f));
	f->status = st;
	snprintf(f->check, sizeof(f->check), "%s", check);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	/* Names come from the wire in escaped presentation form already; this is
	 * the last guard against a terminal escape reaching an operator. */
	for (char *p = f->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

void check_report_free(check_report *r)
{
	if (!r)
		return;
	free(r->items);
	memset(r, 0, sizeof(*r));
}

int check_report_exit(const check_report *r)
{
	return (int)r->worst;
}

static void count_by_status(const check_report *r, size_t n[4])
{
	memset(n, 0, 4 * sizeof(n[0]));
	for (size_t i = 0; i < r->count; i++)
		n[r->items[i].status & 3]++;
}

signet_err check_report_text(const check_report *r, const char *zone, const char *server,
			     sg_buf *out)
{
	if (!r || !zone || !server || !out)
		return SIGNET_EINVAL;
	size_t n[4];
	count_by_status(r, n);
	signet_err ret = sg_buf_printf(
		out, "SIGNET CHECK %s - %s at %s: %zu critical, %zu warning, %zu unknown, %zu ok\n",
		check_status_name(r->worst), zone, server, n[CHECK_CRITICAL], n[CHECK_WARNING],
		n[CHECK_UNKNOWN], n[CHECK_OK]);
	static const check_status order[4] = {CHECK_CRITICAL, CHECK_UNKNOWN, CHECK_WARNING,
					      CHECK_OK};
	for (size_t o = 0; o < 4 && ret == SIGNET_OK; o++)
		for (size_t i = 0; i < r->count && ret == SIGNET_OK; i++) {
			const check_finding *f = &r->items[i];
			if (f->status == order[o])
				ret = sg_buf_printf(out, "%-8s %s: %s\n",
						    check_status_name(f->status), f->check,
						    f->text);
		}
	if (ret == SIGNET_OK && r->dropped)
		ret = sg_buf_printf(out, "(%zu more findings not shown)\n", r->dropped);
	return ret;
}

/* Append s as a JSON string with quotes. */
static signet_err json_str(sg_buf *out, const char *s)
{
	signet_err ret = sg_buf_put_u8(out, '"');
	for (; *s && ret == SIGNET_OK; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			ret = sg_buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			ret = sg_buf_printf(out, "\\u%04x", c);
		else
			ret = sg_buf_put_u8(out, c);
	}
	if (ret == SIGNET_OK)
		ret = sg_buf_put_u8(out, '"');
	return ret;
}

signet_err check_report_json(const check_report *r, const char *zone, const char *server,
			     int64_t now, sg_buf *out)
{
	if (!r || !zone || !server || !out)
		return SIGNET_EINVAL;
	size_t n[4];
	count_by_status(r, n);
	signet_err ret = sg_buf_printf(out, "{\"zone\":");
	if (ret == SIGNET_OK)
		ret = json_str(out, zone);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(out, ",\"server\":");
	if (ret == SIGNET_OK)
		ret = json_str(out, server);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(out,
				    ",\"time\":%lld,\"status\":\"%s\",\"exit\":%d,"
				    "\"counts\":{\"ok\":%zu,\"warning\":%zu,\"critical\":%zu,"
				    "\"unknown\":%zu},\"dropped\":%zu,\"findings\":[",
				    (long long)now, check_status_name(r->worst),
				    check_report_exit(r), n[CHECK_OK], n[CHECK_WARNING],
				    n[CHECK_CRITICAL], n[CHECK_UNKNOWN], r->dropped);
	for (size_t i = 0; i < r->count && ret == SIGNET_OK; i++) {
		const check_finding *f = &r->items[i];
		ret = sg_buf_printf(out, "%s{\"status\":\"%s\",\"check\":", i ? "," : "",
				    check_status_name(f->status));
		if (ret == SIGNET_OK)
			ret = json_str(out, f->check);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(out, ",\"message\":");
		if (ret == SIGNET_OK)
			ret = json_str(out, f->text);
		if (ret == SIGNET_OK)
			ret = sg_buf_put_u8(out, '}');
	}
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(out, "]}\n");
	return ret;
}
