/* reduce_lda.c - LDA statistics (per-class count/mean + one centred within-class scatter, in double),
 * their pairwise merge as an MPI user operation over one flat buffer, the generalised eigensolve
 * with LAPACKE_dsygvd, projection with cblas_dgemm, and lda.h5 I/O. The formulas are in
 * reduce_lda.h. Relies on OpenBLAS (cblas_dsyrk, cblas_dgemm), LAPACKE and serial HDF5. */
#include "reduce/reduce_lda.h"
#include "mpi/mpi_util.h"
#include "util/util.h"

#include <cblas.h>
#include "reduce/reduce_h5.h"
#include <hdf5.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LDA_BLOCK 1024 /* rows per dsyrk in the local accumulation */

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

/* a <- merge(a, b) on raw flat buffers (self-describing: [C, d, ...]). */
static void merge_raw(double *a, const double *b)
{
    int C = (int)a[0], d = (int)a[1];
    double *ca = a + 2, *ma = ca + C, *wa = ma + (size_t)C * d;
    const double *cb = b + 2, *mb = cb + C, *wb = mb + (size_t)C * d;
    for (size_t i = 0; i < (size_t)d * d; i++) wa[i] += wb[i];
    int k = 0;
    for (int c = 0; c < C; c++) k += ca[c] > 0 && cb[c] > 0;
    double *delta = k ? malloc((size_t)k * d * sizeof *delta) : NULL;
    int r = 0;
    for (int c = 0; c < C; c++) {
        double na = ca[c], nb = cb[c];
        if (nb <= 0) continue;
        double *mac = ma + (size_t)c * d;
        const double *mbc = mb + (size_t)c * d;
        if (na <= 0) {
            memcpy(mac, mbc, (size_t)d * sizeof *mac);
            ca[c] = nb;
            continue;
        }
        double n = na + nb, f = nb / n, g = sqrt(na * nb / n);
        double *row = delta ? delta + (size_t)r * d : NULL;
        for (int j = 0; j < d; j++) {
            double dl = mbc[j] - mac[j];
            if (row) row[j] = g * dl;
            mac[j] += dl * f;
        }
        ca[c] = n;
        r++;
    }
    if (delta && k) cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, k, 1.0, delta, d, 1.0, wa, d);
    free(delta);
}

void reduce_lda_stats_merge(reduce_lda_stats *a, const reduce_lda_stats *b) { merge_raw(a->buf, b->buf); }

int reduce_lda_stats_accumulate(reduce_lda_stats *s, const float *x, const int *labels, long n,
                                char *err, size_t errlen)
{
    int C = s->n_classes, d = s->dim;
    reduce_lda_stats b;
    if (reduce_lda_stats_init(&b, C, d)) return util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory for %d classes", C);
    double *blk = malloc((size_t)LDA_BLOCK * d * sizeof *blk);
    if (!blk) {
        reduce_lda_stats_free(&b);
        return util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory");
    }
    /* pass 1: class sums -> means (double) */
    for (long i = 0; i < n; i++) {
        int c = labels[i];
        if (c < 0) continue;
        if (c >= C) {
            free(blk);
            reduce_lda_stats_free(&b);
            return util_fail(err, errlen, UTIL_EFAIL, "lda: label %d out of range [0, %d) at row %ld", c, C, i);
        }
        const float *xi = x + (size_t)i * d;
        double *mc = b.mean + (size_t)c * d;
        for (int j = 0; j < d; j++) {
            if (!isfinite(xi[j])) {
                free(blk);
                reduce_lda_stats_free(&b);
                return util_fail(err, errlen, UTIL_EINPUT, "lda: row %ld has a non-finite feature (column %d)", i, j);
            }
            mc[j] += xi[j];
        }
        b.count[c] += 1;
    }
    for (int c = 0; c < C; c++)
        if (b.count[c] > 0)
            for (int j = 0; j < d; j++) b.mean[(size_t)c * d + j] /= b.count[c];
    /* pass 2: rows centred on their class mean, W += Xc^T Xc one block at a time */
    int k = 0;
    for (long i = 0; i <= n; i++) {
        if (i < n && labels[i] >= 0) {
            const float *xi = x + (size_t)i * d;
            const double *mc = b.mean + (size_t)labels[i] * d;
            double *row = blk + (size_t)k * d;
            for (int j = 0; j < d; j++) row[j] = (double)xi[j] - mc[j];
            k++;
        }
        if (k == LDA_BLOCK || (i == n && k > 0)) {
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, k, 1.0, blk, d, 1.0, b.w, d);
            k = 0;
        }
    }
    free(blk);
    merge_raw(s->buf, b.buf);
    reduce_lda_stats_free(&b);
    return UTIL_OK;
}

static void merge_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    /* one element = one whole statistics buffer (contiguous datatype), see reduce_lda_stats_reduce */
    int count = *len;
    const double *b = in;
    double *a = inout;
    for (int e = 0; e < count; e++) {
        size_t l = stats_len((int)a[0], (int)a[1]);
        merge_raw(a, b);
        a += l;
        b += l;
    }
}

int reduce_lda_stats_reduce(reduce_lda_stats *s, MPI_Comm comm, int root, char *err, size_t errlen)
{
    if (mpi_util_size(comm) == 1) return UTIL_OK;
    size_t len = stats_len(s->n_classes, s->dim);
    if (len > (size_t)INT32_MAX) return util_fail(err, errlen, UTIL_EFAIL, "lda: statistics buffer too large (%zu doubles)", len);
    MPI_Datatype whole;
    MPI_Op op;
    MPI_CHECK(MPI_Type_contiguous((int)len, MPI_DOUBLE, &whole));
    MPI_CHECK(MPI_Type_commit(&whole));
    MPI_CHECK(MPI_Op_create(merge_op, 1, &op));
    int rank = mpi_util_rank(comm);
    double *recv = NULL;
    if (rank == root) {
        recv = malloc(len * sizeof *recv);
        if (!recv) return util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory");
    }
    int rc = MPI_Reduce(s->buf, recv, 1, whole, op, root, comm);
    MPI_Op_free(&op);
    MPI_Type_free(&whole);
    if (rc != MPI_SUCCESS) {
        free(recv);
        return mpi_util_report(err, errlen, __FILE__, __LINE__, "MPI_Reduce(lda statistics)", rc);
    }
    if (rank == root) {
        memcpy(s->buf, recv, len * sizeof *recv);
        free(recv);
    }
    return UTIL_OK;
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

int reduce_lda_fit(MPI_Comm comm, const float *x, const int *labels, long n, int n_classes, int dim_in,
                   double shrinkage, int dim, reduce_lda_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    int rank = mpi_util_rank(comm);
    reduce_lda_stats s;
    int rc = reduce_lda_stats_init(&s, n_classes, dim_in);
    if (rc) rc = util_fail(err, errlen, UTIL_EFAIL, "lda: out of memory for %d classes x %d", n_classes, dim_in);
    if (!rc) rc = reduce_lda_stats_accumulate(&s, x, labels, n, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc) rc = reduce_lda_stats_reduce(&s, comm, 0, err, errlen);
    rc = mpi_util_agree(comm, rc, err, errlen);
    if (!rc && rank == 0) rc = reduce_lda_solve(&s, shrinkage, dim, m, err, errlen);
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
