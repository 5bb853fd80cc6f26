// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's leaves at two dumps compared (inspect/kvm_diff.h) and 'spte diff
 * --kvm': on the reports of data/kvm-diff, whose kvm_dumps are the lab
 * recordings of data/kvm-leaves replayed to the moments the run printed
 * KVM's counts, and on leaves built from trace lines for the changes those
 * recordings do not have (split, write-protect, dirtying, 1G).
 */
#include <glib/gstdio.h>
#include <string.h>

#include "kvm_diff.h"
#include "kvm_snapshot_json.h"
#include "spte-test.h"
#include "spte_error.h"

static char *fixture_path(const char *name)
{
	const char *root = g_getenv("SPTE_SOURCE_ROOT");

	if (!root)
		g_error("SPTE_SOURCE_ROOT is not set: run the tests through "
			"meson");
	return g_build_filename(root, "tests", "unit", "data", "kvm-diff",
				name, NULL);
}

/* The snapshot at dump @dump of the fixture report @file. */
static struct spte_kvm_snapshot *fixture_snapshot(const char *file,
						  const char *dump)
{
	g_autofree char *path = fixture_path(file);
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) error = NULL;
	struct spte_kvm_snapshot *snap;
	JsonObject *kvm_dumps;

	if (!json_parser_load_from_file(p, path, &error))
		g_error("%s", error->message);
	kvm_dumps = json_object_get_object_member(
		json_node_get_object(json_parser_get_root(p)), "kvm_dumps");
	snap = spte_kvm_snapshot_from_json(
		json_object_get_member(kvm_dumps, dump), &error);
	g_assert_no_error(error);
	return snap;
}

static char *diff_text(const struct spte_kvm_diff *d)
{
	GString *out = g_string_new(NULL);

	spte_kvm_diff_format(d, "A", "B", out);
	g_test_message("\n%s", out->str);
	return g_string_free(out, FALSE);
}

/* Dump @da of report @fa against @db of @fb, and the text of it. */
static struct spte_kvm_diff *diff_fixtures(const char *fa, const char *da,
					   const char *fb, const char *db,
					   gboolean same_run, char **text)
{
	g_autoptr(spte_kvm_snapshot) a = fixture_snapshot(fa, da);
	g_autoptr(spte_kvm_snapshot) b = fixture_snapshot(fb, db);
	struct spte_kvm_diff *d = spte_kvm_diff_new(a, b, same_run);

	*text = diff_text(d);
	return d;
}

static const struct spte_diff_run *run(const struct spte_kvm_diff *d, guint i)
{
	g_assert_cmpuint(i, <, d->pages->runs->len);
	return &g_array_index(d->pages->runs, struct spte_diff_run, i);
}

/* 6.1: MADV_PAGEOUT asked KVM, which said young: four leaves aged. */
static void test_aged(void)
{
	g_autofree char *text = NULL, *across_text = NULL;
	g_autoptr(spte_kvm_diff) d = diff_fixtures("npt-6.1.json", "dontneed",
						   "npt-6.1.json", "pageout",
						   TRUE, &text);
	g_autoptr(spte_kvm_diff) across = diff_fixtures(
		"npt-6.1.json", "dontneed", "npt-6.1.json", "pageout", FALSE,
		&across_text);

	g_assert_cmpuint(d->leaves[0][1], ==, 14);
	g_assert_cmpuint(d->leaves[1][2], ==, 1);
	g_assert_cmpuint(d->aged, ==, 4);
	g_assert_cmpuint(d->pages->runs->len, ==, 1);
	g_assert_cmpint(run(d, 0)->pattern, ==, SPTE_PATTERN_AGED);
	g_assert_cmpstr(text, ==,
		"KVM's leaves (x86 (NPT)): 14 4K, 1 2M -> 14 4K, 1 2M\n"
		"gpa 0x204000-0x207fff  4 x 4K RWX scattered: A cleared (aged)\n"
		"summary: 0 faulted in, 0 zapped, 4 changed (PFN 0, permissions "
		"0, level 0, A/D 4), 522 unchanged; 4K pages mapped 526 -> 526\n"
		"aged by KVM in between: 4 leaves (KVM answered young to "
		"clear_young / clear_flush_young and cleared A; the guest may "
		"have set it again since)\n");
	/* another run's age counters count something else */
	g_assert_cmpuint(across->aged, ==, G_MAXUINT64);
	g_assert_null(strstr(across_text, "aged by KVM"));
}

/* 6.1 against 6.12 after pageout: 6.12 zapped the four, moved the rest. */
static void test_two_kernels(void)
{
	g_autofree char *text = NULL;
	g_autoptr(spte_kvm_diff) d = diff_fixtures("npt-6.1.json", "pageout",
						   "npt-6.12.json", "pageout",
						   FALSE, &text);

	g_assert_cmpuint(d->pages->removed, ==, 4);
	g_assert_cmpuint(d->pages->added, ==, 0);
	g_assert_cmpuint(d->pages->pfn_changed, ==, 522);
	spte_assert_contains(text, "KVM's leaves (x86 (NPT)): 14 4K, 1 2M -> "
			     "10 4K, 1 2M\n");
	spte_assert_contains(text, "gpa 0x0000204000-0x0000207fff  4 x 4K RWX "
			     "scattered -> absent (zapped)\n");
	spte_assert_contains(text, "gpa 0x0000000000-0x00001fffff  1 x 2M RWX: "
			     "hpa 0x7600000-0x77fffff -> hpa 0x6a00000-0x6bfffff "
			     "(moved to new PFNs)\n");
}

static void test_incomplete(void)
{
	g_autofree char *text = NULL;
	g_autoptr(spte_kvm_diff) d = diff_fixtures("npt-6.12.json", "pageout",
						   "npt-6.12.json", "lost",
						   TRUE, &text);
	g_autoptr(JsonNode) node = spte_kvm_diff_to_json(d);
	JsonObject *o = json_node_get_object(node);
	JsonArray *inc = json_object_get_array_member(o, "incomplete");

	spte_assert_contains(text, "!!! KVM view at B incomplete: CPU:1 [LOST "
			     "12 EVENTS]: leaves may be missing or stale there, "
			     "and so may the changes below\n");
	g_assert_null(strstr(text, "view at A"));
	spte_assert_contains(text, "no change: the same 522 pages");
	g_assert_true(JSON_NODE_HOLDS_NULL(json_array_get_element(inc, 0)));
	g_assert_cmpstr(json_array_get_string_element(inc, 1), ==,
			"CPU:1 [LOST 12 EVENTS]");
	g_assert_cmpint(json_object_get_int_member(o, "aged"), ==, 0);
	g_assert_cmpstr(json_array_get_string_element(
		json_object_get_array_member(o, "format"), 0), ==, "x86 (NPT)");
	g_assert_cmpint(json_object_get_int_member(json_array_get_object_element(
		json_object_get_array_member(o, "leaves"), 1), "4K"), ==, 10);
	g_assert_cmpint(json_object_get_int_member(
		json_object_get_object_member(o, "counts"), "unchanged"), ==,
		522);
}

static struct spte_kvm_snapshot *snapshot_of(const char *trace)
{
	g_autoptr(spte_kvm_leaves) m = spte_kvm_leaves_new(SPTE_KVM_SPTE_X86);

	spte_kvm_leaves_feed_text(m, trace);
	g_assert_true(spte_kvm_leaves_complete(m, NULL));
	return spte_kvm_leaves_snapshot(m);
}

/*
 * A 2M leaf split into 4K leaves of the same pages, a leaf
 * write-protected, one dirtied, and a 1G leaf that appears.
 */
static void test_constructed(void)
{
	g_autoptr(spte_kvm_snapshot) a = snapshot_of(
		SPTE_TEST_KVM_EV("1.000001", "gfn 0 level 2 old_spte 0 "
				 "new_spte 7600ee7")
		SPTE_TEST_KVM_EV("1.000002", "gfn 400 level 1 old_spte 0 "
				 "new_spte 3f9e9e67")
		SPTE_TEST_KVM_EV("1.000003", "gfn 401 level 1 old_spte 0 "
				 "new_spte 3f9eae27"));
	g_autoptr(GString) trace = g_string_new(NULL);
	g_autoptr(spte_kvm_snapshot) b = NULL;
	g_autoptr(spte_kvm_diff) d = NULL;
	g_autofree char *text = NULL;

	for (guint k = 0; k < 512; k++)
		g_string_append_printf(trace, SPTE_TEST_KVM_EV("2.000001",
				       "gfn %x level 1 old_spte 0 new_spte %x"),
				       k, ((0x7600 + k) << 12) | 0xe67);
	/* W dropped, host-writable kept: KVM write-protected it */
	g_string_append(trace, SPTE_TEST_KVM_EV("2.000002", "gfn 400 level 1 "
				"old_spte 0 new_spte 3f9e9e65"));
	/* D set by the CPU */
	g_string_append(trace, SPTE_TEST_KVM_EV("2.000003", "gfn 401 level 1 "
				"old_spte 0 new_spte 3f9eae67"));
	g_string_append(trace, SPTE_TEST_KVM_EV("2.000004", "gfn 40000 "
				"level 3 old_spte 0 new_spte 400000ee7"));
	b = snapshot_of(trace->str);
	d = spte_kvm_diff_new(a, b, TRUE);
	text = diff_text(d);
	g_assert_cmpuint(d->leaves[1][1], ==, 514);
	g_assert_cmpuint(d->leaves[1][3], ==, 1);
	g_assert_cmpint(run(d, 0)->pattern, ==, SPTE_PATTERN_SPLIT);
	g_assert_cmpint(run(d, 1)->pattern, ==, SPTE_PATTERN_WRITE_PROTECTED);
	g_assert_cmpint(run(d, 2)->pattern, ==, SPTE_PATTERN_DIRTIED);
	g_assert_cmpint(run(d, 3)->pattern, ==, SPTE_PATTERN_FAULTED_IN);
	spte_assert_contains(text, "KVM's leaves (x86 (NPT)): 2 4K, 1 2M -> "
			     "514 4K, 0 2M, 1 1G\n");
	spte_assert_contains(text, "1 x 2M RWX hpa 0x7600000-0x77fffff -> "
			     "512 x 4K RWX hpa 0x7600000-0x77fffff (split)\n");
	spte_assert_contains(text, "1 x 4K hpa 0x3f9e9000-0x3f9e9fff: W "
			     "dropped (write-protected)\n");
	spte_assert_contains(text, "1 x 4K RWX hpa 0x3f9ea000-0x3f9eafff: D "
			     "set (dirtied)\n");
	spte_assert_contains(text, "absent -> 1 x 1G RWX hpa 0x400000000-"
			     "0x43fffffff (faulted in)\n");
}

/* ---- the command ---- */

struct cli_case {
	const char *what;
	const char *args[8];	/* fixture names are made paths */
	int status;
	const char *out;	/* in stdout, or NULL */
	const char *err;	/* in stderr, or NULL */
};

static const struct cli_case cli_cases[] = {
	{ "one report, --from/--to",
	  { "--kvm", "npt-6.1.json", "--from", "dontneed", "--to", "pageout" },
	  0, "kvm-leaves: dontneed -> pageout, KVM's own leaves\n"
	  "KVM's leaves (x86 (NPT)): 14 4K, 1 2M -> 14 4K, 1 2M\n"
	  "gpa 0x204000-0x207fff  4 x 4K RWX scattered: A cleared (aged)\n" },
	{ "two reports", { "--kvm", "npt-6.1.json", "npt-6.12.json", "--from",
			   "pageout", "--to", "pageout" },
	  0, "gpa 0x0000204000-0x0000207fff  4 x 4K RWX scattered -> absent "
	  "(zapped)\n" },
	{ "two reports, after -> after: a name neither has",
	  { "--kvm", "npt-6.1.json", "npt-6.12.json" }, 1, NULL,
	  "npt-6.1.json: the report has no KVM leaves at dump 'after' (it has "
	  "them at: collapsed, dontneed, pageout)" },
	{ "one moment", { "--kvm", "--from", "pageout", "--to", "pageout",
			  "npt-6.1.json" },
	  0, "no change: the same 526 pages mapped identically in both dumps\n" },
	{ "a mirror dump", { "--kvm", "mirror-dump.json", "npt-6.1.json" },
	  1, NULL, "mirror-dump.json is a mirror dump: it has no KVM leaves (a "
	  "scenario report keeps them, in 'kvm_dumps')" },
	{ "not tracked", { "--kvm", "--from", "pageout", "--to", "pageout",
			   "not-tracked.json" },
	  1, NULL, "not-tracked.json: the report has no KVM leaves: not "
	  "tracked: tracefs has no kvmmmu events (is kvm.ko loaded?)" },
	{ "the mirror's dump without KVM's",
	  { "--kvm", "npt-6.12.json", "not-tracked.json", "--from", "lost" },
	  1, NULL, "not-tracked.json: the report has no KVM leaves: not "
	  "tracked" },
	{ "incomplete", { "--kvm", "--from", "pageout", "--to", "lost",
			  "npt-6.12.json" },
	  0, "!!! KVM view at lost incomplete: CPU:1 [LOST 12 EVENTS]" },
	{ "--svg needs the mirror's dumps",
	  { "--kvm", "--svg", "/dev/null", "npt-6.1.json", "--from",
	    "collapsed", "--to", "pageout" },
	  1, NULL, "--svg draws the mirror's dumps, KVM's leaves beside them: " },
};

static void test_cli(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(cli_cases); i++) {
		const struct cli_case *c = &cli_cases[i];
		g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
		const char *argv[10] = { "diff" };
		struct spte_test_run r;

		g_test_message("%s", c->what);
		for (guint k = 0; k < G_N_ELEMENTS(c->args) && c->args[k]; k++) {
			const char *a = c->args[k];

			if (g_str_has_suffix(a, ".json")) {
				g_ptr_array_add(paths, fixture_path(a));
				a = g_ptr_array_index(paths, paths->len - 1);
			}
			argv[k + 1] = a;
		}
		spte_test_run(&r, argv[0], argv[1], argv[2], argv[3], argv[4],
			      argv[5], argv[6], argv[7], argv[8], NULL);
		if (c->status != r.status)
			g_error("%s: exit %d, expected %d; stderr:\n%s", c->what,
				r.status, c->status, r.err);
		if (c->out)
			spte_assert_contains(r.out, c->out);
		if (c->err)
			spte_assert_contains(r.err, c->err);
		spte_test_run_clear(&r);
	}
}

static void test_cli_json(void)
{
	g_autofree char *path = fixture_path("npt-6.1.json");
	g_autoptr(JsonParser) p = json_parser_new();
	struct spte_test_run r;
	JsonObject *o;

	spte_test_run(&r, "diff", "--kvm", "--json", path, "--from",
		      "collapsed", "--to", "pageout", NULL);
	g_assert_cmpint(r.status, ==, 0);
	g_assert_true(json_parser_load_from_data(p, r.out, -1, NULL));
	o = json_node_get_object(json_parser_get_root(p));
	g_assert_cmpstr(json_object_get_string_member(o, "from"), ==,
			"collapsed");
	g_assert_cmpstr(json_object_get_string_member(o, "to"), ==, "pageout");
	g_assert_cmpint(json_object_get_int_member(
		json_object_get_object_member(o, "counts"), "added"), ==, 6);
	/* the four aged leaves are among the six faulted in since collapse */
	g_assert_cmpint(json_object_get_int_member(o, "aged"), ==, 0);
	spte_test_run_clear(&r);
}

/* --kvm --svg: each dump's mirror grid with KVM's beside it. */
static void test_cli_svg(void)
{
	g_autofree char *path = fixture_path("npt-6.1.json");
	g_autofree char *dir = g_dir_make_tmp("spte-kvm-diff-XXXXXX", NULL);
	g_autofree char *report = g_build_filename(dir, "r.json", NULL);
	g_autofree char *svg = g_build_filename(dir, "r.svg", NULL);
	g_autofree char *text = NULL, *svg_text = NULL;
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(JsonNode) empty = json_from_string(
		"{\"seq\": 1, \"table_pages\": [0, 0, 0, 0], \"leaves\": []}",
		NULL);
	struct spte_test_run r;
	JsonObject *dumps;

	/* the recordings had no mirror: empty mirror dumps of those names */
	g_assert_true(json_parser_load_from_file(p, path, NULL));
	dumps = json_object_get_object_member(
		json_node_get_object(json_parser_get_root(p)), "dumps");
	json_object_set_member(dumps, "dontneed", json_node_copy(empty));
	json_object_set_member(dumps, "pageout", json_node_copy(empty));
	text = json_to_string(json_parser_get_root(p), FALSE);
	g_assert_true(g_file_set_contents(report, text, -1, NULL));
	spte_test_run(&r, "diff", "--kvm", "--svg", svg, "--from", "dontneed",
		      "--to", "pageout", report, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "(aged)");
	g_assert_true(g_file_get_contents(svg, &svg_text, NULL, NULL));
	spte_assert_contains(svg_text, ">KVM at dontneed; 8 leaves above "
			     "0x800000 not drawn<");
	spte_assert_contains(svg_text, ">KVM at pageout; 8 leaves above ");
	spte_test_run_clear(&r);
	g_unlink(svg);
	g_unlink(report);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm-diff/aged", test_aged);
	g_test_add_func("/kvm-diff/two-kernels", test_two_kernels);
	g_test_add_func("/kvm-diff/incomplete", test_incomplete);
	g_test_add_func("/kvm-diff/constructed", test_constructed);
	g_test_add_func("/kvm-diff/cli", test_cli);
	g_test_add_func("/kvm-diff/cli-json", test_cli_json);
	g_test_add_func("/kvm-diff/cli-svg", test_cli_svg);
	return g_test_run();
}
