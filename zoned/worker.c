/* worker.c -- the worker pool: each zone's jobs (the state directory read
 * at start, SOA poll, transfer in, sign, store; the key-set check) run on
 * a bounded set of threads, each with a connection of its own to signetd,
 * so that the loop keeps answering SOA queries, NOTIFYs and transfers out
 * from the last signed version while zones are being signed, and a whole
 * sign of one large zone holds one worker, not every other zone's
 * refresh.
 *
 * A zone has at most one job queued or running (busy); a job asked for
 * meanwhile is remembered (again) and queued at the tail once the running
 * one is back, so jobs are taken in the order they were asked for and a
 * zone asked again and again takes its turn with the others. A finished
 * job comes back to the loop through a pipe: the loop arms the zone's
 * timer and sends its NOTIFYs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zoned/daemon.h"

static void *worker_main(void *arg)
{
	zoned_worker *w = arg;
	zoned *d = w->d;
	pthread_mutex_lock(&d->wmu);
	for (;;) {
		while (d->queue == NULL && !d->stopping)
			pthread_cond_wait(&d->wcv, &d->wmu);
		if (d->stopping)
			break;
		zoned_zone *z = d->queue;
		d->queue = z->qnext;
		if (d->queue == NULL)
			d->queue_last = NULL;
		unsigned job = z->job;
		/* The job signs over this worker's connection. */
		z->sd = &w->sd;
		pthread_mutex_unlock(&d->wmu);
		if (job == ZONED_JOB_LOAD)
			zoned_load_now(z);
		else if (job == ZONED_JOB_REFRESH)
			zoned_refresh_now(z);
		else
			zoned_keyset_check(z);
		pthread_mutex_lock(&d->wmu);
		z->sd = NULL;
		z->qnext = d->done;
		d->done = z;
		/* One octet wakes the loop; a full pipe already will. */
		ssize_t n = write(d->done_pipe[1], "j", 1);
		(void)n;
	}
	pthread_mutex_unlock(&d->wmu);
	return NULL;
}

/* The next job a zone asked for while busy: a refresh before a key-set
 * check (a refresh signs with the key set it fetches anyway). Queued at
 * the tail, behind the zones that asked before. */
static void run_again(zoned_zone *z)
{
	if (z->busy || z->again == 0)
		return;
	unsigned job = (z->again & ZONED_JOB_REFRESH) ? ZONED_JOB_REFRESH : ZONED_JOB_KEYSET;
	z->again &= ~job;
	zoned_job(z, job);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	zoned *d = arg;
	char buf[64];
	while (read(fd, buf, sizeof(buf)) > 0) {
	}
	pthread_mutex_lock(&d->wmu);
	zoned_zone *z = d->done;
	d->done = NULL;
	pthread_mutex_unlock(&d->wmu);
	/* The done list is newest first: back into the order the jobs ended. */
	zoned_zone *rev = NULL;
	while (z) {
		zoned_zone *next = z->qnext;
		z->qnext = rev;
		rev = z;
		z = next;
	}
	for (z = rev; z;) {
		zoned_zone *next = z->qnext;
		z->qnext = NULL;
		z->busy = false;
		if (zoned_zone_back(z)) {
			if (z->job == ZONED_JOB_REFRESH) {
				struct timeval tv = {(time_t)z->next_s, 0};
				evtimer_add(z->refresh, &tv);
			}
			if (z->notify_due) {
				z->notify_due = false;
				zoned_notify_all(z);
			}
			run_again(z);
		}
		z = next;
	}
}

void zoned_job(zoned_zone *z, unsigned job)
{
	zoned *d = z->d;
	if (z->busy || !d->workers_on) {
		z->again |= job;
		return;
	}
	z->busy = true;
	z->job = job;
	z->qnext = NULL;
	pthread_mutex_lock(&d->wmu);
	if (d->queue_last)
		d->queue_last->qnext = z;
	else
		d->queue = z;
	d->queue_last = z;
	pthread_cond_signal(&d->wcv);
	pthread_mutex_unlock(&d->wmu);
}

signet_err zoned_workers_start(zoned *d, const client_config *cc, char *errmsg, size_t errlen)
{
	if (pthread_mutex_init(&d->wmu, NULL) != 0)
		return SIGNET_ENOMEM;
	if (pthread_cond_init(&d->wcv, NULL) != 0) {
		pthread_mutex_destroy(&d->wmu);
		return SIGNET_ENOMEM;
	}
	d->wsync = true;
	if (pipe2(d->done_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(errmsg, errlen, "pipe: %s", strerror(errno));
		d->done_pipe[0] = d->done_pipe[1] = -1;
		return SIGNET_EIO;
	}
	d->done_ev = event_new(d->base, d->done_pipe[0], EV_READ | EV_PERSIST, on_done, d);
	if (d->done_ev == NULL || event_add(d->done_ev, NULL) != 0)
		return SIGNET_ENOMEM;
	atomic_init(&d->reach.up, -1);
	atomic_init(&d->reach.last_ok, 0);
	/* Every connection first: a client configuration that does not open
	 * fails the start before any thread runs. */
	for (unsigned i = 0; i < d->cfg.workers; i++) {
		zoned_worker *w = &d->workers[i];
		w->d = d;
		w->sd.reach = &d->reach;
		atomic_init(&w->sd.stop, false);
		signet_err ret = client_open(cc, &w->sd.conn, errmsg, errlen);
		if (ret != SIGNET_OK)
			return ret;
		d->nworkers++;
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		zoned_worker *w = &d->workers[i];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			snprintf(errmsg, errlen, "cannot start worker thread %u", i + 1);
			return SIGNET_ENOMEM;
		}
		w->on = true;
	}
	d->workers_on = true;
	return SIGNET_OK;
}

void zoned_workers_stop(zoned *d)
{
	if (d->wsync) {
		/* A sign in progress stops at its next call to signetd. */
		for (unsigned i = 0; i < d->nworkers; i++)
			atomic_store(&d->workers[i].sd.stop, true);
		pthread_mutex_lock(&d->wmu);
		d->stopping = true;
		pthread_cond_broadcast(&d->wcv);
		pthread_mutex_unlock(&d->wmu);
		for (unsigned i = 0; i < d->nworkers; i++)
			if (d->workers[i].on)
				pthread_join(d->workers[i].thread, NULL);
		d->workers_on = false;
		pthread_cond_destroy(&d->wcv);
		pthread_mutex_destroy(&d->wmu);
		d->wsync = false;
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		client_close(d->workers[i].sd.conn);
		d->workers[i].sd.conn = NULL;
		d->workers[i].on = false;
	}
	d->nworkers = 0;
	if (d->done_ev)
		event_free(d->done_ev);
	d->done_ev = NULL;
	for (int i = 0; i < 2; i++)
		if (d->done_pipe[i] >= 0)
			close(d->done_pipe[i]);
	d->done_pipe[0] = d->done_pipe[1] = -1;
}
