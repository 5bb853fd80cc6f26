// SPDX-License-Identifier: GPL-2.0
/*
 * spte events REPORT.json: the notifier callbacks a scenario logged, as a
 * timeline (see inspect/timeline.h).  Reads the report's "events" array,
 * and "scenario" and "kernel" for the heading if present; a bare array of
 * event objects works too.  KVM's own notifier tracepoints follow when
 * the report has them ("kvm_trace", from a scenario with a view step),
 * folded the same way.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json_member.h"
#include "kvm_trace.h"
#include "timeline.h"
#include "parse.h"
#include "spte_error.h"

static gboolean parse_gpa(const char *text, struct spte_timeline_filter *f,
			  GError **error)
{
	g_auto(GStrv) parts = g_strsplit(text, "-", 2);
	guint64 start, end;

	if (!spte_parse_u64(parts[0], "--gpa start", &start, error))
		return FALSE;
	end = start;
	if (parts[1] && !spte_parse_u64(parts[1], "--gpa end", &end, error))
		return FALSE;
	if (end < start || end == G_MAXUINT64) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "--gpa %s: the end must not be below the start",
			    text);
		return FALSE;
	}
	/* END is inclusive, as the timeline prints ranges */
	f->gpa_start = start;
	f->gpa_end = end + 1;
	return TRUE;
}

static gboolean parse_callbacks(char **names, struct spte_timeline_filter *f,
				GError **error)
{
	for (char **n = names; n && *n; n++) {
		int cb = spte_mirror_callback_from_name(*n);

		if (cb < 0) {
			g_autofree char *known = spte_callback_names(" ");

			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "--callback %s: no such callback (one of: "
				    "%s DROPPED)", *n, known);
			return FALSE;
		}
		f->callbacks |= G_GUINT64_CONSTANT(1) << cb;
	}
	return TRUE;
}

static void heading(JsonObject *report, const struct spte_mirror_event *ev,
		    guint n, guint64 t0, GString *out)
{
	const char *scenario = report ? spte_json_string_or_null(report, "scenario") : NULL;
	const char *kernel = report ? spte_json_string_or_null(report, "kernel") : NULL;
	guint64 last = t0;

	for (guint i = 0; i < n; i++)
		if (ev[i].callback != SPTE_CB_DROPPED)
			last = MAX(last, ev[i].time_ns);
	if (scenario)
		g_string_append_printf(out, "scenario %s", scenario);
	if (kernel)
		g_string_append_printf(out, "%skernel %s", scenario ? ", " : "",
				       kernel);
	g_string_append_printf(out, "%s%u event records", scenario || kernel ?
			       ": " : "", n);
	if (n)
		g_string_append_printf(out, ", seq %" G_GUINT64_FORMAT "-%"
				       G_GUINT64_FORMAT ", over %.3f ms",
				       (guint64)ev[0].seq, (guint64)ev[n - 1].seq,
				       (double)(last - t0) / 1e6);
	g_string_append_c(out, '\n');
}

static void footer(const struct spte_mirror_event *ev, guint n, GString *out)
{
	guint64 count[SPTE_CB_NR] = { 0 };
	guint64 dropped = 0;
	gboolean first = TRUE;

	for (guint i = 0; i < n; i++) {
		if (ev[i].callback == SPTE_CB_DROPPED)
			dropped += ev[i].leaves;
		else if (ev[i].callback < SPTE_CB_NR)
			count[ev[i].callback]++;
	}
	g_string_append(out, "callbacks:");
	for (guint cb = 0; cb < SPTE_CB_NR; cb++) {
		if (!count[cb])
			continue;
		g_string_append_printf(out, "%s %s %" G_GUINT64_FORMAT,
				       first ? "" : ",",
				       spte_mirror_callback_name(cb), count[cb]);
		first = FALSE;
	}
	if (first)
		g_string_append(out, " none");
	if (dropped)
		g_string_append_printf(out, "; DROPPED %" G_GUINT64_FORMAT,
				       dropped);
	g_string_append_c(out, '\n');
}

/*
 * KVM's side, from the report's "kvm_trace": under a --gpa filter only the
 * records that meet it, under --callback none (those name the mirror's
 * callbacks, not KVM's tracepoints).
 */
static gboolean show_kvm(const char *path, JsonNode *node,
			 const struct spte_timeline_filter *f, GString *out,
			 GError **error)
{
	g_autoptr(GPtrArray) recs = NULL;
	g_autoptr(GPtrArray) kept = g_ptr_array_new();
	g_autoptr(GPtrArray) rows = NULL;

	if (f->callbacks)
		return TRUE;
	if (!spte_kvm_trace_from_json(node, &recs, error)) {
		g_prefix_error(error, "%s: ", path);
		return FALSE;
	}
	for (guint i = 0; i < recs->len; i++) {
		const struct spte_kvm_trace_rec *r = recs->pdata[i];

		if (f->gpa_start == f->gpa_end ||
		    (r->gpa_start != SPTE_KVM_TRACE_NO_GPA &&
		     r->gpa_start < f->gpa_end && r->gpa_end > f->gpa_start))
			g_ptr_array_add(kept, recs->pdata[i]);
	}
	g_string_append_printf(out, "kvm tracepoints: %u of %u records\n",
			       kept->len, recs->len);
	rows = spte_kvm_trace_rows(kept, FALSE);
	spte_rows_format(rows, "  ", out);
	return TRUE;
}

static gboolean show(const char *path, const struct spte_timeline_filter *f,
		     GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GArray) evs = NULL;
	JsonObject *report = NULL;
	JsonNode *root, *events;
	const struct spte_mirror_event *ev;
	guint64 t0 = 0;
	gboolean have_t0 = FALSE;

	/* json-glib's messages name the file already */
	if (!json_parser_load_from_file(parser, path, error))
		return FALSE;
	root = json_parser_get_root(parser);
	events = root;
	if (root && JSON_NODE_HOLDS_OBJECT(root)) {
		report = json_node_get_object(root);
		events = json_object_get_member(report, "events");
		if (!events) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "%s: no 'events' array (expected a scenario "
				    "report)", path);
			return FALSE;
		}
	}
	if (!spte_events_from_json(events, &evs, error)) {
		g_prefix_error(error, "%s: ", path);
		return FALSE;
	}
	ev = (const struct spte_mirror_event *)evs->data;
	/* a DROPPED record's time is when it was read */
	for (guint i = 0; i < evs->len; i++) {
		if (ev[i].callback == SPTE_CB_DROPPED)
			continue;
		if (!have_t0 || ev[i].time_ns < t0)
			t0 = ev[i].time_ns;
		have_t0 = TRUE;
	}
	heading(report, ev, evs->len, t0, out);
	spte_timeline_format_filtered(ev, evs->len, t0, f, out);
	footer(ev, evs->len, out);
	if (report && json_object_has_member(report, "kvm_trace") &&
	    !show_kvm(path, json_object_get_member(report, "kvm_trace"), f,
		      out, error))
		return FALSE;
	fputs(out->str, stdout);
	return TRUE;
}

int spte_cmd_events(int argc, char **argv)
{
	g_autofree char *gpa = NULL;
	g_auto(GStrv) callbacks = NULL;
	const GOptionEntry entries[] = {
		{ "gpa", 'g', 0, G_OPTION_ARG_STRING, &gpa,
		  "Only records whose GPA range meets START..END (inclusive; "
		  "END defaults to START)", "START[-END]" },
		{ "callback", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &callbacks,
		  "Only this callback (repeatable), e.g. change_pte", "NAME" },
		{ NULL }
	};
	g_autoptr(GError) error = NULL;
	struct spte_timeline_filter f = { 0 };

	if (!spte_cli_options("events", &argc, &argv, entries,
		"REPORT.json - the notifier callbacks of a scenario, as a "
		"timeline",
		"One line per record: ms since the first record, seq, callback\n"
		"  and event, GPA range, what it did.  Callbacks inside an\n"
		"  invalidate_range_start/_end pair are indented under it;\n"
		"  a record or a block of records repeated page after page\n"
		"  folds: \u00d7N and the range and step, then the block once.\n"
		"  Filters keep nesting: a filtered record stays indented.\n"
		"  KVM's tracepoints follow when the report has them.\n"
		"\nExit status: 0 shown, 1 unreadable input, 2 bad usage.\n"))
		return 2;
	if (argc != 2) {
		fprintf(stderr, "spte events: expected one REPORT.json (try "
			"'spte events --help')\n");
		return 2;
	}
	if ((gpa && !parse_gpa(gpa, &f, &error)) ||
	    !parse_callbacks(callbacks, &f, &error)) {
		spte_cli_error("events", error);
		return 2;
	}
	if (!show(argv[1], &f, &error)) {
		spte_cli_error("events", error);
		return 1;
	}
	return 0;
}
