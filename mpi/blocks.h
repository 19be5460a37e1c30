/* blocks.h - a table of n fixed-size records spread over the ranks in contiguous blocks (rank r holds
 * records [lo_r, hi_r) of shard_range(n, r, P)), and rounds in which every rank fetches the records
 * it needs from their holders with one MPI_Ialltoallv.
 *
 * What it is for: train's training segments. Every epoch deals the segments to the ranks at random,
 * so a rank that reads its own segments from the file reads a fresh 1/P of the data set every epoch
 * (50 GB an epoch at the paper's size), and a rank-private cache ends up holding most of the data set
 * on every rank of a node. With blocks, each rank reads its block once, the node holds the data set
 * once, and an epoch moves a rank's share of each step over MPI (16 segments of 66 KB a step at
 * --batch 256 on 16 ranks) instead of reading it.
 *
 * A round is lock-step and its request is global: every rank passes the same list of wanted records
 * of the whole round and the same split of that list over ranks (rank r wants want[cut[r]..cut[r+1])),
 * so every rank knows what it must send to whom and no request messages are needed. The exchange is
 * nonblocking: start a round, compute (any MPI call in between, such as the gradient reduction,
 * moves it along), finish it into the destination buffer.
 *
 *   mpi_blocks *b; mpi_blocks_make(comm, n, rec, rank, size, &b, err, errlen);
 *   fill mpi_blocks_data(b) with records mpi_blocks_lo(b) .. mpi_blocks_hi(b) - 1
 *   mpi_blocks_need(b, ...) for the rounds to come; mpi_blocks_reserve(b, err, errlen); agree
 *   mpi_blocks_start(b, want, cut, err, errlen);  ...  mpi_blocks_finish(b, dst, err, errlen);
 *
 * Stand-in mode (benchmarks): with a communicator of one rank and as_size > 1, the process is rank
 * as_rank of as_size (train --bench-share): it holds that rank's block and fills the records other
 * ranks hold with its own records (cycling through its block): the same copies, no messages. */
#ifndef ARTISTNET_MPI_BLOCKS_H
#define ARTISTNET_MPI_BLOCKS_H
#include <mpi.h>
#include <stddef.h>

typedef struct mpi_blocks mpi_blocks;

/* Collective. n records of rec floats; as_rank/as_size: the rank and rank count of the partition
 * (the communicator's, or a stand-in's, see above). The block is allocated (uninitialised). */
int mpi_blocks_make(MPI_Comm comm, size_t n, size_t rec, int as_rank, int as_size, mpi_blocks **out, char *err,
                    size_t errlen);
/* Declares rounds to come: `rounds` rounds, round k wanting want[k * stride + q] split by cut (the
 * same cut for each; as in mpi_blocks_start). Local and cheap (a pass over the lists); every rank
 * must declare the same rounds. It records the most records any rank sends or receives in one of
 * them: the buffers mpi_blocks_reserve makes. */
void mpi_blocks_need(mpi_blocks *b, const size_t *want, size_t stride, size_t rounds, const int *cut);
/* bytes mpi_blocks_reserve will hold for the rounds declared so far (the same on every rank) */
size_t mpi_blocks_reserved_bytes(const mpi_blocks *b);
/* Allocates the rounds' send and receive buffers for what mpi_blocks_need declared, so that no
 * round allocates: running out of memory is this call's error, never a round's (where the other
 * ranks would wait forever). Local: the caller agrees over ranks before the first round. Not while
 * a round is in flight (an error). */
int mpi_blocks_reserve(mpi_blocks *b, char *err, size_t errlen);
/* the records a rank of `parts` holds at most (for a memory check before mpi_blocks_make) */
size_t mpi_blocks_max_block(size_t n, int parts);
size_t mpi_blocks_lo(const mpi_blocks *b);
size_t mpi_blocks_hi(const mpi_blocks *b);
float *mpi_blocks_data(mpi_blocks *b); /* (hi - lo) x rec floats */
/* Collective: starts a round. want[0 .. cut[size]) are record indices, rank r's part want[cut[r] ..
 * cut[r + 1]); want and cut must stay valid until mpi_blocks_finish. At most one round in flight.
 * A round that needs more than was reserved fails on every rank alike, before any message. */
int mpi_blocks_start(mpi_blocks *b, const size_t *want, const int *cut, char *err, size_t errlen);
/* Completes the round started last: this rank's records, in its part's order, into dst
 * ((cut[rank + 1] - cut[rank]) x rec floats). Fine when no round is in flight. */
int mpi_blocks_finish(mpi_blocks *b, float *dst, char *err, size_t errlen);
/* Moves a round in flight along (MPI_Test): call it between pieces of computation, since MPI moves
 * a nonblocking exchange only inside MPI calls. */
void mpi_blocks_progress(mpi_blocks *b);
/* records this rank received from others / copied from its own block, over all rounds */
void mpi_blocks_stats(const mpi_blocks *b, long *received, long *local);
void mpi_blocks_free(mpi_blocks *b); /* completes a round still in flight */
#endif
