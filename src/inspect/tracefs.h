/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tracefs.h - where tracefs is, for the readers of KVM's tracepoints
 * (kvm_trace.c, kvm_leaf_tracker.c): /sys/kernel/tracing, else the older
 * /sys/kernel/debug/tracing.  Where neither is mounted, it is mounted at
 * /sys/kernel/tracing, as trace-cmd and perf (libtracefs, libapi) do, so
 * that tracing needs root and nothing more.
 */
#ifndef SPTE_INSPECT_TRACEFS_H
#define SPTE_INSPECT_TRACEFS_H

#include <glib.h>

/*
 * The directory tracefs is mounted at; or NULL with SPTE_ERROR_UNSUPPORTED
 * when it is nowhere and cannot be mounted (the error says why).
 */
const char *spte_tracefs_root(GError **error);

#endif
