/* rrtype.c -- RR type mnemonics to numbers and back: ldns's table of
 * names, and RFC 3597's TYPEnnn for any type. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "dnssec/dnssec.h"

signet_err dns_type_from_str(const char *text, uint16_t *out)
{
	if (!text || !out)
		return SIGNET_EINVAL;
	size_t n = strlen(text);
	if (n == 0 || n > 16)
		return SIGNET_EPARSE;
	/* TYPEnnn is read here, strictly: ldns takes it with atoi, which
	 * accepts signs and trailing junk and wraps large numbers. No
	 * mnemonic starts with TYPE. */
	if (strncasecmp(text, "TYPE", 4) == 0) {
		unsigned long v = 0;
		if (n == 4)
			return SIGNET_EPARSE;
		for (size_t i = 4; i < n; i++) {
			if (text[i] < '0' || text[i] > '9' || (i == 4 && text[i] == '0' && n > 5))
				return SIGNET_EPARSE;
			v = v * 10 + (unsigned long)(text[i] - '0');
			if (v > 65535)
				return SIGNET_EPARSE;
		}
		if (v == 0)
			return SIGNET_EPARSE;
		*out = (uint16_t)v;
		return SIGNET_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (!((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z') ||
		      (text[i] >= '0' && text[i] <= '9') || text[i] == '-'))
			return SIGNET_EPARSE;
	ldns_rr_type t = ldns_get_rr_type_by_name(text);
	if ((unsigned)t == 0 || (unsigned)t > 65535)
		return SIGNET_EPARSE;
	*out = (uint16_t)t;
	return SIGNET_OK;
}

signet_err dns_type_to_str(uint16_t type, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return SIGNET_EINVAL;
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	int n;
	if (d && d->_name && d->_type == type)
		n = snprintf(out, outlen, "%s", d->_name);
	else
		n = snprintf(out, outlen, "TYPE%u", (unsigned)type);
	return n > 0 && (size_t)n < outlen ? SIGNET_OK : SIGNET_ERANGE;
}
