// SPDX-License-Identifier: GPL-2.0
/*
 * spte dump FILE.json: show a dump saved by the 'dump FILE' step of
 * spte run --mirror, as text (an EPT walk) or re-emitted as JSON.
 */
#include <stdio.h>

#include "cli.h"
#include "dump_json.h"
#include "dump_text.h"
#include "spte_error.h"

static gboolean show(const char *path, gboolean as_json, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GString) out = g_string_new(NULL);
	struct spte_mirror_table *t;

	if (!json_parser_load_from_file(parser, path, error)) {
		g_prefix_error(error, "%s: ", path);
		return FALSE;
	}
	t = spte_dump_from_json(json_parser_get_root(parser), error);
	if (!t) {
		g_prefix_error(error, "%s: ", path);
		return FALSE;
	}
	if (as_json) {
		g_autoptr(JsonNode) node = spte_dump_to_json(t);
		g_autofree char *text = json_to_string(node, TRUE);

		g_string_append_printf(out, "%s\n", text);
	} else {
		spte_dump_format_text(t, out);
	}
	spte_mirror_table_free(t);
	fputs(out->str, stdout);
	return TRUE;
}

int spte_cmd_dump(int argc, char **argv)
{
	gboolean as_json = FALSE;
	const GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &as_json,
		  "Print JSON instead of the EPT-walk text", NULL },
		{ NULL }
	};
	g_autoptr(GError) error = NULL;

	if (!spte_cli_options("dump", &argc, &argv, entries,
		"FILE.json - show a saved mirror dump",
		"Dumps are saved by the 'dump FILE.json' step of\n"
		"  spte run --mirror --exec '...; dump before.json; ...'\n"))
		return 2;
	if (argc != 2) {
		fprintf(stderr, "spte dump: expected one FILE.json (try 'spte "
			"dump --help')\n");
		return 2;
	}
	if (!show(argv[1], as_json, &error)) {
		spte_cli_error("dump", error);
		return 1;
	}
	return 0;
}
