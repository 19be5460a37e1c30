/* mel.c - log-mel spectrogram exactly as the authors' code computes it with librosa defaults
 * (jongpillee/ismir2018-artist mp3s_to_mel.py: librosa.stft(n_fft=1024, hop_length=512) +
 * librosa.filters.mel(22050, 1024, n_mels=128) + log10(1 + 10 M)):
 *   - centred frames, the signal reflect-padded by n_fft/2 at both ends (numpy 'reflect', which for
 *     pads longer than the signal keeps reflecting: index period 2(n-1));
 *   - periodic Hann window of 1024 (scipy get_window('hann', 1024, fftbins=True));
 *   - magnitude |X| of the one-sided FFT (FFTW, single precision);
 *   - 128 triangular mel filters on the Slaney scale (linear below 1 kHz, log above), 0..11,025 Hz,
 *     each scaled by 2 / (f[i+2] - f[i]) (librosa norm='slaney'); M = W |X|;
 *   - log10(1 + 10 M).
 * Two real frames go through one complex FFT (frame 2q as the real part, frame 2q+1 as the
 * imaginary part; A[k] = (Z[k] + conj Z[N-k]) / 2, B[k] = (Z[k] - conj Z[N-k]) / 2i): Debian's FFTW
 * has AVX codelets for complex DFTs, while its 1024-point r2c plan runs through a scalar radix-2
 * step, 3x slower per frame. Frames are paired by absolute index (the partner of a clip's last frame
 * is zeros), so a frame's bits never depend on the range asked for. A batch of `batch` frames
 * (default EXTRACT_MEL_BATCH = 8) is one fftwf_plan_many_dft call; the magnitudes are transposed in
 * registers to bin-major (mag[bin * batch + frame]), so the filterbank and the log run over
 * contiguous vectors of frames. The filterbank is applied sparsely (each band over its own nonzero
 * bins, ~1,000 multiply-adds per frame instead of 65,664), which bench/bench_mel measures as several
 * times faster than one SGEMM per batch. bench_mel, 30-s clip, one core: 4.5 ms per clip with the
 * r2c plan, 1.4-1.8 ms with the paired complex FFT, about half of it FFTW. FFTW planning is not
 * thread safe, so extract_mel_make/free hold a process-wide lock; extract_mel_compute itself is
 * reentrant per object.
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
/* The hot loops are compiled twice, for baseline x86-64 (SSE2) and for AVX2+FMA, and the CPU picks
 * at load time (GCC target_clones: ifunc); Debian's FFTW has SSE2/AVX codelets of its own. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define MEL_AVX 1
#else
#define MEL_CLONES
#define MEL_AVX 0
#endif

/* FFTW split format. Pair q of a batch has re = frame 2q, im = frame 2q+1: both read in place from
 * the signal, re at offset 1024 q, im at 1024 q + 512. Its spectrum is re[SPEC_LEN] then im[SPEC_LEN]
 * with the 1024 bins at offset SPEC_PAD, wrapped around by one bin on both sides (Z[-1] = Z[N-1],
 * Z[N] = Z[0], Z[N+1] = Z[1]) for the window's 3-tap convolution; 32-byte aligned */
#define SPEC_PAD 8
#define SPEC_LEN (EXTRACT_N_FFT + 2 * SPEC_PAD)
#define SPAN(pairs) ((size_t)(pairs) * EXTRACT_N_FFT + EXTRACT_HOP) /* samples a batch reads */

struct extract_mel {
    int batch, pairs, use_gemm;
    int avx2;            /* the CPU has AVX2 + FMA and batch % 8 == 0: the hand-vectorised paths */
    float *fb;           /* dense filterbank (n_mels x NB), row-major */
    int lo[EXTRACT_N_MELS], len[EXTRACT_N_MELS]; /* nonzero bin range of each band */
    size_t off[EXTRACT_N_MELS];                  /* offset of the band's weights in w */
    float *w;            /* packed nonzero weights */
    /* the same weights by groups of 4 bands, dense over the group's bins: gw[k * 4 + band] */
    int glo[EXTRACT_N_MELS / 4], glen[EXTRACT_N_MELS / 4];
    size_t goff[EXTRACT_N_MELS / 4];
    float *gw;
    float *in;           /* a batch's samples, SPAN(pairs), when they cannot be read in place */
    float *spec;         /* pairs x 2 SPEC_LEN: their DFTs, split */
    float *mag;          /* bin-major magnitudes: mag[bin * batch + frame] */
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
    if (batch < 2 || batch > 1024 || batch % 2) return NULL;
    extract_mel *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->batch = batch;
    m->pairs = batch / 2;
    m->use_gemm = use_gemm;
#if MEL_AVX
    m->avx2 = batch % 8 == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    m->fb = malloc((size_t)EXTRACT_N_MELS * NB * sizeof(float));
    m->w = malloc((size_t)EXTRACT_N_MELS * NB * sizeof(float));
    m->gw = calloc((size_t)EXTRACT_N_MELS * NB, sizeof(float));
    m->mag = fftwf_malloc((size_t)NB * batch * sizeof(float));
    m->mel = fftwf_malloc((size_t)EXTRACT_N_MELS * batch * sizeof(float));
    m->in = fftwf_malloc(SPAN(m->pairs) * sizeof(float));
    m->spec = fftwf_malloc((size_t)2 * SPEC_LEN * m->pairs * sizeof(float));
    if (!m->fb || !m->w || !m->gw || !m->mag || !m->mel || !m->in || !m->spec) {
        extract_mel_free(m);
        return NULL;
    }
    memset(m->in, 0, SPAN(m->pairs) * sizeof(float));
    memset(m->spec, 0, (size_t)2 * SPEC_LEN * m->pairs * sizeof(float));
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
    off = 0;
    for (int g = 0; g < EXTRACT_N_MELS / 4; g++) {
        int lo = NB, hi = 0;
        for (int b = 4 * g; b < 4 * g + 4; b++) {
            if (m->len[b] == 0) continue;
            if (m->lo[b] < lo) lo = m->lo[b];
            if (m->lo[b] + m->len[b] > hi) hi = m->lo[b] + m->len[b];
        }
        m->glo[g] = lo < hi ? lo : 0;
        m->glen[g] = lo < hi ? hi - lo : 0;
        m->goff[g] = off;
        for (int k = 0; k < m->glen[g]; k++)
            for (int i = 0; i < 4; i++) m->gw[off + 4 * (size_t)k + i] = m->fb[(size_t)(4 * g + i) * NB + m->glo[g] + k];
        off += 4 * (size_t)m->glen[g];
    }
    /* FFTW_ESTIMATE, not FFTW_MEASURE: MEASURE times candidate algorithms, so two processes pick
     * different plans that round differently (1 ulp in /mel, ~3e-6 in features, seen here in 2 of 4
     * runs), which would make outputs depend on the run, the rank count and --resume. ESTIMATE's
     * plan is a pure function of the problem and the FFTW build: the same bits in every process.
     * No wisdom is imported anywhere in artistnet. */
    fftwf_iodim dim = {.n = EXTRACT_N_FFT, .is = 1, .os = 1};
    fftwf_iodim many = {.n = m->pairs, .is = EXTRACT_N_FFT, .os = 2 * SPEC_LEN};
    pthread_mutex_lock(&planner_lock);
    m->plan = fftwf_plan_guru_split_dft(1, &dim, 1, &many, m->in, m->in + EXTRACT_HOP, m->spec + SPEC_PAD,
                                        m->spec + SPEC_LEN + SPEC_PAD,
                                        FFTW_ESTIMATE);
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
    free(m->fb);
    free(m->w);
    free(m->gw);
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
 * [sqrt(1/2), sqrt(2)), written branch-free with integer selects so that the compiler vectorises it
 * (libm's log10f does not vectorise without -ffast-math). Relative error ~1e-7. */
MEL_CLONES static void log10_1p10(float *restrict v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        union { float f; uint32_t u; } x = {.f = 1.0f + 10.0f * v[i]};
        uint32_t mant = x.u & 0x007fffffu, big = mant >= 0x003504f3u; /* mantissa >= sqrt(2) */
        float fe = (float)((int32_t)(x.u >> 23) - 127 + (int32_t)big); /* x >= 1: sign bit clear */
        x.u = mant | (0x3f800000u - (big << 23)); /* in [sqrt(1/2), sqrt(2)) */
        float f = x.f - 1.0f;
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

/* The padded signal y[s0 .. s0 + span) (y[i] = x[i - n_fft/2] reflected, numpy 'reflect'): x itself
 * when the span lies inside the clip and x has the alignment the FFTW plan was made for (FFTW's
 * new-array execute requires it; the plan, and so the bits, are the same either way), else a copy
 * in buf */
static const float *batch_samples(const float *x, size_t n, long long s0, size_t span, float *buf)
{
    long long a = s0 - EXTRACT_N_FFT / 2; /* index into x */
    if (a >= 0 && a + (long long)span <= (long long)n && fftwf_alignment_of((float *)x) == fftwf_alignment_of(buf))
        return x + a;
    size_t i = 0;
    for (; i < span && a + (long long)i < 0; i++) buf[i] = x[reflect_index(a + (long long)i, n)];
    if (i < span && a + (long long)i < (long long)n) {
        size_t inside = (size_t)((long long)n - (a + (long long)i));
        if (inside > span - i) inside = span - i;
        memcpy(buf + i, x + a + (long long)i, inside * sizeof(float));
        i += inside;
    }
    for (; i < span; i++) buf[i] = x[reflect_index(a + (long long)i, n)];
    return buf;
}

/* Z = DFT(a + i b) of the unwindowed real frames a, b. The periodic Hann window is the 3-tap
 * convolution W[k] = Z[k]/2 - (Z[k-1] + Z[k+1])/4 in frequency (w[n] = 1/2 - e^{2 pi i n/N}/4 -
 * e^{-2 pi i n/N}/4); with U = 2 W = Z[k] - (Z[k-1] + Z[k+1])/2 the windowed frames' spectra are
 * A[k] = (U[k] + conj U[N-k]) / 4 and B[k] = (U[k] - conj U[N-k]) / 4i, so
 *   |A[k]| = |(Re U[k] + Re U[N-k]) + i (Im U[k] - Im U[N-k])| / 4,
 *   |B[k]| = |(Im U[k] + Im U[N-k]) + i (Re U[k] - Re U[N-k])| / 4.
 * Writes the magnitudes of frames 2q, 2q+1 of every pair q bin-major into mag (row = bin). */
static void magnitude_pairs_scalar(const float *spec, float *restrict mag, int pairs)
{
    const int B = 2 * pairs;
    for (int q = 0; q < pairs; q++) {
        const float *re = spec + (size_t)q * 2 * SPEC_LEN + SPEC_PAD, *im = re + SPEC_LEN;
        for (int k = 0; k < NB; k++) {
            int r = EXTRACT_N_FFT - k;
            float urk = re[k] - 0.5f * (re[k - 1] + re[k + 1]), uik = im[k] - 0.5f * (im[k - 1] + im[k + 1]);
            float urr = re[r] - 0.5f * (re[r - 1] + re[r + 1]), uir = im[r] - 0.5f * (im[r - 1] + im[r + 1]);
            float sr = urk + urr, di = uik - uir, si = uik + uir, dr = urk - urr;
            mag[(size_t)k * B + 2 * q] = 0.25f * sqrtf(sr * sr + di * di);
            mag[(size_t)k * B + 2 * q + 1] = 0.25f * sqrtf(si * si + dr * dr);
        }
    }
}

#if MEL_AVX
/* U = Z[k] - (Z[k-1] + Z[k+1]) / 2 of 8 bins from p */
__attribute__((target("avx2,fma"))) static inline __m256 hann_avx2(const float *p)
{
    return _mm256_fnmadd_ps(_mm256_add_ps(_mm256_loadu_ps(p - 1), _mm256_loadu_ps(p + 1)), _mm256_set1_ps(0.5f),
                            _mm256_loadu_ps(p));
}

/* The same over 8 bins x 4 pairs at a time: 8 frame vectors of 8 bins, transposed in registers
 * into 8 bin vectors of 8 frames. Needs pairs % 4 == 0. */
__attribute__((target("avx2,fma"))) static void magnitude_pairs_avx2(const float *spec, float *restrict mag, int pairs)
{
    const int B = 2 * pairs;
    const __m256 quarter = _mm256_set1_ps(0.25f);
    const __m256i reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    for (int g = 0; g < pairs; g += 4) {
        for (int k = 0; k < NB - 1; k += 8) {
            __m256 r[8];
            for (int p = 0; p < 4; p++) {
                const float *re = spec + (size_t)(g + p) * 2 * SPEC_LEN + SPEC_PAD, *im = re + SPEC_LEN;
                __m256 rk = hann_avx2(re + k), ik = hann_avx2(im + k);
                /* U[N-k-j], j = 0..7 */
                __m256 rr = _mm256_permutevar8x32_ps(hann_avx2(re + EXTRACT_N_FFT - k - 7), reverse);
                __m256 ir = _mm256_permutevar8x32_ps(hann_avx2(im + EXTRACT_N_FFT - k - 7), reverse);
                __m256 sr = _mm256_add_ps(rk, rr), di = _mm256_sub_ps(ik, ir);
                __m256 si = _mm256_add_ps(ik, ir), dr = _mm256_sub_ps(rk, rr);
                r[2 * p] = _mm256_mul_ps(quarter, _mm256_sqrt_ps(_mm256_fmadd_ps(sr, sr, _mm256_mul_ps(di, di))));
                r[2 * p + 1] = _mm256_mul_ps(quarter, _mm256_sqrt_ps(_mm256_fmadd_ps(si, si, _mm256_mul_ps(dr, dr))));
            }
            __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
            __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
            __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
            __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
            __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *o = mag + (size_t)k * B + 2 * g;
            _mm256_storeu_ps(o + 0 * B, _mm256_permute2f128_ps(s0, s4, 0x20));
            _mm256_storeu_ps(o + 1 * B, _mm256_permute2f128_ps(s1, s5, 0x20));
            _mm256_storeu_ps(o + 2 * B, _mm256_permute2f128_ps(s2, s6, 0x20));
            _mm256_storeu_ps(o + 3 * B, _mm256_permute2f128_ps(s3, s7, 0x20));
            _mm256_storeu_ps(o + 4 * B, _mm256_permute2f128_ps(s0, s4, 0x31));
            _mm256_storeu_ps(o + 5 * B, _mm256_permute2f128_ps(s1, s5, 0x31));
            _mm256_storeu_ps(o + 6 * B, _mm256_permute2f128_ps(s2, s6, 0x31));
            _mm256_storeu_ps(o + 7 * B, _mm256_permute2f128_ps(s3, s7, 0x31));
        }
    }
    /* the Nyquist bin k = N/2 = N - k: |A| = |Re U| / 2, |B| = |Im U| / 2 */
    for (int q = 0; q < pairs; q++) {
        const float *re = spec + (size_t)q * 2 * SPEC_LEN + SPEC_PAD + NB - 1, *im = re + SPEC_LEN;
        float ur = re[0] - 0.5f * (re[-1] + re[1]), ui = im[0] - 0.5f * (im[-1] + im[1]);
        mag[(size_t)(NB - 1) * B + 2 * q] = 0.25f * sqrtf(4.0f * ur * ur);
        mag[(size_t)(NB - 1) * B + 2 * q + 1] = 0.25f * sqrtf(4.0f * ui * ui);
    }
}
#endif

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

#if MEL_AVX
/* log10(1 + 10 v) of 8 values: log10_1p10 with FMAs */
__attribute__((target("avx2,fma"))) static inline __m256 log10_1p10_avx2(__m256 v)
{
    __m256i u = _mm256_castps_si256(_mm256_fmadd_ps(v, _mm256_set1_ps(10.0f), _mm256_set1_ps(1.0f)));
    __m256i mant = _mm256_and_si256(u, _mm256_set1_epi32(0x007fffff));
    __m256i big = _mm256_cmpgt_epi32(mant, _mm256_set1_epi32(0x003504f2)); /* -1: mantissa >= sqrt(2) */
    __m256 fe = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_sub_epi32(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(127)), big));
    __m256 f = _mm256_castsi256_ps(_mm256_or_si256(mant, _mm256_add_epi32(_mm256_set1_epi32(0x3f800000), _mm256_slli_epi32(big, 23))));
    f = _mm256_sub_ps(f, _mm256_set1_ps(1.0f));
    __m256 z = _mm256_mul_ps(f, f);
    __m256 y = _mm256_set1_ps(7.0376836292e-2f);
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.1514610310e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.1676998740e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.2420140846e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.4249322787e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.6668057665e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(2.0000714765e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-2.4999993993e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(3.3333331174e-1f));
    y = _mm256_mul_ps(_mm256_mul_ps(y, f), z);
    y = _mm256_fmadd_ps(fe, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fmadd_ps(z, _mm256_set1_ps(-0.5f), y);
    __m256 r = _mm256_fmadd_ps(fe, _mm256_set1_ps(0.693359375f), _mm256_add_ps(f, y));
    return _mm256_mul_ps(r, _mm256_set1_ps(0.43429448190325182f));
}

/* Filterbank into m->mel by groups of 4 bands, dense over the group's bins (about 2.5 times the
 * multiply-adds of the sparse bands, but 8 independent FMA chains of 16 frames and no branch per
 * band; the zero weights add exact zeros, so each band's sum is the sparse one); then log and
 * store: out row b gets frames [j0, j1) of the batch at out + b * stride. */
__attribute__((target("avx2,fma"))) static void mel_bands_avx2(const extract_mel *m, float *out, size_t stride,
                                                             size_t j0, size_t j1)
{
    const int B = m->batch;
    for (int g = 0; g < EXTRACT_N_MELS / 4; g++) {
        for (int v = 0; v < B; v += 16) {
            const float *w = m->gw + m->goff[g];
            const float *col = m->mag + (size_t)m->glo[g] * B + v;
            float *mel = m->mel + (size_t)4 * g * B + v;
            if (v + 16 <= B) {
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
                for (int k = 0; k < m->glen[g]; k++, col += B, w += 4) {
                    __m256 x0 = _mm256_loadu_ps(col), x1 = _mm256_loadu_ps(col + 8);
                    __m256 w0 = _mm256_broadcast_ss(w), w1 = _mm256_broadcast_ss(w + 1);
                    __m256 w2 = _mm256_broadcast_ss(w + 2), w3 = _mm256_broadcast_ss(w + 3);
                    a0 = _mm256_fmadd_ps(w0, x0, a0);
                    c0 = _mm256_fmadd_ps(w0, x1, c0);
                    a1 = _mm256_fmadd_ps(w1, x0, a1);
                    c1 = _mm256_fmadd_ps(w1, x1, c1);
                    a2 = _mm256_fmadd_ps(w2, x0, a2);
                    c2 = _mm256_fmadd_ps(w2, x1, c2);
                    a3 = _mm256_fmadd_ps(w3, x0, a3);
                    c3 = _mm256_fmadd_ps(w3, x1, c3);
                }
                _mm256_storeu_ps(mel, a0);
                _mm256_storeu_ps(mel + 8, c0);
                _mm256_storeu_ps(mel + B, a1);
                _mm256_storeu_ps(mel + B + 8, c1);
                _mm256_storeu_ps(mel + 2 * B, a2);
                _mm256_storeu_ps(mel + 2 * B + 8, c2);
                _mm256_storeu_ps(mel + 3 * B, a3);
                _mm256_storeu_ps(mel + 3 * B + 8, c3);
            } else { /* the last 8 frames when batch % 16 == 8 */
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                for (int k = 0; k < m->glen[g]; k++, col += B, w += 4) {
                    __m256 x0 = _mm256_loadu_ps(col);
                    a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w), x0, a0);
                    a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 1), x0, a1);
                    a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 2), x0, a2);
                    a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3), x0, a3);
                }
                _mm256_storeu_ps(mel, a0);
                _mm256_storeu_ps(mel + B, a1);
                _mm256_storeu_ps(mel + 2 * B, a2);
                _mm256_storeu_ps(mel + 3 * B, a3);
            }
        }
    }
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        const float *v = m->mel + (size_t)b * B;
        float *o = out + (size_t)b * stride;
        if (j0 == 0 && j1 == (size_t)B) {
            for (int i = 0; i < B; i += 8) _mm256_storeu_ps(o + i, log10_1p10_avx2(_mm256_loadu_ps(v + i)));
        } else {
            for (size_t i = j0 & ~(size_t)7; i < j1; i += 8) {
                float tmp[8];
                _mm256_storeu_ps(tmp, log10_1p10_avx2(_mm256_loadu_ps(v + i)));
                for (size_t j = i < j0 ? j0 : i; j < i + 8 && j < j1; j++) o[j - j0] = tmp[j - i];
            }
        }
    }
}
#endif

int extract_mel_compute_range(extract_mel *m, const float *x, size_t n, size_t t0, size_t nt,
                              float *out, size_t stride)
{
    if (n < 2) return UTIL_ETRACK;
    size_t total = extract_mel_frames(n), end = t0 + nt;
    if (t0 > total || nt > total - t0 || stride < nt) return UTIL_EFAIL;
    const size_t B = (size_t)m->batch;
    /* frames are paired by absolute index (2q, 2q+1) and always read from the padded signal (also
     * beyond the last frame), so a frame's values do not depend on the range asked for */
    for (size_t tb = t0 & ~(size_t)1; tb < end; tb += B) {
        const float *y = batch_samples(x, n, (long long)(tb * EXTRACT_HOP), SPAN(m->pairs), m->in);
        fftwf_execute_split_dft(m->plan, (float *)y, (float *)y + EXTRACT_HOP, m->spec + SPEC_PAD,
                                m->spec + SPEC_LEN + SPEC_PAD);
        for (int q = 0; q < m->pairs; q++) { /* wrap the spectra around by one bin */
            float *re = m->spec + (size_t)q * 2 * SPEC_LEN + SPEC_PAD, *im = re + SPEC_LEN;
            re[-1] = re[EXTRACT_N_FFT - 1];
            re[EXTRACT_N_FFT] = re[0];
            re[EXTRACT_N_FFT + 1] = re[1];
            im[-1] = im[EXTRACT_N_FFT - 1];
            im[EXTRACT_N_FFT] = im[0];
            im[EXTRACT_N_FFT + 1] = im[1];
        }
        size_t j0 = tb < t0 ? t0 - tb : 0, j1 = end - tb < B ? end - tb : B;
#if MEL_AVX
        if (m->avx2) {
            magnitude_pairs_avx2(m->spec, m->mag, m->pairs);
            if (!m->use_gemm) {
                mel_bands_avx2(m, out + (tb + j0 - t0), stride, j0, j1);
                continue;
            }
        } else
#endif
            magnitude_pairs_scalar(m->spec, m->mag, m->pairs);
        if (m->use_gemm)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, EXTRACT_N_MELS, (int)B, NB, 1.0f, m->fb, NB,
                        m->mag, (int)B, 0.0f, m->mel, (int)B);
        else
            filterbank_sparse(m);
        log10_1p10(m->mel, (size_t)EXTRACT_N_MELS * B);
        for (int b = 0; b < EXTRACT_N_MELS; b++) {
            float *restrict o = out + (size_t)b * stride + (tb + j0 - t0);
            const float *restrict v = m->mel + (size_t)b * B + j0;
            for (size_t j = 0; j < j1 - j0; j++) o[j] = v[j];
        }
    }
    return UTIL_OK;
}

int extract_mel_compute(extract_mel *m, const float *x, size_t n, float *out, size_t stride)
{
    if (n < 2) return UTIL_ETRACK;
    return extract_mel_compute_range(m, x, n, 0, extract_mel_frames(n), out, stride);
}
