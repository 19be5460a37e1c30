/* test_nn_io.c - model.h5 round trip and its errors: save/load keeps every parameter, BN statistic,
 * the normalisation, UTF-8 artist names, front end, optimizer momentum and step bit for bit (and the
 * checksum); a feature-extractor model (C = 0); missing, non-HDF5, truncated, non-artistnet files and
 * the Keras importer on non-Keras / truncated files fail with UTIL_EINPUT naming the file.
 * Modes for tests/test_nn_h5py.sh:  test_nn_io --write PATH   |   test_nn_io --load PATH */
#include "nn/nn_blas.h"
#include "test_nn_common.h"
#include "testutil.h"
#include "util/util.h"

#include <string.h>
#include <unistd.h>

static const char *names[3] = {"Bj\xc3\xb6rk", "Sigur R\xc3\xb3s", "AC/DC"};

static nn_model *trained_model(void)
{
    char err[UTIL_ERRLEN];
    nn_model *m;
    if (nn_make(3, 4, &m, err, sizeof err)) return NULL;
    nn_init(m, 9);
    nn_set_norm(m, 0.25f, 0.5f);
    nn_set_artists(m, names, 3, err, sizeof err);
    nn_set_source(m, "test_nn_io");
    float *segs = malloc((size_t)4 * NN_SEG_SIZE * sizeof(float));
    tnn_formula(5, (size_t)4 * NN_SEG_SIZE, 0.5, 0.5, segs);
    int labels[4] = {0, 1, 2, 0};
    nn_sgd sgd = {0.01, 0.9, 1, 1e-4, NULL, NULL};
    nn_train_opts o = {0, 0.5f, 1, NULL, NULL, NULL};
    nn_train_accumulate(m, segs, labels, 4, &o, NULL, err, sizeof err);
    nn_update(m, &sgd, err, sizeof err);
    free(segs);
    return m;
}

static void copy_prefix(const char *src, const char *dst, long bytes)
{
    size_t n;
    char *buf = test_read_file(src, &n);
    FILE *f = fopen(dst, "wb");
    fwrite(buf, 1, bytes < 0 ? n / 2 : (size_t)bytes, f);
    fclose(f);
    free(buf);
}

static void expect_input_error(int rc, const char *err, const char *path, const char *what)
{
    CHECK_MSG(rc == UTIL_EINPUT, "%s: rc %d", what, rc);
    CHECK_MSG(strstr(err, path) != NULL, "%s: message does not name %s: %s", what, path, err);
    printf("  %s -> %s\n", what, err);
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv);
    char err[UTIL_ERRLEN];
    if (argc == 3 && !strcmp(argv[1], "--write")) {
        nn_model *m = trained_model();
        int rc = nn_save(m, argv[2], NN_SAVE_OPTIMIZER, err, sizeof err);
        if (rc) fprintf(stderr, "%s\n", err);
        nn_free(m);
        return rc ? 1 : 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--load")) {
        nn_model *m;
        int rc = nn_load(argv[2], 1, &m, err, sizeof err);
        if (rc) {
            fprintf(stderr, "%s\n", err);
            return util_exit_status(rc);
        }
        nn_free(m);
        return 0;
    }

    char dir[] = "/tmp/test_nn_io.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[256], path2[256], bad[256];
    snprintf(path, sizeof path, "%s/model.h5", dir);
    snprintf(path2, sizeof path2, "%s/features.h5", dir);
    snprintf(bad, sizeof bad, "%s/bad.h5", dir);

    nn_model *m = trained_model();
    CHECK(m != NULL && nn_step(m) == 1);
    CHECK(nn_save(m, path, NN_SAVE_OPTIMIZER, err, sizeof err) == 0);
    nn_model *r = NULL;
    int rc = nn_load(path, 4, &r, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (!rc) {
        size_t np, nb;
        nn_params(r, &np);
        nn_bn_stats(r, &nb);
        CHECK(nn_n_classes(r) == 3);
        CHECK(!memcmp(nn_params(r, NULL), nn_params(m, NULL), np * sizeof(float)));
        CHECK(!memcmp(nn_bn_stats(r, NULL), nn_bn_stats(m, NULL), nb * sizeof(float)));
        CHECK(!memcmp(nn_momentum(r, NULL), nn_momentum(m, NULL), np * sizeof(float)));
        CHECK(nn_step(r) == 1);
        CHECK(nn_checksum(r) == nn_checksum(m));
        for (int i = 0; i < 3; i++) CHECK_MSG(!strcmp(nn_artist(r, i), names[i]), "artist %d: %s", i, nn_artist(r, i));
        float mu, sd;
        nn_get_norm(r, &mu, &sd);
        CHECK(mu == 0.25f && sd == 0.5f);
        CHECK(nn_frontend_check(nn_frontend_of(r), path, err, sizeof err) == 0);
        CHECK(!strcmp(nn_source(r), "test_nn_io"));
        nn_free(r);
    }
    /* without optimizer state */
    CHECK(nn_save(m, path, 0, err, sizeof err) == 0);
    CHECK(nn_load(path, 4, &r, err, sizeof err) == 0);
    if (r) {
        size_t np;
        float *mom = nn_momentum(r, &np);
        int zero = 1;
        for (size_t i = 0; i < np; i++) zero &= mom[i] == 0.0f;
        CHECK(zero);
        nn_free(r);
    }
    /* feature extractor */
    nn_model *fm;
    CHECK(nn_make(0, 2, &fm, err, sizeof err) == 0);
    nn_copy_features(fm, m);
    CHECK(nn_save(fm, path2, 0, err, sizeof err) == 0);
    CHECK(nn_load(path2, 2, &r, err, sizeof err) == 0);
    if (r) {
        CHECK(nn_n_classes(r) == 0 && nn_checksum(r) == nn_checksum(fm));
        nn_free(r);
    }
    nn_free(fm);

    /* errors */
    r = NULL;
    snprintf(bad, sizeof bad, "%s/missing.h5", dir);
    expect_input_error(nn_load(bad, 1, &r, err, sizeof err), err, bad, "missing file");
    snprintf(bad, sizeof bad, "%s/text.h5", dir);
    FILE *f = fopen(bad, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    expect_input_error(nn_load(bad, 1, &r, err, sizeof err), err, bad, "not HDF5");
    snprintf(bad, sizeof bad, "%s/truncated.h5", dir);
    CHECK(nn_save(m, path, NN_SAVE_OPTIMIZER, err, sizeof err) == 0);
    copy_prefix(path, bad, -1);
    expect_input_error(nn_load(bad, 1, &r, err, sizeof err), err, bad, "truncated model");
    expect_input_error(nn_keras_import(path, 1, &r, err, sizeof err), err, path, "keras import of a model.h5");
    CHECK(r == NULL);
    const char *kenv = getenv("ARTISTNET_AUTHORS_MODEL");
    char kpath[4096];
    snprintf(kpath, sizeof kpath, "%s", kenv ? kenv : "data/authors-model/model_siamese_10000.h5");
    if (access(kpath, R_OK) == 0) {
        expect_input_error(nn_load(kpath, 1, &r, err, sizeof err), err, kpath, "nn_load of a Keras file");
        snprintf(bad, sizeof bad, "%s/keras_truncated.h5", dir);
        copy_prefix(kpath, bad, 1500000);
        expect_input_error(nn_keras_import(bad, 1, &r, err, sizeof err), err, bad, "truncated Keras file");
    } else {
        CHECK_MSG(0, "the authors' Keras model %s is missing (kept in data/authors-model/)", kpath);
    }
    nn_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    return test_done("test_nn_io");
}
