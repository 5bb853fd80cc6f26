// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_paths.c - find the lab scripts and the default payload.
 *
 * Both are looked up at run time relative to things that move together
 * (the environment, the source/build tree and the install dirs meson told
 * us about, the running executable), never through paths fixed in
 * committed files.
 */
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "lab_private.h"

/* Set by meson: the source tree's lab/, the build tree, the install dirs. */
#ifndef SPTE_LAB_SRC_DIR
#define SPTE_LAB_SRC_DIR ""
#endif
#ifndef SPTE_LAB_BUILD_ROOT
#define SPTE_LAB_BUILD_ROOT ""
#endif
#ifndef SPTE_LAB_BINDIR
#define SPTE_LAB_BINDIR ""
#endif
#ifndef SPTE_LAB_PKGLIBEXECDIR
#define SPTE_LAB_PKGLIBEXECDIR ""
#endif
#ifndef SPTE_LAB_DATA_DIR
#define SPTE_LAB_DATA_DIR ""
#endif

/* One place the lab's parts can come from: a build tree or an install. */
struct lab_tree {
	const char *what;	/* for messages: "build tree", "install" */
	char *scripts;		/* fetch-kernel.sh, mkinitramfs.sh and theirs */
	char *agent_dir;	/* spte-agent */
	char *module_dir;	/* spte_mirror-NAME.ko */
};

#define LAB_TREES_MAX 2
struct lab_trees {
	struct lab_tree tree[LAB_TREES_MAX];
	int n;
};

static void add_build_tree(struct lab_trees *t)
{
	if (!*SPTE_LAB_BUILD_ROOT)
		return;
	t->tree[t->n++] = (struct lab_tree){
		.what = "build tree",
		.scripts = g_strdup(SPTE_LAB_SRC_DIR),
		.agent_dir = g_build_filename(SPTE_LAB_BUILD_ROOT, "guest", NULL),
		.module_dir = g_build_filename(SPTE_LAB_BUILD_ROOT, "host", NULL),
	};
}

/* @root: "" for the prefix itself, else the DESTDIR it was installed to. */
static void add_install(struct lab_trees *t, const char *root)
{
	t->tree[t->n++] = (struct lab_tree){
		.what = "install",
		.scripts = g_strconcat(root, SPTE_LAB_DATA_DIR, NULL),
		.agent_dir = g_strconcat(root, SPTE_LAB_PKGLIBEXECDIR, NULL),
		.module_dir = g_strconcat(root, SPTE_LAB_PKGLIBEXECDIR, NULL),
	};
}

static gboolean dir_is_under(const char *dir, const char *top)
{
	gsize len = strlen(top);

	return !strncmp(dir, top, len) && (dir[len] == '/' || !dir[len]);
}

/*
 * Where to look, by where the running binary is, so that the lab a
 * binary boots is made of the parts it came with: an installed one (spte
 * in the bindir, spte-lab in the libexecdir, under the prefix or under a
 * DESTDIR) takes the copies installed beside it; one in the build tree
 * the source tree's scripts and the build tree's agent and modules; one
 * anywhere else the installed copies, then the build tree's.
 */
static void lab_trees_find(struct lab_trees *t)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
	g_autofree char *build = *SPTE_LAB_BUILD_ROOT ?
		realpath(SPTE_LAB_BUILD_ROOT, NULL) : NULL;
	const char *installed[] = { SPTE_LAB_BINDIR, SPTE_LAB_PKGLIBEXECDIR };

	t->n = 0;
	/* first: a DESTDIR may lie anywhere, the build tree included */
	for (guint i = 0; dir && i < G_N_ELEMENTS(installed); i++) {
		if (*installed[i] && g_str_has_suffix(dir, installed[i])) {
			g_autofree char *root = g_strndup(dir,
				strlen(dir) - strlen(installed[i]));

			add_install(t, root);
			return;
		}
	}
	if (dir && build && dir_is_under(dir, build)) {
		add_build_tree(t);
		return;
	}
	add_install(t, "");
	add_build_tree(t);
}

static void lab_trees_clear(struct lab_trees *t)
{
	for (int i = 0; i < t->n; i++) {
		g_free(t->tree[i].scripts);
		g_free(t->tree[i].agent_dir);
		g_free(t->tree[i].module_dir);
	}
	t->n = 0;
}

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

/* $SPTE_LAB_DIR, else the scripts of the tree the binary belongs to. */
char *lab_script_dir(GError **error)
{
	const char *env = g_getenv("SPTE_LAB_DIR");
	struct lab_trees t;
	g_autoptr(GString) tried = g_string_new(NULL);
	char *found = NULL;

	if (env && *env) {
		if (has_scripts(env))
			return g_strdup(env);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "SPTE_LAB_DIR=%s has no fetch-kernel.sh/mkinitramfs.sh",
			    env);
		return NULL;
	}
	lab_trees_find(&t);
	for (int i = 0; i < t.n && !found; i++) {
		if (has_scripts(t.tree[i].scripts))
			found = g_strdup(t.tree[i].scripts);
		g_string_append_printf(tried, "%s%s (%s)", i ? ", " : "",
				       t.tree[i].scripts, t.tree[i].what);
	}
	if (!found)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "lab scripts not found in %s; set SPTE_LAB_DIR",
			    tried->str);
	lab_trees_clear(&t);
	return found;
}

/* Add @name from the first of @dirs (@n of them) that has it. */
static void add_first(GPtrArray *files, const char *name,
		      char *const *dirs, int n, gboolean verbose)
{
	g_autoptr(GString) tried = g_string_new(NULL);

	for (int i = 0; i < n; i++) {
		g_autofree char *path = g_build_filename(dirs[i], name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
			g_ptr_array_add(files, g_canonicalize_filename(path, NULL));
			return;
		}
		g_string_append_printf(tried, "%s%s", i ? ", " : "", dirs[i]);
	}
	if (verbose)
		g_printerr("spte lab: no %s in %s; not included\n", name,
			   tried->str);
}

/*
 * The running binary itself (so `spte ...` works inside), plus the guest
 * agent and the module built for lab kernel @kernel_name, from the tree
 * the binary belongs to.  They are built by other parts of the tree, so
 * their absence is normal and only mentioned with --verbose.
 */
void lab_default_files(GPtrArray *files, const char *kernel_name,
		       gboolean verbose)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *ko = g_strdup_printf("spte_mirror-%s.ko", kernel_name);
	struct lab_trees t;
	char *agent_dirs[LAB_TREES_MAX] = { NULL };
	char *module_dirs[LAB_TREES_MAX] = { NULL };

	if (!exe)
		return;
	g_ptr_array_add(files, g_strdup(exe));
	lab_trees_find(&t);
	for (int i = 0; i < t.n; i++) {
		agent_dirs[i] = t.tree[i].agent_dir;
		module_dirs[i] = t.tree[i].module_dir;
	}
	add_first(files, "spte-agent", agent_dirs, t.n, verbose);
	add_first(files, ko, module_dirs, t.n, verbose);
	lab_trees_clear(&t);
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
