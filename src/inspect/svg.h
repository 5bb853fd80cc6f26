/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_INSPECT_SVG_H
#define SPTE_INSPECT_SVG_H

#include <glib.h>

#include "kvm_leaves.h"
#include "spte_mirror.h"

/* Above this many 4K pages a cell stands for a 2M region. */
#define SPTE_SVG_MAX_PAGE_CELLS		65536

/*
 * Guest memory as grids, one per dump (typically "before" and "after"),
 * side by side under @title: one cell per 4K page, 64 to a row, so each
 * 2M region is 8 rows (outlined); cells coloured by what the mirror maps
 * there: absent, 4K read/write, 4K read-only, 4K whose PFN other GPAs
 * share (KSM, the zero page), part of a 2M leaf; a dot where A is set.
 * GPA labels every 2 MiB and a legend.  @kvm (NULL, or n entries each
 * NULL or not) are KVM's own leaves at the same dumps: each given one is
 * drawn right of its dump as "KVM at LABEL", the same states in the same
 * colours, over the same pages (leaves beyond them are counted in the
 * label, not drawn).  @ram_size 0: up to the highest
 * page mapped.  Guests over SPTE_SVG_MAX_PAGE_CELLS pages get one cell per
 * 2M region in its dominant state, as the legend says.  @labels may be
 * NULL.  Returns an SVG 1.1 document (g_free it).
 */
char *spte_svg_render(const char *title, guint64 ram_size,
		      const struct spte_mirror_table *const *tables,
		      const struct spte_kvm_snapshot *const *kvm,
		      const char *const *labels, guint n, GError **error);

#endif
