/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_FAMILIES_H
#define SPTE_FAMILIES_H

#include <glib.h>

#include "session.h"
#include "step.h"

/*
 * The step families, one file each, each declaring its verbs with their
 * grammar, help and function (struct spte_verb): a new verb is a row in
 * its family's table; a new family is a file and a line in language.c.
 * What families share is declared below.
 */
extern const struct spte_step_family spte_agent_steps;	/* agent.c */
extern const struct spte_step_family spte_mirror_steps;	/* mirror.c */
extern const struct spte_step_family spte_view_steps;	/* view.c */
extern const struct spte_step_family spte_host_steps;	/* host.c */
extern const struct spte_step_family spte_migrate_steps;	/* migrate.c */
extern const struct spte_step_family spte_uffd_steps;	/* uffd.c */
extern const struct spte_step_family spte_fork_steps;	/* fork.c */
extern const struct spte_step_family spte_reclaim_steps;	/* reclaim.c */
extern const struct spte_step_family spte_damon_steps;	/* damon.c */
extern const struct spte_step_family spte_lru_gen_steps;	/* lru_gen.c */
extern const struct spte_step_family spte_expect_steps;	/* expect.c */

/*
 * Drain every CPU's per-CPU LRU batches (lru_add_drain_all(), from user
 * space): a folio waiting in one is off the LRU, and MADV_PAGEOUT, DAMON
 * and eviction all pass such a folio over.  (host.c)
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
 * there is none (damon-start makes it).  (damon.c, for 'expect damon')
 */
GArray *spte_damon_regions(struct spte_session *s, GError **error);
/* Whether the running kdamond watches [gpa, gpa + pages * 4K). */
gboolean spte_damon_covers(struct spte_session *s, guint64 gpa,
			   guint64 pages, GError **error);
/* The hva DAMON knows @gpa by (inside what spte_damon_covers() passed). */
guint64 spte_damon_hva(struct spte_session *s, guint64 gpa);
/* Samples an aggregation: the most nr_accesses can be. */
guint spte_damon_max_accesses(void);

/*
 * audit kvm: every KVM leaf against the primary page tables and, with the
 * mirror, against the mirror's leaf for the same page.  (expect_kvm.c)
 */
gboolean spte_audit_kvm(struct spte_session *s, const struct spte_step *step,
			GString *line, GError **error);

/*
 * After the timeline of @n events: what KVM answered to the aging
 * callbacks among them, page by page, from its leaf model (who cleared
 * an accessed bit since the last 'events' said young).  (expect_kvm.c)
 */
void spte_kvm_answers_format(struct spte_session *s,
			     const struct spte_mirror_event *ev, guint n,
			     GString *line);

/*
 * "a(CLEAR) -> b -> c" for a scenario's sequence as a kernel with
 * @callbacks (bit per SPTE_CB_*) will call it.  (expect.c)
 */
char *spte_expect_sequence_describe(const char *sequence, guint64 callbacks);

#endif
