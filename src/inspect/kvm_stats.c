// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm_stats.h"
#include "spte_error.h"

/* Far above any kernel's count; only guards against a garbage header. */
#define MAX_DESCS	65536
#define MAX_NAME_SIZE	4096

struct stat_slot {
	guint64 file_offset;	/* header.data_offset + desc.offset */
	guint16 count;		/* desc.size: number of u64 values */
};

struct spte_kvm_stats {
	int fd;
	char *id;
	GPtrArray *names;	/* NULL-terminated, owns the strings */
	GHashTable *by_name;	/* name (borrowed from names) -> stat_slot */
};

void spte_kvm_stats_free(struct spte_kvm_stats *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->by_name)
		g_hash_table_unref(s->by_name);
	if (s->names)
		g_ptr_array_unref(s->names);
	g_free(s->id);
	g_free(s);
}

static gboolean read_exact(int fd, void *buf, gsize len, guint64 off,
			   const char *what, GError **error)
{
	gsize done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done,
				  off + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return spte_set_errno(error, errno,
					      "KVM stats: read %s", what);
		if (r == 0) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
				    "KVM stats: %s truncated at offset %"
				    G_GUINT64_FORMAT, what, off + done);
			return FALSE;
		}
		done += r;
	}
	return TRUE;
}

static gboolean parse_descs(struct spte_kvm_stats *s,
			    const struct kvm_stats_header *h, GError **error)
{
	/* the name is a flexible array: each descriptor carries name_size */
	gsize stride = sizeof(struct kvm_stats_desc) + h->name_size;
	g_autofree guint8 *block = g_malloc(stride * h->num_desc);

	if (!read_exact(s->fd, block, stride * h->num_desc, h->desc_offset,
			"descriptors", error))
		return FALSE;
	for (guint32 i = 0; i < h->num_desc; i++) {
		const guint8 *p = block + i * stride;
		struct kvm_stats_desc d;
		struct stat_slot *slot;
		char *name;

		memcpy(&d, p, sizeof(d));
		name = g_strndup((const char *)p + sizeof(d), h->name_size);
		if (!*name || d.size == 0) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
				    "KVM stats: descriptor %u is malformed "
				    "(name '%s', %u values)", i, name,
				    (guint)d.size);
			g_free(name);
			return FALSE;
		}
		slot = g_new(struct stat_slot, 1);
		slot->file_offset = (guint64)h->data_offset + d.offset;
		slot->count = d.size;
		g_ptr_array_add(s->names, name);
		g_hash_table_replace(s->by_name, name, slot);
	}
	g_ptr_array_add(s->names, NULL);
	return TRUE;
}

gboolean spte_kvm_stats_open(int vm_fd, struct spte_kvm_stats **out,
			     GError **error)
{
	g_autoptr(spte_kvm_stats) s = g_new0(struct spte_kvm_stats, 1);
	struct kvm_stats_header h;
	int fd;

	s->fd = -1;
	fd = ioctl(vm_fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0) {
		int err = errno;

		if (err == ENOTTY || err == EINVAL) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
				    "KVM_GET_STATS_FD: not supported by this "
				    "kernel (%s)", g_strerror(err));
			return FALSE;
		}
		return spte_set_errno(error, err, "KVM_GET_STATS_FD");
	}
	s->fd = fd;
	s->names = g_ptr_array_new_with_free_func(g_free);
	s->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					   g_free);
	if (!read_exact(fd, &h, sizeof(h), 0, "header", error))
		return FALSE;
	if (h.name_size == 0 || h.name_size > MAX_NAME_SIZE ||
	    h.num_desc > MAX_DESCS) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    "KVM stats: implausible header (name_size %u, "
			    "%u descriptors)", h.name_size, h.num_desc);
		return FALSE;
	}
	s->id = g_malloc0(h.name_size + 1);
	if (!read_exact(fd, s->id, h.name_size, h.id_offset, "id", error) ||
	    !parse_descs(s, &h, error))
		return FALSE;
	*out = g_steal_pointer(&s);
	return TRUE;
}

static const struct stat_slot *lookup(struct spte_kvm_stats *s,
				      const char *name, GError **error)
{
	const struct stat_slot *slot = g_hash_table_lookup(s->by_name, name);

	if (!slot)
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "KVM has no VM statistic '%s'", name);
	return slot;
}

guint64 *spte_kvm_stats_get_values(struct spte_kvm_stats *s, const char *name,
				   guint *n, GError **error)
{
	const struct stat_slot *slot = lookup(s, name, error);
	g_autofree guint64 *v = NULL;

	if (!slot)
		return NULL;
	v = g_new(guint64, slot->count);
	if (!read_exact(s->fd, v, slot->count * sizeof(*v), slot->file_offset,
			name, error))
		return NULL;
	*n = slot->count;
	return g_steal_pointer(&v);
}

gboolean spte_kvm_stats_get(struct spte_kvm_stats *s, const char *name,
			    guint64 *value, GError **error)
{
	const struct stat_slot *slot = lookup(s, name, error);

	if (!slot)
		return FALSE;
	return read_exact(s->fd, value, sizeof(*value), slot->file_offset,
			  name, error);
}

gboolean spte_kvm_stats_has(struct spte_kvm_stats *s, const char *name)
{
	return g_hash_table_contains(s->by_name, name);
}

const char *const *spte_kvm_stats_names(struct spte_kvm_stats *s)
{
	return (const char *const *)s->names->pdata;
}

const char *spte_kvm_stats_id(struct spte_kvm_stats *s)
{
	return s->id;
}
