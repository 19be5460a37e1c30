/* h5util.c - see h5util.h. */
#include "nn/h5util.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define QUIET_BEGIN                          \
    H5E_auto2_t old_fn;                      \
    void *old_data;                          \
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data); \
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL)
#define QUIET_END H5Eset_auto2(H5E_DEFAULT, old_fn, old_data)

int nn_h5_open(const char *path, hid_t *file, char *err, size_t errlen)
{
    QUIET_BEGIN;
    htri_t is = H5Fis_hdf5(path);
    hid_t f = is > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    QUIET_END;
    if (is < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open (missing or unreadable)", path);
    if (is == 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: not an HDF5 file", path);
    if (f < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open as HDF5 (truncated or damaged?)", path);
    *file = f;
    return 0;
}

int nn_h5_exists(hid_t file, const char *name)
{
    QUIET_BEGIN;
    /* check every prefix: H5Lexists fails on a missing intermediate group */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", name);
    int ok = 1;
    for (char *p = buf + 1; ok; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            ok = H5Lexists(file, buf, H5P_DEFAULT) > 0;
            *p = c;
            if (!c) break;
        }
    }
    QUIET_END;
    return ok;
}

int nn_h5_dims(hid_t file, const char *path, const char *name, int *rank, hsize_t *dims, char *err, size_t errlen)
{
    if (!nn_h5_exists(file, name)) return util_fail(err, errlen, UTIL_EINPUT, "%s: dataset %s is missing", path, name);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    int r = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    if (r >= 0 && r <= 8) H5Sget_simple_extent_dims(s, dims, NULL);
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    if (r < 0 || r > 8) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s is not a readable dataset", path, name);
    *rank = r;
    return UTIL_OK;
}

int nn_h5_read_floats(hid_t file, const char *path, const char *name, int rank, const hsize_t *dims,
                      float *out, char *err, size_t errlen)
{
    if (!nn_h5_exists(file, name)) return util_fail(err, errlen, UTIL_EINPUT, "%s: dataset %s is missing", path, name);
    int rc = 0;
    QUIET_BEGIN;
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t s = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hid_t t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    if (d < 0 || s < 0 || t < 0) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open dataset %s", path, name);
        goto done;
    }
    if (H5Tget_class(t) != H5T_FLOAT) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: dataset %s is not floating point", path, name);
        goto done;
    }
    hsize_t got[8] = {0};
    int r = H5Sget_simple_extent_ndims(s);
    if (r >= 0 && r <= 8) H5Sget_simple_extent_dims(s, got, NULL);
    int same = r == rank;
    for (int i = 0; same && i < rank; i++) same = got[i] == dims[i];
    if (!same) {
        char want[128] = "(", have[128] = "(";
        for (int i = 0; i < rank; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
        for (int i = 0; i < r && i < 8; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%llu", i ? ", " : "", (unsigned long long)got[i]);
        strcat(want, ")");
        strcat(have, ")");
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: dataset %s has shape %s, expected %s", path, name, have, want);
        goto done;
    }
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read dataset %s (truncated file?)", path, name);
done:
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    QUIET_END;
    return rc;
}

int nn_h5_write_floats(hid_t file, const char *path, const char *name, int rank, const hsize_t *dims,
                       const float *data, char *err, size_t errlen)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t s = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(file, name, H5T_IEEE_F32LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    int ok = d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
    H5Pclose(lcpl);
    return ok ? 0 : util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write dataset %s", path, name);
}

static int attr_write(hid_t obj, const char *path, const char *name, hid_t type, const void *v, char *err,
                      size_t errlen)
{
    hid_t s = H5Screate(H5S_SCALAR);
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, type, v) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return ok ? 0 : util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write attribute %s", path, name);
}

int nn_h5_attr_write_long(hid_t obj, const char *path, const char *name, long v, char *err, size_t errlen)
{
    long long x = v;
    return attr_write(obj, path, name, H5T_NATIVE_LLONG, &x, err, errlen);
}

int nn_h5_attr_write_double(hid_t obj, const char *path, const char *name, double v, char *err, size_t errlen)
{
    return attr_write(obj, path, name, H5T_NATIVE_DOUBLE, &v, err, errlen);
}

int nn_h5_attr_write_str(hid_t obj, const char *path, const char *name, const char *v, char *err, size_t errlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t n = strlen(v);
    H5Tset_size(t, n ? n : 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    char *buf = calloc(n + 1, 1);
    int rc = buf ? 0 : util_fail(err, errlen, UTIL_EFAIL, "out of memory");
    if (!rc) {
        memcpy(buf, v, n);
        rc = attr_write(obj, path, name, t, buf, err, errlen);
    }
    free(buf);
    H5Tclose(t);
    return rc;
}

static int attr_open(hid_t obj, const char *path, const char *name, hid_t *a, char *err, size_t errlen)
{
    QUIET_BEGIN;
    *a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : H5I_INVALID_HID;
    QUIET_END;
    if (*a < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: attribute %s is missing", path, name);
    hid_t s = H5Aget_space(*a); /* H5Aread writes every element: one value only (found by tests/fuzz) */
    hssize_t np = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (s >= 0) H5Sclose(s);
    if (np != 1) {
        H5Aclose(*a);
        *a = H5I_INVALID_HID;
        return util_fail(err, errlen, UTIL_EINPUT, "%s: attribute %s has %lld values, expected one", path, name, (long long)np);
    }
    return 0;
}

int nn_h5_attr_read_long(hid_t obj, const char *path, const char *name, long *v, char *err, size_t errlen)
{
    hid_t a;
    int rc = attr_open(obj, path, name, &a, err, errlen);
    if (rc) return rc;
    long long x = 0;
    hid_t t = H5Aget_type(a);
    if (H5Tget_class(t) != H5T_INTEGER || H5Aread(a, H5T_NATIVE_LLONG, &x) < 0)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: attribute %s is not an integer", path, name);
    H5Tclose(t);
    H5Aclose(a);
    *v = (long)x;
    return rc;
}

int nn_h5_attr_read_double(hid_t obj, const char *path, const char *name, double *v, char *err, size_t errlen)
{
    hid_t a;
    int rc = attr_open(obj, path, name, &a, err, errlen);
    if (rc) return rc;
    hid_t t = H5Aget_type(a);
    H5T_class_t c = H5Tget_class(t);
    if ((c != H5T_FLOAT && c != H5T_INTEGER) || H5Aread(a, H5T_NATIVE_DOUBLE, v) < 0)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: attribute %s is not a number", path, name);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

char *nn_h5_attr_read_str_alloc(hid_t obj, const char *path, const char *name, char *err, size_t errlen)
{
    hid_t a;
    if (attr_open(obj, path, name, &a, err, errlen)) return NULL;
    char *out = NULL;
    hid_t t = H5Aget_type(a);
    hid_t s = H5Aget_space(a);
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(s) != 1) {
        util_fail(err, errlen, UTIL_EINPUT, "%s: attribute %s is not a string", path, name);
    } else if (H5Tis_variable_str(t) > 0) {
        char *p = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (H5Aread(a, mt, &p) >= 0 && p) {
            out = util_strdup(p);
            H5free_memory(p);
        }
        H5Tclose(mt);
        if (!out) util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read attribute %s", path, name);
    } else {
        size_t n = H5Tget_size(t);
        out = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(t);
        if (!out || H5Aread(a, mt, out) < 0) {
            free(out);
            out = NULL;
            util_fail(err, errlen, UTIL_EINPUT, "%s: cannot read attribute %s", path, name);
        }
        H5Tclose(mt);
    }
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    return out;
}

int nn_h5_attr_read_str(hid_t obj, const char *path, const char *name, char *buf, size_t buflen, char *err,
                        size_t errlen)
{
    char *s = nn_h5_attr_read_str_alloc(obj, path, name, err, errlen);
    if (!s) return UTIL_EINPUT;
    int rc = 0;
    if (strlen(s) >= buflen)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: attribute %s is too long (%zu bytes)", path, name, strlen(s));
    else
        memcpy(buf, s, strlen(s) + 1);
    free(s);
    return rc;
}
