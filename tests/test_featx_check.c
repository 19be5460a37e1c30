/* test_featx_check.c - checks of `artistnet extract` output, driven by the test scripts
 * tests/test_featx_*.sh (one program, several modes; each prints "test_featx_check MODE: N passed,
 * M failed" and exits non-zero on failure):
 *   gen DIR [GOLDEN.h5]            write the reference clips (integer formula of
 *                                  tests/reference/featx_reference.py) + DIR/list.tsv; check their
 *                                  PCM hashes against the golden file
 *   gen-rs DIR GOLDEN.h5           the stereo 44.1/48 kHz clips of tests/reference/frontend_reference.py
 *                                  + DIR/list.tsv; PCM hashes and the kaiser-best resampled lengths
 *                                  (extract_audio_load_rs) checked against the golden file
 *   cosine FEAT.h5 GOLDEN.h5 min|worst-below T   per clip cosine of /features to the golden
 *                                  dcnn_features (printed): every clip >= T (min), or the worst clip
 *                                  < T (worst-below: the fixture does tell the resamplers apart)
 *   attr FILE.h5 NAME VALUE        the root string attribute NAME is VALUE
 *   golden FEAT.h5 GOLDEN.h5 KIND TOL   /features (and /segment_features) vs the golden KIND
 *                                  ("dcnn" or "baseline") within TOL (abs + rel)
 *   api FEAT.h5 LIST MODEL|- K TOL recompute every row through the module APIs (extract_track_segments
 *                                  + nn_forward_features on the clip's segments alone, or the baseline
 *                                  with '-') and compare; failed rows: status 1, same message, NaN
 *   same A.h5 B.h5 [noerrors]      bitwise identical /features, /status, /n_segments,
 *                                  /segment_features (and /errors)
 *   mels LIST OUT.h5 K             write a mels.h5 (DESIGN.md layout) from the same front end, for
 *                                  `extract --from-mels`
 *   pending FEAT.h5                a part-way file: some rows done, some pending (NaN features)
 *   model OUT.h5 SEED              a random feature-extractor model.h5 (nn_init), so the MPI tests do
 *                                  not depend on ../shared
 *   batch MODEL.h5                 informational: is nn_forward_features bitwise batch-independent?
 */
#include "extract/extract.h"
#include "mpi/store.h"
#include "nn/nn.h"
#include "nn/nn_blas.h"
#include "shard/shard.h"
#include "testutil.h"
#include "util/util.h"

#include <fftw3.h>
#include <math.h>
#include <mpi.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIM 256
static char err[UTIL_ERRLEN];

#define OK(call)                                                          \
    do {                                                                  \
        if ((call) != 0) {                                                \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, err); \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

/* ---- gen: the integer formula of featx_reference.py clip_pcm() ---- */
static const int64_t periods[12] = {200, 178, 168, 150, 134, 126, 112, 100, 89, 84, 75, 67};

static void gen_clip(int clip, size_t n, short *pcm)
{
    const int64_t amp = 6000;
    for (size_t ii = 0; ii < n; ii++) {
        int64_t i = (int64_t)ii, step = i / 11025, total = 0;
        for (int v = 0; v < 3; v++) {
            int64_t p = periods[(step * 7 + clip * 3 + v * 4) % 12];
            int64_t ph = (i * (v + 1)) % p, up = 4 * amp * ph / p;
            total += 2 * ph < p ? up - amp : 3 * amp - up;
        }
        int64_t env = 256 - (i % 11025) * 192 / 11025;
        int64_t u = (total + 3 * amp) * env / 256;
        uint64_t h = ((uint64_t)i * 2654435761u + (uint64_t)clip * 40503u) & 0xFFFFFFFFu;
        h ^= h >> 15;
        h = (h * 2246822519u) & 0xFFFFFFFFu;
        h ^= h >> 13;
        int64_t noise = (int64_t)(h >> 20) - 2048;
        pcm[ii] = (short)(u - (3 * amp * env) / 256 + noise);
    }
}

/* Writes frames x channels interleaved 16-bit samples as a WAV file; returns the FNV-1a hash of the
 * samples as little-endian bytes (what the golden files record of the clips they were made from). */
static int64_t write_wav16(const char *path, const short *pcm, size_t frames, int sr, int channels)
{
    const size_t n = frames * (size_t)channels;
    unsigned char *b = malloc(2 * n);
    for (size_t i = 0; i < n; i++)
        b[2 * i] = (unsigned char)(pcm[i] & 0xff), b[2 * i + 1] = (unsigned char)((unsigned short)pcm[i] >> 8);
    const int64_t fnv = (int64_t)util_fnv1a(UTIL_FNV_INIT, b, 2 * n);
    free(b);
    SF_INFO info = {.samplerate = sr, .channels = channels, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    CHECK_MSG(sf != NULL, "%s: %s", path, sf_strerror(NULL));
    if (sf) {
        CHECK(sf_writef_short(sf, pcm, (sf_count_t)frames) == (sf_count_t)frames);
        sf_close(sf);
    }
    return fnv;
}

/* DIR/list.tsv for writing, its header line written; NULL (a failed check) if it cannot be made */
static FILE *open_list(const char *dir, const char *header)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/list.tsv", dir);
    FILE *list = fopen(path, "w");
    CHECK_MSG(list != NULL, "%s: cannot create", path);
    if (list) fputs(header, list);
    return list;
}

static int mode_gen(int argc, char **argv)
{
    const char *dir = argv[2];
    static const struct { const char *name; double secs; } clips[3] = {{"c1", 3.0}, {"c2", 6.0}, {"c3", 9.0}};
    int64_t fnv[3];
    char path[4096];
    FILE *list = open_list(dir, "path\tid\tgenre\n");
    if (!list) return test_done("test_featx_check gen");
    for (int c = 0; c < 3; c++) {
        size_t n = (size_t)(clips[c].secs * EXTRACT_SR);
        short *pcm = malloc(n * sizeof *pcm);
        gen_clip(c, n, pcm);
        snprintf(path, sizeof path, "%s/%s.wav", dir, clips[c].name);
        fnv[c] = write_wav16(path, pcm, n, EXTRACT_SR, 1);
        free(pcm);
        fprintf(list, "%s.wav\t%s\tg%d\n", clips[c].name, clips[c].name, c % 2);
    }
    fclose(list);
    if (argc > 3) {
        mpi_store *g;
        OK(mpi_store_open(MPI_COMM_SELF, argv[3], 0, &g, err, sizeof err));
        int64_t want[3];
        OK(mpi_store_read_all(g, "pcm_fnv", MPI_STORE_I64, want, err, sizeof err));
        for (int c = 0; c < 3; c++)
            CHECK_MSG(want[c] == fnv[c], "clip %d: PCM hash %016llx, golden %016llx (formula drifted from featx_reference.py)",
                      c, (unsigned long long)fnv[c], (unsigned long long)want[c]);
        mpi_store_close(g, err, sizeof err);
    }
    return test_done("test_featx_check gen");
}

/* ---- gen-rs: stereo clips at 44.1 and 48 kHz (frontend_reference.py CLIPS) ---- */
static const struct { const char *name; int sr, left, right; double secs; } rs_clips[4] = {
    {"s44a", 44100, 0, 1, 3.5}, {"s44b", 44100, 2, 3, 7.0}, {"s48a", 48000, 4, 5, 3.5}, {"s48b", 48000, 6, 7, 7.0}};

static int mode_gen_rs(char **argv)
{
    const char *dir = argv[2];
    mpi_store *g;
    OK(mpi_store_open(MPI_COMM_SELF, argv[3], 0, &g, err, sizeof err));
    int64_t want_fnv[4], want_n[4];
    OK(mpi_store_read_all(g, "pcm_fnv", MPI_STORE_I64, want_fnv, err, sizeof err));
    OK(mpi_store_read_all(g, "n_samples", MPI_STORE_I64, want_n, err, sizeof err));
    mpi_store_close(g, err, sizeof err);
    char path[4096];
    FILE *list = open_list(dir, "path\tid\n");
    if (!list) return test_done("test_featx_check gen-rs");
    for (int c = 0; c < 4; c++) {
        const size_t n = (size_t)(rs_clips[c].secs * rs_clips[c].sr);
        short *l = malloc(n * sizeof *l), *r = malloc(n * sizeof *r), *pcm = malloc(2 * n * sizeof *pcm);
        gen_clip(rs_clips[c].left, n, l);
        gen_clip(rs_clips[c].right, n, r);
        for (size_t i = 0; i < n; i++) pcm[2 * i] = l[i], pcm[2 * i + 1] = r[i];
        snprintf(path, sizeof path, "%s/%s.wav", dir, rs_clips[c].name);
        const int64_t fnv = write_wav16(path, pcm, n, rs_clips[c].sr, 2);
        CHECK_MSG(fnv == want_fnv[c], "%s: PCM hash %016llx, golden %016llx (formula drifted from frontend_reference.py)",
                  rs_clips[c].name, (unsigned long long)fnv, (unsigned long long)want_fnv[c]);
        free(l);
        free(r);
        free(pcm);
        fprintf(list, "%s.wav\t%s\n", rs_clips[c].name, rs_clips[c].name);
        float *x = NULL;
        size_t nx = 0;
        OK(extract_audio_load_rs(path, EXTRACT_SR, EXTRACT_RESAMPLER_KAISER_BEST, &x, &nx, NULL, err, sizeof err));
        CHECK_MSG((int64_t)nx == want_n[c], "%s: kaiser-best gives %zu samples, resampy %lld", rs_clips[c].name, nx,
                  (long long)want_n[c]);
        free(x);
    }
    fclose(list);
    return test_done("test_featx_check gen-rs");
}

/* ---- reading a features.h5 ---- */
typedef struct {
    mpi_store *s;
    size_t n, K;
    float *x, *seg;
    signed char *status;
    int *nseg;
    char **ids, **errors;
} feat_file;

/* The row of golden clip `id` in f (f->n if it is missing: a failed check), checked done and with the
 * golden number of segments. */
static size_t golden_row(const feat_file *f, const char *id, int nseg, const char *file)
{
    size_t r = 0;
    while (r < f->n && strcmp(f->ids[r], id)) r++;
    CHECK_MSG(r < f->n, "golden id %s not in %s", id, file);
    if (r == f->n) return r;
    CHECK_MSG(f->status[r] == 0, "%s: status %d (%s)", id, f->status[r], f->errors[r]);
    CHECK_MSG(f->nseg[r] == nseg, "%s: %d segments, golden %d", id, f->nseg[r], nseg);
    return r;
}

static void feat_read(const char *path, feat_file *f)
{
    memset(f, 0, sizeof *f);
    OK(mpi_store_open(MPI_COMM_SELF, path, 0, &f->s, err, sizeof err));
    int r;
    size_t d[MPI_STORE_MAX_RANK], n;
    OK(mpi_store_dataset_dims(f->s, "features", &r, d, err, sizeof err));
    f->n = d[0];
    f->x = malloc((f->n * DIM + 1) * sizeof *f->x);
    f->status = malloc(f->n + 1);
    f->nseg = malloc((f->n + 1) * sizeof *f->nseg);
    OK(mpi_store_read_all(f->s, "features", MPI_STORE_F32, f->x, err, sizeof err));
    OK(mpi_store_read_all(f->s, "status", MPI_STORE_I8, f->status, err, sizeof err));
    OK(mpi_store_read_all(f->s, "n_segments", MPI_STORE_I32, f->nseg, err, sizeof err));
    OK(mpi_store_strings_read(f->s, "ids", &f->ids, &n, err, sizeof err));
    OK(mpi_store_strings_read(f->s, "errors", &f->errors, &n, err, sizeof err));
    if (mpi_store_exists(f->s, "segment_features") == 1) {
        OK(mpi_store_dataset_dims(f->s, "segment_features", &r, d, err, sizeof err));
        f->K = d[1];
        f->seg = malloc((f->n * f->K * DIM + 1) * sizeof *f->seg);
        OK(mpi_store_read_all(f->s, "segment_features", MPI_STORE_F32, f->seg, err, sizeof err));
    }
}

static void feat_free(feat_file *f)
{
    mpi_store_strings_free(f->ids, f->n);
    mpi_store_strings_free(f->errors, f->n);
    free(f->x);
    free(f->seg);
    free(f->status);
    free(f->nseg);
    mpi_store_close(f->s, err, sizeof err);
}

static int all_nan(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) return 0;
    return 1;
}

/* ---- golden ---- */
static int mode_golden(char **argv)
{
    feat_file f;
    feat_read(argv[2], &f);
    const char *kind = argv[4];
    double tol = atof(argv[5]);
    mpi_store *g;
    OK(mpi_store_open(MPI_COMM_SELF, argv[3], 0, &g, err, sizeof err));
    char **gid;
    size_t gn;
    OK(mpi_store_strings_read(g, "ids", &gid, &gn, err, sizeof err));
    float *gx = malloc(gn * DIM * sizeof *gx), *gs = malloc(gn * 2 * DIM * sizeof *gs);
    int *gns = malloc(gn * sizeof *gns);
    char name[64];
    snprintf(name, sizeof name, "%s_features", kind);
    OK(mpi_store_read_all(g, name, MPI_STORE_F32, gx, err, sizeof err));
    snprintf(name, sizeof name, "%s_segment_features", kind);
    OK(mpi_store_read_all(g, name, MPI_STORE_F32, gs, err, sizeof err));
    OK(mpi_store_read_all(g, "n_segments", MPI_STORE_I32, gns, err, sizeof err));
    for (size_t i = 0; i < gn; i++) {
        const size_t r = golden_row(&f, gid[i], gns[i], argv[2]);
        if (r == f.n) continue;
        char what[128];
        snprintf(what, sizeof what, "%s %s features vs reference", gid[i], kind);
        test_close(what, f.x + r * DIM, gx + i * DIM, DIM, tol, tol);
        if (f.seg && f.K >= 2 && gns[i] == f.nseg[r]) {
            snprintf(what, sizeof what, "%s %s segment features vs reference", gid[i], kind);
            test_close(what, f.seg + r * f.K * DIM, gs + i * 2 * DIM, (size_t)gns[i] * DIM, tol, tol);
            CHECK(all_nan(f.seg + (r * f.K + (size_t)gns[i]) * DIM, (f.K - (size_t)gns[i]) * DIM));
        }
    }
    mpi_store_strings_free(gid, gn);
    mpi_store_close(g, err, sizeof err);
    free(gx);
    free(gs);
    free(gns);
    feat_free(&f);
    return test_done("test_featx_check golden");
}

/* ---- cosine: clip features against the frontend golden file ---- */
static int mode_cosine(char **argv)
{
    feat_file f;
    feat_read(argv[2], &f);
    const int want_min = !strcmp(argv[4], "min");
    const double t = atof(argv[5]);
    CHECK_MSG(want_min || !strcmp(argv[4], "worst-below"), "mode %s: min or worst-below", argv[4]);
    mpi_store *g;
    OK(mpi_store_open(MPI_COMM_SELF, argv[3], 0, &g, err, sizeof err));
    char **gid;
    size_t gn;
    OK(mpi_store_strings_read(g, "ids", &gid, &gn, err, sizeof err));
    float *gx = malloc(gn * DIM * sizeof *gx);
    int *gns = malloc(gn * sizeof *gns);
    OK(mpi_store_read_all(g, "dcnn_features", MPI_STORE_F32, gx, err, sizeof err));
    OK(mpi_store_read_all(g, "n_segments", MPI_STORE_I32, gns, err, sizeof err));
    double worst = 2;
    for (size_t i = 0; i < gn; i++) {
        const size_t r = golden_row(&f, gid[i], gns[i], argv[2]);
        if (r == f.n) continue;
        double ab = 0, aa = 0, bb = 0;
        for (int k = 0; k < DIM; k++) {
            const double a = f.x[r * DIM + k], b = gx[i * DIM + k];
            ab += a * b, aa += a * a, bb += b * b;
        }
        const double cs = ab / sqrt(aa * bb);
        printf("  %s: cosine %.6f to the reference\n", gid[i], cs);
        if (!(cs >= worst)) worst = cs; /* NaN counts as worst */
        if (want_min) CHECK_MSG(cs >= t, "%s: cosine %.6f < %g", gid[i], cs, t);
    }
    printf("  worst clip: cosine %.6f (%s %g)\n", worst, want_min ? "must be >=" : "must be <", t);
    if (!want_min) CHECK_MSG(worst < t, "worst clip cosine %.6f is not below %g", worst, t);
    mpi_store_strings_free(gid, gn);
    mpi_store_close(g, err, sizeof err);
    free(gx);
    free(gns);
    feat_free(&f);
    return test_done("test_featx_check cosine");
}

/* ---- attr: a root string attribute ---- */
static int mode_attr(char **argv)
{
    mpi_store *s;
    OK(mpi_store_open(MPI_COMM_SELF, argv[2], 0, &s, err, sizeof err));
    char have[512];
    const int rc = mpi_store_attr_read_string(s, NULL, argv[3], have, sizeof have, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", argv[2], err);
    CHECK_MSG(rc || !strcmp(have, argv[4]), "%s: attribute %s is '%s', want '%s'", argv[2], argv[3], have, argv[4]);
    mpi_store_close(s, err, sizeof err);
    return test_done("test_featx_check attr");
}

/* ---- api: recompute through extract + nn ---- */
static void baseline_ref(const float *segs, int n, float *out) /* two-pass, double, per band */
{
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        double mean = 0, var = 0;
        size_t cnt = (size_t)n * EXTRACT_SEG_FRAMES;
        for (int s = 0; s < n; s++)
            for (int t = 0; t < EXTRACT_SEG_FRAMES; t++) mean += segs[(size_t)s * EXTRACT_SEG_SIZE + (size_t)b * EXTRACT_SEG_FRAMES + t];
        mean /= (double)cnt;
        for (int s = 0; s < n; s++)
            for (int t = 0; t < EXTRACT_SEG_FRAMES; t++) {
                double d = segs[(size_t)s * EXTRACT_SEG_SIZE + (size_t)b * EXTRACT_SEG_FRAMES + t] - mean;
                var += d * d;
            }
        out[b] = (float)mean;
        out[EXTRACT_N_MELS + b] = (float)sqrt(var / (double)cnt);
    }
}

static int mode_api(char **argv)
{
    feat_file f;
    feat_read(argv[2], &f);
    shard_list l;
    OK(shard_list_load(argv[3], &l, err, sizeof err));
    const int baseline = !strcmp(argv[4], "-");
    const int K = atoi(argv[5]);
    const double tol = atof(argv[6]);
    nn_model *m = NULL;
    if (!baseline) OK(nn_load(argv[4], K, &m, err, sizeof err));
    fftwf_set_timelimit(0.0); /* the job's deterministic FFTW plan (jobs/extract.c) */
    extract_mel *mel = extract_mel_make();
    CHECK(f.n == l.n);
    float *segs = malloc((size_t)K * EXTRACT_SEG_SIZE * sizeof *segs);
    float *sf = malloc((size_t)K * DIM * sizeof *sf), want[DIM];
    int n_ok = 0, n_fail = 0;
    for (size_t r = 0; r < l.n && r < f.n; r++) {
        CHECK_MSG(!strcmp(f.ids[r], l.ids[r]), "row %zu: id %s, list %s", r, f.ids[r], l.ids[r]);
        int ns = 0;
        double secs;
        char msg[UTIL_ERRLEN];
        int rc = extract_track_segments(mel, l.paths[r], K, segs, &ns, &secs, msg, sizeof msg);
        if (rc == UTIL_ETRACK) {
            n_fail++;
            CHECK_MSG(f.status[r] == 1, "row %zu (%s): status %d, expected 1 (%s)", r, l.ids[r], f.status[r], msg);
            size_t le = strlen(f.errors[r]), lm = strlen(msg); /* one may be the other's (truncated) prefix */
            CHECK_MSG(le && !strncmp(f.errors[r], msg, le < lm ? le : lm), "row %zu: error '%s', expected '%s'", r,
                      f.errors[r], msg);
            CHECK(all_nan(f.x + r * DIM, DIM));
            CHECK(f.nseg[r] == 0);
            continue;
        }
        CHECK_MSG(rc == 0, "row %zu: %s", r, msg);
        n_ok++;
        CHECK_MSG(f.status[r] == 0, "row %zu (%s): status %d: %s", r, l.ids[r], f.status[r], f.errors[r]);
        CHECK_MSG(f.nseg[r] == ns, "row %zu: n_segments %d, API %d", r, f.nseg[r], ns);
        CHECK(f.errors[r][0] == 0);
        if (baseline) {
            baseline_ref(segs, ns, want);
            for (int s = 0; s < ns; s++) baseline_ref(segs + (size_t)s * EXTRACT_SEG_SIZE, 1, sf + (size_t)s * DIM);
        } else {
            OK(nn_forward_features(m, segs, ns, sf, err, sizeof err));
            for (int d = 0; d < DIM; d++) {
                double acc = 0;
                for (int s = 0; s < ns; s++) acc += sf[(size_t)s * DIM + d];
                want[d] = (float)(acc / ns);
            }
        }
        char what[256];
        snprintf(what, sizeof what, "row %zu (%s, %d segments) vs %s API", r, l.ids[r], ns, baseline ? "baseline" : "nn");
        test_close(what, f.x + r * DIM, want, DIM, tol, tol);
        if (f.seg) test_close("  segment features", f.seg + r * f.K * DIM, sf, (size_t)ns * DIM, tol, tol);
    }
    fprintf(stderr, "api: %d ok rows, %d failed rows checked\n", n_ok, n_fail);
    CHECK(n_ok > 0);
    free(segs);
    free(sf);
    extract_mel_free(mel);
    nn_free(m);
    shard_list_free(&l);
    feat_free(&f);
    return test_done("test_featx_check api");
}

/* ---- same: bitwise ---- */
static int mode_same(int argc, char **argv)
{
    feat_file a, b;
    feat_read(argv[2], &a);
    feat_read(argv[3], &b);
    const int errors = !(argc > 4 && !strcmp(argv[4], "noerrors"));
    CHECK_MSG(a.n == b.n, "%zu vs %zu rows", a.n, b.n);
    size_t n = a.n < b.n ? a.n : b.n;
    size_t bad = 0;
    for (size_t r = 0; r < n; r++) {
        int same = !memcmp(a.x + r * DIM, b.x + r * DIM, DIM * sizeof(float)) && a.status[r] == b.status[r] &&
                   a.nseg[r] == b.nseg[r] && !strcmp(a.ids[r], b.ids[r]) && (!errors || !strcmp(a.errors[r], b.errors[r]));
        if (!same && bad++ < 5)
            fprintf(stderr, "row %zu (%s) differs: status %d/%d, n_segments %d/%d, errors '%s'/'%s'\n", r, a.ids[r], a.status[r],
                    b.status[r], a.nseg[r], b.nseg[r], a.errors[r], b.errors[r]);
    }
    CHECK_MSG(bad == 0, "%zu of %zu rows differ between %s and %s", bad, n, argv[2], argv[3]);
    CHECK((a.seg != NULL) == (b.seg != NULL));
    if (a.seg && b.seg && a.K == b.K)
        CHECK_MSG(!memcmp(a.seg, b.seg, n * a.K * DIM * sizeof(float)), "/segment_features differ");
    size_t ok = 0, failed = 0, pending = 0;
    for (size_t r = 0; r < n; r++) ok += a.status[r] == 0, failed += a.status[r] == 1, pending += a.status[r] < 0;
    fprintf(stderr, "same: %zu rows (%zu ok, %zu failed, %zu pending)\n", n, ok, failed, pending);
    CHECK(pending == 0);
    CHECK_MSG(ok > 0, "no ok rows: the comparison would be vacuous");
    feat_free(&a);
    feat_free(&b);
    return test_done("test_featx_check same");
}

/* ---- mels: a mels.h5 for --from-mels ---- */
static int mode_mels(char **argv)
{
    shard_list l;
    OK(shard_list_load(argv[2], &l, err, sizeof err));
    const int K = atoi(argv[4]);
    mpi_store *s;
    OK(mpi_store_create(MPI_COMM_SELF, argv[3], &s, err, sizeof err));
    size_t d4[4] = {l.n, (size_t)K, EXTRACT_N_MELS, EXTRACT_SEG_FRAMES}, d1[1] = {l.n};
    float zero = 0;
    OK(mpi_store_strings_write(s, "ids", (const char *const *)l.ids, l.n, err, sizeof err));
    OK(mpi_store_dataset_create(s, "mel", MPI_STORE_F32, 4, d4, 1, &zero, err, sizeof err));
    OK(mpi_store_dataset_create(s, "n_segments", MPI_STORE_I32, 1, d1, 0, &zero, err, sizeof err));
    OK(mpi_store_dataset_create(s, "status", MPI_STORE_I8, 1, d1, 0, &zero, err, sizeof err));
    OK(mpi_store_strings_create(s, "errors", l.n, 256, err, sizeof err));
    OK(mpi_store_attr_write_int(s, NULL, "sr", EXTRACT_SR, err, sizeof err));
    fftwf_set_timelimit(0.0);
    extract_mel *mel = extract_mel_make();
    float *segs = calloc((size_t)K * EXTRACT_SEG_SIZE, sizeof *segs);
    for (size_t r = 0; r < l.n; r++) {
        int ns = 0;
        double secs;
        char msg[UTIL_ERRLEN] = "";
        memset(segs, 0, (size_t)K * EXTRACT_SEG_SIZE * sizeof *segs);
        int rc = extract_track_segments(mel, l.paths[r], K, segs, &ns, &secs, msg, sizeof msg);
        signed char st = rc == 0 ? 0 : 1;
        const char *e = rc == 0 ? "" : msg;
        OK(mpi_store_rows_write(s, "mel", MPI_STORE_F32, &r, 1, segs, err, sizeof err));
        OK(mpi_store_rows_write(s, "n_segments", MPI_STORE_I32, &r, 1, &ns, err, sizeof err));
        OK(mpi_store_rows_write(s, "status", MPI_STORE_I8, &r, 1, &st, err, sizeof err));
        OK(mpi_store_strings_rows_write(s, "errors", &r, 1, &e, err, sizeof err));
    }
    OK(mpi_store_close(s, err, sizeof err));
    free(segs);
    extract_mel_free(mel);
    shard_list_free(&l);
    CHECK(1);
    return test_done("test_featx_check mels");
}

/* pending FILE: exit 0 when the file is part-way (some rows done, some pending) */
static int mode_pending(char **argv)
{
    feat_file f;
    feat_read(argv[2], &f);
    size_t pending = 0;
    for (size_t r = 0; r < f.n; r++) pending += f.status[r] < 0;
    fprintf(stderr, "pending: %zu of %zu rows pending in %s\n", pending, f.n, argv[2]);
    CHECK_MSG(pending > 0 && pending < f.n, "expected a part-way file");
    for (size_t r = 0; r < f.n; r++)
        if (f.status[r] < 0) CHECK_MSG(all_nan(f.x + r * DIM, DIM), "pending row %zu has features", r);
    feat_free(&f);
    return test_done("test_featx_check pending");
}

static int mode_model(char **argv)
{
    nn_model *m;
    OK(nn_make(0, 8, &m, err, sizeof err));
    nn_init(m, (uint64_t)atoll(argv[3]));
    nn_set_norm(m, 0.23f, 0.26f);
    size_t n;
    float *bn = nn_bn_stats(m, &n); /* non-trivial running statistics: eval BN is not the identity */
    for (size_t i = 0; i < n; i++) bn[i] = (i / 128) % 2 ? 2.0f + (float)(i % 7) : 0.1f * (float)(i % 5);
    nn_set_source(m, "test_featx_check model (nn_init)");
    OK(nn_save(m, argv[2], 0, err, sizeof err));
    nn_free(m);
    CHECK(1);
    return test_done("test_featx_check model");
}

static int mode_batch(char **argv)
{
    nn_model *m;
    OK(nn_load(argv[2], 16, &m, err, sizeof err));
    const int N = 16;
    float *segs = malloc((size_t)N * NN_SEG_SIZE * sizeof *segs), *f = malloc((size_t)N * DIM * sizeof *f), one[DIM];
    uint64_t st = 1;
    for (size_t i = 0; i < (size_t)N * NN_SEG_SIZE; i++) st = st * 6364136223846793005ULL + 1, segs[i] = (float)(st >> 40) / 16777216.0f * 1.5f;
    int differ = 0;
    OK(nn_forward_features(m, segs, 1, one, err, sizeof err));
    for (int n = 2; n <= N; n++) {
        OK(nn_forward_features(m, segs, n, f, err, sizeof err));
        differ += memcmp(f, one, sizeof one) != 0;
    }
    float again[DIM];
    OK(nn_forward_features(m, segs, 1, again, err, sizeof err));
    CHECK_MSG(!memcmp(again, one, sizeof one), "the same call twice gives different bits");
    fprintf(stderr, "batch: segment 0 alone vs in batches of 2..%d: %d of %d differ bitwise (%s)\n", N, differ, N - 1,
            differ ? "not batch-independent: extract uses fixed groups" : "batch-independent here");
    free(segs);
    free(f);
    nn_free(m);
    return test_done("test_featx_check batch");
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv);
    MPI_Init(&argc, &argv);
    int rc = 2;
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "gen") && argc >= 3) rc = mode_gen(argc, argv);
    else if (!strcmp(mode, "gen-rs") && argc == 4) rc = mode_gen_rs(argv);
    else if (!strcmp(mode, "cosine") && argc == 6) rc = mode_cosine(argv);
    else if (!strcmp(mode, "attr") && argc == 5) rc = mode_attr(argv);
    else if (!strcmp(mode, "golden") && argc == 6) rc = mode_golden(argv);
    else if (!strcmp(mode, "api") && argc == 7) rc = mode_api(argv);
    else if (!strcmp(mode, "same") && argc >= 4) rc = mode_same(argc, argv);
    else if (!strcmp(mode, "mels") && argc == 5) rc = mode_mels(argv);
    else if (!strcmp(mode, "pending") && argc == 3) rc = mode_pending(argv);
    else if (!strcmp(mode, "model") && argc == 4) rc = mode_model(argv);
    else if (!strcmp(mode, "batch") && argc == 3) rc = mode_batch(argv);
    else fprintf(stderr, "usage: test_featx_check gen|gen-rs|cosine|attr|golden|api|same|pending|mels|model|batch ... (see the header)\n");
    MPI_Finalize();
    return rc;
}
