/* pipeline.c - `artistnet pipeline`: the whole method as one MPI job, or one stage of it (Slurm):
 *
 *   mel (train list -> mels.h5) -> train (model.h5) -> extract-train (train_features.h5, from mels.h5)
 *   -> lda (lda.h5, artist labels) ; extract-task (task_features.h5 + log-mel baseline
 *   [+ pretrained-model features]) -> evaluate (SVM cross-validation per label column and feature set)
 *
 * Each stage calls the subcommand's job function with the arguments below, so a stage run here is
 * exactly `artistnet <sub> ...`. Skipping and resuming: DIR/pipeline.state records, per stage, an
 * identity (FNV-1a over the stage's parameters and the identities of the stages it reads, the
 * lists' contents at the root) and whether it finished. A stage whose identity is recorded as done
 * and whose outputs exist is skipped; one recorded as started with the same identity is resumed
 * (--resume); one whose inputs changed starts again from scratch. So rerunning after any failure
 * (or a Slurm requeue) continues, and changing e.g. --epochs reruns train and what follows it.
 * Per-stage times go to DIR/pipeline.tsv, a summary to stdout (rank 0).
 */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ST_MEL, ST_TRAIN, ST_XTRAIN, ST_XTASK, ST_LDA, ST_EVAL, ST_N };
static const char *const stage_names[ST_N] = {"mel", "train", "extract-train", "extract-task", "lda", "evaluate"};

#define PATH_LEN 4096
#define MAX_LABELS 8

typedef struct {
    const char *train_list, *task_list, *labels, *out, *stage, *pretrained, *artist_col;
    int epochs, batch, seed, segments, folds, lda_dim, quiet, resume, check, no_baseline, patience;
    double lr;
    const char *kernel;
    char label[MAX_LABELS][128];
    int n_labels;
    char path[ST_N][PATH_LEN];  /* main output of each stage */
    char task_base[PATH_LEN], task_pre[PATH_LEN], curves[PATH_LEN], eval_dir[PATH_LEN];
    uint64_t id[ST_N];
    double seconds[ST_N];
    int ran[ST_N];
    MPI_Comm comm;
    int rank;
} pipe_ctx;

/* ---- identities and the state file ---- */
static uint64_t h_str(uint64_t h, const char *s) { return util_fnv1a(h, s ? s : "", strlen(s ? s : "") + 1); }
static uint64_t h_int(uint64_t h, long long v) { return util_fnv1a(h, &v, sizeof v); }
static uint64_t h_dbl(uint64_t h, double v) { return util_fnv1a(h, &v, sizeof v); }

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int identities(pipe_ctx *c, char *err, size_t errlen)
{
    uint64_t train_list = 0, task_list = 0, pre = 0;
    int rc = util_file_hash(c->train_list, &train_list, err, errlen);
    if (!rc) rc = util_file_hash(c->task_list, &task_list, err, errlen);
    if (!rc && c->pretrained) rc = util_file_hash(c->pretrained, &pre, err, errlen);
    if (rc) return rc;
    uint64_t h = h_str(UTIL_FNV_INIT, "mel");
    h = h_int(h_int(h, (long long)train_list), c->segments);
    c->id[ST_MEL] = h;
    h = h_str(h_int(UTIL_FNV_INIT, (long long)c->id[ST_MEL]), "train");
    h = h_int(h_int(h_int(h_int(h, c->epochs), c->batch), c->seed), c->patience);
    c->id[ST_TRAIN] = h_dbl(h, c->lr);
    c->id[ST_XTRAIN] = h_str(h_int(h_int(UTIL_FNV_INIT, (long long)c->id[ST_TRAIN]), (long long)c->id[ST_MEL]),
                             "extract-train");
    h = h_str(h_int(UTIL_FNV_INIT, (long long)c->id[ST_TRAIN]), "extract-task");
    h = h_int(h_int(h_int(h_int(h, (long long)task_list), c->segments), c->no_baseline), (long long)pre);
    c->id[ST_XTASK] = h;
    c->id[ST_LDA] = h_int(h_str(h_int(UTIL_FNV_INIT, (long long)c->id[ST_XTRAIN]), "lda"), c->lda_dim);
    h = h_str(h_int(h_int(UTIL_FNV_INIT, (long long)c->id[ST_XTASK]), (long long)c->id[ST_LDA]), "evaluate");
    h = h_str(h_str(h_int(h_int(h_str(h, c->labels), c->folds), c->seed), c->kernel), c->artist_col);
    c->id[ST_EVAL] = h;
    return UTIL_OK;
}

/* state of a stage in DIR/pipeline.state: 0 none/other identity, 1 started, 2 done (last line wins);
 * *seconds (may be NULL) gets the recorded run time of a done stage */
static int state_get_time(const pipe_ctx *c, int s, double *seconds)
{
    char p[PATH_LEN + 32];
    snprintf(p, sizeof p, "%s/pipeline.state", c->out);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    char line[512], name[64], what[16];
    unsigned long long id;
    double secs = 0;
    int st = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%63s %llx %15s %lf", name, &id, what, &secs) == 4 && !strcmp(name, stage_names[s])) {
            st = id != c->id[s] ? 0 : !strcmp(what, "done") ? 2 : 1;
            if (seconds) *seconds = st == 2 ? secs : 0;
        }
    fclose(f);
    return st;
}

static int state_get(const pipe_ctx *c, int s) { return state_get_time(c, s, NULL); }

static int state_put(const pipe_ctx *c, int s, const char *what, char *err, size_t errlen)
{
    if (c->rank != 0) return UTIL_OK;
    char p[PATH_LEN + 32];
    snprintf(p, sizeof p, "%s/pipeline.state", c->out);
    FILE *f = fopen(p, "a");
    if (!f) return util_fail(err, errlen, UTIL_EFAIL, "%s: %s", p, strerror(errno));
    fprintf(f, "%s %016llx %s %.3f\n", stage_names[s], (unsigned long long)c->id[s], what, c->seconds[s]);
    int bad = fclose(f) != 0;
    return bad ? util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", p) : UTIL_OK;
}

/* ---- running one subcommand ---- */
typedef struct {
    char *v[64];
    int n;
} args;

static void arg(args *a, const char *s)
{
    if (a->n < 63) a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

static int run_job(pipe_ctx *c, int (*fn)(int, char **, MPI_Comm, char *, size_t), args *a, char *err,
                   size_t errlen)
{
    if (c->quiet) arg(a, "--quiet");
    if (c->rank == 0 && !c->quiet) {
        fprintf(stderr, "pipeline: artistnet");
        for (int i = 0; i < a->n; i++) fprintf(stderr, " %s", a->v[i]);
        fputc('\n', stderr);
    }
    int rc = fn(a->n, a->v, c->comm, err, errlen);
    return rc == UTIL_HELP ? UTIL_OK : rc;
}

static void remove_outputs(pipe_ctx *c, int s)
{
    if (c->rank != 0) return;
    char p[PATH_LEN + 64];
    switch (s) {
    case ST_TRAIN:
        unlink(c->path[s]);
        snprintf(p, sizeof p, "%s.ckpt", c->path[s]);
        unlink(p);
        unlink(c->curves);
        break;
    case ST_XTASK:
        unlink(c->path[s]);
        unlink(c->task_base);
        unlink(c->task_pre);
        break;
    case ST_EVAL:
        break; /* evaluate rewrites its folders */
    default:
        unlink(c->path[s]);
    }
}

static int stage_mel(pipe_ctx *c, int resume, char *err, size_t errlen)
{
    char k[16];
    snprintf(k, sizeof k, "%d", c->segments);
    args a = {{0}, 0};
    arg(&a, "mel"); arg(&a, "--list"); arg(&a, c->train_list); arg(&a, "--out"); arg(&a, c->path[ST_MEL]);
    arg(&a, "--segments"); arg(&a, k);
    if (resume) arg(&a, "--resume");
    return run_job(c, job_mel_main, &a, err, errlen);
}

static int stage_train(pipe_ctx *c, int resume, char *err, size_t errlen)
{
    char e[16], b[16], s[16], l[32], p[16];
    snprintf(e, sizeof e, "%d", c->epochs);
    snprintf(b, sizeof b, "%d", c->batch);
    snprintf(s, sizeof s, "%d", c->seed);
    snprintf(l, sizeof l, "%.17g", c->lr);
    snprintf(p, sizeof p, "%d", c->patience);
    args a = {{0}, 0};
    arg(&a, "train"); arg(&a, "--mels"); arg(&a, c->path[ST_MEL]); arg(&a, "--out"); arg(&a, c->path[ST_TRAIN]);
    arg(&a, "--epochs"); arg(&a, e); arg(&a, "--batch"); arg(&a, b); arg(&a, "--seed"); arg(&a, s);
    arg(&a, "--lr"); arg(&a, l); arg(&a, "--patience"); arg(&a, p); arg(&a, "--log"); arg(&a, c->curves);
    if (resume) arg(&a, "--resume");
    return run_job(c, job_train_main, &a, err, errlen);
}

static int extract_one(pipe_ctx *c, const char *model, const char *list, const char *mels, const char *out,
                       int resume, char *err, size_t errlen)
{
    char k[16];
    snprintf(k, sizeof k, "%d", c->segments);
    args a = {{0}, 0};
    arg(&a, "extract");
    if (model) { arg(&a, "--model"); arg(&a, model); } else arg(&a, "--baseline");
    arg(&a, "--list"); arg(&a, list); arg(&a, "--out"); arg(&a, out); arg(&a, "--segments"); arg(&a, k);
    if (mels) { arg(&a, "--from-mels"); arg(&a, mels); }
    if (resume && file_exists(out)) arg(&a, "--resume");
    return run_job(c, job_extract_main, &a, err, errlen);
}

static int stage_xtrain(pipe_ctx *c, int resume, char *err, size_t errlen)
{
    return extract_one(c, c->path[ST_TRAIN], c->train_list, c->path[ST_MEL], c->path[ST_XTRAIN], resume, err, errlen);
}

static int stage_xtask(pipe_ctx *c, int resume, char *err, size_t errlen)
{
    int rc = extract_one(c, c->path[ST_TRAIN], c->task_list, NULL, c->path[ST_XTASK], resume, err, errlen);
    if (!rc && !c->no_baseline) rc = extract_one(c, NULL, c->task_list, NULL, c->task_base, resume, err, errlen);
    if (!rc && c->pretrained)
        rc = extract_one(c, c->pretrained, c->task_list, NULL, c->task_pre, resume, err, errlen);
    return rc;
}

static int stage_lda(pipe_ctx *c, int resume, char *err, size_t errlen)
{
    char d[16];
    snprintf(d, sizeof d, "%d", c->lda_dim);
    args a = {{0}, 0};
    arg(&a, "lda"); arg(&a, "--features"); arg(&a, c->path[ST_XTRAIN]); arg(&a, "--out"); arg(&a, c->path[ST_LDA]);
    arg(&a, "--label-column"); arg(&a, "artist"); arg(&a, "--dim"); arg(&a, d);
    return run_job(c, job_lda_main, &a, err, errlen);
}

/* feature sets compared by the evaluate stage: folder name, features file, lda file */
static int eval_sets(const pipe_ctx *c, const char *names[4], const char *files[4], const char *ldas[4])
{
    int n = 0;
    names[n] = "dcnn", files[n] = c->path[ST_XTASK], ldas[n++] = NULL;
    names[n] = "dcnn-lda", files[n] = c->path[ST_XTASK], ldas[n++] = c->path[ST_LDA];
    if (!c->no_baseline) names[n] = "logmel-baseline", files[n] = c->task_base, ldas[n++] = NULL;
    if (c->pretrained) names[n] = "pretrained", files[n] = c->task_pre, ldas[n++] = NULL;
    return n;
}

static int stage_eval(pipe_ctx *c, int resume, char *err, size_t errlen)
{
    const char *names[4], *files[4], *ldas[4];
    int n = eval_sets(c, names, files, ldas);
    char f[16], s[16];
    snprintf(f, sizeof f, "%d", c->folds);
    snprintf(s, sizeof s, "%d", c->seed);
    for (int l = 0; l < c->n_labels; l++)
        for (int i = 0; i < n; i++) {
            char dir[PATH_LEN + 300];
            snprintf(dir, sizeof dir, "%s/%s/%s", c->eval_dir, c->label[l], names[i]);
            args a = {{0}, 0};
            arg(&a, "evaluate"); arg(&a, "--features"); arg(&a, files[i]); arg(&a, "--out"); arg(&a, dir);
            arg(&a, "--label-column"); arg(&a, c->label[l]); arg(&a, "--folds"); arg(&a, f);
            arg(&a, "--seed"); arg(&a, s); arg(&a, "--kernel"); arg(&a, c->kernel);
            arg(&a, "--artist-column"); arg(&a, c->artist_col);
            if (ldas[i]) { arg(&a, "--lda"); arg(&a, ldas[i]); }
            int rc = run_job(c, job_evaluate_main, &a, err, errlen);
            if (rc) return rc;
        }
    return UTIL_OK;
}

typedef int (*stage_fn)(pipe_ctx *, int, char *, size_t);
static const stage_fn stage_fns[ST_N] = {stage_mel, stage_train, stage_xtrain, stage_xtask, stage_lda, stage_eval};

/* inputs a stage reads, produced by earlier stages */
static int stage_inputs_ok(const pipe_ctx *c, int s, char *err, size_t errlen)
{
    static const int deps[ST_N][2] = {{-1, -1}, {ST_MEL, -1}, {ST_TRAIN, ST_MEL}, {ST_TRAIN, -1},
                                      {ST_XTRAIN, -1}, {ST_XTASK, ST_LDA}};
    for (int i = 0; i < 2; i++) {
        int d = deps[s][i];
        if (d >= 0 && (state_get(c, d) != 2 || !file_exists(c->path[d])))
            return util_fail(err, errlen, UTIL_EINPUT,
                             "stage %s needs stage %s to have finished with the same inputs (%s); run it first",
                             stage_names[s], stage_names[d], c->path[d]);
    }
    return UTIL_OK;
}

static int run_stage(pipe_ctx *c, int s, char *err, size_t errlen)
{
    int st = state_get(c, s);
    if (st == 2 && file_exists(c->path[s])) {
        if (c->rank == 0 && !c->quiet) fprintf(stderr, "pipeline: %s: up to date, skipped\n", stage_names[s]);
        return UTIL_OK;
    }
    int rc = stage_inputs_ok(c, s, err, errlen);
    if (rc) return rc;
    int resume = st == 1;
    if (!resume) remove_outputs(c, s);
    MPI_Barrier(c->comm);
    if (!resume) rc = state_put(c, s, "started", err, errlen);
    rc = mpi_util_agree(c->comm, rc, err, errlen);
    if (rc) return rc;
    double t0 = util_now();
    rc = stage_fns[s](c, resume, err, errlen);
    c->seconds[s] = util_now() - t0;
    c->ran[s] = 1;
    if (rc) return rc;
    rc = state_put(c, s, "done", err, errlen);
    return mpi_util_agree(c->comm, rc, err, errlen);
}

/* accuracy_mean and accuracy_std of a results.json (written by evaluate; read with jansson); -1 when absent */
static void read_accuracy(const char *dir, double *mean, double *sd)
{
    char p[PATH_LEN + 400];
    snprintf(p, sizeof p, "%s/results.json", dir);
    *mean = *sd = -1;
    json_t *r = json_load_file(p, 0, NULL);
    json_t *m = json_object_get(r, "accuracy_mean"), *s = json_object_get(r, "accuracy_std");
    if (json_is_number(m)) *mean = json_number_value(m);
    if (json_is_number(s)) *sd = json_number_value(s);
    json_decref(r);
}

/* DIR/pipeline.tsv (always) and, unless --quiet, the summary on stdout. Skipped stages show the
 * time recorded when they ran. */
static void summary(pipe_ctx *c, double total)
{
    if (c->rank != 0) return;
    char p[PATH_LEN + 32];
    snprintf(p, sizeof p, "%s/pipeline.tsv", c->out);
    FILE *f = fopen(p, "w");
    if (f) fprintf(f, "stage\tstatus\tseconds\tranks\n");
    int size = mpi_util_size(c->comm);
    if (!c->quiet) {
        printf("\npipeline summary (%s, %.1f s, %d rank%s)\n", c->out, total, size, size > 1 ? "s" : "");
        printf("  %-14s %-9s %9s\n", "stage", "status", "seconds");
    }
    for (int s = 0; s < ST_N; s++) {
        double secs = c->seconds[s];
        int st = c->ran[s] ? 2 : state_get_time(c, s, &secs);
        const char *status = c->ran[s] ? "ran" : st == 2 ? "skipped" : "not run";
        if (!c->quiet) printf("  %-14s %-9s %9.1f\n", stage_names[s], status, secs);
        if (f) fprintf(f, "%s\t%s\t%.3f\t%d\n", stage_names[s], status, secs, size);
    }
    if (f) fclose(f);
    if (c->quiet) return;
    const char *names[4], *files[4], *ldas[4];
    int n = eval_sets(c, names, files, ldas);
    for (int l = 0; l < c->n_labels; l++) {
        printf("  %s accuracy (mean +- std over folds):", c->label[l]);
        for (int i = 0; i < n; i++) {
            char dir[PATH_LEN + 300];
            double m, sd;
            snprintf(dir, sizeof dir, "%s/%s/%s", c->eval_dir, c->label[l], names[i]);
            read_accuracy(dir, &m, &sd);
            if (m >= 0) printf("  %s %.3f +- %.3f", names[i], m, sd);
        }
        putchar('\n');
    }
}

static int make_dir(const char *d, char *err, size_t errlen)
{
    if (mkdir(d, 0777) && errno != EEXIST) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", d, strerror(errno));
    return UTIL_OK;
}

static int parse_labels(pipe_ctx *c, char *err, size_t errlen)
{
    const char *s = c->labels;
    c->n_labels = 0;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || len >= sizeof c->label[0] || c->n_labels == MAX_LABELS)
            return util_fail(err, errlen, UTIL_EUSAGE, "pipeline: --label-column wants up to %d comma-separated names, got '%s'",
                             MAX_LABELS, c->labels);
        memcpy(c->label[c->n_labels], s, len);
        c->label[c->n_labels++][len] = 0;
        s += len + (e ? 1 : 0);
    }
    return c->n_labels ? UTIL_OK : util_fail(err, errlen, UTIL_EUSAGE, "pipeline: --label-column is empty");
}

/* The lists must load and have the columns the stages need. */
static int check_lists(const pipe_ctx *c, char *err, size_t errlen)
{
    shard_list l;
    int rc = shard_list_load(c->train_list, &l, err, errlen);
    if (rc) return rc;
    if (shard_list_column(&l, "artist") < 0)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: the training list needs an 'artist' column", c->train_list);
    shard_list_free(&l);
    if (rc) return rc;
    rc = shard_list_load(c->task_list, &l, err, errlen);
    if (rc) return rc;
    if (shard_list_column(&l, c->artist_col) < 0)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no column '%s' (--artist-column)", c->task_list, c->artist_col);
    for (int i = 0; i < c->n_labels && !rc; i++)
        if (shard_list_column(&l, c->label[i]) < 0)
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no column '%s' (--label-column)", c->task_list, c->label[i]);
    shard_list_free(&l);
    return rc;
}

int job_pipeline_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    pipe_ctx c;
    memset(&c, 0, sizeof c);
    c.comm = comm;
    c.rank = mpi_util_rank(comm);
    util_opt opts[] = {
        {"train-list", UTIL_OPT_STRING, &c.train_list, "", "track list with an artist column (trains the net, fits LDA)", 0, -1, 1},
        {"task-list", UTIL_OPT_STRING, &c.task_list, "", "track list of the task (clips of other artists, label columns)", 0, -1, 1},
        {"label-column", UTIL_OPT_STRING, &c.labels, "genre", "task label column(s), comma-separated, e.g. genre,mood", 0, -1, 0},
        {"out", UTIL_OPT_STRING, &c.out, "", "run folder (created): every stage's output, pipeline.state, pipeline.tsv", 0, -1, 1},
        {"stage", UTIL_OPT_STRING, &c.stage, "all", "all, or one of mel, train, extract-train, extract-task, lda, evaluate", 0, -1, 0},
        {"epochs", UTIL_OPT_INT, &c.epochs, "30", "training epochs (train)", 1, 100000, 0},
        {"batch", UTIL_OPT_INT, &c.batch, "32", "global mini-batch in segments (train)", 1, 65536, 0},
        {"lr", UTIL_OPT_DOUBLE, &c.lr, "0.02", "learning rate (train)", 1e-9, 10, 0},
        {"patience", UTIL_OPT_INT, &c.patience, "6", "early-stopping patience in epochs (train)", 1, 100000, 0},
        {"seed", UTIL_OPT_INT, &c.seed, "1", "seed of training, splits and folds", 0, 2147483647, 0},
        {"segments", UTIL_OPT_INT, &c.segments, "10", "segments per clip (mel, extract)", 1, 1000, 0},
        {"lda-dim", UTIL_OPT_INT, &c.lda_dim, "100", "LDA output dimension (lda)", 1, 4096, 0},
        {"folds", UTIL_OPT_INT, &c.folds, "3", "outer cross-validation folds (evaluate)", 2, 100, 0},
        {"kernel", UTIL_OPT_STRING, &c.kernel, "rbf", "SVM kernel, linear or rbf (evaluate)", 0, -1, 0},
        {"artist-column", UTIL_OPT_STRING, &c.artist_col, "artist",
         "task-list column whose values never share a fold (MIREX artist filter; e.g. track)", 0, -1, 0},
        {"pretrained", UTIL_OPT_STRING, &c.pretrained, "", "also evaluate features of this model.h5 (e.g. import-keras output)", 0, -1, 0},
        {"no-baseline", UTIL_OPT_FLAG, &c.no_baseline, "", "skip the log-mel baseline features", 0, -1, 0},
        {"resume", UTIL_OPT_FLAG, &c.resume, "", "accepted for symmetry with the stages: the pipeline always continues from pipeline.state", 0, -1, 0},
        {"check", UTIL_OPT_FLAG, &c.check, "", "only check the arguments and lists, then exit", 0, -1, 0},
        {"quiet", UTIL_OPT_FLAG, &c.quiet, "", "no progress lines", 0, -1, 0},
        {0}};
    int rc = util_opts_parse("pipeline", "mel -> train -> extract -> lda -> evaluate in one job, or one --stage of it (slurm/submit)",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    rc = parse_labels(&c, err, errlen);
    int only = -1;
    if (!rc && strcmp(c.stage, "all")) {
        for (int s = 0; s < ST_N; s++)
            if (!strcmp(c.stage, stage_names[s])) only = s;
        if (only < 0) rc = util_fail(err, errlen, UTIL_EUSAGE, "pipeline: unknown --stage '%s'", c.stage);
    }
    if (!rc && strcmp(c.kernel, "rbf") && strcmp(c.kernel, "linear"))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "pipeline: --kernel wants linear or rbf, got '%s'", c.kernel);
    if (!rc && strlen(c.out) > PATH_LEN - 64) rc = util_fail(err, errlen, UTIL_EUSAGE, "pipeline: --out path too long");
    if (!rc) rc = check_lists(&c, err, errlen);
    if (rc || c.check) return rc;

    snprintf(c.path[ST_MEL], PATH_LEN, "%s/mels.h5", c.out);
    snprintf(c.path[ST_TRAIN], PATH_LEN, "%s/model.h5", c.out);
    snprintf(c.path[ST_XTRAIN], PATH_LEN, "%s/train_features.h5", c.out);
    snprintf(c.path[ST_XTASK], PATH_LEN, "%s/task_features.h5", c.out);
    snprintf(c.path[ST_LDA], PATH_LEN, "%s/lda.h5", c.out);
    snprintf(c.path[ST_EVAL], PATH_LEN, "%s/eval", c.out);
    snprintf(c.task_base, PATH_LEN, "%s/task_baseline.h5", c.out);
    snprintf(c.task_pre, PATH_LEN, "%s/task_pretrained.h5", c.out);
    snprintf(c.curves, PATH_LEN, "%s/curves.tsv", c.out);
    snprintf(c.eval_dir, PATH_LEN, "%s/eval", c.out);
    if (c.rank == 0) {
        rc = make_dir(c.out, err, errlen);
        if (!rc) rc = make_dir(c.eval_dir, err, errlen);
        for (int l = 0; l < c.n_labels && !rc; l++) {
            char d[PATH_LEN + 200];
            snprintf(d, sizeof d, "%s/%s", c.eval_dir, c.label[l]);
            rc = make_dir(d, err, errlen);
        }
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) rc = identities(&c, err, errlen);
    if (rc) return rc;

    double t0 = util_now();
    for (int s = 0; s < ST_N && !rc; s++)
        if (only < 0 || only == s) rc = run_stage(&c, s, err, errlen);
    if (!rc && (only < 0 || only == ST_EVAL)) summary(&c, util_now() - t0);
    return rc;
}
