/* mpi_util.h - MPI helpers shared by every distributed job: error checking with MPI_ERRORS_RETURN,
 * agreeing on a return code across ranks, and rank-0 messages. Core code takes an MPI_Comm; only
 * jobs/ names MPI_COMM_WORLD. */
#ifndef ARTISTNET_MPI_UTIL_H
#define ARTISTNET_MPI_UTIL_H
#include <mpi.h>
#include <stddef.h>

/* Evaluates an MPI call; on failure writes "file:line: CALL failed on rank R: <MPI message>" to err
 * and returns UTIL_EFAIL from the enclosing function. Needs `char *err, size_t errlen` in scope and
 * MPI_ERRORS_RETURN set on the communicator (jobs/main.c sets it on MPI_COMM_WORLD). */
#define MPI_CHECK(call)                                                                     \
    do {                                                                                    \
        int mpi_rc_ = (call);                                                               \
        if (mpi_rc_ != MPI_SUCCESS) return mpi_util_report(err, errlen, __FILE__, __LINE__, #call, mpi_rc_); \
    } while (0)

int mpi_util_report(char *err, size_t errlen, const char *file, int line, const char *call, int code);

/* All ranks learn the worst return code (the most negative that is an error; UTIL_EINPUT/EUSAGE win
 * over EFAIL so the exit status says "bad input"). If any rank failed, the failing rank's message is
 * copied into err on every rank. Returns the agreed code. Collective. */
int mpi_util_agree(MPI_Comm comm, int rc, char *err, size_t errlen);

int mpi_util_rank(MPI_Comm comm);
int mpi_util_size(MPI_Comm comm);
#endif
