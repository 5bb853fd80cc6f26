/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_EXEC_SCRIPT_H
#define SPTE_EXEC_SCRIPT_H

#include <glib.h>

#include <spte/guest_abi.h>

/*
 * The step language shared by `spte run --exec 'fill 0 256 0xa5; ...'` and
 * the [steps] of a scenario file: one step per line (or per ';').  Agent
 * steps run in the guest; mirror steps act on the spte_mirror table; host
 * steps do to guest RAM what the kernel or a VMM would (madvise, KSM,
 * fork...); expect steps are the checks a scenario passes or fails on.
 */
enum spte_step_where {
	SPTE_STEP_AGENT,
	SPTE_STEP_MIRROR,	/* needs the spte_mirror module */
	SPTE_STEP_HOST,
	SPTE_STEP_EXPECT,
};

enum spte_step_mode {
	SPTE_MODE_NONE,
	SPTE_MODE_READ,
	SPTE_MODE_WRITE,
	SPTE_MODE_SNAPSHOT,
};

struct spte_step {
	const char *verb;		/* canonical name, static */
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
	guint64 count;			/* a number argument: scans, node */
	GStrv words;			/* the rest of the line (expect) */
	gboolean needs_mirror;
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

/* "verb ARGS - what it does" lines for --help. */
char *spte_script_help(void);

/* Describe an agent step's result as one line; FALSE if it failed. */
gboolean spte_step_describe_result(const struct spte_step *step,
				   const struct spte_guest_result *res,
				   GString *out);

#endif
