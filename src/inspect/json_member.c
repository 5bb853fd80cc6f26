// SPDX-License-Identifier: GPL-2.0-only
/*
 * json_member.c - writing report members, and reading them back strictly;
 * see json_member.h.
 */
#include "json_member.h"
#include "spte_error.h"

const char *spte_json_node_kind(JsonNode *n)
{
	switch (json_node_get_node_type(n)) {
	case JSON_NODE_OBJECT:
		return "an object";
	case JSON_NODE_ARRAY:
		return "an array";
	case JSON_NODE_NULL:
		return "null";
	case JSON_NODE_VALUE:
		break;
	}
	switch (json_node_get_value_type(n)) {
	case G_TYPE_INT64:
		return "an integer";
	case G_TYPE_DOUBLE:
		return "a fractional number";
	case G_TYPE_BOOLEAN:
		return "a boolean";
	case G_TYPE_STRING:
		return "a string";
	default:
		return "an unexpected value";
	}
}

gboolean spte_json_is_int(JsonNode *n)
{
	return JSON_NODE_HOLDS_VALUE(n) &&
	       json_node_get_value_type(n) == G_TYPE_INT64;
}

gboolean spte_json_is_string(JsonNode *n)
{
	return JSON_NODE_HOLDS_VALUE(n) &&
	       json_node_get_value_type(n) == G_TYPE_STRING;
}

JsonObject *spte_json_record(JsonNode *node, const char *array, guint i,
			     const char *what, GError **error)
{
	if (node && JSON_NODE_HOLDS_OBJECT(node))
		return json_node_get_object(node);
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "%s[%u]: expected %s, not %s", array, i, what,
		    node ? spte_json_node_kind(node) : "nothing");
	return NULL;
}

/* @where: "events[3]" or "kvm", where the member was looked for */
static gboolean member_error_at(GError **error, const char *where,
				const char *member, const char *what,
				JsonNode *n)
{
	if (n)
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: '%s' must be %s, not %s", where, member, what,
			    spte_json_node_kind(n));
	else
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: '%s' is missing (expected %s)", where, member,
			    what);
	return FALSE;
}

gboolean spte_json_member_error(GError **error, const char *array, guint i,
				const char *member, const char *what,
				JsonNode *n)
{
	g_autofree char *where = g_strdup_printf("%s[%u]", array, i);

	return member_error_at(error, where, member, what, n);
}

gboolean spte_json_object_member_error(GError **error, const char *object,
				       const char *member, const char *what,
				       JsonNode *n)
{
	return member_error_at(error, object, member, what, n);
}

gboolean spte_json_member_int(JsonObject *o, const char *array, guint i,
			      const char *member, gboolean nullable,
			      guint64 null_value, guint64 *out,
			      GError **error)
{
	JsonNode *n = json_object_get_member(o, member);

	if (n && nullable && JSON_NODE_HOLDS_NULL(n)) {
		*out = null_value;
		return TRUE;
	}
	if (!n || !spte_json_is_int(n))
		return spte_json_member_error(error, array, i, member,
					      nullable ? "an integer or null" :
					      "an integer", n);
	*out = (guint64)json_node_get_int(n);
	return TRUE;
}

gboolean spte_json_member_string(JsonObject *o, const char *array, guint i,
				 const char *member, char **out,
				 GError **error)
{
	JsonNode *n = json_object_get_member(o, member);

	if (!n || !spte_json_is_string(n))
		return spte_json_member_error(error, array, i, member,
					      "a string", n);
	*out = g_strdup(json_node_get_string(n));
	return TRUE;
}

const char *spte_json_string_or_null(JsonObject *o, const char *member)
{
	JsonNode *n = json_object_get_member(o, member);

	return n && spte_json_is_string(n) ? json_node_get_string(n) : NULL;
}

void spte_json_add_int(JsonBuilder *b, const char *member, gint64 v)
{
	json_builder_set_member_name(b, member);
	json_builder_add_int_value(b, v);
}

void spte_json_add_u64_or_null(JsonBuilder *b, const char *member,
			       guint64 v)
{
	json_builder_set_member_name(b, member);
	if (v == G_MAXUINT64)
		json_builder_add_null_value(b);
	else
		json_builder_add_int_value(b, (gint64)v);
}

void spte_json_add_string(JsonBuilder *b, const char *member, const char *v)
{
	json_builder_set_member_name(b, member);
	if (v)
		json_builder_add_string_value(b, v);
	else
		json_builder_add_null_value(b);
}

void spte_json_add_bool(JsonBuilder *b, const char *member, gboolean v)
{
	json_builder_set_member_name(b, member);
	json_builder_add_boolean_value(b, v);
}

void spte_json_add_int_or_null(JsonBuilder *b, const char *member,
			       gboolean known, gint64 v)
{
	json_builder_set_member_name(b, member);
	if (known)
		json_builder_add_int_value(b, v);
	else
		json_builder_add_null_value(b);
}

void spte_json_add_counts(JsonBuilder *b, const char *member,
			  const struct spte_json_count *counts)
{
	json_builder_set_member_name(b, member);
	json_builder_begin_object(b);
	for (; counts->name; counts++)
		spte_json_add_int(b, counts->name, counts->n);
	json_builder_end_object(b);
}
