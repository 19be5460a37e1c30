/* mel.c - `artistnet mel`: log-mel segments of every track of a list -> mels.h5, sharded over ranks.
 *
 * Rank 0 hands out chunks of list rows on request (mpi/queue.h) and works too; every rank decodes
 * and computes log-mel segments (extract/extract.h). A rank writes its /mel rows itself as it makes
 * them, 4 at a time, with independent I/O (mpi/store.h); after each round of tracks all ranks
 * write /n_segments, /errors and then /status of their rows collectively. /status is created
 * filled with -1 (pending), so it is also the per-row completion record: --resume reopens the file
 * and processes only rows still at -1 (a row's /mel is written before its /status). Output rows are
 * list rows, so the file does not depend on the number of ranks or on timing.
 *
 * Why /mel is not written collectively at the round's end, as it first was: all ranks then
 * wrote their 40 MB at the same moment, and a local file system takes one writer of a file at a
 * time (the inode lock), so one rank waited for the other: write rows took 0.46 rank-s on 960 rows
 * at 2 ranks vs 0.28 at 1 rank. Written as made, the writes of the ranks rarely meet: 0.28-0.31.
 *
 * Flushing: the file's metadata is complete and flushed once all datasets exist (space allocated
 * at creation); a round's row writes change raw data only. Rows written reach the kernel's page
 * cache at once, so a killed job (SIGKILL, SIGTERM) loses nothing written. H5Fflush adds an fsync,
 * which protects against a node crash, costs a disk write of every round (5-7% of a 1-rank run,
 * and it does not scale with ranks), so it runs at most every --sync-every seconds (0: every round).
 *
 * Prefetch (extract/prefetch.h): with a spare core (--prefetch), the next track of the round is
 * claimed before the current one is processed and decoded in a thread meanwhile.
 *
 * Determinism: extract_mel_make plans its FFT with FFTW_ESTIMATE, a plan that is the same in every
 * process, so /mel has the same bits for any rank count, any run and across --resume.
 *
 * mels.h5 (DESIGN.md "Files"): /ids, one fixed-length UTF-8 string dataset per list column (list
 * order), /mel float32 (N, K, 128, 129) zero where there is no segment, /n_segments int32 (N),
 * /status int8 (N: 0 ok, 1 failed, -1 not processed yet), /errors fixed-length strings (N, JOB_ERRORS_WIDTH
 * = 1,024 bytes: the whole message; empty when ok); root attributes: the front-end parameters (resampler: --resampler), segments, list, list_hash, columns,
 * version, ranks, command_line.
 */
#include "extract/extract.h"
#include "extract/prefetch.h"
#include "jobs/job_common.h"
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "mpi/queue.h"
#include "mpi/store.h"
#include "shard/shard.h"
#include "util/util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MEL_WRITE_ROWS 4 /* /mel rows per independent write */
#define MEL_PENDING (-1)
#define MEL_FAILED 1

/* dataset names the list's columns must not take */
static const char *const mel_reserved[] = {"ids", "mel", "n_segments", "status", "errors", NULL};

/* per-stage wall time of this rank, summed over ranks in the summary (where the time goes) */
enum { MEL_ST_SETUP, MEL_ST_DECODE, MEL_ST_RESAMPLE, MEL_ST_WAIT, MEL_ST_MEL, MEL_ST_QUEUE, MEL_ST_WRITE,
       MEL_ST_FLUSH, MEL_ST_BARRIER, MEL_ST_TOTAL, MEL_ST_N };
static const char *const mel_stage_names[MEL_ST_TOTAL] = {
    "setup (list, file, plan)", "decode", "resample", "wait for prefetch", "log-mel", "queue wait",
    "write rows", "flush (H5Fflush+sync)", "end-of-round wait"};

typedef struct {
    const char *list_path, *out_path;
    int K, resume, quiet, round, chunk, prefetch, queue_thread;
    const char *rs_opt;
    extract_resampler rs;
    double sync_every, last_sync; /* seconds between H5Fflush (+ fsync) after a round's write */
    shard_list list;
    extract_prefetch *pf;
    mpi_store *s;
    extract_mel *m;
    /* this round's rows on this rank: rows[0, n); /mel written for rows[0, n_written); the last
     * mel_n rows' segments wait in mel (at most MEL_WRITE_ROWS) */
    size_t cap, n, n_written, mel_n;
    size_t *rows;
    float *mel;
    int *nseg;
    signed char *status;
    char **errs;
    double t[MEL_ST_N];
} mel_job;

static int attr_str(mpi_store *s, const char *name, const char *v, char *err, size_t errlen)
{
    return mpi_store_attr_write_string(s, NULL, name, v ? v : "", err, errlen);
}


/* The log-mel front end of this rank (FFTW plan, window, filterbank) and the buffer of the /mel rows
 * waiting for their write (MEL_WRITE_ROWS). */
static int mel_plan(mel_job *j, MPI_Comm comm, char *err, size_t errlen)
{
    j->m = extract_mel_make();
    j->mel = malloc(MEL_WRITE_ROWS * (size_t)j->K * EXTRACT_SEG_SIZE * sizeof *j->mel);
    int rc = j->m && j->mel ? UTIL_OK
                            : util_fail(err, errlen, UTIL_EFAIL, "mel: cannot set up the FFT or the row buffer on rank %d",
                                        mpi_util_rank(comm));
    return mpi_util_agree(comm, rc, err, errlen);
}

static int out_create(mel_job *j, MPI_Comm comm, int argc, char **argv, char *err, size_t errlen)
{
    int rc = mpi_store_create(comm, j->out_path, &j->s, err, errlen);
    if (rc) return rc;
    mpi_store *s = j->s;
    const size_t N = j->list.n;
    if (!rc) rc = mpi_store_strings_write(s, "ids", (const char *const *)j->list.ids, N, err, errlen);
    const char **col = malloc((N ? N : 1) * sizeof *col);
    if (!col) rc = util_fail(err, errlen, UTIL_EFAIL, "mel: out of memory");
    for (int c = 0; !rc && c < j->list.n_cols; c++) {
        for (size_t i = 0; i < N; i++) col[i] = shard_list_cell(&j->list, i, c);
        rc = mpi_store_strings_write(s, j->list.col_names[c], col, N, err, errlen);
    }
    free(col);
    size_t d4[4] = {N, (size_t)j->K, EXTRACT_N_MELS, EXTRACT_SEG_FRAMES}, d1[1] = {N};
    const int zero = 0;
    const signed char pending = MEL_PENDING;
    /* Contiguous: a row (one track, 660 KB at K = 10) is one contiguous block either way, which is
     * what a chunk of one row would give; but HDF5 1.10 maps a multi-run row selection onto chunks
     * element by element (bench/bench_store: 20-40 MB/s chunked vs >500 MB/s contiguous). */
    if (!rc) rc = mpi_store_dataset_create(s, "mel", MPI_STORE_F32, 4, d4, -1, NULL, err, errlen);
    if (!rc) rc = mpi_store_dataset_create(s, "n_segments", MPI_STORE_I32, 1, d1, 0, &zero, err, errlen);
    if (!rc) rc = mpi_store_strings_create(s, "errors", N, JOB_ERRORS_WIDTH, err, errlen);
    if (!rc) rc = mpi_store_dataset_create(s, "status", MPI_STORE_I8, 1, d1, 0, &pending, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "sr", EXTRACT_SR, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "n_fft", EXTRACT_N_FFT, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "hop", EXTRACT_HOP, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "n_mels", EXTRACT_N_MELS, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "segment_frames", EXTRACT_SEG_FRAMES, err, errlen);
    if (!rc) rc = mpi_store_attr_write_double(s, NULL, "fmin", EXTRACT_FMIN, err, errlen);
    if (!rc) rc = mpi_store_attr_write_double(s, NULL, "fmax", EXTRACT_FMAX, err, errlen);
    if (!rc) rc = attr_str(s, "resampler", extract_resampler_name(j->rs), err, errlen);
    if (!rc) rc = attr_str(s, "window", "hann (periodic)", err, errlen);
    if (!rc) rc = attr_str(s, "spectrum", "magnitude", err, errlen);
    if (!rc) rc = attr_str(s, "mel_scale", "slaney", err, errlen);
    if (!rc) rc = attr_str(s, "mel_norm", "slaney", err, errlen);
    if (!rc) rc = attr_str(s, "log_compression", "log10(1+10*M)", err, errlen);
    if (!rc) rc = attr_str(s, "layout", "mel[track, segment, band, frame]", err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "segments", j->K, err, errlen);
    if (!rc) rc = job_write_provenance(s, &j->list, j->list_path, argc, argv, comm, err, errlen);
    return rc;
}

/* --resume: same list and segment count. */
static int out_reopen(mel_job *j, MPI_Comm comm, int argc, char **argv, char *err, size_t errlen)
{
    int rc = mpi_store_open(comm, j->out_path, 1, &j->s, err, errlen);
    if (rc) return rc;
    mpi_store *s = j->s;
    char have[128], want[64];
    job_hash_text(want, sizeof want, j->list.hash);
    if ((rc = mpi_store_attr_read_string(s, NULL, "list_hash", have, sizeof have, err, errlen))) return rc;
    if (strcmp(have, want))
        return util_fail(err, errlen, UTIL_EUSAGE, "%s: cannot resume: it was made from another list (list_hash %s, %s has %s)",
                         j->out_path, have, j->list_path, want);
    long long k = 0;
    if ((rc = mpi_store_attr_read_int(s, NULL, "segments", &k, err, errlen))) return rc;
    if (k != j->K)
        return util_fail(err, errlen, UTIL_EUSAGE, "%s: cannot resume: it has %lld segments per track, this run --segments %d",
                         j->out_path, k, j->K);
    extract_resampler rs;
    if ((rc = job_read_resampler(s, j->out_path, &rs, err, errlen))) return rc;
    if (rs != j->rs)
        return util_fail(err, errlen, UTIL_EUSAGE, "%s: cannot resume: it was made with --resampler %s, this run %s",
                         j->out_path, extract_resampler_name(rs), extract_resampler_name(j->rs));
    int r;
    size_t d[MPI_STORE_MAX_RANK];
    if ((rc = mpi_store_dataset_dims(s, "mel", &r, d, err, errlen))) return rc;
    if (r != 4 || d[0] != j->list.n || d[1] != (size_t)j->K || d[2] != EXTRACT_N_MELS || d[3] != EXTRACT_SEG_FRAMES)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: /mel is not (%zu, %d, %d, %d)", j->out_path, j->list.n, j->K,
                         EXTRACT_N_MELS, EXTRACT_SEG_FRAMES);
    rc = mpi_store_attr_write_int(s, NULL, "ranks", mpi_util_size(comm), err, errlen);
    char *cmd = util_join_argv(argc, argv);
    if (!rc) rc = attr_str(s, "command_line", cmd, err, errlen);
    free(cmd);
    return rc;
}

static int check_columns(const shard_list *l, char *err, size_t errlen)
{
    for (int c = 0; c < l->n_cols; c++)
        for (int i = 0; mel_reserved[i]; i++)
            if (!strcmp(l->col_names[c], mel_reserved[i]))
                return util_fail(err, errlen, UTIL_EINPUT, "%s: column '%s' would clash with the dataset /%s of mels.h5; rename it",
                                 l->file, l->col_names[c], mel_reserved[i]);
    return UTIL_OK;
}

static int buffers_grow(mel_job *j)
{
    size_t nc = j->cap ? j->cap * 2 : 16;
    size_t *r = realloc(j->rows, nc * sizeof *r);
    if (!r) return -1;
    j->rows = r;
    int *ns = realloc(j->nseg, nc * sizeof *ns);
    if (!ns) return -1;
    j->nseg = ns;
    signed char *st = realloc(j->status, nc);
    if (!st) return -1;
    j->status = st;
    char **e = realloc(j->errs, nc * sizeof *e);
    if (!e) return -1;
    for (size_t i = j->cap; i < nc; i++) e[i] = NULL;
    j->errs = e;
    j->cap = nc;
    return 0;
}

/* This rank's /mel rows waiting in j->mel to the file, independently (mpi/store.h): a rank writes
 * its rows as it makes them, MEL_WRITE_ROWS at a time, not all ranks at once at the round's end. */
static int mel_rows_write(mel_job *j, char *err, size_t errlen)
{
    if (!j->mel_n) return UTIL_OK;
    double t = util_now();
    int rc = mpi_store_rows_write_local(j->s, "mel", MPI_STORE_F32, j->rows + j->n - j->mel_n, j->mel_n, j->mel, err, errlen);
    j->t[MEL_ST_WRITE] += util_now() - t;
    if (rc) return rc;
    j->mel_n = 0;
    j->n_written = j->n;
    return UTIL_OK;
}

/* one track into slot j->n (its segments: slot j->mel_n of j->mel) */
static int process_track(mel_job *j, size_t row, double *seconds, char *err, size_t errlen)
{
    if (j->mel_n == MEL_WRITE_ROWS) {
        int rc = mel_rows_write(j, err, errlen);
        if (rc) return rc;
    }
    if (j->n == j->cap && buffers_grow(j)) return util_fail(err, errlen, UTIL_EFAIL, "mel: out of memory for row buffers");
    /* the slot is taken only once it can hold the whole row (a half-made slot would be written) */
    if (!j->errs[j->n] && !(j->errs[j->n] = malloc(UTIL_ERRLEN))) return util_fail(err, errlen, UTIL_EFAIL, "mel: out of memory");
    size_t i = j->n++;
    float *segs = j->mel + j->mel_n++ * (size_t)j->K * EXTRACT_SEG_SIZE;
    memset(segs, 0, (size_t)j->K * EXTRACT_SEG_SIZE * sizeof *segs);
    j->errs[i][0] = 0;
    j->rows[i] = row;
    int ns = 0;
    *seconds = 0;
    /* the track's samples: decoded ahead by the prefetch thread, or here (extract/prefetch.h) */
    float *x = NULL;
    size_t n = 0;
    int rc = extract_prefetch_take(j->pf, &x, &n, seconds, j->errs[i], UTIL_ERRLEN);
    if (rc == UTIL_OK) {
        double t = util_now();
        rc = extract_samples_segments(j->m, x, n, j->list.paths[row], j->K, segs, &ns, j->errs[i], UTIL_ERRLEN);
        j->t[MEL_ST_MEL] += util_now() - t;
    }
    free(x);
    if (rc != UTIL_OK) {
        /* every per-track problem is data: status 1 and the message; zeros in /mel */
        if (!j->errs[i][0]) snprintf(j->errs[i], UTIL_ERRLEN, "%s: failed (code %d)", j->list.paths[row], rc);
        memset(segs, 0, (size_t)j->K * EXTRACT_SEG_SIZE * sizeof *segs);
        ns = 0;
        j->status[i] = MEL_FAILED;
    } else {
        j->status[i] = 0;
    }
    j->nseg[i] = ns;
    return UTIL_OK;
}

/* Tracks per round, all ranks: --round, or 256 per rank. A round ends with a wait for the slowest
 * rank and a collective write of the small per-row datasets, /status last; /mel rows are in the file
 * by then (mel_rows_write), so a round holds only a few rows in memory. A killed job redoes at most
 * its last round (on 960 rows and 2 ranks, end-of-round + queue wait 0.15 rank-s at 64 per rank,
 * 0.055 at 256). Chunks (--chunk) hold at most 4 tracks: a worker keeps one request in flight, so
 * when a round runs out it may hold two chunks that the others wait for (with 16: end-of-round +
 * queue wait 0.13-0.16 s on 960 rows and 2 ranks at 64 per rank, 0.07 s with 4; a request costs
 * microseconds, a track ~5 ms). */
static size_t mel_round(const mel_job *j, int size)
{
    return j->round > 0 ? (size_t)j->round : (size_t)size * 256;
}

/* This rank's next row of the round from the queue (1, 0 at the end of the round, or an error code),
 * queued for decoding (by the prefetch thread, or in process_track's take()). */
static int track_claim(mel_job *j, mpi_queue *q, size_t *row, char *err, size_t errlen)
{
    double t = util_now();
    int got = mpi_queue_next(q, row, err, errlen);
    j->t[MEL_ST_QUEUE] += util_now() - t;
    if (got > 0) {
        int rc = extract_prefetch_push(j->pf, j->list.paths[*row], err, errlen);
        if (rc) return rc;
    }
    return got;
}

/* Collective: the rest of this round's /mel rows (independent), then /n_segments, /errors and
 * /status last of the rows whose /mel is in the file (all of them unless a write failed), flush. */
static int write_round(mel_job *j, MPI_Comm comm, char *err, size_t errlen)
{
    mpi_store *s = j->s;
    char e2[UTIL_ERRLEN];
    int lrc = mel_rows_write(j, e2, sizeof e2);
    double t = util_now();
    const size_t n = j->n_written;
    int rc = mpi_store_rows_write(s, "n_segments", MPI_STORE_I32, j->rows, n, j->nseg, err, errlen);
    if (!rc) rc = mpi_store_strings_rows_write(s, "errors", j->rows, n, (const char *const *)j->errs, err, errlen);
    if (!rc) rc = mpi_store_rows_write(s, "status", MPI_STORE_I8, j->rows, n, j->status, err, errlen);
    if (!rc && lrc) rc = util_fail(err, errlen, lrc, "%s", e2);
    rc = mpi_util_agree(comm, rc, err, errlen);
    double t2 = util_now();
    j->t[MEL_ST_WRITE] += t2 - t;
    if (!rc && (j->sync_every <= 0 || t2 - j->last_sync >= j->sync_every)) {
        rc = mpi_store_flush(s, err, errlen);
        j->last_sync = util_now();
    }
    j->t[MEL_ST_FLUSH] += util_now() - t2;
    j->n = j->n_written = j->mel_n = 0;
    return rc;
}

static void mel_free(mel_job *j)
{
    for (size_t i = 0; i < j->cap; i++) free(j->errs ? j->errs[i] : NULL);
    free(j->errs);
    free(j->rows);
    free(j->mel);
    free(j->nseg);
    free(j->status);
    if (j->m) extract_mel_free(j->m);
    extract_prefetch_free(j->pf);
    shard_list_free(&j->list);
}

/* Rank 0: the per-stage times summed over ranks. With the prefetch thread, decode and resample run
 * beside the main thread's stages (overlapped): the main thread waited for them `wait for prefetch`. */
static void print_stages(const mel_job *j, MPI_Comm comm, int prefetch)
{
    double t[MEL_ST_N];
    MPI_Reduce(j->t, t, MEL_ST_N, MPI_DOUBLE, MPI_SUM, 0, comm);
    if (mpi_util_rank(comm) == 0 && !j->quiet)
        util_print_stages(stderr, "mel", mel_stage_names, t, MEL_ST_TOTAL, prefetch > 0, MEL_ST_DECODE, MEL_ST_RESAMPLE);
}

/* counts from /status (all ranks) and the first failures, for the summary */
static int summary(mel_job *j, MPI_Comm comm, double t0, double audio, size_t done_now, int prefetch, char *err,
                   size_t errlen)
{
    j->t[MEL_ST_TOTAL] = util_now() - t0;
    size_t N = j->list.n;
    signed char *st = malloc(N ? N : 1);
    if (!st) return util_fail(err, errlen, UTIL_EFAIL, "mel: out of memory");
    int rc = mpi_store_read_all(j->s, "status", MPI_STORE_I8, st, err, errlen);
    size_t ok = 0, failed = 0, pending = 0;
    for (size_t i = 0; !rc && i < N; i++) {
        if (st[i] == 0) ok++;
        else if (st[i] == MEL_PENDING) pending++;
        else failed++;
    }
    char **errs = NULL;
    size_t ne = 0;
    if (!rc && failed) rc = mpi_store_strings_read(j->s, "errors", &errs, &ne, err, errlen);
    if (!rc && mpi_util_rank(comm) == 0 && !j->quiet) {
        double el = util_now() - t0;
        fprintf(stderr, "mel: %zu tracks in %s: %zu ok, %zu failed, %zu pending; this run %zu tracks in %.2f s "
                        "(%.2f tracks/s, %.0fx realtime, %d ranks)\n",
                N, j->out_path, ok, failed, pending, done_now, el, el > 0 ? (double)done_now / el : 0,
                el > 0 ? audio / el : 0, mpi_util_size(comm));
        size_t shown = 0;
        for (size_t i = 0; i < N && shown < 5; i++)
            if (st[i] != 0 && st[i] != MEL_PENDING && i < ne) {
                fprintf(stderr, "  failed: row %zu (line %d): %s\n", i, j->list.lines[i], errs[i]);
                shown++;
            }
        if (failed > shown) fprintf(stderr, "  ... %zu more in /errors\n", failed - shown);
    }
    mpi_store_strings_free(errs, ne);
    free(st);
    print_stages(j, comm, prefetch); /* collective */
    if (!rc && pending)
        rc = util_fail(err, errlen, UTIL_EINTR, "%s: %zu of %zu tracks still to do", j->out_path, pending, N);
    return rc;
}

int job_mel_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    mel_job j;
    memset(&j, 0, sizeof j);
    util_opt opts[] = {
        {"list", UTIL_OPT_STRING, &j.list_path, "", "track list (TSV with a path column, or a MIREX list)", 0, 0, 1},
        {"out", UTIL_OPT_STRING, &j.out_path, "", "output mels.h5 (replaced unless --resume)", 0, 0, 1},
        {"segments", UTIL_OPT_INT, &j.K, "10", "segments of 129 frames per track (K)", 1, 1000, 0},
        {"resume", UTIL_OPT_FLAG, &j.resume, NULL, "continue an interrupted run: only rows not done yet (/status -1)", 0, 0, 0},
        {"round", UTIL_OPT_INT, &j.round, "0", "tracks per round (/status written, rows done), all ranks (0: 256 per rank)", 0, 1000000, 0},
        {"chunk", UTIL_OPT_INT, &j.chunk, "4", "largest chunk of tracks a worker gets at once", 1, 100000, 0},
        {"sync-every", UTIL_OPT_DOUBLE, &j.sync_every, "30",
         "seconds between flushes to the disk (H5Fflush + fsync) after a round; 0: every round", 0, 1e6, 0},
        {"prefetch", UTIL_OPT_INT, &j.prefetch, "-1",
         "decode+resample up to N tracks ahead in a thread (-1: 1 when this rank has a spare core, else 0)", -1, 4, 0},
        {"resampler", UTIL_OPT_STRING, &j.rs_opt, "soxr-hq",
         "resampler to 22,050 Hz: soxr-hq (librosa >= 0.10) or kaiser-best (resampy, librosa < 0.10; the authors' net)", 0, 0, 0},
        {"queue-thread", UTIL_OPT_FLAG, &j.queue_thread, NULL,
         "rank 0 answers the work queue in a thread (MPI_THREAD_MULTIPLE), not between its own tracks", 0, 0, 0},
        {"quiet", UTIL_OPT_FLAG, &j.quiet, NULL, "no progress lines or summary", 0, 0, 0},
        {0}};
    int rc = util_opts_parse("mel", "log-mel segments of a track list -> mels.h5 (mpirun -n N for N ranks)", opts,
                             argc, argv, err, errlen);
    if (!rc) rc = job_parse_resampler(j.rs_opt, EXTRACT_RESAMPLER_SOXR_HQ, &j.rs, err, errlen);
    if (rc) return rc;
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    double t0 = util_now();
    rc = shard_list_load(j.list_path, &j.list, err, errlen);
    if (!rc) rc = check_columns(&j.list, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) {
        mel_free(&j);
        return rc;
    }
    struct stat sb;
    int exists = rank == 0 ? stat(j.out_path, &sb) == 0 : 0;
    MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
    if (j.resume && !exists) j.resume = 0; /* nothing to resume: start afresh */
    rc = j.resume ? out_reopen(&j, comm, argc, argv, err, errlen) : out_create(&j, comm, argc, argv, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) rc = mpi_store_local_open(j.s, "mel", err, errlen); /* collective */
    if (!rc) rc = mel_plan(&j, comm, err, errlen);
    if (!rc) rc = mpi_util_agree(comm, mpi_store_flush(j.s, err, errlen), err, errlen);
    j.last_sync = util_now();
    size_t *todo = NULL, n_todo = 0;
    if (!rc) rc = mpi_util_agree(comm, mpi_store_rows_pending(j.s, "status", MEL_PENDING, &todo, &n_todo, err, errlen), err, errlen);
    mpi_queue *q = NULL;
    if (!rc) rc = mpi_util_agree(comm, mpi_queue_make(comm, todo, n_todo, mel_round(&j, size), j.chunk, &q, err, errlen), err, errlen);
    free(todo);
    if (!rc && mpi_queue_set_thread(q, j.queue_thread))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "mel: --queue-thread needs MPI_THREAD_MULTIPLE, which this MPI library does not provide");
    const int prefetch = rc ? 0 : extract_prefetch_auto(comm, j.prefetch, 1, NULL); /* one track claimed ahead: one thread */
    if (!rc) rc = mpi_util_agree(comm, extract_prefetch_make(prefetch > 0, prefetch > 0 ? prefetch : 1, j.rs, &j.pf, err, errlen), err, errlen);
    j.t[MEL_ST_SETUP] = util_now() - t0;
    util_progress pr;
    util_progress_start(&pr, "mel", "tracks", (long)n_todo, rank == 0 && !j.quiet);
    double audio_local = 0;
    size_t done_local = 0;
    /* test hook: ARTISTNET_MEL_TEST_SIGNAL=KILL:R, TERM:R or STOP:R makes every rank raise SIGKILL,
     * SIGTERM or SIGSTOP after its first track of round R (tests/mel_mpi.sh: kill and resume;
     * tests/test_reliability_rank.sh: pause the job, kill one rank from outside) */
    long hook_round = 0;
    const int hook_sig = util_test_signal("ARTISTNET_MEL_TEST_SIGNAL", &hook_round);
    long round_no = 0;
    while (!rc) {
        int more = mpi_queue_round(q, err, errlen);
        if (more <= 0) {
            rc = more;
            break;
        }
        round_no++;
        /* With the prefetch thread, the next track of the round is claimed before the current one
         * is processed, so it decodes meanwhile; rows and values do not depend on it. */
        size_t row, next;
        int got = track_claim(&j, q, &row, err, errlen), first = 1;
        while (got > 0) {
            int got_next = prefetch ? track_claim(&j, q, &next, err, errlen) : 0;
            if (got_next < 0) {
                got = got_next;
                break;
            }
            double sec = 0;
            if ((rc = process_track(&j, row, &sec, err, errlen))) break;
            if (hook_sig && round_no == hook_round && first) raise(hook_sig);
            first = 0;
            audio_local += sec;
            done_local++;
            mpi_queue_report(q, sec);
            if (rank == 0) {
                size_t d;
                mpi_queue_progress(q, &d, &pr.audio_seconds);
                util_progress_update(&pr, (long)d, 0);
            }
            if (prefetch) {
                got = got_next;
                row = next;
            } else {
                got = track_claim(&j, q, &row, err, errlen);
            }
        }
        if (!rc && got < 0) rc = got;
        if (rc) { /* a fatal error: drain the round so the collectives still meet */
            size_t dummy;
            char e2[UTIL_ERRLEN];
            while (mpi_queue_next(q, &dummy, e2, sizeof e2) > 0) {}
        }
        double tb = util_now(); /* waiting here = load imbalance at the end of the round */
        rc = mpi_util_agree(comm, rc, err, errlen);
        j.t[MEL_ST_BARRIER] += util_now() - tb;
        /* a failed rank still takes part in the collective write (with its rows so far) */
        int wrc = write_round(&j, comm, err, errlen);
        rc = mpi_util_agree(comm, rc ? rc : wrc, err, errlen);
    }
    double audio = 0;
    unsigned long long done_all = 0, dl = done_local;
    MPI_Allreduce(&audio_local, &audio, 1, MPI_DOUBLE, MPI_SUM, comm);
    MPI_Allreduce(&dl, &done_all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm);
    pr.audio_seconds = audio;
    util_progress_finish(&pr, (long)done_all);
    int interrupted = q && mpi_queue_interrupted(q);
    mpi_queue_free(q);
    if (j.pf) {
        extract_audio_times at;
        extract_prefetch_times(j.pf, &at, &j.t[MEL_ST_WAIT]);
        j.t[MEL_ST_DECODE] = at.decode;
        j.t[MEL_ST_RESAMPLE] = at.resample;
    }
    if (!rc && j.s) {
        rc = mpi_util_agree(comm, summary(&j, comm, t0, audio, (size_t)done_all, prefetch, err, errlen), err, errlen);
        if (rc == UTIL_EINTR && !interrupted) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: rows left pending without an interrupt", j.out_path);
    }
    if (j.s) {
        char ebuf[UTIL_ERRLEN];
        int crc = mpi_store_close(j.s, ebuf, sizeof ebuf);
        if (!rc && crc) {
            snprintf(err, errlen, "%s", ebuf);
            rc = crc;
        }
        rc = mpi_util_agree(comm, rc, err, errlen);
    }
    mel_free(&j);
    return rc;
}
