/* worker.c -- the worker thread: each zone's refresh (the state directory
 * read at start, SOA poll, transfer in, sign, store) and key-set check run
 * here, one job at a time, so that the loop keeps answering SOA queries,
 * NOTIFYs and transfers out from the last signed version while a whole
 * zone is being signed. A finished job comes back to the loop through a
 * pipe: the loop arms the zone's timer and sends its NOTIFYs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zoned/daemon.h"

static void *worker_main(void *arg)
{
	zoned *d = arg;
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
		pthread_mutex_unlock(&d->wmu);
		if (job == ZONED_JOB_REFRESH)
			zoned_refresh_now(z);
		else
			zoned_keyset_check(z);
		pthread_mutex_lock(&d->wmu);
		z->qnext = d->done;
		d->done = z;
		/* One octet wakes the loop; a full pipe already will. */
		ssize_t w = write(d->done_pipe[1], "j", 1);
		(void)w;
	}
	pthread_mutex_unlock(&d->wmu);
	return NULL;
}

static bool any_busy(const zoned *d)
{
	for (size_t i = 0; i < d->nzones; i++)
		if (d->zones[i]->busy)
			return true;
	return false;
}

/* Jobs asked for while the zone was busy or a SIGHUP waited. */
static void run_again(zoned *d)
{
	for (size_t i = 0; i < d->nzones; i++) {
		zoned_zone *z = d->zones[i];
		if (z->busy || z->again == 0)
			continue;
		unsigned job = (z->again & ZONED_JOB_REFRESH) ? ZONED_JOB_REFRESH
							      : ZONED_JOB_KEYSET;
		z->again &= ~job;
		zoned_job(z, job);
	}
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
	while (z) {
		zoned_zone *next = z->qnext;
		z->qnext = NULL;
		z->busy = false;
		if (z->job == ZONED_JOB_REFRESH) {
			struct timeval tv = {(time_t)z->next_s, 0};
			evtimer_add(z->refresh, &tv);
		}
		if (z->notify_due) {
			z->notify_due = false;
			zoned_notify_all(z);
		}
		z = next;
	}
	if (d->reload_pending && !any_busy(d)) {
		d->reload_pending = false;
		zoned_reload(d);
	}
	run_again(d);
}

void zoned_job(zoned_zone *z, unsigned job)
{
	zoned *d = z->d;
	if (z->busy || d->reload_pending || !d->worker_on) {
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

void zoned_reload_when_idle(zoned *d)
{
	if (!any_busy(d)) {
		zoned_reload(d);
		run_again(d);
		return;
	}
	sg_log(SG_LOG_NOTICE, "zoned: SIGHUP: applied once the running transfer or signing ends");
	d->reload_pending = true;
}

signet_err zoned_worker_start(zoned *d)
{
	if (pthread_mutex_init(&d->wmu, NULL) != 0)
		return SIGNET_ENOMEM;
	if (pthread_cond_init(&d->wcv, NULL) != 0) {
		pthread_mutex_destroy(&d->wmu);
		return SIGNET_ENOMEM;
	}
	if (pipe2(d->done_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		sg_log(SG_LOG_ERROR, "zoned: pipe: %s", strerror(errno));
		d->done_pipe[0] = d->done_pipe[1] = -1;
		return SIGNET_EIO;
	}
	d->done_ev = event_new(d->base, d->done_pipe[0], EV_READ | EV_PERSIST, on_done, d);
	if (d->done_ev == NULL || event_add(d->done_ev, NULL) != 0)
		return SIGNET_ENOMEM;
	if (pthread_create(&d->worker, NULL, worker_main, d) != 0)
		return SIGNET_ENOMEM;
	d->worker_on = true;
	return SIGNET_OK;
}

void zoned_worker_stop(zoned *d)
{
	if (d->worker_on) {
		/* A sign in progress stops at its next call to signetd. */
		atomic_store(&d->sd.stop, true);
		pthread_mutex_lock(&d->wmu);
		d->stopping = true;
		pthread_cond_signal(&d->wcv);
		pthread_mutex_unlock(&d->wmu);
		pthread_join(d->worker, NULL);
		d->worker_on = false;
		pthread_cond_destroy(&d->wcv);
		pthread_mutex_destroy(&d->wmu);
	}
	if (d->done_ev)
		event_free(d->done_ev);
	d->done_ev = NULL;
	for (int i = 0; i < 2; i++)
		if (d->done_pipe[i] >= 0)
			close(d->done_pipe[i]);
	d->done_pipe[0] = d->done_pipe[1] = -1;
}
