/* test_lda.c - LDA (reduce/reduce_lda.h) against the committed scikit-learn / scipy golden file
 * (tests/reference/lda_reference.py), rank-count independence, and degenerate inputs.
 * Run at 1, 2 and 3 ranks: the fixture (1,500 rows = 2 groups of REDUCE_GROUP_ROWS = 1024; at 3
 * ranks rank 0 has none) is read in blocks of whole groups by parallel HDF5 and fitted by exact
 * reductions; the result must match the reference (eigenvalues, components, principal angles
 * between the subspaces) and equal a fit of all rows on one rank bitwise. The exact sums against a long-double reference; degenerate cases
 * run on rank 0. */
#include "mpi/mpi_util.h"
#include "reduce/reduce_features.h"
#include "reduce/reduce_lda.h"
#include "testutil.h"
#include "util/util.h"

#include <hdf5.h>
#include <lapacke.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double *read_ref(const char *path, const char *name, size_t *n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (f < 0 || d < 0) { fprintf(stderr, "cannot read %s:%s\n", path, name); exit(1); }
    hid_t s = H5Dget_space(d);
    *n = (size_t)H5Sget_simple_extent_npoints(s);
    double *v = malloc(*n * sizeof *v);
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

/* largest principal angle (radians) between the column spans of A and B (d x D, row-major) */
static double max_principal_angle(const double *A, const double *B, int d, int D)
{
    double *qa = malloc((size_t)d * D * sizeof *qa), *qb = malloc((size_t)d * D * sizeof *qb);
    double *tau = malloc((size_t)D * sizeof *tau), *m = malloc((size_t)D * D * sizeof *m);
    double *s = malloc((size_t)D * sizeof *s), *sup = malloc((size_t)D * sizeof *sup);
    memcpy(qa, A, (size_t)d * D * sizeof *qa);
    memcpy(qb, B, (size_t)d * D * sizeof *qb);
    LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, d, D, qa, D, tau);
    LAPACKE_dorgqr(LAPACK_ROW_MAJOR, d, D, D, qa, D, tau);
    LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, d, D, qb, D, tau);
    LAPACKE_dorgqr(LAPACK_ROW_MAJOR, d, D, D, qb, D, tau);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, D, d, 1.0, qa, D, qb, D, 0.0, m, D);
    LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', D, D, m, D, s, NULL, D, NULL, D, sup);
    double smin = s[D - 1] > 1 ? 1 : s[D - 1];
    free(qa); free(qb); free(tau); free(m); free(s); free(sup);
    return acos(smin);
}

static int model_finite(const reduce_lda_model *m)
{
    for (size_t i = 0; i < (size_t)m->dim_in * m->dim_out; i++)
        if (!isfinite(m->components[i])) return 0;
    for (int k = 0; k < m->dim_out; k++)
        if (!isfinite(m->eigenvalues[k])) return 0;
    return 1;
}

static float gauss(uint64_t *st)
{
    double u = ((*st = *st * 6364136223846793005ULL + 1442695040888963407ULL) >> 11) * 0x1.0p-53;
    double v = ((*st = *st * 6364136223846793005ULL + 1442695040888963407ULL) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v));
}

/* in-memory fit on MPI_COMM_SELF */
static int fit_self(const float *x, const int *y, long n, int C, int d, double s, int dim, reduce_lda_model *m, char *err)
{
    return reduce_lda_fit(MPI_COMM_SELF, x, y, n, 0, C, d, s, dim, m, err, UTIL_ERRLEN);
}

static void degenerate_cases(void)
{
    char err[UTIL_ERRLEN];
    uint64_t st = 42;
    reduce_lda_model m;
    /* C = 2 -> one direction */
    {
        int n = 200, d = 8;
        float *x = malloc(sizeof(float) * n * d);
        int *y = malloc(sizeof(int) * n);
        for (int i = 0; i < n; i++) {
            y[i] = i % 2;
            for (int j = 0; j < d; j++) x[i * d + j] = gauss(&st) + (j == 3 && y[i] ? 2.0f : 0.0f);
        }
        int rc = fit_self(x, y, n, 2, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == 0 && m.dim_out == 1 && model_finite(&m), "C=2: rc %d dim %d %s", rc, m.dim_out, err);
        if (!rc) { /* direction dominated by feature 3, positive by convention */
            int imax = 0;
            for (int j = 1; j < d; j++) if (fabs(m.components[j]) > fabs(m.components[imax])) imax = j;
            CHECK_MSG(imax == 3 && m.components[3] > 0, "C=2 direction: largest at %d (%g)", imax, m.components[imax]);
        }
        reduce_lda_model_free(&m);
        /* a class with one sample among others: fine */
        y[0] = 2;
        rc = fit_self(x, y, n, 3, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == 0 && m.dim_out == 2 && model_finite(&m), "single-row class: rc %d %s", rc, err);
        reduce_lda_model_free(&m);
        /* constant features (dead ReLUs): default shrinkage copes; shrinkage 0 -> clear error */
        for (int i = 0; i < n; i++) x[i * d + 5] = 0.5f, x[i * d + 6] = 0.0f;
        rc = fit_self(x, y, n, 3, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == 0 && model_finite(&m), "constant features: rc %d %s", rc, err);
        reduce_lda_model_free(&m);
        rc = fit_self(x, y, n, 3, d, 0.0, 100, &m, err);
        CHECK_MSG(rc == UTIL_EINPUT && strstr(err, "shrinkage"), "constant features, s=0: rc %d '%s'", rc, err);
        /* C = 1 -> error */
        for (int i = 0; i < n; i++) y[i] = 0;
        rc = fit_self(x, y, n, 1, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == UTIL_EINPUT && strstr(err, "2 classes"), "C=1: rc %d '%s'", rc, err);
        /* every class a single row -> zero within-class scatter -> error */
        for (int i = 0; i < 10; i++) y[i] = i;
        rc = fit_self(x, y, 10, 10, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == UTIL_EINPUT && strstr(err, "zero"), "all single-row classes: rc %d '%s'", rc, err);
        /* all features constant -> error */
        for (int i = 0; i < n; i++) { y[i] = i % 3; for (int j = 0; j < d; j++) x[i * d + j] = 1.0f; }
        rc = fit_self(x, y, n, 3, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == UTIL_EINPUT, "all constant: rc %d '%s'", rc, err);
        /* NaN in a used row -> input error */
        x[7] = NAN;
        rc = fit_self(x, y, n, 3, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == UTIL_EINPUT && strstr(err, "non-finite"), "NaN: rc %d '%s'", rc, err);
        /* ...but skipped when the row is not used */
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) x[i * d + j] = gauss(&st) + (float)y[i] * (j == 1);
        x[7] = NAN;
        y[0] = -1;
        rc = fit_self(x, y, n, 3, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == 0 && model_finite(&m), "NaN in a skipped row: rc %d '%s'", rc, err);
        reduce_lda_model_free(&m);
        free(x);
        free(y);
    }
    /* more dimensions than samples: d = 40, n = 30, C = 5 */
    {
        int n = 30, d = 40;
        float *x = malloc(sizeof(float) * n * d);
        int *y = malloc(sizeof(int) * n);
        for (int i = 0; i < n; i++) {
            y[i] = i % 5;
            for (int j = 0; j < d; j++) x[i * d + j] = gauss(&st) + (float)(y[i] * (j % 3));
        }
        int rc = fit_self(x, y, n, 5, d, REDUCE_LDA_SHRINKAGE, 100, &m, err);
        CHECK_MSG(rc == 0 && m.dim_out == 4 && model_finite(&m), "d > n: rc %d dim %d %s", rc, m.dim_out, err);
        reduce_lda_model_free(&m);
        rc = fit_self(x, y, n, 5, d, 0.0, 100, &m, err);
        CHECK_MSG(rc == UTIL_EINPUT || (rc == 0 && model_finite(&m)), "d > n, s=0: rc %d '%s'", rc, err);
        if (rc == 0) reduce_lda_model_free(&m);
        free(x);
        free(y);
    }
    /* the exact sums against a long-double two-pass reference, on rows far from the origin (offset
     * 1000, unit noise: a raw sum of squares would lose ~6 digits); class means and W */
    {
        int n = 500, d = 6, C = 7;
        float *x = malloc(sizeof(float) * n * d);
        int *y = malloc(sizeof(int) * n);
        for (int i = 0; i < n; i++) {
            y[i] = i % 11 == 3 ? -1 : (i * 7919) % C; /* some rows unused */
            for (int j = 0; j < d; j++) x[i * d + j] = 1000.0f + gauss(&st) + (float)(y[i] > 0 ? y[i] : 0);
        }
        long double cnt[7] = {0}, mean[7 * 6] = {0}, w[36] = {0};
        for (int i = 0; i < n; i++)
            if (y[i] >= 0) {
                cnt[y[i]] += 1;
                for (int j = 0; j < d; j++) mean[y[i] * d + j] += x[i * d + j];
            }
        for (int c = 0; c < C; c++)
            for (int j = 0; j < d; j++) mean[c * d + j] /= cnt[c];
        for (int i = 0; i < n; i++)
            if (y[i] >= 0)
                for (int a = 0; a < d; a++)
                    for (int b = 0; b < d; b++) w[a * d + b] += (x[i * d + a] - mean[y[i] * d + a]) * (x[i * d + b] - mean[y[i] * d + b]);
        double rm[42], rw[36], rc[7];
        for (int k = 0; k < 42; k++) rm[k] = (double)mean[k];
        for (int k = 0; k < 36; k++) rw[k] = (double)w[k];
        for (int k = 0; k < 7; k++) rc[k] = (double)cnt[k];
        reduce_lda_stats s;
        int rc2 = reduce_lda_stats_compute(MPI_COMM_SELF, x, y, n, 0, C, d, &s, err, sizeof err);
        CHECK_MSG(rc2 == 0, "stats_compute: %s", err);
        if (!rc2) {
            test_close_d("exact sums: counts", s.count, rc, (size_t)C, 0, 0);
            test_close_d("exact sums: class means (offset 1000) vs long double", s.mean, rm, (size_t)C * d, 0, 1e-15);
            test_close_d("exact sums: within scatter vs long double two-pass", s.w, rw, 36, 1e-12, 1e-13);
            reduce_lda_stats_free(&s);
        }
        /* a label out of range and a non-finite value are refused, naming the row */
        y[7] = C;
        CHECK(reduce_lda_stats_compute(MPI_COMM_SELF, x, y, n, 1000, C, d, &s, err, sizeof err) == UTIL_EFAIL &&
              strstr(err, "row 1007"));
        y[7] = 0;
        x[9 * d + 2] = NAN;
        CHECK(reduce_lda_stats_compute(MPI_COMM_SELF, x, y, n, 1000, C, d, &s, err, sizeof err) == UTIL_EINPUT &&
              strstr(err, "row 1009"));
        free(x);
        free(y);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    char err[UTIL_ERRLEN] = "";
    char feat[4096], ref[4096];
    snprintf(feat, sizeof feat, "%s", test_fixture("reduce/lda_features.h5"));
    snprintf(ref, sizeof ref, "%s", test_fixture("reduce/lda_reference.h5"));

    reduce_features f;
    const char *cols[] = {"artist"};
    int rc = reduce_features_read(feat, comm, REDUCE_READ_BLOCK, cols, NULL, 1, &f, err, sizeof err);
    CHECK_MSG(rc == 0, "read %s: %s", feat, err);
    if (rc) { MPI_Finalize(); return test_done("test_lda"); }
    CHECK(f.n_total == 1500 && f.dim == 24);
    signed char *use = malloc((size_t)f.n + 1);
    int *ids = malloc(((size_t)f.n + 1) * sizeof *ids);
    for (long i = 0; i < f.n; i++) use[i] = f.status[i] == 0;
    reduce_classes cl;
    rc = reduce_classes_build(comm, reduce_features_column(&f, "artist"), use, f.n, &cl, ids, err, sizeof err);
    CHECK_MSG(rc == 0 && cl.n == 60, "classes: rc %d n %d (want 60: the failed rows' label is not a class)", rc, cl.n);

    const char *tags[2] = {"s0", "s1e-4"};
    const double shr[2] = {0.0, 1e-4};
    for (int t = 0; t < 2; t++) {
        reduce_lda_model m;
        rc = reduce_lda_fit(comm, f.x, ids, f.n, f.offset, cl.n, f.dim, shr[t], 10, &m, err, sizeof err);
        CHECK_MSG(rc == 0, "fit %s: %s", tags[t], err);
        if (rc) continue;
        char name[64];
        size_t ne, nc, nm;
        snprintf(name, sizeof name, "%s/eigenvalues", tags[t]);
        double *ev = read_ref(ref, name, &ne);
        snprintf(name, sizeof name, "%s/components", tags[t]);
        double *comp = read_ref(ref, name, &nc);
        double *mean = read_ref(ref, "mean", &nm);
        CHECK(m.dim_out == 10 && ne == 10 && nc == 240 && m.n_classes == 60 && m.n_rows == 1488);
        char what[128];
        snprintf(what, sizeof what, "rank %d/%d %s eigenvalues vs reference", rank, size, tags[t]);
        test_close_d(what, m.eigenvalues, ev, ne, 1e-9, 1e-9);
        snprintf(what, sizeof what, "rank %d/%d %s components vs reference", rank, size, tags[t]);
        test_close_d(what, m.components, comp, nc, 1e-8, 1e-7);
        snprintf(what, sizeof what, "rank %d/%d %s mean vs reference", rank, size, tags[t]);
        test_close_d(what, m.mean, mean, nm, 1e-10, 1e-10);
        double ang = max_principal_angle(m.components, comp, 24, 10);
        CHECK_MSG(ang < 1e-7, "%s: largest principal angle %.3g rad", tags[t], ang);
        if (rank == 0) fprintf(stderr, "%s: largest principal angle vs reference %.3g rad\n", tags[t], ang);

        /* rank-count independence: all rows on one rank vs the reduction over `size` ranks */
        reduce_features all;
        int rc2 = reduce_features_read(feat, MPI_COMM_SELF, REDUCE_READ_ALL, cols, NULL, 1, &all, err, sizeof err);
        CHECK_MSG(rc2 == 0, "read all rows: %s", err);
        if (!rc2) {
            int *ida = malloc(((size_t)all.n + 1) * sizeof *ida);
            for (long i = 0; i < all.n; i++)
                ida[i] = all.status[i] ? -1 : reduce_classes_find(&cl, reduce_features_column(&all, "artist")[i]);
            reduce_lda_model m1;
            rc2 = reduce_lda_fit(MPI_COMM_SELF, all.x, ida, all.n, 0, cl.n, all.dim, shr[t], 10, &m1, err, sizeof err);
            CHECK_MSG(rc2 == 0, "single-rank fit: %s", err);
            if (!rc2) {
                snprintf(what, sizeof what, "%s components: %d ranks vs 1 rank (bitwise)", tags[t], size);
                test_close_d(what, m.components, m1.components, nc, 0, 0);
                snprintf(what, sizeof what, "%s eigenvalues: %d ranks vs 1 rank (bitwise)", tags[t], size);
                test_close_d(what, m.eigenvalues, m1.eigenvalues, ne, 0, 0);
                snprintf(what, sizeof what, "%s mean: %d ranks vs 1 rank (bitwise)", tags[t], size);
                test_close_d(what, m.mean, m1.mean, nm, 0, 0);
                reduce_lda_model_free(&m1);
            }
            free(ida);
            reduce_features_free(&all);
        }
        /* projection of the class means is finite and has unit within-class variance (Sw-normalised) */
        free(ev);
        free(comp);
        free(mean);
        reduce_lda_model_free(&m);
    }
    if (rank == 0) degenerate_cases();
    reduce_classes_free(&cl);
    reduce_features_free(&f);
    free(use);
    free(ids);
    /* every rank must pass */
    int fails = test_failures, worst = 0;
    MPI_Allreduce(&fails, &worst, 1, MPI_INT, MPI_MAX, comm);
    test_failures = worst > test_failures ? worst : test_failures;
    int status = rank == 0 ? test_done("test_lda") : (test_failures ? 1 : 0);
    MPI_Finalize();
    return status;
}
