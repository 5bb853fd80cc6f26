// SPDX-License-Identifier: GPL-2.0
/*
 * bench-mirror: what the spte_mirror secondary MMU costs, measured side by
 * side in one run inside the lab VM (QEMU TCG + nested KVM, so absolute
 * times mean little; the ratios between configurations of the same run do).
 *
 *  1. shadow-table memory per mirrored byte, 4K leaves and 2M leaves
 *     (table_pages of COUNTERS and DUMP, x 4096, / mirrored bytes);
 *  2. SPTE_MIRROR_DUMP time for a 1 GiB mirror of 4K leaves;
 *  3. munmap() and mprotect(PROT_READ) of a populated region when
 *     (a) no secondary MMU maps it, (b) KVM's memslot maps it (the guest
 *     agent wrote every page, so KVM's NPT/EPT is populated), (c) an
 *     spte_mirror slot maps it (MAP of every page).
 *
 * Run: spte lab --mem 2G --add build/bench/bench-mirror -- bench-mirror
 * (inserts /opt/spte/modules/spte_mirror.ko itself if no module is loaded)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "agent_client.h"
#include "agent_path.h"
#include "spte_mirror.h"
#include "vcpu.h"
#include "vm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

typedef unsigned long long u64;

#define SZ_4K		4096ULL
#define SZ_2M		(2ULL << 20)
#define SZ_1G		(1ULL << 30)
#define MIB(x)		((u64)(x) << 20)

#define MODULE_PATH	"/opt/spte/modules/spte_mirror.ko"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_DEFRAG	"/sys/kernel/mm/transparent_hugepage/defrag"
/* EPT: one 4K table page per 512 leaves */
#define TARGET_PCT	0.2

static int reps = 7;
static u64 op_size = MIB(256);
static u64 dump_size = SZ_1G;
static bool dump_only;		/* --dump-only: section 2 alone */

#define die(...) do {							\
	fprintf(stderr, "bench-mirror: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	exit(1);							\
} while (0)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat3 {
	double median, min, max;
};

static struct stat3 stats(const double *v, int n)
{
	double *s = g_memdup2(v, n * sizeof(*v));
	struct stat3 r;

	qsort(s, n, sizeof(*s), cmp_double);
	r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	r.min = s[0];
	r.max = s[n - 1];
	g_free(s);
	return r;
}

static void write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		fprintf(stderr, "bench-mirror: writing %s to %s: %s\n", val,
			path, g_strerror(errno));
	if (fd >= 0)
		close(fd);
}

static char *read_text(const char *path)
{
	char *s = NULL;

	if (!g_file_get_contents(path, &s, NULL, NULL))
		return g_strdup("?");
	return g_strstrip(s);
}

/* A 2M-aligned anonymous mapping of @size (a reservation trimmed). */
static void *reserve(u64 size)
{
	guint8 *p = mmap(NULL, size + SZ_2M, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	guint8 *a;

	if (p == MAP_FAILED)
		die("mmap %llu MiB: %s", size >> 20,
		    g_strerror(errno));
	a = (guint8 *)(((guintptr)p + SZ_2M - 1) & ~(SZ_2M - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + size, p + SZ_2M - a);
	return a;
}

/*
 * Fresh private anonymous memory at @addr (replacing whatever was there),
 * THP advice @advice, every page written (so the primary page table is
 * populated the same way in every configuration).
 */
static void fresh_populated(void *addr, u64 size, int advice)
{
	if (mmap(addr, size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		die("mmap fixed: %s", g_strerror(errno));
	if (madvise(addr, size, advice))
		die("madvise(%d): %s", advice, g_strerror(errno));
	if (madvise(addr, size, MADV_POPULATE_WRITE)) {
		/* before 5.14: touch every page */
		for (u64 off = 0; off < size; off += SZ_4K)
			((volatile guint8 *)addr)[off] = 1;
	}
}

static struct spte_mirror *mirror_new(void)
{
	struct spte_mirror *m;
	int r = spte_mirror_open(&m);

	if (r)
		die("opening %s: %s", SPTE_MIRROR_DEVICE,
		    spte_mirror_strerror(r));
	return m;
}

static void mirror_map(struct spte_mirror *m, u64 size, u64 flags,
		       struct spte_mirror_map *out)
{
	int r = spte_mirror_map(m, 0, size, flags, out);

	if (r)
		die("SPTE_MIRROR_MAP: %s", spte_mirror_strerror(r));
}

/* ---- 1. shadow-table bytes per mirrored byte ---- */

struct overhead {
	u64 leaves_4k, leaves_2m, table_pages, levels[SPTE_EPT_LEVELS];
	double pct;
};

static void table_overhead(struct spte_mirror *m, struct overhead *o)
{
	struct spte_mirror_counters c;
	struct spte_mirror_table *t;
	u64 mirrored = 0;
	int r;

	r = spte_mirror_counters(m, &c);
	if (!r)
		r = spte_mirror_dump(m, &t);
	if (r)
		die("COUNTERS/DUMP: %s", spte_mirror_strerror(r));
	o->leaves_4k = o->leaves_2m = 0;
	for (u64 i = 0; i < t->nr_leaves; i++) {
		if (t->leaves[i].level == 2)
			o->leaves_2m++;
		else
			o->leaves_4k++;
		mirrored += spte_mirror_leaf_size(&t->leaves[i]);
	}
	o->table_pages = c.table_pages;
	memcpy(o->levels, t->table_pages, sizeof(o->levels));
	if (c.table_pages != t->table_pages[0] + t->table_pages[1] +
	    t->table_pages[2] + t->table_pages[3])
		printf("  note: COUNTERS.table_pages %llu != DUMP sum\n",
		       (unsigned long long)c.table_pages);
	o->pct = mirrored ? 100.0 * c.table_pages * SZ_4K / mirrored : 0;
	spte_mirror_table_free(t);
}

/*
 * "figure: KEY VALUE UNIT": one line per headline figure, so runs on
 * several lab kernels can be put side by side (bench/mirror-kernels.sh).
 */
static void figure(const char *key, double value, const char *unit)
{
	printf("figure: %s %.4g %s\n", key, value, unit);
}

static void print_overhead(const char *what, const struct overhead *o,
			   double ept_pct)
{
	printf("  %s: %llu 4K + %llu"
	       " 2M leaves, table pages %llu"
	       " (PT %llu, PD %llu"
	       ", PDPT %llu, PML4 %llu"
	       ") = %llu KiB\n", what, o->leaves_4k,
	       o->leaves_2m, o->table_pages, o->levels[0], o->levels[1],
	       o->levels[2], o->levels[3], o->table_pages * 4);
	printf("    = %.4f %% of mirrored memory (EPT lower bound %.4f %%; "
	       "target <= %.1f %%: %s)\n", o->pct, ept_pct, TARGET_PCT,
	       o->pct <= TARGET_PCT ? "met" : "NOT MET");
}

static void bench_overhead(void)
{
	struct spte_mirror_map mo;
	struct overhead o;
	struct spte_mirror *m;
	u64 size = op_size;
	void *p = reserve(size);
	g_autofree char *thp = NULL;

	printf("\n1. shadow-table memory, %llu MiB mirrored\n",
	       size >> 20);

	/* 4K: primary populated with small pages, MAP with NO_HUGE */
	fresh_populated(p, size, MADV_NOHUGEPAGE);
	m = mirror_new();
	if (spte_mirror_add_slot(m, 0, p, size, 0, NULL))
		die("ADD_SLOT failed");
	mirror_map(m, size, SPTE_MAP_NO_HUGE, &mo);
	table_overhead(m, &o);
	print_overhead("4K (MADV_NOHUGEPAGE, MAP NO_HUGE)", &o,
		       100.0 / 512);
	figure("table-memory-4k", o.pct, "%");
	spte_mirror_close(m);

	/* 2M: THP-backed, MAP without NO_HUGE */
	thp = read_text(THP_ENABLED);
	if (strstr(thp, "[never]"))
		write_sysfs(THP_ENABLED, "madvise");
	write_sysfs(THP_DEFRAG, "madvise");	/* direct compaction */
	fresh_populated(p, size, MADV_HUGEPAGE);
	m = mirror_new();
	if (spte_mirror_add_slot(m, 0, p, size, 0, NULL))
		die("ADD_SLOT failed");
	mirror_map(m, size, 0, &mo);
	if (mo.mapped_2m < size / SZ_2M) {
		int r = madvise(p, size, MADV_COLLAPSE);

		printf("  %llu of %llu"
		       " 2M faulted as THP; MADV_COLLAPSE: %s\n", mo.mapped_2m,
		       size / SZ_2M, r ? g_strerror(errno) : "ok");
		if (spte_mirror_unmap(m, 0, size, NULL))
			die("UNMAP failed");
		mirror_map(m, size, 0, &mo);
	}
	table_overhead(m, &o);
	print_overhead("2M (MADV_HUGEPAGE, THP)", &o, 100.0 / 512 / 512);
	figure("table-memory-2m", o.pct, "%");
	printf("    (THP enabled: %s)\n", thp);
	spte_mirror_close(m);
	munmap(p, size);
}

/* ---- 2. dump time ---- */

static void bench_dump(void)
{
	double dump_median;
	u64 size = dump_size, nr = size / SZ_4K;
	struct spte_mirror_leaf *buf = g_new(struct spte_mirror_leaf, nr);
	struct spte_mirror_leaf *src = g_new(struct spte_mirror_leaf, nr);
	struct spte_mirror_map mo;
	struct spte_mirror *m;
	double *t = g_new(double, reps);
	double *tc = g_new(double, reps);
	double *ratio = g_new(double, reps);
	void *p = reserve(size);
	double t0;
	struct stat3 s;

	printf("\n2. SPTE_MIRROR_DUMP of a %llu"
	       " MiB mirror of 4K leaves\n", size >> 20);
	t0 = now_us();
	fresh_populated(p, size, MADV_NOHUGEPAGE);
	printf("  populate (MADV_POPULATE_WRITE): %.1f ms\n",
	       (now_us() - t0) / 1e3);
	m = mirror_new();
	if (spte_mirror_add_slot(m, 0, p, size, 0, NULL))
		die("ADD_SLOT failed");
	t0 = now_us();
	mirror_map(m, size, SPTE_MAP_NO_HUGE, &mo);
	printf("  SPTE_MIRROR_MAP NO_HUGE: %.1f ms (%llu"
	       " 4K leaves)\n", (now_us() - t0) / 1e3, (u64)mo.mapped_4k);
	memset(src, 1, nr * sizeof(*src));
	/*
	 * Each run times the dump and then a memcpy of the same bytes into
	 * the same buffer, back to back: the ratio is taken per run, so
	 * load on the host that moves both between runs cancels out.  The
	 * memcpy is timed the second time round: the first, straight after
	 * the ioctl, pays for TCG's TLB, which the return to user space
	 * flushed, and would flatter the dump.
	 */
	for (int i = 0; i < reps; i++) {
		struct spte_mirror_dump d = {
			.leaves = (guintptr)buf,
			.count = nr,
		};

		memset(buf, 0, nr * sizeof(*buf));	/* fault the buffer in */
		t0 = now_us();
		if (ioctl(spte_mirror_fd(m), SPTE_MIRROR_DUMP, &d))
			die("SPTE_MIRROR_DUMP: %s", g_strerror(errno));
		t[i] = now_us() - t0;
		if (d.count != nr)
			die("DUMP returned %llu leaves, expected %llu",
			    (unsigned long long)d.count, nr);
		memcpy(buf, src, nr * sizeof(*buf));
		t0 = now_us();
		memcpy(buf, src, nr * sizeof(*buf));
		tc[i] = now_us() - t0;
		ratio[i] = 100.0 * tc[i] / t[i];
	}
	s = stats(t, reps);
	printf("  one ioctl, %llu leaves (%llu"
	       " MiB out), %d runs: median %.2f ms  min %.2f  max %.2f  "
	       "(%.0f ns/leaf)\n", nr, nr * sizeof(*buf) >> 20, reps,
	       s.median / 1e3, s.min / 1e3, s.max / 1e3, s.median * 1e3 / nr);
	figure("dump-1g-one-ioctl", s.median / 1e3, "ms");
	dump_median = s.median;
	s = stats(tc, reps);
	printf("  memcpy of the same %llu MiB after each (warm): median %.2f ms  "
	       "min %.2f  max %.2f\n", nr * sizeof(*buf) >> 20,
	       s.median / 1e3, s.min / 1e3, s.max / 1e3);
	s = stats(ratio, reps);
	printf("  the dump runs at %.1f %% of memcpy bandwidth (median of the "
	       "per-run ratios; min %.1f, max %.1f; target >= 25 %%)\n",
	       s.median, s.min, s.max);
	figure("dump-vs-memcpy", s.median, "%");
	/* and against memcpy in a loop of its own, the way it runs fastest */
	for (int i = 0; i < reps; i++) {
		t0 = now_us();
		memcpy(buf, src, nr * sizeof(*buf));
		tc[i] = now_us() - t0;
	}
	s = stats(tc, reps);
	printf("  memcpy alone, %d runs in a row: median %.2f ms; the dump's "
	       "median runs at %.1f %% of that\n", reps, s.median / 1e3,
	       100.0 * s.median / dump_median);
	figure("dump-vs-memcpy-alone", 100.0 * s.median / dump_median, "%");

	/* the client's way: SPTE_DUMP_CURSOR batches of 4096 leaves */
	for (int i = 0; i < reps; i++) {
		u64 got = 0, next = 0;

		t0 = now_us();
		do {
			struct spte_mirror_dump d = {
				.leaves = (guintptr)(buf + got),
				.count = MIN((u64)4096, nr - got),
				.flags = SPTE_DUMP_CURSOR,
				.start = next,
			};

			if (!d.count)
				die("DUMP cursor: more leaves than mapped");
			if (ioctl(spte_mirror_fd(m), SPTE_MIRROR_DUMP, &d))
				die("SPTE_MIRROR_DUMP cursor: %s",
				    g_strerror(errno));
			got += d.count;
			next = d.next;
		} while (next != SPTE_MIRROR_NONE);
		t[i] = now_us() - t0;
		if (got != nr)
			die("DUMP cursor returned %llu leaves, expected %llu",
			    (unsigned long long)got, nr);
	}
	s = stats(t, reps);
	printf("  SPTE_DUMP_CURSOR, %llu ioctls of 4096 leaves: median %.2f ms"
	       "  min %.2f  max %.2f\n", (nr + 4095) / 4096, s.median / 1e3,
	       s.min / 1e3, s.max / 1e3);
	figure("dump-1g-cursor", s.median / 1e3, "ms");
	g_free(src);
	g_free(tc);
	g_free(ratio);
	spte_mirror_close(m);
	munmap(p, size);
	g_free(buf);
	g_free(t);
}

/* ---- 3. munmap / mprotect with and without secondary MMUs ---- */

enum cfg { CFG_PLAIN, CFG_KVM, CFG_MIRROR, CFG_NR };
enum op { OP_MUNMAP, OP_MPROTECT, OP_NR };

static const char *const cfg_names[CFG_NR] = {
	"(a) plain anon, no secondary MMU",
	"(b) KVM memslot, NPT populated by the guest",
	"(c) spte_mirror slot, 4K leaves mapped",
};
static const char *const op_names[OP_NR] = { "munmap", "mprotect(PROT_READ)" };

struct kvm_env {
	struct spte_vm *vm;
	struct spte_vcpu *vcpu;
	char *stat_4k;		/* debugfs pages_4k of this VM, or NULL */
};

static void kvm_env_create(struct kvm_env *k, u64 size)
{
	struct spte_mem_opts mo = { .size = size, .backing = SPTE_BACKING_ANON,
				    .thp = SPTE_THP_NOHUGEPAGE };
	g_autoptr(GError) error = NULL;
	g_autofree char *agent = NULL;
	guint64 entry;

	agent = spte_find_agent(&error);
	if (!agent || !spte_vm_create(&k->vm, &mo, &error) ||
	    !spte_vm_load_image(k->vm, agent, &entry, &error) ||
	    !spte_vcpu_create(k->vm, 0, entry, &k->vcpu, &error) ||
	    !spte_agent_wait_ready(k->vcpu, &error))
		die("KVM VM: %s", error->message);
	k->stat_4k = g_strdup_printf("/sys/kernel/debug/kvm/%d-%d/pages_4k",
				     getpid(), k->vm->vm_fd);
	if (access(k->stat_4k, R_OK))
		g_clear_pointer(&k->stat_4k, g_free);
}

static u64 kvm_pages_4k(struct kvm_env *k)
{
	g_autofree char *s = NULL;

	if (!k->stat_4k)
		return 0;
	s = read_text(k->stat_4k);
	return g_ascii_strtoull(s, NULL, 10);
}

static void kvm_env_destroy(struct kvm_env *k)
{
	g_autoptr(GError) error = NULL;

	if (!spte_agent_halt(k->vcpu, &error))
		fprintf(stderr, "bench-mirror: halting the agent: %s\n",
			error->message);
	spte_vcpu_destroy(k->vcpu);
	spte_vm_destroy(k->vm);
	g_free(k->stat_4k);
}

/* The guest writes one word per page: KVM faults in every 4K SPTE. */
static void kvm_touch(struct kvm_env *k, u64 size)
{
	struct spte_guest_cmd cmd = { .op = SPTE_OP_TOUCH_WRITE, .gpa = 0,
				      .pages = size / SZ_4K };
	struct spte_guest_result res;
	g_autoptr(GError) error = NULL;

	if (!spte_agent_call(k->vcpu, &cmd, &res, &error))
		die("agent TOUCH_WRITE: %s", error->message);
	if (res.status != SPTE_STATUS_OK || res.pages != cmd.pages)
		die("agent TOUCH_WRITE: status %u, %llu"
		    " pages", res.status, (u64)res.pages);
}

static void bench_invalidate(void)
{
	u64 size = op_size;
	void *addr[CFG_NR];
	double *t[OP_NR][CFG_NR];
	u64 secondary[CFG_NR] = { 0 };
	u64 after[OP_NR][CFG_NR] = { { 0 } };
	struct spte_mirror *m;
	struct spte_mirror_map mo;
	struct kvm_env k = { 0 };
	gboolean kvm_ok = TRUE;

	printf("\n3. munmap / mprotect(PROT_READ) of %llu"
	       " MiB of written private anon memory (MADV_NOHUGEPAGE: 4K "
	       "everywhere), %d repetitions, configurations interleaved\n",
	       size >> 20, reps);

	kvm_env_create(&k, size);
	addr[CFG_PLAIN] = reserve(size);
	addr[CFG_KVM] = k.vm->ram.hva;	/* the memslot's userspace_addr */
	addr[CFG_MIRROR] = reserve(size);
	m = mirror_new();
	if (spte_mirror_add_slot(m, 0, addr[CFG_MIRROR], size, 0, NULL))
		die("ADD_SLOT failed");
	for (int o = 0; o < OP_NR; o++)
		for (int c = 0; c < CFG_NR; c++)
			t[o][c] = g_new0(double, reps);

	for (int i = 0; i < reps; i++) {
		for (int o = 0; o < OP_NR; o++) {
			for (int c = 0; c < CFG_NR; c++) {
				double t0;
				int r;

				/*
				 * Same primary state everywhere: fresh anon
				 * memory at the same address (for (b) under
				 * the live memslot), every page written.
				 */
				fresh_populated(addr[c], size, MADV_NOHUGEPAGE);
				if (c == CFG_KVM) {
					kvm_touch(&k, size);
					secondary[c] = kvm_pages_4k(&k);
					if (k.stat_4k &&
					    secondary[c] < size / SZ_4K)
						kvm_ok = FALSE;
				} else if (c == CFG_MIRROR) {
					mirror_map(m, size, SPTE_MAP_NO_HUGE,
						   &mo);
					secondary[c] = mo.mapped_4k;
				}
				t0 = now_us();
				if (o == OP_MUNMAP)
					r = munmap(addr[c], size);
				else
					r = mprotect(addr[c], size, PROT_READ);
				t[o][c][i] = now_us() - t0;
				if (r)
					die("%s: %s", op_names[o],
					    g_strerror(errno));
				/* what the secondary MMU still maps */
				if (c == CFG_KVM) {
					after[o][c] = kvm_pages_4k(&k);
				} else if (c == CFG_MIRROR) {
					struct spte_mirror_counters mc;

					if (spte_mirror_counters(m, &mc))
						die("COUNTERS failed");
					after[o][c] = mc.leaves_present;
				}
			}
		}
	}

	printf("  secondary leaves before the operation: (b) KVM pages_4k %s "
	       "%llu%s, (c) mirror 4K leaves %llu"
	       " (of %llu pages)\n",
	       k.stat_4k ? "=" : "(debugfs not available)",
	       secondary[CFG_KVM], kvm_ok ? "" : " (FEWER THAN THE PAGES!)",
	       secondary[CFG_MIRROR], size / SZ_4K);
	for (int o = 0; o < OP_NR; o++) {
		struct stat3 s[CFG_NR];

		printf("  %s of %llu MiB:\n", op_names[o],
		       size >> 20);
		for (int c = 0; c < CFG_NR; c++) {
			s[c] = stats(t[o][c], reps);
			printf("    %-44s median %8.2f ms  min %8.2f  max %8.2f\n",
			       cfg_names[c], s[c].median / 1e3, s[c].min / 1e3,
			       s[c].max / 1e3);
		}
		printf("    secondary leaves left after it: (b) KVM pages_4k "
		       "%llu, (c) mirror %llu\n", after[o][CFG_KVM],
		       after[o][CFG_MIRROR]);
		printf("    ratio (b)/(a) %.2f   (c)/(a) %.2f   (c)/(b) %.2f\n",
		       s[CFG_KVM].median / s[CFG_PLAIN].median,
		       s[CFG_MIRROR].median / s[CFG_PLAIN].median,
		       s[CFG_MIRROR].median / s[CFG_KVM].median);
		{
			static const char *const keys[OP_NR] = {
				"munmap", "mprotect"
			};
			g_autofree char *a = g_strdup_printf("%s-a-plain", keys[o]);
			g_autofree char *b = g_strdup_printf("%s-b-kvm", keys[o]);
			g_autofree char *c = g_strdup_printf("%s-c-mirror", keys[o]);
			g_autofree char *ca = g_strdup_printf("%s-ratio-c/a", keys[o]);
			g_autofree char *cb = g_strdup_printf("%s-ratio-c/b", keys[o]);

			figure(a, s[CFG_PLAIN].median / 1e3, "ms");
			figure(b, s[CFG_KVM].median / 1e3, "ms");
			figure(c, s[CFG_MIRROR].median / 1e3, "ms");
			figure(ca, s[CFG_MIRROR].median / s[CFG_PLAIN].median, "x");
			figure(cb, s[CFG_MIRROR].median / s[CFG_KVM].median, "x");
		}
		for (int c = 0; c < CFG_NR; c++)
			g_free(t[o][c]);
	}

	spte_mirror_close(m);
	munmap(addr[CFG_PLAIN], size);
	munmap(addr[CFG_MIRROR], size);
	/* the VM's RAM was last mprotect'ed: give it back its protection */
	mprotect(addr[CFG_KVM], size, PROT_READ | PROT_WRITE);
	kvm_env_destroy(&k);
}

int main(int argc, char **argv)
{
	g_autofree char *cmdline = g_strjoinv(" ", argv);
	struct utsname u;
	gboolean in_lab;
	long mem_mib;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--size-mib") && i + 1 < argc)
			op_size = MIB(atoi(argv[++i]));
		else if (!strcmp(argv[i], "--dump-mib") && i + 1 < argc)
			dump_size = MIB(atoi(argv[++i]));
		else if (!strcmp(argv[i], "--dump-only"))
			dump_only = true;
		else {
			fprintf(stderr, "usage: bench-mirror [--reps N>=5] "
				"[--size-mib N] [--dump-mib N] [--dump-only]\n");
			return 2;
		}
	}
	if (reps < 5 || op_size < SZ_2M || op_size % SZ_2M ||
	    dump_size < SZ_2M || dump_size % SZ_2M)
		die("--reps must be >= 5, sizes multiples of 2 MiB");

	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	mem_mib = sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) / 1024) / 1024;
	in_lab = access("/opt/spte/bin", F_OK) == 0;
	printf("command: %s\n", cmdline);
	if (in_lab)	/* the lab's own arguments are not visible in here */
		printf("  i.e. spte lab --mem %ldG --add <builddir>/bench/"
		       "bench-mirror -- %s\n", (mem_mib + 1023) / 1024,
		       cmdline);
	printf("kernel: %s %s, %ld CPUs, %ld MiB RAM%s\n", u.sysname,
	       u.release, sysconf(_SC_NPROCESSORS_ONLN), mem_mib, in_lab ?
	       " (inside `spte lab`: QEMU TCG, nested KVM; times are relative)"
	       : "");
	/* the lab's init loads the module; older labs did not */
	if (access(SPTE_MIRROR_DEVICE, F_OK) && access(MODULE_PATH, R_OK) == 0 &&
	    system("insmod " MODULE_PATH) != 0)
		fprintf(stderr, "bench-mirror: insmod %s failed\n", MODULE_PATH);
	if (access(SPTE_MIRROR_DEVICE, F_OK))
		die("%s: %s", SPTE_MIRROR_DEVICE, spte_mirror_strerror(-ENOENT));

	if (!dump_only)
		bench_overhead();
	bench_dump();
	if (!dump_only)
		bench_invalidate();
	return 0;
}
