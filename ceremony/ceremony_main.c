/* ceremony_main.c -- the signet-ceremony command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ceremony/ceremony.h"

#define LIST_MAX 256

/* Options of every command; each command uses the ones it needs. */
struct opts {
	const char *name, *key, *pub, *passphrase, *out, *policy, *dir, *op, *zone, *keyset,
		*request, *log, *module, *label, *shares_out, *config, *so_pin, *backup_dir;
	const char *params[LIST_MAX], *operators[LIST_MAX], *approvals[LIST_MAX], *shares[LIST_MAX],
		*passes[LIST_MAX], *algs[LIST_MAX], *so_shares[LIST_MAX], *domain_shares[LIST_MAX];
	size_t nparams, noperators, napprovals, nshares, npasses, nalgs, nso_shares, ndomain_shares;
	unsigned long long serial, threshold, valid_for, max_period, max_span;
	bool interactive, token, help, require_zsk_backup;
};

static void usage_to(FILE *f)
{
	fputs("usage: signet-ceremony COMMAND [options]   (docs/CEREMONY.md has the whole guide)\n"
	      "  enroll --name N --key FILE --pub FILE --passphrase SPEC\n"
	      "  policy-new --out FILE --serial S --threshold M --operator PUB... --module PATH\n"
	      "             --label LABEL --alg A... [--max-period SEC] [--max-span SEC]\n"
	      "             [--require-zsk-backup]\n"
	      "  policy-sign --policy FILE --key FILE --passphrase SPEC\n"
	      "  policy-adopt --dir DIR --policy FILE\n"
	      "  request --dir DIR --op OP [--zone Z] [--param K=V]... [--keyset FILE]\n"
	      "          [--valid-for SEC] --out FILE\n"
	      "  show --request FILE\n"
	      "  approve --request FILE --key FILE --passphrase SPEC --out FILE [--interactive]\n"
	      "  execute --dir DIR --request FILE --approval FILE... --share NAME=FILE...\n"
	      "          --pass NAME=SPEC... [--keyset FILE] [--out FILE] [--shares-out DIR]\n"
	      "          [--backup-dir DIR] [--domain-share NAME=FILE...]\n"
	      "          [--so-share NAME=FILE...] [--so-pin SPEC] [--config FILE] [--interactive]\n"
	      "  verify-log (--dir DIR [--token [--config FILE]] | --log FILE)\n"
	      "  --help     this text\n"
	      "SPEC is file:PATH, fd:N, env:NAME or tty (read without echo); never the secret.\n"
	      "The PKCS#11 module comes from the machine's configuration (--config, else\n"
	      "$" CER_CONFIG_ENV ", else " CER_CONFIG_DEFAULT
	      "), never from the ceremony directory.\n",
	      f);
}

static void usage(void)
{
	usage_to(stderr);
}

static int fail(signet_err err, const char *errmsg)
{
	fprintf(stderr, "signet-ceremony: %s (%s)\n", errmsg, signet_errname(err));
	return err == SIGNET_EQUORUM || err == SIGNET_EDENIED || err == SIGNET_EVERIFY ||
			       err == SIGNET_ETIME || err == SIGNET_EPERM
		       ? 3
		       : 1;
}

static bool add(const char **list, size_t *n, const char *v)
{
	if (*n == LIST_MAX)
		return false;
	list[(*n)++] = v;
	return true;
}

static bool number(const char *s, unsigned long long *out)
{
	char *end = NULL;
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	*out = strtoull(s, &end, 10);
	return *end == '\0';
}

static bool parse(int argc, char **argv, struct opts *o)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;
		if (strcmp(a, "--require-zsk-backup") == 0) {
			o->require_zsk_backup = true;
			continue;
		}
		if (strcmp(a, "--interactive") == 0) {
			o->interactive = true;
			continue;
		}
		if (strcmp(a, "--token") == 0) {
			o->token = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = true;
			continue;
		}
		if (v == NULL)
			return false;
		i++;
#define STR(flag, field) else if (strcmp(a, flag) == 0) o->field = v
#define LST(flag, field) else if (strcmp(a, flag) == 0) ok = add(o->field, &o->n##field, v)
#define NUM(flag, field) else if (strcmp(a, flag) == 0) ok = number(v, &o->field)
		if (0) {
		}
		STR("--name", name);
		STR("--key", key);
		STR("--pub", pub);
		STR("--passphrase", passphrase);
		STR("--out", out);
		STR("--policy", policy);
		STR("--dir", dir);
		STR("--op", op);
		STR("--zone", zone);
		STR("--keyset", keyset);
		STR("--request", request);
		STR("--log", log);
		STR("--module", module);
		STR("--label", label);
		STR("--shares-out", shares_out);
		STR("--backup-dir", backup_dir);
		STR("--config", config);
		STR("--so-pin", so_pin);
		LST("--so-share", so_shares);
		LST("--domain-share", domain_shares);
		LST("--param", params);
		LST("--operator", operators);
		LST("--approval", approvals);
		LST("--share", shares);
		LST("--pass", passes);
		LST("--alg", algs);
		NUM("--serial", serial);
		NUM("--threshold", threshold);
		NUM("--valid-for", valid_for);
		NUM("--max-period", max_period);
		NUM("--max-span", max_span);
		else ok = false;
		if (!ok) {
			fprintf(stderr, "signet-ceremony: bad option %s\n", a);
			return false;
		}
	}
	return true;
}

/* Whether spec names a source rather than being the secret itself. */
static bool spec_form_ok(const char *spec)
{
	return strcmp(spec, "tty") == 0 || strncmp(spec, "file:", 5) == 0 ||
	       strncmp(spec, "fd:", 3) == 0 || strncmp(spec, "env:", 4) == 0;
}

/* A secret from a spec; "tty" asks on the terminal. Anything else than a
 * source is refused without repeating it: it may be the passphrase itself,
 * typed where a source was expected, and must not reach a log. */
static signet_err get_secret(const char *spec, const char *prompt, sg_secret **out)
{
	if (spec == NULL)
		return SIGNET_EINVAL;
	if (!spec_form_ok(spec)) {
		fprintf(stderr,
			"signet-ceremony: passphrases and PINs are never taken from the "
			"command line; give file:PATH, fd:N, env:NAME or tty\n");
		return SIGNET_EINVAL;
	}
	if (strcmp(spec, "tty") == 0) {
		char errmsg[CER_ERRMSG_MAX] = "";
		signet_err err = cer_read_passphrase_tty(prompt, out, errmsg, sizeof(errmsg));
		if (err != SIGNET_OK)
			fprintf(stderr, "signet-ceremony: %s\n", errmsg);
		return err;
	}
	signet_err err = sg_secret_from_spec(spec, out);
	if (err == SIGNET_EPERM)
		fprintf(stderr,
			"signet-ceremony: %s: group or others may read it, or it is "
			"not yours; chmod 600 it\n",
			spec);
	else if (err != SIGNET_OK)
		fprintf(stderr, "signet-ceremony: cannot read the secret from %s: %s\n", spec,
			signet_strerror(err));
	return err;
}

/* Exit status for a secret that could not be had: a malformed spec is a
 * usage error, a file others may read is refused. */
static int secret_status(signet_err err)
{
	return err == SIGNET_EINVAL ? 2 : err == SIGNET_EPERM ? 3 : 1;
}

/* The item after p in a comma-separated list, or NULL. */
static const char *next_item(const char *p)
{
	const char *c = strchr(p, ',');
	return c != NULL ? c + 1 : NULL;
}

/* What an approver must not miss in a sign-keyset: how many KSKs sign, and
 * every foreign ZSK (another provider's key, no proof of possession) that
 * goes into the DNSKEY RRset on the operators' word alone. */
static void show_keyset_notes(const cer_request *r)
{
	if (strcmp(r->op, CER_OP_SIGN_KEYSET) != 0)
		return;
	const char *ids = cer_request_param(r, "key-id");
	if (ids != NULL && strchr(ids, ',') != NULL) {
		size_t n = 0;
		for (const char *p = ids; p != NULL; p = next_item(p))
			n++;
		printf("signs with %zu KSKs (each signs the periods whose DNSKEY set holds it):"
		       "\n",
		       n);
		for (const char *p = ids; p != NULL; p = next_item(p))
			printf("  KSK key-id %.*s\n", (int)strcspn(p, ","), p);
	}
	const char *f = cer_request_param(r, "foreign-zsk");
	if (f == NULL)
		return;
	printf("!!! FOREIGN ZSKS: keys signetd does not hold, signed into the DNSKEY RRset "
	       "on your approval !!!\n");
	for (const char *p = f; p != NULL; p = next_item(p)) {
		int len = (int)strcspn(p, ",");
		int tag = (int)strcspn(p, "/");
		const char *alg = tag < len ? p + tag + 1 : p + len;
		int alen = (int)strcspn(alg, "/,");
		const char *hash = alg[alen] == '/' ? alg + alen + 1 : alg + alen;
		printf("!!! foreign ZSK: key tag %.*s, algorithm %.*s, SHA-256 of its DNSKEY "
		       "RDATA %.*s\n",
		       tag < len ? tag : len, p, alen, alg, (int)strcspn(hash, ","), hash);
	}
	printf("!!! compare each with the other provider's DNSKEY before you approve !!!\n");
}

static int show_request(const char *path)
{
	char errmsg[CER_ERRMSG_MAX] = "";
	cer_request r;
	signet_err err = cer_request_read(path, &r, errmsg, sizeof(errmsg));
	if (err != SIGNET_OK)
		return fail(err, errmsg);
	sg_buf text = SG_BUF_INIT, hex = SG_BUF_INIT, words = SG_BUF_INIT;
	err = cer_request_write(&r, &text, errmsg, sizeof(errmsg));
	if (err == SIGNET_OK)
		err = sg_hex_encode(r.hash, CER_HASH_LEN, &hex);
	if (err == SIGNET_OK)
		err = cer_words(r.hash, &words, errmsg, sizeof(errmsg));
	if (err == SIGNET_OK) {
		printf("%.*s\n", (int)text.len, (const char *)text.data);
		show_keyset_notes(&r);
		printf("request hash %s\nread aloud:  %s\n", (const char *)hex.data,
		       (const char *)words.data);
	}
	sg_buf_free(&text);
	sg_buf_free(&hex);
	sg_buf_free(&words);
	return err == SIGNET_OK ? 0 : fail(err, errmsg);
}

static int cmd_enroll(struct opts *o)
{
	char errmsg[CER_ERRMSG_MAX] = "";
	sg_secret *pw = NULL, *again = NULL;
	if (o->name == NULL || o->key == NULL || o->pub == NULL || o->passphrase == NULL) {
		usage();
		return 2;
	}
	signet_err err = get_secret(o->passphrase, "New passphrase: ", &pw);
	if (err != SIGNET_OK)
		return secret_status(err);
	/* A typo here would lock the operator out of her key for good. */
	if (strcmp(o->passphrase, "tty") == 0) {
		err = get_secret("tty", "The same passphrase again: ", &again);
		if (err != SIGNET_OK) {
			sg_secret_free(pw);
			return secret_status(err);
		}
		bool same = again->len == pw->len && memcmp(again->data, pw->data, pw->len) == 0;
		sg_secret_free(again);
		if (!same) {
			sg_secret_free(pw);
			fprintf(stderr,
				"signet-ceremony: the two passphrases differ; nothing "
				"written\n");
			return 3;
		}
	}
	err = cer_enroll(o->name, pw, o->key, o->pub, errmsg, sizeof(errmsg));
	sg_secret_free(pw);
	return err == SIGNET_OK ? 0 : fail(err, errmsg);
}

static int cmd_policy_new(struct opts *o)
{
	char errmsg[CER_ERRMSG_MAX] = "";
	cer_policy *p = calloc(1, sizeof(*p));
	if (p == NULL || o->out == NULL || o->module == NULL || o->label == NULL ||
	    strlen(o->module) >= sizeof(p->module) || strlen(o->label) >= sizeof(p->label) ||
	    o->noperators > CER_OPERATORS_MAX || o->nalgs > CER_ALGS_MAX) {
		free(p);
		usage();
		return 2;
	}
	p->serial = o->serial ? o->serial : 1;
	p->threshold = (unsigned)o->threshold;
	signet_err err = SIGNET_OK;
	for (size_t i = 0; i < o->noperators && err == SIGNET_OK; i++)
		err = cer_operator_read(o->operators[i], &p->ops[p->count++], errmsg,
					sizeof(errmsg));
	memcpy(p->module, o->module, strlen(o->module) + 1);
	/* So that a replaced module is noticed at every execution. */
	if (err == SIGNET_OK && (err = cer_module_sha256(o->module, p->module_sha256, errmsg,
							 sizeof(errmsg))) == SIGNET_OK)
		p->has_module_sha256 = true;
	memcpy(p->label, o->label, strlen(o->label) + 1);
	for (size_t i = 0; i < o->nalgs; i++)
		p->algs[p->nalgs++] = (uint8_t)atoi(o->algs[i]);
	p->max_period = (uint32_t)(o->max_period ? o->max_period : 31 * 86400ull);
	p->max_span = (uint32_t)(o->max_span ? o->max_span : 400 * 86400ull);
	p->require_zsk_backup = o->require_zsk_backup;
	sg_buf b = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = cer_policy_write(p, &b, errmsg, sizeof(errmsg));
	if (err == SIGNET_OK)
		err = sg_file_write_atomic(o->out, b.data, b.len, 0644);
	sg_buf_free(&b);
	free(p);
	return err == SIGNET_OK ? 0 : fail(err, errmsg);
}

static int cmd_request(struct opts *o)
{
	char errmsg[CER_ERRMSG_MAX] = "";
	cer_policy *p = calloc(1, sizeof(*p));
	if (p == NULL || o->op == NULL || o->out == NULL) {
		free(p);
		usage();
		return 2;
	}
	signet_err err = cer_policy_load(o->dir, p, errmsg, sizeof(errmsg));
	int64_t now = (int64_t)time(NULL);
	int64_t life = o->valid_for ? (int64_t)o->valid_for : 86400;
	if (err == SIGNET_OK)
		err = cer_request_create(&(cer_request_params){.op = o->op,
							       .zone = o->zone,
							       .params = o->params,
							       .nparams = o->nparams,
							       .keyset = o->keyset,
							       .not_before = now,
							       .not_after = now + life},
					 p, o->out, NULL, errmsg, sizeof(errmsg));
	free(p);
	if (err != SIGNET_OK)
		return fail(err, errmsg);
	return show_request(o->out);
}

static int cmd_approve(struct opts *o)
{
	char errmsg[CER_ERRMSG_MAX] = "";
	if (o->interactive) {
		if (show_request(o->request) != 0)
			return 1;
		fprintf(stderr,
			"Approve this request? Compare the words with the other "
			"operators first. Type yes: ");
		char line[16];
		if (fgets(line, sizeof(line), stdin) == NULL || strcmp(line, "yes\n") != 0) {
			fprintf(stderr, "signet-ceremony: not approved\n");
			return 3;
		}
	}
	if (o->request == NULL || o->key == NULL || o->out == NULL) {
		usage();
		return 2;
	}
	sg_secret *pw = NULL;
	signet_err err = get_secret(o->passphrase ? o->passphrase : "tty",
				    "Passphrase of your approval key: ", &pw);
	if (err != SIGNET_OK)
		return secret_status(err);
	err = cer_approve(o->request, o->key, pw, o->out, errmsg, sizeof(errmsg));
	sg_secret_free(pw);
	return err == SIGNET_OK ? 0 : fail(err, errmsg);
}

/* "NAME=FILE" options into share inputs; false for a malformed one. */
static bool share_list(const char **opt, size_t n, cer_share_in *out)
{
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(opt[i], '=');
		if (eq == NULL)
			return false;
		*eq = '\0';
		out[i].operator= opt[i];
		out[i].path = eq + 1;
	}
	return true;
}

static int cmd_execute(struct opts *o)
{
	char errmsg[CER_ERRMSG_MAX] = "";
	cer_share_in shares[LIST_MAX], so_shares[LIST_MAX], domain_shares[LIST_MAX];
	cer_pass passes[LIST_MAX];
	sg_secret *owned[LIST_MAX + 2] = {NULL};
	size_t nowned = 0, npasses = 0;
	int rc = 0;
	if (o->dir == NULL || o->request == NULL) {
		usage();
		return 2;
	}
	if (!share_list(o->shares, o->nshares, shares) ||
	    !share_list(o->so_shares, o->nso_shares, so_shares) ||
	    !share_list(o->domain_shares, o->ndomain_shares, domain_shares)) {
		usage();
		return 2;
	}
	/* A replay, a copied-in policy or a damaged transcript is refused
	 * before anyone is asked for a passphrase. */
	cer_exec pre = {.dir = o->dir, .request = o->request, .config = o->config};
	signet_err perr = cer_execute_precheck(&pre, errmsg, sizeof(errmsg));
	if (perr != SIGNET_OK)
		return fail(perr, errmsg);
	if (o->interactive && show_request(o->request) != 0)
		return 1;
	for (size_t i = 0; i < o->npasses && rc == 0; i++) {
		char *eq = strchr(o->passes[i], '=');
		if (eq == NULL) {
			rc = 2;
			break;
		}
		*eq = '\0';
		passes[npasses].operator= o->passes[i];
		char prompt[96];
		snprintf(prompt, sizeof(prompt), "%.40s, your passphrase: ", o->passes[i]);
		signet_err err = get_secret(eq + 1, prompt, &owned[nowned]);
		if (err != SIGNET_OK)
			rc = secret_status(err);
		else
			passes[npasses++].pass = owned[nowned++];
	}
	/* Interactive: every operator who presents a share and gave no
	 * passphrase source types it now, in turn. */
	for (size_t i = 0; i < o->nshares && rc == 0 && o->interactive; i++) {
		bool have = false;
		for (size_t j = 0; j < npasses; j++)
			have |= strcmp(passes[j].operator, shares[i].operator) == 0;
		if (have)
			continue;
		char prompt[96];
		snprintf(prompt, sizeof(prompt), "%.40s, your passphrase: ", shares[i].operator);
		signet_err err = get_secret("tty", prompt, &owned[nowned]);
		if (err != SIGNET_OK) {
			rc = secret_status(err);
			break;
		}
		passes[npasses].operator= shares[i].operator;
		passes[npasses++].pass = owned[nowned++];
	}
	/* init-token taking over a token initialised elsewhere: its SO PIN,
	 * replaced at once by a random one nobody sees. */
	sg_secret *so = NULL;
	signet_err serr = SIGNET_OK;
	if (rc == 0 && o->so_pin != NULL &&
	    (serr = get_secret(o->so_pin, "Current SO PIN of the token: ", &so)) != SIGNET_OK)
		rc = secret_status(serr);
	if (rc == 0) {
		cer_exec x = {.dir = o->dir,
			      .request = o->request,
			      .approvals = o->approvals,
			      .napprovals = o->napprovals,
			      .shares = shares,
			      .nshares = o->nshares,
			      .passes = passes,
			      .npasses = npasses,
			      .keyset = o->keyset,
			      .out = o->out,
			      .shares_out = o->shares_out,
			      .backup_dir = o->backup_dir,
			      .so_shares = so_shares,
			      .nso_shares = o->nso_shares,
			      .domain_shares = domain_shares,
			      .ndomain_shares = o->ndomain_shares,
			      .config = o->config,
			      .adopt_so_pin = so};
		signet_err err = cer_execute(&x, errmsg, sizeof(errmsg));
		rc = err == SIGNET_OK ? 0 : fail(err, errmsg);
		if (err == SIGNET_OK)
			fprintf(stderr, "signet-ceremony: done; the transcript has the entry\n");
	}
	for (size_t i = 0; i < nowned; i++)
		sg_secret_free(owned[i]);
	sg_secret_free(so);
	return rc;
}

static int cmd_verify_log(struct opts *o)
{
	char errmsg[CER_ERRMSG_MAX] = "";
	char path[4200];
	if (o->log != NULL)
		snprintf(path, sizeof(path), "%s", o->log);
	else if (o->dir != NULL)
		snprintf(path, sizeof(path), "%s/transcript.log", o->dir);
	else {
		usage();
		return 2;
	}
	if (o->token && o->dir == NULL) {
		usage();
		return 2;
	}
	size_t n = 0, bad = 0;
	signet_err err = cer_log_verify(path, &n, &bad, errmsg, sizeof(errmsg));
	if (err != SIGNET_OK) {
		fprintf(stderr,
			"signet-ceremony: %s: first broken entry %zu (%zu good before "
			"it)\n",
			path, bad, n);
		return fail(err, errmsg);
	}
	/* An intent with no outcome after it: the operation was interrupted
	 * (a crash, or a transcript that could not be written). */
	bool exists = false;
	cer_log_brief *b = NULL;
	size_t nb = 0;
	if (cer_log_load(path, &exists, &b, &nb, errmsg, sizeof(errmsg)) == SIGNET_OK)
		for (size_t i = 0; i < nb; i++) {
			if (strcmp(b[i].result, "started") != 0)
				continue;
			bool done = i + 1 < nb && strcmp(b[i + 1].result, "started") != 0 &&
				    memcmp(b[i + 1].request, b[i].request, CER_HASH_LEN) == 0;
			if (!done)
				printf("%s: entry %zu: %s started, no outcome recorded "
				       "(interrupted)\n",
				       path, i + 1, b[i].op);
		}
	free(b);
	if (o->token) {
		err = cer_log_verify_token(o->dir, o->config, NULL, &n, errmsg, sizeof(errmsg));
		if (err != SIGNET_OK)
			return fail(err, errmsg);
		printf("%s: %zu entries, chain intact, matches the KSK token's anchor\n", path, n);
		return 0;
	}
	printf("%s: %zu entries, chain intact\n", path, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (sg_harden_process() != SIGNET_OK)
		fprintf(stderr, "signet-ceremony: warning: could not harden the process\n");
	static struct opts o;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_to(stdout);
		return 0;
	}
	if (!parse(argc, argv, &o)) {
		usage();
		return 2;
	}
	if (o.help) {
		usage_to(stdout);
		return 0;
	}
	const char *c = argv[1];
	char errmsg[CER_ERRMSG_MAX] = "";
	if (strcmp(c, "enroll") == 0)
		return cmd_enroll(&o);
	if (strcmp(c, "policy-new") == 0)
		return cmd_policy_new(&o);
	if (strcmp(c, "policy-sign") == 0) {
		sg_secret *pw = NULL;
		signet_err err = get_secret(o.passphrase ? o.passphrase : "tty",
					    "Passphrase of your approval key: ", &pw);
		if (err != SIGNET_OK)
			return secret_status(err);
		err = cer_policy_sign_file(o.policy, o.key, pw, errmsg, sizeof(errmsg));
		sg_secret_free(pw);
		return err == SIGNET_OK ? 0 : fail(err, errmsg);
	}
	if (strcmp(c, "policy-adopt") == 0) {
		signet_err err = cer_policy_adopt(o.dir, o.policy, errmsg, sizeof(errmsg));
		return err == SIGNET_OK ? 0 : fail(err, errmsg);
	}
	if (strcmp(c, "request") == 0)
		return cmd_request(&o);
	if (strcmp(c, "show") == 0)
		return o.request ? show_request(o.request) : (usage(), 2);
	if (strcmp(c, "approve") == 0)
		return cmd_approve(&o);
	if (strcmp(c, "execute") == 0)
		return cmd_execute(&o);
	if (strcmp(c, "verify-log") == 0)
		return cmd_verify_log(&o);
	usage();
	return 2;
}
