/* cache.c -- the bounded LRU map from (key, signed data) digests to RRSIG
 * RDATA, so unchanged RRsets cost no HSM operation. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

/* One allocation per entry, the RDATA after the links, its room rounded
 * up to RDATA_ROUND octets. A full cache stores a new RRSIG in the entry it
 * evicts when it fits, as it nearly always does (a zone's RRSIGs differ in
 * length by a few octets at most): then a miss costs no malloc and no free,
 * and the long-lived entries are not interleaved with the HSM library's
 * short-lived allocations on the signing threads' heaps. */
#define RDATA_ROUND 32

typedef struct entry {
	uint8_t key[32];
	size_t len;
	size_t room;               /* octets allocated for rdata */
	struct entry *hnext;       /* next in the hash bucket */
	struct entry *prev, *next; /* LRU list: head is the most recent */
	uint8_t rdata[];
} entry;

struct signer_cache {
	pthread_mutex_t lock;
	size_t capacity;
	size_t count;
	size_t nbuckets; /* a power of two */
	entry **buckets;
	entry *head, *tail;
	signer_cache_stats stats;
};

signet_err signer_cache_new(size_t capacity, signer_cache **out)
{
	if (!out)
		return SIGNET_EINVAL;
	if (capacity > 100000000)
		return SIGNET_ERANGE;
	signer_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return SIGNET_ENOMEM;
	c->capacity = capacity;
	c->nbuckets = 16;
	while (c->nbuckets < capacity)
		c->nbuckets <<= 1;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return SIGNET_ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return SIGNET_OK;
}

void signer_cache_free(signer_cache *c)
{
	if (!c)
		return;
	for (entry *e = c->head; e;) {
		entry *n = e->next;
		free(e);
		e = n;
	}
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The key is a SHA-256 output, so its first octets index well. */
static size_t bucket_of(const signer_cache *c, const uint8_t key[32])
{
	size_t h = 0;
	memcpy(&h, key, sizeof(h));
	return h & (c->nbuckets - 1);
}

static entry **find_slot(signer_cache *c, const uint8_t key[32])
{
	entry **pp = &c->buckets[bucket_of(c, key)];
	while (*pp && memcmp((*pp)->key, key, 32) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

static void lru_unlink(signer_cache *c, entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(signer_cache *c, entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

signet_err signer_cache_get(signer_cache *c, const uint8_t key[32], sg_buf *out)
{
	if (!c || !key || !out)
		return SIGNET_EINVAL;
	pthread_mutex_lock(&c->lock);
	entry *e = *find_slot(c, key);
	signet_err ret = SIGNET_ENOTFOUND;
	if (e) {
		ret = sg_buf_append(out, e->rdata, e->len);
		lru_unlink(c, e);
		lru_push_front(c, e);
		c->stats.hits++;
	} else {
		c->stats.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

signet_err signer_cache_put(signer_cache *c, const uint8_t key[32], const uint8_t *rdata,
			    size_t len)
{
	if (!c || !key || (!rdata && len))
		return SIGNET_EINVAL;
	if (c->capacity == 0)
		return SIGNET_OK;
	if (len > SIZE_MAX - sizeof(entry) - RDATA_ROUND)
		return SIGNET_ERANGE;
	pthread_mutex_lock(&c->lock);
	entry **slot = find_slot(c, key);
	entry *e = c->tail;
	if (!*slot && c->count >= c->capacity && e->room >= len) {
		/* Full, and the least recently used entry has room: it becomes
		 * the new one in place. */
		lru_unlink(c, e);
		entry **op = find_slot(c, e->key);
		*op = e->hnext;
		c->stats.evictions++;
		slot = find_slot(c, key); /* the bucket chain may have changed */
		memcpy(e->key, key, 32);
		e->len = len;
		if (len)
			memcpy(e->rdata, rdata, len);
		e->hnext = *slot;
		*slot = e;
		lru_push_front(c, e);
		pthread_mutex_unlock(&c->lock);
		return SIGNET_OK;
	}
	pthread_mutex_unlock(&c->lock);
	/* Otherwise built outside the lock; what it replaces or evicts is
	 * freed outside it too. */
	size_t room = (len + RDATA_ROUND - 1) / RDATA_ROUND * RDATA_ROUND;
	e = malloc(sizeof(*e) + room);
	if (!e)
		return SIGNET_ENOMEM;
	memcpy(e->key, key, 32);
	e->len = len;
	e->room = room;
	if (len)
		memcpy(e->rdata, rdata, len);
	entry *gone = NULL;
	pthread_mutex_lock(&c->lock);
	slot = find_slot(c, key);
	if (*slot) {
		gone = *slot;
		*slot = gone->hnext;
		lru_unlink(c, gone);
		c->count--;
	} else if (c->count >= c->capacity) {
		gone = c->tail;
		lru_unlink(c, gone);
		entry **op = find_slot(c, gone->key);
		*op = gone->hnext;
		c->count--;
		c->stats.evictions++;
		slot = find_slot(c, key); /* the bucket chain may have changed */
	}
	e->hnext = *slot;
	*slot = e;
	lru_push_front(c, e);
	c->count++;
	pthread_mutex_unlock(&c->lock);
	free(gone);
	return SIGNET_OK;
}

void signer_cache_get_stats(signer_cache *c, signer_cache_stats *out)
{
	if (!c || !out)
		return;
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->entries = c->count;
	pthread_mutex_unlock(&c->lock);
}
