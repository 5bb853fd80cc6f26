// SPDX-License-Identifier: GPL-2.0
/*
 * expect: the checks a scenario passes or fails on.
 *
 *   expect mirror GPA PAGES PROP...     every page's mirror leaf
 *   expect primary GPA PAGES PROP...    every page's primary PTE
 *   expect kvm GPA PAGES PROP...        every page's leaf in KVM's own MMU
 *   expect sequence GPA PAGES [EVENT...] notifier calls, in this order
 *   expect count GPA PAGES EVENT >=|<=|== N
 *   expect none GPA PAGES EVENT
 *   expect changed|unchanged GPA PAGES DUMP   PFNs against a named dump
 *   expect damon GPA PAGES hot|cold     what the running kdamond saw
 *
 * A PROP may be negated with '!'.  An EVENT is
 * CALLBACK[:RANGE_EVENT][=RESULT][?], e.g. invalidate_range_start:CLEAR or
 * clear_flush_young=1 (answered "young"); a trailing '?' means "if this
 * kernel has the callback" (change_pte went away in 6.10).  Event checks look at
 * the records shown by the last 'events' step and everything since.
 */
#include "expect.h"
#include "families.h"
#include "language.h"
#include "spte_error.h"

/* In the order the usage message lists them. */
static const struct subject {
	const char *name;
	gboolean on_mirror;	/* needs the module */
	spte_expect_parse_fn parse;
	spte_step_fn run;
} subjects[] = {
	{ "mirror", TRUE, spte_expect_props_parse, spte_expect_mirror },
	{ "primary", FALSE, spte_expect_props_parse, spte_expect_primary },
	{ "kvm", FALSE, spte_expect_kvm_parse, spte_expect_kvm },
	{ "sequence", TRUE, spte_expect_sequence_parse, spte_expect_sequence },
	{ "count", TRUE, spte_expect_count_parse, spte_expect_count },
	{ "none", TRUE, spte_expect_none_parse, spte_expect_count },
	{ "changed", TRUE, spte_expect_dump_parse, spte_expect_changed },
	{ "unchanged", TRUE, spte_expect_dump_parse, spte_expect_unchanged },
	{ "damon", FALSE, spte_expect_damon_parse, spte_expect_damon },
};

/* "expect SUBJECT GPA PAGES ...": step->choice is the subject. */
static gboolean expect_parse(struct spte_step *step, GError **error)
{
	const char *const *w = (const char *const *)step->words;
	guint n = g_strv_length(step->words);
	const struct subject *sub = NULL;
	GStrv rest;

	for (guint i = 0; n && i < G_N_ELEMENTS(subjects); i++) {
		if (g_str_equal(w[0], subjects[i].name)) {
			sub = &subjects[i];
			step->choice = i;
		}
	}
	if (!sub) {
		g_autoptr(GString) names = g_string_new(NULL);

		for (guint i = 0; i < G_N_ELEMENTS(subjects); i++)
			g_string_append_printf(names, "%s%s", i ? "|" : "",
					       subjects[i].name);
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected 'expect %s GPA PAGES ...'", names->str);
		return FALSE;
	}
	if (n < 3) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected 'expect %s GPA PAGES ...'", w[0]);
		return FALSE;
	}
	step->name = g_strdup(w[0]);
	step->needs_mirror = sub->on_mirror;
	if (!spte_step_parse_range(step, w[1], w[2], error) ||
	    !sub->parse(step, w + 3, n - 3, error))
		return FALSE;
	/* keep only what follows GPA PAGES */
	rest = g_strdupv((char **)w + 3);
	g_strfreev(step->words);
	step->words = rest;
	return TRUE;
}

static gboolean step_expect(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error)
{
	if (!spte_session_drain_events(s, error))
		return FALSE;
	return subjects[step->choice].run(s, step, line, error);
}

static const struct spte_verb verbs[] = {
	{ .usage = "expect WHAT ...", .run = step_expect, .parse = expect_parse,
	  .checks_kvm_leaves = TRUE,
	  .help = "check: mirror|primary|kvm GPA PAGES PROPS, sequence|count|none GPA PAGES EVENTS, changed|unchanged GPA PAGES DUMP, damon GPA PAGES hot|cold (see docs)" },
};

const struct spte_step_family spte_expect_steps =
	SPTE_STEP_FAMILY("expect", SPTE_STEP_EXPECT, verbs);
