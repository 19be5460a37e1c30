/* bench_store.c - parallel HDF5 row writes (mpi/store.h, the /mel access pattern: rows of
 * (10, 128, 129) float32 = 660 KB handed out in chunks of 4 to ranks; written by each rank 4 at a
 * time as made (independent I/O, the mel job), or collectively per round)
 * against a plain sequential fwrite of the same bytes from one process, in the same run.
 *   mpirun -n P bench_store [DIR] [ROWS] [ROUND]
 * Prints MB/s of each and the ratio; timings include closing the file. Two settings: no fsync
 * (page-cache bandwidth) and one fsync per round on both sides (what the mel job does: H5Fflush with
 * MPI-IO ends in MPI_File_sync). */
#include "mpi/mpi_util.h"
#include "mpi/store.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROW (10 * 128 * 129)

static double hdf5_write(MPI_Comm comm, const char *path, size_t rows, size_t round, mpi_store_io io, long chunk,
                         int local, int sync)
{
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    char err[UTIL_ERRLEN];
    size_t *mine = malloc(round * sizeof *mine);
    float *buf = malloc(round * ROW * sizeof *buf);
    for (size_t i = 0; i < round * ROW; i++) buf[i] = (float)(i % 977) * 0.001f;
    MPI_Barrier(comm);
    double t0 = MPI_Wtime();
    mpi_store *s;
    if (mpi_store_create(comm, path, &s, err, sizeof err)) { fprintf(stderr, "%s\n", err); MPI_Abort(comm, 1); }
    mpi_store_set_io(s, io);
    size_t dims[4] = {rows, 10, 128, 129};
    if (mpi_store_dataset_create(s, "mel", MPI_STORE_F32, 4, dims, chunk, NULL, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        MPI_Abort(comm, 1);
    }
    if (local && mpi_store_local_open(s, "mel", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        MPI_Abort(comm, 1);
    }
    double t1 = MPI_Wtime();
    for (size_t r0 = 0; r0 < rows; r0 += round) {
        size_t r1 = r0 + round < rows ? r0 + round : rows, n = 0;
        /* chunks of 4 rows dealt round-robin, as the queue hands them out */
        for (size_t r = r0; r < r1; r++)
            if (((r - r0) / 4) % (size_t)size == (size_t)rank) mine[n++] = r;
        int rc = UTIL_OK;
        if (local) /* each chunk of 4 rows on its own, independently */
            for (size_t i = 0; !rc && i < n; i += 4)
                rc = mpi_store_rows_write_local(s, "mel", MPI_STORE_F32, mine + i, n - i < 4 ? n - i : 4, buf, err, sizeof err);
        else
            rc = mpi_store_rows_write(s, "mel", MPI_STORE_F32, mine, n, buf, err, sizeof err);
        if (rc) {
            fprintf(stderr, "%s\n", err);
            MPI_Abort(comm, 1);
        }
        if (sync) mpi_store_flush(s, err, sizeof err); /* H5Fflush: MPI_File_sync = fsync */
    }
    double t2 = MPI_Wtime();
    mpi_store_close(s, err, sizeof err);
    MPI_Barrier(comm);
    if (getenv("BENCH_STORE_VERBOSE") && rank == 0)
        fprintf(stderr, "  create %.3f s, writes %.3f s, close %.3f s\n", t1 - t0, t2 - t1, MPI_Wtime() - t2);
    double t = MPI_Wtime() - t0;
    free(mine);
    free(buf);
    return t;
}

static double raw_write(const char *path, size_t rows, size_t round, int sync)
{
    float *buf = malloc(ROW * sizeof *buf);
    for (size_t i = 0; i < ROW; i++) buf[i] = (float)(i % 977) * 0.001f;
    double t0 = MPI_Wtime();
    FILE *f = fopen(path, "wb");
    for (size_t r = 0; r < rows; r++) {
        fwrite(buf, sizeof *buf, ROW, f);
        if (sync && ((r + 1) % round == 0 || r + 1 == rows)) {
            fflush(f);
            fsync(fileno(f));
        }
    }
    fclose(f);
    double t = MPI_Wtime() - t0;
    free(buf);
    return t;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    size_t rows = argc > 2 ? (size_t)atol(argv[2]) : 256;
    size_t round = argc > 3 ? (size_t)atol(argv[3]) : 64;
    int rank = mpi_util_rank(comm);
    char h5[512], raw[512];
    snprintf(h5, sizeof h5, "%s/bench_store.h5", dir);
    snprintf(raw, sizeof raw, "%s/bench_store.raw", dir);
    double mb = (double)rows * ROW * 4 / 1e6;
    struct { const char *name; mpi_store_io io; long chunk; int local; } modes[] = {
        {"contiguous, independent writes of 4 rows (mel job)", MPI_STORE_IO_INDEPENDENT_IO, -1, 1},
        {"contiguous, collective call + independent MPI-IO", MPI_STORE_IO_INDEPENDENT_IO, -1, 0},
        {"contiguous, collective MPI-IO (two-phase)", MPI_STORE_IO_COLLECTIVE, -1, 0},
        {"chunk = 1 row, collective call + independent MPI-IO", MPI_STORE_IO_INDEPENDENT_IO, 1, 0},
    };
    enum { NM = sizeof modes / sizeof modes[0] };
    /* best of 3 for each, interleaved so background load hits all alike; without and with a sync
     * per round (the mel job flushes after every round so a killed job loses nothing written) */
    for (int sync = 0; sync < 2; sync++) {
        double best_raw = 1e30, best[NM];
        for (int m = 0; m < NM; m++) best[m] = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t = 0;
            if (rank == 0) t = raw_write(raw, rows, round, sync);
            MPI_Bcast(&t, 1, MPI_DOUBLE, 0, comm);
            if (t < best_raw) best_raw = t;
            if (rank == 0) unlink(raw);
            for (int m = 0; m < NM; m++) {
                if (m == NM - 1 && (sync || rep)) continue; /* the slow chunked layout: once */
                t = hdf5_write(comm, h5, rows, round, modes[m].io, modes[m].chunk, modes[m].local, sync);
                if (t < best[m]) best[m] = t;
                if (rank == 0) unlink(h5);
            }
        }
        if (rank == 0) {
            printf("bench_store: %zu rows x 660 KB = %.0f MB, %d ranks, %zu rows per round, best of 3, %s\n",
                   rows, mb, mpi_util_size(comm), round, sync ? "fsync after every round (as the mel job)" : "no fsync (page cache)");
            printf("  plain fwrite, 1 process:            %8.0f MB/s\n", mb / best_raw);
            for (int m = 0; m < NM; m++)
                if (best[m] < 1e29)
                    printf("  HDF5 %-58s %8.0f MB/s  = %.0f%% of fwrite\n", modes[m].name, mb / best[m], 100.0 * best_raw / best[m]);
        }
    }
    MPI_Finalize();
    return 0;
}
