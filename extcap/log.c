// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * log.c - see log.h. Levels follow Wireshark's extcap --log-level names.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level threshold = LOG_MESSAGE;
static FILE *log_file;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARNING] = "warning",
	[LOG_MESSAGE] = "message",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
	[LOG_NOISY] = "noisy",
};

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	if (strcmp(name, "critical") == 0)
		return LOG_ERROR;
	return -1;
}

int log_init(enum log_level level, const char *path)
{
	threshold = level;
	if (path && *path) {
		log_file = fopen(path, "a");
		if (!log_file)
			return -1;
		setvbuf(log_file, NULL, _IOLBF, 0);
	}
	return 0;
}

void log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	/*
	 * Errors and warnings: one line on stderr, whatever the level. Other
	 * messages only go to the log file: Wireshark may show anything an
	 * extcap prints on stderr as a failure.
	 */
	if (level <= LOG_WARNING) {
		va_start(ap, fmt);
		fputs("vsockdump: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	if (log_file && level <= threshold) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		va_start(ap, fmt);
		fprintf(log_file, "%lld.%06ld [%d] %s: ", (long long)now.tv_sec,
			now.tv_nsec / 1000, (int)getpid(), level_names[level]);
		vfprintf(log_file, fmt, ap);
		fputc('\n', log_file);
		va_end(ap);
	}
}
