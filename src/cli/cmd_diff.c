// SPDX-License-Identifier: GPL-2.0
/*
 * spte diff: compare two mirror dumps page by page.
 *
 *   spte diff A.json B.json	two dumps (or reports: their --from/--to dump)
 *   spte diff REPORT.json	a scenario report's "before" -> "after"
 *
 * A dump is what 'spte run --mirror --exec "dump FILE.json"' saves; a
 * report is an object with "dumps": {name: dump, ...} and optionally
 * "scenario": "name".  Nothing else of a report is read.
 */
#include <stdio.h>

#include "cli.h"
#include "dump_json.h"
#include "dump_diff.h"
#include "svg.h"
#include "spte_error.h"

struct diff_input {
	const char *path;
	JsonParser *parser;
	JsonObject *dumps;	/* a report's "dumps", else NULL */
	const char *scenario;
};

static void input_clear(struct diff_input *in)
{
	g_clear_object(&in->parser);
}

static gboolean input_load(struct diff_input *in, const char *path,
			   GError **error)
{
	JsonNode *root;
	JsonObject *o;

	in->path = path;
	in->parser = json_parser_new();
	/* json-glib's messages name the file already */
	if (!json_parser_load_from_file(in->parser, path, error))
		return FALSE;
	root = json_parser_get_root(in->parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: expected a JSON object (a spte_mirror dump or "
			    "a scenario report)", path);
		return FALSE;
	}
	o = json_node_get_object(root);
	if (json_object_has_member(o, "scenario") &&
	    JSON_NODE_HOLDS_VALUE(json_object_get_member(o, "scenario")))
		in->scenario = json_object_get_string_member_with_default(o,
							"scenario", NULL);
	if (!json_object_has_member(o, "dumps"))
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, "dumps"))) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: the report's 'dumps' is not an object of "
			    "named dumps", path);
		return FALSE;
	}
	in->dumps = json_object_get_object_member(o, "dumps");
	return TRUE;
}

/* The dump @name of a report, or the file itself if it is a dump. */
static struct spte_mirror_table *input_dump(struct diff_input *in,
					    const char *name, GError **error)
{
	struct spte_mirror_table *t;
	JsonNode *node;

	if (!in->dumps) {
		t = spte_dump_from_json(json_parser_get_root(in->parser), error);
		if (!t)
			g_prefix_error(error, "%s: ", in->path);
		return t;
	}
	node = json_object_get_member(in->dumps, name);
	if (!node) {
		g_autoptr(GList) names = json_object_get_members(in->dumps);
		g_autoptr(GString) have = g_string_new(NULL);

		for (GList *l = names; l; l = l->next)
			g_string_append_printf(have, "%s%s", have->len ? ", " : "",
					       (const char *)l->data);
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: the report has no dump '%s' (it has: %s)",
			    in->path, name, have->len ? have->str : "none");
		return NULL;
	}
	t = spte_dump_from_json(node, error);
	if (!t)
		g_prefix_error(error, "%s: dumps.%s: ", in->path, name);
	return t;
}

static void free_table(struct spte_mirror_table **t)
{
	if (*t)
		spte_mirror_table_free(*t);
	*t = NULL;
}

struct diff_opts {
	gboolean as_json;
	char *from;
	char *to;
	char *svg;
};

static gboolean write_svg(const struct diff_opts *o, const char *title,
			  const struct spte_mirror_table *a,
			  const struct spte_mirror_table *b,
			  const char *la, const char *lb, GError **error)
{
	const struct spte_mirror_table *tables[] = { a, b };
	const char *labels[] = { la, lb };
	g_autofree char *svg = spte_svg_render(title, 0, tables, NULL, labels,
					       2, error);

	if (!svg || !g_file_set_contents(o->svg, svg, -1, error)) {
		g_prefix_error(error, "%s: ", o->svg);
		return FALSE;
	}
	fprintf(stderr, "spte diff: wrote %s\n", o->svg);
	return TRUE;
}

static gboolean run_diff(const struct diff_opts *o, int nfiles, char **files,
			 GError **error)
{
	struct diff_input in[2] = { { 0 } };
	struct spte_mirror_table *a = NULL, *b = NULL;
	g_autoptr(spte_dump_diff) d = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *la = NULL, *lb = NULL, *title = NULL;
	gboolean ok = FALSE;

	for (int i = 0; i < nfiles; i++)
		if (!input_load(&in[i], files[i], error))
			goto out;
	if (nfiles == 1) {
		const char *from = o->from ? o->from : "before";
		const char *to = o->to ? o->to : "after";

		if (!in[0].dumps) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "%s is a single dump, not a scenario report: "
				    "give two dumps to compare", files[0]);
			goto out;
		}
		a = input_dump(&in[0], from, error);
		b = a ? input_dump(&in[0], to, error) : NULL;
		la = g_strdup(from);
		lb = g_strdup(to);
	} else {
		const char *from = o->from ? o->from : "after";
		const char *to = o->to ? o->to : "after";

		a = input_dump(&in[0], from, error);
		b = a ? input_dump(&in[1], to, error) : NULL;
		la = in[0].dumps ? g_strdup_printf("%s:%s", files[0], from) :
				   g_strdup(files[0]);
		lb = in[1].dumps ? g_strdup_printf("%s:%s", files[1], to) :
				   g_strdup(files[1]);
	}
	if (!a || !b)
		goto out;

	d = spte_dump_diff_new(a, b);
	title = in[0].scenario ? g_strdup_printf("%s: %s -> %s",
						 in[0].scenario, la, lb) :
				 g_strdup_printf("%s -> %s", la, lb);
	if (o->svg && !write_svg(o, title, a, b, la, lb, error))
		goto out;
	if (o->as_json) {
		g_autoptr(JsonNode) node = spte_dump_diff_to_json(d);
		JsonObject *obj = json_node_get_object(node);
		g_autofree char *text = NULL;

		json_object_set_string_member(obj, "from", la);
		json_object_set_string_member(obj, "to", lb);
		text = json_to_string(node, TRUE);
		g_string_append_printf(out, "%s\n", text);
	} else {
		g_string_append_printf(out, "%s\n", title);
		spte_dump_diff_format(d, out);
	}
	fputs(out->str, stdout);
	ok = TRUE;
out:
	free_table(&a);
	free_table(&b);
	input_clear(&in[0]);
	input_clear(&in[1]);
	return ok;
}

int spte_cmd_diff(int argc, char **argv)
{
	struct diff_opts o = { 0 };
	const GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &o.as_json,
		  "Print the diff as JSON", NULL },
		{ "from", 0, 0, G_OPTION_ARG_STRING, &o.from,
		  "Dump of the first report to start from (default: before "
		  "with one report, after with two)", "NAME" },
		{ "to", 0, 0, G_OPTION_ARG_STRING, &o.to,
		  "Dump of the (last) report to compare with (default: after)",
		  "NAME" },
		{ "svg", 0, 0, G_OPTION_ARG_FILENAME, &o.svg,
		  "Also draw both dumps side by side into FILE.svg", "FILE" },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("A.json [B.json] - compare two mirror dumps");
	g_autoptr(GError) error = NULL;
	int ret = 0;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"Each file is a dump saved by the 'dump FILE.json' step of\n"
		"  spte run --mirror, or a scenario report (an object with\n"
		"  \"dumps\": {name: dump}).  With one report, its \"before\" and\n"
		"  \"after\" dumps are compared.  Pages are compared over GPAs\n"
		"  (a 2M leaf is 512 pages); runs of the same change fold into\n"
		"  one line named as a kernel engineer would: collapsed, split,\n"
		"  merged, un-shared, write-protected, zapped, faulted in...\n"
		"\nExit status: 0 compared, 1 unreadable input, 2 bad usage.\n");
	if (!spte_cli_parse(ctx, "diff", &argc, &argv)) {
		ret = 2;
		goto out;
	}
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "spte diff: expected A.json B.json or one "
			"REPORT.json (try 'spte diff --help')\n");
		ret = 2;
		goto out;
	}
	if (!run_diff(&o, argc - 1, argv + 1, &error)) {
		spte_cli_error("diff", error);
		ret = 1;
	}
out:
	g_free(o.from);
	g_free(o.to);
	g_free(o.svg);
	return ret;
}
