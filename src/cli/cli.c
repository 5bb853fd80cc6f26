// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "spte_error.h"

gboolean spte_cli_parse(GOptionContext *ctx, const char *cmd, int *argc,
			char ***argv)
{
	g_autoptr(GError) error = NULL;

	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "spte %s: %s (try 'spte %s --help')\n", cmd,
			error->message, cmd);
		return FALSE;
	}
	return TRUE;
}

void spte_cli_error(const char *cmd, const GError *error)
{
	fprintf(stderr, "spte %s: %s\n", cmd, error->message);
}

/*
 * The bundled agent: $SPTE_AGENT, else beside the spte binary (installed
 * libexec layout and the lab's /opt/spte/bin), else the build tree.
 */
char *spte_find_agent(GError **error)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = exe ? g_path_get_dirname(exe) : g_strdup(".");
	const char *env = g_getenv("SPTE_AGENT");
	char *candidates[] = {
		g_build_filename(dir, "spte-agent", NULL),
		g_build_filename(dir, "..", "libexec", "spte-lab", "spte-agent", NULL),
		g_build_filename(dir, "..", "guest", "spte-agent", NULL),
	};
	char *found = NULL;

	if (env)
		found = g_strdup(env);
	for (guint i = 0; i < G_N_ELEMENTS(candidates); i++) {
		if (!found && g_file_test(candidates[i], G_FILE_TEST_IS_REGULAR))
			found = g_strdup(candidates[i]);
		g_free(candidates[i]);
	}
	if (!found)
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "the bundled guest agent (spte-agent) was not found "
			    "next to %s; pass --guest FILE or set SPTE_AGENT",
			    exe ? exe : "spte");
	return found;
}
