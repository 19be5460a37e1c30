/* test_extract_synth.c - `artistnet synth` (jobs/synth.c), run through the built binary ($ARTISTNET,
 * $MPIEXEC):
 *   - deterministic: two runs with one seed give byte-identical WAV/FLAC/MP3 files and lists, and the
 *     same at 1, 2 and 3 ranks; Ogg files (random stream serial in libsndfile) decode identically;
 *   - a different seed gives different audio; --artist-offset numbers artists from N, genres by number;
 *   - tracks.tsv: header `path id artist genre mood`, one row per song, paths relative to the folder;
 *   - every format decodes back (extract_audio_load) to the right length;
 *   - the corpus carries structure: with the mean log-mel of each song as a crude feature, nearest-
 *     centroid classification of a held-out song (in a mood that artist's other songs do not have)
 *     finds its artist at >= 4x chance, and songs of artists never seen in "training" find their
 *     genre at >= 2x chance (the corpus is deterministic, so these are fixed numbers: 5/12, 8/12). */
#include "extract/extract.h"
#include "testutil.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/test_extract_synth_XXXXXX";
static const char *bin, *mpiexec;

static int run(int np, const char *out, const char *args)
{
    char cmd[4096];
    if (np > 1)
        snprintf(cmd, sizeof cmd, "%s --oversubscribe -n %d %s synth --out %s/%s --quiet %s", mpiexec, np, bin, dir, out, args);
    else
        snprintf(cmd, sizeof cmd, "%s synth --out %s/%s --quiet %s", bin, dir, out, args);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "'%s' exited with %d", cmd, rc);
    return rc;
}

/* hash of tracks.tsv and every file it lists; n rows */
static uint64_t corpus_hash(const char *out, int *rows, int decode_ogg)
{
    char path[2200], line[1024];
    snprintf(path, sizeof path, "%s/%s/tracks.tsv", dir, out);
    uint64_t h = UTIL_FNV_INIT, fh;
    *rows = 0;
    if (util_file_hash(path, &fh, NULL, 0) != 0) return 0;
    h = util_fnv1a(h, &fh, sizeof fh);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f)) return 0;
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) break;
        *tab = 0;
        snprintf(path, sizeof path, "%s/%s/%s", dir, out, line);
        if (decode_ogg) {
            float *x = NULL;
            size_t n = 0;
            char err[UTIL_ERRLEN];
            CHECK_MSG(extract_audio_load(path, EXTRACT_SR, &x, &n, NULL, err, sizeof err) == 0, "%s", err);
            h = util_fnv1a(h, x, n * sizeof(float));
            free(x);
        } else {
            CHECK_MSG(util_file_hash(path, &fh, NULL, 0) == 0, "cannot read %s", path);
            h = util_fnv1a(h, &fh, sizeof fh);
        }
        (*rows)++;
    }
    fclose(f);
    return h;
}

static void test_determinism(void)
{
    const char *fmts[] = {"wav", "flac", "mp3", "ogg"};
    for (int k = 0; k < 4; k++) {
        char args[256], a[32], b[32], c[32];
        snprintf(args, sizeof args, "--artists 5 --songs 2 --seconds 3.5 --format %s --seed 7", fmts[k]);
        snprintf(a, sizeof a, "%s_a", fmts[k]);
        snprintf(b, sizeof b, "%s_b", fmts[k]);
        snprintf(c, sizeof c, "%s_c", fmts[k]);
        run(1, a, args);
        run(k == 0 ? 3 : 2, b, args);
        int ra, rb, is_ogg = k == 3;
        uint64_t ha = corpus_hash(a, &ra, is_ogg), hb = corpus_hash(b, &rb, is_ogg);
        CHECK_MSG(ra == 10 && rb == 10, "%s: %d and %d rows", fmts[k], ra, rb);
        CHECK_MSG(ha == hb && ha != 0, "%s: 1 rank and %d ranks differ", fmts[k], k == 0 ? 3 : 2);
        if (k == 0) { /* same seed again at 2 ranks; another seed differs */
            run(2, c, args);
            CHECK_MSG(corpus_hash(c, &rb, 0) == ha, "wav: 2 ranks differ");
            run(1, "wav_seed8", "--artists 5 --songs 2 --seconds 3.5 --seed 8");
            CHECK_MSG(corpus_hash("wav_seed8", &rb, 0) != ha, "seed 8 gives the same corpus as seed 7");
        }
        /* every file decodes back to the right length */
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/a0003/a0003_s01.%s", dir, a, fmts[k]);
        float *x = NULL;
        size_t n = 0;
        char err[UTIL_ERRLEN] = "";
        int rc = extract_audio_load(path, EXTRACT_SR, &x, &n, NULL, err, sizeof err);
        CHECK_MSG(rc == 0 && fabs((double)n - 3.5 * EXTRACT_SR) < (k < 2 ? 2 : 0.08 * EXTRACT_SR), "%s: rc %d n %zu %s",
                  path, rc, n, err);
        float peak = 0;
        for (size_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x[i]));
        CHECK_MSG(peak > 0.1f && peak <= (k < 2 ? 1.0f : 1.25f), "%s: peak %g", path, peak); /* lossy codecs overshoot */
        free(x);
    }
}

static void test_list(void)
{
    run(1, "offset", "--artists 3 --songs 5 --genres 2 --moods 3 --seconds 3 --artist-offset 20 --sr 16000");
    char path[1024];
    snprintf(path, sizeof path, "%s/offset/tracks.tsv", dir);
    size_t len;
    char *text = test_read_file(path, &len);
    CHECK(strncmp(text, "path\tid\tartist\tgenre\tmood\n", 26) == 0);
    CHECK(strstr(text, "a0020/a0020_s00.wav\ta0020_s00\ta0020\tgenre00\t") != NULL);
    CHECK(strstr(text, "a0021/a0021_s04.wav\ta0021_s04\ta0021\tgenre01\t") != NULL);
    CHECK(strstr(text, "a0022/a0022_s02.wav\ta0022_s02\ta0022\tgenre00\thappy\n") != NULL); /* (22+2) % 3 = 0 */
    int lines = 0, moods[3] = {0};
    for (char *p = text; *p; p++) lines += *p == '\n';
    CHECK_MSG(lines == 16, "%d lines", lines);
    moods[0] = strstr(text, "\thappy\n") != NULL;
    moods[1] = strstr(text, "\tsad\n") != NULL;
    moods[2] = strstr(text, "\tangry\n") != NULL;
    CHECK(moods[0] && moods[1] && moods[2] && !strstr(text, "\tcalm\n"));
    free(text);
    snprintf(path, sizeof path, "%s/offset/a0022/a0022_s04.wav", dir);
    float *x = NULL;
    size_t n = 0;
    double secs = 0;
    char err[UTIL_ERRLEN] = "";
    CHECK_MSG(extract_audio_load(path, EXTRACT_SR, &x, &n, &secs, err, sizeof err) == 0 && fabs(secs - 3) < 1e-9, "%s", err);
    free(x);
    /* bad usage exits 2 */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s synth --out %s/bad --format aiff 2>/dev/null", bin, dir);
    int rc = system(cmd);
    CHECK_MSG(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "--format aiff: status %d", rc);
}

/* mean log-mel per song; nearest centroid */
static void test_structure(void)
{
    const int artists = 12, songs = 4, genres = 3;
    run(2, "struct", "--artists 12 --songs 4 --genres 3 --seconds 6 --seed 3");
    extract_mel *m = extract_mel_make();
    double *feat = calloc((size_t)artists * songs * EXTRACT_N_MELS, sizeof(double));
    for (int a = 0; a < artists; a++)
        for (int s = 0; s < songs; s++) {
            char path[1024], err[UTIL_ERRLEN];
            snprintf(path, sizeof path, "%s/struct/a%04d/a%04d_s%02d.wav", dir, a, a, s);
            float *x = NULL;
            size_t n = 0;
            if (extract_audio_load(path, EXTRACT_SR, &x, &n, NULL, err, sizeof err) != 0) {
                CHECK_MSG(0, "%s", err);
                continue;
            }
            size_t nf = extract_mel_frames(n);
            float *mel = malloc(EXTRACT_N_MELS * nf * sizeof(float));
            extract_mel_compute(m, x, n, mel, nf);
            double *f = feat + ((size_t)a * songs + s) * EXTRACT_N_MELS;
            for (int b = 0; b < EXTRACT_N_MELS; b++) {
                double sum = 0;
                for (size_t t = 0; t < nf; t++) sum += mel[b * nf + t];
                f[b] = sum / nf;
            }
            free(mel);
            free(x);
        }
    extract_mel_free(m);
    /* artist: centroid of songs 0..2, test song 3 */
    int right = 0;
    for (int a = 0; a < artists; a++) {
        int best = -1;
        double bd = 1e300;
        for (int c = 0; c < artists; c++) {
            double d = 0;
            for (int b = 0; b < EXTRACT_N_MELS; b++) {
                double mu = 0;
                for (int s = 0; s < songs - 1; s++) mu += feat[((size_t)c * songs + s) * EXTRACT_N_MELS + b] / (songs - 1);
                double e = feat[((size_t)a * songs + songs - 1) * EXTRACT_N_MELS + b] - mu;
                d += e * e;
            }
            if (d < bd) { bd = d; best = c; }
        }
        right += best == a;
    }
    fprintf(stderr, "structure: held-out song -> artist: %d/%d right (chance %d/%d)\n", right, artists, 1, artists);
    CHECK_MSG(right >= 4, "artist identification %d/%d, want >= 4 (4x chance)", right, artists);
    /* genre of unseen artists: centroids from artists 0..8, test artists 9..11 (genre = artist % 3) */
    int gr = 0, gt = 0;
    for (int a = 9; a < artists; a++)
        for (int s = 0; s < songs; s++) {
            int best = -1;
            double bd = 1e300;
            for (int g = 0; g < genres; g++) {
                double d = 0;
                for (int b = 0; b < EXTRACT_N_MELS; b++) {
                    double mu = 0;
                    int cnt = 0;
                    for (int c = g; c < 9; c += genres)
                        for (int t = 0; t < songs; t++, cnt++) mu += feat[((size_t)c * songs + t) * EXTRACT_N_MELS + b];
                    double e = feat[((size_t)a * songs + s) * EXTRACT_N_MELS + b] - mu / cnt;
                    d += e * e;
                }
                if (d < bd) { bd = d; best = g; }
            }
            gr += best == a % genres;
            gt++;
        }
    fprintf(stderr, "structure: unseen artists' songs -> genre: %d/%d right (chance 1/%d)\n", gr, gt, genres);
    CHECK_MSG(gr * genres >= 2 * gt, "genre of unseen artists %d/%d, want >= 2x chance", gr, gt);
    free(feat);
}

int main(void)
{
    bin = getenv("ARTISTNET");
    mpiexec = getenv("MPIEXEC");
    if (!bin || !mpiexec || !*mpiexec) {
        fprintf(stderr, "needs $ARTISTNET and $MPIEXEC (run through ctest)\n");
        return 1;
    }
    if (!mkdtemp(dir)) return 1;
    test_determinism();
    test_list();
    test_structure();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (test_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_done("test_extract_synth");
}
