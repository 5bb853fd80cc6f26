/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_SESSION_H
#define SPTE_SESSION_H

#include <sys/types.h>

#include <glib.h>

#include "language.h"
#include "spte_mirror.h"
#include "vcpu.h"
#include "vm.h"

/*
 * A session is one guest under test: the VM and its parked vCPU, guest RAM
 * registered as a slot of the spte_mirror module (when asked for), and
 * what the steps collected on the way: the notifier events, named dumps
 * and the outcome of every check.  `spte run --exec` and `spte scenario
 * run` both drive one through spte_session_run_step().
 */
struct spte_uffd;
struct spte_kvm_trace;
struct spte_event_reader;
struct spte_damon;
struct spte_access_loop;

struct spte_named_dump {
	char *name;
	struct spte_mirror_table *table;
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

	/* state of host steps that outlive one step */
	struct spte_uffd *uffd;
	pid_t fork_child;
	struct spte_kvm_trace *kvm_trace;
	struct spte_damon *damon;		/* our kdamond, damon-start */
	struct spte_access_loop *access_loop;	/* access-start's thread */

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
 * Create the VM with @mem, register its RAM with the mirror when @mirror
 * (before the guest runs, so a missing module is the first thing said),
 * load @guest (NULL: the bundled agent) and run it until the agent is
 * ready.  The session owns the VM and vCPU from then on.
 */
gboolean spte_session_boot(struct spte_session *s,
			   const struct spte_mem_opts *mem, const char *guest,
			   gboolean mirror, struct spte_boot_times *times,
			   GError **error);
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
 * The steps, by family.  Each appends its result to @line (a multi-line
 * result starts with a newline) and returns FALSE only when the step could
 * not be carried out at all; a check that fails is not an error.
 */
typedef gboolean (*spte_step_fn)(struct spte_session *s,
				 const struct spte_step *step, GString *line,
				 GError **error);

/* The function that runs @step (from the verb table). */
spte_step_fn spte_step_runner(const struct spte_step *step);

gboolean spte_step_agent(struct spte_session *s, const struct spte_step *step,
			 GString *line, GError **error);

gboolean spte_step_map(struct spte_session *s, const struct spte_step *step,
		       GString *line, GError **error);
gboolean spte_step_unmap(struct spte_session *s, const struct spte_step *step,
			 GString *line, GError **error);
gboolean spte_step_access(struct spte_session *s, const struct spte_step *step,
			  GString *line, GError **error);
gboolean spte_step_access_start(struct spte_session *s,
				const struct spte_step *step, GString *line,
				GError **error);
gboolean spte_step_access_stop(struct spte_session *s,
			       const struct spte_step *step, GString *line,
			       GError **error);
gboolean spte_step_dump(struct spte_session *s, const struct spte_step *step,
			GString *line, GError **error);
gboolean spte_step_events(struct spte_session *s, const struct spte_step *step,
			  GString *line, GError **error);
gboolean spte_step_audit(struct spte_session *s, const struct spte_step *step,
			 GString *line, GError **error);
gboolean spte_step_view(struct spte_session *s, const struct spte_step *step,
			GString *line, GError **error);

gboolean spte_step_madvise(struct spte_session *s, const struct spte_step *step,
			   GString *line, GError **error);
gboolean spte_step_mprotect(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error);
gboolean spte_step_clear_refs(struct spte_session *s,
			      const struct spte_step *step, GString *line,
			      GError **error);
gboolean spte_step_ksm_scan(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error);
gboolean spte_step_khugepaged_scan(struct spte_session *s,
				   const struct spte_step *step, GString *line,
				   GError **error);
gboolean spte_step_migrate(struct spte_session *s, const struct spte_step *step,
			   GString *line, GError **error);
gboolean spte_step_uffd_wp(struct spte_session *s, const struct spte_step *step,
			   GString *line, GError **error);
gboolean spte_step_uffd_unwp(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error);
gboolean spte_step_fork(struct spte_session *s, const struct spte_step *step,
			GString *line, GError **error);
gboolean spte_step_fork_end(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error);
gboolean spte_step_reclaim(struct spte_session *s, const struct spte_step *step,
			   GString *line, GError **error);
gboolean spte_step_exit(struct spte_session *s, const struct spte_step *step,
			GString *line, GError **error);
gboolean spte_step_damon_start(struct spte_session *s,
			       const struct spte_step *step, GString *line,
			       GError **error);
gboolean spte_step_damon_wait(struct spte_session *s,
			      const struct spte_step *step, GString *line,
			      GError **error);
gboolean spte_step_damon_stop(struct spte_session *s,
			      const struct spte_step *step, GString *line,
			      GError **error);
gboolean spte_step_lru_gen_age(struct spte_session *s,
			       const struct spte_step *step, GString *line,
			       GError **error);
gboolean spte_step_lru_gen_evict(struct spte_session *s,
				 const struct spte_step *step, GString *line,
				 GError **error);

/*
 * Drain every CPU's per-CPU LRU batches (lru_add_drain_all(), from user
 * space): a folio waiting in one is off the LRU, and MADV_PAGEOUT, DAMON
 * and eviction all pass such a folio over.
 */
gboolean spte_drain_lru_batches(GError **error);

/* One region of the running kdamond, as its tried_regions shows it. */
struct spte_damon_region {
	guint64 start, end;	/* hva */
	guint64 nr_accesses;	/* samples it was found accessed, of a window */
	guint64 age;		/* aggregations its count stayed alike */
};

/*
 * The running kdamond's regions at its next aggregation, or an error if
 * there is none (damon-start makes it).
 */
GArray *spte_damon_regions(struct spte_session *s, GError **error);
/* Whether the running kdamond watches [gpa, gpa + pages * 4K). */
gboolean spte_damon_covers(struct spte_session *s, guint64 gpa,
			   guint64 pages, GError **error);
/* The hva DAMON knows @gpa by (inside what spte_damon_covers() passed). */
guint64 spte_damon_hva(struct spte_session *s, guint64 gpa);
/* Samples an aggregation: the most nr_accesses can be. */
guint spte_damon_max_accesses(void);

gboolean spte_step_expect(struct spte_session *s, const struct spte_step *step,
			  GString *line, GError **error);
/*
 * "a(CLEAR) -> b -> c" for a scenario's sequence as a kernel with
 * @callbacks (bit per SPTE_CB_*) will call it.
 */
char *spte_expect_sequence_describe(const char *sequence, guint64 callbacks);
/* Parse-time validation of an expect step's subject and properties. */
gboolean spte_expect_parse(struct spte_step *step, GError **error);

/* Start collecting KVM's tracepoints, if tracefs allows. */
void spte_session_trace_kvm(struct spte_session *s);

/*
 * Teardown of host-step state at close: uffd thread, forked child, the
 * kdamond (off, and kdamonds/nr_kdamonds back to 0), the device loop.
 */
void spte_uffd_free(struct spte_uffd *u);
void spte_fork_reap(struct spte_session *s);
void spte_damon_free(struct spte_damon *d);
void spte_access_loop_free(struct spte_access_loop *l);

#endif
