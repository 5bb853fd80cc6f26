// SPDX-License-Identifier: GPL-2.0
/*
 * Folding (inspect/fold.h): periods found in plain records, then in the
 * notifier timeline, KVM's tracepoint list and spte compare, where a
 * record that breaks the pattern, a DROPPED marker or a gap in seq must
 * never disappear into a fold.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "fold.h"
#include "kvm_trace.h"
#include "timeline.h"
#include "spte-test.h"
#include "spte-test-events.h"
#include "spte_error.h"

/* ---- the algorithm, on records of a kind and an address ---- */

struct rec {
	char kind;		/* '!' may not join its predecessor */
	gint64 addr;
};

static gboolean rec_same(gconstpointer data, guint a, guint b, gint64 *delta)
{
	const struct rec *r = data;

	if (r[a].kind != r[b].kind || r[a].kind == '!')
		return FALSE;
	*delta = r[b].addr - r[a].addr;
	return TRUE;
}

static gboolean rec_joins(gconstpointer data, guint i)
{
	const struct rec *r = data;

	return r[i].kind != '!' && r[i - 1].kind != '!';
}

static gint64 rec_addr(gconstpointer data, guint i)
{
	return ((const struct rec *)data)[i].addr;
}

static const struct spte_fold_ops rec_ops = {
	.same = rec_same,
	.joins = rec_joins,
	.addr = rec_addr,
};

/* The folds as text: "3x4@0+1000" for a fold, "." per record alone. */
static char *fold_text(const struct rec *r, guint n)
{
	g_autoptr(GArray) folds = spte_fold_find(n, &rec_ops, r);
	GString *out = g_string_new(NULL);
	guint next = 0;

	for (guint k = 0; k < folds->len; k++) {
		const struct spte_fold *f = &g_array_index(folds,
							   struct spte_fold, k);

		/* in order, covering every record once */
		g_assert_cmpuint(f->first, ==, next);
		next += f->period * f->count;
		if (f->count == 1) {
			g_assert_cmpuint(f->period, ==, 1);
			g_string_append_c(out, '.');
			continue;
		}
		g_string_append_printf(out, "%ux%u@%" G_GINT64_MODIFIER "x%+"
				       G_GINT64_MODIFIER "d ", f->period,
				       f->count, r[f->first].addr, f->stride);
	}
	g_assert_cmpuint(next, ==, n);
	g_test_message("%s", out->str);
	return g_string_free(out, FALSE);
}

/* @pattern (kinds) once per page from @addr, @pages times. */
static guint add_pages(struct rec *r, guint n, const char *pattern,
		       gint64 addr, gint64 step, guint pages)
{
	for (guint p = 0; p < pages; p++)
		for (const char *c = pattern; *c; c++)
			r[n++] = (struct rec){ *c, addr + p * step };
	return n;
}

static void test_periods(void)
{
	struct rec r[256];
	g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	guint n;

	/* one record per page, then a block of three per page */
	n = add_pages(r, 0, "y", 0x1000, 0x1000, 10);
	n = add_pages(r, n, "sce", 0x20000, 0x1000, 8);
	a = fold_text(r, n);
	g_assert_cmpstr(a, ==, "1x10@1000+4096 3x8@20000+4096 ");

	/* two alike are not a pattern */
	n = add_pages(r, 0, "y", 0, 0x1000, 2);
	b = fold_text(r, n);
	g_assert_cmpstr(b, ==, "..");

	/* a stride of 0 (the same page again) and a falling one */
	n = add_pages(r, 0, "ab", 0x5000, 0, 4);
	n = add_pages(r, n, "c", 0x9000, -0x1000, 5);
	c = fold_text(r, n);
	g_assert_cmpstr(c, ==, "2x4@5000+0 1x5@9000-4096 ");

	/* the longest period folded */
	n = 0;
	for (guint p = 0; p < 4; p++)
		for (guint j = 0; j < SPTE_FOLD_MAX_PERIOD; j++)
			r[n++] = (struct rec){ (char)('A' + j), p * 0x1000 };
	d = fold_text(r, n);
	g_assert_cmpstr(d, ==, "32x4@0+4096 ");
}

/*
 * KSM on 6.1: the page that becomes the KSM page (0x1000) has one merge
 * step, page 0 two, then every page from 0x2000 two.  Page 0's block is
 * like the others but 0x2000 away from the next: it must print in full,
 * not start a fold of its own.
 */
static void test_first_pages_apart(void)
{
	struct rec r[300];
	g_autofree char *text = NULL;
	guint n = 0;

	n = add_pages(r, n, "sceE", 0x1000, 0, 1);
	n = add_pages(r, n, "sceEScEe", 0x0, 0, 1);
	n = add_pages(r, n, "sceEScEe", 0x2000, 0x1000, 30);
	text = fold_text(r, n);
	g_assert_cmpstr(text, ==, "............8x30@2000+4096 ");
}

static void test_broken_pattern(void)
{
	struct rec r[300];
	g_autofree char *text = NULL, *dropped = NULL;
	guint n = 0;

	/* page 0x9000 of 20 breaks the pattern: its block is printed */
	n = add_pages(r, n, "sce", 0, 0x1000, 9);
	n = add_pages(r, n, "sXe", 0x9000, 0x1000, 1);
	n = add_pages(r, n, "sce", 0xa000, 0x1000, 10);
	text = fold_text(r, n);
	g_assert_cmpstr(text, ==, "3x9@0+4096 ...3x10@a000+4096 ");

	/* a lost-records marker: nothing folds across it */
	n = add_pages(r, 0, "sce", 0, 0x1000, 5);
	r[n++] = (struct rec){ '!', 0 };
	n = add_pages(r, n, "sce", 0x5000, 0x1000, 5);
	dropped = fold_text(r, n);
	g_assert_cmpstr(dropped, ==, "3x5@0+4096 .3x5@5000+4096 ");
}

/* 131072 records, what a 64 MiB KSM merge logs, fold in one go. */
static void test_long_log(void)
{
	guint n = 16384 * 8;
	g_autofree struct rec *r = g_new(struct rec, n);
	g_autoptr(GArray) folds = NULL;
	gint64 t0 = g_get_monotonic_time();

	add_pages(r, 0, "sceEScEe", 0, 0x1000, 16384);
	folds = spte_fold_find(n, &rec_ops, r);
	g_test_message("%u records folded in %.3f s", n,
		       (g_get_monotonic_time() - t0) / 1e6);
	g_assert_cmpuint(folds->len, ==, 1);
	g_assert_cmpuint(g_array_index(folds, struct spte_fold, 0).period, ==,
			 8);
	g_assert_cmpuint(g_array_index(folds, struct spte_fold, 0).count, ==,
			 16384);
}

static void test_range_text(void)
{
	struct spte_fold f = { 0, 8, 32, 0x1000 };
	g_autoptr(GString) out = g_string_new(NULL);

	spte_fold_append_range(out, "gpa", 0, &f);
	g_assert_cmpstr(out->str, ==, "\u00d732 gpa 0x0-0x1f000 step 0x1000");
	g_string_truncate(out, 0);
	f = (struct spte_fold){ 0, 1, 3, 0 };
	spte_fold_append_range(out, "hva", 0x7f0000001000ULL, &f);
	g_assert_cmpstr(out->str, ==, "\u00d73 hva 0x7f0000001000 step 0x0");
	g_string_truncate(out, 0);
	f = (struct spte_fold){ 0, 2, 4, -0x2000 };
	spte_fold_append_range(out, "gpa", 0x8000, &f);
	g_assert_cmpstr(out->str, ==, "\u00d74 gpa 0x8000-0x2000 step -0x2000");
}

/* ---- the timeline ---- */


static struct spte_mirror_event ev_new(guint64 seq, guint32 cb, guint64 gpa)
{
	return (struct spte_mirror_event){
		.seq = seq, .time_ns = T0 + seq * 1000, .callback = cb,
		.event = cb <= SPTE_CB_INVALIDATE_RANGE_END ? SPTE_EV_CLEAR :
			 SPTE_EV_NONE,
		.flags = SPTE_EVF_IN_SLOT |
			 (cb <= SPTE_CB_INVALIDATE_RANGE_END ?
			  SPTE_EVF_BLOCKABLE : 0),
		.hva_start = HVA0 + gpa, .hva_end = HVA0 + gpa + 0x1000,
		.gpa_start = gpa, .gpa_end = gpa + 0x1000,
		.old_pfn = SPTE_MIRROR_NONE, .new_pfn = SPTE_MIRROR_NONE,
	};
}

/*
 * One KSM merge step of 6.1 on page @gpa: start (zapping @leaves),
 * change_pte to @pfn, invalidate_secondary, end.
 */
static guint ksm_step(struct spte_mirror_event *ev, guint n, guint64 gpa,
		      guint64 leaves, guint64 pfn)
{
	guint64 seq = n + 1;

	ev[n] = ev_new(seq++, SPTE_CB_INVALIDATE_RANGE_START, gpa);
	ev[n].leaves = leaves;
	ev[n++].old_pfn = leaves ? 0x5000 + (gpa >> 12) : SPTE_MIRROR_NONE;
	ev[n] = ev_new(seq++, SPTE_CB_CHANGE_PTE, gpa);
	ev[n++].new_pfn = pfn;
	ev[n++] = ev_new(seq++, SPTE_CB_INVALIDATE_SECONDARY, gpa);
	ev[n++] = ev_new(seq++, SPTE_CB_INVALIDATE_RANGE_END, gpa);
	return n;
}

/* ksm-merge on 6.1: 252 records */
static guint ksm_log(struct spte_mirror_event *ev)
{
	guint n = ksm_step(ev, 0, 0x1000, 1, 0x5001);

	n = ksm_step(ev, n, 0, 1, 0x5000);
	n = ksm_step(ev, n, 0, 0, 0x5001);
	for (guint64 gpa = 0x2000; gpa < 0x20000; gpa += 0x1000) {
		n = ksm_step(ev, n, gpa, 1, 0x5000 + (gpa >> 12));
		n = ksm_step(ev, n, gpa, 0, 0x5001);
	}
	return n;
}

static void test_timeline_ksm(void)
{
	struct spte_mirror_event ev[300];
	guint n = ksm_log(ev);
	g_autofree char *text = spte_test_timeline(ev, n, NULL);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	g_assert_cmpuint(n, ==, 252);
	/* 4 + 8 records of the first two pages, a fold of 30 pages */
	g_assert_cmpuint(g_strv_length(lines), ==, 4 + 8 + 1 + 8 + 1);
	spte_assert_contains(lines[0], "#1      invalidate_range_start CLEAR  "
			     "gpa 0x1000-0x1fff (1 page)  zapped 1 leaf, first "
			     "pfn 0x5001");
	spte_assert_contains(lines[12], "#13-252 \u00d730 gpa 0x2000-0x1f000 "
			     "step 0x1000, 8 records each  [0.239 ms]");
	/* the first block's records, what differs between pages said */
	spte_assert_contains(lines[13], "#13       invalidate_range_start CLEAR"
			     "  gpa 0x2000-0x2fff (1 page)  zapped 1 leaf, first "
			     "pfn 0x5002-0x501f (30 distinct)");
	spte_assert_contains(lines[14], "#14       |   change_pte  gpa "
			     "0x2000-0x2fff (1 page)  pfn none -> 0x5002-0x501f "
			     "(30 distinct)");
	spte_assert_contains(lines[16], "#16       invalidate_range_end CLEAR  "
			     "gpa 0x2000-0x2fff (1 page)  closes #13 after 0.003 "
			     "ms");
	spte_assert_contains(lines[18], "#18       |   change_pte  gpa "
			     "0x2000-0x2fff (1 page)  pfn none -> 0x5001  (leaf "
			     "already zapped by the start)");
	/* a block row has no time of its own */
	g_assert_true(g_str_has_prefix(lines[13], "              "));
}

static void test_timeline_broken(void)
{
	struct spte_mirror_event ev[300];
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	guint n = 0;

	/* 20 pages, but page 0x9000 was not mapped: its start zaps nothing */
	for (guint64 gpa = 0; gpa < 0x14000; gpa += 0x1000)
		n = ksm_step(ev, n, gpa, gpa != 0x9000, 0x6000);
	text = spte_test_timeline(ev, n, NULL);
	lines = g_strsplit(text, "\n", -1);
	spte_assert_contains(lines[0], "#1-36  \u00d79 gpa 0x0-0x8000 step "
			     "0x1000, 4 records each");
	spte_assert_contains(lines[5], "#37    invalidate_range_start CLEAR  "
			     "gpa 0x9000-0x9fff (1 page)  nothing mapped");
	spte_assert_contains(lines[6], "#38    |   change_pte  gpa 0x9000");
	spte_assert_contains(lines[7], "#39    |   invalidate_secondary  gpa "
			     "0x9000");
	spte_assert_contains(lines[8], "#40    invalidate_range_end CLEAR  gpa "
			     "0x9000");
	spte_assert_contains(lines[9], "#41-80 \u00d710 gpa 0xa000-0x13000 step "
			     "0x1000, 4 records each");
	g_assert_cmpuint(g_strv_length(lines), ==, 5 + 4 + 5 + 1);
}

static void test_timeline_dropped(void)
{
	struct spte_mirror_event ev[300];
	g_autofree char *text = NULL, *gap_text = NULL;
	g_auto(GStrv) lines = NULL;
	guint n = 0, m;

	for (guint64 gpa = 0; gpa < 0x5000; gpa += 0x1000)
		n = ksm_step(ev, n, gpa, 1, 0x6000);
	/* the ring overflowed: records #21-30 lost, the marker is #30 */
	ev[n] = ev_new(30, SPTE_CB_DROPPED, 0);
	ev[n].gpa_start = ev[n].gpa_end = SPTE_MIRROR_NONE;
	ev[n].hva_start = ev[n].hva_end = 0;
	ev[n].flags = 0;
	ev[n++].leaves = 10;
	m = n;
	for (guint64 gpa = 0x5000; gpa < 0xa000; gpa += 0x1000) {
		n = ksm_step(ev, n, gpa, 1, 0x6000);
		for (guint k = n - 4; k < n; k++)
			ev[k].seq += 9;
	}
	text = spte_test_timeline(ev, n, NULL);
	lines = g_strsplit(text, "\n", -1);
	spte_assert_contains(lines[0], "#1-20  \u00d75 gpa 0x0-0x4000 step 0x1000");
	spte_assert_contains(lines[5], "#30    !!!!! DROPPED 10 records (#21-30)");
	spte_assert_contains(lines[6], "#31-50 \u00d75 gpa 0x5000-0x9000 step "
			     "0x1000");
	g_assert_cmpuint(g_strv_length(lines), ==, 5 + 1 + 5 + 1);

	/* the same without a marker: a seq gap, no fold across it */
	memmove(&ev[m - 1], &ev[m], (n - m) * sizeof(ev[0]));
	gap_text = spte_test_timeline(ev, n - 1, NULL);
	spte_assert_contains(gap_text, "!!!!! seq gap: #21-30 (10 records) are "
			     "not in this log !!!!!");
	spte_assert_contains(gap_text, "#1-20  \u00d75 gpa 0x0-0x4000");
	spte_assert_contains(gap_text, "#31-50 \u00d75 gpa 0x5000-0x9000");
}

/* What a filter keeps folds; the young bits of a run are counted. */
static void test_timeline_filtered(void)
{
	struct spte_mirror_event ev[300];
	struct spte_timeline_filter f = {
		.callbacks = 1ULL << SPTE_CB_CHANGE_PTE,
	};
	guint n = ksm_log(ev);
	g_autofree char *text = spte_test_timeline(ev, n, &f);

	spte_assert_contains(text, "#14-250 |   \u00d730 gpa 0x2000-0x1f000 step "
			     "0x1000, 2 records each");
	g_assert_null(strstr(text, "invalidate_range_start"));
}

/* ---- KVM's tracepoints ---- */

static struct spte_kvm_trace_rec *kvm_rec(const char *event, guint64 gpa,
					  guint64 ts)
{
	struct spte_kvm_trace_rec *r = g_new0(struct spte_kvm_trace_rec, 1);

	r->event = g_strdup(event);
	r->comm = g_strdup("ksmd");
	r->pid = 35;
	r->ts_us = ts;
	r->hva_start = HVA0 + gpa;
	r->hva_end = HVA0 + gpa + 0x1000;
	spte_kvm_trace_set_gpa(r, HVA0, 0x400000, 0);
	return r;
}

/* 6.1's KVM under ksm-merge: unmap, set_spte, twice per page. */
static GPtrArray *kvm_log(void)
{
	GPtrArray *recs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)spte_kvm_trace_rec_free);
	guint64 ts = 23000000;

	g_ptr_array_add(recs, kvm_rec("kvm_unmap_hva_range", 0x1000, ts++));
	g_ptr_array_add(recs, kvm_rec("kvm_set_spte_hva", 0x1000, ts++));
	for (guint64 gpa = 0; gpa < 0x20000; gpa += 0x1000) {
		if (gpa == 0x1000)
			continue;
		for (guint k = 0; k < 2; k++) {
			g_ptr_array_add(recs, kvm_rec("kvm_unmap_hva_range",
						      gpa, ts++));
			g_ptr_array_add(recs, kvm_rec("kvm_set_spte_hva", gpa,
						      ts++));
		}
	}
	return recs;
}

static char *rows_text(GPtrArray *rows)
{
	GString *out = g_string_new(NULL);

	spte_rows_format(rows, "", out);
	g_test_message("\n%s", out->str);
	return g_string_free(out, FALSE);
}

static void test_kvm_rows(void)
{
	g_autoptr(GPtrArray) recs = kvm_log();
	g_autoptr(GPtrArray) rows = spte_kvm_trace_rows(recs, FALSE);
	g_autoptr(GPtrArray) brief = spte_kvm_trace_rows(recs, TRUE);
	g_autofree char *text = rows_text(rows), *btext = rows_text(brief);
	g_autoptr(JsonNode) json = spte_kvm_trace_to_json(recs);
	g_autoptr(GPtrArray) back = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	g_assert_cmpuint(recs->len, ==, 126);
	/* 2 + 4 records of the first pages, then 30 pages folded */
	g_assert_cmpuint(rows->len, ==, 2 + 4 + 1 + 4);
	spte_assert_contains(lines[0], "23.000000  ksmd-35 kvm_unmap_hva_range "
			     "hva 0x7f0000001000-0x7f0000001fff, here gpa "
			     "0x1000-0x1fff");
	spte_assert_contains(lines[6], "23.000006  \u00d730 gpa 0x2000-0x1f000 "
			     "step 0x1000, 4 records each");
	spte_assert_contains(lines[7], "ksmd-35 kvm_unmap_hva_range hva "
			     "0x7f0000002000-0x7f0000002fff, here gpa 0x2000");
	spte_assert_contains(btext, "ksmd kvm_set_spte_hva gpa 0x0-0xfff\n");
	g_assert_null(strstr(btext, "hva 0x"));

	/* a JSON round trip keeps every field */
	g_assert_true(spte_kvm_trace_from_json(json, &back, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(back->len, ==, recs->len);
	for (guint i = 0; i < recs->len; i++) {
		const struct spte_kvm_trace_rec *a = recs->pdata[i];
		const struct spte_kvm_trace_rec *b = back->pdata[i];

		g_assert_cmpstr(a->event, ==, b->event);
		g_assert_cmpstr(a->comm, ==, b->comm);
		g_assert_cmpint(a->pid, ==, b->pid);
		g_assert_cmpuint(a->ts_us, ==, b->ts_us);
		g_assert_cmphex(a->hva_start, ==, b->hva_start);
		g_assert_cmphex(a->hva_end, ==, b->hva_end);
		g_assert_cmphex(a->gpa_start, ==, b->gpa_start);
		g_assert_cmphex(a->gpa_end, ==, b->gpa_end);
	}
	g_clear_pointer(&back, g_ptr_array_unref);

	/* a record that is no object is named, with what it is instead */
	json_array_add_string_element(json_node_get_array(json), "ksmd");
	g_assert_false(spte_kvm_trace_from_json(json, &back, &error));
	g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
	g_assert_cmpstr(error->message, ==, "kvm_trace[126]: expected a "
			"tracepoint record object, not a string");
}

static char *write_report(const char *dir, const char *name,
			  const char *kernel, gboolean passed,
			  const struct spte_mirror_event *ev, guint n,
			  GPtrArray *kvm)
{
	g_autoptr(JsonNode) events = spte_events_to_json(ev, n);
	g_autoptr(JsonNode) trace = spte_kvm_trace_to_json(kvm);
	g_autofree char *ev_text = json_to_string(events, FALSE);
	g_autofree char *kvm_text = json_to_string(trace, FALSE);
	g_autofree char *text = g_strdup_printf(
		"{\"scenario\": \"ksm-merge\", \"summary\": \"32 pages merge\", "
		"\"kernel\": \"%s\", \"passed\": %s, \"checks\": [{\"name\": "
		"\"audit\", \"line\": 1, \"passed\": %s, \"detail\": \"\"}], "
		"\"events\": %s, \"kvm_trace\": %s, \"dumps\": {}}", kernel,
		passed ? "true" : "false", passed ? "true" : "false", ev_text,
		kvm_text);
	return spte_test_file(dir, name, text);
}

/* spte events prints a report's KVM side after the timeline, folded. */
static void test_events_kvm(void)
{
	g_autofree char *dir = g_dir_make_tmp("spte-events-kvm-XXXXXX", NULL);
	struct spte_mirror_event ev[300];
	g_autoptr(GPtrArray) kvm = kvm_log();
	g_autofree char *report = write_report(dir, "r.json", "6.1.0-57-amd64",
					       TRUE, ev, ksm_log(ev), kvm);
	struct spte_test_run r;

	spte_test_run(&r, "events", report, NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "#13-252 \u00d730 gpa 0x2000-0x1f000 step "
			     "0x1000, 8 records each");
	spte_assert_contains(r.out, "kvm tracepoints: 126 of 126 records\n");
	spte_assert_contains(r.out, "\u00d730 gpa 0x2000-0x1f000 step 0x1000, 4 "
			     "records each");
	spte_test_run_clear(&r);
	/* --gpa keeps KVM's records of that range, --callback none */
	spte_test_run(&r, "events", "--gpa", "0x1000", report, NULL);
	spte_assert_contains(r.out, "kvm tracepoints: 2 of 126 records\n");
	spte_test_run_clear(&r);
	spte_test_run(&r, "events", "--callback", "change_pte", report, NULL);
	g_assert_null(strstr(r.out, "kvm tracepoints"));
	spte_test_run_clear(&r);
	g_unlink(report);
	g_rmdir(dir);
}

/*
 * Outside guest memory only the HVA places a record, and another run's
 * HVAs mean nothing: a brief fold says neither, nor keys on it.
 */
static void test_brief_outside(void)
{
	g_autoptr(GPtrArray) recs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)spte_kvm_trace_rec_free);
	g_autoptr(GPtrArray) rows = NULL, brief = NULL, tl_rows = NULL;
	g_autofree char *text = NULL, *btext = NULL, *tl_text = NULL;
	struct spte_mirror_event ev[3];

	for (guint k = 0; k < 3; k++) {
		struct spte_kvm_trace_rec *r = kvm_rec("kvm_unmap_hva_range",
						       0, k);

		g_free(r->comm);
		r->comm = g_strdup("spte");
		r->hva_start = 0x5555000000ULL + k * 0x20000;
		r->hva_end = r->hva_start + 0x1000;
		spte_kvm_trace_set_gpa(r, HVA0, 0x400000, 0);
		g_ptr_array_add(recs, r);
		ev[k] = ev_new(k + 1, SPTE_CB_INVALIDATE_SECONDARY, 0);
		ev[k].gpa_start = ev[k].gpa_end = SPTE_MIRROR_NONE;
		ev[k].hva_start = 0x5555000000ULL + k * 0x20000;
		ev[k].hva_end = ev[k].hva_start + 0x1000;
	}
	rows = spte_kvm_trace_rows(recs, FALSE);
	brief = spte_kvm_trace_rows(recs, TRUE);
	text = rows_text(rows);
	btext = rows_text(brief);
	spte_assert_contains(text, "spte-35 kvm_unmap_hva_range \u00d73 hva "
			     "0x5555000000-0x5555040000 step 0x20000");
	spte_assert_contains(btext, "spte kvm_unmap_hva_range \u00d73 outside "
			     "guest memory\n");
	g_assert_null(strstr(((struct spte_row *)brief->pdata[0])->key,
			     "5555"));
	tl_rows = spte_timeline_rows(ev, 3, T0, NULL, TRUE);
	tl_text = rows_text(tl_rows);
	spte_assert_contains(tl_text, "#1-3 invalidate_secondary \u00d73 outside "
			     "slots\n");
	g_assert_null(strstr(tl_text, "0x5555"));
}

/* ---- spte compare on saved reports ---- */

/* 6.12: the same log without change_pte, nor KVM's kvm_set_spte_hva. */
static guint drop_change_pte(struct spte_mirror_event *ev, guint n)
{
	guint m = 0;

	for (guint i = 0; i < n; i++)
		if (ev[i].callback != SPTE_CB_CHANGE_PTE) {
			ev[m] = ev[i];
			ev[m].seq = m + 1;
			m++;
		}
	return m;
}

static void test_compare_reports(void)
{
	g_autofree char *dir = g_dir_make_tmp("spte-compare-XXXXXX", NULL);
	struct spte_mirror_event ev[300];
	g_autoptr(GPtrArray) kvm = kvm_log();
	g_autoptr(GPtrArray) kvm_new = g_ptr_array_new();
	g_autofree char *old = NULL, *new = NULL, *bad = NULL, *json = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_auto(GStrv) lines = NULL;
	struct spte_test_run r;
	JsonObject *o;
	JsonArray *cols;
	guint n = ksm_log(ev);
	const char *l;

	old = write_report(dir, "old.json", "6.1.0-57-amd64", TRUE, ev, n, kvm);
	for (guint i = 0; i < kvm->len; i++)
		if (strcmp(((struct spte_kvm_trace_rec *)kvm->pdata[i])->event,
			   "kvm_set_spte_hva"))
			g_ptr_array_add(kvm_new, kvm->pdata[i]);
	n = drop_change_pte(ev, n);
	new = write_report(dir, "new.json", "6.12.57+deb12-amd64", TRUE, ev, n,
			   kvm_new);
	json = g_build_filename(dir, "cmp.json", NULL);

	spte_test_run(&r, "compare", "--report", old, "--report", new,
		      "--json", json, NULL);
	g_assert_cmpint(r.status, ==, 0);
	lines = g_strsplit(r.out, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), <, 80);
	/* change_pte in the first column only, beside nothing */
	l = spte_test_line(lines, "#14       |   change_pte gpa 0x2000-0x2fff");
	g_assert_true(g_str_has_suffix(l, "\u2502"));
	l = spte_test_line(lines, "\u00d730 gpa 0x2000-0x1f000 step 0x1000, 8 each");
	spte_assert_contains(l, "\u2502 #10-189 \u00d730 gpa 0x2000-0x1f000 step "
			     "0x1000, 6 each");
	l = spte_test_line(lines, "#3      |   invalidate_secondary gpa 0x1000");
	spte_assert_contains(l, "\u2502 #2      |   invalidate_secondary gpa 0x1000");
	/* the counts right-aligned under the widest kernel name */
	spte_assert_contains(r.out, "  change_pte                                "
			     "63                   0   only on 6.1.0-57-amd64");
	spte_assert_contains(r.out, "invalidate_secondary 6.12.57+deb12-amd64  "
			     "63 of 63 inside; 63 after invalidate_range_start, "
			     "before invalidate_range_end");
	spte_assert_contains(r.out, "kvm_set_spte_hva");
	spte_assert_contains(r.out, "verdict: 6.1.0-57-amd64 PASS, "
			     "6.12.57+deb12-amd64 PASS");
	spte_test_run_clear(&r);

	g_assert_true(json_parser_load_from_file(parser, json, NULL));
	o = json_node_get_object(json_parser_get_root(parser));
	cols = json_object_get_array_member(o, "columns");
	g_assert_cmpuint(json_array_get_length(cols), ==, 2);
	g_assert_cmpstr(json_object_get_string_member(
		json_array_get_object_element(cols, 1), "kernel"), ==,
		"6.12.57+deb12-amd64");
	g_assert_true(json_object_has_member(json_object_get_object_member(o,
				"only_on"), "change_pte"));
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o,
				"events")), <, 40);

	/* a failed run fails the comparison */
	bad = write_report(dir, "bad.json", "6.12.57+deb12-amd64", FALSE, ev, n,
			   kvm_new);
	spte_test_run(&r, "compare", "--report", old, "--report", bad, NULL);
	g_assert_cmpint(r.status, ==, 1);
	spte_assert_contains(r.out, "FAIL (1 of 1 checks failed)");
	spte_test_run_clear(&r);

	spte_test_run(&r, "compare", NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_test_run_clear(&r);
	spte_test_run(&r, "compare", "--report", old, "ksm-merge", NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_test_run_clear(&r);

	g_unlink(old);
	g_unlink(new);
	g_unlink(bad);
	g_unlink(json);
	g_rmdir(dir);
}

/* Named errors for what the lab cannot run, before any VM boots. */
static void test_compare_usage(void)
{
	struct spte_test_run r;

	spte_test_run(&r, "compare", "ksm-merge", "--kernels", "6.1,9.9", NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_assert_contains(r.err, "--kernels: unknown lab kernel '9.9' "
			     "(lab/kernels has 6.1, 6.12");
	spte_test_run_clear(&r);
	spte_test_run(&r, "compare", "no-such-scenario", NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_assert_contains(r.err, "no scenario 'no-such-scenario'");
	spte_test_run_clear(&r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fold/periods", test_periods);
	g_test_add_func("/fold/first-pages-apart", test_first_pages_apart);
	g_test_add_func("/fold/broken-pattern", test_broken_pattern);
	g_test_add_func("/fold/long-log", test_long_log);
	g_test_add_func("/fold/range-text", test_range_text);
	g_test_add_func("/fold/timeline/ksm", test_timeline_ksm);
	g_test_add_func("/fold/timeline/broken", test_timeline_broken);
	g_test_add_func("/fold/timeline/dropped", test_timeline_dropped);
	g_test_add_func("/fold/timeline/filtered", test_timeline_filtered);
	g_test_add_func("/fold/kvm", test_kvm_rows);
	g_test_add_func("/fold/events/kvm", test_events_kvm);
	g_test_add_func("/fold/brief-outside", test_brief_outside);
	g_test_add_func("/fold/compare/reports", test_compare_reports);
	g_test_add_func("/fold/compare/usage", test_compare_usage);
	return g_test_run();
}
