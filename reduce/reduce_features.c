/* reduce_features.c - features.h5 reader (own block of rows or all rows, parallel HDF5 with
 * collective hyperslab reads) and the rank-independent class map of a label column.
 * See reduce_features.h. HDF5's automatic error printing is turned off; messages name the file and
 * the dataset instead. */
#include "reduce/reduce_features.h"
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- small HDF5 helpers ---- */

typedef struct {
    char buf[512];
    size_t len;
} name_list;

static herr_t list_dataset(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)info;
    name_list *l = op;
    H5O_info_t oi;
    if (H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET) return 0;
    int w = snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s/%s", l->len ? ", " : "", name);
    if (w > 0 && l->len + (size_t)w < sizeof l->buf) l->len += (size_t)w;
    return 0;
}

/* Selects rows [off, off+n) of a 1-D or 2-D dataset (all columns) in a new file space, and makes the
 * matching memory space. n == 0 selects nothing in both (the rank still joins the collective read). */
static int select_rows(hid_t dset, long off, long n, int want_rank, hid_t *fspace, hid_t *mspace)
{
    *mspace = H5I_INVALID_HID; /* a failed selection makes the caller's H5Dread fail */
    *fspace = H5Dget_space(dset);
    if (*fspace < 0) return -1;
    int rank = H5Sget_simple_extent_ndims(*fspace);
    if (rank != want_rank) return -1; /* 2-D /status or column: overflow of the n-row buffer (tests/fuzz) */
    hsize_t dims[2] = {0, 1};
    H5Sget_simple_extent_dims(*fspace, dims, NULL);
    hsize_t start[2] = {(hsize_t)off, 0}, count[2] = {(hsize_t)n, rank > 1 ? dims[1] : 1};
    hsize_t mdims[2] = {n > 0 ? (hsize_t)n : 1, count[1]};
    *mspace = H5Screate_simple(rank, mdims, NULL);
    if (n > 0) {
        H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, start, NULL, count, NULL);
    } else {
        H5Sselect_none(*fspace);
        H5Sselect_none(*mspace);
    }
    return 0;
}

/* Reads rows of a 1-D string dataset (fixed-length or variable-length) into a column. */
static int read_strings(hid_t file, const char *path, const char *name, long off, long n, hid_t dxpl_ind,
                        reduce_column *col, char *err, size_t errlen)
{
    int rc = UTIL_OK;
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t ft = d >= 0 ? H5Dget_type(d) : -1;
    hid_t fs = -1, ms = -1, mt = -1;
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /%s is not a string dataset", path, name);
        goto done;
    }
    select_rows(d, off, n, 1, &fs, &ms);
    col->name = util_strdup(name);
    col->v = calloc((size_t)n + 1, sizeof *col->v);
    if (H5Tis_variable_str(ft) > 0) {
        char **tmp = calloc((size_t)n + 1, sizeof *tmp);
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (!tmp || !col->v || H5Dread(d, mt, ms, fs, dxpl_ind, tmp) < 0) {
            free(tmp);
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read /%s", path, name);
            goto done;
        }
        size_t total = 0;
        for (long i = 0; i < n; i++) total += (tmp[i] ? strlen(tmp[i]) : 0) + 1;
        col->pool = malloc(total + 1);
        if (!col->pool) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory reading /%s", path, name);
        size_t at = 0;
        for (long i = 0; i < n && col->pool; i++) {
            size_t l = tmp[i] ? strlen(tmp[i]) : 0;
            memcpy(col->pool + at, tmp[i] ? tmp[i] : "", l + 1);
            col->v[i] = col->pool + at;
            at += l + 1;
        }
        if (n > 0) H5Dvlen_reclaim(mt, ms, H5P_DEFAULT, tmp);
        free(tmp);
    } else {
        size_t L = H5Tget_size(ft);
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, L);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *raw = malloc((size_t)n * L + 1);
        col->pool = malloc((size_t)n * (L + 1) + 1);
        if (!raw || !col->pool || !col->v) {
            free(raw);
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory reading /%s", path, name);
            goto done;
        }
        if (H5Dread(d, mt, ms, fs, dxpl_ind, raw) < 0) {
            free(raw);
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read /%s", path, name);
            goto done;
        }
        int spacepad = H5Tget_strpad(ft) == H5T_STR_SPACEPAD;
        for (long i = 0; i < n; i++) {
            char *s = col->pool + (size_t)i * (L + 1);
            memcpy(s, raw + (size_t)i * L, L);
            s[L] = 0;
            if (spacepad)
                for (size_t k = strlen(s); k > 0 && s[k - 1] == ' '; k--) s[k - 1] = 0;
            col->v[i] = s;
        }
        free(raw);
    }
    for (long i = 0; i < n && rc == UTIL_OK; i++)
        if (!util_utf8_valid(col->v[i], strlen(col->v[i])))
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /%s row %ld is not valid UTF-8", path, name, off + i);
done:
    if (mt >= 0) H5Tclose(mt);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    return rc;
}

static int has_dataset(hid_t file, const char *name)
{
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return 0;
    H5O_info_t oi;
    return H5Oget_info_by_name(file, name, &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_DATASET;
}

int reduce_features_read(const char *path, MPI_Comm comm, int mode, const char *const *columns,
                         const int *optional, int n_columns, reduce_features *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    int rc = UTIL_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (file < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open as HDF5 (missing file or not a features.h5)", path);
    hid_t coll = H5Pcreate(H5P_DATASET_XFER), ind = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(coll, H5FD_MPIO_COLLECTIVE);
    H5Pset_dxpl_mpio(ind, H5FD_MPIO_INDEPENDENT);
    hid_t d = -1, fs = -1, ms = -1;

    if (!has_dataset(file, "features")) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no /features dataset", path);
        goto done;
    }
    d = H5Dopen2(file, "features", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd == 2) H5Sget_simple_extent_dims(sp, dims, NULL); /* dims[2]: a 3-D /features overflowed it */
    H5Sclose(sp);
    if (nd != 2 || dims[1] < 1) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /features must be 2-D (N, d), has %d dimensions", path, nd);
        goto done;
    }
    out->n_total = (long)dims[0];
    out->dim = (int)dims[1];
    if (mode == REDUCE_READ_ALL) {
        out->offset = 0;
        out->n = out->n_total;
    } else {
        const int64_t groups = ((int64_t)out->n_total + REDUCE_GROUP_ROWS - 1) / REDUCE_GROUP_ROWS;
        const int64_t g0 = groups * rank / size, g1 = groups * (rank + 1) / size;
        const int64_t r1 = g1 * REDUCE_GROUP_ROWS < out->n_total ? g1 * REDUCE_GROUP_ROWS : out->n_total;
        out->offset = (long)(g0 * REDUCE_GROUP_ROWS < out->n_total ? g0 * REDUCE_GROUP_ROWS : out->n_total);
        out->n = (long)r1 - out->offset;
    }
    out->x = malloc((size_t)out->n * (size_t)out->dim * sizeof(float) + 1);
    out->status = calloc((size_t)out->n + 1, 1);
    if (!out->x || !out->status) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory for %ld x %d features", path, out->n, out->dim);
        goto done;
    }
    select_rows(d, out->offset, out->n, 2, &fs, &ms);
    if (H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, coll, out->x) < 0) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read /features", path);
        goto done;
    }
    H5Sclose(fs);
    H5Sclose(ms);
    H5Dclose(d);
    fs = ms = d = -1;

    if (has_dataset(file, "status")) {
        d = H5Dopen2(file, "status", H5P_DEFAULT);
        select_rows(d, out->offset, out->n, 1, &fs, &ms);
        if (H5Dread(d, H5T_NATIVE_SCHAR, ms, fs, coll, out->status) < 0) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read /status", path);
            goto done;
        }
    }

    out->columns = calloc((size_t)n_columns + 1, sizeof *out->columns);
    if (!out->columns) { rc = util_fail(err, errlen, UTIL_EFAIL, "out of memory"); goto done; }
    const char *want_ids = "ids";
    for (int c = -1; c < n_columns && rc == UTIL_OK; c++) {
        const char *name = c < 0 ? want_ids : columns[c];
        if (!name || reduce_features_column(out, name)) continue;
        if (!has_dataset(file, name)) {
            if (c >= 0 && optional && optional[c]) continue;
            name_list l = {"", 0};
            H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, list_dataset, &l);
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no column /%s (datasets present: %s)", path, name, l.buf);
            break;
        }
        rc = read_strings(file, path, name, out->offset, out->n, ind, &out->columns[out->n_columns], err, errlen);
        out->n_columns++;
    }
done:
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    if (d >= 0) H5Dclose(d);
    H5Pclose(coll);
    H5Pclose(ind);
    H5Fclose(file);
    if (rc != UTIL_OK) reduce_features_free(out);
    return rc;
}

void reduce_features_free(reduce_features *f)
{
    free(f->x);
    free(f->status);
    for (int c = 0; c < f->n_columns; c++) {
        free(f->columns[c].name);
        free(f->columns[c].v);
        free(f->columns[c].pool);
    }
    free(f->columns);
    memset(f, 0, sizeof *f);
}

char **reduce_features_column(const reduce_features *f, const char *name)
{
    for (int c = 0; c < f->n_columns; c++)
        if (f->columns[c].name && !strcmp(f->columns[c].name, name)) return f->columns[c].v;
    return NULL;
}

/* ---- class maps ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted distinct strings of v[0..n) (pointers into v's storage) */
static long distinct(char **v, long n)
{
    if (n == 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    long m = 1;
    for (long i = 1; i < n; i++)
        if (strcmp(v[i], v[m - 1])) v[m++] = v[i];
    return m;
}

int reduce_classes_build(MPI_Comm comm, char *const *values, const signed char *use, long n,
                         reduce_classes *out, int *ids, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rank = mpi_util_rank(comm), size = mpi_util_size(comm);
    /* local distinct values, packed as NUL-separated strings */
    char **loc = malloc(((size_t)n + 1) * sizeof *loc);
    if (!loc) return util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    long m = 0;
    for (long i = 0; i < n; i++)
        if ((!use || use[i]) && values[i][0]) loc[m++] = values[i];
    m = distinct(loc, m);
    long bytes = 0;
    for (long i = 0; i < m; i++) bytes += (long)strlen(loc[i]) + 1;
    if (bytes > INT32_MAX) { free(loc); return util_fail(err, errlen, UTIL_EFAIL, "label column too large"); }
    char *pack = malloc((size_t)bytes + 1);
    long at = 0;
    for (long i = 0; i < m && pack; i++) {
        size_t l = strlen(loc[i]) + 1;
        memcpy(pack + at, loc[i], l);
        at += (long)l;
    }
    free(loc);
    int mine = (int)bytes;
    int *counts = rank == 0 ? calloc((size_t)size, sizeof *counts) : NULL;
    int *displs = rank == 0 ? calloc((size_t)size, sizeof *displs) : NULL;
    MPI_CHECK(MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
    char *all = NULL;
    long total = 0;
    if (rank == 0) {
        for (int r = 0; r < size; r++) { displs[r] = (int)total; total += counts[r]; }
        all = malloc((size_t)total + 1);
    }
    MPI_CHECK(MPI_Gatherv(pack, mine, MPI_CHAR, all, counts, displs, MPI_CHAR, 0, comm));
    free(pack);
    /* rank 0 merges and broadcasts the sorted distinct list */
    long merged_bytes = 0;
    char *merged = NULL;
    if (rank == 0) {
        long cnt = 0;
        for (long i = 0; i < total; i++) cnt += all[i] == 0;
        char **v = malloc(((size_t)cnt + 1) * sizeof *v);
        long k = 0;
        for (long i = 0; i < total; i += (long)strlen(all + i) + 1) v[k++] = all + i;
        k = distinct(v, k);
        for (long i = 0; i < k; i++) merged_bytes += (long)strlen(v[i]) + 1;
        merged = malloc((size_t)merged_bytes + 1);
        long p = 0;
        for (long i = 0; i < k; i++) {
            size_t l = strlen(v[i]) + 1;
            memcpy(merged + p, v[i], l);
            p += (long)l;
        }
        free(v);
        free(all);
        free(counts);
        free(displs);
    }
    MPI_CHECK(MPI_Bcast(&merged_bytes, 1, MPI_LONG, 0, comm));
    if (rank != 0) merged = malloc((size_t)merged_bytes + 1);
    MPI_CHECK(MPI_Bcast(merged, (int)merged_bytes, MPI_CHAR, 0, comm));
    out->pool = merged;
    for (long i = 0; i < merged_bytes; i++) out->n += merged[i] == 0;
    out->names = malloc(((size_t)out->n + 1) * sizeof *out->names);
    long p = 0;
    for (int i = 0; i < out->n; i++) {
        out->names[i] = merged + p;
        p += (long)strlen(merged + p) + 1;
    }
    if (ids)
        for (long i = 0; i < n; i++)
            ids[i] = (!use || use[i]) && values[i][0] ? reduce_classes_find(out, values[i]) : -1;
    return UTIL_OK;
}

int reduce_classes_find(const reduce_classes *c, const char *name)
{
    char *const *hit = bsearch(&name, c->names, (size_t)c->n, sizeof *c->names, cmp_str);
    return hit ? (int)(hit - c->names) : -1;
}

void reduce_classes_free(reduce_classes *c)
{
    free(c->names);
    free(c->pool);
    memset(c, 0, sizeof *c);
}
