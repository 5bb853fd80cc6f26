// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "dump_json.h"
#include "json_member.h"
#include "spte_error.h"

JsonNode *spte_dump_to_json(const struct spte_mirror_table *t)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	spte_json_add_int(b, "seq", t->seq);
	json_builder_set_member_name(b, "table_pages");
	json_builder_begin_array(b);
	for (guint l = 0; l < SPTE_EPT_LEVELS; l++)
		json_builder_add_int_value(b, t->table_pages[l]);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "leaves");
	json_builder_begin_array(b);
	for (guint64 i = 0; i < t->nr_leaves; i++) {
		const struct spte_mirror_leaf *l = &t->leaves[i];
		char flags[8];

		json_builder_begin_object(b);
		spte_json_add_int(b, "gpa", l->gpa);
		spte_json_add_int(b, "level", l->level);
		spte_json_add_int(b, "entry", l->entry);
		spte_json_add_int(b, "pfn", spte_ept_pfn(l->entry));
		spte_json_add_string(b, "flags",
				     spte_ept_flags_str(l->entry, flags));
		spte_json_add_int(b, "hva", l->hva);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static gboolean get_u64(JsonObject *o, const char *name, guint64 *out,
			GError **error)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !spte_json_is_int(n)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "dump: member '%s' is missing or not an integer", name);
		return FALSE;
	}
	*out = (guint64)json_node_get_int(n);
	return TRUE;
}

struct spte_mirror_table *spte_dump_from_json(JsonNode *node, GError **error)
{
	struct spte_mirror_table *t;
	JsonObject *o;
	JsonArray *leaves, *pages;
	guint64 seq;
	guint n;

	if (!JSON_NODE_HOLDS_OBJECT(node))
		goto bad;
	o = json_node_get_object(node);
	if (!json_object_has_member(o, "leaves") ||
	    !JSON_NODE_HOLDS_ARRAY(json_object_get_member(o, "leaves")) ||
	    !json_object_has_member(o, "table_pages") ||
	    !JSON_NODE_HOLDS_ARRAY(json_object_get_member(o, "table_pages")))
		goto bad;
	leaves = json_object_get_array_member(o, "leaves");
	pages = json_object_get_array_member(o, "table_pages");
	n = json_array_get_length(leaves);
	t = calloc(1, sizeof(*t) + (gsize)n * sizeof(t->leaves[0]));
	if (!t) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    "dump: out of memory for %u leaves", n);
		return NULL;
	}
	t->nr_leaves = n;
	if (!get_u64(o, "seq", &seq, error))
		goto err;
	t->seq = seq;
	for (guint l = 0; l < SPTE_EPT_LEVELS &&
	     l < json_array_get_length(pages); l++)
		t->table_pages[l] = json_array_get_int_element(pages, l);
	for (guint i = 0; i < n; i++) {
		JsonNode *ln = json_array_get_element(leaves, i);
		struct spte_mirror_leaf *l = &t->leaves[i];
		guint64 gpa, level, entry, hva;

		if (!JSON_NODE_HOLDS_OBJECT(ln)) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "dump: leaf %u is not an object", i);
			goto err;
		}
		o = json_node_get_object(ln);
		if (!get_u64(o, "gpa", &gpa, error) ||
		    !get_u64(o, "level", &level, error) ||
		    !get_u64(o, "entry", &entry, error) ||
		    !get_u64(o, "hva", &hva, error))
			goto err;
		if (level < 1 || level > 2) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "dump: leaf %u has level %" G_GUINT64_FORMAT
				    " (expected 1 or 2)", i, level);
			goto err;
		}
		*l = (struct spte_mirror_leaf){ .gpa = gpa, .hva = hva,
						.entry = entry, .level = level };
	}
	return t;
err:
	spte_mirror_table_free(t);
	return NULL;
bad:
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "not a spte_mirror dump (expected an object with 'seq', "
		    "'table_pages' and 'leaves')");
	return NULL;
}
