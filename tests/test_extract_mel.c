/* test_extract_mel.c - the log-mel against the numpy golden fixtures written by
 * tests/reference/mel_reference.py (librosa defaults re-derived): every frame and band of every
 * signal within MEL_TOL on log10(1 + 10 M), frame counts exact, the filterbank within FB_TOL.
 * Also: frame ranges and segments equal the full computation bit for bit (also from samples
 * FFTW cannot read in place), the SGEMM filterbank and the plain C paths agree with the SIMD one
 * (and plain C with numpy), the AVX2 and AVX-512 paths give the same bits, segment starts
 * (consecutive / spread), segments cut from a 30-s clip, "too short" clips. */
#include "extract/extract.h"
#include "testutil.h"
#include "util/util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MEL_TOL 1e-3 /* max abs error on log values (the tolerance) */
#define FB_TOL 1e-6  /* filterbank weights: float32 rounding of the float64 reference */

/* formula 1 of mel_reference.py: clip30() */
static float *clip30(size_t *n)
{
    const double pi = 3.14159265358979323846;
    *n = 30 * EXTRACT_SR;
    float *x = malloc(*n * sizeof *x);
    for (size_t k = 0; k < *n; k++) {
        uint64_t i = k;
        uint64_t h = (i * 2654435761ULL) & 0xFFFFFFFFULL;
        h ^= h >> 16;
        h = (h * 0x45D9F3BULL) & 0xFFFFFFFFULL;
        h ^= h >> 16;
        double t = (double)k;
        double v = 0.4 * sin(2.0 * pi * 220.0 * t / 22050.0) * (0.5 + 0.5 * sin(2.0 * pi * 0.25 * t / 22050.0)) +
                   0.2 * sin(2.0 * pi * 3000.0 * t / 22050.0 + 40.0 * sin(2.0 * pi * 0.5 * t / 22050.0)) +
                   0.1 * ((double)h / 4294967296.0 - 0.5);
        x[k] = (float)v;
    }
    return x;
}

typedef struct {
    float *x, *mel;
    size_t n, frames;
    void *raw;
} fixture;

static int fixture_load(const char *name, fixture *f)
{
    char fn[256];
    snprintf(fn, sizeof fn, "mel/%s.bin", name);
    size_t len;
    unsigned char *p = test_read_file(test_fixture(fn), &len);
    uint32_t version, stored, formula, n_mels;
    uint64_t n, frames;
    memset(f, 0, sizeof *f);
    f->raw = p;
    if (len < 40 || memcmp(p, "ANMELFX", 8) != 0) {
        CHECK_MSG(0, "%s: bad magic", fn);
        return -1;
    }
    memcpy(&version, p + 8, 4);
    memcpy(&stored, p + 12, 4);
    memcpy(&formula, p + 16, 4);
    memcpy(&n_mels, p + 20, 4);
    memcpy(&n, p + 24, 8);
    memcpy(&frames, p + 32, 8);
    CHECK_MSG(version == 1 && n_mels == EXTRACT_N_MELS, "%s: version %u n_mels %u", fn, version, n_mels);
    size_t need = 40 + (stored ? n * 4 : 0) + (size_t)n_mels * frames * 4;
    if (len != need || version != 1 || n_mels != EXTRACT_N_MELS) {
        CHECK_MSG(0, "%s: size %zu, expected %zu", fn, len, need);
        return -1;
    }
    f->n = n;
    f->frames = frames;
    if (stored) {
        f->x = malloc(n * sizeof(float));
        memcpy(f->x, p + 40, n * 4);
    } else {
        size_t m;
        f->x = clip30(&m);
        CHECK(formula == 1 && m == n);
    }
    f->mel = malloc(n_mels * frames * sizeof(float));
    memcpy(f->mel, p + 40 + (stored ? n * 4 : 0), n_mels * frames * 4);
    return 0;
}

static void fixture_free(fixture *f)
{
    free(f->x);
    free(f->mel);
    free(f->raw);
}

static void test_filterbank(extract_mel *m)
{
    size_t len;
    unsigned char *p = test_read_file(test_fixture("mel/filterbank.bin"), &len);
    uint32_t hdr[3];
    memcpy(hdr, p + 8, 12);
    const size_t nb = EXTRACT_N_FFT / 2 + 1;
    CHECK(memcmp(p, "ANMELFB", 8) == 0 && hdr[0] == 1 && hdr[1] == EXTRACT_N_MELS && hdr[2] == nb);
    CHECK(len == 20 + EXTRACT_N_MELS * nb * 4);
    float *ref = malloc(EXTRACT_N_MELS * nb * sizeof(float));
    memcpy(ref, p + 20, EXTRACT_N_MELS * nb * 4);
    test_close("filterbank vs numpy", extract_mel_filterbank(m), ref, EXTRACT_N_MELS * nb, FB_TOL, 1e-5);
    /* every band has at least one nonzero weight (no empty filters) */
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        float s = 0;
        for (size_t k = 0; k < nb; k++) s += extract_mel_filterbank(m)[b * nb + k];
        CHECK_MSG(s > 0, "band %d empty", b);
    }
    free(ref);
    free(p);
}

static size_t t0_odd(size_t nf) { return nf / 3 | 1; }

/* m: the default object; mg: SGEMM filterbank; mp: plain C; m2: at most AVX2 */
static void test_golden(extract_mel *m, extract_mel *mg, extract_mel *mp, extract_mel *m2)
{
    size_t len;
    char *idx = test_read_file(test_fixture("mel/index.txt"), &len);
    int count = 0;
    for (char *save = NULL, *name = strtok_r(idx, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
        fixture f;
        if (fixture_load(name, &f) != 0) { fixture_free(&f); continue; }
        count++;
        CHECK_MSG(extract_mel_frames(f.n) == f.frames, "%s: frames %zu vs numpy %zu", name,
                  extract_mel_frames(f.n), f.frames);
        size_t nf = f.frames, stride = nf + 3; /* a padded stride must work too */
        float *out = malloc(EXTRACT_N_MELS * stride * sizeof(float));
        float *dense = malloc(EXTRACT_N_MELS * nf * sizeof(float));
        float *x0 = malloc(f.n * sizeof(float));
        memcpy(x0, f.x, f.n * sizeof(float));
        CHECK(extract_mel_compute(m, f.x, f.n, out, stride) == 0);
        CHECK_MSG(memcmp(x0, f.x, f.n * sizeof(float)) == 0, "%s: the samples were modified", name); /* FFTW reads them */
        free(x0);
        for (int b = 0; b < EXTRACT_N_MELS; b++) memcpy(dense + b * nf, out + b * stride, nf * sizeof(float));
        char what[128];
        snprintf(what, sizeof what, "log-mel %s (%zu samples, %zu frames)", name, f.n, nf);
        test_close(what, dense, f.mel, EXTRACT_N_MELS * nf, MEL_TOL, 0);
        /* SGEMM filterbank path */
        float *g = malloc(EXTRACT_N_MELS * nf * sizeof(float));
        CHECK(extract_mel_compute(mg, f.x, f.n, g, nf) == 0);
        snprintf(what, sizeof what, "sgemm vs sparse %s", name);
        test_close(what, g, dense, EXTRACT_N_MELS * nf, 1e-5, 0);
        /* plain C path (no FMA): against numpy and the SIMD path */
        CHECK(extract_mel_compute(mp, f.x, f.n, g, nf) == 0);
        snprintf(what, sizeof what, "plain C log-mel %s", name);
        test_close(what, g, f.mel, EXTRACT_N_MELS * nf, MEL_TOL, 0);
        snprintf(what, sizeof what, "plain C vs SIMD %s", name);
        test_close(what, g, dense, EXTRACT_N_MELS * nf, 1e-5, 0);
        /* AVX2 and AVX-512 paths: the same bits */
        CHECK(extract_mel_compute(m2, f.x, f.n, g, nf) == 0);
        CHECK_MSG(memcmp(g, dense, EXTRACT_N_MELS * nf * sizeof(float)) == 0, "%s: SIMD path %d and %d differ", name,
                  extract_mel_simd(m2), extract_mel_simd(m));
        /* a frame range has the very same bits as those frames of the full computation (frames
         * are paired by absolute index), for odd and even starts and ends */
        if (nf > 40) {
            size_t nt = nf / 2;
            float *r = malloc(EXTRACT_N_MELS * (nt + 1) * sizeof(float)), *e = malloc(EXTRACT_N_MELS * (nt + 1) * sizeof(float));
            for (size_t t0 = nf / 3; t0 < nf / 3 + 2; t0++)
                for (size_t len = nt; len < nt + 2; len++) {
                    CHECK(extract_mel_compute_range(m, f.x, f.n, t0, len, r, len) == 0);
                    for (int b = 0; b < EXTRACT_N_MELS; b++) memcpy(e + b * len, dense + b * nf + t0, len * sizeof(float));
                    CHECK_MSG(memcmp(r, e, EXTRACT_N_MELS * len * sizeof(float)) == 0,
                              "range [%zu,+%zu) of %s differs from the full log-mel", t0, len, name);
                }
            CHECK(extract_mel_compute_range(m, f.x, f.n, nf - 1, 2, r, 2) != 0); /* outside the clip */
            /* samples at an address FFTW cannot read in place (copied first): the same bits */
            float *shifted = malloc((f.n + 1) * sizeof(float));
            memcpy(shifted + 1, f.x, f.n * sizeof(float));
            CHECK(extract_mel_compute_range(m, shifted + 1, f.n, t0_odd(nf), nt, r, nt) == 0);
            for (int b = 0; b < EXTRACT_N_MELS; b++) memcpy(e + b * nt, dense + b * nf + t0_odd(nf), nt * sizeof(float));
            CHECK_MSG(memcmp(r, e, EXTRACT_N_MELS * nt * sizeof(float)) == 0, "%s: unaligned samples change the bits", name);
            free(shifted);
            free(r);
            free(e);
        }
        free(g);
        free(out);
        free(dense);
        fixture_free(&f);
    }
    CHECK_MSG(count >= 15, "only %d fixtures", count);
    free(idx);
    float one = 0.5f, tiny[1];
    CHECK(extract_mel_compute(m, &one, 1, tiny, 1) == UTIL_ETRACK); /* n < 2 */
}

static void test_segments(extract_mel *m)
{
    size_t s[16];
    CHECK(extract_segment_starts(128, 10, s) == 0);
    CHECK(extract_segment_starts(129, 10, s) == 1 && s[0] == 0);
    CHECK(extract_segment_starts(1292, 10, s) == 10 && s[9] == 9 * 129);
    CHECK(extract_segment_starts(1292, 4, s) == 4 && s[0] == 0 && s[3] == 1292 - 129 && s[1] == (1163 / 3));
    CHECK(extract_segment_starts(1292, 1, s) == 1 && s[0] == (1292 - 129) / 2);
    CHECK(extract_segment_starts(500, 10, s) == 3 && s[2] == 258);
    /* spread segments never overlap and stay inside */
    for (size_t nf = 129; nf < 5000; nf += 37)
        for (int k = 1; k <= 12; k++) {
            int ns = extract_segment_starts(nf, k, s);
            CHECK(ns == (int)(nf / 129 < (size_t)k ? nf / 129 : (size_t)k));
            for (int i = 0; i < ns; i++) CHECK(s[i] + 129 <= nf && (i == 0 || s[i] >= s[i - 1] + 129));
        }

    /* a 30-s clip: 10 consecutive segments, equal to the full log-mel's blocks */
    size_t n;
    float *x = clip30(&n);
    size_t nf = extract_mel_frames(n);
    CHECK(nf == 1292);
    float *mel = malloc(EXTRACT_N_MELS * nf * sizeof(float));
    CHECK(extract_mel_compute(m, x, n, mel, nf) == 0);
    float *segs = malloc(12 * EXTRACT_SEG_SIZE * sizeof(float)), *e = malloc(EXTRACT_SEG_SIZE * sizeof(float));
    int ns = -1;
    char err[UTIL_ERRLEN] = "";
    CHECK(extract_samples_segments(m, x, n, "clip30", 10, segs, &ns, err, sizeof err) == 0 && ns == 10);
    float worst = 0;
    for (int i = 0; i < ns; i++)
        for (int b = 0; b < EXTRACT_N_MELS; b++)
            for (int t = 0; t < EXTRACT_SEG_FRAMES; t++) {
                float d = fabsf(segs[i * EXTRACT_SEG_SIZE + b * EXTRACT_SEG_FRAMES + t] - mel[b * nf + i * 129 + t]);
                if (d > worst) worst = d;
            }
    CHECK_MSG(worst == 0, "segments differ from the full log-mel by %g", worst);
    /* k = 3 on the same clip: spread segments */
    CHECK(extract_samples_segments(m, x, n, "clip30", 3, segs, &ns, err, sizeof err) == 0 && ns == 3);
    size_t st[3];
    extract_segment_starts(nf, 3, st);
    for (int b = 0; b < EXTRACT_N_MELS; b++) memcpy(e + b * 129, mel + b * nf + st[2], 129 * sizeof(float));
    test_close("spread segment 3 of 3", segs + 2 * EXTRACT_SEG_SIZE, e, EXTRACT_SEG_SIZE, 0, 0);
    /* too short: 128 frames (65,535 samples) */
    CHECK(extract_samples_segments(m, x, 128 * 512 - 1, "short.wav", 10, segs, &ns, err, sizeof err) == UTIL_ETRACK);
    CHECK_MSG(strstr(err, "short.wav") && strstr(err, "too short"), "message: %s", err);
    CHECK(extract_samples_segments(m, x, 128 * 512, "ok.wav", 10, segs, &ns, err, sizeof err) == 0 && ns == 1);
    CHECK(extract_samples_segments(m, x, 1, "one.wav", 10, segs, &ns, err, sizeof err) == UTIL_ETRACK);
    free(x);
    free(mel);
    free(segs);
    free(e);
}

int main(void)
{
    extract_mel *m = extract_mel_make();
    extract_mel *mg = extract_mel_make_opts(64, EXTRACT_MEL_GEMM);
    extract_mel *mp = extract_mel_make_opts(EXTRACT_MEL_BATCH, EXTRACT_MEL_PORTABLE);
    extract_mel *m2 = extract_mel_make_opts(EXTRACT_MEL_BATCH, EXTRACT_MEL_NO_AVX512);
    CHECK(m && mg && mp && m2);
    if (!m || !mg || !mp || !m2) return test_done("test_extract_mel");
    printf("code paths on this CPU: default %d, at most AVX2 %d, plain C %d (0 C, 1 AVX2, 2 AVX-512)\n",
           extract_mel_simd(m), extract_mel_simd(m2), extract_mel_simd(mp));
    CHECK(extract_mel_make_opts(7, 0) == NULL); /* odd batch */
    test_filterbank(m);
    test_golden(m, mg, mp, m2);
    test_segments(m);
    extract_mel_free(m);
    extract_mel_free(mg);
    extract_mel_free(mp);
    extract_mel_free(m2);
    return test_done("test_extract_mel");
}
