/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_LANGUAGE_H
#define SPTE_LANGUAGE_H

#include <glib.h>

#include "step.h"

/*
 * The step language shared by `spte run --exec 'fill 0 256 0xa5; ...'` and
 * the [steps] of a scenario file: one step per line (or per ';'), a verb
 * and its arguments, optionally behind "since X.Y:" / "before X.Y:".  The
 * verbs are those the step families declare (families.h), each with a
 * usage line that is its grammar (struct spte_verb); reading it and the
 * argument kinds it names are here, once.
 */

/* Parse @script into a GPtrArray of struct spte_step. */
GPtrArray *spte_script_parse(const char *script, GError **error);

/*
 * Parse one step; @index is its position (a line number in a scenario
 * file).  Errors carry no position: the caller says where.
 */
struct spte_step *spte_step_parse(const char *text, guint index,
				  GError **error);

/* Parse "GPA PAGES" into step->gpa and step->pages. */
gboolean spte_step_parse_range(struct spte_step *step, const char *gpa,
			       const char *pages, GError **error);

/* The verb called @name, or NULL. */
const struct spte_verb *spte_verb_find(const char *name);

/* Whether @v is called @name: the first word of its usage line. */
gboolean spte_verb_named(const struct spte_verb *v, const char *name);

/* Where @v's steps run: its own, else its family's. */
enum spte_step_where spte_verb_where(const struct spte_verb *v);

/* @v's usage line is a grammar the parser can read (step.h). */
gboolean spte_verb_usage_check(const struct spte_verb *v, GError **error);

/*
 * Every verb has a name no other verb has, a place it runs and a usage
 * line the parser can read; an error names the first that has not.
 */
gboolean spte_verbs_check(GError **error);

/* "verb ARGS - what it does" lines for --help. */
char *spte_script_help(void);

#endif
