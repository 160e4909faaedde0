/* cmd_keys.c -- `signet keys [ZONE]` (ListKeys) and `signet health`
 * (Health): what an operator or a monitoring check reads. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "dnssec/dnssec.h"
#include "proto/signet.pb-c.h"

enum { OPT_DNSKEY = CLIENT_OPT_FIRST_FREE, OPT_WARN };

#define WARN_DEFAULT 86400

static const char *state_name(Signet__V1__KeyState s)
{
	switch (s) {
	case SIGNET__V1__KEY_STATE__KEY_GENERATED: return "generated";
	case SIGNET__V1__KEY_STATE__KEY_PUBLISHED: return "published";
	case SIGNET__V1__KEY_STATE__KEY_ACTIVE: return "active";
	case SIGNET__V1__KEY_STATE__KEY_RETIRED: return "retired";
	case SIGNET__V1__KEY_STATE__KEY_REMOVED: return "removed";
	default: return "unknown";
	}
}

/* A wire-form name from the server as text, "?" when malformed. */
static void wire_name(const ProtobufCBinaryData *b, char *out, size_t len)
{
	dns_name n;
	if (dns_name_from_wire(&n, b->data, b->len, NULL) != SIGNET_OK ||
	    dns_name_to_str(&n, out, len) != SIGNET_OK)
		snprintf(out, len, "?");
}

/* Print one KeyInfo as a table row, or as a DNSKEY RR with a comment. */
static void print_key(const Signet__V1__KeyInfo *k, bool as_dnskey)
{
	char zone[DNS_NAME_STR_MAX];
	wire_name(&k->zone, zone, sizeof(zone));
	const char *role = k->role && strlen(k->role) < 8 ? k->role : "?";
	if (as_dnskey) {
		dns_name owner;
		sg_buf text = SG_BUF_INIT;
		if (dns_name_from_wire(&owner, k->zone.data, k->zone.len, NULL) == SIGNET_OK &&
		    k->dnskey.len <= DNS_RDATA_MAX &&
		    dns_rr_to_text(&owner, DNS_T_DNSKEY, DNS_CLASS_IN, 3600, k->dnskey.data,
				   k->dnskey.len, &text) == SIGNET_OK)
			printf("%s ; %s %s tag %u\n", (const char *)text.data, role,
			       state_name(k->state), k->key_tag);
		sg_buf_free(&text);
		return;
	}
	char created[32] = "-";
	time_t t = (time_t)k->created;
	struct tm tm;
	if (k->created > 0 && gmtime_r(&t, &tm))
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sg_buf id = SG_BUF_INIT;
	if (k->id.len && k->id.len <= 64)
		(void)sg_hex_encode(k->id.data, k->id.len, &id);
	printf("%-24s %-4s %3u %5u %-9s %-20s %s\n", zone, role, k->algorithm, k->key_tag,
	       state_name(k->state), created, id.len ? (const char *)id.data : "-");
	sg_buf_free(&id);
}

int signet_cmd_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dnskey", 0, NULL, OPT_DNSKEY}, {"help", 0, NULL, 'h'}, CLIENT_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	client_flags flags;
	memset(&flags, 0, sizeof(flags));
	bool as_dnskey = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_DNSKEY) {
			as_dnskey = true;
		} else if (c == 'h') {
			printf("usage: signet keys [ZONE] [--dnskey]\n" CLIENT_CONN_USAGE
			       "Lists the keys of ZONE (or of every zone the admin may see):\n"
			       "zone, role, algorithm, key tag, state, creation time, token ID;\n"
			       "with --dnskey as DNSKEY RRs. Needs the admin role.\n");
			return SIGNET_EXIT_OK;
		} else if (!client_flags_take(&flags, c, optarg)) {
			fprintf(stderr, "usage: signet keys [ZONE] [--dnskey]\n");
			return SIGNET_EXIT_USAGE;
		}
	}
	dns_name zone;
	Signet__V1__ListKeysRequest req = SIGNET__V1__LIST_KEYS_REQUEST__INIT;
	if (argc - optind > 1) {
		fprintf(stderr, "keys: at most one zone\n");
		return SIGNET_EXIT_USAGE;
	}
	if (argc - optind == 1) {
		if (dns_name_from_str(&zone, argv[optind]) != SIGNET_OK) {
			fprintf(stderr, "keys: '%s' is not a domain name\n", argv[optind]);
			return SIGNET_EXIT_USAGE;
		}
		req.zone.data = zone.wire;
		req.zone.len = zone.len;
	}
	client_conn *conn = NULL;
	int rc = client_connect("keys", &flags, &conn);
	if (rc != SIGNET_EXIT_OK)
		return rc;
	ProtobufCMessage *m = NULL;
	client_status st;
	signet_err ret = client_call_msg(conn, CLIENT_SVC "ListKeys", &req.base,
					 &signet__v1__list_keys_response__descriptor, &m, &st);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "keys: ListKeys: %s\n", signet_strerror(ret));
		rc = SIGNET_EXIT_ERROR;
	} else if (st.code != 0) {
		rc = client_report("keys", "ListKeys", &st);
	} else {
		Signet__V1__ListKeysResponse *r = (Signet__V1__ListKeysResponse *)m;
		if (!as_dnskey)
			printf("%-24s %-4s %3s %5s %-9s %-20s %s\n", "ZONE", "ROLE", "ALG", "TAG",
			       "STATE", "CREATED", "ID");
		for (size_t i = 0; i < r->n_keys; i++)
			print_key(r->keys[i], as_dnskey);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	client_close(conn);
	return rc;
}

int signet_cmd_health(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"warn", 1, NULL, OPT_WARN}, {"help", 0, NULL, 'h'}, CLIENT_CONN_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	client_flags flags;
	memset(&flags, 0, sizeof(flags));
	long warn = WARN_DEFAULT;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_WARN) {
			char *end = NULL;
			warn = strtol(optarg, &end, 10);
			if (*end || warn < 0 || warn > 366L * 86400) {
				fprintf(stderr, "health: --warn: seconds, 0..31622400\n");
				return SIGNET_EXIT_USAGE;
			}
		} else if (c == 'h') {
			printf("usage: signet health [--warn SECONDS]\n" CLIENT_CONN_USAGE
			       "Token and key state of the zones this client may see. Exit 1\n"
			       "when the token is absent or logged out, a zone has no active ZSK\n"
			       "or its key set runs out within --warn seconds (default 86400).\n");
			return SIGNET_EXIT_OK;
		} else if (!client_flags_take(&flags, c, optarg)) {
			fprintf(stderr, "usage: signet health [--warn SECONDS]\n");
			return SIGNET_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "health: unexpected argument '%s'\n", argv[optind]);
		return SIGNET_EXIT_USAGE;
	}
	client_conn *conn = NULL;
	int rc = client_connect("health", &flags, &conn);
	if (rc != SIGNET_EXIT_OK)
		return rc;
	Signet__V1__HealthRequest req = SIGNET__V1__HEALTH_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	client_status st;
	signet_err ret = client_call_msg(conn, CLIENT_SVC "Health", &req.base,
					 &signet__v1__health_response__descriptor, &m, &st);
	if (ret != SIGNET_OK) {
		fprintf(stderr, "health: Health: %s\n", signet_strerror(ret));
		rc = SIGNET_EXIT_ERROR;
	} else if (st.code != 0) {
		rc = client_report("health", "Health", &st);
	} else {
		Signet__V1__HealthResponse *h = (Signet__V1__HealthResponse *)m;
		bool ok = h->token_present && h->logged_in;
		printf("signetd %s\ntoken: %s, %s\n",
		       h->version && strlen(h->version) < 64 ? h->version : "?",
		       h->token_present ? "present" : "ABSENT",
		       h->logged_in ? "logged in" : "NOT LOGGED IN");
		for (size_t i = 0; i < h->n_zones; i++) {
			const Signet__V1__ZoneHealth *z = h->zones[i];
			char name[DNS_NAME_STR_MAX];
			wire_name(&z->zone, name, sizeof(name));
			bool zok = z->active_zsk && z->keyset_seconds_left > warn;
			ok = ok && zok;
			if (z->keyset_seconds_left > 0)
				printf("zone %s: active ZSK %s, key set valid for %lldd %02lldh%s\n",
				       name, z->active_zsk ? "yes" : "NO",
				       (long long)(z->keyset_seconds_left / 86400),
				       (long long)(z->keyset_seconds_left % 86400 / 3600),
				       zok ? "" : " (TOO SHORT)");
			else
				printf("zone %s: active ZSK %s, NO VALID KEY SET\n", name,
				       z->active_zsk ? "yes" : "NO");
		}
		printf("status: %s\n", ok ? "ok" : "UNHEALTHY");
		rc = ok ? SIGNET_EXIT_OK : SIGNET_EXIT_FAIL;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	client_close(conn);
	return rc;
}
