/* main.c -- signet-zoned: read the configuration, start the workers (each
 * connected to signetd) and every zone's refresh, and serve until
 * SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zoned/daemon.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: signet-zoned -c CONFIG [-t] [-v]\n"
		"  -c CONFIG  the configuration file (docs/ZONED.md)\n"
		"  -t         check the configuration and exit\n"
		"  -v         log more (info)\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	zoned *d = arg;
	if (sig == SIGHUP) {
		zoned_reload(d);
		return;
	}
	sg_log(SG_LOG_NOTICE, "zoned: stopping");
	event_base_loopbreak(d->base);
}

void zoned_listen(zoned *d, bool on)
{
	if (on) {
		event_add(d->udp_ev, NULL);
		evconnlistener_enable(d->tcp);
	} else {
		event_del(d->udp_ev);
		evconnlistener_disable(d->tcp);
	}
}

static void on_keyset(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	zoned *d = arg;
	for (size_t i = 0; i < d->nzones; i++)
		zoned_job(d->zones[i], ZONED_JOB_KEYSET);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool test = false;
	int c;
	while ((c = getopt(argc, argv, "c:tvh")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'v':
			sg_log_set_level(SG_LOG_INFO);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* TSIG secrets live in this process: no core dumps, no ptrace. */
	if (sg_harden_process() != SIGNET_OK) {
		fprintf(stderr, "signet-zoned: cannot disable core dumps\n");
		return 3;
	}
	zoned d;
	memset(&d, 0, sizeof(d));
	d.udp = d.notify_fd = -1;
	d.done_pipe[0] = d.done_pipe[1] = -1;
	char err[512] = "";
	if (zoned_config_load(path, &d.cfg, err, sizeof(err)) != SIGNET_OK) {
		fprintf(stderr, "signet-zoned: %s: %s\n", path, err);
		return 2;
	}
	client_config cc;
	client_config_init(&cc);
	if (client_config_load(d.cfg.client_config, &cc, err, sizeof(err)) != SIGNET_OK ||
	    client_config_check(&cc, err, sizeof(err)) != SIGNET_OK) {
		fprintf(stderr, "signet-zoned: signetd %s: %s\n", d.cfg.client_config, err);
		zoned_config_free(&d.cfg);
		return 2;
	}
	struct stat st;
	if (stat(d.cfg.state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "signet-zoned: state-dir %s: not a directory\n", d.cfg.state_dir);
		zoned_config_free(&d.cfg);
		return 2;
	}
	if (test) {
		printf("signet-zoned: %s: %zu zones, configuration ok\n", path, d.cfg.nzones);
		zoned_config_free(&d.cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	int rc = 3;
	d.base = event_base_new();
	d.config_path = path;
	d.zones = calloc(ZONED_ZONES_MAX, sizeof(*d.zones));
	if (d.base == NULL || d.zones == NULL)
		goto out;
	if (zoned_workers_start(&d, &cc, err, sizeof(err)) != SIGNET_OK) {
		fprintf(stderr, "signet-zoned: signetd: %s\n", err);
		goto out;
	}
	if (zoned_serve_start(&d) != SIGNET_OK || zoned_metrics_start(&d) != SIGNET_OK)
		goto out;
	/* The ports are bound (a query waits in them), but not answered until
	 * every zone's stored version is read: a restart serves at once what
	 * it had, never SERVFAIL for a zone it has (zoned_zone_back). */
	zoned_listen(&d, false);
	for (size_t i = 0; i < d.cfg.nzones; i++)
		if (zoned_zone_add(&d, &d.cfg.zones[i]) == NULL)
			goto out;
	static const int sigs[3] = {SIGHUP, SIGTERM, SIGINT};
	for (int i = 0; i < 3; i++) {
		d.sig_ev[i] = evsignal_new(d.base, sigs[i], on_signal, &d);
		if (d.sig_ev[i] == NULL || event_add(d.sig_ev[i], NULL) != 0)
			goto out;
	}
	d.keyset_ev = event_new(d.base, -1, EV_PERSIST, on_keyset, &d);
	struct timeval poll = {(time_t)d.cfg.keyset_poll, 0};
	if (d.keyset_ev == NULL || event_add(d.keyset_ev, &poll) != 0)
		goto out;
	if (d.adding == NULL) {
		d.ready = true;
		zoned_listen(&d, true);
		sg_log(SG_LOG_NOTICE, "zoned: ready: serving no zones on %s", d.cfg.listen);
	} else {
		sg_log(SG_LOG_NOTICE, "zoned: reading %zu zones from %s", d.cfg.nzones,
		       d.cfg.state_dir);
	}
	event_base_dispatch(d.base);
	rc = 0;
out:
	/* The workers first: they use the zones. */
	if (d.base)
		zoned_workers_stop(&d);
	/* A clean stop writes each version whole that only the journal held:
	 * the next start reads it a block at a time, with nothing to replay
	 * onto it (restore.c). */
	for (size_t i = 0; rc == 0 && i < d.nzones; i++)
		zoned_store_final(d.zones[i]);
	while (d.nzones)
		zoned_zone_free(d.zones[d.nzones - 1]);
	while (d.adding)
		zoned_zone_free(d.adding);
	while (d.retired)
		zoned_zone_free(d.retired);
	free(d.zones);
	for (int i = 0; i < 3; i++)
		if (d.sig_ev[i])
			event_free(d.sig_ev[i]);
	if (d.keyset_ev)
		event_free(d.keyset_ev);
	zoned_metrics_stop(&d);
	zoned_serve_stop(&d);
	if (d.base)
		event_base_free(d.base);
	zoned_config_free(&d.cfg);
	return rc;
}
