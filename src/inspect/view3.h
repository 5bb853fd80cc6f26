/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The three-way view of a range of guest-physical memory: for each page,
 * what the host's primary page tables map (inspect/primary.h), what the
 * spte_mirror shadow table maps, and what KVM's own secondary MMU reports
 * (inspect/kvm_stats.h, inspect/kvm_trace.h).
 *
 * Pages that look alike fold into one row, the way spte_dump_format_text()
 * folds dump leaves: a row is a run of pages with the same primary flags
 * and node, the same mirror level, permission/A/D/memory-type bits and the
 * same agreement between the two PFNs.  Each side's PFNs are then said to
 * be contiguous, one page shared by all (KSM, the zero page) or scattered.
 * A row's mirror column ends with "same PFN as primary" or with "STALE"
 * when the mirror maps a page the primary no longer has there: the very
 * bug an mmu notifier exists to prevent.
 *
 *   gpa range                     | pages | primary: pfn, flags, node   | mirror: ...
 *   0x000000000000-0x0000001fffff |   512 | pfn 0x1c0200-0x1c03ff ...   | 2M x1 ...
 *
 * KVM's secondary MMU cannot be read from userspace, so its column is the
 * model replayed from the TDP MMU's tracepoints (inspect/kvm_leaves.h),
 * folded the same way and said against the primary and the mirror: "same
 * PFN as primary and mirror", "same as mirror", "STALE: ...", "NOT the
 * mirror's PFN", or "absent".  A footer keeps the VM-wide leaf counts
 * (pages_4k, pages_2m, pages_1g) and the notifier tracepoint records
 * whose hva range overlaps the view's.
 */
#ifndef SPTE_INSPECT_VIEW3_H
#define SPTE_INSPECT_VIEW3_H

#include <glib.h>

#include "kvm_trace.h"
#include "spte_mirror.h"
#include "vm.h"

/*
 * Append the view of @pages 4K pages from @gpa (page aligned, inside one
 * memslot of @vm) to @out.  @mirror is a dump of the shadow table, or NULL
 * when there is no spte_mirror module; @kvm KVM's leaves, or NULL with
 * @kvm_why saying why they are not tracked (NULL: not asked for); @trace
 * a running tracepoint session, or NULL.  Problems (a range outside guest memory, no stats) are
 * reported in the text itself, since this is for people to read.  It
 * costs about 64 bytes per page while it runs: meant for ranges of
 * megabytes, not for all of a large guest at once.
 */
struct spte_kvm_leaves;

void spte_view3_format(struct spte_vm *vm,
		       const struct spte_mirror_table *mirror,
		       const struct spte_kvm_leaves *kvm, const char *kvm_why,
		       struct spte_kvm_trace *trace, guint64 gpa,
		       guint64 pages, GString *out);

#endif
