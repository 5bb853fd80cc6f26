// SPDX-License-Identifier: GPL-2.0
#include "agent_path.h"
#include "spte_error.h"

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
