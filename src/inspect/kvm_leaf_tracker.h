/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live KVM leaf tracker: a private tracefs instance
 * (instances/spte-kvm-leaves-PID) with kvmmmu:kvm_tdp_mmu_spte_changed and
 * kvmmmu:fast_page_fault enabled, drained by a thread through trace_pipe
 * and replayed into the model of inspect/kvm_leaves.h.
 *
 * Start it before KVM_CREATE_VM: the model starts empty, as the VM does,
 * and every leaf it will ever have is installed by a traced event.  The
 * ring is sized from guest RAM and drained every 100 ms at most, so it
 * never has to hold more than a burst; should it still overwrite, the
 * model says so.
 *
 * spte_kvm_leaf_tracker_sync() brings the model up to now: it writes a
 * marker into the instance and replays everything up to it (trace_pipe
 * merges the CPUs' buffers by time, so whatever KVM did before the marker
 * comes first).  After it, the model is incomplete ("KVM view
 * incomplete: ...") when:
 *  - a CPU's ring overwrote or dropped events (per_cpu/cpuN/stats
 *    "overrun", "dropped events", or a "[LOST N EVENTS]" line);
 *  - the marker did not come back within 5 s (a missed window);
 *  - another VM runs on the host (debugfs kvm/PID-FD of another pid):
 *    the events carry no VM, so its leaves would mix with ours;
 *  - the model met a change it cannot account for (inspect/kvm_leaves.h).
 *
 * The self-check, spte_kvm_leaf_tracker_check(), compares the model's
 * leaf counts with KVM's own pages_4k/pages_2m/pages_1g (KVM books them in
 * the same __handle_changed_spte() that fires the event): a difference is
 * a tracking error, reported as such, never smoothed over.
 */
#ifndef SPTE_INSPECT_KVM_LEAF_TRACKER_H
#define SPTE_INSPECT_KVM_LEAF_TRACKER_H

#include <glib.h>

#include "kvm_leaves.h"
#include "kvm_stats.h"

struct spte_kvm_leaf_tracker;

/*
 * Which format KVM's leaves have, from the vendor module loaded and its
 * nested-paging parameter under @sys_module (normally "/sys/module"):
 * kvm_amd with npt=Y is the x86 format, kvm_intel with ept=Y is EPT.  The
 * SPTE values cannot tell by themselves: a present leaf of either sets
 * bits 0-2 and 11.  SPTE_ERROR_UNSUPPORTED, saying why, when KVM does not
 * run the TDP MMU (no vendor module, nested paging off, kvm tdp_mmu=N):
 * its shadow MMU fires none of these events.
 */
gboolean spte_kvm_leaf_tracker_detect(const char *sys_module,
				      enum spte_kvm_spte_format *fmt,
				      GError **error);

/*
 * Create the instance, size its ring for @ram_bytes of guest memory,
 * enable the events and start draining.  SPTE_ERROR_UNSUPPORTED when
 * tracefs, instances or the kvmmmu events are missing, or KVM runs no TDP
 * MMU; SPTE_ERROR_FAILED when a tracefs write fails.
 */
gboolean spte_kvm_leaf_tracker_start(struct spte_kvm_leaf_tracker **out,
				     guint64 ram_bytes, GError **error);

/* Replay every event up to now (see above); incompleteness is not an error. */
void spte_kvm_leaf_tracker_sync(struct spte_kvm_leaf_tracker *t);

/* The model, as of the last sync. */
const struct spte_kvm_leaves *spte_kvm_leaf_tracker_model(struct spte_kvm_leaf_tracker *t);

/*
 * A time of the model (since_us, age_cleared_us: the trace clock) as
 * CLOCK_MONOTONIC microseconds, the clock of the mirror's event records,
 * to within a sync marker's write latency.  FALSE until a sync measured
 * the offset.
 */
gboolean spte_kvm_leaf_tracker_to_mono(struct spte_kvm_leaf_tracker *t,
				       guint64 trace_us, gint64 *mono_us);

/* Outcome of a self-check. */
enum spte_kvm_check {
	SPTE_KVM_CHECK_MATCH,		/* every count equals KVM's */
	SPTE_KVM_CHECK_MISMATCH,	/* a tracking error */
	SPTE_KVM_CHECK_INCOMPLETE,	/* the model has a hole: no verdict */
	SPTE_KVM_CHECK_NO_STATS,	/* KVM exports no page counts */
	/* KVM's counts changed on every look: no verdict this time */
	SPTE_KVM_CHECK_UNSTABLE,
};

/*
 * Sync, then compare the counts with @stats, the VM's statistics.
 * Appends one line to @out: "KVM view: 8 4K, 1 2M leaves (matches KVM
 * stats)", "KVM view: TRACKING ERROR: ...", "KVM view incomplete: ...".
 */
enum spte_kvm_check spte_kvm_leaf_tracker_check(struct spte_kvm_leaf_tracker *t,
						struct spte_kvm_stats *stats,
						GString *out);

/* Disable the events, stop the thread, remove the instance, free @t. */
void spte_kvm_leaf_tracker_stop(struct spte_kvm_leaf_tracker *t);
typedef struct spte_kvm_leaf_tracker spte_kvm_leaf_tracker;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_kvm_leaf_tracker, spte_kvm_leaf_tracker_stop)

#endif
