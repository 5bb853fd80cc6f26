/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace client of /dev/spte_mirror (host/spte_mirror.ko).
 *
 * Handle based; every function returns 0 (or a count) on success and
 * -errno on failure, retrying EINTR itself.  spte_mirror_open() returns
 * -ENOENT when the device does not exist; spte_mirror_strerror() turns that
 * into "no spte_mirror module loaded".
 */
#ifndef SPTE_MIRROR_CLIENT_H
#define SPTE_MIRROR_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "uapi/linux/spte_mirror.h"
#include "spte/ept.h"

struct spte_mirror;

/* A dump: one consistent snapshot of the table. */
struct spte_mirror_table {
	uint64_t nr_leaves;
	uint64_t table_pages[SPTE_EPT_LEVELS];	/* [0] = level 1 (PT) */
	uint64_t seq;
	struct spte_mirror_leaf leaves[];
};

int spte_mirror_open(struct spte_mirror **out);
int spte_mirror_open_path(const char *path, struct spte_mirror **out);
void spte_mirror_close(struct spte_mirror *m);
int spte_mirror_fd(const struct spte_mirror *m);
/* Like strerror(), with the module-specific meanings (err is -errno). */
const char *spte_mirror_strerror(int err);

int spte_mirror_version(struct spte_mirror *m, struct spte_mirror_version *v);
int spte_mirror_attach(struct spte_mirror *m, pid_t pid);
int spte_mirror_add_slot(struct spte_mirror *m, uint64_t gpa, void *hva,
			 uint64_t size, uint64_t flags, uint64_t *id);
int spte_mirror_del_slot(struct spte_mirror *m, uint64_t gpa);
/* flags: SPTE_MAP_*; out may be NULL */
int spte_mirror_map(struct spte_mirror *m, uint64_t gpa, uint64_t size,
		    uint64_t flags, struct spte_mirror_map *out);
int spte_mirror_unmap(struct spte_mirror *m, uint64_t gpa, uint64_t size,
		      uint64_t *zapped);
/* flags: SPTE_ACCESS_*; out may be NULL */
int spte_mirror_access(struct spte_mirror *m, uint64_t gpa, void *buf,
		       uint64_t size, uint64_t flags,
		       struct spte_mirror_access *out);
int spte_mirror_read(struct spte_mirror *m, uint64_t gpa, void *buf,
		     uint64_t size);
int spte_mirror_write(struct spte_mirror *m, uint64_t gpa, const void *buf,
		      uint64_t size);
/* *out is malloc'd; free with spte_mirror_table_free() */
int spte_mirror_dump(struct spte_mirror *m, struct spte_mirror_table **out);
void spte_mirror_table_free(struct spte_mirror_table *t);
/* the leaf covering gpa in a dump, or NULL */
const struct spte_mirror_leaf *
spte_mirror_table_find(const struct spte_mirror_table *t, uint64_t gpa);
int spte_mirror_audit(struct spte_mirror *m, struct spte_mirror_audit *out);
/* records == 0 keeps the size; *size_out (may be NULL) gets the size */
int spte_mirror_set_log(struct spte_mirror *m, uint64_t records,
			uint64_t flags, uint64_t *size_out);
/*
 * Up to max records into ev.  timeout_ms: 0 = don't wait, -1 = wait
 * forever.  Returns the number of records (0 on timeout) or -errno.
 */
ssize_t spte_mirror_read_events(struct spte_mirror *m,
				struct spte_mirror_event *ev, size_t max,
				int timeout_ms);
int spte_mirror_counters(struct spte_mirror *m,
			 struct spte_mirror_counters *out);

/* decoding */
const char *spte_mirror_callback_name(uint32_t cb);
const char *spte_mirror_event_name(uint32_t event);
/* The SPTE_CB_* (or SPTE_EV_*) called @name, or -1. */
int spte_mirror_callback_from_name(const char *name);
int spte_mirror_event_from_name(const char *name);
const char *spte_mirror_audit_kind_name(uint32_t kind);
/* "invalidate_range_start CLEAR hva 0x..-0x.. gpa ... leaves=N ..." */
char *spte_mirror_event_format(const struct spte_mirror_event *ev, char *buf,
			       size_t len);
/* "gpa 0x.. 4K pfn 0x.. RWXAD- WB" style line for one leaf */
char *spte_mirror_leaf_format(const struct spte_mirror_leaf *l, char *buf,
			      size_t len);
uint64_t spte_mirror_leaf_size(const struct spte_mirror_leaf *l);

#endif /* SPTE_MIRROR_CLIENT_H */
