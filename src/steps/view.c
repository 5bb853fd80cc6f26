// SPDX-License-Identifier: GPL-2.0
/* view GPA PAGES: the primary, the mirror and KVM's own MMU side by side. */
#include "kvm_trace.h"
#include "view3.h"
#include "session.h"

void spte_session_trace_kvm(struct spte_session *s)
{
	g_autoptr(GError) error = NULL;

	/* best effort: natively tracefs may be missing; the view says so */
	if (!s->kvm_trace && !spte_kvm_trace_start(&s->kvm_trace, &error))
		g_debug("no KVM tracepoints: %s", error->message);
}

gboolean spte_step_view(struct spte_session *s, const struct spte_step *step,
			GString *line, GError **error)
{
	struct spte_mirror_table *t = NULL;

	if (!spte_session_hva(s, step->gpa, step->pages, error))
		return FALSE;
	if (s->mirror) {
		t = spte_session_dump(s, error);
		if (!t)
			return FALSE;
	}
	spte_session_trace_kvm(s);
	g_string_append_c(line, '\n');
	spte_view3_format(s->vm, t, s->kvm_trace, step->gpa, step->pages,
			  line);
	if (line->len && line->str[line->len - 1] == '\n')
		g_string_truncate(line, line->len - 1);
	spte_mirror_table_free(t);
	return TRUE;
}
