/* extract.h - the audio front end: decode (libsndfile) -> mono -> resample to 22,050 Hz (libsoxr:
 * `soxr-hq`, or `kaiser-best`, soxr set up to match resampy's kaiser_best) -> log-mel (FFTW r2c, librosa-default Slaney mel, magnitude, log10(1 + 10 M))
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
/* The resampler of the front end, recorded by name in mels.h5, model.h5 and features.h5 (attribute
 * `resampler`):
 *   soxr-hq      libsoxr SOXR_HQ (librosa >= 0.10's default, res_type "soxr_hq");
 *   kaiser-best  the filter of resampy's kaiser_best (librosa < 0.10's default, what the authors'
 *                net was trained with): a Kaiser-windowed sinc (beta 12.9846, rolloff 0.917347 of
 *                the output Nyquist, 50 zero crossings), linear phase. libsoxr designs a Kaiser-
 *                windowed sinc too; its quality spec set to 20 bits (attenuation 126 dB: Kaiser
 *                beta 12.97), passband end 0.835 and stopband begin 1.0 (of the output Nyquist)
 *                reproduces resampy's response within about 1 dB down to -40 dB (the -6 dB point at
 *                10.1 kHz), where SOXR_HQ's passband runs 1 kHz further. The output length is
 *                floor(n * sr_out / sr_in), as resampy's. README "Which resampler" has the measurements. */
typedef enum { EXTRACT_RESAMPLER_SOXR_HQ = 0, EXTRACT_RESAMPLER_KAISER_BEST = 1 } extract_resampler;
#define EXTRACT_RESAMPLER_DEFAULT EXTRACT_RESAMPLER_SOXR_HQ
#define EXTRACT_RESAMPLER_NAMES "soxr-hq|kaiser-best"
/* "soxr-hq" / "kaiser-best" */
const char *extract_resampler_name(extract_resampler r);
/* 0 and *r for a known name, -1 otherwise */
int extract_resampler_parse(const char *name, extract_resampler *r);
/* The resampler a file was made with, from its attribute `resampler` (value; NULL when the file has
 * none: written before it was recorded, with soxr-hq). UTIL_EINPUT naming `path` for an unknown name. */
int extract_resampler_recorded(const char *value, const char *path, extract_resampler *r, char *err, size_t errlen);

/* Reads any libsndfile format, downmixes to mono (channel mean), resamples to sr_out with the
 * default resampler (soxr-hq). *out is malloc'ed (caller frees), *n its length. *src_seconds (may be
 * NULL) gets the file's duration. Returns 0 or UTIL_ETRACK with a message naming the file. */
int extract_audio_load(const char *path, int sr_out, float **out, size_t *n, double *src_seconds,
                       char *err, size_t errlen);
/* The same with a chosen resampler. */
int extract_audio_load_rs(const char *path, int sr_out, extract_resampler rs, float **out, size_t *n,
                          double *src_seconds, char *err, size_t errlen);

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
/* The same with a chosen resampler (extract_track_segments: the default). */
int extract_track_segments_rs(extract_mel *m, const char *path, extract_resampler rs, int k, float *segs,
                              int *n_seg, double *seconds, char *err, size_t errlen);
/* The same from samples already at EXTRACT_SR (name is used in messages). Only the frames of the
 * kept segments are computed. */
int extract_samples_segments(extract_mel *m, const float *x, size_t n, const char *name, int k, float *segs,
                             int *n_seg, char *err, size_t errlen);

#endif
