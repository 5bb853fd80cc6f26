/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Folding a log whose records repeat page after page: KSM merging 32
 * pages logs the same eight callbacks 32 times, one page further on each
 * time.  Printed as the eight once, under a "×32 gpa 0x0-0x1f000 step
 * 0x1000" line, it fits a screen and the one page that behaves otherwise
 * stands out.  The notifier timeline, KVM's tracepoint list and spte
 * compare all fold with spte_fold_find(), so a pattern reads the same in
 * each.
 *
 * A fold is a block of P records (the period) repeated N times: record j
 * of every block is the same step as record j of the first, its address
 * taken relative to its block, and consecutive blocks start a constant
 * stride apart.  What "the same step" means is the caller's (callback,
 * flags, size, nesting...), and so is the address (the GPA, or the HVA
 * outside guest memory).  The caller also says where a fold may not
 * reach across (a gap in the sequence numbers, a lost-records marker):
 * folding never hides a record that differs, and a block that breaks the
 * pattern is printed in full.
 */
#ifndef SPTE_INSPECT_FOLD_H
#define SPTE_INSPECT_FOLD_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* Longer periods are rare and cost time on logs of 100000 records. */
#define SPTE_FOLD_MAX_PERIOD	32

struct spte_fold_ops {
	/*
	 * Are records @a < @b the same step, their addresses aside?  If so,
	 * set *@delta to @b's address minus @a's.
	 */
	gboolean (*same)(gconstpointer data, guint a, guint b, gint64 *delta);
	/* May record @i be in one fold with record @i - 1?  NULL: always. */
	gboolean (*joins)(gconstpointer data, guint i);
	/*
	 * Record @i's address.  Of two ways to fold that print as many
	 * lines, the one whose folds start where the address changes wins:
	 * a block is a page's records, not the last of one page and the
	 * first of the next.  NULL: no preference.
	 */
	gint64 (*addr)(gconstpointer data, guint i);
};

/*
 * Where a record of the notifier timeline or of KVM's tracepoints acted:
 * an HVA range and, inside guest memory, the GPA range that stands for
 * it.  Both logs fold on it alike: the GPA is the address, the HVA moving
 * with it; outside guest memory the HVA alone.
 */
struct spte_fold_place {
	guint64 hva_start, hva_end;
	gboolean has_gpa;
	guint64 gpa_start, gpa_end;
};

/*
 * The place half of a same(): ranges of the same size, both inside guest
 * memory or both outside, and inside it the GPA moved as far as the HVA.
 * If so, *@delta is the HVA's move.
 */
gboolean spte_fold_same_place(const struct spte_fold_place *x,
			      const struct spte_fold_place *y, gint64 *delta);
/* The address of @p for addr(): its GPA, or its HVA outside guest memory. */
gint64 spte_fold_place_addr(const struct spte_fold_place *p);

/* Records first .. first + period * count - 1. */
struct spte_fold {
	guint first;
	guint period;		/* records per block */
	guint count;		/* blocks; 1: records printed one by one */
	gint64 stride;		/* block k + 1's address minus block k's */
};

/*
 * Cover records 0 .. @n - 1, in order, with folds and, for records that
 * fold with nothing, entries of period 1, count 1.  Among the ways to
 * fold, the one printing the fewest lines wins, a fold of period 1
 * counting one line and any other period + 1 (its ×N line); a fold has
 * three blocks at least.  So a page that breaks a run is printed in
 * full rather than starting a fold of its own with the wrong stride.
 * Returns a GArray of struct spte_fold.
 */
GArray *spte_fold_find(guint n, const struct spte_fold_ops *ops,
		       gconstpointer data);

/*
 * "×N gpa A-B step S": @space is "gpa" or "hva", @first the first block's
 * address, B the last block's.  A stride of 0 repeats the same range.
 * @space NULL: "×N" alone, for an address that would mean nothing to the
 * reader (another run's HVAs).
 */
void spte_fold_append_range(GString *out, const char *space, guint64 first,
			    const struct spte_fold *f);

/*
 * One printed line of a folded log, as spte compare lines up two kernels'
 * logs and prints them side by side.
 */
enum spte_row_kind {
	SPTE_ROW_RECORD,	/* one record */
	SPTE_ROW_RUN,		/* a fold of period 1: N records on one line */
	SPTE_ROW_FOLD,		/* the ×N line of a fold of period > 1 */
	SPTE_ROW_BLOCK,		/* a record of that fold's first block */
	SPTE_ROW_NOTE,		/* lost records, a gap in the sequence */
};

struct spte_row {
	enum spte_row_kind kind;
	char *when;		/* "+18.681 ms", a trace timestamp; "" if none */
	char *seq;		/* "#13", "#13-252"; "" if none */
	char *text;		/* indentation, callback, range, detail */
	/*
	 * What a row of another kernel's log must have to be the same step:
	 * the callback, its nesting and its GPA range, not PFNs or times.
	 */
	char *key;
	guint records;		/* log records it stands for (BLOCK: 0) */
	guint count, period;	/* RUN and FOLD: ×count of period records */
	gint64 stride;
	guint64 first_addr;	/* RUN and FOLD: the first block's address */
};

struct spte_row *spte_row_new(enum spte_row_kind kind, const char *when,
			      const char *seq, char *text, char *key);
void spte_row_free(struct spte_row *r);
/* A GPtrArray that frees its rows. */
GPtrArray *spte_rows_new(void);
/* {"kind", "seq", "text", and for a fold "count", "period", "step"} */
JsonNode *spte_row_to_json(const struct spte_row *r);
/* Lines: "WHEN  SEQ TEXT", the columns as wide as their widest entry. */
void spte_rows_format(GPtrArray *rows, const char *indent, GString *out);

#endif
