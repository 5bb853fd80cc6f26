/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_STEP_H
#define SPTE_STEP_H

#include <glib.h>

/*
 * One step of the step language (`spte run --exec 'fill 0 256 0xa5; ...'`,
 * the [steps] of a scenario file), parsed, and the verb it is an instance
 * of.  Agent steps run in the guest; mirror steps act on the spte_mirror
 * table; host steps do to guest RAM what the kernel or a VMM would
 * (madvise, KSM, fork...); expect steps are the checks a scenario passes
 * or fails on.  Each step family (src/steps/) declares its verbs as a
 * table of struct spte_verb; the parser (src/steps/language.c) fills a
 * struct spte_step from a line and the session runs it with verb->run.
 */
struct spte_session;
struct spte_step;

enum spte_step_where {
	SPTE_STEP_FAMILY_WHERE,	/* a verb's: where its family's steps run */
	SPTE_STEP_AGENT,
	SPTE_STEP_MIRROR,	/* needs the spte_mirror module */
	SPTE_STEP_HOST,
	SPTE_STEP_EXPECT,
	SPTE_STEP_WHERE_COUNT
};

enum spte_step_mode {
	SPTE_MODE_NONE,
	SPTE_MODE_READ,
	SPTE_MODE_WRITE,
	SPTE_MODE_SNAPSHOT,
	SPTE_MODE_COUNT
};

/* A word an argument of alternatives may be, and what it stands for. */
struct spte_step_word {
	const char *name;
	int value;
};

/*
 * Run @step.  Append the result to @line (a multi-line result starts with
 * a newline) and return FALSE only when the step could not be carried out
 * at all; a check that fails is not an error.
 */
typedef gboolean (*spte_step_fn)(struct spte_session *s,
				 const struct spte_step *step, GString *line,
				 GError **error);

/*
 * A verb.  Its usage line is its grammar as well as its --help: the first
 * word is the verb's name, and each word after it names an argument the
 * parser (src/steps/language.c) takes and checks, in [] if it may be left
 * out (the last ones only):
 *   GPA               4 KiB aligned: step->gpa
 *   PAGES             at least 1: step->pages
 *   PATTERN           a byte widens to 64 bits: step->pattern
 *   SIZE              64M, 1G...: step->count in bytes
 *   NAME|FILE.json    a dump's name (step->name) or file (step->file)
 *   read|write|...    one of these modes: step->mode
 *   ADVICE, a|b|...   with .words: one of them, step->name and ->choice
 *   SCANS (any other capitals)  a number: step->count
 * A verb with .parse has a grammar of its own and a usage that only says it.
 */
struct spte_verb {
	const char *usage;		/* "fill GPA PAGES PATTERN" */
	spte_step_fn run;
	const char *help;
	enum spte_step_where where;	/* where it differs from the family */
	guint32 op;			/* enum spte_guest_op of agent verbs */
	/* an agent op per mode, where the mode picks it (touch) */
	guint32 op_by_mode[SPTE_MODE_COUNT];
	/* what ADVICE or a|b|... allows, ending with { NULL } */
	const struct spte_step_word *words;
	/* a grammar of its own: parse step->words, the words after the verb */
	gboolean (*parse)(struct spte_step *step, GError **error);
	/* shows KVM's tracepoints: a scenario with it traces from the start */
	gboolean traces_kvm;
	/*
	 * looks at guest memory: with KVM's leaves tracked, the session
	 * self-checks the model against KVM's counts after the step
	 */
	gboolean checks_kvm_leaves;
};

/* A family's verbs: one file of src/steps/, one table. */
struct spte_step_family {
	const char *name;
	enum spte_step_where where;	/* of its verbs, unless one says */
	const struct spte_verb *verbs;
	guint n_verbs;
};

#define SPTE_STEP_FAMILY(family_name, family_where, table)		\
	{ .name = (family_name), .where = (family_where),		\
	  .verbs = (table), .n_verbs = G_N_ELEMENTS(table) }

struct spte_step {
	const struct spte_verb *verb;
	enum spte_step_where where;
	guint index;			/* 1-based position in the script */
	char *text;			/* the step as written, trimmed */
	guint32 op;			/* enum spte_guest_op for agent steps */
	guint64 gpa;
	guint64 pages;
	guint64 pattern;		/* byte patterns widened to 64 bits */
	enum spte_step_mode mode;
	char *file;			/* optional output file (dump) */
	char *name;			/* a word argument: advice, dump name */
	int choice;			/* the value of an SPTE_ARG_WORD */
	guint64 count;			/* a number argument: scans, node */
	GStrv words;			/* the rest of the line (expect) */
	gboolean needs_mirror;
	gboolean needs_kvm_leaves;	/* reads KVM's leaves: expect kvm */
	/*
	 * "since 6.9: STEP" / "before 6.9: STEP": the step runs only on
	 * kernels >= since and < before, as SPTE_KMAJMIN(major, minor);
	 * 0 is no bound.  For expectations the kernel really changed.
	 */
	guint32 since, before;
};

#define SPTE_KMAJMIN(major, minor)	((guint32)(major) << 16 | (minor))

/* The running kernel's SPTE_KMAJMIN, from uname(2). */
guint32 spte_kernel_majmin(void);

/*
 * Whether @step runs on kernel @majmin; if not, @why gets the reason
 * ("kernel 6.1 is before 6.9").
 */
gboolean spte_step_runs_on(const struct spte_step *step, guint32 majmin,
			   GString *why);

void spte_step_free(struct spte_step *step);
typedef struct spte_step spte_step;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_step, spte_step_free)

#endif
