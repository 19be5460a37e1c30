/* reduce_svm_fits.c - fits.tsv, written and read back (see reduce_svm_fits.h) */
#include "reduce/reduce_svm_fits.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char fits_header[] =
    "item\tkind\tfold\tgamma\tC\tinner\trank\tstart_s\tsetup_fold_s\tsetup_rows_s\tfit_s\tcorrect\tevaluated";

int reduce_svm_fits_write(const char *path, const reduce_svm_cv *cv, int ranks, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write: %s", path, strerror(errno));
    const long ni = cv->n_inner, nc = cv->grid.n_c, ng = cv->grid.n_g, per_fold = ni * nc * ng, n_tasks = per_fold * cv->k;
    fprintf(f, "# artistnet evaluate fits: %d rank%s; seconds from the grid's common start\n%s\n", ranks,
            ranks == 1 ? "" : "s", fits_header);
    for (long r = 0; r < cv->n_fits; r++) {
        const reduce_svm_fit *x = &cv->fits[r];
        long fo, c, g, i = -1;
        if (x->item < n_tasks) {
            fo = x->item / per_fold;
            i = x->item % ni;
            c = (x->item / ni) % nc;
            g = (x->item / ni / nc) % ng;
        } else {
            fo = x->item - n_tasks;
            c = cv->best ? cv->best[fo] / ng : 0;
            g = cv->best ? cv->best[fo] % ng : 0;
        }
        fprintf(f, "%ld\t%s\t%ld\t", x->item, i < 0 ? "final" : "grid", fo + 1);
        if (cv->params.kernel == REDUCE_SVM_RBF) fprintf(f, "%.10g\t", cv->grid.g[g]);
        else fputs("-\t", f);
        fprintf(f, "%.10g\t", cv->grid.c[c]);
        if (i < 0) fputs("-\t", f);
        else fprintf(f, "%ld\t", i + 1);
        fprintf(f, "%d\t%.6f\t%.6f\t%.6f\t%.6f\t%ld\t%ld\n", x->rank, x->start, x->setup_fold, x->setup_rows, x->fit, x->correct,
                x->evaluated);
    }
    int bad = ferror(f);
    if (fclose(f) || bad) return util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", path);
    return UTIL_OK;
}

/* 1 if the text s is the number v (as written: %.10g, so equal to 10 digits) */
static int same_value(const char *s, double v)
{
    double x;
    if (util_parse_double(s, -1e300, 1e300, &x)) return 0;
    return fabs(x - v) <= 1e-9 * fabs(v);
}

int reduce_svm_fits_read(const char *path, const reduce_svm_grid *grid, reduce_svm_kernel kernel, int k, int n_inner,
                         reduce_svm_fit **out, long *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const long ni = n_inner, nc = grid->n_c, ng = grid->n_g, per_fold = ni * nc * ng, n_tasks = per_fold * k,
               n_items = n_tasks + k;
    FILE *f = fopen(path, "r");
    if (!f) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", path, strerror(errno));
    reduce_svm_fit *v = calloc((size_t)n_items, sizeof *v);
    char *seen = calloc((size_t)n_items, 1);
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0, rows = 0;
    int header = 0, rc = v && seen ? UTIL_OK : util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
    while (!rc && getline(&line, &cap, f) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        if (!header) {
            if (strcmp(line, fits_header))
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: not an evaluate fits.tsv header (expected: %s)", path, lineno,
                               fits_header);
            header = 1;
            continue;
        }
        char *fl[16];
        if (util_split_tabs(line, fl, 16) != 13) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: expected 13 tab-separated fields", path, lineno);
            break;
        }
        long item, fold, rank, correct, evaluated;
        double t[4];
        if (util_parse_long(fl[0], 0, n_items - 1, &item)) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: item '%s' is not in 0..%ld (%d folds, %ld C x %ld gamma x %d inner)",
                           path, lineno, fl[0], n_items - 1, k, nc, ng, n_inner);
            break;
        }
        if (seen[item]) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%ld: item %ld appears twice", path, lineno, item);
            break;
        }
        seen[item] = 1;
        const int final = item >= n_tasks;
        const long fo = final ? item - n_tasks : item / per_fold, c = (item / ni) % nc, g = (item / ni / nc) % ng;
        long inner = -1;
        int ok = !strcmp(fl[1], final ? "final" : "grid") && !util_parse_long(fl[2], 1, k, &fold) && fold == fo + 1 &&
                 (final ? !strcmp(fl[5], "-") : !util_parse_long(fl[5], 1, n_inner, &inner) && inner == item % ni + 1);
        /* a grid fit's cell is the item's; a final fit's (the fold's winner) only has to be in the grid */
        if (ok && !final)
            ok = same_value(fl[4], grid->c[c]) && (kernel == REDUCE_SVM_LINEAR ? !strcmp(fl[3], "-") : same_value(fl[3], grid->g[g]));
        if (!ok) {
            rc = util_fail(err, errlen, UTIL_EINPUT,
                           "%s:%ld: item %ld is not this run's %s fit (fold %ld%s): the file is of another grid or folds", path,
                           lineno, item, final ? "final" : "grid", fo + 1, final ? "" : ", its C, gamma and inner fold");
            break;
        }
        for (int j = 0; ok && j < 4; j++) ok = !util_parse_double(fl[7 + j], 0, 1e9, &t[j]);
        ok = ok && !util_parse_long(fl[6], 0, 1 << 30, &rank) && !util_parse_long(fl[11], 0, 1L << 40, &correct) &&
             !util_parse_long(fl[12], 0, 1L << 40, &evaluated) && correct <= evaluated;
        if (!ok) {
            rc = util_fail(err, errlen, UTIL_EINPUT,
                           "%s:%ld: rank, seconds (>= 0) and counts (correct <= evaluated) must be numbers", path, lineno);
            break;
        }
        v[item] = (reduce_svm_fit){item, (int)rank, t[0], t[1], t[2], t[3], correct, evaluated};
        rows++;
    }
    if (!rc && !header) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: empty (no header)", path);
    if (!rc && rows != n_items)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: %ld fits, a run of this grid and folds has %ld (a run that did not finish?)",
                       path, rows, n_items);
    free(line);
    free(seen);
    fclose(f);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = rows;
    return UTIL_OK;
}
