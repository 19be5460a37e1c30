/* nn_internal.h - the DCNN's model struct and its layer kernels, shared by the files of nn/ and by
 * the layer tests. Not a public interface: other modules use nn.h.
 *
 * Activations are channels-last: a batch of B segments with T frames and C channels is a row-major
 * (B*T) x C matrix, row b*T + t. This makes im2col rows contiguous copies, conv = one SGEMM
 * (B*T x k*Cin) * (k*Cin x Cout) over the whole batch (training), or k SGEMMs on a zero-padded copy
 * with no im2col (inference), and BN / ReLU / pooling loops that vectorise over channels. The kernels take their dimensions as arguments so tests can check them on small
 * shapes against finite differences.
 */
#ifndef ARTISTNET_NN_INTERNAL_H
#define ARTISTNET_NN_INTERNAL_H

#include "nn/nn.h"

#include <stddef.h>
#include <stdint.h>

/* Hot elementwise loops are compiled for AVX-512, AVX2 and baseline x86-64, picked at load time
 * (GCC function multiversioning), so one binary runs on every CPU of this kind. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NN_HOT __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define NN_HOT
#endif

typedef struct {
    int k, cin, cout, t_in, pool, t_out, pad_left;
    size_t w_off, b_off, g_off, beta_off; /* in params */
    size_t rm_off, rv_off;                /* in bn stats */
    size_t acc_off;                       /* in the gradient tail: means (cout) then vars (cout) */
} nn_conv_desc;

typedef struct {
    float *col;          /* im2col of the layer input, B*t_in x k*cin (NULL for k = 1) */
    float *xp;           /* inference: zero-padded layer input, B*(t_in + k - 1) x cin (layer 1: its
                            transpose, cin x B*(t_in + k - 1)) */
    float *z;            /* conv output without bias, B*t_in x cout (inference: B*(t_in + k - 1) x cout) */
    float *y;            /* training: relu(bn(z + bias)), B*t_in x cout */
    float *p;            /* pooled output, B*t_out x cout (layer 5: the features) */
    float *mean, *invstd; /* training: per micro-batch group, G x cout (mean of z without bias) */
} nn_conv_ws;

struct nn_model {
    int n_classes;
    nn_conv_desc conv[NN_N_CONV];
    size_t dense_w_off, dense_b_off;
    size_t n_params, n_grads, n_bn, tail_off;
    float *params, *grads, *bn, *momentum;
    long step;
    float norm_mean, norm_std, bn_eps;
    nn_frontend fe;
    char **artists;
    char *source;

    /* work buffers for cap segments */
    int cap;
    float *x0;                  /* training: normalised input, B*129 x 128 */
    nn_conv_ws ws[NN_N_CONV];
    float *drop, *logits, *dlogits, *dfeat, *mask;
    float *dp[2];               /* ping-pong gradients w.r.t. pooled outputs */
    float *dy;                  /* gradient w.r.t. y, then z (in place) */
    float *dcol;                /* gradient w.r.t. im2col */
    double *acc;                /* per-channel double accumulators (4 x 256) */
};

int nn_reserve(nn_model *m, int n, char *err, size_t errlen);

/* ---- conv.c ---- */
/* Keras "same" im2col: col row (b*T + t) = x rows b*T + t - pad .. + k - 1 (zeros outside the segment) */
void nn_conv_im2col(const float *x, int B, int T, int cin, int k, float *col);
/* dx = col2im(dcol): the adjoint of nn_conv_im2col (overwrites dx) */
void nn_conv_col2im(const float *dcol, int B, int T, int cin, int k, float *dx);
/* z = im2col(x) w (+ bias if non-NULL); col: workspace B*T x k*cin (unused when k = 1) */
void nn_conv_forward(const float *x, int B, int T, int cin, int cout, int k, const float *w,
                     const float *bias, float *col, float *z);
/* Inference without im2col. x holds B segments of T frames, each zero-padded Keras-"same" style to
 * Tp = T + k - 1 frames ((k-1)/2 zero frames before, k/2 after); channels_first = 0: x is (B*Tp) x cin
 * (row b*Tp + t), 1: x is cin x (B*Tp). Then im2col row b*Tp + t is the k padded frames from b*Tp + t
 * on, so z = sum_j x[rows from j] w_j: k accumulating SGEMMs (K = cin) over the whole batch, no copy.
 * z: (B*Tp - k + 1) x cout; row b*Tp + t is frame t of segment b for t < T (rows t >= T: junk). */
void nn_conv_forward_padded(const float *x, int B, int T, int cin, int cout, int k, int channels_first,
                            const float *w, float *z);
/* dw += col^T dz, dbias += colsum(dz) (if non-NULL), dx = dz w^T mapped back (if non-NULL);
 * col: the forward's im2col (x itself when k = 1); dcol: workspace B*T x k*cin */
void nn_conv_backward(const float *col, const float *dz, int B, int T, int cin, int cout, int k,
                      const float *w, float *dw, float *dbias, float *dcol, float *dx);

/* ---- conv_dnnl.c (issue 22): the same convolutions on oneDNN (k > 1; see nn_kernels) ----
 * z = conv(x, w), Keras "same", nwc in and out (training: 1 selects the training primitives whose
 * backward is nn_dnnl_conv_backward); dw += x^T-conv dz, dx = conv^T(dz) (overwritten; NULL: none). */
void nn_dnnl_conv_forward(const float *x, int B, int T, int cin, int cout, int k, int training, const float *w,
                          float *z);
void nn_dnnl_conv_backward(const float *x, const float *dz, int B, int T, int cin, int cout, int k, const float *w,
                           float *dw, float *dx);

/* ---- batchnorm.c ---- */
/* Training: per group of `group_rows` consecutive rows (the last may be shorter), per channel:
 * mean/var (biased) of z, y = gamma (z - mean) invstd + beta, then ReLU if relu. The conv bias is not
 * part of z (it cancels); it only enters the running mean: acc_mean += mean + bias, acc_var +=
 * unbiased var (when acc_mean non-NULL). Returns the group count. acc: scratch of 2*C doubles. */
int nn_bn_train_forward(const float *z, int rows, int C, int group_rows, const float *bias,
                        const float *gamma, const float *beta, float eps, int relu, float *mean,
                        float *invstd, float *acc_mean, float *acc_var, double *acc, float *y);
/* The same, fused with max-pooling of y over windows of `pool` rows of segments of T rows into p
 * (group_rows must be a multiple of T). */
int nn_bn_train_forward_pool(const float *z, int rows, int C, int group_rows, int T, int pool,
                             const float *bias, const float *gamma, const float *beta, float eps,
                             float *mean, float *invstd, float *acc_mean, float *acc_var, double *acc,
                             float *y, float *p);
/* Training backward. dy is overwritten by dz (in place). y: forward output (for the ReLU mask; NULL
 * if no ReLU). dgamma, dbeta, dbias accumulate (dbias may be NULL). acc: scratch of 4*C doubles. */
void nn_bn_train_backward(const float *z, const float *y, float *dy, int rows, int C, int group_rows,
                          const float *gamma, const float *mean, const float *invstd, float *dgamma,
                          float *dbeta, float *dbias, double *acc);
/* Eval: p = maxpool(relu(z * scale + shift)) in one pass, pool 1 = no pooling. Segment b's T frames
 * are z rows b*Tz + t (Tz >= T); its T/pool outputs go to p rows b*Tq + pad_left + t with
 * Tq = T/pool + pad_left + pad_right, and its pad rows are zeroed: the next layer's padded input. */
void nn_bn_eval_relu_pool(const float *z, int B, int T, int Tz, int C, int pool, const float *scale,
                          const float *shift, int pad_left, int pad_right, float *p);

/* ---- pool.c ---- */
void nn_maxpool_forward(const float *y, int B, int T, int C, int pool, float *p);
/* dy = routing of dp to the first maximum of each window (zeros elsewhere, incl. dropped frames) */
void nn_maxpool_backward(const float *y, const float *p, const float *dp, int B, int T, int C,
                         int pool, float *dy);

/* ---- dense.c ---- */
void nn_dense_forward(const float *x, int B, int in, int out, const float *w, const float *b, float *y);
void nn_dense_backward(const float *x, const float *dy, int B, int in, int out, const float *w,
                       float *dw, float *db, float *dx);
/* softmax cross-entropy: returns the sum of losses; dlogits = softmax - onehot */
double nn_softmax_xent(const float *logits, const int *labels, int B, int C, float *dlogits);
/* inverted dropout multipliers (0 or 1/(1-p)) for n x dim units from (seed, i, j) */
void nn_dropout_mask(uint64_t seed, float p, int n, int dim, float *mask);

/* splitmix64 hash, for seeds and masks */
uint64_t nn_hash64(uint64_t x);

#endif
