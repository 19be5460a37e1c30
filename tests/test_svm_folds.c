/* test_svm_folds.c - the artist filter and stratification of shard_folds_assign (rule
 * SHARD_FOLDS_EVALUATE, evaluate's folds), plus the small
 * pieces of the SVM evaluation: grid parsing, standardisation, confusion/precision/recall/F1, and an
 * in-memory cross-validation run that must give the same result on MPI_COMM_SELF and on the world
 * communicator (run at 1, 2, 3 ranks). */
#include "mpi/mpi_util.h"
#include "shard/shard.h"
#include "reduce/reduce_svm.h"
#include "reduce/reduce_svm_model.h"
#include "testutil.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <svm.h>
#include <unistd.h>

static void check_folds(int n, int L, int G, int k, uint64_t seed)
{
    int *label = malloc(sizeof(int) * n), *group = malloc(sizeof(int) * n), *fold = malloc(sizeof(int) * n);
    uint64_t st = seed * 7 + 1;
    /* artists of random sizes (1..12 rows), mostly one label each, some with two */
    int g = 0, left = 0, lab = 0;
    for (int i = 0; i < n; i++) {
        if (left == 0) {
            g = (g + 1) % G;
            left = 1 + (int)(shard_rng_next(&st) % 12);
            lab = (int)(shard_rng_next(&st) % (uint64_t)L);
        }
        group[i] = g;
        label[i] = (shard_rng_next(&st) % 10 == 0) ? (lab + 1) % L : lab;
        left--;
    }
    label[3] = -1; /* excluded row */
    CHECK(shard_folds_assign(group, label, (size_t)n, k, seed, SHARD_FOLDS_EVALUATE, fold, NULL, 0) == 0);
    CHECK(fold[3] == -1);
    /* no artist on both sides: every group in exactly one fold */
    int *gf = malloc(sizeof(int) * G), crossing = 0, bad_range = 0;
    for (int q = 0; q < G; q++) gf[q] = -1;
    for (int i = 0; i < n; i++) {
        if (label[i] < 0) continue;
        if (fold[i] < 0 || fold[i] >= k) bad_range++;
        if (gf[group[i]] >= 0 && gf[group[i]] != fold[i]) crossing++;
        gf[group[i]] = fold[i];
    }
    CHECK_MSG(crossing == 0 && bad_range == 0, "n %d k %d: %d rows with an artist in another fold, %d out of range", n, k, crossing, bad_range);
    /* stratified: per class, fold counts within 12 (largest artist) of the even share */
    long *cnt = calloc((size_t)k * L, sizeof *cnt), *tot = calloc((size_t)L, sizeof *tot);
    for (int i = 0; i < n; i++)
        if (label[i] >= 0) { cnt[fold[i] * L + label[i]]++; tot[label[i]]++; }
    double worst = 0;
    for (int l = 0; l < L; l++)
        for (int q = 0; q < k; q++) {
            double dev = fabs((double)cnt[q * L + l] - (double)tot[l] / k);
            if (dev > worst) worst = dev;
        }
    CHECK_MSG(worst <= 12, "n %d L %d k %d: worst per-class fold deviation %.1f rows", n, L, k, worst);
    fprintf(stderr, "folds n=%d L=%d groups=%d k=%d: no artist crosses folds, worst class deviation %.1f rows\n", n, L, G, k, worst);
    /* deterministic per seed; another seed gives another assignment */
    int *again = malloc(sizeof(int) * n);
    shard_folds_assign(group, label, (size_t)n, k, seed, SHARD_FOLDS_EVALUATE, again, NULL, 0);
    CHECK(memcmp(fold, again, sizeof(int) * n) == 0);
    shard_folds_assign(group, label, (size_t)n, k, seed + 1, SHARD_FOLDS_EVALUATE, again, NULL, 0);
    CHECK(memcmp(fold, again, sizeof(int) * n) != 0);
    free(again);
    free(cnt);
    free(tot);
    free(gf);
    free(label);
    free(group);
    free(fold);
}

static void check_grid(void)
{
    char err[UTIL_ERRLEN];
    reduce_svm_grid g;
    CHECK(reduce_svm_grid_parse("default", REDUCE_SVM_RBF, 100, &g, err, sizeof err) == 0 && g.n_c == 5 && g.n_g == 5);
    CHECK(fabs(g.g[2] - 0.003) < 1e-15);
    CHECK(reduce_svm_grid_parse("default", REDUCE_SVM_LINEAR, 100, &g, err, sizeof err) == 0 && g.n_c == 5 && g.n_g == 1);
    CHECK(reduce_svm_grid_parse("C=1,10;g=0.5", REDUCE_SVM_RBF, 10, &g, err, sizeof err) == 0 && g.n_c == 2 && g.n_g == 1 &&
          g.c[1] == 10 && g.g[0] == 0.5);
    CHECK(reduce_svm_grid_parse("C=1;gamma=0.1,0.2", REDUCE_SVM_RBF, 10, &g, err, sizeof err) == 0 && g.n_g == 2);
    CHECK(reduce_svm_grid_parse("C=1,x", REDUCE_SVM_RBF, 10, &g, err, sizeof err) == UTIL_EUSAGE);
    CHECK(reduce_svm_grid_parse("C=-1", REDUCE_SVM_RBF, 10, &g, err, sizeof err) == UTIL_EUSAGE);
    CHECK(reduce_svm_grid_parse("k=1", REDUCE_SVM_RBF, 10, &g, err, sizeof err) == UTIL_EUSAGE);
    CHECK(reduce_svm_grid_parse("g=1", REDUCE_SVM_RBF, 10, &g, err, sizeof err) == UTIL_EUSAGE);
}

static void check_metrics(void)
{
    int y[] = {0, 0, 0, 1, 1, 2}, p[] = {0, 1, 0, 1, 1, 1}, fold[] = {0, 0, 1, 1, 1, 1};
    long conf[9];
    CHECK(reduce_svm_confusion(y, p, fold, 6, -1, 3, conf) == 6);
    CHECK(conf[0] == 2 && conf[1] == 1 && conf[4] == 2 && conf[7] == 1);
    double pr[3], re[3], f1[3];
    reduce_svm_prf(conf, 3, pr, re, f1);
    CHECK(fabs(pr[0] - 1) < 1e-15 && fabs(re[0] - 2.0 / 3) < 1e-15 && fabs(pr[1] - 0.5) < 1e-15 && re[1] == 1);
    CHECK(pr[2] == 0 && re[2] == 0 && f1[2] == 0);
    CHECK(reduce_svm_confusion(y, p, fold, 6, 0, 3, conf) == 2);
    double x[] = {1, 5, 3, 5, 5, 5}, mean[2], sd[2];
    int sel[] = {1, 1, 0};
    reduce_svm_standardise_fit(x, 3, 2, sel, mean, sd);
    CHECK(mean[0] == 2 && sd[0] == 1 && mean[1] == 5 && sd[1] == 1); /* constant column -> std 1 */
}

/* in-memory CV: same outputs on one rank and on the world communicator */
static void check_cv_ranks(MPI_Comm comm)
{
    int n = 120, d = 5, L = 3, k = 3, I = 3;
    double *x = malloc(sizeof(double) * n * d);
    int *y = malloc(sizeof(int) * n), *group = malloc(sizeof(int) * n), *fold = malloc(sizeof(int) * n);
    int *inner = malloc(sizeof(int) * n * k), *lab = malloc(sizeof(int) * n), *tmp = malloc(sizeof(int) * n);
    uint64_t st = 5;
    for (int i = 0; i < n; i++) {
        group[i] = i / 4;
        y[i] = group[i] % L;
        for (int j = 0; j < d; j++)
            x[i * d + j] = (double)(shard_rng_next(&st) % 1000) / 500.0 + (j == y[i] ? 1.0 : 0.0);
    }
    shard_folds_assign(group, y, (size_t)n, k, 9, SHARD_FOLDS_EVALUATE, fold, NULL, 0);
    for (int f = 0; f < k; f++) {
        for (int i = 0; i < n; i++) lab[i] = fold[i] == f ? -1 : y[i];
        shard_folds_assign(group, lab, (size_t)n, I, 100 + f, SHARD_FOLDS_EVALUATE, tmp, NULL, 0);
        for (int i = 0; i < n; i++) inner[i * k + f] = tmp[i];
    }
    char err[UTIL_ERRLEN];
    reduce_svm_cv a, b;
    memset(&a, 0, sizeof a);
    a.n = n; a.d = d; a.x = x; a.y = y; a.n_classes = L; a.fold = fold; a.k = k; a.inner = inner; a.n_inner = I;
    reduce_svm_grid_parse("C=0.1,1,10;g=0.1,1", REDUCE_SVM_RBF, d, &a.grid, err, sizeof err);
    reduce_svm_params_default(&a.params, REDUCE_SVM_RBF);
    b = a;
    b.speculate = 1; /* final fits run ahead on idle ranks: the same bits */
    int ra = reduce_svm_cv_run(&a, MPI_COMM_SELF, err, sizeof err);
    int rb = reduce_svm_cv_run(&b, comm, err, sizeof err);
    CHECK_MSG(ra == 0 && rb == 0, "cv: %s", err);
    if (!ra && !rb) {
        CHECK(memcmp(a.pred, b.pred, sizeof(int) * n) == 0);
        CHECK(memcmp(a.best, b.best, sizeof(int) * k) == 0);
        CHECK(memcmp(a.inner_acc, b.inner_acc, sizeof(double) * k * 6) == 0);
        CHECK(memcmp(a.n_sv, b.n_sv, sizeof(int) * k) == 0);
        long ok = 0;
        for (int i = 0; i < n; i++) ok += a.pred[i] == y[i];
        CHECK_MSG(ok > n / 2, "cv accuracy %ld/%d", ok, n);
        fprintf(stderr, "cv on %d ranks == cv on 1 rank; accuracy %ld/%d\n", mpi_util_size(comm), ok, n);
    }
    /* LIBSVM's own kernel evaluation (no precomputed matrix) picks the same cells and predictions */
    reduce_svm_cv c = a;
    c.inner_acc = NULL; c.best = NULL; c.pred = NULL; c.n_sv = NULL;
    c.params.max_kernel_mb = 0;
    int rcc = reduce_svm_cv_run(&c, comm, err, sizeof err);
    CHECK_MSG(rcc == 0 && a.precomputed == 1 && c.precomputed == 0, "sparse path: rc %d, precomputed %d/%d", rcc, a.precomputed, c.precomputed);
    if (!rcc && !ra) {
        CHECK(memcmp(a.best, c.best, sizeof(int) * k) == 0);
        CHECK(memcmp(a.pred, c.pred, sizeof(int) * n) == 0);
        test_close_d("inner accuracies: precomputed vs LIBSVM kernels", a.inner_acc, c.inner_acc, (size_t)k * 6, 1e-12, 0);
    }
    /* a grid search of one fold (cv.search): that fold's grid fits only, summed over ranks, the same
     * inner accuracies and winner as in the whole run; no final fit, no predictions */
    reduce_svm_cv e = a;
    e.inner_acc = NULL; e.best = NULL; e.pred = NULL; e.n_sv = NULL;
    e.search = 1;
    e.search_fold = 1;
    e.queue_thread = 1;
    int rce = reduce_svm_cv_run(&e, comm, err, sizeof err);
    CHECK_MSG(rce == 0, "search: %s", err);
    if (!rce && !ra) {
        long fits[2] = {e.grid_fits_here, e.final_fits_here + e.spec_fits_here};
        MPI_Allreduce(MPI_IN_PLACE, fits, 2, MPI_LONG, MPI_SUM, comm);
        CHECK_MSG(fits[0] == 6 * I && fits[1] == 0, "search: %ld grid fits (want %d), %ld final fits", fits[0], 6 * I, fits[1]);
        CHECK(e.best[1] == a.best[1] && memcmp(e.inner_acc + 6, a.inner_acc + 6, sizeof(double) * 6) == 0);
        int others = 0, preds = 0;
        for (int j = 0; j < 6; j++) others += e.inner_acc[j] != 0 || e.inner_acc[12 + j] != 0;
        for (int i = 0; i < n; i++) preds += e.pred[i] != -1;
        CHECK_MSG(others == 0 && preds == 0, "search: %d other folds' scores, %d predictions", others, preds);
    }
    reduce_svm_cv_free(&e);
    e = a;
    e.search = 1;
    e.search_fold = k; /* not a fold: refused before any output is made */
    e.inner_acc = NULL; e.best = NULL; e.pred = NULL; e.n_sv = NULL; e.fits = NULL;
    CHECK(reduce_svm_cv_run(&e, comm, err, sizeof err) == UTIL_EUSAGE && strstr(err, "fold 3 of 3"));
    reduce_svm_cv_free(&e);
    reduce_svm_cv_free(&c);
    reduce_svm_cv_free(&a);
    reduce_svm_cv_free(&b);
    free(x); free(y); free(group); free(fold); free(inner); free(lab); free(tmp);
}

/* reduce_svm_model_fit on the precomputed kernel matrix (the default where it fits) vs LIBSVM's own
 * kernel (max_kernel_mb 0): an ordinary RBF model either way, the same support vectors and
 * predictions, coefficients within 1e-6; saved and loaded back, the same predictions */
static void check_model_fit(void)
{
    const int n = 300, d = 6, L = 3;
    double *x = malloc(sizeof(double) * n * d);
    int *y = malloc(sizeof(int) * n), *pa = malloc(sizeof(int) * n), *pb = malloc(sizeof(int) * n), *pc = malloc(sizeof(int) * n);
    uint64_t st = 11;
    for (int i = 0; i < n; i++) {
        y[i] = i % L;
        for (int j = 0; j < d; j++) x[i * d + j] = (double)(shard_rng_next(&st) % 1000) / 400.0 + (j == y[i] ? 1.0 : 0.0);
    }
    char *names[] = {"a", "b", "c"}, err[UTIL_ERRLEN];
    reduce_svm_params pk, pd;
    reduce_svm_params_default(&pk, REDUCE_SVM_RBF);
    pd = pk;
    pd.max_kernel_mb = 0;
    reduce_svm_model a, b, c;
    memset(&c, 0, sizeof c);
    int ra = reduce_svm_model_fit(x, n, d, y, L, names, &pk, 10, 0.2, &a, err, sizeof err);
    int rb = reduce_svm_model_fit(x, n, d, y, L, names, &pd, 10, 0.2, &b, err, sizeof err);
    CHECK_MSG(ra == 0 && rb == 0, "model fit: %s", err);
    if (!ra && !rb) {
        const struct svm_model *ma = a.svm, *mb = b.svm;
        CHECK_MSG(a.precomputed == 1 && b.precomputed == 0, "precomputed: %d and %d", a.precomputed, b.precomputed);
        CHECK(ma->param.kernel_type == RBF && ma->param.gamma == 0.2);
        CHECK_MSG(ma->l == mb->l && ma->l > 0, "support vectors: precomputed %d, LIBSVM's kernel %d", ma->l, mb->l);
        int same_sv = ma->l == mb->l;
        double worst = 0;
        for (int s = 0; same_sv && s < ma->l; s++) {
            same_sv = ma->SV[s] == mb->SV[s] - b.nodes + a.nodes; /* the same training row */
            for (int c2 = 0; c2 < L - 1; c2++) worst = fmax(worst, fabs(ma->sv_coef[c2][s] - mb->sv_coef[c2][s]));
        }
        for (int r = 0; r < L * (L - 1) / 2; r++) worst = fmax(worst, fabs(ma->rho[r] - mb->rho[r]));
        CHECK_MSG(same_sv && worst <= 1e-6, "precomputed vs LIBSVM's kernel: same support vectors %d, coefficients within %g", same_sv, worst);
        reduce_svm_model_predict(&a, x, n, pa);
        reduce_svm_model_predict(&b, x, n, pb);
        CHECK(memcmp(pa, pb, sizeof(int) * n) == 0);
        char dir[] = "/tmp/test_svm_model.XXXXXX";
        int rs = mkdtemp(dir) ? reduce_svm_model_save(&a, dir, "test", err, sizeof err) : UTIL_EFAIL;
        if (!rs) rs = reduce_svm_model_load(&c, dir, err, sizeof err);
        CHECK_MSG(rs == 0, "save/load: %s", err);
        if (!rs) {
            reduce_svm_model_predict(&c, x, n, pc);
            CHECK(memcmp(pa, pc, sizeof(int) * n) == 0);
        }
        char path[64];
        snprintf(path, sizeof path, "%s/svm.model", dir);
        remove(path);
        snprintf(path, sizeof path, "%s/svm_model.h5", dir);
        remove(path);
        rmdir(dir);
        fprintf(stderr, "model fit: precomputed kernel == LIBSVM's kernel (%d support vectors, coefficients within %g)\n", ma->l, worst);
    }
    reduce_svm_model_free(&a);
    reduce_svm_model_free(&b);
    reduce_svm_model_free(&c);
    free(x); free(y); free(pa); free(pb); free(pc);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank = mpi_util_rank(MPI_COMM_WORLD);
    if (rank == 0) {
        check_folds(600, 5, 80, 3, 1);
        check_folds(2000, 10, 300, 5, 2);
        check_folds(97, 3, 20, 2, 3);
        check_grid();
        check_metrics();
        check_model_fit();
    }
    check_cv_ranks(MPI_COMM_WORLD);
    int fails = test_failures, worst = 0;
    MPI_Allreduce(&fails, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (worst > test_failures) test_failures = worst;
    int status = rank == 0 ? test_done("test_svm_folds") : (test_failures ? 1 : 0);
    MPI_Finalize();
    return status;
}
