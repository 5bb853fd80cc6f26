// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>

#include "dump_view.h"
#include "mirror_steps.h"
#include "spte_error.h"

static gboolean mirror_failed(GError **error, int err, const char *what)
{
	g_set_error(error, SPTE_ERROR,
		    err == -ENOENT ? SPTE_ERROR_NO_MODULE : SPTE_ERROR_FAILED,
		    "%s: %s", what, spte_mirror_strerror(err));
	return FALSE;
}

gboolean spte_mirror_session_open(struct spte_mirror_session *s,
				  struct spte_vm *vm, GError **error)
{
	struct spte_mirror_version v;
	int err;

	*s = (struct spte_mirror_session){ .vm = vm };
	err = spte_mirror_open(&s->mirror);
	if (err)
		return mirror_failed(error, err, "--mirror");
	err = spte_mirror_version(s->mirror, &v);
	if (!err)
		err = spte_mirror_add_slot(s->mirror, vm->ram.gpa, vm->ram.hva,
					   vm->ram.size, 0, NULL);
	if (err) {
		spte_mirror_session_close(s);
		return mirror_failed(error, err, "--mirror: registering guest RAM");
	}
	return TRUE;
}

void spte_mirror_session_close(struct spte_mirror_session *s)
{
	if (s->mirror)
		spte_mirror_close(s->mirror);
	s->mirror = NULL;
}

static gboolean step_map(struct spte_mirror_session *s,
			 const struct spte_step *step, GString *line,
			 GError **error)
{
	guint64 flags = step->mode == SPTE_MODE_WRITE ? SPTE_MAP_WRITE :
			step->mode == SPTE_MODE_SNAPSHOT ? SPTE_MAP_SNAPSHOT : 0;
	struct spte_mirror_map out;
	int err;

	err = spte_mirror_map(s->mirror, step->gpa, step->pages * 4096, flags,
			      &out);
	if (err)
		return mirror_failed(error, err, "SPTE_MIRROR_MAP");
	g_string_append_printf(line, "ok: %" "llu" " x 4K + %"
			       "llu" " x 2M leaves installed",
			       out.mapped_4k, out.mapped_2m);
	if (step->mode == SPTE_MODE_SNAPSHOT)
		g_string_append_printf(line, ", %" "llu" " pages not "
				       "mapped in the primary", out.skipped);
	if (out.retries)
		g_string_append_printf(line, ", %" "llu"
				       " invalidate retries", out.retries);
	return TRUE;
}

/*
 * A device read returns the bytes the mirror's leaves point at; a device
 * write stores back what it read, so it dirties (and un-shares) pages
 * without changing the guest's data.
 */
static gboolean step_access(struct spte_mirror_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error)
{
	guint64 size = step->pages * 4096;
	g_autofree guint64 *buf = g_try_malloc(size);
	struct spte_mirror_access out;
	unsigned long long faults;
	int err;

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
	g_string_append_printf(line, "ok: device %s %" "llu" " pages "
			       "through the mirror, fnv1a64 %#018"
			       "llx, %" "llu"
			       " leaves faulted in",
			       step->mode == SPTE_MODE_WRITE ? "rewrote" : "read",
			       (unsigned long long)step->pages,
			       (unsigned long long)spte_fnv1a64_words(buf, size / 8),
			       faults);
	return TRUE;
}

static gboolean step_dump(struct spte_mirror_session *s,
			  const struct spte_step *step, GString *line,
			  GError **error)
{
	struct spte_mirror_table *t = NULL;
	int err = spte_mirror_dump(s->mirror, &t);

	if (err)
		return mirror_failed(error, err, "SPTE_MIRROR_DUMP");
	if (step->file) {
		g_autoptr(JsonNode) node = spte_dump_to_json(t);
		g_autofree char *json = json_to_string(node, TRUE);

		if (!g_file_set_contents(step->file, json, -1, error)) {
			spte_mirror_table_free(t);
			return FALSE;
		}
		g_string_append_printf(line, "saved as %s", step->file);
	}
	g_string_append_c(line, '\n');
	spte_dump_format_text(t, line);
	g_string_truncate(line, line->len - 1);	/* printed with a newline */
	spte_mirror_table_free(t);
	return TRUE;
}

static gboolean step_events(struct spte_mirror_session *s, GString *line,
			    GError **error)
{
	struct spte_mirror_event ev[64];
	size_t total = 0;
	ssize_t n;

	do {
		n = spte_mirror_read_events(s->mirror, ev, G_N_ELEMENTS(ev), 0);
		if (n < 0)
			return mirror_failed(error, (int)n, "reading events");
		for (ssize_t i = 0; i < n; i++) {
			char buf[320];

			g_string_append_printf(line, "\n  %s",
					       spte_mirror_event_format(&ev[i], buf,
									sizeof(buf)));
		}
		total += n;
	} while (n == G_N_ELEMENTS(ev));
	if (!total)
		g_string_append(line, "no events since the last 'events'");
	return TRUE;
}

static gboolean step_audit(struct spte_mirror_session *s, GString *line,
			   gboolean *ok, GError **error)
{
	struct spte_mirror_audit a;
	unsigned long long bad;
	int err = spte_mirror_audit(s->mirror, &a);

	if (err)
		return mirror_failed(error, err, "SPTE_MIRROR_AUDIT");
	bad = a.stale_pfn + a.stale_unmapped + a.write_violations +
	      a.level_violations;
	g_string_append_printf(line, "%s: %" "llu" " leaves (%"
			       "llu" " pages) checked against the "
			       "primary page tables",
			       bad ? "FAILED" : "ok", a.leaves, a.pages);
	if (!bad)
		return TRUE;
	*ok = FALSE;
	g_string_append_printf(line, ": %" "llu" " stale PFN, %"
			       "llu" " mapped where the primary is "
			       "not, %" "llu" " writable where the "
			       "primary is read-only, %" "llu"
			       " larger than the primary mapping",
			       a.stale_pfn, a.stale_unmapped, a.write_violations,
			       a.level_violations);
	for (guint64 i = 0; i < a.nr_reports && i < SPTE_AUDIT_MAX_REPORTS; i++)
		g_string_append_printf(line, "\n  gpa %#" "llx "
				       "%s: entry %#018" "llx, "
				       "primary pfn %#" "llx",
				       a.reports[i].gpa,
				       spte_mirror_audit_kind_name(a.reports[i].kind),
				       a.reports[i].entry, a.reports[i].primary_pfn);
	return TRUE;
}

gboolean spte_mirror_run_step(struct spte_mirror_session *s,
			      const struct spte_step *step, gboolean *ok,
			      GError **error)
{
	g_autoptr(GString) line = g_string_new(NULL);
	gboolean done;

	g_string_append_printf(line, "%-30s ", step->text);
	if (g_str_equal(step->verb, "map"))
		done = step_map(s, step, line, error);
	else if (g_str_equal(step->verb, "access"))
		done = step_access(s, step, line, error);
	else if (g_str_equal(step->verb, "dump"))
		done = step_dump(s, step, line, error);
	else if (g_str_equal(step->verb, "events"))
		done = step_events(s, line, error);
	else
		done = step_audit(s, line, ok, error);
	if (!done) {
		g_prefix_error(error, "step %u '%s': ", step->index, step->text);
		return FALSE;
	}
	printf("%s\n", line->str);
	fflush(stdout);
	return TRUE;
}
