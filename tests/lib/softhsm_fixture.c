/* softhsm_fixture.c -- a real SoftHSM2 token in a temporary directory, for tests. */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "tests/lib/softhsm_fixture.h"
#include "tests/lib/tmpdir.h"

char shf_errmsg[HSM_ERRMSG_MAX];

#define PIN_OCTETS 12  /* random octets per PIN, hex encoded */


static signet_err random_pin(sg_secret **out)
{
	uint8_t raw[PIN_OCTETS];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return SIGNET_ECRYPTO;
	signet_err err = sg_secret_new(2 * sizeof(raw), out);
	if (err != SIGNET_OK)
		return err;
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(raw); i++) {
		(*out)->data[2 * i] = (uint8_t)hex[raw[i] >> 4];
		(*out)->data[2 * i + 1] = (uint8_t)hex[raw[i] & 15];
	}
	(*out)->len = 2 * sizeof(raw);
	(*out)->data[(*out)->len] = '\0';
	sg_wipe(raw, sizeof(raw));
	return SIGNET_OK;
}

static signet_err fail(softhsm_fixture *f, signet_err err, const char *what)
{
	fprintf(stderr, "softhsm fixture: %s: %s (%s)\n", what, signet_errname(err),
		shf_errmsg);
	softhsm_fixture_destroy(f);
	return err;
}

int softhsm_fixture_impl(softhsm_impl *out)
{
	const char *v = getenv("SIGNET_TEST_PKCS11");
	if (v == NULL || v[0] == '\0' || strcmp(v, "softhsm2") == 0) {
		*out = SOFTHSM_IMPL_SOFTHSM2;
		return 0;
	}
	if (strcmp(v, "softokn") == 0) {
		*out = SOFTHSM_IMPL_SOFTOKN;
		return 0;
	}
	fprintf(stderr, "softhsm fixture: SIGNET_TEST_PKCS11='%.40s' is neither softhsm2 nor "
		"softokn\n", v);
	return -1;
}

signet_err softhsm_fixture_create(bool open_token, softhsm_fixture **out)
{
	softhsm_impl impl;
	if (out != NULL)
		*out = NULL;
	if (softhsm_fixture_impl(&impl) != 0)
		return SIGNET_EINVAL;
	return softhsm_fixture_create_impl(impl, open_token, out);
}

static signet_err softhsm2_prepare(softhsm_fixture *f)
{
	snprintf(f->conf, sizeof(f->conf), "%s/softhsm2.conf", f->dir);
	snprintf(f->tokendir, sizeof(f->tokendir), "%s/tokens", f->dir);
	if (mkdir(f->tokendir, 0700) != 0)
		return fail(f, SIGNET_EIO, "mkdir tokens");
	sg_buf conf = SG_BUF_INIT;
	signet_err err = sg_buf_printf(&conf, "directories.tokendir = %s\n"
				       "objectstore.backend = file\n"
				       "log.level = ERROR\n", f->tokendir);
	if (err == SIGNET_OK)
		err = sg_file_write_atomic(f->conf, conf.data, conf.len, 0600);
	sg_buf_free(&conf);
	if (err != SIGNET_OK)
		return fail(f, err, "write softhsm2.conf");
	if (setenv("SOFTHSM2_CONF", f->conf, 1) != 0)
		return fail(f, SIGNET_EIO, "setenv SOFTHSM2_CONF");
	err = hsm_open(f->module, &f->ctx, HSM_ERR);
	if (err != SIGNET_OK)
		return fail(f, err, "hsm_open");
	err = hsm_token_initialize(f->ctx, f->label, f->so_pin, f->user_pin, HSM_ERR);
	if (err != SIGNET_OK)
		return fail(f, err, "hsm_token_initialize");
	return SIGNET_OK;
}

/* softokn's database token: the label comes from the library parameters, and
 * its user PIN is set by an SO login with the empty PIN (the only SO login
 * softokn knows, possible only while no user PIN is set) and C_InitPIN. */
static signet_err softokn_prepare(softhsm_fixture *f)
{
	snprintf(f->tokendir, sizeof(f->tokendir), "%s/nssdb", f->dir);
	if (mkdir(f->tokendir, 0700) != 0)
		return fail(f, SIGNET_EIO, "mkdir nssdb");
	if (strchr(f->tokendir, '\'') != NULL)
		return fail(f, SIGNET_EINVAL, "a quote in the temporary directory's name");
	if ((size_t)snprintf(f->init_args, sizeof(f->init_args),
			     "configdir='sql:%s' certPrefix='' keyPrefix='' secmod='secmod.db' "
			     "flags=noModDB dbTokenDescription='%s'", f->tokendir, f->label) >=
	    sizeof(f->init_args))
		return fail(f, SIGNET_ERANGE, "softokn parameters");
	signet_err err = hsm_open_args(f->module, f->init_args, &f->ctx, HSM_ERR);
	if (err != SIGNET_OK)
		return fail(f, err, "hsm_open_args");
	void *dl = dlopen(f->module, RTLD_NOW | RTLD_NOLOAD);
	CK_FUNCTION_LIST *p11 = NULL;
	CK_C_GetFunctionList get = NULL;
	if (dl != NULL)
		*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&p11) != CKR_OK) {
		if (dl != NULL)
			dlclose(dl);
		return fail(f, SIGNET_EHSM, "softokn C_GetFunctionList");
	}
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	CK_RV rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
	CK_SLOT_ID slot = 0;
	bool found = false;
	for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
		CK_TOKEN_INFO ti;
		char label[33];
		if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		memcpy(label, ti.label, 32);
		label[32] = '\0';
		for (int k = 31; k >= 0 && label[k] == ' '; k--)
			label[k] = '\0';
		if (strcmp(label, f->label) == 0) {
			slot = slots[i];
			found = true;
		}
	}
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	if (found)
		rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	if (found && rv == CKR_OK)
		rv = p11->C_Login(h, CKU_SO, (CK_UTF8CHAR *)"", 0);
	if (found && rv == CKR_OK)
		rv = p11->C_InitPIN(h, f->user_pin->data, f->user_pin->len);
	if (h != CK_INVALID_HANDLE) {
		(void)p11->C_Logout(h);
		(void)p11->C_CloseSession(h);
	}
	dlclose(dl);
	if (!found)
		return fail(f, SIGNET_ENOTFOUND, "softokn's database token is not listed");
	if (rv != CKR_OK) {
		fprintf(stderr, "softhsm fixture: softokn SO login or C_InitPIN: %s\n",
			hsm_rv_name(rv));
		return fail(f, SIGNET_EHSM, "softokn token set-up");
	}
	return SIGNET_OK;
}

signet_err softhsm_fixture_create_impl(softhsm_impl impl, bool open_token,
				       softhsm_fixture **out)
{
	if (out == NULL)
		return SIGNET_EINVAL;
	*out = NULL;
	const char *var = impl == SOFTHSM_IMPL_SOFTOKN ? "SIGNET_SOFTOKN_MODULE"
						       : "SIGNET_SOFTHSM_MODULE";
	const char *module = getenv(var);
	if (module == NULL || module[0] == '\0') {
		fprintf(stderr, "softhsm fixture: %s is not set (run the test through ctest)\n",
			var);
		return SIGNET_ENOTFOUND;
	}
	softhsm_fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return SIGNET_ENOMEM;
	f->impl = impl;
	snprintf(f->module, sizeof(f->module), "%s", module);
	if (test_tmpdir_make("signet-hsm", f->dir, sizeof(f->dir)) != 0)
		return fail(f, errno == ENAMETOOLONG ? SIGNET_ERANGE : SIGNET_EIO, "mkdtemp");

	signet_err err = random_pin(&f->so_pin);
	if (err == SIGNET_OK)
		err = random_pin(&f->user_pin);
	if (err != SIGNET_OK)
		return fail(f, err, "random PINs");
	uint8_t r[4];
	if (RAND_bytes(r, sizeof(r)) != 1)
		return fail(f, SIGNET_ECRYPTO, "random label");
	snprintf(f->label, sizeof(f->label), "signet-test-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);

	err = impl == SOFTHSM_IMPL_SOFTOKN ? softokn_prepare(f) : softhsm2_prepare(f);
	if (err != SIGNET_OK)
		return err; /* f is gone */

	/* Our own reference on the module, whose function list the tests use
	 * for what signet must never do itself (extractable keys, reading a
	 * private value, closing a session behind its back). */
	/* NODELETE keeps the module mapped after hsm_close, so that leak
	 * reports can still name it (see __lsan_default_suppressions). */
	f->dl = dlopen(f->module, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	if (f->dl == NULL)
		return fail(f, SIGNET_EHSM, "dlopen RTLD_NOLOAD");
	CK_C_GetFunctionList get = NULL;
	*(void **)&get = dlsym(f->dl, "C_GetFunctionList");
	if (get == NULL || get(&f->p11) != CKR_OK)
		return fail(f, SIGNET_EHSM, "C_GetFunctionList");

	hsm_token_desc *d = NULL;
	size_t n = 0;
	err = hsm_list_tokens(f->ctx, &d, &n, HSM_ERR);
	if (err != SIGNET_OK)
		return fail(f, err, "hsm_list_tokens");
	for (size_t i = 0; i < n; i++) {
		if (d[i].initialized && strcmp(d[i].label, f->label) == 0) {
			snprintf(f->serial, sizeof(f->serial), "%s", d[i].serial);
			f->slot = d[i].slot;
		}
	}
	free(d);
	if (f->serial[0] == '\0')
		return fail(f, SIGNET_ENOTFOUND, "the new token is not listed");
	if (open_token) {
		err = hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &f->tok, HSM_ERR);
		if (err != SIGNET_OK)
			return fail(f, err, "hsm_token_open");
	}
	*out = f;
	return SIGNET_OK;
}

void softhsm_fixture_destroy(softhsm_fixture *f)
{
	if (f == NULL)
		return;
	hsm_token_close(f->tok);
	if (f->dl != NULL)
		dlclose(f->dl);
	hsm_close(f->ctx);
	sg_secret_free(f->so_pin);
	sg_secret_free(f->user_pin);
	if (test_tmpdir_remove(f->dir) != 0)
		fprintf(stderr, "softhsm fixture: could not remove %s\n", f->dir);
	free(f);
}

signet_err softhsm_fixture_open_module(const softhsm_fixture *f, hsm_ctx **out)
{
	if (f == NULL)
		return SIGNET_EINVAL;
	return hsm_open_args(f->module, f->init_args[0] != '\0' ? f->init_args : NULL, out, HSM_ERR);
}

signet_err softhsm_fixture_pin_file(softhsm_fixture *f, const char *name, char *path,
				    size_t pathlen)
{
	if (f == NULL || name == NULL || path == NULL || strchr(name, '/') != NULL)
		return SIGNET_EINVAL;
	if ((size_t)snprintf(path, pathlen, "%s/%s", f->dir, name) >= pathlen)
		return SIGNET_ERANGE;
	return sg_file_write_atomic(path, f->user_pin->data, f->user_pin->len, 0600);
}

int softhsm_setup(void **state)
{
	softhsm_fixture *f;
	if (softhsm_fixture_create(true, &f) != SIGNET_OK)
		return -1;
	*state = f;
	return 0;
}

int softhsm_setup_closed(void **state)
{
	softhsm_fixture *f;
	if (softhsm_fixture_create(false, &f) != SIGNET_OK)
		return -1;
	*state = f;
	return 0;
}

int softhsm_teardown(void **state)
{
	softhsm_fixture_destroy(*state);
	*state = NULL;
	return 0;
}
