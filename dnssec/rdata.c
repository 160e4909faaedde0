/* rdata.c -- RDATA structure checks and canonical form per RR type. */
#include "dnssec/dnssec.h"
#include "dnssec/internal.h"

#include <string.h>

/* The pieces RDATA is made of, enough to walk every type whose layout
 * matters for checking or for RFC 4034 §6.2 canonical form. */
enum field {
	F_END = 0, /* no more fields: the RDATA must end here */
	F_NAME_LC, /* domain name, lower-cased in canonical form */
	F_NAME,    /* domain name kept as is (NSEC, RFC 6840 §5.1; newer types) */
	F_U8,      /* one octet */
	F_U16,     /* two octets */
	F_U32,     /* four octets */
	F_A,       /* four octets of IPv4 address */
	F_AAAA,    /* sixteen octets of IPv6 address */
	F_STR,     /* <character-string>: length octet and up to 255 octets */
	F_STRS,    /* one or more <character-string>s up to the end */
	F_HEX8,    /* length octet (at least 1) and that many octets */
	F_BITMAP,  /* NSEC/NSEC3 type bitmap up to the end, may be empty */
	F_REST,    /* any octets up to the end, possibly none */
	F_REST1    /* one or more octets up to the end */
};

#define FIELDS_MAX 10

struct layout {
	uint16_t type;
	uint8_t f[FIELDS_MAX]; /* enum field, F_END terminated */
};

/* Types with a known layout. RFC 4034 §6.2 item 3, as corrected by RFC 6840
 * §5.1, lower-cases names in NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO,
 * MX, RP, AFSDB, RT, SIG, PX, NXT, NAPTR, KX, SRV, DNAME, A6 and RRSIG; every
 * other type keeps its names as they are. */
static const struct layout layouts[] = {
	{DNS_T_A, {F_A}},
	{DNS_T_NS, {F_NAME_LC}},
	{DNS_T_MD, {F_NAME_LC}},
	{DNS_T_MF, {F_NAME_LC}},
	{DNS_T_CNAME, {F_NAME_LC}},
	{DNS_T_SOA, {F_NAME_LC, F_NAME_LC, F_U32, F_U32, F_U32, F_U32, F_U32}},
	{DNS_T_MB, {F_NAME_LC}},
	{DNS_T_MG, {F_NAME_LC}},
	{DNS_T_MR, {F_NAME_LC}},
	{DNS_T_NULL, {F_REST}},
	{11 /* WKS */, {F_A, F_U8, F_REST}},
	{DNS_T_PTR, {F_NAME_LC}},
	{DNS_T_HINFO, {F_STR, F_STR}},
	{DNS_T_MINFO, {F_NAME_LC, F_NAME_LC}},
	{DNS_T_MX, {F_U16, F_NAME_LC}},
	{DNS_T_TXT, {F_STRS}},
	{DNS_T_RP, {F_NAME_LC, F_NAME_LC}},
	{DNS_T_AFSDB, {F_U16, F_NAME_LC}},
	{DNS_T_RT, {F_U16, F_NAME_LC}},
	{DNS_T_SIG, {F_U16, F_U8, F_U8, F_U32, F_U32, F_U32, F_U16, F_NAME_LC, F_REST1}},
	{DNS_T_PX, {F_U16, F_NAME_LC, F_NAME_LC}},
	{DNS_T_AAAA, {F_AAAA}},
	{DNS_T_NXT, {F_NAME_LC, F_REST}},
	{DNS_T_SRV, {F_U16, F_U16, F_U16, F_NAME_LC}},
	{DNS_T_NAPTR, {F_U16, F_U16, F_STR, F_STR, F_STR, F_NAME_LC}},
	{DNS_T_KX, {F_U16, F_NAME_LC}},
	/* A6 is walked by a function of its own: its layout depends on a value. */
	{DNS_T_DNAME, {F_NAME_LC}},
	{DNS_T_DS, {F_U16, F_U8, F_U8, F_REST1}},
	{DNS_T_SSHFP, {F_U8, F_U8, F_REST1}},
	{DNS_T_RRSIG, {F_U16, F_U8, F_U8, F_U32, F_U32, F_U32, F_U16, F_NAME_LC, F_REST1}},
	{DNS_T_NSEC, {F_NAME, F_BITMAP}},
	{DNS_T_DNSKEY, {F_U16, F_U8, F_U8, F_REST1}},
	{DNS_T_NSEC3, {F_U8, F_U8, F_U16, F_STR, F_HEX8, F_BITMAP}},
	{DNS_T_NSEC3PARAM, {F_U8, F_U8, F_U16, F_STR}},
	{DNS_T_TLSA, {F_U8, F_U8, F_U8, F_REST1}},
	{DNS_T_CDS, {F_U16, F_U8, F_U8, F_REST1}},
	{DNS_T_CDNSKEY, {F_U16, F_U8, F_U8, F_REST1}},
	{DNS_T_SVCB, {F_U16, F_NAME, F_REST}},
	{DNS_T_HTTPS, {F_U16, F_NAME, F_REST}},
	{DNS_T_CAA, {F_U8, F_HEX8, F_REST}},
};

static const struct layout *layout_of(uint16_t type)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

/* RFC 4034 §4.1.2: windows in increasing order, 1 to 32 octets each, no
 * trailing zero octets (an all-zero window would be one). */
static signet_err bitmap_check(const uint8_t *p, size_t len)
{
	size_t off = 0;
	int last = -1;

	while (off < len) {
		if (len - off < 2)
			return SIGNET_EPARSE;
		uint8_t win = p[off], blen = p[off + 1];
		if ((int)win <= last || blen < 1 || blen > 32 || len - off - 2 < blen)
			return SIGNET_EPARSE;
		if (p[off + 2 + blen - 1] == 0)
			return SIGNET_EPARSE;
		last = win;
		off += 2u + blen;
	}
	return SIGNET_OK;
}

/* Append the name at p (checked, uncompressed) to out, lower-cased if asked. */
static signet_err name_field(const uint8_t *p, size_t avail, bool lower, size_t *used, sg_buf *out)
{
	dns_name n;
	signet_err err = dns_name_from_wire(&n, p, avail, used);

	if (err != SIGNET_OK)
		return err;
	if (out == NULL)
		return SIGNET_OK;
	if (lower)
		dns_name_lower(&n);
	return sg_buf_append(out, n.wire, n.len);
}

signet_err dns_rsa_key_split(const uint8_t *k, size_t len, const uint8_t **exp, size_t *elen,
			     const uint8_t **mod, size_t *mlen)
{
	if (k == NULL || exp == NULL || elen == NULL || mod == NULL || mlen == NULL)
		return SIGNET_EINVAL;
	size_t el, hdr;
	if (len < 1)
		return SIGNET_EPARSE;
	if (k[0] != 0) {
		el = k[0];
		hdr = 1;
	} else {
		if (len < 3)
			return SIGNET_EPARSE;
		el = sg_get_u16(k + 1);
		hdr = 3;
	}
	if (el == 0 || len < hdr + el + 1)
		return SIGNET_EPARSE;
	*exp = k + hdr;
	*elen = el;
	*mod = k + hdr + el;
	*mlen = len - hdr - el;
	return SIGNET_OK;
}

/* RFC 3110 public key: exponent and modulus, neither empty. */
static signet_err rsa_key_check(const uint8_t *k, size_t len)
{
	const uint8_t *e, *n;
	size_t elen, nlen;
	return dns_rsa_key_split(k, len, &e, &elen, &n, &nlen);
}

/* DS and DNSKEY details the generic layout cannot express. */
static signet_err extra_check(uint16_t type, const uint8_t *r, size_t len)
{
	size_t klen = len - 4; /* both layouts have 4 fixed octets first */

	switch (type) {
	case DNS_T_DNSKEY:
	case DNS_T_CDNSKEY:
		if (r[2] != DNS_DNSKEY_PROTOCOL)
			return SIGNET_EPARSE;
		/* Public key sizes of the algorithms signet knows (RFC 3110,
		 * 5702, 6605, 8080); others stay opaque. */
		switch (r[3]) {
		case 5:
		case 7:
		case DNS_ALG_RSASHA256:
		case 10:
			return rsa_key_check(r + 4, klen);
		case DNS_ALG_ECDSAP256SHA256:
			return klen == 64 ? SIGNET_OK : SIGNET_EPARSE;
		case DNS_ALG_ECDSAP384SHA384:
			return klen == 96 ? SIGNET_OK : SIGNET_EPARSE;
		case DNS_ALG_ED25519:
			return klen == 32 ? SIGNET_OK : SIGNET_EPARSE;
		case 16: /* Ed448 */
			return klen == 57 ? SIGNET_OK : SIGNET_EPARSE;
		default:
			return SIGNET_OK;
		}
	case DNS_T_DS:
	case DNS_T_CDS:
		/* Digest lengths of the types every validator knows; others
		 * (and the CDS delete form, digest type 0) stay opaque. */
		if ((r[3] == 1 && klen != 20) || (r[3] == DNS_DIGEST_SHA256 && klen != 32) ||
		    (r[3] == DNS_DIGEST_SHA384 && klen != 48))
			return SIGNET_EPARSE;
		return SIGNET_OK;
	default:
		return SIGNET_OK;
	}
}

/* RFC 2874 A6: prefix length 0..128, then the address suffix in the fewest
 * octets that hold 128 - prefix bits, then a prefix name unless prefix is 0. */
static signet_err walk_a6(const uint8_t *r, size_t len, sg_buf *out)
{
	if (len < 1 || r[0] > 128)
		return SIGNET_EPARSE;
	size_t slen = (size_t)(128 - r[0] + 7) / 8;
	if (len < 1 + slen)
		return SIGNET_EPARSE;
	if (out != NULL) {
		signet_err err = sg_buf_append(out, r, 1 + slen);
		if (err != SIGNET_OK)
			return err;
	}
	size_t off = 1 + slen;
	if (r[0] == 0)
		return off == len ? SIGNET_OK : SIGNET_EPARSE;
	size_t used;
	signet_err err = name_field(r + off, len - off, true, &used, out);
	if (err != SIGNET_OK)
		return err;
	return off + used == len ? SIGNET_OK : SIGNET_EPARSE;
}

/* Check RDATA of type and, when out is not NULL, append its canonical form.
 * One walk for both, so the check and the canonical form cannot disagree. */
static signet_err rdata_walk(uint16_t type, const uint8_t *r, size_t len, sg_buf *out)
{
	const struct layout *lo;
	size_t off = 0;
	signet_err err;

	if (len > DNS_RDATA_MAX)
		return SIGNET_ERANGE;
	if (r == NULL && len != 0)
		return SIGNET_EINVAL;
	/* Empty RDATA may come as a NULL pointer (protobuf-c's empty bytes);
	 * the walk below forms r + off, which is undefined on NULL even for
	 * offset 0 (found by fuzz_sign_request). */
	static const uint8_t no_octets[1];
	if (r == NULL)
		r = no_octets;
	/* Type 0, OPT and the meta and query types (RFC 6895 §3.1) are never
	 * data in a zone. */
	if (type == 0 || type == DNS_T_OPT || (type >= 128 && type <= 255))
		return SIGNET_EUNSUPPORTED;
	if (type == DNS_T_A6)
		return walk_a6(r, len, out);

	lo = layout_of(type);
	if (lo == NULL) /* unknown: opaque (RFC 3597) */
		return out != NULL && len > 0 ? sg_buf_append(out, r, len) : SIGNET_OK;

	for (size_t i = 0; i < FIELDS_MAX && lo->f[i] != F_END; i++) {
		size_t avail = len - off;
		size_t used = 0;

		switch ((enum field)lo->f[i]) {
		case F_NAME_LC:
		case F_NAME:
			err = name_field(r + off, avail, lo->f[i] == F_NAME_LC, &used, out);
			if (err != SIGNET_OK)
				return err;
			off += used;
			continue;
		case F_U8:
			used = 1;
			break;
		case F_U16:
			used = 2;
			break;
		case F_U32:
		case F_A:
			used = 4;
			break;
		case F_AAAA:
			used = 16;
			break;
		case F_STR:
			if (avail < 1)
				return SIGNET_EPARSE;
			used = 1u + r[off];
			break;
		case F_HEX8:
			if (avail < 1 || r[off] == 0)
				return SIGNET_EPARSE;
			used = 1u + r[off];
			break;
		case F_STRS:
			if (avail < 1)
				return SIGNET_EPARSE;
			while (used < avail) {
				used += 1u + r[off + used];
				if (used > avail)
					return SIGNET_EPARSE;
			}
			break;
		case F_BITMAP:
			err = bitmap_check(r + off, avail);
			if (err != SIGNET_OK)
				return err;
			used = avail;
			break;
		case F_REST1:
			if (avail < 1)
				return SIGNET_EPARSE;
			used = avail;
			break;
		case F_REST:
			used = avail;
			break;
		case F_END:
			break;
		}
		if (used > avail)
			return SIGNET_EPARSE;
		if (out != NULL && used > 0) {
			err = sg_buf_append(out, r + off, used);
			if (err != SIGNET_OK)
				return err;
		}
		off += used;
	}
	if (off != len)
		return SIGNET_EPARSE; /* trailing octets */
	return extra_check(type, r, len);
}

signet_err dns_rdata_check(uint16_t type, const uint8_t *rdata, size_t len)
{
	return rdata_walk(type, rdata, len, NULL);
}

signet_err dns_rdata_canonical(uint16_t type, const uint8_t *rdata, size_t len, sg_buf *out)
{
	if (out == NULL)
		return SIGNET_EINVAL;
	size_t mark = out->len;
	signet_err err = rdata_walk(type, rdata, len, out);
	if (err != SIGNET_OK)
		out->len = mark; /* leave no half-written RDATA behind */
	return err;
}
