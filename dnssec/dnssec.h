/* dnssec.h -- DNS names, RRsets in wire and canonical form, RRSIG signed data,
 * DNSKEY/DS/CDS/CDNSKEY, NSEC and NSEC3 chains and what their records prove,
 * signature verification, and zone text through ldns.
 *
 * No I/O of its own, no HSM, no globals: every function works on memory the
 * caller passes. Uses OpenSSL for digests and verification and ldns for the
 * presentation format. Errors are signet_err; detail never leaks as foreign
 * codes.
 *
 * References: RFC 1035, RFC 1982 (serial arithmetic), RFC 4034 (records,
 * canonical form §6, key tag App. B), RFC 4035 §5.3.2, RFC 4509, RFC 5155,
 * RFC 5702, RFC 6605, RFC 6840 §5.1, RFC 7344, RFC 8078, RFC 8080, RFC 9276.
 */
#ifndef SIGNET_DNSSEC_H
#define SIGNET_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/common.h"

/* ---- constants ---------------------------------------------------------- */

#define DNS_NAME_MAX 255 /* octets of a wire-form name, root included */
#define DNS_LABEL_MAX 63
#define DNS_NAME_STR_MAX 1010 /* presentation form: 4*253 escapes + dots + NUL */
#define DNS_RDATA_MAX 65535
#define DNS_SIG_MAX 512       /* RSA-4096 */
#define DNS_NSEC3_HASH_MAX 64 /* SHA-1 uses 20 */

enum dns_class { DNS_CLASS_IN = 1, DNS_CLASS_ANY = 255 };

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_MD = 3,
	DNS_T_MF = 4,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_MB = 7,
	DNS_T_MG = 8,
	DNS_T_MR = 9,
	DNS_T_NULL = 10,
	DNS_T_PTR = 12,
	DNS_T_HINFO = 13,
	DNS_T_MINFO = 14,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_RP = 17,
	DNS_T_AFSDB = 18,
	DNS_T_RT = 21,
	DNS_T_SIG = 24,
	DNS_T_PX = 26,
	DNS_T_AAAA = 28,
	DNS_T_NXT = 30,
	DNS_T_SRV = 33,
	DNS_T_NAPTR = 35,
	DNS_T_KX = 36,
	DNS_T_A6 = 38,
	DNS_T_DNAME = 39,
	DNS_T_OPT = 41,
	DNS_T_DS = 43,
	DNS_T_SSHFP = 44,
	DNS_T_RRSIG = 46,
	DNS_T_NSEC = 47,
	DNS_T_DNSKEY = 48,
	DNS_T_NSEC3 = 50,
	DNS_T_NSEC3PARAM = 51,
	DNS_T_TLSA = 52,
	DNS_T_CDS = 59,
	DNS_T_CDNSKEY = 60,
	DNS_T_SVCB = 64,
	DNS_T_HTTPS = 65,
	DNS_T_CAA = 257,
	DNS_T_TKEY = 249,
	DNS_T_TSIG = 250,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_ANY = 255
};

/* DNSSEC algorithm numbers (IANA). */
enum dns_alg {
	DNS_ALG_RSASHA256 = 8,
	DNS_ALG_ECDSAP256SHA256 = 13,
	DNS_ALG_ECDSAP384SHA384 = 14,
	DNS_ALG_ED25519 = 15
};

/* DS digest types (IANA). */
enum dns_digest { DNS_DIGEST_SHA256 = 2, DNS_DIGEST_SHA384 = 4 };

#define DNS_DNSKEY_FLAG_ZONE 0x0100
#define DNS_DNSKEY_FLAG_REVOKE 0x0080
#define DNS_DNSKEY_FLAG_SEP 0x0001
#define DNS_DNSKEY_PROTOCOL 3

/* True for the four algorithms signet signs with. */
bool dns_alg_supported(uint8_t alg);

/* ---- names -------------------------------------------------------------- */

/* An uncompressed wire-form domain name, always absolute (ends with the root
 * label). Fixed size, so names need no allocation. */
typedef struct dns_name {
	uint8_t len;                /* octets used in wire, 1 for the root */
	uint8_t wire[DNS_NAME_MAX]; /* length-prefixed labels, ending with 0 */
} dns_name;

/* Parse an uncompressed name at buf (at most buflen bytes). consumed (may be
 * NULL) receives the octets read. SIGNET_EPARSE for compression pointers,
 * labels over 63 octets, names over 255 octets or a name running past buflen. */
signet_err dns_name_from_wire(dns_name *out, const uint8_t *buf, size_t buflen, size_t *consumed);

/* Parse presentation form: labels separated by dots, "\X" and "\DDD" escapes,
 * "." or "@"-free absolute names; a missing final dot is accepted and the name
 * is taken as absolute. SIGNET_EPARSE on empty labels, bad escapes, overlong
 * labels or names. */
signet_err dns_name_from_str(dns_name *out, const char *text);

/* Write presentation form with a trailing dot into out (outlen >=
 * DNS_NAME_STR_MAX is always enough). Octets outside letters, digits, '-', '_'
 * and '*' are escaped ("\." "\\" or "\DDD"). SIGNET_ERANGE if out is too short. */
signet_err dns_name_to_str(const dns_name *n, char *out, size_t outlen);

/* Lower-case the ASCII letters of every label in place (RFC 4034 §6.2). */
void dns_name_lower(dns_name *n);

/* Number of labels excluding the root; the root has 0. */
unsigned dns_name_labels(const dns_name *n);

/* The RRSIG Labels field for owner n: labels excluding the root and a
 * leftmost "*" label (RFC 4034 §3.1.3). */
unsigned dns_name_rrsig_labels(const dns_name *n);

/* True if the leftmost label is exactly "*". */
bool dns_name_is_wildcard(const dns_name *n);

/* Canonical order of RFC 4034 §6.1 (case-insensitive, label by label from the
 * right, octet-wise): <0, 0 or >0 like strcmp. */
int dns_name_compare(const dns_name *a, const dns_name *b);

/* Case-insensitive equality. */
bool dns_name_equal(const dns_name *a, const dns_name *b);

/* A sort key of n: memcmp of two keys (the shorter first on a common
 * prefix) orders names as dns_name_compare does, equal keys mean equal
 * names, so a sort compares keys instead of walking labels each time.
 * Writes at most DNS_NAME_KEY_MAX octets to out and returns how many;
 * 0 for a malformed name (the root's key is empty too: check n->len). */
#define DNS_NAME_KEY_MAX 512
size_t dns_name_canonical_key(const dns_name *n, uint8_t out[DNS_NAME_KEY_MAX]);

/* True if n equals apex or is below it. */
bool dns_name_is_at_or_below(const dns_name *n, const dns_name *apex);

/* Strip the leftmost label into out; SIGNET_EINVAL for the root. */
signet_err dns_name_parent(const dns_name *n, dns_name *out);

/* Keep the rightmost `labels` labels of n in out (labels <= dns_name_labels). */
signet_err dns_name_suffix(const dns_name *n, unsigned labels, dns_name *out);

/* ---- RR types ----------------------------------------------------------- */

#define DNS_TYPE_STR_MAX 16 /* "TYPE65535" and every mnemonic, with the NUL */

/* An RR type from presentation form: a mnemonic in any case ("TXT",
 * "aaaa") or RFC 3597's TYPEnnn (1..65535, no leading zeros).
 * SIGNET_EPARSE for anything else. */
signet_err dns_type_from_str(const char *text, uint16_t *out);

/* type's mnemonic, or TYPEnnn for a type without one, into out (outlen >=
 * DNS_TYPE_STR_MAX is always enough); SIGNET_ERANGE if out is too short. */
signet_err dns_type_to_str(uint16_t type, char *out, size_t outlen);

/* ---- RDATA and RRsets --------------------------------------------------- */

/* Check RDATA of a given type: fixed lengths (A 4, AAAA 16), every embedded
 * domain name well formed and uncompressed, no trailing octets where the
 * format is fully known, DNSKEY/DS/RRSIG/NSEC/NSEC3 structure. Unknown types
 * are accepted as opaque (RFC 3597). SIGNET_EPARSE for malformed RDATA,
 * SIGNET_ERANGE over DNS_RDATA_MAX, SIGNET_EUNSUPPORTED for type 0, OPT and
 * the meta and query types 128..255, which are never zone data. */
signet_err dns_rdata_check(uint16_t type, const uint8_t *rdata, size_t len);

/* Append the canonical form of RDATA (RFC 4034 §6.2 item 3 as corrected by
 * RFC 6840 §5.1 and RFC 4034 errata: names inside NS, MD, MF, CNAME, SOA, MB,
 * MG, MR, PTR, MINFO, MX, RP, AFSDB, RT, SIG, PX, NXT, NAPTR, KX, SRV, DNAME,
 * A6 and RRSIG are lower-cased; NSEC and HINFO are left as they are) to out. */
signet_err dns_rdata_canonical(uint16_t type, const uint8_t *rdata, size_t len, sg_buf *out);

/* One RR's RDATA, owned by its RRset. */
typedef struct dns_rdata {
	uint16_t len;  /* octets in data */
	uint8_t *data; /* owned; NULL when len is 0 */
} dns_rdata;

/* An RRset: RRs sharing owner, type and class (the TTL is the set's). */
typedef struct dns_rrset {
	dns_name owner;  /* owner name as given; canonicalize to lower */
	uint16_t type;   /* RR type */
	uint16_t rclass; /* class, DNS_CLASS_IN for signing */
	uint32_t ttl;    /* TTL of every RR in the set */
	size_t count;    /* RRs in rr */
	size_t cap;      /* slots allocated in rr */
	dns_rdata *rr;   /* owned array of RDATA */
} dns_rrset;

/* Initialise an empty set; it owns nothing yet. */
void dns_rrset_init(dns_rrset *s, const dns_name *owner, uint16_t type, uint16_t rclass,
		    uint32_t ttl);
/* Append a copy of rdata. */
signet_err dns_rrset_add(dns_rrset *s, const uint8_t *rdata, size_t len);
/* Free every RDATA; the set stays initialised and empty. */
void dns_rrset_clear(dns_rrset *s);
/* Deep copy of src into dst (dst is overwritten, not freed). */
signet_err dns_rrset_copy(dns_rrset *dst, const dns_rrset *src);

/* Put s into canonical form in place: owner lower-cased, every RDATA in
 * canonical form, RRs sorted by RDATA as left-justified octet strings and
 * duplicates removed (RFC 4034 §6.3). */
signet_err dns_rrset_canonicalize(dns_rrset *s);

/* Append s in wire form (owner, type, class, TTL, RDLENGTH, RDATA per RR) to
 * out, with ttl instead of s->ttl. */
signet_err dns_rrset_to_wire(const dns_rrset *s, uint32_t ttl, sg_buf *out);

/* ---- serial arithmetic (RFC 1982) --------------------------------------- */

/* -1 if a < b, 0 if equal, 1 if a > b in 32-bit serial arithmetic; when the
 * comparison is undefined (distance exactly 2^31) returns 2. */
int dns_serial_compare(uint32_t a, uint32_t b);

/* ---- RRSIG -------------------------------------------------------------- */

/* The RRSIG RDATA fields (RFC 4034 §3.1). */
typedef struct dns_rrsig {
	uint16_t type_covered;
	uint8_t algorithm;
	uint8_t labels;
	uint32_t original_ttl;
	uint32_t expiration; /* serial-number seconds since the epoch */
	uint32_t inception;
	uint16_t key_tag;
	dns_name signer; /* lower case in the RDATA we emit */
	uint16_t sig_len;
	uint8_t sig[DNS_SIG_MAX]; /* DNSSEC encoding: RSA raw, ECDSA r||s, Ed25519 */
} dns_rrsig;

/* Fill sig's header for signing set: type covered, labels from the owner
 * (wildcard rule), original TTL from set->ttl, the given algorithm, key tag,
 * signer (lower-cased) and window. sig_len becomes 0. SIGNET_ETIME if
 * expiration is not after inception in serial arithmetic, SIGNET_EINVAL if
 * the owner is not at or below signer. */
signet_err dns_rrsig_prepare(dns_rrsig *sig, const dns_rrset *set, uint8_t alg, uint16_t key_tag,
			     const dns_name *signer, uint32_t inception, uint32_t expiration);

/* Append the data that is signed (RFC 4034 §3.1.8.1): the RRSIG RDATA without
 * the signature, then every RR of set in canonical form and order with the
 * original TTL; when sig->labels is less than the owner's label count the owner
 * is replaced by "*." plus its rightmost labels (RFC 4035 §5.3.2). set need not
 * be canonical: a canonical copy is made unless it already is. */
signet_err dns_rrsig_signed_data(const dns_rrsig *sig, const dns_rrset *set, sg_buf *out);

/* Append the full RRSIG RDATA (header, signer, signature) to out. */
signet_err dns_rrsig_to_rdata(const dns_rrsig *sig, sg_buf *out);
/* Parse RRSIG RDATA. */
signet_err dns_rrsig_from_rdata(dns_rrsig *sig, const uint8_t *rdata, size_t len);

/* ---- keys: DNSKEY, key tag, DS, CDS, CDNSKEY ---------------------------- */

/* Append the DNSKEY public key field for alg built from pk (RFC 3110/5702:
 * exponent length, exponent, modulus; RFC 6605: x||y; RFC 8080: the 32 raw
 * octets). SIGNET_EUNSUPPORTED if pk does not fit alg. */
signet_err dns_dnskey_pubkey_from_evp(uint8_t alg, const EVP_PKEY *pk, sg_buf *out);

/* Append DNSKEY RDATA: flags, protocol 3, algorithm, public key. */
signet_err dns_dnskey_rdata(uint16_t flags, uint8_t alg, const uint8_t *pub, size_t publen,
			    sg_buf *out);

/* Build an OpenSSL public key from DNSKEY RDATA. *out must be freed with
 * EVP_PKEY_free by the caller. SIGNET_EPARSE for malformed keys (wrong
 * lengths, leading zeros in RSA fields, an EC point off the curve),
 * SIGNET_EUNSUPPORTED for other algorithms and RSA moduli outside 512..4096
 * bits. */
signet_err dns_dnskey_to_evp(const uint8_t *rdata, size_t len, EVP_PKEY **out);

/* Key tag of DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not used).
 * SIGNET_EPARSE for RDATA shorter than 4 octets. */
signet_err dns_key_tag(const uint8_t *rdata, size_t len, uint16_t *tag);

/* Append DS RDATA for the DNSKEY (owner, rdata) with digest type SHA-256 (2)
 * or SHA-384 (4): key tag, algorithm, digest type, digest over canonical
 * owner || DNSKEY RDATA. CDS RDATA is identical. SIGNET_EUNSUPPORTED for
 * other digest types, SIGNET_EPARSE for malformed DNSKEY RDATA, SIGNET_EINVAL
 * for a key without the zone flag (RFC 4034 §5.2). */
signet_err dns_ds_rdata(const dns_name *owner, const uint8_t *dnskey, size_t len,
			uint8_t digest_type, sg_buf *out);

/* Whether DS (or CDS) RDATA ds is the digest of the DNSKEY (owner, dnskey):
 * key tag, algorithm and digest, for digest types 1 (SHA-1, still found at
 * parents; never made here), 2 and 4. SIGNET_OK when it is, SIGNET_EVERIFY
 * when not, SIGNET_EUNSUPPORTED for other digest types, SIGNET_EPARSE for a
 * DS under 5 octets or malformed DNSKEY RDATA, SIGNET_EINVAL for a key
 * without the zone flag. */
signet_err dns_ds_match(const dns_name *owner, const uint8_t *ds, size_t dslen,
			const uint8_t *dnskey, size_t keylen);

/* The RFC 8078 §4 delete forms: CDS "0 0 0 00" and CDNSKEY "0 3 0 AA==". */
signet_err dns_cds_delete_rdata(sg_buf *out);
signet_err dns_cdnskey_delete_rdata(sg_buf *out);

/* ---- verification ------------------------------------------------------- */

/* Verify a DNSSEC signature (DNSSEC encoding) over data with pk for alg.
 * SIGNET_EVERIFY for a wrong signature or one of the wrong length for alg,
 * SIGNET_EINVAL when pk is not a key of alg's kind. */
signet_err dns_signature_verify(uint8_t alg, EVP_PKEY *pk, const uint8_t *data, size_t len,
				const uint8_t *sig, size_t siglen);

/* Verify sig over set with the DNSKEY RDATA: algorithm and key tag must match
 * the key, signer must equal signer_zone (may be NULL to skip), and when now
 * is non-zero the window must contain it (SIGNET_ETIME otherwise).
 * SIGNET_EVERIFY when the signature is wrong and when the RRSIG does not fit
 * the RRset or the key (type covered, labels, owner not below the signer,
 * algorithm, key tag, zone flag clear); SIGNET_EUNSUPPORTED for algorithms
 * other than 8/13/14/15; SIGNET_EPARSE for malformed DNSKEY RDATA. */
signet_err dns_rrsig_verify(const dns_rrsig *sig, const dns_rrset *set, const uint8_t *dnskey,
			    size_t dnskey_len, const dns_name *signer_zone, uint32_t now);

/* ---- NSEC and NSEC3 ----------------------------------------------------- */

/* Append the type bitmap (RFC 4034 §4.1.2) of the n types in types (any order,
 * duplicates allowed) to out. */
signet_err dns_type_bitmap(const uint16_t *types, size_t n, sg_buf *out);

/* Append NSEC RDATA: next owner name (as given, not lower-cased: RFC 6840
 * §5.1) and the type bitmap. */
signet_err dns_nsec_rdata(const dns_name *next, const uint16_t *types, size_t n, sg_buf *out);

/* NSEC3 parameters (RFC 5155 §3, RFC 9276 defaults: SHA-1, 0 iterations,
 * empty salt). */
typedef struct dns_nsec3_params {
	uint8_t algorithm;   /* 1 = SHA-1, the only one defined */
	uint8_t flags;       /* bit 0 = opt-out (NSEC3 only; NSEC3PARAM has 0) */
	uint16_t iterations; /* extra iterations, RFC 9276: 0 */
	uint8_t salt_len;
	uint8_t salt[255];
} dns_nsec3_params;

#define DNS_NSEC3_FLAG_OPTOUT 0x01

/* Hash name (lower-cased first) per RFC 5155 §5 into out; *outlen = 20. */
signet_err dns_nsec3_hash(const dns_name *name, const dns_nsec3_params *p,
			  uint8_t out[DNS_NSEC3_HASH_MAX], size_t *outlen);

/* Base32hex without padding (RFC 4648 §7), lower case, as NSEC3 owner labels. */
signet_err dns_base32hex_encode(const uint8_t *p, size_t n, char *out, size_t outlen);
signet_err dns_base32hex_decode(const char *s, size_t slen, uint8_t *out, size_t outmax,
				size_t *outlen);

/* Append NSEC3 RDATA and NSEC3PARAM RDATA. */
signet_err dns_nsec3_rdata(const dns_nsec3_params *p, const uint8_t *next_hash, size_t hashlen,
			   const uint16_t *types, size_t n, sg_buf *out);
signet_err dns_nsec3param_rdata(const dns_nsec3_params *p, sg_buf *out);

/* One owner name of a zone with the types present there. */
typedef struct dns_owner {
	/* The owner, not copied (a copy is 256 octets, most of an owner list
	 * of a large zone): the caller's, which must outlive the owners. */
	const dns_name *name;
	uint16_t *types; /* types present at name, owned by the caller */
	size_t ntypes;
} dns_owner;

/* True if type is among o's types. */
bool dns_owner_has_type(const dns_owner *o, uint16_t type);

/* The names a chain covers: owners at or below apex, in canonical order,
 * duplicates merged (types united, sorted, without repeats; the first spelling
 * given is kept), names below a delegation point (an NS owner other than the
 * apex) dropped. *out gets *nout owners with newly allocated types and the
 * names of owners (which must outlive them); free it with dns_owners_free. SIGNET_EINVAL for an owner with ntypes but no types. */
signet_err dns_owners_authoritative(const dns_name *apex, const dns_owner *owners, size_t n,
				    dns_owner **out, size_t *nout);

/* A denial-of-existence chain built by the two functions below. */
typedef struct dns_chain {
	dns_rrset *sets; /* NSEC or NSEC3 RRsets, owned, in canonical order */
	size_t count;
	size_t cap; /* sets allocated */
} dns_chain;

/* What the _each forms call with every set of a chain, in canonical order,
 * as it is made: fn may take set's RRs (leaving it empty, count and rr
 * zero); what it leaves is cleared after it returns. An error from fn
 * ends the chain and is returned. A signer that keeps the sets in a form
 * of its own need not hold them all as dns_rrsets first. */
typedef signet_err (*dns_chain_fn)(void *arg, dns_rrset *set);

/* Free every set of the chain and zero it. */
void dns_chain_free(dns_chain *c);

/* Build the NSEC chain of the zone apex from owners (any order; duplicates
 * merged). Names outside the zone and names below a delegation point (an NS
 * owner other than the apex: glue and occluded data) get no NSEC. Each NSEC
 * lists the owner's types plus NSEC and RRSIG (at a delegation only NS and DS
 * of the owner's types, RFC 4035 §2.3); owners with no types get none; it has
 * class IN and the TTL ttl (RFC 9077: min(SOA MINIMUM, SOA TTL), the caller's
 * to compute). SIGNET_EINVAL if the apex is not among the owners. Free *out
 * with dns_chain_free. */
signet_err dns_nsec_chain(const dns_name *apex, const dns_owner *owners, size_t n, uint32_t ttl,
			  dns_chain *out);
/* The same chain, each set given to fn (dns_chain_fn) instead of kept. */
signet_err dns_nsec_chain_each(const dns_name *apex, const dns_owner *owners, size_t n,
			       uint32_t ttl, dns_chain_fn fn, void *arg);

/* Build the NSEC3 chain (RFC 5155 §7.1): every authoritative owner and every
 * empty non-terminal between the apex and an owner is hashed; with the opt-out
 * flag, delegations without DS get no NSEC3 of their own. Types listed are the
 * owner's plus RRSIG where anything is signed there; the apex also lists
 * NSEC3PARAM when the caller includes it in the apex's types. Owner names are
 * base32hex(hash).apex. At a delegation only NS and DS are listed, with
 * RRSIG only when DS is there; empty non-terminals list nothing, and under
 * opt-out only those above an owner that has an NSEC3 are hashed.
 * SIGNET_EINVAL if the apex is not among the owners, SIGNET_EUNSUPPORTED for
 * an algorithm other than SHA-1, SIGNET_EEXIST on a hash collision. Free *out
 * with dns_chain_free. */
signet_err dns_nsec3_chain(const dns_name *apex, const dns_owner *owners, size_t n, uint32_t ttl,
			   const dns_nsec3_params *p, dns_chain *out);
/* The same chain, each set given to fn (dns_chain_fn) instead of kept. */
signet_err dns_nsec3_chain_each(const dns_name *apex, const dns_owner *owners, size_t n,
				uint32_t ttl, const dns_nsec3_params *p, dns_chain_fn fn,
				void *arg);

/* ---- denial of existence: NSEC and NSEC3 read back, what they prove ----- */

/* True if type is set in an NSEC/NSEC3 type bitmap (false for a malformed
 * one). */
bool dns_bitmap_has(const uint8_t *bitmap, size_t len, uint16_t type);

/* An NSEC record read back (RFC 4034 §4.1). */
typedef struct dns_nsec_rec {
	dns_name owner;        /* the record's owner */
	dns_name next;         /* next owner name */
	const uint8_t *bitmap; /* type bitmap, inside the caller's RDATA */
	size_t bitmap_len;
} dns_nsec_rec;

/* Read NSEC RDATA (checked with dns_rdata_check) of owner into out; out
 * points into rdata, which must outlive it. SIGNET_EPARSE for malformed
 * RDATA. */
signet_err dns_nsec_read(const dns_name *owner, const uint8_t *rdata, size_t len,
			 dns_nsec_rec *out);

/* An NSEC3 record read back (RFC 5155 §3). */
typedef struct dns_nsec3_rec {
	dns_name owner;                   /* base32hex(hash).zone */
	dns_nsec3_params p;               /* flags carry opt-out */
	uint8_t hash[DNS_NSEC3_HASH_MAX]; /* the owner's hash, from its first label */
	size_t hash_len;
	uint8_t next[DNS_NSEC3_HASH_MAX]; /* next hashed owner */
	size_t next_len;
	const uint8_t *bitmap; /* inside the caller's RDATA */
	size_t bitmap_len;
} dns_nsec3_rec;

/* Read NSEC3 RDATA of owner into out (points into rdata). SIGNET_EPARSE for
 * malformed RDATA, an owner whose first label is not base32hex, or an owner
 * hash of another length than the next hash. */
signet_err dns_nsec3_read(const dns_name *owner, const uint8_t *rdata, size_t len,
			  dns_nsec3_rec *out);

/* True if name falls strictly between the NSEC's owner and next name in
 * canonical order, the last NSEC (next at or before owner) covering every
 * name after its owner. */
bool dns_nsec_covers(const dns_nsec_rec *n, const dns_name *name);
/* True if the NSEC3's owner hash is hash / if hash falls strictly between
 * owner hash and next hash (the last NSEC3 wraps round). Hashes of another
 * length never match or fall between. */
bool dns_nsec3_matches(const dns_nsec3_rec *n, const uint8_t *hash, size_t len);
bool dns_nsec3_covers(const dns_nsec3_rec *n, const uint8_t *hash, size_t len);

/* Labels a and b share from the right (the root not counted). */
unsigned dns_name_common_labels(const dns_name *a, const dns_name *b);
/* "*." + n into out (out may be n). SIGNET_ERANGE when it would exceed
 * DNS_NAME_MAX. */
signet_err dns_name_wildcard(const dns_name *n, dns_name *out);

/* A name right after n's subtree in canonical order, at n's level: n's
 * first label with a zero octet appended, or when that does not fit (a
 * 63-octet label, a 255-octet name) its last octet raised by one. Asked for
 * at a zone's server it draws the NSEC whose owner is n (the NSEC of a
 * secure delegation, which no query for n itself returns). SIGNET_ERANGE
 * when no such name can be made, SIGNET_EINVAL for the root. */
signet_err dns_name_sibling_after(const dns_name *n, dns_name *out);

/* NSEC3 with more extra iterations prove nothing here (RFC 9276 §3.2:
 * validators treat them as insecure or bogus; BIND and Unbound stop at 150),
 * and they are not hashed, so a hostile server cannot make a judge spend
 * seconds per answer. */
#define DNS_NSEC3_ITERATIONS_JUDGED 150

/* What a set of NSEC or NSEC3 records proves about a question. */
typedef enum dns_proof {
	DNS_PROOF_OK = 0,   /* proven as a validator wants it */
	DNS_PROOF_NONE,     /* no record to judge */
	DNS_PROOF_NAME,     /* the name (NSEC3: the next closer) is not covered,
				 * or exists */
	DNS_PROOF_ENCLOSER, /* NSEC3: no record matches a closest encloser */
	DNS_PROOF_WILDCARD, /* the wildcard at the closest encloser is not denied */
	DNS_PROOF_TYPE,     /* the record at the name lists the type or CNAME */
	DNS_PROOF_CUT,      /* the record is from the wrong side of a zone cut:
				 * a delegation's (or DNAME's) NSEC for a name or type
				 * below it, or no NS (or an SOA) where no DS is proven */
	DNS_PROOF_PARAMS    /* NSEC3 hash algorithm not SHA-1, or more than
				 * DNS_NSEC3_ITERATIONS_JUDGED iterations */
} dns_proof;

/* A judgement, with the names it rests on. */
typedef struct dns_denial {
	dns_proof result;
	dns_name closest_encloser; /* when found */
	dns_name next_closer;      /* the child of the encloser towards qname */
	dns_name wildcard;         /* "*." + closest encloser */
	bool opt_out;              /* NSEC3: the next closer lies in an opt-out span:
				     * an unsigned delegation may be there */
} dns_denial;

/* Name error (RFC 4035 §5.4): an NSEC covers qname (not one at a cut or
 * DNAME above it) and one covers the wildcard at the closest encloser. With
 * expanded non-zero the answer came from a wildcard and expanded is its
 * RRSIG's Labels (the closest encloser's label count, above the apex and
 * below qname's): then only qname must be covered (RFC 4035 §5.3.4).
 * Findings are in out->result; SIGNET_EINVAL for bad arguments only. */
signet_err dns_nsec_deny_name(const dns_name *apex, const dns_nsec_rec *set, size_t n,
			      const dns_name *qname, unsigned expanded, dns_denial *out);

/* No data (RFC 4035 §5.4): the NSEC at qname lists neither qtype nor CNAME.
 * For DS it must be the parent side of a cut (NS, no SOA); for other types
 * it must not be a cut's. Without an NSEC at qname: an empty non-terminal
 * (an NSEC covering qname whose next name is below it, §3.1.3.2) or, for
 * types other than DS, a wildcard without the type (qname denied and the
 * wildcard's NSEC lacking it, §3.1.3.4). */
signet_err dns_nsec_deny_type(const dns_name *apex, const dns_nsec_rec *set, size_t n,
			      const dns_name *qname, uint16_t qtype, dns_denial *out);

/* Name error by NSEC3 (RFC 5155 §8.4): the closest encloser proof (§8.3)
 * and the wildcard covered; with expanded (as above) only the next closer
 * under the encloser Labels name (§8.8). Only records with the first one's
 * parameters count (at most 64). qname must be at or below apex. */
signet_err dns_nsec3_deny_name(const dns_name *apex, const dns_nsec3_rec *set, size_t n,
			       const dns_name *qname, unsigned expanded, dns_denial *out);

/* No data by NSEC3 (RFC 5155 §8.5, §8.6, §8.7): the NSEC3 matching qname
 * lists neither qtype nor CNAME, with the cut rules of dns_nsec_deny_type;
 * without one, a closest encloser proof and then, for DS, a next closer in
 * an opt-out span (out->opt_out); for other types the wildcard's NSEC3
 * without the type, or else an opt-out span (an empty non-terminal opt-out
 * left unhashed: insecure, out->opt_out). */
signet_err dns_nsec3_deny_type(const dns_name *apex, const dns_nsec3_rec *set, size_t n,
			       const dns_name *qname, uint16_t qtype, dns_denial *out);

/* A short English phrase for p; never NULL. */
const char *dns_proof_text(dns_proof p);

/* ---- zone text (ldns) --------------------------------------------------- */

/* A zone read from text: RRsets grouped by owner, type and class. */
typedef struct dns_zone {
	dns_name apex;   /* origin of the zone (owner of the SOA) */
	dns_rrset *sets; /* owned */
	size_t count;
	size_t cap;
} dns_zone;

/* Parse zone-file text (text need not be NUL-terminated) with origin and
 * default TTL, refusing more than max_rrs RRs (SIGNET_ERANGE). RRs of equal
 * owner/type/class are merged into one RRset (the lowest TTL wins, as RFC 2181
 * §5.2 asks); exact duplicates collapse; the owner keeps its first spelling;
 * sets come in canonical order. The zone must have exactly one SOA, at origin
 * (SIGNET_EPARSE otherwise, as for malformed text, names outside origin, NUL
 * bytes, unbalanced quotes or parentheses and unknown directives). Only class
 * IN, $TTL and $ORIGIN are accepted: other classes, $INCLUDE (this layer reads
 * no files) and $GENERATE give SIGNET_EUNSUPPORTED. max_rrs 0 is
 * SIGNET_EINVAL. Errors name the line through errline (may be NULL; 0 when not
 * known). Free *out with dns_zone_free. */
signet_err dns_zone_parse(const char *text, size_t len, const dns_name *origin,
			  uint32_t default_ttl, size_t max_rrs, dns_zone *out, unsigned *errline);
/* Free every set and zero the zone. */
void dns_zone_free(dns_zone *z);

/* Append one RRset in presentation format (ldns's, without comments), one RR
 * per line, to out. */
signet_err dns_rrset_to_text(const dns_rrset *s, sg_buf *out);

/* Append presentation form of a single RR (no newline) to out; out->data
 * stays NUL-terminated. SIGNET_EPARSE if rdata is malformed for type. */
signet_err dns_rr_to_text(const dns_name *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
			  const uint8_t *rdata, size_t len, sg_buf *out);

/* Parse one RR in presentation form (absolute owner or relative to origin,
 * origin may be NULL: then names without a final dot are taken as absolute)
 * into its parts; rdata is appended to out_rdata (nothing on failure). A
 * missing TTL is 3600. Directives, blank lines and malformed RRs give
 * SIGNET_EPARSE. */
signet_err dns_rr_from_text(const char *line, const dns_name *origin, dns_name *owner,
			    uint16_t *type, uint16_t *rclass, uint32_t *ttl, sg_buf *out_rdata);


/* ---- zone structure ----------------------------------------------------- */

/* What a zone's RRset is to a signer. */
typedef enum dns_set_role {
	DNS_SET_SIGN = 1,       /* authoritative data: sign it, it is in the chain */
	DNS_SET_DELEGATION = 2, /* NS of a zone cut: in the chain, not signed */
	DNS_SET_GLUE = 3,       /* below a zone cut (glue or occluded): neither */
	DNS_SET_OUTSIDE = 4     /* not at or below the apex: neither */
} dns_set_role;

/* Classify every set of z into roles (an array of z->count entries the caller
 * provides). A DS set at a zone cut is DNS_SET_SIGN (the parent signs it);
 * anything below a cut, including NS and DS there, is DNS_SET_GLUE. */
signet_err dns_zone_roles(const dns_zone *z, dns_set_role *roles);

/* The owners of z with the types present at each, for dns_nsec_chain and
 * dns_nsec3_chain: every owner whose sets include a DNS_SET_SIGN or
 * DNS_SET_DELEGATION set, with those sets' types; their names are z's (z
 * must outlive them). *out is allocated; free it with dns_owners_free. */
signet_err dns_zone_owners(const dns_zone *z, const dns_set_role *roles, dns_owner **out,
			   size_t *n);
void dns_owners_free(dns_owner *owners, size_t n);

/* ---- key-signing request and signed key bundle -------------------------- */

/* The format where signetd and the ceremony meet (the root zone's KSR/SKR
 * model). signetd writes a request (DNS_KEYSET_REQUEST): for each period the
 * DNSKEY RRset it will publish (ZSKs and KSKs), the CDS and CDNSKEY RRsets
 * (possibly empty) and, as proof of possession, an RRSIG over the DNSKEY RRset
 * by every ZSK in it. The ceremony checks it, signs each RRset of each period
 * with the KSK and writes a bundle (DNS_KEYSET_BUNDLE): the same periods with
 * the KSK RRSIGs in `sigs`. The text form is zone-file lines between
 * directives, so operators can read it:
 *
 *   ; comments and blank lines are ignored
 *   $SIGNET-KEYSET 1 request|bundle
 *   $ZONE example.com.
 *   $SERIAL 42
 *   $PERIOD 1767225600 1768435200      ; inception expiration (epoch seconds)
 *   example.com. 3600 IN DNSKEY 256 3 13 ...
 *   example.com. 3600 IN RRSIG DNSKEY 13 2 3600 ...
 *   $END
 *
 * $SIGNET-KEYSET comes first, then $ZONE and $SERIAL once each; every
 * $PERIOD starts a period, whose RRs follow one per line (no parentheses
 * across lines; a line begins with an owner, "@" or a relative name being
 * read against $ZONE); one $END closes the document, so a truncated file is
 * refused. Every period needs a DNSKEY RRset. RRSIGs must be by $ZONE and
 * cover DNSKEY (request) or DNSKEY, CDS or CDNSKEY (bundle). The RRs of a set
 * share one TTL, except RRSIGs, whose set keeps the lowest.
 *
 * dns_keyset_write emits a canonical form (RRsets canonical, periods in
 * order, fixed spacing), so equal content gives equal bytes and a hash of
 * the text identifies the request. The RR lines are ldns's presentation
 * form, so the bytes are stable for one ldns version. */
typedef enum dns_keyset_kind { DNS_KEYSET_REQUEST = 1, DNS_KEYSET_BUNDLE = 2 } dns_keyset_kind;

#define DNS_KEYSET_PERIODS_MAX 512
#define DNS_KEYSET_RRS_MAX 64 /* per RRset of a period */

/* One period: the RRsets to publish from inception to expiration. */
typedef struct dns_keyset_period {
	uint32_t inception;  /* start of the period, epoch seconds */
	uint32_t expiration; /* end of the period */
	dns_rrset dnskey;    /* owner = zone apex, type DNSKEY */
	dns_rrset cds;       /* type CDS, may be empty */
	dns_rrset cdnskey;   /* type CDNSKEY, may be empty */
	dns_rrset sigs;      /* type RRSIG: proofs (request) or KSK RRSIGs (bundle) */
} dns_keyset_period;

typedef struct dns_keyset {
	dns_keyset_kind kind;
	dns_name zone;              /* the apex; every owner must equal it */
	uint64_t serial;            /* increases with every request of a zone */
	dns_keyset_period *periods; /* owned, ordered by inception, not overlapping */
	size_t count;
} dns_keyset;

/* Parse the text form, refusing more than DNS_KEYSET_PERIODS_MAX periods,
 * DNS_KEYSET_RRS_MAX RRs per RRset or lines over 8192 octets (SIGNET_ERANGE),
 * owners other than $ZONE, other types, class other than IN, overlapping or
 * unordered periods, windows that do not end after they start, unknown or
 * misplaced directives, a missing $END, anything after it and malformed RRs
 * (SIGNET_EPARSE). errline (may be NULL) gets the failing line (for a missing
 * $END, the last). Free *out with dns_keyset_free; on error it is empty. */
signet_err dns_keyset_parse(const char *text, size_t len, dns_keyset *out, unsigned *errline);

/* Append the canonical text form of ks to out. SIGNET_EINVAL (nothing
 * appended) for a keyset that dns_keyset_parse would refuse. */
signet_err dns_keyset_write(const dns_keyset *ks, sg_buf *out);

/* Free every period and zero ks. */
void dns_keyset_free(dns_keyset *ks);

/* ---- keyset digest ------------------------------------------------------ */

/* SHA-256 over a canonical wire encoding of ks, which identifies a request or
 * bundle independently of its text (ldns's presentation form may differ
 * between the machine that wrote it and the one that checks it): a tag, the
 * kind, the lower-cased zone in wire form, the serial (64 bits), the period
 * count, then per period its window and the DNSKEY, CDS, CDNSKEY and RRSIG
 * sets, each as its RR count and its canonical wire form (RFC 4034 §6; RRSIGs
 * sorted like any RDATA, duplicates dropped). Equal content gives equal
 * digests, whatever the order of RRs. SIGNET_EINVAL for a malformed keyset,
 * SIGNET_ERANGE over DNS_KEYSET_PERIODS_MAX periods or DNS_KEYSET_RRS_MAX RRs
 * in a set. */
signet_err dns_keyset_digest(const dns_keyset *ks, uint8_t out[32]);

/* ---- fast zone text ----------------------------------------------------- */

/* Read one RR line (len octets, no newline, need not be NUL-terminated) of
 * the plain form signet writes, without ldns: an absolute owner of letters,
 * digits, '-', '_' and '*', a decimal TTL, class IN, type A, AAAA, RRSIG,
 * NSEC, NSEC3, NS, CNAME, PTR, DNAME, MX, SRV, SOA, DS, CDS, DNSKEY, CDNSKEY
 * or TXT with RDATA in a plain form of ldns's presentation form (numbers as
 * digits, RRSIG times as YYYYMMDDHHmmSS, TXT strings quoted without
 * escapes), fields separated by blanks. SIGNET_OK fills the parts
 * (the class is IN) and appends the RDATA to rdata; SIGNET_ENOTFOUND, with
 * nothing appended, for every other line, which the caller reads with ldns:
 * for the lines it takes the result is ldns's (checked by fuzz_zonetext).
 * SIGNET_EINVAL for NULL arguments. */
signet_err dns_rr_from_text_fast(const char *line, size_t len, dns_name *owner, uint16_t *type,
				 uint32_t *ttl, sg_buf *rdata);

#endif /* SIGNET_DNSSEC_H */
