/* blocks.c - records in per-rank blocks, fetched in lock-step rounds of MPI_Ialltoallv (blocks.h).
 * A round: every rank walks the global wanted list once. For each rank r and each record it wants
 * that this rank holds, the record is packed into r's part of the send buffer, in r's order; the
 * records this rank wants from holder h arrive in h's part of the receive buffer in this rank's
 * order. finish() then places them: own records straight from the block, the others from the
 * receive buffer, each source read in order. Counts are in records (one MPI contiguous type). */
#include "mpi/blocks.h"
#include "mpi/mpi_util.h"
#include "shard/shard.h"
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mpi_blocks {
    MPI_Comm comm;
    int rank, size;     /* of the partition (as_rank, as_size) */
    int alone;          /* stand-in mode: one process, no messages */
    size_t n, rec, lo, hi;
    size_t per, extra;  /* shard_range's partition: the first `extra` ranks hold per + 1 */
    float *data;
    MPI_Datatype type;  /* one record */
    /* a round's buffers (mpi_blocks_reserve), in records: the most any rank sends / receives in one
     * of the rounds declared with mpi_blocks_need (the same on every rank); no allocation in a round */
    float *send, *recv;
    size_t send_cap, recv_cap, need_send, need_recv;
    size_t *cnt_s, *cnt_r; /* round_counts' scratch: every rank's sends and receives in a round */
    int *scnt, *sdsp, *rcnt, *rdsp;
    int *next;          /* finish(): records taken so far from each source's part */
    const size_t *want;
    const int *cut;
    int in_flight;
    MPI_Request req;
    long received, local;
};

size_t mpi_blocks_max_block(size_t n, int parts)
{
    return parts > 0 ? (n + (size_t)parts - 1) / (size_t)parts : n;
}

/* the rank holding record i (inverse of shard_range) */
static int holder(const mpi_blocks *b, size_t i)
{
    const size_t big = b->extra * (b->per + 1);
    if (i < big) return (int)(i / (b->per + 1));
    return (int)(b->extra + (i - big) / b->per);
}

int mpi_blocks_make(MPI_Comm comm, size_t n, size_t rec, int as_rank, int as_size, mpi_blocks **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    mpi_blocks *b = calloc(1, sizeof *b);
    if (!b) return util_fail(err, errlen, UTIL_EFAIL, "blocks: out of memory");
    b->comm = comm;
    b->rank = as_rank;
    b->size = as_size;
    b->alone = mpi_util_size(comm) == 1;
    if (!b->alone && (as_rank != mpi_util_rank(comm) || as_size != mpi_util_size(comm))) {
        free(b);
        return util_fail(err, errlen, UTIL_EFAIL, "blocks: a stand-in rank needs a communicator of one rank");
    }
    b->n = n;
    b->rec = rec;
    b->per = n / (size_t)as_size;
    b->extra = n % (size_t)as_size;
    shard_range(n, as_rank, as_size, &b->lo, &b->hi);
    b->type = MPI_DATATYPE_NULL;
    b->req = MPI_REQUEST_NULL;
    const size_t P = (size_t)as_size;
    b->data = malloc(((b->hi - b->lo) * rec + 1) * sizeof *b->data);
    b->cnt_s = calloc(P, sizeof(size_t));
    b->cnt_r = calloc(P, sizeof(size_t));
    b->scnt = calloc(P, sizeof(int));
    b->sdsp = calloc(P, sizeof(int));
    b->rcnt = calloc(P, sizeof(int));
    b->rdsp = calloc(P, sizeof(int));
    b->next = calloc(P, sizeof(int));
    int rc = b->data && b->cnt_s && b->cnt_r && b->scnt && b->sdsp && b->rcnt && b->rdsp && b->next
                 ? UTIL_OK
                 : util_fail(err, errlen, UTIL_EFAIL, "blocks: out of memory for a block of %zu records of %zu floats",
                             b->hi - b->lo, rec);
    if (!rc && (MPI_Type_contiguous((int)rec, MPI_FLOAT, &b->type) != MPI_SUCCESS || MPI_Type_commit(&b->type) != MPI_SUCCESS))
        rc = util_fail(err, errlen, UTIL_EFAIL, "blocks: cannot make the record type");
    if (rc) {
        mpi_blocks_free(b);
        return rc;
    }
    *out = b;
    return UTIL_OK;
}

size_t mpi_blocks_lo(const mpi_blocks *b) { return b->lo; }
size_t mpi_blocks_hi(const mpi_blocks *b) { return b->hi; }
float *mpi_blocks_data(mpi_blocks *b) { return b->data; }

/* Every rank's sends and receives in the round (want, cut) into cnt_s / cnt_r (records held by
 * another rank than the one wanting them); their largest values in *ms, *mr. Every rank computes
 * the same numbers: the holders are a function of the partition. With `mine` (a round starting),
 * also this rank's own counts per peer: scnt[r] records of its block that r wants, rcnt[h] records
 * it wants from h. */
static void round_counts(mpi_blocks *b, const size_t *want, const int *cut, int mine, size_t *ms, size_t *mr)
{
    const int P = b->size, me = b->rank;
    for (int r = 0; r < P; r++) b->cnt_s[r] = b->cnt_r[r] = 0;
    if (mine)
        for (int r = 0; r < P; r++) b->scnt[r] = b->rcnt[r] = 0;
    for (int r = 0; r < P; r++)
        for (int q = cut[r]; q < cut[r + 1]; q++) {
            const int h = holder(b, want[q]);
            if (h == r) continue;
            b->cnt_s[h]++, b->cnt_r[r]++;
            if (mine && h == me) b->scnt[r]++;
            if (mine && r == me) b->rcnt[h]++;
        }
    *ms = *mr = 0;
    for (int r = 0; r < P; r++) {
        if (b->cnt_s[r] > *ms) *ms = b->cnt_s[r];
        if (b->cnt_r[r] > *mr) *mr = b->cnt_r[r];
    }
}

void mpi_blocks_need(mpi_blocks *b, const size_t *want, size_t stride, size_t rounds, const int *cut)
{
    if (b->alone) return; /* no messages, no buffers */
    for (size_t k = 0; k < rounds; k++) {
        size_t ms, mr;
        round_counts(b, want + k * stride, cut, 0, &ms, &mr);
        if (ms > b->need_send) b->need_send = ms;
        if (mr > b->need_recv) b->need_recv = mr;
    }
}

size_t mpi_blocks_reserved_bytes(const mpi_blocks *b)
{
    return (b->need_send + b->need_recv) * b->rec * sizeof(float);
}

int mpi_blocks_reserve(mpi_blocks *b, char *err, size_t errlen)
{
    if (b->alone || (b->need_send <= b->send_cap && b->need_recv <= b->recv_cap)) return UTIL_OK;
    if (b->in_flight) return util_fail(err, errlen, UTIL_EFAIL, "blocks: buffers reserved while a round is in flight");
    free(b->send);
    free(b->recv);
    b->send_cap = b->recv_cap = 0;
    const size_t most = SIZE_MAX / sizeof(float) / (b->rec ? b->rec : 1) - 1;
    b->send = b->need_send <= most ? malloc((b->need_send * b->rec + 1) * sizeof *b->send) : NULL;
    b->recv = b->need_recv <= most ? malloc((b->need_recv * b->rec + 1) * sizeof *b->recv) : NULL;
    if (!b->send || !b->recv)
        return util_fail(err, errlen, UTIL_EFAIL, "blocks: out of memory for the rounds' buffers (%zu + %zu records of %zu floats)",
                         b->need_send, b->need_recv, b->rec);
    b->send_cap = b->need_send;
    b->recv_cap = b->need_recv;
    return UTIL_OK;
}

int mpi_blocks_start(mpi_blocks *b, const size_t *want, const int *cut, char *err, size_t errlen)
{
    if (b->in_flight) return util_fail(err, errlen, UTIL_EFAIL, "blocks: a round is already in flight");
    /* what the buffers were reserved for, checked on the whole round: every rank reaches the same
     * verdict, so none is left waiting in the exchange */
    size_t ms = 0, mr = 0;
    if (!b->alone) round_counts(b, want, cut, 1, &ms, &mr); /* also this rank's scnt, rcnt */
    if (ms > b->send_cap || mr > b->recv_cap)
        return util_fail(err, errlen, UTIL_EFAIL, "blocks: a round sends up to %zu and receives up to %zu records a rank, "
                         "over the %zu and %zu reserved (mpi_blocks_need, mpi_blocks_reserve)", ms, mr, b->send_cap,
                         b->recv_cap);
    b->want = want;
    b->cut = cut;
    b->in_flight = 1;
    if (b->alone) return UTIL_OK;
    const int P = b->size, me = b->rank;
    int rc = UTIL_OK;
    int ds = 0, dr = 0;
    for (int r = 0; r < P; r++) {
        b->sdsp[r] = ds;
        b->rdsp[r] = dr;
        ds += b->scnt[r];
        dr += b->rcnt[r];
    }
    /* pack, in each receiver's order */
    size_t k = 0;
    for (int r = 0; !rc && r < P; r++) {
        if (r == me) continue;
        for (int q = cut[r]; q < cut[r + 1]; q++) {
            const size_t i = want[q];
            if (i >= b->lo && i < b->hi)
                memcpy(b->send + (k++) * b->rec, b->data + (i - b->lo) * b->rec, b->rec * sizeof *b->data);
        }
    }
    if (!rc) {
        int mrc = MPI_Ialltoallv(b->send, b->scnt, b->sdsp, b->type, b->recv, b->rcnt, b->rdsp, b->type, b->comm, &b->req);
        if (mrc != MPI_SUCCESS) rc = mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Ialltoallv", mrc);
    }
    if (rc) b->in_flight = 0;
    return rc;
}

int mpi_blocks_finish(mpi_blocks *b, float *dst, char *err, size_t errlen)
{
    if (!b->in_flight) return UTIL_OK;
    b->in_flight = 0;
    if (!b->alone) {
        int mrc = MPI_Wait(&b->req, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS) return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Wait(blocks)", mrc);
    }
    const int me = b->rank;
    const size_t own = b->hi - b->lo, bytes = b->rec * sizeof *b->data;
    size_t cycle = 0;
    for (int r = 0; r < b->size; r++) b->next[r] = 0;
    for (int q = b->cut[me]; q < b->cut[me + 1]; q++) {
        const size_t i = b->want[q];
        float *d = dst + (size_t)(q - b->cut[me]) * b->rec;
        if (i >= b->lo && i < b->hi) {
            memcpy(d, b->data + (i - b->lo) * b->rec, bytes);
            b->local++;
        } else if (b->alone) { /* stand-in: another rank's record, replaced by one of ours */
            if (own) memcpy(d, b->data + (cycle++ % own) * b->rec, bytes);
            b->local++;
        } else {
            const int h = holder(b, i);
            memcpy(d, b->recv + (size_t)(b->rdsp[h] + b->next[h]++) * b->rec, bytes);
            b->received++;
        }
    }
    return UTIL_OK;
}

void mpi_blocks_progress(mpi_blocks *b)
{
    int done = 0;
    if (b->in_flight && !b->alone && b->req != MPI_REQUEST_NULL) MPI_Test(&b->req, &done, MPI_STATUS_IGNORE);
}

void mpi_blocks_stats(const mpi_blocks *b, long *received, long *local)
{
    *received = b->received;
    *local = b->local;
}

void mpi_blocks_free(mpi_blocks *b)
{
    if (!b) return;
    if (b->in_flight && !b->alone) MPI_Wait(&b->req, MPI_STATUS_IGNORE);
    if (b->type != MPI_DATATYPE_NULL) MPI_Type_free(&b->type);
    free(b->data);
    free(b->send);
    free(b->recv);
    free(b->cnt_s);
    free(b->cnt_r);
    free(b->scnt);
    free(b->sdsp);
    free(b->rcnt);
    free(b->rdsp);
    free(b->next);
    free(b);
}
