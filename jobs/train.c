/* train.c - `artistnet train`: the command line of the trainer (train/train.h), which trains the
 * artist DCNN from mels.h5 on any number of MPI ranks, resumable, the model bitwise independent of
 * the rank count (train/train.c says how). */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "train/train.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_split(const char *s, double frac[3], char *err, size_t errlen)
{
    char extra;
    if (sscanf(s, "%lf/%lf/%lf%c", &frac[0], &frac[1], &frac[2], &extra) != 3 || frac[0] <= 0 || frac[1] < 0 ||
        frac[2] < 0 || !isfinite(frac[0] + frac[1] + frac[2]))
        return util_fail(err, errlen, UTIL_EUSAGE, "train: --split '%s' must be TRAIN/VALID/TEST proportions (e.g. 15/3/2), train > 0", s);
    return 0;
}

int job_train_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    train_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    train_cfg *c = &cfg;
    const char *bench_share = NULL;
    util_opt opts[] = {
        {"mels", UTIL_OPT_STRING, &c->mels, "", "mels.h5 from `artistnet mel` (/mel, /artist, /status, ...)", 0, -1, 1},
        {"out", UTIL_OPT_STRING, &c->out, "", "output model.h5 (best on validation); checkpoint OUT.ckpt", 0, -1, 1},
        {"epochs", UTIL_OPT_INT, &c->epochs, "30", "number of epochs", 1, 1e6, 0},
        {"batch", UTIL_OPT_INT, &c->batch, "32", "global mini-batch (segments per step over all ranks)", 2, 1e6, 0},
        {"micro-batch", UTIL_OPT_INT, &c->micro, "16",
         "segments per batch-norm micro-batch (ranks take whole micro-batches)", 2, 1e6, 0},
        {"lr", UTIL_OPT_DOUBLE, &c->lr, "0.02", "learning rate of a --lr-batch batch", 0, 100, 0},
        {"lr-batch", UTIL_OPT_INT, &c->lr_batch, "32", "the batch --lr is meant for", 1, 1e6, 0},
        {"lr-scaling", UTIL_OPT_STRING, &c->lr_scaling, "linear",
         "peak lr for --batch B: linear (lr B / lr-batch), sqrt (lr sqrt(B / lr-batch)) or none (lr)", 0, -1, 0},
        {"warmup-epochs", UTIL_OPT_DOUBLE, &c->warmup, "-1",
         "epochs of linear warm-up from lr to the peak (-1: 3 when the peak is above lr, else 0)", -1, 1e6, 0},
        {"lr-decay", UTIL_OPT_DOUBLE, &c->lr_decay, "0.5", "lr factor on a validation plateau (1 = off)", 0, 1, 0},
        {"lr-patience", UTIL_OPT_INT, &c->lr_patience, "2", "epochs without a better validation loss before lr decay", 0,
         1e6, 0},
        {"min-lr", UTIL_OPT_DOUBLE, &c->min_lr, "1e-5", "lower bound of the decayed lr", 0, 100, 0},
        {"momentum", UTIL_OPT_DOUBLE, &c->momentum, "0.9", "Nesterov momentum", 0, 0.999999, 0},
        {"weight-decay", UTIL_OPT_DOUBLE, &c->wd, "2e-5", "L2 on conv kernels (Keras l2(1e-5) == 2e-5)", 0, 1, 0},
        {"dropout", UTIL_OPT_DOUBLE, &c->dropout, "0.5", "dropout before the dense layer", 0, 0.95, 0},
        {"seed", UTIL_OPT_INT, &c->seed, "1", "seed of init, split, data order and dropout", 0, 2147483647, 0},
        {"split", UTIL_OPT_STRING, &c->split, "15/3/2", "train/valid/test proportions of each artist's songs (a /split column wins)", 0, -1, 0},
        {"label-column", UTIL_OPT_STRING, &c->label_col, "artist", "string dataset of mels.h5 with the class", 0, -1, 0},
        {"patience", UTIL_OPT_INT, &c->patience, "6", "early stop after this many epochs without a better validation loss (0 = never)", 0, 1e6, 0},
        {"resume", UTIL_OPT_FLAG, &c->resume, "", "continue from OUT.ckpt (starts fresh when there is none)", 0, -1, 0},
        {"log", UTIL_OPT_STRING, &c->log, "", "per-epoch TSV log (curves.tsv)", 0, -1, 0},
        {"init", UTIL_OPT_STRING, &c->init, "", "start the conv blocks from this model.h5 (e.g. import-keras output)", 0, -1, 0},
        {"cache-mb", UTIL_OPT_INT, &c->cache_mb, "2048", "per-rank memory for segments: the rank's block of the training split (--exchange auto) and a cache of "
         "those it reads (0 = read every step); lowered, with a warning, where a node's ranks would take over 60% of its "
         "available memory", 0,
         1e7, 0},
        {"max-steps", UTIL_OPT_INT, &c->max_steps, "0", "stop (resumably, exit 3) after this many steps of this run (tests)", 0,
         1e9, 0},
        {"reduce", UTIL_OPT_STRING, &c->reduce, "exact",
         "gradient sum: exact (fixed point per micro-batch: the same bits on any rank count) or float (one "
         "call per rank, float sums: faster, equal up to rounding)", 0, -1, 0},
        {"update", UTIL_OPT_STRING, &c->update, "sharded",
         "with --reduce exact: sharded (each rank converts and updates its 1/P of the parameters: reduce-scatter, "
         "allgather) or replicated (one allreduce, every rank updates all); the same model bitwise", 0, -1, 0},
        {"bn", UTIL_OPT_STRING, &c->bn, "precise",
         "batch-norm statistics for validation and the saved model: precise (population statistics of "
         "--bn-sample training segments in eval mode, recomputed every epoch) or running (Keras moving "
         "averages, momentum 0.99)", 0, -1, 0},
        {"bn-sample", UTIL_OPT_INT, &c->bn_sample, "2048",
         "training segments of the precise-BN sample, evenly spaced over the training split (0 = all)", 0, 1e9, 0},
        {"exchange", UTIL_OPT_STRING, &c->exchange, "auto",
         "training segments on more than one rank: auto (each rank reads a block of 1/P of them once, when it "
         "fits --cache-mb, and ranks exchange each step's segments over MPI) or off (each rank reads its own "
         "segments, caching them up to --cache-mb); the same model bitwise", 0, -1, 0},
        {"balance", UTIL_OPT_STRING, &c->balance, "on",
         "with --reduce exact: on (every 8 steps the ranks' micro-batches follow their measured speed, so a "
         "slower core or node takes fewer and the others do not wait for it; at least 2 micro-batches a rank "
         "a step) or off (equal shares); the same model bitwise", 0, -1, 0},
        {"bench-share", UTIL_OPT_STRING, &bench_share, "",
         "R/P: on one process, do rank R's share of a P-rank run (its batches, passes and parameter slice) "
         "without the exchanges and write nothing: the work unit of bench/scaling.sh's ceiling", 0, -1, 0},
        {"quiet", UTIL_OPT_FLAG, &c->quiet, "", "no progress or summary", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("train",
                             "Train the artist DCNN on mels.h5, data-parallel over MPI ranks (resumable; exit 3 when "
                             "interrupted: run again with --resume).",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    if (!rc) rc = parse_split(c->split, c->frac, err, errlen);
    if (!rc && strcmp(c->reduce, "exact") && strcmp(c->reduce, "float"))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --reduce must be exact or float, not '%s'", c->reduce);
    if (!rc && strcmp(c->exchange, "auto") && strcmp(c->exchange, "off"))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --exchange must be auto or off, not '%s'", c->exchange);
    if (!rc && strcmp(c->balance, "on") && strcmp(c->balance, "off"))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --balance must be on or off, not '%s'", c->balance);
    if (!rc && strcmp(c->update, "sharded") && strcmp(c->update, "replicated"))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --update must be sharded or replicated, not '%s'", c->update);
    if (!rc && strcmp(c->lr_scaling, "linear") && strcmp(c->lr_scaling, "sqrt") && strcmp(c->lr_scaling, "none"))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --lr-scaling must be linear, sqrt or none, not '%s'", c->lr_scaling);
    if (!rc && strcmp(c->bn, "precise") && strcmp(c->bn, "running"))
        rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --bn must be precise or running, not '%s'", c->bn);
    if (!rc && c->batch % c->micro == 1)
        rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --batch %d leaves a micro-batch of one segment (--micro-batch %d)",
                       c->batch, c->micro);
    if (rc) return rc;
    int share_rank = -1, share_size = -1;
    if (bench_share && bench_share[0]) {
        char extra;
        if (sscanf(bench_share, "%d/%d%c", &share_rank, &share_size, &extra) != 2 || share_size < 1 || share_rank < 0 ||
            share_rank >= share_size)
            rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --bench-share '%s' must be R/P with 0 <= R < P", bench_share);
        else if (mpi_util_size(comm) != 1)
            rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --bench-share does one rank's share on one process: launch it "
                           "with 1 rank, not %d", mpi_util_size(comm));
        else if (c->resume)
            rc = util_fail(err, errlen, UTIL_EUSAGE, "train: --bench-share writes no checkpoint to --resume from");
        if (rc) return rc;
    }
    char *cmdline = util_join_argv(argc, argv);
    rc = train_job(c, comm, share_rank, share_size, cmdline, err, errlen);
    free(cmdline);
    return rc;
}
