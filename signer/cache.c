/* cache.c -- the bounded LRU map from (key, signed data) digests to RRSIG
 * RDATA, so unchanged RRsets cost no HSM operation. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

typedef struct entry {
	uint8_t key[32];
	uint8_t *rdata;           /* owned */
	size_t len;
	struct entry *hnext;      /* next in the hash bucket */
	struct entry *prev, *next; /* LRU list: head is the most recent */
} entry;

struct signer_cache {
	pthread_mutex_t lock;
	size_t capacity;
	size_t count;
	size_t nbuckets;          /* a power of two */
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
		free(e->rdata);
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

signet_err signer_cache_put(signer_cache *c, const uint8_t key[32],
			    const uint8_t *rdata, size_t len)
{
	if (!c || !key || (!rdata && len))
		return SIGNET_EINVAL;
	if (c->capacity == 0)
		return SIGNET_OK;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return SIGNET_ENOMEM;
	if (len)
		memcpy(copy, rdata, len);
	pthread_mutex_lock(&c->lock);
	entry **slot = find_slot(c, key);
	entry *e = *slot;
	if (e) {
		free(e->rdata);
		e->rdata = copy;
		e->len = len;
		lru_unlink(c, e);
		lru_push_front(c, e);
		pthread_mutex_unlock(&c->lock);
		return SIGNET_OK;
	}
	if (c->count >= c->capacity) {
		entry *old = c->tail;
		lru_unlink(c, old);
		entry **op = find_slot(c, old->key);
		*op = old->hnext;
		free(old->rdata);
		free(old);
		c->count--;
		c->stats.evictions++;
		slot = find_slot(c, key);  /* the bucket chain may have changed */
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		free(copy);
		return SIGNET_ENOMEM;
	}
	memcpy(e->key, key, 32);
	e->rdata = copy;
	e->len = len;
	e->hnext = *slot;
	*slot = e;
	lru_push_front(c, e);
	c->count++;
	pthread_mutex_unlock(&c->lock);
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
