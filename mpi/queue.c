/* queue.c - master-worker work queue in rounds (see queue.h). Messages: a request (worker -> 0,
 * tag QUEUE_TAG_REQ) carries {items finished, units, interrupted}; the reply (0 -> worker,
 * QUEUE_TAG_REP) is a chunk {lo, hi} of positions in the item array, lo == hi meaning "round over".
 * Each worker has at most one request in flight and gets exactly one "round over" per round, so
 * when rank 0 has sent ranks-1 of them no message of the round is left in flight. */
#include "mpi/queue.h"
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { QUEUE_TAG_REQ = 7101, QUEUE_TAG_REP = 7102 };

struct mpi_queue {
    MPI_Comm comm;
    int rank, size;
    size_t *items, n;
    size_t round, chunk_max;
    size_t start, end;       /* current round: positions [start, end) */
    size_t *group_end;       /* mpi_queue_set_groups: end position of each group (NULL: no groups) */
    size_t n_groups, group;  /* group holding position `pos` (positions only grow, so a cursor) */
    /* mpi_queue_set_stages: groups dealt by affinity (rank 0, under the lock) */
    int *stage;              /* per group (NULL: groups handed out in order) */
    char *gated;             /* per group: started only once every group of a lower stage is handed out */
    size_t *gpos;            /* per group: its next position to hand out this round */
    int *rank_group;         /* per rank: the group of its last chunk this round (-1: none) */
    int *rank_stage;         /* per rank: that group's stage (a rank's stages never go down) */
    size_t left;             /* positions of the round not handed out yet */
    size_t first_room;       /* groups before it have no positions left this round (a cursor: rooms only shrink) */
    size_t first_fresh;      /* groups before it are touched or empty this round (a cursor: touched stays touched) */
    int in_round;
    int interrupted;         /* agreed: the queue stopped on an interrupt */
    /* rank 0 */
    int use_thread;          /* answer requests in a thread (mpi_queue_set_thread) */
    pthread_t server;
    int server_on, server_rc;
    char server_err[UTIL_ERRLEN];
    pthread_mutex_t lock;    /* thread mode: pos, stop, empties, done, units */
    size_t pos;              /* next position to hand out */
    size_t own_lo, own_hi;   /* rank 0's own chunk in hand (with groups; else one item at a time) */
    int stop;                /* no more work this round (an interrupt was seen) */
    int empties;             /* "round over" replies sent this round */
    MPI_Request req;         /* posted receive for requests */
    double req_buf[3];
    size_t done;             /* finished items, all ranks */
    double units;
    /* workers */
    size_t lo, hi;           /* chunk in hand */
    int waiting;             /* a request is in flight */
    int round_over;
    long rep_buf[2];
    MPI_Request rep;
    double pend_items, pend_units;
    int local_int;
    size_t local_count;
};

int mpi_queue_make(MPI_Comm comm, const size_t *items, size_t n, size_t round, int chunk_max,
                   mpi_queue **out, char *err, size_t errlen)
{
    *out = NULL;
    mpi_queue *q = calloc(1, sizeof *q);
    if (!q) return util_fail(err, errlen, UTIL_EFAIL, "work queue: out of memory");
    q->comm = comm;
    q->rank = mpi_util_rank(comm);
    q->size = mpi_util_size(comm);
    q->items = malloc((n ? n : 1) * sizeof *q->items);
    if (!q->items) {
        free(q);
        return util_fail(err, errlen, UTIL_EFAIL, "work queue: out of memory for %zu items", n);
    }
    if (n) memcpy(q->items, items, n * sizeof *items);
    q->n = n;
    q->round = round ? round : 32 * (size_t)q->size;
    q->chunk_max = chunk_max > 0 ? (size_t)chunk_max : 16;
    q->req = MPI_REQUEST_NULL;
    q->rep = MPI_REQUEST_NULL;
    pthread_mutex_init(&q->lock, NULL);
    if (q->rank == 0 && q->size > 1) {
        int rc = MPI_Irecv(q->req_buf, 3, MPI_DOUBLE, MPI_ANY_SOURCE, QUEUE_TAG_REQ, comm, &q->req);
        if (rc != MPI_SUCCESS) {
            mpi_queue_free(q);
            return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Irecv(queue request)", rc);
        }
    }
    *out = q;
    return UTIL_OK;
}

static int server_join(mpi_queue *q, char *err, size_t errlen);
static void *server_main(void *arg);

void mpi_queue_free(mpi_queue *q)
{
    if (!q) return;
    server_join(q, NULL, 0);
    if (q->req != MPI_REQUEST_NULL) {
        MPI_Cancel(&q->req);
        MPI_Wait(&q->req, MPI_STATUS_IGNORE);
    }
    if (q->rep != MPI_REQUEST_NULL) {
        MPI_Cancel(&q->rep);
        MPI_Wait(&q->rep, MPI_STATUS_IGNORE);
    }
    pthread_mutex_destroy(&q->lock);
    free(q->group_end);
    free(q->stage);
    free(q->gated);
    free(q->gpos);
    free(q->rank_group);
    free(q->rank_stage);
    free(q->items);
    free(q);
}

static size_t group_first(const mpi_queue *q, size_t g);

int mpi_queue_round(mpi_queue *q, char *err, size_t errlen)
{
    /* thread mode, rank 0: its server answers until every worker has heard "round over" (rank 0 left
     * mpi_queue_next as soon as nothing was left for itself) */
    const int jrc = server_join(q, err, errlen);
    if (q->in_round) q->start = q->end;
    int flag = util_interrupted() || q->stop || q->local_int || jrc, any = 0;
    MPI_CHECK(MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, q->comm));
    q->in_round = 0;
    if (jrc) return jrc;
    if (any) {
        q->interrupted = 1;
        return 0;
    }
    if (q->start >= q->n) return 0;
    q->end = q->start + q->round < q->n ? q->start + q->round : q->n;
    q->in_round = 1;
    q->pos = q->start;
    q->own_lo = q->own_hi = 0;
    q->empties = 0;
    if (q->stage) {
        q->left = q->end - q->start;
        q->first_room = q->first_fresh = 0;
        for (size_t g = 0; g < q->n_groups; g++) q->gpos[g] = group_first(q, g);
        for (int r = 0; r < q->size; r++) {
            q->rank_group[r] = -1;
            q->rank_stage[r] = -2147483647 - 1;
        }
    }
    q->lo = q->hi = 0;
    q->round_over = 0;
    q->waiting = 0;
    q->server_rc = UTIL_OK;
    if (q->use_thread) {
        if (pthread_create(&q->server, NULL, server_main, q))
            return util_fail(err, errlen, UTIL_EFAIL, "work queue: cannot start the server thread");
        q->server_on = 1;
    }
    return 1;
}

/* guided chunk size for `left` positions: ceil(left / (2 ranks)), at most chunk_max and cap, at least 1 */
static size_t guided(const mpi_queue *q, size_t left, size_t cap)
{
    size_t c = (left + 2 * (size_t)q->size - 1) / (2 * (size_t)q->size);
    if (c > q->chunk_max) c = q->chunk_max;
    if (c > cap) c = cap;
    return c < 1 ? 1 : c;
}

/* group g's first position in this round, and the end of its positions in it */
static size_t group_first(const mpi_queue *q, size_t g)
{
    const size_t lo = g ? q->group_end[g - 1] : 0;
    return lo > q->start ? lo : q->start;
}
static size_t group_stop(const mpi_queue *q, size_t g) { return q->group_end[g] < q->end ? q->group_end[g] : q->end; }
/* positions of group g not handed out yet this round */
static size_t group_room(const mpi_queue *q, size_t g)
{
    return q->gpos[g] < group_stop(q, g) ? group_stop(q, g) - q->gpos[g] : 0;
}

/* 1 if every group of a stage below group g's (which has positions left) has been handed out this
 * round: stages do not decrease along the groups, so the first group with positions left tells */
static int gate_open(mpi_queue *q, size_t g)
{
    while (q->first_room < q->n_groups && !group_room(q, q->first_room)) q->first_room++;
    return q->first_room >= q->n_groups || q->stage[q->first_room] >= q->stage[g];
}

/* A rank joins a started group only while it has this many positions left: joining costs the group's
 * set-up (evaluate: a kernel matrix, about one fit), which one or two positions do not repay; the
 * group's own ranks finish them (replayed at 16 ranks: 0.675 -> 0.723 of the ranks' time filled). */
#define QUEUE_JOIN_MIN 3

/* The group rank `who` (done with its own) goes to next, or -1: the first group nobody has touched
 * yet (a gated one once its gate is open); else a started one to join (at least QUEUE_JOIN_MIN
 * positions left), of the lowest stage it can (so stages end in order: evaluate's fold sums and final
 * fits come while later folds' fits go on, not all at the end), the one with the most positions left
 * (ties: the first). Only groups of a stage at or above the rank's last one qualify. */
static long next_group(mpi_queue *q, int who)
{
    const int floor = q->rank_stage[who];
#define FRESH(x) (group_room(q, x) && q->gpos[x] == group_first(q, x))
    while (q->first_fresh < q->n_groups && !FRESH(q->first_fresh)) q->first_fresh++;
    for (size_t x = q->first_fresh; x < q->n_groups; x++)
        if (FRESH(x) && q->stage[x] >= floor && (!q->gated[x] || gate_open(q, x))) return (long)x;
#undef FRESH
    long best = -1;
    for (size_t x = 0; x < q->n_groups; x++) {
        if (group_room(q, x) < QUEUE_JOIN_MIN || q->gpos[x] == group_first(q, x) || q->stage[x] < floor) continue;
        if (best < 0 || q->stage[x] < q->stage[best] ||
            (q->stage[x] == q->stage[best] && group_room(q, x) > group_room(q, (size_t)best)))
            best = (long)x;
    }
    return best;
}

/* Affinity dealing (mpi_queue_set_stages), rank 0 under the lock: rank `who`'s next chunk comes from
 * the group of its last one while that has positions left (no new set-up), else from next_group's.
 * A rank's stages never go down; a rank with no group left is done for the round, and the ranks in
 * the groups with positions left drain them (the one that takes a stage's last chunk asks again, so
 * a gated group that its taking opens is not left behind). */
static int take_affine(mpi_queue *q, int who, size_t cap, size_t *lo, size_t *hi)
{
    if (q->stop || q->left == 0) return 0;
    long g = q->rank_group[who];
    if (g < 0 || group_room(q, (size_t)g) == 0) g = next_group(q, who);
    if (g < 0) return 0;
    /* at most a quarter of what the group has left (rounded up): its rank keeps a chunk in hand and
     * one asked for, and the rest stays free for ranks that run out of groups of their own */
    size_t room = group_room(q, (size_t)g), c = guided(q, q->left, cap);
    if (c > (room + 3) / 4) c = (room + 3) / 4;
    *lo = q->gpos[g];
    *hi = q->gpos[g] += c;
    q->left -= c;
    q->rank_group[who] = (int)g;
    q->rank_stage[who] = q->stage[g];
    return 1;
}

/* rank 0, under the lock (thread mode): hands out the next chunk of the round for rank `who` at
 * [*lo, *hi): guided size, at most chunk_max (at most `cap`), never past the end of the group of its
 * first item (with stages: from the group take_affine picks); returns 0 when nothing is left for it
 * (or the queue stopped) */
static int take_chunk(mpi_queue *q, int who, size_t cap, size_t *lo, size_t *hi)
{
    if (q->stage) return take_affine(q, who, cap, lo, hi);
    if (q->stop || q->pos >= q->end) return 0;
    size_t c = guided(q, q->end - q->pos, cap);
    if (q->group_end) {
        while (q->group < q->n_groups - 1 && q->group_end[q->group] <= q->pos) q->group++;
        if (q->pos + c > q->group_end[q->group]) c = q->group_end[q->group] - q->pos;
    }
    *lo = q->pos;
    *hi = q->pos += c;
    return 1;
}

/* rank 0: answer one request from `src` */
static int serve_one(mpi_queue *q, int src, char *err, size_t errlen)
{
    pthread_mutex_lock(&q->lock);
    q->done += (size_t)q->req_buf[0];
    q->units += q->req_buf[1];
    if (q->req_buf[2] != 0) q->stop = 1;
    size_t lo = 0, hi = 0;
    if (!take_chunk(q, src, q->chunk_max, &lo, &hi)) q->empties++;
    long rep[2] = {(long)lo, (long)hi};
    pthread_mutex_unlock(&q->lock);
    MPI_CHECK(MPI_Send(rep, 2, MPI_LONG, src, QUEUE_TAG_REP, q->comm));
    MPI_CHECK(MPI_Irecv(q->req_buf, 3, MPI_DOUBLE, MPI_ANY_SOURCE, QUEUE_TAG_REQ, q->comm, &q->req));
    return UTIL_OK;
}

/* rank 0: answer every request that has arrived (block: wait for at least one) */
static int serve(mpi_queue *q, int block, char *err, size_t errlen)
{
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (block) {
            MPI_CHECK(MPI_Wait(&q->req, &st));
            flag = 1;
            block = 0;
        } else {
            MPI_CHECK(MPI_Test(&q->req, &flag, &st));
        }
        if (!flag) return UTIL_OK;
        int rc = serve_one(q, st.MPI_SOURCE, err, errlen);
        if (rc) return rc;
    }
}

int mpi_queue_poll(mpi_queue *q, char *err, size_t errlen)
{
    if (q->rank != 0 || q->size < 2 || !q->in_round || q->use_thread) return UTIL_OK;
    return serve(q, 0, err, errlen);
}

/* Thread mode, rank 0: the server thread answers requests as they arrive (MPI_Test every 1 ms:
 * a blocking wait would spin a core in Open MPI; every 100 us cost the 2-rank job 2.8%) until
 * every worker has heard "round over". */
static void *server_main(void *arg)
{
    mpi_queue *q = arg;
    char *err = q->server_err;
    const struct timespec nap = {0, 1000000};
    for (;;) {
        pthread_mutex_lock(&q->lock);
        int over = q->empties >= q->size - 1;
        pthread_mutex_unlock(&q->lock);
        if (over) break;
        int flag = 0;
        MPI_Status st;
        int rc = MPI_Test(&q->req, &flag, &st);
        if (rc != MPI_SUCCESS) {
            q->server_rc = mpi_util_report(err, UTIL_ERRLEN, __FILE__, __LINE__, "MPI_Test(queue request)", rc);
            break;
        }
        if (!flag) {
            nanosleep(&nap, NULL);
            continue;
        }
        if ((q->server_rc = serve_one(q, st.MPI_SOURCE, err, UTIL_ERRLEN))) break;
    }
    return NULL;
}

static int server_join(mpi_queue *q, char *err, size_t errlen)
{
    if (!q->server_on) return UTIL_OK;
    pthread_join(q->server, NULL);
    q->server_on = 0;
    if (q->server_rc && err) snprintf(err, errlen, "%s", q->server_err);
    return q->server_rc;
}

int mpi_queue_set_groups(mpi_queue *q, const size_t *group_end, size_t n_groups)
{
    if (q->in_round || n_groups == 0 || group_end[n_groups - 1] != q->n) return UTIL_EUSAGE;
    for (size_t g = 1; g < n_groups; g++)
        if (group_end[g] <= group_end[g - 1]) return UTIL_EUSAGE;
    size_t *copy = malloc(n_groups * sizeof *copy);
    if (!copy) return UTIL_EFAIL;
    memcpy(copy, group_end, n_groups * sizeof *copy);
    free(q->stage); /* stages were for the old groups */
    free(q->gated);
    q->stage = NULL;
    q->gated = NULL;
    free(q->group_end);
    q->group_end = copy;
    q->n_groups = n_groups;
    q->group = 0;
    return UTIL_OK;
}

int mpi_queue_set_stages(mpi_queue *q, const int *stage, const char *gated)
{
    if (q->in_round || !q->group_end) return UTIL_EUSAGE;
    for (size_t g = 1; g < q->n_groups; g++)
        if (stage[g] < stage[g - 1]) return UTIL_EUSAGE;
    int *st = malloc(q->n_groups * sizeof *st), *rg = malloc((size_t)q->size * sizeof *rg),
        *rs = malloc((size_t)q->size * sizeof *rs);
    size_t *gp = malloc(q->n_groups * sizeof *gp);
    char *gt = calloc(q->n_groups, 1);
    if (!st || !rg || !rs || !gp || !gt) {
        free(st);
        free(rg);
        free(rs);
        free(gp);
        free(gt);
        return UTIL_EFAIL;
    }
    memcpy(st, stage, q->n_groups * sizeof *st);
    if (gated) memcpy(gt, gated, q->n_groups);
    free(q->stage);
    free(q->gated);
    free(q->gpos);
    free(q->rank_group);
    free(q->rank_stage);
    q->stage = st;
    q->gated = gt;
    q->gpos = gp;
    q->rank_group = rg;
    q->rank_stage = rs;
    return UTIL_OK;
}

/* rank 0: its own next item (under the lock in thread mode). With groups it works through a chunk
 * of its own as the workers do (taking one item at a time from the shared counter, it would land in
 * a new group almost every time); without, one item at a time. */
static int take_own(mpi_queue *q, size_t *item)
{
    if (util_interrupted()) q->stop = 1;
    if (q->stop) q->own_lo = q->own_hi; /* drop the rest of its chunk */
    if (q->own_lo >= q->own_hi && !take_chunk(q, 0, q->group_end ? q->chunk_max : 1, &q->own_lo, &q->own_hi)) return 0;
    *item = q->items[q->own_lo++];
    q->local_count++;
    return 1;
}

int mpi_queue_set_thread(mpi_queue *q, int on)
{
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    if (on && level < MPI_THREAD_MULTIPLE) return UTIL_EUSAGE;
    q->use_thread = on && q->rank == 0 && q->size > 1;
    return UTIL_OK;
}

static int worker_request(mpi_queue *q, char *err, size_t errlen)
{
    double msg[3] = {q->pend_items, q->pend_units, q->local_int ? 1.0 : 0.0};
    q->pend_items = q->pend_units = 0;
    MPI_CHECK(MPI_Irecv(q->rep_buf, 2, MPI_LONG, 0, QUEUE_TAG_REP, q->comm, &q->rep));
    MPI_CHECK(MPI_Send(msg, 3, MPI_DOUBLE, 0, QUEUE_TAG_REQ, q->comm));
    q->waiting = 1;
    return UTIL_OK;
}

int mpi_queue_next(mpi_queue *q, size_t *item, char *err, size_t errlen)
{
    if (!q->in_round) return 0;
    if (q->rank == 0 && q->use_thread) {
        pthread_mutex_lock(&q->lock);
        int got = take_own(q, item);
        pthread_mutex_unlock(&q->lock);
        /* nothing left for rank 0: the round is over for it, while its server goes on answering the
         * workers (joined in mpi_queue_round), so rank 0 does what else it has meanwhile */
        return got;
    }
    if (q->rank == 0) {
        if (util_interrupted()) q->stop = 1;
        if (q->size > 1) {
            int rc = serve(q, 0, err, errlen);
            if (rc) return rc;
        }
        if (take_own(q, item)) return 1;
        /* nothing left for rank 0: answer until every worker has heard "round over" */
        while (q->empties < q->size - 1) {
            int rc = serve(q, 1, err, errlen);
            if (rc) return rc;
        }
        return 0;
    }
    for (;;) {
        if (util_interrupted()) q->local_int = 1;
        if (q->local_int) q->lo = q->hi; /* drop the rest of the chunk */
        if (q->lo < q->hi) {
            *item = q->items[q->lo++];
            q->local_count++;
            return 1;
        }
        if (q->round_over) return 0;
        if (!q->waiting) {
            int rc = worker_request(q, err, errlen);
            if (rc) return rc;
        }
        MPI_CHECK(MPI_Wait(&q->rep, MPI_STATUS_IGNORE));
        q->waiting = 0;
        if (q->rep_buf[0] == q->rep_buf[1]) {
            q->round_over = 1;
            return 0;
        }
        q->lo = (size_t)q->rep_buf[0];
        q->hi = (size_t)q->rep_buf[1];
        if (!q->local_int) { /* prefetch: ask for the next chunk while working on this one */
            int rc = worker_request(q, err, errlen);
            if (rc) return rc;
        }
    }
}

void mpi_queue_report(mpi_queue *q, double units)
{
    if (q->rank == 0) {
        pthread_mutex_lock(&q->lock);
        q->done++;
        q->units += units;
        pthread_mutex_unlock(&q->lock);
    } else {
        q->pend_items += 1;
        q->pend_units += units;
    }
}

void mpi_queue_progress(mpi_queue *q, size_t *done, double *units)
{
    pthread_mutex_lock(&q->lock);
    if (done) *done = q->rank == 0 ? q->done : q->local_count;
    if (units) *units = q->units + q->pend_units;
    pthread_mutex_unlock(&q->lock);
}

int mpi_queue_interrupted(const mpi_queue *q) { return q->interrupted; }
size_t mpi_queue_local_count(const mpi_queue *q) { return q->local_count; }
