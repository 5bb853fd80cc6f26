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
 * detail, the notifier events, KVM's tracepoints when traced, the named
 * dumps, and KVM's own leaves at them with the model's self-checks when
 * they were tracked (else why not).
 */
JsonNode *spte_report_build(const struct spte_scenario *sc,
			    struct spte_session *s, const char *kernel);

/* The report's "passed". */
gboolean spte_report_passed(JsonNode *report);

gboolean spte_report_write_json(JsonNode *report, const char *path,
				GError **error);
/*
 * The report's dumps (before, after...) as grids of guest pages, each
 * with KVM's leaves at it beside it when the report has them.
 */
gboolean spte_report_write_svg(JsonNode *report, const char *path,
			       GError **error);

#endif
