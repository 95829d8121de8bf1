/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsockmon-text.h - building short texts without printf.
 *
 * The Info column and the protocol items' summaries are written for every
 * frame (twice with tshark -2); a vsnprintf per text was a visible share
 * of the dissection, so both layers append pieces into a fixed buffer.
 */
#ifndef VSOCKMON_TEXT_H
#define VSOCKMON_TEXT_H

#include <glib.h>
#include <wsutil/to_str.h>

typedef struct text_buf {
	char *pos;
	char *end;	/* the last byte, kept for the NUL */
} text_buf_t;

#define TEXT_BUF_INIT(buf, size) { (buf), (buf) + (size) - 1 }

static inline void put_str(text_buf_t *b, const char *s)
{
	while (*s && b->pos < b->end)
		*b->pos++ = *s++;
}

static inline void put_uint(text_buf_t *b, guint32 value)
{
	char digits[11];
	char *first = uint_to_str_back(digits + sizeof(digits), value);

	while (first < digits + sizeof(digits) && b->pos < b->end)
		*b->pos++ = *first++;
}

/* A value's name, or "<what> <number>" when it has none. */
static inline void put_name(text_buf_t *b, const char *name, const char *what, guint32 value)
{
	if (name) {
		put_str(b, name);
		return;
	}
	put_str(b, what);
	put_str(b, " ");
	put_uint(b, value);
}

static inline void text_buf_end(text_buf_t *b)
{
	*b->pos = '\0';
}

#endif /* VSOCKMON_TEXT_H */
