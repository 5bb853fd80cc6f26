/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_KNOBS_H
#define SPTE_KNOBS_H

#include <glib.h>

/*
 * sysfs and procfs knobs (ksm/run, khugepaged/scan_sleep_millisecs, ...):
 * host steps turn them for the length of a step and put them back, so a
 * scenario leaves the machine as it found it.
 */
/*
 * The value of @path without the newline around it, newly allocated;
 * NULL, with @error set (if not NULL), if it cannot be read.
 */
char *spte_knob_read(const char *path, GError **error);
gboolean spte_knob_read_u64(const char *path, guint64 *value, GError **error);
gboolean spte_knob_write(const char *path, const char *value, GError **error);

/* Knobs set by spte_knobs_set(), restored by spte_knobs_restore(). */
typedef struct spte_knobs spte_knobs;
spte_knobs *spte_knobs_new(void);
gboolean spte_knobs_set(spte_knobs *k, const char *path, const char *value,
			GError **error);
void spte_knobs_restore(spte_knobs *k);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_knobs, spte_knobs_restore)

/*
 * Poll @path (a counter such as ksm/full_scans) every 20 ms until it has
 * grown by @delta from its first value, at most @timeout_s seconds.
 */
gboolean spte_knob_wait_growth(const char *path, guint64 delta,
			       guint timeout_s, guint64 *start, guint64 *end,
			       GError **error);

/* The counter @name of /proc/vmstat (pswpout, pgscan_direct...). */
gboolean spte_vmstat(const char *name, guint64 *value, GError **error);

#endif
