// SPDX-License-Identifier: GPL-2.0
/* Agent steps: one command to the guest, one line of result. */
#include "agent_client.h"
#include "session.h"

/* The VMM's view of guest RAM must hold what the guest saw. */
static gboolean host_agrees(struct spte_session *s,
			    const struct spte_step *step,
			    const struct spte_guest_result *res,
			    guint64 *host)
{
	const guint64 *hva = spte_vm_gpa_to_hva(s->vm, step->gpa,
						step->pages * 4096);

	*host = hva ? spte_fnv1a64_words(hva, step->pages * 512) : 0;
	return hva && *host == res->value;
}

gboolean spte_step_agent(struct spte_session *s, const struct spte_step *step,
			 GString *line, GError **error)
{
	struct spte_guest_cmd cmd = { .op = step->op, .gpa = step->gpa,
				      .pages = step->pages,
				      .pattern = step->pattern };
	struct spte_guest_result res;
	g_autoptr(GString) said = g_string_new(NULL);
	gboolean ok;
	guint64 host;

	if (!spte_agent_call(s->vcpu, &cmd, &res, error))
		return FALSE;
	ok = spte_step_describe_result(step, &res, said);
	if (step->op != SPTE_OP_VERIFY && step->op != SPTE_OP_CHECKSUM && ok) {
		g_string_append(line, said->str);
		return TRUE;
	}
	if (ok && step->op == SPTE_OP_CHECKSUM) {
		ok = host_agrees(s, step, &res, &host);
		g_string_append_printf(said, ok ? ", host agrees" :
				       ", but the host's view gives %#018"
				       G_GINT64_MODIFIER "x", host);
	}
	if (g_str_has_prefix(said->str, "ok: "))
		g_string_erase(said, 0, 4);
	else if (g_str_has_prefix(said->str, "FAILED: "))
		g_string_erase(said, 0, 8);
	spte_session_check(s, step, ok, line, "%s", said->str);
	return TRUE;
}
