// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fold.h"
#include "json_member.h"
#include "knobs.h"
#include "kvm_trace.h"
#include "spte_error.h"
#include "tracefs.h"

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
	const char *root = spte_tracefs_root(error);
	g_autofree char *trace = NULL;

	if (!root)
		return NULL;
	trace = g_build_filename(root, "trace", NULL);
	if (access(trace, W_OK) < 0) {
		spte_set_errno(error, errno, "tracefs at %s is not writable",
			       root);
		return NULL;
	}
	return root;
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

		t->old_tracing_on = spte_knob_read(on, NULL);
		if (!write_str(on, "1", error))
			return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(kvm_events); i++) {
		g_autofree char *path = enable_path(t, i);

		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			continue;
		if (!t->instance)
			t->old_enable[i] = spte_knob_read(path, NULL);
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
		.gpa_start = SPTE_KVM_TRACE_NO_GPA,
		.gpa_end = SPTE_KVM_TRACE_NO_GPA,
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

void spte_kvm_trace_set_gpa(struct spte_kvm_trace_rec *rec, guint64 hva,
			    guint64 len, guint64 gpa)
{
	guint64 lo = MAX(rec->hva_start, hva);
	guint64 hi = MIN(rec->hva_end, hva + len);

	if (lo >= hi) {
		rec->gpa_start = rec->gpa_end = SPTE_KVM_TRACE_NO_GPA;
		return;
	}
	rec->gpa_start = gpa + (lo - hva);
	rec->gpa_end = gpa + (hi - hva);
}

static gboolean has_gpa(const struct spte_kvm_trace_rec *r)
{
	return r->gpa_start != SPTE_KVM_TRACE_NO_GPA;
}

/* ---- JSON ---- */

JsonNode *spte_kvm_trace_to_json(GPtrArray *recs)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_array(b);
	for (guint i = 0; i < recs->len; i++) {
		const struct spte_kvm_trace_rec *r = recs->pdata[i];

		json_builder_begin_object(b);
		spte_json_add_string(b, "event", r->event);
		spte_json_add_string(b, "comm", r->comm);
		spte_json_add_int(b, "pid", r->pid);
		spte_json_add_int(b, "ts_us", (gint64)r->ts_us);
		spte_json_add_int(b, "hva_start", (gint64)r->hva_start);
		spte_json_add_int(b, "hva_end", (gint64)r->hva_end);
		spte_json_add_u64_or_null(b, "gpa_start", r->gpa_start);
		spte_json_add_u64_or_null(b, "gpa_end", r->gpa_end);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	return json_builder_get_root(b);
}

static gboolean rec_from_json(JsonNode *node, guint i,
			      struct spte_kvm_trace_rec *r, GError **error)
{
	JsonObject *o = spte_json_record(node, "kvm_trace", i,
					 "a tracepoint record object", error);
	guint64 pid;

	if (!o)
		return FALSE;
	if (!spte_json_member_string(o, "kvm_trace", i, "event", &r->event, error) ||
	    !spte_json_member_string(o, "kvm_trace", i, "comm", &r->comm, error) ||
	    !spte_json_member_int(o, "kvm_trace", i, "pid", FALSE, SPTE_KVM_TRACE_NO_GPA, &pid, error) ||
	    !spte_json_member_int(o, "kvm_trace", i, "ts_us", FALSE, SPTE_KVM_TRACE_NO_GPA, &r->ts_us, error) ||
	    !spte_json_member_int(o, "kvm_trace", i, "hva_start", FALSE, SPTE_KVM_TRACE_NO_GPA, &r->hva_start, error) ||
	    !spte_json_member_int(o, "kvm_trace", i, "hva_end", FALSE, SPTE_KVM_TRACE_NO_GPA, &r->hva_end, error) ||
	    !spte_json_member_int(o, "kvm_trace", i, "gpa_start", TRUE, SPTE_KVM_TRACE_NO_GPA, &r->gpa_start, error) ||
	    !spte_json_member_int(o, "kvm_trace", i, "gpa_end", TRUE, SPTE_KVM_TRACE_NO_GPA, &r->gpa_end, error))
		return FALSE;
	r->pid = (int)pid;
	if (r->hva_end < r->hva_start ||
	    (r->gpa_start == SPTE_KVM_TRACE_NO_GPA) !=
	    (r->gpa_end == SPTE_KVM_TRACE_NO_GPA) ||
	    (has_gpa(r) && r->gpa_end <= r->gpa_start)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "kvm_trace[%u]: a range ends before it starts, or "
			    "has one GPA end only", i);
		return FALSE;
	}
	return TRUE;
}

gboolean spte_kvm_trace_from_json(JsonNode *array, GPtrArray **out,
				  GError **error)
{
	g_autoptr(GPtrArray) recs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)spte_kvm_trace_rec_free);
	JsonArray *a;

	if (!array || !JSON_NODE_HOLDS_ARRAY(array)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "kvm_trace: expected an array of tracepoint records");
		return FALSE;
	}
	a = json_node_get_array(array);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		struct spte_kvm_trace_rec *r = g_new0(struct spte_kvm_trace_rec, 1);

		g_ptr_array_add(recs, r);
		if (!rec_from_json(json_array_get_element(a, i), i, r, error))
			return FALSE;
	}
	*out = g_steal_pointer(&recs);
	return TRUE;
}

/* ---- rows ---- */

static struct spte_fold_place rec_where(const struct spte_kvm_trace_rec *r)
{
	return (struct spte_fold_place){
		.hva_start = r->hva_start, .hva_end = r->hva_end,
		.has_gpa = has_gpa(r),
		.gpa_start = r->gpa_start, .gpa_end = r->gpa_end,
	};
}

/*
 * The same step: the same event from the same task over a range of the
 * same size, inside guest memory or not alike; the place is the GPA, the
 * HVA moving with it (the HVA alone outside guest memory).
 */
static gboolean rec_same(gconstpointer data, guint a, guint b, gint64 *delta)
{
	GPtrArray *recs = (GPtrArray *)data;
	const struct spte_kvm_trace_rec *x = recs->pdata[a], *y = recs->pdata[b];
	struct spte_fold_place px, py;

	if (strcmp(x->event, y->event) || strcmp(x->comm, y->comm) ||
	    x->pid != y->pid)
		return FALSE;
	px = rec_where(x);
	py = rec_where(y);
	return spte_fold_same_place(&px, &py, delta);
}

static gint64 rec_place(gconstpointer data, guint i)
{
	struct spte_fold_place p = rec_where(((GPtrArray *)data)->pdata[i]);

	return spte_fold_place_addr(&p);
}

static const struct spte_fold_ops rec_fold_ops = {
	.same = rec_same,
	.addr = rec_place,
};

static char *rec_when(const struct spte_kvm_trace_rec *r)
{
	return g_strdup_printf("%" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT,
			       r->ts_us / 1000000, r->ts_us % 1000000);
}

static void append_task(GString *out, const struct spte_kvm_trace_rec *r,
			gboolean brief)
{
	if (brief)
		g_string_append_printf(out, "%s %s ", r->comm, r->event);
	else
		g_string_append_printf(out, "%s-%d %-19s ", r->comm, r->pid,
				       r->event);
}

static char *rec_key(char kind, const struct spte_kvm_trace_rec *r)
{
	if (!has_gpa(r))
		return g_strdup_printf("%c %s outside", kind, r->event);
	return g_strdup_printf("%c %s %" G_GINT64_MODIFIER "x-%"
			       G_GINT64_MODIFIER "x", kind, r->event,
			       r->gpa_start, r->gpa_end);
}

static void add_record(const struct spte_kvm_trace_rec *r,
		       enum spte_row_kind kind, gboolean brief,
		       GPtrArray *rows)
{
	GString *text = g_string_new(kind == SPTE_ROW_BLOCK ? "  " : NULL);
	g_autofree char *when = kind == SPTE_ROW_BLOCK ? g_strdup("") :
				rec_when(r);

	append_task(text, r, brief);
	if (brief && has_gpa(r))
		g_string_append_printf(text, "gpa 0x%" G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x", r->gpa_start,
				       r->gpa_end - 1);
	else if (brief)
		g_string_append(text, "outside guest memory");
	else
		g_string_append_printf(text, "hva 0x%" G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x", r->hva_start,
				       r->hva_end - 1);
	if (!brief && has_gpa(r))
		g_string_append_printf(text, ", here gpa 0x%" G_GINT64_MODIFIER
				       "x-0x%" G_GINT64_MODIFIER "x",
				       r->gpa_start, r->gpa_end - 1);
	g_ptr_array_add(rows, spte_row_new(kind, when, "",
					   g_string_free(text, FALSE),
					   rec_key(kind == SPTE_ROW_BLOCK ?
						   'b' : 'r', r)));
}

static void add_fold(GPtrArray *recs, const struct spte_fold *f,
		     gboolean brief, GPtrArray *rows)
{
	const struct spte_kvm_trace_rec *a = recs->pdata[f->first];
	const struct spte_kvm_trace_rec *z =
		recs->pdata[f->first + f->period * f->count - 1];
	guint64 addr = has_gpa(a) ? a->gpa_start : a->hva_start;
	guint64 size = has_gpa(a) ? a->gpa_end - a->gpa_start :
		       a->hva_end - a->hva_start;
	GString *text = g_string_new(NULL);
	g_autofree char *when = rec_when(a);
	/* brief: no HVA, here or in the key, as in add_record() */
	gboolean placeless = brief && !has_gpa(a);
	struct spte_row *row;

	if (f->period == 1)
		append_task(text, a, brief);
	spte_fold_append_range(text, placeless ? NULL : has_gpa(a) ? "gpa" :
			       "hva", addr, f);
	if (placeless)
		g_string_append(text, " outside guest memory");
	if (f->period > 1)
		g_string_append_printf(text, ", %u %s", f->period,
				       brief ? "each" : "records each");
	else if (!brief)
		g_string_append_printf(text, " (%" G_GUINT64_FORMAT " %s each)",
				       size >> 12, size >> 12 == 1 ? "page" :
				       "pages");
	if (!brief)
		g_string_append_printf(text, "  [%.3f ms]",
				       (double)(z->ts_us - a->ts_us) / 1e3);
	row = spte_row_new(f->period == 1 ? SPTE_ROW_RUN : SPTE_ROW_FOLD,
			   when, "", g_string_free(text, FALSE),
			   g_strdup_printf("%c %s %u %" G_GINT64_MODIFIER "x %"
					   G_GINT64_MODIFIER "d",
					   f->period == 1 ? 'R' : 'F',
					   f->period == 1 ? a->event : "",
					   f->count, placeless ? 0 : addr,
					   placeless ? 0 : f->stride));
	row->records = f->period * f->count;
	row->count = f->count;
	row->period = f->period;
	row->stride = f->stride;
	row->first_addr = placeless ? 0 : addr;
	g_ptr_array_add(rows, row);
	for (guint j = 0; f->period > 1 && j < f->period; j++)
		add_record(recs->pdata[f->first + j], SPTE_ROW_BLOCK, brief,
			   rows);
}

GPtrArray *spte_kvm_trace_rows(GPtrArray *recs, gboolean brief)
{
	g_autoptr(GArray) folds = spte_fold_find(recs->len, &rec_fold_ops,
						 recs);
	GPtrArray *rows = spte_rows_new();

	for (guint k = 0; k < folds->len; k++) {
		const struct spte_fold *f = &g_array_index(folds,
							   struct spte_fold, k);

		if (f->count == 1)
			add_record(recs->pdata[f->first], SPTE_ROW_RECORD,
				   brief, rows);
		else
			add_fold(recs, f, brief, rows);
	}
	return rows;
}
