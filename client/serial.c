/* serial.c -- SOA serial policies of sign-zone (keep, increment, unixtime,
 * date counter): the zone engine's, under the CLI's names. */
#include "client/client.h"
#include "zone/zone.h"

uint32_t client_serial_next(client_serial policy, uint32_t in, uint32_t prev, int64_t now)
{
	return zone_serial_next((zone_serial)policy, in, prev, now);
}
