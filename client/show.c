/* show.c -- how the commands print what signetd tells them: key states,
 * keys, moments and distances in time. One form for each, so `signet keys`,
 * the admin commands and `signet check` read alike. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "dnssec/dnssec.h"

const char *client_backup_name(unsigned backup)
{
	static const char *const names[] = {"-", "none", "missing", "unproven", "proven"};
	return backup < sizeof(names) / sizeof(names[0]) ? names[backup] : "-";
}

const char *client_key_state_name(client_key_state s)
{
	switch (s) {
	case CLIENT_KEY_GENERATED:
		return "generated";
	case CLIENT_KEY_PUBLISHED:
		return "published";
	case CLIENT_KEY_ACTIVE:
		return "active";
	case CLIENT_KEY_RETIRED:
		return "retired";
	case CLIENT_KEY_REMOVED:
		return "removed";
	case CLIENT_KEY_UNKNOWN:
		break;
	}
	return "unknown";
}

void client_time_text(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "-");
}

void client_span_text(int64_t s, char *out, size_t len)
{
	if (s < 0)
		s = -s;
	if (s >= 86400)
		snprintf(out, len, "%lldd %lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, len, "%lldh %lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, len, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, len, "%llds", (long long)s);
}

void client_print_key(FILE *f, const client_key *k, client_key_style style, const char *what)
{
	if (style == CLIENT_KEY_AS_DNSKEY) {
		sg_buf text = SG_BUF_INIT;
		if (k->zone_ok && k->dnskey_len <= DNS_RDATA_MAX &&
		    dns_rr_to_text(&k->zone, DNS_T_DNSKEY, DNS_CLASS_IN, 3600, k->dnskey,
				   k->dnskey_len, &text) == SIGNET_OK)
			fprintf(f, "%s ; %s %s tag %u\n", (const char *)text.data, k->role,
				client_key_state_name(k->state), k->key_tag);
		sg_buf_free(&text);
		return;
	}
	sg_buf id = SG_BUF_INIT;
	if (k->id_len)
		(void)sg_hex_encode(k->id, k->id_len, &id);
	const char *idtext = id.len ? (const char *)id.data : "-";
	if (style == CLIENT_KEY_AS_LINE) {
		fprintf(f, "%s: %s algorithm %u tag %u state %s id %s\n", what, k->role,
			k->algorithm, k->key_tag, client_key_state_name(k->state), idtext);
	} else {
		char zone[DNS_NAME_STR_MAX], created[32];
		if (!k->zone_ok || dns_name_to_str(&k->zone, zone, sizeof(zone)) != SIGNET_OK)
			snprintf(zone, sizeof(zone), "?");
		client_time_text(k->created, created, sizeof(created));
		fprintf(f, "%-24s %-4s %3u %5u %-9s %-20s %-32s %s\n", zone, k->role, k->algorithm,
			k->key_tag, client_key_state_name(k->state), created, idtext,
			client_backup_name(k->backup));
	}
	sg_buf_free(&id);
}
