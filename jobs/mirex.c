/* mirex.c - `artistnet mirex extract|train|classify`: the MIREX train/test calling convention
 * (Audio Genre / Mood / Artist / Composer classification), which the wrappers in mirex/
 * (extractFeatures.sh, Train.sh, Classify.sh) call:
 *
 *   mirex extract  --scratch DIR --list L     L: one audio path per line (all files of the task)
 *   mirex train    --scratch DIR --list T     T: path<TAB>label per line
 *   mirex classify --scratch DIR --list Q --out O   O gets path<TAB>predicted label, Q's order
 *
 * extract runs the `extract` job (jobs/extract.c, sharded over ranks) on a copy of L with absolute
 * paths, so features are looked up by absolute path later; per-file failures (missing, unreadable,
 * too short) are recorded, not fatal. train looks up the training files' features, optionally
 * projects them with the LDA copied into DIR, standardises on the training set, chooses C (and gamma)
 * by inner cross-validation on the training set (plain stratified inner folds: a MIREX training list
 * carries no artist labels, so the artist filter is impossible here) with the grid search dealt over
 * all ranks (reduce/reduce_svm_model.h), fits LIBSVM C-SVC on all of it and saves the model into DIR.
 * classify predicts every listed file; a file without features (not extracted, or failed) gets the
 * majority training class, and is counted and named on stderr, because MIREX expects a label for
 * every file.
 *
 * Scratch folder DIR:
 *   extract.tsv              manifest, one line per extract run: features file, list, list hash, model,
 *                            model_hash (FNV-1a of the model file, or "baseline"), tracks, failed
 *   extract-<hash>.tsv       the extraction list with absolute paths (hash: FNV-1a of the list file)
 *   features-<hash>.h5       features.h5 of that list (DESIGN.md "Files"; /ids = absolute paths)
 *   lda.h5                   copy of --lda (optional; applied by train and classify)
 *   svm_model.h5, svm.model  the trained model (reduce_svm_model.h)
 *   train_grid.tsv           inner CV accuracy of every (C, gamma)
 *   train_rows.tsv           every training line: path, label, used / why skipped
 *   authors.h5               (wrappers only) the authors' model imported on first use
 * Several extract runs may share a scratch folder (e.g. one per list); a path extracted twice takes
 * the features of the latest run. All runs must use the same model (same model_hash). */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "reduce/reduce_features.h"
#include "reduce/reduce_lda.h"
#include "reduce/reduce_svm.h"
#include "reduce/reduce_svm_model.h"
#include "mirex/scratch.h"
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MX_SHOW 5 /* failures named one by one on stderr */

/* ---- files ---- */

static int mx_file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int mx_copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    FILE *a = fopen(from, "rb");
    if (!a) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", from, strerror(errno));
    FILE *b = fopen(to, "wb");
    if (!b) {
        fclose(a);
        return util_fail(err, errlen, UTIL_EFAIL, "%s: %s", to, strerror(errno));
    }
    char buf[65536];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n) bad = 1;
    bad |= ferror(a) != 0;
    fclose(a);
    bad |= fclose(b) != 0;
    return bad ? util_fail(err, errlen, UTIL_EFAIL, "copying %s to %s failed", from, to) : UTIL_OK;
}

/* ---- mirex extract ---- */

static int mx_extract(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *dir = NULL, *list = NULL, *model = NULL, *lda = NULL;
    int baseline = 0, K = 10, batch = 64, quiet = 0, resume = 0, round = 0;
    util_opt opts[] = {
        {"scratch", UTIL_OPT_STRING, &dir, "", "MIREX scratch folder (created if missing)", 0, -1, 1},
        {"list", UTIL_OPT_STRING, &list, "", "feature extraction list: one audio path per line", 0, -1, 1},
        {"model", UTIL_OPT_STRING, &model, "", "model.h5 (default: $ARTISTNET_MODEL)", 0, -1, 0},
        {"baseline", UTIL_OPT_FLAG, &baseline, "", "log-mel mean/std baseline features instead of a model", 0, -1, 0},
        {"lda", UTIL_OPT_STRING, &lda, "", "lda.h5 to apply before the SVM (copied into the scratch folder)", 0, -1, 0},
        {"segments", UTIL_OPT_INT, &K, "10", "at most K 129-frame segments per clip", 1, 1000, 0},
        {"batch", UTIL_OPT_INT, &batch, "64", "segments per forward pass", 1, 1 << 20, 0},
        {"round", UTIL_OPT_INT, &round, "0", "groups of tracks per round, all ranks (0: extract's default)", 0, 1 << 20, 0},
        {"resume", UTIL_OPT_FLAG, &resume, "",
         "continue an interrupted extraction of the same list (same model and options); a finished one is kept", 0, -1, 0},
        {"quiet", UTIL_OPT_FLAG, &quiet, "", "no progress lines and no summary", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("mirex extract",
                             "MIREX extractFeatures.sh: features of every listed file into the scratch folder "
                             "(failed files are recorded; classify gives them the majority class).",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    if (!model && !baseline) model = getenv("ARTISTNET_MODEL");
    if (model && !model[0]) model = NULL;
    if (model && baseline) return util_fail(err, errlen, UTIL_EUSAGE, "mirex extract: --model and --baseline exclude each other");
    if (!model && !baseline)
        return util_fail(err, errlen, UTIL_EUSAGE, "mirex extract: needs --model model.h5, $ARTISTNET_MODEL or --baseline");
    int rank = mpi_util_rank(comm);

    if (rank == 0 && mkdir(dir, 0777) && errno != EEXIST)
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", dir, strerror(errno));
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) return rc;
    shard_list l;
    rc = shard_list_load(list, &l, err, errlen);
    if (rc) return mpi_util_agree(comm, rc, err, errlen); /* every rank read the same file */
    char hash[17], dlist[MIREX_PATH + 64], feat[32], fpath[MIREX_PATH + 64];
    snprintf(hash, sizeof hash, "%016" PRIx64, l.hash);
    snprintf(dlist, sizeof dlist, "%s/extract-%s.tsv", dir, hash);
    snprintf(feat, sizeof feat, "features-%s.h5", hash);
    snprintf(fpath, sizeof fpath, "%s/%s", dir, feat);
    if (rank == 0) {
        FILE *f = fopen(dlist, "w");
        if (!f) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", dlist, strerror(errno));
        else {
            fputs("path\n", f);
            for (size_t i = 0; i < l.n; i++) {
                char *c = mirex_canon(l.paths[i]);
                fprintf(f, "%s\n", c ? c : l.paths[i]);
                free(c);
            }
            if (fclose(f)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", dlist);
        }
        if (!rc && lda) {
            char p[MIREX_PATH + 16];
            snprintf(p, sizeof p, "%s/lda.h5", dir);
            reduce_lda_model m;
            rc = reduce_lda_load(&m, lda, err, errlen);
            reduce_lda_model_free(&m);
            if (!rc) rc = mx_copy_file(lda, p, err, errlen);
        }
    }
    size_t n_list = l.n;
    shard_list_free(&l);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) return rc;

    /* the features' identity: the model file's checksum, so train/classify can refuse a mix */
    char model_id[40] = "baseline";
    if (!baseline) {
        uint64_t mh = 0;
        rc = util_file_hash(model, &mh, err, errlen);
        snprintf(model_id, sizeof model_id, "fnv1a64:%016" PRIx64, mh);
        rc = mpi_util_agree(comm, rc == 0 ? 0 : UTIL_EINPUT, err, errlen);
        if (rc) return rc;
    }
    char k[16], b[16], rd[16];
    snprintf(k, sizeof k, "%d", K);
    snprintf(b, sizeof b, "%d", batch);
    snprintf(rd, sizeof rd, "%d", round);
    char *a[16];
    int n = 0;
    a[n++] = "extract";
    if (baseline) a[n++] = "--baseline";
    else a[n++] = "--model", a[n++] = (char *)model;
    a[n++] = "--list", a[n++] = dlist, a[n++] = "--out", a[n++] = fpath;
    a[n++] = "--segments", a[n++] = k, a[n++] = "--batch", a[n++] = b;
    if (round) a[n++] = "--round", a[n++] = rd;
    if (resume) a[n++] = "--resume";
    if (quiet) a[n++] = "--quiet";
    a[n] = NULL;
    rc = job_extract_main(n, a, comm, err, errlen);
    if (rc) return rc;

    /* failures: counted and named; the manifest line makes the features visible to train/classify */
    reduce_features f;
    const char *cols[1] = {"errors"};
    const int opt[1] = {1};
    rc = reduce_features_read(fpath, comm, REDUCE_READ_ALL, cols, opt, 1, &f, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) return rc;
    if (rank == 0) {
        long failed = 0;
        char **ids = reduce_features_column(&f, "ids"), **errs = reduce_features_column(&f, "errors");
        for (long i = 0; i < f.n; i++)
            if (f.status[i] != 0) {
                if (failed < MX_SHOW)
                    fprintf(stderr, "mirex extract: failed: %s: %s\n", ids[i], errs && errs[i][0] ? errs[i] : "(no message)");
                failed++;
            }
        if (failed > MX_SHOW) fprintf(stderr, "mirex extract: ... and %ld more failed files\n", failed - MX_SHOW);
        char man[MIREX_PATH + 32];
        snprintf(man, sizeof man, "%s/extract.tsv", dir);
        int fresh = !mx_file_exists(man);
        FILE *m = fopen(man, "a");
        if (!m) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", man, strerror(errno));
        else {
            if (fresh) fputs("features\tlist\tlist_hash\tmodel\tmodel_hash\ttracks\tfailed\n", m);
            fprintf(m, "%s\t%s\t%s\t%s\t%s\t%zu\t%ld\n", feat, list, hash, baseline ? "baseline" : model, model_id, n_list,
                    failed);
            if (fclose(m)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", man);
        }
        if (!rc && !quiet)
            printf("mirex extract: %zu files, %ld failed (they get the majority class at classify time) -> %s\n", n_list, failed,
                   fpath);
    }
    reduce_features_free(&f);
    return mpi_util_agree(comm, rc, err, errlen);
}

/* ---- mirex train ---- */

static int mx_train(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *dir = NULL, *list = NULL, *kernel_s = NULL, *grid_s = NULL;
    int n_inner = 3, seed = 1, quiet = 0;
    util_opt opts[] = {
        {"scratch", UTIL_OPT_STRING, &dir, "", "MIREX scratch folder of `mirex extract`", 0, -1, 1},
        {"list", UTIL_OPT_STRING, &list, "", "training list: path<TAB>label per line", 0, -1, 1},
        {"kernel", UTIL_OPT_STRING, &kernel_s, "rbf", "linear or rbf", 0, -1, 0},
        {"grid", UTIL_OPT_STRING, &grid_s, "default",
         "'default' or 'C=v,v,..;g=v,v,..' (default linear C=0.01..100; rbf C=0.1..1000 x g={0.01,0.1,0.3,1,3}/dim)", 0, -1, 0},
        {"inner-folds", UTIL_OPT_INT, &n_inner, "3", "stratified cross-validation folds for the grid search", 2, 100, 0},
        {"seed", UTIL_OPT_INT, &seed, "1", "seed of the inner fold assignment", 0, 2147483647, 0},
        {"quiet", UTIL_OPT_FLAG, &quiet, "", "no progress lines and no summary", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("mirex train",
                             "MIREX Train.sh: standardise, grid search by inner cross-validation (over all ranks), "
                             "fit LIBSVM C-SVC, save the model into the scratch folder.",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    reduce_svm_kernel kernel;
    if (!strcmp(kernel_s, "linear")) kernel = REDUCE_SVM_LINEAR;
    else if (!strcmp(kernel_s, "rbf")) kernel = REDUCE_SVM_RBF;
    else return util_fail(err, errlen, UTIL_EUSAGE, "mirex train: --kernel must be linear or rbf, got '%s'", kernel_s);
    int rank = mpi_util_rank(comm);
    double t0 = util_now();

    /* the list: every line needs a label */
    shard_list l;
    rc = shard_list_load(list, &l, err, errlen);
    int lc = rc ? -1 : shard_list_column(&l, "label");
    if (!rc && lc < 0) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: a training list needs path<TAB>label on every line (no label found)",
                       list, l.n ? l.lines[0] : 1);
        shard_list_free(&l);
    }
    for (size_t i = 0; !rc && i < l.n; i++)
        if (!shard_list_cell(&l, i, lc)[0]) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: empty label", list, l.lines[i]);
            shard_list_free(&l);
        }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) return rc;

    mirex_index ix;
    rc = mirex_index_load(dir, comm, &ix, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) {
        shard_list_free(&l);
        return rc;
    }
    reduce_lda_model lda;
    memset(&lda, 0, sizeof lda);
    uint64_t lda_hash = 0;
    char lda_p[MIREX_PATH + 16];
    snprintf(lda_p, sizeof lda_p, "%s/lda.h5", dir);
    int use_lda = mx_file_exists(lda_p);
    if (use_lda) rc = mirex_lda_load(dir, ix.dim, &lda, &lda_hash, err, errlen);

    /* rows with features */
    long n = 0, counts[4] = {0};
    float *xf = malloc(l.n * (size_t)ix.dim * sizeof *xf + 1);
    const char **labs = malloc(l.n * sizeof *labs + 1);
    mirex_found *found = malloc(l.n * sizeof *found + 1);
    const char **why = malloc(l.n * sizeof *why + 1);
    if (!rc && (!xf || !labs || !found || !why)) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    for (size_t i = 0; i < l.n && !rc; i++) {
        char *c = mirex_canon(l.paths[i]);
        const float *x = NULL;
        found[i] = c ? mirex_lookup(&ix, c, &x, &why[i]) : MIREX_MISSING;
        free(c);
        counts[found[i]]++;
        if (found[i] == MIREX_OK) {
            memcpy(xf + (size_t)n * ix.dim, x, (size_t)ix.dim * sizeof *xf);
            labs[n++] = shard_list_cell(&l, i, lc);
        }
    }
    if (!rc && n < 2) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: %ld of %zu training files have features; need >= 2", list, n, l.n);

    shard_labels classes;
    memset(&classes, 0, sizeof classes);
    int *y = malloc((size_t)n * sizeof *y + 1), *inner = malloc((size_t)n * sizeof *inner + 1);
    if (!rc && (!y || !inner)) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    if (!rc) rc = shard_labels_make(labs, (size_t)n, &classes, err, errlen);
    if (!rc && classes.n < 2)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: the training files with features have %d class; need >= 2", list, classes.n);
    if (!rc && n < n_inner)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: %ld training files with features, fewer than --inner-folds %d", list, n, n_inner);
    if (!rc) {
        for (long i = 0; i < n; i++) y[i] = classes.index[i];
        rc = shard_folds_assign(NULL, y, (size_t)n, n_inner, (uint64_t)seed, SHARD_FOLDS_EVALUATE, inner, err, errlen);
    }
    int d = 0;
    double *x = NULL;
    if (!rc && !(x = mirex_project(xf, n, ix.dim, use_lda ? &lda : NULL, &d))) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    rc = mpi_util_agree(comm, rc, err, errlen);

    reduce_svm_grid grid;
    reduce_svm_params params;
    reduce_svm_params_default(&params, kernel);
    if (!rc) rc = reduce_svm_grid_parse(grid_s, kernel, d, &grid, err, errlen);
    int cells = rc ? 0 : grid.n_c * grid.n_g, best = 0;
    double *acc = malloc((size_t)cells * sizeof *acc + 1);
    const double t_grid = util_now();
    if (!rc)
        rc = reduce_svm_model_search(x, n, d, y, classes.n, inner, n_inner, &grid, &params, !quiet, comm, acc, &best, err, errlen);
    const double t_fit = util_now();

    /* final fit and files: rank 0 (LIBSVM is deterministic: the same model for any rank count) */
    if (!rc && rank == 0) {
        reduce_svm_model m;
        double C = grid.c[best / grid.n_g], gamma = grid.g[best % grid.n_g];
        rc = reduce_svm_model_fit(x, n, d, y, classes.n, classes.names, &params, C, gamma, &m, err, errlen);
        const double fit_s = util_now() - t_fit;
        if (!rc) {
            m.inner_accuracy = acc[best];
            m.inner_folds = n_inner;
            if (reduce_svm_model_set_info(&m, use_lda ? "lda.h5" : "", lda_hash, ix.model))
                rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
            char *cmd = util_join_argv(argc, argv);
            if (!rc) rc = reduce_svm_model_save(&m, dir, cmd ? cmd : "mirex train", err, errlen);
            free(cmd);
            reduce_svm_model_free(&m);
        }
        char p[MIREX_PATH + 32];
        snprintf(p, sizeof p, "%s/train_grid.tsv", dir);
        FILE *g = rc ? NULL : fopen(p, "w");
        if (!rc && !g) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", p, strerror(errno));
        if (g) {
            fprintf(g, "C\tgamma\tinner_accuracy\tchosen\n");
            for (int c = 0; c < cells; c++)
                fprintf(g, "%.10g\t%.10g\t%.10g\t%d\n", grid.c[c / grid.n_g], kernel == REDUCE_SVM_RBF ? grid.g[c % grid.n_g] : 0,
                        acc[c], c == best);
            if (fclose(g)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", p);
        }
        snprintf(p, sizeof p, "%s/train_rows.tsv", dir);
        FILE *r = rc ? NULL : fopen(p, "w");
        if (!rc && !r) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", p, strerror(errno));
        if (r) {
            fprintf(r, "path\tlabel\tstatus\terror\n");
            for (size_t i = 0; i < l.n; i++)
                fprintf(r, "%s\t%s\t%s\t%s\n", l.raw_paths[i], shard_list_cell(&l, i, lc), mirex_found_names[found[i]], why[i]);
            if (fclose(r)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", p);
        }
        long skipped = (long)l.n - n;
        if (!rc && skipped) {
            fprintf(stderr, "mirex train: %ld of %zu training files skipped (%ld not extracted, %ld extraction failed, %ld non-finite); see %s\n",
                    skipped, l.n, counts[MIREX_MISSING], counts[MIREX_FAILED], counts[MIREX_NONFINITE], p);
            long shown = 0;
            for (size_t i = 0; i < l.n && shown < MX_SHOW; i++)
                if (found[i] != MIREX_OK) {
                    fprintf(stderr, "mirex train: skipped %s: %s%s%s\n", l.raw_paths[i], mirex_found_names[found[i]], why[i][0] ? ": " : "", why[i]);
                    shown++;
                }
        }
        if (!rc && !quiet) {
            printf("mirex train: %ld files, %d classes, %d-d%s, %s kernel, %d-fold stratified inner CV (no artist filter: "
                   "the list has no artists): C %g",
                   n, classes.n, d, use_lda ? " (LDA)" : "", kernel_s, n_inner, grid.c[best / grid.n_g]);
            if (kernel == REDUCE_SVM_RBF) printf(", gamma %g", grid.g[best % grid.n_g]);
            printf(", inner accuracy %.4f; %.1f s (grid search %.2f s on %d rank%s, final fit %.2f s) -> %s/svm_model.h5, "
                   "svm.model\n", acc[best], util_now() - t0, t_fit - t_grid, mpi_util_size(comm), mpi_util_size(comm) > 1 ? "s" : "",
                   fit_s, dir);
        }
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    free(acc);
    free(x);
    free(y);
    free(inner);
    free(xf);
    free(labs);
    free(found);
    free(why);
    shard_labels_free(&classes);
    reduce_lda_model_free(&lda);
    mirex_index_free(&ix);
    shard_list_free(&l);
    return rc;
}

/* ---- mirex classify ---- */

static int mx_classify(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *dir = NULL, *list = NULL, *out = NULL;
    int quiet = 0;
    util_opt opts[] = {
        {"scratch", UTIL_OPT_STRING, &dir, "", "MIREX scratch folder (extracted and trained)", 0, -1, 1},
        {"list", UTIL_OPT_STRING, &list, "", "test list: one path per line (a label column is ignored)", 0, -1, 1},
        {"out", UTIL_OPT_STRING, &out, "", "output: path<TAB>predicted label per line, the list's order", 0, -1, 1},
        {"quiet", UTIL_OPT_FLAG, &quiet, "", "no summary", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("mirex classify",
                             "MIREX Classify.sh: predict every listed file with the trained model (files without "
                             "features get the majority training class).",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    int rank = mpi_util_rank(comm), P = mpi_util_size(comm);

    shard_list l;
    rc = shard_list_load(list, &l, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) return rc;
    reduce_svm_model m;
    rc = reduce_svm_model_load(&m, dir, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) {
        shard_list_free(&l);
        return rc;
    }
    mirex_index ix;
    rc = mirex_index_load(dir, comm, &ix, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) {
        reduce_svm_model_free(&m);
        shard_list_free(&l);
        return rc;
    }
    reduce_lda_model lda;
    memset(&lda, 0, sizeof lda);
    int use_lda = m.lda[0] != 0;
    if (use_lda) {
        uint64_t h = 0;
        rc = mirex_lda_load(dir, ix.dim, &lda, &h, err, errlen);
        if (!rc && h != m.lda_hash)
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s/lda.h5 changed since `mirex train` (checksum differs): train again", dir);
    }
    if (!rc && strcmp(m.feature_model, ix.model))
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: the model was trained on features of '%s', the scratch folder holds '%s'", dir,
                       m.feature_model, ix.model);
    if (!rc && (use_lda ? lda.dim_out : ix.dim) != m.d)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s/svm_model.h5: %d-d, the features are %d-d", dir, m.d, use_lda ? lda.dim_out : ix.dim);
    rc = mpi_util_agree(comm, rc, err, errlen);

    /* this rank's block of rows; rows without features keep -1 here and get the majority class */
    size_t lo = 0, hi = 0;
    shard_range(l.n, rank, P, &lo, &hi);
    int *pred = malloc(l.n * sizeof *pred + 1);
    signed char *st = calloc(l.n + 1, 1);
    float *xf = malloc((hi - lo) * (size_t)ix.dim * sizeof *xf + 1);
    long *rows = malloc((hi - lo) * sizeof *rows + 1);
    if (!rc && (!pred || !st || !xf || !rows)) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    long nm = 0;
    for (size_t i = 0; !rc && i < l.n; i++) pred[i] = -1;
    for (size_t i = lo; !rc && i < hi; i++) {
        char *c = mirex_canon(l.paths[i]);
        const float *x = NULL;
        const char *why = NULL;
        mirex_found fd = c ? mirex_lookup(&ix, c, &x, &why) : MIREX_MISSING;
        free(c);
        st[i] = (signed char)fd;
        if (fd == MIREX_OK) {
            memcpy(xf + (size_t)nm * ix.dim, x, (size_t)ix.dim * sizeof *xf);
            rows[nm++] = (long)i;
        }
    }
    int d = 0;
    double *x = NULL;
    int *p = malloc((size_t)nm * sizeof *p + 1);
    if (!rc && (!(x = mirex_project(xf, nm, ix.dim, use_lda ? &lda : NULL, &d)) || !p)) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    if (!rc) {
        reduce_svm_model_predict(&m, x, nm, p);
        for (long r = 0; r < nm; r++) pred[rows[r]] = p[r];
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc && l.n) {
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, pred, (int)l.n, MPI_INT, MPI_MAX, comm));
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, st, (int)l.n, MPI_SIGNED_CHAR, MPI_MAX, comm));
    }
    rc = mpi_util_agree(comm, rc, err, errlen);

    if (!rc && rank == 0) {
        char tmp[MIREX_PATH + 16];
        snprintf(tmp, sizeof tmp, "%s.tmp", out);
        FILE *f = fopen(tmp, "w");
        long fallback = 0, shown = 0;
        if (!f) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", tmp, strerror(errno));
        for (size_t i = 0; f && i < l.n; i++) {
            int c = pred[i];
            if (c < 0 || c >= m.n_classes) {
                c = m.majority;
                if (shown++ < MX_SHOW)
                    fprintf(stderr, "mirex classify: %s: %s, majority class '%s'\n", l.raw_paths[i], mirex_found_names[st[i]],
                            m.classes[c]);
                fallback++;
            }
            fprintf(f, "%s\t%s\n", l.raw_paths[i], m.classes[c]);
        }
        if (f && fclose(f)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", tmp);
        if (!rc && rename(tmp, out)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", out, strerror(errno));
        if (!rc && fallback > MX_SHOW) fprintf(stderr, "mirex classify: ... %ld files in all without features\n", fallback);
        if (!rc && !quiet)
            printf("mirex classify: %zu files, %zu predicted, %ld without features -> majority class '%s'; wrote %s\n", l.n,
                   l.n - (size_t)fallback, fallback, m.classes[m.majority], out);
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    free(pred);
    free(st);
    free(xf);
    free(rows);
    free(x);
    free(p);
    reduce_lda_model_free(&lda);
    mirex_index_free(&ix);
    reduce_svm_model_free(&m);
    shard_list_free(&l);
    return rc;
}

static void mx_usage(FILE *f)
{
    fprintf(f, "usage: [mpirun -n N] artistnet mirex ACTION [options]   (artistnet mirex ACTION --help)\n\n"
               "The MIREX train/test calling convention (wrappers: mirex/extractFeatures.sh, Train.sh, Classify.sh).\n\n"
               "actions:\n"
               "  extract    --scratch DIR --list L [--model M | --baseline] [--lda lda.h5]   features of every file in L\n"
               "  train      --scratch DIR --list T [--kernel rbf|linear --grid default --inner-folds 3 --seed 1]\n"
               "             T: path<TAB>label lines; grid search by inner CV over all ranks, LIBSVM C-SVC\n"
               "  classify   --scratch DIR --list Q --out O   O: path<TAB>predicted label, in Q's order\n");
}

int job_mirex_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        if (mpi_util_rank(comm) == 0) mx_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? util_fail(err, errlen, UTIL_EUSAGE, "mirex: needs an action: extract, train or classify") : UTIL_HELP;
    }
    if (!strcmp(argv[1], "extract")) return mx_extract(argc - 1, argv + 1, comm, err, errlen);
    if (!strcmp(argv[1], "train")) return mx_train(argc - 1, argv + 1, comm, err, errlen);
    if (!strcmp(argv[1], "classify")) return mx_classify(argc - 1, argv + 1, comm, err, errlen);
    return util_fail(err, errlen, UTIL_EUSAGE, "mirex: unknown action '%s' (extract, train or classify)", argv[1]);
}
