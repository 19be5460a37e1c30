/* report.h - the HTML report of a pipeline run folder (report/): one self-contained page with inline
 * SVG charts (training curves, stage times, per-fold accuracies, confusion heat maps, LDA scatter,
 * failure table, file attributes), no network and no JavaScript. Serial and read-only on the run
 * folder; `artistnet report` (jobs/report.c) calls it on rank 0. Inside the module: page.c builds the
 * page, svg.c draws the charts, data.c reads TSV and HDF5 files, results.json is read with jansson. */
#ifndef ARTISTNET_REPORT_H
#define ARTISTNET_REPORT_H
#include <stddef.h>

typedef struct {
    char out[4200];  /* the file written */
    size_t bytes;    /* its size */
    int n_labels;    /* task labels found under eval/ */
    int n_sets;      /* feature sets found under eval/<label>/ */
} report_summary;

/* Writes the report of the run folder `run` to `out` (NULL or "": run/report.html) with the page title
 * `title` (NULL: "artistnet run report"). Missing pieces of the folder become "not available" notes in
 * the page; only an unreadable run folder (UTIL_EINPUT), a path too long (UTIL_EUSAGE) or an
 * unwritable out (UTIL_EINPUT / UTIL_EFAIL) fail. sum (may be NULL) describes what was written. */
int report_write(const char *run, const char *out, const char *title, report_summary *sum, char *err, size_t errlen);

#endif
