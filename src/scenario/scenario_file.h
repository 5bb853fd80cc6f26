/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_SCENARIO_FILE_H
#define SPTE_SCENARIO_FILE_H

#include <glib.h>

#include "guest_mem.h"

/*
 * A scenario file: a [scenario] group of key = value lines (read with
 * GKeyFile) and a [steps] group holding one step per line in the language
 * of `spte run --exec`.  The built-in scenarios are such files, compiled
 * in; docs/scenarios/README.md describes the format.
 *
 *   [scenario]
 *   summary = identical guest pages merge into one KSM page
 *   memory = 4M
 *   thp = nohugepage
 *   requires = module ksm
 *   sequence = invalidate_range_start:CLEAR change_pte? invalidate_range_end
 *
 *   [steps]
 *   fill 0 32 0x5a
 *   ...
 */
struct spte_scenario {
	char *name;
	char *summary;
	char *origin;		/* "built-in" or the file's path */
	char *sequence;		/* expected notifier calls, or NULL */
	struct spte_mem_opts mem;
	guint numa_nodes;	/* nodes it needs; 0: any */
	GStrv requires;		/* words of src/requires.c */
	GPtrArray *steps;	/* struct spte_step */
};

void spte_scenario_free(struct spte_scenario *sc);
typedef struct spte_scenario spte_scenario;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_scenario, spte_scenario_free)

/*
 * Parse @text; @origin names it in errors ("FILE:LINE: ...") and
 * @default_name is the name when the file gives none.
 */
struct spte_scenario *spte_scenario_parse(const char *text, const char *origin,
					  const char *default_name,
					  GError **error);

/* A built-in scenario by name, or a file (a path, or NAME.scenario). */
struct spte_scenario *spte_scenario_load(const char *name_or_file,
					 GError **error);

/* The text of built-in scenario @name, or NULL. */
GBytes *spte_scenario_builtin_text(const char *name);

/* Names of the built-in scenarios, in the order they are listed. */
GStrv spte_scenario_builtin_names(void);

#endif
