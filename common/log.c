/* log.c -- one-line, timestamped log messages to stderr. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "common/common.h"

static sg_log_level log_level = SG_LOG_NOTICE;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void sg_log_set_level(sg_log_level level)
{
	log_level = level;
}

void sg_log(sg_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "notice", "info", "debug"};
	if (level > log_level || fmt == NULL)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Control characters from peer-supplied strings would forge log lines. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, ts.tv_nsec / 1000000, names[level], line);
	pthread_mutex_unlock(&log_lock);
}
