/* rpc_backup.c -- RestoreZskBackups, and what the other calls ask of keys
 * on every replica: whether the token holds the ZSKs a call signs with, and
 * what Health says of a zone whose key is lacking here. The restore itself
 * is backup.c's (through replica_keys.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/rpc.h"

#define RESTORE_FILES_MAX 4096 /* backup files one call may carry */
#define RESTORE_NAME_MAX 255
#define RESTORE_MESSAGES_MAX 64 /* reasons listed in one answer */

bool srv_keys_here(signer_server *srv, const char *zs, const signer_zsk *zsk, size_t n,
		   char *errmsg, size_t errlen)
{
	signer_replica_keys *r = srv->replica_keys;
	for (size_t i = 0; i < n; i++) {
		char why[240] = "";
		if (signer_replica_keys_have(r, zsk[i].id, zsk[i].id_len, why, sizeof(why)) ==
		    SIGNET_OK)
			continue;
		signer_replica_keys_refused(r);
		snprintf(errmsg, errlen,
			 "replica %s cannot sign zone %s: its token lacks ZSK %u: %s; another "
			 "replica may sign it",
			 signer_replica_keys_name(r), zs, zsk[i].key_tag, why);
		return false;
	}
	return true;
}

signet_err srv_zone_replica_health(signer_server *srv, const dns_name *zone, int64_t now,
				   char ***warnings, size_t *nwarnings, uint32_t *missing,
				   bool *active)
{
	size_t absent = 0, act = 0;
	char why[300];
	signer_replica_keys_zone(srv->replica_keys, zone, now, &absent, &act, why, sizeof(why));
	*missing = (uint32_t)absent;
	*active = act > 0;
	if (!absent)
		return SIGNET_OK;
	char *w = malloc(700);
	char **g = realloc(*warnings, (*nwarnings + 1) * sizeof(*g));
	if (!w || !g) {
		free(w);
		if (g)
			*warnings = g;
		return SIGNET_ENOMEM;
	}
	*warnings = g;
	snprintf(w, 700, "replica %s lacks %zu ZSK%s of the zone, first %s%s",
		 signer_replica_keys_name(srv->replica_keys), absent, absent == 1 ? "" : "s", why,
		 act ? "; its signing calls for the zone are refused (UNAVAILABLE)" : "");
	g[(*nwarnings)++] = w;
	return SIGNET_OK;
}

/* The files of req, checked against the bounds, into *out (n of them). */
static bool request_files(srv_call *c, const Signet__V1__RestoreZskBackupsRequest *req,
			  signer_backup_file **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (req->n_backups > RESTORE_FILES_MAX) {
		srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "backups: %zu files, more than %d",
			 req->n_backups, RESTORE_FILES_MAX);
		return false;
	}
	if (req->n_backups == 0)
		return true;
	signer_backup_file *f = calloc(req->n_backups, sizeof(*f));
	if (!f) {
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return false;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < req->n_backups; i++) {
		const Signet__V1__BackupFile *b = req->backups[i];
		const char *name = b && b->name ? b->name : "";
		size_t nl = strlen(name);
		bool printable = nl > 0 && nl <= RESTORE_NAME_MAX;
		for (size_t k = 0; printable && k < nl; k++)
			printable = name[k] > 0x20 && name[k] < 0x7f;
		if (!b || !printable) {
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				 "backups[%zu].name: 1..%d printable octets without spaces", i,
				 RESTORE_NAME_MAX);
			ok = false;
		} else if (b->text.len == 0 || b->text.len > SIGNER_BACKUP_TEXT_MAX) {
			srv_fail(c, GRPC_STATUS_INVALID_ARGUMENT,
				 "backups[%zu].text: empty or more than %d octets", i,
				 SIGNER_BACKUP_TEXT_MAX);
			ok = false;
		} else {
			memcpy(f[i].name, name, nl + 1);
			if (sg_buf_append(&f[i].text, b->text.data, b->text.len) != SIGNET_OK) {
				srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
				ok = false;
			}
		}
	}
	if (!ok) {
		signer_backup_files_free(f, req->n_backups);
		return false;
	}
	*out = f;
	*n = req->n_backups;
	return true;
}

static grpc_status_code restore_status(signet_err e)
{
	switch (e) {
	case SIGNET_EEXIST:
		return GRPC_STATUS_ALREADY_EXISTS;
	case SIGNET_ENOTFOUND:
		return GRPC_STATUS_NOT_FOUND;
	case SIGNET_EPARSE:
	case SIGNET_EVERIFY:
	case SIGNET_ESTATE:
		return GRPC_STATUS_FAILED_PRECONDITION;
	default:
		return srv_status_of(e);
	}
}

void rpc_restore_backups(srv_worker *w, srv_call *c, const char **zone_out, char *detail,
			 size_t dlen)
{
	(void)w;
	(void)zone_out;
	signer_server *srv = c->srv;
	Signet__V1__RestoreZskBackupsRequest *req = (Signet__V1__RestoreZskBackupsRequest *)
		srv_unpack(c, &signet__v1__restore_zsk_backups_request__descriptor);
	if (!req)
		return;
	signer_backup_file *files = NULL;
	size_t nfiles = 0;
	bool ok = request_files(c, req, &files, &nfiles);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	if (!ok)
		return;
	size_t restored = 0, absent = 0;
	char msg[400] = "";
	signet_err ret;
	if (nfiles) {
		ret = signer_replica_keys_restore_files(srv->replica_keys, files, nfiles,
							c->identity, &restored, msg, sizeof(msg));
	} else {
		/* From the state, tried again even where it failed before. */
		ret = signer_replica_keys_sync(srv->replica_keys, true, &restored, &absent);
		if (ret != SIGNET_OK)
			snprintf(msg, sizeof(msg), "%s", signet_strerror(ret));
	}
	signer_backup_files_free(files, nfiles);
	if (ret != SIGNET_OK) {
		snprintf(detail, dlen, "files=%zu restored=0", nfiles);
		srv_fail(c, restore_status(ret), "restore refused: %s", msg);
		return;
	}
	/* What the token still lacks, as the replica's own round sees it. */
	if (nfiles && (ret = signer_replica_keys_sync(srv->replica_keys, false, NULL, &absent)) !=
			      SIGNET_OK) {
		srv_fail(c, srv_status_of(ret), "restored %zu, then the state: %s", restored,
			 signet_strerror(ret));
		return;
	}
	snprintf(detail, dlen, "files=%zu restored=%zu missing=%zu", nfiles, restored, absent);
	dns_name *zones = NULL;
	size_t nz = 0;
	char *lines[RESTORE_MESSAGES_MAX];
	size_t nl = 0;
	if (absent && signer_state_list_zones(srv->state, &zones, &nz) == SIGNET_OK) {
		int64_t now = signer_clock_now();
		for (size_t i = 0; i < nz && nl < RESTORE_MESSAGES_MAX; i++) {
			size_t a = 0;
			char why[300], zs[DNS_NAME_STR_MAX];
			signer_replica_keys_zone(srv->replica_keys, &zones[i], now, &a, NULL, why,
						 sizeof(why));
			if (!a || !(lines[nl] = malloc(DNS_NAME_STR_MAX + 400)))
				continue;
			(void)dns_name_to_str(&zones[i], zs, sizeof(zs));
			snprintf(lines[nl++], DNS_NAME_STR_MAX + 400, "%s: %zu lacking, first %s",
				 zs, a, why);
		}
	}
	free(zones);
	Signet__V1__RestoreZskBackupsResponse resp = SIGNET__V1__RESTORE_ZSK_BACKUPS_RESPONSE__INIT;
	resp.restored = (uint32_t)restored;
	resp.missing = (uint32_t)absent;
	resp.messages = lines;
	resp.n_messages = nl;
	if (srv_reply(c, &resp.base) != SIGNET_OK)
		srv_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < nl; i++)
		free(lines[i]);
}
