/* workers.c -- signetd's job queue and the worker threads that take from
 * it, each with its own HSM session: the transport queues calls here, and
 * SignRRsets queues the chunks of a batch. */
#include <pthread.h>
#include <stdlib.h>

#include "signer/internal.h"

signet_err srv_enqueue(signer_server *srv, void (*fn)(srv_worker *, void *), void *arg)
{
	srv_job *j = calloc(1, sizeof(*j));
	if (!j)
		return SIGNET_ENOMEM;
	j->run = fn;
	j->arg = arg;
	pthread_mutex_lock(&srv->lock);
	if (srv->tail)
		srv->tail->next = j;
	else
		srv->head = j;
	srv->tail = j;
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return SIGNET_OK;
}

void *srv_worker_main(void *arg)
{
	srv_worker *w = arg;
	signer_server *srv = w->srv;
	for (;;) {
		pthread_mutex_lock(&srv->lock);
		while (!srv->head && !srv->workers_quit)
			pthread_cond_wait(&srv->cond, &srv->lock);
		srv_job *j = srv->head;
		if (!j) {
			pthread_mutex_unlock(&srv->lock);
			break;
		}
		srv->head = j->next;
		if (!srv->head)
			srv->tail = NULL;
		pthread_mutex_unlock(&srv->lock);
		j->run(w, j->arg);
		free(j);
	}
	return NULL;
}
