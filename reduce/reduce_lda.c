/* reduce_lda.c - LDA statistics (per-class counts and means, one within-class scatter about the
 * global class means) as exact fixed-point sums (two int64 limbs) reduced with MPI_SUM, the
 * generalised eigensolve with LAPACKE_dsygvd, projection with cblas_dgemm, and lda.h5 I/O. The
 * formulas are in reduce_lda.h. Relies on OpenBLAS (cblas_dsyrk, cblas_dgemm), LAPACKE and serial HDF5. */
#include "reduce/reduce_lda.h"
#include "mpi/mpi_util.h"
#include "reduce/reduce_features.h"
#include "util/util.h"

#include <cblas.h>
#include "reduce/reduce_h5.h"
#include <hdf5.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LDA_BLOCK 1024 /* rows per dgemm in reduce_lda_apply */

static size_t stats_len(int C, int d) { return 2 + (size_t)C * (size_t)(d + 1) + (size_t)d * (size_t)d; }

static void stats_views(reduce_lda_stats *s)
{
    s->count = s->buf + 2;
    s->mean = s->count + s->n_classes;
    s->w = s->mean + (size_t)s->n_classes * (size_t)s->dim;
}

int reduce_lda_stats_init(reduce_lda_stats *s, int n_classes, int dim)
{
    memset(s, 0, sizeof *s);
    if (n_classes < 1 || dim < 1) return UTIL_EFAIL;
    s->buf = calloc(stats_len(n_classes, dim), sizeof(double));
    if (!s->buf) return UTIL_EFAIL;
    s->n_classes = n_classes;
    s->dim = dim;
    s->buf[0] = n_classes;
    s->buf[1] = dim;
    stats_views(s);
    return UTIL_OK;
}

void reduce_lda_stats_free(reduce_lda_stats *s)
{
    free(s->buf);
    memset(s, 0, sizeof *s);
}

/* ---- exact sums: fixed point in two int64 limbs, reduced with MPI_SUM ----
 * A value v of a sum of at most n < 2^nb terms with |v| < 2^e becomes y = v * 2^s (exact: a power of
 * two), |y| < 2^(124 - 2 nb), split exactly into hi * 2^L + lo with L = 62 - nb, |lo| < 2^L (the
 * fraction of y is dropped: 2^-(124 - 2 nb) of the largest value, far below double's 2^-53). Sums
 * of n hi limbs and of n lo limbs stay below 2^62: plain int64 additions, associative, and one
 * MPI_SUM reduction of int64 arrays. Each value costs a few instructions (no __int128, no ldexp). */
typedef struct {
    double scale, inv_scale; /* 2^s, 2^-s */
    double split, inv_split; /* 2^L, 2^-L */
} lda_fixed;

static lda_fixed fixed_make(int e, long n)
{
    int nb;
    frexp((double)(n > 0 ? n : 1), &nb); /* n < 2^nb */
    lda_fixed f;
    f.scale = ldexp(1.0, 124 - 2 * nb - e);
    f.inv_scale = ldexp(1.0, -(124 - 2 * nb - e));
    f.split = ldexp(1.0, 62 - nb);
    f.inv_split = ldexp(1.0, -(62 - nb));
    return f;
}

/* n values into their limbs, cloned for AVX-512 / AVX2 so the conversions run 4-8 at a time
 * (vcvttpd2qq); every step is exact or an integer truncation, so any clone gives the same bits.
 * 1,000,000 x 256 values: 0.77 s scalar. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LDA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LDA_CLONES
#endif
LDA_CLONES static void fixed_add(const lda_fixed *f, const double *v, int n, int64_t *restrict hi, int64_t *restrict lo)
{
    const double scale = f->scale, inv_split = f->inv_split, split = f->split;
    for (int j = 0; j < n; j++) {
        const double y = v[j] * scale;
        const int64_t h = (int64_t)(y * inv_split);
        hi[j] += h;
        lo[j] += (int64_t)(y - (double)h * split);
    }
}

static inline double fixed_value(const lda_fixed *f, int64_t hi, int64_t lo)
{
    return ((double)hi * f->split + (double)lo) * f->inv_scale;
}

int reduce_lda_stats_compute(MPI_Comm comm, const float *x, const int *labels, long n, long offset, int n_classes,
                             int dim, reduce_lda_stats *s, char *err, size_t errlen)
{
    const int C = n_classes, d = dim, rank = mpi_util_rank(comm);
    int rc = reduce_lda_stats_init(s, C, d) ? util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory for %d classes x %d", C, d)
                                            : UTIL_OK;
    /* local checks, the largest magnitude and the number of used rows */
    double amax = 0;
    long used = 0;
    for (long i = 0; i < n && !rc; i++) {
        int c = labels[i];
        if (c < 0) continue;
        if (c >= C) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "lda: label %d out of range [0, %d) at row %ld", c, C, offset + i);
            break;
        }
        const float *xi = x + (size_t)i * d;
        for (int j = 0; j < d; j++) {
            if (!isfinite(xi[j])) {
                rc = util_fail(err, errlen, UTIL_EINPUT, "lda: row %ld has a non-finite feature (column %d)", offset + i, j);
                break;
            }
            const double a = fabs((double)xi[j]); /* not fmax(): a libm call per value, 0.8 s on 1e6 x 256 */
            if (a > amax) amax = a;
        }
        used++;
    }
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) {
        reduce_lda_stats_free(s);
        return rc;
    }
    long total = used;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &amax, 1, MPI_DOUBLE, MPI_MAX, comm));
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_LONG, MPI_SUM, comm));
    int e;
    frexp(amax > 0 ? amax : 1.0, &e); /* |x| < 2^e */
    const lda_fixed fm = fixed_make(e, total), fw = fixed_make(2 * (e + 1), total); /* |x - m_c| < 2^(e+1) */
    if (!(total < (1L << 30))) rc = util_fail(err, errlen, UTIL_EFAIL, "lda: %ld rows: at most 2^30 are supported", total);
    const size_t tri = (size_t)d * (size_t)(d + 1) / 2, nm = (size_t)C * d;
    int64_t *sum = calloc(2 * nm + 1, sizeof *sum), *w = calloc(2 * tri, sizeof *w), *cnt = calloc((size_t)C, sizeof *cnt);
    double *blk = malloc((size_t)REDUCE_GROUP_ROWS * d * sizeof *blk), *wg = malloc((size_t)d * d * sizeof *wg);
    if (!rc && (!sum || !w || !cnt || !blk || !wg)) rc = util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory");
    rc = mpi_util_agree(comm, rc, err, errlen);
    /* pass 1: class counts and sums, exact -> the same class means on every rank */
    if (!rc) {
        for (long i = 0; i < n; i++) {
            if (labels[i] < 0) continue;
            const float *xi = x + (size_t)i * d;
            int64_t *hi = sum + (size_t)labels[i] * d, *lo = hi + nm;
            for (int j = 0; j < d; j++) blk[j] = xi[j]; /* the row in double (exact), then one vector loop */
            fixed_add(&fm, blk, d, hi, lo);
            cnt[labels[i]]++;
        }
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, sum, (int)(2 * nm), MPI_INT64_T, MPI_SUM, comm));
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, cnt, C, MPI_INT64_T, MPI_SUM, comm));
        for (int c = 0; c < C; c++) {
            s->count[c] = (double)cnt[c];
            for (size_t j = (size_t)c * d; j < (size_t)(c + 1) * d && cnt[c] > 0; j++)
                s->mean[j] = fixed_value(&fm, sum[j], sum[nm + j]) / (double)cnt[c];
        }
    }
    /* pass 2: per fixed group, the rows centred on their class mean -> one dsyrk; the group's scatter
     * (upper triangle) added exactly */
    if (!rc) {
        for (long g0 = offset - offset % REDUCE_GROUP_ROWS; g0 < offset + n; g0 += REDUCE_GROUP_ROWS) {
            long a = g0 > offset ? g0 : offset, b = g0 + REDUCE_GROUP_ROWS < offset + n ? g0 + REDUCE_GROUP_ROWS : offset + n;
            int k = 0;
            for (long i = a - offset; i < b - offset; i++) {
                if (labels[i] < 0) continue;
                const float *xi = x + (size_t)i * d;
                const double *mc = s->mean + (size_t)labels[i] * d;
                double *row = blk + (size_t)k * d;
                for (int j = 0; j < d; j++) row[j] = (double)xi[j] - mc[j];
                k++;
            }
            if (!k) continue;
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, k, 1.0, blk, d, 0.0, wg, d);
            size_t q = 0;
            for (int r = 0; r < d; q += (size_t)(d - r), r++)
                fixed_add(&fw, wg + (size_t)r * d + r, d - r, w + q, w + tri + q);
        }
        int mrc = MPI_Reduce(rank == 0 ? MPI_IN_PLACE : w, w, (int)(2 * tri), MPI_INT64_T, MPI_SUM, 0, comm);
        if (mrc != MPI_SUCCESS) rc = mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Reduce(lda scatter)", mrc);
        if (!rc && rank == 0) {
            size_t q = 0;
            for (int r = 0; r < d; r++)
                for (int c = r; c < d; c++, q++)
                    s->w[(size_t)r * d + c] = s->w[(size_t)c * d + r] = fixed_value(&fw, w[q], w[tri + q]);
        }
    }
    free(sum);
    free(w);
    free(cnt);
    free(blk);
    free(wg);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) reduce_lda_stats_free(s);
    return rc;
}

void reduce_lda_model_free(reduce_lda_model *m)
{
    free(m->mean);
    free(m->components);
    free(m->eigenvalues);
    memset(m, 0, sizeof *m);
}

static int model_alloc(reduce_lda_model *m, int din, int dout)
{
    m->dim_in = din;
    m->dim_out = dout;
    m->mean = calloc((size_t)din, sizeof *m->mean);
    m->components = calloc((size_t)din * (size_t)dout + 1, sizeof *m->components);
    m->eigenvalues = calloc((size_t)dout + 1, sizeof *m->eigenvalues);
    return m->mean && m->components && m->eigenvalues ? 0 : -1;
}

int reduce_lda_solve(const reduce_lda_stats *s, double shrinkage, int dim, reduce_lda_model *m,
                     char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    int C = s->n_classes, d = s->dim;
    if (!(shrinkage >= 0 && shrinkage <= 1)) return util_fail(err, errlen, UTIL_EUSAGE, "lda: shrinkage %g outside [0, 1]", shrinkage);
    double N = 0;
    int ceff = 0;
    for (int c = 0; c < C; c++)
        if (s->count[c] > 0) { N += s->count[c]; ceff++; }
    if (ceff < 2)
        return util_fail(err, errlen, UTIL_EINPUT, "lda: needs at least 2 classes with usable rows, found %d", ceff);
    int D = dim < ceff - 1 ? dim : ceff - 1;
    if (D > d) D = d;
    if (D < 1) return util_fail(err, errlen, UTIL_EUSAGE, "lda: output dimension must be >= 1");
    double *mu = calloc((size_t)d, sizeof *mu);
    double *dm = malloc((size_t)ceff * d * sizeof *dm);
    double *sb = calloc((size_t)d * d, sizeof *sb);
    double *sw = malloc((size_t)d * d * sizeof *sw);
    double *w = malloc((size_t)d * sizeof *w);
    int rc = UTIL_OK;
    if (!mu || !dm || !sb || !sw || !w || model_alloc(m, d, D)) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory");
        goto done;
    }
    for (int c = 0; c < C; c++)
        if (s->count[c] > 0)
            for (int j = 0; j < d; j++) mu[j] += s->count[c] / N * s->mean[(size_t)c * d + j];
    int r = 0;
    for (int c = 0; c < C; c++) {
        if (!(s->count[c] > 0)) continue;
        double g = sqrt(s->count[c] / N);
        for (int j = 0; j < d; j++) dm[(size_t)r * d + j] = g * (s->mean[(size_t)c * d + j] - mu[j]);
        r++;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, ceff, 1.0, dm, d, 0.0, sb, d);
    double tr = 0;
    for (int i = 0; i < d; i++) tr += s->w[(size_t)i * d + i] / N;
    if (!(tr > 0) || !isfinite(tr)) {
        rc = util_fail(err, errlen, UTIL_EINPUT,
                       "lda: within-class scatter is zero (every class has a single row, or all features are constant)");
        goto done;
    }
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            double v = (1 - shrinkage) * s->w[(size_t)i * d + j] / N;
            if (i == j) v += shrinkage * tr / d;
            sw[(size_t)i * d + j] = sw[(size_t)j * d + i] = v;
        }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) sb[(size_t)i * d + j] = sb[(size_t)j * d + i];
    lapack_int info = LAPACKE_dsygvd(LAPACK_ROW_MAJOR, 1, 'V', 'U', d, sb, d, sw, d, w);
    if (info > d) {
        rc = util_fail(err, errlen, UTIL_EINPUT,
                       "lda: within-class scatter is not positive definite (constant features or fewer rows than "
                       "dimensions per class?) with shrinkage %g; use --shrinkage > 0 (e.g. 1e-3)", shrinkage);
        goto done;
    }
    if (info != 0) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "lda: LAPACKE_dsygvd failed (info %d)", (int)info);
        goto done;
    }
    /* top D (eigenvalues ascending in w, eigenvectors in the columns of sb) */
    for (int k = 0; k < D; k++) {
        int col = d - 1 - k;
        int imax = 0;
        double amax = -1;
        for (int i = 0; i < d; i++) {
            double a = fabs(sb[(size_t)i * d + col]);
            if (a > amax) { amax = a; imax = i; }
        }
        double sign = sb[(size_t)imax * d + col] < 0 ? -1.0 : 1.0;
        for (int i = 0; i < d; i++) m->components[(size_t)i * D + k] = sign * sb[(size_t)i * d + col];
        m->eigenvalues[k] = w[col];
    }
    memcpy(m->mean, mu, (size_t)d * sizeof *mu);
    m->n_classes = ceff;
    m->n_rows = (long)N;
    m->shrinkage = shrinkage;
    for (size_t i = 0; i < (size_t)d * D; i++)
        if (!isfinite(m->components[i])) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "lda: non-finite component (ill-conditioned scatter; raise --shrinkage)");
            goto done;
        }
    for (int k = 0; k < D; k++)
        if (!isfinite(m->eigenvalues[k])) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "lda: non-finite eigenvalue (ill-conditioned scatter; raise --shrinkage)");
            goto done;
        }
done:
    free(mu);
    free(dm);
    free(sb);
    free(sw);
    free(w);
    if (rc != UTIL_OK) reduce_lda_model_free(m);
    return rc;
}

int reduce_lda_fit(MPI_Comm comm, const float *x, const int *labels, long n, long offset, int n_classes, int dim_in,
                   double shrinkage, int dim, reduce_lda_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    int rank = mpi_util_rank(comm);
    reduce_lda_stats s;
    int rc = reduce_lda_stats_compute(comm, x, labels, n, offset, n_classes, dim_in, &s, err, errlen);
    if (rc) return rc;
    if (rank == 0) rc = reduce_lda_solve(&s, shrinkage, dim, m, err, errlen);
    reduce_lda_stats_free(&s);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (rc) {
        reduce_lda_model_free(m);
        return rc;
    }
    double hdr[4] = {m->dim_out, m->n_classes, (double)m->n_rows, m->shrinkage};
    MPI_CHECK(MPI_Bcast(hdr, 4, MPI_DOUBLE, 0, comm));
    int D = (int)hdr[0];
    size_t len = (size_t)dim_in + (size_t)dim_in * D + (size_t)D;
    double *flat = malloc(len * sizeof *flat);
    if (!flat) return util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory");
    if (rank == 0) {
        memcpy(flat, m->mean, (size_t)dim_in * sizeof *flat);
        memcpy(flat + dim_in, m->components, (size_t)dim_in * D * sizeof *flat);
        memcpy(flat + dim_in + (size_t)dim_in * D, m->eigenvalues, (size_t)D * sizeof *flat);
    } else if (model_alloc(m, dim_in, D)) {
        free(flat);
        return util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory");
    }
    int mrc = MPI_Bcast(flat, (int)len, MPI_DOUBLE, 0, comm);
    if (mrc != MPI_SUCCESS) {
        free(flat);
        return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Bcast(lda model)", mrc);
    }
    if (rank != 0) {
        memcpy(m->mean, flat, (size_t)dim_in * sizeof *flat);
        memcpy(m->components, flat + dim_in, (size_t)dim_in * D * sizeof *flat);
        memcpy(m->eigenvalues, flat + dim_in + (size_t)dim_in * D, (size_t)D * sizeof *flat);
        m->n_classes = (int)hdr[1];
        m->n_rows = (long)hdr[2];
        m->shrinkage = hdr[3];
    }
    free(flat);
    return UTIL_OK;
}

int reduce_lda_apply(const reduce_lda_model *m, const float *x, long n, double *y)
{
    int d = m->dim_in, D = m->dim_out;
    double *a = malloc((size_t)LDA_BLOCK * d * sizeof *a);
    if (!a) return UTIL_EFAIL;
    for (long i0 = 0; i0 < n; i0 += LDA_BLOCK) {
        int k = (int)(n - i0 < LDA_BLOCK ? n - i0 : LDA_BLOCK);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < d; j++) a[(size_t)i * d + j] = (double)x[(size_t)(i0 + i) * d + j] - m->mean[j];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, D, d, 1.0, a, d, m->components, D, 0.0,
                    y + (size_t)i0 * D, D);
    }
    free(a);
    return UTIL_OK;
}

/* ---- lda.h5 ---- */

static int attr_str(hid_t f, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    const char *p = v ? v : "";
    herr_t e = a < 0 ? -1 : H5Awrite(a, t, &p);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return e < 0 ? -1 : 0;
}

int reduce_lda_save(const reduce_lda_model *m, const char *path, const char *label_column,
                    const char *features_path, const char *command_line, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot create", path);
    hsize_t d1 = (hsize_t)m->dim_in, d2[2] = {(hsize_t)m->dim_in, (hsize_t)m->dim_out}, d3 = (hsize_t)m->dim_out;
    int bad = reduce_h5_write_doubles(f, "mean", 1, &d1, m->mean) | reduce_h5_write_doubles(f, "components", 2, d2, m->components) |
              reduce_h5_write_doubles(f, "eigenvalues", 1, &d3, m->eigenvalues);
    int nc = m->n_classes;
    long long nr = m->n_rows;
    bad |= reduce_h5_attr_num(f, "n_classes", H5T_STD_I32LE, H5T_NATIVE_INT, &nc);
    bad |= reduce_h5_attr_num(f, "n_rows", H5T_STD_I64LE, H5T_NATIVE_LLONG, &nr);
    bad |= reduce_h5_attr_num(f, "shrinkage", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m->shrinkage);
    bad |= attr_str(f, "label_column", label_column);
    bad |= attr_str(f, "features", features_path);
    bad |= attr_str(f, "command_line", command_line);
    bad |= attr_str(f, "version", ARTISTNET_VERSION);
    if (H5Fclose(f) < 0) bad = 1;
    return bad ? util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", path) : UTIL_OK;
}

static int read_d(hid_t f, const char *name, int want_rank, hsize_t *dims, double **v)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds);
    int r = H5Sget_simple_extent_ndims(sp);
    int rc = -1;
    if (r == want_rank) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        size_t n = 1;
        for (int i = 0; i < r; i++) n *= dims[i];
        *v = malloc(n * sizeof **v + 1);
        if (*v && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v) >= 0) rc = 0;
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return rc;
}

int reduce_lda_load(reduce_lda_model *m, const char *path, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open as HDF5 (lda.h5 expected)", path);
    hsize_t dm[1], dc[2], de[1];
    int rc = UTIL_OK;
    if (read_d(f, "mean", 1, dm, &m->mean) || read_d(f, "components", 2, dc, &m->components) ||
        read_d(f, "eigenvalues", 1, de, &m->eigenvalues))
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: needs /mean (d), /components (d, D), /eigenvalues (D)", path);
    else if (dc[0] != dm[0] || dc[1] != de[0] || dc[1] < 1)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: inconsistent shapes: /mean %llu, /components %llux%llu, /eigenvalues %llu",
                       path, (unsigned long long)dm[0], (unsigned long long)dc[0], (unsigned long long)dc[1],
                       (unsigned long long)de[0]);
    if (!rc) {
        m->dim_in = (int)dc[0];
        m->dim_out = (int)dc[1];
        if (H5Aexists(f, "n_classes") > 0) {
            hid_t a = H5Aopen(f, "n_classes", H5P_DEFAULT);
            H5Aread(a, H5T_NATIVE_INT, &m->n_classes);
            H5Aclose(a);
        }
        if (H5Aexists(f, "shrinkage") > 0) {
            hid_t a = H5Aopen(f, "shrinkage", H5P_DEFAULT);
            H5Aread(a, H5T_NATIVE_DOUBLE, &m->shrinkage);
            H5Aclose(a);
        }
        for (size_t i = 0; i < (size_t)m->dim_in * m->dim_out; i++)
            if (!isfinite(m->components[i])) {
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s: non-finite value in /components", path);
                break;
            }
    }
    H5Fclose(f);
    if (rc) reduce_lda_model_free(m);
    return rc;
}
