/* store.c - parallel HDF5 store (see store.h): MPI-IO file access, collective dataset creation
 * with early space allocation, collective row writes with hyperslab unions (H5Sselect_none for a
 * rank without rows), fixed-length UTF-8 strings, attributes, and the per-row completion record.
 * HDF5's automatic error printing is turned off; every failure names the file, the dataset and
 * the innermost HDF5 error message. */
#include "mpi/store.h"
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

struct mpi_store {
    MPI_Comm comm;
    int rank;
    hid_t file;
    char *path;
    mpi_store_io io;
    unsigned long long promised; /* bytes of datasets created without fill (sparse until written) */
    int created, half_made;      /* made by mpi_store_create; a dataset of it could not be created */
    hid_t local_d;               /* dataset kept open for independent row writes (-1: none) */
    char *local_name;
};

/* innermost HDF5 error description (the most specific one) */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    char *buf = data;
    if (n == 0 && e->desc) snprintf(buf, 256, "%s", e->desc);
    return 0;
}

static int h5fail(const mpi_store *s, const char *name, const char *what, char *err, size_t errlen)
{
    char detail[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, detail);
    H5Eclear2(H5E_DEFAULT);
    return util_fail(err, errlen, UTIL_EFAIL, "%s: %s%s%s failed%s%s", s ? s->path : "?", name ? name : "",
                     name ? ": " : "", what, detail[0] ? ": " : "", detail);
}

static hid_t mem_type(mpi_store_type t)
{
    switch (t) {
    case MPI_STORE_F32: return H5T_NATIVE_FLOAT;
    case MPI_STORE_F64: return H5T_NATIVE_DOUBLE;
    case MPI_STORE_I8: return H5T_NATIVE_SCHAR;
    case MPI_STORE_I32: return H5T_NATIVE_INT32;
    case MPI_STORE_I64: return H5T_NATIVE_INT64;
    }
    return H5T_NATIVE_FLOAT;
}

static hid_t file_type(mpi_store_type t)
{
    switch (t) {
    case MPI_STORE_F32: return H5T_IEEE_F32LE;
    case MPI_STORE_F64: return H5T_IEEE_F64LE;
    case MPI_STORE_I8: return H5T_STD_I8LE;
    case MPI_STORE_I32: return H5T_STD_I32LE;
    case MPI_STORE_I64: return H5T_STD_I64LE;
    }
    return H5T_IEEE_F32LE;
}

static size_t type_size(mpi_store_type t)
{
    switch (t) {
    case MPI_STORE_F32: return 4;
    case MPI_STORE_F64: return 8;
    case MPI_STORE_I8: return 1;
    case MPI_STORE_I32: return 4;
    case MPI_STORE_I64: return 8;
    }
    return 4;
}

/* Free bytes of the file system holding the store's file; -1 when it does not say (f_blocks 0, as
 * some FUSE file systems report) or statvfs fails. */
static long long free_bytes(const mpi_store *s)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", s->path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = 0;
    else snprintf(dir, sizeof dir, ".");
    struct statvfs fs;
    if (statvfs(dir, &fs) != 0 || fs.f_blocks == 0) return -1;
    return (long long)fs.f_bavail * (long long)fs.f_frsize;
}

/* After a failed write: HDF5's MPI-IO driver reports only "file write failed"; say so when the
 * file system holding the file has less room left than the write needed. */
static void disk_full_hint(const mpi_store *s, size_t bytes, char *err, size_t errlen)
{
    long long avail = free_bytes(s);
    size_t len = strlen(err);
    if (avail >= 0 && (unsigned long long)avail < bytes + (1u << 20) && len + 1 < errlen)
        snprintf(err + len, errlen - len,
                 " (the file system is full: %lld bytes free; free space, then run again with --resume)", avail);
}

/* Collective, before creating a dataset with early allocation: fail cleanly on every rank when the
 * file system cannot hold it. HDF5 writes fill values while creating the dataset, and when that
 * write fails on one rank only, the other ranks wait for it forever inside H5Dcreate. */
static int space_check(mpi_store *s, const char *name, unsigned long long bytes, int filled, char *err,
                       size_t errlen)
{
    int rc = UTIL_OK;
    if (s->rank == 0) {
        long long avail = free_bytes(s);
        unsigned long long need = s->promised + bytes + (256u << 10);
        if (avail >= 0 && (unsigned long long)avail < need)
            rc = util_fail(err, errlen, UTIL_EFAIL,
                           "%s: %s: not enough space: the file needs %.1f MB more, the file system has %.1f MB free",
                           s->path, name, need / 1e6, avail / 1e6);
    }
    if (!filled) s->promised += bytes;
    rc = mpi_util_agree(s->comm, rc, err, errlen);
    if (rc) s->half_made = 1;
    return rc;
}

static int store_open(MPI_Comm comm, const char *path, int create, int writable, mpi_store **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    mpi_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = util_strdup(path))) {
        free(s);
        return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
    }
    s->comm = comm;
    s->rank = mpi_util_rank(comm);
    s->io = MPI_STORE_IO_INDEPENDENT_IO;
    s->local_d = -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    MPI_Info info = MPI_INFO_NULL;
    H5Pset_fapl_mpio(fapl, comm, info);
    H5Pset_coll_metadata_write(fapl, 1);
    s->created = create;
    if (create) s->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    else s->file = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (s->file < 0) {
        int rc = h5fail(s, NULL, create ? "H5Fcreate (create the file)" : "H5Fopen (open the file as HDF5)", err, errlen);
        if (!create) rc = UTIL_EINPUT;
        free(s->path);
        free(s);
        return rc;
    }
    *out = s;
    return UTIL_OK;
}

int mpi_store_create(MPI_Comm comm, const char *path, mpi_store **out, char *err, size_t errlen)
{
    return store_open(comm, path, 1, 1, out, err, errlen);
}

int mpi_store_open(MPI_Comm comm, const char *path, int writable, mpi_store **out, char *err, size_t errlen)
{
    return store_open(comm, path, 0, writable, out, err, errlen);
}

const char *mpi_store_path(const mpi_store *s) { return s->path; }
void mpi_store_set_io(mpi_store *s, mpi_store_io mode) { s->io = mode; }

int mpi_store_flush(mpi_store *s, char *err, size_t errlen)
{
    if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) return h5fail(s, NULL, "H5Fflush", err, errlen);
    return UTIL_OK;
}

int mpi_store_close(mpi_store *s, char *err, size_t errlen)
{
    if (!s) return UTIL_OK;
    int rc = UTIL_OK;
    if (s->local_d >= 0 && H5Dclose(s->local_d) < 0) rc = h5fail(s, s->local_name, "H5Dclose", err, errlen);
    free(s->local_name);
    if (s->file >= 0 && H5Fclose(s->file) < 0 && !rc) rc = h5fail(s, NULL, "H5Fclose", err, errlen);
    /* a new file without all its datasets (no space for them) is no output: remove it, so that a
     * --resume after freeing space starts afresh instead of refusing a file it cannot read */
    if (s->created && s->half_made && s->rank == 0) remove(s->path);
    free(s->path);
    free(s);
    return rc;
}

int mpi_store_exists(mpi_store *s, const char *name)
{
    return H5Lexists(s->file, name, H5P_DEFAULT) > 0;
}

int mpi_store_dataset_create(mpi_store *s, const char *name, mpi_store_type t, int rank,
                             const size_t *dims, long chunk_rows, const void *fill, char *err,
                             size_t errlen)
{
    if (rank < 1 || rank > MPI_STORE_MAX_RANK)
        return util_fail(err, errlen, UTIL_EFAIL, "%s: %s: rank %d not in [1, %d]", s->path, name, rank, MPI_STORE_MAX_RANK);
    hsize_t hd[MPI_STORE_MAX_RANK], ch[MPI_STORE_MAX_RANK];
    size_t row_bytes = type_size(t);
    for (int i = 0; i < rank; i++) {
        hd[i] = dims[i];
        ch[i] = dims[i] ? dims[i] : 1;
        if (i) row_bytes *= dims[i];
    }
    int rc = space_check(s, name, (unsigned long long)row_bytes * dims[0], fill != NULL, err, errlen);
    if (rc) return rc;
    hid_t sp = H5Screate_simple(rank, hd, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunk_rows >= 0 && dims[0] > 0) {
        size_t cr = chunk_rows > 0 ? (size_t)chunk_rows : (1u << 20) / (row_bytes ? row_bytes : 1);
        if (cr < 1) cr = 1;
        if (cr > dims[0]) cr = dims[0];
        ch[0] = cr;
        H5Pset_chunk(dcpl, rank, ch);
    }
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    if (fill) {
        H5Pset_fill_value(dcpl, mem_type(t), fill);
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    } else {
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(s->file, name, file_type(t), sp, lcpl, dcpl, H5P_DEFAULT);
    if (d < 0) rc = h5fail(s, name, "H5Dcreate (create the dataset)", err, errlen);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    rc = mpi_util_agree(s->comm, rc, err, errlen);
    if (rc) s->half_made = 1;
    return rc;
}

int mpi_store_dataset_dims(mpi_store *s, const char *name, int *rank, size_t *dims, char *err, size_t errlen)
{
    if (!mpi_store_exists(s, name))
        return util_fail(err, errlen, UTIL_EINPUT, "%s: no dataset %s", s->path, name);
    hid_t d = H5Dopen2(s->file, name, H5P_DEFAULT);
    if (d < 0) return h5fail(s, name, "H5Dopen", err, errlen);
    hid_t sp = H5Dget_space(d);
    hsize_t hd[MPI_STORE_MAX_RANK];
    int r = H5Sget_simple_extent_ndims(sp);
    if (r < 0 || r > MPI_STORE_MAX_RANK) {
        H5Sclose(sp);
        H5Dclose(d);
        return util_fail(err, errlen, UTIL_EINPUT, "%s: %s: unsupported rank %d", s->path, name, r);
    }
    H5Sget_simple_extent_dims(sp, hd, NULL);
    for (int i = 0; i < r; i++) dims[i] = hd[i];
    *rank = r;
    H5Sclose(sp);
    H5Dclose(d);
    return UTIL_OK;
}

/* file selection of the given rows (must be increasing) as a union of runs; n == 0: none */
static hid_t select_rows(hid_t fsp, const size_t *rows, size_t n)
{
    hsize_t dims[MPI_STORE_MAX_RANK], start[MPI_STORE_MAX_RANK] = {0}, count[MPI_STORE_MAX_RANK];
    int r = H5Sget_simple_extent_ndims(fsp);
    H5Sget_simple_extent_dims(fsp, dims, NULL);
    if (n == 0) {
        H5Sselect_none(fsp);
        return fsp;
    }
    for (int i = 1; i < r; i++) count[i] = dims[i];
    int first = 1;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && rows[j] == rows[j - 1] + 1) j++;
        start[0] = rows[i];
        count[0] = j - i;
        if (H5Sselect_hyperslab(fsp, first ? H5S_SELECT_SET : H5S_SELECT_OR, start, NULL, count, NULL) < 0)
            return -1;
        first = 0;
        i = j;
    }
    return fsp;
}


typedef struct {
    size_t row, pos;
} row_pos;

static int cmp_row_pos(const void *a, const void *b)
{
    const row_pos *x = a, *y = b;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* dataset names with or without the leading '/' */
static int same_name(const char *a, const char *b)
{
    return !strcmp(a + (a[0] == '/'), b + (b[0] == '/'));
}

/* Common path of row reads and writes. When rows are not increasing, a sorted copy of rows and a
 * permuted copy of the buffer are used (HDF5 maps memory to the file selection in file order). */
static int rows_io(mpi_store *s, const char *name, hid_t mtype, size_t esize, const size_t *rows, size_t n,
                   void *buf, int write, int collective, char *err, size_t errlen)
{
    /* the dataset kept open by mpi_store_local_open, or opened (and closed) here */
    const int kept = s->local_d >= 0 && same_name(name, s->local_name);
    hid_t d = kept ? s->local_d : H5Dopen2(s->file, name, H5P_DEFAULT);
    if (d < 0) {
        if (!mpi_store_exists(s, name))
            return util_fail(err, errlen, UTIL_EINPUT, "%s: no dataset %s", s->path, name);
        return h5fail(s, name, "H5Dopen", err, errlen);
    }
    hid_t fsp = H5Dget_space(d);
    int r = H5Sget_simple_extent_ndims(fsp);
    hsize_t dims[MPI_STORE_MAX_RANK];
    H5Sget_simple_extent_dims(fsp, dims, NULL);
    size_t row_elems = 1;
    for (int i = 1; i < r; i++) row_elems *= dims[i];
    size_t row_bytes = row_elems * esize;
    int rc = UTIL_OK;
    size_t *srows = NULL;
    char *sbuf = NULL;
    row_pos *rp = NULL;
    const size_t *use_rows = rows;
    char *use_buf = buf;
    int sorted = 1;
    for (size_t i = 0; i < n; i++) {
        if (rows[i] >= dims[0]) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s: row %zu out of range (%llu rows)", s->path, name,
                           rows[i], (unsigned long long)dims[0]);
            goto checked;
        }
        if (i && rows[i] <= rows[i - 1]) sorted = 0;
    }
    if (!sorted) {
        rp = malloc(n * sizeof *rp);
        srows = malloc(n * sizeof *srows);
        sbuf = malloc(n * row_bytes > 0 ? n * row_bytes : 1);
        if (!rp || !srows || !sbuf) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s: out of memory", s->path, name);
            goto checked;
        }
        for (size_t i = 0; i < n; i++) rp[i] = (row_pos){rows[i], i};
        qsort(rp, n, sizeof *rp, cmp_row_pos);
        for (size_t i = 0; i < n; i++) {
            if (i && rp[i].row == rp[i - 1].row) {
                rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s: row %zu given twice", s->path, name, rp[i].row);
                goto checked;
            }
            srows[i] = rp[i].row;
            if (write) memcpy(sbuf + i * row_bytes, (char *)buf + rp[i].pos * row_bytes, row_bytes);
        }
        use_rows = srows;
        use_buf = sbuf;
    }
    if (select_rows(fsp, use_rows, n) < 0) rc = h5fail(s, name, "H5Sselect_hyperslab", err, errlen);
checked:
    /* a collective transfer is entered by every rank or by none, and fails on every rank or on
     * none: a write that fails on one rank only (a full disk) must not leave the others waiting in
     * the next collective call */
    if (collective) rc = mpi_util_agree(s->comm, rc, err, errlen);
    if (rc) goto done;
    hsize_t mdims[MPI_STORE_MAX_RANK];
    mdims[0] = n ? n : 1;
    for (int i = 1; i < r; i++) mdims[i] = dims[i];
    hid_t msp = H5Screate_simple(r, mdims, NULL);
    if (n == 0) H5Sselect_none(msp);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (collective) {
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
        if (s->io == MPI_STORE_IO_INDEPENDENT_IO) H5Pset_dxpl_mpio_collective_opt(dxpl, H5FD_MPIO_INDIVIDUAL_IO);
    } else {
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT);
    }
    char dummy[16];
    void *b = n ? (void *)use_buf : (void *)dummy;
    herr_t hr = write ? H5Dwrite(d, mtype, msp, fsp, dxpl, b) : H5Dread(d, mtype, msp, fsp, dxpl, b);
    /* before any other HDF5 call: each one clears the error stack that h5fail reads */
    if (hr < 0) rc = h5fail(s, name, write ? "H5Dwrite (rows)" : "H5Dread (rows)", err, errlen);
    if (hr < 0 && write) disk_full_hint(s, n * row_bytes, err, errlen);
    H5Pclose(dxpl);
    H5Sclose(msp);
    if (collective) rc = mpi_util_agree(s->comm, rc, err, errlen);
    if (rc) goto done;
    if (!write && !sorted)
        for (size_t i = 0; i < n; i++) memcpy((char *)buf + rp[i].pos * row_bytes, sbuf + i * row_bytes, row_bytes);
done:
    free(rp);
    free(srows);
    free(sbuf);
    H5Sclose(fsp);
    if (!kept) H5Dclose(d);
    return rc;
}

int mpi_store_rows_write(mpi_store *s, const char *name, mpi_store_type t, const size_t *rows, size_t n,
                         const void *buf, char *err, size_t errlen)
{
    return rows_io(s, name, mem_type(t), type_size(t), rows, n, (void *)buf, 1, 1, err, errlen);
}

int mpi_store_local_open(mpi_store *s, const char *name, char *err, size_t errlen)
{
    if (s->local_d >= 0) {
        H5Dclose(s->local_d);
        free(s->local_name);
        s->local_d = -1;
        s->local_name = NULL;
    }
    int rc = UTIL_OK;
    if (!(s->local_name = util_strdup(name))) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", s->path);
    else if ((s->local_d = H5Dopen2(s->file, name, H5P_DEFAULT)) < 0)
        rc = mpi_store_exists(s, name) ? h5fail(s, name, "H5Dopen", err, errlen)
                                       : util_fail(err, errlen, UTIL_EINPUT, "%s: no dataset %s", s->path, name);
    return mpi_util_agree(s->comm, rc, err, errlen);
}

int mpi_store_rows_write_local(mpi_store *s, const char *name, mpi_store_type t, const size_t *rows, size_t n,
                               const void *buf, char *err, size_t errlen)
{
    if (!n) return UTIL_OK;
    if (s->local_d < 0 || !same_name(name, s->local_name))
        return util_fail(err, errlen, UTIL_EFAIL, "%s: %s: independent row writes need mpi_store_local_open first", s->path, name);
    return rows_io(s, name, mem_type(t), type_size(t), rows, n, (void *)buf, 1, 0, err, errlen);
}

int mpi_store_rows_read(mpi_store *s, const char *name, mpi_store_type t, const size_t *rows, size_t n,
                        void *buf, int collective, char *err, size_t errlen)
{
    return rows_io(s, name, mem_type(t), type_size(t), rows, n, buf, 0, collective, err, errlen);
}

static int read_all(mpi_store *s, const char *name, hid_t mtype, void *buf, char *err, size_t errlen)
{
    hid_t d = H5Dopen2(s->file, name, H5P_DEFAULT);
    if (d < 0) {
        if (!mpi_store_exists(s, name)) return util_fail(err, errlen, UTIL_EINPUT, "%s: no dataset %s", s->path, name);
        return h5fail(s, name, "H5Dopen", err, errlen);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    herr_t hr = H5Dread(d, mtype, H5S_ALL, H5S_ALL, dxpl, buf);
    H5Pclose(dxpl);
    H5Dclose(d);
    if (hr < 0) return h5fail(s, name, "H5Dread", err, errlen);
    return UTIL_OK;
}

int mpi_store_read_all(mpi_store *s, const char *name, mpi_store_type t, void *buf, char *err, size_t errlen)
{
    return read_all(s, name, mem_type(t), buf, err, errlen);
}

/* ---- strings ---- */
static hid_t string_type(size_t width)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, width ? width : 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    return t;
}

/* bytes of s that fit in width without cutting a UTF-8 sequence */
static size_t utf8_fit(const char *s, size_t width)
{
    size_t n = strlen(s);
    if (n <= width) return n;
    n = width;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

static int strings_create(mpi_store *s, const char *name, size_t n, size_t width, int fill_empty, hid_t *dset,
                          hid_t *type, char *err, size_t errlen)
{
    *dset = -1;
    int rc = space_check(s, name, (unsigned long long)n * width, fill_empty, err, errlen);
    if (rc) return rc;
    hsize_t dims[1] = {n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    *type = string_type(width);
    if (n > 0) {
        hsize_t ch[1] = {n};
        size_t per = (1u << 20) / (width ? width : 1);
        if (per < 1) per = 1;
        if (ch[0] > per) ch[0] = per;
        H5Pset_chunk(dcpl, 1, ch);
    }
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, fill_empty ? H5D_FILL_TIME_ALLOC : H5D_FILL_TIME_NEVER);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    *dset = H5Dcreate2(s->file, name, *type, sp, lcpl, dcpl, H5P_DEFAULT);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (*dset < 0) rc = h5fail(s, name, "H5Dcreate (string dataset)", err, errlen);
    rc = mpi_util_agree(s->comm, rc, err, errlen);
    if (rc) {
        s->half_made = 1;
        if (*dset >= 0) H5Dclose(*dset);
        H5Tclose(*type);
    }
    return rc;
}

int mpi_store_strings_write(mpi_store *s, const char *name, const char *const *values, size_t n,
                            char *err, size_t errlen)
{
    size_t width = 1;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(values[i]);
        if (l > width) width = l;
    }
    hid_t d, t;
    int rc = strings_create(s, name, n, width, 0, &d, &t, err, errlen);
    if (rc) return rc;
    char *buf = NULL;
    hsize_t md[1] = {n ? n : 1};
    hid_t msp = H5Screate_simple(1, md, NULL);
    hid_t fsp = H5Dget_space(d);
    if (s->rank == 0 && n > 0) {
        buf = calloc(n, width);
        if (!buf) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s: out of memory", s->path, name);
        for (size_t i = 0; buf && i < n; i++) memcpy(buf + i * width, values[i], strlen(values[i]));
    }
    if (!buf) { /* other ranks (and rank 0 without memory) take part with nothing */
        H5Sselect_none(msp);
        H5Sselect_none(fsp);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    char dummy[1];
    if (H5Dwrite(d, t, msp, fsp, dxpl, buf ? (void *)buf : (void *)dummy) < 0 && !rc)
        rc = h5fail(s, name, "H5Dwrite (strings)", err, errlen);
    rc = mpi_util_agree(s->comm, rc, err, errlen); /* rank 0 writes: the others learn of its failure */
    H5Pclose(dxpl);
    H5Sclose(fsp);
    H5Sclose(msp);
    H5Tclose(t);
    H5Dclose(d);
    free(buf);
    return rc;
}

int mpi_store_strings_create(mpi_store *s, const char *name, size_t n, size_t width, char *err, size_t errlen)
{
    hid_t d, t;
    int rc = strings_create(s, name, n, width, 1, &d, &t, err, errlen);
    if (rc) return rc;
    H5Tclose(t);
    H5Dclose(d);
    return UTIL_OK;
}

int mpi_store_strings_rows_write(mpi_store *s, const char *name, const size_t *rows, size_t n,
                                 const char *const *values, char *err, size_t errlen)
{
    hid_t d = H5Dopen2(s->file, name, H5P_DEFAULT);
    if (d < 0) return h5fail(s, name, "H5Dopen", err, errlen);
    hid_t ft = H5Dget_type(d);
    size_t width = H5Tget_size(ft);
    H5Tclose(ft);
    H5Dclose(d);
    char *buf = calloc(n ? n : 1, width);
    if (!buf) return util_fail(err, errlen, UTIL_EFAIL, "%s: %s: out of memory", s->path, name);
    for (size_t i = 0; i < n; i++) memcpy(buf + i * width, values[i], utf8_fit(values[i], width));
    hid_t t = string_type(width);
    int rc = rows_io(s, name, t, width, rows, n, buf, 1, 1, err, errlen);
    H5Tclose(t);
    free(buf);
    return rc;
}

void mpi_store_strings_free(char **values, size_t n)
{
    if (!values) return;
    for (size_t i = 0; i < n; i++) free(values[i]);
    free(values);
}

int mpi_store_strings_read(mpi_store *s, const char *name, char ***values, size_t *n, char *err, size_t errlen)
{
    *values = NULL;
    *n = 0;
    int r;
    size_t dims[MPI_STORE_MAX_RANK];
    int rc = mpi_store_dataset_dims(s, name, &r, dims, err, errlen);
    if (rc) return rc;
    hid_t d = H5Dopen2(s->file, name, H5P_DEFAULT);
    hid_t ft = H5Dget_type(d);
    int is_str = H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft);
    size_t width = H5Tget_size(ft);
    H5Tclose(ft);
    H5Dclose(d);
    if (r != 1 || !is_str)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: %s is not a 1-D fixed-length string dataset", s->path, name);
    size_t cnt = dims[0];
    char *buf = calloc(cnt ? cnt : 1, width);
    char **v = calloc(cnt ? cnt : 1, sizeof *v);
    if (!buf || !v) {
        free(buf);
        free(v);
        return util_fail(err, errlen, UTIL_EFAIL, "%s: %s: out of memory", s->path, name);
    }
    hid_t t = string_type(width);
    rc = cnt ? read_all(s, name, t, buf, err, errlen) : UTIL_OK;
    H5Tclose(t);
    for (size_t i = 0; rc == UTIL_OK && i < cnt; i++) {
        v[i] = malloc(width + 1);
        if (!v[i]) {
            mpi_store_strings_free(v, i);
            v = NULL;
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s: out of memory", s->path, name);
            break;
        }
        memcpy(v[i], buf + i * width, width);
        v[i][width] = 0;
    }
    free(buf);
    if (rc) {
        free(v);
        return rc;
    }
    *values = v;
    *n = cnt;
    return UTIL_OK;
}

/* ---- attributes ---- */
static int attr_write(mpi_store *s, const char *obj, const char *name, hid_t ftype, hid_t mtype, const void *v,
                      char *err, size_t errlen)
{
    const char *on = obj ? obj : "/";
    hid_t o = H5Oopen(s->file, on, H5P_DEFAULT);
    if (o < 0) return h5fail(s, on, "H5Oopen (attribute owner)", err, errlen);
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = UTIL_OK;
    if (a < 0 || H5Awrite(a, mtype, v) < 0) {
        char what[300];
        snprintf(what, sizeof what, "attribute %s: H5Awrite", name);
        rc = h5fail(s, on, what, err, errlen);
    }
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Oclose(o);
    return rc;
}

int mpi_store_attr_write_string(mpi_store *s, const char *obj, const char *name, const char *value,
                                char *err, size_t errlen)
{
    hid_t t = string_type(strlen(value));
    int rc = attr_write(s, obj, name, t, t, value[0] ? value : "", err, errlen);
    H5Tclose(t);
    return rc;
}

int mpi_store_attr_write_int(mpi_store *s, const char *obj, const char *name, long long value, char *err,
                             size_t errlen)
{
    int64_t v = value;
    return attr_write(s, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v, err, errlen);
}

int mpi_store_attr_write_double(mpi_store *s, const char *obj, const char *name, double value, char *err,
                                size_t errlen)
{
    return attr_write(s, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, err, errlen);
}

int mpi_store_attr_exists(mpi_store *s, const char *obj, const char *name)
{
    hid_t o = H5Oopen(s->file, obj ? obj : "/", H5P_DEFAULT);
    if (o < 0) return 0;
    const int yes = H5Aexists(o, name) > 0;
    H5Oclose(o);
    return yes;
}

static hid_t attr_open(mpi_store *s, const char *obj, const char *name, hid_t *o, char *err, size_t errlen, int *rc)
{
    const char *on = obj ? obj : "/";
    *o = H5Oopen(s->file, on, H5P_DEFAULT);
    if (*o < 0) {
        *rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no object %s", s->path, on);
        return -1;
    }
    if (H5Aexists(*o, name) <= 0) {
        H5Oclose(*o);
        *rc = util_fail(err, errlen, UTIL_EINPUT, "%s: %s has no attribute '%s'", s->path, on, name);
        return -1;
    }
    hid_t a = H5Aopen(*o, name, H5P_DEFAULT);
    if (a < 0) {
        H5Oclose(*o);
        *rc = h5fail(s, on, "H5Aopen", err, errlen);
    }
    return a;
}

int mpi_store_attr_read_string(mpi_store *s, const char *obj, const char *name, char *buf, size_t bufsize,
                               char *err, size_t errlen)
{
    hid_t o;
    int rc = UTIL_OK;
    hid_t a = attr_open(s, obj, name, &o, err, errlen, &rc);
    if (a < 0) return rc;
    hid_t ft = H5Aget_type(a);
    if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: attribute '%s' is not a fixed-length string", s->path, name);
    } else {
        size_t w = H5Tget_size(ft);
        char *tmp = calloc(w + 1, 1);
        hid_t t = string_type(w);
        if (!tmp || H5Aread(a, t, tmp) < 0) rc = h5fail(s, name, "H5Aread", err, errlen);
        else snprintf(buf, bufsize, "%s", tmp);
        H5Tclose(t);
        free(tmp);
    }
    H5Tclose(ft);
    H5Aclose(a);
    H5Oclose(o);
    return rc;
}

static int attr_read_num(mpi_store *s, const char *obj, const char *name, hid_t mtype, void *v, char *err,
                         size_t errlen)
{
    hid_t o;
    int rc = UTIL_OK;
    hid_t a = attr_open(s, obj, name, &o, err, errlen, &rc);
    if (a < 0) return rc;
    if (H5Aread(a, mtype, v) < 0) rc = h5fail(s, name, "H5Aread", err, errlen);
    H5Aclose(a);
    H5Oclose(o);
    return rc;
}

int mpi_store_attr_read_int(mpi_store *s, const char *obj, const char *name, long long *value, char *err,
                            size_t errlen)
{
    int64_t v = 0;
    int rc = attr_read_num(s, obj, name, H5T_NATIVE_INT64, &v, err, errlen);
    *value = v;
    return rc;
}

int mpi_store_attr_read_double(mpi_store *s, const char *obj, const char *name, double *value, char *err,
                               size_t errlen)
{
    return attr_read_num(s, obj, name, H5T_NATIVE_DOUBLE, value, err, errlen);
}

int mpi_store_rows_pending(mpi_store *s, const char *name, signed char pending, size_t **rows, size_t *n,
                           char *err, size_t errlen)
{
    *rows = NULL;
    *n = 0;
    int r;
    size_t dims[MPI_STORE_MAX_RANK];
    int rc = mpi_store_dataset_dims(s, name, &r, dims, err, errlen);
    if (rc) return rc;
    if (r != 1) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s: completion record must be 1-D", s->path, name);
    signed char *st = malloc(dims[0] ? dims[0] : 1);
    size_t *out = malloc((dims[0] ? dims[0] : 1) * sizeof *out);
    if (!st || !out) {
        free(st);
        free(out);
        return util_fail(err, errlen, UTIL_EFAIL, "%s: %s: out of memory", s->path, name);
    }
    rc = dims[0] ? read_all(s, name, H5T_NATIVE_SCHAR, st, err, errlen) : UTIL_OK;
    size_t m = 0;
    for (size_t i = 0; rc == UTIL_OK && i < dims[0]; i++)
        if (st[i] == pending) out[m++] = i;
    free(st);
    if (rc) {
        free(out);
        return rc;
    }
    *rows = out;
    *n = m;
    return UTIL_OK;
}
