/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * First instructions of the agent.  The VMM enters here in 64-bit mode with
 * RSP at the top of the system slot's stack.  The very first thing is the
 * boot-timer write: the VMM stamps its arrival to measure start-up time.
 */
#include <spte/guest_abi.h>

	.section .text.entry, "ax"
	.globl _start
_start:
	mov	$SPTE_PORT_BOOT, %dx
	xor	%eax, %eax
	outb	%al, %dx
	xor	%ebp, %ebp
	call	agent_main
1:	hlt
	jmp	1b

	.section .note.GNU-stack, "", @progbits
