/* reduce_lda.h - Linear discriminant analysis by MPI reductions (DESIGN.md "LDA"; Park et al. 2017
 * reduce the 256-d artist-trained features to 100 dimensions with LDA fitted on the artist labels).
 *
 * Numerics. Every rank keeps, in double, per-class counts n_c and means m_c and ONE within-class
 * scatter matrix W = sum_i (x_i - m_{y_i})(x_i - m_{y_i})^T about its own class means (two passes over
 * its rows: class sums -> means, then centred rows -> dsyrk). Partial statistics are merged pairwise
 * (Chan, Golub & LeVeque): for class c with (na, ma) and (nb, mb), n = na + nb,
 * m = ma + (mb - ma) nb / n and W += Wb + sum_c (na nb / n) (mb - ma)(mb - ma)^T, the last term as one
 * dsyrk over the C x d matrix of scaled mean differences. No raw sums of squares, no float sums.
 * The statistics are ONE flat buffer [C, d, n_1..n_C, m_1..m_C, W (upper)] of C(d+1) + d^2 + 2
 * doubles (O(C d + d^2) per rank) reduced to rank 0 in ONE MPI_Reduce with a user operation on a
 * contiguous datatype covering the whole buffer (so MPI never splits it).
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
    double *buf;     /* the flat buffer: [C, d, count (C), mean (C x d), W (d x d, upper triangle valid)] */
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
/* Adds rows x (n x dim floats) with labels in [0, C) to s; rows with label < 0 are skipped.
 * Non-finite values in a used row -> UTIL_EINPUT naming the (local) row. */
int reduce_lda_stats_accumulate(reduce_lda_stats *s, const float *x, const int *labels, long n,
                                char *err, size_t errlen);
/* a <- merge(a, b) (pairwise update above). */
void reduce_lda_stats_merge(reduce_lda_stats *a, const reduce_lda_stats *b);
/* Collective: merges every rank's statistics into root's s (other ranks' s are left unspecified). */
int reduce_lda_stats_reduce(reduce_lda_stats *s, MPI_Comm comm, int root, char *err, size_t errlen);

/* Rank-local solve of the merged statistics (see above). dim: wanted output dimension.
 * Errors (UTIL_EINPUT): fewer than 2 classes with rows, zero within-class scatter (every class a
 * single row, or all features constant), Sw_s not positive definite (shrinkage 0 on singular data:
 * the message suggests --shrinkage). Never returns NaN/Inf in the model. */
int reduce_lda_solve(const reduce_lda_stats *s, double shrinkage, int dim, reduce_lda_model *m,
                     char *err, size_t errlen);

/* Collective: accumulate the local rows, reduce to rank 0, solve there, broadcast the model.
 * Same return code on every rank. */
int reduce_lda_fit(MPI_Comm comm, const float *x, const int *labels, long n, int n_classes, int dim_in,
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
