// SPDX-License-Identifier: GPL-2.0
/*
 * bench-events: the notifier records a KSM merge of guest RAM produces,
 * how fast, and how many of them the scenario engine's event log keeps.
 *
 * Each run is one engine session (spte_session_boot(), as `spte run
 * --mirror --ksm` makes it): N MiB of guest RAM filled by the guest with
 * one byte pattern, so every page is identical, mirrored writable (`map 0
 * PAGES write`), then ksmd sped up to 100x (pages_to_scan 10000,
 * sleep_millisecs 20) or 200x (10000, 10) the default 100 pages / 20 ms
 * until full_scans has grown by 2.  Once with the session's reader thread
 * draining the mirror's ring while ksmd runs, and for contrast once with
 * the thread stopped, so the ring is read only when the scan is over, as
 * the engine did before it had the thread.
 *
 * Run: spte lab --add build/bench/bench-events -- bench-events
 *      [--size-mib N] [--scans N] [--ring RECORDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <glib.h>

#include "agent_client.h"
#include "event_reader.h"
#include "knobs.h"
#include "language.h"
#include "session.h"

#define KSM "/sys/kernel/mm/ksm/"
#define SCAN_TIMEOUT_S 300
/* the busiest stretch of a run, for its burst rate */
#define BURST_NS 100000000ULL

static guint64 size_mib = 64;
static guint64 scans = 3;
static guint64 ring;		/* 0: the session's own size */
static guint reps = 3;

#define die(...) do {							\
	fprintf(stderr, "bench-events: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	exit(1);							\
} while (0)

struct rate {
	const char *name;
	const char *sleep_ms;
};

static const struct rate rates[] = {
	{ "100x", "20" },
	{ "200x", "10" },
};

struct result {
	guint64 produced;	/* logged + dropped, from the counters */
	guint64 kept;		/* records in the log but DROPPED ones */
	guint64 dropped;	/* what the DROPPED records say was lost */
	guint64 counted_drops;	/* the module's events_dropped */
	guint64 burst;		/* most kept records in BURST_NS */
	gboolean complete;	/* seq runs without a gap */
	guint peak;		/* reader: most records at one wake-up */
	double scan_s;
	double cpu_ms;		/* the VMM's CPU time during the scan */
	guint64 pages_sharing;
};

static void step(struct spte_session *s, const char *text)
{
	g_autoptr(GString) line = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(spte_step) st = spte_step_parse(text, 1, &error);

	if (!st || !st->verb->run(s, st, line, &error))
		die("step '%s': %s", text, error->message);
	if (!g_str_has_prefix(line->str, "ok"))
		die("step '%s': %s", text, line->str);
}

static guint64 counters_total(struct spte_session *s, guint64 *dropped)
{
	struct spte_mirror_counters c;
	int err = spte_mirror_counters(s->mirror, &c);

	if (err)
		die("SPTE_MIRROR_COUNTERS: %s", spte_mirror_strerror(err));
	*dropped = c.events_dropped;
	return c.events_logged + c.events_dropped;
}

static double cpu_ms(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
	       (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static void ksm_scan(const struct rate *r, struct result *res)
{
	g_autoptr(spte_knobs) knobs = spte_knobs_new();
	g_autoptr(GError) error = NULL;
	guint64 start, end;
	gint64 t0;

	if (!spte_knobs_set(knobs, KSM "pages_to_scan", "10000", &error) ||
	    !spte_knobs_set(knobs, KSM "sleep_millisecs", r->sleep_ms,
			    &error))
		die("%s", error->message);
	t0 = g_get_monotonic_time();
	res->cpu_ms = cpu_ms();
	if (!spte_knobs_set(knobs, KSM "run", "1", &error) ||
	    !spte_knob_wait_growth(KSM "full_scans", scans, SCAN_TIMEOUT_S,
				   &start, &end, &error))
		die("ksmd at %s: %s", r->name, error->message);
	res->scan_s = (g_get_monotonic_time() - t0) / 1e6;
	res->cpu_ms = cpu_ms() - res->cpu_ms;
	if (!spte_knob_read_u64(KSM "pages_sharing", &res->pages_sharing,
				&error))
		die("%s", error->message);
}

/* What the log holds of the scan: records[first..]. */
static void tally(GArray *events, guint first, struct result *res)
{
	const struct spte_mirror_event *ev =
		&g_array_index(events, struct spte_mirror_event, 0);
	guint64 next_seq = first < events->len ? ev[first].seq : 0;
	guint lo = first;

	res->complete = TRUE;
	for (guint i = first; i < events->len; i++) {
		if (ev[i].callback == SPTE_CB_DROPPED) {
			res->dropped += ev[i].leaves;
			res->complete = FALSE;
			next_seq = ev[i].seq + 1;
			continue;
		}
		if (ev[i].seq != next_seq)
			res->complete = FALSE;
		next_seq = ev[i].seq + 1;
		res->kept++;
		while (ev[lo].callback == SPTE_CB_DROPPED ||
		       ev[i].time_ns - ev[lo].time_ns >= BURST_NS)
			lo++;
		res->burst = MAX(res->burst, (guint64)(i - lo + 1));
	}
}

static void run(const struct rate *r, gboolean drain, guint pattern,
		struct result *res)
{
	struct spte_mem_opts mem = { .size = size_mib << 20,
				     .backing = SPTE_BACKING_ANON,
				     .ksm = TRUE };
	guint64 pages = mem.size >> 12, before, after, drops0, drops1;
	g_autofree char *fill = NULL, *map = NULL;
	g_autoptr(GError) error = NULL;
	struct spte_boot_times times;
	struct spte_session s;
	guint first;

	memset(res, 0, sizeof(*res));
	if (!spte_session_boot(&s, &mem, NULL, TRUE, SPTE_KVM_LEAVES_OFF,
			       &times, &error))
		die("booting a %" G_GUINT64_FORMAT " MiB guest: %s", size_mib,
		    error->message);
	if (!drain)
		g_clear_pointer(&s.reader, spte_event_reader_stop);
	if (ring) {
		int err = spte_mirror_set_log(s.mirror, ring,
					      SPTE_LOG_SLOTS_ONLY, NULL);

		if (err)
			die("--ring %" G_GUINT64_FORMAT ": %s", ring,
			    spte_mirror_strerror(err));
	}
	/* a pattern of its own: no KSM page left by the last run matches */
	fill = g_strdup_printf("fill 0 %" G_GUINT64_FORMAT " %#x", pages,
			       pattern);
	map = g_strdup_printf("map 0 %" G_GUINT64_FORMAT " write", pages);
	step(&s, fill);
	step(&s, map);
	if (!spte_session_drain_events(&s, &error))
		die("%s", error->message);
	first = s.events->len;
	before = counters_total(&s, &drops0);

	ksm_scan(r, res);

	if (s.reader)
		res->peak = spte_event_reader_peak(s.reader);
	if (!spte_session_drain_events(&s, &error))
		die("%s", error->message);
	after = counters_total(&s, &drops1);
	res->produced = after - before;
	res->counted_drops = drops1 - drops0;
	tally(s.events, first, res);
	if (!spte_agent_halt(s.vcpu, &error))
		die("halting the guest: %s", error->message);
	spte_session_close(&s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, guint n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One configuration over its repetitions: medians, and the worst loss. */
struct summary {
	double records, scan_s, rate, burst, cpu_ms;
	guint64 min_kept, max_dropped, drops_differ;
	guint gaps, peak;
	guint64 min_sharing;
};

static void summarize(const struct result *res, struct summary *sum)
{
	g_autofree double *v = g_new(double, reps);

	memset(sum, 0, sizeof(*sum));
	sum->min_kept = sum->min_sharing = G_MAXUINT64;
	for (guint i = 0; i < reps; i++)
		v[i] = res[i].produced;
	sum->records = median(v, reps);
	for (guint i = 0; i < reps; i++)
		v[i] = res[i].scan_s;
	sum->scan_s = median(v, reps);
	for (guint i = 0; i < reps; i++)
		v[i] = res[i].produced / res[i].scan_s;
	sum->rate = median(v, reps);
	for (guint i = 0; i < reps; i++)
		v[i] = res[i].burst * 1e9 / BURST_NS;
	sum->burst = median(v, reps);
	for (guint i = 0; i < reps; i++)
		v[i] = res[i].cpu_ms;
	sum->cpu_ms = median(v, reps);
	for (guint i = 0; i < reps; i++) {
		sum->min_kept = MIN(sum->min_kept, res[i].kept);
		sum->max_dropped = MAX(sum->max_dropped, res[i].dropped);
		sum->drops_differ += res[i].dropped != res[i].counted_drops;
		sum->gaps += !res[i].complete;
		sum->peak = MAX(sum->peak, res[i].peak);
		sum->min_sharing = MIN(sum->min_sharing,
				       res[i].pages_sharing);
	}
}

static void print_row(const struct rate *r, gboolean drain,
		      const struct summary *sum)
{
	g_autofree char *peak = drain ? g_strdup_printf("%u", sum->peak) :
					g_strdup("-");

	printf("  %s (10000 / %2s ms)  %-10s %8.0f %7.2f %10.0f %10.0f %8"
	       G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT "%s %7s %7.0f %8"
	       G_GUINT64_FORMAT "\n", r->name, r->sleep_ms,
	       drain ? "draining" : "at the end", sum->records, sum->scan_s,
	       sum->rate, sum->burst, sum->min_kept, sum->max_dropped,
	       sum->gaps ? "!" : " ", peak, sum->cpu_ms, sum->min_sharing);
	if (sum->drops_differ)
		printf("    (in %" G_GUINT64_FORMAT " runs the module counted "
		       "other drops than the DROPPED records said)\n",
		       sum->drops_differ);
}

int main(int argc, char **argv)
{
	g_autofree char *cmdline = g_strjoinv(" ", argv);
	struct summary sum[G_N_ELEMENTS(rates)][2];
	g_autofree struct result *res = NULL;
	guint64 pages;
	struct utsname u;
	guint pattern = 0x11;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size-mib") && i + 1 < argc)
			size_mib = g_ascii_strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--scans") && i + 1 < argc)
			scans = g_ascii_strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--ring") && i + 1 < argc)
			ring = g_ascii_strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = g_ascii_strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench-events [--size-mib N] "
				"[--scans N] [--ring RECORDS] [--reps N]\n");
			return 2;
		}
	}
	if (size_mib < 2 || size_mib % 2 || !scans || !reps || reps > 99)
		die("--size-mib must be an even number >= 2, --scans >= 1, "
		    "--reps 1..99");
	pages = size_mib << 8;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	printf("command: %s\n", cmdline);
	if (access("/opt/spte/bin", F_OK) == 0)
		printf("  i.e. spte lab --add <builddir>/bench/bench-events -- "
		       "%s\n", cmdline);
	printf("kernel: %s %s, %ld CPUs%s\n", u.sysname, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN),
	       access("/opt/spte/bin", F_OK) == 0 ?
	       " (inside `spte lab`: QEMU TCG, nested KVM; times are "
	       "relative)" : "");
	printf("guest: %" G_GUINT64_FORMAT " MiB of identical pages (%"
	       G_GUINT64_FORMAT " x 4K), mirrored writable, ksmd until "
	       "full_scans +%" G_GUINT64_FORMAT "; event ring %"
	       G_GUINT64_FORMAT " records%s; %u repetitions, configurations "
	       "interleaved\n\n", size_mib, pages, scans,
	       ring ? ring : spte_session_log_records(size_mib << 20),
	       ring ? " (--ring)" : " (the session's size for this guest)",
	       reps);

	/* res[(rate * 2 + end_only) * reps + rep] */
	res = g_new0(struct result, G_N_ELEMENTS(rates) * 2 * reps);
	for (guint i = 0; i < reps; i++)
		for (guint r = 0; r < G_N_ELEMENTS(rates); r++)
			for (guint e = 0; e < 2; e++) {
				struct result *x = &res[(r * 2 + e) * reps + i];

				run(&rates[r], !e, pattern++, x);
				printf("  run %u, %s, %s: %" G_GUINT64_FORMAT
				       " records in %.2f s, %" G_GUINT64_FORMAT
				       " kept, %" G_GUINT64_FORMAT " dropped, "
				       "VMM CPU %.0f ms\n", i + 1,
				       rates[r].name,
				       e ? "at the end" : "draining",
				       x->produced, x->scan_s, x->kept,
				       x->dropped, x->cpu_ms);
			}
	for (guint r = 0; r < G_N_ELEMENTS(rates); r++)
		for (guint e = 0; e < 2; e++)
			summarize(&res[(r * 2 + e) * reps], &sum[r][e]);

	printf("\n  ksmd rate                  events      records  scan s  "
	       "records/s  burst/s(*)    kept   dropped  peak(**) "
	       "cpu ms  pages_sharing\n");
	for (guint r = 0; r < G_N_ELEMENTS(rates); r++)
		for (guint e = 0; e < 2; e++)
			print_row(&rates[r], !e, &sum[r][e]);
	printf("\n");
	for (guint r = 0; r < G_N_ELEMENTS(rates); r++)
		printf("  %s: draining kept %.2fx the records of reading at "
		       "the end (%" G_GUINT64_FORMAT " vs %" G_GUINT64_FORMAT
		       "), in a scan %.2fx as long\n", rates[r].name,
		       (double)sum[r][0].min_kept / MAX(sum[r][1].min_kept, 1),
		       sum[r][0].min_kept, sum[r][1].min_kept,
		       sum[r][0].scan_s / sum[r][1].scan_s);
	printf("  records/s, 200x / 100x: %.2f draining, %.2f at the end\n",
	       sum[1][0].rate / sum[0][0].rate,
	       sum[1][1].rate / sum[0][1].rate);
	printf("\n  medians over the repetitions, except kept (the fewest), "
	       "dropped, peak (the most) and pages_sharing (the fewest)\n"
	       "  records: logged + dropped by the module during the scan; "
	       "records/s: over the scan's wall time\n"
	       "  (*) the most records kept in any 100 ms, per second; "
	       "'!' after dropped: seq has gaps\n"
	       "  (**) the most records the reader thread took at one "
	       "wake-up\n"
	       "  cpu ms: the VMM's CPU time (user + system) during the "
	       "scan, the reader thread's included\n");
	return 0;
}
