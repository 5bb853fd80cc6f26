// SPDX-License-Identifier: GPL-2.0
/* migrate GPA PAGES NODE: move_pages(2) guest RAM to another NUMA node. */
#include <errno.h>
#include <linux/mempolicy.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "families.h"
#include "spte_error.h"

/* glibc has no wrapper; libnuma's would be one more dependency */
static long sys_move_pages(unsigned long count, void **pages,
			   const int *nodes, int *status, int flags)
{
	return syscall(SYS_move_pages, 0, count, pages, nodes, status, flags);
}

static gboolean step_migrate(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error)
{
	char *hva = spte_session_hva(s, step->gpa, step->pages, error);
	g_autofree char *node_dir = g_strdup_printf(
		"/sys/devices/system/node/node%" G_GUINT64_FORMAT, step->count);
	g_autofree void **pages = NULL;
	g_autofree int *nodes = NULL, *status = NULL;
	guint64 moved = 0, failed = 0;
	int first_err = 0;

	if (!hva)
		return FALSE;
	if (!g_file_test(node_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "NUMA node %" G_GUINT64_FORMAT " does not exist "
			    "here (the lab VM has two with --numa 2)",
			    step->count);
		return FALSE;
	}
	pages = g_new(void *, step->pages);
	nodes = g_new(int, step->pages);
	status = g_new(int, step->pages);
	for (guint64 i = 0; i < step->pages; i++) {
		pages[i] = hva + (i << 12);
		nodes[i] = (int)step->count;
	}
	if (sys_move_pages(step->pages, pages, nodes, status, MPOL_MF_MOVE) < 0)
		return spte_set_errno(error, errno, "move_pages(%" G_GUINT64_FORMAT
				      " pages to node %" G_GUINT64_FORMAT ")",
				      step->pages, step->count);
	for (guint64 i = 0; i < step->pages; i++) {
		if (status[i] == (int)step->count) {
			moved++;
		} else {
			failed++;
			if (!first_err)
				first_err = status[i];
		}
	}
	g_string_append_printf(line, "ok: move_pages: %" G_GUINT64_FORMAT
			       " pages now on node %" G_GUINT64_FORMAT, moved,
			       step->count);
	if (failed)
		g_string_append_printf(line, ", %" G_GUINT64_FORMAT " not (first "
				       "status %d: %s)", failed, first_err,
				       first_err < 0 ? g_strerror(-first_err) :
				       "on another node");
	return TRUE;
}

static const struct spte_verb verbs[] = {
	{ .usage = "migrate GPA PAGES NODE", .run = step_migrate,
	  .help = "move_pages(2) the range to NUMA node NODE" },
};

const struct spte_step_family spte_migrate_steps =
	SPTE_STEP_FAMILY("migrate", SPTE_STEP_HOST, verbs);
