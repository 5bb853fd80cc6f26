/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_VCPU_H
#define SPTE_VCPU_H

#include <glib.h>
#include <linux/kvm.h>

#include "vm.h"

struct spte_vcpu {
	struct spte_vm *vm;
	int fd;
	guint id;
	struct kvm_run *run;
	GString *serial_line;	/* console bytes up to the next newline */
	gint64 boot_ns;		/* g_get_monotonic_time() of the boot port write, in ns; 0 before */
	guint64 exits;		/* KVM_RUN returns, for --stats */
};

/* Why spte_vcpu_run() returned without error. */
enum spte_stop {
	SPTE_STOP_UCALL,	/* the guest made a ucall: *ucall holds its number */
	SPTE_STOP_HALT,		/* the guest executed hlt */
};

gboolean spte_vcpu_create(struct spte_vm *vm, guint id, guint64 entry,
			  struct spte_vcpu **out, GError **error);
void spte_vcpu_destroy(struct spte_vcpu *vcpu);
typedef struct spte_vcpu spte_vcpu;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_vcpu, spte_vcpu_destroy)

/*
 * Run until the guest makes a ucall or halts.  Console output is handled on
 * the way.  Any other exit (shutdown, entry failure, internal error, an
 * unknown port or MMIO) is an error whose message names the exit and carries
 * a register dump.
 */
gboolean spte_vcpu_run(struct spte_vcpu *vcpu, enum spte_stop *stop,
		       guint32 *ucall, GError **error);

/* Append the general, control and segment registers to @out. */
void spte_vcpu_dump_regs(struct spte_vcpu *vcpu, GString *out);

const char *spte_exit_reason_name(guint32 reason);

#endif
