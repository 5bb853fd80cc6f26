/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_INSPECT_TIMELINE_H
#define SPTE_INSPECT_TIMELINE_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "fold.h"
#include "spte_mirror.h"

/*
 * One event record as JSON:
 *   {"seq", "time_ns", "callback": "invalidate_range_start",
 *    "event": "CLEAR" | null, "flags": ["blockable", "in_slot", "skipped"],
 *    "result", "hva_start", "hva_end", "gpa_start", "gpa_end", "old_pfn",
 *    "new_pfn", "leaves"}
 * gpa_*, old_pfn and new_pfn are null for SPTE_MIRROR_NONE.  A callback or
 * event number without a name is written as an integer, an unknown flag
 * bit as "bitN"; spte_events_from_json() takes both back.
 */
JsonNode *spte_event_to_json(const struct spte_mirror_event *ev);
/* An array of @n records. */
JsonNode *spte_events_to_json(const struct spte_mirror_event *ev, guint n);

/*
 * The inverse: @array must be a JSON array of event objects; *out gets a
 * GArray of struct spte_mirror_event.  Errors (SPTE_ERROR_INVALID) name the
 * index and the member.
 */
gboolean spte_events_from_json(JsonNode *array, GArray **out,
			       GError **error);

/*
 * Every callback's name (SPTE_CB_DROPPED's aside), or every range
 * event's, joined by @sep: for messages.  The names and their codes are
 * spte_mirror.h's (spte_mirror_callback_name(), ..._from_name()).
 */
char *spte_callback_names(const char *sep);
char *spte_event_names(const char *sep);

/*
 * Which records spte_timeline_format_filtered() prints.  Nesting and
 * sequence gaps are still worked out on the whole log, so a filtered
 * record keeps its place under its invalidate_range_start; folding is of
 * the records shown, and reaches across hidden ones only where nothing
 * was lost.
 */
struct spte_timeline_filter {
	guint64 gpa_start;	/* records whose GPA range meets [start, end) */
	guint64 gpa_end;	/* gpa_start == gpa_end: no GPA filter */
	guint64 callbacks;	/* bit (1 << SPTE_CB_x); 0: all */
};

/*
 * The records as a kernel engineer reads them, one line each: time since
 * @t0_ns in ms, seq, callback and event, the GPA range and page count (or
 * "outside slots" and the HVA range), leaves zapped/aged, old -> new PFN,
 * young/old.  Records between an invalidate_range_start and its
 * invalidate_range_end (same HVA range) are indented under the start;
 * dropped records and sequence gaps stand out.
 *
 * Repeats fold (inspect/fold.h).  A record repeated at a constant stride
 * is one line, "×N over gpa A-B (N pages)" when the records tile the
 * range, else "×N gpa A-B step S"; a block of records repeated is a
 * "×N gpa A-B step S, P records each" line followed by the first block,
 * whose PFNs, young bits and durations are those of every block ("0x10-
 * 0x2f (32 distinct)", "young in 3 of 32").  The same step means the same
 * callback, event, flags, nesting, leaves, range size and (but for the
 * young callbacks) result, PFNs present or not alike.
 */
void spte_timeline_format(const struct spte_mirror_event *ev, guint n,
			  guint64 t0_ns, GString *out);
void spte_timeline_format_filtered(const struct spte_mirror_event *ev,
				   guint n, guint64 t0_ns,
				   const struct spte_timeline_filter *filter,
				   GString *out);

/*
 * The same as rows (inspect/fold.h), for spte compare to line two logs
 * up: with @brief, each row is what fits a column of a side-by-side view
 * (no page counts, no HVAs, no explanations).
 */
GPtrArray *spte_timeline_rows(const struct spte_mirror_event *ev, guint n,
			      guint64 t0_ns,
			      const struct spte_timeline_filter *filter,
			      gboolean brief);

/*
 * How many invalidate_range_start/_end pairs each record is inside, as
 * the timeline indents it (g_free() the array).
 */
guint *spte_timeline_depths(const struct spte_mirror_event *ev, guint n);

#endif
