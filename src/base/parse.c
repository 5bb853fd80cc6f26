// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "spte_error.h"

/* Every complaint about a value: "WHAT: 'TEXT' PROBLEM".  Returns FALSE. */
static gboolean bad_value(GError **error, const char *what, const char *text,
			  const char *problem)
{
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID, "%s: '%s' %s",
		    what, text, problem);
	return FALSE;
}

static gboolean parse_number(const char *text, const char *what, guint64 *out,
			     const char **rest, GError **error)
{
	char *end = NULL;
	guint64 v;

	if (!text || !*text) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: missing value", what);
		return FALSE;
	}
	/* strtoull quietly accepts "-1" and leading spaces; we do not. */
	if (!g_ascii_isdigit(text[0]))
		return bad_value(error, what, text, "is not a number");
	errno = 0;
	v = g_ascii_strtoull(text, &end, 0);
	if (errno == ERANGE)
		return bad_value(error, what, text, "is too large");
	*out = v;
	*rest = end;
	return TRUE;
}

gboolean spte_parse_u64(const char *text, const char *what, guint64 *out,
			GError **error)
{
	const char *rest;
	guint64 v;

	if (!parse_number(text, what, &v, &rest, error))
		return FALSE;
	if (*rest)
		return bad_value(error, what, text, "is not a number");
	*out = v;
	return TRUE;
}

gboolean spte_parse_size(const char *text, const char *what, guint64 *out,
			 GError **error)
{
	const char *rest;
	guint shift = 0;
	guint64 v;

	if (!parse_number(text, what, &v, &rest, error))
		return FALSE;
	switch (g_ascii_toupper(*rest)) {
	case '\0':
		break;
	case 'B':	/* plain bytes, "4096B" */
		if (rest[1])
			goto bad_suffix;
		rest++;
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		goto bad_suffix;
	}
	if (shift) {
		rest++;
		if (g_ascii_strcasecmp(rest, "iB") == 0 ||
		    g_ascii_strcasecmp(rest, "B") == 0)
			rest += strlen(rest);
	}
	if (*rest)
		goto bad_suffix;
	if (shift && v > (G_MAXUINT64 >> shift))
		return bad_value(error, what, text, "is too large");
	*out = v << shift;
	return TRUE;

bad_suffix:
	return bad_value(error, what, text,
			 "has an unknown suffix (use K, M, G or T)");
}
