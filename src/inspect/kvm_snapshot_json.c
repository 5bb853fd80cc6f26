// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's leaves at a named dump, written into a report and read back
 * strictly; see kvm_snapshot_json.h.
 */
#include <stdarg.h>
#include <stddef.h>

#include "json_member.h"
#include "kvm_snapshot_json.h"
#include "spte/ept.h"
#include "spte_error.h"

#define WHERE		"kvm"
#define LEAVES		"kvm.leaves"

/* The decoded booleans a leaf carries for readers, checked on input. */
static const struct {
	const char *member;
	size_t offset;		/* of the gboolean in struct spte_kvm_spte */
} decoded[] = {
	{ "readable", offsetof(struct spte_kvm_spte, readable) },
	{ "writable", offsetof(struct spte_kvm_spte, writable) },
	{ "executable", offsetof(struct spte_kvm_spte, executable) },
	{ "user", offsetof(struct spte_kvm_spte, user) },
	{ "accessed", offsetof(struct spte_kvm_spte, accessed) },
	{ "dirty", offsetof(struct spte_kvm_spte, dirty) },
	{ "host_writable", offsetof(struct spte_kvm_spte, host_writable) },
	{ "mmu_writable", offsetof(struct spte_kvm_spte, mmu_writable) },
};

static gboolean decoded_bit(const struct spte_kvm_spte *s, guint k)
{
	/* the decoder leaves some as the bit's value (EPT's D is 0x200) */
	return !!G_STRUCT_MEMBER(gboolean, s, decoded[k].offset);
}

static void leaf_to_json(JsonBuilder *b, const struct spte_kvm_leaf *l)
{
	g_autofree char *flags = spte_kvm_spte_flags(&l->spte);

	json_builder_begin_object(b);
	spte_json_add_int(b, "gpa", l->gpa);
	spte_json_add_int(b, "level", l->level);
	spte_json_add_int(b, "size", l->size);
	spte_json_add_int(b, "spte", (gint64)l->spte.raw);
	spte_json_add_int(b, "pfn", l->spte.pfn);
	spte_json_add_string(b, "flags", flags);
	for (guint k = 0; k < G_N_ELEMENTS(decoded); k++)
		spte_json_add_bool(b, decoded[k].member,
				   decoded_bit(&l->spte, k));
	spte_json_add_int(b, "copies", l->copies);
	spte_json_add_int(b, "since_us", l->since_us);
	spte_json_add_int(b, "age_clears", l->age_clears);
	spte_json_add_int(b, "age_cleared_us", l->age_cleared_us);
	json_builder_end_object(b);
}

JsonNode *spte_kvm_snapshot_to_json(const struct spte_kvm_snapshot *snap)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	spte_json_add_string(b, "format",
			     spte_kvm_spte_format_name(snap->format));
	spte_json_add_string(b, "incomplete", snap->incomplete);
	json_builder_set_member_name(b, "leaves");
	json_builder_begin_array(b);
	for (guint i = 0; i < snap->leaves->len; i++)
		leaf_to_json(b, &g_array_index(snap->leaves,
					       struct spte_kvm_leaf, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static gboolean format_from_json(JsonObject *o,
				 enum spte_kvm_spte_format *out,
				 GError **error)
{
	static const enum spte_kvm_spte_format formats[] = {
		SPTE_KVM_SPTE_X86, SPTE_KVM_SPTE_EPT,
	};
	JsonNode *n = json_object_get_member(o, "format");
	const char *name;

	if (!n || !spte_json_is_string(n))
		return spte_json_object_member_error(error, WHERE, "format",
						     "a string", n);
	name = json_node_get_string(n);
	for (guint k = 0; k < G_N_ELEMENTS(formats); k++)
		if (!g_strcmp0(name, spte_kvm_spte_format_name(formats[k]))) {
			*out = formats[k];
			return TRUE;
		}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "%s: 'format' is '%s' (expected '%s' or '%s')", WHERE, name,
		    spte_kvm_spte_format_name(SPTE_KVM_SPTE_X86),
		    spte_kvm_spte_format_name(SPTE_KVM_SPTE_EPT));
	return FALSE;
}

static gboolean incomplete_from_json(JsonObject *o, char **out,
				     GError **error)
{
	JsonNode *n = json_object_get_member(o, "incomplete");

	if (n && JSON_NODE_HOLDS_NULL(n)) {
		*out = NULL;
		return TRUE;
	}
	if (!n || !spte_json_is_string(n))
		return spte_json_object_member_error(error, WHERE, "incomplete",
						     "a string or null", n);
	*out = g_strdup(json_node_get_string(n));
	return TRUE;
}

static gboolean leaf_invalid(GError **error, guint i, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static gboolean leaf_invalid(GError **error, guint i, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID, "%s[%u]: %s",
		    LEAVES, i, what);
	return FALSE;
}

/* The members decoded from "spte": optional, but not contradicting it. */
static gboolean check_decoded(JsonObject *o, guint i,
			      const struct spte_kvm_leaf *l, GError **error)
{
	JsonNode *n = json_object_get_member(o, "pfn");
	g_autofree char *flags = spte_kvm_spte_flags(&l->spte);
	const char *text;

	if (n && (!spte_json_is_int(n) ||
		  (guint64)json_node_get_int(n) != l->spte.pfn))
		return leaf_invalid(error, i, "'pfn' is not 'spte' 0x%"
				    G_GINT64_MODIFIER "x's PFN 0x%"
				    G_GINT64_MODIFIER "x", l->spte.raw,
				    l->spte.pfn);
	text = spte_json_string_or_null(o, "flags");
	if (json_object_has_member(o, "flags") && g_strcmp0(text, flags))
		return leaf_invalid(error, i, "'flags' is '%s', but 'spte' 0x%"
				    G_GINT64_MODIFIER "x reads '%s'",
				    text ? text : "not a string", l->spte.raw,
				    flags);
	for (guint k = 0; k < G_N_ELEMENTS(decoded); k++) {
		gboolean want = decoded_bit(&l->spte, k);

		n = json_object_get_member(o, decoded[k].member);
		if (!n)
			continue;
		if (!JSON_NODE_HOLDS_VALUE(n) ||
		    json_node_get_value_type(n) != G_TYPE_BOOLEAN)
			return spte_json_member_error(error, LEAVES, i,
						      decoded[k].member,
						      "a boolean", n);
		if (json_node_get_boolean(n) != want)
			return leaf_invalid(error, i, "'%s' is %s, but 'spte' 0x%"
					    G_GINT64_MODIFIER "x says %s",
					    decoded[k].member,
					    want ? "false" : "true",
					    l->spte.raw, want ? "true" : "false");
	}
	return TRUE;
}

static gboolean leaf_from_json(JsonNode *node, guint i,
			       enum spte_kvm_spte_format fmt,
			       struct spte_kvm_leaf *l, GError **error)
{
	JsonObject *o = spte_json_record(node, LEAVES, i, "a leaf object",
					 error);
	guint64 level, copies, age_clears, raw;

	if (!o)
		return FALSE;
	if (!spte_json_member_int(o, LEAVES, i, "gpa", FALSE, 0, &l->gpa, error) ||
	    !spte_json_member_int(o, LEAVES, i, "level", FALSE, 0, &level, error) ||
	    !spte_json_member_int(o, LEAVES, i, "size", FALSE, 0, &l->size, error) ||
	    !spte_json_member_int(o, LEAVES, i, "spte", FALSE, 0, &raw, error) ||
	    !spte_json_member_int(o, LEAVES, i, "copies", FALSE, 0, &copies, error) ||
	    !spte_json_member_int(o, LEAVES, i, "since_us", FALSE, 0, &l->since_us, error) ||
	    !spte_json_member_int(o, LEAVES, i, "age_clears", FALSE, 0, &age_clears, error) ||
	    !spte_json_member_int(o, LEAVES, i, "age_cleared_us", FALSE, 0, &l->age_cleared_us, error))
		return FALSE;
	if (level < SPTE_KVM_LEVEL_4K || level > SPTE_KVM_LEVEL_1G)
		return leaf_invalid(error, i, "'level' is %" G_GUINT64_FORMAT
				    " (expected 1 = 4K, 2 = 2M or 3 = 1G)",
				    level);
	l->level = level;
	if (l->size != SPTE_EPT_LEVEL_SIZE(level))
		return leaf_invalid(error, i, "'size' is %" G_GUINT64_FORMAT
				    " (a level %u leaf maps %" G_GUINT64_FORMAT
				    ")", l->size, l->level,
				    (guint64)SPTE_EPT_LEVEL_SIZE(level));
	if (l->gpa & (l->size - 1))
		return leaf_invalid(error, i, "'gpa' 0x%" G_GINT64_MODIFIER
				    "x is not aligned to its size 0x%"
				    G_GINT64_MODIFIER "x", l->gpa, l->size);
	if (!copies || copies > G_MAXUINT)
		return leaf_invalid(error, i, "'copies' is %" G_GUINT64_FORMAT
				    " (a leaf has at least one)", copies);
	l->copies = copies;
	if (age_clears > G_MAXUINT)
		return leaf_invalid(error, i, "'age_clears' is %"
				    G_GUINT64_FORMAT " (too many)", age_clears);
	l->age_clears = age_clears;
	spte_kvm_spte_decode(fmt, raw, &l->spte);
	if (!l->spte.present)
		return leaf_invalid(error, i, "'spte' 0x%" G_GINT64_MODIFIER
				    "x is not a present SPTE (bit 11 clear)",
				    raw);
	/* above 4K, PS clear is a page table; at 4K bit 7 is x86's PAT */
	if (l->level > SPTE_KVM_LEVEL_4K && !l->spte.large)
		return leaf_invalid(error, i, "'spte' 0x%" G_GINT64_MODIFIER
				    "x has PS clear: a page table, not a "
				    "level %u leaf", raw, l->level);
	l->as_id = SPTE_KVM_AS_NORMAL;
	return check_decoded(o, i, l, error);
}

struct spte_kvm_snapshot *spte_kvm_snapshot_from_json(JsonNode *node,
						      GError **error)
{
	g_autoptr(spte_kvm_snapshot) snap = g_new0(struct spte_kvm_snapshot, 1);
	JsonObject *o;
	JsonNode *n;
	JsonArray *a;

	snap->leaves = g_array_new(FALSE, TRUE, sizeof(struct spte_kvm_leaf));
	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: must be an object with 'format', 'incomplete' "
			    "and 'leaves', not %s", WHERE,
			    spte_json_node_kind(node));
		return NULL;
	}
	o = json_node_get_object(node);
	if (!format_from_json(o, &snap->format, error) ||
	    !incomplete_from_json(o, &snap->incomplete, error))
		return NULL;
	n = json_object_get_member(o, "leaves");
	if (!n || !JSON_NODE_HOLDS_ARRAY(n)) {
		spte_json_object_member_error(error, WHERE, "leaves",
					      "an array", n);
		return NULL;
	}
	a = json_node_get_array(n);
	g_array_set_size(snap->leaves, json_array_get_length(a));
	for (guint i = 0; i < snap->leaves->len; i++) {
		struct spte_kvm_leaf *l = &g_array_index(snap->leaves,
							 struct spte_kvm_leaf,
							 i);

		if (!leaf_from_json(json_array_get_element(a, i), i,
				    snap->format, l, error))
			return NULL;
		/*
		 * The model's order (spte_kvm_leaves_range()): by GPA, then
		 * level.  Leaves of two levels may overlap (two roots, one
		 * refaulted huge), one GPA and level is one leaf.
		 */
		if (i && (l->gpa < l[-1].gpa ||
			  (l->gpa == l[-1].gpa && l->level <= l[-1].level))) {
			leaf_invalid(error, i, "gpa 0x%" G_GINT64_MODIFIER
				     "x level %u does not follow leaf %u's "
				     "(gpa 0x%" G_GINT64_MODIFIER "x level %u): "
				     "leaves are in GPA order, then level, "
				     "each once", l->gpa, l->level, i - 1,
				     l[-1].gpa, l[-1].level);
			return NULL;
		}
	}
	return g_steal_pointer(&snap);
}
