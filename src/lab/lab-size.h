/* SPDX-License-Identifier: GPL-2.0-only */
/* lab-size.h - memory sizes for --mem; private to src/lab. */
#ifndef SPTE_LAB_SIZE_H
#define SPTE_LAB_SIZE_H

#include <glib.h>

gboolean lab_size_parse(const char *text, guint64 *bytes, GError **error);

#endif
