/* zone.h -- the zone engine: one zone kept signed in memory.
 *
 * The engine holds the last signed version of a zone: its RRsets in the
 * order a signed zone file lists them (the SOA first, the zone's sets in
 * canonical order, the key set and NSEC3PARAM, then the NSEC or NSEC3
 * chain), each with its RRSIGs. A new unsigned version (a whole zone, or
 * the current one with a difference applied) is signed against it: the
 * serial policy gives the SOA its serial, roles and the chain are worked
 * out afresh, and only the RRsets whose content changed, the SOA, and
 * the chain records whose content changed go to the signing backend;
 * every other RRset keeps its RRSIGs while they are valid for longer than
 * the refresh margin. The new version replaces the old one only when every
 * RRset got its RRSIGs: a failed sign leaves the last version as it was.
 *
 * Signing is asynchronous through a backend (zone_backend): the engine
 * starts batches, keeps up to `inflight` of them open, and collects them in
 * completion order. The engine knows no network, protobuf or HSM.
 *
 * Threads: one thread at a time signs (sign, apply, load, adopt,
 * set_options, free); any number of others may read at the same time
 * (serials, has_version, earliest expiries, keys, unsigned, text, walk,
 * snapshots): a version is never changed once it is the engine's, a new
 * one replaces it, and a reader sees one or the other whole.
 *
 * Uses dnssec/ only.
 */
#ifndef SIGNET_ZONE_H
#define SIGNET_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "dnssec/dnssec.h"

/* ---- serial policy ------------------------------------------------------ */

/* How the outbound SOA serial follows the inbound one. */
typedef enum zone_serial {
	ZONE_SERIAL_KEEP = 0,   /* as in the input */
	ZONE_SERIAL_INCREMENT,  /* previous + 1 */
	ZONE_SERIAL_UNIXTIME,   /* now, or previous + 1 if that is not newer */
	ZONE_SERIAL_DATECOUNTER /* YYYYMMDDnn, or previous + 1 */
} zone_serial;

/* The new serial from the input's (in), the last published one (prev: in
 * when nothing was published) and now (epoch seconds). Never older than
 * prev in RFC 1982 arithmetic unless the policy is KEEP. */
uint32_t zone_serial_next(zone_serial policy, uint32_t in, uint32_t prev, int64_t now);

/* ---- keys and options --------------------------------------------------- */

#define ZONE_ZSK_MAX 16

/* What the engine signs with, from the signing service's key set. */
typedef struct zone_keys {
	dns_rrset dnskey;        /* at the apex; at least one RR */
	dns_rrset cds;           /* may be empty */
	dns_rrset cdnskey;       /* may be empty */
	dns_rrset ksk_sigs;      /* RRSIGs over the three, at least one */
	uint8_t alg;             /* the zone's algorithm */
	uint32_t validity;       /* RRSIG validity of the policy, seconds */
	bool nsec3;              /* NSEC3 rather than NSEC */
	dns_nsec3_params nsec3p; /* when nsec3; flags may carry opt-out */
} zone_keys;

/* Initialise every set of k empty at apex. */
void zone_keys_init(zone_keys *k, const dns_name *apex);
/* Free every set of k; k stays initialised. */
void zone_keys_clear(zone_keys *k);
/* Deep copy (dst is overwritten, not freed). */
signet_err zone_keys_copy(zone_keys *dst, const zone_keys *src);

typedef struct zone_options {
	zone_serial serial; /* serial policy */
	int64_t refresh;    /* keep an RRSIG only if valid for longer
	                            * than this many seconds; -1: a quarter of
	                            * the validity */
	size_t batch;       /* RRsets per batch at most (1..10000) */
	unsigned inflight;  /* batches open at once (1..64) */
} zone_options;

/* Defaults of `signet sign-zone`: keep, refresh -1, batch 200, inflight 6. */
void zone_options_init(zone_options *o);

/* ---- the signing backend ------------------------------------------------ */

/* How the engine gets RRSIGs. start begins signing sets[0..n) of the zone
 * apex; sets and sigs stay valid until wait returns tag. For each i the
 * backend appends the RRSIG RDATA for sets[i] to sigs[i] (initialised and
 * empty, type RRSIG), leaving it empty for a set it could not sign. wait
 * blocks for the next started batch to complete and returns its tag;
 * SIGNET_ENOTFOUND when none is open. An error of start or wait fails the
 * whole sign (the engine waits for batches still open before it returns). */
typedef struct zone_backend {
	void *ctx;
	signet_err (*start)(void *ctx, const dns_name *apex, const dns_rrset *const *sets,
			    dns_rrset *const *sigs, size_t n, void *tag);
	signet_err (*wait)(void *ctx, void **tag);
} zone_backend;

/* ---- the engine --------------------------------------------------------- */

typedef struct zone_engine zone_engine;

/* What one zone_engine_sign did. */
typedef struct zone_sign_stats {
	size_t sets;              /* RRsets with RRSIGs in the new version */
	size_t reused;            /* of them, with RRSIGs kept */
	size_t sent;              /* sent to the backend */
	size_t calls;             /* batches */
	size_t failed;            /* sets the backend did not sign */
	size_t looked;            /* sets compared with the old version or made
	                           * afresh: every set for a whole sign, the
	                           * named ones and their chain records for
	                           * zone_engine_apply; the rest were shared
	                           * untouched */
	uint32_t serial;          /* outbound serial of the new version */
	uint32_t earliest_expiry; /* the earliest RRSIG expiration in it */
} zone_sign_stats;

/* A new engine for apex with options o (copied), holding no version yet.
 * SIGNET_EINVAL for options out of range. Free with zone_engine_free. */
signet_err zone_engine_new(const dns_name *apex, const zone_options *o, zone_engine **out);
void zone_engine_free(zone_engine *e);

/* Change the options of e (as zone_engine_new checks them); the next sign
 * uses them. */
signet_err zone_engine_set_options(zone_engine *e, const zone_options *o);

/* Sign the unsigned zone *in (its DNSKEY, CDS, CDNSKEY, RRSIG, NSEC, NSEC3
 * and NSEC3PARAM sets are dropped: the engine makes them) with keys k at
 * time now (epoch seconds). *in is taken in every case and left empty. On
 * SIGNET_OK the new version is e's; on any error e keeps the version it had.
 * SIGNET_EPARSE for a zone without one SOA at the apex or whose apex is not
 * e's, SIGNET_EINVAL for keys without DNSKEY or KSK RRSIGs, SIGNET_EEXIST
 * for an NSEC3 hash collision, SIGNET_EVERIFY when the backend left sets
 * unsigned (st->failed says how many), the backend's error otherwise.
 * st (may be NULL) is filled either way. */
signet_err zone_engine_sign(zone_engine *e, dns_zone *in, const zone_keys *k, const zone_backend *b,
			    uint32_t now, zone_sign_stats *st);

struct zone_diff;

/* zone_engine_sign that also fills *changes (zero it first) with the
 * difference between the version replaced and the new one, RRSIGs, chain
 * and SOA included: RRs removed, then RRs added, as an IXFR sends them.
 * A changed RRset goes out whole and comes in whole. Empty when there was
 * no version before. Costs a pass over both versions comparing octets. */
signet_err zone_engine_sign_diff(zone_engine *e, dns_zone *in, const zone_keys *k,
				 const zone_backend *b, uint32_t now, zone_sign_stats *st,
				 struct zone_diff *changes);

/* zone_engine_sign_diff of the current version changed by steps[0..nsteps)
 * (IXFR sequences, each RRs removed then added, the SOA replaced; applied in
 * order as zone_diff_apply does, bounded by max_rrs RRs), at the cost of
 * the change: only the sets the steps name (and every set at and below a
 * name where a delegation appears or goes), their NSEC or NSEC3 records
 * (empty non-terminals above them included) and the chain neighbours whose
 * next field moves are looked at and, if their content changed, signed,
 * with the SOA. RRSIGs of the other sets are kept as they are (renewing
 * them is a whole sign's work: zone_engine_sign_diff from
 * zone_engine_unsigned). k's KSK RRSIGs may differ from the version's
 * (a new period of the key set, DNSKEY, CDS and CDNSKEY the same): the new
 * version takes them and shares every other entry, so nsteps 0 with such
 * a k costs the SOA's RRSIG (none under ZONE_SERIAL_KEEP, which leaves the
 * SOA as it is). When k is not what the current version was
 * signed with (key set, algorithm, validity, chain parameters), when the
 * SOA's TTL or minimum moves the chain's TTL, and for a version read back
 * by zone_engine_load, the steps are applied to the whole unsigned zone
 * and signed as zone_engine_sign_diff does. The result is the same either
 * way. SIGNET_ENOTFOUND before the first version; the errors of
 * zone_diff_apply (nothing signed) and of zone_engine_sign_diff. On any
 * error e keeps its version. */
signet_err zone_engine_apply(zone_engine *e, const struct zone_diff *steps, size_t nsteps,
			     size_t max_rrs, const zone_keys *k, const zone_backend *b,
			     uint32_t now, zone_sign_stats *st, struct zone_diff *changes);

/* True once a version was signed (or loaded). */
bool zone_engine_has_version(const zone_engine *e);

/* The outbound SOA serial of the current version, and the serial of the
 * unsigned input it came from. SIGNET_ENOTFOUND before the first version. */
signet_err zone_engine_serials(const zone_engine *e, uint32_t *out_serial, uint32_t *in_serial);

/* The earliest RRSIG expiration of the current version (0 before one),
 * the key set's KSK RRSIGs included. */
uint32_t zone_engine_earliest_expiry(const zone_engine *e);

/* The same without the key set's RRSIGs: the earliest of the RRSIGs a sign
 * can renew (the KSK's come with the key set). 0 before a version. */
uint32_t zone_engine_earliest_zsk_expiry(const zone_engine *e);

/* Make *in, a signed zone as zone_engine_text writes it (read back with
 * dns_zone_parse), e's current version without signing anything: RRSIGs
 * go back to the sets they cover, the key set's to the key set, NSEC and
 * NSEC3 form the chain. serial_in is the serial of the unsigned version it
 * was made from. *in is taken in every case. SIGNET_EPARSE for a zone
 * without one apex SOA, without DNSKEY and its RRSIGs, of another apex, or
 * with RRSIGs covering nothing there. A restart serves this at once. */
signet_err zone_engine_load(zone_engine *e, dns_zone *in, uint32_t serial_in);

/* zone_engine_load for a signed zone of any origin (an old output of
 * `signet sign-zone --incremental`, another signer's): RRSIGs that cover
 * nothing there are dropped instead of refused, and the key set may be
 * missing. Only the SOA is required (SIGNET_EPARSE). Its RRSIGs are then
 * kept by the next sign where they still fit; its serial is the one the
 * serial policy counts from. */
signet_err zone_engine_adopt(zone_engine *e, dns_zone *in);

/* zone_engine_load for a signed zone that comes set by set (a stored file
 * read a piece at a time), so that it is never held whole beside the
 * version made of it: each set becomes an entry as it comes, and RRSIGs
 * join the set they cover. Sets come best in zone_engine_walk's order
 * (each set, then its RRSIGs); others are put in order at the finish. */
typedef struct zone_loader zone_loader;
/* A loader for e's next version of at most max_rrs RRs (zone_loader_text
 * counts them: SIGNET_ERANGE past it). */
signet_err zone_loader_new(zone_engine *e, size_t max_rrs, zone_loader **out);
/* One set, taken (cleared in every case). SIGNET_EPARSE for an RRSIG too
 * short to say what it covers. */
signet_err zone_loader_add(zone_loader *l, dns_rrset *set);
/* Zone text as zone_engine_text writes it, in pieces of whole lines (a
 * file read a block at a time; *line counts the lines for messages): one
 * RR a line with its owner, TTL and class, comment lines and blank lines
 * skipped; the RRs of one owner and type that follow each other make a
 * set. SIGNET_EPARSE for a line that is not such an RR (a directive, a
 * line starting with a blank, another class), SIGNET_ERANGE past
 * max_rrs. */
signet_err zone_loader_text(zone_loader *l, const char *text, size_t len, unsigned *line);
/* fn sees every set before it becomes part of the version (those of
 * zone_loader_text and of zone_loader_add): it may change its RRs and TTL
 * (a set left empty is dropped); its error ends the load. A replay of
 * changes onto the sets as they stream past. */
void zone_loader_filter(zone_loader *l, signet_err (*fn)(void *arg, dns_rrset *set), void *arg);
/* The set zone_loader_text has open goes in now: the filter has seen
 * every set of the text, and sets of the caller's own may follow. */
signet_err zone_loader_flush(zone_loader *l);
/* What came made e's current version, with zone_engine_load's checks
 * (SIGNET_EPARSE: no apex SOA, no DNSKEY or its RRSIGs, RRSIGs covering
 * nothing there or what is not signed, a set that came twice). l is freed
 * in every case. */
signet_err zone_loader_finish(zone_loader *l, uint32_t serial_in);
/* Drop what came (an error while reading). */
void zone_loader_free(zone_loader *l);

/* A copy of the key set of the current version (its DNSKEY, CDS, CDNSKEY
 * and KSK RRSIGs; alg, validity and NSEC3 parameters are not kept).
 * SIGNET_ENOTFOUND before the first version. Free with zone_keys_clear. */
signet_err zone_engine_keys(const zone_engine *e, zone_keys *out);

/* A deep copy of the current version's unsigned content (its SOA with the
 * inbound serial), to apply a difference to. SIGNET_ENOTFOUND before the
 * first version. Free *out with dns_zone_free. */
signet_err zone_engine_unsigned(const zone_engine *e, dns_zone *out);

/* Append the current version in presentation form to out: exactly what
 * `signet sign-zone` writes. SIGNET_ENOTFOUND before the first version. */
signet_err zone_engine_text(const zone_engine *e, sg_buf *out);

/* Call fn for every RRset of the current version in the order of the text
 * form, each set followed by its RRSIGs (as an RRSIG set; the key set's
 * after DNSKEY), stopping at the first error fn returns. For AXFR out. */
signet_err zone_engine_walk(const zone_engine *e, signet_err (*fn)(void *arg, const dns_rrset *set),
			    void *arg);

/* ---- snapshots ------------------------------------------------------------ */

/* The current version, held: it stays readable, unchanged, until
 * zone_snap_release, whatever is signed meanwhile (what a transfer out
 * sends over many writes). Holding an old version keeps what it does not
 * share with the newer ones in memory. */
typedef struct zone_snap zone_snap;

/* A place in a snapshot's sets, zeroed to start. */
typedef struct zone_cursor {
	size_t stage, i, k;
	dns_rrset view; /* the RRSIG set last given (the engine keeps them compact) */
} zone_cursor;

/* Hold e's current version: SIGNET_ENOTFOUND before the first one,
 * SIGNET_ENOMEM. Release with zone_snap_release (from any thread; e may
 * have been freed meanwhile: the last release then frees it). */
signet_err zone_engine_snap(zone_engine *e, zone_snap **out);
void zone_snap_release(zone_snap *s);
/* Another hold on s's version (released on its own). */
signet_err zone_snap_hold(zone_snap *s, zone_snap **out);
/* The held version's serials (as zone_engine_serials). */
signet_err zone_snap_serials(const zone_snap *s, uint32_t *out_serial, uint32_t *in_serial);
/* The next RRset of the held version after c, in zone_engine_walk's order
 * (each set, then its RRSIGs), NULL at the end. Valid until the release. */
const dns_rrset *zone_snap_next(const zone_snap *s, zone_cursor *c);

/* ---- differences -------------------------------------------------------- */

/* One RR of a difference. */
typedef struct zone_rr {
	dns_name owner;
	uint16_t type;
	uint32_t ttl;
	dns_rdata rdata; /* owned by the difference */
} zone_rr;

/* A difference between two versions of an unsigned zone (one IXFR
 * sequence, or two files compared): RRs removed, then RRs added. */
typedef struct zone_diff {
	zone_rr *del;
	size_t ndel, capdel;
	zone_rr *add;
	size_t nadd, capadd;
} zone_diff;

/* Append a copy of an RR to the removed (add false) or added RRs. */
signet_err zone_diff_push(zone_diff *d, bool add, const dns_name *owner, uint16_t type,
			  uint32_t ttl, const uint8_t *rdata, size_t len);
void zone_diff_free(zone_diff *d);

/* Apply d to the unsigned zone z in place, keeping canonical order: every
 * removed RR must be there (RDATA compared in canonical form), every added
 * one must not; an added RR takes the set's TTL from the RR. The SOA is
 * replaced as a removal and an addition. SIGNET_ENOTFOUND for a removal of
 * an RR that is not there, SIGNET_EEXIST for an addition of one that is,
 * SIGNET_EPARSE for RRs outside the apex or of malformed RDATA, SIGNET_ERANGE
 * when the zone would pass max_rrs RRs. On error z may be partly changed:
 * apply to a copy. */
signet_err zone_diff_apply(dns_zone *z, const zone_diff *d, size_t max_rrs);

/* The zone of apex made of d's added RRs (a whole transfer): sets in
 * canonical order, RRs of one owner and type merged into a set with the
 * lowest TTL (RFC 2181 §5.2), exact duplicates dropped. The same checks as
 * zone_diff_apply: SIGNET_EPARSE for RRs outside apex or malformed RDATA,
 * SIGNET_ERANGE over max_rrs RRs. Free *out with dns_zone_free. */
signet_err zone_from_rrs(const dns_name *apex, const zone_diff *d, size_t max_rrs, dns_zone *out);

/* A whole zone's RRs gathered into a dns_zone as they come (an AXFR), so
 * the RRs are never held twice: an RR joins the set before it when owner
 * and type match, else begins a set. zone_gather_finish gives the zone
 * zone_from_rrs gives for the same RRs in the same order. One thread at a
 * time; the fields are the gatherer's own. */
typedef struct zone_gather {
	dns_zone z;        /* the sets so far, in the order they began */
	size_t max_rrs;    /* RRs allowed, duplicates included */
	size_t rrs;        /* RRs taken so far */
	bool sorted;       /* z's owners are in canonical order, each node's
	                    * sets together */
	bool types_sorted; /* and each node's types ascending */
	bool finished;     /* zone_gather_finish was called */
	signet_err err;    /* the first failure of an add, returned from then on */
} zone_gather;

/* Start gathering the zone of apex, refusing more than max_rrs RRs.
 * Allocates nothing; call zone_gather_free in every case. */
void zone_gather_init(zone_gather *g, const dns_name *apex, size_t max_rrs);

/* Take a copy of one RR. SIGNET_ERANGE for an RR past max_rrs (checked
 * here, so an oversized transfer stops at once), SIGNET_EPARSE for an owner
 * outside the apex, a TTL over 2^31-1 or malformed RDATA, SIGNET_ENOMEM.
 * After a failure g takes nothing more: every later add and the finish
 * return the same error. SIGNET_EINVAL after zone_gather_finish. */
signet_err zone_gather_add(zone_gather *g, const dns_name *owner, uint16_t type, uint32_t ttl,
			   const uint8_t *rdata, size_t len);

/* The zone of the RRs taken: sets in canonical order (sorted only when they
 * did not come so; the first spelling of an owner and type stays), sets of
 * one owner and type that came apart merged, exact duplicates dropped (RDATA
 * compared in canonical form), each set with the lowest TTL of its RRs (RFC
 * 2181 §5.2). *out takes g's zone (free it with dns_zone_free); on error it
 * is empty. The error of a failed add, SIGNET_ENOMEM, or SIGNET_EINVAL
 * when called twice. No RRs give an empty zone. */
signet_err zone_gather_finish(zone_gather *g, dns_zone *out);

/* Free what g still holds (everything, unless zone_gather_finish took it). */
void zone_gather_free(zone_gather *g);

/* The difference that turns zone a into zone b (both in canonical order,
 * as dns_zone_parse gives them), RDATA compared in canonical form. */
signet_err zone_diff_between(const dns_zone *a, const dns_zone *b, zone_diff *out);

#endif /* SIGNET_ZONE_H */
