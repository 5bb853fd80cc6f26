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
#include <json-glib/json-glib.h>

struct spte_kvm_trace;

/* No GPA: the record's range meets no guest memory (that is looked at). */
#define SPTE_KVM_TRACE_NO_GPA	G_MAXUINT64

struct spte_kvm_trace_rec {
	char *event;		/* "kvm_unmap_hva_range", without "kvm:" */
	guint64 hva_start;
	guint64 hva_end;	/* exclusive; start + 4K for one address */
	/*
	 * The guest memory of the range, exclusive end, when the reader
	 * knows it (spte_kvm_trace_set_gpa()); SPTE_KVM_TRACE_NO_GPA else.
	 */
	guint64 gpa_start;
	guint64 gpa_end;
	guint64 ts_us;		/* trace clock, microseconds */
	int pid;		/* task that caused it */
	char *comm;		/* its name as tracefs shows it */
};

/*
 * Find tracefs (tracefs.h: mounted if it is not), enable the events
 * above with an empty buffer.  Fails, saying which, when tracefs cannot
 * be mounted or is not writable (SPTE_ERROR_UNSUPPORTED or
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

/*
 * Give @rec the GPAs of the part of its range inside [@hva, @hva + @len),
 * guest memory that starts at @gpa; none if it does not meet it.
 */
void spte_kvm_trace_set_gpa(struct spte_kvm_trace_rec *rec, guint64 hva,
			    guint64 len, guint64 gpa);

/*
 * Records as JSON: an array of {"event", "comm", "pid", "ts_us",
 * "hva_start", "hva_end", "gpa_start", "gpa_end"} (GPAs null when none),
 * and back (SPTE_ERROR_INVALID naming the index and the member).
 */
JsonNode *spte_kvm_trace_to_json(GPtrArray *recs);
gboolean spte_kvm_trace_from_json(JsonNode *array, GPtrArray **out,
				  GError **error);

/*
 * @recs as rows (inspect/fold.h), repeats folded as the timeline folds
 * them: a record repeated at a constant stride is one "×N gpa A-B step S"
 * line; a block of records repeated is a "×N gpa A-B step S, P records
 * each" line and the first block.  The same step: the same event, task
 * and range size.  A row reads "TIME COMM-PID EVENT hva A-B, here gpa
 * C-D"; with @brief, "COMM EVENT gpa C-D", what spte compare puts in a
 * column (an HVA means nothing on another kernel).
 */
GPtrArray *spte_kvm_trace_rows(GPtrArray *recs, gboolean brief);

/* Disable the events, remove the instance and free @t. */
void spte_kvm_trace_stop(struct spte_kvm_trace *t);
typedef struct spte_kvm_trace spte_kvm_trace;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_kvm_trace, spte_kvm_trace_stop)

#endif
