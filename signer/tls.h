/* tls.h -- signetd's TLS set-up (tls.c). */
#ifndef SIGNET_SIGNER_TLS_H
#define SIGNET_SIGNER_TLS_H

#include <grpc/grpc_security.h>

#include "signer/signer.h"

/* Refuse every TLS version below 1.3 in every OpenSSL context the process
 * makes from now on (tls12 off). Call before gRPC makes its contexts.
 * SIGNET_ECRYPTO when OpenSSL refuses the configuration. */
signet_err srv_tls13_only(void);

/* *out: gRPC server credentials for mutual TLS from cfg's tls-cert, tls-key
 * and tls-ca (PEM files of at most 1 MiB), requiring and verifying a client
 * certificate; release with grpc_server_credentials_release. SIGNET_EPARSE
 * (or sg_file_read's error) for a file that is not PEM, logged with its
 * path; SIGNET_ECRYPTO when gRPC refuses them.
 *
 * A tls-key that is a PKCS#11 URI names a key kept in a token of hsm's
 * module: token when the URI names it (signetd's ZSK token, whose login
 * serves), else the token is logged in with the PIN from tls-key-pin. The
 * key is checked and loaded through libp11's engine (hsm_tls_key_open) and
 * *key keeps the token's login, which every handshake signs through: close
 * it with hsm_tls_key_close once the gRPC server is gone. Its errors are
 * logged naming the token and key. *key is NULL for a PEM key. */
signet_err srv_tls_credentials(const signer_config *cfg, hsm_ctx *hsm, hsm_token *token,
			       hsm_tls_key **key, grpc_server_credentials **out);

#endif /* SIGNET_SIGNER_TLS_H */
