// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <sys/utsname.h>

#include "step.h"

void spte_step_free(struct spte_step *step)
{
	if (!step)
		return;
	g_free(step->text);
	g_free(step->file);
	g_free(step->name);
	g_strfreev(step->words);
	g_free(step);
}

guint32 spte_kernel_majmin(void)
{
	struct utsname u;
	unsigned int major, minor;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return SPTE_KMAJMIN(major, minor);
}

gboolean spte_step_runs_on(const struct spte_step *step, guint32 majmin,
			   GString *why)
{
	guint32 bound;
	const char *rel;

	if (step->since && majmin < step->since) {
		bound = step->since;
		rel = "before";
	} else if (step->before && majmin >= step->before) {
		bound = step->before;
		rel = "not before";
	} else {
		return TRUE;
	}
	g_string_append_printf(why, "kernel %u.%u is %s %u.%u", majmin >> 16,
			       majmin & 0xffff, rel, bound >> 16, bound & 0xffff);
	return FALSE;
}
