/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_GUEST_MEM_H
#define SPTE_GUEST_MEM_H

#include <glib.h>

enum spte_backing {
	SPTE_BACKING_ANON,	/* private anonymous: THP and KSM apply */
	SPTE_BACKING_MEMFD,	/* shared shmem memfd */
	SPTE_BACKING_HUGETLB,	/* memfd on hugetlbfs, 2 MiB pages */
};

enum spte_thp_advice {
	SPTE_THP_DEFAULT,	/* leave it to /sys/kernel/mm/transparent_hugepage */
	SPTE_THP_HUGEPAGE,	/* MADV_HUGEPAGE */
	SPTE_THP_NOHUGEPAGE,	/* MADV_NOHUGEPAGE */
};

struct spte_mem_opts {
	guint64 size;
	enum spte_backing backing;
	enum spte_thp_advice thp;
	gboolean ksm;		/* MADV_MERGEABLE */
};

/* A host mapping that backs one range of guest physical memory. */
struct spte_region {
	guint64 gpa;
	guint64 size;
	void *hva;		/* 2 MiB aligned so THP can back it */
	int fd;			/* memfd, or -1 for anonymous memory */
	enum spte_backing backing;
};

gboolean spte_backing_from_string(const char *name, enum spte_backing *out,
				  GError **error);
const char *spte_backing_name(enum spte_backing backing);

gboolean spte_region_map(struct spte_region *region, guint64 gpa,
			 const struct spte_mem_opts *opts, GError **error);
void spte_region_unmap(struct spte_region *region);

#endif
