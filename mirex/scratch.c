/* scratch.c - the features of a MIREX scratch folder (see scratch.h) */
#include "mirex/scratch.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* absolute form of a (resolved) list path: the key features are stored and looked up under */
char *mirex_canon(const char *p)
{
    if (p[0] == '/') return util_strdup(p);
    char cwd[MIREX_PATH];
    if (!getcwd(cwd, sizeof cwd)) return util_strdup(p);
    size_t n = strlen(cwd) + strlen(p) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", cwd, p[0] == '.' && p[1] == '/' ? p + 2 : p);
    return s;
}

/* ---- the index: every extract run, by absolute path ---- */

static int key_cmp(const void *a, const void *b)
{
    const mirex_key *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : y->file - x->file; /* latest file first */
}

void mirex_index_free(mirex_index *ix)
{
    for (int i = 0; i < ix->n_files; i++) reduce_features_free(&ix->f[i]);
    free(ix->f);
    free(ix->keys);
    memset(ix, 0, sizeof *ix);
}

/* Reads DIR/extract.tsv and every features file it names (all rows on every rank; collective). */
int mirex_index_load(const char *dir, MPI_Comm comm, mirex_index *ix, char *err, size_t errlen)
{
    memset(ix, 0, sizeof *ix);
    char man[MIREX_PATH + 32];
    snprintf(man, sizeof man, "%s/extract.tsv", dir);
    FILE *fp = fopen(man, "r");
    if (!fp)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: %s (run `artistnet mirex extract` on this scratch folder first)", man,
                         strerror(errno));
    char line[3 * MIREX_PATH];
    char files[64][MIREX_PATH];
    int n = 0, lineno = 0, rc = UTIL_OK;
    while (fgets(line, sizeof line, fp) && !rc) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (lineno == 1 || !line[0]) continue; /* header */
        char *fld[8];
        int nf = util_split_tabs(line, fld, 8);
        if (nf < 5) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: expected features, list, list_hash, model, model_hash, ...", man, lineno);
            break;
        }
        const char *model = fld[4]; /* the model file's checksum (or "baseline"): the features' identity */
        if (n == 0) snprintf(ix->model, sizeof ix->model, "%s", model);
        else if (strcmp(ix->model, model)) {
            rc = util_fail(err, errlen, UTIL_EINPUT,
                           "%s:%d: features of another model (%s, %s; earlier runs %s): use one scratch folder per model",
                           man, lineno, fld[3], model, ix->model);
            break;
        }
        int dup = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(files[i], line)) dup = i;
        if (dup >= 0) { /* the same list again: its file was overwritten, it is now the latest */
            for (int i = dup; i + 1 < n; i++) memcpy(files[i], files[i + 1], MIREX_PATH);
            n--;
        }
        if (n == 64) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: more than 64 extraction runs", man);
            break;
        }
        size_t len = strlen(line);
        if (len >= MIREX_PATH) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: file name too long", man, lineno);
            break;
        }
        memcpy(files[n++], line, len + 1);
    }
    fclose(fp);
    if (!rc && n == 0) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no extraction recorded", man);
    if (rc) return rc;
    ix->f = calloc((size_t)n, sizeof *ix->f);
    if (!ix->f) return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    long total = 0;
    const char *cols[1] = {"errors"};
    const int opt[1] = {1};
    for (int i = 0; i < n && !rc; i++) {
        char p[2 * MIREX_PATH];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        rc = reduce_features_read(p, comm, REDUCE_READ_ALL, cols, opt, 1, &ix->f[i], err, errlen);
        if (!rc) {
            ix->n_files++;
            total += ix->f[i].n;
            if (i == 0) ix->dim = ix->f[i].dim;
            else if (ix->f[i].dim != ix->dim)
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s: %d-d features, earlier runs %d-d", p, ix->f[i].dim, ix->dim);
        }
    }
    if (rc) {
        mirex_index_free(ix);
        return rc;
    }
    ix->keys = malloc((size_t)total * sizeof *ix->keys + 1);
    if (!ix->keys) {
        mirex_index_free(ix);
        return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    }
    long m = 0;
    for (int i = 0; i < ix->n_files; i++) {
        char **ids = reduce_features_column(&ix->f[i], "ids");
        for (long r = 0; r < ix->f[i].n; r++) ix->keys[m++] = (mirex_key){ids[r], i, r};
    }
    qsort(ix->keys, (size_t)m, sizeof *ix->keys, key_cmp);
    long u = 0;
    for (long i = 0; i < m; i++)
        if (u == 0 || strcmp(ix->keys[u - 1].path, ix->keys[i].path)) ix->keys[u++] = ix->keys[i];
    ix->n_keys = u;
    return UTIL_OK;
}

const char *const mirex_found_names[] = {"used", "not extracted", "extraction failed", "non-finite features"};

/* features of an absolute path: MIREX_OK with *x (ix->dim floats), else why not (*why: the extract error) */
mirex_found mirex_lookup(const mirex_index *ix, const char *path, const float **x, const char **why)
{
    mirex_key k = {path, 0, 0};
    /* keys are unique per path; compare on the path only */
    long lo = 0, hi = ix->n_keys;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (strcmp(ix->keys[mid].path, path) < 0) lo = mid + 1;
        else hi = mid;
    }
    *why = "";
    if (lo >= ix->n_keys || strcmp(ix->keys[lo].path, k.path)) return MIREX_MISSING;
    const reduce_features *f = &ix->f[ix->keys[lo].file];
    long r = ix->keys[lo].row;
    if (f->status[r] != 0) {
        char **e = reduce_features_column(f, "errors");
        *why = e ? e[r] : "";
        return MIREX_FAILED;
    }
    *x = f->x + (size_t)r * ix->dim;
    for (int j = 0; j < ix->dim; j++)
        if (!isfinite((*x)[j])) return MIREX_NONFINITE;
    return MIREX_OK;
}

/* optional DIR/lda.h5: loaded when present (train) or required by the model (classify) */
int mirex_lda_load(const char *dir, int dim_in, reduce_lda_model *lda, uint64_t *hash, char *err, size_t errlen)
{
    char p[MIREX_PATH + 16];
    snprintf(p, sizeof p, "%s/lda.h5", dir);
    int rc = reduce_lda_load(lda, p, err, errlen);
    if (!rc) rc = util_file_hash(p, hash, err, errlen);
    if (!rc && lda->dim_in != dim_in)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: LDA input dimension %d, the features have %d", p, lda->dim_in, dim_in);
    return rc;
}

/* rows (n x d floats) -> doubles, through the LDA when given; returns NULL when out of memory */
double *mirex_project(const float *x, long n, int d, const reduce_lda_model *lda, int *d_out)
{
    if (lda && lda->dim_out > 0) {
        double *y = malloc((size_t)n * lda->dim_out * sizeof *y + 1);
        if (y) reduce_lda_apply(lda, x, n, y);
        *d_out = lda->dim_out;
        return y;
    }
    double *y = malloc((size_t)n * d * sizeof *y + 1);
    if (y)
        for (size_t i = 0; i < (size_t)n * d; i++) y[i] = x[i];
    *d_out = d;
    return y;
}

