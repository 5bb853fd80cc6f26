// SPDX-License-Identifier: GPL-2.0
/*
 * reclaim SIZE: memory.reclaim on the VMM's memory cgroup.  The LRU asks
 * folio_referenced() first, which ages every secondary MMU through
 * clear_flush_young; pages nobody reports young are unmapped (a CLEAR
 * invalidation) and written to swap.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "knobs.h"
#include "memcg.h"
#include "families.h"
#include "spte_error.h"

static gboolean step_reclaim(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error)
{
	g_autofree char *dir = spte_memcg_dir(error);
	g_autofree char *knob = NULL;
	g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT,
						step->count);
	guint64 out0, out1;
	gboolean partial = FALSE;
	ssize_t n;
	int fd;

	if (!dir)
		return FALSE;
	knob = g_build_filename(dir, "memory.reclaim", NULL);
	if (!spte_vmstat("pswpout", &out0, error))
		return FALSE;
	fd = open(knob, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return spte_set_errno(error, errno, "opening %s", knob);
	n = write(fd, size, strlen(size));
	/* EAGAIN: less than SIZE could be reclaimed, which is a result */
	if (n < 0 && errno == EAGAIN)
		partial = TRUE;
	else if (n < 0) {
		spte_set_errno(error, errno, "writing %s to %s", size, knob);
		close(fd);
		return FALSE;
	}
	close(fd);
	if (!spte_vmstat("pswpout", &out1, error))
		return FALSE;
	g_string_append_printf(line, "ok: memory.reclaim %s: %" G_GUINT64_FORMAT
			       " pages swapped out%s", size, out1 - out0, partial ? " (short of the target)"
						    : "");
	return TRUE;
}

static const struct spte_verb verbs[] = {
	{ .usage = "reclaim SIZE", .run = step_reclaim,
	  .help = "reclaim SIZE from the VMM's memory cgroup, as memory pressure would (aging, then swap-out)" },
};

const struct spte_step_family spte_reclaim_steps =
	SPTE_STEP_FAMILY("reclaim", SPTE_STEP_HOST, verbs);
