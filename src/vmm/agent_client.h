/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_AGENT_CLIENT_H
#define SPTE_AGENT_CLIENT_H

#include <glib.h>

#include <spte/guest_abi.h>

#include "vcpu.h"

/*
 * The VMM's side of the agent protocol.  The agent alternates READY (waiting
 * for a command) and DONE (result in the mailbox); these calls keep the vCPU
 * parked at READY between commands.
 */
gboolean spte_agent_wait_ready(struct spte_vcpu *vcpu, GError **error);
gboolean spte_agent_call(struct spte_vcpu *vcpu,
			 const struct spte_guest_cmd *cmd,
			 struct spte_guest_result *res, GError **error);
/* Ask the agent to halt and run it until it does. */
gboolean spte_agent_halt(struct spte_vcpu *vcpu, GError **error);

#endif
