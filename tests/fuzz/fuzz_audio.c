/* fuzz_audio.c - libFuzzer target for the decode wrapper extract_audio_load (libsndfile decode,
 * downmix, libsoxr resample): the raw bytes are written to a temp file and loaded at 22,050 Hz.
 * Seeds (corpus/fuzz_audio, written by fuzz_seeds): tiny WAV (16-bit, float, 8-bit, stereo, 44.1
 * and 22.05 kHz), FLAC, Ogg Vorbis, MP3. Every result must be 0 with finite samples, or
 * UTIL_ETRACK / UTIL_EFAIL with a message naming the file. */
#include "extract/extract.h"
#include "fuzz_common.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_path("audio");
    if (fuzz_write_file(path, data, size)) abort();
    float *x = NULL;
    size_t n = 0;
    double sec = -1;
    char err[1024] = "";
    int rc = extract_audio_load(path, EXTRACT_SR, &x, &n, &sec, err, sizeof err);
    if (rc) {
        if ((rc != UTIL_ETRACK && rc != UTIL_EFAIL) || x || n || strncmp(err, path, strlen(path))) {
            fprintf(stderr, "fuzz_audio: extract_audio_load returned %d, %zu samples, message '%s'\n", rc, n, err);
            abort();
        }
        return 0;
    }
    if (!x || n == 0 || !(sec > 0) || sec > EXTRACT_MAX_SECONDS) abort();
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) abort();
    free(x);
    return 0;
}
