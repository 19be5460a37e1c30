/* test_nn_eval.c - the inference path (zero-padded batch, k accumulating SGEMMs, no im2col; block 1
 * in chunks, blocks 2-5 over up to 64 segments) against the plain im2col formulation that training
 * uses: nn_conv_forward_padded for k = 1..4 in both input layouts, then whole-network features and
 * logits for batch sizes around the chunk and batch boundaries against a segment-by-segment
 * reference built from nn_conv_forward, the eval BN formula and nn_maxpool_forward; precise BN from
 * kept block inputs (nn_bn_sums_at, nn_bn_advance) == nn_bn_layer_sums bitwise for 3, 17, 64, 70
 * segments. Run once with the default chunk and once with ARTISTNET_NN_CHUNK=3 (tests/nn.cmake). */
#include "test_nn_common.h"
#include "nn/nn_blas.h"
#include "testutil.h"
#include "util/util.h"

#include <string.h>

/* padded conv vs im2col conv on a small shape */
static void test_conv_padded(int k)
{
    enum { B = 3, T = 7, CI = 5, CO = 6 };
    const int pl = (k - 1) / 2, Tp = T + k - 1;
    float x[B * T * CI], w[4 * CI * CO], col[B * T * 4 * CI], z[B * T * CO];
    float xcl[B * (T + 3) * CI], xcf[CI * B * (T + 3)], zp[B * (T + 3) * CO], got[B * T * CO];
    tnn_formula(10 + k, B * T * CI, 1.0, 0.0, x);
    tnn_formula(20 + k, (size_t)k * CI * CO, 1.0, 0.0, w);
    nn_conv_forward(x, B, T, CI, CO, k, w, NULL, col, z);
    memset(xcl, 0, sizeof xcl);
    memset(xcf, 0, sizeof xcf);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < CI; c++) {
                float v = x[(b * T + t) * CI + c];
                xcl[(b * Tp + pl + t) * CI + c] = v;
                xcf[c * B * Tp + b * Tp + pl + t] = v;
            }
    for (int layout = 0; layout < 2; layout++) {
        for (size_t i = 0; i < sizeof zp / sizeof *zp; i++) zp[i] = NAN; /* junk rows must not leak */
        nn_conv_forward_padded(layout ? xcf : xcl, B, T, CI, CO, k, layout, w, zp);
        for (int b = 0; b < B; b++) memcpy(got + b * T * CO, zp + b * Tp * CO, T * CO * sizeof(float));
        char what[96];
        snprintf(what, sizeof what, "padded conv k=%d %s (tol 1e-5 + 1e-5 rel)", k,
                 layout ? "channels-first" : "channels-last");
        test_close(what, got, z, B * T * CO, 1e-5, 1e-5);
    }
}

/* eval features of one segment through the im2col path: x = normalised channels-last input */
static void reference_features(nn_model *m, const float *seg, float *feat)
{
    float mean, std;
    nn_get_norm(m, &mean, &std);
    const float *p = nn_params(m, NULL), *bn = nn_bn_stats(m, NULL);
    float *x = malloc(NN_SEG_SIZE * sizeof(float));
    for (int t = 0; t < NN_IN_FRAMES; t++)
        for (int c = 0; c < NN_IN_CHANNELS; c++)
            x[t * NN_IN_CHANNELS + c] = (seg[c * NN_IN_FRAMES + t] - mean) / std;
    for (int l = 1; l <= NN_N_CONV; l++) {
        int k, in, out, T, pool;
        size_t n;
        nn_conv_shape(l, &k, &in, &out, &T, &pool);
        float *col = malloc((size_t)T * k * in * sizeof(float)), *z = malloc((size_t)T * out * sizeof(float));
        float *y = malloc((size_t)(T / pool) * out * sizeof(float));
        nn_conv_forward(x, 1, T, in, out, k, p + nn_tensor(m, l, "kernel", &n), p + nn_tensor(m, l, "bias", &n), col, z);
        const float *g = p + nn_tensor(m, l, "gamma", &n), *be = p + nn_tensor(m, l, "beta", &n);
        const float *rm = bn + nn_tensor(m, l, "moving_mean", &n), *rv = bn + nn_tensor(m, l, "moving_variance", &n);
        for (int t = 0; t < T; t++)
            for (int c = 0; c < out; c++) {
                float v = g[c] * (z[t * out + c] - rm[c]) / sqrtf(rv[c] + nn_bn_epsilon(m)) + be[c];
                z[t * out + c] = v > 0.0f ? v : 0.0f;
            }
        nn_maxpool_forward(z, 1, T, out, pool, l == NN_N_CONV ? feat : y);
        free(x);
        free(col);
        free(z);
        x = y;
    }
    free(x);
}

/* precise BN with kept block inputs (nn_bn_sums_at, nn_bn_advance) == nn_bn_layer_sums bitwise,
 * layer by layer, each layer's statistics changed (as a recalibration does) before the next */
static void test_bn_kept(nn_model *m, const float *segs, int n)
{
    char err[UTIL_ERRLEN];
    size_t cap = 0;
    for (int l = 2; l <= NN_N_CONV; l++)
        if (nn_bn_input_floats(m, l) > cap) cap = nn_bn_input_floats(m, l);
    float *in = malloc((size_t)n * cap * sizeof(float) + 1), *next = malloc((size_t)n * cap * sizeof(float) + 1);
    double *a = calloc(2 * NN_FEATURE_DIM, sizeof *a), *b = calloc(2 * NN_FEATURE_DIM, sizeof *b);
    float *bn = nn_bn_stats(m, NULL);
    for (int l = 1; l <= NN_N_CONV; l++) {
        int cout;
        nn_conv_shape(l, NULL, NULL, &cout, NULL, NULL);
        memset(a, 0, 2 * NN_FEATURE_DIM * sizeof *a);
        memset(b, 0, 2 * NN_FEATURE_DIM * sizeof *b);
        CHECK(nn_bn_layer_sums(m, l, segs, n, a, err, sizeof err) == 0);
        CHECK(nn_bn_sums_at(m, l, l == 1 ? segs : in, n, b, err, sizeof err) == 0);
        CHECK_MSG(memcmp(a, b, 2 * (size_t)cout * sizeof *a) == 0,
                  "kept-input BN sums differ from nn_bn_layer_sums, layer %d, %d segments", l, n);
        size_t k;
        float *rm = bn + nn_tensor(m, l, "moving_mean", &k), *rv = bn + nn_tensor(m, l, "moving_variance", &k);
        for (int c = 0; c < cout; c++) { /* new statistics for this layer, as a recalibration sets */
            rm[c] = (float)(a[c] / (n * 4.0) * 0.01);
            rv[c] = 0.5f + 0.01f * (float)c;
        }
        if (l < NN_N_CONV) {
            CHECK(nn_bn_advance(m, l, l == 1 ? segs : in, n, next, err, sizeof err) == 0);
            float *t = in;
            in = next;
            next = t;
        }
    }
    printf("precise BN from kept block inputs == nn_bn_layer_sums bitwise, layers 1-5, %d segments\n", n);
    free(in); free(next); free(a); free(b);
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv);
    for (int k = 1; k <= 4; k++) test_conv_padded(k);

    enum { C = 5, NMAX = 70 };
    char err[UTIL_ERRLEN];
    nn_model *m;
    CHECK(nn_make(C, 4, &m, err, sizeof err) == 0); /* grown on demand */
    tnn_fill(m);
    nn_set_norm(m, 0.75f, 0.5f);
    float *segs = malloc((size_t)NMAX * NN_SEG_SIZE * sizeof(float));
    float *ref = malloc((size_t)NMAX * NN_FEATURE_DIM * sizeof(float));
    float *feat = malloc((size_t)NMAX * NN_FEATURE_DIM * sizeof(float));
    float *logits = malloc((size_t)NMAX * C * sizeof(float)), *ref_logits = malloc((size_t)NMAX * C * sizeof(float));
    tnn_formula(3000, (size_t)NMAX * NN_SEG_SIZE, 0.75, 0.75, segs);
    for (int i = 0; i < NMAX; i++) reference_features(m, segs + (size_t)i * NN_SEG_SIZE, ref + (size_t)i * NN_FEATURE_DIM);
    size_t n;
    const float *p = nn_params(m, NULL);
    nn_dense_forward(ref, NMAX, NN_FEATURE_DIM, C, p + nn_tensor(m, 6, "kernel", &n), p + nn_tensor(m, 6, "bias", &n),
                     ref_logits);
    const char *chunk = getenv("ARTISTNET_NN_CHUNK");
    printf("inference chunk: %s\n", chunk ? chunk : "default");
    static const int sizes[] = {1, 2, 3, 8, 9, 17, 64, 65, NMAX};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        int b = sizes[i];
        char what[96];
        for (size_t j = 0; j < (size_t)b * NN_FEATURE_DIM; j++) feat[j] = NAN;
        CHECK(nn_forward_features(m, segs, b, feat, err, sizeof err) == 0);
        snprintf(what, sizeof what, "features, batch %d (tol 1e-5 + 1e-4 rel)", b);
        test_close(what, feat, ref, (size_t)b * NN_FEATURE_DIM, 1e-5, 1e-4);
        CHECK(nn_forward_logits(m, segs, b, logits, err, sizeof err) == 0);
        snprintf(what, sizeof what, "logits, batch %d (tol 1e-5 + 1e-4 rel)", b);
        test_close(what, logits, ref_logits, (size_t)b * C, 1e-5, 1e-4);
    }
    static const int bn_sizes[] = {3, 17, 64, NMAX};
    for (size_t i = 0; i < sizeof bn_sizes / sizeof *bn_sizes; i++) test_bn_kept(m, segs, bn_sizes[i]);
    nn_free(m);
    free(segs); free(ref); free(feat); free(logits); free(ref_logits);
    return test_done("test_nn_eval");
}
