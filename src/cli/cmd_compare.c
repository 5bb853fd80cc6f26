// SPDX-License-Identifier: GPL-2.0
/*
 * spte compare NAME|FILE [--kernels A,B] [--json FILE]: one scenario in the
 * lab on each lab kernel, the notifier callbacks and KVM's tracepoints of
 * the runs folded (inspect/fold.h) and lined up side by side, then what
 * differs.  Each run is `spte lab --kernel K -- spte scenario run NAME
 * --json ...` in a process of its own, its output in a log next to its
 * report, so a screen shows the comparison and not four hundred lines per
 * kernel.  `--report FILE...` compares reports saved earlier instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "cli.h"
#include "fold.h"
#include "json_member.h"
#include "kvm_trace.h"
#include "timeline.h"
#include "lab.h"
#include "scenario_run.h"
#include "spte_error.h"

/* Above this many cells the lining up falls back to rows in order. */
#define ALIGN_MAX_CELLS	(G_GUINT64_CONSTANT(1) << 22)
/* Lines of a failed run's log shown on stderr. */
#define LOG_TAIL_LINES	15

struct column {
	char *label;		/* the lab kernel, or a report's kernel */
	char *release;		/* uname -r of the run */
	char *report;		/* its report, NULL if there is none */
	char *log;		/* the lab's output, NULL if not run here */
	int lab_status;		/* -1: not run here */
	gboolean passed;
	guint checks, failed;
	char *problem;		/* why the run failed, or NULL */
	/* the scenario does not apply to this kernel: why, else NULL */
	char *not_here;
	GArray *events;		/* struct spte_mirror_event */
	GPtrArray *kvm;		/* spte_kvm_trace_rec; NULL: not traced */
	GPtrArray *ev_rows, *kvm_rows;
};

static void column_clear(struct column *c)
{
	g_free(c->label);
	g_free(c->release);
	g_free(c->report);
	g_free(c->log);
	g_free(c->problem);
	g_free(c->not_here);
	g_clear_pointer(&c->events, g_array_unref);
	g_clear_pointer(&c->kvm, g_ptr_array_unref);
	g_clear_pointer(&c->ev_rows, g_ptr_array_unref);
	g_clear_pointer(&c->kvm_rows, g_ptr_array_unref);
}

struct compare {
	char *scenario;
	char *summary;
	struct column *col;
	guint ncols;
	GPtrArray *ev_lines;	/* struct spte_row *[ncols] each */
	GPtrArray *kvm_lines;
	gboolean ev_aligned, kvm_aligned;
};

static void compare_clear(struct compare *c)
{
	for (guint i = 0; i < c->ncols; i++)
		column_clear(&c->col[i]);
	g_free(c->col);
	g_free(c->scenario);
	g_free(c->summary);
	g_clear_pointer(&c->ev_lines, g_ptr_array_unref);
	g_clear_pointer(&c->kvm_lines, g_ptr_array_unref);
}

/* ---- reading a report ---- */

static gboolean load_report(struct compare *cmp, struct column *c,
			    GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *o;
	JsonNode *root, *checks, *kvm;
	const char *s;

	/* json-glib's messages name the file already */
	if (!json_parser_load_from_file(parser, c->report, error))
		return FALSE;
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root) ||
	    !json_object_has_member(json_node_get_object(root), "events")) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: not a scenario report (no 'events')",
			    c->report);
		return FALSE;
	}
	o = json_node_get_object(root);
	if (!spte_events_from_json(json_object_get_member(o, "events"),
				   &c->events, error)) {
		g_prefix_error(error, "%s: ", c->report);
		return FALSE;
	}
	kvm = json_object_get_member(o, "kvm_trace");
	if (kvm && !spte_kvm_trace_from_json(kvm, &c->kvm, error)) {
		g_prefix_error(error, "%s: ", c->report);
		return FALSE;
	}
	c->passed = json_object_get_boolean_member_with_default(o, "passed",
								FALSE);
	s = spte_json_string_or_null(o, "kernel");
	c->release = g_strdup(s ? s : "unknown");
	if (!c->label)
		c->label = g_strdup(c->release);
	checks = json_object_get_member(o, "checks");
	if (checks && JSON_NODE_HOLDS_ARRAY(checks)) {
		JsonArray *a = json_node_get_array(checks);

		c->checks = json_array_get_length(a);
		for (guint i = 0; i < c->checks; i++) {
			JsonNode *e = json_array_get_element(a, i);

			c->failed += JSON_NODE_HOLDS_OBJECT(e) &&
				!json_object_get_boolean_member_with_default(
					json_node_get_object(e), "passed",
					FALSE);
		}
	}
	s = spte_json_string_or_null(o, "scenario");
	if (!cmp->scenario && s)
		cmp->scenario = g_strdup(s);
	s = spte_json_string_or_null(o, "summary");
	if (!cmp->summary && s)
		cmp->summary = g_strdup(s);
	return TRUE;
}

/* ---- running the lab ---- */

static void print_log_tail(const char *path)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	guint n, from;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	lines = g_strsplit(g_strchomp(text), "\n", -1);
	n = g_strv_length(lines);
	from = n > LOG_TAIL_LINES ? n - LOG_TAIL_LINES : 0;
	fprintf(stderr, "spte compare: the end of %s:\n", path);
	for (guint i = from; i < n; i++)
		fprintf(stderr, "  %s\n", lines[i]);
}

static const char *column_verdict(const struct column *c)
{
	if (c->not_here)
		return "not on this kernel";
	return c->problem ? "FAILED" : c->passed ? "PASS" : "FAIL";
}

/*
 * What `spte scenario run` printed when the scenario does not apply to
 * the kernel: "NAME: not on this kernel: kernel R lacks ...".
 */
static char *not_here_reason(const char *log)
{
	g_autofree char *text = NULL;
	const char *p, *end;

	if (!g_file_get_contents(log, &text, NULL, NULL) ||
	    !(p = strstr(text, ": not on this kernel: ")))
		return g_strdup("the scenario does not apply to this kernel");
	p += strlen(": not on this kernel: ");
	end = strchrnul(p, '\n');
	return g_strndup(p, end - p);
}

/* "the lab run ended with status N (what N means)@more" */
static char *lab_ended(int status, const char *more)
{
	const char *why = spte_lab_exit_text(status);

	if (!why)
		return g_strdup_printf("the lab run ended with status %d%s",
				       status, more);
	return g_strdup_printf("the lab run ended with status %d (%s)%s",
			       status, why, more);
}

/*
 * spte lab --kernel K [what the scenario needs] --share OUT -- spte
 * scenario run ARG --json REPORT, in a process of our own binary whose
 * output goes to the column's log: the lab and the scenario print a few
 * hundred lines that the comparison is meant to spare the reader.
 */
static void run_column(struct compare *cmp, struct column *c,
		       const struct spte_scenario *sc, const char *arg,
		       const char *out_dir)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *base = g_strdup_printf("%s-%s", sc->name, c->label);
	g_autofree char *report_name = g_strconcat(base, ".json", NULL);
	g_auto(GStrv) lab_args = spte_scenario_lab_args(sc);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_autoptr(GSubprocessLauncher) l = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) argv = NULL;
	gint64 t0 = g_get_monotonic_time();

	c->report = g_build_filename(out_dir, report_name, NULL);
	c->log = g_strconcat(out_dir, G_DIR_SEPARATOR_S, base, ".log", NULL);
	/* a report left by an earlier run must not pass for this one's */
	g_unlink(c->report);
	g_strv_builder_add_many(b, exe ? exe : "spte", "lab", "--kernel",
				c->label, NULL);
	g_strv_builder_addv(b, (const char **)lab_args);
	g_strv_builder_add_many(b, "--share", out_dir, "--", "spte",
				"scenario", "run", arg, "--json", report_name,
				NULL);
	argv = g_strv_builder_end(b);
	fprintf(stderr, "spte compare: %s on lab kernel %s (output in %s)\n",
		sc->name, c->label, c->log);
	l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
	/* no console: the lab would hand it to the command */
	g_subprocess_launcher_set_stdin_file_path(l, "/dev/null");
	g_subprocess_launcher_set_stdout_file_path(l, c->log);
	proc = g_subprocess_launcher_spawnv(l, (const char *const *)argv,
					    &error);
	if (!proc || !g_subprocess_wait(proc, NULL, &error)) {
		c->problem = g_strdup_printf("could not run spte lab: %s",
					     error->message);
		return;
	}
	c->lab_status = g_subprocess_get_if_exited(proc) ?
			g_subprocess_get_exit_status(proc) :
			128 + g_subprocess_get_term_sig(proc);
	if (c->lab_status == SPTE_SCENARIO_NOT_APPLICABLE &&
	    !g_file_test(c->report, G_FILE_TEST_EXISTS))
		/* an outcome on this kernel, not a failure of the run */
		c->not_here = not_here_reason(c->log);
	else if (!g_file_test(c->report, G_FILE_TEST_EXISTS))
		c->problem = lab_ended(c->lab_status, " and wrote no report");
	else if (!load_report(cmp, c, &error))
		c->problem = g_strdup(error->message);
	else if (c->lab_status > 1)
		/* the scenario passed, the lab did not: a splat, say */
		c->problem = lab_ended(c->lab_status, "");
	fprintf(stderr, "spte compare: %s: %s, lab status %d, %.1f s\n",
		c->label, column_verdict(c), c->lab_status,
		(g_get_monotonic_time() - t0) / 1e6);
	if (c->problem) {
		fprintf(stderr, "spte compare: %s: %s\n", c->label, c->problem);
		print_log_tail(c->log);
	}
}

/*
 * A scenario file goes into the share beside the reports, so the lab
 * finds it whatever directory it came from; "./" keeps a file named like
 * a built-in scenario from being taken for it.
 */
static char *scenario_arg(const char *arg, const char *out_dir,
			  GError **error)
{
	g_autofree char *base = NULL, *copy = NULL, *text = NULL;
	g_autoptr(GBytes) builtin = NULL;
	gsize len;

	if (!strchr(arg, '/') && !g_str_has_suffix(arg, ".scenario") &&
	    (builtin = spte_scenario_builtin_text(arg)))
		return g_strdup(arg);
	base = g_path_get_basename(arg);
	copy = g_build_filename(out_dir, base, NULL);
	if (!g_file_get_contents(arg, &text, &len, error) ||
	    !g_file_set_contents(copy, text, len, error))
		return NULL;
	return g_strconcat("./", base, NULL);
}

/* ---- lining the columns up ---- */

static const char *line_key(struct spte_row **line, guint ncols)
{
	for (guint i = 0; i < ncols; i++)
		if (line[i])
			return line[i]->key;
	return "";
}

static struct spte_row **line_new(guint ncols, guint col, struct spte_row *r)
{
	struct spte_row **line = g_new0(struct spte_row *, ncols);

	line[col] = r;
	return line;
}

/*
 * Add column @col's @rows to @table (lines of the columns before it) by
 * the longest common subsequence of their keys, so the same step of two
 * kernels sits on one line and a callback one kernel lacks leaves a gap
 * on its side.  The common head and tail are taken first; a middle too
 * large for the table is put line against line in order, and FALSE says
 * so.
 */
static gboolean align_column(GPtrArray *table, guint ncols, guint col,
			     GPtrArray *rows)
{
	guint n = table->len, m = rows->len, head = 0, tail = 0;
	/* the lines move to the new table: taken, not freed */
	g_autofree gpointer *old = g_ptr_array_steal(table, NULL);
	g_autofree guint32 *lcs = NULL;
	gboolean aligned = TRUE;
	guint w, i, j;

#define OLD(k)	((struct spte_row **)old[k])
#define ROW(k)	((struct spte_row *)rows->pdata[k])
#define SAME(a, b) (!strcmp(line_key(OLD(a), ncols), ROW(b)->key))
	while (head < n && head < m && SAME(head, head))
		head++;
	while (tail < n - head && tail < m - head &&
	       SAME(n - 1 - tail, m - 1 - tail))
		tail++;
	n -= head + tail;
	m -= head + tail;
	for (i = 0; i < head; i++) {
		OLD(i)[col] = ROW(i);
		g_ptr_array_add(table, OLD(i));
	}
	if ((guint64)(n + 1) * (m + 1) > ALIGN_MAX_CELLS) {
		aligned = FALSE;
		for (i = 0; i < n || i < m; i++) {
			if (i < n) {
				OLD(head + i)[col] = i < m ? ROW(head + i) : NULL;
				g_ptr_array_add(table, OLD(head + i));
			} else {
				g_ptr_array_add(table, line_new(ncols, col,
								ROW(head + i)));
			}
		}
	} else {
		/* lcs[i * w + j]: of old[head + i..] and rows[head + j..] */
		w = m + 1;
		lcs = g_new0(guint32, (gsize)(n + 1) * w);
		for (i = n; i-- > 0;)
			for (j = m; j-- > 0;)
				lcs[i * w + j] = SAME(head + i, head + j) ?
					lcs[(i + 1) * w + j + 1] + 1 :
					MAX(lcs[(i + 1) * w + j],
					    lcs[i * w + j + 1]);
		for (i = 0, j = 0; i < n || j < m;) {
			if (i < n && j < m && SAME(head + i, head + j) &&
			    lcs[i * w + j] == lcs[(i + 1) * w + j + 1] + 1) {
				OLD(head + i)[col] = ROW(head + j);
				g_ptr_array_add(table, OLD(head + i));
				i++;
				j++;
			} else if (i < n && (j == m || lcs[(i + 1) * w + j] >=
						       lcs[i * w + j + 1])) {
				g_ptr_array_add(table, OLD(head + i));
				i++;
			} else {
				g_ptr_array_add(table, line_new(ncols, col,
								ROW(head + j)));
				j++;
			}
		}
	}
	for (i = 0; i < tail; i++) {
		OLD(head + n + i)[col] = ROW(head + m + i);
		g_ptr_array_add(table, OLD(head + n + i));
	}
#undef SAME
#undef ROW
#undef OLD
	return aligned;
}

/* Lines of struct spte_row *[ncols]; which columns' rows: @kvm or events. */
static GPtrArray *align(struct compare *cmp, gboolean kvm, gboolean *aligned)
{
	GPtrArray *table = g_ptr_array_new_with_free_func(g_free);

	*aligned = TRUE;
	for (guint c = 0; c < cmp->ncols; c++) {
		GPtrArray *rows = kvm ? cmp->col[c].kvm_rows :
				  cmp->col[c].ev_rows;

		if (rows)
			*aligned &= align_column(table, cmp->ncols, c, rows);
	}
	return table;
}

/* ---- what differs ---- */

struct counts {
	guint64 cb[SPTE_CB_NR];
	guint64 inside[SPTE_CB_NR];	/* within a start/end pair */
	guint64 dropped;
	GHashTable *around[SPTE_CB_NR];	/* "after A, before B" -> count */
};

static void count_events(const struct column *c, struct counts *k)
{
	const struct spte_mirror_event *ev =
		(const struct spte_mirror_event *)c->events->data;
	guint n = c->events->len;
	g_autofree guint *depth = spte_timeline_depths(ev, n);

	memset(k, 0, sizeof(*k));
	for (guint i = 0; i < n; i++) {
		guint32 cb = ev[i].callback;
		char *pair;
		gpointer v;

		if (cb == SPTE_CB_DROPPED) {
			k->dropped += ev[i].leaves;
			continue;
		}
		if (cb >= SPTE_CB_NR)
			continue;
		k->cb[cb]++;
		k->inside[cb] += depth[i] > 0;
		if (!k->around[cb])
			k->around[cb] = g_hash_table_new_full(g_str_hash,
							      g_str_equal,
							      g_free, NULL);
		pair = g_strdup_printf("after %s, before %s", i ?
			spte_mirror_callback_name(ev[i - 1].callback) :
			"the log's start", i + 1 < n ?
			spte_mirror_callback_name(ev[i + 1].callback) :
			"the log's end");
		v = g_hash_table_lookup(k->around[cb], pair);
		g_hash_table_insert(k->around[cb], pair,
				    GUINT_TO_POINTER(GPOINTER_TO_UINT(v) + 1));
	}
}

static void counts_clear(struct counts *k)
{
	for (guint cb = 0; cb < SPTE_CB_NR; cb++)
		g_clear_pointer(&k->around[cb], g_hash_table_unref);
}

/* The most frequent "after A, before B" of @cb, and how often. */
static const char *most_around(const struct counts *k, guint cb, guint *times)
{
	GHashTableIter it;
	gpointer key, v;
	const char *best = NULL;

	*times = 0;
	if (!k->around[cb])
		return NULL;
	g_hash_table_iter_init(&it, k->around[cb]);
	while (g_hash_table_iter_next(&it, &key, &v)) {
		if (GPOINTER_TO_UINT(v) > *times ||
		    (GPOINTER_TO_UINT(v) == *times && strcmp(key, best) < 0)) {
			*times = GPOINTER_TO_UINT(v);
			best = key;
		}
	}
	return best;
}

/* KVM's events by name, in first-seen order over every column. */
static GPtrArray *kvm_event_names(const struct compare *cmp)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	for (guint c = 0; c < cmp->ncols; c++) {
		GPtrArray *recs = cmp->col[c].kvm;

		for (guint i = 0; recs && i < recs->len; i++) {
			const struct spte_kvm_trace_rec *r = recs->pdata[i];

			if (!g_ptr_array_find_with_equal_func(names, r->event,
							      g_str_equal, NULL))
				g_ptr_array_add(names, g_strdup(r->event));
		}
	}
	return names;
}

static guint64 kvm_count(const struct column *c, const char *event)
{
	guint64 n = 0;

	for (guint i = 0; c->kvm && i < c->kvm->len; i++)
		n += !strcmp(((struct spte_kvm_trace_rec *)
			      c->kvm->pdata[i])->event, event);
	return n;
}

/* ---- printing ---- */

static char *cell_text(const struct spte_row *r, int seq_w)
{
	if (!r)
		return g_strdup("");
	if (seq_w)
		return g_strdup_printf("%-*s %s", seq_w, r->seq, r->text);
	return g_strdup(r->text);
}

static void print_table(const struct compare *cmp, GPtrArray *lines,
			const char *const *heads, GString *out)
{
	g_autofree int *seq_w = g_new0(int, cmp->ncols);
	g_autofree int *w = g_new0(int, cmp->ncols);

	for (guint l = 0; l < lines->len; l++) {
		struct spte_row **line = lines->pdata[l];

		for (guint c = 0; c < cmp->ncols; c++)
			if (line[c])
				seq_w[c] = MAX(seq_w[c],
					       (int)g_utf8_strlen(line[c]->seq, -1));
	}
	for (guint c = 0; c < cmp->ncols; c++)
		w[c] = g_utf8_strlen(heads[c], -1);
	for (guint l = 0; l < lines->len; l++) {
		struct spte_row **line = lines->pdata[l];

		for (guint c = 0; c < cmp->ncols; c++) {
			g_autofree char *t = cell_text(line[c], seq_w[c]);

			w[c] = MAX(w[c], (int)g_utf8_strlen(t, -1));
		}
	}
	for (guint l = 0; l <= lines->len; l++) {
		struct spte_row **line = l ? lines->pdata[l - 1] : NULL;

		g_string_append(out, "  ");
		for (guint c = 0; c < cmp->ncols; c++) {
			g_autofree char *t = line ? cell_text(line[c], seq_w[c]) :
					     g_strdup(heads[c]);
			/* printf pads bytes, and × is two of them */
			int pad = w[c] - (int)g_utf8_strlen(t, -1);

			g_string_append(out, t);
			/* not '|': that is the timeline's nesting */
			if (c + 1 < cmp->ncols)
				g_string_append_printf(out, "%*s \u2502 ", pad, "");
		}
		while (out->len && out->str[out->len - 1] == ' ')
			g_string_truncate(out, out->len - 1);
		g_string_append_c(out, '\n');
	}
}

static int label_width(const struct compare *cmp)
{
	int w = 0;

	for (guint i = 0; i < cmp->ncols; i++)
		w = MAX(w, (int)strlen(cmp->col[i].label));
	return w;
}

/* The release beside the label, "" when the label is the release. */
static const char *release_of(const struct column *c)
{
	if (!c->release)
		return "-";
	return strcmp(c->label, c->release) ? c->release : "";
}

static void print_runs(const struct compare *cmp, GString *out)
{
	int lw = label_width(cmp), rw = 0;

	for (guint i = 0; i < cmp->ncols; i++)
		rw = MAX(rw, (int)strlen(release_of(&cmp->col[i])));
	g_string_append_printf(out, "spte compare %s: %s\n", cmp->scenario,
			       cmp->summary ? cmp->summary : "");
	for (guint i = 0; i < cmp->ncols; i++) {
		const struct column *c = &cmp->col[i];

		g_string_append_printf(out, "  %-*s  ", lw, c->label);
		if (rw)
			g_string_append_printf(out, "%-*s  ", rw, release_of(c));
		if (c->not_here) {
			g_string_append_printf(out, "not on this kernel: %s\n",
					       c->not_here);
			continue;
		}
		if (!c->events) {
			g_string_append_printf(out, "FAILED: %s\n", c->problem);
			continue;
		}
		if (c->passed)
			g_string_append_printf(out, "PASS (%u checks)", c->checks);
		else
			g_string_append_printf(out, "FAIL (%u of %u checks failed)",
					       c->failed, c->checks);
		g_string_append_printf(out, ", %u records", c->events->len);
		if (c->kvm)
			g_string_append_printf(out, ", %u kvm tracepoints",
					       c->kvm->len);
		g_string_append_printf(out, "  %s\n", c->report);
		if (c->problem)
			g_string_append_printf(out, "  %-*s  but %s\n", lw, "",
					       c->problem);
	}
}

/* A count, or "-" for a kernel whose run left no report. */
static void append_count(GString *out, int w, gboolean have, guint64 n)
{
	if (have)
		g_string_append_printf(out, " %*" G_GUINT64_FORMAT, w, n);
	else
		g_string_append_printf(out, " %*s", w, "-");
}

static void print_differences(const struct compare *cmp, GString *out)
{
	g_autofree struct counts *k = g_new0(struct counts, cmp->ncols);
	g_autoptr(GPtrArray) kvm_names = kvm_event_names(cmp);
	g_autoptr(GString) where = g_string_new(NULL);
	int lw = MAX(label_width(cmp), 8);
	guint runs = 0, traced = 0;
	gboolean any_only = FALSE;

	for (guint c = 0; c < cmp->ncols; c++) {
		if (cmp->col[c].events)
			count_events(&cmp->col[c], &k[c]);
		runs += cmp->col[c].events != NULL;
		traced += cmp->col[c].kvm != NULL;
	}
	g_string_append(out, "\ncallbacks per kernel:\n");
	g_string_append_printf(out, "  %-24s", "");
	for (guint c = 0; c < cmp->ncols; c++)
		g_string_append_printf(out, " %*s", lw, cmp->col[c].label);
	g_string_append_c(out, '\n');
	for (guint cb = 0; cb < SPTE_CB_NR; cb++) {
		guint have = 0;

		for (guint c = 0; c < cmp->ncols; c++)
			have += cmp->col[c].events && k[c].cb[cb];
		if (!have)
			continue;
		g_string_append_printf(out, "  %-24s",
				       spte_mirror_callback_name(cb));
		for (guint c = 0; c < cmp->ncols; c++)
			append_count(out, lw, cmp->col[c].events != NULL,
				     k[c].cb[cb]);
		if (have < runs) {
			g_string_append(out, "   only on");
			for (guint c = 0; c < cmp->ncols; c++)
				if (k[c].cb[cb])
					g_string_append_printf(out, " %s",
							       cmp->col[c].label);
			any_only = TRUE;
		}
		g_string_append_c(out, '\n');
	}
	for (guint c = 0; c < cmp->ncols; c++)
		if (k[c].dropped)
			g_string_append_printf(out, "  %s lost %" G_GUINT64_FORMAT
					       " records (DROPPED): its counts "
					       "are short\n", cmp->col[c].label,
					       k[c].dropped);
	if (runs >= 2 && !any_only)
		g_string_append(out, "  every callback fires on every kernel\n");

	for (guint cb = SPTE_CB_INVALIDATE_RANGE_END + 1; cb < SPTE_CB_NR;
	     cb++) {
		for (guint c = 0; c < cmp->ncols; c++) {
			const char *around;
			guint times;

			if (!cmp->col[c].events || !k[c].cb[cb])
				continue;
			around = most_around(&k[c], cb, &times);
			g_string_append_printf(where, "  %-20s %-*s  %"
					       G_GUINT64_FORMAT " of %"
					       G_GUINT64_FORMAT " inside; %u %s\n",
					       spte_mirror_callback_name(cb),
					       label_width(cmp), cmp->col[c].label,
					       k[c].inside[cb], k[c].cb[cb],
					       times, around);
		}
	}
	if (where->len)
		g_string_append_printf(out, "\nwhere each callback fires (how "
				       "many inside an invalidate_range_start/"
				       "_end pair; its most frequent "
				       "neighbours):\n%s", where->str);
	if (kvm_names->len) {
		g_string_append(out, "\nkvm tracepoints per kernel:\n");
		for (guint e = 0; e < kvm_names->len; e++) {
			guint have = 0;

			g_string_append_printf(out, "  %-24s",
					       (char *)kvm_names->pdata[e]);
			for (guint c = 0; c < cmp->ncols; c++) {
				guint64 n = kvm_count(&cmp->col[c],
						      kvm_names->pdata[e]);

				have += n > 0;
				append_count(out, lw, cmp->col[c].kvm != NULL,
					     n);
			}
			if (have < traced) {
				g_string_append(out, "   only on");
				for (guint c = 0; c < cmp->ncols; c++)
					if (kvm_count(&cmp->col[c],
						      kvm_names->pdata[e]))
						g_string_append_printf(out, " %s",
							cmp->col[c].label);
			}
			g_string_append_c(out, '\n');
		}
	}
	for (guint c = 0; c < cmp->ncols; c++)
		counts_clear(&k[c]);
}

static void print_verdict(const struct compare *cmp, GString *out)
{
	g_string_append(out, "\nverdict:");
	for (guint c = 0; c < cmp->ncols; c++) {
		const struct column *col = &cmp->col[c];

		g_string_append_printf(out, " %s %s%s", col->label,
				       column_verdict(col),
				       c + 1 < cmp->ncols ? "," : "");
	}
	g_string_append_c(out, '\n');
}

static void print_compare(struct compare *cmp, GString *out)
{
	g_autoptr(GPtrArray) heads = g_ptr_array_new_with_free_func(g_free);
	guint runs = 0, traced = 0;

	print_runs(cmp, out);
	for (guint c = 0; c < cmp->ncols; c++) {
		const struct column *col = &cmp->col[c];

		/* a saved report's column is named after its release */
		if (col->release && !strcmp(col->label, col->release))
			g_ptr_array_add(heads, g_strdup(col->label));
		else
			g_ptr_array_add(heads, g_strdup_printf("%s (%s)",
					col->label, col->release ? col->release :
					col->not_here ? "not on this kernel" :
					"no report"));
		runs += col->events != NULL;
		traced += col->kvm != NULL;
	}
	if (!runs) {
		g_string_append(out, "\nno run left a report to compare\n");
		print_verdict(cmp, out);
		return;
	}
	g_string_append(out, "\nnotifier callbacks, lined up (a \u00d7N line: the "
			"block under it repeats N times, a step further each "
			"time):\n");
	if (!cmp->ev_aligned)
		g_string_append(out, "  (too long to line up: rows side by "
				"side in order)\n");
	print_table(cmp, cmp->ev_lines, (const char *const *)heads->pdata,
		    out);
	if (traced) {
		g_string_append(out, "\nkvm tracepoints, lined up:\n");
		if (!cmp->kvm_aligned)
			g_string_append(out, "  (too long to line up: rows side "
					"by side in order)\n");
		print_table(cmp, cmp->kvm_lines,
			    (const char *const *)heads->pdata, out);
	} else {
		g_string_append(out, "\nkvm tracepoints: not traced (only a "
				"scenario with a view step traces them)\n");
	}
	print_differences(cmp, out);
	print_verdict(cmp, out);
}

/* ---- JSON ---- */

static void add_lines(JsonBuilder *b, const char *name, GPtrArray *lines,
		      guint ncols)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint l = 0; l < lines->len; l++) {
		struct spte_row **line = lines->pdata[l];

		json_builder_begin_array(b);
		for (guint c = 0; c < ncols; c++) {
			if (line[c])
				json_builder_add_value(b, spte_row_to_json(line[c]));
			else
				json_builder_add_null_value(b);
		}
		json_builder_end_array(b);
	}
	json_builder_end_array(b);
}

static JsonNode *compare_json(struct compare *cmp, gboolean passed)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree struct counts *k = g_new0(struct counts, cmp->ncols);
	g_autoptr(GPtrArray) kvm_names = kvm_event_names(cmp);

	json_builder_begin_object(b);
	spte_json_add_string(b, "scenario", cmp->scenario);
	spte_json_add_string(b, "summary", cmp->summary);
	spte_json_add_bool(b, "passed", passed);
	json_builder_set_member_name(b, "columns");
	json_builder_begin_array(b);
	for (guint c = 0; c < cmp->ncols; c++) {
		const struct column *col = &cmp->col[c];

		if (col->events)
			count_events(col, &k[c]);
		json_builder_begin_object(b);
		spte_json_add_string(b, "kernel", col->label);
		spte_json_add_string(b, "release", col->release);
		spte_json_add_bool(b, "passed", col->passed && !col->problem);
		spte_json_add_int_or_null(b, "lab_status", col->lab_status >= 0,
					  col->lab_status);
		spte_json_add_string(b, "problem", col->problem);
		spte_json_add_string(b, "not_on_this_kernel", col->not_here);
		spte_json_add_string(b, "report", col->report);
		spte_json_add_string(b, "log", col->log);
		spte_json_add_int(b, "checks", col->checks);
		spte_json_add_int(b, "failed_checks", col->failed);
		spte_json_add_int(b, "records",
				  col->events ? col->events->len : 0);
		spte_json_add_int_or_null(b, "kvm_records", col->kvm != NULL,
					  col->kvm ? col->kvm->len : 0);
		json_builder_set_member_name(b, "callbacks");
		json_builder_begin_object(b);
		for (guint cb = 0; cb < SPTE_CB_NR; cb++) {
			const char *around;
			guint times;

			if (!k[c].cb[cb])
				continue;
			json_builder_set_member_name(b,
				spte_mirror_callback_name(cb));
			json_builder_begin_object(b);
			spte_json_add_int(b, "count", k[c].cb[cb]);
			spte_json_add_int(b, "inside", k[c].inside[cb]);
			around = most_around(&k[c], cb, &times);
			spte_json_add_string(b, "most_often", around);
			spte_json_add_int(b, "times", times);
			json_builder_end_object(b);
		}
		json_builder_end_object(b);
		spte_json_add_int(b, "dropped", k[c].dropped);
		json_builder_set_member_name(b, "kvm_events");
		json_builder_begin_object(b);
		for (guint e = 0; col->kvm && e < kvm_names->len; e++) {
			spte_json_add_int(b, kvm_names->pdata[e],
					  kvm_count(col, kvm_names->pdata[e]));
		}
		json_builder_end_object(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "only_on");
	json_builder_begin_object(b);
	for (guint cb = 0; cb < SPTE_CB_NR; cb++) {
		guint have = 0, runs = 0;

		for (guint c = 0; c < cmp->ncols; c++) {
			have += cmp->col[c].events && k[c].cb[cb];
			runs += cmp->col[c].events != NULL;
		}
		if (!have || have == runs)
			continue;
		json_builder_set_member_name(b, spte_mirror_callback_name(cb));
		json_builder_begin_array(b);
		for (guint c = 0; c < cmp->ncols; c++)
			if (k[c].cb[cb])
				json_builder_add_string_value(b,
							      cmp->col[c].label);
		json_builder_end_array(b);
	}
	json_builder_end_object(b);
	spte_json_add_bool(b, "aligned", cmp->ev_aligned && cmp->kvm_aligned);
	add_lines(b, "events", cmp->ev_lines, cmp->ncols);
	add_lines(b, "kvm_trace", cmp->kvm_lines, cmp->ncols);
	json_builder_end_object(b);
	for (guint c = 0; c < cmp->ncols; c++)
		counts_clear(&k[c]);
	return json_builder_get_root(b);
}

/* ---- the command ---- */

/*
 * --kernels A,B: names of lab/kernels, each once; NULL: the lab's default
 * set, in its order.  FALSE and @error on a name the lab does not have.
 */
static gboolean pick_kernels(const char *list, GStrv *out, GError **error)
{
	g_auto(GStrv) known = spte_lab_kernels(list != NULL, error);
	g_auto(GStrv) want = NULL;

	if (!known)
		return FALSE;
	if (!list) {
		*out = g_steal_pointer(&known);
		return TRUE;
	}
	want = g_strsplit(list, ",", -1);
	for (guint i = 0; want[i]; i++) {
		g_strstrip(want[i]);
		if (!g_strv_contains((const char *const *)known, want[i])) {
			g_autofree char *names = g_strjoinv(", ", known);

			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "--kernels: unknown lab kernel '%s' "
				    "(lab/kernels has %s)", want[i], names);
			return FALSE;
		}
		for (guint j = 0; j < i; j++) {
			if (!strcmp(want[i], want[j])) {
				g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
					    "--kernels: %s is given twice",
					    want[i]);
				return FALSE;
			}
		}
	}
	if (!want[0]) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "--kernels: no kernel named");
		return FALSE;
	}
	*out = g_steal_pointer(&want);
	return TRUE;
}

static void build_rows(struct compare *cmp)
{
	for (guint c = 0; c < cmp->ncols; c++) {
		struct column *col = &cmp->col[c];
		const struct spte_mirror_event *ev;

		if (!col->events)
			continue;
		ev = (const struct spte_mirror_event *)col->events->data;
		col->ev_rows = spte_timeline_rows(ev, col->events->len,
						  col->events->len ?
						  ev[0].time_ns : 0, NULL, TRUE);
		if (col->kvm)
			col->kvm_rows = spte_kvm_trace_rows(col->kvm, TRUE);
	}
	cmp->ev_lines = align(cmp, FALSE, &cmp->ev_aligned);
	cmp->kvm_lines = align(cmp, TRUE, &cmp->kvm_aligned);
}

struct compare_opts {
	char *kernels;
	char *json;
	char *out;
	char **reports;
};

static int compare_main(const struct compare_opts *o, const char *arg)
{
	g_auto(GStrv) kernels = NULL;
	g_autoptr(spte_scenario) sc = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *run_arg = NULL;
	struct compare cmp = { 0 };
	gboolean passed = TRUE;
	guint applied = 0;
	int ret = 2;

	if (o->reports) {
		cmp.ncols = g_strv_length(o->reports);
		cmp.col = g_new0(struct column, cmp.ncols);
		for (guint c = 0; c < cmp.ncols; c++) {
			cmp.col[c].lab_status = -1;
			cmp.col[c].report = g_strdup(o->reports[c]);
			if (!load_report(&cmp, &cmp.col[c], &error)) {
				spte_cli_error("compare", error);
				ret = 1;
				goto out;
			}
		}
	} else {
		sc = spte_scenario_load(arg, &error);
		if (!sc || !pick_kernels(o->kernels, &kernels, &error)) {
			spte_cli_error("compare", error);
			goto out;
		}
		if (g_mkdir_with_parents(o->out, 0755)) {
			fprintf(stderr, "spte compare: cannot create %s: %s\n",
				o->out, g_strerror(errno));
			ret = 1;
			goto out;
		}
		run_arg = scenario_arg(arg, o->out, &error);
		if (!run_arg) {
			spte_cli_error("compare", error);
			ret = 1;
			goto out;
		}
		cmp.scenario = g_strdup(sc->name);
		cmp.summary = g_strdup(sc->summary);
		cmp.ncols = g_strv_length(kernels);
		cmp.col = g_new0(struct column, cmp.ncols);
		for (guint c = 0; c < cmp.ncols; c++) {
			cmp.col[c].label = g_strdup(kernels[c]);
			run_column(&cmp, &cmp.col[c], sc, run_arg, o->out);
		}
	}
	/* a scenario that does not apply to a kernel fails on none */
	for (guint c = 0; c < cmp.ncols; c++) {
		if (cmp.col[c].not_here)
			continue;
		passed &= cmp.col[c].passed && !cmp.col[c].problem;
		applied++;
	}
	if (!cmp.scenario)
		cmp.scenario = g_strdup("(unnamed)");
	build_rows(&cmp);
	print_compare(&cmp, out);
	fputs(out->str, stdout);
	fflush(stdout);
	if (o->json) {
		g_autoptr(JsonNode) json = compare_json(&cmp, passed);
		g_autofree char *text = json_to_string(json, TRUE);

		if (!g_file_set_contents(o->json, text, -1, &error)) {
			spte_cli_error("compare", error);
			ret = 1;
			goto out;
		}
	}
	ret = !passed ? 1 : applied ? 0 : SPTE_SCENARIO_NOT_APPLICABLE;
out:
	compare_clear(&cmp);
	return ret;
}

int spte_cmd_compare(int argc, char **argv)
{
	struct compare_opts o = { 0 };
	const GOptionEntry entries[] = {
		{ "kernels", 'k', 0, G_OPTION_ARG_STRING, &o.kernels,
		  "Lab kernels to run on, comma-separated (default: the lab's "
		  "default set, fetch-kernel.sh --list)", "A,B" },
		{ "json", 'j', 0, G_OPTION_ARG_FILENAME, &o.json,
		  "Write the comparison (columns, lined-up rows, counts) as JSON",
		  "FILE" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out,
		  "Where each kernel's report and lab output go, shared with "
		  "the lab (default: spte-compare)", "DIR" },
		{ "report", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &o.reports,
		  "Compare this saved report instead of running the lab "
		  "(repeatable, one per column)", "REPORT.json" },
		{ NULL }
	};
	int ret = 2;

	if (!spte_cli_options("compare", &argc, &argv, entries,
		"NAME|FILE - one scenario on each lab kernel, side by side",
		"Runs `spte scenario run NAME --json` in the lab VM once per\n"
		"  kernel (`spte lab --kernel K`, one after the other), then\n"
		"  prints each run's notifier callbacks and KVM's tracepoints\n"
		"  folded (a block repeated page after page is shown once under\n"
		"  a \"\u00d7N gpa A-B step S\" line) and lined up in a column per\n"
		"  kernel, and what differs: callbacks on one kernel only, counts\n"
		"  per kernel, where each callback fires, each run's verdict.\n"
		"  Reports and the lab's output: DIR/NAME-KERNEL.json and .log.\n"
		"\nExit status: 0 every run passed (or the scenario does not apply\n"
		"  to its kernel), 1 a run failed (the scenario, or the lab: its\n"
		"  status is named), 2 bad usage (an unknown kernel or scenario),\n"
		"  3 the scenario applies to none of the kernels.\n"))
		goto out;
	if (o.reports ? argc != 1 : argc != 2) {
		fprintf(stderr, "spte compare: expected %s (try 'spte compare "
			"--help')\n", o.reports ?
			"no scenario with --report" : "one scenario NAME or FILE");
		goto out;
	}
	if (o.reports && o.kernels) {
		fprintf(stderr, "spte compare: --kernels runs the lab, --report "
			"reads reports: not both\n");
		goto out;
	}
	if (!o.out)
		o.out = g_strdup("spte-compare");
	ret = compare_main(&o, o.reports ? NULL : argv[1]);
out:
	g_free(o.kernels);
	g_free(o.json);
	g_free(o.out);
	g_strfreev(o.reports);
	return ret;
}
