/* queue.h - master-worker work queue over a list of item indices (tracks), in rounds.
 *
 * Rank 0 is the master and also works: it takes one item at a time from the shared counter and,
 * between its own items, answers workers' requests with chunks of consecutive items (guided
 * sizes: ceil(left / (2 * ranks)), at most chunk_max), so fast ranks take more (dynamic load
 * balance). Workers ask for their next chunk as soon as they receive one (one request always in
 * flight), so the master's answer arrives while they work. With one rank there are no messages.
 * mpi_queue_set_thread: rank 0 answers in a thread instead (measured on 2 ranks: no faster, see
 * README "Distributed jobs"; for lists where one item can outlast a worker's chunk).
 *
 * The items are cut into rounds of `round` items; a round ends on every rank when its items are
 * handed out, so a job writes the round's rows collectively between rounds (mpi/store.h). Which
 * rank processes an item depends on timing, never which output row it goes to.
 *
 *   mpi_queue *q; mpi_queue_make(comm, items, n, round, 0, &q, err, errlen);
 *   while ((rc = mpi_queue_round(q, err, errlen)) > 0) {
 *       while ((rc = mpi_queue_next(q, &item, err, errlen)) > 0) { work(item); mpi_queue_report(q, secs); }
 *       ... collective write of this rank's rows of the round ...
 *   }
 *   if (mpi_queue_interrupted(q)) -> UTIL_EINTR
 *
 * Interrupts (util_interrupted()): a worker that sees the flag drops the rest of its chunk and tells
 * the master, which stops handing out work; the round ends on all ranks, and mpi_queue_round then
 * returns 0 on every rank with mpi_queue_interrupted() == 1. Items not processed stay pending.
 */
#ifndef ARTISTNET_MPI_QUEUE_H
#define ARTISTNET_MPI_QUEUE_H
#include <mpi.h>
#include <stddef.h>

typedef struct mpi_queue mpi_queue;

/* Collective. items[0..n) (copied) are the item indices in order, the same on every rank.
 * round: items per round (0: 32 per rank); chunk_max: largest chunk for a worker (0: 16). */
int mpi_queue_make(MPI_Comm comm, const size_t *items, size_t n, size_t round, int chunk_max,
                   mpi_queue **out, char *err, size_t errlen);
/* Collective: starts the next round. 1: a round started; 0: no items left or interrupted (all
 * ranks agree); negative: MPI error. */
int mpi_queue_round(mpi_queue *q, char *err, size_t errlen);
/* This rank's next item of the round: 1 with *item set; 0 when the round is over for this rank
 * (every rank must call until 0); negative: MPI error. Rank 0 answers requests in here (thread
 * mode: its thread does, also after rank 0's own 0, until the next mpi_queue_round). */
int mpi_queue_next(mpi_queue *q, size_t *item, char *err, size_t errlen);
/* Rank 0: answer the requests that have arrived, without blocking (other ranks: nothing). A job
 * whose items are long (a group of tracks) calls it between the parts of an item, so a worker
 * waits for its next chunk at most one part, not one item. */
int mpi_queue_poll(mpi_queue *q, char *err, size_t errlen);
/* One item finished; units (e.g. seconds of audio) add to the progress rank 0 sees. */
void mpi_queue_report(mpi_queue *q, double units);
/* Rank 0: items finished and units over all ranks so far (workers' counts arrive with their
 * requests, so they lag by at most a chunk). Other ranks: their own. */
void mpi_queue_progress(mpi_queue *q, size_t *done, double *units);
/* Before the first round: rank 0 answers requests in a thread of its own during each round (as
 * they arrive, not between its items), and takes its items under a lock. Needs MPI initialised
 * with MPI_THREAD_MULTIPLE (else UTIL_EUSAGE; the queue is unchanged). A no-op with one rank. */
int mpi_queue_set_thread(mpi_queue *q, int on);
/* Before the first round: the item positions fall into consecutive groups whose items share a
 * costly set-up (evaluate: one kernel matrix per (fold, gamma)); group_end[g] is the position after
 * group g's last item (increasing, the last one n). A chunk then never crosses the end of a group,
 * and rank 0 takes chunks for itself as the workers do, so a rank meets fewer groups (taking one item
 * at a time between the workers' chunks, rank 0 would land in another group almost every time).
 * UTIL_EUSAGE for ends that are not increasing up to n. Items are still handed out in order. */
int mpi_queue_set_groups(mpi_queue *q, const size_t *group_end, size_t n_groups);
/* Before the first round, after mpi_queue_set_groups: deal the groups by affinity instead of in
 * order. stage[g] (n_groups values, not decreasing) orders the groups into stages a rank passes
 * through only forwards (evaluate: 2f for outer fold f's grid groups, 2f + 1 for its final fit, so a
 * rank that is past fold f gets no more of it and can start its sum); gated[g] (NULL: none) marks a
 * group started only once every group of a lower stage is handed out (evaluate: a final fit, drawn
 * once its fold's grid is handed out). A rank's next chunk comes from the group of its last one while
 * it has items left (no new set-up), else from the first group nobody has taken yet, else from the
 * started group with the most items left at a stage not below the rank's (it joins that group's
 * ranks); a rank that qualifies for none is done for the round, and the groups' own ranks finish
 * them. So at many ranks each rank starts a group of its own and joins another only at the end,
 * where in-order dealing splits every group over several ranks. Items of a group are still handed
 * out in order. UTIL_EUSAGE without groups or with decreasing stages. */
int mpi_queue_set_stages(mpi_queue *q, const int *stage, const char *gated);
/* 1 after mpi_queue_round returned 0 because some rank was interrupted */
int mpi_queue_interrupted(const mpi_queue *q);
/* items this rank processed (for statistics) */
size_t mpi_queue_local_count(const mpi_queue *q);
/* Collective (cancels rank 0's posted receive). */
void mpi_queue_free(mpi_queue *q);
#endif
