/* reduce_svm_model.h - one SVM fitted on a whole training set and kept for later prediction (the
 * MIREX train/test calling convention, `artistnet mirex`): grid search of (C, gamma) by inner
 * cross-validation on the training set over MPI ranks, the final LIBSVM C-SVC fit on all training
 * rows, and the saved model (standardiser, class names, LIBSVM model) that `mirex classify` loads.
 *
 * Grid search: reduce_svm_cv_run (reduce_svm.h) in its search mode, so it is dealt over ranks,
 * precomputes the kernel matrix when it fits and is identical for any rank count. reduce_svm_cv has
 * outer folds; here every row is in outer fold 0 and outer fold 1 has none, so fold 1's training side
 * is exactly the training set, with the caller's inner folds: the search runs fold 1's grid only
 * (cv.search), summed over ranks, and no final fit, which the caller makes on rank 0
 * (reduce_svm_model_fit) to keep it.
 *
 * Final fit (reduce_svm_model_fit): standardise on all training rows (population std, 1 for constant
 * columns, as reduce_svm_standardise_fit), rows passed to LIBSVM ordered by (class, row) so LIBSVM's
 * label order is the class id, same LIBSVM settings as reduce_svm_params_default.
 *
 * Files (reduce_svm_model_save, serial, one rank) in a folder DIR:
 *   DIR/svm.model     LIBSVM's own text format (svm_save_model; labels are class ids 0..L-1)
 *   DIR/svm_model.h5  /mean (d), /std (d) float64: the standardiser z = (x - mean) / std;
 *                     /classes (L strings, fixed-length UTF-8; class id = index);
 *                     attributes kernel ("linear"|"rbf"), C, gamma, majority (class id of the most
 *                     frequent training class, first on ties), n_train, inner_accuracy, inner_folds,
 *                     lda ("" or the lda.h5 file name applied before the standardiser), lda_hash,
 *                     feature_model, version, command_line. */
#ifndef ARTISTNET_REDUCE_SVM_MODEL_H
#define ARTISTNET_REDUCE_SVM_MODEL_H
#include "reduce/reduce_svm.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

struct svm_model;
struct svm_node;

typedef struct {
    int d;                  /* input dimension (after the optional LDA) */
    int n_classes;
    char **classes;         /* n_classes names, class id = index */
    double *mean, *std;     /* d each */
    reduce_svm_kernel kernel;
    double C, gamma;
    int majority;           /* most frequent training class */
    long n_train;
    double inner_accuracy;  /* mean inner CV accuracy of the chosen cell */
    int inner_folds;
    char *lda;              /* "" or lda file name */
    uint64_t lda_hash;
    char *feature_model;    /* what made the features (e.g. the model file's checksum, or "baseline") */
    struct svm_model *svm;
    struct svm_node *nodes; /* training rows (a fitted, not loaded, model points into them) */
    int precomputed;        /* fitted: LIBSVM trained on the precomputed kernel matrix (reduce_svm_model_fit) */
} reduce_svm_model;

/* Collective over comm: inner cross-validation of every grid cell on all n training rows (x: n x d,
 * not standardised; y in [0, L); inner[i] in [0, n_inner), stratified by the caller). inner_acc
 * (cells = n_c * n_g entries, cell = ic * n_g + ig) gets the mean inner accuracy of every cell,
 * *best the winner (highest, ties to the first cell in grid order). Same result on every rank. */
int reduce_svm_model_search(const double *x, long n, int d, const int *y, int n_classes, const int *inner,
                            int n_inner, const reduce_svm_grid *grid, const reduce_svm_params *params,
                            int progress, MPI_Comm comm, double *inner_acc, int *best, char *err,
                            size_t errlen);

/* Rank-local: standardise + LIBSVM C-SVC fit on all rows. classes: n_classes names (copied).
 * m->lda / feature_model start empty; set them with reduce_svm_model_set_info. When the n x n kernel
 * matrix fits params->max_kernel_mb, LIBSVM trains on it precomputed (one dgemm, as the grid search's
 * fits; 3,600 x 256 RBF: 0.7-0.8 s instead of 2.3-3.9 s), and the model is then made an ordinary
 * one of its kernel with the rows as support vectors. Against LIBSVM's own kernel on that data: RBF,
 * the same svm.model byte for byte (LIBSVM caches kernel values as float); linear, the same support
 * vectors, coefficients within 1.4e-14. */
int reduce_svm_model_fit(const double *x, long n, int d, const int *y, int n_classes, char *const *classes,
                         const reduce_svm_params *params, double C, double gamma, reduce_svm_model *m,
                         char *err, size_t errlen);
int reduce_svm_model_set_info(reduce_svm_model *m, const char *lda, uint64_t lda_hash, const char *feature_model);

/* Rank-local. save: DIR/svm.model + DIR/svm_model.h5 (above). load: UTIL_EINPUT naming the file
 * when a file is missing or inconsistent. */
int reduce_svm_model_save(const reduce_svm_model *m, const char *dir, const char *command_line, char *err,
                          size_t errlen);
int reduce_svm_model_load(reduce_svm_model *m, const char *dir, char *err, size_t errlen);

/* Class ids of n rows x (n x m->d, not standardised) into pred. */
void reduce_svm_model_predict(const reduce_svm_model *m, const double *x, long n, int *pred);
void reduce_svm_model_free(reduce_svm_model *m);

#endif
