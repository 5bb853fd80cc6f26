/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_REPORT_H
#define SPTE_REPORT_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "scenario_file.h"
#include "session.h"

/*
 * A scenario run's report (docs/dump-format.md): the scenario, kernel and
 * memory, the callbacks the kernel has, every check with its line and
 * detail, the notifier events, KVM's tracepoints when traced, and the
 * named dumps.
 */
JsonNode *spte_report_build(const struct spte_scenario *sc,
			    struct spte_session *s, const char *kernel);

/* The report's "passed". */
gboolean spte_report_passed(JsonNode *report);

gboolean spte_report_write_json(JsonNode *report, const char *path,
				GError **error);
/* The report's dumps (before, after...) as grids of guest pages. */
gboolean spte_report_write_svg(JsonNode *report, const char *path,
			       GError **error);

#endif
