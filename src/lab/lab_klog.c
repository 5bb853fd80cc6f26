// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_klog.c - the lab kernel's log, on a serial port of its own.
 *
 * ttyS0 carries the command; the kernel prints everything (loglevel=8) to
 * ttyS1, which QEMU appends to "kernel.log" in the control directory, after
 * spte lab's lines on how the lab ran (accel, kernel, QEMU).  So the
 * command's output stays clean while nothing the kernel said is lost, and
 * after the run the log is scanned for splats: a command that printed PASS
 * on a kernel that WARNed or soft-locked has still failed.
 *
 * The kernel parameters below turn every hang the kernel can detect into a
 * panic, and panic=-1 with QEMU's -no-reboot turns a panic into the end of
 * the VM: a lockup ends the lab within seconds of being detected, with every
 * CPU's backtrace in the log, instead of at --timeout.
 */
#include <string.h>
#include <gio/gio.h>

#include "lab_private.h"

const char lab_klog_params[] =
	"loglevel=8 panic=-1 oops=panic panic_on_warn=1 panic_print=0x40 "
	"softlockup_panic=1 softlockup_all_cpu_backtrace=1 "
	"hung_task_panic=1 sysctl.kernel.hung_task_timeout_secs=60 "
	"sysctl.kernel.panic_on_rcu_stall=1";

char *lab_klog_path(const char *ctl_dir)
{
	return g_build_filename(ctl_dir, LAB_KLOG_NAME, NULL);
}

gboolean lab_klog_start(const char *ctl_dir, const char *text, GError **error)
{
	g_autofree char *path = lab_klog_path(ctl_dir);

	return g_file_set_contents(path, text, -1, error);
}

/*
 * The first words of a message that make it a splat.  An optional
 * "subsystem: " prefix is allowed because the watchdog says
 * "watchdog: BUG: soft lockup".  The panic of an init that exited early is
 * not the kernel's failure: without a status from lab/init, spte lab says
 * so as LAB_EXIT_NO_STATUS.
 */
static const char splat_pattern[] =
	"^(?:[[:alnum:]_]+: )?(?:"
	"BUG: |kernel BUG at |WARNING: |Oops|general protection fault|"
	"INFO: task .* blocked for more than|"
	"INFO: .*(?:stall|stalls) |"
	"Kernel panic - not syncing: (?!Attempted to kill init)|"
	".*hard LOCKUP|UBSAN: |"
	".*suspected memory leak)";

/* "[   12.345678] message" -> "message" */
static const char *skip_timestamp(const char *line)
{
	const char *close = line[0] == '[' ? strchr(line, ']') : NULL;

	if (!close)
		return line;
	close++;
	while (*close == ' ')
		close++;
	return close;
}

#define EXCERPT_LINES 400

/*
 * Scan the log at @path.  Returns the first splat line (newly allocated)
 * or NULL if there is none; @excerpt gets that line and up to
 * EXCERPT_LINES after it (the backtraces), \r removed.
 */
char *lab_klog_find_splat(const char *path, GString *excerpt)
{
	g_autofree char *text = NULL;
	g_autoptr(GRegex) re = NULL;
	g_auto(GStrv) lines = NULL;
	char *first = NULL;
	int from = -1;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	re = g_regex_new(splat_pattern, G_REGEX_OPTIMIZE, 0, NULL);
	g_assert(re);
	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		char *cr = strchr(lines[i], '\r');

		if (cr)
			*cr = '\0';
		if (from < 0 &&
		    g_regex_match(re, skip_timestamp(lines[i]), 0, NULL)) {
			from = i;
			first = g_strdup(skip_timestamp(lines[i]));
		}
		if (from >= 0 && i - from <= EXCERPT_LINES)
			g_string_append_printf(excerpt, "%s\n", lines[i]);
	}
	return first;
}
