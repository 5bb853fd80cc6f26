// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_paths.c - find the lab scripts and the default payload.
 *
 * Both are looked up at run time relative to things that move together
 * (the environment, the source/build tree meson told us about, the running
 * executable), never through paths fixed in committed files.
 */
#include <string.h>
#include <gio/gio.h>

#include "lab_private.h"

#ifndef SPTE_LAB_SRC_DIR
#define SPTE_LAB_SRC_DIR ""
#endif
#ifndef SPTE_LAB_DATA_DIR
#define SPTE_LAB_DATA_DIR ""
#endif
#ifndef SPTE_LAB_BUILD_ROOT
#define SPTE_LAB_BUILD_ROOT ""
#endif

static gboolean has_scripts(const char *dir)
{
	g_autofree char *f = NULL;
	g_autofree char *m = NULL;

	if (!dir || !*dir)
		return FALSE;
	f = g_build_filename(dir, "fetch-kernel.sh", NULL);
	m = g_build_filename(dir, "mkinitramfs.sh", NULL);
	return g_file_test(f, G_FILE_TEST_IS_REGULAR) &&
	       g_file_test(m, G_FILE_TEST_IS_REGULAR);
}

/* $SPTE_LAB_DIR, else the source tree's lab/, else the installed copy. */
char *lab_script_dir(GError **error)
{
	const char *env = g_getenv("SPTE_LAB_DIR");

	if (env && *env) {
		if (has_scripts(env))
			return g_strdup(env);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "SPTE_LAB_DIR=%s has no fetch-kernel.sh/mkinitramfs.sh",
			    env);
		return NULL;
	}
	if (has_scripts(SPTE_LAB_SRC_DIR))
		return g_strdup(SPTE_LAB_SRC_DIR);
	if (has_scripts(SPTE_LAB_DATA_DIR))
		return g_strdup(SPTE_LAB_DATA_DIR);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		    "lab scripts not found (tried %s and %s); set SPTE_LAB_DIR",
		    *SPTE_LAB_SRC_DIR ? SPTE_LAB_SRC_DIR : "(no source tree)",
		    *SPTE_LAB_DATA_DIR ? SPTE_LAB_DATA_DIR : "(no install dir)");
	return NULL;
}

/* Add the first of @candidates that exists, if any. */
static void add_first(GPtrArray *files, const char *what,
		      const char *const *candidates, gboolean verbose)
{
	for (; *candidates; candidates++) {
		if (g_file_test(*candidates, G_FILE_TEST_IS_REGULAR)) {
			g_ptr_array_add(files, g_canonicalize_filename(*candidates, NULL));
			return;
		}
	}
	if (verbose)
		g_printerr("spte lab: no %s found next to the spte binary; not included\n",
			   what);
}

/*
 * The running binary itself (so `spte ...` works inside), plus the guest
 * agent and the module built for lab kernel @kernel_name when they have
 * been built.  They are built by other parts of the tree, so their absence
 * is normal and only mentioned with --verbose.
 */
void lab_default_files(GPtrArray *files, const char *kernel_name,
		       gboolean verbose)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *ko = g_strdup_printf("spte_mirror-%s.ko", kernel_name);
	g_autofree char *dir = NULL;
	g_autofree char *agent1 = NULL, *agent2 = NULL, *agent3 = NULL;
	g_autofree char *mod1 = NULL, *mod2 = NULL;

	if (!exe)
		return;
	g_ptr_array_add(files, g_strdup(exe));

	dir = g_path_get_dirname(exe);
	agent1 = g_build_filename(dir, "..", "guest", "spte-agent", NULL);
	agent2 = g_build_filename(dir, "spte-agent", NULL);
	mod1 = g_build_filename(dir, "..", "host", ko, NULL);
	/* A build-tree binary that is not <build>/src/spte (e.g. spte-lab). */
	if (*SPTE_LAB_BUILD_ROOT) {
		agent3 = g_build_filename(SPTE_LAB_BUILD_ROOT, "guest", "spte-agent", NULL);
		mod2 = g_build_filename(SPTE_LAB_BUILD_ROOT, "host", ko, NULL);
	}

	const char *agents[] = { agent1, agent2, agent3, NULL };
	const char *mods[] = { mod1, mod2, NULL };

	add_first(files, "spte-agent", agents, verbose);
	add_first(files, ko, mods, verbose);
}

/*
 * The kernel release a module was built for: the first word of its
 * .modinfo "vermagic=" string ("6.12.117+deb12-amd64 SMP preempt ...").
 */
static char *module_vermagic(const char *path, GError **error)
{
	static const char key[] = "vermagic=";
	g_autofree char *data = NULL;
	gsize len;
	const char *p, *end, *word;

	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	end = data + len;
	for (p = data; (p = memmem(p, end - p, key, sizeof(key) - 1)); p++) {
		/* a .modinfo string starts after a NUL */
		if (p > data && p[-1] != '\0')
			continue;
		word = p + sizeof(key) - 1;
		return g_strndup(word, strcspn(word, " "));
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "%s has no vermagic: not a kernel module", path);
	return NULL;
}

/*
 * A module built for another kernel would fail to load inside, or worse,
 * load into a kernel whose structures it misreads: every .ko that goes in
 * must say it was built for @kver.
 */
gboolean lab_check_modules(GPtrArray *files, const char *kver, GError **error)
{
	for (guint i = 0; i < files->len; i++) {
		const char *f = files->pdata[i];
		g_autofree char *magic = NULL;

		if (!g_str_has_suffix(f, ".ko"))
			continue;
		magic = module_vermagic(f, error);
		if (!magic)
			return FALSE;
		if (!g_str_equal(magic, kver)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s was built for kernel %s, the lab kernel is %s: rebuild it (meson compile -C build) or choose its kernel with --kernel",
				    f, magic, kver);
			return FALSE;
		}
	}
	return TRUE;
}
