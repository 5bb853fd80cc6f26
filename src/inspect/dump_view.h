/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_DUMP_VIEW_H
#define SPTE_DUMP_VIEW_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "spte_mirror.h"

/*
 * A mirror dump as people read an EPT walk: GPA range -> HPA, level, flags,
 * memory type.  Runs of leaves with the same level and flags at contiguous
 * GPAs fold into one line, which says whether their host pages are
 * contiguous, all one page (KSM, the zero page) or scattered.
 */
void spte_dump_format_text(const struct spte_mirror_table *t, GString *out);

/* JSON: {"seq", "table_pages": [l1..l4], "leaves": [{gpa, level, entry, hva}]} */
JsonNode *spte_dump_to_json(const struct spte_mirror_table *t);
struct spte_mirror_table *spte_dump_from_json(JsonNode *node, GError **error);

#endif
