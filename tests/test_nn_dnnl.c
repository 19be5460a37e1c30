/* test_nn_dnnl.c - the oneDNN convolutions (conv_dnnl.c, issue 22) against the OpenBLAS ones
 * (conv.c, themselves checked by finite differences in test_nn_grad): forward z, backward dw
 * (accumulated) and dx on small odd shapes and on the net's block-1 shape, k = 4, 3, 2; then the
 * properties rank invariance relies on: a segment's forward bits do not depend on the batch it is
 * computed in (1, 3 or 8 segments), and repeated calls give the same bits. Tolerance: 1e-5 * the
 * tensor's largest |value| + 1e-4 rel (float sums of up to 512 products in another order).
 * Without oneDNN in the build it says so and passes. */
#include "nn/nn_blas.h"
#include "nn/nn_internal.h"
#include "util/util.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *rnd(size_t n, unsigned seed) { return util_uniform_floats(n, seed, -1.0f, 1.0f); }

static double amax(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static void check_shape(int B, int T, int cin, int cout, int k)
{
    char what[128];
    const size_t nx = (size_t)B * T * cin, nz = (size_t)B * T * cout, nw = (size_t)k * cin * cout;
    float *x = rnd(nx, 1), *w = rnd(nw, 2), *dz = rnd(nz, 3);
    float *z0 = malloc(nz * sizeof(float)), *z1 = malloc(nz * sizeof(float)), *col = malloc(nx * k * sizeof(float));
    float *dcol = malloc(nx * k * sizeof(float)), *dx0 = malloc(nx * sizeof(float)), *dx1 = malloc(nx * sizeof(float));
    float *dw0 = rnd(nw, 4), *dw1 = malloc(nw * sizeof(float));
    memcpy(dw1, dw0, nw * sizeof(float)); /* both accumulate onto the same start */

    nn_conv_forward(x, B, T, cin, cout, k, w, NULL, col, z0);
    nn_dnnl_conv_forward(x, B, T, cin, cout, k, 1, w, z1);
    snprintf(what, sizeof what, "forward B %d T %d cin %d cout %d k %d", B, T, cin, cout, k);
    test_close(what, z1, z0, nz, 1e-5 * amax(z0, nz), 1e-4);
    nn_dnnl_conv_forward(x, B, T, cin, cout, k, 0, w, z1); /* the inference primitive */
    snprintf(what, sizeof what, "inference forward B %d T %d cin %d cout %d k %d", B, T, cin, cout, k);
    test_close(what, z1, z0, nz, 1e-5 * amax(z0, nz), 1e-4);

    nn_conv_backward(col, dz, B, T, cin, cout, k, w, dw0, NULL, dcol, dx0);
    nn_dnnl_conv_backward(x, dz, B, T, cin, cout, k, w, dw1, dx1);
    snprintf(what, sizeof what, "backward dw (accumulated) B %d T %d cin %d cout %d k %d", B, T, cin, cout, k);
    test_close(what, dw1, dw0, nw, 1e-5 * amax(dw0, nw), 1e-4);
    snprintf(what, sizeof what, "backward dx B %d T %d cin %d cout %d k %d", B, T, cin, cout, k);
    test_close(what, dx1, dx0, nx, 1e-5 * amax(dx0, nx), 1e-4);

    /* repeatability: the same call twice, the same bits */
    float *zr = malloc(nz * sizeof(float)), *dxr = malloc(nx * sizeof(float)), *dwa = calloc(nw, sizeof(float)),
          *dwb = calloc(nw, sizeof(float));
    nn_dnnl_conv_forward(x, B, T, cin, cout, k, 1, w, z1);
    nn_dnnl_conv_forward(x, B, T, cin, cout, k, 1, w, zr);
    nn_dnnl_conv_backward(x, dz, B, T, cin, cout, k, w, dwa, dx1);
    nn_dnnl_conv_backward(x, dz, B, T, cin, cout, k, w, dwb, dxr);
    CHECK_MSG(!memcmp(z1, zr, nz * sizeof(float)) && !memcmp(dx1, dxr, nx * sizeof(float)) &&
                  !memcmp(dwa, dwb, nw * sizeof(float)),
              "oneDNN calls repeat bitwise (B %d T %d k %d)", B, T, k);

    /* batch independence of the forward (inference and training primitives) and of dx */
    static const int sizes[3] = {1, 3, 8};
    for (int training = 0; training <= 1; training++) {
        nn_dnnl_conv_forward(x, B, T, cin, cout, k, training, w, z1);
        if (training) nn_dnnl_conv_backward(x, dz, B, T, cin, cout, k, w, dwa, dx1);
        for (int i = 0; i < 3; i++) {
            const int b = sizes[i];
            if (b > B || B % b) continue;
            int same = 1;
            for (int s0 = 0; s0 < B; s0 += b) {
                const size_t ox = (size_t)s0 * T * cin, oz = (size_t)s0 * T * cout;
                nn_dnnl_conv_forward(x + ox, b, T, cin, cout, k, training, w, zr);
                same &= !memcmp(zr, z1 + oz, (size_t)b * T * cout * sizeof(float));
                if (training) {
                    nn_dnnl_conv_backward(x + ox, dz + oz, b, T, cin, cout, k, w, dwb, dxr);
                    same &= !memcmp(dxr, dx1 + ox, (size_t)b * T * cin * sizeof(float));
                }
            }
            CHECK_MSG(same, "oneDNN %s of a segment has the same bits in a batch of %d as of %d (T %d k %d)",
                      training ? "training forward and dx" : "inference forward", b, B, T, k);
        }
    }
    free(x); free(w); free(dz); free(z0); free(z1); free(col); free(dcol); free(dx0); free(dx1);
    free(dw0); free(dw1); free(zr); free(dxr); free(dwa); free(dwb);
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv);
    if (!nn_dnnl_available()) {
        printf("test_nn_dnnl: this build has no oneDNN: nothing to check\n");
        return test_done("test_nn_dnnl");
    }
    printf("DCNN kernels: %s\n", nn_kernels_describe());
    check_shape(3, 9, 5, 7, 4);
    check_shape(6, 7, 3, 20, 3);
    check_shape(8, 5, 17, 16, 2);
    check_shape(8, 129, 128, 128, 4); /* block 1 */
    check_shape(8, 8, 128, 128, 4);   /* block 3 */
    return test_done("test_nn_dnnl");
}
