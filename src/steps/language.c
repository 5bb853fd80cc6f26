// SPDX-License-Identifier: GPL-2.0
/*
 * The step language: find a step's verb among the families' tables and
 * parse its arguments by their kinds; a script of steps; --help from the
 * same tables.
 */
#include <stdio.h>
#include <string.h>

#include "families.h"
#include "language.h"
#include "parse.h"
#include "spte_error.h"

/*
 * Every step family, in the order --help lists them (within each of its
 * groups: in the guest, on the mirror, on the host, checks).
 */
static const struct spte_step_family *const families[] = {
	&spte_agent_steps,
	&spte_mirror_steps,
	&spte_view_steps,
	&spte_host_steps,
	&spte_migrate_steps,
	&spte_uffd_steps,
	&spte_fork_steps,
	&spte_reclaim_steps,
	&spte_damon_steps,
	&spte_lru_gen_steps,
	&spte_expect_steps,
};

const struct spte_verb *spte_verb_find(const char *name)
{
	for (guint f = 0; f < G_N_ELEMENTS(families); f++)
		for (guint i = 0; i < families[f]->n_verbs; i++)
			if (g_strcmp0(name, families[f]->verbs[i].name) == 0)
				return &families[f]->verbs[i];
	return NULL;
}

static guint verb_nargs(const struct spte_verb *v)
{
	guint n = 0;

	while (n < SPTE_STEP_MAX_ARGS && v->args[n] != SPTE_ARG_NONE)
		n++;
	return n;
}

static const char *const mode_names[] = {
	[SPTE_MODE_READ] = "read",
	[SPTE_MODE_WRITE] = "write",
	[SPTE_MODE_SNAPSHOT] = "snapshot",
};

static gboolean parse_mode(const struct spte_verb *v, const char *word,
			   enum spte_step_mode *mode, GError **error)
{
	g_autoptr(GString) allowed = g_string_new(NULL);

	for (guint m = SPTE_MODE_READ; m < G_N_ELEMENTS(mode_names); m++) {
		if (!(v->modes & SPTE_MODE_BIT(m)))
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

static gboolean parse_word(const struct spte_verb *v, const char *word,
			   struct spte_step *step, GError **error)
{
	g_autoptr(GString) allowed = g_string_new(NULL);

	for (const struct spte_step_word *w = v->words; w->name; w++) {
		if (g_str_equal(word, w->name)) {
			step->name = g_strdup(word);
			step->choice = w->value;
			return TRUE;
		}
		g_string_append_printf(allowed, "%s%s", allowed->len ? "|" : "",
				       w->name);
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "'%s' is not %s", word, allowed->str);
	return FALSE;
}

static gboolean parse_arg(const struct spte_verb *v, enum spte_arg kind,
			  const char *word, struct spte_step *step,
			  GError **error)
{
	guint64 value;

	switch (kind) {
	case SPTE_ARG_GPA:
		if (!spte_parse_u64(word, "GPA", &value, error))
			return FALSE;
		if (value % 4096) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "GPA %s is not 4 KiB aligned", word);
			return FALSE;
		}
		step->gpa = value;
		return TRUE;
	case SPTE_ARG_PAGES:
		if (!spte_parse_u64(word, "PAGES", &value, error))
			return FALSE;
		if (value == 0 || value > (G_MAXUINT64 >> 12)) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "PAGES %s is out of range", word);
			return FALSE;
		}
		step->pages = value;
		return TRUE;
	case SPTE_ARG_PATTERN:
		if (!spte_parse_u64(word, "PATTERN", &value, error))
			return FALSE;
		/* A byte pattern means every byte, as memset would. */
		step->pattern = value <= 0xff ? value * 0x0101010101010101ULL
					      : value;
		return TRUE;
	case SPTE_ARG_MODE:
		return parse_mode(v, word, &step->mode, error);
	case SPTE_ARG_FILE:
		/* dump NAME keeps it for the report; dump FILE.json saves it */
		if (g_str_has_suffix(word, ".json") || strchr(word, '/'))
			step->file = g_strdup(word);
		else
			step->name = g_strdup(word);
		return TRUE;
	case SPTE_ARG_WORD:
		return parse_word(v, word, step, error);
	case SPTE_ARG_COUNT:
		return spte_parse_u64(word, "number", &step->count, error);
	case SPTE_ARG_SIZE:
		return spte_parse_size(word, "SIZE", &step->count, error);
	case SPTE_ARG_NONE:
		break;
	}
	g_assert_not_reached();
}

gboolean spte_step_parse_range(struct spte_step *step, const char *gpa,
			       const char *pages, GError **error)
{
	return parse_arg(NULL, SPTE_ARG_GPA, gpa, step, error) &&
	       parse_arg(NULL, SPTE_ARG_PAGES, pages, step, error);
}

/*
 * "since X.Y:" or "before X.Y:" at the start of @argv: set the bound and
 * return how many words it took (0 if there is none).
 */
static int parse_kernel_bound(char **argv, struct spte_step *step,
			      GError **error)
{
	unsigned int major, minor;
	char colon, extra;
	guint32 *bound;

	if (g_strcmp0(argv[0], "since") == 0)
		bound = &step->since;
	else if (g_strcmp0(argv[0], "before") == 0)
		bound = &step->before;
	else
		return 0;
	if (!argv[1] || sscanf(argv[1], "%u.%u%c%c", &major, &minor, &colon,
			       &extra) != 3 || colon != ':' || !argv[2]) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected '%s MAJOR.MINOR: STEP', e.g. '%s 6.9: expect ...'",
			    argv[0], argv[0]);
		return -1;
	}
	if (*bound) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "'%s' given twice", argv[0]);
		return -1;
	}
	*bound = SPTE_KMAJMIN(major, minor);
	return 2;
}

struct spte_step *spte_step_parse(const char *text, guint index,
				  GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(spte_step) step = g_new0(struct spte_step, 1);
	const struct spte_verb *v;
	guint nargs;
	int n;

	for (guint i = 0; words[i]; i++)
		if (words[i][0])
			g_ptr_array_add(argv, words[i]);
	g_ptr_array_add(argv, NULL);

	/* at most one of each, in either order */
	for (int i = 0; i < 2; i++) {
		n = parse_kernel_bound((char **)argv->pdata, step, error);
		if (n < 0)
			return NULL;
		g_ptr_array_remove_range(argv, 0, n);
	}
	if (step->since && step->before && step->since >= step->before) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "'since %u.%u' and 'before %u.%u' leave no kernel",
			    step->since >> 16, step->since & 0xffff,
			    step->before >> 16, step->before & 0xffff);
		return NULL;
	}

	v = spte_verb_find(argv->pdata[0]);
	if (!v) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown step '%s' (see spte run --help)",
			    (char *)argv->pdata[0]);
		return NULL;
	}
	step->verb = v;
	step->where = v->where;
	step->needs_mirror = v->where == SPTE_STEP_MIRROR;
	step->index = index;
	step->text = g_strdup(text);
	step->op = v->op;
	if (v->parse) {
		step->words = g_strdupv((char **)argv->pdata + 1);
		if (!v->parse(step, error))
			return NULL;
		return g_steal_pointer(&step);
	}
	nargs = verb_nargs(v);
	if (argv->len - 2 > nargs || argv->len - 2 < nargs - v->optional) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected '%s'", v->usage);
		return NULL;
	}
	for (guint i = 0; i < argv->len - 2; i++)
		if (!parse_arg(v, v->args[i], argv->pdata[i + 1], step, error))
			return NULL;
	if (v->op_by_mode[step->mode])
		step->op = v->op_by_mode[step->mode];
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
		step = spte_step_parse(text, ++index, error);
		if (!step) {
			g_prefix_error(error, "step %u '%s': ", index, text);
			return NULL;
		}
		g_ptr_array_add(steps, step);
	}
	return g_steal_pointer(&steps);
}

char *spte_script_help(void)
{
	static const char *const titles[] = {
		[SPTE_STEP_AGENT] = "In the guest",
		[SPTE_STEP_MIRROR] = "On the mirror (needs --mirror)",
		[SPTE_STEP_HOST] = "On the host side of guest RAM",
		[SPTE_STEP_EXPECT] = "Checks",
	};
	GString *out = g_string_new("Script steps, separated by ';':\n");

	for (guint w = 0; w < G_N_ELEMENTS(titles); w++) {
		g_string_append_printf(out, " %s:\n", titles[w]);
		for (guint f = 0; f < G_N_ELEMENTS(families); f++) {
			const struct spte_step_family *fam = families[f];

			for (guint i = 0; i < fam->n_verbs; i++)
				if (fam->verbs[i].where == w)
					g_string_append_printf(out,
						"  %-34s %s\n",
						fam->verbs[i].usage,
						fam->verbs[i].help);
		}
	}
	g_string_append(out, "GPA and PATTERN take decimal or 0x-hex; a "
			"PATTERN up to 0xff fills every byte.\n"
			"Mirror steps need --mirror and the spte_mirror module "
			"(in the lab VM: spte lab -- spte run --mirror ...).\n");
	return g_string_free(out, FALSE);
}

