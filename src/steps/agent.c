// SPDX-License-Identifier: GPL-2.0
/*
 * Agent steps: one command to the guest, one line of result.  verify and
 * checksum are checks (they pass or fail the scenario); fill, touch and
 * crash are actions, a failed check only when the agent could not do them.
 */
#include "agent_client.h"
#include "families.h"

/*
 * What the agent's @res says about @step: TRUE if it did what was asked,
 * and in @out, once, what it found ("256 pages filled with ...", "3 of 512
 * words differ, ...").
 */
static gboolean describe_result(const struct spte_step *step,
				const struct spte_guest_result *res,
				GString *out)
{
	switch (res->status) {
	case SPTE_STATUS_OK:
		break;
	case SPTE_STATUS_BAD_RANGE:
		g_string_append(out, "range outside guest RAM");
		return FALSE;
	case SPTE_STATUS_MISMATCH:
		g_string_append_printf(out, "%" G_GUINT64_FORMAT
			" of %" G_GUINT64_FORMAT " words differ, first at gpa "
			"%#" G_GINT64_MODIFIER "x: %#018" G_GINT64_MODIFIER "x, "
			"expected %#018" G_GINT64_MODIFIER "x",
			res->bad_words, step->pages * 512, res->first_bad_gpa,
			res->first_bad_value, step->pattern);
		return FALSE;
	default:
		g_string_append_printf(out, "agent status %u",
				       res->status);
		return FALSE;
	}
	switch (step->op) {
	case SPTE_OP_FILL:
		g_string_append_printf(out, "%" G_GUINT64_FORMAT " pages "
				       "filled with %#018" G_GINT64_MODIFIER "x",
				       res->pages, step->pattern);
		break;
	case SPTE_OP_VERIFY:
		g_string_append_printf(out, "%" G_GUINT64_FORMAT " pages, "
				       "all %" G_GUINT64_FORMAT " words match",
				       res->pages, res->pages * 512);
		break;
	case SPTE_OP_CHECKSUM:
		g_string_append_printf(out, "fnv1a64 %#018"
				       G_GINT64_MODIFIER "x over %"
				       G_GUINT64_FORMAT " pages",
				       res->value, res->pages);
		break;
	default:
		g_string_append_printf(out, "%" G_GUINT64_FORMAT " pages "
				       "touched", res->pages);
		break;
	}
	return TRUE;
}

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

static gboolean step_agent(struct spte_session *s,
			   const struct spte_step *step, GString *line,
			   GError **error)
{
	struct spte_guest_cmd cmd = { .op = step->op, .gpa = step->gpa,
				      .pages = step->pages,
				      .pattern = step->pattern };
	struct spte_guest_result res;
	g_autoptr(GString) found = g_string_new(NULL);
	gboolean ok;
	guint64 host;

	if (!spte_agent_call(s->vcpu, &cmd, &res, error))
		return FALSE;
	ok = describe_result(step, &res, found);
	if (ok && step->op == SPTE_OP_CHECKSUM) {
		ok = host_agrees(s, step, &res, &host);
		g_string_append_printf(found, ok ? ", host agrees" :
				       ", but the host's view gives %#018"
				       G_GINT64_MODIFIER "x", host);
	}
	if (ok && step->op != SPTE_OP_VERIFY && step->op != SPTE_OP_CHECKSUM) {
		g_string_append_printf(line, "ok: %s", found->str);
		return TRUE;
	}
	spte_session_check(s, step, ok, line, "%s", found->str);
	return TRUE;
}

static const struct spte_verb verbs[] = {
	{ .usage = "fill GPA PAGES PATTERN", .run = step_agent,
	  .op = SPTE_OP_FILL,
	  .help = "guest writes PATTERN to every 64-bit word (a byte is repeated)" },
	{ .usage = "touch GPA PAGES read|write", .run = step_agent,
	  .op_by_mode = { [SPTE_MODE_READ] = SPTE_OP_TOUCH_READ,
			  [SPTE_MODE_WRITE] = SPTE_OP_TOUCH_WRITE },
	  .help = "guest reads one word per page, or rewrites it with its own value" },
	{ .usage = "verify GPA PAGES PATTERN", .run = step_agent,
	  .op = SPTE_OP_VERIFY,
	  .help = "check: guest compares every word with PATTERN" },
	{ .usage = "checksum GPA PAGES", .run = step_agent,
	  .op = SPTE_OP_CHECKSUM,
	  .help = "check: guest's FNV-1a over the range equals the VMM's" },
	{ .usage = "crash", .run = step_agent, .op = SPTE_OP_CRASH,
	  .help = "guest raises #UD with no IDT: a triple fault, for testing" },
};

const struct spte_step_family spte_agent_steps =
	SPTE_STEP_FAMILY("agent", SPTE_STEP_AGENT, verbs);
