/* reduce_svm_fits.h - fits.tsv: one row per LIBSVM fit of an evaluate run (reduce_svm_fit), where it
 * ran and how long its set-up and fit took. It is the run's schedule (a Gantt chart: rank, start,
 * seconds) and the input of `evaluate --bench-replay`, which replays that schedule at another rank
 * count with every set-up and fit a sleep of its recorded seconds.
 *
 *   # artistnet evaluate fits: <ranks> ranks; seconds from the grid's common start
 *     (<ranks>: those that ran the grid, reduce_svm_cv.workers; rank below counts among them)
 *   item kind fold gamma C inner rank start_s setup_fold_s setup_rows_s fit_s correct evaluated
 *
 * Tab-separated, one row per fit ordered by item. item: the queue item (grid task (((f n_g + g) n_c +
 * c) n_inner + i), or folds x cells x inner + f for fold f's final fit); kind: grid or final; fold and
 * inner: 1-based (inner "-" for a final fit); gamma ("-" for the linear kernel) and C: the cell's (the
 * winner's for a final fit); setup_fold_s: standardise + Gram matrix done for this fit (0: its rank held
 * them), setup_rows_s: kernel rows built for it; correct / evaluated: its inner fold's (grid) or test
 * fold's (final) predictions. */
#ifndef ARTISTNET_REDUCE_SVM_FITS_H
#define ARTISTNET_REDUCE_SVM_FITS_H
#include "reduce/reduce_svm.h"

#include <stddef.h>

/* Writes cv->fits (rank 0 after reduce_svm_cv_run) to path. */
int reduce_svm_fits_write(const char *path, const reduce_svm_cv *cv, int ranks, char *err, size_t errlen);

/* Reads a fits.tsv for a run of this grid, k outer and n_inner inner folds (the items, folds, inner
 * folds, C and gamma of every row must be this grid's: a file of another run is refused). *out:
 * malloc'd, *n rows. UTIL_EINPUT with "path:line: ..." on anything malformed; every item once. */
int reduce_svm_fits_read(const char *path, const reduce_svm_grid *grid, reduce_svm_kernel kernel, int k, int n_inner,
                         reduce_svm_fit **out, long *n, char *err, size_t errlen);
#endif
