/* fuzz_features.c - libFuzzer target for the features.h5 reader reduce_features_read (one rank,
 * MPI_COMM_SELF; MPI_Init once at start-up, since the reader uses the MPI-IO driver) and the class
 * map of its artist column. Inputs starting with the HDF5 signature are raw files when
 * FUZZ_RAW_H5=1 (scripts/fuzz --raw-h5; ignored otherwise, see fuzz_common.h); others are recipes of schema edits (fuzz_common.h)
 * applied to a valid features.h5 written at start-up (byte 0: fixed- or variable-length strings,
 * block or read-all mode). Every result must be 0 or a documented code with a message naming the
 * file; rows read must agree with the shapes. */
#include "fuzz_common.h"
#include "reduce/reduce_features.h"
#include "util/util.h"

#include <hdf5.h>
#include <mpi.h>
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char base[2][512];
volatile double fuzz_features_sink; /* keeps the reads */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Open MPI keeps what MPI_Init allocates (some of it from components it unloads again, which
     * LSan cannot name): not checked. Never finalized, for the same reason. */
    __lsan_disable();
    MPI_Init(argc, argv);
    __lsan_enable();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (int b = 0; b < 2; b++) {
        char name[32];
        snprintf(name, sizeof name, "base%d.h5", b);
        snprintf(base[b], sizeof base[b], "%s", fuzz_tmp_path(name));
        if (fuzz_features_write(base[b], 6, 4, b)) {
            fprintf(stderr, "fuzz_features: cannot write the base file %s\n", base[b]);
            abort();
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_path("features.h5");
    int mode = REDUCE_READ_BLOCK;
    if (size >= 8 && !memcmp(data, FUZZ_H5_MAGIC, 8)) {
        if (!fuzz_raw_h5()) return 0;
        if (fuzz_write_file(path, data, size)) abort();
        mode = size & 1 ? REDUCE_READ_ALL : REDUCE_READ_BLOCK;
    } else if (size == 0 || fuzz_h5_recipe(base[data[0] & 1], path, data + 1, size - 1)) {
        return 0;
    } else {
        mode = data[0] & 2 ? REDUCE_READ_ALL : REDUCE_READ_BLOCK;
    }
    static const char *const columns[4] = {"artist", "genre", "mood", NULL};
    static const int optional[4] = {0, 1, 1, 1};
    reduce_features f;
    char err[1024] = "";
    int rc = reduce_features_read(path, MPI_COMM_SELF, mode, columns, optional, 4, &f, err, sizeof err);
    if (rc) {
        if ((rc != UTIL_EINPUT && rc != UTIL_EFAIL) || strncmp(err, path, strlen(path))) {
            fprintf(stderr, "fuzz_features: reduce_features_read returned %d, message '%s'\n", rc, err);
            abort();
        }
        return 0;
    }
    if (f.n != f.n_total || f.offset != 0 || f.dim < 1) abort(); /* one rank reads every row */
    char **artist = reduce_features_column(&f, "artist");
    char **ids = reduce_features_column(&f, "ids");
    if (!artist || !ids) abort();
    double sum = 0;
    for (long i = 0; i < f.n; i++) {
        sum += f.status[i];
        for (int k = 0; k < f.dim; k++) sum += f.x[(size_t)i * f.dim + k];
        if (!artist[i] || !ids[i]) abort();
    }
    int *cls = malloc(((size_t)f.n + 1) * sizeof *cls);
    reduce_classes c;
    if (cls && reduce_classes_build(MPI_COMM_SELF, artist, NULL, f.n, &c, cls, err, sizeof err) == 0) {
        for (long i = 0; i < f.n; i++)
            if (cls[i] >= c.n) abort();
        reduce_classes_free(&c);
    }
    free(cls);
    reduce_features_free(&f);
    fuzz_features_sink = sum;
    return 0;
}
