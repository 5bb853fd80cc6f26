// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

#include "spte-test.h"

void spte_test_skip_or_fail(const char *reason)
{
	if (g_getenv("CI") || g_getenv("SPTE_NO_SKIP"))
		g_error("%s (a skip is a failure under CI)", reason);
	g_test_skip(reason);
}

const char *spte_test_bin(void)
{
	const char *bin = g_getenv("SPTE_BIN");

	if (!bin)
		g_error("SPTE_BIN is not set: run the tests through meson");
	return bin;
}

void spte_test_run(struct spte_test_run *r, const char *arg, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	int wait_status = 0;
	va_list ap;

	g_ptr_array_add(argv, (char *)spte_test_bin());
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (char *)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);

	memset(r, 0, sizeof(*r));
	if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT,
			  NULL, NULL, &r->out, &r->err, &wait_status, &error))
		g_error("spawning %s: %s", spte_test_bin(), error->message);
	if (WIFEXITED(wait_status))
		r->status = WEXITSTATUS(wait_status);
	else
		r->status = 128 + WTERMSIG(wait_status);
	g_test_message("spte %s ... -> %d\nstdout:\n%s\nstderr:\n%s", arg,
		       r->status, r->out, r->err);
}

void spte_test_run_clear(struct spte_test_run *r)
{
	g_free(r->out);
	g_free(r->err);
	memset(r, 0, sizeof(*r));
}

void spte_test_add_table(const char *prefix, const void *cases, gsize n,
			 gsize size, gsize name_offset, GTestDataFunc fn)
{
	for (gsize i = 0; i < n; i++) {
		const char *c = (const char *)cases + i * size;
		const char *name = *(const char *const *)(c + name_offset);
		g_autofree char *path = g_strdup_printf("%s/%s", prefix, name);

		g_test_add_data_func(path, c, fn);
	}
}

char *spte_test_file(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
	return path;
}

void spte_test_remove_tree(const char *path)
{
	g_autoptr(GDir) dir = NULL;
	const char *name;

	if (!g_file_test(path, G_FILE_TEST_IS_SYMLINK))
		dir = g_dir_open(path, 0, NULL);
	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		spte_test_remove_tree(child);
	}
	g_remove(path);
}

const char *spte_test_line(char **lines, const char *needle)
{
	for (char **l = lines; *l; l++)
		if (strstr(*l, needle))
			return *l;
	g_error("no line with '%s'", needle);
	return NULL;
}
