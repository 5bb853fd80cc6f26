// SPDX-License-Identifier: GPL-2.0
/*
 * Mirror dumps, and KVM's own leaves at them, drawn as grids of guest
 * pages, in plain SVG 1.1.  Runs of cells in one state within a row become
 * one rect, and the cell lines and the young dots are patterns, so a 256
 * MiB guest stays a small file.
 */
#include <string.h>

#include "dump_diff.h"
#include "kvm_snapshot_as_dump.h"
#include "svg.h"
#include "spte_error.h"

#define COLS		64
#define PAGES_2M	512
#define MARGIN		20
#define AXIS_W		96
#define GAP		40
#define TOP		70
#define MAX_CELLS	65536

enum cell_state {
	CELL_ABSENT,
	CELL_RW,
	CELL_RO,
	CELL_SHARED,
	CELL_HUGE,
	CELL_STATES,
};

static const struct {
	const char *cls;
	const char *colour;
	const char *label;
} states[CELL_STATES] = {
	[CELL_ABSENT] = { "ab", "#e8e8e8", "absent (not mirrored)" },
	[CELL_RW] = { "rw", "#4a90d9", "4K read/write" },
	[CELL_RO] = { "ro", "#f0ad4e", "4K read-only" },
	[CELL_SHARED] = { "sh", "#d9534f",
			  "4K, PFN shared with other GPAs (KSM / zero page)" },
	[CELL_HUGE] = { "hg", "#5cb85c", "part of a 2M leaf" },
};

struct grid {
	guint8 *state;
	gboolean *young;
};

static enum cell_state page_state(const struct spte_page *p)
{
	if (p->level > 1)
		return CELL_HUGE;
	if (p->sharers > 1)
		return CELL_SHARED;
	if (!(p->entry & SPTE_EPT_W))
		return CELL_RO;
	return CELL_RW;
}

static void grid_fill(struct grid *g, GArray *pages, guint64 cells,
		      gboolean aggregate)
{
	g_autofree guint *count = NULL;
	g_autofree guint *young = NULL;

	g->state = g_new0(guint8, cells);
	g->young = g_new0(gboolean, cells);
	if (aggregate) {
		count = g_new0(guint, cells * CELL_STATES);
		young = g_new0(guint, cells);
	}
	for (guint i = 0; i < pages->len; i++) {
		const struct spte_page *p = &g_array_index(pages,
							   struct spte_page, i);
		guint64 c = aggregate ? p->gfn / PAGES_2M : p->gfn;

		if (c >= cells)
			continue;
		if (!aggregate) {
			g->state[c] = page_state(p);
			g->young[c] = !!(p->entry & SPTE_EPT_A);
			continue;
		}
		count[c * CELL_STATES + page_state(p)]++;
		young[c] += !!(p->entry & SPTE_EPT_A);
	}
	if (!aggregate)
		return;
	for (guint64 c = 0; c < cells; c++) {
		guint *k = &count[c * CELL_STATES];
		guint present = 0, best = CELL_ABSENT;

		for (guint s = CELL_RW; s < CELL_STATES; s++) {
			present += k[s];
			if (k[s] > k[best])
				best = s;
		}
		k[CELL_ABSENT] = PAGES_2M - MIN(present, PAGES_2M);
		if (k[CELL_ABSENT] > k[best])
			best = CELL_ABSENT;
		g->state[c] = best;
		g->young[c] = present && young[c] * 2 > present;
	}
}

/* One rect per run of cells in @state (or young) within a row. */
static void draw_runs(GString *out, const struct grid *g, guint64 cells,
		      guint cell, int state, const char *fill)
{
	for (guint64 row = 0; row * COLS < cells; row++) {
		guint64 end = MIN(cells, (row + 1) * COLS);

		for (guint64 c = row * COLS; c < end;) {
			guint64 n = 0;

			while (c + n < end && (state < 0 ? g->young[c + n] :
					       g->state[c + n] == state))
				n++;
			if (!n) {
				c++;
				continue;
			}
			g_string_append_printf(out, "<rect x=\"%" G_GUINT64_FORMAT
					       "\" y=\"%" G_GUINT64_FORMAT
					       "\" width=\"%" G_GUINT64_FORMAT
					       "\" height=\"%u\" %s/>\n",
					       (c % COLS) * cell, row * cell,
					       n * cell, cell, fill);
			c += n;
		}
	}
}

static void draw_grid(GString *out, const struct grid *g, guint64 cells,
		      guint cell, gboolean aggregate, guint x, const char *label)
{
	guint64 rows = (cells + COLS - 1) / COLS;
	g_autofree char *esc = g_markup_escape_text(label, -1);

	g_string_append_printf(out, "<text class=\"label\" x=\"%u\" y=\"%u\">"
			       "%s</text>\n", x, TOP - 10, esc);
	g_string_append_printf(out, "<g transform=\"translate(%u,%u)\">\n", x,
			       TOP);
	g_string_append_printf(out, "<rect class=\"ab\" x=\"0\" y=\"0\" "
			       "width=\"%u\" height=\"%" G_GUINT64_FORMAT "\"/>\n",
			       COLS * cell, rows * cell);
	for (int s = CELL_RW; s < CELL_STATES; s++) {
		g_autofree char *cls = g_strdup_printf("class=\"%s\"",
						       states[s].cls);

		draw_runs(out, g, cells, cell, s, cls);
	}
	if (cell >= 4)
		g_string_append_printf(out, "<rect x=\"0\" y=\"0\" width=\"%u\" "
				       "height=\"%" G_GUINT64_FORMAT "\" "
				       "fill=\"url(#cells)\"/>\n",
				       COLS * cell, rows * cell);
	draw_runs(out, g, cells, cell, -1, "fill=\"url(#young)\"");
	if (!aggregate) {
		/* 2M regions: 8 rows each */
		guint64 rows_2m = PAGES_2M / COLS;

		for (guint64 r = 0; r < rows; r += rows_2m)
			g_string_append_printf(out, "<rect class=\"region\" x=\"0\" "
					       "y=\"%" G_GUINT64_FORMAT "\" "
					       "width=\"%u\" height=\"%"
					       G_GUINT64_FORMAT "\"/>\n",
					       r * cell, COLS * cell,
					       MIN(rows_2m, rows - r) * cell);
	} else {
		g_string_append_printf(out, "<rect class=\"region\" x=\"0\" "
				       "y=\"0\" width=\"%u\" height=\"%"
				       G_GUINT64_FORMAT "\"/>\n", COLS * cell,
				       rows * cell);
	}
	g_string_append(out, "</g>\n");
}

static void draw_axis(GString *out, guint64 cells, guint cell,
		      gboolean aggregate)
{
	guint64 rows = (cells + COLS - 1) / COLS;
	guint64 step = aggregate ? 1 : PAGES_2M / COLS;	/* rows per label */
	guint64 row_bytes = (guint64)COLS << (aggregate ? 21 : 12);

	for (guint64 r = 0; r < rows; r += step) {
		guint64 y = TOP + r * cell + MIN(cell * step, 12);

		g_string_append_printf(out, "<text class=\"axis\" x=\"%u\" "
				       "y=\"%" G_GUINT64_FORMAT "\">0x%08"
				       G_GINT64_MODIFIER "x</text>\n",
				       MARGIN + AXIS_W - 8, y, r * row_bytes);
	}
}

static void draw_legend(GString *out, guint y, gboolean aggregate,
			guint64 pages, gboolean kvm)
{
	guint x = MARGIN, line = 0;

	for (int s = 0; s < CELL_STATES; s++, line++)
		g_string_append_printf(out, "<rect class=\"%s\" x=\"%u\" y=\"%u\" "
				       "width=\"12\" height=\"12\" stroke=\"#666\" "
				       "stroke-width=\"0.5\"/>\n<text class=\"legend\" "
				       "x=\"%u\" y=\"%u\">%s</text>\n",
				       states[s].cls, x, y + line * 18, x + 18,
				       y + line * 18 + 10,
				       /* the other states mean the same in both */
				       s == CELL_ABSENT && kvm ?
				       "absent (not mirrored; in KVM's grids: no "
				       "leaf)" : states[s].label);
	g_string_append_printf(out, "<rect x=\"%u\" y=\"%u\" width=\"12\" "
			       "height=\"12\" fill=\"#fff\" stroke=\"#666\" "
			       "stroke-width=\"0.5\"/><circle cx=\"%u\" cy=\"%u\" "
			       "r=\"3\" fill=\"#111\"/>\n<text class=\"legend\" "
			       "x=\"%u\" y=\"%u\">young (accessed bit set)%s</text>\n",
			       x, y + line * 18, x + 6, y + line * 18 + 6, x + 18,
			       y + line * 18 + 10,
			       aggregate ? ", in most mapped pages of the region" :
			       "");
	line++;
	g_string_append_printf(out, "<rect class=\"region\" x=\"%u\" y=\"%u\" "
			       "width=\"12\" height=\"12\"/>\n<text class=\"legend\" "
			       "x=\"%u\" y=\"%u\">%s</text>\n",
			       x, y + line * 18, x + 18, y + line * 18 + 10,
			       aggregate ? "each cell is a 2 MiB region in its "
			       "dominant state; a row is 128 MiB" :
			       "one cell per 4K page, 64 per row; outlined: a "
			       "2 MiB region (8 rows)");
	line++;
	if (aggregate)
		g_string_append_printf(out, "<text class=\"legend\" x=\"%u\" "
				       "y=\"%u\">aggregated: %" G_GUINT64_FORMAT
				       " pages are more than %u cells</text>\n",
				       x, y + line * 18 + 10, pages,
				       SPTE_SVG_MAX_PAGE_CELLS);
}

/* One grid to draw: a dump's pages under a label. */
struct drawn {
	GArray *pages;		/* struct spte_page */
	char *label;
};

static void drawn_free(gpointer p)
{
	struct drawn *d = p;

	g_array_unref(d->pages);
	g_free(d->label);
	g_free(d);
}

static struct drawn *drawn_new(const struct spte_mirror_table *t,
			       char *label)
{
	struct drawn *d = g_new0(struct drawn, 1);

	d->pages = spte_dump_pages(t);
	d->label = label;
	return d;
}

/*
 * KVM's grid of dump @label.  It is drawn over the mirror's pages only:
 * KVM also maps memory the mirror has no slot for (the VMM's system slot
 * at 64 GiB), which would stretch every grid to nothing; its label counts
 * what it leaves out.
 */
static struct drawn *kvm_drawn(const struct spte_kvm_snapshot *snap,
			       const char *label, guint64 pages)
{
	struct spte_mirror_table *t = spte_kvm_snapshot_as_dump(snap);
	GString *l = g_string_new(NULL);
	struct drawn *d;
	guint beyond = 0;

	for (guint i = 0; i < snap->leaves->len; i++)
		beyond += g_array_index(snap->leaves, struct spte_kvm_leaf,
					i).gpa >= pages << 12;
	g_string_append_printf(l, "KVM at %s", label);
	if (snap->incomplete)
		g_string_append(l, " (incomplete)");
	if (beyond)
		g_string_append_printf(l, "; %u leaves above 0x%"
				       G_GINT64_MODIFIER "x not drawn", beyond,
				       pages << 12);
	d = drawn_new(t, g_string_free(l, FALSE));
	spte_mirror_table_free(t);
	return d;
}

char *spte_svg_render(const char *title, guint64 ram_size,
		      const struct spte_mirror_table *const *tables,
		      const struct spte_kvm_snapshot *const *kvm,
		      const char *const *labels, guint n, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GPtrArray) grids = g_ptr_array_new_with_free_func(drawn_free);
	g_autofree char *esc_title = NULL;
	guint64 pages = (ram_size + 4095) >> 12, cells;
	guint cell, width, height, grid_w, legend_y;
	gboolean aggregate, any_kvm = FALSE;
	guint64 rows;

	if (!n || !tables) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "svg: no dump to draw");
		return NULL;
	}
	for (guint i = 0; i < n; i++) {
		GArray *p;

		if (!tables[i]) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "svg: dump %u is missing", i);
			return NULL;
		}
		g_ptr_array_add(grids, drawn_new(tables[i],
			labels && labels[i] && *labels[i] ?
			g_strdup(labels[i]) :
			g_strdup_printf("dump %u", i + 1)));
		p = ((struct drawn *)g_ptr_array_index(grids, i))->pages;
		if (p->len)
			pages = MAX(pages, g_array_index(p, struct spte_page,
							 p->len - 1).gfn + 1);
	}
	if (!pages)
		pages = PAGES_2M;
	/* each KVM grid right of its dump's; from the last, so i stays i */
	for (guint i = n; kvm && i-- > 0;) {
		if (!kvm[i])
			continue;
		g_ptr_array_insert(grids, i + 1, kvm_drawn(kvm[i],
			((struct drawn *)grids->pdata[i])->label, pages));
		any_kvm = TRUE;
	}
	aggregate = pages > SPTE_SVG_MAX_PAGE_CELLS;
	cells = aggregate ? (pages + PAGES_2M - 1) / PAGES_2M : pages;
	if (cells > MAX_CELLS) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "svg: %" G_GUINT64_FORMAT " MiB of guest memory is "
			    "too much to draw (at most %u GiB)", pages >> 8,
			    MAX_CELLS * 2 / 1024);
		return NULL;
	}
	if (aggregate)
		cell = 8;
	else
		cell = cells <= 4096 ? 10 : cells <= 16384 ? 6 : 4;
	rows = (cells + COLS - 1) / COLS;
	grid_w = COLS * cell;
	width = MARGIN + AXIS_W + grids->len * grid_w + (grids->len - 1) * GAP +
		MARGIN;
	width = MAX(width, 560);
	legend_y = TOP + rows * cell + 24;
	height = legend_y + 8 * 18 + MARGIN;
	esc_title = g_markup_escape_text(title ? title : "spte_mirror", -1);

	g_string_append_printf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		"width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\">\n"
		"<title>%s</title>\n"
		"<defs>\n<style type=\"text/css\"><![CDATA[\n"
		"text { font-family: monospace; fill: #222; }\n"
		".title { font-size: 16px; font-weight: bold; }\n"
		".sub { font-size: 11px; fill: #555; }\n"
		".label { font-size: 13px; font-weight: bold; }\n"
		".axis { font-size: 10px; text-anchor: end; }\n"
		".legend { font-size: 11px; }\n"
		".region { fill: none; stroke: #333; stroke-width: 1; }\n",
		width, height, width, height, esc_title);
	for (int s = 0; s < CELL_STATES; s++)
		g_string_append_printf(out, ".%s { fill: %s; }\n", states[s].cls,
				       states[s].colour);
	g_string_append_printf(out,
		"]]></style>\n"
		"<pattern id=\"cells\" patternUnits=\"userSpaceOnUse\" "
		"width=\"%u\" height=\"%u\"><path d=\"M %u 0 V %u H 0\" "
		"fill=\"none\" stroke=\"#fff\" stroke-width=\"0.5\"/></pattern>\n"
		"<pattern id=\"young\" patternUnits=\"userSpaceOnUse\" "
		"width=\"%u\" height=\"%u\"><circle cx=\"%g\" cy=\"%g\" r=\"%g\" "
		"fill=\"#111\"/></pattern>\n</defs>\n"
		"<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#fff\"/>\n"
		"<text class=\"title\" x=\"%u\" y=\"24\">%s</text>\n"
		"<text class=\"sub\" x=\"%u\" y=\"40\">guest RAM %" G_GUINT64_FORMAT
		" KiB (%" G_GUINT64_FORMAT " pages), GPA 0 at the top left</text>\n",
		cell, cell, cell, cell, cell, cell, cell / 2.0, cell / 2.0,
		MAX(cell * 0.22, 1.0), width, height, MARGIN, esc_title, MARGIN,
		pages * 4, pages);
	draw_axis(out, cells, cell, aggregate);
	for (guint i = 0; i < grids->len; i++) {
		const struct drawn *d = grids->pdata[i];
		struct grid g;

		grid_fill(&g, d->pages, cells, aggregate);
		draw_grid(out, &g, cells, cell, aggregate,
			  MARGIN + AXIS_W + i * (grid_w + GAP), d->label);
		g_free(g.state);
		g_free(g.young);
	}
	draw_legend(out, legend_y, aggregate, pages, any_kvm);
	g_string_append(out, "</svg>\n");
	return g_string_free(g_steal_pointer(&out), FALSE);
}
