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
 * Frames are transformed in batches of `batch` with one fftwf_plan_many_dft_r2c whose output is
 * bin-major (ostride = batch), so the magnitude, the filterbank and the log all run over contiguous
 * vectors of `batch` frames. The filterbank is applied sparsely (each band over its own nonzero bins):
 * bench/bench_mel measures it against one SGEMM per batch, and sparse wins by a wide margin
 * (about 1,000 multiply-adds per frame instead of 65,664). FFTW planning is not thread safe, so
 * extract_mel_make/free hold a process-wide lock; extract_mel_compute itself is reentrant per object.
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

#define NB (EXTRACT_N_FFT / 2 + 1) /* 513 one-sided bins */
#define MEL_PI 3.14159265358979323846

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
    int n = EXTRACT_N_FFT;
    pthread_mutex_lock(&planner_lock);
    m->plan = fftwf_plan_many_dft_r2c(1, &n, batch, m->in, NULL, 1, EXTRACT_N_FFT, m->spec, NULL,
                                      batch, 1, FFTW_MEASURE);
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
static void log10_1p10(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = 1.0f + 10.0f * v[i];
        uint32_t bits;
        memcpy(&bits, &x, sizeof bits);
        int e = (int)((bits >> 23) & 0xff) - 126;
        bits = (bits & 0x807fffffu) | 0x3f000000u; /* mantissa in [0.5, 1) */
        float f;
        memcpy(&f, &bits, sizeof f);
        int small = f < 0.70710678f;
        e -= small;
        f = small ? f + f - 1.0f : f - 1.0f;
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
        float fe = (float)e;
        y += -2.12194440e-4f * fe;
        y += -0.5f * z;
        float r = f + y + 0.693359375f * fe;
        v[i] = r * 0.43429448190325182f; /* 1 / ln 10 */
    }
}

/* |X| over the whole bin-major batch */
static void magnitude(const fftwf_complex *restrict s, float *restrict mag, size_t n)
{
    const float *p = (const float *)s;
    for (size_t i = 0; i < n; i++) {
        float re = p[2 * i], im = p[2 * i + 1];
        mag[i] = __builtin_sqrtf(re * re + im * im);
    }
}

/* mel[b][j] = sum_k W[b][k] mag[k][j] over band b's nonzero bins, vectorised over the batch */
static void filterbank_sparse(const extract_mel *m)
{
    const int B = m->batch;
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
                const float *restrict src = x + start;
                for (int i = 0; i < EXTRACT_N_FFT; i++) dst[i] = src[i] * win[i];
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
