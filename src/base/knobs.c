// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "knobs.h"
#include "parse.h"
#include "spte_error.h"

char *spte_knob_read(const char *path, GError **error)
{
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	return g_strstrip(text);
}

gboolean spte_knob_read_u64(const char *path, guint64 *value, GError **error)
{
	g_autofree char *text = spte_knob_read(path, error);

	if (!text)
		return FALSE;
	if (!spte_parse_u64(text, path, value, error))
		return FALSE;
	return TRUE;
}

gboolean spte_knob_write(const char *path, const char *value, GError **error)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return spte_set_errno(error, errno, "opening %s", path);
	n = write(fd, value, len);
	if (n != (ssize_t)len) {
		int err = n < 0 ? errno : EIO;

		close(fd);
		return spte_set_errno(error, err, "writing '%s' to %s", value,
				      path);
	}
	close(fd);
	return TRUE;
}

struct saved_knob {
	char *path;
	char *value;
};

struct spte_knobs {
	GArray *saved;
};

static void saved_knob_clear(gpointer p)
{
	struct saved_knob *k = p;

	g_free(k->path);
	g_free(k->value);
}

spte_knobs *spte_knobs_new(void)
{
	spte_knobs *k = g_new0(spte_knobs, 1);

	k->saved = g_array_new(FALSE, TRUE, sizeof(struct saved_knob));
	g_array_set_clear_func(k->saved, saved_knob_clear);
	return k;
}

gboolean spte_knobs_set(spte_knobs *k, const char *path, const char *value,
			GError **error)
{
	struct saved_knob old = { 0 };

	old.value = spte_knob_read(path, error);
	if (!old.value)
		return FALSE;
	if (!spte_knob_write(path, value, error)) {
		g_free(old.value);
		return FALSE;
	}
	old.path = g_strdup(path);
	g_array_append_val(k->saved, old);
	return TRUE;
}

void spte_knobs_restore(spte_knobs *k)
{
	if (!k)
		return;
	/* last set first, in case one knob was set twice */
	for (guint i = k->saved->len; i-- > 0;) {
		struct saved_knob *s = &g_array_index(k->saved,
						      struct saved_knob, i);

		spte_knob_write(s->path, s->value, NULL);
	}
	g_array_unref(k->saved);
	g_free(k);
}

gboolean spte_knob_wait_growth(const char *path, guint64 delta,
			       guint timeout_s, guint64 *start, guint64 *end,
			       GError **error)
{
	gint64 deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;

	if (!spte_knob_read_u64(path, start, error))
		return FALSE;
	do {
		g_usleep(20000);
		if (!spte_knob_read_u64(path, end, error))
			return FALSE;
		if (*end >= *start + delta)
			return TRUE;
	} while (g_get_monotonic_time() < deadline);
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
		    "%s grew from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
		    " in %u s, not by %" G_GUINT64_FORMAT, path, *start, *end,
		    timeout_s, delta);
	return FALSE;
}

gboolean spte_vmstat(const char *name, guint64 *value, GError **error)
{
	g_autofree char *text = NULL;
	g_autofree char *key = g_strconcat("\n", name, " ", NULL);
	const char *at;

	if (!g_file_get_contents("/proc/vmstat", &text, NULL, error))
		return FALSE;
	at = strstr(text, key);
	if (!at) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "/proc/vmstat has no %s", name);
		return FALSE;
	}
	*value = g_ascii_strtoull(at + strlen(key), NULL, 10);
	return TRUE;
}
