/* wrap_kat.c -- a known-answer check of the module's CKM_AES_KEY_WRAP_PAD
 * before a backup domain goes into its token.
 *
 * Modules disagree on what CKM_AES_KEY_WRAP_PAD is (docs/HSM.md):
 * SoftHSM2 2.6.1 computes RFC 5649 of the input zero-padded to a multiple
 * of 8 octets, PKCS#11 2.40 and NSS's softokn RFC 3394 after PKCS#7
 * padding, and a module may also do RFC 5649 proper (PKCS#11 3.0's
 * CKM_AES_KEY_WRAP_KWP). signet's backups are the first; a token of
 * another variant would write backups no other token reads, so it gets no
 * domain. A 20-octet input tells the three apart. */
#include <string.h>

#include "hsm/internal.h"

/* The KEK is the octets 0x00..0x1f (AES-256, as the domain key is); the
 * input is the 20-octet key of RFC 5649's second example. The expected
 * output is RFC 5649 of the input followed by four zero octets under that
 * KEK, computed with OpenSSL's EVP_aes_256_wrap_pad (tests/hsm/test_absent.c
 * computes it again, and the other two variants, which differ). */
static const uint8_t kat_input[20] = {0xc3, 0x7b, 0x7e, 0x64, 0x92, 0x58, 0x43, 0x40, 0xbe, 0xd1,
				      0x22, 0x07, 0x80, 0x89, 0x41, 0x15, 0x50, 0x68, 0xf7, 0x38};
static const uint8_t kat_expected[32] = {0x43, 0x16, 0x32, 0xe1, 0x7c, 0x16, 0x51, 0x3f,
					 0xdc, 0xea, 0x0a, 0x3a, 0xf7, 0xb1, 0x46, 0x1d,
					 0x1e, 0x80, 0xcd, 0x87, 0x05, 0xc1, 0x01, 0x21,
					 0x86, 0x20, 0x1d, 0xc7, 0x23, 0x1c, 0x44, 0x92};

signet_err hsm_wrap_pad_kat(hsm_ctx *ctx, CK_SESSION_HANDLE h, const char *serial, hsm_errbuf *eb)
{
	CK_FUNCTION_LIST *fn = ctx->fn;
	uint8_t kek_value[32];
	for (size_t i = 0; i < sizeof(kek_value); i++)
		kek_value[i] = (uint8_t)i;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES, generic = CKK_GENERIC_SECRET;
	/* Session objects, public (an SO session makes no other), known to
	 * everyone: nothing of the token's is used or left behind. */
	CK_ATTRIBUTE kek_tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &aes, sizeof(aes)},
		{CKA_TOKEN, &no, sizeof(no)},   {CKA_PRIVATE, &no, sizeof(no)},
		{CKA_WRAP, &yes, sizeof(yes)},  {CKA_VALUE, kek_value, sizeof(kek_value)},
	};
	CK_ATTRIBUTE in_tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_KEY_TYPE, &generic, sizeof(generic)},
		{CKA_TOKEN, &no, sizeof(no)},
		{CKA_PRIVATE, &no, sizeof(no)},
		{CKA_SENSITIVE, &no, sizeof(no)},
		{CKA_EXTRACTABLE, &yes, sizeof(yes)},
		{CKA_VALUE, (void *)kat_input, sizeof(kat_input)},
	};
	CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE, in = CK_INVALID_HANDLE;
	signet_err err = SIGNET_OK;
	CK_RV rv = fn->C_CreateObject(h, kek_tmpl, sizeof(kek_tmpl) / sizeof(kek_tmpl[0]), &kek);
	if (rv == CKR_OK)
		rv = fn->C_CreateObject(h, in_tmpl, sizeof(in_tmpl) / sizeof(in_tmpl[0]), &in);
	if (rv != CKR_OK)
		err = hsm_rv_is_fault(rv) ? hsm_fail_rv(eb, "C_CreateObject", rv,
							"known-answer keys in token %s", serial)
					  : hsm_fail(eb, SIGNET_EUNSUPPORTED,
						     "token %s: no session AES and generic secret "
						     "keys for the CKM_AES_KEY_WRAP_PAD check (%s)",
						     serial, hsm_rv_name(rv));
	uint8_t out[64];
	CK_ULONG outlen = sizeof(out);
	if (err == SIGNET_OK) {
		CK_MECHANISM m = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
		rv = fn->C_WrapKey(h, &m, kek, in, out, &outlen);
		if (rv != CKR_OK)
			err = hsm_rv_is_fault(rv)
				      ? hsm_fail_rv(eb, "C_WrapKey", rv, "known answer in token %s",
						    serial)
				      : hsm_fail(eb, SIGNET_EUNSUPPORTED,
						 "token %s: CKM_AES_KEY_WRAP_PAD of a known key "
						 "fails (%s)",
						 serial, hsm_rv_name(rv));
	}
	if (err == SIGNET_OK &&
	    (outlen != sizeof(kat_expected) || memcmp(out, kat_expected, outlen) != 0))
		err = hsm_fail(eb, SIGNET_EUNSUPPORTED,
			       "token %s: its CKM_AES_KEY_WRAP_PAD is not the variant signet's "
			       "backups are (RFC 5649 of the key zero-padded to a multiple of 8, "
			       "docs/HSM.md): a known key wraps to %lu other octets; no domain "
			       "installed",
			       serial, (unsigned long)outlen);
	if (in != CK_INVALID_HANDLE)
		(void)fn->C_DestroyObject(h, in);
	if (kek != CK_INVALID_HANDLE)
		(void)fn->C_DestroyObject(h, kek);
	return err;
}
