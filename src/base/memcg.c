// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "knobs.h"
#include "memcg.h"
#include "spte_error.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

char *spte_memcg_path(GError **error)
{
	g_autofree char *text = NULL;
	char *path;

	if (!g_file_get_contents("/proc/self/cgroup", &text, NULL, error))
		return NULL;
	/* cgroup v2 only: "0::/some/path" */
	path = strstr(text, "0::");
	if (!path) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this process is in no cgroup v2 hierarchy");
		return NULL;
	}
	path = g_strstrip(path + 3);
	if (g_str_equal(path, "/")) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this process is in the root cgroup, which has no "
			    "memory.reclaim (a scenario that reclaims says "
			    "'requires = memcg')");
		return NULL;
	}
	return g_strdup(path);
}

char *spte_memcg_dir(GError **error)
{
	g_autofree char *path = spte_memcg_path(error);

	return path ? g_build_filename(CGROUP_ROOT, path, NULL) : NULL;
}

gboolean spte_memcg_enter(GError **error)
{
	g_autofree char *dir = g_strdup_printf(CGROUP_ROOT "/spte-lab-%d",
					       getpid());
	g_autofree char *procs = g_build_filename(dir, "cgroup.procs", NULL);
	g_autofree char *pid = g_strdup_printf("%d", getpid());

	if (!g_file_test(CGROUP_ROOT "/cgroup.subtree_control",
			 G_FILE_TEST_EXISTS)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "no cgroup v2 at " CGROUP_ROOT " (the lab VM "
			    "mounts one)");
		return FALSE;
	}
	if (!spte_knob_write(CGROUP_ROOT "/cgroup.subtree_control", "+memory",
			     error))
		return FALSE;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return spte_set_errno(error, errno, "mkdir %s", dir);
	return spte_knob_write(procs, pid, error);
}
