/* range.c - static contiguous row ranges per rank, and the small seeded generator (splitmix64)
 * that splits, folds and shuffles use, so results are the same on every machine. */
#include "shard/shard.h"

void shard_range(size_t n, int p, int parts, size_t *lo, size_t *hi)
{
    size_t q = n / (size_t)parts, r = n % (size_t)parts, u = (size_t)p;
    *lo = u * q + (u < r ? u : r);
    *hi = *lo + q + (u < r ? 1 : 0);
}

uint64_t shard_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void shard_shuffle(size_t *idx, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(shard_rng_next(state) % i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
