/* conns.c -- signetd's TCP connections as gRPC accepts them: capped in all
 * and per client address, streams waiting for their message counted per
 * connection, and a connection that abandons streams faster than allowed
 * (the HTTP/2 "rapid reset" of CVE-2023-44487) shut down.
 *
 * gRPC 1.51's C API says nothing about connections. Its socket mutator
 * (the GRPC_ARG_SOCKET_MUTATOR channel argument) is called with every
 * socket it binds or accepts, before the TLS handshake: that is where
 * connections are counted and refused (shut down), and the descriptor kept
 * is how one is closed later. The
 * mutator's structures are not in gRPC's public headers; the layout below
 * is 1.51's (src/core/lib/iomgr/socket_mutator.h), and start-up checks that
 * gRPC called it for the listener before relying on it. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <grpc/support/sync.h>

#include "signer/internal.h"

/* gRPC 1.51's socket mutator, as its library reads it. */
typedef enum {
	FD_CLIENT_CONNECTION = 0,
	FD_SERVER_LISTENER = 1,
	FD_SERVER_CONNECTION = 2
} fd_usage;
typedef struct mutate_info {
	int fd;
	fd_usage usage;
} mutate_info;
struct grpc_socket_mutator;
typedef struct mutator_vtable {
	bool (*mutate_fd)(int fd, struct grpc_socket_mutator *m);
	int (*compare)(struct grpc_socket_mutator *a, struct grpc_socket_mutator *b);
	void (*destroy)(struct grpc_socket_mutator *m);
	bool (*mutate_fd_2)(const mutate_info *info, struct grpc_socket_mutator *m);
} mutator_vtable;
typedef struct grpc_socket_mutator {
	const mutator_vtable *vtable;
	gpr_refcount refcount;
} socket_mutator;

typedef struct conn {
	bool used;
	int fd;
	char peer[SRV_PEER_MAX];     /* as grpc_call_get_peer says it */
	char addr[INET6_ADDRSTRLEN]; /* the address alone, for per-address caps */
	struct sockaddr_storage sa;  /* the peer, to recognise the socket again */
	socklen_t salen;
	uint16_t local_port;
	size_t waiting;     /* streams waiting for their message */
	uint64_t window_ns; /* start of the current one-second window */
	unsigned resets;    /* streams abandoned in that window */
	bool closed;        /* shut down by us */
	uint64_t marked;    /* octets received at srv_conns_mark */
} conn;

/* New connections of one address in the current second. */
typedef struct addr_rate {
	char addr[INET6_ADDRSTRLEN];
	uint64_t window_ns;
	unsigned count;
} addr_rate;
#define RATE_SLOTS 1024 /* addresses tracked at once; the oldest window goes */

struct srv_conns {
	socket_mutator mut; /* first: gRPC hands back this pointer */
	pthread_mutex_t lock;
	conn *slots; /* open addressing by peer */
	size_t cap;  /* a power of two, > 2 * max_total */
	size_t n;
	size_t max_total, max_per_addr;
	unsigned resets_per_s;
	unsigned conn_rate; /* new connections per address per second */
	addr_rate rates[RATE_SLOTS];
	bool listener_seen;
	uint16_t listen_port;
	signer_refusals *refusals;
	signer_metrics *metrics;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static conn *find(srv_conns *t, const char *peer)
{
	for (size_t i = hash(peer) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slots[i].used)
			return NULL;
		if (strcmp(t->slots[i].peer, peer) == 0)
			return &t->slots[i];
	}
}

/* Remove slot c, shifting later entries of its probe run back. */
static void erase(srv_conns *t, conn *c)
{
	size_t i = (size_t)(c - t->slots);
	t->slots[i].used = false;
	t->n--;
	for (size_t j = (i + 1) & (t->cap - 1); t->slots[j].used; j = (j + 1) & (t->cap - 1)) {
		size_t home = hash(t->slots[j].peer) & (t->cap - 1);
		/* Move j into the hole at i when its home is not in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			t->slots[i] = t->slots[j];
			t->slots[j].used = false;
			i = j;
		}
	}
}

/* The gRPC form of a peer: "ipv4:1.2.3.4:5", "ipv6:[::1]:5". */
static bool format_peer(const struct sockaddr_storage *sa, char *peer, size_t plen, char *addr,
			size_t alen)
{
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, addr, (socklen_t)alen);
		snprintf(peer, plen, "ipv4:%s:%u", addr, (unsigned)ntohs(a->sin_port));
		return true;
	}
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			/* gRPC names a mapped IPv4 peer as IPv4. */
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], addr, (socklen_t)alen);
			snprintf(peer, plen, "ipv4:%s:%u", addr, (unsigned)ntohs(a->sin6_port));
			return true;
		}
		inet_ntop(AF_INET6, &a->sin6_addr, addr, (socklen_t)alen);
		snprintf(peer, plen, "ipv6:[%s]:%u", addr, (unsigned)ntohs(a->sin6_port));
		return true;
	}
	return false;
}

static uint16_t sock_port(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return 0;
	if (sa.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&sa)->sin_port);
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return 0;
}

/* Whether c's descriptor is still the socket it was accepted as: gRPC closes
 * sockets without telling us, and the number may be reused since. */
static bool still_ours(const conn *c)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	if (getpeername(c->fd, (struct sockaddr *)&sa, &len) != 0 || len != c->salen ||
	    memcmp(&sa, &c->sa, len) != 0)
		return false;
	return sock_port(c->fd) == c->local_port;
}

/* Forget connections gRPC has closed. */
static void sweep_locked(srv_conns *t)
{
	for (size_t i = 0; i < t->cap;) {
		conn *c = &t->slots[i];
		if (c->used && !still_ours(c)) {
			erase(t, c);
			continue; /* slot i may hold a shifted entry now */
		}
		i++;
	}
}

/* Open connections of addr and in all; one we shut down no longer counts,
 * though gRPC may hold its socket while it finishes its streams. */
static size_t per_addr(const srv_conns *t, const char *addr, size_t *total)
{
	size_t k = 0;
	*total = 0;
	for (size_t i = 0; i < t->cap; i++) {
		const conn *c = &t->slots[i];
		if (!c->used || c->closed)
			continue;
		(*total)++;
		k += strcmp(c->addr, addr) == 0;
	}
	return k;
}

/* Count a new connection of addr; false if over conn_rate this second. A
 * client shut down for a flood comes back with a new TLS handshake each
 * time: this bounds how often. */
static bool rate_ok(srv_conns *t, const char *addr, uint64_t now)
{
	addr_rate *r = NULL, *oldest = &t->rates[0];
	for (size_t i = 0; i < RATE_SLOTS && !r; i++) {
		if (strcmp(t->rates[i].addr, addr) == 0)
			r = &t->rates[i];
		else if (t->rates[i].window_ns < oldest->window_ns)
			oldest = &t->rates[i];
	}
	if (!r) {
		r = oldest;
		snprintf(r->addr, sizeof(r->addr), "%s", addr);
		r->window_ns = now;
		r->count = 0;
	}
	if (now - r->window_ns >= 1000000000ull) {
		r->window_ns = now;
		r->count = 0;
	}
	return ++r->count <= t->conn_rate;
}

static bool on_accept(srv_conns *t, int fd)
{
	conn c;
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.salen = sizeof(c.sa);
	if (getpeername(fd, (struct sockaddr *)&c.sa, &c.salen) != 0 ||
	    !format_peer(&c.sa, c.peer, sizeof(c.peer), c.addr, sizeof(c.addr)))
		return true; /* not TCP/IP: not ours to count */
	c.local_port = sock_port(fd);
	c.used = true;
	pthread_mutex_lock(&t->lock);
	conn *old = find(t, c.peer);
	if (old)
		erase(t, old); /* that connection is gone: its address is back */
	size_t total = 0;
	/* Over the rate stays refused: sweeping closed connections frees
	 * slots, not this second's count. */
	bool too_fast = !rate_ok(t, c.addr, sg_mono_ns());
	bool full = too_fast || per_addr(t, c.addr, &total) >= t->max_per_addr ||
		    total >= t->max_total;
	if (full && !too_fast && t->n < t->cap / 2) {
		sweep_locked(t);
		full = per_addr(t, c.addr, &total) >= t->max_per_addr || total >= t->max_total;
	}
	/* The table holds at most half its slots, closed ones included. */
	if (t->n >= t->cap / 2) {
		sweep_locked(t);
		full = full || t->n >= t->cap / 2;
	}
	if (!full) {
		size_t i = hash(c.peer) & (t->cap - 1);
		while (t->slots[i].used)
			i = (i + 1) & (t->cap - 1);
		t->slots[i] = c;
		t->n++;
	}
	pthread_mutex_unlock(&t->lock);
	if (full) {
		/* Not a false return: gRPC 1.51 then stops listening for good
		 * (and leaks the socket). A socket shut down here fails its TLS
		 * handshake at once and gRPC closes it. */
		shutdown(fd, SHUT_RDWR);
		signer_refusals_note(t->refusals, SIGNER_REFUSAL_CONNECTIONS, c.peer, NULL);
		signer_metrics_refusal(t->metrics, SIGNER_REFUSAL_CONNECTIONS);
	}
	return true;
}

static bool mutate_fd_2(const mutate_info *info, socket_mutator *m)
{
	srv_conns *t = (srv_conns *)(void *)m;
	if (info->usage == FD_SERVER_LISTENER) {
		pthread_mutex_lock(&t->lock);
		t->listener_seen = true;
		t->listen_port = sock_port(info->fd);
		pthread_mutex_unlock(&t->lock);
		return true;
	}
	if (info->usage == FD_SERVER_CONNECTION)
		return on_accept(t, info->fd);
	return true;
}

static bool mutate_fd(int fd, socket_mutator *m)
{
	(void)fd;
	(void)m;
	return true;
}

static int mutator_compare(socket_mutator *a, socket_mutator *b)
{
	return a < b ? -1 : a > b;
}

static void mutator_destroy(socket_mutator *m)
{
	(void)m; /* owned by srv_conns, freed with it */
}

static const mutator_vtable vtable = {mutate_fd, mutator_compare, mutator_destroy, mutate_fd_2};

static void *arg_copy(void *p)
{
	return p;
}

static void arg_destroy(void *p)
{
	(void)p;
}

static int arg_cmp(void *a, void *b)
{
	return a < b ? -1 : a > b;
}

static const grpc_arg_pointer_vtable arg_vtable = {arg_copy, arg_destroy, arg_cmp};

signet_err srv_conns_new(const signer_admission_limits *lim, signer_refusals *refusals,
			 signer_metrics *metrics, srv_conns **out)
{
	if (!lim || !out || lim->max_open_connections == 0)
		return SIGNET_EINVAL;
	*out = NULL;
	srv_conns *t = calloc(1, sizeof(*t));
	if (!t)
		return SIGNET_ENOMEM;
	t->cap = 64;
	while (t->cap < 2 * lim->max_open_connections + 64)
		t->cap *= 2;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return SIGNET_ENOMEM;
	}
	t->max_total = lim->max_open_connections;
	t->max_per_addr = lim->max_connections_address;
	t->resets_per_s = lim->resets_per_second;
	t->conn_rate = lim->connection_rate;
	t->refusals = refusals;
	t->metrics = metrics;
	t->mut.vtable = &vtable;
	gpr_ref_init(&t->mut.refcount, 1);
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return SIGNET_OK;
}

void srv_conns_free(srv_conns *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

grpc_arg srv_conns_arg(srv_conns *t)
{
	grpc_arg a;
	memset(&a, 0, sizeof(a));
	a.type = GRPC_ARG_POINTER;
	a.key = (char *)GRPC_ARG_SOCKET_MUTATOR;
	a.value.pointer.p = &t->mut;
	a.value.pointer.vtable = &arg_vtable;
	return a;
}

bool srv_conns_active(srv_conns *t)
{
	pthread_mutex_lock(&t->lock);
	bool seen = t->listener_seen;
	pthread_mutex_unlock(&t->lock);
	return seen;
}

void srv_conns_set_limits(srv_conns *t, const signer_admission_limits *lim)
{
	pthread_mutex_lock(&t->lock);
	/* The table was sized for the start's max-connections. */
	t->max_total = lim->max_open_connections < t->cap / 2 ? lim->max_open_connections
							      : t->cap / 2;
	t->max_per_addr = lim->max_connections_address;
	t->resets_per_s = lim->resets_per_second;
	t->conn_rate = lim->connection_rate;
	pthread_mutex_unlock(&t->lock);
}

size_t srv_conns_sweep(srv_conns *t)
{
	pthread_mutex_lock(&t->lock);
	sweep_locked(t);
	size_t n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

bool srv_conns_wait_enter(srv_conns *t, const char *peer, size_t max)
{
	bool ok = true;
	pthread_mutex_lock(&t->lock);
	conn *c = find(t, peer);
	if (c) {
		ok = !c->closed && c->waiting < max;
		if (ok)
			c->waiting++;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

void srv_conns_wait_leave(srv_conns *t, const char *peer)
{
	pthread_mutex_lock(&t->lock);
	conn *c = find(t, peer);
	if (c && c->waiting)
		c->waiting--;
	pthread_mutex_unlock(&t->lock);
}

bool srv_conns_reset(srv_conns *t, const char *peer, uint64_t now_ns)
{
	bool shut = false;
	pthread_mutex_lock(&t->lock);
	conn *c = find(t, peer);
	if (c && !c->closed) {
		if (now_ns - c->window_ns >= 1000000000ull) {
			c->window_ns = now_ns;
			c->resets = 0;
		}
		if (++c->resets > t->resets_per_s && still_ours(c)) {
			/* gRPC reads the end of the stream and tears the
			 * connection down with every stream on it. */
			shutdown(c->fd, SHUT_RDWR);
			c->closed = true;
			shut = true;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return shut;
}

static uint64_t received(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_bytes_received;
}

void srv_conns_mark(srv_conns *t)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].used && !t->slots[i].closed)
			t->slots[i].marked = received(t->slots[i].fd);
	pthread_mutex_unlock(&t->lock);
}

bool srv_conns_shed(srv_conns *t, uint64_t min, char *peer, size_t plen)
{
	conn *worst = NULL;
	uint64_t most = 0;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->cap; i++) {
		conn *c = &t->slots[i];
		if (!c->used || c->closed)
			continue;
		uint64_t now = received(c->fd);
		uint64_t d = now > c->marked ? now - c->marked : 0;
		if (d > most) {
			most = d;
			worst = c;
		}
	}
	bool shed = worst && most >= min && still_ours(worst);
	if (shed) {
		shutdown(worst->fd, SHUT_RDWR);
		worst->closed = true;
		snprintf(peer, plen, "%s", worst->peer);
		sg_log(SG_LOG_WARNING,
		       "connection %s sent %llu octets in a burst that held "
		       "signetd's call thread: closed (docs/SIGNETD.md, Floods)",
		       worst->peer, (unsigned long long)most);
	}
	pthread_mutex_unlock(&t->lock);
	return shed;
}
