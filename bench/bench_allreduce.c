/* bench_allreduce.c - time of one MPI_Allreduce of the DCNN's flat gradient buffer (float sum), the
 * only collective of a training step, for the README's scaling model. Run at several rank counts:
 *   mpirun -n P bench_allreduce [n_classes]   (default 5000 classes: ~1.48 M floats, 5.9 MB)
 * Prints the median of 50 calls and the effective bus bandwidth 2(P-1)/P * bytes / t. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long classes = argc > 1 ? atol(argv[1]) : 5000;
    /* Table 1: conv 128x4 (x3), 128x2, 256x1 with biases; BN gamma/beta; dense 256 -> C */
    long n = 3 * (128L * 128 * 4 + 128) + (128L * 128 * 2 + 128) + (128L * 256 + 256) +
             2 * (4 * 128 + 256) + 256 * classes + classes;
    float *buf = malloc((size_t)n * sizeof *buf);
    for (long i = 0; i < n; i++) buf[i] = (float)(i % 7);
    enum { REPS = 50 };
    double t[REPS];
    for (int r = 0; r < 5; r++) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (int r = 0; r < REPS; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        t[r] = MPI_Wtime() - t0;
    }
    MPI_Allreduce(MPI_IN_PLACE, t, REPS, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    qsort(t, REPS, sizeof t[0], cmp);
    if (rank == 0) {
        double med = t[REPS / 2], bytes = (double)n * sizeof(float);
        printf("allreduce ranks=%d floats=%ld bytes=%.1fMB median=%.3f ms busbw=%.2f GB/s\n", size, n,
               bytes / 1e6, med * 1e3, size > 1 ? 2.0 * (size - 1) / size * bytes / med / 1e9 : 0.0);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
