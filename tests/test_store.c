/* test_store.c - the work queue (every item processed exactly once at any rank count, in rounds,
 * with uneven work; an interrupt stops all ranks cleanly) and the parallel HDF5 store (rows written
 * out of order and non-contiguous, a rank with no rows, strings, per-row strings truncated on a
 * UTF-8 boundary, attributes, completion record, error messages), and the record blocks (every
 * rank gets exactly the records it wants, in its order, from any holder; rounds in a row; a rank
 * without a part; the stand-in mode of one process). Run at 1, 2 and 3 ranks. */
#include "testutil.h"
#include "mpi/blocks.h"
#include "mpi/mpi_util.h"
#include "mpi/queue.h"
#include "mpi/store.h"
#include "shard/shard.h"
#include "util/util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char err[UTIL_ERRLEN];

static void nap(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* items 3, 5, 7, ... ; processes them and checks each was done exactly once; thread: rank 0
 * answers requests in its server thread (mpi_queue_set_thread); groups: items in groups of 7
 * (mpi_queue_set_groups: chunks within a group, rank 0 takes chunks too) */
static void test_queue(MPI_Comm comm, int interrupt_at, int thread, int groups)
{
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    enum { N = 101 };
    size_t items[N];
    for (size_t i = 0; i < N; i++) items[i] = 3 + 2 * i;
    mpi_queue *q;
    CHECK(mpi_queue_make(comm, items, N, 12, 4, &q, err, sizeof err) == 0);
    CHECK(mpi_queue_set_thread(q, thread) == 0);
    if (groups) {
        size_t ends[N / 7 + 1], n_ends = 0;
        for (size_t e = 7; e < N; e += 7) ends[n_ends++] = e;
        ends[n_ends++] = N;
        size_t bad[2] = {7, 5};
        CHECK(mpi_queue_set_groups(q, bad, 2) == UTIL_EUSAGE); /* not increasing, not ending at n */
        CHECK(mpi_queue_set_groups(q, ends, n_ends - 1) == UTIL_EUSAGE);
        CHECK(mpi_queue_set_groups(q, ends, n_ends) == 0);
    }
    int mine[3 + 2 * N] = {0};
    int rc, rounds = 0;
    while ((rc = mpi_queue_round(q, err, sizeof err)) > 0) {
        rounds++;
        size_t it;
        while ((rc = mpi_queue_next(q, &it, err, sizeof err)) > 0) {
            mine[it]++;
            nap(rank == 0 ? 300 : 100 + 200 * (long)(it % 3)); /* uneven work */
            mpi_queue_report(q, 1.5);
            /* SIGTERM part-way: raised by whichever rank drew the item at position interrupt_at (items
             * are handed out in order, so the positions before it were handed out already; a fixed
             * rank might get fewer items than that when the others are faster, e.g. under ASan) */
            if (interrupt_at && it == 3 + 2 * (size_t)interrupt_at) raise(SIGTERM);
        }
        CHECK_MSG(rc == 0, "next: %d %s", rc, err);
    }
    CHECK_MSG(rc == 0, "round: %d %s", rc, err);
    int all[3 + 2 * N];
    MPI_Allreduce(mine, all, 3 + 2 * N, MPI_INT, MPI_SUM, comm);
    int total = 0, twice = 0, stray = 0;
    for (int i = 0; i < 3 + 2 * N; i++) {
        total += all[i];
        if (all[i] > 1) twice++;
        if (all[i] && (i < 3 || i % 2 == 0)) stray++;
    }
    CHECK(twice == 0 && stray == 0);
    if (!interrupt_at) {
        CHECK_MSG(total == N, "processed %d of %d", total, N);
        CHECK(rounds == (N + 11) / 12);
        CHECK(!mpi_queue_interrupted(q));
        size_t done;
        double units;
        mpi_queue_progress(q, &done, &units);
        if (rank == 0) CHECK_MSG(done <= N && done >= (size_t)(N - 12) && units == 1.5 * (double)done, "done %zu units %g", done, units);
        if (rank == 0)
            fprintf(stderr, "queue%s%s: %d ranks, rank 0 did %zu of %d items\n", thread ? " (server thread)" : "",
                    groups ? " (groups of 7)" : "", size, mpi_queue_local_count(q), N);
    } else {
        CHECK(mpi_queue_interrupted(q));
        CHECK_MSG(total < N && total >= interrupt_at, "processed %d with an interrupt after %d", total, interrupt_at);
        /* once stopped, no round starts again */
        CHECK(mpi_queue_round(q, err, sizeof err) == 0);
        util_interrupt_reset();
    }
    mpi_queue_free(q);
}

/* Affinity dealing (mpi_queue_set_stages): groups of 9 at stages 0 0 | 1 (one gated item) | 2 2 | 3
 * (gated), items = positions, uneven work. Every item once; on every rank the stages never go down
 * and a group's items come in order; a gated item comes after every item of the lower stages was
 * handed out (checked on one rank, where the whole order is fixed: 0, 1, ..., 37); thread: rank 0
 * answers in its server thread. */
static void test_queue_stages(MPI_Comm comm, int thread)
{
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    enum { N = 38, G = 6 };
    size_t items[N], ends[G] = {9, 18, 19, 28, 37, 38};
    int stage[G] = {0, 0, 1, 2, 2, 3}, bad_stage[G] = {0, 1, 0, 2, 2, 3};
    char gated[G] = {0, 0, 1, 0, 0, 1};
    for (size_t i = 0; i < N; i++) items[i] = i;
    mpi_queue *q;
    CHECK(mpi_queue_make(comm, items, N, N, 4, &q, err, sizeof err) == 0);
    CHECK(mpi_queue_set_stages(q, stage, gated) == UTIL_EUSAGE); /* no groups yet */
    CHECK(mpi_queue_set_groups(q, ends, G) == 0);
    CHECK(mpi_queue_set_stages(q, bad_stage, gated) == UTIL_EUSAGE); /* decreasing */
    CHECK(mpi_queue_set_stages(q, stage, gated) == 0);
    CHECK(mpi_queue_set_thread(q, thread) == 0);
    int seen[N] = {0}, order[N], n = 0, rc;
    while ((rc = mpi_queue_round(q, err, sizeof err)) > 0) {
        size_t it;
        while ((rc = mpi_queue_next(q, &it, err, sizeof err)) > 0) {
            seen[it]++;
            order[n++] = (int)it;
            nap(150 + 250 * (long)((it * 7 + (size_t)rank) % 4)); /* uneven work */
            mpi_queue_report(q, 1);
        }
        CHECK_MSG(rc == 0, "next: %d %s", rc, err);
    }
    CHECK_MSG(rc == 0, "round: %d %s", rc, err);
    int all[N];
    MPI_Allreduce(seen, all, N, MPI_INT, MPI_SUM, comm);
    int once = 1;
    for (int i = 0; i < N; i++) once &= all[i] == 1;
    CHECK_MSG(once, "stages: every item exactly once (%d ranks)", size);
    int monotone = 1, in_order = 1;
    for (int j = 1; j < n; j++) {
        int g0 = 0, g1 = 0;
        while ((size_t)order[j - 1] >= ends[g0]) g0++;
        while ((size_t)order[j] >= ends[g1]) g1++;
        monotone &= stage[g1] >= stage[g0];
        for (int x = 0; x < j; x++) { /* an earlier item of the same group is a smaller one */
            int gx = 0;
            while ((size_t)order[x] >= ends[gx]) gx++;
            if (gx == g1 && order[x] > order[j]) in_order = 0;
        }
    }
    CHECK_MSG(monotone && in_order, "rank %d: stages %s, groups %s", rank, monotone ? "ok" : "went down",
              in_order ? "in order" : "out of order");
    if (size == 1)
        for (int j = 0; j < n; j++) CHECK_MSG(order[j] == j, "one rank: item %d at %d", order[j], j);
    if (rank == 0)
        fprintf(stderr, "queue with stages%s: %d ranks, rank 0 did %d of %d items\n", thread ? " (server thread)" : "", size, n, N);
    mpi_queue_free(q);
}

static void test_store(MPI_Comm comm, const char *dir)
{
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    char path[512];
    snprintf(path, sizeof path, "%s/store.h5", dir);
    mpi_store *s;
    CHECK_MSG(mpi_store_create(comm, path, &s, err, sizeof err) == 0, "%s", err);
    enum { N = 7, A = 3, B = 5 };
    size_t dims[3] = {N, A, B};
    CHECK_MSG(mpi_store_dataset_create(s, "/x", MPI_STORE_F32, 3, dims, 0, NULL, err, sizeof err) == 0, "%s", err);
    size_t dn[1] = {N};
    signed char fill = -1;
    CHECK(mpi_store_dataset_create(s, "/status", MPI_STORE_I8, 1, dn, 0, &fill, err, sizeof err) == 0);
    size_t d2[1] = {2};
    CHECK(mpi_store_dataset_create(s, "grp/two", MPI_STORE_I32, 1, d2, -1, NULL, err, sizeof err) == 0);
    CHECK(mpi_store_exists(s, "/grp/two") && !mpi_store_exists(s, "/nope"));
    /* rows rank, rank+size, ... written in reverse order */
    size_t rows[N];
    float buf[N * A * B];
    size_t n = 0;
    for (int r = N - 1; r >= 0; r--)
        if (r % size == rank) rows[n++] = (size_t)r;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < A * B; j++) buf[i * A * B + (size_t)j] = (float)(rows[i] * 100 + (size_t)j);
    CHECK_MSG(mpi_store_rows_write(s, "/x", MPI_STORE_F32, rows, n, buf, err, sizeof err) == 0, "%s", err);
    /* only rows 0 and 1 of a 2-row dataset: with 3 ranks rank 2 writes nothing */
    size_t r2 = (size_t)rank;
    int v2 = 10 + rank;
    CHECK_MSG(mpi_store_rows_write(s, "grp/two", MPI_STORE_I32, &r2, rank < 2 ? 1 : 0, &v2, err, sizeof err) == 0, "%s", err);
    /* status: rows 1, 4 done (written by rank 0 only) */
    size_t st_rows[2] = {4, 1};
    signed char st[2] = {0, 1};
    CHECK(mpi_store_rows_write(s, "/status", MPI_STORE_I8, st_rows, rank == 0 ? 2 : 0, st, err, sizeof err) == 0);
    const char *names[3] = {"a", "Bj\xC3\xB6rk", ""};
    CHECK_MSG(mpi_store_strings_write(s, "/ids", names, 3, err, sizeof err) == 0, "%s", err);
    CHECK(mpi_store_strings_create(s, "/errors", N, 5, err, sizeof err) == 0);
    const char *e[1] = {"ab\xC3\xB6\xC3\xB6xyz"}; /* 5 bytes would cut the second o-umlaut: 4 kept */
    size_t er = 3;
    CHECK_MSG(mpi_store_strings_rows_write(s, "/errors", &er, rank == size - 1 ? 1 : 0, e, err, sizeof err) == 0, "%s", err);
    CHECK(mpi_store_attr_write_string(s, NULL, "list", "l\xC3\xB6.tsv", err, sizeof err) == 0);
    CHECK(mpi_store_attr_write_int(s, NULL, "ranks", size, err, sizeof err) == 0);
    CHECK(mpi_store_attr_write_double(s, "/x", "fmax", 11025.5, err, sizeof err) == 0);
    CHECK(mpi_store_attr_write_int(s, NULL, "ranks", size + 1, err, sizeof err) == 0); /* replaces */
    /* independent row writes: /y rows r with r % size == rank; rank 0 one row per call (the
     * dataset kept open by mpi_store_local_open), the others all at once in reverse order */
    CHECK_MSG(mpi_store_dataset_create(s, "/y", MPI_STORE_F32, 3, dims, -1, NULL, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < A * B; j++) buf[i * A * B + (size_t)j] = (float)(rows[i] * 1000 + (size_t)j);
    CHECK(mpi_store_rows_write_local(s, "/y", MPI_STORE_F32, rows, n ? 1 : 0, buf, err, sizeof err) == (n ? UTIL_EFAIL : 0));
    if (n) CHECK_MSG(strstr(err, "store.h5: /y: independent row writes need mpi_store_local_open first"), "%s", err);
    CHECK_MSG(mpi_store_local_open(s, "y", err, sizeof err) == 0, "%s", err);
    if (rank == 0) {
        for (size_t i = 0; i < n; i++)
            CHECK_MSG(mpi_store_rows_write_local(s, "/y", MPI_STORE_F32, &rows[i], 1, buf + i * A * B, err, sizeof err) == 0, "%s", err);
        CHECK(mpi_store_rows_write_local(s, "/x", MPI_STORE_F32, rows, 1, buf, err, sizeof err) == UTIL_EFAIL);
        size_t out = N;
        CHECK(mpi_store_rows_write_local(s, "y", MPI_STORE_F32, &out, 1, buf, err, sizeof err) == UTIL_EFAIL);
        CHECK_MSG(strstr(err, "row 7 out of range (7 rows)"), "%s", err);
    } else {
        CHECK_MSG(mpi_store_rows_write_local(s, "y", MPI_STORE_F32, rows, n, buf, err, sizeof err) == 0, "%s", err);
    }
    CHECK(mpi_store_flush(s, err, sizeof err) == 0);
    /* missing dataset, out-of-range row */
    CHECK(mpi_store_rows_write(s, "/nope", MPI_STORE_F32, rows, 0, buf, err, sizeof err) == UTIL_EINPUT);
    CHECK_MSG(strstr(err, "store.h5: no dataset /nope") != NULL, "%s", err);
    CHECK_MSG(mpi_store_close(s, err, sizeof err) == 0, "%s", err);

    /* read back through a fresh open */
    CHECK(mpi_store_open(comm, path, 0, &s, err, sizeof err) == 0);
    int rk;
    size_t d[MPI_STORE_MAX_RANK];
    CHECK(mpi_store_dataset_dims(s, "/x", &rk, d, err, sizeof err) == 0 && rk == 3 && d[0] == N && d[2] == B);
    float all[N * A * B];
    CHECK(mpi_store_read_all(s, "/x", MPI_STORE_F32, all, err, sizeof err) == 0);
    int bad = 0;
    for (int r = 0; r < N; r++)
        for (int j = 0; j < A * B; j++) bad += all[r * A * B + j] != (float)(r * 100 + j);
    CHECK_MSG(bad == 0, "%d wrong values in /x", bad);
    CHECK(mpi_store_read_all(s, "/y", MPI_STORE_F32, all, err, sizeof err) == 0);
    for (int r = 0; r < N; r++)
        for (int j = 0; j < A * B; j++) bad += all[r * A * B + j] != (float)(r * 1000 + j);
    CHECK_MSG(bad == 0, "%d wrong values in /y (independent writes)", bad);
    size_t want[3] = {5, 0, 6};
    float three[3 * A * B];
    /* collective (the last rank reads nothing), then independent on rank 0 alone */
    int nr = rank == size - 1 && size > 1 ? 0 : 3;
    CHECK(mpi_store_rows_read(s, "/x", MPI_STORE_F32, want, (size_t)nr, three, 1, err, sizeof err) == 0);
    if (nr) CHECK(three[0] == 500 && three[A * B] == 0 && three[2 * A * B + 1] == 601);
    memset(three, 0, sizeof three);
    if (rank == 0) {
        CHECK(mpi_store_rows_read(s, "/x", MPI_STORE_F32, want, 3, three, 0, err, sizeof err) == 0);
        CHECK(three[0] == 500 && three[A * B] == 0 && three[2 * A * B + 1] == 601);
    }
    int two[2];
    CHECK(mpi_store_read_all(s, "grp/two", MPI_STORE_I32, two, err, sizeof err) == 0);
    CHECK(two[0] == 10 && (size == 1 || two[1] == 11));
    size_t *pend, np;
    CHECK(mpi_store_rows_pending(s, "/status", -1, &pend, &np, err, sizeof err) == 0);
    CHECK(np == 5 && pend[0] == 0 && pend[1] == 2 && pend[4] == 6);
    free(pend);
    char **ids;
    size_t ni;
    CHECK(mpi_store_strings_read(s, "/ids", &ids, &ni, err, sizeof err) == 0);
    CHECK(ni == 3 && !strcmp(ids[0], "a") && !strcmp(ids[1], "Bj\xC3\xB6rk") && !strcmp(ids[2], ""));
    mpi_store_strings_free(ids, ni);
    CHECK(mpi_store_strings_read(s, "/errors", &ids, &ni, err, sizeof err) == 0);
    CHECK_MSG(ni == N && !strcmp(ids[0], "") && !strcmp(ids[3], "ab\xC3\xB6"), "%zu [%s] [%s]", ni, ni ? ids[0] : "", ni > 3 ? ids[3] : "");
    mpi_store_strings_free(ids, ni);
    char sbuf[64];
    long long iv;
    double dv;
    CHECK(mpi_store_attr_read_string(s, NULL, "list", sbuf, sizeof sbuf, err, sizeof err) == 0 && !strcmp(sbuf, "l\xC3\xB6.tsv"));
    CHECK(mpi_store_attr_read_int(s, "/", "ranks", &iv, err, sizeof err) == 0 && iv == size + 1);
    CHECK(mpi_store_attr_read_double(s, "/x", "fmax", &dv, err, sizeof err) == 0 && dv == 11025.5);
    CHECK(mpi_store_attr_read_int(s, NULL, "nope", &iv, err, sizeof err) == UTIL_EINPUT);
    CHECK_MSG(strstr(err, "store.h5: / has no attribute 'nope'") != NULL, "%s", err);
    CHECK(mpi_store_attr_exists(s, NULL, "list") == 1 && mpi_store_attr_exists(s, "/x", "fmax") == 1);
    CHECK(mpi_store_attr_exists(s, NULL, "nope") == 0 && mpi_store_attr_exists(s, "/no-such-object", "list") == 0);
    CHECK(mpi_store_close(s, err, sizeof err) == 0);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.h5", dir);
    CHECK(mpi_store_open(comm, missing, 0, &s, err, sizeof err) == UTIL_EINPUT);
    CHECK_MSG(strstr(err, "missing.h5: H5Fopen (open the file as HDF5) failed") != NULL, "%s", err);
    if (rank == 0) unlink(path);
}

/* record i holds REC floats i * 1000 + j; rounds of random wants (repeats allowed) split unevenly
 * over the ranks, one rank wanting nothing; a round is started before the last one's records are
 * checked, as train does (prefetch) */
static void test_blocks(MPI_Comm comm, int as_rank, int as_size)
{
    enum { REC = 5, ROUNDS = 6 };
    const size_t n = 37;
    size_t want[ROUNDS][64];
    int cut[ROUNDS][8];
    uint64_t st = 42; /* the same lists on every rank */
    for (int r = 0; r < ROUNDS; r++) {
        const int m = 20 + r * 7;
        for (int q = 0; q < m; q++) want[r][q] = (size_t)(shard_rng_next(&st) % n);
        cut[r][0] = 0;
        for (int k = 1; k < as_size; k++) /* uneven; the middle rank wants nothing in odd rounds */
            cut[r][k] = (r % 2 && k == as_size / 2 + 1) ? cut[r][k - 1] : m * k / as_size + (k == 1 ? r % 3 : 0);
        cut[r][as_size] = m;
    }
    mpi_blocks *b = NULL;
    CHECK(mpi_blocks_make(comm, n, REC, as_rank, as_size, &b, err, sizeof err) == 0);
    if (!b) return;
    /* the rounds declared, buffers reserved for exactly them (tight: a count that start exceeds
     * would write past them, which ASan reports) */
    for (int r = 0; r < ROUNDS; r++) mpi_blocks_need(b, want[r], 0, 1, cut[r]);
    CHECK(mpi_blocks_reserve(b, err, sizeof err) == 0);
    const size_t lo = mpi_blocks_lo(b), hi = mpi_blocks_hi(b);
    CHECK(hi - lo <= mpi_blocks_max_block(n, as_size));
    for (size_t i = lo; i < hi; i++)
        for (int j = 0; j < REC; j++) mpi_blocks_data(b)[(i - lo) * REC + (size_t)j] = (float)(i * 1000 + (size_t)j);
    float dst[64 * REC];
    int bad = 0;
    CHECK(mpi_blocks_start(b, want[0], cut[0], err, sizeof err) == 0);
    for (int r = 0; r < ROUNDS; r++) {
        CHECK(mpi_blocks_finish(b, dst, err, sizeof err) == 0);
        if (r + 1 < ROUNDS) CHECK(mpi_blocks_start(b, want[r + 1], cut[r + 1], err, sizeof err) == 0);
        for (int q = cut[r][as_rank]; q < cut[r][as_rank + 1]; q++) {
            const size_t i = want[r][q];
            const int mine = i >= lo && i < hi, k = q - cut[r][as_rank];
            for (int j = 0; j < REC; j++) {
                const float v = dst[k * REC + j];
                /* stand-in mode: another rank's record is replaced by one of this block's */
                if (mpi_util_size(comm) > 1 || mine ? v != (float)(i * 1000 + (size_t)j)
                                                    : !(v >= (float)(lo * 1000) && v < (float)(hi * 1000)))
                    bad++;
            }
        }
    }
    CHECK_MSG(bad == 0, "blocks (rank %d of %d): %d wrong values", as_rank, as_size, bad);
    long got = 0, local = 0;
    mpi_blocks_stats(b, &got, &local);
    long total = 0;
    for (int r = 0; r < ROUNDS; r++) total += cut[r][as_rank + 1] - cut[r][as_rank];
    CHECK(got + local == total);
    CHECK(mpi_util_size(comm) > 1 || got == 0);
    /* a round over what the blocks were made for fails on every rank alike, before any message
     * (none is left in the exchange), and the next round is fine */
    /* a round beyond what was reserved (rank 0 wants one record of the last rank's block 64 times)
     * fails on every rank alike, before any message (none is left in the exchange); the next round
     * is fine */
    if (mpi_util_size(comm) > 1) {
        size_t many[64];
        int mcut[8] = {0};
        for (int q = 0; q < 64; q++) many[q] = n - 1;
        for (int k = 1; k <= as_size; k++) mcut[k] = 64;
        CHECK(mpi_blocks_start(b, many, mcut, err, sizeof err) != 0);
        CHECK_MSG(strstr(err, "a round sends up to 64 and receives up to 64 records a rank, over the") != NULL, "blocks: %s",
                  err);
    }
    CHECK(mpi_blocks_start(b, want[0], cut[0], err, sizeof err) == 0);
    mpi_blocks_free(b); /* a round still in flight is completed */
}

int main(int argc, char **argv)
{
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided); /* for the queue's server thread */
    MPI_Comm comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    util_signals_install();
    char dir[64] = "/tmp/an_store_XXXXXX";
    if (mpi_util_rank(comm) == 0 && !mkdtemp(dir)) dir[0] = 0;
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, comm);
    for (int thread = 0; thread < 2; thread++)
        for (int groups = 0; groups < 2; groups++) {
            test_queue(comm, 0, thread, groups);
            test_queue(comm, 7, thread, groups);
            test_queue(comm, 0, thread, groups); /* the queue works again after an interrupt is reset */
        }
    for (int thread = 0; thread < 2; thread++) test_queue_stages(comm, thread);
    test_store(comm, dir);
    test_blocks(comm, mpi_util_rank(comm), mpi_util_size(comm));
    if (mpi_util_rank(comm) == 0) { /* one process standing in for ranks of 3 (train --bench-share) */
        for (int r = 0; r < 3; r++) test_blocks(MPI_COMM_SELF, r, 3);
    }
    MPI_Barrier(comm);
    if (mpi_util_rank(comm) == 0) rmdir(dir);
    int fails = test_failures, all = 0;
    MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, comm);
    char name[64];
    snprintf(name, sizeof name, "test_store (rank %d of %d)", mpi_util_rank(comm), mpi_util_size(comm));
    int rc = test_done(name);
    MPI_Finalize();
    return rc ? rc : (all ? 1 : 0);
}
