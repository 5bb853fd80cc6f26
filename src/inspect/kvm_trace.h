/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM's mmu-notifier tracepoints, read from tracefs: the calls the primary
 * MMU makes into KVM's secondary MMU (virt/kvm/kvm_main.c).
 *
 *   kvm:kvm_unmap_hva_range  invalidate_range_start: zap [start, end)
 *   kvm:kvm_age_hva          clear_flush_young / clear_young on a range
 *   kvm:kvm_test_age_hva     test_young on one address
 *   kvm:kvm_set_spte_hva     change_pte on one address (kernels < 6.9)
 *
 * A session runs in its own tracefs instance (instances/spte-lab-<pid>)
 * when the kernel allows it, so it neither clears nor floods anyone else's
 * buffer; otherwise it uses the top-level buffer, clears it at start and
 * puts every enable switch back as it found it when stopped.
 *
 * The events fire in the context of whoever changed the primary page
 * tables (ksmd, khugepaged, kswapd, a task calling mprotect or
 * madvise...), so records carry that task's pid, not the VMM's.
 */
#ifndef SPTE_INSPECT_KVM_TRACE_H
#define SPTE_INSPECT_KVM_TRACE_H

#include <glib.h>

struct spte_kvm_trace;

struct spte_kvm_trace_rec {
	char *event;		/* "kvm_unmap_hva_range", without "kvm:" */
	guint64 hva_start;
	guint64 hva_end;	/* exclusive; start + 4K for one address */
	guint64 ts_us;		/* trace clock, microseconds */
	int pid;		/* task that caused it */
	char *comm;		/* its name as tracefs shows it */
};

/*
 * Find tracefs (/sys/kernel/tracing, then /sys/kernel/debug/tracing),
 * enable the events above with an empty buffer.  Fails, saying which, when
 * tracefs is not mounted or not writable (SPTE_ERROR_UNSUPPORTED or
 * SPTE_ERROR_FAILED) or lacks the kvm events (SPTE_ERROR_UNSUPPORTED:
 * kvm.ko not loaded).  kvm_set_spte_hva is optional.
 */
gboolean spte_kvm_trace_start(struct spte_kvm_trace **out, GError **error);

/* The tracefs directory in use (the instance's, if there is one). */
const char *spte_kvm_trace_dir(const struct spte_kvm_trace *t);

/*
 * Every record since start, oldest first, as spte_kvm_trace_rec (the array
 * owns them).  Reading does not consume, so a later call returns a
 * superset.  A read failure gives an empty array.
 */
GPtrArray *spte_kvm_trace_collect(struct spte_kvm_trace *t);

/*
 * Parse one line of a tracefs "trace" file into @rec (fields allocated,
 * release with spte_kvm_trace_rec_clear()).  FALSE for comment lines,
 * other events and anything malformed.
 */
gboolean spte_kvm_trace_parse_line(const char *line,
				   struct spte_kvm_trace_rec *rec);
void spte_kvm_trace_rec_clear(struct spte_kvm_trace_rec *rec);
void spte_kvm_trace_rec_free(struct spte_kvm_trace_rec *rec);

/* Disable the events, remove the instance and free @t. */
void spte_kvm_trace_stop(struct spte_kvm_trace *t);
typedef struct spte_kvm_trace spte_kvm_trace;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_kvm_trace, spte_kvm_trace_stop)

#endif
