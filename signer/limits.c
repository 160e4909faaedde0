/* limits.c -- per-client admission of calls: calls in flight, a token
 * bucket of calls per second, and recently used connections per identity
 * and in all, so one client cannot starve the others. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

#define PEER_MAX 128

/* One client identity seen since start. Identities are only those of
 * configured clients (unknown ones are refused before admission), so the
 * table stays as small as the configuration. */
typedef struct adm_client {
	char identity[SIGNER_IDENTITY_MAX + 1];
	size_t calls;         /* in flight */
	double tokens;        /* the bucket */
	uint64_t refilled_ns; /* when tokens was last brought up to date */
} adm_client;

/* One connection, known by its peer address ("ipv4:127.0.0.1:40000"). */
typedef struct adm_conn {
	char peer[PEER_MAX];
	size_t client;    /* index into clients */
	size_t calls;     /* in flight on it */
	uint64_t last_ns; /* its last call ended or began */
} adm_conn;

struct signer_admission {
	pthread_mutex_t lock;
	signer_admission_limits lim;
	uint64_t recent_ns; /* a connection idle longer is not counted */
	adm_client *clients;
	size_t nclients;
	adm_conn *conns; /* cap slots, cap >= lim.max_connections */
	size_t cap;
	size_t nconns;
};

signet_err signer_admission_new(const signer_admission_limits *lim, signer_admission **out)
{
	if (!lim || !out || lim->max_connections == 0)
		return SIGNET_EINVAL;
	*out = NULL;
	signer_admission *a = calloc(1, sizeof(*a));
	if (!a)
		return SIGNET_ENOMEM;
	a->clients = calloc(SIGNER_CLIENTS_MAX, sizeof(*a->clients));
	a->conns = calloc(lim->max_connections, sizeof(*a->conns));
	if (!a->clients || !a->conns) {
		free(a->clients);
		free(a->conns);
		free(a);
		return SIGNET_ENOMEM;
	}
	a->lim = *lim;
	a->cap = lim->max_connections;
	uint64_t idle_ns = (uint64_t)lim->idle_timeout_s * 1000000000u;
	/* gRPC 1.51's C core tells the application nothing when a connection
	 * closes, so a table entry cannot follow the connection: one that has
	 * been idle for a while is as likely closed as open. Counting it until
	 * gRPC's idle timer would refuse a client that reconnects every few
	 * seconds (each reconnect is a new peer port); counting it only for a
	 * tenth of that still bounds the connections a client keeps busy,
	 * and gRPC closes the idle ones on its own. The floor keeps a client
	 * that calls every few seconds on many connections counted whole. */
	a->recent_ns = idle_ns / 10;
	if (a->recent_ns < SIGNER_CONN_RECENT_MIN_MS * 1000000ull)
		a->recent_ns = SIGNER_CONN_RECENT_MIN_MS * 1000000ull;
	if (a->recent_ns > SIGNER_CONN_RECENT_MAX_MS * 1000000ull)
		a->recent_ns = SIGNER_CONN_RECENT_MAX_MS * 1000000ull;
	if (a->recent_ns > idle_ns)
		a->recent_ns = idle_ns;
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return SIGNET_OK;
}

void signer_admission_free(signer_admission *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->clients);
	free(a->conns);
	free(a);
}

static bool conn_live(const signer_admission *a, const adm_conn *c, uint64_t now_ns)
{
	return c->calls > 0 || now_ns - c->last_ns < a->recent_ns;
}

/* Forget the connections idle for longer than recent_ns. */
static void expire(signer_admission *a, uint64_t now_ns)
{
	for (size_t i = 0; i < a->nconns;) {
		if (conn_live(a, &a->conns[i], now_ns)) {
			i++;
			continue;
		}
		a->conns[i] = a->conns[--a->nconns];
	}
}

/* A slot of an identity with nothing in flight and no live connection.
 * Reloads may rename clients, so identities seen since start can outgrow
 * the table; a reused slot starts with a full bucket, as a new client. */
static adm_client *unused_client(signer_admission *a, uint64_t now_ns)
{
	expire(a, now_ns);
	for (size_t i = 0; i < a->nclients; i++) {
		if (a->clients[i].calls)
			continue;
		bool held = false;
		for (size_t k = 0; k < a->nconns && !held; k++)
			held = a->conns[k].client == i;
		if (!held)
			return &a->clients[i];
	}
	return NULL;
}

static adm_client *find_client(signer_admission *a, const char *identity, bool add, uint64_t now_ns)
{
	for (size_t i = 0; i < a->nclients; i++)
		if (strcmp(a->clients[i].identity, identity) == 0)
			return &a->clients[i];
	if (!add)
		return NULL;
	adm_client *c = a->nclients < SIGNER_CLIENTS_MAX ? &a->clients[a->nclients++]
							 : unused_client(a, now_ns);
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	snprintf(c->identity, sizeof(c->identity), "%s", identity);
	c->tokens = a->lim.burst;
	c->refilled_ns = now_ns;
	return c;
}

static adm_conn *find_conn(signer_admission *a, const char *peer)
{
	for (size_t i = 0; i < a->nconns; i++)
		if (strcmp(a->conns[i].peer, peer) == 0)
			return &a->conns[i];
	return NULL;
}

static void refill(const signer_admission *a, adm_client *c, uint64_t now_ns)
{
	if (now_ns > c->refilled_ns) {
		c->tokens += (double)(now_ns - c->refilled_ns) * a->lim.rate / 1e9;
		if (c->tokens > a->lim.burst)
			c->tokens = a->lim.burst;
	}
	c->refilled_ns = now_ns;
}

signet_err signer_admission_set_limits(signer_admission *a, const signer_admission_limits *lim,
				       uint64_t now_ns)
{
	if (!a || !lim || lim->max_connections == 0)
		return SIGNET_EINVAL;
	pthread_mutex_lock(&a->lock);
	if (lim->max_connections > a->cap) {
		adm_conn *more = realloc(a->conns, lim->max_connections * sizeof(*more));
		if (!more) {
			pthread_mutex_unlock(&a->lock);
			return SIGNET_ENOMEM;
		}
		a->conns = more;
		a->cap = lim->max_connections;
	}
	/* Time up to now earns tokens at the old rate; a shallower bucket
	 * loses what no longer fits. */
	for (size_t i = 0; i < a->nclients; i++) {
		adm_client *c = &a->clients[i];
		refill(a, c, now_ns);
		if (c->tokens > lim->burst)
			c->tokens = lim->burst;
	}
	/* gRPC closes idle connections on the timer it was started with, and
	 * recent_ns derives from it. */
	unsigned idle_s = a->lim.idle_timeout_s;
	a->lim = *lim;
	a->lim.idle_timeout_s = idle_s;
	pthread_mutex_unlock(&a->lock);
	return SIGNET_OK;
}

signet_err signer_admission_enter(signer_admission *a, const char *identity, const char *peer,
				  uint64_t now_ns, char *errmsg, size_t errlen)
{
	if (!a || !identity || !peer || !errmsg || errlen == 0)
		return SIGNET_EINVAL;
	errmsg[0] = '\0';
	signet_err ret = SIGNET_OK;
	pthread_mutex_lock(&a->lock);
	adm_client *c = find_client(a, identity, true, now_ns);
	adm_conn *k = find_conn(a, peer);
	size_t ci = c ? (size_t)(c - a->clients) : 0;
	if (c && k && k->client != ci && k->calls == 0) {
		/* Nothing in flight: that connection closed and the kernel gave
		 * its address and port to a new one (short-lived clients on one
		 * host do this), which counts as new. */
		*k = a->conns[--a->nconns];
		k = NULL;
	}
	if (!c) {
		ret = SIGNET_ELIMIT;
		snprintf(errmsg, errlen, "too many client identities");
	} else if (c->calls >= a->lim.max_calls_client) {
		ret = SIGNET_ELIMIT;
		snprintf(errmsg, errlen,
			 "client '%s' has %zu calls in flight (max-calls-per-client)", identity,
			 c->calls);
	} else if (k && k->client != ci) {
		/* Calls in flight under another certificate on this address:
		 * never the case with gRPC, so refuse rather than count it twice. */
		ret = SIGNET_ELIMIT;
		snprintf(errmsg, errlen, "connection %s changed identity", peer);
	} else if (!k) {
		expire(a, now_ns);
		size_t mine = 0;
		for (size_t i = 0; i < a->nconns; i++)
			mine += a->conns[i].client == ci;
		if (mine >= a->lim.max_connections_client) {
			ret = SIGNET_ELIMIT;
			snprintf(errmsg, errlen,
				 "client '%s' has %zu connections "
				 "(max-connections-per-client)",
				 identity, mine);
		} else if (a->nconns >= a->lim.max_connections) {
			ret = SIGNET_ELIMIT;
			snprintf(errmsg, errlen, "%zu connections in use (max-connections)",
				 a->nconns);
		}
	}
	if (ret == SIGNET_OK && a->lim.rate) {
		refill(a, c, now_ns);
		if (c->tokens < 1) {
			ret = SIGNET_ELIMIT;
			snprintf(errmsg, errlen, "client '%s' exceeds %u calls/s (rate-per-client)",
				 identity, a->lim.rate);
		} else {
			c->tokens -= 1;
		}
	}
	if (ret == SIGNET_OK) {
		if (!k) {
			k = &a->conns[a->nconns++];
			memset(k, 0, sizeof(*k));
			snprintf(k->peer, sizeof(k->peer), "%s", peer);
			k->client = ci;
		}
		k->calls++;
		k->last_ns = now_ns;
		c->calls++;
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

void signer_admission_leave(signer_admission *a, const char *identity, const char *peer,
			    uint64_t now_ns)
{
	if (!a || !identity || !peer)
		return;
	pthread_mutex_lock(&a->lock);
	adm_client *c = find_client(a, identity, false, now_ns);
	if (c && c->calls > 0)
		c->calls--;
	adm_conn *k = find_conn(a, peer);
	if (k) {
		if (k->calls > 0)
			k->calls--;
		k->last_ns = now_ns;
	}
	pthread_mutex_unlock(&a->lock);
}
