/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM's binary statistics for one VM (KVM_GET_STATS_FD on the VM fd,
 * Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD").  They are the only
 * window userspace has on KVM's own secondary MMU: on x86, pages_4k,
 * pages_2m and pages_1g count the leaves KVM's TDP MMU currently maps.
 *
 * The descriptors are read once when the handle is opened; every lookup
 * reads the current value from the stats fd, so one handle can be sampled
 * before and after an operation.
 */
#ifndef SPTE_INSPECT_KVM_STATS_H
#define SPTE_INSPECT_KVM_STATS_H

#include <glib.h>

struct spte_kvm_stats;

/*
 * Open the statistics of the VM behind @vm_fd.  Fails with
 * SPTE_ERROR_UNSUPPORTED on kernels without KVM_GET_STATS_FD (before 5.14)
 * and SPTE_ERROR_FAILED when the header or descriptors cannot be read or
 * make no sense.
 */
gboolean spte_kvm_stats_open(int vm_fd, struct spte_kvm_stats **out,
			     GError **error);

/*
 * Current value of the statistic called @name ("pages_4k").  For a
 * statistic with several values (a histogram) this is the first one; see
 * spte_kvm_stats_get_values().  An unknown name is SPTE_ERROR_UNSUPPORTED,
 * so callers can treat arch-specific statistics as optional.
 */
gboolean spte_kvm_stats_get(struct spte_kvm_stats *s, const char *name,
			    guint64 *value, GError **error);

/*
 * All values of @name, as a newly allocated array of *@n u64s (free with
 * g_free()), or NULL with @error set.
 */
guint64 *spte_kvm_stats_get_values(struct spte_kvm_stats *s, const char *name,
				   guint *n, GError **error);

/* Whether KVM exports a statistic called @name. */
gboolean spte_kvm_stats_has(struct spte_kvm_stats *s, const char *name);

/* Names of every statistic in KVM's order, NULL-terminated; owned by @s. */
const char *const *spte_kvm_stats_names(struct spte_kvm_stats *s);

/* KVM's id string of the VM, "kvm-<pid of the creator>"; owned by @s. */
const char *spte_kvm_stats_id(struct spte_kvm_stats *s);

void spte_kvm_stats_free(struct spte_kvm_stats *s);
typedef struct spte_kvm_stats spte_kvm_stats;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_kvm_stats, spte_kvm_stats_free)

#endif
