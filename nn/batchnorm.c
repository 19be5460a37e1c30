/* batchnorm.c - batch normalisation (Ioffe & Szegedy 2015) as Keras BatchNormalization(epsilon=1e-3,
 * momentum=0.99) computes it, fused with the ReLU (and max-pooling) that follow it in every block.
 *
 * Training: statistics per group of rows (one micro-batch = its segments x frames), biased variance
 * for normalising, unbiased for the running average (PyTorch BatchNorm1d semantics; see nn.h).
 * Two-pass mean / variance; partial sums in float over blocks of rows, blocks summed in double.
 * Eval: the running statistics and the conv bias fold into one scale and shift per channel,
 * applied with ReLU and max-pooling in a single pass over z that writes the next layer's
 * zero-padded input.
 */
#include "nn/nn_internal.h"

#include <math.h>
#include <string.h>

enum { BLOCK = 64 }; /* rows per float partial sum */

/* mean and 1/sqrt(var + eps) of rows [r0, r1) per channel; updates the running-average sums */
NN_HOT static void group_stats(const float *z, int r0, int r1, int C, const float *bias, float eps, float *mu,
                               float *is, float *acc_mean, float *acc_var, double *acc)
{
    const int n = r1 - r0;
    double *s1 = acc, *s2 = acc + C;
    float part[NN_FEATURE_DIM];
    memset(s1, 0, 2 * (size_t)C * sizeof(double));
    for (int b0 = r0; b0 < r1; b0 += BLOCK) {
        int b1 = b0 + BLOCK < r1 ? b0 + BLOCK : r1;
        memset(part, 0, (size_t)C * sizeof(float));
        for (int r = b0; r < b1; r++) {
            const float *zr = z + (size_t)r * C;
            for (int c = 0; c < C; c++) part[c] += zr[c];
        }
        for (int c = 0; c < C; c++) s1[c] += part[c];
    }
    for (int c = 0; c < C; c++) mu[c] = (float)(s1[c] / n);
    for (int b0 = r0; b0 < r1; b0 += BLOCK) {
        int b1 = b0 + BLOCK < r1 ? b0 + BLOCK : r1;
        memset(part, 0, (size_t)C * sizeof(float));
        for (int r = b0; r < b1; r++) {
            const float *zr = z + (size_t)r * C;
            for (int c = 0; c < C; c++) {
                float d = zr[c] - mu[c];
                part[c] += d * d;
            }
        }
        for (int c = 0; c < C; c++) s2[c] += part[c];
    }
    for (int c = 0; c < C; c++) {
        double var = s2[c] / n;
        is[c] = (float)(1.0 / sqrt(var + eps));
        if (acc_mean) {
            acc_mean[c] += mu[c] + (bias ? bias[c] : 0.0f);
            acc_var[c] += (float)(n > 1 ? var * n / (n - 1) : var);
        }
    }
}

NN_HOT int nn_bn_train_forward(const float *z, int rows, int C, int group_rows, const float *bias,
                               const float *gamma, const float *beta, float eps, int relu, float *mean,
                               float *invstd, float *acc_mean, float *acc_var, double *acc, float *y)
{
    if (group_rows <= 0 || group_rows > rows) group_rows = rows;
    int g = 0;
    for (int r0 = 0; r0 < rows; r0 += group_rows, g++) {
        int r1 = r0 + group_rows < rows ? r0 + group_rows : rows;
        float *mu = mean + (size_t)g * C, *is = invstd + (size_t)g * C;
        group_stats(z, r0, r1, C, bias, eps, mu, is, acc_mean, acc_var, acc);
        for (int r = r0; r < r1; r++) {
            const float *zr = z + (size_t)r * C;
            float *yr = y + (size_t)r * C;
            for (int c = 0; c < C; c++) {
                float v = gamma[c] * ((zr[c] - mu[c]) * is[c]) + beta[c];
                yr[c] = relu && v < 0.0f ? 0.0f : v;
            }
        }
    }
    return g;
}

NN_HOT int nn_bn_train_forward_pool(const float *z, int rows, int C, int group_rows, int T, int pool,
                                    const float *bias, const float *gamma, const float *beta, float eps,
                                    float *mean, float *invstd, float *acc_mean, float *acc_var, double *acc,
                                    float *y, float *p)
{
    if (group_rows <= 0 || group_rows > rows) group_rows = rows;
    const int to = T / pool;
    int g = 0;
    for (int r0 = 0; r0 < rows; r0 += group_rows, g++) {
        int r1 = r0 + group_rows < rows ? r0 + group_rows : rows;
        float *mu = mean + (size_t)g * C, *is = invstd + (size_t)g * C;
        group_stats(z, r0, r1, C, bias, eps, mu, is, acc_mean, acc_var, acc);
        float a[NN_FEATURE_DIM], b[NN_FEATURE_DIM];
        for (int c = 0; c < C; c++) {
            a[c] = gamma[c] * is[c];
            b[c] = beta[c] - mu[c] * a[c];
        }
        for (int s0 = r0; s0 < r1; s0 += T) {
            for (int t = 0; t < T; t++) {
                const float *zr = z + (size_t)(s0 + t) * C;
                float *yr = y + (size_t)(s0 + t) * C;
                for (int c = 0; c < C; c++) {
                    float v = zr[c] * a[c] + b[c];
                    yr[c] = v < 0.0f ? 0.0f : v;
                }
                if (t >= to * pool) continue;
                float *pr = p + ((size_t)(s0 / T) * to + t / pool) * C;
                if (t % pool == 0) memcpy(pr, yr, (size_t)C * sizeof(float));
                else
                    for (int c = 0; c < C; c++) pr[c] = yr[c] > pr[c] ? yr[c] : pr[c];
            }
        }
    }
    return g;
}

NN_HOT void nn_bn_train_backward(const float *z, const float *y, float *dy, int rows, int C, int group_rows,
                                 const float *gamma, const float *mean, const float *invstd, float *dgamma,
                                 float *dbeta, float *dbias, double *acc)
{
    if (group_rows <= 0 || group_rows > rows) group_rows = rows;
    double *sdy = acc, *sdyx = acc + C, *sdz = acc + 2 * C;
    float p1[NN_FEATURE_DIM], p2[NN_FEATURE_DIM];
    int g = 0;
    for (int r0 = 0; r0 < rows; r0 += group_rows, g++) {
        int r1 = r0 + group_rows < rows ? r0 + group_rows : rows;
        const double n = r1 - r0;
        const float *mu = mean + (size_t)g * C, *is = invstd + (size_t)g * C;
        memset(acc, 0, 3 * (size_t)C * sizeof(double));
        for (int b0 = r0; b0 < r1; b0 += BLOCK) {
            int b1 = b0 + BLOCK < r1 ? b0 + BLOCK : r1;
            memset(p1, 0, (size_t)C * sizeof(float));
            memset(p2, 0, (size_t)C * sizeof(float));
            for (int r = b0; r < b1; r++) {
                const float *zr = z + (size_t)r * C;
                float *d = dy + (size_t)r * C;
                if (y) {
                    const float *yr = y + (size_t)r * C;
                    for (int c = 0; c < C; c++) d[c] = yr[c] > 0.0f ? d[c] : 0.0f;
                }
                for (int c = 0; c < C; c++) {
                    float xh = (zr[c] - mu[c]) * is[c];
                    p1[c] += d[c];
                    p2[c] += d[c] * xh;
                }
            }
            for (int c = 0; c < C; c++) {
                sdy[c] += p1[c];
                sdyx[c] += p2[c];
            }
        }
        float a[NN_FEATURE_DIM], mdy[NN_FEATURE_DIM], mdyx[NN_FEATURE_DIM];
        for (int c = 0; c < C; c++) {
            dgamma[c] += (float)sdyx[c];
            dbeta[c] += (float)sdy[c];
            a[c] = gamma[c] * is[c];
            mdy[c] = (float)(sdy[c] / n);
            mdyx[c] = (float)(sdyx[c] / n);
        }
        for (int b0 = r0; b0 < r1; b0 += BLOCK) {
            int b1 = b0 + BLOCK < r1 ? b0 + BLOCK : r1;
            memset(p1, 0, (size_t)C * sizeof(float));
            for (int r = b0; r < b1; r++) {
                const float *zr = z + (size_t)r * C;
                float *d = dy + (size_t)r * C;
                for (int c = 0; c < C; c++) {
                    float xh = (zr[c] - mu[c]) * is[c];
                    d[c] = a[c] * (d[c] - mdy[c] - xh * mdyx[c]);
                    p1[c] += d[c];
                }
            }
            for (int c = 0; c < C; c++) sdz[c] += p1[c];
        }
        if (dbias)
            for (int c = 0; c < C; c++) dbias[c] += (float)sdz[c];
    }
}

NN_HOT void nn_bn_eval_relu_pool(const float *z, int B, int T, int Tz, int C, int pool, const float *scale,
                                 const float *shift, int pad_left, int pad_right, float *p)
{
    const int to = T / pool, tq = to + pad_left + pad_right;
    for (int b = 0; b < B; b++) {
        float *pb = p + (size_t)b * tq * C;
        memset(pb, 0, (size_t)pad_left * C * sizeof(float));
        memset(pb + (size_t)(pad_left + to) * C, 0, (size_t)pad_right * C * sizeof(float));
        for (int t = 0; t < to; t++) {
            float *pr = pb + (size_t)(pad_left + t) * C;
            const float *zr = z + ((size_t)b * Tz + (size_t)t * pool) * C;
            for (int c = 0; c < C; c++) {
                float v = zr[c] * scale[c] + shift[c];
                pr[c] = v > 0.0f ? v : 0.0f;
            }
            for (int i = 1; i < pool; i++) {
                const float *zi = zr + (size_t)i * C;
                for (int c = 0; c < C; c++) {
                    float v = zi[c] * scale[c] + shift[c];
                    pr[c] = v > pr[c] ? v : pr[c];
                }
            }
        }
    }
}
