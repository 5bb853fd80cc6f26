/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * json_member.h - the members of a report's records (events, kvm_trace,
 * dumps, diffs), written and read back.  Reading is strict: a member that
 * is missing or of the wrong kind is an error naming the array, the
 * record's index, the member, what was expected and what was there
 * ("events[3]: 'gpa_start' must be an integer or null, not a string").
 */
#ifndef SPTE_INSPECT_JSON_MEMBER_H
#define SPTE_INSPECT_JSON_MEMBER_H

#include <json-glib/json-glib.h>

/* "an integer", "a string", "null", ... for messages. */
const char *spte_json_node_kind(JsonNode *n);

gboolean spte_json_is_int(JsonNode *n);
gboolean spte_json_is_string(JsonNode *n);

/*
 * Set @error for @array[@i].@member, which should have been @what (@n is
 * what was there, NULL if missing).  Returns FALSE.
 */
gboolean spte_json_member_error(GError **error, const char *array, guint i,
				const char *member, const char *what,
				JsonNode *n);
/* The same for @object.@member, a member of no array ("kvm: 'format' ..."). */
gboolean spte_json_object_member_error(GError **error, const char *object,
				       const char *member, const char *what,
				       JsonNode *n);

/*
 * @array[@i] as the object a record is, or NULL with @error saying what
 * it is instead ("events[3]: expected an event object, not an integer").
 */
JsonObject *spte_json_record(JsonNode *node, const char *array, guint i,
			     const char *what, GError **error);

/*
 * @array[@i].@member as an integer; with @nullable, null reads as
 * @null_value.
 */
gboolean spte_json_member_int(JsonObject *o, const char *array, guint i,
			      const char *member, gboolean nullable,
			      guint64 null_value, guint64 *out,
			      GError **error);

/* @array[@i].@member as a newly allocated string. */
gboolean spte_json_member_string(JsonObject *o, const char *array, guint i,
				 const char *member, char **out,
				 GError **error);

/* A string member, or NULL if it is missing or no string: for headers. */
const char *spte_json_string_or_null(JsonObject *o, const char *member);

/* "@member": @v, in the object @b is building. */
void spte_json_add_int(JsonBuilder *b, const char *member, gint64 v);
/* "@member": @v, or null for G_MAXUINT64 (SPTE_MIRROR_NONE, no GPA). */
void spte_json_add_u64_or_null(JsonBuilder *b, const char *member,
			       guint64 v);
/* "@member": @v, or null for NULL. */
void spte_json_add_string(JsonBuilder *b, const char *member, const char *v);
void spte_json_add_bool(JsonBuilder *b, const char *member, gboolean v);
/* "@member": @v if @known, else null (a count that was not taken). */
void spte_json_add_int_or_null(JsonBuilder *b, const char *member,
			       gboolean known, gint64 v);

/* One count of an object of counts. */
struct spte_json_count {
	const char *name;
	gint64 n;
};

/*
 * "@member": {"name": n, ...}, @counts in their order up to a NULL name:
 * a report's or a diff's tallies, each written the one way.
 */
void spte_json_add_counts(JsonBuilder *b, const char *member,
			  const struct spte_json_count *counts);

#endif
