/* fuzz_common.c - temp files, the seed features.h5 writer and the HDF5 recipe mutator shared by the
 * fuzz targets (see fuzz_common.h). Uses the serial HDF5 API with the default file access list, so
 * no MPI is needed here. */
#include "fuzz_common.h"

#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fuzz_raw_h5(void)
{
    static int on = -1;
    if (on < 0) on = getenv("FUZZ_RAW_H5") && !strcmp(getenv("FUZZ_RAW_H5"), "1");
    return on;
}

/* ---- temp files ---- */

static char tmp_paths[8][512];
static int n_tmp;

static void tmp_cleanup(void)
{
    for (int i = 0; i < n_tmp; i++) unlink(tmp_paths[i]);
}

const char *fuzz_tmp_path(const char *name)
{
    char want[512];
    struct stat st;
    const char *dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : getenv("TMPDIR");
    snprintf(want, sizeof want, "%s/an-fuzz-%ld-%s", dir ? dir : "/tmp", (long)getpid(), name);
    for (int i = 0; i < n_tmp; i++)
        if (!strcmp(tmp_paths[i], want)) return tmp_paths[i];
    if (n_tmp == 8) return NULL;
    if (n_tmp == 0) atexit(tmp_cleanup);
    snprintf(tmp_paths[n_tmp], sizeof tmp_paths[n_tmp], "%s", want);
    return tmp_paths[n_tmp++];
}

int fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int fuzz_copy_file(const char *from, const char *to)
{
    FILE *f = fopen(from, "rb");
    if (!f) return -1;
    FILE *g = fopen(to, "wb");
    if (!g) {
        fclose(f);
        return -1;
    }
    char buf[1 << 16];
    size_t got;
    int ok = 1;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) ok &= fwrite(buf, 1, got, g) == got;
    fclose(f);
    return fclose(g) == 0 && ok ? 0 : -1;
}

/* ---- features.h5 ---- */

static int write_strings(hid_t f, const char *name, int n, const char *const *v, int vlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (strlen(v[i]) > len) len = strlen(v[i]);
    H5Tset_size(t, vlen ? H5T_VARIABLE : len);
    H5Tset_cset(t, H5T_CSET_UTF8);
    if (!vlen) H5Tset_strpad(t, H5T_STR_NULLPAD);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t s = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = d >= 0;
    if (ok && vlen) {
        ok = H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
    } else if (ok) {
        char *buf = calloc((size_t)n, len);
        for (int i = 0; buf && i < n; i++) memcpy(buf + (size_t)i * len, v[i], strlen(v[i]));
        ok = buf && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
        free(buf);
    }
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
    H5Tclose(t);
    return ok ? 0 : -1;
}

static int write_numbers(hid_t f, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                         const void *data)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = d >= 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
    return ok ? 0 : -1;
}

static int write_attr_str(hid_t obj, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) ? strlen(v) : 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    char one[2] = "";
    int ok = a >= 0 && H5Awrite(a, t, strlen(v) ? v : one) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return ok ? 0 : -1;
}

int fuzz_features_write(const char *path, int n, int d, int vlen_strings)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return -1;
    static const char *const artists[] = {"Ärtist A", "artist b", "artist c"};
    static const char *const genres[] = {"rock", "jazz"};
    const char **ids = calloc((size_t)n, sizeof *ids), **art = calloc((size_t)n, sizeof *art);
    const char **gen = calloc((size_t)n, sizeof *gen), **errs = calloc((size_t)n, sizeof *errs);
    char *idbuf = calloc((size_t)n, 16);
    float *x = calloc((size_t)n * (size_t)d, sizeof *x);
    int *nseg = calloc((size_t)n, sizeof *nseg);
    signed char *status = calloc((size_t)n, 1);
    int rc = ids && art && gen && errs && idbuf && x && nseg && status ? 0 : -1;
    for (int i = 0; !rc && i < n; i++) {
        snprintf(idbuf + 16 * i, 16, "t%03d", i);
        ids[i] = idbuf + 16 * i;
        art[i] = artists[i % 3];
        gen[i] = genres[(i / 3) % 2];
        errs[i] = i == n - 1 ? "t: too short" : "";
        nseg[i] = 1 + i % 10;
        status[i] = i == n - 1;
        for (int k = 0; k < d; k++) x[(size_t)i * d + k] = status[i] ? NAN : (float)((i % 3) + 0.25 * k - 0.1 * i);
    }
    hsize_t dims[2] = {(hsize_t)n, (hsize_t)d};
    if (!rc) rc = write_strings(f, "ids", n, ids, vlen_strings);
    if (!rc) rc = write_strings(f, "artist", n, art, vlen_strings);
    if (!rc) rc = write_strings(f, "genre", n, gen, vlen_strings);
    if (!rc) rc = write_numbers(f, "features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, x);
    if (!rc) rc = write_numbers(f, "n_segments", H5T_STD_I32LE, H5T_NATIVE_INT, 1, dims, nseg);
    if (!rc) rc = write_numbers(f, "status", H5T_STD_I8LE, H5T_NATIVE_SCHAR, 1, dims, status);
    if (!rc) rc = write_strings(f, "errors", n, errs, 0);
    if (!rc) rc = write_attr_str(f, "feature_kind", "dcnn");
    if (!rc) rc = write_attr_str(f, "columns", "artist\tgenre");
    if (!rc) rc = write_attr_str(f, "version", "0.1.0");
    free(ids);
    free(art);
    free(gen);
    free(errs);
    free(idbuf);
    free(x);
    free(nseg);
    free(status);
    if (H5Fclose(f) < 0) rc = -1;
    return rc;
}

/* ---- the recipe mutator ---- */

typedef struct {
    const uint8_t *p;
    size_t n, i;
} reader;

static unsigned next(reader *r) { return r->i < r->n ? r->p[r->i++] : 0; }

#define MAX_OBJ 64
typedef struct {
    char name[MAX_OBJ][128];
    int is_dataset[MAX_OBJ];
    int n;
    char attr_obj[MAX_OBJ][128]; /* "." for the root */
    char attr_name[MAX_OBJ][64];
    int n_attr;
} objects;

static herr_t visit_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)loc;
    (void)info;
    objects *o = op;
    if (o->n_attr < MAX_OBJ) {
        snprintf(o->attr_obj[o->n_attr], sizeof o->attr_obj[0], "%s", o->n ? o->name[o->n - 1] : ".");
        snprintf(o->attr_name[o->n_attr], sizeof o->attr_name[0], "%s", name);
        o->n_attr++;
    }
    return 0;
}

static herr_t visit_link(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)info;
    objects *o = op;
    H5O_info_t oi;
    if (o->n >= MAX_OBJ || H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0) return 0;
    snprintf(o->name[o->n], sizeof o->name[0], "%s", name);
    o->is_dataset[o->n] = oi.type == H5O_TYPE_DATASET;
    o->n++;
    hid_t obj = H5Oopen(g, name, H5P_DEFAULT);
    if (obj >= 0) {
        H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, NULL, visit_attr, o);
        H5Oclose(obj);
    }
    return 0;
}

static const long long interesting_ints[] = {0, 1, -1, 2, 3, 5, 127, 128, 129, 255, 256, 1024, 22050, 44100,
                                             512, 2147483647LL, -2147483648LL, 4294967296LL, LLONG_MAX,
                                             LLONG_MIN, 10000000, 10000001, 1000000000000LL};
static const double interesting_doubles[] = {0.0, -0.0, 1.0, -1.0, 1e-3, 1e-300, 1e300, 11025.0, 22050.0,
                                             0.22620339, INFINITY, -INFINITY, NAN, 3.4e38, -3.4e38};
static const char *const interesting_strings[] = {
    "", "a", "artistnet-dcnn", "artistnet-dcnn ", "fnv1a64:0000000000000000", "fnv1a64:", "rfft magnitude",
    "slaney", "\xff\xfe invalid utf-8", "artist\tgenre", "artist\t\tgenre", "\t", "ids", "features",
    "dcnn", "logmel-baseline", "0.1.0", "ünïcode ☃", NULL /* long string */};
#define N_INTS (sizeof interesting_ints / sizeof interesting_ints[0])
#define N_DOUBLES (sizeof interesting_doubles / sizeof interesting_doubles[0])
#define N_STRINGS (sizeof interesting_strings / sizeof interesting_strings[0])

static char long_string[5001];

static const char *pick_string(reader *r)
{
    unsigned k = next(r) % N_STRINGS;
    if (interesting_strings[k]) return interesting_strings[k];
    if (!long_string[0]) memset(long_string, 'x', sizeof long_string - 1);
    return long_string;
}

/* a string type: fixed length len (NULL- or space-padded) or variable length */
static hid_t string_type(unsigned how, size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, how % 3 == 2 ? H5T_VARIABLE : (len ? len : 1));
    H5Tset_cset(t, how & 4 ? H5T_CSET_ASCII : H5T_CSET_UTF8);
    if (how % 3 == 1) H5Tset_strpad(t, H5T_STR_SPACEPAD);
    return t;
}

static void set_attribute(hid_t f, reader *r, const objects *o)
{
    static const char *const extra[] = {"format", "format_version", "n_classes", "columns", "feature_kind",
                                        "step", "checksum", "bn_epsilon"};
    const char *obj = ".", *name;
    unsigned k = next(r);
    if (o->n_attr && k % 4) {
        obj = o->attr_obj[next(r) % o->n_attr];
        name = o->attr_name[next(r) % o->n_attr];
    } else {
        name = extra[next(r) % (sizeof extra / sizeof extra[0])];
    }
    hid_t h = H5Oopen(f, obj, H5P_DEFAULT);
    if (h < 0) return;
    if (H5Aexists(h, name) > 0) H5Adelete(h, name);
    hid_t s = H5Screate(H5S_SCALAR), t = -1;
    unsigned what = next(r) % 8;
    if (what == 6) { /* not a scalar */
        H5Sclose(s);
        hsize_t two[1] = {1 + next(r) % 3};
        s = H5Screate_simple(1, two, NULL);
    }
    long long iv[3] = {interesting_ints[next(r) % N_INTS], 0, 0};
    double dv[3] = {interesting_doubles[next(r) % N_DOUBLES], 0, 0};
    const char *sv = pick_string(r);
    char *sbuf[3] = {(char *)sv, (char *)sv, (char *)sv};
    const void *data = iv;
    switch (what) {
    case 0: case 6: t = H5Tcopy(H5T_STD_I64LE); iv[1] = iv[2] = iv[0]; data = iv; break;
    case 1: t = H5Tcopy(H5T_IEEE_F64LE); data = dv; break;
    case 2: t = H5Tcopy(H5T_STD_U8LE); data = iv; break;
    case 3: t = H5Tcopy(H5T_IEEE_F32BE); data = dv; break;
    case 4: t = string_type(next(r), strlen(sv) + (next(r) & 1)); data = sv; break;
    case 5: t = string_type(2, 0); data = sbuf; break;
    default: t = string_type(0, 1); data = ""; break;
    }
    hid_t mt = what == 0 || what == 6 ? H5T_NATIVE_LLONG
             : what == 1 || what == 3  ? H5T_NATIVE_DOUBLE
             : what == 2               ? H5T_NATIVE_LLONG
                                       : t;
    char *fixed = NULL;
    if (what == 4 && H5Tis_variable_str(t) <= 0) { /* fixed length: a buffer of exactly the type's size */
        size_t L = H5Tget_size(t);
        fixed = calloc(L + 1, 1);
        if (fixed) memcpy(fixed, sv, strlen(sv) < L ? strlen(sv) : L);
        data = fixed;
    } else if (what == 4) {
        data = sbuf;
    }
    hid_t a = data ? H5Acreate2(h, name, t, s, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (a >= 0) {
        H5Awrite(a, mt, data);
        H5Aclose(a);
    }
    free(fixed);
    H5Tclose(t);
    H5Sclose(s);
    H5Oclose(h);
}

static void delete_attribute(hid_t f, reader *r, const objects *o)
{
    if (!o->n_attr) return;
    unsigned k = next(r) % o->n_attr;
    hid_t h = H5Oopen(f, o->attr_obj[k], H5P_DEFAULT);
    if (h < 0) return;
    if (H5Aexists(h, o->attr_name[k]) > 0) H5Adelete(h, o->attr_name[k]);
    H5Oclose(h);
}

/* Replaces a dataset by one of another type and/or shape: same shape other type, one dimension
 * changed, a random small shape, or the same shape with special float values. */
static void replace_dataset(hid_t f, reader *r, const objects *o)
{
    int idx[MAX_OBJ], n = 0;
    for (int i = 0; i < o->n; i++)
        if (o->is_dataset[i]) idx[n++] = i;
    if (!n) return;
    const char *name = o->name[idx[next(r) % n]];
    hsize_t dims[4] = {1, 1, 1, 1};
    int rank = 1, old_string = 0;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d >= 0) {
        hid_t s = H5Dget_space(d), t = H5Dget_type(d);
        rank = H5Sget_simple_extent_ndims(s);
        if (rank < 0 || rank > 4) rank = 1;
        else H5Sget_simple_extent_dims(s, dims, NULL);
        old_string = H5Tget_class(t) == H5T_STRING;
        H5Tclose(t);
        H5Sclose(s);
        H5Dclose(d);
    }
    unsigned how = next(r) % 4, type = next(r) % 8;
    if (how == 0 && old_string) type = type % 5; /* a string dataset becomes numeric */
    if (how == 3) type = 0;
    if (how == 1 && rank > 0) {
        int k = (int)(next(r) % (unsigned)rank);
        unsigned c = next(r) % 4;
        dims[k] = c == 0 ? 0 : c == 1 ? dims[k] + 1 : c == 2 ? (dims[k] ? dims[k] - 1 : 5) : dims[k] * 2;
    } else if (how == 2) {
        rank = (int)(next(r) % 4);
        for (int k = 0; k < rank; k++) dims[k] = next(r) % 9;
    }
    size_t count = 1;
    for (int k = 0; k < rank; k++) count *= dims[k];
    if (count > (1u << 21)) {
        rank = 1;
        dims[0] = count = 1;
    }
    H5Ldelete(f, name, H5P_DEFAULT);
    hid_t ft, mt;
    size_t esize;
    switch (type) {
    case 0: ft = H5Tcopy(H5T_IEEE_F32LE); mt = H5Tcopy(H5T_NATIVE_FLOAT); break;
    case 1: ft = H5Tcopy(H5T_IEEE_F64BE); mt = H5Tcopy(H5T_NATIVE_DOUBLE); break;
    case 2: ft = H5Tcopy(H5T_STD_I32LE); mt = H5Tcopy(H5T_NATIVE_INT); break;
    case 3: ft = H5Tcopy(H5T_STD_I8LE); mt = H5Tcopy(H5T_NATIVE_SCHAR); break;
    case 4: ft = H5Tcopy(H5T_STD_U64LE); mt = H5Tcopy(H5T_NATIVE_ULLONG); break;
    case 5: case 6: ft = string_type(type == 5 ? next(r) : 2, 1 + next(r) % 12); mt = H5Tcopy(ft); break;
    default: ft = H5Tcopy(H5T_IEEE_F32BE); mt = H5Tcopy(H5T_NATIVE_FLOAT); break;
    }
    int vlen = H5Tis_variable_str(ft) > 0;
    esize = vlen ? sizeof(char *) : H5Tget_size(mt);
    uint8_t *buf = calloc(count ? count : 1, esize);
    if (buf && vlen) {
        const char **v = (const char **)buf;
        for (size_t i = 0; i < count; i++) v[i] = pick_string(r);
    } else if (buf && how == 3) {
        float *v = (float *)buf;
        unsigned k = next(r);
        for (size_t i = 0; i < count; i++) v[i] = (float)interesting_doubles[(k + i) % N_DOUBLES];
    } else if (buf) {
        for (size_t i = 0; i < count * esize; i++) buf[i] = (uint8_t)next(r);
        if (type == 0 || type == 7)
            for (size_t i = 0; i < count; i++) /* keep most floats small and finite */
                if (!isfinite(((float *)buf)[i]) && (i & 1)) ((float *)buf)[i] = 0.5f;
    }
    hid_t s = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t nd = buf ? H5Dcreate2(f, name, ft, s, lcpl, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (nd >= 0) {
        if (count) H5Dwrite(nd, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        H5Dclose(nd);
    }
    H5Pclose(lcpl);
    H5Sclose(s);
    H5Tclose(ft);
    H5Tclose(mt);
    free(buf);
}

int fuzz_h5_recipe(const char *base, const char *dst, const uint8_t *data, size_t size)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (fuzz_copy_file(base, dst)) return -1;
    hid_t f = H5Fopen(dst, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return -1;
    static objects o; /* the base's objects and attributes: the edits below refer to them by index */
    memset(&o, 0, sizeof o);
    H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, NULL, visit_attr, &o);
    H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, visit_link, &o);
    reader r = {data, size, 0};
    unsigned truncate_to = 0;
    for (int ops = 0; r.i < r.n && ops < 16 && o.n; ops++) {
        unsigned op = next(&r) % 8;
        const char *name = o.name[next(&r) % o.n];
        const char *other = o.name[next(&r) % o.n];
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        switch (op) {
        case 0: H5Ldelete(f, name, H5P_DEFAULT); break;
        case 1: replace_dataset(f, &r, &o); break;
        case 2: set_attribute(f, &r, &o); break;
        case 3: delete_attribute(f, &r, &o); break;
        case 4: { /* a group where the object was */
            H5Ldelete(f, name, H5P_DEFAULT);
            hid_t g = H5Gcreate2(f, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
            if (g >= 0) H5Gclose(g);
            break;
        }
        case 5: { /* soft link: to itself (a loop), to another object, or dangling */
            char target[160];
            unsigned k = next(&r) % 3;
            snprintf(target, sizeof target, "/%s%s", k == 1 ? other : name, k == 2 ? "_missing" : "");
            H5Ldelete(f, name, H5P_DEFAULT);
            H5Lcreate_soft(target, f, name, lcpl, H5P_DEFAULT);
            break;
        }
        case 6: /* hard link to another object (wrong shape or kind under the right name) */
            if (strcmp(name, other) && H5Lexists(f, other, H5P_DEFAULT) > 0) {
                H5Ldelete(f, name, H5P_DEFAULT);
                H5Lcreate_hard(f, other, f, name, lcpl, H5P_DEFAULT);
            }
            break;
        default: truncate_to = 1 + next(&r); break;
        }
        H5Pclose(lcpl);
    }
    H5Fclose(f);
    if (truncate_to) {
        struct stat st;
        if (stat(dst, &st) == 0 && truncate(dst, (off_t)((double)st.st_size * truncate_to / 257.0)) != 0) return -1;
    }
    return 0;
}
