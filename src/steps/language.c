// SPDX-License-Identifier: GPL-2.0
/*
 * The step language: find a step's verb among the families' tables, read
 * its grammar from its usage line and parse the step's arguments by it; a
 * script of steps; --help from the same tables.
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

gboolean spte_verb_named(const struct spte_verb *v, const char *name)
{
	size_t len = strcspn(v->usage, " ");

	return strlen(name) == len && strncmp(v->usage, name, len) == 0;
}

static const struct spte_step_family *verb_family(const struct spte_verb *v)
{
	for (guint f = 0; f < G_N_ELEMENTS(families); f++)
		if (v >= families[f]->verbs &&
		    v < families[f]->verbs + families[f]->n_verbs)
			return families[f];
	g_assert_not_reached();
}

const struct spte_verb *spte_verb_find(const char *name)
{
	for (guint f = 0; f < G_N_ELEMENTS(families); f++)
		for (guint i = 0; i < families[f]->n_verbs; i++)
			if (spte_verb_named(&families[f]->verbs[i], name))
				return &families[f]->verbs[i];
	return NULL;
}

enum spte_step_where spte_verb_where(const struct spte_verb *v)
{
	return v->where ? v->where : verb_family(v)->where;
}

/* The kinds of argument a usage line's words name (step.h). */
enum arg_kind {
	ARG_GPA,
	ARG_PAGES,
	ARG_PATTERN,
	ARG_SIZE,
	ARG_FILE,
	ARG_MODE,
	ARG_WORD,
	ARG_COUNT,
};

static const struct {
	const char *word;
	enum arg_kind kind;
} placeholders[] = {
	{ "GPA", ARG_GPA },
	{ "PAGES", ARG_PAGES },
	{ "PATTERN", ARG_PATTERN },
	{ "SIZE", ARG_SIZE },
	{ "NAME|FILE.json", ARG_FILE },
};

static const struct spte_step_word modes[] = {
	{ "read", SPTE_MODE_READ },
	{ "write", SPTE_MODE_WRITE },
	{ "snapshot", SPTE_MODE_SNAPSHOT },
	{ NULL, 0 },
};

#define MAX_ARGS 4

/* A verb's arguments, as its usage line spells them. */
struct grammar {
	enum arg_kind kinds[MAX_ARGS];
	guint n;
	guint optional;		/* the last ones, in [] */
	guint modes;		/* the modes[] ARG_MODE allows, a bit each */
};

static gboolean grammar_error(GError **error, const struct spte_verb *v,
			      const char *word, const char *problem)
{
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "verb usage '%s': '%s' %s", v->usage, word, problem);
	return FALSE;
}

static gboolean is_capitals(const char *word)
{
	for (const char *c = word; *c; c++)
		if (!g_ascii_isupper(*c))
			return FALSE;
	return word[0] != '\0';
}

/* Where @name stands in @words, or -1. */
static int word_index(const struct spte_step_word *words, const char *name)
{
	for (int i = 0; words[i].name; i++)
		if (g_str_equal(name, words[i].name))
			return i;
	return -1;
}

static gboolean mode_kind(const struct spte_verb *v, const char *word,
			  struct grammar *g, GError **error)
{
	g_auto(GStrv) alternatives = g_strsplit(word, "|", -1);

	for (guint i = 0; alternatives[i]; i++) {
		int m = word_index(modes, alternatives[i]);

		if (m < 0)
			return grammar_error(error, v, alternatives[i],
					     "is no argument kind nor mode (step.h)");
		g->modes |= 1U << m;
	}
	return TRUE;
}

/* "a|b|c": the names of @words that @allowed has a bit for. */
static char *words_joined(const struct spte_step_word *words, guint allowed)
{
	GString *names = g_string_new(NULL);

	for (guint i = 0; words[i].name; i++)
		if (allowed & (1U << i))
			g_string_append_printf(names, "%s%s",
					       names->len ? "|" : "",
					       words[i].name);
	return g_string_free(names, FALSE);
}

/* A usage's a|b|... of .words spells them all, in their order. */
static gboolean words_spelt(const struct spte_verb *v, const char *word,
			    GError **error)
{
	g_autofree char *all = words_joined(v->words, ~0U);
	g_autofree char *problem = NULL;

	if (g_str_equal(word, all))
		return TRUE;
	problem = g_strdup_printf("is not its words, %s", all);
	return grammar_error(error, v, word, problem);
}

/* What one usage word after the verb's name takes. */
static gboolean word_kind(const struct spte_verb *v, const char *word,
			  struct grammar *g, GError **error)
{
	enum arg_kind *kind = &g->kinds[g->n];

	for (guint i = 0; i < G_N_ELEMENTS(placeholders); i++) {
		if (g_str_equal(word, placeholders[i].word)) {
			*kind = placeholders[i].kind;
			return TRUE;
		}
	}
	if (v->words) {
		guint n = 0;

		while (v->words[n].name)
			n++;
		/* parse_choice() takes a bit per word */
		if (n > 32)
			return grammar_error(error, v, word,
					     "has more than 32 words");
		*kind = ARG_WORD;
		return is_capitals(word) || words_spelt(v, word, error);
	}
	if (is_capitals(word)) {
		*kind = ARG_COUNT;
		return TRUE;
	}
	*kind = ARG_MODE;
	return mode_kind(v, word, g, error);
}

/* Read @v's grammar from its usage line. */
static gboolean verb_grammar(const struct spte_verb *v, struct grammar *g,
			     GError **error)
{
	g_auto(GStrv) words = g_strsplit(v->usage, " ", -1);

	*g = (struct grammar){ 0 };
	for (guint i = 1; words[i]; i++) {
		char *word = words[i];
		size_t len = strlen(word);

		if (g->n == MAX_ARGS)
			return grammar_error(error, v, word, "is one too many");
		if (len > 2 && word[0] == '[' && word[len - 1] == ']') {
			word[len - 1] = '\0';
			word++;
			g->optional++;
		} else if (g->optional) {
			return grammar_error(error, v, word,
					     "follows an optional argument");
		}
		if (!word_kind(v, word, g, error))
			return FALSE;
		g->n++;
	}
	return TRUE;
}

gboolean spte_verb_usage_check(const struct spte_verb *v, GError **error)
{
	struct grammar g;

	return v->parse || verb_grammar(v, &g, error);
}

gboolean spte_verbs_check(GError **error)
{
	for (guint f = 0; f < G_N_ELEMENTS(families); f++) {
		for (guint i = 0; i < families[f]->n_verbs; i++) {
			const struct spte_verb *v = &families[f]->verbs[i];
			g_autofree char *name =
				g_strndup(v->usage, strcspn(v->usage, " "));

			if (spte_verb_find(name) != v)
				return grammar_error(error, v, name,
						     "is the name of an earlier verb");
			if (!spte_verb_where(v))
				return grammar_error(error, v, name,
						     "has no place it runs");
			if (!spte_verb_usage_check(v, error))
				return FALSE;
		}
	}
	return TRUE;
}

/* @word as one of @words (those of @allowed, a bit each): its value. */
static gboolean parse_choice(const struct spte_step_word *words,
			     guint allowed, const char *word, int *value,
			     GError **error)
{
	int i = word_index(words, word);
	g_autofree char *names = NULL;

	if (i >= 0 && (allowed & (1U << i))) {
		*value = words[i].value;
		return TRUE;
	}
	names = words_joined(words, allowed);
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "'%s' is not %s", word, names);
	return FALSE;
}

static gboolean parse_arg(const struct spte_verb *v, const struct grammar *g,
			  enum arg_kind kind, const char *word,
			  struct spte_step *step, GError **error)
{
	guint64 value;
	int choice;

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
		if (!parse_choice(modes, g->modes, word, &choice, error))
			return FALSE;
		step->mode = choice;
		return TRUE;
	case ARG_FILE:
		/* dump NAME keeps it for the report; dump FILE.json saves it */
		if (g_str_has_suffix(word, ".json") || strchr(word, '/'))
			step->file = g_strdup(word);
		else
			step->name = g_strdup(word);
		return TRUE;
	case ARG_WORD:
		if (!parse_choice(v->words, ~0U, word, &step->choice, error))
			return FALSE;
		step->name = g_strdup(word);
		return TRUE;
	case ARG_COUNT:
		return spte_parse_u64(word, "number", &step->count, error);
	case ARG_SIZE:
		return spte_parse_size(word, "SIZE", &step->count, error);
	}
	g_assert_not_reached();
}

gboolean spte_step_parse_range(struct spte_step *step, const char *gpa,
			       const char *pages, GError **error)
{
	return parse_arg(NULL, NULL, ARG_GPA, gpa, step, error) &&
	       parse_arg(NULL, NULL, ARG_PAGES, pages, step, error);
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
	struct grammar g;
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
	step->where = spte_verb_where(v);
	step->needs_mirror = step->where == SPTE_STEP_MIRROR;
	step->index = index;
	step->text = g_strdup(text);
	step->op = v->op;
	if (v->parse) {
		step->words = g_strdupv((char **)argv->pdata + 1);
		if (!v->parse(step, error))
			return NULL;
		return g_steal_pointer(&step);
	}
	if (!verb_grammar(v, &g, error))
		return NULL;
	nargs = argv->len - 2;
	if (nargs > g.n || nargs < g.n - g.optional) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected '%s'", v->usage);
		return NULL;
	}
	for (guint i = 0; i < nargs; i++)
		if (!parse_arg(v, &g, g.kinds[i], argv->pdata[i + 1], step,
			       error))
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
	static const char *const titles[SPTE_STEP_WHERE_COUNT] = {
		[SPTE_STEP_AGENT] = "In the guest",
		[SPTE_STEP_MIRROR] = "On the mirror (needs --mirror)",
		[SPTE_STEP_HOST] = "On the host side of guest RAM",
		[SPTE_STEP_EXPECT] = "Checks",
	};
	GString *out = g_string_new("Script steps, separated by ';':\n");

	for (guint w = SPTE_STEP_AGENT; w < G_N_ELEMENTS(titles); w++) {
		g_string_append_printf(out, " %s:\n", titles[w]);
		for (guint f = 0; f < G_N_ELEMENTS(families); f++) {
			const struct spte_step_family *fam = families[f];

			for (guint i = 0; i < fam->n_verbs; i++)
				if (spte_verb_where(&fam->verbs[i]) == w)
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

