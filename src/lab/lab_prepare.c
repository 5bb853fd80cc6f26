// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_prepare.c - run the lab scripts that produce the kernel and the
 * initramfs.  The scripts do the caching; this side only runs them and
 * reads their answer from stdout, letting their progress go to stderr.
 */
#include <gio/gio.h>

#include "lab_private.h"

/* Run @argv, return its stdout; stderr passes through to ours. */
static char *run_script(const char *const *argv, GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree char *out = NULL;

	proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, error);
	if (!proc)
		return NULL;
	if (!g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, error))
		return NULL;
	if (!g_subprocess_get_if_exited(proc) ||
	    g_subprocess_get_exit_status(proc) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s failed (see its message above)", argv[0]);
		return NULL;
	}
	return g_steal_pointer(&out);
}

void lab_kernel_clear(struct lab_kernel *k)
{
	g_clear_pointer(&k->name, g_free);
	g_clear_pointer(&k->kver, g_free);
	g_clear_pointer(&k->vmlinuz, g_free);
	g_clear_pointer(&k->vmlinux, g_free);
	g_clear_pointer(&k->cmdline, g_free);
	g_clear_pointer(&k->moddir, g_free);
	g_clear_pointer(&k->headers, g_free);
}

/* The words fetch-kernel.sh @option prints, one a line, into @b. */
static gboolean add_names(const char *script, const char *option,
			  GStrvBuilder *b, GError **error)
{
	const char *argv[] = { script, option, NULL };
	g_autofree char *out = run_script(argv, error);
	g_auto(GStrv) lines = NULL;

	if (!out)
		return FALSE;
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_strstrip(*l);
		if (**l)
			g_strv_builder_add(b, *l);
	}
	return TRUE;
}

/*
 * lab/kernels' names, by fetch-kernel.sh: --list (the deb kernels, the
 * lab's default set, the default first), then with @on_demand those of
 * --list-on-demand (built by build-kernel.sh).
 */
char **lab_kernel_names(const char *script_dir, gboolean on_demand,
			GError **error)
{
	g_autofree char *script = g_build_filename(script_dir, "fetch-kernel.sh", NULL);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) names = NULL;

	if (!add_names(script, "--list", b, error) ||
	    (on_demand && !add_names(script, "--list-on-demand", b, error)))
		return NULL;
	names = g_strv_builder_end(b);
	if (!names[0]) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s --list printed no kernel", script);
		return NULL;
	}
	return g_steal_pointer(&names);
}

/*
 * Whether @name is a lab kernel (lab/kernels, by fetch-kernel.sh's
 * --list and --list-on-demand); if not, @error names the known ones.
 */
gboolean lab_kernel_known(const char *script_dir, const char *name,
			  GError **error)
{
	g_auto(GStrv) names = lab_kernel_names(script_dir, TRUE, error);
	g_autofree char *known = NULL;

	if (!names)
		return FALSE;
	if (g_strv_contains((const char *const *)names, name))
		return TRUE;
	known = g_strjoinv(", ", names);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		    "lab kernel '%s' (--kernel, or $SPTE_LAB_KERNEL) is not in lab/kernels, which has %s",
		    name, known);
	return FALSE;
}

/* @name: a lab/kernels name, NULL for the default (the script's first). */
gboolean lab_kernel_fetch(const char *script_dir, const char *name,
			  struct lab_kernel *k, GError **error)
{
	g_autofree char *script = g_build_filename(script_dir, "fetch-kernel.sh", NULL);
	const char *argv[] = { script, name, NULL };
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;

	out = run_script(argv, error);
	if (!out)
		return FALSE;

	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		const char *eq = strchr(*l, '=');
		g_autofree char *key = NULL;
		char **slot = NULL;

		if (!eq)
			continue;
		key = g_strndup(*l, eq - *l);
		if (g_str_equal(key, "SPTE_LAB_NAME"))
			slot = &k->name;
		else if (g_str_equal(key, "SPTE_LAB_KVER"))
			slot = &k->kver;
		else if (g_str_equal(key, "SPTE_LAB_VMLINUZ"))
			slot = &k->vmlinuz;
		else if (g_str_equal(key, "SPTE_LAB_VMLINUX"))
			slot = &k->vmlinux;
		else if (g_str_equal(key, "SPTE_LAB_MODDIR"))
			slot = &k->moddir;
		else if (g_str_equal(key, "SPTE_LAB_HEADERS"))
			slot = &k->headers;
		else if (g_str_equal(key, "SPTE_LAB_CMDLINE"))
			slot = &k->cmdline;
		if (slot && eq[1]) {
			g_free(*slot);
			*slot = g_strdup(eq + 1);
		}
	}
	if (!k->name || !k->kver || !k->vmlinuz) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s printed no SPTE_LAB_NAME/KVER/VMLINUZ", script);
		return FALSE;
	}
	return TRUE;
}

char *lab_initramfs_build(const char *script_dir, const char *kernel_name,
			  GPtrArray *files, GError **error)
{
	g_autofree char *script = g_build_filename(script_dir, "mkinitramfs.sh", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *out = NULL;
	char *last;

	g_ptr_array_add(argv, script);
	g_ptr_array_add(argv, (char *)"--kernel");
	g_ptr_array_add(argv, (char *)kernel_name);
	g_ptr_array_add(argv, (char *)"--");
	for (guint i = 0; i < files->len; i++)
		g_ptr_array_add(argv, files->pdata[i]);
	g_ptr_array_add(argv, NULL);

	out = run_script((const char *const *)argv->pdata, error);
	if (!out)
		return NULL;
	g_strchomp(out);
	last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	if (!*last || !g_file_test(last, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s did not print an initramfs path", script);
		return NULL;
	}
	return g_strdup(last);
}
