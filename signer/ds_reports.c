/* ds_reports.c -- the last DsObservation of each zone, kept in memory: what
 * `signet parent-watch` saw at the parental agents in its last pass, shown
 * as Health warnings while the rollover waits. Lost on restart (the next
 * pass says it again). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/signer.h"

typedef struct ds_report {
	dns_name zone; /* lower-cased */
	uint16_t tag;  /* the KSK looked for */
	int64_t when;  /* signetd's clock */
	size_t n;
	char lines[SIGNER_DS_REPORT_LINES][SIGNER_DS_REPORT_LINE_MAX + 1];
} ds_report;

struct signer_ds_reports {
	pthread_mutex_t lock;
	size_t n;
	ds_report *r; /* SIGNER_DS_REPORT_ZONES slots */
};

signet_err signer_ds_reports_new(signer_ds_reports **out)
{
	if (!out)
		return SIGNET_EINVAL;
	signer_ds_reports *d = calloc(1, sizeof(*d));
	if (!d)
		return SIGNET_ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return SIGNET_OK;
}

void signer_ds_reports_free(signer_ds_reports *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d->r);
	free(d);
}

signet_err signer_ds_reports_put(signer_ds_reports *d, const dns_name *zone, uint16_t tag,
				 int64_t when, const char *const *lines, size_t n)
{
	if (!d || !zone || (n && !lines) || n > SIGNER_DS_REPORT_LINES)
		return SIGNET_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!lines[i] || strlen(lines[i]) > SIGNER_DS_REPORT_LINE_MAX)
			return SIGNET_EINVAL;
	dns_name low = *zone;
	dns_name_lower(&low);
	signet_err ret = SIGNET_OK;
	pthread_mutex_lock(&d->lock);
	size_t i = 0;
	while (i < d->n && !dns_name_equal(&d->r[i].zone, &low))
		i++;
	if (i == d->n) {
		if (!d->r && !(d->r = calloc(SIGNER_DS_REPORT_ZONES, sizeof(*d->r))))
			ret = SIGNET_ENOMEM;
		else if (d->n == SIGNER_DS_REPORT_ZONES)
			ret = SIGNET_ELIMIT;
		else
			d->n++;
	}
	if (ret == SIGNET_OK) {
		ds_report *r = &d->r[i];
		memset(r, 0, sizeof(*r));
		r->zone = low;
		r->tag = tag;
		r->when = when;
		r->n = n;
		for (size_t k = 0; k < n; k++)
			snprintf(r->lines[k], sizeof(r->lines[k]), "%s", lines[k]);
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

signet_err signer_ds_reports_lines(signer_ds_reports *d, const dns_name *zone, uint16_t tag,
				   int64_t *when, char ***out, size_t *n)
{
	if (!d || !zone || !when || !out || !n)
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	dns_name low = *zone;
	dns_name_lower(&low);
	signet_err ret = SIGNET_ENOTFOUND;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n; i++) {
		const ds_report *r = &d->r[i];
		if (!dns_name_equal(&r->zone, &low) || r->tag != tag)
			continue;
		ret = SIGNET_OK;
		*when = r->when;
		if (r->n && !(*out = calloc(r->n, sizeof(**out)))) {
			ret = SIGNET_ENOMEM;
			break;
		}
		for (size_t k = 0; k < r->n && ret == SIGNET_OK; k++) {
			if (!((*out)[k] = strdup(r->lines[k])))
				ret = SIGNET_ENOMEM;
			else
				(*n)++;
		}
		break;
	}
	pthread_mutex_unlock(&d->lock);
	if (ret == SIGNET_ENOMEM) {
		for (size_t k = 0; k < *n; k++)
			free((*out)[k]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}
