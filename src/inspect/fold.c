// SPDX-License-Identifier: GPL-2.0
/*
 * Folding: finding the periods in a log (see inspect/fold.h), and the rows
 * folded logs print as.
 */
#include <string.h>

#include "fold.h"
#include "json_member.h"

#define P_MAX	SPTE_FOLD_MAX_PERIOD

/* Blocks of one period that repeat from some record on. */
struct run {
	guint32 count;		/* 0 or 1: the next block differs */
	gint64 stride;
};

/*
 * Is the block of @p records at @i the same as the one after it, and by
 * which stride?  Every record of the block must have moved by as much as
 * the first: that is "equal once the address is taken relative to the
 * block".
 */
static gboolean blocks_equal(const struct spte_fold_ops *ops,
			     gconstpointer data, guint i, guint p,
			     gint64 *stride)
{
	for (guint j = 0; j < p; j++) {
		gint64 d;

		if (!ops->same(data, i + j, i + p + j, &d))
			return FALSE;
		if (!j)
			*stride = d;
		else if (d != *stride)
			return FALSE;
	}
	return TRUE;
}

gboolean spte_fold_same_place(const struct spte_fold_place *x,
			      const struct spte_fold_place *y, gint64 *delta)
{
	gint64 hd = (gint64)(y->hva_start - x->hva_start);

	if (x->hva_end - x->hva_start != y->hva_end - y->hva_start ||
	    x->has_gpa != y->has_gpa)
		return FALSE;
	if (x->has_gpa &&
	    (x->gpa_end - x->gpa_start != y->gpa_end - y->gpa_start ||
	     (gint64)(y->gpa_start - x->gpa_start) != hd))
		return FALSE;
	*delta = hd;
	return TRUE;
}

gint64 spte_fold_place_addr(const struct spte_fold_place *p)
{
	return (gint64)(p->has_gpa ? p->gpa_start : p->hva_start);
}

static guint lines_of(guint p)
{
	return p == 1 ? 1 : p + 1;
}

/*
 * A fold needs three blocks: two are a stride seen once, as likely
 * chance as a pattern, and no quicker to read than as they are.
 */
#define MIN_BLOCKS	3

/*
 * Backwards over the log: for each record i and period p, how many equal
 * blocks start at i (from the run at i + p, which is already known), then
 * the fewest lines that can print records i.. (lines[i]) and the first
 * fold of that way, and of the ways as short, the one with the fewest
 * folds starting inside a page (odd[i]).  Only the last P_MAX records'
 * runs are kept.  Of a
 * run, the whole is tried and the whole less its last block, which may
 * start a longer run of its own: that is how the page KSM treats
 * differently stays out of the fold of the pages after it.
 */
GArray *spte_fold_find(guint n, const struct spte_fold_ops *ops,
		       gconstpointer data)
{
	g_autofree struct run *ring = g_new0(struct run, (P_MAX + 1) * P_MAX);
	g_autofree guint *brk = g_new(guint, n + 1);
	g_autofree guint *lines = g_new(guint, n + 1);
	g_autofree guint *odd = g_new(guint, n + 1);
	g_autofree struct spte_fold *pick = g_new(struct spte_fold, n + 1);
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct spte_fold));

	/* brk[i]: the first record after i that may not join its predecessor */
	brk[n] = n;
	for (guint i = n; i-- > 0;)
		brk[i] = i + 1 < n && ops->joins && !ops->joins(data, i + 1) ?
			 i + 1 : brk[i + 1];
	lines[n] = odd[n] = 0;
	for (guint i = n; i-- > 0;) {
		struct run *row = &ring[(i % (P_MAX + 1)) * P_MAX];
		/* a fold from i would start inside a page */
		guint inside = i && ops->addr &&
			       ops->addr(data, i) == ops->addr(data, i - 1);

		memset(row, 0, P_MAX * sizeof(*row));
		lines[i] = 1 + lines[i + 1];
		odd[i] = odd[i + 1];
		pick[i] = (struct spte_fold){ i, 1, 1, 0 };
		for (guint p = 1; p <= P_MAX && i + 2 * p <= n; p++) {
			struct run *r = &row[p - 1];
			const struct run *next;
			guint q;
			gint64 d;

			if (brk[i] < i + 2 * p)
				break;	/* nor will any longer period join */
			/*
			 * A multiple of a shorter period that already repeats
			 * this far is that period's fold, printed longer: take
			 * its count as a lower bound and go on.
			 */
			for (q = 1; q < p; q++)
				if (!(p % q) && row[q - 1].count * q >= 2 * p)
					break;
			if (q < p) {
				r->count = row[q - 1].count * q / p;
				r->stride = row[q - 1].stride * (p / q);
				continue;
			}
			if (!blocks_equal(ops, data, i, p, &d))
				continue;
			next = &ring[((i + p) % (P_MAX + 1)) * P_MAX + p - 1];
			r->count = next->count >= 2 && next->stride == d ?
				   next->count + 1 : 2;
			r->stride = d;
			for (guint c = r->count;
			     c >= MIN_BLOCKS && c + 2 > r->count; c--) {
				guint total = lines_of(p) + lines[i + c * p];
				guint o = inside + odd[i + c * p];

				/*
				 * As short as printing record i alone: fold
				 * from here, so blocks start where the
				 * pattern first does, not a record later.
				 */
				if (total < lines[i] ||
				    (total == lines[i] && o < odd[i]) ||
				    (total == lines[i] && o == odd[i] &&
				     pick[i].count == 1)) {
					lines[i] = total;
					odd[i] = o;
					pick[i] = (struct spte_fold){ i, p, c, d };
				}
			}
		}
	}
	for (guint i = 0; i < n; i += pick[i].period * pick[i].count)
		g_array_append_val(out, pick[i]);
	return out;
}

static void append_addr(GString *out, gint64 v)
{
	if (v < 0)
		g_string_append_printf(out, "-0x%" G_GINT64_MODIFIER "x",
				       -(guint64)v);
	else
		g_string_append_printf(out, "0x%" G_GINT64_MODIFIER "x",
				       (guint64)v);
}

void spte_fold_append_range(GString *out, const char *space, guint64 first,
			    const struct spte_fold *f)
{
	guint64 last = first + (guint64)f->stride * (f->count - 1);

	g_string_append_printf(out, "\u00d7%u", f->count);
	if (!space)
		return;
	g_string_append_printf(out, " %s 0x%" G_GINT64_MODIFIER "x", space,
			       first);
	if (f->stride)
		g_string_append_printf(out, "-0x%" G_GINT64_MODIFIER "x", last);
	g_string_append(out, " step ");
	append_addr(out, f->stride);
}

/* ---- rows ---- */

struct spte_row *spte_row_new(enum spte_row_kind kind, const char *when,
			      const char *seq, char *text, char *key)
{
	struct spte_row *r = g_new0(struct spte_row, 1);

	r->kind = kind;
	r->when = g_strdup(when ? when : "");
	r->seq = g_strdup(seq ? seq : "");
	r->text = text;
	r->key = key;
	r->count = r->period = 1;
	r->records = kind == SPTE_ROW_RECORD;
	return r;
}

void spte_row_free(struct spte_row *r)
{
	if (!r)
		return;
	g_free(r->when);
	g_free(r->seq);
	g_free(r->text);
	g_free(r->key);
	g_free(r);
}

GPtrArray *spte_rows_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)spte_row_free);
}

static const char *const row_kinds[] = {
	[SPTE_ROW_RECORD] = "record",
	[SPTE_ROW_RUN] = "run",
	[SPTE_ROW_FOLD] = "fold",
	[SPTE_ROW_BLOCK] = "block",
	[SPTE_ROW_NOTE] = "note",
};

JsonNode *spte_row_to_json(const struct spte_row *r)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	spte_json_add_string(b, "kind", row_kinds[r->kind]);
	spte_json_add_string(b, "seq", r->seq);
	spte_json_add_string(b, "text", r->text);
	if (r->kind == SPTE_ROW_RUN || r->kind == SPTE_ROW_FOLD) {
		spte_json_add_int(b, "count", r->count);
		spte_json_add_int(b, "period", r->period);
		spte_json_add_int(b, "first", (gint64)r->first_addr);
		spte_json_add_int(b, "step", r->stride);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

void spte_rows_format(GPtrArray *rows, const char *indent, GString *out)
{
	int when_w = 0, seq_w = 0;

	for (guint i = 0; i < rows->len; i++) {
		const struct spte_row *r = rows->pdata[i];

		when_w = MAX(when_w, (int)g_utf8_strlen(r->when, -1));
		seq_w = MAX(seq_w, (int)g_utf8_strlen(r->seq, -1));
	}
	for (guint i = 0; i < rows->len; i++) {
		const struct spte_row *r = rows->pdata[i];

		g_string_append_printf(out, "%s%*s  ", indent, when_w, r->when);
		if (seq_w)
			g_string_append_printf(out, "%-*s ", seq_w, r->seq);
		g_string_append(out, r->text);
		g_string_append_c(out, '\n');
	}
}
