/* nsec3.c -- NSEC3 hashing, NSEC3/NSEC3PARAM RDATA and the NSEC3 chain (RFC 5155, RFC 9276). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dnssec/dnssec.h"
#include "dnssec/internal.h"

#define NSEC3_SHA1 1
#define SHA1_LEN 20

static signet_err check_params(const dns_nsec3_params *p)
{
	if (p == NULL)
		return SIGNET_EINVAL;
	if (p->algorithm != NSEC3_SHA1)
		return SIGNET_EUNSUPPORTED;
	return SIGNET_OK;
}

/* The hash of name with ctx and md, which the caller keeps for a whole
 * chain: making a context and looking up SHA-1 for every name cost more
 * than the hashing. p checked, name not empty. */
static signet_err hash_with(EVP_MD_CTX *ctx, const EVP_MD *md, const dns_name *name,
			    const dns_nsec3_params *p, uint8_t out[DNS_NSEC3_HASH_MAX],
			    size_t *outlen)
{
	dns_name lower = *name;
	dns_name_lower(&lower);

	uint8_t h[SHA1_LEN];
	const uint8_t *in = lower.wire;
	size_t inlen = lower.len;
	/* IH(salt, x, 0) = H(x || salt); each extra iteration hashes the
	 * previous digest with the salt again (RFC 5155 §5). */
	for (unsigned k = 0; k <= p->iterations; k++) {
		unsigned int hl = 0;
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, in, inlen) != 1 ||
		    EVP_DigestUpdate(ctx, p->salt, p->salt_len) != 1 ||
		    EVP_DigestFinal_ex(ctx, h, &hl) != 1 || hl != SHA1_LEN)
			return SIGNET_ECRYPTO;
		in = h;
		inlen = SHA1_LEN;
	}
	memcpy(out, h, SHA1_LEN);
	*outlen = SHA1_LEN;
	return SIGNET_OK;
}

signet_err dns_nsec3_hash(const dns_name *name, const dns_nsec3_params *p,
			  uint8_t out[DNS_NSEC3_HASH_MAX], size_t *outlen)
{
	if (name == NULL || out == NULL || outlen == NULL)
		return SIGNET_EINVAL;
	signet_err err = check_params(p);
	if (err != SIGNET_OK)
		return err;
	if (name->len == 0)
		return SIGNET_EINVAL;

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return SIGNET_ENOMEM;
	err = hash_with(ctx, EVP_sha1(), name, p, out, outlen);
	EVP_MD_CTX_free(ctx);
	return err;
}

signet_err dns_nsec3_rdata(const dns_nsec3_params *p, const uint8_t *next_hash, size_t hashlen,
			   const uint16_t *types, size_t n, sg_buf *out)
{
	signet_err err = check_params(p);
	if (err != SIGNET_OK)
		return err;
	if (next_hash == NULL || out == NULL || (n > 0 && types == NULL))
		return SIGNET_EINVAL;
	if (hashlen == 0 || hashlen > DNS_NSEC3_HASH_MAX)
		return SIGNET_EINVAL;
	if ((err = sg_buf_put_u8(out, p->algorithm)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, p->flags)) != SIGNET_OK ||
	    (err = sg_buf_put_u16(out, p->iterations)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, p->salt_len)) != SIGNET_OK ||
	    (err = sg_buf_append(out, p->salt, p->salt_len)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, (uint8_t)hashlen)) != SIGNET_OK ||
	    (err = sg_buf_append(out, next_hash, hashlen)) != SIGNET_OK)
		return err;
	return dns_type_bitmap(types, n, out);
}

signet_err dns_nsec3param_rdata(const dns_nsec3_params *p, sg_buf *out)
{
	signet_err err = check_params(p);
	if (err != SIGNET_OK)
		return err;
	if (out == NULL)
		return SIGNET_EINVAL;
	/* The opt-out bit belongs to NSEC3 only; NSEC3PARAM flags are zero
	 * (RFC 5155 §4.1.2). */
	if ((err = sg_buf_put_u8(out, p->algorithm)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, 0)) != SIGNET_OK ||
	    (err = sg_buf_put_u16(out, p->iterations)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, p->salt_len)) != SIGNET_OK)
		return err;
	return sg_buf_append(out, p->salt, p->salt_len);
}

/* One name of the hashed chain. */
struct nsec3_entry {
	uint8_t hash[SHA1_LEN]; /* the name's hash */
	const dns_owner *owner; /* its data, NULL for an empty non-terminal */
	bool delegation;        /* NS below the apex: list NS and DS only */
};

static int entry_cmp(const void *pa, const void *pb)
{
	const struct nsec3_entry *a = pa, *b = pb;
	return memcmp(a->hash, b->hash, SHA1_LEN);
}

/* Types the NSEC3 of e lists: RRSIG wherever something is signed there,
 * which excludes empty non-terminals and insecure delegations. */
static signet_err nsec3_types(const struct nsec3_entry *e, uint16_t **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (e->owner == NULL || e->owner->ntypes == 0)
		return SIGNET_OK;
	uint16_t *t = malloc((e->owner->ntypes + 1) * sizeof(*t));
	if (t == NULL)
		return SIGNET_ENOMEM;
	size_t m = 0;
	bool signed_here = !e->delegation;
	for (size_t i = 0; i < e->owner->ntypes; i++) {
		uint16_t ty = e->owner->types[i];
		if (e->delegation && ty != DNS_T_NS && ty != DNS_T_DS)
			continue;
		if (ty == DNS_T_DS)
			signed_here = true;
		t[m++] = ty;
	}
	if (signed_here)
		t[m++] = DNS_T_RRSIG;
	*out = t;
	*nout = m;
	return SIGNET_OK;
}

/* base32hex(hash) as the first label of apex. */
static signet_err hashed_owner(const uint8_t *hash, const dns_name *apex, dns_name *out)
{
	char label[DNS_LABEL_MAX + 1];
	signet_err err = dns_base32hex_encode(hash, SHA1_LEN, label, sizeof(label));
	if (err != SIGNET_OK)
		return err;
	size_t ll = strlen(label);
	if (1 + ll + apex->len > DNS_NAME_MAX)
		return SIGNET_ERANGE;
	out->wire[0] = (uint8_t)ll;
	memcpy(out->wire + 1, label, ll);
	memcpy(out->wire + 1 + ll, apex->wire, apex->len);
	out->len = (uint8_t)(1 + ll + apex->len);
	return SIGNET_OK;
}

/* What hashing a chain's names keeps from one name to the next. */
struct hasher {
	EVP_MD_CTX *ctx;
	EVP_MD *md;
};

static signet_err add_entry(struct nsec3_entry **arr, size_t *count, size_t *cap,
			    const dns_name *name, const dns_owner *owner, bool delegation,
			    const dns_nsec3_params *p, const struct hasher *hs)
{
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(**arr))
			return SIGNET_ERANGE;
		struct nsec3_entry *na = realloc(*arr, ncap * sizeof(**arr));
		if (na == NULL)
			return SIGNET_ENOMEM;
		*arr = na;
		*cap = ncap;
	}
	struct nsec3_entry *e = &(*arr)[*count];
	size_t hl = 0;
	uint8_t h[DNS_NSEC3_HASH_MAX];
	if (name->len == 0)
		return SIGNET_EINVAL;
	signet_err err = hash_with(hs->ctx, hs->md, name, p, h, &hl);
	if (err != SIGNET_OK)
		return err;
	memcpy(e->hash, h, SHA1_LEN);
	e->owner = owner;
	e->delegation = delegation;
	(*count)++;
	return SIGNET_OK;
}

/* Hash every name the chain covers: the authoritative owners (without
 * insecure delegations under opt-out) and the empty non-terminals above them. */
static signet_err collect_entries(const dns_name *apex, const dns_owner *auth, size_t nauth,
				  const dns_nsec3_params *p, struct nsec3_entry **out, size_t *nout)
{
	struct nsec3_entry *arr = NULL;
	size_t count = 0, cap = 0;
	const dns_name *prev = NULL;
	bool optout = (p->flags & DNS_NSEC3_FLAG_OPTOUT) != 0;
	struct hasher hs = {EVP_MD_CTX_new(), EVP_MD_fetch(NULL, "SHA1", NULL)};
	signet_err err = hs.ctx == NULL  ? SIGNET_ENOMEM
			 : hs.md == NULL ? SIGNET_ECRYPTO
					 : SIGNET_OK;

	for (size_t i = 0; i < nauth && err == SIGNET_OK; i++) {
		const dns_owner *o = &auth[i];
		bool apex_here = dns_name_equal(o->name, apex);
		bool deleg = !apex_here && dns_owner_has_type(o, DNS_T_NS);
		if (deleg && optout && !dns_owner_has_type(o, DNS_T_DS))
			continue;

		/* Ancestors come before descendants in canonical order, so an
		 * ancestor that is not one of prev's (or prev itself) was never
		 * seen and is not an owner: it is a new empty non-terminal. */
		dns_name anc = *o->name;
		while (!apex_here && err == SIGNET_OK) {
			dns_name up;
			err = dns_name_parent(&anc, &up);
			if (err != SIGNET_OK)
				break;
			anc = up;
			if (dns_name_equal(&anc, apex))
				break;
			if (prev != NULL && dns_name_is_at_or_below(prev, &anc))
				break;
			err = add_entry(&arr, &count, &cap, &anc, NULL, false, p, &hs);
		}
		if (err == SIGNET_OK)
			err = add_entry(&arr, &count, &cap, o->name, o, deleg, p, &hs);
		prev = o->name;
	}
	EVP_MD_CTX_free(hs.ctx);
	EVP_MD_free(hs.md);
	if (err != SIGNET_OK) {
		free(arr);
		return err;
	}
	*out = arr;
	*nout = count;
	return SIGNET_OK;
}

signet_err dns_nsec3_chain_each(const dns_name *apex, const dns_owner *owners, size_t n,
				uint32_t ttl, const dns_nsec3_params *p, dns_chain_fn fn, void *arg)
{
	if (apex == NULL || fn == NULL || (n > 0 && owners == NULL))
		return SIGNET_EINVAL;
	signet_err err = check_params(p);
	if (err != SIGNET_OK)
		return err;

	dns_owner *auth = NULL;
	size_t nauth = 0;
	err = dns_owners_authoritative(apex, owners, n, &auth, &nauth);
	if (err != SIGNET_OK)
		return err;
	if (nauth == 0 || !dns_name_equal(auth[0].name, apex) || auth[0].ntypes == 0) {
		dns_owners_free(auth, nauth);
		return SIGNET_EINVAL;
	}

	struct nsec3_entry *ent = NULL;
	size_t nent = 0;
	err = collect_entries(apex, auth, nauth, p, &ent, &nent);
	if (err != SIGNET_OK) {
		dns_owners_free(auth, nauth);
		return err;
	}
	qsort(ent, nent, sizeof(*ent), entry_cmp);
	/* Two names with one hash would make one of them undeniable. */
	for (size_t i = 1; i < nent; i++) {
		if (memcmp(ent[i - 1].hash, ent[i].hash, SHA1_LEN) == 0) {
			free(ent);
			dns_owners_free(auth, nauth);
			return SIGNET_EEXIST;
		}
	}

	sg_buf rdata = SG_BUF_INIT;
	for (size_t i = 0; i < nent && err == SIGNET_OK; i++) {
		const struct nsec3_entry *e = &ent[i];
		const struct nsec3_entry *next = &ent[(i + 1) % nent];
		dns_name owner;
		uint16_t *types = NULL;
		size_t ntypes = 0;

		err = hashed_owner(e->hash, apex, &owner);
		if (err != SIGNET_OK)
			break;
		err = nsec3_types(e, &types, &ntypes);
		if (err != SIGNET_OK)
			break;
		sg_buf_reset(&rdata);
		err = dns_nsec3_rdata(p, next->hash, SHA1_LEN, types, ntypes, &rdata);
		free(types);
		if (err != SIGNET_OK)
			break;
		dns_rrset set;
		dns_rrset_init(&set, &owner, DNS_T_NSEC3, DNS_CLASS_IN, ttl);
		err = dns_rrset_add(&set, rdata.data, rdata.len);
		if (err == SIGNET_OK)
			err = fn(arg, &set);
		dns_rrset_clear(&set);
	}
	sg_buf_free(&rdata);
	free(ent);
	dns_owners_free(auth, nauth);
	return err;
}

signet_err dns_nsec3_chain(const dns_name *apex, const dns_owner *owners, size_t n, uint32_t ttl,
			   const dns_nsec3_params *p, dns_chain *out)
{
	if (out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	signet_err err = dns_nsec3_chain_each(apex, owners, n, ttl, p, dns_chain_take, out);
	if (err != SIGNET_OK)
		dns_chain_free(out);
	return err;
}
