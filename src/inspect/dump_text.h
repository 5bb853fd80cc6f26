/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_DUMP_TEXT_H
#define SPTE_DUMP_TEXT_H

#include <glib.h>

#include "spte_mirror.h"

/*
 * A mirror dump as people read an EPT walk: GPA range -> HPA, level, flags,
 * memory type.  Runs of leaves with the same level and flags at contiguous
 * GPAs fold into one line, which says whether their host pages are
 * contiguous, all one page (KSM, the zero page) or scattered.
 */
void spte_dump_format_text(const struct spte_mirror_table *t, GString *out);

#endif
