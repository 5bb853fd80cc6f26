// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up time of `spte run`: from exec to the guest agent's first
 * instruction, as Firecracker's boot timer measures it: the launcher takes
 * a timestamp just before exec and passes it in SPTE_T0_NS; the guest's
 * first instruction writes the boot port and the VMM stamps the exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

#define N_STAGES 6

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Parse "startup: 5.88 ms from exec ... (vm+memory 1.75, image 0.05, ...)" */
static gboolean parse_startup(const char *out, double v[N_STAGES])
{
	const char *line = strstr(out, "startup: ");

	return line && sscanf(line, "startup: %lf ms from exec to the first guest "
			      "instruction (exec->main %lf, vm+memory %lf, "
			      "image %lf, vcpu %lf, entry %lf)", &v[0], &v[1],
			      &v[2], &v[3], &v[4], &v[5]) == N_STAGES;
}

static gboolean run_once(const char *spte, double v[N_STAGES], GError **error)
{
	const char *argv[] = { spte, "run", "--stats", NULL };
	g_auto(GStrv) envp = g_get_environ();
	g_autofree char *out = NULL;
	g_autofree char *t0 = NULL;
	int status;

	t0 = g_strdup_printf("%" G_GINT64_FORMAT, g_get_monotonic_time() * 1000);
	envp = g_environ_setenv(envp, "SPTE_T0_NS", t0, TRUE);
	if (!g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_STDERR_TO_DEV_NULL,
			  NULL, NULL, &out, NULL, &status, error))
		return FALSE;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    !parse_startup(out, v)) {
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
			    "%s run --stats failed or printed no start-up line:\n%s",
			    spte, out);
		return FALSE;
	}
	return TRUE;
}

int main(int argc, char **argv)
{
	static const char *const names[N_STAGES] = {
		"total", "exec->main", "vm+memory", "image", "vcpu", "entry" };
	const char *spte = argc > 1 ? argv[1] : "spte";
	int runs = argc > 2 ? atoi(argv[2]) : 15;
	const char *where = argc > 3 ? argv[3] : "native";
	g_autoptr(GError) error = NULL;
	double (*v)[N_STAGES];

	if (runs < 10) {
		fprintf(stderr, "usage: bench-startup [SPTE [RUNS>=10 [LABEL]]]\n");
		return 2;
	}
	v = g_malloc0_n(runs, sizeof(*v));
	for (int i = 0; i < runs; i++) {
		if (!run_once(spte, v[i], &error)) {
			fprintf(stderr, "bench-startup: %s\n", error->message);
			return 1;
		}
	}
	printf("start-up, exec -> first guest instruction, %s, %d runs of "
	       "`SPTE_T0_NS=<exec time> %s run --stats`:\n", where, runs, spte);
	for (int k = 0; k < N_STAGES; k++) {
		double *col = g_new(double, runs);

		for (int i = 0; i < runs; i++)
			col[i] = v[i][k];
		qsort(col, runs, sizeof(*col), cmp_double);
		printf("  %-10s median %7.2f ms   min %7.2f   max %7.2f\n",
		       names[k], col[runs / 2], col[0], col[runs - 1]);
		g_free(col);
	}
	g_free(v);
	return 0;
}
