/* secret.c -- locked, undumpable, wiped memory for PINs, passphrases, shares. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/common.h"

void sg_wipe(void *p, size_t n)
{
	if (p != NULL && n != 0)
		OPENSSL_cleanse(p, n);
}

signet_err sg_secret_new(size_t cap, sg_secret **out)
{
	if (out == NULL || cap == 0 || cap > SG_SECRET_MAX)
		return SIGNET_EINVAL;
	*out = NULL;
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	/* Whole pages, so mlock and madvise cover exactly this allocation and
	 * nothing else shares its pages. One extra byte for the NUL. */
	size_t size = (cap + 1 + (size_t)page - 1) / (size_t)page * (size_t)page;
	sg_secret *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SIGNET_ENOMEM;
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		free(s);
		return SIGNET_ENOMEM;
	}
	/* Best effort: RLIMIT_MEMLOCK may refuse for unprivileged users; the
	 * secret is still wiped and kept out of core dumps. */
	(void)mlock(mem, size);
	(void)madvise(mem, size, MADV_DONTDUMP);
	s->data = mem;
	s->cap = size;
	s->len = 0;
	*out = s;
	return SIGNET_OK;
}

void sg_secret_free(sg_secret *s)
{
	if (s == NULL)
		return;
	if (s->data != NULL) {
		sg_wipe(s->data, s->cap);
		munlock(s->data, s->cap);
		munmap(s->data, s->cap);
	}
	sg_wipe(s, sizeof(*s));
	free(s);
}
