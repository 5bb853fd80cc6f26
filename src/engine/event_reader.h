/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_EVENT_READER_H
#define SPTE_EVENT_READER_H

#include <glib.h>

#include "spte_mirror.h"

/*
 * A thread that keeps a mirror's event ring empty while the steps run.
 * The module drops records once its ring is full, and the daemons a host
 * step sets going (ksmd, khugepaged, reclaim) log far faster than a reader
 * that looks only between steps can keep up with.  The thread waits in
 * poll() on the mirror fd and moves every record into a pending array;
 * spte_event_reader_drain() hands those over, followed by whatever the
 * module still holds, in the order the module logged them.
 *
 * Every read() of the fd, by the thread or by a drain, happens under one
 * mutex and appends to the pending array or behind it, so no record is
 * lost or reordered between the two readers.
 */
struct spte_event_reader;

/* Start reading @m's events; @m must outlive spte_event_reader_stop(). */
struct spte_event_reader *spte_event_reader_start(struct spte_mirror *m,
						  GError **error);

/*
 * Append to @into every record read so far and every one the module holds
 * now.  Fails if the thread or this read hit an error; the records read
 * before it are still appended.
 */
gboolean spte_event_reader_drain(struct spte_event_reader *r, GArray *into,
				 GError **error);

/*
 * The most records the thread read at one wake-up, reading until the ring
 * was empty: a bound on how full the ring got while it ran.
 */
guint spte_event_reader_peak(struct spte_event_reader *r);

/* Stop and join the thread; records not drained yet are discarded. */
void spte_event_reader_stop(struct spte_event_reader *r);

#endif
