/* internal.h -- what engine.c and apply.c share: the signed version in
 * memory and the steps of a sign (private to zone/, not a layer's header). */
#ifndef SIGNET_ZONE_INTERNAL_H
#define SIGNET_ZONE_INTERNAL_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "zone/zone.h"

#define BATCH_MIN 16
#define BATCH_MAX 10000
#define INFLIGHT_MAX 64
#define BATCH_OCTETS (512u * 1024) /* of RRsets per batch at most (one set may pass it) */
#define NONE ((size_t)-1)

/* The RRSIGs of an entry's set: their owner, class and TTL are the set's,
 * kept once there. One block: the count dns_rdata, then their octets
 * (most sets have one RRSIG: one allocation). */
typedef struct sigset {
	size_t count;
	dns_rdata *rr; /* owned, the block */
} sigset;

/* One RRset of a signed version with its RRSIGs, in one block: the header,
 * the RDATA descriptors, the owner's wire form, the RDATA octets. The set
 * never changes once the entry is made (versions share entries); only a
 * new entry's sigs are filled before its version is installed. A whole
 * dns_rrset (256 octets of owner name, an allocation per RDATA) per entry
 * was most of the engine's memory: where a dns_rrset is wanted, zi_view
 * lends one. */
typedef struct entry {
	sigset sigs;   /* owned */
	dns_rdata *rr; /* count, into this block */
	uint32_t count;
	uint32_t ttl;
	uint16_t type;
	uint8_t olen; /* octets of the owner, after rr[count] */
	uint8_t role; /* dns_set_role: for the zone's own sets; SIGN for the rest */
	bool item;    /* gets RRSIGs by a ZSK (not DNSKEY/CDS/CDNSKEY) */
} entry;

/* A new entry holding a copy of s (class IN), no RRSIGs; NULL for want of
 * memory or a set of more RRs than a count holds. */
entry *zi_entry_new(const dns_rrset *s, dns_set_role role, bool item);
void zi_entry_free(entry *en);
static inline const uint8_t *zi_owner_wire(const entry *en)
{
	return (const uint8_t *)(en->rr + en->count);
}
/* en's owner into out. */
static inline void zi_owner(const entry *en, dns_name *out)
{
	out->len = en->olen;
	memcpy(out->wire, zi_owner_wire(en), en->olen);
}
/* en's set as a dns_rrset whose RRs are en's: valid while en is, not to be
 * cleared. */
void zi_view(const entry *en, dns_rrset *out);
/* en's owner equals n (dns_name_equal, exact octets tried first). */
bool zi_owner_eq(const entry *en, const dns_name *n);
/* Canonical order of en against owner/type. */
int zi_entry_cmp(const entry *en, const dns_name *owner, uint16_t type);

/* Append a copy of RRSIG RDATA d (len octets) to s. */
signet_err zi_sigs_add(sigset *s, const uint8_t *d, size_t len);
/* s (empty) gets the RRs of from, which is cleared. */
signet_err zi_sigs_take(sigset *s, dns_rrset *from);
void zi_sigs_clear(sigset *s);
/* en's RRSIGs as an RRSIG set (owner, TTL the set's) whose RRs are en's:
 * valid while en is, not to be cleared. */
void zi_sigs_view(const entry *en, dns_rrset *out);

/* A signed version: entries [0, nzone) are the zone's sets in canonical
 * order, [nzone, nzone + nextra) the key set and NSEC3PARAM, the rest the
 * chain in canonical order. A version is never changed once it is the
 * engine's: a change makes a new one that shares the entries it keeps
 * (apply.c), and the one replaced lives on while snapshots hold it. */
typedef struct version {
	entry **e; /* each allocated alone */
	size_t n, nzone, nextra;
	size_t cap;            /* entries e owns: n, or more while a version is built */
	size_t soa;            /* index of the apex SOA */
	size_t dnskey;         /* index of the DNSKEY set, NONE if absent */
	dns_rrset ksk_sigs;    /* the key set's RRSIGs, written after DNSKEY */
	uint32_t serial;       /* outbound */
	uint32_t serial_in;    /* of the unsigned input */
	uint32_t earliest;     /* earliest RRSIG expiration */
	uint32_t earliest_zsk; /* the same without the key set's RRSIGs */
	size_t rrs;            /* RRs of the zone's own sets */
	size_t items;          /* entries with item set */
	/* What it was signed with, for zone_engine_apply; a version read back
	 * by zone_engine_load does not know (signed: false). */
	bool signed_here;
	uint8_t alg;
	uint32_t validity;
	uint32_t neg_ttl; /* TTL of the chain */
	bool nsec3;
	dns_nsec3_params nsec3p;
	/* Once replaced (retired): */
	unsigned refs; /* snapshots holding it (under the engine's mu) */
	bool owns_all; /* its entries are its own (a whole sign replaced it) */
	entry **dead;  /* else: the entries the next version no longer has */
	size_t ndead;
	struct version *next; /* the next newer retired version */
} version;

struct zone_engine {
	dns_name apex;
	zone_options o;
	/* cur is written by the signing thread under mu, read under mu by
	 * others (the signing thread itself reads it freely). */
	version *cur; /* NULL before the first version */
	pthread_mutex_t mu;
	/* Versions replaced, oldest first: one is freed only when it and every
	 * older one are held by no snapshot, since a newer version's dead
	 * entries may be shared with older versions. */
	version *retired, *retired_last;
	unsigned snaps; /* snapshots open */
	bool freed;     /* zone_engine_free was called: the last snapshot frees */
};

/* Make v e's current version (the old one retired: owns_all when v
 * shares no entry with it, else old_dead lists the entries of the old one
 * v lacks, taken). Frees what no snapshot holds any more. */
void zi_install(zone_engine *e, version *v, bool owns_all, entry **old_dead, size_t ndead);

/* What an old RRSIG must be to be kept. */
typedef struct reuse_rule {
	const dns_name *apex;
	uint8_t alg;
	uint16_t zsk[ZONE_ZSK_MAX];
	size_t nzsk;
	uint32_t now, margin;
} reuse_rule;

/* The sign in progress. */
typedef struct work {
	zone_engine *e;
	const zone_keys *k;
	dns_zone z;    /* input plus key set and NSEC3PARAM */
	size_t nzone;  /* input sets in z */
	size_t dnskey; /* z index of DNSKEY, NONE */
	dns_set_role *roles;
	/* The NSEC or NSEC3 chain, made into entries as the chain builder
	 * gives its sets: as dns_rrsets it was a fifth of a large zone's
	 * peak. */
	entry **chain;
	size_t nchain, capchain;
	version *v;   /* being built */
	size_t *todo; /* entries of v to send */
	size_t ntodo;
	entry **send; /* the entries to sign, ntodo of them */
	bool *shared; /* v->e[i] is the current version's, taken as it is */
	uint32_t serial, serial_in, neg_ttl;
} work;

void zi_version_free(version *v);
void zi_work_free(work *w);
/* dns_name_equal, exact octets tried first. */
bool zi_name_eq(const dns_name *a, const dns_name *b);
/* Canonical order of set s against owner/type. */
int zi_set_cmp(const dns_rrset *s, const dns_name *owner, uint16_t type);
/* The entry of owner/type among e[lo, hi) (sorted), *hint tried first. */
entry *zi_find_sorted(entry *const *e, size_t lo, size_t hi, const dns_name *owner, uint16_t type,
		      size_t *hint);
/* Same RRs and TTL, in canonical form. */
bool zi_same_rrset(const dns_rrset *a, const dns_rrset *b);
void zi_reuse_rule(reuse_rule *r, const zone_engine *e, const zone_keys *k, uint32_t now);
bool zi_old_sig_fits(const reuse_rule *r, const dns_rrset *s, const uint8_t *d, size_t len);
/* Types the engine makes itself and drops from an input. */
bool zi_dnssec_type(uint16_t t);
/* Send w->send (w->ntodo of them) in batches; then check. */
signet_err zi_sign_all(work *w, const zone_backend *b, zone_sign_stats *st);
signet_err zi_check_answers(work *w, zone_sign_stats *st);
void zi_set_earliest(version *v);
/* What differs between entry o and n (either may be NULL), as an IXFR
 * sends it. */
signet_err zi_diff_entry(zone_diff *d, const entry *o, const entry *n);
/* The key set's RRSIGs o replaced by n, if they differ, as version_diff
 * lists them: after the chain. */
signet_err zi_diff_ksk(zone_diff *d, const dns_rrset *o, const dns_rrset *n);

/* Where a set of a signed zone goes back to: 0 the zone's sets, 1 the key
 * set and NSEC3PARAM, 2 the chain. */
int zi_load_range(uint16_t t);
/* A version read back (its entries in place, their RRSIGs attached, the
 * key set's in ksk_sigs): its SOA and DNSKEY found, counted and made e's
 * current version. v is taken in every case; SIGNET_EPARSE without one
 * apex SOA, or (strict) without DNSKEY and its RRSIGs. */
signet_err zi_load_install(zone_engine *e, version *v, uint32_t serial_in, bool strict);

#endif /* SIGNET_ZONE_INTERNAL_H */
