// SPDX-License-Identifier: GPL-2.0
/* view GPA PAGES: the primary, the mirror and KVM's own MMU side by side. */
#include "view3.h"
#include "families.h"

static gboolean step_view(struct spte_session *s, const struct spte_step *step,
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
	spte_view3_format(s->vm, t, spte_session_kvm_model(s),
			  s->kvm_leaves_why, s->kvm_trace, step->gpa,
			  step->pages, line);
	if (line->len && line->str[line->len - 1] == '\n')
		g_string_truncate(line, line->len - 1);
	spte_mirror_table_free(t);
	return TRUE;
}

static const struct spte_verb verbs[] = {
	{ .usage = "view GPA PAGES", .run = step_view, .traces_kvm = TRUE,
	  .checks_kvm_leaves = TRUE,
	  .help = "primary PTEs, mirror leaves and KVM's own MMU side by side" },
};

const struct spte_step_family spte_view_steps =
	SPTE_STEP_FAMILY("view", SPTE_STEP_HOST, verbs);
