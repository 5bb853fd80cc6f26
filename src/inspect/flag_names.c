// SPDX-License-Identifier: GPL-2.0
#include "flag_names.h"

const char *spte_flag_name(const struct spte_flag_name *table, guint32 bit)
{
	for (const struct spte_flag_name *f = table; f->name; f++)
		if (f->bit == bit)
			return f->name;
	return NULL;
}

guint32 spte_flag_bit(const struct spte_flag_name *table, const char *name)
{
	for (const struct spte_flag_name *f = table; f->name; f++)
		if (g_str_equal(f->name, name))
			return f->bit;
	return 0;
}

guint32 spte_flag_names_append(const struct spte_flag_name *table,
			       guint32 flags, const char *sep, GString *out)
{
	for (const struct spte_flag_name *f = table; f->name; f++) {
		if (!(flags & f->bit))
			continue;
		if (out->len)
			g_string_append(out, sep);
		g_string_append(out, f->name);
		flags &= ~f->bit;
	}
	return flags;
}

guint32 spte_flag_names_add_json(const struct spte_flag_name *table,
				 guint32 flags, JsonBuilder *b)
{
	for (const struct spte_flag_name *f = table; f->name; f++) {
		if (flags & f->bit) {
			json_builder_add_string_value(b, f->name);
			flags &= ~f->bit;
		}
	}
	return flags;
}

char *spte_flag_names_list(const struct spte_flag_name *table)
{
	GString *out = g_string_new(NULL);

	for (const struct spte_flag_name *f = table; f->name; f++)
		g_string_append_printf(out, "%s\"%s\"", out->len ? ", " : "",
				       f->name);
	return g_string_free(out, FALSE);
}
