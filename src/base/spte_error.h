/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_ERROR_H
#define SPTE_ERROR_H

#include <glib.h>

/* One error domain for userspace; the message always names the problem. */
#define SPTE_ERROR (spte_error_quark())

enum spte_error_code {
	SPTE_ERROR_FAILED,	/* a system call failed; message has errno text */
	SPTE_ERROR_INVALID,	/* bad user input: flag, size, script, image */
	SPTE_ERROR_UNSUPPORTED,	/* KVM or the kernel lacks something we need */
	SPTE_ERROR_GUEST,	/* the guest stopped in a way it should not */
	SPTE_ERROR_NO_MODULE,	/* /dev/spte_mirror is missing */
	/* the running kernel lacks a feature a scenario needs: not a failure */
	SPTE_ERROR_NOT_APPLICABLE,
};

GQuark spte_error_quark(void);

/* Set *error from errno after a failed system call named by @what. */
gboolean spte_set_errno(GError **error, int err, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

#endif
