/* progress.c - the progress thread (see progress.h) */
#include "mpi/progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

enum { PROGRESS_TAG = 32001 }; /* sent by nobody: the probe never matches */

struct mpi_progress {
    MPI_Comm comm;
    struct timespec nap;
    atomic_int stop;
    pthread_t thread;
};

static void *progress_main(void *arg)
{
    mpi_progress *p = arg;
    while (!atomic_load(&p->stop)) {
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, PROGRESS_TAG, p->comm, &flag, MPI_STATUS_IGNORE);
        nanosleep(&p->nap, NULL);
    }
    return NULL;
}

mpi_progress *mpi_progress_start(MPI_Comm comm, double period)
{
    int level = MPI_THREAD_SINGLE, size = 1;
    MPI_Query_thread(&level);
    MPI_Comm_size(comm, &size);
    if (level < MPI_THREAD_MULTIPLE || size < 2) return NULL;
    mpi_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->comm = comm;
    p->nap.tv_sec = (time_t)period;
    p->nap.tv_nsec = (long)((period - (double)p->nap.tv_sec) * 1e9);
    atomic_init(&p->stop, 0);
    if (pthread_create(&p->thread, NULL, progress_main, p)) {
        free(p);
        return NULL;
    }
    return p;
}

void mpi_progress_stop(mpi_progress *p)
{
    if (!p) return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    free(p);
}
