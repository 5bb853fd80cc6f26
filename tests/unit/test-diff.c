// SPDX-License-Identifier: GPL-2.0
/* Dump diffs (the patterns, the text, the command) and the SVG grid. */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_json.h"
#include "dump_diff.h"
#include "kvm_leaves.h"
#include "svg.h"
#include "spte-test.h"
#include "spte_error.h"

#define WB	((__u64)SPTE_EPT_MT_WB << SPTE_EPT_MT_SHIFT)
#define RWX_A	(SPTE_EPT_RWX | SPTE_EPT_A | WB)
#define R_X_A	(SPTE_EPT_R | SPTE_EPT_X | SPTE_EPT_A | WB)
#define RW_	(SPTE_EPT_R | SPTE_EPT_W | WB)

/* A table grown leaf by leaf. */
struct builder {
	struct spte_mirror_table *t;
	guint cap;
};

static void add_leaf(struct builder *b, guint64 gpa, guint level, guint64 pfn,
		     guint64 bits)
{
	if (!b->t || b->t->nr_leaves == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->t = realloc(b->t, sizeof(*b->t) +
			       b->cap * sizeof(b->t->leaves[0]));
		if (b->cap == 64)
			memset(b->t, 0, sizeof(*b->t));
	}
	b->t->leaves[b->t->nr_leaves++] = (struct spte_mirror_leaf){
		.gpa = gpa, .level = level, .hva = 0x7f0000000000ULL + gpa,
		.entry = (pfn << 12) | bits | (level == 2 ? SPTE_EPT_PS : 0) };
}

static void add_4k_run(struct builder *b, guint64 gpa, guint n, guint64 pfn,
		       guint64 pfn_step, guint64 bits)
{
	for (guint k = 0; k < n; k++)
		add_leaf(b, gpa + k * 0x1000ULL, 1, pfn + k * pfn_step, bits);
}

static struct spte_mirror_table *done(struct builder *b)
{
	if (!b->t) {
		b->t = calloc(1, sizeof(*b->t));
		b->cap = 0;
	}
	b->t->seq = 7;
	return b->t;
}

static char *diff_text(const struct spte_mirror_table *a,
		       const struct spte_mirror_table *b,
		       struct spte_dump_diff **out)
{
	struct spte_dump_diff *d = spte_dump_diff_new(a, b);
	g_autoptr(GString) s = g_string_new(NULL);

	spte_dump_diff_format(d, s);
	g_test_message("\n%s", s->str);
	if (out)
		*out = d;
	else
		spte_dump_diff_free(d);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static const struct spte_diff_run *run(const struct spte_dump_diff *d, guint i)
{
	g_assert_cmpuint(i, <, d->runs->len);
	return &g_array_index(d->runs, struct spte_diff_run, i);
}

/* KSM: 32 private pages merged into one read-only PFN. */
static void ksm_tables(struct spte_mirror_table **a,
		       struct spte_mirror_table **b)
{
	struct builder x = { 0 }, y = { 0 };

	add_4k_run(&x, 0, 32, 0x1a000, 5, RWX_A);
	add_4k_run(&x, 0x20000, 4, 0x1b000, 1, RWX_A);
	add_4k_run(&y, 0, 32, 0x1234, 0, R_X_A);
	add_4k_run(&y, 0x20000, 4, 0x1b000, 1, RWX_A);
	*a = done(&x);
	*b = done(&y);
}

static void test_ksm_merge(void)
{
	struct spte_mirror_table *a, *b;
	struct spte_dump_diff *d;
	g_autofree char *text = NULL;

	ksm_tables(&a, &b);
	text = diff_text(a, b, &d);
	g_assert_cmpuint(d->runs->len, ==, 1);
	g_assert_cmpint(run(d, 0)->pattern, ==, SPTE_PATTERN_MERGED);
	g_assert_cmpuint(run(d, 0)->changes, ==, SPTE_DIFF_PFN | SPTE_DIFF_PERM);
	g_assert_cmpuint(run(d, 0)->after.distinct_pfns, ==, 1);
	g_assert_cmpuint(run(d, 0)->after.shared, ==, 32);
	g_assert_cmpuint(d->pfn_changed, ==, 32);
	g_assert_cmpuint(d->perm_changed, ==, 32);
	g_assert_cmpuint(d->changed, ==, 32);
	g_assert_cmpuint(d->unchanged, ==, 4);
	spte_assert_contains(text, "gpa 0x000000-0x01ffff  32 x 4K: 32 PFNs -> "
			     "1 shared PFN 0x1234, W dropped (merged)\n");
	spte_assert_contains(text, "summary: 0 faulted in, 0 zapped, 32 changed "
			     "(PFN 32, permissions 32, level 0, A/D 0), 4 "
			     "unchanged; 4K pages mapped 36 -> 36\n");

	/* and back: a write breaks the sharing */
	g_free(text);
	spte_dump_diff_free(d);
	text = diff_text(b, a, &d);
	g_assert_cmpint(run(d, 0)->pattern, ==, SPTE_PATTERN_UNSHARED);
	spte_assert_contains(text, "32 x 4K: 1 shared PFN 0x1234 -> 32 PFNs, "
			     "W gained (un-shared)");
	spte_dump_diff_free(d);
	free(a);
	free(b);
}

static void test_collapse_split(void)
{
	struct builder x = { 0 }, y = { 0 };
	struct spte_mirror_table *a, *b;
	struct spte_dump_diff *d;
	g_autofree char *text = NULL, *back = NULL;

	/* 512 scattered 4K leaves -> one 2M leaf (khugepaged) */
	add_4k_run(&x, 0x200000, 512, 0x5000, 3, RW_);
	add_leaf(&y, 0x200000, 2, 0x40000, RWX_A);
	a = done(&x);
	b = done(&y);
	text = diff_text(a, b, &d);
	g_assert_cmpuint(d->runs->len, ==, 1);
	g_assert_cmpint(run(d, 0)->pattern, ==, SPTE_PATTERN_COLLAPSED);
	g_assert_cmpuint(d->level_changed, ==, 512);
	g_assert_cmpuint(run(d, 0)->before.leaves, ==, 512);
	g_assert_cmpuint(run(d, 0)->after.leaves, ==, 1);
	spte_assert_contains(text, "gpa 0x200000-0x3fffff  512 x 4K RW- "
			     "scattered -> 1 x 2M RWX hpa 0x40000000-0x401fffff "
			     "(collapsed)\n");
	spte_dump_diff_free(d);

	/* the 2M leaf split in place: same host pages */
	back = diff_text(b, a, &d);
	g_assert_cmpint(run(d, 0)->pattern, ==, SPTE_PATTERN_SPLIT);
	spte_assert_contains(back, "1 x 2M RWX hpa 0x40000000-0x401fffff -> "
			     "512 x 4K RW- scattered (split)");
	spte_dump_diff_free(d);
	free(a);
	free(b);
	g_free(text);

	x = (struct builder){ 0 };
	y = (struct builder){ 0 };
	add_leaf(&x, 0x400000, 2, 0x80000, RWX_A);
	add_4k_run(&y, 0x400000, 512, 0x80000, 1, RWX_A);
	a = done(&x);
	b = done(&y);
	text = diff_text(a, b, &d);
	g_assert_cmpuint(d->pfn_changed, ==, 0);
	spte_assert_contains(text, "1 x 2M RWX hpa 0x80000000-0x801fffff -> 512 "
			     "x 4K RWX hpa 0x80000000-0x801fffff (split)");
	spte_dump_diff_free(d);
	free(a);
	free(b);
}

static void test_zap_fault_prot_age(void)
{
	struct builder x = { 0 }, y = { 0 };
	struct spte_mirror_table *a, *b;
	struct spte_dump_diff *d;
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	add_4k_run(&x, 0x0, 16, 0x100, 1, RWX_A);		/* zapped */
	add_4k_run(&x, 0x10000, 8, 0x200, 1, RWX_A);		/* mprotect */
	add_4k_run(&y, 0x10000, 8, 0x200, 1, R_X_A);
	add_4k_run(&x, 0x18000, 8, 0x300, 1, RWX_A);		/* aged */
	add_4k_run(&y, 0x18000, 8, 0x300, 1, SPTE_EPT_RWX | WB);
	add_4k_run(&x, 0x20000, 8, 0x400, 1, RWX_A);		/* migrated */
	add_4k_run(&y, 0x20000, 8, 0x900, 7, RWX_A);
	add_4k_run(&y, 0x100000, 4, 0x500, 1, RWX_A);		/* faulted in */
	a = done(&x);
	b = done(&y);
	text = diff_text(a, b, &d);
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(d->runs->len, ==, 5);
	g_assert_cmpuint(g_strv_length(lines), ==, 7);
	spte_assert_contains(lines[0], "gpa 0x000000-0x00ffff  16 x 4K RWX hpa "
			     "0x100000-0x10ffff -> absent (zapped)");
	spte_assert_contains(lines[1], "gpa 0x010000-0x017fff  8 x 4K hpa "
			     "0x200000-0x207fff: W dropped (write-protected)");
	spte_assert_contains(lines[2], "gpa 0x018000-0x01ffff  8 x 4K RWX hpa "
			     "0x300000-0x307fff: A cleared (aged)");
	spte_assert_contains(lines[3], "gpa 0x020000-0x027fff  8 x 4K RWX: hpa "
			     "0x400000-0x407fff -> 8 PFNs (moved to new PFNs)");
	spte_assert_contains(lines[4], "gpa 0x100000-0x103fff  absent -> 4 x 4K "
			     "RWX hpa 0x500000-0x503fff (faulted in)");
	spte_assert_contains(lines[5], "summary: 4 faulted in, 16 zapped, 24 "
			     "changed (PFN 8, permissions 8, level 0, A/D 8), 0 "
			     "unchanged; 4K pages mapped 40 -> 28");
	g_assert_cmpuint(d->added + d->removed + d->changed + d->unchanged, ==,
			 44);

	/* JSON carries the same */
	{
		g_autoptr(JsonNode) node = spte_dump_diff_to_json(d);
		JsonObject *o = json_node_get_object(node);
		JsonObject *counts = json_object_get_object_member(o, "counts");
		JsonArray *runs = json_object_get_array_member(o, "runs");
		JsonObject *r0 = json_array_get_object_element(runs, 0);

		g_assert_cmpint(json_object_get_int_member(counts, "removed"), ==,
				16);
		g_assert_cmpuint(json_array_get_length(runs), ==, 5);
		g_assert_cmpstr(json_object_get_string_member(r0, "pattern"), ==,
				"zapped");
		g_assert_true(json_object_get_null_member(r0, "after"));
		g_assert_cmpint(json_object_get_int_member(r0, "gpa_end"), ==,
				0xffff);
	}
	spte_dump_diff_free(d);
	free(a);
	free(b);
}

static void test_no_change(void)
{
	struct spte_mirror_table *a, *b;
	struct spte_dump_diff *d;
	g_autofree char *text = NULL, *empty = NULL;
	struct builder e = { 0 };
	struct spte_mirror_table *none = done(&e);

	ksm_tables(&a, &b);
	text = diff_text(b, b, &d);
	g_assert_cmpuint(d->runs->len, ==, 0);
	g_assert_cmpuint(d->unchanged, ==, 36);
	g_assert_cmpstr(text, ==, "no change: the same 36 pages mapped "
			"identically in both dumps\n");
	spte_dump_diff_free(d);
	empty = diff_text(none, none, NULL);
	g_assert_cmpstr(empty, ==, "no change: both dumps are empty\n");
	free(a);
	free(b);
	free(none);
}

/* ---- the command ---- */

static char *dump_json(const struct spte_mirror_table *t)
{
	g_autoptr(JsonNode) node = spte_dump_to_json(t);

	return json_to_string(node, FALSE);
}

static void test_command(void)
{
	g_autofree char *dir = g_dir_make_tmp("spte-diff-XXXXXX", NULL);
	struct spte_mirror_table *a, *b;
	g_autofree char *ja = NULL, *jb = NULL, *report_text = NULL;
	g_autofree char *fa = NULL, *fb = NULL, *report = NULL, *svg = NULL;
	g_autofree char *syntax = NULL, *neither = NULL, *no_after = NULL;
	g_autofree char *bad_leaf = NULL, *svg_text = NULL;
	struct spte_test_run r;

	ksm_tables(&a, &b);
	ja = dump_json(a);
	jb = dump_json(b);
	report_text = g_strdup_printf(
		"{\"scenario\": \"ksm-merge\", \"kernel\": \"6.1\", \"passed\": "
		"true, \"checks\": [{\"name\": \"merged\", \"passed\": true, "
		"\"detail\": \"\"}], \"events\": [], \"dumps\": {\"before\": %s, "
		"\"after\": %s}}", ja, jb);
	fa = spte_test_file(dir, "a.json", ja);
	fb = spte_test_file(dir, "b.json", jb);
	report = spte_test_file(dir, "report.json", report_text);
	syntax = spte_test_file(dir, "syntax.json", "{\"seq\": ");
	neither = spte_test_file(dir, "neither.json", "[1, 2]");
	no_after = spte_test_file(dir, "no-after.json",
				  "{\"dumps\": {\"before\": {\"seq\": 1, "
				  "\"table_pages\": [], \"leaves\": []}, "
				  "\"mid\": 3}}");
	bad_leaf = spte_test_file(dir, "bad-leaf.json",
				  "{\"dumps\": {\"before\": {\"seq\": 1, "
				  "\"table_pages\": [], "
				  "\"leaves\": [{\"gpa\": 0}]}}}");
	svg = g_build_filename(dir, "out.svg", NULL);

	spte_test_run(&r, "diff", fa, fb, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "a.json -> ");
	spte_assert_contains(r.out, "32 x 4K: 32 PFNs -> 1 shared PFN 0x1234, W "
			     "dropped (merged)");
	spte_test_run_clear(&r);

	spte_test_run(&r, "diff", "--svg", svg, report, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "ksm-merge: before -> after\n");
	spte_assert_contains(r.out, "(merged)");
	g_assert_true(g_file_get_contents(svg, &svg_text, NULL, NULL));
	spte_assert_contains(svg_text, "ksm-merge: before -&gt; after");
	spte_test_run_clear(&r);

	spte_test_run(&r, "diff", "--json", report, NULL);
	g_assert_cmpint(r.status, ==, 0);
	{
		g_autoptr(JsonParser) p = json_parser_new();
		JsonObject *o;

		g_assert_true(json_parser_load_from_data(p, r.out, -1, NULL));
		o = json_node_get_object(json_parser_get_root(p));
		g_assert_cmpstr(json_object_get_string_member(o, "from"), ==,
				"before");
		g_assert_cmpint(json_object_get_int_member(
			json_object_get_object_member(o, "counts"),
			"pfn_changed"), ==, 32);
	}
	spte_test_run_clear(&r);

	/* two reports: their "after" dumps unless told otherwise */
	spte_test_run(&r, "diff", "--from", "before", report, fb, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "report.json:before -> ");
	spte_assert_contains(r.out, "(merged)");
	spte_test_run_clear(&r);

	/* bad usage: 2 */
	spte_test_run(&r, "diff", NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_assert_contains(r.err, "expected A.json B.json or one REPORT.json");
	spte_test_run_clear(&r);
	spte_test_run(&r, "diff", fa, fb, report, NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_test_run_clear(&r);
	spte_test_run(&r, "diff", "--frobnicate", fa, fb, NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_test_run_clear(&r);

	/* bad input: 1, naming the file and the problem */
	{
		static const struct {
			const char *file;
			const char *second;
			const char *message;
		} cases[] = {
			{ "missing.json", "b.json", "missing.json" },
			{ "syntax.json", "b.json", "syntax.json:1:" },
			{ "neither.json", "b.json", "neither.json: expected a JSON "
			  "object (a spte_mirror dump or a scenario report)" },
			{ "a.json", "neither.json", "neither.json: expected" },
			{ "no-after.json", NULL, "no-after.json: the report has no "
			  "dump 'after' (it has: before, mid)" },
			{ "bad-leaf.json", NULL, "bad-leaf.json: dumps.before: dump: "
			  "member 'level' is missing" },
			{ "a.json", NULL, "a.json is a single dump, not a scenario "
			  "report" },
		};

		for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
			g_autofree char *p1 = g_build_filename(dir, cases[i].file,
							       NULL);
			g_autofree char *p2 = cases[i].second ?
				g_build_filename(dir, cases[i].second, NULL) : NULL;

			spte_test_run(&r, "diff", p1, p2, NULL);
			g_assert_cmpint(r.status, ==, 1);
			spte_assert_contains(r.err, "spte diff: ");
			spte_assert_contains(r.err, cases[i].message);
			spte_test_run_clear(&r);
		}
	}

	for (const char *const *f = (const char *const []){ fa, fb, report,
		syntax, neither, no_after, bad_leaf, svg, NULL }; *f; f++)
		g_unlink(*f);
	g_rmdir(dir);
	free(a);
	free(b);
}

/* ---- SVG ---- */

struct svg_count {
	guint elements;
	guint rects;
	gboolean saw_svg;
};

static void svg_start(GMarkupParseContext *ctx, const char *name,
		      const char **attr_names, const char **attr_values,
		      gpointer data, GError **error)
{
	struct svg_count *c = data;

	c->elements++;
	c->rects += !strcmp(name, "rect");
	if (!strcmp(name, "svg")) {
		c->saw_svg = TRUE;
		for (guint i = 0; attr_names[i]; i++)
			if (!strcmp(attr_names[i], "xmlns"))
				g_assert_cmpstr(attr_values[i], ==,
						"http://www.w3.org/2000/svg");
	}
}

static void assert_xml(const char *svg, struct svg_count *c)
{
	static const GMarkupParser parser = { .start_element = svg_start };
	GMarkupParseContext *ctx;
	g_autoptr(GError) error = NULL;
	/* GMarkup takes no <?xml?> declaration */
	const char *body = strstr(svg, "<svg");

	g_assert_true(g_str_has_prefix(svg, "<?xml version=\"1.0\""));
	memset(c, 0, sizeof(*c));
	ctx = g_markup_parse_context_new(&parser, 0, c, NULL);
	g_assert_true(g_markup_parse_context_parse(ctx, body, -1, &error));
	g_assert_no_error(error);
	g_assert_true(g_markup_parse_context_end_parse(ctx, &error));
	g_assert_no_error(error);
	g_markup_parse_context_free(ctx);
	g_assert_true(c->saw_svg);
}

static void test_svg(void)
{
	struct builder x = { 0 }, y = { 0 };
	const struct spte_mirror_table *tables[2];
	const char *labels[] = { "before", "after <KSM>" };
	g_autofree char *svg = NULL, *big = NULL;
	g_autoptr(GError) error = NULL;
	struct svg_count c;

	/* KSM as above, plus a 2M leaf and a read-only page in "after" */
	add_4k_run(&x, 0, 36, 0x1a000, 1, RWX_A);
	add_4k_run(&y, 0, 32, 0x1234, 0, R_X_A);
	add_4k_run(&y, 0x20000, 3, 0x1b000, 1, RWX_A);
	add_leaf(&y, 0x23000, 1, 0x1b003, SPTE_EPT_R | WB);
	add_leaf(&y, 0x200000, 2, 0x40000, RWX_A);
	tables[0] = done(&x);
	tables[1] = done(&y);
	svg = spte_svg_render("KSM merge <zero & friends>", 4 << 20, tables,
			      NULL, labels, 2, &error);
	g_assert_no_error(error);
	assert_xml(svg, &c);
	g_test_message("%u elements, %u rects, %zu bytes", c.elements, c.rects,
		       strlen(svg));
	spte_assert_contains(svg, "<title>KSM merge &lt;zero &amp; friends&gt;</title>");
	spte_assert_contains(svg, "after &lt;KSM&gt;");
	spte_assert_contains(svg, ">absent (not mirrored)<");
	spte_assert_contains(svg, ">4K read/write<");
	spte_assert_contains(svg, ">4K read-only<");
	spte_assert_contains(svg, ">4K, PFN shared with other GPAs (KSM / zero "
			     "page)<");
	spte_assert_contains(svg, ">part of a 2M leaf<");
	spte_assert_contains(svg, ">young (accessed bit set)<");
	spte_assert_contains(svg, "2 MiB region (8 rows)");
	spte_assert_contains(svg, ">0x00200000<");	/* axis every 2 MiB */
	g_assert_null(strstr(svg, "aggregated"));

	/* 512 MiB: one cell per 2M region */
	big = spte_svg_render("big", 512ULL << 20, tables, NULL, NULL, 2,
			      &error);
	g_assert_no_error(error);
	assert_xml(big, &c);
	spte_assert_contains(big, "each cell is a 2 MiB region in its dominant "
			     "state");
	spte_assert_contains(big, "aggregated: 131072 pages");
	spte_assert_contains(big, ">dump 1<");
	g_assert_cmpuint(strlen(big), <, 64 * 1024);

	g_assert_null(spte_svg_render("none", 0, tables, NULL, NULL, 0,
				      &error));
	g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_null(spte_svg_render("huge", 1ULL << 40, tables, NULL, NULL, 2,
				      &error));
	g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
	free((void *)tables[0]);
	free((void *)tables[1]);
}

static void test_svg_scattered(void)
{
	struct builder x = { 0 };
	const struct spte_mirror_table *tables[1];
	g_autofree char *svg = NULL;
	g_autoptr(GError) error = NULL;
	struct svg_count c;

	/* 256 MiB, every other page mapped: worst case for runs */
	for (guint64 k = 0; k < 65536; k += 2)
		add_leaf(&x, k << 12, 1, 0x100000 + k, (k & 2) ? RWX_A : RW_);
	tables[0] = done(&x);
	svg = spte_svg_render("scattered", 256ULL << 20, tables, NULL, NULL, 1,
			      &error);
	g_assert_no_error(error);
	assert_xml(svg, &c);
	g_test_message("256 MiB scattered: %zu bytes, %u rects", strlen(svg),
		       c.rects);
	g_assert_cmpuint(strlen(svg), <, 8 * 1024 * 1024);
	free((void *)tables[0]);
}

static guint count_of(const char *haystack, const char *needle)
{
	guint n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* KVM's grid beside the dump that has a snapshot, and only there. */
static void test_svg_kvm(void)
{
	struct builder x = { 0 }, y = { 0 };
	const struct spte_mirror_table *tables[2];
	const struct spte_kvm_snapshot *kvm[2] = { NULL, NULL };
	const char *labels[] = { "before", "after" };
	g_autoptr(spte_kvm_leaves) m = spte_kvm_leaves_new(SPTE_KVM_SPTE_X86);
	g_autoptr(spte_kvm_snapshot) snap = NULL;
	g_autofree char *with = NULL, *without = NULL;
	g_autoptr(GError) error = NULL;
	struct svg_count c;

	add_4k_run(&x, 0, 16, 0x1a000, 1, RWX_A);
	add_leaf(&y, 0, 2, 0x40000, RWX_A);
	tables[0] = done(&x);
	tables[1] = done(&y);
	/* KVM after: the 2M leaf, a read-only 4K leaf, the system slot */
	spte_kvm_leaves_feed_text(m,
		SPTE_TEST_KVM_EV("1.000001", "gfn 0 level 2 old_spte 0 "
				 "new_spte 40000ee7")
		SPTE_TEST_KVM_EV("1.000002", "gfn 300 level 1 old_spte 0 "
				 "new_spte 3f9e9a25")
		SPTE_TEST_KVM_EV("1.000003", "gfn 1000000 level 1 old_spte 0 "
				 "new_spte 29e6e67"));
	snap = spte_kvm_leaves_snapshot(m);
	g_assert_cmpuint(snap->leaves->len, ==, 3);
	kvm[1] = snap;
	with = spte_svg_render("kvm", 4 << 20, tables, kvm, labels, 2, &error);
	g_assert_no_error(error);
	assert_xml(with, &c);
	spte_assert_contains(with, ">KVM at after; 1 leaves above 0x400000 "
			     "not drawn<");
	g_assert_null(strstr(with, "KVM at before"));
	spte_assert_contains(with, ">absent (not mirrored; in KVM's grids: "
			     "no leaf)<");
	/* three grids, the KVM one right of "after", one GAP apart */
	g_assert_cmpuint(count_of(with, "<g transform="), ==, 3);
	spte_assert_contains(with, "<g transform=\"translate(1476,70)\">");
	/* KVM's read-only page at 0x300000: row 12, column 0, orange */
	spte_assert_contains(with, "<rect x=\"0\" y=\"120\" width=\"10\" "
			     "height=\"10\" class=\"ro\"/>");

	without = spte_svg_render("kvm", 4 << 20, tables, NULL, labels, 2,
				  &error);
	g_assert_no_error(error);
	g_assert_null(strstr(without, "KVM at"));
	g_assert_null(strstr(without, "KVM's grids"));
	g_assert_cmpuint(count_of(without, "<g transform="), ==, 2);
	free((void *)tables[0]);
	free((void *)tables[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/diff/ksm-merge", test_ksm_merge);
	g_test_add_func("/diff/collapse-split", test_collapse_split);
	g_test_add_func("/diff/zap-fault-prot-age", test_zap_fault_prot_age);
	g_test_add_func("/diff/no-change", test_no_change);
	g_test_add_func("/diff/command", test_command);
	g_test_add_func("/svg/grid", test_svg);
	g_test_add_func("/svg/scattered", test_svg_scattered);
	g_test_add_func("/svg/kvm", test_svg_kvm);
	return g_test_run();
}
