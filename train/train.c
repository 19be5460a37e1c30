/* train.c - the trainer (train.h): trains the artist classifier (the DCNN of nn/nn.h) from mels.h5 on
 * any number of MPI ranks, resumable; writes the best-on-validation model to model.h5.
 *
 * Why the model does not depend on the number of ranks (the README text):
 *   The sequence of global mini-batches is a pure function of (seed, epoch): every epoch is a
 *   permutation of all training segments made from that pair, identical on every rank, cut into
 *   batches of --batch segments (a remainder smaller than a batch is left out of that epoch). Each
 *   batch is cut into micro-batches of --micro-batch segments and batch norm normalises every
 *   micro-batch with its own statistics ("ghost" batch norm), so what a statistic means never
 *   depends on who computes it. Rank r takes a contiguous block of whole micro-batches (the same
 *   fixed cut of micro-batches for any rank count); dropout masks are a hash of (seed, global step,
 *   position in the global batch). The step's gradient sums, BN statistics and counts are summed
 *   over ranks, so 1, 2 or 3 ranks run the same arithmetic up to the order of float sums (--reduce
 *   exact, the default, removes that too: fixed-point sums). --reduce exact shards the update: one
 *   small allreduce of the BN statistics and counts, a reduce-scatter of the parameters' gradients
 *   (rank r gets the sums of its 1/P slice), the SGD step on that slice, an allgather of the
 *   updated slices (exact_update): each rank converts and updates 1/P of the parameters and
 *   moves 12 bytes a parameter instead of a ring allreduce's 16. --reduce float: one float allreduce
 *   of the whole buffer, every rank updates everything. Everything that decides
 *   (validation loss: lr decay, early stop, best model) or is saved (precise batch-norm statistics)
 *   is computed on fixed groups of segments, one nn call each, summed exactly or in a fixed order.
 *
 * Batch-norm statistics (--bn precise): recalibrated to population statistics of a fixed training
 * sample before every validation (bn_recalibrate). Learning rate: --lr for a --lr-batch batch,
 * scaled to --batch with a warm-up (step_lr; Goyal et al. 2017).
 *
 * Resume: the checkpoint (OUT.ckpt, written to OUT.ckpt.tmp and renamed) holds the model with its
 * optimizer state and step, the epoch and the step within it, the learning rate, the best-so-far
 * model and its validation loss, the patience counters, the partial sums of the epoch in progress
 * and the log rows. Because data order and dropout depend only on (seed, epoch, step), a resumed
 * run with the same rank count repeats exactly the same operations: the final model is bitwise the
 * one of an uninterrupted run (with another rank count: within float rounding).
 *
 * I/O: each rank reads only the segments of its own micro-batches (plus its fixed groups of the
 * validation/test songs and of the batch-norm sample) on an I/O thread that prefetches the next step's segments while the
 * current step computes (train/train_data.c); segments read once stay in memory up to --cache-mb.
 * The normalisation pass before the first epoch reads each rank's share of that epoch, so the first
 * epoch finds its segments in the cache on any rank count (as one rank alone would).
 */
#include "train/train.h"
#include "train/train_data.h"
#include "mpi/blocks.h"
#include "mpi/mpi_util.h"
#include "nn/nn.h"
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TRAIN_EVAL_CHUNK 64
#define TRAIN_CKPT_VERSION 1
/* Fixed-point sums (--reduce exact): values are scaled by 2^32 and rounded to int64, whose addition
 * is associative, so a sum is the same bitwise however it is split over ranks. |value| < 2^24. */
#define TRAIN_FIX_SCALE 4294967296.0
#define TRAIN_FIX_LIMIT 16777216.0f


/* Everything --resume needs beyond the model and its optimizer state. */
typedef struct {
    int epoch;            /* 0-based epoch in progress (== epochs when done) */
    long step_in_epoch;   /* steps of that epoch already applied */
    double lr;
    double best_loss;
    int best_epoch;       /* 1-based, 0: none yet */
    int bad_epochs;       /* epochs since the best (early stop) */
    int plateau;          /* epochs since the best or the last lr decay (lr decay) */
    int stopped;          /* early stop reached */
    double tr_loss, tr_correct, tr_count, tr_seconds; /* the epoch in progress so far */
    char *log;            /* TSV rows so far */
    size_t log_len;
} train_state;

typedef struct {
    double loss, seg_acc, song_acc;
    long n_seg, n_song;
} train_eval;

/* Where a rank's time goes (the summary's stage table, summed over ranks): set-up (metadata, models,
 * reader), the norm pass (which reads the rank's first-epoch segments into its cache), then per step
 * the wait for the I/O thread's segments, forward + backward, the fixed-point conversions (--reduce
 * exact), the wait for the step's slowest rank, the gradient reduction itself and the update; then
 * per epoch batch-norm recalibration, validation/test, and writing model, checkpoint and log.
 * The slowest rank: a step's reduction cannot end before every rank has entered it, so a rank that
 * enters early waits inside it. Each rank times its step up to the reduction (segments, forward +
 * backward, fixed point); at the end of an epoch one allreduce (MAX) of those times gives every step's
 * slowest rank, and each rank moves its sum of (slowest - own) out of the reduction's time into
 * TR_ST_SLOW (charge_slowest). What stays in TR_ST_REDUCE is the collective's own time (the
 * slowest rank waits for nobody). Synchronous SGD pays the slowest of P ranks every step: noise on
 * any core (a VM's, the I/O thread's) costs more the more ranks there are; the 1-rank ceiling jobs
 * of bench/scaling.sh do not pay it. */
enum {
    TR_ST_SETUP, TR_ST_NORM, TR_ST_WAIT, TR_ST_COMPUTE, TR_ST_FIXED, TR_ST_SLOW, TR_ST_REDUCE, TR_ST_UPDATE, TR_ST_BN,
    TR_ST_EVAL, TR_ST_WRITE, TR_ST_TOTAL, TR_ST_N
};
static const char *const tr_stage_names[TR_ST_TOTAL] = {
    "set-up (metadata, model)", "norm pass (reads)", "wait for segments", "forward + backward", "fixed-point sums",
    "wait for the slowest rank", "gradient reduction (MPI)", "update", "batch-norm recalibration", "validation + test",
    "write model, checkpoint"};

typedef struct {
    MPI_Comm comm;
    /* rank and size of the data split (shares of batches, validation, norm and batch-norm passes,
     * parameter slices): the communicator's, except with --bench-share R/P, where one process does
     * rank R's share of a P-rank run (bench/scaling.sh's ceiling) and skips the exchanges that need
     * the other ranks. `lead` prints and writes: the communicator's rank 0 */
    int rank, size, lead;
    int bench; /* --bench-share: nothing is written; the reduce-scatter and gathers are local no-ops */
    train_cfg cfg;
    train_data data;
    train_reader *reader;
    nn_model *m, *best;
    train_state st;
    char *cmdline;
    char ckpt[4096], ckpt_tmp[4096];
    float *buf[2];     /* double-buffered segments of this rank's share of a step */
    size_t buf_segs;
    int *labels;
    float *mask;
    size_t *perm, *flat[2];
    double *pre, *pre_max; /* this epoch's steps: this rank's seconds up to the reduction; their MAX over ranks */
    int exact;         /* --reduce exact: fixed-point gradient sums, bitwise independent of the rank count */
    int64_t *acc;      /* fixed-point gradient buffer (exact mode) */
    /* exact mode: rank r converts and updates parameters [slice_off[r], slice_off[r] + slice_len[r])
     * of nn_params: its 1/P slice with the sharded update (then the slices are gathered), all of
     * them with --update replicated (one allreduce of everything, every rank updates everything) */
    int sharded;
    int *slice_len, *slice_off;
    /* --exchange auto on more than one rank, when a block fits --cache-mb: rank r holds training
     * segments [lo_r, hi_r) of the split (mpi/blocks.h), read once; every step each rank fetches its
     * share of the batch from their holders */
    mpi_blocks *blocks;
    /* the shares of a step: rank r computes batch positions [cut[r], cut[r + 1]), whole micro-batches.
     * cutv[cb] is the step in hand's; with --balance a decision writes the next step's into
     * cutv[cb ^ 1] (the one in hand stays valid until its exchange is finished) */
    int *cutv[2];
    int cb;
    /* --balance on (exact reduction, more than one rank, >= 2 micro-batches a rank): every BAL_EVERY
     * steps the shares follow the ranks' measured speed (rebalance) */
    int balance;
    int bal_cap;        /* the most micro-batches one rank takes */
    double bal_sec;     /* this rank's forward + backward + fixed-point seconds since the last decision */
    long bal_mb, bal_steps; /* its micro-batches and the steps since then */
    long bal_moves;     /* decisions that moved micro-batches */
    int64_t *bal_all;   /* 2P: every rank's (nanoseconds, micro-batches) of the last window */
    int *bal_heap;      /* P: rebalance's heap */
    int bal_hook_rank;  /* test hook ARTISTNET_TRAIN_TEST_SLOW=R:F: rank R is F times slower (it sleeps F - 1
                           times each micro-batch's forward + backward after it), whatever the machine's speed */
    double bal_hook_factor;
    int block_ready;
    int blocks_epoch;    /* the epoch whose rounds the exchange's buffers are reserved for (-1: none) */
    size_t cache_budget; /* a rank's memory for segments: --cache-mb, less where the node's ranks would
                            take more than CACHE_NODE_SHARE of its memory (cache_budget_for) */
    size_t reader_cache; /* the reader's cache budget: cache_budget less the block */
    long steps_per_epoch;
    int micro_total;   /* micro-batches per global batch */
    /* test hook: ARTISTNET_TRAIN_TEST_SIGNAL=KILL:S, TERM:S or STOP:S makes every rank raise
     * SIGKILL, SIGTERM or SIGSTOP once global step S (1-based, counted over epochs) is applied
     * (tests/test_train.sh: kill or stop the job mid-epoch at a known step, no sleeps) */
    int hook_sig;
    long hook_step;
    int bn_precise; /* --bn precise: population statistics before every validation (bn_recalibrate) */
    train_eval best_valid; /* the best epoch's validation figures, when that epoch ran in this run */
    int best_valid_here;
    double t[TR_ST_N]; /* seconds per stage on this rank (the summary's stage table) */
    double t_begin;    /* when the job started on this rank */
    double io_steps;   /* seconds of the I/O thread's reads during the training steps */
} trainer;

static const char *log_header =
    "epoch\tstep\tlr\ttrain_loss\ttrain_acc\tvalid_loss\tvalid_acc\tvalid_song_acc\tseconds\tsegments_per_s\tbest\n";

/* ------------------------------------------------------------------ small pieces */

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* the epoch's permutation of the training segments: a pure function of (seed, epoch) */
static void epoch_order(trainer *t, int epoch)
{
    size_t n = t->data.n_seg[SHARD_TRAIN];
    for (size_t i = 0; i < n; i++) t->perm[i] = i;
    uint64_t state = mix64(mix64((uint64_t)t->cfg.seed) ^ (0xE90C0000ULL + (uint64_t)epoch));
    shard_shuffle(t->perm, n, &state);
}

/* Large global batches (Goyal et al. 2017): --lr is the learning rate of a --lr-batch-segment batch;
 * a --batch B starts at that rate and reaches peak = lr * scale(B / lr_batch) (linear: B / lr_batch,
 * sqrt: its square root, none: 1) linearly over the first --warmup-epochs epochs, step by step. The
 * plateau decay acts on the peak (st.lr), the warm-up multiplies it. */
static double lr_scale(const train_cfg *c)
{
    const double r = (double)c->batch / c->lr_batch;
    return !strcmp(c->lr_scaling, "linear") ? r : !strcmp(c->lr_scaling, "sqrt") ? sqrt(r) : 1.0;
}

static double warmup_epochs(const train_cfg *c)
{
    return c->warmup >= 0 ? c->warmup : lr_scale(c) > 1.0 ? 3.0 : 0.0; /* -1: auto */
}

/* the learning rate of global step `step` (0-based) */
static double step_lr(const trainer *t, long step)
{
    const double w = warmup_epochs(&t->cfg) * (double)t->steps_per_epoch, k = lr_scale(&t->cfg);
    if (w <= 0 || (double)step >= w || k <= 0) return t->st.lr;
    const double f = (double)(step + 1) / w; /* the first step already moves off the base rate */
    return t->st.lr * (1.0 / k + (1.0 - 1.0 / k) * f);
}

/* batch position of micro-batch boundary k (the last micro-batch may be short) */
static int micro_pos(const trainer *t, long k)
{
    const long p = k * t->cfg.micro;
    return p < t->cfg.batch ? (int)p : t->cfg.batch;
}

/* equal shares of whole micro-batches (shard_range) into cut[0..size] */
static void equal_cut(const trainer *t, int *cut)
{
    for (int r = 0; r < t->size; r++) {
        size_t a, b;
        shard_range((size_t)t->micro_total, r, t->size, &a, &b);
        cut[r] = micro_pos(t, (long)a);
    }
    cut[t->size] = t->cfg.batch;
}

/* positions [*lo, *hi) of the global batch that this rank computes under shares `cut` */
static void my_share(const trainer *t, const int *cut, int *lo, int *hi)
{
    *lo = cut[t->rank];
    *hi = cut[t->rank + 1];
}

/* inverted-dropout multipliers for global batch positions lo..hi-1 of global step `step` */
static void dropout_mask(const trainer *t, long step, int lo, int hi, float *mask)
{
    const float p = (float)t->cfg.dropout, keep = 1.0f / (1.0f - p);
    for (int i = lo; i < hi; i++) {
        uint64_t s = mix64(mix64((uint64_t)t->cfg.seed * 0xD1B54A32D192ED03ULL ^ (uint64_t)step) + (uint64_t)i);
        float *mk = mask + (size_t)(i - lo) * NN_FEATURE_DIM;
        for (int j = 0; j < NN_FEATURE_DIM; j++) {
            float u = (float)(shard_rng_next(&s) >> 40) * (1.0f / 16777216.0f);
            mk[j] = u < p ? 0.0f : keep;
        }
    }
}

/* Correct training-mode predictions of the last nn_train_accumulate call (nn_train_logits). */
static long train_correct(const nn_model *m, const int *labels, int n)
{
    long c = 0;
    const int C = nn_n_classes(m);
    const float *logits = nn_train_logits(m);
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (z[k] > z[best]) best = k;
        c += best == labels[i];
    }
    return c;
}

/* The fixed-point pass runs once per micro-batch over the whole gradient buffer (365k values): built
 * for AVX-512, AVX2 and baseline x86-64, picked at load time (GCC function multiversioning). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define TRAIN_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define TRAIN_CLONES
#endif

/* largest |g| whose g * 2^32 is below 2^51, where the rounding trick of fixed_take holds */
#define TRAIN_FIX_FAST 524288.0f

TRAIN_CLONES static float abs_max(const float *g, size_t n, int *nan)
{
    float m = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const float a = fabsf(g[i]);
        m = a > m ? a : m;
        bad |= g[i] != g[i];
    }
    *nan = bad;
    return m;
}

/* acc (= 0 first when `first`) += round(g * 2^32), round half to even (llrint's), and g = 0; fails on
 * non-finite or huge values. For |g * 2^32| < 2^51, x + 1.5 * 2^52 lies in [2^52, 2^53), where
 * doubles are the integers, so the addition rounds x as llrint does and the integer is the low bits:
 * one vectorisable pass (llrint is a scalar call per value), bitwise the same sums. */
TRAIN_CLONES static int fixed_take(int64_t *restrict acc, float *restrict g, size_t n, int first, char *err,
                                   size_t errlen)
{
    int nan;
    const float mx = abs_max(g, n, &nan);
    if (nan || !(mx < TRAIN_FIX_LIMIT))
        return util_fail(err, errlen, UTIL_EFAIL,
                         "train: gradient not finite or above 2^24 (training diverged: lower --lr, or use --reduce float)");
    if (!(mx < TRAIN_FIX_FAST)) { /* rare: values of 2^19 and more */
        for (size_t i = 0; i < n; i++) {
            acc[i] = (first ? 0 : acc[i]) + (int64_t)llrint((double)g[i] * TRAIN_FIX_SCALE);
            g[i] = 0;
        }
        return 0;
    }
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    int64_t mbits;
    memcpy(&mbits, &magic, sizeof mbits);
    for (size_t i = 0; i < n; i++) {
        const double x = (double)g[i] * TRAIN_FIX_SCALE + magic;
        int64_t bits;
        memcpy(&bits, &x, sizeof bits);
        acc[i] = (first ? 0 : acc[i]) + (bits - mbits);
        g[i] = 0;
    }
    return 0;
}

static int grow_buffers(trainer *t, size_t segs, char *err, size_t errlen)
{
    if (segs <= t->buf_segs) return 0;
    for (int b = 0; b < 2; b++) {
        free(t->buf[b]);
        free(t->flat[b]);
        t->buf[b] = malloc(segs * (size_t)NN_SEG_SIZE * sizeof(float));
        t->flat[b] = malloc(segs * sizeof(size_t));
    }
    free(t->labels);
    free(t->mask);
    t->labels = malloc(segs * sizeof(int));
    t->mask = malloc(segs * NN_FEATURE_DIM * sizeof(float));
    t->buf_segs = segs;
    if (!t->buf[0] || !t->buf[1] || !t->flat[0] || !t->flat[1] || !t->labels || !t->mask) {
        t->buf_segs = 0;
        return util_fail(err, errlen, UTIL_EFAIL, "train: out of memory (%zu segment buffers)", segs);
    }
    return 0;
}

static void log_append(train_state *st, const char *row)
{
    size_t l = strlen(row);
    char *p = realloc(st->log, st->log_len + l + 1);
    if (!p) return;
    memcpy(p + st->log_len, row, l + 1);
    st->log = p;
    st->log_len += l;
}

/* rank 0: rewrites the whole --log file from the rows so far (so a resumed run has no duplicates) */
static int log_write(const trainer *t, char *err, size_t errlen)
{
    if (!t->cfg.log || !t->cfg.log[0] || !t->lead || t->bench) return 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", t->cfg.log);
    FILE *f = fopen(tmp, "w");
    if (!f) return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write: %s", tmp, strerror(errno));
    fputs(log_header, f);
    if (t->st.log) fputs(t->st.log, f);
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, t->cfg.log))
        return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write: %s", t->cfg.log, strerror(errno));
    return 0;
}

/* ------------------------------------------------------------------ evaluation and normalisation */

/* The split's segments cut into fixed GROUPS of whole songs, at most TRAIN_EVAL_CHUNK segments each
 * (a longer song is a group of its own): start[g] .. start[g + 1] - 1 are group g's positions in
 * `seg`. Returns the number of groups and sets *max_len. The cut depends only on the split, never on
 * the rank count: one forward pass per group gives every segment the same logits on any number of
 * ranks, whatever the BLAS kernels do with other GEMM shapes (OpenBLAS's Haswell SGEMM rounds an
 * output element differently when M changes, so a per-rank share would not). */
static size_t eval_groups(const size_t *seg, size_t n, size_t K, size_t *start, size_t *max_len)
{
    size_t g = 0, i = 0, len = 0;
    *max_len = 0;
    start[0] = 0;
    while (i < n) {
        size_t j = i, row = seg[i] / K;
        while (j < n && seg[j] / K == row) j++; /* the song at i: positions [i, j) */
        if (len > 0 && len + (j - i) > TRAIN_EVAL_CHUNK) { /* close the group before this song */
            start[++g] = i;
            len = 0;
        }
        len += j - i;
        if (len > *max_len) *max_len = len;
        i = j;
    }
    if (len > 0) start[++g] = n;
    return g;
}

/* Eval-mode loss, segment and song accuracy over a split. Ranks take contiguous runs of the split's
 * fixed groups (eval_groups), one forward pass per group; the loss is summed in fixed point and the
 * counts as integers, so every figure is bitwise the same on any rank count. A song's prediction is
 * the argmax of the mean of its segments' softmax probabilities (its segments are in one group). */
static int evaluate(trainer *t, nn_model *m, int split, train_eval *ev, char *err, size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    const train_data *d = &t->data;
    const size_t *seg = d->seg[split], n_all = d->n_seg[split], K = d->K;
    const int C = d->n_classes;
    size_t *start = malloc((n_all + 1) * sizeof *start), max_len = 0, n_groups = 0;
    int rc = start ? 0 : util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    if (!rc) n_groups = eval_groups(seg, n_all, K, start, &max_len);
    size_t g_lo = 0, g_hi = 0;
    shard_range(n_groups, t->rank, t->size, &g_lo, &g_hi);
    if (!rc) rc = grow_buffers(t, max_len > TRAIN_EVAL_CHUNK ? max_len : TRAIN_EVAL_CHUNK, err, errlen);
    float *logits = malloc((max_len + 1) * (size_t)C * sizeof(float));
    double *prob = calloc((size_t)C, sizeof(double));
    if (!rc && (!logits || !prob)) rc = util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    int64_t sums[5] = {0, 0, 0, 0, 0}; /* loss (fixed point), correct segments, segments, correct songs, songs */
    train_pieces pc; /* this rank's groups, the next read while this one runs */
    if (!rc) train_pieces_begin(&pc, t->reader, seg, 0, 0, start + g_lo, g_hi - g_lo, t->buf[0], t->buf[1], NULL);
    const float *xg;
    size_t c0, n;
    int more;
    while (!rc && (more = train_pieces_next(&pc, &xg, &c0, &n, err, errlen)) != 0) {
        rc = more < 0 ? more : nn_forward_logits(m, xg, (int)n, logits, err, errlen);
        if (rc) break;
        for (size_t i = 0; i < n; i++) {
            const size_t row = seg[c0 + i] / K;
            const int label = d->label[row];
            if (i == 0 || seg[c0 + i - 1] / K != row) memset(prob, 0, (size_t)C * sizeof(double)); /* a new song */
            const float *z = logits + i * (size_t)C;
            double se = 0;
            int arg = 0;
            for (int k = 1; k < C; k++)
                if (z[k] > z[arg]) arg = k;
            const double mx = z[arg];
            for (int k = 0; k < C; k++) se += exp((double)z[k] - mx);
            for (int k = 0; k < C; k++) prob[k] += exp((double)z[k] - mx) / se;
            sums[0] += (int64_t)llround(-((double)z[label] - mx - log(se)) * TRAIN_FIX_SCALE);
            sums[1] += arg == label;
            sums[2] += 1;
            if (i + 1 == n || seg[c0 + i + 1] / K != row) { /* the song's last segment */
                int best = 0;
                for (int k = 1; k < C; k++)
                    if (prob[k] > prob[best]) best = k;
                sums[3] += best == label;
                sums[4] += 1;
            }
        }
    }
    if (rc) train_reader_wait(t->reader, NULL, 0); /* nothing may stay in flight */
    free(start);
    free(logits);
    free(prob);
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    if (rc) return rc;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, sums, 5, MPI_INT64_T, MPI_SUM, t->comm));
    ev->n_seg = (long)sums[2];
    ev->n_song = (long)sums[4];
    ev->loss = sums[2] > 0 ? (double)sums[0] / TRAIN_FIX_SCALE / (double)sums[2] : NAN;
    ev->seg_acc = sums[2] > 0 ? (double)sums[1] / (double)sums[2] : NAN;
    ev->song_acc = sums[4] > 0 ? (double)sums[3] / (double)sums[4] : NAN;
    return 0;
}

/* --bn precise: the batch-norm statistics of m set to population statistics of a fixed sample of
 * training segments in eval mode, layer by layer: layer l's statistics are measured with layers
 * 1..l-1 already recalibrated. A rank keeps its groups' input of the current block (nn_bn_sums_at,
 * nn_bn_advance: the bits of nn_bn_layer_sums), so each block runs twice over the sample (its
 * sums, then with its new statistics into the next block's input) instead of blocks 1..l-1 again
 * for every layer l: ~2 forward passes of the sample instead of ~4, for 1/P of the sample's
 * block-2 activations in memory (18 KB a segment). The sample: --bn-sample segments evenly spaced
 * over the training split (all when 0 or more), cut into fixed groups of TRAIN_EVAL_CHUNK that ranks
 * take in contiguous runs, one nn call per group. Each group's sums land in a slot of their own
 * (the MPI_Allreduce adds zeros to them: exact) and are added in group order on every rank, so the
 * statistics have the same bits on any rank count. Variance: unbiased, as the running average's. */
static size_t group_len(size_t total, size_t g, size_t rows) { return total - g * rows < rows ? total - g * rows : rows; }

/* segments in the precise-BN sample: --bn-sample, or the whole training split when that is smaller or 0 */
static size_t bn_sample_size(const trainer *t)
{
    const size_t n_train = t->data.n_seg[SHARD_TRAIN];
    return t->cfg.bn_sample > 0 && (size_t)t->cfg.bn_sample < n_train ? (size_t)t->cfg.bn_sample : n_train;
}

/* Layer l's sums over this rank's groups [g_lo, g_hi): from the raw segments (read by the I/O
 * thread, the next group's while this one computes) for layer 1, from the kept block inputs `in`
 * after. advance_to: also run block l on each group into the next block's inputs (nn_bn_advance). */
static int bn_pass(trainer *t, nn_model *m, int l, const size_t *idx, size_t S, size_t g_lo, size_t g_hi,
                   const float *in, float *advance_to, double *sums, int cout, char *err, size_t errlen)
{
    const size_t G_ROWS = TRAIN_EVAL_CHUNK, per_in = nn_bn_input_floats(m, l), per_out = nn_bn_input_floats(m, l + 1);
    const size_t off0 = g_lo * G_ROWS, end = g_hi > g_lo ? (g_hi - 1) * G_ROWS + group_len(S, g_hi - 1, G_ROWS) : off0;
    int rc = 0;
    train_pieces pc; /* layer 1: the groups' segments, the next read while this one computes */
    if (l == 1) train_pieces_begin(&pc, t->reader, idx + off0, end - off0, G_ROWS, NULL, 0, t->buf[0], t->buf[1], NULL);
    for (size_t g = g_lo; g < g_hi && !rc; g++) {
        const int n = (int)group_len(S, g, G_ROWS);
        const float *x = in + (g * G_ROWS - off0) * per_in;
        size_t first, len;
        if (l == 1 && (rc = train_pieces_next(&pc, &x, &first, &len, err, errlen)) <= 0) {
            if (!rc) rc = util_fail(err, errlen, UTIL_EFAIL, "train: batch-norm sample: fewer groups read than asked");
            break;
        }
        rc = 0;
        if (sums) rc = nn_bn_sums_at(m, l, x, n, sums + g * 2 * (size_t)cout, err, errlen);
        if (!rc && advance_to) rc = nn_bn_advance(m, l, x, n, advance_to + (g * G_ROWS - off0) * per_out, err, errlen);
    }
    if (rc && l == 1) train_reader_wait(t->reader, NULL, 0);
    return rc;
}

static int bn_recalibrate(trainer *t, nn_model *m, char *err, size_t errlen)
{
    const train_data *d = &t->data;
    const size_t n_train = d->n_seg[SHARD_TRAIN], G_ROWS = TRAIN_EVAL_CHUNK, S = bn_sample_size(t);
    if (S < 2) return 0;
    const size_t G = (S + G_ROWS - 1) / G_ROWS;
    size_t g_lo, g_hi;
    shard_range(G, t->rank, t->size, &g_lo, &g_hi);
    /* this rank's groups' inputs of the current block (kept[l % 2] holds block l's) */
    const size_t mine = g_hi > g_lo ? (g_hi - 1) * G_ROWS + group_len(S, g_hi - 1, G_ROWS) - g_lo * G_ROWS : 0;
    size_t cap[2] = {0, 0};
    for (int l = 2; l <= NN_N_CONV; l++)
        if (nn_bn_input_floats(m, l) > cap[l % 2]) cap[l % 2] = nn_bn_input_floats(m, l);
    size_t *idx = malloc(S * sizeof *idx);
    double *sums = malloc(G * 2 * NN_FEATURE_DIM * sizeof *sums);
    float *kept[2] = {malloc(mine * cap[0] * sizeof(float) + 1), malloc(mine * cap[1] * sizeof(float) + 1)};
    int rc = idx && sums && kept[0] && kept[1] ? grow_buffers(t, G_ROWS, err, errlen)
                                              : util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    for (size_t i = 0; !rc && i < S; i++) idx[i] = d->seg[SHARD_TRAIN][(size_t)((double)i * (double)n_train / (double)S)];
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    float *bn = nn_bn_stats(m, NULL);
    for (int l = 1; l <= NN_N_CONV && !rc; l++) {
        int cout;
        nn_conv_shape(l, NULL, NULL, &cout, NULL, NULL);
        memset(sums, 0, G * 2 * (size_t)cout * sizeof *sums);
        rc = bn_pass(t, m, l, idx, S, g_lo, g_hi, kept[l % 2], NULL, sums, cout, err, errlen);
        rc = mpi_util_agree(t->comm, rc, err, errlen);
        if (rc) break;
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, sums, (int)(G * 2 * (size_t)cout), MPI_DOUBLE, MPI_SUM, t->comm));
        int frames;
        nn_conv_shape(l, NULL, NULL, NULL, &frames, NULL);
        const double N = (double)S * frames;
        size_t nm, nv;
        float *rm = bn + nn_tensor(m, l, "moving_mean", &nm), *rv = bn + nn_tensor(m, l, "moving_variance", &nv);
        for (int c = 0; c < cout; c++) {
            double s1 = 0, s2 = 0;
            for (size_t g = 0; g < G; g++) {
                s1 += sums[g * 2 * (size_t)cout + c];
                s2 += sums[g * 2 * (size_t)cout + cout + c];
            }
            const double mean = s1 / N, var = s2 / N - mean * mean;
            rm[c] = (float)mean;
            rv[c] = (float)(var > 0 ? var * N / (N - 1) : 0);
        }
        /* block l with its new statistics: the next layer's inputs (no one waits: local work) */
        if (l < NN_N_CONV) rc = bn_pass(t, m, l, idx, S, g_lo, g_hi, kept[l % 2], kept[(l + 1) % 2], NULL, cout, err, errlen);
        rc = mpi_util_agree(t->comm, rc, err, errlen);
    }
    free(idx);
    free(sums);
    free(kept[0]);
    free(kept[1]);
    return rc;
}

/* The training segments this rank computes in the first epoch (its share of every global batch of
 * epoch 0's order), then its shard_range share of those no batch of epoch 0 takes. Returns how many
 * (the caller frees *out). */
static size_t first_epoch_share(trainer *t, size_t **out)
{
    const size_t n = t->data.n_seg[SHARD_TRAIN], B = (size_t)t->cfg.batch, used = (size_t)t->steps_per_epoch * B;
    int lo, hi;
    size_t r_lo, r_hi, k = 0;
    my_share(t, t->cutv[t->cb], &lo, &hi);
    shard_range(n - used, t->rank, t->size, &r_lo, &r_hi);
    size_t *v = malloc(((size_t)t->steps_per_epoch * (size_t)(hi - lo) + (r_hi - r_lo) + 1) * sizeof *v);
    *out = v;
    if (!v) return 0;
    epoch_order(t, 0);
    for (long s = 0; s < t->steps_per_epoch; s++)
        for (int i = lo; i < hi; i++) v[k++] = t->data.seg[SHARD_TRAIN][t->perm[(size_t)s * B + (size_t)i]];
    for (size_t i = used + r_lo; i < used + r_hi; i++) v[k++] = t->data.seg[SHARD_TRAIN][t->perm[i]];
    return k;
}

/* Adds n segments (flat indices `flat`) to the norm's fixed-point (2^20) sums of values and squares
 * and its count: exact in any split. A non-finite or absurd segment is an input error naming it. */
static int norm_add(const trainer *t, const float *x, const size_t *flat, size_t n, int64_t s[3], char *err,
                    size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        double a = 0, q = 0; /* per segment, then into the running sums */
        const float *xs = x + i * (size_t)NN_SEG_SIZE;
        for (size_t j = 0; j < NN_SEG_SIZE; j++) {
            a += xs[j];
            q += (double)xs[j] * xs[j];
        }
        if (!isfinite(a) || !isfinite(q) || fabs(a) > 1e12 || q > 1e12)
            return util_fail(err, errlen, UTIL_EINPUT, "%s: /mel row %zu segment %zu has non-finite values", t->data.path,
                             flat[i] / t->data.K, flat[i] % t->data.K);
        s[0] += (int64_t)llround(a * 1048576.0);
        s[1] += (int64_t)llround(q * 1048576.0);
        s[2] += NN_SEG_SIZE;
    }
    return 0;
}

/* Reads this rank's block of training segments (mpi/blocks.h) into it, without caching them in the
 * reader too, adding them to the norm's sums s when s is given. Not collective. */
static int load_block(trainer *t, int64_t *s, char *err, size_t errlen)
{
    const size_t lo = mpi_blocks_lo(t->blocks), n = mpi_blocks_hi(t->blocks) - lo;
    const size_t *seg = t->data.seg[SHARD_TRAIN] + lo;
    int rc = 0, more;
    train_reader_set_cache_max(t->reader, 0);
    train_pieces pc; /* straight into the block, a piece read while the last is summed */
    train_pieces_begin(&pc, t->reader, seg, n, TRAIN_EVAL_CHUNK, NULL, 0, NULL, NULL, mpi_blocks_data(t->blocks));
    const float *x;
    size_t c0, len;
    while (!rc && (more = train_pieces_next(&pc, &x, &c0, &len, err, errlen)) != 0)
        rc = more < 0 ? more : s ? norm_add(t, x, seg + c0, len, s, err, errlen) : 0;
    if (rc) train_reader_wait(t->reader, NULL, 0);
    train_reader_set_cache_max(t->reader, t->reader_cache);
    t->block_ready = rc == 0;
    return rc;
}

/* Mean and standard deviation of every training mel value: each rank sums its block of the training
 * segments while it reads it (exchange mode), or else the segments it will compute in the first epoch
 * (first_epoch_share: they are then in its segment cache when that epoch starts, so a rank reads from
 * the file what one rank alone would read); per-segment sums in double added in fixed point so the
 * result does not depend on the rank count or the split, one MPI_Allreduce. */
static int compute_norm(trainer *t, float *mean, float *std, char *err, size_t errlen)
{
    int64_t s[3] = {0, 0, 0}; /* fixed point (2^20) sums of values and squares, count: exact in any split */
    int rc;
    if (t->blocks) {
        rc = load_block(t, s, err, errlen); /* the block: every training segment once over the ranks */
    } else {
        size_t *seg = NULL;
        const size_t hi = first_epoch_share(t, &seg);
        rc = seg ? grow_buffers(t, TRAIN_EVAL_CHUNK, err, errlen) : util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
        train_pieces pc;
        if (!rc) train_pieces_begin(&pc, t->reader, seg, hi, TRAIN_EVAL_CHUNK, NULL, 0, t->buf[0], t->buf[1], NULL);
        const float *x;
        size_t c0, n;
        int more;
        while (!rc && (more = train_pieces_next(&pc, &x, &c0, &n, err, errlen)) != 0)
            rc = more < 0 ? more : norm_add(t, x, seg + c0, n, s, err, errlen);
        if (rc) train_reader_wait(t->reader, NULL, 0);
        free(seg);
    }
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    if (rc) return rc;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, s, 3, MPI_INT64_T, MPI_SUM, t->comm));
    const double n = (double)s[2], mu = (double)s[0] / 1048576.0 / n, var = (double)s[1] / 1048576.0 / n - mu * mu;
    *mean = (float)mu;
    *std = (float)sqrt(var > 1e-12 ? var : 1e-12);
    return 0;
}

/* ------------------------------------------------------------------ checkpoint */

/* the settings that determine the trajectory: a resumed run must use the same */
static void trajectory_key(const trainer *t, char *buf, size_t n)
{
    const train_cfg *c = &t->cfg;
    snprintf(buf, n,
             "mels=%016" PRIx64 " label=%s split=%s%s seed=%d batch=%d micro=%d lr=%.17g momentum=%.17g wd=%.17g "
             "dropout=%.17g lr_decay=%.17g lr_patience=%d min_lr=%.17g reduce=%s init=%s bn=%s bn_sample=%d "
             "lr_batch=%d lr_scaling=%s warmup=%.17g",
             t->data.meta_hash, c->label_col, t->data.split_given ? "column" : c->split, "", c->seed, c->batch,
             c->micro, c->lr, c->momentum, c->wd, c->dropout, c->lr_decay, c->lr_patience, c->min_lr,
             c->reduce, c->init && c->init[0] ? c->init : "-", c->bn, c->bn_sample, c->lr_batch, c->lr_scaling,
             warmup_epochs(c));
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* rank 0: OUT.ckpt.tmp (model + optimizer + /train_state), fsync, rename to OUT.ckpt */
static int checkpoint_write(trainer *t, char *err, size_t errlen)
{
    if (!t->lead || t->bench) return 0;
    int rc = nn_save(t->m, t->ckpt_tmp, NN_SAVE_OPTIMIZER, err, errlen);
    if (rc) return rc;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(t->ckpt_tmp, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot reopen", t->ckpt_tmp);
    hid_t g = H5Gcreate2(f, "train_state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot create /train_state", t->ckpt_tmp);
    const train_state *st = &t->st;
    char key[1024];
    trajectory_key(t, key, sizeof key);
    const char *p = t->ckpt_tmp;
    if (!rc) rc = train_h5_attr_long(g, "version", TRAIN_CKPT_VERSION, p, err, errlen);
    if (!rc) rc = train_h5_attr_string(g, "key", key, p, err, errlen);
    if (!rc) rc = train_h5_attr_long(g, "epoch", st->epoch, p, err, errlen);
    if (!rc) rc = train_h5_attr_long(g, "step_in_epoch", st->step_in_epoch, p, err, errlen);
    if (!rc) rc = train_h5_attr_double(g, "lr", st->lr, p, err, errlen);
    if (!rc) rc = train_h5_attr_double(g, "best_loss", st->best_loss, p, err, errlen);
    if (!rc) rc = train_h5_attr_long(g, "best_epoch", st->best_epoch, p, err, errlen);
    if (!rc) rc = train_h5_attr_long(g, "bad_epochs", st->bad_epochs, p, err, errlen);
    if (!rc) rc = train_h5_attr_long(g, "plateau", st->plateau, p, err, errlen);
    if (!rc) rc = train_h5_attr_long(g, "stopped", st->stopped, p, err, errlen);
    if (!rc) rc = train_h5_attr_double(g, "epoch_loss_sum", st->tr_loss, p, err, errlen);
    if (!rc) rc = train_h5_attr_double(g, "epoch_correct", st->tr_correct, p, err, errlen);
    if (!rc) rc = train_h5_attr_double(g, "epoch_segments", st->tr_count, p, err, errlen);
    if (!rc) rc = train_h5_attr_double(g, "epoch_seconds", st->tr_seconds, p, err, errlen);
    if (!rc) rc = train_h5_attr_long(g, "ranks", t->size, p, err, errlen);
    if (!rc) rc = train_h5_write_bytes(g, "log", st->log ? st->log : "", st->log_len, p, err, errlen);
    size_t np, nb;
    const float *bp = nn_params(t->best, &np), *bb = nn_bn_stats(t->best, &nb);
    if (!rc) rc = train_h5_write_floats(g, "best_params", bp, np, p, err, errlen);
    if (!rc) rc = train_h5_write_floats(g, "best_bn_stats", bb, nb, p, err, errlen);
    if (g >= 0) H5Gclose(g);
    if (H5Fclose(f) < 0 && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot close", p);
    if (rc) return rc;
    if (fsync_path(t->ckpt_tmp) || rename(t->ckpt_tmp, t->ckpt))
        return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot replace: %s", t->ckpt, strerror(errno));
    return 0;
}

static void copy_floats(float *dst, const float *src, size_t n) { memcpy(dst, src, n * sizeof(float)); }

/* every rank: loads OUT.ckpt into t->m, t->best and t->st. Returns 1 when there is no checkpoint. */
static int checkpoint_read(trainer *t, char *err, size_t errlen)
{
    if (access(t->ckpt, F_OK) != 0) return 1;
    nn_model *m = NULL;
    int rc = nn_load(t->ckpt, t->cfg.micro, &m, err, errlen);
    if (rc) return rc;
    if (nn_n_classes(m) != t->data.n_classes) {
        nn_free(m);
        return util_fail(err, errlen, UTIL_EUSAGE, "%s: checkpoint has %d classes, %s has %d", t->ckpt,
                         nn_n_classes(m), t->cfg.mels, t->data.n_classes);
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(t->ckpt, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = f >= 0 ? H5Gopen2(f, "train_state", H5P_DEFAULT) : H5I_INVALID_HID;
    if (g < 0) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: not a train checkpoint (no /train_state)", t->ckpt);
    const char *p = t->ckpt;
    char *key = NULL, want[1024];
    long long v = 0;
    train_state *st = &t->st;
    if (!rc) rc = train_h5_get_long(g, "version", &v, p, err, errlen);
    if (!rc && v != TRAIN_CKPT_VERSION)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: checkpoint version %lld, expected %d", p, v, TRAIN_CKPT_VERSION);
    if (!rc) rc = train_h5_get_string(g, "key", &key, p, err, errlen);
    trajectory_key(t, want, sizeof want);
    if (!rc && strcmp(key, want))
        rc = util_fail(err, errlen, UTIL_EUSAGE,
                       "%s: the checkpoint was made with other settings or data; resume with the same options "
                       "(checkpoint: %s; now: %s) or remove it",
                       p, key, want);
    if (!rc) rc = train_h5_get_long(g, "epoch", &v, p, err, errlen), st->epoch = (int)v;
    if (!rc) rc = train_h5_get_long(g, "step_in_epoch", &v, p, err, errlen), st->step_in_epoch = (long)v;
    if (!rc) rc = train_h5_get_double(g, "lr", &st->lr, p, err, errlen);
    if (!rc) rc = train_h5_get_double(g, "best_loss", &st->best_loss, p, err, errlen);
    if (!rc) rc = train_h5_get_long(g, "best_epoch", &v, p, err, errlen), st->best_epoch = (int)v;
    if (!rc) rc = train_h5_get_long(g, "bad_epochs", &v, p, err, errlen), st->bad_epochs = (int)v;
    if (!rc) rc = train_h5_get_long(g, "plateau", &v, p, err, errlen), st->plateau = (int)v;
    if (!rc) rc = train_h5_get_long(g, "stopped", &v, p, err, errlen), st->stopped = (int)v;
    if (!rc) rc = train_h5_get_double(g, "epoch_loss_sum", &st->tr_loss, p, err, errlen);
    if (!rc) rc = train_h5_get_double(g, "epoch_correct", &st->tr_correct, p, err, errlen);
    if (!rc) rc = train_h5_get_double(g, "epoch_segments", &st->tr_count, p, err, errlen);
    if (!rc) rc = train_h5_get_double(g, "epoch_seconds", &st->tr_seconds, p, err, errlen);
    free(st->log);
    st->log = NULL;
    if (!rc) rc = train_h5_read_bytes(g, "log", &st->log, &st->log_len, p, err, errlen);
    size_t np, nb;
    float *bp = nn_params(t->best, &np), *bb = nn_bn_stats(t->best, &nb);
    if (!rc) rc = train_h5_read_floats(g, "best_params", bp, np, p, err, errlen);
    if (!rc) rc = train_h5_read_floats(g, "best_bn_stats", bb, nb, p, err, errlen);
    free(key);
    if (g >= 0) H5Gclose(g);
    if (f >= 0) H5Fclose(f);
    if (rc) {
        nn_free(m);
        return rc;
    }
    /* the model being trained: parameters, BN statistics, norm, momentum and step from the file */
    float *dst = nn_params(t->m, &np);
    copy_floats(dst, nn_params(m, &nb), np);
    dst = nn_bn_stats(t->m, &np);
    copy_floats(dst, nn_bn_stats(m, &nb), np);
    dst = nn_momentum(t->m, &np);
    copy_floats(dst, nn_momentum(m, &nb), np);
    nn_set_step(t->m, nn_step(m));
    float mu, sd;
    nn_get_norm(m, &mu, &sd);
    nn_set_norm(t->m, mu, sd);
    nn_set_norm(t->best, mu, sd);
    nn_set_bn_epsilon(t->m, nn_bn_epsilon(m));
    nn_set_bn_epsilon(t->best, nn_bn_epsilon(m));
    nn_free(m);
    return 0;
}

static void snapshot_best(trainer *t)
{
    size_t n1, n2;
    float *dst = nn_params(t->best, &n1);
    copy_floats(dst, nn_params(t->m, &n2), n1);
    dst = nn_bn_stats(t->best, &n1);
    copy_floats(dst, nn_bn_stats(t->m, &n2), n1);
    nn_set_step(t->best, nn_step(t->m));
}

/* ------------------------------------------------------------------ model.h5 */

typedef struct {
    train_eval valid, test;
    int final;
} model_info;

/* rank 0: the best model -> OUT.tmp with the training attributes, renamed to OUT */
static int model_write(trainer *t, const model_info *info, char *err, size_t errlen)
{
    if (!t->lead || t->bench) return 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", t->cfg.out);
    int rc = nn_save(t->best, tmp, 0, err, errlen);
    if (rc) return rc;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot reopen", tmp);
    const train_cfg *c = &t->cfg;
    const train_data *d = &t->data;
    char hash[32];
    snprintf(hash, sizeof hash, "fnv1a64:%016" PRIx64, d->meta_hash);
#define A_D(name, v) \
    if (!rc) rc = train_h5_attr_double(f, name, v, tmp, err, errlen)
#define A_L(name, v) \
    if (!rc) rc = train_h5_attr_long(f, name, v, tmp, err, errlen)
#define A_S(name, v) \
    if (!rc) rc = train_h5_attr_string(f, name, v, tmp, err, errlen)
    A_S("train_command_line", t->cmdline ? t->cmdline : "");
    A_S("train_mels", c->mels);
    A_S("train_mels_checksum", hash);
    A_S("train_label_column", c->label_col);
    A_S("train_split", d->split_given ? "column" : c->split);
    A_S("train_init", c->init && c->init[0] ? c->init : "");
    A_L("train_seed", c->seed);
    A_L("train_ranks", t->size);
    A_L("train_batch", c->batch);
    A_L("train_micro_batch", c->micro);
    A_D("train_lr", c->lr);
    A_L("train_lr_batch", c->lr_batch);
    A_S("train_lr_scaling", c->lr_scaling);
    A_D("train_lr_peak", c->lr * lr_scale(c));
    A_D("train_warmup_epochs", warmup_epochs(c));
    A_D("train_lr_final", t->st.lr);
    A_D("train_lr_decay", c->lr_decay);
    A_L("train_lr_patience", c->lr_patience);
    A_D("train_momentum", c->momentum);
    A_D("train_weight_decay", c->wd);
    A_D("train_dropout", c->dropout);
    A_S("train_bn", t->bn_precise ? "precise" : "running");
    A_L("train_bn_sample", t->bn_precise ? (long long)bn_sample_size(t) : 0);
    A_L("train_patience", c->patience);
    A_L("train_epochs", c->epochs);
    A_L("train_epochs_run", t->st.epoch);
    A_L("train_best_epoch", t->st.best_epoch);
    A_L("train_steps_per_epoch", t->steps_per_epoch);
    A_L("train_segments", (long long)d->n_seg[SHARD_TRAIN]);
    A_L("valid_segments", (long long)d->n_seg[SHARD_VALID]);
    A_L("test_segments", (long long)d->n_seg[SHARD_TEST]);
    A_L("train_songs", (long long)d->n_song[SHARD_TRAIN]);
    A_L("valid_songs", (long long)d->n_song[SHARD_VALID]);
    A_L("test_songs", (long long)d->n_song[SHARD_TEST]);
    A_L("train_failed_rows", d->n_failed);
    A_D("valid_loss", info->valid.loss);
    A_D("valid_accuracy", info->valid.seg_acc);
    A_D("valid_song_accuracy", info->valid.song_acc);
    if (info->final) {
        A_D("test_loss", info->test.loss);
        A_D("test_accuracy", info->test.seg_acc);
        A_D("test_song_accuracy", info->test.song_acc);
    }
#undef A_D
#undef A_L
#undef A_S
    if (H5Fclose(f) < 0 && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot close", tmp);
    if (!rc && rename(tmp, t->cfg.out))
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: cannot replace: %s", t->cfg.out, strerror(errno));
    return rc;
}

/* ------------------------------------------------------------------ the training loop */

/* The SGD step on the rank's slice of the parameters (all of them when not sharded); sharded, one
 * MPI_Allgatherv of the updated slices into every rank's parameters (MPI_IN_PLACE: a rank's own
 * slice is already there); then the batch-norm running statistics and the step count from the
 * reduced tail. The step is elementwise, so the parameters are bitwise those of nn_update on the
 * whole buffer; each rank converts and updates 1/P of them instead of all. The momentum of other
 * ranks' slices is stale on a rank until gather_momentum (before a checkpoint). */
static int exact_update(trainer *t, const nn_sgd *sgd, char *err, size_t errlen)
{
    const size_t lo = (size_t)t->slice_off[t->rank], hi = lo + (size_t)t->slice_len[t->rank];
    const double t0 = util_now();
    int rc = nn_update_params(t->m, sgd, lo, hi, err, errlen);
    const double t1 = util_now();
    if (t->sharded && !t->bench) { /* the gather is communication: the reduction stage's */
        size_t np;
        float *params = nn_params(t->m, &np);
        int mrc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, params, t->slice_len, t->slice_off, MPI_FLOAT,
                                 t->comm);
        if (mrc != MPI_SUCCESS && !rc) rc = mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Allgatherv(params)", mrc);
    }
    const double t2 = util_now();
    if (!rc) nn_update_finish(t->m);
    t->t[TR_ST_REDUCE] += t2 - t1;
    t->t[TR_ST_UPDATE] += (t1 - t0) + (util_now() - t2);
    return rc; /* nn_update_params fails on every rank alike (the tail is the same everywhere) */
}

/* Collective: every rank's momentum slice onto rank 0, which writes the checkpoint (sharded update). */
static int gather_momentum(trainer *t, char *err, size_t errlen)
{
    if (!t->sharded || t->bench) return 0;
    size_t n;
    float *mom = nn_momentum(t->m, &n);
    const int r = t->rank;
    MPI_CHECK(MPI_Gatherv(r == 0 ? MPI_IN_PLACE : mom + t->slice_off[r], t->slice_len[r], MPI_FLOAT, mom, t->slice_len,
                          t->slice_off, MPI_FLOAT, 0, t->comm));
    return 0;
}

static void blocks_progress(void *b) { mpi_blocks_progress(b); }

/* --cache-mb is a rank's; a node's ranks together keep within CACHE_NODE_SHARE of the memory its first
 * rank finds available at set-up (util_mem_available: MemAvailable, or the job's cgroup limit less its
 * use, where Slurm confines a job), so 64 ranks of a many-core node do not ask for 64 x 2 GB. The
 * smallest budget over all ranks is everyone's (whether a block fits must be the same decision on every
 * rank); a warning names it. What is cached changes reads, not the model. Collective. */
#define CACHE_NODE_SHARE 0.6
static int cache_budget_for(trainer *t, char *err, size_t errlen)
{
    const double want = (double)t->cfg.cache_mb * 1048576.0;
    double mine = want, avail = 0;
    MPI_Comm node;
    MPI_CHECK(MPI_Comm_split_type(t->comm, MPI_COMM_TYPE_SHARED, t->rank, MPI_INFO_NULL, &node));
    const int local = mpi_util_size(node);
    if (mpi_util_rank(node) == 0) avail = util_mem_available();
    int mrc = MPI_Bcast(&avail, 1, MPI_DOUBLE, 0, node);
    MPI_Comm_free(&node);
    if (mrc != MPI_SUCCESS) return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Bcast(available memory)", mrc);
    if (avail > 0 && want * local > CACHE_NODE_SHARE * avail) mine = floor(CACHE_NODE_SHARE * avail / local);
    double all[2] = {mine, -local}, out[2]; /* one MIN: the smallest budget, the most ranks a node */
    MPI_CHECK(MPI_Allreduce(all, out, 2, MPI_DOUBLE, MPI_MIN, t->comm));
    out[1] = -out[1];
    t->cache_budget = (size_t)out[0];
    if (t->lead && out[0] < want)
        fprintf(stderr, "train: warning: --cache-mb %d on each of up to %.0f ranks a node is over %.0f%% of a node's available "
                "memory (%.0f MB on rank 0's); each rank keeps at most %.0f MB of segments (the same model; more reads)\n",
                t->cfg.cache_mb, out[1], 100 * CACHE_NODE_SHARE, avail / 1048576.0, out[0] / 1048576.0);
    return UTIL_OK;
}

/* Collective, after an attempt at blocks that returned rc on this rank: when it failed on any rank
 * (out of memory), every rank reads its own segments instead (warning), the same model bitwise.
 * 1 when it gave them up. */
static int blocks_given_up(trainer *t, int rc, char *err, size_t errlen)
{
    if (!mpi_util_agree(t->comm, rc, err, errlen)) return 0;
    if (t->lead) fprintf(stderr, "train: warning: %s; each rank reads its own segments from epoch %d on\n", err, t->st.epoch + 1);
    mpi_blocks_free(t->blocks);
    t->blocks = NULL;
    t->reader_cache = t->cache_budget; /* the block's share of the budget is the cache's again */
    if (t->reader) train_reader_set_cache_max(t->reader, t->reader_cache);
    return 1;
}

/* Collective: the step exchange's send and receive buffers for the epoch whose order is in t->perm,
 * sized for its busiest step on any rank (mpi_blocks_need; a few times a step's share on one rank),
 * grown when an epoch needs more than the ones before, never inside a step. 1 when blocks were
 * given up (a rank could not allocate). Test hook: ARTISTNET_TRAIN_TEST_BLOCKS_OOM=R:E fails rank R's
 * allocation at epoch E (1-based; R alone: the first epoch). */
static int blocks_for_epoch(trainer *t, char *err, size_t errlen)
{
    if (!t->blocks || t->blocks_epoch == t->st.epoch) return 0; /* given up, or this epoch's are in hand */
    t->blocks_epoch = t->st.epoch;
    mpi_blocks_need(t->blocks, t->perm, (size_t)t->cfg.batch, (size_t)t->steps_per_epoch, t->cutv[t->cb]);
    const char *oom = getenv("ARTISTNET_TRAIN_TEST_BLOCKS_OOM"), *at = oom ? strchr(oom, ':') : NULL;
    const int hook = oom && *oom && atoi(oom) == t->rank && (at ? atoi(at + 1) : 1) == t->st.epoch + 1;
    const int rc = hook ? util_fail(err, errlen, UTIL_EFAIL, "blocks: out of memory for the rounds' buffers (test hook)")
                        : mpi_blocks_reserve(t->blocks, err, errlen);
    return blocks_given_up(t, rc, err, errlen);
}

/* Collective, every rank at the same step: steps [s0, s1) of this epoch's reduction time split into
 * the wait for each step's slowest rank and the reduction itself (see TR_ST_SLOW). Set-up only on
 * error (the times stay in the reduction's stage). */
static void charge_slowest(trainer *t, long s0, long s1)
{
    if (mpi_util_size(t->comm) < 2 || t->bench || s1 <= s0) return;
    const int n = (int)(s1 - s0);
    if (MPI_Allreduce(t->pre + s0, t->pre_max + s0, n, MPI_DOUBLE, MPI_MAX, t->comm) != MPI_SUCCESS) return;
    double w = 0;
    for (long s = s0; s < s1; s++) w += t->pre_max[s] - t->pre[s];
    if (w > t->t[TR_ST_REDUCE]) w = t->t[TR_ST_REDUCE]; /* clocks: a rank never waits longer than it spent */
    t->t[TR_ST_REDUCE] -= w;
    t->t[TR_ST_SLOW] += w;
}

/* test hook: a slower core (ARTISTNET_TRAIN_TEST_SLOW) */
static void hook_sleep(double sec)
{
    if (!(sec > 0)) return;
    struct timespec ts = {(time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* Collective at the top of a step, on every rank alike: the next step's shares (--balance). Every
 * rank gives its seconds and micro-batches of forward + backward + fixed point since the last
 * decision (one MPI_Allgather of two integers a rank; nanoseconds, so that every rank decides on the
 * same integers); the new shares minimise the slowest rank's predicted time: each rank starts with
 * one micro-batch and the rest go one at a time to the rank that would finish it first (a heap; at
 * most bal_cap a rank; ties to the lower rank). They are taken only when that prediction beats the
 * current shares' by BAL_GAIN, so noise does not move them back and forth. Which rank computes a
 * micro-batch changes nothing in the model: each micro-batch's gradient is summed in fixed point
 * (exact integers, any order), its batch-norm statistics are its own, dropout follows the batch
 * position. Returns 1 when the shares moved (into cutv[cb ^ 1]), 0 when not, or an MPI error. */
#define BAL_EVERY 8
#define BAL_GAIN 0.04
static int rebalance(trainer *t, char *err, size_t errlen)
{
    const int P = t->size, M = t->micro_total;
    int64_t mine[2] = {(int64_t)llround(t->bal_sec * 1e9), (int64_t)t->bal_mb};
    int mrc = MPI_Allgather(mine, 2, MPI_INT64_T, t->bal_all, 2, MPI_INT64_T, t->comm);
    if (mrc != MPI_SUCCESS) return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Allgather(balance)", mrc);
    t->bal_sec = 0;
    t->bal_mb = t->bal_steps = 0;
    /* nanoseconds per micro-batch of each rank (a rank that measured none: the mean of the others) */
    int64_t *ns = t->bal_all, sum = 0, n = 0; /* in place: ns[r] replaces the pair (2r, 2r + 1) */
    for (int r = 0; r < P; r++) {
        const int64_t sec = t->bal_all[2 * r], mb = t->bal_all[2 * r + 1];
        ns[r] = mb > 0 ? sec / mb : -1;
        if (ns[r] >= 0) sum += ns[r], n++;
    }
    if (n == 0) return 0;
    for (int r = 0; r < P; r++)
        if (ns[r] < 0) ns[r] = sum / n;
    const int *cur = t->cutv[t->cb];
    int *next = t->cutv[t->cb ^ 1];
    /* next[] first holds counts; the current shares' counts from their micro-batch boundaries */
    int64_t t_cur = 0, t_new = 0;
    for (int r = 0; r < P; r++) {
        const int64_t c = (cur[r + 1] + t->cfg.micro - 1) / t->cfg.micro - (cur[r] + t->cfg.micro - 1) / t->cfg.micro;
        if (c * ns[r] > t_cur) t_cur = c * ns[r];
        next[r] = 1;
    }
    /* a binary min-heap of ranks by the time they would finish one more, (next + 1) ns, ties by rank:
     * O(M log P) a decision (P x M would be milliseconds at 1,024 ranks and --batch 32768) */
    int *heap = t->bal_heap, h = 0;
#define BAL_KEY_LESS(a, b) ((next[a] + 1) * ns[a] < (next[b] + 1) * ns[b] || \
                            ((next[a] + 1) * ns[a] == (next[b] + 1) * ns[b] && (a) < (b)))
    for (int r = 0; r < P; r++) { /* sift up */
        int i = h++;
        for (; i > 0 && BAL_KEY_LESS(r, heap[(i - 1) / 2]); i = (i - 1) / 2) heap[i] = heap[(i - 1) / 2];
        heap[i] = r;
    }
    for (int k = P; k < M && h > 0; k++) {
        const int r = heap[0];
        next[r]++;
        int x = r; /* r's key grew: sift it down from the root, or drop it at the cap */
        if (next[r] >= t->bal_cap) x = heap[--h];
        int i = 0;
        for (;;) {
            int c = 2 * i + 1;
            if (c >= h) break;
            if (c + 1 < h && BAL_KEY_LESS(heap[c + 1], heap[c])) c++;
            if (!BAL_KEY_LESS(heap[c], x)) break;
            heap[i] = heap[c];
            i = c;
        }
        if (h > 0) heap[i] = x;
    }
#undef BAL_KEY_LESS
    for (int r = 0; r < P; r++)
        if (next[r] * ns[r] > t_new) t_new = next[r] * ns[r];
    const int moved = (double)t_new < (1.0 - BAL_GAIN) * (double)t_cur;
    long k = 0;
    for (int r = 0; r <= P; r++) { /* counts -> boundaries (or back to the current ones) */
        const int c = r < P ? next[r] : 0;
        next[r] = moved ? micro_pos(t, k) : cur[r];
        k += c;
    }
    if (moved) t->bal_moves++;
    return moved;
}

/* One epoch from st.step_in_epoch. Returns 0, UTIL_EINTR after checkpointing mid-epoch, or an
 * error. `done_steps` counts the steps of this run (progress, --max-steps). */
static int run_epoch(trainer *t, util_progress *prog, long *done_steps, char *err, size_t errlen)
{
    const int epoch = t->st.epoch;
    epoch_order(t, epoch);
    blocks_for_epoch(t, err, errlen);
    int lo, hi;
    my_share(t, t->cutv[t->cb], &lo, &hi);
    int mine = hi - lo;
    /* buffers for the largest share a rank may take (--balance moves shares within the epoch) */
    const int most = t->balance ? micro_pos(t, t->bal_cap) : mine;
    int rc = grow_buffers(t, (size_t)(most > TRAIN_EVAL_CHUNK ? most : TRAIN_EVAL_CHUNK), err, errlen);
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    if (rc) return rc;
    const size_t *train = t->data.seg[SHARD_TRAIN];
    const int B = t->cfg.batch;
    nn_train_opts opt = {t->cfg.micro, (float)t->cfg.dropout, 0, NULL, NULL, NULL};
    if (t->blocks) { /* the next step's segments move while this one computes */
        opt.between_layers = blocks_progress;
        opt.between_arg = t->blocks;
    }
    nn_sgd sgd = {t->st.lr, t->cfg.momentum, 1, t->cfg.wd, NULL, NULL};
    size_t ng;
    float *grads = nn_grads(t->m, &ng);
    int b = 0;
    double t_start = util_now(), io0 = train_reader_get_stats(t->reader).io_seconds;
    long s0 = t->st.step_in_epoch;
    /* the segments of step s for this rank: read by the I/O thread, or, with blocks, fetched from
     * their holders (a collective round every rank takes part in, with or without a share) */
    /* the next step's shares: cutv[nb] (cutv[cb] unless --balance moved them) */
    int nb = t->cb, lo_n = lo, hi_n = hi, mine_n = mine;
#define FILL(s, which) \
    for (int i = 0; i < mine_n; i++) t->flat[which][i] = train[t->perm[(size_t)(s) * B + lo_n + i]]
#define DRAIN() /* the next step's segments in flight (every rank leaves at the same step) */ \
    (t->blocks ? (void)mpi_blocks_finish(t->blocks, t->buf[b ^ 1], NULL, 0) : (void)train_reader_wait(t->reader, NULL, 0))
#define FETCH(s, which) \
    (t->blocks ? mpi_blocks_start(t->blocks, t->perm + (size_t)(s) * B, t->cutv[nb], err, errlen) \
               : (mine_n > 0 ? (train_reader_start(t->reader, t->flat[which], (size_t)mine_n, t->buf[which]), 0) : 0))
    if (s0 < t->steps_per_epoch) {
        FILL(s0, 0);
        rc = FETCH(s0, 0);
        if (rc) return rc; /* MPI failed: nothing in flight */
    }
    for (long s = s0; s < t->steps_per_epoch; s++) {
        double tw = util_now();
        int lrc = t->blocks ? mpi_blocks_finish(t->blocks, t->buf[b], err, errlen) : train_reader_wait(t->reader, err, errlen);
        my_share(t, t->cutv[t->cb], &lo, &hi); /* this step's share */
        mine = hi - lo;
        if (t->balance && s > s0) t->bal_steps++; /* an epoch's first step is not timed (the run's compiles kernels) */
        if (t->balance && t->bal_steps >= BAL_EVERY && s + 1 < t->steps_per_epoch) {
            /* collective, every rank at this step (a failed read above is agreed on after the reduction) */
            int brc = rebalance(t, err, errlen);
            if (brc < 0) {
                if (!lrc) lrc = brc;
            } else if (brc == 1) {
                nb = t->cb ^ 1;
                if (t->blocks) { /* the rounds left, with these shares, may need larger buffers */
                    mpi_blocks_need(t->blocks, t->perm + (size_t)(s + 1) * B, (size_t)B,
                                    (size_t)(t->steps_per_epoch - s - 1), t->cutv[nb]);
                    blocks_given_up(t, mpi_blocks_reserve(t->blocks, err, errlen), err, errlen);
                }
            }
        }
        my_share(t, t->cutv[nb], &lo_n, &hi_n);
        mine_n = hi_n - lo_n;
        if (s + 1 < t->steps_per_epoch && (!lrc || t->blocks)) { /* prefetch the next step */
            FILL(s + 1, b ^ 1);
            int frc = FETCH(s + 1, b ^ 1);
            if (!lrc) lrc = frc;
        }
        t->t[TR_ST_WAIT] += util_now() - tw;
        int64_t v[4] = {0, 0, 0, 0}; /* loss (fixed point), correct, failed ranks, interrupted ranks */
        const long gstep = nn_step(t->m);
        if (!lrc && mine > 0) {
            for (int i = 0; i < mine; i++) t->labels[i] = t->data.label[t->flat[b][i] / t->data.K];
            if (t->cfg.dropout > 0) dropout_mask(t, gstep, lo, hi, t->mask);
            if (t->exact) {
                /* one call per micro-batch, each micro-batch's gradient added in fixed point */
                for (int o = 0; o < mine && !lrc; o += t->cfg.micro) {
                    int len = mine - o < t->cfg.micro ? mine - o : t->cfg.micro;
                    double loss = 0, tc = util_now();
                    opt.dropout_mask = t->cfg.dropout > 0 ? t->mask + (size_t)o * NN_FEATURE_DIM : NULL;
                    lrc = nn_train_accumulate(t->m, t->buf[b] + (size_t)o * NN_SEG_SIZE, t->labels + o, len, &opt,
                                              &loss, err, errlen);
                    if (t->rank == t->bal_hook_rank) /* test: a slower core */
                        hook_sleep((t->bal_hook_factor - 1) * (util_now() - tc));
                    double tf = util_now();
                    t->t[TR_ST_COMPUTE] += tf - tc;
                    if (!lrc) lrc = fixed_take(t->acc, grads, ng, o == 0, err, errlen);
                    if (!lrc) {
                        v[0] += (int64_t)llround(loss * TRAIN_FIX_SCALE);
                        v[1] += train_correct(t->m, t->labels + o, len);
                    }
                    if (lrc) nn_grads_zero(t->m); /* fixed_take left them zero */
                    const double te = util_now();
                    t->t[TR_ST_FIXED] += te - tf;
                    if (t->balance && s > s0) {
                        t->bal_sec += te - tc;
                        t->bal_mb++;
                    }
                }
            } else {
                double loss = 0, tc = util_now();
                opt.dropout_mask = t->cfg.dropout > 0 ? t->mask : NULL;
                lrc = nn_train_accumulate(t->m, t->buf[b], t->labels, mine, &opt, &loss, err, errlen);
                t->t[TR_ST_COMPUTE] += util_now() - tc;
                if (!lrc) {
                    v[0] = (int64_t)llround(loss * TRAIN_FIX_SCALE);
                    v[1] = train_correct(t->m, t->labels, mine);
                }
            }
        } else if (t->exact)
            memset(t->acc, 0, ng * sizeof *t->acc);
        v[2] = lrc ? 1 : 0;
        v[3] = util_interrupted() ? 1 : 0;
        double tr = util_now();
        t->pre[s] = tr - tw;
        int mrc;
        if (t->exact) {
            /* sharded: (1) every rank needs the batch-norm tail and the step's bookkeeping v[]: one
             * small int64 allreduce of [n_params, ng) and v; (2) the parameters' gradients: a
             * reduce-scatter leaves each rank the sums of its own slice only (integer sums: the same
             * bits however they are split), which it converts and applies; the updated slices are
             * gathered after the update (exact_update). Replicated: one allreduce of everything. */
            memcpy(t->acc + ng, v, sizeof v);
            size_t np;
            nn_params(t->m, &np); /* the gradient buffer: the parameters' layout, then the tail */
            if (t->sharded) {
                mrc = MPI_Allreduce(MPI_IN_PLACE, t->acc + np, (int)(ng - np) + 4, MPI_INT64_T, MPI_SUM, t->comm);
                if (mrc == MPI_SUCCESS && !t->bench)
                    mrc = MPI_Reduce_scatter(MPI_IN_PLACE, t->acc, t->slice_len, MPI_INT64_T, MPI_SUM, t->comm);
                else if (mrc == MPI_SUCCESS) /* one process: its slice to the front, as the reduce-scatter leaves it */
                    memmove(t->acc, t->acc + t->slice_off[t->rank], (size_t)t->slice_len[t->rank] * sizeof *t->acc);
            } else
                mrc = MPI_Allreduce(MPI_IN_PLACE, t->acc, (int)ng + 4, MPI_INT64_T, MPI_SUM, t->comm);
            double tx = util_now();
            t->t[TR_ST_REDUCE] += tx - tr;
            memcpy(v, t->acc + ng, sizeof v);
            const size_t lo = (size_t)t->slice_off[t->rank], n = (size_t)t->slice_len[t->rank];
            for (size_t i = 0; i < n; i++) grads[lo + i] = (float)((double)t->acc[i] * (1.0 / TRAIN_FIX_SCALE));
            for (size_t i = np; i < ng; i++) grads[i] = (float)((double)t->acc[i] * (1.0 / TRAIN_FIX_SCALE));
            t->t[TR_ST_FIXED] += util_now() - tx;
        } else {
            /* --reduce float: all gradients, BN statistics and counts in one float allreduce; the
             * bookkeeping is int64 (the loss in fixed point) */
            mrc = MPI_Allreduce(MPI_IN_PLACE, grads, (int)ng, MPI_FLOAT, MPI_SUM, t->comm);
            if (mrc == MPI_SUCCESS) mrc = MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_INT64_T, MPI_SUM, t->comm);
            t->t[TR_ST_REDUCE] += util_now() - tr;
        }
        if (mrc != MPI_SUCCESS && !lrc) lrc = mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Allreduce(grads)", mrc);
        if (lrc && !v[2]) v[2] = 1; /* this rank's reduction failed */
        if (v[2] > 0) {
            DRAIN();
            rc = mpi_util_agree(t->comm, lrc, err, errlen); /* the failing rank's code and message */
            return rc ? rc : util_fail(err, errlen, UTIL_EFAIL, "train: a rank failed at step %ld", gstep);
        }
        sgd.lr = step_lr(t, gstep);
        if (t->exact)
            rc = exact_update(t, &sgd, err, errlen); /* charges its update and gather stages itself */
        else {
            double tu = util_now();
            rc = nn_update(t->m, &sgd, err, errlen);
            t->t[TR_ST_UPDATE] += util_now() - tu;
        }
        if (rc) {
            DRAIN();
            return mpi_util_agree(t->comm, rc, err, errlen);
        }
        t->st.tr_loss += (double)v[0] / TRAIN_FIX_SCALE;
        t->st.tr_correct += (double)v[1];
        t->st.tr_count += B;
        t->st.step_in_epoch = s + 1;
        t->cb = nb; /* the next step's shares are the ones in hand now */
        (*done_steps)++;
        util_progress_update(prog, (long)epoch * t->steps_per_epoch + s + 1, 0);
        if (t->hook_sig && nn_step(t->m) == t->hook_step) raise(t->hook_sig);
        b ^= 1;
        int stop_now = v[3] > 0 || (t->cfg.max_steps > 0 && *done_steps >= t->cfg.max_steps);
        if (stop_now && s + 1 < t->steps_per_epoch) {
            /* SIGTERM (or --max-steps): the step in hand is done; checkpoint mid-epoch and leave */
            DRAIN();
            charge_slowest(t, s0, s + 1);
            t->st.tr_seconds += util_now() - t_start;
            rc = gather_momentum(t, err, errlen);
            if (!rc) rc = checkpoint_write(t, err, errlen);
            rc = mpi_util_agree(t->comm, rc, err, errlen);
            if (!rc)
                snprintf(err, errlen, "stopped at epoch %d step %ld/%ld; checkpoint %s", epoch + 1, s + 1,
                         t->steps_per_epoch, t->ckpt);
            return rc ? rc : UTIL_EINTR;
        }
    }
#undef FILL
#undef FETCH
#undef DRAIN
    charge_slowest(t, s0, t->steps_per_epoch);
    t->st.tr_seconds += util_now() - t_start;
    t->io_steps += train_reader_get_stats(t->reader).io_seconds - io0;
    return 0;
}

/* The summary's stage table (rank-seconds summed over ranks, util_print_stages) and a per-step line:
 * the mean rank's and the slowest rank's time per step in each step stage. The wait for the slowest
 * rank is what lock-step costs beyond the ranks' own work (imbalance, a slower core, or noise that
 * hits a different rank each step: then every rank's forward + backward has the same mean and still
 * each step waits for its slowest); when the mean grows with the rank count at a fixed share of work
 * per rank, the cores slow each other down (memory bandwidth, shared caches, the I/O thread). */
static void print_stages(const trainer *t, long steps)
{
    double sum[TR_ST_N], max[TR_ST_N];
    train_reader_stats rs = train_reader_get_stats(t->reader);
    double io[2] = {rs.io_seconds, t->io_steps}, io_sum[2], io_max[2];
    MPI_Reduce(t->t, sum, TR_ST_N, MPI_DOUBLE, MPI_SUM, 0, t->comm);
    MPI_Reduce(t->t, max, TR_ST_N, MPI_DOUBLE, MPI_MAX, 0, t->comm);
    MPI_Reduce(io, io_sum, 2, MPI_DOUBLE, MPI_SUM, 0, t->comm);
    MPI_Reduce(io, io_max, 2, MPI_DOUBLE, MPI_MAX, 0, t->comm);
    if (!t->lead || t->cfg.quiet) return;
    util_print_stages(stdout, "train", tr_stage_names, sum, TR_ST_TOTAL, 0, -1, -1);
    printf("  %-26s %9.3f s  (I/O thread, beside the stages)\n", "read segments", io_sum[0]);
    if (steps > 0) {
        const double P = mpi_util_size(t->comm), ms = 1000.0 / (double)steps;
        printf("train: per step (%ld steps, %d segments each, %d ranks), mean rank / slowest rank: forward + backward "
               "%.2f / %.2f ms, fixed-point %.2f / %.2f ms, wait for the slowest rank %.2f / %.2f ms, reduction (MPI) %.2f / "
               "%.2f ms, update %.2f / %.2f ms, wait for segments %.2f / %.2f ms (I/O thread %.2f / %.2f ms)\n",
               steps, t->cfg.batch, mpi_util_size(t->comm), sum[TR_ST_COMPUTE] / P * ms, max[TR_ST_COMPUTE] * ms,
               sum[TR_ST_FIXED] / P * ms, max[TR_ST_FIXED] * ms, sum[TR_ST_SLOW] / P * ms, max[TR_ST_SLOW] * ms,
               sum[TR_ST_REDUCE] / P * ms, max[TR_ST_REDUCE] * ms,
               sum[TR_ST_UPDATE] / P * ms, max[TR_ST_UPDATE] * ms, sum[TR_ST_WAIT] / P * ms, max[TR_ST_WAIT] * ms,
               io_sum[1] / P * ms, io_max[1] * ms);
    }
    fflush(stdout);
}

static int train_run(trainer *t, char *err, size_t errlen)
{
    train_cfg *c = &t->cfg;
    train_data *d = &t->data;
    int rc;
    const size_t n_train = d->n_seg[SHARD_TRAIN];
    t->steps_per_epoch = (long)(n_train / (size_t)c->batch);
    t->micro_total = (c->batch + c->micro - 1) / c->micro;
    if (t->steps_per_epoch < 1)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: %zu training segments, fewer than one batch (--batch %d)",
                         c->mels, n_train, c->batch);
    t->perm = malloc((n_train + 1) * sizeof *t->perm);
    t->pre = calloc((size_t)t->steps_per_epoch, sizeof *t->pre);
    t->pre_max = calloc((size_t)t->steps_per_epoch, sizeof *t->pre_max);
    t->cutv[0] = malloc(((size_t)t->size + 1) * sizeof *t->cutv[0]);
    t->cutv[1] = malloc(((size_t)t->size + 1) * sizeof *t->cutv[1]);
    t->bal_all = malloc(((size_t)t->size * 2 + 1) * sizeof *t->bal_all);
    t->bal_heap = malloc(((size_t)t->size + 1) * sizeof *t->bal_heap);
    if (!t->perm || !t->pre || !t->pre_max || !t->cutv[0] || !t->cutv[1] || !t->bal_all || !t->bal_heap)
        return util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    equal_cut(t, t->cutv[0]);
    equal_cut(t, t->cutv[1]);
    t->cb = 0;
    t->balance = !strcmp(c->balance, "on") && t->exact && !t->bench && mpi_util_size(t->comm) > 1 &&
                 t->micro_total >= 2 * t->size;
    t->bal_cap = (t->micro_total + t->size - 1) / t->size * 2;
    if (t->bal_cap > t->micro_total) t->bal_cap = t->micro_total;
    t->bal_hook_rank = -1;
    const char *slow = getenv("ARTISTNET_TRAIN_TEST_SLOW"), *ms = slow ? strchr(slow, ':') : NULL;
    if (slow && *slow && ms) {
        t->bal_hook_rank = atoi(slow);
        t->bal_hook_factor = atof(ms + 1);
    }

    /* models: the one being trained, the best so far */
    rc = nn_make(d->n_classes, c->micro, &t->m, err, errlen);
    if (!rc) rc = nn_make(d->n_classes, 1, &t->best, err, errlen);
    if (!rc) rc = nn_set_artists(t->m, (const char *const *)d->artists, d->n_classes, err, errlen);
    if (!rc) rc = nn_set_artists(t->best, (const char *const *)d->artists, d->n_classes, err, errlen);
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    if (rc) return rc;
    size_t ng;
    nn_grads(t->m, &ng);
    t->acc = malloc((ng + 4) * sizeof *t->acc); /* the gradients, then a step's 4 bookkeeping counts */
    t->slice_len = malloc((size_t)t->size * sizeof *t->slice_len);
    t->slice_off = malloc((size_t)t->size * sizeof *t->slice_off);
    if (!t->acc || !t->slice_len || !t->slice_off) rc = util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    t->sharded = t->exact && t->size > 1 && !strcmp(c->update, "sharded");
    for (int r = 0; !rc && r < t->size; r++) { /* the slices of the parameters each rank updates */
        size_t np, a = 0, b;
        nn_params(t->m, &np);
        b = np;
        if (t->sharded) shard_range(np, r, t->size, &a, &b);
        t->slice_off[r] = (int)a;
        t->slice_len[r] = (int)(b - a);
    }
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    if (rc) return rc;
    char source[4400];
    snprintf(source, sizeof source, "artistnet train --mels %s", c->mels);
    nn_set_source(t->m, source);
    nn_set_source(t->best, source);
    nn_init(t->m, (uint64_t)c->seed);

    /* the training segments in blocks, one per rank, exchanged every step: when a block fits the
     * memory budget (the same decision on every rank: it depends on the largest block) */
    rc = cache_budget_for(t, err, errlen);
    if (rc) return rc;
    const size_t seg_bytes = (size_t)NN_SEG_SIZE * sizeof(float), budget = t->cache_budget;
    const size_t block_bytes = mpi_blocks_max_block(n_train, t->size) * seg_bytes;
    t->reader_cache = budget;
    const char *no_blocks = budget < (size_t)c->cache_mb << 20 ? "does not fit the node's memory (warning above)" : "does not fit --cache-mb";
    if (t->size > 1 && !strcmp(c->exchange, "auto") && block_bytes <= budget) {
        rc = mpi_blocks_make(t->comm, n_train, NN_SEG_SIZE, t->rank, t->size, &t->blocks, err, errlen);
        if (!rc) t->reader_cache = budget - (mpi_blocks_hi(t->blocks) - mpi_blocks_lo(t->blocks)) * seg_bytes;
        if (blocks_given_up(t, rc, err, errlen)) no_blocks = "could not be allocated";
    }
    rc = train_reader_open(c->mels, d->n_rows, d->K, t->reader_cache, &t->reader, err, errlen);
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    if (rc) return rc;

    t->st.lr = c->lr * lr_scale(c); /* the peak; step_lr warms up to it */
    t->st.best_loss = INFINITY;
    int resumed = 0;
    if (c->resume) {
        rc = checkpoint_read(t, err, errlen);
        resumed = rc == 0;
        if (rc == 1) rc = 0; /* no checkpoint: start fresh (Slurm requeue) */
        rc = mpi_util_agree(t->comm, rc, err, errlen);
        if (rc) return rc;
    }
    if (!resumed) {
        float mu, sd;
        if (c->init && c->init[0]) {
            /* fine-tuning: conv blocks, BN statistics and the input normalisation of the pretrained
             * model (its features expect its normalisation); a new dense layer for these artists */
            nn_model *src = NULL;
            rc = nn_load(c->init, 1, &src, err, errlen);
            if (!rc) nn_copy_features(t->m, src);
            if (!rc && t->lead && strcmp(nn_frontend_of(src)->resampler, d->resampler))
                fprintf(stderr, "train: warning: %s expects the %s resampler, %s was made with %s; the fine-tuned "
                        "model records %s\n", c->init, nn_frontend_of(src)->resampler, c->mels, d->resampler,
                        d->resampler);
            nn_free(src);
            rc = mpi_util_agree(t->comm, rc, err, errlen);
            if (rc) return rc;
        } else {
            const double tn = util_now();
            rc = compute_norm(t, &mu, &sd, err, errlen);
            t->t[TR_ST_NORM] = util_now() - tn;
            if (rc) return rc;
            nn_set_norm(t->m, mu, sd);
        }
        nn_get_norm(t->m, &mu, &sd);
        nn_set_norm(t->best, mu, sd);
        nn_set_bn_epsilon(t->best, nn_bn_epsilon(t->m));
        snapshot_best(t);
    }
    if (t->blocks) { /* the exchange's buffers for the first epoch to run (each epoch checks its own) */
        epoch_order(t, t->st.epoch);
        if (blocks_for_epoch(t, err, errlen)) no_blocks = "could not be allocated";
    }
    if (t->blocks && !t->block_ready) { /* resumed or fine-tuning: no norm pass read the block */
        const double tn = util_now();
        rc = mpi_util_agree(t->comm, load_block(t, NULL, err, errlen), err, errlen);
        t->t[TR_ST_NORM] += util_now() - tn;
        if (rc) return rc;
    }
    /* the model expects the front end its mels were made with (mels.h5 attribute resampler) */
    snprintf(nn_frontend_of(t->m)->resampler, sizeof nn_frontend_of(t->m)->resampler, "%s", d->resampler);
    snprintf(nn_frontend_of(t->best)->resampler, sizeof nn_frontend_of(t->best)->resampler, "%s", d->resampler);
    if (t->lead && !c->quiet) {
        float mu, sd;
        nn_get_norm(t->m, &mu, &sd);
        printf("train: %s: %d artists; segments train %zu / valid %zu / test %zu (songs %zu / %zu / %zu)%s; "
               "%ld failed rows skipped, %ld unlabelled\n",
               c->mels, d->n_classes, d->n_seg[0], d->n_seg[1], d->n_seg[2], d->n_song[0], d->n_song[1], d->n_song[2],
               d->split_given ? " from /split" : "", d->n_failed, d->n_unlabelled);
        if (t->bench)
            printf("train: --bench-share %d/%d: rank %d's share of a %d-rank run on this one process, without the "
                   "exchanges between ranks (its norm and batch-norm statistics are its share's; nothing is written)\n",
                   t->rank, t->size, t->rank, t->size);
        printf("train: %d rank%s, batch %d = %d micro-batches of %d, %ld steps/epoch, norm mean %.6g std %.6g\n",
               t->size, t->size > 1 ? "s" : "", c->batch, t->micro_total, c->micro, t->steps_per_epoch, mu, sd);
        if (t->blocks)
            printf("train: training segments held in blocks of 1/%d a rank (%.1f MiB, read once) and exchanged every "
                   "step over MPI (--exchange auto)\n",
                   t->size, (double)(mpi_blocks_hi(t->blocks) - mpi_blocks_lo(t->blocks)) * NN_SEG_SIZE * 4 / 1048576.0);
        else if (t->size > 1)
            printf("train: training segments read by each rank (--exchange %s%s%s)\n", c->exchange,
                   strcmp(c->exchange, "off") ? ": a block of 1/P " : "", strcmp(c->exchange, "off") ? no_blocks : "");
        const int most = (t->micro_total + t->size - 1) / t->size;
        if (t->micro_total % t->size)
            printf("train: warning: %d micro-batches a step over %d ranks%s: the busiest computes %d, so the ranks are "
                   "at most %.0f%% busy; a --batch that is a multiple of %d (--micro-batch x ranks) keeps all busy\n",
                   t->micro_total, t->size, t->size > t->micro_total ? " (some have none)" : "", most,
                   100.0 * t->micro_total / ((double)most * t->size), c->micro * t->size);
        if (resumed)
            printf("train: resumed from %s at epoch %d step %ld (lr %g, best epoch %d)\n", t->ckpt, t->st.epoch + 1,
                   t->st.step_in_epoch, t->st.lr, t->st.best_epoch);
        fflush(stdout);
    }

    util_progress prog;
    util_progress_start(&prog, "train", "steps", (long)c->epochs * t->steps_per_epoch, t->lead && !c->quiet);
    long done_steps = 0;
    const int have_valid = d->n_song[SHARD_VALID] > 0;
    t->t[TR_ST_SETUP] = util_now() - t->t_begin - t->t[TR_ST_NORM];
    while (t->st.epoch < c->epochs && !t->st.stopped) {
        double t0 = util_now() - t->st.tr_seconds; /* wall time of the epoch incl. a resumed part */
        rc = run_epoch(t, &prog, &done_steps, err, errlen);
        if (rc) {
            util_progress_finish(&prog, (long)t->st.epoch * t->steps_per_epoch + t->st.step_in_epoch);
            return rc;
        }
        const double train_seconds = t->st.tr_seconds;
        double tb = util_now();
        if (t->bn_precise) {
            rc = bn_recalibrate(t, t->m, err, errlen);
            if (rc) return rc;
        }
        double te = util_now();
        t->t[TR_ST_BN] += te - tb;
        train_eval ev = {NAN, NAN, NAN, 0, 0};
        if (have_valid) {
            rc = evaluate(t, t->m, SHARD_VALID, &ev, err, errlen);
            if (rc) return rc;
        }
        t->t[TR_ST_EVAL] += util_now() - te;
        const double lr_used = step_lr(t, nn_step(t->m) - 1); /* the epoch's last step */
        int improved = 0;
        if (!have_valid || ev.loss < t->st.best_loss) { /* no validation songs: the last epoch is the best */
            improved = 1;
            t->st.best_loss = have_valid ? ev.loss : t->st.best_loss;
            t->st.best_epoch = t->st.epoch + 1;
            t->st.bad_epochs = 0;
            t->st.plateau = 0;
            snapshot_best(t);
            t->best_valid = ev; /* the best model is this one: no second pass over the validation songs */
            t->best_valid_here = have_valid;
        } else {
            t->st.bad_epochs++;
            t->st.plateau++;
            if (c->lr_patience > 0 && t->st.plateau >= c->lr_patience && c->lr_decay < 1.0) {
                double nl = t->st.lr * c->lr_decay;
                t->st.lr = nl > c->min_lr ? nl : c->min_lr;
                t->st.plateau = 0;
            }
            if (c->patience > 0 && t->st.bad_epochs >= c->patience) t->st.stopped = 1;
        }
        const double secs = util_now() - t0;
        const double tr_loss = t->st.tr_loss / t->st.tr_count, tr_acc = t->st.tr_correct / t->st.tr_count;
        const double rate = t->st.tr_count / (train_seconds > 0 ? train_seconds : 1e-9);
        char row[512];
        snprintf(row, sizeof row, "%d\t%ld\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.3f\t%.1f\t%d\n", t->st.epoch + 1,
                 nn_step(t->m), lr_used, tr_loss, tr_acc, ev.loss, ev.seg_acc, ev.song_acc, secs, rate, improved);
        log_append(&t->st, row);
        if (t->lead && !c->quiet) {
            util_progress_update(&prog, (long)(t->st.epoch + 1) * t->steps_per_epoch, 1);
            fprintf(stderr, "\n");
            printf("epoch %d/%d: train loss %.4f acc %.3f | valid loss %.4f acc %.3f song %.3f | lr %.3g | %.1f s, %.0f "
                   "segments/s%s%s\n",
                   t->st.epoch + 1, c->epochs, tr_loss, tr_acc, ev.loss, ev.seg_acc, ev.song_acc, lr_used, secs, rate,
                   improved ? " *" : "", t->st.stopped ? " (early stop)" : "");
            fflush(stdout);
        }
        t->st.epoch++;
        t->st.step_in_epoch = 0;
        t->st.tr_loss = t->st.tr_correct = t->st.tr_count = t->st.tr_seconds = 0;
        double tw = util_now();
        rc = gather_momentum(t, err, errlen);
        if (!rc) rc = log_write(t, err, errlen);
        if (!rc && improved) {
            model_info info = {ev, {NAN, NAN, NAN, 0, 0}, 0};
            rc = model_write(t, &info, err, errlen);
        }
        if (!rc) rc = checkpoint_write(t, err, errlen);
        rc = mpi_util_agree(t->comm, rc, err, errlen);
        t->t[TR_ST_WRITE] += util_now() - tw;
        if (rc) return rc;
        int intr = util_interrupted() ? 1 : 0;
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &intr, 1, MPI_INT, MPI_MAX, t->comm));
        if (intr && t->st.epoch < c->epochs && !t->st.stopped) {
            snprintf(err, errlen, "stopped after epoch %d; checkpoint %s", t->st.epoch, t->ckpt);
            return UTIL_EINTR;
        }
    }
    util_progress_finish(&prog, (long)t->st.epoch * t->steps_per_epoch);

    /* the best model on the validation and test songs */
    model_info info = {{NAN, NAN, NAN, 0, 0}, {NAN, NAN, NAN, 0, 0}, 1};
    double te = util_now();
    if (t->best_valid_here) /* evaluated as it was saved: the same figures bitwise (fixed groups and sums) */
        info.valid = t->best_valid;
    else if (have_valid) /* the best epoch ran before a resume */
        rc = evaluate(t, t->best, SHARD_VALID, &info.valid, err, errlen);
    if (!rc) rc = evaluate(t, t->best, SHARD_TEST, &info.test, err, errlen);
    if (rc) return rc;
    double tw = util_now();
    t->t[TR_ST_EVAL] += tw - te;
    rc = model_write(t, &info, err, errlen);
    rc = mpi_util_agree(t->comm, rc, err, errlen);
    if (rc) return rc;
    t->t[TR_ST_WRITE] += util_now() - tw;
    t->t[TR_ST_TOTAL] = util_now() - t->t_begin;
    print_stages(t, done_steps);
    if (t->lead && !c->quiet) {
        train_reader_stats rs = train_reader_get_stats(t->reader);
        printf("train: best epoch %d of %d: valid song accuracy %.4f (%ld songs), segment %.4f, loss %.4f\n",
               t->st.best_epoch, t->st.epoch, info.valid.song_acc, info.valid.n_song, info.valid.seg_acc,
               info.valid.loss);
        printf("train: test song accuracy %.4f (%ld songs, chance %.4f), segment accuracy %.4f, loss %.4f\n",
               info.test.song_acc, info.test.n_song, 1.0 / d->n_classes, info.test.seg_acc, info.test.loss);
        printf("train: rank 0 I/O: %ld segment reads (%s), %ld cache hits, cache %.1f MiB, I/O thread %.2f s, waited "
               "%.2f s\n",
               rs.file_reads, rs.direct ? "direct" : "HDF5", rs.cache_hits, rs.cache_bytes / 1048576.0, rs.io_seconds,
               rs.wait_seconds);
        if (t->blocks) {
            long got, local;
            mpi_blocks_stats(t->blocks, &got, &local);
            printf("train: rank 0 exchange: %ld training segments received from other ranks, %ld from its own block; "
                   "step buffers %.1f MiB (the busiest step's sends and receives of any rank)\n",
                   got, local, (double)mpi_blocks_reserved_bytes(t->blocks) / 1048576.0);
        }
        if (t->balance) {
            const int *cut = t->cutv[t->cb], m = c->micro;
            int lo = t->micro_total, hi = 0;
            printf("train: --balance: the shares moved %ld time%s (checked every %d steps); micro-batches a rank now:",
                   t->bal_moves, t->bal_moves == 1 ? "" : "s", BAL_EVERY);
            for (int r = 0; r < t->size; r++) {
                const int n = (cut[r + 1] + m - 1) / m - (cut[r] + m - 1) / m;
                if (t->size <= 16) printf(" %d", n);
                lo = n < lo ? n : lo;
                hi = n > hi ? n : hi;
            }
            if (t->size > 16) printf(" %d to %d", lo, hi);
            printf("\n");
        }
        if (t->bench)
            printf("train: --bench-share %d/%d done; nothing written\n", t->rank, t->size);
        else
            printf("train: wrote %s (checksum fnv1a64:%016" PRIx64 ")\n", c->out, nn_checksum(t->best));
    }
    return 0;
}

int train_job(const train_cfg *cfg, MPI_Comm comm, int share_rank, int share_size, const char *cmdline, char *err,
              size_t errlen)
{
    trainer t;
    memset(&t, 0, sizeof t);
    t.blocks_epoch = -1;
    t.cfg = *cfg;
    const train_cfg *c = &t.cfg;
    t.exact = !strcmp(c->reduce, "exact");
    t.bn_precise = !strcmp(c->bn, "precise");
    t.hook_sig = util_test_signal("ARTISTNET_TRAIN_TEST_SIGNAL", &t.hook_step);
    int rc;
    t.t_begin = util_now();
    t.comm = comm;
    t.rank = mpi_util_rank(comm);
    t.size = mpi_util_size(comm);
    t.lead = t.rank == 0;
    if (share_size > 0) {
        if (mpi_util_size(comm) != 1 || share_rank < 0 || share_rank >= share_size || c->resume)
            return util_fail(err, errlen, UTIL_EUSAGE, "train: a share %d/%d runs on one process, without resume",
                             share_rank, share_size);
        t.rank = share_rank;
        t.size = share_size;
        t.bench = 1;
    }
    t.cmdline = strdup(cmdline ? cmdline : "");
    if (!t.cmdline) return util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    snprintf(t.ckpt, sizeof t.ckpt, "%s.ckpt", c->out);
    snprintf(t.ckpt_tmp, sizeof t.ckpt_tmp, "%s.ckpt.tmp", c->out);

    rc = train_data_load(comm, c->mels, c->label_col, c->frac, (uint64_t)c->seed, &t.data, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) rc = train_run(&t, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);

    train_reader_close(t.reader);
    mpi_blocks_free(t.blocks);
    free(t.cutv[0]);
    free(t.cutv[1]);
    free(t.bal_all);
    free(t.bal_heap);
    nn_free(t.m);
    nn_free(t.best);
    train_data_free(&t.data);
    for (int b = 0; b < 2; b++) {
        free(t.buf[b]);
        free(t.flat[b]);
    }
    free(t.labels);
    free(t.mask);
    free(t.perm);
    free(t.pre);
    free(t.pre_max);
    free(t.acc);
    free(t.slice_len);
    free(t.slice_off);
    free(t.st.log);
    free(t.cmdline);
    return rc;
}
