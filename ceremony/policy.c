/* policy.c -- the ceremony policy: operators, threshold, KSK token, limits; its signatures and adoption. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ceremony/internal.h"

#define POLICY_MAGIC "signet-ceremony-policy 1"
#define POLICY_SIG_TAG "signet-ceremony policy v1"
#define WHAT "policy"

signet_err cer_policy_message(const uint8_t hash[CER_HASH_LEN], sg_buf *out)
{
	signet_err err = sg_buf_append(out, POLICY_SIG_TAG, sizeof(POLICY_SIG_TAG));
	if (err == SIGNET_OK)
		err = sg_buf_append(out, hash, CER_HASH_LEN);
	return err;
}

static bool printable_no_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

/* The rules parse and write share, so whatever is written parses again. */
static signet_err policy_check(const cer_policy *p, char *errmsg, size_t errlen)
{
	if (p->count == 0 || p->count > CER_OPERATORS_MAX)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "policy: 1 to %d operators needed",
				CER_OPERATORS_MAX);
	if (p->threshold < 1 || p->threshold > p->count)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"policy: threshold %u is not within 1..%zu", p->threshold,
				p->count);
	if (p->serial == 0)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "policy: serial must be at least 1");
	for (size_t i = 0; i < p->count; i++) {
		if (!cer_name_ok(p->ops[i].name))
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"policy: operator %zu has a bad name", i + 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->ops[i].name, p->ops[j].name) == 0 ||
			    memcmp(p->ops[i].pub, p->ops[j].pub, CER_PUB_LEN) == 0)
				return cer_fail(errmsg, errlen, SIGNET_EINVAL,
						"policy: operator %s is listed twice "
						"(by name or key)",
						p->ops[i].name);
	}
	if (p->module[0] == '\0' || memchr(p->module, '\0', sizeof(p->module)) == NULL ||
	    !printable_no_blank(p->module))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"policy: token module path is empty or has blanks");
	size_t ll = strnlen(p->label, sizeof(p->label));
	if (ll == 0 || ll > 32 || !printable_no_blank(p->label))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"policy: token label must be 1 to 32 printable "
				"characters without blanks");
	if (p->nalgs == 0 || p->nalgs > CER_ALGS_MAX)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "policy: 1 to %d algorithms",
				CER_ALGS_MAX);
	for (size_t i = 0; i < p->nalgs; i++) {
		if (!dns_alg_supported(p->algs[i]))
			return cer_fail(errmsg, errlen, SIGNET_EINVAL,
					"policy: algorithm %u is not supported", p->algs[i]);
		for (size_t j = 0; j < i; j++)
			if (p->algs[i] == p->algs[j])
				return cer_fail(errmsg, errlen, SIGNET_EINVAL,
						"policy: algorithm %u twice", p->algs[i]);
	}
	if (p->max_period < 3600 || p->max_span < p->max_period)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"policy: max-period must be at least 3600 and "
				"max-span at least max-period");
	if (p->nsigs > CER_OPERATORS_MAX)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "policy: too many signatures");
	return SIGNET_OK;
}

static signet_err policy_body(const cer_policy *p, sg_buf *out)
{
	signet_err err = sg_buf_printf(out, "%s\nserial %llu\nthreshold %u\n", POLICY_MAGIC,
				       (unsigned long long)p->serial, p->threshold);
	for (size_t i = 0; i < p->count && err == SIGNET_OK; i++) {
		err = sg_buf_printf(out, "operator %s ", p->ops[i].name);
		if (err == SIGNET_OK)
			err = sg_base64_encode(p->ops[i].pub, CER_PUB_LEN, out);
		if (err == SIGNET_OK)
			err = sg_buf_put_u8(out, '\n');
	}
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "token-module %s\n", p->module);
	if (err == SIGNET_OK && p->has_module_sha256)
		err = cer_put_hex(out, "token-module-sha256", p->module_sha256, CER_HASH_LEN);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "token-label %s\nalgorithms", p->label);
	for (size_t i = 0; i < p->nalgs && err == SIGNET_OK; i++)
		err = sg_buf_printf(out, " %u", p->algs[i]);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "\nmax-period %lu\nmax-span %lu\n",
				    (unsigned long)p->max_period, (unsigned long)p->max_span);
	/* Written only when set, so that older policies keep their text. */
	if (err == SIGNET_OK && p->require_zsk_backup)
		err = sg_buf_printf(out, "require-zsk-backup yes\n");
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "end\n");
	return err;
}

signet_err cer_policy_write(cer_policy *p, sg_buf *out, char *errmsg, size_t errlen)
{
	if (p == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_policy_write: bad argument");
	signet_err err = policy_check(p, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	size_t mark = out->len;
	err = policy_body(p, out);
	if (err == SIGNET_OK)
		err = cer_sha256(out->data + mark, out->len - mark, p->hash, errmsg, errlen);
	for (size_t i = 0; i < p->nsigs && err == SIGNET_OK; i++) {
		err = sg_buf_printf(out, "signature ");
		if (err == SIGNET_OK)
			err = sg_base64_encode(p->sigs[i].pub, CER_PUB_LEN, out);
		if (err == SIGNET_OK)
			err = sg_buf_put_u8(out, ' ');
		if (err == SIGNET_OK)
			err = sg_base64_encode(p->sigs[i].sig, CER_SIG_LEN, out);
		if (err == SIGNET_OK)
			err = sg_buf_put_u8(out, '\n');
	}
	if (err != SIGNET_OK) {
		out->len = mark;
		if (err == SIGNET_ENOMEM)
			cer_fail(errmsg, errlen, err, "out of memory");
	}
	return err;
}

/* Split "a b" at its one blank into two fixed buffers. */
static bool split2(const char *v, char *a, size_t alen, char *b, size_t blen)
{
	const char *sp = strchr(v, ' ');
	if (sp == NULL || strchr(sp + 1, ' ') != NULL)
		return false;
	size_t al = (size_t)(sp - v), bl = strlen(sp + 1);
	if (al == 0 || al >= alen || bl == 0 || bl >= blen)
		return false;
	memcpy(a, v, al);
	a[al] = '\0';
	memcpy(b, sp + 1, bl + 1);
	return true;
}

static signet_err parse_lines(const cer_doc *d, cer_policy *p, char *errmsg, size_t errlen)
{
	size_t i = 0;
	const char *v;
	uint64_t u;
	signet_err err = cer_doc_take(d, &i, "serial", WHAT, &v, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	if (cer_uint(v, 1, UINT64_MAX >> 1, &u) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "policy: bad serial");
	p->serial = u;
	if ((err = cer_doc_take(d, &i, "threshold", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (cer_uint(v, 1, CER_OPERATORS_MAX, &u) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "policy: threshold must be 1..%d",
				CER_OPERATORS_MAX);
	p->threshold = (unsigned)u;
	while (i < d->n && strcmp(d->lines[i].key, "operator") == 0) {
		if (p->count == CER_OPERATORS_MAX)
			return cer_fail(errmsg, errlen, SIGNET_ERANGE,
					"policy: more than %d operators", CER_OPERATORS_MAX);
		char name[CER_NAME_MAX + 1], pub[64];
		cer_operator *op = &p->ops[p->count];
		if (!split2(d->lines[i].value, name, sizeof(name), pub, sizeof(pub)) ||
		    !cer_name_ok(name) || cer_b64_exact(pub, op->pub, CER_PUB_LEN) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EPARSE,
					"policy line %u: expected \"operator NAME "
					"PUBLIC-KEY\"",
					d->lines[i].lineno);
		memcpy(op->name, name, sizeof(name));
		p->count++;
		i++;
	}
	if ((err = cer_doc_take(d, &i, "token-module", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (strlen(v) >= sizeof(p->module))
		return cer_fail(errmsg, errlen, SIGNET_ERANGE, "policy: module path too long");
	memcpy(p->module, v, strlen(v) + 1);
	if (i < d->n && strcmp(d->lines[i].key, "token-module-sha256") == 0) {
		if (cer_hex_exact(d->lines[i].value, p->module_sha256, CER_HASH_LEN) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EPARSE,
					"policy line %u: token-module-sha256 is not "
					"64 hex digits",
					d->lines[i].lineno);
		p->has_module_sha256 = true;
		i++;
	}
	if ((err = cer_doc_take(d, &i, "token-label", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (strlen(v) >= sizeof(p->label))
		return cer_fail(errmsg, errlen, SIGNET_ERANGE,
				"policy: token label over 32 octets");
	memcpy(p->label, v, strlen(v) + 1);
	if ((err = cer_doc_take(d, &i, "algorithms", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	char tmp[64];
	if (strlen(v) >= sizeof(tmp))
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "policy: algorithms line too long");
	memcpy(tmp, v, strlen(v) + 1);
	for (char *save = NULL, *t = strtok_r(tmp, " ", &save); t != NULL;
	     t = strtok_r(NULL, " ", &save)) {
		if (p->nalgs == CER_ALGS_MAX || cer_uint(t, 1, 255, &u) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EPARSE,
					"policy: bad algorithm list");
		p->algs[p->nalgs++] = (uint8_t)u;
	}
	if ((err = cer_doc_take(d, &i, "max-period", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (cer_uint(v, 1, UINT32_MAX, &u) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "policy: bad max-period");
	p->max_period = (uint32_t)u;
	if ((err = cer_doc_take(d, &i, "max-span", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (cer_uint(v, 1, UINT32_MAX, &u) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "policy: bad max-span");
	p->max_span = (uint32_t)u;
	if (i < d->n && strcmp(d->lines[i].key, "require-zsk-backup") == 0) {
		if (strcmp(d->lines[i].value, "yes") != 0)
			return cer_fail(errmsg, errlen, SIGNET_EPARSE,
					"policy line %u: require-zsk-backup takes "
					"\"yes\" only (leave the line out for no)",
					d->lines[i].lineno);
		p->require_zsk_backup = true;
		i++;
	}
	if ((err = cer_doc_take(d, &i, "end", WHAT, &v, errmsg, errlen)) != SIGNET_OK)
		return err;
	if (v[0] != '\0')
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "policy: text after \"end\"");
	for (; i < d->n; i++) {
		char pub[64], sig[128];
		cer_policy_sig *s = &p->sigs[p->nsigs];
		if (strcmp(d->lines[i].key, "signature") != 0 || p->nsigs == CER_OPERATORS_MAX ||
		    !split2(d->lines[i].value, pub, sizeof(pub), sig, sizeof(sig)) ||
		    cer_b64_exact(pub, s->pub, CER_PUB_LEN) != SIGNET_OK ||
		    cer_b64_exact(sig, s->sig, CER_SIG_LEN) != SIGNET_OK)
			return cer_fail(errmsg, errlen, SIGNET_EPARSE,
					"policy line %u: expected \"signature "
					"PUBLIC-KEY SIGNATURE\"",
					d->lines[i].lineno);
		for (size_t j = 0; j < p->nsigs; j++)
			if (memcmp(p->sigs[j].pub, s->pub, CER_PUB_LEN) == 0)
				return cer_fail(errmsg, errlen, SIGNET_EPARSE,
						"policy line %u: a second signature "
						"by one key",
						d->lines[i].lineno);
		p->nsigs++;
	}
	return SIGNET_OK;
}

signet_err cer_policy_parse(const char *text, size_t len, cer_policy *out, char *errmsg,
			    size_t errlen)
{
	if (text == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_policy_parse: bad argument");
	memset(out, 0, sizeof(*out));
	cer_doc d;
	signet_err err = cer_doc_parse(text, len, POLICY_MAGIC, WHAT, &d, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	err = parse_lines(&d, out, errmsg, errlen);
	cer_doc_free(&d);
	if (err == SIGNET_OK) {
		err = policy_check(out, errmsg, errlen);
		if (err == SIGNET_EINVAL)
			err = SIGNET_EPARSE;
	}
	sg_buf body = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = policy_body(out, &body);
	if (err == SIGNET_OK)
		err = cer_sha256(body.data, body.len, out->hash, errmsg, errlen);
	sg_buf_free(&body);
	if (err != SIGNET_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

signet_err cer_policy_read(const char *path, cer_policy *out, char *errmsg, size_t errlen)
{
	sg_buf b = SG_BUF_INIT;
	signet_err err = cer_read_text(path, CER_FILE_MAX, "policy", &b, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_policy_parse((const char *)b.data, b.len, out, errmsg, errlen);
	sg_buf_free(&b);
	return err;
}

const cer_operator *cer_policy_find(const cer_policy *p, const char *name)
{
	for (size_t i = 0; p != NULL && name != NULL && i < p->count; i++)
		if (strcmp(p->ops[i].name, name) == 0)
			return &p->ops[i];
	return NULL;
}

unsigned cer_policy_signers(const cer_policy *p, const cer_policy *by)
{
	sg_buf msg = SG_BUF_INIT;
	if (cer_policy_message(p->hash, &msg) != SIGNET_OK) {
		sg_buf_free(&msg);
		return 0;
	}
	unsigned n = 0;
	for (size_t i = 0; i < by->count; i++)
		for (size_t j = 0; j < p->nsigs; j++)
			if (memcmp(p->sigs[j].pub, by->ops[i].pub, CER_PUB_LEN) == 0 &&
			    cer_signature_verify(p->sigs[j].pub, msg.data, msg.len,
						 p->sigs[j].sig) == SIGNET_OK) {
				n++;
				break;
			}
	sg_buf_free(&msg);
	return n;
}

signet_err cer_policy_sign_file(const char *path, const char *key_path, const sg_secret *pass,
				char *errmsg, size_t errlen)
{
	static cer_policy p; /* large; the tool is single-threaded */
	signet_err err = cer_policy_read(path, &p, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	sg_buf msg = SG_BUF_INIT, text = SG_BUF_INIT;
	uint8_t sig[CER_SIG_LEN];
	cer_operator who;
	err = cer_policy_message(p.hash, &msg);
	if (err == SIGNET_OK)
		err = cer_operator_sign(key_path, pass, msg.data, msg.len, sig, &who, errmsg,
					errlen);
	if (err == SIGNET_OK) {
		size_t j = 0;
		while (j < p.nsigs && memcmp(p.sigs[j].pub, who.pub, CER_PUB_LEN) != 0)
			j++;
		if (j == p.nsigs)
			p.nsigs++;
		memcpy(p.sigs[j].pub, who.pub, CER_PUB_LEN);
		memcpy(p.sigs[j].sig, sig, CER_SIG_LEN);
		err = cer_policy_write(&p, &text, errmsg, errlen);
	}
	if (err == SIGNET_OK) {
		err = sg_file_write_atomic(path, text.data, text.len, 0644);
		if (err != SIGNET_OK)
			cer_fail(errmsg, errlen, err, "%s: cannot write", path);
	}
	sg_buf_free(&msg);
	sg_buf_free(&text);
	return err;
}

static signet_err policy_path(const char *dir, char *out, size_t outlen, char *errmsg,
			      size_t errlen)
{
	if (dir == NULL || (size_t)snprintf(out, outlen, "%s/policy", dir) >= outlen)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"ceremony directory missing or too long");
	return SIGNET_OK;
}

signet_err cer_policy_load(const char *dir, cer_policy *out, char *errmsg, size_t errlen)
{
	char path[4096];
	signet_err err = policy_path(dir, path, sizeof(path), errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_policy_read(path, out, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	unsigned n = cer_policy_signers(out, out);
	if (n < out->threshold)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"policy %s carries %u valid signatures of its "
				"operators, %u needed",
				path, n, out->threshold);
	return SIGNET_OK;
}

signet_err cer_policy_adopt(const char *dir, const char *new_path, char *errmsg, size_t errlen)
{
	static cer_policy np, op; /* large; the tool is single-threaded */
	char path[4096];
	signet_err err = policy_path(dir, path, sizeof(path), errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_policy_read(new_path, &np, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	unsigned own = cer_policy_signers(&np, &np);
	if (own < np.threshold)
		return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
				"new policy: %u valid signatures of its own "
				"operators, %u needed",
				own, np.threshold);
	struct stat st;
	bool have_old = stat(path, &st) == 0;
	if (have_old) {
		err = cer_policy_load(dir, &op, errmsg, errlen);
		if (err != SIGNET_OK)
			return err;
		if (np.serial <= op.serial)
			return cer_fail(errmsg, errlen, SIGNET_ESTATE,
					"new policy serial %llu is not above the "
					"current %llu",
					(unsigned long long)np.serial,
					(unsigned long long)op.serial);
		unsigned old = cer_policy_signers(&np, &op);
		if (old < op.threshold)
			return cer_fail(errmsg, errlen, SIGNET_EQUORUM,
					"a change needs the current quorum: %u "
					"valid signatures of current operators, %u needed",
					old, op.threshold);
	}
	/* The transcript entry goes to disk before the new policy takes effect. */
	cer_log_entry e;
	memset(&e, 0, sizeof(e));
	snprintf(e.op, sizeof(e.op), "adopt-policy");
	snprintf(e.zone, sizeof(e.zone), "-");
	memcpy(e.request, np.hash, CER_HASH_LEN);
	size_t used = 0;
	for (size_t i = 0; i < np.count; i++) {
		for (size_t j = 0; j < np.nsigs; j++) {
			if (memcmp(np.sigs[j].pub, np.ops[i].pub, CER_PUB_LEN) != 0)
				continue;
			used += (size_t)snprintf(e.approvers + used, sizeof(e.approvers) - used,
						 "%s%s", used ? "," : "", np.ops[i].name);
		}
	}
	if (used == 0)
		snprintf(e.approvers, sizeof(e.approvers), "-");
	snprintf(e.result, sizeof(e.result), "ok");
	memcpy(e.outputs, np.hash, CER_HASH_LEN);
	char log[4200];
	snprintf(log, sizeof(log), "%s/transcript.log", dir);
	sg_buf text = SG_BUF_INIT;
	err = cer_policy_write(&np, &text, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_log_append(log, &e, errmsg, errlen);
	if (err == SIGNET_OK &&
	    (err = sg_file_write_atomic(path, text.data, text.len, 0644)) != SIGNET_OK)
		cer_fail(errmsg, errlen, err, "%s: cannot write", path);
	sg_buf_free(&text);
	return err;
}
