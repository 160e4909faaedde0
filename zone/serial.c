/* serial.c -- SOA serial policies (keep, increment, unixtime, date counter)
 * in RFC 1982 serial arithmetic. */
#include <time.h>

#include "zone/zone.h"

uint32_t zone_serial_next(zone_serial policy, uint32_t in, uint32_t prev, int64_t now)
{
	if (policy == ZONE_SERIAL_KEEP)
		return in;
	/* Secondaries only take a newer serial, so count from the newer of the
	 * input and what was published last. */
	uint32_t base = dns_serial_compare(prev, in) == 1 ? prev : in;
	uint32_t want = base + 1;
	if (policy == ZONE_SERIAL_UNIXTIME) {
		want = (uint32_t)now;
	} else if (policy == ZONE_SERIAL_DATECOUNTER) {
		time_t t = (time_t)now;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			want = (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
					  tm.tm_mday) *
			       100u;
	}
	return dns_serial_compare(want, base) == 1 ? want : base + 1;
}
