/* zone_status.c -- what a zone's state says beyond its keys: how long its
 * imported key set lasts, what its rollover waits for at the parent, and
 * the warnings Health gives; read by Health, ConfirmDs and the metrics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/internal.h"

int64_t srv_keyset_left(signer_server *srv, const dns_name *zone, int64_t now, bool *has)
{
	if (has)
		*has = false;
	uint64_t serial = 0;
	sg_buf text = SG_BUF_INIT;
	int64_t left = -1;
	dns_keyset ks;
	memset(&ks, 0, sizeof(ks));
	if (signer_state_bundle(srv->state, zone, &serial, &text) == SIGNET_OK &&
	    dns_keyset_parse((const char *)text.data, text.len, &ks, NULL) == SIGNET_OK &&
	    ks.count > 0) {
		left = (int64_t)ks.periods[ks.count - 1].expiration - now;
		if (has)
			*has = true;
	}
	dns_keyset_free(&ks);
	sg_buf_free(&text);
	return left;
}

signet_err srv_ds_wait(signer_server *srv, const dns_name *zone, int64_t now,
		       Signet__V1__DsWait *out)
{
	signer_policy p;
	signer_key *keys = NULL;
	size_t n = 0, w = 0;
	int64_t since = 0;
	bool *gone = NULL;
	if (out)
		signet__v1__ds_wait__init(out);
	signet_err ret = signer_state_zone_policy(srv->state, zone, &p);
	if (ret == SIGNET_OK)
		ret = signer_state_list_keys(srv->state, zone, 0, &keys, &n);
	if (ret == SIGNET_OK && !(gone = calloc(n ? n : 1, sizeof(*gone))))
		ret = SIGNET_ENOMEM;
	if (ret == SIGNET_OK)
		ret = signer_rollover_ds_wait(keys, n, now, &w, &since, gone);
	if (ret == SIGNET_OK && out) {
		const signer_key *k = &keys[w];
		out->key_tag = k->key_tag;
		out->algorithm = k->alg;
		out->since = since;
		out->ds_ttl = p.ds_ttl;
		size_t ng = 0;
		for (size_t i = 0; i < n; i++)
			ng += gone[i];
		out->dnskey.data = malloc(k->dnskey_len);
		out->gone_dnskey = calloc(ng ? ng : 1, sizeof(*out->gone_dnskey));
		if (!out->dnskey.data || !out->gone_dnskey)
			ret = SIGNET_ENOMEM;
		for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
			if (!gone[i])
				continue;
			ProtobufCBinaryData *g = &out->gone_dnskey[out->n_gone_dnskey];
			if (!(g->data = malloc(keys[i].dnskey_len))) {
				ret = SIGNET_ENOMEM;
				break;
			}
			memcpy(g->data, keys[i].dnskey, keys[i].dnskey_len);
			g->len = keys[i].dnskey_len;
			out->n_gone_dnskey++;
		}
		if (out->dnskey.data) {
			memcpy(out->dnskey.data, k->dnskey, k->dnskey_len);
			out->dnskey.len = k->dnskey_len;
		}
		if (ret != SIGNET_OK)
			srv_ds_wait_free(out);
	}
	free(gone);
	free(keys);
	return ret;
}

void srv_ds_wait_free(Signet__V1__DsWait *w)
{
	if (!w)
		return;
	free(w->dnskey.data);
	for (size_t i = 0; i < w->n_gone_dnskey; i++)
		free(w->gone_dnskey[i].data);
	free(w->gone_dnskey);
	signet__v1__ds_wait__init(w);
}

/* Append one warning to *w. */
static signet_err warn(char ***w, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static signet_err warn(char ***w, size_t *n, const char *fmt, ...)
{
	char buf[400]; /* a parental agent's line (300) and its prefix */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char **g = realloc(*w, (*n + 1) * sizeof(*g));
	if (!g)
		return SIGNET_ENOMEM;
	*w = g;
	if (!(g[*n] = strdup(buf)))
		return SIGNET_ENOMEM;
	(*n)++;
	return SIGNET_OK;
}

static void next_after(int64_t *next, int64_t t, int64_t now)
{
	if (t > now && (*next == 0 || t < *next))
		*next = t;
}

/* A rollover waits for the DS of KSK tag: say so, and what parent-watch
 * saw at each parental agent in its last pass, if it spoke. */
static signet_err ds_wait_warnings(signer_server *srv, const dns_name *zone, uint16_t tag,
				   char ***warnings, size_t *nwarnings)
{
	signet_err ret = warn(warnings, nwarnings,
			      "KSK rollover waits for the parent: publish"
			      " the DS of KSK %u, then confirm with ds-seen (or let signet"
			      " parent-watch confirm it)",
			      tag);
	char **lines = NULL;
	size_t nl = 0;
	int64_t when = 0;
	if (ret != SIGNET_OK ||
	    signer_ds_reports_lines(srv->ds_reports, zone, tag, &when, &lines, &nl) != SIGNET_OK)
		return ret;
	char ts[32];
	time_t tt = (time_t)when;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(ts, sizeof(ts), "%lld", (long long)when);
	for (size_t l = 0; l < nl; l++) {
		if (ret == SIGNET_OK)
			ret = warn(warnings, nwarnings, "parental agent at %s: %s", ts, lines[l]);
		free(lines[l]);
	}
	free(lines);
	return ret;
}

signet_err srv_zone_rollover_health(signer_server *srv, const dns_name *zone, int64_t now,
				    char ***warnings, size_t *nwarnings, int64_t *next_change)
{
	*next_change = 0;
	signer_policy p;
	signet_err ret = signer_state_zone_policy(srv->state, zone, &p);
	signer_key *keys = NULL;
	size_t nk = 0;
	if (ret == SIGNET_OK)
		ret = signer_state_list_keys(srv->state, zone, 0, &keys, &nk);
	if (ret != SIGNET_OK)
		return ret;
	bool has = false;
	int64_t left = srv_keyset_left(srv, zone, now, &has);
	/* A ceremony takes days to gather a quorum: warn a key-set period
	 * ahead, as the metric alert (signet_keyset_expiry_seconds) does. */
	if (!has)
		ret = warn(warnings, nwarnings,
			   "no key bundle imported: export a request for"
			   " the ceremony");
	else if (left < (int64_t)p.keyset_period)
		ret = warn(warnings, nwarnings,
			   "key bundle runs out in %lld s: export a request"
			   " and hold a ceremony",
			   (long long)left);
	size_t unbacked = signer_backups_zone_missing(srv->backups, zone);
	if (ret == SIGNET_OK && unbacked > 0)
		ret = warn(warnings, nwarnings, "%zu ZSK(s) without a proven backup%s", unbacked,
			   signer_backups_required(srv->backups)
				   ? ": no key-signing request until each has one (require-backup)"
				   : "");
	for (size_t i = 0; ret == SIGNET_OK && i < nk; i++) {
		const signer_key *k = &keys[i];
		if (k->committed) {
			next_after(next_change, k->t_publish, now);
			next_after(next_change, k->t_active, now);
			next_after(next_change, k->t_retire, now);
			next_after(next_change, k->t_remove, now);
		}
		if (strcmp(k->role, "ksk") != 0 || k->state == SIGNER_KEY_REMOVED)
			continue;
		bool newer = false, older = false;
		for (size_t j = 0; j < nk; j++) {
			if (j == i || strcmp(keys[j].role, "ksk") != 0 ||
			    keys[j].state == SIGNER_KEY_REMOVED)
				continue;
			if (keys[j].created > k->created)
				newer = true;
			else if (!keys[j].t_remove)
				older = true;
		}
		if (k->state == SIGNER_KEY_PUBLISHED && !newer && p.ksk_lifetime && k->t_active &&
		    now - k->t_active > (int64_t)p.ksk_lifetime)
			ret = warn(warnings, nwarnings,
				   "KSK %u is older than ksk_lifetime: start a"
				   " KSK rollover (create-ksk, add-ksk)",
				   k->key_tag);
		else if (older && !k->ds_seen && k->committed && k->t_active && now >= k->t_active)
			ret = ds_wait_warnings(srv, zone, k->key_tag, warnings, nwarnings);
		else if (older && k->ds_seen)
			ret = warn(warnings, nwarnings,
				   "KSK %u: DS seen; export a request and hold"
				   " a ceremony to retire the old KSK",
				   k->key_tag);
	}
	free(keys);
	return ret;
}
