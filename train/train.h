/* train.h - the trainer: the artist DCNN of nn/nn.h trained from mels.h5 on any number of MPI ranks,
 * data-parallel, resumable, the model bitwise independent of the rank count (train/train.c says
 * how). It writes the best-on-validation model to model.h5 and its checkpoint to model.h5.ckpt, and
 * prints its progress, epochs and summary (rank 0, unless quiet). `artistnet train` (jobs/train.c)
 * is its command line; the data side (mels.h5, split, segment reader) is train/train_data.h.
 */
#ifndef ARTISTNET_TRAIN_TRAIN_H
#define ARTISTNET_TRAIN_TRAIN_H
#include <mpi.h>
#include <stddef.h>

/* The options of a run (`artistnet train --help` says what each means; jobs/train.c checks them:
 * reduce exact|float, update sharded|replicated, exchange auto|off, balance on|off, bn precise|running,
 * lr_scaling linear|sqrt|none; frac: the train/valid/test proportions). Strings are not copied. */
typedef struct {
    const char *mels, *out, *split, *label_col, *log, *init, *reduce, *bn, *lr_scaling, *update, *exchange, *balance;
    int epochs, batch, micro, patience, lr_patience, resume, quiet, seed, cache_mb, max_steps, bn_sample, lr_batch;
    double lr, lr_decay, momentum, wd, dropout, min_lr, warmup;
    double frac[3];
} train_cfg;

/* Collective over comm: one training run per c. share_rank/share_size: -1/-1 for a real run; else
 * comm has one process, which does rank share_rank's share of a share_size-rank run (its batches,
 * passes, reads and parameter slice) without the exchanges and writes nothing: the work unit of
 * bench/scaling.sh's ceiling. cmdline is recorded in the model. Returns 0, UTIL_EINTR (stopped by a
 * signal or max_steps: the checkpoint is written, run again with resume), or an error code with
 * err (the same on every rank). Test hook: ARTISTNET_TRAIN_TEST_SIGNAL (train.c). */
int train_job(const train_cfg *c, MPI_Comm comm, int share_rank, int share_size, const char *cmdline, char *err,
              size_t errlen);
#endif
