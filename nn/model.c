/* model.c - the DCNN's parameters in one flat buffer (llm.c's params_memory): layout, allocation,
 * initialisation (He-uniform convs as the authors' Keras code, Glorot-uniform dense as Keras's
 * default), accessors, the provenance checksum and the work buffers for a batch size. */
#include "nn/nn_blas.h"
#include "nn/nn_internal.h"
#include "extract/extract.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int conv_k[NN_N_CONV] = {4, 4, 4, 2, 1};
static const int conv_out[NN_N_CONV] = {128, 128, 128, 128, 256};
static const int conv_pool[NN_N_CONV] = {4, 4, 4, 2, 1};

void nn_conv_shape(int layer, int *k, int *in, int *out, int *frames_in, int *pool)
{
    int t = NN_IN_FRAMES;
    for (int l = 1; l < layer; l++) t /= conv_pool[l - 1];
    if (k) *k = conv_k[layer - 1];
    if (in) *in = layer == 1 ? NN_IN_CHANNELS : conv_out[layer - 2];
    if (out) *out = conv_out[layer - 1];
    if (frames_in) *frames_in = t;
    if (pool) *pool = conv_pool[layer - 1];
}

nn_frontend nn_frontend_default(void)
{
    nn_frontend fe;
    memset(&fe, 0, sizeof fe);
    fe.sr = EXTRACT_SR;
    fe.n_fft = EXTRACT_N_FFT;
    fe.hop = EXTRACT_HOP;
    fe.n_mels = EXTRACT_N_MELS;
    fe.segment_frames = EXTRACT_SEG_FRAMES;
    fe.fmin = EXTRACT_FMIN;
    fe.fmax = EXTRACT_FMAX;
    snprintf(fe.spectrum, sizeof fe.spectrum, "magnitude");
    snprintf(fe.mel_scale, sizeof fe.mel_scale, "slaney");
    snprintf(fe.mel_norm, sizeof fe.mel_norm, "slaney");
    snprintf(fe.log_compression, sizeof fe.log_compression, "log10(1+10*M)");
    snprintf(fe.resampler, sizeof fe.resampler, "%s", extract_resampler_name(EXTRACT_RESAMPLER_DEFAULT));
    return fe;
}

int nn_frontend_check(const nn_frontend *fe, const char *what, char *err, size_t errlen)
{
    nn_frontend d = nn_frontend_default();
#define FE_INT(f) \
    if (fe->f != d.f) return util_fail(err, errlen, UTIL_EINPUT, "%s: front end " #f " is %d, this build computes %d", what, fe->f, d.f)
#define FE_DBL(f) \
    if (fabs(fe->f - d.f) > 1e-6 * (1 + fabs(d.f))) return util_fail(err, errlen, UTIL_EINPUT, "%s: front end " #f " is %g, this build computes %g", what, fe->f, d.f)
#define FE_STR(f) \
    if (strcmp(fe->f, d.f)) return util_fail(err, errlen, UTIL_EINPUT, "%s: front end " #f " is '%s', this build computes '%s'", what, fe->f, d.f)
    FE_INT(sr); FE_INT(n_fft); FE_INT(hop); FE_INT(n_mels); FE_INT(segment_frames);
    FE_DBL(fmin); FE_DBL(fmax);
    FE_STR(spectrum); FE_STR(mel_scale); FE_STR(mel_norm); FE_STR(log_compression);
    extract_resampler rs;
    if (extract_resampler_parse(fe->resampler, &rs))
        return util_fail(err, errlen, UTIL_EINPUT, "%s: front end resampler is '%s', this build has %s", what,
                         fe->resampler, EXTRACT_RESAMPLER_NAMES);
#undef FE_INT
#undef FE_DBL
#undef FE_STR
    return 0;
}

static void ws_free(nn_model *m)
{
    free(m->x0);
    for (int l = 0; l < NN_N_CONV; l++) {
        nn_conv_ws *w = &m->ws[l];
        free(w->col); free(w->xp); free(w->z); free(w->y); free(w->p); free(w->mean); free(w->invstd);
    }
    free(m->drop); free(m->logits); free(m->dlogits); free(m->dfeat); free(m->mask);
    free(m->dp[0]); free(m->dp[1]); free(m->dy); free(m->dcol);
    m->x0 = NULL;
    memset(m->ws, 0, sizeof m->ws);
    m->drop = m->logits = m->dlogits = m->dfeat = m->mask = m->dp[0] = m->dp[1] = m->dy = m->dcol = NULL;
    m->cap = 0;
}

int nn_reserve(nn_model *m, int n, char *err, size_t errlen)
{
    if (n <= m->cap) return 0;
    ws_free(m);
    size_t B = (size_t)n, C = m->n_classes > 0 ? (size_t)m->n_classes : 1;
    int ok = (m->x0 = malloc(B * NN_SEG_SIZE * sizeof(float))) != NULL;
    size_t dp_max = B * NN_FEATURE_DIM, dy_max = 0, dcol_max = 0;
    for (int l = 0; l < NN_N_CONV && ok; l++) {
        const nn_conv_desc *d = &m->conv[l];
        nn_conv_ws *w = &m->ws[l];
        size_t rows = B * d->t_in;
        /* im2col buffers only for the OpenBLAS path: oneDNN convolves without them (issue 22) */
        const int im2col = d->k > 1 && nn_kernels() != NN_KERNELS_ONEDNN;
        if (im2col) ok &= (w->col = malloc(rows * d->k * d->cin * sizeof(float))) != NULL;
        size_t rows_pad = B * (d->t_in + d->k - 1);
        ok &= (w->xp = malloc(rows_pad * d->cin * sizeof(float))) != NULL;
        ok &= (w->z = malloc(rows_pad * d->cout * sizeof(float))) != NULL;
        ok &= (w->y = malloc(rows * d->cout * sizeof(float))) != NULL;
        ok &= (w->p = malloc(B * d->t_out * d->cout * sizeof(float))) != NULL;
        ok &= (w->mean = malloc(B * d->cout * sizeof(float))) != NULL;
        ok &= (w->invstd = malloc(B * d->cout * sizeof(float))) != NULL;
        if (B * d->t_out * d->cout > dp_max) dp_max = B * d->t_out * d->cout;
        if (rows * d->cout > dy_max) dy_max = rows * d->cout;
        if (im2col && l > 0 && rows * d->k * d->cin > dcol_max) dcol_max = rows * d->k * d->cin;
        if (l > 0 && B * d->t_in * d->cin > dp_max) dp_max = B * d->t_in * d->cin;
    }
    if (ok) {
        ok &= (m->drop = malloc(B * NN_FEATURE_DIM * sizeof(float))) != NULL;
        ok &= (m->mask = malloc(B * NN_FEATURE_DIM * sizeof(float))) != NULL;
        ok &= (m->dfeat = malloc(B * NN_FEATURE_DIM * sizeof(float))) != NULL;
        ok &= (m->logits = malloc(B * C * sizeof(float))) != NULL;
        ok &= (m->dlogits = malloc(B * C * sizeof(float))) != NULL;
        ok &= (m->dp[0] = malloc(dp_max * sizeof(float))) != NULL;
        ok &= (m->dp[1] = malloc(dp_max * sizeof(float))) != NULL;
        ok &= (m->dy = malloc(dy_max * sizeof(float))) != NULL;
        ok &= (m->dcol = malloc((dcol_max ? dcol_max : 1) * sizeof(float))) != NULL;
    }
    if (!ok) {
        ws_free(m);
        return util_fail(err, errlen, UTIL_EFAIL, "nn: out of memory for work buffers of %d segments", n);
    }
    m->cap = n;
    return 0;
}

int nn_make(int n_classes, int max_batch, nn_model **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n_classes < 0 || n_classes > 10000000)
        return util_fail(err, errlen, UTIL_EINPUT, "nn: bad number of classes %d", n_classes);
    nn_model *m = calloc(1, sizeof *m);
    if (!m) return util_fail(err, errlen, UTIL_EFAIL, "nn: out of memory");
    m->n_classes = n_classes;
    size_t off = 0, bn = 0, acc = 0;
    for (int l = 0; l < NN_N_CONV; l++) {
        nn_conv_desc *d = &m->conv[l];
        nn_conv_shape(l + 1, &d->k, &d->cin, &d->cout, &d->t_in, &d->pool);
        d->t_out = d->t_in / d->pool;
        d->pad_left = (d->k - 1) / 2;
        d->w_off = off; off += (size_t)d->k * d->cin * d->cout;
        d->b_off = off; off += d->cout;
        d->g_off = off; off += d->cout;
        d->beta_off = off; off += d->cout;
        d->rm_off = bn; bn += d->cout;
        d->rv_off = bn; bn += d->cout;
        d->acc_off = acc; acc += 2 * (size_t)d->cout;
    }
    m->dense_w_off = off; off += (size_t)NN_FEATURE_DIM * n_classes;
    m->dense_b_off = off; off += n_classes;
    m->n_params = off;
    m->tail_off = off;
    m->n_grads = off + acc + 2;
    m->n_bn = bn;
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_grads, sizeof(float));
    m->momentum = calloc(m->n_params, sizeof(float));
    m->bn = calloc(m->n_bn, sizeof(float));
    m->acc = calloc(4 * NN_FEATURE_DIM, sizeof(double));
    m->artists = n_classes ? calloc((size_t)n_classes, sizeof(char *)) : NULL;
    m->norm_mean = 0.0f;
    m->norm_std = 1.0f;
    m->bn_eps = (float)NN_BN_EPS;
    m->fe = nn_frontend_default();
    if (!m->params || !m->grads || !m->momentum || !m->bn || !m->acc || (n_classes && !m->artists)) {
        nn_free(m);
        return util_fail(err, errlen, UTIL_EFAIL, "nn: out of memory for %d classes", n_classes);
    }
    for (int l = 0; l < NN_N_CONV; l++) {
        for (int c = 0; c < m->conv[l].cout; c++) {
            m->params[m->conv[l].g_off + c] = 1.0f;
            m->bn[m->conv[l].rv_off + c] = 1.0f;
        }
    }
    int rc = nn_reserve(m, max_batch > 0 ? max_batch : 1, err, errlen);
    if (rc) {
        nn_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void nn_free(nn_model *m)
{
    if (!m) return;
    ws_free(m);
    if (m->artists)
        for (int i = 0; i < m->n_classes; i++) free(m->artists[i]);
    free(m->artists);
    free(m->source);
    free(m->params); free(m->grads); free(m->momentum); free(m->bn); free(m->acc);
    free(m);
}

/* uniform in [-1, 1) from a 64-bit stream */
static float uniform_pm1(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    uint64_t x = nn_hash64(*state);
    return (float)((double)(x >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

void nn_init(nn_model *m, uint64_t seed)
{
    uint64_t st = nn_hash64(seed ^ 0x6e6e5f696e6974ULL);
    memset(m->params, 0, m->n_params * sizeof(float));
    for (int l = 0; l < NN_N_CONV; l++) {
        const nn_conv_desc *d = &m->conv[l];
        size_t n = (size_t)d->k * d->cin * d->cout;
        float lim = (float)sqrt(6.0 / (d->k * d->cin));
        for (size_t i = 0; i < n; i++) m->params[d->w_off + i] = lim * uniform_pm1(&st);
        for (int c = 0; c < d->cout; c++) {
            m->params[d->g_off + c] = 1.0f;
            m->bn[d->rm_off + c] = 0.0f;
            m->bn[d->rv_off + c] = 1.0f;
        }
    }
    if (m->n_classes) {
        float lim = (float)sqrt(6.0 / (NN_FEATURE_DIM + m->n_classes));
        size_t n = (size_t)NN_FEATURE_DIM * m->n_classes;
        for (size_t i = 0; i < n; i++) m->params[m->dense_w_off + i] = lim * uniform_pm1(&st);
    }
    memset(m->momentum, 0, m->n_params * sizeof(float));
    memset(m->grads, 0, m->n_grads * sizeof(float));
    m->step = 0;
    m->norm_mean = 0.0f;
    m->norm_std = 1.0f;
}

int nn_n_classes(const nn_model *m) { return m->n_classes; }
float *nn_params(nn_model *m, size_t *n) { if (n) *n = m->n_params; return m->params; }
float *nn_grads(nn_model *m, size_t *n) { if (n) *n = m->n_grads; return m->grads; }
float *nn_bn_stats(nn_model *m, size_t *n) { if (n) *n = m->n_bn; return m->bn; }
float *nn_momentum(nn_model *m, size_t *n) { if (n) *n = m->n_params; return m->momentum; }
long nn_step(const nn_model *m) { return m->step; }
void nn_set_step(nn_model *m, long step) { m->step = step; }
void nn_grads_zero(nn_model *m) { memset(m->grads, 0, m->n_grads * sizeof(float)); }

size_t nn_tensor(const nn_model *m, int layer, const char *what, size_t *n)
{
    *n = 0;
    if (layer >= 1 && layer <= NN_N_CONV) {
        const nn_conv_desc *d = &m->conv[layer - 1];
        if (!strcmp(what, "kernel")) { *n = (size_t)d->k * d->cin * d->cout; return d->w_off; }
        if (!strcmp(what, "bias")) { *n = d->cout; return d->b_off; }
        if (!strcmp(what, "gamma")) { *n = d->cout; return d->g_off; }
        if (!strcmp(what, "beta")) { *n = d->cout; return d->beta_off; }
        if (!strcmp(what, "moving_mean")) { *n = d->cout; return d->rm_off; }
        if (!strcmp(what, "moving_variance")) { *n = d->cout; return d->rv_off; }
    } else if (layer == NN_N_CONV + 1 && m->n_classes > 0) {
        if (!strcmp(what, "kernel")) { *n = (size_t)NN_FEATURE_DIM * m->n_classes; return m->dense_w_off; }
        if (!strcmp(what, "bias")) { *n = m->n_classes; return m->dense_b_off; }
    }
    return 0;
}

void nn_set_norm(nn_model *m, float mean, float std) { m->norm_mean = mean; m->norm_std = std; }
void nn_get_norm(const nn_model *m, float *mean, float *std) { *mean = m->norm_mean; *std = m->norm_std; }
float nn_bn_epsilon(const nn_model *m) { return m->bn_eps; }
void nn_set_bn_epsilon(nn_model *m, float eps) { m->bn_eps = eps; }
nn_frontend *nn_frontend_of(nn_model *m) { return &m->fe; }

int nn_set_artists(nn_model *m, const char *const *names, int n, char *err, size_t errlen)
{
    if (n != m->n_classes)
        return util_fail(err, errlen, UTIL_EINPUT, "nn: %d artist names for a model of %d classes", n, m->n_classes);
    for (int i = 0; i < n; i++) {
        char *s = util_strdup(names[i] ? names[i] : "");
        if (!s) return util_fail(err, errlen, UTIL_EFAIL, "nn: out of memory");
        free(m->artists[i]);
        m->artists[i] = s;
    }
    return 0;
}

const char *nn_artist(const nn_model *m, int i)
{
    if (i < 0 || i >= m->n_classes || !m->artists[i]) return "";
    return m->artists[i];
}

void nn_set_source(nn_model *m, const char *source)
{
    free(m->source);
    m->source = source ? util_strdup(source) : NULL;
}

const char *nn_source(const nn_model *m) { return m->source ? m->source : ""; }

void nn_copy_features(nn_model *dst, const nn_model *src)
{
    size_t conv_params = src->conv[NN_N_CONV - 1].beta_off + src->conv[NN_N_CONV - 1].cout;
    memcpy(dst->params, src->params, conv_params * sizeof(float));
    memcpy(dst->bn, src->bn, src->n_bn * sizeof(float));
    dst->norm_mean = src->norm_mean;
    dst->norm_std = src->norm_std;
    dst->bn_eps = src->bn_eps;
    dst->fe = src->fe;
}

uint64_t nn_checksum(const nn_model *m)
{
    uint64_t h = UTIL_FNV_INIT;
    int32_t c = m->n_classes;
    h = util_fnv1a(h, &c, sizeof c);
    h = util_fnv1a(h, m->params, m->n_params * sizeof(float));
    h = util_fnv1a(h, m->bn, m->n_bn * sizeof(float));
    h = util_fnv1a(h, &m->norm_mean, sizeof(float));
    h = util_fnv1a(h, &m->norm_std, sizeof(float));
    return h;
}
