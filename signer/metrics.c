/* metrics.c -- signetd's Prometheus counters and histograms, updated with
 * atomics on the hot path, and their text exposition. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

/* Signature series live in a fixed open-addressing table whose slots are
 * filled once with a compare-and-swap and never emptied, so a worker finds
 * or adds its series without a lock. Past the table's size, counts go to one
 * overflow series rather than growing memory without bound. */
#define SERIES_SLOTS 4096

/* Bucket bounds in nanoseconds. */
static const uint64_t request_bounds[] = {
	100000,     250000,        500000,        1000000,        2500000,   5000000,
	10000000,   25000000,      50000000,      100000000,      250000000, 500000000,
	1000000000, 2500000000ull, 5000000000ull, 10000000000ull,
};
static const uint64_t hsm_bounds[] = {
	25000,   50000,    100000,   250000,   500000,    1000000,   2500000,
	5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 1000000000,
};
#define REQ_BUCKETS (sizeof(request_bounds) / sizeof(request_bounds[0]))
#define HSM_BUCKETS (sizeof(hsm_bounds) / sizeof(hsm_bounds[0]))
#define MAX_BUCKETS 16

#define DS_ZONES 256 /* zones whose DS confirmations are counted */

/* A histogram: per-bucket counts (not cumulative), total count and sum. */
typedef struct histogram {
	atomic_uint_fast64_t bucket[MAX_BUCKETS + 1]; /* last: above every bound */
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_ns;
} histogram;

struct signer_sig_series {
	dns_name zone; /* lower-cased apex; root for the overflow */
	uint16_t key_tag;
	uint8_t alg;
	bool overflow;              /* the series for everything past the table */
	atomic_uint_fast64_t hsm;   /* signatures made by the HSM */
	atomic_uint_fast64_t cache; /* signatures answered by the cache */
};

struct signer_metrics {
	size_t nmethods;
	char (*methods)[48];         /* method names, for labels */
	atomic_uint_fast64_t *calls; /* [method][code] */
	histogram *latency;          /* [method] */
	atomic_uint_fast64_t item_errors[SG_GRPC_STATUS_COUNT];
	atomic_uint_fast64_t refusals[SIGNER_REFUSAL_COUNT]; /* by signer_refusal */
	histogram hsm;
	atomic_uint_fast64_t hsm_errors;
	_Atomic(signer_sig_series *) slots[SERIES_SLOTS];
	signer_sig_series overflow;
	pthread_mutex_t ds_lock; /* guards the DS confirmation counts */
	size_t nds;
	struct {
		dns_name zone;
		uint64_t count[2]; /* by hand, by agent */
	} ds[DS_ZONES];
};

signet_err signer_metrics_new(const char *const *methods, size_t nmethods, signer_metrics **out)
{
	if (!methods || nmethods == 0 || nmethods > 64 || !out)
		return SIGNET_EINVAL;
	*out = NULL;
	signer_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return SIGNET_ENOMEM;
	m->nmethods = nmethods;
	m->methods = calloc(nmethods, sizeof(*m->methods));
	m->calls = calloc(nmethods * SG_GRPC_STATUS_COUNT, sizeof(*m->calls));
	m->latency = calloc(nmethods, sizeof(*m->latency));
	if (!m->methods || !m->calls || !m->latency) {
		signer_metrics_free(m);
		return SIGNET_ENOMEM;
	}
	for (size_t i = 0; i < nmethods; i++)
		snprintf(m->methods[i], sizeof(m->methods[i]), "%s", methods[i] ? methods[i] : "?");
	m->overflow.overflow = true;
	m->overflow.zone.len = 1;
	pthread_mutex_init(&m->ds_lock, NULL);
	*out = m;
	return SIGNET_OK;
}

void signer_metrics_free(signer_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < SERIES_SLOTS; i++)
		free(atomic_load(&m->slots[i]));
	free(m->methods);
	free(m->calls);
	free(m->latency);
	pthread_mutex_destroy(&m->ds_lock);
	free(m);
}

void signer_metrics_ds_confirmed(signer_metrics *m, const dns_name *zone, bool agent)
{
	if (!m || !zone)
		return;
	pthread_mutex_lock(&m->ds_lock);
	size_t i = 0;
	while (i < m->nds && !dns_name_equal(&m->ds[i].zone, zone))
		i++;
	if (i == m->nds && m->nds < DS_ZONES) {
		m->ds[i].zone = *zone;
		dns_name_lower(&m->ds[i].zone);
		m->nds++;
	}
	if (i < m->nds)
		m->ds[i].count[agent ? 1 : 0]++;
	pthread_mutex_unlock(&m->ds_lock);
}

static void observe(histogram *h, const uint64_t *bounds, size_t nb, uint64_t ns)
{
	size_t b = 0;
	while (b < nb && ns > bounds[b])
		b++;
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void signer_metrics_call(signer_metrics *m, size_t method, unsigned code, uint64_t ns)
{
	if (!m || method >= m->nmethods)
		return;
	if (code >= SG_GRPC_STATUS_COUNT)
		code = 2; /* UNKNOWN */
	atomic_fetch_add_explicit(&m->calls[method * SG_GRPC_STATUS_COUNT + code], 1,
				  memory_order_relaxed);
	observe(&m->latency[method], request_bounds, REQ_BUCKETS, ns);
}

void signer_metrics_item_error(signer_metrics *m, unsigned code)
{
	if (!m)
		return;
	if (code >= SG_GRPC_STATUS_COUNT)
		code = 2;
	atomic_fetch_add_explicit(&m->item_errors[code], 1, memory_order_relaxed);
}

void signer_metrics_refusal(signer_metrics *m, signer_refusal why)
{
	if (!m || (unsigned)why >= SIGNER_REFUSAL_COUNT)
		return;
	atomic_fetch_add_explicit(&m->refusals[why], 1, memory_order_relaxed);
}

void signer_metrics_hsm(signer_metrics *m, uint64_t ns, bool ok)
{
	if (!m)
		return;
	if (ok)
		observe(&m->hsm, hsm_bounds, HSM_BUCKETS, ns);
	else
		atomic_fetch_add_explicit(&m->hsm_errors, 1, memory_order_relaxed);
}

static size_t series_hash(const dns_name *zone, uint16_t tag, uint8_t alg)
{
	/* FNV-1a: the table only needs spread, not secrecy; zones and keys come
	 * from the state store, not from clients. */
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < zone->len; i++)
		h = (h ^ zone->wire[i]) * 1099511628211ull;
	h = (h ^ (tag >> 8)) * 1099511628211ull;
	h = (h ^ (tag & 0xff)) * 1099511628211ull;
	h = (h ^ alg) * 1099511628211ull;
	return (size_t)(h % SERIES_SLOTS);
}

static bool series_is(const signer_sig_series *s, const dns_name *zone, uint16_t tag, uint8_t alg)
{
	return s->key_tag == tag && s->alg == alg && dns_name_equal(&s->zone, zone);
}

signer_sig_series *signer_metrics_sig_series(signer_metrics *m, const dns_name *zone,
					     uint16_t key_tag, uint8_t alg)
{
	if (!m || !zone)
		return NULL;
	size_t start = series_hash(zone, key_tag, alg);
	signer_sig_series *fresh = NULL;
	for (size_t i = 0; i < SERIES_SLOTS; i++) {
		_Atomic(signer_sig_series *) *slot = &m->slots[(start + i) % SERIES_SLOTS];
		signer_sig_series *s = atomic_load_explicit(slot, memory_order_acquire);
		if (!s) {
			if (!fresh) {
				fresh = calloc(1, sizeof(*fresh));
				if (!fresh)
					return &m->overflow;
				fresh->zone = *zone;
				fresh->key_tag = key_tag;
				fresh->alg = alg;
			}
			signer_sig_series *expected = NULL;
			if (atomic_compare_exchange_strong_explicit(slot, &expected, fresh,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return fresh;
			s = expected; /* another thread filled the slot first */
		}
		if (series_is(s, zone, key_tag, alg)) {
			free(fresh);
			return s;
		}
	}
	free(fresh);
	return &m->overflow;
}

void signer_metrics_sig(signer_sig_series *s, bool cached)
{
	if (!s)
		return;
	atomic_fetch_add_explicit(cached ? &s->cache : &s->hsm, 1, memory_order_relaxed);
}

/* ---- exposition ---------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static signet_err put_label(sg_buf *out, const char *v)
{
	signet_err ret = SIGNET_OK;
	for (const char *p = v; *p && ret == SIGNET_OK; p++) {
		if (*p == '\\' || *p == '"')
			ret = sg_buf_printf(out, "\\%c", *p);
		else if (*p == '\n')
			ret = sg_buf_printf(out, "\\n");
		else
			ret = sg_buf_append(out, p, 1);
	}
	return ret;
}

static signet_err put_zone(sg_buf *out, const dns_name *zone)
{
	char zs[DNS_NAME_STR_MAX];
	if (dns_name_to_str(zone, zs, sizeof(zs)) != SIGNET_OK)
		snprintf(zs, sizeof(zs), "?");
	return put_label(out, zs);
}

static signet_err put_histogram(sg_buf *out, const char *name, const char *labels,
				const histogram *h, const uint64_t *bounds, size_t nb)
{
	uint64_t cum = 0;
	signet_err ret = SIGNET_OK;
	const char *sep = labels[0] ? "," : "";
	for (size_t b = 0; b <= nb && ret == SIGNET_OK; b++) {
		cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
		if (b < nb)
			ret = sg_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
					    sep, (double)bounds[b] / 1e9, (unsigned long long)cum);
		else
			ret = sg_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
					    sep, (unsigned long long)cum);
	}
	/* count is read after the buckets, so it is never below their total
	 * in one scrape: observe() bumps the bucket first. */
	uint64_t count = atomic_load_explicit(&h->count, memory_order_relaxed);
	uint64_t sum = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
	const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(out, "%s_sum%s%s%s %.9f\n%s_count%s%s%s %llu\n", name, open,
				    labels, close, (double)sum / 1e9, name, open, labels, close,
				    (unsigned long long)(count > cum ? cum : count));
	return ret;
}

static signet_err put_series(sg_buf *out, const signer_sig_series *s)
{
	static const char *const src[2] = {"hsm", "cache"};
	signet_err ret = SIGNET_OK;
	for (int i = 0; i < 2 && ret == SIGNET_OK; i++) {
		uint64_t v = atomic_load_explicit(i ? &s->cache : &s->hsm, memory_order_relaxed);
		if (s->overflow && v == 0)
			continue;
		ret = sg_buf_printf(out, "signet_signatures_total{zone=\"");
		if (ret == SIGNET_OK && s->overflow)
			ret = sg_buf_printf(out, "_other");
		else if (ret == SIGNET_OK)
			ret = put_zone(out, &s->zone);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(
				out, "\",key_tag=\"%u\",algorithm=\"%u\",source=\"%s\"} %llu\n",
				s->overflow ? 0u : s->key_tag, s->overflow ? 0u : s->alg, src[i],
				(unsigned long long)v);
	}
	return ret;
}

signet_err signer_metrics_render(signer_metrics *m, const signer_metrics_snapshot *snap,
				 sg_buf *out)
{
	if (!m || !snap || !out)
		return SIGNET_EINVAL;
	signet_err ret = sg_buf_printf(
		out,
		"# HELP signet_signatures_total RRSIGs returned, by zone, key and where they came from.\n"
		"# TYPE signet_signatures_total counter\n");
	for (size_t i = 0; i < SERIES_SLOTS && ret == SIGNET_OK; i++) {
		const signer_sig_series *s = atomic_load_explicit(&m->slots[i],
								  memory_order_acquire);
		if (s)
			ret = put_series(out, s);
	}
	if (ret == SIGNET_OK)
		ret = put_series(out, &m->overflow);

	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_requests_total Calls answered, by method and gRPC status.\n"
			"# TYPE signet_requests_total counter\n");
	for (size_t k = 0; k < m->nmethods && ret == SIGNET_OK; k++)
		for (unsigned c = 0; c < SG_GRPC_STATUS_COUNT && ret == SIGNET_OK; c++) {
			uint64_t v = atomic_load_explicit(&m->calls[k * SG_GRPC_STATUS_COUNT + c],
							  memory_order_relaxed);
			if (v)
				ret = sg_buf_printf(
					out,
					"signet_requests_total{method=\"%s\",code=\"%s\"} %llu\n",
					m->methods[k], sg_grpc_status_name((int)c),
					(unsigned long long)v);
		}
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_item_errors_total RRsets of a batch that failed, by gRPC status.\n"
			"# TYPE signet_item_errors_total counter\n");
	for (unsigned c = 0; c < SG_GRPC_STATUS_COUNT && ret == SIGNET_OK; c++) {
		uint64_t v = atomic_load_explicit(&m->item_errors[c], memory_order_relaxed);
		if (v)
			ret = sg_buf_printf(out, "signet_item_errors_total{code=\"%s\"} %llu\n",
					    sg_grpc_status_name((int)c), (unsigned long long)v);
	}
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_refusals_total Calls, streams and connections refused, by reason.\n"
			"# TYPE signet_refusals_total counter\n");
	for (unsigned r = 0; r < SIGNER_REFUSAL_COUNT && ret == SIGNET_OK; r++)
		ret = sg_buf_printf(out, "signet_refusals_total{reason=\"%s\"} %llu\n",
				    signer_refusal_name((signer_refusal)r),
				    (unsigned long long)atomic_load_explicit(&m->refusals[r],
									     memory_order_relaxed));
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_request_duration_seconds Time from a call's arrival to its answer.\n"
			"# TYPE signet_request_duration_seconds histogram\n");
	for (size_t k = 0; k < m->nmethods && ret == SIGNET_OK; k++) {
		if (atomic_load_explicit(&m->latency[k].count, memory_order_relaxed) == 0)
			continue;
		char labels[64];
		snprintf(labels, sizeof(labels), "method=\"%s\"", m->methods[k]);
		ret = put_histogram(out, "signet_request_duration_seconds", labels, &m->latency[k],
				    request_bounds, REQ_BUCKETS);
	}
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_hsm_sign_duration_seconds Time of one signature in the HSM.\n"
			"# TYPE signet_hsm_sign_duration_seconds histogram\n");
	if (ret == SIGNET_OK)
		ret = put_histogram(out, "signet_hsm_sign_duration_seconds", "", &m->hsm,
				    hsm_bounds, HSM_BUCKETS);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_hsm_sign_errors_total Signatures the HSM failed to make.\n"
			"# TYPE signet_hsm_sign_errors_total counter\n"
			"signet_hsm_sign_errors_total %llu\n"
			"# HELP signet_cache_hits_total RRSIG cache lookups answered.\n"
			"# TYPE signet_cache_hits_total counter\n"
			"signet_cache_hits_total %llu\n"
			"# HELP signet_cache_misses_total RRSIG cache lookups not answered.\n"
			"# TYPE signet_cache_misses_total counter\n"
			"signet_cache_misses_total %llu\n"
			"# HELP signet_cache_evictions_total RRSIGs pushed out of the cache.\n"
			"# TYPE signet_cache_evictions_total counter\n"
			"signet_cache_evictions_total %llu\n"
			"# HELP signet_cache_entries RRSIGs in the cache.\n"
			"# TYPE signet_cache_entries gauge\n"
			"signet_cache_entries %zu\n"
			"# HELP signet_token_up Whether the HSM token answers (1) or not (0).\n"
			"# TYPE signet_token_up gauge\n"
			"signet_token_up %d\n"
			"# HELP signet_calls_in_flight Calls arrived and not yet answered.\n"
			"# TYPE signet_calls_in_flight gauge\n"
			"signet_calls_in_flight %zu\n"
			"# HELP signet_workers Signing threads, each with its own HSM session.\n"
			"# TYPE signet_workers gauge\n"
			"signet_workers %u\n"
			"# HELP signet_keyset_expiry_seconds Seconds until the last imported KSK RRSIGs of the zone expire.\n"
			"# TYPE signet_keyset_expiry_seconds gauge\n",
			(unsigned long long)atomic_load(&m->hsm_errors),
			(unsigned long long)snap->cache.hits,
			(unsigned long long)snap->cache.misses,
			(unsigned long long)snap->cache.evictions, snap->cache.entries,
			snap->token_up ? 1 : 0, snap->inflight, snap->workers);
	for (size_t i = 0; i < snap->nzones && ret == SIGNET_OK; i++) {
		if (!snap->zones[i].has_keyset)
			continue;
		ret = sg_buf_printf(out, "signet_keyset_expiry_seconds{zone=\"");
		if (ret == SIGNET_OK)
			ret = put_zone(out, &snap->zones[i].zone);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(out, "\"} %lld\n",
					    (long long)snap->zones[i].keyset_seconds);
	}
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_rollover_waiting_ds Whether a KSK or algorithm rollover of the zone waits for the parent's DS (1) or not (0).\n"
			"# TYPE signet_rollover_waiting_ds gauge\n");
	for (size_t i = 0; i < snap->nzones && ret == SIGNET_OK; i++) {
		ret = sg_buf_printf(out, "signet_rollover_waiting_ds{zone=\"");
		if (ret == SIGNET_OK)
			ret = put_zone(out, &snap->zones[i].zone);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(out, "\"} %d\n", snap->zones[i].waiting_ds ? 1 : 0);
	}
	if (ret == SIGNET_OK && snap->backup_domain)
		ret = sg_buf_printf(
			out,
			"# HELP signet_zsk_backup_missing ZSKs of the zone without a proven backup to the backup domain.\n"
			"# TYPE signet_zsk_backup_missing gauge\n");
	for (size_t i = 0; snap->backup_domain && i < snap->nzones && ret == SIGNET_OK; i++) {
		ret = sg_buf_printf(out, "signet_zsk_backup_missing{zone=\"");
		if (ret == SIGNET_OK)
			ret = put_zone(out, &snap->zones[i].zone);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(out, "\"} %zu\n", snap->zones[i].zsk_unbacked);
	}
	if (ret == SIGNET_OK && snap->tls_key_in_token)
		ret = sg_buf_printf(
			out,
			"# HELP signet_tls_key_reloads_total Times the TLS key in a token was loaded through a new libp11 engine instance after signatures through it failed.\n"
			"# TYPE signet_tls_key_reloads_total counter\n"
			"signet_tls_key_reloads_total %llu\n"
			"# HELP signet_tls_engine_sign_failures_total Signatures libp11's engine failed to make in the token (each a failed TLS handshake, or a check).\n"
			"# TYPE signet_tls_engine_sign_failures_total counter\n"
			"signet_tls_engine_sign_failures_total %llu\n",
			(unsigned long long)snap->tls_key_reloads,
			(unsigned long long)snap->tls_engine_failures);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_replica_zsk_lacking ZSKs of the zone this replica's token lacks and could not restore.\n"
			"# TYPE signet_replica_zsk_lacking gauge\n");
	for (size_t i = 0; i < snap->nzones && ret == SIGNET_OK; i++) {
		ret = sg_buf_printf(out, "signet_replica_zsk_lacking{zone=\"");
		if (ret == SIGNET_OK)
			ret = put_zone(out, &snap->zones[i].zone);
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(out, "\"} %zu\n", snap->zones[i].zsk_lacking);
	}
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_replica_zsk_restored_total ZSKs made on other replicas restored into this token, and restores that failed.\n"
			"# TYPE signet_replica_zsk_restored_total counter\n"
			"signet_replica_zsk_restored_total{result=\"ok\"} %llu\n"
			"signet_replica_zsk_restored_total{result=\"failed\"} %llu\n"
			"# HELP signet_replica_lacking_key_refusals_total Signing calls refused (UNAVAILABLE) because this replica's token lacks a ZSK they need.\n"
			"# TYPE signet_replica_lacking_key_refusals_total counter\n"
			"signet_replica_lacking_key_refusals_total %llu\n",
			(unsigned long long)snap->zsk_restored,
			(unsigned long long)snap->zsk_restore_failed,
			(unsigned long long)snap->lacking_refused);
	if (ret == SIGNET_OK)
		ret = sg_buf_printf(
			out,
			"# HELP signet_rollover_ds_confirmed_total DS confirmations that moved a rollover on, by a parental agent or by hand.\n"
			"# TYPE signet_rollover_ds_confirmed_total counter\n");
	pthread_mutex_lock(&m->ds_lock);
	for (size_t i = 0; i < m->nds && ret == SIGNET_OK; i++)
		for (int a = 0; a < 2 && ret == SIGNET_OK; a++) {
			if (!m->ds[i].count[a])
				continue;
			ret = sg_buf_printf(out, "signet_rollover_ds_confirmed_total{zone=\"");
			if (ret == SIGNET_OK)
				ret = put_zone(out, &m->ds[i].zone);
			if (ret == SIGNET_OK)
				ret = sg_buf_printf(out, "\",source=\"%s\"} %llu\n",
						    a ? "agent" : "manual",
						    (unsigned long long)m->ds[i].count[a]);
		}
	pthread_mutex_unlock(&m->ds_lock);
	return ret;
}
