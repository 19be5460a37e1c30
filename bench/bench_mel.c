/* bench_mel.c - the audio front end's speed, measured against its peers in one run:
 *   1. log-mel of a 30-s clip (661,500 samples, 1,292 frames), ms per clip, ours (the default, other
 *      batch sizes, the AVX2 and plain C code paths, one SGEMM per batch) vs the numpy peer
 *      bench/mel_numpy.py run from here on the same machine; printed as a ratio (target >= 15x, one
 *      core);
 *   2. decode + downmix + resample to 22,050 Hz (libsndfile + soxr) of 30-s 44.1 kHz stereo WAV,
 *      FLAC and MP3 files (and a 48 kHz WAV) written here, as x realtime, with each resampler
 *      (soxr-hq, kaiser-best: extract.h), timed in alternation, and the ratio kaiser-best / soxr-hq
 *      of the whole decode+resample and of the resampling alone; and the whole track pipeline
 *      (decode -> log-mel -> 10 segments) on the WAV.
 * usage: bench_mel [path/to/mel_numpy.py] [clips]   ($PYTHON3 runs the peer; default /usr/bin/python3) */
#include "extract/extract.h"
#include "extract/prefetch.h"
#include "util/util.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* CPU seconds of this process: the machine is shared, and the target is per core */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double time_mel(extract_mel *m, const float *x, size_t n, float *out, int clips)
{
    extract_mel_compute(m, x, n, out, extract_mel_frames(n)); /* warm up */
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = cpu_now();
        for (int c = 0; c < clips; c++) extract_mel_compute(m, x, n, out, extract_mel_frames(n));
        double t = (cpu_now() - t0) / clips;
        if (t < best) best = t;
    }
    return best * 1e3;
}

static int write_file(const char *path, int format, int sr, int seconds)
{
    SF_INFO info = {.samplerate = sr, .channels = 2, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) return -1;
    size_t n = (size_t)sr * seconds;
    float *buf = malloc(2 * n * sizeof(float));
    uint64_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float noise = (float)((s >> 40) / 16777216.0 - 0.5) * 0.1f;
        buf[2 * i] = 0.5f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / sr) + noise;
        buf[2 * i + 1] = 0.4f * sinf(2.0f * 3.14159265f * 660.0f * (float)i / sr) - noise;
    }
    sf_count_t w = sf_writef_float(sf, buf, (sf_count_t)n);
    sf_close(sf);
    free(buf);
    return w == (sf_count_t)n ? 0 : -1;
}

/* decode+resample of path with each resampler in alternation, best of 5 each: t[rs] the whole call,
 * rs_t[rs] the time inside soxr (of the best call). -1 on failure. */
static int time_decode(const char *path, double *audio_s, double t[2], double rs_t[2])
{
    char err[UTIL_ERRLEN];
    t[0] = t[1] = 1e30;
    for (int r = 0; r < 5; r++)
        for (int k = 0; k < 2; k++) {
            float *x = NULL;
            size_t n = 0;
            extract_audio_times at = {0, 0};
            double t0 = util_now();
            if (extract_audio_load_timed(path, EXTRACT_SR, (extract_resampler)k, &x, &n, audio_s, &at, err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                return -1;
            }
            double dt = util_now() - t0;
            free(x);
            if (dt < t[k]) t[k] = dt, rs_t[k] = at.resample;
        }
    return 0;
}

int main(int argc, char **argv)
{
    const char *peer = argc > 1 ? argv[1] : "bench/mel_numpy.py";
    int clips = argc > 2 ? atoi(argv[2]) : 20;
    if (clips < 1) clips = 1;
    size_t n = 30 * EXTRACT_SR;
    float *x = malloc(n * sizeof(float));
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++) { /* noise: the FFT does not care about the content */
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((s >> 40) / 16777216.0 - 0.5) * 0.6f;
    }
    float *out = malloc(EXTRACT_N_MELS * extract_mel_frames(n) * sizeof(float));

    printf("log-mel of a 30-s clip (%zu frames), CPU time, best of 3 x %d clips, one core:\n", extract_mel_frames(n), clips);
    static const char *path[] = {"plain C", "AVX2", "AVX-512"};
    const struct { int batch, flags; } v[] = {
        {EXTRACT_MEL_BATCH, 0}, {8, 0}, {32, 0}, {EXTRACT_MEL_BATCH, EXTRACT_MEL_NO_AVX512},
        {EXTRACT_MEL_BATCH, EXTRACT_MEL_PORTABLE}, {16, EXTRACT_MEL_GEMM}, {64, EXTRACT_MEL_GEMM},
    };
    double ours = 0;
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        extract_mel *m = extract_mel_make_opts(v[i].batch, v[i].flags);
        double ms = time_mel(m, x, n, out, clips);
        printf("  %-7s %-6s filterbank, batch %3d: %7.3f ms/clip%s\n", path[extract_mel_simd(m)],
               v[i].flags & EXTRACT_MEL_GEMM ? "SGEMM" : "sparse", v[i].batch, ms, i == 0 ? "  (the default)" : "");
        if (i == 0) ours = ms;
        extract_mel_free(m);
    }

    /* the headline ratio: ours (the default) and the peer in alternation, best of 3 rounds each, so
     * that both get the same chances at the quiet moments of a shared machine */
    const char *py = getenv("PYTHON3");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s %d", py && *py ? py : "/usr/bin/python3", peer, clips);
    double numpy_ms = -1, ref_ms = -1;
    extract_mel *md = extract_mel_make();
    for (int round = 0; round < 3; round++) {
        if (round > 0) {
            double ms = time_mel(md, x, n, out, clips);
            if (ms < ours) ours = ms;
        }
        FILE *p = popen(cmd, "r");
        if (!p) break;
        char line[256];
        double np_ms = -1, r_ms = -1;
        while (fgets(line, sizeof line, p)) {
            sscanf(line, "numpy_ms_per_clip %lf", &np_ms);
            sscanf(line, "reference_ms_per_clip %lf", &r_ms);
        }
        pclose(p);
        if (np_ms > 0 && (numpy_ms < 0 || np_ms < numpy_ms)) numpy_ms = np_ms;
        if (r_ms > 0 && (ref_ms < 0 || r_ms < ref_ms)) ref_ms = r_ms;
    }
    extract_mel_free(md);
    if (numpy_ms > 0)
        printf("  numpy peer (%s): %.3f ms/clip\nlog-mel speed-up (best of 3 alternating rounds each): ours %.3f ms "
               "vs numpy %.3f ms per clip = %.1fx (target >= 15x)\n", peer, numpy_ms, ours, numpy_ms, numpy_ms / ours);
    else
        printf("numpy peer failed to run: %s\n", cmd);
    if (ref_ms > 0)
        printf("  (vs the float64 golden generator tests/reference/mel_reference.py: %.3f ms/clip = %.1fx)\n", ref_ms,
               ref_ms / ours);

    char dir[] = "/tmp/bench_mel_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    struct { const char *name; int format, sr; } fmts[] = {
        {"wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100},
        {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100},
        {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100},
        {"wav48", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000},
    };
    printf("decode + downmix + resample to 22,050 Hz, 30-s stereo files (44.1 kHz; wav48: 48 kHz), wall clock, best of 5,\n"
           "the two resamplers in alternation (resample: the time inside soxr):\n");
    char wav[512] = "";
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/clip.%s", dir, fmts[i].name);
        if (write_file(path, fmts[i].format, fmts[i].sr, 30) != 0) {
            printf("  %s: cannot write (%s)\n", fmts[i].name, sf_strerror(NULL));
            continue;
        }
        double audio = 0, t[2], rs[2];
        if (time_decode(path, &audio, t, rs) == 0)
            printf("  %-5s: soxr-hq %7.1f ms (resample %5.1f) = %4.0fx realtime; kaiser-best %7.1f ms (resample %5.1f) = "
                   "%4.0fx; kaiser-best / soxr-hq: decode+resample %.2fx, resample %.2fx\n",
                   fmts[i].name, t[0] * 1e3, rs[0] * 1e3, audio / t[0], t[1] * 1e3, rs[1] * 1e3, audio / t[1], t[1] / t[0],
                   rs[1] / rs[0]);
        if (i == 0) snprintf(wav, sizeof wav, "%s", path);
    }
    if (*wav) {
        extract_mel *m = extract_mel_make();
        float *segs = malloc(EXTRACT_DEFAULT_SEGMENTS * EXTRACT_SEG_SIZE * sizeof(float));
        char err[UTIL_ERRLEN];
        int ns = 0;
        double audio = 0, best = 1e30;
        for (int r = 0; r < 3; r++) {
            double t0 = util_now();
            extract_track_segments(m, wav, EXTRACT_DEFAULT_SEGMENTS, segs, &ns, &audio, err, sizeof err);
            double t = util_now() - t0;
            if (t < best) best = t;
        }
        printf("whole track (44.1 kHz stereo WAV -> %d segments): %.1f ms per 30-s track = %.0fx realtime\n", ns,
               best * 1e3, audio / best);
        free(segs);
        extract_mel_free(m);
    }
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/clip.%s", dir, fmts[i].name);
        unlink(path);
    }
    rmdir(dir);
    free(x);
    free(out);
    return numpy_ms > 0 ? 0 : 1;
}
