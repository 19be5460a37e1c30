/* progress.h - a thread that keeps this rank's nonblocking collectives moving while it computes.
 *
 * Open MPI moves a nonblocking collective (libnbc's MPI_Iallreduce: a schedule of rounds) only inside
 * MPI calls of the ranks taking part, so a rank in a long computation (a LIBSVM fit of a second or
 * more) holds up every other rank's round for that long, and a sum started by all ranks completes only
 * after several such waits. The thread makes one cheap MPI call (MPI_Iprobe for a tag nobody sends)
 * every period, which runs the library's progress engine for all of this rank's requests.
 *
 * Needs MPI_THREAD_MULTIPLE (jobs/main.c asks for it for the jobs that use this); without it, or with
 * one rank, mpi_progress_start returns NULL and nothing runs. */
#ifndef ARTISTNET_MPI_PROGRESS_H
#define ARTISTNET_MPI_PROGRESS_H
#include <mpi.h>

typedef struct mpi_progress mpi_progress;

/* Starts the thread (period: seconds between calls). Each call is a few microseconds, but a wake-up
 * every millisecond on a core busy with LIBSVM slowed evaluate's fits by 5-7% (2 ranks, 4,000 rows);
 * every 10 ms cost nothing measurable, and a sum's rounds wait 10 ms at most instead of a fit. */
mpi_progress *mpi_progress_start(MPI_Comm comm, double period);
/* Stops and joins it; NULL is a no-op. */
void mpi_progress_stop(mpi_progress *p);
#endif
