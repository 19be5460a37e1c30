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

int job_read_resampler(mpi_store *s, const char *path, extract_resampler *rs, char *err, size_t errlen)
{
    char name[64];
    const int has = mpi_store_attr_exists(s, NULL, "resampler");
    /* present but unreadable (not a string): the store's input error names the file */
    int rc = has ? mpi_store_attr_read_string(s, NULL, "resampler", name, sizeof name, err, errlen) : UTIL_OK;
    return rc ? rc : extract_resampler_recorded(has ? name : NULL, path, rs, err, errlen);
}

int job_parse_resampler(const char *opt, extract_resampler fallback, extract_resampler *rs, char *err, size_t errlen)
{
    *rs = fallback;
    if (!opt || !*opt) return UTIL_OK;
    if (extract_resampler_parse(opt, rs))
        return util_fail(err, errlen, UTIL_EUSAGE, "--resampler %s: not one of %s", opt, EXTRACT_RESAMPLER_NAMES);
    return UTIL_OK;
}
