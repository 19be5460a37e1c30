/* job_common.h - pieces the track-list jobs (mel, extract) share when they write their outputs. */
#ifndef ARTISTNET_JOB_COMMON_H
#define ARTISTNET_JOB_COMMON_H
#include "extract/extract.h"
#include "mpi/store.h"
#include "shard/shard.h"
#include "util/util.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bytes per /errors entry of mels.h5 and features.h5: every per-track message is built in a
 * UTIL_ERRLEN buffer, so a row holds the whole message (fixed-length strings: parallel HDF5 cannot
 * write variable-length ones). It was 256 before, and longer messages were cut. */
#define JOB_ERRORS_WIDTH UTIL_ERRLEN

/* "fnv1a64:<16 hex digits>" */
void job_hash_text(char *buf, size_t n, uint64_t h);
/* Collective: root attributes naming the list and the run: list (path), list_hash, columns (the
 * list's column names, tab-joined), version, ranks, command_line. */
int job_write_provenance(mpi_store *s, const shard_list *list, const char *list_path, int argc, char **argv,
                         MPI_Comm comm, char *err, size_t errlen);
/* The resampler a mels.h5 or features.h5 was made with (root attribute `resampler`; files written
 * before it was recorded have none and used soxr-hq). UTIL_EINPUT naming the file for an unknown name. */
int job_read_resampler(mpi_store *s, const char *path, extract_resampler *rs, char *err, size_t errlen);
/* The resampler option of the jobs that decode audio: NULL or "" -> fallback; else a known name or
 * UTIL_EUSAGE. */
int job_parse_resampler(const char *opt, extract_resampler fallback, extract_resampler *rs, char *err, size_t errlen);
#endif
