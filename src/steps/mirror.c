// SPDX-License-Identifier: GPL-2.0
/* Mirror steps: map, unmap, access, dump, events, audit. */
#include <errno.h>
#include <stdio.h>

#include <spte/guest_abi.h>

#include "dump_json.h"
#include "dump_text.h"
#include "kvm_leaves.h"
#include "timeline.h"
#include "families.h"
#include "spte_error.h"

#define mirror_failed spte_session_mirror_failed

static gboolean step_map(struct spte_session *s, const struct spte_step *step,
			 GString *line, GError **error)
{
	guint64 flags = step->mode == SPTE_MODE_WRITE ? SPTE_MAP_WRITE :
			step->mode == SPTE_MODE_SNAPSHOT ? SPTE_MAP_SNAPSHOT : 0;
	struct spte_mirror_map out;
	int err;

	err = spte_mirror_map(s->mirror, step->gpa, step->pages * 4096, flags,
			      &out);
	if (err)
		return mirror_failed(error, err, "SPTE_MIRROR_MAP");
	g_string_append_printf(line, "ok: %llu x 4K + %llu x 2M leaves "
			       "installed", out.mapped_4k, out.mapped_2m);
	if (step->mode == SPTE_MODE_SNAPSHOT)
		g_string_append_printf(line, ", %llu pages not mapped in the "
				       "primary", out.skipped);
	if (out.retries)
		g_string_append_printf(line, ", %llu invalidate retries",
				       out.retries);
	return TRUE;
}

/*
 * A device read returns the bytes the mirror's leaves point at; a device
 * write stores back what it read, so it dirties (and un-shares) pages
 * without changing the guest's data.
 */
static gboolean step_access(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error)
{
	guint64 size = step->pages * 4096;
	g_autofree guint64 *buf = g_try_malloc(size);
	struct spte_mirror_access out;
	unsigned long long faults;
	int err;

	if (!spte_session_hva(s, step->gpa, step->pages, error))
		return FALSE;

	if (!buf) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    "access: cannot allocate %" G_GUINT64_FORMAT " bytes",
			    size);
		return FALSE;
	}
	err = spte_mirror_access(s->mirror, step->gpa, buf, size, 0, &out);
	if (err)
		return mirror_failed(error, err, "SPTE_MIRROR_ACCESS (read)");
	faults = out.faults;
	if (step->mode == SPTE_MODE_WRITE) {
		err = spte_mirror_access(s->mirror, step->gpa, buf, size,
					 SPTE_ACCESS_WRITE, &out);
		if (err)
			return mirror_failed(error, err,
					     "SPTE_MIRROR_ACCESS (write)");
		faults += out.faults;
	}
	/*
	 * Not compared with the VMM's own view here: reading guest RAM
	 * through the VMM would make the primary's PTEs young, and aging
	 * scenarios need the device's accesses to be the only ones.  The
	 * guest's checksum step makes that comparison.
	 */
	g_string_append_printf(line, "ok: device %s %llu pages through the "
			       "mirror (%llu leaves faulted in), fnv1a64 "
			       "%#018llx", step->mode == SPTE_MODE_WRITE ?
			       "rewrote" : "read",
			       (unsigned long long)step->pages, faults,
			       (unsigned long long)spte_fnv1a64_words(buf,
								      size / 8));
	return TRUE;
}

/*
 * access-start / access-stop: a device that keeps using memory while the
 * kernel samples it (DAMON's checks are a sample interval apart; a single
 * 'access' would be one instant).  A VMM thread repeats the step's access
 * every millisecond: each pass sets A in the leaves it reads, whatever
 * cleared them since.
 */
#define ACCESS_LOOP_PERIOD_US 1000

struct spte_access_loop {
	struct spte_mirror *mirror;
	guint64 gpa, size;
	gboolean write;
	gint stop;		/* atomic: set by access-stop */
	guint64 passes;
	gint64 started;
	GError *error;		/* why the thread stopped early */
	GThread *thread;
	guint64 *buf;
};

static gpointer access_loop_thread(gpointer data)
{
	struct spte_access_loop *l = data;
	int err;

	while (!g_atomic_int_get(&l->stop)) {
		err = spte_mirror_access(l->mirror, l->gpa, l->buf, l->size, 0,
					 NULL);
		if (!err && l->write)
			err = spte_mirror_access(l->mirror, l->gpa, l->buf,
						 l->size, SPTE_ACCESS_WRITE,
						 NULL);
		if (err) {
			mirror_failed(&l->error, err, "SPTE_MIRROR_ACCESS "
				      "(access-start loop)");
			break;
		}
		l->passes++;
		g_usleep(ACCESS_LOOP_PERIOD_US);
	}
	return NULL;
}

/*
 * Stop the thread and free @l; FALSE (with why) if it had stopped on an
 * error.  *passes: how many it made.
 */
static gboolean access_loop_end(struct spte_access_loop *l, guint64 *passes,
				GError **error)
{
	gboolean ok;

	g_atomic_int_set(&l->stop, 1);
	g_thread_join(l->thread);
	*passes = l->passes;
	ok = !l->error;
	if (l->error)
		g_propagate_error(error, g_steal_pointer(&l->error));
	g_free(l->buf);
	g_free(l);
	return ok;
}

static void access_loop_free(void *l)
{
	guint64 passes;

	access_loop_end(l, &passes, NULL);
}

static const struct spte_session_key access_loop_key = {
	.name = "the device loop",
	.free = access_loop_free,
};

static gboolean step_access_start(struct spte_session *s,
				  const struct spte_step *step, GString *line,
				  GError **error)
{
	struct spte_access_loop *l = spte_session_kept(s, &access_loop_key);

	if (!spte_session_hva(s, step->gpa, step->pages, error))
		return FALSE;
	if (l) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "the device already accesses gpa %#"
			    G_GINT64_MODIFIER "x + %" G_GUINT64_FORMAT
			    " pages in a loop (access-stop first)",
			    l->gpa, l->size >> 12);
		return FALSE;
	}
	l = g_new0(struct spte_access_loop, 1);
	l->mirror = s->mirror;
	l->gpa = step->gpa;
	l->size = step->pages << 12;
	l->write = step->mode == SPTE_MODE_WRITE;
	l->buf = g_try_malloc(l->size);
	if (!l->buf) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    "access-start: cannot allocate %" G_GUINT64_FORMAT
			    " bytes", l->size);
		g_free(l);
		return FALSE;
	}
	l->started = g_get_monotonic_time();
	l->thread = g_thread_new("access-loop", access_loop_thread, l);
	spte_session_keep(s, &access_loop_key, l);
	g_string_append_printf(line, "ok: the device %s %" G_GUINT64_FORMAT
			       " pages through the mirror every %d ms until "
			       "access-stop", l->write ? "rewrites" : "reads",
			       step->pages, ACCESS_LOOP_PERIOD_US / 1000);
	return TRUE;
}

static gboolean step_access_stop(struct spte_session *s,
				 const struct spte_step *step, GString *line,
				 GError **error)
{
	struct spte_access_loop *l = spte_session_take(s, &access_loop_key);
	guint64 gpa, pages, passes;
	gint64 us;

	if (!l) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "no device loop is running (access-start first)");
		return FALSE;
	}
	gpa = l->gpa;
	pages = l->size >> 12;
	us = g_get_monotonic_time() - l->started;
	if (!access_loop_end(l, &passes, error))
		return FALSE;
	g_string_append_printf(line, "ok: %" G_GUINT64_FORMAT " device "
			       "passes over gpa %#" G_GINT64_MODIFIER "x + %"
			       G_GUINT64_FORMAT " pages in %.2f s",
			       passes, gpa, pages, us / 1e6);
	return TRUE;
}

static gboolean step_unmap(struct spte_session *s, const struct spte_step *step,
			   GString *line, GError **error)
{
	guint64 zapped = 0;
	int err = spte_mirror_unmap(s->mirror, step->gpa, step->pages * 4096,
				    &zapped);

	if (err)
		return mirror_failed(error, err, "SPTE_MIRROR_UNMAP");
	g_string_append_printf(line, "ok: %" G_GUINT64_FORMAT
			       " leaves zapped", zapped);
	return TRUE;
}

/* A named dump keeps KVM's leaves of the same moment beside the mirror's. */
static void keep_dump(struct spte_session *s, const char *name,
		      struct spte_mirror_table *t)
{
	const struct spte_kvm_leaves *kvm = spte_session_kvm_model(s);
	struct spte_named_dump *d = NULL;

	for (guint i = 0; i < s->dumps->len && !d; i++)
		if (g_str_equal(((struct spte_named_dump *)s->dumps->pdata[i])->name,
				name))
			d = s->dumps->pdata[i];
	if (!d) {
		d = g_new0(struct spte_named_dump, 1);
		d->name = g_strdup(name);
		g_ptr_array_add(s->dumps, d);
	}
	spte_mirror_table_free(d->table);
	d->table = t;
	spte_kvm_snapshot_free(d->kvm);
	d->kvm = kvm ? spte_kvm_leaves_snapshot(kvm) : NULL;
}

static gboolean step_dump(struct spte_session *s, const struct spte_step *step,
			  GString *line, GError **error)
{
	struct spte_mirror_table *t = spte_session_dump(s, error);

	if (!t)
		return FALSE;
	g_string_append_printf(line, "%" G_GUINT64_FORMAT " leaves, %"
			       G_GUINT64_FORMAT " table pages",
			       t->nr_leaves, t->table_pages[0] +
			       t->table_pages[1] + t->table_pages[2] +
			       t->table_pages[3]);
	if (step->file) {
		g_autoptr(JsonNode) node = spte_dump_to_json(t);
		g_autofree char *json = json_to_string(node, TRUE);

		if (!g_file_set_contents(step->file, json, -1, error)) {
			spte_mirror_table_free(t);
			return FALSE;
		}
		g_string_append_printf(line, ", saved as %s", step->file);
	}
	g_string_append_c(line, '\n');
	spte_dump_format_text(t, line);
	g_string_truncate(line, line->len - 1);	/* printed with a newline */
	if (step->name)
		keep_dump(s, step->name, t);
	else
		spte_mirror_table_free(t);
	return TRUE;
}

static gboolean step_events(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error)
{
	const struct spte_mirror_event *ev;
	guint n;

	if (!spte_session_drain_events(s, error))
		return FALSE;
	/* the expect steps that follow look at what was just shown */
	s->window = s->shown;
	s->shown = s->events->len;
	n = s->events->len - s->window;
	if (!n) {
		g_string_append(line, "no events since the last 'events'");
		return TRUE;
	}
	ev = &g_array_index(s->events, struct spte_mirror_event, 0);
	g_string_append_printf(line, "%u notifier events:\n", n);
	spte_timeline_format(ev + s->window, n, ev->time_ns, line);
	if (line->len && line->str[line->len - 1] == '\n')
		g_string_truncate(line, line->len - 1);
	spte_kvm_answers_format(s, ev + s->window, n, line);
	return TRUE;
}

/* "audit" is the mirror's, "audit kvm" KVM's (expect_kvm.c). */
static gboolean audit_parse(struct spte_step *step, GError **error)
{
	guint n = g_strv_length(step->words);

	if (!n)
		return TRUE;
	if (n == 1 && g_str_equal(step->words[0], "kvm")) {
		step->name = g_strdup("kvm");
		step->needs_kvm_leaves = TRUE;
		step->needs_mirror = FALSE;
		return TRUE;
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "expected 'audit' (the mirror) or 'audit kvm' (KVM's own "
		    "leaves)");
	return FALSE;
}

static gboolean step_audit(struct spte_session *s, const struct spte_step *step,
			   GString *line, GError **error)
{
	struct spte_mirror_audit a;
	guint64 bad;
	int err;

	if (step->needs_kvm_leaves)
		return spte_audit_kvm(s, step, line, error);
	err = spte_mirror_audit(s->mirror, &a);

	if (err)
		return mirror_failed(error, err, "SPTE_MIRROR_AUDIT");
	bad = a.stale_pfn + a.stale_unmapped + a.write_violations +
	      a.level_violations;
	if (!bad) {
		spte_session_check(s, step, TRUE, line, "%llu leaves (%llu "
				   "pages) agree with the primary page tables",
				   a.leaves, a.pages);
		return TRUE;
	}
	spte_session_check(s, step, FALSE, line, "of %llu leaves: %llu stale "
			   "PFN, %llu mapped where the primary is not, %llu "
			   "writable where the primary is read-only, %llu "
			   "larger than the primary mapping", a.leaves,
			   a.stale_pfn, a.stale_unmapped, a.write_violations,
			   a.level_violations);
	for (guint64 i = 0; i < a.nr_reports && i < SPTE_AUDIT_MAX_REPORTS; i++)
		g_string_append_printf(line, "\n  gpa %#llx %s: entry %#018llx, "
				       "primary pfn %#llx", a.reports[i].gpa,
				       spte_mirror_audit_kind_name(a.reports[i].kind),
				       a.reports[i].entry,
				       a.reports[i].primary_pfn);
	return TRUE;
}

static const struct spte_verb verbs[] = {
	{ .usage = "map GPA PAGES read|write|snapshot", .run = step_map,
	  .help = "mirror: fault the range in (a write fault breaks COW/KSM), or snapshot what the primary maps" },
	{ .usage = "unmap GPA PAGES", .run = step_unmap,
	  .help = "mirror: zap the range's leaves (the primary keeps its pages)" },
	{ .usage = "access GPA PAGES read|write", .run = step_access,
	  .help = "mirror: device read (checksummed) or rewrite of the range through the shadow table" },
	{ .usage = "access-start GPA PAGES read|write", .run = step_access_start,
	  .help = "mirror: a VMM thread repeats 'access' every millisecond until access-stop" },
	{ .usage = "access-stop", .run = step_access_stop,
	  .help = "mirror: end access-start's loop; prints its passes" },
	{ .usage = "dump [NAME|FILE.json]", .run = step_dump,
	  .checks_kvm_leaves = TRUE,
	  .help = "mirror: print the shadow table; keep it as NAME (before, after) for the report, or save it as JSON" },
	{ .usage = "events", .run = step_events, .checks_kvm_leaves = TRUE,
	  .help = "mirror: print the notifier timeline since the last 'events'" },
	{ .usage = "audit [kvm]", .run = step_audit, .parse = audit_parse,
	  .checks_kvm_leaves = TRUE,
	  .help = "check: every mirror leaf (kvm: every leaf of KVM's own MMU) agrees with the primary page tables, and KVM's with the mirror's" },
};

const struct spte_step_family spte_mirror_steps =
	SPTE_STEP_FAMILY("mirror", SPTE_STEP_MIRROR, verbs);
