/* evaluate.c - `artistnet evaluate`: MIREX-style k-fold SVM evaluation of a features.h5 label column
 * (LIBSVM C-SVC, linear or RBF), optionally through an LDA projection (--lda lda.h5: y = (x - mean) *
 * components, applied before the training-side standardisation). Folds come from --folds-file (a
 * folds.tsv written by an earlier run), else the list's fold column, else stratified artist-filtered
 * folds from --seed; the inner (grid search) folds are artist-filtered from the seed too, and both are
 * written to DIR/folds.tsv for reuse (evaluate/evaluate.h: folds, tables, results.json). The grid
 * search is spread over all ranks (reduce/reduce_svm.h);
 * rank 0 writes DIR/results.json, DIR/predictions.tsv, DIR/folds.tsv and a summary on stdout, which
 * ends with a stage table (rank-seconds per stage over all ranks) and the grid's balance over ranks.
 * --bench-group G|mid (a benchmark aid: the work unit of bench/scaling.sh's evaluate ceiling) runs
 * only the grid fits of the queue's (outer fold, gamma) group G on all ranks, as the queue deals them,
 * with no final fits, and writes nothing (no --out needed; one given is ignored): its summary is a
 * line with the group, its fits and seconds, then the stage table. DIR/fits.tsv (reduce_svm_fits.h)
 * records every fit's rank, start, set-up and fit seconds; --bench-replay FILE (another benchmark aid)
 * replays such a file's schedule on this run's ranks, every set-up and fit a sleep of its recorded
 * seconds, so the queue's schedule at 16, 64 or 256 ranks can be run on a few cores; it writes only
 * the replayed schedule's fits.tsv, into --out if one is given. --queue-thread on (the default): rank
 * 0 answers the queue from a thread, also during its own fits.
 *
 * Combined feature sets (`--features a.h5,b.h5`, issue 21): the first file gives the rows, labels,
 * folds and artists; every other set is matched to it by id (ids unique in that set); a row is used
 * when it is ok (status 0) in every set, and the others are counted as skipped. `--lda` then takes
 * one entry per set, comma-separated, empty for none (`--lda lda.h5,`: LDA on the first set only):
 * an LDA is applied only to the set it was fitted on. The sets' columns are concatenated; the SVM's
 * training-side standardisation (per dimension, on the training folds only) standardises each
 * set's dimensions as it does for one set. Sets are not reweighted: a set weighs in the kernel by
 * its dimension count. */
#include "evaluate/evaluate.h"
#include "jobs/jobs.h"
#include "jobs/job_common.h"
#include "mpi/mpi_util.h"
#include "reduce/reduce_features.h"
#include "reduce/reduce_svm.h"
#include "reduce/reduce_svm_fits.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <svm.h>
#include <sys/stat.h>

/* ---- the summary's stage table (util_print_stages): rank-seconds per stage, summed over ranks ---- */
enum {
    EVAL_ST_READ,                              /* reading the feature files (every rank reads all rows) */
    EVAL_ST_PREPARE,                           /* rows kept, ids matched, LDA applied, folds assigned */
    EVAL_ST_SVM,                               /* reduce_svm_cv_run's stages (reduce_svm_stage) from here */
    EVAL_ST_WRITE = EVAL_ST_SVM + REDUCE_SVM_ST_N, /* rank 0 writes results.json, predictions, folds, summary */
    EVAL_ST_TOTAL,
    EVAL_ST_N
};

static const char *const eval_stage_names[EVAL_ST_TOTAL] = {
    "read features", "rows, LDA, folds", "grid: kernel set-up", "grid: fits", "grid: idle/wait",
    "final: kernel set-up", "final: fits", "final: idle/wait", "write outputs (rank 0)"};

/* Collective. t: this rank's seconds per stage, t[EVAL_ST_TOTAL] its wall time; prints the table and a
 * line on the grid's balance: per-rank busy time (kernel set-up + fits) min / mean / max, whose spread
 * is the load imbalance that "grid: idle/wait" pays for. */
static void print_stages(const double *t, const reduce_svm_cv *cv, MPI_Comm comm)
{
    const int rank = mpi_util_rank(comm), P = mpi_util_size(comm);
    double sum[EVAL_ST_N];
    MPI_Reduce(t, sum, EVAL_ST_N, MPI_DOUBLE, MPI_SUM, 0, comm);
    const double busy = cv->stage_seconds[REDUCE_SVM_ST_GRID_SETUP] + cv->stage_seconds[REDUCE_SVM_ST_GRID_FITS];
    double busy_min, busy_max, busy_sum;
    long fits[4] = {-cv->grid_fits_here, cv->grid_fits_here, -cv->kernel_builds_here, cv->kernel_builds_here}, fits_max[4];
    /* the max of -x is minus the min of x: one reduction for both */
    MPI_Reduce(&busy, &busy_min, 1, MPI_DOUBLE, MPI_MIN, 0, comm);
    MPI_Reduce(&busy, &busy_max, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
    MPI_Reduce(&busy, &busy_sum, 1, MPI_DOUBLE, MPI_SUM, 0, comm);
    MPI_Reduce(fits, fits_max, 4, MPI_LONG, MPI_MAX, 0, comm);
    long mine[5] = {cv->kernel_builds_here, cv->final_fits_here, cv->spec_fits_here, cv->spec_used_here, cv->finals_left_here},
         all[5];
    MPI_Reduce(mine, all, 5, MPI_LONG, MPI_SUM, 0, comm);
    if (rank != 0) return;
    util_print_stages(stdout, "evaluate", eval_stage_names, sum, EVAL_ST_TOTAL, 0, -1, -1);
    printf("evaluate: grid busy per rank (kernel set-up + fits) min / mean / max %.2f / %.2f / %.2f s; grid fits per "
           "rank %ld .. %ld; kernel builds (fold set-up or kernel rows) per rank %ld .. %ld, %ld in all\n",
           busy_min, busy_sum / P, busy_max, -fits_max[0], fits_max[1], -fits_max[2], fits_max[3], all[0]);
    if (cv->speculate && P > 1)
        printf("evaluate: final fits: %ld run as drawn, %ld speculative of which %ld won (%ld drawn ones left to them)\n",
               all[1], all[2], all[3], all[4]);
}

/* Collective. A benchmark unit's line (--bench-group): its group, its fits over all ranks, the seconds
 * until the last one ended, the kernel matrices built (one per rank that drew a fit, each n x (n + 2)
 * LIBSVM nodes of 16 bytes). */
static void print_bench(const reduce_svm_cv *cv, long n, reduce_svm_kernel kernel, int quiet, MPI_Comm comm)
{
    long mine[2] = {cv->grid_fits_here, cv->kernel_rows_here}, all[2];
    MPI_Reduce(mine, all, 2, MPI_LONG, MPI_SUM, 0, comm);
    if (quiet || mpi_util_rank(comm) != 0) return;
    const int f = cv->bench_group / cv->grid.n_g, g = cv->bench_group % cv->grid.n_g, P = mpi_util_size(comm);
    char gamma[32] = "-";
    if (kernel == REDUCE_SVM_RBF) snprintf(gamma, sizeof gamma, "%.4g", cv->grid.g[g]);
    char kern[96] = "no precomputed kernel matrix (LIBSVM's kernel)";
    if (cv->precomputed)
        snprintf(kern, sizeof kern, "%ld kernel matrix build%s (%.0f MB each)", all[1], all[1] == 1 ? "" : "s",
                 (double)n * (double)(n + 2) * sizeof(struct svm_node) / 1e6);
    printf("evaluate: bench group %d (outer fold %d, gamma %s): %ld fits in %.2f s on %d rank%s, %s; nothing written\n",
           cv->bench_group, f + 1, gamma, all[0], cv->seconds_grid, P, P > 1 ? "s" : "", kern);
}

/* Rank 0, a replay (--bench-replay): the schedule's wall time on these ranks against the recorded
 * work (every fit's set-up and fit seconds), and how much of P ranks' time that work filled. */
static void print_replay(const reduce_svm_cv *cv, const char *path, int P)
{
    double work = 0, fits = 0;
    int ranks_rec = 0;
    for (long r = 0; r < cv->n_replay; r++) {
        const reduce_svm_fit *x = &cv->replay[r];
        work += x->setup_fold + x->setup_rows + x->fit;
        fits += x->fit;
        if (x->rank + 1 > ranks_rec) ranks_rec = x->rank + 1;
    }
    const double wall = cv->seconds_grid + cv->seconds_final;
    printf("evaluate: replay of %s (recorded on %d rank%s: %ld fits, %.2f s of set-up + fits, %.2f s of them fits) on %d "
           "rank%s: grid %.2f s + final tail %.2f s = %.2f s; recorded work / (ranks x wall) %.3f\n",
           path, ranks_rec, ranks_rec == 1 ? "" : "s", cv->n_replay, work, fits, P, P == 1 ? "" : "s", cv->seconds_grid,
           cv->seconds_final, wall, wall > 0 ? work / (P * wall) : 0);
}

int job_evaluate_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *features = NULL, *lda_path = NULL, *label = NULL, *fold_col = NULL, *artist_col = NULL,
               *kernel_s = NULL, *grid_s = NULL, *folds_file = NULL, *out = NULL, *bench_s = NULL, *replay_path = NULL,
               *thread_s = NULL, *spec_s = NULL;
    int k = 3, n_inner = 3, seed = 1, quiet = 0;
    util_opt opts[] = {
        {"features", UTIL_OPT_STRING, &features, "",
         "features.h5 of the task's clips; a,b,...: sets matched by id and concatenated (rows, labels, folds from the first)",
         0, -1, 1},
        {"out", UTIL_OPT_STRING, &out, "",
         "output folder (results.json, predictions.tsv, folds.tsv, fits.tsv); required, except with --bench-group (then "
         "ignored) or --bench-replay (then only its fits.tsv)",
         0, -1, 0},
        {"lda", UTIL_OPT_STRING, &lda_path, "",
         "lda.h5: project features before the SVM; with several sets one entry per set, empty for none (lda.h5,)", 0, -1, 0},
        {"label-column", UTIL_OPT_STRING, &label, "genre", "string dataset with the class to predict", 0, -1, 0},
        {"folds", UTIL_OPT_INT, &k, "3", "outer folds when no fold column / folds file", 2, 100, 0},
        {"fold-column", UTIL_OPT_STRING, &fold_col, "fold", "string dataset with predefined folds (used when present)", 0, -1, 0},
        {"artist-column", UTIL_OPT_STRING, &artist_col, "artist", "artist filter: no artist on both sides of a split", 0, -1, 0},
        {"folds-file", UTIL_OPT_STRING, &folds_file, "", "reuse outer+inner folds from a folds.tsv of an earlier run", 0, -1, 0},
        {"kernel", UTIL_OPT_STRING, &kernel_s, "rbf", "linear or rbf", 0, -1, 0},
        {"grid", UTIL_OPT_STRING, &grid_s, "default",
         "'default' or 'C=v,v,..;g=v,v,..' (default linear C=0.01..100; rbf C=0.1..1000 x g={0.01,0.1,0.3,1,3}/dim)", 0, -1, 0},
        {"inner-folds", UTIL_OPT_INT, &n_inner, "3", "inner cross-validation folds for the grid search", 2, 100, 0},
        {"seed", UTIL_OPT_INT, &seed, "1", "seed of the fold assignment", 0, 2147483647, 0},
        {"quiet", UTIL_OPT_FLAG, &quiet, "", "no summary table or progress", 0, -1, 0},
        {"bench-group", UTIL_OPT_STRING, &bench_s, "off",
         "benchmark aid, the work unit of bench/scaling.sh's evaluate ceiling: run only the grid fits of the "
         "(outer fold f, gamma g) group G = f x gammas + g (mid: folds x gammas / 2; or 0..folds x gammas - 1) on "
         "all ranks, no final fits, and write nothing",
         0, -1, 0},
        {"queue-thread", UTIL_OPT_STRING, &thread_s, "on",
         "on: rank 0 answers the work queue in a thread of its own, also while it fits (needs MPI_THREAD_MULTIPLE); off: "
         "between its fits",
         0, -1, 0},
        {"speculate", UTIL_OPT_STRING, &spec_s, "on",
         "on: a rank with no grid fits left runs the final fit of the cell leading a fold whose grid is still running; "
         "used (the same bits) when that cell wins, so the last fold's final fit need not wait for the grid's end; off: "
         "final fits start once their fold's grid is done",
         0, -1, 0},
        {"bench-replay", UTIL_OPT_STRING, &replay_path, "",
         "benchmark aid: replay the schedule of the run whose fits.tsv this is (the same features, grid and folds options) "
         "on these ranks: the queue, kernel-matrix changes and sums as usual, every set-up and fit a sleep of its recorded "
         "seconds (so many ranks run on a few cores); prints the schedule's efficiency and writes only --out's fits.tsv (the replayed schedule), if --out is given",
         0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("evaluate", "k-fold SVM evaluation (LIBSVM C-SVC, grid search over all ranks) of a features.h5 label column.",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    /* --bench-group: off, mid (-1 until the folds are known) or a group number (range checked then) */
    int bench = strcmp(bench_s, "off") != 0;
    long bench_group = -1;
    if (bench && strcmp(bench_s, "mid") && util_parse_long(bench_s, 0, 1000000, &bench_group))
        return util_fail(err, errlen, UTIL_EUSAGE,
                         "evaluate: --bench-group '%s': expected mid or a group number in [0, folds x gammas)", bench_s);
    const int queue_thread = strcmp(thread_s, "off") != 0;
    if (strcmp(thread_s, "on") && strcmp(thread_s, "off"))
        return util_fail(err, errlen, UTIL_EUSAGE, "evaluate: --queue-thread must be on or off, got '%s'", thread_s);
    if (strcmp(spec_s, "on") && strcmp(spec_s, "off"))
        return util_fail(err, errlen, UTIL_EUSAGE, "evaluate: --speculate must be on or off, got '%s'", spec_s);
    if (bench && replay_path)
        return util_fail(err, errlen, UTIL_EUSAGE, "evaluate: --bench-group and --bench-replay exclude each other");
    if (!bench && !replay_path && !out) return util_fail(err, errlen, UTIL_EUSAGE, "evaluate: --out is required (see --help)");
    reduce_svm_kernel kernel;
    if (!strcmp(kernel_s, "linear")) kernel = REDUCE_SVM_LINEAR;
    else if (!strcmp(kernel_s, "rbf")) kernel = REDUCE_SVM_RBF;
    else return util_fail(err, errlen, UTIL_EUSAGE, "evaluate: --kernel must be linear or rbf, got '%s'", kernel_s);
    int rank = mpi_util_rank(comm), P = mpi_util_size(comm);
    double t_start = util_now(), t_stage = t_start, st[EVAL_ST_N] = {0};

    /* --features a[,b,...] and --lda one entry per set */
    char *feat_buf = util_strdup(features), *lda_buf = lda_path ? util_strdup(lda_path) : NULL;
    /* one field more than allowed: a count above EVAL_MAX_SETS means too many */
    char *set_path[EVAL_MAX_SETS + 1], *set_lda[EVAL_MAX_SETS + 1] = {0};
    int S = feat_buf ? util_split_at(feat_buf, ',', set_path, EVAL_MAX_SETS + 1) : -1, n_lda = 0;
    if (S > EVAL_MAX_SETS) S = -1;
    if (S < 0) rc = util_fail(err, errlen, UTIL_EUSAGE, "--features: at most %d comma-separated sets", EVAL_MAX_SETS);
    for (int s = 0; !rc && s < S; s++)
        if (!set_path[s][0]) rc = util_fail(err, errlen, UTIL_EUSAGE, "--features %s: an empty file name", features);
    if (!rc && lda_buf) {
        n_lda = util_split_at(lda_buf, ',', set_lda, EVAL_MAX_SETS + 1);
        if (n_lda != S)
            rc = util_fail(err, errlen, UTIL_EUSAGE,
                           "--lda %s: %d entr%s for %d feature set%s; give one per set, empty for none (e.g. --lda lda.h5,)",
                           lda_path, n_lda, n_lda == 1 ? "y" : "ies", S, S == 1 ? "" : "s");
        for (int s = 0; !rc && s < S; s++)
            if (!set_lda[s][0]) set_lda[s] = NULL;
    }
    if (rc) {
        free(feat_buf);
        free(lda_buf);
        return rc;
    }
    features = set_path[0];
    lda_path = set_lda[0];
    eval_sets sets;
    eval_data e;
    const eval_load_opts lo = {.n_sets = S, .set_path = set_path, .set_lda = set_lda, .label = label,
                               .fold_col = fold_col, .artist_col = artist_col};
    rc = eval_load(&lo, comm, &sets, &e, &st[EVAL_ST_READ], err, errlen);
    char **fc = sets.n_read ? reduce_features_column(&sets.f[0], fold_col) : NULL;
    reduce_svm_cv cv;
    memset(&cv, 0, sizeof cv);

    /* folds */
    if (!rc) {
        const eval_fold_opts fo = {.folds_file = folds_file, .fold_column = fc, .k = k, .n_inner = n_inner, .seed = seed,
                                   .features = features, .fold_col = fold_col, .label = label,
                                   .warn = rank == 0 && !quiet};
        rc = eval_assign_folds(&e, &fo, err, errlen);
    }
    rc = mpi_util_agree(comm, rc, err, errlen);

    st[EVAL_ST_PREPARE] = util_now() - t_start - st[EVAL_ST_READ];
    reduce_svm_grid grid;
    if (!rc) rc = reduce_svm_grid_parse(grid_s, kernel, e.d, &grid, err, errlen);
    if (!rc && bench) { /* the same folds and grid on every rank: every rank decides alike */
        const long groups = (long)e.k * grid.n_g;
        if (bench_group < 0) bench_group = groups / 2;
        else if (bench_group >= groups)
            rc = util_fail(err, errlen, UTIL_EUSAGE,
                           "evaluate: --bench-group %ld is out of range: mid or 0..%ld (%d outer folds x %d gamma%s)",
                           bench_group, groups - 1, e.k, grid.n_g, grid.n_g == 1 ? "" : "s");
    }
    reduce_svm_fit *replay = NULL;
    long n_replay = 0;
    if (!rc && replay_path) /* every rank reads it: a small file, and every rank needs all of it */
        rc = reduce_svm_fits_read(replay_path, &grid, kernel, e.k, e.n_inner, &replay, &n_replay, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) {
        cv.n = e.n;
        cv.d = e.d;
        cv.x = e.x;
        cv.y = e.y;
        cv.n_classes = e.classes.n;
        cv.fold = e.fold;
        cv.k = e.k;
        cv.inner = e.inner;
        cv.n_inner = e.n_inner;
        cv.grid = grid;
        reduce_svm_params_default(&cv.params, kernel);
        cv.progress = !quiet;
        cv.bench = bench;
        cv.bench_group = (int)bench_group;
        cv.replay = replay;
        cv.queue_thread = queue_thread;
        cv.speculate = !strcmp(spec_s, "on");
        cv.n_replay = n_replay;
        rc = reduce_svm_cv_run(&cv, comm, err, errlen);
        memcpy(st + EVAL_ST_SVM, cv.stage_seconds, sizeof cv.stage_seconds);
        if (!rc && rank == 0 && cv.workers < P)
            fprintf(stderr,
                    "evaluate: warning: the SVM grid ran on %d of the %d ranks: a rank's workspace is %.3g MB (kernel and "
                    "Gram matrices of %ld rows, LIBSVM's cache), and each node ran as many as 80%% of its available "
                    "memory holds; the others waited (the results are the same)\n",
                    cv.workers, P, cv.rank_mb, e.n);
    }
    t_stage = util_now();

    /* outputs on rank 0 (a benchmark unit or a replay writes none) */
    if (!rc && bench) {
        print_bench(&cv, e.n, kernel, quiet, comm);
    } else if (!rc && replay) {
        if (!quiet && rank == 0) print_replay(&cv, replay_path, P);
        if (out && rank == 0) { /* the replayed schedule, for a look at who ran what when */
            if (mkdir(out, 0777) && errno != EEXIST) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", out, strerror(errno));
            char path[4096];
            snprintf(path, sizeof path, "%s/fits.tsv", out);
            if (!rc) rc = reduce_svm_fits_write(path, &cv, cv.workers, err, errlen);
        }
    } else if (!rc && rank == 0) {
        if (mkdir(out, 0777) && errno != EEXIST) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", out, strerror(errno));
        if (!rc) rc = eval_write_tables(out, &e, cv.pred, err, errlen);
        char path[4096];
        snprintf(path, sizeof path, "%s/fits.tsv", out);
        if (!rc) rc = reduce_svm_fits_write(path, &cv, cv.workers, err, errlen);
    }
    if (!rc && !bench && !replay && rank == 0) {
        char *cmd = util_join_argv(argc, argv);
        const eval_report rep = {.out = out, .cmdline = cmd, .features = features, .lda = lda_path,
                                 .folds_file = folds_file, .label = label, .artist_col = artist_col, .kernel = kernel_s,
                                 .lda_dim = lda_path ? sets.lda[0].dim_out : 0, .n_sets = S, .set_path = set_path,
                                 .set_lda = set_lda, .set_dim = sets.set_dim, .seed = seed, .ranks = P,
                                 .rows_in_file = sets.f[0].n_total, .skipped = sets.skipped, .unmatched = sets.unmatched,
                                 .seconds_total = util_now() - t_start, .quiet = quiet};
        rc = cmd ? eval_write_results(&rep, &e, &cv, err, errlen) : util_fail(err, errlen, UTIL_EFAIL, "out of memory");
        free(cmd);
    }
    st[EVAL_ST_WRITE] = util_now() - t_stage;
    rc = mpi_util_agree(comm, rc, err, errlen);
    st[EVAL_ST_TOTAL] = util_now() - t_start;
    if (!rc && !quiet) print_stages(st, &cv, comm);
    reduce_svm_cv_free(&cv);
    free(replay);
    eval_data_free(&e);
    eval_sets_free(&sets);
    free(feat_buf);
    free(lda_buf);
    return rc;
}
