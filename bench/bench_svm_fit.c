/* bench_svm_fit.c - one LIBSVM C-SVC fit on every row of a features.h5 (what `mirex train` makes
 * after its grid search, reduce_svm_model_fit): on the precomputed kernel matrix (ours, the default
 * where it fits) vs LIBSVM computing the kernel itself (max_kernel_mb 0), in the same run, best of
 * REPEAT; checks that both predict the training rows alike. bench_svm.sh prints scikit-learn's SVC
 * on the same rows beside it.
 * usage: bench_svm_fit FEATURES.h5 LABEL_COLUMN C GAMMA [REPEAT] */
#include "nn/nn_blas.h"
#include "reduce/reduce_features.h"
#include "reduce/reduce_svm_model.h"
#include "shard/shard.h"
#include "util/util.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <svm.h>

static double fit_seconds(const double *x, long n, int d, const int *y, const shard_labels *cl, const reduce_svm_params *p,
                          double C, double gamma, int repeat, int *pred, int *n_sv)
{
    double best = 1e30;
    for (int r = 0; r < repeat; r++) {
        reduce_svm_model m;
        char err[UTIL_ERRLEN];
        const double t0 = util_now();
        if (reduce_svm_model_fit(x, n, d, y, cl->n, cl->names, p, C, gamma, &m, err, sizeof err)) {
            fprintf(stderr, "bench_svm_fit: %s\n", err);
            exit(1);
        }
        const double s = util_now() - t0;
        if (s < best) best = s;
        reduce_svm_model_predict(&m, x, n, pred);
        *n_sv = svm_get_nr_sv(m.svm);
        reduce_svm_model_free(&m);
    }
    return best;
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv); /* artistnet's OpenBLAS kernels (re-exec where OpenBLAS fell back to generic ones) */
    MPI_Init(&argc, &argv);
    if (argc < 5) {
        fprintf(stderr, "usage: bench_svm_fit FEATURES.h5 LABEL_COLUMN C GAMMA [REPEAT]\n");
        return 2;
    }
    const double C = atof(argv[3]), gamma = atof(argv[4]);
    const int repeat = argc > 5 ? atoi(argv[5]) : 2;
    char err[UTIL_ERRLEN];
    reduce_features f;
    const char *cols[1] = {argv[2]};
    shard_labels cl;
    if (reduce_features_read(argv[1], MPI_COMM_SELF, REDUCE_READ_ALL, cols, NULL, 1, &f, err, sizeof err) ||
        shard_labels_make((const char *const *)reduce_features_column(&f, argv[2]), (size_t)f.n, &cl, err, sizeof err)) {
        fprintf(stderr, "bench_svm_fit: %s\n", err);
        return 1;
    }
    const long n = f.n;
    const int d = f.dim;
    double *x = malloc((size_t)n * d * sizeof *x);
    int *pk = calloc((size_t)n, sizeof *pk), *pl = calloc((size_t)n, sizeof *pl);
    for (size_t i = 0; i < (size_t)n * d; i++) x[i] = f.x[i];
    reduce_svm_params pre, own;
    reduce_svm_params_default(&pre, REDUCE_SVM_RBF);
    own = pre;
    own.max_kernel_mb = 0;
    int sv_k = 0, sv_l = 0;
    const double tk = fit_seconds(x, n, d, cl.index, &cl, &pre, C, gamma, repeat, pk, &sv_k);
    const double tl = fit_seconds(x, n, d, cl.index, &cl, &own, C, gamma, repeat, pl, &sv_l);
    long same = 0;
    for (long i = 0; i < n; i++) same += pk[i] == pl[i];
    printf("bench_svm_fit: one RBF fit on %ld x %d rows (C %g, gamma %g), best of %d: precomputed kernel %.3f s, LIBSVM's "
           "own kernel %.3f s: %.2fx; %d / %d support vectors, %ld of %ld training predictions the same\n",
           n, d, C, gamma, repeat, tk, tl, tl / tk, sv_k, sv_l, same, n);
    int bad = same != n || sv_k != sv_l;
    free(x);
    free(pk);
    free(pl);
    shard_labels_free(&cl);
    reduce_features_free(&f);
    MPI_Finalize();
    return bad;
}
