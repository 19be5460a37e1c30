/* test_extract_audio.c - decode + downmix + resample (extract/audio.c) and the whole-track pipeline:
 *   - every format libsndfile writes here (WAV, FLAC, Ogg Vorbis, MP3) x mono/stereo x 8, 16, 22.05,
 *     44.1, 48 kHz: a 1,000 Hz tone written by the test decodes to ~n * 22050 / sr samples (exact for
 *     lossless, within the codec's delay for lossy), its spectrum peaks at 1,000 Hz (+- one bin), and
 *     the stereo downmix is the channel mean (L = 0.6 sin, R = 0.2 sin -> amplitude 0.4);
 *   - a bad-input corpus: missing file, empty file, text renamed .wav, header-only WAV, truncated
 *     FLAC / MP3 / WAV (header claims more data than present), NaN samples in a float WAV, absurd
 *     sample rate, a 0.1-s clip (too short) -> UTIL_ETRACK with a message naming the file, no crash. */
#include "extract/extract.h"
#include "testutil.h"
#include "util/util.h"

#include <fftw3.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_extract_audio_XXXXXX";

static const char *tmp(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* a tone: channel c has amplitude amp[c] */
static int write_tone(const char *path, int format, int sr, int ch, double seconds, double hz, const double *amp)
{
    SF_INFO info = {.samplerate = sr, .channels = ch, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "cannot write %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    size_t n = (size_t)(seconds * sr);
    float *x = malloc(n * ch * sizeof(float));
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) x[i * ch + c] = (float)(amp[c] * sin(2 * 3.14159265358979 * hz * i / sr));
    sf_count_t w = sf_writef_float(sf, x, (sf_count_t)n);
    sf_close(sf);
    free(x);
    return w == (sf_count_t)n ? 0 : -1;
}

/* frequency of the spectrum's peak over 8192 samples from the middle of x */
static double peak_hz(const float *x, size_t n, double *rms)
{
    const int N = 8192;
    float *in = fftwf_malloc(N * sizeof(float));
    fftwf_complex *out = fftwf_malloc((N / 2 + 1) * sizeof(fftwf_complex));
    fftwf_plan p = fftwf_plan_dft_r2c_1d(N, in, out, FFTW_ESTIMATE);
    size_t o = n > (size_t)N ? (n - N) / 2 : 0;
    double s2 = 0;
    for (int i = 0; i < N; i++) {
        float v = o + i < n ? x[o + i] : 0;
        s2 += (double)v * v;
        in[i] = v * (float)(0.5 - 0.5 * cos(2 * 3.14159265358979 * i / N));
    }
    fftwf_execute(p);
    int best = 1;
    double bm = 0;
    for (int k = 1; k <= N / 2; k++) {
        double m = out[k][0] * out[k][0] + out[k][1] * out[k][1];
        if (m > bm) { bm = m; best = k; }
    }
    fftwf_destroy_plan(p);
    fftwf_free(in);
    fftwf_free(out);
    *rms = sqrt(s2 / N);
    return (double)best * EXTRACT_SR / N;
}

static void test_formats(void)
{
    struct { const char *ext; int format, lossy; } fmts[] = {
        {"wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0},
        {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 0},
        {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1},
        {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 1},
    };
    const int rates[] = {8000, 16000, 22050, 44100, 48000};
    const double seconds = 1.5, hz = 1000;
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++)
        for (size_t r = 0; r < sizeof rates / sizeof *rates; r++)
            for (int ch = 1; ch <= 2; ch++) {
                char name[64];
                snprintf(name, sizeof name, "tone_%d_%d.%s", rates[r], ch, fmts[f].ext);
                const char *path = tmp(name);
                const double amp[2] = {ch == 1 ? 0.4 : 0.6, 0.2};
                if (write_tone(path, fmts[f].format, rates[r], ch, seconds, hz, amp) != 0) {
                    CHECK_MSG(0, "%s: could not write the test file", name);
                    continue;
                }
                float *x = NULL;
                size_t n = 0;
                double secs = 0;
                char err[UTIL_ERRLEN] = "";
                int rc = extract_audio_load(path, EXTRACT_SR, &x, &n, &secs, err, sizeof err);
                CHECK_MSG(rc == 0, "%s: %s", name, err);
                if (rc != 0) continue;
                double expect = floor(seconds * rates[r]) * EXTRACT_SR / rates[r];
                double tol = fmts[f].lossy ? 0.08 * EXTRACT_SR : 2; /* codec delay / padding */
                CHECK_MSG(fabs((double)n - expect) <= tol, "%s: %zu samples, expected %.0f +- %.0f", name, n, expect, tol);
                CHECK_MSG(fabs(secs - seconds) <= (fmts[f].lossy ? 0.08 : 1e-3), "%s: %.4f s", name, secs);
                double rms, pk = peak_hz(x, n, &rms);
                CHECK_MSG(fabs(pk - hz) <= 2.7 + 1e-9, "%s: peak at %.1f Hz, expected %.0f", name, pk, hz);
                /* the mono signal is the channel mean: amplitude 0.4 -> rms 0.283 (Hann-free estimate) */
                CHECK_MSG(fabs(rms - 0.4 / sqrt(2.0)) < (fmts[f].lossy ? 0.03 : 0.005), "%s: rms %.4f, expected %.4f",
                          name, rms, 0.4 / sqrt(2.0));
                if (rates[r] == EXTRACT_SR && !fmts[f].lossy)
                    CHECK_MSG(n == (size_t)(seconds * EXTRACT_SR), "%s: no-resample path changed the length", name);
                free(x);
                unlink(path);
            }
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void truncate_to(const char *path, double frac)
{
    struct stat st;
    if (stat(path, &st) == 0) CHECK(truncate(path, (off_t)(st.st_size * frac)) == 0);
}

/* expects a per-track error mentioning the file and `what` */
static void expect_bad(const char *path, const char *what)
{
    float *x = (float *)1;
    size_t n = 99;
    char err[UTIL_ERRLEN] = "";
    int rc = extract_audio_load(path, EXTRACT_SR, &x, &n, NULL, err, sizeof err);
    CHECK_MSG(rc == UTIL_ETRACK, "%s: rc %d (%s)", path, rc, err);
    CHECK_MSG(x == NULL && n == 0, "%s: output not cleared", path);
    CHECK_MSG(strstr(err, path) != NULL, "message does not name the file: %s", err);
    CHECK_MSG(strstr(err, what) != NULL, "%s: message '%s' lacks '%s'", path, err, what);
    fprintf(stderr, "  bad input ok: %s\n", err);
}

static void test_bad_inputs(void)
{
    const double amp[2] = {0.5, 0.5};
    expect_bad(tmp("missing.wav"), "cannot open");
    write_text(tmp("empty.wav"), "");
    expect_bad(tmp("empty.wav"), "empty");
    write_text(tmp("text.wav"), "this is not audio, just a text file renamed to .wav\n");
    expect_bad(tmp("text.wav"), "not a readable audio file");
    expect_bad(dir, "directory");

    write_tone(tmp("header_only.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 0, 440, amp);
    expect_bad(tmp("header_only.wav"), "zero length");
    /* one frame at 65,535 Hz resamples to no sample at all (a fuzz finding: it came back as success
     * with 0 samples) */
    write_tone(tmp("one_frame.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 65535, 1, 1.0 / 65535 + 1e-9, 440, amp);
    expect_bad(tmp("one_frame.wav"), "give no sample");

    write_tone(tmp("trunc.flac"), SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 3, 440, amp);
    truncate_to(tmp("trunc.flac"), 0.5);
    expect_bad(tmp("trunc.flac"), "trunc.flac: ");

    write_tone(tmp("trunc.mp3"), SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 2, 3, 440, amp);
    truncate_to(tmp("trunc.mp3"), 0.5);
    expect_bad(tmp("trunc.mp3"), "truncated");

    write_tone(tmp("trunc.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 3, 440, amp);
    truncate_to(tmp("trunc.wav"), 0.5); /* the data chunk still claims 3 s */
    expect_bad(tmp("trunc.wav"), "truncated");

    write_tone(tmp("trunc.ogg"), SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 1, 3, 440, amp);
    truncate_to(tmp("trunc.ogg"), 0.5);
    expect_bad(tmp("trunc.ogg"), "trunc.ogg: ");

    { /* NaN and Inf samples in a float WAV */
        const char *names[2] = {"nan.wav", "inf.wav"};
        for (int k = 0; k < 2; k++) {
            SF_INFO info = {.samplerate = 22050, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
            SNDFILE *sf = sf_open(tmp(names[k]), SFM_WRITE, &info);
            float x[4000];
            for (int i = 0; i < 4000; i++) x[i] = 0.1f * (float)(i % 7);
            x[2500] = k == 0 ? NAN : INFINITY;
            sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_FALSE);
            sf_writef_float(sf, x, 4000);
            sf_close(sf);
            expect_bad(tmp(names[k]), k == 0 ? "non-finite sample (NaN) at frame 2500" : "non-finite sample (Inf)");
        }
    }

    write_tone(tmp("rate500.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 500, 1, 2, 50, amp);
    expect_bad(tmp("rate500.wav"), "sample rate 500");

    /* 0.1 s: decodes, but is too short for one segment */
    write_tone(tmp("short.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 0.1, 440, amp);
    extract_mel *m = extract_mel_make();
    float *segs = malloc(EXTRACT_DEFAULT_SEGMENTS * EXTRACT_SEG_SIZE * sizeof(float));
    int ns = -1;
    double secs = 0;
    char err[UTIL_ERRLEN] = "";
    int rc = extract_track_segments(m, tmp("short.wav"), EXTRACT_DEFAULT_SEGMENTS, segs, &ns, &secs, err, sizeof err);
    CHECK_MSG(rc == UTIL_ETRACK && ns == 0 && strstr(err, "short.wav") && strstr(err, "too short"), "rc %d: %s", rc, err);
    fprintf(stderr, "  bad input ok: %s\n", err);
    /* and the pipeline on the other bad files reports the same per-track errors */
    rc = extract_track_segments(m, tmp("text.wav"), EXTRACT_DEFAULT_SEGMENTS, segs, &ns, &secs, err, sizeof err);
    CHECK(rc == UTIL_ETRACK && ns == 0);

    /* a good 4-s stereo 48 kHz file through the whole pipeline: 1 segment of finite values */
    write_tone(tmp("good.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, 4, 440, amp);
    rc = extract_track_segments(m, tmp("good.wav"), EXTRACT_DEFAULT_SEGMENTS, segs, &ns, &secs, err, sizeof err);
    CHECK_MSG(rc == 0 && ns == 1 && fabs(secs - 4) < 1e-6, "rc %d ns %d secs %g: %s", rc, ns, secs, err);
    int finite = 1;
    for (int i = 0; i < EXTRACT_SEG_SIZE; i++) finite &= isfinite(segs[i]) && segs[i] >= 0;
    CHECK(finite);
    free(segs);
    extract_mel_free(m);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_formats();
    test_bad_inputs();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_done("test_extract_audio");
}
