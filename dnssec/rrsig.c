/* rrsig.c -- RRSIG RDATA: preparing, the signed data, wire form. */
#include "dnssec/dnssec.h"

#include <string.h>

/* Octets of the RRSIG RDATA before the signer's name. */
#define RRSIG_FIXED 18

signet_err dns_rrsig_prepare(dns_rrsig *sig, const dns_rrset *set, uint8_t alg, uint16_t key_tag,
			     const dns_name *signer, uint32_t inception, uint32_t expiration)
{
	if (sig == NULL || set == NULL || signer == NULL)
		return SIGNET_EINVAL;
	/* A zone signs only what is at or below its apex (RFC 4035 §5.3.1). */
	if (!dns_name_is_at_or_below(&set->owner, signer))
		return SIGNET_EINVAL;
	if (dns_serial_compare(expiration, inception) != 1)
		return SIGNET_ETIME;

	memset(sig, 0, sizeof(*sig));
	sig->type_covered = set->type;
	sig->algorithm = alg;
	sig->labels = (uint8_t)dns_name_rrsig_labels(&set->owner);
	sig->original_ttl = set->ttl;
	sig->expiration = expiration;
	sig->inception = inception;
	sig->key_tag = key_tag;
	sig->signer = *signer;
	dns_name_lower(&sig->signer);
	sig->sig_len = 0;
	return SIGNET_OK;
}

/* The RDATA fields before the signature, signer lower-cased (RFC 6840 §5.1). */
static signet_err rrsig_header(const dns_rrsig *sig, sg_buf *out)
{
	dns_name signer = sig->signer;
	signet_err err;

	if (dns_name_labels(&signer) == 0 && (signer.len != 1 || signer.wire[0] != 0))
		return SIGNET_EINVAL; /* malformed name in a hand-filled struct */
	dns_name_lower(&signer);
	if ((err = sg_buf_put_u16(out, sig->type_covered)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, sig->algorithm)) != SIGNET_OK ||
	    (err = sg_buf_put_u8(out, sig->labels)) != SIGNET_OK ||
	    (err = sg_buf_put_u32(out, sig->original_ttl)) != SIGNET_OK ||
	    (err = sg_buf_put_u32(out, sig->expiration)) != SIGNET_OK ||
	    (err = sg_buf_put_u32(out, sig->inception)) != SIGNET_OK ||
	    (err = sg_buf_put_u16(out, sig->key_tag)) != SIGNET_OK)
		return err;
	return sg_buf_append(out, signer.wire, signer.len);
}

signet_err dns_rrsig_signed_data(const dns_rrsig *sig, const dns_rrset *set, sg_buf *out)
{
	dns_rrset canon;
	signet_err err;

	if (sig == NULL || set == NULL || out == NULL)
		return SIGNET_EINVAL;
	if (sig->type_covered != set->type)
		return SIGNET_EINVAL;
	unsigned owner_labels = dns_name_labels(&set->owner);
	if (sig->labels > owner_labels)
		return SIGNET_EINVAL;

	/* Always work on a canonical copy: telling whether set already is
	 * canonical costs the same walk over every RDATA. */
	err = dns_rrset_copy(&canon, set);
	if (err != SIGNET_OK)
		return err;
	err = dns_rrset_canonicalize(&canon);
	if (err != SIGNET_OK)
		goto out;

	/* RFC 4035 §5.3.2: a name expanded from a wildcard is signed as
	 * "*." plus the rightmost Labels labels of the owner. */
	if (sig->labels < owner_labels) {
		dns_name suffix;
		err = dns_name_suffix(&canon.owner, sig->labels, &suffix);
		if (err != SIGNET_OK)
			goto out;
		if (suffix.len + 2 > DNS_NAME_MAX) {
			err = SIGNET_EINVAL;
			goto out;
		}
		canon.owner.wire[0] = 1;
		canon.owner.wire[1] = '*';
		memcpy(&canon.owner.wire[2], suffix.wire, suffix.len);
		canon.owner.len = (uint8_t)(suffix.len + 2);
	}

	size_t mark = out->len;
	err = rrsig_header(sig, out);
	if (err == SIGNET_OK)
		err = dns_rrset_to_wire(&canon, sig->original_ttl, out);
	if (err != SIGNET_OK)
		out->len = mark;
out:
	dns_rrset_clear(&canon);
	return err;
}

signet_err dns_rrsig_to_rdata(const dns_rrsig *sig, sg_buf *out)
{
	if (sig == NULL || out == NULL)
		return SIGNET_EINVAL;
	if (sig->sig_len == 0 || sig->sig_len > DNS_SIG_MAX)
		return SIGNET_EINVAL;
	size_t mark = out->len;
	signet_err err = rrsig_header(sig, out);
	if (err == SIGNET_OK)
		err = sg_buf_append(out, sig->sig, sig->sig_len);
	if (err != SIGNET_OK)
		out->len = mark;
	return err;
}

signet_err dns_rrsig_from_rdata(dns_rrsig *sig, const uint8_t *rdata, size_t len)
{
	dns_name signer;
	size_t used;
	signet_err err;

	if (sig == NULL || (rdata == NULL && len != 0))
		return SIGNET_EINVAL;
	err = dns_rdata_check(DNS_T_RRSIG, rdata, len);
	if (err != SIGNET_OK)
		return err;
	err = dns_name_from_wire(&signer, rdata + RRSIG_FIXED, len - RRSIG_FIXED, &used);
	if (err != SIGNET_OK)
		return err;
	size_t slen = len - RRSIG_FIXED - used;
	if (slen > DNS_SIG_MAX)
		return SIGNET_ERANGE;

	memset(sig, 0, sizeof(*sig));
	sig->type_covered = sg_get_u16(rdata);
	sig->algorithm = rdata[2];
	sig->labels = rdata[3];
	sig->original_ttl = sg_get_u32(rdata + 4);
	sig->expiration = sg_get_u32(rdata + 8);
	sig->inception = sg_get_u32(rdata + 12);
	sig->key_tag = sg_get_u16(rdata + 16);
	sig->signer = signer;
	sig->sig_len = (uint16_t)slen;
	memcpy(sig->sig, rdata + RRSIG_FIXED + used, slen);
	return SIGNET_OK;
}
