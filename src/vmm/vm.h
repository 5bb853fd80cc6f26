/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_VM_H
#define SPTE_VM_H

#include <glib.h>
#include <linux/kvm.h>

#include "guest_mem.h"

/* Memslot numbers: the system slot is never mirrored, RAM slots are. */
#define SPTE_SLOT_SYS	0
#define SPTE_SLOT_RAM	1

struct spte_vm {
	int kvm_fd;
	int vm_fd;
	int run_size;			/* KVM_GET_VCPU_MMAP_SIZE */
	struct spte_region ram;		/* guest RAM at GPA 0 */
	struct spte_region sys;		/* the system slot */
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
};

/*
 * Open /dev/kvm, check the API version and every capability we rely on,
 * create the VM and its memory.  Errors name the missing piece.
 */
gboolean spte_vm_create(struct spte_vm **out, const struct spte_mem_opts *opts,
			GError **error);
void spte_vm_destroy(struct spte_vm *vm);
typedef struct spte_vm spte_vm;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_vm, spte_vm_destroy)

/* Host address of guest physical @gpa, or NULL outside every slot. */
void *spte_vm_gpa_to_hva(struct spte_vm *vm, guint64 gpa, guint64 len);

/* Load an ELF guest image into the system slot; @path is for messages. */
gboolean spte_vm_load_image(struct spte_vm *vm, const char *path,
			    guint64 *entry, GError **error);

#endif
