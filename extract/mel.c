/* mel.c - log-mel spectrogram exactly as the authors' code computes it with librosa defaults
 * (jongpillee/ismir2018-artist mp3s_to_mel.py: librosa.stft(n_fft=1024, hop_length=512) +
 * librosa.filters.mel(22050, 1024, n_mels=128) + log10(1 + 10 M)):
 *   - centred frames, the signal reflect-padded by n_fft/2 at both ends (numpy 'reflect', which for
 *     pads longer than the signal keeps reflecting: index period 2(n-1));
 *   - periodic Hann window of 1024 (scipy get_window('hann', 1024, fftbins=True));
 *   - magnitude |X| of the one-sided FFT (FFTW single-precision r2c);
 *   - 128 triangular mel filters on the Slaney scale (linear below 1 kHz, log above), 0..11,025 Hz,
 *     each scaled by 2 / (f[i+2] - f[i]) (librosa norm='slaney'); M = W |X|;
 *   - log10(1 + 10 M).
 * Frames are transformed in batches of `batch` (default EXTRACT_MEL_BATCH = 8) with one
 * fftwf_plan_many_dft_r2c whose output is bin-major (ostride = batch), so the magnitude, the
 * filterbank and the log run over contiguous vectors of `batch` frames. The filterbank is applied
 * sparsely (each band over its own nonzero bins, ~1,000 multiply-adds per frame instead of 65,664):
 * bench/bench_mel measured 2.8 ms per 30-s clip against 7.5 ms with one SGEMM per batch (the best
 * batch for SGEMM, 64). FFTW itself (Debian's build has SSE2/AVX codelets only) is about 60% of the
 * time. FFTW planning is not thread safe, so extract_mel_make/free hold a process-wide lock;
 * extract_mel_compute itself is reentrant per object.
 */
#include "extract/extract.h"
#include "util/util.h"

#include <cblas.h>
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#define NB (EXTRACT_N_FFT / 2 + 1) /* 513 one-sided bins */
#define MEL_PI 3.14159265358979323846
/* The log loop vectorises only when float compares may be if-converted (no NaN reaches it). */
#if defined(__GNUC__) && !defined(__clang__)
#define MEL_NO_TRAP __attribute__((optimize("no-trapping-math")))
#else
#define MEL_NO_TRAP
#endif
/* The hot loops are compiled twice, for baseline x86-64 (SSE2) and for AVX2+FMA, and the CPU picks
 * at load time (GCC target_clones: ifunc); Debian's FFTW has SSE2/AVX codelets of its own. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define MEL_AVX 1
#else
#define MEL_CLONES
#define MEL_AVX 0
#endif

struct extract_mel {
    int batch, use_gemm;
    float *window;       /* periodic Hann, n_fft */
    float *fb;           /* dense filterbank (n_mels x NB), row-major */
    int lo[EXTRACT_N_MELS], len[EXTRACT_N_MELS]; /* nonzero bin range of each band */
    size_t off[EXTRACT_N_MELS];                  /* offset of the band's weights in w */
    float *w;            /* packed nonzero weights */
    float *in;           /* batch frames, frame-major (idist = n_fft) */
    fftwf_complex *spec; /* bin-major: spec[bin * batch + frame] */
    float *mag;          /* bin-major magnitudes */
    float *mel;          /* band-major: mel[band * batch + frame] */
    fftwf_plan plan;
};

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

/* Slaney mel scale (librosa hz_to_mel / mel_to_hz with htk=False) */
static double hz_to_mel(double f)
{
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) / logstep : f / f_sp;
}

static double mel_to_hz(double m)
{
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : f_sp * m;
}

/* librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'), in double */
static void mel_filterbank(float *fb)
{
    double mel_f[EXTRACT_N_MELS + 2];
    double mmin = hz_to_mel(EXTRACT_FMIN), mmax = hz_to_mel(EXTRACT_FMAX);
    for (int i = 0; i < EXTRACT_N_MELS + 2; i++)
        mel_f[i] = mel_to_hz(mmin + (mmax - mmin) * i / (EXTRACT_N_MELS + 1));
    for (int i = 0; i < EXTRACT_N_MELS; i++) {
        double d0 = mel_f[i + 1] - mel_f[i], d1 = mel_f[i + 2] - mel_f[i + 1];
        double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (int k = 0; k < NB; k++) {
            double f = (double)k * EXTRACT_SR / EXTRACT_N_FFT;
            double lower = (f - mel_f[i]) / d0, upper = (mel_f[i + 2] - f) / d1;
            double w = lower < upper ? lower : upper;
            fb[(size_t)i * NB + k] = w > 0 ? (float)(w * enorm) : 0.0f;
        }
    }
}

extract_mel *extract_mel_make_opts(int batch, int use_gemm)
{
    if (batch < 1 || batch > 1024) return NULL;
    extract_mel *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->batch = batch;
    m->use_gemm = use_gemm;
    m->window = malloc(EXTRACT_N_FFT * sizeof(float));
    m->fb = malloc((size_t)EXTRACT_N_MELS * NB * sizeof(float));
    m->w = malloc((size_t)EXTRACT_N_MELS * NB * sizeof(float));
    m->mag = fftwf_malloc((size_t)NB * batch * sizeof(float));
    m->mel = fftwf_malloc((size_t)EXTRACT_N_MELS * batch * sizeof(float));
    m->in = fftwf_malloc((size_t)EXTRACT_N_FFT * batch * sizeof(float));
    m->spec = fftwf_malloc((size_t)NB * batch * sizeof(fftwf_complex));
    if (!m->window || !m->fb || !m->w || !m->mag || !m->mel || !m->in || !m->spec) {
        extract_mel_free(m);
        return NULL;
    }
    for (int i = 0; i < EXTRACT_N_FFT; i++)
        m->window[i] = (float)(0.5 - 0.5 * cos(2.0 * MEL_PI * i / EXTRACT_N_FFT));
    mel_filterbank(m->fb);
    size_t off = 0;
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        const float *row = m->fb + (size_t)b * NB;
        int lo = 0, hi = NB - 1;
        while (lo < NB && row[lo] == 0) lo++;
        while (hi > lo && row[hi] == 0) hi--;
        m->lo[b] = lo < NB ? lo : 0;
        m->len[b] = lo < NB ? hi - lo + 1 : 0;
        m->off[b] = off;
        memcpy(m->w + off, row + m->lo[b], (size_t)m->len[b] * sizeof(float));
        off += (size_t)m->len[b];
    }
    /* FFTW_ESTIMATE, not FFTW_MEASURE: MEASURE times candidate algorithms, so two processes pick
     * different plans that round differently (1 ulp in /mel, ~3e-6 in features, seen here in 2 of 4
     * runs), which would make outputs depend on the run, the rank count and --resume. ESTIMATE's
     * plan is a pure function of the problem and the FFTW build: the same bits in every process.
     * It cost ~0.8 ms per 30-s clip in bench_mel. No wisdom is imported anywhere in artistnet. */
    int n = EXTRACT_N_FFT;
    pthread_mutex_lock(&planner_lock);
    m->plan = fftwf_plan_many_dft_r2c(1, &n, batch, m->in, NULL, 1, EXTRACT_N_FFT, m->spec, NULL,
                                      batch, 1, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!m->plan) {
        extract_mel_free(m);
        return NULL;
    }
    return m;
}

extract_mel *extract_mel_make(void) { return extract_mel_make_opts(EXTRACT_MEL_BATCH, 0); }

void extract_mel_free(extract_mel *m)
{
    if (!m) return;
    pthread_mutex_lock(&planner_lock);
    if (m->plan) fftwf_destroy_plan(m->plan);
    pthread_mutex_unlock(&planner_lock);
    fftwf_free(m->in);
    fftwf_free(m->spec);
    fftwf_free(m->mag);
    fftwf_free(m->mel);
    free(m->window);
    free(m->fb);
    free(m->w);
    free(m);
}

size_t extract_mel_frames(size_t n) { return 1 + n / EXTRACT_HOP; }

const float *extract_mel_filterbank(const extract_mel *m) { return m->fb; }

/* numpy 'reflect' index for any integer position (n >= 2): period 2(n-1) */
static size_t reflect_index(long long i, size_t n)
{
    long long p = 2 * ((long long)n - 1);
    i %= p;
    if (i < 0) i += p;
    if (i >= (long long)n) i = p - i;
    return (size_t)i;
}

/* log10(1 + 10 v) for v >= 0, over a vector: cephes logf's polynomial on the mantissa in
 * [sqrt(1/2), sqrt(2)), written branch-free so the compiler vectorises it (libm's log10f does not
 * vectorise without -ffast-math). Relative error ~1e-7. */
MEL_CLONES MEL_NO_TRAP static void log10_1p10(float *restrict v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        union { float f; uint32_t u; } x = {.f = 1.0f + 10.0f * v[i]};
        float fe = (float)((int32_t)(x.u >> 23) - 126); /* x >= 1: sign bit clear */
        x.u = (x.u & 0x007fffffu) | 0x3f000000u;        /* mantissa in [0.5, 1) */
        float small = x.f < 0.70710678f ? 1.0f : 0.0f;
        fe -= small;
        float f = x.f * (1.0f + small) - 1.0f;
        float z = f * f;
        float y = 7.0376836292e-2f;
        y = y * f - 1.1514610310e-1f;
        y = y * f + 1.1676998740e-1f;
        y = y * f - 1.2420140846e-1f;
        y = y * f + 1.4249322787e-1f;
        y = y * f - 1.6668057665e-1f;
        y = y * f + 2.0000714765e-1f;
        y = y * f - 2.4999993993e-1f;
        y = y * f + 3.3333331174e-1f;
        y = y * f * z;
        y += -2.12194440e-4f * fe;
        y += -0.5f * z;
        v[i] = (f + y + 0.693359375f * fe) * 0.43429448190325182f; /* ln -> log10 */
    }
}

/* |X| over the whole batch, with explicit SIMD: GCC will not vectorise sqrtf while it may have to
 * set errno */
static void magnitude_sse(const float *restrict p, float *restrict mag, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 4 <= n; i += 4) {
        __m128 a = _mm_loadu_ps(p + 2 * i), b = _mm_loadu_ps(p + 2 * i + 4);
        __m128 re = _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), im = _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        _mm_storeu_ps(mag + i, _mm_sqrt_ps(_mm_add_ps(_mm_mul_ps(re, re), _mm_mul_ps(im, im))));
    }
#endif
    for (; i < n; i++) mag[i] = sqrtf(p[2 * i] * p[2 * i] + p[2 * i + 1] * p[2 * i + 1]);
}

#if MEL_AVX
__attribute__((target("avx2,fma"))) static void magnitude_avx2(const float *restrict p, float *restrict mag, size_t n)
{
    size_t i = 0;
    const __m256i perm = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(p + 2 * i), b = _mm256_loadu_ps(p + 2 * i + 8);
        /* in-lane shuffles give re/im in the order 0 1 4 5 2 3 6 7; permute back */
        __m256 re = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), im = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        __m256 s2 = _mm256_fmadd_ps(re, re, _mm256_mul_ps(im, im));
        _mm256_storeu_ps(mag + i, _mm256_permutevar8x32_ps(_mm256_sqrt_ps(s2), perm));
    }
    for (; i < n; i++) mag[i] = sqrtf(p[2 * i] * p[2 * i] + p[2 * i + 1] * p[2 * i + 1]);
}
#endif

static void magnitude(const fftwf_complex *restrict s, float *restrict mag, size_t n)
{
#if MEL_AVX
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        magnitude_avx2((const float *)s, mag, n);
        return;
    }
#endif
    magnitude_sse((const float *)s, mag, n);
}

MEL_CLONES static void window_frame(float *restrict dst, const float *restrict src, const float *restrict win)
{
    for (int i = 0; i < EXTRACT_N_FFT; i++) dst[i] = src[i] * win[i];
}

/* mel[b][j] = sum_k W[b][k] mag[k][j] over band b's nonzero bins, vectorised over the batch */
/* mel[b][j] = sum_k W[b][k] mag[k][j] over band b's nonzero bins, vectorised over the batch:
 * nv 8-wide accumulators (batch = 8 nv) stay in registers while the band's bins stream by */
typedef float mel_v8 __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) void filterbank_v8(const extract_mel *m, const int nv)
{
    const int B = 8 * nv;
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        mel_v8 a[4] = {{0}};
        const float *w = m->w + m->off[b];
        const float *col = m->mag + (size_t)m->lo[b] * B;
        for (int k = 0; k < m->len[b]; k++, col += B)
            for (int v = 0; v < nv; v++) {
                mel_v8 c;
                memcpy(&c, col + 8 * v, sizeof c);
                a[v] += w[k] * c;
            }
        for (int v = 0; v < nv; v++) memcpy(m->mel + (size_t)b * B + 8 * v, &a[v], sizeof a[v]);
    }
}

MEL_CLONES static void filterbank_sparse(const extract_mel *m)
{
    const int B = m->batch;
    switch (B) {
    case 8: filterbank_v8(m, 1); return;
    case 16: filterbank_v8(m, 2); return;
    case 32: filterbank_v8(m, 4); return;
    default: break;
    }
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        float *restrict acc = m->mel + (size_t)b * B;
        for (int j = 0; j < B; j++) acc[j] = 0;
        const float *w = m->w + m->off[b];
        for (int k = 0; k < m->len[b]; k++) {
            const float *restrict col = m->mag + (size_t)(m->lo[b] + k) * B;
            float wk = w[k];
            for (int j = 0; j < B; j++) acc[j] += wk * col[j];
        }
    }
}

int extract_mel_compute_range(extract_mel *m, const float *x, size_t n, size_t t0, size_t nt,
                              float *out, size_t stride)
{
    if (n < 2) return UTIL_ETRACK;
    size_t total = extract_mel_frames(n);
    if (t0 > total || nt > total - t0 || stride < nt) return UTIL_EFAIL;
    const int B = m->batch;
    const float *win = m->window;
    for (size_t t = t0; t < t0 + nt; t += (size_t)B) {
        size_t nb = t0 + nt - t < (size_t)B ? t0 + nt - t : (size_t)B;
        for (size_t j = 0; j < (size_t)B; j++) {
            float *restrict dst = m->in + j * EXTRACT_N_FFT;
            if (j >= nb) { /* tail of the last batch */
                memset(dst, 0, EXTRACT_N_FFT * sizeof(float));
                continue;
            }
            long long start = (long long)((t + j) * EXTRACT_HOP) - EXTRACT_N_FFT / 2;
            if (start >= 0 && start + EXTRACT_N_FFT <= (long long)n) {
                window_frame(dst, x + start, win);
            } else {
                for (int i = 0; i < EXTRACT_N_FFT; i++) dst[i] = x[reflect_index(start + i, n)] * win[i];
            }
        }
        fftwf_execute(m->plan);
        magnitude(m->spec, m->mag, (size_t)NB * B);
        if (m->use_gemm)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, EXTRACT_N_MELS, B, NB, 1.0f, m->fb, NB,
                        m->mag, B, 0.0f, m->mel, B);
        else
            filterbank_sparse(m);
        log10_1p10(m->mel, (size_t)EXTRACT_N_MELS * B);
        for (int b = 0; b < EXTRACT_N_MELS; b++)
            memcpy(out + (size_t)b * stride + (t - t0), m->mel + (size_t)b * B, nb * sizeof(float));
    }
    return UTIL_OK;
}

int extract_mel_compute(extract_mel *m, const float *x, size_t n, float *out, size_t stride)
{
    if (n < 2) return UTIL_ETRACK;
    return extract_mel_compute_range(m, x, n, 0, extract_mel_frames(n), out, stride);
}
