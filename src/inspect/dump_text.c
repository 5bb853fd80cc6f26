// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "dump_text.h"

/* Bits that must match for two leaves to share a line. */
#define FOLD_BITS (SPTE_EPT_RWX | SPTE_EPT_A | SPTE_EPT_D | SPTE_EPT_PS | \
		   SPTE_EPT_MT_MASK | SPTE_EPT_IPAT)

static gboolean same_run(const struct spte_mirror_leaf *prev,
			 const struct spte_mirror_leaf *l)
{
	return l->level == prev->level &&
	       (l->entry & FOLD_BITS) == (prev->entry & FOLD_BITS) &&
	       l->gpa == prev->gpa + spte_mirror_leaf_size(prev);
}

static int cmp_u64(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

	return (x > y) - (x < y);
}

/* How the host pages of leaves [first, first + n) relate. */
static void describe_hpas(const struct spte_mirror_leaf *l, guint64 n,
			  GString *out)
{
	guint64 pfn0 = spte_ept_pfn(l[0].entry);
	guint64 step = spte_mirror_leaf_size(&l[0]) >> 12;
	gboolean contiguous = TRUE, same = TRUE;
	g_autofree guint64 *pfns = NULL;
	guint64 distinct = 1;

	for (guint64 i = 1; i < n; i++) {
		guint64 pfn = spte_ept_pfn(l[i].entry);

		contiguous &= pfn == pfn0 + i * step;
		same &= pfn == pfn0;
	}
	if (n == 1 || contiguous) {
		g_string_append_printf(out, "hpa 0x%010" G_GINT64_MODIFIER "x-0x%010"
				       G_GINT64_MODIFIER "x", pfn0 << 12,
				       ((pfn0 + n * step) << 12) - 1);
		if (n > 1)
			g_string_append(out, " contiguous");
		return;
	}
	if (same) {
		g_string_append_printf(out, "hpa 0x%010" G_GINT64_MODIFIER "x "
				       "shared by all %" G_GUINT64_FORMAT,
				       pfn0 << 12, n);
		return;
	}
	pfns = g_new(guint64, n);
	for (guint64 i = 0; i < n; i++)
		pfns[i] = spte_ept_pfn(l[i].entry);
	qsort(pfns, n, sizeof(*pfns), cmp_u64);
	for (guint64 i = 1; i < n; i++)
		distinct += pfns[i] != pfns[i - 1];
	g_string_append_printf(out, "hpa scattered: %" G_GUINT64_FORMAT
			       " distinct pages, from 0x%010" G_GINT64_MODIFIER "x",
			       distinct, pfn0 << 12);
}

void spte_dump_format_text(const struct spte_mirror_table *t, GString *out)
{
	guint64 n4k = 0, n2m = 0, table_bytes = 0;

	for (guint64 i = 0; i < t->nr_leaves; i++) {
		if (t->leaves[i].level == 1)
			n4k++;
		else
			n2m++;
	}
	for (guint l = 0; l < SPTE_EPT_LEVELS; l++)
		table_bytes += t->table_pages[l] * 4096;
	g_string_append_printf(out, "spte_mirror table (seq %" G_GUINT64_FORMAT
			       "): %" G_GUINT64_FORMAT " leaves (%" G_GUINT64_FORMAT
			       " x 4K, %" G_GUINT64_FORMAT " x 2M); table pages "
			       "PML4 %" G_GUINT64_FORMAT ", PDPT %" G_GUINT64_FORMAT
			       ", PD %" G_GUINT64_FORMAT ", PT %" G_GUINT64_FORMAT
			       " (%" G_GUINT64_FORMAT " KiB)\n",
			       t->seq, t->nr_leaves, n4k, n2m, t->table_pages[3],
			       t->table_pages[2], t->table_pages[1],
			       t->table_pages[0], table_bytes >> 10);
	if (!t->nr_leaves) {
		g_string_append(out, "  (no present leaves)\n");
		return;
	}
	g_string_append_printf(out, "  %-29s  %-9s  %-6s %-2s %s\n", "gpa range",
			       "level", "flags", "mt", "host pages");
	for (guint64 i = 0; i < t->nr_leaves;) {
		const struct spte_mirror_leaf *first = &t->leaves[i];
		guint64 n = 1;
		char flags[8];
		g_autofree char *level = NULL;

		while (i + n < t->nr_leaves &&
		       same_run(&t->leaves[i + n - 1], &t->leaves[i + n]))
			n++;
		level = g_strdup_printf("%s x%" G_GUINT64_FORMAT,
					first->level == 1 ? "4K" : "2M", n);
		g_string_append_printf(out, "  0x%012" G_GINT64_MODIFIER "x-0x%012"
				       G_GINT64_MODIFIER "x  %-9s  %s %s ",
				       (guint64)first->gpa,
				       (guint64)(first->gpa + n * spte_mirror_leaf_size(first) - 1),
				       level, spte_ept_flags_str(first->entry, flags),
				       spte_ept_memtype_name(spte_ept_memtype(first->entry)));
		describe_hpas(first, n, out);
		g_string_append_c(out, '\n');
		i += n;
	}
}
