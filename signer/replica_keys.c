/* replica_keys.c -- keys on every replica: the ZSKs of the shared state that
 * this signetd's token lacks are restored from their backups in the state
 * (signer_backups_restore, the one restore), at start and whenever the state
 * moves; what cannot be restored is remembered per key with the reason, for
 * the signing path, Health and the metrics. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/signer.h"

#define PRESENT_MAX 100000 /* key IDs remembered as in the token */

/* A ZSK of the state the token lacks, and why it stays so. */
typedef struct absent_key {
	signer_key key; /* as the state had it at the sync (its schedule) */
	char why[240];
	bool tried;       /* a restore was tried and failed */
	uint64_t version; /* the state's version it was tried at */
} absent_key;

typedef struct key_id {
	uint8_t len;
	uint8_t id[HSM_ID_MAX];
} key_id;

struct signer_replica_keys {
	signer_backups *b;
	signer_state *st;
	hsm_token *tok;
	signer_audit *audit;
	char name[SIGNER_REPLICA_NAME_MAX + 1];
	char who[SIGNER_REPLICA_NAME_MAX + 16]; /* the audit client of its own restores */
	pthread_mutex_t sync_mu;                /* one restore at a time (sync, RPC) */
	pthread_rwlock_t lock;                  /* present, absent, counts */
	key_id *present;                        /* sorted; in the token */
	size_t npresent;
	absent_key *absent;
	size_t nabsent;
	signer_replica_keys_counts counts;
	unsigned restoring;      /* restores under way: their keys may be in the
				   * token before they are proven */
	uint64_t restores;       /* restores ever started */
	uint64_t synced_version; /* the state's version the last sync read */
	bool synced;             /* a sync has run */
	pthread_mutex_t wake_mu; /* poke, quit */
	pthread_cond_t wake;
	bool poke, quit, started;
	unsigned interval_ms;
	pthread_t thread;
};

static int id_cmp(const void *a, const void *b)
{
	const key_id *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->id, y->id, x->len);
}

static key_id make_id(const uint8_t *id, size_t len)
{
	key_id k;
	memset(&k, 0, sizeof(k));
	k.len = (uint8_t)(len > HSM_ID_MAX ? HSM_ID_MAX : len);
	memcpy(k.id, id, k.len);
	return k;
}

/* Call with lock held (either way). */
static bool is_present(const signer_replica_keys *r, const key_id *k)
{
	return r->npresent && bsearch(k, r->present, r->npresent, sizeof(*k), id_cmp) != NULL;
}

/* Call with lock held for writing. */
static void add_present(signer_replica_keys *r, const key_id *k)
{
	if (is_present(r, k) || r->npresent >= PRESENT_MAX)
		return;
	key_id *g = realloc(r->present, (r->npresent + 1) * sizeof(*g));
	if (!g)
		return; /* looked up again next time */
	r->present = g;
	size_t at = 0;
	while (at < r->npresent && id_cmp(&g[at], k) < 0)
		at++;
	memmove(&g[at + 1], &g[at], (r->npresent - at) * sizeof(*g));
	g[at] = *k;
	r->npresent++;
}

static const absent_key *find_absent(const signer_replica_keys *r, const key_id *k)
{
	for (size_t i = 0; i < r->nabsent; i++)
		if (r->absent[i].key.id_len == k->len &&
		    memcmp(r->absent[i].key.id, k->id, k->len) == 0)
			return &r->absent[i];
	return NULL;
}

signet_err signer_replica_keys_new(signer_backups *b, signer_state *st, hsm_token *tok,
				   signer_audit *audit, const char *name, signer_replica_keys **out)
{
	if (!b || !st || !tok || !name || !out)
		return SIGNET_EINVAL;
	signer_replica_keys *r = calloc(1, sizeof(*r));
	if (!r)
		return SIGNET_ENOMEM;
	r->b = b;
	r->st = st;
	r->tok = tok;
	r->audit = audit;
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->who, sizeof(r->who), "replica:%s", r->name);
	pthread_mutex_init(&r->sync_mu, NULL);
	pthread_rwlock_init(&r->lock, NULL);
	pthread_mutex_init(&r->wake_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	*out = r;
	return SIGNET_OK;
}

void signer_replica_keys_free(signer_replica_keys *r)
{
	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->wake_mu);
		r->quit = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->wake_mu);
		pthread_join(r->thread, NULL);
	}
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->wake_mu);
	pthread_rwlock_destroy(&r->lock);
	pthread_mutex_destroy(&r->sync_mu);
	free(r->present);
	free(r->absent);
	free(r);
}

const char *signer_replica_keys_name(const signer_replica_keys *r)
{
	return r ? r->name : "";
}

/* The keys this replica must hold: its ZSKs, not another signer's, not
 * removed. */
static bool wanted(const signer_key *k)
{
	return strcmp(k->role, "zsk") == 0 && !k->foreign && k->id_len > 0 &&
	       k->state != SIGNER_KEY_REMOVED;
}

/* A restore starts (+1) or ends (-1): meanwhile no key is taken as present
 * by finding it in the token, since the one being restored is there before
 * it is proven (and is destroyed again if the proof fails). */
static void restoring(signer_replica_keys *r, int d)
{
	pthread_rwlock_wrlock(&r->lock);
	r->restoring = (unsigned)((int)r->restoring + d);
	if (d > 0)
		r->restores++;
	pthread_rwlock_unlock(&r->lock);
}

/* Restore k from its backup in the state; why gets the reason it cannot
 * be. Call with sync_mu held. */
static signet_err restore_from_state(signer_replica_keys *r, const signer_key *k, char *why,
				     size_t whylen)
{
	if (!signer_backups_domain(r->b, NULL)) {
		snprintf(why, whylen,
			 "this replica's token holds no backup domain, so no key made elsewhere "
			 "can be restored into it (signet-ceremony install-domain)");
		return SIGNET_ESTATE;
	}
	signer_backup_row *rows = NULL;
	size_t n = 0;
	signet_err ret = signer_state_list_backups(r->st, k->id, k->id_len, &rows, &n);
	if (ret != SIGNET_OK) {
		snprintf(why, whylen, "its backup cannot be read from the state (%s)",
			 signet_strerror(ret));
		return ret;
	}
	if (n == 0) {
		signer_backup_rows_free(rows, n);
		snprintf(why, whylen,
			 "no backup of it is stored in the state (made on a "
			 "replica without the backup domain?)");
		return SIGNET_ENOTFOUND;
	}
	signer_backup_file f;
	memset(&f, 0, sizeof(f));
	size_t at = (size_t)snprintf(f.name, sizeof(f.name), "state:zsk-");
	for (size_t i = 0; i < k->id_len && at + 2 < sizeof(f.name); i++)
		at += (size_t)snprintf(f.name + at, sizeof(f.name) - at, "%02x", k->id[i]);
	ret = sg_buf_append(&f.text, rows[0].text, rows[0].text_len);
	signer_backup_rows_free(rows, n);
	size_t restored = 0;
	char msg[400] = "";
	if (ret == SIGNET_OK) {
		restoring(r, 1);
		ret = signer_backups_restore(r->b, &f, 1, r->audit, r->who, &restored, msg,
					     sizeof(msg));
		restoring(r, -1);
	}
	sg_buf_free(&f.text);
	if (ret != SIGNET_OK)
		snprintf(why, whylen, "its restore failed: %s",
			 msg[0] ? msg : signet_strerror(ret));
	return ret;
}

signet_err signer_replica_keys_sync(signer_replica_keys *r, bool retry_failed, size_t *restored,
				    size_t *absent)
{
	if (!r)
		return SIGNET_EINVAL;
	size_t nrestored = 0;
	pthread_mutex_lock(&r->sync_mu);
	/* Read before the keys: a change made meanwhile moves it again, and
	 * the next round sees it. */
	uint64_t version = signer_state_version(r->st);
	signer_key *keys = NULL;
	size_t nk = 0;
	signet_err ret = signer_state_list_keys(r->st, NULL, 0, &keys, &nk);
	absent_key *abs = NULL;
	size_t nabs = 0;
	for (size_t i = 0; ret == SIGNET_OK && i < nk; i++) {
		const signer_key *k = &keys[i];
		if (!wanted(k))
			continue;
		key_id id = make_id(k->id, k->id_len);
		pthread_rwlock_rdlock(&r->lock);
		bool have = is_present(r, &id);
		const absent_key *was = find_absent(r, &id);
		absent_key prev;
		bool had_prev = was != NULL;
		if (was)
			prev = *was;
		pthread_rwlock_unlock(&r->lock);
		if (have)
			continue;
		char why[240] = "";
		hsm_key_info info;
		signet_err f = hsm_key_find(r->tok, k->id, k->id_len, &info, NULL, 0);
		bool tried = false;
		if (f == SIGNET_OK) {
			pthread_rwlock_wrlock(&r->lock);
			add_present(r, &id);
			pthread_rwlock_unlock(&r->lock);
			continue;
		}
		if (f != SIGNET_ENOTFOUND) {
			snprintf(why, sizeof(why), "the token does not answer (%s)",
				 signet_strerror(f));
		} else if (had_prev && prev.tried && !retry_failed && prev.version == version) {
			/* Failed at this version already: the same backup would
			 * fail again, and each try is an audit line. */
			snprintf(why, sizeof(why), "%s", prev.why);
			tried = true;
		} else {
			signet_err rr = restore_from_state(r, k, why, sizeof(why));
			pthread_rwlock_wrlock(&r->lock);
			if (rr == SIGNET_OK) {
				add_present(r, &id);
				r->counts.restored++;
			} else if (rr != SIGNET_ESTATE && rr != SIGNET_ENOTFOUND) {
				r->counts.failed++;
			}
			pthread_rwlock_unlock(&r->lock);
			if (rr == SIGNET_OK) {
				nrestored++;
				continue;
			}
			tried = rr != SIGNET_ESTATE && rr != SIGNET_ENOTFOUND;
			char zs[DNS_NAME_STR_MAX];
			(void)dns_name_to_str(&k->zone, zs, sizeof(zs));
			if (!had_prev || strcmp(prev.why, why) != 0)
				sg_log(SG_LOG_ERROR,
				       "replica %s lacks ZSK %u of %s (%s): %s; the zone is "
				       "refused here while it needs the key",
				       r->name, k->key_tag, zs, signer_key_state_name(k->state),
				       why);
		}
		absent_key *g = realloc(abs, (nabs + 1) * sizeof(*g));
		if (!g) {
			ret = SIGNET_ENOMEM;
			break;
		}
		abs = g;
		memset(&abs[nabs], 0, sizeof(abs[nabs]));
		abs[nabs].key = *k;
		snprintf(abs[nabs].why, sizeof(abs[nabs].why), "%s", why);
		abs[nabs].tried = tried;
		abs[nabs].version = version;
		nabs++;
	}
	free(keys);
	if (ret == SIGNET_OK) {
		pthread_rwlock_wrlock(&r->lock);
		free(r->absent);
		r->absent = abs;
		r->nabsent = nabs;
		r->synced_version = version;
		r->synced = true;
		pthread_rwlock_unlock(&r->lock);
		abs = NULL;
	}
	free(abs);
	pthread_mutex_unlock(&r->sync_mu);
	if (restored)
		*restored = nrestored;
	if (absent)
		*absent = nabs;
	return ret;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A round every interval at most: when the state moved, or when a caller
 * asked (poke) since the last one. A flood of refused calls asks often;
 * the rounds stay as rare as the timer's. */
static void *sync_main(void *arg)
{
	signer_replica_keys *r = arg;
	uint64_t last = mono_ms();
	pthread_mutex_lock(&r->wake_mu);
	while (!r->quit) {
		uint64_t due = last + r->interval_ms;
		if (mono_ms() < due) {
			struct timespec until = {(time_t)(due / 1000),
						 (long)(due % 1000) * 1000000L};
			pthread_cond_timedwait(&r->wake, &r->wake_mu, &until);
			continue;
		}
		bool poked = r->poke;
		r->poke = false;
		pthread_mutex_unlock(&r->wake_mu);
		pthread_rwlock_rdlock(&r->lock);
		bool moved = !r->synced || r->synced_version != signer_state_version(r->st);
		pthread_rwlock_unlock(&r->lock);
		if (moved || poked) {
			signet_err ret = signer_replica_keys_sync(r, false, NULL, NULL);
			if (ret != SIGNET_OK)
				sg_log(SG_LOG_WARNING, "replica %s: keys not checked: %s", r->name,
				       signet_strerror(ret));
		}
		last = mono_ms();
		pthread_mutex_lock(&r->wake_mu);
	}
	pthread_mutex_unlock(&r->wake_mu);
	return NULL;
}

signet_err signer_replica_keys_start(signer_replica_keys *r, unsigned interval_ms)
{
	if (!r || r->started)
		return SIGNET_EINVAL;
	r->interval_ms = interval_ms < 20 ? 20 : interval_ms;
	if (pthread_create(&r->thread, NULL, sync_main, r) != 0)
		return SIGNET_ENOMEM;
	r->started = true;
	return SIGNET_OK;
}

signet_err signer_replica_keys_restore_files(signer_replica_keys *r,
					     const signer_backup_file *files, size_t n,
					     const char *who, size_t *restored, char *errmsg,
					     size_t errlen)
{
	if (!r || !restored || !errmsg || errlen == 0)
		return SIGNET_EINVAL;
	pthread_mutex_lock(&r->sync_mu);
	restoring(r, 1);
	signet_err ret = signer_backups_restore(r->b, files, n, r->audit, who, restored, errmsg,
						errlen);
	restoring(r, -1);
	pthread_mutex_unlock(&r->sync_mu);
	if (*restored) {
		/* Absent keys it restored are found by the next round. */
		pthread_rwlock_wrlock(&r->lock);
		r->counts.restored += *restored;
		r->synced = false;
		pthread_rwlock_unlock(&r->lock);
		pthread_mutex_lock(&r->wake_mu);
		r->poke = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->wake_mu);
	}
	return ret;
}

signet_err signer_replica_keys_have(signer_replica_keys *r, const uint8_t *id, size_t id_len,
				    char *why, size_t whylen)
{
	if (!r || !id || id_len == 0 || id_len > HSM_ID_MAX)
		return SIGNET_EINVAL;
	key_id k = make_id(id, id_len);
	pthread_rwlock_rdlock(&r->lock);
	bool have = is_present(r, &k);
	const absent_key *a = have ? NULL : find_absent(r, &k);
	if (a && why)
		snprintf(why, whylen, "%s", a->why);
	pthread_rwlock_unlock(&r->lock);
	if (have)
		return SIGNET_OK;
	if (a) {
		/* Looked at again by the next round: the token may answer now,
		 * a backup may have been stored. */
		pthread_mutex_lock(&r->wake_mu);
		r->poke = true;
		pthread_mutex_unlock(&r->wake_mu);
		return SIGNET_ENOTFOUND;
	}
	/* A key the last round did not know (the state moved since): the token
	 * may have it (made here), else the thread restores it now. Found
	 * while no restore runs, and still none after: not a key half
	 * restored, unproven. */
	hsm_key_info info;
	pthread_rwlock_rdlock(&r->lock);
	bool quiet = r->restoring == 0;
	uint64_t started = r->restores;
	pthread_rwlock_unlock(&r->lock);
	if (quiet && hsm_key_find(r->tok, id, id_len, &info, NULL, 0) == SIGNET_OK) {
		pthread_rwlock_wrlock(&r->lock);
		bool still = r->restoring == 0 && r->restores == started;
		if (still)
			add_present(r, &k);
		pthread_rwlock_unlock(&r->lock);
		if (still)
			return SIGNET_OK;
	}
	if (why)
		snprintf(why, whylen,
			 "not yet restored into this replica's token (its restore "
			 "is under way)");
	pthread_mutex_lock(&r->wake_mu);
	r->poke = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->wake_mu);
	return SIGNET_ENOTFOUND;
}

void signer_replica_keys_zone(signer_replica_keys *r, const dns_name *zone, int64_t now,
			      size_t *absent, size_t *active, char *why, size_t whylen)
{
	size_t na = 0, nact = 0;
	if (why && whylen)
		why[0] = '\0';
	if (r && zone) {
		pthread_rwlock_rdlock(&r->lock);
		for (size_t i = 0; i < r->nabsent; i++) {
			const absent_key *a = &r->absent[i];
			if (!dns_name_equal(&a->key.zone, zone))
				continue;
			signer_key_state s = signer_key_state_at(&a->key, now);
			if (s == SIGNER_KEY_REMOVED)
				continue;
			na++;
			if (s == SIGNER_KEY_ACTIVE)
				nact++;
			if (why && whylen && (na == 1 || (s == SIGNER_KEY_ACTIVE && nact == 1)))
				snprintf(why, whylen, "ZSK %u (%s): %s", a->key.key_tag,
					 signer_key_state_name(s), a->why);
		}
		pthread_rwlock_unlock(&r->lock);
	}
	if (absent)
		*absent = na;
	if (active)
		*active = nact;
}

void signer_replica_keys_get_counts(signer_replica_keys *r, signer_replica_keys_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (!r)
		return;
	pthread_rwlock_rdlock(&r->lock);
	*out = r->counts;
	pthread_rwlock_unlock(&r->lock);
}

void signer_replica_keys_refused(signer_replica_keys *r)
{
	if (!r)
		return;
	pthread_rwlock_wrlock(&r->lock);
	r->counts.refused++;
	pthread_rwlock_unlock(&r->lock);
}
