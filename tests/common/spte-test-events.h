/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_TEST_EVENTS_H
#define SPTE_TEST_EVENTS_H

#include "timeline.h"

/*
 * Made-up notifier records, shared by the tests of what inspect makes of
 * them: the guest's memory at HVA0, the log starting at T0.
 */
#define HVA0	0x7f0000000000ULL
#define T0	1000000000ULL

/* The timeline of @ev[0..@n) (@f: NULL for all), also in the test log. */
char *spte_test_timeline(const struct spte_mirror_event *ev, guint n,
			 const struct spte_timeline_filter *f);

#endif
