/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_DUMP_JSON_H
#define SPTE_DUMP_JSON_H

#include <json-glib/json-glib.h>

#include "spte_mirror.h"

/*
 * A mirror dump as JSON (docs/dump-format.md), and back:
 * {"seq", "table_pages": [l1..l4], "leaves": [{gpa, level, entry, pfn,
 * flags, hva}]}.  Reading is strict: a missing or mistyped member is an
 * error naming it.
 */
JsonNode *spte_dump_to_json(const struct spte_mirror_table *t);
struct spte_mirror_table *spte_dump_from_json(JsonNode *node, GError **error);

#endif
