/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lab.h - the `spte lab` subcommand: run a command inside a disposable VM
 * that boots Debian's stock kernel under QEMU (KVM where the host runs
 * nested guests, TCG elsewhere), where kvm_amd or kvm_intel loads with
 * nested paging and spte_mirror.ko can be inserted.
 */
#ifndef SPTE_LAB_H
#define SPTE_LAB_H

#include <glib.h>

/*
 * Exit statuses of spte_cmd_lab() that are not the command's own.  They sit
 * where timeout(1) and env(1) put theirs so scripts can tell them apart from
 * ordinary command failures.
 */
enum {
	SPTE_LAB_EXIT_USAGE = 2,	/* bad options */
	SPTE_LAB_EXIT_KERNEL = 123,	/* the lab kernel BUG/WARN/Oops/locked up */
	SPTE_LAB_EXIT_TIMEOUT = 124,	/* --timeout expired, QEMU killed */
	SPTE_LAB_EXIT_NO_STATUS = 125,	/* the VM ended without reporting */
	SPTE_LAB_EXIT_SETUP = 126,	/* kernel, initramfs or QEMU failed, or
					 * --accel kvm on a host without nested KVM */
};

/*
 * spte_cmd_lab - `spte lab [OPTIONS] -- COMMAND [ARGS...]`
 * @argc, @argv: argv[0] is the subcommand name (ignored), the rest are
 *               options and the command, as on the command line.
 *
 * Returns the command's exit status inside the VM, or one of the
 * SPTE_LAB_EXIT_* codes above after printing one line on stderr.
 */
int spte_cmd_lab(int argc, char **argv);

/* What an exit status of spte_cmd_lab() above 1 means, or NULL. */
const char *spte_lab_exit_text(int status);

/*
 * The lab kernels' names as lab/kernels lists them: the default set
 * (fetch-kernel.sh --list, the default first), with @on_demand also the
 * kernels built on demand (--list-on-demand).  NULL and @error if the
 * scripts cannot be run.
 */
char **spte_lab_kernels(gboolean on_demand, GError **error);

#endif /* SPTE_LAB_H */
