/* reduce_svm.c - LIBSVM C-SVC cross-validation with the grid search dealt over MPI ranks
 * (see reduce_svm.h). Relies on LIBSVM (svm.h: svm_train, svm_predict, svm_check_parameter). */
#include "reduce/reduce_svm.h"
#include "reduce/reduce_svm_kernel.h"
#include "mpi/mpi_util.h"
#include "mpi/progress.h"
#include "mpi/queue.h"
#include "util/util.h"

#include <cblas.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <svm.h>
#include <time.h>

static void svm_silent(const char *s) { (void)s; }

void reduce_svm_params_default(reduce_svm_params *p, reduce_svm_kernel kernel)
{
    p->kernel = kernel;
    p->eps = 1e-3;
    p->cache_mb = 200;
    p->shrinking = 1;
    p->max_kernel_mb = 1024;
}

static int parse_list(const char *s, size_t len, double *v, int *n, char *err, size_t errlen, const char *spec)
{
    char buf[512];
    if (len >= sizeof buf) return util_fail(err, errlen, UTIL_EUSAGE, "--grid '%s': list too long", spec);
    memcpy(buf, s, len);
    buf[len] = 0;
    *n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n >= REDUCE_SVM_GRID_MAX)
            return util_fail(err, errlen, UTIL_EUSAGE, "--grid '%s': at most %d values per list", spec, REDUCE_SVM_GRID_MAX);
        if (util_parse_double(tok, 1e-300, 1e300, &v[*n]))
            return util_fail(err, errlen, UTIL_EUSAGE, "--grid '%s': '%s' is not a positive number", spec, tok);
        (*n)++;
    }
    if (*n == 0) return util_fail(err, errlen, UTIL_EUSAGE, "--grid '%s': empty list", spec);
    return UTIL_OK;
}

int reduce_svm_grid_parse(const char *spec, reduce_svm_kernel kernel, int dim, reduce_svm_grid *g,
                          char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    if (!spec || !strcmp(spec, "default")) {
        if (kernel == REDUCE_SVM_LINEAR) {
            const double c[] = {0.01, 0.1, 1, 10, 100};
            g->n_c = 5;
            memcpy(g->c, c, sizeof c);
        } else {
            const double c[] = {0.1, 1, 10, 100, 1000}, gm[] = {0.01, 0.1, 0.3, 1, 3};
            g->n_c = 5;
            g->n_g = 5;
            memcpy(g->c, c, sizeof c);
            for (int i = 0; i < 5; i++) g->g[i] = gm[i] / (dim > 0 ? dim : 1);
        }
    } else {
        const char *p = spec;
        while (*p) {
            const char *end = strchr(p, ';');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            if (!eq) return util_fail(err, errlen, UTIL_EUSAGE, "--grid '%s': expected C=v,v;g=v,v", spec);
            size_t kl = (size_t)(eq - p);
            int rc;
            if (kl == 1 && (p[0] == 'C' || p[0] == 'c'))
                rc = parse_list(eq + 1, len - kl - 1, g->c, &g->n_c, err, errlen, spec);
            else if ((kl == 1 && p[0] == 'g') || (kl == 5 && !strncmp(p, "gamma", 5)))
                rc = parse_list(eq + 1, len - kl - 1, g->g, &g->n_g, err, errlen, spec);
            else
                return util_fail(err, errlen, UTIL_EUSAGE, "--grid '%s': unknown key '%.*s' (C, g or gamma)", spec, (int)kl, p);
            if (rc) return rc;
            p += len + (end ? 1 : 0);
        }
        if (g->n_c == 0) return util_fail(err, errlen, UTIL_EUSAGE, "--grid '%s': needs C=...", spec);
        if (kernel == REDUCE_SVM_RBF && g->n_g == 0) {
            const double gm[] = {0.01, 0.1, 0.3, 1, 3};
            g->n_g = 5;
            for (int i = 0; i < 5; i++) g->g[i] = gm[i] / (dim > 0 ? dim : 1);
        }
    }
    if (kernel == REDUCE_SVM_LINEAR) {
        g->n_g = 1;
        g->g[0] = 0;
    }
    return UTIL_OK;
}

void reduce_svm_standardise_fit(const double *x, long n, int d, const int *sel, double *mean, double *std)
{
    long m = 0;
    for (int j = 0; j < d; j++) mean[j] = std[j] = 0;
    for (long i = 0; i < n; i++)
        if (sel[i]) {
            m++;
            for (int j = 0; j < d; j++) mean[j] += x[(size_t)i * d + j];
        }
    for (int j = 0; j < d; j++) mean[j] = m ? mean[j] / (double)m : 0;
    for (long i = 0; i < n; i++)
        if (sel[i])
            for (int j = 0; j < d; j++) {
                double t = x[(size_t)i * d + j] - mean[j];
                std[j] += t * t;
            }
    for (int j = 0; j < d; j++) {
        std[j] = m ? sqrt(std[j] / (double)m) : 1;
        if (std[j] < 10 * DBL_EPSILON) std[j] = 1;
    }
}

/* ---- one task: fit on a set of rows, count correct predictions on another ---- */

typedef struct {
    const reduce_svm_cv *cv;
    int f;
    const struct svm_node *nodes; /* row i at nodes + i * stride */
    size_t stride;
    int precomputed;              /* nodes hold kernel rows: [0] = {0, i + 1}, [1 + j] = {j + 1, K(i, j)} */
} fold_data;

/* Trains on rows with fold != f and (inner_i < 0 or inner != inner_i); evaluates on rows with
 * (inner_i < 0: fold == f) / (inner == inner_i). Writes predictions to pred (if non-NULL). */
static int run_task(const fold_data *fd, int inner_i, double C, double gamma, long *correct, long *n_eval,
                    int *pred, int *n_sv, char *err, size_t errlen)
{
    const reduce_svm_cv *cv = fd->cv;
    long n = cv->n;
    int f = fd->f, k = cv->k, L = cv->n_classes;
    long *order = malloc(((size_t)n + 1) * sizeof *order);
    long *cstart = calloc((size_t)L + 1, sizeof *cstart);
    struct svm_node **xs = malloc(((size_t)n + 1) * sizeof *xs);
    double *ys = malloc(((size_t)n + 1) * sizeof *ys);
    if (!order || !cstart || !xs || !ys) {
        free(order);
        free(cstart);
        free(xs);
        free(ys);
        return util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory");
    }
#define IS_TRAIN(i) (cv->fold[i] != f && (inner_i < 0 || cv->inner[(size_t)(i) * k + f] != inner_i))
#define IS_EVAL(i) (inner_i < 0 ? cv->fold[i] == f : (cv->fold[i] != f && cv->inner[(size_t)(i) * k + f] == inner_i))
    /* training rows ordered by (class, row): counting sort */
    for (long i = 0; i < n; i++)
        if (IS_TRAIN(i)) cstart[cv->y[i] + 1]++;
    for (int c = 0; c < L; c++) cstart[c + 1] += cstart[c];
    long l = cstart[L];
    for (long i = 0; i < n; i++)
        if (IS_TRAIN(i)) order[cstart[cv->y[i]]++] = i;
    for (long t = 0; t < l; t++) {
        xs[t] = (struct svm_node *)(fd->nodes + (size_t)order[t] * fd->stride);
        ys[t] = cv->y[order[t]];
    }
    struct svm_problem prob = {.l = (int)l, .y = ys, .x = xs};
    struct svm_parameter par;
    memset(&par, 0, sizeof par);
    par.svm_type = C_SVC;
    par.kernel_type = fd->precomputed ? PRECOMPUTED : cv->params.kernel == REDUCE_SVM_RBF ? RBF : LINEAR;
    par.degree = 3;
    par.gamma = gamma;
    par.coef0 = 0;
    par.cache_size = cv->params.cache_mb;
    par.eps = cv->params.eps;
    par.C = C;
    par.nu = 0.5;
    par.p = 0.1;
    par.shrinking = cv->params.shrinking;
    par.probability = 0;
    int rc = UTIL_OK;
    const char *bad = svm_check_parameter(&prob, &par);
    *correct = *n_eval = 0;
    if (bad) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "svm: LIBSVM rejects the parameters (C %g, gamma %g): %s", C, gamma, bad);
    } else if (l == 0) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "svm: fold %d has no training rows", f + 1);
    } else {
        struct svm_model *model = svm_train(&prob, &par);
        if (n_sv) *n_sv = svm_get_nr_sv(model);
        for (long i = 0; i < n; i++)
            if (IS_EVAL(i)) {
                int p = (int)svm_predict(model, fd->nodes + (size_t)i * fd->stride);
                if (pred) pred[i] = p;
                *correct += p == cv->y[i];
                (*n_eval)++;
            }
        svm_free_and_destroy_model(&model);
    }
#undef IS_TRAIN
#undef IS_EVAL
    free(order);
    free(cstart);
    free(xs);
    free(ys);
    return rc;
}

void reduce_svm_kernel_rows(const double *gram, size_t n, const int *sel, int all_rows, int rbf, double gamma,
                            struct svm_node *nodes)
{
    for (size_t i = 0; i < n; i++) {
        struct svm_node *row = nodes + i * (n + 2);
        const double *gi = gram + i * n;
        row[0] = (struct svm_node){0, (double)(i + 1)};
        row[n + 1] = (struct svm_node){-1, 0};
        if (sel && !all_rows && !sel[i]) continue;
        for (size_t j = 0; j < n; j++) {
            if (sel && !sel[j]) continue;
            /* LIBSVM's own RBF formula: exp(-gamma (|x|^2 + |y|^2 - 2 x.y)) */
            const double v = rbf ? exp(-gamma * (gi[i] + gram[j * n + j] - 2 * gi[j])) : gi[j];
            row[1 + j] = (struct svm_node){(int)j + 1, v};
        }
    }
}

/* ---- per (outer fold, gamma) data: standardised rows, and optionally the whole kernel matrix ---- */

typedef struct {
    int precomputed;
    double *z;               /* n x d, standardised with the current fold's training side */
    double *gram;            /* n x n dot products of z (precomputed mode) */
    struct svm_node *nodes;  /* n x (d + 1) sparse rows, or n x (n + 2) kernel rows */
    double *mean, *sd;
    int *sel;
    int cur_f, cur_g;
    int cur_all;             /* the kernel rows of the test fold's rows are built too (a final fit's) */
    long builds;             /* fold set-ups (standardise + Gram) and kernel-row builds done */
    long kernel_rows;        /* of those, kernel-row builds */
    double last_fold, last_rows; /* seconds the last ws_prepare spent on each (0: held) */
    const struct replay_costs *rp; /* a schedule replay: sleep for the recorded set-up instead */
} workspace;

/* A schedule replay's set-up seconds (reduce_svm_cv.replay): the recorded mean of each fold's set-up,
 * each (fold, gamma) grid matrix's kernel rows and each fold's final-fit rows (with the test rows). */
typedef struct replay_costs {
    double *fold, *rows, *rows_all; /* k, k n_g, k */
    const reduce_svm_fit **by_item;  /* the record of every queue item */
} replay_costs;

/* Sleeps s seconds (a replayed set-up or fit); an interrupt (SIGTERM) cuts it short, as the queue
 * then stops handing out work anyway. */
static void replay_sleep(double s)
{
    const double end = util_now() + s;
    for (double left = s; left > 0 && !util_interrupted(); left = end - util_now()) {
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        if (nanosleep(&ts, NULL) && errno != EINTR) break;
    }
}

static void ws_free(workspace *w)
{
    free(w->z);
    free(w->gram);
    free(w->nodes);
    free(w->mean);
    free(w->sd);
    free(w->sel);
}

static int ws_init(workspace *w, const reduce_svm_cv *cv)
{
    memset(w, 0, sizeof *w);
    size_t n = (size_t)cv->n, d = (size_t)cv->d;
    w->precomputed = (double)n * (double)(n + 2) * sizeof(struct svm_node) / 1e6 <= cv->params.max_kernel_mb;
    w->z = malloc(n * d * sizeof *w->z + 1);
    w->mean = malloc(d * sizeof *w->mean + 1);
    w->sd = malloc(d * sizeof *w->sd + 1);
    w->sel = malloc(n * sizeof *w->sel + 1);
    /* the kernel rows and Gram matrix on 2-MB pages (util_alloc_large): hundreds of MB each rank
     * writes once per set-up */
    w->nodes = util_alloc_large((w->precomputed ? n * (n + 2) : n * (d + 1)) * sizeof *w->nodes + 1);
    if (w->precomputed) w->gram = util_alloc_large(n * n * sizeof *w->gram + 1);
    w->cur_f = w->cur_g = -1;
    return w->z && w->mean && w->sd && w->sel && w->nodes && (!w->precomputed || w->gram) ? 0 : -1;
}

/* Makes w hold fold f (and gamma index g in precomputed mode); fills fd. Kernel rows: a fit reads
 * K(i, j) for training-side rows j only (LIBSVM's precomputed kernel indexes row i by j's serial
 * number), and only a final fit predicts rows of the test fold; so a grid fit's matrix has the
 * training side's rows and columns (4/9 of it with 3 folds), a final fit's also the test rows
 * (`all_rows`). Entries never read are left unset. */
static void ws_prepare(workspace *w, const reduce_svm_cv *cv, int f, int g, int all_rows, fold_data *fd)
{
    size_t n = (size_t)cv->n;
    int d = cv->d;
    double t0 = util_now();
    w->last_fold = w->last_rows = 0;
    if (w->cur_f != f) {
        if (w->rp) /* a replay: the recorded seconds instead */
            replay_sleep(w->rp->fold[f]);
        else {
            for (size_t i = 0; i < n; i++) w->sel[i] = cv->fold[i] != f;
            reduce_svm_standardise_fit(cv->x, (long)n, d, w->sel, w->mean, w->sd);
            for (size_t i = 0; i < n; i++)
                for (int j = 0; j < d; j++) w->z[i * d + j] = (cv->x[i * d + j] - w->mean[j]) / w->sd[j];
            if (w->precomputed) {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, d, 1.0, w->z, d, w->z, d, 0.0, w->gram,
                            (int)n);
            } else {
                for (size_t i = 0; i < n; i++) {
                    struct svm_node *row = w->nodes + i * (d + 1);
                    for (int j = 0; j < d; j++) row[j] = (struct svm_node){j + 1, w->z[i * d + j]};
                    row[d] = (struct svm_node){-1, 0};
                }
            }
        }
        w->cur_f = f;
        w->cur_g = -1;
        w->builds++;
    }
    double t1 = util_now();
    w->last_fold = t1 - t0;
    if (w->precomputed && (w->cur_g != g || (all_rows && !w->cur_all))) {
        if (w->rp) /* a replay: the recorded seconds instead */
            replay_sleep(all_rows ? w->rp->rows_all[f] : w->rp->rows[(size_t)f * cv->grid.n_g + g]);
        else {
            /* a test-fold row only for a final fit, which predicts it; a test-fold column is never read */
            reduce_svm_kernel_rows(w->gram, n, w->sel, all_rows, cv->params.kernel == REDUCE_SVM_RBF, cv->grid.g[g],
                                   w->nodes);
        }
        w->cur_g = g;
        w->cur_all = all_rows;
        w->builds++;
        w->kernel_rows++;
        w->last_rows = util_now() - t1;
    }
    fd->cv = cv;
    fd->f = f;
    fd->nodes = w->nodes;
    fd->precomputed = w->precomputed;
    fd->stride = w->precomputed ? n + 2 : (size_t)d + 1;
}

/* Charges the time since *mark to stage st of this rank and moves the mark to now. */
static void stage_charge(reduce_svm_cv *cv, reduce_svm_stage st, double *mark)
{
    const double now = util_now();
    cv->stage_seconds[st] += now - *mark;
    *mark = now;
}

void reduce_svm_cv_free(reduce_svm_cv *cv)
{
    free(cv->inner_acc);
    free(cv->best);
    free(cv->pred);
    free(cv->n_sv);
    free(cv->fits);
    cv->inner_acc = NULL;
    cv->best = cv->pred = cv->n_sv = NULL;
    cv->fits = NULL;
    cv->n_fits = 0;
}

/* ---- one rank's run: grid fits and final fits from one work queue ---- */

/* A final fit run speculatively (speculate): fold f's cell `cell` refitted before the fold's counts
 * were summed; its predictions of the fold's test rows stay here until the fold's winner is known. */
typedef struct {
    int f, cell, n_sv, used;
    long correct, evaluated;
    int *pred;              /* n: the test fold's rows set */
    double start, setup_fold, setup_rows, fit;
} spec_fit;

typedef struct {
    reduce_svm_cv *cv;
    MPI_Comm comm;
    workspace ws;
    long per_fold;          /* grid tasks per outer fold: cells x inner folds */
    long n_items;           /* queue items: every grid task and a final fit per fold; a benchmark unit:
                               its group's grid tasks */
    long *counts;           /* correct, evaluated per grid task (task numbering) */
    MPI_Request *fold_sum;  /* per outer fold: the in-place sum over ranks of its slice of counts */
    int sums_started;       /* folds 0 .. sums_started-1 have their sum started (same order on every rank) */
    char *final_drawn;      /* per fold: this rank drew the fold's final fit and has not run it yet */
    double mark;            /* stage_charge's */
    double t0, grid_end;    /* start; end of this rank's last grid fit (seconds since t0) */
    int rank;
    reduce_svm_fit *rec;    /* this rank's fits, in the order it ran them */
    long n_rec, cap_rec;
    replay_costs rp;        /* a schedule replay (cv->replay): the recorded costs */
    /* speculative final fits (cv->speculate, more than one rank; see speculate) */
    int spec, P;
    long *seen;             /* 2 per grid task: its counts as far as this rank knows (evaluated 0: not yet) */
    char *claimed;          /* k x cells: some rank runs or ran this cell's final fit speculatively */
    double *acc;            /* cells: spec_pick's scratch, a fold's mean inner accuracies seen so far */
    char *final_done;       /* per fold: its final's predictions are in cv->pred on this rank */
    spec_fit *specs;        /* this rank's speculative final fits */
    int n_specs;
    long (*msg)[4];         /* the messages this rank sent (kept until every rank has received them) */
    long n_msg, cap_msg, n_recv;
} cv_state;

/* Appends this rank's record of item `item`, whose set-up began at `start` (util_now) and whose fit
 * ended now; s->ws holds the set-up's seconds. Out of memory: the record is dropped (timing only). */
static void record_fit_as(cv_state *s, long item, double start, double setup_fold, double setup_rows, double fit,
                          long correct, long evaluated)
{
    if (s->n_rec == s->cap_rec) {
        long cap = s->cap_rec ? 2 * s->cap_rec : 64;
        reduce_svm_fit *p = realloc(s->rec, (size_t)cap * sizeof *p);
        if (!p) return;
        s->rec = p;
        s->cap_rec = cap;
    }
    s->rec[s->n_rec++] = (reduce_svm_fit){item, s->rank, start - s->t0, setup_fold, setup_rows, fit, correct, evaluated};
}
static void record_fit(cv_state *s, long item, double start, double fit, long correct, long evaluated)
{
    record_fit_as(s, item, start, s->ws.last_fold, s->ws.last_rows, fit, correct, evaluated);
}

/* A replay (cv->replay): queue item `item`'s fit is a sleep of its recorded seconds, with its recorded counts */
static void replay_fit(const cv_state *s, long item, long *correct, long *evaluated)
{
    const reduce_svm_fit *r = s->rp.by_item[item];
    replay_sleep(r->fit);
    *correct = r->correct;
    *evaluated = r->evaluated;
}

/* ---- speculative final fits ----
 * A fold's final fit can start only when its counts are summed over ranks, i.e. when its last grid
 * fit has ended, and the last fold's is the run's tail (replayed at 16 ranks: 0.9 s after a 4.3 s
 * grid, 13 ranks idle). So every grid fit's counts go to every rank as the fit ends (SPEC_RESULT, a
 * 32-byte message), and a rank with nothing left to do runs the final fit of the cell that leads a
 * fold still being summed (the highest mean over the inner folds seen so far, every cell seen at
 * least once; up to SPEC_TOP cells a fold), telling the others first (SPEC_CLAIM). When the fold's
 * sum is in and the winner is a cell some rank ran or runs, that rank's predictions are the final
 * fit's (the same inputs, the same bits) and the rank that drew the final fit does not run it. A
 * rank that drew a final fit speculates only on its own folds, whose fits it runs next anyway. */
#define SPEC_TAG 7301
#define SPEC_TOP 2
enum { SPEC_RESULT = 0, SPEC_CLAIM = 1 };

/* Sends {kind, a, b, c} to every other rank. The request is freed at once: the buffer lives until
 * spec_drain has every rank receive every message, after which a collective follows. */
static int spec_send(cv_state *s, long kind, long a, long b, long c, char *err, size_t errlen)
{
    if (s->n_msg == s->cap_msg) return util_fail(err, errlen, UTIL_EFAIL, "svm: speculation: more messages than fits");
    long *m = s->msg[s->n_msg++];
    m[0] = kind;
    m[1] = a;
    m[2] = b;
    m[3] = c;
    for (int r = 0; r < s->P; r++) {
        if (r == s->rank) continue;
        MPI_Request req;
        MPI_CHECK(MPI_Isend(m, 4, MPI_LONG, r, SPEC_TAG, s->comm, &req));
        MPI_CHECK(MPI_Request_free(&req));
    }
    return UTIL_OK;
}

static void spec_apply(cv_state *s, const long *m)
{
    const long cells = (long)s->cv->grid.n_c * s->cv->grid.n_g, n_tasks = s->per_fold * s->cv->k;
    if (m[0] == SPEC_RESULT && m[1] >= 0 && m[1] < n_tasks) {
        s->seen[2 * m[1]] = m[2];
        s->seen[2 * m[1] + 1] = m[3];
    } else if (m[0] == SPEC_CLAIM && m[1] >= 0 && m[1] < s->cv->k && m[2] >= 0 && m[2] < cells)
        s->claimed[m[1] * cells + m[2]] = 1;
}

/* Receives what has arrived, without waiting */
static int spec_poll(cv_state *s, char *err, size_t errlen)
{
    for (;;) {
        int flag = 0;
        MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, SPEC_TAG, s->comm, &flag, MPI_STATUS_IGNORE));
        if (!flag) return UTIL_OK;
        long m[4];
        MPI_CHECK(MPI_Recv(m, 4, MPI_LONG, MPI_ANY_SOURCE, SPEC_TAG, s->comm, MPI_STATUS_IGNORE));
        s->n_recv++;
        spec_apply(s, m);
    }
}

/* Collective, once every rank is past its fits: receives every message still on its way here (each
 * rank sent each of its messages to every other rank), so none outlives the run. */
static int spec_drain(cv_state *s, char *err, size_t errlen)
{
    long total = 0;
    MPI_CHECK(MPI_Allreduce(&s->n_msg, &total, 1, MPI_LONG, MPI_SUM, s->comm));
    for (const long want = total - s->n_msg; s->n_recv < want; s->n_recv++) {
        long m[4];
        MPI_CHECK(MPI_Recv(m, 4, MPI_LONG, MPI_ANY_SOURCE, SPEC_TAG, s->comm, MPI_STATUS_IGNORE));
        spec_apply(s, m);
    }
    return UTIL_OK;
}

/* Fold f's winner (cv->best[f], its counts summed) is a cell this rank ran speculatively: its
 * predictions and support vectors become the fold's, recorded as the fold's final fit. 1 if so. */
static int spec_commit(cv_state *s, int f)
{
    reduce_svm_cv *cv = s->cv;
    for (int i = 0; i < s->n_specs; i++) {
        spec_fit *sp = &s->specs[i];
        if (sp->f != f || sp->cell != cv->best[f] || sp->used) continue;
        for (long r = 0; r < cv->n; r++)
            if (cv->fold[r] == f) cv->pred[r] = sp->pred[r];
        cv->n_sv[f] = sp->n_sv;
        sp->used = 1;
        s->final_done[f] = 1;
        record_fit_as(s, s->per_fold * cv->k + f, sp->start, sp->setup_fold, sp->setup_rows, sp->fit, sp->correct, sp->evaluated);
        cv->spec_used_here++;
        return 1;
    }
    return 0;
}

/* The next speculative final fit for this rank: *f_out, *cell_out (-1: none). Folds: those whose sum is not
 * in yet (all; or, when this rank drew final fits it has not run, only theirs), every cell seen.
 * Candidates: a fold's SPEC_TOP leading cells by the mean inner accuracy seen so far (ties to the
 * first cell, as choose_cell), not claimed; every fold's leader before any fold's second. */
static int spec_pick(cv_state *s, int *f_out, int *cell_out, char *err, size_t errlen)
{
    reduce_svm_cv *cv = s->cv;
    const int nc = cv->grid.n_c, ng = cv->grid.n_g, ni = cv->n_inner, cells = nc * ng;
    int own = 0, best_key = 2 * SPEC_TOP, rc = UTIL_OK;
    *f_out = *cell_out = -1;
    for (int f = 0; f < cv->k; f++) own |= s->final_drawn[f];
    double *acc = s->acc;
    for (int f = 0; f < cv->k && !rc; f++) {
        if ((own && !s->final_drawn[f]) || s->final_done[f]) continue;
        int summed = 0, mrc = MPI_Test(&s->fold_sum[f], &summed, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) rc = mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Test(fold sum)", mrc);
        if (rc || summed) continue; /* summed: its winner is known, the drawn final fit decides */
        int n_seen = 0;
        for (int cell = 0; cell < cells; cell++) {
            const int c = cell / ng, g = cell % ng;
            double a = 0;
            int used = 0;
            for (int i = 0; i < ni; i++) {
                const long t = (((long)f * ng + g) * nc + c) * ni + i;
                if (s->seen[2 * t + 1] > 0) {
                    a += (double)s->seen[2 * t] / (double)s->seen[2 * t + 1];
                    used++;
                }
            }
            n_seen += used > 0;
            acc[cell] = used ? a / used : -1;
        }
        if (n_seen < cells) continue;
        /* the fold's leaders in order: position p is the cell with p cells ahead of it; at equal
         * positions the fold this rank holds (its standardised rows and Gram matrix) goes first */
        for (int cell = 0; cell < cells; cell++) {
            int pos = 0;
            for (int o = 0; o < cells; o++) pos += acc[o] > acc[cell] || (acc[o] == acc[cell] && o < cell);
            const int key = 2 * pos + (f != s->ws.cur_f);
            if (pos < SPEC_TOP && key < best_key && !s->claimed[(size_t)f * cells + cell]) {
                best_key = key;
                *f_out = f;
                *cell_out = cell;
            }
        }
    }
    return rc;
}

/* Runs fold f's final fit of `cell` speculatively (claimed first), keeping its predictions */
static int spec_run(cv_state *s, int f, int cell, char *err, size_t errlen)
{
    reduce_svm_cv *cv = s->cv;
    const int ng = cv->grid.n_g, cells = cv->grid.n_c * ng;
    spec_fit *p = realloc(s->specs, ((size_t)s->n_specs + 1) * sizeof *p);
    int *pred = malloc((size_t)cv->n * sizeof *pred + 1);
    if (p) s->specs = p;
    if (!p || !pred) {
        free(pred);
        return util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory for a speculative final fit");
    }
    s->claimed[(size_t)f * cells + cell] = 1;
    int rc = spec_send(s, SPEC_CLAIM, f, cell, 0, err, errlen);
    if (rc) {
        free(pred);
        return rc;
    }
    for (long r = 0; r < cv->n; r++) pred[r] = -1; /* a replay predicts nothing */
    spec_fit *sp = &s->specs[s->n_specs++];
    *sp = (spec_fit){.f = f, .cell = cell, .pred = pred};
    fold_data fd;
    stage_charge(cv, REDUCE_SVM_ST_GRID_WAIT, &s->mark);
    sp->start = s->mark;
    ws_prepare(&s->ws, cv, f, cell % ng, 1, &fd);
    sp->setup_fold = s->ws.last_fold;
    sp->setup_rows = s->ws.last_rows;
    stage_charge(cv, REDUCE_SVM_ST_FINAL_SETUP, &s->mark);
    const double fit0 = s->mark;
    if (s->rp.by_item) /* a replay: the fold's recorded final fit stands for any cell's */
        replay_fit(s, s->per_fold * cv->k + f, &sp->correct, &sp->evaluated);
    else
        rc = run_task(&fd, -1, cv->grid.c[cell / ng], cv->grid.g[cell % ng], &sp->correct, &sp->evaluated, pred,
                      &sp->n_sv, err, errlen);
    stage_charge(cv, REDUCE_SVM_ST_FINAL_FITS, &s->mark);
    sp->fit = s->mark - fit0;
    cv->spec_fits_here++;
    return rc;
}

/* Starts the sums of folds [sums_started, upto). A rank calls it once its own grid fits of those
 * folds are done: a rank's stages only go forward (mpi_queue_set_stages: 2f for fold f's grid, 2f + 1
 * for its final), so drawing an item of a later fold, or fold f's final fit, or the end of the queue
 * means this rank will get no more fits of an earlier fold (or of f). Every rank
 * starts the sums in fold order, as nonblocking collectives need; a fold's sum completes when every
 * rank has finished its fits of that fold. */
static int start_fold_sums(cv_state *s, int upto, char *err, size_t errlen)
{
    if (s->cv->bench) return UTIL_OK; /* a benchmark unit: nothing is summed */
    for (; s->sums_started < upto; s->sums_started++) {
        long *slice = s->counts + 2 * s->per_fold * s->sums_started;
        MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, slice, (int)(2 * s->per_fold), MPI_LONG, MPI_SUM, s->comm,
                                 &s->fold_sum[s->sums_started]));
    }
    return UTIL_OK;
}

/* From fold f's summed counts: the mean inner accuracy of every cell and the winner (the highest,
 * ties to the first cell in grid order: C outer, gamma inner, GridSearchCV's) */
static void choose_cell(reduce_svm_cv *cv, const long *counts, int f)
{
    const int nc = cv->grid.n_c, ng = cv->grid.n_g, ni = cv->n_inner, cells = nc * ng;
    double best = -1;
    for (int c = 0; c < nc; c++)
        for (int g = 0; g < ng; g++) {
            double acc = 0;
            int used = 0;
            for (int i = 0; i < ni; i++) {
                long t = (((long)f * ng + g) * nc + c) * ni + i;
                if (counts[2 * t + 1] > 0) {
                    acc += (double)counts[2 * t] / (double)counts[2 * t + 1];
                    used++;
                }
            }
            acc = used ? acc / used : 0;
            int cell = c * ng + g;
            cv->inner_acc[(size_t)f * cells + cell] = acc;
            if (acc > best) {
                best = acc;
                cv->best[f] = cell;
            }
        }
}

/* Fold f's final fit (its counts summed): refit the winner on the whole training side, predict the
 * test fold */
static int run_final_fit(cv_state *s, int f, char *err, size_t errlen)
{
    reduce_svm_cv *cv = s->cv;
    const int ng = cv->grid.n_g;
    long c1, c2;
    fold_data fd;
    s->final_drawn[f] = 0;
    choose_cell(cv, s->counts, f);
    int cell = cv->best[f];
    const long item = s->per_fold * cv->k + f;
    if (s->spec && spec_commit(s, f)) return UTIL_OK; /* this rank ran the winner's fit already */
    if (s->spec) {
        int rc = spec_poll(s, err, errlen);
        if (rc) return rc;
        if (s->claimed[(size_t)f * cv->grid.n_c * ng + cell]) { /* another rank runs or ran it: it contributes the predictions */
            cv->finals_left_here++;
            return UTIL_OK;
        }
    }
    s->final_done[f] = 1;
    stage_charge(cv, REDUCE_SVM_ST_GRID_WAIT, &s->mark);
    const double start = s->mark;
    ws_prepare(&s->ws, cv, f, cell % ng, 1, &fd);
    stage_charge(cv, REDUCE_SVM_ST_FINAL_SETUP, &s->mark);
    const double fit0 = s->mark;
    int rc = UTIL_OK;
    if (s->rp.by_item)
        replay_fit(s, item, &c1, &c2);
    else
        rc = run_task(&fd, -1, cv->grid.c[cell / ng], cv->grid.g[cell % ng], &c1, &c2, cv->pred, &cv->n_sv[f], err, errlen);
    stage_charge(cv, REDUCE_SVM_ST_FINAL_FITS, &s->mark);
    if (!rc) record_fit(s, item, start, s->mark - fit0, c1, c2);
    cv->final_fits_here++;
    return rc;
}

/* Runs the final fits this rank drew whose fold's grid is complete everywhere; block: waits for
 * their folds (when the queue is over for this rank and nothing else is left to do). */
static int run_drawn_finals(cv_state *s, int block, char *err, size_t errlen)
{
    for (int f = 0; f < s->cv->k; f++) {
        if (!s->final_drawn[f]) continue;
        int done = 1;
        if (block) {
            MPI_CHECK(MPI_Wait(&s->fold_sum[f], MPI_STATUS_IGNORE));
        } else {
            MPI_CHECK(MPI_Test(&s->fold_sum[f], &done, MPI_STATUS_IGNORE));
        }
        if (!done) continue;
        int rc = run_final_fit(s, f, err, errlen);
        if (rc) return rc;
    }
    return UTIL_OK;
}

/* Grid task t: (((f * ng + g) * nc + c) * ni + i). A drawn final fit whose fold is summed runs
 * before it, also in the middle of a group (whose matrix is then built again): a rank now stays in a
 * group for many fits (affinity dealing), and a final that waited for the group's end waited seconds
 * (replayed at 8 ranks: the finals bunched at the end on one rank, 0.71-0.82 -> 0.77 every time). */
static int run_grid_fit(cv_state *s, long t, char *err, size_t errlen)
{
    reduce_svm_cv *cv = s->cv;
    const int ni = cv->n_inner, nc = cv->grid.n_c, ng = cv->grid.n_g, f = (int)(t / s->per_fold);
    int i = (int)(t % ni), c = (int)((t / ni) % nc), g = (int)((t / ni / nc) % ng);
    int rc = run_drawn_finals(s, 0, err, errlen);
    if (rc) return rc;
    fold_data fd;
    stage_charge(cv, REDUCE_SVM_ST_GRID_WAIT, &s->mark);
    const double start = s->mark;
    ws_prepare(&s->ws, cv, f, g, 0, &fd);
    stage_charge(cv, REDUCE_SVM_ST_GRID_SETUP, &s->mark);
    const double fit0 = s->mark;
    if (s->rp.by_item)
        replay_fit(s, t, &s->counts[2 * t], &s->counts[2 * t + 1]);
    else
        rc = run_task(&fd, i, cv->grid.c[c], cv->grid.g[g], &s->counts[2 * t], &s->counts[2 * t + 1], NULL, NULL, err,
                      errlen);
    stage_charge(cv, REDUCE_SVM_ST_GRID_FITS, &s->mark);
    if (!rc) record_fit(s, t, start, s->mark - fit0, s->counts[2 * t], s->counts[2 * t + 1]);
    s->grid_end = s->mark - s->t0;
    cv->grid_fits_here++;
    if (!rc && s->spec) {
        s->seen[2 * t] = s->counts[2 * t];
        s->seen[2 * t + 1] = s->counts[2 * t + 1];
        rc = spec_send(s, SPEC_RESULT, t, s->counts[2 * t], s->counts[2 * t + 1], err, errlen);
    }
    return rc;
}

/* The end of this rank's queue with speculation on: its drawn final fits as their folds are summed,
 * and meanwhile speculative final fits (spec_pick), until every fold's sum is in. */
static int speculate(cv_state *s, char *err, size_t errlen)
{
    const struct timespec nap = {0, 2000000}; /* 2 ms between looks while nothing can be started */
    while (!util_interrupted()) {
        int rc = run_drawn_finals(s, 0, err, errlen), f = -1, cell = -1;
        if (!rc) rc = spec_poll(s, err, errlen);
        if (!rc) rc = spec_pick(s, &f, &cell, err, errlen);
        if (!rc && f >= 0) rc = spec_run(s, f, cell, err, errlen);
        if (rc) return rc;
        if (f >= 0) continue;
        int all = 1;
        for (int g = 0; g < s->cv->k && all; g++) MPI_CHECK(MPI_Test(&s->fold_sum[g], &all, MPI_STATUS_IGNORE));
        if (all) break;
        nanosleep(&nap, NULL);
    }
    return UTIL_OK;
}

/* Queue items: the grid tasks of fold 0 ((fold, gamma) groups; within a group inner fold by inner
 * fold, larger C first in each: every cell is seen a third of the way into its group, which
 * speculation needs, and the costly fits of each pass come early), then fold 0's final fit (item n_tasks + 0),
 * then fold 1's tasks and final fit, and so on. Groups (mpi_queue_set_groups): one per (fold, gamma)
 * kernel matrix and one per final fit, dealt by affinity (mpi_queue_set_stages): a rank works
 * through a group of its own, then an untouched one, and joins others only at the end, so it builds
 * few matrices. Stages 2f (fold f's grid groups) and 2f + 1 (its final, gated: drawn once the fold's
 * grid is handed out) only go forward on a rank, which start_fold_sums relies on. A rank that draws
 * a final fit keeps it until the fold's counts are summed over ranks (every rank done with that
 * fold's grid fits), taking grid fits meanwhile, and runs it before its next grid fit once the sum is
 * in, so the final fits overlap the rest of the grid; only the last fold's waits for the grid's end. */
static int make_queue(cv_state *s, mpi_queue **q, char *err, size_t errlen)
{
    const reduce_svm_cv *cv = s->cv;
    const long nc = cv->grid.n_c, ng = cv->grid.n_g, ni = cv->n_inner, k = cv->k, n_tasks = s->per_fold * k;
    const size_t n_items = (size_t)s->n_items, n_groups = cv->bench ? 1 : cv->search ? (size_t)ng : (size_t)(k * ng + k);
    size_t *order = malloc(n_items * sizeof *order), *group_end = malloc(n_groups * sizeof *group_end);
    int *stage = malloc(n_groups * sizeof *stage);
    char *gated = calloc(n_groups, 1);
    int rc = order && group_end && stage && gated ? UTIL_OK : util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory for %zu tasks", n_items);
    size_t o = 0, e = 0;
    for (long f = 0; !rc && f < k; f++) {
        if (cv->search && f != cv->search_fold) continue; /* a grid search: its fold's groups only */
        for (long g = 0; g < ng; g++) {
            if (cv->bench && f * ng + g != cv->bench_group) continue; /* a benchmark unit: its group only */
            for (long i = 0; i < ni; i++)
                for (long c = nc - 1; c >= 0; c--) order[o++] = (size_t)(((f * ng + g) * nc + c) * ni + i);
            stage[e] = (int)(2 * f);
            group_end[e++] = o;
        }
        if (cv->bench || cv->search) continue; /* no final fits */
        order[o++] = (size_t)(n_tasks + f);
        stage[e] = (int)(2 * f + 1);
        gated[e] = 1;
        group_end[e++] = o;
    }
    if (!rc) rc = mpi_queue_make(s->comm, order, n_items, n_items, (int)(nc * ni), q, err, errlen);
    if (!rc && (mpi_queue_set_groups(*q, group_end, n_groups) || mpi_queue_set_stages(*q, stage, gated)))
        rc = util_fail(err, errlen, UTIL_EFAIL, "svm: work queue groups rejected");
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    if (!rc && mpi_queue_set_thread(*q, cv->queue_thread && level >= MPI_THREAD_MULTIPLE)) /* else: between fits */
        rc = util_fail(err, errlen, UTIL_EFAIL, "svm: work queue thread rejected");
    free(order);
    free(group_end);
    free(stage);
    free(gated);
    return rc;
}

/* The grid and final fits through the queue (every rank, collective): counts and predictions of
 * this rank's fits; every fold's sum started and completed, whatever happened */
static int run_queue(cv_state *s, char *err, size_t errlen)
{
    reduce_svm_cv *cv = s->cv;
    const long n_tasks = s->per_fold * cv->k, n_items = s->n_items;
    const int rank = mpi_util_rank(s->comm);
    mpi_queue *q = NULL;
    int rc = make_queue(s, &q, err, errlen);
    rc = mpi_util_agree(s->comm, rc, err, errlen);
    if (rc) {
        mpi_queue_free(q);
        return rc;
    }
    util_progress pr;
    util_progress_start(&pr, "grid search", "fits", n_items, cv->progress && rank == 0);
    long done_items = 0; /* over all ranks, as far as this rank knows */
    int more = mpi_queue_round(q, err, errlen);
    if (more < 0) rc = more;
    while (more > 0) {
        size_t item;
        more = mpi_queue_next(q, &item, err, errlen);
        if (more < 0) rc = more;
        if (more <= 0) break;
        const long t = (long)item;
        const int f = t < n_tasks ? (int)(t / s->per_fold) : (int)(t - n_tasks);
        /* this rank's fits of the folds before f (and of f itself, for its final fit) are done */
        int src = start_fold_sums(s, t < n_tasks ? f : f + 1, err, errlen);
        if (!rc) rc = src;
        if (rc) continue; /* a failed fit: drain the round so every rank ends it */
        if (t < n_tasks) rc = run_grid_fit(s, t, err, errlen); /* runs summed finals at a change of matrix */
        else s->final_drawn[f] = 1;
        mpi_queue_report(q, 1);
        size_t done_all = 0;
        double units = 0;
        mpi_queue_progress(q, &done_all, &units);
        done_items = (long)done_all;
        util_progress_update(&pr, done_items, 0);
    }
    /* no more items for this rank (other ranks may still be in groups of earlier stages): every fold's
     * sum started, on every rank before the queue's closing collective, and the drawn final fits run as
     * their folds complete */
    int src = start_fold_sums(s, cv->k, err, errlen);
    if (!rc) rc = src;
    stage_charge(cv, REDUCE_SVM_ST_GRID_WAIT, &s->mark);
    if (!rc && s->spec) rc = speculate(s, err, errlen);
    if (!rc) rc = run_drawn_finals(s, 1, err, errlen);
    /* collective: every rank ends the queue, also one whose fit failed */
    char qerr[UTIL_ERRLEN];
    if (mpi_queue_round(q, qerr, sizeof qerr) < 0 && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s", qerr);
    if (!rc && mpi_queue_interrupted(q)) rc = util_fail(err, errlen, UTIL_EINTR, "svm: interrupted");
    mpi_queue_free(q);
    MPI_CHECK(MPI_Waitall(cv->k, s->fold_sum, MPI_STATUSES_IGNORE));
    if (s->spec) { /* every fold summed: this rank's speculative fits that won are the folds' final fits */
        for (int f = 0; f < cv->k; f++)
            if (!s->final_done[f]) {
                choose_cell(cv, s->counts, f);
                spec_commit(s, f);
            }
        int drc = spec_drain(s, err, errlen); /* collective */
        if (!rc) rc = drc;
    }
    stage_charge(cv, REDUCE_SVM_ST_GRID_WAIT, &s->mark);
    util_progress_finish(&pr, rc ? done_items : n_items); /* an interrupted grid does not read 100% */
    return rc;
}

/* A replay's costs from cv->replay: every queue item recorded once (UTIL_EINPUT otherwise). */
static int replay_init(cv_state *s, char *err, size_t errlen)
{
    const reduce_svm_cv *cv = s->cv;
    const long n_tasks = s->per_fold * cv->k, n_items = s->n_items, ng = cv->grid.n_g, ni = cv->n_inner, nc = cv->grid.n_c;
    replay_costs *rp = &s->rp;
    if (cv->n_replay != n_items)
        return util_fail(err, errlen, UTIL_EINPUT, "replay: %ld recorded fits, this grid and these folds have %ld", cv->n_replay,
                         n_items);
    rp->by_item = calloc((size_t)n_items, sizeof *rp->by_item);
    rp->fold = calloc((size_t)cv->k, sizeof *rp->fold);
    rp->rows = calloc((size_t)(cv->k * ng), sizeof *rp->rows);
    rp->rows_all = calloc((size_t)cv->k, sizeof *rp->rows_all);
    long *nf = calloc((size_t)cv->k, sizeof *nf), *nr = calloc((size_t)(cv->k * ng), sizeof *nr);
    int rc = rp->by_item && rp->fold && rp->rows && rp->rows_all && nf && nr
                 ? UTIL_OK
                 : util_fail(err, errlen, UTIL_EFAIL, "replay: out of memory for %ld fits", n_items);
    for (long r = 0; !rc && r < n_items; r++) {
        const reduce_svm_fit *x = &cv->replay[r];
        if (x->item < 0 || x->item >= n_items || rp->by_item[x->item]) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "replay: fit %ld is %s", x->item,
                           x->item < 0 || x->item >= n_items ? "not an item of this grid" : "recorded twice");
            break;
        }
        rp->by_item[x->item] = x;
        const long f = x->item < n_tasks ? x->item / s->per_fold : x->item - n_tasks;
        if (x->setup_fold > 0) {
            rp->fold[f] += x->setup_fold;
            nf[f]++;
        }
        if (x->setup_rows > 0 && x->item < n_tasks) {
            const long fg = f * ng + (x->item / ni / nc) % ng;
            rp->rows[fg] += x->setup_rows;
            nr[fg]++;
        } else if (x->setup_rows > 0)
            rp->rows_all[f] = x->setup_rows;
    }
    for (long f = 0; !rc && f < cv->k; f++) rp->fold[f] /= nf[f] ? (double)nf[f] : 1;
    for (long fg = 0; !rc && fg < cv->k * ng; fg++) rp->rows[fg] /= nr[fg] ? (double)nr[fg] : 1;
    free(nf);
    free(nr);
    s->ws.rp = rp;
    return rc;
}

static void replay_free(replay_costs *rp)
{
    free(rp->by_item);
    free(rp->fold);
    free(rp->rows);
    free(rp->rows_all);
}

static int fit_cmp(const void *a, const void *b)
{
    const long x = ((const reduce_svm_fit *)a)->item, y = ((const reduce_svm_fit *)b)->item;
    return (x > y) - (x < y);
}

/* Collective: every rank's fit records onto rank 0 (cv->fits, by item). Records are timing, so a rank
 * 0 without memory for them leaves cv->fits NULL and the run goes on. */
static int gather_fits(cv_state *s, char *err, size_t errlen)
{
    reduce_svm_cv *cv = s->cv;
    const int P = mpi_util_size(s->comm), mine = (int)s->n_rec;
    int *cnt = NULL, *disp = NULL, ok = 1;
    if (s->rank == 0) {
        cnt = malloc((size_t)P * sizeof *cnt);
        disp = malloc((size_t)P * sizeof *disp);
        ok = cnt && disp;
    }
    MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, s->comm));
    if (!ok) {
        free(cnt);
        free(disp);
        return UTIL_OK;
    }
    MPI_CHECK(MPI_Gather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, 0, s->comm));
    long total = 0;
    if (s->rank == 0) {
        for (int r = 0; r < P; r++) {
            disp[r] = (int)total;
            total += cnt[r];
        }
        cv->fits = malloc(((size_t)total + 1) * sizeof *cv->fits);
        ok = cv->fits != NULL;
    }
    MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, s->comm));
    if (ok) {
        MPI_Datatype rec;
        MPI_CHECK(MPI_Type_contiguous((int)sizeof(reduce_svm_fit), MPI_BYTE, &rec));
        MPI_CHECK(MPI_Type_commit(&rec));
        int mrc = MPI_Gatherv(s->rec, mine, rec, cv->fits, cnt, disp, rec, 0, s->comm);
        MPI_Type_free(&rec);
        if (mrc != MPI_SUCCESS) return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Gatherv(fits)", mrc);
        if (s->rank == 0) { /* by item; a final fit run on two ranks at once (speculation) is kept once */
            qsort(cv->fits, (size_t)total, sizeof *cv->fits, fit_cmp);
            long m = 0;
            for (long i = 0; i < total; i++)
                if (m == 0 || cv->fits[i].item != cv->fits[m - 1].item) cv->fits[m++] = cv->fits[i];
            cv->n_fits = m;
        }
    }
    free(cnt);
    free(disp);
    return UTIL_OK;
}

/* A run's outputs, zeroed and allocated (pred all -1, as no fit predicted yet): 0, or -1 when out of
 * memory (what was allocated is freed by reduce_svm_cv_free) */
static int outputs_make(reduce_svm_cv *cv)
{
    memset(cv->stage_seconds, 0, sizeof cv->stage_seconds);
    cv->grid_fits_here = cv->final_fits_here = cv->spec_fits_here = cv->spec_used_here = cv->finals_left_here = 0;
    cv->kernel_builds_here = cv->kernel_rows_here = 0;
    cv->fits = NULL;
    cv->n_fits = 0;
    cv->seconds_grid = cv->seconds_final = 0;
    cv->precomputed = 0;
    cv->inner_acc = calloc((size_t)cv->k * cv->grid.n_c * cv->grid.n_g + 1, sizeof *cv->inner_acc);
    cv->best = calloc((size_t)cv->k + 1, sizeof *cv->best);
    cv->pred = malloc(((size_t)cv->n + 1) * sizeof *cv->pred);
    cv->n_sv = calloc((size_t)cv->k + 1, sizeof *cv->n_sv);
    for (long i = 0; cv->pred && i < cv->n; i++) cv->pred[i] = -1;
    return cv->inner_acc && cv->best && cv->pred && cv->n_sv ? 0 : -1;
}

static int cv_run(reduce_svm_cv *cv, MPI_Comm comm, char *err, size_t errlen)
{
    svm_set_print_string_function(svm_silent);
    const long n = cv->n;
    const int k = cv->k;
    cv_state s = {.cv = cv, .comm = comm, .per_fold = (long)cv->grid.n_c * cv->grid.n_g * cv->n_inner,
                  .rank = mpi_util_rank(comm)};
    s.n_items = cv->bench ? (long)cv->grid.n_c * cv->n_inner : cv->search ? s.per_fold : s.per_fold * k + k;
    s.t0 = s.mark = util_now();
    int rc = UTIL_OK;
    if (cv->bench && (cv->bench_group < 0 || cv->bench_group >= k * cv->grid.n_g))
        return util_fail(err, errlen, UTIL_EUSAGE, "svm: bench group %d not in [0, %d)", cv->bench_group, k * cv->grid.n_g);
    if (cv->bench && cv->replay) return util_fail(err, errlen, UTIL_EUSAGE, "svm: a bench group cannot be replayed");
    if (cv->search && (cv->bench || cv->replay || cv->search_fold < 0 || cv->search_fold >= k))
        return util_fail(err, errlen, UTIL_EUSAGE, "svm: a grid search of fold %d of %d (not a bench unit or a replay)",
                         cv->search_fold, k);
    const int no_outputs = outputs_make(cv);
    s.P = mpi_util_size(comm);
    s.spec = cv->speculate && !cv->bench && !cv->search && s.P > 1; /* no final fits to run ahead */
    const long cells = (long)cv->grid.n_c * cv->grid.n_g;
    if (s.spec) {
        s.seen = calloc((size_t)(s.per_fold * k) * 2 + 1, sizeof *s.seen);
        s.claimed = calloc((size_t)(k * cells) + 1, 1);
        s.cap_msg = s.per_fold * k + k * cells; /* a result per grid fit, a claim per cell at most */
        s.msg = malloc((size_t)s.cap_msg * sizeof *s.msg);
        s.acc = malloc((size_t)cells * sizeof *s.acc);
        if (!s.seen || !s.claimed || !s.msg || !s.acc) rc = util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory for %ld fits", s.n_items);
    }
    s.final_done = calloc((size_t)k + 1, 1);
    s.counts = calloc((size_t)(s.per_fold * k) * 2 + 1, sizeof *s.counts);
    s.fold_sum = malloc((size_t)k * sizeof *s.fold_sum);
    s.final_drawn = calloc((size_t)k, 1);
    if (ws_init(&s.ws, cv) || no_outputs || !s.final_done || !s.counts || !s.fold_sum || !s.final_drawn)
        rc = util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory for %ld rows x %d", n, cv->d);
    for (int f = 0; s.fold_sum && f < k; f++) s.fold_sum[f] = MPI_REQUEST_NULL;
    cv->precomputed = s.ws.precomputed;
    if (!rc && cv->replay) rc = replay_init(&s, err, errlen); /* the same records on every rank */
    rc = mpi_util_agree(comm, rc, err, errlen);
    /* the grid's end is compared across ranks (MPI_MAX below): measured from a start every rank
     * takes as it leaves the same collective, not from each rank's own entry into this call */
    s.t0 = util_now();
    /* the per-fold sums (MPI_Iallreduce) move while ranks fit, not only between their fits (every 10 ms:
     * mpi/progress.h) */
    mpi_progress *prog = rc ? NULL : mpi_progress_start(comm, 1e-2);
    if (!rc) rc = run_queue(&s, err, errlen);
    mpi_progress_stop(prog);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) {
        for (int f = 0; !cv->bench && f < k; f++)
            if (!cv->search || f == cv->search_fold) choose_cell(cv, s.counts, f);
        /* grid: until the last grid fit ended on any rank; final: the final fits' tail past it */
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &s.grid_end, 1, MPI_DOUBLE, MPI_MAX, comm));
        if (!cv->bench && !cv->search) {
            MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, cv->pred, (int)n, MPI_INT, MPI_MAX, comm));
            MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, cv->n_sv, k, MPI_INT, MPI_MAX, comm));
        }
        cv->seconds_grid = s.grid_end;
        const double tail = util_now() - s.t0 - s.grid_end; /* clocks of ranks started microseconds apart */
        cv->seconds_final = tail > 0 ? tail : 0;
    }
    if (!rc) rc = gather_fits(&s, err, errlen);
    stage_charge(cv, REDUCE_SVM_ST_FINAL_WAIT, &s.mark);
    cv->kernel_builds_here = s.ws.builds;
    cv->kernel_rows_here = s.ws.kernel_rows;
    ws_free(&s.ws);
    free(s.counts);
    free(s.fold_sum);
    free(s.final_drawn);
    free(s.final_done);
    free(s.seen);
    free(s.claimed);
    free(s.msg);
    free(s.acc);
    for (int i = 0; i < s.n_specs; i++) free(s.specs[i].pred);
    free(s.specs);
    free(s.rec);
    replay_free(&s.rp);
    if (rc) reduce_svm_cv_free(cv);
    return rc;
}

/* ---- the ranks that run the grid: as many on a node as its memory holds ---- */

/* What one rank's run holds at its peak: the workspace (ws_init: the n x (n + 2) kernel nodes and the
 * n x n Gram matrix, or the sparse rows; the standardised rows) and LIBSVM's kernel cache at most
 * (cache_mb, never more than a matrix of the rows' floats) */
static double rank_bytes(const reduce_svm_cv *cv)
{
    const double n = (double)cv->n, d = (double)cv->d, cache = cv->params.cache_mb * 1e6;
    const int pre = n * (n + 2) * sizeof(struct svm_node) / 1e6 <= cv->params.max_kernel_mb;
    const double ws = pre ? n * (n + 2) * sizeof(struct svm_node) + n * n * 8 : n * (d + 1) * sizeof(struct svm_node);
    return ws + n * d * 8 + (cache < n * n * 4 ? cache : n * n * 4);
}

/* Collective. Every rank would hold its own workspace, so on a node with L ranks only
 * floor(0.8 x available / rank_bytes) of them (at least 1) run the grid (the node's lowest ranks;
 * util_mem_available, read by the node's first rank) and the others wait: a user who starts as many
 * ranks as cores on a many-core node gets a slower grid, not an out-of-memory kill. *work: comm
 * itself when every rank runs, else the runners' communicator (MPI_COMM_NULL on the others).
 * cv->rank_mb is set; sets cv->workers. */
static int choose_workers(reduce_svm_cv *cv, MPI_Comm comm, MPI_Comm *work, char *err, size_t errlen)
{
    MPI_Comm node;
    const int rank = mpi_util_rank(comm);
    *work = comm;
    MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    int fit = mpi_util_size(node);
    const int local = mpi_util_rank(node);
    if (local == 0) {
        const double avail = util_mem_available(), m = floor(0.8 * avail / (cv->rank_mb * 1e6));
        if (avail > 0 && m < fit) fit = m < 1 ? 1 : (int)m;
    }
    int mrc = MPI_Bcast(&fit, 1, MPI_INT, 0, node);
    MPI_Comm_free(&node);
    if (mrc != MPI_SUCCESS) return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Bcast(ranks that fit)", mrc);
    const int runs = local < fit;
    MPI_CHECK(MPI_Allreduce(&runs, &cv->workers, 1, MPI_INT, MPI_SUM, comm));
    if (cv->workers == mpi_util_size(comm)) return UTIL_OK;
    MPI_CHECK(MPI_Comm_split(comm, runs ? 0 : MPI_UNDEFINED, rank, work));
    return UTIL_OK;
}

int reduce_svm_cv_run(reduce_svm_cv *cv, MPI_Comm comm, char *err, size_t errlen)
{
    MPI_Comm work = comm;
    cv->workers = mpi_util_size(comm);
    cv->rank_mb = rank_bytes(cv) / 1e6;
    if (!cv->replay) { /* a replay sleeps instead of filling its workspace */
        int rc = choose_workers(cv, comm, &work, err, errlen);
        if (rc) return rc;
    }
    if (work == comm) return cv_run(cv, comm, err, errlen);
    /* some ranks sit the grid out: they wait (a nonblocking barrier polled every 10 ms, not a core
     * spinning in a collective), then every rank takes the outputs from rank 0, which runs */
    const double t0 = util_now();
    const int sits_out = work == MPI_COMM_NULL;
    int rc = UTIL_OK;
    if (!sits_out) {
        rc = cv_run(cv, work, err, errlen);
        MPI_Comm_free(&work);
    } else if (outputs_make(cv))
        rc = util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory for %ld rows", cv->n);
    MPI_Request done;
    int flag = 0;
    const struct timespec nap = {0, 10000000};
    MPI_CHECK(MPI_Ibarrier(comm, &done));
    for (;;) {
        MPI_CHECK(MPI_Test(&done, &flag, MPI_STATUS_IGNORE));
        if (flag) break;
        nanosleep(&nap, NULL);
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) {
        const int k = cv->k, cells = cv->grid.n_c * cv->grid.n_g;
        double secs[2] = {cv->seconds_grid, cv->seconds_final};
        int pre = cv->precomputed;
        MPI_CHECK(MPI_Bcast(cv->inner_acc, k * cells, MPI_DOUBLE, 0, comm));
        MPI_CHECK(MPI_Bcast(cv->best, k, MPI_INT, 0, comm));
        MPI_CHECK(MPI_Bcast(cv->pred, (int)cv->n, MPI_INT, 0, comm));
        MPI_CHECK(MPI_Bcast(cv->n_sv, k, MPI_INT, 0, comm));
        MPI_CHECK(MPI_Bcast(secs, 2, MPI_DOUBLE, 0, comm));
        MPI_CHECK(MPI_Bcast(&pre, 1, MPI_INT, 0, comm));
        cv->seconds_grid = secs[0];
        cv->seconds_final = secs[1];
        cv->precomputed = pre;
    }
    if (sits_out) cv->stage_seconds[REDUCE_SVM_ST_FINAL_WAIT] = util_now() - t0;
    if (rc) reduce_svm_cv_free(cv);
    return rc;
}

long reduce_svm_confusion(const int *y, const int *pred, const int *fold, long n, int f, int L, long *conf)
{
    memset(conf, 0, (size_t)L * L * sizeof *conf);
    long m = 0;
    for (long i = 0; i < n; i++)
        if ((f < 0 || fold[i] == f) && pred[i] >= 0 && pred[i] < L) {
            conf[(size_t)y[i] * L + pred[i]]++;
            m++;
        }
    return m;
}

void reduce_svm_prf(const long *conf, int L, double *precision, double *recall, double *f1)
{
    for (int c = 0; c < L; c++) {
        long tp = conf[(size_t)c * L + c], row = 0, col = 0;
        for (int j = 0; j < L; j++) {
            row += conf[(size_t)c * L + j];
            col += conf[(size_t)j * L + c];
        }
        precision[c] = col ? (double)tp / (double)col : 0;
        recall[c] = row ? (double)tp / (double)row : 0;
        f1[c] = precision[c] + recall[c] > 0 ? 2 * precision[c] * recall[c] / (precision[c] + recall[c]) : 0;
    }
}
