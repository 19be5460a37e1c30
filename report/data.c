/* data.c - readers for the run folder of `artistnet report`: TSV files with a header row
 * (pipeline.tsv, curves.tsv) and, with the serial HDF5 API (the report runs on rank 0 only and only
 * reads), root attributes, /ids, /status and /errors of every .h5 file plus numeric and string
 * datasets. Missing pieces are not errors here: the report says "not available" instead. HDF5's
 * own error printing is expected to be off (page.c turns it off). */
#include "report/report_internal.h"
#include "util/util.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- TSV ---- */
int report_tsv_load(const char *path, report_tsv *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", path, strerror(errno));
    char *line = NULL, **v = NULL;
    size_t cap = 0;
    long rows_cap = 0;
    int vcap = 0;
    int rc = UTIL_OK;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *copy = util_strdup(line);
        int n = copy ? util_split_tabs_grow(copy, &v, &vcap) : -1;
        if (n < 0) {
            free(copy);
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
            break;
        }
        if (!t->cols) {
            t->cols = malloc((size_t)n * sizeof *t->cols);
            for (int c = 0; t->cols && c < n; c++) t->cols[c] = util_strdup(v[c]);
            t->n_cols = t->cols ? n : 0;
            free(copy);
            continue;
        }
        if (t->n_rows == rows_cap) {
            rows_cap = rows_cap ? rows_cap * 2 : 64;
            char ***r = realloc(t->rows, (size_t)rows_cap * sizeof *r);
            if (!r) {
                free(copy);
                rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
                break;
            }
            t->rows = r;
        }
        char **row = calloc((size_t)t->n_cols + 1, sizeof *row);
        for (int c = 0; row && c < t->n_cols; c++) row[c] = util_strdup(c < n ? v[c] : "");
        free(copy);
        if (!row) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
            break;
        }
        t->rows[t->n_rows++] = row;
    }
    free(line);
    free(v);
    fclose(f);
    if (!rc && !t->cols) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: empty (no header row)", path);
    if (rc) report_tsv_free(t);
    return rc;
}

void report_tsv_free(report_tsv *t)
{
    for (long r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++) free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (int c = 0; c < t->n_cols; c++) free(t->cols[c]);
    free(t->rows);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

int report_tsv_col(const report_tsv *t, const char *name)
{
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c], name)) return c;
    return -1;
}

/* ---- HDF5 ---- */
static int link_exists(hid_t f, const char *name) { return H5Lexists(f, name, H5P_DEFAULT) > 0; }

static int read_strings_id(hid_t d, size_t *n, char ***out)
{
    hid_t ft = H5Dget_type(d), sp = H5Dget_space(d);
    int rc = -1;
    *out = NULL;
    if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING) goto done;
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (np < 0) goto done;
    *n = (size_t)np;
    char **v = calloc(*n + 1, sizeof *v);
    if (!v) goto done;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(ft));
    if (H5Tis_variable_str(ft) > 0) {
        H5Tset_size(mt, H5T_VARIABLE);
        char **raw = calloc(*n + 1, sizeof *raw);
        if (raw && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0) {
            rc = 0;
            for (size_t i = 0; i < *n; i++) v[i] = util_strdup(raw[i] ? raw[i] : "");
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
        }
        free(raw);
    } else {
        size_t w = H5Tget_size(ft) + 1;
        H5Tset_size(mt, w);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        char *raw = malloc(*n * w + 1);
        if (raw && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0) {
            rc = 0;
            for (size_t i = 0; i < *n; i++) {
                raw[i * w + w - 1] = 0;
                v[i] = util_strdup(raw + i * w);
            }
        }
        free(raw);
    }
    H5Tclose(mt);
    for (size_t i = 0; !rc && i < *n; i++)
        if (!v[i]) rc = -1;
    if (rc) report_h5_strings_free(v, *n);
    else *out = v;
done:
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

void report_h5_strings_free(char **s, size_t n)
{
    if (!s) return;
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

int report_h5_read_strings(const char *path, const char *name, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open as HDF5", path);
    int rc = UTIL_OK;
    hid_t d = link_exists(f, name) ? H5Dopen2(f, name, H5P_DEFAULT) : H5I_INVALID_HID;
    if (d < 0) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no dataset %s", path, name);
    else if (read_strings_id(d, n, out)) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: %s is not a readable string dataset", path, name);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return rc;
}

int report_h5_read_doubles(const char *path, const char *name, double **out, int *rank, size_t dims[8], char *err,
                        size_t errlen)
{
    *out = NULL;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open as HDF5", path);
    int rc = UTIL_OK;
    hid_t d = link_exists(f, name) ? H5Dopen2(f, name, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID, t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    H5T_class_t cl = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (d < 0 || r < 0 || r > 8 || (cl != H5T_INTEGER && cl != H5T_FLOAT)) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no numeric dataset %s", path, name);
    } else {
        hsize_t hd[8] = {0};
        H5Sget_simple_extent_dims(sp, hd, NULL);
        size_t total = 1;
        for (int i = 0; i < r; i++) total *= (size_t)hd[i], dims[i] = (size_t)hd[i];
        *rank = r;
        *out = malloc((total + 1) * sizeof **out);
        if (!*out) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory reading %s", path, name);
        else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
            free(*out);
            *out = NULL;
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read %s", path, name);
        }
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return rc;
}

/* one root attribute -> report_h5_attr */
static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    report_h5_info *h = data;
    if (h->n_attrs >= 256) return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return 0;
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    H5T_class_t cl = H5Tget_class(t);
    report_h5_attr at;
    memset(&at, 0, sizeof at);
    snprintf(at.name, sizeof at.name, "%s", name);
    if (cl == H5T_STRING && np == 1) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(t)); /* HDF5 converts no strings between ASCII and UTF-8 */
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &s) >= 0 && s) {
                at.text = util_strdup(s);
                H5free_memory(s);
            }
        } else {
            size_t w = H5Tget_size(t) + 1;
            H5Tset_size(mt, w);
            H5Tset_strpad(mt, H5T_STR_NULLTERM);
            char *s = calloc(w + 1, 1);
            if (s && H5Aread(a, mt, s) >= 0) at.text = util_strdup(s);
            free(s);
        }
        H5Tclose(mt);
        at.is_string = 1;
    } else if ((cl == H5T_INTEGER || cl == H5T_FLOAT) && np >= 1 && np <= 1 << 16) {
        at.n = (int)np;
        at.v = malloc((size_t)np * sizeof *at.v);
        if (at.v && H5Aread(a, H5T_NATIVE_DOUBLE, at.v) >= 0) {
            size_t cap = 32 + (size_t)np * 24, o = 0;
            at.text = malloc(cap);
            if (at.text) {
                if (np > 1) at.text[o++] = '[';
                for (hssize_t i = 0; i < np && o + 30 < cap; i++)
                    o += (size_t)snprintf(at.text + o, cap - o, "%s%.6g", i ? ", " : "", at.v[i]);
                if (np > 1) at.text[o++] = ']';
                at.text[o] = 0;
            }
        } else {
            free(at.v);
            at.v = NULL;
            at.n = 0;
        }
    }
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    if (!at.text) {
        free(at.v);
        return 0;
    }
    report_h5_attr *na = realloc(h->attrs, ((size_t)h->n_attrs + 1) * sizeof *na);
    if (!na) {
        free(at.text);
        free(at.v);
        return 0;
    }
    h->attrs = na;
    h->attrs[h->n_attrs++] = at;
    (void)info;
    return 0;
}

int report_h5_info_load(const char *path, report_h5_info *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    snprintf(h->path, sizeof h->path, "%s", path);
    h->n_rows = -1;
    FILE *probe = fopen(path, "rb");
    if (!probe) return UTIL_OK; /* missing: the report says so */
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: not an HDF5 file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open as HDF5 (truncated or damaged?)", path);
    h->ok = 1;
    hsize_t idx = 0;
    H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, h);
    if (link_exists(f, "status")) {
        hid_t d = H5Dopen2(f, "status", H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
        hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        if (np >= 0) {
            h->status = malloc((size_t)np + 1);
            if (h->status && H5Dread(d, H5T_NATIVE_SCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, h->status) >= 0) h->n_rows = (long)np;
            else {
                free(h->status);
                h->status = NULL;
            }
        }
        if (sp >= 0) H5Sclose(sp);
        if (d >= 0) H5Dclose(d);
    }
    const char *names[2] = {"ids", "errors"};
    char ***dst[2] = {&h->ids, &h->errors};
    for (int k = 0; k < 2; k++) {
        if (!link_exists(f, names[k])) continue;
        hid_t d = H5Dopen2(f, names[k], H5P_DEFAULT);
        size_t n = 0;
        if (d >= 0 && !read_strings_id(d, &n, dst[k])) {
            if (h->n_rows < 0 && k == 0) h->n_rows = (long)n;
            if ((long)n != h->n_rows) { /* inconsistent lengths: ignore the column */
                report_h5_strings_free(*dst[k], n);
                *dst[k] = NULL;
            }
        }
        if (d >= 0) H5Dclose(d);
    }
    H5Fclose(f);
    return UTIL_OK;
}

void report_h5_info_free(report_h5_info *h)
{
    for (int i = 0; i < h->n_attrs; i++) {
        free(h->attrs[i].text);
        free(h->attrs[i].v);
    }
    free(h->attrs);
    free(h->status);
    if (h->n_rows > 0) {
        report_h5_strings_free(h->ids, (size_t)h->n_rows);
        report_h5_strings_free(h->errors, (size_t)h->n_rows);
    } else {
        free(h->ids);
        free(h->errors);
    }
    memset(h, 0, sizeof *h);
}

const report_h5_attr *report_h5_info_attr(const report_h5_info *h, const char *name)
{
    for (int i = 0; i < h->n_attrs; i++)
        if (!strcmp(h->attrs[i].name, name)) return &h->attrs[i];
    return NULL;
}
