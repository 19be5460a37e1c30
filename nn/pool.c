/* pool.c - max-pooling over time, Keras MaxPooling1D "valid" (stride = pool size; frames that do
 * not fill a window are dropped, so 129 -> 32 with pool 4). Backward routes each gradient to the
 * first maximum of its window, as PyTorch does; written branch-free so it vectorises.
 * Channels-last rows (see nn_internal.h). The training forward is fused into batchnorm.c. */
#include "nn/nn_internal.h"

#include <string.h>

NN_HOT void nn_maxpool_forward(const float *y, int B, int T, int C, int pool, float *p)
{
    const int to = T / pool;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < to; t++) {
            float *pr = p + ((size_t)b * to + t) * C;
            const float *yr = y + ((size_t)b * T + (size_t)t * pool) * C;
            memcpy(pr, yr, (size_t)C * sizeof(float));
            for (int i = 1; i < pool; i++) {
                const float *yi = yr + (size_t)i * C;
                for (int c = 0; c < C; c++) pr[c] = yi[c] > pr[c] ? yi[c] : pr[c];
            }
        }
}

NN_HOT void nn_maxpool_backward(const float *y, const float *p, const float *dp, int B, int T, int C,
                                int pool, float *dy)
{
    const int to = T / pool;
    unsigned char taken[NN_FEATURE_DIM];
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < to; t++) {
            const float *pr = p + ((size_t)b * to + t) * C;
            const float *dpr = dp + ((size_t)b * to + t) * C;
            const float *yr = y + ((size_t)b * T + (size_t)t * pool) * C;
            float *dyr = dy + ((size_t)b * T + (size_t)t * pool) * C;
            for (int c = 0; c < C; c++) {
                int hit = yr[c] == pr[c];
                dyr[c] = hit ? dpr[c] : 0.0f;
                taken[c] = (unsigned char)hit;
            }
            for (int i = 1; i < pool; i++) {
                const float *yi = yr + (size_t)i * C;
                float *di = dyr + (size_t)i * C;
                for (int c = 0; c < C; c++) {
                    int hit = !taken[c] && yi[c] == pr[c];
                    di[c] = hit ? dpr[c] : 0.0f;
                    taken[c] |= (unsigned char)hit;
                }
            }
        }
        if (to * pool < T)
            memset(dy + ((size_t)b * T + (size_t)to * pool) * C, 0, (size_t)(T - to * pool) * C * sizeof(float));
    }
}
