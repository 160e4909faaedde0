/* parent_watch.c -- the parts of `signet parent-watch`: its agents file, its
 * state file, and judging what one parental agent serves as the DS of a
 * zone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/parent_watch.h"

static signet_err fail(char *errmsg, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static signet_err fail(char *errmsg, size_t errlen, const char *fmt, ...)
{
	if (errmsg && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errmsg, errlen, fmt, ap);
		va_end(ap);
	}
	return SIGNET_EPARSE;
}

/* The next line of text from *pos into line (NUL-terminated, CR and a '#'
 * comment cut); false at the end. *bad is set for an overlong line or
 * control octets. */
static bool next_line(const sg_buf *text, size_t *pos, char line[PW_LINE_MAX + 1], bool *bad)
{
	*bad = false;
	if (*pos >= text->len)
		return false;
	const uint8_t *start = text->data + *pos;
	const uint8_t *nl = memchr(start, '\n', text->len - *pos);
	size_t n = nl ? (size_t)(nl - start) : text->len - *pos;
	*pos += n + (nl ? 1 : 0);
	if (n && start[n - 1] == '\r')
		n--;
	if (n > PW_LINE_MAX) {
		*bad = true;
		return true;
	}
	for (size_t i = 0; i < n; i++)
		if ((start[i] < 0x20 && start[i] != '\t') || start[i] == 0x7f) {
			*bad = true;
			return true;
		}
	memcpy(line, start, n);
	line[n] = '\0';
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	return true;
}

/* Split line into at most max blank-separated words; their count, or
 * max + 1 when there are more. */
static size_t words(char *line, char **w, size_t max)
{
	size_t n = 0;
	for (char *p = strtok(line, " \t"); p; p = strtok(NULL, " \t")) {
		if (n == max)
			return max + 1;
		w[n++] = p;
	}
	return n;
}

static void agent_id(const pw_agent *a, char *out, size_t len)
{
	bool v6 = strchr(a->server.addr, ':') != NULL;
	snprintf(out, len, "%s%.46s%s:%u(%s)", v6 ? "[" : "", a->server.addr, v6 ? "]" : "",
		 a->server.port, a->kind == PW_AUTH ? "auth" : "resolver");
}

void pw_config_free(pw_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->zones);
	memset(cfg, 0, sizeof(*cfg));
}

signet_err pw_config_load(const char *path, pw_config *cfg, char *errmsg, size_t errlen)
{
	if (!path || !cfg)
		return SIGNET_EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, PW_FILE_MAX, &text);
	if (ret != SIGNET_OK) {
		fail(errmsg, errlen, "%s: %s", path, signet_strerror(ret));
		return ret;
	}
	char line[PW_LINE_MAX + 1];
	size_t pos = 0;
	unsigned lineno = 0;
	bool bad;
	while (ret == SIGNET_OK && next_line(&text, &pos, line, &bad)) {
		lineno++;
		if (bad) {
			ret = fail(errmsg, errlen,
				   "%s:%u: control character or longer than %d octets", path,
				   lineno, PW_LINE_MAX);
			break;
		}
		char *w[5];
		size_t n = words(line, w, 4);
		if (n == 0)
			continue;
		if (strcmp(w[0], "parental-agent") != 0) {
			ret = fail(errmsg, errlen,
				   "%s:%u: unknown key '%.40s' (parental-agent ZONE"
				   " ADDR[:PORT] [auth|resolver])",
				   path, lineno, w[0]);
			break;
		}
		if (n < 3 || n > 4) {
			ret = fail(errmsg, errlen,
				   "%s:%u: expected parental-agent ZONE ADDR[:PORT]"
				   " [auth|resolver]",
				   path, lineno);
			break;
		}
		pw_agent a;
		memset(&a, 0, sizeof(a));
		dns_name zone;
		if (dns_name_from_str(&zone, w[1]) != SIGNET_OK || zone.len <= 1) {
			ret = fail(errmsg, errlen, "%s:%u: not a zone name: '%.80s'", path, lineno,
				   w[1]);
			break;
		}
		dns_name_lower(&zone);
		if (check_server_parse(w[2], &a.server) != SIGNET_OK) {
			ret = fail(errmsg, errlen,
				   "%s:%u: not an IP address with an optional port:"
				   " '%.80s'",
				   path, lineno, w[2]);
			break;
		}
		if (n == 3 || strcmp(w[3], "auth") == 0) {
			a.kind = PW_AUTH;
		} else if (strcmp(w[3], "resolver") == 0) {
			a.kind = PW_RESOLVER;
			a.server.recurse = true;
		} else {
			ret = fail(errmsg, errlen, "%s:%u: '%.40s': auth or resolver", path, lineno,
				   w[3]);
			break;
		}
		agent_id(&a, a.id, sizeof(a.id));
		size_t z = 0;
		while (z < cfg->nzones && !dns_name_equal(&cfg->zones[z].zone, &zone))
			z++;
		if (z == cfg->nzones) {
			if (cfg->nzones == PW_ZONES_MAX) {
				ret = fail(errmsg, errlen, "%s:%u: more than %d zones", path,
					   lineno, PW_ZONES_MAX);
				break;
			}
			pw_zone *g = realloc(cfg->zones, (cfg->nzones + 1) * sizeof(*g));
			if (!g) {
				ret = SIGNET_ENOMEM;
				break;
			}
			cfg->zones = g;
			memset(&g[z], 0, sizeof(g[z]));
			g[z].zone = zone;
			if (dns_name_to_str(&zone, g[z].name, sizeof(g[z].name)) != SIGNET_OK)
				snprintf(g[z].name, sizeof(g[z].name), "?");
			cfg->nzones++;
		}
		pw_zone *pz = &cfg->zones[z];
		for (size_t i = 0; i < pz->nagents; i++)
			if (strcmp(pz->agents[i].server.addr, a.server.addr) == 0 &&
			    pz->agents[i].server.port == a.server.port)
				ret = fail(errmsg, errlen, "%s:%u: agent %s of %s given twice",
					   path, lineno, w[2], pz->name);
		if (ret == SIGNET_OK && pz->nagents == PW_AGENTS_MAX)
			ret = fail(errmsg, errlen, "%s:%u: more than %d agents for %s", path,
				   lineno, PW_AGENTS_MAX, pz->name);
		if (ret == SIGNET_OK)
			pz->agents[pz->nagents++] = a;
	}
	if (ret == SIGNET_OK && cfg->nzones == 0)
		ret = fail(errmsg, errlen, "%s: no parental-agent line", path);
	sg_buf_free(&text);
	if (ret != SIGNET_OK)
		pw_config_free(cfg);
	return ret;
}

/* ---- state ---------------------------------------------------------------- */

void pw_state_free(pw_state *st)
{
	if (!st)
		return;
	free(st->e);
	memset(st, 0, sizeof(*st));
}

pw_seen *pw_state_find(pw_state *st, const dns_name *zone, uint16_t tag, uint8_t alg,
		       const char *agent)
{
	for (size_t i = 0; st && i < st->n; i++)
		if (st->e[i].tag == tag && st->e[i].alg == alg &&
		    dns_name_equal(&st->e[i].zone, zone) && strcmp(st->e[i].agent, agent) == 0)
			return &st->e[i];
	return NULL;
}

signet_err pw_state_add(pw_state *st, const dns_name *zone, uint16_t tag, uint8_t alg,
			const char *agent, int64_t first)
{
	if (!st || !zone || !agent || strlen(agent) >= PW_AGENT_ID_MAX)
		return SIGNET_EINVAL;
	pw_seen *g = realloc(st->e, (st->n + 1) * sizeof(*g));
	if (!g)
		return SIGNET_ENOMEM;
	st->e = g;
	pw_seen *e = &g[st->n++];
	memset(e, 0, sizeof(*e));
	e->zone = *zone;
	dns_name_lower(&e->zone);
	e->tag = tag;
	e->alg = alg;
	snprintf(e->agent, sizeof(e->agent), "%s", agent);
	e->first = first;
	return SIGNET_OK;
}

void pw_state_forget(pw_state *st, pw_seen *e)
{
	size_t i = (size_t)(e - st->e);
	if (i >= st->n)
		return;
	st->e[i] = st->e[--st->n];
}

void pw_state_drop(pw_state *st, const dns_name *zone, bool keep, uint16_t tag, uint8_t alg)
{
	for (size_t i = 0; i < st->n;) {
		if (dns_name_equal(&st->e[i].zone, zone) &&
		    !(keep && st->e[i].tag == tag && st->e[i].alg == alg))
			st->e[i] = st->e[--st->n];
		else
			i++;
	}
}

#define STATE_HEADER "# signet parent-watch state: ZONE TAG ALG AGENT FIRST-SEEN\n"

signet_err pw_state_save(const char *path, const pw_state *st)
{
	if (!path || !st)
		return SIGNET_EINVAL;
	sg_buf out = SG_BUF_INIT;
	signet_err ret = sg_buf_append(&out, STATE_HEADER, strlen(STATE_HEADER));
	for (size_t i = 0; ret == SIGNET_OK && i < st->n; i++) {
		char zn[DNS_NAME_STR_MAX];
		ret = dns_name_to_str(&st->e[i].zone, zn, sizeof(zn));
		if (ret == SIGNET_OK)
			ret = sg_buf_printf(&out, "%s %u %u %s %lld\n", zn, st->e[i].tag,
					    st->e[i].alg, st->e[i].agent,
					    (long long)st->e[i].first);
	}
	if (ret == SIGNET_OK && out.len > PW_STATE_MAX)
		ret = SIGNET_ERANGE;
	if (ret == SIGNET_OK)
		ret = sg_file_write_atomic(path, out.data, out.len, 0600);
	sg_buf_free(&out);
	return ret;
}

signet_err pw_state_load(const char *path, pw_state *st, char *errmsg, size_t errlen)
{
	if (!path || !st)
		return SIGNET_EINVAL;
	memset(st, 0, sizeof(*st));
	sg_buf text = SG_BUF_INIT;
	signet_err ret = sg_file_read(path, PW_STATE_MAX, &text);
	if (ret == SIGNET_ENOTFOUND) {
		sg_buf_free(&text);
		return SIGNET_OK;
	}
	if (ret != SIGNET_OK) {
		fail(errmsg, errlen, "%s: %s", path, signet_strerror(ret));
		sg_buf_free(&text);
		return ret;
	}
	char line[PW_LINE_MAX + 1];
	size_t pos = 0;
	unsigned lineno = 0;
	bool bad;
	while (ret == SIGNET_OK && next_line(&text, &pos, line, &bad)) {
		lineno++;
		char *w[6];
		size_t n = bad ? 0 : words(line, w, 5);
		if (!bad && n == 0)
			continue;
		dns_name zone;
		char *end = NULL;
		unsigned long tag = 0, alg = 0;
		long long first = 0;
		bool ok = !bad && n == 5 && dns_name_from_str(&zone, w[0]) == SIGNET_OK;
		if (ok) {
			tag = strtoul(w[1], &end, 10);
			ok = *w[1] && !*end && tag <= 65535;
		}
		if (ok) {
			alg = strtoul(w[2], &end, 10);
			ok = *w[2] && !*end && alg <= 255;
		}
		if (ok) {
			first = strtoll(w[4], &end, 10);
			ok = *w[4] && !*end && first > 0 && strlen(w[3]) < PW_AGENT_ID_MAX;
		}
		if (!ok) {
			ret = fail(errmsg, errlen,
				   "%s:%u: not a state line (ZONE TAG ALG AGENT FIRST)", path,
				   lineno);
			break;
		}
		ret = pw_state_add(st, &zone, (uint16_t)tag, (uint8_t)alg, w[3], first);
	}
	sg_buf_free(&text);
	if (ret != SIGNET_OK)
		pw_state_free(st);
	return ret;
}

/* ---- asking an agent ------------------------------------------------------ */

/* The RRset (owner, type) of the answer section into out (initialised here;
 * clear it in every case). */
static signet_err collect(const check_answer *a, const dns_name *owner, uint16_t type,
			  dns_rrset *out)
{
	dns_rrset_init(out, owner, type, DNS_CLASS_IN, 0);
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; ret == SIGNET_OK && i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section != 1 || rr->type != type || rr->rclass != DNS_CLASS_IN ||
		    !dns_name_equal(&rr->owner, owner))
			continue;
		if (out->count == 0 || rr->ttl < out->ttl)
			out->ttl = rr->ttl;
		ret = dns_rrset_add(out, rr->rdata, rr->len);
	}
	return ret;
}

/* Does an RRSIG of the answer section over (owner, type) verify with a key
 * of keys at now? A key found in keys must sign for signer. */
static bool verifies(const check_answer *a, const dns_rrset *set, const dns_rrset *keys,
		     const dns_name *signer, uint32_t now)
{
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		dns_rrsig sig;
		if (rr->section != 1 || rr->type != DNS_T_RRSIG ||
		    !dns_name_equal(&rr->owner, &set->owner) ||
		    dns_rrsig_from_rdata(&sig, rr->rdata, rr->len) != SIGNET_OK ||
		    sig.type_covered != set->type)
			continue;
		for (size_t k = 0; k < keys->count; k++)
			if (dns_rrsig_verify(&sig, set, keys->rr[k].data, keys->rr[k].len, signer,
					     now) == SIGNET_OK)
				return true;
	}
	return false;
}

/* The DS RRset of ans verifies with the parent's DNSKEY RRset as the same
 * server serves it, and that RRset with one of its own keys. */
static bool parent_signed(const pw_agent *ag, const check_answer *ans, const dns_rrset *ds,
			  uint32_t now, char *why, size_t whylen)
{
	dns_name signer;
	bool have = false;
	for (size_t i = 0; i < ans->count && !have; i++) {
		dns_rrsig sig;
		const check_rr *rr = &ans->rrs[i];
		if (rr->section == 1 && rr->type == DNS_T_RRSIG &&
		    dns_name_equal(&rr->owner, &ds->owner) &&
		    dns_rrsig_from_rdata(&sig, rr->rdata, rr->len) == SIGNET_OK &&
		    sig.type_covered == DNS_T_DS) {
			signer = sig.signer;
			dns_name_lower(&signer);
			have = true;
		}
	}
	if (!have) {
		snprintf(why, whylen, "serves the DS RRset without an RRSIG");
		return false;
	}
	/* The DS is the parent's data: signed by a zone above the child. */
	if (dns_name_equal(&signer, &ds->owner) || !dns_name_is_at_or_below(&ds->owner, &signer)) {
		snprintf(why, whylen,
			 "serves the DS RRset signed by a zone that is not the"
			 " parent's");
		return false;
	}
	check_answer ka;
	char err[256];
	signet_err ret = check_query(&ag->server, &signer, DNS_T_DNSKEY, &ka, err, sizeof(err));
	if (ret != SIGNET_OK) {
		snprintf(why, whylen, "the parent's DNSKEY: %s", err);
		return false;
	}
	dns_rrset keys;
	bool ok = false;
	if (collect(&ka, &signer, DNS_T_DNSKEY, &keys) != SIGNET_OK || keys.count == 0)
		snprintf(why, whylen, "serves no DNSKEY RRset of the parent");
	else if (!verifies(&ka, &keys, &keys, &signer, now))
		snprintf(why, whylen,
			 "serves a DNSKEY RRset of the parent that no key of it"
			 " signs validly");
	else if (!verifies(ans, ds, &keys, &signer, now))
		snprintf(why, whylen,
			 "serves a DS RRset whose RRSIG does not verify with the"
			 " parent's DNSKEY (bogus)");
	else
		ok = true;
	dns_rrset_clear(&keys);
	check_answer_free(&ka);
	return ok;
}

/* The key tags of a DS RRset as text, "1234 5678". */
static void ds_tags(const dns_rrset *ds, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ds->count && used < len; i++)
		if (ds->rr[i].len >= 4)
			used += (size_t)snprintf(out + used, len - used, "%s%u", i ? " " : "",
						 sg_get_u16(ds->rr[i].data));
}

/* Does a (a denial) carry the child's own SOA? The DS query reached a
 * server of the child, which answers for its apex. */
static bool child_soa(const check_answer *a, const dns_name *zone)
{
	for (size_t i = 0; i < a->count; i++)
		if (a->rrs[i].section == 2 && a->rrs[i].type == DNS_T_SOA &&
		    dns_name_equal(&a->rrs[i].owner, zone))
			return true;
	return false;
}

/* Does ds still hold a DS of the old KSK gone? Then why says so. */
static bool still_served(const dns_rrset *ds, const dns_name *zone, const client_dnskey *gone,
			 char *why, size_t whylen)
{
	for (size_t i = 0; i < ds->count; i++)
		if (dns_ds_match(zone, ds->rr[i].data, ds->rr[i].len, gone->data, gone->len) ==
		    SIGNET_OK) {
			uint16_t tag = 0;
			(void)dns_key_tag(gone->data, gone->len, &tag);
			snprintf(why, whylen, "still serves the DS of the old KSK %u", tag);
			return true;
		}
	return false;
}

bool pw_observe(const pw_agent *a, const pw_want *w, uint32_t now, char *why, size_t whylen)
{
	if (!a || !w || !why || whylen == 0)
		return false;
	why[0] = '\0';
	check_answer ans;
	char err[256];
	signet_err ret = check_query(&a->server, w->zone, DNS_T_DS, &ans, err, sizeof(err));
	if (ret != SIGNET_OK) {
		snprintf(why, whylen, "%s%s", ret == SIGNET_EIO ? "unreachable: " : "", err);
		return false;
	}
	dns_rrset ds;
	dns_rrset_init(&ds, w->zone, DNS_T_DS, DNS_CLASS_IN, 0);
	bool ok = false;
	if (ans.rcode != 0)
		snprintf(why, whylen, "answers the DS query with rcode %d", ans.rcode);
	else if (a->kind == PW_AUTH && !ans.aa)
		snprintf(why, whylen, "answers without AA: not a server of the parent zone");
	else if (a->kind == PW_RESOLVER && !ans.ad)
		snprintf(why, whylen, "answers without AD: the DS is not validated");
	else if (collect(&ans, w->zone, DNS_T_DS, &ds) != SIGNET_OK)
		snprintf(why, whylen, "out of memory");
	else if (ds.count == 0 && child_soa(&ans, w->zone))
		snprintf(why, whylen,
			 "answers from the child zone (its SOA): not a server of"
			 " the parent");
	else if (ds.count == 0)
		snprintf(why, whylen, "serves no DS");
	else if (a->kind == PW_AUTH && !parent_signed(a, &ans, &ds, now, why, whylen))
		;
	else
		ok = true;
	if (ok) {
		bool found = false, named = false;
		for (size_t i = 0; i < ds.count; i++) {
			const dns_rdata *d = &ds.rr[i];
			if (dns_ds_match(w->zone, d->data, d->len, w->dnskey, w->dnskey_len) ==
			    SIGNET_OK)
				found = true;
			else if (d->len >= 4 && sg_get_u16(d->data) == w->tag &&
				 d->data[2] == w->alg)
				named = true;
		}
		char tags[200];
		ds_tags(&ds, tags, sizeof(tags));
		if (!found && named)
			snprintf(why, whylen, "serves DS %u with a wrong digest", w->tag);
		else if (!found)
			snprintf(why, whylen, "does not serve the DS of KSK %u yet (serves DS %s)",
				 w->tag, tags);
		for (size_t g = 0; found && g < w->ngone; g++)
			found = !still_served(&ds, w->zone, &w->gone[g], why, whylen);
		ok = found;
	}
	dns_rrset_clear(&ds);
	check_answer_free(&ans);
	return ok;
}
