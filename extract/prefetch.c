/* prefetch.c - decode ahead of compute (see prefetch.h): a FIFO of tracks, POSIX threads that each
 * take the oldest undecoded one while fewer than `depth` decoded tracks wait, a mutex and two
 * condition variables (work for the threads; a result for the caller). Tracks are independent, so
 * which thread decodes one changes nothing in its samples; take() hands them out in FIFO order. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "extract/prefetch.h"
#include "extract/extract.h"
#include "util/util.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pf_slot {
    struct pf_slot *next;
    char *path;
    extract_resampler rs;
    int state; /* PF_QUEUED, PF_BUSY, PF_DONE */
    int rc;
    float *x;
    size_t n;
    double seconds;
    char msg[UTIL_ERRLEN];
} pf_slot;

enum { PF_QUEUED, PF_BUSY, PF_DONE };

struct extract_prefetch {
    int threads, depth;
    extract_resampler rs;
    pthread_t thread[EXTRACT_PREFETCH_MAX_THREADS];
    int started; /* threads running */
    pthread_mutex_t lock;
    pthread_cond_t work, result;
    int stop;
    pf_slot *head, *tail; /* FIFO: taken from head */
    size_t queued;        /* slots in the FIFO */
    int ready;            /* slots PF_DONE */
    extract_audio_times times;
    double wait;
};

static void slot_decode(pf_slot *s, extract_audio_times *t)
{
    s->msg[0] = 0;
    s->rc = extract_audio_load_timed(s->path, EXTRACT_SR, s->rs, &s->x, &s->n, &s->seconds, t, s->msg, sizeof s->msg);
}

/* the oldest slot not decoded yet, or NULL */
static pf_slot *first_queued(extract_prefetch *p)
{
    for (pf_slot *s = p->head; s; s = s->next)
        if (s->state == PF_QUEUED) return s;
    return NULL;
}

static void *pf_thread(void *arg)
{
    extract_prefetch *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        pf_slot *s = NULL;
        /* decoded + being decoded stays within depth + threads - 1: each thread may start one while
         * fewer than depth are ready */
        while (!p->stop && (p->ready >= p->depth || !(s = first_queued(p)))) pthread_cond_wait(&p->work, &p->lock);
        if (p->stop) break;
        s->state = PF_BUSY;
        pthread_mutex_unlock(&p->lock);
        extract_audio_times t = {0, 0};
        slot_decode(s, &t); /* s stays in the FIFO: take() waits for PF_DONE, free() joins first */
        pthread_mutex_lock(&p->lock);
        p->times.decode += t.decode;
        p->times.resample += t.resample;
        s->state = PF_DONE;
        p->ready++;
        pthread_cond_broadcast(&p->result); /* the caller waits for one slot: the oldest */
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int extract_prefetch_make(int threads, int depth, extract_resampler rs, extract_prefetch **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    if (threads < 0 || threads > EXTRACT_PREFETCH_MAX_THREADS)
        return util_fail(err, errlen, UTIL_EUSAGE, "prefetch: %d decode threads (0..%d)", threads,
                         EXTRACT_PREFETCH_MAX_THREADS);
    extract_prefetch *p = calloc(1, sizeof *p);
    if (!p) return util_fail(err, errlen, UTIL_EFAIL, "prefetch: out of memory");
    p->threads = threads;
    p->rs = rs;
    p->depth = depth > 0 ? depth : 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->result, NULL);
    /* the threads inherit this mask: every signal goes to the caller's threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = 0;
    while (p->started < threads && !(e = pthread_create(&p->thread[p->started], NULL, pf_thread, p))) p->started++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        extract_prefetch_free(p);
        return util_fail(err, errlen, UTIL_EFAIL, "prefetch: pthread_create failed: %s", strerror(e));
    }
    *out = p;
    return UTIL_OK;
}

int extract_prefetch_push(extract_prefetch *p, const char *path, char *err, size_t errlen)
{
    pf_slot *s = calloc(1, sizeof *s);
    if (!s || !(s->path = util_strdup(path))) {
        free(s);
        return util_fail(err, errlen, UTIL_EFAIL, "prefetch: out of memory");
    }
    s->rs = p->rs;
    pthread_mutex_lock(&p->lock);
    if (p->tail) p->tail->next = s;
    else p->head = s;
    p->tail = s;
    p->queued++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return UTIL_OK;
}

int extract_prefetch_take(extract_prefetch *p, float **x, size_t *n, double *seconds, char *msg, size_t msglen)
{
    *x = NULL;
    *n = 0;
    *seconds = 0;
    double t0 = util_now();
    pthread_mutex_lock(&p->lock);
    pf_slot *s = p->head;
    if (!s) {
        pthread_mutex_unlock(&p->lock);
        return util_fail(msg, msglen, UTIL_EFAIL, "prefetch: take() with nothing queued");
    }
    if (!p->threads) {
        s->state = PF_BUSY;
        pthread_mutex_unlock(&p->lock);
        slot_decode(s, &p->times); /* no other thread: times need no lock */
        pthread_mutex_lock(&p->lock);
        s->state = PF_DONE;
        p->ready++;
    }
    while (s->state != PF_DONE) pthread_cond_wait(&p->result, &p->lock);
    p->head = s->next;
    if (!p->head) p->tail = NULL;
    p->queued--;
    p->ready--;
    p->wait += util_now() - t0;
    pthread_cond_signal(&p->work); /* room for one more decoded track */
    pthread_mutex_unlock(&p->lock);
    *x = s->x;
    *n = s->n;
    *seconds = s->seconds;
    snprintf(msg, msglen, "%s", s->msg);
    int rc = s->rc;
    free(s->path);
    free(s);
    return rc;
}

size_t extract_prefetch_queued(const extract_prefetch *p)
{
    pthread_mutex_lock((pthread_mutex_t *)&p->lock);
    size_t q = p->queued;
    pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
    return q;
}

void extract_prefetch_times(const extract_prefetch *p, extract_audio_times *t, double *wait)
{
    pthread_mutex_lock((pthread_mutex_t *)&p->lock);
    if (t) *t = p->times;
    if (wait) *wait = p->threads ? p->wait : 0;
    pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
}

void extract_prefetch_free(extract_prefetch *p)
{
    if (!p) return;
    if (p->started) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->lock);
        for (int i = 0; i < p->started; i++) pthread_join(p->thread[i], NULL);
    }
    for (pf_slot *s = p->head, *nx; s; s = nx) {
        nx = s->next;
        free(s->x);
        free(s->path);
        free(s);
    }
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->result);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int extract_prefetch_auto(MPI_Comm comm, int opt, int depth, int *threads)
{
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    int per_rank = 1;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int mine = CPU_COUNT(&set);
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        /* unbound (the mask is the whole node): the node's ranks share it; bound: the mask is ours */
        per_rank = mine >= online ? mine / (local > 0 ? local : 1) : mine;
    }
    const int d = opt >= 0 ? opt : per_rank >= 2 ? depth : 0;
    if (threads) {
        int t = *threads > 0 ? *threads : per_rank < EXTRACT_PREFETCH_AUTO_THREADS ? per_rank : EXTRACT_PREFETCH_AUTO_THREADS;
        if (t > EXTRACT_PREFETCH_MAX_THREADS) t = EXTRACT_PREFETCH_MAX_THREADS;
        *threads = d > 0 ? (t > 1 ? t : 1) : 0;
    }
    return d;
}
