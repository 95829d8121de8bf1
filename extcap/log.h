/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - vsockdump's log: errors always go to stderr (Wireshark shows an
 * extcap's stderr when a capture fails); with --log-file every message at
 * or above --log-level is also appended to that file.
 */
#ifndef VSOCKDUMP_LOG_H
#define VSOCKDUMP_LOG_H

enum log_level {
	LOG_ERROR,
	LOG_WARNING,
	LOG_MESSAGE,
	LOG_INFO,
	LOG_DEBUG,
	LOG_NOISY,
};

/* Returns -1 if @name is not a level name. */
int log_level_from_name(const char *name);

/* Returns 0, or -1 (errno set) if @path cannot be opened for appending. */
int log_init(enum log_level level, const char *path);
void log_close(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* VSOCKDUMP_LOG_H */
