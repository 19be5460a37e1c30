/* bench_lda.c - times reduce_lda_fit (exact fixed-point class sums and group scatters, two
 * reductions, dsygvd on rank 0, broadcast) on generated data: N rows x d, C classes, split over
 * ranks in blocks of whole REDUCE_GROUP_ROWS groups, as `artistnet lda` reads them. Each rank
 * generates its own block (class centres + noise, same generator as the sklearn peer's shape, not
 * its values). Prints "ours_seconds R" on rank 0. Usage: bench_lda N d C [dim] [shrinkage] */
#include "mpi/mpi_util.h"
#include "nn/nn_blas.h"
#include "reduce/reduce_features.h"
#include "reduce/reduce_lda.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static float unif(uint64_t *s) { return (float)((next(s) >> 11) * 0x1.0p-53) - 0.5f; }

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv); /* OpenBLAS kernels for this CPU, one thread (as artistnet does) */
    MPI_Init(&argc, &argv);
    MPI_Comm comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    long N = argc > 1 ? atol(argv[1]) : 100000;
    int d = argc > 2 ? atoi(argv[2]) : 256, C = argc > 3 ? atoi(argv[3]) : 5000;
    int dim = argc > 4 ? atoi(argv[4]) : 100;
    double s = argc > 5 ? atof(argv[5]) : REDUCE_LDA_SHRINKAGE;
    int rank = mpi_util_rank(comm), P = mpi_util_size(comm);
    long groups = (N + REDUCE_GROUP_ROWS - 1) / REDUCE_GROUP_ROWS;
    long off = groups * rank / P * REDUCE_GROUP_ROWS, end = groups * (rank + 1) / P * REDUCE_GROUP_ROWS;
    if (off > N) off = N;
    if (end > N) end = N;
    long n = end - off;
    float *centres = malloc(sizeof(float) * (size_t)C * d);
    uint64_t st = 12345;
    for (size_t i = 0; i < (size_t)C * d; i++) centres[i] = 2 * unif(&st);
    float *x = malloc(sizeof(float) * (size_t)n * d);
    int *y = malloc(sizeof(int) * (size_t)n);
    st = 777 + (uint64_t)rank;
    for (long i = 0; i < n; i++) {
        y[i] = (int)((off + i) % C);
        for (int j = 0; j < d; j++) x[(size_t)i * d + j] = centres[(size_t)y[i] * d + j] + unif(&st) * (1 + (float)j / d);
    }
    char err[UTIL_ERRLEN] = "";
    reduce_lda_model m;
    MPI_Barrier(comm);
    double t0 = util_now();
    int rc = reduce_lda_fit(comm, x, y, n, off, C, d, s, dim, &m, err, sizeof err);
    MPI_Barrier(comm);
    double t = util_now() - t0;
    if (getenv("BENCH_LDA_PHASES") && !rc) { /* the same work, phase by phase */
        reduce_lda_stats st2;
        reduce_lda_model m2;
        double p0 = util_now();
        reduce_lda_stats_compute(comm, x, y, n, off, C, d, &st2, err, sizeof err);
        double p1 = util_now();
        if (rank == 0) reduce_lda_solve(&st2, s, dim, &m2, err, sizeof err);
        double p2 = util_now();
        if (rank == 0) reduce_lda_model_free(&m2);
        reduce_lda_stats_free(&st2);
        fprintf(stderr, "rank %d: statistics (both passes and reductions) %.3f s, solve %.3f s\n", rank, p1 - p0, p2 - p1);
    }
    if (rank == 0) {
        if (rc) fprintf(stderr, "bench_lda: %s\n", err);
        else printf("ours_seconds %.4f ranks %d N %ld d %d C %d D %d top_eigenvalue %.6g\n", t, P, N, d, C, m.dim_out, m.eigenvalues[0]);
    }
    if (!rc) reduce_lda_model_free(&m);
    free(x);
    free(y);
    free(centres);
    MPI_Finalize();
    return rc ? 1 : 0;
}
