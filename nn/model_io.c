/* model_io.c - model.h5: the DCNN's public file format (read with h5py; written by one rank with
 * serial HDF5). Layout (format_version 1):
 *   /conv1 .. /conv5   kernel (k, in, out), bias, gamma, beta, moving_mean, moving_variance  float32
 *   /dense             kernel (256, C), bias (C)                       (only when n_classes > 0)
 *   /norm/mean, /norm/std   scalars: input normalisation (x - mean) / std of the log-mel values
 *   /artists           (C,) fixed-length UTF-8 strings, output order   (only when n_classes > 0)
 *   /optimizer/momentum (n_params,) flat, attribute step                (checkpoints only)
 * Root attributes: format "artistnet-dcnn", format_version, n_classes (0 = feature extractor only),
 * feature_dim, bn_epsilon, bn_momentum, step, checksum ("fnv1a64:" + 16 hex digits of
 * nn_checksum), source, layout, and the front end: sr, n_fft, hop, n_mels, fmin, fmax, spectrum,
 * mel_scale, mel_norm, log_compression, segment_frames, resampler ("soxr-hq" | "kaiser-best"; a
 * file without it is read as "soxr-hq", the only resampler before it was recorded).
 */
#include "nn/h5util.h"
#include "nn/nn_internal.h"
#include "util/util.h"

#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tensor_names[6] = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"};

static void tensor_dims(const nn_model *m, int layer, int which, int *rank, hsize_t *dims)
{
    if (layer <= NN_N_CONV) {
        const nn_conv_desc *d = &m->conv[layer - 1];
        if (which == 0) {
            *rank = 3;
            dims[0] = d->k; dims[1] = d->cin; dims[2] = d->cout;
        } else {
            *rank = 1;
            dims[0] = d->cout;
        }
    } else if (which == 0) {
        *rank = 2;
        dims[0] = NN_FEATURE_DIM; dims[1] = m->n_classes;
    } else {
        *rank = 1;
        dims[0] = m->n_classes;
    }
}

static float *tensor_ptr(nn_model *m, int layer, int which)
{
    size_t n;
    size_t off = nn_tensor(m, layer, tensor_names[which], &n);
    return which >= 4 ? m->bn + off : m->params + off;
}

static int write_artists(hid_t f, const nn_model *m, const char *path, char *err, size_t errlen)
{
    size_t len = 1;
    for (int i = 0; i < m->n_classes; i++) {
        size_t l = strlen(nn_artist(m, i));
        if (l > len) len = l;
    }
    char *buf = calloc((size_t)m->n_classes, len);
    if (!buf) return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    for (int i = 0; i < m->n_classes; i++) memcpy(buf + (size_t)i * len, nn_artist(m, i), strlen(nn_artist(m, i)));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hsize_t dims[1] = {(hsize_t)m->n_classes};
    hid_t s = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, "artists", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
    H5Tclose(t);
    free(buf);
    return ok ? 0 : util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write dataset /artists", path);
}

int nn_save(const nn_model *mc, const char *path, int flags, char *err, size_t errlen)
{
    nn_model *m = (nn_model *)mc; /* only read */
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int rc = 0;
    if (f < 0) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot create file", path);
        goto out;
    }
    char name[64];
    int layers = m->n_classes > 0 ? NN_N_CONV + 1 : NN_N_CONV;
    for (int l = 1; l <= layers && !rc; l++)
        for (int w = 0; w < (l <= NN_N_CONV ? 6 : 2) && !rc; w++) {
            int rank;
            hsize_t dims[3];
            tensor_dims(m, l, w, &rank, dims);
            if (l <= NN_N_CONV) snprintf(name, sizeof name, "conv%d/%s", l, tensor_names[w]);
            else snprintf(name, sizeof name, "dense/%s", tensor_names[w]);
            rc = nn_h5_write_floats(f, path, name, rank, dims, tensor_ptr(m, l, w), err, errlen);
        }
    if (!rc) rc = nn_h5_write_floats(f, path, "norm/mean", 0, NULL, &m->norm_mean, err, errlen);
    if (!rc) rc = nn_h5_write_floats(f, path, "norm/std", 0, NULL, &m->norm_std, err, errlen);
    if (!rc && m->n_classes > 0) rc = write_artists(f, m, path, err, errlen);
    if (!rc && (flags & NN_SAVE_OPTIMIZER)) {
        hsize_t dims[1] = {m->n_params};
        rc = nn_h5_write_floats(f, path, "optimizer/momentum", 1, dims, m->momentum, err, errlen);
        if (!rc) {
            hid_t g = H5Gopen2(f, "optimizer", H5P_DEFAULT);
            rc = nn_h5_attr_write_long(g, path, "step", m->step, err, errlen);
            H5Gclose(g);
        }
    }
    char sum[64];
    snprintf(sum, sizeof sum, "fnv1a64:%016" PRIx64, nn_checksum(m));
    const nn_frontend *fe = &m->fe;
    if (!rc) rc = nn_h5_attr_write_str(f, path, "format", "artistnet-dcnn", err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "format_version", NN_FORMAT_VERSION, err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "n_classes", m->n_classes, err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "feature_dim", NN_FEATURE_DIM, err, errlen);
    if (!rc) rc = nn_h5_attr_write_double(f, path, "bn_epsilon", m->bn_eps, err, errlen);
    if (!rc) rc = nn_h5_attr_write_double(f, path, "bn_momentum", NN_BN_MOMENTUM, err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "step", m->step, err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "checksum", sum, err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "source", nn_source(m), err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "layout",
                                       "input (mel band, frame) per segment, normalised (x - norm/mean) / norm/std; "
                                       "conv kernels (k, in, out) as Keras Conv1D, 'same' padding, (k-1)/2 zeros left; "
                                       "dense kernel (in, out)", err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "sr", fe->sr, err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "n_fft", fe->n_fft, err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "hop", fe->hop, err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "n_mels", fe->n_mels, err, errlen);
    if (!rc) rc = nn_h5_attr_write_long(f, path, "segment_frames", fe->segment_frames, err, errlen);
    if (!rc) rc = nn_h5_attr_write_double(f, path, "fmin", fe->fmin, err, errlen);
    if (!rc) rc = nn_h5_attr_write_double(f, path, "fmax", fe->fmax, err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "spectrum", fe->spectrum, err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "mel_scale", fe->mel_scale, err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "mel_norm", fe->mel_norm, err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "log_compression", fe->log_compression, err, errlen);
    if (!rc) rc = nn_h5_attr_write_str(f, path, "resampler", fe->resampler, err, errlen);
    if (H5Fclose(f) < 0 && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot close (disk full?)", path);
out:
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return rc;
}

static int read_artists(hid_t f, nn_model *m, const char *path, char *err, size_t errlen)
{
    if (!nn_h5_exists(f, "artists")) return util_fail(err, errlen, UTIL_EINPUT, "%s: dataset /artists is missing", path);
    hid_t d = H5Dopen2(f, "artists", H5P_DEFAULT);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t n = 0;
    int rc = 0;
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_ndims(s) != 1) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: dataset /artists is not a 1-D string dataset", path);
        goto done;
    }
    H5Sget_simple_extent_dims(s, &n, NULL);
    if (n != (hsize_t)m->n_classes) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: dataset /artists has %llu names, expected n_classes = %d", path,
                       (unsigned long long)n, m->n_classes);
        goto done;
    }
    if (H5Tis_variable_str(t) > 0) {
        char **p = calloc(n, sizeof *p);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (!p || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, p) < 0)
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read dataset /artists", path);
        else
            rc = nn_set_artists(m, (const char *const *)p, (int)n, err, errlen);
        if (p) H5Dvlen_reclaim(mt, s, H5P_DEFAULT, p);
        free(p);
        H5Tclose(mt);
    } else {
        size_t len = H5Tget_size(t);
        char *buf = calloc(n * len + 1, 1), *one = calloc(len + 1, 1);
        if (!buf || !one || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read dataset /artists", path);
        for (hsize_t i = 0; !rc && i < n; i++) {
            memcpy(one, buf + i * len, len);
            one[len] = 0;
            char *cp = util_strdup(one);
            if (!cp) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
            else {
                free(m->artists[i]);
                m->artists[i] = cp;
            }
        }
        free(buf);
        free(one);
    }
done:
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return rc;
}

int nn_load(const char *path, int max_batch, nn_model **out, char *err, size_t errlen)
{
    *out = NULL;
    hid_t f;
    int rc = nn_h5_open(path, &f, err, errlen);
    if (rc) return rc;
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    nn_model *m = NULL;
    long version = 0, n_classes = 0, step = 0;
    char fmt[64] = "";
    if (nn_h5_attr_read_str(f, path, "format", fmt, sizeof fmt, err, errlen) || strcmp(fmt, "artistnet-dcnn")) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: not an artistnet model (root attribute format is not 'artistnet-dcnn')", path);
        goto out;
    }
    if ((rc = nn_h5_attr_read_long(f, path, "format_version", &version, err, errlen))) goto out;
    if (version != NN_FORMAT_VERSION) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: model format_version %ld, this build reads %d", path, version, NN_FORMAT_VERSION);
        goto out;
    }
    if ((rc = nn_h5_attr_read_long(f, path, "n_classes", &n_classes, err, errlen))) goto out;
    if (n_classes < 0 || n_classes > 10000000) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: attribute n_classes = %ld out of range", path, n_classes);
        goto out;
    }
    if (n_classes > 0) { /* check /dense/bias before n_classes x 256 floats are allocated */
        int r = 0;
        hsize_t nb[8] = {0};
        if ((rc = nn_h5_dims(f, path, "/dense/bias", &r, nb, err, errlen))) goto out;
        if (r != 1 || nb[0] != (hsize_t)n_classes) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: n_classes = %ld but dataset /dense/bias has shape (%llu%s)", path,
                           n_classes, (unsigned long long)nb[0], r == 1 ? "" : ", ...");
            goto out;
        }
    }
    if ((rc = nn_make((int)n_classes, max_batch, &m, err, errlen))) goto out;
    char name[64];
    int layers = n_classes > 0 ? NN_N_CONV + 1 : NN_N_CONV;
    for (int l = 1; l <= layers && !rc; l++)
        for (int w = 0; w < (l <= NN_N_CONV ? 6 : 2) && !rc; w++) {
            int rank;
            hsize_t dims[3];
            tensor_dims(m, l, w, &rank, dims);
            if (l <= NN_N_CONV) snprintf(name, sizeof name, "/conv%d/%s", l, tensor_names[w]);
            else snprintf(name, sizeof name, "/dense/%s", tensor_names[w]);
            rc = nn_h5_read_floats(f, path, name, rank, dims, tensor_ptr(m, l, w), err, errlen);
        }
    if (rc) goto out;
    if ((rc = nn_h5_read_floats(f, path, "/norm/mean", 0, NULL, &m->norm_mean, err, errlen))) goto out;
    if ((rc = nn_h5_read_floats(f, path, "/norm/std", 0, NULL, &m->norm_std, err, errlen))) goto out;
    if (!(m->norm_std > 0)) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /norm/std = %g is not positive", path, m->norm_std);
        goto out;
    }
    double eps = 0;
    if ((rc = nn_h5_attr_read_double(f, path, "bn_epsilon", &eps, err, errlen))) goto out;
    m->bn_eps = (float)eps;
    if ((rc = nn_h5_attr_read_long(f, path, "step", &step, err, errlen))) goto out;
    m->step = step;
    nn_frontend *fe = &m->fe;
    long v;
    if ((rc = nn_h5_attr_read_long(f, path, "sr", &v, err, errlen))) goto out;
    fe->sr = (int)v;
    if ((rc = nn_h5_attr_read_long(f, path, "n_fft", &v, err, errlen))) goto out;
    fe->n_fft = (int)v;
    if ((rc = nn_h5_attr_read_long(f, path, "hop", &v, err, errlen))) goto out;
    fe->hop = (int)v;
    if ((rc = nn_h5_attr_read_long(f, path, "n_mels", &v, err, errlen))) goto out;
    fe->n_mels = (int)v;
    if ((rc = nn_h5_attr_read_long(f, path, "segment_frames", &v, err, errlen))) goto out;
    fe->segment_frames = (int)v;
    if ((rc = nn_h5_attr_read_double(f, path, "fmin", &fe->fmin, err, errlen))) goto out;
    if ((rc = nn_h5_attr_read_double(f, path, "fmax", &fe->fmax, err, errlen))) goto out;
    if ((rc = nn_h5_attr_read_str(f, path, "spectrum", fe->spectrum, sizeof fe->spectrum, err, errlen))) goto out;
    if ((rc = nn_h5_attr_read_str(f, path, "mel_scale", fe->mel_scale, sizeof fe->mel_scale, err, errlen))) goto out;
    if ((rc = nn_h5_attr_read_str(f, path, "mel_norm", fe->mel_norm, sizeof fe->mel_norm, err, errlen))) goto out;
    if ((rc = nn_h5_attr_read_str(f, path, "log_compression", fe->log_compression, sizeof fe->log_compression, err,
                                  errlen)))
        goto out;
    if (H5Aexists(f, "resampler") > 0) {
        if ((rc = nn_h5_attr_read_str(f, path, "resampler", fe->resampler, sizeof fe->resampler, err, errlen))) goto out;
    } else {
        snprintf(fe->resampler, sizeof fe->resampler, "soxr-hq");
    }
    if (fe->n_mels != NN_IN_CHANNELS || fe->segment_frames != NN_IN_FRAMES) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: n_mels %d / segment_frames %d, the network takes %d x %d", path,
                       fe->n_mels, fe->segment_frames, NN_IN_CHANNELS, NN_IN_FRAMES);
        goto out;
    }
    char *src = nn_h5_attr_read_str_alloc(f, path, "source", err, errlen);
    if (src) {
        nn_set_source(m, src);
        free(src);
    }
    if (n_classes > 0 && (rc = read_artists(f, m, path, err, errlen))) goto out;
    if (nn_h5_exists(f, "/optimizer/momentum")) {
        hsize_t dims[1] = {m->n_params};
        if ((rc = nn_h5_read_floats(f, path, "/optimizer/momentum", 1, dims, m->momentum, err, errlen))) goto out;
        hid_t g = H5Gopen2(f, "optimizer", H5P_DEFAULT);
        rc = nn_h5_attr_read_long(g, path, "step", &step, err, errlen); /* of /optimizer */
        H5Gclose(g);
        if (rc) goto out;
        m->step = step;
    }
    char sum[64] = "", want[64];
    snprintf(want, sizeof want, "fnv1a64:%016" PRIx64, nn_checksum(m));
    if ((rc = nn_h5_attr_read_str(f, path, "checksum", sum, sizeof sum, err, errlen))) goto out;
    if (strcmp(sum, want)) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: checksum attribute %s does not match the stored weights (%s): "
                       "file modified or damaged", path, sum, want);
        goto out;
    }
out:
    H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    if (rc) {
        nn_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
