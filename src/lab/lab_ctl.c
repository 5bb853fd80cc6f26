// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_ctl.c - the control share, mounted by lab/init at /run/spte-ctl.
 *
 * The command travels as a shell script rather than on the kernel command
 * line: the cmdline has a length limit and its own quoting, while a file on
 * 9p carries any argv intact.  The exit status comes back in "status".
 */
#include <errno.h>
#include <stdlib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "lab_private.h"

static void append_assign(GString *s, const char *name, const char *value)
{
	g_autofree char *q = g_shell_quote(value);

	g_string_append_printf(s, "%s=%s\n", name, q);
}

char *lab_ctl_create(const struct lab_opts *opts, GError **error)
{
	g_autofree char *dir = NULL;
	g_autofree char *env_path = NULL, *cmd_path = NULL;
	g_autoptr(GString) env = g_string_new(NULL);
	g_autoptr(GString) cmd = g_string_new(NULL);
	const char *term = g_getenv("TERM");

	dir = g_dir_make_tmp("spte-lab-XXXXXX", error);
	if (!dir)
		return NULL;

	append_assign(env, "SPTE_LAB_WORKDIR", opts->share);
	append_assign(env, "SPTE_LAB_VERBOSE", opts->verbose ? "1" : "0");
	/* for the command too: timings under TCG and under KVM differ */
	append_assign(env, "SPTE_LAB_ACCEL", lab_accel_name(opts->accel));
	g_string_append(env, "export SPTE_LAB_ACCEL\n");
	if (term && *term) {
		append_assign(env, "TERM", term);
		g_string_append(env, "export TERM\n");
	}

	g_string_append(cmd, "exec");
	for (char **a = opts->command; *a; a++) {
		g_autofree char *q = g_shell_quote(*a);

		g_string_append_printf(cmd, " %s", q);
	}
	g_string_append_c(cmd, '\n');

	env_path = g_build_filename(dir, "env", NULL);
	cmd_path = g_build_filename(dir, "cmd", NULL);
	if (!g_file_set_contents(env_path, env->str, env->len, error) ||
	    !g_file_set_contents(cmd_path, cmd->str, cmd->len, error)) {
		lab_ctl_remove(dir);
		return NULL;
	}
	return g_steal_pointer(&dir);
}

gboolean lab_ctl_read_status(const char *ctl_dir, int *status)
{
	g_autofree char *path = g_build_filename(ctl_dir, "status", NULL);
	g_autofree char *text = NULL;
	char *end;
	long v;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	g_strstrip(text);
	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < 0 || v > 255)
		return FALSE;
	*status = (int)v;
	return TRUE;
}

void lab_ctl_remove(const char *ctl_dir)
{
	static const char *const names[] = { "env", "cmd", "status",
					     LAB_KLOG_NAME };

	if (!ctl_dir)
		return;
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *p = g_build_filename(ctl_dir, names[i], NULL);

		g_unlink(p);
	}
	g_rmdir(ctl_dir);
}
