// SPDX-License-Identifier: GPL-2.0
/*
 * fork / fork-end: the VMM forks, as it would to save a snapshot from a
 * child; the child keeps its copy of guest RAM until fork-end, so the
 * parent's next write must copy the page.
 *
 * exit: a VMM that exits without closing its mirror fd.  exit_mmap() runs
 * before the files are closed, so ->release comes first and must take the
 * whole table down; a second mirror attached to the child's mm watches it
 * happen from outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timeline.h"
#include "families.h"
#include "spte_error.h"

/* A child that does nothing until killed, or until the VMM dies. */
static pid_t fork_idle_child(GError **error)
{
	pid_t pid = fork();

	if (pid < 0) {
		spte_set_errno(error, errno, "fork");
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

/* The forked child, kept by the session from fork to fork-end. */
struct fork_child {
	pid_t pid;
};

static void fork_reap(void *p)
{
	struct fork_child *c = p;

	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	g_free(c);
}

static const struct spte_session_key fork_key = {
	.name = "the forked child",
	.free = fork_reap,
};

static gboolean step_fork(struct spte_session *s, const struct spte_step *step,
			  GString *line, GError **error)
{
	struct fork_child *c = spte_session_kept(s, &fork_key);
	pid_t pid;

	if (c) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "child %d is still there: fork-end first", c->pid);
		return FALSE;
	}
	pid = fork_idle_child(error);
	if (pid < 0)
		return FALSE;
	c = g_new(struct fork_child, 1);
	c->pid = pid;
	spte_session_keep(s, &fork_key, c);
	g_string_append_printf(line, "ok: VMM %d forked child %d, which shares "
			       "guest RAM copy-on-write", getpid(), pid);
	return TRUE;
}

static gboolean step_fork_end(struct spte_session *s,
			      const struct spte_step *step, GString *line,
			      GError **error)
{
	struct fork_child *c = spte_session_take(s, &fork_key);
	pid_t pid;

	if (!c) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "no forked child: fork first");
		return FALSE;
	}
	pid = c->pid;
	fork_reap(c);
	g_string_append_printf(line, "ok: child %d gone; guest RAM is the "
			       "VMM's alone again", pid);
	return TRUE;
}

/* ---- exit ------------------------------------------------------------ */

/* The exiting VMM: mirror guest RAM, say so, wait for the word, exit. */
static void __attribute__((noreturn))
exiting_vmm(struct spte_session *s, int ready_fd, int go_fd)
{
	struct spte_mirror *m = NULL;
	int err;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	err = spte_mirror_open(&m);
	if (!err)
		err = spte_mirror_add_slot(m, s->vm->ram.gpa, s->vm->ram.hva,
					   s->vm->ram.size, 0, NULL);
	if (!err)
		err = spte_mirror_map(m, s->vm->ram.gpa, s->vm->ram.size, 0,
				      NULL);
	c = (char)-err;
	if (write(ready_fd, &c, 1) != 1 || err)
		_exit(1);
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	/* no close, no munmap: exit_mmap() reaches ->release first */
	_exit(0);
}

struct watcher {
	struct spte_mirror *m;
	guint64 leaves_before;
	guint64 tables_before;
	guint64 leaves_after;
	guint64 tables_after;
	int map_after;
	GArray *events;
};

static gboolean watch_attach(struct spte_session *s, struct watcher *w,
			     pid_t pid, GError **error)
{
	struct spte_mirror_counters c;
	int err = spte_mirror_open(&w->m);

	/*
	 * ATTACH needs ptrace-attach rights over the child: become its
	 * tracer first.  PTRACE_SEIZE does not stop it; the tracing ends
	 * when it exits.
	 */
	if (!err && ptrace(PTRACE_SEIZE, pid, NULL, NULL))
		return spte_set_errno(error, errno, "ptrace(PTRACE_SEIZE, %d) "
				      "to attach a mirror to the child", pid);
	if (!err)
		err = spte_mirror_attach(w->m, pid);
	if (!err)
		err = spte_mirror_set_log(w->m, 0, SPTE_LOG_SLOTS_ONLY, NULL);
	if (!err)
		err = spte_mirror_add_slot(w->m, s->vm->ram.gpa, s->vm->ram.hva,
					   s->vm->ram.size, 0, NULL);
	if (!err)
		err = spte_mirror_map(w->m, s->vm->ram.gpa, s->vm->ram.size, 0,
				      NULL);
	if (!err)
		err = spte_mirror_counters(w->m, &c);
	if (err)
		return spte_session_mirror_failed(error, err,
						  "attaching a mirror to the child");
	w->leaves_before = c.leaves_present;
	w->tables_before = c.table_pages;
	return TRUE;
}

static gboolean watch_exit(struct watcher *w, GError **error)
{
	struct spte_mirror_counters c;
	int err;

	/* the child is reaped: everything it caused is in the log */
	if (!spte_read_all_events(w->m, w->events, error))
		return FALSE;
	err = spte_mirror_counters(w->m, &c);
	if (err)
		return spte_session_mirror_failed(error, err, "counters");
	w->leaves_after = c.leaves_present;
	w->tables_after = c.table_pages;
	w->map_after = spte_mirror_map(w->m, 0, 4096, 0, NULL);
	return TRUE;
}

static gboolean run_exit(struct spte_session *s, struct watcher *w,
			 int *status, GError **error)
{
	int ready[2], go[2];
	gboolean done = FALSE;
	pid_t pid;
	char c = 1;

	if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		return spte_set_errno(error, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		spte_set_errno(error, errno, "fork");
		goto out;
	}
	if (pid == 0)
		exiting_vmm(s, ready[1], go[0]);
	if (read(ready[0], &c, 1) != 1 || c) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    "the child could not mirror guest RAM: %s",
			    g_strerror(c ? c : EPIPE));
		goto reap;
	}
	if (!watch_attach(s, w, pid, error))
		goto reap;
	if (write(go[1], &c, 1) != 1) {
		spte_set_errno(error, errno, "telling the child to exit");
		goto reap;
	}
	done = TRUE;
reap:
	if (!done)
		kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (done)
		done = watch_exit(w, error);
out:
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	return done;
}

static gboolean step_exit(struct spte_session *s, const struct spte_step *step,
			  GString *line, GError **error)
{
	struct watcher w = {
		.events = g_array_new(FALSE, TRUE,
				      sizeof(struct spte_mirror_event)),
	};
	guint releases = 0;
	gboolean ok;
	int status = 0;

	ok = run_exit(s, &w, &status, error);
	if (w.m)
		spte_mirror_close(w.m);
	if (!ok) {
		g_array_unref(w.events);
		return FALSE;
	}
	for (guint i = 0; i < w.events->len; i++)
		releases += g_array_index(w.events, struct spte_mirror_event,
					  i).callback == SPTE_CB_RELEASE;
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && releases == 1 &&
	     w.leaves_after == 0 && w.tables_after == 1 && w.map_after < 0;
	spte_session_check(s, step, ok, line, "the child exited (status %d) "
			   "holding its own mirror fd; the attached mirror saw "
			   "%u release, leaves %" G_GUINT64_FORMAT " -> %"
			   G_GUINT64_FORMAT ", table pages %" G_GUINT64_FORMAT
			   " -> %" G_GUINT64_FORMAT " (the root), a later map "
			   "fails with %s", WIFEXITED(status) ?
			   WEXITSTATUS(status) : -1, releases, w.leaves_before,
			   w.leaves_after, w.tables_before, w.tables_after,
			   w.map_after < 0 ? g_strerror(-w.map_after) :
			   "no error (WRONG)");
	if (w.events->len) {
		g_string_append(line, "\nthe attached mirror's timeline:\n");
		spte_timeline_format(&g_array_index(w.events,
						    struct spte_mirror_event, 0),
				     w.events->len,
				     g_array_index(w.events,
						   struct spte_mirror_event,
						   0).time_ns, line);
		g_string_truncate(line, line->len - 1);
	}
	g_array_unref(w.events);
	return TRUE;
}

static const struct spte_verb verbs[] = {
	{ .usage = "fork", .run = step_fork,
	  .help = "the VMM forks; the child keeps its copy of guest RAM until fork-end" },
	{ .usage = "fork-end", .run = step_fork_end,
	  .help = "the forked child exits and is reaped" },
	{ .usage = "exit", .run = step_exit, .where = SPTE_STEP_MIRROR,
	  .help = "a forked VMM exits without closing anything, watched by a mirror attached to its mm" },
};

const struct spte_step_family spte_fork_steps =
	SPTE_STEP_FAMILY("fork", SPTE_STEP_HOST, verbs);
