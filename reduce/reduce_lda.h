/* reduce_lda.h - Linear discriminant analysis by MPI reductions (DESIGN.md "LDA"; Park et al. 2017
 * reduce the 256-d artist-trained features to 100 dimensions with LDA fitted on the artist labels).
 *
 * Numerics, the same bits on any number of ranks. Two passes over the rows, every sum exact:
 *   1. per class the count n_c and the sum of its rows in fixed point (each value times 2^s, held
 *      exactly as two int64 limbs; s chosen from the largest |value| and the row count so that no
 *      sum can overflow), one MPI_Allreduce -> the class means m_c, the same bits on every rank;
 *   2. the rows centred on their class mean, (x_i - m_{y_i}) in double, one cblas_dsyrk per fixed
 *      GROUP of REDUCE_GROUP_ROWS consecutive rows of the file (reduce_features.h: ranks read whole
 *      groups), each group's scatter converted to fixed point the same way and added, one MPI_Reduce ->
 *      W = sum_i (x_i - m_{y_i})(x_i - m_{y_i})^T on rank 0.
 * Integer addition is associative, and a group's dsyrk has the same operands and shape wherever it
 * runs, so the statistics do not depend on how the groups are dealt to ranks, nor on a BLAS whose
 * rounding changes with the matrix shape (OpenBLAS's Haswell kernels). The fixed-point steps lose
 * nothing that double keeps: their resolution is about 2^-90 of the largest value (N < 2^17 rows;
 * 2^-(124 - 2 log2 N) in general; at most 2^30 rows). The two-pass
 * form (centring on the exact global class means) is the textbook-accurate one: no raw sums of
 * squares, no float sums.
 *
 * Solve (rank 0). With N = sum n_c and mu the global mean:
 *   Sw = W / N                                   (pooled within-class covariance)
 *   Sb = sum_c (n_c / N)(m_c - mu)(m_c - mu)^T   (between-class covariance)
 *   Sw_s = (1 - s) Sw + s (tr(Sw) / d) I         (shrinkage towards the scaled trace; s = shrinkage)
 * and the generalised symmetric-definite problem Sb v = lambda Sw_s v (LAPACKE_dsygvd). The top
 * D = min(dim, C - 1, d) eigenvectors, Sw_s-normalised (v^T Sw_s v = 1: projected features have
 * unit within-class variance), each sign-flipped so its largest-magnitude entry is positive (first
 * such entry on ties). These are scikit-learn's LinearDiscriminantAnalysis(solver='eigen')
 * conventions (priors = class frequencies, biased covariances) with the shrinkage applied to Sw only.
 * Default shrinkage REDUCE_LDA_SHRINKAGE = 1e-4: enough to keep Sw positive definite with dead (constant)
 * features or more dimensions than samples per class, small enough not to change a well-posed fit.
 * Classes with no (usable) rows are ignored; a class with a single row adds to Sb only. */
#ifndef ARTISTNET_REDUCE_LDA_H
#define ARTISTNET_REDUCE_LDA_H
#include <mpi.h>
#include <stddef.h>

#define REDUCE_LDA_SHRINKAGE 1e-4

typedef struct {
    int n_classes, dim;
    double *buf;     /* one allocation: [C, d, count (C), mean (C x d), W (d x d, symmetric)] */
    double *count, *mean, *w;  /* views into buf */
} reduce_lda_stats;

typedef struct {
    int dim_in, dim_out, n_classes;
    long n_rows;
    double shrinkage;
    double *mean;         /* dim_in: global mean of the training rows */
    double *components;   /* dim_in x dim_out, row-major: y = (x - mean) * components */
    double *eigenvalues;  /* dim_out, descending */
} reduce_lda_model;

int reduce_lda_stats_init(reduce_lda_stats *s, int n_classes, int dim);
void reduce_lda_stats_free(reduce_lda_stats *s);
/* Collective: the statistics of every rank's rows (see Numerics). x: this rank's n rows (n x dim
 * floats), global rows [offset, offset + n) of the file, labels in [0, C) or < 0 (row skipped).
 * Counts and means end on every rank, W on rank 0 (others: zero). Bitwise independent of the rank
 * count when every rank's block starts and ends on a multiple of REDUCE_GROUP_ROWS (or the last row),
 * as REDUCE_READ_BLOCK reads it. Non-finite values in a used row -> UTIL_EINPUT naming the row. */
int reduce_lda_stats_compute(MPI_Comm comm, const float *x, const int *labels, long n, long offset, int n_classes,
                             int dim, reduce_lda_stats *s, char *err, size_t errlen);

/* Rank-local solve of the merged statistics (see above). dim: wanted output dimension.
 * Errors (UTIL_EINPUT): fewer than 2 classes with rows, zero within-class scatter (every class a
 * single row, or all features constant), Sw_s not positive definite (shrinkage 0 on singular data:
 * the message suggests --shrinkage). Never returns NaN/Inf in the model. */
int reduce_lda_solve(const reduce_lda_stats *s, double shrinkage, int dim, reduce_lda_model *m,
                     char *err, size_t errlen);

/* Collective: reduce_lda_stats_compute, solve on rank 0, broadcast the model. Same return code on
 * every rank. */
int reduce_lda_fit(MPI_Comm comm, const float *x, const int *labels, long n, long offset, int n_classes, int dim_in,
                   double shrinkage, int dim, reduce_lda_model *m, char *err, size_t errlen);

/* y (n x dim_out, double) = (x - mean) * components, x is n x dim_in floats (cblas_dgemm). */
int reduce_lda_apply(const reduce_lda_model *m, const float *x, long n, double *y);

/* lda.h5 (serial HDF5, call on one rank): /mean (d), /components (d, D), /eigenvalues (D), float64;
 * attributes on the root: n_classes, n_rows, shrinkage, label_column, features (input path),
 * command_line, version. */
int reduce_lda_save(const reduce_lda_model *m, const char *path, const char *label_column,
                    const char *features_path, const char *command_line, char *err, size_t errlen);
int reduce_lda_load(reduce_lda_model *m, const char *path, char *err, size_t errlen);
void reduce_lda_model_free(reduce_lda_model *m);

#endif
