// SPDX-License-Identifier: GPL-2.0
#include "spte-test-events.h"

char *spte_test_timeline(const struct spte_mirror_event *ev, guint n,
			 const struct spte_timeline_filter *f)
{
	g_autoptr(GString) out = g_string_new(NULL);

	spte_timeline_format_filtered(ev, n, T0, f, out);
	g_test_message("\n%s", out->str);
	return g_string_free(g_steal_pointer(&out), FALSE);
}
