/* errors.c -- the reason of a failure, written into the caller's buffer. */
#include <stdarg.h>
#include <stdio.h>

#include "ceremony/internal.h"

signet_err cer_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
{
	if (errmsg == NULL || errlen == 0)
		return err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, errlen, fmt, ap);
	va_end(ap);
	return err;
}
