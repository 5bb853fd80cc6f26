/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_SCENARIO_RUN_H
#define SPTE_SCENARIO_RUN_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "report.h"
#include "scenario_file.h"

/*
 * Exit status of `spte scenario run` when the running kernel lacks what
 * the scenario is about (0 passed, 1 failed, 2 bad usage).
 */
#define SPTE_SCENARIO_NOT_APPLICABLE 3

struct spte_scenario_opts {
	const char *backing;	/* overrides the file's, or NULL */
	gboolean stats;
};

/*
 * Check that this machine can run @sc (module, KSM, NUMA nodes, swap...);
 * the error says what is missing and how the lab VM provides it, or, with
 * SPTE_ERROR_NOT_APPLICABLE, which feature the running kernel lacks.
 */
gboolean spte_scenario_check_requires(const struct spte_scenario *sc,
				      GError **error);

/* Options `spte lab` needs to host @sc, e.g. --numa 2. */
GStrv spte_scenario_lab_args(const struct spte_scenario *sc);

/*
 * Run @sc, printing every step's result, and return the report (see
 * docs/dump-format.md): NULL only if the scenario could not start.  A
 * step that fails part way ends the run as a failed check.
 */
JsonNode *spte_scenario_run(const struct spte_scenario *sc,
			    const struct spte_scenario_opts *o, GError **error);

#endif
