/* key_checks.c -- whether a private key may be used, and proof that the token
 * will not reveal it. */
#include <stdlib.h>

#include "hsm/internal.h"

bool hsm_key_is_restored(const hsm_key_info *info)
{
	return info != NULL && info->has_private && info->sensitive && info->wrap_with_trusted &&
	       info->can_sign && !info->can_decrypt;
}

bool hsm_key_usable(const hsm_token *t, const hsm_key_info *info)
{
	if (info == NULL)
		return false;
	/* A key restored from the domain reports CKA_ALWAYS_SENSITIVE false (as
	 * every unwrapped key does) but came out of a token only wrapped. */
	if (t != NULL && t->allow_restored && hsm_key_is_restored(info))
		return true;
	if (t != NULL && t->allow_imported)
		return info->has_private && info->sensitive && !info->extractable && info->can_sign;
	return hsm_key_is_safe(info);
}

struct hidden_arg {
	const uint8_t *id;
	size_t id_len;
};

static signet_err hidden_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct hidden_arg *a = arg;
	CK_OBJECT_HANDLE *priv = NULL;
	size_t n = 0;
	signet_err err = hsm_find_objects(t, h, CKO_PRIVATE_KEY, a->id, a->id_len, &priv, &n, eb);
	if (err != SIGNET_OK)
		return err;
	if (n == 0) {
		free(priv);
		return hsm_fail(eb, SIGNET_ENOTFOUND,
				"no private key with this CKA_ID in token '%s'", t->label);
	}
	/* The secret parts of every key type we make; a token that hands any of
	 * them out has failed, whatever CKA_SENSITIVE says. */
	static const CK_ATTRIBUTE_TYPE secret[] = {CKA_VALUE, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
						   CKA_PRIME_2};
	for (size_t i = 0; i < n && err == SIGNET_OK; i++) {
		for (size_t k = 0; k < sizeof(secret) / sizeof(secret[0]); k++) {
			CK_ATTRIBUTE attr = {secret[k], NULL, 0};
			CK_RV rv = t->ctx->fn->C_GetAttributeValue(h, priv[i], &attr, 1);
			if (rv == CKR_OK && attr.ulValueLen != CK_UNAVAILABLE_INFORMATION &&
			    attr.ulValueLen != 0) {
				err = hsm_fail(eb, SIGNET_EHSM_KEY,
					       "token '%s' reveals attribute "
					       "0x%lx of a private key",
					       t->label, (unsigned long)secret[k]);
				break;
			}
			if (rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE &&
			    rv != CKR_ATTRIBUTE_TYPE_INVALID && hsm_rv_is_fault(rv)) {
				err = hsm_fail_rv(eb, "C_GetAttributeValue", rv, "token '%s'",
						  t->label);
				break;
			}
		}
	}
	free(priv);
	return err;
}

signet_err hsm_key_value_hidden(hsm_token *t, const uint8_t *id, size_t id_len, char *errmsg,
				size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || id == NULL || id_len == 0 || id_len > HSM_ID_MAX)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_value_hidden: bad argument");
	struct hidden_arg a = {id, id_len};
	return hsm_admin_run(t, hidden_op, &a, eb);
}
