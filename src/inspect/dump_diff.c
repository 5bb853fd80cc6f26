// SPDX-License-Identifier: GPL-2.0
/*
 * Two mirror dumps compared page by page over GPAs, and the changes told
 * as runs: "512 x 4K -> 1 x 2M (collapsed)", "32 PFNs -> 1 shared PFN,
 * W dropped (merged)".
 */
#include <string.h>

#include "dump_diff.h"
#include "flag_names.h"
#include "json_member.h"

#define PAGE_SHIFT_4K	12
#define AD_BITS		(SPTE_EPT_A | SPTE_EPT_D)

static gint cmp_page(gconstpointer a, gconstpointer b)
{
	const struct spte_page *x = a, *y = b;

	if (x->gfn != y->gfn)
		return x->gfn < y->gfn ? -1 : 1;
	return (x->leaf > y->leaf) - (x->leaf < y->leaf);
}

GArray *spte_dump_pages(const struct spte_mirror_table *t)
{
	g_autoptr(GHashTable) count = g_hash_table_new(g_int64_hash,
						       g_int64_equal);
	GArray *pages;
	guint64 total = 0, kept = 0;

	for (guint64 i = 0; i < t->nr_leaves; i++)
		total += spte_mirror_leaf_size(&t->leaves[i]) >> PAGE_SHIFT_4K;
	pages = g_array_sized_new(FALSE, FALSE, sizeof(struct spte_page),
				  total);
	for (guint64 i = 0; i < t->nr_leaves; i++) {
		const struct spte_mirror_leaf *l = &t->leaves[i];
		guint64 n = spte_mirror_leaf_size(l) >> PAGE_SHIFT_4K;

		for (guint64 k = 0; k < n; k++) {
			struct spte_page p = {
				.gfn = (l->gpa >> PAGE_SHIFT_4K) + k,
				.pfn = spte_ept_pfn(l->entry) + k,
				.entry = l->entry,
				.level = l->level,
				.leaf = i,
			};

			g_array_append_val(pages, p);
		}
	}
	g_array_sort(pages, cmp_page);
	for (guint64 i = 0; i < pages->len; i++) {
		struct spte_page *p = &g_array_index(pages, struct spte_page, i);

		if (kept && p->gfn == g_array_index(pages, struct spte_page,
						    kept - 1).gfn)
			continue;
		g_array_index(pages, struct spte_page, kept++) = *p;
	}
	g_array_set_size(pages, kept);
	/* pages no longer moves: its pfn fields can key the table */
	for (guint64 i = 0; i < pages->len; i++) {
		struct spte_page *p = &g_array_index(pages, struct spte_page, i);
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(count, &p->pfn));

		g_hash_table_insert(count, &p->pfn, GUINT_TO_POINTER(n + 1));
	}
	for (guint64 i = 0; i < pages->len; i++) {
		struct spte_page *p = &g_array_index(pages, struct spte_page, i);

		p->sharers = GPOINTER_TO_UINT(g_hash_table_lookup(count,
								  &p->pfn));
	}
	return pages;
}

const char *spte_diff_pattern_name(enum spte_diff_pattern p)
{
	static const char *const names[] = {
		[SPTE_PATTERN_FAULTED_IN] = "faulted in",
		[SPTE_PATTERN_ZAPPED] = "zapped",
		[SPTE_PATTERN_COLLAPSED] = "collapsed",
		[SPTE_PATTERN_SPLIT] = "split",
		[SPTE_PATTERN_MERGED] = "merged",
		[SPTE_PATTERN_UNSHARED] = "un-shared",
		[SPTE_PATTERN_MOVED] = "moved to new PFNs",
		[SPTE_PATTERN_WRITE_PROTECTED] = "write-protected",
		[SPTE_PATTERN_MADE_WRITABLE] = "made writable",
		[SPTE_PATTERN_PERMISSIONS] = "permissions changed",
		[SPTE_PATTERN_AGED] = "aged",
		[SPTE_PATTERN_ACCESSED] = "accessed",
		[SPTE_PATTERN_DIRTIED] = "dirtied",
		[SPTE_PATTERN_CLEANED] = "cleaned",
		[SPTE_PATTERN_AD_CHANGED] = "A/D changed",
	};

	if ((guint)p < G_N_ELEMENTS(names) && names[p])
		return names[p];
	return "changed";
}

/* ---- the page walk ---- */

/* What must match for two consecutive pages to share a run. */
struct run_key {
	guint32 changes;
	gboolean present[2];
	guint32 level[2];
	guint64 prot[2];
	gboolean shared[2];	/* only when the PFN changed */
	guint64 ad[2];		/* only for A/D-only changes */
};

struct side_acc {
	GHashTable *pfns;	/* set of host pages seen */
	guint64 last_leaf;
};

struct run_acc {
	struct spte_diff_run run;
	struct run_key key;
	struct side_acc side[2];
	gboolean open;
};

static guint32 page_changes(const struct spte_page *a,
			    const struct spte_page *b)
{
	guint32 c = 0;

	if (!a)
		return SPTE_DIFF_ADDED;
	if (!b)
		return SPTE_DIFF_REMOVED;
	if (a->pfn != b->pfn)
		c |= SPTE_DIFF_PFN;
	if ((a->entry ^ b->entry) & SPTE_EPT_RWX)
		c |= SPTE_DIFF_PERM;
	if (a->level != b->level)
		c |= SPTE_DIFF_LEVEL;
	if ((a->entry ^ b->entry) & AD_BITS)
		c |= SPTE_DIFF_AD;
	return c;
}

static void make_key(struct run_key *k, guint32 changes,
		     const struct spte_page *const p[2])
{
	memset(k, 0, sizeof(*k));
	k->changes = changes;
	for (int s = 0; s < 2; s++) {
		if (!p[s])
			continue;
		k->present[s] = TRUE;
		k->level[s] = p[s]->level;
		k->prot[s] = p[s]->entry & SPTE_EPT_RWX;
		if (changes & SPTE_DIFF_PFN)
			k->shared[s] = p[s]->sharers > 1;
		if (changes == SPTE_DIFF_AD)
			k->ad[s] = p[s]->entry & AD_BITS;
	}
}

static void side_add(struct spte_diff_side *side, struct side_acc *acc,
		     const struct spte_page *p, guint64 index)
{
	if (!p)
		return;
	if (!side->present) {
		side->present = TRUE;
		side->level = p->level;
		side->prot = p->entry & SPTE_EPT_RWX;
		side->pfn_first = p->pfn;
		side->contiguous = TRUE;
		side->leaves = 1;
		acc->last_leaf = p->leaf;
		acc->pfns = g_hash_table_new(g_int64_hash, g_int64_equal);
	} else if (p->leaf != acc->last_leaf) {
		side->leaves++;
		acc->last_leaf = p->leaf;
	}
	side->pfn_last = p->pfn;
	side->contiguous &= p->pfn == side->pfn_first + index;
	side->shared += p->sharers > 1;
	side->accessed += !!(p->entry & SPTE_EPT_A);
	side->dirty += !!(p->entry & SPTE_EPT_D);
	/* keys point into the page arrays, which outlive the run */
	g_hash_table_add(acc->pfns, (gpointer)&p->pfn);
}

static enum spte_diff_pattern classify(const struct spte_diff_run *r)
{
	const struct spte_diff_side *a = &r->before, *b = &r->after;

	if (r->changes & SPTE_DIFF_ADDED)
		return SPTE_PATTERN_FAULTED_IN;
	if (r->changes & SPTE_DIFF_REMOVED)
		return SPTE_PATTERN_ZAPPED;
	if (r->changes & SPTE_DIFF_LEVEL)
		return a->level < b->level ? SPTE_PATTERN_COLLAPSED :
					     SPTE_PATTERN_SPLIT;
	if (r->changes & SPTE_DIFF_PFN) {
		if (b->shared && !a->shared)
			return SPTE_PATTERN_MERGED;
		if (a->shared && !b->shared)
			return SPTE_PATTERN_UNSHARED;
		return SPTE_PATTERN_MOVED;
	}
	if (r->changes & SPTE_DIFF_PERM) {
		if ((a->prot & ~b->prot) == SPTE_EPT_W)
			return SPTE_PATTERN_WRITE_PROTECTED;
		if ((b->prot & ~a->prot) == SPTE_EPT_W)
			return SPTE_PATTERN_MADE_WRITABLE;
		return SPTE_PATTERN_PERMISSIONS;
	}
	if (a->accessed != b->accessed && a->dirty == b->dirty)
		return a->accessed > b->accessed ? SPTE_PATTERN_AGED :
						   SPTE_PATTERN_ACCESSED;
	if (a->dirty != b->dirty && a->accessed == b->accessed)
		return a->dirty < b->dirty ? SPTE_PATTERN_DIRTIED :
					     SPTE_PATTERN_CLEANED;
	return SPTE_PATTERN_AD_CHANGED;
}

static void run_close(struct run_acc *acc, GArray *runs)
{
	if (!acc->open)
		return;
	for (int s = 0; s < 2; s++) {
		struct spte_diff_side *side = s ? &acc->run.after :
						  &acc->run.before;

		if (acc->side[s].pfns) {
			side->distinct_pfns = g_hash_table_size(acc->side[s].pfns);
			g_clear_pointer(&acc->side[s].pfns, g_hash_table_unref);
		}
	}
	acc->run.pattern = classify(&acc->run);
	g_array_append_val(runs, acc->run);
	acc->open = FALSE;
}

static void run_add(struct run_acc *acc, GArray *runs, guint64 gfn,
		    guint32 changes, const struct spte_page *const p[2])
{
	struct run_key key;

	make_key(&key, changes, p);
	if (acc->open && (memcmp(&key, &acc->key, sizeof(key)) ||
			  gfn != (acc->run.gpa >> PAGE_SHIFT_4K) + acc->run.pages))
		run_close(acc, runs);
	if (!acc->open) {
		memset(acc, 0, sizeof(*acc));
		acc->open = TRUE;
		acc->key = key;
		acc->run.gpa = gfn << PAGE_SHIFT_4K;
		acc->run.changes = changes;
	}
	side_add(&acc->run.before, &acc->side[0], p[0], acc->run.pages);
	side_add(&acc->run.after, &acc->side[1], p[1], acc->run.pages);
	acc->run.pages++;
}

struct spte_dump_diff *spte_dump_diff_new(const struct spte_mirror_table *before,
					  const struct spte_mirror_table *after)
{
	g_autoptr(GArray) pa = spte_dump_pages(before);
	g_autoptr(GArray) pb = spte_dump_pages(after);
	struct spte_dump_diff *d = g_new0(struct spte_dump_diff, 1);
	struct run_acc acc = { 0 };
	guint ia = 0, ib = 0;

	d->runs = g_array_new(FALSE, FALSE, sizeof(struct spte_diff_run));
	d->pages_before = pa->len;
	d->pages_after = pb->len;
	while (ia < pa->len || ib < pb->len) {
		const struct spte_page *a = ia < pa->len ?
			&g_array_index(pa, struct spte_page, ia) : NULL;
		const struct spte_page *b = ib < pb->len ?
			&g_array_index(pb, struct spte_page, ib) : NULL;
		const struct spte_page *p[2];
		guint64 gfn;
		guint32 c;

		gfn = G_MAXUINT64;
		if (a)
			gfn = a->gfn;
		if (b && b->gfn < gfn)
			gfn = b->gfn;
		if (a && a->gfn != gfn)
			a = NULL;
		if (b && b->gfn != gfn)
			b = NULL;
		ia += !!a;
		ib += !!b;
		c = page_changes(a, b);
		d->added += !!(c & SPTE_DIFF_ADDED);
		d->removed += !!(c & SPTE_DIFF_REMOVED);
		if (!(c & (SPTE_DIFF_ADDED | SPTE_DIFF_REMOVED))) {
			d->changed += c != 0;
			d->unchanged += c == 0;
		}
		d->pfn_changed += !!(c & SPTE_DIFF_PFN);
		d->perm_changed += !!(c & SPTE_DIFF_PERM);
		d->level_changed += !!(c & SPTE_DIFF_LEVEL);
		d->ad_changed += !!(c & SPTE_DIFF_AD);
		if (!c) {
			run_close(&acc, d->runs);
			continue;
		}
		p[0] = a;
		p[1] = b;
		run_add(&acc, d->runs, gfn, c, p);
	}
	run_close(&acc, d->runs);
	return d;
}

void spte_dump_diff_free(struct spte_dump_diff *d)
{
	if (!d)
		return;
	g_array_unref(d->runs);
	g_free(d);
}

/* ---- text ---- */

static const char *level_name(guint32 level)
{
	return level == 1 ? "4K" : level == 2 ? "2M" : "1G";
}

static void prot_str(guint64 prot, char buf[4])
{
	buf[0] = (prot & SPTE_EPT_R) ? 'R' : '-';
	buf[1] = (prot & SPTE_EPT_W) ? 'W' : '-';
	buf[2] = (prot & SPTE_EPT_X) ? 'X' : '-';
	buf[3] = '\0';
}

static void append_hpa_range(GString *out, const struct spte_diff_side *s)
{
	g_string_append_printf(out, "hpa 0x%" G_GINT64_MODIFIER "x-0x%"
			       G_GINT64_MODIFIER "x",
			       s->pfn_first << PAGE_SHIFT_4K,
			       ((s->pfn_last + 1) << PAGE_SHIFT_4K) - 1);
}

/* The host pages of one side, as "hpa A-B", "1 shared PFN 0x..", ... */
static void append_pfns(GString *out, const struct spte_diff_side *s,
			guint64 pages, gboolean count_style)
{
	if (s->contiguous) {
		append_hpa_range(out, s);
		if (s->shared)
			g_string_append(out, " (shared)");
		return;
	}
	if (s->distinct_pfns == 1) {
		g_string_append_printf(out, "1 %sPFN 0x%" G_GINT64_MODIFIER "x",
				       s->shared ? "shared " : "", s->pfn_first);
		return;
	}
	if (count_style)
		g_string_append_printf(out, "%" G_GUINT64_FORMAT " PFNs",
				       s->distinct_pfns);
	else if (s->distinct_pfns == pages)
		g_string_append(out, "scattered");
	else
		g_string_append_printf(out, "scattered over %" G_GUINT64_FORMAT
				       " PFNs", s->distinct_pfns);
	if (s->shared)
		g_string_append_printf(out, " (%" G_GUINT64_FORMAT " shared)",
				       s->shared);
}

static void append_side(GString *out, const struct spte_diff_side *s,
			guint64 pages)
{
	char prot[4];

	if (!s->present) {
		g_string_append(out, "absent");
		return;
	}
	prot_str(s->prot, prot);
	g_string_append_printf(out, "%" G_GUINT64_FORMAT " x %s %s ", s->leaves,
			       level_name(s->level), prot);
	append_pfns(out, s, pages, FALSE);
}

static void append_bits_moved(GString *out, guint64 bits, const char *verb,
			      gboolean *first)
{
	char prot[4];
	GString *letters;

	if (!bits)
		return;
	prot_str(bits, prot);
	letters = g_string_new(NULL);
	for (int i = 0; i < 3; i++)
		if (prot[i] != '-')
			g_string_append_c(letters, prot[i]);
	g_string_append_printf(out, "%s%s %s", *first ? "" : ", ",
			       letters->str, verb);
	g_string_free(letters, TRUE);
	*first = FALSE;
}

static void append_count_change(GString *out, const char *bit, guint64 from,
				 guint64 to, guint64 pages, gboolean *first)
{
	if (from == to)
		return;
	g_string_append(out, *first ? "" : ", ");
	*first = FALSE;
	if (from == pages && to == 0)
		g_string_append_printf(out, "%s cleared", bit);
	else if (from == 0 && to == pages)
		g_string_append_printf(out, "%s set", bit);
	else
		g_string_append_printf(out, "%s on %" G_GUINT64_FORMAT " -> %"
				       G_GUINT64_FORMAT " pages", bit, from, to);
}

void spte_diff_run_format(const struct spte_diff_run *r, int gpa_digits,
			  GString *out)
{
	const struct spte_diff_side *a = &r->before, *b = &r->after;
	gboolean first = TRUE;
	char prot[4];

	g_string_append_printf(out, "gpa 0x%0*" G_GINT64_MODIFIER "x-0x%0*"
			       G_GINT64_MODIFIER "x  ", gpa_digits, r->gpa,
			       gpa_digits,
			       r->gpa + (r->pages << PAGE_SHIFT_4K) - 1);
	if (!a->present || !b->present || a->level != b->level) {
		append_side(out, a, r->pages);
		g_string_append(out, " -> ");
		append_side(out, b, r->pages);
		g_string_append_printf(out, " (%s)",
				       spte_diff_pattern_name(r->pattern));
		return;
	}
	/* same level on both sides: say what moved */
	g_string_append_printf(out, "%" G_GUINT64_FORMAT " x %s", a->leaves,
			       level_name(a->level));
	if (!(r->changes & SPTE_DIFF_PERM)) {
		prot_str(a->prot, prot);
		g_string_append_printf(out, " %s", prot);
	}
	if (!(r->changes & SPTE_DIFF_PFN)) {
		g_string_append_c(out, ' ');
		append_pfns(out, a, r->pages, FALSE);
	}
	g_string_append(out, ": ");
	if (r->changes & SPTE_DIFF_PFN) {
		append_pfns(out, a, r->pages, TRUE);
		g_string_append(out, " -> ");
		append_pfns(out, b, r->pages, TRUE);
		first = FALSE;
	}
	if (r->changes & SPTE_DIFF_PERM) {
		append_bits_moved(out, a->prot & ~b->prot, "dropped", &first);
		append_bits_moved(out, b->prot & ~a->prot, "gained", &first);
	}
	if (r->changes & SPTE_DIFF_AD) {
		append_count_change(out, "A", a->accessed, b->accessed,
				    r->pages, &first);
		append_count_change(out, "D", a->dirty, b->dirty, r->pages,
				    &first);
	}
	g_string_append_printf(out, " (%s)",
			       spte_diff_pattern_name(r->pattern));
}

static int gpa_digits(const struct spte_dump_diff *d)
{
	int digits = 6;

	if (d->runs->len) {
		const struct spte_diff_run *r =
			&g_array_index(d->runs, struct spte_diff_run,
				       d->runs->len - 1);
		guint64 end = r->gpa + (r->pages << PAGE_SHIFT_4K) - 1;

		while (digits < 16 && (end >> (4 * digits)))
			digits++;
	}
	return digits;
}

void spte_dump_diff_format(const struct spte_dump_diff *d, GString *out)
{
	int digits = gpa_digits(d);

	if (!d->runs->len) {
		if (d->pages_before)
			g_string_append_printf(out, "no change: the same %"
					       G_GUINT64_FORMAT " pages mapped "
					       "identically in both dumps\n",
					       d->pages_before);
		else
			g_string_append(out, "no change: both dumps are empty\n");
		return;
	}
	for (guint i = 0; i < d->runs->len; i++) {
		spte_diff_run_format(&g_array_index(d->runs, struct spte_diff_run,
						    i), digits, out);
		g_string_append_c(out, '\n');
	}
	g_string_append_printf(out, "summary: %" G_GUINT64_FORMAT " faulted in, %"
			       G_GUINT64_FORMAT " zapped, %" G_GUINT64_FORMAT
			       " changed (PFN %" G_GUINT64_FORMAT ", permissions %"
			       G_GUINT64_FORMAT ", level %" G_GUINT64_FORMAT
			       ", A/D %" G_GUINT64_FORMAT "), %" G_GUINT64_FORMAT
			       " unchanged; 4K pages mapped %" G_GUINT64_FORMAT
			       " -> %" G_GUINT64_FORMAT "\n",
			       d->added, d->removed, d->changed, d->pfn_changed,
			       d->perm_changed, d->level_changed, d->ad_changed,
			       d->unchanged, d->pages_before, d->pages_after);
}

/* ---- JSON ---- */

static void side_to_json(JsonBuilder *b, const char *name,
			 const struct spte_diff_side *s)
{
	char prot[4];

	json_builder_set_member_name(b, name);
	if (!s->present) {
		json_builder_add_null_value(b);
		return;
	}
	prot_str(s->prot, prot);
	json_builder_begin_object(b);
	spte_json_add_string(b, "level", level_name(s->level));
	spte_json_add_string(b, "prot", prot);
	spte_json_add_int(b, "leaves", s->leaves);
	spte_json_add_int(b, "pfn_first", s->pfn_first);
	spte_json_add_int(b, "pfn_last", s->pfn_last);
	spte_json_add_int(b, "distinct_pfns", s->distinct_pfns);
	spte_json_add_bool(b, "contiguous", s->contiguous);
	spte_json_add_int(b, "shared", s->shared);
	spte_json_add_int(b, "accessed", s->accessed);
	spte_json_add_int(b, "dirty", s->dirty);
	json_builder_end_object(b);
}

JsonNode *spte_dump_diff_to_json(const struct spte_dump_diff *d)
{
	static const struct spte_flag_name changes[] = {
		{ SPTE_DIFF_ADDED, "added" },
		{ SPTE_DIFF_REMOVED, "removed" },
		{ SPTE_DIFF_PFN, "pfn" },
		{ SPTE_DIFF_PERM, "perm" },
		{ SPTE_DIFF_LEVEL, "level" },
		{ SPTE_DIFF_AD, "ad" },
		{ 0, NULL },
	};
	g_autoptr(JsonBuilder) b = json_builder_new();
	int digits = gpa_digits(d);

	json_builder_begin_object(b);
	spte_json_add_int(b, "pages_before", d->pages_before);
	spte_json_add_int(b, "pages_after", d->pages_after);
	spte_json_add_counts(b, "counts", (const struct spte_json_count[]){
		{ "added", d->added },
		{ "removed", d->removed },
		{ "changed", d->changed },
		{ "pfn_changed", d->pfn_changed },
		{ "perm_changed", d->perm_changed },
		{ "level_changed", d->level_changed },
		{ "ad_changed", d->ad_changed },
		{ "unchanged", d->unchanged },
		{ NULL },
	});
	json_builder_set_member_name(b, "runs");
	json_builder_begin_array(b);
	for (guint i = 0; i < d->runs->len; i++) {
		const struct spte_diff_run *r =
			&g_array_index(d->runs, struct spte_diff_run, i);
		g_autoptr(GString) text = g_string_new(NULL);

		json_builder_begin_object(b);
		spte_json_add_int(b, "gpa_start", r->gpa);
		spte_json_add_int(b, "gpa_end", r->gpa + (r->pages << PAGE_SHIFT_4K) - 1);
		spte_json_add_int(b, "pages", r->pages);
		json_builder_set_member_name(b, "changes");
		json_builder_begin_array(b);
		spte_flag_names_add_json(changes, r->changes, b);
		json_builder_end_array(b);
		spte_json_add_string(b, "pattern",
				     spte_diff_pattern_name(r->pattern));
		side_to_json(b, "before", &r->before);
		side_to_json(b, "after", &r->after);
		spte_diff_run_format(r, digits, text);
		spte_json_add_string(b, "text", text->str);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}
