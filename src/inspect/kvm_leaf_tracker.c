// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm_leaf_tracker.h"
#include "knobs.h"
#include "spte_error.h"
#include "tracefs.h"

/* What the model replays; the first is the one that must exist. */
static const char *const leaf_events[] = {
	"kvmmmu/kvm_tdp_mmu_spte_changed",
	"kvmmmu/fast_page_fault",
};

/* How long a sync waits for its marker: past it, a window is missed. */
#define SYNC_TIMEOUT_US		(5 * G_USEC_PER_SEC)
/* How often the thread looks at trace_pipe when nothing wakes it. */
#define DRAIN_POLL_MS		100
/*
 * A kvm_tdp_mmu_spte_changed record takes 48 bytes of ring; a burst
 * (a zap of all guest RAM, the refault after it) is two per page.
 */
#define RING_BYTES_PER_PAGE	128
#define RING_MIN_KB		1024
#define RING_MAX_KB		32768
/* A self-check looks this often, this far apart, before a mismatch counts. */
#define CHECK_ROUNDS		5
#define CHECK_RETRY_US		(20 * 1000)

struct spte_kvm_leaf_tracker {
	char *dir;		/* the instance */
	int pipe_fd;
	GThread *thread;
	gint stop;
	GMutex lock;
	GCond grew;
	GString *pending;	/* text the thread read, not replayed yet */
	guint64 syncs;
	struct spte_kvm_leaves *model;
	gboolean enabled[G_N_ELEMENTS(leaf_events)];
	/*
	 * trace clock minus CLOCK_MONOTONIC (us), as the last sync marker
	 * measured it; valid once has_offset
	 */
	gint64 mono_offset_us;
	gboolean has_offset;
};

static gboolean param_is(const char *sys_module, const char *param,
			 char **value)
{
	g_autofree char *path = g_build_filename(sys_module, param, NULL);

	*value = spte_knob_read(path, NULL);
	return *value && (!strcmp(*value, "Y") || !strcmp(*value, "1"));
}

gboolean spte_kvm_leaf_tracker_detect(const char *sys_module,
				      enum spte_kvm_spte_format *fmt,
				      GError **error)
{
	static const struct {
		const char *module, *param;
		enum spte_kvm_spte_format fmt;
	} vendors[] = {
		{ "kvm_amd", "kvm_amd/parameters/npt", SPTE_KVM_SPTE_X86 },
		{ "kvm_intel", "kvm_intel/parameters/ept", SPTE_KVM_SPTE_EPT },
	};
	g_autofree char *tdp = NULL;

	/* 6.1 and 6.12 have kvm.tdp_mmu; a kernel without it always has it on */
	if (!param_is(sys_module, "kvm/parameters/tdp_mmu", &tdp) && tdp) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "KVM runs its shadow MMU (kvm.tdp_mmu=%s), which "
			    "fires no kvmmmu:kvm_tdp_mmu_spte_changed", tdp);
		return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(vendors); i++) {
		g_autofree char *dir = g_build_filename(sys_module,
							vendors[i].module, NULL);
		g_autofree char *v = NULL;

		if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
			continue;
		if (!param_is(sys_module, vendors[i].param, &v)) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
				    "%s runs without nested paging (%s=%s): "
				    "KVM's shadow paging has no TDP MMU events",
				    vendors[i].module, vendors[i].param,
				    v ? v : "unreadable");
			return FALSE;
		}
		*fmt = vendors[i].fmt;
		return TRUE;
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
		    "neither kvm_amd nor kvm_intel is loaded (%s)", sys_module);
	return FALSE;
}

static gpointer drain(gpointer data)
{
	struct spte_kvm_leaf_tracker *t = data;
	g_autofree char *buf = g_malloc(65536);

	while (!g_atomic_int_get(&t->stop)) {
		struct pollfd p = { .fd = t->pipe_fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, DRAIN_POLL_MS) < 0 && errno != EINTR)
			break;
		r = read(t->pipe_fd, buf, 65536);
		if (r <= 0)
			continue;
		g_mutex_lock(&t->lock);
		g_string_append_len(t->pending, buf, r);
		g_cond_broadcast(&t->grew);
		g_mutex_unlock(&t->lock);
	}
	return NULL;
}

void spte_kvm_leaf_tracker_stop(struct spte_kvm_leaf_tracker *t)
{
	if (!t)
		return;
	/* best effort: there is nobody to report a failure to */
	for (guint i = 0; i < G_N_ELEMENTS(leaf_events); i++) {
		g_autofree char *path = NULL;

		if (!t->enabled[i])
			continue;
		path = g_strdup_printf("%s/events/%s/enable", t->dir,
				       leaf_events[i]);
		spte_knob_write(path, "0", NULL);
	}
	if (t->thread) {
		g_atomic_int_set(&t->stop, 1);
		g_thread_join(t->thread);
	}
	if (t->pipe_fd >= 0)
		close(t->pipe_fd);
	if (t->dir)
		rmdir(t->dir);
	g_free(t->dir);
	if (t->pending)
		g_string_free(t->pending, TRUE);
	g_mutex_clear(&t->lock);
	g_cond_clear(&t->grew);
	spte_kvm_leaves_free(t->model);
	g_free(t);
}

static const char *find_root(GError **error)
{
	const char *root = spte_tracefs_root(error);
	g_autofree char *inst = NULL;

	if (!root)
		return NULL;
	inst = g_build_filename(root, "instances", NULL);
	if (!g_file_test(inst, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "tracefs at %s has no instances", root);
		return NULL;
	}
	return root;
}

/*
 * Another VM's events would mix with ours: nothing in them says which VM.
 * KVM's debugfs names each VM "PID-FD" (kvm_create_vm_debugfs()).
 */
static void check_other_vms(struct spte_kvm_leaf_tracker *t)
{
	g_autoptr(GDir) d = g_dir_open("/sys/kernel/debug/kvm", 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		char *e;
		guint64 pid = g_ascii_strtoull(name, &e, 10);

		if (e == name || *e != '-' || pid == (guint64)getpid())
			continue;
		spte_kvm_leaves_set_incomplete(
			t->model, "another VM runs on this host (kvm debugfs "
			"%s), and KVM's events do not say which VM they are "
			"of", name);
	}
}

gboolean spte_kvm_leaf_tracker_start(struct spte_kvm_leaf_tracker **out,
				     guint64 ram_bytes, GError **error)
{
	g_autoptr(spte_kvm_leaf_tracker) t = g_new0(struct spte_kvm_leaf_tracker, 1);
	g_autofree char *size = NULL, *path = NULL, *pipe = NULL;
	enum spte_kvm_spte_format fmt;
	const char *root;
	guint64 kb;

	t->pipe_fd = -1;
	g_mutex_init(&t->lock);
	g_cond_init(&t->grew);
	t->pending = g_string_new(NULL);
	if (!spte_kvm_leaf_tracker_detect("/sys/module", &fmt, error))
		return FALSE;
	t->model = spte_kvm_leaves_new(fmt);
	root = find_root(error);
	if (!root)
		return FALSE;
	path = g_strdup_printf("%s/events/%s/enable", root, leaf_events[0]);
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "tracefs at %s has no %s event (is kvm.ko "
			    "loaded?)", root, leaf_events[0]);
		return FALSE;
	}
	t->dir = g_strdup_printf("%s/instances/spte-kvm-leaves-%d", root,
				 (int)getpid());
	/* left over from a run of ours that died with the same pid */
	if (mkdir(t->dir, 0700) < 0 && (errno != EEXIST || rmdir(t->dir) < 0 ||
					mkdir(t->dir, 0700) < 0)) {
		int err = errno;

		g_clear_pointer(&t->dir, g_free);
		return spte_set_errno(error, err, "creating a tracefs instance "
				      "under %s/instances", root);
	}
	kb = CLAMP(ram_bytes / 4096 * RING_BYTES_PER_PAGE / 1024, RING_MIN_KB,
		   RING_MAX_KB);
	size = g_strdup_printf("%" G_GUINT64_FORMAT, kb);
	g_free(path);
	path = g_build_filename(t->dir, "buffer_size_kb", NULL);
	if (!spte_knob_write(path, size, error))
		return FALSE;
	pipe = g_build_filename(t->dir, "trace_pipe", NULL);
	t->pipe_fd = open(pipe, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->pipe_fd < 0)
		return spte_set_errno(error, errno, "opening %s", pipe);
	for (guint i = 0; i < G_N_ELEMENTS(leaf_events); i++) {
		g_free(path);
		path = g_strdup_printf("%s/events/%s/enable", t->dir,
				       leaf_events[i]);
		if (!spte_knob_write(path, "1", error))
			return FALSE;
		t->enabled[i] = TRUE;
	}
	check_other_vms(t);
	t->thread = g_thread_new("kvm-leaves", drain, t);
	*out = g_steal_pointer(&t);
	return TRUE;
}

static guint64 stat_value(const char *stats, const char *name)
{
	const char *p = strstr(stats, name);

	return p ? g_ascii_strtoull(p + strlen(name), NULL, 10) : 0;
}

/* per_cpu/cpuN/stats: what the ring overwrote or could not take */
static void check_rings(struct spte_kvm_leaf_tracker *t)
{
	g_autofree char *dir = g_build_filename(t->dir, "per_cpu", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, "stats",
							 NULL);
		g_autofree char *stats = NULL;
		guint64 overrun, dropped;

		/* "entries: N\noverrun: N\ncommit overrun: N\n..." */
		if (!g_file_get_contents(path, &stats, NULL, NULL))
			continue;
		overrun = stat_value(stats, "\noverrun: ") +
			  stat_value(stats, "\ncommit overrun: ");
		dropped = stat_value(stats, "\ndropped events: ");
		if (overrun || dropped)
			spte_kvm_leaves_set_incomplete(
				t->model, "the trace ring of %s lost events "
				"(overrun %" G_GUINT64_FORMAT ", dropped %"
				G_GUINT64_FORMAT ")", name, overrun, dropped);
	}
}

/*
 * The marker's trace time against CLOCK_MONOTONIC read just before it
 * was written: the trace clock ("local", sched_clock) and the mirror's
 * ktime_get_ns() both count from boot but drift apart; the marker ties
 * them together to within the write's latency.  On x86 with a stable
 * TSC, sched_clock agrees across CPUs, so one offset serves every CPU's
 * events.  The instance keeps the default clock on purpose: the one lab
 * run with it set to "mono" hit a ring_buffer.c WARNING in
 * rb_get_reader_page() reading trace_pipe, and no run on "local" has.
 */
static void measure_offset(struct spte_kvm_leaf_tracker *t, const char *text,
			   const char *marker, gint64 mono_before_us)
{
	const char *at = strstr(text, marker);
	const char *bol;
	g_autofree char *line = NULL;
	struct spte_kvm_line l;

	if (!at)
		return;
	for (bol = at; bol > text && bol[-1] != '\n'; bol--)
		;
	line = g_strndup(bol, strcspn(bol, "\n"));
	if (spte_kvm_leaves_parse_line(line, &l) != SPTE_KVM_LINE_MARKER)
		return;
	/*
	 * The write's latency only adds to the difference: the smallest one
	 * seen is the closest.
	 */
	if (!t->has_offset ||
	    (gint64)l.ts_us - mono_before_us < t->mono_offset_us)
		t->mono_offset_us = (gint64)l.ts_us - mono_before_us;
	t->has_offset = TRUE;
}

void spte_kvm_leaf_tracker_sync(struct spte_kvm_leaf_tracker *t)
{
	g_autofree char *marker = g_strdup_printf("spte-kvm-leaves sync %"
						  G_GUINT64_FORMAT, ++t->syncs);
	g_autofree char *path = g_build_filename(t->dir, "trace_marker", NULL);
	g_autoptr(GError) error = NULL;
	gint64 deadline = g_get_monotonic_time() + SYNC_TIMEOUT_US;
	gboolean seen = FALSE;
	gint64 mono_before_us;
	char *text, *end;

	mono_before_us = g_get_monotonic_time();
	if (!spte_knob_write(path, marker, &error))
		spte_kvm_leaves_set_incomplete(t->model, "no sync marker: %s",
					       error->message);
	g_mutex_lock(&t->lock);
	while (!error && !(seen = strstr(t->pending->str, marker) != NULL) &&
	       g_cond_wait_until(&t->grew, &t->lock, deadline))
		;
	if (!error && !seen)
		seen = strstr(t->pending->str, marker) != NULL;
	/* whole lines only: the rest waits for the next sync */
	end = strrchr(t->pending->str, '\n');
	text = g_strndup(t->pending->str, end ? end - t->pending->str + 1 : 0);
	g_string_erase(t->pending, 0, end ? end - t->pending->str + 1 : 0);
	g_mutex_unlock(&t->lock);
	spte_kvm_leaves_feed_text(t->model, text);
	if (seen)
		measure_offset(t, text, marker, mono_before_us);
	g_free(text);
	if (!error && !seen)
		spte_kvm_leaves_set_incomplete(
			t->model, "the trace did not catch up within %d s "
			"(sync %" G_GUINT64_FORMAT ")",
			(int)(SYNC_TIMEOUT_US / G_USEC_PER_SEC), t->syncs);
	check_rings(t);
	check_other_vms(t);
}

const struct spte_kvm_leaves *spte_kvm_leaf_tracker_model(struct spte_kvm_leaf_tracker *t)
{
	return t->model;
}

gboolean spte_kvm_leaf_tracker_to_mono(struct spte_kvm_leaf_tracker *t,
				       guint64 trace_us, gint64 *mono_us)
{
	*mono_us = (gint64)trace_us - t->mono_offset_us;
	return t->has_offset;
}


enum spte_kvm_check spte_kvm_leaf_tracker_check(struct spte_kvm_leaf_tracker *t,
						struct spte_kvm_stats *stats,
						GString *out)
{
	static const char *const names[] = { "pages_4k", "pages_2m",
					     "pages_1g" };
	static const char *const sizes[] = { "4K", "2M", "1G" };
	guint64 model[3], kvm[3], before[3];
	gboolean have[3], any, same, stable;
	const char *why;
	GString *counts = g_string_new(NULL);

	/*
	 * KVM keeps changing its leaves while we look (ksmd, khugepaged,
	 * reclaim zap them from other threads), so the counts are read on
	 * both sides of the sync: equal readings bracket the marker, and
	 * the model up to it must match them.  A difference in readings, or
	 * with the model, is looked at again a few times before it counts:
	 * a change between the sync and the second reading is not an error.
	 */
	for (guint round = 0;; round++) {
		any = FALSE;
		same = TRUE;
		stable = TRUE;
		for (guint i = 0; i < 3; i++) {
			have[i] = stats && spte_kvm_stats_has(stats, names[i]) &&
				  spte_kvm_stats_get(stats, names[i],
						     &before[i], NULL);
		}
		spte_kvm_leaf_tracker_sync(t);
		for (guint i = 0; i < 3; i++) {
			model[i] = spte_kvm_leaves_count(t->model, G_MAXUINT,
							 i + 1);
			have[i] = have[i] &&
				  spte_kvm_stats_get(stats, names[i], &kvm[i],
						     NULL);
			any |= have[i];
			if (have[i] && kvm[i] != before[i])
				stable = FALSE;
			if (have[i] && kvm[i] != model[i])
				same = FALSE;
		}
		if ((same && stable) || round == CHECK_ROUNDS - 1 ||
		    !spte_kvm_leaves_complete(t->model, NULL))
			break;
		g_usleep(CHECK_RETRY_US);
	}
	for (guint i = 0; i < 3; i++) {
		/* 1G leaves are rare: shown when there are any */
		if (i < 2 || model[i] || (have[i] && kvm[i]))
			g_string_append_printf(counts, "%s%" G_GUINT64_FORMAT
					       " %s", i ? ", " : "", model[i],
					       sizes[i]);
	}
	if (!spte_kvm_leaves_complete(t->model, &why)) {
		g_string_append_printf(out, "KVM view incomplete: %s\n", why);
		g_string_free(counts, TRUE);
		return SPTE_KVM_CHECK_INCOMPLETE;
	}
	if (!any) {
		g_string_append_printf(out, "KVM view: %s leaves (KVM exports "
				       "no page counts to check them "
				       "against)\n", counts->str);
		g_string_free(counts, TRUE);
		return SPTE_KVM_CHECK_NO_STATS;
	}
	if (same && stable) {
		g_string_append_printf(out, "KVM view: %s leaves (matches KVM "
				       "stats)\n", counts->str);
		g_string_free(counts, TRUE);
		return SPTE_KVM_CHECK_MATCH;
	}
	if (!stable) {
		/* no verdict: what the model should equal never held still */
		g_string_append_printf(out, "KVM view: %s leaves; KVM's counts "
				       "kept changing while read, %d times, no "
				       "verdict:", counts->str, CHECK_ROUNDS);
		for (guint i = 0; i < 3; i++)
			if (have[i])
				g_string_append_printf(out, " %s %" G_GUINT64_FORMAT
						       " then %" G_GUINT64_FORMAT,
						       names[i], before[i], kvm[i]);
		g_string_append_c(out, '\n');
		g_string_free(counts, TRUE);
		return SPTE_KVM_CHECK_UNSTABLE;
	}
	g_string_append_printf(out, "KVM view: TRACKING ERROR: the model has "
			       "%s leaves, KVM counts", counts->str);
	for (guint i = 0; i < 3; i++)
		if (have[i])
			g_string_append_printf(out, " %s %" G_GUINT64_FORMAT,
					       names[i], kvm[i]);
	g_string_append_c(out, '\n');
	g_string_free(counts, TRUE);
	return SPTE_KVM_CHECK_MISMATCH;
}
