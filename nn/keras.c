/* keras.c - imports the authors' published Keras 2 model (jongpillee/ismir2018-artist,
 * model_siamese_10000.h5; ../shared/data/authors-model/README.md) into a feature-extractor nn_model.
 *
 * Keras stores Conv1D kernels as (k, in, out) for channels-last input (time x mel): exactly this
 * network's kernel layout and im2col order (nn_internal.h), so weights copy one to one; only the
 * input orientation differs, and nn_forward_* take the (mel, time) segments of extract/ and
 * transpose them while normalising. Batch-norm epsilon comes from the file's model_config
 * attribute (JSON; every BatchNormalization layer's "epsilon" must agree). No softmax: C = 0. */
#include "extract/extract.h"
#include "nn/h5util.h"
#include "nn/nn_internal.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* all "epsilon": values of the JSON model config must agree; returns count found */
static int config_epsilon(const char *json, double *eps)
{
    int n = 0;
    const char *p = json;
    while ((p = strstr(p, "\"epsilon\"")) != NULL) {
        p += 9;
        while (*p == ' ' || *p == ':') p++;
        char *end;
        double v = strtod(p, &end);
        if (end == p) return -1;
        if (n > 0 && v != *eps) return -2;
        *eps = v;
        n++;
        p = end;
    }
    return n;
}

int nn_keras_import(const char *path, int max_batch, nn_model **out, char *err, size_t errlen)
{
    *out = NULL;
    hid_t f;
    int rc = nn_h5_open(path, &f, err, errlen);
    if (rc) return rc;
    nn_model *m = NULL;
    char *cfg = NULL;
    if (!nn_h5_exists(f, "model_weights")) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: not a Keras model file (no group model_weights)", path);
        goto out;
    }
    cfg = nn_h5_attr_read_str_alloc(f, path, "model_config", err, errlen);
    if (!cfg) {
        rc = UTIL_EINPUT;
        goto out;
    }
    double eps = 0;
    int ne = config_epsilon(cfg, &eps);
    if (ne < 5 || !(eps > 0 && eps < 1)) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: attribute model_config: %s", path,
                       ne == -2 ? "batch-norm layers with different epsilons"
                                : "no usable BatchNormalization epsilon for the 5 batch-norm layers");
        goto out;
    }
    if (strstr(cfg, "\"padding\": \"valid\", \"strides\": [1]") || strstr(cfg, "\"data_format\": \"channels_first\"")) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: attribute model_config: convolutions are not 'same' / channels-last", path);
        goto out;
    }
    if ((rc = nn_make(0, max_batch, &m, err, errlen))) goto out;
    static const char *bn_names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    char name[160];
    for (int l = 1; l <= NN_N_CONV && !rc; l++) {
        const nn_conv_desc *d = &m->conv[l - 1];
        hsize_t kd[3] = {(hsize_t)d->k, (hsize_t)d->cin, (hsize_t)d->cout}, vd[1] = {(hsize_t)d->cout};
        snprintf(name, sizeof name, "model_weights/conv1d_%d/conv1d_%d/kernel:0", l, l);
        rc = nn_h5_read_floats(f, path, name, 3, kd, m->params + d->w_off, err, errlen);
        if (rc) break;
        snprintf(name, sizeof name, "model_weights/conv1d_%d/conv1d_%d/bias:0", l, l);
        rc = nn_h5_read_floats(f, path, name, 1, vd, m->params + d->b_off, err, errlen);
        float *dst[4] = {m->params + d->g_off, m->params + d->beta_off, m->bn + d->rm_off, m->bn + d->rv_off};
        for (int w = 0; w < 4 && !rc; w++) {
            snprintf(name, sizeof name, "model_weights/batch_normalization_%d/batch_normalization_%d/%s:0", l, l,
                     bn_names[w]);
            rc = nn_h5_read_floats(f, path, name, 1, vd, dst[w], err, errlen);
        }
    }
    if (rc) goto out;
    for (int l = 0; l < NN_N_CONV; l++)
        for (int c = 0; c < m->conv[l].cout; c++)
            if (!(m->bn[m->conv[l].rv_off + c] >= 0)) {
                rc = util_fail(err, errlen, UTIL_EINPUT,
                               "%s: dataset model_weights/batch_normalization_%d/.../moving_variance:0 has a negative or NaN value",
                               path, l + 1);
                goto out;
            }
    nn_set_bn_epsilon(m, (float)eps);
    nn_set_norm(m, NN_KERAS_NORM_MEAN, NN_KERAS_NORM_STD);
    /* the authors' mels came from librosa.load(sr=22050) of 2017-2018: resampy kaiser_best */
    snprintf(nn_frontend_of(m)->resampler, sizeof nn_frontend_of(m)->resampler, "%s",
             extract_resampler_name(EXTRACT_RESAMPLER_KAISER_BEST));
    char src[1200];
    snprintf(src, sizeof src, "keras import of %s (jongpillee/ismir2018-artist model_siamese_10000, MIT licence)", path);
    nn_set_source(m, src);
out:
    free(cfg);
    H5Fclose(f);
    if (rc) {
        nn_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
