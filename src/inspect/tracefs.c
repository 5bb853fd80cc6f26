// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "spte_error.h"
#include "tracefs.h"

static const char *const roots[] = {
	"/sys/kernel/tracing",
	"/sys/kernel/debug/tracing",
};

/* Every tracefs has a 'trace' file; an empty mount point has none. */
static gboolean mounted_at(const char *root)
{
	g_autofree char *trace = g_build_filename(root, "trace", NULL);

	return g_file_test(trace, G_FILE_TEST_EXISTS);
}

const char *spte_tracefs_root(GError **error)
{
	int err = ENOENT;

	for (guint i = 0; i < G_N_ELEMENTS(roots); i++)
		if (mounted_at(roots[i]))
			return roots[i];
	/* the kernel makes /sys/kernel/tracing when it has tracefs (5.4+) */
	if (mount("nodev", roots[0], "tracefs", 0, NULL) < 0)
		err = errno;
	else if (mounted_at(roots[0]))
		return roots[0];
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
		    "tracefs is not mounted (looked at %s and %s) and could "
		    "not be mounted at %s: %s", roots[0], roots[1], roots[0],
		    g_strerror(err));
	return NULL;
}
