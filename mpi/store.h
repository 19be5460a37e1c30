/* store.h - parallel HDF5 store: one file opened by every rank of a communicator through MPI-IO
 * (H5Pset_fapl_mpio), datasets created collectively with the same arguments on every rank, rows
 * written collectively (a rank with no rows takes part with H5Sselect_none), fixed-length UTF-8
 * strings (parallel HDF5 1.10 cannot write variable-length data), root/dataset attributes, and the
 * per-row completion record that --resume reads back. The HDF5 H5PAR examples' pattern.
 *
 * Datasets are named by path ("/mel" or "mel"). Row r of a dataset with dims (N, d1, d2, ...) is
 * the block [r, :, :, ...]. All functions return 0 or a negative util.h code with a message naming
 * the file and dataset; HDF5's own error printing is off. Functions marked collective must be
 * called by every rank in the same order with the same metadata arguments.
 */
#ifndef ARTISTNET_MPI_STORE_H
#define ARTISTNET_MPI_STORE_H
#include <mpi.h>
#include <stddef.h>

typedef struct mpi_store mpi_store;

typedef enum {
    MPI_STORE_F32,
    MPI_STORE_F64,
    MPI_STORE_I8,
    MPI_STORE_I32,
    MPI_STORE_I64
} mpi_store_type;

#define MPI_STORE_MAX_RANK 8

/* Collective. create: truncates an existing file. open: writable 0/1. Missing file or not HDF5 ->
 * UTIL_EINPUT. */
int mpi_store_create(MPI_Comm comm, const char *path, mpi_store **out, char *err, size_t errlen);
int mpi_store_open(MPI_Comm comm, const char *path, int writable, mpi_store **out, char *err, size_t errlen);
/* Collective: flush metadata and raw data to the file (after this a killed job leaves a readable
 * file whose rows written so far are on disk). */
int mpi_store_flush(mpi_store *s, char *err, size_t errlen);
/* Collective; frees s even on error. A file made by mpi_store_create in which a dataset could not
 * be created (e.g. not enough space: the creators check free space first) is removed. */
int mpi_store_close(mpi_store *s, char *err, size_t errlen);
const char *mpi_store_path(const mpi_store *s);

/* How row writes reach the file: COLLECTIVE (MPI-IO two-phase collective buffering) or the
 * collective HDF5 call with independent MPI-IO underneath (H5FD_MPIO_INDIVIDUAL_IO), which is
 * faster for large row blocks that never interleave between ranks. Default: INDEPENDENT_IO. */
typedef enum { MPI_STORE_IO_COLLECTIVE, MPI_STORE_IO_INDEPENDENT_IO } mpi_store_io;
void mpi_store_set_io(mpi_store *s, mpi_store_io mode);

/* Collective. A dataset of `rank` dims (dims[0] = rows), space allocated at creation. chunk_rows:
 * rows per chunk (0: as many as fit in 1 MiB, at least 1; -1: contiguous layout). fill: NULL -> no
 * fill value written (every row must be written), else a pointer to one element written to all
 * rows at creation. */
int mpi_store_dataset_create(mpi_store *s, const char *name, mpi_store_type t, int rank,
                             const size_t *dims, long chunk_rows, const void *fill, char *err,
                             size_t errlen);
/* 1 if the dataset (or group) exists, 0 if not */
int mpi_store_exists(mpi_store *s, const char *name);
/* dims of a dataset (up to MPI_STORE_MAX_RANK); UTIL_EINPUT when missing */
int mpi_store_dataset_dims(mpi_store *s, const char *name, int *rank, size_t *dims, char *err, size_t errlen);

/* Collective. This rank's n rows rows[0..n) (any order, need not be contiguous, no duplicates),
 * buf holding them in that order, each row prod(dims[1..]) elements of type t. n may be 0. */
int mpi_store_rows_write(mpi_store *s, const char *name, mpi_store_type t, const size_t *rows, size_t n,
                         const void *buf, char *err, size_t errlen);
/* Independent row writes (this rank only, at any time, no other rank takes part): raw data into
 * space allocated at creation, no metadata change, as parallel HDF5 allows. The dataset is opened
 * once for them, collectively, by mpi_store_local_open (it stays open until mpi_store_close, which
 * closes it on every rank: H5Dclose is collective); one dataset at a time. Each run of consecutive
 * rows is one write. */
int mpi_store_local_open(mpi_store *s, const char *name, char *err, size_t errlen);
int mpi_store_rows_write_local(mpi_store *s, const char *name, mpi_store_type t, const size_t *rows, size_t n,
                               const void *buf, char *err, size_t errlen);
/* Reads rows into buf. collective 1: every rank calls (n may be 0); 0: independent. */
int mpi_store_rows_read(mpi_store *s, const char *name, mpi_store_type t, const size_t *rows, size_t n,
                        void *buf, int collective, char *err, size_t errlen);
/* Collective: every rank reads the whole dataset (small ones: labels, status). */
int mpi_store_read_all(mpi_store *s, const char *name, mpi_store_type t, void *buf, char *err, size_t errlen);

/* Collective. Fixed-length UTF-8 strings sized to the longest value (at least 1 byte); `values`
 * the same on every rank; rank 0 writes, the others take part with an empty selection. */
int mpi_store_strings_write(mpi_store *s, const char *name, const char *const *values, size_t n,
                            char *err, size_t errlen);
/* Collective. A string dataset of n rows of `width` bytes (filled with empty strings) for per-row
 * writes, e.g. /errors; mpi_store_strings_rows_write truncates longer values at a UTF-8 boundary. */
int mpi_store_strings_create(mpi_store *s, const char *name, size_t n, size_t width, char *err, size_t errlen);
int mpi_store_strings_rows_write(mpi_store *s, const char *name, const size_t *rows, size_t n,
                                 const char *const *values, char *err, size_t errlen);
/* Collective: every rank reads all strings (malloc'ed; free with mpi_store_strings_free). */
int mpi_store_strings_read(mpi_store *s, const char *name, char ***values, size_t *n, char *err, size_t errlen);
void mpi_store_strings_free(char **values, size_t n);

/* Attributes on an object (obj NULL or "/": the file's root group). Writes are collective and
 * replace an existing attribute; reads are local. Strings are fixed-length UTF-8 scalars. */
int mpi_store_attr_write_string(mpi_store *s, const char *obj, const char *name, const char *value,
                                char *err, size_t errlen);
int mpi_store_attr_write_int(mpi_store *s, const char *obj, const char *name, long long value, char *err,
                             size_t errlen);
int mpi_store_attr_write_double(mpi_store *s, const char *obj, const char *name, double value, char *err,
                                size_t errlen);
/* 1 if obj (NULL: the root) has attribute `name`, 0 if not (or obj does not exist) */
int mpi_store_attr_exists(mpi_store *s, const char *obj, const char *name);
int mpi_store_attr_read_string(mpi_store *s, const char *obj, const char *name, char *buf, size_t bufsize,
                               char *err, size_t errlen);
int mpi_store_attr_read_int(mpi_store *s, const char *obj, const char *name, long long *value, char *err,
                            size_t errlen);
int mpi_store_attr_read_double(mpi_store *s, const char *obj, const char *name, double *value, char *err,
                               size_t errlen);

/* Completion record for --resume: an int8 (N) dataset whose fill value `pending` marks rows not
 * written yet (jobs use /status with fill -1 and write it last in each batch). Collective: every
 * rank gets the pending rows in increasing order (malloc'ed, may be empty). */
int mpi_store_rows_pending(mpi_store *s, const char *name, signed char pending, size_t **rows, size_t *n,
                           char *err, size_t errlen);
#endif
