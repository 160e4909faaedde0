/* op_ds.c -- export-ds: DS, CDS and CDNSKEY of a KSK in presentation form, with the approvals attached. */
#include <stdio.h>
#include <string.h>

#include "ceremony/internal.h"

/* The "digests" parameter: "2" (default), "4" or "2,4". */
static signet_err param_digests(const cer_request *r, bool *sha256, bool *sha384, char *errmsg,
				size_t errlen)
{
	const char *v = cer_request_param(r, "digests");
	*sha256 = v == NULL || strcmp(v, "2") == 0 || strcmp(v, "2,4") == 0;
	*sha384 = v != NULL && (strcmp(v, "4") == 0 || strcmp(v, "2,4") == 0);
	if (!*sha256 && !*sha384)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"export-ds: digests must be 2, 4 or 2,4");
	return SIGNET_OK;
}

static signet_err ds_check(cer_run *run, char *errmsg, size_t errlen)
{
	uint8_t id[HSM_ID_MAX];
	size_t n;
	bool a, b;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK)
		err = param_digests(run->r, &a, &b, errmsg, errlen);
	if (err == SIGNET_OK && run->x->out == NULL)
		err = cer_fail(errmsg, errlen, SIGNET_EINVAL,
			       "export-ds: an output file is needed");
	return err;
}

static signet_err one_rr(cer_run *run, uint16_t type, uint32_t ttl, const sg_buf *rdata)
{
	signet_err err = dns_rr_to_text(&run->r->zone, type, DNS_CLASS_IN, ttl, rdata->data,
					rdata->len, &run->out);
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(&run->out, '\n');
	return err;
}

/* Each approval file, as comment lines, so the DS carries its authority. */
static signet_err attach_approvals(cer_run *run)
{
	signet_err err = sg_buf_printf(&run->out, "; approvals:\n");
	for (size_t i = 0; i < run->x->napprovals && err == SIGNET_OK; i++) {
		sg_buf b = SG_BUF_INIT;
		err = sg_file_read(run->x->approvals[i], CER_FILE_MAX, &b);
		size_t start = 0;
		for (size_t j = 0; j < b.len && err == SIGNET_OK; j++) {
			if (b.data[j] != '\n')
				continue;
			err = sg_buf_printf(&run->out, ";; %.*s\n", (int)(j - start),
					    (const char *)b.data + start);
			start = j + 1;
		}
		sg_buf_free(&b);
	}
	return err;
}

static signet_err ds_perform(cer_run *run, char *errmsg, size_t errlen)
{
	uint8_t id[HSM_ID_MAX];
	size_t n;
	bool sha256, sha384;
	hsm_key_info info;
	sg_buf dnskey = SG_BUF_INIT, ds2 = SG_BUF_INIT, ds4 = SG_BUF_INIT, words = SG_BUF_INIT;
	uint32_t ttl = 3600;
	uint64_t u;
	/* Empty until a step gives its reason; the others get a generic one. */
	errmsg[0] = '\0';
	const char *t = cer_request_param(run->r, "ttl");
	if (t != NULL && cer_uint(t, 0, 604800, &u) == SIGNET_OK)
		ttl = (uint32_t)u;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK)
		err = param_digests(run->r, &sha256, &sha384, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_ksk_find(run, id, n, false, &info, &dnskey, errmsg, errlen);
	if (err == SIGNET_OK && sha256)
		err = dns_ds_rdata(&run->r->zone, dnskey.data, dnskey.len, DNS_DIGEST_SHA256, &ds2);
	if (err == SIGNET_OK && sha384)
		err = dns_ds_rdata(&run->r->zone, dnskey.data, dnskey.len, DNS_DIGEST_SHA384, &ds4);
	uint16_t tag = 0;
	if (err == SIGNET_OK)
		err = dns_key_tag(dnskey.data, dnskey.len, &tag);
	if (err == SIGNET_OK)
		err = cer_words(run->r->hash, &words, errmsg, errlen);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&run->out,
				    "; signet-ceremony export-ds %s\n; key-tag %u "
				    "algorithm %u label %s\n; request ",
				    run->zone, tag, (unsigned)info.alg, info.label);
	if (err == SIGNET_OK)
		err = sg_hex_encode(run->r->hash, CER_HASH_LEN, &run->out);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&run->out, "\n; words %s\n", (const char *)words.data);
	if (err == SIGNET_OK)
		err = one_rr(run, DNS_T_DNSKEY, ttl, &dnskey);
	if (err == SIGNET_OK && sha256)
		err = one_rr(run, DNS_T_DS, ttl, &ds2);
	if (err == SIGNET_OK && sha384)
		err = one_rr(run, DNS_T_DS, ttl, &ds4);
	if (err == SIGNET_OK && sha256)
		err = one_rr(run, DNS_T_CDS, ttl, &ds2);
	if (err == SIGNET_OK && sha384)
		err = one_rr(run, DNS_T_CDS, ttl, &ds4);
	if (err == SIGNET_OK)
		err = one_rr(run, DNS_T_CDNSKEY, ttl, &dnskey);
	if (err == SIGNET_OK)
		err = attach_approvals(run);
	if (err != SIGNET_OK && errmsg[0] == '\0')
		cer_fail(errmsg, errlen, err, "export-ds: %s", signet_strerror(err));
	sg_buf_free(&dnskey);
	sg_buf_free(&ds2);
	sg_buf_free(&ds4);
	sg_buf_free(&words);
	return err;
}

/* The KSK exists in the token for this zone and is not retired, and its
 * backup is proven when the token holds a backup domain: a DS is never
 * published for a key that could not be restored. */
static signet_err ds_ready(cer_run *run, char *errmsg, size_t errlen)
{
	uint8_t id[HSM_ID_MAX];
	size_t n;
	hsm_key_info info;
	signet_err err = cer_param_key_id(run->r, id, &n, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_ksk_find(run, id, n, false, &info, NULL, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_ksk_backup_proven(run, id, n, errmsg, errlen);
	return err;
}

const cer_op cer_op_export_ds = {CER_OP_EXPORT_DS, true, ds_check, ds_perform, ds_ready};
