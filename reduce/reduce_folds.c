/* reduce_folds.c - seeded, stratified, group-filtered fold assignment (see reduce_folds.h). */
#include "reduce/reduce_folds.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

uint64_t reduce_folds_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    long size;
    long pos;   /* position after the seeded shuffle */
    long group;
} group_key;

static int cmp_group(const void *a, const void *b)
{
    const group_key *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int reduce_folds_assign(const int *label, const int *group, long n, int k, uint64_t seed, int *fold)
{
    long G = 0;
    int L = 0;
    for (long i = 0; i < n; i++) {
        fold[i] = -1;
        if (label[i] < 0) continue;
        if (label[i] + 1 > L) L = label[i] + 1;
        long g = group ? group[i] : i;
        if (g + 1 > G) G = g + 1;
    }
    if (L == 0 || k < 1) return UTIL_OK;
    /* rows grouped by group (counting sort) */
    long *start = calloc((size_t)G + 1, sizeof *start), *rows = malloc(((size_t)n + 1) * sizeof *rows);
    long *fill = calloc((size_t)G + 1, sizeof *fill);
    group_key *keys = malloc(((size_t)G + 1) * sizeof *keys);
    double *cnt = calloc((size_t)k * L, sizeof *cnt), *tot = calloc((size_t)L, sizeof *tot), *h = calloc((size_t)L, sizeof *h);
    long *fsize = calloc((size_t)k, sizeof *fsize);
    int rc = UTIL_OK;
    if (!start || !rows || !fill || !keys || !cnt || !tot || !h || !fsize) {
        rc = UTIL_EFAIL;
        goto done;
    }
    for (long i = 0; i < n; i++)
        if (label[i] >= 0) {
            start[(group ? group[i] : i) + 1]++;
            tot[label[i]]++;
        }
    for (long g = 0; g < G; g++) start[g + 1] += start[g];
    for (long i = 0; i < n; i++)
        if (label[i] >= 0) {
            long g = group ? group[i] : i;
            rows[start[g] + fill[g]++] = i;
        }
    /* seeded shuffle (Fisher-Yates), then stable by size */
    long ng = 0;
    for (long g = 0; g < G; g++)
        if (start[g + 1] > start[g]) keys[ng++] = (group_key){start[g + 1] - start[g], 0, g};
    uint64_t st = seed;
    for (long i = ng - 1; i > 0; i--) {
        long j = (long)(reduce_folds_random(&st) % (uint64_t)(i + 1));
        group_key t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
    }
    for (long i = 0; i < ng; i++) keys[i].pos = i;
    qsort(keys, (size_t)ng, sizeof *keys, cmp_group);
    for (long q = 0; q < ng; q++) {
        long g = keys[q].group;
        for (long r = start[g]; r < start[g + 1]; r++) h[label[rows[r]]]++;
        int best = 0;
        double best_cost = 0;
        for (int f = 0; f < k; f++) {
            double cost = 0;
            for (long r = start[g]; r < start[g + 1]; r++) {
                int l = label[rows[r]];
                cost += cnt[(size_t)f * L + l] / tot[l]; /* = sum_l h_l cnt[f][l] / tot[l] */
            }
            if (f == 0 || cost < best_cost - 1e-12 ||
                (cost <= best_cost + 1e-12 && fsize[f] < fsize[best])) {
                best = f;
                best_cost = cost;
            }
        }
        for (long r = start[g]; r < start[g + 1]; r++) {
            int l = label[rows[r]];
            fold[rows[r]] = best;
            cnt[(size_t)best * L + l]++;
            h[l] = 0;
        }
        fsize[best] += start[g + 1] - start[g];
    }
done:
    free(start);
    free(rows);
    free(fill);
    free(keys);
    free(cnt);
    free(tot);
    free(h);
    free(fsize);
    return rc;
}
