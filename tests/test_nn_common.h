/* test_nn_common.h - helpers shared by the DCNN tests: the seed formula of
 * tests/reference/nn_reference.py (weights and inputs are generated, not stored) and a fixture
 * reader. */
#ifndef ARTISTNET_TEST_NN_COMMON_H
#define ARTISTNET_TEST_NN_COMMON_H
#include "nn/h5util.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* float32((2u - 1) * scale + offset), u = top 24 bits of hash64(seed * 2^32 + i) / 2^24 */
static inline void tnn_formula(uint64_t seed, size_t n, double scale, double offset, float *out)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t h = nn_hash64((uint64_t)i + seed * (1ULL << 32));
        double u = (double)(h >> 40) / 16777216.0;
        out[i] = (float)((2.0 * u - 1.0) * scale + offset);
    }
}

/* the test net's parameters (test_params() in nn_reference.py) */
static inline void tnn_fill(nn_model *m)
{
    size_t n;
    float *p = nn_params(m, NULL), *bn = nn_bn_stats(m, NULL);
    for (int l = 1; l <= NN_N_CONV; l++) {
        int k, in, out;
        nn_conv_shape(l, &k, &in, &out, NULL, NULL);
        int s = 100 + 10 * (l - 1);
        tnn_formula(s, (size_t)k * in * out, sqrt(6.0 / (k * in)), 0.0, p + nn_tensor(m, l, "kernel", &n));
        tnn_formula(s + 1, out, 0.1, 0.0, p + nn_tensor(m, l, "bias", &n));
        tnn_formula(s + 2, out, 0.2, 1.0, p + nn_tensor(m, l, "gamma", &n));
        tnn_formula(s + 3, out, 0.1, 0.0, p + nn_tensor(m, l, "beta", &n));
        tnn_formula(s + 4, out, 0.1, 0.0, bn + nn_tensor(m, l, "moving_mean", &n));
        tnn_formula(s + 5, out, 0.5, 1.0, bn + nn_tensor(m, l, "moving_variance", &n));
    }
    int C = nn_n_classes(m);
    if (C > 0) {
        tnn_formula(160, (size_t)NN_FEATURE_DIM * C, sqrt(6.0 / (NN_FEATURE_DIM + C)), 0.0, p + nn_tensor(m, 6, "kernel", &n));
        tnn_formula(161, C, 0.1, 0.0, p + nn_tensor(m, 6, "bias", &n));
    }
}

/* reads a float dataset of the fixture with any shape (n floats expected) */
static inline float *tnn_read(hid_t f, const char *name, size_t n)
{
    float *buf = malloc(n * sizeof(float));
    hsize_t dims[1] = {n};
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(s);
    if (d < 0 || np != (hssize_t)n || H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        fprintf(stderr, "fixture: cannot read %s (%zu values expected)\n", name, n);
        exit(1);
    }
    (void)dims;
    H5Sclose(s);
    H5Dclose(d);
    return buf;
}
#endif
