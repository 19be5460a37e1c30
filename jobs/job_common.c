/* job_common.c - provenance attributes and the stage-time table shared by the mel and extract jobs
 * (see job_common.h). */
#include "jobs/job_common.h"
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void job_hash_text(char *buf, size_t n, uint64_t h) { snprintf(buf, n, "fnv1a64:%016" PRIx64, h); }

int job_write_provenance(mpi_store *s, const shard_list *list, const char *list_path, int argc, char **argv,
                         MPI_Comm comm, char *err, size_t errlen)
{
    char buf[64];
    int rc = mpi_store_attr_write_string(s, NULL, "list", list_path, err, errlen);
    job_hash_text(buf, sizeof buf, list->hash);
    if (!rc) rc = mpi_store_attr_write_string(s, NULL, "list_hash", buf, err, errlen);
    size_t clen = 1;
    for (int c = 0; c < list->n_cols; c++) clen += strlen(list->col_names[c]) + 1;
    char *cols = calloc(clen, 1);
    if (!cols && !rc) rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    for (int c = 0; cols && c < list->n_cols; c++) {
        if (c) strcat(cols, "\t");
        strcat(cols, list->col_names[c]);
    }
    if (!rc) rc = mpi_store_attr_write_string(s, NULL, "columns", cols, err, errlen);
    free(cols);
    if (!rc) rc = mpi_store_attr_write_string(s, NULL, "version", ARTISTNET_VERSION, err, errlen);
    if (!rc) rc = mpi_store_attr_write_int(s, NULL, "ranks", mpi_util_size(comm), err, errlen);
    char *cmd = util_join_argv(argc, argv);
    if (!rc) rc = mpi_store_attr_write_string(s, NULL, "command_line", cmd ? cmd : "", err, errlen);
    free(cmd);
    return rc;
}

void job_print_stages(FILE *f, const char *job, const char *const *names, const double *t, int n, int threads,
                      int decode, int resample)
{
    const double total = t[n];
    char how[96] = "";
    if (threads > 0)
        snprintf(how, sizeof how, "; decode and resample in %d prefetch thread%s per rank, overlapped", threads,
                 threads > 1 ? "s" : "");
    fprintf(f, "%s: time per stage, summed over ranks (%.2f rank-seconds%s):\n", job, total, how);
    double sum = 0;
    for (int s = 0; s < n; s++) {
        const int thread = threads > 0 && (s == decode || s == resample);
        if (!thread) sum += t[s];
        if (t[s] > 0)
            fprintf(f, "  %-26s %9.3f s  %5.1f%%%s\n", names[s], t[s], total > 0 ? 100 * t[s] / total : 0.0,
                    thread ? "  (prefetch threads)" : "");
    }
    fprintf(f, "  %-26s %9.3f s  %5.1f%%\n", "other", total - sum, total > 0 ? 100 * (total - sum) / total : 0.0);
}

int job_read_resampler(mpi_store *s, const char *path, extract_resampler *rs, char *err, size_t errlen)
{
    char name[64];
    *rs = EXTRACT_RESAMPLER_SOXR_HQ;
    if (!mpi_store_attr_exists(s, NULL, "resampler")) return UTIL_OK; /* an older file: soxr-hq */
    int rc = mpi_store_attr_read_string(s, NULL, "resampler", name, sizeof name, err, errlen);
    if (rc) return rc; /* present but unreadable (not a string): the store's input error names the file */
    if (extract_resampler_parse(name, rs))
        return util_fail(err, errlen, UTIL_EINPUT, "%s: attribute resampler = '%s', not one of %s", path, name,
                         EXTRACT_RESAMPLER_NAMES);
    return UTIL_OK;
}

int job_parse_resampler(const char *opt, extract_resampler fallback, extract_resampler *rs, char *err, size_t errlen)
{
    *rs = fallback;
    if (!opt || !*opt) return UTIL_OK;
    if (extract_resampler_parse(opt, rs))
        return util_fail(err, errlen, UTIL_EUSAGE, "--resampler %s: not one of %s", opt, EXTRACT_RESAMPLER_NAMES);
    return UTIL_OK;
}
