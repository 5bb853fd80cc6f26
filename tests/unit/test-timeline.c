// SPDX-License-Identifier: GPL-2.0
/* Event records: JSON round trip, errors, and the timeline's layout. */
#include <glib/gstdio.h>
#include <string.h>

#include "timeline.h"
#include "spte-test.h"
#include "spte-test-events.h"
#include "spte_error.h"


static struct spte_mirror_event ev_new(guint64 seq, guint32 cb, guint32 event,
				       guint64 gpa, guint64 size)
{
	return (struct spte_mirror_event){
		.seq = seq, .time_ns = T0 + seq * 1500, .callback = cb,
		.event = event,
		.flags = SPTE_EVF_BLOCKABLE | SPTE_EVF_IN_SLOT,
		.hva_start = HVA0 + gpa, .hva_end = HVA0 + gpa + size,
		.gpa_start = gpa, .gpa_end = gpa + size,
		.old_pfn = SPTE_MIRROR_NONE, .new_pfn = SPTE_MIRROR_NONE,
	};
}

/* KSM on 6.1 merging the page at GPA 0x3000: start, change_pte, end. */
static guint ksm_log(struct spte_mirror_event *ev)
{
	guint n = 0;

	ev[n] = ev_new(100, SPTE_CB_INVALIDATE_RANGE_START, SPTE_EV_CLEAR,
		       0x3000, 0x1000);
	ev[n].leaves = 1;
	ev[n++].old_pfn = 0x1a003;
	ev[n] = ev_new(101, SPTE_CB_CHANGE_PTE, SPTE_EV_NONE, 0x3000, 0x1000);
	ev[n].flags = SPTE_EVF_IN_SLOT;
	ev[n++].new_pfn = 0x2b000;
	ev[n++] = ev_new(102, SPTE_CB_INVALIDATE_RANGE_END, SPTE_EV_CLEAR,
			 0x3000, 0x1000);
	/* a callback outside every slot */
	ev[n] = ev_new(103, SPTE_CB_INVALIDATE_SECONDARY, SPTE_EV_NONE, 0, 0);
	ev[n].hva_start = 0x555500000000ULL;
	ev[n].hva_end = 0x555500002000ULL;
	ev[n].flags = 0;
	ev[n].gpa_start = ev[n].gpa_end = SPTE_MIRROR_NONE;
	n++;
	return n;
}

/* Every field, every flag, named and unnamed values. */
static guint varied_log(struct spte_mirror_event *ev)
{
	guint n = ksm_log(ev);

	ev[n] = ev_new(104, SPTE_CB_CLEAR_YOUNG, SPTE_EV_NONE, 0x200000,
		       0x200000);
	ev[n].result = 1;
	ev[n++].leaves = 1;
	ev[n] = ev_new(105, SPTE_CB_INVALIDATE_RANGE_START,
		       SPTE_EV_PROTECTION_VMA, 0x10000, 0x4000);
	ev[n].flags = SPTE_EVF_IN_SLOT | SPTE_EVF_SKIPPED | (1U << 9);
	ev[n].result = -11;
	ev[n++].leaves = 4;
	ev[n] = ev_new(106, 12, 42, 0x10000, 0x1000);	/* no names */
	ev[n].old_pfn = 0xfffffffffULL;
	ev[n++].new_pfn = 0;
	ev[n] = ev_new(110, SPTE_CB_DROPPED, SPTE_EV_NONE, 0, 0);
	ev[n].gpa_start = ev[n].gpa_end = SPTE_MIRROR_NONE;
	ev[n].hva_start = ev[n].hva_end = 0;
	ev[n].flags = 0;
	ev[n++].leaves = 3;
	ev[n] = ev_new(111, SPTE_CB_RELEASE, SPTE_EV_RELEASE, 0, 0x1000000);
	ev[n].hva_start = 0;
	ev[n].hva_end = 0x7ffffffff000ULL;
	ev[n++].time_ns = G_MAXINT64;
	return n;
}

static void test_round_trip(void)
{
	struct spte_mirror_event ev[16];
	guint n = varied_log(ev);
	g_autoptr(JsonNode) node = spte_events_to_json(ev, n);
	g_autofree char *text = json_to_string(node, FALSE);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GArray) back = NULL;
	g_autoptr(GError) error = NULL;

	g_test_message("%s", text);
	/* the members in the order of struct spte_mirror_event's fields */
	g_assert_true(g_str_has_prefix(text, "[{\"seq\":"));
	spte_assert_contains(text, "\"result\":0,\"hva_start\":");
	spte_assert_contains(text, "\"new_pfn\":176128,\"leaves\":");
	spte_assert_contains(text, "\"callback\":\"invalidate_range_start\"");
	spte_assert_contains(text, "\"event\":\"CLEAR\"");
	spte_assert_contains(text, "\"flags\":[\"blockable\",\"in_slot\"]");
	spte_assert_contains(text, "\"flags\":[\"in_slot\",\"skipped\",\"bit9\"]");
	spte_assert_contains(text, "\"callback\":\"change_pte\",\"event\":null");
	spte_assert_contains(text, "\"gpa_start\":null");
	spte_assert_contains(text, "\"old_pfn\":null,\"new_pfn\":176128");
	spte_assert_contains(text, "\"callback\":12,\"event\":42");
	spte_assert_contains(text, "\"result\":-11");
	g_assert_true(json_parser_load_from_data(parser, text, -1, &error));
	g_assert_true(spte_events_from_json(json_parser_get_root(parser), &back,
					    &error));
	g_assert_no_error(error);
	g_assert_cmpuint(back->len, ==, n);
	g_assert_cmpmem(back->data, n * sizeof(ev[0]), ev, n * sizeof(ev[0]));

	/* one record alone gives the same object */
	for (guint i = 0; i < n; i++) {
		g_autoptr(JsonNode) one = spte_event_to_json(&ev[i]);

		g_assert_true(json_node_equal(one, json_array_get_element(
			json_node_get_array(node), i)));
	}
}

static char *replace(const char *text, const char *old, const char *new)
{
	g_auto(GStrv) parts = g_strsplit(text, old, -1);

	return g_strjoinv(new, parts);
}

static void test_bad_json(void)
{
	static const struct {
		const char *json;
		const char *message;
	} bad[] = {
		{ "{}", "expected an array" },
		{ "[3]", "events[0]: expected an event object, not an integer" },
		{ "[{}]", "events[0]: 'seq' is missing" },
		{ "[GOOD, {\"seq\": \"1\"}]", "events[1]: 'seq' must be an "
		  "integer, not a string" },
		{ "[GOOD, GOOD, {\"seq\": 1.5}]", "events[2]: 'seq' must be an "
		  "integer, not a fractional number" },
		{ "[GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, "
		  "GOOD, GOOD, BAD_CB]", "events[12]: 'callback' \"frobnicate\" "
		  "is not a callback name" },
		{ "[BAD_GPA]", "events[0]: 'gpa_start' must be an integer or "
		  "null, not a string" },
		{ "[BAD_FLAG]", "events[0]: 'flags'[2] is not one of" },
		{ "[BAD_EVENT]", "events[0]: 'event' \"CLOBBER\" is not an event" },
		{ "[BAD_RESULT]", "events[0]: 'result' 4294967296 does not fit" },
		{ "[NO_LEAVES]", "events[0]: 'leaves' is missing" },
	};
	/* placeholder -> (text of a good record, what to change in it) */
	static const char *const subst[][3] = {
		{ "BAD_CB", "\"change_pte\"", "\"frobnicate\"" },
		{ "BAD_GPA", "\"gpa_start\":0", "\"gpa_start\":\"0\"" },
		{ "BAD_FLAG", "\"in_slot\"]", "\"in_slot\",\"hot\"]" },
		{ "BAD_EVENT", "\"event\":null", "\"event\":\"CLOBBER\"" },
		{ "BAD_RESULT", "\"result\":0", "\"result\":4294967296" },
		{ "NO_LEAVES", ",\"leaves\":0", "" },
		{ "GOOD", "", "" },
	};
	struct spte_mirror_event ev = ev_new(1, SPTE_CB_CHANGE_PTE,
					     SPTE_EV_NONE, 0, 4096);
	g_autoptr(JsonNode) good = spte_event_to_json(&ev);
	g_autofree char *good_text = json_to_string(good, FALSE);

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error = NULL;
		g_autoptr(GArray) out = NULL;
		g_autofree char *json = g_strdup(bad[i].json);

		for (guint k = 0; k < G_N_ELEMENTS(subst); k++) {
			g_autofree char *rec = *subst[k][1] ?
				replace(good_text, subst[k][1], subst[k][2]) :
				g_strdup(good_text);
			char *next = replace(json, subst[k][0], rec);

			g_assert_true(!*subst[k][1] || strcmp(rec, good_text));
			g_free(json);
			json = next;
		}
		g_assert_true(json_parser_load_from_data(parser, json, -1, NULL));
		g_assert_false(spte_events_from_json(json_parser_get_root(parser),
						     &out, &error));
		g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
		g_assert_null(out);
		spte_assert_contains(error->message, bad[i].message);
	}
}

static void test_nesting(void)
{
	struct spte_mirror_event ev[8];
	guint n = ksm_log(ev);
	g_autofree char *text = spte_test_timeline(ev, n, NULL);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	const char *start = spte_test_line(lines, "invalidate_range_start");
	const char *change = spte_test_line(lines, "change_pte");
	const char *end = spte_test_line(lines, "invalidate_range_end");

	g_assert_cmpuint(g_strv_length(lines), ==, n + 1);
	spte_assert_contains(start, "+0.150 ms  #100 invalidate_range_start "
			     "CLEAR  gpa 0x3000-0x3fff (1 page)  zapped 1 leaf, "
			     "first pfn 0x1a003");
	/* change_pte sits inside the pair, one level in */
	spte_assert_contains(change, "#101 |   change_pte  gpa 0x3000-0x3fff "
			     "(1 page)  pfn none -> 0x2b000  (leaf already "
			     "zapped by the start)");
	spte_assert_contains(end, "#102 invalidate_range_end CLEAR  gpa "
			     "0x3000-0x3fff (1 page)  closes #100 after 0.003 ms");
	spte_assert_contains(lines[3], "invalidate_secondary  outside slots, "
			     "hva 0x555500000000-0x555500001fff");
	g_assert_null(strstr(start, "|"));
	g_assert_null(strstr(end, "|"));
}

/*
 * 6.6+'s secondary-TLB calls from a batched flush cover the whole address
 * space (0 to ~0UL): they meet guest RAM but are not about it, and a run
 * of them is one range again and again, not a stride.
 */
static void test_whole_mm(void)
{
	struct spte_mirror_event ev[4];
	g_autofree char *text = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(ev); i++) {
		ev[i] = ev_new(200 + i, SPTE_CB_INVALIDATE_SECONDARY,
			       SPTE_EV_NONE, 0, 0x400000);
		ev[i].hva_start = 0;
		ev[i].hva_end = ~0ULL;
	}
	text = spte_test_timeline(ev, 1, NULL);
	spte_assert_contains(text, "invalidate_secondary  gpa 0x0-0x3fffff "
			     "(1024 pages: the whole address space)");
	g_free(text);
	text = spte_test_timeline(ev, G_N_ELEMENTS(ev), NULL);
	spte_assert_contains(text, "#200-203 invalidate_secondary  \u00d74, each "
			     "gpa 0x0-0x3fffff (1024 pages: the whole address "
			     "space)");
	g_assert_null(strstr(text, "step 0x0"));
}

static void test_interleaved(void)
{
	struct spte_mirror_event ev[6];
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	/* A opens, B opens, A closes, a child of B, B closes, orphan end */
	ev[0] = ev_new(1, SPTE_CB_INVALIDATE_RANGE_START, SPTE_EV_UNMAP, 0, 0x2000);
	ev[1] = ev_new(2, SPTE_CB_INVALIDATE_RANGE_START, SPTE_EV_MIGRATE,
		       0x8000, 0x1000);
	ev[2] = ev_new(3, SPTE_CB_INVALIDATE_RANGE_END, SPTE_EV_UNMAP, 0, 0x2000);
	ev[3] = ev_new(4, SPTE_CB_INVALIDATE_SECONDARY, SPTE_EV_NONE, 0x8000,
		       0x1000);
	ev[4] = ev_new(5, SPTE_CB_INVALIDATE_RANGE_END, SPTE_EV_MIGRATE,
		       0x8000, 0x1000);
	ev[5] = ev_new(6, SPTE_CB_INVALIDATE_RANGE_END, SPTE_EV_UNMAP,
		       0x20000, 0x1000);
	text = spte_test_timeline(ev, 6, NULL);
	lines = g_strsplit(text, "\n", -1);
	spte_assert_contains(lines[0], "#1 invalidate_range_start UNMAP");
	spte_assert_contains(lines[1], "#2 |   invalidate_range_start MIGRATE");
	spte_assert_contains(lines[2], "#3 invalidate_range_end UNMAP  gpa "
			     "0x0-0x1fff (2 pages)  closes #1");
	spte_assert_contains(lines[3], "#4 |   |   invalidate_secondary");
	spte_assert_contains(lines[4], "#5 |   invalidate_range_end MIGRATE");
	spte_assert_contains(lines[4], "closes #2");
	spte_assert_contains(lines[5], "#6 invalidate_range_end UNMAP");
	spte_assert_contains(lines[5], "(its start is not in the log)");
}

static void test_fold_young(void)
{
	struct spte_mirror_event *ev = g_new(struct spte_mirror_event, 515);
	struct spte_timeline_filter f = { 0 };
	g_autofree char *text = NULL, *filtered = NULL;
	g_auto(GStrv) lines = NULL;
	guint n = 0;

	ev[n++] = ev_new(1, SPTE_CB_CLEAR_FLUSH_YOUNG, SPTE_EV_NONE, 0x1000,
			 0x1000);
	for (guint k = 0; k < 512; k++, n++) {
		ev[n] = ev_new(2 + k, SPTE_CB_TEST_YOUNG, SPTE_EV_NONE,
			       0x200000 + k * 0x1000, 0x1000);
		ev[n].flags = SPTE_EVF_IN_SLOT;
		ev[n].result = k % 2;
		ev[n].leaves = 1;
	}
	/* the same callback, not adjacent: a line of its own */
	ev[n] = ev_new(514, SPTE_CB_TEST_YOUNG, SPTE_EV_NONE, 0x600000, 0x1000);
	ev[n].flags = SPTE_EVF_IN_SLOT;
	ev[n++].leaves = 1;
	/* a gap of 10 records, then one that was young */
	ev[n] = ev_new(525, SPTE_CB_CLEAR_YOUNG, SPTE_EV_NONE, 0x600000, 0x1000);
	ev[n].result = 1;
	ev[n++].leaves = 1;

	text = spte_test_timeline(ev, n, NULL);
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 6);
	spte_assert_contains(lines[0], "#1     clear_flush_young  gpa "
			     "0x1000-0x1fff (1 page)  old, 0 leaves aged");
	spte_assert_contains(lines[1], "#2-513 test_young  \u00d7512 over gpa "
			     "0x200000-0x3fffff (512 pages)  256 young, 256 old, "
			     "512 leaves tested  [0.766 ms]");
	spte_assert_contains(lines[2], "#514   test_young  gpa 0x600000-0x600fff");
	spte_assert_contains(lines[3], "!!!!! seq gap: #515-524 (10 records) are "
			     "not in this log !!!!!");
	spte_assert_contains(lines[4], "clear_young  gpa 0x600000-0x600fff (1 "
			     "page)  young, 1 leaf aged");

	/* filters: by callback, then by GPA */
	f.callbacks = 1ULL << SPTE_CB_CLEAR_YOUNG;
	filtered = spte_test_timeline(ev, n, &f);
	g_assert_null(strstr(filtered, "test_young"));
	spte_assert_contains(filtered, "clear_young");
	g_free(filtered);
	f = (struct spte_timeline_filter){ .gpa_start = 0x3ff000,
					   .gpa_end = 0x601000 };
	filtered = spte_test_timeline(ev, n, &f);
	spte_assert_contains(filtered, "#513 test_young  gpa 0x3ff000-0x3fffff");
	spte_assert_contains(filtered, "#514");
	g_assert_null(strstr(filtered, "clear_flush_young"));
	g_free(filtered);
	f = (struct spte_timeline_filter){ .gpa_start = 0x900000,
					   .gpa_end = 0x901000 };
	filtered = spte_test_timeline(ev, n, &f);
	spte_assert_contains(filtered, "(no record matches the filter)");
	g_free(ev);
}

static void test_dropped(void)
{
	struct spte_mirror_event ev[16];
	guint n = varied_log(ev);
	g_autofree char *text = spte_test_timeline(ev, n, NULL);

	/* 106 then DROPPED of 107..110: no unexplained gap */
	spte_assert_contains(text, "#110 !!!!! DROPPED 3 records (#108-110): the "
			     "log ring overflowed, callbacks are missing here");
	spte_assert_contains(text, "!!!!! seq gap: #107 (1 record) is not in "
			     "this log !!!!!");
	spte_assert_contains(text, "invalidate_range_start PROTECTION_VMA "
			     "(non-blockable)  gpa 0x10000-0x13fff (4 pages)  "
			     "SKIPPED (skip_invalidate=1): 4 leaves left mapped, "
			     "stale  (no matching end in the log)  result -11");
	spte_assert_contains(text, "#106 |   #106 ");	/* unknown: raw */
	spte_assert_contains(text, "release RELEASE  gpa 0x0-0xffffff (4096 "
			     "pages)  mm exit: zapped 0 leaves");
}

static void test_empty(void)
{
	g_autofree char *text = spte_test_timeline(NULL, 0, NULL);

	g_assert_cmpstr(text, ==, "(no events)\n");
}

static void test_command(void)
{
	g_autofree char *dir = g_dir_make_tmp("spte-events-XXXXXX", NULL);
	struct spte_mirror_event ev[8];
	guint n = ksm_log(ev);
	g_autoptr(JsonNode) events = spte_events_to_json(ev, n);
	g_autofree char *events_text = json_to_string(events, TRUE);
	g_autofree char *report_text = g_strdup_printf(
		"{\"scenario\": \"ksm-merge\", \"kernel\": \"6.1.0-13-amd64\", "
		"\"passed\": true, \"checks\": [], \"dumps\": {}, "
		"\"events\": %s}", events_text);
	g_autofree char *report = spte_test_file(dir, "r.json", report_text);
	g_autofree char *bad = spte_test_file(dir, "bad.json",
					      "{\"events\": [{\"seq\": 1}]}");
	g_autofree char *none = spte_test_file(dir, "none.json",
					       "{\"scenario\": \"x\"}");
	struct spte_test_run r;

	spte_test_run(&r, "events", report, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "scenario ksm-merge, kernel 6.1.0-13-amd64: "
			     "4 event records, seq 100-103, over 0.004 ms");
	spte_assert_contains(r.out, "+0.000 ms  #100 invalidate_range_start");
	spte_assert_contains(r.out, "#101 |   change_pte");
	spte_assert_contains(r.out, "callbacks: invalidate_range_start 1, "
			     "invalidate_range_end 1, invalidate_secondary 1, "
			     "change_pte 1");
	spte_test_run_clear(&r);

	spte_test_run(&r, "events", "--callback", "change_pte", report, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "change_pte");
	g_assert_null(strstr(r.out, "#100"));
	spte_test_run_clear(&r);

	spte_test_run(&r, "events", "--gpa", "0x3000-0x3fff", report, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "#102");
	g_assert_null(strstr(r.out, "#103"));
	spte_test_run_clear(&r);

	spte_test_run(&r, "events", "--callback", "frob", report, NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_assert_contains(r.err, "--callback frob: no such callback");
	spte_test_run_clear(&r);

	spte_test_run(&r, "events", "--gpa", "0x4000-0x3000", report, NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_test_run_clear(&r);

	spte_test_run(&r, "events", NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_test_run_clear(&r);

	spte_test_run(&r, "events", bad, NULL);
	g_assert_cmpint(r.status, ==, 1);
	spte_assert_contains(r.err, "bad.json: events[0]: 'time_ns' is missing");
	spte_test_run_clear(&r);

	spte_test_run(&r, "events", none, NULL);
	g_assert_cmpint(r.status, ==, 1);
	spte_assert_contains(r.err, "none.json: no 'events' array");
	spte_test_run_clear(&r);

	g_unlink(report);
	g_unlink(bad);
	g_unlink(none);
	g_rmdir(dir);
}

/*
 * The callback names are one table (spte_mirror.c); the module's
 * tracepoint spells them in host/spte_mirror_trace.h.  Each name there must
 * be the table's for its SPTE_CB_*, and every name of the table must read
 * back as its code.
 */
static void test_callback_names(void)
{
	const char *root = g_getenv("SPTE_SOURCE_ROOT");
	g_autofree char *path = NULL;
	g_autofree char *text = NULL;
	g_autoptr(GRegex) pair = NULL;
	g_autoptr(GMatchInfo) m = NULL;
	g_autoptr(GError) error = NULL;
	guint seen = 0;

	g_assert_nonnull(root);
	path = g_build_filename(root, "host", "spte_mirror_trace.h", NULL);
	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	pair = g_regex_new("\\{\\s*(SPTE_CB_\\w+),\\s*\"(\\w+)\"\\s*\\}", 0,
			   0, &error);
	g_assert_no_error(error);
	for (g_regex_match(pair, text, 0, &m); g_match_info_matches(m);
	     g_match_info_next(m, NULL)) {
		g_autofree char *macro = g_match_info_fetch(m, 1);
		g_autofree char *name = g_match_info_fetch(m, 2);
		g_autofree char *upper = g_ascii_strup(name, -1);
		g_autofree char *want = g_strconcat("SPTE_CB_", upper, NULL);
		int cb = spte_mirror_callback_from_name(name);

		g_assert_cmpstr(macro, ==, want);
		g_assert_cmpint(cb, >=, 0);
		g_assert_cmpstr(spte_mirror_callback_name(cb), ==, name);
		seen++;
	}
	g_assert_cmpuint(seen, >=, 8);
	for (guint cb = 0; cb < SPTE_CB_NR; cb++) {
		const char *name = spte_mirror_callback_name(cb);

		if (strcmp(name, "unknown"))
			g_assert_cmpint(spte_mirror_callback_from_name(name), ==,
					cb);
	}
	for (guint ev = 0; ev < SPTE_EV_NONE; ev++) {
		const char *name = spte_mirror_event_name(ev);

		if (strcmp(name, "unknown"))
			g_assert_cmpint(spte_mirror_event_from_name(name), ==,
					ev);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/timeline/json/round-trip", test_round_trip);
	g_test_add_func("/timeline/json/bad", test_bad_json);
	g_test_add_func("/timeline/nesting", test_nesting);
	g_test_add_func("/timeline/interleaved", test_interleaved);
	g_test_add_func("/timeline/whole-mm", test_whole_mm);
	g_test_add_func("/timeline/fold-young", test_fold_young);
	g_test_add_func("/timeline/dropped", test_dropped);
	g_test_add_func("/timeline/empty", test_empty);
	g_test_add_func("/timeline/command", test_command);
	g_test_add_func("/timeline/callback-names", test_callback_names);
	return g_test_run();
}
