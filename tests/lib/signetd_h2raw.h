/* signetd_h2raw.h -- an HTTP/2 client for hostile tests that writes every
 * frame itself: TLS 1.3 with a client certificate (OpenSSL), the preface,
 * SETTINGS (acknowledged or not, as the test says), HEADERS with a literal
 * HPACK block (no Huffman, no table), DATA with a gRPC message, and
 * RST_STREAM, so a test can do what no well-behaved library lets it:
 * streams that never send their message, HEADERS then RST_STREAM floods.
 * Frames are buffered and go out with h2raw_flush; what the server sends
 * is read and thrown away (GOAWAY and RST_STREAM are counted). */
#ifndef SIGNET_TEST_SIGNETD_H2RAW_H
#define SIGNET_TEST_SIGNETD_H2RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct h2raw h2raw;

/* Connect to 127.0.0.1:port with cert/key (PEM paths; both NULL: no client
 * certificate), trusting ca, ALPN h2; send the preface and an empty
 * SETTINGS; with ack_settings, acknowledge the server's SETTINGS when they
 * come. NULL if TCP or TLS fails (the handshake's error on stderr). */
h2raw *h2raw_open(int port, const char *ca, const char *cert, const char *key,
		  bool ack_settings);
void h2raw_close(h2raw *h);

/* Queue HEADERS for a POST of path on stream (odd, increasing), with
 * END_STREAM when end_stream. 0, or -1 when the buffer is full. */
int h2raw_headers(h2raw *h, uint32_t stream, const char *path, bool end_stream);
/* Queue DATA carrying msg (len octets) as one gRPC message, ending the
 * stream. */
int h2raw_message(h2raw *h, uint32_t stream, const uint8_t *msg, size_t len);
/* Queue RST_STREAM (CANCEL) for stream. */
int h2raw_rst(h2raw *h, uint32_t stream);

/* Write what is queued, reading (and discarding) what the server sent
 * meanwhile. 0, or -1 once the connection is closed or failed. */
int h2raw_flush(h2raw *h);
/* Read for up to ms milliseconds; -1 if the server closed the connection. */
int h2raw_pump(h2raw *h, long ms);

/* Whether the connection is still open as far as we know. */
bool h2raw_alive(const h2raw *h);
/* GOAWAY frames and RST_STREAM frames the server sent so far. */
unsigned h2raw_goaways(const h2raw *h);
unsigned h2raw_resets(const h2raw *h);

#endif /* SIGNET_TEST_SIGNETD_H2RAW_H */
