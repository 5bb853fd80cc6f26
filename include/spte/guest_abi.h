/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The VMM <-> guest agent protocol, shared by src/ and guest/.
 *
 * Guest physical layout
 *   [0, mem)                 guest RAM: data only, identity mapped (VA == GPA)
 *                            with 2 MiB pages; nothing of the VMM or the agent
 *                            lives here, so scenarios may fill and mirror it
 *                            from GPA 0.
 *   [SYS_GPA, SYS_GPA+2M)    the system slot: GDT, page tables, mailbox,
 *                            agent image and stack.  Mapped at the top 2 GiB
 *                            of the virtual address space (SPTE_SYS_VA), the
 *                            way a kernel is, so the agent links with
 *                            -mcmodel=kernel and the system slot's GPA is
 *                            free to sit above any RAM size we allow.
 *
 * Calls ("ucalls", as in the KVM selftests): the guest stores its request in
 * the mailbox and writes the call number to SPTE_PORT_UCALL with outl.  The
 * VMM answers by editing the mailbox before re-entering the vCPU.
 */
#ifndef SPTE_GUEST_ABI_H
#define SPTE_GUEST_ABI_H

/* Constants are shared with the agent's assembly and linker script too. */
#ifdef __ASSEMBLER__
#define SPTE_C(x)	x
#else
#define SPTE_C(x)	x##ULL
#include <stdint.h>
#endif

#define SPTE_SYS_GPA		SPTE_C(0x1000000000)	/* 64 GiB */
#define SPTE_SYS_SIZE		SPTE_C(0x200000)	/* one 2 MiB page */
#define SPTE_SYS_VA		SPTE_C(0xffffffff80000000)
#define SPTE_RAM_MAX		SPTE_SYS_GPA	/* RAM ends below the system slot */

/* Offsets inside the system slot. */
#define SPTE_SYS_GDT		SPTE_C(0x0000)	/* GDT (one page) */
#define SPTE_SYS_MAILBOX	SPTE_C(0x1000)	/* struct spte_mailbox */
#define SPTE_SYS_PGTABLE	SPTE_C(0x2000)	/* PML4, PDPTs, PDs ... */
#define SPTE_SYS_PGTABLE_END	SPTE_C(0x80000)
#define SPTE_SYS_IMAGE		SPTE_C(0x80000)	/* agent PT_LOAD segments */
#define SPTE_SYS_IMAGE_END	SPTE_C(0x1f0000)
#define SPTE_SYS_STACK_TOP	SPTE_C(0x200000)	/* stack grows down from here */

/* I/O ports. */
#define SPTE_PORT_SERIAL	0x3f8		/* COM1 THR: console bytes */
#define SPTE_PORT_UCALL		0x5a0		/* outl: enum spte_ucall */
#define SPTE_PORT_BOOT		0x5a4		/* outb: first guest instruction */

#ifndef __ASSEMBLER__

#define SPTE_MAILBOX_MAGIC	0x53505445u	/* "SPTE" */
#define SPTE_GUEST_ABI_VERSION	1u

enum spte_ucall {
	SPTE_UCALL_READY = 1,	/* agent idle: VMM puts the next command */
	SPTE_UCALL_DONE = 2,	/* command finished: result in the mailbox */
	SPTE_UCALL_ABORT = 3,	/* agent-side assertion: message in mailbox */
};

enum spte_guest_op {
	SPTE_OP_NONE = 0,
	SPTE_OP_FILL = 1,	/* write pattern to every word of the range */
	SPTE_OP_TOUCH_READ = 2,	/* read one word per page */
	SPTE_OP_TOUCH_WRITE = 3,/* rewrite one word per page with its value */
	SPTE_OP_VERIFY = 4,	/* compare every word with the pattern */
	SPTE_OP_CHECKSUM = 5,	/* FNV-1a 64 over the range's words */
	SPTE_OP_CRASH = 6,	/* #UD with no IDT: a deliberate triple fault */
	SPTE_OP_HALT = 7,	/* hlt: ends the run cleanly */
};

enum spte_guest_status {
	SPTE_STATUS_OK = 0,
	SPTE_STATUS_MISMATCH = 1,	/* verify found words that differ */
	SPTE_STATUS_BAD_RANGE = 2,	/* range outside guest RAM */
	SPTE_STATUS_BAD_OP = 3,
};

struct spte_guest_cmd {
	uint32_t op;		/* enum spte_guest_op */
	uint32_t flags;		/* must be 0 */
	uint64_t gpa;		/* page aligned */
	uint64_t pages;		/* 4 KiB pages */
	uint64_t pattern;	/* 64-bit word written/expected */
};

struct spte_guest_result {
	uint32_t op;
	uint32_t status;	/* enum spte_guest_status */
	uint64_t pages;		/* pages processed */
	uint64_t value;		/* checksum */
	uint64_t bad_words;	/* verify: words that differ */
	uint64_t first_bad_gpa;	/* verify: GPA of the first bad word */
	uint64_t first_bad_value;
	uint64_t tsc_cycles;	/* rdtsc delta across the command */
};

struct spte_mailbox {
	uint32_t magic;		/* SPTE_MAILBOX_MAGIC, written by the VMM */
	uint32_t version;	/* SPTE_GUEST_ABI_VERSION */
	uint64_t ram_size;	/* bytes of guest RAM from GPA 0 */
	uint64_t seq;		/* bumped by the VMM for each command */
	struct spte_guest_cmd cmd;
	struct spte_guest_result res;
	char message[256];	/* NUL-terminated, for SPTE_UCALL_ABORT */
};

/*
 * FNV-1a over 64-bit words: the agent's checksum, recomputed by the VMM over
 * its own view of the same memory, so both sides must agree on it.
 */
static inline uint64_t spte_fnv1a64_words(const volatile uint64_t *p,
					  uint64_t words)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (words--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif /* !__ASSEMBLER__ */

#endif /* SPTE_GUEST_ABI_H */
