// SPDX-License-Identifier: GPL-2.0
/* The mirror's event reader thread; see event_reader.h. */
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_reader.h"
#include "session.h"
#include "spte_error.h"

struct spte_event_reader {
	struct spte_mirror *m;
	int stop_fd;		/* an eventfd: a write ends the thread */
	GThread *thread;
	/* held over every read() of the fd; guards the fields below */
	GMutex lock;
	GArray *pending;	/* read by the thread, not drained yet */
	GError *error;		/* why the thread stopped early */
	guint peak;
};

/*
 * After each read the thread naps this long before it waits for records
 * again.  The module wakes a waiting reader for every record it logs; a
 * thread that took them one at a time would spend a context switch per
 * record, and in the lab, where every vCPU runs on one host thread, that
 * time comes out of ksmd's.  A ring of 65536 records fills in no less
 * than a quarter of a second at the fastest rate measured (see
 * bench/README.md), so 10 ms of records waiting costs nothing.
 */
#define READER_NAP_MS 10

/* Wait for a record, or for the stop; FALSE when it is time to stop. */
static gboolean reader_wait(struct spte_event_reader *r, gboolean nap)
{
	struct pollfd pfd[2] = {
		{ .fd = r->stop_fd, .events = POLLIN },
		{ .fd = spte_mirror_fd(r->m), .events = POLLIN },
	};
	int n;

	do {
		/* a nap watches only the stop */
		n = poll(pfd, nap ? 1 : 2, nap ? READER_NAP_MS : -1);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		g_mutex_lock(&r->lock);
		spte_set_errno(&r->error, errno, "poll(spte_mirror)");
		g_mutex_unlock(&r->lock);
		return FALSE;
	}
	return !pfd[0].revents;
}

static gpointer reader_thread(gpointer data)
{
	struct spte_event_reader *r = data;

	while (reader_wait(r, FALSE)) {
		guint before;
		gboolean ok;

		/*
		 * A drain may have emptied the ring since poll() said
		 * otherwise: spte_read_all_events() polls again without
		 * waiting, so it never blocks here with the lock held.
		 */
		g_mutex_lock(&r->lock);
		before = r->pending->len;
		ok = spte_read_all_events(r->m, r->pending, &r->error);
		r->peak = MAX(r->peak, r->pending->len - before);
		g_mutex_unlock(&r->lock);
		if (!ok || !reader_wait(r, TRUE))
			break;
	}
	return NULL;
}

struct spte_event_reader *spte_event_reader_start(struct spte_mirror *m,
						  GError **error)
{
	struct spte_event_reader *r = g_new0(struct spte_event_reader, 1);

	r->m = m;
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stop_fd < 0) {
		spte_set_errno(error, errno, "eventfd for the event reader");
		g_free(r);
		return NULL;
	}
	g_mutex_init(&r->lock);
	r->pending = g_array_new(FALSE, FALSE,
				 sizeof(struct spte_mirror_event));
	r->thread = g_thread_new("spte-events", reader_thread, r);
	return r;
}

gboolean spte_event_reader_drain(struct spte_event_reader *r, GArray *into,
				 GError **error)
{
	gboolean ok = TRUE;

	g_mutex_lock(&r->lock);
	g_array_append_vals(into, r->pending->data, r->pending->len);
	g_array_set_size(r->pending, 0);
	if (r->error) {
		g_propagate_prefixed_error(error, g_steal_pointer(&r->error),
					   "the event reader thread stopped: ");
		ok = FALSE;
	}
	/* what the module logged since the thread last woke */
	if (ok)
		ok = spte_read_all_events(r->m, into, error);
	g_mutex_unlock(&r->lock);
	return ok;
}

guint spte_event_reader_peak(struct spte_event_reader *r)
{
	guint peak;

	g_mutex_lock(&r->lock);
	peak = r->peak;
	g_mutex_unlock(&r->lock);
	return peak;
}

void spte_event_reader_stop(struct spte_event_reader *r)
{
	guint64 one = 1;

	if (!r)
		return;
	if (write(r->stop_fd, &one, sizeof(one)) != sizeof(one))
		g_warning("cannot stop the event reader thread: %s",
			  g_strerror(errno));
	g_thread_join(r->thread);
	close(r->stop_fd);
	g_array_unref(r->pending);
	g_clear_error(&r->error);
	g_mutex_clear(&r->lock);
	g_free(r);
}
