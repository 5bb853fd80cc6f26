// SPDX-License-Identifier: GPL-2.0-only
/* Userspace client of /dev/spte_mirror; see spte_mirror.h. */
#include "spte_mirror.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct spte_mirror {
	int fd;
};

/* The wrappers' argument sizes are the ABI: catch drift at build time. */
#define SPTE_IOCTL_CHECK(cmd, type) \
	static_assert(_IOC_SIZE(cmd) == sizeof(type), #cmd " size")
SPTE_IOCTL_CHECK(SPTE_MIRROR_VERSION, struct spte_mirror_version);
SPTE_IOCTL_CHECK(SPTE_MIRROR_ATTACH, struct spte_mirror_attach);
SPTE_IOCTL_CHECK(SPTE_MIRROR_ADD_SLOT, struct spte_mirror_slot);
SPTE_IOCTL_CHECK(SPTE_MIRROR_DEL_SLOT, struct spte_mirror_slot);
SPTE_IOCTL_CHECK(SPTE_MIRROR_MAP, struct spte_mirror_map);
SPTE_IOCTL_CHECK(SPTE_MIRROR_UNMAP, struct spte_mirror_range);
SPTE_IOCTL_CHECK(SPTE_MIRROR_ACCESS, struct spte_mirror_access);
SPTE_IOCTL_CHECK(SPTE_MIRROR_DUMP, struct spte_mirror_dump);
SPTE_IOCTL_CHECK(SPTE_MIRROR_LOG_CONFIG, struct spte_mirror_log_config);
SPTE_IOCTL_CHECK(SPTE_MIRROR_COUNTERS, struct spte_mirror_counters);
SPTE_IOCTL_CHECK(SPTE_MIRROR_AUDIT, struct spte_mirror_audit);
static_assert(sizeof(struct spte_mirror_event) == 96, "event record size");

static int xioctl(struct spte_mirror *m, unsigned long cmd, void *arg)
{
	int r;

	do {
		r = ioctl(m->fd, cmd, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int spte_mirror_open_path(const char *path, struct spte_mirror **out)
{
	struct spte_mirror *m;
	int fd;

	*out = NULL;
	do {
		fd = open(path, O_RDWR | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	m->fd = fd;
	*out = m;
	return 0;
}

int spte_mirror_open(struct spte_mirror **out)
{
	return spte_mirror_open_path(SPTE_MIRROR_DEVICE, out);
}

void spte_mirror_close(struct spte_mirror *m)
{
	if (!m)
		return;
	close(m->fd);
	free(m);
}

int spte_mirror_fd(const struct spte_mirror *m)
{
	return m->fd;
}

const char *spte_mirror_strerror(int err)
{
	switch (-err) {
	case ENOENT:
		return "no spte_mirror module loaded (" SPTE_MIRROR_DEVICE
		       " does not exist; insmod spte_mirror.ko)";
	case EIO:
		return "spte_mirror fd used from a process other than its opener";
	case ENOTTY:
		return "ioctl not known to this spte_mirror module";
	case EEXIST:
		return "slot overlaps an existing slot";
	case E2BIG:
		return "buffer too small";
	default:
		return strerror(-err);
	}
}

int spte_mirror_version(struct spte_mirror *m, struct spte_mirror_version *v)
{
	memset(v, 0, sizeof(*v));
	return xioctl(m, SPTE_MIRROR_VERSION, v);
}

int spte_mirror_attach(struct spte_mirror *m, pid_t pid)
{
	struct spte_mirror_attach a = { .pid = (uint64_t)pid };

	return xioctl(m, SPTE_MIRROR_ATTACH, &a);
}

int spte_mirror_add_slot(struct spte_mirror *m, uint64_t gpa, void *hva,
			 uint64_t size, uint64_t flags, uint64_t *id)
{
	struct spte_mirror_slot s = {
		.gpa = gpa,
		.hva = (uint64_t)(uintptr_t)hva,
		.size = size,
		.flags = flags,
	};
	int r = xioctl(m, SPTE_MIRROR_ADD_SLOT, &s);

	if (!r && id)
		*id = s.id;
	return r;
}

int spte_mirror_del_slot(struct spte_mirror *m, uint64_t gpa)
{
	struct spte_mirror_slot s = { .gpa = gpa };

	return xioctl(m, SPTE_MIRROR_DEL_SLOT, &s);
}

int spte_mirror_map(struct spte_mirror *m, uint64_t gpa, uint64_t size,
		    uint64_t flags, struct spte_mirror_map *out)
{
	struct spte_mirror_map a = { .gpa = gpa, .size = size, .flags = flags };
	int r = xioctl(m, SPTE_MIRROR_MAP, &a);

	if (out)
		*out = a;
	return r;
}

int spte_mirror_unmap(struct spte_mirror *m, uint64_t gpa, uint64_t size,
		      uint64_t *zapped)
{
	struct spte_mirror_range a = { .gpa = gpa, .size = size };
	int r = xioctl(m, SPTE_MIRROR_UNMAP, &a);

	if (!r && zapped)
		*zapped = a.zapped;
	return r;
}

int spte_mirror_access(struct spte_mirror *m, uint64_t gpa, void *buf,
		       uint64_t size, uint64_t flags,
		       struct spte_mirror_access *out)
{
	struct spte_mirror_access a = {
		.gpa = gpa,
		.size = size,
		.buf = (uint64_t)(uintptr_t)buf,
		.flags = flags,
	};
	int r = xioctl(m, SPTE_MIRROR_ACCESS, &a);

	if (out)
		*out = a;
	return r;
}

int spte_mirror_read(struct spte_mirror *m, uint64_t gpa, void *buf,
		     uint64_t size)
{
	return spte_mirror_access(m, gpa, buf, size, 0, NULL);
}

int spte_mirror_write(struct spte_mirror *m, uint64_t gpa, const void *buf,
		      uint64_t size)
{
	return spte_mirror_access(m, gpa, (void *)buf, size, SPTE_ACCESS_WRITE,
				  NULL);
}

/*
 * The whole table, in batches with SPTE_DUMP_CURSOR: the module never
 * holds its table lock for long, and a table that grew between the count
 * and the copy only costs a larger buffer.  If an invalidation changed the
 * table between batches (seq moved), the pieces may not fit together:
 * start again, a bounded number of times.
 */
#define DUMP_MAX_BATCH 65536
#define DUMP_TRIES 16

/* Leaves present now, by a cursor dump of no leaves at all. */
static int dump_count(struct spte_mirror *m, uint64_t *needed)
{
	struct spte_mirror_dump d = { .flags = SPTE_DUMP_CURSOR };
	int r = xioctl(m, SPTE_MIRROR_DUMP, &d);

	*needed = d.needed;
	return r;
}

int spte_mirror_dump(struct spte_mirror *m, struct spte_mirror_table **out)
{
	*out = NULL;
	for (int tries = 0; tries < DUMP_TRIES; tries++) {
		struct spte_mirror_table *t = NULL;
		uint64_t cap, n = 0, next = 0, seq = 0;
		struct spte_mirror_dump d;
		int r = dump_count(m, &cap);

		if (r)
			return r;
		cap += 64;
		t = malloc(sizeof(*t) + cap * sizeof(t->leaves[0]));
		if (!t)
			return -ENOMEM;
		do {
			if (n == cap) {
				struct spte_mirror_table *bigger;

				cap *= 2;
				bigger = realloc(t, sizeof(*t) +
						 cap * sizeof(t->leaves[0]));
				if (!bigger) {
					free(t);
					return -ENOMEM;
				}
				t = bigger;
			}
			memset(&d, 0, sizeof(d));
			d.leaves = (uint64_t)(uintptr_t)&t->leaves[n];
			d.count = cap - n < DUMP_MAX_BATCH ? cap - n
							   : DUMP_MAX_BATCH;
			d.flags = SPTE_DUMP_CURSOR;
			d.start = next;
			r = xioctl(m, SPTE_MIRROR_DUMP, &d);
			if (r)
				break;
			if (n == 0)
				seq = d.seq;
			else if (d.seq != seq)
				r = -EAGAIN;
			n += d.count;
			next = d.next;
		} while (!r && next != SPTE_MIRROR_NONE);
		if (r == -EAGAIN) {
			free(t);
			continue;
		}
		if (r) {
			free(t);
			return r;
		}
		t->nr_leaves = n;
		memcpy(t->table_pages, d.table_pages, sizeof(t->table_pages));
		t->seq = seq;
		*out = t;
		return 0;
	}
	return -EAGAIN;
}

void spte_mirror_table_free(struct spte_mirror_table *t)
{
	free(t);
}

uint64_t spte_mirror_leaf_size(const struct spte_mirror_leaf *l)
{
	return SPTE_EPT_LEVEL_SIZE(l->level);
}

const struct spte_mirror_leaf *
spte_mirror_table_find(const struct spte_mirror_table *t, uint64_t gpa)
{
	uint64_t i;

	for (i = 0; i < t->nr_leaves; i++) {
		const struct spte_mirror_leaf *l = &t->leaves[i];

		if (gpa >= l->gpa && gpa - l->gpa < spte_mirror_leaf_size(l))
			return l;
	}
	return NULL;
}

int spte_mirror_audit(struct spte_mirror *m, struct spte_mirror_audit *out)
{
	memset(out, 0, sizeof(*out));
	return xioctl(m, SPTE_MIRROR_AUDIT, out);
}

int spte_mirror_set_log(struct spte_mirror *m, uint64_t records,
			uint64_t flags, uint64_t *size_out)
{
	struct spte_mirror_log_config c = { .records = records, .flags = flags };
	int r = xioctl(m, SPTE_MIRROR_LOG_CONFIG, &c);

	if (!r && size_out)
		*size_out = c.records;
	return r;
}

ssize_t spte_mirror_read_events(struct spte_mirror *m,
				struct spte_mirror_event *ev, size_t max,
				int timeout_ms)
{
	struct pollfd p = { .fd = m->fd, .events = POLLIN };
	ssize_t n;
	int r;

	if (!max)
		return 0;
	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	do {
		n = read(m->fd, ev, max * sizeof(*ev));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n / (ssize_t)sizeof(*ev);
}

int spte_mirror_counters(struct spte_mirror *m,
			 struct spte_mirror_counters *out)
{
	memset(out, 0, sizeof(*out));
	return xioctl(m, SPTE_MIRROR_COUNTERS, out);
}

/*
 * The callbacks' and range events' names: the one list the step parser,
 * the timelines and the reports use (the module's tracepoint,
 * host/spte_mirror_trace.h, prints the same; test-events checks it).
 */
struct code_name {
	uint32_t code;
	const char *name;
};

static const struct code_name callback_names[] = {
	{ SPTE_CB_INVALIDATE_RANGE_START, "invalidate_range_start" },
	{ SPTE_CB_INVALIDATE_RANGE_END, "invalidate_range_end" },
	{ SPTE_CB_INVALIDATE_SECONDARY, "invalidate_secondary" },
	{ SPTE_CB_CHANGE_PTE, "change_pte" },
	{ SPTE_CB_CLEAR_FLUSH_YOUNG, "clear_flush_young" },
	{ SPTE_CB_CLEAR_YOUNG, "clear_young" },
	{ SPTE_CB_TEST_YOUNG, "test_young" },
	{ SPTE_CB_RELEASE, "release" },
	{ SPTE_CB_INTERVAL_INVALIDATE, "interval_invalidate" },
	{ SPTE_CB_DROPPED, "DROPPED" },
	{ 0, NULL },
};

static const struct code_name event_names[] = {
	{ SPTE_EV_UNMAP, "UNMAP" },
	{ SPTE_EV_CLEAR, "CLEAR" },
	{ SPTE_EV_PROTECTION_VMA, "PROTECTION_VMA" },
	{ SPTE_EV_PROTECTION_PAGE, "PROTECTION_PAGE" },
	{ SPTE_EV_SOFT_DIRTY, "SOFT_DIRTY" },
	{ SPTE_EV_RELEASE, "RELEASE" },
	{ SPTE_EV_MIGRATE, "MIGRATE" },
	{ SPTE_EV_EXCLUSIVE, "EXCLUSIVE" },
	{ SPTE_EV_NONE, "-" },
	{ 0, NULL },
};

static const char *name_of(const struct code_name *t, uint32_t code)
{
	for (; t->name; t++)
		if (t->code == code)
			return t->name;
	return "unknown";
}

static int code_of(const struct code_name *t, const char *name)
{
	for (; t->name; t++)
		if (!strcmp(t->name, name))
			return (int)t->code;
	return -1;
}

const char *spte_mirror_callback_name(uint32_t cb)
{
	return name_of(callback_names, cb);
}

int spte_mirror_callback_from_name(const char *name)
{
	return code_of(callback_names, name);
}

const char *spte_mirror_event_name(uint32_t event)
{
	return name_of(event_names, event);
}

int spte_mirror_event_from_name(const char *name)
{
	int ev = code_of(event_names, name);

	return ev == SPTE_EV_NONE ? -1 : ev;
}

const char *spte_mirror_audit_kind_name(uint32_t kind)
{
	switch (kind) {
	case SPTE_AUDIT_STALE_PFN:
		return "stale-pfn";
	case SPTE_AUDIT_STALE_UNMAPPED:
		return "stale-unmapped";
	case SPTE_AUDIT_WRITE:
		return "write-where-primary-read-only";
	case SPTE_AUDIT_LEVEL:
		return "level-larger-than-primary";
	default:
		return "unknown";
	}
}

/* __u64 is unsigned long long, PRIx64 may want unsigned long */
#define U(x) ((uint64_t)(x))

char *spte_mirror_event_format(const struct spte_mirror_event *ev, char *buf,
			       size_t len)
{
	int n;

	if (ev->callback == SPTE_CB_DROPPED) {
		snprintf(buf, len, "#%" PRIu64 " DROPPED %" PRIu64 " records",
			 U(ev->seq), U(ev->leaves));
		return buf;
	}
	n = snprintf(buf, len,
		     "#%" PRIu64 " %" PRIu64 ".%09" PRIu64 " %s %s%s "
		     "hva 0x%" PRIx64 "-0x%" PRIx64,
		     U(ev->seq), U(ev->time_ns / 1000000000),
		     U(ev->time_ns % 1000000000),
		     spte_mirror_callback_name(ev->callback),
		     spte_mirror_event_name(ev->event),
		     (ev->callback > SPTE_CB_INVALIDATE_RANGE_END ||
		      (ev->flags & SPTE_EVF_BLOCKABLE)) ? "" : " (non-blockable)",
		     U(ev->hva_start), U(ev->hva_end));
	if (n < 0 || (size_t)n >= len)
		return buf;
	if (ev->gpa_start != SPTE_MIRROR_NONE)
		n += snprintf(buf + n, len - n,
			      " gpa 0x%" PRIx64 "-0x%" PRIx64,
			      U(ev->gpa_start), U(ev->gpa_end));
	if ((size_t)n >= len)
		return buf;
	if (ev->old_pfn != SPTE_MIRROR_NONE)
		n += snprintf(buf + n, len - n, " old_pfn 0x%" PRIx64,
			      U(ev->old_pfn));
	if ((size_t)n >= len)
		return buf;
	if (ev->new_pfn != SPTE_MIRROR_NONE)
		n += snprintf(buf + n, len - n, " new_pfn 0x%" PRIx64,
			      U(ev->new_pfn));
	if ((size_t)n >= len)
		return buf;
	snprintf(buf + n, len - n, " leaves=%" PRIu64 " result=%d%s",
		 U(ev->leaves), ev->result,
		 (ev->flags & SPTE_EVF_SKIPPED) ? " SKIPPED" : "");
	return buf;
}

char *spte_mirror_leaf_format(const struct spte_mirror_leaf *l, char *buf,
			      size_t len)
{
	char flags[8];

	snprintf(buf, len,
		 "gpa 0x%012" PRIx64 " %s pfn 0x%" PRIx64 " %s %s hva 0x%" PRIx64
		 " entry 0x%016" PRIx64,
		 U(l->gpa), l->level == 1 ? "4K" : l->level == 2 ? "2M" : "1G",
		 (uint64_t)spte_ept_pfn(l->entry),
		 spte_ept_flags_str(l->entry, flags),
		 spte_ept_memtype_name(spte_ept_memtype(l->entry)), U(l->hva),
		 U(l->entry));
	return buf;
}
