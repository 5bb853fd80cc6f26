// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab-size.c - parse "1G", "512M", "1536MiB", "2097152" into bytes.
 *
 * Deliberately small: the project's general size parser lives elsewhere;
 * the lab only needs binary suffixes for QEMU's -m.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lab-size.h"

gboolean lab_size_parse(const char *text, guint64 *bytes, GError **error)
{
	static const struct {
		const char *suffix;
		unsigned int shift;
	} units[] = {
		{ "", 0 }, { "B", 0 },
		{ "K", 10 }, { "KB", 10 }, { "KiB", 10 },
		{ "M", 20 }, { "MB", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GB", 30 }, { "GiB", 30 },
		{ "T", 40 }, { "TB", 40 }, { "TiB", 40 },
	};
	const char *p = text;
	char *end = NULL;
	guint64 value;

	while (g_ascii_isspace(*p))
		p++;
	/* strtoull accepts a sign and wraps "-1" around; refuse it first. */
	if (!g_ascii_isdigit(*p))
		goto invalid;
	errno = 0;
	value = g_ascii_strtoull(p, &end, 10);
	if (errno == ERANGE)
		goto invalid;

	for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
		if (g_ascii_strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (value > (G_MAXUINT64 >> units[i].shift))
			goto invalid;
		*bytes = value << units[i].shift;
		return TRUE;
	}
invalid:
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    "invalid size '%s' (use e.g. 512M, 1G, 2GiB)", text);
	return FALSE;
}
