/* tls.h -- signetd's TLS set-up (tls.c). */
#ifndef SIGNET_SIGNER_TLS_H
#define SIGNET_SIGNER_TLS_H

#include <grpc/grpc_security.h>

#include "signer/signer.h"

/* Refuse every TLS version below 1.3 in every OpenSSL context the process
 * makes from now on (tls12 off). Call before gRPC makes its contexts.
 * SIGNET_ECRYPTO when OpenSSL refuses the configuration. */
signet_err srv_tls13_only(void);

/* The TLS material of a running server (tls.c): what gRPC's fetcher hands
 * out, and the key in a token with the thread that repairs it. */
typedef struct srv_tls srv_tls;

/* *out: gRPC server credentials for mutual TLS from cfg's tls-cert, tls-key
 * and tls-ca (PEM files of at most 1 MiB), requiring and verifying a client
 * certificate; release with grpc_server_credentials_release. gRPC takes
 * them from *tls at every new handshake, so they can change while it runs
 * (srv_tls_reload, and the repair below). SIGNET_EPARSE (or sg_file_read's
 * error) for a file that is not PEM, logged with its path; SIGNET_ECRYPTO
 * when gRPC refuses them.
 *
 * A tls-key that is a PKCS#11 URI names a key kept in a token of hsm's
 * module: token when the URI names it (signetd's ZSK token, whose login
 * serves), else the token is logged in with the PIN from tls-key-pin. The
 * key is checked and loaded through libp11's engine (hsm_tls_key_open), and
 * a thread of *tls repairs it when a signature through the engine fails
 * (hsm_tls_key_check: log in again, a fresh engine), handing gRPC the new
 * engine key for the next handshakes and logging "TLS key reloaded". Its
 * errors are logged naming the token and key.
 *
 * Free *tls with srv_tls_free once the gRPC server is gone (handshakes sign
 * through its token login). */
signet_err srv_tls_credentials(const signer_config *cfg, hsm_ctx *hsm, hsm_token *token,
			       srv_tls **tls, grpc_server_credentials **out);

/* SIGHUP: read tls-cert, tls-ca and a PEM tls-key again (at the same or
 * new paths) and, when they changed, hand them to gRPC for new
 * connections; a key in a token stays and must match the new certificate.
 * The pair is checked first; on any error (logged) nothing changes. A
 * tls-key URI or tls-key-pin that changed, or a switch between a file and a
 * token, keeps everything until a restart (logged). */
signet_err srv_tls_reload(srv_tls *t, const signer_config *cfg);

/* Times the key in a token was loaded through a new engine instance. */
uint64_t srv_tls_reloads(const srv_tls *t);

/* Stop the repair thread, close the token key, free t. NULL is fine. */
void srv_tls_free(srv_tls *t);

#endif /* SIGNET_SIGNER_TLS_H */
