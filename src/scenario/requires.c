// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "requires.h"

/*
 * One row per word.  A kernel feature is there when its path exists: each
 * of these files is created by the code its CONFIG_ option builds, so a
 * missing one is the kernel's lack, not a mount or a module this machine
 * could add.  A setup is checked by its own function.
 */
struct requirement {
	const char *word;
	const char *feature;	/* NULL: no kernel part */
	const char *config;
	const char *path;
	/* NULL when met, else what is missing (static) */
	const char *(*setup_lack)(const char *root);
};

static gboolean exists(const char *root, const char *path)
{
	g_autofree char *p = g_strconcat(root, path, NULL);

	return g_file_test(p, G_FILE_TEST_EXISTS);
}

static const char *module_lack(const char *root)
{
	return exists(root, "/dev/spte_mirror") ? NULL :
	       "the spte_mirror module (/dev/spte_mirror)";
}

static const char *swap_lack(const char *root)
{
	g_autofree char *path = g_strconcat(root, "/proc/swaps", NULL);
	g_autofree char *swaps = NULL;
	const char *nl;

	/* a header line, then one line per active swap area */
	if (g_file_get_contents(path, &swaps, NULL, NULL)) {
		nl = strchr(swaps, '\n');
		if (nl && nl[1])
			return NULL;
	}
	return "an active swap area (/proc/swaps)";
}

static const char *memcg_lack(const char *root)
{
	return exists(root, "/sys/fs/cgroup/cgroup.subtree_control") ? NULL :
	       "cgroup v2 at /sys/fs/cgroup";
}

static const char *numa2_lack(const char *root)
{
	return exists(root, "/sys/devices/system/node/node1") ? NULL :
	       "two NUMA nodes (/sys/devices/system/node/node1)";
}

/* the kernel makes it with lru_gen/enabled, but debugfs may be unmounted */
static const char *lru_gen_debugfs_lack(const char *root)
{
	return exists(root, "/sys/kernel/debug/lru_gen") ? NULL :
	       "debugfs at /sys/kernel/debug (its lru_gen file)";
}

static const struct requirement requirements[] = {
	{ "module", NULL, NULL, NULL, module_lack },
	{ "ksm", "KSM", "CONFIG_KSM", "/sys/kernel/mm/ksm/run", NULL },
	{ "khugepaged", "transparent hugepages and khugepaged",
	  "CONFIG_TRANSPARENT_HUGEPAGE",
	  "/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans", NULL },
	{ "swap", NULL, NULL, NULL, swap_lack },
	{ "memcg", NULL, NULL, NULL, memcg_lack },
	{ "numa=2", NULL, NULL, NULL, numa2_lack },
	/* mm/damon/sysfs.c: damon_sysfs_init() */
	{ "damon", "DAMON's sysfs interface", "CONFIG_DAMON_SYSFS",
	  "/sys/kernel/mm/damon/admin", NULL },
	/* mm/vmscan.c: init_lru_gen() makes both */
	{ "lru_gen", "the multi-gen LRU", "CONFIG_LRU_GEN",
	  "/sys/kernel/mm/lru_gen/enabled", lru_gen_debugfs_lack },
};

static const struct requirement *find(const char *word)
{
	for (guint i = 0; i < G_N_ELEMENTS(requirements); i++)
		if (g_str_equal(word, requirements[i].word))
			return &requirements[i];
	return NULL;
}

gboolean spte_requires_known(const char *word)
{
	return find(word) != NULL;
}

char *spte_requires_list(void)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < G_N_ELEMENTS(requirements); i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "",
				       requirements[i].word);
	return g_string_free(s, FALSE);
}

enum spte_requires_lack spte_requires_first_lack(const char *const *words,
						 const char *root,
						 const char **word,
						 char **what)
{
	for (guint i = 0; words[i]; i++) {
		const struct requirement *r = find(words[i]);
		const char *lack;

		if (!r)		/* blanks between words; parsing knows the rest */
			continue;
		*word = r->word;
		if (r->feature && !exists(root, r->path)) {
			*what = g_strdup_printf("%s (%s: %s is missing)",
						r->feature, r->config, r->path);
			return SPTE_REQUIRES_KERNEL;
		}
		lack = r->setup_lack ? r->setup_lack(root) : NULL;
		if (lack) {
			*what = g_strdup(lack);
			return SPTE_REQUIRES_SETUP;
		}
	}
	return SPTE_REQUIRES_MET;
}
