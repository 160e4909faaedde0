/* serial.c -- RFC 1982 serial number arithmetic for 32-bit values. */
#include "dnssec/dnssec.h"

int dns_serial_compare(uint32_t a, uint32_t b)
{
	/* The forward distance from a to b, modulo 2^32, decides: under half
	 * the circle ahead means a < b; exactly half is undefined. */
	uint32_t d = b - a;

	if (d == 0)
		return 0;
	if (d == UINT32_C(0x80000000))
		return 2;
	return d < UINT32_C(0x80000000) ? -1 : 1;
}
