// SPDX-License-Identifier: GPL-2.0
/*
 * The event reader thread against a FIFO standing in for the mirror fd:
 * the module hands out whole 96-byte records, and so does a FIFO whose
 * writer writes whole records of at most PIPE_BUF bytes at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event_reader.h"
#include "spte-test.h"

struct fifo {
	char *dir;
	char *path;
	struct spte_mirror *m;	/* the end the reader reads */
	int wfd;
};

static void fifo_open(struct fifo *f)
{
	g_autoptr(GError) error = NULL;

	f->dir = g_dir_make_tmp("spte-test-events.XXXXXX", &error);
	g_assert_no_error(error);
	f->path = g_build_filename(f->dir, "events", NULL);
	g_assert_cmpint(mkfifo(f->path, 0600), ==, 0);
	/* O_RDWR: opening the writer does not wait for a reader */
	g_assert_cmpint(spte_mirror_open_path(f->path, &f->m), ==, 0);
	f->wfd = open(f->path, O_WRONLY | O_CLOEXEC);
	g_assert_cmpint(f->wfd, >=, 0);
}

static void fifo_close(struct fifo *f)
{
	close(f->wfd);
	spte_mirror_close(f->m);
	g_unlink(f->path);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

/* Records seq first .. first + n - 1, in one write (n <= 42). */
static void write_records(struct fifo *f, guint64 first, guint64 n)
{
	struct spte_mirror_event ev[42] = { 0 };
	ssize_t w;

	g_assert_cmpuint(n, <=, G_N_ELEMENTS(ev));
	for (guint i = 0; i < n; i++) {
		ev[i].seq = first + i;
		ev[i].callback = SPTE_CB_INVALIDATE_RANGE_START;
		ev[i].gpa_start = (first + i) << 12;
	}
	do {
		w = write(f->wfd, ev, n * sizeof(ev[0]));
	} while (w < 0 && errno == EINTR);
	g_assert_cmpint(w, ==, (ssize_t)(n * sizeof(ev[0])));
}

static void assert_in_order(GArray *got, guint64 n)
{
	g_assert_cmpuint(got->len, ==, n);
	for (guint i = 0; i < got->len; i++) {
		const struct spte_mirror_event *e =
			&g_array_index(got, struct spte_mirror_event, i);

		if (e->seq != i + 1)
			g_error("record %u has seq %" G_GUINT64_FORMAT
				", expected %u", i, (guint64)e->seq, i + 1);
	}
}

/*
 * The thread and drains read the same fd at once; every record arrives
 * once, in the order written, however the two interleave.
 */
static void test_order(void)
{
	const guint64 total = 50000;
	g_autoptr(GArray) got = g_array_new(FALSE, FALSE,
					    sizeof(struct spte_mirror_event));
	g_autoptr(GError) error = NULL;
	struct spte_event_reader *r;
	struct fifo f;
	guint64 seq = 1;
	guint drains = 0;

	fifo_open(&f);
	r = spte_event_reader_start(f.m, &error);
	g_assert_no_error(error);
	while (seq <= total) {
		guint64 n = g_test_rand_int_range(1, 43);

		n = MIN(n, total - seq + 1);

		write_records(&f, seq, n);
		seq += n;
		if (g_test_rand_int_range(0, 16) == 0) {
			g_assert_true(spte_event_reader_drain(r, got, &error));
			g_assert_no_error(error);
			drains++;
		}
	}
	/* everything written is in the FIFO or the pending array */
	g_assert_true(spte_event_reader_drain(r, got, &error));
	g_assert_no_error(error);
	assert_in_order(got, total);
	g_assert_cmpuint(spte_event_reader_peak(r), <=, total);
	g_test_message("%u drains, the thread found at most %u records "
		       "waiting", drains, spte_event_reader_peak(r));
	spte_event_reader_stop(r);
	fifo_close(&f);
}

/* Records nobody wrote yet are not waited for; an idle drain adds none. */
static void test_idle(void)
{
	g_autoptr(GArray) got = g_array_new(FALSE, FALSE,
					    sizeof(struct spte_mirror_event));
	g_autoptr(GError) error = NULL;
	struct spte_event_reader *r;
	struct fifo f;

	fifo_open(&f);
	r = spte_event_reader_start(f.m, &error);
	g_assert_no_error(error);
	g_assert_true(spte_event_reader_drain(r, got, &error));
	g_assert_cmpuint(got->len, ==, 0);
	write_records(&f, 1, 3);
	g_assert_true(spte_event_reader_drain(r, got, &error));
	g_assert_no_error(error);
	assert_in_order(got, 3);
	/* stopped with records undrained: they go with it */
	write_records(&f, 4, 5);
	spte_event_reader_stop(r);
	fifo_close(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/events/reader/order", test_order);
	g_test_add_func("/events/reader/idle", test_idle);
	return g_test_run();
}
