// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "exec_script.h"
#include "parse.h"
#include "spte_error.h"

enum arg_kind { ARG_GPA, ARG_PAGES, ARG_PATTERN, ARG_MODE, ARG_FILE };

struct verb {
	const char *name;
	enum spte_step_where where;
	guint32 op;			/* agent op, or 0 for host verbs */
	enum arg_kind args[4];
	guint nargs;
	guint optional;			/* trailing args that may be left out */
	guint modes;			/* bitmask of allowed spte_step_mode */
	const char *usage;
	const char *help;
};

#define MODE(m) (1U << (m))

static const struct verb verbs[] = {
	{ "fill", SPTE_STEP_AGENT, SPTE_OP_FILL,
	  { ARG_GPA, ARG_PAGES, ARG_PATTERN }, 3, 0, 0,
	  "fill GPA PAGES PATTERN",
	  "guest writes PATTERN to every 64-bit word (a byte is repeated)" },
	{ "touch", SPTE_STEP_AGENT, 0,
	  { ARG_GPA, ARG_PAGES, ARG_MODE }, 3, 0,
	  MODE(SPTE_MODE_READ) | MODE(SPTE_MODE_WRITE),
	  "touch GPA PAGES read|write",
	  "guest reads one word per page, or rewrites it with its own value" },
	{ "verify", SPTE_STEP_AGENT, SPTE_OP_VERIFY,
	  { ARG_GPA, ARG_PAGES, ARG_PATTERN }, 3, 0, 0,
	  "verify GPA PAGES PATTERN",
	  "guest compares every word with PATTERN and counts mismatches" },
	{ "checksum", SPTE_STEP_AGENT, SPTE_OP_CHECKSUM,
	  { ARG_GPA, ARG_PAGES }, 2, 0, 0,
	  "checksum GPA PAGES",
	  "guest computes FNV-1a over the range's words" },
	{ "crash", SPTE_STEP_AGENT, SPTE_OP_CRASH, { 0 }, 0, 0, 0,
	  "crash",
	  "guest raises #UD with no IDT: a triple fault, for testing" },
	/* Host steps: the mirror, with --mirror. */
	{ "map", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES, ARG_MODE }, 3, 0,
	  MODE(SPTE_MODE_READ) | MODE(SPTE_MODE_WRITE) | MODE(SPTE_MODE_SNAPSHOT),
	  "map GPA PAGES read|write|snapshot",
	  "mirror: fault the range in (a write fault breaks COW/KSM), or "
	  "snapshot what the primary maps" },
	{ "access", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES, ARG_MODE }, 3, 0,
	  MODE(SPTE_MODE_READ) | MODE(SPTE_MODE_WRITE),
	  "access GPA PAGES read|write",
	  "mirror: device read (checksummed) or rewrite of the range through "
	  "the shadow table" },
	{ "dump", SPTE_STEP_HOST, 0, { ARG_FILE }, 1, 1, 0,
	  "dump [FILE.json]",
	  "mirror: print the shadow table; also save it as JSON" },
	{ "events", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0,
	  "events",
	  "mirror: print the notifier events logged since the last 'events'" },
	{ "audit", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0,
	  "audit",
	  "mirror: check every leaf against the primary page tables" },
};

static const char *const mode_names[] = {
	[SPTE_MODE_READ] = "read",
	[SPTE_MODE_WRITE] = "write",
	[SPTE_MODE_SNAPSHOT] = "snapshot",
};

void spte_step_free(struct spte_step *step)
{
	if (!step)
		return;
	g_free(step->text);
	g_free(step->file);
	g_free(step);
}

static gboolean parse_mode(const struct verb *v, const char *word,
			   enum spte_step_mode *mode, GError **error)
{
	g_autoptr(GString) allowed = g_string_new(NULL);

	for (guint m = SPTE_MODE_READ; m < G_N_ELEMENTS(mode_names); m++) {
		if (!(v->modes & MODE(m)))
			continue;
		if (g_strcmp0(word, mode_names[m]) == 0) {
			*mode = m;
			return TRUE;
		}
		g_string_append_printf(allowed, "%s%s", allowed->len ? "|" : "",
				       mode_names[m]);
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "'%s' is not %s", word, allowed->str);
	return FALSE;
}

static gboolean parse_arg(const struct verb *v, enum arg_kind kind,
			  const char *word, struct spte_step *step,
			  GError **error)
{
	guint64 value;

	switch (kind) {
	case ARG_GPA:
		if (!spte_parse_u64(word, "GPA", &value, error))
			return FALSE;
		if (value % 4096) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "GPA %s is not 4 KiB aligned", word);
			return FALSE;
		}
		step->gpa = value;
		return TRUE;
	case ARG_PAGES:
		if (!spte_parse_u64(word, "PAGES", &value, error))
			return FALSE;
		if (value == 0 || value > (G_MAXUINT64 >> 12)) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "PAGES %s is out of range", word);
			return FALSE;
		}
		step->pages = value;
		return TRUE;
	case ARG_PATTERN:
		if (!spte_parse_u64(word, "PATTERN", &value, error))
			return FALSE;
		/* A byte pattern means every byte, as memset would. */
		step->pattern = value <= 0xff ? value * 0x0101010101010101ULL
					      : value;
		return TRUE;
	case ARG_MODE:
		return parse_mode(v, word, &step->mode, error);
	case ARG_FILE:
		step->file = g_strdup(word);
		return TRUE;
	}
	g_assert_not_reached();
}

static struct spte_step *parse_step(const char *text, guint index,
				    GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(spte_step) step = NULL;
	const struct verb *v = NULL;

	for (guint i = 0; words[i]; i++)
		if (words[i][0])
			g_ptr_array_add(argv, words[i]);

	for (guint i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (g_strcmp0(argv->pdata[0], verbs[i].name) == 0)
			v = &verbs[i];
	if (!v) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "step %u '%s': unknown command '%s' (see spte run "
			    "--help)", index, text, (char *)argv->pdata[0]);
		return NULL;
	}
	if (argv->len - 1 > v->nargs || argv->len - 1 < v->nargs - v->optional) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "step %u '%s': expected '%s'", index, text, v->usage);
		return NULL;
	}

	step = g_new0(struct spte_step, 1);
	step->verb = v->name;
	step->where = v->where;
	step->index = index;
	step->text = g_strdup(text);
	step->op = v->op;
	for (guint i = 0; i < argv->len - 1; i++) {
		if (!parse_arg(v, v->args[i], argv->pdata[i + 1], step, error)) {
			g_prefix_error(error, "step %u '%s': ", index, text);
			return NULL;
		}
	}
	if (g_strcmp0(v->name, "touch") == 0)
		step->op = step->mode == SPTE_MODE_WRITE ? SPTE_OP_TOUCH_WRITE
							 : SPTE_OP_TOUCH_READ;
	return g_steal_pointer(&step);
}

GPtrArray *spte_script_parse(const char *script, GError **error)
{
	g_autoptr(GPtrArray) steps =
		g_ptr_array_new_with_free_func((GDestroyNotify)spte_step_free);
	g_auto(GStrv) parts = g_strsplit_set(script, ";\n", -1);
	guint index = 0;

	for (guint i = 0; parts[i]; i++) {
		char *text = g_strstrip(parts[i]);
		struct spte_step *step;

		if (!text[0] || text[0] == '#')
			continue;
		step = parse_step(text, ++index, error);
		if (!step)
			return NULL;
		g_ptr_array_add(steps, step);
	}
	return g_steal_pointer(&steps);
}

char *spte_script_help(void)
{
	GString *out = g_string_new("Script steps, separated by ';':\n");

	for (guint i = 0; i < G_N_ELEMENTS(verbs); i++)
		g_string_append_printf(out, "  %-28s %s\n", verbs[i].usage,
				       verbs[i].help);
	g_string_append(out, "GPA and PATTERN take decimal or 0x-hex; a "
			"PATTERN up to 0xff fills every byte.\n"
			"Mirror steps need --mirror and the spte_mirror module "
			"(in the lab VM: spte lab -- spte run --mirror ...).\n");
	return g_string_free(out, FALSE);
}

gboolean spte_step_describe_result(const struct spte_step *step,
				   const struct spte_guest_result *res,
				   GString *out)
{
	g_string_append_printf(out, "%-30s ", step->text);
	switch (res->status) {
	case SPTE_STATUS_OK:
		break;
	case SPTE_STATUS_BAD_RANGE:
		g_string_append(out, "FAILED: range outside guest RAM");
		return FALSE;
	case SPTE_STATUS_MISMATCH:
		g_string_append_printf(out, "FAILED: %" G_GUINT64_FORMAT
			" of %" G_GUINT64_FORMAT " words differ, first at gpa "
			"%#" G_GINT64_MODIFIER "x: %#018" G_GINT64_MODIFIER "x, "
			"expected %#018" G_GINT64_MODIFIER "x",
			res->bad_words, step->pages * 512, res->first_bad_gpa,
			res->first_bad_value, step->pattern);
		return FALSE;
	default:
		g_string_append_printf(out, "FAILED: agent status %u",
				       res->status);
		return FALSE;
	}
	switch (step->op) {
	case SPTE_OP_FILL:
		g_string_append_printf(out, "ok: %" G_GUINT64_FORMAT " pages "
				       "filled with %#018" G_GINT64_MODIFIER "x",
				       res->pages, step->pattern);
		break;
	case SPTE_OP_VERIFY:
		g_string_append_printf(out, "ok: %" G_GUINT64_FORMAT " pages, "
				       "all %" G_GUINT64_FORMAT " words match",
				       res->pages, res->pages * 512);
		break;
	case SPTE_OP_CHECKSUM:
		g_string_append_printf(out, "ok: fnv1a64 %#018"
				       G_GINT64_MODIFIER "x over %"
				       G_GUINT64_FORMAT " pages",
				       res->value, res->pages);
		break;
	default:
		g_string_append_printf(out, "ok: %" G_GUINT64_FORMAT " pages "
				       "touched", res->pages);
		break;
	}
	return TRUE;
}
