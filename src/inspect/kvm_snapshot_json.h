/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_INSPECT_KVM_SNAPSHOT_JSON_H
#define SPTE_INSPECT_KVM_SNAPSHOT_JSON_H

#include <json-glib/json-glib.h>

#include "kvm_leaves.h"

/*
 * KVM's leaves at a named dump as JSON (docs/dump-format.md, "kvm_dumps"),
 * and back:
 *
 *   {"format": "x86 (NPT)" | "EPT", "incomplete": REASON | null,
 *    "leaves": [{gpa, level, size, spte, pfn, flags, readable, writable,
 *                executable, user, accessed, dirty, host_writable,
 *                mmu_writable, copies, since_us, age_clears,
 *                age_cleared_us}]}
 *
 * "spte" is the raw value as the mirror dump's "entry" is, a JSON integer
 * (json-glib's are signed: bit 63, NX, reads back as the same 64 bits).
 * What is decoded from it (pfn, flags and the booleans) is for readers;
 * reading takes it from "spte" and refuses a file whose decoded members
 * say otherwise, as it refuses a leaf that is not present, a level other
 * than 1-3, a size or alignment that is not the level's, or leaves out of
 * GPA order.  Errors name the member and the value.
 */
JsonNode *spte_kvm_snapshot_to_json(const struct spte_kvm_snapshot *snap);
struct spte_kvm_snapshot *spte_kvm_snapshot_from_json(JsonNode *node,
						      GError **error);

#endif
