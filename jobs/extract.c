/* extract.c - `artistnet extract`: the production job. A track list goes in, features.h5 comes out,
 * in one pass per track: decode + resample (extract/audio.c) -> log-mel of the kept segments
 * (extract/track.c) -> the DCNN's 256-d features per segment (nn/net.c) -> mean over the clip's
 * segments. `--baseline` replaces the net by the log-mel baseline of issue 8 (per band mean and
 * standard deviation over the clip's segment frames). `--from-mels mels.h5` reads the segments
 * written by `artistnet mel` instead of decoding audio.
 *
 * Parallel structure (DESIGN.md "MPI patterns"): the list is cut into fixed GROUPS of
 * G = max(1, batch / K) consecutive rows; the groups are the items of the master-worker queue
 * (mpi/queue.h). A rank decodes the tracks of a group and runs all their segments through ONE
 * forward pass (about `batch` segments, so the GEMMs stay large). A group's forward pass depends
 * only on its rows, never on which rank or in what order it runs: the features are bitwise the
 * same for any rank count. (nn_forward_features is not batch-independent bitwise: OpenBLAS takes
 * another path for a 1-segment chunk, measured in tests/test_featx_unit.c; fixed groups make that
 * irrelevant on every CPU.) Each queue round ends with one collective write of the round's rows
 * (mpi/store.h), /status last, then a flush: a killed job leaves every finished round on disk and
 * --resume recomputes the groups that still hold a pending row (status fill -1).
 *
 * Per-track failures (missing or unreadable audio, too short, a failed row of mels.h5) are data:
 * status 1, the message in /errors, NaN features. SIGTERM: the ranks finish the group in hand,
 * write the round, and the job returns UTIL_EINTR (exit 3, resumable).
 *
 * features.h5 (DESIGN.md "Files"):
 *   /ids, one string dataset per list column (fixed-length UTF-8), /features float32 (N, 256),
 *   /segment_features float32 (N, K, 256) with --segment-features (NaN beyond a row's n_segments),
 *   /n_segments int32 (N), /status int8 (N; 0 ok, 1 failed, -1 not processed yet), /errors (N).
 *   Root attributes: feature_kind ("dcnn" | "logmel-baseline"), model, model_checksum, model_source,
 *   norm_mean, norm_std, segments, batch, group_tracks, list, list_hash, columns (tab-joined list
 *   column names), version, ranks, command_line, and the front end: sr, n_fft, hop, n_mels,
 *   segment_frames, fmin, fmax, spectrum, mel_scale, mel_norm, log_compression, resampler.
 *
 * The resampler (extract.h): `--resampler` (default: the one the model records, soxr-hq for
 * --baseline). A choice other than the model's is a warning (the net then sees another front end
 * than it was trained on). With --from-mels the features' resampler is the one mels.h5 records:
 * when that is not the model's, the job stops (exit 2) unless --resampler names it (then a warning).
 */
#include "extract/extract.h"
#include "extract/prefetch.h"
#include "jobs/job_common.h"
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "mpi/queue.h"
#include "mpi/store.h"
#include "nn/nn.h"
#include "shard/shard.h"
#include "util/util.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOB_FEAT_DIM 256
#define JOB_STATUS_PENDING (-1)
#define JOB_STATUS_FAILED 1

enum { ST_SETUP, ST_DECODE, ST_RESAMPLE, ST_WAIT, ST_MEL, ST_READ, ST_NET, ST_POOL, ST_WRITE, ST_QUEUE, ST_BARRIER,
       ST_CLOSE, ST_TOTAL, ST_N };
static const char *const stage_names[ST_TOTAL] = {"setup (list, model, file)", "decode", "resample (soxr)",
                                                  "wait for prefetch", "log-mel", "read mels.h5", "net forward",
                                                  "pooling", "write+flush", "queue wait", "end-of-round wait", "close"};

typedef struct {
    /* options */
    const char *model_path, *list_path, *out_path, *mels_path, *rs_opt;
    int is_root;          /* rank 0: prints warnings */
    extract_resampler rs; /* of the features: decoding, or the one mels.h5 records */
    int K, seg_feat, resume, batch, baseline, quiet, round, prefetch_opt;
    int prefetch;               /* tracks decoded ahead by the prefetch threads (0: decoded in take()) */
    int threads, threads_opt;   /* prefetch (decode) threads: started, asked for (0: auto) */
    extract_prefetch *pf;
    mpi_queue *q;               /* the work queue, polled between tracks (rank 0 answers workers) */
    /* inputs */
    shard_list list;
    nn_model *net;
    extract_mel *mel;
    mpi_store *mels;
    int *mels_nseg;
    signed char *mels_status;
    char **mels_err;
    size_t mels_n;
    int G;                      /* tracks per group */
    float *segs, *segfeat;      /* G*K segments, G*K*256 features */
    /* this round's rows on this rank */
    size_t n_rows, cap;
    size_t *rows;
    float *feat, *sfeat;
    int *nseg;
    signed char *status;
    char **errs;
    /* statistics */
    double t[ST_N], audio_seconds;
    long n_ok, n_fail;
} job_extract;

static double now_add(double *acc, double t0)
{
    double t = util_now();
    *acc += t - t0;
    return t;
}

/* ---- inputs ---- */

/* A list column may not take the name of a dataset of the schema. */
static int check_columns(const shard_list *l, char *err, size_t errlen)
{
    static const char *const reserved[] = {"ids", "features", "segment_features", "n_segments", "status", "errors"};
    for (int c = 0; c < l->n_cols; c++) {
        for (size_t r = 0; r < sizeof reserved / sizeof *reserved; r++)
            if (!strcmp(l->col_names[c], reserved[r]))
                return util_fail(err, errlen, UTIL_EINPUT, "%s: column '%s' clashes with the features.h5 dataset /%s",
                                 l->file, l->col_names[c], reserved[r]);
        if (strchr(l->col_names[c], '/') || l->col_names[c][0] == '.' || !l->col_names[c][0])
            return util_fail(err, errlen, UTIL_EINPUT, "%s: column name '%s' cannot name an HDF5 dataset", l->file,
                             l->col_names[c]);
    }
    return 0;
}

/* --from-mels made with resampler mrs: j->rs becomes it. Against the model's: equal, or --resampler
 * names mrs (a warning from rank 0), else UTIL_EINPUT. An explicit --resampler other than mrs is
 * UTIL_EUSAGE (the mels are already resampled). */
static int resampler_against_mels(job_extract *j, extract_resampler mrs, char *err, size_t errlen)
{
    const int explicit_rs = strcmp(j->rs_opt, "model") != 0;
    if (explicit_rs && j->rs != mrs)
        return util_fail(err, errlen, UTIL_EUSAGE, "--resampler %s, but %s was made with %s (mel --resampler)",
                         extract_resampler_name(j->rs), j->mels_path, extract_resampler_name(mrs));
    if (j->net) {
        const char *want = nn_frontend_of(j->net)->resampler;
        if (strcmp(want, extract_resampler_name(mrs))) {
            if (!explicit_rs)
                return util_fail(err, errlen, UTIL_EINPUT,
                                 "%s was made with the %s resampler, but %s expects %s: remake it with `mel "
                                 "--resampler %s`, or pass --resampler %s to use it anyway",
                                 j->mels_path, extract_resampler_name(mrs), j->model_path, want, want,
                                 extract_resampler_name(mrs));
            if (j->is_root)
                fprintf(stderr, "extract: warning: %s was made with the %s resampler, %s expects %s\n", j->mels_path,
                        extract_resampler_name(mrs), j->model_path, want);
        }
    }
    j->rs = mrs;
    return UTIL_OK;
}

/* --from-mels: the file's rows must be the list's rows (same ids, same order), its K the job's. */
static int mels_open(job_extract *j, MPI_Comm comm, char *err, size_t errlen)
{
    int rc = mpi_store_open(comm, j->mels_path, 0, &j->mels, err, errlen);
    if (rc) return rc;
    int r;
    size_t d[MPI_STORE_MAX_RANK];
    if ((rc = mpi_store_dataset_dims(j->mels, "mel", &r, d, err, errlen))) return rc;
    if (r != 4 || d[2] != EXTRACT_N_MELS || d[3] != EXTRACT_SEG_FRAMES)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: /mel must be (N, K, %d, %d)", j->mels_path, EXTRACT_N_MELS,
                         EXTRACT_SEG_FRAMES);
    if (d[0] != j->list.n)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: %zu rows, but the list %s has %zu tracks", j->mels_path, d[0],
                         j->list_path, j->list.n);
    if ((int)d[1] != j->K)
        return util_fail(err, errlen, UTIL_EUSAGE, "%s: holds up to %zu segments per track; pass --segments %zu",
                         j->mels_path, d[1], d[1]);
    /* the mel job records its front end as root attributes; when present they must be the default */
    long long v;
    char ebuf[UTIL_ERRLEN];
    if (mpi_store_attr_read_int(j->mels, NULL, "sr", &v, ebuf, sizeof ebuf) == 0 && v != EXTRACT_SR)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: attribute sr = %lld, the model expects %d", j->mels_path, v,
                         EXTRACT_SR);
    extract_resampler mrs;
    if ((rc = job_read_resampler(j->mels, j->mels_path, &mrs, err, errlen))) return rc;
    if ((rc = resampler_against_mels(j, mrs, err, errlen))) return rc;
    j->mels_n = d[0];
    j->mels_nseg = malloc((d[0] + 1) * sizeof *j->mels_nseg);
    j->mels_status = malloc(d[0] + 1);
    if (!j->mels_nseg || !j->mels_status) return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    if ((rc = mpi_store_read_all(j->mels, "n_segments", MPI_STORE_I32, j->mels_nseg, err, errlen))) return rc;
    if ((rc = mpi_store_read_all(j->mels, "status", MPI_STORE_I8, j->mels_status, err, errlen))) return rc;
    size_t n = 0;
    if ((rc = mpi_store_strings_read(j->mels, "errors", &j->mels_err, &n, err, errlen))) return rc;
    char **ids = NULL;
    size_t nid = 0;
    if ((rc = mpi_store_strings_read(j->mels, "ids", &ids, &nid, err, errlen))) return rc;
    for (size_t i = 0; i < nid && !rc; i++)
        if (i >= j->list.n || strcmp(ids[i], j->list.ids[i]))
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: row %zu has id '%s' but line %d of %s has id '%s'",
                           j->mels_path, i, ids[i], j->list.lines[i], j->list_path, i < j->list.n ? j->list.ids[i] : "");
    mpi_store_strings_free(ids, nid);
    if (!rc && (nid != j->list.n || n != j->list.n))
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /ids or /errors do not have %zu rows", j->mels_path, j->list.n);
    return rc;
}

/* ---- the output file ---- */

static int attr_str(mpi_store *s, const char *name, const char *v, char *err, size_t errlen)
{
    return mpi_store_attr_write_string(s, NULL, name, v ? v : "", err, errlen);
}


/* Creates features.h5 with every dataset (space allocated, /status filled with -1), the list's
 * strings and the attributes that identify the run; then flushes, so a kill leaves a valid file. */
static int out_create(job_extract *j, MPI_Comm comm, int argc, char **argv, mpi_store **outp, char *err,
                      size_t errlen)
{
    mpi_store *s = NULL;
    int rc = mpi_store_create(comm, j->out_path, &s, err, errlen);
    if (rc) return rc;
    *outp = s;
    const size_t N = j->list.n;
    const float nanf_ = NAN;
    const signed char pending = JOB_STATUS_PENDING;
    const int zero = 0;
    size_t d2[2] = {N, JOB_FEAT_DIM}, d3[3] = {N, (size_t)j->K, JOB_FEAT_DIM}, d1[1] = {N};
    if (!rc) rc = mpi_store_strings_write(s, "ids", (const char *const *)j->list.ids, N, err, errlen);
    char **col = malloc((N + 1) * sizeof *col);
    if (!col) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    for (int c = 0; !rc && c < j->list.n_cols; c++) {
        for (size_t i = 0; i < N; i++) col[i] = (char *)shard_list_cell(&j->list, i, c);
        rc = mpi_store_strings_write(s, j->list.col_names[c], (const char *const *)col, N, err, errlen);
    }
    free(col);
    if (!rc) rc = mpi_store_dataset_create(s, "features", MPI_STORE_F32, 2, d2, 0, &nanf_, err, errlen);
    if (!rc && j->seg_feat)
        rc = mpi_store_dataset_create(s, "segment_features", MPI_STORE_F32, 3, d3, 0, &nanf_, err, errlen);
    if (!rc) rc = mpi_store_dataset_create(s, "n_segments", MPI_STORE_I32, 1, d1, 0, &zero, err, errlen);
    if (!rc) rc = mpi_store_strings_create(s, "errors", N, JOB_ERRORS_WIDTH, err, errlen);
    if (!rc) rc = mpi_store_dataset_create(s, "status", MPI_STORE_I8, 1, d1, 0, &pending, err, errlen);

    char buf[64];
    nn_frontend fe = j->net ? *nn_frontend_of(j->net) : nn_frontend_default();
    if (!rc) rc = attr_str(s, "feature_kind", j->baseline ? "logmel-baseline" : "dcnn", err, errlen);
    if (!rc) rc = attr_str(s, "model", j->baseline ? "" : j->model_path, err, errlen);
    if (j->net) job_hash_text(buf, sizeof buf, nn_checksum(j->net));
    if (!rc) rc = attr_str(s, "model_checksum", j->net ? buf : "", err, errlen);
    if (!rc) rc = attr_str(s, "model_source", j->net ? nn_source(j->net) : "", err, errlen);
    float mu = 0, sd = 1;
    if (j->net) nn_get_norm(j->net, &mu, &sd);
    if (!rc) rc = mpi_store_attr_write_double(s, NULL, "norm_mean", mu, err, errlen);
    if (!rc) rc = mpi_store_attr_write_double(s, NULL, "norm_std", sd, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "segments", j->K, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "batch", j->batch, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "group_tracks", j->G, err, errlen);
    if (!rc) rc = attr_str(s, "mels", j->mels_path ? j->mels_path : "", err, errlen);
    if (!rc) rc = job_write_provenance(s, &j->list, j->list_path, argc, argv, comm, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "sr", fe.sr, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "n_fft", fe.n_fft, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "hop", fe.hop, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "n_mels", fe.n_mels, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "segment_frames", fe.segment_frames, err, errlen);
    if (!rc) rc = mpi_store_attr_write_double(s, NULL, "fmin", fe.fmin, err, errlen);
    if (!rc) rc = mpi_store_attr_write_double(s, NULL, "fmax", fe.fmax, err, errlen);
    if (!rc) rc = attr_str(s, "spectrum", fe.spectrum, err, errlen);
    if (!rc) rc = attr_str(s, "mel_scale", fe.mel_scale, err, errlen);
    if (!rc) rc = attr_str(s, "mel_norm", fe.mel_norm, err, errlen);
    if (!rc) rc = attr_str(s, "log_compression", fe.log_compression, err, errlen);
    if (!rc) rc = attr_str(s, "resampler", extract_resampler_name(j->rs), err, errlen);
    if (!rc) rc = mpi_store_flush(s, err, errlen);
    return rc;
}

/* --resume: the existing file must come from the same list, model and settings. */
static int out_reopen(job_extract *j, MPI_Comm comm, int argc, char **argv, mpi_store **outp, char *err,
                      size_t errlen)
{
    mpi_store *s = NULL;
    int rc = mpi_store_open(comm, j->out_path, 1, &s, err, errlen);
    if (rc) return rc;
    *outp = s;
    char have[512], want[64];
    const char *what = NULL, *wantv = NULL;
    if ((rc = mpi_store_attr_read_string(s, NULL, "feature_kind", have, sizeof have, err, errlen))) return rc;
    if (strcmp(have, j->baseline ? "logmel-baseline" : "dcnn")) {
        what = "feature_kind";
        wantv = j->baseline ? "logmel-baseline" : "dcnn";
    }
    if (!what && j->net) {
        job_hash_text(want, sizeof want, nn_checksum(j->net));
        if ((rc = mpi_store_attr_read_string(s, NULL, "model_checksum", have, sizeof have, err, errlen))) return rc;
        if (strcmp(have, want)) what = "model_checksum", wantv = want;
    }
    if (!what) {
        job_hash_text(want, sizeof want, j->list.hash);
        if ((rc = mpi_store_attr_read_string(s, NULL, "list_hash", have, sizeof have, err, errlen))) return rc;
        if (strcmp(have, want)) what = "list_hash (the list file changed)", wantv = want;
    }
    long long k = 0, b = 0;
    if (!what) {
        if ((rc = mpi_store_attr_read_int(s, NULL, "segments", &k, err, errlen))) return rc;
        if ((rc = mpi_store_attr_read_int(s, NULL, "batch", &b, err, errlen))) return rc;
        if (k != j->K) what = "segments";
        else if (b != j->batch) what = "batch (groups of tracks per forward pass)";
        if (what) snprintf(have, sizeof have, "%lld", k != j->K ? k : b);
        if (what) snprintf(want, sizeof want, "%d", k != j->K ? j->K : j->batch);
        wantv = want;
    }
    if (!what) {
        extract_resampler rs;
        if ((rc = job_read_resampler(s, j->out_path, &rs, err, errlen))) return rc;
        if (rs != j->rs) {
            what = "resampler";
            snprintf(have, sizeof have, "%s", extract_resampler_name(rs));
            wantv = extract_resampler_name(j->rs);
        }
    }
    if (!what && mpi_store_exists(s, "segment_features") != j->seg_feat) {
        what = "--segment-features";
        snprintf(have, sizeof have, "%s", j->seg_feat ? "absent" : "present");
        wantv = j->seg_feat ? "present" : "absent";
    }
    if (what)
        return util_fail(err, errlen, UTIL_EUSAGE, "%s: cannot resume: %s is %s in the file, %s for this run",
                         j->out_path, what, have, wantv);
    int r;
    size_t d[MPI_STORE_MAX_RANK];
    if ((rc = mpi_store_dataset_dims(s, "features", &r, d, err, errlen))) return rc;
    if (r != 2 || d[0] != j->list.n || d[1] != JOB_FEAT_DIM)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: /features is not (%zu, %d)", j->out_path, j->list.n, JOB_FEAT_DIM);
    rc = mpi_store_attr_write_int(s, NULL, "ranks", mpi_util_size(comm), err, errlen);
    char *cmd = util_join_argv(argc, argv);
    if (!rc) rc = attr_str(s, "command_line", cmd, err, errlen);
    free(cmd);
    return rc;
}

/* ---- per track ---- */

/* The raw log-mel segments of list row r into segs (room for K): from audio or from mels.h5.
 * UTIL_ETRACK with msg for a per-track failure; other codes are fatal. */
static int track_segments(job_extract *j, size_t r, float *segs, int *n_seg, double *seconds, char *msg,
                          size_t msglen)
{
    *n_seg = 0;
    *seconds = 0;
    double t = util_now();
    if (j->mels) {
        if (j->mels_status[r] != 0)
            return util_fail(msg, msglen, UTIL_ETRACK, "%s (row %zu of %s)",
                             j->mels_err[r][0] ? j->mels_err[r] : "failed", r, j->mels_path);
        int ns = j->mels_nseg[r];
        if (ns < 1 || ns > j->K)
            return util_fail(msg, msglen, UTIL_ETRACK, "%s: row %zu: n_segments %d outside [1, %d]", j->mels_path, r, ns,
                             j->K);
        int rc = mpi_store_rows_read(j->mels, "mel", MPI_STORE_F32, &r, 1, segs, 0, msg, msglen);
        now_add(&j->t[ST_READ], t);
        if (rc) return rc;
        *n_seg = ns;
        *seconds = (double)((size_t)ns * EXTRACT_SEG_FRAMES * EXTRACT_HOP) / EXTRACT_SR;
        return 0;
    }
    float *x = NULL;
    size_t n = 0;
    int rc = extract_prefetch_take(j->pf, &x, &n, seconds, msg, msglen); /* pushed when the group was claimed */
    t = util_now();
    if (rc) {
        free(x);
        return rc;
    }
    rc = extract_samples_segments(j->mel, x, n, j->list.paths[r], j->K, segs, n_seg, msg, msglen);
    now_add(&j->t[ST_MEL], t);
    free(x);
    return rc;
}

/* Log-mel baseline of n segments: per band, mean and (population) standard deviation over the
 * segments' frames, in double -> out[0..128) means, out[128..256) standard deviations. */
static void baseline_features(const float *segs, int n, float *out)
{
    const size_t nt = (size_t)n * EXTRACT_SEG_FRAMES;
    for (int b = 0; b < EXTRACT_N_MELS; b++) {
        double s = 0, ss = 0;
        for (int k = 0; k < n; k++) {
            const float *row = segs + (size_t)k * EXTRACT_SEG_SIZE + (size_t)b * EXTRACT_SEG_FRAMES;
            for (int t = 0; t < EXTRACT_SEG_FRAMES; t++) s += row[t];
        }
        const double mean = s / (double)nt;
        for (int k = 0; k < n; k++) {
            const float *row = segs + (size_t)k * EXTRACT_SEG_SIZE + (size_t)b * EXTRACT_SEG_FRAMES;
            for (int t = 0; t < EXTRACT_SEG_FRAMES; t++) ss += (row[t] - mean) * (row[t] - mean);
        }
        out[b] = (float)mean;
        out[EXTRACT_N_MELS + b] = (float)sqrt(ss / (double)nt);
    }
}

/* one more output row in this round's buffers; returns its slot or -1 when out of memory */
static long round_slot(job_extract *j, size_t r)
{
    if (j->n_rows == j->cap) {
        size_t c = j->cap ? 2 * j->cap : 64;
        size_t *rows = realloc(j->rows, c * sizeof *rows);
        if (rows) j->rows = rows;
        float *feat = realloc(j->feat, c * JOB_FEAT_DIM * sizeof *feat);
        if (feat) j->feat = feat;
        float *sfeat = j->seg_feat ? realloc(j->sfeat, c * (size_t)j->K * JOB_FEAT_DIM * sizeof *sfeat) : NULL;
        if (sfeat) j->sfeat = sfeat;
        int *nseg = realloc(j->nseg, c * sizeof *nseg);
        if (nseg) j->nseg = nseg;
        signed char *st = realloc(j->status, c);
        if (st) j->status = st;
        char **errs = realloc(j->errs, c * sizeof *errs);
        if (errs) j->errs = errs;
        if (!rows || !feat || (j->seg_feat && !sfeat) || !nseg || !st || !errs) return -1;
        j->cap = c;
    }
    size_t s = j->n_rows++;
    j->rows[s] = r;
    j->nseg[s] = 0;
    j->status[s] = JOB_STATUS_FAILED;
    j->errs[s] = NULL;
    for (int d = 0; d < JOB_FEAT_DIM; d++) j->feat[s * JOB_FEAT_DIM + d] = NAN;
    if (j->seg_feat)
        for (size_t d = 0; d < (size_t)j->K * JOB_FEAT_DIM; d++) j->sfeat[s * (size_t)j->K * JOB_FEAT_DIM + d] = NAN;
    return (long)s;
}

/* Group g: rows [g G, g G + G) -> this round's buffers. One forward pass over all segments of the
 * group's good tracks. Returns 0 or a fatal code (per-track failures are recorded, not returned). */
static int group_process(job_extract *j, size_t g, double *seconds, char *err, size_t errlen)
{
    const size_t r0 = g * (size_t)j->G, r1 = r0 + (size_t)j->G < j->list.n ? r0 + (size_t)j->G : j->list.n;
    long slot[r1 - r0];
    int first[r1 - r0];
    int total = 0;
    *seconds = 0;
    for (size_t r = r0; r < r1; r++) {
        int prc = j->q ? mpi_queue_poll(j->q, err, errlen) : 0; /* rank 0: answer workers between tracks */
        if (prc) return prc;
        long s = round_slot(j, r);
        if (s < 0) return util_fail(err, errlen, UTIL_EFAIL, "out of memory for the round's rows");
        slot[r - r0] = s;
        first[r - r0] = total;
        char msg[UTIL_ERRLEN];
        int ns = 0;
        double secs = 0;
        int rc = track_segments(j, r, j->segs + (size_t)total * EXTRACT_SEG_SIZE, &ns, &secs, msg, sizeof msg);
        if (rc == UTIL_ETRACK) {
            j->errs[s] = util_strdup(msg);
            j->n_fail++;
            continue;
        }
        if (rc) return util_fail(err, errlen, rc, "%s", msg);
        j->nseg[s] = ns;
        j->status[s] = 0;
        j->n_ok++;
        total += ns;
        *seconds += secs;
    }
    int prc = j->q ? mpi_queue_poll(j->q, err, errlen) : 0;
    if (prc) return prc;
    double t = util_now();
    if (!j->baseline && total > 0) {
        int rc = nn_forward_features(j->net, j->segs, total, j->segfeat, err, errlen);
        t = now_add(&j->t[ST_NET], t);
        if (rc) return rc;
    }
    for (size_t r = r0; r < r1; r++) {
        const long s = slot[r - r0];
        if (j->status[s] != 0) continue;
        const int ns = j->nseg[s];
        float *out = j->feat + (size_t)s * JOB_FEAT_DIM;
        float *sout = j->seg_feat ? j->sfeat + (size_t)s * j->K * JOB_FEAT_DIM : NULL;
        const float *segs = j->segs + (size_t)first[r - r0] * EXTRACT_SEG_SIZE;
        if (j->baseline) {
            baseline_features(segs, ns, out);
            for (int k = 0; sout && k < ns; k++)
                baseline_features(segs + (size_t)k * EXTRACT_SEG_SIZE, 1, sout + (size_t)k * JOB_FEAT_DIM);
            continue;
        }
        const float *f = j->segfeat + (size_t)first[r - r0] * JOB_FEAT_DIM;
        for (int d = 0; d < JOB_FEAT_DIM; d++) { /* clip feature = mean over segments, in order */
            double acc = 0;
            for (int k = 0; k < ns; k++) acc += f[(size_t)k * JOB_FEAT_DIM + d];
            out[d] = (float)(acc / ns);
        }
        if (sout) memcpy(sout, f, (size_t)ns * JOB_FEAT_DIM * sizeof *sout);
    }
    now_add(&j->t[ST_POOL], t);
    return 0;
}

/* This rank's next group of the round from the queue (1, 0 at the end of the round, or an error);
 * its tracks are queued for decoding (unless reading mels.h5 or draining after an error). */
static int group_claim(job_extract *j, mpi_queue *q, size_t *g, int draining, char *err, size_t errlen)
{
    double t = util_now();
    int got = mpi_queue_next(q, g, err, errlen);
    now_add(&j->t[ST_QUEUE], t);
    if (got <= 0 || j->mels || draining) return got;
    const size_t r0 = *g * (size_t)j->G, r1 = r0 + (size_t)j->G < j->list.n ? r0 + (size_t)j->G : j->list.n;
    for (size_t r = r0; r < r1; r++) {
        int rc = extract_prefetch_push(j->pf, j->list.paths[r], err, errlen);
        if (rc) return rc;
    }
    return got;
}

/* Collective: this rank's rows of the round; /status last, then a flush. */
static int round_write(job_extract *j, mpi_store *s, char *err, size_t errlen)
{
    double t = util_now();
    const size_t n = j->n_rows;
    int rc = mpi_store_rows_write(s, "features", MPI_STORE_F32, j->rows, n, j->feat, err, errlen);
    if (!rc && j->seg_feat)
        rc = mpi_store_rows_write(s, "segment_features", MPI_STORE_F32, j->rows, n, j->sfeat, err, errlen);
    if (!rc) rc = mpi_store_rows_write(s, "n_segments", MPI_STORE_I32, j->rows, n, j->nseg, err, errlen);
    for (size_t i = 0; i < n; i++)
        if (!j->errs[i]) j->errs[i] = util_strdup("");
    if (!rc) rc = mpi_store_strings_rows_write(s, "errors", j->rows, n, (const char *const *)j->errs, err, errlen);
    if (!rc) rc = mpi_store_rows_write(s, "status", MPI_STORE_I8, j->rows, n, j->status, err, errlen);
    if (!rc) rc = mpi_store_flush(s, err, errlen);
    for (size_t i = 0; i < n; i++) free(j->errs[i]);
    j->n_rows = 0;
    now_add(&j->t[ST_WRITE], t);
    return rc;
}

/* ---- the job ---- */

/* Fault injection for the kill/resume tests (tests/test_featx_resume.sh): with
 * ARTISTNET_FAULT_AFTER_ROUNDS=N:SIG[:RANK], rank RANK (default: every rank) raises signal SIG right
 * after the N-th round is written (9: a hard kill part-way; 15: the SIGTERM path). */
static void fault_inject(int rounds, int rank)
{
    const char *e = getenv("ARTISTNET_FAULT_AFTER_ROUNDS");
    int n = 0, sig = 0, r = -1;
    int k = e ? sscanf(e, "%d:%d:%d", &n, &sig, &r) : 0;
    if (k >= 2 && rounds == n && (k < 3 || r == rank)) raise(sig);
}

static void job_free(job_extract *j)
{
    shard_list_free(&j->list);
    nn_free(j->net);
    extract_mel_free(j->mel);
    extract_prefetch_free(j->pf);
    free(j->mels_nseg);
    free(j->mels_status);
    if (j->mels_err) mpi_store_strings_free(j->mels_err, j->mels_n);
    free(j->segs);
    free(j->segfeat);
    free(j->rows);
    free(j->feat);
    free(j->sfeat);
    free(j->nseg);
    free(j->status);
    free(j->errs);
}

static void print_summary(const job_extract *j, MPI_Comm comm, size_t n_todo, int interrupted)
{
    double t[ST_N], secs = 0;
    long cnt[2] = {j->n_ok, j->n_fail}, tot[2] = {0, 0};
    MPI_Reduce(j->t, t, ST_N, MPI_DOUBLE, MPI_SUM, 0, comm);
    MPI_Reduce(cnt, tot, 2, MPI_LONG, MPI_SUM, 0, comm);
    MPI_Reduce(&j->audio_seconds, &secs, 1, MPI_DOUBLE, MPI_SUM, 0, comm);
    double wall = j->t[ST_TOTAL];
    MPI_Bcast(&wall, 1, MPI_DOUBLE, 0, comm);
    const int size = mpi_util_size(comm);
    if (mpi_util_rank(comm) != 0 || j->quiet) return;
    const long done = tot[0] + tot[1];
    printf("extract: %ld tracks %s (%ld ok, %ld failed)%s of %zu in %s; %s\n", done,
           interrupted ? "done before the interrupt" : "processed", tot[0], tot[1],
           n_todo < j->list.n ? " (resumed)" : "", j->list.n, j->list_path, j->baseline ? "log-mel baseline" : "dcnn");
    printf("extract: %.2f s on %d rank%s: %.2f tracks/s, %.1f x realtime\n", wall, size, size > 1 ? "s" : "",
           wall > 0 ? done / wall : 0.0, wall > 0 ? secs / wall : 0.0);
    util_print_stages(stdout, "extract", stage_names, t, ST_TOTAL, j->threads, ST_DECODE, ST_RESAMPLE);
    printf("extract: wrote %s\n", j->out_path);
    fflush(stdout);
}

int job_extract_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    job_extract j;
    memset(&j, 0, sizeof j);
    util_opt opts[] = {
        {"model", UTIL_OPT_STRING, &j.model_path, "", "model.h5 (trained, or from import-keras); not with --baseline", 0, -1, 0},
        {"list", UTIL_OPT_STRING, &j.list_path, "", "track list (TSV with a path column, or a MIREX list)", 0, -1, 1},
        {"out", UTIL_OPT_STRING, &j.out_path, "", "output features.h5", 0, -1, 1},
        {"segments", UTIL_OPT_INT, &j.K, "10", "at most K 129-frame segments per clip (spread evenly when more)", 1, 1000, 0},
        {"segment-features", UTIL_OPT_FLAG, &j.seg_feat, "", "also write /segment_features (N, K, 256)", 0, -1, 0},
        {"from-mels", UTIL_OPT_STRING, &j.mels_path, "", "read segments from this mels.h5 (rows = the list's) instead of audio", 0, -1, 0},
        {"baseline", UTIL_OPT_FLAG, &j.baseline, "",
         "log-mel baseline instead of the net: per band mean and std over the clip's segment frames", 0, -1, 0},
        {"resampler", UTIL_OPT_STRING, &j.rs_opt, "model",
         "resampler to 22,050 Hz: soxr-hq (librosa >= 0.10), kaiser-best (resampy, librosa < 0.10; the authors' net) "
         "or model (the one the model records; soxr-hq with --baseline)", 0, -1, 0},
        {"batch", UTIL_OPT_INT, &j.batch, "64",
         "segments per forward pass: fixed groups of max(1, batch/K) tracks (part of the result: kept on --resume)", 1, 4096, 0},
        {"round", UTIL_OPT_INT, &j.round, "0", "tracks per collective write (0: 32 groups per rank)", 0, 1 << 30, 0},
        {"resume", UTIL_OPT_FLAG, &j.resume, "", "continue an interrupted run (rows with /status -1)", 0, -1, 0},
        {"prefetch", UTIL_OPT_INT, &j.prefetch_opt, "-1",
         "decode+resample up to N tracks ahead in threads (-1: 2 when this rank has a spare core, else 0)", -1, 16, 0},
        {"decode-threads", UTIL_OPT_INT, &j.threads_opt, "0",
         "threads decoding ahead when prefetching (0: one per CPU of this rank, at most 4; outputs do not depend on it)", 0,
         EXTRACT_PREFETCH_MAX_THREADS, 0},
        {"quiet", UTIL_OPT_FLAG, &j.quiet, "", "no progress lines and no summary", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("extract",
                             "Features of every track of a list -> features.h5: decode, log-mel, DCNN (or the log-mel "
                             "baseline), mean over segments; sharded over the MPI ranks.",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    if (j.mels_path && !*j.mels_path) j.mels_path = NULL;
    if (j.model_path && !*j.model_path) j.model_path = NULL;
    if (j.baseline && j.model_path) return util_fail(err, errlen, UTIL_EUSAGE, "--baseline takes no --model");
    if (!j.baseline && !j.model_path)
        return util_fail(err, errlen, UTIL_EUSAGE, "--model is required (or --baseline for log-mel statistics)");
    const int rank = mpi_util_rank(comm);
    double t_start = util_now();

    rc = shard_list_load(j.list_path, &j.list, err, errlen);
    if (!rc) rc = check_columns(&j.list, err, errlen);
    j.G = j.batch / j.K > 1 ? j.batch / j.K : 1;
    if (!rc && j.model_path) {
        rc = nn_load(j.model_path, j.G * j.K, &j.net, err, errlen);
        if (!rc) rc = nn_frontend_check(nn_frontend_of(j.net), j.model_path, err, errlen);
    }
    j.is_root = rank == 0;
    if (!rc) {
        extract_resampler model_rs = EXTRACT_RESAMPLER_DEFAULT;
        if (j.net) extract_resampler_parse(nn_frontend_of(j.net)->resampler, &model_rs); /* checked above */
        rc = job_parse_resampler(strcmp(j.rs_opt, "model") ? j.rs_opt : NULL, model_rs, &j.rs, err, errlen);
        if (!rc && j.net && !j.mels_path && j.rs != model_rs && rank == 0)
            fprintf(stderr, "extract: warning: --resampler %s, but %s expects %s: the features will not be the ones "
                    "the net was trained for\n", extract_resampler_name(j.rs), j.model_path,
                    extract_resampler_name(model_rs));
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) {
        job_free(&j);
        return rc;
    }
    j.segs = malloc((size_t)j.G * j.K * EXTRACT_SEG_SIZE * sizeof *j.segs);
    j.segfeat = malloc((size_t)j.G * j.K * JOB_FEAT_DIM * sizeof *j.segfeat);
    if (!j.segs || !j.segfeat) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory for %d segments", j.G * j.K);
    if (!rc && !j.mels_path && !(j.mel = extract_mel_make()))
        rc = util_fail(err, errlen, UTIL_EFAIL, "cannot make the log-mel front end (FFTW plan)");
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc && j.mels_path) {
        rc = mels_open(&j, comm, err, errlen);
        rc = mpi_util_agree(comm, rc, err, errlen);
    }

    /* output: new, or reopened for --resume (a missing file starts afresh) */
    mpi_store *out = NULL;
    size_t *pending = NULL, n_pending = 0;
    if (!rc) {
        int exists = access(j.out_path, F_OK) == 0;
        MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
        if (j.resume && exists) rc = out_reopen(&j, comm, argc, argv, &out, err, errlen);
        else rc = out_create(&j, comm, argc, argv, &out, err, errlen);
        rc = mpi_util_agree(comm, rc, err, errlen);
    }
    if (!rc) {
        rc = mpi_store_rows_pending(out, "status", JOB_STATUS_PENDING, &pending, &n_pending, err, errlen);
        rc = mpi_util_agree(comm, rc, err, errlen);
    }
    /* items: the groups holding a pending row (a group is always recomputed whole) */
    size_t *groups = NULL, n_groups = 0;
    if (!rc) {
        groups = malloc((n_pending + 1) * sizeof *groups);
        if (!groups) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
        for (size_t i = 0; groups && i < n_pending; i++) {
            size_t g = pending[i] / (size_t)j.G;
            if (!n_groups || groups[n_groups - 1] != g) groups[n_groups++] = g;
        }
        rc = mpi_util_agree(comm, rc, err, errlen);
    }
    size_t n_todo = 0;
    for (size_t i = 0; i < n_groups; i++) {
        size_t r0 = groups[i] * (size_t)j.G;
        n_todo += (r0 + (size_t)j.G < j.list.n ? (size_t)j.G : j.list.n - r0);
    }
    mpi_queue *q = NULL;
    if (!rc) {
        size_t round = j.round > 0 ? ((size_t)j.round + (size_t)j.G - 1) / (size_t)j.G : 0;
        /* one group per chunk: a group (G tracks, ~0.15 s of MP3) is work enough to hide the
         * request (workers keep one in flight), and a worker holding several groups when the
         * round runs out leaves the other ranks waiting for them at the round's end */
        rc = mpi_queue_make(comm, groups, n_groups, round, 1, &q, err, errlen);
        j.q = q;
        rc = mpi_util_agree(comm, rc, err, errlen);
    }
    if (!rc) {
        j.threads = j.threads_opt;
        j.prefetch = extract_prefetch_auto(comm, j.mels ? 0 : j.prefetch_opt, 2, &j.threads);
        rc = extract_prefetch_make(j.threads, j.prefetch > 0 ? j.prefetch : 1, j.rs, &j.pf, err, errlen);
        rc = mpi_util_agree(comm, rc, err, errlen);
    }
    int interrupted = 0;
    j.t[ST_SETUP] = util_now() - t_start;
    if (!rc) {
        util_progress prog;
        util_progress_start(&prog, "extract", "tracks", (long)n_todo, rank == 0 && !j.quiet);
        int r, rounds = 0;
        while ((r = mpi_queue_round(q, err, errlen)) > 0) {
            /* With prefetch threads the next group is claimed before the current one is
             * processed, so its tracks decode meanwhile; groups and values do not depend on it. */
            int local = 0, have = 0;
            size_t item = 0, next = 0;
            for (;;) {
                if (!have) {
                    int got = group_claim(&j, q, &item, local, err, errlen);
                    if (got < 0 && !local) local = got;
                    if (got <= 0) break;
                }
                have = 0;
                if (local) continue; /* a fatal error: drain the round so the collectives still meet */
                if (j.prefetch) {
                    int got = group_claim(&j, q, &next, local, err, errlen);
                    if (got < 0) {
                        local = got;
                        continue;
                    }
                    have = got > 0;
                }
                double secs = 0;
                local = group_process(&j, item, &secs, err, errlen);
                j.audio_seconds += secs;
                mpi_queue_report(q, secs);
                if (rank == 0) {
                    size_t done;
                    mpi_queue_progress(q, &done, &prog.audio_seconds);
                    done *= (size_t)j.G;
                    util_progress_update(&prog, (long)(done < n_todo ? done : n_todo), 0);
                }
                if (have) item = next;
            }
            double tb = util_now(); /* waiting here = load imbalance at the end of the round */
            rc = mpi_util_agree(comm, local, err, errlen);
            now_add(&j.t[ST_BARRIER], tb);
            if (rc) break;
            rc = round_write(&j, out, err, errlen);
            rc = mpi_util_agree(comm, rc, err, errlen);
            if (rc) break;
            fault_inject(++rounds, rank);
        }
        if (!rc && r < 0) rc = r;
        rc = mpi_util_agree(comm, rc, err, errlen);
        interrupted = !rc && mpi_queue_interrupted(q);
        if (!rc && !interrupted) util_progress_finish(&prog, (long)n_todo);
    }
    if (j.pf) {
        extract_audio_times at;
        extract_prefetch_times(j.pf, &at, &j.t[ST_WAIT]);
        j.t[ST_DECODE] = at.decode;
        j.t[ST_RESAMPLE] = at.resample;
    }
    double tc = util_now();
    if (q) mpi_queue_free(q);
    if (out) {
        int rc2 = mpi_store_close(out, err, errlen);
        if (!rc) rc = mpi_util_agree(comm, rc2, err, errlen);
    }
    if (j.mels) {
        char e2[UTIL_ERRLEN];
        mpi_store_close(j.mels, e2, sizeof e2);
    }
    now_add(&j.t[ST_CLOSE], tc);
    j.t[ST_TOTAL] = util_now() - t_start;
    if (!rc) print_summary(&j, comm, n_todo, interrupted);
    if (!rc && interrupted)
        rc = util_fail(err, errlen, UTIL_EINTR, "interrupted; finished rows are in %s, rerun with --resume to continue",
                       j.out_path);
    free(pending);
    free(groups);
    job_free(&j);
    return rc;
}
