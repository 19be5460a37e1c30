/* fuzz_model.c - libFuzzer target for the model loader nn_load (model.h5). An input that starts
 * with the HDF5 signature is written to a temp file as is when FUZZ_RAW_H5=1 (scripts/fuzz
 * --raw-h5; ignored otherwise, see fuzz_common.h); any other input is a recipe of schema
 * edits (fuzz_common.h) applied to a valid model written at start-up: byte 0 picks the base (a
 * 3-artist classifier, the same with optimizer state, or a 0-class feature extractor). Every
 * result must be 0 or UTIL_EINPUT with a message naming the file; a model that loads must run. */
#include "fuzz_common.h"
#include "nn/nn.h"
#include "util/util.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char base[3][512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    static const char *const artists[3] = {"Ärtist A", "artist b", "c"};
    for (int b = 0; b < 3; b++) {
        char err[512], name[32];
        snprintf(name, sizeof name, "base%d.h5", b);
        snprintf(base[b], sizeof base[b], "%s", fuzz_tmp_path(name));
        nn_model *m;
        int rc = nn_make(b == 2 ? 0 : 3, 1, &m, err, sizeof err);
        if (!rc) {
            nn_init(m, 42 + (uint64_t)b);
            if (b < 2) rc = nn_set_artists(m, artists, 3, err, sizeof err);
            nn_set_source(m, "fuzz base");
            if (!rc) rc = nn_save(m, base[b], b == 1 ? NN_SAVE_OPTIMIZER : 0, err, sizeof err);
            nn_free(m);
        }
        if (rc) {
            fprintf(stderr, "fuzz_model: cannot write the base model: %s\n", err);
            abort();
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_path("model.h5");
    if (size >= 8 && !memcmp(data, FUZZ_H5_MAGIC, 8)) {
        if (!fuzz_raw_h5()) return 0;
        if (fuzz_write_file(path, data, size)) abort();
    } else if (size == 0 || fuzz_h5_recipe(base[data[0] % 3], path, data + 1, size - 1)) {
        return 0;
    }
    nn_model *m = NULL;
    char err[1024] = "";
    int rc = nn_load(path, 1, &m, err, sizeof err);
    if (rc) {
        if (m || rc != UTIL_EINPUT || strncmp(err, path, strlen(path))) {
            fprintf(stderr, "fuzz_model: nn_load returned %d, model %p, message '%s'\n", rc, (void *)m, err);
            abort();
        }
        return 0;
    }
    static float seg[NN_SEG_SIZE], out[NN_FEATURE_DIM];
    if (nn_forward_features(m, seg, 1, out, err, sizeof err) != 0) abort();
    nn_free(m);
    return 0;
}
