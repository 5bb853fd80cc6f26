// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM leaf model (inspect/kvm_leaves.h) replayed from trace text: line
 * parsing, SPTE decoding of both kernels' not-present encodings, and the
 * lab recordings of data/kvm-leaves (record.sh made them) replayed up to
 * the moments the run printed KVM's own page counts, which the model must
 * equal; and a model's leaves at a dump written as JSON and read back.
 */
#include <string.h>

#include "kvm_leaf_tracker.h"
#include "kvm_leaves.h"
#include "kvm_snapshot_json.h"
#include "spte-test.h"
#include "spte_error.h"

/* ---- lines ---- */

static const struct {
	const char *line;
	enum spte_kvm_line_kind kind;
	guint64 ts_us;
	guint as_id, level;
	guint64 gfn, old_spte, new_spte;
	gboolean fixed;
	guint64 lost;
} line_cases[] = {
	/* 6.1, the default columns */
	{ "            spte-123     [001] ...1.    10.126275: "
	  "kvm_tdp_mmu_spte_changed: as id 0 gfn 1000002 level 1 old_spte 0 "
	  "new_spte 3f9e9e67", SPTE_KVM_LINE_SPTE_CHANGED, 10126275, 0, 1,
	  0x1000002, 0, 0x3f9e9e67 },
	/* 6.12: the not-present value has bit 63 */
	{ "            spte-118     [000] ...1.    11.143733: "
	  "kvm_tdp_mmu_spte_changed: as id 0 gfn 0 level 1 old_spte 36fde67 "
	  "new_spte 8000000000000000", SPTE_KVM_LINE_SPTE_CHANGED, 11143733,
	  0, 1, 0, 0x36fde67, 0x8000000000000000ULL },
	/* TGID column, no irq flags, SMM, a 2M leaf */
	{ "  CPU 0/KVM-4242  (   4240) [003]  1234.500000: "
	  "kvm_tdp_mmu_spte_changed: as id 1 gfn 200 level 2 old_spte 0 "
	  "new_spte 7600ee7", SPTE_KVM_LINE_SPTE_CHANGED, 1234500000, 1, 2,
	  0x200, 0, 0x7600ee7 },
	{ "            spte-123     [001] .....    10.504172: fast_page_fault: "
	  "vcpu 0 gva 0 error_code P|W|U sptep 0000000058d0473b old 0x76008a5 "
	  "new 76008a5 spurious 0 fixed 0", SPTE_KVM_LINE_FAST_PF, 10504172,
	  0, 0, 0, 0x76008a5, 0x76008a5, FALSE },
	{ "         CPU 0/KVM-77      [000] .....   3.000001: fast_page_fault: "
	  "vcpu 0 gva 5000 error_code P|W sptep 00000000aa old 0x3f9dde45 "
	  "new 3f9dde67 spurious 0 fixed 1", SPTE_KVM_LINE_FAST_PF, 3000001,
	  0, 0, 5, 0x3f9dde45, 0x3f9dde67, TRUE },
	{ "CPU:1 [LOST 4096 EVENTS]", SPTE_KVM_LINE_LOST, 0, 0, 0, 0, 0, 0,
	  FALSE, 4096 },
	{ "            spte-123     [001] .....    10.516718: kvm_age_hva: mmu "
	  "notifier age hva: 0x007fad0ca04000 -- 0x007fad0ca05000",
	  SPTE_KVM_LINE_OTHER },
	{ "# entries-in-buffer/entries-written: 651/651   #P:2",
	  SPTE_KVM_LINE_OTHER },
	{ "", SPTE_KVM_LINE_OTHER },
	{ "            spte-123     [001] ...1.    10.126275: "
	  "kvm_tdp_mmu_spte_changed: as id 0 gfn zz level 1",
	  SPTE_KVM_LINE_MALFORMED },
	{ "            spte-123     [001] ...1.    10.126275: "
	  "kvm_tdp_mmu_spte_changed: as id 7 gfn 0 level 1 old_spte 0 "
	  "new_spte 0", SPTE_KVM_LINE_MALFORMED },
};

static void test_parse_lines(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(line_cases); i++) {
		struct spte_kvm_line l;

		g_test_message("line %u: %s", i, line_cases[i].line);
		g_assert_cmpint(spte_kvm_leaves_parse_line(line_cases[i].line,
							   &l), ==,
				line_cases[i].kind);
		if (l.kind == SPTE_KVM_LINE_LOST) {
			g_assert_cmpuint(l.lost, ==, line_cases[i].lost);
			g_assert_cmpuint(l.cpu, ==, 1);
		}
		if (l.kind != SPTE_KVM_LINE_SPTE_CHANGED &&
		    l.kind != SPTE_KVM_LINE_FAST_PF)
			continue;
		g_assert_cmpuint(l.ts_us, ==, line_cases[i].ts_us);
		g_assert_cmphex(l.gfn, ==, line_cases[i].gfn);
		g_assert_cmphex(l.old_spte, ==, line_cases[i].old_spte);
		g_assert_cmphex(l.new_spte, ==, line_cases[i].new_spte);
		if (l.kind == SPTE_KVM_LINE_FAST_PF) {
			g_assert_cmpint(l.fixed, ==, line_cases[i].fixed);
			continue;
		}
		g_assert_cmpuint(l.as_id, ==, line_cases[i].as_id);
		g_assert_cmpuint(l.level, ==, line_cases[i].level);
	}
}

/* ---- SPTE values, both formats ---- */

static const struct {
	const char *what;
	enum spte_kvm_spte_format fmt;
	guint64 raw;
	gboolean present, frozen, mmio, large, writable, executable;
	gboolean accessed, dirty;
	guint64 pfn;
	const char *flags;
} spte_cases[] = {
	{ "6.1 not present", SPTE_KVM_SPTE_X86, 0, .flags = "none" },
	{ "6.1 REMOVED_SPTE", SPTE_KVM_SPTE_X86, 0x5a0, .frozen = TRUE,
	  .flags = "frozen" },
	{ "6.12 SHADOW_NONPRESENT_VALUE", SPTE_KVM_SPTE_X86,
	  0x8000000000000000ULL, .flags = "none" },
	{ "6.12 FROZEN_SPTE", SPTE_KVM_SPTE_X86, 0x80000000000005a0ULL,
	  .frozen = TRUE, .flags = "frozen" },
	/* kvm_mmu_reset_all_pte_masks(): BIT(51) | P, generation bits */
	{ "MMIO", SPTE_KVM_SPTE_X86, 0x0008000000000007ULL, .mmio = TRUE,
	  .flags = "mmio" },
	{ "NPT 4K, guest write", SPTE_KVM_SPTE_X86, 0x3f9e9e67, TRUE,
	  .writable = TRUE, .executable = TRUE, .accessed = TRUE,
	  .dirty = TRUE, .pfn = 0x3f9e9, .flags = "rwx A D" },
	{ "NPT 4K, aged", SPTE_KVM_SPTE_X86, 0x3f9dde47, TRUE,
	  .writable = TRUE, .executable = TRUE, .dirty = TRUE,
	  .pfn = 0x3f9dd, .flags = "rwx D" },
	{ "NPT 2M", SPTE_KVM_SPTE_X86, 0x7600ee7, TRUE, .large = TRUE,
	  .writable = TRUE, .executable = TRUE, .accessed = TRUE,
	  .dirty = TRUE, .pfn = 0x7600, .flags = "rwx A D" },
	{ "NPT 2M, primary read-only", SPTE_KVM_SPTE_X86, 0x76008a5, TRUE,
	  .large = TRUE, .executable = TRUE, .accessed = TRUE, .pfn = 0x7600,
	  .flags = "r-x A" },
	{ "NPT 2M, NX", SPTE_KVM_SPTE_X86, 0x80000000076008a5ULL, TRUE,
	  .large = TRUE, .accessed = TRUE, .pfn = 0x7600, .flags = "r-- A" },
	/* make_spte() on EPT: RWX, WB memtype, A/D, host/mmu writable */
	{ "EPT 4K", SPTE_KVM_SPTE_EPT, 0x0600000012345b77ULL, TRUE,
	  .writable = TRUE, .executable = TRUE, .accessed = TRUE,
	  .dirty = TRUE, .pfn = 0x12345, .flags = "rwx A D" },
	{ "EPT 6.12 not present", SPTE_KVM_SPTE_EPT, 0x8000000000000000ULL,
	  .flags = "none" },
};

static void test_decode(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(spte_cases); i++) {
		struct spte_kvm_spte s;
		g_autofree char *flags = NULL;

		g_test_message("%s: 0x%" G_GINT64_MODIFIER "x",
			       spte_cases[i].what, spte_cases[i].raw);
		spte_kvm_spte_decode(spte_cases[i].fmt, spte_cases[i].raw, &s);
		g_assert_cmpint(s.present, ==, spte_cases[i].present);
		g_assert_cmpint(s.frozen, ==, spte_cases[i].frozen);
		g_assert_cmpint(s.mmio, ==, spte_cases[i].mmio);
		g_assert_cmpint(s.large, ==, spte_cases[i].large);
		g_assert_cmpint(s.writable, ==, spte_cases[i].writable);
		g_assert_cmpint(s.executable, ==, spte_cases[i].executable);
		g_assert_cmpint(s.accessed, ==, spte_cases[i].accessed);
		g_assert_cmpint(!!s.dirty, ==, spte_cases[i].dirty);
		g_assert_cmphex(s.pfn, ==, spte_cases[i].pfn);
		flags = spte_kvm_spte_flags(&s);
		g_assert_cmpstr(flags, ==, spte_cases[i].flags);
	}
}

/* ---- the recordings ---- */

static char *fixture(const char *name)
{
	g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data",
						      "kvm-leaves", name, NULL);
	g_autoptr(GError) error = NULL;
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, &error))
		g_error("fixture %s: %s", path, error->message);
	return text;
}

/* Replay the lines of @text stamped before @until_us (0: all). */
static struct spte_kvm_leaves *replay(const char *text, guint64 until_us)
{
	struct spte_kvm_leaves *m = spte_kvm_leaves_new(SPTE_KVM_SPTE_X86);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint i = 0; lines[i]; i++) {
		struct spte_kvm_line l;

		spte_kvm_leaves_parse_line(lines[i], &l);
		if (until_us && l.ts_us >= until_us)
			break;
		spte_kvm_leaves_feed(m, lines[i]);
	}
	return m;
}

/*
 * The moments of the recordings where the run printed "kvm (whole VM):
 * pages_4k N, pages_2m M": replayed up to the first event of the next
 * step, the model has those counts.
 */
static const struct {
	const char *file;
	const char *after;	/* the step */
	guint64 until_us;
	guint64 pages_4k, pages_2m;
	guint64 tables_removed_min, removed_children, age_clears;
} checkpoints[] = {
	{ "npt-6.1.trace", "fill 0 16", 8859373, 24, 0 },
	{ "npt-6.1.trace", "collapse, touch 0 512", 8920931, 8, 1, 1, 512 },
	{ "npt-6.1.trace", "fill 0x200000 8, dontneed 2", 8954752, 14, 1, 1,
	  512 },
	/* 6.1's MADV_PAGEOUT asks KVM, who says young and keeps them */
	{ "npt-6.1.trace", "mprotect, pageout 0x204000 4", 9049413, 14, 1, 1,
	  512, 4 },
	/* reclaim of the whole memcg, then VM destruction zaps the roots */
	{ "npt-6.1.trace", "the end", 0, 0, 0, 3 },
	{ "npt-6.12.trace", "fill 0 16", 11142759, 24, 0 },
	{ "npt-6.12.trace", "collapse, touch 0 512", 11180864, 8, 1, 1, 512 },
	{ "npt-6.12.trace", "fill 0x200000 8, dontneed 2", 11195411, 14, 1, 1,
	  512 },
	/* 6.12's MADV_PAGEOUT asks nobody: four leaves zapped, no aging */
	{ "npt-6.12.trace", "mprotect, pageout 0x204000 4", 11262165, 10, 1, 1,
	  512, 0 },
	{ "npt-6.12.trace", "the end", 0, 0, 0, 3 },
};

static void test_recordings(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(checkpoints); i++) {
		g_autofree char *text = fixture(checkpoints[i].file);
		g_autoptr(spte_kvm_leaves) m = replay(text,
						      checkpoints[i].until_us);
		struct spte_kvm_leaves_stats st;
		const char *why;

		g_test_message("%s after %s", checkpoints[i].file,
			       checkpoints[i].after);
		g_assert_true(spte_kvm_leaves_complete(m, &why));
		g_assert_cmpuint(spte_kvm_leaves_count(m, G_MAXUINT, 1), ==,
				 checkpoints[i].pages_4k);
		g_assert_cmpuint(spte_kvm_leaves_count(m, G_MAXUINT, 2), ==,
				 checkpoints[i].pages_2m);
		g_assert_cmpuint(spte_kvm_leaves_count(m, G_MAXUINT, 3), ==, 0);
		g_assert_cmpuint(spte_kvm_leaves_count(m, SPTE_KVM_AS_SMM, 1),
				 ==, 0);
		spte_kvm_leaves_get_stats(m, &st);
		g_assert_cmpuint(st.tables_removed, >=,
				 checkpoints[i].tables_removed_min);
		if (checkpoints[i].until_us) {
			g_assert_cmpuint(st.removed_children, ==,
					 checkpoints[i].removed_children);
			g_assert_cmpuint(st.age_clears, ==,
					 checkpoints[i].age_clears);
		}
		g_assert_cmpuint(st.installed - st.removed, ==,
				 checkpoints[i].pages_4k +
				 checkpoints[i].pages_2m);
	}
}

/* The leaves themselves, at the moment 6.1 answered young to pageout. */
static void test_leaves_after_pageout(void)
{
	g_autofree char *text = fixture("npt-6.1.trace");
	g_autoptr(spte_kvm_leaves) m = replay(text, 9049413);
	g_autoptr(GArray) ram = spte_kvm_leaves_range(m, 0, 0, 0x800000);
	g_autoptr(GString) out = g_string_new(NULL);
	const struct spte_kvm_leaf *l;

	/* the 2M leaf, refaulted writable after mprotect rw */
	l = spte_kvm_leaves_lookup(m, 0, 0x1ff000);
	g_assert_nonnull(l);
	g_assert_cmpuint(l->level, ==, 2);
	g_assert_cmphex(l->gpa, ==, 0);
	g_assert_cmphex(l->spte.pfn, ==, 0x7600);
	g_assert_true(l->spte.writable);
	/* dontneed zapped two */
	g_assert_null(spte_kvm_leaves_lookup(m, 0, 0x200000));
	g_assert_null(spte_kvm_leaves_lookup(m, 0, 0x201000));
	g_assert_cmpint(spte_kvm_leaves_young(m, 0, 0x201000), ==,
			SPTE_KVM_YOUNG_ABSENT);
	/* aged: A cleared by a traced change, KVM said young */
	for (guint64 gpa = 0x204000; gpa < 0x208000; gpa += 0x1000) {
		l = spte_kvm_leaves_lookup(m, 0, gpa);
		g_assert_nonnull(l);
		g_assert_cmpuint(l->age_clears, ==, 1);
		g_assert_false(l->spte.accessed);
		g_assert_cmpint(spte_kvm_leaves_young(m, 0, gpa), ==,
				SPTE_KVM_YOUNG_UNKNOWN);
	}
	g_assert_cmpint(spte_kvm_leaves_young(m, 0, 0x202000), ==,
			SPTE_KVM_YOUNG_YES);
	/* GPA order: the 2M leaf first, then 0x202000..0x207000 */
	g_assert_cmpuint(ram->len, ==, 7);
	for (guint i = 1; i < ram->len; i++)
		g_assert_cmphex(g_array_index(ram, struct spte_kvm_leaf, i).gpa,
				==, 0x202000 + (i - 1) * 0x1000);
	spte_kvm_leaves_format(m, 0, 0, 0x800000, "  ", out);
	g_test_message("%s", out->str);
	g_assert_cmpstr(out->str, ==,
			"  gpa 0x0 2M rwx A D pfn 0x7600\n"
			"  gpa 0x202000 4K rwx A D pfn 0x294b\n"
			"  gpa 0x203000 4K rwx A D pfn 0x294a\n"
			"  ×4 gpa 0x204000-0x207000 step 0x1000 4K rwx D "
			"pfns scattered from 0x2949\n");
}

/* ---- what makes the model incomplete ---- */

#define EV(ts, rest) "   spte-1 [000] ...1. " ts ": kvm_tdp_mmu_spte_changed: " rest

static const struct {
	const char *what;
	const char *text;
	const char *reason;	/* a part of it; NULL: complete */
	guint64 pages_4k;
} hole_cases[] = {
	{ "install and zap", EV("1.000001", "as id 0 gfn 5 level 1 old_spte 0 "
	  "new_spte 3f9e9e67") "\n" EV("1.000002", "as id 0 gfn 5 level 1 "
	  "old_spte 3f9e9e67 new_spte 0"), NULL, 0 },
	{ "ring overwrote", EV("1.000001", "as id 0 gfn 5 level 1 old_spte 0 "
	  "new_spte 3f9e9e67") "\nCPU:0 [LOST 17 EVENTS]\n",
	  "CPU 0 overwrote 17 events", 1 },
	{ "zap of a leaf never installed", EV("1.000001", "as id 0 gfn 5 "
	  "level 1 old_spte 3f9e9e67 new_spte 8000000000000000"),
	  "changed a 4K leaf at gpa 0x5000", 0 },
	{ "malformed", EV("1.000001", "as id 0 gfn 5 level one"),
	  "did not parse", 0 },
	{ "eager split", EV("1.000001", "as id 0 gfn 200 level 2 old_spte 0 "
	  "new_spte 7600ee7") "\n" EV("1.000002", "as id 0 gfn 200 level 2 "
	  "old_spte 7600ee7 new_spte 5e52827"),
	  "split the 2M leaf at gpa 0x200000", 0 },
	/*
	 * A removed table (6.12, shared): one event per child, present or
	 * not; the not-present ones change nothing.
	 */
	{ "removed table", EV("1.000001", "as id 0 gfn 1 level 1 old_spte "
	  "8000000000000000 new_spte 36fce67") "\n" EV("1.000002", "as id 0 "
	  "gfn 0 level 2 old_spte 765b827 new_spte 6a00ee7") "\n"
	  EV("1.000003", "as id 0 gfn 0 level 1 old_spte 8000000000000000 "
	  "new_spte 80000000000005a0") "\n" EV("1.000004", "as id 0 gfn 1 "
	  "level 1 old_spte 36fce67 new_spte 80000000000005a0"), NULL, 0 },
	/* SMM's leaves are counted apart, and a fast page fault fixes W */
	{ "SMM and fast page fault", EV("1.000001", "as id 1 gfn 5 level 1 "
	  "old_spte 0 new_spte 3f9e9c45") "\n   spte-1 [000] ..... 1.000002: "
	  "fast_page_fault: vcpu 0 gva 5000 error_code P|W sptep 0000000 old "
	  "0x3f9e9c45 new 3f9e9c47 spurious 0 fixed 1", NULL, 0 },
};

static void test_holes(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(hole_cases); i++) {
		g_autoptr(spte_kvm_leaves) m =
			spte_kvm_leaves_new(SPTE_KVM_SPTE_X86);
		const char *why;

		g_test_message("%s", hole_cases[i].what);
		spte_kvm_leaves_feed_text(m, hole_cases[i].text);
		g_assert_cmpint(spte_kvm_leaves_complete(m, &why), ==,
				hole_cases[i].reason == NULL);
		if (hole_cases[i].reason)
			g_assert_nonnull(strstr(why, hole_cases[i].reason));
		g_assert_cmpuint(spte_kvm_leaves_count(m, 0, 1), ==,
				 hole_cases[i].pages_4k);
	}
}

static void test_smm_fast_pf(void)
{
	g_autoptr(spte_kvm_leaves) m = spte_kvm_leaves_new(SPTE_KVM_SPTE_X86);
	const struct spte_kvm_leaf *l;

	spte_kvm_leaves_feed_text(m, hole_cases[G_N_ELEMENTS(hole_cases) - 1].text);
	g_assert_null(spte_kvm_leaves_lookup(m, 0, 0x5000));
	l = spte_kvm_leaves_lookup(m, SPTE_KVM_AS_SMM, 0x5000);
	g_assert_nonnull(l);
	g_assert_true(l->spte.writable);
	g_assert_cmpuint(spte_kvm_leaves_count(m, SPTE_KVM_AS_SMM, 1), ==, 1);
	g_assert_cmpuint(spte_kvm_leaves_count(m, G_MAXUINT, 1), ==, 1);
}

/* Two roots map a GFN until the invalidated one is zapped. */
static void test_two_roots(void)
{
	g_autoptr(spte_kvm_leaves) m = spte_kvm_leaves_new(SPTE_KVM_SPTE_X86);

	spte_kvm_leaves_feed_text(m,
		EV("1.000001", "as id 0 gfn 5 level 1 old_spte 0 new_spte 3f9e9e67") "\n"
		EV("1.000002", "as id 0 gfn 5 level 1 old_spte 0 new_spte 3f9e9e67") "\n");
	g_assert_cmpuint(spte_kvm_leaves_count(m, 0, 1), ==, 2);
	g_assert_cmpuint(spte_kvm_leaves_lookup(m, 0, 0x5000)->copies, ==, 2);
	spte_kvm_leaves_feed(m, EV("1.000003", "as id 0 gfn 5 level 1 "
				   "old_spte 3f9e9e67 new_spte 5a0"));
	g_assert_cmpuint(spte_kvm_leaves_count(m, 0, 1), ==, 1);
	g_assert_nonnull(spte_kvm_leaves_lookup(m, 0, 0x5000));
	g_assert_true(spte_kvm_leaves_complete(m, NULL));
}

/* ---- the format, from a fake /sys/module ---- */

static const struct {
	const char *what;
	const char *files[4];	/* "path=value" */
	gboolean ok;
	enum spte_kvm_spte_format fmt;
	const char *error;
} detect_cases[] = {
	{ "AMD NPT", { "kvm/parameters/tdp_mmu=Y",
		       "kvm_amd/parameters/npt=Y" }, TRUE, SPTE_KVM_SPTE_X86 },
	{ "Intel EPT", { "kvm/parameters/tdp_mmu=Y",
			 "kvm_intel/parameters/ept=Y" }, TRUE,
	  SPTE_KVM_SPTE_EPT },
	{ "shadow MMU", { "kvm/parameters/tdp_mmu=N",
			  "kvm_amd/parameters/npt=Y" }, FALSE, 0,
	  "kvm.tdp_mmu=N" },
	{ "no NPT", { "kvm/parameters/tdp_mmu=Y",
		      "kvm_amd/parameters/npt=N" }, FALSE, 0,
	  "kvm_amd/parameters/npt=N" },
	{ "no vendor module", { "kvm/parameters/tdp_mmu=Y" }, FALSE, 0,
	  "neither kvm_amd nor kvm_intel" },
};

static void test_detect(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(detect_cases); i++) {
		g_autofree char *root = g_dir_make_tmp("kvm-leaves-XXXXXX",
						       NULL);
		g_autoptr(GError) error = NULL;
		enum spte_kvm_spte_format fmt;

		g_test_message("%s", detect_cases[i].what);
		for (guint f = 0; detect_cases[i].files[f]; f++) {
			g_auto(GStrv) kv = g_strsplit(detect_cases[i].files[f],
						      "=", 2);

			g_free(spte_test_file(root, kv[0], kv[1]));
		}
		g_assert_cmpint(spte_kvm_leaf_tracker_detect(root, &fmt,
							     &error), ==,
				detect_cases[i].ok);
		if (detect_cases[i].ok) {
			g_assert_cmpint(fmt, ==, detect_cases[i].fmt);
		} else {
			g_assert_error(error, SPTE_ERROR,
				       SPTE_ERROR_UNSUPPORTED);
			g_assert_nonnull(strstr(error->message,
						detect_cases[i].error));
		}
		spte_test_remove_tree(root);
	}
}

/* ---- a snapshot as JSON (kvm_snapshot_json.h) ---- */

static void assert_same_leaves(const struct spte_kvm_snapshot *a,
			       const struct spte_kvm_snapshot *b)
{
	g_assert_cmpint(a->format, ==, b->format);
	g_assert_cmpstr(a->incomplete, ==, b->incomplete);
	g_assert_cmpuint(a->leaves->len, ==, b->leaves->len);
	for (guint i = 0; i < a->leaves->len; i++) {
		const struct spte_kvm_leaf *x = &g_array_index(a->leaves,
						struct spte_kvm_leaf, i);
		const struct spte_kvm_leaf *y = &g_array_index(b->leaves,
						struct spte_kvm_leaf, i);

		g_assert_cmpuint(x->as_id, ==, y->as_id);
		g_assert_cmpuint(x->level, ==, y->level);
		g_assert_cmphex(x->gpa, ==, y->gpa);
		g_assert_cmphex(x->size, ==, y->size);
		g_assert_cmphex(x->spte.raw, ==, y->spte.raw);
		g_assert_cmphex(x->spte.pfn, ==, y->spte.pfn);
		g_assert_cmpint(x->spte.writable, ==, y->spte.writable);
		g_assert_cmpint(x->spte.accessed, ==, y->spte.accessed);
		g_assert_cmpint(x->spte.dirty, ==, y->spte.dirty);
		g_assert_cmpuint(x->copies, ==, y->copies);
		g_assert_cmpuint(x->since_us, ==, y->since_us);
		g_assert_cmpuint(x->age_clears, ==, y->age_clears);
		g_assert_cmpuint(x->age_cleared_us, ==, y->age_cleared_us);
	}
}

static struct spte_kvm_snapshot *round_trip(const struct spte_kvm_snapshot *snap,
					    char **text)
{
	g_autoptr(JsonNode) node = spte_kvm_snapshot_to_json(snap);
	g_autoptr(JsonNode) back = NULL;
	g_autoptr(GError) error = NULL;
	struct spte_kvm_snapshot *out;

	/* through text, as a report file goes */
	*text = json_to_string(node, TRUE);
	back = json_from_string(*text, &error);
	g_assert_no_error(error);
	out = spte_kvm_snapshot_from_json(back, &error);
	g_assert_no_error(error);
	return out;
}

/* 6.1 after pageout: a 2M leaf, aged leaves, NX-free NPT values. */
static void test_snapshot_json(void)
{
	g_autofree char *trace = fixture("npt-6.1.trace");
	g_autoptr(spte_kvm_leaves) m = replay(trace, 9049413);
	g_autoptr(spte_kvm_snapshot) snap = spte_kvm_leaves_snapshot(m);
	g_autoptr(spte_kvm_snapshot) back = NULL;
	g_autofree char *text = NULL;

	back = round_trip(snap, &text);
	assert_same_leaves(snap, back);
	g_assert_nonnull(strstr(text, "\"format\" : \"x86 (NPT)\""));
	g_assert_nonnull(strstr(text, "\"incomplete\" : null"));
	/* the 2M leaf first: 0x7600ee7 */
	g_assert_nonnull(strstr(text, "\"spte\" : 123735783"));
	g_assert_nonnull(strstr(text, "\"flags\" : \"rwx A D\""));
	g_assert_nonnull(strstr(text, "\"age_clears\" : 1"));
}

/* What a live model cannot give here: EPT, NX (bit 63), 1G, two roots. */
static void test_snapshot_json_constructed(void)
{
	static const struct {
		enum spte_kvm_spte_format fmt;
		guint level;
		guint64 gpa, raw;
		guint copies;
	} leaves[] = {
		{ SPTE_KVM_SPTE_X86, 1, 0x1000, 0x80000000029f6825ULL, 2 },
		{ SPTE_KVM_SPTE_X86, 3, 0x40000000, 0x80000000400008a5ULL, 1 },
		{ SPTE_KVM_SPTE_EPT, 1, 0x5000, 0x0600000012345b77ULL, 1 },
	};

	for (guint f = 0; f < 2; f++) {
		g_autoptr(spte_kvm_snapshot) snap =
			g_new0(struct spte_kvm_snapshot, 1);
		g_autoptr(spte_kvm_snapshot) back = NULL;
		g_autofree char *text = NULL;

		snap->format = f ? SPTE_KVM_SPTE_EPT : SPTE_KVM_SPTE_X86;
		snap->incomplete = g_strdup("CPU:0 [LOST 3 EVENTS]");
		snap->leaves = g_array_new(FALSE, TRUE,
					   sizeof(struct spte_kvm_leaf));
		for (guint i = 0; i < G_N_ELEMENTS(leaves); i++) {
			struct spte_kvm_leaf l = {
				.level = leaves[i].level, .gpa = leaves[i].gpa,
				.size = 4096ULL << (9 * (leaves[i].level - 1)),
				.copies = leaves[i].copies, .since_us = 7,
			};

			if (leaves[i].fmt != snap->format)
				continue;
			spte_kvm_spte_decode(snap->format, leaves[i].raw,
					     &l.spte);
			g_array_append_val(snap->leaves, l);
		}
		back = round_trip(snap, &text);
		g_test_message("%s", text);
		assert_same_leaves(snap, back);
		g_assert_nonnull(strstr(text, f ? "\"EPT\"" : "\"x86 (NPT)\""));
	}
}

/* The leaf of the malformed cases, in which one thing is changed. */
#define GOOD_LEAF(...) "{\"gpa\": 4096, \"level\": 1, \"size\": 4096, " \
	"\"spte\": 1063951975, \"copies\": 1, \"since_us\": 5, " \
	"\"age_clears\": 0, \"age_cleared_us\": 0" __VA_ARGS__ "}"
#define SNAP(leaves) "{\"format\": \"x86 (NPT)\", \"incomplete\": null, " \
	"\"leaves\": [" leaves "]}"

static const struct {
	const char *json;
	const char *error;
} bad_snapshots[] = {
	{ "[]", "kvm: must be an object with 'format', 'incomplete' and "
	  "'leaves', not an array" },
	{ "{\"incomplete\": null, \"leaves\": []}",
	  "kvm: 'format' is missing (expected a string)" },
	{ "{\"format\": \"ARM\", \"incomplete\": null, \"leaves\": []}",
	  "kvm: 'format' is 'ARM' (expected 'x86 (NPT)' or 'EPT')" },
	{ "{\"format\": \"EPT\", \"incomplete\": 3, \"leaves\": []}",
	  "kvm: 'incomplete' must be a string or null, not an integer" },
	{ "{\"format\": \"EPT\", \"incomplete\": null}",
	  "kvm: 'leaves' is missing (expected an array)" },
	{ SNAP("7"), "kvm.leaves[0]: expected a leaf object, not an integer" },
	{ SNAP("{\"gpa\": \"0x1000\"}"),
	  "kvm.leaves[0]: 'gpa' must be an integer, not a string" },
	{ SNAP(GOOD_LEAF() ", {\"gpa\": 8192, \"level\": 1}"),
	  "kvm.leaves[1]: 'size' is missing (expected an integer)" },
	{ SNAP("{\"gpa\": 0, \"level\": 4, \"size\": 4096, \"spte\": 0, "
	       "\"copies\": 1, \"since_us\": 0, \"age_clears\": 0, "
	       "\"age_cleared_us\": 0}"),
	  "kvm.leaves[0]: 'level' is 4 (expected 1 = 4K, 2 = 2M or 3 = 1G)" },
	{ SNAP("{\"gpa\": 0, \"level\": 2, \"size\": 4096, \"spte\": 0, "
	       "\"copies\": 1, \"since_us\": 0, \"age_clears\": 0, "
	       "\"age_cleared_us\": 0}"),
	  "kvm.leaves[0]: 'size' is 4096 (a level 2 leaf maps 2097152)" },
	{ SNAP("{\"gpa\": 4096, \"level\": 2, \"size\": 2097152, \"spte\": 0, "
	       "\"copies\": 1, \"since_us\": 0, \"age_clears\": 0, "
	       "\"age_cleared_us\": 0}"),
	  "kvm.leaves[0]: 'gpa' 0x1000 is not aligned to its size 0x200000" },
	{ SNAP("{\"gpa\": 4096, \"level\": 1, \"size\": 4096, \"spte\": 1440, "
	       "\"copies\": 1, \"since_us\": 0, \"age_clears\": 0, "
	       "\"age_cleared_us\": 0}"),
	  "kvm.leaves[0]: 'spte' 0x5a0 is not a present SPTE (bit 11 clear)" },
	{ SNAP("{\"gpa\": 0, \"level\": 2, \"size\": 2097152, "
	       "\"spte\": 1063951975, \"copies\": 1, \"since_us\": 0, "
	       "\"age_clears\": 0, \"age_cleared_us\": 0}"),
	  "kvm.leaves[0]: 'spte' 0x3f6a9e67 has PS clear: a page table, not a level 2 leaf" },
	{ SNAP("{\"gpa\": 4096, \"level\": 1, \"size\": 4096, "
	       "\"spte\": 1063951975, \"copies\": 0, \"since_us\": 0, "
	       "\"age_clears\": 0, \"age_cleared_us\": 0}"),
	  "kvm.leaves[0]: 'copies' is 0 (a leaf has at least one)" },
	{ SNAP(GOOD_LEAF(", \"pfn\": 5")),
	  "kvm.leaves[0]: 'pfn' is not 'spte' 0x3f6a9e67's PFN 0x3f6a9" },
	{ SNAP(GOOD_LEAF(", \"flags\": \"r-x A\"")),
	  "kvm.leaves[0]: 'flags' is 'r-x A', but 'spte' 0x3f6a9e67 reads "
	  "'rwx A D'" },
	{ SNAP(GOOD_LEAF(", \"writable\": false")),
	  "kvm.leaves[0]: 'writable' is false, but 'spte' 0x3f6a9e67 says "
	  "true" },
	{ SNAP(GOOD_LEAF(", \"dirty\": 1")),
	  "kvm.leaves[0]: 'dirty' must be a boolean, not an integer" },
	{ SNAP(GOOD_LEAF() ", " GOOD_LEAF()),
	  "kvm.leaves[1]: gpa 0x1000 level 1 does not follow leaf 0's "
	  "(gpa 0x1000 level 1): leaves are in GPA order, then level, each "
	  "once" },
};

static void test_snapshot_json_malformed(void)
{
	g_autoptr(JsonNode) good = json_from_string(SNAP(GOOD_LEAF()), NULL);
	g_autoptr(spte_kvm_snapshot) snap =
		spte_kvm_snapshot_from_json(good, NULL);

	g_assert_nonnull(snap);
	g_assert_cmpuint(snap->leaves->len, ==, 1);
	for (guint i = 0; i < G_N_ELEMENTS(bad_snapshots); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) node = json_from_string(bad_snapshots[i].json,
							    &error);

		g_assert_no_error(error);
		g_assert_null(spte_kvm_snapshot_from_json(node, &error));
		g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
		g_assert_cmpstr(error->message, ==, bad_snapshots[i].error);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm-leaves/parse-lines", test_parse_lines);
	g_test_add_func("/kvm-leaves/decode", test_decode);
	g_test_add_func("/kvm-leaves/recordings", test_recordings);
	g_test_add_func("/kvm-leaves/after-pageout", test_leaves_after_pageout);
	g_test_add_func("/kvm-leaves/holes", test_holes);
	g_test_add_func("/kvm-leaves/smm-fast-pf", test_smm_fast_pf);
	g_test_add_func("/kvm-leaves/two-roots", test_two_roots);
	g_test_add_func("/kvm-leaves/detect", test_detect);
	g_test_add_func("/kvm-leaves/snapshot-json", test_snapshot_json);
	g_test_add_func("/kvm-leaves/snapshot-json-constructed",
			test_snapshot_json_constructed);
	g_test_add_func("/kvm-leaves/snapshot-json-malformed",
			test_snapshot_json_malformed);
	return g_test_run();
}
