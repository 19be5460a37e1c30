/* import_keras.c - `artistnet import-keras`: converts the authors' published Keras 2 model
 * (jongpillee/ismir2018-artist, model_siamese_10000.h5) into a feature-extractor model.h5 (no
 * softmax) with the authors' normalisation constants. Rank 0 reads and writes; the import logic is
 * nn_keras_import (nn/keras.c). The output works with `extract --model` and `train --init`. */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "nn/nn.h"
#include "util/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int job_import_keras_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    const char *weights = NULL, *out = NULL;
    int quiet = 0;
    util_opt opts[] = {
        {"weights", UTIL_OPT_STRING, &weights, "", "Keras 2 HDF5 model (e.g. model_siamese_10000.h5)", 0, -1, 1},
        {"out", UTIL_OPT_STRING, &out, "", "output model.h5 (feature extractor, no softmax)", 0, -1, 1},
        {"quiet", UTIL_OPT_FLAG, &quiet, "", "no summary on stdout", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("import-keras",
                             "Import the authors' pretrained Keras DCNN (conv1d_1..5 + batch_normalization_1..5) "
                             "as a feature-extractor model.h5.",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    nn_model *m = NULL;
    if (mpi_util_rank(comm) == 0) {
        rc = nn_keras_import(weights, 1, &m, err, errlen);
        if (!rc) {
            char *cmd = util_join_argv(argc, argv);
            char src[2048];
            snprintf(src, sizeof src, "%s; artistnet %s", nn_source(m), cmd ? cmd : "import-keras");
            free(cmd);
            nn_set_source(m, src);
            rc = nn_save(m, out, 0, err, errlen);
        }
        if (!rc && !quiet)
            printf("import-keras: %s -> %s (feature extractor, 256-d; bn epsilon %g; norm mean %.8g std %.8g; "
                   "checksum fnv1a64:%016" PRIx64 ")\n",
                   weights, out, nn_bn_epsilon(m), NN_KERAS_NORM_MEAN, NN_KERAS_NORM_STD, nn_checksum(m));
        nn_free(m);
    }
    return mpi_util_agree(comm, rc, err, errlen);
}
