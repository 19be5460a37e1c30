/* track.c - one track through the whole front end: decode + resample (audio.c) -> log-mel of just
 * the frames the kept segments cover (mel.c) -> up to k segments of 128 x 129, band-major
 * (segment.c). A clip shorter than one segment (129 frames = 65,536 samples at 22,050 Hz, 2.97 s)
 * is the per-track error "too short". */
#include "extract/extract.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

int extract_samples_segments(extract_mel *m, const float *x, size_t n, const char *name, int k, float *segs,
                             int *n_seg, char *err, size_t errlen)
{
    *n_seg = 0;
    if (k < 1) return util_fail(err, errlen, UTIL_EFAIL, "%s: segment limit %d < 1", name, k);
    size_t nf = extract_mel_frames(n);
    size_t *starts = malloc((size_t)k * sizeof *starts);
    if (!starts) return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", name);
    int ns = n >= 2 ? extract_segment_starts(nf, k, starts) : 0;
    if (ns == 0) {
        free(starts);
        return util_fail(err, errlen, UTIL_ETRACK,
                         "%s: too short (%.2f s, %zu frames; a segment needs %d frames = %.2f s)", name,
                         (double)n / EXTRACT_SR, n >= 2 ? nf : 0, EXTRACT_SEG_FRAMES,
                         (double)((EXTRACT_SEG_FRAMES - 1) * EXTRACT_HOP) / EXTRACT_SR);
    }
    /* consecutive segments form one run of frames: one log-mel call per run (FFT batches stay
     * full), then each segment's rows are copied into its own (128, 129) block */
    float *run = NULL;
    int i = 0, rc = UTIL_OK;
    while (i < ns && rc == UTIL_OK) {
        int j = i + 1;
        while (j < ns && starts[j] == starts[j - 1] + EXTRACT_SEG_FRAMES) j++;
        size_t nt = (size_t)(j - i) * EXTRACT_SEG_FRAMES;
        if (j - i == 1) { /* a lone segment goes straight into place */
            rc = extract_mel_compute_range(m, x, n, starts[i], nt, segs + (size_t)i * EXTRACT_SEG_SIZE, nt);
        } else {
            if (!run && !(run = malloc((size_t)EXTRACT_N_MELS * (size_t)k * EXTRACT_SEG_FRAMES * sizeof *run))) {
                rc = UTIL_EFAIL;
                break;
            }
            rc = extract_mel_compute_range(m, x, n, starts[i], nt, run, nt);
            for (int s = i; rc == UTIL_OK && s < j; s++)
                for (int b = 0; b < EXTRACT_N_MELS; b++)
                    memcpy(segs + (size_t)s * EXTRACT_SEG_SIZE + (size_t)b * EXTRACT_SEG_FRAMES,
                           run + (size_t)b * nt + (size_t)(s - i) * EXTRACT_SEG_FRAMES,
                           EXTRACT_SEG_FRAMES * sizeof(float));
        }
        i = j;
    }
    free(run);
    free(starts);
    if (rc != UTIL_OK) return util_fail(err, errlen, rc, "%s: log-mel failed", name);
    *n_seg = ns;
    return UTIL_OK;
}

int extract_track_segments(extract_mel *m, const char *path, int k, float *segs, int *n_seg,
                           double *seconds, char *err, size_t errlen)
{
    return extract_track_segments_rs(m, path, EXTRACT_RESAMPLER_DEFAULT, k, segs, n_seg, seconds, err, errlen);
}

int extract_track_segments_rs(extract_mel *m, const char *path, extract_resampler rs, int k, float *segs,
                              int *n_seg, double *seconds, char *err, size_t errlen)
{
    float *x = NULL;
    size_t n = 0;
    *n_seg = 0;
    int rc = extract_audio_load_rs(path, EXTRACT_SR, rs, &x, &n, seconds, err, errlen);
    if (rc != UTIL_OK) return rc;
    rc = extract_samples_segments(m, x, n, path, k, segs, n_seg, err, errlen);
    free(x);
    return rc;
}
