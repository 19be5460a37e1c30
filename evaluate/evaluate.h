/* evaluate.h - what `artistnet evaluate` (jobs/evaluate.c) evaluates and writes, apart from the
 * cross-validation itself (reduce/reduce_svm.h): the rows of a task, read from one or more feature
 * sets (matched by id, each through its own LDA), with their labels and artists; MIREX folds reused
 * from a folds.tsv, taken from a fold column, or made artist-filtered from a seed (shard/), with the
 * inner (grid search) folds; and the outputs: folds.tsv, predictions.tsv, results.json and the
 * summary on stdout. Use: eval_load, eval_assign_folds, reduce_svm_cv_run, eval_write_tables and
 * eval_write_results (rank 0), eval_data_free, eval_sets_free.
 * Errors: 0 or a negative UTIL_E* code with a message in err naming the file (and line). */
#ifndef ARTISTNET_EVALUATE_EVALUATE_H
#define ARTISTNET_EVALUATE_EVALUATE_H
#include "reduce/reduce_features.h"
#include "reduce/reduce_lda.h"
#include "reduce/reduce_svm.h"

#include <mpi.h>
#include <stddef.h>

/* The rows evaluated (status ok in every set), compacted. */
typedef struct {
    long n;
    int d;
    double *x;                  /* n x d features (the sets side by side, each after its LDA) */
    int *y, *group, *fold;      /* class, artist group (for the folds' artist filter), outer fold */
    int *inner;                 /* n x k: inner fold of row i for outer fold f at [i * k + f] */
    char **id, **artist;        /* borrowed from eval_sets.f[0]'s columns (free e first); artist may be NULL */
    long *src;                  /* row in the (first) feature file */
    reduce_classes classes, artists;
    int k, n_inner;
    const char *fold_source;    /* "file", "column" or "seed" */
} eval_data;

void eval_data_free(eval_data *e);

/* The feature sets of a task (`--features a.h5,b.h5,...`, issue 21): f[0] gives the rows, labels,
 * folds and artists; every other set is matched to it by id; each set may have its own LDA. */
#define EVAL_MAX_SETS 8
typedef struct {
    int n_sets, n_read;                 /* sets given; sets read (f[0 .. n_read) to be freed) */
    reduce_features f[EVAL_MAX_SETS];
    long *match[EVAL_MAX_SETS];         /* match[s][i]: set s's row for row i of f[0] (-1: none) */
    reduce_lda_model lda[EVAL_MAX_SETS];
    int set_dim[EVAL_MAX_SETS];         /* each set's columns in e->x (its LDA's output dimension) */
    long skipped, unmatched;            /* rows of f[0] not ok; ok there but not ok in every set */
} eval_sets;

typedef struct {
    int n_sets;
    char *const *set_path, *const *set_lda; /* n_sets each; set_lda[s] NULL: no LDA for set s */
    const char *label, *fold_col, *artist_col; /* f[0]'s columns (label required; the others optional) */
} eval_load_opts;

/* Collective (every rank reads every row of every set): keeps the rows ok in every set, with a label
 * and finite features (else UTIL_EINPUT naming the file, row and id), builds e's rows, classes and
 * artist groups, and e->x: each set's columns, projected by its own LDA, side by side. Adds the
 * seconds spent reading to *t_read. On error, free sets and e as on success. */
int eval_load(const eval_load_opts *o, MPI_Comm comm, eval_sets *sets, eval_data *e, double *t_read, char *err,
              size_t errlen);
void eval_sets_free(eval_sets *s);

/* match[i] = the row of `set` whose id is ids[i] (-1: none); the ids of `set` must be unique (else
 * UTIL_EINPUT naming path). */
int eval_match_ids(const reduce_features *set, const char *path, char **ids, long n, long *match, char *err,
                   size_t errlen);
/* Folds from a folds.tsv of an earlier run (header id, fold, inner_1..inner_K; rows matched by id,
 * rows of the file not used here skipped): sets e->k, e->n_inner, e->fold and allocates e->inner. */
int eval_folds_read(const char *path, eval_data *e, char *err, size_t errlen);
/* Folds from a column's values (vals[i] for row i): fold index by numeric order when every value is
 * an integer, else by string order; sets e->k (>= 2) and e->fold. features and col name the input. */
int eval_folds_from_column(char **vals, eval_data *e, const char *features, const char *col, char *err,
                           size_t errlen);
/* Inner folds for each outer fold f: the training side's rows split n_inner ways, artist-filtered
 * and stratified (shard_folds_assign) from (seed, f); sets e->n_inner and allocates e->inner.
 * UTIL_EFAIL when out of memory. */
int eval_inner_folds(eval_data *e, int n_inner, unsigned long seed);
/* How the folds of a task are made (eval_assign_folds). */
typedef struct {
    const char *folds_file;     /* a folds.tsv to reuse, or NULL */
    char **fold_column;         /* the feature file's fold column (row i of the file), or NULL */
    int k, n_inner, seed;       /* folds when made from the seed; inner folds; the seed */
    const char *features, *fold_col, *label; /* names for messages */
    int warn;                   /* print warnings (rank 0): a class absent from a fold's side, artists across folds */
} eval_fold_opts;

/* The outer and inner folds of e (e->y, e->group, e->src, e->artist set): from o->folds_file when
 * given; else from the fold column where any kept row has a value (e->fold_source "column"); else
 * o->k artist-filtered stratified folds from o->seed ("seed"). Every class needs >= k rows (else
 * UTIL_EINPUT naming the class); inner folds from the seed unless the file gave them. */
int eval_assign_folds(eval_data *e, const eval_fold_opts *o, char *err, size_t errlen);
/* dir/folds.tsv (id, artist, label, fold, inner_1..) and dir/predictions.tsv (pred[i]: class or -1) */
int eval_write_tables(const char *dir, const eval_data *e, const int *pred, char *err, size_t errlen);

/* What results.json records beside the data and the cross-validation. */
typedef struct {
    const char *out;            /* folder (results.json is written there) */
    const char *cmdline, *features, *lda, *folds_file, *label, *artist_col, *kernel;
    int lda_dim;                /* the first set's LDA output dimension (when lda) */
    int n_sets;                 /* feature sets; set_path/set_lda/set_dim have n_sets entries */
    char *const *set_path, *const *set_lda;
    const int *set_dim;
    int seed, ranks;
    long rows_in_file, skipped, unmatched;
    double seconds_total;
    int quiet;                  /* 0: also print the results summary on stdout */
} eval_report;

/* Rank 0: out/results.json (inputs and their fnv1a64, folds, grid, per-fold accuracy, chosen cell,
 * inner accuracies, precision / recall / F1, confusion matrices, overall macro F1, timing) and,
 * unless quiet, the summary's tables on stdout. */
int eval_write_results(const eval_report *r, const eval_data *e, const reduce_svm_cv *cv, char *err, size_t errlen);
#endif
