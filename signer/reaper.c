/* reaper.c -- signetd's reaper thread: calls whose request message is
 * overdue are cancelled, the queue threads are watched for a connection
 * that keeps them parsing (and it is shed), and closed connections are
 * forgotten. */
#include <pthread.h>
#include <time.h>

#include "signer/internal.h"

#define REAPER_TICK_MS 1000          /* connections are swept this often */
#define WATCH_TICK_MS 100            /* the watchdog looks at the queue thread this often */
#define WATCH_STALL_TICKS 3          /* busy and not returning this many ticks: shed */
#define WATCH_MIN_OCTETS (64 * 1024) /* a connection sending less is not shed */

void srv_wait_unlink(signer_server *srv, srv_call *c)
{
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		srv->wait_head = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	else
		srv->wait_tail = c->wprev;
	c->wprev = c->wnext = NULL;
	c->waiting = false;
}

/* CPU nanoseconds the least busy queue thread has used since the last
 * look; UINT64_MAX if unknown. */
static uint64_t cq_cpu_ns(signer_server *srv)
{
	uint64_t least = UINT64_MAX;
	for (unsigned i = 0; i < srv->ncq_threads; i++) {
		clockid_t cid;
		struct timespec ts;
		if (pthread_getcpuclockid(srv->cq_threads[i], &cid) != 0 ||
		    clock_gettime(cid, &ts) != 0)
			return UINT64_MAX;
		uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		uint64_t d = t - srv->watch_cpu_ns[i];
		srv->watch_cpu_ns[i] = t;
		if (d < least)
			least = d;
	}
	return least;
}

/* One look of the watchdog. The queue thread does gRPC's reading and
 * parsing inside grpc_completion_queue_next, and gRPC 1.51 hands it no call
 * while one connection keeps it parsing frames: a HEADERS and RST_STREAM
 * flood (CVE-2023-44487) holds it, and with it every other client, for as
 * long as the flood lasts, and costs memory per stream. Busy for
 * WATCH_STALL_TICKS ticks in a row without returning once, it sheds the
 * connection that sent the most since: nothing else holds it that long. */
static void watch_queue_thread(signer_server *srv, uint64_t tick_start, uint64_t now)
{
	uint64_t cpu = cq_cpu_ns(srv);
	bool busy = cpu != UINT64_MAX && cpu >= (now - tick_start) / 2;
	bool returned = atomic_load(&srv->cq_return_ns) >= tick_start;
	if (!busy || returned) {
		srv->watch_stalled = 0;
		return;
	}
	if (srv->watch_stalled++ == 0) {
		srv_conns_mark(srv->conns);
		return;
	}
	if (srv->watch_stalled < WATCH_STALL_TICKS)
		return;
	char peer[SRV_PEER_MAX];
	if (srv_conns_shed(srv->conns, WATCH_MIN_OCTETS, peer, sizeof(peer))) {
		signer_refusals_note(srv->refusals, SIGNER_REFUSAL_RESET_FLOOD, peer, NULL);
		signer_metrics_refusal(srv->metrics, SIGNER_REFUSAL_RESET_FLOOD);
	}
	srv->watch_stalled = 0;
}

/* Cancels calls whose message is overdue, watches the queue thread, and
 * forgets closed connections. */
void *srv_reaper_main(void *arg)
{
	signer_server *srv = arg;
	uint64_t start = sg_mono_ns();
	uint64_t next_sweep = start + REAPER_TICK_MS * 1000000ull;
	uint64_t tick_start = start, next_tick = start + WATCH_TICK_MS * 1000000ull;
	pthread_mutex_lock(&srv->lock);
	while (!srv->reaper_quit) {
		uint64_t now = sg_mono_ns();
		while (srv->wait_head && srv->wait_head->msg_deadline_ns <= now) {
			srv_call *c = srv->wait_head;
			srv_wait_unlink(srv, c);
			c->timed_out = true;
			/* c lives until its message op completes, which the
			 * queue thread handles under this lock after us. A
			 * stopping server's refusal is UNAVAILABLE: the client
			 * may take the call to another signer. */
			if (atomic_load(&srv->stopping))
				grpc_call_cancel_with_status(c->call, GRPC_STATUS_UNAVAILABLE,
							     "server is stopping", NULL);
			else
				grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED,
							     "no request message in time", NULL);
		}
		if (now >= next_tick) {
			pthread_mutex_unlock(&srv->lock);
			if (srv->cq_started)
				watch_queue_thread(srv, tick_start, now);
			pthread_mutex_lock(&srv->lock);
			tick_start = now;
			next_tick = now + WATCH_TICK_MS * 1000000ull;
		}
		if (now >= next_sweep) {
			pthread_mutex_unlock(&srv->lock);
			srv_conns_sweep(srv->conns);
			pthread_mutex_lock(&srv->lock);
			next_sweep = now + REAPER_TICK_MS * 1000000ull;
		}
		uint64_t until_ns = next_tick < next_sweep ? next_tick : next_sweep;
		if (srv->wait_head && srv->wait_head->msg_deadline_ns < until_ns)
			until_ns = srv->wait_head->msg_deadline_ns;
		struct timespec until = {(time_t)(until_ns / 1000000000u),
					 (long)(until_ns % 1000000000u)};
		if (!srv->reaper_quit)
			pthread_cond_timedwait(&srv->reaper_cond, &srv->lock, &until);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}
