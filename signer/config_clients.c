/* config_clients.c -- the clients of signetd's configuration: identity,
 * role, zones and rules of each, and the lookups of a client and its
 * zones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/config_check.h"

/* Identities are what certificates carry in a SAN or CN: printable ASCII
 * without blanks, so a log line or an ACL cannot be ambiguous. */
static bool identity_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SIGNER_IDENTITY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static signet_err add_zones(cfg_checker *k, signer_client *c, const config_setting_t *zs,
			    size_t idx)
{
	cfg_at(k, zs);
	if (!config_setting_is_array(zs) && !config_setting_is_list(zs))
		return cfg_fail(k, SIGNET_EPARSE, "clients[%zu].zones: expected [ \"zone\", ... ]",
				idx);
	int nz = config_setting_length(zs);
	if (nz < 1)
		return cfg_fail(k, SIGNET_EPARSE, "clients[%zu].zones: empty", idx);
	if (nz > SIGNER_CLIENT_ZONES_MAX)
		return cfg_fail(k, SIGNET_ERANGE, "clients[%zu].zones: more than %d zones", idx,
				SIGNER_CLIENT_ZONES_MAX);
	c->zones = calloc((size_t)nz, sizeof(*c->zones));
	if (!c->zones)
		return SIGNET_ENOMEM;
	for (int i = 0; i < nz; i++) {
		const config_setting_t *e = config_setting_get_elem(zs, (unsigned)i);
		cfg_at(k, e);
		const char *z = config_setting_type(e) == CONFIG_TYPE_STRING
					? config_setting_get_string(e)
					: NULL;
		if (!z)
			return cfg_fail(k, SIGNET_EPARSE,
					"clients[%zu].zones[%d]: expected a string", idx, i);
		if (strcmp(z, "*") == 0) {
			if (nz != 1)
				return cfg_fail(k, SIGNET_EPARSE,
						"clients[%zu].zones: '*' must stand alone", idx);
			c->all_zones = true;
			free(c->zones);
			c->zones = NULL;
			return SIGNET_OK;
		}
		if (dns_name_from_str(&c->zones[i], z) != SIGNET_OK)
			return cfg_fail(k, SIGNET_EPARSE,
					"clients[%zu].zones[%d]: bad zone name %.80s", idx, i, z);
		dns_name_lower(&c->zones[i]);
		c->nzones++;
	}
	return SIGNET_OK;
}

/* names = [ "rule", ... ] or types = [ "TYPE", ... ] of client idx, into
 * its acl (made on the first). */
static signet_err add_rules(cfg_checker *k, signer_client *c, const config_setting_t *list,
			    const char *key, size_t idx)
{
	cfg_at(k, list);
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return cfg_fail(k, SIGNET_EPARSE, "clients[%zu].%s: expected [ \"...\", ... ]", idx,
				key);
	int n = config_setting_length(list);
	if (n < 1)
		return cfg_fail(k, SIGNET_EPARSE,
				"clients[%zu].%s: empty (leave it out to allow all)", idx, key);
	if (!c->acl && signer_acl_new(&c->acl) != SIGNET_OK)
		return SIGNET_ENOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		cfg_at(k, e);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING
					? config_setting_get_string(e)
					: NULL;
		if (!v)
			return cfg_fail(k, SIGNET_EPARSE, "clients[%zu].%s[%d]: expected a string",
					idx, key, i);
		char why[160];
		signet_err ret = key[0] == 'n' ? signer_acl_add_name(c->acl, v, c->zones, c->nzones,
								     why, sizeof(why))
					       : signer_acl_add_type(c->acl, v, why, sizeof(why));
		if (ret == SIGNET_ENOMEM)
			return ret;
		if (ret != SIGNET_OK)
			return cfg_fail(k, ret, "clients[%zu].%s[%d]: %s", idx, key, i, why);
	}
	return SIGNET_OK;
}

static signet_err add_client(cfg_checker *k, const config_setting_t *g, size_t idx)
{
	signer_config *cfg = k->cfg;
	cfg_at(k, g);
	if (!config_setting_is_group(g))
		return cfg_fail(
			k, SIGNET_EPARSE,
			"clients[%zu]: expected { identity = ...; role = ...; zones = [...]; }",
			idx);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		if (strcmp(name, "identity") && strcmp(name, "role") && strcmp(name, "zones") &&
		    strcmp(name, "names") && strcmp(name, "types") && strcmp(name, "allow-cn")) {
			cfg_at(k, m);
			return cfg_fail(k, SIGNET_EPARSE, "clients[%zu]: unknown key %.60s", idx,
					name);
		}
	}
	const config_setting_t *id = config_setting_get_member(g, "identity");
	const config_setting_t *role = config_setting_get_member(g, "role");
	const config_setting_t *zones = config_setting_get_member(g, "zones");
	if (!id || !role || !zones)
		return cfg_fail(k, SIGNET_EPARSE, "clients[%zu]: needs identity, role and zones",
				idx);

	signer_client *c = &cfg->clients[cfg->nclients];
	memset(c, 0, sizeof(*c));
	cfg->nclients++; /* from here c is owned by cfg, freed with it */
	char field[32];
	snprintf(field, sizeof(field), "clients[%zu].identity", idx);
	signet_err ret = cfg_string(k, id, field, c->identity, sizeof(c->identity), false);
	if (ret != SIGNET_OK)
		return ret;
	if (!identity_ok(c->identity))
		return cfg_fail(k, SIGNET_EPARSE,
				"%s: must be 1..%d printable octets without blanks", field,
				SIGNER_IDENTITY_MAX);
	for (size_t i = 0; i + 1 < cfg->nclients; i++)
		if (strcmp(cfg->clients[i].identity, c->identity) == 0)
			return cfg_fail(k, SIGNET_EPARSE, "%s: %s is listed twice", field,
					c->identity);
	char rs[16];
	snprintf(field, sizeof(field), "clients[%zu].role", idx);
	cfg_at(k, role);
	if (config_setting_type(role) != CONFIG_TYPE_STRING)
		return cfg_fail(k, SIGNET_EPARSE,
				"%s: must be \"signer\", \"admin\" or"
				" \"parent-agent\"",
				field);
	snprintf(rs, sizeof(rs), "%s", config_setting_get_string(role));
	if (strcmp(rs, "signer") == 0)
		c->role = SIGNER_ROLE_SIGNER;
	else if (strcmp(rs, "admin") == 0)
		c->role = SIGNER_ROLE_ADMIN;
	else if (strcmp(rs, "parent-agent") == 0)
		c->role = SIGNER_ROLE_PARENT_AGENT;
	else
		return cfg_fail(k, SIGNET_EPARSE,
				"%s: must be \"signer\", \"admin\" or"
				" \"parent-agent\", not %.40s",
				field, config_setting_get_string(role));
	const config_setting_t *cn = config_setting_get_member(g, "allow-cn");
	if (cn) {
		snprintf(field, sizeof(field), "clients[%zu].allow-cn", idx);
		ret = cfg_bool(k, cn, field, &c->allow_cn);
		if (ret != SIGNET_OK)
			return ret;
	}
	ret = add_zones(k, c, zones, idx);
	for (int r = 0; r < 2 && ret == SIGNET_OK; r++) {
		const char *key = r ? "types" : "names";
		const config_setting_t *list = config_setting_get_member(g, key);
		if (list)
			ret = add_rules(k, c, list, key, idx);
	}
	return ret;
}

signet_err cfg_read_clients(cfg_checker *k, const config_setting_t *list)
{
	cfg_at(k, list);
	if (!config_setting_is_list(list))
		return cfg_fail(k, SIGNET_EPARSE, "clients: expected ( { ... }, { ... } )");
	int n = config_setting_length(list);
	if (n > SIGNER_CLIENTS_MAX)
		return cfg_fail(k, SIGNET_ERANGE, "clients: more than %d clients",
				SIGNER_CLIENTS_MAX);
	if (n == 0)
		return SIGNET_OK;
	k->cfg->clients = calloc((size_t)n, sizeof(*k->cfg->clients));
	if (!k->cfg->clients)
		return SIGNET_ENOMEM;
	for (int i = 0; i < n; i++) {
		signet_err ret = add_client(k, config_setting_get_elem(list, (unsigned)i),
					    (size_t)i);
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

const signer_client *signer_config_client(const signer_config *cfg, const char *id)
{
	if (!cfg || !id)
		return NULL;
	for (size_t i = 0; i < cfg->nclients; i++)
		if (strcmp(cfg->clients[i].identity, id) == 0)
			return &cfg->clients[i];
	return NULL;
}

bool signer_client_has_zone(const signer_client *c, const dns_name *zone)
{
	if (!c || !zone)
		return false;
	if (c->all_zones)
		return true;
	for (size_t i = 0; i < c->nzones; i++)
		if (dns_name_equal(&c->zones[i], zone))
			return true;
	return false;
}
