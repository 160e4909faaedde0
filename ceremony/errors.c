/* errors.c -- the reason of the last failure, per thread, for operators. */
#include <stdarg.h>
#include <stdio.h>

#include "ceremony/internal.h"

static _Thread_local char last[512] = "no error";

const char *cer_last_error(void)
{
	return last;
}

signet_err cer_fail(signet_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last, sizeof(last), fmt, ap);
	va_end(ap);
	return err;
}
