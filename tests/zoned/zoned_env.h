/* zoned_env.h -- the loopback environment of the signet-zoned tests: a
 * real signetd on a SoftHSM2 token, Knot as the hidden primary of
 * example.com (and of big., back., late.example), the fake primary of
 * fake.example (fake_primary.py), signet-zoned, and NSD and Knot as
 * secondaries of example.com. One environment per test program (E); the
 * helpers fail the cmocka test on error. test_zoned_loop.c sets up an
 * environment of its own (a relay to signetd, other zones) with the same
 * helpers and E. */
#ifndef SIGNET_TEST_ZONED_ENV_H
#define SIGNET_TEST_ZONED_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tests/lib/signetd_fixture.h"

#define KEY_IN "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LWluLTAxMjM0NTY3"   /* 32 octets */
#define KEY_OUT "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LW91dC0wMTIzNDU2"  /* 32 octets */
#define KEY_BAD "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LWJhZC0wMTIzNDU2"

typedef struct env {
	signetd_env sd;
	char dir[300];
	int pport, zport, sport, kport;  /* primary (Knot), zoned, secondaries NSD and Knot */
	int mport;                 /* zoned's metrics */
	int fport;                 /* the fake primary of fake.example */
	const char *fake_limits;   /* more keys of fake.example's zone (NULL: none) */
	pid_t fake;
	int uport;                 /* Unbound, validating through NSD */
	pid_t unbound;
	pid_t knot, zoned, nsd, knot2;
	unsigned serial;           /* the primary's current serial */
	long ahead;                /* seconds the test clocks of zoned and signetd are
				    * ahead of the system's (validators check at that
				    * time) */
	unsigned validity;         /* example.com's RRSIG validity and ZSK lifetime */
	unsigned zsk_lifetime;     /* in signetd's policy (seconds); 0: the defaults */
	/* test_zoned_loop's own parts: the relay between zoned and signetd,
	 * and a slow secondary. */
	int rport;
	pid_t relay, slow;
} env;

extern env E;

/* Run a shell command; fail the test unless it exits 0. */
void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The first line a command prints, in buf. */
const char *out1(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Start argv with stdout and stderr appended to log. */
pid_t spawn(const char *log, char *const argv[]);
/* Signal and reap; the wait status, -1 when it was not running. */
int stop(pid_t *pid, int sig);
/* The SOA serial a server gives (kdig over UDP with the outbound key), 0
 * when none. */
unsigned soa_serial(int port, const char *zone);
/* Poll cond every 100 ms; seconds says how soon the event comes on an idle
 * machine, the bound is at least 90 s (it only ends a broken run). */
bool wait_for(bool (*cond)(void *), void *arg, int seconds);

typedef struct want {
	int port;
	unsigned serial;
} want;
/* example.com's serial at w->port is w->serial. */
bool serial_is(void *arg);
/* zoned's log has the line fragment arg. */
bool zoned_logged(void *arg);
/* How many lines of zoned's log contain needle. */
int log_count(const char *needle);

typedef struct more {
	const char *needle;
	int than;
} more;
/* More lines of zoned's log contain m->needle than m->than. */
bool log_grew(void *arg);

/* The primary's example.com, serial s, with extra lines; then make Knot
 * load it. */
void write_primary(unsigned s, const char *extra);
void reload_primary(void);
void write_small(const char *zone, unsigned serial);
void write_back(unsigned serial);
/* What the fake primary does from its next connection on. */
void set_fake_mode(const char *mode);
/* zoned's configuration; the fourth zone changes on SIGHUP. */
void write_zoned_conf(const char *third, const char *limits);
/* Start zoned with SIGNET_ZONED_TEST_CLOCK naming E.dir/clock (absent
 * until a test moves the time). */
void start_zoned(void);
/* The zone as zoned serves it, by AXFR with the outbound key, accepted by
 * ldns-verify-zone (left in E.dir/axfr.zone). */
void check_axfr_validates(void);

/* The group setup and teardown: everything started, zoned last but the
 * secondaries. The caller's environment (SIGNETD_TEST_CLOCK, a fault
 * module) is inherited. */
int zoned_env_setup(void **state);
int zoned_env_teardown(void **state);

#endif /* SIGNET_TEST_ZONED_ENV_H */
