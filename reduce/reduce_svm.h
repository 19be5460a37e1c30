/* reduce_svm.h - SVM evaluation with LIBSVM (C-SVC, linear or RBF): per outer fold, standardise on
 * the training side, choose (C, gamma) by inner cross-validation on the training side only, refit
 * the winner, predict the test fold (Park et al. 2017 / MIREX protocol; DESIGN.md "SVM").
 *
 * Parallelism: the grid cells x outer folds x inner folds are independent tasks, handed out by the
 * work queue (mpi/queue.h) in chunks that never leave a (fold, gamma) kernel matrix, by affinity
 * (mpi_queue_set_stages: a rank keeps to its own matrix's group, then takes an untouched one, and
 * joins others only at the end; rank 0 too takes chunks, and answers the others from a thread with
 * queue_thread), so a rank that drew costly fits (RBF with large C) takes fewer and a rank builds
 * only a few kernel matrices. Every rank holds all rows. The final per-fold fits are items of the
 * same queue, each drawn once its fold's grid tasks are handed out: a fold's integer correct counts
 * are summed over ranks by a nonblocking MPI_Iallreduce that each rank starts once it is past that
 * fold's tasks (a progress thread, mpi/progress.h, moves it while ranks fit), and the rank that drew
 * the fold's final fit runs it as soon as the sum is in, between its grid fits of other folds, so
 * the final fits overlap the rest of the grid (only the last fold's waits for the grid's end, unless
 * a rank left idle ran it ahead: `speculate`). The predictions are combined by one MPI_Allreduce at
 * the end. No task's result depends on where it ran, so results are identical
 * for any number of ranks.
 *
 * Kernels: when the n x n kernel matrix fits (max_kernel_mb), each rank computes, per outer fold, the
 * Gram matrix of the standardised rows once (cblas_dgemm) and per gamma the kernel rows with LIBSVM's
 * own formula exp(-gamma (|x|^2 + |y|^2 - 2 x.y)), and trains LIBSVM with kernel_type PRECOMPUTED:
 * every fit of that (fold, gamma) - all C values and inner folds - reuses the matrix (LIBSVM's sparse
 * dot products are the cost otherwise). Tasks are ordered (fold, gamma, C, inner) for that reason.
 *
 * LIBSVM settings are fixed explicitly (scikit-learn SVC defaults): eps 1e-3, cache 200 MB, shrinking
 * on, no probability; its printing is silenced. Training rows are passed ordered by (class, row) so
 * LIBSVM's class order is the ascending class id, as in scikit-learn. Winner: the highest mean inner
 * accuracy (mean over inner folds of per-fold accuracy), ties to the first cell in grid order (C
 * outer, gamma inner), as GridSearchCV does. */
#ifndef ARTISTNET_REDUCE_SVM_H
#define ARTISTNET_REDUCE_SVM_H
#include <mpi.h>
#include <stddef.h>

typedef enum { REDUCE_SVM_LINEAR = 0, REDUCE_SVM_RBF = 1 } reduce_svm_kernel;

#define REDUCE_SVM_GRID_MAX 32

typedef struct {
    int n_c, n_g;                   /* n_g = 1 (gamma unused) for the linear kernel */
    double c[REDUCE_SVM_GRID_MAX];
    double g[REDUCE_SVM_GRID_MAX];
} reduce_svm_grid;

typedef struct {
    reduce_svm_kernel kernel;
    double eps;       /* LIBSVM stopping tolerance (1e-3) */
    double cache_mb;  /* kernel cache (200) */
    int shrinking;    /* 1 */
    double max_kernel_mb; /* precompute the whole kernel matrix when n (n + 2) x 16 bytes fit (1024) */
} reduce_svm_params;

/* Grid spec: "default", or "C=v,v,...;g=v,v,..." (g / gamma absolute; ignored for linear).
 * default: linear C = 0.01 0.1 1 10 100; rbf C = 0.1 1 10 100 1000, gamma = {0.01, 0.1, 0.3, 1, 3} / dim. */
int reduce_svm_grid_parse(const char *spec, reduce_svm_kernel kernel, int dim, reduce_svm_grid *g,
                          char *err, size_t errlen);
void reduce_svm_params_default(reduce_svm_params *p, reduce_svm_kernel kernel);

/* Training-side standardisation: mean and population standard deviation over rows with sel[i] != 0
 * (std < 10 * DBL_EPSILON -> 1, as scikit-learn's StandardScaler). */
void reduce_svm_standardise_fit(const double *x, long n, int d, const int *sel, double *mean, double *std);

/* Where a rank's time in reduce_svm_cv_run went (its own seconds; the job sums them over ranks for
 * its stage table). Every second of the call is charged to exactly one stage. */
typedef enum {
    REDUCE_SVM_ST_GRID_SETUP,  /* kernel set-up for grid fits: standardise the fold, Gram matrix, kernel rows */
    REDUCE_SVM_ST_GRID_FITS,   /* grid fits: train on the inner training side, predict the inner fold */
    REDUCE_SVM_ST_GRID_WAIT,   /* not fitting while grid fits are left: waiting for a chunk, or for the other
                                  ranks' fits of a fold before its final fit (load imbalance) */
    REDUCE_SVM_ST_FINAL_SETUP, /* kernel set-up for the final (per outer fold) fits */
    REDUCE_SVM_ST_FINAL_FITS,  /* final fits: train on the outer training side, predict the test fold */
    REDUCE_SVM_ST_FINAL_WAIT,  /* the grid done: waiting for other ranks' final fits, combining predictions */
    REDUCE_SVM_ST_N
} reduce_svm_stage;

/* One LIBSVM fit of a run, as the rank that ran it saw it (reduce_svm_cv.fits; evaluate writes them
 * to fits.tsv, and --bench-replay reads them back into reduce_svm_cv.replay). */
typedef struct {
    long item;          /* grid task (((f n_g + g) n_c + c) n_inner + i), or k n_g n_c n_inner + f: fold f's
                           final fit */
    int rank;
    double start;       /* seconds since the run's common start, when its set-up (if any) began */
    double setup_fold;  /* fold set-up done for it: standardise, Gram matrix (0: the rank held it) */
    double setup_rows;  /* kernel rows built for it (0: held, or no precomputed matrix) */
    double fit;         /* LIBSVM training and predictions */
    long correct, evaluated; /* grid task: its inner fold; final fit: the test fold */
} reduce_svm_fit;

typedef struct {
    /* inputs */
    long n;
    int d;
    const double *x;     /* n x d, row-major (after optional LDA projection; not yet standardised) */
    const int *y;        /* class id in [0, n_classes) of every row */
    int n_classes;
    const int *fold;     /* outer test fold of every row, [0, k) */
    int k;
    const int *inner;    /* n x k: inner fold ([0, n_inner)) of row i when fold f is the test fold, at
                            inner[i * k + f]; -1 when row i is in fold f */
    int n_inner;
    reduce_svm_grid grid;
    reduce_svm_params params;
    int progress;        /* rank-0 progress line */
    int bench;           /* 0: the whole evaluation. 1: a benchmark unit (bench/scaling.sh's evaluate
                            ceiling): only the grid fits of group bench_group, dealt by the queue as
                            usual, no sums over ranks, no final fits; of the outputs only the timing
                            and counts are set (inner_acc, best, pred, n_sv are left as allocated) */
    int bench_group;     /* with bench: the queue's (outer fold, gamma) group f * n_g + g, in [0, k n_g):
                            its n_c x n_inner fits share one kernel matrix */
    int search;          /* 1: a grid search only (reduce_svm_model_search): the grid fits of outer fold
                            search_fold, summed over ranks as usual, and its winner; no other fold's fits
                            and no final fits (the caller refits the winner on what it keeps). Outputs:
                            inner_acc and best of that fold (other folds' 0), the timing and counts; pred
                            and n_sv are left as allocated */
    int search_fold;     /* with search: the fold, in [0, k) */
    const reduce_svm_fit *replay; /* non-NULL: a schedule replay (evaluate --bench-replay) of a recorded run
                            of the same grid and folds: n_replay records, each item once. The queue,
                            ranks, kernel-matrix changes and sums run as usual, but every set-up and fit
                            sleeps for the seconds recorded for it (set-up seconds: the recorded mean per
                            fold / per (fold, gamma) matrix) and takes the recorded counts, so any rank
                            count can be replayed on one core. Outputs: the timing, counts and winners;
                            pred and n_sv are left unset (-1 / 0) */
    long n_replay;
    int queue_thread;    /* rank 0 answers the queue's requests in a thread of its own, also during its
                            own fits (mpi_queue_set_thread), when MPI gives MPI_THREAD_MULTIPLE; else
                            (and with 0) between its fits. Replayed (a 6,140-row recording), the thread took
                            the ranks' time filled from 0.869 to 0.905 at 4 ranks, 0.778 to 0.771-0.824
                            at 8, 0.618 to 0.722 at 16 */
    int speculate;       /* speculative final fits (reduce_svm.c, speculate): every grid fit's counts go to every
                            rank, and a rank with nothing left runs the final fit of the cell leading a fold still
                            being summed; when it wins, its predictions are the fold's (the same bits), so the
                            last fold's final fit need not start only after the grid's end. 0: off */
    /* outputs (allocated by reduce_svm_cv_run, freed by reduce_svm_cv_free) */
    double *inner_acc;   /* k x cells: mean inner accuracy, cell = ic * n_g + ig */
    int *best;           /* k: winning cell */
    int *pred;           /* n: predicted class in its test fold */
    int *n_sv;           /* k: support vectors of the final model */
    int precomputed;     /* 1 if the kernel matrix was precomputed */
    int workers;          /* ranks that ran the grid: on a node, as many as 80% of its available memory holds
                             rank_mb each (the others wait; a replay: all) */
    double rank_mb;       /* one rank's workspace at its peak: kernel and Gram matrices, LIBSVM's cache at most */
    double seconds_grid;  /* until the last grid fit ended (on any rank) */
    double seconds_final; /* after that: the final fits still running (the last fold's at least) */
    /* this rank's share (not combined over ranks) */
    double stage_seconds[REDUCE_SVM_ST_N];
    long grid_fits_here, final_fits_here; /* fits this rank ran (final: drawn and run as such) */
    long spec_fits_here, spec_used_here;  /* speculative final fits this rank ran; of them, fold winners */
    long finals_left_here;                /* final fits this rank drew and left to the rank that ran the winner */
    long kernel_builds_here; /* fold set-ups (standardise, Gram matrix) + kernel-row builds this rank did */
    long kernel_rows_here;   /* of those, kernel-row builds: one (fold, gamma) kernel matrix each (0 when
                                the matrix is not precomputed) */
    reduce_svm_fit *fits;    /* rank 0: every fit of the run on every rank, by item (n_fits); NULL elsewhere */
    long n_fits;
} reduce_svm_cv;

/* Collective over comm; every rank passes identical inputs and gets identical outputs. */
int reduce_svm_cv_run(reduce_svm_cv *cv, MPI_Comm comm, char *err, size_t errlen);
void reduce_svm_cv_free(reduce_svm_cv *cv);

/* Confusion matrix conf[t * L + p] over rows with fold[i] == f (f < 0: all rows); returns the count. */
long reduce_svm_confusion(const int *y, const int *pred, const int *fold, long n, int f, int L, long *conf);
/* Per-class precision, recall, F1 from a confusion matrix (0 where undefined). */
void reduce_svm_prf(const long *conf, int L, double *precision, double *recall, double *f1);

#endif
