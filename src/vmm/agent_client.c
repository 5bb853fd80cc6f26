// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "agent_client.h"
#include "spte_error.h"

static struct spte_mailbox *mailbox(struct spte_vcpu *vcpu)
{
	return (struct spte_mailbox *)((guint8 *)vcpu->vm->sys.hva +
				       SPTE_SYS_MAILBOX);
}

static const char *ucall_name(guint32 nr)
{
	switch (nr) {
	case SPTE_UCALL_READY:
		return "READY";
	case SPTE_UCALL_DONE:
		return "DONE";
	case SPTE_UCALL_ABORT:
		return "ABORT";
	}
	return "unknown";
}

/* Run the vCPU until the agent makes the ucall @want. */
static gboolean run_until(struct spte_vcpu *vcpu, guint32 want, GError **error)
{
	enum spte_stop stop;
	guint32 nr = 0;

	if (!spte_vcpu_run(vcpu, &stop, &nr, error))
		return FALSE;
	if (stop == SPTE_STOP_HALT) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_GUEST,
			    "the guest halted while the VMM waited for its %s "
			    "call", ucall_name(want));
		return FALSE;
	}
	if (nr == SPTE_UCALL_ABORT) {
		struct spte_mailbox *mb = mailbox(vcpu);

		mb->message[sizeof(mb->message) - 1] = '\0';
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_GUEST,
			    "the guest agent aborted: %s", mb->message);
		return FALSE;
	}
	if (nr != want) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_GUEST,
			    "the guest made ucall %u (%s) where the VMM "
			    "expected %s", nr, ucall_name(nr), ucall_name(want));
		return FALSE;
	}
	return TRUE;
}

gboolean spte_agent_wait_ready(struct spte_vcpu *vcpu, GError **error)
{
	return run_until(vcpu, SPTE_UCALL_READY, error);
}

gboolean spte_agent_call(struct spte_vcpu *vcpu,
			 const struct spte_guest_cmd *cmd,
			 struct spte_guest_result *res, GError **error)
{
	struct spte_mailbox *mb = mailbox(vcpu);

	mb->cmd = *cmd;
	mb->seq++;
	if (!run_until(vcpu, SPTE_UCALL_DONE, error))
		return FALSE;
	*res = mb->res;
	return run_until(vcpu, SPTE_UCALL_READY, error);
}

gboolean spte_agent_halt(struct spte_vcpu *vcpu, GError **error)
{
	struct spte_mailbox *mb = mailbox(vcpu);
	enum spte_stop stop;
	guint32 nr = 0;

	mb->cmd = (struct spte_guest_cmd){ .op = SPTE_OP_HALT };
	mb->seq++;
	if (!spte_vcpu_run(vcpu, &stop, &nr, error))
		return FALSE;
	if (stop != SPTE_STOP_HALT) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_GUEST,
			    "the guest made ucall %u instead of halting", nr);
		return FALSE;
	}
	return TRUE;
}
