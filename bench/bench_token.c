/* bench_token.c -- a throwaway SoftHSM2 token for the benchmarks. */
#include <dlfcn.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bench/bench_token.h"

/* A PIN of 24 random hex digits in locked memory. */
static signet_err new_pin(sg_secret **out)
{
	uint8_t raw[12];
	sg_buf hex = SG_BUF_INIT;
	signet_err ret = RAND_bytes(raw, sizeof(raw)) == 1 ? SIGNET_OK : SIGNET_ECRYPTO;
	if (ret == SIGNET_OK)
		ret = sg_hex_encode(raw, sizeof(raw), &hex);
	if (ret == SIGNET_OK)
		ret = sg_secret_new(hex.len, out);
	if (ret == SIGNET_OK) {
		memcpy((*out)->data, hex.data, hex.len);
		(*out)->len = hex.len;
		(*out)->data[hex.len] = '\0';
	}
	sg_wipe(raw, sizeof(raw));
	if (hex.data)
		sg_wipe(hex.data, hex.len);
	sg_buf_free(&hex);
	return ret;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

signet_err bench_token_create(bench_token **out)
{
	char hsmerr[HSM_ERRMSG_MAX] = "";
	*out = NULL;
	const char *module = getenv("SIGNET_SOFTHSM_MODULE");
	const char *tmp = getenv("TMPDIR");
	bench_token *t = calloc(1, sizeof(*t));
	sg_secret *so = NULL, *user = NULL;
	sg_buf conf = SG_BUF_INIT;
	char path[512], label[33];
	const char *step = "SIGNET_SOFTHSM_MODULE is not set";
	signet_err ret = SIGNET_ENOTFOUND;
	if (!t)
		return SIGNET_ENOMEM;
	if (!module || !*module)
		goto fail;
	step = "temporary directory";
	ret = SIGNET_EIO;
	snprintf(t->dir, sizeof(t->dir), "%s/signet-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(t->dir)) {
		t->dir[0] = '\0';
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/tokens", t->dir);
	if (mkdir(path, 0700) != 0)
		goto fail;
	step = "softhsm2.conf";
	ret = sg_buf_printf(&conf,
			    "directories.tokendir = %s\nobjectstore.backend = file\n"
			    "log.level = ERROR\n",
			    path);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", t->dir);
	if (ret == SIGNET_OK)
		ret = sg_file_write_atomic(path, conf.data, conf.len, 0600);
	if (ret == SIGNET_OK && setenv("SOFTHSM2_CONF", path, 1) != 0)
		ret = SIGNET_EIO;
	if (ret != SIGNET_OK)
		goto fail;
	step = "random PINs";
	if ((ret = new_pin(&so)) != SIGNET_OK || (ret = new_pin(&user)) != SIGNET_OK)
		goto fail;
	snprintf(label, sizeof(label), "signet-bench-%ld", (long)getpid());
	step = "module or token";
	if ((ret = hsm_open(module, &t->ctx, hsmerr, sizeof(hsmerr))) != SIGNET_OK ||
	    (ret = hsm_token_initialize(t->ctx, label, so, user, hsmerr, sizeof(hsmerr))) !=
		    SIGNET_OK ||
	    (ret = hsm_token_open(t->ctx, label, NULL, user, &t->tok, hsmerr, sizeof(hsmerr))) !=
		    SIGNET_OK)
		goto fail;
	/* The raw cells call the module's own function list on the token's
	 * slot, where hsm/ has logged in already. */
	step = "the module's function list";
	ret = SIGNET_EHSM;
	hsm_token_desc d;
	CK_C_GetFunctionList get = NULL;
	t->dl = dlopen(module, RTLD_NOW | RTLD_NOLOAD);
	if (t->dl)
		*(void **)&get = dlsym(t->dl, "C_GetFunctionList");
	if (!get || get(&t->p11) != CKR_OK ||
	    hsm_token_describe(t->tok, &d, hsmerr, sizeof(hsmerr)) != SIGNET_OK)
		goto fail;
	t->slot = d.slot;
	sg_secret_free(so);
	sg_secret_free(user);
	sg_buf_free(&conf);
	*out = t;
	return SIGNET_OK;
fail:
	fprintf(stderr, "bench: token: %s: %s (%s)\n", step, signet_strerror(ret), hsmerr);
	sg_secret_free(so);
	sg_secret_free(user);
	sg_buf_free(&conf);
	bench_token_destroy(t);
	return ret;
}

void bench_token_destroy(bench_token *t)
{
	if (!t)
		return;
	hsm_token_close(t->tok);
	if (t->dl)
		dlclose(t->dl);
	hsm_close(t->ctx);
	if (t->dir[0] && nftw(t->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "bench: could not remove %s\n", t->dir);
	free(t);
}
