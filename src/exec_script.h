/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_EXEC_SCRIPT_H
#define SPTE_EXEC_SCRIPT_H

#include <glib.h>

#include <spte/guest_abi.h>

/*
 * `spte run --exec 'fill 0x200000 256 0xa5; verify 0x200000 256 0xa5'`:
 * a script of steps separated by ';' or newlines.  Agent steps run in the
 * guest; host steps (the mirror's) run in the VMM between them.
 */
enum spte_step_where {
	SPTE_STEP_AGENT,
	SPTE_STEP_HOST,
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
};

void spte_step_free(struct spte_step *step);
typedef struct spte_step spte_step;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_step, spte_step_free)

/* Parse @script into a GPtrArray of struct spte_step. */
GPtrArray *spte_script_parse(const char *script, GError **error);

/* "verb ARGS - what it does" lines for --help. */
char *spte_script_help(void);

/* Describe an agent step's result as one line; FALSE if it failed. */
gboolean spte_step_describe_result(const struct spte_step *step,
				   const struct spte_guest_result *res,
				   GString *out);

#endif
