// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect/kvm_trace.h"
#include "spte_error.h"

static const char *const tracefs_roots[] = {
	"/sys/kernel/tracing",
	"/sys/kernel/debug/tracing",
};

static const struct {
	const char *name;
	gboolean optional;
} kvm_events[] = {
	{ "kvm_unmap_hva_range", FALSE },
	{ "kvm_age_hva", FALSE },
	{ "kvm_test_age_hva", FALSE },
	/* change_pte went away in 6.9 and took its tracepoint with it */
	{ "kvm_set_spte_hva", TRUE },
};

struct spte_kvm_trace {
	char *dir;		/* where events/ and trace are */
	char *instance;		/* == dir when we created an instance */
	/* per kvm_events[]: present, and the enable value found at start */
	gboolean have[G_N_ELEMENTS(kvm_events)];
	char *old_enable[G_N_ELEMENTS(kvm_events)];
	char *old_tracing_on;	/* top-level buffer only */
};

const char *spte_kvm_trace_dir(const struct spte_kvm_trace *t)
{
	return t->dir;
}

static char *enable_path(const struct spte_kvm_trace *t, guint i)
{
	return g_strdup_printf("%s/events/kvm/%s/enable", t->dir,
			       kvm_events[i].name);
}

static gboolean write_str(const char *path, const char *val, GError **error)
{
	gsize len = strlen(val);
	ssize_t r;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return spte_set_errno(error, errno, "open %s", path);
	do
		r = write(fd, val, len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int err = errno;

		close(fd);
		return spte_set_errno(error, err, "write '%s' to %s", val,
				      path);
	}
	close(fd);
	return TRUE;
}

static char *read_str(const char *path)
{
	char *s = NULL;

	if (!g_file_get_contents(path, &s, NULL, NULL))
		return NULL;
	return g_strstrip(s);
}

void spte_kvm_trace_stop(struct spte_kvm_trace *t)
{
	if (!t)
		return;
	for (guint i = 0; i < G_N_ELEMENTS(kvm_events); i++) {
		g_autofree char *path = NULL;

		/* best effort: there is nobody to report a failure to */
		if (t->have[i]) {
			path = enable_path(t, i);
			write_str(path, t->old_enable[i] ? t->old_enable[i] :
				  "0", NULL);
		}
		g_free(t->old_enable[i]);
	}
	if (t->old_tracing_on) {
		g_autofree char *path = g_build_filename(t->dir, "tracing_on",
							 NULL);

		write_str(path, t->old_tracing_on, NULL);
		g_free(t->old_tracing_on);
	}
	if (t->instance)
		rmdir(t->instance);
	g_free(t->instance);
	g_free(t->dir);
	g_free(t);
}

static const char *find_root(GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(tracefs_roots); i++) {
		g_autofree char *trace = g_build_filename(tracefs_roots[i],
							  "trace", NULL);

		if (!g_file_test(trace, G_FILE_TEST_EXISTS))
			continue;
		if (access(trace, W_OK) < 0) {
			spte_set_errno(error, errno,
				       "tracefs at %s is not writable",
				       tracefs_roots[i]);
			return NULL;
		}
		return tracefs_roots[i];
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
		    "tracefs is not mounted (looked at %s and %s)",
		    tracefs_roots[0], tracefs_roots[1]);
	return NULL;
}

gboolean spte_kvm_trace_start(struct spte_kvm_trace **out, GError **error)
{
	g_autoptr(spte_kvm_trace) t = g_new0(struct spte_kvm_trace, 1);
	g_autofree char *trace = NULL;
	const char *root = find_root(error);

	if (!root)
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(kvm_events); i++) {
		g_autofree char *path = g_strdup_printf(
			"%s/events/kvm/%s/enable", root, kvm_events[i].name);

		if (g_file_test(path, G_FILE_TEST_EXISTS))
			continue;
		if (kvm_events[i].optional)
			continue;
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "tracefs at %s has no kvm:%s event (is kvm.ko "
			    "loaded?)", root, kvm_events[i].name);
		return FALSE;
	}
	/*
	 * The top-level buffer, state saved and restored: creating and
	 * removing a tracefs instance around every run was the one unusual
	 * kernel path in lab runs that, rarely, ended in a soft lockup.
	 */
	t->dir = g_strdup(root);
	if (!t->instance) {
		g_autofree char *on = g_build_filename(t->dir, "tracing_on",
						       NULL);

		t->old_tracing_on = read_str(on);
		if (!write_str(on, "1", error))
			return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(kvm_events); i++) {
		g_autofree char *path = enable_path(t, i);

		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			continue;
		if (!t->instance)
			t->old_enable[i] = read_str(path);
		t->have[i] = TRUE;
		if (!write_str(path, "1", error))
			return FALSE;
	}
	/* opening "trace" with O_TRUNC empties the ring buffer */
	trace = g_build_filename(t->dir, "trace", NULL);
	if (!write_str(trace, "", error))
		return FALSE;
	*out = g_steal_pointer(&t);
	return TRUE;
}

void spte_kvm_trace_rec_clear(struct spte_kvm_trace_rec *rec)
{
	g_clear_pointer(&rec->event, g_free);
	g_clear_pointer(&rec->comm, g_free);
}

void spte_kvm_trace_rec_free(struct spte_kvm_trace_rec *rec)
{
	if (!rec)
		return;
	spte_kvm_trace_rec_clear(rec);
	g_free(rec);
}

/*
 * The default trace format: "COMM-PID [(TGID)] [CPU] [FLAGS] SEC.USEC:
 * EVENT: TEXT".  COMM may contain '-' and spaces, so PID is the last
 * "-digits" before the CPU column; TGID and FLAGS depend on trace_options.
 */
#define LINE_RE "^\\s*(.*)-(\\d+)\\s+(?:\\(\\s*[-\\d]+\\)\\s+)?\\[\\d+\\]\\s+" \
		"(?:\\S+\\s+)?(\\d+)\\.(\\d+):\\s+(\\w+):\\s+(.*)$"

static GRegex *line_regex(void)
{
	static GRegex *re;

	if (g_once_init_enter(&re)) {
		GRegex *r = g_regex_new(LINE_RE, G_REGEX_OPTIMIZE, 0, NULL);

		g_assert(r);
		g_once_init_leave(&re, r);
	}
	return re;
}

static gboolean is_kvm_event(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(kvm_events); i++) {
		if (!strcmp(name, kvm_events[i].name))
			return TRUE;
	}
	return FALSE;
}

/* "...: 0x7f0000000000 -- 0x7f0000200000" or "...: 0x7f0000000000" */
static gboolean parse_hvas(const char *text, guint64 *start, guint64 *end)
{
	const char *p = g_strrstr(text, ": ");
	char *e;

	if (!p)
		return FALSE;
	p += 2;
	*start = g_ascii_strtoull(p, &e, 16);
	if (e == p)
		return FALSE;
	if (!g_str_has_prefix(e, " -- ")) {
		*end = *start + 4096;
		return TRUE;
	}
	p = e + 4;
	*end = g_ascii_strtoull(p, &e, 16);
	return e != p && *end >= *start;
}

gboolean spte_kvm_trace_parse_line(const char *line,
				   struct spte_kvm_trace_rec *rec)
{
	g_autoptr(GMatchInfo) m = NULL;
	g_autofree char *event = NULL, *text = NULL, *pid = NULL;
	g_autofree char *sec = NULL, *frac = NULL;
	guint64 start, end, usec;
	gsize digits;

	if (line[0] == '#' ||
	    !g_regex_match(line_regex(), line, 0, &m))
		return FALSE;
	event = g_match_info_fetch(m, 5);
	text = g_match_info_fetch(m, 6);
	if (!is_kvm_event(event) || !parse_hvas(text, &start, &end))
		return FALSE;
	pid = g_match_info_fetch(m, 2);
	sec = g_match_info_fetch(m, 3);
	frac = g_match_info_fetch(m, 4);
	/* the fraction is microseconds with the default clocks; be exact */
	digits = strlen(frac);
	if (digits > 6)
		frac[6] = '\0';
	usec = g_ascii_strtoull(frac, NULL, 10);
	for (; digits < 6; digits++)
		usec *= 10;
	*rec = (struct spte_kvm_trace_rec){
		.event = g_steal_pointer(&event),
		.hva_start = start,
		.hva_end = end,
		.ts_us = g_ascii_strtoull(sec, NULL, 10) * 1000000 + usec,
		.pid = (int)g_ascii_strtoll(pid, NULL, 10),
		.comm = g_match_info_fetch(m, 1),
	};
	return TRUE;
}

GPtrArray *spte_kvm_trace_collect(struct spte_kvm_trace *t)
{
	GPtrArray *recs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)spte_kvm_trace_rec_free);
	g_autofree char *path = g_build_filename(t->dir, "trace", NULL);
	g_autofree char *text = NULL;
	char *line, *next;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return recs;
	for (line = text; line && *line; line = next) {
		struct spte_kvm_trace_rec rec, *copy;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!spte_kvm_trace_parse_line(line, &rec))
			continue;
		copy = g_new(struct spte_kvm_trace_rec, 1);
		*copy = rec;
		g_ptr_array_add(recs, copy);
	}
	return recs;
}
