/* refusals.c -- refusals counted per (peer address, identity, reason) and
 * written to the audit log and the log as one line per key and interval,
 * so a flood costs a bounded number of lines and none goes unrecorded. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/signer.h"

#define ADDR_MAX 64

static const char *const refusal_names[SIGNER_REFUSAL_COUNT] = {
	"unknown-identity", "limit",       "max-calls",       "max-streams",   "message-timeout",
	"stream-reset",     "reset-flood", "max-connections", "tls-handshake",
};

const char *signer_refusal_name(signer_refusal why)
{
	return (unsigned)why < SIGNER_REFUSAL_COUNT ? refusal_names[why] : "unknown";
}

typedef struct refusal_key {
	char addr[ADDR_MAX];                    /* "127.0.0.1", "::1" or "*" */
	char identity[SIGNER_IDENTITY_MAX + 1]; /* "" when none */
	signer_refusal why;
	uint64_t count;
	time_t first, last;
} refusal_key;

struct signer_refusals {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* quit */
	pthread_t thread;
	bool quit;
	unsigned interval_s;
	signer_audit *audit;
	refusal_key keys[SIGNER_REFUSAL_KEYS + SIGNER_REFUSAL_COUNT]; /* the rest: "*" per reason */
	size_t nkeys;
};

/* The address of a gRPC peer string without the port: "ipv4:1.2.3.4:5"
 * -> "1.2.3.4", "ipv6:[::1]:5" -> "::1"; anything else kept (cut). */
static void peer_addr(const char *peer, char out[ADDR_MAX])
{
	if (!peer || !peer[0]) {
		snprintf(out, ADDR_MAX, "?");
		return;
	}
	const char *p = peer;
	if (strncmp(p, "ipv4:", 5) == 0 || strncmp(p, "ipv6:", 5) == 0)
		p += 5;
	const char *end = NULL;
	if (p[0] == '[') {
		p++;
		end = strchr(p, ']');
	} else if (peer != p) {
		end = strrchr(p, ':');
	}
	size_t n = end ? (size_t)(end - p) : strlen(p);
	if (n >= ADDR_MAX)
		n = ADDR_MAX - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

void signer_refusals_note(signer_refusals *r, signer_refusal why, const char *peer,
			  const char *identity)
{
	if (!r || (unsigned)why >= SIGNER_REFUSAL_COUNT)
		return;
	char addr[ADDR_MAX];
	peer_addr(peer, addr);
	if (!identity)
		identity = "";
	time_t now = time(NULL);
	pthread_mutex_lock(&r->lock);
	refusal_key *k = NULL;
	for (size_t i = 0; i < r->nkeys && !k; i++)
		if (r->keys[i].why == why && strcmp(r->keys[i].addr, addr) == 0 &&
		    strcmp(r->keys[i].identity, identity) == 0)
			k = &r->keys[i];
	if (!k && r->nkeys < SIGNER_REFUSAL_KEYS) {
		k = &r->keys[r->nkeys++];
		memset(k, 0, sizeof(*k));
		snprintf(k->addr, sizeof(k->addr), "%s", addr);
		snprintf(k->identity, sizeof(k->identity), "%s", identity);
		k->why = why;
		k->first = now;
	}
	if (!k) {
		/* The table is full this interval: a spread-out flood still
		 * counts, under "*" for its reason. */
		for (size_t i = SIGNER_REFUSAL_KEYS; i < r->nkeys && !k; i++)
			if (r->keys[i].why == why)
				k = &r->keys[i];
		if (!k) {
			k = &r->keys[r->nkeys++];
			memset(k, 0, sizeof(*k));
			snprintf(k->addr, sizeof(k->addr), "*");
			k->why = why;
			k->first = now;
		}
	}
	k->count++;
	k->last = now;
	pthread_mutex_unlock(&r->lock);
}

signet_err signer_refusals_flush(signer_refusals *r)
{
	if (!r)
		return SIGNET_EINVAL;
	/* Take the counts and write them without the lock: the audit log
	 * fsyncs, and refusals must not wait for the disk. */
	refusal_key *keys = malloc(sizeof(r->keys));
	if (!keys)
		return SIGNET_ENOMEM;
	pthread_mutex_lock(&r->lock);
	size_t n = r->nkeys;
	memcpy(keys, r->keys, n * sizeof(*keys));
	r->nkeys = 0;
	pthread_mutex_unlock(&r->lock);
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < n; i++) {
		const refusal_key *k = &keys[i];
		char from[32], to[32], detail[200];
		struct tm tm;
		gmtime_r(&k->first, &tm);
		strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", &tm);
		gmtime_r(&k->last, &tm);
		strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(detail, sizeof(detail), "reason=%s peer=%s count=%llu from=%s to=%s",
			 signer_refusal_name(k->why), k->addr, (unsigned long long)k->count, from,
			 to);
		sg_log(SG_LOG_NOTICE, "refused: %s identity=%s", detail,
		       k->identity[0] ? k->identity : "-");
		signet_err e = signer_audit_append(r->audit, k->identity[0] ? k->identity : "-",
						   "refused", NULL, detail, "refused");
		if (e != SIGNET_OK && ret == SIGNET_OK)
			ret = e;
	}
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_ERROR, "audit log: refusals not written: %s", signet_strerror(ret));
	free(keys);
	return ret;
}

static void *flusher(void *arg)
{
	signer_refusals *r = arg;
	pthread_mutex_lock(&r->lock);
	while (!r->quit) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += r->interval_s;
		while (!r->quit && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0) {
		}
		if (r->quit)
			break;
		pthread_mutex_unlock(&r->lock);
		signer_refusals_flush(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

signet_err signer_refusals_new(signer_audit *a, unsigned interval_s, signer_refusals **out)
{
	if (!a || interval_s == 0 || !out)
		return SIGNET_EINVAL;
	*out = NULL;
	signer_refusals *r = calloc(1, sizeof(*r));
	if (!r)
		return SIGNET_ENOMEM;
	r->audit = a;
	r->interval_s = interval_s;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->thread, NULL, flusher, r) != 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return SIGNET_ENOMEM;
	}
	*out = r;
	return SIGNET_OK;
}

void signer_refusals_free(signer_refusals *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->quit = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	signer_refusals_flush(r);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
