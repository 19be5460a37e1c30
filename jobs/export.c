/* export.c - `artistnet export`: features.h5 (jobs/extract.c) -> text for other tools.
 *   --format libsvm: one line per row, "label 1:v1 2:v2 ..." (LIBSVM's svm-train format; indices
 *     1-based, zero values left out as svm-scale does, floats printed with 9 significant digits so
 *     float32 values read back exactly). Labels are the integers 0..C-1 of the sorted distinct values
 *     of --label-column (shard_labels_make); the map goes to FILE.labels as "index<TAB>name" lines.
 *     Rows with an empty label are skipped and counted.
 *   --format tsv: a header "id<TAB>columns...<TAB>f1..fD", then one line per row with the id, the
 *     list columns (features.h5's `columns` attribute) and the D features.
 * Rows whose /status is not 0 (failed or never processed) are skipped and counted. The work is
 * small and serial: rank 0 reads the file (mpi/store.h on MPI_COMM_SELF) and writes FILE.tmp, then
 * renames it, so a failed export never leaves a half-written FILE.
 */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "mpi/store.h"
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *features, *format, *out, *label;
    int quiet;
    mpi_store *s;
    size_t n, dim;
    float *x;
    signed char *status;
    char **ids;
    int n_cols;
    char **col_names; /* from the `columns` attribute */
    char ***cols;     /* n_cols x n */
    char **labels;    /* the label column (libsvm) */
    long written, failed, unlabelled;
} job_export;

static int read_strings(job_export *e, const char *name, char ***v, char *err, size_t errlen)
{
    size_t n = 0;
    int rc = mpi_store_strings_read(e->s, name, v, &n, err, errlen);
    if (!rc && n != e->n)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /%s has %zu rows, /features %zu", e->features, name, n, e->n);
    return rc;
}

static int export_read(job_export *e, char *err, size_t errlen)
{
    int rc = mpi_store_open(MPI_COMM_SELF, e->features, 0, &e->s, err, errlen);
    if (rc) return rc;
    int r;
    size_t d[MPI_STORE_MAX_RANK];
    if ((rc = mpi_store_dataset_dims(e->s, "features", &r, d, err, errlen))) return rc;
    if (r != 2) return util_fail(err, errlen, UTIL_EINPUT, "%s: /features must be 2-D (N, d)", e->features);
    e->n = d[0];
    e->dim = d[1];
    e->x = malloc((e->n * e->dim + 1) * sizeof *e->x);
    e->status = calloc(e->n + 1, 1);
    if (!e->x || !e->status) return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", e->features);
    if (e->n && (rc = mpi_store_read_all(e->s, "features", MPI_STORE_F32, e->x, err, errlen))) return rc;
    if (e->n && mpi_store_exists(e->s, "status") &&
        (rc = mpi_store_read_all(e->s, "status", MPI_STORE_I8, e->status, err, errlen)))
        return rc;
    if ((rc = read_strings(e, "ids", &e->ids, err, errlen))) return rc;

    /* the list's columns, in list order, from the `columns` attribute */
    char cols[65536] = "", ebuf[UTIL_ERRLEN];
    mpi_store_attr_read_string(e->s, NULL, "columns", cols, sizeof cols, ebuf, sizeof ebuf);
    int nc = cols[0] ? 1 : 0;
    for (char *p = cols; *p; p++) nc += *p == '\t';
    e->col_names = calloc((size_t)nc + 1, sizeof *e->col_names);
    e->cols = calloc((size_t)nc + 1, sizeof *e->cols);
    if (!e->col_names || !e->cols) return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", e->features);
    char *save = NULL;
    for (char *tok = strtok_r(cols, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save)) {
        e->col_names[e->n_cols] = util_strdup(tok);
        if ((rc = read_strings(e, tok, &e->cols[e->n_cols++], err, errlen))) return rc;
    }
    if (!strcmp(e->format, "libsvm")) {
        for (int c = 0; c < e->n_cols; c++)
            if (!strcmp(e->col_names[c], e->label)) e->labels = e->cols[c];
        if (!e->labels && mpi_store_exists(e->s, e->label) == 1 &&
            (rc = read_strings(e, e->label, &e->labels, err, errlen)) == 0) {
            e->col_names[e->n_cols] = util_strdup(e->label); /* not in `columns`: keep it to free it */
            e->cols[e->n_cols++] = e->labels;
        }
        if (rc) return rc;
        if (!e->labels) {
            char have[1024] = "";
            for (int c = 0; c < e->n_cols; c++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", c ? ", " : "", e->col_names[c]);
            return util_fail(err, errlen, UTIL_EINPUT, "%s: no label column /%s (list columns: %s)", e->features, e->label,
                             e->n_cols ? have : "none");
        }
    }
    return 0;
}

static int write_libsvm(job_export *e, FILE *f, const char *labels_path, char *err, size_t errlen)
{
    /* label map over the rows that are exported */
    const char **vals = malloc((e->n + 1) * sizeof *vals);
    if (!vals) return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    for (size_t i = 0; i < e->n; i++) vals[i] = e->status[i] == 0 ? e->labels[i] : "";
    shard_labels map;
    int rc = shard_labels_make(vals, e->n, &map, err, errlen);
    free(vals);
    if (rc) return rc;
    for (size_t i = 0; i < e->n; i++) {
        if (e->status[i] != 0) {
            e->failed++;
            continue;
        }
        if (map.index[i] < 0) {
            e->unlabelled++;
            continue;
        }
        fprintf(f, "%d", map.index[i]);
        const float *x = e->x + i * e->dim;
        for (size_t k = 0; k < e->dim; k++)
            if (x[k] != 0.0f) fprintf(f, " %zu:%.9g", k + 1, x[k]);
        fputc('\n', f);
        e->written++;
    }
    FILE *lf = fopen(labels_path, "w");
    if (!lf) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write: %s", labels_path, strerror(errno));
    for (int c = 0; lf && c < map.n; c++) fprintf(lf, "%d\t%s\n", c, map.names[c]);
    if (lf && fclose(lf) != 0) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", labels_path);
    shard_labels_free(&map);
    return rc;
}

static void write_tsv(job_export *e, FILE *f)
{
    fputs("id", f);
    for (int c = 0; c < e->n_cols; c++) fprintf(f, "\t%s", e->col_names[c]);
    for (size_t k = 0; k < e->dim; k++) fprintf(f, "\tf%zu", k + 1);
    fputc('\n', f);
    for (size_t i = 0; i < e->n; i++) {
        if (e->status[i] != 0) {
            e->failed++;
            continue;
        }
        fputs(e->ids[i], f);
        for (int c = 0; c < e->n_cols; c++) fprintf(f, "\t%s", e->cols[c][i]);
        const float *x = e->x + i * e->dim;
        for (size_t k = 0; k < e->dim; k++) fprintf(f, "\t%.9g", x[k]);
        fputc('\n', f);
        e->written++;
    }
}

static int export_run(job_export *e, char *err, size_t errlen)
{
    int rc = export_read(e, err, errlen);
    for (size_t i = 0; !rc && i < e->n; i++) /* an ok row must have finite features */
        for (size_t k = 0; e->status[i] == 0 && k < e->dim; k++)
            if (!isfinite(e->x[i * e->dim + k])) {
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s: row %zu (id '%s') has status ok but non-finite features",
                               e->features, i, e->ids[i]);
                break;
            }
    if (rc) return rc;
    size_t len = strlen(e->out);
    char *tmp = malloc(len + 16), *labels = malloc(len + 16);
    if (!tmp || !labels) {
        free(tmp);
        free(labels);
        return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    }
    snprintf(tmp, len + 16, "%s.tmp", e->out);
    snprintf(labels, len + 16, "%s.labels", e->out);
    FILE *f = fopen(tmp, "w");
    if (!f) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write: %s", tmp, strerror(errno));
    if (!rc && !strcmp(e->format, "libsvm")) rc = write_libsvm(e, f, labels, err, errlen);
    else if (!rc) write_tsv(e, f);
    if (f && (ferror(f) | fclose(f)) && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", tmp);
    if (!rc && rename(tmp, e->out) != 0)
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot rename to %s: %s", tmp, e->out, strerror(errno));
    if (rc) remove(tmp);
    free(tmp);
    free(labels);
    return rc;
}

static void export_free(job_export *e)
{
    char ebuf[UTIL_ERRLEN];
    if (e->s) mpi_store_close(e->s, ebuf, sizeof ebuf);
    free(e->x);
    free(e->status);
    if (e->ids) mpi_store_strings_free(e->ids, e->n);
    for (int c = 0; c < e->n_cols; c++) {
        free(e->col_names[c]);
        if (e->cols[c]) mpi_store_strings_free(e->cols[c], e->n);
    }
    free(e->col_names);
    free(e->cols);
}

int job_export_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    job_export e;
    memset(&e, 0, sizeof e);
    util_opt opts[] = {
        {"features", UTIL_OPT_STRING, &e.features, "", "features.h5 (from extract)", 0, -1, 1},
        {"format", UTIL_OPT_STRING, &e.format, "libsvm", "libsvm | tsv", 0, -1, 0},
        {"out", UTIL_OPT_STRING, &e.out, "", "output text file (libsvm: the label map goes to OUT.labels)", 0, -1, 1},
        {"label-column", UTIL_OPT_STRING, &e.label, "label", "libsvm: the string dataset holding each row's class", 0, -1, 0},
        {"quiet", UTIL_OPT_FLAG, &e.quiet, "", "no summary", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("export", "Write features.h5 as LIBSVM text (labels mapped to integers) or TSV.", opts,
                             argc, argv, err, errlen);
    if (rc) return rc;
    if (strcmp(e.format, "libsvm") && strcmp(e.format, "tsv"))
        return util_fail(err, errlen, UTIL_EUSAGE, "--format must be libsvm or tsv, not '%s'", e.format);
    if (mpi_util_rank(comm) == 0) {
        rc = export_run(&e, err, errlen);
        if (!rc && !e.quiet) {
            printf("export: wrote %ld rows of %zu (%ld failed rows skipped", e.written, e.n, e.failed);
            if (!strcmp(e.format, "libsvm")) printf(", %ld without a %s label", e.unlabelled, e.label);
            printf(") to %s\n", e.out);
            if (!strcmp(e.format, "libsvm")) printf("export: label map in %s.labels\n", e.out);
        }
        export_free(&e);
    }
    return mpi_util_agree(comm, rc, err, errlen);
}
