/* refresh.c -- the zone's timed events: poll the primary's SOA at refresh
 * (retry after a failure, stop serving at expire), transfer and sign a
 * newer version, store it, NOTIFY; sign again when the key set changes or
 * RRSIGs near their refresh time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zoned/daemon.h"

#define SOA_TIMEOUT 5
#define RETRY_MIN 5

/* The time signing decisions are made at (which RRSIGs are kept, when
 * they near their refresh): the system clock, or, in a build with
 * SIGNET_TEST_CLOCK (the test builds; never the package), the epoch
 * seconds in the file SIGNET_ZONED_TEST_CLOCK names, read at every use, so
 * a test moves zoned's time along with signetd's (Rollover SET_CLOCK).
 * Timers, TSIG and the metrics keep the system clock. */
static uint32_t sign_now(void)
{
#ifdef SIGNET_TEST_CLOCK
	/* Read by every worker: warned once by whichever comes first. */
	static _Atomic bool warned;
	const char *path = getenv("SIGNET_ZONED_TEST_CLOCK");
	if (path && path[0]) {
		if (!atomic_exchange(&warned, true)) {
			sg_log(SG_LOG_WARNING,
			       "zoned: SIGNET_ZONED_TEST_CLOCK: signing time read"
			       " from %s; never run a production zoned like this",
			       path);
		}
		FILE *f = fopen(path, "r");
		unsigned long t = 0;
		int got = f ? fscanf(f, "%lu", &t) : 0;
		if (f)
			fclose(f);
		if (got == 1 && t > 0 && t <= 0xffffffffUL)
			return (uint32_t)t;
	}
#endif
	return (uint32_t)time(NULL);
}

/* On the worker: the loop arms the timer when the job is back. */
static void arm(zoned_zone *z, uint32_t seconds)
{
	z->next_s = seconds;
}

#define STATE_HEAD "; signet-zoned serial-in "

static void state_path(const zoned_zone *z, char *path, size_t len)
{
	snprintf(path, len, "%s/%szone.signed", z->d->cfg.state_dir, z->conf.name);
}

static void journal_path(const zoned_zone *z, char *path, size_t len)
{
	snprintf(path, len, "%s/%sjournal", z->d->cfg.state_dir, z->conf.name);
}

/* Whether the journal alone can bring the stored zone to the current
 * version at a restart, cheaply: it leads on from the stored serial to
 * the current one, and what it holds since is small beside the zone
 * (sets: the RRsets of the current version). */
static bool journal_enough(const zoned_zone *z, size_t sets)
{
	uint32_t out = 0;
	size_t first = 0;
	const zoned_journal *j = &z->journal;
	if (!z->stored || zone_engine_serials(z->eng, &out, NULL) != SIGNET_OK || j->count == 0 ||
	    j->steps[j->count - 1].to != out || !j->steps[j->count - 1].has_in ||
	    zoned_journal_find(j, z->stored_serial, &first) != SIGNET_OK)
		return false;
	size_t rrs = 0;
	for (size_t i = first; i < j->count; i++)
		rrs += j->steps[i].rrs;
	return rrs <= sets / 4 + 64;
}

/* The signed version in the state directory, written atomically before
 * any secondary is told of it: a restart serves what they may have. A
 * change goes to the journal only (its cost is the change's); the whole
 * zone is written when the journal since the stored zone grows past a
 * quarter of it, or no longer leads on from it. The zone file's first
 * line, a comment, keeps the serial of the unsigned version. */
static signet_err store(zoned_zone *z, size_t sets)
{
	char path[ZONED_PATH_MAX + DNS_NAME_STR_MAX + 16];
	signet_err ret = SIGNET_OK;
	bool whole = !journal_enough(z, sets);
	if (whole) {
		state_path(z, path, sizeof(path));
		uint32_t in = 0, out = 0;
		zone_engine_serials(z->eng, &out, &in);
		char head[64];
		snprintf(head, sizeof(head), STATE_HEAD "%u\n", in);
		ret = zoned_store_zone(z->eng, path, head);
		if (ret != SIGNET_OK) {
			sg_log(SG_LOG_ERROR, "zoned: %s: storing %s: %s", z->conf.name, path,
			       signet_strerror(ret));
			return ret;
		}
		z->stored = true;
		z->stored_serial = out;
	}
	/* The journal after the zone: a crash between the two leaves a journal
	 * that ends before the stored serial, which a restart discards. A
	 * change is one record appended; the file is rewritten with a whole
	 * zone, or past twice the journal's bounds. */
	journal_path(z, path, sizeof(path));
	size_t octets = 0;
	signet_err jret = zoned_journal_store(&z->journal, path, whole, &octets);
	if (jret != SIGNET_OK)
		sg_log(whole ? SG_LOG_WARNING : SG_LOG_ERROR, "zoned: %s: storing %s: %s",
		       z->conf.name, path, signet_strerror(jret));
	/* With the zone written whole the version is stored whatever the
	 * journal did; otherwise the journal's record is all there is. */
	return whole ? SIGNET_OK : jret;
}

/* The engine's current version, stored, is the one served from now on
 * (on the worker, after the store). */
static void publish(zoned_zone *z)
{
	zone_snap *s = NULL;
	if (zone_engine_snap(z->eng, &s) != SIGNET_OK)
		return;
	pthread_mutex_lock(&z->jmu);
	zone_snap *old = z->pub;
	z->pub = s;
	pthread_mutex_unlock(&z->jmu);
	zone_snap_release(old);
	z->unstored = false;
}

/* The engine's version stored and served, or (unstored) kept from the
 * secondaries until a later store works. */
static void store_publish(zoned_zone *z, size_t sets)
{
	if (store(z, sets) == SIGNET_OK) {
		publish(z);
		return;
	}
	if (!z->unstored)
		sg_log(SG_LOG_ERROR,
		       "zoned: %s: the new version is not served until it is stored"
		       " (tried again at the next refresh)",
		       z->conf.name);
	z->unstored = true;
}

/* Errors of zone_engine_apply that mean the steps do not fit the version
 * held (nothing was signed): the caller transfers the whole zone. */
static bool not_applicable(signet_err e)
{
	return e == SIGNET_ENOTFOUND || e == SIGNET_EEXIST || e == SIGNET_EPARSE ||
	       e == SIGNET_ERANGE;
}

/* Sign unsigned zone u (taken), or with u NULL the IXFR steps applied to
 * the version held, with the key set from signetd. */
static signet_err sign(zoned_zone *z, dns_zone *u, const zone_diff *steps, size_t nsteps,
		       const char *why)
{
	char err[256] = "";
	zone_keys k;
	zone_keys_init(&k, &z->conf.apex);
	signet_err ret = zoned_signetd_keyset(z->sd, &z->conf.apex, &k, err, sizeof(err));
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "zoned: %s: %s; the last signed version stays served",
		       z->conf.name, err);
		z->n.sign_failed++;
		if (u)
			dns_zone_free(u);
		zone_keys_clear(&k);
		return ret;
	}
	zone_backend b;
	zoned_signetd_backend(z->sd, &b);
	zone_sign_stats st;
	zone_diff changes = {0};
	if (u)
		ret = zone_engine_sign_diff(z->eng, u, &k, &b, sign_now(), &st, &changes);
	else
		ret = zone_engine_apply(z->eng, steps, nsteps, z->conf.max_rrs, &k, &b, sign_now(),
					&st, &changes);
	if (ret != SIGNET_OK && u == NULL && not_applicable(ret)) {
		zone_keys_clear(&k);
		return ret;
	}
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR,
		       "zoned: %s: signing (%s): %s (%zu RRsets not signed); the last"
		       " signed version stays served",
		       z->conf.name, why, signet_strerror(ret), st.failed);
		z->n.sign_failed++;
		zone_keys_clear(&k);
		return ret;
	}
	z->n.rrsigs_made += st.sent;
	z->n.rrsigs_reused += st.reused;
	zone_keys_clear(&z->keys);
	z->keys = k;
	z->have_keys = true;
	sg_log(SG_LOG_NOTICE,
	       "zoned: %s: serial %u signed (%s): %zu RRsets, %zu reused, %zu sent"
	       " in %zu calls",
	       z->conf.name, st.serial, why, st.sets, st.reused, st.sent, st.calls);
	uint32_t in = 0;
	zone_engine_serials(z->eng, NULL, &in);
	pthread_mutex_lock(&z->jmu);
	signet_err jret = zoned_journal_add(&z->journal, &z->conf.apex, &changes, in);
	pthread_mutex_unlock(&z->jmu);
	if (jret != SIGNET_OK)
		sg_log(SG_LOG_WARNING,
		       "zoned: %s: journal: the step to serial %u is not kept;"
		       " secondaries behind it get the whole zone",
		       z->conf.name, st.serial);
	zone_diff_free(&changes);
	store_publish(z, st.sets);
	/* Told only once it is served. */
	z->notify_due = !z->unstored;
	return SIGNET_OK;
}

static signet_err take_soa(void *arg, const dns_rrset *set)
{
	zoned_zone *z = arg;
	if (set->type == DNS_T_SOA && set->count == 1 && set->rr[0].len >= 22) {
		const uint8_t *p = set->rr[0].data + set->rr[0].len - 16;
		z->refresh_s = sg_get_u32(p);
		z->retry_s = sg_get_u32(p + 4);
		z->expire_s = sg_get_u32(p + 8);
	}
	return SIGNET_EEXIST; /* the SOA comes first: stop there */
}

/* The timers of the primary's SOA (RFC 1035 §3.3.13), bounded. */
static void take_timers(zoned_zone *z)
{
	zone_engine_walk(z->eng, take_soa, z);
	if (z->refresh_s < RETRY_MIN)
		z->refresh_s = RETRY_MIN;
	if (z->retry_s < RETRY_MIN)
		z->retry_s = RETRY_MIN;
	if (z->expire_s < z->refresh_s)
		z->expire_s = z->refresh_s;
}

void zoned_refresh_now(zoned_zone *z)
{
	if (z->unstored) {
		/* The last version still waits for its store. */
		store_publish(z, SIZE_MAX);
		z->notify_due = !z->unstored;
	}
	int64_t now = (int64_t)time(NULL);
	uint32_t have = 0;
	bool versioned = zone_engine_serials(z->eng, NULL, &have) == SIGNET_OK;
	signet_err ret = SIGNET_EIO;
	char err[256] = "";
	for (size_t i = 0; i < z->conf.nprimaries; i++) {
		const zoned_peer *p = &z->conf.primaries[i];
		uint32_t serial = 0;
		ret = zoned_soa_query(p, &z->conf.apex, SOA_TIMEOUT, &serial);
		if (ret != SIGNET_OK) {
			snprintf(err, sizeof(err), "SOA query: %s", signet_strerror(ret));
			continue;
		}
		if (versioned && dns_serial_compare(serial, have) != 1) {
			if (serial != have)
				sg_log(SG_LOG_WARNING,
				       "zoned: %s: the primary's serial %u is behind %u;"
				       " ignored",
				       z->conf.name, serial, have);
			break; /* up to date */
		}
		dns_zone u = {0};
		zone_diff *steps = NULL;
		size_t nsteps = 0;
		const char *how = "AXFR";
		bool have_u = false;
		ret = versioned ? SIGNET_OK : SIGNET_ENOTFOUND;
		if (ret == SIGNET_OK) {
			ret = zoned_ixfr_in(p, &z->conf, have, &u, &steps, &nsteps, err,
					    sizeof(err));
			how = nsteps ? "IXFR" : "IXFR answered in full";
			if (ret == SIGNET_ENOTFOUND) {
				ret = SIGNET_OK;
				break; /* nothing newer after all */
			}
			if (ret == SIGNET_OK && nsteps) {
				/* Signed at the cost of the change; a difference
				 * that does not fit the version held falls back to
				 * AXFR. */
				z->n.last_xfr_in = now;
				z->n.last_xfr_in_ok = true;
				z->n.xfr_in_ok++;
				ret = sign(z, NULL, steps, nsteps, how);
				zoned_steps_free(steps, nsteps);
				if (ret == SIGNET_OK) {
					take_timers(z);
					break;
				}
				if (!not_applicable(ret))
					break; /* signing failed: logged, retried */
				snprintf(err, sizeof(err),
					 "the difference does not apply to serial %u (%s)", have,
					 signet_strerror(ret));
				z->n.xfr_in_ok--;
				ret = SIGNET_EPARSE;
			}
			have_u = ret == SIGNET_OK;
			if (ret != SIGNET_OK) {
				z->n.xfr_in_failed++;
				sg_log(SG_LOG_WARNING,
				       "zoned: %s: IXFR from primary %zu: %s; trying"
				       " AXFR",
				       z->conf.name, i + 1, err);
			}
		}
		if (!have_u) {
			how = "AXFR";
			ret = zoned_axfr_in(p, &z->conf, &u, err, sizeof(err));
		}
		z->n.last_xfr_in = now;
		z->n.last_xfr_in_ok = ret == SIGNET_OK;
		if (ret != SIGNET_OK) {
			z->n.xfr_in_failed++;
			sg_log(SG_LOG_ERROR,
			       "zoned: %s: AXFR from primary %zu refused: %s; nothing"
			       " changed",
			       z->conf.name, i + 1, err);
			continue;
		}
		z->n.xfr_in_ok++;
		ret = sign(z, &u, NULL, 0, how);
		if (ret == SIGNET_OK)
			take_timers(z);
		break;
	}
	if (ret == SIGNET_OK) {
		z->last_ok = now;
		z->expired = false;
		/* A version not stored yet is tried again at the retry. */
		arm(z, z->unstored ? (z->retry_s ? z->retry_s : RETRY_MIN)
				   : (z->refresh_s ? z->refresh_s : 3600));
		return;
	}
	if (err[0])
		sg_log(SG_LOG_WARNING, "zoned: %s: refresh failed: %s", z->conf.name, err);
	if (z->last_ok && z->expire_s && now - z->last_ok > (int64_t)z->expire_s && !z->expired) {
		z->expired = true;
		sg_log(SG_LOG_ERROR, "zoned: %s: expired: no refresh for %u s; not served",
		       z->conf.name, z->expire_s);
	}
	arm(z, z->retry_s ? z->retry_s : RETRY_MIN);
}

static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	zoned_job(arg, ZONED_JOB_REFRESH);
}

/* A version read back from path (its zone file at serial stored, steps
 * journal steps after it) is e's: served from now on, its timers taken. */
static void loaded(zoned_zone *z, uint32_t stored, const char *path, size_t steps, const char *how)
{
	z->stored = true;
	z->stored_serial = stored;
	publish(z);
	uint32_t out = 0;
	zone_engine_serials(z->eng, &out, NULL);
	take_timers(z);
	z->last_ok = (int64_t)time(NULL);
	sg_log(SG_LOG_NOTICE,
	       "zoned: %s: serving serial %u from %s and %zu journal steps after it%s",
	       z->conf.name, out, path, steps, how);
}

/* The stored version and the journal's steps after it replayed onto it:
 * the whole zone parsed first (the steps are differences of the signed
 * zone). */
static void load_whole(zoned_zone *z, const char *path)
{
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, z->conf.max_octets * 4, &text);
	if (ret == SIGNET_ENOTFOUND)
		return;
	const size_t head = strlen(STATE_HEAD);
	char *end = NULL;
	unsigned long in = 0;
	if (ret == SIGNET_OK && (text.len < head + 2 || memcmp(text.data, STATE_HEAD, head) != 0 ||
				 sg_buf_put_u8(&text, 0) != SIGNET_OK))
		ret = SIGNET_EPARSE;
	if (ret == SIGNET_OK) {
		in = strtoul((const char *)text.data + head, &end, 10);
		if (end == (char *)text.data + head || *end != '\n' || in > 0xffffffffUL)
			ret = SIGNET_EPARSE;
	}
	dns_zone zone;
	memset(&zone, 0, sizeof(zone));
	unsigned line = 0;
	if (ret == SIGNET_OK)
		ret = dns_zone_parse((const char *)text.data, text.len - 1, &z->conf.apex, 3600,
				     z->conf.max_rrs * 4, &zone, &line);
	/* The stored zone's serial, which the journal leads up to or on from. */
	uint32_t stored = 0;
	bool found = false;
	for (size_t i = 0; ret == SIGNET_OK && i < zone.count && !found; i++) {
		const dns_rrset *so = &zone.sets[i];
		if (so->type == DNS_T_SOA && so->count == 1 && so->rr[0].len >= 22 &&
		    dns_name_equal(&so->owner, &z->conf.apex)) {
			stored = sg_get_u32(so->rr[0].data + so->rr[0].len - 20);
			found = true;
		}
	}
	if (ret == SIGNET_OK && !found)
		ret = SIGNET_EPARSE;
	if (ret != SIGNET_OK) {
		dns_zone_free(&zone);
		sg_buf_free(&text);
		sg_log(SG_LOG_ERROR, "zoned: %s: %s (line %u): %s; starting without it",
		       z->conf.name, path, line, signet_strerror(ret));
		return;
	}
	/* The journal, if it leads up to the stored version or on from it: the
	 * changes since the zone was last written whole are replayed. */
	char jpath[ZONED_PATH_MAX + DNS_NAME_STR_MAX + 16];
	journal_path(z, jpath, sizeof(jpath));
	sg_buf jt = SG_BUF_INIT;
	size_t replayed = 0;
	bool touched = false; /* the parsed zone was changed by a replay */
	uint32_t in_now = (uint32_t)in;
	if (sg_file_read(jpath, z->conf.max_octets * 4, &jt) == SIGNET_OK) {
		zoned_journal *j = &z->journal;
		char note[160];
		ret = zoned_journal_load(j, &z->conf.apex, (const char *)jt.data, jt.len, stored,
					 note, sizeof(note));
		if (note[0])
			sg_log(SG_LOG_WARNING, "zoned: %s: %s: %s", z->conf.name, jpath, note);
		size_t first = 0;
		if (ret == SIGNET_OK && j->count && j->steps[j->count - 1].to != stored) {
			touched = true;
			ret = j->steps[j->count - 1].has_in &&
					      zoned_journal_find(j, stored, &first) == SIGNET_OK
				      ? zoned_journal_replay(j, first, &zone, z->conf.max_rrs * 4)
				      : SIGNET_EPARSE;
			if (ret == SIGNET_OK) {
				replayed = j->count - first;
				in_now = j->steps[j->count - 1].in;
			}
		}
		if (ret == SIGNET_OK) {
			sg_log(SG_LOG_NOTICE, "zoned: %s: journal of %zu steps read", z->conf.name,
			       j->count);
		} else {
			sg_log(SG_LOG_WARNING,
			       "zoned: %s: %s does not lead to or on from serial %u (%s);"
			       " secondaries behind it get the whole zone",
			       z->conf.name, jpath, stored, signet_strerror(ret));
			zoned_journal_free(j);
			zoned_journal_init(j, 64, z->conf.max_rrs);
		}
		if (ret != SIGNET_OK && !touched) {
			ret = SIGNET_OK;
		} else if (ret != SIGNET_OK) {
			/* A replay that failed half-way: the stored zone again. */
			dns_zone_free(&zone);
			ret = dns_zone_parse((const char *)text.data, text.len - 1, &z->conf.apex,
					     3600, z->conf.max_rrs * 4, &zone, &line);
		}
	}
	sg_buf_free(&jt);
	if (ret == SIGNET_OK)
		ret = zone_engine_load(z->eng, &zone, in_now);
	else
		dns_zone_free(&zone);
	sg_buf_free(&text);
	if (ret != SIGNET_OK) {
		zoned_journal_free(&z->journal);
		zoned_journal_init(&z->journal, 64, z->conf.max_rrs);
		sg_log(SG_LOG_ERROR, "zoned: %s: %s: %s; starting without it", z->conf.name, path,
		       signet_strerror(ret));
		return;
	}
	loaded(z, stored, path, replayed, "");
}

/* The journal of z read, as a start finds it: true when its steps lead on
 * from the stored serial (they must be replayed), false when it ends at
 * it (kept for IXFR out) or is left out (logged). */
static bool journal_after(zoned_zone *z, uint32_t stored)
{
	char jpath[ZONED_PATH_MAX + DNS_NAME_STR_MAX + 16];
	journal_path(z, jpath, sizeof(jpath));
	sg_buf jt = SG_BUF_INIT;
	bool after = false;
	if (sg_file_read(jpath, z->conf.max_octets * 4, &jt) == SIGNET_OK) {
		zoned_journal *j = &z->journal;
		char note[160];
		signet_err ret = zoned_journal_load(j, &z->conf.apex, (const char *)jt.data, jt.len,
						    stored, note, sizeof(note));
		if (note[0])
			sg_log(SG_LOG_WARNING, "zoned: %s: %s: %s", z->conf.name, jpath, note);
		if (ret == SIGNET_OK) {
			after = j->count && j->steps[j->count - 1].to != stored;
			sg_log(SG_LOG_NOTICE, "zoned: %s: journal of %zu steps read", z->conf.name,
			       j->count);
		} else {
			sg_log(SG_LOG_WARNING,
			       "zoned: %s: %s does not lead to or on from serial %u (%s);"
			       " secondaries behind it get the whole zone",
			       z->conf.name, jpath, stored, signet_strerror(ret));
		}
		if (ret != SIGNET_OK) {
			zoned_journal_free(j);
			zoned_journal_init(j, 64, z->conf.max_rrs);
		}
	}
	sg_buf_free(&jt);
	return after;
}

static void journal_reset(zoned_zone *z)
{
	zoned_journal_free(&z->journal);
	zoned_journal_init(&z->journal, 64, z->conf.max_rrs);
}

/* The version stored before a restart, served at once. A missing file is
 * a first start; a broken one is logged and left for the next transfer.
 * It is read a block at a time and made into the version as it comes,
 * the journal's steps after it (a kill -9 left them) applied to its sets
 * as they pass; steps that do not fit it that way are left to load_whole,
 * which parses the stored zone whole and replays them onto it. */
void zoned_load_now(zoned_zone *z)
{
	char path[ZONED_PATH_MAX + DNS_NAME_STR_MAX + 16];
	state_path(z, path, sizeof(path));
	uint32_t in = 0, stored = 0;
	signet_err ret = zoned_restore_head(path, STATE_HEAD, &z->conf.apex, &in, &stored);
	if (ret == SIGNET_ENOTFOUND)
		return;
	if (ret != SIGNET_OK) {
		load_whole(z, path);
		return;
	}
	zoned_replay *replay = NULL;
	size_t first = 0, steps = 0;
	if (journal_after(z, stored)) {
		const zoned_journal *j = &z->journal;
		const zoned_step *last = &j->steps[j->count - 1];
		if (!last->has_in || zoned_journal_find(j, stored, &first) != SIGNET_OK ||
		    zoned_replay_new(j, first, &replay) != SIGNET_OK) {
			journal_reset(z);
			load_whole(z, path);
			return;
		}
		steps = j->count - first;
		in = last->in;
	}
	unsigned line = 0;
	ret = zoned_restore_stream(path, z->eng, z->conf.max_octets * 4, z->conf.max_rrs * 4, in,
				   replay, &line);
	bool replayed = replay != NULL;
	zoned_replay_free(replay);
	if (ret != SIGNET_OK && replayed) {
		sg_log(SG_LOG_WARNING,
		       "zoned: %s: the journal's steps do not replay onto %s as it is read"
		       " (%s); reading it whole",
		       z->conf.name, path, signet_strerror(ret));
		journal_reset(z);
		load_whole(z, path);
		return;
	}
	if (ret != SIGNET_OK) {
		journal_reset(z);
		sg_log(SG_LOG_ERROR, "zoned: %s: %s (line %u): %s; starting without it",
		       z->conf.name, path, line, signet_strerror(ret));
		return;
	}
	loaded(z, stored, path, steps, ", read a block at a time");
}

void zoned_store_final(zoned_zone *z)
{
	uint32_t out = 0;
	if (!zone_engine_has_version(z->eng) ||
	    zone_engine_serials(z->eng, &out, NULL) != SIGNET_OK ||
	    (z->stored && z->stored_serial == out))
		return;
	char path[ZONED_PATH_MAX + DNS_NAME_STR_MAX + 16];
	state_path(z, path, sizeof(path));
	uint32_t in = 0;
	zone_engine_serials(z->eng, NULL, &in);
	char head[64];
	snprintf(head, sizeof(head), STATE_HEAD "%u\n", in);
	signet_err ret = zoned_store_zone(z->eng, path, head);
	if (ret != SIGNET_OK) {
		sg_log(SG_LOG_ERROR, "zoned: %s: storing %s at the stop: %s", z->conf.name, path,
		       signet_strerror(ret));
		return;
	}
	z->stored = true;
	z->stored_serial = out;
	journal_path(z, path, sizeof(path));
	size_t octets = 0;
	ret = zoned_journal_store(&z->journal, path, true, &octets);
	if (ret != SIGNET_OK)
		sg_log(SG_LOG_WARNING, "zoned: %s: storing %s at the stop: %s", z->conf.name, path,
		       signet_strerror(ret));
	sg_log(SG_LOG_NOTICE, "zoned: %s: serial %u stored whole at the stop", z->conf.name, out);
}

signet_err zoned_zone_start(zoned_zone *z)
{
	zone_options o;
	zone_options_init(&o);
	o.serial = z->conf.serial;
	signet_err ret = zone_engine_new(&z->conf.apex, &o, &z->eng);
	if (ret != SIGNET_OK)
		return ret;
	zone_keys_init(&z->keys, &z->conf.apex);
	/* A journal as deep as the zone is large: past that an AXFR is cheaper. */
	zoned_journal_init(&z->journal, 64, z->conf.max_rrs);
	if (pthread_mutex_init(&z->jmu, NULL) != 0)
		return SIGNET_ENOMEM;
	/* Armed once the state directory is read (a job of its own). */
	z->refresh = evtimer_new(z->d->base, on_refresh, z);
	if (z->refresh == NULL)
		return SIGNET_ENOMEM;
	return SIGNET_OK;
}

void zoned_zone_stop(zoned_zone *z)
{
	if (z->d)
		zoned_serve_forget(z->d, z);
	if (z->refresh)
		event_free(z->refresh);
	for (size_t i = 0; i < ZONED_PEERS_MAX; i++)
		if (z->notify[i].timer)
			event_free(z->notify[i].timer);
	zone_snap_release(z->pub);
	zone_engine_free(z->eng);
	zone_keys_clear(&z->keys);
	zoned_journal_free(&z->journal);
	if (z->refresh)
		pthread_mutex_destroy(&z->jmu);
	zoned_keys_free(z->keys_own, z->nkeys_own);
	zoned_keys_free(z->next_keys, z->next_nkeys);
	free(z->next_conf);
	memset(z, 0, sizeof(*z));
}

static bool same_set(const dns_rrset *a, const dns_rrset *b)
{
	if (a->count != b->count || a->ttl != b->ttl)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->rr[i].len != b->rr[i].len ||
		    (a->rr[i].len && memcmp(a->rr[i].data, b->rr[i].data, a->rr[i].len) != 0))
			return false;
	return true;
}

void zoned_keyset_check(zoned_zone *z)
{
	if (z->unstored) {
		store_publish(z, SIZE_MAX);
		z->notify_due = !z->unstored;
	}
	if (!zone_engine_has_version(z->eng) || z->expired)
		return;
	char err[256] = "";
	zone_keys k;
	zone_keys_init(&k, &z->conf.apex);
	signet_err kret = zoned_signetd_keyset(z->sd, &z->conf.apex, &k, err, sizeof(err));
	if (kret != SIGNET_OK) {
		/* signetd gone is warned of once for all zones (signetd.c); a
		 * refusal of this zone's key set is its own. */
		sg_log(kret == SIGNET_EIO ? SG_LOG_INFO : SG_LOG_WARNING,
		       "zoned: %s: %s; retrying at the next poll", z->conf.name, err);
		zone_keys_clear(&k);
		return;
	}
	if (!z->have_keys && zone_engine_keys(z->eng, &z->keys) == SIGNET_OK)
		z->have_keys = true; /* the version read back at start */
	bool keys_same = z->have_keys && same_set(&k.dnskey, &z->keys.dnskey) &&
			 same_set(&k.cds, &z->keys.cds) && same_set(&k.cdnskey, &z->keys.cdnskey) &&
			 k.nsec3 == z->keys.nsec3;
	bool changed = !keys_same || !same_set(&k.ksk_sigs, &z->keys.ksk_sigs);
	uint32_t now = sign_now();
	/* The KSK's RRSIGs come with the key set: signing again cannot renew
	 * them, so they do not count here. */
	uint32_t exp = zone_engine_earliest_zsk_expiry(z->eng);
	bool stale = dns_serial_compare(exp, now + k.validity / 4) != 1;
	zone_keys_clear(&k);
	if (!changed && !stale)
		return;
	/* Only the KSK's RRSIGs are new (the bundle's next period): the
	 * version in memory takes them and keeps every other set as it is. */
	if (keys_same && !stale) {
		signet_err r = sign(z, NULL, NULL, 0, "new KSK RRSIGs");
		if (r == SIGNET_OK || !not_applicable(r))
			return;
	}
	dns_zone u;
	if (zone_engine_unsigned(z->eng, &u) != SIGNET_OK)
		return;
	sign(z, &u, NULL, 0, changed ? "key set changed" : "RRSIGs near refresh");
}
