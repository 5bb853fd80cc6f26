/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A model of KVM's own secondary MMU, leaf by leaf, replayed from the TDP
 * MMU's tracepoints (arch/x86/kvm/mmu/mmutrace.h):
 *
 *   kvmmmu:kvm_tdp_mmu_spte_changed  "as id A gfn G level L old_spte O
 *                                     new_spte N", fired for every SPTE
 *                                     change the TDP MMU books
 *   kvmmmu:fast_page_fault           "... gva GPA ... old 0xO new N
 *                                     spurious S fixed F": the lockless
 *                                     fix of a leaf's W bit
 *
 * This file is pure: it parses trace text one line at a time and keeps the
 * model; reading tracefs and checking the model against KVM's statistics
 * is inspect/kvm_leaf_tracker.h.  So unit tests replay recorded text.
 *
 * The model knows what was traced, no more (docs/kvm-leaves.md lists what
 * each kernel traces and what it does not, function by function):
 *
 * - present, level, PFN, W, X and the software bits of every leaf are
 *   exact while the model is complete: KVM changes none of them without an
 *   event;
 * - the accessed and dirty bits are "as last traced": the CPU sets them in
 *   the leaf with no event, and the model learns it only from the old_spte
 *   of the leaf's next change;
 * - KVM's answer to clear_young / clear_flush_young (kvm_age_gfn()) is
 *   exact: the TDP MMU clears A through a traced change on 6.1 and 6.12,
 *   and touches nothing, tracing nothing, for an old leaf; its answer to
 *   test_young is not traced at all (test_age_gfn() only reads), so the
 *   model can only say "young" when A was last traced set.
 *
 * Leaves are kept per address space: as_id 0 is normal memory, 1 SMM's.
 * A GFN can have several copies of a leaf at once, one per root: an
 * invalidated root (a memslot change, kvm_mmu_zap_all_fast()) is zapped
 * after the vCPU has built a new one, and KVM's page counts include both;
 * the events carry no root, so the model counts copies.
 *
 * The model is complete until something says it cannot be: a "[LOST N
 * EVENTS]" line, an event that removes or changes a leaf the model never
 * saw, a malformed event line, or the caller's own reason
 * (spte_kvm_leaves_set_incomplete()).  Incompleteness sticks, with the
 * first reason: a view built on a model with a hole in it is not shown as
 * the truth.
 */
#ifndef SPTE_INSPECT_KVM_LEAVES_H
#define SPTE_INSPECT_KVM_LEAVES_H

#include <glib.h>

/* The page-table format of KVM's leaves: which bits mean what. */
enum spte_kvm_spte_format {
	/* x86 page tables: AMD NPT (kvm_amd npt=Y), and shadow paging */
	SPTE_KVM_SPTE_X86,
	/* Intel EPT (kvm_intel ept=Y) */
	SPTE_KVM_SPTE_EPT,
};

/* "x86 (NPT)" or "EPT", for messages */
const char *spte_kvm_spte_format_name(enum spte_kvm_spte_format fmt);

/* Address spaces: x86 KVM has two, normal and SMM (kvm_mmu_page_as_id()). */
#define SPTE_KVM_AS_NORMAL	0
#define SPTE_KVM_AS_SMM		1
#define SPTE_KVM_NR_AS		2

/* Leaf levels, as KVM numbers them: 1 = 4K, 2 = 2M, 3 = 1G. */
#define SPTE_KVM_LEVEL_4K	1
#define SPTE_KVM_LEVEL_1G	3

/* One SPTE decoded; fields that the format lacks are FALSE. */
struct spte_kvm_spte {
	guint64 raw;
	gboolean present;	/* SPTE_MMU_PRESENT_MASK, bit 11 on both */
	gboolean large;		/* PS: a leaf above 4K */
	guint64 pfn;		/* bits 12-51 */
	gboolean readable;	/* x86: P; EPT: R */
	gboolean writable;	/* W */
	gboolean executable;	/* x86: !NX; EPT: X */
	gboolean user;		/* x86: U (NPT leaves are user) */
	gboolean accessed;	/* A as in this value */
	gboolean dirty;		/* D as in this value */
	gboolean host_writable;	/* the primary allows writing (software bit) */
	gboolean mmu_writable;	/* KVM may make it writable (software bit) */
	gboolean ad_disabled;	/* EPT without A/D: access tracked by RWX */
	/* not present: 6.1's REMOVED_SPTE, 6.12's FROZEN_SPTE */
	gboolean frozen;
	gboolean mmio;		/* not present, KVM's MMIO marker */
};

void spte_kvm_spte_decode(enum spte_kvm_spte_format fmt, guint64 raw,
			  struct spte_kvm_spte *out);
/* "rwx-ad" style flags of a present SPTE: "rw- u a d", for people */
char *spte_kvm_spte_flags(const struct spte_kvm_spte *s);

/* One event parsed from a trace line. */
enum spte_kvm_line_kind {
	SPTE_KVM_LINE_OTHER,		/* comment, another event: skipped */
	SPTE_KVM_LINE_SPTE_CHANGED,	/* kvm_tdp_mmu_spte_changed */
	SPTE_KVM_LINE_FAST_PF,		/* fast_page_fault */
	SPTE_KVM_LINE_LOST,		/* "CPU:N [LOST M EVENTS]" */
	SPTE_KVM_LINE_MARKER,		/* tracing_mark_write: TEXT */
	SPTE_KVM_LINE_MALFORMED,	/* one of ours that does not parse */
};

struct spte_kvm_line {
	enum spte_kvm_line_kind kind;
	guint64 ts_us;		/* trace clock; 0 for LOST */
	guint as_id;
	guint level;
	guint64 gfn;		/* FAST_PF: the faulting GPA >> 12 */
	guint64 old_spte, new_spte;
	gboolean fixed;		/* FAST_PF: the lockless cmpxchg happened */
	guint64 lost;		/* LOST: events the ring overwrote */
	guint cpu;		/* LOST: whose */
	char marker[64];	/* MARKER: its text, cut */
};

/*
 * Parse one line of a tracefs trace or trace_pipe file (default
 * trace_options, with or without the irq-info columns and TGID).  A pure
 * function.
 */
enum spte_kvm_line_kind spte_kvm_leaves_parse_line(const char *line,
						   struct spte_kvm_line *out);

/* One leaf of the model. */
struct spte_kvm_leaf {
	guint as_id;
	guint level;			/* SPTE_KVM_LEVEL_* */
	guint64 gpa;			/* first byte, aligned to its size */
	guint64 size;			/* 4K, 2M or 1G */
	struct spte_kvm_spte spte;	/* the value as last traced */
	guint copies;			/* > 1: more than one root maps it */
	guint64 since_us;		/* when it was installed */
	/*
	 * Aging: how often KVM cleared its A bit (said "young" to
	 * clear_young or clear_flush_young), and when last; 0 if never.
	 */
	guint age_clears;
	guint64 age_cleared_us;
};

struct spte_kvm_leaves;

struct spte_kvm_leaves *spte_kvm_leaves_new(enum spte_kvm_spte_format fmt);
void spte_kvm_leaves_free(struct spte_kvm_leaves *m);
typedef struct spte_kvm_leaves spte_kvm_leaves;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_kvm_leaves, spte_kvm_leaves_free)

enum spte_kvm_spte_format spte_kvm_leaves_spte_format(const struct spte_kvm_leaves *m);

/*
 * Apply one parsed line; parse and apply one line of text, returning what
 * it was.  MALFORMED and LOST lines make the model incomplete.
 */
void spte_kvm_leaves_apply(struct spte_kvm_leaves *m,
			   const struct spte_kvm_line *l);
enum spte_kvm_line_kind spte_kvm_leaves_feed(struct spte_kvm_leaves *m,
					     const char *line);
/* Every line of @text (NUL-terminated, '\n'-separated). */
void spte_kvm_leaves_feed_text(struct spte_kvm_leaves *m, const char *text);

/* The leaf mapping @gpa in @as_id, or NULL: absent. Valid until next apply. */
const struct spte_kvm_leaf *spte_kvm_leaves_lookup(const struct spte_kvm_leaves *m,
						  guint as_id, guint64 gpa);

/*
 * The leaves of @as_id meeting [@gpa, @gpa + @len), in GPA order (len 0:
 * all), as a GArray of struct spte_kvm_leaf copies.
 */
GArray *spte_kvm_leaves_range(const struct spte_kvm_leaves *m, guint as_id,
			      guint64 gpa, guint64 len);

/*
 * Leaves of @level (SPTE_KVM_LEVEL_4K..1G) in @as_id, copies counted, as
 * KVM counts them in pages_4k/pages_2m/pages_1g; G_MAXUINT: both address
 * spaces (KVM's statistics are per VM, not per address space).
 */
guint64 spte_kvm_leaves_count(const struct spte_kvm_leaves *m, guint as_id,
			      guint level);

/* FALSE once something was missed; *@reason (owned by @m) says what. */
gboolean spte_kvm_leaves_complete(const struct spte_kvm_leaves *m,
				  const char **reason);
/* Say the model is incomplete; the first reason stays. */
void spte_kvm_leaves_set_incomplete(struct spte_kvm_leaves *m,
				    const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* What KVM would answer for @gpa, as far as the trace tells. */
enum spte_kvm_young {
	SPTE_KVM_YOUNG_ABSENT,	/* no leaf: KVM answers old */
	SPTE_KVM_YOUNG_YES,	/* A last traced set: young */
	/*
	 * A last traced clear: old, unless the guest touched it since, which
	 * the CPU records with no event
	 */
	SPTE_KVM_YOUNG_UNKNOWN,
};
enum spte_kvm_young spte_kvm_leaves_young(const struct spte_kvm_leaves *m,
					  guint as_id, guint64 gpa);

/* Totals since creation, for the record and for tests. */
struct spte_kvm_leaves_stats {
	guint64 events;			/* kvm_tdp_mmu_spte_changed lines */
	guint64 installed, removed;	/* leaves */
	guint64 changed;		/* a leaf changed in place */
	guint64 age_clears;		/* A cleared by aging */
	guint64 hw_ad;			/* A/D the CPU set, seen late */
	guint64 tables_removed;		/* page tables unlinked */
	guint64 removed_children;	/* events of an unlinked table's */
	guint64 fast_pf_fixed;		/* fast page faults that fixed */
	guint64 last_us;		/* newest event */
};
void spte_kvm_leaves_get_stats(const struct spte_kvm_leaves *m,
			       struct spte_kvm_leaves_stats *out);

/*
 * The model's normal-memory leaves at one moment, kept with a named dump
 * for the report (docs/dump-format.md, "kvm" of a dump) and for
 * 'spte diff --kvm'.
 */
struct spte_kvm_snapshot {
	enum spte_kvm_spte_format format;
	char *incomplete;	/* why the model had a hole; NULL: complete */
	GArray *leaves;		/* struct spte_kvm_leaf of as_id 0, GPA order */
};

struct spte_kvm_snapshot *spte_kvm_leaves_snapshot(const struct spte_kvm_leaves *m);
void spte_kvm_snapshot_free(struct spte_kvm_snapshot *snap);
typedef struct spte_kvm_snapshot spte_kvm_snapshot;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_kvm_snapshot, spte_kvm_snapshot_free)

/*
 * The leaves of @as_id in [@gpa, @gpa + @len) (len 0: all) folded
 * (inspect/fold.h): a run of leaves of one size, flags and copy count is
 * one "×N gpa A-B step S" line with its PFNs said to be contiguous, one
 * page for all, or scattered.  Appended to @out, each line after @indent.
 */
void spte_kvm_leaves_format(const struct spte_kvm_leaves *m, guint as_id,
			    guint64 gpa, guint64 len, const char *indent,
			    GString *out);

#endif
