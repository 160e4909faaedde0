/* cmd_parent_watch.c -- `signet parent-watch`: one pass (or one every
 * --interval seconds) over the zones of the agents file. For a zone whose
 * rollover waits for a DS (Health's DsWait), each parental agent is asked;
 * an agent that serves the wanted DS (and none of the old ones) keeps its
 * first-seen time in the state file, one that does not loses it; once every
 * agent has served it for the DS TTL, signetd hears it (ConfirmDs). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/parent_watch.h"

enum { OPT_AGENTS = CLIENT_OPT_FIRST_FREE, OPT_STATE, OPT_INTERVAL };

#define USAGE "usage: signet parent-watch --agents FILE --state FILE [--interval SECONDS]\n"
#define INTERVAL_MAX 86400

static void when_text(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "%lld", (long long)t);
}

/* The zone's entry in a Health answer, or NULL. */
static const client_zone_health *zone_of(const client_health_info *h, const dns_name *zone)
{
	for (size_t i = 0; i < h->nzones; i++)
		if (h->zones[i].zone_ok && dns_name_equal(&h->zones[i].zone, zone))
			return &h->zones[i];
	return NULL;
}

/* Tell signetd; an exit status. */
static int confirm(client_conn *conn, const pw_zone *z, const client_ds_wait *dw, int64_t since)
{
	const char *agents[PW_AGENTS_MAX];
	for (size_t i = 0; i < z->nagents; i++)
		agents[i] = z->agents[i].id;
	client_status st;
	int64_t seen = 0;
	signet_err ret = client_confirm_ds(conn, &z->zone, dw->dnskey.data, dw->dnskey.len, since,
					   agents, z->nagents, &st, &seen);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "parent-watch: ConfirmDs: %s\n", signet_strerror(ret));
		return SIGNET_EXIT_ERROR;
	}
	if (st.code != 0)
		return client_report("parent-watch", "ConfirmDs", &st);
	char when[32];
	when_text(seen, when, sizeof(when));
	printf("%s: DS of KSK %u confirmed to signetd (ds-seen at %s): the rollover"
	       " proceeds\n",
	       z->name, dw->key_tag, when);
	return SIGNET_EXIT_OK;
}

/* Tell signetd what each agent served, for Health; a failure is said and
 * changes nothing else (the next pass tells again). */
static void report(client_conn *conn, const pw_zone *z, uint32_t tag, const char *const *lines,
		   size_t n)
{
	client_status st;
	signet_err ret = client_report_ds(conn, &z->zone, tag, lines, n, &st);
	if (ret != SIGNET_OK)
		fprintf(stderr, "parent-watch: %s: ReportDsObservation: %s\n", z->name,
			signet_strerror(ret));
	else if (st.code != 0)
		fprintf(stderr, "parent-watch: %s: ReportDsObservation: %s: %s\n", z->name,
			client_status_name(st.code), st.details);
}

/* One zone of one pass: ask its agents, keep or drop their first-seen
 * times, confirm when the condition holds. An exit status. */
static int watch_zone(client_conn *conn, const pw_zone *z, const client_health_info *h, int64_t now,
		      pw_state *st)
{
	const client_zone_health *zh = zone_of(h, &z->zone);
	if (!zh) {
		printf("%s: not in signetd's Health (an unknown zone, or not one of this"
		       " identity's zones)\n",
		       z->name);
		pw_state_drop(st, &z->zone, false, 0, 0);
		return SIGNET_EXIT_FAIL;
	}
	const client_ds_wait *dw = zh->ds_wait;
	if (!dw || dw->dnskey.len < 4) {
		printf("%s: no rollover waits for a DS\n", z->name);
		pw_state_drop(st, &z->zone, false, 0, 0);
		return SIGNET_EXIT_OK;
	}
	uint16_t tag = (uint16_t)dw->key_tag;
	uint8_t alg = (uint8_t)dw->algorithm;
	/* Times of another KSK (an earlier rollover) mean nothing now. */
	pw_state_drop(st, &z->zone, true, tag, alg);
	pw_want want = {&z->zone, dw->dnskey.data, dw->dnskey.len, tag, alg, dw->gone, dw->ngone};
	char when[32];
	when_text(dw->since, when, sizeof(when));
	printf("%s: the rollover waits for the DS of KSK %u (algorithm %u) since %s, %zu old"
	       " DS to go, DS TTL %u s\n",
	       z->name, tag, alg, when, dw->ngone, dw->ds_ttl);
	size_t good = 0;
	int64_t since = 0;
	uint32_t real_now = (uint32_t)time(NULL);
	/* One line per agent for Health: the agent and what it serves, cut to
	 * what signetd keeps (300 octets). */
	char lines[PW_AGENTS_MAX][301];
	const char *lp[PW_AGENTS_MAX];
	for (size_t i = 0; i < z->nagents; i++) {
		const pw_agent *a = &z->agents[i];
		char why[400];
		lp[i] = lines[i];
		pw_seen *e = pw_state_find(st, &z->zone, tag, alg, a->id);
		/* The parent's signatures are judged at the real time: they are
		 * the parent's, and validators judge them so. */
		if (!pw_observe(a, &want, real_now, why, sizeof(why))) {
			printf("%s:   %s %s\n", z->name, a->id, why);
			snprintf(lines[i], sizeof(lines[i]), "%s %.200s", a->id, why);
			if (e)
				pw_state_forget(st, e);
			continue;
		}
		if (!e) {
			if (pw_state_add(st, &z->zone, tag, alg, a->id, now) != SIGNET_OK)
				return SIGNET_EXIT_ERROR;
			e = pw_state_find(st, &z->zone, tag, alg, a->id);
		}
		when_text(e->first, when, sizeof(when));
		printf("%s:   %s serves the DS of KSK %u since %s\n", z->name, a->id, tag, when);
		snprintf(lines[i], sizeof(lines[i]), "%s serves the DS since %s", a->id, when);
		good++;
		if (e->first > since)
			since = e->first;
	}
	report(conn, z, tag, lp, z->nagents);
	if (good < z->nagents) {
		printf("%s: waits: %zu of %zu agents serve the DS\n", z->name, good, z->nagents);
		return SIGNET_EXIT_OK;
	}
	if (now - since < (int64_t)dw->ds_ttl) {
		printf("%s: waits: every agent serves the DS, for %lld s of the DS TTL (%u s)\n",
		       z->name, (long long)(now - since), dw->ds_ttl);
		return SIGNET_EXIT_OK;
	}
	int rc = confirm(conn, z, dw, since);
	if (rc == SIGNET_EXIT_OK)
		pw_state_drop(st, &z->zone, false, 0, 0);
	return rc;
}

/* One pass over every zone; the worst exit status. */
static int pass(const client_flags *flags, const pw_config *cfg, const char *state_path)
{
	pw_state st;
	char err[1200];
	if (pw_state_load(state_path, &st, err, sizeof(err)) != SIGNET_OK) {
		/* Forgetting first-seen times only delays a confirmation. */
		fprintf(stderr, "parent-watch: state: %s: starting afresh\n", err);
		memset(&st, 0, sizeof(st));
	}
	client_conn *conn = NULL;
	int rc = client_connect("parent-watch", flags, &conn);
	if (rc != SIGNET_EXIT_OK) {
		pw_state_free(&st);
		return rc;
	}
	client_health_info h;
	client_status cs;
	signet_err ret = client_health(conn, &cs, &h);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "parent-watch: Health: %s\n", signet_strerror(ret));
		rc = SIGNET_EXIT_ERROR;
	} else if (cs.code != 0) {
		rc = client_report("parent-watch", "Health", &cs);
	} else {
		/* First-seen times are on signetd's clock, which judges them. */
		int64_t now = h.now > 0 ? h.now : (int64_t)time(NULL);
		for (size_t i = 0; i < cfg->nzones; i++) {
			int zr = watch_zone(conn, &cfg->zones[i], &h, now, &st);
			if (zr > rc)
				rc = zr;
		}
		if (pw_state_save(state_path, &st) != SIGNET_OK) {
			fprintf(stderr, "parent-watch: cannot write %s\n", state_path);
			rc = SIGNET_EXIT_ERROR;
		}
	}
	client_health_free(&h);
	client_close(conn);
	pw_state_free(&st);
	fflush(stdout);
	return rc;
}

int signet_cmd_parent_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"agents", 1, NULL, OPT_AGENTS},
		{"state", 1, NULL, OPT_STATE},
		{"interval", 1, NULL, OPT_INTERVAL},
		{"help", 0, NULL, 'h'},
		CLIENT_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	client_flags flags;
	memset(&flags, 0, sizeof(flags));
	const char *agents = NULL, *state = NULL;
	long interval = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_AGENTS) {
			agents = optarg;
		} else if (c == OPT_STATE) {
			state = optarg;
		} else if (c == OPT_INTERVAL) {
			char *end = NULL;
			interval = strtol(optarg, &end, 10);
			if (!*optarg || *end || interval < 1 || interval > INTERVAL_MAX) {
				fprintf(stderr, "parent-watch: --interval: 1..%d seconds\n",
					INTERVAL_MAX);
				return SIGNET_EXIT_USAGE;
			}
		} else if (c == 'h') {
			printf(USAGE CLIENT_CONN_USAGE
			       "For each zone of the agents file (lines `parental-agent ZONE\n"
			       "ADDR[:PORT] [auth|resolver]`) whose KSK or algorithm rollover\n"
			       "waits for its DS, asks every agent for the DS: an auth agent (a\n"
			       "server of the parent) without recursion, its DS RRSIG verified\n"
			       "with the parent's DNSKEY; a resolver agent with recursion, its\n"
			       "answer with AD. When every agent has served the wanted DS (and\n"
			       "none of the old ones) for the DS TTL, confirms it to signetd\n"
			       "(ConfirmDs), as `signet rollover ZONE ds-seen` would, and tells\n"
			       "signetd what each agent serves (ReportDsObservation, shown by\n"
			       "Health). First-seen times are kept in the state file. One pass,\n"
			       "or one every --interval seconds. Needs the parent-agent role (or\n"
			       "admin) for the zones.\n"
			       "Exit: 0 a pass done, 1 a zone unknown to signetd, 2 usage,\n"
			       "3 state file, 4 signetd unreachable, 5 refused.\n");
			return SIGNET_EXIT_OK;
		} else if (!client_flags_take(&flags, c, optarg)) {
			fprintf(stderr, USAGE);
			return SIGNET_EXIT_USAGE;
		}
	}
	if (optind != argc || !agents || !state) {
		fprintf(stderr, USAGE);
		return SIGNET_EXIT_USAGE;
	}
	pw_config cfg;
	char err[1200];
	if (pw_config_load(agents, &cfg, err, sizeof(err)) != SIGNET_OK) {
		fprintf(stderr, "parent-watch: agents: %s\n", err);
		return SIGNET_EXIT_USAGE;
	}
	int rc;
	for (;;) {
		rc = pass(&flags, &cfg, state);
		if (!interval || rc == SIGNET_EXIT_USAGE)
			break;
		sleep((unsigned)interval);
	}
	pw_config_free(&cfg);
	return rc;
}
