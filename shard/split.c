/* split.c - per-artist train/validation/test splits by song and artist-filtered stratified k-fold
 * assignment (MIREX practice: no artist on both sides of a fold). Seeded with splitmix64 (range.c)
 * so the same list and seed give the same assignment everywhere. See shard.h. */
#include "shard/shard.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const shard_split_names[3] = {"train", "valid", "test"};

typedef struct {
    long key;
    size_t row;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* rows sorted by group: artist, or a group of its own for artist -1 / no artist array; rows whose
 * `leave_out` value is negative are left out (leave_out may be NULL). *m gets the number of rows. */
static keyed *group_rows(const int *artist, size_t n, const int *leave_out, size_t *m)
{
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return NULL;
    long base = 0;
    for (size_t i = 0; i < n && artist; i++)
        if (artist[i] + 1L > base) base = artist[i] + 1L;
    *m = 0;
    for (size_t i = 0; i < n; i++)
        if (!leave_out || leave_out[i] >= 0) k[(*m)++] = (keyed){(artist && artist[i] >= 0) ? artist[i] : base + (long)i, i};
    qsort(k, *m, sizeof *k, cmp_keyed);
    return k;
}

int shard_split_by_artist(const int *artist, size_t n, const double frac[3], uint64_t seed,
                          int *split, char *err, size_t errlen)
{
    double sum = frac[0] + frac[1] + frac[2];
    if (!(frac[0] >= 0 && frac[1] >= 0 && frac[2] >= 0 && sum > 0))
        return util_fail(err, errlen, UTIL_EUSAGE, "split fractions must be >= 0 with a positive sum, got %g/%g/%g",
                         frac[0], frac[1], frac[2]);
    size_t m_rows;
    keyed *k = group_rows(artist, n, NULL, &m_rows);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!k || !idx) {
        free(k);
        free(idx);
        return util_fail(err, errlen, UTIL_EFAIL, "split: out of memory");
    }
    for (size_t g0 = 0; g0 < n;) {
        size_t g1 = g0 + 1;
        while (g1 < n && k[g1].key == k[g0].key) g1++;
        size_t m = g1 - g0;
        if (artist && artist[k[g0].row] < 0) {
            split[k[g0].row] = SHARD_TRAIN;
            g0 = g1;
            continue;
        }
        for (size_t i = 0; i < m; i++) idx[i] = k[g0 + i].row;
        uint64_t st = seed ^ ((uint64_t)k[g0].key * 0xD1B54A32D192ED03ULL);
        shard_rng_next(&st);
        shard_shuffle(idx, m, &st);
        /* largest remainder: floor of each quota, leftovers to the largest fractional parts
         * (ties: train before valid before test) */
        size_t cnt[3], given = 0;
        double rem[3];
        for (int s = 0; s < 3; s++) {
            double q = (double)m * frac[s] / sum;
            cnt[s] = (size_t)floor(q + 1e-9);
            rem[s] = q - (double)cnt[s];
            given += cnt[s];
        }
        while (given < m) {
            int best = 0;
            for (int s = 1; s < 3; s++)
                if (rem[s] > rem[best] + 1e-12) best = s;
            cnt[best]++;
            rem[best] = -1;
            given++;
        }
        for (size_t i = 0; i < m; i++)
            split[idx[i]] = i < cnt[0] ? SHARD_TRAIN : i < cnt[0] + cnt[1] ? SHARD_VALID : SHARD_TEST;
        g0 = g1;
    }
    free(k);
    free(idx);
    return UTIL_OK;
}

typedef struct {
    size_t start, size; /* into the keyed array */
    uint64_t tie;       /* order among groups of one size */
} group;

static int cmp_group(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (x->tie != y->tie) return x->tie < y->tie ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The one fold assignment: rows grouped by artist (whole groups move, so the filter is exact), groups
 * ordered largest first, each group to the fold that costs least, ties to the fold with fewer rows,
 * then the lower index. The two rules (shard.h) differ only in which rows take part, how groups of
 * one size are ordered, the cost, and whether every fold must get a group. */
int shard_folds_assign(const int *artist, const int *label, size_t n, int k, uint64_t seed, shard_folds_rule rule,
                       int *fold, char *err, size_t errlen)
{
    const int eval = rule == SHARD_FOLDS_EVALUATE;
    if (!eval && k < 2) return util_fail(err, errlen, UTIL_EUSAGE, "folds: need at least 2 folds, got %d", k);
    /* classes: LIST counts label -1 as a class of its own (class 0); EVALUATE leaves such rows out */
    int n_cls = eval ? 0 : 1;
    size_t m = 0; /* rows that take part */
    for (size_t i = 0; i < n; i++) {
        if (eval) fold[i] = -1;
        if (eval && label[i] < 0) continue;
        int cl = label ? label[i] + !eval : 0;
        if (cl + 1 > n_cls) n_cls = cl + 1;
        m++;
    }
    if (eval && (n_cls == 0 || k < 1)) return UTIL_OK;
#define CLS(row) (label ? label[row] + !eval : 0)
    keyed *kr = group_rows(artist, n, eval ? label : NULL, &m);
    group *g = malloc((m ? m : 1) * sizeof *g);
    double *cnt = calloc((size_t)k * (size_t)n_cls, sizeof *cnt);
    double *ref = calloc((size_t)n_cls, sizeof *ref); /* EVALUATE: rows per class; LIST: target per fold */
    size_t *fold_rows = calloc((size_t)k, sizeof *fold_rows);
    int rc = UTIL_OK;
    if (!kr || !g || !cnt || !ref || !fold_rows) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "folds: out of memory");
        goto done;
    }
    for (size_t j = 0; j < m; j++) ref[CLS(kr[j].row)] += eval ? 1.0 : 1.0 / k;
    size_t ng = 0;
    uint64_t st = seed;
    for (size_t g0 = 0; g0 < m;) {
        size_t g1 = g0 + 1;
        while (g1 < m && kr[g1].key == kr[g0].key) g1++;
        /* LIST: a seeded draw per group in artist order breaks ties of size */
        const uint64_t tie = eval ? (uint64_t)ng : shard_rng_next(&st);
        g[ng++] = (group){g0, g1 - g0, tie};
        g0 = g1;
    }
    if (!eval && ng < (size_t)k) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "folds: %zu artists (groups) cannot fill %d folds", ng, k);
        goto done;
    }
    if (eval) /* EVALUATE: the groups in a seeded shuffle (Fisher-Yates), their place in it breaks ties */
        for (size_t i = ng; i-- > 1;) {
            size_t j = (size_t)(shard_rng_next(&st) % (uint64_t)(i + 1));
            group t = g[i];
            g[i] = g[j];
            g[j] = t;
        }
    if (eval)
        for (size_t i = 0; i < ng; i++) g[i].tie = i;
    qsort(g, ng, sizeof *g, cmp_group);
    const double eps = eval ? 1e-12 : 1e-9;
    size_t empty = (size_t)k;
    for (size_t gi = 0; gi < ng; gi++) {
        int best = -1;
        double best_cost = 0;
        int force_empty = !eval && empty >= ng - gi; /* LIST: every fold must get a group */
        for (int f = 0; f < k; f++) {
            if (force_empty && fold_rows[f]) continue;
            double cost = 0;
            double *c = cnt + (size_t)f * (size_t)n_cls;
            for (size_t j = g[gi].start; j < g[gi].start + g[gi].size; j++) {
                int cl = CLS(kr[j].row);
                if (eval) {
                    cost += c[cl] / ref[cl]; /* EVALUATE: the classes' shares already in the fold */
                } else {
                    /* LIST: growth of sum_c (cnt_c - target_c)^2 when one row of class cl joins */
                    cost += 2.0 * (c[cl] - ref[cl]) + 1.0;
                    c[cl] += 1; /* undone below */
                }
            }
            if (!eval)
                for (size_t j = g[gi].start; j < g[gi].start + g[gi].size; j++) c[CLS(kr[j].row)] -= 1;
            if (best < 0 || cost < best_cost - eps || (fabs(cost - best_cost) <= eps && fold_rows[f] < fold_rows[best])) {
                best = f;
                best_cost = cost;
            }
        }
        if (!fold_rows[best]) empty--;
        for (size_t j = g[gi].start; j < g[gi].start + g[gi].size; j++) {
            cnt[(size_t)best * (size_t)n_cls + (size_t)CLS(kr[j].row)] += 1;
            fold[kr[j].row] = best;
        }
        fold_rows[best] += g[gi].size;
    }
#undef CLS
done:
    free(kr);
    free(g);
    free(cnt);
    free(ref);
    free(fold_rows);
    return rc;
}
