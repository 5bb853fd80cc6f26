// SPDX-License-Identifier: GPL-2.0
/*
 * What the subcommands share: see cli.h.
 */
#include "cli.h"

gboolean spte_cli_options(const char *cmd, int *argc, char ***argv,
			  const GOptionEntry *entries, const char *params,
			  const char *description)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(params);

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx, description);
	return spte_cli_parse(ctx, cmd, argc, argv);
}
