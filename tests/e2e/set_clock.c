/* set_clock.c -- signet-test-clock CONFIG EPOCH: freeze the clock of a
 * signetd started with SIGNETD_TEST_CLOCK=1 at EPOCH (Rollover SET_CLOCK,
 * which has no command in `signet`, docs/CLIENT.md), as the admin of "*"
 * whose client configuration CONFIG names. For the end-to-end rollover
 * test (tests/e2e/rollover.sh) only; never installed. Exit 0 when signetd
 * took the time, 1 otherwise with the reason on stderr. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "proto/signet.pb-c.h"

int main(int argc, char **argv)
{
	char *end = NULL;
	if (argc != 3) {
		fprintf(stderr, "usage: signet-test-clock CONFIG EPOCH\n");
		return 1;
	}
	long long t = strtoll(argv[2], &end, 10);
	if (!*argv[2] || *end || t <= 0) {
		fprintf(stderr, "signet-test-clock: EPOCH must be seconds since 1970\n");
		return 1;
	}
	client_config cfg;
	client_config_init(&cfg);
	char msg[512] = "";
	client_conn *c = NULL;
	if (client_config_load(argv[1], &cfg, msg, sizeof(msg)) != SIGNET_OK ||
	    client_config_check(&cfg, msg, sizeof(msg)) != SIGNET_OK ||
	    client_open(&cfg, &c, msg, sizeof(msg)) != SIGNET_OK) {
		fprintf(stderr, "signet-test-clock: %s\n", msg);
		return 1;
	}
	Signet__V1__RolloverRequest r = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	r.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK;
	r.time = (int64_t)t;
	client_status st;
	ProtobufCMessage *resp = NULL;
	signet_err err = client_call_msg(c, CLIENT_SVC "Rollover", &r.base,
					 &signet__v1__rollover_response__descriptor, &resp, &st);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	client_close(c);
	if (err != SIGNET_OK || st.code != 0) {
		fprintf(stderr, "signet-test-clock: %s\n",
			err != SIGNET_OK ? "call failed" : st.details);
		return 1;
	}
	return 0;
}
