// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-wp / uffd-unwp: write-protect guest RAM with userfaultfd, as a live
 * snapshot (QEMU's background-snapshot) does.  The vCPU's writes then fault
 * into the VMM: a thread of ours resolves each one by lifting the
 * protection of that page (where a snapshot would first save it), and KVM
 * retries the access.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "families.h"
#include "spte_error.h"

struct spte_uffd {
	int fd;
	int stop[2];		/* a pipe: writing to it ends the thread */
	GThread *thread;
	gint resolved;		/* write faults resolved so far, atomic */
	guint64 first_fault;	/* hva of the first, for the report */
	GError *error;		/* why the thread stopped early */
};

static gboolean unprotect(int fd, guint64 start, guint64 len, GError **error)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = start, .len = len },
	};

	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		return spte_set_errno(error, errno, "UFFDIO_WRITEPROTECT "
				      "(resolve %#" G_GINT64_MODIFIER "x)",
				      start);
	return TRUE;
}

static gpointer fault_thread(gpointer data)
{
	struct spte_uffd *u = data;
	struct pollfd pfd[2] = {
		{ .fd = u->fd, .events = POLLIN },
		{ .fd = u->stop[0], .events = POLLIN },
	};

	for (;;) {
		struct uffd_msg msg;
		guint64 page;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			spte_set_errno(&u->error, errno, "poll(userfaultfd)");
			return NULL;
		}
		if (pfd[1].revents)
			return NULL;
		if (read(u->fd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			spte_set_errno(&u->error, errno, "read(userfaultfd)");
			return NULL;
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			continue;
		page = msg.arg.pagefault.address & ~4095ULL;
		if (!unprotect(u->fd, page, 4096, &u->error))
			return NULL;
		if (!g_atomic_int_get(&u->resolved))
			u->first_fault = page;
		g_atomic_int_inc(&u->resolved);
	}
}

static void uffd_free(void *p)
{
	struct spte_uffd *u = p;

	if (u->thread) {
		if (write(u->stop[1], "x", 1) != 1)
			g_warning("cannot stop the userfaultfd thread");
		g_thread_join(u->thread);
	}
	close(u->stop[0]);
	close(u->stop[1]);
	close(u->fd);
	g_clear_error(&u->error);
	g_free(u);
}

static const struct spte_session_key uffd_key = {
	.name = "the userfaultfd",
	.free = uffd_free,
};

/* One userfaultfd over all of guest RAM, registered for write-protect. */
static struct spte_uffd *uffd_open(struct spte_session *s, GError **error)
{
	g_autofree struct spte_uffd *u = g_new0(struct spte_uffd, 1);
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP,
	};
	struct uffdio_register reg = {
		.range = { .start = (guint64)(uintptr_t)s->vm->ram.hva,
			   .len = s->vm->ram.size },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	/* shmem and hugetlbfs need the PTE markers of 5.19 */
	if (s->vm->ram.backing != SPTE_BACKING_ANON)
		api.features |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	u->fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->fd < 0) {
		spte_set_errno(error, errno, "userfaultfd");
		return NULL;
	}
	if (ioctl(u->fd, UFFDIO_API, &api)) {
		spte_set_errno(error, errno, "UFFDIO_API (features %#llx: "
			       "write-protect%s)", api.features,
			       api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM ?
			       " of shmem and hugetlbfs" : "");
		close(u->fd);
		return NULL;
	}
	if (ioctl(u->fd, UFFDIO_REGISTER, &reg)) {
		spte_set_errno(error, errno, "UFFDIO_REGISTER (write-protect "
			       "mode) of guest RAM");
		close(u->fd);
		return NULL;
	}
	if (pipe2(u->stop, O_CLOEXEC)) {
		spte_set_errno(error, errno, "pipe");
		close(u->fd);
		return NULL;
	}
	u->thread = g_thread_new("uffd-wp", fault_thread, u);
	return g_steal_pointer(&u);
}

static gboolean protect(struct spte_session *s, const struct spte_step *step,
			gboolean on, GString *line, GError **error)
{
	void *hva = spte_session_hva(s, step->gpa, step->pages, error);
	struct uffdio_writeprotect wp = {
		.range = { .start = (guint64)(uintptr_t)hva,
			   .len = step->pages << 12 },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};
	struct spte_uffd *u = spte_session_kept(s, &uffd_key);

	if (!hva)
		return FALSE;
	if (!u) {
		if (!on) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "nothing is write-protected: uffd-wp first");
			return FALSE;
		}
		u = uffd_open(s, error);
		if (!u)
			return FALSE;
		spte_session_keep(s, &uffd_key, u);
	}
	if (u->error) {
		g_propagate_prefixed_error(error, g_steal_pointer(&u->error),
					   "the fault thread stopped: ");
		return FALSE;
	}
	if (ioctl(u->fd, UFFDIO_WRITEPROTECT, &wp))
		return spte_set_errno(error, errno, "UFFDIO_WRITEPROTECT");
	g_string_append_printf(line, "ok: %" G_GUINT64_FORMAT " pages %s; "
			       "the VMM's fault thread has resolved %d guest "
			       "write faults", step->pages, on ?
			       "write-protected" : "writable again",
			       g_atomic_int_get(&u->resolved));
	if (g_atomic_int_get(&u->resolved))
		g_string_append_printf(line, " (the first at gpa %#"
				       G_GINT64_MODIFIER "x)",
				       u->first_fault -
				       (guint64)(uintptr_t)s->vm->ram.hva);
	return TRUE;
}

static gboolean step_uffd_wp(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error)
{
	return protect(s, step, TRUE, line, error);
}

static gboolean step_uffd_unwp(struct spte_session *s,
			       const struct spte_step *step, GString *line,
			       GError **error)
{
	return protect(s, step, FALSE, line, error);
}

static const struct spte_verb verbs[] = {
	{ .usage = "uffd-wp GPA PAGES", .run = step_uffd_wp,
	  .help = "userfaultfd write-protect the range, as a live snapshot does; a VMM thread resolves the guest's write faults" },
	{ .usage = "uffd-unwp GPA PAGES", .run = step_uffd_unwp,
	  .help = "lift the userfaultfd write protection of the range" },
};

const struct spte_step_family spte_uffd_steps =
	SPTE_STEP_FAMILY("uffd", SPTE_STEP_HOST, verbs);
