/* load.c - the rows of an evaluation (evaluate.h): every feature set read on every rank, rows kept
 * when ok in every set (matched by id), labels and artists as classes, each set's columns projected
 * by its own LDA and the sets side by side. Moved out of jobs/evaluate.c. */
#include "evaluate/evaluate.h"
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int eval_load(const eval_load_opts *o, MPI_Comm comm, eval_sets *sets, eval_data *e, double *t_read, char *err,
              size_t errlen)
{
    memset(sets, 0, sizeof *sets);
    memset(e, 0, sizeof *e);
    const int S = o->n_sets;
    char *const *set_path = o->set_path, *const *set_lda = o->set_lda;
    const char *features = set_path[0], *label = o->label;
    reduce_features *f = &sets->f[0], *fx = sets->f;
    sets->n_sets = S;
    double t_stage = util_now();
    const char *cols[3] = {label, o->fold_col, o->artist_col};
    const int optional[3] = {0, 1, 1};
    int rc = reduce_features_read(features, comm, REDUCE_READ_ALL, cols, optional, 3, f, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    *t_read += util_now() - t_stage;
    if (rc) return rc;
    sets->n_read = 1;
    for (int s = 1; s < S && !rc; s++) {
        t_stage = util_now();
        rc = reduce_features_read(set_path[s], comm, REDUCE_READ_ALL, NULL, NULL, 0, &fx[s], err, errlen);
        rc = mpi_util_agree(comm, rc, err, errlen);
        *t_read += util_now() - t_stage;
        if (rc) break;
        sets->n_read = s + 1;
        sets->match[s] = malloc(((size_t)f->n + 1) * sizeof *sets->match[s]);
        rc = sets->match[s] ? eval_match_ids(&fx[s], set_path[s], reduce_features_column(f, "ids"), f->n, sets->match[s], err,
                                             errlen)
                            : util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    }
    char **lab = reduce_features_column(f, label), **ac = reduce_features_column(f, o->artist_col),
         **idc = reduce_features_column(f, "ids");
    long skipped = 0, unmatched = 0;

    /* keep ok rows; every kept row needs a label and finite features, in every set */
    e->src = malloc(((size_t)f->n + 1) * sizeof *e->src);
    if (!e->src) rc = util_fail(err, errlen, UTIL_EFAIL, "evaluate: out of memory for %ld rows", f->n);
    for (long i = 0; i < f->n && !rc; i++) {
        if (f->status[i] != 0) { skipped++; continue; }
        int in_all = 1;
        for (int s = 1; s < S; s++) in_all &= sets->match[s][i] >= 0 && fx[s].status[sets->match[s][i]] == 0;
        if (!in_all) { unmatched++; continue; }
        for (int s = 1; s < S && !rc; s++) {
            const float *xs = fx[s].x + (size_t)sets->match[s][i] * fx[s].dim;
            for (int j = 0; j < fx[s].dim && !rc; j++)
                if (!isfinite(xs[j]))
                    rc = util_fail(err, errlen, UTIL_EINPUT, "%s: row %ld (id '%s') has non-finite features (NaN/Inf) but status ok",
                                   set_path[s], sets->match[s][i], idc[i]);
        }
        if (rc) break;
        if (!lab[i][0]) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: row %ld (id '%s') has no label in /%s", features, i, idc[i], label);
            break;
        }
        int finite = 1;
        for (int j = 0; j < f->dim; j++) finite &= isfinite(f->x[(size_t)i * f->dim + j]) != 0;
        if (!finite) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: row %ld (id '%s') has non-finite features (NaN/Inf) but status ok",
                           features, i, idc[i]);
            break;
        }
        e->src[e->n++] = i;
    }
    if (!rc && e->n == 0)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no rows with status ok%s", features, S > 1 ? " in every set" : "");
    e->d = f->dim;
    if (!rc) {
        e->x = malloc((size_t)e->n * f->dim * sizeof *e->x);
        e->y = malloc((size_t)e->n * sizeof *e->y);
        e->fold = malloc((size_t)e->n * sizeof *e->fold);
        e->id = malloc((size_t)e->n * sizeof *e->id);
        e->group = malloc((size_t)e->n * sizeof *e->group);
        if (ac) e->artist = malloc((size_t)e->n * sizeof *e->artist);
        char **labs = malloc((size_t)e->n * sizeof *labs);
        if (!e->x || !e->y || !e->fold || !e->id || !e->group || (ac && !e->artist) || !labs) {
            free(labs);
            return util_fail(err, errlen, UTIL_EFAIL, "evaluate: out of memory for %ld rows x %d", e->n, f->dim);
        }
        for (long r = 0; r < e->n; r++) {
            long i = e->src[r];
            labs[r] = lab[i];
            e->id[r] = idc[i];
            if (ac) e->artist[r] = ac[i];
            for (int j = 0; j < f->dim; j++) e->x[(size_t)r * f->dim + j] = f->x[(size_t)i * f->dim + j];
        }
        rc = reduce_classes_build(MPI_COMM_SELF, labs, NULL, e->n, &e->classes, e->y, err, errlen);
        if (!rc && ac) {
            rc = reduce_classes_build(MPI_COMM_SELF, e->artist, NULL, e->n, &e->artists, e->group, err, errlen);
            for (long r = 0; r < e->n && !rc; r++)
                if (e->group[r] < 0) e->group[r] = e->artists.n + (int)r; /* empty artist: its own group */
        } else if (!rc) {
            for (long r = 0; r < e->n; r++) e->group[r] = (int)r;
        }
        free(labs);
    }
    if (!rc && e->classes.n < 2)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /%s has %d class among ok rows; need >= 2", features, label, e->classes.n);

    /* per set: its columns of the kept rows, projected by its own LDA when it has one; then the
     * sets' columns side by side (one set: e->x as read, or its projection) */
    double *block[EVAL_MAX_SETS] = {0};
    for (int s = 0; s < S && !rc; s++) {
        const int d_in = s ? fx[s].dim : f->dim;
        block[s] = malloc(((size_t)e->n * d_in + 1) * sizeof *block[s]);
        if (!block[s]) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
            break;
        }
        for (long r = 0; r < e->n; r++) {
            const float *src = s ? fx[s].x + (size_t)sets->match[s][e->src[r]] * d_in : NULL;
            for (int j = 0; j < d_in; j++) block[s][(size_t)r * d_in + j] = s ? src[j] : e->x[(size_t)r * d_in + j];
        }
        sets->set_dim[s] = d_in;
        if (!set_lda[s]) continue;
        rc = reduce_lda_load(&sets->lda[s], set_lda[s], err, errlen);
        if (!rc && sets->lda[s].dim_in != d_in)
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: LDA input dimension %d, %s has %d", set_lda[s], sets->lda[s].dim_in,
                           set_path[s], d_in);
        if (!rc) {
            double *y = malloc((size_t)e->n * sets->lda[s].dim_out * sizeof *y);
            float *xf = malloc((size_t)e->n * d_in * sizeof *xf);
            if (!y || !xf) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
            for (size_t q = 0; !rc && q < (size_t)e->n * d_in; q++) xf[q] = (float)block[s][q];
            if (!rc) reduce_lda_apply(&sets->lda[s], xf, e->n, y);
            free(xf);
            free(block[s]);
            block[s] = y;
            sets->set_dim[s] = sets->lda[s].dim_out;
        }
    }
    if (!rc) {
        int D = 0;
        for (int s = 0; s < S; s++) D += sets->set_dim[s];
        double *x = malloc(((size_t)e->n * D + 1) * sizeof *x);
        if (!x) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
        for (long r = 0; x && r < e->n; r++)
            for (int s = 0, off = 0; s < S; off += sets->set_dim[s], s++)
                memcpy(x + (size_t)r * D + off, block[s] + (size_t)r * sets->set_dim[s], (size_t)sets->set_dim[s] * sizeof *x);
        if (x) {
            free(e->x);
            e->x = x;
            e->d = D;
        }
    }
    for (int s = 0; s < S; s++) free(block[s]);

    sets->skipped = skipped;
    sets->unmatched = unmatched;
    return rc;
}

void eval_sets_free(eval_sets *s)
{
    for (int i = 0; i < EVAL_MAX_SETS; i++) reduce_lda_model_free(&s->lda[i]);
    for (int i = 0; i < s->n_read; i++) reduce_features_free(&s->f[i]);
    for (int i = 0; i < EVAL_MAX_SETS; i++) free(s->match[i]);
    memset(s, 0, sizeof *s);
}
