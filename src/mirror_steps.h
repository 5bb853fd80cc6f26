/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_MIRROR_STEPS_H
#define SPTE_MIRROR_STEPS_H

#include <glib.h>

#include "exec_script.h"
#include "mirror/spte_mirror.h"
#include "vm.h"

/*
 * `spte run --mirror`: guest RAM registered as one slot of the spte_mirror
 * module, and the host steps of an --exec script (map, access, dump,
 * events, audit) run against it while the vCPU is parked.
 */
struct spte_mirror_session {
	struct spte_mirror *mirror;
	struct spte_vm *vm;
};

gboolean spte_mirror_session_open(struct spte_mirror_session *s,
				  struct spte_vm *vm, GError **error);
void spte_mirror_session_close(struct spte_mirror_session *s);

/* Run one host step, print its result; *ok cleared if a check failed. */
gboolean spte_mirror_run_step(struct spte_mirror_session *s,
			      const struct spte_step *step, gboolean *ok,
			      GError **error);

#endif
