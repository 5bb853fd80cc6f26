/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_PARSE_H
#define SPTE_PARSE_H

#include <glib.h>

/*
 * Numbers as users type them: decimal or 0x-hex, and for sizes a binary
 * suffix (K, M, G, T, optionally followed by "iB" or "B").  Overflow and
 * trailing junk are errors naming the offending text and @what.
 */
gboolean spte_parse_u64(const char *text, const char *what, guint64 *out,
			GError **error);
gboolean spte_parse_size(const char *text, const char *what, guint64 *out,
			 GError **error);

#endif
