/* main.c - the one `main` of artistnet: selects OpenBLAS kernels, starts MPI, dispatches the
 * subcommand (jobs.h), prints its error and maps return codes to exit statuses:
 * 0 done, 1 failure, 2 bad usage or bad input file, 3 interrupted (resumable with --resume), 4 a
 * rank or its node was lost (mpi/watch.h; resumable too). */
#include "jobs/jobs.h"
#include "mpi/watch.h"
#include "nn/nn_blas.h"
#include "util/util.h"

#include <hdf5.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdio.h>
#include <string.h>

typedef int (*job_fn)(int, char **, MPI_Comm, char *, size_t);

/* Subcommand names are C identifiers in jobs.h; on the command line '-' stands for '_'
 * (import-keras -> import_keras). */
static int name_matches(const char *arg, const char *name)
{
    for (; *arg && *name; arg++, name++)
        if (*arg != *name && !(*arg == '-' && *name == '_')) return 0;
    return *arg == 0 && *name == 0;
}

static void print_name(FILE *f, const char *name)
{
    for (; *name; name++) fputc(*name == '_' ? '-' : *name, f);
}

static const struct {
    const char *name;
    job_fn fn;
    int resumable; /* takes --resume: an interrupted run continues where it stopped */
    const char *summary;
} jobs[] = {
#define JOB_ENTRY(name, resumable, summary) {#name, job_##name##_main, resumable, summary},
    JOB_LIST(JOB_ENTRY)
#undef JOB_ENTRY
    {NULL, NULL, 0, NULL}};

static void usage(FILE *f)
{
    fprintf(f, "usage: [mpirun -n N] artistnet SUBCOMMAND [options]   (artistnet SUBCOMMAND --help)\n\n"
               "Representation learning with artist labels (Park et al., MIREX 2017), at cluster scale.\n\n"
               "subcommands:\n");
    for (size_t i = 0; jobs[i].name; i++) {
        fputs("  ", f);
        print_name(f, jobs[i].name);
        fprintf(f, "%*s %s\n", (int)(14 - strlen(jobs[i].name)), "", jobs[i].summary);
    }
    fprintf(f, "\n  --version      versions of artistnet and its libraries, BLAS / DCNN kernels in use\n"
               "  --help         this help\n\n"
               "exit status: 0 done, 1 failure, 2 bad usage or bad input file, 3 interrupted (resume with --resume\n"
               "             where the subcommand has it:");
    for (size_t i = 0, k = 0; jobs[i].name; i++)
        if (jobs[i].resumable) {
            fputs(k++ ? ", " : " ", f);
            print_name(f, jobs[i].name);
        }
    fprintf(f, "; else run it again),\n"
               "             4 a rank or its node was lost (resume with --resume)\n\n"
               "environment: ARTISTNET_PEER_TIMEOUT=S  seconds without a heartbeat before a rank counts as lost\n"
               "             (default 30; 0: no peer watch)\n"
               "             ARTISTNET_NN_KERNELS=K  the DCNN's convolutions: openblas, onednn or auto (default:\n"
               "             oneDNN where the build has it and the CPU has AVX-512 that OpenBLAS's kernels\n"
               "             do not use, e.g. OPENBLAS_CORETYPE=Haswell on AMD Zen 4; else OpenBLAS)\n");
}

static void version(void)
{
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    char mpiv[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(mpiv, &len);
    char *nl = strchr(mpiv, ',');
    if (nl) *nl = 0;
    printf("artistnet %s\n  MPI: %s\n  HDF5: %u.%u.%u (parallel)\n  OpenBLAS kernels: %s\n  DCNN kernels: %s"
           " (ARTISTNET_NN_KERNELS=openblas|onednn|auto)\n  %s\n  soxr: %s\n",
           ARTISTNET_VERSION, mpiv, maj, min, rel, nn_blas_corename(), nn_kernels_describe(), sf_version_string(),
           soxr_version());
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* FUNNELED: threads of ours make no MPI calls, except mel's --queue-thread (the queue's server)
     * and evaluate's and mirex's progress thread (mpi/progress.h: their SVM grid's per-fold sums) */
    int provided = 0, want = name_matches(argv[1], "evaluate") || name_matches(argv[1], "mirex") ? MPI_THREAD_MULTIPLE
                                                                                                    : MPI_THREAD_FUNNELED;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--queue-thread")) want = MPI_THREAD_MULTIPLE;
    MPI_Init_thread(&argc, &argv, want, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int rc, resumable = 0;
    char err[UTIL_ERRLEN] = "";
    if (!strcmp(argv[1], "--version")) {
        if (rank == 0) version();
        rc = UTIL_OK;
    } else {
        rc = UTIL_EUSAGE;
        snprintf(err, sizeof err, "unknown subcommand '%s' (see artistnet --help)", argv[1]);
        for (size_t i = 0; jobs[i].name; i++)
            if (name_matches(argv[1], jobs[i].name)) {
                err[0] = 0;
                util_signals_install();
                mpi_watch_start(MPI_COMM_WORLD);
                if (rank == 0 && mpi_watch_hosts() > 1) {
                    char where[512];
                    mpi_watch_placement(where, sizeof where);
                    fprintf(stderr, "artistnet %s: ranks on %s\n", argv[1], where);
                }
                rc = jobs[i].fn(argc - 1, argv + 1, MPI_COMM_WORLD, err, sizeof err);
                resumable = jobs[i].resumable;
                break;
            }
    }
    if (rc < 0 && rank == 0) fprintf(stderr, "artistnet %s: %s\n", argv[1], err[0] ? err : "failed");
    if (rc == UTIL_EINTR && rank == 0)
        fprintf(stderr, resumable ? "artistnet %s: interrupted; state saved, run again with --resume to continue\n"
                                  : "artistnet %s: interrupted before it finished; run it again (it starts over)\n",
                argv[1]);
    mpi_watch_stop();
    MPI_Finalize();
    return util_exit_status(rc);
}
