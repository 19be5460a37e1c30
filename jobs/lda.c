/* lda.c - `artistnet lda`: fits LDA on a label column (the artists) of features.h5 with MPI
 * reductions and writes lda.h5. Each rank reads its own block of whole row groups (parallel HDF5);
 * rows with status != 0 or an empty label are skipped. The projection is applied by `evaluate --lda lda.h5`
 * (y = (x - /mean) * /components). Numerics and file schema: reduce/reduce_lda.h. */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "reduce/reduce_features.h"
#include "reduce/reduce_lda.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int job_lda_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *features = NULL, *out = NULL, *label = NULL;
    int dim = 100, quiet = 0;
    double shrinkage = REDUCE_LDA_SHRINKAGE;
    util_opt opts[] = {
        {"features", UTIL_OPT_STRING, &features, "", "features.h5 of the training clips", 0, -1, 1},
        {"out", UTIL_OPT_STRING, &out, "", "output lda.h5", 0, -1, 1},
        {"label-column", UTIL_OPT_STRING, &label, "artist", "string dataset holding the class of each row", 0, -1, 0},
        {"dim", UTIL_OPT_INT, &dim, "100", "output dimension (at most classes - 1)", 1, 65536, 0},
        {"shrinkage", UTIL_OPT_DOUBLE, &shrinkage, "1e-4",
         "Sw <- (1-s) Sw + s tr(Sw)/d I (keeps Sw positive definite)", 0, 1, 0},
        {"quiet", UTIL_OPT_FLAG, &quiet, "", "no summary on stdout", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("lda", "Fit LDA (Sb v = lambda Sw v) on a label column of features.h5 by MPI reductions.",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    double t0 = util_now();

    reduce_features f;
    const char *cols[1] = {label};
    rc = reduce_features_read(features, comm, REDUCE_READ_BLOCK, cols, NULL, 1, &f, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) return rc;
    double t_read = util_now() - t0;
    signed char *use = malloc((size_t)f.n + 1);
    int *ids = malloc(((size_t)f.n + 1) * sizeof *ids);
    reduce_classes classes = {0};
    if (!use || !ids) rc = util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory");
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) {
        for (long i = 0; i < f.n; i++) use[i] = f.status[i] == 0;
        rc = reduce_classes_build(comm, reduce_features_column(&f, label), use, f.n, &classes, ids, err, errlen);
        rc = mpi_util_agree(comm, rc, err, errlen);
    }
    char **idc = reduce_features_column(&f, "ids");
    for (long i = 0; i < f.n && !rc; i++) /* non-finite features in an ok row: name the row */
        for (int j = 0; j < f.dim && ids[i] >= 0; j++)
            if (!isfinite(f.x[(size_t)i * f.dim + j])) {
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s: row %ld (id '%s') has non-finite features (NaN/Inf) but status ok",
                               features, f.offset + i, idc[i]);
                break;
            }
    rc = mpi_util_agree(comm, rc, err, errlen);
    long counts[2] = {0, 0}, total[2] = {0, 0}; /* used rows, failed-status rows */
    for (long i = 0; i < f.n && !rc; i++) {
        counts[0] += ids[i] >= 0;
        counts[1] += f.status[i] != 0;
    }
    if (!rc) MPI_Allreduce(counts, total, 2, MPI_LONG, MPI_SUM, comm);
    if (!rc && classes.n < 2)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /%s has %d distinct non-empty values among ok rows; LDA needs >= 2",
                       features, label, classes.n);
    reduce_lda_model m = {0};
    double t1 = util_now();
    if (!rc) rc = reduce_lda_fit(comm, f.x, ids, f.n, f.offset, classes.n, f.dim, shrinkage, dim, &m, err, errlen);
    if (rc && strncmp(err, "lda:", 4) == 0) {
        char tmp[UTIL_ERRLEN];
        snprintf(tmp, sizeof tmp, "%s: %s", features, err);
        snprintf(err, errlen, "%s", tmp);
    }
    double t_fit = util_now() - t1;
    if (!rc && rank == 0) {
        char *cmd = util_join_argv(argc, argv);
        rc = reduce_lda_save(&m, out, label, features, cmd, err, errlen);
        free(cmd);
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc && rank == 0 && !quiet) {
        printf("lda: %ld rows (%ld failed rows skipped, %ld without label), %d classes, %d -> %d dims, shrinkage %g\n",
               total[0], total[1], f.n_total - total[0] - total[1], classes.n, m.dim_in, m.dim_out, shrinkage);
        printf("lda: eigenvalues %.6g", m.eigenvalues[0]);
        for (int k = 1; k < m.dim_out && k < 5; k++) printf(", %.6g", m.eigenvalues[k]);
        if (m.dim_out > 5) printf(" ... %.6g", m.eigenvalues[m.dim_out - 1]);
        printf("\n");
        printf("lda: read %.2f s, fit %.2f s on %d rank%s; wrote %s\n", t_read, t_fit, size, size > 1 ? "s" : "", out);
    }
    reduce_lda_model_free(&m);
    reduce_classes_free(&classes);
    reduce_features_free(&f);
    free(use);
    free(ids);
    return rc;
}
