// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "agent_client.h"
#include "agent_path.h"
#include "event_reader.h"
#include "kvm_leaf_tracker.h"
#include "kvm_trace.h"
#include "session.h"
#include "spte_error.h"

/*
 * The module's event ring, in records (96 bytes of kernel memory each).
 * The reader thread keeps it nearly empty: while ksmd merged 64 MiB of
 * guest RAM at 200x its default rate it never found more than a few
 * thousand records waiting (bench/README.md).  The ring is the reserve
 * for a reader that gets no CPU for a while, and what piles up then is a
 * daemon's pass over guest RAM, which logs per page (a KSM merge about 8
 * records a page).  So it grows with guest RAM: 4 records a page, half a
 * merge pass; never fewer than the 65536 (6 MiB) every guest had before,
 * never more than the module takes (2^20, 96 MiB, from 1 GiB of RAM on).
 */
#define SESSION_LOG_PER_PAGE 4
#define SESSION_LOG_MIN 65536
#define SESSION_LOG_MAX (1 << 20)	/* SPTE_LOG_MAX of the module */

struct kept {
	const struct spte_session_key *key;
	void *state;
};

void spte_named_dump_free(gpointer p)
{
	struct spte_named_dump *d = p;

	g_free(d->name);
	spte_mirror_table_free(d->table);
	spte_kvm_snapshot_free(d->kvm);
	g_free(d);
}

static void check_free(gpointer p)
{
	struct spte_check *c = p;

	g_free(c->name);
	g_free(c->detail);
	g_free(c);
}

gboolean spte_session_mirror_failed(GError **error, int err, const char *what)
{
	g_set_error(error, SPTE_ERROR,
		    err == -ENOENT ? SPTE_ERROR_NO_MODULE : SPTE_ERROR_FAILED,
		    "%s: %s", what, spte_mirror_strerror(err));
	return FALSE;
}

guint64 spte_session_log_records(guint64 ram_size)
{
	guint64 records = (ram_size >> 12) * SESSION_LOG_PER_PAGE;

	return CLAMP(records, SESSION_LOG_MIN, SESSION_LOG_MAX);
}

static gboolean open_mirror(struct spte_session *s, GError **error)
{
	guint64 records = spte_session_log_records(s->vm->ram.size);
	struct spte_mirror_version v;
	int err;

	err = spte_mirror_open(&s->mirror);
	if (err)
		return spte_session_mirror_failed(error, err, "the mirror");
	err = spte_mirror_version(s->mirror, &v);
	if (!err)
		s->callbacks = v.callbacks;
	/* only what happens to guest RAM: the VMM's own heap is noise */
	if (!err)
		err = spte_mirror_set_log(s->mirror, records,
					  SPTE_LOG_SLOTS_ONLY, NULL);
	if (!err)
		err = spte_mirror_add_slot(s->mirror, s->vm->ram.gpa,
					   s->vm->ram.hva, s->vm->ram.size, 0,
					   NULL);
	if (err)
		return spte_session_mirror_failed(error, err,
						  "registering guest RAM with the mirror");
	s->reader = spte_event_reader_start(s->mirror, error);
	return s->reader != NULL;
}

static gint64 now_ns(void)
{
	return g_get_monotonic_time() * 1000;
}

/*
 * Before KVM_CREATE_VM: the model starts as empty as the VM, and every
 * leaf the VM will have is installed by a traced event.
 */
static gboolean start_kvm_leaves(struct spte_session *s, guint64 ram_size,
				 enum spte_kvm_leaves_want want,
				 GError **error)
{
	g_autoptr(GError) err = NULL;

	if (want == SPTE_KVM_LEAVES_OFF ||
	    spte_kvm_leaf_tracker_start(&s->kvm_leaves, ram_size, &err))
		return TRUE;
	if (want == SPTE_KVM_LEAVES_REQUIRED) {
		g_propagate_prefixed_error(error, g_steal_pointer(&err),
					   "KVM's leaves cannot be tracked: ");
		return FALSE;
	}
	s->kvm_leaves_why = g_strdup(err->message);
	return TRUE;
}

gboolean spte_session_boot(struct spte_session *s,
			   const struct spte_mem_opts *mem, const char *guest,
			   gboolean mirror, enum spte_kvm_leaves_want want,
			   struct spte_boot_times *times, GError **error)
{
	g_autofree char *agent = NULL;
	guint64 entry;

	*s = (struct spte_session){
		.events = g_array_new(FALSE, TRUE,
				      sizeof(struct spte_mirror_event)),
		.dumps = g_ptr_array_new_with_free_func(spte_named_dump_free),
		.checks = g_ptr_array_new_with_free_func(check_free),
		.kept = g_ptr_array_new(),
		.ok = TRUE,
	};
	if (!guest) {
		agent = spte_find_agent(error);
		if (!agent)
			return FALSE;
	}
	if (!start_kvm_leaves(s, mem->size, want, error) ||
	    !spte_vm_create(&s->vm, mem, error))
		return FALSE;
	times->vm_ready = now_ns();
	if (mirror && !open_mirror(s, error))
		return FALSE;
	if (!spte_vm_load_image(s->vm, guest ? guest : agent, &entry, error))
		return FALSE;
	times->image_loaded = now_ns();
	if (!spte_vcpu_create(s->vm, 0, entry, &s->vcpu, error))
		return FALSE;
	times->vcpu_ready = now_ns();
	return spte_agent_wait_ready(s->vcpu, error);
}

void spte_session_close(struct spte_session *s)
{
	/* a family's state may use the mirror fd (the device loop does) */
	while (s->kept && s->kept->len) {
		struct kept *k = g_ptr_array_steal_index(s->kept,
							 s->kept->len - 1);

		k->key->free(k->state);
		g_free(k);
	}
	g_clear_pointer(&s->kept, g_ptr_array_unref);
	g_clear_pointer(&s->kvm_trace, spte_kvm_trace_stop);
	g_clear_pointer(&s->kvm_leaves, spte_kvm_leaf_tracker_stop);
	g_clear_pointer(&s->kvm_leaves_why, g_free);
	g_clear_pointer(&s->kvm_stats, spte_kvm_stats_free);
	/* the thread polls the mirror fd: gone before the fd is */
	g_clear_pointer(&s->reader, spte_event_reader_stop);
	g_clear_pointer(&s->mirror, spte_mirror_close);
	g_clear_pointer(&s->vcpu, spte_vcpu_destroy);
	g_clear_pointer(&s->vm, spte_vm_destroy);
	g_clear_pointer(&s->events, g_array_unref);
	g_clear_pointer(&s->dumps, g_ptr_array_unref);
	g_clear_pointer(&s->checks, g_ptr_array_unref);
}

static guint kept_index(struct spte_session *s,
			const struct spte_session_key *key)
{
	guint i;

	for (i = 0; i < s->kept->len; i++)
		if (((struct kept *)s->kept->pdata[i])->key == key)
			break;
	return i;
}

void spte_session_keep(struct spte_session *s,
		       const struct spte_session_key *key, void *state)
{
	struct kept *k = g_new(struct kept, 1);

	g_assert(kept_index(s, key) == s->kept->len);
	*k = (struct kept){ .key = key, .state = state };
	g_ptr_array_add(s->kept, k);
}

void *spte_session_kept(struct spte_session *s,
			const struct spte_session_key *key)
{
	guint i = kept_index(s, key);

	return i < s->kept->len ? ((struct kept *)s->kept->pdata[i])->state
				: NULL;
}

void *spte_session_take(struct spte_session *s,
			const struct spte_session_key *key)
{
	guint i = kept_index(s, key);
	struct kept *k;
	void *state;

	if (i == s->kept->len)
		return NULL;
	k = g_ptr_array_steal_index(s->kept, i);
	state = k->state;
	g_free(k);
	return state;
}

void spte_session_trace_kvm(struct spte_session *s)
{
	g_autoptr(GError) error = NULL;

	/* best effort: natively tracefs may be missing; the view says so */
	if (!s->kvm_trace && !spte_kvm_trace_start(&s->kvm_trace, &error))
		g_debug("no KVM tracepoints: %s", error->message);
}

enum spte_kvm_leaves_want spte_steps_want_kvm_leaves(GPtrArray *steps)
{
	enum spte_kvm_leaves_want want = SPTE_KVM_LEAVES_OFF;

	for (guint i = 0; i < steps->len; i++) {
		const struct spte_step *step = steps->pdata[i];

		if (step->needs_kvm_leaves)
			return SPTE_KVM_LEAVES_REQUIRED;
		if (step->verb->checks_kvm_leaves)
			want = SPTE_KVM_LEAVES_IF_AVAILABLE;
	}
	return want;
}

const struct spte_kvm_leaves *spte_session_kvm_leaves(struct spte_session *s,
							const struct spte_step *step,
							gboolean say,
							GString *line)
{
	g_autoptr(GString) verdict = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	enum spte_kvm_check c;

	if (!s->kvm_leaves)
		return NULL;
	/* the stats fd exists once the VM does */
	if (!s->kvm_stats && !spte_kvm_stats_open(s->vm->vm_fd, &s->kvm_stats,
						  &error))
		g_debug("no KVM stats to check the leaves against: %s",
			error->message);
	c = spte_kvm_leaf_tracker_check(s->kvm_leaves, s->kvm_stats, verdict);
	g_strchomp(verdict->str);
	s->kvm_self.checks++;
	switch (c) {
	case SPTE_KVM_CHECK_MATCH:
		s->kvm_self.matched++;
		if (say)
			g_string_append_printf(line, "\n  %s", verdict->str);
		break;
	case SPTE_KVM_CHECK_NO_STATS:
	case SPTE_KVM_CHECK_UNSTABLE:
		s->kvm_self.unverified++;
		g_string_append_printf(line, "\n  %s", verdict->str);
		break;
	case SPTE_KVM_CHECK_MISMATCH:
		s->kvm_self.mismatched++;
		g_string_append(line, "\n  ");
		spte_session_check(s, step, FALSE, line, "%s", verdict->str);
		break;
	case SPTE_KVM_CHECK_INCOMPLETE:
		s->kvm_self.incomplete++;
		if (say || !s->kvm_incomplete_said)
			g_string_append_printf(line, "\n  %s", verdict->str);
		s->kvm_incomplete_said = TRUE;
		break;
	}
	return spte_kvm_leaf_tracker_model(s->kvm_leaves);
}

const struct spte_kvm_leaves *spte_session_kvm_model(struct spte_session *s)
{
	return s->kvm_leaves ? spte_kvm_leaf_tracker_model(s->kvm_leaves) : NULL;
}

gboolean spte_session_kvm_leaves_for_check(struct spte_session *s,
					   const struct spte_step *step,
					   GString *line,
					   const struct spte_kvm_leaves **model,
					   GError **error)
{
	const char *why;

	*model = spte_session_kvm_model(s);
	if (!*model) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "KVM's leaves are not tracked%s%s",
			    s->kvm_leaves_why ? ": " : "",
			    s->kvm_leaves_why ? s->kvm_leaves_why : "");
		return FALSE;
	}
	if (spte_kvm_leaves_complete(*model, &why))
		return TRUE;
	*model = NULL;
	spte_session_check(s, step, FALSE, line, "no verdict: KVM view "
			   "incomplete: %s", why);
	return TRUE;
}

void spte_session_check(struct spte_session *s, const struct spte_step *step,
			gboolean passed, GString *line, const char *fmt, ...)
{
	struct spte_check *c = g_new0(struct spte_check, 1);
	va_list ap;

	va_start(ap, fmt);
	c->detail = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* no step: a check the session makes after the last one */
	c->name = g_strdup(step ? step->text : "(after the last step)");
	c->line = step ? step->index : 0;
	c->passed = passed;
	g_string_append_printf(line, "%s: %s", passed ? "ok" : "FAILED",
			       c->detail);
	g_ptr_array_add(s->checks, c);
	if (!passed)
		s->ok = FALSE;
}

gboolean spte_read_all_events(struct spte_mirror *m, GArray *into,
			      GError **error)
{
	struct spte_mirror_event ev[256];
	ssize_t n;

	/* a read returns what the module hands out at once: until empty */
	do {
		n = spte_mirror_read_events(m, ev, G_N_ELEMENTS(ev), 0);
		if (n < 0)
			return spte_session_mirror_failed(error, (int)n,
							  "reading events");
		g_array_append_vals(into, ev, n);
	} while (n > 0);
	return TRUE;
}

gboolean spte_session_drain_events(struct spte_session *s, GError **error)
{
	if (!s->mirror)
		return TRUE;
	if (s->reader)
		return spte_event_reader_drain(s->reader, s->events, error);
	return spte_read_all_events(s->mirror, s->events, error);
}

struct spte_mirror_table *spte_session_dump(struct spte_session *s,
					    GError **error)
{
	struct spte_mirror_table *t = NULL;
	int err = spte_mirror_dump(s->mirror, &t);

	if (err) {
		spte_session_mirror_failed(error, err, "SPTE_MIRROR_DUMP");
		return NULL;
	}
	return t;
}

const struct spte_mirror_table *spte_session_find_dump(struct spte_session *s,
							const char *name)
{
	for (guint i = 0; i < s->dumps->len; i++) {
		const struct spte_named_dump *d = s->dumps->pdata[i];

		if (g_str_equal(d->name, name))
			return d->table;
	}
	return NULL;
}

void *spte_session_hva(struct spte_session *s, guint64 gpa, guint64 pages,
		       GError **error)
{
	void *hva = NULL;

	if (gpa >= s->vm->ram.gpa && pages <= s->vm->ram.size >> 12 &&
	    gpa - s->vm->ram.gpa <= s->vm->ram.size - (pages << 12))
		hva = spte_vm_gpa_to_hva(s->vm, gpa, pages << 12);
	if (!hva)
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "gpa %#" G_GINT64_MODIFIER "x + %" G_GUINT64_FORMAT
			    " pages is outside guest RAM (%" G_GUINT64_FORMAT
			    " MiB at gpa 0)", gpa, pages,
			    s->vm->ram.size >> 20);
	return hva;
}

gboolean spte_session_run_step(struct spte_session *s,
			       const struct spte_step *step, GError **error)
{
	g_autoptr(GString) line = g_string_new(NULL);
	g_autoptr(GString) why = g_string_new(NULL);
	g_autoptr(GString) kvm_note = g_string_new(NULL);
	gint64 t = g_get_monotonic_time();

	if (step->needs_mirror && !s->mirror) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "step %u '%s' acts on the mirror: add --mirror",
			    step->index, step->text);
		return FALSE;
	}
	g_string_append_printf(line, "%-30s ", step->text);
	if (!spte_step_runs_on(step, spte_kernel_majmin(), why)) {
		printf("%sskipped: %s\n", line->str, why->str);
		fflush(stdout);
		return TRUE;
	}
	/* the model brought up to now, and checked, before the step looks */
	if (step->verb->checks_kvm_leaves)
		spte_session_kvm_leaves(s, step, FALSE, kvm_note);
	if (!step->verb->run(s, step, line, error)) {
		g_prefix_error(error, "step %u '%s': ", step->index,
			       step->text);
		return FALSE;
	}
	g_string_append(line, kvm_note->str);
	if (s->stats)
		g_string_append_printf(line, " [%.2f ms]",
				       (g_get_monotonic_time() - t) * 1e-3);
	printf("%s\n", line->str);
	fflush(stdout);
	return TRUE;
}
