// SPDX-License-Identifier: GPL-2.0
/*
 * damon-start / damon-wait / damon-stop and 'expect damon': DAMON's virtual
 * address operations (mm/damon/vaddr.c) watching guest RAM in the VMM's
 * own address space, through the sysfs interface (mm/damon/sysfs.c).
 *
 * Each sample, damon_va_prepare_access_checks() makes one address per
 * region old (damon_va_mkold() -> damon_ptep_mkold() ->
 * ptep_clear_young_notify(): the primary PTE and, through
 * mmu_notifier_clear_young(), every secondary MMU), and
 * damon_va_check_accesses() asks whether it became young again
 * (damon_va_young(): pte_young(), the folio's idle flag, then
 * mmu_notifier_test_young()).  So a page only a device touches looks hot
 * to DAMON exactly when that device's MMU answers clear_young/test_young.
 *
 * DAMON adapts its regions: it splits them at random points and merges
 * neighbours of similar counts (kdamond_split_regions(),
 * kdamond_merge_regions()).  For answers per page, the kdamond here gets
 * one region per 4 KiB page and min_nr_regions = max_nr_regions = PAGES:
 * no split (only at most max_nr_regions / 2 regions are split), no merge
 * (a merge may not exceed damon_region_sz_limit(), total / min_nr_regions
 * = one page).  vaddr's periodic damon_va_update() would reset the regions
 * to the three big areas of the address space; its interval (update_us)
 * is set past any run.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "knobs.h"
#include "families.h"
#include "spte_error.h"

#define DAMON_ADMIN "/sys/kernel/mm/damon/admin"
#define KDAMONDS DAMON_ADMIN "/kdamonds/"
#define KDAMOND KDAMONDS "0/"
#define CONTEXT KDAMOND "contexts/0/"
#define TARGET CONTEXT "targets/0/"
#define SCHEME CONTEXT "schemes/0/"

/*
 * 20 ms between samples leaves the device loop (one access a millisecond)
 * many chances per sample even under TCG; 10 samples an aggregation keep
 * a run short.  The counts DAMON reports are out of aggr / sample.
 */
#define DAMON_SAMPLE_US 20000
#define DAMON_AGGR_US 200000
#define DAMON_MAX_ACCESSES (DAMON_AGGR_US / DAMON_SAMPLE_US)
#define DAMON_UPDATE_US "3600000000"	/* an hour: never within a run */

/* A store that meets damon_sysfs_lock taken is retried this long. */
#define DAMON_BUSY_MS 5000

struct spte_damon {
	guint64 gpa, pages;	/* the monitored range */
	guint64 hva;
	int kdamond_pid;
};

/*
 * Every DAMON sysfs store takes damon_sysfs_lock with mutex_trylock()
 * (state_store(), nr_kdamonds_store()), and the kdamond takes it after
 * each sample (damon_sysfs_cmd_request_callback()): a store that meets it
 * fails with EBUSY and is simply tried again.
 */
static gboolean damon_write(const char *path, const char *value,
			    GError **error)
{
	gint64 deadline = g_get_monotonic_time() + DAMON_BUSY_MS * 1000;
	size_t len = strlen(value);
	ssize_t n;
	int fd, err;

	do {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return spte_set_errno(error, errno, "opening %s", path);
		n = write(fd, value, len);
		err = n < 0 ? errno : n != (ssize_t)len ? EIO : 0;
		close(fd);
		if (err != EBUSY)
			break;
		g_usleep(10000);
	} while (g_get_monotonic_time() < deadline);
	if (err)
		return spte_set_errno(error, err, "writing '%s' to %s", value,
				      path);
	return TRUE;
}

static gboolean damon_writef(const char *path, GError **error,
			     const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean damon_writef(const char *path, GError **error,
			     const char *fmt, ...)
{
	g_autofree char *value = NULL;
	va_list ap;

	va_start(ap, fmt);
	value = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return damon_write(path, value, error);
}

/* Turn our kdamond off and remove its directories: kdamonds back to 0. */
static void damon_teardown(void)
{
	g_autoptr(GError) err = NULL;

	/* 'off' returns once kdamond_fn() has ended (kthread_stop_put()) */
	damon_write(KDAMOND "state", "off", NULL);
	if (!damon_write(KDAMONDS "nr_kdamonds", "0", &err))
		g_printerr("spte: DAMON left with a kdamond: %s\n",
			   err->message);
}

static void damon_free(void *d)
{
	damon_teardown();
	g_free(d);
}

/* Our kdamond, from damon-start to damon-stop. */
static const struct spte_session_key damon_key = {
	.name = "the kdamond",
	.free = damon_free,
};

static struct spte_damon *running_damon(struct spte_session *s)
{
	return spte_session_kept(s, &damon_key);
}

static gboolean setup_regions(const struct spte_damon *d, GError **error)
{
	if (!damon_writef(TARGET "regions/nr_regions", error, "%" G_GUINT64_FORMAT,
			  d->pages))
		return FALSE;
	for (guint64 i = 0; i < d->pages; i++) {
		g_autofree char *dir = g_strdup_printf(TARGET "regions/%"
						       G_GUINT64_FORMAT "/", i);
		g_autofree char *start = g_strconcat(dir, "start", NULL);
		g_autofree char *end = g_strconcat(dir, "end", NULL);
		guint64 a = d->hva + (i << 12);

		if (!damon_writef(start, error, "%" G_GUINT64_FORMAT, a) ||
		    !damon_writef(end, error, "%" G_GUINT64_FORMAT, a + 4096))
			return FALSE;
	}
	return TRUE;
}

/*
 * One 'stat' scheme matching every region: it does nothing to memory, but
 * its tried_regions directory is how sysfs shows the regions
 * (damon_sysfs_before_damos_apply()).  The access pattern's ranges start
 * out as 0..0 (damon_sysfs_access_pattern_add_range_dir()).
 */
static gboolean setup_scheme(GError **error)
{
	if (!damon_write(CONTEXT "schemes/nr_schemes", "1", error))
		return FALSE;
	/* mm/damon/sysfs-schemes.c has it; 6.1's sysfs.c has none */
	if (!g_file_test(SCHEME "tried_regions", G_FILE_TEST_IS_DIR)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this kernel's DAMON sysfs interface shows no "
			    "regions (" SCHEME "tried_regions is missing)");
		return FALSE;
	}
	return damon_write(SCHEME "action", "stat", error) &&
	       damon_write(SCHEME "access_pattern/sz/max",
			   "18446744073709551615", error) &&
	       damon_writef(SCHEME "access_pattern/nr_accesses/max", error,
			    "%d", DAMON_MAX_ACCESSES) &&
	       damon_write(SCHEME "access_pattern/age/max", "4294967295",
			   error);
}

static gboolean setup(const struct spte_damon *d, GError **error)
{
	g_autofree char *ops = NULL;

	if (!damon_write(KDAMONDS "nr_kdamonds", "1", error) ||
	    !damon_write(KDAMOND "contexts/nr_contexts", "1", error))
		return FALSE;
	ops = spte_knob_read(CONTEXT "avail_operations", error);
	if (!ops)
		return FALSE;
	if (!strstr(ops, "vaddr")) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this kernel's DAMON has no vaddr operations "
			    "(CONFIG_DAMON_VADDR; avail_operations: %s)", ops);
		return FALSE;
	}
	return damon_write(CONTEXT "operations", "vaddr", error) &&
	       damon_writef(CONTEXT "monitoring_attrs/intervals/sample_us",
			    error, "%d", DAMON_SAMPLE_US) &&
	       damon_writef(CONTEXT "monitoring_attrs/intervals/aggr_us",
			    error, "%d", DAMON_AGGR_US) &&
	       damon_write(CONTEXT "monitoring_attrs/intervals/update_us",
			   DAMON_UPDATE_US, error) &&
	       damon_writef(CONTEXT "monitoring_attrs/nr_regions/max", error,
			    "%" G_GUINT64_FORMAT, d->pages) &&
	       damon_writef(CONTEXT "monitoring_attrs/nr_regions/min", error,
			    "%" G_GUINT64_FORMAT, d->pages) &&
	       damon_write(CONTEXT "targets/nr_targets", "1", error) &&
	       damon_writef(TARGET "pid_target", error, "%d", getpid()) &&
	       setup_regions(d, error) &&
	       setup_scheme(error) &&
	       damon_write(KDAMOND "state", "on", error);
}

static gboolean step_damon_start(struct spte_session *s,
				 const struct spte_step *step, GString *line,
				 GError **error)
{
	void *hva = spte_session_hva(s, step->gpa, step->pages, error);
	g_autofree char *nr = NULL;
	g_autofree char *pid = NULL;
	struct spte_damon *d;

	if (!hva)
		return FALSE;
	d = running_damon(s);
	if (d) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "a kdamond already watches gpa %#" G_GINT64_MODIFIER
			    "x + %" G_GUINT64_FORMAT " pages (damon-stop first)",
			    d->gpa, d->pages);
		return FALSE;
	}
	/* damon_set_attrs() refuses min_nr_regions < 3 */
	if (step->pages < 3) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "DAMON needs at least 3 regions, one per page: "
			    "PAGES %" G_GUINT64_FORMAT " is too few",
			    step->pages);
		return FALSE;
	}
	if (!g_file_test(DAMON_ADMIN, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this kernel has no DAMON sysfs interface "
			    "(CONFIG_DAMON_SYSFS: " DAMON_ADMIN " is missing)");
		return FALSE;
	}
	/* writing nr_kdamonds rebuilds every kdamond directory */
	nr = spte_knob_read(KDAMONDS "nr_kdamonds", error);
	if (!nr)
		return FALSE;
	if (!g_str_equal(nr, "0")) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    "DAMON already has kdamonds set up (%s = %s); they "
			    "are someone else's, so this step leaves them be",
			    KDAMONDS "nr_kdamonds", nr);
		return FALSE;
	}
	/* damon_get_folio() skips a folio off the LRU, as in a CPU's batch */
	if (!spte_drain_lru_batches(error))
		return FALSE;
	d = g_new0(struct spte_damon, 1);
	d->gpa = step->gpa;
	d->pages = step->pages;
	d->hva = (guint64)(uintptr_t)hva;
	if (!setup(d, error)) {
		damon_free(d);
		return FALSE;
	}
	spte_session_keep(s, &damon_key, d);
	pid = spte_knob_read(KDAMOND "pid", error);
	if (!pid)
		return FALSE;
	d->kdamond_pid = atoi(pid);
	g_string_append_printf(line, "ok: kdamond pid %d watches hva %#"
			       G_GINT64_MODIFIER "x-%#" G_GINT64_MODIFIER
			       "x of pid %d (vaddr): %" G_GUINT64_FORMAT
			       " regions of 4 KiB, a sample every %d ms, an "
			       "aggregation every %d ms", d->kdamond_pid, d->hva,
			       d->hva + (d->pages << 12) - 1, getpid(),
			       d->pages, DAMON_SAMPLE_US / 1000,
			       DAMON_AGGR_US / 1000);
	return TRUE;
}

static gboolean need_damon(struct spte_session *s, GError **error)
{
	if (running_damon(s))
		return TRUE;
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "no kdamond is running (start one with damon-start)");
	return FALSE;
}

/*
 * The scheme's nr_tried: regions it was applied to, every region once an
 * aggregation (kdamond_apply_schemes() -> damos_apply_scheme()).
 */
static gboolean read_tried(guint64 *tried, GError **error)
{
	return damon_write(KDAMOND "state", "update_schemes_stats", error) &&
	       spte_knob_read_u64(SCHEME "stats/nr_tried", tried, error);
}

#define DAMON_WAIT_SLACK_S 60

static gboolean step_damon_wait(struct spte_session *s,
				const struct spte_step *step, GString *line,
				GError **error)
{
	guint64 aggregations = step->count ? step->count : 2;
	guint64 start, now, want, pages;
	gint64 t = g_get_monotonic_time();
	gint64 deadline = t + (aggregations * DAMON_AGGR_US) +
			  DAMON_WAIT_SLACK_S * G_USEC_PER_SEC;

	if (!need_damon(s, error) || !read_tried(&start, error))
		return FALSE;
	pages = running_damon(s)->pages;
	want = start + aggregations * pages;
	do {
		g_usleep(DAMON_AGGR_US / 4);
		if (!read_tried(&now, error))
			return FALSE;
		if (now >= want) {
			g_string_append_printf(line, "ok: %" G_GUINT64_FORMAT
					       " aggregations in %.1f s "
					       "(nr_tried %" G_GUINT64_FORMAT
					       " -> %" G_GUINT64_FORMAT ")",
					       (now - start) / pages,
					       (g_get_monotonic_time() - t) / 1e6,
					       start, now);
			return TRUE;
		}
	} while (g_get_monotonic_time() < deadline);
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
		    "DAMON's stat scheme tried %" G_GUINT64_FORMAT " regions "
		    "in %.0f s, not the %" G_GUINT64_FORMAT " of %"
		    G_GUINT64_FORMAT " aggregations", now - start,
		    (g_get_monotonic_time() - t) / 1e6,
		    want - start, aggregations);
	return FALSE;
}

static gboolean step_damon_stop(struct spte_session *s,
				const struct spte_step *step, GString *line,
				GError **error)
{
	guint64 tried;

	if (!need_damon(s, error) || !read_tried(&tried, error))
		return FALSE;
	damon_free(spte_session_take(s, &damon_key));
	g_string_append_printf(line, "ok: kdamond stopped and removed after "
			       "%" G_GUINT64_FORMAT " regions tried; "
			       "kdamonds/nr_kdamonds is 0 again", tried);
	return TRUE;
}

static gboolean read_region(const char *dir, struct spte_damon_region *r,
			    GError **error)
{
	static const char *const names[] = { "start", "end", "nr_accesses",
					     "age" };
	guint64 *fields[] = { &r->start, &r->end, &r->nr_accesses, &r->age };

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *path = g_build_filename(dir, names[i], NULL);

		if (!spte_knob_read_u64(path, fields[i], error))
			return FALSE;
	}
	return TRUE;
}

GArray *spte_damon_regions(struct spte_session *s, GError **error)
{
	g_autoptr(GArray) regions = g_array_new(FALSE, TRUE,
						sizeof(struct spte_damon_region));

	if (!need_damon(s, error))
		return NULL;
	/*
	 * The regions of the next scheme application, an aggregation from
	 * now: the store returns once the kdamond has filled them in
	 * (damon_sysfs_handle_cmd() waits for the callback).
	 */
	if (!damon_write(KDAMOND "state", "update_schemes_tried_regions",
			 error))
		return NULL;
	for (guint i = 0;; i++) {
		g_autofree char *dir = g_strdup_printf(SCHEME "tried_regions/%u",
						       i);
		struct spte_damon_region r;

		if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
			break;
		if (!read_region(dir, &r, error))
			return NULL;
		g_array_append_val(regions, r);
	}
	return g_steal_pointer(&regions);
}

gboolean spte_damon_covers(struct spte_session *s, guint64 gpa,
			   guint64 pages, GError **error)
{
	const struct spte_damon *d = running_damon(s);

	if (!need_damon(s, error))
		return FALSE;
	if (gpa >= d->gpa && pages <= d->pages &&
	    gpa - d->gpa <= (d->pages - pages) << 12)
		return TRUE;
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "gpa %#" G_GINT64_MODIFIER "x + %" G_GUINT64_FORMAT " pages "
		    "is outside what the kdamond watches (gpa %#"
		    G_GINT64_MODIFIER "x + %" G_GUINT64_FORMAT " pages)", gpa,
		    pages, d->gpa, d->pages);
	return FALSE;
}

guint64 spte_damon_hva(struct spte_session *s, guint64 gpa)
{
	const struct spte_damon *d = running_damon(s);

	return d->hva + (gpa - d->gpa);
}

guint spte_damon_max_accesses(void)
{
	return DAMON_MAX_ACCESSES;
}

static const struct spte_verb verbs[] = {
	{ .usage = "damon-start GPA PAGES", .run = step_damon_start,
	  .help = "a DAMON kdamond (vaddr, this pid) watches the range, one region per page" },
	{ .usage = "damon-wait [AGGREGATIONS]", .run = step_damon_wait,
	  .help = "wait until the kdamond has aggregated AGGREGATIONS more times (default 2)" },
	{ .usage = "damon-stop", .run = step_damon_stop,
	  .help = "turn the kdamond off and remove it" },
};

const struct spte_step_family spte_damon_steps =
	SPTE_STEP_FAMILY("damon", SPTE_STEP_HOST, verbs);
