/* mpi_util.c - MPI error reports and return-code agreement (see mpi_util.h). */
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <string.h>

int mpi_util_report(char *err, size_t errlen, const char *file, int line, const char *call, int code)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0, rank = -1;
    MPI_Error_string(code, msg, &len);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return util_fail(err, errlen, UTIL_EFAIL, "%s:%d: %s failed on rank %d: %s", file, line, call, rank, msg);
}

int mpi_util_rank(MPI_Comm comm)
{
    int r = 0;
    MPI_Comm_rank(comm, &r);
    return r;
}

int mpi_util_size(MPI_Comm comm)
{
    int s = 1;
    MPI_Comm_size(comm, &s);
    return s;
}

/* Severity order for agreement: input/usage errors first, then interrupts, failures, track errors. */
static int severity(int rc)
{
    switch (rc) {
    case UTIL_OK: return 0;
    case UTIL_ETRACK: return 1;
    case UTIL_EFAIL: return 2;
    case UTIL_EINTR: return 3;
    case UTIL_EUSAGE: return 4;
    case UTIL_EINPUT: return 5;
    default: return 2;
    }
}

int mpi_util_agree(MPI_Comm comm, int rc, char *err, size_t errlen)
{
    int rank = mpi_util_rank(comm);
    int in[2] = {severity(rc), rank}, out[2];
    /* MAXLOC on (severity, rank): ties go to the lowest rank */
    if (MPI_Allreduce(in, out, 1, MPI_2INT, MPI_MAXLOC, comm) != MPI_SUCCESS) return UTIL_EFAIL;
    if (out[0] == 0) return UTIL_OK;
    int root = out[1];
    int code = rc;
    MPI_Bcast(&code, 1, MPI_INT, root, comm);
    if (err && errlen) {
        char buf[UTIL_ERRLEN];
        memset(buf, 0, sizeof buf);
        if (rank == root) strncpy(buf, err, sizeof buf - 1);
        MPI_Bcast(buf, (int)sizeof buf, MPI_CHAR, root, comm);
        strncpy(err, buf, errlen - 1);
        err[errlen - 1] = 0;
    }
    return code;
}
