/* dense.c - the classifier head: dense 256 -> C (kernel (in, out) as Keras Dense), softmax
 * cross-entropy (log-sum-exp in double), and inverted dropout masks from a counter-based hash so a
 * mask depends only on (seed, segment, unit), not on ranks or call order. */
#include "nn/nn_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

uint64_t nn_hash64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void nn_dense_forward(const float *x, int B, int in, int out, const float *w, const float *b, float *y)
{
    for (int r = 0; r < B; r++) memcpy(y + (size_t)r * out, b, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, out, in, 1.0f, x, in, w, out, 1.0f, y, out);
}

void nn_dense_backward(const float *x, const float *dy, int B, int in, int out, const float *w,
                       float *dw, float *db, float *dx)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, B, 1.0f, x, in, dy, out, 1.0f, dw, out);
    for (int r = 0; r < B; r++) {
        const float *d = dy + (size_t)r * out;
        for (int c = 0; c < out; c++) db[c] += d[c];
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, in, out, 1.0f, dy, out, w, out, 0.0f, dx, in);
}

double nn_softmax_xent(const float *logits, const int *labels, int B, int C, float *dlogits)
{
    double loss = 0;
    for (int r = 0; r < B; r++) {
        const float *l = logits + (size_t)r * C;
        float *d = dlogits + (size_t)r * C;
        float mx = l[0];
        for (int c = 1; c < C; c++)
            if (l[c] > mx) mx = l[c];
        double s = 0;
        for (int c = 0; c < C; c++) {
            d[c] = expf(l[c] - mx);
            s += d[c];
        }
        float inv = (float)(1.0 / s);
        for (int c = 0; c < C; c++) d[c] *= inv;
        d[labels[r]] -= 1.0f;
        loss += log(s) + mx - l[labels[r]];
    }
    return loss;
}

void nn_dropout_mask(uint64_t seed, float p, int n, int dim, float *mask)
{
    const float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    const uint64_t s = nn_hash64(seed);
    for (int i = 0; i < n; i++) {
        uint64_t si = nn_hash64(s ^ ((uint64_t)i * 0xd1b54a32d192ed03ULL));
        for (int j = 0; j < dim; j++) {
            double u = (double)(nn_hash64(si + (uint64_t)j) >> 11) * (1.0 / 9007199254740992.0);
            mask[(size_t)i * dim + j] = u < p ? 0.0f : keep;
        }
    }
}
