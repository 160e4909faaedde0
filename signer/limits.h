/* limits.h -- per-client admission of calls and connections (limits.c),
 * under the limits of the configuration. Included by signer.h.
 */
#ifndef SIGNET_SIGNER_LIMITS_H
#define SIGNET_SIGNER_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "signer/config.h"

/* ---- admission (limits.c) ------------------------------------------------ */

/* Per-client admission of calls: calls in flight, a token bucket of calls
 * per second, and connections (a connection is a peer address; it counts
 * while it has a call in flight and for a while after its last call: a
 * tenth of idle_timeout_s, at least SIGNER_CONN_RECENT_MIN_MS and at most
 * SIGNER_CONN_RECENT_MAX_MS, since gRPC does not say when it closed). gRPC
 * 1.51's C core cannot refuse a TCP connection, so the connection limits
 * refuse the calls of a connection over the limit. Thread safe. */
#define SIGNER_CONN_RECENT_MIN_MS 5000u
#define SIGNER_CONN_RECENT_MAX_MS 30000u
typedef struct signer_admission signer_admission;

signet_err signer_admission_new(const signer_admission_limits *lim, signer_admission **out);
void signer_admission_free(signer_admission *a);

/* Admit a call of identity from peer at monotonic time now_ns: SIGNET_OK
 * (then call signer_admission_leave once it ends), or SIGNET_ELIMIT with
 * errmsg (errlen octets) naming the limit reached. SIGNET_EINVAL for missing
 * arguments. */
signet_err signer_admission_enter(signer_admission *a, const char *identity, const char *peer,
				  uint64_t now_ns, char *errmsg, size_t errlen);
void signer_admission_leave(signer_admission *a, const char *identity, const char *peer,
			    uint64_t now_ns);

/* Apply lim from now_ns on (a reload): calls in flight, rate, burst and the
 * connection limits. Calls and connections already admitted stay, even
 * over a lowered limit; each bucket keeps its tokens (at most the new
 * burst). idle_timeout_s keeps its value from signer_admission_new, since
 * gRPC's idle timer is fixed at start. SIGNET_EINVAL for a missing argument
 * or max_connections 0, SIGNET_ENOMEM; on failure nothing changed. */
signet_err signer_admission_set_limits(signer_admission *a, const signer_admission_limits *lim,
				       uint64_t now_ns);

#endif /* SIGNET_SIGNER_LIMITS_H */
