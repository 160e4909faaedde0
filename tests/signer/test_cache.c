/* test_cache.c -- the RRSIG cache: hits and misses, LRU eviction order,
 * replacement, a disabled cache, and use from several threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "signer/signer.h"

static void key_of(unsigned i, uint8_t key[32])
{
	memset(key, 0, 32);
	memcpy(key, &i, sizeof(i));
	key[31] = (uint8_t)(i * 7);
}

static void test_lru(void **state)
{
	(void)state;
	signer_cache *c = NULL;
	assert_int_equal(signer_cache_new(3, &c), SIGNET_OK);
	uint8_t k[32];
	sg_buf out = SG_BUF_INIT;
	for (unsigned i = 0; i < 3; i++) {
		key_of(i, k);
		uint8_t v = (uint8_t)(100 + i);
		assert_int_equal(signer_cache_put(c, k, &v, 1), SIGNET_OK);
	}
	/* touch 0 so that 1 is the least recently used */
	key_of(0, k);
	assert_int_equal(signer_cache_get(c, k, &out), SIGNET_OK);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 100);
	key_of(3, k);
	uint8_t v3[5] = {1, 2, 3, 4, 5};
	assert_int_equal(signer_cache_put(c, k, v3, sizeof(v3)), SIGNET_OK);
	key_of(1, k);
	sg_buf_reset(&out);
	assert_int_equal(signer_cache_get(c, k, &out), SIGNET_ENOTFOUND);
	assert_int_equal(out.len, 0);
	for (unsigned i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		key_of(i, k);
		sg_buf_reset(&out);
		assert_int_equal(signer_cache_get(c, k, &out), SIGNET_OK);
	}
	assert_memory_equal(out.data, v3, 5);
	/* replacing keeps one entry */
	uint8_t nv = 42;
	assert_int_equal(signer_cache_put(c, k, &nv, 1), SIGNET_OK);
	sg_buf_reset(&out);
	assert_int_equal(signer_cache_get(c, k, &out), SIGNET_OK);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 42);
	signer_cache_stats st;
	signer_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 5);
	sg_buf_free(&out);
	signer_cache_free(c);
}

static void test_disabled_and_args(void **state)
{
	(void)state;
	signer_cache *c = NULL;
	assert_int_equal(signer_cache_new(0, &c), SIGNET_OK);
	uint8_t k[32] = {1};
	uint8_t v = 1;
	sg_buf out = SG_BUF_INIT;
	assert_int_equal(signer_cache_put(c, k, &v, 1), SIGNET_OK);
	assert_int_equal(signer_cache_get(c, k, &out), SIGNET_ENOTFOUND);
	assert_int_equal(signer_cache_put(NULL, k, &v, 1), SIGNET_EINVAL);
	assert_int_equal(signer_cache_get(c, NULL, &out), SIGNET_EINVAL);
	assert_int_equal(signer_cache_new(1000000000, &c), SIGNET_ERANGE);
	assert_int_equal(signer_cache_new(1, NULL), SIGNET_EINVAL);
	signer_cache_free(c);
	signer_cache_free(NULL);
}

/* A full cache stores new RDATA in the entry it evicts when that has room
 * and allocates afresh when not: either way the least recently used entry
 * goes, the others stay, and every key gives back exactly its own octets. */
static void test_evict_reuse(void **state)
{
	(void)state;
	signer_cache *c = NULL;
	assert_int_equal(signer_cache_new(3, &c), SIGNET_OK);
	uint8_t k[32], v[300];
	sg_buf out = SG_BUF_INIT;
	/* lengths: fits the victim's room, needs more, shrinks, empty */
	const size_t lens[] = {100, 100, 100, 90, 250, 20, 0, 100, 299};
	const size_t n = sizeof(lens) / sizeof(lens[0]);
	for (unsigned i = 0; i < n; i++) {
		key_of(i, k);
		memset(v, (int)(i + 1), sizeof(v));
		assert_int_equal(signer_cache_put(c, k, lens[i] ? v : NULL, lens[i]), SIGNET_OK);
		for (unsigned j = 0; j <= i; j++) {
			key_of(j, k);
			sg_buf_reset(&out);
			signet_err want = j + 3 > i ? SIGNET_OK : SIGNET_ENOTFOUND;
			assert_int_equal(signer_cache_get(c, k, &out), want);
			if (want != SIGNET_OK)
				continue;
			assert_int_equal(out.len, lens[j]);
			for (size_t b = 0; b < out.len; b++)
				assert_int_equal(out.data[b], j + 1);
		}
	}
	signer_cache_stats st;
	signer_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, n - 3);
	/* the lookups above touched the entries oldest first, so the order of
	 * use is unchanged: the next put evicts key n-3 */
	key_of(100, k);
	assert_int_equal(signer_cache_put(c, k, v, 10), SIGNET_OK);
	key_of((unsigned)n - 3, k);
	sg_buf_reset(&out);
	assert_int_equal(signer_cache_get(c, k, &out), SIGNET_ENOTFOUND);
	key_of((unsigned)n - 1, k);
	assert_int_equal(signer_cache_get(c, k, &out), SIGNET_OK);
	sg_buf_free(&out);
	signer_cache_free(c);
}

static void *hammer(void *arg)
{
	signer_cache *c = arg;
	sg_buf out = SG_BUF_INIT;
	for (unsigned i = 0; i < 20000; i++) {
		uint8_t k[32];
		key_of(i % 300, k);
		uint8_t v[8];
		memset(v, (int)(i % 300), sizeof(v));
		sg_buf_reset(&out);
		if (signer_cache_get(c, k, &out) == SIGNET_OK) {
			/* whatever thread stored it, the value belongs to the key */
			if (out.len != 8 || out.data[0] != (uint8_t)(i % 300))
				return (void *)1;
		} else if (signer_cache_put(c, k, v, sizeof(v)) != SIGNET_OK) {
			return (void *)1;
		}
	}
	sg_buf_free(&out);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	signer_cache *c = NULL;
	assert_int_equal(signer_cache_new(128, &c), SIGNET_OK);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, c), 0);
	for (int i = 0; i < 4; i++) {
		void *r = NULL;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	signer_cache_stats st;
	signer_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 128);
	assert_true(st.evictions > 0);
	signer_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_disabled_and_args),
		cmocka_unit_test(test_evict_reuse),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
