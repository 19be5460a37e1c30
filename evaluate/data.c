/* data.c - the rows of an evaluation and their folds (evaluate.h): folds.tsv read back, folds from a
 * column, artist-filtered inner folds, ids matched across feature sets, folds.tsv and predictions.tsv
 * written. Moved out of jobs/evaluate.c. */
#include "evaluate/evaluate.h"
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eval_data_free(eval_data *e)
{
    free(e->x);
    free(e->y);
    free(e->group);
    free(e->fold);
    free(e->inner);
    free(e->id);
    free(e->artist);
    free(e->src);
    reduce_classes_free(&e->classes);
    reduce_classes_free(&e->artists);
}

static int cmp_str_ptr(const void *a, const void *b) { return strcmp(**(char *const *const *)a, **(char *const *const *)b); }

int eval_match_ids(const reduce_features *set, const char *path, char **ids, long n, long *match, char *err,
                     size_t errlen)
{
    char **sid = reduce_features_column(set, "ids");
    char ***idx = malloc(((size_t)set->n + 1) * sizeof *idx);
    if (!idx) return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    for (long i = 0; i < set->n; i++) idx[i] = &sid[i];
    qsort(idx, (size_t)set->n, sizeof *idx, cmp_str_ptr);
    for (long i = 1; i < set->n; i++)
        if (!strcmp(*idx[i], *idx[i - 1])) {
            int rc = util_fail(err, errlen, UTIL_EINPUT, "%s: id '%s' appears twice; --features sets are matched by id",
                               path, *idx[i]);
            free(idx);
            return rc;
        }
    for (long i = 0; i < n; i++) {
        char **key = &ids[i];
        char ***hit = bsearch(&key, idx, (size_t)set->n, sizeof *idx, cmp_str_ptr);
        match[i] = hit ? (long)(*hit - sid) : -1;
    }
    free(idx);
    return UTIL_OK;
}

typedef struct {
    const char *id;
    long row;
} id_row;

static int cmp_id_row(const void *a, const void *b) { return strcmp(((const id_row *)a)->id, ((const id_row *)b)->id); }

int eval_folds_read(const char *path, eval_data *e, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", path, strerror(errno));
    id_row *idx = malloc(((size_t)e->n + 1) * sizeof *idx);
    char *seen = calloc((size_t)e->n + 1, 1);
    int rc = UTIL_OK;
    for (long i = 0; i < e->n; i++) idx[i] = (id_row){e->id[i], i};
    qsort(idx, (size_t)e->n, sizeof *idx, cmp_id_row);
    for (long i = 1; i < e->n; i++)
        if (!strcmp(idx[i].id, idx[i - 1].id)) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "--folds-file needs unique ids; '%s' appears twice in the features", idx[i].id);
            goto done;
        }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int col_id = -1, col_fold = -1, ncols = 0, k = 0;
    int *col_inner = NULL;
    e->k = 0;
    e->n_inner = 0;
    while (getline(&line, &cap, f) > 0 && !rc) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *fields[256];
        int nf = util_split_tabs(line, fields, 256);
        if (col_id < 0) {
            ncols = nf;
            col_inner = calloc((size_t)nf, sizeof *col_inner);
            for (int c = 0; c < nf; c++) {
                if (!strcmp(fields[c], "id")) col_id = c;
                else if (!strcmp(fields[c], "fold")) col_fold = c;
                else if (!strncmp(fields[c], "inner_", 6)) {
                    long v;
                    if (util_parse_long(fields[c] + 6, 1, 1000, &v) == 0) {
                        col_inner[c] = (int)v;
                        if (v > k) k = (int)v;
                    }
                }
            }
            if (col_id < 0 || col_fold < 0 || k == 0) {
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: header needs id, fold and inner_1..inner_K columns", path, lineno);
                break;
            }
            e->k = k;
            e->inner = malloc(((size_t)e->n * k + 1) * sizeof *e->inner);
            continue;
        }
        if (nf != ncols) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: %d fields, header has %d", path, lineno, nf, ncols);
            break;
        }
        id_row key = {fields[col_id], 0};
        id_row *hit = bsearch(&key, idx, (size_t)e->n, sizeof *idx, cmp_id_row);
        if (!hit) continue; /* a row not used here (e.g. failed since) */
        long r = hit->row, v;
        if (util_parse_long(fields[col_fold], 1, k, &v)) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: fold '%s' not in 1..%d", path, lineno, fields[col_fold], k);
            break;
        }
        e->fold[r] = (int)v - 1;
        seen[r] = 1;
        for (int c = 0; c < ncols; c++) {
            if (!col_inner[c]) continue;
            if (util_parse_long(fields[c], 0, 1000, &v)) {
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: inner fold '%s' is not a number", path, lineno, fields[c]);
                break;
            }
            e->inner[(size_t)r * k + col_inner[c] - 1] = (int)v - 1;
            if (v > e->n_inner) e->n_inner = (int)v;
        }
    }
    free(line);
    free(col_inner);
    if (!rc && e->k == 0) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: empty folds file", path);
    for (long i = 0; i < e->n && !rc; i++)
        if (!seen[i]) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no fold for id '%s'", path, e->id[i]);
done:
    fclose(f);
    free(idx);
    free(seen);
    return rc;
}

int eval_folds_from_column(char **vals, eval_data *e, const char *features, const char *col, char *err, size_t errlen)
{
    reduce_classes fc;
    int rc = reduce_classes_build(MPI_COMM_SELF, vals, NULL, e->n, &fc, e->fold, err, errlen);
    if (rc) return rc;
    for (long i = 0; i < e->n; i++)
        if (e->fold[i] < 0) {
            reduce_classes_free(&fc);
            return util_fail(err, errlen, UTIL_EINPUT, "%s: /%s is empty for row id '%s'", features, col, e->id[i]);
        }
    int numeric = 1;
    long *num = malloc(((size_t)fc.n + 1) * sizeof *num);
    for (int j = 0; j < fc.n; j++)
        if (util_parse_long(fc.names[j], -1000000, 1000000, &num[j])) numeric = 0;
    if (numeric) { /* rank of each numeric value */
        int *rank = malloc(((size_t)fc.n + 1) * sizeof *rank);
        for (int j = 0; j < fc.n; j++) {
            rank[j] = 0;
            for (int q = 0; q < fc.n; q++) rank[j] += num[q] < num[j];
        }
        for (long i = 0; i < e->n; i++) e->fold[i] = rank[e->fold[i]];
        free(rank);
    }
    free(num);
    e->k = fc.n;
    reduce_classes_free(&fc);
    if (e->k < 2) return util_fail(err, errlen, UTIL_EINPUT, "%s: /%s has a single value; need >= 2 folds", features, col);
    return UTIL_OK;
}

int eval_inner_folds(eval_data *e, int n_inner, unsigned long seed)
{
    e->n_inner = n_inner;
    e->inner = malloc(((size_t)e->n * e->k + 1) * sizeof *e->inner);
    int *lab = malloc(((size_t)e->n + 1) * sizeof *lab), *tmp = malloc(((size_t)e->n + 1) * sizeof *tmp);
    if (!e->inner || !lab || !tmp) {
        free(lab);
        free(tmp);
        return UTIL_EFAIL;
    }
    for (int f = 0; f < e->k; f++) {
        for (long i = 0; i < e->n; i++) lab[i] = e->fold[i] == f ? -1 : e->y[i];
        if (shard_folds_assign(e->group, lab, (size_t)e->n, n_inner, (uint64_t)seed * 1000003ULL + (uint64_t)f + 1,
                               SHARD_FOLDS_EVALUATE, tmp, NULL, 0)) {
            free(lab);
            free(tmp);
            return UTIL_EFAIL;
        }
        for (long i = 0; i < e->n; i++) e->inner[(size_t)i * e->k + f] = tmp[i];
    }
    free(lab);
    free(tmp);
    return UTIL_OK;
}

int eval_write_tables(const char *dir, const eval_data *e, const int *pred, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/folds.tsv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return util_fail(err, errlen, UTIL_EFAIL, "%s: %s", path, strerror(errno));
    fprintf(f, "id\tartist\tlabel\tfold");
    for (int q = 0; q < e->k; q++) fprintf(f, "\tinner_%d", q + 1);
    fputc('\n', f);
    for (long i = 0; i < e->n; i++) {
        fprintf(f, "%s\t%s\t%s\t%d", e->id[i], e->artist ? e->artist[i] : "", e->classes.names[e->y[i]], e->fold[i] + 1);
        for (int q = 0; q < e->k; q++) fprintf(f, "\t%d", e->inner[(size_t)i * e->k + q] + 1);
        fputc('\n', f);
    }
    if (fclose(f)) return util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", path);
    snprintf(path, sizeof path, "%s/predictions.tsv", dir);
    f = fopen(path, "w");
    if (!f) return util_fail(err, errlen, UTIL_EFAIL, "%s: %s", path, strerror(errno));
    fprintf(f, "id\tartist\tfold\tlabel\tpredicted\n");
    for (long i = 0; i < e->n; i++)
        fprintf(f, "%s\t%s\t%d\t%s\t%s\n", e->id[i], e->artist ? e->artist[i] : "", e->fold[i] + 1,
                e->classes.names[e->y[i]], pred[i] >= 0 ? e->classes.names[pred[i]] : "");
    if (fclose(f)) return util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", path);
    return UTIL_OK;
}

int eval_assign_folds(eval_data *e, const eval_fold_opts *o, char *err, size_t errlen)
{
    int rc = UTIL_OK;
    int fc_used = 0;
    if (o->folds_file) {
        rc = eval_folds_read(o->folds_file, e, err, errlen);
        e->fold_source = "file";
    } else {
        if (o->fold_column) {
            long nonempty = 0;
            for (long r = 0; r < e->n; r++) nonempty += o->fold_column[e->src[r]][0] != 0;
            fc_used = nonempty > 0;
        }
        if (fc_used) {
            char **vals = malloc(((size_t)e->n + 1) * sizeof *vals);
            if (!vals) return util_fail(err, errlen, UTIL_EFAIL, "evaluate: out of memory");
            for (long r = 0; r < e->n; r++) vals[r] = o->fold_column[e->src[r]];
            rc = eval_folds_from_column(vals, e, o->features, o->fold_col, err, errlen);
            free(vals);
            e->fold_source = "column";
        } else {
            e->k = o->k;
            e->fold_source = "seed";
        }
        if (!rc) {
            /* every class needs >= k rows to appear on both sides */
            long *cnt = calloc((size_t)e->classes.n + 1, sizeof *cnt);
            if (!cnt) return util_fail(err, errlen, UTIL_EFAIL, "evaluate: out of memory");
            for (long r = 0; r < e->n; r++) cnt[e->y[r]]++;
            for (int c = 0; c < e->classes.n && !rc; c++)
                if (cnt[c] < e->k)
                    rc = util_fail(err, errlen, UTIL_EINPUT, "%s: class '%s' of /%s has %ld row%s, fewer than the %d folds",
                                   o->features, e->classes.names[c], o->label, cnt[c], cnt[c] == 1 ? "" : "s", e->k);
            free(cnt);
        }
        if (!rc && !fc_used)
            rc = shard_folds_assign(e->group, e->y, (size_t)e->n, e->k, (uint64_t)o->seed, SHARD_FOLDS_EVALUATE, e->fold, err, errlen);
        if (!rc && eval_inner_folds(e, o->n_inner, (unsigned long)o->seed))
            rc = util_fail(err, errlen, UTIL_EFAIL, "evaluate: out of memory assigning inner folds");
    }
    if (!rc && o->warn) {
        /* warnings: classes absent from a fold's test or training side; artists across folds */
        for (int q = 0; q < e->k; q++)
            for (int c = 0; c < e->classes.n; c++) {
                long in = 0, outside = 0;
                for (long r = 0; r < e->n; r++)
                    if (e->y[r] == c) {
                        if (e->fold[r] == q) in++;
                        else outside++;
                    }
                if (!in || !outside)
                    fprintf(stderr, "evaluate: warning: class '%s' has no rows on the %s side of fold %d (artist filter)\n",
                            e->classes.names[c], in ? "training" : "test", q + 1);
            }
        if (e->artist && e->fold_source[0] == 'c') {
            int *af = malloc(((size_t)e->artists.n + 1) * sizeof *af);
            if (!af) return rc;
            for (int a = 0; a < e->artists.n; a++) af[a] = -1;
            long crossing = 0;
            for (long r = 0; r < e->n; r++) {
                int a = e->group[r];
                if (a >= e->artists.n) continue;
                if (af[a] >= 0 && af[a] != e->fold[r]) crossing++;
                af[a] = e->fold[r];
            }
            if (crossing) fprintf(stderr, "evaluate: warning: the fold column puts %ld rows' artists in more than one fold\n", crossing);
            free(af);
        }
    }
    return rc;
}
