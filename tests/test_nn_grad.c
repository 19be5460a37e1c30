/* test_nn_grad.c - finite-difference checks of every DCNN layer's backward pass (ggml's
 * test-grad0): conv (k = 4, 2, 1, Keras "same" padding), batch norm in training mode with ReLU and
 * micro-batch groups, max-pooling, dense + softmax cross-entropy on small shapes; then the whole
 * network (nn_train_accumulate) on sampled parameters of every tensor. Central differences; the
 * objective is accumulated in double. Tolerances are stated at each check. */
#include "test_nn_common.h"
#include "nn/nn_blas.h"
#include "testutil.h"
#include "util/util.h"

#include <string.h>

static void rnd(uint64_t seed, float *x, size_t n, double scale) { tnn_formula(seed, n, scale, 0.0, x); }

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- conv: L = sum(z * R) ---- */
static int Bc = 2, Tc = 7, CI = 3, CO = 4, KC;
static float cw[4 * 3 * 4], cb[4], cx[2 * 7 * 3], cR[2 * 7 * 4], ccol[2 * 7 * 12], cz[2 * 7 * 4];
static double conv_loss(void)
{
    nn_conv_forward(cx, Bc, Tc, CI, CO, KC, cw, cb, ccol, cz);
    return dot(cz, cR, (size_t)Bc * Tc * CO);
}

static void fd_check(const char *what, float *x, size_t n, const float *analytic, double (*f)(void), float eps,
                     double atol, double rtol)
{
    float *num = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float s = x[i];
        x[i] = s + eps;
        double fp = f();
        x[i] = s - eps;
        double fm = f();
        x[i] = s;
        num[i] = (float)((fp - fm) / (2.0 * eps));
    }
    test_close(what, analytic, num, n, atol, rtol);
    free(num);
}

static void test_conv(int k)
{
    KC = k;
    rnd(1 + k, cw, (size_t)k * CI * CO, 1.0);
    rnd(2 + k, cb, CO, 1.0);
    rnd(3 + k, cx, (size_t)Bc * Tc * CI, 1.0);
    rnd(4 + k, cR, (size_t)Bc * Tc * CO, 1.0);
    float dw[4 * 3 * 4] = {0}, db[4] = {0}, dx[2 * 7 * 3], dcol[2 * 7 * 12];
    conv_loss();
    nn_conv_backward(k > 1 ? ccol : cx, cR, Bc, Tc, CI, CO, k, cw, dw, db, dcol, dx);
    char what[64];
    snprintf(what, sizeof what, "conv k=%d dW (tol 1e-3 + 1e-3 rel)", k);
    fd_check(what, cw, (size_t)k * CI * CO, dw, conv_loss, 1e-2f, 1e-3, 1e-3);
    snprintf(what, sizeof what, "conv k=%d dbias", k);
    fd_check(what, cb, CO, db, conv_loss, 1e-2f, 1e-3, 1e-3);
    snprintf(what, sizeof what, "conv k=%d dx", k);
    fd_check(what, cx, (size_t)Bc * Tc * CI, dx, conv_loss, 1e-2f, 1e-3, 1e-3);
}

/* ---- batch norm + ReLU, 2 groups of 6 rows, 3 channels: L = sum(y * R) ---- */
enum { BR = 12, BC = 3, BG = 6 };
static float bz[BR * BC], by[BR * BC], bR[BR * BC], bg[BC], bb[BC], bmu[2 * BC], bis[2 * BC];
static int brelu;
static double bn_loss(void)
{
    double acc[4 * BC];
    nn_bn_train_forward(bz, BR, BC, BG, NULL, bg, bb, 1e-3f, brelu, bmu, bis, NULL, NULL, acc, by);
    return dot(by, bR, BR * BC);
}

static void test_bn(int relu)
{
    brelu = relu;
    rnd(11, bz, BR * BC, 2.0);
    rnd(12, bR, BR * BC, 1.0);
    tnn_formula(13, BC, 0.5, 1.0, bg);
    rnd(14, bb, BC, 0.5);
    bn_loss();
    float dz[BR * BC], dg[BC] = {0}, dbe[BC] = {0}, dbias[BC] = {0};
    double acc[4 * BC];
    memcpy(dz, bR, sizeof dz);
    nn_bn_train_backward(bz, relu ? by : NULL, dz, BR, BC, BG, bg, bmu, bis, dg, dbe, dbias, acc);
    char what[64];
    snprintf(what, sizeof what, "bn%s dz (tol 2e-3 + 1e-2 rel)", relu ? "+relu" : "");
    fd_check(what, bz, BR * BC, dz, bn_loss, 1e-3f, 2e-3, 1e-2);
    snprintf(what, sizeof what, "bn%s dgamma", relu ? "+relu" : "");
    fd_check(what, bg, BC, dg, bn_loss, 1e-3f, 2e-3, 1e-2);
    snprintf(what, sizeof what, "bn%s dbeta", relu ? "+relu" : "");
    fd_check(what, bb, BC, dbe, bn_loss, 1e-3f, 2e-3, 1e-2);
    float zero[BC] = {0};
    test_close("bn: d(bias in front of bn) = 0 (tol 1e-5)", dbias, zero, BC, 1e-5, 0);
}

/* ---- max-pool 4 over 9 frames (one dropped): L = sum(p * R) ---- */
static float py[2 * 9 * 3], pp[2 * 2 * 3], pR[2 * 2 * 3];
static double pool_loss(void)
{
    nn_maxpool_forward(py, 2, 9, 3, 4, pp);
    return dot(pp, pR, 12);
}

static void test_pool(void)
{
    rnd(21, py, 54, 1.0);
    rnd(22, pR, 12, 1.0);
    pool_loss();
    float dy[54];
    nn_maxpool_backward(py, pp, pR, 2, 9, 3, 4, dy);
    fd_check("maxpool dy (tol 1e-3 + 1e-3 rel)", py, 54, dy, pool_loss, 1e-4f, 1e-3, 1e-3);
}

/* ---- dense + softmax cross-entropy ---- */
enum { DB = 3, DI = 5, DO = 4 };
static float dx_[DB * DI], dw_[DI * DO], db_[DO], dl[DB * DO], dd[DB * DO];
static const int dlab[DB] = {0, 3, 1};
static double dense_loss(void)
{
    nn_dense_forward(dx_, DB, DI, DO, dw_, db_, dl);
    return nn_softmax_xent(dl, dlab, DB, DO, dd);
}

static void test_dense(void)
{
    rnd(31, dx_, DB * DI, 1.0);
    rnd(32, dw_, DI * DO, 1.0);
    rnd(33, db_, DO, 1.0);
    dense_loss();
    float gw[DI * DO] = {0}, gb[DO] = {0}, gx[DB * DI];
    nn_dense_backward(dx_, dd, DB, DI, DO, dw_, gw, gb, gx);
    fd_check("dense+xent dW (tol 1e-3 + 1e-2 rel)", dw_, DI * DO, gw, dense_loss, 1e-3f, 1e-3, 1e-2);
    fd_check("dense+xent db", db_, DO, gb, dense_loss, 1e-3f, 1e-3, 1e-2);
    fd_check("dense+xent dx", dx_, DB * DI, gx, dense_loss, 1e-3f, 1e-3, 1e-2);
}

/* ---- the whole net ---- */
enum { NC = 5, NN = 6 };
static nn_model *net;
static float *nsegs, nmask[NN * NN_FEATURE_DIM];
static int nlab[NN] = {0, 1, 2, 4, 3, 1};
static double net_loss(void)
{
    char err[256];
    double loss = 0;
    nn_train_opts o = {3, 0.5f, 0, nmask, NULL, NULL};
    if (nn_train_accumulate(net, nsegs, nlab, NN, &o, &loss, err, sizeof err)) fprintf(stderr, "%s\n", err);
    return loss;
}

static void test_net(void)
{
    char err[256];
    CHECK(nn_make(NC, NN, &net, err, sizeof err) == 0);
    nn_init(net, 5);
    nn_set_norm(net, 0.75f, 0.5f);
    nsegs = malloc((size_t)NN * NN_SEG_SIZE * sizeof(float));
    tnn_formula(41, (size_t)NN * NN_SEG_SIZE, 0.75, 0.75, nsegs);
    tnn_formula(42, NN * NN_FEATURE_DIM, 0.5, 0.5, nmask);
    for (int i = 0; i < NN * NN_FEATURE_DIM; i++) nmask[i] = nmask[i] < 0.5f ? 0.0f : 2.0f;
    size_t np;
    float *p = nn_params(net, &np);
    float *g = nn_grads(net, NULL);
    nn_grads_zero(net);
    net_loss();
    float *ga = malloc(np * sizeof(float));
    memcpy(ga, g, np * sizeof(float));
    static const char *names[4] = {"kernel", "bias", "gamma", "beta"};
    enum { SAMPLES = 6 };
    for (int l = 1; l <= NN_N_CONV + 1; l++)
        for (int w = 0; w < (l <= NN_N_CONV ? 4 : 2); w++) {
            size_t n, off = nn_tensor(net, l, names[w], &n);
            float an[SAMPLES], num[SAMPLES];
            double gmax = 0;
            for (size_t i = 0; i < n; i++) gmax = fabs(ga[off + i]) > gmax ? fabs(ga[off + i]) : gmax;
            for (int s = 0; s < SAMPLES; s++) {
                /* the largest-gradient element first, then spread ones */
                size_t i = off;
                if (s == 0) {
                    for (size_t j = 0; j < n; j++)
                        if (fabs(ga[off + j]) == gmax) { i = off + j; break; }
                } else {
                    i = off + (size_t)(nn_hash64(l * 100 + w * 10 + s) % n);
                }
                float save = p[i], eps = 2e-3f;
                p[i] = save + eps;
                double fp = net_loss();
                p[i] = save - eps;
                double fm = net_loss();
                p[i] = save;
                an[s] = ga[i];
                num[s] = (float)((fp - fm) / (2.0 * eps));
            }
            char what[96];
            snprintf(what, sizeof what, "net %s%d/%s sampled (tol 1e-2*max|g| + 5e-2 rel)", l <= NN_N_CONV ? "conv" : "dense",
                     l <= NN_N_CONV ? l : 0, names[w]);
            /* conv biases: the gradient is exactly 0 (batch norm); the FD of a constant loss is noise */
            double atol = (l <= NN_N_CONV && w == 1) ? 2e-3 : 1e-2 * gmax;
            test_close(what, an, num, SAMPLES, atol, 5e-2);
        }
    nn_grads_zero(net);
    free(ga);
    free(nsegs);
    nn_free(net);
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv); /* the kernels artistnet uses, one thread */
    test_conv(4);
    test_conv(2);
    test_conv(1);
    test_bn(0);
    test_bn(1);
    test_pool();
    test_dense();
    test_net();
    return test_done("test_nn_grad");
}
