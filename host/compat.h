/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * spte_mirror: every difference between the kernels the module builds for.
 *
 * Nothing else in host/ tests LINUX_VERSION_* or KERNEL_VERSION(): code
 * elsewhere only asks for the SPTE_HAVE_* features defined here.  Where
 * the kernel offers something to test for, that is the test; otherwise a
 * version test names the upstream change it follows.
 */
#ifndef SPTE_COMPAT_H
#define SPTE_COMPAT_H

#include <linux/mmu_notifier.h>
#include <linux/version.h>

/*
 * The major.minor built against, as SPTE_MIRROR_VERSION reports it
 * (KERNEL_VERSION(maj, min, 0)): LINUX_VERSION_CODE without the sublevel,
 * which says nothing about the notifier API.
 */
#define SPTE_KVER KERNEL_VERSION(LINUX_VERSION_MAJOR, LINUX_VERSION_PATCHLEVEL, 0)

/*
 * ->invalidate_range became ->arch_invalidate_secondary_tlbs in 6.6
 * ("mmu_notifiers: rename invalidate_range notifier").  The rename left no
 * macro behind to test, so this one is a version test.  Code that needs the
 * new name tests #ifndef SPTE_HAVE_INVALIDATE_RANGE.
 */
#if KERNEL_VERSION(6, 6, 0) > SPTE_KVER
#define SPTE_HAVE_INVALIDATE_RANGE	1
#endif

/*
 * The same 6.6 series made __mmu_notifier_register() refuse (WARN and
 * -EINVAL) an ops table with ->arch_invalidate_secondary_tlbs next to
 * ->invalidate_range_start/end: "Subsystems should only register for
 * invalidate_secondary_tlbs() or invalidate_range_start()/end() callbacks,
 * not both".  From then on the secondary-TLB callback needs a subscription
 * of its own.
 */
#ifndef SPTE_HAVE_INVALIDATE_RANGE
#define SPTE_NEED_TLB_SUBSCRIPTION	1
#endif

/*
 * ->change_pte was removed in 6.10 together with its only caller
 * ("KVM, mm: remove the .change_pte() MMU notifier and set_pte_at_notify()").
 * set_pte_at_notify() is a macro of <linux/mmu_notifier.h>, so whether it
 * is defined is the feature test.
 */
#ifdef set_pte_at_notify
#define SPTE_HAVE_CHANGE_PTE		1
#endif

#endif /* SPTE_COMPAT_H */
