// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU creation in 64-bit mode and the run loop.  As in kvmtool's
 * kvm-cpu.c, there is exactly one switch on the exit reason; anything it does
 * not expect ends the run with the exit's name and the registers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <spte/guest_abi.h>

#include "spte_error.h"
#include "vcpu.h"
#include "x86_paging.h"

#define X86_CR0_PE	(1U << 0)
#define X86_CR0_MP	(1U << 1)
#define X86_CR0_ET	(1U << 4)
#define X86_CR0_NE	(1U << 5)
#define X86_CR0_WP	(1U << 16)
#define X86_CR0_PG	(1U << 31)
#define X86_CR4_PAE	(1U << 5)
#define X86_CR4_OSFXSR	(1U << 9)
#define X86_CR4_OSXMMEXCPT (1U << 10)
#define EFER_SCE	(1U << 0)
#define EFER_LME	(1U << 8)
#define EFER_LMA	(1U << 10)

static const char *const exit_names[] = {
#define X(name) [KVM_EXIT_##name] = #name
	X(UNKNOWN), X(EXCEPTION), X(IO), X(HYPERCALL), X(DEBUG), X(HLT),
	X(MMIO), X(IRQ_WINDOW_OPEN), X(SHUTDOWN), X(FAIL_ENTRY), X(INTR),
	X(SET_TPR), X(TPR_ACCESS), X(NMI), X(INTERNAL_ERROR), X(OSI),
	X(PAPR_HCALL), X(WATCHDOG), X(EPR), X(SYSTEM_EVENT), X(IOAPIC_EOI),
	X(HYPERV), X(X86_RDMSR), X(X86_WRMSR), X(DIRTY_RING_FULL),
	X(AP_RESET_HOLD), X(X86_BUS_LOCK), X(XEN), X(RISCV_SBI),
#undef X
};

const char *spte_exit_reason_name(guint32 reason)
{
	if (reason < G_N_ELEMENTS(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "(unknown exit reason)";
}

static void code_segment(struct kvm_segment *s)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff,
				   .selector = SPTE_SEL_CODE, .type = 11,
				   .present = 1, .s = 1, .l = 1, .g = 1 };
}

static void data_segment(struct kvm_segment *s)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff,
				   .selector = SPTE_SEL_DATA, .type = 3,
				   .present = 1, .s = 1, .db = 1, .g = 1 };
}

static gboolean setup_long_mode(struct spte_vcpu *vcpu, guint64 entry,
				GError **error)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry,
		.rsp = SPTE_SYS_VA + SPTE_SYS_STACK_TOP,
		.rflags = 0x2,	/* bit 1 is reserved, always set */
	};

	if (ioctl(vcpu->fd, KVM_SET_CPUID2, vcpu->vm->cpuid) < 0)
		return spte_set_errno(error, errno, "KVM_SET_CPUID2");
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return spte_set_errno(error, errno, "KVM_GET_SREGS");

	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		    X86_CR0_WP | X86_CR0_PG;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA | EFER_SCE;
	sregs.cr3 = SPTE_SYS_GPA + SPTE_SYS_PGTABLE;
	sregs.gdt.base = SPTE_SYS_VA + SPTE_SYS_GDT;
	sregs.gdt.limit = 4 * 8 + 8 - 1;	/* null, code, data, 16-byte TSS */
	sregs.idt.base = 0;
	sregs.idt.limit = 0;		/* no IDT: any exception triple-faults */
	code_segment(&sregs.cs);
	data_segment(&sregs.ds);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){
		.base = SPTE_SYS_VA + SPTE_SYS_GDT + SPTE_TSS_OFFSET,
		.limit = 0x67, .selector = SPTE_SEL_TSS, .type = 11,
		.present = 1 };
	sregs.ldt = (struct kvm_segment){ .type = 2, .present = 1,
					  .unusable = 1 };

	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return spte_set_errno(error, errno, "KVM_SET_SREGS (long mode)");
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return spte_set_errno(error, errno, "KVM_SET_REGS");
	return TRUE;
}

gboolean spte_vcpu_create(struct spte_vm *vm, guint id, guint64 entry,
			  struct spte_vcpu **out, GError **error)
{
	g_autoptr(spte_vcpu) vcpu = g_new0(struct spte_vcpu, 1);
	void *run;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->serial_line = g_string_new(NULL);
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return spte_set_errno(error, errno, "KVM_CREATE_VCPU %u", id);
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED)
		return spte_set_errno(error, errno, "mmap(kvm_run)");
	vcpu->run = run;
	if (!setup_long_mode(vcpu, entry, error))
		return FALSE;
	*out = g_steal_pointer(&vcpu);
	return TRUE;
}

void spte_vcpu_destroy(struct spte_vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->serial_line->len)
		printf("guest: %s\n", vcpu->serial_line->str);
	g_string_free(vcpu->serial_line, TRUE);
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	g_free(vcpu);
}

static void serial_byte(struct spte_vcpu *vcpu, guint8 c)
{
	if (c == '\n') {
		printf("guest: %s\n", vcpu->serial_line->str);
		fflush(stdout);
		g_string_truncate(vcpu->serial_line, 0);
	} else if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
		g_string_append_c(vcpu->serial_line, (char)c);
	} else if (c != '\r') {
		g_string_append_printf(vcpu->serial_line, "\\x%02x", c);
	}
}

static void dump_segment(GString *out, const char *name,
			 const struct kvm_segment *s)
{
	g_string_append_printf(out, "  %-3s sel %04x base %016llx limit %08x "
			       "type %x s %u dpl %u p %u l %u db %u g %u\n",
			       name, s->selector, s->base, s->limit, s->type,
			       s->s, s->dpl, s->present, s->l, s->db, s->g);
}

void spte_vcpu_dump_regs(struct spte_vcpu *vcpu, GString *out)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	guint64 gpa, size;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		g_string_append_printf(out, "  (registers unavailable: %s)\n",
				       g_strerror(errno));
		return;
	}
	g_string_append_printf(out,
		"  rip %016llx rsp %016llx rflags %016llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %016llx\n"
		"  gdt %016llx/%04x idt %016llx/%04x\n",
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
		r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
		r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.gdt.base,
		s.gdt.limit, s.idt.base, s.idt.limit);
	dump_segment(out, "cs", &s.cs);
	dump_segment(out, "ss", &s.ss);
	dump_segment(out, "tr", &s.tr);
	if (spte_x86_translate(vcpu->vm->sys.hva, r.rip, &gpa, &size)) {
		const guint8 *code = spte_vm_gpa_to_hva(vcpu->vm, gpa, 16);

		if (code) {
			g_string_append_printf(out, "  code at rip (gpa %#"
					       G_GINT64_MODIFIER "x):", gpa);
			for (int i = 0; i < 16; i++)
				g_string_append_printf(out, " %02x", code[i]);
			g_string_append_c(out, '\n');
		}
	}
}

/* Fail the run: name the exit and what KVM said about it, dump registers. */
static gboolean guest_failed(struct spte_vcpu *vcpu, GError **error,
			     const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean guest_failed(struct spte_vcpu *vcpu, GError **error,
			     const char *fmt, ...)
{
	g_autoptr(GString) msg = g_string_new(NULL);
	g_autofree char *detail = NULL;
	va_list ap;

	va_start(ap, fmt);
	detail = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_string_append_printf(msg, "vCPU %u stopped: KVM_EXIT_%s", vcpu->id,
			       spte_exit_reason_name(vcpu->run->exit_reason));
	if (detail[0])
		g_string_append_printf(msg, " (%s)", detail);
	g_string_append(msg, "\n");
	spte_vcpu_dump_regs(vcpu, msg);
	g_set_error_literal(error, SPTE_ERROR, SPTE_ERROR_GUEST, msg->str);
	return FALSE;
}

static gboolean handle_io(struct spte_vcpu *vcpu, gboolean *ucall_out,
			  guint32 *ucall, GError **error)
{
	struct kvm_run *run = vcpu->run;
	guint8 *data = (guint8 *)run + run->io.data_offset;

	if (run->io.direction == KVM_EXIT_IO_OUT) {
		switch (run->io.port) {
		case SPTE_PORT_SERIAL:
			for (guint32 i = 0; i < run->io.count; i++)
				serial_byte(vcpu, data[i * run->io.size]);
			return TRUE;
		case SPTE_PORT_BOOT:
			if (!vcpu->boot_ns)
				vcpu->boot_ns = g_get_monotonic_time() * 1000;
			return TRUE;
		case SPTE_PORT_UCALL:
			if (run->io.size != 4 || run->io.count != 1)
				break;
			memcpy(ucall, data, sizeof(*ucall));
			*ucall_out = TRUE;
			return TRUE;
		}
	} else if (run->io.port >= SPTE_PORT_SERIAL &&
		   run->io.port < SPTE_PORT_SERIAL + 8) {
		/* Reads of the UART's status: always "transmitter empty". */
		memset(data, run->io.port == SPTE_PORT_SERIAL + 5 ? 0x60 : 0,
		       run->io.size * run->io.count);
		return TRUE;
	}
	return guest_failed(vcpu, error, "unexpected %s of %u byte(s) at port %#x",
			    run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read",
			    run->io.size, run->io.port);
}

gboolean spte_vcpu_run(struct spte_vcpu *vcpu, enum spte_stop *stop,
		       guint32 *ucall, GError **error)
{
	struct kvm_run *run = vcpu->run;

	for (;;) {
		gboolean is_ucall = FALSE;

		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return spte_set_errno(error, errno, "KVM_RUN");
		}
		vcpu->exits++;

		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (!handle_io(vcpu, &is_ucall, ucall, error))
				return FALSE;
			if (is_ucall) {
				*stop = SPTE_STOP_UCALL;
				return TRUE;
			}
			break;
		case KVM_EXIT_HLT:
			*stop = SPTE_STOP_HALT;
			return TRUE;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			return guest_failed(vcpu, error, "triple fault");
		case KVM_EXIT_FAIL_ENTRY:
			return guest_failed(vcpu, error,
					    "hardware entry failure reason %#llx",
					    run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			return guest_failed(vcpu, error, "suberror %u",
					    run->internal.suberror);
		case KVM_EXIT_MMIO:
			return guest_failed(vcpu, error,
					    "%s of %u bytes at unbacked gpa %#llx",
					    run->mmio.is_write ? "write" : "read",
					    run->mmio.len, run->mmio.phys_addr);
		default:
			return guest_failed(vcpu, error, "%s", "");
		}
	}
}
