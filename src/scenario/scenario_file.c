// SPDX-License-Identifier: GPL-2.0
#include <gio/gio.h>
#include <string.h>

#include "language.h"
#include "parse.h"
#include "requires.h"
#include "scenario_file.h"
#include "spte-scenarios.h"
#include "spte_error.h"

#define RESOURCE_DIR "/org/spte-lab/scenarios/"

static const char *const known_keys[] = {
	"name", "summary", "memory", "backing", "thp", "requires", "sequence",
	NULL
};

void spte_scenario_free(struct spte_scenario *sc)
{
	if (!sc)
		return;
	g_free(sc->name);
	g_free(sc->summary);
	g_free(sc->origin);
	g_free(sc->sequence);
	g_strfreev(sc->requires);
	if (sc->steps)
		g_ptr_array_unref(sc->steps);
	g_free(sc);
}

/* Where each key of [scenario] was written, for messages. */
struct header {
	GString *text;		/* the group, for GKeyFile */
	GHashTable *lines;	/* key -> line number */
	guint line;		/* of the [scenario] line itself */
};

static gboolean fail(GError **error, const char *origin, guint line,
		     const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static gboolean fail(GError **error, const char *origin, guint line,
		     const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line)
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID, "%s:%u: %s",
			    origin, line, msg);
	else
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID, "%s: %s",
			    origin, msg);
	return FALSE;
}

static guint key_line(const struct header *h, const char *key)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(h->lines, key));
}

static gboolean header_line(struct header *h, const char *line, guint n,
			    const char *origin, GError **error)
{
	const char *eq = strchr(line, '=');
	g_autofree char *key = NULL;

	if (!eq)
		return fail(error, origin, n, "expected 'key = value' in "
			    "[scenario], got '%s'", line);
	key = g_strstrip(g_strndup(line, eq - line));
	if (!g_strv_contains(known_keys, key)) {
		g_autofree char *list = g_strjoinv(", ", (char **)known_keys);

		return fail(error, origin, n, "unknown key '%s' (known: %s)",
			    key, list);
	}
	if (g_hash_table_contains(h->lines, key))
		return fail(error, origin, n, "'%s' given twice (first on line "
			    "%u)", key, key_line(h, key));
	g_hash_table_insert(h->lines, g_steal_pointer(&key),
			    GUINT_TO_POINTER(n));
	g_string_append_printf(h->text, "%s\n", line);
	return TRUE;
}

static gboolean parse_mem(struct spte_scenario *sc, GKeyFile *kf,
			  const struct header *h, const char *origin,
			  GError **error)
{
	g_autofree char *memory = g_key_file_get_string(kf, "scenario",
							"memory", NULL);
	g_autofree char *backing = g_key_file_get_string(kf, "scenario",
							 "backing", NULL);
	g_autofree char *thp = g_key_file_get_string(kf, "scenario", "thp",
						     NULL);
	g_autoptr(GError) local = NULL;

	sc->mem = (struct spte_mem_opts){ .size = 4ULL << 20 };
	if (memory && !spte_parse_size(memory, "memory", &sc->mem.size, &local))
		return fail(error, origin, key_line(h, "memory"), "%s",
			    local->message);
	if (sc->mem.size % (2ULL << 20) || !sc->mem.size)
		return fail(error, origin, key_line(h, "memory"), "memory = %s "
			    "is not a multiple of 2M", memory);
	if (backing && !spte_backing_from_string(backing, &sc->mem.backing,
						 &local))
		return fail(error, origin, key_line(h, "backing"), "%s",
			    local->message);
	if (!thp || g_str_equal(thp, "default"))
		sc->mem.thp = SPTE_THP_DEFAULT;
	else if (g_str_equal(thp, "hugepage"))
		sc->mem.thp = SPTE_THP_HUGEPAGE;
	else if (g_str_equal(thp, "nohugepage"))
		sc->mem.thp = SPTE_THP_NOHUGEPAGE;
	else
		return fail(error, origin, key_line(h, "thp"), "thp = %s: "
			    "expected default, hugepage or nohugepage", thp);
	return TRUE;
}

static gboolean parse_header(struct spte_scenario *sc, const struct header *h,
			     const char *origin, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autofree char *requires = NULL;
	g_autofree char *name = NULL;

	if (!h->line)
		return fail(error, origin, 0, "no [scenario] group");
	if (!g_key_file_load_from_data(kf, h->text->str, h->text->len,
				       G_KEY_FILE_NONE, &local))
		return fail(error, origin, h->line, "%s", local->message);
	name = g_key_file_get_string(kf, "scenario", "name", NULL);
	if (name) {
		for (const char *c = name; *c; c++)
			if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
				return fail(error, origin, key_line(h, "name"),
					    "name '%s': use letters, digits, "
					    "'-' and '_'", name);
		g_free(sc->name);
		sc->name = g_steal_pointer(&name);
	}
	sc->summary = g_key_file_get_string(kf, "scenario", "summary", NULL);
	if (!sc->summary || !*sc->summary)
		return fail(error, origin, h->line, "[scenario] needs a "
			    "'summary = one line saying what it shows'");
	sc->sequence = g_key_file_get_string(kf, "scenario", "sequence", NULL);
	requires = g_key_file_get_string(kf, "scenario", "requires", NULL);
	sc->requires = g_strsplit_set(requires ? requires : "", " \t,", -1);
	for (guint i = 0; sc->requires[i]; i++) {
		if (!*sc->requires[i])
			continue;
		if (!spte_requires_known(sc->requires[i])) {
			g_autofree char *list = spte_requires_list();

			return fail(error, origin, key_line(h, "requires"),
				    "requires: unknown '%s' (known: %s)",
				    sc->requires[i], list);
		}
		if (g_str_equal(sc->requires[i], "numa=2"))
			sc->numa_nodes = 2;
	}
	return parse_mem(sc, kf, h, origin, error);
}

/* The sequence is made of the same words as 'expect sequence'. */
static gboolean check_sequence(const struct spte_scenario *sc,
			       const struct header *h, const char *origin,
			       GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(spte_step) step = NULL;
	g_autoptr(GError) local = NULL;

	if (!sc->sequence)
		return TRUE;
	text = g_strconcat("expect sequence 0 1 ", sc->sequence, NULL);
	step = spte_step_parse(text, key_line(h, "sequence"), &local);
	if (!step)
		return fail(error, origin, key_line(h, "sequence"),
			    "sequence: %s", local->message);
	return TRUE;
}

struct spte_scenario *spte_scenario_parse(const char *text, const char *origin,
					  const char *default_name,
					  GError **error)
{
	g_autoptr(spte_scenario) sc = g_new0(struct spte_scenario, 1);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	struct header h = {
		.text = g_string_new("[scenario]\n"),
		.lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       NULL),
	};
	enum { NONE, HEADER, STEPS } group = NONE;
	guint steps_line = 0;
	gboolean ok = TRUE;

	sc->name = g_strdup(default_name);
	sc->origin = g_strdup(origin);
	sc->steps = g_ptr_array_new_with_free_func(
		(GDestroyNotify)spte_step_free);
	for (guint i = 0; lines[i] && ok; i++) {
		char *line = g_strstrip(lines[i]);
		guint n = i + 1;
		struct spte_step *step;
		g_autoptr(GError) local = NULL;

		if (!*line || *line == '#')
			continue;
		if (g_str_equal(line, "[scenario]") && !h.line) {
			group = HEADER;
			h.line = n;
		} else if (g_str_equal(line, "[steps]") && !steps_line) {
			group = STEPS;
			steps_line = n;
		} else if (*line == '[') {
			ok = fail(error, origin, n, "unexpected group %s "
				  "(a file has one [scenario] and one [steps])",
				  line);
		} else if (group == HEADER) {
			ok = header_line(&h, line, n, origin, error);
		} else if (group == STEPS) {
			step = spte_step_parse(line, n, &local);
			if (step)
				g_ptr_array_add(sc->steps, step);
			else
				ok = fail(error, origin, n, "%s",
					  local->message);
		} else {
			ok = fail(error, origin, n, "'%s' before the "
				  "[scenario] group", line);
		}
	}
	if (ok)
		ok = parse_header(sc, &h, origin, error) &&
		     check_sequence(sc, &h, origin, error);
	for (guint i = 0; ok && i < sc->steps->len; i++) {
		const struct spte_step *step = sc->steps->pdata[i];

		if (step->needs_mirror &&
		    !g_strv_contains((const char *const *)sc->requires,
				     "module"))
			ok = fail(error, origin, step->index, "'%s' acts on "
				  "the mirror: add 'module' to requires",
				  step->text);
	}
	if (ok && !sc->steps->len)
		ok = fail(error, origin, steps_line, "no steps (a [steps] "
			  "group with one step per line)");
	g_string_free(h.text, TRUE);
	g_hash_table_unref(h.lines);
	return ok ? g_steal_pointer(&sc) : NULL;
}

GBytes *spte_scenario_builtin_text(const char *name)
{
	g_autofree char *path = g_strconcat(RESOURCE_DIR, name, ".scenario",
					    NULL);

	return g_resource_lookup_data(spte_scenarios_get_resource(), path,
				      G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
}

static struct spte_scenario *load_builtin(const char *name, GError **error)
{
	g_autofree char *origin = g_strconcat("built-in ", name, NULL);
	g_autoptr(GBytes) bytes = spte_scenario_builtin_text(name);
	g_autofree char *text = NULL;

	if (!bytes)
		return NULL;
	text = g_strndup(g_bytes_get_data(bytes, NULL),
			 g_bytes_get_size(bytes));
	return spte_scenario_parse(text, origin, name, error);
}

struct spte_scenario *spte_scenario_load(const char *name_or_file,
					 GError **error)
{
	g_autofree char *text = NULL;
	g_autofree char *base = NULL;
	struct spte_scenario *sc;
	char *dot;

	if (!strchr(name_or_file, '/') &&
	    !g_str_has_suffix(name_or_file, ".scenario")) {
		g_autoptr(GError) local = NULL;

		sc = load_builtin(name_or_file, &local);
		if (local)
			g_propagate_error(error, g_steal_pointer(&local));
		if (sc || (error && *error))
			return sc;
		if (!g_file_test(name_or_file, G_FILE_TEST_EXISTS)) {
			g_auto(GStrv) names = spte_scenario_builtin_names();
			g_autofree char *list = g_strjoinv(", ", names);

			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "no scenario '%s': not built in (%s) and "
				    "no such file", name_or_file, list);
			return NULL;
		}
	}
	if (!g_file_get_contents(name_or_file, &text, NULL, error))
		return NULL;
	base = g_path_get_basename(name_or_file);
	dot = strrchr(base, '.');
	if (dot && dot != base)
		*dot = '\0';
	return spte_scenario_parse(text, name_or_file, base, error);
}

/*
 * scenarios/list, compiled in beside the files it names: one name a line,
 * in the order a newcomer should read them (the list is the tour).
 */
GStrv spte_scenario_builtin_names(void)
{
	g_autoptr(GBytes) list = g_resource_lookup_data(
		spte_scenarios_get_resource(), RESOURCE_DIR "list",
		G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	g_autofree char *text = list ? g_strndup(g_bytes_get_data(list, NULL),
						 g_bytes_get_size(list)) : NULL;
	g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint i = 0; lines[i]; i++)
		if (*lines[i])
			g_strv_builder_add(b, lines[i]);
	return g_strv_builder_end(b);
}
