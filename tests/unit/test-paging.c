// SPDX-License-Identifier: GPL-2.0
/* The guest page-table builder, checked by walking what it built. */
#include <spte/guest_abi.h>

#include "spte-test.h"
#include "spte_error.h"
#include "x86_paging.h"

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL

struct layout_case {
	const char *name;
	guint64 ram;
};

static const struct layout_case layouts[] = {
	{ "4k", SZ_4K },
	{ "2m", SZ_2M },
	{ "2m-plus-4k", SZ_2M + SZ_4K },
	{ "64m", 64ULL << 20 },
	{ "1g-6m-12k", (1ULL << 30) + (6ULL << 20) + 3 * SZ_4K },
	{ "64g", SPTE_RAM_MAX },
};

static void expect_map(const guint8 *sys, guint64 va, guint64 gpa,
		       guint64 page_size)
{
	guint64 got, size;

	if (!spte_x86_translate(sys, va, &got, &size))
		g_error("va %#" G_GINT64_MODIFIER "x is not mapped", va);
	g_assert_cmphex(got, ==, gpa);
	g_assert_cmphex(size, ==, page_size);
}

static void expect_unmapped(const guint8 *sys, guint64 va)
{
	guint64 got, size;

	if (spte_x86_translate(sys, va, &got, &size))
		g_error("va %#" G_GINT64_MODIFIER "x maps to %#"
			G_GINT64_MODIFIER "x", va, got);
}

static void test_layout(gconstpointer data)
{
	const struct layout_case *c = data;
	g_autofree guint8 *sys = g_malloc0(SPTE_SYS_SIZE);
	g_autoptr(GError) error = NULL;
	guint64 last = c->ram - 8;
	guint64 full_2m = c->ram & ~(SZ_2M - 1);

	g_assert_true(spte_x86_build_page_tables(sys, c->ram, &error));
	g_assert_no_error(error);

	/* Identity map of RAM: 2 MiB pages, 4 KiB ones only for the tail. */
	expect_map(sys, 0x10, 0x10, c->ram >= SZ_2M ? SZ_2M : SZ_4K);
	expect_map(sys, last, last, last < full_2m ? SZ_2M : SZ_4K);
	expect_unmapped(sys, c->ram);
	expect_unmapped(sys, c->ram + SZ_2M);
	/* The system slot at the top of the address space. */
	expect_map(sys, SPTE_SYS_VA + 0x1234, SPTE_SYS_GPA + 0x1234, SZ_2M);
	expect_map(sys, SPTE_SYS_VA + SPTE_SYS_SIZE - 1,
		   SPTE_SYS_GPA + SPTE_SYS_SIZE - 1, SZ_2M);
	expect_unmapped(sys, SPTE_SYS_VA + SPTE_SYS_SIZE);
	/* Non-canonical addresses never translate. */
	expect_unmapped(sys, 0x0000800000000000ULL);
}

static void test_bad_sizes(void)
{
	static const guint64 sizes[] = { 4097, SPTE_RAM_MAX + SZ_4K, SZ_2M - 1 };

	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autofree guint8 *sys = g_malloc0(SPTE_SYS_SIZE);
		g_autoptr(GError) error = NULL;

		g_assert_false(spte_x86_build_page_tables(sys, sizes[i], &error));
		g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
	}
}

static void test_gdt(void)
{
	g_autofree guint8 *sys = g_malloc0(SPTE_SYS_SIZE);
	const guint64 *gdt = (const guint64 *)(sys + SPTE_SYS_GDT);

	spte_x86_build_gdt(sys);
	g_assert_cmphex(gdt[0], ==, 0);
	/* Code: present, DPL 0, executable, L=1 (64-bit), D=0. */
	g_assert_cmphex((gdt[SPTE_SEL_CODE / 8] >> 40) & 0xff, ==, 0x9b);
	g_assert_cmphex((gdt[SPTE_SEL_CODE / 8] >> 53) & 3, ==, 1);
	/* TSS: type 0xb (busy 64-bit), base split over both quadwords. */
	g_assert_cmphex((gdt[SPTE_SEL_TSS / 8] >> 40) & 0xff, ==, 0x8b);
	g_assert_cmphex(gdt[SPTE_SEL_TSS / 8 + 1], ==,
			(SPTE_SYS_VA + SPTE_TSS_OFFSET) >> 32);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	spte_test_add_cases("/paging/layout", layouts, name, test_layout);
	g_test_add_func("/paging/bad-sizes", test_bad_sizes);
	g_test_add_func("/paging/gdt", test_gdt);
	return g_test_run();
}
