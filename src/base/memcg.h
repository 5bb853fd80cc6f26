/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_MEMCG_H
#define SPTE_MEMCG_H

#include <glib.h>

/*
 * A memory cgroup of our own, so that `reclaim SIZE` can push guest RAM
 * through the LRU with memory.reclaim, as memory pressure would.  Pages are
 * charged where they were first touched, so the VMM moves in before guest
 * RAM exists.
 */
gboolean spte_memcg_enter(GError **error);

/*
 * This process's cgroup (v2) as the kernel names it ("/spte-lab-42", what
 * cgroup_path() prints), or NULL if it is the root.
 */
char *spte_memcg_path(GError **error);
/* Its directory under /sys/fs/cgroup, or NULL if it is the root. */
char *spte_memcg_dir(GError **error);

#endif
