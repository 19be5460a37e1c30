/* net.c - the DCNN's forward passes (eval: features, logits; training: forward + backward with
 * per-micro-batch batch norm) over a batch of raw log-mel segments. Layer kernels are in conv.c
 * (OpenBLAS) or conv_dnnl.c (oneDNN, for k > 1 where nn_kernels() says so),
 * batchnorm.c, pool.c, dense.c; the layout and the training contract are described in nn.h. */
#include "nn/nn_blas.h"
#include "nn/nn_internal.h"
#include "util/util.h"

#ifndef NN_EVAL_CHUNK
#define NN_EVAL_CHUNK 4  /* segments per block-1 pass in inference */
#endif
#define NN_EVAL_BATCH 64 /* segments per pass of blocks 2-5 in inference */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* x0 (B*129 x 128, channels-last) = (segment (128 x 129, band-major) - mean) / std */
NN_HOT static void normalise_input(const nn_model *m, const float *segs, int n, float *x0)
{
    const float mu = m->norm_mean, inv = 1.0f / m->norm_std;
    enum { TB = 16 };
    for (int b = 0; b < n; b++) {
        const float *s = segs + (size_t)b * NN_SEG_SIZE;
        float *x = x0 + (size_t)b * NN_SEG_SIZE;
        for (int t0 = 0; t0 < NN_IN_FRAMES; t0 += TB) {
            int t1 = t0 + TB < NN_IN_FRAMES ? t0 + TB : NN_IN_FRAMES;
            for (int c = 0; c < NN_IN_CHANNELS; c++) {
                const float *sc = s + (size_t)c * NN_IN_FRAMES;
                for (int t = t0; t < t1; t++) x[(size_t)t * NN_IN_CHANNELS + c] = (sc[t] - mu) * inv;
            }
        }
    }
}

/* Inference input: xp (128 x n*Tp, channels-first, Tp = 129 + pad_left + pad_right) holds segment b's
 * normalised band c at columns b*Tp + pad_left .. + 128, zeros in its pad columns: the band-major
 * segments are copied row by row, with no transpose (nn_conv_forward_padded reads the transpose). */
NN_HOT static void normalise_input_padded(const nn_model *m, const float *segs, int n, int pad_left, int pad_right,
                                          float *xp)
{
    const float mu = m->norm_mean, inv = 1.0f / m->norm_std;
    const int Tp = NN_IN_FRAMES + pad_left + pad_right;
    for (int c = 0; c < NN_IN_CHANNELS; c++)
        for (int b = 0; b < n; b++) {
            const float *sc = segs + (size_t)b * NN_SEG_SIZE + (size_t)c * NN_IN_FRAMES;
            float *x = xp + ((size_t)c * n + b) * Tp;
            for (int t = 0; t < pad_left; t++) x[t] = 0.0f;
            x += pad_left;
            for (int t = 0; t < NN_IN_FRAMES; t++) x[t] = (sc[t] - mu) * inv;
            for (int t = NN_IN_FRAMES; t < NN_IN_FRAMES + pad_right; t++) x[t] = 0.0f;
        }
}

/* Block l's convolution on oneDNN (conv_dnnl.c) rather than OpenBLAS: k > 1 and the kernels chosen
 * so (nn_kernels). oneDNN pads by itself, so its inference input carries no pad rows. */
static int use_dnnl(const nn_model *m, int l) { return m->conv[l].k > 1 && nn_kernels() == NN_KERNELS_ONEDNN; }
static int eval_pad_left(const nn_model *m, int l) { return use_dnnl(m, l) ? 0 : m->conv[l].pad_left; }
static int eval_pad_right(const nn_model *m, int l)
{
    return use_dnnl(m, l) ? 0 : m->conv[l].k - 1 - m->conv[l].pad_left;
}

/* conv of block l on its inference input ws[l].xp (n segments) into ws[l].z; returns the rows per
 * segment in z (frame t of segment b is row b*Tz + t) */
static int eval_conv(nn_model *m, int l, int n)
{
    const nn_conv_desc *d = &m->conv[l];
    nn_conv_ws *w = &m->ws[l];
    if (use_dnnl(m, l)) {
        nn_dnnl_conv_forward(w->xp, n, d->t_in, d->cin, d->cout, d->k, 0, m->params + d->w_off, w->z);
        return d->t_in;
    }
    nn_conv_forward_padded(w->xp, n, d->t_in, d->cin, d->cout, d->k, l == 0, m->params + d->w_off, w->z);
    return d->t_in + d->k - 1;
}

/* Eval-mode block l (0-based) on the n segments of its padded input ws[l].xp: conv, then BN with the
 * running statistics + ReLU + max-pool written as the next block's padded input (or into out, the
 * n x 256 features, after the last block). */
static void eval_block(nn_model *m, int l, int n, float *out)
{
    const nn_conv_desc *d = &m->conv[l];
    nn_conv_ws *w = &m->ws[l];
    const int Tz = eval_conv(m, l, n);
    float scale[NN_FEATURE_DIM], shift[NN_FEATURE_DIM];
    const float *g = m->params + d->g_off, *be = m->params + d->beta_off, *bias = m->params + d->b_off;
    const float *rm = m->bn + d->rm_off, *rv = m->bn + d->rv_off;
    for (int c = 0; c < d->cout; c++) {
        scale[c] = g[c] / sqrtf(rv[c] + m->bn_eps);
        shift[c] = be[c] + (bias[c] - rm[c]) * scale[c];
    }
    int pad_left = 0, pad_right = 0;
    if (l < NN_N_CONV - 1) {
        pad_left = eval_pad_left(m, l + 1);
        pad_right = eval_pad_right(m, l + 1);
    }
    nn_bn_eval_relu_pool(w->z, n, d->t_in, Tz, d->cout, d->pool, scale, shift, pad_left, pad_right, out);
}

/* Block 1 (three quarters of the FLOPs, the largest activations) runs in chunks of eval_chunk()
 * segments so that its padded input and conv output stay in L2; blocks 2-5 run over up to
 * NN_EVAL_BATCH segments at once, so their small GEMMs get more rows (see nn.h). */
static int eval_chunk(void)
{
    static int chunk = 0;
    if (!chunk) {
        const char *e = getenv("ARTISTNET_NN_CHUNK");
        chunk = e && atoi(e) > 0 ? atoi(e) : NN_EVAL_CHUNK;
    }
    return chunk;
}

/* floats of one segment of block l's (0-based, l >= 1) eval input ws[l].xp: rows of cin, pad rows included */
static size_t block_input_floats(const nn_model *m, int l)
{
    const nn_conv_desc *d = &m->conv[l];
    return (size_t)(d->t_in + eval_pad_left(m, l) + eval_pad_right(m, l)) * (size_t)d->cin;
}

/* Block 1's inference input ws[0].xp from nc raw segments: channels-last without pad rows for
 * oneDNN, else the zero-padded channels-first copy (normalise_input_padded) */
static void block1_input(nn_model *m, const float *segs, int nc)
{
    const nn_conv_desc *d0 = &m->conv[0];
    if (use_dnnl(m, 0))
        normalise_input(m, segs, nc, m->ws[0].xp);
    else
        normalise_input_padded(m, segs, nc, d0->pad_left, d0->k - 1 - d0->pad_left, m->ws[0].xp);
}

/* conv of block l (0-based) on its padded input ws[l].xp (n segments), then per channel the sums of
 * z + bias and of its square over the n x t_in real frames, added to sums (rows in order, double) */
static void conv_sums(nn_model *m, int l, int n, double *sums)
{
    const nn_conv_desc *d = &m->conv[l];
    nn_conv_ws *w = &m->ws[l];
    const int Tp = eval_conv(m, l, n), C = d->cout;
    const float *bias = m->params + d->b_off;
    double *s1 = sums, *s2 = sums + C;
    for (int b = 0; b < n; b++)
        for (int t = 0; t < d->t_in; t++) {
            const float *z = w->z + ((size_t)b * Tp + t) * C;
            for (int c = 0; c < C; c++) {
                const double v = (double)z[c] + bias[c];
                s1[c] += v;
                s2[c] += v * v;
            }
        }
}

/* The eval pass over n segments. sums == NULL: all five blocks, the features into feat. With sums:
 * blocks 1..layer-1, then only the conv of `layer`, whose per-channel sums are added to sums. */
static void forward_eval(nn_model *m, const float *segs, int n, float *feat, int layer, double *sums)
{
    const int L = sums ? layer - 1 : NN_N_CONV; /* blocks 0..L-1 run whole */
    const int chunk = eval_chunk(), batch = m->cap < NN_EVAL_BATCH ? m->cap : NN_EVAL_BATCH;
    const size_t seg_x1 = block_input_floats(m, 1); /* one segment of block 2's input */
    for (int s0 = 0; s0 < n; s0 += batch) {
        const int nb = n - s0 < batch ? n - s0 : batch;
        for (int s = 0; s < nb; s += chunk) {
            const int nc = nb - s < chunk ? nb - s : chunk;
            block1_input(m, segs + (size_t)(s0 + s) * NN_SEG_SIZE, nc);
            if (L == 0)
                conv_sums(m, 0, nc, sums);
            else
                eval_block(m, 0, nc, m->ws[1].xp + (size_t)s * seg_x1);
        }
        if (L == 0) continue;
        for (int l = 1; l < L; l++)
            eval_block(m, l, nb, l < NN_N_CONV - 1 ? m->ws[l + 1].xp : feat + (size_t)s0 * NN_FEATURE_DIM);
        if (sums) conv_sums(m, L, nb, sums);
    }
}

static int check_call(nn_model *m, const float *segs, int n, const void *out, char *err, size_t errlen)
{
    if (n < 0 || (n > 0 && (!segs || !out)))
        return util_fail(err, errlen, UTIL_EFAIL, "nn: bad arguments (n = %d)", n);
    return nn_reserve(m, n, err, errlen);
}

/* ---- precise BN with each block's input kept between layers (nn.h) ---- */

size_t nn_bn_input_floats(const nn_model *m, int layer)
{
    return layer >= 2 && layer <= NN_N_CONV ? block_input_floats(m, layer - 1) : 0;
}

int nn_bn_sums_at(nn_model *m, int layer, const float *in, int n, double *sums, char *err, size_t errlen)
{
    if (layer == 1) return nn_bn_layer_sums(m, 1, in, n, sums, err, errlen);
    if (layer < 2 || layer > NN_N_CONV) return util_fail(err, errlen, UTIL_EUSAGE, "nn: no conv layer %d", layer);
    int rc = check_call(m, in, n, sums, err, errlen);
    if (rc || n == 0) return rc;
    /* the batches of forward_eval, so the GEMMs have its shapes: the sums of nn_bn_layer_sums bitwise */
    const int L = layer - 1, batch = m->cap < NN_EVAL_BATCH ? m->cap : NN_EVAL_BATCH;
    const size_t per = block_input_floats(m, L);
    for (int s0 = 0; s0 < n; s0 += batch) {
        const int nb = n - s0 < batch ? n - s0 : batch;
        memcpy(m->ws[L].xp, in + (size_t)s0 * per, (size_t)nb * per * sizeof(float));
        conv_sums(m, L, nb, sums);
    }
    return 0;
}

int nn_bn_advance(nn_model *m, int layer, const float *in, int n, float *out, char *err, size_t errlen)
{
    if (layer < 1 || layer >= NN_N_CONV) return util_fail(err, errlen, UTIL_EUSAGE, "nn: no block after layer %d", layer);
    int rc = check_call(m, in, n, out, err, errlen);
    if (rc || n == 0) return rc;
    const int L = layer - 1, batch = m->cap < NN_EVAL_BATCH ? m->cap : NN_EVAL_BATCH, chunk = eval_chunk();
    const size_t next = block_input_floats(m, layer);
    for (int s0 = 0; s0 < n; s0 += batch) {
        const int nb = n - s0 < batch ? n - s0 : batch;
        if (L == 0) /* block 1 from the raw segments, in forward_eval's chunks */
            for (int s = 0; s < nb; s += chunk) {
                const int nc = nb - s < chunk ? nb - s : chunk;
                block1_input(m, in + (size_t)(s0 + s) * NN_SEG_SIZE, nc);
                eval_block(m, 0, nc, m->ws[1].xp + (size_t)s * next);
            }
        else {
            const size_t per = block_input_floats(m, L);
            memcpy(m->ws[L].xp, in + (size_t)s0 * per, (size_t)nb * per * sizeof(float));
            eval_block(m, L, nb, m->ws[layer].xp);
        }
        memcpy(out + (size_t)s0 * next, m->ws[layer].xp, (size_t)nb * next * sizeof(float));
    }
    return 0;
}

int nn_forward_features(nn_model *m, const float *segs, int n, float *feat, char *err, size_t errlen)
{
    int rc = check_call(m, segs, n, feat, err, errlen);
    if (rc || n == 0) return rc;
    forward_eval(m, segs, n, feat, 0, NULL);
    return 0;
}

int nn_forward_logits(nn_model *m, const float *segs, int n, float *logits, char *err, size_t errlen)
{
    if (m->n_classes <= 0)
        return util_fail(err, errlen, UTIL_EINPUT, "nn: the model has no classifier (feature extractor only)");
    int rc = check_call(m, segs, n, logits, err, errlen);
    if (rc || n == 0) return rc;
    forward_eval(m, segs, n, m->ws[NN_N_CONV - 1].p, 0, NULL);
    nn_dense_forward(m->ws[NN_N_CONV - 1].p, n, NN_FEATURE_DIM, m->n_classes, m->params + m->dense_w_off,
                     m->params + m->dense_b_off, logits);
    return 0;
}

const float *nn_train_logits(const nn_model *m) { return m->logits; }

int nn_train_accumulate(nn_model *m, const float *segs, const int *labels, int n,
                        const nn_train_opts *opt, double *loss_sum, char *err, size_t errlen)
{
    const int C = m->n_classes;
    if (C <= 0) return util_fail(err, errlen, UTIL_EINPUT, "nn: cannot train a model without classes");
    int rc = check_call(m, segs, n, labels, err, errlen);
    if (rc) return rc;
    if (n == 0) {
        if (loss_sum) *loss_sum = 0;
        return 0;
    }
    nn_train_opts def = {0, 0.0f, 0, NULL, NULL, NULL};
    if (!opt) opt = &def;
    int micro = opt->micro_batch > 0 && opt->micro_batch < n ? opt->micro_batch : n;
    if (micro < 2 || n % micro == 1)
        return util_fail(err, errlen, UTIL_EUSAGE,
                         "nn: a micro-batch of one segment (batch %d, micro-batch %d): batch norm needs >= 2", n, micro);
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= C)
            return util_fail(err, errlen, UTIL_EINPUT, "nn: label %d of segment %d outside [0, %d)", labels[i], i, C);
    if (opt->dropout < 0.0f || opt->dropout >= 1.0f)
        return util_fail(err, errlen, UTIL_EUSAGE, "nn: dropout %g outside [0, 1)", opt->dropout);

    float *tail = m->grads + m->tail_off;
    /* forward */
    normalise_input(m, segs, n, m->x0);
    const float *x = m->x0;
    int groups = 0;
    for (int l = 0; l < NN_N_CONV; l++) {
        const nn_conv_desc *d = &m->conv[l];
        nn_conv_ws *w = &m->ws[l];
        if (use_dnnl(m, l))
            nn_dnnl_conv_forward(x, n, d->t_in, d->cin, d->cout, d->k, 1, m->params + d->w_off, w->z);
        else
            nn_conv_forward(x, n, d->t_in, d->cin, d->cout, d->k, m->params + d->w_off, NULL, w->col, w->z);
        if (d->pool > 1)
            groups = nn_bn_train_forward_pool(w->z, n * d->t_in, d->cout, micro * d->t_in, d->t_in, d->pool,
                                              m->params + d->b_off, m->params + d->g_off, m->params + d->beta_off,
                                              m->bn_eps, w->mean, w->invstd, tail + d->acc_off,
                                              tail + d->acc_off + d->cout, m->acc, w->y, w->p);
        else
            groups = nn_bn_train_forward(w->z, n * d->t_in, d->cout, micro * d->t_in, m->params + d->b_off,
                                         m->params + d->g_off, m->params + d->beta_off, m->bn_eps, 1, w->mean,
                                         w->invstd, tail + d->acc_off, tail + d->acc_off + d->cout, m->acc, w->p);
        x = w->p;
        if (opt->between_layers) opt->between_layers(opt->between_arg);
    }
    const float *feat = x;
    const float *mask = opt->dropout_mask;
    const float *h = feat;
    if (!mask && opt->dropout > 0.0f) {
        nn_dropout_mask(opt->dropout_seed, opt->dropout, n, NN_FEATURE_DIM, m->mask);
        mask = m->mask;
    }
    if (mask) {
        for (size_t i = 0; i < (size_t)n * NN_FEATURE_DIM; i++) m->drop[i] = feat[i] * mask[i];
        h = m->drop;
    }
    float *Wd = m->params + m->dense_w_off;
    nn_dense_forward(h, n, NN_FEATURE_DIM, C, Wd, m->params + m->dense_b_off, m->logits);
    double loss = nn_softmax_xent(m->logits, labels, n, C, m->dlogits);
    if (loss_sum) *loss_sum = loss;

    /* backward */
    nn_dense_backward(h, m->dlogits, n, NN_FEATURE_DIM, C, Wd, m->grads + m->dense_w_off,
                      m->grads + m->dense_b_off, m->dfeat);
    if (mask)
        for (size_t i = 0; i < (size_t)n * NN_FEATURE_DIM; i++) m->dfeat[i] *= mask[i];
    float *dp = m->dfeat;
    int which = 0;
    for (int l = NN_N_CONV - 1; l >= 0; l--) {
        const nn_conv_desc *d = &m->conv[l];
        nn_conv_ws *w = &m->ws[l];
        const int rows = n * d->t_in;
        float *dy;
        const float *y;
        if (d->pool > 1) {
            nn_maxpool_backward(w->y, w->p, dp, n, d->t_in, d->cout, d->pool, m->dy);
            dy = m->dy;
            y = w->y;
        } else {
            dy = dp; /* layer 5: y is the feature itself */
            y = w->p;
        }
        nn_bn_train_backward(w->z, y, dy, rows, d->cout, micro * d->t_in, m->params + d->g_off, w->mean,
                             w->invstd, m->grads + d->g_off, m->grads + d->beta_off, m->grads + d->b_off,
                             m->acc);
        const float *xin = l > 0 ? m->ws[l - 1].p : m->x0;
        float *dx = l > 0 ? m->dp[which] : NULL;
        if (use_dnnl(m, l))
            nn_dnnl_conv_backward(xin, dy, n, d->t_in, d->cin, d->cout, d->k, m->params + d->w_off,
                                  m->grads + d->w_off, dx);
        else
            nn_conv_backward(d->k > 1 ? w->col : xin, dy, n, d->t_in, d->cin, d->cout, d->k, m->params + d->w_off,
                             m->grads + d->w_off, NULL, m->dcol, dx);
        dp = dx;
        which ^= 1;
        if (opt->between_layers) opt->between_layers(opt->between_arg);
    }
    tail[m->n_grads - m->tail_off - 2] += (float)groups;
    tail[m->n_grads - m->tail_off - 1] += (float)n;
    return 0;
}

int nn_bn_layer_sums(nn_model *m, int layer, const float *segs, int n, double *sums, char *err, size_t errlen)
{
    if (layer < 1 || layer > NN_N_CONV) return util_fail(err, errlen, UTIL_EUSAGE, "nn: no conv layer %d", layer);
    int rc = check_call(m, segs, n, sums, err, errlen);
    if (rc || n == 0) return rc;
    forward_eval(m, segs, n, NULL, layer, sums);
    return 0;
}
