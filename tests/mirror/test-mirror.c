// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror.ko against the real kernel: run inside the lab VM
 * (`spte lab --add test-mirror -- test-mirror --tap`).  Loads
 * /opt/spte/modules/spte_mirror.ko if no module is loaded; without the
 * device every case skips.
 *
 * Every case ends with an audit of its mirror (no stale leaf, no W where
 * the primary is read-only) and checks that the kernel did not WARN.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spte_mirror.h"

#define PG 4096UL
#define HUGE_2M (2UL << 20)
#define MODULE_PATH "/opt/spte/modules/spte_mirror.ko"
#define PARAM_SKIP "/sys/module/spte_mirror/parameters/skip_invalidate"
#define TAINT_WARN (1UL << 9)
#define TAINT_USER (1UL << 6)	/* 'U': an unsafe module parameter was set */
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define YAMA_SCOPE "/proc/sys/kernel/yama/ptrace_scope"
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

static unsigned long taint_at_start;
static int module_state = -1;	/* 1 loaded, 0 absent */

/* ---- helpers ------------------------------------------------------- */

static int sysfs_read_ul(const char *path, unsigned long *v)
{
	g_autofree char *s = NULL;

	if (!g_file_get_contents(path, &s, NULL, NULL))
		return -1;
	*v = strtoul(s, NULL, 0);
	return 0;
}

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static unsigned long taint(void)
{
	unsigned long t = 0;

	sysfs_read_ul("/proc/sys/kernel/tainted", &t);
	return t;
}

static bool ensure_module(void)
{
	if (module_state >= 0)
		return module_state;
	if (access(SPTE_MIRROR_DEVICE, F_OK) != 0 &&
	    access(MODULE_PATH, R_OK) == 0) {
		if (system("insmod " MODULE_PATH) != 0)
			g_printerr("# insmod %s failed\n", MODULE_PATH);
	}
	module_state = access(SPTE_MIRROR_DEVICE, F_OK) == 0;
	return module_state;
}

static struct spte_mirror *mirror_open(void)
{
	struct spte_mirror *m = NULL;
	int r;

	if (!ensure_module()) {
		g_test_skip(spte_mirror_strerror(-ENOENT));
		return NULL;
	}
	r = spte_mirror_open(&m);
	if (r) {
		g_test_fail_printf("open: %s", spte_mirror_strerror(r));
		return NULL;
	}
	return m;
}

/* The closing checks of every case: audit clean, no kernel warning. */
static void mirror_done(struct spte_mirror *m)
{
	struct spte_mirror_audit a;

	if (m) {
		g_assert_cmpint(spte_mirror_audit(m, &a), ==, 0);
		g_assert_cmpuint(a.stale_pfn, ==, 0);
		g_assert_cmpuint(a.stale_unmapped, ==, 0);
		g_assert_cmpuint(a.write_violations, ==, 0);
		g_assert_cmpuint(a.level_violations, ==, 0);
		spte_mirror_close(m);
	}
	g_assert_cmphex(taint() & TAINT_WARN, ==, taint_at_start & TAINT_WARN);
}

/* Reap a child that had to get through its part of a case: exit 0. */
static void child_exited_ok(pid_t pid)
{
	int status;

	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void *map_anon(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	g_assert_true(p != MAP_FAILED);
	return p;
}

/* A 2M-aligned anonymous region of @size (a multiple of 2M). */
static void *map_aligned_2m(size_t size)
{
	uint8_t *p = map_anon(size + HUGE_2M, PROT_READ | PROT_WRITE);
	uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1));

	if (a > p)
		munmap(p, a - p);
	munmap(a + size, (p + size + HUGE_2M) - (a + size));
	return a;
}

/* PFN from /proc/self/pagemap, or 0 if not present. */
static uint64_t pagemap_pfn(const void *va)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pread(fd, &e, 8, ((uintptr_t)va / PG) * 8), ==, 8);
	close(fd);
	if (!(e & (1ULL << 63)))
		return 0;
	return e & ((1ULL << 55) - 1);
}

static uint64_t kpageflags(uint64_t pfn)
{
	uint64_t f = 0;
	int fd = open("/proc/kpageflags", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &f, 8, pfn * 8) != 8)
		f = 0;
	close(fd);
	return f;
}

static struct spte_mirror_table *dump(struct spte_mirror *m)
{
	struct spte_mirror_table *t = NULL;

	g_assert_cmpint(spte_mirror_dump(m, &t), ==, 0);
	return t;
}

static uint64_t leaves_in(const struct spte_mirror_table *t, uint64_t gpa,
			  uint64_t size)
{
	uint64_t i, n = 0;

	for (i = 0; i < t->nr_leaves; i++)
		if (t->leaves[i].gpa >= gpa && t->leaves[i].gpa < gpa + size)
			n++;
	return n;
}

/* Read every pending record (non-blocking). */
static GArray *drain_events(struct spte_mirror *m)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct spte_mirror_event));
	struct spte_mirror_event ev[64];
	ssize_t n;

	while ((n = spte_mirror_read_events(m, ev, 64, 0)) > 0)
		g_array_append_vals(a, ev, n);
	g_assert_cmpint(n, >=, 0);
	return a;
}

/* Is there a start event of @type covering [gpa, gpa+size)? */
static bool has_start(GArray *evs, uint32_t type, uint64_t gpa, uint64_t size)
{
	guint i;

	for (i = 0; i < evs->len; i++) {
		struct spte_mirror_event *e =
			&g_array_index(evs, struct spte_mirror_event, i);

		if (e->callback == SPTE_CB_INVALIDATE_RANGE_START &&
		    e->event == type && e->gpa_start != SPTE_MIRROR_NONE &&
		    e->gpa_start <= gpa && e->gpa_end >= gpa + size)
			return true;
	}
	return false;
}

static guint count_cb(GArray *evs, uint32_t cb)
{
	guint i, n = 0;

	for (i = 0; i < evs->len; i++)
		if (g_array_index(evs, struct spte_mirror_event, i).callback == cb)
			n++;
	return n;
}

static void print_events(GArray *evs)
{
	char buf[256];
	guint i;

	for (i = 0; i < evs->len && i < 40; i++)
		g_test_message("%s", spte_mirror_event_format(
			&g_array_index(evs, struct spte_mirror_event, i),
			buf, sizeof(buf)));
}

static void fill(void *p, size_t size, uint8_t seed)
{
	size_t i;

	for (i = 0; i < size; i++)
		((uint8_t *)p)[i] = (uint8_t)(seed + i / PG);
}

/* ---- ABI -------------------------------------------------------- */

static void test_abi_version(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_version v;

	if (!m)
		return;
	struct utsname u;
	unsigned int major, minor;
	uint64_t want;

	g_assert_cmpint(spte_mirror_version(m, &v), ==, 0);
	g_assert_cmpuint(v.abi_version, ==, SPTE_MIRROR_ABI_VERSION);
	/* built for the running kernel, as the lab checks by vermagic */
	g_assert_cmpint(uname(&u), ==, 0);
	g_assert_cmpint(sscanf(u.release, "%u.%u", &major, &minor), ==, 2);
	g_assert_cmphex(v.kernel_version, ==, (major << 16) | (minor << 8));
	/*
	 * Exactly the callbacks this kernel has: all of them, the secondary
	 * TLB one through its own subscription from 6.6, and change_pte only
	 * before 6.10, which removed it.
	 */
	want = 1ULL << SPTE_CB_INVALIDATE_RANGE_START |
	       1ULL << SPTE_CB_INVALIDATE_RANGE_END |
	       1ULL << SPTE_CB_INVALIDATE_SECONDARY |
	       1ULL << SPTE_CB_CLEAR_FLUSH_YOUNG |
	       1ULL << SPTE_CB_CLEAR_YOUNG |
	       1ULL << SPTE_CB_TEST_YOUNG |
	       1ULL << SPTE_CB_RELEASE |
	       1ULL << SPTE_CB_INTERVAL_INVALIDATE;
	if (v.kernel_version < ((6u << 16) | (10u << 8)))
		want |= 1ULL << SPTE_CB_CHANGE_PTE;
	g_assert_cmphex(v.callbacks, ==, want);
	g_test_message("kernel 0x%x callbacks 0x%llx slots %llu",
		       v.kernel_version, (unsigned long long)v.callbacks,
		       (unsigned long long)v.max_slots);
	mirror_done(m);
}

static void test_abi_wrong_mm(void)
{
	struct spte_mirror *m = mirror_open();
	pid_t pid;

	if (!m)
		return;
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		struct spte_mirror_version v;

		_exit(spte_mirror_version(m, &v) == -EIO ? 0 : 1);
	}
	child_exited_ok(pid);
	mirror_done(m);
}

static int add_slot_raw(struct spte_mirror *m, struct spte_mirror_slot *s)
{
	return ioctl(spte_mirror_fd(m), SPTE_MIRROR_ADD_SLOT, s) ? -errno : 0;
}

static void test_abi_bad_slots(void)
{
	struct spte_mirror *m = mirror_open();
	uint8_t *p;
	struct {
		const char *what;
		uint64_t gpa, hva_off, size, flags, reserved;
		int err;
	} cases[] = {
		{ "zero size", 0x100000, 0, 0, 0, 0, -EINVAL },
		{ "gpa unaligned", 0x100800, 0, PG, 0, 0, -EINVAL },
		{ "hva unaligned", 0x100000, 8, PG, 0, 0, -EINVAL },
		{ "size unaligned", 0x100000, 0, PG + 1, 0, 0, -EINVAL },
		{ "gpa wraps", ~0ULL - PG + 1, 0, 2 * PG, 0, 0, -EINVAL },
		{ "gpa beyond 48 bits", 1ULL << 48, 0, PG, 0, 0, -EINVAL },
		{ "unknown flag", 0x100000, 0, PG, 1ULL << 7, 0, -EINVAL },
		{ "reserved", 0x100000, 0, PG, 0, 1, -EINVAL },
	};
	struct spte_mirror_slot s;
	size_t i;

	if (!m)
		return;
	p = map_anon(16 * PG, PROT_READ | PROT_WRITE);
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		memset(&s, 0, sizeof(s));
		s.gpa = cases[i].gpa;
		s.hva = (uintptr_t)p + cases[i].hva_off;
		s.size = cases[i].size;
		s.flags = cases[i].flags;
		s.reserved[1] = cases[i].reserved;
		g_test_message("case %s", cases[i].what);
		g_assert_cmpint(add_slot_raw(m, &s), ==, cases[i].err);
	}
	/* hva wrap */
	memset(&s, 0, sizeof(s));
	s.gpa = 0x100000;
	s.hva = ~0ULL - PG + 1;
	s.size = 2 * PG;
	g_assert_cmpint(add_slot_raw(m, &s), ==, -EINVAL);

	g_assert_cmpint(spte_mirror_add_slot(m, 0x100000, p, 8 * PG, 0, NULL),
			==, 0);
	/* identical, contained, overlapping head and tail: -EEXIST */
	g_assert_cmpint(spte_mirror_add_slot(m, 0x100000, p, 8 * PG, 0, NULL),
			==, -EEXIST);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x102000, p, PG, 0, NULL),
			==, -EEXIST);
	g_assert_cmpint(spte_mirror_add_slot(m, 0xff000, p, 2 * PG, 0, NULL),
			==, -EEXIST);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x107000, p, 4 * PG, 0, NULL),
			==, -EEXIST);
	/* adjacent is fine, and an HVA alias too */
	g_assert_cmpint(spte_mirror_add_slot(m, 0x108000, p, 8 * PG, 0, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_del_slot(m, 0x200000), ==, -ENOENT);
	g_assert_cmpint(spte_mirror_del_slot(m, 0x108000), ==, 0);
	g_assert_cmpint(spte_mirror_del_slot(m, 0x108000), ==, -ENOENT);
	g_assert_cmpint(spte_mirror_del_slot(m, 0x100000), ==, 0);
	munmap(p, 16 * PG);
	mirror_done(m);
}

static void test_abi_unknown_ioctl(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_version v = { 0 };
	int fd;

	if (!m)
		return;
	fd = spte_mirror_fd(m);
	errno = 0;
	g_assert_cmpint(ioctl(fd, _IOWR(SPTE_MIRROR_IOC_MAGIC, 0x7f,
					struct spte_mirror_version), &v), ==, -1);
	g_assert_cmpint(errno, ==, ENOTTY);
	g_assert_cmpint(ioctl(fd, _IOWR('x', 0x00, struct spte_mirror_version),
			      &v), ==, -1);
	g_assert_cmpint(errno, ==, ENOTTY);
	/* right number, wrong size */
	g_assert_cmpint(ioctl(fd, _IOWR(SPTE_MIRROR_IOC_MAGIC, 0x00, uint64_t),
			      &v), ==, -1);
	g_assert_cmpint(errno, ==, ENOTTY);
	mirror_done(m);
}

static void test_abi_reserved(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_version v = { 0 };
	struct spte_mirror_map mp = { .gpa = 0, .size = PG };
	struct spte_mirror_counters c = { 0 };
	struct spte_mirror_audit a = { 0 };
	int fd;

	if (!m)
		return;
	fd = spte_mirror_fd(m);
	v.reserved[3] = 1;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_VERSION, &v), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	v.reserved[3] = 0;
	v.flags = 1;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_VERSION, &v), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	mp.reserved = 1;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_MAP, &mp), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	mp.reserved = 0;
	mp.flags = SPTE_MAP_SNAPSHOT | SPTE_MAP_WRITE;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_MAP, &mp), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	c.reserved[5] = 1;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_COUNTERS, &c), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	a.reserved[0] = 1;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_AUDIT, &a), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	/* no slot covers GPA 0 */
	g_assert_cmpint(spte_mirror_map(m, 0, PG, 0, NULL), ==, -ENOENT);
	mirror_done(m);
}

static void test_abi_attach(void)
{
	struct spte_mirror *m = mirror_open();
	uint8_t *p, buf[16];
	int to_child[2], to_parent[2];
	char c = 0;
	pid_t pid;

	if (!m)
		return;
	p = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	memset(p, 0xaa, 4 * PG);
	g_assert_cmpint(pipe(to_child), ==, 0);
	g_assert_cmpint(pipe(to_parent), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		memset(p, 0x55, 4 * PG);	/* COW: the child's own pages */
		if (write(to_parent[1], &c, 1) != 1)
			_exit(1);
		if (read(to_child[0], &c, 1) != 1)
			_exit(1);
		_exit(p[0] == 0x11 ? 0 : 2);
	}
	g_assert_cmpint(read(to_parent[0], &c, 1), ==, 1);
	g_assert_cmpint(spte_mirror_attach(m, 999999999), ==, -ESRCH);
	/* ptrace rights, as the tracer of the child */
	g_assert_cmpint(ptrace(PTRACE_SEIZE, pid, NULL, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_attach(m, pid), ==, 0);
	g_assert_cmpint(spte_mirror_add_slot(m, 0, p, 4 * PG, 0, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_attach(m, getpid()), ==, -EBUSY);
	g_assert_cmpint(spte_mirror_read(m, 0, buf, sizeof(buf)), ==, 0);
	g_assert_cmpuint(buf[0], ==, 0x55);	/* the child's memory */
	g_assert_cmpuint(p[0], ==, 0xaa);
	memset(buf, 0x11, sizeof(buf));
	g_assert_cmpint(spte_mirror_write(m, 0, buf, sizeof(buf)), ==, 0);
	g_assert_cmpuint(p[0], ==, 0xaa);
	g_assert_cmpint(write(to_child[1], &c, 1), ==, 1);
	child_exited_ok(pid);
	/* the child's exit released the mirror: nothing left */
	{
		g_autoptr(GArray) evs = drain_events(m);
		struct spte_mirror_table *t = dump(m);

		g_assert_cmpuint(count_cb(evs, SPTE_CB_RELEASE), ==, 1);
		g_assert_cmpuint(t->nr_leaves, ==, 0);
		spte_mirror_table_free(t);
	}
	g_assert_cmpint(spte_mirror_map(m, 0, PG, 0, NULL), ==, -ESRCH);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	munmap(p, 4 * PG);
	mirror_done(m);
}

/* ---- map -------------------------------------------------------- */

static void test_map_pagemap(void)
{
	struct spte_mirror *m = mirror_open();
	const size_t n = 64;
	struct spte_mirror_table *t;
	struct spte_mirror_map res;
	uint8_t *p;
	size_t i;

	if (!m)
		return;
	p = map_anon(n * PG, PROT_READ | PROT_WRITE);
	madvise(p, n * PG, MADV_NOHUGEPAGE);
	fill(p, n * PG, 1);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x40000000, p, n * PG, 0, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x40000000, n * PG, 0, &res), ==, 0);
	g_assert_cmpuint(res.mapped_4k, ==, n);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, n);
	for (i = 0; i < n; i++) {
		const struct spte_mirror_leaf *l =
			spte_mirror_table_find(t, 0x40000000 + i * PG);

		g_assert_nonnull(l);
		g_assert_cmpuint(l->level, ==, 1);
		g_assert_cmphex(spte_ept_pfn(l->entry), ==,
				pagemap_pfn(p + i * PG));
		g_assert_true(l->entry & SPTE_EPT_W);
		g_assert_cmpuint(spte_ept_memtype(l->entry), ==,
				 SPTE_EPT_MT_WB);
		g_assert_cmphex(l->hva, ==, (uintptr_t)p + i * PG);
	}
	g_assert_cmpuint(t->table_pages[0], ==, 1);
	g_assert_cmpuint(t->table_pages[3], ==, 1);
	spte_mirror_table_free(t);
	/* table pages are freed when emptied */
	g_assert_cmpint(spte_mirror_unmap(m, 0x40000000, n * PG, NULL), ==, 0);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 0);
	g_assert_cmpuint(t->table_pages[0] + t->table_pages[1] +
			 t->table_pages[2], ==, 0);
	spte_mirror_table_free(t);
	munmap(p, n * PG);
	mirror_done(m);
}

static void test_map_write_only_if_writable(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_table *t;
	const struct spte_mirror_leaf *l;
	uint8_t *p, *ro;
	volatile uint8_t sink;

	if (!m)
		return;
	p = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	madvise(p, 4 * PG, MADV_NOHUGEPAGE);
	sink = p[0];			/* read fault: the shared zero page */
	(void)sink;
	p[PG] = 1;			/* write fault: a private page */
	ro = map_anon(PG, PROT_READ | PROT_WRITE);
	ro[0] = 7;
	g_assert_cmpint(mprotect(ro, PG, PROT_READ), ==, 0);

	g_assert_cmpint(spte_mirror_add_slot(m, 0, p, 4 * PG, 0, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x10000, ro, PG, 0, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0, 2 * PG, SPTE_MAP_SNAPSHOT, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x10000, PG, 0, NULL), ==, 0);
	t = dump(m);
	l = spte_mirror_table_find(t, 0);
	g_assert_nonnull(l);
	g_assert_false(l->entry & SPTE_EPT_W);	/* zero page */
	g_assert_cmphex(spte_ept_pfn(l->entry), ==, pagemap_pfn(p));
	l = spte_mirror_table_find(t, PG);
	g_assert_nonnull(l);
	g_assert_true(l->entry & SPTE_EPT_W);
	l = spte_mirror_table_find(t, 0x10000);
	g_assert_nonnull(l);
	g_assert_false(l->entry & SPTE_EPT_W);
	spte_mirror_table_free(t);
	/* a write fault on a read-only VMA fails */
	g_assert_cmpint(spte_mirror_map(m, 0x10000, PG, SPTE_MAP_WRITE, NULL),
			<, 0);
	/* a write fault breaks the zero page like a device write */
	g_assert_cmpint(spte_mirror_map(m, 0, PG, SPTE_MAP_WRITE, NULL), ==, 0);
	t = dump(m);
	l = spte_mirror_table_find(t, 0);
	g_assert_true(l->entry & SPTE_EPT_W);
	g_assert_cmphex(spte_ept_pfn(l->entry), ==, pagemap_pfn(p));
	spte_mirror_table_free(t);
	mirror_done(m);
	munmap(p, 4 * PG);
	munmap(ro, PG);
}

static void test_map_snapshot(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_map res;
	struct spte_mirror_table *t;
	const size_t n = 16;
	uint8_t *p;
	size_t i;

	if (!m)
		return;
	p = map_anon(n * PG, PROT_READ | PROT_WRITE);
	madvise(p, n * PG, MADV_NOHUGEPAGE);
	for (i = 0; i < n; i += 2)
		p[i * PG] = 1;
	g_assert_cmpint(spte_mirror_add_slot(m, 0, p, n * PG, 0, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0, n * PG, SPTE_MAP_SNAPSHOT, &res),
			==, 0);
	g_assert_cmpuint(res.mapped_4k, ==, n / 2);
	g_assert_cmpuint(res.skipped, ==, n / 2);
	t = dump(m);
	for (i = 0; i < n; i++) {
		const struct spte_mirror_leaf *l =
			spte_mirror_table_find(t, i * PG);

		if (i % 2) {
			g_assert_null(l);
			g_assert_cmphex(pagemap_pfn(p + i * PG), ==, 0);
		} else {
			g_assert_nonnull(l);
		}
	}
	spte_mirror_table_free(t);
	munmap(p, n * PG);
	mirror_done(m);
}

static void test_map_thp(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_map res;
	struct spte_mirror_table *t;
	uint8_t *p;
	uint64_t pfn;

	if (!m)
		return;
	p = map_aligned_2m(HUGE_2M);
	madvise(p, HUGE_2M, MADV_HUGEPAGE);
	memset(p, 3, HUGE_2M);
	pfn = pagemap_pfn(p);
	if (!(kpageflags(pfn) & (1ULL << 22))) {	/* KPF_THP */
		g_test_skip("no THP backing the region");
		munmap(p, HUGE_2M);
		mirror_done(m);
		return;
	}
	g_assert_cmpint(spte_mirror_add_slot(m, 0x200000, p, HUGE_2M, 0, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x200000, HUGE_2M, 0, &res), ==, 0);
	g_assert_cmpuint(res.mapped_2m, ==, 1);
	g_assert_cmpuint(res.mapped_4k, ==, 0);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 1);
	g_assert_cmpuint(t->leaves[0].level, ==, 2);
	g_assert_true(t->leaves[0].entry & SPTE_EPT_PS);
	g_assert_cmphex(spte_ept_pfn(t->leaves[0].entry), ==, pfn);
	g_assert_cmpuint(t->table_pages[0], ==, 0);
	spte_mirror_table_free(t);
	/* NO_HUGE: 512 4K leaves replace it */
	g_assert_cmpint(spte_mirror_map(m, 0x200000, HUGE_2M, SPTE_MAP_NO_HUGE,
					&res), ==, 0);
	g_assert_cmpuint(res.mapped_4k, ==, 512);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 512);
	g_assert_cmpuint(t->table_pages[0], ==, 1);
	spte_mirror_table_free(t);
	/* misaligned GPA: never a 2M leaf */
	g_assert_cmpint(spte_mirror_del_slot(m, 0x200000), ==, 0);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x201000, p, HUGE_2M, 0, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x201000, HUGE_2M, 0, &res), ==, 0);
	g_assert_cmpuint(res.mapped_2m, ==, 0);
	munmap(p, HUGE_2M);
	mirror_done(m);
}

/* ---- invalidation ------------------------------------------------ */

static struct spte_mirror *mapped_region(uint8_t **pp, size_t n)
{
	struct spte_mirror *m = mirror_open();
	uint8_t *p;

	if (!m)
		return NULL;
	p = map_anon(n * PG, PROT_READ | PROT_WRITE);
	madvise(p, n * PG, MADV_NOHUGEPAGE);
	fill(p, n * PG, 9);
	g_assert_cmpint(spte_mirror_set_log(m, 0, SPTE_LOG_SLOTS_ONLY, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x1000000, p, n * PG, 0, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x1000000, n * PG, 0, NULL), ==, 0);
	g_array_unref(drain_events(m));
	*pp = p;
	return m;
}

static void test_inv_munmap(void)
{
	struct spte_mirror_table *t;
	GArray *evs;
	uint8_t *p;
	struct spte_mirror *m = mapped_region(&p, 16);

	if (!m)
		return;
	g_assert_cmpint(munmap(p + 4 * PG, 4 * PG), ==, 0);
	evs = drain_events(m);
	print_events(evs);
	g_assert_true(has_start(evs, SPTE_EV_UNMAP, 0x1004000, 4 * PG));
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 12);
	g_assert_cmpuint(leaves_in(t, 0x1004000, 4 * PG), ==, 0);
	spte_mirror_table_free(t);
	g_array_unref(evs);
	/* mapping the hole fails, the rest still maps */
	g_assert_cmpint(spte_mirror_map(m, 0x1004000, PG, 0, NULL), ==,
			-EFAULT);
	mirror_done(m);
	munmap(p, 16 * PG);
}

static void test_inv_dontneed(void)
{
	struct spte_mirror_table *t;
	GArray *evs;
	uint8_t *p;
	uint8_t buf[8];
	struct spte_mirror *m = mapped_region(&p, 16);

	if (!m)
		return;
	g_assert_cmpint(madvise(p + 8 * PG, 4 * PG, MADV_DONTNEED), ==, 0);
	evs = drain_events(m);
	print_events(evs);
	g_assert_true(has_start(evs, SPTE_EV_CLEAR, 0x1008000, 4 * PG));
	t = dump(m);
	g_assert_cmpuint(leaves_in(t, 0x1008000, 4 * PG), ==, 0);
	g_assert_cmpuint(t->nr_leaves, ==, 12);
	spte_mirror_table_free(t);
	g_array_unref(evs);
	/* a device read now sees the zero-filled page, not stale data */
	g_assert_cmpint(spte_mirror_read(m, 0x1008000, buf, 8), ==, 0);
	g_assert_cmpuint(buf[0], ==, 0);
	mirror_done(m);
	munmap(p, 16 * PG);
}

static void test_inv_mprotect(void)
{
	struct spte_mirror_table *t;
	const struct spte_mirror_leaf *l;
	GArray *evs;
	uint8_t *p;
	struct spte_mirror *m = mapped_region(&p, 8);

	if (!m)
		return;
	g_assert_cmpint(mprotect(p, 8 * PG, PROT_READ), ==, 0);
	evs = drain_events(m);
	print_events(evs);
	g_assert_true(has_start(evs, SPTE_EV_PROTECTION_VMA, 0x1000000,
				8 * PG));
	g_array_unref(evs);
	g_assert_cmpint(spte_mirror_map(m, 0x1000000, 8 * PG, 0, NULL), ==, 0);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 8);
	l = spte_mirror_table_find(t, 0x1000000);
	g_assert_false(l->entry & SPTE_EPT_W);
	spte_mirror_table_free(t);
	/* device writes fail while the primary is read-only */
	g_assert_cmpint(spte_mirror_write(m, 0x1000000, "x", 1), <, 0);
	g_assert_cmpint(mprotect(p, 8 * PG, PROT_READ | PROT_WRITE), ==, 0);
	g_assert_cmpint(spte_mirror_write(m, 0x1000000, "x", 1), ==, 0);
	g_assert_cmpuint(p[0], ==, 'x');
	mirror_done(m);
	munmap(p, 8 * PG);
}

/*
 * Where the secondary-TLB callback lands in an mprotect(2).  Both kernels
 * change the PTEs between invalidate_range_start and _end
 * (change_pmd_range()) and flush the primary TLB later, from
 * tlb_finish_mmu() in do_mprotect_pkey().  On 6.1 ->invalidate_range does
 * not wait for that flush: __mmu_notifier_invalidate_range_end() calls it
 * just before ->invalidate_range_end.  From 6.6 it is
 * ->arch_invalidate_secondary_tlbs, called by the flush itself
 * (flush_tlb_mm_range()), so it comes after _end.  Either way it covers
 * the range.
 */
static void test_inv_secondary_tlb(void)
{
	struct spte_mirror_version v;
	GArray *evs;
	uint8_t *p;
	struct spte_mirror *m = mapped_region(&p, 8);
	gint start = -1, secondary = -1, end = -1;

	if (!m)
		return;
	g_assert_cmpint(spte_mirror_version(m, &v), ==, 0);
	drain_events(m);
	g_assert_cmpint(mprotect(p, 8 * PG, PROT_READ), ==, 0);
	evs = drain_events(m);
	print_events(evs);
	for (guint i = 0; i < evs->len; i++) {
		struct spte_mirror_event *e =
			&g_array_index(evs, struct spte_mirror_event, i);
		gint *first;

		if (e->gpa_start == SPTE_MIRROR_NONE ||
		    e->gpa_start > 0x1000000 || e->gpa_end < 0x1000000 + 8 * PG)
			continue;
		if (e->callback == SPTE_CB_INVALIDATE_RANGE_START)
			first = &start;
		else if (e->callback == SPTE_CB_INVALIDATE_SECONDARY)
			first = &secondary;
		else if (e->callback == SPTE_CB_INVALIDATE_RANGE_END)
			first = &end;
		else
			continue;
		if (*first < 0)
			*first = i;
	}
	g_test_message("start #%d, secondary TLB #%d, end #%d", start,
		       secondary, end);
	g_assert_cmpint(start, >=, 0);
	g_assert_cmpint(end, >, start);
	if (v.kernel_version < ((6u << 16) | (6u << 8)))
		g_assert_cmpint(secondary, ==, end - 1);
	else
		g_assert_cmpint(secondary, >, end);
	g_array_unref(evs);
	mirror_done(m);
	munmap(p, 8 * PG);
}

/* ---- device access ------------------------------------------------ */

static void test_access_rw(void)
{
	struct spte_mirror_access a;
	struct spte_mirror_table *t;
	const struct spte_mirror_leaf *l;
	struct spte_mirror *m = mirror_open();
	uint8_t *p, buf[3 * 4096];

	if (!m)
		return;
	p = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x3000, p, 4 * PG, 0, NULL),
			==, 0);
	/* a write across pages faults them in, sets A and D */
	fill(buf, sizeof(buf), 40);
	g_assert_cmpint(spte_mirror_access(m, 0x3000 + 100, buf, 2 * PG,
					   SPTE_ACCESS_WRITE, &a), ==, 0);
	g_assert_cmpuint(a.done, ==, 2 * PG);
	g_assert_cmpuint(a.faults, ==, 3);
	g_assert_cmpmem(p + 100, 2 * PG, buf, 2 * PG);
	t = dump(m);
	l = spte_mirror_table_find(t, 0x3000);
	g_assert_true((l->entry & (SPTE_EPT_A | SPTE_EPT_D)) ==
		      (SPTE_EPT_A | SPTE_EPT_D));
	g_assert_null(spte_mirror_table_find(t, 0x6000));
	spte_mirror_table_free(t);
	/* CPU writes are seen by device reads */
	memset(p, 0x5a, 4 * PG);
	g_assert_cmpint(spte_mirror_read(m, 0x3000, buf, 3 * PG), ==, 0);
	g_assert_cmpuint(buf[0], ==, 0x5a);
	g_assert_cmpuint(buf[3 * PG - 1], ==, 0x5a);
	/* no fault mode on a miss */
	g_assert_cmpint(spte_mirror_unmap(m, 0x3000, PG, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_access(m, 0x3000, buf, 1,
					   SPTE_ACCESS_NO_FAULT, NULL), ==,
			-EFAULT);
	mirror_done(m);
	munmap(p, 4 * PG);
}

/* ---- KSM -------------------------------------------------------- */

static bool ksm_wait_scans(unsigned long extra, int timeout_s)
{
	unsigned long start, now;
	int i;

	if (sysfs_read_ul("/sys/kernel/mm/ksm/full_scans", &start))
		return false;
	for (i = 0; i < timeout_s * 10; i++) {
		g_usleep(100000);
		sysfs_read_ul("/sys/kernel/mm/ksm/full_scans", &now);
		if (now >= start + extra)
			return true;
	}
	return false;
}

static void test_ksm_merge(void)
{
	const size_t n = 32;
	struct spte_mirror_table *t;
	struct spte_mirror *m;
	uint64_t shared = 0;
	GArray *evs;
	uint8_t *p;
	size_t i;

	if (access("/sys/kernel/mm/ksm/run", W_OK)) {
		g_test_skip("no KSM");
		return;
	}
	m = mirror_open();
	if (!m)
		return;
	p = map_anon(n * PG, PROT_READ | PROT_WRITE);
	madvise(p, n * PG, MADV_NOHUGEPAGE);
	memset(p, 0x77, n * PG);
	g_assert_cmpint(madvise(p, n * PG, MADV_MERGEABLE), ==, 0);
	g_assert_cmpint(spte_mirror_set_log(m, 0, SPTE_LOG_SLOTS_ONLY, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_add_slot(m, 0, p, n * PG, 0, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0, n * PG, SPTE_MAP_WRITE, NULL),
			==, 0);

	sysfs_write("/sys/kernel/mm/ksm/pages_to_scan", "4096");
	sysfs_write("/sys/kernel/mm/ksm/sleep_millisecs", "10");
	g_assert_cmpint(sysfs_write("/sys/kernel/mm/ksm/run", "1"), ==, 0);
	g_assert_true(ksm_wait_scans(2, 120));
	for (i = 0; i < 50 && pagemap_pfn(p) != pagemap_pfn(p + (n - 1) * PG);
	     i++)
		ksm_wait_scans(1, 30);
	sysfs_write("/sys/kernel/mm/ksm/run", "0");

	evs = drain_events(m);
	print_events(evs);
	g_assert_true(has_start(evs, SPTE_EV_CLEAR, 0, PG));
	{
		struct spte_mirror_version v;

		g_assert_cmpint(spte_mirror_version(m, &v), ==, 0);
		if (v.callbacks & (1ULL << SPTE_CB_CHANGE_PTE))
			g_assert_cmpuint(count_cb(evs, SPTE_CB_CHANGE_PTE), >=,
					 n - 1);
	}
	g_array_unref(evs);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 0);	/* all zapped by the merge */
	spte_mirror_table_free(t);

	/* remap: every GPA on one shared, read-only PFN (no refs were held) */
	g_assert_cmpint(spte_mirror_map(m, 0, n * PG, 0, NULL), ==, 0);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, n);
	for (i = 0; i < n; i++) {
		const struct spte_mirror_leaf *l = &t->leaves[i];

		if (!shared)
			shared = spte_ept_pfn(l->entry);
		g_assert_cmphex(spte_ept_pfn(l->entry), ==, shared);
		g_assert_false(l->entry & SPTE_EPT_W);
	}
	g_assert_cmphex(pagemap_pfn(p + 5 * PG), ==, shared);
	spte_mirror_table_free(t);

	/* a device write breaks the sharing for that page only */
	g_assert_cmpint(spte_mirror_write(m, 5 * PG, "w", 1), ==, 0);
	g_assert_cmpuint(p[5 * PG], ==, 'w');
	g_assert_cmphex(pagemap_pfn(p + 5 * PG), !=, shared);
	g_assert_cmphex(pagemap_pfn(p + 6 * PG), ==, shared);
	t = dump(m);
	g_assert_cmphex(spte_ept_pfn(spte_mirror_table_find(t, 5 * PG)->entry),
			==, pagemap_pfn(p + 5 * PG));
	g_assert_true(spte_mirror_table_find(t, 5 * PG)->entry & SPTE_EPT_W);
	spte_mirror_table_free(t);
	mirror_done(m);
	munmap(p, n * PG);
}

/* ---- aging ------------------------------------------------------ */

static void test_aging_clear_young(void)
{
	struct spte_mirror_table *t;
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_version v;
	uint8_t *p, buf[4];
	GArray *evs;
	guint i, young = 0, asked = 0;

	if (!m)
		return;
	p = map_anon(8 * PG, PROT_READ | PROT_WRITE);
	madvise(p, 8 * PG, MADV_NOHUGEPAGE);
	fill(p, 8 * PG, 1);
	g_assert_cmpint(spte_mirror_add_slot(m, 0, p, 8 * PG, 0, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0, 8 * PG, 0, NULL), ==, 0);
	t = dump(m);
	g_assert_false(t->leaves[0].entry & SPTE_EPT_A);
	spte_mirror_table_free(t);
	g_assert_cmpint(spte_mirror_read(m, 0, buf, 4), ==, 0);
	t = dump(m);
	g_assert_true(spte_mirror_table_find(t, 0)->entry & SPTE_EPT_A);
	g_assert_false(spte_mirror_table_find(t, PG)->entry & SPTE_EPT_A);
	spte_mirror_table_free(t);
	g_array_unref(drain_events(m));

	/*
	 * Up to 6.8, MADV_PAGEOUT's reclaim asks every secondary MMU through
	 * clear_flush_young (reclaim_folio_list() checks references), and
	 * the page the device read is young.  From 6.9 ("mm: madvise:
	 * pageout: ignore references rather than clearing young") it asks
	 * nobody and every page goes; the scenarios reclaim-swap and
	 * mglru-aging show what still asks there.
	 */
	g_assert_cmpint(spte_mirror_version(m, &v), ==, 0);
	sysfs_write("/proc/self/clear_refs", "1");
	g_assert_cmpint(madvise(p, 8 * PG, MADV_PAGEOUT), ==, 0);
	evs = drain_events(m);
	print_events(evs);
	for (i = 0; i < evs->len; i++) {
		struct spte_mirror_event *e =
			&g_array_index(evs, struct spte_mirror_event, i);

		if (e->callback == SPTE_CB_CLEAR_FLUSH_YOUNG ||
		    e->callback == SPTE_CB_CLEAR_YOUNG) {
			asked++;
			young += !!e->result;
		}
	}
	if (v.kernel_version < ((6u << 16) | (9u << 8))) {
		g_assert_cmpuint(young, >=, 1);
	} else {
		g_assert_cmpuint(asked, ==, 0);
		t = dump(m);
		g_assert_null(spte_mirror_table_find(t, 0));
		spte_mirror_table_free(t);
	}
	g_array_unref(evs);
	t = dump(m);
	if (spte_mirror_table_find(t, 0))
		g_assert_false(spte_mirror_table_find(t, 0)->entry &
			       SPTE_EPT_A);
	spte_mirror_table_free(t);
	mirror_done(m);
	munmap(p, 8 * PG);
}

static void test_aging_test_young(void)
{
	const char *kh = "/sys/kernel/mm/transparent_hugepage/khugepaged/";
	struct spte_mirror_counters c;
	struct spte_mirror *m;
	unsigned long scans0, scans;
	uint8_t *p;
	GArray *evs;
	guint i, tested = 0;
	int k;

	if (access("/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans",
		   R_OK)) {
		g_test_skip("no khugepaged");
		return;
	}
	m = mirror_open();
	if (!m)
		return;
	p = map_aligned_2m(HUGE_2M);
	madvise(p, HUGE_2M, MADV_NOHUGEPAGE);
	fill(p, HUGE_2M, 2);
	g_assert_cmpint(spte_mirror_add_slot(m, 0, p, HUGE_2M, 0, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0, HUGE_2M, SPTE_MAP_NO_HUGE, NULL),
			==, 0);
	/* primary young bits clear, the mirror's A set by device reads */
	sysfs_write("/proc/self/clear_refs", "1");
	for (k = 0; k < 512; k++) {
		uint8_t b;

		g_assert_cmpint(spte_mirror_read(m, k * PG, &b, 1), ==, 0);
	}
	g_array_unref(drain_events(m));
	{
		g_autofree char *p1 = g_strconcat(kh, "scan_sleep_millisecs",
						  NULL);
		g_autofree char *p2 = g_strconcat(kh, "full_scans", NULL);

		sysfs_write(p1, "50");
		sysfs_read_ul(p2, &scans0);
		g_assert_cmpint(madvise(p, HUGE_2M, MADV_HUGEPAGE), ==, 0);
		for (k = 0; k < 600; k++) {
			g_usleep(100000);
			sysfs_read_ul(p2, &scans);
			g_assert_cmpint(spte_mirror_counters(m, &c), ==, 0);
			if (scans >= scans0 + 2 ||
			    c.callbacks[SPTE_CB_TEST_YOUNG])
				break;
		}
		sysfs_write(p1, "10000");
	}
	evs = drain_events(m);
	print_events(evs);
	for (i = 0; i < evs->len; i++) {
		struct spte_mirror_event *e =
			&g_array_index(evs, struct spte_mirror_event, i);

		/* answered from the A bit of a leaf that exists */
		if (e->callback == SPTE_CB_TEST_YOUNG && e->leaves) {
			tested++;
			g_assert_cmpint(e->result, ==, 1);
		}
		if (e->callback == SPTE_CB_TEST_YOUNG && !e->leaves)
			g_assert_cmpint(e->result, ==, 0);
	}
	g_array_unref(evs);
	g_assert_cmpint(spte_mirror_counters(m, &c), ==, 0);
	if (!tested)
		g_test_incomplete("khugepaged never asked test_young");
	mirror_done(m);
	munmap(p, HUGE_2M);
}

/* ---- event log -------------------------------------------------- */

static void test_events_drops(void)
{
	struct spte_mirror_counters c;
	uint8_t *p;
	GArray *evs;
	guint i, dropped_rec = 0;
	uint64_t size, seen_drops = 0, last_seq = 0;
	struct spte_mirror *m = mapped_region(&p, 4);
	int k;

	if (!m)
		return;
	g_assert_cmpint(spte_mirror_set_log(m, 4, SPTE_LOG_SLOTS_ONLY, &size),
			==, 0);
	g_assert_cmpuint(size, ==, 4);
	g_array_unref(drain_events(m));
	for (k = 0; k < 50; k++) {
		p[0] = (uint8_t)k;
		madvise(p, PG, MADV_DONTNEED);
	}
	evs = drain_events(m);
	print_events(evs);
	for (i = 0; i < evs->len; i++) {
		struct spte_mirror_event *e =
			&g_array_index(evs, struct spte_mirror_event, i);

		g_assert_cmpuint(e->seq, >, last_seq);
		if (e->callback == SPTE_CB_DROPPED) {
			dropped_rec++;
			seen_drops += e->leaves;
		}
		last_seq = e->seq;
	}
	g_assert_cmpuint(dropped_rec, ==, 1);
	g_assert_cmpint(spte_mirror_counters(m, &c), ==, 0);
	g_assert_cmpuint(c.events_dropped, >, 0);
	g_assert_cmpuint(seen_drops, ==, c.events_dropped);
	/* the sequence accounts for every event: logged + dropped */
	g_assert_cmpuint(last_seq, >=, c.events_dropped);
	g_assert_cmpint(spte_mirror_set_log(m, 1, 0, NULL), ==, -EINVAL);
	g_array_unref(evs);
	mirror_done(m);
	munmap(p, 4 * PG);
}

/* ---- audit ------------------------------------------------------ */

static void test_audit_skip_invalidate(void)
{
	struct spte_mirror_audit a;
	struct spte_mirror *m;
	uint8_t *p, *scratch;
	char buf[256];
	uint64_t i;

	if (!ensure_module() || access(PARAM_SKIP, W_OK)) {
		g_test_skip("no skip_invalidate parameter");
		return;
	}
	m = mapped_region(&p, 8);
	if (!m)
		return;
	scratch = map_anon(PG, PROT_READ | PROT_WRITE);
	g_assert_cmpint(sysfs_write(PARAM_SKIP, "1"), ==, 0);
	madvise(p, 2 * PG, MADV_DONTNEED);	/* leaves stay: unmapped */
	madvise(p + 4 * PG, PG, MADV_DONTNEED);
	scratch[0] = 1;		/* takes the just-freed page off the pcp list */
	p[4 * PG] = 2;				/* new page: stale PFN */
	g_assert_cmpint(mprotect(p + 6 * PG, 2 * PG, PROT_READ), ==, 0);
	g_assert_cmpint(sysfs_write(PARAM_SKIP, "0"), ==, 0);

	g_assert_cmpint(spte_mirror_audit(m, &a), ==, 0);
	for (i = 0; i < a.nr_reports; i++) {
		struct spte_mirror_leaf l = {
			.gpa = a.reports[i].gpa,
			.entry = a.reports[i].entry,
			.level = a.reports[i].level,
		};

		g_test_message("%s: %s", spte_mirror_audit_kind_name(
				       a.reports[i].kind),
			       spte_mirror_leaf_format(&l, buf, sizeof(buf)));
	}
	g_assert_cmpuint(a.stale_unmapped, ==, 2);
	g_assert_cmpuint(a.stale_pfn, ==, 1);
	g_assert_cmpuint(a.write_violations, ==, 2);
	g_assert_cmpuint(a.leaves, ==, 8);
	/* the remedy: drop and refault, then the audit is clean */
	g_assert_cmpint(spte_mirror_unmap(m, 0x1000000, 8 * PG, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x1000000, 8 * PG, 0, NULL), ==, 0);
	mirror_done(m);
	munmap(p, 8 * PG);
	munmap(scratch, PG);
}

/* ---- teardown --------------------------------------------------- */

static void test_teardown_exit_without_close(void)
{
	pid_t pid;

	if (!ensure_module()) {
		g_test_skip(spte_mirror_strerror(-ENOENT));
		return;
	}
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		struct spte_mirror *m = NULL;
		uint8_t *p = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || spte_mirror_open(&m))
			_exit(1);
		memset(p, 1, 64 * PG);
		if (spte_mirror_add_slot(m, 0, p, 64 * PG, 0, NULL) ||
		    spte_mirror_map(m, 0, 64 * PG, 0, NULL))
			_exit(2);
		_exit(0);	/* no close, no munmap: ->release first */
	}
	child_exited_ok(pid);
	mirror_done(NULL);
}

struct race {
	struct spte_mirror *m;
	uint8_t *p;
	size_t size;
	volatile bool stop;
	unsigned long maps, errors;
};

static void *race_mapper(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		int e = spte_mirror_map(r->m, 0, r->size, 0, NULL);

		if (e)
			r->errors++;
		else
			r->maps++;
	}
	return NULL;
}

static void test_teardown_munmap_race(void)
{
	struct race r = { .size = 64 * PG };
	pthread_t th;
	int k;

	r.m = mirror_open();
	if (!r.m)
		return;
	r.p = map_anon(r.size, PROT_READ | PROT_WRITE);
	g_assert_cmpint(spte_mirror_add_slot(r.m, 0, r.p, r.size, 0, NULL), ==,
			0);
	g_assert_cmpint(pthread_create(&th, NULL, race_mapper, &r), ==, 0);
	for (k = 0; k < 200; k++) {
		void *q;

		memset(r.p, k, r.size);
		munmap(r.p, r.size);
		q = mmap(r.p, r.size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		g_assert_true(q == r.p);
	}
	r.stop = true;
	pthread_join(th, NULL);
	g_test_message("maps %lu failed %lu", r.maps, r.errors);
	mirror_done(r.m);
	munmap(r.p, r.size);
}

static void test_teardown_rmmod(void)
{
	struct spte_mirror *m = mirror_open();

	if (!m)
		return;
	g_assert_cmpint(syscall(SYS_delete_module, "spte_mirror", O_NONBLOCK),
			==, -1);
	g_assert_true(errno == EWOULDBLOCK || errno == EBUSY);
	mirror_done(m);
	if (access(MODULE_PATH, R_OK)) {
		g_test_skip("module file not here; not unloading");
		return;
	}
	g_assert_cmpint(syscall(SYS_delete_module, "spte_mirror", O_NONBLOCK),
			==, 0);
	g_assert_cmpint(access(SPTE_MIRROR_DEVICE, F_OK), ==, -1);
	module_state = -1;
	g_assert_true(ensure_module());
}

/* ---- memory a device may and may not reach ----------------------- */

/* Every leaf of @t in [gpa, gpa + size) lacks W. */
static bool no_writable_leaf(const struct spte_mirror_table *t, uint64_t gpa,
			     uint64_t size)
{
	uint64_t i;

	for (i = 0; i < t->nr_leaves; i++)
		if (t->leaves[i].gpa >= gpa && t->leaves[i].gpa < gpa + size &&
		    (t->leaves[i].entry & SPTE_EPT_W))
			return false;
	return true;
}

/* The device's read and write through the mirror agree with the CPU. */
static void check_device_rw(struct spte_mirror *m, uint64_t gpa, uint8_t *p,
			    size_t size)
{
	uint8_t *buf = g_malloc(size);

	fill(p, size, 0x21);
	g_assert_cmpint(spte_mirror_read(m, gpa, buf, size), ==, 0);
	g_assert_cmpmem(buf, size, p, size);
	memset(buf, 0x5e, size);
	g_assert_cmpint(spte_mirror_write(m, gpa, buf, size), ==, 0);
	g_assert_cmpmem(buf, size, p, size);
	g_free(buf);
}

static void test_memory_memfd(void)
{
	struct spte_mirror *m = mirror_open();
	size_t size = 16 * PG;
	uint8_t *p;
	int fd;

	if (!m)
		return;
	fd = memfd_create("spte-test", MFD_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, size), ==, 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(p != MAP_FAILED);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x2000000, p, size, 0, NULL),
			==, 0);
	check_device_rw(m, 0x2000000, p, size);
	mirror_done(m);
	munmap(p, size);
	close(fd);
}

static void test_memory_hugetlb(void)
{
	struct spte_mirror_map mp;
	struct spte_mirror *m = mirror_open();
	g_autofree char *old = NULL;
	uint8_t *p;

	if (!m)
		return;
	g_assert_true(g_file_get_contents(NR_HUGEPAGES, &old, NULL, NULL));
	g_assert_cmpint(sysfs_write(NR_HUGEPAGES, "2"), ==, 0);
	p = mmap(NULL, HUGE_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	g_assert_true(p != MAP_FAILED);
	p[0] = 1;
	g_assert_cmpint(spte_mirror_add_slot(m, 0x4000000, p, HUGE_2M, 0, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x4000000, HUGE_2M, 0, &mp), ==, 0);
	g_assert_cmpuint(mp.mapped_2m, ==, 1);
	check_device_rw(m, 0x4000000, p, HUGE_2M);
	mirror_done(m);
	munmap(p, HUGE_2M);
	g_strstrip(old);
	g_assert_cmpint(sysfs_write(NR_HUGEPAGES, old), ==, 0);
}

/*
 * memfd_secret pages are gone from the kernel's direct map: a device
 * access through kmap would oops with mmu_lock held.  They must be
 * refused, both when the slot is added and when a secret mapping later
 * replaces the slot's memory.  (6.1 boots the lab with secretmem.enable=1.)
 */
static void test_memory_secretmem(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_table *t;
	uint8_t *p, *q, buf[64];
	int fd;

	if (!m)
		return;
	fd = syscall(SYS_memfd_secret, 0);
	if (fd < 0) {
		g_test_fail_printf("memfd_secret: %s (secretmem.enable=1 missing?)",
				   strerror(errno));
		spte_mirror_close(m);
		return;
	}
	g_assert_cmpint(ftruncate(fd, HUGE_2M), ==, 0);
	p = mmap(NULL, HUGE_2M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(p != MAP_FAILED);
	p[0] = 1;
	g_assert_cmpint(spte_mirror_add_slot(m, 0x6000000, p, HUGE_2M, 0, NULL),
			==, -EOPNOTSUPP);

	/* a slot over ordinary memory, then a secret mapping in its place */
	q = map_anon(16 * PG, PROT_READ | PROT_WRITE);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x6000000, q, 16 * PG, 0, NULL),
			==, 0);
	g_assert_true(mmap(q, 16 * PG, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, fd, 0) == q);
	q[0] = 2;
	g_assert_cmpint(spte_mirror_map(m, 0x6000000, 16 * PG, 0, NULL), ==,
			-EOPNOTSUPP);
	g_assert_cmpint(spte_mirror_read(m, 0x6000000, buf, sizeof(buf)), ==,
			-EOPNOTSUPP);
	g_assert_cmpint(spte_mirror_map(m, 0x6000000, 16 * PG,
					SPTE_MAP_SNAPSHOT, NULL), ==,
			-EOPNOTSUPP);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 0);
	spte_mirror_table_free(t);
	mirror_done(m);
	munmap(q, 16 * PG);
	munmap(p, HUGE_2M);
	close(fd);
}

/* [vvar] is VM_IO | VM_PFNMAP: no struct page a device could use. */
static void test_memory_pfnmap(void)
{
	struct spte_mirror *m = mirror_open();
	g_autofree char *maps = NULL;
	unsigned long lo = 0, hi = 0;
	char *line;

	if (!m)
		return;
	g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
	line = strstr(maps, "[vvar]");
	g_assert_nonnull(line);
	while (line > maps && line[-1] != '\n')
		line--;
	g_assert_cmpint(sscanf(line, "%lx-%lx", &lo, &hi), ==, 2);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x8000000, (void *)lo, PG, 0,
					     NULL), ==, -EOPNOTSUPP);
	mirror_done(m);
}

/*
 * A READONLY slot never maps W and never write-faults the primary: a
 * write MAP or ACCESS fails up front with -EPERM and leaves every page of
 * untouched anonymous memory unallocated (no COW broken, no KSM page
 * unshared).
 */
static void test_memory_readonly_slot(void)
{
	struct spte_mirror *m = mirror_open();
	struct spte_mirror_table *t;
	uint8_t *p, buf[64];
	size_t i, resident = 0;

	if (!m)
		return;
	p = map_aligned_2m(HUGE_2M);
	madvise(p, HUGE_2M, MADV_NOHUGEPAGE);
	g_assert_cmpint(spte_mirror_add_slot(m, 0xa000000, p, HUGE_2M,
					     SPTE_SLOT_READONLY, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0xa000000, 64 * PG, SPTE_MAP_WRITE,
					NULL), ==, -EPERM);
	memset(buf, 0x77, sizeof(buf));
	g_assert_cmpint(spte_mirror_write(m, 0xa000000, buf, sizeof(buf)), ==,
			-EPERM);
	for (i = 0; i < HUGE_2M / PG; i++)
		resident += pagemap_pfn(p + i * PG) != 0;
	g_assert_cmpuint(resident, ==, 0);
	/* reads work, and map nothing writable */
	g_assert_cmpint(spte_mirror_read(m, 0xa000000, buf, sizeof(buf)), ==, 0);
	g_assert_cmpuint(buf[0], ==, 0);
	p[PG] = 3;
	g_assert_cmpint(spte_mirror_map(m, 0xa000000, 64 * PG, 0, NULL), ==, 0);
	t = dump(m);
	g_assert_true(no_writable_leaf(t, 0xa000000, HUGE_2M));
	spte_mirror_table_free(t);
	mirror_done(m);
	munmap(p, HUGE_2M);
}

/*
 * skip_invalidate=1 is a fault injector: setting it taints the kernel, and
 * the stale leaves it leaves behind are marked so that nothing uses them:
 * a device access through one is refused (-ESTALE) instead of touching a
 * page that may be free or reused, and zapping one later does not hand
 * its accessed bit to a struct page.
 */
static void test_skip_invalidate_stale(void)
{
	struct spte_mirror_table *t;
	const struct spte_mirror_leaf *l;
	struct spte_mirror *m;
	uint8_t *p, buf[64];

	if (!ensure_module() || access(PARAM_SKIP, W_OK)) {
		g_test_fail_printf("no %s", PARAM_SKIP);
		return;
	}
	m = mapped_region(&p, 4);
	if (!m)
		return;
	g_assert_cmpint(sysfs_write(PARAM_SKIP, "1"), ==, 0);
	g_assert_cmphex(taint() & TAINT_USER, ==, TAINT_USER);
	g_assert_cmpint(madvise(p, 2 * PG, MADV_DONTNEED), ==, 0);
	g_assert_cmpint(sysfs_write(PARAM_SKIP, "0"), ==, 0);

	t = dump(m);
	l = spte_mirror_table_find(t, 0x1000000);
	g_assert_nonnull(l);
	g_assert_cmphex(l->entry & SPTE_EPT_STALE, ==, SPTE_EPT_STALE);
	l = spte_mirror_table_find(t, 0x1000000 + 3 * PG);
	g_assert_nonnull(l);
	g_assert_cmphex(l->entry & SPTE_EPT_STALE, ==, 0);
	spte_mirror_table_free(t);

	g_assert_cmpint(spte_mirror_read(m, 0x1000000, buf, sizeof(buf)), ==,
			-ESTALE);
	g_assert_cmpint(spte_mirror_write(m, 0x1000000 + PG, buf, sizeof(buf)),
			==, -ESTALE);
	g_assert_cmpint(spte_mirror_read(m, 0x1000000 + 3 * PG, buf,
					 sizeof(buf)), ==, 0);
	/* the remedy: drop the stale leaves and refault */
	g_assert_cmpint(spte_mirror_unmap(m, 0x1000000, 2 * PG, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_read(m, 0x1000000, buf, sizeof(buf)), ==, 0);
	g_assert_cmpuint(buf[0], ==, 0);
	mirror_done(m);
	munmap(p, 4 * PG);
}

/* ---- the event stream at the ABI --------------------------------- */

static void test_events_read_abi(void)
{
	struct spte_mirror_event ev[4], again[4];
	struct pollfd pfd;
	uint8_t *p, *none;
	struct spte_mirror *m = mapped_region(&p, 4);
	ssize_t n;
	int fd;

	if (!m)
		return;
	fd = spte_mirror_fd(m);
	/* an empty ring: O_NONBLOCK says so, poll times out */
	g_assert_cmpint(fcntl(fd, F_SETFL, O_NONBLOCK), ==, 0);
	g_assert_cmpint(read(fd, ev, sizeof(ev)), ==, -1);
	g_assert_cmpint(errno, ==, EAGAIN);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	g_assert_cmpint(poll(&pfd, 1, 50), ==, 0);

	g_assert_cmpint(madvise(p, PG, MADV_DONTNEED), ==, 0);	/* start + end */
	g_assert_cmpint(poll(&pfd, 1, 1000), ==, 1);
	g_assert_true(pfd.revents & POLLIN);
	/* less than one record: refused, nothing consumed */
	g_assert_cmpint(read(fd, ev, sizeof(ev[0]) - 1), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	/* a failed copy consumes nothing: the same records come next */
	none = map_anon(PG, PROT_NONE);
	g_assert_cmpint(read(fd, none, sizeof(ev)), ==, -1);
	g_assert_cmpint(errno, ==, EFAULT);
	/* a partial buffer gets whole records only */
	n = read(fd, ev, sizeof(ev[0]) + sizeof(ev[0]) / 2);
	g_assert_cmpint(n, ==, sizeof(ev[0]));
	g_assert_cmpuint(ev[0].callback, ==, SPTE_CB_INVALIDATE_RANGE_START);
	/* the next record follows it: nothing was consumed by the failures */
	n = read(fd, again, sizeof(again));
	g_assert_cmpint(n, >=, sizeof(again[0]));
	g_assert_cmpuint(again[0].seq, ==, ev[0].seq + 1);
	munmap(none, PG);
	mirror_done(m);
	munmap(p, 4 * PG);
}

/* Resizing the ring with records queued counts them as dropped, in band. */
static void test_events_resize_queued(void)
{
	struct spte_mirror_counters c0, c1, c2;
	struct spte_mirror_event ev[8];
	uint8_t *p;
	struct spte_mirror *m = mapped_region(&p, 4);
	uint64_t queued;
	ssize_t n;

	if (!m)
		return;
	g_assert_cmpint(spte_mirror_counters(m, &c0), ==, 0);
	g_assert_cmpint(madvise(p, PG, MADV_DONTNEED), ==, 0);
	g_assert_cmpint(madvise(p + PG, PG, MADV_DONTNEED), ==, 0);
	g_assert_cmpint(spte_mirror_counters(m, &c1), ==, 0);
	/* start and end each, and ->invalidate_range where the kernel has it */
	queued = c1.events_logged - c0.events_logged;
	g_assert_cmpuint(queued, >=, 4);
	g_assert_cmpint(spte_mirror_set_log(m, 64, SPTE_LOG_SLOTS_ONLY, NULL),
			==, 0);
	n = spte_mirror_read_events(m, ev, 8, 1000);
	g_assert_cmpint(n, ==, 1);
	g_assert_cmpuint(ev[0].callback, ==, SPTE_CB_DROPPED);
	g_assert_cmpuint(ev[0].leaves, ==, queued);
	g_assert_cmpint(spte_mirror_counters(m, &c2), ==, 0);
	g_assert_cmpuint(c2.events_dropped - c1.events_dropped, ==, queued);
	mirror_done(m);
	munmap(p, 4 * PG);
}

/* -E2BIG says how many leaves there are; a cursor pages through them. */
static void test_dump_abi(void)
{
	struct spte_mirror_leaf leaves[8];
	struct spte_mirror_dump d;
	uint8_t *p;
	struct spte_mirror *m = mapped_region(&p, 8);
	uint64_t seen = 0, next = 0;
	int fd;

	if (!m)
		return;
	fd = spte_mirror_fd(m);
	memset(&d, 0, sizeof(d));
	d.leaves = (uintptr_t)leaves;
	d.count = 3;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_DUMP, &d), ==, -1);
	g_assert_cmpint(errno, ==, E2BIG);
	g_assert_cmpuint(d.needed, ==, 8);
	g_assert_cmpuint(d.count, ==, 0);
	/* the same in batches of three, in GPA order */
	do {
		uint64_t i;

		memset(&d, 0, sizeof(d));
		d.leaves = (uintptr_t)leaves;
		d.count = 3;
		d.flags = SPTE_DUMP_CURSOR;
		d.start = next;
		g_assert_cmpint(ioctl(fd, SPTE_MIRROR_DUMP, &d), ==, 0);
		g_assert_cmpuint(d.count, <=, 3);
		for (i = 0; i < d.count; i++)
			g_assert_cmphex(leaves[i].gpa, ==,
					0x1000000 + (seen + i) * PG);
		seen += d.count;
		next = d.next;
	} while (next != SPTE_MIRROR_NONE);
	g_assert_cmpuint(seen, ==, 8);
	/* an unaligned cursor starts at the next leaf, never one below it */
	memset(&d, 0, sizeof(d));
	d.leaves = (uintptr_t)leaves;
	d.count = 8;
	d.flags = SPTE_DUMP_CURSOR;
	d.start = 0x1000000 + 0x10;
	g_assert_cmpint(ioctl(fd, SPTE_MIRROR_DUMP, &d), ==, 0);
	g_assert_cmpuint(d.count, ==, 7);
	g_assert_cmphex(leaves[0].gpa, ==, 0x1000000 + PG);
	mirror_done(m);
	munmap(p, 8 * PG);
}

/*
 * DUMP writes into the caller's buffer with page faults disabled and
 * faults it in between batches: a buffer never touched still gets every
 * leaf, right, across a page table the slot covers whole (the fast path)
 * and one it ends in; a page of it that cannot be written is -EFAULT,
 * with the leaves before it written.
 */
static void test_dump_user_buffer(void)
{
	const size_t n = 600, bytes = n * sizeof(struct spte_mirror_leaf);
	size_t buf_len = (bytes + PG - 1) / PG * PG;
	struct spte_mirror_leaf *leaves;
	struct spte_mirror_dump d;
	uint8_t *p;
	struct spte_mirror *m = mapped_region(&p, n);
	size_t i, per_page = PG / sizeof(*leaves);

	if (!m)
		return;
	leaves = map_anon(buf_len, PROT_READ | PROT_WRITE);
	memset(&d, 0, sizeof(d));
	d.leaves = (uintptr_t)leaves;
	d.count = n;
	g_assert_cmpint(ioctl(spte_mirror_fd(m), SPTE_MIRROR_DUMP, &d), ==, 0);
	g_assert_cmpuint(d.count, ==, n);
	g_assert_cmpuint(leaves[0].slot, !=, 0);	/* ids start at 1 */
	for (i = 0; i < n; i++) {
		g_assert_cmphex(leaves[i].gpa, ==, 0x1000000 + i * PG);
		g_assert_cmphex(leaves[i].hva, ==, (uintptr_t)p + i * PG);
		g_assert_cmpuint(leaves[i].level, ==, 1);
		g_assert_cmpuint(leaves[i].slot, ==, leaves[0].slot);
		g_assert_true(spte_ept_present(leaves[i].entry));
	}
	/* the third page of the buffer cannot be written */
	g_assert_cmpint(munmap(leaves, buf_len), ==, 0);
	leaves = map_anon(buf_len, PROT_READ | PROT_WRITE);
	g_assert_cmpint(mprotect((uint8_t *)leaves + 2 * PG, PG, PROT_READ),
			==, 0);
	memset(&d, 0, sizeof(d));
	d.leaves = (uintptr_t)leaves;
	d.count = n;
	g_assert_cmpint(ioctl(spte_mirror_fd(m), SPTE_MIRROR_DUMP, &d), ==, -1);
	g_assert_cmpint(errno, ==, EFAULT);
	for (i = 0; i < 2 * per_page; i++)
		g_assert_cmphex(leaves[i].gpa, ==, 0x1000000 + i * PG);
	g_assert_cmphex(leaves[2 * per_page].gpa, ==, 0);
	/* nowhere to write at all */
	memset(&d, 0, sizeof(d));
	d.leaves = (uintptr_t)(uint8_t *)leaves + 2 * PG;
	d.count = 1;
	d.flags = SPTE_DUMP_CURSOR;
	g_assert_cmpint(ioctl(spte_mirror_fd(m), SPTE_MIRROR_DUMP, &d), ==, -1);
	g_assert_cmpint(errno, ==, EFAULT);
	munmap(leaves, buf_len);
	mirror_done(m);
	munmap(p, n * PG);
}

/* ---- attach: exactly when ptrace attach would be allowed --------- */

/*
 * A child that waits, to be attached to, until end_child() sends it a
 * byte through *@fd, then exits 0.
 */
static pid_t waiting_child(int *fd)
{
	int pipefd[2];
	pid_t pid;
	char c;

	g_assert_cmpint(pipe(pipefd), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0)
		_exit(read(pipefd[0], &c, 1) == 1 ? 0 : 1);
	close(pipefd[0]);
	*fd = pipefd[1];
	return pid;
}

static void end_child(pid_t pid, int fd)
{
	char c = 0;

	g_assert_cmpint(write(fd, &c, 1), ==, 1);
	close(fd);
	child_exited_ok(pid);
}

static void test_attach_needs_ptrace(void)
{
	struct spte_mirror *m = mirror_open();
	pid_t pid;
	int fd;

	if (!m)
		return;
	pid = waiting_child(&fd);
	/* root with CAP_SYS_PTRACE, but not the child's tracer */
	g_assert_cmpint(spte_mirror_attach(m, pid), ==, -EPERM);
	g_assert_cmpint(ptrace(PTRACE_SEIZE, pid, NULL, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_attach(m, pid), ==, 0);
	end_child(pid, fd);
	mirror_done(m);
}

/*
 * Yama's ptrace_scope=3 forbids every attach, root's too, and cannot be
 * lowered again: so this runs last in the lab boot.
 */
static void test_attach_yama_scope3(void)
{
	struct spte_mirror *m = mirror_open();
	pid_t pid;
	int fd;

	if (!m)
		return;
	if (access(YAMA_SCOPE, W_OK)) {
		g_test_fail_printf("no %s in this kernel", YAMA_SCOPE);
		spte_mirror_close(m);
		return;
	}
	g_assert_cmpint(sysfs_write(YAMA_SCOPE, "3"), ==, 0);
	pid = waiting_child(&fd);
	g_assert_cmpint(ptrace(PTRACE_SEIZE, pid, NULL, NULL), ==, -1);
	g_assert_cmpint(spte_mirror_attach(m, pid), ==, -EPERM);
	end_child(pid, fd);
	/* its own mm is always allowed */
	g_assert_cmpint(spte_mirror_attach(m, getpid()), ==, 0);
	mirror_done(m);
}

/*
 * A mirrored process killed by its memory cgroup's OOM killer: the kill is
 * clean (no splat, which the lab would turn into a failure), ->release
 * comes once and the table is empty.  If the OOM reaper gets to the mm
 * before the victim's own exit_mmap() releases the notifier, its
 * invalidations are non-blockable (mmu_notifier_invalidate_range_start_
 * nonblock()), which the mirror handles without sleeping; on 6.1 the
 * reaper waits OOM_REAPER_DELAY (2 s) for a victim that is exiting anyway,
 * so that path is counted here, not required.
 */
#define OOM_CG "/sys/fs/cgroup/spte-test-oom"

/* A cgroup of 16M and no swap, where a process that allocates is killed. */
static bool oom_cgroup_create(void)
{
	if (access("/sys/fs/cgroup/cgroup.subtree_control", W_OK) ||
	    (mkdir(OOM_CG, 0755) && errno != EEXIST)) {
		g_test_fail_printf("no cgroup v2 memory controller: %s",
				   strerror(errno));
		return false;
	}
	g_assert_cmpint(sysfs_write(OOM_CG "/memory.max", "16M"), ==, 0);
	sysfs_write(OOM_CG "/memory.swap.max", "0");
	return true;
}

/* In a child: move into the cgroup. */
static int oom_cgroup_join(void)
{
	char self[32];

	snprintf(self, sizeof(self), "%d", getpid());
	return sysfs_write(OOM_CG "/cgroup.procs", self);
}

/*
 * The victim's 64 pages, mapped before the fork so that both sides know
 * where they are: NULL (and @m closed) where there is no cgroup to kill in.
 */
static uint8_t *oom_victim_pages(struct spte_mirror *m)
{
	uint8_t *p;

	if (!oom_cgroup_create()) {
		spte_mirror_close(m);
		return NULL;
	}
	p = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	madvise(p, 64 * PG, MADV_NOHUGEPAGE);
	return p;
}

/* In the child: into the cgroup, and the pages made its own by COW. */
static void oom_victim_start(uint8_t *p)
{
	if (oom_cgroup_join())
		_exit(2);
	memset(p, 0x42, 64 * PG);
}

/* The child's pages mirrored at GPA 16M, the events so far dropped. */
static void oom_victim_mirror(struct spte_mirror *m, pid_t pid, uint8_t *p)
{
	g_assert_cmpint(ptrace(PTRACE_SEIZE, pid, NULL, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_attach(m, pid), ==, 0);
	g_assert_cmpint(spte_mirror_set_log(m, 0, SPTE_LOG_SLOTS_ONLY, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x1000000, p, 64 * PG, 0, NULL),
			==, 0);
	g_assert_cmpint(spte_mirror_map(m, 0x1000000, 64 * PG, 0, NULL), ==, 0);
	g_array_unref(drain_events(m));
}

/* Reap the victim: the OOM killer's SIGKILL, nothing else, ended it. */
static void child_oom_killed(pid_t pid)
{
	int status;

	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
}

static void oom_victim_done(struct spte_mirror *m, uint8_t *p)
{
	munmap(p, 64 * PG);
	g_assert_cmpint(rmdir(OOM_CG), ==, 0);
	mirror_done(m);
}

/* In a child: touch new memory until the OOM killer ends it. */
static void __attribute__((noreturn)) oom_allocate(void)
{
	uint8_t *q = mmap(NULL, 256UL << 20, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	for (size_t off = 0; q != MAP_FAILED; off = (off + PG) % (256UL << 20))
		q[off] = 1;
	_exit(3);
}

static void test_teardown_oom_kill(void)
{
	struct spte_mirror *m = mirror_open();
	int to_child[2], to_parent[2];
	guint i, nonblock = 0, release = 0;
	struct spte_mirror_table *t;
	GArray *evs;
	uint8_t *p;
	char c = 0;
	pid_t pid;

	if (!m)
		return;
	p = oom_victim_pages(m);
	if (!p)
		return;
	g_assert_cmpint(pipe(to_child), ==, 0);
	g_assert_cmpint(pipe(to_parent), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		oom_victim_start(p);
		if (write(to_parent[1], &c, 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(1);
		oom_allocate();
	}
	g_assert_cmpint(read(to_parent[0], &c, 1), ==, 1);
	oom_victim_mirror(m, pid, p);
	g_assert_cmpint(write(to_child[1], &c, 1), ==, 1);
	child_oom_killed(pid);

	evs = drain_events(m);
	for (i = 0; i < evs->len; i++) {
		struct spte_mirror_event *e =
			&g_array_index(evs, struct spte_mirror_event, i);

		if (e->callback == SPTE_CB_INVALIDATE_RANGE_START &&
		    !(e->flags & SPTE_EVF_BLOCKABLE))
			nonblock++;
		release += e->callback == SPTE_CB_RELEASE;
	}
	print_events(evs);
	g_test_message("%u non-blockable invalidations of the slot", nonblock);
	g_assert_cmpuint(release, ==, 1);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 0);
	spte_mirror_table_free(t);
	g_array_unref(evs);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	oom_victim_done(m, p);
}

struct audit_loop {
	struct spte_mirror *m;
	volatile int stop;
	guint audits, stale;
};

static void *audit_loop_thread(void *arg)
{
	struct audit_loop *l = arg;
	struct spte_mirror_audit a;

	while (!l->stop) {
		if (spte_mirror_audit(l->m, &a))
			continue;
		l->audits++;
		l->stale += a.stale_pfn || a.stale_unmapped;
	}
	return NULL;
}

/*
 * AUDIT racing munmap(2): munmap detaches the VMAs, downgrades mmap_lock
 * and only then zaps and notifies, so a snapshot in between sees a hole
 * under leaves that are about to go.  AUDIT must wait that out, not call
 * them stale: a coherent mirror audits clean even during a munmap.
 */
static void test_audit_racing_munmap(void)
{
	struct spte_mirror *m = mirror_open();
	struct audit_loop l = { 0 };
	pthread_t th;
	guint rounds = 0;
	gint64 end;
	uint8_t *p;

	if (!m)
		return;
	l.m = m;
	p = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x1000000, p, 64 * PG, 0, NULL),
			==, 0);
	g_assert_cmpint(pthread_create(&th, NULL, audit_loop_thread, &l), ==, 0);
	/*
	 * A number of rounds, not a time: the debug kernel runs ten where a
	 * stock one runs hundreds.  The bound only catches a stuck AUDIT.
	 */
	end = g_get_monotonic_time() + 300 * G_USEC_PER_SEC;
	while (rounds < 100 || l.audits < 100) {
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		g_assert_true(mmap(p, 64 * PG, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				   0) == p);
		memset(p, rounds, 64 * PG);
		g_assert_cmpint(spte_mirror_map(m, 0x1000000, 64 * PG, 0, NULL),
				==, 0);
		g_assert_cmpint(munmap(p, 64 * PG), ==, 0);
		rounds++;
	}
	l.stop = 1;
	g_assert_cmpint(pthread_join(th, NULL), ==, 0);
	g_test_message("%u munmap rounds, %u audits, %u found stale leaves",
		       rounds, l.audits, l.stale);
	g_assert_cmpuint(l.stale, ==, 0);
	mirror_done(m);
}

/* Pass @fd over the connected socket @sock. */
static int send_fd(int sock, int fd)
{
	char data = 0, ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

struct remote_read {
	pid_t pid;
	void *addr;
	ssize_t ret;
};

/* process_vm_readv(2) of one page: holds the target's mm while it waits */
static void *remote_read_thread(void *arg)
{
	struct remote_read *r = arg;
	char buf[4096];
	struct iovec local = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct iovec remote = { .iov_base = r->addr, .iov_len = sizeof(buf) };

	r->ret = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);
	return NULL;
}

/*
 * The OOM reaper's non-blockable invalidations.  An OOM-killed process
 * normally frees its own memory in exit_mmap() well before the reaper's
 * timer (OOM_REAPER_DELAY, 2 s) fires.  Here a thread of this process is
 * inside process_vm_readv() of the victim, holding its mm (mm_users) while
 * it waits on a userfaultfd page the victim registered and handed over, so
 * exit_mmap() cannot run: the reaper (oom_reap_task_mm() ->
 * __oom_reap_task_mm()) unmaps the victim's private memory with
 * mmu_notifier_invalidate_range_start_nonblock().  The attached mirror
 * must zap under those non-blockable ranges, then see ->release once the
 * read is let go.
 */
static void test_teardown_oom_reaper(void)
{
	struct spte_mirror *m = mirror_open();
	struct remote_read rr = { 0 };
	struct uffd_msg msg;
	struct pollfd pfd;
	int sv[2], uffd;
	guint i, nonblock = 0, release = 0;
	struct spte_mirror_table *t;
	pthread_t reader;
	gint64 deadline;
	GArray *all;
	uint8_t *p, *hole;
	char c = 0;
	pid_t pid;

	if (!m)
		return;
	p = oom_victim_pages(m);
	if (!p)
		return;
	hole = map_anon(PG, PROT_READ | PROT_WRITE);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		struct uffdio_api api = { .api = UFFD_API };
		struct uffdio_register reg = {
			.range = { (uintptr_t)hole, PG },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		int fd;

		oom_victim_start(p);
		fd = syscall(SYS_userfaultfd, O_CLOEXEC);
		if (fd < 0 || ioctl(fd, UFFDIO_API, &api) ||
		    ioctl(fd, UFFDIO_REGISTER, &reg) || send_fd(sv[1], fd) ||
		    read(sv[1], &c, 1) != 1)
			_exit(1);
		oom_allocate();
	}
	uffd = recv_fd(sv[0]);
	g_assert_cmpint(uffd, >=, 0);
	oom_victim_mirror(m, pid, p);

	/* the reader is in the fault, holding the mm, once the message comes */
	rr.pid = pid;
	rr.addr = hole;
	g_assert_cmpint(pthread_create(&reader, NULL, remote_read_thread, &rr),
			==, 0);
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	g_assert_cmpint(poll(&pfd, 1, 10000), ==, 1);
	g_assert_cmpint(read(uffd, &msg, sizeof(msg)), ==, sizeof(msg));
	g_assert_cmpuint(msg.event, ==, UFFD_EVENT_PAGEFAULT);

	g_assert_cmpint(write(sv[0], &c, 1), ==, 1);
	child_oom_killed(pid);

	/* the reaper's timer: 2 s after the kill; allow it 20 */
	all = g_array_new(FALSE, TRUE, sizeof(struct spte_mirror_event));
	deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (!nonblock && g_get_monotonic_time() < deadline) {
		GArray *evs = drain_events(m);

		for (i = 0; i < evs->len; i++) {
			struct spte_mirror_event *e =
				&g_array_index(evs, struct spte_mirror_event, i);

			if (e->callback == SPTE_CB_INVALIDATE_RANGE_START &&
			    e->event == SPTE_EV_UNMAP &&
			    !(e->flags & SPTE_EVF_BLOCKABLE) &&
			    e->gpa_start != SPTE_MIRROR_NONE)
				nonblock++;
		}
		g_array_append_vals(all, evs->data, evs->len);
		g_array_unref(evs);
		if (!nonblock)
			g_usleep(100000);
	}
	g_test_message("%u non-blockable UNMAP invalidations of the slot",
		       nonblock);
	g_assert_cmpuint(nonblock, >, 0);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 0);
	spte_mirror_table_free(t);

	/* let the read go: the last mm user leaves, exit_mmap() releases */
	close(uffd);
	g_assert_cmpint(pthread_join(reader, NULL), ==, 0);
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (!release && g_get_monotonic_time() < deadline) {
		GArray *evs = drain_events(m);

		for (i = 0; i < evs->len; i++)
			release += g_array_index(evs, struct spte_mirror_event,
						 i).callback == SPTE_CB_RELEASE;
		g_array_append_vals(all, evs->data, evs->len);
		g_array_unref(evs);
		if (!release)
			g_usleep(50000);
	}
	print_events(all);
	g_assert_cmpuint(release, ==, 1);
	g_array_unref(all);
	close(sv[0]);
	close(sv[1]);
	munmap(hole, PG);
	oom_victim_done(m, p);
}

/* Every ioctl: an unknown flag and a non-zero last reserved word. */
static void test_abi_reserved_everywhere(void)
{
	struct spte_mirror *m = mirror_open();
	/*
	 * Room for any command's argument, aligned for its words: a case
	 * writes one word at an offset of its type, naming no member.
	 */
	uint64_t u[64];
	struct {
		const char *name;
		unsigned long cmd;
		size_t flags_off, reserved_off;
	} cases[] = {
#define CASE(c, type, member)						\
		{ #c, c, offsetof(type, flags),				\
		  offsetof(type, member) + sizeof(((type *)0)->member) -	\
		  sizeof(__u64) }
		CASE(SPTE_MIRROR_VERSION, struct spte_mirror_version, reserved),
		CASE(SPTE_MIRROR_ATTACH, struct spte_mirror_attach, reserved),
		CASE(SPTE_MIRROR_ADD_SLOT, struct spte_mirror_slot, reserved),
		CASE(SPTE_MIRROR_DEL_SLOT, struct spte_mirror_slot, reserved),
		CASE(SPTE_MIRROR_MAP, struct spte_mirror_map, reserved),
		CASE(SPTE_MIRROR_UNMAP, struct spte_mirror_range, reserved),
		CASE(SPTE_MIRROR_ACCESS, struct spte_mirror_access, reserved),
		CASE(SPTE_MIRROR_DUMP, struct spte_mirror_dump, reserved),
		CASE(SPTE_MIRROR_LOG_CONFIG, struct spte_mirror_log_config,
		     reserved),
		CASE(SPTE_MIRROR_COUNTERS, struct spte_mirror_counters,
		     reserved),
		{ "SPTE_MIRROR_AUDIT", SPTE_MIRROR_AUDIT,
		  offsetof(struct spte_mirror_audit, flags),
		  sizeof(struct spte_mirror_audit) - sizeof(uint64_t) },
#undef CASE
	};
	size_t i;

	if (!m)
		return;
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint64_t one = 1, unknown = 1ULL << 63;

		g_test_message("%s", cases[i].name);
		/* what the module copies in must lie inside u */
		g_assert_cmpuint(_IOC_SIZE(cases[i].cmd), <=, sizeof(u));
		memset(u, 0, sizeof(u));
		memcpy((uint8_t *)u + cases[i].reserved_off, &one, sizeof(one));
		g_assert_cmpint(ioctl(spte_mirror_fd(m), cases[i].cmd, u), ==,
				-1);
		g_assert_cmpint(errno, ==, EINVAL);
		memset(u, 0, sizeof(u));
		memcpy((uint8_t *)u + cases[i].flags_off, &unknown,
		       sizeof(unknown));
		g_assert_cmpint(ioctl(spte_mirror_fd(m), cases[i].cmd, u), ==,
				-1);
		g_assert_cmpint(errno, ==, EINVAL);
	}
	mirror_done(m);
}

/*
 * Device reads racing DONTNEED and refill on the CPU: every byte a device
 * read returns is the page's own pattern or zero (a fresh page, or one the
 * CPU is refilling), never a byte of a page the mirror should have let go
 * of, which the next refill of another page is likely to reuse.
 */
struct read_race {
	struct spte_mirror *m;
	uint8_t *p;
	volatile bool stop;
	unsigned long reads, bad;
};

static void *race_reader(void *arg)
{
	struct read_race *r = arg;
	uint8_t buf[PG];
	unsigned int seed = 7;

	while (!r->stop) {
		unsigned int i = rand_r(&seed) % 64, j;

		if (spte_mirror_read(r->m, 0x1000000 + i * PG, buf, PG))
			continue;	/* e.g. a fault that kept racing */
		/* zeroes and the pattern may mix: the CPU refills as we read */
		for (j = 0; j < PG; j++)
			if (buf[j] && buf[j] != i + 1)
				break;
		r->bad += j < PG;
		r->reads++;
	}
	return NULL;
}

static void test_access_race_dontneed(void)
{
	struct read_race r = { 0 };
	unsigned int seed = 3, i;
	pthread_t th;
	gint64 end;

	r.m = mapped_region(&r.p, 64);
	if (!r.m)
		return;
	for (i = 0; i < 64; i++)
		memset(r.p + i * PG, i + 1, PG);
	g_assert_cmpint(pthread_create(&th, NULL, race_reader, &r), ==, 0);
	end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < end) {
		i = rand_r(&seed) % 64;
		madvise(r.p + i * PG, PG, MADV_DONTNEED);
		memset(r.p + i * PG, i + 1, PG);
	}
	r.stop = true;
	pthread_join(th, NULL);
	g_test_message("%lu device reads, %lu with foreign bytes", r.reads,
		       r.bad);
	g_assert_cmpuint(r.reads, >, 100);
	g_assert_cmpuint(r.bad, ==, 0);
	mirror_done(r.m);
	munmap(r.p, 64 * PG);
}

/*
 * The mirrored process exits while another process's ioctls keep working
 * on its mm: ->release may then run from that process's own mmput(), in
 * the middle of an ioctl.  The ioctls end with -ESRCH, never a splat.
 */
struct ioctl_loop {
	struct spte_mirror *m;
	unsigned long calls;
	int last;
};

static void *ioctl_loop_thread(void *arg)
{
	struct ioctl_loop *l = arg;
	struct spte_mirror_audit a;
	uint8_t buf[256];

	do {
		struct spte_mirror_table *t = NULL;

		l->last = spte_mirror_map(l->m, 0x1000000, 64 * PG, 0, NULL);
		if (!l->last)
			l->last = spte_mirror_read(l->m, 0x1000000, buf,
						   sizeof(buf));
		if (!l->last)
			l->last = spte_mirror_audit(l->m, &a);
		if (!spte_mirror_dump(l->m, &t))
			spte_mirror_table_free(t);
		l->calls++;
	} while (l->last != -ESRCH && l->calls < 1000000);
	return NULL;
}

static void test_teardown_release_racing_ioctls(void)
{
	struct spte_mirror *m = mirror_open();
	int to_child[2], to_parent[2], status;
	struct ioctl_loop l = { 0 };
	struct spte_mirror_table *t;
	pthread_t th;
	uint8_t *p;
	char c = 0;
	pid_t pid;

	if (!m)
		return;
	p = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	g_assert_cmpint(pipe(to_child), ==, 0);
	g_assert_cmpint(pipe(to_parent), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		memset(p, 0x42, 64 * PG);
		if (write(to_parent[1], &c, 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(1);
		usleep(20000);
		_exit(0);
	}
	g_assert_cmpint(read(to_parent[0], &c, 1), ==, 1);
	g_assert_cmpint(ptrace(PTRACE_SEIZE, pid, NULL, NULL), ==, 0);
	g_assert_cmpint(spte_mirror_attach(m, pid), ==, 0);
	g_assert_cmpint(spte_mirror_add_slot(m, 0x1000000, p, 64 * PG, 0, NULL),
			==, 0);
	l.m = m;
	g_assert_cmpint(pthread_create(&th, NULL, ioctl_loop_thread, &l), ==, 0);
	g_assert_cmpint(write(to_child[1], &c, 1), ==, 1);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	pthread_join(th, NULL);
	g_test_message("%lu rounds of ioctls, the last %d", l.calls, l.last);
	g_assert_cmpint(l.last, ==, -ESRCH);
	t = dump(m);
	g_assert_cmpuint(t->nr_leaves, ==, 0);
	spte_mirror_table_free(t);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	munmap(p, 64 * PG);
	mirror_done(m);
}

/* close() while other threads invalidate the slot's memory. */
struct inval_loop {
	uint8_t *p;
	volatile bool stop;
	unsigned long rounds;
};

static void *inval_loop_thread(void *arg)
{
	struct inval_loop *v = arg;

	while (!v->stop) {
		madvise(v->p, 64 * PG, MADV_DONTNEED);
		memset(v->p, 1, 64 * PG);
		mprotect(v->p, 64 * PG, PROT_READ);
		mprotect(v->p, 64 * PG, PROT_READ | PROT_WRITE);
		v->rounds++;
	}
	return NULL;
}

static void test_teardown_close_racing_invalidations(void)
{
	struct inval_loop v = { 0 };
	pthread_t th;
	int i;

	if (!ensure_module()) {
		g_test_fail_printf("no module");
		return;
	}
	v.p = map_anon(64 * PG, PROT_READ | PROT_WRITE);
	memset(v.p, 1, 64 * PG);
	g_assert_cmpint(pthread_create(&th, NULL, inval_loop_thread, &v), ==, 0);
	for (i = 0; i < 50; i++) {
		struct spte_mirror *m = mirror_open();

		g_assert_nonnull(m);
		g_assert_cmpint(spte_mirror_add_slot(m, 0x1000000, v.p, 64 * PG,
						     0, NULL), ==, 0);
		spte_mirror_map(m, 0x1000000, 64 * PG, 0, NULL);
		spte_mirror_close(m);
	}
	v.stop = true;
	pthread_join(th, NULL);
	g_test_message("50 closes during %lu rounds of invalidations", v.rounds);
	g_assert_cmpuint(v.rounds, >, 0);
	munmap(v.p, 64 * PG);
	g_assert_cmphex(taint() & TAINT_WARN, ==, taint_at_start & TAINT_WARN);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	taint_at_start = taint();

	g_test_add_func("/mirror/abi/version", test_abi_version);
	g_test_add_func("/mirror/abi/wrong-mm", test_abi_wrong_mm);
	g_test_add_func("/mirror/abi/bad-slots", test_abi_bad_slots);
	g_test_add_func("/mirror/abi/unknown-ioctl", test_abi_unknown_ioctl);
	g_test_add_func("/mirror/abi/reserved", test_abi_reserved);
	g_test_add_func("/mirror/abi/attach", test_abi_attach);
	g_test_add_func("/mirror/map/pagemap", test_map_pagemap);
	g_test_add_func("/mirror/map/write-only-if-writable",
			test_map_write_only_if_writable);
	g_test_add_func("/mirror/map/snapshot", test_map_snapshot);
	g_test_add_func("/mirror/map/thp", test_map_thp);
	g_test_add_func("/mirror/invalidate/munmap", test_inv_munmap);
	g_test_add_func("/mirror/invalidate/dontneed", test_inv_dontneed);
	g_test_add_func("/mirror/invalidate/mprotect", test_inv_mprotect);
	g_test_add_func("/mirror/invalidate/secondary-tlb",
			test_inv_secondary_tlb);
	g_test_add_func("/mirror/access/read-write", test_access_rw);
	g_test_add_func("/mirror/ksm/merge", test_ksm_merge);
	g_test_add_func("/mirror/aging/clear-young", test_aging_clear_young);
	g_test_add_func("/mirror/aging/test-young", test_aging_test_young);
	g_test_add_func("/mirror/events/drops", test_events_drops);
	g_test_add_func("/mirror/audit/skip-invalidate",
			test_audit_skip_invalidate);
	g_test_add_func("/mirror/teardown/exit-without-close",
			test_teardown_exit_without_close);
	g_test_add_func("/mirror/teardown/munmap-race",
			test_teardown_munmap_race);
	g_test_add_func("/mirror/memory/memfd", test_memory_memfd);
	g_test_add_func("/mirror/memory/hugetlb", test_memory_hugetlb);
	g_test_add_func("/mirror/memory/secretmem", test_memory_secretmem);
	g_test_add_func("/mirror/memory/pfnmap", test_memory_pfnmap);
	g_test_add_func("/mirror/memory/readonly-slot",
			test_memory_readonly_slot);
	g_test_add_func("/mirror/skip-invalidate/stale-leaves",
			test_skip_invalidate_stale);
	g_test_add_func("/mirror/events/read-abi", test_events_read_abi);
	g_test_add_func("/mirror/events/resize-queued",
			test_events_resize_queued);
	g_test_add_func("/mirror/dump/abi", test_dump_abi);
	g_test_add_func("/mirror/dump/user-buffer", test_dump_user_buffer);
	g_test_add_func("/mirror/attach/needs-ptrace", test_attach_needs_ptrace);
	g_test_add_func("/mirror/abi/reserved-everywhere",
			test_abi_reserved_everywhere);
	g_test_add_func("/mirror/access/race-dontneed",
			test_access_race_dontneed);
	g_test_add_func("/mirror/audit/racing-munmap",
			test_audit_racing_munmap);
	g_test_add_func("/mirror/teardown/oom-reaper",
			test_teardown_oom_reaper);
	g_test_add_func("/mirror/teardown/oom-kill",
			test_teardown_oom_kill);
	g_test_add_func("/mirror/teardown/release-racing-ioctls",
			test_teardown_release_racing_ioctls);
	g_test_add_func("/mirror/teardown/close-racing-invalidations",
			test_teardown_close_racing_invalidations);
	g_test_add_func("/mirror/teardown/rmmod", test_teardown_rmmod);
	/* last: Yama's scope 3 cannot be undone in this boot */
	g_test_add_func("/mirror/attach/yama-scope-3", test_attach_yama_scope3);
	return g_test_run();
}
