// SPDX-License-Identifier: GPL-2.0
/* The dump view: folding runs of leaves, and the JSON round trip. */
#include <stdlib.h>

#include "dump_json.h"
#include "dump_text.h"
#include "spte-test.h"
#include "spte_error.h"

#define RW_A_WB (SPTE_EPT_R | SPTE_EPT_W | SPTE_EPT_X | SPTE_EPT_A | \
		 ((__u64)SPTE_EPT_MT_WB << SPTE_EPT_MT_SHIFT))

static struct spte_mirror_table *table_new(guint n)
{
	struct spte_mirror_table *t = calloc(1, sizeof(*t) +
					     n * sizeof(t->leaves[0]));

	t->nr_leaves = n;
	t->seq = 42;
	t->table_pages[0] = 1;
	t->table_pages[1] = 1;
	t->table_pages[2] = 1;
	t->table_pages[3] = 1;
	return t;
}

static void set_leaf(struct spte_mirror_table *t, guint i, guint64 gpa,
		     guint level, guint64 pfn, guint64 bits)
{
	t->leaves[i] = (struct spte_mirror_leaf){
		.gpa = gpa, .level = level, .hva = 0x7f0000000000ULL + gpa,
		.entry = (pfn << 12) | bits | (level == 2 ? SPTE_EPT_PS : 0) };
}

/*
 * 4 contiguous leaves, 3 sharing one page (KSM), 2 read-only scattered,
 * a gap, then one 2M leaf: four lines.
 */
static struct spte_mirror_table *sample(void)
{
	struct spte_mirror_table *t = table_new(10);
	guint i = 0;

	for (guint k = 0; k < 4; k++, i++)
		set_leaf(t, i, k * 0x1000, 1, 0x1000 + k, RW_A_WB);
	for (guint k = 0; k < 3; k++, i++)
		set_leaf(t, i, 0x4000 + k * 0x1000, 1, 0x5000,
			 RW_A_WB & ~SPTE_EPT_W);
	/* Folding goes by flags and GPA only: D starts a new run here. */
	set_leaf(t, i++, 0x7000, 1, 0x9000, (RW_A_WB & ~SPTE_EPT_W) | SPTE_EPT_D);
	set_leaf(t, i++, 0x8000, 1, 0x7000, (RW_A_WB & ~SPTE_EPT_W) | SPTE_EPT_D);
	set_leaf(t, i++, 0x200000, 2, 0x40000, RW_A_WB);
	return t;
}

static void test_fold(void)
{
	struct spte_mirror_table *t = sample();
	g_autoptr(GString) out = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;

	spte_dump_format_text(t, out);
	g_test_message("%s", out->str);
	lines = g_strsplit(out->str, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 2 + 4 + 1);
	spte_assert_contains(lines[0], "seq 42): 10 leaves (9 x 4K, 1 x 2M)");
	spte_assert_contains(lines[0], "PML4 1, PDPT 1, PD 1, PT 1 (16 KiB)");
	spte_assert_contains(lines[2], "0x000000000000-0x000000003fff  4K x4");
	spte_assert_contains(lines[2], "RWXA-- WB hpa 0x0001000000-0x0001003fff contiguous");
	spte_assert_contains(lines[3], "0x000000004000-0x000000006fff  4K x3");
	spte_assert_contains(lines[3], "R-XA--");
	spte_assert_contains(lines[3], "hpa 0x0005000000 shared by all 3");
	spte_assert_contains(lines[4], "0x000000007000-0x000000008fff  4K x2");
	spte_assert_contains(lines[4], "hpa scattered: 2 distinct pages");
	spte_assert_contains(lines[5], "0x000000200000-0x0000003fffff  2M x1");
	spte_assert_contains(lines[5], "RWXA-H");
	spte_mirror_table_free(t);
}

static void test_empty(void)
{
	struct spte_mirror_table *t = table_new(0);
	g_autoptr(GString) out = g_string_new(NULL);

	spte_dump_format_text(t, out);
	spte_assert_contains(out->str, "(no present leaves)");
	spte_mirror_table_free(t);
}

static void test_json_round_trip(void)
{
	struct spte_mirror_table *t = sample(), *back;
	g_autoptr(JsonNode) node = spte_dump_to_json(t);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *text = json_to_string(node, FALSE);
	g_autoptr(GError) error = NULL;

	g_assert_true(json_parser_load_from_data(parser, text, -1, &error));
	back = spte_dump_from_json(json_parser_get_root(parser), &error);
	g_assert_no_error(error);
	g_assert_cmpuint(back->nr_leaves, ==, t->nr_leaves);
	g_assert_cmpuint(back->seq, ==, 42);
	g_assert_cmpmem(back->table_pages, sizeof(back->table_pages),
			t->table_pages, sizeof(t->table_pages));
	g_assert_cmpmem(back->leaves, t->nr_leaves * sizeof(t->leaves[0]),
			t->leaves, t->nr_leaves * sizeof(t->leaves[0]));
	spte_mirror_table_free(back);
	spte_mirror_table_free(t);
}

static void test_json_bad(void)
{
	static const char *const bad[] = {
		"[]",
		"{\"seq\": 1}",
		"{\"seq\": 1, \"table_pages\": [], \"leaves\": [3]}",
		"{\"seq\": 1, \"table_pages\": [], \"leaves\": [{\"gpa\": 0}]}",
		"{\"seq\": 1, \"table_pages\": [], \"leaves\": [{\"gpa\": 0, "
		"\"level\": 3, \"entry\": 0, \"hva\": 0}]}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error = NULL;

		g_assert_true(json_parser_load_from_data(parser, bad[i], -1, NULL));
		g_assert_null(spte_dump_from_json(json_parser_get_root(parser),
						  &error));
		g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dump/fold", test_fold);
	g_test_add_func("/dump/empty", test_empty);
	g_test_add_func("/dump/json/round-trip", test_json_round_trip);
	g_test_add_func("/dump/json/bad", test_json_bad);
	return g_test_run();
}
