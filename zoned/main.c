/* main.c -- signet-zoned: read the configuration, connect to signetd,
 * start the worker and every zone's refresh, and serve until SIGTERM. */
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
		zoned_reload_when_idle(d);
		return;
	}
	sg_log(SG_LOG_NOTICE, "zoned: stopping");
	event_base_loopbreak(d->base);
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
	if (client_open(&cc, &d.sd.conn, err, sizeof(err)) != SIGNET_OK) {
		fprintf(stderr, "signet-zoned: signetd: %s\n", err);
		goto out;
	}
	d.base = event_base_new();
	d.config_path = path;
	d.zones = calloc(ZONED_ZONES_MAX, sizeof(*d.zones));
	if (d.base == NULL || d.zones == NULL || zoned_serve_start(&d) != SIGNET_OK ||
	    zoned_metrics_start(&d) != SIGNET_OK || zoned_worker_start(&d) != SIGNET_OK)
		goto out;
	for (size_t i = 0; i < d.cfg.nzones; i++) {
		zoned_zone *z = calloc(1, sizeof(*z));
		if (z == NULL)
			goto out;
		d.zones[d.nzones++] = z;
		z->d = &d;
		z->conf = d.cfg.zones[i];
		if (zoned_zone_start(z) != SIGNET_OK)
			goto out;
	}
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
	sg_log(SG_LOG_NOTICE, "zoned: serving %zu zones on %s", d.nzones, d.cfg.listen);
	event_base_dispatch(d.base);
	rc = 0;
out:
	/* The worker first: it uses the zones and the connection to signetd. */
	if (d.base)
		zoned_worker_stop(&d);
	for (size_t i = 0; i < d.nzones; i++) {
		zoned_zone_stop(d.zones[i]);
		free(d.zones[i]);
	}
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
	client_close(d.sd.conn);
	zoned_config_free(&d.cfg);
	return rc;
}
