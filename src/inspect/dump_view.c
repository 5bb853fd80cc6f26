// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "dump_view.h"
#include "spte_error.h"

/* Bits that must match for two leaves to share a line. */
#define FOLD_BITS (SPTE_EPT_RWX | SPTE_EPT_A | SPTE_EPT_D | SPTE_EPT_PS | \
		   SPTE_EPT_MT_MASK | SPTE_EPT_IPAT)

static gboolean same_run(const struct spte_mirror_leaf *prev,
			 const struct spte_mirror_leaf *l)
{
	return l->level == prev->level &&
	       (l->entry & FOLD_BITS) == (prev->entry & FOLD_BITS) &&
	       l->gpa == prev->gpa + spte_mirror_leaf_size(prev);
}

static int cmp_u64(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

	return (x > y) - (x < y);
}

/* How the host pages of leaves [first, first + n) relate. */
static void describe_hpas(const struct spte_mirror_leaf *l, guint64 n,
			  GString *out)
{
	guint64 pfn0 = spte_ept_pfn(l[0].entry);
	guint64 step = spte_mirror_leaf_size(&l[0]) >> 12;
	gboolean contiguous = TRUE, same = TRUE;
	g_autofree guint64 *pfns = NULL;
	guint64 distinct = 1;

	for (guint64 i = 1; i < n; i++) {
		guint64 pfn = spte_ept_pfn(l[i].entry);

		contiguous &= pfn == pfn0 + i * step;
		same &= pfn == pfn0;
	}
	if (n == 1 || contiguous) {
		g_string_append_printf(out, "hpa 0x%010" G_GINT64_MODIFIER "x-0x%010"
				       G_GINT64_MODIFIER "x", pfn0 << 12,
				       ((pfn0 + n * step) << 12) - 1);
		if (n > 1)
			g_string_append(out, " contiguous");
		return;
	}
	if (same) {
		g_string_append_printf(out, "hpa 0x%010" G_GINT64_MODIFIER "x "
				       "shared by all %" G_GUINT64_FORMAT,
				       pfn0 << 12, n);
		return;
	}
	pfns = g_new(guint64, n);
	for (guint64 i = 0; i < n; i++)
		pfns[i] = spte_ept_pfn(l[i].entry);
	qsort(pfns, n, sizeof(*pfns), cmp_u64);
	for (guint64 i = 1; i < n; i++)
		distinct += pfns[i] != pfns[i - 1];
	g_string_append_printf(out, "hpa scattered: %" G_GUINT64_FORMAT
			       " distinct pages, from 0x%010" G_GINT64_MODIFIER "x",
			       distinct, pfn0 << 12);
}

void spte_dump_format_text(const struct spte_mirror_table *t, GString *out)
{
	guint64 n4k = 0, n2m = 0, table_bytes = 0;

	for (guint64 i = 0; i < t->nr_leaves; i++) {
		if (t->leaves[i].level == 1)
			n4k++;
		else
			n2m++;
	}
	for (guint l = 0; l < SPTE_EPT_LEVELS; l++)
		table_bytes += t->table_pages[l] * 4096;
	g_string_append_printf(out, "spte_mirror table (seq %" G_GUINT64_FORMAT
			       "): %" G_GUINT64_FORMAT " leaves (%" G_GUINT64_FORMAT
			       " x 4K, %" G_GUINT64_FORMAT " x 2M); table pages "
			       "PML4 %" G_GUINT64_FORMAT ", PDPT %" G_GUINT64_FORMAT
			       ", PD %" G_GUINT64_FORMAT ", PT %" G_GUINT64_FORMAT
			       " (%" G_GUINT64_FORMAT " KiB)\n",
			       t->seq, t->nr_leaves, n4k, n2m, t->table_pages[3],
			       t->table_pages[2], t->table_pages[1],
			       t->table_pages[0], table_bytes >> 10);
	if (!t->nr_leaves) {
		g_string_append(out, "  (no present leaves)\n");
		return;
	}
	g_string_append_printf(out, "  %-29s  %-9s  %-6s %-2s %s\n", "gpa range",
			       "level", "flags", "mt", "host pages");
	for (guint64 i = 0; i < t->nr_leaves;) {
		const struct spte_mirror_leaf *first = &t->leaves[i];
		guint64 n = 1;
		char flags[8];
		g_autofree char *level = NULL;

		while (i + n < t->nr_leaves &&
		       same_run(&t->leaves[i + n - 1], &t->leaves[i + n]))
			n++;
		level = g_strdup_printf("%s x%" G_GUINT64_FORMAT,
					first->level == 1 ? "4K" : "2M", n);
		g_string_append_printf(out, "  0x%012" G_GINT64_MODIFIER "x-0x%012"
				       G_GINT64_MODIFIER "x  %-9s  %s %s ",
				       (guint64)first->gpa,
				       (guint64)(first->gpa + n * spte_mirror_leaf_size(first) - 1),
				       level, spte_ept_flags_str(first->entry, flags),
				       spte_ept_memtype_name(spte_ept_memtype(first->entry)));
		describe_hpas(first, n, out);
		g_string_append_c(out, '\n');
		i += n;
	}
}

JsonNode *spte_dump_to_json(const struct spte_mirror_table *t)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "seq");
	json_builder_add_int_value(b, t->seq);
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
		json_builder_set_member_name(b, "gpa");
		json_builder_add_int_value(b, l->gpa);
		json_builder_set_member_name(b, "level");
		json_builder_add_int_value(b, l->level);
		json_builder_set_member_name(b, "entry");
		json_builder_add_int_value(b, l->entry);
		json_builder_set_member_name(b, "pfn");
		json_builder_add_int_value(b, spte_ept_pfn(l->entry));
		json_builder_set_member_name(b, "flags");
		json_builder_add_string_value(b, spte_ept_flags_str(l->entry, flags));
		json_builder_set_member_name(b, "hva");
		json_builder_add_int_value(b, l->hva);
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

	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_INT64) {
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
