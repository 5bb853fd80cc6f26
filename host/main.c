// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: the misc device /dev/spte_mirror.  Module init and exit,
 * open and release of the per-file mirror, and the ioctl table that
 * checks, copies and dispatches every command.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <generated/utsrelease.h>

#include "mirror.h"

/* The ABI: struct sizes never change for an existing command number. */
static_assert(sizeof(struct spte_mirror_version) == 64);
static_assert(sizeof(struct spte_mirror_attach) == 64);
static_assert(sizeof(struct spte_mirror_slot) == 64);
static_assert(sizeof(struct spte_mirror_map) == 64);
static_assert(sizeof(struct spte_mirror_range) == 64);
static_assert(sizeof(struct spte_mirror_access) == 64);
static_assert(sizeof(struct spte_mirror_leaf) == 32);
static_assert(sizeof(struct spte_mirror_dump) == 96);
static_assert(sizeof(struct spte_mirror_log_config) == 64);
static_assert(sizeof(struct spte_mirror_counters) == 256);
static_assert(sizeof(struct spte_mirror_audit_report) == 32);
static_assert(sizeof(struct spte_mirror_audit) == 352);
static_assert(sizeof(struct spte_mirror_event) == 96);

static int spte_ioc_version(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_version *a = arg;

	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->abi_version = SPTE_MIRROR_ABI_VERSION;
	a->kernel_version = SPTE_KVER;
	a->callbacks = spte_callbacks_present();
	a->max_slots = SPTE_MAX_SLOTS;
	return 0;
}

/*
 * Mirroring another process's memory is reading and writing it, so ATTACH
 * is allowed exactly when ptrace attach is.  ptrace_may_access() is not
 * exported, and CAP_SYS_PTRACE alone is not what ptrace checks (Yama's
 * ptrace_scope=3 and other LSMs deny even that).  So the caller must have
 * attached with ptrace already: being the target's tracer means
 * PTRACE_ATTACH or PTRACE_SEIZE ran ptrace_may_access() with
 * PTRACE_MODE_ATTACH_REALCREDS and every LSM's ptrace hook, and exec()
 * keeps privilege from a traced task.  The check and taking the mm hold
 * the target's exec_update_lock, as mm_access() does, so that an exec
 * cannot put another mm behind the check.
 */
static bool spte_is_tracer(struct task_struct *task)
{
	struct task_struct *tracer;
	bool ok;

	rcu_read_lock();
	tracer = ptrace_parent(task);
	ok = tracer && same_thread_group(tracer, current);
	rcu_read_unlock();
	return ok;
}

static int spte_attach_mm(struct task_struct *task, struct mm_struct **mmp)
{
	struct mm_struct *mm;
	int ret;

	ret = down_read_killable(&task->signal->exec_update_lock);
	if (ret)
		return ret;
	if (!same_thread_group(task, current) && !spte_is_tracer(task)) {
		ret = -EPERM;
		goto out;
	}
	mm = get_task_mm(task);
	if (!mm) {
		ret = -EINVAL;	/* a kernel thread, or exiting */
		goto out;
	}
	mmgrab(mm);
	mmput(mm);
	*mmp = mm;
out:
	up_read(&task->signal->exec_update_lock);
	return ret;
}

static int spte_ioc_attach(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_attach *a = arg;
	struct task_struct *task;
	struct mm_struct *mm = NULL;
	struct pid *pid;
	int ret;

	if (a->flags || spte_nonzero(a->reserved) || !a->pid ||
	    a->pid > INT_MAX)
		return -EINVAL;
	if (m->registered || spte_has_slots(m))
		return -EBUSY;
	pid = find_get_pid((pid_t)a->pid);
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task)
		return -ESRCH;
	ret = spte_attach_mm(task, &mm);
	put_task_struct(task);
	if (ret)
		return ret;
	mmdrop(m->mm);
	m->mm = mm;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the ioctl table                                                    */

/* Big enough for any command's argument; allocated per call. */
union spte_ioctl_arg {
	struct spte_mirror_version version;
	struct spte_mirror_attach attach;
	struct spte_mirror_slot slot;
	struct spte_mirror_map map;
	struct spte_mirror_range range;
	struct spte_mirror_access access;
	struct spte_mirror_dump dump;
	struct spte_mirror_log_config log;
	struct spte_mirror_counters counters;
	struct spte_mirror_audit audit;
};

/* When the argument struct goes back to userspace. */
enum spte_copy_out {
	SPTE_OUT_ON_SUCCESS,
	/* also on failure after validation: the counts of what was done */
	SPTE_OUT_UNLESS_EINVAL,
	/* also on -E2BIG: "needed" tells the caller what to allocate */
	SPTE_OUT_ON_E2BIG,
};

struct spte_ioctl {
	unsigned int cmd;
	unsigned int size;	/* of the argument struct, == _IOC_SIZE(cmd) */
	enum spte_copy_out copy_out;
	int (*fn)(struct spte_mirror *m, void *arg);
};

/*
 * One entry per command, indexed by its number.  The argument size comes
 * from the struct, and the build fails unless it is the size encoded in
 * the command and fits the union: the ioctl path then only has to match
 * the whole command word.
 */
#define SPTE_IOCTL(_cmd, _fn, _type, _out)				\
	[_IOC_NR(_cmd)] = {						\
		.cmd = (_cmd),						\
		.size = sizeof(_type) +					\
			BUILD_BUG_ON_ZERO(_IOC_SIZE(_cmd) != sizeof(_type)) + \
			BUILD_BUG_ON_ZERO(sizeof(_type) >		\
					  sizeof(union spte_ioctl_arg)), \
		.copy_out = (_out),					\
		.fn = (_fn),						\
	}

static const struct spte_ioctl spte_ioctls[] = {
	SPTE_IOCTL(SPTE_MIRROR_VERSION, spte_ioc_version,
		   struct spte_mirror_version, SPTE_OUT_ON_SUCCESS),
	SPTE_IOCTL(SPTE_MIRROR_ATTACH, spte_ioc_attach,
		   struct spte_mirror_attach, SPTE_OUT_ON_SUCCESS),
	SPTE_IOCTL(SPTE_MIRROR_ADD_SLOT, spte_ioc_add_slot,
		   struct spte_mirror_slot, SPTE_OUT_ON_SUCCESS),
	SPTE_IOCTL(SPTE_MIRROR_DEL_SLOT, spte_ioc_del_slot,
		   struct spte_mirror_slot, SPTE_OUT_ON_SUCCESS),
	SPTE_IOCTL(SPTE_MIRROR_MAP, spte_ioc_map,
		   struct spte_mirror_map, SPTE_OUT_UNLESS_EINVAL),
	SPTE_IOCTL(SPTE_MIRROR_UNMAP, spte_ioc_unmap,
		   struct spte_mirror_range, SPTE_OUT_ON_SUCCESS),
	SPTE_IOCTL(SPTE_MIRROR_ACCESS, spte_ioc_access,
		   struct spte_mirror_access, SPTE_OUT_UNLESS_EINVAL),
	SPTE_IOCTL(SPTE_MIRROR_DUMP, spte_ioc_dump,
		   struct spte_mirror_dump, SPTE_OUT_ON_E2BIG),
	SPTE_IOCTL(SPTE_MIRROR_LOG_CONFIG, spte_ioc_log_config,
		   struct spte_mirror_log_config, SPTE_OUT_ON_SUCCESS),
	SPTE_IOCTL(SPTE_MIRROR_COUNTERS, spte_ioc_counters,
		   struct spte_mirror_counters, SPTE_OUT_ON_SUCCESS),
	SPTE_IOCTL(SPTE_MIRROR_AUDIT, spte_ioc_audit,
		   struct spte_mirror_audit, SPTE_OUT_ON_SUCCESS),
};

static const struct spte_ioctl *spte_ioctl_find(unsigned int cmd)
{
	const struct spte_ioctl *d;
	unsigned int nr = _IOC_NR(cmd);

	if (nr >= ARRAY_SIZE(spte_ioctls))
		return NULL;
	d = &spte_ioctls[array_index_nospec(nr, ARRAY_SIZE(spte_ioctls))];
	/* type, direction and size too: a gap in the table has cmd 0 */
	if (!d->fn || d->cmd != cmd)
		return NULL;
	return d;
}

static bool spte_ioctl_copy_out(const struct spte_ioctl *d, int ret)
{
	switch (d->copy_out) {
	case SPTE_OUT_UNLESS_EINVAL:
		return ret != -EINVAL;
	case SPTE_OUT_ON_E2BIG:
		return !ret || ret == -E2BIG;
	case SPTE_OUT_ON_SUCCESS:
	default:
		return !ret;
	}
}

static long spte_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct spte_mirror *m = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct spte_ioctl *d;
	union spte_ioctl_arg *u;
	int ret;

	/* an fd belongs to the mm that opened it, as in KVM */
	if (current->mm != m->owner_mm)
		return -EIO;
	d = spte_ioctl_find(cmd);
	if (!d)
		return -ENOTTY;
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	if (copy_from_user(u, uarg, d->size)) {
		ret = -EFAULT;
		goto out_free;
	}

	/* a task killed while queued behind a long ioctl need not wait */
	ret = mutex_lock_killable(&m->lock);
	if (ret)
		goto out_free;
	ret = d->fn(m, u);
	mutex_unlock(&m->lock);

	if (spte_ioctl_copy_out(d, ret) && copy_to_user(uarg, u, d->size))
		ret = -EFAULT;
out_free:
	kfree(u);
	return ret;
}

/* ------------------------------------------------------------------ */
/* file operations                                                    */

static int spte_open(struct inode *inode, struct file *file)
{
	struct spte_mirror *m;
	int i, ret;

	if (!current->mm)
		return -EINVAL;
	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	mutex_init(&m->lock);
	spin_lock_init(&m->mmu_lock);
	ret = spte_table_init(m);
	if (ret)
		goto err_free;
	ret = spte_events_init(m);
	if (ret)
		goto err_table;
	for (i = 0; i < SPTE_CB_NR; i++)
		atomic64_set(&m->cb_count[i], 0);

	m->owner_mm = current->mm;
	mmgrab(m->owner_mm);
	m->mm = current->mm;
	mmgrab(m->mm);
	file->private_data = m;
	return 0;

err_table:
	spte_table_free(m);
err_free:
	mutex_destroy(&m->lock);
	kfree(m);
	return ret;
}

static int spte_release_file(struct inode *inode, struct file *file)
{
	struct spte_mirror *m = file->private_data;
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++)
		if (m->slots[i].used)
			spte_remove_slot(m, &m->slots[i]);
	spte_notifier_unregister(m);
	spte_table_free(m);
	spte_events_free(m);
	mmdrop(m->mm);
	mmdrop(m->owner_mm);
	mutex_destroy(&m->lock);
	kfree(m);
	return 0;
}

static const struct file_operations spte_fops = {
	.owner = THIS_MODULE,
	.open = spte_open,
	.release = spte_release_file,
	.read = spte_read,
	.poll = spte_poll,
	.unlocked_ioctl = spte_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice spte_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "spte_mirror",
	.fops = &spte_fops,
	.mode = 0600,
};

static int __init spte_init(void)
{
	int ret = misc_register(&spte_misc);

	if (ret)
		return ret;
	pr_info("abi %d built for %s: callbacks invalidate_range_start invalidate_range_end %s%s clear_flush_young clear_young test_young release%s\n",
		SPTE_MIRROR_ABI_VERSION, UTS_RELEASE,
#ifdef SPTE_HAVE_INVALIDATE_RANGE
		"invalidate_range",
#else
		"arch_invalidate_secondary_tlbs",
#endif
#ifdef SPTE_HAVE_CHANGE_PTE
		" change_pte",
#else
		"",
#endif
		spte_skip_invalidate ? " (skip_invalidate=1: TEST ONLY)" : "");
	return 0;
}

static void __exit spte_exit(void)
{
	misc_deregister(&spte_misc);
}

module_init(spte_init);
module_exit(spte_exit);

MODULE_DESCRIPTION("EPT-format secondary MMU mirror for mmu notifier studies");
MODULE_AUTHOR("spte-lab");
MODULE_LICENSE("GPL");
