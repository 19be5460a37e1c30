/* report.c - `artistnet report`: options -> report_write on rank 0 (report/: the HTML page, its SVG
 * charts and the run-folder readers), the outcome agreed over ranks, one line on stdout. */
#include "jobs/jobs.h"
#include "mpi/mpi_util.h"
#include "report/report.h"
#include "util/util.h"

#include <stdio.h>

int job_report_main(int argc, char **argv, MPI_Comm comm, char *err, size_t errlen)
{
    struct {
        const char *run, *out, *title;
        int quiet;
    } o = {0};
    util_opt opts[] = {
        {"run", UTIL_OPT_STRING, &o.run, "", "run folder written by `artistnet pipeline --out DIR`", 0, -1, 1},
        {"out", UTIL_OPT_STRING, &o.out, "", "output HTML file (default: RUN/report.html)", 0, -1, 0},
        {"title", UTIL_OPT_STRING, &o.title, "artistnet run report", "page title", 0, -1, 0},
        {"quiet", UTIL_OPT_FLAG, &o.quiet, "", "do not print where the report went", 0, -1, 0},
        {NULL, 0, NULL, NULL, NULL, 0, 0, 0}};
    int rc = util_opts_parse("report",
                             "One self-contained HTML page (SVG charts, no network, no JavaScript) about a pipeline run folder.",
                             opts, argc, argv, err, errlen);
    if (rc) return rc;
    if (mpi_util_rank(comm) == 0) {
        report_summary sum;
        rc = report_write(o.run, o.out, o.title, &sum, err, errlen);
        if (!rc && !o.quiet)
            printf("report: wrote %s (%.0f kB; %d task label%s, %d feature set%s)\n", sum.out, sum.bytes / 1024.0,
                   sum.n_labels, sum.n_labels == 1 ? "" : "s", sum.n_sets, sum.n_sets == 1 ? "" : "s");
    }
    return mpi_util_agree(comm, rc, err, errlen);
}
