// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "command_line.h"

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
