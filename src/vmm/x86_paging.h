/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_X86_PAGING_H
#define SPTE_X86_PAGING_H

#include <glib.h>

/*
 * The guest's own (primary, guest-virtual) page tables, built by the VMM in
 * the system slot: guest RAM identity mapped with 2 MiB pages (a 4 KiB page
 * table for a tail that is not a 2 MiB multiple), and the system slot at
 * SPTE_SYS_VA.  @sys is the host view of the system slot.
 */
gboolean spte_x86_build_page_tables(guint8 *sys, guint64 ram_size,
				    GError **error);

/*
 * Walk those tables as the CPU would.  Returns FALSE for a non-present or
 * non-canonical address; *page_size says which level mapped it.
 */
gboolean spte_x86_translate(const guint8 *sys, guint64 va, guint64 *gpa,
			    guint64 *page_size);

/* GDT with a 64-bit code, a data and a TSS descriptor, in the system slot. */
void spte_x86_build_gdt(guint8 *sys);

#define SPTE_SEL_CODE	0x08
#define SPTE_SEL_DATA	0x10
#define SPTE_SEL_TSS	0x18
#define SPTE_TSS_OFFSET	0x800	/* inside the GDT page */

#endif
