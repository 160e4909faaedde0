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
 * path; SIGNET_ECRYPTO when gRPC refuses them. */
signet_err srv_tls_credentials(const signer_config *cfg, grpc_server_credentials **out);

#endif /* SIGNET_SIGNER_TLS_H */
