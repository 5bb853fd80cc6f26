// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_console.c - the VM's serial console, streamed to our stdout.
 *
 * Output is passed on as it arrives (interactive prompts have no newline,
 * so we cannot wait for whole lines), with three edits:
 *  - "\r\n" from the guest tty becomes "\n", so captured output compares
 *    equal to what the command printed;
 *  - the "SPTE-LAB-EXIT=<n>" line from lab/init is consumed, not printed;
 *    it may follow unterminated command output on the same line, so any
 *    tail that could still grow into the marker is held back;
 *  - after the marker only the kernel's shutdown chatter follows, which is
 *    dropped unless --verbose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab_private.h"

struct lab_console {
	GString *pending;	/* received, not yet written */
	gboolean verbose;
	gboolean have_status;
	gboolean after_marker;
	gboolean mid_line;	/* the last byte written was not '\n' */
	int status;
};

struct lab_console *lab_console_new(gboolean verbose)
{
	struct lab_console *con = g_new0(struct lab_console, 1);

	con->pending = g_string_new(NULL);
	con->verbose = verbose;
	return con;
}

void lab_console_free(struct lab_console *con)
{
	if (!con)
		return;
	g_string_free(con->pending, TRUE);
	g_free(con);
}

gboolean lab_console_status(const struct lab_console *con, int *status)
{
	if (con->have_status)
		*status = con->status;
	return con->have_status;
}

static void emit(struct lab_console *con, const char *buf, gsize len)
{
	if (con->after_marker && !con->verbose)
		return;
	/* Drop the \r of every \r\n inside buf. */
	for (gsize i = 0; i < len; i++) {
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			continue;
		putchar(buf[i]);
		con->mid_line = buf[i] != '\n';
	}
}

/* Length of the longest suffix of s[0..len) that is a prefix of the marker. */
static gsize marker_prefix_tail(const char *s, gsize len)
{
	const gsize mlen = strlen(LAB_EXIT_MARKER);

	for (gsize n = MIN(len, mlen - 1); n > 0; n--) {
		if (memcmp(s + len - n, LAB_EXIT_MARKER, n) == 0)
			return n;
	}
	return 0;
}

/* Parse "<digits>" after the marker up to the end of the line. */
static void take_marker(struct lab_console *con, const char *digits, gsize len)
{
	g_autofree char *t = g_strndup(digits, len);
	char *end;
	long v;

	g_strstrip(t);
	v = strtol(t, &end, 10);
	if (*t && !*end && v >= 0 && v <= 255) {
		con->status = (int)v;
		con->have_status = TRUE;
	}
	con->after_marker = TRUE;
}

/*
 * Write out what can be written; @final flushes even an incomplete tail.
 */
static void drain(struct lab_console *con, gboolean final)
{
	GString *p = con->pending;
	gsize done = 0;

	while (done < p->len) {
		const char *s = p->str + done;
		gsize avail = p->len - done;
		const char *nl = memchr(s, '\n', avail);
		const char *mk = g_strstr_len(s, nl ? (gssize)(nl - s) : (gssize)avail,
					      LAB_EXIT_MARKER);

		if (mk && nl) {
			const char *num = mk + strlen(LAB_EXIT_MARKER);

			/* Text before the marker is the command's; end it. */
			emit(con, s, mk - s);
			if (con->mid_line)
				emit(con, "\n", 1);
			take_marker(con, num, nl - num);
			done = nl + 1 - p->str;
			continue;
		}
		if (nl) {
			emit(con, s, nl + 1 - s);
			done = nl + 1 - p->str;
			continue;
		}
		/* Incomplete line: hold back a possible marker start or \r. */
		if (!final) {
			gsize keep = mk ? (gsize)(s + avail - mk)
					: marker_prefix_tail(s, avail);

			if (!keep && s[avail - 1] == '\r')
				keep = 1;
			emit(con, s, avail - keep);
			done += avail - keep;
			break;
		}
		emit(con, s, avail);
		done = p->len;
	}
	g_string_erase(p, 0, done);
	fflush(stdout);
}

void lab_console_feed(struct lab_console *con, const char *buf, gsize len)
{
	g_string_append_len(con->pending, buf, len);
	drain(con, FALSE);
}

void lab_console_finish(struct lab_console *con)
{
	drain(con, TRUE);
}
