/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_EXPECT_H
#define SPTE_EXPECT_H

#include "session.h"
#include "step.h"

/*
 * The subjects of 'expect' (expect.c has their table): each parses the
 * words after "expect SUBJECT GPA PAGES" (@w, @n of them) and runs as a
 * step.  About pages in expect_pages.c, about events in expect_events.c.
 */
typedef gboolean (*spte_expect_parse_fn)(struct spte_step *step,
					 const char *const *w, guint n,
					 GError **error);

/* mirror|primary GPA PAGES PROP... */
gboolean spte_expect_props_parse(struct spte_step *step,
				 const char *const *w, guint n,
				 GError **error);
gboolean spte_expect_mirror(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error);
gboolean spte_expect_primary(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error);
/* changed|unchanged GPA PAGES DUMP */
gboolean spte_expect_dump_parse(struct spte_step *step,
				const char *const *w, guint n, GError **error);
gboolean spte_expect_changed(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error);
gboolean spte_expect_unchanged(struct spte_session *s,
			       const struct spte_step *step, GString *line,
			       GError **error);
/* kvm GPA PAGES PROP... (expect_kvm.c) */
gboolean spte_expect_kvm_parse(struct spte_step *step, const char *const *w,
			       guint n, GError **error);
gboolean spte_expect_kvm(struct spte_session *s, const struct spte_step *step,
			 GString *line, GError **error);
/* damon GPA PAGES hot|cold */
gboolean spte_expect_damon_parse(struct spte_step *step,
				 const char *const *w, guint n,
				 GError **error);
gboolean spte_expect_damon(struct spte_session *s,
			   const struct spte_step *step, GString *line,
			   GError **error);

/* sequence GPA PAGES [EVENT...] */
gboolean spte_expect_sequence_parse(struct spte_step *step,
				    const char *const *w, guint n,
				    GError **error);
gboolean spte_expect_sequence(struct spte_session *s,
			      const struct spte_step *step, GString *line,
			      GError **error);
/* count GPA PAGES EVENT >=|<=|== N; none GPA PAGES EVENT */
gboolean spte_expect_count_parse(struct spte_step *step,
				 const char *const *w, guint n,
				 GError **error);
gboolean spte_expect_none_parse(struct spte_step *step,
				const char *const *w, guint n, GError **error);
gboolean spte_expect_count(struct spte_session *s,
			   const struct spte_step *step, GString *line,
			   GError **error);

#endif
