// SPDX-License-Identifier: GPL-2.0
/*
 * The VM: /dev/kvm, capabilities, memslots.  Shaped after kvmtool's kvm.c and
 * the selftests' kvm_util.c: every ioctl result is checked and every failure
 * says which step failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <spte/guest_abi.h>

#include "elf_load.h"
#include "spte_error.h"
#include "vm.h"
#include "x86_paging.h"

/*
 * VMX without unrestricted guest needs three pages for a real-mode TSS,
 * addressed with 32 bits, and a page for an identity map.  kvmtool's spot
 * for the TSS is fine unless RAM reaches it; then we leave it unset (only
 * such old VMX hosts would need it, and they cannot run guests that big).
 */
#define SPTE_TSS_GPA		0xfffbd000ULL
#define SPTE_IDMAP_GPA		(SPTE_SYS_GPA + SPTE_SYS_SIZE)

static const struct {
	int cap;
	const char *name;
	int min;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", 1 },
	{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS (>= 2)", 2 },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", 1 },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", 1 },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", 1 },
};

static gboolean check_kvm(int kvm_fd, GError **error)
{
	int version = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);

	if (version != KVM_API_VERSION) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "KVM API version %d, expected %d", version,
			    KVM_API_VERSION);
		return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(required_caps); i++) {
		int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap);

		if (r < required_caps[i].min) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
				    "KVM lacks %s", required_caps[i].name);
			return FALSE;
		}
	}
	return TRUE;
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd, GError **error)
{
	for (guint n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *cpuid = g_malloc0(sizeof(*cpuid) +
					n * sizeof(struct kvm_cpuid_entry2));

		cpuid->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return cpuid;
		g_free(cpuid);
		if (errno != E2BIG) {
			spte_set_errno(error, errno, "KVM_GET_SUPPORTED_CPUID");
			return NULL;
		}
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
		    "KVM_GET_SUPPORTED_CPUID: too many entries");
	return NULL;
}

static gboolean set_slot(struct spte_vm *vm, guint32 slot,
			 const struct spte_region *r, GError **error)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (guintptr)r->hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
		return spte_set_errno(error, errno, "KVM_SET_USER_MEMORY_REGION "
				      "slot %u (gpa %#llx, %llu KiB)", slot,
				      m.guest_phys_addr, m.memory_size >> 10);
	return TRUE;
}

static gboolean setup_memory(struct spte_vm *vm,
			     const struct spte_mem_opts *opts, GError **error)
{
	struct spte_mem_opts sys_opts = { .size = SPTE_SYS_SIZE,
					  .backing = SPTE_BACKING_ANON,
					  .thp = SPTE_THP_NOHUGEPAGE };

	if (opts->size == 0 || opts->size % 4096 || opts->size > SPTE_RAM_MAX) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "--mem: %" G_GUINT64_FORMAT " bytes is not a multiple "
			    "of 4 KiB between 4 KiB and %llu GiB", opts->size,
			    SPTE_RAM_MAX >> 30);
		return FALSE;
	}
	if (!spte_region_map(&vm->sys, SPTE_SYS_GPA, &sys_opts, error))
		return FALSE;
	if (!spte_region_map(&vm->ram, 0, opts, error))
		return FALSE;
	if (!spte_x86_build_page_tables(vm->sys.hva, opts->size, error))
		return FALSE;
	spte_x86_build_gdt(vm->sys.hva);

	return set_slot(vm, SPTE_SLOT_SYS, &vm->sys, error) &&
	       set_slot(vm, SPTE_SLOT_RAM, &vm->ram, error);
}

gboolean spte_vm_create(struct spte_vm **out, const struct spte_mem_opts *opts,
			GError **error)
{
	g_autoptr(spte_vm) vm = g_new0(struct spte_vm, 1);
	struct spte_mailbox *mb;

	vm->kvm_fd = vm->vm_fd = -1;
	vm->ram.fd = vm->sys.fd = -1;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return spte_set_errno(error, errno, "opening /dev/kvm%s",
				      errno == ENOENT ? " (is KVM enabled?)" : "");
	if (!check_kvm(vm->kvm_fd, error))
		return FALSE;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return spte_set_errno(error, errno, "KVM_GET_VCPU_MMAP_SIZE");
	vm->cpuid = get_supported_cpuid(vm->kvm_fd, error);
	if (!vm->cpuid)
		return FALSE;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return spte_set_errno(error, errno, "KVM_CREATE_VM");
	if (opts->size <= SPTE_TSS_GPA &&
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, SPTE_TSS_GPA) < 0)
		return spte_set_errno(error, errno, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		guint64 idmap = SPTE_IDMAP_GPA;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			return spte_set_errno(error, errno,
					      "KVM_SET_IDENTITY_MAP_ADDR");
	}
	if (!setup_memory(vm, opts, error))
		return FALSE;

	mb = (struct spte_mailbox *)((guint8 *)vm->sys.hva + SPTE_SYS_MAILBOX);
	mb->magic = SPTE_MAILBOX_MAGIC;
	mb->version = SPTE_GUEST_ABI_VERSION;
	mb->ram_size = opts->size;

	*out = g_steal_pointer(&vm);
	return TRUE;
}

void spte_vm_destroy(struct spte_vm *vm)
{
	if (!vm)
		return;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	spte_region_unmap(&vm->ram);
	spte_region_unmap(&vm->sys);
	g_free(vm->cpuid);
	g_free(vm);
}

void *spte_vm_gpa_to_hva(struct spte_vm *vm, guint64 gpa, guint64 len)
{
	const struct spte_region *regions[] = { &vm->ram, &vm->sys };

	for (guint i = 0; i < G_N_ELEMENTS(regions); i++) {
		const struct spte_region *r = regions[i];

		if (gpa >= r->gpa && len <= r->size &&
		    gpa - r->gpa <= r->size - len)
			return (guint8 *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

gboolean spte_vm_load_image(struct spte_vm *vm, const char *path,
			    guint64 *entry, GError **error)
{
	g_autoptr(GMappedFile) file = NULL;
	struct spte_image image;

	file = g_mapped_file_new(path, FALSE, error);
	if (!file) {
		g_prefix_error(error, "guest image: ");
		return FALSE;
	}
	if (!spte_elf_load((const guint8 *)g_mapped_file_get_contents(file),
			   g_mapped_file_get_length(file), vm->sys.hva, &image,
			   error)) {
		g_prefix_error(error, "guest image %s: ", path);
		return FALSE;
	}
	*entry = image.entry;
	return TRUE;
}
