// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "spte_error.h"

G_DEFINE_QUARK(spte-error-quark, spte_error)

gboolean spte_set_errno(GError **error, int err, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED, "%s: %s", what,
		    g_strerror(err));
	return FALSE;
}
