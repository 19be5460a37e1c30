/* fuzz_seeds.c - writes the seed corpora of the fuzz targets into DIR/<target>/ (deterministic):
 *   fuzz_audio     tiny audio files through libsndfile: WAV 16-bit / float / 8-bit, mono and stereo,
 *                  22.05 / 44.1 / 8 kHz, FLAC, Ogg Vorbis, MP3, AIFF (a few KB each)
 *   fuzz_features  recipes (a few bytes each); with --raw-h5 raw features.h5 files instead
 *                  (fixed- and variable-length strings, a few KB)
 *   fuzz_model     recipes; with --raw-h5 a raw model.h5 instead (about 2 MB)
 * Raw HDF5 seeds are not committed: scripts/fuzz --raw-h5 writes them into its working copy.
 * Usage: fuzz_seeds DIR [--raw-h5]. The list seeds are hand-written text files, committed. */
#include "fuzz_common.h"
#include "nn/nn.h"

#include <hdf5.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int write_audio(const char *dir, const char *name, int format, int sr, int ch, double seconds)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz_audio/%s", dir, name);
    SF_INFO info = {.samplerate = sr, .channels = ch, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    int n = (int)(seconds * sr);
    float *x = malloc((size_t)n * ch * sizeof *x);
    if (!x) return -1;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) x[i * ch + c] = 0.5f * sinf(2.0f * 3.14159265f * (440.0f + 110 * c) * i / sr);
    int ok = sf_writef_float(sf, x, n) == n;
    free(x);
    return sf_close(sf) == 0 && ok ? 0 : -1;
}

static int write_recipe(const char *dir, const char *target, int k, const uint8_t *r, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/recipe_%02d", dir, target, k);
    return fuzz_write_file(path, r, n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR [--raw-h5]\n");
        return 2;
    }
    const char *dir = argv[1];
    int raw = argc > 2 && !strcmp(argv[2], "--raw-h5");
    char path[1024];
    const char *sub[3] = {"fuzz_audio", "fuzz_features", "fuzz_model"};
    mkdir(dir, 0777);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
        mkdir(path, 0777);
    }
    int rc = 0;
    if (!raw) {
        rc |= write_audio(dir, "pcm16_22k_mono.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 0.05);
        rc |= write_audio(dir, "float_44k_stereo.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, 0.02);
        rc |= write_audio(dir, "u8_8k_mono.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 8000, 1, 0.1);
        rc |= write_audio(dir, "pcm24_48k_3ch.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 3, 0.01);
        rc |= write_audio(dir, "pcm16_22k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, 0.05);
        rc |= write_audio(dir, "vorbis_22k.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 22050, 1, 0.1);
        rc |= write_audio(dir, "mp3_22k.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 22050, 1, 0.1);
        rc |= write_audio(dir, "pcm16_16k.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16000, 1, 0.02);
        /* recipes: byte 0 picks the base (and mode), then (op, object, other, args...) groups */
        static const uint8_t recipes[][12] = {
            {0},                          /* the base as is */
            {1},                          /* the other base */
            {2},                          /* the third base (model) / read-all mode (features) */
            {0, 0, 3, 0},                 /* delete a link */
            {0, 1, 0, 0, 0, 1, 0, 1},     /* a dataset with one dimension changed */
            {1, 1, 0, 0, 0, 2, 0, 3, 2},  /* a dataset with a random shape */
            {0, 1, 0, 0, 0, 3, 0, 5},     /* special float values */
            {0, 2, 0, 0, 0, 0, 0, 0, 9},  /* an integer attribute rewritten */
            {0, 2, 0, 0, 1, 1, 4, 0, 12}, /* a string attribute rewritten */
            {0, 3, 0, 0, 0},              /* an attribute deleted */
            {0, 4, 2, 0},                 /* a group in place of an object */
            {0, 5, 2, 1, 0},              /* a soft link loop */
            {0, 5, 2, 1, 2},              /* a dangling soft link */
            {0, 6, 2, 5},                 /* a hard link to another object */
            {0, 7, 0, 0, 128},            /* truncated to half */
            {2, 1, 0, 0, 0, 0, 6},        /* a string dataset */
        };
        for (int t = 1; t < 3; t++)
            for (size_t k = 0; k < sizeof recipes / sizeof recipes[0]; k++) {
                size_t n = 12;
                while (n > 1 && recipes[k][n - 1] == 0) n--;
                if (k >= 3 && n < 4) n = 4;
                rc |= write_recipe(dir, sub[t], (int)k, recipes[k], n);
            }
    } else {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        snprintf(path, sizeof path, "%s/fuzz_features/fixed.h5", dir);
        rc |= fuzz_features_write(path, 6, 4, 0);
        snprintf(path, sizeof path, "%s/fuzz_features/vlen.h5", dir);
        rc |= fuzz_features_write(path, 3, 2, 1);
        nn_model *m;
        char err[512];
        static const char *const artists[3] = {"a", "b", "c"};
        snprintf(path, sizeof path, "%s/fuzz_model/raw_model.h5", dir);
        rc |= nn_make(3, 1, &m, err, sizeof err);
        if (!rc) {
            nn_init(m, 1);
            rc = nn_set_artists(m, artists, 3, err, sizeof err);
            if (!rc) rc = nn_save(m, path, 0, err, sizeof err);
            nn_free(m);
        }
        if (rc) fprintf(stderr, "fuzz_seeds: %s\n", err);
    }
    if (rc) fprintf(stderr, "fuzz_seeds: could not write every seed into %s\n", dir);
    return rc ? 1 : 0;
}
