/* config_check.h -- one read of signetd's configuration as config.c,
 * config_values.c and config_clients.c share it: where the errors go, and
 * the setting being checked. Not an API. */
#ifndef SIGNET_SIGNER_CONFIG_CHECK_H
#define SIGNET_SIGNER_CONFIG_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "signer/signer.h"

/* One run of the checks: where errors go and the text, for number literals. */
typedef struct cfg_checker {
	signer_config *cfg;
	const char *text; /* NUL-terminated copy of the file */
	unsigned line;    /* line of the setting being checked; 0: whole file */
	char *errmsg;
	size_t errlen;
} cfg_checker;

/* Write why into k->errmsg and return err (config_values.c). */
signet_err cfg_fail(cfg_checker *k, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The setting s is the one being checked: its line goes with an error. */
void cfg_at(cfg_checker *k, const config_setting_t *s);

/* The raw text (len octets) before libconfig sees it: no NUL, no control
 * characters but tab, CR and LF, bounded lines, no directives. */
signet_err cfg_screen(cfg_checker *k, const char *text, size_t len);
/* A string value without control characters, 1..dstlen-1 octets (an
 * absolute path when absolute_path). */
signet_err cfg_string(cfg_checker *k, const config_setting_t *s, const char *key, char *dst,
		      size_t dstlen, bool absolute_path);
/* An integer in [lo, hi], as written in the text (libconfig wraps). */
signet_err cfg_number(cfg_checker *k, const config_setting_t *s, const char *key, long long lo,
		      long long hi, long long *out);
/* true or false. */
signet_err cfg_bool(cfg_checker *k, const config_setting_t *s, const char *key, bool *out);

/* The clients list into k->cfg->clients (config_clients.c). */
signet_err cfg_read_clients(cfg_checker *k, const config_setting_t *list);

#endif /* SIGNET_SIGNER_CONFIG_CHECK_H */
