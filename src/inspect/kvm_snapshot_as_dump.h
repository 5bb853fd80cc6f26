/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_INSPECT_KVM_SNAPSHOT_AS_DUMP_H
#define SPTE_INSPECT_KVM_SNAPSHOT_AS_DUMP_H

#include "kvm_leaves.h"
#include "spte_mirror.h"

/*
 * KVM's leaves at a dump, in the mirror dump's terms, so that the page
 * walk, the diff (dump_diff.h) and the grids (svg.h) read KVM's leaves as
 * they read the mirror's and name the same changes the same way.  Each
 * leaf becomes an EPT-format entry holding what KVM's SPTE says whatever
 * its format: R, W, X, A, D as decoded (spte_kvm_spte_decode()), PS above
 * 4K, the PFN; no memory type, hva 0, seq 0, no table pages (KVM's
 * tables are not traced).  A leaf several roots map is one entry.  Free
 * with spte_mirror_table_free().
 */
struct spte_mirror_table *spte_kvm_snapshot_as_dump(const struct spte_kvm_snapshot *snap);

#endif
