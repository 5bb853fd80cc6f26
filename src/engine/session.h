/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_SESSION_H
#define SPTE_SESSION_H

#include <glib.h>

#include "spte_mirror.h"
#include "step.h"
#include "vcpu.h"
#include "vm.h"

/*
 * A session is one guest under test: the VM and its parked vCPU, guest RAM
 * registered as a slot of the spte_mirror module (when asked for), and
 * what the steps collected on the way: the notifier events, named dumps
 * and the outcome of every check.  `spte run --exec` and `spte scenario
 * run` both drive one through spte_session_run_step().
 */
struct spte_kvm_trace;
struct spte_kvm_leaf_tracker;
struct spte_kvm_leaves;
struct spte_kvm_snapshot;
struct spte_kvm_stats;
struct spte_event_reader;

struct spte_named_dump {
	char *name;
	struct spte_mirror_table *table;
	/* KVM's leaves when it was taken; NULL: they were not tracked */
	struct spte_kvm_snapshot *kvm;
};

/* Free a struct spte_named_dump: the free function of s->dumps. */
void spte_named_dump_free(gpointer d);

/* Whether a session tracks KVM's own leaves (inspect/kvm_leaf_tracker.h). */
enum spte_kvm_leaves_want {
	SPTE_KVM_LEAVES_OFF,
	/* where tracefs and the kvmmmu events allow; else say why once */
	SPTE_KVM_LEAVES_IF_AVAILABLE,
	/* a step needs them: not being able to is an error at boot */
	SPTE_KVM_LEAVES_REQUIRED,
};

/* The self-checks of the KVM leaf model against KVM's page counts. */
struct spte_kvm_self_checks {
	guint checks;		/* made */
	guint matched;
	guint mismatched;	/* tracking errors: each a failed check */
	guint incomplete;	/* no verdict: the model has a hole */
	/* no verdict: no counts to compare, or they never held still */
	guint unverified;
};

struct spte_check {
	char *name;		/* the step as written */
	guint line;		/* its position in the script or file */
	gboolean passed;
	char *detail;
};

struct spte_session {
	struct spte_vm *vm;
	struct spte_vcpu *vcpu;
	struct spte_mirror *mirror;	/* NULL without the mirror */
	/* keeps the mirror's ring empty; NULL: drains read the fd */
	struct spte_event_reader *reader;
	guint64 callbacks;		/* bit per SPTE_CB_* the kernel has */
	/* the scenario's expected notifier sequence, for 'expect sequence' */
	const char *sequence;

	GArray *events;			/* every record drained, in order */
	guint window;			/* events[window..] are being looked at */
	guint shown;			/* events[shown..] not printed yet */
	GPtrArray *dumps;		/* struct spte_named_dump, by first use */
	GPtrArray *checks;		/* struct spte_check */

	/* KVM's tracepoints, for 'view' and the report; NULL: not traced */
	struct spte_kvm_trace *kvm_trace;
	/*
	 * KVM's own leaves, replayed from its TDP MMU's tracepoints since
	 * before KVM_CREATE_VM; NULL: not tracked, kvm_leaves_why says why
	 * (NULL: not asked for)
	 */
	struct spte_kvm_leaf_tracker *kvm_leaves;
	char *kvm_leaves_why;
	struct spte_kvm_stats *kvm_stats;	/* the VM's, for self-checks */
	struct spte_kvm_self_checks kvm_self;
	gboolean kvm_incomplete_said;
	/* what step families keep between steps: spte_session_keep() */
	GPtrArray *kept;

	gboolean stats;			/* print per-step times */
	gboolean ok;			/* no check has failed */
};

/* Monotonic stamps (ns) of the start-up stages, for --stats. */
struct spte_boot_times {
	gint64 vm_ready;
	gint64 image_loaded;
	gint64 vcpu_ready;
};

/*
 * Start tracking KVM's leaves as @want says, create the VM with @mem,
 * register its RAM with the mirror when @mirror (before the guest runs,
 * so a missing module is the first thing said), load @guest (NULL: the
 * bundled agent) and run it until the agent is ready.  The session owns
 * the VM and vCPU from then on.
 */
gboolean spte_session_boot(struct spte_session *s,
			   const struct spte_mem_opts *mem, const char *guest,
			   gboolean mirror, enum spte_kvm_leaves_want want,
			   struct spte_boot_times *times, GError **error);
void spte_session_close(struct spte_session *s);

/* Run one step and print its result line(s). */
gboolean spte_session_run_step(struct spte_session *s,
			       const struct spte_step *step, GError **error);

/*
 * Record the outcome of a check made by @step and say it on @line:
 * "ok: DETAIL" or "FAILED: DETAIL".
 */
void spte_session_check(struct spte_session *s, const struct spte_step *step,
			gboolean passed, GString *line, const char *fmt, ...)
	G_GNUC_PRINTF(5, 6);

/* Read every pending event record of @m into @into. */
gboolean spte_read_all_events(struct spte_mirror *m, GArray *into,
			      GError **error);
/*
 * Move every record the reader thread has collected, then every one the
 * module still holds, into s->events: after a step, all it caused.
 */
gboolean spte_session_drain_events(struct spte_session *s, GError **error);
/* The event ring, in records, that the session asks for @ram_size bytes. */
guint64 spte_session_log_records(guint64 ram_size);

/* A fresh dump of the mirror; free with spte_mirror_table_free(). */
struct spte_mirror_table *spte_session_dump(struct spte_session *s,
					    GError **error);
/* A dump saved by 'dump NAME', or NULL. */
const struct spte_mirror_table *spte_session_find_dump(struct spte_session *s,
							const char *name);

/* Set *error for a failed spte_mirror_* call (err is -errno). */
gboolean spte_session_mirror_failed(GError **error, int err, const char *what);

/* Host address of [gpa, gpa + pages * 4K) in guest RAM, or an error. */
void *spte_session_hva(struct spte_session *s, guint64 gpa, guint64 pages,
		       GError **error);

/*
 * What a step family keeps from one step to a later one (the uffd thread,
 * a forked child, the kdamond, the device loop) lives under a key of the
 * family's own: the session knows no family.  Whatever is still kept at
 * close is freed then with the key's free(), newest first, before the
 * mirror, the vCPU and the VM go.
 */
struct spte_session_key {
	const char *name;		/* what it is, for messages */
	void (*free)(void *state);
};

/* Keep @state under @key (nothing may be kept under it yet). */
void spte_session_keep(struct spte_session *s,
		       const struct spte_session_key *key, void *state);
/* What is kept under @key, or NULL. */
void *spte_session_kept(struct spte_session *s,
			const struct spte_session_key *key);
/* Take back what is kept under @key, or NULL: the caller frees it. */
void *spte_session_take(struct spte_session *s,
			const struct spte_session_key *key);

/* Start collecting KVM's tracepoints, if tracefs allows. */
void spte_session_trace_kvm(struct spte_session *s);

/*
 * What @steps ask of KVM's leaf tracker: REQUIRED when one needs them
 * (expect kvm, audit kvm), else IF_AVAILABLE when one looks at memory
 * (a verb that checks_kvm_leaves), else OFF.
 */
enum spte_kvm_leaves_want spte_steps_want_kvm_leaves(GPtrArray *steps);

/*
 * The self-check: bring KVM's leaf model up to now and compare its leaf
 * counts with KVM's own statistics.  A mismatch is a failed check of
 * @step ("KVM view: TRACKING ERROR ..."), said on @line; an incomplete
 * model is said on @line the first time.  When @say, the verdict line
 * ("KVM view: 8 4K, 1 2M leaves (matches KVM stats)") is always appended.
 * Returns the model, complete or not, or NULL when KVM's leaves are not
 * tracked.
 */
const struct spte_kvm_leaves *spte_session_kvm_leaves(struct spte_session *s,
							const struct spte_step *step,
							gboolean say,
							GString *line);

/* KVM's leaf model as of its last sync, or NULL when it is not tracked. */
const struct spte_kvm_leaves *spte_session_kvm_model(struct spte_session *s);

/*
 * The model as the self-check before this step left it, complete, for a
 * check that needs it (the step's verb checks_kvm_leaves).  FALSE with @error when
 * KVM's leaves are not tracked; TRUE with *@model NULL when the model is
 * incomplete: that is a failed check of @step already, said on @line.
 */
gboolean spte_session_kvm_leaves_for_check(struct spte_session *s,
					   const struct spte_step *step,
					   GString *line,
					   const struct spte_kvm_leaves **model,
					   GError **error);

#endif
