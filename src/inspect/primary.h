/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The primary MMU's view of a range of this process's memory: what the CPU
 * page tables map there, read from /proc/self/pagemap, what the kernel knows
 * about each mapped page frame (/proc/kpageflags) and which NUMA node holds
 * it (move_pages(2) in query mode).
 *
 * See Documentation/admin-guide/mm/pagemap.rst for the meaning of the bits.
 * Unprivileged readers (no CAP_SYS_ADMIN) get PFN 0 from pagemap and cannot
 * open kpageflags; the flags that pagemap alone gives are still reported.
 */
#ifndef SPTE_INSPECT_PRIMARY_H
#define SPTE_INSPECT_PRIMARY_H

#include <glib.h>

/* From pagemap. */
#define SPTE_PRIMARY_PRESENT	(1U << 0)	/* bit 63: page in RAM */
#define SPTE_PRIMARY_SWAPPED	(1U << 1)	/* bit 62: swap entry */
#define SPTE_PRIMARY_FILE	(1U << 2)	/* bit 61: file page/shared anon */
#define SPTE_PRIMARY_UFFD_WP	(1U << 3)	/* bit 57: userfaultfd-wp'd */
#define SPTE_PRIMARY_EXCLUSIVE	(1U << 4)	/* bit 56: mapped once only */
#define SPTE_PRIMARY_SOFT_DIRTY	(1U << 5)	/* bit 55 */
/* From kpageflags, only when the PFN could be read and looked up. */
#define SPTE_PRIMARY_THP	(1U << 6)	/* KPF_THP: part of a THP */
#define SPTE_PRIMARY_KSM	(1U << 7)	/* KPF_KSM: merged by ksmd */
#define SPTE_PRIMARY_ZERO	(1U << 8)	/* KPF_ZERO_PAGE (or huge zero) */
#define SPTE_PRIMARY_ANON	(1U << 9)	/* KPF_ANON */
#define SPTE_PRIMARY_HUGE	(1U << 10)	/* KPF_HUGE: hugetlbfs */
#define SPTE_PRIMARY_REFERENCED	(1U << 11)	/* KPF_REFERENCED */
#define SPTE_PRIMARY_IDLE	(1U << 12)	/* KPF_IDLE: page_idle tracking */
/* Set when kpageflags was read for the page, so missing bits mean "no". */
#define SPTE_PRIMARY_KPF_VALID	(1U << 13)
#define SPTE_PRIMARY_NR_FLAGS	14

struct spte_primary_page {
	guint64 pfn;		/* 0 if not present or hidden from us */
	guint32 flags;		/* SPTE_PRIMARY_* */
	int node;		/* NUMA node, -1 if unknown or not present */
};

/*
 * Fill @out[0..@pages) for the pages starting at @hva, which must be page
 * aligned.  Reads pagemap with one pread, kpageflags once per run of
 * contiguous PFNs and the nodes with one move_pages() call.  Only a pagemap
 * failure is an error: no kpageflags leaves the KPF-derived flags clear
 * (and SPTE_PRIMARY_KPF_VALID unset), no NUMA support leaves node at -1.
 * Nothing is faulted in.
 */
gboolean spte_primary_read(const void *hva, guint64 pages,
			   struct spte_primary_page *out, GError **error);

/* Short name of one SPTE_PRIMARY_* bit ("thp", "uffd-wp"), or NULL. */
const char *spte_primary_flag_name(guint32 flag);

/*
 * A page's flags as one compact, space-separated string, present pages
 * first marked "P", then the flag names, then "node<N>" when known:
 * "P anon thp excl node0".  A page that is neither present nor swapped is
 * "-".  Free with g_free().
 */
char *spte_primary_format(const struct spte_primary_page *p);

/*
 * NULL, or one line saying why SPTE_PRIMARY_KSM is only an approximation
 * on this kernel (its kpageflags cannot tell KSM pages apart).
 */
const char *spte_primary_ksm_note(void);

#endif
