/* reduce_folds.h - stratified, group-filtered k-fold assignment (MIREX "artist filter": no artist on
 * both sides of a split), deterministic for a given seed. Used by `evaluate` for the outer folds when
 * the list has no fold column, and always for the inner (grid search) folds.
 *
 * NOTE: shard/ is expected to own track-list folds too; this lives here so evaluate does not wait for
 * it (dedupe later: reduce_folds_assign works on plain integer arrays, so shard can call it). */
#ifndef ARTISTNET_REDUCE_FOLDS_H
#define ARTISTNET_REDUCE_FOLDS_H
#include <stddef.h>
#include <stdint.h>

/* label[i] in [0, L) or < 0 (row excluded: fold[i] = -1); group[i] >= 0 (artist id) or group == NULL
 * (every row its own group: plain stratified folds). k >= 2.
 * Algorithm: groups in a seeded random order, then stably by size (largest first); each group goes to
 * the fold where its labels are proportionally least represented so far (cost sum_l h_l cnt[f][l] /
 * tot[l]), ties to the smaller fold, then the lower index. Whole groups move, so the filter is exact;
 * the stratification is as good as the group sizes allow. Returns 0, or UTIL_EFAIL (out of memory). */
int reduce_folds_assign(const int *label, const int *group, long n, int k, uint64_t seed, int *fold);

/* splitmix64: the seeded generator behind the fold order (exposed for tests) */
uint64_t reduce_folds_random(uint64_t *state);

#endif
