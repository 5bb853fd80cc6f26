// SPDX-License-Identifier: GPL-2.0
/* KVM's leaves as a mirror dump; see kvm_snapshot_as_dump.h. */
#include <stdlib.h>

#include "kvm_snapshot_as_dump.h"

static guint64 as_ept_entry(const struct spte_kvm_leaf *l)
{
	const struct spte_kvm_spte *s = &l->spte;

	return s->pfn << SPTE_EPT_PFN_SHIFT |
	       (s->readable ? SPTE_EPT_R : 0) |
	       (s->writable ? SPTE_EPT_W : 0) |
	       (s->executable ? SPTE_EPT_X : 0) |
	       (s->accessed ? SPTE_EPT_A : 0) |
	       (s->dirty ? SPTE_EPT_D : 0) |
	       (l->level > SPTE_KVM_LEVEL_4K ? SPTE_EPT_PS : 0);
}

struct spte_mirror_table *spte_kvm_snapshot_as_dump(const struct spte_kvm_snapshot *snap)
{
	guint n = snap->leaves->len;
	/* the mirror's allocator, so spte_mirror_table_free() frees it */
	struct spte_mirror_table *t = calloc(1, sizeof(*t) +
					     (gsize)n * sizeof(t->leaves[0]));

	/* out of memory aborts, as g_new() would */
	g_assert(t);
	t->nr_leaves = n;
	for (guint i = 0; i < n; i++) {
		const struct spte_kvm_leaf *l = &g_array_index(snap->leaves,
							       struct spte_kvm_leaf,
							       i);

		t->leaves[i] = (struct spte_mirror_leaf){
			.gpa = l->gpa, .level = l->level,
			.entry = as_ept_entry(l),
		};
	}
	return t;
}
