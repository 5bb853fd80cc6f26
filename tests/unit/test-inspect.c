// SPDX-License-Identifier: GPL-2.0
/*
 * The inspection pieces: pagemap on our own memory, KVM's binary stats on
 * a real VM, the tracepoint parser, and the three-way view over memory of
 * ours with a hand-built mirror table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm_stats.h"
#include "kvm_trace.h"
#include "primary.h"
#include "tracefs.h"
#include "view3.h"
#include "spte-test.h"
#include "spte_error.h"

#define PAGE	4096UL
#define HUGE	(2UL << 20)

/* pagemap hides PFNs from readers without CAP_SYS_ADMIN */
static gboolean pfns_visible(void)
{
	return geteuid() == 0;
}

static void *map_anon(gsize len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	g_assert_true(p != MAP_FAILED);
	return p;
}

static void test_primary_present(void)
{
	g_autoptr(GError) error = NULL;
	struct spte_primary_page p[4];
	volatile char *mem = map_anon(4 * PAGE);

	mem[0] = 1;
	g_assert_true(spte_primary_read((void *)mem, 4, p, &error));
	g_assert_no_error(error);
	g_assert_true(p[0].flags & SPTE_PRIMARY_PRESENT);
	g_assert_true(p[0].flags & SPTE_PRIMARY_EXCLUSIVE);
	g_assert_false(p[0].flags & SPTE_PRIMARY_FILE);
	if (pfns_visible()) {
		g_assert_cmpuint(p[0].pfn, !=, 0);
		g_assert_true(p[0].flags & SPTE_PRIMARY_KPF_VALID);
		g_assert_true(p[0].flags & SPTE_PRIMARY_ANON);
	}
	for (int i = 1; i < 4; i++) {
		g_assert_false(p[i].flags & SPTE_PRIMARY_PRESENT);
		g_assert_cmpuint(p[i].pfn, ==, 0);
		g_assert_cmpint(p[i].node, ==, -1);
	}
	munmap((void *)mem, 4 * PAGE);
}

static void test_primary_fork(void)
{
	g_autoptr(GError) error = NULL;
	struct spte_primary_page before, after;
	volatile char *mem = map_anon(PAGE);
	int pipefd[2];
	pid_t pid;
	char c;

	mem[0] = 1;
	g_assert_true(spte_primary_read((void *)mem, 1, &before, &error));
	g_assert_true(before.flags & SPTE_PRIMARY_EXCLUSIVE);
	g_assert_cmpint(pipe(pipefd), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		/* keep the page mapped twice until the parent has looked */
		close(pipefd[1]);
		while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pipefd[0]);
	g_assert_true(spte_primary_read((void *)mem, 1, &after, &error));
	close(pipefd[1]);
	g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
	g_assert_no_error(error);
	g_assert_true(after.flags & SPTE_PRIMARY_PRESENT);
	g_assert_false(after.flags & SPTE_PRIMARY_EXCLUSIVE);
	g_assert_cmpuint(after.pfn, ==, before.pfn);
	munmap((void *)mem, PAGE);
}

static void test_primary_errors(void)
{
	g_autoptr(GError) error = NULL;
	struct spte_primary_page p;
	char *mem = map_anon(PAGE);

	g_assert_false(spte_primary_read(mem + 8, 1, &p, &error));
	g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
	spte_assert_contains(error->message, "not page aligned");
	munmap(mem, PAGE);
}

static void test_primary_format(void)
{
	struct spte_primary_page p = {
		.pfn = 0x1234, .node = 0,
		.flags = SPTE_PRIMARY_PRESENT | SPTE_PRIMARY_THP |
			 SPTE_PRIMARY_KSM | SPTE_PRIMARY_ZERO |
			 SPTE_PRIMARY_UFFD_WP | SPTE_PRIMARY_EXCLUSIVE |
			 SPTE_PRIMARY_KPF_VALID,
	};
	struct spte_primary_page none = { .node = -1 };
	g_autofree char *s = spte_primary_format(&p);
	g_autofree char *s2 = spte_primary_format(&none);

	g_assert_cmpstr(s, ==, "P thp ksm zero uffd-wp excl node0");
	g_assert_cmpstr(s2, ==, "-");
	g_assert_cmpstr(spte_primary_flag_name(SPTE_PRIMARY_SOFT_DIRTY), ==,
			"sd");
	g_assert_cmpstr(spte_primary_flag_name(SPTE_PRIMARY_UFFD_WP), ==,
			"uffd-wp");
	g_assert_null(spte_primary_flag_name(1U << 31));
}

/* A bare VM: enough for KVM_GET_STATS_FD and for mmu notifiers. */
static int create_vm(int *kvm_fd)
{
	int vm;

	*kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (*kvm_fd < 0) {
		g_autofree char *why = g_strdup_printf("/dev/kvm: %s",
						       g_strerror(errno));

		spte_test_skip_or_fail(why);
		return -1;
	}
	vm = ioctl(*kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		g_autofree char *why = g_strdup_printf("KVM_CREATE_VM: %s",
						       g_strerror(errno));

		close(*kvm_fd);
		spte_test_skip_or_fail(why);
		return -1;
	}
	return vm;
}

static void test_kvm_stats(void)
{
	g_autoptr(spte_kvm_stats) s = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree guint64 *values = NULL;
	const char *const *names;
	guint64 v = G_MAXUINT64;
	int kvm, vm = create_vm(&kvm);
	guint n = 0;

	if (vm < 0)
		return;
	g_assert_true(spte_kvm_stats_open(vm, &s, &error));
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(spte_kvm_stats_id(s), "kvm-"));
	names = spte_kvm_stats_names(s);
	g_assert_nonnull(names[0]);
	g_assert_true(g_strv_contains(names, "remote_tlb_flush"));
#ifdef __x86_64__
	g_assert_true(spte_kvm_stats_has(s, "pages_4k"));
	g_assert_true(spte_kvm_stats_get(s, "pages_4k", &v, &error));
	g_assert_no_error(error);
	/* nothing ran, so KVM's MMU has mapped nothing */
	g_assert_cmpuint(v, ==, 0);
	values = spte_kvm_stats_get_values(s, "pages_2m", &n, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(n, ==, 1);
#endif
	g_assert_false(spte_kvm_stats_get(s, "no_such_stat", &v, &error));
	g_assert_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED);
	spte_assert_contains(error->message, "'no_such_stat'");
	g_clear_error(&error);
	g_assert_false(spte_kvm_stats_open(-1, &s, &error));
	g_assert_nonnull(error);
	close(vm);
	close(kvm);
}

static void test_trace_parse(void)
{
	static const struct {
		const char *line;
		const char *event, *comm;
		guint64 start, end, ts_us;
		int pid;
	} good[] = {
		{ "         ksmd-47      [001] ..... 12345.678901: "
		  "kvm_unmap_hva_range: mmu notifier unmap range: "
		  "0x7f0000200000 -- 0x7f0000201000",
		  "kvm_unmap_hva_range", "ksmd", 0x7f0000200000,
		  0x7f0000201000, 12345678901ULL, 47 },
		/* no irq-info column, a comm with a dash and a space */
		{ "  my-vmm thr-1234 [000] 7.000042: kvm_test_age_hva: "
		  "mmu notifier test age hva: 0x7f0000003000",
		  "kvm_test_age_hva", "my-vmm thr", 0x7f0000003000,
		  0x7f0000004000, 7000042, 1234 },
		/* tgid column */
		{ "   kswapd0-80    (     80) [003] d..1. 99.5: kvm_age_hva: "
		  "mmu notifier age hva: 0x1000 -- 0x3000",
		  "kvm_age_hva", "kswapd0", 0x1000, 0x3000, 99500000, 80 },
	};
	static const char *const bad[] = {
		"# tracer: nop",
		"",
		"  bash-1 [000] ..... 1.000000: kvm_exit: reason HLT",
		"  bash-1 [000] ..... 1.000000: kvm_age_hva: garbage",
		"CPU:1 [LOST 12 EVENTS]",
	};

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		struct spte_kvm_trace_rec r;

		g_assert_true(spte_kvm_trace_parse_line(good[i].line, &r));
		g_assert_cmpstr(r.event, ==, good[i].event);
		g_assert_cmpstr(r.comm, ==, good[i].comm);
		g_assert_cmphex(r.hva_start, ==, good[i].start);
		g_assert_cmphex(r.hva_end, ==, good[i].end);
		g_assert_cmpuint(r.ts_us, ==, good[i].ts_us);
		g_assert_cmpint(r.pid, ==, good[i].pid);
		spte_kvm_trace_rec_clear(&r);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct spte_kvm_trace_rec r;

		g_assert_false(spte_kvm_trace_parse_line(bad[i], &r));
	}
}

/*
 * With a VM in this process, every invalidation of our mm reaches KVM's
 * notifier, memslot or not: zapping a page must leave a record.
 */
static void test_trace_live(void)
{
	g_autoptr(spte_kvm_trace) t = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) recs = NULL;
	int kvm, vm;
	char *mem;
	guint64 hva;
	gboolean seen = FALSE;

	if (!spte_kvm_trace_start(&t, &error)) {
		g_assert_error(error, SPTE_ERROR, error->code);
		g_test_skip(error->message);
		return;
	}
	vm = create_vm(&kvm);
	if (vm < 0)
		return;
	mem = map_anon(PAGE);
	hva = (guintptr)mem;
	mem[0] = 1;
	g_assert_cmpint(madvise(mem, PAGE, MADV_DONTNEED), ==, 0);
	recs = spte_kvm_trace_collect(t);
	for (guint i = 0; i < recs->len; i++) {
		const struct spte_kvm_trace_rec *r = recs->pdata[i];

		seen |= !strcmp(r->event, "kvm_unmap_hva_range") &&
			r->pid == getpid() && r->hva_start <= hva &&
			r->hva_end > hva;
	}
	g_assert_true(seen);
	munmap(mem, PAGE);
	close(vm);
	close(kvm);
}

/*
 * Where no tracefs is mounted, spte mounts it: tried in a mount namespace
 * of a child's own with every tracefs (and debugfs, whose tracing/ is one)
 * taken away, so that the host's mounts stay as they are.
 */
static void test_tracefs_mount(void)
{
	static const char *const unmount[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
		"/sys/kernel/debug",
	};
	int pipefd[2], status;
	char buf[256] = "";
	pid_t pid;

	g_assert_cmpint(pipe(pipefd), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		g_autoptr(GError) error = NULL;
		const char *root;

		close(pipefd[0]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			dprintf(pipefd[1], "skip: no mount namespace: %s",
				g_strerror(errno));
			_exit(0);
		}
		for (guint i = 0; i < G_N_ELEMENTS(unmount); i++)
			while (umount2(unmount[i], MNT_DETACH) == 0)
				;
		if (g_file_test("/sys/kernel/tracing/trace", G_FILE_TEST_EXISTS)) {
			dprintf(pipefd[1], "fail: tracefs is still mounted");
			_exit(0);
		}
		root = spte_tracefs_root(&error);
		dprintf(pipefd[1], "%s", root ? root : error->message);
		_exit(0);
	}
	close(pipefd[1]);
	g_assert_cmpint(read(pipefd[0], buf, sizeof(buf) - 1), >, 0);
	close(pipefd[0]);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (g_str_has_prefix(buf, "skip: ")) {
		g_test_skip(buf + 6);
		return;
	}
	g_assert_cmpstr(buf, ==, "/sys/kernel/tracing");
}

#define RX_A_WB (SPTE_EPT_R | SPTE_EPT_X | SPTE_EPT_A)
#define RWX_AD_WB (SPTE_EPT_RWX | SPTE_EPT_A | SPTE_EPT_D)

struct view_fixture {
	guint8 *map;		/* what to munmap */
	gsize map_len;
	struct spte_vm vm;	/* only vm_fd and ram are used */
	struct spte_mirror_table *t;
};

static void add_leaf(struct spte_mirror_table *t, guint64 gpa, guint level,
		     guint64 pfn, guint64 prot)
{
	t->leaves[t->nr_leaves++] = (struct spte_mirror_leaf){
		.gpa = gpa, .level = level,
		.hva = 0x7f0000000000ULL + gpa, .slot = SPTE_SLOT_RAM,
		.entry = spte_ept_make_leaf(pfn, prot, level),
	};
}

/*
 * "Guest RAM" of 4 MiB at GPA 0 is a mapping of ours:
 *   [0, 2M)            written, THP where the kernel gives us one
 *   0x200000 x4        read only: the shared zero page
 *   0x204000 x4        written
 *   0x208000           written
 *   0x209000 x3        untouched
 *   0x20c000           untouched
 * and the table mirrors them correctly, except 0x208000 (another PFN) and
 * 0x20c000 (a leaf for a page the primary does not have): both STALE.
 */
static void view_setup(struct view_fixture *f)
{
	g_autoptr(GError) error = NULL;
	struct spte_primary_page p[525];
	volatile guint8 *ram;
	guint8 sum = 0;

	f->map_len = 4 * HUGE;
	f->map = map_anon(f->map_len);
	ram = (guint8 *)(((guintptr)f->map + HUGE - 1) & ~(HUGE - 1));
	madvise((void *)ram, HUGE, MADV_HUGEPAGE);
	madvise((void *)(ram + HUGE), HUGE, MADV_NOHUGEPAGE);
	memset((void *)ram, 0x5a, HUGE);
	for (int i = 512; i < 516; i++)
		sum += ram[i * PAGE];
	g_assert_cmpuint(sum, ==, 0);
	for (int i = 516; i < 521; i++)
		ram[i * PAGE] = 1;
	g_assert_true(spte_primary_read((void *)ram, 525, p, &error));

	memset(&f->vm, 0, sizeof(f->vm));
	f->vm.vm_fd = -1;
	f->vm.kvm_fd = -1;
	f->vm.ram = (struct spte_region){ .gpa = 0, .size = 2 * HUGE,
					  .hva = (void *)ram, .fd = -1 };
	f->t = g_malloc0(sizeof(*f->t) + 16 * sizeof(f->t->leaves[0]));
	f->t->seq = 1;
	add_leaf(f->t, 0, 2, p[0].pfn, RWX_AD_WB);
	for (int i = 512; i < 516; i++)
		add_leaf(f->t, i * PAGE, 1, p[i].pfn, RX_A_WB);
	for (int i = 516; i < 520; i++)
		add_leaf(f->t, i * PAGE, 1, p[i].pfn, RWX_AD_WB);
	add_leaf(f->t, 520 * PAGE, 1, p[520].pfn + 1, RWX_AD_WB);
	add_leaf(f->t, 524 * PAGE, 1, 0x1234, RWX_AD_WB);
}

static void view_teardown(struct view_fixture *f)
{
	munmap(f->map, f->map_len);
	g_free(f->t);
}

/*
 * The row of @text that starts with @start, with every run of spaces made
 * one so that checks do not depend on column widths.
 */
static char *row_of(const char *text, const char *start)
{
	g_autoptr(GRegex) spaces = g_regex_new(" +", 0, 0, NULL);
	g_autofree char *flat = g_regex_replace_literal(spaces, text, -1, 0,
							" ", 0, NULL);
	g_auto(GStrv) lines = g_strsplit(flat, "\n", -1);
	g_autofree char *key = g_strdup_printf(" %s", start);

	for (guint i = 0; lines[i]; i++) {
		if (g_str_has_prefix(lines[i], key))
			return g_strdup(lines[i]);
	}
	g_error("no row for %s in:\n%s", start, text);
	return NULL;
}

static void test_view3_synthetic(void)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *thp = NULL, *zero = NULL, *rw = NULL;
	g_autofree char *stale = NULL, *none = NULL, *ghost = NULL;
	struct view_fixture f;

	if (!pfns_visible()) {
		g_test_skip("pagemap shows PFNs only to CAP_SYS_ADMIN");
		return;
	}
	view_setup(&f);
	spte_view3_format(&f.vm, f.t, NULL, NULL, NULL, 0, 525, out);
	g_test_message("%s", out->str);

	spte_assert_contains(out->str, "three-way view: gpa 0x0-0x20cfff "
			     "(525 pages)");
	thp = row_of(out->str, "0x000000000000-");
	spte_assert_contains(thp, "2M x1");
	spte_assert_contains(thp, "RWXADH WB");
	if (strstr(thp, "thp")) {
		spte_assert_contains(thp, "0x000000000000-0x0000001fffff |"
				     " 512 | pfn ");
		spte_assert_contains(thp, "contiguous, P anon thp excl");
		spte_assert_contains(thp, "same PFN as primary");
	} else {
		g_test_message("no THP at GPA 0; only the 2M leaf checked");
	}

	zero = row_of(out->str, "0x000000200000-0x000000203fff | 4 |");
	spte_assert_contains(zero, "shared by all 4, P zero");
	spte_assert_contains(zero, "| 4K x4 pfn ");
	spte_assert_contains(zero, "shared by all 4, R-XA-- WB, same PFN as "
			     "primary");

	rw = row_of(out->str, "0x000000204000-0x000000207fff | 4 |");
	spte_assert_contains(rw, "P anon excl");
	spte_assert_contains(rw, "4K x4");
	spte_assert_contains(rw, "RWXAD- WB, same PFN as primary");

	stale = row_of(out->str, "0x000000208000-0x000000208fff | 1 |");
	spte_assert_contains(stale, "STALE: primary maps another PFN");

	none = row_of(out->str, "0x000000209000-0x00000020bfff | 3 |");
	spte_assert_contains(none, "not present");
	spte_assert_contains(none, "| not mapped");

	ghost = row_of(out->str, "0x00000020c000-0x00000020cfff | 1 |");
	spte_assert_contains(ghost, "not present");
	spte_assert_contains(ghost, "4K x1 pfn 0x1234, RWXAD- WB, STALE: "
			     "primary not present");

	spte_assert_contains(out->str, "kvm stats: KVM_GET_STATS_FD");
	spte_assert_contains(out->str, "kvm tracepoints: not traced");
	view_teardown(&f);
}

static void test_view3_no_module(void)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *row = NULL;
	struct view_fixture f;

	view_setup(&f);
	spte_view3_format(&f.vm, NULL, NULL, NULL, NULL, 0x209000, 3, out);
	g_test_message("%s", out->str);
	row = row_of(out->str, "0x000000209000-0x00000020bfff | 3 |");
	spte_assert_contains(row, "not present | no mirror (spte run --mirror)");

	g_string_truncate(out, 0);
	spte_view3_format(&f.vm, NULL, NULL, NULL, NULL, 2 * HUGE - PAGE, 2, out);
	spte_assert_contains(out->str, "is not inside one memslot");
	g_string_truncate(out, 0);
	spte_view3_format(&f.vm, NULL, NULL, NULL, NULL, 0x10, 1, out);
	spte_assert_contains(out->str, "not a page-aligned range");
	view_teardown(&f);
}

/* A real VM's RAM: the KVM footer comes from KVM itself. */
static void test_view3_vm(void)
{
	g_autoptr(spte_vm) vm = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *written = NULL, *untouched = NULL;
	struct spte_mem_opts opts = { .size = 4 << 20 };
	volatile guint8 *ram;

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		spte_test_skip_or_fail("no access to /dev/kvm");
		return;
	}
	g_assert_true(spte_vm_create(&vm, &opts, &error));
	g_assert_no_error(error);
	ram = vm->ram.hva;
	for (int i = 0; i < 8; i++)
		ram[i * PAGE] = 1;
	spte_view3_format(vm, NULL, NULL, NULL, NULL, 0, 16, out);
	g_test_message("%s", out->str);
	written = row_of(out->str, "0x000000000000-0x000000007fff | 8 | ");
	spte_assert_contains(written, ", P ");
	spte_assert_contains(written, "| no mirror (spte run --mirror)");
	untouched = row_of(out->str, "0x000000008000-0x00000000ffff | 8 | ");
	spte_assert_contains(untouched, "not present | no mirror (spte run --mirror)");
	spte_assert_contains(out->str, "kvm (whole VM): pages_4k 0, "
			     "pages_2m 0");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/inspect/primary/present", test_primary_present);
	g_test_add_func("/inspect/primary/fork", test_primary_fork);
	g_test_add_func("/inspect/primary/errors", test_primary_errors);
	g_test_add_func("/inspect/primary/format", test_primary_format);
	g_test_add_func("/inspect/kvm_stats", test_kvm_stats);
	g_test_add_func("/inspect/trace/parse", test_trace_parse);
	g_test_add_func("/inspect/trace/live", test_trace_live);
	g_test_add_func("/inspect/trace/tracefs-mount", test_tracefs_mount);
	g_test_add_func("/inspect/view3/synthetic", test_view3_synthetic);
	g_test_add_func("/inspect/view3/no-module", test_view3_no_module);
	g_test_add_func("/inspect/view3/vm", test_view3_vm);
	return g_test_run();
}
