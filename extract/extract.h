/* extract.h - the audio front end: decode (libsndfile) -> mono -> resample to 22,050 Hz (libsoxr,
 * high quality) -> log-mel (FFTW r2c, librosa-default Slaney mel, magnitude, log10(1 + 10 M))
 * -> 129-frame segments. See ../shared/DESIGN.md "Numerical contract".
 *
 * Layouts: a log-mel spectrogram is band-major, float mel[band * n_frames + frame] with
 * EXTRACT_N_MELS bands; a segment is (EXTRACT_N_MELS, EXTRACT_SEG_FRAMES) band-major, i.e. the
 * DCNN's input as (channels = mel bands, time).
 *
 * Per-track failures (missing file, unreadable audio, zero length, non-finite samples, too short)
 * return UTIL_ETRACK with a message naming the file; they are data, not aborts.
 */
#ifndef ARTISTNET_EXTRACT_H
#define ARTISTNET_EXTRACT_H

#include <stddef.h>

#define EXTRACT_SR 22050
#define EXTRACT_N_FFT 1024
#define EXTRACT_HOP 512
#define EXTRACT_N_MELS 128
#define EXTRACT_FMIN 0.0
#define EXTRACT_FMAX 11025.0
#define EXTRACT_SEG_FRAMES 129
#define EXTRACT_SEG_SIZE (EXTRACT_N_MELS * EXTRACT_SEG_FRAMES)
#define EXTRACT_DEFAULT_SEGMENTS 10
#define EXTRACT_MAX_SECONDS 3600 /* longer files are a per-track error (bounds memory: 317 MB at 22,050 Hz) */

/* ---- decode + resample (audio.c) ---- */
/* Reads any libsndfile format, downmixes to mono (channel mean), resamples to sr_out with soxr HQ.
 * *out is malloc'ed (caller frees), *n its length. *src_seconds (may be NULL) gets the file's
 * duration. Returns 0 or UTIL_ETRACK with a message naming the file. */
int extract_audio_load(const char *path, int sr_out, float **out, size_t *n, double *src_seconds,
                       char *err, size_t errlen);

/* ---- log-mel (mel.c) ---- */
typedef struct extract_mel extract_mel; /* FFTW plan, filterbank, scratch: one per thread */

/* Builds the FFTW plan (FFTW_ESTIMATE: the same plan, so the same bits, in every process; under a
 * process-wide lock, planning is not thread safe) and the filterbank once. One object per thread.
 * NULL when out of memory. */
extract_mel *extract_mel_make(void);
void extract_mel_free(extract_mel *m);
/* frames of a clip of n samples: 1 + n / hop (centred, reflect-padded) */
size_t extract_mel_frames(size_t n);
/* Log-mel of x[0..n): writes EXTRACT_N_MELS * extract_mel_frames(n) floats, band-major with row
 * stride `stride` (>= n_frames; pass n_frames for a dense array). n must be >= 2 (reflect pad).
 * Returns 0 or UTIL_ETRACK. */
int extract_mel_compute(extract_mel *m, const float *x, size_t n, float *out, size_t stride);
/* The mel filterbank (EXTRACT_N_MELS x (n_fft/2+1), row-major), for tests. */
const float *extract_mel_filterbank(const extract_mel *m);
/* Frames [t0, t0 + nt) only (the same bits as the full computation), band-major into out with row
 * stride `stride` (>= nt). Used to compute just the segments a track keeps. 0, UTIL_ETRACK (n < 2)
 * or UTIL_EFAIL (range outside the clip). */
int extract_mel_compute_range(extract_mel *m, const float *x, size_t n, size_t t0, size_t nt,
                              float *out, size_t stride);
/* extract_mel_make with a chosen batch (frames per FFTW call and per filterbank pass; even, and 8,
 * 16 or 32 for the AVX2 / AVX-512 code) and flags, for tests and the benchmark. NULL on failure. */
#define EXTRACT_MEL_BATCH 16
#define EXTRACT_MEL_GEMM 1     /* the filterbank as one SGEMM per batch instead of sparse bands */
#define EXTRACT_MEL_NO_AVX512 2 /* at most AVX2 (which gives the same bits as AVX-512) */
#define EXTRACT_MEL_PORTABLE 4  /* plain C only (FFTW keeps its own SIMD) */
extract_mel *extract_mel_make_opts(int batch, int flags);
/* the code path an object uses: 0 plain C, 1 AVX2 + FMA, 2 AVX-512 */
int extract_mel_simd(const extract_mel *m);

/* ---- segments (segment.c) ---- */
/* Start frames of up to k segments of EXTRACT_SEG_FRAMES frames in a clip of n_frames frames:
 * consecutive blocks from the start; when the clip has more than k blocks, k blocks spread evenly
 * over the clip. Returns the number of segments (0: too short). */
int extract_segment_starts(size_t n_frames, int k, size_t *starts);

/* ---- whole track (track.c) ---- */
/* Decode, log-mel and cut one track into at most k segments written to segs (k * EXTRACT_SEG_SIZE
 * floats); *n_seg gets the count, *seconds the audio duration. Returns 0 or UTIL_ETRACK. */
int extract_track_segments(extract_mel *m, const char *path, int k, float *segs, int *n_seg,
                           double *seconds, char *err, size_t errlen);
/* The same from samples already at EXTRACT_SR (name is used in messages). Only the frames of the
 * kept segments are computed. */
int extract_samples_segments(extract_mel *m, const float *x, size_t n, const char *name, int k, float *segs,
                             int *n_seg, char *err, size_t errlen);

#endif
