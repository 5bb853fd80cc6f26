/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_FLAG_NAMES_H
#define SPTE_FLAG_NAMES_H

#include <glib.h>
#include <json-glib/json-glib.h>

/*
 * A table of flag bits and their names, ending with { 0, NULL }: the one
 * place a set of flags is spelled, for text, JSON and reading JSON back.
 * Names come in the table's order.
 */
struct spte_flag_name {
	guint32 bit;
	const char *name;
};

/* The name of @bit, or NULL. */
const char *spte_flag_name(const struct spte_flag_name *table, guint32 bit);
/* The bit called @name, or 0. */
guint32 spte_flag_bit(const struct spte_flag_name *table, const char *name);

/*
 * Append the names of @flags' bits to @out, each after @sep where @out is
 * not empty; return the bits that have no name.
 */
guint32 spte_flag_names_append(const struct spte_flag_name *table,
			       guint32 flags, const char *sep, GString *out);

/* Add the names of @flags' bits to the array @b is building; as above. */
guint32 spte_flag_names_add_json(const struct spte_flag_name *table,
				 guint32 flags, JsonBuilder *b);

/* Every name, quoted and separated by ", ", for messages. */
char *spte_flag_names_list(const struct spte_flag_name *table);

#endif
