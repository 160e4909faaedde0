/* zoned.h -- signet-zoned: zones in from a hidden primary (NOTIFY, SOA
 * polling, AXFR with TSIG), kept signed through signetd with the zone
 * engine, served out (SOA, AXFR with TSIG, NOTIFY) to the secondaries.
 *
 * One libevent loop serves; a bounded pool of worker threads runs the
 * zones' slow jobs (worker.c). The parts: the configuration (config.c),
 * TSIG keys and message signing (tsig.c), DNS messages in wire form
 * (wire.c), transfers in (xfr_in.c), signetd as the engine's signing
 * backend (signetd.c), serving and NOTIFY out (serve.c), and the daemon
 * (main.c). Functions return signet_err; messages that concern a peer go to
 * the log.
 */
#ifndef SIGNET_ZONED_H
#define SIGNET_ZONED_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/client.h"
#include "common/common.h"
#include "dnssec/dnssec.h"
#include "zone/zone.h"

#define ZONED_PATH_MAX 1024
#define ZONED_KEYS_MAX 64
#define ZONED_ZONES_MAX 1024
#define ZONED_PEERS_MAX 16
#define ZONED_MSG_MAX 65535
#define ZONED_WORKERS_MAX 16 /* worker threads, each with a connection to signetd */

/* ---- configuration ------------------------------------------------------ */

/* A TSIG key (RFC 8945). The secret is base64 as ldns wants it. */
typedef struct zoned_key {
	char name[256];     /* presentation form, with the final dot */
	char algorithm[32]; /* "hmac-sha256." or "hmac-sha512." */
	char secret[128];   /* base64 of 16..64 octets */
} zoned_key;

/* An address with a port, or a range (prefix) of addresses. */
typedef struct zoned_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	unsigned prefix; /* ranges: bits that must match */
} zoned_addr;

/* A primary the zone comes from, or a secondary it goes to. */
typedef struct zoned_peer {
	zoned_addr addr; /* primary: address and port; secondary: a
	                            * range, port ignored */
	bool notify;     /* secondary: NOTIFY it (at addr, notify_port) */
	uint16_t notify_port;
	const zoned_key *key; /* NULL: none (refused for transfers) */
} zoned_peer;

typedef struct zoned_zone_conf {
	dns_name apex;
	char name[DNS_NAME_STR_MAX];
	zoned_peer primaries[ZONED_PEERS_MAX];
	size_t nprimaries;
	zoned_peer secondaries[ZONED_PEERS_MAX];
	size_t nsecondaries;
	zone_serial serial;   /* outbound serial policy */
	size_t max_rrs;       /* bound of a transfer in */
	size_t max_octets;    /* bound of a transfer in */
	unsigned xfr_timeout; /* seconds for a transfer in */
} zoned_zone_conf;

typedef struct zoned_config {
	char listen[64];  /* ADDR:PORT for UDP and TCP */
	char metrics[64]; /* ADDR:PORT of GET /metrics; empty: none */
	char state_dir[ZONED_PATH_MAX];
	char client_config[ZONED_PATH_MAX]; /* signetd: the client config file */
	unsigned keyset_poll;               /* seconds between GetKeySet calls */
	unsigned tcp_clients;               /* TCP connections at once */
	unsigned workers;                   /* worker threads (1..ZONED_WORKERS_MAX) */
	zoned_key keys[ZONED_KEYS_MAX];
	size_t nkeys;
	zoned_zone_conf *zones; /* owned */
	size_t nzones;
} zoned_config;

/* Read and check the configuration file (format in docs/ZONED.md); errmsg
 * gets the line and reason. SIGNET_EPARSE/ERANGE for bad values, the
 * file's read error otherwise. Free with zoned_config_free. */
signet_err zoned_config_load(const char *path, zoned_config *out, char *errmsg, size_t errlen);
void zoned_config_free(zoned_config *c);

/* Give zone settings c keys of their own: the keys its peers name are
 * copied into *keys (allocated, *nkeys of them) and the peers point
 * there, so that a zone keeps its keys whatever becomes of the
 * configuration they were read with. SIGNET_ENOMEM (c unchanged). Free
 * with zoned_keys_free, which wipes them. */
signet_err zoned_zone_conf_own(zoned_zone_conf *c, zoned_key **keys, size_t *nkeys);
void zoned_keys_free(zoned_key *keys, size_t nkeys);

/* Parse "ADDR", "ADDR:PORT", "[V6]:PORT" (port default def) or, with
 * allow_prefix, "ADDR/BITS". */
signet_err zoned_addr_parse(const char *text, uint16_t def, bool allow_prefix, zoned_addr *out);
/* True if sa is inside range r (family and prefix bits). */
bool zoned_addr_match(const zoned_addr *r, const struct sockaddr *sa);
/* True if sa is exactly a's address (port ignored). */
bool zoned_addr_same_host(const zoned_addr *a, const struct sockaddr *sa);

/* ---- messages ----------------------------------------------------------- */

/* A DNS message being written: header, question, RRs uncompressed. */
typedef struct zoned_msg {
	sg_buf b;
	uint16_t ancount;
} zoned_msg;

/* Start a message: id, flags (QR, opcode, AA, rcode as in the header) and
 * one question. */
signet_err zoned_msg_start(zoned_msg *m, uint16_t id, uint16_t flags, const dns_name *qname,
			   uint16_t qtype);
/* Append one RR to the answer section. */
signet_err zoned_msg_rr(zoned_msg *m, const dns_name *owner, uint16_t type, uint32_t ttl,
			const uint8_t *rdata, size_t len);
void zoned_msg_free(zoned_msg *m);

/* What zoned needs of a query or NOTIFY: header, the one question. */
typedef struct zoned_query {
	uint16_t id, flags;
	uint16_t opcode;
	dns_name qname;
	uint16_t qtype, qclass;
	bool has_tsig;
	uint32_t ixfr_serial; /* IXFR: the serial of its authority SOA */
	bool has_ixfr_serial;
} zoned_query;

/* Read a query: a header with QR clear, exactly one question, at most one
 * RR in authority (an IXFR's SOA), a TSIG as the last additional RR.
 * SIGNET_EPARSE for anything malformed. Bounded by len; fuzzed. */
signet_err zoned_query_parse(const uint8_t *msg, size_t len, zoned_query *out);

/* ---- TSIG --------------------------------------------------------------- */

/* The TSIG RR of a message (RFC 8945 §4.2), pointing into the message. */
typedef struct zoned_tsig_rr {
	size_t pos;           /* where the RR begins: the message it signs ends here */
	dns_name key;         /* the owner: the key's name */
	dns_name algorithm;   /* the algorithm's name */
	uint64_t time_signed; /* 48 bits, seconds since the epoch */
	uint16_t fudge, orig_id, error;
	const uint8_t *mac, *other;
	size_t mac_len, other_len;
} zoned_tsig_rr;

/* Find and read the TSIG RR of message msg: SIGNET_ENOTFOUND when the
 * message (well formed) has none, SIGNET_EPARSE for a malformed message or
 * TSIG RR (a TSIG anywhere but last, class not ANY, TTL not 0, RDATA that
 * does not add up). Every RR of the message is walked, bounded by len;
 * fuzzed (fuzz_zoned_tsig). */
signet_err zoned_tsig_rr_find(const uint8_t *msg, size_t len, zoned_tsig_rr *out);

/* The most messages of a transfer in a row without TSIG (RFC 8945 §5.3.1:
 * a client accepts up to 99 between signed ones). */
#define ZONED_TSIG_UNSIGNED_MAX 99

/* A TSIG context of one exchange: the MAC of the last message, and, for a
 * transfer in, the running MAC over the unsigned messages since. */
typedef struct zoned_tsig {
	const zoned_key *key;
	uint8_t mac[64];
	size_t maclen;
	bool first;    /* no message signed or verified yet */
	bool sparse;   /* accept messages without TSIG after the first signed
			* (a transfer in); zoned_tsig_done then frees */
	unsigned gap;  /* messages without TSIG since the last signed one */
	void *running; /* the HMAC over them (an EVP_MAC_CTX), while gap > 0 */
} zoned_tsig;

/* Sign wire message *msg (len octets, in a buffer of at least len + 512)
 * with key: the first message of an answer covers the request MAC; later
 * ones the previous MAC and timers only. *len grows by the TSIG RR. */
signet_err zoned_tsig_sign(zoned_tsig *t, uint8_t *msg, size_t *len, size_t cap);

/* Verify the TSIG of message msg with t->key: the first message against
 * t's request MAC if any, with all the TSIG variables; later ones the
 * previous MAC, the messages without TSIG since (t->sparse only, at most
 * ZONED_TSIG_UNSIGNED_MAX of them) and the timers (RFC 8945 §4.3, §5.3.1);
 * the key's name and algorithm, no TSIG error, the whole MAC, and the time
 * within the fudge (at most 300 s). A message without TSIG is taken into
 * the running MAC (SIGNET_OK) when t->sparse allows it; whether the last
 * message was signed is zoned_tsig_done's to say. SIGNET_EVERIFY for a
 * missing, wrong or stale TSIG, another key or too many unsigned,
 * SIGNET_EPARSE for a message that does not parse. */
signet_err zoned_tsig_verify(zoned_tsig *t, const uint8_t *msg, size_t len);

/* The end of an exchange verified with t: SIGNET_OK if its last message
 * was signed, else SIGNET_EVERIFY. Frees what t holds either way. */
signet_err zoned_tsig_done(zoned_tsig *t);

/* ---- signetd ------------------------------------------------------------ */

/* Whether signetd answers, as the workers' calls find it: shared by every
 * connection, so that a signetd going away is logged once, not once per
 * zone and call. */
typedef struct zoned_reach {
	_Atomic int up;          /* 1 answering, 0 unreachable, -1 not asked yet */
	_Atomic int64_t last_ok; /* epoch seconds of the last call it answered, 0: none */
} zoned_reach;

/* The zone engine's backend over a client connection (SignRRsets with
 * calls in flight). */
typedef struct zoned_signetd {
	client_conn *conn;  /* one worker's: a pipeline is driven by one thread */
	_Atomic bool stop;  /* set to end a sign early (zoned stopping) */
	zoned_reach *reach; /* where each call's outcome is told; NULL: nowhere */
} zoned_signetd;

void zoned_signetd_backend(zoned_signetd *s, zone_backend *out);

/* GetKeySet for apex into keys (initialised by the caller). SIGNET_EIO when
 * signetd cannot be reached, SIGNET_EDENIED when it answers with an error
 * (the zone not allowed, not found), SIGNET_EPARSE for an answer that does
 * not check. Tells s->reach whether signetd answered. */
signet_err zoned_signetd_keyset(zoned_signetd *s, const dns_name *apex, zone_keys *keys,
				char *errmsg, size_t errlen);

/* ---- transfers in ------------------------------------------------------- */

/* Ask primary p for apex's SOA serial over TCP (TSIG if p has a key). */
signet_err zoned_soa_query(const zoned_peer *p, const dns_name *apex, unsigned timeout,
			   uint32_t *serial);

/* AXFR of apex from p into *out (a zone in canonical order), checked
 * against the zone's bounds; every message's TSIG is verified. On error
 * nothing is returned. errmsg says why. */
signet_err zoned_axfr_in(const zoned_peer *p, const zoned_zone_conf *zc, dns_zone *out,
			 char *errmsg, size_t errlen);

/* IXFR of apex from p from serial `have` (RFC 1995): its steps in
 * *steps (*nsteps of them, each RRs removed then added with the SOAs, as
 * zone_engine_apply takes them; free with zoned_steps_free), or, when the
 * primary answers in AXFR form, the whole zone in *out (*nsteps 0); AXFR
 * when it refuses IXFR. SIGNET_ENOTFOUND (nothing returned) when it has
 * nothing newer. Whether the steps apply to the version held is for the
 * engine to find (the caller transfers by AXFR when they do not). */
signet_err zoned_ixfr_in(const zoned_peer *p, const zoned_zone_conf *zc, uint32_t have,
			 dns_zone *out, zone_diff **steps, size_t *nsteps, char *errmsg,
			 size_t errlen);
void zoned_steps_free(zone_diff *steps, size_t n);

/* ---- journal of signed differences ------------------------------------- */

/* One step from serial `from` to serial `to` of the signed zone: RRs
 * removed and added, the SOAs apart (they delimit the step in an IXFR). */
typedef struct zoned_step {
	uint32_t from, to;
	uint32_t in;                /* the inbound serial `to` was signed from */
	bool has_in;                /* in is known (not in older state files) */
	dns_rrset soa_from, soa_to; /* one RR each */
	zone_diff d;                /* without SOA RRs */
	size_t rrs;                 /* RRs in d */
} zoned_step;

/* The steps a secondary may ask for by IXFR, oldest first, bounded in
 * steps and RRs (the oldest go first). */
typedef struct zoned_journal {
	zoned_step *steps;
	size_t count, cap;
	size_t rrs, max_rrs, max_steps;
	/* The file (zoned_journal_store): whether it holds the steps up to
	 * file_to as whole records and nothing after them, and how many
	 * steps and RRs it holds (dropped from memory or not). */
	bool file_ok;
	uint32_t file_to;
	size_t file_steps, file_rrs;
} zoned_journal;

void zoned_journal_init(zoned_journal *j, size_t max_steps, size_t max_rrs);
void zoned_journal_free(zoned_journal *j);
/* A new bound of RRs (a SIGHUP's max-rrs): the oldest steps past it go
 * now; the file follows at the next store. */
void zoned_journal_bound(zoned_journal *j, size_t max_rrs);

/* Record the step zone_engine_sign_diff reported (changes; nothing for an
 * empty one), then drop the oldest steps past the bounds. SIGNET_ENOTFOUND
 * when it lacks the apex SOA on either side, SIGNET_EINVAL when its serial
 * does not go forward: no step is kept then. */
signet_err zoned_journal_add(zoned_journal *j, const dns_name *apex, const zone_diff *changes,
			     uint32_t serial_in);

/* The journal in text form (one line per RR, steps between "$STEP FROM TO"
 * and "$END"), appended to out, for the state directory. */
signet_err zoned_journal_write(const zoned_journal *j, sg_buf *out);

/* Read back what zoned_journal_write wrote into an empty journal (its
 * bounds set; the oldest steps past them are dropped), keeping it only if its newest step ends at serial `newest`
 * (the stored zone's) or one of its steps starts there (the journal leads
 * on from the stored zone: zoned_journal_replay). SIGNET_EPARSE for
 * anything else, with j left empty: secondaries behind then get the whole
 * zone, nothing worse. */
signet_err zoned_journal_read(zoned_journal *j, const dns_name *apex, const char *text, size_t len,
			      uint32_t newest);

/* The journal file, STATE-DIR/ZONE.journal: a first line
 * "; signet-zoned journal 2", then one record per step, appended as each
 * step is made: "$REC OCTETS SUM" (decimal; SUM the first 8 octets of the
 * SHA-256 of the payload, in hex) and a newline, then OCTETS octets of
 * payload, the step as zoned_journal_write writes it. A record that is cut
 * short (a kill -9 in the middle of an append) or whose sum does not
 * match is dropped with everything after it. */

/* Bring path in step with j after a new version: append the steps j has
 * after the file's last (one record each, written and fsynced once), or
 * rewrite the file atomically with j's steps (compaction) when rewrite is
 * set (a whole zone was just stored), when the file is not known to be
 * whole, or when it would hold more than twice j's bounds of steps or
 * RRs. *octets: what was written. On failure the file is rewritten next
 * time. */
signet_err zoned_journal_store(zoned_journal *j, const char *path, bool rewrite, size_t *octets);

/* Read a journal file's text into an empty j (bounds set), as
 * zoned_journal_read does (the oldest steps past the bounds dropped),
 * records checked: a torn or damaged record and everything after it are
 * left out, and note says so (else note is ""); the file is then rewritten
 * at the next store. A file of the older form (steps without records) is
 * read as it is. SIGNET_EPARSE as zoned_journal_read. */
signet_err zoned_journal_load(zoned_journal *j, const dns_name *apex, const char *text, size_t len,
			      uint32_t newest, char *note, size_t notelen);

/* Apply steps [first, count) of j to z, a signed zone as the state
 * directory keeps it (RRSIGs, NSEC/NSEC3 and the key set included): z
 * then is the version the newest step leads to. The errors of
 * zone_diff_apply (z partly changed then: apply to a copy). */
signet_err zoned_journal_replay(const zoned_journal *j, size_t first, dns_zone *z, size_t max_rrs);

/* The steps from serial `from` to the newest, in order: *first is the
 * index of the first, SIGNET_ENOTFOUND when the journal does not reach
 * back to from (answer with the whole zone then). */
signet_err zoned_journal_find(const zoned_journal *j, uint32_t from, size_t *first);

#endif /* SIGNET_ZONED_H */
