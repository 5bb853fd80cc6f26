/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_INSPECT_KVM_DIFF_H
#define SPTE_INSPECT_KVM_DIFF_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "dump_diff.h"
#include "kvm_leaves.h"

/*
 * KVM's own leaves at two dumps compared page by page, as 'spte diff'
 * compares the mirror's (dump_diff.h): leaves faulted in, zapped, moved to
 * other PFNs, merged, collapsed or split, W/A/D changed, runs folded and
 * named the same way.  Around that, what only KVM's side has: its SPTE
 * format, whether each side's model had a hole (then the pages are
 * compared all the same, and the text says they may be wrong), the leaf
 * counts per level as KVM counts them (copies included), and the leaves
 * KVM aged in between.
 */
struct spte_kvm_diff {
	enum spte_kvm_spte_format format[2];	/* before, after */
	char *incomplete[2];			/* NULL: complete */
	guint64 leaves[2][SPTE_KVM_LEVEL_1G + 1];	/* [side][level] */
	/*
	 * Leaves at the same GPA and level on both sides whose age_clears
	 * grew: KVM answered young to clear_young / clear_flush_young and
	 * cleared A.  Only within one run (G_MAXUINT64 otherwise): another
	 * run's counters count something else.
	 */
	guint64 aged;
	struct spte_dump_diff *pages;
};

/* @same_run: both snapshots are of one session (one report). */
struct spte_kvm_diff *spte_kvm_diff_new(const struct spte_kvm_snapshot *before,
					const struct spte_kvm_snapshot *after,
					gboolean same_run);
void spte_kvm_diff_free(struct spte_kvm_diff *d);
typedef struct spte_kvm_diff spte_kvm_diff;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_kvm_diff, spte_kvm_diff_free)

/*
 *   KVM's leaves (x86 (NPT)): 14 4K, 1 2M -> 10 4K, 1 2M
 *   !!! KVM view at before incomplete: REASON: ...
 *   gpa ...  (the runs and summary of spte_dump_diff_format())
 *   aged by KVM in between: 4 leaves (...)
 * @la, @lb name the two sides in the warnings.
 */
void spte_kvm_diff_format(const struct spte_kvm_diff *d, const char *la,
			  const char *lb, GString *out);

/*
 * spte_dump_diff_to_json() of the pages, plus "format": [before, after],
 * "incomplete": [REASON | null, ...], "leaves": [{"4K", "2M", "1G"}, ...]
 * and "aged" (null across runs).
 */
JsonNode *spte_kvm_diff_to_json(const struct spte_kvm_diff *d);

#endif
