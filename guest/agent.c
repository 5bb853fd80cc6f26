// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * spte-agent: the freestanding guest agent.  It waits for memory commands
 * from the VMM in the mailbox, runs them over guest RAM (identity mapped) and
 * reports each result with a ucall.  It checks its own data: a verify that
 * finds a changed word reports where, so lost or stale pages are measured.
 */
#include <stddef.h>
#include <stdint.h>
#include <spte/guest_abi.h>

#define PAGE_SIZE	4096ULL
#define WORDS_PER_PAGE	(PAGE_SIZE / sizeof(uint64_t))

void agent_main(void);

static volatile struct spte_mailbox *const mailbox =
	(volatile struct spte_mailbox *)(SPTE_SYS_VA + SPTE_SYS_MAILBOX);

static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void ucall(enum spte_ucall nr)
{
	outl(SPTE_PORT_UCALL, nr);
}

static void abort_with(const char *msg)
{
	size_t i;

	for (i = 0; msg[i] && i < sizeof(mailbox->message) - 1; i++)
		mailbox->message[i] = msg[i];
	mailbox->message[i] = '\0';
	ucall(SPTE_UCALL_ABORT);
}

static void serial_puts(const char *s)
{
	while (*s)
		outb(SPTE_PORT_SERIAL, (uint8_t)*s++);
}

static void serial_put_u64(uint64_t v)
{
	char buf[21];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	serial_puts(&buf[i]);
}

/* Word store over the range: rep stosq is what KVM's emulator does fastest. */
static void fill_words(uint64_t *p, uint64_t words, uint64_t pattern)
{
	__asm__ volatile("rep stosq"
			 : "+D"(p), "+c"(words)
			 : "a"(pattern)
			 : "memory");
}

/*
 * Compare every word with the pattern.  repe scasq stops at the first
 * mismatch; we note it and carry on from the next word so that the count
 * of bad words is exact.
 */
static void verify_words(const uint64_t *p, uint64_t words, uint64_t pattern,
			 volatile struct spte_guest_result *res)
{
	uint64_t bad = 0;

	while (words) {
		uint8_t equal;

		__asm__ volatile("repe scasq"
				 : "+D"(p), "+c"(words), "=@ccz"(equal)
				 : "a"(pattern)
				 : "memory");
		if (equal)
			break;
		if (!bad) {
			res->first_bad_gpa = (uint64_t)(uintptr_t)(p - 1);
			res->first_bad_value = p[-1];
		}
		bad++;
	}
	res->bad_words = bad;
}

static void touch_pages(uint64_t gpa, uint64_t pages, int write)
{
	for (uint64_t i = 0; i < pages; i++) {
		volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)
				       (gpa + i * PAGE_SIZE);
		uint64_t v = *w;

		if (write)
			*w = v;
	}
}

static void crash(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	serial_puts("spte-agent: crashing on purpose (#UD with an empty IDT)\n");
	__asm__ volatile("lidt %0\n\tud2" : : "m"(no_idt));
}

static int range_ok(uint64_t gpa, uint64_t pages)
{
	uint64_t ram = mailbox->ram_size;

	if (gpa % PAGE_SIZE || pages > ram / PAGE_SIZE)
		return 0;
	return gpa <= ram - pages * PAGE_SIZE;
}

static void run_command(void)
{
	volatile struct spte_guest_result *res = &mailbox->res;
	uint32_t op = mailbox->cmd.op;
	uint64_t gpa = mailbox->cmd.gpa;
	uint64_t pages = mailbox->cmd.pages;
	uint64_t pattern = mailbox->cmd.pattern;
	uint64_t *p = (uint64_t *)(uintptr_t)gpa;
	uint64_t words = pages * WORDS_PER_PAGE;
	uint64_t t0;

	res->op = op;
	res->status = SPTE_STATUS_OK;
	res->pages = 0;
	res->value = 0;
	res->bad_words = 0;
	res->first_bad_gpa = 0;
	res->first_bad_value = 0;

	if (op >= SPTE_OP_FILL && op <= SPTE_OP_CHECKSUM && !range_ok(gpa, pages)) {
		res->status = SPTE_STATUS_BAD_RANGE;
		return;
	}

	t0 = rdtsc();
	switch (op) {
	case SPTE_OP_FILL:
		fill_words(p, words, pattern);
		break;
	case SPTE_OP_TOUCH_READ:
	case SPTE_OP_TOUCH_WRITE:
		touch_pages(gpa, pages, op == SPTE_OP_TOUCH_WRITE);
		break;
	case SPTE_OP_VERIFY:
		verify_words(p, words, pattern, res);
		if (res->bad_words)
			res->status = SPTE_STATUS_MISMATCH;
		break;
	case SPTE_OP_CHECKSUM:
		res->value = spte_fnv1a64_words(p, words);
		break;
	case SPTE_OP_CRASH:
		crash();
		break;
	case SPTE_OP_HALT:
		__asm__ volatile("hlt");
		break;
	default:
		res->status = SPTE_STATUS_BAD_OP;
		return;
	}
	res->tsc_cycles = rdtsc() - t0;
	res->pages = pages;
}

void agent_main(void)
{
	if (mailbox->magic != SPTE_MAILBOX_MAGIC ||
	    mailbox->version != SPTE_GUEST_ABI_VERSION) {
		abort_with("mailbox magic or version mismatch");
		return;
	}

	serial_puts("spte-agent: ready, ");
	serial_put_u64(mailbox->ram_size >> 20);
	serial_puts(" MiB of guest RAM\n");

	for (;;) {
		ucall(SPTE_UCALL_READY);
		run_command();
		ucall(SPTE_UCALL_DONE);
	}
}
