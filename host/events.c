// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: the event ring.  Every notifier callback is counted, traced
 * and (unless filtered) queued as a record that read() returns and poll()
 * waits for, with no silent loss: drops are reported in-band.  LOG_CONFIG
 * resizes and filters the ring.  The tracepoints are defined here.
 */
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "mirror.h"

#define CREATE_TRACE_POINTS
#include "spte_mirror_trace.h"

int spte_events_init(struct spte_mirror *m)
{
	m->ev_ring = kvcalloc(SPTE_LOG_DEFAULT, sizeof(*m->ev_ring),
			      GFP_KERNEL_ACCOUNT);
	if (!m->ev_ring)
		return -ENOMEM;
	m->ev_size = SPTE_LOG_DEFAULT;
	spin_lock_init(&m->ev_lock);
	mutex_init(&m->ev_read_lock);
	init_waitqueue_head(&m->ev_wait);
	return 0;
}

void spte_events_free(struct spte_mirror *m)
{
	mutex_destroy(&m->ev_read_lock);
	kvfree(m->ev_ring);
}

u32 spte_event_code(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_UNMAP:
		return SPTE_EV_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return SPTE_EV_CLEAR;
	case MMU_NOTIFY_PROTECTION_VMA:
		return SPTE_EV_PROTECTION_VMA;
	case MMU_NOTIFY_PROTECTION_PAGE:
		return SPTE_EV_PROTECTION_PAGE;
	case MMU_NOTIFY_SOFT_DIRTY:
		return SPTE_EV_SOFT_DIRTY;
	case MMU_NOTIFY_RELEASE:
		return SPTE_EV_RELEASE;
	case MMU_NOTIFY_MIGRATE:
		return SPTE_EV_MIGRATE;
	case MMU_NOTIFY_EXCLUSIVE:
		return SPTE_EV_EXCLUSIVE;
	default:
		return SPTE_EV_NONE;
	}
}

void spte_event_init(struct spte_mirror_event *ev, u32 cb,
		     unsigned long start, unsigned long end)
{
	memset(ev, 0, sizeof(*ev));
	ev->callback = cb;
	ev->event = SPTE_EV_NONE;
	ev->hva_start = start;
	ev->hva_end = end;
	ev->gpa_start = SPTE_MIRROR_NONE;
	ev->gpa_end = SPTE_MIRROR_NONE;
	ev->old_pfn = SPTE_MIRROR_NONE;
	ev->new_pfn = SPTE_MIRROR_NONE;
}

/*
 * Count, trace and (unless filtered) queue one callback invocation.  Called
 * after mmu_lock is dropped, possibly under the primary page-table lock.
 */
void spte_log(struct spte_mirror *m, struct spte_mirror_event *ev)
{
	atomic64_inc(&m->cb_count[ev->callback]);
	trace_spte_mirror_callback(ev->callback, ev->event, ev->flags,
				   ev->hva_start, ev->hva_end, ev->result,
				   ev->leaves);

	spin_lock(&m->ev_lock);
	if (m->ev_slots_only && !(ev->flags & SPTE_EVF_IN_SLOT)) {
		spin_unlock(&m->ev_lock);
		return;
	}
	ev->seq = ++m->ev_seq;
	ev->time_ns = ktime_get_ns();
	/*
	 * Once something was dropped, keep dropping until the reader has
	 * drained up to the drop point, so the in-band SPTE_CB_DROPPED record
	 * sits exactly where the loss happened.
	 */
	if (m->ev_pending || m->ev_tail - m->ev_head >= m->ev_size) {
		m->ev_pending++;
		m->ev_dropped++;
		m->ev_last_drop_seq = ev->seq;
	} else {
		m->ev_ring[m->ev_tail % m->ev_size] = *ev;
		m->ev_tail++;
		m->ev_logged++;
	}
	spin_unlock(&m->ev_lock);
	wake_up_interruptible(&m->ev_wait);
}

static bool spte_ev_ready(struct spte_mirror *m)
{
	bool ready;

	spin_lock(&m->ev_lock);
	ready = m->ev_head != m->ev_tail || m->ev_pending;
	spin_unlock(&m->ev_lock);
	return ready;
}

/*
 * Take up to @n records (and the DROPPED record owed, if any) into @kbuf
 * without consuming them.  Returns how many; *@drop_reported is the loss
 * the DROPPED record among them reports (0 if none).
 */
static size_t spte_ev_peek(struct spte_mirror *m,
			   struct spte_mirror_event *kbuf, size_t n,
			   u64 *drop_reported)
{
	size_t got = 0;
	u64 head;

	*drop_reported = 0;
	spin_lock(&m->ev_lock);
	head = m->ev_head;
	while (got < n && head != m->ev_tail)
		kbuf[got++] = m->ev_ring[head++ % m->ev_size];
	/* the drop point comes after every record queued before it */
	if (got < n && head == m->ev_tail && m->ev_pending) {
		struct spte_mirror_event *d = &kbuf[got++];

		spte_event_init(d, SPTE_CB_DROPPED, 0, 0);
		d->seq = m->ev_last_drop_seq;
		d->time_ns = ktime_get_ns();
		d->leaves = m->ev_pending;
		*drop_reported = m->ev_pending;
	}
	spin_unlock(&m->ev_lock);
	return got;
}

/* The records peeked have reached the reader: consume them. */
static void spte_ev_consume(struct spte_mirror *m, size_t got,
			    u64 drop_reported)
{
	spin_lock(&m->ev_lock);
	if (drop_reported) {
		got--;
		/* drops after the peek stay owed, in a DROPPED record of theirs */
		m->ev_pending -= drop_reported;
	}
	m->ev_head += got;
	spin_unlock(&m->ev_lock);
}

/*
 * Records are consumed only after copy_to_user() succeeded, so a reader
 * whose buffer faults loses nothing.  Peeking and consuming are two holds
 * of ev_lock: ev_read_lock keeps other readers (and LOG_CONFIG's ring
 * swap) out in between, while loggers only ever append.
 */
ssize_t spte_read(struct file *file, char __user *buf, size_t count,
		  loff_t *ppos)
{
	struct spte_mirror *m = file->private_data;
	struct spte_mirror_event *kbuf;
	size_t n = min_t(size_t, count / sizeof(*kbuf), SPTE_READ_BATCH);
	u64 drop_reported;
	size_t got;
	ssize_t ret;

	if (!n)
		return -EINVAL;
	kbuf = kmalloc_array(n, sizeof(*kbuf), GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	for (;;) {
		ret = mutex_lock_interruptible(&m->ev_read_lock);
		if (ret)
			goto out;
		got = spte_ev_peek(m, kbuf, n, &drop_reported);
		if (got)
			break;
		mutex_unlock(&m->ev_read_lock);
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(m->ev_wait, spte_ev_ready(m));
		if (ret)
			goto out;
	}
	ret = got * sizeof(*kbuf);
	if (copy_to_user(buf, kbuf, ret))
		ret = -EFAULT;
	else
		spte_ev_consume(m, got, drop_reported);
	mutex_unlock(&m->ev_read_lock);
out:
	kfree(kbuf);
	return ret;
}

__poll_t spte_poll(struct file *file, poll_table *wait)
{
	struct spte_mirror *m = file->private_data;

	poll_wait(file, &m->ev_wait, wait);
	return spte_ev_ready(m) ? EPOLLIN | EPOLLRDNORM : 0;
}

int spte_ioc_log_config(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_log_config *a = arg;
	struct spte_mirror_event *ring = NULL, *old = NULL;

	if ((a->flags & ~SPTE_LOG_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	if (a->records && (a->records < 2 || a->records > SPTE_LOG_MAX))
		return -EINVAL;
	if (a->records) {
		ring = kvcalloc(a->records, sizeof(*ring), GFP_KERNEL_ACCOUNT);
		if (!ring)
			return -ENOMEM;
	}
	/* no reader may sit between peek and consume on the old ring */
	mutex_lock(&m->ev_read_lock);
	spin_lock(&m->ev_lock);
	if (ring) {
		/* queued records are lost: count them, never silently */
		u64 lost = m->ev_tail - m->ev_head;

		m->ev_pending += lost;
		m->ev_dropped += lost;
		m->ev_last_drop_seq = m->ev_seq;
		old = m->ev_ring;
		m->ev_ring = ring;
		m->ev_size = a->records;
		m->ev_head = 0;
		m->ev_tail = 0;
	}
	m->ev_slots_only = a->flags & SPTE_LOG_SLOTS_ONLY;
	a->records = m->ev_size;
	spin_unlock(&m->ev_lock);
	mutex_unlock(&m->ev_read_lock);
	kvfree(old);
	/* the loss is news for a reader waiting on an empty ring */
	wake_up_interruptible(&m->ev_wait);
	return 0;
}
