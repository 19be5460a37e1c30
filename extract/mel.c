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
 * How (bench/bench_mel, 30-s clip, one core of a shared 2-core Xeon with AVX-512, best of 3): 4.5-5.5
 * ms per clip with one r2c plan per frame batch, 1.4-2.0 ms now (ours and the numpy peer swing
 * together with the machine's load: 12.6x-15.1x in alternating rounds). perf: FFTW ~68%, the
 * magnitude pass ~15% (bound by sqrt), log + store ~9%, filterbank ~6%.
 *   - Two real frames per complex FFT: frame 2q is the real part, frame 2q+1 the imaginary part,
 *     A[k] = (Z[k] + conj Z[N-k]) / 2, B[k] = (Z[k] - conj Z[N-k]) / 2i. Debian's FFTW has AVX
 *     codelets for complex DFTs, but its 1024-point r2c plan runs a scalar radix-2 step: 3x slower
 *     per frame. FFTW split format, one guru plan per batch of `batch` frames (EXTRACT_MEL_BATCH).
 *   - No windowed copy of the frames: FFTW reads them in place from the signal (new-array execute,
 *     frame 2q at 1024 q and 2q+1 at 1024 q + 512), and the periodic Hann window is applied in
 *     frequency as its exact 3-tap convolution Z[k]/2 - (Z[k-1] + Z[k+1])/4. Batches touching the
 *     clip edges (reflect padding), or samples FFTW cannot read at that alignment, are copied first;
 *     the plan is the same, so are the bits (tested).
 *   - FFTW_ESTIMATE, not FFTW_MEASURE: MEASURE times candidate algorithms, so two processes pick
 *     different plans that round differently (1 ulp in /mel, ~3e-6 in features, seen here in 2 of
 *     4 runs), which would make outputs depend on the run, the rank count and --resume. ESTIMATE's
 *     plan is a pure function of the problem and the FFTW build: the same bits in every process.
 *     (PATIENT found no faster plan for this problem here.) No wisdom is imported anywhere.
 *   - Frames are paired by absolute index and read from the padded signal even past the last frame,
 *     so a frame's bits never depend on the range asked for (segments = the full log-mel, tested).
 *   - Magnitudes are transposed in registers to bin-major (mag[bin * batch + frame]); the
 *     filterbank is applied sparsely (each band over its own nonzero bins: ~1,000 multiply-adds per
 *     frame, not 65,664), bands in order of length so the loop counts repeat for the branch
 *     predictor; then log10(1 + 10 M) with a cephes-style polynomial, 8 or 16 frames at a time.
 *     One SGEMM per batch instead (EXTRACT_MEL_GEMM) is ~3x slower overall.
 *   - Hand-vectorised AVX2+FMA and AVX-512 paths (runtime dispatch), the same operations in the same
 *     order on every lane, hence the same bits on either (tested); the plain C path (no FMA; also
 *     what sanitizer builds and other CPUs run) differs by rounding only (2.4e-7 at most here).
 * FFTW planning is not thread safe, so extract_mel_make/free hold a process-wide lock;
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
/* The hot loops are compiled twice, for baseline x86-64 (SSE2) and for AVX2+FMA, and the CPU picks
 * at load time (GCC target_clones: ifunc); Debian's FFTW has SSE2/AVX codelets of its own. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define MEL_AVX512_T __attribute__((target("avx512f,avx2,fma")))
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
    int simd;            /* 0 portable C, 1 AVX2 + FMA (batch 8, 16 or 32), 2 AVX-512 (batch 16 or 32) */
    float *fb;           /* dense filterbank (n_mels x NB), row-major */
    int lo[EXTRACT_N_MELS], len[EXTRACT_N_MELS]; /* nonzero bin range of each band */
    int order[EXTRACT_N_MELS];                   /* bands by length: runs of equal loop counts */
    size_t off[EXTRACT_N_MELS];                  /* offset of the band's weights in w */
    float *w;            /* packed nonzero weights */
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

extract_mel *extract_mel_make_opts(int batch, int flags)
{
    if (batch < 2 || batch > 1024 || batch % 2) return NULL;
    extract_mel *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->batch = batch;
    m->pairs = batch / 2;
    m->use_gemm = (flags & EXTRACT_MEL_GEMM) != 0;
#if MEL_AVX
    if ((batch == 8 || batch == 16 || batch == 32) && !(flags & EXTRACT_MEL_PORTABLE) &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        m->simd = 1;
    if (batch >= 16 && m->simd && !(flags & EXTRACT_MEL_NO_AVX512) && __builtin_cpu_supports("avx512f")) m->simd = 2;
#endif
    m->fb = malloc((size_t)EXTRACT_N_MELS * NB * sizeof(float));
    m->w = malloc((size_t)EXTRACT_N_MELS * NB * sizeof(float));
    m->mag = fftwf_malloc((size_t)NB * batch * sizeof(float));
    m->mel = fftwf_malloc((size_t)EXTRACT_N_MELS * batch * sizeof(float));
    m->in = fftwf_malloc(SPAN(m->pairs) * sizeof(float));
    m->spec = fftwf_malloc((size_t)2 * SPEC_LEN * m->pairs * sizeof(float));
    if (!m->fb || !m->w || !m->mag || !m->mel || !m->in || !m->spec) {
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
        /* the magnitude passes leave 4 |X| (see magnitude_pairs_scalar): the 1/4 goes into the
         * weights, exactly (a power of two) */
        for (int k = 0; k < m->len[b]; k++) m->w[off + (size_t)k] = 0.25f * row[m->lo[b] + k];
        off += (size_t)m->len[b];
    }
    for (int i = 0, n = 0; n < EXTRACT_N_MELS; i++) /* lengths are at most NB */
        for (int b = 0; b < EXTRACT_N_MELS; b++)
            if (m->len[b] == i) m->order[n++] = b;
    /* FFTW_ESTIMATE, not FFTW_MEASURE: MEASURE times candidate algorithms, so two processes pick
     * different plans that round differently (1 ulp in /mel, ~3e-6 in features, seen here in 2 of 4
     * runs), which would make outputs depend on the run, the rank count and --resume. ESTIMATE's
     * plan is a pure function of the problem and the FFTW build: the same bits in every process.
     * No wisdom is imported anywhere in artistnet. */
    fftwf_iodim dim = {.n = EXTRACT_N_FFT, .is = 1, .os = 1};
    fftwf_iodim many = {.n = m->pairs, .is = EXTRACT_N_FFT, .os = 2 * SPEC_LEN};
    pthread_mutex_lock(&planner_lock);
    /* PRESERVE_INPUT (the default for out-of-place DFTs anyway): FFTW reads the caller's samples */
    m->plan = fftwf_plan_guru_split_dft(1, &dim, 1, &many, m->in, m->in + EXTRACT_HOP, m->spec + SPEC_PAD,
                                        m->spec + SPEC_LEN + SPEC_PAD, FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
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
    free(m);
}

size_t extract_mel_frames(size_t n) { return 1 + n / EXTRACT_HOP; }

const float *extract_mel_filterbank(const extract_mel *m) { return m->fb; }

int extract_mel_simd(const extract_mel *m) { return m->simd; }

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
 * Writes 4 |A[k]|, 4 |B[k]| (frames 2q, 2q+1 of every pair q) bin-major into mag (row = bin); the
 * filterbank weights carry the 1/4. */
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
            mag[(size_t)k * B + 2 * q] = sqrtf(sr * sr + di * di);
            mag[(size_t)k * B + 2 * q + 1] = sqrtf(si * si + dr * dr);
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
                r[2 * p] = _mm256_sqrt_ps(_mm256_fmadd_ps(sr, sr, _mm256_mul_ps(di, di)));
                r[2 * p + 1] = _mm256_sqrt_ps(_mm256_fmadd_ps(si, si, _mm256_mul_ps(dr, dr)));
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
        mag[(size_t)(NB - 1) * B + 2 * q] = sqrtf(4.0f * ur * ur);
        mag[(size_t)(NB - 1) * B + 2 * q + 1] = sqrtf(4.0f * ui * ui);
    }
}
#endif

/* Plain C: mel[b][j] = sum_k W[b][k] mag[k][j] over band b's nonzero bins, vectorised over the
 * batch: nv 8-wide accumulators (batch = 8 nv) stay in registers while the band's bins stream by */
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

/* log and store: out row b gets frames [j0, j1) of the batch at out + b * stride */
__attribute__((target("avx2,fma"))) static void log_store_avx2(const extract_mel *m, float *out, size_t stride,
                                                             size_t j0, size_t j1)
{
    const int B = m->batch;
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

#if MEL_AVX
/* Sparse filterbank into m->mel: each band over its own bins, nv vectors of 8 frames in registers;
 * the bands in order of length, so that the loop count repeats and the branch predictor keeps up */
static inline __attribute__((always_inline, target("avx2,fma"))) void fb_sparse_avx2_nv(const extract_mel *m,
                                                                                      const int nv)
{
    const int B = m->batch;
    for (int i = 0; i < EXTRACT_N_MELS; i++) {
        const int b = m->order[i];
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        const float *w = m->w + m->off[b];
        const float *col = m->mag + (size_t)m->lo[b] * B;
        for (int k = 0; k < m->len[b]; k++, col += B) {
            __m256 wk = _mm256_broadcast_ss(w + k);
            for (int v = 0; v < nv; v++) a[v] = _mm256_fmadd_ps(wk, _mm256_loadu_ps(col + 8 * v), a[v]);
        }
        for (int v = 0; v < nv; v++) _mm256_storeu_ps(m->mel + (size_t)b * B + 8 * v, a[v]);
    }
}

__attribute__((target("avx2,fma"))) static void fb_sparse_avx2(const extract_mel *m)
{
    switch (m->batch) {
    case 8: fb_sparse_avx2_nv(m, 1); break;
    case 16: fb_sparse_avx2_nv(m, 2); break;
    case 32: fb_sparse_avx2_nv(m, 4); break;
    }
}

MEL_AVX512_T static inline __attribute__((always_inline)) void fb_sparse_avx512_nv(const extract_mel *m, const int nv)
{
    const int B = m->batch;
    for (int i = 0; i < EXTRACT_N_MELS; i++) {
        const int b = m->order[i];
        __m512 a[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        const float *w = m->w + m->off[b];
        const float *col = m->mag + (size_t)m->lo[b] * B;
        for (int k = 0; k < m->len[b]; k++, col += B) {
            __m512 wk = _mm512_set1_ps(w[k]);
            for (int v = 0; v < nv; v++) a[v] = _mm512_fmadd_ps(wk, _mm512_loadu_ps(col + 16 * v), a[v]);
        }
        for (int v = 0; v < nv; v++) _mm512_storeu_ps(m->mel + (size_t)b * B + 16 * v, a[v]);
    }
}

MEL_AVX512_T static void fb_sparse_avx512(const extract_mel *m)
{
    switch (m->batch) {
    case 16: fb_sparse_avx512_nv(m, 1); break;
    case 32: fb_sparse_avx512_nv(m, 2); break;
    }
}
#endif

#if MEL_AVX
/* The AVX-512 versions of magnitude_pairs_avx2 and log_store_avx2: 16 lanes, the same operations
 * in the same order on every lane, so the same bits. */

MEL_AVX512_T static inline __m512 hann_avx512(const float *p)
{
    return _mm512_fnmadd_ps(_mm512_add_ps(_mm512_loadu_ps(p - 1), _mm512_loadu_ps(p + 1)), _mm512_set1_ps(0.5f),
                            _mm512_loadu_ps(p));
}

/* 16 bins x 8 pairs at a time: 16 frame vectors of 16 bins, transposed in registers into 16 bin
 * vectors of 16 frames. Needs pairs % 8 == 0. */
MEL_AVX512_T static void magnitude_pairs_avx512(const float *spec, float *restrict mag, int pairs)
{
    const int B = 2 * pairs;
    const __m512i reverse = _mm512_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (int g = 0; g < pairs; g += 8) {
        for (int k = 0; k < NB - 1; k += 16) {
            __m512 r[16], t[16], u[16];
            for (int p = 0; p < 8; p++) {
                const float *re = spec + (size_t)(g + p) * 2 * SPEC_LEN + SPEC_PAD, *im = re + SPEC_LEN;
                __m512 rk = hann_avx512(re + k), ik = hann_avx512(im + k);
                __m512 rr = _mm512_permutexvar_ps(reverse, hann_avx512(re + EXTRACT_N_FFT - k - 15));
                __m512 ir = _mm512_permutexvar_ps(reverse, hann_avx512(im + EXTRACT_N_FFT - k - 15));
                __m512 sr = _mm512_add_ps(rk, rr), di = _mm512_sub_ps(ik, ir);
                __m512 si = _mm512_add_ps(ik, ir), dr = _mm512_sub_ps(rk, rr);
                r[2 * p] = _mm512_sqrt_ps(_mm512_fmadd_ps(sr, sr, _mm512_mul_ps(di, di)));
                r[2 * p + 1] = _mm512_sqrt_ps(_mm512_fmadd_ps(si, si, _mm512_mul_ps(dr, dr)));
            }
            /* 16 x 16 transpose: 4 x 4 within each 128-bit lane, then the 4 x 4 lanes */
            for (int i = 0; i < 16; i += 2) {
                t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 16; i += 4) {
                u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
                u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
                u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
                u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
            }
            float *o = mag + (size_t)k * B + 2 * g;
            for (int j = 0; j < 4; j++) { /* u[4 i + j] lane l holds rows 4i..4i+3 of column 4 l + j */
                __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88), v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
                __m512 w0 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
                _mm512_storeu_ps(o + (size_t)j * B, _mm512_shuffle_f32x4(v0, w0, 0x88));
                _mm512_storeu_ps(o + (size_t)(4 + j) * B, _mm512_shuffle_f32x4(v1, w1, 0x88));
                _mm512_storeu_ps(o + (size_t)(8 + j) * B, _mm512_shuffle_f32x4(v0, w0, 0xDD));
                _mm512_storeu_ps(o + (size_t)(12 + j) * B, _mm512_shuffle_f32x4(v1, w1, 0xDD));
            }
        }
    }
    for (int q = 0; q < pairs; q++) {
        const float *re = spec + (size_t)q * 2 * SPEC_LEN + SPEC_PAD + NB - 1, *im = re + SPEC_LEN;
        float ur = re[0] - 0.5f * (re[-1] + re[1]), ui = im[0] - 0.5f * (im[-1] + im[1]);
        mag[(size_t)(NB - 1) * B + 2 * q] = sqrtf(4.0f * ur * ur);
        mag[(size_t)(NB - 1) * B + 2 * q + 1] = sqrtf(4.0f * ui * ui);
    }
}

MEL_AVX512_T static inline __m512 log10_1p10_avx512(__m512 v)
{
    __m512i u = _mm512_castps_si512(_mm512_fmadd_ps(v, _mm512_set1_ps(10.0f), _mm512_set1_ps(1.0f)));
    __m512i mant = _mm512_and_si512(u, _mm512_set1_epi32(0x007fffff));
    __mmask16 big = _mm512_cmpgt_epi32_mask(mant, _mm512_set1_epi32(0x003504f2));
    __m512i e = _mm512_sub_epi32(_mm512_srli_epi32(u, 23), _mm512_set1_epi32(127));
    e = _mm512_mask_add_epi32(e, big, e, _mm512_set1_epi32(1));
    __m512 fe = _mm512_cvtepi32_ps(e);
    __m512i ex = _mm512_mask_blend_epi32(big, _mm512_set1_epi32(0x3f800000), _mm512_set1_epi32(0x3f000000));
    __m512 f = _mm512_sub_ps(_mm512_castsi512_ps(_mm512_or_si512(mant, ex)), _mm512_set1_ps(1.0f));
    __m512 z = _mm512_mul_ps(f, f);
    __m512 y = _mm512_set1_ps(7.0376836292e-2f);
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(-1.1514610310e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(1.1676998740e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(-1.2420140846e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(1.4249322787e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(-1.6668057665e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(2.0000714765e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(-2.4999993993e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(3.3333331174e-1f));
    y = _mm512_mul_ps(_mm512_mul_ps(y, f), z);
    y = _mm512_fmadd_ps(fe, _mm512_set1_ps(-2.12194440e-4f), y);
    y = _mm512_fmadd_ps(z, _mm512_set1_ps(-0.5f), y);
    __m512 r = _mm512_fmadd_ps(fe, _mm512_set1_ps(0.693359375f), _mm512_add_ps(f, y));
    return _mm512_mul_ps(r, _mm512_set1_ps(0.43429448190325182f));
}

MEL_AVX512_T static void log_store_avx512(const extract_mel *m, float *out, size_t stride, size_t j0, size_t j1)
{
    const int B = m->batch;
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        const float *v = m->mel + (size_t)b * B;
        float *o = out + (size_t)b * stride;
        if (j0 == 0 && j1 == (size_t)B) {
            for (int i = 0; i < B; i += 16) _mm512_storeu_ps(o + i, log10_1p10_avx512(_mm512_loadu_ps(v + i)));
        } else {
            for (size_t i = j0 & ~(size_t)15; i < j1; i += 16) {
                float tmp[16];
                _mm512_storeu_ps(tmp, log10_1p10_avx512(_mm512_loadu_ps(v + i)));
                for (size_t j = i < j0 ? j0 : i; j < i + 16 && j < j1; j++) o[j - j0] = tmp[j - i];
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
        if (m->simd == 2) {
            magnitude_pairs_avx512(m->spec, m->mag, m->pairs);
            if (!m->use_gemm) {
                fb_sparse_avx512(m);
                log_store_avx512(m, out + (tb + j0 - t0), stride, j0, j1);
                continue;
            }
        } else if (m->simd == 1) {
            magnitude_pairs_avx2(m->spec, m->mag, m->pairs);
            if (!m->use_gemm) {
                fb_sparse_avx2(m);
                log_store_avx2(m, out + (tb + j0 - t0), stride, j0, j1);
                continue;
            }
        } else
#endif
            magnitude_pairs_scalar(m->spec, m->mag, m->pairs);
        if (m->use_gemm)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, EXTRACT_N_MELS, (int)B, NB, 0.25f, m->fb, NB,
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
