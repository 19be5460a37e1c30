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

/* rows sorted by group: artist, or a group of its own for artist -1 / no artist array */
static keyed *group_rows(const int *artist, size_t n)
{
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return NULL;
    long base = 0;
    for (size_t i = 0; i < n && artist; i++)
        if (artist[i] + 1L > base) base = artist[i] + 1L;
    for (size_t i = 0; i < n; i++)
        k[i] = (keyed){(artist && artist[i] >= 0) ? artist[i] : base + (long)i, i};
    qsort(k, n, sizeof *k, cmp_keyed);
    return k;
}

int shard_split_by_artist(const int *artist, size_t n, const double frac[3], uint64_t seed,
                          int *split, char *err, size_t errlen)
{
    double sum = frac[0] + frac[1] + frac[2];
    if (!(frac[0] >= 0 && frac[1] >= 0 && frac[2] >= 0 && sum > 0))
        return util_fail(err, errlen, UTIL_EUSAGE, "split fractions must be >= 0 with a positive sum, got %g/%g/%g",
                         frac[0], frac[1], frac[2]);
    keyed *k = group_rows(artist, n);
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
    uint64_t tie;
} group;

static int cmp_group(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (x->tie != y->tie) return x->tie < y->tie ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

int shard_folds_assign(const int *artist, const int *label, size_t n, int k, uint64_t seed,
                       int *fold, char *err, size_t errlen)
{
    if (k < 2) return util_fail(err, errlen, UTIL_EUSAGE, "folds: need at least 2 folds, got %d", k);
    int n_cls = 1; /* class 0 stands for label -1 */
    for (size_t i = 0; i < n; i++)
        if (label && label[i] + 2 > n_cls) n_cls = label[i] + 2;
    keyed *kr = group_rows(artist, n);
    group *g = malloc((n ? n : 1) * sizeof *g);
    double *cnt = calloc((size_t)k * (size_t)n_cls, sizeof *cnt);
    double *target = calloc((size_t)n_cls, sizeof *target);
    size_t *fold_rows = calloc((size_t)k, sizeof *fold_rows);
    int rc = UTIL_OK;
    if (!kr || !g || !cnt || !target || !fold_rows) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "folds: out of memory");
        goto done;
    }
#define CLS(row) (label ? label[row] + 1 : 0)
    size_t ng = 0;
    uint64_t st = seed;
    for (size_t g0 = 0; g0 < n;) {
        size_t g1 = g0 + 1;
        while (g1 < n && kr[g1].key == kr[g0].key) g1++;
        g[ng++] = (group){g0, g1 - g0, shard_rng_next(&st)};
        g0 = g1;
    }
    if (ng < (size_t)k) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "folds: %zu artists (groups) cannot fill %d folds", ng, k);
        goto done;
    }
    for (size_t i = 0; i < n; i++) target[CLS(i)] += 1.0 / k;
    qsort(g, ng, sizeof *g, cmp_group);
    size_t empty = (size_t)k;
    for (size_t gi = 0; gi < ng; gi++) {
        int best = -1;
        double best_cost = 0;
        int force_empty = empty >= ng - gi; /* every fold must get a group */
        for (int f = 0; f < k; f++) {
            if (force_empty && fold_rows[f]) continue;
            double cost = 0;
            double *c = cnt + (size_t)f * (size_t)n_cls;
            for (size_t j = g[gi].start; j < g[gi].start + g[gi].size; j++) {
                int cl = CLS(kr[j].row);
                /* growth of sum_c (cnt_c - target_c)^2 when one row of class cl joins */
                cost += 2.0 * (c[cl] - target[cl]) + 1.0;
                c[cl] += 1; /* undone below */
            }
            for (size_t j = g[gi].start; j < g[gi].start + g[gi].size; j++) c[CLS(kr[j].row)] -= 1;
            if (best < 0 || cost < best_cost - 1e-9 ||
                (fabs(cost - best_cost) <= 1e-9 && fold_rows[f] < fold_rows[best])) {
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
    free(target);
    free(fold_rows);
    return rc;
}
