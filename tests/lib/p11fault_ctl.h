/* p11fault_ctl.h -- the test's side of tests/p11fault: a control directory,
 * the environment that makes this process and the signetd it starts load
 * the fault module in front of SoftHSM2, the fault in force, the module's
 * counters, and holding calls inside C_Sign until the test lets them go.
 * One control directory per test program. Failures fail the cmocka test,
 * except in p11fault_setup, which runs before any (from main). */
#ifndef SIGNET_TEST_P11FAULT_CTL_H
#define SIGNET_TEST_P11FAULT_CTL_H

#include <stdbool.h>
#include <stddef.h>

/* Make the control directory (stem names it; sticky and world-writable
 * under root, since signetd runs as nobody and its module writes the
 * counters there), and set P11FAULT_MODULE to $SIGNET_SOFTHSM_MODULE,
 * P11FAULT_CONTROL to DIR/control and SIGNET_SOFTHSM_MODULE to the module
 * in $SIGNET_BUILD_DIR/tests/p11fault. Before any token is made. 0, or -1
 * with the reason on stderr. */
int p11fault_setup(const char *stem);

/* Remove the control directory (kept with SIGNET_TEST_KEEP). */
void p11fault_cleanup(void);

/* The path of P11FAULT_CONTROL followed by suffix ("" for the control
 * file itself, ".sessions", ...) in out. */
void p11fault_path(char *out, size_t cap, const char *suffix);

/* Put text in force (written aside and renamed over the control file: the
 * module reads it on every call) after clearing the counters .hits and
 * .held and the release file. "" is no fault. */
void p11fault_set(const char *text);

/* The octets the module appended to P11FAULT_CONTROL<suffix> (".hits": the
 * faulted calls, ".held": the calls that started waiting in C_Sign). */
long p11fault_count(const char *suffix);

/* Wait until at least n calls are held in C_Sign; wait_ms bounds only a
 * broken run. True once they are. */
bool p11fault_wait_held(long n, long wait_ms);

/* Let every held call go on (the release file). */
void p11fault_release(void);

#endif /* SIGNET_TEST_P11FAULT_CTL_H */
